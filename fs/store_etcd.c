/* The etcd back end: see fs/store_etcd.h for the design. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "drivers/driver.h"
#include "fs/config.h"
#include "fs/etcd.h"
#include "fs/seal.h"
#include "fs/store_backend.h"
#include "fs/store_etcd.h"
#include "lib/fileutil.h"
#include "lib/json.h"
#include "provision/certs.h"

#define LEASE_TTL 10       /* seconds a dead daemon's locks outlive it */
#define FILE_MAX (512 * 1024) /* larger files (disk images) stay local */
#define OWN_REVS 16

/* What this daemon did to one machine's keys: its own transactions'
 * revisions (their watch events are echoes to skip) and the lock value it
 * holds. Protected by etcd_store.lock. */
struct mine {
	char name[MACHINE_NAME_MAX + 1];
	long long revs[OWN_REVS];
	unsigned next;
	char *lockval;
	char *unlock_val;   /* a lock whose release etcd did not take: again */
	bool dirty;         /* a change etcd did not take: resync from etcd */
};

struct etcd_store {
	struct etcd *e;
	char *prefix;       /* "/PREFIX/" */
	char root[PATH_MAX];
	char holder[PATH_MAX + 128];
	struct store *s;
	long long lease;    /* atomic */
	long long rev;      /* last revision seen; the watch thread's */
	volatile int stop;
	pthread_t watch_t, keep_t, guard_t;
	int ttl;            /* the lease's seconds */
	long long last_ok;  /* atomic: monotonic ms of the last kept lease */
	bool threads;
	bool no_ca;         /* export: never make the store's CA */
	pthread_mutex_t lock;
	pthread_mutex_t lease_lock; /* one new lease at a time */
	struct mine *v;     /* protected by lock */
	size_t n;
	struct seal_key key; /* the secrets' key, when have_key */
	bool have_key;
	char *key_file;
	bool sealed;        /* the store's secrets are sealed (with or without our key) */
};

bool store_etcd_spec(const char *store)
{
	return !strncmp(store, "etcd://", 7);
}

static uint64_t fnv64(const char *a, const char *b)
{
	uint64_t h = 14695981039346656037ull;
	for (const char *p = a; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	h = (h ^ '\n') * 1099511628211ull;
	for (const char *p = b; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h;
}

static bool prefix_valid(const char *p)
{
	if (!*p || strstr(p, "//") || strstr(p, ".."))
		return false;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("._-/", *p)))
			return false;
	return true;
}

int store_etcd_open(const char *spec, const char *cache, const char *mountpoint,
		    struct etcd_store **out, char *root, size_t len, char *err)
{
	const char *hosts = spec + 7, *slash = strchr(hosts, '/');
	char pfx[256] = "machinefs";
	if (slash && slash[1]) {
		size_t n = strlen(slash + 1);
		while (n && slash[1 + n - 1] == '/')
			n--;
		if (n >= sizeof(pfx))
			return error_set(err, ENAMETOOLONG, "etcd prefix too long in '%s'", spec);
		memcpy(pfx, slash + 1, n);
		pfx[n] = '\0';
	}
	if (!prefix_valid(pfx))
		return error_set(err, EINVAL, "invalid etcd prefix '%s': allowed are 0-9a-zA-Z . _ - /", pfx);
	char hostlist[1024];
	size_t hl = slash ? (size_t)(slash - hosts) : strlen(hosts);
	if (hl >= sizeof(hostlist))
		return error_set(err, ENAMETOOLONG, "etcd endpoint list too long in '%s'", spec);
	memcpy(hostlist, hosts, hl);
	hostlist[hl] = '\0';
	struct etcd_store *es = calloc(1, sizeof(*es));
	if (!es)
		abort();
	int rc = etcd_open(hostlist, &es->e, err);
	if (rc) {
		free(es);
		return rc;
	}
	size_t pl = strlen(pfx) + 3;
	es->prefix = malloc(pl);
	if (!es->prefix)
		abort();
	snprintf(es->prefix, pl, "/%s/", pfx);
	pthread_mutex_init(&es->lock, NULL);
	pthread_mutex_init(&es->lease_lock, NULL);
	/* Tests shorten the lease (a daemon paused past it). */
	const char *ttl = getenv("MACHINEFS_ETCD_TTL");
	es->ttl = ttl && atoi(ttl) >= 2 && atoi(ttl) <= 600 ? atoi(ttl) : LEASE_TTL;
	char host[256] = "?";
	gethostname(host, sizeof(host) - 1);
	snprintf(es->holder, sizeof(es->holder), "%s (pid %d, mount '%s')", host, (int)getpid(),
		 mountpoint);
	if (cache && *cache) {
		snprintf(es->root, sizeof(es->root), "%s", cache);
	} else {
		uint64_t h = fnv64(spec, mountpoint);
		const char *run = getenv("XDG_RUNTIME_DIR"), *home = getenv("HOME");
		if (run && *run)
			snprintf(es->root, sizeof(es->root), "%s/machinefs/etcd/%016llx", run,
				 (unsigned long long)h);
		else if (!getuid())
			snprintf(es->root, sizeof(es->root), "/var/cache/machinefs/etcd/%016llx",
				 (unsigned long long)h);
		else
			snprintf(es->root, sizeof(es->root), "%s/.cache/machinefs/etcd/%016llx",
				 home ? home : "/tmp", (unsigned long long)h);
	}
	snprintf(root, len, "%s", es->root);
	*out = es;
	return 0;
}

static struct mine *mine_get(struct etcd_store *es, const char *name)
{
	for (size_t i = 0; i < es->n; i++)
		if (!strcmp(es->v[i].name, name))
			return &es->v[i];
	es->v = realloc(es->v, (es->n + 1) * sizeof(*es->v));
	if (!es->v)
		abort();
	struct mine *x = &es->v[es->n++];
	memset(x, 0, sizeof(*x));
	snprintf(x->name, sizeof(x->name), "%s", name);
	return x;
}

static void mine_rev(struct etcd_store *es, const char *name, long long rev)
{
	pthread_mutex_lock(&es->lock);
	struct mine *x = mine_get(es, name);
	x->revs[x->next++ % OWN_REVS] = rev;
	pthread_mutex_unlock(&es->lock);
}

static bool mine_has_rev(struct etcd_store *es, const char *name, long long rev)
{
	pthread_mutex_lock(&es->lock);
	struct mine *x = mine_get(es, name);
	bool found = false;
	for (size_t i = 0; i < OWN_REVS && !found; i++)
		found = x->revs[i] == rev;
	pthread_mutex_unlock(&es->lock);
	return found;
}

/* A change of name's folder did not reach etcd: the working copy is
 * made etcd's again once it answers (keep_main). */
static void mine_dirty(struct etcd_store *es, const char *name)
{
	pthread_mutex_lock(&es->lock);
	mine_get(es, name)->dirty = true;
	pthread_mutex_unlock(&es->lock);
}

/* Our lock value for name, or NULL (a copy to free). */
static char *mine_lockval(struct etcd_store *es, const char *name)
{
	pthread_mutex_lock(&es->lock);
	struct mine *x = mine_get(es, name);
	char *v = x->lockval ? strdup(x->lockval) : NULL;
	pthread_mutex_unlock(&es->lock);
	return v;
}

static void key_of(struct etcd_store *es, char *buf, size_t len, const char *kind,
		   const char *name, const char *file)
{
	snprintf(buf, len, "%s%s/%s%s%s", es->prefix, kind, name, file ? "/" : "", file ? file : "");
}

int store_etcd_secure(struct etcd_store *es, const struct etcd_security *sec,
		      const char *secrets_key_file, char *err)
{
	int rc = etcd_secure(es->e, sec, err);
	if (rc || !secrets_key_file || !*secrets_key_file)
		return rc;
	rc = seal_key_load(secrets_key_file, &es->key, err);
	if (rc)
		return rc;
	es->have_key = true;
	es->key_file = strdup(secrets_key_file);
	if (!es->key_file)
		abort();
	return 0;
}

