/* AWS Signature Version 4 (see sigv4.h), with OpenSSL's SHA-256 and HMAC. */
#include "drivers/sigv4.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "lib/err.h"

static void hex(const unsigned char *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256(data, len, md);
	hex(md, sizeof(md), out);
}

static void hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
	unsigned int n = 32;
	HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &n);
}

static void signing_key(const char *secret, const char *date8, const char *region,
			const char *service, unsigned char out[32])
{
	struct strbuf k = STRBUF_INIT;
	strbuf_addf(&k, "AWS4%s", secret);
	unsigned char a[32], b[32], c[32];
	hmac(k.buf, k.len, date8, a);
	hmac(a, 32, region, b);
	hmac(b, 32, service, c);
	hmac(c, 32, "aws4_request", out);
	OPENSSL_cleanse(k.buf, k.len);
	strbuf_release(&k);
	OPENSSL_cleanse(a, 32);
	OPENSSL_cleanse(b, 32);
	OPENSSL_cleanse(c, 32);
}

void sigv4_signing_key_hex(const char *secret, const char *date8, const char *region,
			   const char *service, char *out)
{
	unsigned char k[32];
	signing_key(secret, date8, region, service, k);
	hex(k, 32, out);
}

static bool unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

/* RFC 3986 encoding as SigV4 wants it: unreserved kept, the rest %XX. */
static void uri_encode(struct strbuf *sb, const char *s, size_t n, bool keep_slash)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c) || (keep_slash && c == '/'))
			strbuf_addch(sb, (char)c);
		else
			strbuf_addf(sb, "%%%02X", c);
	}
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* %XX decoded (a '+' stays a '+'). */
static void uri_decode(struct strbuf *sb, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			strbuf_addch(sb, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
			i += 2;
		} else {
			strbuf_addch(sb, s[i]);
		}
	}
}

/* The canonical URI: decoded, dot segments and empty segments removed
 * (unless no_normalize), each segment encoded. */
