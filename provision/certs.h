/* TLS certificates exactly as Docker Machine makes them (reference §5):
 * RSA 2048, SHA256-RSA, random 128-bit serial, NotBefore = now rounded
 * down to the minute minus 5 minutes, NotAfter = NotBefore + 1080 days,
 * keys PEM "RSA PRIVATE KEY" (PKCS#1) mode 0600, certs 0644. */
#ifndef MFS_CERTS_H
#define MFS_CERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* The organisation Docker Machine puts in subjects: $USER, else "unknown". */
const char *certs_user_org(void);

/* Make certdir (0700) with ca.pem, ca-key.pem, cert.pem, key.pem when
 * missing, or when present but expired (then both are made again).
 * CA: O=<org>, IsCA, KeyUsage KeyEncipherment|DigitalSignature|
 * KeyAgreement|CertSign. Client: O=<org>.<bootstrap>, ExtKeyUsage
 * ClientAuth, KeyUsage DigitalSignature, signed by the CA.
 * A pair with either file missing is made again; a certificate that
 * does not parse is an error and is left alone. org NULL or "" means
 * certs_user_org(). *created (may be NULL) tells whether anything was
 * made. Safe to call from several threads or processes at once: the work is
 * done under an exclusive flock(2) on certdir itself. */
int certs_bootstrap(const char *certdir, const char *org, bool *created,
		    char *err);

/* What certs_bootstrap_detail did, as bits in *made; lets the caller log
 * Docker Machine's lines ("CA certificate is outdated and needs to be
 * regenerated", "Creating CA: ...", "Client certificate is outdated...",
 * "Creating client certificate: ..."). The client is made again whenever
 * the CA is. */
enum {
	CERTS_CA_EXPIRED = 1 << 0,     /* ca.pem was there but expired */
	CERTS_MADE_CA = 1 << 1,        /* ca.pem + ca-key.pem written */
	CERTS_CLIENT_EXPIRED = 1 << 2, /* cert.pem was there but expired */
	CERTS_MADE_CLIENT = 1 << 3,    /* cert.pem + key.pem written */
};
/* certs_bootstrap with the detail; made may be NULL. */
int certs_bootstrap_detail(const char *certdir, const char *org,
			   unsigned *made, char *err);

/* A server certificate signed by the CA: O=<org> (the caller passes the
 * whole "<user>.<machine>"), ExtKeyUsage ServerAuth, KeyUsage
 * DigitalSignature|KeyEncipherment|KeyAgreement, SANs = each of sans (IP
 * SAN when it parses as an IPv4/IPv6 address, else DNS SAN; NULL and ""
 * skipped); written to cert_out (0644) and key_out (0600) atomically.
 * A CA key that does not match ca_cert, or is encrypted, is -EINVAL. */
int certs_make_server(const char *ca_cert, const char *ca_key,
		      const char *org, const char *const *sans, size_t nsans,
		      const char *cert_out, const char *key_out, char *err);

/* NotAfter of a PEM certificate file (-ENOENT missing, -EINVAL not PEM). */
int certs_not_after(const char *cert_path, time_t *out, char *err);

#endif
