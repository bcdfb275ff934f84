/* The FUSE face: paths to nodes, generated files snapshotted at open(),
 * writes to ctl/driver/options. The only file that includes fuse.h.
 *
 * Caching: the kernel keeps entries, attributes and the pages of the
 * generated files (not ctl, log, nor files read from the store's disk;
 * state's one value at a time, see struct told); every change of a
 * machine (machine_changed) invalidates what it shows, and wakes poll(2)
 * on its state and log. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fuse.h>
#include <fuse_lowlevel.h>

#include "fs/engine.h"
#include "fs/fuse_tree.h"
#include "fs/seal.h"
#include "fs/progress.h"
#include "fs/machine.h"
#include "fs/render.h"
#include "fs/store_backend.h"
#include "lib/fileutil.h"

static struct store *g_store;
static struct fuse *g_fuse;
/* Set while this thread serves an rmdir: the kernel drops that entry
 * itself, and holds the root's lock that dropping it here would take. */
static __thread bool tl_rmdir;
static int g_refresh_interval;
static uid_t g_uid;
static gid_t g_gid;
static time_t g_mount_time;

enum node_kind {
	N_ROOT, N_LIST, N_DRIVERS, N_DRIVER_DIR, N_DRIVER_OPTIONS,
	N_MACHINE, N_FILE, N_OPTIONS_DIR, N_OPTION,
	N_CERTS_DIR, N_CERT, N_SSH_DIR, N_SSH_FILE,
};

typedef void (*render_fn)(struct machine *m, struct strbuf *sb);
typedef int (*write_fn)(struct machine *m, const char *text, char *err);

static void env_posix(struct machine *m, struct strbuf *sb) { render_env(m, SHELL_POSIX, sb); }
static void env_fish(struct machine *m, struct strbuf *sb) { render_env(m, SHELL_FISH, sb); }
static void env_tcsh(struct machine *m, struct strbuf *sb) { render_env(m, SHELL_TCSH, sb); }
static void env_ps(struct machine *m, struct strbuf *sb) { render_env(m, SHELL_POWERSHELL, sb); }
static void env_cmd(struct machine *m, struct strbuf *sb) { render_env(m, SHELL_CMD, sb); }
static void env_emacs(struct machine *m, struct strbuf *sb) { render_env(m, SHELL_EMACS, sb); }

/* The log and progress are read live (see open); these serve the size only. */
static void render_log(struct machine *m, struct strbuf *sb)
{
	char path[PATH_MAX + 16];
	machine_log_path(m, path, sizeof(path));
	if (path_exists(path))
		read_file(path, sb, NULL);
}

static void render_progress(struct machine *m, struct strbuf *sb)
{
	char path[PATH_MAX + 32];
	machine_progress_path(m, path, sizeof(path));
	if (path_exists(path))
		read_file(path, sb, NULL);
}

static struct file_def {
	const char *name;
	mode_t mode;
	render_fn render;
	write_fn write;
} const files[] = {
	{ "driver", 0644, render_driver, machine_set_driver },
	{ "ctl", 0644, render_ctl, machine_command },
	{ "state", 0444, render_state, NULL },
	{ "ip", 0444, render_ip, NULL },
	{ "url", 0444, render_url, NULL },
	{ "env", 0444, env_posix, NULL },
	{ "env.fish", 0444, env_fish, NULL },
	{ "env.tcsh", 0444, env_tcsh, NULL },
	{ "env.powershell", 0444, env_ps, NULL },
	{ "env.cmd", 0444, env_cmd, NULL },
	{ "env.emacs", 0444, env_emacs, NULL },
	{ "config", 0444, render_config, NULL },
	{ "config.json", 0400, render_config_json, NULL },
	{ "docker-version", 0444, render_docker_version, NULL },
	{ "engine", 0644, render_engine, machine_engine_write },
	{ "log", 0400, render_log, NULL },
	{ "progress", 0400, render_progress, NULL },
	{ "error", 0400, render_error, NULL },
};
#define NFILES (sizeof(files) / sizeof(files[0]))

static const char *const cert_files[] = { "ca.pem", "cert.pem", "key.pem" };
static const char *const ssh_files[] = { "key", "user", "port", "host", "known_hosts" };

struct node {
	enum node_kind kind;
	struct machine *m;              /* referenced; node_release */
	const struct file_def *file;
	const struct machine_driver *drv;
	char leaf[256];
};

static void node_release(struct node *n)
{
	machine_put(n->m);
	n->m = NULL;
}

static bool in_list(const char *s, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, v[i]))
			return true;
	return false;
}

/* Split "/a/b/c" into at most 4 components. */
static int split(const char *path, char comp[4][256])
{
	int n = 0;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchrnul(p, '/');
		if (n == 4 || e - p >= 256)
			return -1;
		memcpy(comp[n], p, (size_t)(e - p));
		comp[n][e - p] = '\0';
		n++;
		p = e;
	}
	return n;
}

static bool machine_has_ssh(struct machine *m)
{
	pthread_mutex_lock(&m->lock);
	bool ssh = m->driver && (m->driver->supports & DRV_SSH) && m->created;
	pthread_mutex_unlock(&m->lock);
	return ssh;
}

static int parse_path(const char *path, struct node *n)
{
	char c[4][256];
	int k = split(path, c);
	memset(n, 0, sizeof(*n));
	if (k < 0)
		return -ENOENT;
	if (k == 0) {
		n->kind = N_ROOT;
		return 0;
	}
	if (k == 1 && !strcmp(c[0], ".list")) {
		n->kind = N_LIST;
		return 0;
	}
	if (!strcmp(c[0], ".drivers")) {
		if (k == 1) {
			n->kind = N_DRIVERS;
			return 0;
		}
		n->drv = driver_find(c[1]);
		if (!n->drv || k > 3 || (k == 3 && strcmp(c[2], "options")))
			return -ENOENT;
		n->kind = k == 2 ? N_DRIVER_DIR : N_DRIVER_OPTIONS;
		return 0;
	}
	n->m = store_get(g_store, c[0]);
	if (!n->m)
		return -ENOENT;
	snprintf(n->leaf, sizeof(n->leaf), "%s", k > 1 ? c[k - 1] : "");
	if (k == 1) {
		n->kind = N_MACHINE;
		return 0;
	}
	if (k == 2) {
		for (size_t i = 0; i < NFILES; i++) {
			if (!strcmp(c[1], files[i].name)) {
				n->kind = N_FILE;
				n->file = &files[i];
				return 0;
			}
		}
		if (!strcmp(c[1], "options"))
			n->kind = N_OPTIONS_DIR;
		else if (!strcmp(c[1], "certs"))
			n->kind = N_CERTS_DIR;
		else if (!strcmp(c[1], "ssh"))
			n->kind = N_SSH_DIR;
		else
			goto enoent;
		return 0;
	}
	if (k == 3) {
		if (!strcmp(c[1], "options")) {
			n->kind = N_OPTION;
			return 0;
		}
		if (!strcmp(c[1], "certs") && in_list(c[2], cert_files, 3)) {
			n->kind = N_CERT;
			return 0;
		}
		if (!strcmp(c[1], "ssh") && in_list(c[2], ssh_files, 5) && machine_has_ssh(n->m)) {
			n->kind = N_SSH_FILE;
			return 0;
		}
	}
enoent:
	node_release(n);
	return -ENOENT;
}

