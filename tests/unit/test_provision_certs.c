/* provision/certs.c and provision/engine_check.c: certificates read back
 * with the OpenSSL API and checked with `openssl verify`; the TLS check
 * against a real `openssl s_server` that requires a client certificate. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/err.h"
#include "lib/fileutil.h"
#include "lib/strbuf.h"
#include "provision/certs.h"
#include "provision/provision.h"
#include "tests/unit/harness.h"

static char dir[4096];

/* dir/sub/file; the strings live until paths_free(). */
static char *paths[512];
static size_t npaths;

static const char *path_in(const char *sub, const char *file)
{
	char *p = NULL;
	if (npaths == sizeof(paths) / sizeof(paths[0]) ||
	    asprintf(&p, "%s/%s/%s", dir, sub, file) < 0) {
		fprintf(stderr, "path_in: out of room\n");
		exit(2);
	}
	return paths[npaths++] = p;
}

static void paths_free(void)
{
	while (npaths)
		free(paths[--npaths]);
}

static int file_mode(const char *path)
{
	struct stat st;
	return stat(path, &st) < 0 ? -1 : (int)(st.st_mode & 07777);
}

static char *slurp(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	char err[ERR_MAX];
	if (read_file(path, &sb, err)) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb);
}

static int same_file(const char *path, const char *content)
{
	char *now = slurp(path);
	int same = now && content && !strcmp(now, content);
	free(now);
	return same;
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	return x;
}

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	return k;
}

/* The subject's only entry must be O=org, with the string type Go uses. */
static void check_subject(X509 *x, const char *org, int asn1_type)
{
	const X509_NAME *n = X509_get_subject_name(x);
	CHECK(X509_NAME_entry_count(n) == 1);
	const X509_NAME_ENTRY *e = X509_NAME_get_entry(n, 0);
	CHECK(e && OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) == NID_organizationName);
	const ASN1_STRING *s = e ? X509_NAME_ENTRY_get_data(e) : NULL;
	CHECK(s && ASN1_STRING_type(s) == asn1_type);
	char got[256] = "";
	if (s)
		snprintf(got, sizeof(got), "%.*s", ASN1_STRING_length(s),
			 (const char *)ASN1_STRING_get0_data(s));
	CHECK_STR(got, org);
}

static time_t asn1_time(const ASN1_TIME *t)
{
	struct tm tm;
	if (!ASN1_TIME_to_tm(t, &tm))
		return 0;
	return timegm(&tm);
}

/* What every certificate Docker Machine makes has in common. */
static void check_common(X509 *x, time_t before, time_t after)
{
	CHECK(X509_get_version(x) == X509_VERSION_3);
	CHECK(X509_get_signature_nid(x) == NID_sha256WithRSAEncryption);
	EVP_PKEY *pub = X509_get0_pubkey(x);
	CHECK(pub && EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA);
	CHECK(pub && EVP_PKEY_get_bits(pub) == 2048);

	BIGNUM *serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	CHECK(serial && !BN_is_negative(serial) && !BN_is_zero(serial));
	/* Random below 2^128: fewer than 64 bits has odds 2^-64. */
	CHECK(serial && BN_num_bits(serial) <= 128 && BN_num_bits(serial) > 64);
	BN_free(serial);

	time_t nb = asn1_time(X509_get0_notBefore(x));
	time_t na = asn1_time(X509_get0_notAfter(x));
	CHECK(nb % 60 == 0);
	/* now rounded down to the minute, minus 5 minutes */
	CHECK(nb >= before - before % 60 - 300);
	CHECK(nb <= after - after % 60 - 300);
	CHECK(na - nb == 1080L * 24 * 3600);
}

static void check_pkcs1_key(const char *path, X509 *x)
{
	char *pem = slurp(path);
	CHECK(pem && !strncmp(pem, "-----BEGIN RSA PRIVATE KEY-----\n", 32));
	CHECK(pem && strstr(pem, "-----END RSA PRIVATE KEY-----\n"));
	free(pem);
	CHECK(file_mode(path) == 0600);
	EVP_PKEY *k = read_key(path);
	CHECK(k && EVP_PKEY_get_bits(k) == 2048);
	CHECK(k && x && X509_check_private_key(x, k) == 1);
	EVP_PKEY_free(k);
}

