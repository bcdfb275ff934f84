/* The store: <root>/machines/<name>/ folders, loaded at mount, kept in a
 * sorted table. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/config.h"
#include "fs/store_internal.h"
#include "lib/fileutil.h"

struct store {
	char root[PATH_MAX];
	pthread_rwlock_t lock;
	/* protected by lock: */
	struct machine **v; /* sorted by name */
	size_t n, alloc;

	pthread_t refresher;
	bool refresher_running;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stopping; /* protected by stop_lock */
	int interval;
};

const char *store_root(const struct store *s)
{
	return s->root;
}

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

void machine_bind_driver(struct machine *m)
{
	const struct machine_driver *d = *m->driver_name ? driver_find(m->driver_name) : NULL;
	if (d == m->driver && (m->priv || !d))
		return;
	free(m->priv);
	m->priv = NULL;
	m->driver = d;
	if (d)
		m->priv = calloc(1, d->priv_size ? d->priv_size : 1);
}

static void log_to_machine(void *arg, const char *line)
{
	machine_log(arg, "%s", line);
}

void machine_driver_ctx(struct machine *m, struct driver_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->machine = m->name;
	ctx->store = m->store->root;
	ctx->dir = m->dir;
	ctx->base = &m->base;
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
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (sb.buf[sb.len - 1] != '\n')
		strbuf_addch(&sb, '\n');
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		ssize_t w = write(fd, sb.buf, sb.len);
		(void)w;
		close(fd);
	}
	strbuf_release(&sb);
}

static struct machine *machine_new(struct store *s, const char *name)
{
	struct machine *m = calloc(1, sizeof(*m));
	if (!m)
		abort();
	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->dir, sizeof(m->dir), "%s/machines/%s", s->root, name);
	m->store = s;
	m->refs = 1;
	m->changed = time(NULL);
	pthread_mutex_init(&m->lock, NULL);
	return m;
}

static void machine_free(struct machine *m)
{
	cJSON_Delete(m->config);
	free(m->priv);
	option_set_clear(&m->opts);
	option_set_clear(&m->scratch);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void machine_put(struct machine *m)
{
	if (m && __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0)
		machine_free(m);
}

static void load_machine(struct machine *m)
{
	char err[ERR_MAX] = "";
	char path[PATH_MAX + 16];
	int rc = record_load(m, err);
	snprintf(path, sizeof(path), "%s/config.json", m->dir);
	if (!rc && path_exists(path)) {
		enum machine_state recorded = m->state;
		rc = config_load(m, err);
		if (!rc && recorded == MS_NONE) {
			/* Made by docker-machine: a state check follows soon. */
			m->state = MS_STOPPED;
			m->created = true;
		}
	} else if (!rc) {
		machine_bind_driver(m);
	}
	if (rc) {
		m->state = MS_ERROR;
		snprintf(m->error, sizeof(m->error), "%s", err);
	}
}

static int cmp_machine(const void *a, const void *b)
{
	const struct machine *x = *(struct machine *const *)a;
	const struct machine *y = *(struct machine *const *)b;
	return strcmp(x->name, y->name);
}

static void table_insert(struct store *s, struct machine *m)
{
	if (s->n == s->alloc) {
		size_t n = s->alloc ? s->alloc * 2 : 64;
		struct machine **v = realloc(s->v, n * sizeof(*v));
		if (!v)
			abort();
		s->v = v;
		s->alloc = n;
	}
	size_t i = s->n;
	while (i > 0 && strcmp(s->v[i - 1]->name, m->name) > 0) {
		s->v[i] = s->v[i - 1];
		i--;
	}
	s->v[i] = m;
	s->n++;
}

static ssize_t table_find(struct store *s, const char *name)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(s->v[mid]->name, name);
		if (!c)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int store_open(const char *root, struct store **out, char *err)
{
	struct store *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	if (!realpath(root, s->root)) {
		int rc = mkdir_p(root, 0700, err);
		if (rc || !realpath(root, s->root)) {
			free(s);
			return rc ? rc : error_errno(err, errno, "cannot open store '%s'", root);
		}
	}
	pthread_rwlock_init(&s->lock, NULL);
	pthread_mutex_init(&s->stop_lock, NULL);
	pthread_cond_init(&s->stop_cond, NULL);
	char dir[PATH_MAX + 16];
	snprintf(dir, sizeof(dir), "%s/machines", s->root);
	int rc = mkdir_p(dir, 0700, err);
	if (rc) {
		store_close(s);
		return rc;
	}
	DIR *d = opendir(dir);
	if (!d) {
		rc = error_errno(err, errno, "cannot open '%s'", dir);
		store_close(s);
		return rc;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		struct stat st;
		char path[PATH_MAX * 2];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		struct machine *m = machine_new(s, de->d_name);
		load_machine(m);
		if (s->n == s->alloc) {
			size_t n = s->alloc ? s->alloc * 2 : 64;
			s->v = realloc(s->v, n * sizeof(*s->v));
			if (!s->v)
				abort();
			s->alloc = n;
		}
		s->v[s->n++] = m;
	}
	closedir(d);
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), cmp_machine);
	*out = s;
	return 0;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	store_refresher_stop(s);
	for (size_t i = 0; i < s->n; i++)
		machine_put(s->v[i]);
	free(s->v);
	pthread_rwlock_destroy(&s->lock);
	pthread_mutex_destroy(&s->stop_lock);
	pthread_cond_destroy(&s->stop_cond);
	free(s);
}

