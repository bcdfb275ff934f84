/* TLS certificates as Docker Machine's libmachine/cert makes them, with
 * OpenSSL 3. Every key and certificate lives only inside one call; files
 * are written with write_file_atomic (keys 0600, certificates 0644). */
#include "provision/certs.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/err.h"
#include "lib/fileutil.h"
#include "lib/strbuf.h"

#define CERT_BITS 2048
#define CERT_DAYS 1080
#define SERIAL_BYTES 16 /* 128 bits */

/* The one OpenSSL-to-errno mapping: the message gets the reason of the
 * oldest queued OpenSSL error; the queue is emptied. */
static int ssl_fail(char *err, int errnum, const char *what, const char *subject)
{
	unsigned long e = ERR_get_error();
	char reason[256] = "unknown openssl error";
	if (e) {
		const char *r = ERR_reason_error_string(e);
		if (r)
			snprintf(reason, sizeof(reason), "%s", r);
		else
			ERR_error_string_n(e, reason, sizeof(reason));
		if (ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
			errnum = ENOMEM;
	}
	ERR_clear_error();
	if (subject)
		return error_set(err, errnum, "%s '%s': %s", what, subject, reason);
	return error_set(err, errnum, "%s: %s", what, reason);
}

const char *certs_user_org(void)
{
	const char *u = getenv("USER");
	return u && u[0] ? u : "unknown";
}

/* ---- reading ---------------------------------------------------------- */

/* Never ask for a passphrase (OpenSSL would prompt on the terminal):
 * an encrypted key is an error. */
static int no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf, (void)size, (void)rwflag, (void)arg;
	return -1;
}

static int load_cert(const char *path, X509 **out, char *err)
{
	struct strbuf sb = STRBUF_INIT;
	int ret = read_file(path, &sb, err);
	if (ret)
		return ret;
	BIO *bio = BIO_new_mem_buf(strbuf_str(&sb), (int)sb.len);
	*out = bio ? PEM_read_bio_X509(bio, NULL, no_passphrase, NULL) : NULL;
	BIO_free(bio);
	strbuf_release(&sb);
	if (!*out)
		return ssl_fail(err, EINVAL, "cannot read certificate", path);
	return 0;
}

static int load_key(const char *path, EVP_PKEY **out, char *err)
{
	struct strbuf sb = STRBUF_INIT;
	int ret = read_file(path, &sb, err);
	if (ret)
		return ret;
	BIO *bio = BIO_new_mem_buf(strbuf_str(&sb), (int)sb.len);
	*out = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
	BIO_free(bio);
	if (sb.buf)
		OPENSSL_cleanse(sb.buf, sb.alloc);
	strbuf_release(&sb);
	if (!*out)
		return ssl_fail(err, EINVAL, "cannot read private key", path);
	return 0;
}

static int asn1_to_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;
	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	*out = timegm(&tm);
	return 0;
}

int certs_not_after(const char *cert_path, time_t *out, char *err)
{
	X509 *x;
	int ret = load_cert(cert_path, &x, err);
	if (ret)
		return ret;
	if (asn1_to_time(X509_get0_notAfter(x), out) < 0)
		ret = error_set(err, EINVAL, "bad NotAfter in certificate '%s'",
				cert_path);
	X509_free(x);
	return ret;
}

/* ---- writing ---------------------------------------------------------- */

static int write_bio(BIO *bio, const char *path, mode_t mode, char *err)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	if (len <= 0)
		return ssl_fail(err, EIO, "cannot encode", path);
	int ret = write_file_atomic(path, data, (size_t)len, mode, err);
	OPENSSL_cleanse(data, (size_t)len);
	return ret;
}

/* PEM "RSA PRIVATE KEY" (PKCS#1), as Go's x509.MarshalPKCS1PrivateKey. */
static int write_key(EVP_PKEY *key, const char *path, char *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	OSSL_ENCODER_CTX *ctx = OSSL_ENCODER_CTX_new_for_pkey(
		key, EVP_PKEY_KEYPAIR, "PEM", "type-specific", NULL);
	int ret;
	if (!bio || !ctx || OSSL_ENCODER_CTX_get_num_encoders(ctx) == 0 ||
	    !OSSL_ENCODER_to_bio(ctx, bio))
		ret = ssl_fail(err, EIO, "cannot encode private key", path);
	else
		ret = write_bio(bio, path, 0600, err);
	OSSL_ENCODER_CTX_free(ctx);
	BIO_free(bio);
	return ret;
}