/* The real file behind certs/X and ssh/key, ssh/known_hosts. */
static bool backing_path(struct node *n, char *buf, size_t len)
{
	if (n->kind == N_CERT)
		return snprintf(buf, len, "%s/%s", n->m->dir, n->leaf) < (int)len;
	if (n->kind == N_SSH_FILE && !strcmp(n->leaf, "key")) {
		pthread_mutex_lock(&n->m->lock);
		machine_thaw_locked(n->m);
		snprintf(buf, len, "%s", n->m->base->ssh_key_path);
		machine_freeze_locked(n->m);
		pthread_mutex_unlock(&n->m->lock);
		return true;
	}
	if (n->kind == N_SSH_FILE && !strcmp(n->leaf, "known_hosts")) {
		snprintf(buf, len, "%s/known_hosts", n->m->dir);
		return true;
	}
	return false;
}

/* A key or secret option sealed in the store (fs/seal.h) that this
 * mount has no key for: EACCES, the reason in the machine's log. */
static int node_sealed(struct node *n)
{
	char path[PATH_MAX + 16];
	if (n->kind == N_OPTION) {
		struct strbuf sb = STRBUF_INIT;
		bool sealed = machine_option_raw(n->m, n->leaf, &sb) && seal_text_is_sealed(strbuf_str(&sb));
		strbuf_release(&sb);
		if (!sealed)
			return 0;
		machine_log(n->m, "options/%s: %s", n->leaf, SEAL_LOCKED);
		return -EACCES;
	}
	if ((n->kind != N_CERT && n->kind != N_SSH_FILE) || !backing_path(n, path, sizeof(path)) ||
	    !*path || !seal_file_is_sealed(path))
		return 0;
	machine_log(n->m, "%s: %s", n->leaf, SEAL_LOCKED);
	return -EACCES;
}

/* .list, rendered again only after a machine changed (ls reads it often,
 * and at 10,000 machines a render takes tens of ms). */
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct strbuf list_cache = STRBUF_INIT; /* protected by list_lock */
static unsigned list_ver;                       /* protected by list_lock */
static bool list_valid;                         /* protected by list_lock */

static void list_content(struct strbuf *sb)
{
	pthread_mutex_lock(&list_lock);
	unsigned ver = store_version(g_store);
	if (!list_valid || list_ver != ver) {
		strbuf_reset(&list_cache);
		render_list(g_store, &list_cache);
		list_ver = ver; /* read before: a change during it renders again */
		list_valid = true;
	}
	strbuf_add(sb, list_cache.buf ? list_cache.buf : "", list_cache.len);
	pthread_mutex_unlock(&list_lock);
}

/* state through the page cache, whole and fresh.
 *
 * A file whose size changes cannot be cached by the kernel while a reader
 * may be reading it: the kernel clamps a read to the i_size it sees when it
 * copies, so a page of one value read with the size of another is cut or
 * padded, and no notice from here can land atomically between a reader's
 * page and its size. So the kernel may cache exactly one value of a
 * machine's state, "told" (the size every GETATTR/LOOKUP reports and the
 * content every page-cache READ gets), and told changes only when no open
 * file may read those pages:
 *  - an open while told is the machine's state is a page-cache reader
 *    (keep_cache) and counts in readers until its release; while readers
 *    is not 0 told stays, and an open then reads the state at its open
 *    (direct_io snapshot, as every open did before), never an old value;
 *  - a change of state with no reader (or the last release after one)
 *    switches: told = state, switching set (opens read direct), the
 *    kernel drops the old pages and attributes (an attribute reply from
 *    before that notice is discarded by the kernel's attr_version), then
 *    page-cache opens resume. A reader that opens after the switch gets
 *    the new size (attributes were dropped) and the new pages, both told.
 *  - a page-cache reader parked in poll(2) (its last poll said "not
 *    readable") does not count: it reads only after poll says readable,
 *    which happens after the switch, and then counts again.
 * Kept per name, not per machine: a machine removed and made again under
 * the same name is the same kernel inode, whose old readers still count.
 * Left: a page-cache read of a polled fd that poll(2) had not reported
 * readable, and mmap(2) of state, may see a value cut to another's size
 * (as the kernel's page cache allows for any file resized under a reader).
 * A page-cache fd kept open reads the value of its open again (from
 * offset 0 too) until the switch, which waits for it to close (as a file
 * replaced by rename; new opens read the new state at once), and poll(2)
 * says readable only after the switch, so while another page-cache fd
 * of the same state stays open a poller waits for it. Switching earlier
 * is not sound: a reader reads to EOF in several read(2)s, and a switch
 * between them hands it the tail of a longer value (a trial that forced
 * switches after 50 ms made t_cache_race read "None\n\n"). */
struct told {
	char *name;
	struct told *next;
	unsigned readers;       /* page-cache opens that may read */
	enum machine_state v;   /* told; valid once known */
	bool valid, switching;
};
static pthread_mutex_t told_lock = PTHREAD_MUTEX_INITIALIZER;
static struct told **told_tab; /* protected by told_lock */
static size_t told_n, told_cap;  /* protected by told_lock */