/* Secrets at rest (fs/seal.h). The rule for every path between the
 * working copy and etcd: a value put under PREFIX goes through to_etcd()
 * (sealed when secret; refused without the key on a sealed store), a
 * value read from etcd into a file through from_etcd() (opened with the
 * key; left sealed without it), and "does etcd hold this file already"
 * is remote_same() (the raw values differ each time: a fresh nonce). */

/* Files that stay readable without the key: certificates, public keys,
 * host-key pins; the records (config.json, machinefs.json) have their
 * secret fields sealed one by one. */
static bool record_file(const char *name)
{
	return !strcmp(name, "config.json") || !strcmp(name, "machinefs.json");
}

static bool public_file(const char *name)
{
	size_t n = strlen(name);
	return (n > 4 && !strcmp(name + n - 4, ".pub")) || !strcmp(name, "ca.pem") ||
	       !strcmp(name, "cert.pem") || !strcmp(name, "server.pem") ||
	       !strcmp(name, "known_hosts") || record_file(name);
}

static int locked_out(struct etcd_store *es, char *err)
{
	(void)es;
	return error_set(err, EACCES, "%s", SEAL_LOCKED);
}

/* A record's secret string field it: sealed under "KEY#PATH". */
static int seal_field(struct etcd_store *es, const char *key, const char *path, cJSON *parent,
		      const char *leaf, bool *changed, char *err)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(parent, leaf);
	if (!cJSON_IsString(it) || !*it->valuestring || seal_text_is_sealed(it->valuestring))
		return 0;
	if (!es->have_key)
		return es->sealed ? locked_out(es, err) : 0;
	char aad[1024];
	snprintf(aad, sizeof(aad), "%s#%s", key, path);
	struct strbuf sb = STRBUF_INIT;
	seal_text(&es->key, aad, it->valuestring, &sb);
	json_put_str(parent, leaf, strbuf_str(&sb));
	strbuf_release(&sb);
	*changed = true;
	return 0;
}

/* The secret fields of a record: options marked secret (machinefs.json),
 * the driver's secret keys (config.json). */
static int seal_record(struct etcd_store *es, const char *key, const char *file, const void *p,
		       size_t n, struct strbuf *out, char *err)
{
	cJSON *j = cJSON_ParseWithLength(p, n);
	bool changed = false;
	int rc = 0;
	char path[600];
	if (!strcmp(file, "machinefs.json")) {
		cJSON *o = json_obj(j, "Options");
		struct strlist names = STRLIST_INIT; /* sealing replaces the items */
		for (cJSON *it = o ? o->child : NULL; it; it = it->next) {
			const struct driver_option *d = it->string ? option_lookup(it->string) : NULL;
			if (d && (d->flags & OPT_SECRET))
				strlist_add(&names, it->string);
		}
		for (size_t i = 0; i < names.n && !rc; i++) {
			snprintf(path, sizeof(path), "Options.%s", names.v[i]);
			rc = seal_field(es, key, path, o, names.v[i], &changed, err);
		}
		strlist_clear(&names);
	} else {
		const struct machine_driver *drv = driver_find(json_str(j, "DriverName", ""));
		cJSON *d = json_obj(j, "Driver");
		for (const struct driver_option *o = drv && d ? drv->options : NULL; o && o->name && !rc; o++) {
			if (!(o->flags & OPT_SECRET) || !o->json_key)
				continue;
			const char *leaf;
			cJSON *parent = json_path_parent(d, o->json_key, &leaf);
			snprintf(path, sizeof(path), "Driver.%s", o->json_key);
			if (parent)
				rc = seal_field(es, key, path, parent, leaf, &changed, err);
		}
	}
	if (!rc && changed) {
		json_emit_go(out, j);
		if (n && ((const char *)p)[n - 1] == '\n')
			strbuf_addch(out, '\n');
	} else if (!rc) {
		strbuf_add(out, p, n);
	}
	cJSON_Delete(j);
	return rc;
}

/* A working copy's file as it goes to etcd under key: secrets sealed. */
static int to_etcd(struct etcd_store *es, const char *key, const char *file, const void *p,
		   size_t n, struct strbuf *out, char *err)
{
	if (record_file(file))
		return seal_record(es, key, file, p, n, out, err);
	if (public_file(file) || seal_is_sealed(p, n) || (!es->have_key && !es->sealed)) {
		strbuf_add(out, p, n);
		return 0;
	}
	if (!es->have_key)
		return locked_out(es, err);
	seal(&es->key, key, p, n, out);
	return 0;
}

/* Open every sealed string under j (its path so far in path). */
static void open_fields(struct etcd_store *es, const char *key, cJSON *j, char *path,
			size_t plen, bool *changed)
{
	for (cJSON *it = j ? j->child : NULL; it; it = it->next) {
		if (!it->string)
			continue;
		size_t l = strlen(path);
		snprintf(path + l, plen - l, "%s%s", l ? "." : "", it->string);
		if (cJSON_IsObject(it)) {
			open_fields(es, key, it, path, plen, changed);
		} else if (cJSON_IsString(it) && seal_text_is_sealed(it->valuestring)) {
			char aad[1024], err[ERR_MAX];
			snprintf(aad, sizeof(aad), "%s#%s", key, path);
			struct strbuf sb = STRBUF_INIT;
			if (!seal_text_open(&es->key, aad, it->valuestring, &sb, err)) {
				/* In place: the walk goes on from it (a key may repeat). */
				if (cJSON_SetValuestring(it, strbuf_str(&sb)))
					*changed = true;
			} else {
				fprintf(stderr, "machinefs: %s\n", err);
			}
			if (sb.len)
				OPENSSL_cleanse(sb.buf, sb.len);
			strbuf_release(&sb);
		}
		path[l] = '\0';
	}
}

/* A value from etcd under key as the working copy holds it: opened with
 * our key; sealed as is without it (nothing uses it then). */
static void from_etcd(struct etcd_store *es, const char *key, const char *file, const void *p,
		      size_t n, struct strbuf *out)
{
	if (es->have_key && record_file(file) && memmem(p, n, SEAL_TEXT, strlen(SEAL_TEXT))) {
		cJSON *j = cJSON_ParseWithLength(p, n);
		bool changed = false;
		char path[600] = "";
		open_fields(es, key, j, path, sizeof(path), &changed);
		if (changed) {
			json_emit_go(out, j);
			if (n && ((const char *)p)[n - 1] == '\n')
				strbuf_addch(out, '\n');
			cJSON_Delete(j);
			return;
		}
		cJSON_Delete(j);
	} else if (es->have_key && !record_file(file) && seal_is_sealed(p, n)) {
		char err[ERR_MAX];
		if (!seal_open(&es->key, key, p, n, out, err))
			return;
		fprintf(stderr, "machinefs: %s\n", err);
	}
	strbuf_add(out, p, n);
}

/* Whether etcd's raw value of the working copy's p[0..n) is up to date:
 * the same once opened, and sealed where it should be. */
static bool remote_same(struct etcd_store *es, const struct etcd_kv *kv, const char *file,
			const void *p, size_t n)
{
	struct strbuf plain = STRBUF_INIT;
	from_etcd(es, kv->key, file, kv->val, kv->len, &plain);
	bool same = plain.len == n && !memcmp(plain.buf, p, n);
	if (plain.len)
		OPENSSL_cleanse(plain.buf, plain.len);
	strbuf_release(&plain);
	if (same && es->have_key) {
		/* A secret stored plainly (before the store had a key) is
		 * sealed by the next change. */
		struct strbuf s = STRBUF_INIT;
		same = !to_etcd(es, kv->key, file, kv->val, kv->len, &s, NULL) && s.len == kv->len &&
		       !memcmp(s.buf, kv->val, kv->len);
		strbuf_release(&s);
	}
	return same;
}

/* Files of a machine folder that are shared: records, certificates, keys,
 * known_hosts; not the log, temp files or large disk images. */
static bool shared_file(const char *name)
{
	return name[0] != '.' && strcmp(name, "machinefs.log") && strcmp(name, "machinefs.progress") &&
	       !strstr(name, ".tmp") && strlen(name) <= 200;
}

