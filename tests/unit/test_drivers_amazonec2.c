/* amazonec2 without a network: the options table against Docker Machine
 * 0.16's flags, configure's refusals before any API call, and config.json
 * (a Docker Machine store's Driver object loaded and saved again keeps
 * its keys, in its order, and its values). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/driver.h"
#include "lib/fileutil.h"
#include "lib/json.h"
#include "tests/unit/harness.h"

extern const struct machine_driver amazonec2_driver;
static const struct machine_driver *D = &amazonec2_driver;

static int configure_with(const char *const *kv, char *err)
{
	struct option_set os = { STRLIST_INIT, STRLIST_INIT };
	for (; kv && *kv; kv += 2)
		option_set_put(&os, kv[0], kv[1]);
	struct base_driver base = { 0 };
	void *priv = calloc(1, D->priv_size);
	struct driver_ctx ctx = { .machine = "m", .dir = test_tmpdir(), .base = &base,
				  .priv = priv, .opts = &os };
	int rc = D->configure(&ctx);
	snprintf(err, ERR_MAX, "%s", ctx.err);
	free(priv);
	option_set_clear(&os);
	return rc;
}

int main(void)
{
	/* Docker Machine 0.16's amazonec2 flags: names, defaults, env vars. */
	static const char *const flags[][3] = {
		{ "amazonec2-access-key", NULL, "AWS_ACCESS_KEY_ID" },
		{ "amazonec2-secret-key", NULL, "AWS_SECRET_ACCESS_KEY" },
		{ "amazonec2-session-token", NULL, "AWS_SESSION_TOKEN" },
		{ "amazonec2-ami", NULL, "AWS_AMI" },
		{ "amazonec2-region", "us-east-1", "AWS_DEFAULT_REGION" },
		{ "amazonec2-vpc-id", NULL, "AWS_VPC_ID" },
		{ "amazonec2-zone", "a", "AWS_ZONE" },
		{ "amazonec2-subnet-id", NULL, "AWS_SUBNET_ID" },
		{ "amazonec2-security-group-readonly", NULL, "AWS_SECURITY_GROUP_READONLY" },
		{ "amazonec2-security-group", "docker-machine", "AWS_SECURITY_GROUP" },
		{ "amazonec2-open-port", NULL, NULL },
		{ "amazonec2-tags", NULL, "AWS_TAGS" },
		{ "amazonec2-instance-type", "t2.micro", "AWS_INSTANCE_TYPE" },
		{ "amazonec2-device-name", "/dev/sda1", "AWS_DEVICE_NAME" },
		{ "amazonec2-root-size", "16", "AWS_ROOT_SIZE" },
		{ "amazonec2-volume-type", "gp2", "AWS_VOLUME_TYPE" },
		{ "amazonec2-iam-instance-profile", NULL, "AWS_INSTANCE_PROFILE" },
		{ "amazonec2-ssh-port", "22", "AWS_SSH_PORT" },
		{ "amazonec2-ssh-user", "ubuntu", "AWS_SSH_USER" },
		{ "amazonec2-request-spot-instance", NULL, NULL },
		{ "amazonec2-spot-price", "0.50", NULL },
		{ "amazonec2-block-duration-minutes", "0", NULL },
		{ "amazonec2-private-address-only", NULL, NULL },
		{ "amazonec2-use-private-address", NULL, NULL },
		{ "amazonec2-monitoring", NULL, NULL },
		{ "amazonec2-use-ebs-optimized-instance", NULL, NULL },
		{ "amazonec2-ssh-keypath", NULL, "AWS_SSH_KEYPATH" },
		{ "amazonec2-keypair-name", NULL, "AWS_KEYPAIR_NAME" },
		{ "amazonec2-retries", "5", NULL },
		{ "amazonec2-endpoint", NULL, "AWS_ENDPOINT" },
		{ "amazonec2-insecure-transport", NULL, "AWS_INSECURE_TRANSPORT" },
		{ "amazonec2-userdata", NULL, "AWS_USERDATA" },
	};
	size_t n = 0;
	for (const struct driver_option *o = D->options; o->name; o++)
		n++;
	CHECK(n == sizeof(flags) / sizeof(flags[0]));
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		const struct driver_option *o = driver_option_find(D, flags[i][0]);
		CHECK(o != NULL);
		if (!o)
			continue;
		CHECK_STR(o->def ? o->def : "(none)", flags[i][1] ? flags[i][1] : "(none)");
		CHECK_STR(o->env ? o->env : "(none)", flags[i][2] ? flags[i][2] : "(none)");
	}
	CHECK(driver_option_find(D, "amazonec2-secret-key")->flags & OPT_SECRET);
	CHECK(driver_option_find(D, "amazonec2-session-token")->flags & OPT_SECRET);
	CHECK(driver_option_find(D, "amazonec2-security-group")->type == OPT_LIST);
	CHECK(driver_option_find(D, "amazonec2-open-port")->type == OPT_LIST);

	/* Refused before any API call, in Docker Machine's words. */
	char err[ERR_MAX];
	const char *insecure[] = { "amazonec2-insecure-transport", "true", NULL };
	CHECK(configure_with(insecure, err) == -EINVAL);
	CHECK_STR(err, "using --amazonec2-insecure-transport also requires --amazonec2-endpoint");
	const char *kp[] = { "amazonec2-keypair-name", "k", NULL };
	CHECK(configure_with(kp, err) == -EINVAL);
	CHECK_STR(err, "using --amazonec2-keypair-name also requires --amazonec2-ssh-keypath");
	const char *spot[] = { "amazonec2-request-spot-instance", "true", NULL };
	CHECK(configure_with(spot, err) == -ENOTSUP);
	const char *region[] = { "amazonec2-region", "Mars", NULL };
	CHECK(configure_with(region, err) == -EINVAL);
	CHECK(strstr(err, "invalid region") != NULL);
	const char *retries[] = { "amazonec2-retries", "-2", NULL };
	CHECK(configure_with(retries, err) == -EINVAL);
	const char *sgs[] = { "amazonec2-security-group", "a\nb\nc\nd\ne\nf\ng\nh\ni", NULL };
	CHECK(configure_with(sgs, err) == -EINVAL);
	CHECK(strstr(err, "too many") != NULL);
	/* No credentials anywhere: Docker Machine's message. */
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_ACCESS_KEY");
	unsetenv("AWS_SECRET_KEY");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	setenv("HOME", test_tmpdir(), 1);
	CHECK(configure_with(NULL, err) == -ENOKEY);
	CHECK(!strncmp(err, "amazonec2 driver requires AWS credentials", 41));

	/* A Docker Machine store's Driver object: loaded and saved, the same
	 * keys in the same order, the same values; machinefs's own three
	 * come last. */
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/fixtures/dm-store-ec2/machines/ec2box/config.json",
		 getenv("SRCDIR") ? getenv("SRCDIR") : ".");
	struct strbuf sb = STRBUF_INIT;
	CHECK(read_file(path, &sb, err) == 0);
	cJSON *cfg = cJSON_Parse(strbuf_str(&sb));
	cJSON *drv = json_obj(cfg, "Driver");
	CHECK(drv != NULL);
	struct base_driver base = { 0 };
	void *priv = calloc(1, D->priv_size);
	struct driver_ctx ctx = { .machine = "ec2box", .base = &base, .priv = priv };
	CHECK(D->load(&ctx, drv) == 0);
	cJSON *out = cJSON_CreateObject();
	CHECK(D->save(&ctx, out) == 0);
	const cJSON *a = drv->child, *b = out->child;
	while (a && strcmp(a->string, "Id"))
		a = a->next; /* BaseDriver's keys are the core's */
	for (; a && b; a = a->next, b = b->next) {
		CHECK_STR(b->string, a->string);
		char *x = cJSON_PrintUnformatted(a), *y = cJSON_PrintUnformatted(b);
		if (strcmp(a->string, "SecretKey") && strcmp(a->string, "AccessKey") &&
		    strcmp(a->string, "Endpoint"))
			CHECK_STR(y, x);
		free(x);
		free(y);
	}
	CHECK(a == NULL);
	CHECK_STR(b ? b->string : "", "SecurityGroupsCreated");
	CHECK(b && b->next && !strcmp(b->next->string, "KeyPairPending"));
	CHECK(b && b->next && b->next->next && !strcmp(b->next->next->string, "LaunchPending"));
	cJSON_Delete(out);
	cJSON_Delete(cfg);
	strbuf_release(&sb);
	free(priv);
	return test_report();
}