static size_t told_hash(const char *s)
{
	size_t h = 5381;
	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

/* The entry of name, made if new; NULL only without memory. Caller holds
 * told_lock. */
static struct told *told_get_locked(const char *name)
{
	if (told_cap) {
		for (struct told *t = told_tab[told_hash(name) & (told_cap - 1)]; t; t = t->next)
			if (!strcmp(t->name, name))
				return t;
	}
	if (told_n >= told_cap) {
		size_t cap = told_cap ? told_cap * 2 : 1024;
		struct told **tab = calloc(cap, sizeof(*tab));
		if (!tab)
			return NULL;
		for (size_t i = 0; i < told_cap; i++) {
			for (struct told *t = told_tab[i], *nx; t; t = nx) {
				nx = t->next;
				size_t b = told_hash(t->name) & (cap - 1);
				t->next = tab[b];
				tab[b] = t;
			}
		}
		free(told_tab);
		told_tab = tab;
		told_cap = cap;
	}
	struct told *t = calloc(1, sizeof(*t));
	if (!t || !(t->name = strdup(name))) {
		free(t);
		return NULL;
	}
	size_t b = told_hash(name) & (told_cap - 1);
	t->next = told_tab[b];
	told_tab[b] = t;
	told_n++;
	return t;
}

static void told_free_all(void)
{
	for (size_t i = 0; i < told_cap; i++) {
		for (struct told *t = told_tab[i], *nx; t; t = nx) {
			nx = t->next;
			free(t->name);
			free(t);
		}
	}
	free(told_tab);
	told_tab = NULL;
	told_n = told_cap = 0;
}

static enum machine_state state_of(struct machine *m)
{
	pthread_mutex_lock(&m->lock);
	enum machine_state s = m->state;
	pthread_mutex_unlock(&m->lock);
	return s;
}

/* Start a switch if told is behind m's state and nothing reads its pages:
 * true if the caller must finish it (told_switch_end) once told_lock is
 * dropped. Caller holds told_lock. */
static bool told_off; /* unmounting: no more notices; protected by told_lock */

static bool told_begin_locked(struct told *t, struct machine *m)
{
	if (told_off)
		return false;
	enum machine_state s = state_of(m);
	if (!t->valid) {
		/* First sight of this name: the kernel has no pages of it (a
		 * removed machine's were dropped at its removal). */
		t->v = s;
		t->valid = true;
		return false;
	}
	if (t->v == s || t->readers || t->switching)
		return false;
	t->v = s;
	t->switching = true;
	return true;
}

static void wake_pollers(struct machine *m, bool log);
static int inval(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Tell the kernel told changed (it drops state's pages and attributes),
 * then let page-cache opens in again; another change meanwhile switches
 * again. Called without told_lock. */
static void told_switch_end(struct told *t, struct machine *m)
{
	bool again;
	do {
		inval("/%s/state", m->name);
		pthread_mutex_lock(&told_lock);
		t->switching = false;
		again = told_begin_locked(t, m);
		pthread_mutex_unlock(&told_lock);
	} while (again);
	wake_pollers(m, false);
}

/* m's state file changed, or one of its readers left: switch if it may. */
static void told_sync(struct machine *m)
{
	pthread_mutex_lock(&told_lock);
	struct told *t = told_get_locked(m->name);
	bool go = t && told_begin_locked(t, m);
	pthread_mutex_unlock(&told_lock);
	if (go)
		told_switch_end(t, m);
}

/* The state the kernel is told (GETATTR's size, page-cache READs). */
static enum machine_state told_value(struct machine *m)
{
	pthread_mutex_lock(&told_lock);
	struct told *t = told_get_locked(m->name);
	bool go = t && told_begin_locked(t, m);
	enum machine_state v = t ? t->v : state_of(m);
	pthread_mutex_unlock(&told_lock);
	if (go)
		told_switch_end(t, m);
	return v;
}

/* told as it is, for a page-cache READ: never a switch from there (its
 * notice would wait for the very page this READ fills). */
static enum machine_state told_peek(struct machine *m)
{
	pthread_mutex_lock(&told_lock);
	struct told *t = told_get_locked(m->name);
	bool known = t && t->valid;
	enum machine_state v = known ? t->v : MS_NONE;
	pthread_mutex_unlock(&told_lock);
	return known ? v : state_of(m);
}

/* An open of m's state: a page-cache reader (true, counted) when told is
 * its state, else false (the open reads direct). */
static bool told_reader_open(struct machine *m, enum machine_state *v)
{
	pthread_mutex_lock(&told_lock);
	struct told *t = told_get_locked(m->name);
	bool go = t && told_begin_locked(t, m);
	bool cached = t && !go && !t->switching && t->v == state_of(m);
	if (cached) {
		t->readers++;
		*v = t->v;
	}
	pthread_mutex_unlock(&told_lock);
	if (go)
		told_switch_end(t, m);
	return cached;
}

/* A page-cache reader left (release) or parked in poll(2). */
static void told_reader_close(struct machine *m)
{
	struct machine *cur = NULL;
	if (__atomic_load_n(&m->removed, __ATOMIC_ACQUIRE)) {
		/* Its name's told may now wait on it alone: the machine of
		 * that name now, if any, is the one to switch to. */
		cur = store_get(g_store, m->name);
		if (cur)
			m = cur;
	}
	pthread_mutex_lock(&told_lock);
	struct told *t = told_get_locked(m->name);
	if (t && t->readers)
		t->readers--;
	bool go = t && !t->readers && !__atomic_load_n(&m->removed, __ATOMIC_ACQUIRE) &&
		  told_begin_locked(t, m);
	pthread_mutex_unlock(&told_lock);
	if (go)
		told_switch_end(t, m);
	machine_put(cur);
}

static void state_text(enum machine_state s, struct strbuf *sb)
{
	strbuf_addf(sb, "%s\n", machine_state_name(s));
}

static bool node_is_state(const struct node *n)
{
	return n->kind == N_FILE && n->file->render == render_state;
}

/* Content of a generated file; false when it has none (ENOENT). */
static bool node_content(struct node *n, struct strbuf *sb)
{
	char path[PATH_MAX + 16];
	switch (n->kind) {
	case N_DRIVER_OPTIONS:
		render_driver_options(n->drv, sb);
		return true;
	case N_LIST:
		list_content(sb);
		return true;
	case N_FILE:
		n->file->render(n->m, sb);
		return true;
	case N_OPTION:
		return machine_option_get(n->m, n->leaf, sb);
	case N_SSH_FILE:
	case N_CERT:
		if (backing_path(n, path, sizeof(path)))
			return *path && read_file(path, sb, NULL) == 0;
		render_ssh(n->m, n->leaf, sb);
		return true;
	default:
		return false;
	}
}

/* An open file: the snapshot for readers, the buffer for option writes. */
struct ofile {
	struct node n;
	pthread_mutex_t lock;
	struct strbuf content; /* protected by lock */
	bool dirty; /* option buffer to apply at flush */
	int live_fd; /* log: read the growing file itself, not a snapshot */
	/* A read-only snapshot renders again when the node changed since
	 * (node_version): at any read when the kernel keeps its pages
	 * (they outlive this open), else at a read from offset 0 (a new
	 * pass, as after poll(2) and lseek). */
	bool snapshot, cached;
	bool lazy;         /* cached, not rendered yet: the first read renders */
	/* state read through the page cache (see struct told): reads get
	 * told; parked while poll(2) last said "not readable". Both
	 * protected by told_lock. */
	bool told_reader, parked;
	enum machine_state polled_v; /* told_reader: the value poll last reported */
	unsigned ver;      /* node_version of content; protected by lock */
	/* poll(2), protected by open_lock: */
	struct fuse_pollhandle *ph; /* to wake, or NULL */
	struct strbuf polled; /* state, .list: the content poll last reported */
	off_t seen;        /* log: the size poll last reported */
	struct ofile *prev, *next; /* in open_files */
};

/* Every open file, so those still open at unmount (no release comes for
 * them) are freed too. */
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ofile *open_files; /* protected by open_lock */

static void ofile_track(struct ofile *of)
{
	pthread_mutex_lock(&open_lock);
	of->next = open_files;
	if (open_files)
		open_files->prev = of;
	open_files = of;
	pthread_mutex_unlock(&open_lock);
}

static void ofile_free(struct ofile *of)
{
	pthread_mutex_lock(&told_lock);
	bool counted = of->told_reader && !of->parked;
	of->told_reader = false;
	pthread_mutex_unlock(&told_lock);
	if (counted)
		told_reader_close(of->n.m);
	pthread_mutex_lock(&open_lock);
	if (of->prev)
		of->prev->next = of->next;
	else if (open_files == of)
		open_files = of->next;
	if (of->next)
		of->next->prev = of->prev;
	pthread_mutex_unlock(&open_lock);
	if (of->live_fd >= 0)
		close(of->live_fd);
	if (of->ph)
		fuse_pollhandle_destroy(of->ph);
	node_release(&of->n);
	strbuf_release(&of->content);
	strbuf_release(&of->polled);
	pthread_mutex_destroy(&of->lock);
	free(of);
}

static bool node_is_log(const struct node *n)
{
	return n->kind == N_FILE && !strcmp(n->file->name, "log");
}

/* log and progress: files that grow while a command runs, read from the
 * store's file itself (live_path gets its path). */
static bool node_live(const struct node *n, char *path, size_t len)
{
	if (n->kind != N_FILE)
		return false;
	if (!strcmp(n->file->name, "log"))
		machine_log_path(n->m, path, len);
	else if (!strcmp(n->file->name, "progress"))
		machine_progress_path(n->m, path, len);
	else
		return false;
	return true;
}

static mode_t node_mode(const struct node *n)
{
	switch (n->kind) {
	case N_ROOT: case N_DRIVERS: case N_DRIVER_DIR: case N_MACHINE:
		return S_IFDIR | 0755;
	case N_OPTIONS_DIR: case N_CERTS_DIR: case N_SSH_DIR:
		return S_IFDIR | 0700;
	case N_DRIVER_OPTIONS:
		return S_IFREG | 0444;
	case N_LIST: /* it carries each machine's error line */
		return S_IFREG | 0400;
	case N_FILE:
		return S_IFREG | n->file->mode;
	case N_OPTION: {
		const struct driver_option *o = option_lookup(n->leaf);
		return S_IFREG | ((o && (o->flags & OPT_SECRET)) ? 0600 : 0644);
	}
	case N_CERT:
		return S_IFREG | (strcmp(n->leaf, "key.pem") ? 0444 : 0400);
	case N_SSH_FILE:
		return S_IFREG | (strcmp(n->leaf, "key") ? 0444 : 0400);
	}
	return 0;
}

/* Who may do what (README "Security model"): the mount's owner and root
 * everything; other users (with -o allow_other) only read what the mode
 * lets "others" read: the listings, driver, state, ip, url, env*, config,
 * docker-version, engine, ctl's list. Never options/, certs/, ssh/,
 * config.json, log, progress, error, .list (it has the errors); never a
 * write, mkdir, rmdir, rename. */
static bool caller_trusted(void)
{
	uid_t uid = fuse_get_context()->uid;
	return uid == g_uid || uid == 0;
}

static bool node_public(const struct node *n)
{
	if (n->kind == N_OPTION || n->kind == N_CERT || n->kind == N_SSH_FILE)
		return false; /* in a 0700 folder */
	return (node_mode(n) & S_IROTH) != 0;
}

static int mfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct node n;
	int rc;
	if (!path && fi) {
		/* fstat of an open file (nullpath_ok): its node, one more ref. */
		n = ((struct ofile *)(uintptr_t)fi->fh)->n;
		if (n.m)
			__atomic_add_fetch(&n.m->refs, 1, __ATOMIC_ACQ_REL);
		rc = 0;
	} else {
		rc = parse_path(path ? path : "", &n);
	}
	if (rc)
		return rc;
	memset(st, 0, sizeof(*st));
	st->st_mode = node_mode(&n);
	st->st_uid = g_uid;
	st->st_gid = g_gid;
	st->st_nlink = S_ISDIR(st->st_mode) ? 2 : 1;
	st->st_mtime = st->st_ctime = st->st_atime = g_mount_time;
	if (n.m) {
		pthread_mutex_lock(&n.m->lock);
		st->st_mtime = st->st_ctime = n.m->changed;
		pthread_mutex_unlock(&n.m->lock);
	}
	if (!S_ISDIR(st->st_mode)) {
		char real[PATH_MAX + 16];
		struct stat rs;
		if (node_live(&n, real, sizeof(real))) {
			st->st_size = stat(real, &rs) == 0 ? rs.st_size : 0;
			if (st->st_size)
				st->st_mtime = rs.st_mtime;
		} else if (backing_path(&n, real, sizeof(real))) {
			if (!*real || stat(real, &rs) < 0)
				rc = -ENOENT;
			else
				st->st_size = rs.st_size;
		} else if (node_is_state(&n)) {
			st->st_size = (off_t)strlen(machine_state_name(told_value(n.m))) + 1;
		} else {
			struct strbuf sb = STRBUF_INIT;
			if (!node_content(&n, &sb))
				rc = -ENOENT;
			st->st_size = (off_t)sb.len;
			strbuf_release(&sb);
		}
	}
	node_release(&n);
	return rc;
}

static int mfs_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
		       off_t off, struct fuse_file_info *fi,
		       enum fuse_readdir_flags flags)
{
	struct node n;
	if (!path)
		path = (const char *)(uintptr_t)fi->fh;
	int rc = parse_path(path, &n);
	if (rc)
		return rc;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	struct strlist names = STRLIST_INIT;
	char real[PATH_MAX + 16];
	switch (n.kind) {
	case N_ROOT:
		fill(buf, ".drivers", NULL, 0, 0);
		fill(buf, ".list", NULL, 0, 0);
		store_list(g_store, &names);
		break;
	case N_DRIVERS:
		for (const struct machine_driver *const *d = machine_drivers; *d; d++)
			strlist_add(&names, (*d)->name);
		break;
	case N_DRIVER_DIR:
		strlist_add(&names, "options");
		break;
	case N_MACHINE:
		for (size_t i = 0; i < NFILES; i++)
			strlist_add(&names, files[i].name);
		strlist_add(&names, "options");
		strlist_add(&names, "certs");
		strlist_add(&names, "ssh");
		break;
	case N_OPTIONS_DIR:
		machine_option_names(n.m, &names);
		break;
	case N_CERTS_DIR:
		for (size_t i = 0; i < 3; i++) {
			snprintf(real, sizeof(real), "%s/%s", n.m->dir, cert_files[i]);
			if (path_exists(real))
				strlist_add(&names, cert_files[i]);
		}
		break;
	case N_SSH_DIR:
		if (machine_has_ssh(n.m))
			for (size_t i = 0; i < 5; i++)
				strlist_add(&names, ssh_files[i]);
		break;
	default:
		rc = -ENOTDIR;
	}
	for (size_t i = 0; i < names.n; i++)
		if (fill(buf, names.v[i], NULL, 0, 0))
			break;
	strlist_clear(&names);
	node_release(&n);
	return rc;
}

static bool node_writable(const struct node *n)
{
	return n->kind == N_OPTION || (n->kind == N_FILE && n->file->write);
}

static int deny_write(struct node *n)
{
	if (n->m) {
		pthread_mutex_lock(&n->m->lock);
		snprintf(n->m->error, sizeof(n->m->error), "cannot write '%s': read-only file",
			 n->kind == N_FILE ? n->file->name : n->leaf);
		pthread_mutex_unlock(&n->m->lock);
		machine_changed(n->m, MCHG_FILES);
	}
	return -EACCES;
}

/* What a node's content depends on: its machine, or for .list every
 * machine. Changes only after machine_changed(). */
static unsigned node_version(const struct node *n)
{
	if (n->kind == N_LIST)
		return store_version(g_store);
	return n->m ? __atomic_load_n(&n->m->version, __ATOMIC_ACQUIRE) : 0;
}

/* Whether the kernel may keep a read-only open's pages: rendered from
 * memory, and told of every change. Not ctl and engine (their check
 * times tick),
 * log, nor the store's own files; nor .list, nor state when struct told
 * does not let it (they change while readers race them: a page read
 * after the kernel took the old size would show them cut short), so
 * those read the open's snapshot (their entries and attributes are
 * still cached). */
static bool node_cacheable(const struct node *n)
{
	switch (n->kind) {
	case N_DRIVER_OPTIONS: case N_OPTION:
		return true;
	case N_FILE:
		return strcmp(n->file->name, "ctl") && strcmp(n->file->name, "log") &&
		       strcmp(n->file->name, "state") && strcmp(n->file->name, "engine") &&
		       strcmp(n->file->name, "progress");
	case N_SSH_FILE:
		return strcmp(n->leaf, "key") && strcmp(n->leaf, "known_hosts");
	default:
		return false;
	}
}

/* state and .list: poll(2) waits for their content to change. */
static bool node_polled(const struct node *n)
{
	return n->kind == N_LIST || (n->kind == N_FILE && !strcmp(n->file->name, "state"));
}

static int open_node(struct ofile *of, struct fuse_file_info *fi)
{
	char path[PATH_MAX + 32];
	int acc = fi->flags & O_ACCMODE;
	if (acc != O_RDONLY && !node_writable(&of->n))
		return deny_write(&of->n);
	if (of->n.kind == N_OPTION) {
		char err[ERR_MAX];
		if (acc != O_RDONLY) {
			int rc = machine_option_check(of->n.m, of->n.leaf, err);
			if (rc)
				return rc;
		}
		if (fi->flags & O_TRUNC) {
			of->dirty = true;
		} else {
			struct strbuf sb = STRBUF_INIT;
			/* Raw value (secrets unmasked) only for writers. */
			bool set = acc == O_RDONLY ? machine_option_get(of->n.m, of->n.leaf, &sb)
						   : machine_option_raw(of->n.m, of->n.leaf, &sb);
			if (!set && acc == O_RDONLY) {
				strbuf_release(&sb);
				return -ENOENT;
			}
			strbuf_add(&of->content, sb.buf ? sb.buf : "", sb.len);
			strbuf_release(&sb);
		}
	} else if (of->n.kind == N_FILE && of->n.file->write && acc != O_RDONLY) {
		/* ctl/driver: a write is a command; nothing to snapshot. The
		 * kernel serialises writes to one inode, so a second command
		 * on a busy machine is refused here, at open. */
		pthread_mutex_lock(&of->n.m->lock);
		bool busy = of->n.m->busy != NULL;
		pthread_mutex_unlock(&of->n.m->lock);
		/* A probe of the engine runs beside a command. */
		if (busy && of->n.file->write != machine_engine_write)
			return -EBUSY;
	} else if (node_live(&of->n, path, sizeof(path))) {
		/* `tail -f log` follows it while a command runs. */
		of->live_fd = open(path, O_RDONLY | O_CLOEXEC | O_CREAT | O_NOFOLLOW, 0600);
		if (of->live_fd < 0)
			return -errno;
	} else if (node_is_state(&of->n) && acc == O_RDONLY &&
		   told_reader_open(of->n.m, &of->polled_v)) {
		of->told_reader = true;
		of->cached = true;
	} else {
		of->ver = node_version(&of->n);
		of->snapshot = acc == O_RDONLY;
		of->cached = of->snapshot && node_cacheable(&of->n);
		/* A generated file's pages are often still in the kernel's
		 * cache: render it at the first read that needs it. */
		of->lazy = of->cached && of->n.kind == N_FILE;
		if (!of->lazy && !node_content(&of->n, &of->content))
			return -ENOENT;
	}
	if (node_polled(&of->n) && !of->told_reader)
		strbuf_add(&of->polled, of->content.buf ? of->content.buf : "", of->content.len);
	fi->direct_io = !of->cached;
	fi->keep_cache = of->cached;
	return 0;
}

static int mfs_open(const char *path, struct fuse_file_info *fi)
{
	struct ofile *of = calloc(1, sizeof(*of));
	if (!of)
		return -ENOMEM;
	of->live_fd = -1;
	pthread_mutex_init(&of->lock, NULL);
	int rc = parse_path(path, &of->n);
	if (!rc && (S_ISDIR(node_mode(&of->n))))
		rc = -EISDIR;
	if (!rc && !caller_trusted() &&
	    ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC) || !node_public(&of->n)))
		rc = -EACCES;
	if (!rc)
		rc = node_sealed(&of->n);
	if (!rc)
		rc = open_node(of, fi);
	if (rc) {
		if (of->live_fd >= 0)
			close(of->live_fd);
		if (of->told_reader)
			told_reader_close(of->n.m);
		node_release(&of->n);
		strbuf_release(&of->content);
		strbuf_release(&of->polled);
		pthread_mutex_destroy(&of->lock);
		free(of);
		return rc;
	}
	fi->fh = (uint64_t)(uintptr_t)of;
	ofile_track(of);
	return 0;
}

