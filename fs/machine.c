/* The room at the base of the core: the machine object (made, bound to
 * its driver, logged to, freed) and the wrappers every call into a driver
 * goes through, with the fault-injection test hook. See fs/core.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs/config.h"
#include "fs/core.h"
#include "lib/json.h"
#include "lib/mask.h"

bool machine_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (!n || n > MACHINE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '-')))
			return false;
	}
	return true;
}

struct machine *machine_new(struct store *s, const char *root, struct store_watch *watch,
			    const char *name)
{
	/* name and dir live after the struct: no fixed path buffers. */
	size_t nl = strlen(name) + 1, dl = strlen(root) + strlen("/machines/") + nl;
	struct machine *m = calloc(1, sizeof(*m) + nl + dl);
	if (!m)
		abort();
	char *p = m->strs;
	memcpy(p, name, nl);
	m->name = p;
	snprintf(p + nl, dl, "%s/machines/%s", root, name);
	m->dir = p + nl;
	m->store = s;
	m->root = root;
	m->watch = watch;
	m->refs = 1;
	m->changed = time(NULL);
	m->base = calloc(1, sizeof(*m->base));
	if (!m->base)
		abort();
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->secrets_lock, NULL);
	return m;
}

/* How many zero bytes from p[i] on (at most max), a word at a time. */
static size_t zeros_at(const unsigned char *p, size_t i, size_t max)
{
	size_t j = 0;
	uint64_t w;
	while (j + 8 <= max && (memcpy(&w, p + i + j, 8), !w))
		j += 8;
	while (j < max && !p[i + j])
		j++;
	return j;
}

/* Zero runs of 8 bytes or more become a 4-byte header: [zeros u16]
 * [literal length u16] literal. Returns the packed size; out NULL: only
 * measure. */
static size_t pack(const unsigned char *p, size_t n, unsigned char *out)
{
	size_t i = 0, o = 0;
	while (i < n) {
		size_t z = zeros_at(p, i, n - i < 0xffff ? n - i : 0xffff);
		i += z;
		size_t start = i, l = 0;
		while (i < n && l < 0xffff) {
			if (p[i]) {
				i++;
				l++;
				continue;
			}
			size_t k = zeros_at(p, i, n - i < 8 ? n - i : 8);
			if (k == 8 || i + k == n || l + k > 0xffff)
				break;
			i += k;
			l += k;
		}
		if (out) {
			out[o] = (unsigned char)(z & 0xff);
			out[o + 1] = (unsigned char)(z >> 8);
			out[o + 2] = (unsigned char)(l & 0xff);
			out[o + 3] = (unsigned char)(l >> 8);
			memcpy(out + o + 4, p + start, l);
		}
		o += 4 + l;
	}
	return o;
}

static void unpack(const unsigned char *in, size_t len, unsigned char *p, size_t n)
{
	size_t i = 0;
	memset(p, 0, n);
	for (size_t o = 0; o + 4 <= len;) {
		size_t z = in[o] | (size_t)in[o + 1] << 8, l = in[o + 2] | (size_t)in[o + 3] << 8;
		if (i + z + l > n || o + 4 + l > len)
			abort();
		i += z;
		memcpy(p + i, in + o + 4, l);
		i += l;
		o += 4 + l;
	}
}

void machine_url_locked(struct machine *m, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!m->created && !m->recorded)
		return;
	bool packed = !m->base;
	if (packed && m->url) {
		snprintf(buf, len, "%s", m->url);
		return;
	}
	struct driver_ctx ctx;
	machine_driver_ctx(m, &ctx);
	if (m->driver && m->driver->url)
		machine_drv_url(m, &ctx, buf, len);
	else if (*m->base->ip)
		snprintf(buf, len, "tcp://%s:2376", m->base->ip);
	if (packed) {
		/* Packed again at once, as it was: nothing changed base or
		 * priv since (a change unpacks them, which drops this). */
		machine_freeze_locked(m);
		if (!m->base) /* not if a command keeps them unpacked */
			m->url = strdup(buf);
	}
}

void machine_thaw_locked(struct machine *m)
{
	if (m->base)
		return;
	free(m->url); /* base or priv may change now */
	m->url = NULL;
	size_t bl = sizeof(*m->base), n = bl + m->priv_size;
	unsigned char *buf = malloc(n);
	m->base = malloc(bl);
	if (!buf || !m->base)
		abort();
	unpack(m->packed, m->packed_len, buf, n);
	memcpy(m->base, buf, bl);
	if (m->priv_size) {
		m->priv = malloc(m->priv_size);
		if (!m->priv)
			abort();
		memcpy(m->priv, buf + bl, m->priv_size);
	}
	free(buf);
	free(m->packed);
	m->packed = NULL;
	m->packed_len = 0;
}

