/* AES-256-GCM envelopes: see fs/seal.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "fs/seal.h"
#include "lib/err.h"
#include "lib/fileutil.h"

#define MAGIC "MFSE"
#define VERSION 1
#define NONCE_LEN 12
#define TAG_LEN 16
#define HEAD_LEN (4 + 1 + NONCE_LEN)

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int seal_key_load(const char *path, struct seal_key *key, char *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno(err, errno, "cannot open the secrets key file '%s'", path);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return error_set(err, EINVAL, "the secrets key file '%s' is not a regular file", path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return error_set(err, EPERM,
				 "the secrets key file '%s' is readable by others (mode %04o): chmod 600 it",
				 path, (unsigned)(st.st_mode & 07777));
	}
	unsigned char buf[256];
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return error_errno(err, errno, "cannot read the secrets key file '%s'", path);
	int rc = 0;
	if (n == SEAL_KEY_LEN) {
		memcpy(key->k, buf, SEAL_KEY_LEN);
		goto out;
	}
	size_t a = 0, b = (size_t)n;
	while (a < b && strchr(" \t\r\n", buf[a]))
		a++;
	while (b > a && strchr(" \t\r\n", buf[b - 1]))
		b--;
	if (b - a == 2 * SEAL_KEY_LEN) {
		bool hex = true;
		for (size_t i = 0; i < SEAL_KEY_LEN && hex; i++) {
			int hi = hexval(buf[a + 2 * i]), lo = hexval(buf[a + 2 * i + 1]);
			hex = hi >= 0 && lo >= 0;
			key->k[i] = (unsigned char)(hi << 4 | lo);
		}
		if (hex)
			goto out;
	}
	if (b - a == 44 && buf[b - 1] == '=' && buf[b - 2] != '=') {
		unsigned char dec[48];
		if (EVP_DecodeBlock(dec, buf + a, 44) == 33) { /* 32 and the padding */
			memcpy(key->k, dec, SEAL_KEY_LEN);
			goto out;
		}
	}
	rc = error_set(err, EINVAL,
		       "the secrets key file '%s' must hold 32 bytes: raw, 64 hex digits or base64 (openssl rand -hex 32)",
		       path);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

void seal(const struct seal_key *key, const char *aad, const void *p, size_t n,
	  struct strbuf *out)
{
	unsigned char head[HEAD_LEN], tag[TAG_LEN];
	memcpy(head, MAGIC, 4);
	head[4] = VERSION;
	if (RAND_bytes(head + 5, NONCE_LEN) != 1)
		abort();
	size_t at = out->len;
	strbuf_add(out, head, HEAD_LEN);
	strbuf_add(out, p, n); /* room; overwritten by the ciphertext */
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0;
	if (!c || EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
	    EVP_EncryptInit_ex(c, NULL, NULL, key->k, head + 5) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
	    (n && EVP_EncryptUpdate(c, (unsigned char *)out->buf + at + HEAD_LEN, &len, p, (int)n) != 1) ||
	    EVP_EncryptFinal_ex(c, tag, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1)
		abort();
	EVP_CIPHER_CTX_free(c);
	strbuf_add(out, tag, TAG_LEN);
}

bool seal_is_sealed(const void *p, size_t n)
{
	return n >= HEAD_LEN + TAG_LEN && !memcmp(p, MAGIC, 4);
}

int seal_open(const struct seal_key *key, const char *aad, const void *p, size_t n,
	      struct strbuf *out, char *err)
{
	const unsigned char *b = p;
	if (!seal_is_sealed(p, n))
		return error_set(err, EBADMSG, "'%s' is not a sealed value", aad);
	if (b[4] != VERSION)
		return error_set(err, EBADMSG, "'%s' is sealed by a newer machinefs (version %d)", aad,
				 b[4]);
	size_t clen = n - HEAD_LEN - TAG_LEN, at = out->len;
	strbuf_add(out, b + HEAD_LEN, clen);
	unsigned char tag[TAG_LEN];
	memcpy(tag, b + n - TAG_LEN, TAG_LEN);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0, ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
			  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
			  EVP_DecryptInit_ex(c, NULL, NULL, key->k, b + 5) == 1 &&
			  EVP_DecryptUpdate(c, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
			  (!clen || EVP_DecryptUpdate(c, (unsigned char *)out->buf + at, &len,
						      b + HEAD_LEN, (int)clen) == 1) &&
			  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1 &&
			  EVP_DecryptFinal_ex(c, tag, &len) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok) {
		OPENSSL_cleanse(out->buf + at, clen);
		out->len = at;
		out->buf[at] = '\0';
		return error_set(err, EBADMSG,
				 "'%s' does not decrypt: another secrets key, or the value was altered or moved",
				 aad);
	}
	return 0;
}

void seal_text(const struct seal_key *key, const char *aad, const char *s, struct strbuf *out)
{
	struct strbuf bin = STRBUF_INIT;
	seal(key, aad, s, strlen(s), &bin);
	char *b64 = malloc(4 * ((bin.len + 2) / 3) + 1);
	if (!b64)
		abort();
	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)bin.buf, (int)bin.len);
	strbuf_addstr(out, SEAL_TEXT);
	strbuf_addstr(out, b64);
	free(b64);
	strbuf_release(&bin);
}

bool seal_text_is_sealed(const char *s)
{
	return !strncmp(s, SEAL_TEXT, strlen(SEAL_TEXT));
}

int seal_text_open(const struct seal_key *key, const char *aad, const char *s, struct strbuf *out,
		   char *err)
{
	if (!seal_text_is_sealed(s))
		return error_set(err, EBADMSG, "'%s' is not a sealed value", aad);
	const char *b64 = s + strlen(SEAL_TEXT);
	size_t n = strlen(b64);
	if (!n || n % 4)
		return error_set(err, EBADMSG, "'%s' is not a sealed value", aad);
	unsigned char *bin = malloc(n);
	if (!bin)
		abort();
	int len = EVP_DecodeBlock(bin, (const unsigned char *)b64, (int)n);
	for (size_t i = n; len > 0 && i && b64[i - 1] == '='; i--)
		len--;
	int rc = len < 0 ? error_set(err, EBADMSG, "'%s' is not a sealed value", aad)
			 : seal_open(key, aad, bin, (size_t)len, out, err);
	free(bin);
	return rc;
}

bool seal_file_is_sealed(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char head[HEAD_LEN + TAG_LEN];
	ssize_t n = read(fd, head, sizeof(head));
	close(fd);
	return n > 0 && seal_is_sealed(head, (size_t)n);
}
