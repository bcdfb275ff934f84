/* The google driver against a scripted API (tests/unit/httpstub.h),
 * without a mount: options and config.json keys, the token exchange at the
 * key file's token_uri and the Bearer token, what each call sends (paths,
 * order, the instances.insert body), a failed insert undone (instance,
 * then the disk it left) with leftovers named, the state map, remove with
 * 404s, a 401 answered with a new token. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "drivers/driver.h"
#include "drivers/gauth.h"
#include "lib/fileutil.h"
#include "lib/json.h"
#include "tests/unit/harness.h"
#include "tests/unit/httpstub.h"

extern const struct machine_driver google_driver;
static const struct machine_driver *D = &google_driver;

static char logbuf[32768];
static void log_line(void *arg, const char *line)
{
	strncat(logbuf, line, sizeof(logbuf) - strlen(logbuf) - 2);
	strcat(logbuf, "\n");
}

static int ncp;
static int checkpoint(void *arg, struct driver_ctx *ctx)
{
	ncp++;
	return 0;
}

static struct base_driver base;
static struct option_set opts;
static void *priv;
static struct driver_ctx ctx;
static char api[64], keyfile[PATH_MAX];

#define TOKEN_REPLY { 200, NULL, "{\"access_token\":\"ya29.unit-SECRET\",\"expires_in\":3599,\"token_type\":\"Bearer\"}", 0 }
#define OP_PENDING(n) "{\"kind\":\"compute#operation\",\"name\":\"" n "\",\"status\":\"PENDING\"}"
#define OP_DONE(n) "{\"kind\":\"compute#operation\",\"name\":\"" n "\",\"status\":\"DONE\"}"
#define NOT_FOUND { 404, NULL, "{\"error\":{\"code\":404,\"message\":\"The resource 'x' was not found\",\"errors\":[{\"message\":\"The resource 'x' was not found\",\"domain\":\"global\",\"reason\":\"notFound\"}]}}", 0 }

/* A service-account key file whose token_uri is the stub. */
static void make_keyfile(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	char *pem;
	long n = BIO_get_mem_data(b, &pem);
	char *p = strndup(pem, (size_t)n);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "service_account");
	cJSON_AddStringToObject(o, "client_email", "unit@p1.iam.gserviceaccount.com");
	cJSON_AddStringToObject(o, "private_key", p);
	char uri[128];
	snprintf(uri, sizeof(uri), "http://127.0.0.1:%d/token", srv.port);
	cJSON_AddStringToObject(o, "token_uri", uri);
	char *s = cJSON_Print(o);
	snprintf(keyfile, sizeof(keyfile), "%s/sa.json", test_tmpdir());
	char err[ERR_MAX];
	CHECK(write_file_atomic(keyfile, s, strlen(s), 0600, err) == 0);
	free(s);
	free(p);
	cJSON_Delete(o);
	BIO_free(b);
	EVP_PKEY_free(k);
}

static void fresh(void)
{
	memset(&base, 0, sizeof(base));
	free(priv);
	priv = calloc(1, D->priv_size);
	option_set_clear(&opts);
	ctx = (struct driver_ctx){ .machine = "m1", .store = test_tmpdir(), .dir = test_tmpdir(),
				   .base = &base, .priv = priv, .opts = &opts,
				   .log_fn = log_line, .checkpoint_fn = checkpoint };
	snprintf(api, sizeof(api), "http://127.0.0.1:%d/compute/v1", srv.port);
	option_set_put(&opts, "google-project", "p1");
	option_set_put(&opts, "google-api-url", api);
	option_set_put(&opts, "google-application-credentials", keyfile);
	gauth_forget(&ctx);
	ncp = 0;
	logbuf[0] = '\0';
}

