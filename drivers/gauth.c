/* Google OAuth2: ADC lookup, key files, RS256 JWT (see gauth.h). */
#include "drivers/gauth.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "drivers/http.h"
#include "lib/err.h"
#include "lib/fence.h"
#include "lib/fileutil.h"
#include "lib/json.h"

int gauth_find(const char *opt_path, char *out, size_t len, char *err)
{
	const char *env = getenv("GOOGLE_APPLICATION_CREDENTIALS");
	const char *given = opt_path && *opt_path ? opt_path : env && *env ? env : NULL;
	if (given) {
		int rc = fence_check(given, err);
		if (rc)
			return rc;
		if (access(given, R_OK) < 0)
			return error_errno(err, errno, "cannot read google credentials '%s' (%s)",
					   given,
					   given == opt_path ? "option google-application-credentials"
							     : "GOOGLE_APPLICATION_CREDENTIALS");
		if (strlen(given) >= len)
			return error_set(err, ENAMETOOLONG, "google credentials path too long");
		snprintf(out, len, "%s", given);
		return 0;
	}
	char path[PATH_MAX];
	const char *cfg = getenv("CLOUDSDK_CONFIG");
	const char *home = getenv("HOME");
	if (cfg && *cfg)
		snprintf(path, sizeof(path), "%s/application_default_credentials.json", cfg);
	else
		snprintf(path, sizeof(path), "%s/.config/gcloud/application_default_credentials.json",
			 home && *home ? home : "/root");
	if (access(path, R_OK) == 0 && strlen(path) < len) {
		snprintf(out, len, "%s", path);
		return 0;
	}
	return error_set(err, ENOENT,
			 "no google credentials: write a key file's path to 'options/google-application-credentials', set GOOGLE_APPLICATION_CREDENTIALS, or run 'gcloud auth application-default login' (looked for '%s')",
			 path);
}

static char *dup_str(const cJSON *o, const char *key)
{
	const char *v = json_str(o, key, NULL);
	if (!v || !*v)
		return NULL;
	char *s = strdup(v);
	if (!s)
		abort();
	return s;
}

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void gauth_cred_release(struct gauth_cred *c)
{
	free(c->client_email);
	wipe_free(c->private_key);
	free(c->client_id);
	wipe_free(c->client_secret);
	wipe_free(c->refresh_token);
	free(c->token_uri);
	memset(c, 0, sizeof(*c));
}

int gauth_load(const char *path, struct gauth_cred *c, char *err)
{
	memset(c, 0, sizeof(*c));
	struct strbuf sb = STRBUF_INIT;
	int rc = read_file(path, &sb, err);
	if (rc)
		return rc;
	cJSON *o = cJSON_Parse(strbuf_str(&sb));
	OPENSSL_cleanse(sb.buf, sb.len);
	strbuf_release(&sb);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return error_set(err, EINVAL, "cannot parse google credentials '%s': not a JSON object",
				 path);
	}
	const char *type = json_str(o, "type", "");
	c->token_uri = dup_str(o, "token_uri");
	if (!strcmp(type, "service_account")) {
		c->type = GAUTH_SERVICE_ACCOUNT;
		c->client_email = dup_str(o, "client_email");
		c->private_key = dup_str(o, "private_key");
		if (!c->client_email || !c->private_key)
			rc = error_set(err, EINVAL,
				       "google credentials '%s': a service_account file needs client_email and private_key",
				       path);
	} else if (!strcmp(type, "authorized_user")) {
		c->type = GAUTH_AUTHORIZED_USER;
		c->client_id = dup_str(o, "client_id");
		c->client_secret = dup_str(o, "client_secret");
		c->refresh_token = dup_str(o, "refresh_token");
		if (!c->client_id || !c->client_secret || !c->refresh_token)
			rc = error_set(err, EINVAL,
				       "google credentials '%s': an authorized_user file needs client_id, client_secret and refresh_token",
				       path);
	} else {
		rc = error_set(err, EINVAL,
			       "google credentials '%s': unknown type '%.40s': want service_account or authorized_user",
			       path, type);
	}
	/* The whole tree may hold secrets: wipe what cJSON parsed. */
	for (cJSON *it = o->child; it; it = it->next)
		if (cJSON_IsString(it) && it->valuestring)
			OPENSSL_cleanse(it->valuestring, strlen(it->valuestring));
	cJSON_Delete(o);
	if (!rc && !c->token_uri) {
		c->token_uri = strdup(GAUTH_TOKEN_URI_DEFAULT);
		if (!c->token_uri)
			abort();
	}
	if (rc)
		gauth_cred_release(c);
	return rc;
}

