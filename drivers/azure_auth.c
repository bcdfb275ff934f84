/* Azure AD (Entra ID) tokens for the azure driver, as Docker Machine 0.16
 * gets them (azureutil/auth.go, tenantid.go; ADAL v1 endpoints):
 *   tenant   GET API/subscriptions/SUB without a token: 401 whose
 *            WWW-Authenticate authorization_uri ends in the tenant id;
 *            cached in STORE/credentials/azure/SUB.tenantid. Only the id
 *            is taken: tokens are asked of azure-auth-url (or the
 *            environment's), never of a host the answer names.
 *   client credentials  POST AUTH/TENANT/oauth2/token grant_type=
 *            client_credentials, client_id, client_secret, resource; kept
 *            in memory until it expires.
 *   device code  POST AUTH/TENANT/oauth2/devicecode?api-version=1.0 with
 *            Docker Machine's application id; the message (URL + code) to
 *            the log and the user (driver_say) while the write waits; POST
 *            .../oauth2/token grant_type=device_code every `interval` s while
 *            authorization_pending (bounded by expires_in, cancellable);
 *            the token cached in STORE/credentials/azure/TENANT.json (0600,
 *            ADAL's fields) and refreshed with its refresh_token. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "drivers/azure.h"
#include "drivers/wait.h"
#include "lib/fileutil.h"
#include "lib/json.h"

#define DM_APP_ID "637ddaba-219b-43b8-bf19-8cea500cf273"
#define API_SUB "2022-12-01"

static const struct az_env envs[] = {
	{ "AzurePublicCloud", "https://management.azure.com", "https://login.microsoftonline.com",
	  "https://management.core.windows.net/" },
	{ "AzureChinaCloud", "https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn",
	  "https://management.core.chinacloudapi.cn/" },
	{ "AzureUSGovernmentCloud", "https://management.usgovcloudapi.net", "https://login.microsoftonline.us",
	  "https://management.core.usgovcloudapi.net/" },
	{ NULL, NULL, NULL, NULL },
};

const struct az_env *az_env_find(const char *name)
{
	for (const struct az_env *e = envs; e->name; e++)
		if (!strcasecmp(e->name, name))
			return e;
	return NULL;
}

static const struct az_env *env_of(const struct az_priv *p)
{
	const struct az_env *e = az_env_find(p->environment);
	return e ? e : &envs[0];
}

static void trimmed(char *buf, size_t len, const char *s)
{
	size_t n = strlen(s);
	while (n && s[n - 1] == '/')
		n--;
	snprintf(buf, len, "%.*s", (int)n, s);
}

void az_api_base(const struct az_priv *p, char *buf, size_t len)
{
	trimmed(buf, len, *p->api_url ? p->api_url : env_of(p)->api);
}

void az_auth_base(const struct az_priv *p, char *buf, size_t len)
{
	trimmed(buf, len, *p->auth_url ? p->auth_url : env_of(p)->auth);
}

static bool tenant_ok(const char *t)
{
	if (!*t || strlen(t) > 63 || t[0] == '.' || t[0] == '-')
		return false;
	for (; *t; t++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-", *t))
			return false;
	return true;
}

int az_tenant_from_header(const char *hdr, char *out, size_t len)
{
	const char *a = hdr ? strstr(hdr, "authorization_uri=\"") : NULL;
	if (!a)
		return -EINVAL;
	a += strlen("authorization_uri=\"");
	const char *e = strchr(a, '"');
	if (!e)
		return -EINVAL;
	const char *slash = e;
	while (slash > a && slash[-1] != '/')
		slash--;
	if (slash == a || (size_t)(e - slash) >= len)
		return -EINVAL;
	snprintf(out, len, "%.*s", (int)(e - slash), slash);
	return tenant_ok(out) ? 0 : -EINVAL;
}

/* ---- the tenant ---- */

static void creds_path(const struct driver_ctx *ctx, char *buf, size_t len, const char *name,
		       const char *ext)
{
	snprintf(buf, len, "%s/credentials/azure/%s%s", ctx->store, name, ext);
}