void machine_freeze_locked(struct machine *m)
{
	if (!m->base || m->busy)
		return;
	size_t bl = sizeof(*m->base), n = bl + m->priv_size;
	unsigned char *buf = malloc(n);
	if (!buf)
		abort();
	memcpy(buf, m->base, bl);
	if (m->priv_size)
		memcpy(buf + bl, m->priv, m->priv_size);
	m->packed_len = pack(buf, n, NULL);
	m->packed = malloc(m->packed_len ? m->packed_len : 1);
	if (!m->packed)
		abort();
	pack(buf, n, m->packed);
	free(buf);
	free(m->base);
	free(m->priv);
	m->base = NULL;
	m->priv = NULL;
}

static void machine_free(struct machine *m)
{
	cJSON_Delete(m->config);
	free(m->base);
	free(m->packed);
	free(m->url);
	free(m->priv);
	option_set_clear(&m->opts);
	option_set_clear(&m->scratch);
	free(m->engine); /* plain data (fs/engine.c) */
	pthread_mutex_destroy(&m->lock);
	strlist_clear(&m->secrets);
	pthread_mutex_destroy(&m->secrets_lock);
	free(m);
}

void machine_put(struct machine *m)
{
	if (m && __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0)
		machine_free(m);
}

void machine_bind_driver(struct machine *m)
{
	const struct machine_driver *d = *m->driver_name ? driver_find(m->driver_name) : NULL;
	machine_thaw_locked(m);
	if (d == m->driver && (m->priv || !d))
		return;
	free(m->priv);
	m->priv = NULL;
	m->priv_size = 0;
	m->driver = d;
	if (d) {
		m->priv_size = d->priv_size ? d->priv_size : 1;
		m->priv = calloc(1, m->priv_size);
	}
}

static void log_to_machine(void *arg, const char *line)
{
	machine_log(arg, "%s", line);
}

void machine_driver_ctx(struct machine *m, struct driver_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	machine_thaw_locked(m);
	ctx->machine = m->name;
	ctx->store = m->root;
	ctx->dir = m->dir;
	ctx->base = m->base;
	ctx->priv = m->priv;
	ctx->opts = &m->opts;
	ctx->cancel = &m->cancel;
	ctx->log_fn = log_to_machine;
	ctx->log_arg = m;
}

void machine_log_path(const struct machine *m, char *buf, size_t len)
{
	snprintf(buf, len, "%s/machinefs.log", m->dir);
}

void machine_secrets_update_locked(struct machine *m)
{
	struct strlist s = STRLIST_INIT;

	for (size_t i = 0; i < m->opts.names.n; i++) {
		const struct driver_option *o = option_lookup(m->opts.names.v[i]);
		if (o && (o->flags & OPT_SECRET))
			mask_add(&s, m->opts.values.v[i]);
		mask_add_url_creds(&s, m->opts.values.v[i]);
	}
	if (!m->config && m->recorded) {
		/* The record is on disk, not in memory (read on demand): keep
		 * the values it gave when it was last read. */
		pthread_mutex_lock(&m->secrets_lock);
		for (size_t i = 0; i < m->secrets.n; i++)
			mask_add(&s, m->secrets.v[i]);
		pthread_mutex_unlock(&m->secrets_lock);
	}
	const cJSON *d = json_obj(m->config, "Driver");
	for (const struct driver_option *o = m->driver ? m->driver->options : NULL;
	     d && o && o->name; o++)
		if ((o->flags & OPT_SECRET) && o->json_key) {
			const char *leaf;
			const cJSON *parent = json_path_parent(d, o->json_key, &leaf);
			mask_add(&s, json_str(parent, leaf, ""));
		}
	const cJSON *eo = json_obj(json_obj(m->config, "HostOptions"), "EngineOptions");
	mask_add_url_creds(&s, json_str(eo, "InstallURL", ""));
	pthread_mutex_lock(&m->secrets_lock);
	strlist_clear(&m->secrets);
	m->secrets = s;
	pthread_mutex_unlock(&m->secrets_lock);
}

void machine_mask(struct machine *m, struct strbuf *sb)
{
	pthread_mutex_lock(&m->secrets_lock);
	mask_text(sb, &m->secrets);
	pthread_mutex_unlock(&m->secrets_lock);
}