void store_list(struct store *s, struct strlist *names)
{
	pthread_rwlock_rdlock(&s->lock);
	for (size_t i = 0; i < s->n; i++)
		strlist_add(names, s->v[i]->name);
	pthread_rwlock_unlock(&s->lock);
}

size_t store_count(struct store *s)
{
	pthread_rwlock_rdlock(&s->lock);
	size_t n = s->n;
	pthread_rwlock_unlock(&s->lock);
	return n;
}

struct machine *store_get(struct store *s, const char *name)
{
	struct machine *m = NULL;
	pthread_rwlock_rdlock(&s->lock);
	ssize_t i = table_find(s, name);
	if (i >= 0) {
		m = s->v[i];
		__atomic_add_fetch(&m->refs, 1, __ATOMIC_ACQ_REL);
	}
	pthread_rwlock_unlock(&s->lock);
	return m;
}

int store_mkdir(struct store *s, const char *name, char *err)
{
	if (!machine_name_valid(name))
		return error_set(err, EINVAL,
				 "invalid machine name '%s': allowed hostname chars are 0-9a-zA-Z . - (and it starts with a letter or digit)",
				 name);
	pthread_rwlock_wrlock(&s->lock);
	int rc = 0;
	struct machine *m = NULL;
	if (table_find(s, name) >= 0) {
		rc = error_set(err, EEXIST, "machine '%s' already exists", name);
		goto out;
	}
	m = machine_new(s, name);
	if (mkdir(m->dir, 0700) < 0) {
		rc = errno == EEXIST
			? error_set(err, EEXIST, "machine '%s' already exists", name)
			: error_errno(err, errno, "cannot create '%s'", m->dir);
		goto out;
	}
	rc = record_save(m, err);
	if (rc) {
		remove_tree(m->dir, NULL);
		goto out;
	}
	table_insert(s, m);
	m = NULL;
out:
	pthread_rwlock_unlock(&s->lock);
	if (m)
		machine_put(m);
	return rc;
}

/* Take m out of the table; its folder is already gone. */
void store_forget(struct store *s, struct machine *m)
{
	pthread_rwlock_wrlock(&s->lock);
	ssize_t i = table_find(s, m->name);
	if (i >= 0 && s->v[i] == m) {
		memmove(&s->v[i], &s->v[i + 1], (s->n - (size_t)i - 1) * sizeof(*s->v));
		s->n--;
		machine_put(m);
	}
	pthread_rwlock_unlock(&s->lock);
}

/* One sweep: idle machines are checked by a few threads at once, so a
 * slow or unreachable host does not hold up the others. */
struct sweep {
	struct store *s;
	struct strlist names;
	size_t next; /* atomic */
};

static bool store_stopping(struct store *s)
{
	pthread_mutex_lock(&s->stop_lock);
	bool stop = s->stopping;
	pthread_mutex_unlock(&s->stop_lock);
	return stop;
}

static void *sweep_worker(void *arg)
{
	struct sweep *w = arg;
	for (;;) {
		size_t i = __atomic_fetch_add(&w->next, 1, __ATOMIC_ACQ_REL);
		if (i >= w->names.n || store_stopping(w->s))
			break;
		struct machine *m = store_get(w->s, w->names.v[i]);
		if (!m)
			continue;
		machine_refresh_state(m);
		machine_put(m);
	}
	return NULL;
}

#define SWEEP_THREADS 16

void store_refresh_states(struct store *s)
{
	struct sweep w = { .s = s, .names = STRLIST_INIT };
	store_list(s, &w.names);
	size_t n = w.names.n < SWEEP_THREADS ? w.names.n : SWEEP_THREADS;
	pthread_t t[SWEEP_THREADS];
	size_t started = 0;
	for (size_t i = 1; i < n; i++)
		if (pthread_create(&t[started], NULL, sweep_worker, &w) == 0)
			started++;
	sweep_worker(&w);
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	strlist_clear(&w.names);
}

static void *refresher_main(void *arg)
{
	struct store *s = arg;
	pthread_mutex_lock(&s->stop_lock);
	while (!s->stopping) {
		pthread_mutex_unlock(&s->stop_lock);
		store_refresh_states(s);
		pthread_mutex_lock(&s->stop_lock);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += s->interval;
		while (!s->stopping &&
		       pthread_cond_timedwait(&s->stop_cond, &s->stop_lock, &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&s->stop_lock);
	return NULL;
}

int store_refresher_start(struct store *s, int interval)
{
	s->interval = interval > 0 ? interval : 10;
	s->stopping = false;
	int rc = pthread_create(&s->refresher, NULL, refresher_main, s);
	if (rc)
		return -rc;
	s->refresher_running = true;
	return 0;
}

void store_refresher_stop(struct store *s)
{
	if (!s->refresher_running)
		return;
	pthread_mutex_lock(&s->stop_lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->stop_cond);
	pthread_mutex_unlock(&s->stop_lock);
	pthread_join(s->refresher, NULL);
	s->refresher_running = false;
}

void store_cancel_all(struct store *s)
{
	pthread_rwlock_rdlock(&s->lock);
	for (size_t i = 0; i < s->n; i++)
		s->v[i]->cancel = 1;
	pthread_rwlock_unlock(&s->lock);
}
