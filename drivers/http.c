/* The cloud drivers' HTTP client: see http.h. */
#include "drivers/http.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "lib/err.h"
#include "provision/provision.h"

#define MAX_BODY (16 << 20)
#define MAX_RETRY_AFTER_MS 60000L
#define MAX_BACKOFF_MS 20000L
#define MAX_MESSAGE 200

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_rc = CURLE_FAILED_INIT;

static void http_init(void)
{
	init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	xmlInitParser();
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void http_mask(struct strbuf *out, const char *s, const char *const *secrets)
{
	while (*s) {
		size_t hit = 0;
		for (const char *const *p = secrets; p && *p; p++) {
			size_t n = strlen(*p);
			if (n && !strncmp(s, *p, n) && n > hit)
				hit = n;
		}
		if (hit) {
			strbuf_addstr(out, "****");
			s += hit;
		} else {
			strbuf_addch(out, *s++);
		}
	}
}

void http_resp_release(struct http_resp *rs)
{
	strbuf_release(&rs->body);
	strlist_clear(&rs->headers);
	rs->status = 0;
	rs->attempts = 0;
}

const char *http_resp_header(const struct http_resp *rs, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < rs->headers.n; i++) {
		const char *h = rs->headers.v[i];
		if (!strncasecmp(h, name, n) && h[n] == ':') {
			h += n + 1;
			while (*h == ' ' || *h == '\t')
				h++;
			return h;
		}
	}
	return NULL;
}

int http_status_errno(long status)
{
	if (status >= 200 && status < 300)
		return 0;
	switch (status) {
	case 400: case 422: return EINVAL;
	case 401: return EACCES;
	case 403: return EPERM;
	case 404: case 410: return ENOENT;
	case 409: return EEXIST;
	case 408: case 504: return ETIMEDOUT;
	case 413: return EFBIG;
	case 429: case 503: return EAGAIN;
	}
	return status >= 500 ? EIO : EPROTO;
}

/* ---- what an error body says ---- */

static void xml_find(xmlNode *n, const char *name, struct strbuf *out, bool *found)
{
	for (; n && !*found; n = n->next) {
		if (n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name)) {
			xmlChar *text = xmlNodeGetContent(n);
			if (text)
				strbuf_addstr(out, (const char *)text);
			xmlFree(text);
			*found = true;
			return;
		}
		xml_find(n->children, name, out, found);
	}
}

int http_xml_text(const char *body, size_t len, const char *name,
		  struct strbuf *out)
{
	pthread_once(&init_once, http_init);
	if (!body || len > MAX_BODY)
		return -EBADMSG;
	/* No network, no entity expansion from DTDs, no noise on stderr. */
	xmlDoc *doc = xmlReadMemory(body, (int)len, "answer.xml", NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR |
				    XML_PARSE_NOWARNING);
	if (!doc)
		return -EBADMSG;
	bool found = false;
	xml_find(xmlDocGetRootElement(doc), name, out, &found);
	xmlFreeDoc(doc);
	return found ? 0 : -ENOENT;
}

static const char *json_message(const cJSON *root)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
	if (cJSON_IsString(m))
		return m->valuestring;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
	m = cJSON_GetObjectItemCaseSensitive(e, "message");
	if (cJSON_IsObject(e) && cJSON_IsString(m))
		return m->valuestring;
	m = cJSON_GetObjectItemCaseSensitive(root, "error_description");
	if (cJSON_IsString(m))
		return m->valuestring;
	if (cJSON_IsString(e))
		return e->valuestring;
	/* One object member holding the message: OpenStack Nova's
	 * {"itemNotFound": {"code": 404, "message": ...}}, Neutron's
	 * {"NeutronError": {"type", "message", "detail"}}. */
	if (cJSON_IsObject(root) && root->child && !root->child->next &&
	    cJSON_IsObject(root->child)) {
		m = cJSON_GetObjectItemCaseSensitive(root->child, "message");
		if (cJSON_IsString(m))
			return m->valuestring;
	}
	return NULL;
}

