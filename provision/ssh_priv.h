/* Internals shared by ssh.c (connection), ssh_exec.c (channels) and
 * ssh_hostkey.c (pinning). Not for use outside provision/ssh*.c. */
#ifndef MFS_SSH_PRIV_H
#define MFS_SSH_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libssh2.h>

#include "provision/ssh.h"

/* Channels whose command timed out: libssh2 frees a channel only once the
 * server has closed it, which it does when the command ends. */
#define SSH_ZOMBIES_MAX 16

/* Allocated by ssh_connect, freed by ssh_close (which frees the session,
 * its channels and the socket). The strings are copies. */
struct ssh_conn {
	int fd;
	LIBSSH2_SESSION *session; /* always non-blocking */
	char peer[300];           /* "host:port", for messages */
	char user[128];
	volatile int *cancel;     /* borrowed from the target; may be NULL */
	void (*log_fn)(void *arg, const char *line);
	void *log_arg;
	bool broken;              /* transport failed: every exec fails */
	LIBSSH2_CHANNEL *zombies[SSH_ZOMBIES_MAX];
};

/* libssh2_init, once per process (thread-safe). */
int ssh_lib_init(char *err);

/* *c->cancel is set (read atomically; writers may use __atomic_store_n). */
bool ssh_cancelled(const struct ssh_conn *c);

/* Milliseconds on the monotonic clock. */
int64_t ssh_now_ms(void);

/* Wait until the socket is ready in the directions libssh2 is blocked
 * on. 0 when ready (or a slice passed), -ETIMEDOUT past deadline (a
 * ssh_now_ms value), -ECANCELED when *c->cancel is set. No message. */
int ssh_wait(struct ssh_conn *c, int64_t deadline);

/* The one mapping from a libssh2 error code (rc < 0) to -errno: the
 * message is "<what>: <libssh2's text>". A transport failure marks the
 * connection broken. */
int ssh_error(struct ssh_conn *c, int rc, char *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* msg with its first letter lowercased (not for acronyms) into buf. */
const char *ssh_lower(const char *msg, char *buf, size_t len);

/* One line to the log, if any. */
void ssh_log(struct ssh_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Decode base64 (no whitespace) into out; -EINVAL when malformed. */
int ssh_base64_decode(const char *b64, struct strbuf *out);

/* "SHA256:base64-without-padding" of a raw host key blob. */
void ssh_fingerprint(const void *blob, size_t len, char *buf, size_t buflen);

/* Before the handshake: prefer the host key algorithm already pinned for
 * host:port in known_hosts, so a server with several keys offers the
 * pinned one; ssh-ed25519 when nothing is pinned. A missing known_hosts
 * is fine. */
int ssh_hostkey_prefer(struct ssh_conn *c, const struct ssh_target *t,
		       char *err);

/* After the handshake: check the server's key against known_hosts; pin it
 * (atomic write, 0600) when the file has no key for host:port. A changed
 * key is -EKEYREJECTED naming both fingerprints. */
int ssh_hostkey_verify(struct ssh_conn *c, const struct ssh_target *t,
		       char *err);

#endif