static int run(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int openssl_verify(const char *ca, const char *cert, const char *purpose)
{
	char cmd[9000];
	snprintf(cmd, sizeof(cmd),
		 "openssl verify -purpose %s -CAfile '%s' '%s' >/dev/null 2>&1",
		 purpose, ca, cert);
	return run(cmd);
}

/* A self-signed certificate whose NotAfter is a day ago, written over
 * path (the key does not matter for the expiry check). */
static void write_expired(const char *path, const char *org)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	X509 *x = X509_new();
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "O", MBSTRING_ASC,
				   (const unsigned char *)org, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	time_t now = time(NULL);
	ASN1_TIME_set(X509_getm_notBefore(x), now - 30L * 86400);
	ASN1_TIME_set(X509_getm_notAfter(x), now - 86400);
	X509_set_pubkey(x, k);
	CHECK(X509_sign(x, k, EVP_sha256()) > 0);
	FILE *f = fopen(path, "w");
	CHECK(f && PEM_write_X509(f, x));
	if (f)
		fclose(f);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void test_user_org(void)
{
	char *saved = getenv("USER") ? strdup(getenv("USER")) : NULL;
	setenv("USER", "alice", 1);
	CHECK_STR(certs_user_org(), "alice");
	unsetenv("USER");
	CHECK_STR(certs_user_org(), "unknown");
	setenv("USER", "", 1);
	CHECK_STR(certs_user_org(), "unknown");
	if (saved)
		setenv("USER", saved, 1);
	else
		unsetenv("USER");
	free(saved);
}

static void test_bootstrap(void)
{
	char err[ERR_MAX] = "";
	char certdir[4200];
	bool created = false;
	snprintf(certdir, sizeof(certdir), "%s/store/certs", dir);

	time_t before = time(NULL);
	CHECK(certs_bootstrap(certdir, "alice", &created, err) == 0);
	time_t after = time(NULL);
	CHECK(created);
	CHECK(file_mode(certdir) == 0700);
	CHECK(file_mode(path_in("store/certs", "ca.pem")) == 0644);
	CHECK(file_mode(path_in("store/certs", "cert.pem")) == 0644);

	X509 *ca = read_cert(path_in("store/certs", "ca.pem"));
	X509 *cl = read_cert(path_in("store/certs", "cert.pem"));
	CHECK(ca && cl);
	if (!ca || !cl) {
		fprintf(stderr, "bootstrap: %s\n", err);
		X509_free(ca);
		X509_free(cl);
		return;
	}
	check_pkcs1_key(path_in("store/certs", "ca-key.pem"), ca);
	check_pkcs1_key(path_in("store/certs", "key.pem"), cl);

	/* CA: O=alice, self-signed, CA:TRUE, the four key usages. */
	check_subject(ca, "alice", V_ASN1_PRINTABLESTRING);
	check_common(ca, before, after);
	CHECK(X509_NAME_cmp(X509_get_issuer_name(ca), X509_get_subject_name(ca)) == 0);
	CHECK(X509_check_ca(ca) == 1);
	CHECK(X509_get_extension_flags(ca) & EXFLAG_CA);
	CHECK(X509_get_key_usage(ca) == (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT |
					 KU_KEY_AGREEMENT | KU_KEY_CERT_SIGN));
	CHECK(!(X509_get_extension_flags(ca) & EXFLAG_XKUSAGE));

	/* Client: O=alice.bootstrap, issued by the CA, clientAuth only. */
	check_subject(cl, "alice.bootstrap", V_ASN1_PRINTABLESTRING);
	check_common(cl, before, after);
	CHECK(X509_NAME_cmp(X509_get_issuer_name(cl), X509_get_subject_name(ca)) == 0);
	CHECK(X509_check_issued(ca, cl) == X509_V_OK);
	CHECK(X509_check_ca(cl) == 0);
	CHECK(X509_get_key_usage(cl) == KU_DIGITAL_SIGNATURE);
	CHECK(X509_get_extended_key_usage(cl) == XKU_SSL_CLIENT);
	CHECK(X509_get_ext_by_NID(cl, NID_subject_alt_name, -1) < 0);
	CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(ca),
			       X509_get0_serialNumber(cl)) != 0);

	time_t na = 0;
	CHECK(certs_not_after(path_in("store/certs", "cert.pem"), &na, err) == 0);
	CHECK(na == asn1_time(X509_get0_notAfter(cl)));

	CHECK(openssl_verify(path_in("store/certs", "ca.pem"),
			     path_in("store/certs", "cert.pem"), "sslclient") == 0);
	/* A client certificate is no server certificate. */
	CHECK(openssl_verify(path_in("store/certs", "ca.pem"),
			     path_in("store/certs", "cert.pem"), "sslserver") != 0);
	X509_free(ca);
	X509_free(cl);
}

