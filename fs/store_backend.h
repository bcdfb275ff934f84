/* The store's back-end seam. The local folder is always the working copy
 * the drivers and provisioning read and write (keys, certificates,
 * config.json); a back end (etcd: fs/store_etcd.c) shares it with other
 * daemons: it is told of every change the core makes and feeds in the
 * changes others make. Without one (store=DIR) every hook is a no-op.
 *
 * The hooks run in the thread making the change; saved() under m->lock. */
#ifndef MFS_STORE_BACKEND_H
#define MFS_STORE_BACKEND_H

#include "fs/machine.h"

struct store_backend {
	/* m's folder changed (a record was written): share it. */
	int (*saved)(void *arg, struct machine *m, char *err);
	/* mkdir: claim the name, -EEXIST if another daemon has it. */
	int (*made)(void *arg, struct machine *m, char *err);
	/* rm: the record goes everywhere (before the local folder does). */
	int (*removed)(void *arg, struct machine *m, char *err);
	/* One command per machine across daemons: -EBUSY naming the holder. */
	int (*lock)(void *arg, struct machine *m, const char *cmd, char *err);
	void (*unlock)(void *arg, struct machine *m);
	/* The mount serves (after fuse_daemonize's fork: threads start here). */
	void (*start)(void *arg);
};

/* Attach (or detach, be NULL) the back end; before the mount serves. */
void store_set_backend(struct store *s, const struct store_backend *be, void *arg);

/* The hooks, for the core (no-ops without a back end). */
int store_be_saved(struct machine *m, char *err);
int store_be_lock(struct machine *m, const char *cmd, char *err);
void store_be_unlock(struct machine *m);
void store_be_start(struct store *s);
int store_be_removed(struct machine *m, char *err);

/* For the back end: another daemon changed name's folder (already
 * written in the working copy): read it again, in place (open files see
 * the new record), or add the machine. remote_state >= 0: the
 * record's command runs on another daemon, show that state rather than
 * "interrupted". A machine running a command here is left alone. */
void store_reload(struct store *s, const char *name, int remote_state);
/* Another daemon removed name: its folder goes here too. */
void store_drop(struct store *s, const char *name);

#endif
