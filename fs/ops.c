/* Commands on a machine: ctl's table, create, start/stop/..., rm.
 *
 * Locking (Plan 9 devip's connect): take m->lock, refuse a second command
 * with EBUSY, mark the machine busy, drop the lock while the slow driver
 * call runs on copies of base and priv, then publish the result and the
 * error under the lock again. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs/config.h"
#include "fs/engine.h"
#include "fs/ops.h"
#include "fs/progress.h"
#include "fs/reporting.h"
#include "fs/provisioning.h"
#include "fs/store_backend.h"
#include "fs/store_internal.h"
#include "lib/fileutil.h"
#include "lib/url.h"
#include "provision/certs.h"
#include "provision/provision.h"

/* A driver call on private copies; published back on success. */
struct call {
	struct machine *m;
	struct driver_ctx ctx;
	struct base_driver base;
	void *priv;
};

static int call_checkpoint(void *arg, struct driver_ctx *ctx);

/* driver_say(): "(NAME) LINE" in the current step, as Docker Machine
 * relays its driver plugins' lines. */
static void driver_said(void *arg, const char *line)
{
	struct machine *m = arg;
	char id[64];
	snprintf(id, sizeof(id), "%s", progress_current_step());
	progress_step(m, *id ? id : "driver", "(%s) %s", m->name, line);
}

static void call_begin(struct call *c, struct machine *m)
{
	pthread_mutex_lock(&m->lock);
	c->m = m;
	machine_driver_ctx(m, &c->ctx);
	machine_thaw_locked(m);
	c->base = *m->base;
	size_t sz = m->driver ? m->driver->priv_size : 0;
	c->priv = calloc(1, sz ? sz : 1);
	if (!c->priv)
		abort();
	if (sz && m->priv)
		memcpy(c->priv, m->priv, sz);
	pthread_mutex_unlock(&m->lock);
	c->ctx.base = &c->base;
	c->ctx.priv = c->priv;
	c->ctx.checkpoint_fn = call_checkpoint;
	c->ctx.checkpoint_arg = c;
	c->ctx.say_fn = driver_said;
	c->ctx.say_arg = m;
}

static void call_publish(struct call *c)
{
	struct machine *m = c->m;
	pthread_mutex_lock(&m->lock);
	machine_thaw_locked(m);
	*m->base = c->base;
	if (m->driver && m->priv && m->driver->priv_size)
		memcpy(m->priv, c->priv, m->driver->priv_size);
	pthread_mutex_unlock(&m->lock);
	machine_changed(m, MCHG_FILES);
}

