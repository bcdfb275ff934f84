/* Google credentials: the RS256 signer against RFC 7515 Appendix A.2
 * (byte for byte), the service-account token request (its JWT verified
 * with the public key), the authorized_user refresh grant, and the
 * Application Default Credentials lookup order. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "drivers/gauth.h"
#include "lib/err.h"
#include "lib/fileutil.h"
#include "harness.h"

/* RFC 7515 Appendix A.2's RSA key (its JWK n, e, d, p, q, dp, dq, qi)
 * as PKCS#8 PEM, the form a service-account key file carries. */
static const char rfc_key[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCh+BYK4uPJtGXO\n"
	"jS1lYmM2K5J9vinh8CR3/BYlzJChNuOL2TSXxbbqY913EeZ8dCn5VrD7io8ImtxL\n"
	"aYk8wTM/U+3QGbh3hCUv7JFP5IV3aVlL6kKA0ywPVb9ilE8TA5a8bpvfbr3SvaNn\n"
	"juygxmj3AbONv/s4yDQs4v5tJ/reSlpIdJed1LnPmt7Ex1sFhSwsD174pcF1A5L5\n"
	"ROjtZMEQxrZHYJqkeDrrnGya11UxMFBji4NmXG9veoKjlnAqH2QbgtPr8jkiGUkf\n"
	"toaHLFcW9Qr4NY2ai50Xw0Byj3+H2JoY2PyrZ62EWQwuz3WTOTY8BwNNb2BvniHg\n"
	"VFbK5emhAgMBAAECggEAEq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyW\n"
	"PEAeP88vLNO97IjlA7/GQ5sLKMgvfTeXZx9SE+7YwVol2NXOoAJe46sui395IW/G\n"
	"O+pWJ1O0BkTGoVEn2bKVRUCgu+GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzj\n"
	"kn439X0M/V51gfpRLI9JYanrC4D4qAdGcopV/0ZHHzQlBjudU2QvXt4ehNYTCBr6\n"
	"XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl/x/jTj3ccPDVZFD9pIuhLhBOneufuBiB\n"
	"4cS98l2SR/RQyGWSeWjnczT0QU91p1DhOVRuOopznQKBgQDgHMQQ60imZV1URk0K\n"
	"pLttoLhyt3SmqdEf/kgHePDdtzEafpAu+cS191R2JiuoF2yzWXnwFDcqGigp5BNr\n"
	"0AHQfD8/Lk8l1Mk09jxxCfui5nYooNyac8YFjm3vItzVCVDnEd3BbVWG8qf6deqE\n"
	"lMGAg+C2V0L4oNXnP7LZcPAZRwKBgQC5A8R+CZW2MvRTLLHzwZkUXV866cff7tx6\n"
	"kqa0finGG0KgeqlaZPxgCZnFp7AeAcCMtiynVlJ7vMVgePsLq6XtON4tB5kP9jAP\n"
	"rq3rbAOal78eUH5OcED6eNuCV8ixEu1eWcPNCS/l1OW1EnXUEoEHKl54Xrrz2uNw\n"
	"kgMTP1FZ1wKBgAcCn1dwJKufzBWQxWQp1vsM5fggqPN1qGb5y0MAk3g7/Ls5bkUp\n"
	"5u9SN0Ai3Ya6hNnvWJMb7sXQX6U/zyO2M/hTip7tUeh7CXgwo59dkpN75gJLVds2\n"
	"9+DAncu3KXU4f2Fa+7bLNrur53k8KwPOq2bbuTG69QtV7Jr5MR0AHWKNAoGBAIf/\n"
	"evpitUf+4JYbLpvNXWcY052Mpz22aR84mY3nh3F2LF2mjMJDpTg7FmuyPcVw6EcG\n"
	"yoAe9fa65iNqCq+jdw6PVNGo2hxfjSiZ8IIzHdsPXI89//pMjZcQK9r+CCoRjaZj\n"
	"OYiIDktVWZzmevJuv6WywUqd57LE3Zar3dLSIkx1AoGAIYd7DHOhrWvxkwPQsRM2\n"
	"tOgrjbcrfvtQJipd+DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd/QJQ3\n"
	"ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp/gh6A56\n"
	"03k2+ZQwVK0JKSHuLFkuQ3U=\n"
	"-----END PRIVATE KEY-----\n"
;

static const char rfc_payload[] =
	"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
static const char rfc_jws[] =
	"eyJhbGciOiJSUzI1NiJ9"
	".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
	".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5j"
	"ujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Q"
	"e7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI"
	"8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

static void test_rfc7515_a2(void)
{
	struct strbuf out = STRBUF_INIT;
	char err[ERR_MAX] = "";
	CHECK(gauth_jws_rs256(rfc_key, "{\"alg\":\"RS256\"}", rfc_payload, &out, err) == 0);
	CHECK_STR(strbuf_str(&out), rfc_jws);
	strbuf_release(&out);
	CHECK(gauth_jws_rs256("not a key", "{}", "{}", &out, err) == -EINVAL);
	strbuf_release(&out);
}

static void test_b64url(void)
{
	struct strbuf sb = STRBUF_INIT;
	gauth_b64url(&sb, "\xfb\xff\xfe", 3);
	CHECK_STR(strbuf_str(&sb), "-__-");
	strbuf_reset(&sb);
	gauth_b64url(&sb, "a", 1);
	CHECK_STR(strbuf_str(&sb), "YQ");
	strbuf_release(&sb);
}

static void write_json(const char *path, cJSON *o)
{
	char *s = cJSON_Print(o);
	char err[ERR_MAX];
	CHECK(write_file_atomic(path, s, strlen(s), 0600, err) == 0);
	free(s);
	cJSON_Delete(o);
}

static void write_service_account(const char *path, const char *token_uri)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "service_account");
	cJSON_AddStringToObject(o, "project_id", "p1");
	cJSON_AddStringToObject(o, "private_key_id", "k1");
	cJSON_AddStringToObject(o, "private_key", rfc_key);
	cJSON_AddStringToObject(o, "client_email", "sa@p1.iam.gserviceaccount.com");
	cJSON_AddStringToObject(o, "client_id", "1234");
	if (token_uri)
		cJSON_AddStringToObject(o, "token_uri", token_uri);
	write_json(path, o);
}

