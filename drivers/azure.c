/* The "azure" driver: Docker Machine 0.16's drivers/azure over Azure
 * Resource Manager REST (drivers/http.c), current api-versions.
 *
 * Auth (drivers/azure_auth.c): tenant from the 401 WWW-Authenticate of an
 * unauthenticated GET /subscriptions/SUB; then client credentials
 * (azure-client-id/-secret) or Docker Machine's device-code flow, its
 * token cached in STORE/credentials/azure/TENANT.json (0600) as Docker
 * Machine caches it.
 *
 *   precreate  POST providers/Microsoft.{Compute,Network}/register;
 *              GET the VM (must be 404)
 *   create     resource group (GET, PUT when missing), availability set
 *              (GET, PUT when missing), NSG NAME-firewall (PUT: SSH 22,
 *              the engine port, azure-open-port), VNet and subnet (GET,
 *              PUT when missing), public IP NAME-ip (unless
 *              azure-no-public-ip), NIC NAME-nic, VM on a managed OS disk
 *              NAME-os-disk (PUT). Every PUT/DELETE answered 201/202 is
 *              polled through Azure-AsyncOperation (else Location) until it
 *              ends, bounded and cancellable.
 *   state      GET VM ?$expand=instanceView: PowerState/running Running,
 *              starting Starting, stopping/deallocating Stopping,
 *              stopped/deallocated Stopped (Docker Machine's map)
 *   start/stop/restart/kill  POST start / powerOff / restart /
 *              powerOff?skipShutdown=true (as Docker Machine, stop powers
 *              off without deallocating: the VM is still billed)
 *   remove     Docker Machine's order: VM, (OS disk), NIC, public IP, NSG,
 *              then availability set, subnet and VNet when nothing uses
 *              them, then the resource group when machinefs made it and it
 *              is empty; a 404 is "already gone".
 * No orphans: the record is saved (driver_checkpoint) before the first
 * call and after each resource; resources are found by their names. A
 * failed create deletes what it made, in reverse, and names what is left.
 * Docker Machine's unmanaged disks (storage account VHDs) are retired by
 * Azure: VMs get managed disks; azure-storage-type is their SKU. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "drivers/azure.h"
#include "drivers/sshkey.h"
#include "drivers/wait.h"
#include "lib/fileutil.h"
#include "lib/json.h"

#define LRO_WAIT_S 1200
#define POWER_WAIT_S 300

#define API_RES "2021-04-01"
#define API_COMPUTE "2024-07-01"
#define API_DISK "2024-03-02"
#define API_NET "2024-05-01"

#define MADE_RG     0x01u
#define MADE_AVSET  0x02u
#define MADE_NSG    0x04u
#define MADE_VNET   0x08u
#define MADE_SUBNET 0x10u
#define MADE_IP     0x20u
#define MADE_NIC    0x40u
#define MADE_VM     0x80u

static const struct driver_option az_options[] = {
	{ "azure-environment", OPT_STRING, "AzurePublicCloud", "AZURE_ENVIRONMENT", "Azure environment (AzurePublicCloud, AzureChinaCloud, AzureUSGovernmentCloud; AzureGermanCloud is closed)", 0, NULL },
	{ "azure-subscription-id", OPT_STRING, NULL, "AZURE_SUBSCRIPTION_ID", "Azure Subscription ID", OPT_REQUIRED, NULL },
	{ "azure-resource-group", OPT_STRING, "docker-machine", "AZURE_RESOURCE_GROUP", "Azure Resource Group name (will be created if missing)", 0, NULL },
	{ "azure-ssh-user", OPT_STRING, "docker-user", "AZURE_SSH_USER", "Username for SSH login", 0, NULL },
	{ "azure-docker-port", OPT_INT, "2376", "AZURE_DOCKER_PORT", "Port number for Docker engine", 0, NULL },
	{ "azure-location", OPT_STRING, "westus", "AZURE_LOCATION", "Azure region to create the virtual machine", 0, NULL },
	{ "azure-size", OPT_STRING, "Standard_D2s_v3", "AZURE_SIZE", "Size for Azure Virtual Machine (Docker Machine's Standard_A2 is retired)", 0, NULL },
	{ "azure-image", OPT_STRING, "canonical:ubuntu-24_04-lts:server:latest", "AZURE_IMAGE", "Azure virtual machine OS image (publisher:offer:sku:version)", 0, NULL },
	{ "azure-vnet", OPT_STRING, "docker-machine-vnet", "AZURE_VNET", "Azure Virtual Network name to connect the virtual machine (in [resourcegroup:]name format)", 0, NULL },
	{ "azure-subnet", OPT_STRING, "docker-machine", "AZURE_SUBNET", "Azure Subnet Name to be used within the Virtual Network", 0, NULL },
	{ "azure-subnet-prefix", OPT_STRING, "192.168.0.0/16", "AZURE_SUBNET_PREFIX", "Private CIDR block to be used for the new subnet, should comply RFC 1918", 0, NULL },
	{ "azure-availability-set", OPT_STRING, "docker-machine", "AZURE_AVAILABILITY_SET", "Azure Availability Set to place the virtual machine into", 0, NULL },
	{ "azure-open-port", OPT_LIST, NULL, NULL, "Make the specified port number accessible from the Internet", 0, NULL },
	{ "azure-private-ip-address", OPT_STRING, NULL, NULL, "Specify a static private IP address for the machine", 0, NULL },
	{ "azure-use-private-ip", OPT_BOOL, NULL, NULL, "Use private IP address of the machine to connect", 0, NULL },
	{ "azure-no-public-ip", OPT_BOOL, NULL, NULL, "Do not create a public IP address for the machine", 0, NULL },
	{ "azure-static-public-ip", OPT_BOOL, NULL, NULL, "Assign a static public IP address to the machine (accepted; Standard SKU public IPs, the only ones left, are always static)", 0, NULL },
	{ "azure-dns", OPT_STRING, NULL, "AZURE_DNS_LABEL", "A unique DNS label for the public IP adddress", 0, NULL },
	{ "azure-storage-type", OPT_STRING, "Standard_LRS", "AZURE_STORAGE_TYPE", "Type of the managed OS disk (Docker Machine's storage-account VHDs, unmanaged disks, are retired by Azure)", 0, NULL },
	{ "azure-custom-data", OPT_STRING, NULL, "AZURE_CUSTOM_DATA_FILE", "Path to file with custom-data", 0, NULL },
	{ "azure-client-id", OPT_STRING, NULL, "AZURE_CLIENT_ID", "Azure Service Principal Account ID (optional, browser auth is used if not specified)", 0, NULL },
	{ "azure-client-secret", OPT_STRING, NULL, "AZURE_CLIENT_SECRET", "Azure Service Principal Account password (optional, browser auth is used if not specified)", OPT_SECRET, "ClientSecret" },
	{ "azure-api-url", OPT_STRING, NULL, "AZURE_API_URL", "Azure Resource Manager endpoint (machinefs; default: the environment's; an http:// URL only on loopback)", 0, NULL },
	{ "azure-auth-url", OPT_STRING, NULL, "AZURE_AUTH_URL", "Azure AD (Entra ID) endpoint (machinefs; default: the environment's; an http:// URL only on loopback)", 0, NULL },
	{ NULL },
};

/* ---- options ---- */