static void test_configure(void)
{
	fresh();
	option_set_del(&opts, "google-project");
	CHECK(D->configure(&ctx) == -EINVAL);
	CHECK(strstr(ctx.err, "no Google Cloud Project name specified (--google-project)") != NULL);
	fresh();
	option_set_put(&opts, "google-machine-image",
		       "https://www.googleapis.com/compute/v1/projects/debian-cloud/global/images/family/debian-12");
	option_set_put(&opts, "google-open-port", "8080/tcp\n53/udp");
	CHECK(D->configure(&ctx) == 0);
	cJSON *o = cJSON_CreateObject();
	D->save(&ctx, o);
	CHECK_STR(json_str(o, "Zone", ""), "us-central1-a");
	CHECK_STR(json_str(o, "MachineType", ""), "n1-standard-1");
	CHECK_STR(json_str(o, "MachineImage", ""), "debian-cloud/global/images/family/debian-12");
	CHECK_STR(json_str(o, "DiskType", ""), "pd-standard");
	CHECK(json_int(o, "DiskSize", 0) == 10);
	CHECK_STR(json_str(o, "ServiceAccount", ""), "default");
	char want_api[80];
	snprintf(want_api, sizeof(want_api), "%s/", api);
	CHECK_STR(json_str(o, "APIURL", ""), want_api);
	CHECK_STR(json_str(o, "ApplicationCredentials", ""), keyfile);
	CHECK_STR(base.ssh_user, "docker-user");
	CHECK(base.ssh_port == 22);
	/* Docker Machine's keys in its order, then machinefs's. */
	static const char *const keys[] = {
		"Zone", "MachineType", "MachineImage", "DiskType", "Address", "Network",
		"Subnetwork", "Preemptible", "UseInternalIP", "UseInternalIPOnly",
		"ServiceAccount", "Scopes", "DiskSize", "Project", "Tags", "UseExisting",
		"OpenPorts", "APIURL", "ApplicationCredentials", NULL,
	};
	const cJSON *it = o->child;
	for (int i = 0; keys[i]; i++, it = it ? it->next : NULL)
		CHECK_STR(it ? it->string : NULL, keys[i]);
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(o, "OpenPorts")) == 2);
	void *p2 = calloc(1, D->priv_size);
	struct driver_ctx c2 = ctx;
	c2.priv = p2;
	CHECK(D->load(&c2, o) == 0);
	CHECK(memcmp(p2, priv, D->priv_size) == 0);
	free(p2);
	cJSON_Delete(o);
	/* Instance names are GCE's. */
	fresh();
	ctx.machine = "Web_1";
	CHECK(D->configure(&ctx) == -EINVAL);
	CHECK(strstr(ctx.err, "invalid google instance name 'Web_1'") != NULL);
	fresh();
	option_set_put(&opts, "google-username", "a:b");
	CHECK(D->configure(&ctx) == -EINVAL);
	fresh();
	option_set_put(&opts, "google-username", "docker\nroot:ssh-ed25519 AAAA");
	CHECK(D->configure(&ctx) == -EINVAL);
}

static void test_precreate_token(void)
{
	static const struct reply r[] = {
		TOKEN_REPLY,
		{ 200, NULL, "{\"kind\":\"compute#project\",\"name\":\"p1\"}", 0 },
		NOT_FOUND,
	};
	fresh();
	CHECK(D->configure(&ctx) == 0);
	script(r, 3);
	CHECK(D->precreate_check(&ctx) == 0);
	CHECK(srv.nreq == 3);
	CHECK_STR(srv.line[0], "POST /token");
	CHECK(!strncmp(srv.body[0], "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=ey", 77));
	CHECK_STR(srv.line[1], "GET /compute/v1/projects/p1?alt=json");
	CHECK_STR(srv.auth[1], "Bearer ya29.unit-SECRET");
	CHECK_STR(srv.line[2], "GET /compute/v1/projects/p1/zones/us-central1-a/instances/m1?alt=json");
	/* The token is cached: no second exchange. */
	static const struct reply r2[] = { { 200, NULL, "{\"name\":\"m1\",\"status\":\"RUNNING\"}", 0 } };
	script(r2, 1);
	CHECK(D->precreate_check(&ctx) == -EEXIST);
	CHECK(strstr(ctx.err, "instance 'm1' already exists in zone 'us-central1-a'") != NULL);
	CHECK_STR(srv.line[0], "GET /compute/v1/projects/p1?alt=json");
	CHECK(!strstr(logbuf, "ya29.unit-SECRET"));
	/* Bad credentials: one line naming the cause, as -EACCES. */
	fresh();
	CHECK(D->configure(&ctx) == 0);
	static const struct reply bad[] = {
		{ 400, NULL, "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT Signature.\"}", 0 },
	};
	script(bad, 1);
	CHECK(D->precreate_check(&ctx) == -EACCES);
	CHECK(strstr(ctx.err, "cannot get a google access token") != NULL);
	CHECK(strstr(ctx.err, "Invalid JWT Signature.") != NULL);
	CHECK(!strchr(ctx.err, '\n'));
}

