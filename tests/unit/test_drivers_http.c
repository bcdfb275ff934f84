/* drivers/http.c against a tiny scripted HTTP server on 127.0.0.1:0 (a
 * thread of this test): retries and Retry-After, backoff count, the
 * body-level retry predicate, the per-attempt sign hook, cancel, timeout,
 * status-to-errno mapping, error messages, secrets masked, plain http
 * refused off loopback. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "drivers/http.h"
#include "tests/unit/harness.h"
#include "tests/unit/httpstub.h"

/* The log lines of the current test. */
static char logbuf[8192];
static void log_line(void *arg, const char *line)
{
	strncat(logbuf, line, sizeof(logbuf) - strlen(logbuf) - 2);
	strcat(logbuf, "\n");
}

static volatile int cancel_flag;
static struct base_driver base;
static struct driver_ctx ctx = { .machine = "m", .base = &base,
				 .cancel = &cancel_flag, .log_fn = log_line };

static char url[256];
static const char *at(const char *path)
{
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", srv.port, path);
	return url;
}

static void fresh(void)
{
	logbuf[0] = '\0';
	ctx.err[0] = '\0';
	cancel_flag = 0;
}

static void test_ok_and_log(void)
{
	static const struct reply r[] = {
		{ 200, "Content-Type: application/json\r\nX-Thing: yes\r\n",
		  "{\"a\":1}", 0 },
	};
	script(r, 1);
	fresh();
	struct strlist h = STRLIST_INIT;
	strlist_add(&h, "Authorization: Bearer tok-SECRET-1");
	const char *secrets[] = { "tok-SECRET-1", NULL };
	struct http_req rq = { .method = "POST", .url = at("/v2/things?token=tok-SECRET-1"),
			       .headers = &h, .body = "{\"x\":2}", .body_len = 7,
			       .secrets = secrets };
	struct http_resp rs = HTTP_RESP_INIT;
	CHECK(http_do(&ctx, &rq, &rs) == 0);
	CHECK(rs.status == 200);
	CHECK(rs.attempts == 1);
	CHECK_STR(strbuf_str(&rs.body), "{\"a\":1}");
	CHECK_STR(http_resp_header(&rs, "x-thing"), "yes");
	CHECK(http_resp_header(&rs, "X-None") == NULL);
	CHECK_STR(srv.line[0], "POST /v2/things?token=tok-SECRET-1");
	CHECK_STR(srv.body[0], "{\"x\":2}");
	cJSON *j = NULL;
	CHECK(http_resp_json(&ctx, &rs, "things", &j) == 0);
	CHECK(cJSON_GetObjectItem(j, "a") != NULL);
	cJSON_Delete(j);
	/* One line: method, path without the query, status, time. */
	CHECK(!strncmp(logbuf, "http POST /v2/things 200 ", 25));
	CHECK(strstr(logbuf, "SECRET") == NULL);
	CHECK(strchr(logbuf, '\n') == logbuf + strlen(logbuf) - 1);
	http_resp_release(&rs);
	strlist_clear(&h);
}

static void test_retry_after(void)
{
	static const struct reply r[] = {
		{ 429, "Retry-After: 1\r\n", "{\"id\":\"too_many_requests\",\"message\":\"slow down\"}", 0 },
		{ 200, NULL, "{}", 0 },
	};
	script(r, 2);
	fresh();
	/* A huge backoff: only Retry-After can make the second try come soon. */
	struct http_req rq = { .method = "GET", .url = at("/v2/account"),
			       .backoff_ms = 20000 };
	struct http_resp rs = HTTP_RESP_INIT;
	long t0 = now_ms();
	CHECK(http_do(&ctx, &rq, &rs) == 0);
	CHECK(srv.nreq == 2);
	CHECK(rs.attempts == 2);
	CHECK(srv.at_ms[1] - srv.at_ms[0] >= 900); /* waited as told */
	CHECK(now_ms() - t0 < 15000);               /* not the backoff */
	CHECK(strstr(logbuf, "http GET /v2/account 429 ") != NULL);
	CHECK(strstr(logbuf, "retry in 1000ms") != NULL);
	http_resp_release(&rs);
}

