/* What the core tells the world outside the store after a command: crash
 * reports of failed creates and upgrades (fs/crashreport.c) and a Docker
 * context per machine (fs/contexts.c, daemon option `contexts`). One set
 * of settings per process, as there is one mount. Sits on top of the
 * machine object; the commands and the refresher call it. */
#ifndef MFS_REPORTING_H
#define MFS_REPORTING_H

#include <stdbool.h>
#include <sys/types.h>

#include "fs/machine.h"

/* contexts: keep Docker contexts (docker_config: the CLI's folder, NULL:
 * $DOCKER_CONFIG else ~/.docker). bugsnag_key NULL: reports are only
 * kept in the store. Copies the strings. */
void reporting_configure(bool contexts, const char *docker_config,
			 const char *bugsnag_key, const char *bugsnag_endpoint);
void reporting_release(void);

/* The size of m's log now: where the log of a command starts. */
off_t reporting_log_mark(struct machine *m);
/* After a command on m ended with rc (err its message). */
void reporting_command_done(struct machine *m, const char *cmd, int rc,
			    const char *err, off_t log_mark);
/* m's state or URL may have changed (background refresh). */
void reporting_machine_changed(struct machine *m);
/* Every machine of the store (at mount). */
void reporting_sync_all(struct store *s);

#endif