static void test_failed_insert_undone(void)
{
	static const struct reply r[] = {
		TOKEN_REPLY,
		/* the firewall rule is there and opens 2376 */
		{ 200, NULL, "{\"name\":\"docker-machines\",\"allowed\":[{\"IPProtocol\":\"tcp\",\"ports\":[\"2376\"]}]}", 0 },
		NOT_FOUND, /* GET disk */
		{ 200, NULL, OP_PENDING("op-1"), 0 }, /* POST instances */
		{ 200, NULL, "{\"name\":\"op-1\",\"status\":\"DONE\",\"operationType\":\"insert\",\"targetLink\":\"x/instances/m1\",\"error\":{\"errors\":[{\"code\":\"RESOURCE_NOT_FOUND\",\"message\":\"The resource 'projects/ubuntu-os-cloud/global/images/nope' was not found\"}]}}", 0 },
		NOT_FOUND, /* DELETE instance */
		{ 200, NULL, "{\"name\":\"m1-disk\"}", 0 }, /* GET disk: left behind */
		{ 403, NULL, "{\"error\":{\"code\":403,\"message\":\"Required 'compute.disks.delete' permission\",\"errors\":[]}}", 0 },
	};
	fresh();
	CHECK(D->configure(&ctx) == 0);
	script(r, 8);
	int rc = D->create(&ctx);
	CHECK(rc == -ENOENT);
	CHECK(strstr(ctx.err, "RESOURCE_NOT_FOUND") != NULL);
	CHECK(strstr(ctx.err, "left behind: disk 'm1-disk' in zone 'us-central1-a'") != NULL);
	CHECK(ncp == 1);
	CHECK(srv.nreq == 8);
	const char *want[] = {
		"POST /token",
		"GET /compute/v1/projects/p1/global/firewalls/docker-machines?alt=json",
		"GET /compute/v1/projects/p1/zones/us-central1-a/disks/m1-disk?alt=json",
		"POST /compute/v1/projects/p1/zones/us-central1-a/instances?alt=json",
		"GET /compute/v1/projects/p1/zones/us-central1-a/operations/op-1?alt=json",
		"DELETE /compute/v1/projects/p1/zones/us-central1-a/instances/m1?alt=json",
		"GET /compute/v1/projects/p1/zones/us-central1-a/disks/m1-disk?alt=json",
		"DELETE /compute/v1/projects/p1/zones/us-central1-a/disks/m1-disk?alt=json",
	};
	for (int i = 0; i < 8; i++)
		CHECK_STR(srv.line[i], want[i]);
	/* The insert body, as Docker Machine builds it. */
	cJSON *in = cJSON_Parse(srv.body[3]);
	CHECK(in != NULL);
	CHECK_STR(json_str(in, "name", ""), "m1");
	CHECK_STR(json_str(in, "description", ""), "docker host vm");
	CHECK_STR(json_str(in, "machineType", ""),
		  "https://www.googleapis.com/compute/v1/projects/p1/zones/us-central1-a/machineTypes/n1-standard-1");
	const cJSON *d0 = cJSON_GetArrayItem(cJSON_GetObjectItem(in, "disks"), 0);
	CHECK(json_bool(d0, "boot", false) && json_bool(d0, "autoDelete", false));
	CHECK_STR(json_str(d0, "type", ""), "PERSISTENT");
	const cJSON *ip = cJSON_GetObjectItem(d0, "initializeParams");
	CHECK_STR(json_str(ip, "diskName", ""), "m1-disk");
	CHECK_STR(json_str(ip, "sourceImage", ""),
		  "https://www.googleapis.com/compute/v1/projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64");
	CHECK_STR(json_str(ip, "diskType", ""),
		  "https://www.googleapis.com/compute/v1/projects/p1/zones/us-central1-a/diskTypes/pd-standard");
	CHECK(json_int(ip, "diskSizeGb", 0) == 10);
	const cJSON *nic = cJSON_GetArrayItem(cJSON_GetObjectItem(in, "networkInterfaces"), 0);
	CHECK_STR(json_str(nic, "network", ""),
		  "https://www.googleapis.com/compute/v1/projects/p1/global/networks/default");
	CHECK_STR(json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(nic, "accessConfigs"), 0), "type", ""),
		  "ONE_TO_ONE_NAT");
	const cJSON *tags = cJSON_GetObjectItem(cJSON_GetObjectItem(in, "tags"), "items");
	CHECK(cJSON_GetArraySize(tags) == 1 &&
	      !strcmp(cJSON_GetArrayItem(tags, 0)->valuestring, "docker-machine"));
	const cJSON *sa = cJSON_GetArrayItem(cJSON_GetObjectItem(in, "serviceAccounts"), 0);
	CHECK_STR(json_str(sa, "email", ""), "default");
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(sa, "scopes")) == 3);
	cJSON_Delete(in);
}

