/* etcd v3 through its JSON gateway (see fs/etcd.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "fs/etcd.h"
#include "lib/err.h"
#include "lib/mask.h"
#include "lib/strbuf.h"
#include "lib/strlist.h"

struct etcd {
	char *hosts;
	struct strlist eps; /* "HOST:PORT" */
	int good;           /* atomic: the last endpoint that answered */
	bool tls;
	char *cacert, *cert, *key, *user, *password;
	pthread_mutex_t auth_lock;
	char *token;        /* protected by auth_lock */
	unsigned token_gen; /* protected by auth_lock */
};

int etcd_open(const char *hosts, struct etcd **out, char *err)
{
	struct etcd *e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	e->hosts = strdup(hosts);
	if (!e->hosts)
		abort();
	char *copy = strdup(hosts), *save = NULL;
	for (char *h = strtok_r(copy, ",", &save); h; h = strtok_r(NULL, ",", &save)) {
		const char *colon = strrchr(h, ':');
		bool ok = colon && colon != h && colon[1] && strspn(colon + 1, "0123456789") ==
								     strlen(colon + 1);
		for (const char *p = h; ok && p < colon; p++)
			ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || *p == '.' || *p == '-';
		if (!ok) {
			int rc = error_set(err, EINVAL, "invalid etcd endpoint '%s': want HOST:PORT", h);
			free(copy);
			etcd_close(e);
			return rc;
		}
		strlist_add(&e->eps, h);
	}
	free(copy);
	if (!e->eps.n) {
		etcd_close(e);
		return error_set(err, EINVAL, "no etcd endpoint in '%s'", hosts);
	}
	pthread_mutex_init(&e->auth_lock, NULL);
	*out = e;
	return 0;
}

static char *dup_or_null(const char *s)
{
	char *d = s && *s ? strdup(s) : NULL;
	if (s && *s && !d)
		abort();
	return d;
}

int etcd_secure(struct etcd *e, const struct etcd_security *sec, char *err)
{
	if ((sec->cert && *sec->cert) != (sec->key && *sec->key))
		return error_set(err, EINVAL, "etcd-cert and etcd-key go together: give both or neither");
	if (sec->password && *sec->password && !(sec->user && *sec->user))
		return error_set(err, EINVAL, "an etcd password without etcd-user");
	e->cacert = dup_or_null(sec->cacert);
	e->cert = dup_or_null(sec->cert);
	e->key = dup_or_null(sec->key);
	e->user = dup_or_null(sec->user);
	e->password = dup_or_null(sec->password);
	if (e->user && !e->password && !(e->password = strdup("")))
		abort();
	e->tls = e->cacert || e->cert;
	return 0;
}

static void free_secret(char *s)
{
	if (s)
		OPENSSL_cleanse(s, strlen(s));
	free(s);
}

void etcd_close(struct etcd *e)
{
	if (!e)
		return;
	free(e->cacert);
	free(e->cert);
	free(e->key);
	free(e->user);
	free_secret(e->password);
	free_secret(e->token);
	pthread_mutex_destroy(&e->auth_lock);
	strlist_clear(&e->eps);
	free(e->hosts);
	free(e);
}

const char *etcd_hosts(const struct etcd *e)
{
	return e->hosts;
}