void http_resp_message(const struct http_resp *rs, struct strbuf *out)
{
	struct strbuf raw = STRBUF_INIT;
	const char *b = strbuf_str(&rs->body);
	while (isspace((unsigned char)*b))
		b++;
	if (*b == '{') {
		cJSON *root = cJSON_ParseWithLength(rs->body.buf, rs->body.len);
		const char *m = json_message(root);
		if (m)
			strbuf_addstr(&raw, m);
		cJSON_Delete(root);
	} else if (*b == '<') {
		http_xml_text(rs->body.buf, rs->body.len, "Message", &raw);
	}
	/* One line of printable text, at most MAX_MESSAGE bytes. */
	size_t n = 0;
	for (const char *p = strbuf_str(&raw); *p && n < MAX_MESSAGE; p++, n++)
		strbuf_addch(out, (unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p);
	strbuf_rtrim(out);
	strbuf_release(&raw);
}

int http_resp_json(struct driver_ctx *ctx, const struct http_resp *rs,
		   const char *what, cJSON **out)
{
	*out = cJSON_ParseWithLength(strbuf_str(&rs->body), rs->body.len);
	if (!*out)
		return error_set(ctx->err, EBADMSG, "%s: the answer is not JSON", what);
	return 0;
}

/* ---- one attempt ---- */

struct xfer {
	struct driver_ctx *ctx;
	struct http_resp *rs;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	if (x->rs->body.len + len > MAX_BODY)
		return 0;
	strbuf_add(&x->rs->body, p, len);
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	if (len >= 5 && !strncmp(p, "HTTP/", 5)) {
		strlist_clear(&x->rs->headers); /* a new answer (after 100) */
		return len;
	}
	size_t l = len;
	while (l && (p[l - 1] == '\n' || p[l - 1] == '\r'))
		l--;
	if (l)
		strlist_addn(&x->rs->headers, p, l);
	return len;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
		       curl_off_t un)
{
	struct xfer *x = arg;
	return driver_cancelled(x->ctx) ? 1 : 0;
}

/* Run one transfer; checks for cancel every 100 ms. */
static CURLcode perform(struct driver_ctx *ctx, CURL *c)
{
	CURLM *m = curl_multi_init();
	if (!m)
		return CURLE_OUT_OF_MEMORY;
	CURLcode rc = CURLE_OK;
	curl_multi_add_handle(m, c);
	for (;;) {
		int running = 0;
		if (curl_multi_perform(m, &running) != CURLM_OK) {
			rc = CURLE_FAILED_INIT;
			break;
		}
		if (!running) {
			int q;
			CURLMsg *msg = curl_multi_info_read(m, &q);
			rc = msg && msg->msg == CURLMSG_DONE ? msg->data.result
							      : CURLE_FAILED_INIT;
			break;
		}
		if (driver_cancelled(ctx)) {
			rc = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
		curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	curl_multi_remove_handle(m, c);
	curl_multi_cleanup(m);
	return rc;
}

static struct curl_slist *slist_of(const struct strlist *l, bool has_body)
{
	struct curl_slist *s = NULL;
	for (size_t i = 0; l && i < l->n; i++)
		s = curl_slist_append(s, l->v[i]);
	if (has_body) /* no 100-continue round trip */
		s = curl_slist_append(s, "Expect:");
	return s;
}

/* ---- a pinned certificate thumbprint (rq->tls_thumbprint) ---- */

/* The chain check of OpenSSL, replaced: the leaf certificate's SHA-1 or
 * SHA-256 digest must be the pinned one. */
static int pin_verify(X509_STORE_CTX *xs, void *arg)
{
	const char *want = arg;
	X509 *cert = X509_STORE_CTX_get0_cert(xs);
	char hexpin[2 * EVP_MAX_MD_SIZE + 1];
	size_t n = 0;
	for (const char *p = want; *p && n + 1 < sizeof(hexpin); p++)
		if (isxdigit((unsigned char)*p))
			hexpin[n++] = (char)tolower((unsigned char)*p);
	hexpin[n] = '\0';
	const EVP_MD *md = n == 40 ? EVP_sha1() : n == 64 ? EVP_sha256() : NULL;
	unsigned char dg[EVP_MAX_MD_SIZE];
	unsigned dl = 0;
	if (cert && md && X509_digest(cert, md, dg, &dl) == 1) {
		char hex[2 * EVP_MAX_MD_SIZE + 1];
		for (unsigned i = 0; i < dl; i++)
			snprintf(hex + 2 * i, 3, "%02x", dg[i]);
		if (!strcmp(hex, hexpin))
			return 1;
	}
	X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
	return 0;
}

static CURLcode pin_ctx(CURL *c, void *sslctx, void *arg)
{
	(void)c;
	SSL_CTX_set_cert_verify_callback((SSL_CTX *)sslctx, pin_verify, arg);
	return CURLE_OK;
}

static CURLcode attempt(struct driver_ctx *ctx, const struct http_req *rq,
			const struct strlist *hdrs, struct http_resp *rs,
			char *cerr, long *os_errno)
{
	CURL *c = curl_easy_init();
	if (!c)
		return CURLE_OUT_OF_MEMORY;
	struct xfer x = { ctx, rs };
	bool has_body = rq->body || (strcmp(rq->method, "GET") && strcmp(rq->method, "HEAD"));
	struct curl_slist *sl = slist_of(hdrs, has_body);
	const char *ca = getenv("CURL_CA_BUNDLE");

	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)(rq->connect_timeout_s > 0 ? rq->connect_timeout_s : 15));
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(rq->timeout_s > 0 ? rq->timeout_s : 60));
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca && *ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	if (rq->tls_noverify) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (rq->tls_thumbprint && *rq->tls_thumbprint) {
		/* The peer is still verified, by pin_verify() alone. */
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, pin_ctx);
		curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, (void *)rq->tls_thumbprint);
	}
	curl_easy_setopt(c, CURLOPT_USERAGENT, "machinefs");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	if (!strcmp(rq->method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (has_body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);

	CURLcode rc = perform(ctx, c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
	curl_easy_getinfo(c, CURLINFO_OS_ERRNO, os_errno);
	if (rc != CURLE_OK)
		rs->status = 0;
	curl_easy_cleanup(c);
	curl_slist_free_all(sl);
	return rc;
}

/* ---- retries ---- */

static long retry_after_ms(const struct http_resp *rs)
{
	const char *v = http_resp_header(rs, "Retry-After");
	if (!v || !*v)
		return -1;
	long ms;
	if (isdigit((unsigned char)*v)) {
		ms = strtol(v, NULL, 10) * 1000L;
	} else {
		time_t t = curl_getdate(v, NULL);
		if (t < 0)
			return -1;
		ms = (long)(t - time(NULL)) * 1000L;
	}
	if (ms < 0)
		ms = 0;
	return ms > MAX_RETRY_AFTER_MS ? MAX_RETRY_AFTER_MS : ms;
}

static long backoff_ms(const struct http_req *rq, int attempt_no)
{
	static __thread unsigned seed;
	if (!seed)
		seed = (unsigned)now_ms() ^ (unsigned)getpid() ^
		       (unsigned)(uintptr_t)&seed;
	long b = rq->backoff_ms > 0 ? rq->backoff_ms : 500;
	for (int i = 1; i < attempt_no && b < MAX_BACKOFF_MS; i++)
		b *= 2;
	if (b > MAX_BACKOFF_MS)
		b = MAX_BACKOFF_MS;
	return b / 2 + (long)(rand_r(&seed) % (unsigned)(b / 2 + 1));
}

/* Sleep ms, waking every 50 ms to check for cancel. false: cancelled. */
static bool nap(struct driver_ctx *ctx, long ms)
{
	long end = now_ms() + ms;
	while (!driver_cancelled(ctx)) {
		long left = end - now_ms();
		if (left <= 0)
			return true;
		struct timespec ts = { 0, (left > 50 ? 50 : left) * 1000000L };
		nanosleep(&ts, NULL);
	}
	return false;
}

static bool idempotent(const struct http_req *rq)
{
	static const char *const safe[] = { "GET", "HEAD", "PUT", "DELETE", "OPTIONS" };
	for (size_t i = 0; i < sizeof(safe) / sizeof(safe[0]); i++)
		if (!strcmp(rq->method, safe[i]))
			return true;
	return rq->idempotent;
}

static bool retryable(const struct http_req *rq, const struct http_resp *rs,
		      CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		break;
	case CURLE_COULDNT_CONNECT:
		return true; /* nothing was sent */
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		return idempotent(rq);
	default:
		return false;
	}
	if (rq->retry_if && rq->retry_if(rq->retry_arg, rs))
		return true;
	switch (rs->status) {
	case 429: case 503:
		return true;
	case 500: case 502: case 504:
		return idempotent(rq);
	}
	return false;
}

/* ---- the request ---- */

static bool loopback(const char *host)
{
	return !strcmp(host, "localhost") || !strncmp(host, "127.", 4) ||
	       !strcmp(host, "[::1]") || !strcmp(host, "::1");
}

/* "METHOD PATH" of rq, masked, for the log and messages. */
static void describe(struct strbuf *out, const struct http_req *rq,
		     const char *path)
{
	struct strbuf s = STRBUF_INIT;
	strbuf_addf(&s, "%s %s", rq->method, path);
	http_mask(out, strbuf_str(&s), rq->secrets);
	strbuf_release(&s);
}

static int check_url(struct driver_ctx *ctx, const struct http_req *rq,
		     char **path)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int ret = 0;
	if (!u || curl_url_set(u, CURLUPART_URL, rq->url, 0) ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) ||
	    curl_url_get(u, CURLUPART_PATH, path, 0)) {
		struct strbuf m = STRBUF_INIT;
		http_mask(&m, rq->url, rq->secrets);
		ret = error_set(ctx->err, EINVAL, "bad api url '%.200s'", strbuf_str(&m));
		strbuf_release(&m);
	} else if (strcmp(scheme, "https") && strcmp(scheme, "http")) {
		ret = error_set(ctx->err, EINVAL, "bad api url scheme '%s': want https",
				scheme);
	} else if (!strcmp(scheme, "http") && !rq->insecure && !loopback(host)) {
		ret = error_set(ctx->err, EPERM,
				"refusing plain http to '%.200s': use https",
				host);
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ret;
}

