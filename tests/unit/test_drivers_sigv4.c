/* SigV4 against the AWS signing test suite (tests/unit/data/sigv4, see its
 * README): for every case the canonical request, the string to sign, the
 * signature and the Authorization header, byte for byte; and the
 * published key-derivation vectors. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "drivers/sigv4.h"
#include "lib/err.h"
#include "lib/fileutil.h"
#include "tests/unit/harness.h"

static char *slurp(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct strbuf sb = STRBUF_INIT;
	char err[ERR_MAX];
	if (!path_exists(path) || read_file(path, &sb, err))
		return NULL;
	strbuf_addstr(&sb, "");
	return strbuf_detach(&sb);
}

static int run_case(const char *dir, const char *name)
{
	char *ctxs = slurp(dir, "context.json"), *req = slurp(dir, "request.txt");
	if (!ctxs || !req) {
		free(ctxs);
		free(req);
		return 0;
	}
	cJSON *ctx = cJSON_Parse(ctxs);
	cJSON *cr = cJSON_GetObjectItem(ctx, "credentials");
	struct sigv4_key key = {
		.access_key = cJSON_GetStringValue(cJSON_GetObjectItem(cr, "access_key_id")),
		.secret_key = cJSON_GetStringValue(cJSON_GetObjectItem(cr, "secret_access_key")),
		.session_token = cJSON_GetStringValue(cJSON_GetObjectItem(cr, "token")),
	};
	struct tm tm = { 0 };
	strptime(cJSON_GetStringValue(cJSON_GetObjectItem(ctx, "timestamp")), "%Y-%m-%dT%H:%M:%SZ", &tm);
	struct sigv4_params p = {
		.region = cJSON_GetStringValue(cJSON_GetObjectItem(ctx, "region")),
		.service = cJSON_GetStringValue(cJSON_GetObjectItem(ctx, "service")),
		.when = timegm(&tm),
		.sign_body = cJSON_IsTrue(cJSON_GetObjectItem(ctx, "sign_body")),
		.no_normalize = cJSON_IsFalse(cJSON_GetObjectItem(ctx, "normalize")),
		.token_unsigned = cJSON_IsTrue(cJSON_GetObjectItem(ctx, "omit_session_token")),
	};
	/* request.txt: "METHOD TARGET HTTP/1.1", headers (a line starting
	 * with blanks continues the previous one), a blank line, the body. */
	char method[16] = "", target[1024] = "";
	char *line = req, *nl = strchr(line, '\n');
	if (nl)
		*nl = '\0';
	char *sp1 = strchr(line, ' '), *sp2 = strrchr(line, ' ');
	if (sp1 && sp2 > sp1) {
		snprintf(method, sizeof(method), "%.*s", (int)(sp1 - line), line);
		snprintf(target, sizeof(target), "%.*s", (int)(sp2 - sp1 - 1), sp1 + 1);
	}
	struct strlist headers = STRLIST_INIT;
	const char *body = "";
	line = nl ? nl + 1 : NULL;
	while (line && *line) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (!*line) {
			body = nl ? nl + 1 : "";
			break;
		}
		if ((*line == ' ' || *line == '\t') && headers.n) {
			struct strbuf j = STRBUF_INIT;
			strbuf_addf(&j, "%s %s", headers.v[headers.n - 1], line);
			free(headers.v[headers.n - 1]);
			headers.v[headers.n - 1] = strbuf_detach(&j);
		} else {
			strlist_add(&headers, line);
		}
		line = nl ? nl + 1 : NULL;
	}
	struct sigv4_trace tr = { STRBUF_INIT, STRBUF_INIT, "", STRBUF_INIT };
	char err[ERR_MAX] = "";
	int rc = sigv4_sign(&key, &p, method, target, &headers, body, strlen(body), &tr, err);
	CHECK(rc == 0);
	char *creq = slurp(dir, "header-canonical-request.txt");
	char *sts = slurp(dir, "header-string-to-sign.txt");
	char *sig = slurp(dir, "header-signature.txt");
	char *sreq = slurp(dir, "header-signed-request.txt");
	char *authz = slurp(dir, "authz.txt");
	int bad = test_failed;
	if (creq)
		CHECK_STR(tr.creq.buf, creq);
	if (sts)
		CHECK_STR(tr.sts.buf, sts);
	if (sig)
		CHECK_STR(tr.signature, sig);
	if (sreq) {
		char *a = strstr(sreq, "\nAuthorization:");
		char *e = a ? strchr(a + 1, '\n') : NULL;
		if (e)
			*e = '\0';
		CHECK(a != NULL);
		if (a)
			CHECK_STR(tr.authorization.buf, a + strlen("\nAuthorization:"));
	}
	if (authz)
		CHECK_STR(tr.authorization.buf, authz);
	/* The Authorization header went into the list. */
	bool found = false;
	for (size_t i = 0; i < headers.n; i++)
		if (!strncmp(headers.v[i], "Authorization: AWS4-HMAC-SHA256 ", 32))
			found = true;
	CHECK(found);
	if (test_failed != bad)
		fprintf(stderr, "  in case %s\n", name);
	free(creq);
	free(sts);
	free(sig);
	free(sreq);
	free(authz);
	sigv4_trace_release(&tr);
	strlist_clear(&headers);
	cJSON_Delete(ctx);
	free(ctxs);
	free(req);
	return 1;
}

int main(void)
{
	char data[4096];
	snprintf(data, sizeof(data), "%s/tests/unit/data/sigv4",
		 getenv("SRCDIR") ? getenv("SRCDIR") : ".");
	DIR *d = opendir(data);
	CHECK(d != NULL);
	int cases = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char dir[8192];
		snprintf(dir, sizeof(dir), "%s/%s", data, e->d_name);
		cases += run_case(dir, e->d_name);
	}
	if (d)
		closedir(d);
	printf("%d signing cases\n", cases);
	CHECK(cases >= 40);

	/* Key derivation (AWS "Task 3: Calculate the signature"). */
	char k[65];
	const char *secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
	sigv4_signing_key_hex(secret, "20150830", "us-east-1", "iam", k);
	CHECK_STR(k, "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
	sigv4_signing_key_hex(secret, "20110909", "us-east-1", "iam", k);
	CHECK_STR(k, "98f1d889fec4f4421adc522bab0ce1f82e6929c262ed15e5a94c90efd1e3b0e7");
	sigv4_signing_key_hex(secret, "20120215", "us-east-1", "iam", k);
	CHECK_STR(k, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");

	/* No key: refused, nothing added. */
	struct strlist h = STRLIST_INIT;
	struct sigv4_key none = { "", "", NULL };
	struct sigv4_params p = { .region = "us-east-1", .service = "ec2" };
	char err[ERR_MAX];
	CHECK(sigv4_sign(&none, &p, "POST", "/", &h, "", 0, NULL, err) < 0);
	CHECK(h.n == 0);
	return test_report();
}