static int mfs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	if (!caller_trusted())
		return -EACCES;
	char c[4][256];
	int k = split(path, c);
	if (k != 3 || strcmp(c[1], "options"))
		return k == 2 ? -EACCES : -ENOENT;
	struct machine *m = store_get(g_store, c[0]);
	if (!m)
		return -ENOENT;
	char err[ERR_MAX];
	struct strbuf sb = STRBUF_INIT;
	int rc = 0;
	if (!machine_option_get(m, c[2], &sb))
		rc = machine_option_set(m, c[2], "", err);
	strbuf_release(&sb);
	machine_put(m);
	if (rc)
		return rc;
	fi->flags |= O_TRUNC;
	return mfs_open(path, fi);
}

/* An fd of a removed machine answers ENOENT: never the old record, never
 * a write into the folder of a new machine of the same name. */
static bool node_gone(const struct node *n)
{
	return n->m && __atomic_load_n(&n->m->removed, __ATOMIC_ACQUIRE);
}

static int mfs_read(const char *path, char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct ofile *of = (struct ofile *)(uintptr_t)fi->fh;
	if (node_gone(&of->n))
		return -ENOENT;
	if (of->live_fd >= 0) {
		ssize_t n = pread(of->live_fd, buf, size, off);
		return n < 0 ? -errno : (int)n;
	}
	if (of->told_reader) {
		/* A page of told: the size the kernel holds is told's. */
		struct strbuf sb = STRBUF_INIT;
		state_text(told_peek(of->n.m), &sb);
		size_t n = 0;
		if ((size_t)off < sb.len) {
			n = sb.len - (size_t)off;
			if (n > size)
				n = size;
			memcpy(buf, sb.buf + off, n);
		}
		strbuf_release(&sb);
		return (int)n;
	}
	pthread_mutex_lock(&of->lock);
	unsigned ver = node_version(&of->n);
	if (of->snapshot && (of->lazy || (ver != of->ver && (of->cached || off == 0)))) {
		/* Cached pages outlive the open: never fill them with a
		 * version older than the last invalidation. */
		struct strbuf sb = STRBUF_INIT;
		if (node_content(&of->n, &sb)) {
			strbuf_release(&of->content);
			of->content = sb;
		} else {
			strbuf_release(&sb);
		}
		of->ver = ver;
		of->lazy = false;
	}
	size_t n = 0;
	if ((size_t)off < of->content.len) {
		n = of->content.len - (size_t)off;
		if (n > size)
			n = size;
		memcpy(buf, of->content.buf + off, n);
	}
	pthread_mutex_unlock(&of->lock);
	return (int)n;
}

