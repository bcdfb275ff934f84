/* Core-internal: what the store offers the commands on top of it. */
#ifndef MFS_STORE_INTERNAL_H
#define MFS_STORE_INTERNAL_H

#include "fs/core.h"

/* Take m out of the store's table (its folder is gone). */
void store_forget(struct store *s, struct machine *m);

#endif
