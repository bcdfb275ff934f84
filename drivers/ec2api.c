/* The EC2 Query API client (see ec2api.h). */
#include "drivers/ec2api.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "drivers/http.h"
#include "drivers/sigv4.h"
#include "lib/err.h"
#include "lib/strbuf.h"

int ec2_client_init(struct ec2_client *c, struct driver_ctx *ctx, const char *endpoint,
		    const char *region, const struct aws_creds *creds, int attempts,
		    bool insecure)
{
	memset(c, 0, sizeof(*c));
	c->ctx = ctx;
	c->creds = creds;
	c->attempts = attempts < 1 ? 1 : attempts;
	c->insecure = insecure;
	if (strlen(region) >= sizeof(c->region))
		return error_set(ctx->err, EINVAL, "invalid amazonec2-region '%.64s...'", region);
	snprintf(c->region, sizeof(c->region), "%s", region);
	struct strbuf u = STRBUF_INIT;
	if (!endpoint || !*endpoint)
		strbuf_addf(&u, "https://ec2.%s.amazonaws.com/", region);
	else if (strstr(endpoint, "://"))
		strbuf_addstr(&u, endpoint);
	else
		strbuf_addf(&u, "%s://%s", insecure ? "http" : "https", endpoint);
	const char *auth = strstr(u.buf, "://") + 3;
	const char *slash = strchr(auth, '/');
	if (!slash)
		strbuf_addch(&u, '/');
	auth = strstr(u.buf, "://") + 3;
	slash = strchr(auth, '/');
	int rc = 0;
	if (strncmp(u.buf, "http://", 7) && strncmp(u.buf, "https://", 8))
		rc = error_set(ctx->err, EINVAL,
			       "invalid amazonec2-endpoint '%.200s': want a host name or an http(s) URL",
			       endpoint);
	else if (slash == auth || u.len >= sizeof(c->url) || (size_t)(slash - auth) >= sizeof(c->host))
		rc = error_set(ctx->err, EINVAL, "invalid amazonec2-endpoint '%.200s'", endpoint);
	else if (strchr(u.buf, '?') || strchr(u.buf, '#') || memchr(auth, '@', (size_t)(slash - auth)))
		rc = error_set(ctx->err, EINVAL,
			       "invalid amazonec2-endpoint '%.200s': no user, query or fragment",
			       endpoint);
	if (!rc) {
		snprintf(c->url, sizeof(c->url), "%s", u.buf);
		snprintf(c->host, sizeof(c->host), "%.*s", (int)(slash - auth), auth);
	}
	strbuf_release(&u);
	return rc;
}

void ec2_param(struct strlist *p, const char *name, const char *value)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s=%s", name, value ? value : "");
	strlist_add(p, sb.buf);
	strbuf_release(&sb);
}

void ec2_paramf(struct strlist *p, const char *value, const char *name_fmt, ...)
{
	struct strbuf name = STRBUF_INIT;
	va_list ap;
	va_start(ap, name_fmt);
	strbuf_vaddf(&name, name_fmt, ap);
	va_end(ap);
	ec2_param(p, name.buf, value);
	strbuf_release(&name);
}

/* Go's url.QueryEscape, as aws-sdk-go's ec2query encodes the body. */
static void form_escape(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~')
			strbuf_addch(sb, (char)ch);
		else if (ch == ' ')
			strbuf_addch(sb, '+');
		else
			strbuf_addf(sb, "%%%02X", ch);
	}
}

static int cmp_names(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t lx = strcspn(x, "="), ly = strcspn(y, "=");
	int c = strncmp(x, y, lx < ly ? lx : ly);
	return c ? c : (lx > ly) - (lx < ly);
}

void ec2_form(struct strbuf *out, const char *action, const struct strlist *params)
{
	struct strlist all = STRLIST_INIT;
	struct strbuf a = STRBUF_INIT;
	strbuf_addf(&a, "Action=%s", action);
	strlist_add(&all, a.buf);
	strlist_add(&all, "Version=" EC2_API_VERSION);
	for (size_t i = 0; params && i < params->n; i++)
		strlist_add(&all, params->v[i]);
	/* url.Values.Encode: sorted by name (stable for equal names). */
	qsort(all.v, all.n, sizeof(char *), cmp_names);
	for (size_t i = 0; i < all.n; i++) {
		char *eq = strchr(all.v[i], '=');
		*eq = '\0';
		if (i)
			strbuf_addch(out, '&');
		form_escape(out, all.v[i]);
		strbuf_addch(out, '=');
		form_escape(out, eq + 1);
		*eq = '=';
	}
	strlist_clear(&all);
	strbuf_release(&a);
}

static int sign_attempt(void *arg, const struct http_req *rq, struct strlist *hdrs, char *err)
{
	struct ec2_client *c = arg;
	struct sigv4_key key = {
		.access_key = c->creds->access_key,
		.secret_key = c->creds->secret_key,
		.session_token = c->creds->session_token,
	};
	struct sigv4_params p = { .region = c->region, .service = "ec2" };
	const char *path = strchr(strstr(c->url, "://") + 3, '/');
	return sigv4_sign(&key, &p, rq->method, path, hdrs, rq->body, rq->body_len, NULL, err);
}

/* EC2 says "slow down" in the body: RequestLimitExceeded (HTTP 503).
 * Nothing was done: safe to resend even a RunInstances. (A 500
 * InternalError is resent by http_do only for an idempotent action.) */