static void write_authorized_user(const char *path)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "authorized_user");
	cJSON_AddStringToObject(o, "client_id", "cid.apps.googleusercontent.com");
	cJSON_AddStringToObject(o, "client_secret", "s3cr=t");
	cJSON_AddStringToObject(o, "refresh_token", "1//rt+/x");
	write_json(path, o);
}

/* base64url back to bytes. */
static size_t unb64url(const char *s, size_t n, unsigned char *out)
{
	char *b = calloc(1, n + 4);
	for (size_t i = 0; i < n; i++)
		b[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	size_t m = n;
	while (m % 4)
		b[m++] = '=';
	int len = EVP_DecodeBlock(out, (unsigned char *)b, (int)m);
	free(b);
	return (size_t)len - (m - n);
}

static void test_service_account_body(void)
{
	char path[PATH_MAX], err[ERR_MAX] = "";
	snprintf(path, sizeof(path), "%s/sa.json", test_tmpdir());
	write_service_account(path, "http://127.0.0.1:1/token");
	struct gauth_cred c;
	CHECK(gauth_load(path, &c, err) == 0);
	CHECK(c.type == GAUTH_SERVICE_ACCOUNT);
	CHECK_STR(c.token_uri, "http://127.0.0.1:1/token");
	struct strbuf body = STRBUF_INIT;
	CHECK(gauth_token_body(&c, GAUTH_SCOPE_COMPUTE, 1700000000, &body, err) == 0);
	const char *pre = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=";
	CHECK(!strncmp(body.buf, pre, strlen(pre)));
	const char *jwt = body.buf + strlen(pre);
	const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	CHECK(d1 && d2);
	if (!d1 || !d2)
		return;
	unsigned char buf[2048];
	size_t n = unb64url(jwt, (size_t)(d1 - jwt), buf);
	buf[n] = 0;
	CHECK_STR((char *)buf, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
	n = unb64url(d1 + 1, (size_t)(d2 - d1 - 1), buf);
	buf[n] = 0;
	cJSON *claims = cJSON_Parse((char *)buf);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(claims, "iss")),
		  "sa@p1.iam.gserviceaccount.com");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(claims, "scope")), GAUTH_SCOPE_COMPUTE);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(claims, "aud")), "http://127.0.0.1:1/token");
	CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(claims, "iat")) == 1700000000);
	CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(claims, "exp")) == 1700003600);
	cJSON_Delete(claims);
	/* The signature verifies with the key's public half. */
	unsigned char sig[512];
	size_t siglen = unb64url(d2 + 1, strlen(d2 + 1), sig);
	BIO *bio = BIO_new_mem_buf(rfc_key, -1);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	CHECK(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1);
	CHECK(EVP_DigestVerify(md, sig, siglen, (const unsigned char *)jwt, (size_t)(d2 - jwt)) == 1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	BIO_free(bio);
	strbuf_release(&body);
	gauth_cred_release(&c);

	/* No token_uri: Google's. */
	write_service_account(path, NULL);
	CHECK(gauth_load(path, &c, err) == 0);
	CHECK_STR(c.token_uri, GAUTH_TOKEN_URI_DEFAULT);
	gauth_cred_release(&c);
}

