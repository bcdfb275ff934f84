/* Core-internal: the ctl command table and the commands. */
#ifndef MFS_OPS_H
#define MFS_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include "fs/machine.h"

/* Parse one ctl write: the index of the command in the table, or -errno
 * with the reason in err. word gets the command's name. */
int ctl_parse(const char *text, size_t len, char *word, size_t wlen, char *err);
const char *const *ctl_command_names(size_t *n);
/* Whether name can run on m now (driver support and state). m->lock held. */
bool ctl_command_allowed(const struct machine *m, const char *name);

/* One background state check of m if it is idle. */
/* cancel (may be NULL): the refresher's own flag, set at unmount; a
 * check it cuts short records nothing. */
void machine_refresh_state(struct machine *m, volatile int *cancel);

#endif
