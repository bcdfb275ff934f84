/* EXO2-HMAC-SHA256 request signing: see exo2sign.h. */
#include "drivers/exo2sign.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

struct qparam {
	const char *name, *value;
	size_t nlen, vlen;
};

static int cmp_param(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	size_t n = x->nlen < y->nlen ? x->nlen : y->nlen;
	int c = memcmp(x->name, y->name, n);
	if (c)
		return c;
	return x->nlen < y->nlen ? -1 : x->nlen > y->nlen;
}

int exo2_message(const char *method, const char *path, const char *query,
		 const char *body, size_t body_len, long long expires,
		 struct strbuf *msg, struct strbuf *names)
{
	struct qparam ps[64];
	size_t n = 0;
	for (const char *s = query ? query : ""; *s;) {
		size_t len = strcspn(s, "&");
		if (len) {
			if (n == 64)
				return -EINVAL;
			const char *eq = memchr(s, '=', len);
			ps[n].name = s;
			ps[n].nlen = eq ? (size_t)(eq - s) : len;
			ps[n].value = eq ? eq + 1 : s + len;
			ps[n].vlen = eq ? len - ps[n].nlen - 1 : 0;
			n++;
		}
		s += len + (s[len] == '&');
	}
	qsort(ps, n, sizeof(ps[0]), cmp_param);
	strbuf_addf(msg, "%s %s\n", method, path);
	if (body_len)
		strbuf_add(msg, body, body_len);
	strbuf_addch(msg, '\n');
	for (size_t i = 0; i < n; i++) {
		bool dup = (i > 0 && !cmp_param(&ps[i], &ps[i - 1])) ||
			   (i + 1 < n && !cmp_param(&ps[i], &ps[i + 1]));
		if (dup)
			continue;
		strbuf_add(msg, ps[i].value, ps[i].vlen);
		if (names->len)
			strbuf_addch(names, ';');
		strbuf_add(names, ps[i].name, ps[i].nlen);
	}
	strbuf_addf(msg, "\n\n%lld", expires);
	return 0;
}

int exo2_authorization(const char *key, const char *secret, const char *method,
		       const char *path, const char *query, const char *body,
		       size_t body_len, long long expires, struct strbuf *out)
{
	struct strbuf msg = STRBUF_INIT, names = STRBUF_INIT;
	int rc = exo2_message(method, path, query, body, body_len, expires, &msg, &names);
	if (rc) {
		strbuf_release(&msg);
		strbuf_release(&names);
		return rc;
	}
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg.buf, msg.len,
	     mac, &maclen);
	char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	EVP_EncodeBlock((unsigned char *)b64, mac, (int)maclen);
	strbuf_addf(out, "EXO2-HMAC-SHA256 credential=%s", key);
	if (names.len)
		strbuf_addf(out, ",signed-query-args=%s", names.buf);
	strbuf_addf(out, ",expires=%lld,signature=%s", expires, b64);
	memset(msg.buf, 0, msg.len);
	strbuf_release(&msg);
	strbuf_release(&names);
	return 0;
}