void machine_log(struct machine *m, const char *fmt, ...)
{
	char path[PATH_MAX + 16];
	machine_log_path(m, path, sizeof(path));
	struct strbuf sb = STRBUF_INIT;
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char ts[32];
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ ", &tm);
	strbuf_addstr(&sb, ts);
	/* A removed machine's folder may be a new machine's of the same name. */
	if (__atomic_load_n(&m->removed, __ATOMIC_ACQUIRE)) {
		strbuf_release(&sb);
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (sb.buf[sb.len - 1] != '\n')
		strbuf_addch(&sb, '\n');
	/* No secret reaches the log file, whoever wrote the line. */
	machine_mask(m, &sb);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		ssize_t w = write(fd, sb.buf, sb.len);
		(void)w;
		close(fd);
	}
	strbuf_release(&sb);
	machine_changed(m, MCHG_LOG);
}

void machine_changed(struct machine *m, unsigned what)
{
	struct store_watch *w = m->watch;
	if (what & ~MCHG_LOG) { /* the log is read live, never a snapshot */
		__atomic_add_fetch(&m->version, 1, __ATOMIC_ACQ_REL);
		__atomic_add_fetch(&w->version, 1, __ATOMIC_ACQ_REL);
	}
	pthread_rwlock_rdlock(&w->lock);
	if (w->notify)
		w->notify(w->arg, m, what);
	pthread_rwlock_unlock(&w->lock);
}

const struct driver_option *option_lookup(const char *name)
{
	const struct driver_option *o = host_option_find(name);
	for (const struct machine_driver *const *d = machine_drivers; !o && *d; d++)
		o = driver_option_find(*d, name);
	return o;
}

/* How many times each "fail:N" fault has fired in this process. */
#define FAULTS_MAX 64
static struct {
	char what[48];
	unsigned fired;
} faults[FAULTS_MAX];
static pthread_mutex_t faults_lock = PTHREAD_MUTEX_INITIALIZER;

/* Whether a "fail:N" fault for what may fire once more (and count it). */
static bool fault_fire(const char *what, unsigned limit)
{
	bool fire = false;
	pthread_mutex_lock(&faults_lock);
	size_t i = 0;
	while (i < FAULTS_MAX && faults[i].what[0] && strcmp(faults[i].what, what))
		i++;
	if (i < FAULTS_MAX) {
		if (!faults[i].what[0])
			snprintf(faults[i].what, sizeof(faults[i].what), "%s", what);
		if (faults[i].fired < limit) {
			faults[i].fired++;
			fire = true;
		}
	}
	pthread_mutex_unlock(&faults_lock);
	return fire;
}

int machine_fault(struct machine *m, const char *what, char *err)
{
	const char *spec = getenv("MACHINEFS_FAULTS");
	size_t wl = strlen(what);
	for (const char *p = spec; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		if (strncmp(p, what, wl) || p[wl] != '=')
			continue;
		const char *act = p + wl + 1;
		bool fire = false;
		if (!strncmp(act, "fail:", 5))
			fire = fault_fire(what, (unsigned)strtoul(act + 5, NULL, 10));
		else if (!strncmp(act, "fail", 4))
			fire = true;
		if (fire) {
			machine_log(m, "injected fault in '%s'", what);
			return error_set(err, EIO, "injected fault in '%s'", what);
		}
		if (!strncmp(act, "sleep:", 6)) {
			machine_log(m, "injected delay of %ds in '%s'", atoi(act + 6), what);
			for (int i = atoi(act + 6) * 10; i > 0 && !m->cancel; i--)
				nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
			if (m->cancel)
				return error_set(err, EINTR, "'%s' was cancelled", what);
		}
	}
	return 0;
}

typedef int (*drv_fn)(struct driver_ctx *);

/* The lifecycle methods, by the name logs, errors and faults use. */
static drv_fn lifecycle_method(const struct machine_driver *d, const char *what)
{
	static const struct {
		const char *name;
		size_t off;
	} methods[] = {
		{ "configure", offsetof(struct machine_driver, configure) },
		{ "precreate_check", offsetof(struct machine_driver, precreate_check) },
		{ "create", offsetof(struct machine_driver, create) },
		{ "remove", offsetof(struct machine_driver, remove) },
		{ "start", offsetof(struct machine_driver, start) },
		{ "stop", offsetof(struct machine_driver, stop) },
		{ "restart", offsetof(struct machine_driver, restart) },
		{ "kill", offsetof(struct machine_driver, kill) },
	};
	for (size_t i = 0; d && i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (strcmp(methods[i].name, what))
			continue;
		drv_fn fn;
		memcpy(&fn, (const char *)d + methods[i].off, sizeof(fn));
		return fn;
	}
	return NULL;
}

