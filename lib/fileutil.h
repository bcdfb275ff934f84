/* Small file helpers shared by every folder. All return 0 or -errno and
 * fill err (ERR_MAX bytes, may be NULL). */
#ifndef MFS_FILEUTIL_H
#define MFS_FILEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/strbuf.h"

/* Write path atomically: temp file in the same folder, fsync, rename,
 * fsync of the folder. A crash leaves the old or the new content. */
int write_file_atomic(const char *path, const void *data, size_t len,
		      mode_t mode, char *err);
/* Append the whole file to sb. */
int read_file(const char *path, struct strbuf *sb, char *err);
/* Copy src to dst atomically with the given mode. */
int copy_file(const char *src, const char *dst, mode_t mode, char *err);
/* mkdir -p with mode for every folder it makes. */
int mkdir_p(const char *path, mode_t mode, char *err);
/* rm -rf; a missing path is success. */
int remove_tree(const char *path, char *err);
/* false for a path in the daemon's own mount (see fence.h) */
bool path_exists(const char *path);

#endif