static char *b64(const void *p, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (!out)
		abort();
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/* NUL-terminated; -1 if not base64. */
static long unb64(const char *s, unsigned char **out)
{
	size_t n = strlen(s);
	*out = malloc(3 * (n / 4) + 4);
	if (!*out)
		abort();
	if (n % 4) {
		free(*out);
		*out = NULL;
		return -1;
	}
	int len = n ? EVP_DecodeBlock(*out, (const unsigned char *)s, (int)n) : 0;
	if (len < 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	while (n && s[n - 1] == '=') { /* DecodeBlock counts the padding */
		len--;
		n--;
	}
	(*out)[len] = '\0';
	return len;
}

static long long json_ll(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (cJSON_IsString(v))
		return strtoll(v->valuestring, NULL, 10);
	if (cJSON_IsNumber(v))
		return (long long)v->valuedouble;
	return 0;
}

/* The key after every key starting with prefix. */
static char *prefix_end(const char *prefix, size_t *len)
{
	size_t n = strlen(prefix);
	char *end = malloc(n + 1);
	if (!end)
		abort();
	memcpy(end, prefix, n + 1);
	while (n && (unsigned char)end[n - 1] == 0xff)
		n--;
	if (n)
		end[n - 1]++;
	*len = n;
	return end;
}

static void put_b64(cJSON *o, const char *name, const void *p, size_t n)
{
	char *s = b64(p, n);
	cJSON_AddStringToObject(o, name, s);
	free(s);
}

static void put_range(cJSON *o, const char *prefix)
{
	size_t n;
	char *end = prefix_end(prefix, &n);
	put_b64(o, "key", prefix, strlen(prefix));
	put_b64(o, "range_end", end, n);
	free(end);
}

struct stream {
	struct strbuf buf;
	etcd_watch_fn fn;
	void *arg;
	volatile int *stop;
	int created;
	bool denied; /* etcd refused the token */
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	strbuf_add(arg, p, size * n);
	return size * n;
}

static int kvs_add(struct etcd_kvs *kvs, const cJSON *kv, bool deleted)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(kv, "key");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(kv, "value");
	if (!cJSON_IsString(k))
		return -1;
	struct etcd_kv x = { .mod_rev = json_ll(kv, "mod_revision"), .deleted = deleted };
	if (unb64(k->valuestring, (unsigned char **)&x.key) < 0)
		return -1;
	long len = unb64(cJSON_IsString(v) ? v->valuestring : "", &x.val);
	if (len < 0) {
		free(x.key);
		return -1;
	}
	x.len = (size_t)len;
	kvs->v = realloc(kvs->v, (kvs->n + 1) * sizeof(*kvs->v));
	if (!kvs->v)
		abort();
	kvs->v[kvs->n++] = x;
	return 0;
}

void etcd_kvs_clear(struct etcd_kvs *kvs)
{
	for (size_t i = 0; i < kvs->n; i++) {
		free(kvs->v[i].key);
		free(kvs->v[i].val);
	}
	free(kvs->v);
	memset(kvs, 0, sizeof(*kvs));
}

/* Complete JSON objects at the front of the watch stream. */
static void stream_feed(struct stream *st)
{
	size_t used = 0;
	while (used < st->buf.len) {
		const char *end = NULL;
		cJSON *j = cJSON_ParseWithLengthOpts(st->buf.buf + used, st->buf.len - used, &end, 0);
		if (!j)
			break; /* incomplete: wait for more */
		used = (size_t)(end - st->buf.buf);
		while (used < st->buf.len && (st->buf.buf[used] == '\n' || st->buf.buf[used] == '\r'))
			used++;
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "result");
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
		const cJSON *em = cJSON_GetObjectItemCaseSensitive(e, "message");
		if (cJSON_IsString(em) && strstr(em->valuestring, "auth token"))
			st->denied = true;
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "created")))
			st->created = 1;
		struct etcd_kvs ev = { .rev = json_ll(cJSON_GetObjectItemCaseSensitive(r, "header"), "revision") };
		const cJSON *it;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r, "events")) {
			const cJSON *type = cJSON_GetObjectItemCaseSensitive(it, "type");
			bool del = cJSON_IsString(type) && !strcmp(type->valuestring, "DELETE");
			kvs_add(&ev, cJSON_GetObjectItemCaseSensitive(it, "kv"), del);
		}
		if (ev.n)
			st->fn(st->arg, &ev);
		etcd_kvs_clear(&ev);
		cJSON_Delete(j);
	}
	if (used) {
		memmove(st->buf.buf, st->buf.buf + used, st->buf.len - used);
		st->buf.len -= used;
		st->buf.buf[st->buf.len] = '\0';
	}
}

static size_t stream_write(char *p, size_t size, size_t n, void *arg)
{
	struct stream *st = arg;
	strbuf_add(&st->buf, p, size * n);
	stream_feed(st);
	return st->denied ? 0 : size * n; /* refused: end it, take a new token */
}

