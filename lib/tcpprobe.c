/* A TCP connect probe (see tcpprobe.h). */
#include "lib/tcpprobe.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/resolve.h"

/* A TCP connect to host:port within timeout_ms (the lookup included);
 * gives up when *cancel is set. */
int tcp_probe(const char *host, int port, int timeout_ms, volatile int *cancel)
{
	char ps[16];
	snprintf(ps, sizeof(ps), "%d", port);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = resolve(host, ps, &hints, &ai, timeout_ms, cancel, NULL);
	if (rc)
		return rc;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int left = timeout_ms - (int)((t1.tv_sec - t0.tv_sec) * 1000 +
				      (t1.tv_nsec - t0.tv_nsec) / 1000000);
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	rc = fd < 0 ? -errno : 0;
	if (!rc && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		rc = -errno;
		if (rc == -EINPROGRESS) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			int n = 0;
			/* In slices, so that cancel (unmount) ends the wait. */
			for (; left > 0 && !(cancel && *cancel) && n == 0; left -= 100)
				n = poll(&pfd, 1, left < 100 ? left : 100);
			int soerr = 0;
			socklen_t len = sizeof(soerr);
			if (n <= 0)
				rc = cancel && *cancel ? -ECANCELED : -ETIMEDOUT;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr)
				rc = -(soerr ? soerr : errno);
			else
				rc = 0;
		}
	}
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return rc;
}
