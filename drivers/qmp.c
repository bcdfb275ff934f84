/* QMP over a unix socket: greeting, qmp_capabilities, one command. */
#include "drivers/qmp.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lib/err.h"
#include "lib/json.h"
#include "lib/strbuf.h"

struct qmp {
	int fd;
	struct strbuf in;
	long long deadline;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The next JSON line into *out (caller deletes). */
static int qmp_read(struct qmp *q, cJSON **out, char *err)
{
	for (;;) {
		char *nl = q->in.buf ? memchr(q->in.buf, '\n', q->in.len) : NULL;
		if (nl) {
			*nl = '\0';
			cJSON *j = cJSON_Parse(q->in.buf);
			size_t used = (size_t)(nl - q->in.buf) + 1;
			memmove(q->in.buf, nl + 1, q->in.len - used);
			q->in.len -= used;
			q->in.buf[q->in.len] = '\0';
			if (!j)
				return error_set(err, EPROTO, "qmp: unreadable reply");
			*out = j;
			return 0;
		}
		long long left = q->deadline - now_ms();
		if (left <= 0)
			return error_set(err, ETIMEDOUT, "qmp: no reply");
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		int n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return error_set(err, ETIMEDOUT, "qmp: no reply");
		char buf[4096];
		ssize_t r = read(q->fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return error_set(err, ECONNRESET, "qmp: connection closed");
		strbuf_add(&q->in, buf, (size_t)r);
	}
}

static int qmp_send(struct qmp *q, const char *cmd, char *err)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "{\"execute\":\"%s\"}\n", cmd);
	if (write(q->fd, line, (size_t)n) != n)
		return error_errno(err, errno, "qmp: cannot send '%s'", cmd);
	return 0;
}

/* The reply to the last command: "return" or "error", events skipped. */
static int qmp_reply(struct qmp *q, char *reply, size_t len, char *err)
{
	for (;;) {
		cJSON *j;
		int rc = qmp_read(q, &j, err);
		if (rc)
			return rc;
		cJSON *ret = cJSON_GetObjectItemCaseSensitive(j, "return");
		cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
		if (ret) {
			if (reply && len) {
				char *s = cJSON_PrintUnformatted(ret);
				snprintf(reply, len, "%s", s ? s : "{}");
				cJSON_free(s);
			}
			cJSON_Delete(j);
			return 0;
		}
		if (e) {
			rc = error_set(err, EIO, "qmp: %s", json_str(e, "desc", "error"));
			cJSON_Delete(j);
			return rc;
		}
		cJSON_Delete(j); /* an event */
	}
}

int qmp_execute_fd(int fd, const char *peer, const char *cmd, char *reply, size_t len,
		   int timeout_ms, char *err)
{
	struct qmp q = { .fd = fd, .in = STRBUF_INIT, .deadline = now_ms() + timeout_ms };
	cJSON *greeting;
	int rc = qmp_read(&q, &greeting, err);
	if (rc)
		goto out;
	bool ok = cJSON_GetObjectItemCaseSensitive(greeting, "QMP") != NULL;
	cJSON_Delete(greeting);
	if (!ok) {
		rc = error_set(err, EPROTO, "qmp: '%s' does not speak QMP", peer);
		goto out;
	}
	if ((rc = qmp_send(&q, "qmp_capabilities", err)) ||
	    (rc = qmp_reply(&q, NULL, 0, err)) || (rc = qmp_send(&q, cmd, err)))
		goto out;
	rc = qmp_reply(&q, reply, len, err);
	if (rc == -ECONNRESET && !strcmp(cmd, "quit"))
		rc = 0;
out:
	strbuf_release(&q.in);
	return rc;
}

int qmp_execute(const char *sock, const char *cmd, char *reply, size_t len,
		int timeout_ms, char *err)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(sock) >= sizeof(a.sun_path))
		return error_set(err, ENAMETOOLONG, "qmp socket path '%s' is too long", sock);
	strcpy(a.sun_path, sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_errno(err, errno, "qmp: socket");
	int rc;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		rc = error_errno(err, errno, "cannot connect to qmp socket '%s'", sock);
	else
		rc = qmp_execute_fd(fd, sock, cmd, reply, len, timeout_ms, err);
	close(fd);
	return rc;
}

int qmp_status(const char *sock, char *status, size_t len, int timeout_ms,
	       char *err)
{
	char reply[512];
	int rc = qmp_execute(sock, "query-status", reply, sizeof(reply), timeout_ms, err);
	if (rc)
		return rc;
	cJSON *j = cJSON_Parse(reply);
	snprintf(status, len, "%s", json_str(j, "status", ""));
	cJSON_Delete(j);
	return *status ? 0 : error_set(err, EPROTO, "qmp: query-status without a status");
}
