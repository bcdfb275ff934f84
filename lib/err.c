#include "lib/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int error_set(char *err, int errnum, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, ERR_MAX, fmt, ap);
		va_end(ap);
	}
	return errnum > 0 ? -errnum : errnum;
}

int error_errno(char *err, int errnum, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		char msg[ERR_MAX];
		int e = errnum < 0 ? -errnum : errnum;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		snprintf(err, ERR_MAX, "%.400s: %s", msg, strerror(e));
	}
	return errnum > 0 ? -errnum : errnum;
}