/* A method or header line with a control character (CR, LF...) would
 * split the request: refused before anything is sent. */
static int check_lines(struct driver_ctx *ctx, const struct http_req *rq,
		       const struct strlist *hdrs)
{
	for (const char *c = rq->method; *c; c++)
		if (*c < 'A' || *c > 'Z')
			return error_set(ctx->err, EINVAL, "bad http method: want upper-case letters");
	for (size_t i = 0; hdrs && i < hdrs->n; i++)
		for (const char *c = hdrs->v[i]; *c; c++)
			if ((unsigned char)*c < ' ' && *c != '\t')
				return error_set(ctx->err, EINVAL,
						 "bad http header: control characters in it");
	return 0;
}

static int fail_transport(struct driver_ctx *ctx, const struct http_req *rq,
			  const char *what, CURLcode rc, long os_errno,
			  const char *cerr)
{
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		return error_set(ctx->err, EINTR, "%s: cancelled", what);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return error_set(ctx->err, ETIMEDOUT, "%s: timed out after %d s", what,
				 rq->timeout_s > 0 ? rq->timeout_s : 60);
	struct strbuf m = STRBUF_INIT;
	http_mask(&m, cerr[0] ? cerr : curl_easy_strerror(rc), rq->secrets);
	int ret = error_set(ctx->err, curl_errno(rc, os_errno), "%s: %s", what,
			    strbuf_str(&m));
	strbuf_release(&m);
	return ret;
}

