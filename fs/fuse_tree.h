/* The FUSE face of the store. */
#ifndef MFS_FUSE_TREE_H
#define MFS_FUSE_TREE_H

#include <fuse.h>

#include "fs/machine.h"

/* Serve s at the mount point in args until unmounted. refresh: seconds
 * between background state checks (<0: none). */
int fuse_tree_main(struct fuse_args *args, struct store *s, int refresh);

/* The mount point the arguments name (libfuse's realpath of it), or
 * NULL; the caller frees it. args are left as they are. */
char *fuse_tree_mountpoint(const struct fuse_args *args);

/* FUSE's own options, for --help. */
void fuse_tree_help(struct fuse_args *args);

#endif