void gauth_b64url(struct strbuf *out, const void *data, size_t len)
{
	size_t n = 4 * ((len + 2) / 3);
	unsigned char *b = malloc(n + 1);
	if (!b)
		abort();
	EVP_EncodeBlock(b, data, (int)len);
	for (size_t i = 0; i < n && b[i] != '='; i++)
		strbuf_addch(out, b[i] == '+' ? '-' : b[i] == '/' ? '_' : (char)b[i]);
	free(b);
}

int gauth_jws_rs256(const char *pem, const char *header, const char *payload,
		    struct strbuf *out, char *err)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!pkey)
		return error_set(err, EINVAL, "the google credentials' private_key is not a PEM private key");
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
		EVP_PKEY_free(pkey);
		return error_set(err, EINVAL, "the google credentials' private_key is not an RSA key");
	}
	struct strbuf input = STRBUF_INIT;
	gauth_b64url(&input, header, strlen(header));
	strbuf_addch(&input, '.');
	gauth_b64url(&input, payload, strlen(payload));
	int rc = 0;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input.buf, input.len) != 1 ||
	    !(sig = malloc(siglen)) ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input.buf, input.len) != 1) {
		rc = error_set(err, EIO, "cannot sign the google JWT (RS256)");
	} else {
		strbuf_add(out, input.buf, input.len);
		strbuf_addch(out, '.');
		gauth_b64url(out, sig, siglen);
	}
	free(sig);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	strbuf_release(&input);
	return rc;
}

/* application/x-www-form-urlencoded value. */
static void form_escape(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
			strbuf_addch(sb, (char)*p);
		} else {
			strbuf_addch(sb, '%');
			strbuf_addch(sb, hex[*p >> 4]);
			strbuf_addch(sb, hex[*p & 15]);
		}
	}
}

int gauth_token_body(const struct gauth_cred *c, const char *scope, time_t now,
		     struct strbuf *body, char *err)
{
	if (c->type == GAUTH_AUTHORIZED_USER) {
		strbuf_addstr(body, "grant_type=refresh_token&client_id=");
		form_escape(body, c->client_id);
		strbuf_addstr(body, "&client_secret=");
		form_escape(body, c->client_secret);
		strbuf_addstr(body, "&refresh_token=");
		form_escape(body, c->refresh_token);
		return 0;
	}
	cJSON *claims = cJSON_CreateObject();
	json_put_str(claims, "iss", c->client_email);
	json_put_str(claims, "scope", scope);
	json_put_str(claims, "aud", c->token_uri);
	json_put_int(claims, "exp", (long)now + 3600);
	json_put_int(claims, "iat", (long)now);
	char *payload = cJSON_PrintUnformatted(claims);
	cJSON_Delete(claims);
	if (!payload)
		abort();
	struct strbuf jwt = STRBUF_INIT;
	int rc = gauth_jws_rs256(c->private_key, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", payload,
				 &jwt, err);
	free(payload);
	if (!rc) {
		strbuf_addstr(body, "grant_type=");
		form_escape(body, GAUTH_JWT_GRANT);
		strbuf_addstr(body, "&assertion=");
		strbuf_add(body, jwt.buf, jwt.len);
	}
	strbuf_release(&jwt);
	return rc;
}

/* The token cache: one entry per machine folder, in memory only. */
struct cached_token {
	struct cached_token *next;
	char *dir;       /* the machine's folder */
	char *path;      /* the key file it came from */
	char *token;     /* secret */
	time_t expiry;
};
static struct cached_token *cache;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static struct cached_token *cache_find(const char *dir)
{
	for (struct cached_token *t = cache; t; t = t->next)
		if (!strcmp(t->dir, dir))
			return t;
	return NULL;
}

void gauth_forget(struct driver_ctx *ctx)
{
	pthread_mutex_lock(&cache_lock);
	struct cached_token *t = cache_find(ctx->dir);
	if (t)
		t->expiry = 0;
	pthread_mutex_unlock(&cache_lock);
}

