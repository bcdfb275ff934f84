/* One error convention: functions return 0 or -errno and fill a
 * caller-owned message buffer of ERR_MAX bytes. Messages are lowercase,
 * say what failed first and quote the subject:
 *   cannot reach '10.0.0.5:22': connection refused
 */
#ifndef MFS_ERR_H
#define MFS_ERR_H

#include <stddef.h>

#define ERR_MAX 512

/* Format the message into err (may be NULL) and return -errnum. */
int error_set(char *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like error_set, with ": strerror(errnum)" appended. */
int error_errno(char *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
