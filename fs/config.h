/* config.json in Docker Machine's format (ConfigVersion 3) and the
 * machine's own record machinefs.json, both written atomically.
 * Callers hold m->lock. */
#ifndef MFS_CONFIG_H
#define MFS_CONFIG_H

#include <cjson/cJSON.h>

#include "fs/machine.h"
#include "provision/provision.h"

#define CONFIG_VERSION 3

/* The shared create options (engine-*, swarm-*, tls-san). */
extern const struct driver_option host_options[];
const struct driver_option *host_option_find(const char *name);
/* HostOptions for a new machine from the create options. */
cJSON *host_options_new(const struct option_set *opts, const char *store,
			const char *machine_dir);
/* EngineOptions of a record; free with engine_options_clear. */
/* -EINVAL (eo still filled, to clear) when a value does not fit its field. */
int host_options_engine(const cJSON *config, struct engine_options *eo, char *err);
void engine_options_clear(struct engine_options *eo);

/* A new record for m (driver chosen and configured). */
cJSON *config_new(struct machine *m);
/* Write the Driver object from m->base and the driver's save(). */
void config_sync_driver(struct machine *m);
/* Load <dir>/config.json into m: version check, paths of a moved store
 * resolved against the store it is in now, the driver's load(). */
int config_load(struct machine *m, char *err);
/* m's record, read from config.json when not in memory (paths of a moved
 * store resolved); NULL if it has none or it cannot be read. */
cJSON *machine_config_locked(struct machine *m);
/* Let go of the record in memory while no command needs it. */
void machine_config_unload_locked(struct machine *m);
/* Write config.json (0600, 4-space indent, no trailing newline). */
int config_save(struct machine *m, char *err);
/* The Go-formatted record with secret keys masked. */
void config_render_masked(struct machine *m, struct strbuf *sb);

/* machinefs.json: driver, options, state, error, running command. */
int record_load(struct machine *m, char *err);
int record_save(struct machine *m, char *err);

#endif
