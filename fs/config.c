#include "fs/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/core.h"
#include "fs/store_backend.h"
#include "lib/fileutil.h"
#include "lib/json.h"

static void put_base(cJSON *d, const struct machine *m)
{
	const struct base_driver *b = m->base; /* thawed by the caller */
	json_put_str(d, "IPAddress", b->ip);
	json_put_str(d, "MachineName", m->name);
	json_put_str(d, "SSHUser", b->ssh_user);
	json_put_int(d, "SSHPort", b->ssh_port);
	json_put_str(d, "SSHKeyPath", b->ssh_key_path);
	json_put_str(d, "StorePath", m->root);
	json_put_bool(d, "SwarmMaster", b->swarm_master);
	json_put_str(d, "SwarmHost", b->swarm_host);
	json_put_str(d, "SwarmDiscovery", b->swarm_discovery);
}

static void get_base(const cJSON *d, struct base_driver *b)
{
	snprintf(b->ip, sizeof(b->ip), "%s", json_str(d, "IPAddress", ""));
	snprintf(b->ssh_user, sizeof(b->ssh_user), "%s", json_str(d, "SSHUser", ""));
	b->ssh_port = (int)json_int(d, "SSHPort", 0);
	snprintf(b->ssh_key_path, sizeof(b->ssh_key_path), "%s",
		 json_str(d, "SSHKeyPath", ""));
	b->swarm_master = json_bool(d, "SwarmMaster", false);
	snprintf(b->swarm_host, sizeof(b->swarm_host), "%s", json_str(d, "SwarmHost", ""));
	snprintf(b->swarm_discovery, sizeof(b->swarm_discovery), "%s",
		 json_str(d, "SwarmDiscovery", ""));
}

void config_sync_driver(struct machine *m)
{
	machine_thaw_locked(m);
	cJSON *d = json_obj(m->config, "Driver");
	if (!d) {
		d = cJSON_CreateObject();
		json_put(m->config, "Driver", d);
	}
	put_base(d, m);
	struct driver_ctx ctx;
	machine_driver_ctx(m, &ctx);
	machine_drv_save(m, &ctx, d);
}

cJSON *config_new(struct machine *m)
{
	cJSON *c = cJSON_CreateObject();
	json_put_int(c, "ConfigVersion", CONFIG_VERSION);
	json_put(c, "Driver", cJSON_CreateObject());
	json_put_str(c, "DriverName", m->driver_name);
	json_put(c, "HostOptions", host_options_new(&m->opts, m->root, m->dir));
	json_put_str(c, "Name", m->name);
	cJSON *old = m->config;
	m->config = c;
	config_sync_driver(m);
	m->config = old;
	return c;
}

/* Rewrite every string under old_root to lie under new_root. */
static void rebase_paths(cJSON *item, const char *old_root, const char *new_root)
{
	size_t n = strlen(old_root);
	for (cJSON *c = item->child; c; c = c->next) {
		if (cJSON_IsString(c) && c->valuestring &&
		    !strncmp(c->valuestring, old_root, n) &&
		    (c->valuestring[n] == '/' || c->valuestring[n] == '\0')) {
			char buf[PATH_MAX * 2];
			snprintf(buf, sizeof(buf), "%s%s", new_root, c->valuestring + n);
			cJSON_SetValuestring(c, buf);
		} else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
			rebase_paths(c, old_root, new_root);
		}
	}
}

/* The store root the record was written in. */
static void recorded_root(const cJSON *c, const char *name, char *buf, size_t len)
{
	const char *root = json_str(json_obj(c, "Driver"), "StorePath", NULL);
	if (root && *root) {
		snprintf(buf, len, "%s", root);
		return;
	}
	const cJSON *ao = json_obj(json_obj(c, "HostOptions"), "AuthOptions");
	const char *mdir = json_str(ao, "StorePath", "");
	char suffix[MACHINE_NAME_MAX + 16];
	snprintf(suffix, sizeof(suffix), "/machines/%s", name);
	size_t ml = strlen(mdir), sl = strlen(suffix);
	if (ml > sl && !strcmp(mdir + ml - sl, suffix))
		snprintf(buf, len, "%.*s", (int)(ml - sl), mdir);
	else
		buf[0] = '\0';
}