/* driver_checkpoint(): publish the copies and write config.json now. */
static int call_checkpoint(void *arg, struct driver_ctx *ctx)
{
	struct call *c = arg;
	struct machine *m = c->m;
	call_publish(c);
	pthread_mutex_lock(&m->lock);
	if (!machine_config_locked(m))
		m->config = config_new(m);
	int rc = config_save(m, ctx->err);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static void call_end(struct call *c)
{
	free(c->priv);
	c->priv = NULL;
}

/* A lifecycle method of m's driver on private copies of base and priv
 * (fs/core.h's wrapper logs it, checks it exists and may inject a
 * fault); the copies are published on success when publish is set. */
static int driver_call(struct machine *m, const char *what, bool publish, char *err)
{
	struct call c;
	call_begin(&c, m);
	int rc = machine_drv_call(m, &c.ctx, what);
	if (rc)
		error_set(err, rc, "%s", c.ctx.err);
	else if (publish)
		call_publish(&c);
	call_end(&c);
	return rc;
}

/* Options must belong to the chosen driver or be shared host options. */
static int check_options(struct machine *m, char *err)
{
	for (size_t i = 0; i < m->opts.names.n; i++) {
		const char *name = m->opts.names.v[i];
		if (host_option_find(name) || driver_option_find(m->driver, name))
			continue;
		return error_set(err, EINVAL, "unknown option '%s' for driver '%s'",
				 name, m->driver->name);
	}
	for (const struct driver_option *o = m->driver->options; o && o->name; o++) {
		const char *v = option_set_get(&m->opts, o->name);
		if ((o->flags & OPT_REQUIRED) && (!v || !*v) && !o->def &&
		    !machine_drv_has(m, "configure"))
			return error_set(err, EINVAL, "option '%s' is required by driver '%s'",
					 o->name, m->driver->name);
	}
	return 0;
}

static int copy_client_certs(struct machine *m, char *err)
{
	int rc = machine_fault(m, "copy-client-certs", err);
	if (rc)
		return rc;
	static const struct { const char *src, *dst; mode_t mode; } files[] = {
		{ "ca.pem", "ca.pem", 0644 },
		{ "cert.pem", "cert.pem", 0644 },
		{ "key.pem", "key.pem", 0600 },
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char src[PATH_MAX + 32], dst[PATH_MAX + 32];
		snprintf(src, sizeof(src), "%s/certs/%s", m->root, files[i].src);
		snprintf(dst, sizeof(dst), "%s/%s", m->dir, files[i].dst);
		rc = copy_file(src, dst, files[i].mode, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* Docker Machine's BootstrapCertificates lines, for what was made. */
static int bootstrap_certs(struct machine *m, char *err)
{
	char certdir[PATH_MAX + 16];
	snprintf(certdir, sizeof(certdir), "%s/certs", m->root);
	unsigned made = 0;
	int rc = machine_fault(m, "bootstrap-certs", err);
	if (!rc)
		rc = certs_bootstrap_detail(certdir, certs_user_org(), &made, err);
	if (made & CERTS_CA_EXPIRED)
		progress_step(m, "certs", "CA certificate is outdated and needs to be regenerated");
	if (made & CERTS_MADE_CA)
		progress_step(m, "certs", "Creating CA: %s/ca.pem", certdir);
	if (made & CERTS_CLIENT_EXPIRED)
		progress_step(m, "certs", "Client certificate is outdated and needs to be regenerated");
	if (made & CERTS_MADE_CLIENT)
		progress_step(m, "certs", "Creating client certificate: %s/cert.pem", certdir);
	return rc;
}

static int op_create(struct machine *m, char *err)
{
	int rc;
	machine_log(m, "create with driver '%s'", m->driver->name);
	progress_step(m, "config", "%s", "");
	pthread_mutex_lock(&m->lock);
	rc = check_options(m, err);
	pthread_mutex_unlock(&m->lock);
	if (rc)
		return rc;
	/* SetConfigFromFlags, then BootstrapCertificates (Docker Machine's
	 * order: a create refused for its flags makes no CA). */
	rc = driver_call(m, "configure", true, err);
	if (rc)
		return rc;
	progress_step(m, "certs", "%s", "");
	rc = bootstrap_certs(m, err);
	if (rc)
		return rc;
	progress_step(m, "precreate", "Running pre-create checks...");
	if (machine_drv_has(m, "precreate_check")) {
		rc = driver_call(m, "precreate_check", true, err);
		if (rc)
			return rc;
	}
	/* Docker Machine saves the record before the driver's create. */
	progress_step(m, "save", "%s", "");
	pthread_mutex_lock(&m->lock);
	if (!machine_config_locked(m))
		m->config = config_new(m);
	else /* a retry: the options as they are now, not as the failed try saw them */
		cJSON_ReplaceItemInObjectCaseSensitive(m->config, "HostOptions",
							 host_options_new(&m->opts, m->root, m->dir));
	rc = config_save(m, err);
	pthread_mutex_unlock(&m->lock);
	if (rc)
		return rc;
	progress_step(m, "create", "Creating machine...");
	rc = driver_call(m, "create", true, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&m->lock);
	m->host_made = true;
	rc = config_save(m, err);
	if (!rc)
		rc = record_save(m, err);
	pthread_mutex_unlock(&m->lock);
	if (rc)
		return rc;
	progress_step(m, "copy-certs", "%s", "");
	rc = copy_client_certs(m, err);
	if (rc)
		return rc;
	if (!(m->driver->supports & DRV_SSH))
		return 0; /* Docker Machine skips the rest for "none" */
	/* The driver's create returns with the host up: Docker Machine's
	 * wait for Running has nothing left to wait for. */
	progress_step(m, "wait-running", "Waiting for machine to be running, this may take a few minutes...");
	progress_step(m, "detect-os", "Detecting operating system of created instance...");
	rc = machine_provision(m, PROVISION_CREATE, err);
	if (rc)
		return rc;
	/* Provisioning ended with the engine answering over TLS with the
	 * client certificate (engine-wait): Docker Machine's check. */
	progress_step(m, "check", "Checking connection to Docker...");
	progress_step(m, "up", "Docker is up and running!");
	return 0;
}

/* The engine's version over TLS with the machine's client files. */
static int check_engine(struct machine *m, const char *url, char *version, size_t len,
			enum engine_reach *reach, char *err)
{
	char host[256];
	int port;
	if (url_split(url, host, sizeof(host), &port, NULL, 0) || port <= 0)
		return error_set(err, EINVAL, "no host and port in url '%s'", url);
	char ca[PATH_MAX + 16], cert[PATH_MAX + 16], key[PATH_MAX + 16];
	snprintf(ca, sizeof(ca), "%s/ca.pem", m->dir);
	snprintf(cert, sizeof(cert), "%s/cert.pem", m->dir);
	snprintf(key, sizeof(key), "%s/key.pem", m->dir);
	int rc = engine_probe(host, port, ca, cert, key, 3000, false, version, len, reach, err);
	if (rc)
		version[0] = '\0';
	return rc;
}

/* After start/restart of a host we provisioned: wait until its engine
 * answers over TLS again (Docker Machine waits for the port). */
static int wait_engine(struct machine *m, int seconds, char *err)
{
	char url[1024] = "", version[64];
	pthread_mutex_lock(&m->lock);
	struct driver_ctx ctx;
	machine_driver_ctx(m, &ctx);
	machine_drv_url(m, &ctx, url, sizeof(url));
	pthread_mutex_unlock(&m->lock);
	if (!*url)
		return 0;
	machine_log(m, "Waiting for the Docker engine at '%s'...", url);
	time_t deadline = time(NULL) + seconds;
	int rc;
	while ((rc = check_engine(m, url, version, sizeof(version), NULL, err)) != 0) {
		if (m->cancel)
			return error_set(err, EINTR, "waiting for the engine was cancelled");
		if (time(NULL) >= deadline) {
			char why[ERR_MAX];
			snprintf(why, sizeof(why), "%s", err);
			return error_set(err, ETIMEDOUT, "the engine at '%s' did not answer within %d s: %s",
					 url, seconds, why);
		}
		sleep(1);
	}
	pthread_mutex_lock(&m->lock);
	snprintf(m->docker_version, sizeof(m->docker_version), "%s", version);
	pthread_mutex_unlock(&m->lock);
	machine_changed(m, MCHG_FILES);
	return 0;
}



/* A lifecycle command. done: Docker Machine's line once the driver did
 * it ("Machine \"x\" was started."), or NULL. A host with SSH that comes
 * up again is waited for as Docker Machine's WaitForDocker does, with its
 * lines (it detects the provisioner over SSH; machinefs waits until the
 * engine answers over TLS). */
static int op_simple(struct machine *m, const char *what,
		     enum machine_state after, const char *done, char *err)
{
	int rc = driver_call(m, what, true, err);
	if (!rc && done)
		progress_step(m, what, "%s", done);
	if (!rc && after == MS_RUNNING && (m->driver->supports & DRV_SSH)) {
		progress_step(m, "wait-ssh", "Waiting for SSH to be available...");
		progress_step(m, "wait-docker", "Detecting the provisioner...");
		rc = wait_engine(m, 120, err);
	}
	if (!rc) {
		pthread_mutex_lock(&m->lock);
		m->state = after;
		config_save(m, NULL);
		pthread_mutex_unlock(&m->lock);
		machine_changed(m, MCHG_FILES);
	}
	return rc;
}

static int op_start(struct machine *m, char *err)
{
	if (m->state == MS_RUNNING)
		return error_set(err, EALREADY, "Machine \"%s\" is already running.", m->name);
	char done[MACHINE_NAME_MAX + 32];
	snprintf(done, sizeof(done), "Machine \"%s\" was started.", m->name);
	return op_simple(m, "start", MS_RUNNING, done, err);
}

static int op_stop(struct machine *m, char *err)
{
	if (m->state == MS_STOPPED)
		return error_set(err, EALREADY, "Machine \"%s\" is already stopped.", m->name);
	char done[MACHINE_NAME_MAX + 32];
	snprintf(done, sizeof(done), "Machine \"%s\" was stopped.", m->name);
	return op_simple(m, "stop", MS_STOPPED, done, err);
}

static int op_restart(struct machine *m, char *err)
{
	return op_simple(m, "restart", MS_RUNNING, NULL, err);
}

static int op_kill(struct machine *m, char *err)
{
	char done[MACHINE_NAME_MAX + 32];
	snprintf(done, sizeof(done), "Machine \"%s\" was killed.", m->name);
	return op_simple(m, "kill", MS_STOPPED, done, err);
}

static int op_provision(struct machine *m, char *err)
{
	return machine_provision(m, PROVISION_FULL, err);
}

static int op_regenerate(struct machine *m, char *err)
{
	return machine_provision(m, PROVISION_CERTS, err);
}

static int op_upgrade(struct machine *m, char *err)
{
	return machine_provision(m, PROVISION_UPGRADE, err);
}

/* Remove the host through the driver, then the record. */
static int do_remove(struct machine *m, bool force, char *err)
{
	int rc = 0;
	if (m->created || m->recorded) {
		if (machine_drv_has(m, "remove"))
			rc = driver_call(m, "remove", false, err);
		else if (!m->driver)
			rc = error_set(err, ENOTSUP, "driver '%s' is not compiled into machinefs",
				       m->driver_name);
		if (rc && !force)
			return rc;
		if (rc)
			machine_log(m, "removing the record anyway (rm-force): %s", err);
	}
	char e2[ERR_MAX];
	rc = store_be_removed(m, e2);
	if (rc)
		return error_set(err, rc, "%s", e2);
	rc = remove_tree(m->dir, e2);
	if (rc)
		return error_set(err, rc, "%s", e2);
	pthread_mutex_lock(&m->lock);
	__atomic_store_n(&m->removed, true, __ATOMIC_RELEASE); /* machine_log reads it unlocked */
	pthread_mutex_unlock(&m->lock);
	store_forget(m->store, m);
	return 0;
}

static int op_rm(struct machine *m, char *err)
{
	return do_remove(m, false, err);
}

static int op_rm_force(struct machine *m, char *err)
{
	return do_remove(m, true, err);
}

/* Preconditions. */
#define NEED_DRIVER  0x01u /* a known driver is chosen */
#define NEED_CREATED 0x02u /* create finished */
#define NEED_HOST    0x08u /* the host exists (create may have stopped in provisioning) */
#define NEED_UNMADE  0x04u /* not created yet (None or a failed create) */

struct ctl_cmd {
	const char *name;
	int (*fn)(struct machine *m, char *err);
	unsigned need;
	unsigned supports; /* driver capability needed, 0: none */
	enum machine_state during; /* state shown while it runs */
	bool engine; /* touches the engine: probe it when done */
};

/* The probe at the end of a command that touched the engine: bounded, so
 * an engine that does not answer costs a command this much at most. */
#define AFTER_PROBE_MS 3000

static const struct ctl_cmd ctl_cmds[] = {
	{ "create", op_create, NEED_DRIVER | NEED_UNMADE, 0, MS_STARTING, true },
	{ "start", op_start, NEED_DRIVER | NEED_CREATED, DRV_START, MS_STARTING, true },
	{ "stop", op_stop, NEED_DRIVER | NEED_CREATED, DRV_STOP, MS_STOPPING, false },
	{ "restart", op_restart, NEED_DRIVER | NEED_CREATED, DRV_RESTART, MS_STARTING, true },
	{ "kill", op_kill, NEED_DRIVER | NEED_CREATED, DRV_KILL, MS_STOPPING, false },
	{ "upgrade", op_upgrade, NEED_DRIVER | NEED_CREATED, DRV_SSH, MS_NONE, true },
	{ "provision", op_provision, NEED_DRIVER | NEED_HOST, DRV_SSH, MS_NONE, true },
	{ "regenerate-certs", op_regenerate, NEED_DRIVER | NEED_CREATED, DRV_SSH, MS_NONE, true },
	{ "rm", op_rm, 0, 0, MS_NONE, false },
	{ "rm-force", op_rm_force, 0, 0, MS_NONE, false },
};

static const struct ctl_cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		if (!strcmp(ctl_cmds[i].name, name))
			return &ctl_cmds[i];
	return NULL;
}

const char *const *ctl_command_names(size_t *n)
{
	static const char *names[sizeof(ctl_cmds) / sizeof(ctl_cmds[0])];
	for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		names[i] = ctl_cmds[i].name;
	*n = sizeof(ctl_cmds) / sizeof(ctl_cmds[0]);
	return names;
}

bool ctl_command_allowed(const struct machine *m, const char *name)
{
	for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++) {
		const struct ctl_cmd *c = &ctl_cmds[i];
		if (strcmp(c->name, name))
			continue;
		if ((c->need & NEED_DRIVER) && !m->driver)
			return false;
		if (c->supports && (!m->driver || !(m->driver->supports & c->supports)))
			return false;
		if ((c->need & NEED_CREATED) && !m->created)
			return false;
		if ((c->need & NEED_HOST) && !m->created && !m->host_made)
			return false;
		if ((c->need & NEED_UNMADE) && m->created)
			return false;
		return true;
	}
	return false;
}

int ctl_parse(const char *text, size_t len, char *word, size_t wlen, char *err)
{
	if (len > 4096)
		return error_set(err, EINVAL, "command too long (%zu bytes): write one command", len);
	if (memchr(text, '\0', len))
		return error_set(err, EINVAL, "command contains a NUL byte");
	const char *p = text, *end = text + len;
	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	if (p == end)
		return error_set(err, EINVAL, "empty command: write one of create start stop restart kill upgrade provision regenerate-certs rm rm-force");
	for (const char *q = p; q < end; q++)
		if (isspace((unsigned char)*q))
			return error_set(err, EINVAL, "one command a write, without arguments: '%.*s'",
					 (int)((end - p) > 64 ? 64 : (end - p)), p);
	if ((size_t)(end - p) >= wlen)
		return error_set(err, EINVAL, "unknown command '%.*s...'",
				 (int)((end - p) > 32 ? 32 : (end - p)), p);
	memcpy(word, p, (size_t)(end - p));
	word[end - p] = '\0';
	for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		if (!strcmp(ctl_cmds[i].name, word))
			return (int)i;
	return error_set(err, EINVAL, "unknown command '%s': want one of create start stop restart kill upgrade provision regenerate-certs rm rm-force", word);
}

/* Check preconditions and mark busy; under m->lock. */
static int begin_locked(struct machine *m, const struct ctl_cmd *c, char *err)
{
	if (m->removed)
		return error_set(err, ENOENT, "machine '%s' was removed", m->name);
	if (m->busy)
		return error_set(err, EBUSY, "machine '%s' is busy: '%s' is running", m->name, m->busy);
	if ((c->need & NEED_DRIVER) && !*m->driver_name)
		return error_set(err, EINVAL, "machine '%s' has no driver: write one to 'driver' (see .drivers/)", m->name);
	if ((c->need & NEED_DRIVER) && !m->driver)
		return error_set(err, ENOTSUP, "driver '%s' is not compiled into machinefs", m->driver_name);
	if ((c->need & NEED_UNMADE) && m->created)
		return error_set(err, EEXIST, "machine '%s' is already created", m->name);
	if ((c->need & NEED_CREATED) && !m->created)
		return error_set(err, EINVAL, "machine '%s' is not created yet: write a driver to 'driver' first", m->name);
	if ((c->need & NEED_HOST) && !m->created && !m->host_made)
		return error_set(err, EINVAL, "machine '%s' has no host yet: 'create' it first", m->name);
	if (c->supports && !(m->driver->supports & c->supports)) {
		if (c->supports == DRV_SSH)
			return error_set(err, ENOTSUP, "driver '%s' does not support '%s': it has no SSH access", m->driver->name, c->name);
		return machine_drv_unsupported(m, c->name, err);
	}
	m->busy = c->name;
	m->busy_since = time(NULL);
	m->cancel = 0;
	m->gen++;
	if (c->during != MS_NONE)
		m->state = c->during;
	record_save(m, NULL);
	return 0;
}

static void finish(struct machine *m, const struct ctl_cmd *c, int rc, const char *err)
{
	pthread_mutex_lock(&m->lock);
	m->busy = NULL;
	m->cancel = 0; /* it was for this command; the state checks go on */
	m->gen++;
	m->changed = time(NULL);
	if (!m->removed) {
		if (rc) {
			snprintf(m->error, sizeof(m->error), "%s", err);
			/* Refused before anything changed: the state stands. */
			bool refused = rc == -EALREADY || rc == -ENOTSUP;
			if (!strcmp(c->name, "create") || !refused)
				m->state = MS_ERROR;
		} else {
			m->error[0] = '\0';
			/* A provision that finishes an interrupted create makes it whole. */
			if (!strcmp(c->name, "create") || !m->created) {
				m->created = true;
				m->state = MS_RUNNING;
			}
		}
		/* A state the command left unknown is checked again. */
		if (!rc && (m->state == MS_STARTING || m->state == MS_STOPPING))
			m->state = c->during == MS_STARTING ? MS_RUNNING : MS_STOPPED;
		record_save(m, NULL);
	}
	machine_config_unload_locked(m); /* read again when next needed */
	machine_freeze_locked(m);
	bool gone = m->removed;
	pthread_mutex_unlock(&m->lock);
	machine_changed(m, MCHG_FILES | (gone ? MCHG_GONE : 0));
}

static int run_cmd(struct machine *m, const struct ctl_cmd *c, char *err)
{
	/* Across daemons sharing the store first (no-op for a folder). */
	int rc = store_be_lock(m, c->name, err);
	if (rc) {
		/* The holder is another daemon: say who in error. */
		pthread_mutex_lock(&m->lock);
		if (!m->removed)
			snprintf(m->error, sizeof(m->error), "%s", err);
		pthread_mutex_unlock(&m->lock);
		machine_log(m, "command '%s' refused: %s", c->name, err);
		machine_changed(m, MCHG_FILES);
		return rc;
	}
	pthread_mutex_lock(&m->lock);
	rc = begin_locked(m, c, err);
	if (rc) {
		store_be_unlock(m);
		bool noted = rc != -EBUSY && !m->removed;
		if (noted)
			snprintf(m->error, sizeof(m->error), "%s", err);
		pthread_mutex_unlock(&m->lock);
		if (noted) {
			machine_changed(m, MCHG_FILES);
			progress_refused(m, c->name, err);
		}
		return rc;
	}
	pthread_mutex_unlock(&m->lock);
	progress_begin(m, c->name);
	off_t mark = reporting_log_mark(m);
	machine_changed(m, MCHG_FILES);
	machine_log(m, "command '%s'", c->name);
	rc = c->fn(m, err);
	/* Docker Machine asks the engine when asked: the answer is there
	 * before the command returns (version, ls, docker-version). */
	if (!rc && c->engine)
		machine_probe_engine(m, false, AFTER_PROBE_MS, NULL);
	machine_log(m, "command '%s' %s%s%s", c->name, rc ? "failed: " : "done",
		    rc ? err : "", "");
	finish(m, c, rc, err);
	store_be_unlock(m);
	progress_end(m, c->name, rc, err);
	reporting_command_done(m, c->name, rc, err, mark);
	return rc;
}

int machine_command(struct machine *m, const char *cmdline, char *err)
{
	char word[64];
	int i = ctl_parse(cmdline, strlen(cmdline), word, sizeof(word), err);
	if (i < 0) {
		pthread_mutex_lock(&m->lock);
		bool say = !m->removed;
		if (say)
			snprintf(m->error, sizeof(m->error), "%s", err);
		pthread_mutex_unlock(&m->lock);
		machine_changed(m, MCHG_FILES);
		if (say)
			progress_refused(m, "unknown", err);
		return i;
	}
	return run_cmd(m, &ctl_cmds[i], err);
}

int machine_set_driver(struct machine *m, const char *text, char *err)
{
	char name[64];
	size_t len = strlen(text);
	while (len && isspace((unsigned char)text[len - 1]))
		len--;
	while (len && isspace((unsigned char)*text)) {
		text++;
		len--;
	}
	int rc = 0;
	pthread_mutex_lock(&m->lock);
	if (!len)
		rc = error_set(err, EINVAL, "empty driver name: write one of the names in .drivers/");
	else if (len >= sizeof(name))
		rc = error_set(err, EINVAL, "unknown driver '%.32s...'", text);
	if (!rc) {
		memcpy(name, text, len);
		name[len] = '\0';
		if (!driver_find(name))
			rc = error_set(err, EINVAL, "unknown driver '%s': see .drivers/ for the drivers machinefs has", name);
	}
	if (!rc && m->busy)
		rc = error_set(err, EBUSY, "machine '%s' is busy: '%s' is running", m->name, m->busy);
	if (!rc && m->created)
		rc = error_set(err, EEXIST, "machine '%s' is already created with driver '%s'",
			       m->name, m->driver_name);
	if (!rc && m->recorded && strcmp(m->driver_name, name)) {
		/* A failed create of another driver: start the record afresh. */
		cJSON_Delete(m->config);
		m->config = NULL;
		m->recorded = false;
		m->host_made = false;
		char path[PATH_MAX + 16];
		snprintf(path, sizeof(path), "%s/config.json", m->dir);
		unlink(path);
	}
	if (!rc) {
		snprintf(m->driver_name, sizeof(m->driver_name), "%s", name);
		machine_bind_driver(m);
		machine_thaw_locked(m);
		memset(m->base, 0, sizeof(*m->base));
		record_save(m, NULL);
	} else if (rc != -EBUSY) {
		snprintf(m->error, sizeof(m->error), "%s", err);
	}
	pthread_mutex_unlock(&m->lock);
	if (rc != -EBUSY)
		machine_changed(m, MCHG_FILES);
	if (rc && rc != -EBUSY)
		progress_refused(m, "create", err);
	if (rc)
		return rc;
	return run_cmd(m, find_cmd("create"), err);
}

int store_remove(struct store *s, struct machine *m, bool force, char *err)
{
	(void)s;
	return run_cmd(m, find_cmd(force ? "rm-force" : "rm"), err);
}

void machine_refresh_state(struct machine *m, volatile int *cancel)
{
	pthread_mutex_lock(&m->lock);
	bool idle = !m->busy && m->created && m->driver && m->driver->state && !m->removed;
	unsigned gen = m->gen;
	pthread_mutex_unlock(&m->lock);
	if (!idle)
		return;
	struct call c;
	call_begin(&c, m);
	/* Not the machine's flag: that one belongs to its commands. */
	c.ctx.cancel = cancel;
	enum machine_state st = MS_NONE;
	int rc = machine_drv_state(m, &c.ctx, &st);
	char url[1024] = "", version[64] = "", e[ERR_MAX] = "";
	enum engine_reach reach = ENGINE_NOT_TRIED;
	int erc = -EHOSTDOWN;
	bool stop = cancel && __atomic_load_n(cancel, __ATOMIC_RELAXED);
	if (!stop && !rc && st == MS_RUNNING &&
	    machine_drv_url(m, &c.ctx, url, sizeof(url)) == 0)
		erc = check_engine(m, url, version, sizeof(version), &reach, e);
	call_end(&c);
	if (cancel && __atomic_load_n(cancel, __ATOMIC_RELAXED))
		return; /* unmount: what the check saw is not the machine's state */
	bool changed_any = false;
	pthread_mutex_lock(&m->lock);
	if (m->gen == gen && !m->busy) {
		m->refreshed = time(NULL);
		if (rc)
			st = MS_ERROR;
		bool changed = st != m->state || strcmp(version, m->docker_version);
		changed_any = changed;
		engine_record_locked(m, url, false, erc, reach, version, e);
		if (st != m->state)
			machine_log(m, "state %s -> %s%s%s", machine_state_name(m->state),
				    machine_state_name(st), rc ? ": " : "", rc ? c.ctx.err : "");
		if (changed) {
			m->state = st;
			snprintf(m->docker_version, sizeof(m->docker_version), "%s", version);
			m->changed = time(NULL);
			record_save(m, NULL);
		}
	}
	machine_freeze_locked(m);
	pthread_mutex_unlock(&m->lock);
	if (changed_any)
		reporting_machine_changed(m);
	if (changed_any)
		machine_changed(m, MCHG_FILES);
}