static void test_bootstrap_keeps_and_renews(void)
{
	char err[ERR_MAX] = "";
	char certdir[4200];
	bool created = true;
	const char *names[] = { "ca.pem", "ca-key.pem", "cert.pem", "key.pem" };
	char *old[4];
	snprintf(certdir, sizeof(certdir), "%s/store/certs", dir);

	for (int i = 0; i < 4; i++)
		old[i] = slurp(path_in("store/certs", names[i]));
	CHECK(certs_bootstrap(certdir, "alice", &created, err) == 0);
	CHECK(!created);
	for (int i = 0; i < 4; i++)
		CHECK(same_file(path_in("store/certs", names[i]), old[i]));

	/* A lost client key: the client pair is made again, the CA kept. */
	unlink(path_in("store/certs", "key.pem"));
	CHECK(certs_bootstrap(certdir, "alice", &created, err) == 0);
	CHECK(created);
	CHECK(same_file(path_in("store/certs", "ca.pem"), old[0]));
	CHECK(same_file(path_in("store/certs", "ca-key.pem"), old[1]));
	CHECK(!same_file(path_in("store/certs", "cert.pem"), old[2]));
	CHECK(openssl_verify(path_in("store/certs", "ca.pem"),
			     path_in("store/certs", "cert.pem"), "sslclient") == 0);
	for (int i = 2; i < 4; i++) {
		free(old[i]);
		old[i] = slurp(path_in("store/certs", names[i]));
	}

	/* An expired client certificate: renewed, CA kept. */
	write_expired(path_in("store/certs", "cert.pem"), "alice.bootstrap");
	unsigned made = 0;
	CHECK(certs_bootstrap_detail(certdir, "alice", &made, err) == 0);
	CHECK(made == (CERTS_CLIENT_EXPIRED | CERTS_MADE_CLIENT));
	CHECK(same_file(path_in("store/certs", "ca.pem"), old[0]));
	CHECK(!same_file(path_in("store/certs", "key.pem"), old[3]));
	time_t na = 0;
	CHECK(certs_not_after(path_in("store/certs", "cert.pem"), &na, err) == 0);
	CHECK(na > time(NULL) + 1000L * 86400);
	CHECK(openssl_verify(path_in("store/certs", "ca.pem"),
			     path_in("store/certs", "cert.pem"), "sslclient") == 0);
	for (int i = 2; i < 4; i++) {
		free(old[i]);
		old[i] = slurp(path_in("store/certs", names[i]));
	}

	/* An expired CA: CA and client made again, the client signed by the
	 * new CA. */
	write_expired(path_in("store/certs", "ca.pem"), "alice");
	CHECK(certs_not_after(path_in("store/certs", "ca.pem"), &na, err) == 0);
	CHECK(na < time(NULL));
	CHECK(certs_bootstrap_detail(certdir, "alice", &made, err) == 0);
	CHECK(made == (CERTS_CA_EXPIRED | CERTS_MADE_CA | CERTS_MADE_CLIENT));
	for (int i = 0; i < 4; i++)
		CHECK(!same_file(path_in("store/certs", names[i]), old[i]));
	CHECK(certs_not_after(path_in("store/certs", "ca.pem"), &na, err) == 0);
	CHECK(na > time(NULL) + 1000L * 86400);
	CHECK(openssl_verify(path_in("store/certs", "ca.pem"),
			     path_in("store/certs", "cert.pem"), "sslclient") == 0);
	X509 *ca = read_cert(path_in("store/certs", "ca.pem"));
	CHECK(ca && X509_check_ca(ca) == 1);
	if (ca)
		check_pkcs1_key(path_in("store/certs", "ca-key.pem"), ca);
	X509_free(ca);
	for (int i = 0; i < 4; i++)
		free(old[i]);
	CHECK(certs_bootstrap_detail(certdir, "alice", &made, err) == 0);
	CHECK(made == 0);
}

