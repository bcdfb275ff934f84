/* The driver interface: one const table of function pointers per driver
 * (like curl's TLS backends or SQLite's sqlite3_vfs), a compile-time
 * NULL-terminated registry, and option tables that feed
 * .drivers/NAME/options and option validation.
 *
 * Threading: the core calls every method from one of its own worker
 * threads, never from a FUSE read. Long methods (create, start, stop...)
 * may block; they poll driver_cancelled(ctx) between steps and return
 * -EINTR when it is set. At most one method runs per machine at a time
 * (the core's per-machine busy flag), except state(), which the
 * background refresher may call at any time.
 *
 * Each call works on its own copies of base and priv, which the core
 * publishes back after a successful call: priv must be plain data (fixed
 * arrays, no pointers: the core copies it, and packs it with base while
 * the machine is at rest), and drivers need no locks of their own.
 *
 * Errors: every method returns 0 or -errno and writes one line to
 * ctx->err (ERR_MAX bytes). Progress goes to the machine's log through
 * driver_log(). */
#ifndef MFS_DRIVER_H
#define MFS_DRIVER_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "lib/err.h"
#include "lib/strlist.h"

/* Docker Machine's states (libmachine/state), same order. */
enum machine_state {
	MS_NONE = 0,
	MS_RUNNING,
	MS_PAUSED,
	MS_SAVED,
	MS_STOPPED,
	MS_STOPPING,
	MS_STARTING,
	MS_ERROR,
	MS_TIMEOUT,
};
const char *machine_state_name(enum machine_state s); /* "None", "Running", ... */

enum option_type { OPT_STRING, OPT_INT, OPT_BOOL, OPT_LIST };

#define OPT_REQUIRED 0x1u /* create fails without a value */
#define OPT_SECRET   0x2u /* masked in options/ and config.json, 0600 */

struct driver_option {
	const char *name;      /* without dashes: "generic-ip-address" */
	enum option_type type;
	const char *def;       /* default as text; NULL: none */
	const char *env;       /* Docker Machine's environment variable, or NULL */
	const char *help;
	unsigned flags;        /* OPT_REQUIRED | OPT_SECRET */
	const char *json_key;  /* the Driver key it lands in (for masking), or NULL */
};

/* The values a user gave, by option name. Owned by the core. */
struct option_set {
	struct strlist names;
	struct strlist values; /* list options: one value a line */
};

/* Docker Machine's BaseDriver fields, stored first in config.json's
 * "Driver" object in this order. Owned by the core, filled by drivers. */
struct base_driver {
	char ip[256];            /* IPAddress */
	char ssh_user[64];       /* SSHUser */
	int ssh_port;            /* SSHPort */
	char ssh_key_path[4096]; /* SSHKeyPath */
	bool swarm_master;       /* SwarmMaster */
	char swarm_host[256];    /* SwarmHost */
	char swarm_discovery[256]; /* SwarmDiscovery */
};

struct driver_ctx {
	const char *machine;          /* machine name */
	const char *store;            /* store root */
	const char *dir;              /* the machine's folder in the store */
	struct base_driver *base;
	void *priv;                   /* driver->priv_size bytes, zeroed by the core */
	const struct option_set *opts; /* create options; only set during configure */
	volatile int *cancel;         /* set when the caller gave up (Ctrl-C, unmount) */
	void (*log_fn)(void *arg, const char *line);
	void *log_arg;
	/* Set by the core during a command: a line for the user (see
	 * driver_say()). NULL: driver_say() logs only. */
	void (*say_fn)(void *arg, const char *line);
	void *say_arg;
	/* Set by the core; see driver_checkpoint(). NULL: nothing to save. */
	int (*checkpoint_fn)(void *arg, struct driver_ctx *ctx);
	void *checkpoint_arg;
	char err[ERR_MAX];
};

/* What a driver can do; the core answers ENOTSUP for the rest. */
#define DRV_START     0x01u
#define DRV_STOP      0x02u
#define DRV_RESTART   0x04u
#define DRV_KILL      0x08u
#define DRV_SSH       0x10u /* reachable over SSH: provisioned, upgrade, ssh/ */
#define DRV_REMOVE    0x20u

struct machine_driver {
	const char *name;
	unsigned supports;
	const struct driver_option *options; /* terminated by { NULL } */
	size_t priv_size;