static const char *opt(const struct driver_ctx *ctx, const char *name)
{
	return driver_opt_env(ctx, &azure_driver, name);
}

static int put(struct driver_ctx *ctx, char *dst, size_t len, const char *name)
{
	return driver_opt_copy(ctx, &azure_driver, name, dst, len);
}

/* A name that goes into an ARM path: letters, digits, . _ - ( ). */
static bool arm_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-()", *s))
			return false;
	return true;
}

int az_port_ok(const char *s)
{
	/* "N" or "N/tcp" or "N/udp" */
	char *end;
	long n = strtol(s, &end, 10);
	if (end == s || n < 1 || n > 65535)
		return 0;
	return !*end || !strcmp(end, "/tcp") || !strcmp(end, "/udp");
}

static int az_configure(struct driver_ctx *ctx)
{
	struct az_priv *p = ctx->priv;
	int rc;
	if ((rc = put(ctx, p->environment, sizeof(p->environment), "azure-environment")) ||
	    (rc = put(ctx, p->subscription_id, sizeof(p->subscription_id), "azure-subscription-id")) ||
	    (rc = put(ctx, p->resource_group, sizeof(p->resource_group), "azure-resource-group")) ||
	    (rc = put(ctx, ctx->base->ssh_user, sizeof(ctx->base->ssh_user), "azure-ssh-user")) ||
	    (rc = put(ctx, p->location, sizeof(p->location), "azure-location")) ||
	    (rc = put(ctx, p->size, sizeof(p->size), "azure-size")) ||
	    (rc = put(ctx, p->image, sizeof(p->image), "azure-image")) ||
	    (rc = put(ctx, p->vnet, sizeof(p->vnet), "azure-vnet")) ||
	    (rc = put(ctx, p->subnet, sizeof(p->subnet), "azure-subnet")) ||
	    (rc = put(ctx, p->subnet_prefix, sizeof(p->subnet_prefix), "azure-subnet-prefix")) ||
	    (rc = put(ctx, p->avset, sizeof(p->avset), "azure-availability-set")) ||
	    (rc = put(ctx, p->open_ports, sizeof(p->open_ports), "azure-open-port")) ||
	    (rc = put(ctx, p->private_ip, sizeof(p->private_ip), "azure-private-ip-address")) ||
	    (rc = put(ctx, p->dns_label, sizeof(p->dns_label), "azure-dns")) ||
	    (rc = put(ctx, p->storage_type, sizeof(p->storage_type), "azure-storage-type")) ||
	    (rc = put(ctx, p->custom_data, sizeof(p->custom_data), "azure-custom-data")) ||
	    (rc = put(ctx, p->client_id, sizeof(p->client_id), "azure-client-id")) ||
	    (rc = put(ctx, p->client_secret, sizeof(p->client_secret), "azure-client-secret")) ||
	    (rc = put(ctx, p->api_url, sizeof(p->api_url), "azure-api-url")) ||
	    (rc = put(ctx, p->auth_url, sizeof(p->auth_url), "azure-auth-url")))
		return rc;
	/* Docker Machine: each of these is required (its requiredOptionError). */
	static const char *const required[] = { "azure-subscription-id", "azure-ssh-user",
		"azure-resource-group", "azure-location", "azure-size", "azure-image",
		"azure-vnet", "azure-subnet", "azure-subnet-prefix", "azure-availability-set",
		"azure-storage-type", NULL };
	for (int i = 0; required[i]; i++) {
		const char *v = opt(ctx, required[i]);
		if (!v || !*v)
			return error_set(ctx->err, EINVAL,
					 "azure driver requires the --%s option: write it to 'options/%s'",
					 required[i], required[i]);
	}
	if (az_env_find(p->environment) == NULL)
		return error_set(ctx->err, EINVAL, "invalid value '%.64s' for option 'azure-environment': want AzurePublicCloud, AzureChinaCloud or AzureUSGovernmentCloud",
				 p->environment);
	const char *v = opt(ctx, "azure-docker-port");
	char *end;
	long n = strtol(v ? v : "2376", &end, 10);
	if (*end || n < 1 || n > 65535)
		return error_set(ctx->err, EINVAL, "invalid value '%.32s' for option 'azure-docker-port': want 1-65535", v);
	p->docker_port = (int)n;
	/* Values that go into ARM paths. */
	const char *vnet_name = strchr(p->vnet, ':') ? strchr(p->vnet, ':') + 1 : p->vnet;
	char vnet_rg[sizeof(p->vnet)];
	snprintf(vnet_rg, sizeof(vnet_rg), "%.*s", (int)(vnet_name - p->vnet - (vnet_name != p->vnet)), p->vnet);
	struct { const char *name, *val; } names[] = {
		{ "azure-subscription-id", p->subscription_id }, { "azure-resource-group", p->resource_group },
		{ "azure-location", p->location }, { "azure-size", p->size }, { "azure-vnet", vnet_name },
		{ "azure-subnet", p->subnet }, { "azure-availability-set", p->avset },
		{ "azure-storage-type", p->storage_type }, { "machine name", ctx->machine },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!arm_name(names[i].val))
			return error_set(ctx->err, EINVAL, "invalid value '%.64s' for %s%s: want letters, digits, '.', '_', '-'",
					 names[i].val, i + 1 < sizeof(names) / sizeof(names[0]) ? "option " : "", names[i].name);
	if (*vnet_rg && !arm_name(vnet_rg))
		return error_set(ctx->err, EINVAL, "invalid resource group '%.64s' in option 'azure-vnet'", vnet_rg);
	int colons = 0;
	for (const char *s = p->image; *s; s++)
		colons += *s == ':';
	if (colons != 3 || strpbrk(p->image, " /?#%\"\\"))
		return error_set(ctx->err, EINVAL, "invalid value '%.100s' for option 'azure-image': want publisher:offer:sku:version",
				 p->image);
	struct strlist ports = STRLIST_INIT;
	strlist_split_lines(&ports, p->open_ports);
	for (size_t i = 0; i < ports.n; i++)
		if (!az_port_ok(ports.v[i])) {
			rc = error_set(ctx->err, EINVAL, "invalid value '%.32s' for option 'azure-open-port': want PORT or PORT/tcp|udp",
				       ports.v[i]);
			break;
		}
	strlist_clear(&ports);
	if (rc)
		return rc;
	if (strpbrk(p->client_id, " \t\r\n&=") || strpbrk(p->client_secret, "\r\n"))
		return error_set(ctx->err, EINVAL, "invalid azure-client-id or azure-client-secret: control characters");
	if (*p->client_id && !*p->client_secret)
		return error_set(ctx->err, EINVAL, "azure-client-id needs azure-client-secret (or leave both empty for the device-code sign-in)");
	if (!strcasecmp(ctx->base->ssh_user, "root") || !arm_name(ctx->base->ssh_user))
		return error_set(ctx->err, EINVAL, "invalid value '%.64s' for option 'azure-ssh-user'", ctx->base->ssh_user);
	p->use_private_ip = driver_opt_env_bool(ctx, &azure_driver, "azure-use-private-ip");
	p->no_public_ip = driver_opt_env_bool(ctx, &azure_driver, "azure-no-public-ip");
	p->static_public_ip = driver_opt_env_bool(ctx, &azure_driver, "azure-static-public-ip");
	p->made = 0;
	p->tenant[0] = '\0';
	ctx->base->ssh_port = 22;
	ctx->base->ip[0] = '\0';
	snprintf(ctx->base->ssh_key_path, sizeof(ctx->base->ssh_key_path), "%s/id_ed25519", ctx->dir);
	return 0;
}