/* config.json, checked and with a moved store's paths resolved. */
static int config_read(struct machine *m, cJSON **out, char *err)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/config.json", m->dir);
	struct strbuf sb = STRBUF_INIT;
	int rc = read_file(path, &sb, err);
	if (rc)
		return rc;
	cJSON *c = cJSON_Parse(sb.buf);
	strbuf_release(&sb);
	if (!cJSON_IsObject(c)) {
		cJSON_Delete(c);
		return error_set(err, EINVAL, "cannot parse '%s': not valid JSON", path);
	}
	long version = json_int(c, "ConfigVersion", 0);
	if (version > CONFIG_VERSION) {
		cJSON_Delete(c);
		return error_set(err, EINVAL,
				 "config version is from the future -- you should upgrade your Docker Machine client ('%s' has version %ld)",
				 path, version);
	}
	if (version < CONFIG_VERSION) {
		cJSON_Delete(c);
		return error_set(err, ENOTSUP,
				 "config version %ld of '%s' is not supported: run any docker-machine 0.16 command on it once to migrate it to version 3",
				 version, path);
	}
	char old_root[PATH_MAX];
	recorded_root(c, m->name, old_root, sizeof(old_root));
	if (*old_root && strcmp(old_root, m->root))
		rebase_paths(c, old_root, m->root);
	*out = c;
	return 0;
}

cJSON *machine_config_locked(struct machine *m)
{
	char err[ERR_MAX];
	/* A removed machine's folder may be a new machine's. */
	if (!m->config && m->recorded && !m->removed && config_read(m, &m->config, err))
		m->config = NULL;
	return m->config;
}

void machine_config_unload_locked(struct machine *m)
{
	/* What it holds beyond base and priv is on disk as it was. */
	if (m->recorded && !m->busy) {
		cJSON_Delete(m->config);
		m->config = NULL;
	}
}

int config_load(struct machine *m, char *err)
{
	cJSON *c;
	int rc = config_read(m, &c, err);
	if (rc)
		return rc;
	snprintf(m->driver_name, sizeof(m->driver_name), "%s",
		 json_str(c, "DriverName", ""));
	const cJSON *d = json_obj(c, "Driver");
	machine_thaw_locked(m);
	get_base(d, m->base);
	cJSON_Delete(m->config);
	m->config = c;
	m->recorded = true;
	machine_bind_driver(m);
	if (d) {
		struct driver_ctx ctx;
		machine_driver_ctx(m, &ctx);
		rc = machine_drv_load(m, &ctx, d);
		if (rc)
			return error_set(err, rc, "%s", ctx.err);
	}
	if (!m->driver)
		return error_set(err, ENOTSUP, "driver '%s' is not compiled into machinefs",
				 m->driver_name);
	return 0;
}

int config_save(struct machine *m, char *err)
{
	if (m->removed) /* its folder may be a new machine's */
		return error_set(err, ENOENT, "machine '%s' was removed", m->name);
	if (!machine_config_locked(m))
		return m->recorded ? error_set(err, EIO, "cannot read the record of '%s'", m->name)
				   : 0;
	config_sync_driver(m);
	machine_secrets_update_locked(m);
	struct strbuf sb = STRBUF_INIT;
	json_emit_go(&sb, m->config);
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/config.json", m->dir);
	int rc = write_file_atomic(path, sb.buf, sb.len, 0600, err);
	strbuf_release(&sb);
	m->recorded = true;
	machine_config_unload_locked(m);
	return rc ? rc : store_be_saved(m, err);
}

