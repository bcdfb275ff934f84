/* The room at the base of the core (fs/machine.c): the machine object's
 * helpers and the wrappers every core -> driver call goes through.
 * Everything else in the core (config, store, commands, provisioning,
 * rendering) sits on top of it; it includes none of them.
 *
 * The wrappers (Redis connWrite, SQLite sqlite3OsRead): a machine without
 * a driver or a driver without the method is -ENOTSUP with a message;
 * lifecycle methods (create, start...) are logged to the machine's log,
 * and their failures; queries (url, state...), which every read of url or
 * ls runs, are not; and each call first passes the test hook
 * machine_fault(), which logs what it injects. The caller fills ctx (either
 * machine_driver_ctx() under m->lock, or private copies); the message of
 * a failure lands in ctx->err. */
#ifndef MFS_CORE_H
#define MFS_CORE_H

#include <stddef.h>

#include "fs/machine.h"

/* A machine named name in the store s whose root and watch are given
 * (owned by s). */
struct machine *machine_new(struct store *s, const char *root, struct store_watch *watch,
			    const char *name);
/* Look up m->driver_name and (re)allocate m->priv. Caller holds m->lock. */
void machine_bind_driver(struct machine *m);
/* Fill ctx for a call into m's driver (pointing at m's own base and
 * priv). Caller holds m->lock. */
void machine_driver_ctx(struct machine *m, struct driver_ctx *ctx);

/* Test hook, read from the environment: MACHINEFS_FAULTS is a comma
 * list of WHAT=ACTION where WHAT is a driver method ("create", "url",
 * "state"...), a core step of create ("bootstrap-certs",
 * "copy-client-certs") or a provisioning step ("provision.connect",
 * "provision.hostname"... see provision_steps in provision/provision.h),
 * and ACTION is
 *   fail      every call fails with EIO
 *   fail:N    the first N calls (in this process) fail with EIO
 *   sleep:S   the call waits S seconds first (cancel ends the wait)
 * 0, or -errno with the message in err. */
int machine_fault(struct machine *m, const char *what, char *err);

/* The lifecycle methods by name: "configure", "precreate_check",
 * "create", "remove", "start", "stop", "restart", "kill". */
int machine_drv_call(struct machine *m, struct driver_ctx *ctx, const char *what);
/* -ENOTSUP for a command m's driver lacks, in the driver's own words
 * when it has them, else "driver 'NAME' does not support 'CMD'". */
int machine_drv_unsupported(const struct machine *m, const char *cmd, char *err);
/* Whether m's driver has that lifecycle method. */
bool machine_drv_has(const struct machine *m, const char *what);
int machine_drv_state(struct machine *m, struct driver_ctx *ctx,
		      enum machine_state *out);
/* buf gets "" on failure. */
int machine_drv_url(struct machine *m, struct driver_ctx *ctx, char *buf, size_t len);
/* The port dockerd listens on inside the host, or 0 (the URL's). */
int machine_drv_engine_listen_port(struct machine *m, struct driver_ctx *ctx);
/* Where SSH reaches the host: the driver's answer, else base->ip. */
void machine_drv_ssh_host(struct machine *m, struct driver_ctx *ctx, char *buf,
			  size_t len);
/* The driver's own config.json "Driver" keys; a driver without them
 * has nothing to load or save (0). */
int machine_drv_load(struct machine *m, struct driver_ctx *ctx, const cJSON *d);
int machine_drv_save(struct machine *m, struct driver_ctx *ctx, cJSON *d);

#endif