static int save_private(struct driver_ctx *ctx, const char *path, const char *data)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/credentials/azure", ctx->store);
	int rc = mkdir_p(dir, 0700, ctx->err);
	if (!rc)
		rc = write_file_atomic(path, data, strlen(data), 0600, ctx->err);
	return rc;
}

static int find_tenant(struct driver_ctx *ctx)
{
	struct az_priv *p = ctx->priv;
	if (*p->tenant)
		return 0;
	char path[PATH_MAX];
	creds_path(ctx, path, sizeof(path), p->subscription_id, ".tenantid");
	struct strbuf sb = STRBUF_INIT;
	char err[ERR_MAX];
	if (path_exists(path) && read_file(path, &sb, err) == 0) {
		strbuf_rtrim(&sb);
		if (tenant_ok(strbuf_str(&sb))) {
			snprintf(p->tenant, sizeof(p->tenant), "%s", sb.buf);
			strbuf_release(&sb);
			return 0;
		}
	}
	strbuf_release(&sb);
	char base[512];
	az_api_base(p, base, sizeof(base));
	struct strbuf url = STRBUF_INIT;
	strbuf_addf(&url, "%s/subscriptions/%s?api-version=" API_SUB, base, p->subscription_id);
	struct http_req rq = { .method = "GET", .url = url.buf };
	struct http_resp rs = HTTP_RESP_INIT;
	driver_log(ctx, "Discovering the tenant of subscription %s...", p->subscription_id);
	int rc = http_do(ctx, &rq, &rs);
	if (rs.status == 401) {
		rc = az_tenant_from_header(http_resp_header(&rs, "WWW-Authenticate"), p->tenant,
					   sizeof(p->tenant));
		if (rc)
			rc = error_set(ctx->err, EPROTO,
				       "GET /subscriptions/%s: no tenant id in the 401's WWW-Authenticate header",
				       p->subscription_id);
	} else if (!rc) {
		rc = error_set(ctx->err, EPROTO, "GET /subscriptions/%s: http %ld, want 401 naming the tenant",
			       p->subscription_id, rs.status);
	}
	http_resp_release(&rs);
	strbuf_release(&url);
	if (rc)
		return rc;
	driver_log(ctx, "Tenant of subscription %s is %s", p->subscription_id, p->tenant);
	char line[80];
	snprintf(line, sizeof(line), "%s\n", p->tenant);
	save_private(ctx, path, line); /* a cache: failing to write it is harmless */
	return 0;
}

/* ---- token endpoint ---- */

static void form_add(struct strbuf *f, const char *k, const char *v)
{
	char *e = curl_easy_escape(NULL, v, 0);
	strbuf_addf(f, "%s%s=%s", f->len ? "&" : "", k, e ? e : "");
	curl_free(e);
}

/* POST form to AUTH/TENANT/oauth2/WHAT; the answer's JSON in *out (any
 * status with a JSON body), rc of http_do. */
static int ad_post(struct driver_ctx *ctx, const char *what, const struct strbuf *form,
		   const char *secret, cJSON **out, long *status)
{
	const struct az_priv *p = ctx->priv;
	char base[512];
	az_auth_base(p, base, sizeof(base));
	struct strbuf url = STRBUF_INIT;
	strbuf_addf(&url, "%s/%s/oauth2/%s", base, p->tenant, what);
	struct strlist h = STRLIST_INIT;
	strlist_add(&h, "Content-Type: application/x-www-form-urlencoded");
	strlist_add(&h, "Accept: application/json");
	const char *secrets[] = { secret, NULL };
	struct http_req rq = { .method = "POST", .url = url.buf, .headers = &h, .body = form->buf,
			       .body_len = form->len, .secrets = secrets };
	struct http_resp rs = HTTP_RESP_INIT;
	int rc = http_do(ctx, &rq, &rs);
	*status = rs.status;
	*out = rs.body.len ? cJSON_ParseWithLength(rs.body.buf, rs.body.len) : NULL;
	if (rs.body.len)
		memset(rs.body.buf, 0, rs.body.len);
	http_resp_release(&rs);
	strlist_clear(&h);
	strbuf_release(&url);
	return rc;
}