/* poll(2): state and .list are readable once their content differs from
 * what the last poll that said so saw (or the open); log once it grew
 * past the size poll last reported. Other files are always ready. */
static int mfs_poll(const char *path, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph, unsigned *reventsp)
{
	struct ofile *of = (struct ofile *)(uintptr_t)fi->fh;
	bool is_state = node_polled(&of->n);
	bool is_log = node_is_log(&of->n);
	if (!is_state && !is_log) {
		*reventsp = POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;
		if (ph)
			fuse_pollhandle_destroy(ph);
		return 0;
	}
	if (ph) {
		/* Armed before the check: a change after it wakes this one. */
		pthread_mutex_lock(&open_lock);
		if (of->ph)
			fuse_pollhandle_destroy(of->ph);
		of->ph = ph;
		pthread_mutex_unlock(&open_lock);
	}
	if (of->told_reader) {
		/* Readable once told (what its pages show) moved on; parked,
		 * not counted as a reader, while it waits (see struct told). */
		struct machine *m = of->n.m;
		pthread_mutex_lock(&told_lock);
		struct told *t = told_get_locked(m->name);
		bool ready = t && !t->switching && t->v != of->polled_v;
		bool go = false;
		if (ready) {
			of->polled_v = t->v;
			if (of->parked) {
				of->parked = false;
				t->readers++;
			}
		} else if (t && ph && !of->parked) {
			of->parked = true;
			if (t->readers)
				t->readers--;
			go = !t->readers && told_begin_locked(t, m);
		}
		pthread_mutex_unlock(&told_lock);
		if (go)
			told_switch_end(t, m);
		*reventsp = ready ? POLLIN | POLLRDNORM : 0;
		return 0;
	}
	/* Rendered outside open_lock: tree_notify takes it under m->lock. */
	struct stat st;
	off_t size = is_log && of->live_fd >= 0 && fstat(of->live_fd, &st) == 0 ? st.st_size : 0;
	struct strbuf now = STRBUF_INIT;
	if (is_state)
		node_content(&of->n, &now);
	pthread_mutex_lock(&open_lock);
	bool ready = is_log ? size > of->seen
			    : now.len != of->polled.len ||
				      memcmp(strbuf_str(&now), strbuf_str(&of->polled), now.len);
	if (ready && is_log)
		of->seen = size;
	if (ready && is_state) {
		strbuf_release(&of->polled);
		of->polled = now;
		now = (struct strbuf)STRBUF_INIT;
	}
	pthread_mutex_unlock(&open_lock);
	strbuf_release(&now);
	*reventsp = ready ? POLLIN | POLLRDNORM : 0;
	return 0;
}