static int fail_status(struct driver_ctx *ctx, const struct http_req *rq,
		       const char *what, const struct http_resp *rs)
{
	struct strbuf msg = STRBUF_INIT, masked = STRBUF_INIT;
	http_resp_message(rs, &msg);
	http_mask(&masked, msg.len ? strbuf_str(&msg) : "no message", rq->secrets);
	int ret = error_set(ctx->err, http_status_errno(rs->status),
			    "%s: http %ld: %s", what, rs->status, strbuf_str(&masked));
	strbuf_release(&msg);
	strbuf_release(&masked);
	return ret;
}

int http_do(struct driver_ctx *ctx, const struct http_req *rq,
	    struct http_resp *rs)
{
	pthread_once(&init_once, http_init);
	if (init_rc != CURLE_OK)
		return error_set(ctx->err, EIO, "cannot initialise libcurl: %s",
				 curl_easy_strerror(init_rc));
	char *path = NULL;
	int ret = check_url(ctx, rq, &path);
	if (ret) {
		curl_free(path);
		return ret;
	}
	struct strbuf what = STRBUF_INIT;
	describe(&what, rq, path);
	curl_free(path);

	int max = rq->max_attempts > 0 ? rq->max_attempts : 5;
	CURLcode rc = CURLE_OK;
	long os_errno = 0;
	char cerr[CURL_ERROR_SIZE];
	for (rs->attempts = 0; rs->attempts < max;) {
		if (driver_cancelled(ctx)) {
			rc = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
		struct strlist hdrs = STRLIST_INIT;
		if (rq->headers)
			strlist_copy(&hdrs, rq->headers);
		if ((rq->sign && (ret = rq->sign(rq->sign_arg, rq, &hdrs, ctx->err))) ||
		    (ret = check_lines(ctx, rq, &hdrs))) {
			strlist_clear(&hdrs);
			strbuf_release(&what);
			return ret;
		}
		strbuf_reset(&rs->body);
		strlist_clear(&rs->headers);
		cerr[0] = '\0';
		rs->attempts++;
		long t0 = now_ms();
		rc = attempt(ctx, rq, &hdrs, rs, cerr, &os_errno);
		long ms = now_ms() - t0;
		strlist_clear(&hdrs);

		bool again = rs->attempts < max && retryable(rq, rs, rc);
		long wait = again ? retry_after_ms(rs) : 0;
		if (again && wait < 0)
			wait = backoff_ms(rq, rs->attempts);
		struct strbuf line = STRBUF_INIT;
		strbuf_addf(&line, "http %s ", strbuf_str(&what));
		if (rc == CURLE_OK)
			strbuf_addf(&line, "%ld", rs->status);
		else
			strbuf_addstr(&line, rc == CURLE_ABORTED_BY_CALLBACK
						     ? "cancelled" : "failed");
		strbuf_addf(&line, " %ldms", ms);
		if (again)
			strbuf_addf(&line, " (attempt %d/%d, retry in %ldms)",
				    rs->attempts, max, wait);
		else if (rs->attempts > 1)
			strbuf_addf(&line, " (attempt %d/%d)", rs->attempts, max);
		driver_log(ctx, "%s", strbuf_str(&line));
		strbuf_release(&line);
		if (!again)
			break;
		if (!nap(ctx, wait)) {
			rc = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
	}
	if (rc != CURLE_OK)
		ret = fail_transport(ctx, rq, strbuf_str(&what), rc, os_errno, cerr);
	else if (rs->status < 200 || rs->status >= 300)
		ret = fail_status(ctx, rq, strbuf_str(&what), rs);
	else
		ret = 0;
	strbuf_release(&what);
	return ret;
}
