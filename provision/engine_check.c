/* engine_check_tls: HTTPS GET /version with the client certificate, the
 * peer verified against the machine CA and its name (libcurl). */
#include "provision/provision.h"

#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "lib/err.h"
#include "lib/strbuf.h"

#define MAX_ANSWER (1 << 20) /* /version answers are a few hundred bytes */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The one curl-to-errno mapping (also the cloud drivers' http.c). os_errno is curl's CURLINFO_OS_ERRNO:
 * the system error of a failed connect or transfer, 0 when the failure
 * was not the system's (a TLS alert, a timeout). */
int curl_errno(int code, long os_errno)
{
	switch ((CURLcode)code) {
	case CURLE_COULDNT_CONNECT:
		return os_errno > 0 ? (int)os_errno : ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
		return EHOSTUNREACH;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		/* Without a system error, the peer ended the TLS session
		 * (e.g. it refused our client certificate). */
		return os_errno > 0 ? (int)os_errno : EPROTO;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_USE_SSL_FAILED:
	case CURLE_GOT_NOTHING:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return EPROTO;
	case CURLE_OUT_OF_MEMORY:
		return ENOMEM;
	case CURLE_WRITE_ERROR:
		return EMSGSIZE; /* only our size cap refuses data */
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_BAD_FUNCTION_ARGUMENT:
		return EINVAL;
	case CURLE_ABORTED_BY_CALLBACK:
		return ECANCELED;
	default:
		return EIO;
	}
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct strbuf *sb = arg;
	size_t len = size * n;
	if (sb->len + len > MAX_ANSWER)
		return 0;
	strbuf_add(sb, p, len);
	return len;
}

/* The "Version" member of the JSON answer into version (len bytes). */
static int parse_version(const struct strbuf *body, const char *where,
			 char *version, size_t len, char *err)
{
	cJSON *root = cJSON_ParseWithLength(strbuf_str(body), body->len);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "Version");
	int ret = 0;
	if (!root)
		ret = error_set(err, EBADMSG, "answer of '%s' to /version is not JSON",
				where);
	else if (!cJSON_IsString(v) || !v->valuestring[0])
		ret = error_set(err, EBADMSG,
				"answer of '%s' to /version has no \"Version\"",
				where);
	else if (version && len)
		snprintf(version, len, "%s", v->valuestring);
	cJSON_Delete(root);
	return ret;
}

static int check_readable(const char *what, const char *path, char *err)
{
	if (!path || !path[0])
		return error_set(err, EINVAL, "no %s for the TLS check", what);
	if (access(path, R_OK) < 0)
		return error_errno(err, errno, "cannot read %s '%s'", what, path);
	return 0;
}

int engine_check_tls(const char *host, int port, const char *ca_cert,
		     const char *client_cert, const char *client_key,
		     int timeout_ms, char *version, size_t len, char *err)
{
	return engine_probe(host, port, ca_cert, client_cert, client_key, timeout_ms,
			    false, version, len, NULL, err);
}

/* How far a failed transfer got. */
static enum engine_reach reach_of(CURLcode rc, curl_off_t tcp_us, curl_off_t tls_us)
{
	if (tls_us > 0)
		return ENGINE_TLS;
	if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
	    rc == CURLE_SSL_ISSUER_ERROR || rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH)
		return ENGINE_UNTRUSTED;
	if (tcp_us > 0)
		return ENGINE_NO_TLS;
	return ENGINE_NO_TCP;
}

int engine_probe(const char *host, int port, const char *ca_cert,
		 const char *client_cert, const char *client_key,
		 int timeout_ms, bool tls_only, char *version, size_t len,
		 enum engine_reach *reach, char *err)
{
	char where[300], url[320], curl_err[CURL_ERROR_SIZE] = "";
	struct strbuf body = STRBUF_INIT;
	long status = 0, os_errno = 0;
	curl_off_t tcp_us = 0, tls_us = 0;
	enum engine_reach dummy;
	int ret;

	if (!reach)
		reach = &dummy;
	*reach = ENGINE_NOT_TRIED;
	if (version && len)
		version[0] = '\0';
	if (!host || !host[0] || port <= 0 || port > 65535)
		return error_set(err, EINVAL, "bad engine address '%s:%d'",
				 host ? host : "", port);
	/* An IPv6 literal goes in brackets. */
	bool v6 = strchr(host, ':') != NULL;
	snprintf(where, sizeof(where), "%s%s%s:%d", v6 ? "[" : "", host,
		 v6 ? "]" : "", port);
	if (snprintf(url, sizeof(url), "https://%s/version", where) >= (int)sizeof(url))
		return error_set(err, ENAMETOOLONG, "engine address too long: '%.64s...'",
				 host);
	if ((ret = check_readable("CA certificate", ca_cert, err)) ||
	    (ret = check_readable("client certificate", client_cert, err)) ||
	    (ret = check_readable("client key", client_key, err)))
		return ret;

	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return error_set(err, EIO, "cannot initialise libcurl: %s",
				 curl_easy_strerror(curl_init_rc));
	CURL *c = curl_easy_init();
	if (!c)
		return error_set(err, ENOMEM, "cannot make a curl handle");
	if (timeout_ms <= 0)
		timeout_ms = 20000;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_CAINFO, ca_cert);
	curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(c, CURLOPT_SSLCERT, client_cert);
	curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
	curl_easy_setopt(c, CURLOPT_SSLKEY, client_key);
	curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	/* An encrypted key fails instead of prompting on a terminal. */
	curl_easy_setopt(c, CURLOPT_KEYPASSWD, "");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "machinefs");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
	/* Connect and handshake only (no request). */
	if (tls_only)
		curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);

	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &tcp_us);
	curl_easy_getinfo(c, CURLINFO_APPCONNECT_TIME_T, &tls_us);
	curl_easy_cleanup(c);

	if (rc != CURLE_OK) {
		*reach = reach_of(rc, tcp_us, tls_us);
		ret = error_set(err, curl_errno(rc, os_errno),
				"cannot check docker engine at '%s' over TLS: %s",
				where, curl_err[0] ? curl_err : curl_easy_strerror(rc));
	} else {
		*reach = ENGINE_TLS;
		if (tls_only)
			ret = 0;
		else if (status != 200)
			ret = error_set(err, EPROTO,
					"docker engine at '%s' answered /version with HTTP %ld",
					where, status);
		else if (!(ret = parse_version(&body, where, version, len, err)))
			*reach = ENGINE_ANSWERED;
	}
	strbuf_release(&body);
	return ret;
}