/* A command runs on its own thread while this FUSE thread waits, so a
 * writer's Ctrl-C (a FUSE interrupt) can cancel it: the machine's cancel
 * flag is set and the write returns once the command has stopped. */
struct job {
	write_fn fn;
	struct machine *m;
	const char *text;
	char *err;
	int rc;
	bool done;          /* protected by lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void *job_main(void *arg)
{
	struct job *j = arg;
	int rc = j->fn(j->m, j->text, j->err);
	pthread_mutex_lock(&j->lock);
	j->rc = rc;
	j->done = true;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

static int run_interruptible(write_fn fn, struct machine *m, const char *text, char *err)
{
	struct job j = { .fn = fn, .m = m, .text = text, .err = err };
	/* libfuse cancels its workers at unmount: this one must first see its
	 * command end, so it ends the command itself when the session exits. */
	int oldstate;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &oldstate);
	struct fuse_session *se = fuse_get_session(fuse_get_context()->fuse);
	pthread_mutex_init(&j.lock, NULL);
	pthread_cond_init(&j.cond, NULL);
	pthread_t t;
	if (pthread_create(&t, NULL, job_main, &j) != 0) {
		job_main(&j);
	} else {
		bool cancelled = false;
		pthread_mutex_lock(&j.lock);
		while (!j.done) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 200 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&j.cond, &j.lock, &ts);
			if (!j.done && !cancelled && (fuse_interrupted() || fuse_session_exited(se))) {
				cancelled = true;
				__atomic_store_n(&m->cancel, 1, __ATOMIC_RELAXED);
			}
		}
		pthread_mutex_unlock(&j.lock);
		pthread_join(t, NULL);
	}
	pthread_mutex_destroy(&j.lock);
	pthread_cond_destroy(&j.cond);
	pthread_setcancelstate(oldstate, NULL);
	return j.rc;
}

static int mfs_write(const char *path, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct ofile *of = (struct ofile *)(uintptr_t)fi->fh;
	char err[ERR_MAX];
	if (node_gone(&of->n))
		return -ENOENT;
	if (of->n.kind == N_OPTION) {
		if ((size_t)off + size > 64 * 1024)
			return -EFBIG;
		/* Readers of this open file copy from content: one at a time. */
		pthread_mutex_lock(&of->lock);
		if ((size_t)off > of->content.len) {
			size_t pad = (size_t)off - of->content.len;
			strbuf_grow(&of->content, pad);
			memset(of->content.buf + of->content.len, '\n', pad);
			of->content.len += pad;
		}
		size_t end = (size_t)off + size;
		if (end > of->content.len) {
			strbuf_grow(&of->content, end - of->content.len);
			of->content.len = end;
		}
		memcpy(of->content.buf + off, buf, size);
		of->content.buf[of->content.len] = '\0';
		of->dirty = true;
		/* A bad byte fails this write, not the close. */
		int bad = machine_option_check_value(of->n.m, of->n.leaf, of->content.buf,
						     of->content.len, err);
		pthread_mutex_unlock(&of->lock);
		return bad ? bad : (int)size;
	}
	/* One write is one command; its error comes back on this write. */
	if (memchr(buf, '\0', size))
		return -EINVAL;
	char *text = strndup(buf, size);
	if (!text)
		return -ENOMEM;
	int rc = run_interruptible(of->n.file->write, of->n.m, text, err);
	free(text);
	return rc ? rc : (int)size;
}