/* ---- names (Docker Machine's azureutil naming) ---- */

static void vnet_parts(const struct az_priv *p, char *rg, size_t rglen, const char **name)
{
	const char *c = strchr(p->vnet, ':');
	*name = c ? c + 1 : p->vnet;
	if (c)
		snprintf(rg, rglen, "%.*s", (int)(c - p->vnet), p->vnet);
	else
		snprintf(rg, rglen, "%s", p->resource_group);
}

/* "/subscriptions/S/resourceGroups/RG/providers/NS/TYPE/NAME" */
static void res_path(struct strbuf *sb, const struct az_priv *p, const char *rg,
		     const char *type, const char *name, const char *suffix)
{
	strbuf_addf(sb, "/subscriptions/%s/resourceGroups/%s", p->subscription_id, rg ? rg : p->resource_group);
	if (type)
		strbuf_addf(sb, "/providers/%s/%s%s", type, name, suffix ? suffix : "");
}

static void vm_path(struct strbuf *sb, const struct driver_ctx *ctx, const char *suffix)
{
	res_path(sb, ctx->priv, NULL, "Microsoft.Compute/virtualMachines", ctx->machine, suffix);
}

static void named(char *buf, size_t len, const struct driver_ctx *ctx, const char *what)
{
	snprintf(buf, len, "%s-%s", ctx->machine, what);
}

/* ---- the API with long-running operations ---- */

/* The poll URL may only point at the API's own origin (the token goes
 * there). */
static bool same_origin(const char *base, const char *url)
{
	const char *s = strstr(base, "://");
	if (!s)
		return false;
	const char *e = strchr(s + 3, '/');
	size_t n = e ? (size_t)(e - base) : strlen(base);
	return !strncmp(base, url, n) && (url[n] == '/' || url[n] == '\0');
}

/* Wait for a long-running operation started by the answer rs. 0 when it
 * succeeded. */
static int lro_wait(struct driver_ctx *ctx, const char *what, const struct http_resp *first)
{
	const struct az_priv *p = ctx->priv;
	char base[512];
	az_api_base(p, base, sizeof(base));
	const char *async = http_resp_header(first, "Azure-AsyncOperation");
	const char *loc = http_resp_header(first, "Location");
	char *url = NULL;
	bool use_async = async && *async;
	if (use_async)
		url = strdup(async);
	else if (loc && *loc && first->status == 202)
		url = strdup(loc);
	else
		return 0; /* done already */
	if (!same_origin(base, url)) {
		free(url);
		return error_set(ctx->err, EPROTO, "%s: the operation's status url is not on %s", what, base);
	}
	int rc = 0;
	struct driver_wait w;
	driver_wait_start(&w, ctx, LRO_WAIT_S, 250);
	w.nap_first = true;
	const char *ra = http_resp_header(first, "Retry-After");
	if (ra && atoi(ra) > 0)
		w.interval_ms = atoi(ra) > 10 ? 10000 : atoi(ra) * 1000;
	for (;;) {
		if (!driver_wait_next(&w)) {
			if (w.timed_out)
				rc = error_set(ctx->err, ETIMEDOUT, "%s did not end within %d s", what, LRO_WAIT_S);
			else
				rc = error_set(ctx->err, EINTR, "%s was cancelled", what);
			break;
		}
		struct http_resp rs = HTTP_RESP_INIT;
		rc = az_call(ctx, "GET", url, NULL, &rs, true);
		if (rc) {
			http_resp_release(&rs);
			break;
		}
		const char *r = http_resp_header(&rs, "Retry-After");
		w.interval_ms = r && atoi(r) > 0 ? (atoi(r) > 10 ? 10000 : atoi(r) * 1000) : 500;
		if (!use_async) {
			bool done = rs.status != 202;
			http_resp_release(&rs);
			if (done)
				break;
			continue;
		}
		cJSON *root = NULL;
		rc = http_resp_json(ctx, &rs, what, &root);
		http_resp_release(&rs);
		if (rc)
			break;
		const char *st = json_str(root, "status", "");
		if (!strcasecmp(st, "Succeeded")) {
			cJSON_Delete(root);
			break;
		}
		if (!strcasecmp(st, "Failed") || !strcasecmp(st, "Canceled")) {
			const cJSON *e = json_obj(root, "error");
			rc = error_set(ctx->err, EIO, "%s: %s: %.100s: %.200s", what, st,
				       json_str(e, "code", "error"), json_str(e, "message", ""));
			cJSON_Delete(root);
			break;
		}
		cJSON_Delete(root);
	}
	free(url);
	return rc;
}

/* METHOD path [body]; a 201/202 answer is polled to its end. The final
 * answer's JSON in *out when out is given (caller deletes). */
static int arm(struct driver_ctx *ctx, const char *method, const char *path,
	       const cJSON *body, cJSON **out, long *status)
{
	char what[256];
	snprintf(what, sizeof(what), "%s %.200s", method, path);
	char *q = strchr(what, '?');
	if (q)
		*q = '\0';
	struct http_resp rs = HTTP_RESP_INIT;
	char *json = body ? cJSON_PrintUnformatted(body) : NULL;
	int rc = az_call(ctx, method, path, json, &rs, false);
	if (rc == -EACCES && rs.status == 401 && *((struct az_priv *)ctx->priv)->token) {
		/* A token ARM refuses before it expires (revoked, clock skew):
		 * once more with a new one. */
		driver_log(ctx, "%s: token refused, getting a new one", what);
		http_resp_release(&rs);
		rc = az_reauth(ctx);
		if (!rc)
			rc = az_call(ctx, method, path, json, &rs, false);
	}
	free(json);
	if (status)
		*status = rs.status;
	if (!rc && (rs.status == 201 || rs.status == 202))
		rc = lro_wait(ctx, what, &rs);
	if (!rc && out)
		rc = rs.body.len ? http_resp_json(ctx, &rs, what, out) : (*out = cJSON_CreateObject(), 0);
	http_resp_release(&rs);
	return rc;
}

/* GET path: 1 and *out when it exists, 0 when 404, -errno else. */
static int arm_get(struct driver_ctx *ctx, const char *path, cJSON **out)
{
	long st = 0;
	cJSON *o = NULL;
	int rc = arm(ctx, "GET", path, NULL, &o, &st);
	if (rc == -ENOENT && st == 404)
		return 0;
	if (rc)
		return rc;
	if (out)
		*out = o;
	else
		cJSON_Delete(o);
	return 1;
}

static int arm_delete(struct driver_ctx *ctx, const char *path, const char *what)
{
	long st = 0;
	int rc = arm(ctx, "DELETE", path, NULL, NULL, &st);
	if (rc == -ENOENT && st == 404) {
		driver_log(ctx, "%s is already gone", what);
		return 0;
	}
	if (!rc)
		driver_log(ctx, "Deleted %s", what);
	return rc;
}

/* ---- create ---- */