static mode_t file_mode(const char *name)
{
	size_t n = strlen(name);
	bool pub = (n > 4 && !strcmp(name + n - 4, ".pub")) || !strcmp(name, "ca.pem") ||
		   !strcmp(name, "cert.pem") || !strcmp(name, "server.pem");
	return pub ? 0644 : 0600;
}

/* Write data to dir/name unless it holds it already; true if written. */
static bool write_if_changed(const char *dir, const char *name, const void *data, size_t len)
{
	char path[PATH_MAX + 256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct strbuf cur = STRBUF_INIT;
	bool same = !read_file(path, &cur, NULL) && cur.len == len && !memcmp(cur.buf, data, len);
	strbuf_release(&cur);
	if (same)
		return false;
	mkdir_p(dir, 0700, NULL);
	/* Renamed into place, not synced: the working copy is a cache of
	 * etcd (a file a crash cut short is written again at the next
	 * mount's pull), and a mount pulls thousands of files. */
	char tmp[PATH_MAX + 300];
	snprintf(tmp, sizeof(tmp), "%s/.%s.etcd.tmp", dir, name);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, file_mode(name));
	if (fd < 0)
		return false;
	bool ok = true;
	for (size_t off = 0; ok && off < len;) {
		ssize_t n = write(fd, (const char *)data + off, len - off);
		ok = n > 0 || (n < 0 && errno == EINTR);
		off += n > 0 ? (size_t)n : 0;
	}
	ok = close(fd) == 0 && ok && rename(tmp, path) == 0;
	if (!ok)
		unlink(tmp);
	return ok;
}

/* An imported folder's ".modes" key: {"FILE": "644", ...}, the modes its
 * files had in the local store (a Docker Machine store's may differ from
 * file_mode's guess); applied to dir's files after they are written. */
#define MODES_KEY ".modes"

/* A secret (a file but certificates and public keys: keys, records with
 * tokens, known_hosts) is its owner's alone, whatever the store had. */
static mode_t secret_mode(const char *name, mode_t mode)
{
	return file_mode(name) == 0644 ? mode : mode & 0700;
}

static void apply_modes(const char *dir, const unsigned char *val, size_t len)
{
	cJSON *r = cJSON_ParseWithLength((const char *)val, len);
	const cJSON *it;
	cJSON_ArrayForEach(it, r)
	{
		if (!cJSON_IsString(it) || !it->string || !shared_file(it->string) ||
		    strchr(it->string, '/'))
			continue;
		char *end;
		unsigned long mode = strtoul(it->valuestring, &end, 8);
		if (*end || end == it->valuestring || mode > 0777)
			continue;
		mode = secret_mode(it->string, (mode_t)mode);
		char path[PATH_MAX + 256];
		snprintf(path, sizeof(path), "%s/%s", dir, it->string);
		chmod(path, (mode_t)mode);
	}
	cJSON_Delete(r);
}

/* The ".modes" value of folder dir's shared files, to free. */
static char *modes_of(const char *dir)
{
	cJSON *r = cJSON_CreateObject();
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char path[PATH_MAX + 256], mode[8];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!shared_file(de->d_name) || lstat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		snprintf(mode, sizeof(mode), "%o", (unsigned)secret_mode(de->d_name, st.st_mode & 0777));
		cJSON_AddStringToObject(r, de->d_name, mode);
	}
	if (d)
		closedir(d);
	char *out = cJSON_PrintUnformatted(r);
	cJSON_Delete(r);
	if (!out)
		abort();
	return out;
}

/* The lock compare of a write: nobody holds the machine, or we do. */
static void txn_fence(struct etcd_store *es, struct etcd_txn *t, const char *name)
{
	char key[512];
	key_of(es, key, sizeof(key), "locks", name, NULL);
	char *mine = mine_lockval(es, name);
	if (mine)
		etcd_txn_value_is(t, key, mine);
	else
		etcd_txn_absent(t, key);
	free(mine);
}

/* Puts for every shared file of folder dir (keys kpfx + FILE) that etcd
 * does not hold as is (remote: what it holds under kpfx), deletes for
 * those gone; *ops: how many. Dot keys (an imported folder's .modes) are
 * not files: left alone. */
static int txn_dir(struct etcd_store *es, struct etcd_txn *t, const char *kpfx, const char *dir,
		   const struct etcd_kvs *remote, size_t *ops, char *err)
{
	char key[768];
	int rc = 0;
	struct strlist local = STRLIST_INIT;
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && !rc && (de = readdir(d))) {
		if (de->d_type != DT_REG || !shared_file(de->d_name))
			continue;
		char path[PATH_MAX + 256];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		struct strbuf sb = STRBUF_INIT;
		if (read_file(path, &sb, NULL) || sb.len > FILE_MAX) {
			strbuf_release(&sb);
			continue;
		}
		strlist_add(&local, de->d_name);
		snprintf(key, sizeof(key), "%s%s", kpfx, de->d_name);
		bool same = false;
		for (size_t i = 0; remote && i < remote->n && !same; i++)
			same = !strcmp(remote->v[i].key, key) &&
			       remote_same(es, &remote->v[i], de->d_name, sb.buf, sb.len);
		struct strbuf val = STRBUF_INIT;
		if (!same && !(rc = to_etcd(es, key, de->d_name, sb.buf, sb.len, &val, err))) {
			etcd_txn_put(t, key, val.buf ? val.buf : "", val.len, 0);
			(*ops)++;
		}
		strbuf_release(&val);
		strbuf_release(&sb);
	}
	if (d)
		closedir(d);
	for (size_t i = 0; remote && !rc && i < remote->n; i++) {
		const char *file = remote->v[i].key + strlen(kpfx);
		if (*file != '.' && !strlist_has(&local, file)) {
			etcd_txn_del(t, remote->v[i].key, false);
			(*ops)++;
		}
	}
	strlist_clear(&local);
	return rc;
}

static int txn_files(struct etcd_store *es, struct etcd_txn *t, struct machine *m,
		     const struct etcd_kvs *remote, size_t *ops, char *err)
{
	char kpfx[512];
	key_of(es, kpfx, sizeof(kpfx), "machines", m->name, "");
	return txn_dir(es, t, kpfx, m->dir, remote, ops, err);
}

/* Commit t for m's keys; its revision is remembered (its watch events
 * are our own). A failed compare is -why with the message. */
static int commit(struct etcd_store *es, struct etcd_txn *t, struct machine *m, int why,
		  const char *msg, char *err)
{
	bool ok = false;
	long long rev = 0;
	int rc = etcd_txn_commit(es->e, t, &ok, &rev, err);
	etcd_txn_release(t);
	if (rc)
		return rc;
	if (!ok)
		return error_set(err, why, "machine '%s' %s", m->name, msg);
	mine_rev(es, m->name, rev);
	return 0;
}

static int be_saved(void *arg, struct machine *m, char *err)
{
	struct etcd_store *es = arg;
	char key[512];
	if (es->sealed && !es->have_key)
		return locked_out(es, err);
	key_of(es, key, sizeof(key), "machines", m->name, "");
	struct etcd_kvs remote;
	int rc = etcd_range(es->e, key, false, &remote, err);
	if (rc) {
		mine_dirty(es, m->name);
		return rc;
	}
	struct etcd_txn t;
	etcd_txn_init(&t);
	size_t ops = 0;
	rc = txn_files(es, &t, m, &remote, &ops, err);
	etcd_kvs_clear(&remote);
	if (rc || !ops) {
		etcd_txn_release(&t);
		return rc;
	}
	txn_fence(es, &t, m->name);
	rc = commit(es, &t, m, EBUSY, "is held by another machinefs: the change was not shared", err);
	if (rc)
		mine_dirty(es, m->name);
	return rc;
}

static int be_made(void *arg, struct machine *m, char *err)
{
	struct etcd_store *es = arg;
	char key[512];
	if (es->sealed && !es->have_key)
		return locked_out(es, err);
	key_of(es, key, sizeof(key), "machines", m->name, "machinefs.json");
	struct etcd_txn t;
	etcd_txn_init(&t);
	size_t ops = 0;
	int rc = txn_files(es, &t, m, NULL, &ops, err);
	if (rc) {
		etcd_txn_release(&t);
		return rc;
	}
	etcd_txn_absent(&t, key);
	return commit(es, &t, m, EEXIST, "already exists", err);
}