static int write_cert(X509 *x, const char *path, char *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int ret;
	if (!bio || !PEM_write_bio_X509(bio, x))
		ret = ssl_fail(err, EIO, "cannot encode certificate", path);
	else
		ret = write_bio(bio, path, 0644, err);
	BIO_free(bio);
	return ret;
}

/* Key first, certificate last: a crash in between leaves the old
 * certificate, which is missing or expired when we replace it, so the
 * next bootstrap makes the pair again. */
static int write_pair(X509 *x, EVP_PKEY *key, const char *cert_path,
		      const char *key_path, char *err)
{
	int ret = write_key(key, key_path, err);
	return ret ? ret : write_cert(x, cert_path, err);
}

/* ---- building --------------------------------------------------------- */

enum cert_kind { CERT_CA, CERT_CLIENT, CERT_SERVER };

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	if (!ext)
		return -1;
	int ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* One SAN: an IP SAN when s parses as IPv4 or IPv6 (an IPv4-mapped IPv6
 * address is stored as 4 bytes, as Go does), else a DNS SAN. */
static GENERAL_NAME *san_entry(const char *s)
{
	unsigned char ip[16];
	int iplen = 0;
	GENERAL_NAME *gn = GENERAL_NAME_new();
	if (!gn)
		return NULL;
	if (inet_pton(AF_INET, s, ip) == 1) {
		iplen = 4;
	} else if (inet_pton(AF_INET6, s, ip) == 1) {
		static const unsigned char v4map[12] = { 0, 0, 0, 0, 0, 0,
							 0, 0, 0, 0, 0xff, 0xff };
		iplen = 16;
		if (!memcmp(ip, v4map, sizeof(v4map))) {
			memmove(ip, ip + 12, 4);
			iplen = 4;
		}
	}
	ASN1_STRING *str = ASN1_STRING_type_new(iplen ? V_ASN1_OCTET_STRING
						      : V_ASN1_IA5STRING);
	if (!str || !(iplen ? ASN1_STRING_set(str, ip, iplen)
			    : ASN1_STRING_set(str, s, (int)strlen(s)))) {
		ASN1_STRING_free(str);
		GENERAL_NAME_free(gn);
		return NULL;
	}
	GENERAL_NAME_set0_value(gn, iplen ? GEN_IPADD : GEN_DNS, str);
	return gn;
}

static int add_sans(X509 *x, const char *const *sans, size_t nsans)
{
	GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
	int ret = names ? 0 : -1;
	for (size_t i = 0; !ret && i < nsans; i++) {
		if (!sans[i] || !sans[i][0])
			continue;
		GENERAL_NAME *gn = san_entry(sans[i]);
		if (!gn || !sk_GENERAL_NAME_push(names, gn)) {
			GENERAL_NAME_free(gn);
			ret = -1;
		}
	}
	if (!ret && sk_GENERAL_NAME_num(names) > 0 &&
	    X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0,
			      X509V3_ADD_DEFAULT) != 1)
		ret = -1;
	GENERAL_NAMES_free(names);
	return ret;
}

/* Random serial in [1, 2^128), as Go's rand.Int(2^128) (never 0). */
static int set_serial(X509 *x)
{
	unsigned char raw[SERIAL_BYTES];
	BIGNUM *bn = NULL;
	int ret = -1;
	do {
		if (RAND_bytes(raw, sizeof(raw)) != 1)
			return -1;
		BN_free(bn);
		bn = BN_bin2bn(raw, sizeof(raw), NULL);
	} while (bn && BN_is_zero(bn));
	if (bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		ret = 0;
	BN_free(bn);
	return ret;
}

/* NotBefore = now truncated to the minute minus 5 minutes,
 * NotAfter = NotBefore + 1080 days. */
static int set_validity(X509 *x)
{
	time_t now = time(NULL);
	time_t nb = now - now % 60 - 5 * 60;
	time_t na = nb + (time_t)CERT_DAYS * 24 * 60 * 60;
	if (!ASN1_TIME_set(X509_getm_notBefore(x), nb) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), na))
		return -1;
	return 0;
}

