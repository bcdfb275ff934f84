/* The digitalocean driver against a scripted API (tests/unit/httpstub.h),
 * without a mount: what it sends (paths, order, bodies, the bearer token)
 * and how it takes each answer: defaults, ids checkpointed as they come, a
 * failed create deleting droplet then key, state mapping, remove with 404s,
 * actions waiting for the new state, the fingerprint path, config.json keys
 * in Docker Machine's order, the token never in the log. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/driver.h"
#include "lib/json.h"
#include "tests/unit/harness.h"
#include "tests/unit/httpstub.h"

extern const struct machine_driver digitalocean_driver;
static const struct machine_driver *D = &digitalocean_driver;

#define TOKEN "dop_v1_unit_SECRET"

static char logbuf[16384];
static void log_line(void *arg, const char *line)
{
	strncat(logbuf, line, sizeof(logbuf) - strlen(logbuf) - 2);
	strcat(logbuf, "\n");
}

/* Each checkpoint: the key and droplet ids at that moment. */
static long cp_key[8], cp_drop[8];
static int ncp;
static int checkpoint(void *arg, struct driver_ctx *ctx)
{
	cJSON *o = cJSON_CreateObject();
	D->save(ctx, o);
	if (ncp < 8) {
		cp_key[ncp] = json_int(o, "SSHKeyID", -1);
		cp_drop[ncp] = json_int(o, "DropletID", -1);
	}
	ncp++;
	cJSON_Delete(o);
	return 0;
}

static struct base_driver base;
static struct option_set opts;
static void *priv;
static struct driver_ctx ctx;
static char api[64];

static void fresh(void)
{
	memset(&base, 0, sizeof(base));
	free(priv);
	priv = calloc(1, D->priv_size);
	option_set_clear(&opts);
	ctx = (struct driver_ctx){ .machine = "m1", .store = test_tmpdir(), .dir = test_tmpdir(),
				   .base = &base, .priv = priv, .opts = &opts,
				   .log_fn = log_line, .checkpoint_fn = checkpoint };
	snprintf(api, sizeof(api), "http://127.0.0.1:%d/", srv.port);
	option_set_put(&opts, "digitalocean-access-token", TOKEN);
	option_set_put(&opts, "digitalocean-api-url", api);
	ncp = 0;
}

static void test_configure(void)
{
	fresh();
	option_set_del(&opts, "digitalocean-access-token");
	CHECK(D->configure(&ctx) == -EINVAL);
	CHECK(strstr(ctx.err, "requires the --digitalocean-access-token option") != NULL);
	fresh();
	CHECK(D->configure(&ctx) == 0);
	cJSON *o = cJSON_CreateObject();
	D->save(&ctx, o);
	CHECK_STR(json_str(o, "Image", ""), "ubuntu-24-04-x64");
	CHECK_STR(json_str(o, "Region", ""), "nyc3");
	CHECK_STR(json_str(o, "Size", ""), "s-1vcpu-1gb");
	CHECK_STR(json_str(o, "DropletName", ""), "m1");
	CHECK_STR(base.ssh_user, "root");
	CHECK(base.ssh_port == 22);
	char want[4200];
	snprintf(want, sizeof(want), "%s/id_ed25519", test_tmpdir());
	CHECK_STR(base.ssh_key_path, want);
	/* Docker Machine's keys, in its order, then machinefs's APIURL. */
	static const char *const keys[] = {
		"AccessToken", "DropletID", "DropletName", "Image", "Region", "SSHKeyID",
		"SSHKeyFingerprint", "SSHKey", "Size", "IPv6", "Backups", "PrivateNetworking",
		"UserDataFile", "Monitoring", "Tags", "APIURL", NULL,
	};
	const cJSON *it = o->child;
	for (int i = 0; keys[i]; i++, it = it ? it->next : NULL)
		CHECK_STR(it ? it->string : NULL, keys[i]);
	/* load gives back what save wrote. */
	void *p2 = calloc(1, D->priv_size);
	struct driver_ctx c2 = ctx;
	c2.priv = p2;
	CHECK(D->load(&c2, o) == 0);
	CHECK(memcmp(p2, priv, D->priv_size) == 0);
	free(p2);
	cJSON_Delete(o);
	option_set_put(&opts, "digitalocean-ssh-port", "0");
	CHECK(D->configure(&ctx) == -EINVAL);
	/* Hostile values never reach a header or a URL. */
	fresh();
	option_set_put(&opts, "digitalocean-access-token", "tok\r\nX-Evil: 1");
	CHECK(D->configure(&ctx) == -EINVAL);
	CHECK(strstr(ctx.err, "X-Evil") == NULL);
	fresh();
	option_set_put(&opts, "digitalocean-ssh-key-fingerprint", "../../droplets/1?x=");
	CHECK(D->configure(&ctx) == -EINVAL);
	fresh();
	option_set_put(&opts, "digitalocean-ssh-key-fingerprint", "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa");
	CHECK(D->configure(&ctx) == 0);
}