static int register_provider(struct driver_ctx *ctx, const char *ns)
{
	const struct az_priv *p = ctx->priv;
	struct strbuf path = STRBUF_INIT;
	strbuf_addf(&path, "/subscriptions/%s/providers/%s/register?api-version=" API_RES,
		    p->subscription_id, ns);
	int rc = arm(ctx, "POST", path.buf, NULL, NULL, NULL);
	strbuf_release(&path);
	return rc;
}

static int az_precreate(struct driver_ctx *ctx)
{
	const struct az_priv *p = ctx->priv;
	if (*p->custom_data && !path_exists(p->custom_data))
		return error_set(ctx->err, ENOENT, "custom-data file %s could not be found", p->custom_data);
	int rc;
	if ((rc = az_auth(ctx, true)))
		return rc;
	driver_checkpoint(ctx); /* the tenant */
	driver_say(ctx, "Registering resource providers...");
	if ((rc = register_provider(ctx, "Microsoft.Compute")) ||
	    (rc = register_provider(ctx, "Microsoft.Network")))
		return rc;
	struct strbuf path = STRBUF_INIT;
	vm_path(&path, ctx, "?api-version=" API_COMPUTE);
	rc = arm_get(ctx, path.buf, NULL);
	strbuf_release(&path);
	if (rc == 1)
		return error_set(ctx->err, EEXIST, "Virtual Machine with name %s already exists in resource group \"%s\"",
				 ctx->machine, p->resource_group);
	return rc < 0 ? rc : 0;
}

static int made(struct driver_ctx *ctx, unsigned bit, const char *what)
{
	struct az_priv *p = ctx->priv;
	p->made |= bit;
	driver_log(ctx, "Created %s", what);
	return driver_checkpoint(ctx);
}

static cJSON *with_location(const struct az_priv *p)
{
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "location", p->location);
	return b;
}

static int make_rg(struct driver_ctx *ctx)
{
	const struct az_priv *p = ctx->priv;
	struct strbuf path = STRBUF_INIT;
	res_path(&path, p, NULL, NULL, NULL, NULL);
	strbuf_addstr(&path, "?api-version=" API_RES);
	int rc = arm_get(ctx, path.buf, NULL);
	if (rc == 0) {
		driver_say(ctx, "Creating resource group \"%s\" in %s...", p->resource_group, p->location);
		cJSON *b = with_location(p);
		cJSON *tags = cJSON_AddObjectToObject(b, "tags");
		cJSON_AddStringToObject(tags, "created-by", "machinefs");
		rc = arm(ctx, "PUT", path.buf, b, NULL, NULL);
		cJSON_Delete(b);
		if (!rc)
			rc = made(ctx, MADE_RG, "resource group");
	} else if (rc == 1) {
		rc = 0;
	}
	strbuf_release(&path);
	return rc;
}

static int make_avset(struct driver_ctx *ctx, struct strbuf *id)
{
	const struct az_priv *p = ctx->priv;
	struct strbuf path = STRBUF_INIT;
	res_path(&path, p, NULL, "Microsoft.Compute/availabilitySets", p->avset, NULL);
	strbuf_addstr(id, path.buf);
	strbuf_addstr(&path, "?api-version=" API_COMPUTE);
	int rc = arm_get(ctx, path.buf, NULL);
	if (rc == 0) {
		driver_say(ctx, "Creating availability set \"%s\"...", p->avset);
		cJSON *b = with_location(p);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(b, "sku"), "name", "Aligned");
		cJSON *pr = cJSON_AddObjectToObject(b, "properties");
		cJSON_AddNumberToObject(pr, "platformFaultDomainCount", 2);
		cJSON_AddNumberToObject(pr, "platformUpdateDomainCount", 5);
		rc = arm(ctx, "PUT", path.buf, b, NULL, NULL);
		cJSON_Delete(b);
		if (!rc)
			rc = made(ctx, MADE_AVSET, "availability set");
	} else if (rc == 1) {
		rc = 0;
	}
	strbuf_release(&path);
	return rc;
}

static void add_rule(cJSON *rules, const char *name, const char *proto, const char *port, int prio)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "name", name);
	cJSON *pr = cJSON_AddObjectToObject(r, "properties");
	cJSON_AddStringToObject(pr, "description", name);
	cJSON_AddStringToObject(pr, "protocol", proto);
	cJSON_AddStringToObject(pr, "sourceAddressPrefix", "*");
	cJSON_AddStringToObject(pr, "sourcePortRange", "*");
	cJSON_AddStringToObject(pr, "destinationAddressPrefix", "*");
	cJSON_AddStringToObject(pr, "destinationPortRange", port);
	cJSON_AddStringToObject(pr, "access", "Allow");
	cJSON_AddStringToObject(pr, "direction", "Inbound");
	cJSON_AddNumberToObject(pr, "priority", prio);
	cJSON_AddItemToArray(rules, r);
}

/* Docker Machine's getSecurityRules: SSHAllowAny (22, priority 300),
 * DockerAllowAny (the engine port, 301), then each open port
 * Port<N>-<Proto>AllowAny from 302. */
cJSON *az_nsg_body(const struct az_priv *p)
{
	cJSON *b = with_location(p);
	cJSON *rules = cJSON_AddArrayToObject(cJSON_AddObjectToObject(b, "properties"), "securityRules");
	char port[16], name[64];
	add_rule(rules, "SSHAllowAny", "Tcp", "22", 300);
	snprintf(port, sizeof(port), "%d", p->docker_port);
	add_rule(rules, "DockerAllowAny", "Tcp", port, 301);
	struct strlist ports = STRLIST_INIT;
	strlist_split_lines(&ports, p->open_ports);
	for (size_t i = 0; i < ports.n; i++) {
		char num[16];
		const char *slash = strchr(ports.v[i], '/');
		snprintf(num, sizeof(num), "%.*s", (int)(slash ? (size_t)(slash - ports.v[i]) : strlen(ports.v[i])), ports.v[i]);
		const char *proto = slash && !strcmp(slash + 1, "udp") ? "Udp" : "Tcp";
		snprintf(name, sizeof(name), "Port%s-%sAllowAny", num, proto);
		add_rule(rules, name, proto, num, 302 + (int)i);
	}
	strlist_clear(&ports);
	return b;
}

static int make_nsg(struct driver_ctx *ctx, struct strbuf *id)
{
	const struct az_priv *p = ctx->priv;
	char name[300];
	named(name, sizeof(name), ctx, "firewall");
	struct strbuf path = STRBUF_INIT;
	res_path(&path, p, NULL, "Microsoft.Network/networkSecurityGroups", name, NULL);
	strbuf_addstr(id, path.buf);
	strbuf_addstr(&path, "?api-version=" API_NET);
	driver_say(ctx, "Configuring network security group \"%s\" in %s...", name, p->location);
	cJSON *b = az_nsg_body(p);
	int rc = arm(ctx, "PUT", path.buf, b, NULL, NULL);
	cJSON_Delete(b);
	strbuf_release(&path);
	return rc ? rc : made(ctx, MADE_NSG, "network security group");
}