struct racer {
	const char *certdir;
	unsigned made;
	int rc;
	char err[ERR_MAX];
};

static void *race_bootstrap(void *arg)
{
	struct racer *r = arg;
	r->rc = certs_bootstrap_detail(r->certdir, "alice", &r->made, r->err);
	return NULL;
}

/* Creates racing on one store: one makes the pair, the others find it. */
static void test_bootstrap_race(void)
{
	char certdir[4200];
	struct racer r[4];
	pthread_t t[4];
	int makers = 0;
	snprintf(certdir, sizeof(certdir), "%s/race/certs", dir);
	for (int i = 0; i < 4; i++) {
		r[i] = (struct racer){ .certdir = certdir };
		CHECK(pthread_create(&t[i], NULL, race_bootstrap, &r[i]) == 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK(r[i].rc == 0);
		if (r[i].rc)
			fprintf(stderr, "racer %d: %s\n", i, r[i].err);
		if (r[i].made == (CERTS_MADE_CA | CERTS_MADE_CLIENT))
			makers++;
		else
			CHECK(r[i].made == 0);
	}
	CHECK(makers == 1);
	CHECK(openssl_verify(path_in("race/certs", "ca.pem"),
			     path_in("race/certs", "cert.pem"), "sslclient") == 0);
}

static void test_bootstrap_errors(void)
{
	char err[ERR_MAX] = "";
	char certdir[4200];
	bool created = true;

	/* A certificate that does not parse is not thrown away. */
	snprintf(certdir, sizeof(certdir), "%s/bad/certs", dir);
	CHECK(mkdir_p(certdir, 0700, err) == 0);
	CHECK(write_file_atomic(path_in("bad/certs", "ca.pem"), "garbage\n", 8,
				0644, err) == 0);
	CHECK(write_file_atomic(path_in("bad/certs", "ca-key.pem"), "junk\n", 5,
				0600, err) == 0);
	CHECK(certs_bootstrap(certdir, "alice", &created, err) == -EINVAL);
	CHECK(strstr(err, "ca.pem") != NULL);
	CHECK(!created);
	CHECK(same_file(path_in("bad/certs", "ca.pem"), "garbage\n"));

	/* The certificate folder under a regular file. */
	snprintf(certdir, sizeof(certdir), "%s/bad/certs/ca.pem/sub", dir);
	CHECK(certs_bootstrap(certdir, "alice", NULL, err) == -ENOTDIR);

	time_t na;
	CHECK(certs_not_after(path_in("bad", "missing.pem"), &na, err) == -ENOENT);
	CHECK(strstr(err, "missing.pem") != NULL);
}

static int has_san(GENERAL_NAMES *names, int type, const void *data, int len)
{
	for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		int t;
		ASN1_STRING *s = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(names, i), &t);
		if (t == type && ASN1_STRING_length(s) == len &&
		    !memcmp(ASN1_STRING_get0_data(s), data, (size_t)len))
			return 1;
	}
	return 0;
}