static int apply_option(struct ofile *of)
{
	if (of->n.kind != N_OPTION || !of->dirty)
		return 0;
	char err[ERR_MAX];
	pthread_mutex_lock(&of->lock);
	int rc = 0;
	if (of->dirty) {
		of->dirty = false;
		rc = machine_option_set(of->n.m, of->n.leaf, strbuf_str(&of->content), err);
	}
	pthread_mutex_unlock(&of->lock);
	return rc;
}

static int mfs_flush(const char *path, struct fuse_file_info *fi)
{
	return apply_option((struct ofile *)(uintptr_t)fi->fh);
}

static int mfs_release(const char *path, struct fuse_file_info *fi)
{
	struct ofile *of = (struct ofile *)(uintptr_t)fi->fh;
	apply_option(of);
	ofile_free(of);
	return 0;
}

static int mfs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	if (!caller_trusted())
		return -EACCES;
	if (fi) {
		struct ofile *of = (struct ofile *)(uintptr_t)fi->fh;
		if (of->n.kind == N_OPTION) {
			pthread_mutex_lock(&of->lock);
			if ((size_t)size < of->content.len) {
				of->content.len = (size_t)size;
				of->content.buf[size] = '\0';
			}
			of->dirty = true;
			pthread_mutex_unlock(&of->lock);
			return 0;
		}
		return node_writable(&of->n) ? 0 : -EACCES;
	}
	struct node n;
	int rc = parse_path(path, &n);
	if (rc)
		return rc;
	char err[ERR_MAX];
	if (n.kind == N_OPTION) {
		struct strbuf sb = STRBUF_INIT;
		if (!machine_option_get(n.m, n.leaf, &sb))
			rc = -ENOENT;
		else if ((size_t)size < sb.len) {
			sb.len = (size_t)size;
			sb.buf[size] = '\0';
			rc = machine_option_set(n.m, n.leaf, sb.buf, err);
		}
		strbuf_release(&sb);
	} else if (!node_writable(&n)) {
		rc = S_ISDIR(node_mode(&n)) ? -EISDIR : deny_write(&n);
	}
	node_release(&n);
	return rc;
}

static int mfs_unlink(const char *path)
{
	if (!caller_trusted())
		return -EACCES;
	struct node n;
	int rc = parse_path(path, &n);
	if (rc)
		return rc;
	char err[ERR_MAX];
	if (n.kind == N_OPTION)
		rc = machine_option_del(n.m, n.leaf, err);
	else
		rc = S_ISDIR(node_mode(&n)) ? -EISDIR : -EACCES;
	node_release(&n);
	return rc;
}

static int mfs_rename(const char *from, const char *to, unsigned int flags)
{
	if (!caller_trusted())
		return -EACCES;
	struct node a;
	int rc = parse_path(from, &a);
	if (rc)
		return rc;
	char c[4][256];
	int k = split(to, c);
	bool to_option = k == 3 && !strcmp(c[1], "options");
	if (a.kind != N_OPTION || !to_option || strcmp(c[0], a.m->name) || flags) {
		/* An option to another machine's options/ may be copied (mv
		 * does that on EXDEV); anything else, a machine above all, is
		 * not renamed: mv's copy fallback would make a stray machine. */
		bool copyable = a.kind == N_OPTION && to_option && !flags;
		node_release(&a);
		return copyable ? -EXDEV : -EPERM;
	}
	char err[ERR_MAX];
	struct strbuf sb = STRBUF_INIT;
	machine_option_raw(a.m, a.leaf, &sb);
	rc = machine_option_set(a.m, c[2], strbuf_str(&sb), err);
	if (!rc && strcmp(c[2], a.leaf))
		rc = machine_option_del(a.m, a.leaf, err);
	strbuf_release(&sb);
	node_release(&a);
	return rc;
}

static int mfs_mkdir(const char *path, mode_t mode)
{
	if (!caller_trusted())
		return -EACCES;
	char c[4][256];
	int k = split(path, c);
	if (k != 1)
		return k < 0 ? -ENAMETOOLONG : -EACCES;
	char err[ERR_MAX];
	return store_mkdir(g_store, c[0], err);
}

static int mfs_rmdir(const char *path)
{
	if (!caller_trusted())
		return -EACCES;
	struct node n;
	int rc = parse_path(path, &n);
	if (rc)
		return rc;
	if (n.kind != N_MACHINE) {
		node_release(&n);
		return -EACCES;
	}
	char err[ERR_MAX];
	tl_rmdir = true;
	rc = store_remove(g_store, n.m, false, err);
	tl_rmdir = false;
	node_release(&n);
	/* A refused rm is "busy" to rmdir(2) callers. */
	return rc == -EBUSY ? -EBUSY : rc ? -EIO : 0;
}

static int mfs_utimens(const char *path, const struct timespec tv[2],
		       struct fuse_file_info *fi)
{
	if (!caller_trusted())
		return -EPERM;
	struct node n;
	int rc = path ? parse_path(path, &n) : 0;
	if (path && !rc)
		node_release(&n);
	return rc;
}

/* Modes are fixed; editors that copy a file's mode onto their temp file
 * in options/ (sed -i, vim) are let through. */
static int mfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	if (!caller_trusted())
		return -EPERM;
	struct node n;
	if (!path && fi)
		return ((struct ofile *)(uintptr_t)fi->fh)->n.kind == N_OPTION ? 0 : -EPERM;
	int rc = parse_path(path, &n);
	if (rc)
		return rc;
	rc = n.kind == N_OPTION ? 0 : -EPERM;
	node_release(&n);
	return rc;
}

/* With nullpath_ok, readdir gets no path: opendir keeps it in fh. */
static int mfs_opendir(const char *path, struct fuse_file_info *fi)
{
	struct node n;
	int rc = parse_path(path, &n);
	if (rc)
		return rc;
	rc = S_ISDIR(node_mode(&n)) ? 0 : -ENOTDIR;
	if (!rc && !caller_trusted() && !node_public(&n))
		rc = -EACCES;
	node_release(&n);
	if (!rc) {
		char *copy = strdup(path);
		if (!copy)
			return -ENOMEM;
		fi->fh = (uint64_t)(uintptr_t)copy;
	}
	return rc;
}

static int mfs_releasedir(const char *path, struct fuse_file_info *fi)
{
	free((char *)(uintptr_t)fi->fh);
	return 0;
}