static int make_vnet_subnet(struct driver_ctx *ctx, struct strbuf *id)
{
	const struct az_priv *p = ctx->priv;
	char rg[256];
	const char *vn;
	vnet_parts(p, rg, sizeof(rg), &vn);
	struct strbuf path = STRBUF_INIT;
	res_path(&path, p, rg, "Microsoft.Network/virtualNetworks", vn, NULL);
	strbuf_addstr(&path, "?api-version=" API_NET);
	int rc = arm_get(ctx, path.buf, NULL);
	if (rc == 0) {
		driver_say(ctx, "Creating virtual network \"%s\" in %s...", vn, p->location);
		cJSON *b = with_location(p);
		cJSON *as = cJSON_AddObjectToObject(cJSON_AddObjectToObject(b, "properties"), "addressSpace");
		cJSON_AddItemToObject(as, "addressPrefixes", cJSON_CreateStringArray((const char *[]){ p->subnet_prefix }, 1));
		rc = arm(ctx, "PUT", path.buf, b, NULL, NULL);
		cJSON_Delete(b);
		if (!rc)
			rc = made(ctx, MADE_VNET, "virtual network");
	} else if (rc == 1) {
		rc = 0;
	}
	strbuf_reset(&path);
	res_path(&path, p, rg, "Microsoft.Network/virtualNetworks", vn, NULL);
	strbuf_addf(&path, "/subnets/%s", p->subnet);
	strbuf_addstr(id, path.buf);
	strbuf_addstr(&path, "?api-version=" API_NET);
	if (!rc)
		rc = arm_get(ctx, path.buf, NULL);
	if (rc == 0) {
		driver_say(ctx, "Configuring subnet \"%s\" in virtual network \"%s\"...", p->subnet, vn);
		cJSON *b = cJSON_CreateObject();
		cJSON_AddStringToObject(cJSON_AddObjectToObject(b, "properties"), "addressPrefix", p->subnet_prefix);
		rc = arm(ctx, "PUT", path.buf, b, NULL, NULL);
		cJSON_Delete(b);
		if (!rc)
			rc = made(ctx, MADE_SUBNET, "subnet");
	} else if (rc == 1) {
		rc = 0;
	}
	strbuf_release(&path);
	return rc;
}

static int make_ip(struct driver_ctx *ctx, struct strbuf *id)
{
	const struct az_priv *p = ctx->priv;
	char name[300];
	named(name, sizeof(name), ctx, "ip");
	struct strbuf path = STRBUF_INIT;
	res_path(&path, p, NULL, "Microsoft.Network/publicIPAddresses", name, NULL);
	strbuf_addstr(id, path.buf);
	strbuf_addstr(&path, "?api-version=" API_NET);
	driver_say(ctx, "Creating public IP address \"%s\" (static)...", name);
	cJSON *b = with_location(p);
	/* Basic SKU public IPs are retired; Standard ones are static. */
	cJSON_AddStringToObject(cJSON_AddObjectToObject(b, "sku"), "name", "Standard");
	cJSON *pr = cJSON_AddObjectToObject(b, "properties");
	cJSON_AddStringToObject(pr, "publicIPAllocationMethod", "Static");
	if (*p->dns_label)
		cJSON_AddStringToObject(cJSON_AddObjectToObject(pr, "dnsSettings"), "domainNameLabel", p->dns_label);
	int rc = arm(ctx, "PUT", path.buf, b, NULL, NULL);
	cJSON_Delete(b);
	strbuf_release(&path);
	return rc ? rc : made(ctx, MADE_IP, "public IP address");
}

cJSON *az_nic_body(const struct az_priv *p, const char *subnet_id, const char *nsg_id,
		   const char *ip_id)
{
	cJSON *b = with_location(p);
	cJSON *pr = cJSON_AddObjectToObject(b, "properties");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(pr, "networkSecurityGroup"), "id", nsg_id);
	cJSON *cfgs = cJSON_AddArrayToObject(pr, "ipConfigurations");
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "name", "ip");
	cJSON *cp = cJSON_AddObjectToObject(c, "properties");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(cp, "subnet"), "id", subnet_id);
	if (ip_id && *ip_id)
		cJSON_AddStringToObject(cJSON_AddObjectToObject(cp, "publicIPAddress"), "id", ip_id);
	if (*p->private_ip) {
		cJSON_AddStringToObject(cp, "privateIPAllocationMethod", "Static");
		cJSON_AddStringToObject(cp, "privateIPAddress", p->private_ip);
	} else {
		cJSON_AddStringToObject(cp, "privateIPAllocationMethod", "Dynamic");
	}
	cJSON_AddItemToArray(cfgs, c);
	return b;
}

static int make_nic(struct driver_ctx *ctx, const char *subnet_id, const char *nsg_id,
		    const char *ip_id, struct strbuf *id)
{
	const struct az_priv *p = ctx->priv;
	char name[300];
	named(name, sizeof(name), ctx, "nic");
	struct strbuf path = STRBUF_INIT;
	res_path(&path, p, NULL, "Microsoft.Network/networkInterfaces", name, NULL);
	strbuf_addstr(id, path.buf);
	strbuf_addstr(&path, "?api-version=" API_NET);
	driver_say(ctx, "Creating network interface \"%s\"...", name);
	cJSON *b = az_nic_body(p, subnet_id, nsg_id, ip_id);
	int rc = arm(ctx, "PUT", path.buf, b, NULL, NULL);
	cJSON_Delete(b);
	strbuf_release(&path);
	return rc ? rc : made(ctx, MADE_NIC, "network interface");
}

static char *base64(const void *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

cJSON *az_vm_body(const struct az_priv *p, const char *machine, const char *user,
		  const char *pubkey, const char *custom_b64, const char *avset_id,
		  const char *nic_id)
{
	cJSON *b = with_location(p);
	cJSON *pr = cJSON_AddObjectToObject(b, "properties");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(pr, "hardwareProfile"), "vmSize", p->size);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(pr, "availabilitySet"), "id", avset_id);
	cJSON *os = cJSON_AddObjectToObject(pr, "osProfile");
	cJSON_AddStringToObject(os, "computerName", machine);
	cJSON_AddStringToObject(os, "adminUsername", user);
	if (custom_b64 && *custom_b64)
		cJSON_AddStringToObject(os, "customData", custom_b64);
	cJSON *lin = cJSON_AddObjectToObject(os, "linuxConfiguration");
	cJSON_AddBoolToObject(lin, "disablePasswordAuthentication", true);
	cJSON *keys = cJSON_AddArrayToObject(cJSON_AddObjectToObject(lin, "ssh"), "publicKeys");
	cJSON *k = cJSON_CreateObject();
	char kp[256];
	snprintf(kp, sizeof(kp), "/home/%s/.ssh/authorized_keys", user);
	cJSON_AddStringToObject(k, "path", kp);
	cJSON_AddStringToObject(k, "keyData", pubkey);
	cJSON_AddItemToArray(keys, k);
	cJSON *st = cJSON_AddObjectToObject(pr, "storageProfile");
	char img[256];
	snprintf(img, sizeof(img), "%s", p->image);
	char *save = NULL, *f[4] = { 0 };
	int i = 0;
	for (char *t = strtok_r(img, ":", &save); t && i < 4; t = strtok_r(NULL, ":", &save))
		f[i++] = t;
	cJSON *ir = cJSON_AddObjectToObject(st, "imageReference");
	cJSON_AddStringToObject(ir, "publisher", f[0] ? f[0] : "");
	cJSON_AddStringToObject(ir, "offer", f[1] ? f[1] : "");
	cJSON_AddStringToObject(ir, "sku", f[2] ? f[2] : "");
	cJSON_AddStringToObject(ir, "version", f[3] ? f[3] : "");
	cJSON *od = cJSON_AddObjectToObject(st, "osDisk");
	char dn[300];
	snprintf(dn, sizeof(dn), "%s-os-disk", machine);
	cJSON_AddStringToObject(od, "name", dn);
	cJSON_AddStringToObject(od, "createOption", "FromImage");
	cJSON_AddStringToObject(od, "caching", "ReadWrite");
	cJSON_AddStringToObject(od, "deleteOption", "Delete");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(od, "managedDisk"), "storageAccountType", p->storage_type);
	cJSON *nics = cJSON_AddArrayToObject(cJSON_AddObjectToObject(pr, "networkProfile"), "networkInterfaces");
	cJSON *n = cJSON_CreateObject();
	cJSON_AddStringToObject(n, "id", nic_id);
	cJSON_AddBoolToObject(cJSON_AddObjectToObject(n, "properties"), "primary", true);
	cJSON_AddItemToArray(nics, n);
	return b;
}