static int stream_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	struct stream *st = arg;
	return *st->stop ? 1 : 0;
}

/* etcd's error message in an answer, or "". */
static const char *answer_msg(const cJSON *j)
{
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (!cJSON_IsString(msg))
		msg = cJSON_GetObjectItemCaseSensitive(j, "message");
	return cJSON_IsString(msg) ? msg->valuestring : "";
}

/* A plain answer's first line, printable, short ("" if none). */
static const char *body_line(const struct strbuf *out, char *line, size_t len)
{
	size_t n = 0;
	for (const char *p = out ? strbuf_str(out) : ""; *p && *p != '\n' && n + 1 < len && n < 160; p++)
		line[n++] = (*p >= ' ' && *p < 127) ? *p : '?';
	line[n] = '\0';
	return line;
}

/* The password out of an error line. */
static void mask_password(const struct etcd *e, char *err)
{
	if (!err || !e->password || !*e->password || !strstr(err, e->password))
		return;
	struct strlist l = STRLIST_INIT;
	strlist_add(&l, e->password);
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, err);
	mask_text(&sb, &l);
	snprintf(err, ERR_MAX, "%s", strbuf_str(&sb));
	strbuf_release(&sb);
	strlist_clear(&l);
}

/* POST json to path on each endpoint in turn until one answers, with
 * token (NULL: none); a stream (watch) runs without a total timeout.
 * *denied: etcd refused the token (expired). */
static int post_once(struct etcd *e, const char *path, const char *json, const char *token,
		     struct strbuf *out, struct stream *st, bool *denied, char *err)
{
	int first = __atomic_load_n(&e->good, __ATOMIC_RELAXED), rc = 0;
	char why[CURL_ERROR_SIZE] = "";
	*denied = false;
	for (size_t k = 0; k < e->eps.n; k++) {
		int i = (int)((first + (int)k) % (int)e->eps.n);
		char url[512];
		snprintf(url, sizeof(url), "%s://%s%s", e->tls ? "https" : "http", e->eps.v[i], path);
		CURL *c = curl_easy_init();
		if (!c)
			abort();
		struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
		struct strbuf auth = STRBUF_INIT;
		if (token) {
			strbuf_addstr(&auth, "Authorization: ");
			strbuf_addstr(&auth, token);
			h = curl_slist_append(h, strbuf_str(&auth));
		}
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, e->tls ? "https" : "http");
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, why);
		if (e->tls) {
			curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
			curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
			if (e->cacert)
				curl_easy_setopt(c, CURLOPT_CAINFO, e->cacert);
			if (e->cert) {
				curl_easy_setopt(c, CURLOPT_SSLCERT, e->cert);
				curl_easy_setopt(c, CURLOPT_SSLKEY, e->key);
			}
		}
		if (st) {
			curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stream_write);
			curl_easy_setopt(c, CURLOPT_WRITEDATA, st);
			curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
			curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, stream_progress);
			curl_easy_setopt(c, CURLOPT_XFERINFODATA, st);
		} else {
			strbuf_reset(out);
			curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
			curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
			curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
		}
		CURLcode cc = curl_easy_perform(c);
		long status = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_slist_free_all(h);
		curl_easy_cleanup(c);
		if (auth.len)
			OPENSSL_cleanse(auth.buf, auth.len);
		strbuf_release(&auth);
		if (st && st->denied) {
			*denied = true;
			rc = error_set(err, EACCES, "etcd refused the token of user '%s'", e->user ? e->user : "");
			break;
		}
		if (st && *st->stop) {
			rc = 0;
			break;
		}
		if (cc == CURLE_OK && status == 200) {
			__atomic_store_n(&e->good, i, __ATOMIC_RELAXED);
			rc = 0;
			break;
		}
		if (cc == CURLE_OK) {
			cJSON *j = out ? cJSON_Parse(strbuf_str(out)) : NULL;
			char line[200];
			const char *msg = answer_msg(j);
			if (!*msg && !j)
				msg = body_line(out, line, sizeof(line));
			*denied = token && (status == 401 || strstr(msg, "auth token"));
			if (strstr(msg, "user name is empty"))
				rc = error_set(err, EACCES, "etcd at '%s' wants a user: give -o etcd-user=NAME and etcd-password-file=FILE",
					       e->hosts);
			else if (!e->tls && status == 400 && out && strstr(strbuf_str(out), "HTTPS"))
				rc = error_set(err, EPROTO, "etcd at '%s' speaks https: give its CA with -o etcd-cacert=FILE",
					       e->hosts);
			else if (out && strstr(strbuf_str(out), "CommonName of client"))
				rc = error_set(err, EACCES, "etcd at '%s' refuses a client certificate with a CommonName while its auth is on: give etcd-cert a certificate without CN",
					       e->hosts);
			else
				rc = error_set(err, status == 404 ? ENOENT : status == 401 || status == 403 ? EACCES : EIO,
					       "etcd '%s' %s: http %ld%s%s", e->eps.v[i], path, status,
					       *msg ? ": " : "", msg);
			cJSON_Delete(j);
			break; /* it answered: another member would say the same */
		}
		if (st && st->created) {
			rc = error_set(err, EIO, "etcd watch on '%s' broke: %s", e->eps.v[i], why);
			break; /* the caller resumes from the last revision it saw */
		}
		if (cc == CURLE_SSL_CERTPROBLEM || cc == CURLE_SSL_CACERT_BADFILE) {
			rc = error_set(err, EINVAL, "etcd tls: %s (etcd-cacert, etcd-cert, etcd-key)",
				       *why ? why : curl_easy_strerror(cc));
			break; /* ours: every member would fail the same */
		}
		if (e->tls && (cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_PEER_FAILED_VERIFICATION ||
			       cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR)) {
			rc = error_set(err, EACCES, "tls with etcd at '%s' failed: %s", e->hosts,
				       *why ? why : curl_easy_strerror(cc));
			continue;
		}
		if (!e->tls && (cc == CURLE_GOT_NOTHING || cc == CURLE_RECV_ERROR)) {
			rc = error_set(err, EPROTO, "etcd at '%s' closed the connection: if it speaks https, give its CA with -o etcd-cacert=FILE",
				       e->hosts);
			continue;
		}
		rc = error_set(err, cc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : EHOSTUNREACH,
			       "cannot reach etcd at '%s': %s", e->hosts, *why ? why : curl_easy_strerror(cc));
	}
	mask_password(e, err);
	return rc;
}

