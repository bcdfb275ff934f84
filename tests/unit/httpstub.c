/* The scripted HTTP server of the unit tests: see httpstub.h. */
#include "tests/unit/httpstub.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct stub srv = { .lock = PTHREAD_MUTEX_INITIALIZER };

long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void serve_one(int fd)
{
	char buf[8192];
	size_t len = 0;
	char *end = NULL;
	while (len < sizeof(buf) - 1 && !end) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return;
		len += (size_t)n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	if (!end)
		return;
	size_t want = 0;
	char *cl = strcasestr(buf, "\r\nContent-Length:");
	if (cl && cl < end)
		want = strtoul(cl + 17, NULL, 10);
	while (len - (size_t)(end + 4 - buf) < want && len < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
	}
	pthread_mutex_lock(&srv.lock);
	int i = srv.nreq < MAXREQ ? srv.nreq : MAXREQ - 1;
	srv.nreq++;
	srv.at_ms[i] = now_ms();
	sscanf(buf, "%15s %200s", srv.line[i], srv.line[i] + 16);
	/* "GET\0.../path" -> "GET /path" */
	size_t m = strlen(srv.line[i]);
	memmove(srv.line[i] + m + 1, srv.line[i] + 16, strlen(srv.line[i] + 16) + 1);
	srv.line[i][m] = ' ';
	char *sig = strcasestr(buf, "\r\nX-Sig: ");
	srv.sig[i][0] = '\0';
	if (sig && sig < end)
		sscanf(sig + 9, "%63[^\r]", srv.sig[i]);
	char *auth = strcasestr(buf, "\r\nAuthorization: ");
	srv.auth[i][0] = '\0';
	if (auth && auth < end)
		sscanf(auth + 17, "%255[^\r]", srv.auth[i]);
	snprintf(srv.body[i], sizeof(srv.body[i]), "%.*s", (int)want, end + 4);
	const struct reply *r = &srv.script[i < srv.nscript ? i : srv.nscript - 1];
	int gen = srv.gen;
	pthread_mutex_unlock(&srv.lock);

	for (int t = 0; t < r->delay_ms && !srv.cut && gen == srv.gen; t += 10)
		usleep(10000);
	char out[4096];
	int n = snprintf(out, sizeof(out),
			 "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n%s",
			 r->status, strlen(r->body), r->headers ? r->headers : "",
			 r->body);
	send(fd, out, (size_t)n, MSG_NOSIGNAL);
}

static void *server(void *arg)
{
	int ls = *(int *)arg;
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0)
			continue;
		serve_one(fd);
		close(fd);
	}
	return NULL;
}

void start_server(void)
{
	static int ls;
	ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(ls, 16) || getsockname(ls, (struct sockaddr *)&a, &al)) {
		perror("server");
		exit(2);
	}
	srv.port = ntohs(a.sin_port);
	pthread_t t;
	pthread_create(&t, NULL, server, &ls);
	pthread_detach(t);
}

void script(const struct reply *r, int n)
{
	pthread_mutex_lock(&srv.lock);
	srv.script = r;
	srv.nscript = n;
	srv.nreq = 0;
	srv.cut = 0;
	srv.gen++;
	pthread_mutex_unlock(&srv.lock);
}

