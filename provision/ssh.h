/* SSH sessions over libssh2: one connection per operation, a channel per
 * command. Key auth (RSA, ed25519). The host key is pinned on the first
 * connection into known_hosts (OpenSSH format) and checked on every later
 * one: a changed key is an error naming both SHA256 fingerprints. */
#ifndef MFS_SSH_H
#define MFS_SSH_H

#include <stddef.h>

#include "lib/strbuf.h"

struct ssh_target {
	const char *host;
	int port;
	const char *user;
	const char *key_path;    /* private key file */
	const char *known_hosts; /* pin file; created on first connect */
	int connect_timeout_ms;  /* 0: 10 s */
	volatile int *cancel;    /* optional: give up when set */
	/* Optional: every command, its exit status and stderr land here. */
	void (*log_fn)(void *arg, const char *line);
	void *log_arg;
};

struct ssh_conn;

int ssh_connect(const struct ssh_target *t, struct ssh_conn **out, char *err);

/* Run cmd in a new channel. stdin_data (may be NULL) is sent, then EOF.
 * out/errout (may be NULL) get stdout/stderr. *status gets the exit
 * status. timeout_ms 0: 10 minutes. Returns 0 when the command ran
 * (whatever its status), -errno when it could not be run. */
int ssh_exec(struct ssh_conn *c, const char *cmd, const void *stdin_data,
	     size_t stdin_len, struct strbuf *out, struct strbuf *errout,
	     int *status, int timeout_ms, char *err);

/* ssh_exec that also fails (-EIO, stderr's last line in err) on a
 * non-zero exit status. */
int ssh_run(struct ssh_conn *c, const char *cmd, struct strbuf *out,
	    int timeout_ms, char *err);

void ssh_close(struct ssh_conn *c);

/* "SHA256:base64" of the pinned key, for messages and tests. */
int ssh_known_host_fingerprint(const char *known_hosts, const char *host,
			       int port, char *buf, size_t len, char *err);

#endif
