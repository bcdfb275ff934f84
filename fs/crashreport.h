/* Crash reports of failed creates and upgrades, as Docker Machine makes
 * them (Bugsnag's notify format), kept in the store and sent only when
 * asked to.
 *
 * Every failed `create`/`upgrade` writes STORE/reports/<time>-<machine>-
 * <command>.json (at most CRASH_KEEP reports, each at most CRASH_MAX_BYTES;
 * the oldest go first). It is sent in the background with libcurl to the
 * configured endpoint only when an API key is configured and the opt-out
 * file STORE/no-error-report does not exist (checked at each report). The
 * command's result never waits on, or changes with, the sending.
 *
 * No struct machine here: the core hands plain values. */
#ifndef MFS_CRASHREPORT_H
#define MFS_CRASHREPORT_H

#include <stdbool.h>
#include <stddef.h>

#define CRASH_KEEP 20
#define CRASH_MAX_BYTES (256 * 1024)
#define CRASH_DEFAULT_ENDPOINT "https://notify.bugsnag.com/"

struct crash_settings {
	char *api_key;   /* NULL: never send (MACHINE_BUGSNAG_API_TOKEN) */
	char *endpoint;  /* NULL: CRASH_DEFAULT_ENDPOINT */
};

struct crash_info {
	const char *store_root;
	const char *machine;
	const char *driver;
	const char *command;   /* "create" or "upgrade" */
	const char *error;     /* the one-line error (secrets already masked) */
	const char *log;       /* the machine's log of that command (masked) */
	size_t log_len;
	const char *log_path;  /* where a failure to send is said, or NULL */
};

/* Whether a failed `command` is reported at all. */
bool crash_reportable(const char *command);

/* The report as Bugsnag's notify payload (JSON); caller frees. */
char *crash_payload(const struct crash_info *ci, const char *api_key);

/* Write the report into STORE/reports, trim old ones, and send it in the
 * background if configured and not opted out; a failure to send is one
 * line appended to ci->log_path. Never blocks on the network. The path of
 * the report goes to path_out (may be NULL). */
int crash_report(const struct crash_settings *cs, const struct crash_info *ci,
		 char *path_out, size_t path_len, char *err);

/* Wait for reports still being sent (unmount), at most secs seconds. */
void crash_drain(int secs);

#endif
