/* SSH sessions over libssh2: one connection per operation, a channel per
 * command. Key auth (RSA, ed25519). The host key is pinned on the first
 * connection into known_hosts (OpenSSH format) and checked on every later
 * one: a changed key is an error naming both SHA256 fingerprints.
 *
 * Everything is non-blocking underneath: the connect timeout, each
 * command's timeout and *cancel are honoured at every step.
 *
 * Limits of libssh2 1.10 (Debian 12): an RSA key signs with ssh-rsa
 * (SHA-1) only, which OpenSSH 8.8 and later refuse unless the server sets
 * PubkeyAcceptedAlgorithms +ssh-rsa; ed25519 keys (OpenSSH format) work
 * everywhere. Host keys: ssh-ed25519, ecdsa-sha2-*, ssh-rsa.
 *
 * A connection is used by one thread at a time. */
#ifndef MFS_SSH_H
#define MFS_SSH_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/strbuf.h"

/* Borrowed by ssh_connect; cancel, log_fn and log_arg must outlive the
 * connection, the strings need not. */
struct ssh_target {
	const char *host;        /* numeric address or resolvable name */
	int port;
	const char *user;
	const char *key_path;    /* private key file */
	const char *known_hosts; /* pin file; created (0600) on first connect */
	int connect_timeout_ms;  /* 0: 10 s; covers TCP, handshake and auth */
	volatile int *cancel;    /* optional: give up when set */
	/* Optional: every command, its exit status and stderr land here. */
	void (*log_fn)(void *arg, const char *line);
	void *log_arg;
};

struct ssh_conn;

/* Connect, check or pin the host key, authenticate. *out is allocated
 * here and freed by ssh_close. Errors:
 *   -ECONNREFUSED, -EHOSTUNREACH...  cannot reach 'HOST:PORT': ...
 *   -ETIMEDOUT    nothing answered within the connect timeout
 *   -EKEYREJECTED host key for 'HOST:PORT' changed: pinned SHA256:..., offered SHA256:...
 *   -EACCES       ssh key 'KEY' refused for user 'USER' on 'HOST:PORT'
 *   -ENOENT       cannot read ssh key 'KEY': ...
 *   -ECANCELED    *cancel was set */
int ssh_connect(const struct ssh_target *t, struct ssh_conn **out, char *err);

/* Run cmd in a new channel. stdin_data (may be NULL) is sent, then EOF.
 * out/errout (may be NULL) get stdout/stderr appended. *status (may be
 * NULL) gets the exit status (128+N when killed by signal N). timeout_ms
 * 0: 10 minutes. Returns 0 when the command ran (whatever its status),
 * -errno when it could not be run: -E2BIG (cmd over 32 KiB: send data on
 * stdin), -ETIMEDOUT, -ECANCELED (the channel
 * is closed; the remote command is not killed: libssh2 1.10 cannot send
 * signals, it sees its output closed), -ECONNRESET, -ENOTCONN.
 * Logs "$ cmd", "exit status N" and the last lines of stderr. */
int ssh_exec(struct ssh_conn *c, const char *cmd, const void *stdin_data,
	     size_t stdin_len, struct strbuf *out, struct strbuf *errout,
	     int *status, int timeout_ms, char *err);

/* ssh_exec that also fails (-EIO, stderr's last line in err) on a
 * non-zero exit status. */
int ssh_run(struct ssh_conn *c, const char *cmd, struct strbuf *out,
	    int timeout_ms, char *err);

/* Write data to the absolute path on the host: streamed on stdin to a
 * temp file next to path (umask 077), chmod mode, renamed into place, so
 * readers see the old or the new file. sudo: through `sudo -n`. The
 * folder must exist. A non-zero exit is -EIO with stderr's last line. */
int ssh_write_file(struct ssh_conn *c, const char *path, const void *data,
		   size_t len, int mode, bool sudo, char *err);

/* NULL is fine. Closes the channels, the session and the socket. */
void ssh_close(struct ssh_conn *c);

/* "SHA256:base64" of the pinned key, for messages and tests. -ENOENT
 * when nothing is pinned for host:port. */
int ssh_known_host_fingerprint(const char *known_hosts, const char *host,
			       int port, char *buf, size_t len, char *err);

#endif
