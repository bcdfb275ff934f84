/* The one HTTP client of the cloud drivers (libcurl).
 *
 *   struct http_req rq = { .method = "POST", .url = url, .headers = &hdrs,
 *                          .body = json, .body_len = strlen(json),
 *                          .secrets = (const char *[]){ token, NULL } };
 *   struct http_resp rs = HTTP_RESP_INIT;
 *   int ret = http_do(ctx, &rq, &rs);   // 0: a 2xx answer
 *   ...
 *   http_resp_release(&rs);
 *
 * http_do() sends one request, retrying it (at most max_attempts times in
 * all) when the answer is 429 or 503 (the request was not processed), when
 * rq->retry_if says so (a body-level throttle such as EC2's
 * RequestLimitExceeded), or when the connection was refused before anything
 * was sent. An idempotent request (GET, HEAD, PUT, DELETE, or rq->idempotent)
 * is also retried on 500/502/504 and when the connection broke without an
 * answer; a POST is not, so that a create the cloud did process is never
 * sent twice (an orphan).
 * Between attempts it sleeps the answer's Retry-After (seconds or an HTTP
 * date, capped at 60 s) or else an exponential backoff with jitter:
 * a random time in [b/2, b] where b = backoff_ms * 2^(attempt-1), capped
 * at 20 s. Sleeps and transfers end at once (within 0.1 s) when
 * driver_cancelled(ctx): -EINTR, "cancelled".
 *
 * Each attempt: connect_timeout_s to connect, timeout_s for the whole
 * exchange (-ETIMEDOUT). rq->sign (optional) is called before every attempt
 * with a fresh copy of rq->headers to append to (AWS SigV4 re-signs each
 * attempt: the date changes). TLS peers are verified against the system CAs,
 * or the file named by $CURL_CA_BUNDLE, or by rq->tls_thumbprint. Plain http:// is refused except to
 * a loopback host (tests, local fakes) unless rq->insecure. Redirects are not
 * followed; only http and https are spoken.
 *
 * Logging: one line per attempt to the machine's log through driver_log():
 *   http POST /v2/droplets 202 134ms
 *   http GET /v2/droplets/7 503 12ms (attempt 1/5, retry in 400ms)
 * The query string is never logged, nor headers or bodies; every string in
 * rq->secrets is replaced by "****" in the log line and in ctx->err.
 *
 * Errors: -errno with one line in ctx->err. A non-2xx final answer maps by
 * http_status_errno(), and the message is "METHOD PATH: http STATUS: what
 * the body says" (the body's JSON "message", "error.message",
 * "error_description" or "error" string, or XML <Message>; else the
 * status's reason phrase). rs->status, rs->body and rs->headers are filled
 * for every answer, 2xx or not, so a caller can accept a 404 on DELETE.
 *
 * Thread safety: http_do() may run in many threads at once (one curl handle
 * per call). */
#ifndef MFS_HTTP_H
#define MFS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "drivers/driver.h"
#include "lib/strbuf.h"
#include "lib/strlist.h"

struct http_resp;

struct http_req {
	const char *method;            /* "GET", "POST", "DELETE", ... */
	const char *url;               /* http(s)://host[:port]/path[?query] */
	const struct strlist *headers; /* "Name: value" lines; may be NULL */
	const char *body;              /* may be NULL */
	size_t body_len;
	/* NULL-terminated; masked in the log and in ctx->err. May be NULL;
	 * NULL or empty entries are skipped. */
	const char *const *secrets;
	int connect_timeout_s;         /* 0: 15 */
	int timeout_s;                 /* per attempt; 0: 60 */
	int max_attempts;              /* 0: 5; 1: no retry */
	int backoff_ms;                /* first backoff; 0: 500 */
	bool insecure;                 /* allow http:// to a non-loopback host */
	bool idempotent;               /* a POST that may be resent (EC2 Describe*) */
	/* TLS: instead of the CAs and the name, the peer's certificate must
	 * have this SHA-1 or SHA-256 thumbprint (hex digits, ':' optional),
	 * checked in the handshake, before anything is sent (vSphere's
	 * self-signed vCenters). NULL or "": the CAs. */
	const char *tls_thumbprint;
	bool tls_noverify;             /* no certificate check at all (the user asked) */
	/* Optional: sign one attempt. Append headers to hdrs (a copy of
	 * rq->headers). 0 or -errno with err (ERR_MAX) set. */
	int (*sign)(void *arg, const struct http_req *rq, struct strlist *hdrs,
		    char *err);
	void *sign_arg;
	/* Optional: true when this answer (any status) should be retried. */
	bool (*retry_if)(void *arg, const struct http_resp *rs);
	void *retry_arg;
};

struct http_resp {
	long status;            /* 0 when no answer came */
	struct strbuf body;
	struct strlist headers; /* "Name: value" lines of the last answer */
	int attempts;           /* how many were sent */
};

#define HTTP_RESP_INIT { 0, STRBUF_INIT, STRLIST_INIT, 0 }

/* Send rq; see above. rs must be HTTP_RESP_INIT or released; the caller
 * releases it (also after an error). 0 only for a 2xx answer. */
int http_do(struct driver_ctx *ctx, const struct http_req *rq,
	    struct http_resp *rs);
void http_resp_release(struct http_resp *rs);

/* The value of the answer's header name (case-insensitive), without
 * surrounding blanks; NULL when absent. Points into rs. */
const char *http_resp_header(const struct http_resp *rs, const char *name);

/* The answer's body as JSON; *out is the caller's (cJSON_Delete). -EBADMSG
 * with ctx->err set when it is not JSON. */
int http_resp_json(struct driver_ctx *ctx, const struct http_resp *rs,
		   const char *what, cJSON **out);

/* The text of the first XML element named name (local name, any
 * namespace) in an XML body, entities decoded, into out. -ENOENT when
 * there is none, -EBADMSG when the body is not XML. */
int http_xml_text(const char *body, size_t len, const char *name,
		  struct strbuf *out);

/* The one mapping from an HTTP status to an errno:
 * 400/422 EINVAL, 401 EACCES, 403 EPERM, 404/410 ENOENT, 409 EEXIST,
 * 408/504 ETIMEDOUT, 413 EFBIG, 429/503 EAGAIN, other 4xx EPROTO,
 * other 5xx EIO, 2xx 0. */
int http_status_errno(long status);

/* What the answer's body says went wrong (see Errors above), one line,
 * at most 200 bytes, into out. Empty when the body says nothing. */
void http_resp_message(const struct http_resp *rs, struct strbuf *out);

/* Copy s into out with every secret replaced by "****". */
void http_mask(struct strbuf *out, const char *s, const char *const *secrets);

#endif