static bool cache_get(struct driver_ctx *ctx, const char *path, struct strbuf *token)
{
	bool hit = false;
	pthread_mutex_lock(&cache_lock);
	struct cached_token *t = cache_find(ctx->dir);
	if (t && !strcmp(t->path, path) && t->expiry > time(NULL) + 60) {
		strbuf_addstr(token, t->token);
		hit = true;
	}
	pthread_mutex_unlock(&cache_lock);
	return hit;
}

static void cache_put(struct driver_ctx *ctx, const char *path, const char *token,
		      time_t expiry)
{
	pthread_mutex_lock(&cache_lock);
	struct cached_token *t = cache_find(ctx->dir);
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t || !(t->dir = strdup(ctx->dir)))
			abort();
		t->next = cache;
		cache = t;
	}
	free(t->path);
	wipe_free(t->token);
	t->path = strdup(path);
	t->token = strdup(token);
	if (!t->path || !t->token)
		abort();
	t->expiry = expiry;
	pthread_mutex_unlock(&cache_lock);
}

/* POST the grant to token_uri; the answer's access_token and expiry. */
static int exchange(struct driver_ctx *ctx, const struct gauth_cred *c, const char *body,
		    struct strbuf *token, time_t *expiry)
{
	struct strlist hdrs = STRLIST_INIT;
	strlist_add(&hdrs, "Content-Type: application/x-www-form-urlencoded");
	strlist_add(&hdrs, "Accept: application/json");
	const char *secrets[] = { c->client_secret, c->refresh_token, NULL };
	struct http_req rq = {
		.method = "POST",
		.url = c->token_uri,
		.headers = &hdrs,
		.body = body,
		.body_len = strlen(body),
		.secrets = secrets,
	};
	struct http_resp rs = HTTP_RESP_INIT;
	int rc = http_do(ctx, &rq, &rs);
	/* invalid_grant, invalid_client...: the credentials are refused. */
	if (rc && rs.status >= 400 && rs.status < 500 && rs.status != 429)
		rc = -EACCES;
	cJSON *o = NULL;
	if (!rc)
		rc = http_resp_json(ctx, &rs, "the token answer", &o);
	if (!rc) {
		const char *tok = json_str(o, "access_token", "");
		if (!*tok)
			rc = error_set(ctx->err, EBADMSG, "the token answer has no access_token");
		else
			strbuf_addstr(token, tok);
		*expiry = time(NULL) + json_int(o, "expires_in", 3600);
		for (cJSON *it = o->child; it; it = it->next)
			if (cJSON_IsString(it) && it->valuestring)
				OPENSSL_cleanse(it->valuestring, strlen(it->valuestring));
	}
	cJSON_Delete(o);
	if (rs.body.len)
		OPENSSL_cleanse(rs.body.buf, rs.body.len);
	http_resp_release(&rs);
	strlist_clear(&hdrs);
	return rc;
}

int gauth_token(struct driver_ctx *ctx, const char *path, const char *scope,
		struct strbuf *token)
{
	if (cache_get(ctx, path, token))
		return 0;
	struct gauth_cred c;
	int rc = gauth_load(path, &c, ctx->err);
	if (rc)
		return rc;
	struct strbuf body = STRBUF_INIT;
	time_t expiry = 0;
	rc = gauth_token_body(&c, scope, time(NULL), &body, ctx->err);
	if (!rc) {
		driver_log(ctx, "google: getting an access token (%s) from %s",
			   c.type == GAUTH_SERVICE_ACCOUNT ? "service account JWT" : "refresh token",
			   c.token_uri);
		rc = exchange(ctx, &c, body.buf, token, &expiry);
	}
	if (rc) {
		char why[ERR_MAX];
		snprintf(why, sizeof(why), "%s", ctx->err);
		error_set(ctx->err, -rc, "cannot get a google access token with the key file '%s': %s",
			  path, why);
	} else {
		cache_put(ctx, path, token->buf, expiry);
	}
	OPENSSL_cleanse(body.buf ? body.buf : (char *)"", body.len);
	strbuf_release(&body);
	gauth_cred_release(&c);
	return rc;
}