static void test_server_cert(void)
{
	char err[ERR_MAX] = "";
	const char *sans[] = { "127.0.0.1", "localhost", "docker.example.test",
			       "::1", "::ffff:10.213.0.2", "" };
	const char *ca = path_in("store/certs", "ca.pem");
	const char *cakey = path_in("store/certs", "ca-key.pem");
	CHECK(mkdir_p(path_in("store/machines", "m1"), 0700, err) == 0);
	const char *sp = path_in("store/machines/m1", "server.pem");
	const char *sk = path_in("store/machines/m1", "server-key.pem");

	time_t before = time(NULL);
	int rc = certs_make_server(ca, cakey, "alice.m1", sans, 6, sp, sk, err);
	time_t after = time(NULL);
	CHECK(rc == 0);
	if (rc)
		fprintf(stderr, "certs_make_server: %s\n", err);
	CHECK(file_mode(sp) == 0644);
	X509 *x = read_cert(sp);
	X509 *cax = read_cert(ca);
	CHECK(x && cax);
	if (!x || !cax) {
		X509_free(x);
		X509_free(cax);
		return;
	}
	check_pkcs1_key(sk, x);
	check_subject(x, "alice.m1", V_ASN1_PRINTABLESTRING);
	check_common(x, before, after);
	CHECK(X509_check_issued(cax, x) == X509_V_OK);
	CHECK(X509_check_ca(x) == 0);
	CHECK(X509_get_key_usage(x) ==
	      (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT | KU_KEY_AGREEMENT));
	CHECK(X509_get_extended_key_usage(x) == XKU_SSL_SERVER);

	GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	CHECK(names && sk_GENERAL_NAME_num(names) == 5);
	unsigned char v4[4] = { 127, 0, 0, 1 }, mapped[4] = { 10, 213, 0, 2 };
	unsigned char v6[16] = { 0 };
	v6[15] = 1;
	CHECK(names && has_san(names, GEN_IPADD, v4, 4));
	CHECK(names && has_san(names, GEN_IPADD, v6, 16));
	CHECK(names && has_san(names, GEN_IPADD, mapped, 4));
	CHECK(names && has_san(names, GEN_DNS, "localhost", 9));
	CHECK(names && has_san(names, GEN_DNS, "docker.example.test", 19));
	CHECK(names && !has_san(names, GEN_DNS, "127.0.0.1", 9));
	GENERAL_NAMES_free(names);
	CHECK(X509_check_host(x, "localhost", 0, 0, NULL) == 1);
	CHECK(X509_check_host(x, "docker.example.test", 0, 0, NULL) == 1);
	CHECK(X509_check_host(x, "other.example.test", 0, 0, NULL) != 1);
	CHECK(X509_check_ip_asc(x, "127.0.0.1", 0) == 1);
	CHECK(X509_check_ip_asc(x, "::1", 0) == 1);
	CHECK(X509_check_ip_asc(x, "127.0.0.2", 0) != 1);

	CHECK(openssl_verify(ca, sp, "sslserver") == 0);
	CHECK(openssl_verify(ca, sp, "sslclient") != 0);
	X509_free(x);
	X509_free(cax);

	/* An organisation outside PrintableString goes in as UTF8String. */
	const char *one[] = { "10.213.0.2" };
	CHECK(certs_make_server(ca, cakey, "al_ice.m1", one, 1, sp, sk, err) == 0);
	x = read_cert(sp);
	CHECK(x != NULL);
	if (x)
		check_subject(x, "al_ice.m1", V_ASN1_UTF8STRING);
	X509_free(x);

	/* Errors name the file. */
	CHECK(certs_make_server(ca, path_in("store", "nokey.pem"), "a.m1", one, 1,
				sp, sk, err) == -ENOENT);
	CHECK(strstr(err, "nokey.pem") != NULL);
	/* An encrypted CA key is refused, never prompted for. */
	char cmd[9000];
	snprintf(cmd, sizeof(cmd),
		 "openssl rsa -aes256 -passout pass:secret -in '%s' -out '%s' 2>/dev/null",
		 cakey, path_in("store", "enc-ca-key.pem"));
	CHECK(run(cmd) == 0);
	CHECK(certs_make_server(ca, path_in("store", "enc-ca-key.pem"), "a.m1", one,
				1, sp, sk, err) == -EINVAL);
	CHECK(strstr(err, "enc-ca-key.pem") != NULL);
	/* A CA key that is not the CA's. */
	CHECK(certs_make_server(ca, path_in("store/certs", "key.pem"), "a.m1", one,
				1, sp, sk, err) == -EINVAL);
	CHECK(strstr(err, "ca.pem") != NULL);
}