/* Two creates at once: the rule appears between our GET and our insert. */
static void test_firewall_race(void)
{
	static const struct reply r[] = {
		TOKEN_REPLY,
		NOT_FOUND, /* GET firewall */
		{ 409, NULL, "{\"error\":{\"code\":409,\"message\":\"The resource 'projects/p1/global/firewalls/docker-machines' already exists\",\"errors\":[]}}", 0 },
		{ 200, NULL, "{\"name\":\"docker-machines\",\"allowed\":[{\"IPProtocol\":\"tcp\",\"ports\":[\"2376\"]}]}", 0 },
		{ 403, NULL, "{\"error\":{\"code\":403,\"message\":\"Required 'compute.disks.get' permission\",\"errors\":[]}}", 0 },
	};
	fresh();
	CHECK(D->configure(&ctx) == 0);
	script(r, 5);
	CHECK(D->create(&ctx) == -EPERM);
	CHECK(strstr(ctx.err, "compute.disks.get") != NULL);
	CHECK(srv.nreq == 5);
	CHECK_STR(srv.line[2], "POST /compute/v1/projects/p1/global/firewalls?alt=json");
	CHECK_STR(srv.line[3], "GET /compute/v1/projects/p1/global/firewalls/docker-machines?alt=json");
	CHECK_STR(srv.line[4], "GET /compute/v1/projects/p1/zones/us-central1-a/disks/m1-disk?alt=json");
	CHECK(ncp == 0); /* nothing was made */
}

static void test_state_map(void)
{
	static const struct { const char *status; enum machine_state want; } cases[] = {
		{ "PROVISIONING", MS_STARTING }, { "STAGING", MS_STARTING }, { "RUNNING", MS_RUNNING },
		{ "STOPPING", MS_STOPPED }, { "STOPPED", MS_STOPPED }, { "TERMINATED", MS_STOPPED },
		{ "SUSPENDED", MS_NONE },
	};
	fresh();
	CHECK(D->configure(&ctx) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char body[128];
		snprintf(body, sizeof(body), "{\"name\":\"m1\",\"status\":\"%s\"}", cases[i].status);
		struct reply r[] = { TOKEN_REPLY, { 200, NULL, body, 0 } };
		gauth_forget(&ctx);
		script(r, 2);
		enum machine_state st = MS_ERROR;
		CHECK(D->state(&ctx, &st) == 0);
		CHECK(st == cases[i].want);
	}
	/* No instance: the disk decides (Docker Machine). */
	static const struct reply gone_disk[] = { TOKEN_REPLY, NOT_FOUND, { 200, NULL, "{\"name\":\"m1-disk\"}", 0 } };
	gauth_forget(&ctx);
	script(gone_disk, 3);
	enum machine_state st = MS_ERROR;
	CHECK(D->state(&ctx, &st) == 0 && st == MS_STOPPED);
	static const struct reply gone[] = { TOKEN_REPLY, NOT_FOUND, NOT_FOUND };
	gauth_forget(&ctx);
	script(gone, 3);
	CHECK(D->state(&ctx, &st) == 0 && st == MS_NONE);
}

static void test_remove_and_401(void)
{
	/* Instance already gone, no disk: success. */
	static const struct reply gone[] = { TOKEN_REPLY, NOT_FOUND, NOT_FOUND };
	fresh();
	CHECK(D->configure(&ctx) == 0);
	script(gone, 3);
	CHECK(D->remove(&ctx) == 0);
	CHECK_STR(srv.line[1], "DELETE /compute/v1/projects/p1/zones/us-central1-a/instances/m1?alt=json");
	CHECK_STR(srv.line[2], "GET /compute/v1/projects/p1/zones/us-central1-a/disks/m1-disk?alt=json");
	/* A 401 (token revoked): a new token, the call again. */
	static const struct reply r401[] = {
		TOKEN_REPLY,
		{ 401, NULL, "{\"error\":{\"code\":401,\"message\":\"Invalid Credentials\",\"errors\":[]}}", 0 },
		TOKEN_REPLY,
		{ 200, NULL, OP_DONE("op-9"), 0 },
		{ 200, NULL, OP_DONE("op-9"), 0 },
	};
	fresh();
	CHECK(D->configure(&ctx) == 0);
	script(r401, 5);
	CHECK(D->stop(&ctx) == 0);
	CHECK_STR(srv.line[0], "POST /token");
	CHECK_STR(srv.line[1], "POST /compute/v1/projects/p1/zones/us-central1-a/instances/m1/stop?alt=json");
	CHECK_STR(srv.line[2], "POST /token");
	CHECK_STR(srv.line[3], "POST /compute/v1/projects/p1/zones/us-central1-a/instances/m1/stop?alt=json");
	CHECK_STR(srv.line[4], "GET /compute/v1/projects/p1/zones/us-central1-a/operations/op-9?alt=json");
	CHECK(!strstr(logbuf, "ya29.unit-SECRET"));
}

int main(void)
{
	start_server();
	make_keyfile();
	test_configure();
	test_precreate_token();
	test_failed_insert_undone();
	test_firewall_race();
	test_state_map();
	test_remove_and_401();
	return test_report();
}
