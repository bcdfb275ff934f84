/* The openstack and rackspace drivers without a network: Docker Machine
 * 0.16's flags (names, env vars, defaults), configure's refusals in Docker
 * Machine's words, rackspace's defaults and unsupported commands, and a
 * Docker Machine config.json (tests/fixtures/dm-store-os) that loads and
 * saves back with its keys, the password masked nowhere but kept. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/driver.h"
#include "drivers/openstack.h"
#include "lib/fileutil.h"
#include "lib/json.h"
#include "tests/unit/harness.h"

static struct base_driver base;
static struct option_set opts;
static struct os_priv priv;
static struct driver_ctx ctx;

static void fresh(void)
{
	memset(&base, 0, sizeof(base));
	memset(&priv, 0, sizeof(priv));
	option_set_clear(&opts);
	ctx = (struct driver_ctx){ .machine = "m1", .store = test_tmpdir(), .dir = test_tmpdir(),
				   .base = &base, .priv = &priv, .opts = &opts };
}

static void flag(const struct machine_driver *d, const char *name, const char *env, const char *def)
{
	const struct driver_option *o = driver_option_find(d, name);
	CHECK(o != NULL);
	if (!o)
		return;
	CHECK_STR(o->env ? o->env : "", env ? env : "");
	CHECK_STR(o->def ? o->def : "", def ? def : "");
}

int main(void)
{
	const struct machine_driver *O = &openstack_driver, *R = &rackspace_driver;
	flag(O, "openstack-auth-url", "OS_AUTH_URL", NULL);
	flag(O, "openstack-password", "OS_PASSWORD", NULL);
	CHECK(driver_option_find(O, "openstack-password")->flags & OPT_SECRET);
	flag(O, "openstack-ip-version", "OS_IP_VERSION", "4");
	flag(O, "openstack-active-timeout", "OS_ACTIVE_TIMEOUT", "200");
	flag(O, "openstack-ssh-user", "OS_SSH_USER", "root");
	flag(O, "openstack-floatingip-pool", "OS_FLOATINGIP_POOL", NULL);
	flag(O, "openstack-nova-network", "OS_NOVA_NETWORK", NULL);
	int n = 0;
	for (const struct driver_option *o = O->options; o->name; o++)
		n++;
	CHECK(n == 30);
	flag(R, "rackspace-api-key", "OS_API_KEY", NULL);
	CHECK(driver_option_find(R, "rackspace-api-key")->flags & OPT_SECRET);
	flag(R, "rackspace-region", "OS_REGION_NAME", "IAD");
	flag(R, "rackspace-flavor-id", "OS_FLAVOR_ID", "general1-1");
	flag(R, "rackspace-active-timeout", "OS_ACTIVE_TIMEOUT", "300");
	flag(R, "rackspace-docker-install", NULL, "true");
	flag(R, "rackspace-auth-url", "RACKSPACE_AUTH_URL", "https://identity.api.rackspacecloud.com/v2.0/");

	/* configure: Docker Machine's checks and words. */
	fresh();
	CHECK(O->configure(&ctx) == -EINVAL);
	CHECK_STR(ctx.err, "Authentication URL must be specified either using the environment variable OS_AUTH_URL or the CLI option --openstack-auth-url");
	option_set_put(&opts, "openstack-auth-url", "http://127.0.0.1:5000/v3");
	option_set_put(&opts, "openstack-username", "u");
	option_set_put(&opts, "openstack-password", "p w");
	CHECK(O->configure(&ctx) == -EINVAL);
	CHECK(strstr(ctx.err, "Tenant id or name must be provided") == ctx.err);
	option_set_put(&opts, "openstack-tenant-name", "demo");
	option_set_put(&opts, "openstack-flavor-name", "m1.small");
	option_set_put(&opts, "openstack-flavor-id", "2");
	CHECK(O->configure(&ctx) == -EINVAL);
	CHECK_STR(ctx.err, "Either Flavor name or Flavor id must be specified, not both");
	option_set_del(&opts, "openstack-flavor-id");
	option_set_put(&opts, "openstack-image-id", "img");
	option_set_put(&opts, "openstack-endpoint-type", "public");
	CHECK(O->configure(&ctx) == -EINVAL);
	CHECK_STR(ctx.err, "Endpoint type must be 'publicURL', 'adminURL' or 'internalURL'");
	option_set_put(&opts, "openstack-endpoint-type", "internalURL");
	option_set_put(&opts, "openstack-keypair-name", "k");
	CHECK(O->configure(&ctx) == -EINVAL);
	CHECK_STR(ctx.err, "Both KeyPairName and PrivateKeyFile must be specified");
	option_set_del(&opts, "openstack-keypair-name");
	option_set_put(&opts, "openstack-image-id", "../servers?x");
	CHECK(O->configure(&ctx) == -EINVAL);
	option_set_put(&opts, "openstack-image-id", "img");
	CHECK(O->configure(&ctx) == 0);
	CHECK(priv.active_timeout == 200 && priv.ip_version == 4 && base.ssh_port == 22);
	CHECK_STR(base.ssh_user, "root");
	CHECK(strstr(base.ssh_key_path, "/id_ed25519") != NULL);

	/* rackspace: defaults, checks, unsupported commands. */
	fresh();
	option_set_put(&opts, "rackspace-username", "u");
	CHECK(R->configure(&ctx) == -EINVAL);
	CHECK_STR(ctx.err, "API key must be specified either using the environment variable OS_API_KEY or the CLI option --rackspace-api-key");
	option_set_put(&opts, "rackspace-api-key", "k");
	CHECK(R->configure(&ctx) == 0);
	CHECK(priv.rax && priv.active_timeout == 300);
	CHECK_STR(priv.region, "IAD");
	CHECK_STR(priv.image_id, "821ba5f4-712d-4ec8-9c65-a3fa4bc500f9");
	CHECK_STR(priv.auth_url, "https://identity.api.rackspacecloud.com/v2.0/");
	CHECK(!(R->supports & (DRV_START | DRV_STOP | DRV_KILL)) && (R->supports & DRV_RESTART));
	CHECK_STR(R->unsupported("start"), "Rackspace does not currently support the start operation");
	CHECK_STR(R->unsupported("stop"), "Rackspace does not currently support the stop operation");
	cJSON *o = cJSON_CreateObject();
	R->save(&ctx, o);
	CHECK_STR(json_str(o, "APIKey", ""), "k");
	fresh();
	R->load(&ctx, o);
	CHECK(priv.rax);
	CHECK_STR(priv.api_key, "k");
	cJSON_Delete(o);

	/* A Docker Machine store's Driver object round-trips its keys. */
	char path[4096], err[ERR_MAX];
	snprintf(path, sizeof(path), "%s/tests/fixtures/dm-store-os/machines/os1/config.json",
		 getenv("SRCDIR") ? getenv("SRCDIR") : ".");
	struct strbuf sb = STRBUF_INIT;
	CHECK(read_file(path, &sb, err) == 0);
	cJSON *root = cJSON_Parse(strbuf_str(&sb)), *drv = json_obj(root, "Driver");
	fresh();
	CHECK(O->load(&ctx, drv) == 0);
	CHECK_STR(priv.machine_id, "9f1c2b3a-0000-4000-8000-00000000abcd");
	CHECK_STR(priv.keypair_name, "os1-3f9a1c2b7d");
	CHECK_STR(priv.sec_groups, "default");
	CHECK(!priv.rax && !priv.existing_key);
	o = cJSON_CreateObject();
	O->save(&ctx, o);
	const cJSON *k;
	cJSON_ArrayForEach(k, drv) {
		if (strstr("IPAddress MachineName SSHUser SSHPort SSHKeyPath StorePath SwarmMaster SwarmHost SwarmDiscovery", k->string))
			continue;
		const cJSON *got = cJSON_GetObjectItemCaseSensitive(o, k->string);
		CHECK(got != NULL);
		if (got && !cJSON_Compare(got, k, true))
			fprintf(stderr, "key %s differs\n", k->string);
		CHECK(!got || cJSON_Compare(got, k, true));
	}
	cJSON_Delete(o);
	cJSON_Delete(root);
	strbuf_release(&sb);
	option_set_clear(&opts);
	return test_report();
}