static int make_vm(struct driver_ctx *ctx, const char *avset_id, const char *nic_id)
{
	const struct az_priv *p = ctx->priv;
	struct strbuf custom = STRBUF_INIT, pub = STRBUF_INIT, path = STRBUF_INIT;
	char *b64 = NULL;
	int rc = 0;
	if (*p->custom_data && !(rc = read_file(p->custom_data, &custom, ctx->err)))
		b64 = base64(custom.buf, custom.len);
	if (!rc) {
		driver_say(ctx, "Creating SSH key...");
		rc = sshkey_generate_ed25519(ctx->base->ssh_key_path, ctx->machine, ctx->err);
	}
	if (!rc) {
		strbuf_addf(&path, "%s.pub", ctx->base->ssh_key_path);
		rc = read_file(path.buf, &pub, ctx->err);
		strbuf_rtrim(&pub);
		strbuf_reset(&path);
	}
	if (!rc) {
		driver_say(ctx, "Creating virtual machine \"%s\" (%s, %s)...", ctx->machine, p->size, p->image);
		vm_path(&path, ctx, "?api-version=" API_COMPUTE);
		cJSON *b = az_vm_body(p, ctx->machine, ctx->base->ssh_user, pub.buf, b64, avset_id, nic_id);
		/* Recorded before the PUT: a VM half made is deleted by name. */
		((struct az_priv *)ctx->priv)->made |= MADE_VM;
		driver_checkpoint(ctx);
		rc = arm(ctx, "PUT", path.buf, b, NULL, NULL);
		cJSON_Delete(b);
		if (!rc)
			driver_log(ctx, "Created virtual machine");
	}
	free(b64);
	strbuf_release(&custom);
	strbuf_release(&pub);
	strbuf_release(&path);
	return rc;
}

/* The address to reach the VM at: the public IP's, else the NIC's
 * private one (Docker Machine's GetIP). */
static int get_ip(struct driver_ctx *ctx, char *ip, size_t len)
{
	const struct az_priv *p = ctx->priv;
	char name[300];
	struct strbuf path = STRBUF_INIT;
	cJSON *o = NULL;
	int rc;
	ip[0] = '\0';
	if (!p->no_public_ip && !p->use_private_ip) {
		named(name, sizeof(name), ctx, "ip");
		res_path(&path, p, NULL, "Microsoft.Network/publicIPAddresses", name, "?api-version=" API_NET);
		rc = arm(ctx, "GET", path.buf, NULL, &o, NULL);
		if (!rc) {
			const cJSON *pr = json_obj(o, "properties");
			snprintf(ip, len, "%s", json_str(pr, "ipAddress", ""));
			if (!*ip)
				snprintf(ip, len, "%s", json_str(json_obj(pr, "dnsSettings"), "fqdn", ""));
		}
	} else {
		named(name, sizeof(name), ctx, "nic");
		res_path(&path, p, NULL, "Microsoft.Network/networkInterfaces", name, "?api-version=" API_NET);
		rc = arm(ctx, "GET", path.buf, NULL, &o, NULL);
		if (!rc) {
			const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(json_obj(o, "properties"), "ipConfigurations"), 0);
			snprintf(ip, len, "%s", json_str(json_obj(c, "properties"), "privateIPAddress", ""));
		}
	}
	cJSON_Delete(o);
	strbuf_release(&path);
	if (!rc && !*ip)
		rc = error_set(ctx->err, EIO, "the virtual machine '%s' has no ip address", ctx->machine);
	return rc;
}

/* Delete what the machine made, Docker Machine's order. only_made: the
 * shared resources (availability set, subnet, VNet) only when this
 * machine made them. The names of what is left go to left. */