static int set_extensions(X509 *x, X509 *issuer, enum cert_kind kind,
			  const char *const *sans, size_t nsans)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	switch (kind) {
	case CERT_CA:
		/* Go writes a subject key id for CA certificates (Go >= 1.15)
		 * and refers to it from the certificates the CA signs. */
		return add_ext(x, &ctx, NID_key_usage,
			       "critical,digitalSignature,keyEncipherment,"
			       "keyAgreement,keyCertSign") ||
		       add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE") ||
		       add_ext(x, &ctx, NID_subject_key_identifier, "hash");
	case CERT_CLIENT:
		if (add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") ||
		    add_ext(x, &ctx, NID_ext_key_usage, "clientAuth"))
			return -1;
		break;
	case CERT_SERVER:
		if (add_ext(x, &ctx, NID_key_usage,
			    "critical,digitalSignature,keyEncipherment,keyAgreement") ||
		    add_ext(x, &ctx, NID_ext_key_usage, "serverAuth"))
			return -1;
		break;
	}
	if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE"))
		return -1;
	if (X509_get0_subject_key_id(issuer) &&
	    add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always"))
		return -1;
	return kind == CERT_SERVER ? add_sans(x, sans, nsans) : 0;
}

/* Go marshals a string as PrintableString when every byte is in that
 * set, else as UTF8String. */
static int asn1_string_type(const char *s)
{
	static const char extra[] = " '()+,-./:=?";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!(c < 0x80 && (isalnum(c) || strchr(extra, c))))
			return V_ASN1_UTF8STRING;
	}
	return V_ASN1_PRINTABLESTRING;
}

/* A new RSA key and a certificate for it, signed by issuer/issuer_key or
 * self-signed when issuer is NULL. The caller frees *x_out and *key_out. */
static int make_cert(enum cert_kind kind, const char *org, X509 *issuer,
		     EVP_PKEY *issuer_key, const char *const *sans,
		     size_t nsans, X509 **x_out, EVP_PKEY **key_out, char *err)
{
	EVP_PKEY *key = EVP_RSA_gen(CERT_BITS);
	X509 *x = X509_new();
	const char *step = "cannot make RSA key";
	if (!key || !x)
		goto fail;
	step = "cannot fill certificate";
	X509_NAME *name = X509_get_subject_name(x);
	if (!X509_set_version(x, X509_VERSION_3) || set_serial(x) ||
	    set_validity(x) ||
	    !X509_NAME_add_entry_by_NID(name, NID_organizationName,
					asn1_string_type(org),
					(const unsigned char *)org, -1, -1, 0) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) ||
	    !X509_set_pubkey(x, key))
		goto fail;
	step = "cannot add certificate extensions";
	if (set_extensions(x, issuer ? issuer : x, kind, sans, nsans))
		goto fail;
	step = "cannot sign certificate";
	if (!X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()))
		goto fail;
	*x_out = x;
	*key_out = key;
	return 0;
fail:
	X509_free(x);
	EVP_PKEY_free(key);
	return ssl_fail(err, EIO, step, org);
}

/* A certificate signed by the CA in ca_cert/ca_key, written to the two
 * paths. */
static int make_signed(enum cert_kind kind, const char *ca_cert,
		       const char *ca_key, const char *org,
		       const char *const *sans, size_t nsans,
		       const char *cert_out, const char *key_out, char *err)
{
	X509 *ca = NULL, *x = NULL;
	EVP_PKEY *cakey = NULL, *key = NULL;
	int ret = load_cert(ca_cert, &ca, err);
	if (!ret)
		ret = load_key(ca_key, &cakey, err);
	if (!ret && X509_check_private_key(ca, cakey) != 1)
		ret = ssl_fail(err, EINVAL, "CA key does not match certificate",
			       ca_cert);
	if (!ret)
		ret = make_cert(kind, org, ca, cakey, sans, nsans, &x, &key, err);
	if (!ret)
		ret = write_pair(x, key, cert_out, key_out, err);
	X509_free(x);
	EVP_PKEY_free(key);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return ret;
}