static bool throttled(void *arg, const struct http_resp *rs)
{
	(void)arg;
	if (rs->status < 400)
		return false;
	struct strbuf code = STRBUF_INIT;
	bool yes = !http_xml_text(rs->body.buf, rs->body.len, "Code", &code) &&
		   (!strcmp(code.buf, "RequestLimitExceeded") || !strcmp(code.buf, "Throttling"));
	strbuf_release(&code);
	return yes;
}

/* Actions that may be sent twice without making a second thing. */
static bool idempotent(const char *action)
{
	/* RunInstances: the driver always sends a ClientToken. */
	static const char *const prefixes[] = { "Describe", "Delete", "Terminate", "Stop",
						"Start", "Reboot", "CreateTags", "RunInstances" };
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(action, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

static xmlDoc *parse(const char *body, size_t len)
{
	if (!body || !len)
		return NULL;
	return xmlReadMemory(body, (int)len, "ec2.xml", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
				     XML_PARSE_NOWARNING);
}

int ec2_call(struct ec2_client *c, const char *action, const struct strlist *params,
	     xmlDoc **doc)
{
	struct driver_ctx *ctx = c->ctx;
	*doc = NULL;
	c->code[0] = '\0';
	struct strbuf body = STRBUF_INIT, host = STRBUF_INIT;
	ec2_form(&body, action, params);
	struct strlist hdrs = STRLIST_INIT;
	strlist_add(&hdrs, "Content-Type: application/x-www-form-urlencoded; charset=utf-8");
	strbuf_addf(&host, "Host: %s", c->host);
	strlist_add(&hdrs, host.buf);
	const char *secrets[] = { c->creds->secret_key, c->creds->session_token, NULL };
	struct http_req rq = {
		.method = "POST",
		.url = c->url,
		.headers = &hdrs,
		.body = body.buf,
		.body_len = body.len,
		.secrets = secrets,
		.max_attempts = c->attempts,
		.insecure = c->insecure,
		.idempotent = idempotent(action),
		.sign = sign_attempt,
		.sign_arg = c,
		.retry_if = throttled,
	};
	struct http_resp rs = HTTP_RESP_INIT;
	if (strncmp(action, "Describe", 8))
		driver_log(ctx, "ec2 %s", action);
	int rc = http_do(ctx, &rq, &rs);
	if (rc && rs.status >= 400) {
		struct strbuf code = STRBUF_INIT, msg = STRBUF_INIT, line = STRBUF_INIT;
		http_xml_text(rs.body.buf, rs.body.len, "Code", &code);
		http_xml_text(rs.body.buf, rs.body.len, "Message", &msg);
		snprintf(c->code, sizeof(c->code), "%s", strbuf_str(&code));
		/* "InvalidInstanceID.NotFound", "InvalidKeyPair.NotFound"... */
		size_t cl = strlen(c->code);
		if (cl > 9 && !strcmp(c->code + cl - 9, ".NotFound"))
			rc = -ENOENT;
		strbuf_addf(&line, "ec2 %s: %s: %s", action,
			    code.len ? code.buf : "http error",
			    msg.len ? msg.buf : "no message");
		struct strbuf masked = STRBUF_INIT;
		http_mask(&masked, line.buf, secrets);
		for (char *p = masked.buf; p && *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		error_set(ctx->err, -rc, "%.400s", strbuf_str(&masked));
		strbuf_release(&masked);
		strbuf_release(&code);
		strbuf_release(&msg);
		strbuf_release(&line);
	} else if (!rc) {
		*doc = parse(rs.body.buf, rs.body.len);
		if (!*doc || !xmlDocGetRootElement(*doc)) {
			if (*doc)
				xmlFreeDoc(*doc);
			*doc = NULL;
			rc = error_set(ctx->err, EBADMSG, "ec2 %s: the answer is not XML", action);
		}
	}
	http_resp_release(&rs);
	strlist_clear(&hdrs);
	strbuf_release(&body);
	strbuf_release(&host);
	return rc;
}

static bool named(const xmlNode *n, const char *name, size_t len)
{
	return n->type == XML_ELEMENT_NODE && strlen((const char *)n->name) == len &&
	       !strncmp((const char *)n->name, name, len);
}

xmlNode *ec2_xml_find(xmlNode *node, const char *path)
{
	const char *p = path;
	while (node && *p) {
		size_t len = strcspn(p, "/");
		xmlNode *k = node->children;
		while (k && !named(k, p, len))
			k = k->next;
		node = k;
		p += len;
		if (*p == '/')
			p++;
	}
	return node;
}

xmlNode *ec2_xml_next(xmlNode *node)
{
	if (!node)
		return NULL;
	size_t len = strlen((const char *)node->name);
	for (xmlNode *k = node->next; k; k = k->next)
		if (named(k, (const char *)node->name, len))
			return k;
	return NULL;
}

const char *ec2_xml_text(xmlNode *node, const char *path, char *buf, size_t len)
{
	buf[0] = '\0';
	xmlNode *n = *path ? ec2_xml_find(node, path) : node;
	if (!n)
		return buf;
	xmlChar *t = xmlNodeGetContent(n);
	if (t && strlen((const char *)t) < len)
		snprintf(buf, len, "%s", (const char *)t);
	xmlFree(t);
	return buf;
}

bool ec2_code_is(const struct ec2_client *c, const char *code)
{
	return !strcmp(c->code, code);
}