void config_render_masked(struct machine *m, struct strbuf *sb)
{
	if (!machine_config_locked(m))
		return;
	cJSON *copy = cJSON_Duplicate(m->config, 1);
	machine_config_unload_locked(m);
	cJSON *d = json_obj(copy, "Driver");
	for (const struct driver_option *o = m->driver ? m->driver->options : NULL;
	     o && o->name; o++) {
		if (!(o->flags & OPT_SECRET) || !o->json_key)
			continue;
		const char *leaf;
		cJSON *parent = json_path_parent(d, o->json_key, &leaf);
		const char *v = json_str(parent, leaf, "");
		if (*v)
			json_put_str(parent, leaf, "****");
	}
	struct strbuf text = STRBUF_INIT;
	json_emit_go(&text, copy);
	strbuf_addch(&text, '\n');
	cJSON_Delete(copy);
	machine_mask(m, &text);
	strbuf_addstr(sb, strbuf_str(&text));
	strbuf_release(&text);
}

int record_load(struct machine *m, char *err)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/machinefs.json", m->dir);
	struct strbuf sb = STRBUF_INIT;
	if (!path_exists(path))
		return 0;
	int rc = read_file(path, &sb, err);
	if (rc)
		return rc;
	cJSON *r = cJSON_Parse(sb.buf);
	strbuf_release(&sb);
	if (!cJSON_IsObject(r)) {
		cJSON_Delete(r);
		return error_set(err, EINVAL, "cannot parse '%s': not valid JSON", path);
	}
	if (!*m->driver_name)
		snprintf(m->driver_name, sizeof(m->driver_name), "%s",
			 json_str(r, "Driver", ""));
	const cJSON *o = json_obj(r, "Options");
	for (const cJSON *it = o ? o->child : NULL; it; it = it->next)
		if (cJSON_IsString(it))
			option_set_put(&m->opts, it->string, it->valuestring);
	snprintf(m->error, sizeof(m->error), "%s", json_str(r, "Error", ""));
	snprintf(m->docker_version, sizeof(m->docker_version), "%s",
		 json_str(r, "DockerVersion", ""));
	const char *state = json_str(r, "State", "None");
	for (int s = MS_NONE; s <= MS_TIMEOUT; s++)
		if (!strcmp(state, machine_state_name((enum machine_state)s)))
			m->state = (enum machine_state)s;
	m->created = json_bool(r, "Created", false);
	m->host_made = json_bool(r, "HostMade", m->created);
	const char *busy = json_str(r, "Busy", "");
	if (*busy) {
		/* The daemon died while a command ran. */
		m->state = MS_ERROR;
		snprintf(m->error, sizeof(m->error),
			 "'%s' was interrupted: machinefs stopped while it ran", busy);
	}
	cJSON_Delete(r);
	return 0;
}

int record_save(struct machine *m, char *err)
{
	if (m->removed) /* its folder may be a new machine's */
		return error_set(err, ENOENT, "machine '%s' was removed", m->name);
	machine_secrets_update_locked(m);
	cJSON *r = cJSON_CreateObject();
	json_put_str(r, "Driver", m->driver_name);
	cJSON *o = cJSON_CreateObject();
	for (size_t i = 0; i < m->opts.names.n; i++)
		json_put_str(o, m->opts.names.v[i], m->opts.values.v[i]);
	json_put(r, "Options", o);
	json_put_str(r, "State", machine_state_name(m->state));
	json_put_str(r, "Error", m->error);
	json_put_bool(r, "Created", m->created);
	json_put_bool(r, "HostMade", m->host_made);
	json_put_str(r, "Busy", m->busy ? m->busy : "");
	json_put_str(r, "DockerVersion", m->docker_version);
	struct strbuf sb = STRBUF_INIT;
	json_emit_go(&sb, r);
	strbuf_addch(&sb, '\n');
	cJSON_Delete(r);
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/machinefs.json", m->dir);
	/* Options may hold secrets. */
	int rc = write_file_atomic(path, sb.buf, sb.len, 0600, err);
	strbuf_release(&sb);
	return rc ? rc : store_be_saved(m, err);
}