int certs_make_server(const char *ca_cert, const char *ca_key,
		      const char *org, const char *const *sans, size_t nsans,
		      const char *cert_out, const char *key_out, char *err)
{
	return make_signed(CERT_SERVER, ca_cert, ca_key, org, sans, nsans,
			   cert_out, key_out, err);
}

/* ---- bootstrap -------------------------------------------------------- */

/* Whether the pair must be (re)made: either file missing, or the
 * certificate's NotAfter in the past (*expired). An unreadable
 * certificate is an error: it is not ours to throw away. */
static int needs_new(const char *cert, const char *key, bool *out,
		     bool *expired, char *err)
{
	time_t na;
	*out = true;
	*expired = false;
	if (!path_exists(cert) || !path_exists(key))
		return 0;
	int ret = certs_not_after(cert, &na, err);
	if (ret)
		return ret;
	*out = *expired = na <= time(NULL);
	return 0;
}

static int make_ca(const char *org, const char *ca, const char *cakey,
		   char *err)
{
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	int ret = make_cert(CERT_CA, org, NULL, NULL, NULL, 0, &x, &k, err);
	if (!ret)
		ret = write_pair(x, k, ca, cakey, err);
	X509_free(x);
	EVP_PKEY_free(k);
	return ret;
}

/* The work of certs_bootstrap_detail, with certdir locked. */
static int bootstrap_locked(const char *certdir, const char *org,
			    unsigned *made, char *err)
{
	char ca[PATH_MAX], cakey[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
	char client_org[512];
	bool new_ca, new_client, expired;
	int ret;

	snprintf(ca, sizeof(ca), "%s/ca.pem", certdir);
	snprintf(cakey, sizeof(cakey), "%s/ca-key.pem", certdir);
	snprintf(cert, sizeof(cert), "%s/cert.pem", certdir);
	snprintf(key, sizeof(key), "%s/key.pem", certdir);
	if (snprintf(client_org, sizeof(client_org), "%s.bootstrap", org) >=
	    (int)sizeof(client_org))
		return error_set(err, ENAMETOOLONG,
				 "organisation too long: '%.64s...'", org);

	if ((ret = needs_new(ca, cakey, &new_ca, &expired, err)))
		return ret;
	if (expired)
		*made |= CERTS_CA_EXPIRED;
	if (new_ca) {
		if ((ret = make_ca(org, ca, cakey, err)))
			return ret;
		*made |= CERTS_MADE_CA;
	}
	if (!new_ca) {
		if ((ret = needs_new(cert, key, &new_client, &expired, err)))
			return ret;
	} else {
		/* A client signed by the CA we just replaced is no use,
		 * whatever state it is in. */
		char ignored[ERR_MAX];
		if (needs_new(cert, key, &new_client, &expired, ignored))
			expired = false;
		new_client = true;
	}
	if (expired)
		*made |= CERTS_CLIENT_EXPIRED;
	if (new_client) {
		ret = make_signed(CERT_CLIENT, ca, cakey, client_org, NULL, 0,
				  cert, key, err);
		if (ret)
			return ret;
		*made |= CERTS_MADE_CLIENT;
	}
	return 0;
}

int certs_bootstrap_detail(const char *certdir, const char *org,
			   unsigned *made, char *err)
{
	unsigned dummy;
	int ret, fd;

	if (!made)
		made = &dummy;
	*made = 0;
	if (!org || !org[0])
		org = certs_user_org();
	if (strlen(certdir) + sizeof("/ca-key.pem") > PATH_MAX)
		return error_set(err, ENAMETOOLONG, "path too long: '%s'", certdir);
	if ((ret = mkdir_p(certdir, 0700, err)))
		return ret;
	fd = open(certdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return error_errno(err, errno, "cannot open '%s'", certdir);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			ret = error_errno(err, errno, "cannot lock '%s'", certdir);
			close(fd);
			return ret;
		}
	}
	ret = bootstrap_locked(certdir, org, made, err);
	close(fd); /* drops the lock */
	return ret;
}

int certs_bootstrap(const char *certdir, const char *org, bool *created,
		    char *err)
{
	unsigned made = 0;
	int ret = certs_bootstrap_detail(certdir, org, &made, err);
	if (created)
		*created = made & (CERTS_MADE_CA | CERTS_MADE_CLIENT);
	return ret;
}
