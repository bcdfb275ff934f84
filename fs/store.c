/* The store: <root>/machines/<name>/ folders, loaded at mount, kept in a
 * sorted table. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs/config.h"
#include "fs/core.h"
#include "fs/store_backend.h"
#include "fs/store_internal.h"
#include "lib/fileutil.h"

struct store {
	char root[PATH_MAX];
	pthread_rwlock_t lock;
	/* protected by lock: */
	struct machine **v; /* sorted by name */
	size_t n, alloc;

	struct store_watch watch;
	const struct store_backend *be; /* NULL: the folder alone */
	void *be_arg;
};

/* store_mkdir writes the first record before the back end claims the
 * name: that write is not shared on its own. */
static __thread bool tl_claiming;

void store_set_backend(struct store *s, const struct store_backend *be, void *arg)
{
	s->be = be;
	s->be_arg = arg;
}

void store_be_start(struct store *s)
{
	if (s->be && s->be->start)
		s->be->start(s->be_arg);
}

int store_be_saved(struct machine *m, char *err)
{
	struct store *s = m->store;
	return s->be && !tl_claiming ? s->be->saved(s->be_arg, m, err) : 0;
}

int store_be_lock(struct machine *m, const char *cmd, char *err)
{
	struct store *s = m->store;
	return s->be ? s->be->lock(s->be_arg, m, cmd, err) : 0;
}

void store_be_unlock(struct machine *m)
{
	struct store *s = m->store;
	if (s->be)
		s->be->unlock(s->be_arg, m);
}

int store_be_removed(struct machine *m, char *err)
{
	struct store *s = m->store;
	return s->be ? s->be->removed(s->be_arg, m, err) : 0;
}

void store_set_notify(struct store *s, store_notify_fn fn, void *arg)
{
	pthread_rwlock_wrlock(&s->watch.lock);
	s->watch.notify = fn;
	s->watch.arg = arg;
	pthread_rwlock_unlock(&s->watch.lock);
}

unsigned store_version(struct store *s)
{
	return __atomic_load_n(&s->watch.version, __ATOMIC_ACQUIRE);
}

const char *store_root(const struct store *s)
{
	return s->root;
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
	machine_secrets_update_locked(m); /* no other thread sees m yet */
	machine_config_unload_locked(m);  /* read again when needed */
	machine_freeze_locked(m);
}

/* Folders that never become machines: a name outside Docker Machine's
 * rule (it would reach shells, argv and hostnames) and a symlink (the
 * daemon would write through it, outside the store). Said once on the
 * daemon's stderr. */
static bool load_allowed(const char *name, const struct stat *st)
{
	if (S_ISLNK(st->st_mode)) {
		fprintf(stderr, "machinefs: skipping machine folder '%s': a symbolic link\n", name);
		return false;
	}
	if (!machine_name_valid(name)) {
		char shown[81];
		size_t i = 0;
		for (; name[i] && i < sizeof(shown) - 1; i++)
			shown[i] = name[i] > ' ' && name[i] < 127 ? name[i] : '?';
		shown[i] = '\0';
		fprintf(stderr, "machinefs: skipping machine folder '%s': not a valid machine name\n",
			shown);
		return false;
	}
	return true;
}

/* A crash between write_file_atomic's create and rename leaves
 * "NAME.tmpXXXXXX": nothing else writes at load, so they go. */
static void clean_temp_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *t = strstr(de->d_name, ".tmp");
		if (!t || t == de->d_name || strlen(t) != 10 || de->d_type != DT_REG)
			continue;
		bool tail = true;
		for (const char *p = t + 4; *p; p++)
			tail = tail && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
					(*p >= '0' && *p <= '9'));
		if (tail)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
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
	pthread_rwlock_init(&s->watch.lock, NULL);
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
		if (lstat(path, &st) < 0 || !(S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode)))
			continue;
		if (!load_allowed(de->d_name, &st))
			continue;
		clean_temp_files(path);
		struct machine *m = machine_new(s, s->root, &s->watch, de->d_name);
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

/* Whether path is a mount point in this mount namespace now
 * (/proc/self/mountinfo's fifth field, octal escapes undone). */
static bool is_mounted(const char *path)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return true; /* cannot tell: treat the holder as alive */
	char *line = NULL;
	size_t cap = 0;
	bool found = false;
	while (!found && getline(&line, &cap, f) > 0) {
		char *p = line;
		for (int i = 0; i < 4 && p; i++)
			p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
		if (!p)
			continue;
		char mp[PATH_MAX];
		size_t n = 0;
		for (; *p && *p != ' ' && n + 1 < sizeof(mp); p++) {
			if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
			    p[3] >= '0' && p[3] <= '7') {
				mp[n++] = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
				p += 3;
			} else {
				mp[n++] = *p;
			}
		}
		mp[n] = '\0';
		found = !strcmp(mp, path);
	}
	free(line);
	fclose(f);
	return found;
}

/* The holder's mount is gone: it is a daemon finishing its unmount. Wait
 * for it to let go (fusermount3 -u returns before the daemon exits), at
 * most STORE_LOCK_WAIT_MS. */
#define STORE_LOCK_WAIT_MS 15000

static bool wait_for_exiting_holder(int fd, const char *holder)
{
	if (!*holder || is_mounted(holder))
		return false;
	for (int waited = 0; waited < STORE_LOCK_WAIT_MS; waited += 50) {
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return true;
	}
	return false;
}