static void teardown(struct driver_ctx *ctx, bool only_made, char *left, size_t leftlen)
{
	struct az_priv *p = ctx->priv;
	char name[300], rg[256];
	const char *vn;
	vnet_parts(p, rg, sizeof(rg), &vn);
	struct strbuf path = STRBUF_INIT;
	left[0] = '\0';
#define LEFT(what) do { size_t l_ = strlen(left); \
		snprintf(left + l_, leftlen - l_, "%s%s (%.150s)", l_ ? ", " : "", what, ctx->err); } while (0)
	/* 1. the VM, its OS disk */
	vm_path(&path, ctx, "?api-version=" API_COMPUTE);
	if (arm_delete(ctx, path.buf, "virtual machine"))
		LEFT("virtual machine");
	else
		p->made &= ~MADE_VM;
	strbuf_reset(&path);
	named(name, sizeof(name), ctx, "os-disk");
	res_path(&path, p, NULL, "Microsoft.Compute/disks", name, "?api-version=" API_DISK);
	if (arm_delete(ctx, path.buf, "OS disk"))
		LEFT("OS disk");
	/* 2. NIC, public IP, NSG */
	static const struct { const char *suffix, *type, *what; unsigned bit; } own[] = {
		{ "nic", "Microsoft.Network/networkInterfaces", "network interface", MADE_NIC },
		{ "ip", "Microsoft.Network/publicIPAddresses", "public IP address", MADE_IP },
		{ "firewall", "Microsoft.Network/networkSecurityGroups", "network security group", MADE_NSG },
	};
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		strbuf_reset(&path);
		named(name, sizeof(name), ctx, own[i].suffix);
		res_path(&path, p, NULL, own[i].type, name, "?api-version=" API_NET);
		if (arm_delete(ctx, path.buf, own[i].what))
			LEFT(own[i].what);
		else
			p->made &= ~own[i].bit;
	}
	/* 3. shared ones when unused */
	cJSON *o = NULL;
	int rc;
	if (!only_made || (p->made & MADE_AVSET)) {
		strbuf_reset(&path);
		res_path(&path, p, NULL, "Microsoft.Compute/availabilitySets", p->avset, "?api-version=" API_COMPUTE);
		rc = arm_get(ctx, path.buf, &o);
		if (rc == 1 && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(json_obj(o, "properties"), "virtualMachines")) == 0)
			rc = arm_delete(ctx, path.buf, "availability set");
		else if (rc == 1)
			driver_log(ctx, "Availability set \"%s\" is still used: kept", p->avset);
		if (rc < 0)
			LEFT("availability set");
		else
			p->made &= ~MADE_AVSET;
		cJSON_Delete(o);
		o = NULL;
	}
	if (!only_made || (p->made & MADE_SUBNET)) {
		strbuf_reset(&path);
		res_path(&path, p, rg, "Microsoft.Network/virtualNetworks", vn, NULL);
		strbuf_addf(&path, "/subnets/%s?api-version=" API_NET, p->subnet);
		rc = arm_get(ctx, path.buf, &o);
		if (rc == 1 && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(json_obj(o, "properties"), "ipConfigurations")) == 0)
			rc = arm_delete(ctx, path.buf, "subnet");
		else if (rc == 1)
			driver_log(ctx, "Subnet \"%s\" is still used: kept", p->subnet);
		if (rc < 0)
			LEFT("subnet");
		else
			p->made &= ~MADE_SUBNET;
		cJSON_Delete(o);
		o = NULL;
	}
	if (!only_made || (p->made & MADE_VNET)) {
		strbuf_reset(&path);
		res_path(&path, p, rg, "Microsoft.Network/virtualNetworks", vn, "?api-version=" API_NET);
		rc = arm_get(ctx, path.buf, &o);
		if (rc == 1 && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(json_obj(o, "properties"), "subnets")) == 0)
			rc = arm_delete(ctx, path.buf, "virtual network");
		else if (rc == 1)
			driver_log(ctx, "Virtual network \"%s\" is still used: kept", vn);
		if (rc < 0)
			LEFT("virtual network");
		else
			p->made &= ~MADE_VNET;
		cJSON_Delete(o);
		o = NULL;
	}
	/* 4. the resource group, when machinefs made it and it is empty */
	strbuf_reset(&path);
	res_path(&path, p, NULL, NULL, NULL, "");
	strbuf_addstr(&path, "?api-version=" API_RES);
	rc = arm_get(ctx, path.buf, &o);
	bool ours = rc == 1 && !strcmp(json_str(json_obj(o, "tags"), "created-by", ""), "machinefs");
	cJSON_Delete(o);
	o = NULL;
	if (rc < 0) {
		LEFT("resource group");
	} else if (ours) {
		strbuf_reset(&path);
		res_path(&path, p, NULL, NULL, NULL, "");
		strbuf_addstr(&path, "/resources?api-version=" API_RES);
		rc = arm_get(ctx, path.buf, &o);
		bool empty = rc == 1 && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "value")) == 0;
		cJSON_Delete(o);
		if (empty) {
			strbuf_reset(&path);
			res_path(&path, p, NULL, NULL, NULL, "");
			strbuf_addstr(&path, "?api-version=" API_RES);
			rc = arm_delete(ctx, path.buf, "resource group");
		}
		if (rc < 0)
			LEFT("resource group");
		else
			p->made &= ~MADE_RG;
	} else {
		p->made &= ~MADE_RG;
	}
#undef LEFT
	strbuf_release(&path);
}

static void undo_create(struct driver_ctx *ctx)
{
	struct driver_ctx c = *ctx;
	c.cancel = NULL;
	char left[ERR_MAX];
	teardown(&c, true, left, sizeof(left));
	driver_checkpoint(&c);
	if (*left) {
		char why[ERR_MAX];
		snprintf(why, sizeof(why), "%s", ctx->err);
		snprintf(ctx->err, ERR_MAX, "%.200s; could not delete %.280s", why, left);
		driver_log(ctx, "left behind after the failed create: %s", left);
	} else {
		driver_log(ctx, "deleted what the failed create made");
	}
}

static int az_create(struct driver_ctx *ctx)
{
	struct az_priv *p = ctx->priv;
	struct strbuf avset = STRBUF_INIT, nsg = STRBUF_INIT, subnet = STRBUF_INIT,
		      ip = STRBUF_INIT, nic = STRBUF_INIT;
	int rc = az_auth(ctx, true);
	if (rc)
		return rc;
	if ((rc = driver_checkpoint(ctx)))
		return rc;
	if (!(rc = make_rg(ctx)) && !(rc = make_avset(ctx, &avset)) && !(rc = make_nsg(ctx, &nsg)) &&
	    !(rc = make_vnet_subnet(ctx, &subnet))) {
		if (p->no_public_ip)
			driver_say(ctx, "Not creating a public IP address.");
		else
			rc = make_ip(ctx, &ip);
	}
	if (!rc)
		rc = make_nic(ctx, subnet.buf, nsg.buf, ip.buf, &nic);
	if (!rc)
		rc = make_vm(ctx, avset.buf, nic.buf);
	if (!rc)
		rc = get_ip(ctx, ctx->base->ip, sizeof(ctx->base->ip));
	if (!rc) {
		driver_log(ctx, "IP address is %s", ctx->base->ip);
		driver_checkpoint(ctx);
	}
	strbuf_release(&avset);
	strbuf_release(&nsg);
	strbuf_release(&subnet);
	strbuf_release(&ip);
	strbuf_release(&nic);
	if (rc)
		undo_create(ctx);
	return rc;
}

static int az_remove(struct driver_ctx *ctx)
{
	int rc = az_auth(ctx, false);
	if (rc)
		return rc;
	driver_say(ctx, "NOTICE: Please check Azure portal/CLI to make sure you have no leftover resources to avoid unexpected charges.");
	char left[ERR_MAX];
	teardown(ctx, false, left, sizeof(left));
	if (*left)
		return error_set(ctx->err, EIO, "could not delete %.400s", left);
	return 0;
}

/* ---- state and power ---- */

static enum machine_state power_state(const cJSON *vm)
{
	const cJSON *iv = json_obj(json_obj(vm, "properties"), "instanceView");
	const cJSON *s;
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(iv, "statuses")) {
		const char *code = json_str(s, "code", "");
		if (strncmp(code, "PowerState/", 11))
			continue;
		code += 11;
		if (!strcmp(code, "running"))
			return MS_RUNNING;
		if (!strcmp(code, "starting"))
			return MS_STARTING;
		if (!strcmp(code, "stopping") || !strcmp(code, "deallocating"))
			return MS_STOPPING;
		if (!strcmp(code, "stopped") || !strcmp(code, "deallocated"))
			return MS_STOPPED;
		return MS_NONE;
	}
	return MS_NONE;
}

static int get_state(struct driver_ctx *ctx, enum machine_state *out)
{
	struct strbuf path = STRBUF_INIT;
	vm_path(&path, ctx, "?$expand=instanceView&api-version=" API_COMPUTE);
	cJSON *o = NULL;
	int rc = arm(ctx, "GET", path.buf, NULL, &o, NULL);
	strbuf_release(&path);
	if (!rc)
		*out = power_state(o);
	cJSON_Delete(o);
	return rc;
}

static int az_state(struct driver_ctx *ctx, enum machine_state *out)
{
	struct driver_ctx quiet = *ctx;
	quiet.log_fn = NULL;
	quiet.say_fn = NULL;
	int rc = az_auth(&quiet, false);
	if (!rc)
		rc = get_state(&quiet, out);
	if (rc) {
		snprintf(ctx->err, ERR_MAX, "%s", quiet.err);
		*out = MS_ERROR;
	}
	return rc;
}

