/* fs/seal.c: AES-256-GCM envelopes of the etcd store's secrets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/seal.h"
#include "harness.h"
#include "lib/err.h"

static void write_key(const char *path, const void *p, size_t n, mode_t mode)
{
	FILE *f = fopen(path, "w");
	fwrite(p, 1, n, f);
	fclose(f);
	chmod(path, mode);
}

static void test_key_files(void)
{
	char path[512], err[ERR_MAX];
	snprintf(path, sizeof(path), "%s/key", test_tmpdir());
	struct seal_key a, b, c;
	const char *hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	write_key(path, hex, strlen(hex), 0600);
	CHECK(seal_key_load(path, &a, err) == 0);
	CHECK(a.k[0] == 0 && a.k[31] == 0x1f);
	unsigned char raw[32];
	for (int i = 0; i < 32; i++)
		raw[i] = (unsigned char)i;
	write_key(path, raw, 32, 0400);
	CHECK(seal_key_load(path, &b, err) == 0 && !memcmp(a.k, b.k, 32));
	const char *b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
	write_key(path, b64, strlen(b64), 0600);
	CHECK(seal_key_load(path, &c, err) == 0 && !memcmp(a.k, c.k, 32));
	write_key(path, hex, strlen(hex), 0640);
	CHECK(seal_key_load(path, &c, err) == -EPERM);
	CHECK(strstr(err, "readable by others (mode 0640): chmod 600 it") != NULL);
	write_key(path, "short\n", 6, 0600);
	CHECK(seal_key_load(path, &c, err) == -EINVAL);
	CHECK(strstr(err, "must hold 32 bytes") != NULL);
}

static void test_envelopes(void)
{
	struct seal_key k, other;
	memset(k.k, 7, sizeof(k.k));
	memset(other.k, 8, sizeof(other.k));
	const char *pem = "-----BEGIN EC PRIVATE KEY-----\nsecret\n";
	struct strbuf s1 = STRBUF_INIT, s2 = STRBUF_INIT, out = STRBUF_INIT;
	char err[ERR_MAX];
	seal(&k, "/p/machines/a/key.pem", pem, strlen(pem), &s1);
	seal(&k, "/p/machines/a/key.pem", pem, strlen(pem), &s2);
	CHECK(seal_is_sealed(s1.buf, s1.len));
	CHECK(s1.len == 4 + 1 + 12 + strlen(pem) + 16);
	CHECK(memcmp(s1.buf, s2.buf, s1.len)); /* a fresh nonce each time */
	CHECK(!memmem(s1.buf, s1.len, "PRIVATE", 7));
	CHECK(seal_open(&k, "/p/machines/a/key.pem", s1.buf, s1.len, &out, err) == 0);
	CHECK_STR(strbuf_str(&out), pem);
	strbuf_reset(&out);
	/* Moved to another key, opened with another key, altered: refused. */
	CHECK(seal_open(&k, "/p/machines/b/key.pem", s1.buf, s1.len, &out, err) == -EBADMSG);
	CHECK(out.len == 0);
	CHECK(seal_open(&other, "/p/machines/a/key.pem", s1.buf, s1.len, &out, err) == -EBADMSG);
	s1.buf[20] ^= 1;
	CHECK(seal_open(&k, "/p/machines/a/key.pem", s1.buf, s1.len, &out, err) == -EBADMSG);
	CHECK(strstr(err, "does not decrypt") != NULL);
	CHECK(!seal_is_sealed(pem, strlen(pem)));
	/* The text form of a JSON field. */
	struct strbuf t = STRBUF_INIT;
	seal_text(&k, "/p/x#Options.token", "tok-123", &t);
	CHECK(seal_text_is_sealed(strbuf_str(&t)));
	CHECK(!strstr(strbuf_str(&t), "tok-123"));
	strbuf_reset(&out);
	CHECK(seal_text_open(&k, "/p/x#Options.token", strbuf_str(&t), &out, err) == 0);
	CHECK_STR(strbuf_str(&out), "tok-123");
	CHECK(seal_text_open(&k, "/p/x#Options.other", strbuf_str(&t), &out, err) == -EBADMSG);
	CHECK(seal_text_open(&k, "/p/x#Options.token", SEAL_TEXT "!!!", &out, err) == -EBADMSG);
	strbuf_release(&s1);
	strbuf_release(&s2);
	strbuf_release(&out);
	strbuf_release(&t);
}

int main(void)
{
	test_key_files();
	test_envelopes();
	return test_report();
}
