/* The fence: the daemon's own mount point, which no thread of the daemon
 * and none of its children may touch. A lookup there waits for the daemon
 * itself, and deadlocks while the kernel holds the mount's root for an
 * mkdir or rmdir that waits for that very thread or child.
 *
 * fence_set() runs once at start, before any thread: it records the
 * mount point and cleans the process environment so every child inherits
 * one without paths in the mount ($OLDPWD, $PWD, $TMPDIR, PATH entries...).
 * Without fence_set() (unit tests) nothing is fenced. */
#ifndef MFS_FENCE_H
#define MFS_FENCE_H

#include <stdbool.h>

/* Record dir (absolute, canonical: libfuse's realpath of the mount point)
 * and clean environ. 0 or -errno. Not thread-safe: call before threads. */
int fence_set(const char *dir, char *err);
const char *fence_dir(void); /* "" when unset */

/* Whether path (absolute, or relative to "/") is the fenced folder or
 * lies under it, lexically ("." and ".." folded, no symlink followed). */
bool fence_contains_lexically(const char *path);

/* Whether path reaches into the fence, following symlinks outside it
 * without ever looking inside it. 0, or -EDEADLK with a message. */
int fence_check(const char *path, char *err);

/* Whether any path inside an argument (a whole argument, or one after
 * '=', ':' or ',', as in "file=/x,if=virtio") reaches into the fence. */
int fence_check_args(const char *const *argv, char *err);

#endif