static int power(struct driver_ctx *ctx, const char *action, enum machine_state want)
{
	int rc = az_auth(ctx, false);
	if (rc)
		return rc;
	struct strbuf path = STRBUF_INIT;
	char suffix[128];
	snprintf(suffix, sizeof(suffix), "/%s%sapi-version=" API_COMPUTE, action,
		 strchr(action, '?') ? "&" : "?");
	vm_path(&path, ctx, suffix);
	rc = arm(ctx, "POST", path.buf, NULL, NULL, NULL);
	strbuf_release(&path);
	if (rc)
		return rc;
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, POWER_WAIT_S, 500); driver_wait_next(&w);) {
		enum machine_state st = MS_NONE;
		if ((rc = get_state(ctx, &st)))
			return rc;
		if (st == want)
			return 0;
	}
	if (w.timed_out)
		return error_set(ctx->err, ETIMEDOUT, "virtual machine '%s' is not %s %d s after '%s'",
				 ctx->machine, machine_state_name(want), POWER_WAIT_S, action);
	return error_set(ctx->err, EINTR, "'%s' of '%s' was cancelled", action, ctx->machine);
}

static int az_start(struct driver_ctx *ctx)
{
	driver_say(ctx, "Starting virtual machine \"%s\"...", ctx->machine);
	return power(ctx, "start", MS_RUNNING);
}

static int az_stop(struct driver_ctx *ctx)
{
	driver_say(ctx, "NOTICE: Stopping an Azure Virtual Machine is just going to power it off, not deallocate.");
	return power(ctx, "powerOff", MS_STOPPED);
}

static int az_restart(struct driver_ctx *ctx)
{
	return power(ctx, "restart", MS_RUNNING);
}

static int az_kill(struct driver_ctx *ctx)
{
	return power(ctx, "powerOff?skipShutdown=true", MS_STOPPED);
}

static int az_url(struct driver_ctx *ctx, char *buf, size_t len)
{
	const struct az_priv *p = ctx->priv;
	if (!*ctx->base->ip)
		return -ENOENT;
	bool v6 = strchr(ctx->base->ip, ':') != NULL;
	snprintf(buf, len, "tcp://%s%s%s:%d", v6 ? "[" : "", ctx->base->ip, v6 ? "]" : "",
		 p->docker_port ? p->docker_port : 2376);
	return 0;
}

/* ---- config.json (Docker Machine's azure Driver fields) ---- */

#define LOADS(f, k) snprintf(p->f, sizeof(p->f), "%s", json_str(o, k, ""))

static int az_load(struct driver_ctx *ctx, const cJSON *o)
{
	struct az_priv *p = ctx->priv;
	LOADS(client_id, "ClientID");
	LOADS(client_secret, "ClientSecret");
	LOADS(environment, "Environment");
	if (!*p->environment)
		snprintf(p->environment, sizeof(p->environment), "AzurePublicCloud");
	LOADS(subscription_id, "SubscriptionID");
	LOADS(resource_group, "ResourceGroup");
	p->docker_port = (int)json_int(o, "DockerPort", 2376);
	LOADS(location, "Location");
	LOADS(size, "Size");
	LOADS(image, "Image");
	LOADS(vnet, "VirtualNetwork");
	LOADS(subnet, "SubnetName");
	LOADS(subnet_prefix, "SubnetPrefix");
	LOADS(avset, "AvailabilitySet");
	LOADS(storage_type, "StorageType");
	struct strlist l = STRLIST_INIT;
	json_list(o, "OpenPorts", &l);
	p->open_ports[0] = '\0';
	for (size_t i = 0; i < l.n; i++) {
		size_t n = strlen(p->open_ports);
		snprintf(p->open_ports + n, sizeof(p->open_ports) - n, "%s%s", n ? "\n" : "", l.v[i]);
	}
	strlist_clear(&l);
	LOADS(private_ip, "PrivateIPAddr");
	p->use_private_ip = json_bool(o, "UsePrivateIP", false);
	p->no_public_ip = json_bool(o, "NoPublicIP", false);
	LOADS(dns_label, "DNSLabel");
	p->static_public_ip = json_bool(o, "StaticPublicIP", false);
	LOADS(custom_data, "CustomDataFile");
	/* machinefs's own keys; a Docker Machine store has none. */
	LOADS(api_url, "APIURL");
	if (!*p->api_url && getenv("AZURE_API_URL"))
		snprintf(p->api_url, sizeof(p->api_url), "%s", getenv("AZURE_API_URL"));
	LOADS(auth_url, "AuthURL");
	if (!*p->auth_url && getenv("AZURE_AUTH_URL"))
		snprintf(p->auth_url, sizeof(p->auth_url), "%s", getenv("AZURE_AUTH_URL"));
	LOADS(tenant, "TenantID");
	p->made = (unsigned)json_int(o, "Made", 0);
	return 0;
}

static int az_save(const struct driver_ctx *ctx, cJSON *o)
{
	const struct az_priv *p = ctx->priv;
	json_put_str(o, "ClientID", p->client_id);
	json_put_str(o, "ClientSecret", p->client_secret);
	json_put_str(o, "Environment", p->environment);
	json_put_str(o, "SubscriptionID", p->subscription_id);
	json_put_str(o, "ResourceGroup", p->resource_group);
	json_put_int(o, "DockerPort", p->docker_port);
	json_put_str(o, "Location", p->location);
	json_put_str(o, "Size", p->size);
	json_put_str(o, "Image", p->image);
	json_put_str(o, "VirtualNetwork", p->vnet);
	json_put_str(o, "SubnetName", p->subnet);
	json_put_str(o, "SubnetPrefix", p->subnet_prefix);
	json_put_str(o, "AvailabilitySet", p->avset);
	json_put_str(o, "StorageType", p->storage_type);
	struct strlist l = STRLIST_INIT;
	strlist_split_lines(&l, p->open_ports);
	json_put_list(o, "OpenPorts", &l, true);
	strlist_clear(&l);
	json_put_str(o, "PrivateIPAddr", p->private_ip);
	json_put_bool(o, "UsePrivateIP", p->use_private_ip);
	json_put_bool(o, "NoPublicIP", p->no_public_ip);
	json_put_str(o, "DNSLabel", p->dns_label);
	json_put_bool(o, "StaticPublicIP", p->static_public_ip);
	json_put_str(o, "CustomDataFile", p->custom_data);
	json_put_str(o, "APIURL", p->api_url);
	json_put_str(o, "AuthURL", p->auth_url);
	json_put_str(o, "TenantID", p->tenant);
	json_put_int(o, "Made", (long)p->made);
	return 0;
}

const struct machine_driver azure_driver = {
	.name = "azure",
	.supports = DRV_START | DRV_STOP | DRV_RESTART | DRV_KILL | DRV_SSH | DRV_REMOVE,
	.options = az_options,
	.priv_size = sizeof(struct az_priv),
	.configure = az_configure,
	.precreate_check = az_precreate,
	.create = az_create,
	.remove = az_remove,
	.start = az_start,
	.stop = az_stop,
	.restart = az_restart,
	.kill = az_kill,
	.state = az_state,
	.url = az_url,
	.load = az_load,
	.save = az_save,
};