/* expires_in / expires_on: ADAL v1 sends strings. */
static long num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (cJSON_IsNumber(v))
		return (long)v->valuedouble;
	if (cJSON_IsString(v))
		return strtol(v->valuestring, NULL, 10);
	return 0;
}

static int take_token(struct driver_ctx *ctx, const cJSON *tok)
{
	struct az_priv *p = ctx->priv;
	const char *at = json_str(tok, "access_token", "");
	if (!*at || strlen(at) >= sizeof(p->token) || strpbrk(at, " \r\n\t"))
		return error_set(ctx->err, EBADMSG, "azure ad answered no usable access_token");
	snprintf(p->token, sizeof(p->token), "%s", at);
	return 0;
}

/* ---- client credentials: an in-memory cache ---- */

static pthread_mutex_t cc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cc_entry {
	char key[2048];
	char token[8192];
	time_t expires;
} cc_cache[8];

static void cc_key(const struct az_priv *p, char *key, size_t len)
{
	char base[512];
	az_auth_base(p, base, sizeof(base));
	snprintf(key, len, "%s\n%s\n%s\n%s", base, p->tenant, p->client_id, p->client_secret);
}

static int client_credentials(struct driver_ctx *ctx, bool fresh)
{
	struct az_priv *p = ctx->priv;
	char key[2048];
	cc_key(p, key, sizeof(key));
	time_t now = time(NULL);
	pthread_mutex_lock(&cc_lock);
	for (size_t i = 0; i < sizeof(cc_cache) / sizeof(cc_cache[0]); i++)
		if (!fresh && cc_cache[i].expires > now + 60 && !strcmp(cc_cache[i].key, key)) {
			snprintf(p->token, sizeof(p->token), "%s", cc_cache[i].token);
			pthread_mutex_unlock(&cc_lock);
			return 0;
		}
	pthread_mutex_unlock(&cc_lock);
	struct strbuf form = STRBUF_INIT;
	form_add(&form, "grant_type", "client_credentials");
	form_add(&form, "client_id", p->client_id);
	form_add(&form, "client_secret", p->client_secret);
	form_add(&form, "resource", env_of(p)->resource);
	cJSON *o = NULL;
	long st = 0;
	int rc = ad_post(ctx, "token", &form, p->client_secret, &o, &st);
	memset(form.buf, 0, form.len);
	strbuf_release(&form);
	if (!rc)
		rc = take_token(ctx, o);
	if (!rc) {
		long exp = num(o, "expires_in");
		pthread_mutex_lock(&cc_lock);
		size_t slot = 0;
		/* The same key's slot (a token replaced), else the oldest. */
		bool same = false;
		for (size_t i = 0; i < sizeof(cc_cache) / sizeof(cc_cache[0]) && !same; i++)
			if (!strcmp(cc_cache[i].key, key)) {
				slot = i;
				same = true;
			}
		for (size_t i = 0; i < sizeof(cc_cache) / sizeof(cc_cache[0]) && !same; i++)
			if (cc_cache[i].expires < cc_cache[slot].expires)
				slot = i;
		snprintf(cc_cache[slot].key, sizeof(cc_cache[slot].key), "%s", key);
		snprintf(cc_cache[slot].token, sizeof(cc_cache[slot].token), "%s", p->token);
		cc_cache[slot].expires = now + (exp > 0 ? exp : 300);
		pthread_mutex_unlock(&cc_lock);
	}
	cJSON_Delete(o);
	return rc;
}

/* ---- device code, with Docker Machine's token cache ---- */