/* A token for e->user: the one held, else a new one from etcd. */
static int token_get(struct etcd *e, char **tok, unsigned *gen, char *err)
{
	pthread_mutex_lock(&e->auth_lock);
	int rc = 0;
	if (!e->token) {
		cJSON *rq = cJSON_CreateObject();
		cJSON_AddStringToObject(rq, "name", e->user);
		cJSON_AddStringToObject(rq, "password", e->password);
		char *json = cJSON_PrintUnformatted(rq);
		if (!json)
			abort();
		cJSON_Delete(rq);
		struct strbuf sb = STRBUF_INIT;
		bool denied;
		rc = post_once(e, "/v3/auth/authenticate", json, NULL, &sb, NULL, &denied, err);
		OPENSSL_cleanse(json, strlen(json));
		free(json);
		cJSON *j = rc ? NULL : cJSON_Parse(strbuf_str(&sb));
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "token");
		if (rc && strstr(err, "/v3/auth/authenticate")) {
			const char *colon = strstr(err, "etcdserver: ");
			char why[ERR_MAX];
			snprintf(why, sizeof(why), "%s", colon ? colon + strlen("etcdserver: ") : err);
			rc = error_set(err, EACCES, "etcd at '%s' refused user '%s': %s", e->hosts, e->user,
				       why);
			mask_password(e, err);
		} else if (!rc && (!cJSON_IsString(t) || !*t->valuestring)) {
			rc = error_set(err, EPROTO, "etcd at '%s' gave user '%s' no token", e->hosts, e->user);
		} else if (!rc) {
			e->token = strdup(t->valuestring);
			if (!e->token)
				abort();
			e->token_gen++;
		}
		if (t)
			OPENSSL_cleanse(t->valuestring, strlen(t->valuestring));
		cJSON_Delete(j);
		if (sb.len)
			OPENSSL_cleanse(sb.buf, sb.len);
		strbuf_release(&sb);
	}
	if (!rc) {
		*tok = strdup(e->token);
		if (!*tok)
			abort();
		*gen = e->token_gen;
	}
	pthread_mutex_unlock(&e->auth_lock);
	return rc;
}

