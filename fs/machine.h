/* The core: a store of machines in Docker Machine's on-disk layout and the
 * commands that run on them. No FUSE here: tests drive it directly.
 *
 * Ownership: store_open allocates the store and every machine;
 * store_close frees them. store_get returns a referenced machine the
 * caller releases with machine_put. A removed machine leaves the store's
 * table at once and is freed when its last reference goes. */
#ifndef MFS_MACHINE_H
#define MFS_MACHINE_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "drivers/driver.h"
#include "lib/strbuf.h"

/* A name is the host's hostname: at most 63 characters (HOST_NAME_MAX is
 * 64 with the NUL). */
#define MACHINE_NAME_MAX 63

struct store;

struct machine;
typedef void (*store_notify_fn)(void *arg, struct machine *m, unsigned what);
/* The store's listener and version, which machine_changed() (fs/machine.c)
 * uses. One per store, owned by it. */
struct store_watch {
	pthread_rwlock_t lock;
	store_notify_fn notify;      /* protected by lock */
	void *arg;                   /* protected by lock */
	unsigned version;            /* atomic */
};

struct machine {
	const char *name;            /* in the machine's own allocation */
	const char *dir;             /* <store>/machines/<name>; the same */
	struct store *store;
	const char *root;            /* the store's root; owned by the store */
	struct store_watch *watch;   /* the store's; owned by the store */
	int refs;                    /* atomic */

	pthread_mutex_t lock;
	/* protected by lock: */
	cJSON *config;               /* config.json while in use, else NULL
					(machine_config_locked loads it) */
	bool recorded;               /* config.json is its record */
	char driver_name[64];        /* "" until chosen */
	const struct machine_driver *driver; /* NULL if unknown */
	/* base and priv while in use (machine_thaw_locked), else NULL and
	 * both packed (zero runs squeezed) in packed. */
	struct base_driver *base;
	void *priv;                  /* priv_size bytes */
	size_t priv_size;
	unsigned char *packed;
	size_t packed_len;
	char *url;                   /* the URL while packed, once asked */
	struct option_set opts;      /* create options */
	struct option_set scratch;   /* editors' temp files in options/; memory only */
	enum machine_state state;
	time_t changed;              /* last change of state or record */
	time_t refreshed;            /* last background state check */
	char error[ERR_MAX];         /* last failure; "" after a success */
	const char *busy;            /* command running, or NULL */
	time_t busy_since;
	bool removed;
	bool created;                /* create finished once */
	bool host_made;              /* the driver's create finished (provisioning may not have) */
	unsigned gen;                /* bumped by every command */
	char docker_version[64];
	struct engine_seen *engine;  /* last engine probe (fs/engine.c); NULL: none yet */
	volatile int cancel;         /* set to stop the running command */
	unsigned version;            /* atomic; bumped by machine_changed() */

	/* Taken after lock when both are (never before it): machine_log
	 * takes only this one. */
	pthread_mutex_t secrets_lock;
	struct strlist secrets;      /* protected by secrets_lock: values masked
	                              * in log, error, config.json, options/ */
	char strs[];                 /* name and dir */
};

/* The engine URL from stored data ("" when not created). Caller holds
 * m->lock. */
void machine_url_locked(struct machine *m, char *buf, size_t len);
/* Unpack m->base and m->priv (no-op when in use). Caller holds m->lock. */
void machine_thaw_locked(struct machine *m);
/* Pack them while no command runs: a machine at rest holds a few hundred
 * bytes, not the drivers' fixed arrays. Caller holds m->lock. */
void machine_freeze_locked(struct machine *m);

/* Open the store at root (made if missing) and load every machine.
 * Machines that fail to load show in state Error with the reason. */
int store_open(const char *root, struct store **out, char *err);
void store_close(struct store *s);
/* Lock the store at root (made if missing) for this process's life: a
 * second daemon is refused with the mount point of the first, which is
 * written in root/machinefs.lock. */
int store_lock(const char *root, const char *mountpoint, char *err);
const char *store_root(const struct store *s);