	/* Take the create options (ctx->opts) into ctx->base and ctx->priv;
	 * check them. Docker Machine's SetConfigFromFlags. Required. */
	int (*configure)(struct driver_ctx *ctx);
	/* Optional: checks before anything is made (PreCreateCheck). */
	int (*precreate_check)(struct driver_ctx *ctx);
	/* Make the host. Required. On return base->ip etc. are set. */
	int (*create)(struct driver_ctx *ctx);
	int (*remove)(struct driver_ctx *ctx);
	int (*start)(struct driver_ctx *ctx);
	int (*stop)(struct driver_ctx *ctx);
	int (*restart)(struct driver_ctx *ctx);
	int (*kill)(struct driver_ctx *ctx);
	/* May touch the network; only ever called from a background thread. */
	int (*state)(struct driver_ctx *ctx, enum machine_state *out);
	/* The engine URL from stored data only (no network). Required. */
	int (*url)(struct driver_ctx *ctx, char *buf, size_t len);
	/* Optional: the port dockerd listens on inside the host when the
	 * URL's port is a forward to it (QEMU user networking). */
	int (*engine_listen_port)(struct driver_ctx *ctx);
	/* Optional: where SSH reaches the host when it is not base->ip
	 * (Docker Machine's GetSSHHostname; VirtualBox: "127.0.0.1", the
	 * NAT forward to base->ssh_port). From stored data only. */
	const char *(*ssh_host)(struct driver_ctx *ctx);
	/* Optional: the error for a command the driver lacks (cmd is a ctl
	 * command: start, stop, ...), in the words Docker Machine's driver
	 * uses ("hosts without a driver cannot be stopped"); NULL (or no
	 * hook): "driver 'NAME' does not support 'CMD'". */
	const char *(*unsupported)(const char *cmd);
	/* config.json "Driver" keys after the BaseDriver ones. */
	int (*load)(struct driver_ctx *ctx, const cJSON *driver_obj);
	int (*save)(const struct driver_ctx *ctx, cJSON *driver_obj);
};

/* The registry: compiled-in drivers, NULL-terminated. */
extern const struct machine_driver *const machine_drivers[];
const struct machine_driver *driver_find(const char *name);

/* Helpers drivers use. */
void driver_log(struct driver_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A line Docker Machine's driver prints at info level (relayed to the user
 * as "(NAME) LINE": "Importing SSH key...", "Waiting for an IP..."): it
 * goes to the log and to the machine's `progress`. */
void driver_say(struct driver_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool driver_cancelled(const struct driver_ctx *ctx);
/* Save ctx->base and ctx->priv into the machine's record in the store now,
 * in the middle of a method. A cloud driver calls it the moment an API
 * returns the id of something it made (key pair, instance, disk), so that
 * after a kill -9 of the daemon `rm` still finds and deletes it.
 * 0 or -errno with ctx->err set. */
int driver_checkpoint(struct driver_ctx *ctx);
const struct driver_option *driver_option_find(const struct machine_driver *d,
					       const char *name);
/* The user's value for an option, else its default, else NULL. For list
 * options, the lines joined by '\n'. */
const char *driver_opt(const struct driver_ctx *ctx,
		       const struct machine_driver *d, const char *name);
/* Like driver_opt(), with the option's environment variable (its `env`,
 * Docker Machine's) between the user's value and the default: what the
 * cloud drivers read, so a Docker Machine store without a field still
 * takes it from the daemon's environment. */
const char *driver_opt_env(const struct driver_ctx *ctx,
			   const struct machine_driver *d, const char *name);
int driver_opt_int(struct driver_ctx *ctx, const struct machine_driver *d,
		   const char *name, int *out);
bool driver_opt_bool(const struct driver_ctx *ctx,
		     const struct machine_driver *d, const char *name);
/* driver_opt_env()'s value is "true", "1" or "yes". */
bool driver_opt_env_bool(const struct driver_ctx *ctx,
			 const struct machine_driver *d, const char *name);
/* driver_opt_env()'s value (none: "") copied into the fixed field dst;
 * a value that does not fit is refused (-EINVAL), never truncated. */
int driver_opt_copy(struct driver_ctx *ctx, const struct machine_driver *d,
		    const char *name, char *dst, size_t len);
/* driver_opt_env()'s value as a whole number from lo to hi into *out;
 * an empty or other value is refused (-EINVAL). */
int driver_opt_range(struct driver_ctx *ctx, const struct machine_driver *d,
		     const char *name, long lo, long hi, int *out);

/* The option_set. */
const char *option_set_get(const struct option_set *os, const char *name);
void option_set_put(struct option_set *os, const char *name, const char *value);
bool option_set_del(struct option_set *os, const char *name);
void option_set_clear(struct option_set *os);

#endif