/* The token of generation gen was refused: the next request takes a new one. */
static void token_drop(struct etcd *e, unsigned gen)
{
	pthread_mutex_lock(&e->auth_lock);
	if (e->token && e->token_gen == gen) {
		free_secret(e->token);
		e->token = NULL;
	}
	pthread_mutex_unlock(&e->auth_lock);
}

/* post_once with the user's token, taken again if etcd refuses it (it
 * expired; at most twice: a token may expire again on a slow machine). */
static int post(struct etcd *e, const char *path, const cJSON *body, struct strbuf *out,
		struct stream *st, char *err)
{
	char *json = cJSON_PrintUnformatted(body);
	if (!json)
		abort();
	int rc = 0;
	for (int attempt = 0; attempt < 3; attempt++) {
		char *tok = NULL;
		unsigned gen = 0;
		if (e->user && (rc = token_get(e, &tok, &gen, err)))
			break;
		bool denied = false;
		if (st) {
			st->denied = false;
			st->created = 0;
			strbuf_reset(&st->buf);
		}
		rc = post_once(e, path, json, tok, out, st, &denied, err);
		free_secret(tok);
		if (!denied)
			break;
		token_drop(e, gen);
	}
	free(json);
	return rc;
}

/* POST and parse the answer. */
static int call(struct etcd *e, const char *path, cJSON *body, cJSON **out, char *err)
{
	struct strbuf sb = STRBUF_INIT;
	int rc = post(e, path, body, &sb, NULL, err);
	cJSON_Delete(body);
	if (!rc && !(*out = cJSON_Parse(strbuf_str(&sb))))
		rc = error_set(err, EPROTO, "etcd %s: the answer is not JSON", path);
	strbuf_release(&sb);
	return rc;
}

int etcd_range(struct etcd *e, const char *prefix, bool keys_only, struct etcd_kvs *out,
	       char *err)
{
	cJSON *rq = cJSON_CreateObject(), *rs = NULL;
	put_range(rq, prefix);
	if (keys_only)
		cJSON_AddBoolToObject(rq, "keys_only", 1);
	int rc = call(e, "/v3/kv/range", rq, &rs, err);
	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	out->rev = json_ll(cJSON_GetObjectItemCaseSensitive(rs, "header"), "revision");
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rs, "kvs")) {
		if (kvs_add(out, it, false) < 0) {
			rc = error_set(err, EPROTO, "etcd range: a key or value is not base64");
			etcd_kvs_clear(out);
			break;
		}
	}
	cJSON_Delete(rs);
	return rc;
}

void etcd_txn_init(struct etcd_txn *t)
{
	t->compare = cJSON_CreateArray();
	t->success = cJSON_CreateArray();
}

void etcd_txn_release(struct etcd_txn *t)
{
	cJSON_Delete(t->compare);
	cJSON_Delete(t->success);
	t->compare = t->success = NULL;
}

void etcd_txn_absent(struct etcd_txn *t, const char *key)
{
	cJSON *c = cJSON_CreateObject();
	put_b64(c, "key", key, strlen(key));
	cJSON_AddStringToObject(c, "target", "CREATE");
	cJSON_AddStringToObject(c, "result", "EQUAL");
	cJSON_AddStringToObject(c, "create_revision", "0");
	cJSON_AddItemToArray(t->compare, c);
}

void etcd_txn_value_is(struct etcd_txn *t, const char *key, const char *val)
{
	cJSON *c = cJSON_CreateObject();
	put_b64(c, "key", key, strlen(key));
	cJSON_AddStringToObject(c, "target", "VALUE");
	cJSON_AddStringToObject(c, "result", "EQUAL");
	put_b64(c, "value", val, strlen(val));
	cJSON_AddItemToArray(t->compare, c);
}