/* Names, sorted. The caller frees with strlist_clear. */
void store_list(struct store *s, struct strlist *names);
size_t store_count(struct store *s);
struct machine *store_get(struct store *s, const char *name);
void machine_put(struct machine *m);

/* Docker Machine's name rule: ^[a-zA-Z0-9][a-zA-Z0-9.-]*$ */
bool machine_name_valid(const char *name);

/* mkdir: an empty machine in state None. -EINVAL, -EEXIST. */
int store_mkdir(struct store *s, const char *name, char *err);

/* Options: get (NULL if unset), set, delete; persisted at once.
 * Unknown names are -EINVAL. */
int machine_option_set(struct machine *m, const char *name, const char *value,
		       char *err);
/* Editors' and sed -i's temp files (".x.swp", "x~", "4913", "sedXXXXXX",
 * "x.tmp"...) live in options/ in memory only, so a save-by-rename works. */
bool option_scratch_name(const char *name);
/* The raw value (secrets unmasked) of an option or scratch file. */
bool machine_option_raw(struct machine *m, const char *name, struct strbuf *sb);
/* Whether len bytes written to options/name are a value it can take:
 * -EINVAL (and the reason in m->error) for a NUL byte or a control
 * character (lists: but newlines). Unknown and scratch names: 0. */
int machine_option_check_value(struct machine *m, const char *name,
			       const char *value, size_t len, char *err);
/* Whether name may be written now (0 or -errno). */
int machine_option_check(struct machine *m, const char *name, char *err);
int machine_option_del(struct machine *m, const char *name, char *err);
/* Copy of the value ("" if unset) into sb; false if unset. */
bool machine_option_get(struct machine *m, const char *name, struct strbuf *sb);
void machine_option_names(struct machine *m, struct strlist *names);
/* The option's table entry (driver's or the shared host options). */
const struct driver_option *option_lookup(const char *name);

/* Commands (ctl, driver and rmdir end here). Each blocks until done and
 * returns 0 or -errno; the message also lands in m->error. */
int machine_command(struct machine *m, const char *cmdline, char *err);
int machine_set_driver(struct machine *m, const char *driver, char *err);
int store_remove(struct store *s, struct machine *m, bool force, char *err);

/* The machine's log file (append). */
void machine_log(struct machine *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void machine_log_path(const struct machine *m, char *buf, size_t len);
/* Rebuild m->secrets from the options (OPT_SECRET values, credentials in
 * URLs) and config.json's secret Driver keys. Caller holds m->lock. */
void machine_secrets_update_locked(struct machine *m);
/* Mask m's secrets (and URL credentials) in sb. Any lock state. */
void machine_mask(struct machine *m, struct strbuf *sb);

/* Refresh the state of every idle machine once (background thread). */
void store_refresh_states(struct store *s);
/* Start/stop the background refresher (every interval seconds). */
int store_refresher_start(struct store *s, int interval);
void store_refresher_stop(struct store *s);

/* What changed in a machine, for whoever caches its files (the FUSE
 * face tells the kernel). */
#define MCHG_FILES 0x1u /* what its files show (state, error, url...) */
#define MCHG_LOG   0x2u /* its log (or progress) grew */
#define MCHG_GONE  0x4u /* it left the store */
/* Set (or clear, fn NULL) the one listener; after store_set_notify
 * returns, no call of the old one is running. */
void store_set_notify(struct store *s, store_notify_fn fn, void *arg);
/* Say that m changed: bumps m->version and the store's version (not for
 * MCHG_LOG alone), then calls the listener. Called after the change is made and never under
 * m->lock (the listener may wait for readers that take it), except for
 * MCHG_LOG, which the listener handles without waiting. */
void machine_changed(struct machine *m, unsigned what);
/* Bumped by every machine_changed() (the root listing's version). */
unsigned store_version(struct store *s);

/* Ask every running command to stop (unmount). */
void store_cancel_all(struct store *s);

/* Persist the record: config.json (if created) and machinefs.json.
 * Caller holds m->lock. */
int machine_save_locked(struct machine *m, char *err);

#endif