static void test_authorized_user_body(void)
{
	char path[PATH_MAX], err[ERR_MAX] = "";
	snprintf(path, sizeof(path), "%s/au.json", test_tmpdir());
	write_authorized_user(path);
	struct gauth_cred c;
	CHECK(gauth_load(path, &c, err) == 0);
	CHECK(c.type == GAUTH_AUTHORIZED_USER);
	CHECK_STR(c.token_uri, GAUTH_TOKEN_URI_DEFAULT);
	struct strbuf body = STRBUF_INIT;
	CHECK(gauth_token_body(&c, GAUTH_SCOPE_COMPUTE, 0, &body, err) == 0);
	CHECK_STR(strbuf_str(&body),
		  "grant_type=refresh_token&client_id=cid.apps.googleusercontent.com"
		  "&client_secret=s3cr%3Dt&refresh_token=1%2F%2Frt%2B%2Fx");
	strbuf_release(&body);
	gauth_cred_release(&c);
}

static void put_file(const char *path, const char *s)
{
	char err[ERR_MAX];
	CHECK(write_file_atomic(path, s, strlen(s), 0600, err) == 0);
}

static void test_bad_files(void)
{
	char path[PATH_MAX], err[ERR_MAX] = "";
	snprintf(path, sizeof(path), "%s/bad.json", test_tmpdir());
	struct gauth_cred c;
	put_file(path, "{\"type\":\"external_account\"}");
	CHECK(gauth_load(path, &c, err) == -EINVAL);
	CHECK(strstr(err, "unknown type 'external_account'") != NULL);
	put_file(path, "not json");
	CHECK(gauth_load(path, &c, err) == -EINVAL);
	put_file(path, "{\"type\":\"service_account\",\"private_key\":\"SECRET\"}");
	CHECK(gauth_load(path, &c, err) == -EINVAL);
	CHECK(strstr(err, "client_email") != NULL && !strstr(err, "SECRET"));
	CHECK(gauth_load("/nonexistent/x.json", &c, err) == -ENOENT);
}

static void test_lookup_order(void)
{
	char opt[PATH_MAX], env[PATH_MAX], home[PATH_MAX], adc[PATH_MAX], sdk[PATH_MAX];
	char out[PATH_MAX], err[ERR_MAX] = "";
	const char *t = test_tmpdir();
	snprintf(opt, sizeof(opt), "%s/opt.json", t);
	snprintf(env, sizeof(env), "%s/env.json", t);
	snprintf(home, sizeof(home), "%s/home", t);
	snprintf(adc, sizeof(adc), "%s/home/.config/gcloud", t);
	snprintf(sdk, sizeof(sdk), "%s/sdk", t);
	CHECK(mkdir_p(adc, 0700, err) == 0);
	CHECK(mkdir_p(sdk, 0700, err) == 0);
	strcat(adc, "/application_default_credentials.json");
	write_service_account(opt, NULL);
	write_service_account(env, NULL);
	write_authorized_user(adc);
	setenv("HOME", home, 1);
	unsetenv("CLOUDSDK_CONFIG");

	/* 1. the option wins over everything. */
	setenv("GOOGLE_APPLICATION_CREDENTIALS", env, 1);
	CHECK(gauth_find(opt, out, sizeof(out), err) == 0);
	CHECK_STR(out, opt);
	/* 2. then the environment variable. */
	CHECK(gauth_find("", out, sizeof(out), err) == 0);
	CHECK_STR(out, env);
	CHECK(gauth_find(NULL, out, sizeof(out), err) == 0);
	CHECK_STR(out, env);
	/* A named file that is not there is an error, not a fall-through. */
	setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/k.json", 1);
	CHECK(gauth_find(NULL, out, sizeof(out), err) == -ENOENT);
	CHECK(strstr(err, "GOOGLE_APPLICATION_CREDENTIALS") != NULL);
	CHECK(gauth_find("/nonexistent/o.json", out, sizeof(out), err) == -ENOENT);
	CHECK(strstr(err, "google-application-credentials") != NULL);
	/* 3. then gcloud's ADC file. */
	unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
	CHECK(gauth_find(NULL, out, sizeof(out), err) == 0);
	CHECK_STR(out, adc);
	struct gauth_cred c;
	CHECK(gauth_load(out, &c, err) == 0 && c.type == GAUTH_AUTHORIZED_USER);
	gauth_cred_release(&c);
	/* CLOUDSDK_CONFIG moves gcloud's folder. */
	setenv("CLOUDSDK_CONFIG", sdk, 1);
	CHECK(gauth_find(NULL, out, sizeof(out), err) == -ENOENT);
	CHECK(strstr(err, "gcloud auth application-default login") != NULL);
	unsetenv("CLOUDSDK_CONFIG");
	unlink(adc);
	CHECK(gauth_find(NULL, out, sizeof(out), err) == -ENOENT);
}

int main(void)
{
	test_rfc7515_a2();
	test_b64url();
	test_service_account_body();
	test_authorized_user_body();
	test_bad_files();
	test_lookup_order();
	return test_report();
}
