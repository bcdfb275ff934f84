/* A small etcd v3 client over its JSON gRPC gateway (/v3/...) with
 * libcurl: keys and values travel base64-encoded in JSON, int64s as
 * strings. Requests go to the first endpoint that answers (the last good
 * one first), so one member lost is one connect error, not a failure.
 *
 * Why the gateway: etcd has no C client, and the C++ gRPC stack is a large
 * build dependency; the gateway ships with every etcd since 3.3 (Debian's
 * 3.4 included), speaks the same KV/Lease/Watch API, and libcurl and cJSON
 * are already linked.
 *
 * Ownership: etcd_open allocates, etcd_close frees. struct etcd_kvs
 * holds copies the caller frees with etcd_kvs_clear. A struct etcd may be
 * used by several threads at once (a curl handle per request). */
#ifndef MFS_ETCD_H
#define MFS_ETCD_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct etcd;

struct etcd_kv {
	char *key;
	unsigned char *val; /* NUL-terminated copy; len bytes */
	size_t len;
	long long mod_rev;
	bool deleted;       /* a watch event: the key went */
};

struct etcd_kvs {
	struct etcd_kv *v;
	size_t n;
	long long rev;      /* the store's revision of the answer */
};

/* hosts: "HOST:PORT[,HOST:PORT...]". -EINVAL for a bad list. */
int etcd_open(const char *hosts, struct etcd **out, char *err);
void etcd_close(struct etcd *e);
const char *etcd_hosts(const struct etcd *e);

/* TLS and authentication, before the first request. Any of cacert, cert
 * and key: https, the server verified against cacert (else the system's
 * CAs), cert/key (PEM files) presented as the client certificate. user:
 * every request carries a token from /v3/auth/authenticate (user,
 * password), taken again when etcd says it expired; the password never
 * appears in an error. */
struct etcd_security {
	const char *cacert, *cert, *key;
	const char *user, *password;
};
int etcd_secure(struct etcd *e, const struct etcd_security *sec, char *err);

/* Every key under prefix (sorted), values included unless keys_only. */
int etcd_range(struct etcd *e, const char *prefix, bool keys_only, struct etcd_kvs *out,
	       char *err);
void etcd_kvs_clear(struct etcd_kvs *kvs);

/* One transaction: if every compare holds, every op runs, atomically. */
struct etcd_txn {
	cJSON *compare, *success;
};
void etcd_txn_init(struct etcd_txn *t);
void etcd_txn_release(struct etcd_txn *t);
/* Compares: the key does not exist; the key holds exactly val. */
void etcd_txn_absent(struct etcd_txn *t, const char *key);
void etcd_txn_value_is(struct etcd_txn *t, const char *key, const char *val);
/* Ops: put (lease 0: none); delete one key or (prefix) every key under it. */
void etcd_txn_put(struct etcd_txn *t, const char *key, const void *val, size_t len,
		  long long lease);
void etcd_txn_del(struct etcd_txn *t, const char *key, bool prefix);
/* *ok: whether the compares held (and the ops ran); *rev: the revision. */
int etcd_txn_commit(struct etcd *e, struct etcd_txn *t, bool *ok, long long *rev, char *err);

int etcd_lease_grant(struct etcd *e, int ttl, long long *id, char *err);
/* -ENOENT when the lease is gone (expired). */
int etcd_lease_keepalive(struct etcd *e, long long id, char *err);
int etcd_lease_revoke(struct etcd *e, long long id, char *err);

/* Watch every key under prefix from start_rev on: fn gets each answer's
 * events (a transaction's changes together). Returns when the stream
 * breaks (-errno) or *stop is set (0). */
typedef void (*etcd_watch_fn)(void *arg, const struct etcd_kvs *events);
int etcd_watch(struct etcd *e, const char *prefix, long long start_rev, etcd_watch_fn fn,
	       void *arg, volatile int *stop, char *err);

#endif