static void save_cache(struct driver_ctx *ctx, const cJSON *tok, const char *path)
{
	const struct az_priv *p = ctx->priv;
	cJSON *c = cJSON_CreateObject();
	long now = (long)time(NULL), exp = num(tok, "expires_in");
	char b[32];
	cJSON_AddStringToObject(c, "access_token", json_str(tok, "access_token", ""));
	cJSON_AddStringToObject(c, "refresh_token", json_str(tok, "refresh_token", ""));
	snprintf(b, sizeof(b), "%ld", exp);
	cJSON_AddStringToObject(c, "expires_in", b);
	long on = num(tok, "expires_on");
	snprintf(b, sizeof(b), "%ld", on > 0 ? on : now + exp);
	cJSON_AddStringToObject(c, "expires_on", b);
	snprintf(b, sizeof(b), "%ld", num(tok, "not_before") ? num(tok, "not_before") : now);
	cJSON_AddStringToObject(c, "not_before", b);
	cJSON_AddStringToObject(c, "resource", json_str(tok, "resource", env_of(p)->resource));
	cJSON_AddStringToObject(c, "token_type", json_str(tok, "token_type", "Bearer"));
	char *s = cJSON_PrintUnformatted(c);
	if (s && save_private(ctx, path, s) == 0)
		driver_log(ctx, "Token cached in credentials/azure/%s.json", p->tenant);
	if (s) {
		memset(s, 0, strlen(s));
		free(s);
	}
	cJSON_Delete(c);
}

static int refresh(struct driver_ctx *ctx, const char *rt, const char *path)
{
	const struct az_priv *p = ctx->priv;
	struct strbuf form = STRBUF_INIT;
	form_add(&form, "grant_type", "refresh_token");
	form_add(&form, "client_id", DM_APP_ID);
	form_add(&form, "refresh_token", rt);
	form_add(&form, "resource", env_of(p)->resource);
	cJSON *o = NULL;
	long st = 0;
	int rc = ad_post(ctx, "token", &form, rt, &o, &st);
	memset(form.buf, 0, form.len);
	strbuf_release(&form);
	if (!rc)
		rc = take_token(ctx, o);
	if (!rc)
		save_cache(ctx, o, path);
	cJSON_Delete(o);
	return rc;
}

static int device_code(struct driver_ctx *ctx, const char *path)
{
	const struct az_priv *p = ctx->priv;
	struct strbuf form = STRBUF_INIT;
	form_add(&form, "client_id", DM_APP_ID);
	form_add(&form, "resource", env_of(p)->resource);
	cJSON *o = NULL;
	long st = 0;
	int rc = ad_post(ctx, "devicecode?api-version=1.0", &form, NULL, &o, &st);
	strbuf_release(&form);
	const char *code = json_str(o, "device_code", "");
	if (!rc && !*code)
		rc = error_set(ctx->err, EBADMSG, "azure ad devicecode answer has no device_code");
	if (rc) {
		cJSON_Delete(o);
		return rc;
	}
	char msg[512];
	const char *m = json_str(o, "message", "");
	if (!*m)
		snprintf(msg, sizeof(msg), "To sign in, use a web browser to open the page %.200s and enter the code %.40s to authenticate.",
			 json_str(o, "verification_url", ""), json_str(o, "user_code", ""));
	else
		snprintf(msg, sizeof(msg), "%s", m);
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < ' ' || *c == 0x7f)
			*c = ' ';
	driver_say(ctx, "Microsoft Azure: %s", msg);
	long interval = num(o, "interval"), expires = num(o, "expires_in");
	if (interval < 1 || interval > 60)
		interval = 5;
	if (expires < 1 || expires > 3600)
		expires = 900;
	char *dc = strdup(code);
	cJSON_Delete(o);
	o = NULL;
	rc = 0;
	struct driver_wait w;
	driver_wait_start(&w, ctx, (int)expires, (int)interval * 1000);
	w.nap_first = true;
	for (;;) {
		if (!driver_wait_next(&w)) {
			if (w.timed_out)
				rc = error_set(ctx->err, ETIMEDOUT, "the azure device code expired before the sign-in");
			else
				rc = error_set(ctx->err, EINTR, "the azure sign-in was cancelled");
			break;
		}
		strbuf_reset(&form);
		form_add(&form, "grant_type", "device_code");
		form_add(&form, "client_id", DM_APP_ID);
		form_add(&form, "code", dc);
		form_add(&form, "resource", env_of(p)->resource);
		char save_err[ERR_MAX];
		snprintf(save_err, sizeof(save_err), "%s", ctx->err);
		rc = ad_post(ctx, "token", &form, dc, &o, &st);
		strbuf_release(&form);
		const char *e = json_str(o, "error", "");
		if (rc && (!strcmp(e, "authorization_pending") || !strcmp(e, "slow_down"))) {
			if (!strcmp(e, "slow_down"))
				w.interval_ms += 5000;
			snprintf(ctx->err, ERR_MAX, "%s", save_err);
			cJSON_Delete(o);
			o = NULL;
			continue;
		}
		if (!rc)
			rc = take_token(ctx, o);
		if (!rc) {
			driver_say(ctx, "Microsoft Azure: signed in");
			save_cache(ctx, o, path);
		}
		break;
	}
	cJSON_Delete(o);
	memset(dc, 0, strlen(dc));
	free(dc);
	return rc;
}