static void test_backoff_count(void)
{
	static const struct reply r[] = {
		{ 503, NULL, "{\"id\":\"service_unavailable\",\"message\":\"Service Unavailable\"}", 0 },
	};
	script(r, 1);
	fresh();
	struct http_req rq = { .method = "GET", .url = at("/v2/droplets/7"),
			       .max_attempts = 4, .backoff_ms = 40 };
	struct http_resp rs = HTTP_RESP_INIT;
	int ret = http_do(&ctx, &rq, &rs);
	CHECK(ret == -EAGAIN);
	CHECK(srv.nreq == 4);
	CHECK(rs.attempts == 4);
	CHECK(rs.status == 503);
	CHECK_STR(ctx.err, "GET /v2/droplets/7: http 503: Service Unavailable");
	/* Backoff doubles: waits are at least 20, 40, 80 ms (half of 40, 80, 160). */
	CHECK(srv.at_ms[1] - srv.at_ms[0] >= 20);
	CHECK(srv.at_ms[3] - srv.at_ms[2] >= 80);
	http_resp_release(&rs);

	/* A 500 is resent for a DELETE, never for a POST (it may have made
	 * something); an idempotent POST is. HEAD has no body to wait for. */
	static const struct reply ise[] = {
		{ 500, NULL, "{\"id\":\"server_error\",\"message\":\"Server Error\"}", 0 },
		{ 200, "X-Ok: 1\r\n", "", 0 },
	};
	script(ise, 2);
	fresh();
	rq.method = "POST";
	CHECK(http_do(&ctx, &rq, &rs) == -EIO);
	CHECK(srv.nreq == 1);
	CHECK_STR(ctx.err, "POST /v2/droplets/7: http 500: Server Error");
	http_resp_release(&rs);
	script(ise, 2);
	rq.idempotent = true;
	CHECK(http_do(&ctx, &rq, &rs) == 0);
	CHECK(srv.nreq == 2);
	http_resp_release(&rs);
	rq.idempotent = false;
	script(ise, 2);
	rq.method = "DELETE";
	CHECK(http_do(&ctx, &rq, &rs) == 0);
	CHECK(srv.nreq == 2);
	http_resp_release(&rs);
	static const struct reply head[] = { { 200, "X-Ok: 1\r\n", "", 0 } };
	script(head, 1);
	rq.method = "HEAD";
	CHECK(http_do(&ctx, &rq, &rs) == 0);
	CHECK_STR(http_resp_header(&rs, "X-Ok"), "1");
	CHECK_STR(srv.line[0], "HEAD /v2/droplets/7");
	http_resp_release(&rs);

	/* 404 is not retried. */
	static const struct reply nf[] = {
		{ 404, NULL, "{\"id\":\"not_found\",\"message\":\"The resource you were accessing could not be found.\"}", 0 },
	};
	script(nf, 1);
	fresh();
	rq.method = "DELETE";
	CHECK(http_do(&ctx, &rq, &rs) == -ENOENT);
	CHECK(srv.nreq == 1);
	CHECK(rs.status == 404);
	CHECK_STR(ctx.err, "DELETE /v2/droplets/7: http 404: The resource you were accessing could not be found.");
	http_resp_release(&rs);
}

static bool throttled(void *arg, const struct http_resp *rs)
{
	(*(int *)arg)++;
	struct strbuf code = STRBUF_INIT;
	bool yes = http_xml_text(rs->body.buf, rs->body.len, "Code", &code) == 0 &&
		   !strcmp(strbuf_str(&code), "RequestLimitExceeded");
	strbuf_release(&code);
	return yes;
}

static int sign(void *arg, const struct http_req *rq, struct strlist *hdrs,
		char *err)
{
	int *n = arg;
	char h[64];
	snprintf(h, sizeof(h), "X-Sig: attempt-%d", ++*n);
	strlist_add(hdrs, h);
	return 0;
}