int store_lock(const char *root, const char *mountpoint, char *err)
{
	int rc = mkdir_p(root, 0700, err);
	if (rc)
		return rc;
	char path[PATH_MAX + 32];
	if (snprintf(path, sizeof(path), "%s/machinefs.lock", root) >= (int)sizeof(path))
		return error_set(err, ENAMETOOLONG, "store path too long: '%s'", root);
	/* Kept open (never closed) so the lock lasts as long as the daemon,
	 * fuse_daemonize's fork included. */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return error_errno(err, errno, "cannot open '%s'", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		char holder[PATH_MAX] = "";
		ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
		holder[n > 0 ? n : 0] = '\0';
		holder[strcspn(holder, "\n")] = '\0';
		if (e == EWOULDBLOCK && wait_for_exiting_holder(fd, holder))
			goto locked;
		close(fd);
		if (e != EWOULDBLOCK)
			return error_errno(err, e, "cannot lock '%s'", path);
		return error_set(err, EBUSY, "store '%s' is in use by another machinefs, mounted at '%s'",
				 root, *holder ? holder : "(unknown)");
	}
locked:
	if (ftruncate(fd, 0) < 0 || pwrite(fd, mountpoint, strlen(mountpoint), 0) < 0 ||
	    pwrite(fd, "\n", 1, (off_t)strlen(mountpoint)) < 0) {
		rc = error_errno(err, errno, "cannot write '%s'", path);
		close(fd);
		return rc;
	}
	return 0;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		machine_put(s->v[i]);
	free(s->v);
	pthread_rwlock_destroy(&s->lock);
	pthread_rwlock_destroy(&s->watch.lock);
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
	if (strlen(name) > MACHINE_NAME_MAX)
		return error_set(err, EINVAL, "invalid machine name '%.20s...': longer than %d characters (it is the host's hostname)",
				 name, MACHINE_NAME_MAX);
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
	m = machine_new(s, s->root, &s->watch, name);
	if (mkdir(m->dir, 0700) < 0) {
		rc = errno == EEXIST
			? error_set(err, EEXIST, "machine '%s' already exists", name)
			: error_errno(err, errno, "cannot create '%s'", m->dir);
		goto out;
	}
	tl_claiming = true;
	rc = record_save(m, err);
	tl_claiming = false;
	if (!rc && s->be)
		rc = s->be->made(s->be_arg, m, err);
	if (rc) {
		remove_tree(m->dir, NULL);
		goto out;
	}
	machine_freeze_locked(m); /* not in the table yet: no one else has it */
	table_insert(s, m);
	m = NULL;
out:
	pthread_rwlock_unlock(&s->lock);
	if (m)
		machine_put(m);
	else if (!rc && (m = store_get(s, name))) {
		machine_changed(m, MCHG_FILES);
		machine_put(m);
	}
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

void store_cancel_all(struct store *s)
{
	pthread_rwlock_rdlock(&s->lock);
	for (size_t i = 0; i < s->n; i++)
		s->v[i]->cancel = 1;
	pthread_rwlock_unlock(&s->lock);
}

/* Forget what m holds of its record and read its folder again, in place:
 * open files of m see the new record. Caller holds m->lock; no command
 * runs. */
static void reload_locked(struct machine *m, int remote_state)
{
	machine_thaw_locked(m);
	memset(m->base, 0, sizeof(*m->base));
	cJSON_Delete(m->config);
	m->config = NULL;
	m->recorded = false;
	m->driver_name[0] = '\0';
	free(m->priv);
	m->priv = NULL;
	m->priv_size = 0;
	m->driver = NULL;
	option_set_clear(&m->opts);
	m->state = MS_NONE;
	m->error[0] = '\0';
	m->created = m->host_made = false;
	m->docker_version[0] = '\0';
	m->gen++; /* a state check under way is dropped */
	m->changed = time(NULL);
	load_machine(m);
	if (remote_state >= 0 && strstr(m->error, "was interrupted")) {
		m->state = (enum machine_state)remote_state;
		m->error[0] = '\0';
	}
}

void store_reload(struct store *s, const char *name, int remote_state)
{
	struct machine *m = store_get(s, name);
	if (!m) {
		struct machine *fresh = machine_new(s, s->root, &s->watch, name);
		pthread_mutex_lock(&fresh->lock);
		reload_locked(fresh, remote_state);
		pthread_mutex_unlock(&fresh->lock);
		pthread_rwlock_wrlock(&s->lock);
		bool added = table_find(s, name) < 0;
		if (added) {
			table_insert(s, fresh);
			__atomic_add_fetch(&fresh->refs, 1, __ATOMIC_ACQ_REL);
		}
		pthread_rwlock_unlock(&s->lock);
		if (added)
			machine_changed(fresh, MCHG_FILES);
		machine_put(fresh);
		/* Made here meanwhile: read that one again. */
		if (added || !(m = store_get(s, name)))
			return;
	}
	pthread_mutex_lock(&m->lock);
	bool mine = m->busy != NULL || m->removed;
	if (!mine)
		reload_locked(m, remote_state);
	pthread_mutex_unlock(&m->lock);
	if (!mine)
		machine_changed(m, MCHG_FILES);
	machine_put(m);
}

void store_drop(struct store *s, const char *name)
{
	struct machine *m = store_get(s, name);
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	bool mine = m->busy != NULL;
	if (!mine)
		__atomic_store_n(&m->removed, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&m->lock);
	if (!mine) {
		remove_tree(m->dir, NULL);
		store_forget(s, m);
		machine_changed(m, MCHG_GONE);
	}
	machine_put(m);
}