static void canonical_path(struct strbuf *out, const char *path, size_t n, bool normalize)
{
	struct strbuf raw = STRBUF_INIT;
	uri_decode(&raw, path, n);
	if (!normalize || !raw.len) {
		if (!raw.len)
			strbuf_addch(out, '/');
		else
			uri_encode(out, raw.buf, raw.len, true);
		strbuf_release(&raw);
		return;
	}
	struct strlist segs = STRLIST_INIT;
	const char *p = strbuf_str(&raw);
	bool trailing = raw.len && raw.buf[raw.len - 1] == '/';
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == 1 && p[0] == '.') {
			/* nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (segs.n) {
				free(segs.v[segs.n - 1]);
				segs.n--;
			}
		} else {
			strlist_addn(&segs, p, len);
		}
		p += len;
	}
	for (size_t i = 0; i < segs.n; i++) {
		strbuf_addch(out, '/');
		uri_encode(out, segs.v[i], strlen(segs.v[i]), false);
	}
	if (!segs.n || trailing)
		strbuf_addch(out, '/');
	strlist_clear(&segs);
	strbuf_release(&raw);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The canonical query: each name=value decoded and encoded again,
 * sorted by name, then value. */
static void canonical_query(struct strbuf *out, const char *q)
{
	struct strlist pairs = STRLIST_INIT;
	while (q && *q) {
		const char *e = strchr(q, '&');
		size_t len = e ? (size_t)(e - q) : strlen(q);
		if (len) {
			const char *eq = memchr(q, '=', len);
			size_t kl = eq ? (size_t)(eq - q) : len;
			struct strbuf k = STRBUF_INIT, v = STRBUF_INIT, pair = STRBUF_INIT;
			uri_decode(&k, q, kl);
			if (eq)
				uri_decode(&v, eq + 1, len - kl - 1);
			uri_encode(&pair, k.buf ? k.buf : "", k.len, false);
			/* '=' sorts after no byte of an encoded name but '\001'
			 * sorts first: name, then value. */
			strbuf_addch(&pair, '\001');
			uri_encode(&pair, v.buf ? v.buf : "", v.len, false);
			strlist_add(&pairs, strbuf_str(&pair));
			strbuf_release(&k);
			strbuf_release(&v);
			strbuf_release(&pair);
		}
		q = e ? e + 1 : NULL;
	}
	if (pairs.n)
		qsort(pairs.v, pairs.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < pairs.n; i++) {
		if (i)
			strbuf_addch(out, '&');
		for (const char *c = pairs.v[i]; *c; c++)
			strbuf_addch(out, *c == '\001' ? '=' : *c);
	}
	strlist_clear(&pairs);
}

struct hdr {
	char *name;  /* lower case */
	char *value; /* trimmed, inner whitespace runs as one space */
	size_t order;
};

static int cmp_hdr(const void *a, const void *b)
{
	const struct hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static char *squeeze(const char *v)
{
	struct strbuf sb = STRBUF_INIT;
	while (isspace((unsigned char)*v))
		v++;
	for (; *v; v++) {
		if (isspace((unsigned char)*v)) {
			while (isspace((unsigned char)v[1]))
				v++;
			if (v[1])
				strbuf_addch(&sb, ' ');
			continue;
		}
		strbuf_addch(&sb, *v);
	}
	strbuf_addstr(&sb, "");
	return strbuf_detach(&sb);
}

static bool has_header(const struct strlist *h, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < h->n; i++)
		if (!strncasecmp(h->v[i], name, n) && h->v[i][n] == ':')
			return true;
	return false;
}

/* Canonical headers and the signed-header list from "Name: value" lines. */
static int canonical_headers(const struct strlist *h, struct strbuf *ch, struct strbuf *signed_,
			     char *err)
{
	struct hdr *v = calloc(h->n ? h->n : 1, sizeof(*v));
	if (!v)
		abort();
	int rc = 0;
	size_t n = 0;
	for (size_t i = 0; i < h->n; i++) {
		const char *colon = strchr(h->v[i], ':');
		if (!colon || colon == h->v[i]) {
			rc = error_set(err, EINVAL, "malformed header '%.64s'", h->v[i]);
			goto out;
		}
		char *name = strndup(h->v[i], (size_t)(colon - h->v[i]));
		if (!name)
			abort();
		for (char *c = name; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (!strcmp(name, "authorization")) {
			free(name);
			continue;
		}
		v[n].name = name;
		v[n].value = squeeze(colon + 1);
		v[n].order = i;
		n++;
	}
	qsort(v, n, sizeof(*v), cmp_hdr);
	for (size_t i = 0; i < n; i++) {
		bool same = i && !strcmp(v[i].name, v[i - 1].name);
		if (same) {
			strbuf_addf(ch, ",%s", v[i].value);
			continue;
		}
		if (i) {
			strbuf_addch(ch, '\n');
			strbuf_addch(signed_, ';');
		}
		strbuf_addf(ch, "%s:%s", v[i].name, v[i].value);
		strbuf_addstr(signed_, v[i].name);
	}
	strbuf_addch(ch, '\n');
out:
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
	return rc;
}

int sigv4_sign(const struct sigv4_key *key, const struct sigv4_params *p,
	       const char *method, const char *target, struct strlist *headers,
	       const void *body, size_t body_len, struct sigv4_trace *trace,
	       char *err)
{
	if (!key || !key->access_key || !*key->access_key || !key->secret_key ||
	    !*key->secret_key)
		return error_set(err, EINVAL, "no AWS credentials to sign with");
	time_t when = p->when ? p->when : time(NULL);
	struct tm tm;
	gmtime_r(&when, &tm);
	char amzdate[32], date8[16];
	strftime(amzdate, sizeof(amzdate), "%Y%m%dT%H%M%SZ", &tm);
	strftime(date8, sizeof(date8), "%Y%m%d", &tm);

	char payload[65];
	sha256_hex(body ? body : "", body ? body_len : 0, payload);
	struct strbuf tmp = STRBUF_INIT;
	if (!has_header(headers, "x-amz-date")) {
		strbuf_addf(&tmp, "X-Amz-Date: %s", amzdate);
		strlist_add(headers, tmp.buf);
	}
	bool token = key->session_token && *key->session_token;
	if (token && !p->token_unsigned && !has_header(headers, "x-amz-security-token")) {
		strbuf_reset(&tmp);
		strbuf_addf(&tmp, "X-Amz-Security-Token: %s", key->session_token);
		strlist_add(headers, tmp.buf);
	}
	if (p->sign_body) {
		strbuf_reset(&tmp);
		strbuf_addf(&tmp, "X-Amz-Content-Sha256: %s", payload);
		strlist_add(headers, tmp.buf);
	}

	struct strbuf creq = STRBUF_INIT, ch = STRBUF_INIT, sh = STRBUF_INIT, sts = STRBUF_INIT;
	const char *q = strchr(target, '?');
	size_t plen = q ? (size_t)(q - target) : strlen(target);
	strbuf_addf(&creq, "%s\n", method);
	canonical_path(&creq, target, plen, !p->no_normalize);
	strbuf_addch(&creq, '\n');
	canonical_query(&creq, q ? q + 1 : NULL);
	strbuf_addch(&creq, '\n');
	int rc = canonical_headers(headers, &ch, &sh, err);
	if (rc)
		goto out;
	strbuf_addf(&creq, "%s\n%s\n%s", ch.buf, sh.buf, payload);

	char creq_hash[65];
	sha256_hex(creq.buf, creq.len, creq_hash);
	strbuf_addf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", amzdate, date8,
		    p->region, p->service, creq_hash);
	unsigned char k[32], sig[32];
	signing_key(key->secret_key, date8, p->region, p->service, k);
	hmac(k, 32, sts.buf, sig);
	OPENSSL_cleanse(k, 32);
	char sighex[65];
	hex(sig, 32, sighex);

	strbuf_reset(&tmp);
	strbuf_addf(&tmp, "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
		    key->access_key, date8, p->region, p->service, sh.buf, sighex);
	if (trace) {
		strbuf_addstr(&trace->creq, creq.buf);
		strbuf_addstr(&trace->sts, sts.buf);
		memcpy(trace->signature, sighex, sizeof(sighex));
		strbuf_addstr(&trace->authorization, tmp.buf);
	}
	struct strbuf line = STRBUF_INIT;
	strbuf_addf(&line, "Authorization: %s", tmp.buf);
	strlist_add(headers, line.buf);
	strbuf_release(&line);
	if (token && p->token_unsigned) {
		strbuf_reset(&tmp);
		strbuf_addf(&tmp, "X-Amz-Security-Token: %s", key->session_token);
		strlist_add(headers, tmp.buf);
	}
out:
	strbuf_release(&tmp);
	strbuf_release(&creq);
	strbuf_release(&ch);
	strbuf_release(&sh);
	strbuf_release(&sts);
	return rc;
}

void sigv4_trace_release(struct sigv4_trace *t)
{
	strbuf_release(&t->creq);
	strbuf_release(&t->sts);
	strbuf_release(&t->authorization);
}