/* ---- engine_check_tls against openssl s_server ------------------------ */

struct server {
	pid_t pid;
	int port;
};

/* openssl s_server on 127.0.0.1, an ephemeral port, serving files from
 * docroot (-WWW), requiring a client certificate signed by ca. */
static int server_start(struct server *s, const char *docroot, const char *cert,
			const char *key, const char *ca)
{
	char log[4200];
	snprintf(log, sizeof(log), "%s/s_server.log", docroot);
	unlink(log);
	s->port = 0;
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		/* Never outlive the test, even when it is killed. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (chdir(docroot) < 0 || !freopen(log, "w", stdout) ||
		    !freopen("/dev/null", "r", stdin))
			_exit(127);
		dup2(STDOUT_FILENO, STDERR_FILENO);
		execlp("openssl", "openssl", "s_server", "-accept", "127.0.0.1:0",
		       "-cert", cert, "-key", key, "-CAfile", ca, "-Verify", "1",
		       "-verify_return_error",
		       "-WWW", (char *)NULL);
		_exit(127);
	}
	/* Wait for "ACCEPT 127.0.0.1:PORT". */
	for (int i = 0; i < 100 && !s->port; i++) {
		char *out = slurp(log);
		const char *a = out ? strstr(out, "ACCEPT 127.0.0.1:") : NULL;
		if (a && strchr(a, '\n'))
			s->port = atoi(a + strlen("ACCEPT 127.0.0.1:"));
		free(out);
		if (!s->port)
			usleep(50 * 1000);
	}
	return s->port ? 0 : -1;
}

static void server_stop(struct server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = 0;
}

/* A port with nothing listening: bound, then closed. */
static int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(sa.sin_port);
}

