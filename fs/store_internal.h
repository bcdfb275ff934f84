/* Core-internal helpers shared by store.c, config.c and ops.c. */
#ifndef MFS_STORE_INTERNAL_H
#define MFS_STORE_INTERNAL_H

#include "fs/machine.h"

/* Fill ctx for a call into m's driver (pointing at m's own base and
 * priv). Caller holds m->lock. */
void machine_driver_ctx(struct machine *m, struct driver_ctx *ctx);
/* Look up m->driver_name and (re)allocate m->priv. Caller holds m->lock. */
void machine_bind_driver(struct machine *m);
/* Take m out of the store's table (its folder is gone). */
void store_forget(struct store *s, struct machine *m);
/* One background state check of m if it is idle. */
void machine_refresh_state(struct machine *m);

#endif
