/* The one process spawner: every child of the daemon starts here.
 *
 * The child gets stdin from /dev/null, its working directory "/", the
 * daemon's environment (cleaned of paths in the mount by fence_set), its
 * own session (a Ctrl-C on the daemon's terminal is not its), default
 * signal dispositions and no descriptor but 0, 1, 2. An argument naming a
 * path inside the mount is refused before anything runs (see fence.h).
 *
 * The wait has a deadline and obeys *cancel: on either the child's process
 * group gets SIGTERM, then SIGKILL a second later, and is reaped. */
#ifndef MFS_SPAWN_H
#define MFS_SPAWN_H

#include "lib/strbuf.h"

struct spawn_req {
	const char *const *argv;   /* argv[0] is looked up in PATH unless it has a '/' */
	const char *log_path;      /* stdout+stderr appended to this file (O_NOFOLLOW) */
	struct strbuf *out;        /* else stdout captured here (NULL: discarded) */
	struct strbuf *errout;     /* and stderr here (NULL: discarded) */
	int timeout_ms;            /* 0: no deadline */
	volatile int *cancel;      /* may be NULL */
};

/* Run and wait. 0 when the child ran to its end (*status from waitpid,
 * may be NULL); -ENOENT if argv[0] is not installed; -ETIMEDOUT past the
 * deadline; -EINTR when cancelled; -EDEADLK for a path in the mount;
 * other -errno when it could not start. err says which. */
int spawn_run(const struct spawn_req *r, int *status, char *err);

/* One line for a failed exit status: "exit status 3", "killed by signal 9". */
void spawn_describe(int status, char *buf, size_t len);

#endif