static void test_precreate(void)
{
	static const struct reply r[] = {
		{ 200, NULL, "{\"regions\":[{\"slug\":\"ams3\"},{\"slug\":\"nyc3\"}],\"links\":{},\"meta\":{\"total\":2}}", 0 },
	};
	fresh();
	CHECK(D->configure(&ctx) == 0);
	script(r, 1);
	CHECK(D->precreate_check(&ctx) == 0);
	CHECK_STR(srv.line[0], "GET /v2/regions");
	CHECK_STR(srv.auth[0], "Bearer " TOKEN);
	option_set_put(&opts, "digitalocean-region", "mars1");
	CHECK(D->configure(&ctx) == 0);
	script(r, 1);
	CHECK(D->precreate_check(&ctx) == -EINVAL);
	CHECK_STR(ctx.err, "digitalocean requires a valid region: 'mars1' is not one");
	static const struct reply unauth[] = {
		{ 401, NULL, "{\"id\":\"unauthorized\",\"message\":\"Unable to authenticate you\"}", 0 },
	};
	script(unauth, 1);
	CHECK(D->precreate_check(&ctx) == -EACCES);
	CHECK_STR(ctx.err, "GET /v2/regions: http 401: Unable to authenticate you");
	option_set_put(&opts, "digitalocean-ssh-key-path", "/nonexistent/key");
	CHECK(D->configure(&ctx) == 0);
	CHECK(D->precreate_check(&ctx) == -EINVAL);
	CHECK(strstr(ctx.err, "ssh-key-fingerprint needs to be provided") != NULL);
}

static void test_create(void)
{
	static const struct reply r[] = {
		{ 201, NULL, "{\"ssh_key\":{\"id\":11,\"fingerprint\":\"aa\",\"name\":\"m1\"}}", 0 },
		{ 202, NULL, "{\"droplet\":{\"id\":22,\"status\":\"new\",\"networks\":{\"v4\":[],\"v6\":[]}},\"links\":{}}", 0 },
		{ 200, NULL, "{\"droplet\":{\"id\":22,\"status\":\"new\",\"networks\":{\"v4\":[],\"v6\":[]}}}", 0 },
		{ 200, NULL, "{\"droplet\":{\"id\":22,\"status\":\"active\",\"networks\":{\"v4\":["
			     "{\"ip_address\":\"10.1.2.3\",\"type\":\"private\"},"
			     "{\"ip_address\":\"203.0.113.7\",\"type\":\"public\"}],\"v6\":[]}}}", 0 },
	};
	fresh();
	option_set_put(&opts, "digitalocean-tags", " ci , ,runner");
	char ud[4200];
	snprintf(ud, sizeof(ud), "%s/user-data", test_tmpdir());
	FILE *f = fopen(ud, "w");
	fputs("#cloud-config\n", f);
	fclose(f);
	option_set_put(&opts, "digitalocean-userdata", ud);
	CHECK(D->configure(&ctx) == 0);
	script(r, 4);
	logbuf[0] = '\0';
	CHECK(D->create(&ctx) == 0);
	CHECK_STR(base.ip, "203.0.113.7");
	CHECK(srv.nreq == 4);
	CHECK_STR(srv.line[0], "POST /v2/account/keys");
	CHECK(strstr(srv.body[0], "\"name\":\"m1\",\"public_key\":\"ssh-ed25519 ") != NULL);
	CHECK_STR(srv.line[1], "POST /v2/droplets");
	CHECK_STR(srv.body[1], "{\"name\":\"m1\",\"region\":\"nyc3\",\"size\":\"s-1vcpu-1gb\","
			       "\"image\":\"ubuntu-24-04-x64\",\"ssh_keys\":[11],\"backups\":false,"
			       "\"ipv6\":false,\"private_networking\":false,\"monitoring\":false,"
			       "\"user_data\":\"#cloud-config\\n\",\"tags\":[\"ci\",\"runner\"]}");
	CHECK_STR(srv.line[2], "GET /v2/droplets/22");
	CHECK_STR(srv.line[3], "GET /v2/droplets/22");
	/* The key id saved before the droplet was asked for, the droplet id
	 * before its IP was waited for. */
	CHECK(ncp >= 2);
	CHECK(cp_key[0] == 11 && cp_drop[0] == 0);
	CHECK(cp_key[1] == 11 && cp_drop[1] == 22);
	CHECK(strstr(logbuf, TOKEN) == NULL);
	CHECK(strstr(logbuf, "http POST /v2/droplets 202 ") != NULL);

	/* No tags: null, as Go's nil slice. */
	static const struct reply fail422[] = {
		{ 201, NULL, "{\"ssh_key\":{\"id\":12}}", 0 },
		{ 422, NULL, "{\"id\":\"unprocessable_entity\",\"message\":\"You specified an invalid image for Droplet creation.\"}", 0 },
		{ 204, NULL, "", 0 },
	};
	fresh();
	option_set_put(&opts, "digitalocean-image", "ubuntu-16-04-x64");
	CHECK(D->configure(&ctx) == 0);
	script(fail422, 3);
	CHECK(D->create(&ctx) == -EINVAL);
	CHECK(strstr(srv.body[1], "\"tags\":null") != NULL);
	CHECK_STR(ctx.err, "POST /v2/droplets: http 422: You specified an invalid image for Droplet creation.");
	CHECK(srv.nreq == 3);
	CHECK_STR(srv.line[2], "DELETE /v2/account/keys/12");
	CHECK(cp_key[ncp - 1] == 0); /* gone, and saved as gone */
}

