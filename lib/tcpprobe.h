/* Does host:port take a TCP connection? The state check of drivers
 * without an API (generic) and the reboot watch of cloud drivers. */
#ifndef MFS_TCPPROBE_H
#define MFS_TCPPROBE_H

/* 0 when a TCP connect to host:port succeeds within timeout_ms (the name
 * lookup included), else -errno (-ETIMEDOUT, -ECONNREFUSED, ...); gives
 * up with -ECANCELED when cancel (may be NULL) is set. */
int tcp_probe(const char *host, int port, int timeout_ms, volatile int *cancel);

#endif
