/* Commands on the host being provisioned, over one SSH connection, as
 * root: wrapped in `sh -c` (root) or `sudo -n sh -c` (any other user).
 * Internal to provision/. */
#ifndef MFS_REMOTE_H
#define MFS_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/strbuf.h"
#include "provision/provision.h"

struct remote {
	const struct provision_request *r; /* borrowed */
	struct ssh_conn *conn;             /* owned: remote_close */
	bool sudo;
};

/* Step lines to r->log_fn ("Setting hostname..."). */
void plog(const struct provision_request *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* -ECANCELED with a message when r->cancel is set, else 0. */
int remote_cancelled(const struct provision_request *r, char *err);

/* Connect, and when the user is not root check that `sudo -n` works:
 *   sudo on 'HOST' needs a password: allow passwordless sudo for 'USER' */
int remote_open(struct remote *rm, const struct provision_request *r,
		char *err);
void remote_close(struct remote *rm);

/* Run script as root. *status gets its exit status; out (may be NULL)
 * its stdout. 0 when it ran, whatever the status. timeout_ms 0: 60 s. */
int remote_exec(struct remote *rm, const char *script, struct strbuf *out,
		int *status, int timeout_ms, char *err);

/* Run script as root; a non-zero status is an error:
 *   cannot WHAT on 'HOST': exit status N: <last stderr line> */
int remote_run(struct remote *rm, const char *what, const char *script,
	       struct strbuf *out, int timeout_ms, char *err);

/* Write data to path on the host (folder made, mode set, renamed into
 * place so a reader sees the old or the new file). */
int remote_write(struct remote *rm, const char *path, const void *data,
		 size_t len, mode_t mode, char *err);

#endif
