/* Compute Engine v1 calls (see gce_api.h). */
#include "drivers/gce_api.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "drivers/gauth.h"
#include "drivers/http.h"
#include "drivers/wait.h"
#include "lib/err.h"
#include "lib/strbuf.h"
#include "lib/strlist.h"

static int call_once(struct gce *g, const char *method, const char *url, const char *body,
		     struct http_resp *rs)
{
	struct driver_ctx *ctx = g->ctx;
	struct strbuf token = STRBUF_INIT;
	int rc = gauth_token(ctx, g->cred_path, GAUTH_SCOPE_COMPUTE, &token);
	if (rc) {
		strbuf_release(&token);
		return rc;
	}
	struct strlist hdrs = STRLIST_INIT;
	struct strbuf auth = STRBUF_INIT;
	strbuf_addf(&auth, "Authorization: Bearer %s", token.buf);
	strlist_add(&hdrs, auth.buf);
	strlist_add(&hdrs, "Accept: application/json");
	if (body)
		strlist_add(&hdrs, "Content-Type: application/json");
	const char *secrets[] = { token.buf, NULL };
	struct http_req rq = {
		.method = method,
		.url = url,
		.headers = &hdrs,
		.body = body,
		.body_len = body ? strlen(body) : 0,
		.secrets = secrets,
	};
	rc = http_do(ctx, &rq, rs);
	OPENSSL_cleanse(auth.buf, auth.len);
	OPENSSL_cleanse(hdrs.v[0], strlen(hdrs.v[0]));
	OPENSSL_cleanse(token.buf, token.len);
	strbuf_release(&auth);
	strbuf_release(&token);
	strlist_clear(&hdrs);
	return rc;
}

int gce_call(struct gce *g, const char *method, const char *path, const cJSON *body,
	     long *status, cJSON **out)
{
	struct driver_ctx *ctx = g->ctx;
	struct strbuf url = STRBUF_INIT;
	strbuf_addf(&url, "%s%s%salt=json", g->api_url, path, strchr(path, '?') ? "&" : "?");
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;
	struct http_resp rs = HTTP_RESP_INIT;
	int rc = call_once(g, method, url.buf, text, &rs);
	if (rc && rs.status == 401) {
		/* An expired or revoked token: once more with a new one. */
		driver_log(ctx, "google: token refused (401): getting a new one");
		gauth_forget(ctx);
		http_resp_release(&rs);
		rs = (struct http_resp)HTTP_RESP_INIT;
		rc = call_once(g, method, url.buf, text, &rs);
	}
	if (status)
		*status = rs.status;
	if (out)
		*out = NULL;
	if (!rc && out && rs.body.len)
		rc = http_resp_json(ctx, &rs, path, out);
	http_resp_release(&rs);
	cJSON_free(text);
	strbuf_release(&url);
	return rc;
}

int gce_get(struct gce *g, const char *path, cJSON **out)
{
	long status = 0;
	int rc = gce_call(g, "GET", path, NULL, &status, out);
	if (rc && status == 404) {
		g->ctx->err[0] = '\0';
		return -ENOENT;
	}
	return rc;
}

/* An operation's error.errors[0] as -errno + message. */
static int op_error(struct gce *g, const cJSON *op)
{
	const cJSON *errs = cJSON_GetObjectItem(cJSON_GetObjectItem(op, "error"), "errors");
	const cJSON *e0 = cJSON_GetArrayItem(errs, 0);
	if (!e0)
		return 0;
	const char *code = cJSON_GetStringValue(cJSON_GetObjectItem(e0, "code"));
	const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(e0, "message"));
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(op, "operationType"));
	const char *target = cJSON_GetStringValue(cJSON_GetObjectItem(op, "targetLink"));
	const char *slash = target ? strrchr(target, '/') : NULL;
	int e = EIO;
	if (code && !strcmp(code, "RESOURCE_NOT_FOUND"))
		e = ENOENT;
	else if (code && !strcmp(code, "ALREADY_EXISTS"))
		e = EEXIST;
	else if (code && strstr(code, "QUOTA"))
		e = EDQUOT;
	return error_set(g->ctx->err, e, "google operation %s of '%s' failed: %s: %s",
			 type ? type : "?", slash ? slash + 1 : "?", code ? code : "?",
			 msg ? msg : "no message");
}

int gce_wait_op(struct gce *g, cJSON *op, enum gce_op_scope scope, int timeout_s)
{
	struct driver_ctx *ctx = g->ctx;
	const char *n = cJSON_GetStringValue(cJSON_GetObjectItem(op, "name"));
	if (!n) {
		cJSON_Delete(op);
		return error_set(ctx->err, EBADMSG, "google answered without an operation name");
	}
	char name[256];
	snprintf(name, sizeof(name), "%s", n);
	struct strbuf path = STRBUF_INIT;
	if (scope == GCE_OP_ZONE)
		strbuf_addf(&path, "projects/%s/zones/%s/operations/%s", g->project, g->zone, name);
	else
		strbuf_addf(&path, "projects/%s/global/operations/%s", g->project, name);
	int rc = 0;
	bool done = false;
	char st[64] = "?";
	/* As Docker Machine: get, DONE? else sleep a second. */
	cJSON_Delete(op);
	op = NULL;
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, timeout_s, 1000); !done && driver_wait_next(&w);) {
		cJSON_Delete(op);
		op = NULL;
		if ((rc = gce_call(g, "GET", path.buf, NULL, NULL, &op)))
			break;
		const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(op, "status"));
		done = s && !strcmp(s, "DONE");
		snprintf(st, sizeof(st), "%s", s ? s : "?");
	}
	if (done)
		rc = op_error(g, op);
	else if (!rc && w.timed_out)
		rc = error_set(ctx->err, ETIMEDOUT, "google operation '%s' not done after %d s (status %s)",
			       name, timeout_s, st);
	else if (!rc)
		rc = error_set(ctx->err, EINTR, "'%s': cancelled", ctx->machine);
	cJSON_Delete(op);
	strbuf_release(&path);
	return rc;
}