static int be_removed(void *arg, struct machine *m, char *err)
{
	struct etcd_store *es = arg;
	char key[512];
	if (es->sealed && !es->have_key)
		return locked_out(es, err);
	key_of(es, key, sizeof(key), "machines", m->name, "");
	struct etcd_txn t;
	etcd_txn_init(&t);
	etcd_txn_del(&t, key, true);
	txn_fence(es, &t, m->name);
	return commit(es, &t, m, EBUSY, "is held by another machinefs", err);
}

static int flush_unlock(struct etcd_store *es, const char *name);

/* Lease old expired (a daemon paused past it): a new one, unless
 * another thread made it already. Locks taken on the old one are gone:
 * their commands' writes are refused by the fence. */
static int lease_renew(struct etcd_store *es, long long old, char *err)
{
	pthread_mutex_lock(&es->lease_lock);
	int rc = 0;
	if (__atomic_load_n(&es->lease, __ATOMIC_ACQUIRE) == old) {
		long long id;
		rc = etcd_lease_grant(es->e, es->ttl, &id, err);
		if (!rc) {
			fprintf(stderr, "machinefs: etcd lease expired; a new one is used\n");
			__atomic_store_n(&es->lease, id, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&es->lease_lock);
	return rc;
}

static int be_lock(void *arg, struct machine *m, const char *cmd, char *err)
{
	struct etcd_store *es = arg;
	char key[512], val[PATH_MAX + 256];
	(void)cmd;
	if (es->sealed && !es->have_key)
		return locked_out(es, err);
	key_of(es, key, sizeof(key), "locks", m->name, NULL);
	snprintf(val, sizeof(val), "'%s' is running on %s", cmd, es->holder);
	/* Our own lock left from an outage goes first. */
	int frc = flush_unlock(es, m->name);
	if (frc)
		return error_set(err, -frc, "cannot reach etcd to lock machine '%s'", m->name);
	bool ok = false;
	long long rev = 0;
	int rc = -ENOENT;
	for (int tries = 0; rc == -ENOENT && tries < 2; tries++) {
		long long lease = __atomic_load_n(&es->lease, __ATOMIC_ACQUIRE);
		if (tries && (rc = lease_renew(es, lease, err)))
			return rc;
		lease = __atomic_load_n(&es->lease, __ATOMIC_ACQUIRE);
		struct etcd_txn t;
		etcd_txn_init(&t);
		etcd_txn_absent(&t, key);
		etcd_txn_put(&t, key, val, strlen(val), lease);
		rc = etcd_txn_commit(es->e, &t, &ok, &rev, err);
		etcd_txn_release(&t);
	}
	if (rc)
		return rc;
	if (!ok) {
		char who[PATH_MAX + 256] = "another machinefs holds it";
		struct etcd_kvs held;
		if (!etcd_range(es->e, key, false, &held, NULL)) {
			if (held.n)
				snprintf(who, sizeof(who), "%s", (const char *)held.v[0].val);
			etcd_kvs_clear(&held);
		}
		return error_set(err, EBUSY, "machine '%s' is busy: %s", m->name, who);
	}
	pthread_mutex_lock(&es->lock);
	struct mine *x = mine_get(es, m->name);
	free(x->lockval);
	x->lockval = strdup(val);
	x->revs[x->next++ % OWN_REVS] = rev;
	pthread_mutex_unlock(&es->lock);
	return 0;
}

static void be_unlock(void *arg, struct machine *m)
{
	struct etcd_store *es = arg;
	char key[512];
	key_of(es, key, sizeof(key), "locks", m->name, NULL);
	char *mine = mine_lockval(es, m->name);
	if (!mine)
		return;
	struct etcd_txn t;
	etcd_txn_init(&t);
	etcd_txn_value_is(&t, key, mine);
	etcd_txn_del(&t, key, false);
	bool ok = false;
	long long rev = 0;
	char err[ERR_MAX];
	int rc = etcd_txn_commit(es->e, &t, &ok, &rev, err);
	if (rc)
		fprintf(stderr, "machinefs: cannot unlock '%s' in etcd (again when it answers): %s\n",
			m->name, err);
	etcd_txn_release(&t);
	pthread_mutex_lock(&es->lock);
	struct mine *x = mine_get(es, m->name);
	free(x->lockval);
	x->lockval = NULL;
	if (rev)
		x->revs[x->next++ % OWN_REVS] = rev;
	if (rc) {
		/* Held on our live lease, it would stay: released later. */
		free(x->unlock_val);
		x->unlock_val = mine;
		mine = NULL;
	}
	pthread_mutex_unlock(&es->lock);
	free(mine);
}

/* A lock of name whose release failed: released now if etcd answers. */
static int flush_unlock(struct etcd_store *es, const char *name)
{
	pthread_mutex_lock(&es->lock);
	struct mine *x = mine_get(es, name);
	char *val = x->unlock_val ? strdup(x->unlock_val) : NULL;
	pthread_mutex_unlock(&es->lock);
	if (!val)
		return 0;
	char key[512];
	key_of(es, key, sizeof(key), "locks", name, NULL);
	struct etcd_txn t;
	etcd_txn_init(&t);
	etcd_txn_value_is(&t, key, val);
	etcd_txn_del(&t, key, false);
	bool ok = false;
	long long rev = 0;
	int rc = etcd_txn_commit(es->e, &t, &ok, &rev, NULL);
	etcd_txn_release(&t);
	pthread_mutex_lock(&es->lock);
	x = mine_get(es, name);
	if (!rc && x->unlock_val && !strcmp(x->unlock_val, val)) {
		free(x->unlock_val);
		x->unlock_val = NULL;
		if (rev)
			x->revs[x->next++ % OWN_REVS] = rev;
	}
	pthread_mutex_unlock(&es->lock);
	free(val);
	return rc;
}

static void be_start(void *arg);

static const struct store_backend etcd_backend = {
	.saved = be_saved,
	.made = be_made,
	.removed = be_removed,
	.lock = be_lock,
	.unlock = be_unlock,
	.start = be_start,
};

/* The certificates of the store: etcd's, or ours made and shared when
 * etcd has none (the first mount wins a race). */
static int pull_certs(struct etcd_store *es, char *err)
{
	char pfx[512], certdir[PATH_MAX + 16];
	snprintf(pfx, sizeof(pfx), "%scerts/", es->prefix);
	snprintf(certdir, sizeof(certdir), "%s/certs", es->root);
	for (int tries = 0; tries < 2; tries++) {
		struct etcd_kvs kvs;
		int rc = etcd_range(es->e, pfx, false, &kvs, err);
		if (rc)
			return rc;
		for (size_t i = 0; i < kvs.n; i++) {
			const char *file = kvs.v[i].key + strlen(pfx);
			if (!strchr(file, '/') && *file != '.' && *file) {
				struct strbuf sb = STRBUF_INIT;
				from_etcd(es, kvs.v[i].key, file, kvs.v[i].val, kvs.v[i].len, &sb);
				write_if_changed(certdir, file, sb.buf ? sb.buf : "", sb.len);
				strbuf_release(&sb);
			}
		}
		for (size_t i = 0; i < kvs.n; i++)
			if (!strcmp(kvs.v[i].key + strlen(pfx), MODES_KEY))
				apply_modes(certdir, kvs.v[i].val, kvs.v[i].len);
		size_t n = kvs.n;
		etcd_kvs_clear(&kvs);
		if (n || es->no_ca)
			return 0;
		rc = certs_bootstrap(certdir, certs_user_org(), NULL, err);
		if (rc)
			return rc;
		static const char *const files[] = { "ca.pem", "ca-key.pem", "cert.pem", "key.pem" };
		struct etcd_txn t;
		etcd_txn_init(&t);
		char key[600];
		snprintf(key, sizeof(key), "%sca.pem", pfx);
		etcd_txn_absent(&t, key);
		for (size_t i = 0; i < 4; i++) {
			char path[PATH_MAX + 32];
			snprintf(path, sizeof(path), "%s/%s", certdir, files[i]);
			struct strbuf sb = STRBUF_INIT;
			rc = read_file(path, &sb, err);
			snprintf(key, sizeof(key), "%s%s", pfx, files[i]);
			struct strbuf val = STRBUF_INIT;
			if (!rc)
				rc = to_etcd(es, key, files[i], sb.buf, sb.len, &val, err);
			if (!rc)
				etcd_txn_put(&t, key, val.buf, val.len, 0);
			strbuf_release(&val);
			strbuf_release(&sb);
			if (rc) {
				etcd_txn_release(&t);
				return rc;
			}
		}
		bool ok = false;
		rc = etcd_txn_commit(es->e, &t, &ok, NULL, err);
		etcd_txn_release(&t);
		if (rc || ok)
			return rc;
		/* Another mount shared its CA first: take that one. */
	}
	return 0;
}

/* "NAME" and "FILE" of PREFIX/machines/NAME/FILE, or false. */
static bool split_key(struct etcd_store *es, const char *key, const char *kind, char *name,
		      const char **file)
{
	size_t pl = strlen(es->prefix), kl = strlen(kind);
	if (strncmp(key, es->prefix, pl) || strncmp(key + pl, kind, kl) || key[pl + kl] != '/')
		return false;
	const char *n = key + pl + kl + 1, *slash = strchr(n, '/');
	size_t len = slash ? (size_t)(slash - n) : strlen(n);
	if (!len || len > MACHINE_NAME_MAX)
		return false;
	memcpy(name, n, len);
	name[len] = '\0';
	if (!machine_name_valid(name))
		return false;
	*file = slash ? slash + 1 : NULL;
	return !*file || (**file && **file != '.' && !strchr(*file, '/'));
}

/* The store was used without a key until now: what it holds in clear
 * that is secret (the CA key, machines' keys, secret fields) is sealed,
 * each key in its own transaction that holds only if the value is still
 * the one read. */
static int seal_existing(struct etcd_store *es, char *err)
{
	static const char *const kinds[] = { "certs/", "machines/" };
	int rc = 0, n = 0;
	for (size_t k = 0; k < 2 && !rc; k++) {
		char pfx[512];
		snprintf(pfx, sizeof(pfx), "%s%s", es->prefix, kinds[k]);
		struct etcd_kvs kvs;
		rc = etcd_range(es->e, pfx, false, &kvs, err);
		for (size_t i = 0; !rc && i < kvs.n; i++) {
			const struct etcd_kv *kv = &kvs.v[i];
			const char *file = strrchr(kv->key, '/') + 1;
			if (*file == '.' || strlen((const char *)kv->val) != kv->len)
				continue; /* not a file; binary: not a PEM or a record */
			struct strbuf val = STRBUF_INIT;
			rc = to_etcd(es, kv->key, file, kv->val, kv->len, &val, err);
			if (!rc && (val.len != kv->len || memcmp(val.buf, kv->val, kv->len))) {
				struct etcd_txn t;
				etcd_txn_init(&t);
				etcd_txn_value_is(&t, kv->key, (const char *)kv->val);
				etcd_txn_put(&t, kv->key, val.buf, val.len, 0);
				bool ok = false;
				rc = etcd_txn_commit(es->e, &t, &ok, NULL, err);
				etcd_txn_release(&t);
				n += ok;
			}
			strbuf_release(&val);
		}
		etcd_kvs_clear(&kvs);
	}
	if (!rc && n)
		fprintf(stderr, "machinefs: %d secret value%s in etcd sealed with the new secrets key\n", n,
			n == 1 ? "" : "s");
	return rc;
}

/* PREFIX/secrets-check: a known text sealed with the store's key. Its
 * presence marks the store sealed; our key must open it; the first mount
 * with a key writes it. */
static int check_key(struct etcd_store *es, char *err)
{
	static const char known[] = "machinefs secrets key check";
	char key[512];
	snprintf(key, sizeof(key), "%ssecrets-check", es->prefix);
	for (int tries = 0; tries < 2; tries++) {
		struct etcd_kvs kvs;
		int rc = etcd_range(es->e, key, false, &kvs, err);
		if (rc)
			return rc;
		for (size_t i = 0; i < kvs.n && !es->sealed; i++) {
			if (strcmp(kvs.v[i].key, key))
				continue;
			es->sealed = true;
			struct strbuf sb = STRBUF_INIT;
			if (es->have_key && (seal_open(&es->key, key, kvs.v[i].val, kvs.v[i].len, &sb, NULL) ||
					     strcmp(strbuf_str(&sb), known)))
				rc = error_set(err, EACCES,
					       "the secrets key in '%s' is not the key the store's secrets are encrypted with",
					       es->key_file);
			strbuf_release(&sb);
		}
		etcd_kvs_clear(&kvs);
		if (rc || es->sealed || !es->have_key)
			return rc;
		struct strbuf val = STRBUF_INIT;
		seal(&es->key, key, known, strlen(known), &val);
		struct etcd_txn t;
		etcd_txn_init(&t);
		etcd_txn_absent(&t, key);
		etcd_txn_put(&t, key, val.buf, val.len, 0);
		strbuf_release(&val);
		bool ok = false;
		rc = etcd_txn_commit(es->e, &t, &ok, NULL, err);
		etcd_txn_release(&t);
		if (rc)
			return rc;
		if (ok) {
			es->sealed = true;
			return seal_existing(es, err);
		}
		/* Another mount marked it first: check against that one. */
	}
	return 0;
}

int store_etcd_pull(struct etcd_store *es, char *err)
{
	int rc = check_key(es, err);
	if (!rc)
		rc = pull_certs(es, err);
	if (rc)
		return rc;
	char pfx[512], dir[PATH_MAX + 16];
	snprintf(pfx, sizeof(pfx), "%smachines/", es->prefix);
	snprintf(dir, sizeof(dir), "%s/machines", es->root);
	struct etcd_kvs kvs;
	rc = etcd_range(es->e, pfx, false, &kvs, err);
	if (rc)
		return rc;
	es->rev = kvs.rev;
	struct strlist names = STRLIST_INIT;
	for (size_t i = 0; i < kvs.n; i++) {
		char name[MACHINE_NAME_MAX + 1], mdir[PATH_MAX + 96];
		const char *file;
		size_t kl = strlen(kvs.v[i].key), ml = strlen("/" MODES_KEY);
		if (kl > ml && !strcmp(kvs.v[i].key + kl - ml, "/" MODES_KEY))
			continue; /* after the files */
		if (!split_key(es, kvs.v[i].key, "machines", name, &file) || !file)
			continue;
		if (!strlist_has(&names, name)) {
			strlist_add(&names, name);
			/* A stale copy goes whole: etcd is the truth. */
			snprintf(mdir, sizeof(mdir), "%s/%s", dir, name);
			remove_tree(mdir, NULL);
		}
		snprintf(mdir, sizeof(mdir), "%s/%s", dir, name);
		struct strbuf sb = STRBUF_INIT;
		from_etcd(es, kvs.v[i].key, file, kvs.v[i].val, kvs.v[i].len, &sb);
		write_if_changed(mdir, file, sb.buf ? sb.buf : "", sb.len);
		strbuf_release(&sb);
	}
	for (size_t i = 0; i < kvs.n; i++) {
		char name[MACHINE_NAME_MAX + 1], mdir[PATH_MAX + 96];
		size_t kl = strlen(kvs.v[i].key), ml = strlen("/" MODES_KEY);
		if (kl <= ml || strcmp(kvs.v[i].key + kl - ml, "/" MODES_KEY) ||
		    kl - ml >= sizeof(mdir) - 1)
			continue;
		char key[PATH_MAX];
		snprintf(key, sizeof(key), "%.*s/x", (int)(kl - ml), kvs.v[i].key);
		const char *file;
		if (!split_key(es, key, "machines", name, &file) || !strlist_has(&names, name))
			continue;
		snprintf(mdir, sizeof(mdir), "%s/%s", dir, name);
		apply_modes(mdir, kvs.v[i].val, kvs.v[i].len);
	}
	etcd_kvs_clear(&kvs);
	/* Machines etcd no longer has leave the working copy. */
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || strlist_has(&names, de->d_name))
			continue;
		char mdir[PATH_MAX + 300];
		snprintf(mdir, sizeof(mdir), "%s/%s", dir, de->d_name);
		remove_tree(mdir, NULL);
	}
	if (d)
		closedir(d);
	strlist_clear(&names);
	return 0;
}