/* A socket that listens and never accepts: connect works, TLS stalls. */
static int silent_listener(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 4) < 0 || getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* The real docker CLI (Go's crypto/tls and x509) against the server:
 * it must accept our server certificate and present our client pair.
 * Returns the exit status; the output goes to out. -2: no docker CLI. */
static int docker_cli(const char *host, int port, const char *ca,
		      const char *cert, const char *key, char *out, size_t len)
{
	char cmd[12000];
	if (run("command -v docker >/dev/null 2>&1") != 0)
		return -2;
	snprintf(cmd, sizeof(cmd),
		 "env -u DOCKER_HOST -u DOCKER_CONTEXT -u DOCKER_TLS_VERIFY "
		 "-u DOCKER_CERT_PATH DOCKER_CONFIG='%s/dockercfg' "
		 "DOCKER_API_VERSION=1.41 timeout 20 docker --tlsverify "
		 "--tlscacert '%s' --tlscert '%s' --tlskey '%s' "
		 "-H tcp://%s:%d version 2>&1",
		 dir, ca, cert, key, host, port);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	size_t n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void test_engine_check(void)
{
	char err[ERR_MAX] = "", version[64] = "x", certdir[4200], docroot[4200];
	const char *ca = path_in("store/certs", "ca.pem");
	const char *cert = path_in("store/certs", "cert.pem");
	const char *key = path_in("store/certs", "key.pem");
	const char *sp = path_in("store/machines/m1", "server.pem");
	const char *sk = path_in("store/machines/m1", "server-key.pem");
	const char *sans[] = { "127.0.0.1", "localhost" };
	struct server srv = { 0 }, other_srv = { 0 };

	CHECK(certs_make_server(ca, path_in("store/certs", "ca-key.pem"), "alice.m1",
				sans, 2, sp, sk, err) == 0);
	/* Another store's CA and client. */
	snprintf(certdir, sizeof(certdir), "%s/other/certs", dir);
	CHECK(certs_bootstrap(certdir, "mallory", NULL, err) == 0);

	snprintf(docroot, sizeof(docroot), "%s/www", dir);
	CHECK(mkdir_p(docroot, 0700, err) == 0);
	const char *body = "{\"ApiVersion\":\"1.41\",\"Version\":\"20.10.24\"}\n";
	CHECK(write_file_atomic(path_in("www", "version"), body, strlen(body), 0644,
				err) == 0);
	if (server_start(&srv, docroot, sp, sk, ca) < 0) {
		CHECK(!"openssl s_server started");
		server_stop(&srv);
		return;
	}

	int rc = engine_check_tls("127.0.0.1", srv.port, ca, cert, key, 5000,
				  version, sizeof(version), err);
	CHECK(rc == 0);
	if (rc)
		fprintf(stderr, "engine_check_tls: %s\n", err);
	CHECK_STR(version, "20.10.24");
	/* The DNS SAN, and no version wanted. */
	CHECK(engine_check_tls("localhost", srv.port, ca, cert, key, 5000, NULL, 0,
			       err) == 0);
	/* A short buffer gets a truncated, terminated version. */
	CHECK(engine_check_tls("127.0.0.1", srv.port, ca, cert, key, 5000, version,
			       3, err) == 0);
	CHECK_STR(version, "20");

	/* Docker's own client accepts what we made, both ways. */
	char out[8192];
	CHECK(mkdir_p(path_in("www", "v1.41"), 0700, err) == 0);
	CHECK(write_file_atomic(path_in("www", "_ping"), "OK", 2, 0644, err) == 0);
	CHECK(write_file_atomic(path_in("www/v1.41", "version"), body, strlen(body),
				0644, err) == 0);
	rc = docker_cli("127.0.0.1", srv.port, ca, cert, key, out, sizeof(out));
	if (rc == -2) {
		fprintf(stderr, "  (no docker CLI: Go TLS interop not checked)\n");
	} else {
		CHECK(rc == 0);
		CHECK(strstr(out, "20.10.24") != NULL);
		if (rc)
			fprintf(stderr, "docker version: %s\n", out);
		rc = docker_cli("localhost", srv.port, ca, cert, key, out, sizeof(out));
		CHECK(rc == 0);
		/* Go refuses an engine certificate from another CA. */
		rc = docker_cli("127.0.0.1", srv.port, path_in("other/certs", "ca.pem"),
				cert, key, out, sizeof(out));
		CHECK(rc != 0 && strstr(out, "certificate") != NULL);
	}

	/* The engine's certificate is not from our CA. */
	version[0] = 'x';
	rc = engine_check_tls("127.0.0.1", srv.port, path_in("other/certs", "ca.pem"),
			      cert, key, 5000, version, sizeof(version), err);
	CHECK(rc == -EPROTO);
	CHECK(strstr(err, "certificate") != NULL);
	char where[64];
	snprintf(where, sizeof(where), "'127.0.0.1:%d'", srv.port);
	CHECK(strstr(err, where) != NULL);
	CHECK_STR(version, "");
	fprintf(stderr, "  (wrong CA: %s)\n", err);

	/* Our client certificate is not from the engine's CA. */
	rc = engine_check_tls("127.0.0.1", srv.port, ca,
			      path_in("other/certs", "cert.pem"),
			      path_in("other/certs", "key.pem"), 5000, NULL, 0, err);
	CHECK(rc == -EPROTO);
	fprintf(stderr, "  (wrong client: %d %s)\n", rc, err);

	/* An encrypted client key fails, without a prompt. */
	char cmd[9000];
	snprintf(cmd, sizeof(cmd),
		 "openssl rsa -aes256 -passout pass:secret -in '%s' -out '%s' 2>/dev/null",
		 key, path_in("www", "enc-key.pem"));
	CHECK(run(cmd) == 0);
	rc = engine_check_tls("127.0.0.1", srv.port, ca, cert,
			      path_in("www", "enc-key.pem"), 5000, NULL, 0, err);
	CHECK(rc == -EPROTO);
	fprintf(stderr, "  (encrypted key: %s)\n", err);

	/* No client certificate at all is refused before any network. */
	CHECK(engine_check_tls("127.0.0.1", srv.port, ca, path_in("www", "none.pem"),
			       key, 5000, NULL, 0, err) == -ENOENT);
	CHECK(strstr(err, "none.pem") != NULL);

	/* Answers that are not a version. */
	const char *junk = "hello\n";
	CHECK(write_file_atomic(path_in("www", "version"), junk, strlen(junk), 0644,
				err) == 0);
	CHECK(engine_check_tls("127.0.0.1", srv.port, ca, cert, key, 5000, version,
			       sizeof(version), err) == -EBADMSG);
	const char *nover = "{\"ApiVersion\":\"1.41\"}";
	CHECK(write_file_atomic(path_in("www", "version"), nover, strlen(nover), 0644,
				err) == 0);
	CHECK(engine_check_tls("127.0.0.1", srv.port, ca, cert, key, 5000, version,
			       sizeof(version), err) == -EBADMSG);
	CHECK(strstr(err, "Version") != NULL);
	server_stop(&srv);

	/* A server certificate for another address: host check fails. */
	const char *far[] = { "10.213.0.2", "engine.example.test" };
	CHECK(certs_make_server(ca, path_in("store/certs", "ca-key.pem"), "alice.m2",
				far, 2, path_in("www", "far.pem"),
				path_in("www", "far-key.pem"), err) == 0);
	if (server_start(&other_srv, docroot, path_in("www", "far.pem"),
			 path_in("www", "far-key.pem"), ca) == 0) {
		rc = engine_check_tls("127.0.0.1", other_srv.port, ca, cert, key, 5000,
				      NULL, 0, err);
		CHECK(rc == -EPROTO);
		fprintf(stderr, "  (wrong host: %s)\n", err);
	} else {
		CHECK(!"second openssl s_server started");
	}
	server_stop(&other_srv);

	/* Nothing listening. */
	int port = closed_port();
	CHECK(port > 0);
	rc = engine_check_tls("127.0.0.1", port, ca, cert, key, 5000, NULL, 0, err);
	CHECK(rc == -ECONNREFUSED);
	snprintf(where, sizeof(where), "'127.0.0.1:%d'", port);
	CHECK(strstr(err, where) != NULL);

	/* Accepts but never answers: the timeout holds. */
	int fd = silent_listener(&port);
	CHECK(fd >= 0);
	long long t0 = now_ms();
	rc = engine_check_tls("127.0.0.1", port, ca, cert, key, 700, NULL, 0, err);
	long long took = now_ms() - t0;
	CHECK(rc == -ETIMEDOUT);
	CHECK(took >= 600 && took < 5000);
	if (fd >= 0)
		close(fd);

	/* Bad arguments. */
	CHECK(engine_check_tls("127.0.0.1", 0, ca, cert, key, 1000, NULL, 0, err) ==
	      -EINVAL);
	CHECK(engine_check_tls("", 2376, ca, cert, key, 1000, NULL, 0, err) == -EINVAL);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "%s", test_tmpdir());
	test_user_org();
	test_bootstrap();
	test_bootstrap_keeps_and_renews();
	test_bootstrap_race();
	test_bootstrap_errors();
	test_server_cert();
	test_engine_check();
	char err[ERR_MAX];
	if (!test_failed)
		remove_tree(dir, err);
	paths_free();
	return test_report();
}
