/* A QMP client (QEMU Machine Protocol) for the qemu driver: one short
 * connection per command on the VM's unix socket. QEMU serves one QMP
 * client at a time: callers keep connections short. */
#ifndef MFS_QMP_H
#define MFS_QMP_H

#include <stddef.h>

/* Connect to sock, negotiate capabilities, run cmd ("query-status",
 * "system_powerdown", "quit"...), and copy the reply's "return" object
 * as JSON text into reply (may be NULL, len bytes). Events are skipped.
 * Errors: -ENOENT/-ECONNREFUSED (no QEMU on the socket), -ETIMEDOUT,
 * -EIO (QEMU answered an error: its desc in err). For "quit" a closed
 * connection before the reply is success. */
int qmp_execute(const char *sock, const char *cmd, char *reply, size_t len,
		int timeout_ms, char *err);

/* The same on a connected socket fd (the caller closes it); peer names
 * it in messages. */
int qmp_execute_fd(int fd, const char *peer, const char *cmd, char *reply,
		   size_t len, int timeout_ms, char *err);

/* "running", "paused", "shutdown"... from query-status into status. */
int qmp_status(const char *sock, char *status, size_t len, int timeout_ms,
	       char *err);

#endif