bool machine_drv_has(const struct machine *m, const char *what)
{
	return lifecycle_method(m->driver, what) != NULL;
}

int machine_drv_unsupported(const struct machine *m, const char *cmd, char *err)
{
	const char *said = m->driver && m->driver->unsupported ? m->driver->unsupported(cmd)
							       : NULL;
	if (said)
		return error_set(err, ENOTSUP, "%s", said);
	return error_set(err, ENOTSUP, "driver '%s' does not support '%s'",
			 m->driver ? m->driver->name : m->driver_name, cmd);
}

/* The common checks: a driver, the method, the fault hook. */
static int drv_enter(struct machine *m, struct driver_ctx *ctx, const char *what,
		     bool present)
{
	ctx->err[0] = '\0';
	if (!m->driver)
		return error_set(ctx->err, ENOTSUP, *m->driver_name
					 ? "driver '%s' is not compiled into machinefs"
					 : "machine '%s' has no driver",
				 *m->driver_name ? m->driver_name : m->name);
	if (!present)
		return machine_drv_unsupported(m, what, ctx->err);
	return machine_fault(m, what, ctx->err);
}

/* A failure always has a message; a lifecycle method's is logged (the
 * queries run at every read of url, ls...: their failures are the
 * caller's to report). */
static int drv_leave(struct machine *m, struct driver_ctx *ctx, const char *what,
		     int rc, bool log)
{
	const char *name = m->driver ? m->driver->name : m->driver_name;
	if (rc && !ctx->err[0])
		error_set(ctx->err, rc, "driver '%s': '%s' failed", name, what);
	if (rc && log)
		machine_log(m, "driver %s: %s failed: %s", *name ? name : "(none)", what,
			    ctx->err);
	return rc;
}

int machine_drv_call(struct machine *m, struct driver_ctx *ctx, const char *what)
{
	drv_fn fn = lifecycle_method(m->driver, what);
	int rc = drv_enter(m, ctx, what, fn != NULL);
	if (rc)
		return drv_leave(m, ctx, what, rc, true);
	machine_log(m, "driver %s: %s", m->driver->name, what);
	return drv_leave(m, ctx, what, fn(ctx), true);
}

int machine_drv_state(struct machine *m, struct driver_ctx *ctx,
		      enum machine_state *out)
{
	*out = MS_NONE;
	int rc = drv_enter(m, ctx, "state", m->driver && m->driver->state);
	if (!rc)
		rc = m->driver->state(ctx, out);
	return rc ? drv_leave(m, ctx, "state", rc, false) : 0;
}

int machine_drv_url(struct machine *m, struct driver_ctx *ctx, char *buf, size_t len)
{
	buf[0] = '\0';
	int rc = drv_enter(m, ctx, "url", m->driver && m->driver->url);
	if (!rc)
		rc = m->driver->url(ctx, buf, len);
	if (rc)
		buf[0] = '\0';
	return rc ? drv_leave(m, ctx, "url", rc, false) : 0;
}

int machine_drv_engine_listen_port(struct machine *m, struct driver_ctx *ctx)
{
	if (!m->driver || !m->driver->engine_listen_port)
		return 0;
	if (drv_enter(m, ctx, "engine_listen_port", true))
		return 0;
	return m->driver->engine_listen_port(ctx);
}

void machine_drv_ssh_host(struct machine *m, struct driver_ctx *ctx, char *buf,
			  size_t len)
{
	const char *h = NULL;
	if (m->driver && m->driver->ssh_host &&
	    !drv_enter(m, ctx, "ssh_host", true))
		h = m->driver->ssh_host(ctx);
	machine_thaw_locked(m);
	snprintf(buf, len, "%s", h ? h : m->base->ip);
}

int machine_drv_load(struct machine *m, struct driver_ctx *ctx, const cJSON *d)
{
	if (!m->driver || !m->driver->load)
		return 0;
	int rc = drv_enter(m, ctx, "load", true);
	if (!rc)
		rc = m->driver->load(ctx, d);
	return rc ? drv_leave(m, ctx, "load", rc, false) : 0;
}

int machine_drv_save(struct machine *m, struct driver_ctx *ctx, cJSON *d)
{
	if (!m->driver || !m->driver->save)
		return 0;
	int rc = drv_enter(m, ctx, "save", true);
	if (!rc)
		rc = m->driver->save(ctx, d);
	return rc ? drv_leave(m, ctx, "save", rc, false) : 0;
}
