/* SSH key pair generation (see sshkey.h), with OpenSSL. */
#include "drivers/sshkey.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/wait.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "lib/err.h"
#include "lib/fileutil.h"
#include "lib/spawn.h"
#include "lib/strbuf.h"

/* An SSH wire string: 4-byte length, bytes. */
static void put_string(struct strbuf *sb, const void *data, size_t len)
{
	unsigned char l[4] = { len >> 24, len >> 16, len >> 8, len };
	strbuf_add(sb, l, 4);
	strbuf_add(sb, data, len);
}

/* An SSH mpint: big-endian, a leading zero when the top bit is set. */
static void put_mpint(struct strbuf *sb, const BIGNUM *bn)
{
	int n = BN_num_bytes(bn);
	unsigned char *buf = calloc(1, (size_t)n + 1);
	if (!buf)
		abort();
	BN_bn2bin(bn, buf + 1);
	bool pad = n > 0 && (buf[1] & 0x80);
	put_string(sb, pad ? buf : buf + 1, (size_t)n + pad);
	free(buf);
}

int sshkey_generate_rsa(const char *path, char *err)
{
	EVP_PKEY *pkey = EVP_RSA_gen(2048);
	if (!pkey)
		return error_set(err, EIO, "cannot generate an RSA key for '%s'", path);
	int rc = 0;
	BIGNUM *n = NULL, *e = NULL;
	struct strbuf blob = STRBUF_INIT, pub = STRBUF_INIT;
	BIO *bio = BIO_new(BIO_s_mem());
	if (!bio || !PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL, NULL)) {
		rc = error_set(err, EIO, "cannot encode the SSH key '%s'", path);
		goto out;
	}
	char *pem;
	long pem_len = BIO_get_mem_data(bio, &pem);
	rc = write_file_atomic(path, pem, (size_t)pem_len, 0600, err);
	if (rc)
		goto out;
	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e)) {
		rc = error_set(err, EIO, "cannot read the RSA key for '%s'", path);
		goto out;
	}
	put_string(&blob, "ssh-rsa", 7);
	put_mpint(&blob, e);
	put_mpint(&blob, n);
	size_t b64len = 4 * ((blob.len + 2) / 3) + 1;
	unsigned char *b64 = malloc(b64len);
	if (!b64)
		abort();
	EVP_EncodeBlock(b64, (const unsigned char *)strbuf_str(&blob), (int)blob.len);
	strbuf_addf(&pub, "ssh-rsa %s\n", b64);
	free(b64);
	char pubpath[PATH_MAX + 8];
	snprintf(pubpath, sizeof(pubpath), "%s.pub", path);
	rc = write_file_atomic(pubpath, strbuf_str(&pub), pub.len, 0644, err);
out:
	BIO_free(bio);
	BN_free(n);
	BN_free(e);
	EVP_PKEY_free(pkey);
	strbuf_release(&blob);
	strbuf_release(&pub);
	return rc;
}

int sshkey_generate_ed25519(const char *path, const char *comment, char *err)
{
	char pub[PATH_MAX + 8];
	snprintf(pub, sizeof(pub), "%s.pub", path);
	unlink(path);
	unlink(pub);
	char *argv[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", (char *)comment,
			 "-f", (char *)path, NULL };
	struct spawn_req req = { .argv = (const char *const *)argv, .timeout_ms = 30000 };
	int status = 0;
	int rc = spawn_run(&req, &status, err);
	if (rc == -ENOENT)
		return error_set(err, ENOENT, "cannot run ssh-keygen (Debian package openssh-client)");
	if (rc)
		return rc;
	if (!WIFEXITED(status) || WEXITSTATUS(status) || !path_exists(path) || !path_exists(pub))
		return error_set(err, EIO, "ssh-keygen could not make an ed25519 key at '%s'", path);
	return 0;
}
