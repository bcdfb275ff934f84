/* Provisioning against a real lab host (tests/lab/lab.sh): driven by
 * tests/e2e/t_provision_lab.sh through the environment; skipped (0
 * passed, 0 failed) when MFS_LAB is not set.
 *   LAB_IP LAB_USER(root) LAB_KEY LAB_STORE LAB_NAME(lab)
 *   LAB_OP: provision | regenerate-certs | upgrade
 *   LAB_EXPECT: "" for success, else the exact error message expected
 *   LAB_EXPECT_SUB: "|"-separated parts the error message must contain
 *   LAB_INSTALL_URL; comma lists: LAB_LABELS LAB_INSECURE LAB_TLS_SAN
 *   LAB_ENV LAB_OPTS (engine-env, engine-opt)
 *   LAB_PROVISIONER: the provisioner expected (debian)
 *   LAB_CANCEL_MS: set the cancel flag after that long; expect
 *     -ECANCELED within 3 s of it
 * Prints each log line as "log: ...". */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/fileutil.h"
#include "lib/strbuf.h"
#include "provision/certs.h"
#include "provision/provision.h"
#include "tests/unit/harness.h"

static struct strbuf logbuf = STRBUF_INIT;

static void log_line(void *arg, const char *line)
{
	printf("log: %s\n", line);
	fflush(stdout);
	strbuf_addf(&logbuf, "%s\n", line);
}

static volatile int cancel;
static long cancel_ms;

static void *canceller(void *arg)
{
	usleep((useconds_t)cancel_ms * 1000);
	__atomic_store_n(&cancel, 1, __ATOMIC_RELAXED);
	return arg;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *env(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v && v[0] ? v : def;
}

static void split(const char *csv, struct strlist *l)
{
	const char *p = csv;

	while (p && *p) {
		size_t n = strcspn(p, ",");
		if (n)
			strlist_addn(l, p, n);
		p += n;
		if (*p == ',')
			p++;
	}
}

int main(void)
{
	char err[ERR_MAX] = "", path[6][1100], known[1100], mdir[1024], certdir[1024];
	struct engine_options eo = { 0 };
	struct strlist sans = STRLIST_INIT;
	int rc;

	if (!getenv("MFS_LAB")) {
		printf("SKIP: MFS_LAB not set (run by tests/e2e/t_provision_lab.sh)\n");
		return test_report();
	}
	const char *ip = env("LAB_IP", "");
	const char *store = env("LAB_STORE", test_tmpdir());
	const char *name = env("LAB_NAME", "lab");
	const char *op = env("LAB_OP", "provision");
	const char *expect = env("LAB_EXPECT", "");
	const char *expect_sub = env("LAB_EXPECT_SUB", "");

	snprintf(certdir, sizeof(certdir), "%s/certs", store);
	snprintf(mdir, sizeof(mdir), "%s/machines/%s", store, name);
	CHECK(certs_bootstrap(certdir, certs_user_org(), NULL, err) == 0);
	CHECK(mkdir_p(mdir, 0700, err) == 0);
	snprintf(path[0], sizeof(path[0]), "%s/ca.pem", certdir);
	snprintf(path[1], sizeof(path[1]), "%s/ca-key.pem", certdir);
	snprintf(path[2], sizeof(path[2]), "%s/cert.pem", certdir);
	snprintf(path[3], sizeof(path[3]), "%s/key.pem", certdir);
	snprintf(path[4], sizeof(path[4]), "%s/server.pem", mdir);
	snprintf(path[5], sizeof(path[5]), "%s/server-key.pem", mdir);
	snprintf(known, sizeof(known), "%s/known_hosts", mdir);
	snprintf(eo.install_url, sizeof(eo.install_url), "%s", env("LAB_INSTALL_URL", "none"));
	split(getenv("LAB_LABELS"), &eo.labels);
	split(getenv("LAB_INSECURE"), &eo.insecure_registry);
	split(getenv("LAB_ENV"), &eo.env);
	split(getenv("LAB_OPTS"), &eo.arbitrary_flags);
	split(getenv("LAB_TLS_SAN"), &sans);
	eo.tls_verify = true;
	char org[256];
	snprintf(org, sizeof(org), "%s.%s", certs_user_org(), name);

	struct provision_request r = {
		.machine = name,
		.driver_name = "generic",
		.ip = ip,
		.engine_port = 2376,
		.ssh = {
			.host = ip, .port = atoi(env("LAB_PORT", "22")),
			.user = env("LAB_USER", "root"), .key_path = env("LAB_KEY", ""),
			.known_hosts = known, .cancel = &cancel,
			.log_fn = log_line, .log_arg = NULL,
		},
		.engine = &eo,
		.tls_sans = &sans,
		.ca_cert = path[0], .ca_key = path[1],
		.client_cert = path[2], .client_key = path[3],
		.server_cert = path[4], .server_key = path[5],
		.org = org,
		.cancel = &cancel,
		.log_fn = log_line,
	};
	pthread_t th;
	cancel_ms = atol(env("LAB_CANCEL_MS", "0"));
	long long t0 = mono_ms();
	if (cancel_ms > 0)
		CHECK(pthread_create(&th, NULL, canceller, NULL) == 0);
	if (!strcmp(op, "regenerate-certs"))
		rc = provision_regenerate_certs(&r, err);
	else if (!strcmp(op, "upgrade"))
		rc = provision_upgrade(&r, err);
	else
		rc = provision_run(&r, err);
	printf("result: %d %s\n", rc, err);
	if (cancel_ms > 0) {
		long long took = mono_ms() - t0;
		pthread_join(th, NULL);
		printf("cancelled after %ld ms, returned after %lld ms\n", cancel_ms, took);
		CHECK(rc == -ECANCELED);
		CHECK(took < cancel_ms + 3000);
		CHECK(strstr(err, "cancelled") != NULL);
		expect = expect_sub = "";
		goto out;
	}

	if (expect_sub[0]) {
		CHECK(rc < 0);
		for (const char *p = expect_sub; *p;) {
			size_t n = strcspn(p, "|");
			char part[256];
			snprintf(part, sizeof(part), "%.*s", (int)n, p);
			if (!strstr(err, part))
				printf("error lacks '%s'\n", part);
			CHECK(strstr(err, part) != NULL);
			p += n + (p[n] == '|');
		}
	} else if (expect[0]) {
		CHECK(rc < 0);
		CHECK_STR(err, expect);
	} else {
		CHECK(rc == 0);
		CHECK_STR(err, "");
		char version[64] = "";
		CHECK(engine_check_tls(ip, 2376, path[0], path[2], path[3], 10000,
				       version, sizeof(version), err) == 0);
		CHECK(version[0] != '\0');
		printf("engine version: %s\n", version);
		CHECK(path_exists(path[4]) && path_exists(path[5]));
		CHECK(strstr(logbuf.buf, "Copying certs to the remote machine...") != NULL);
		CHECK(strstr(logbuf.buf, "Docker is up and running!") != NULL);
		if (!strcmp(op, "provision")) {
			CHECK(strstr(logbuf.buf, "Detecting the provisioner...") != NULL);
			char want[128];
			snprintf(want, sizeof(want), "Provisioning with %s ",
				 env("LAB_PROVISIONER", "debian"));
			CHECK(strstr(logbuf.buf, want) != NULL);
		}
	}
out:
	strbuf_release(&logbuf);
	strlist_clear(&sans);
	strlist_clear(&eo.labels);
	strlist_clear(&eo.insecure_registry);
	strlist_clear(&eo.env);
	strlist_clear(&eo.arbitrary_flags);
	return test_report();
}