static int inval(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Drop the kernel's attributes and pages of a path; -ENOENT if it knows
 * none. */
static int inval(const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return n > 0 && (size_t)n < sizeof(path) ? fuse_invalidate_path(g_fuse, path) : -ENOENT;
}

static void wake_pollers(struct machine *m, bool log)
{
	pthread_mutex_lock(&open_lock);
	for (struct ofile *of = open_files; of; of = of->next) {
		if (!of->ph)
			continue;
		bool hit = log ? of->n.m == m && node_is_log(&of->n)
			       : of->n.kind == N_LIST || (of->n.m == m && of->n.kind == N_FILE &&
							   !strcmp(of->n.file->name, "state"));
		if (hit) {
			fuse_notify_poll(of->ph);
			fuse_pollhandle_destroy(of->ph);
			of->ph = NULL;
		}
	}
	pthread_mutex_unlock(&open_lock);
}

/* store_notify_fn: drop what the kernel caches of m. Waits for no FUSE
 * request (pages being read stay locked only until their reply), so it
 * may run inside one. */
static void tree_notify(void *arg, struct machine *m, unsigned what)
{
	if (what & MCHG_LOG) {
		inval("/%s/log", m->name);
		inval("/%s/progress", m->name);
		wake_pollers(m, true);
	}
	if (what & (MCHG_FILES | MCHG_GONE)) {
		inval("/.list");
		/* A folder the kernel does not know has no children it knows. */
		if (inval("/%s", m->name) != -ENOENT) {
			/* state: told_sync below, unless gone (old fds then
			 * read past the pages, and get ENOENT). */
			for (size_t i = 0; i < NFILES; i++)
				if (files[i].render != render_state || (what & MCHG_GONE))
					inval("/%s/%s", m->name, files[i].name);
			for (size_t i = 0; i < 3; i++)
				inval("/%s/certs/%s", m->name, cert_files[i]);
			for (size_t i = 0; i < 5; i++)
				inval("/%s/ssh/%s", m->name, ssh_files[i]);
			struct strlist names = STRLIST_INIT;
			machine_option_names(m, &names);
			for (size_t i = 0; i < names.n; i++)
				inval("/%s/options/%s", m->name, names.v[i]);
			strlist_clear(&names);
		}
		if (!(what & MCHG_GONE))
			told_sync(m);
		wake_pollers(m, false);
	}
	/* rm on ctl: the name leaves the kernel's cache before the write
	 * returns (this waits for the root's lock: a slow rmdir of another
	 * machine delays it, nothing here waits for this thread). */
	if ((what & MCHG_GONE) && !tl_rmdir)
		fuse_lowlevel_notify_inval_entry(fuse_get_session(g_fuse), FUSE_ROOT_ID,
						 m->name, strlen(m->name));
}

static void *mfs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* Long: every change is told to the kernel (tree_notify). No
	 * negative entries: ssh/ and certs/ files appear after create. */
	cfg->attr_timeout = 3600;
	cfg->entry_timeout = 3600;
	cfg->negative_timeout = 0;
	cfg->no_rofd_flush = 1;
	cfg->direct_io = 0;
	cfg->hard_remove = 1;
	/* Writes use the handle only: a blocked ctl write must not hold
	 * libfuse's path lock, or rmdir of its machine waits for it. */
	cfg->nullpath_ok = 1;
	g_fuse = fuse_get_context()->fuse;
	store_set_notify(g_store, tree_notify, NULL);
	store_be_start(g_store); /* the etcd store's watch and lease threads */
	if (g_refresh_interval >= 0)
		store_refresher_start(g_store, g_refresh_interval);
	return NULL;
}

static void mfs_destroy(void *data)
{
	store_cancel_all(g_store);
	store_refresher_stop(g_store);
	store_set_notify(g_store, NULL, NULL);
}

static const struct fuse_operations ops = {
	.init = mfs_init,
	.destroy = mfs_destroy,
	.getattr = mfs_getattr,
	.readdir = mfs_readdir,
	.opendir = mfs_opendir,
	.releasedir = mfs_releasedir,
	.open = mfs_open,
	.create = mfs_create,
	.read = mfs_read,
	.write = mfs_write,
	.flush = mfs_flush,
	.release = mfs_release,
	.truncate = mfs_truncate,
	.unlink = mfs_unlink,
	.rename = mfs_rename,
	.mkdir = mfs_mkdir,
	.rmdir = mfs_rmdir,
	.utimens = mfs_utimens,
	.chmod = mfs_chmod,
	.poll = mfs_poll,
};

int fuse_tree_main(struct fuse_args *args, struct store *s, int refresh)
{
	struct fuse_cmdline_opts opts;
	if (fuse_parse_cmdline(args, &opts) != 0)
		return 1;
	int rc = 1;
	if (!opts.mountpoint) {
		fprintf(stderr, "machinefs: no mount point given (see machinefs --help)\n");
		return 1;
	}
	g_store = s;
	g_refresh_interval = refresh;
	g_uid = getuid();
	g_gid = getgid();
	g_mount_time = time(NULL);
	struct fuse *f = fuse_new(args, &ops, sizeof(ops), NULL);
	if (!f)
		goto out;
	if (fuse_mount(f, opts.mountpoint) != 0)
		goto out_destroy;
	if (fuse_daemonize(opts.foreground) != 0)
		goto out_unmount;
	struct fuse_session *se = fuse_get_session(f);
	if (fuse_set_signal_handlers(se) != 0)
		goto out_unmount;
	if (opts.singlethread) {
		rc = fuse_loop(f);
	} else {
		/* Long commands block their thread: allow many at once (libfuse
		 * 3.14's fuse_main ignores -o max_threads). */
		struct fuse_loop_config *cfg = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(cfg, (unsigned)opts.clone_fd);
		fuse_loop_cfg_set_idle_threads(cfg, opts.max_idle_threads);
		fuse_loop_cfg_set_max_threads(cfg, opts.max_threads > 256 && opts.max_threads < 100000
						   ? opts.max_threads : 256);
		rc = fuse_loop_mt(f, cfg);
		fuse_loop_cfg_destroy(cfg);
	}
	fuse_remove_signal_handlers(se);
	/* No more notices to the kernel: the session ends below. */
	store_set_notify(g_store, NULL, NULL);
	strbuf_release(&list_cache);
	list_valid = false;
	pthread_mutex_lock(&told_lock);
	told_off = true;
	pthread_mutex_unlock(&told_lock);
	while (open_files)
		ofile_free(open_files);
	told_free_all();
out_unmount:
	fuse_unmount(f);
out_destroy:
	fuse_destroy(f);
out:
	free(opts.mountpoint);
	/* The loop returns the signal that ended it (SIGTERM, SIGINT,
	 * SIGHUP): a clean unmount, not an error. */
	return rc < 0 ? 1 : 0;
}

char *fuse_tree_mountpoint(const struct fuse_args *args)
{
	struct fuse_args copy = FUSE_ARGS_INIT(0, NULL);
	for (int i = 0; i < args->argc; i++)
		fuse_opt_add_arg(&copy, args->argv[i]);
	struct fuse_cmdline_opts opts = { 0 };
	char *mnt = NULL;
	if (fuse_parse_cmdline(&copy, &opts) == 0)
		mnt = opts.mountpoint;
	fuse_opt_free_args(&copy);
	return mnt;
}

void fuse_tree_help(struct fuse_args *args)
{
	fuse_cmdline_help();
	fuse_lib_help(args);
}