static int device_flow(struct driver_ctx *ctx, bool interactive, bool fresh)
{
	const struct az_priv *p = ctx->priv;
	char path[PATH_MAX];
	creds_path(ctx, path, sizeof(path), p->tenant, ".json");
	struct strbuf sb = STRBUF_INIT;
	char err[ERR_MAX];
	cJSON *c = NULL;
	if (path_exists(path) && read_file(path, &sb, err) == 0)
		c = cJSON_ParseWithLength(sb.buf, sb.len);
	if (sb.len)
		memset(sb.buf, 0, sb.len);
	strbuf_release(&sb);
	int rc = 1;
	if (c && !fresh && num(c, "expires_on") > (long)time(NULL) + 60 &&
	    take_token(ctx, c) == 0) {
		rc = 0;
	} else if (c && *json_str(c, "refresh_token", "")) {
		driver_log(ctx, "Refreshing the cached azure token...");
		rc = refresh(ctx, json_str(c, "refresh_token", ""), path);
		if (rc)
			driver_log(ctx, "refresh failed: %s", ctx->err);
	}
	cJSON_Delete(c);
	if (rc == 0)
		return 0;
	if (!interactive)
		return error_set(ctx->err, EACCES,
				 "no valid azure token for tenant %s: sign in again (a create, or azure-client-id/-secret)",
				 p->tenant);
	return device_code(ctx, path);
}

static int auth(struct driver_ctx *ctx, bool interactive, bool fresh)
{
	struct az_priv *p = ctx->priv;
	int rc = find_tenant(ctx);
	if (rc)
		return rc;
	if (*p->client_id && *p->client_secret)
		return client_credentials(ctx, fresh);
	return device_flow(ctx, interactive, fresh);
}

int az_auth(struct driver_ctx *ctx, bool interactive)
{
	return auth(ctx, interactive, false);
}

int az_reauth(struct driver_ctx *ctx)
{
	return auth(ctx, false, true);
}

int az_call(struct driver_ctx *ctx, const char *method, const char *target,
	    const char *body, struct http_resp *rs, bool absolute)
{
	const struct az_priv *p = ctx->priv;
	struct strbuf url = STRBUF_INIT, auth = STRBUF_INIT;
	if (absolute) {
		strbuf_addstr(&url, target);
	} else {
		char base[512];
		az_api_base(p, base, sizeof(base));
		strbuf_addf(&url, "%s%s", base, target);
	}
	strbuf_addf(&auth, "Authorization: Bearer %s", p->token);
	struct strlist h = STRLIST_INIT;
	strlist_add(&h, auth.buf);
	strlist_add(&h, "Accept: application/json");
	if (body)
		strlist_add(&h, "Content-Type: application/json");
	const char *secrets[] = { p->token, p->client_secret, NULL };
	struct http_req rq = { .method = method, .url = url.buf, .headers = &h, .body = body,
			       .body_len = body ? strlen(body) : 0, .secrets = secrets };
	int rc = http_do(ctx, &rq, rs);
	strlist_clear(&h);
	memset(auth.buf, 0, auth.len);
	strbuf_release(&auth);
	strbuf_release(&url);
	return rc;
}
