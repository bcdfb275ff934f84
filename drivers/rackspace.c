/* The "rackspace" driver: Docker Machine 0.16's drivers/rackspace, the
 * openstack driver (drivers/openstack.c) with Rackspace Identity v2.0
 * API-key authentication (POST v2.0/tokens {"auth":{"RAX-KSKEY:
 * apiKeyCredentials":{"username","apiKey"}}}), the server's accessIPv4 as
 * its address, and no start or stop ("Rackspace does not currently support
 * the start operation"; Kill is Stop there too). New: rackspace-auth-url
 * (env RACKSPACE_AUTH_URL), Rackspace's identity endpoint by default. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/driver.h"
#include "drivers/openstack.h"
#include "lib/json.h"

#define RAX_AUTH_URL "https://identity.api.rackspacecloud.com/v2.0/"
#define RAX_IMAGE "821ba5f4-712d-4ec8-9c65-a3fa4bc500f9"

static const struct driver_option rax_options[] = {
	{ "rackspace-username", OPT_STRING, NULL, "OS_USERNAME", "Rackspace account username", 0, NULL },
	{ "rackspace-api-key", OPT_STRING, NULL, "OS_API_KEY", "Rackspace API key", OPT_SECRET, "APIKey" },
	{ "rackspace-region", OPT_STRING, "IAD", "OS_REGION_NAME", "Rackspace region name", 0, NULL },
	{ "rackspace-endpoint-type", OPT_STRING, "publicURL", "OS_ENDPOINT_TYPE", "Rackspace endpoint type (adminURL, internalURL or the default publicURL)", 0, NULL },
	{ "rackspace-image-id", OPT_STRING, NULL, "OS_IMAGE_ID", "Rackspace image ID. Default: Ubuntu 16.04 LTS (Xenial Xerus) (PVHVM)", 0, NULL },
	{ "rackspace-flavor-id", OPT_STRING, "general1-1", "OS_FLAVOR_ID", "Rackspace flavor ID. Default: General Purpose 1GB", 0, NULL },
	{ "rackspace-ssh-user", OPT_STRING, "root", "OS_SSH_USER", "SSH user for the newly booted machine. Set to root by default", 0, NULL },
	{ "rackspace-ssh-port", OPT_INT, "22", "OS_SSH_PORT", "SSH port for the newly booted machine. Set to 22 by default", 0, NULL },
	{ "rackspace-docker-install", OPT_STRING, "true", NULL, "Set if docker have to be installed on the machine", 0, NULL },
	{ "rackspace-active-timeout", OPT_INT, "300", "OS_ACTIVE_TIMEOUT", "Rackspace active timeout", 0, NULL },
	{ "rackspace-auth-url", OPT_STRING, RAX_AUTH_URL, "RACKSPACE_AUTH_URL", "Rackspace Identity endpoint (machinefs; an http:// URL only on loopback)", 0, NULL },
	{ NULL },
};

#define MISSING "%s must be specified either using the environment variable %s or the CLI option %s"

static int rax_configure(struct driver_ctx *ctx)
{
	const struct machine_driver *d = &rackspace_driver;
	struct os_priv *p = ctx->priv;
	int rc;
	memset(p, 0, sizeof(*p));
	p->rax = true;
	p->ip_version = 4;
	if ((rc = driver_opt_copy(ctx, d, "rackspace-username", p->username, sizeof(p->username))) ||
	    (rc = driver_opt_copy(ctx, d, "rackspace-api-key", p->api_key, sizeof(p->api_key))) ||
	    (rc = driver_opt_copy(ctx, d, "rackspace-region", p->region, sizeof(p->region))) ||
	    (rc = driver_opt_copy(ctx, d, "rackspace-endpoint-type", p->endpoint_type, sizeof(p->endpoint_type))) ||
	    (rc = driver_opt_copy(ctx, d, "rackspace-image-id", p->image_id, sizeof(p->image_id))) ||
	    (rc = driver_opt_copy(ctx, d, "rackspace-flavor-id", p->flavor_id, sizeof(p->flavor_id))) ||
	    (rc = driver_opt_copy(ctx, d, "rackspace-auth-url", p->auth_url, sizeof(p->auth_url))) ||
	    (rc = driver_opt_copy(ctx, d, "rackspace-ssh-user", ctx->base->ssh_user, sizeof(ctx->base->ssh_user))))
		return rc;
	struct { const char *name; int lo, hi; int *out; } ints[] = {
		{ "rackspace-active-timeout", 1, 86400, &p->active_timeout },
		{ "rackspace-ssh-port", 1, 65535, &ctx->base->ssh_port },
	};
	for (size_t i = 0; i < 2; i++)
		if ((rc = driver_opt_range(ctx, d, ints[i].name, ints[i].lo, ints[i].hi, ints[i].out)))
			return rc;
	if (!*p->region)
		return error_set(ctx->err, EINVAL, MISSING, "Region", "OS_REGION_NAME", "--rackspace-region");
	if (!*p->username)
		return error_set(ctx->err, EINVAL, MISSING, "Username", "OS_USERNAME", "--rackspace-username");
	if (!*p->api_key)
		return error_set(ctx->err, EINVAL, MISSING, "API key", "OS_API_KEY", "--rackspace-api-key");
	if (!*p->image_id)
		snprintf(p->image_id, sizeof(p->image_id), "%s", RAX_IMAGE);
	if (strcmp(p->endpoint_type, "publicURL") && strcmp(p->endpoint_type, "adminURL") &&
	    strcmp(p->endpoint_type, "internalURL"))
		return error_set(ctx->err, EINVAL, "invalid endpoint type \"%.40s\" (must be publicURL, adminURL or internalURL)",
				 p->endpoint_type);
	if (!os_only(p->auth_url, NULL) || strncmp(p->auth_url, "http", 4))
		return error_set(ctx->err, EINVAL, "invalid value for option 'rackspace-auth-url': want an http(s) URL");
	if (!os_only(p->username, " ") || !os_only(p->api_key, NULL))
		return error_set(ctx->err, EINVAL, "invalid username or API key: control characters");
	const char *ids[] = { p->image_id, p->flavor_id, p->region };
	for (size_t i = 0; i < 3; i++)
		if (!os_only(ids[i], NULL) || strpbrk(ids[i], "/?#%&"))
			return error_set(ctx->err, EINVAL, "invalid id '%.60s': spaces, '/', '?', '#', '%%' or '&'", ids[i]);
	snprintf(ctx->base->ssh_key_path, sizeof(ctx->base->ssh_key_path), "%s/id_ed25519", ctx->dir);
	ctx->base->ip[0] = '\0';
	return 0;
}

static const char *rax_unsupported(const char *cmd)
{
	if (!strcmp(cmd, "start"))
		return "Rackspace does not currently support the start operation";
	if (!strcmp(cmd, "stop") || !strcmp(cmd, "kill"))
		return "Rackspace does not currently support the stop operation";
	return NULL;
}

static int rax_load(struct driver_ctx *ctx, const cJSON *o)
{
	struct os_priv *p = ctx->priv;
	int rc = os_load(ctx, o);
	p->rax = true;
	/* A Docker Machine store has no AuthUrl for Rackspace (its own
	 * constant): the environment's, else Rackspace's. */
	if (!*json_str(o, "AuthUrl", "")) {
		const char *e = getenv("RACKSPACE_AUTH_URL");
		snprintf(p->auth_url, sizeof(p->auth_url), "%s", e && *e ? e : RAX_AUTH_URL);
	}
	if (!cJSON_GetObjectItemCaseSensitive(o, "ActiveTimeout"))
		p->active_timeout = 300;
	return rc;
}

const struct machine_driver rackspace_driver = {
	.name = "rackspace",
	.supports = DRV_RESTART | DRV_SSH | DRV_REMOVE,
	.options = rax_options,
	.priv_size = sizeof(struct os_priv),
	.configure = rax_configure,
	.create = os_create,
	.remove = os_remove,
	.restart = os_restart,
	.state = os_state,
	.url = os_url,
	.unsupported = rax_unsupported,
	.load = rax_load,
	.save = os_save,
};