/* The record's command and state, when it says one runs. */
static int record_busy_state(struct etcd_store *es, const char *name)
{
	char path[PATH_MAX + 128];
	snprintf(path, sizeof(path), "%s/machines/%s/machinefs.json", es->root, name);
	struct strbuf sb = STRBUF_INIT;
	int state = -1;
	if (!read_file(path, &sb, NULL)) {
		cJSON *r = cJSON_Parse(strbuf_str(&sb));
		if (*json_str(r, "Busy", "")) {
			const char *st = json_str(r, "State", "None");
			for (int s = MS_NONE; s <= MS_TIMEOUT; s++)
				if (!strcmp(st, machine_state_name((enum machine_state)s)))
					state = s;
			if (state < 0)
				state = MS_NONE;
		}
		cJSON_Delete(r);
	}
	strbuf_release(&sb);
	return state;
}

/* -1, or the state to show: the record's command still runs elsewhere
 * (its lock is held). */
static int remote_state(struct etcd_store *es, const char *name)
{
	int state = record_busy_state(es, name);
	if (state < 0)
		return -1;
	char key[512];
	key_of(es, key, sizeof(key), "locks", name, NULL);
	struct etcd_kvs held;
	if (etcd_range(es->e, key, true, &held, NULL))
		return -1;
	size_t n = held.n;
	etcd_kvs_clear(&held);
	return n ? state : -1;
}