static void test_create_undo(void)
{
	/* The droplet errors before it has an IP: droplet, then key, deleted;
	 * the key's DELETE fails: named in the error, its id kept. */
	static const struct reply r[] = {
		{ 201, NULL, "{\"ssh_key\":{\"id\":31}}", 0 },
		{ 202, NULL, "{\"droplet\":{\"id\":32,\"status\":\"new\"}}", 0 },
		{ 200, NULL, "{\"droplet\":{\"id\":32,\"status\":\"errored\",\"networks\":{\"v4\":[]}}}", 0 },
		{ 204, NULL, "", 0 },
		{ 403, NULL, "{\"id\":\"forbidden\",\"message\":\"You do not have access for the attempted action.\"}", 0 },
	};
	fresh();
	CHECK(D->configure(&ctx) == 0);
	script(r, 5);
	CHECK(D->create(&ctx) == -EIO);
	CHECK(srv.nreq == 5);
	CHECK_STR(srv.line[3], "DELETE /v2/droplets/32");
	CHECK_STR(srv.line[4], "DELETE /v2/account/keys/31");
	CHECK_STR(ctx.err, "droplet 32 is 'errored' before it got an ip address; could not delete "
			   "SSH key 31 (DELETE /v2/account/keys/31: http 403: You do not have access for the attempted action.)");
	CHECK(cp_key[ncp - 1] == 31 && cp_drop[ncp - 1] == 0);
}

static void test_fingerprint(void)
{
	static const struct reply r[] = {
		{ 404, NULL, "{\"id\":\"not_found\",\"message\":\"The resource you were accessing could not be found.\"}", 0 },
	};
	fresh();
	option_set_put(&opts, "digitalocean-ssh-key-fingerprint", "aa:bb");
	CHECK(D->configure(&ctx) == 0);
	script(r, 1);
	CHECK(D->create(&ctx) == -ENOENT);
	CHECK_STR(ctx.err, "Digital Ocean SSH key with fingerprint aa:bb doesn't exist");
	CHECK(srv.nreq == 1);
	CHECK_STR(srv.line[0], "GET /v2/account/keys/aa:bb");

	/* A user's key is never deleted by remove. */
	static const struct reply del[] = { { 204, NULL, "", 0 } };
	script(del, 1);
	cJSON *o = cJSON_CreateObject();
	D->save(&ctx, o);
	json_put_int(o, "SSHKeyID", 77);
	json_put_int(o, "DropletID", 78);
	CHECK(D->load(&ctx, o) == 0);
	cJSON_Delete(o);
	CHECK(D->remove(&ctx) == 0);
	CHECK(srv.nreq == 1);
	CHECK_STR(srv.line[0], "DELETE /v2/droplets/78");
}