void etcd_txn_put(struct etcd_txn *t, const char *key, const void *val, size_t len,
		  long long lease)
{
	cJSON *op = cJSON_CreateObject(), *p = cJSON_AddObjectToObject(op, "request_put");
	put_b64(p, "key", key, strlen(key));
	put_b64(p, "value", val, len);
	if (lease) {
		char id[32];
		snprintf(id, sizeof(id), "%lld", lease);
		cJSON_AddStringToObject(p, "lease", id);
	}
	cJSON_AddItemToArray(t->success, op);
}

void etcd_txn_del(struct etcd_txn *t, const char *key, bool prefix)
{
	cJSON *op = cJSON_CreateObject(), *d = cJSON_AddObjectToObject(op, "request_delete_range");
	if (prefix)
		put_range(d, key);
	else
		put_b64(d, "key", key, strlen(key));
	cJSON_AddItemToArray(t->success, op);
}

int etcd_txn_commit(struct etcd *e, struct etcd_txn *t, bool *ok, long long *rev, char *err)
{
	cJSON *rq = cJSON_CreateObject(), *rs = NULL;
	cJSON_AddItemToObject(rq, "compare", t->compare);
	cJSON_AddItemToObject(rq, "success", t->success);
	t->compare = t->success = NULL;
	int rc = call(e, "/v3/kv/txn", rq, &rs, err);
	if (rc)
		return rc;
	*ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rs, "succeeded"));
	if (rev)
		*rev = json_ll(cJSON_GetObjectItemCaseSensitive(rs, "header"), "revision");
	cJSON_Delete(rs);
	return 0;
}

static cJSON *lease_body(long long id)
{
	char s[32];
	snprintf(s, sizeof(s), "%lld", id);
	cJSON *rq = cJSON_CreateObject();
	cJSON_AddStringToObject(rq, "ID", s);
	return rq;
}

int etcd_lease_grant(struct etcd *e, int ttl, long long *id, char *err)
{
	cJSON *rq = cJSON_CreateObject(), *rs = NULL;
	char s[16];
	snprintf(s, sizeof(s), "%d", ttl);
	cJSON_AddStringToObject(rq, "TTL", s);
	int rc = call(e, "/v3/lease/grant", rq, &rs, err);
	if (rc)
		return rc;
	*id = json_ll(rs, "ID");
	cJSON_Delete(rs);
	return *id ? 0 : error_set(err, EPROTO, "etcd granted no lease");
}

int etcd_lease_keepalive(struct etcd *e, long long id, char *err)
{
	cJSON *rs = NULL;
	int rc = call(e, "/v3/lease/keepalive", lease_body(id), &rs, err);
	if (rc)
		return rc;
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(rs, "result");
	if (json_ll(r, "TTL") <= 0)
		rc = error_set(err, ENOENT, "etcd lease %llx expired", id);
	cJSON_Delete(rs);
	return rc;
}

int etcd_lease_revoke(struct etcd *e, long long id, char *err)
{
	cJSON *rs = NULL;
	int rc = call(e, "/v3/lease/revoke", lease_body(id), &rs, err);
	cJSON_Delete(rs);
	return rc;
}

int etcd_watch(struct etcd *e, const char *prefix, long long start_rev, etcd_watch_fn fn,
	       void *arg, volatile int *stop, char *err)
{
	cJSON *rq = cJSON_CreateObject();
	cJSON *cr = cJSON_AddObjectToObject(rq, "create_request");
	put_range(cr, prefix);
	char s[32];
	snprintf(s, sizeof(s), "%lld", start_rev);
	cJSON_AddStringToObject(cr, "start_revision", s);
	struct stream st = { .buf = STRBUF_INIT, .fn = fn, .arg = arg, .stop = stop };
	int rc = post(e, "/v3/watch", rq, NULL, &st, err);
	if (!rc && !*stop)
		rc = error_set(err, EIO, "etcd watch ended");
	cJSON_Delete(rq);
	strbuf_release(&st.buf);
	return rc;
}