/* A change of the store's certificates (an import): into the working
 * copy's certs/. False if kv is not one. */
static bool apply_cert(struct etcd_store *es, const struct etcd_kv *kv)
{
	size_t pl = strlen(es->prefix);
	if (strncmp(kv->key, es->prefix, pl) || strncmp(kv->key + pl, "certs/", 6))
		return false;
	const char *file = kv->key + pl + 6;
	char dir[PATH_MAX + 16];
	snprintf(dir, sizeof(dir), "%s/certs", es->root);
	if (!*file || strchr(file, '/') || kv->deleted)
		return true;
	if (!strcmp(file, MODES_KEY))
		apply_modes(dir, kv->val, kv->len);
	else if (shared_file(file)) {
		struct strbuf sb = STRBUF_INIT;
		from_etcd(es, kv->key, file, kv->val, kv->len, &sb);
		write_if_changed(dir, file, sb.buf ? sb.buf : "", sb.len);
		strbuf_release(&sb);
	}
	return true;
}

/* One watch answer: a transaction's changes. */
static void apply(void *arg, const struct etcd_kvs *ev)
{
	struct etcd_store *es = arg;
	struct strlist touched = STRLIST_INIT, gone = STRLIST_INIT;
	for (size_t i = 0; i < ev->n; i++) {
		const struct etcd_kv *kv = &ev->v[i];
		char name[MACHINE_NAME_MAX + 1], path[PATH_MAX + 128];
		const char *file;
		if (kv->mod_rev > es->rev)
			es->rev = kv->mod_rev;
		if (apply_cert(es, kv))
			continue;
		if (split_key(es, kv->key, "locks", name, &file) && !file) {
			/* Another daemon's command ended or died: an
			 * interrupted record shows as such. */
			if (kv->deleted && !mine_has_rev(es, name, kv->mod_rev) &&
			    record_busy_state(es, name) >= 0 && !strlist_has(&touched, name))
				strlist_add(&touched, name);
			continue;
		}
		if (!split_key(es, kv->key, "machines", name, &file) || !file)
			continue;
		if (mine_has_rev(es, name, kv->mod_rev))
			continue;
		snprintf(path, sizeof(path), "%s/machines/%s", es->root, name);
		bool changed;
		if (kv->deleted) {
			char fp[PATH_MAX + 256];
			snprintf(fp, sizeof(fp), "%s/%s", path, file);
			changed = unlink(fp) == 0;
			if (!strcmp(file, "machinefs.json") && !strlist_has(&gone, name))
				strlist_add(&gone, name);
		} else {
			struct strbuf sb = STRBUF_INIT;
			from_etcd(es, kv->key, file, kv->val, kv->len, &sb);
			changed = write_if_changed(path, file, sb.buf ? sb.buf : "", sb.len);
			strbuf_release(&sb);
		}
		if (changed && !strlist_has(&touched, name))
			strlist_add(&touched, name);
	}
	if (ev->rev > es->rev)
		es->rev = ev->rev;
	for (size_t i = 0; i < gone.n; i++)
		store_drop(es->s, gone.v[i]);
	for (size_t i = 0; i < touched.n; i++)
		if (!strlist_has(&gone, touched.v[i]))
			store_reload(es->s, touched.v[i], remote_state(es, touched.v[i]));
	strlist_clear(&touched);
	strlist_clear(&gone);
}