static void test_state_remove_actions(void)
{
	fresh();
	CHECK(D->configure(&ctx) == 0);
	cJSON *o = cJSON_CreateObject();
	D->save(&ctx, o);
	json_put_int(o, "SSHKeyID", 41);
	json_put_int(o, "DropletID", 42);
	CHECK(D->load(&ctx, o) == 0);
	cJSON_Delete(o);

	static const struct reply st[] = {
		{ 200, NULL, "{\"droplet\":{\"id\":42,\"status\":\"off\"}}", 0 },
		{ 200, NULL, "{\"droplet\":{\"id\":42,\"status\":\"new\"}}", 0 },
		{ 200, NULL, "{\"droplet\":{\"id\":42,\"status\":\"archive\"}}", 0 },
		{ 404, NULL, "{\"id\":\"not_found\",\"message\":\"The resource you were accessing could not be found.\"}", 0 },
	};
	script(st, 4);
	logbuf[0] = '\0';
	enum machine_state s;
	CHECK(D->state(&ctx, &s) == 0 && s == MS_STOPPED);
	CHECK(D->state(&ctx, &s) == 0 && s == MS_STARTING);
	CHECK(D->state(&ctx, &s) == 0 && s == MS_NONE);
	CHECK(D->state(&ctx, &s) == -ENOENT && s == MS_ERROR);
	CHECK_STR(ctx.err, "GET /v2/droplets/42: http 404: The resource you were accessing could not be found.");
	CHECK_STR(logbuf, ""); /* background polls stay out of the log */

	static const struct reply kill[] = {
		{ 201, NULL, "{\"action\":{\"id\":5,\"status\":\"in-progress\",\"type\":\"power_off\"}}", 0 },
		{ 200, NULL, "{\"action\":{\"id\":5,\"status\":\"in-progress\"}}", 0 },
		{ 200, NULL, "{\"action\":{\"id\":5,\"status\":\"completed\"}}", 0 },
		{ 200, NULL, "{\"droplet\":{\"id\":42,\"status\":\"off\"}}", 0 },
	};
	script(kill, 4);
	CHECK(D->kill(&ctx) == 0);
	CHECK(srv.nreq == 4);
	CHECK_STR(srv.line[0], "POST /v2/droplets/42/actions");
	CHECK_STR(srv.body[0], "{\"type\":\"power_off\"}");
	CHECK_STR(srv.line[1], "GET /v2/actions/5");
	CHECK_STR(srv.line[3], "GET /v2/droplets/42");
	static const struct reply errored[] = {
		{ 201, NULL, "{\"action\":{\"id\":6,\"status\":\"in-progress\"}}", 0 },
		{ 200, NULL, "{\"action\":{\"id\":6,\"status\":\"errored\"}}", 0 },
	};
	script(errored, 2);
	CHECK(D->restart(&ctx) == -EIO);
	CHECK_STR(srv.body[0], "{\"type\":\"reboot\"}");
	CHECK_STR(ctx.err, "action 'reboot' of droplet 42 errored");

	/* Remove: key then droplet, as Docker Machine; 404s are success. */
	static const struct reply rm[] = {
		{ 404, NULL, "{\"id\":\"not_found\",\"message\":\"The resource you were accessing could not be found.\"}", 0 },
		{ 204, NULL, "", 0 },
	};
	script(rm, 2);
	CHECK(D->remove(&ctx) == 0);
	CHECK_STR(srv.line[0], "DELETE /v2/account/keys/41");
	CHECK_STR(srv.line[1], "DELETE /v2/droplets/42");
	static const struct reply rmfail[] = {
		{ 401, NULL, "{\"id\":\"unauthorized\",\"message\":\"Unable to authenticate you\"}", 0 },
	};
	o = cJSON_CreateObject();
	D->save(&ctx, o);
	json_put_int(o, "SSHKeyID", 41);
	D->load(&ctx, o);
	cJSON_Delete(o);
	script(rmfail, 1);
	CHECK(D->remove(&ctx) == -EACCES);
	char url[64];
	CHECK(D->url(&ctx, url, sizeof(url)) == -ENOENT);
	snprintf(base.ip, sizeof(base.ip), "203.0.113.9");
	CHECK(D->url(&ctx, url, sizeof(url)) == 0);
	CHECK_STR(url, "tcp://203.0.113.9:2376");
}

int main(void)
{
	unsetenv("DIGITALOCEAN_ACCESS_TOKEN");
	unsetenv("DIGITALOCEAN_API_URL");
	start_server();
	test_configure();
	test_precreate();
	test_create();
	test_create_undo();
	test_fingerprint();
	test_state_remove_actions();
	free(priv);
	option_set_clear(&opts);
	return test_report();
}