static void test_predicate_and_sign(void)
{
	static const char xml[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<Response><Errors><Error><Code>RequestLimitExceeded</Code>"
		"<Message>Request limit exceeded &amp; more</Message></Error></Errors>"
		"<RequestID>r1</RequestID></Response>";
	static const char bad[] =
		"<Response><Errors><Error><Code>InvalidAMIID.Malformed</Code>"
		"<Message>Invalid id: &quot;ami-x&quot;</Message></Error></Errors></Response>";
	static const struct reply r[] = {
		{ 400, NULL, xml, 0 },
		{ 400, NULL, bad, 0 },
	};
	script(r, 2);
	fresh();
	int asked = 0, signed_n = 0;
	struct http_req rq = { .method = "POST", .url = at("/"), .body = "Action=RunInstances",
			       .body_len = 19, .backoff_ms = 10,
			       .retry_if = throttled, .retry_arg = &asked,
			       .sign = sign, .sign_arg = &signed_n };
	struct http_resp rs = HTTP_RESP_INIT;
	CHECK(http_do(&ctx, &rq, &rs) == -EINVAL);
	CHECK(srv.nreq == 2);
	CHECK(signed_n == 2);
	CHECK_STR(srv.sig[0], "attempt-1");
	CHECK_STR(srv.sig[1], "attempt-2"); /* re-signed, not replayed */
	CHECK_STR(ctx.err, "POST /: http 400: Invalid id: \"ami-x\"");
	struct strbuf m = STRBUF_INIT;
	CHECK(http_xml_text(xml, strlen(xml), "Message", &m) == 0);
	CHECK_STR(strbuf_str(&m), "Request limit exceeded & more");
	strbuf_reset(&m);
	CHECK(http_xml_text(xml, strlen(xml), "Nope", &m) == -ENOENT);
	CHECK(http_xml_text("not xml", 7, "Message", &m) == -EBADMSG);
	strbuf_release(&m);
	http_resp_release(&rs);
}

static void *cancel_later(void *arg)
{
	usleep(300000);
	cancel_flag = 1;
	return NULL;
}

static void test_cancel_and_timeout(void)
{
	static const struct reply r[] = { { 200, NULL, "{}", 30000 } };
	script(r, 1);
	fresh();
	struct http_req rq = { .method = "POST", .url = at("/v2/droplets"), .body = "{}",
			       .body_len = 2 };
	struct http_resp rs = HTTP_RESP_INIT;
	pthread_t t;
	pthread_create(&t, NULL, cancel_later, NULL);
	long t0 = now_ms();
	CHECK(http_do(&ctx, &rq, &rs) == -EINTR);
	CHECK(now_ms() - t0 < 10000);
	CHECK_STR(ctx.err, "POST /v2/droplets: cancelled");
	CHECK(strstr(logbuf, "http POST /v2/droplets cancelled") != NULL);
	pthread_join(t, NULL);
	srv.cut = 1;
	http_resp_release(&rs);

	/* Cancel during a Retry-After sleep. */
	static const struct reply slow[] = { { 429, "Retry-After: 30\r\n", "{}", 0 } };
	script(slow, 1);
	fresh();
	pthread_create(&t, NULL, cancel_later, NULL);
	CHECK(http_do(&ctx, &rq, &rs) == -EINTR);
	CHECK(srv.nreq == 1);
	pthread_join(t, NULL);
	http_resp_release(&rs);

	/* A total timeout of 1 s against a 30 s answer. */
	script(r, 1);
	fresh();
	rq.timeout_s = 1;
	CHECK(http_do(&ctx, &rq, &rs) == -ETIMEDOUT);
	CHECK(srv.nreq == 1); /* a POST that timed out is never resent */
	CHECK_STR(ctx.err, "POST /v2/droplets: timed out after 1 s");
	srv.cut = 1;
	http_resp_release(&rs);
}

static void test_mapping(void)
{
	CHECK(http_status_errno(200) == 0);
	CHECK(http_status_errno(204) == 0);
	CHECK(http_status_errno(400) == EINVAL);
	CHECK(http_status_errno(401) == EACCES);
	CHECK(http_status_errno(403) == EPERM);
	CHECK(http_status_errno(404) == ENOENT);
	CHECK(http_status_errno(409) == EEXIST);
	CHECK(http_status_errno(422) == EINVAL);
	CHECK(http_status_errno(429) == EAGAIN);
	CHECK(http_status_errno(418) == EPROTO);
	CHECK(http_status_errno(500) == EIO);
	CHECK(http_status_errno(503) == EAGAIN);
	CHECK(http_status_errno(504) == ETIMEDOUT);

	/* 401 with DO's body; the token echoed in a body is masked. */
	static const struct reply r[] = {
		{ 401, NULL, "{\"id\":\"unauthorized\",\"message\":\"Unable to authenticate you: tok-XYZ\\nline2\"}", 0 },
	};
	script(r, 1);
	fresh();
	const char *secrets[] = { "tok-XYZ", NULL };
	struct http_req rq = { .method = "GET", .url = at("/v2/regions"), .secrets = secrets };
	struct http_resp rs = HTTP_RESP_INIT;
	CHECK(http_do(&ctx, &rq, &rs) == -EACCES);
	CHECK_STR(ctx.err, "GET /v2/regions: http 401: Unable to authenticate you: **** line2");
	http_resp_release(&rs);

	/* GCE / OAuth shapes. */
	struct http_resp g = HTTP_RESP_INIT;
	struct strbuf m = STRBUF_INIT;
	strbuf_addstr(&g.body, "{\"error\":{\"code\":404,\"message\":\"The resource 'x' was not found\"}}");
	http_resp_message(&g, &m);
	CHECK_STR(strbuf_str(&m), "The resource 'x' was not found");
	strbuf_reset(&m);
	strbuf_reset(&g.body);
	strbuf_addstr(&g.body, "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT\"}");
	http_resp_message(&g, &m);
	CHECK_STR(strbuf_str(&m), "Invalid JWT");
	strbuf_reset(&m);
	strbuf_reset(&g.body);
	strbuf_addstr(&g.body, "<html>oops</html>");
	http_resp_message(&g, &m);
	CHECK_STR(strbuf_str(&m), "");
	strbuf_release(&m);
	http_resp_release(&g);

	/* An empty body still gives a message. */
	static const struct reply e[] = { { 500, NULL, "", 0 } };
	script(e, 1);
	fresh();
	rq.max_attempts = 1;
	CHECK(http_do(&ctx, &rq, &rs) == -EIO);
	CHECK_STR(ctx.err, "GET /v2/regions: http 500: no message");
	http_resp_release(&rs);
}

static void test_refusals(void)
{
	fresh();
	struct http_resp rs = HTTP_RESP_INIT;
	struct http_req rq = { .method = "GET", .url = "http://10.213.0.1/v2/account",
			       .max_attempts = 1 };
	CHECK(http_do(&ctx, &rq, &rs) == -EPERM);
	CHECK_STR(ctx.err, "refusing plain http to '10.213.0.1': use https");
	CHECK(logbuf[0] == '\0'); /* nothing sent */
	/* A header or method that would split the request: refused, unsent. */
	struct strlist bad = STRLIST_INIT;
	strlist_add(&bad, "Authorization: Bearer x\r\nX-Evil: 1");
	rq.url = "http://127.0.0.1:1/v2/account";
	rq.headers = &bad;
	CHECK(http_do(&ctx, &rq, &rs) == -EINVAL);
	CHECK_STR(ctx.err, "bad http header: control characters in it");
	rq.headers = NULL;
	strlist_clear(&bad);
	rq.method = "GET /x HTTP/1.0\r\n";
	CHECK(http_do(&ctx, &rq, &rs) == -EINVAL);
	rq.method = "GET";
	CHECK(logbuf[0] == '\0');
	rq.url = "ftp://127.0.0.1/x";
	CHECK(http_do(&ctx, &rq, &rs) == -EINVAL);
	rq.url = "not a url";
	CHECK(http_do(&ctx, &rq, &rs) == -EINVAL);

	/* Connection refused: retried (nothing was sent), then the errno. */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	bind(s, (struct sockaddr *)&a, sizeof(a));
	getsockname(s, (struct sockaddr *)&a, &al);
	char u[64];
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/v2/account", ntohs(a.sin_port));
	close(s);
	rq.url = u;
	rq.max_attempts = 2;
	rq.backoff_ms = 10;
	CHECK(http_do(&ctx, &rq, &rs) == -ECONNREFUSED);
	CHECK(rs.attempts == 2);
	CHECK(!strncmp(ctx.err, "GET /v2/account: ", 17));
	http_resp_release(&rs);
}

int main(void)
{
	start_server();
	test_ok_and_log();
	test_retry_after();
	test_backoff_count();
	test_predicate_and_sign();
	test_cancel_and_timeout();
	test_mapping();
	test_refusals();
	return test_report();
}