static void nap(struct etcd_store *es, int ms)
{
	for (int i = 0; i < ms / 50 && !es->stop; i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

static void *watch_main(void *arg)
{
	struct etcd_store *es = arg;
	char err[ERR_MAX];
	bool said = false;
	while (!es->stop) {
		int rc = etcd_watch(es->e, es->prefix, es->rev + 1, apply, es, &es->stop, err);
		if (rc && !said)
			fprintf(stderr, "machinefs: %s (retrying)\n", err);
		said = rc != 0;
		nap(es, 500);
	}
	return NULL;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* name's working copy made what etcd holds, unless a command runs on it
 * here: 0, or -1 to try again later. */
static int resync(struct etcd_store *es, const char *name)
{
	char kpfx[512], dir[PATH_MAX + 128];
	key_of(es, kpfx, sizeof(kpfx), "machines", name, "");
	snprintf(dir, sizeof(dir), "%s/machines/%s", es->root, name);
	struct etcd_kvs kvs;
	if (etcd_range(es->e, kpfx, false, &kvs, NULL))
		return -1;
	struct machine *m = store_get(es->s, name);
	if (m) {
		pthread_mutex_lock(&m->lock);
		if (m->busy) {
			pthread_mutex_unlock(&m->lock);
			machine_put(m);
			etcd_kvs_clear(&kvs);
			return -1;
		}
	}
	struct strlist there = STRLIST_INIT;
	const struct etcd_kv *modes = NULL;
	for (size_t i = 0; i < kvs.n; i++) {
		const char *file = kvs.v[i].key + strlen(kpfx);
		if (!strcmp(file, MODES_KEY))
			modes = &kvs.v[i];
		if (*file == '.' || strchr(file, '/') || !shared_file(file))
			continue;
		strlist_add(&there, file);
		struct strbuf sb = STRBUF_INIT;
		from_etcd(es, kvs.v[i].key, file, kvs.v[i].val, kvs.v[i].len, &sb);
		write_if_changed(dir, file, sb.buf ? sb.buf : "", sb.len);
		strbuf_release(&sb);
	}
	if (modes)
		apply_modes(dir, modes->val, modes->len);
	DIR *d = there.n ? opendir(dir) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_type != DT_REG || !shared_file(de->d_name) || strlist_has(&there, de->d_name))
			continue;
		char path[PATH_MAX + 400];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	if (m)
		pthread_mutex_unlock(&m->lock);
	bool gone = !strlist_has(&there, "machinefs.json") && !strlist_has(&there, "config.json");
	strlist_clear(&there);
	etcd_kvs_clear(&kvs);
	if (gone)
		store_drop(es->s, name);
	else
		store_reload(es->s, name, remote_state(es, name));
	machine_put(m);
	return 0;
}

/* What an outage left: locks to release, working copies to resync. */
static void retry_pending(struct etcd_store *es)
{
	struct strlist unl = STRLIST_INIT, dirty = STRLIST_INIT;
	pthread_mutex_lock(&es->lock);
	for (size_t i = 0; i < es->n; i++) {
		if (es->v[i].unlock_val)
			strlist_add(&unl, es->v[i].name);
		if (es->v[i].dirty && !es->v[i].lockval)
			strlist_add(&dirty, es->v[i].name);
	}
	pthread_mutex_unlock(&es->lock);
	for (size_t i = 0; i < unl.n; i++)
		flush_unlock(es, unl.v[i]);
	for (size_t i = 0; i < dirty.n; i++) {
		pthread_mutex_lock(&es->lock);
		mine_get(es, dirty.v[i])->dirty = false;
		pthread_mutex_unlock(&es->lock);
		if (resync(es, dirty.v[i])) {
			mine_dirty(es, dirty.v[i]);
		} else {
			fprintf(stderr, "machinefs: '%s' is etcd's again after changes etcd did not take\n",
				dirty.v[i]);
		}
	}
	strlist_clear(&unl);
	strlist_clear(&dirty);
}

/* The lease kept alive (every ttl/4 s); a new one when it expired. */
static void *keep_main(void *arg)
{
	struct etcd_store *es = arg;
	char err[ERR_MAX];
	bool said = false;
	long long last_try = mono_ms();
	while (!es->stop) {
		nap(es, 250);
		if (es->stop)
			break;
		long long now = mono_ms();
		bool pending = false;
		pthread_mutex_lock(&es->lock);
		for (size_t i = 0; i < es->n && !pending; i++)
			pending = es->v[i].unlock_val || (es->v[i].dirty && !es->v[i].lockval);
		pthread_mutex_unlock(&es->lock);
		if (now - last_try < es->ttl * 1000 / 4 && !pending)
			continue;
		last_try = now;
		long long id = __atomic_load_n(&es->lease, __ATOMIC_ACQUIRE);
		int rc = etcd_lease_keepalive(es->e, id, err);
		if (rc == -ENOENT)
			rc = lease_renew(es, id, err);
		if (rc) {
			if (!said)
				fprintf(stderr, "machinefs: %s\n", err);
			said = true;
			continue;
		}
		if (said)
			fprintf(stderr, "machinefs: etcd answers again\n");
		said = false;
		__atomic_store_n(&es->last_ok, mono_ms(), __ATOMIC_RELEASE);
		if (pending)
			retry_pending(es);
	}
	return NULL;
}

/* The lease unkept for half its life: it may expire before etcd is
 * heard again, and another daemon take the machines this one holds. Their
 * commands are cancelled now, before that can happen (their writes
 * would be refused anyway). */
static void *guard_main(void *arg)
{
	struct etcd_store *es = arg;
	bool cancelled = false;
	while (!es->stop) {
		nap(es, 100);
		long long since = mono_ms() - __atomic_load_n(&es->last_ok, __ATOMIC_ACQUIRE);
		if (since < es->ttl * 1000 / 2) {
			cancelled = false;
			continue;
		}
		if (cancelled)
			continue;
		cancelled = true;
		struct strlist held = STRLIST_INIT;
		pthread_mutex_lock(&es->lock);
		for (size_t i = 0; i < es->n; i++)
			if (es->v[i].lockval)
				strlist_add(&held, es->v[i].name);
		pthread_mutex_unlock(&es->lock);
		for (size_t i = 0; i < held.n; i++) {
			struct machine *m = store_get(es->s, held.v[i]);
			if (!m)
				continue;
			m->cancel = 1;
			machine_log(m, "etcd lease not kept for %lld ms: the command is cancelled",
				    since);
			fprintf(stderr, "machinefs: '%s': etcd lease not kept for %lld ms: its command is cancelled\n",
				held.v[i], since);
			machine_put(m);
		}
		strlist_clear(&held);
	}
	return NULL;
}

int store_etcd_attach(struct etcd_store *es, struct store *s, char *err)
{
	long long id;
	int rc = etcd_lease_grant(es->e, es->ttl, &id, err);
	if (rc)
		return rc;
	es->lease = id;
	es->last_ok = mono_ms();
	es->s = s;
	store_set_backend(s, &etcd_backend, es);
	/* Commands running on other daemons are not "interrupted". */
	struct strlist names = STRLIST_INIT;
	store_list(s, &names);
	for (size_t i = 0; i < names.n; i++) {
		int st = remote_state(es, names.v[i]);
		if (st >= 0)
			store_reload(s, names.v[i], st);
	}
	strlist_clear(&names);
	return 0;
}

/* After fuse_daemonize (threads made before its fork would be gone). */
static void be_start(void *arg)
{
	struct etcd_store *es = arg;
	if (es->threads)
		return;
	__atomic_store_n(&es->last_ok, mono_ms(), __ATOMIC_RELEASE);
	if (pthread_create(&es->watch_t, NULL, watch_main, es) ||
	    pthread_create(&es->keep_t, NULL, keep_main, es) ||
	    pthread_create(&es->guard_t, NULL, guard_main, es))
		abort();
	es->threads = true;
}

void store_etcd_close(struct etcd_store *es)
{
	if (!es)
		return;
	es->stop = 1;
	if (es->threads) {
		pthread_join(es->watch_t, NULL);
		pthread_join(es->keep_t, NULL);
		pthread_join(es->guard_t, NULL);
	}
	if (es->lease)
		etcd_lease_revoke(es->e, es->lease, NULL);
	if (es->s)
		store_set_backend(es->s, NULL, NULL);
	for (size_t i = 0; i < es->n; i++) {
		free(es->v[i].lockval);
		free(es->v[i].unlock_val);
	}
	free(es->v);
	free(es->prefix);
	free(es->key_file);
	OPENSSL_cleanse(&es->key, sizeof(es->key));
	etcd_close(es->e);
	pthread_mutex_destroy(&es->lock);
	pthread_mutex_destroy(&es->lease_lock);
	free(es);
}

/* Import and export: a local store (Docker Machine's layout) into etcd
 * and back. Each folder goes in one transaction with its ".modes". */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_sort(struct strlist *l)
{
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_str);
}

/* One local folder into kpfx...: refused with -EEXIST when etcd holds
 * exist_key already (unless force), -EBUSY while lock_key is held. */
static int import_dir(struct etcd_store *es, const char *kpfx, const char *dir,
		      const char *exist_key, const char *exist_key2, const char *lock_key,
		      bool force, char *err)
{
	struct etcd_kvs remote = { 0 };
	int rc = force ? etcd_range(es->e, kpfx, false, &remote, err) : 0;
	if (rc)
		return rc;
	struct etcd_txn t;
	etcd_txn_init(&t);
	size_t ops = 0;
	rc = txn_dir(es, &t, kpfx, dir, force ? &remote : NULL, &ops, err);
	etcd_kvs_clear(&remote);
	if (rc) {
		etcd_txn_release(&t);
		return rc;
	}
	char key[768];
	snprintf(key, sizeof(key), "%s" MODES_KEY, kpfx);
	char *modes = modes_of(dir);
	etcd_txn_put(&t, key, modes, strlen(modes), 0);
	free(modes);
	if (!force) {
		etcd_txn_absent(&t, exist_key);
		if (exist_key2)
			etcd_txn_absent(&t, exist_key2);
	}
	if (lock_key)
		etcd_txn_absent(&t, lock_key);
	bool ok = false;
	rc = etcd_txn_commit(es->e, &t, &ok, NULL, err);
	etcd_txn_release(&t);
	if (rc)
		return rc;
	if (!ok)
		return error_set(err, force ? EBUSY : EEXIST, "'%s' %s", dir,
				 force ? "is running a command on a machinefs: not replaced"
				       : "is already in etcd: --force replaces it");
	return 0;
}

/* What of a machine folder stays local: subfolders, large files. */
static void import_notes(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char path[PATH_MAX * 2 + 256];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (de->d_name[0] == '.' || lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode))
			fprintf(stderr, "machinefs: '%s/%s/' stays local (a folder)\n", name, de->d_name);
		else if (S_ISREG(st.st_mode) && shared_file(de->d_name) && st.st_size > FILE_MAX)
			fprintf(stderr, "machinefs: '%s/%s' stays local (larger than %d KiB)\n", name,
				de->d_name, FILE_MAX / 1024);
	}
	if (d)
		closedir(d);
}

