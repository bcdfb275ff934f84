/* The etcd back end: see fs/store_etcd.h for the design. */
#include <dirent.h>
#include <errno.h>
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
	pthread_t watch_t, keep_t;
	bool threads;
	pthread_mutex_t lock;
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
	write_file_atomic(path, data, len, file_mode(name), NULL);
	return true;
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

/* Puts for every shared file of m's folder that etcd does not hold as
 * is, deletes for those gone; *ops: how many. */
static int txn_files(struct etcd_store *es, struct etcd_txn *t, struct machine *m,
		     const struct etcd_kvs *remote, size_t *ops, char *err)
{
	char key[512];
	int rc = 0;
	struct strlist local = STRLIST_INIT;
	DIR *d = opendir(m->dir);
	struct dirent *de;
	while (d && !rc && (de = readdir(d))) {
		if (de->d_type != DT_REG || !shared_file(de->d_name))
			continue;
		char path[PATH_MAX + 256];
		snprintf(path, sizeof(path), "%s/%s", m->dir, de->d_name);
		struct strbuf sb = STRBUF_INIT;
		if (read_file(path, &sb, NULL) || sb.len > FILE_MAX) {
			strbuf_release(&sb);
			continue;
		}
		strlist_add(&local, de->d_name);
		key_of(es, key, sizeof(key), "machines", m->name, de->d_name);
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
	key_of(es, key, sizeof(key), "machines", m->name, "");
	for (size_t i = 0; remote && !rc && i < remote->n; i++) {
		const char *file = remote->v[i].key + strlen(key);
		if (!strlist_has(&local, file)) {
			etcd_txn_del(t, remote->v[i].key, false);
			(*ops)++;
		}
	}
	strlist_clear(&local);
	return rc;
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
	if (rc)
		return rc;
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
	return commit(es, &t, m, EBUSY, "is held by another machinefs: the change was not shared", err);
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

static int be_lock(void *arg, struct machine *m, const char *cmd, char *err)
{
	struct etcd_store *es = arg;
	char key[512], val[PATH_MAX + 256];
	(void)cmd;
	if (es->sealed && !es->have_key)
		return locked_out(es, err);
	key_of(es, key, sizeof(key), "locks", m->name, NULL);
	snprintf(val, sizeof(val), "'%s' is running on %s", cmd, es->holder);
	struct etcd_txn t;
	etcd_txn_init(&t);
	etcd_txn_absent(&t, key);
	etcd_txn_put(&t, key, val, strlen(val), __atomic_load_n(&es->lease, __ATOMIC_ACQUIRE));
	bool ok = false;
	long long rev = 0;
	int rc = etcd_txn_commit(es->e, &t, &ok, &rev, err);
	etcd_txn_release(&t);
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
	if (etcd_txn_commit(es->e, &t, &ok, &rev, err))
		fprintf(stderr, "machinefs: cannot unlock '%s' in etcd: %s\n", m->name, err);
	etcd_txn_release(&t);
	pthread_mutex_lock(&es->lock);
	struct mine *x = mine_get(es, m->name);
	free(x->lockval);
	x->lockval = NULL;
	if (rev)
		x->revs[x->next++ % OWN_REVS] = rev;
	pthread_mutex_unlock(&es->lock);
	free(mine);
}

static const struct store_backend etcd_backend = {
	.saved = be_saved,
	.made = be_made,
	.removed = be_removed,
	.lock = be_lock,
	.unlock = be_unlock,
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
		size_t n = kvs.n;
		etcd_kvs_clear(&kvs);
		if (n)
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

static void *keep_main(void *arg)
{
	struct etcd_store *es = arg;
	char err[ERR_MAX];
	while (!es->stop) {
		nap(es, LEASE_TTL * 1000 / 3);
		if (es->stop)
			break;
		long long id = __atomic_load_n(&es->lease, __ATOMIC_ACQUIRE);
		int rc = etcd_lease_keepalive(es->e, id, err);
		if (rc == -ENOENT && !etcd_lease_grant(es->e, LEASE_TTL, &id, err)) {
			/* Locks taken on the lost lease are gone: their
			 * commands' writes are refused by the fence. */
			fprintf(stderr, "machinefs: etcd lease expired; a new one is used\n");
			__atomic_store_n(&es->lease, id, __ATOMIC_RELEASE);
		} else if (rc) {
			fprintf(stderr, "machinefs: %s\n", err);
		}
	}
	return NULL;
}

int store_etcd_attach(struct etcd_store *es, struct store *s, char *err)
{
	long long id;
	int rc = etcd_lease_grant(es->e, LEASE_TTL, &id, err);
	if (rc)
		return rc;
	es->lease = id;
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
	if (pthread_create(&es->watch_t, NULL, watch_main, es) ||
	    pthread_create(&es->keep_t, NULL, keep_main, es))
		abort();
	es->threads = true;
	return 0;
}

void store_etcd_close(struct etcd_store *es)
{
	if (!es)
		return;
	es->stop = 1;
	if (es->threads) {
		pthread_join(es->watch_t, NULL);
		pthread_join(es->keep_t, NULL);
	}
	if (es->lease)
		etcd_lease_revoke(es->e, es->lease, NULL);
	if (es->s)
		store_set_backend(es->s, NULL, NULL);
	for (size_t i = 0; i < es->n; i++)
		free(es->v[i].lockval);
	free(es->v);
	free(es->prefix);
	free(es->key_file);
	OPENSSL_cleanse(&es->key, sizeof(es->key));
	etcd_close(es->e);
	pthread_mutex_destroy(&es->lock);
	free(es);
}