int store_etcd_import(struct etcd_store *es, const char *src, bool force, int *count, char *err)
{
	char mdir[PATH_MAX + 16], cdir[PATH_MAX + 16], kpfx[512];
	snprintf(mdir, sizeof(mdir), "%s/machines", src);
	snprintf(cdir, sizeof(cdir), "%s/certs", src);
	struct stat st;
	if (stat(mdir, &st) || !S_ISDIR(st.st_mode))
		return error_set(err, ENOENT, "'%s' is not a machine store: it has no machines/ folder", src);
	/* Sealed with the store's key (checked; the first key marks it). */
	int rc = check_key(es, err);
	if (rc)
		return rc;
	if (es->sealed && !es->have_key)
		return locked_out(es, err);
	*count = 0;
	/* Every machine checked first: nothing is written when one is there. */
	struct strlist names = STRLIST_INIT;
	DIR *d = opendir(mdir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char path[PATH_MAX + 300];
		snprintf(path, sizeof(path), "%s/%s", mdir, de->d_name);
		if (de->d_name[0] == '.' || lstat(path, &st) || !S_ISDIR(st.st_mode))
			continue;
		if (!machine_name_valid(de->d_name)) {
			fprintf(stderr, "machinefs: '%s' is not imported: not a valid machine name\n",
				de->d_name);
			continue;
		}
		strlist_add(&names, de->d_name);
	}
	if (d)
		closedir(d);
	names_sort(&names);
	snprintf(kpfx, sizeof(kpfx), "%smachines/", es->prefix);
	struct etcd_kvs there;
	rc = etcd_range(es->e, kpfx, true, &there, err);
	if (rc)
		goto out;
	struct strlist clash = STRLIST_INIT;
	for (size_t i = 0; i < there.n && !force; i++) {
		char name[MACHINE_NAME_MAX + 1];
		const char *file;
		if (split_key(es, there.v[i].key, "machines", name, &file) && file &&
		    (!strcmp(file, "machinefs.json") || !strcmp(file, "config.json")) &&
		    strlist_has(&names, name) && !strlist_has(&clash, name))
			strlist_add(&clash, name);
	}
	bool machines = there.n > 0;
	etcd_kvs_clear(&there);
	if (clash.n)
		rc = error_set(err, EEXIST, "machine '%s'%s already in etcd: --force replaces %s",
			       clash.v[0], clash.n > 1 ? " and others are" : " is",
			       clash.n > 1 ? "them" : "it");
	strlist_clear(&clash);
	if (rc)
		goto out;
	/* The store's CA and client certificate: the machines' certificates
	 * are signed by it. Another CA already there is kept unless force or
	 * it signs no machine yet (a mount made it). */
	if (!stat(cdir, &st) && S_ISDIR(st.st_mode)) {
		snprintf(kpfx, sizeof(kpfx), "%scerts/", es->prefix);
		struct etcd_kvs certs;
		rc = etcd_range(es->e, kpfx, false, &certs, err);
		if (rc)
			goto out;
		struct etcd_txn t;
		etcd_txn_init(&t);
		size_t ops = 0;
		bool had = false;
		for (size_t i = 0; i < certs.n; i++)
			had |= certs.v[i].key[strlen(kpfx)] != '.';
		rc = txn_dir(es, &t, kpfx, cdir, &certs, &ops, err);
		etcd_txn_release(&t);
		etcd_kvs_clear(&certs);
		char k1[600];
		snprintf(k1, sizeof(k1), "%sca.pem", kpfx);
		if (rc)
			goto out;
		if (had && ops && !force && machines) {
			rc = error_set(err, EEXIST, "the store in etcd has another CA (certs/): --force replaces it");
			goto out;
		}
		if (ops) {
			rc = import_dir(es, kpfx, cdir, k1, NULL, NULL, had, err);
			if (rc)
				goto out;
		}
	}
	for (size_t i = 0; i < names.n; i++) {
		char dir[PATH_MAX + 300], k1[600], k2[600], lk[600];
		snprintf(dir, sizeof(dir), "%s/%s", mdir, names.v[i]);
		key_of(es, kpfx, sizeof(kpfx), "machines", names.v[i], "");
		key_of(es, k1, sizeof(k1), "machines", names.v[i], "machinefs.json");
		key_of(es, k2, sizeof(k2), "machines", names.v[i], "config.json");
		key_of(es, lk, sizeof(lk), "locks", names.v[i], NULL);
		import_notes(dir, names.v[i]);
		rc = import_dir(es, kpfx, dir, k1, k2, lk, force, err);
		if (rc)
			goto out;
		(*count)++;
	}
out:
	strlist_clear(&names);
	return rc;
}

/* dst/sub replaced by tmp/sub (the old one, if any, removed). */
static int swap_in(const char *tmp, const char *dst, const char *sub, char *err)
{
	char from[PATH_MAX + 300], to[PATH_MAX + 300], old[PATH_MAX + 320];
	snprintf(from, sizeof(from), "%s/%s", tmp, sub);
	snprintf(to, sizeof(to), "%s/%s", dst, sub);
	snprintf(old, sizeof(old), "%s/old.%s", tmp, sub);
	for (char *p = old + strlen(tmp) + 1; *p; p++)
		if (*p == '/')
			*p = '.';
	if (path_exists(to) && rename(to, old) < 0)
		return error_errno(err, errno, "cannot replace '%s'", to);
	if (rename(from, to) < 0)
		return error_errno(err, errno, "cannot write '%s'", to);
	remove_tree(old, NULL);
	return 0;
}

int store_etcd_export(struct etcd_store *es, const char *dst, bool force, int *count, char *err)
{
	*count = 0;
	/* Secrets come out only opened: a store sealed needs its key. */
	int rc = check_key(es, err);
	if (rc)
		return rc;
	if (es->sealed && !es->have_key)
		return locked_out(es, err);
	char dm[PATH_MAX + 16];
	snprintf(dm, sizeof(dm), "%s/machines", dst);
	rc = mkdir_p(dm, 0700, err);
	if (rc)
		return rc;
	/* A mounted store is not written under its daemon. */
	rc = store_lock(dst, "(machinefs --export)", err);
	if (rc)
		return rc;
	snprintf(es->root, sizeof(es->root), "%s/.machinefs-export.%d", dst, (int)getpid());
	remove_tree(es->root, NULL);
	es->no_ca = true;
	rc = mkdir_p(es->root, 0700, err);
	if (!rc)
		rc = store_etcd_pull(es, err);
	struct strlist names = STRLIST_INIT;
	char tm[PATH_MAX + 16];
	snprintf(tm, sizeof(tm), "%s/machines", es->root);
	DIR *d = rc ? NULL : opendir(tm);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			strlist_add(&names, de->d_name);
	if (d)
		closedir(d);
	names_sort(&names);
	/* Nothing is written when a machine (or another CA) is there. */
	for (size_t i = 0; !rc && !force && i < names.n; i++) {
		char p[PATH_MAX + 300];
		snprintf(p, sizeof(p), "%s/%s", dm, names.v[i]);
		if (path_exists(p))
			rc = error_set(err, EEXIST, "machine '%s' is already in '%s': --force replaces it",
				       names.v[i], dst);
	}
	char tc[PATH_MAX + 32], dc[PATH_MAX + 32];
	snprintf(tc, sizeof(tc), "%s/certs/ca.pem", es->root);
	snprintf(dc, sizeof(dc), "%s/certs/ca.pem", dst);
	bool certs = path_exists(tc);
	if (!rc && certs && path_exists(dc)) {
		struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
		bool same = !read_file(tc, &a, NULL) && !read_file(dc, &b, NULL) && a.len == b.len &&
			    !memcmp(a.buf, b.buf, a.len);
		strbuf_release(&a);
		strbuf_release(&b);
		if (!same && !force)
			rc = error_set(err, EEXIST, "'%s' has another CA (certs/): --force replaces it", dst);
	}
	if (!rc && certs)
		rc = swap_in(es->root, dst, "certs", err);
	for (size_t i = 0; !rc && i < names.n; i++) {
		char sub[PATH_MAX];
		snprintf(sub, sizeof(sub), "machines/%s", names.v[i]);
		rc = swap_in(es->root, dst, sub, err);
		if (!rc)
			(*count)++;
	}
	strlist_clear(&names);
	remove_tree(es->root, NULL);
	return rc;
}
