/* The "openstack" driver: Docker Machine 0.16's drivers/openstack over
 * Keystone, Nova and Neutron (drivers/http.c), the same calls in the same
 * order:
 *   auth       the auth URL's version (a URL ending in /v2.0 or /v3 is
 *              used as is; else GET it and take the highest stable v3 or
 *              v2 of its versions document, by major version), then
 *              POST v2.0/tokens (passwordCredentials, tenant by name or id)
 *              or POST v3/auth/tokens (password, user and project domain by
 *              id or name, project by id or name; token in X-Subject-Token);
 *              the service catalog gives the compute and network endpoints
 *              of openstack-endpoint-type in openstack-region. Tokens are
 *              kept in memory only (never in the store) until they expire,
 *              and a 401 authenticates again once.
 *   resolve    GET network v2.0/networks?name= (net, floating IP pool),
 *              GET flavors/detail, GET images/detail?name=
 *   create     POST os-keypairs (the machine's ed25519 key; or GET
 *              os-keypairs/NAME for openstack-keypair-name), POST servers,
 *              GET servers/ID until ACTIVE (openstack-active-timeout),
 *              floating IP (openstack-floatingip-pool): Neutron GET
 *              v2.0/ports?device_id=, GET v2.0/floatingips?..., then PUT a
 *              free one or POST a new one; Nova (openstack-nova-network)
 *              GET os-floating-ips, POST os-floating-ips {"pool"}, POST
 *              servers/ID/action addFloatingIp; then the address from GET
 *              servers/ID (floating or fixed, openstack-ip-version)
 *   state      GET servers/ID: ACTIVE Running, PAUSED Paused, SUSPENDED
 *              Saved, SHUTOFF Stopped, BUILD(ING) Starting, ERROR Error
 *   start/stop/restart/kill  POST servers/ID/action os-start / os-stop /
 *              reboot SOFT / os-stop (Docker Machine's Kill is Stop), each
 *              waiting (bounded, cancellable) for ACTIVE or SHUTOFF
 *   remove     DELETE servers/ID, the floating IP this machine allocated,
 *              DELETE os-keypairs/NAME unless it was the user's (404: gone)
 * No orphans: key pair, server and floating IP ids are saved
 * (driver_checkpoint) as soon as the API returns them; a failed create
 * deletes them in reverse order and names what it could not delete. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drivers/driver.h"
#include "drivers/http.h"
#include "drivers/openstack.h"
#include "drivers/sshkey.h"
#include "drivers/wait.h"
#include "lib/fileutil.h"
#include "lib/json.h"

#define RAX_AUTH_URL "https://identity.api.rackspacecloud.com/v2.0/"

static const struct driver_option os_options[] = {
	{ "openstack-auth-url", OPT_STRING, NULL, "OS_AUTH_URL", "OpenStack authentication URL", 0, NULL },
	{ "openstack-insecure", OPT_BOOL, NULL, "OS_INSECURE", "Disable TLS credential checking. (machinefs: accepted and stored; TLS is still verified, and plain http:// is used only on loopback)", 0, NULL },
	{ "openstack-cacert", OPT_STRING, NULL, "OS_CACERT", "CA certificate bundle to verify against (machinefs: stored; set CURL_CA_BUNDLE for the daemon instead)", 0, NULL },
	{ "openstack-domain-id", OPT_STRING, NULL, "OS_DOMAIN_ID", "OpenStack domain ID (identity v3 only)", 0, NULL },
	{ "openstack-domain-name", OPT_STRING, NULL, "OS_DOMAIN_NAME", "OpenStack domain name (identity v3 only)", 0, NULL },
	{ "openstack-username", OPT_STRING, NULL, "OS_USERNAME", "OpenStack username", 0, NULL },
	{ "openstack-password", OPT_STRING, NULL, "OS_PASSWORD", "OpenStack password", OPT_SECRET, "Password" },
	{ "openstack-tenant-name", OPT_STRING, NULL, "OS_TENANT_NAME", "OpenStack tenant name", 0, NULL },
	{ "openstack-tenant-id", OPT_STRING, NULL, "OS_TENANT_ID", "OpenStack tenant id", 0, NULL },
	{ "openstack-region", OPT_STRING, NULL, "OS_REGION_NAME", "OpenStack region name", 0, NULL },
	{ "openstack-availability-zone", OPT_STRING, NULL, "OS_AVAILABILITY_ZONE", "OpenStack availability zone", 0, NULL },
	{ "openstack-endpoint-type", OPT_STRING, NULL, "OS_ENDPOINT_TYPE", "OpenStack endpoint type (adminURL, internalURL or publicURL)", 0, NULL },
	{ "openstack-flavor-id", OPT_STRING, NULL, "OS_FLAVOR_ID", "OpenStack flavor id to use for the instance", 0, NULL },
	{ "openstack-flavor-name", OPT_STRING, NULL, "OS_FLAVOR_NAME", "OpenStack flavor name to use for the instance", 0, NULL },
	{ "openstack-image-id", OPT_STRING, NULL, "OS_IMAGE_ID", "OpenStack image id to use for the instance", 0, NULL },
	{ "openstack-image-name", OPT_STRING, NULL, "OS_IMAGE_NAME", "OpenStack image name to use for the instance", 0, NULL },
	{ "openstack-keypair-name", OPT_STRING, NULL, "OS_KEYPAIR_NAME", "OpenStack keypair to use to SSH to the instance", 0, NULL },
	{ "openstack-net-id", OPT_STRING, NULL, "OS_NETWORK_ID", "OpenStack network id the machine will be connected on", 0, NULL },
	{ "openstack-private-key-file", OPT_STRING, NULL, "OS_PRIVATE_KEY_FILE", "Private keyfile to use for SSH (absolute path)", 0, NULL },
	{ "openstack-user-data-file", OPT_STRING, NULL, "OS_USER_DATA_FILE", "File containing an openstack userdata script", 0, NULL },
	{ "openstack-net-name", OPT_STRING, NULL, "OS_NETWORK_NAME", "OpenStack network name the machine will be connected on", 0, NULL },
	{ "openstack-sec-groups", OPT_STRING, NULL, "OS_SECURITY_GROUPS", "OpenStack comma separated security groups for the machine", 0, NULL },
	{ "openstack-nova-network", OPT_BOOL, NULL, "OS_NOVA_NETWORK", "Use the nova networking services instead of neutron.", 0, NULL },
	{ "openstack-floatingip-pool", OPT_STRING, NULL, "OS_FLOATINGIP_POOL", "OpenStack floating IP pool to get an IP from to assign to the instance", 0, NULL },
	{ "openstack-ip-version", OPT_INT, "4", "OS_IP_VERSION", "OpenStack version of IP address assigned for the machine", 0, NULL },
	{ "openstack-ssh-user", OPT_STRING, "root", "OS_SSH_USER", "OpenStack SSH user", 0, NULL },
	{ "openstack-ssh-port", OPT_INT, "22", "OS_SSH_PORT", "OpenStack SSH port", 0, NULL },
	{ "openstack-active-timeout", OPT_INT, "200", "OS_ACTIVE_TIMEOUT", "OpenStack active timeout", 0, NULL },
	{ "openstack-config-drive", OPT_BOOL, NULL, "OS_CONFIG_DRIVE", "Enables the OpenStack config drive for the instance", 0, NULL },
	{ "openstack-metadata", OPT_STRING, NULL, "OS_METADATA", "OpenStack Instance Metadata (e.g. key1,value1,key2,value2)", 0, NULL },
	{ NULL },
};

/* ---- options ---- */

/* No control character, space (unless allowed) or non-ASCII byte. */
bool os_only(const char *s, const char *allowed)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f ||
		    (*s == ' ' && !(allowed && strchr(allowed, ' '))))
			return false;
	return true;
}

static int os_configure(struct driver_ctx *ctx)
{
	const struct machine_driver *d = &openstack_driver;
	struct os_priv *p = ctx->priv;
	struct { char *dst; size_t len; const char *name; } s[] = {
		{ p->auth_url, sizeof(p->auth_url), "openstack-auth-url" },
		{ p->cacert, sizeof(p->cacert), "openstack-cacert" },
		{ p->domain_id, sizeof(p->domain_id), "openstack-domain-id" },
		{ p->domain_name, sizeof(p->domain_name), "openstack-domain-name" },
		{ p->username, sizeof(p->username), "openstack-username" },
		{ p->password, sizeof(p->password), "openstack-password" },
		{ p->tenant_name, sizeof(p->tenant_name), "openstack-tenant-name" },
		{ p->tenant_id, sizeof(p->tenant_id), "openstack-tenant-id" },
		{ p->region, sizeof(p->region), "openstack-region" },
		{ p->avail_zone, sizeof(p->avail_zone), "openstack-availability-zone" },
		{ p->endpoint_type, sizeof(p->endpoint_type), "openstack-endpoint-type" },
		{ p->flavor_id, sizeof(p->flavor_id), "openstack-flavor-id" },
		{ p->flavor_name, sizeof(p->flavor_name), "openstack-flavor-name" },
		{ p->image_id, sizeof(p->image_id), "openstack-image-id" },
		{ p->image_name, sizeof(p->image_name), "openstack-image-name" },
		{ p->keypair_name, sizeof(p->keypair_name), "openstack-keypair-name" },
		{ p->net_id, sizeof(p->net_id), "openstack-net-id" },
		{ p->private_key_file, sizeof(p->private_key_file), "openstack-private-key-file" },
		{ p->userdata_file, sizeof(p->userdata_file), "openstack-user-data-file" },
		{ p->net_name, sizeof(p->net_name), "openstack-net-name" },
		{ p->sec_groups, sizeof(p->sec_groups), "openstack-sec-groups" },
		{ p->fip_pool, sizeof(p->fip_pool), "openstack-floatingip-pool" },
		{ p->metadata, sizeof(p->metadata), "openstack-metadata" },
		{ ctx->base->ssh_user, sizeof(ctx->base->ssh_user), "openstack-ssh-user" },
	};
	int rc;
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if ((rc = driver_opt_copy(ctx, d, s[i].name, s[i].dst, s[i].len)))
			return rc;
	if ((rc = driver_opt_range(ctx, d, "openstack-active-timeout", 1, 86400, &p->active_timeout)) ||
	    (rc = driver_opt_range(ctx, d, "openstack-ip-version", 4, 6, &p->ip_version)) ||
	    (rc = driver_opt_range(ctx, d, "openstack-ssh-port", 1, 65535, &ctx->base->ssh_port)))
		return rc;
	if (p->ip_version != 4 && p->ip_version != 6)
		return error_set(ctx->err, EINVAL, "invalid value '%d' for option 'openstack-ip-version': want 4 or 6",
				 p->ip_version);
	p->insecure = driver_opt_env_bool(ctx, d, "openstack-insecure");
	p->nova_network = driver_opt_env_bool(ctx, d, "openstack-nova-network");
	p->config_drive = driver_opt_env_bool(ctx, d, "openstack-config-drive");
	p->existing_key = *p->keypair_name != '\0';
	p->rax = false;
	p->machine_id[0] = p->fip_id[0] = p->fip_addr[0] = p->fip_pool_id[0] = '\0';
	ctx->base->ip[0] = '\0';
	/* Docker Machine's checkConfig, its words. */
#define MANDATORY "%s must be specified either using the environment variable %s or the CLI option %s"
	if (!*p->auth_url)
		return error_set(ctx->err, EINVAL, MANDATORY, "Authentication URL", "OS_AUTH_URL", "--openstack-auth-url");
	if (!*p->username)
		return error_set(ctx->err, EINVAL, MANDATORY, "Username", "OS_USERNAME", "--openstack-username");
	if (!*p->password)
		return error_set(ctx->err, EINVAL, MANDATORY, "Password", "OS_PASSWORD", "--openstack-password");
	if (!*p->tenant_name && !*p->tenant_id)
		return error_set(ctx->err, EINVAL, "Tenant id or name must be provided either using one of the environment variables OS_TENANT_ID and OS_TENANT_NAME or one of the CLI options --openstack-tenant-id and --openstack-tenant-name");
	if (!*p->flavor_name && !*p->flavor_id)
		return error_set(ctx->err, EINVAL, "Flavor name or Flavor id must be specified using the CLI option --openstack-flavor-name or --openstack-flavor-id");
	if (*p->flavor_name && *p->flavor_id)
		return error_set(ctx->err, EINVAL, "Either Flavor name or Flavor id must be specified, not both");
	if (!*p->image_name && !*p->image_id)
		return error_set(ctx->err, EINVAL, "Image name or Image id must be specified using the CLI option --openstack-image-name or --openstack-image-id");
	if (*p->image_name && *p->image_id)
		return error_set(ctx->err, EINVAL, "Either Image name or Image id must be specified, not both");
	if (*p->net_name && *p->net_id)
		return error_set(ctx->err, EINVAL, "Either Network name or Network id must be specified, not both");
	if (*p->endpoint_type && strcmp(p->endpoint_type, "publicURL") &&
	    strcmp(p->endpoint_type, "adminURL") && strcmp(p->endpoint_type, "internalURL"))
		return error_set(ctx->err, EINVAL, "Endpoint type must be 'publicURL', 'adminURL' or 'internalURL'");
	if (!*p->keypair_name != !*p->private_key_file)
		return error_set(ctx->err, EINVAL, "Both KeyPairName and PrivateKeyFile must be specified");
	/* Values that go into a header, a URL or a JSON string we build. */
	if (!os_only(p->auth_url, NULL) || strncmp(p->auth_url, "http", 4))
		return error_set(ctx->err, EINVAL, "invalid value for option 'openstack-auth-url': want an http(s) URL");
	if (!os_only(p->username, " ") || !os_only(p->password, " "))
		return error_set(ctx->err, EINVAL, "invalid username or password: control characters");
	const char *ids[] = { p->tenant_id, p->flavor_id, p->image_id, p->net_id, p->keypair_name, p->domain_id };
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (!os_only(ids[i], NULL) || strpbrk(ids[i], "/?#%&"))
			return error_set(ctx->err, EINVAL, "invalid id or name '%.60s': spaces, '/', '?', '#', '%%' or '&'", ids[i]);
	if (*p->userdata_file && access(p->userdata_file, R_OK))
		return error_errno(ctx->err, errno, "open %s", p->userdata_file);
	if (p->existing_key) {
		snprintf(ctx->base->ssh_key_path, sizeof(ctx->base->ssh_key_path), "%s/id_rsa", ctx->dir);
	} else {
		snprintf(ctx->base->ssh_key_path, sizeof(ctx->base->ssh_key_path), "%s/id_ed25519", ctx->dir);
	}
	return 0;
}

/* ---- small helpers ---- */

static void b64(struct strbuf *out, const unsigned char *s, size_t n)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
			     (i + 2 < n ? s[i + 2] : 0);
		strbuf_addch(out, t[v >> 18 & 63]);
		strbuf_addch(out, t[v >> 12 & 63]);
		strbuf_addch(out, i + 1 < n ? t[v >> 6 & 63] : '=');
		strbuf_addch(out, i + 2 < n ? t[v & 63] : '=');
	}
}

static void urlenc(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c))
			strbuf_addch(out, (char)c);
		else
			strbuf_addf(out, "%%%02X", c);
	}
}

static const char *secret_of(const struct os_priv *p)
{
	return p->rax ? p->api_key : p->password;
}

static const char *auth_url_of(const struct os_priv *p)
{
	return *p->auth_url ? p->auth_url : p->rax ? RAX_AUTH_URL : "";
}

/* ---- Keystone: a session (token and endpoints), cached in memory ---- */

struct os_sess {
	char token[8192];
	char compute[512];
	char network[512];
	char tenant_id[128];
	time_t expires;
};

#define CACHE_N 16
static struct {
	char key[4096];
	struct os_sess s;
	time_t used;
} cache[CACHE_N];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static void sess_key(const struct os_priv *p, char *key, size_t len)
{
	snprintf(key, len, "%d|%s|%s|%s|%s|%s|%s|%s|%s|%s", p->rax, auth_url_of(p), p->username,
		 p->domain_id, p->domain_name, p->tenant_id, p->tenant_name, p->region,
		 p->endpoint_type, secret_of(p));
}

static void cache_drop(const struct os_priv *p)
{
	char key[4096];
	sess_key(p, key, sizeof(key));
	pthread_mutex_lock(&cache_lock);
	for (int i = 0; i < CACHE_N; i++)
		if (!strcmp(cache[i].key, key)) {
			memset(&cache[i], 0, sizeof(cache[i]));
		}
	pthread_mutex_unlock(&cache_lock);
}

/* The endpoint of service type in a v2 or v3 catalog. */
static bool catalog_find(const cJSON *catalog, bool v3, const char *type, const char *region,
			 const char *etype, char *out, size_t len)
{
	const char *iface = !*etype || !strcmp(etype, "publicURL") ? "public" :
			    !strcmp(etype, "internalURL") ? "internal" : "admin";
	const char *key = !*etype ? "publicURL" : etype;
	const cJSON *svc;
	cJSON_ArrayForEach(svc, catalog) {
		if (strcmp(json_str(svc, "type", ""), type))
			continue;
		const cJSON *ep;
		cJSON_ArrayForEach(ep, cJSON_GetObjectItemCaseSensitive(svc, "endpoints")) {
			const char *r = json_str(ep, "region", json_str(ep, "region_id", ""));
			if (*region && strcmp(r, region) && strcmp(json_str(ep, "region_id", ""), region))
				continue;
			const char *u = v3 ? (!strcmp(json_str(ep, "interface", ""), iface) ?
					      json_str(ep, "url", "") : "") :
					     json_str(ep, key, "");
			if (*u) {
				snprintf(out, len, "%s", u);
				return true;
			}
		}
	}
	return false;
}

/* GET the unversioned auth URL: the identity base of v3 (preferred) or
 * v2.0, matched on the major version (a current Keystone says v3.14). */
static int discover(struct driver_ctx *ctx, const char *url, char *base, size_t len, bool *v3)
{
	struct http_resp rs = HTTP_RESP_INIT;
	struct strlist h = STRLIST_INIT;
	strlist_add(&h, "Accept: application/json");
	struct http_req rq = { .method = "GET", .url = url, .headers = &h };
	int rc = http_do(ctx, &rq, &rs);
	strlist_clear(&h);
	if (rc && rs.status == 300) /* Keystone answers 300 Multiple Choices */
		rc = 0;
	cJSON *root = NULL;
	if (!rc)
		rc = http_resp_json(ctx, &rs, "GET identity versions", &root);
	http_resp_release(&rs);
	if (rc)
		return rc;
	const cJSON *vs = cJSON_GetObjectItemCaseSensitive(root, "versions");
	if (cJSON_IsObject(vs))
		vs = cJSON_GetObjectItemCaseSensitive(vs, "values");
	int best = 0;
	const cJSON *v;
	cJSON_ArrayForEach(v, vs) {
		const char *id = json_str(v, "id", ""), *st = json_str(v, "status", "");
		if (strcmp(st, "stable") && strcmp(st, "current") && strcmp(st, "supported"))
			continue;
		int major = !strncmp(id, "v3", 2) ? 3 : !strncmp(id, "v2.0", 4) ? 2 : 0;
		if (major <= best)
			continue;
		const cJSON *l;
		cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(v, "links"))
			if (!strcmp(json_str(l, "rel", ""), "self") && *json_str(l, "href", "")) {
				snprintf(base, len, "%s", json_str(l, "href", ""));
				best = major;
			}
	}
	cJSON_Delete(root);
	if (!best)
		return error_set(ctx->err, ENOTSUP, "No supported version available from endpoint %.200s", url);
	*v3 = best == 3;
	return 0;
}

static int authenticate(struct driver_ctx *ctx, struct os_sess *s)
{
	const struct os_priv *p = ctx->priv;
	char base[600];
	bool v3 = false;
	int rc;
	snprintf(base, sizeof(base), "%s", auth_url_of(p));
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		base[--bl] = '\0';
	if (bl >= 5 && !strcmp(base + bl - 5, "/v2.0"))
		v3 = false;
	else if (bl >= 3 && !strcmp(base + bl - 3, "/v3"))
		v3 = true;
	else if ((rc = discover(ctx, auth_url_of(p), base, sizeof(base), &v3)))
		return rc;
	bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		base[--bl] = '\0';

	cJSON *body = cJSON_CreateObject(), *auth = cJSON_AddObjectToObject(body, "auth");
	if (p->rax) {
		cJSON *c = cJSON_AddObjectToObject(auth, "RAX-KSKEY:apiKeyCredentials");
		cJSON_AddStringToObject(c, "username", p->username);
		cJSON_AddStringToObject(c, "apiKey", p->api_key);
	} else if (!v3) {
		cJSON *c = cJSON_AddObjectToObject(auth, "passwordCredentials");
		cJSON_AddStringToObject(c, "username", p->username);
		cJSON_AddStringToObject(c, "password", p->password);
		if (*p->tenant_id)
			cJSON_AddStringToObject(auth, "tenantId", p->tenant_id);
		else
			cJSON_AddStringToObject(auth, "tenantName", p->tenant_name);
	} else {
		cJSON *id = cJSON_AddObjectToObject(auth, "identity");
		cJSON *m = cJSON_AddArrayToObject(id, "methods");
		cJSON_AddItemToArray(m, cJSON_CreateString("password"));
		cJSON *u = cJSON_AddObjectToObject(cJSON_AddObjectToObject(id, "password"), "user");
		cJSON_AddStringToObject(u, "name", p->username);
		cJSON_AddStringToObject(u, "password", p->password);
		cJSON *dom = cJSON_AddObjectToObject(u, "domain");
		if (*p->domain_id)
			cJSON_AddStringToObject(dom, "id", p->domain_id);
		else
			cJSON_AddStringToObject(dom, "name", *p->domain_name ? p->domain_name : "Default");
		cJSON *proj = cJSON_AddObjectToObject(cJSON_AddObjectToObject(auth, "scope"), "project");
		if (*p->tenant_id) {
			cJSON_AddStringToObject(proj, "id", p->tenant_id);
		} else {
			cJSON_AddStringToObject(proj, "name", p->tenant_name);
			cJSON *pd = cJSON_AddObjectToObject(proj, "domain");
			if (*p->domain_id)
				cJSON_AddStringToObject(pd, "id", p->domain_id);
			else
				cJSON_AddStringToObject(pd, "name", *p->domain_name ? p->domain_name : "Default");
		}
	}
	char *json = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	char url[700];
	snprintf(url, sizeof(url), "%s%s", base, v3 ? "/auth/tokens" : "/tokens");
	struct strlist h = STRLIST_INIT;
	strlist_add(&h, "Accept: application/json");
	strlist_add(&h, "Content-Type: application/json");
	const char *secrets[] = { secret_of(p), NULL };
	struct http_req rq = { .method = "POST", .url = url, .headers = &h, .body = json,
			       .body_len = strlen(json), .secrets = secrets, .idempotent = true };
	struct http_resp rs = HTTP_RESP_INIT;
	rc = http_do(ctx, &rq, &rs);
	memset(json, 0, strlen(json));
	free(json);
	strlist_clear(&h);
	cJSON *root = NULL;
	if (!rc)
		rc = http_resp_json(ctx, &rs, "identity token", &root);
	if (rc) {
		http_resp_release(&rs);
		return rc;
	}
	memset(s, 0, sizeof(*s));
	const cJSON *catalog;
	if (v3) {
		const char *t = http_resp_header(&rs, "X-Subject-Token");
		snprintf(s->token, sizeof(s->token), "%s", t ? t : "");
		const cJSON *tok = json_obj(root, "token");
		catalog = cJSON_GetObjectItemCaseSensitive(tok, "catalog");
		snprintf(s->tenant_id, sizeof(s->tenant_id), "%s", json_str(json_obj(tok, "project"), "id", ""));
		struct tm tm = { 0 };
		if (strptime(json_str(tok, "expires_at", ""), "%Y-%m-%dT%H:%M:%S", &tm))
			s->expires = timegm(&tm);
	} else {
		const cJSON *acc = json_obj(root, "access"), *tok = json_obj(acc, "token");
		snprintf(s->token, sizeof(s->token), "%s", json_str(tok, "id", ""));
		catalog = cJSON_GetObjectItemCaseSensitive(acc, "serviceCatalog");
		snprintf(s->tenant_id, sizeof(s->tenant_id), "%s", json_str(json_obj(tok, "tenant"), "id", ""));
		struct tm tm = { 0 };
		if (strptime(json_str(tok, "expires", ""), "%Y-%m-%dT%H:%M:%S", &tm))
			s->expires = timegm(&tm);
	}
	http_resp_release(&rs);
	if (!*s->token || !os_only(s->token, NULL)) {
		cJSON_Delete(root);
		return error_set(ctx->err, EBADMSG, "identity token: the answer has no usable token");
	}
	bool found = catalog_find(catalog, v3, "compute", p->region, p->endpoint_type,
				  s->compute, sizeof(s->compute));
	catalog_find(catalog, v3, "network", p->region, p->endpoint_type, s->network, sizeof(s->network));
	cJSON_Delete(root);
	if (!found)
		return error_set(ctx->err, ENOENT, "No suitable endpoint could be found in the service catalog (compute%s%s)",
				 *p->region ? ", region " : "", p->region);
	if (!s->expires)
		s->expires = time(NULL) + 3600;
	return 0;
}

/* A session: from the cache, or authenticate (force: always). */
static int session(struct driver_ctx *ctx, struct os_sess *s, bool force)
{
	char key[4096];
	sess_key(ctx->priv, key, sizeof(key));
	time_t now = time(NULL);
	if (!force) {
		pthread_mutex_lock(&cache_lock);
		for (int i = 0; i < CACHE_N; i++)
			if (!strcmp(cache[i].key, key) && cache[i].s.expires > now + 30) {
				*s = cache[i].s;
				cache[i].used = now;
				pthread_mutex_unlock(&cache_lock);
				return 0;
			}
		pthread_mutex_unlock(&cache_lock);
	}
	int rc = authenticate(ctx, s);
	if (rc)
		return rc;
	pthread_mutex_lock(&cache_lock);
	int slot = 0;
	for (int i = 0; i < CACHE_N; i++) {
		if (!strcmp(cache[i].key, key)) {
			slot = i;
			break;
		}
		if (cache[i].used < cache[slot].used)
			slot = i;
	}
	snprintf(cache[slot].key, sizeof(cache[slot].key), "%s", key);
	cache[slot].s = *s;
	cache[slot].used = now;
	pthread_mutex_unlock(&cache_lock);
	return 0;
}

/* One call to the compute ('c') or network ('n', v2.0/ added) service;
 * a 401 authenticates again and retries once. */
static int api(struct driver_ctx *ctx, struct os_sess *s, char svc, const char *method,
	       const char *path, const cJSON *body, struct http_resp *rs, int timeout_s)
{
	const struct os_priv *p = ctx->priv;
	int rc = 0;
	if (!*s->token && (rc = session(ctx, s, false)))
		return rc;
	char *json = body ? cJSON_PrintUnformatted(body) : NULL;
	for (int attempt = 0;; attempt++) {
		const char *ep = svc == 'n' ? s->network : s->compute;
		if (!*ep) {
			rc = error_set(ctx->err, ENOENT, "No suitable endpoint could be found in the service catalog (%s)",
				       svc == 'n' ? "network" : "compute");
			break;
		}
		struct strbuf url = STRBUF_INIT, tok = STRBUF_INIT;
		size_t el = strlen(ep);
		while (el && ep[el - 1] == '/')
			el--;
		strbuf_add(&url, ep, el);
		strbuf_addstr(&url, svc == 'n' ? "/v2.0/" : "/");
		strbuf_addstr(&url, path);
		strbuf_addf(&tok, "X-Auth-Token: %s", s->token);
		struct strlist h = STRLIST_INIT;
		strlist_add(&h, tok.buf);
		strlist_add(&h, "Accept: application/json");
		if (json)
			strlist_add(&h, "Content-Type: application/json");
		const char *secrets[] = { s->token, secret_of(p), NULL };
		struct http_req rq = { .method = method, .url = url.buf, .headers = &h, .body = json,
				       .body_len = json ? strlen(json) : 0, .secrets = secrets,
				       .timeout_s = timeout_s };
		http_resp_release(rs);
		*rs = (struct http_resp)HTTP_RESP_INIT;
		rc = http_do(ctx, &rq, rs);
		strlist_clear(&h);
		memset(tok.buf, 0, tok.len);
		strbuf_release(&tok);
		strbuf_release(&url);
		if (!(rc && rs->status == 401 && attempt == 0))
			break;
		driver_log(ctx, "the token was refused: authenticating again");
		cache_drop(p);
		if ((rc = session(ctx, s, true)))
			break;
	}
	free(json);
	return rc;
}

/* api() and the answer's JSON (caller deletes). */
static int api_json(struct driver_ctx *ctx, struct os_sess *s, char svc, const char *method,
		    const char *path, const cJSON *body, cJSON **out, long *status)
{
	struct http_resp rs = HTTP_RESP_INIT;
	int rc = api(ctx, s, svc, method, path, body, &rs, 0);
	if (status)
		*status = rs.status;
	*out = NULL;
	if (!rc && rs.body.len)
		rc = http_resp_json(ctx, &rs, path, out);
	http_resp_release(&rs);
	return rc;
}

/* DELETE; a 404 is success (already gone). */
static int del_404_ok(struct driver_ctx *ctx, struct os_sess *s, char svc, const char *path,
		      const char *what)
{
	struct http_resp rs = HTTP_RESP_INIT;
	int rc = api(ctx, s, svc, "DELETE", path, NULL, &rs, 0);
	if (rc && rs.status == 404) {
		driver_say(ctx, "%s does not exist, assuming it is already deleted", what);
		rc = 0;
	}
	http_resp_release(&rs);
	return rc;
}

/* ---- servers ---- */

/* The server's status and (addr) its address: accessIPv4 on Rackspace,
 * else the first of the wanted type (floating with a pool) and version. */
static int get_server(struct driver_ctx *ctx, struct os_sess *s, char *status, size_t slen,
		      char *addr, size_t alen, long *http_status)
{
	const struct os_priv *p = ctx->priv;
	char path[200];
	snprintf(path, sizeof(path), "servers/%s", p->machine_id);
	cJSON *root;
	int rc = api_json(ctx, s, 'c', "GET", path, NULL, &root, http_status);
	if (rc)
		return rc;
	const cJSON *srv = json_obj(root, "server");
	snprintf(status, slen, "%s", json_str(srv, "status", ""));
	if (addr) {
		addr[0] = '\0';
		if (p->rax) {
			snprintf(addr, alen, "%s", json_str(srv, "accessIPv4", ""));
		} else {
			const char *want = *p->fip_pool ? "floating" : "fixed";
			const cJSON *net;
			cJSON_ArrayForEach(net, json_obj(srv, "addresses")) {
				const cJSON *a;
				cJSON_ArrayForEach(a, net) {
					if (json_int(a, "version", 4) != p->ip_version ||
					    strcmp(json_str(a, "OS-EXT-IPS:type", "fixed"), want) || *addr)
						continue;
					snprintf(addr, alen, "%s", json_str(a, "addr", ""));
				}
			}
		}
	}
	cJSON_Delete(root);
	return 0;
}

/* Wait (bounded, cancellable) until the server's status is want. */
static int wait_status(struct driver_ctx *ctx, struct os_sess *s, const char *want, int timeout_s,
		       const char *what)
{
	const struct os_priv *p = ctx->priv;
	char status[64];
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, timeout_s, 1000); driver_wait_next(&w);) {
		int rc = get_server(ctx, s, status, sizeof(status), NULL, 0, NULL);
		if (rc)
			return rc;
		if (!strcmp(status, want))
			return 0;
		if (!strcmp(status, "ERROR"))
			return error_set(ctx->err, EIO, "Instance %s failed. Instance is in ERROR state", what);
	}
	if (w.timed_out)
		return error_set(ctx->err, ETIMEDOUT, "instance %s is '%s', not '%s', %d s after %s",
				 p->machine_id, status, want, timeout_s, what);
	return error_set(ctx->err, EINTR, "%s of '%s' was cancelled", what, ctx->machine);
}

/* ---- create ---- */

/* Name lookups, as Docker Machine's resolveIds. */
static int resolve_ids(struct driver_ctx *ctx, struct os_sess *s)
{
	struct os_priv *p = ctx->priv;
	struct strbuf path = STRBUF_INIT;
	cJSON *root = NULL;
	int rc = 0;
	const struct { const char *name; char *id; size_t len; } nets[] = {
		{ p->nova_network ? "" : p->net_name, p->net_id, sizeof(p->net_id) },
		{ p->nova_network ? "" : p->fip_pool, p->fip_pool_id, sizeof(p->fip_pool_id) },
	};
	for (size_t i = 0; !rc && i < 2; i++) {
		if (!*nets[i].name)
			continue;
		strbuf_reset(&path);
		strbuf_addstr(&path, "networks?name=");
		urlenc(&path, nets[i].name);
		rc = api_json(ctx, s, 'n', "GET", path.buf, NULL, &root, NULL);
		if (rc)
			break;
		const cJSON *n;
		nets[i].id[0] = '\0';
		cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(root, "networks"))
			if (!*nets[i].id && !strcmp(json_str(n, "name", ""), nets[i].name))
				snprintf(nets[i].id, nets[i].len, "%s", json_str(n, "id", ""));
		cJSON_Delete(root);
		root = NULL;
		if (!*nets[i].id || !os_only(nets[i].id, NULL) || strpbrk(nets[i].id, "/?#&%"))
			rc = error_set(ctx->err, ENOENT, "Unable to find network named %.100s", nets[i].name);
	}
	if (!rc && *p->flavor_name) {
		rc = api_json(ctx, s, 'c', "GET", "flavors/detail", NULL, &root, NULL);
		const cJSON *f;
		if (!rc)
			cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(root, "flavors"))
				if (!strcmp(json_str(f, "name", ""), p->flavor_name))
					snprintf(p->flavor_id, sizeof(p->flavor_id), "%s", json_str(f, "id", ""));
		cJSON_Delete(root);
		root = NULL;
		if (!rc && !*p->flavor_id)
			rc = error_set(ctx->err, ENOENT, "Unable to find flavor named %.100s", p->flavor_name);
	}
	if (!rc && *p->image_name) {
		strbuf_reset(&path);
		strbuf_addstr(&path, "images/detail?name=");
		urlenc(&path, p->image_name);
		rc = api_json(ctx, s, 'c', "GET", path.buf, NULL, &root, NULL);
		const cJSON *im;
		if (!rc)
			cJSON_ArrayForEach(im, cJSON_GetObjectItemCaseSensitive(root, "images"))
				if (!strcmp(json_str(im, "name", ""), p->image_name))
					snprintf(p->image_id, sizeof(p->image_id), "%s", json_str(im, "id", ""));
		cJSON_Delete(root);
		if (!rc && !*p->image_id)
			rc = error_set(ctx->err, ENOENT, "Unable to find image named %.100s", p->image_name);
	}
	/* Docker Machine asks Keystone v2 for the tenants; the token's own
	 * project is the same answer, for v2 and v3. */
	if (!rc && !*p->tenant_id && *s->tenant_id)
		snprintf(p->tenant_id, sizeof(p->tenant_id), "%s", s->tenant_id);
	strbuf_release(&path);
	return rc;
}

static int make_key(struct driver_ctx *ctx, struct os_sess *s)
{
	struct os_priv *p = ctx->priv;
	char path[PATH_MAX + 16];
	cJSON *root = NULL;
	int rc;
	if (p->existing_key) {
		snprintf(path, sizeof(path), "os-keypairs/%s", p->keypair_name);
		rc = api_json(ctx, s, 'c', "GET", path, NULL, &root, NULL);
		const char *pub = json_str(json_obj(root, "keypair"), "public_key", "");
		if (!rc)
			rc = copy_file(p->private_key_file, ctx->base->ssh_key_path, 0600, ctx->err);
		if (!rc) {
			snprintf(path, sizeof(path), "%s.pub", ctx->base->ssh_key_path);
			rc = write_file_atomic(path, pub, strlen(pub), 0600, ctx->err);
		}
		cJSON_Delete(root);
		return rc;
	}
	char name[256];
	unsigned char r[8];
	FILE *f = fopen("/dev/urandom", "rb");
	if (!f || fread(r, 1, sizeof(r), f) != sizeof(r))
		memset(r, 0x5a, sizeof(r));
	if (f)
		fclose(f);
	snprintf(name, sizeof(name), "%.200s-%02x%02x%02x%02x%02x%02x%02x%02x", ctx->machine,
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
	for (char *c = name; *c; c++)
		if (*c == '.')
			*c = '_';
	if ((rc = sshkey_generate_ed25519(ctx->base->ssh_key_path, ctx->machine, ctx->err)))
		return rc;
	struct strbuf pub = STRBUF_INIT;
	snprintf(path, sizeof(path), "%s.pub", ctx->base->ssh_key_path);
	if ((rc = read_file(path, &pub, ctx->err)))
		return rc;
	strbuf_rtrim(&pub);
	cJSON *body = cJSON_CreateObject(), *kp = cJSON_AddObjectToObject(body, "keypair");
	cJSON_AddStringToObject(kp, "name", name);
	cJSON_AddStringToObject(kp, "public_key", pub.buf);
	strbuf_release(&pub);
	rc = api_json(ctx, s, 'c', "POST", "os-keypairs", body, &root, NULL);
	cJSON_Delete(body);
	cJSON_Delete(root);
	if (rc)
		return rc;
	snprintf(p->keypair_name, sizeof(p->keypair_name), "%s", name);
	driver_log(ctx, "Created key pair %s", name);
	return driver_checkpoint(ctx);
}

static cJSON *server_request(struct driver_ctx *ctx, const struct strbuf *userdata)
{
	const struct os_priv *p = ctx->priv;
	cJSON *b = cJSON_CreateObject(), *srv = cJSON_AddObjectToObject(b, "server");
	cJSON_AddStringToObject(srv, "name", ctx->machine);
	cJSON_AddStringToObject(srv, "flavorRef", p->flavor_id);
	cJSON_AddStringToObject(srv, "imageRef", p->image_id);
	if (userdata->len) {
		struct strbuf e = STRBUF_INIT;
		b64(&e, (const unsigned char *)userdata->buf, userdata->len);
		cJSON_AddStringToObject(srv, "user_data", e.buf);
		strbuf_release(&e);
	}
	if (*p->sec_groups) {
		cJSON *sg = cJSON_AddArrayToObject(srv, "security_groups");
		for (const char *c = p->sec_groups; *c;) {
			size_t n = strcspn(c, ",");
			cJSON *o = cJSON_CreateObject();
			char *nm = strndup(c, n);
			cJSON_AddStringToObject(o, "name", nm);
			free(nm);
			cJSON_AddItemToArray(sg, o);
			c += n + (c[n] == ',');
		}
	}
	if (*p->avail_zone)
		cJSON_AddStringToObject(srv, "availability_zone", p->avail_zone);
	if (p->config_drive)
		cJSON_AddBoolToObject(srv, "config_drive", true);
	if (*p->metadata) {
		cJSON *md = cJSON_AddObjectToObject(srv, "metadata");
		char *copy = strdup(p->metadata), *save = NULL;
		for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
			char *v = strtok_r(NULL, ",", &save);
			if (!v) {
				driver_log(ctx, "Metadata are not key value in pairs");
				break;
			}
			cJSON_DeleteItemFromObjectCaseSensitive(md, k);
			cJSON_AddStringToObject(md, k, v);
		}
		free(copy);
	}
	if (*p->net_id) {
		cJSON *nets = cJSON_AddArrayToObject(srv, "networks"), *n = cJSON_CreateObject();
		cJSON_AddStringToObject(n, "uuid", p->net_id);
		cJSON_AddItemToArray(nets, n);
	}
	cJSON_AddStringToObject(srv, "key_name", p->keypair_name);
	return b;
}

/* Docker Machine's assignFloatingIP: a free one of the pool, else a new
 * one (recorded: rm deletes it). */
static int floating_ip(struct driver_ctx *ctx, struct os_sess *s)
{
	struct os_priv *p = ctx->priv;
	cJSON *root = NULL, *b;
	char path[600], fid[128] = "", faddr[64] = "";
	int rc;
	if (p->nova_network) {
		rc = api_json(ctx, s, 'c', "GET", "os-floating-ips", NULL, &root, NULL);
		if (rc)
			return rc;
		const cJSON *f;
		cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(root, "floating_ips"))
			if (!*faddr && !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(f, "instance_id")) &&
			    !strcmp(json_str(f, "pool", ""), p->fip_pool))
				snprintf(faddr, sizeof(faddr), "%s", json_str(f, "ip", ""));
		cJSON_Delete(root);
		if (!*faddr) {
			b = cJSON_CreateObject();
			cJSON_AddStringToObject(b, "pool", p->fip_pool);
			rc = api_json(ctx, s, 'c', "POST", "os-floating-ips", b, &root, NULL);
			cJSON_Delete(b);
			if (rc)
				return rc;
			const cJSON *fo = json_obj(root, "floating_ip");
			const cJSON *idv = cJSON_GetObjectItemCaseSensitive(fo, "id");
			if (cJSON_IsNumber(idv))
				snprintf(p->fip_id, sizeof(p->fip_id), "%ld", (long)idv->valuedouble);
			else
				snprintf(p->fip_id, sizeof(p->fip_id), "%s", json_str(fo, "id", ""));
			snprintf(faddr, sizeof(faddr), "%s", json_str(fo, "ip", ""));
			cJSON_Delete(root);
			snprintf(p->fip_addr, sizeof(p->fip_addr), "%s", faddr);
			if (!*p->fip_id || !os_only(p->fip_id, NULL) || strchr(p->fip_id, '/'))
				return error_set(ctx->err, EBADMSG, "POST os-floating-ips: the answer has no floating_ip.id");
			driver_log(ctx, "Allocated floating IP %s (%s)", faddr, p->fip_id);
			if ((rc = driver_checkpoint(ctx)))
				return rc;
		}
		b = cJSON_CreateObject();
		cJSON_AddStringToObject(cJSON_AddObjectToObject(b, "addFloatingIp"), "address", faddr);
		snprintf(path, sizeof(path), "servers/%s/action", p->machine_id);
		rc = api_json(ctx, s, 'c', "POST", path, b, &root, NULL);
		cJSON_Delete(b);
		cJSON_Delete(root);
		return rc;
	}
	/* Neutron: the server's port, then a free floating IP or a new one. */
	struct strbuf q = STRBUF_INIT;
	strbuf_addstr(&q, "ports?device_id=");
	urlenc(&q, p->machine_id);
	if (*p->net_id) {
		strbuf_addstr(&q, "&network_id=");
		urlenc(&q, p->net_id);
	}
	rc = api_json(ctx, s, 'n', "GET", q.buf, NULL, &root, NULL);
	char port[128] = "";
	if (!rc) {
		const cJSON *pt = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "ports"), 0);
		snprintf(port, sizeof(port), "%s", json_str(pt, "id", ""));
	}
	cJSON_Delete(root);
	if (!rc && !*port)
		rc = error_set(ctx->err, ENOENT, "instance %s has no port to attach a floating IP to", p->machine_id);
	if (!rc) {
		strbuf_reset(&q);
		strbuf_addstr(&q, "floatingips?floating_network_id=");
		urlenc(&q, p->fip_pool_id);
		strbuf_addstr(&q, "&tenant_id=");
		urlenc(&q, p->tenant_id);
		rc = api_json(ctx, s, 'n', "GET", q.buf, NULL, &root, NULL);
		const cJSON *f;
		if (!rc)
			cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(root, "floatingips"))
				if (!*fid && !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(f, "port_id")))
					snprintf(fid, sizeof(fid), "%s", json_str(f, "id", ""));
		cJSON_Delete(root);
	}
	strbuf_release(&q);
	if (rc)
		return rc;
	b = cJSON_CreateObject();
	cJSON *fo = cJSON_AddObjectToObject(b, "floatingip");
	if (*fid && os_only(fid, NULL) && !strpbrk(fid, "/?#")) {
		cJSON_AddStringToObject(fo, "port_id", port);
		snprintf(path, sizeof(path), "floatingips/%s", fid);
		rc = api_json(ctx, s, 'n', "PUT", path, b, &root, NULL);
		cJSON_Delete(root);
	} else {
		cJSON_AddStringToObject(fo, "floating_network_id", p->fip_pool_id);
		cJSON_AddStringToObject(fo, "port_id", port);
		rc = api_json(ctx, s, 'n', "POST", "floatingips", b, &root, NULL);
		if (!rc) {
			const cJSON *o = json_obj(root, "floatingip");
			snprintf(p->fip_id, sizeof(p->fip_id), "%s", json_str(o, "id", ""));
			snprintf(p->fip_addr, sizeof(p->fip_addr), "%s", json_str(o, "floating_ip_address", ""));
			if (!*p->fip_id || !os_only(p->fip_id, NULL) || strchr(p->fip_id, '/')) {
				p->fip_id[0] = '\0';
				rc = error_set(ctx->err, EBADMSG, "POST floatingips: the answer has no floatingip.id");
			} else {
				driver_log(ctx, "Allocated floating IP %s (%s)", p->fip_addr, p->fip_id);
				rc = driver_checkpoint(ctx);
			}
		}
		cJSON_Delete(root);
	}
	cJSON_Delete(b);
	return rc;
}

static int wait_ip(struct driver_ctx *ctx, struct os_sess *s)
{
	const struct os_priv *p = ctx->priv;
	char status[64], ip[256];
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, p->active_timeout, 1000); driver_wait_next(&w);) {
		int rc = get_server(ctx, s, status, sizeof(status), ip, sizeof(ip), NULL);
		if (rc)
			return rc;
		if (*ip) {
			if (!os_only(ip, NULL))
				return error_set(ctx->err, EBADMSG, "the server's address is not an address");
			snprintf(ctx->base->ip, sizeof(ctx->base->ip), "%s", ip);
			return 0;
		}
	}
	if (w.timed_out)
		return error_set(ctx->err, ETIMEDOUT, "No IP found for the machine");
	return error_set(ctx->err, EINTR, "create of '%s' was cancelled", ctx->machine);
}

static int delete_fip(struct driver_ctx *ctx, struct os_sess *s)
{
	struct os_priv *p = ctx->priv;
	char path[300];
	int rc = 0;
	if (!*p->fip_id)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", p->nova_network ? "os-floating-ips" : "floatingips", p->fip_id);
	rc = del_404_ok(ctx, s, p->nova_network ? 'c' : 'n', path, "Floating IP");
	if (!rc)
		p->fip_id[0] = p->fip_addr[0] = '\0';
	return rc;
}

static int delete_server(struct driver_ctx *ctx, struct os_sess *s)
{
	struct os_priv *p = ctx->priv;
	char path[300];
	if (!*p->machine_id)
		return 0;
	snprintf(path, sizeof(path), "servers/%s", p->machine_id);
	int rc = del_404_ok(ctx, s, 'c', path, "Remote instance");
	if (!rc)
		p->machine_id[0] = '\0';
	return rc;
}

static int delete_key(struct driver_ctx *ctx, struct os_sess *s)
{
	struct os_priv *p = ctx->priv;
	char path[400];
	if (p->existing_key || !*p->keypair_name)
		return 0;
	snprintf(path, sizeof(path), "os-keypairs/%s", p->keypair_name);
	int rc = del_404_ok(ctx, s, 'c', path, "Keypair");
	if (!rc)
		p->keypair_name[0] = '\0';
	return rc;
}

static void left_add(char *left, size_t len, const char *what, const char *id, const char *why)
{
	size_t l = strlen(left);
	snprintf(left + l, len - l, "%s%s %.80s (%.120s)", l ? ", " : "", what, id, why);
}

/* After a failed create: floating IP, server, key pair (the reverse of
 * creation), even when cancelled; ctx->err names what was left. */
static void undo_create(struct driver_ctx *ctx, struct os_sess *s)
{
	struct os_priv *p = ctx->priv;
	struct driver_ctx c = *ctx;
	c.cancel = NULL;
	char left[ERR_MAX] = "";
	if (delete_fip(&c, s))
		left_add(left, sizeof(left), "floating IP", p->fip_id, c.err);
	if (delete_server(&c, s))
		left_add(left, sizeof(left), "instance", p->machine_id, c.err);
	if (delete_key(&c, s))
		left_add(left, sizeof(left), "key pair", p->keypair_name, c.err);
	driver_checkpoint(&c);
	if (*left) {
		char why[ERR_MAX];
		snprintf(why, sizeof(why), "%s", ctx->err);
		snprintf(ctx->err, ERR_MAX, "%.200s; could not delete %.280s", why, left);
		driver_log(ctx, "left behind after the failed create: %s", left);
	} else if (*p->machine_id || *p->keypair_name || *p->fip_id) {
		driver_log(ctx, "deleted what the failed create made");
	}
}

int os_create(struct driver_ctx *ctx)
{
	struct os_priv *p = ctx->priv;
	struct os_sess *s = calloc(1, sizeof(*s));
	struct strbuf userdata = STRBUF_INIT;
	if (!s)
		return error_set(ctx->err, ENOMEM, "out of memory");
	int rc = 0;
	if (*p->userdata_file)
		rc = read_file(p->userdata_file, &userdata, ctx->err);
	if (!rc)
		rc = session(ctx, s, false);
	if (!rc && !p->rax)
		rc = resolve_ids(ctx, s);
	if (!rc) {
		driver_say(ctx, "Creating key pair...");
		rc = make_key(ctx, s);
	}
	bool made = false;
	if (!rc) {
		driver_say(ctx, "Creating machine...");
		cJSON *body = server_request(ctx, &userdata), *root = NULL;
		rc = api_json(ctx, s, 'c', "POST", "servers", body, &root, NULL);
		cJSON_Delete(body);
		const char *id = json_str(json_obj(root, "server"), "id", "");
		if (!rc && (!*id || strlen(id) >= sizeof(p->machine_id) || !os_only(id, NULL) ||
			    strpbrk(id, "/?#")))
			rc = error_set(ctx->err, EBADMSG, "POST servers: the answer has no server.id");
		if (!rc) {
			snprintf(p->machine_id, sizeof(p->machine_id), "%s", id);
			driver_log(ctx, "Created instance %s", id);
			made = true;
			rc = driver_checkpoint(ctx);
		}
		cJSON_Delete(root);
	}
	(void)made;
	if (!rc) {
		driver_say(ctx, "Waiting for the OpenStack instance to be ACTIVE...");
		rc = wait_status(ctx, s, "ACTIVE", p->active_timeout, "creation");
	}
	if (!rc && !p->rax && *p->fip_pool) {
		driver_say(ctx, "Assigning a floating IP from pool %s...", p->fip_pool);
		rc = floating_ip(ctx, s);
	}
	if (!rc)
		rc = wait_ip(ctx, s);
	if (!rc) {
		driver_log(ctx, "Created instance %s, IP address %s", p->machine_id, ctx->base->ip);
		driver_checkpoint(ctx);
	}
	strbuf_release(&userdata);
	if (rc)
		undo_create(ctx, s);
	memset(s, 0, sizeof(*s));
	free(s);
	return rc;
}

/* ---- the rest of the life cycle ---- */

int os_remove(struct driver_ctx *ctx)
{
	struct os_priv *p = ctx->priv;
	if (!*p->machine_id && !*p->fip_id && (p->existing_key || !*p->keypair_name))
		return 0;
	struct os_sess *s = calloc(1, sizeof(*s));
	if (!s)
		return error_set(ctx->err, ENOMEM, "out of memory");
	driver_say(ctx, "Deleting OpenStack instance...");
	int rc = delete_server(ctx, s);
	if (!rc)
		rc = delete_fip(ctx, s);
	if (!rc)
		rc = delete_key(ctx, s);
	memset(s, 0, sizeof(*s));
	free(s);
	return rc;
}

static enum machine_state state_of(const char *st)
{
	if (!strcmp(st, "ACTIVE"))
		return MS_RUNNING;
	if (!strcmp(st, "PAUSED"))
		return MS_PAUSED;
	if (!strcmp(st, "SUSPENDED"))
		return MS_SAVED;
	if (!strcmp(st, "SHUTOFF"))
		return MS_STOPPED;
	if (!strcmp(st, "BUILDING") || !strcmp(st, "BUILD"))
		return MS_STARTING;
	if (!strcmp(st, "ERROR"))
		return MS_ERROR;
	return MS_NONE;
}

int os_state(struct driver_ctx *ctx, enum machine_state *out)
{
	const struct os_priv *p = ctx->priv;
	if (!*p->machine_id)
		return error_set(ctx->err, ENOENT, "no instance recorded for '%s'", ctx->machine);
	struct driver_ctx quiet = *ctx;
	quiet.log_fn = NULL;
	struct os_sess *s = calloc(1, sizeof(*s));
	if (!s)
		return error_set(ctx->err, ENOMEM, "out of memory");
	char st[64];
	int rc = get_server(&quiet, s, st, sizeof(st), NULL, 0, NULL);
	free(s);
	if (rc)
		snprintf(ctx->err, ERR_MAX, "%s", quiet.err);
	*out = rc ? MS_ERROR : state_of(st);
	return rc;
}

/* POST servers/ID/action body, then wait for want. */
static int action(struct driver_ctx *ctx, const char *json, const char *want, const char *what)
{
	const struct os_priv *p = ctx->priv;
	struct os_sess *s = calloc(1, sizeof(*s));
	if (!s)
		return error_set(ctx->err, ENOMEM, "out of memory");
	char path[300];
	snprintf(path, sizeof(path), "servers/%s/action", p->machine_id);
	cJSON *body = cJSON_Parse(json), *root = NULL;
	int rc = api_json(ctx, s, 'c', "POST", path, body, &root, NULL);
	cJSON_Delete(body);
	cJSON_Delete(root);
	if (!rc)
		rc = wait_status(ctx, s, want, p->active_timeout, what);
	free(s);
	return rc;
}

static int os_start(struct driver_ctx *ctx)
{
	return action(ctx, "{\"os-start\":null}", "ACTIVE", "start");
}

static int os_stop(struct driver_ctx *ctx)
{
	return action(ctx, "{\"os-stop\":null}", "SHUTOFF", "stop");
}

int os_restart(struct driver_ctx *ctx)
{
	return action(ctx, "{\"reboot\":{\"type\":\"SOFT\"}}", "ACTIVE", "restart");
}

int os_url(struct driver_ctx *ctx, char *buf, size_t len)
{
	if (!*ctx->base->ip)
		return -ENOENT;
	bool v6 = strchr(ctx->base->ip, ':') != NULL;
	snprintf(buf, len, "tcp://%s%s%s:2376", v6 ? "[" : "", ctx->base->ip, v6 ? "]" : "");
	return 0;
}

/* ---- config.json ---- */

#define S(key, f) { key, p->f, sizeof(p->f) }
int os_load(struct driver_ctx *ctx, const cJSON *o)
{
	struct os_priv *p = ctx->priv;
	struct { const char *key; char *dst; size_t len; } s[] = {
		S("AuthUrl", auth_url), S("CaCert", cacert), S("DomainID", domain_id),
		S("DomainName", domain_name), S("Username", username), S("Password", password),
		S("TenantName", tenant_name), S("TenantId", tenant_id), S("Region", region),
		S("AvailabilityZone", avail_zone), S("EndpointType", endpoint_type),
		S("MachineId", machine_id), S("FlavorName", flavor_name), S("FlavorId", flavor_id),
		S("ImageName", image_name), S("ImageId", image_id), S("KeyPairName", keypair_name),
		S("NetworkName", net_name), S("NetworkId", net_id), S("PrivateKeyFile", private_key_file),
		S("FloatingIpPool", fip_pool), S("FloatingIpPoolId", fip_pool_id),
		S("UserDataFile", userdata_file), S("Metadata", metadata),
		S("FloatingIpId", fip_id), S("FloatingIp", fip_addr), S("APIKey", api_key),
	};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		snprintf(s[i].dst, s[i].len, "%s", json_str(o, s[i].key, ""));
	p->active_timeout = (int)json_int(o, "ActiveTimeout", 200);
	p->insecure = json_bool(o, "Insecure", false);
	p->nova_network = json_bool(o, "ComputeNetwork", false);
	p->ip_version = (int)json_int(o, "IpVersion", 4);
	p->config_drive = json_bool(o, "ConfigDrive", false);
	p->existing_key = json_bool(o, "ExistingKey", false);
	p->sec_groups[0] = '\0';
	const cJSON *sg;
	cJSON_ArrayForEach(sg, cJSON_GetObjectItemCaseSensitive(o, "SecurityGroups")) {
		size_t l = strlen(p->sec_groups);
		if (cJSON_IsString(sg))
			snprintf(p->sec_groups + l, sizeof(p->sec_groups) - l, "%s%s", l ? "," : "", sg->valuestring);
	}
	if (p->active_timeout <= 0)
		p->active_timeout = 200;
	if (p->ip_version != 6)
		p->ip_version = 4;
	p->rax = false;
	if (!*p->auth_url) {
		const char *e = getenv("OS_AUTH_URL");
		snprintf(p->auth_url, sizeof(p->auth_url), "%s", e && *e ? e : "");
	}
	return 0;
}

int os_save(const struct driver_ctx *ctx, cJSON *o)
{
	const struct os_priv *p = ctx->priv;
	json_put_str(o, "AuthUrl", p->auth_url);
	json_put_int(o, "ActiveTimeout", p->active_timeout);
	json_put_bool(o, "Insecure", p->insecure);
	json_put_str(o, "CaCert", p->cacert);
	json_put_str(o, "DomainID", p->domain_id);
	json_put_str(o, "DomainName", p->domain_name);
	json_put_str(o, "Username", p->username);
	json_put_str(o, "Password", p->password);
	json_put_str(o, "TenantName", p->tenant_name);
	json_put_str(o, "TenantId", p->tenant_id);
	json_put_str(o, "Region", p->region);
	json_put_str(o, "AvailabilityZone", p->avail_zone);
	json_put_str(o, "EndpointType", p->endpoint_type);
	json_put_str(o, "MachineId", p->machine_id);
	json_put_str(o, "FlavorName", p->flavor_name);
	json_put_str(o, "FlavorId", p->flavor_id);
	json_put_str(o, "ImageName", p->image_name);
	json_put_str(o, "ImageId", p->image_id);
	json_put_str(o, "KeyPairName", p->keypair_name);
	json_put_str(o, "NetworkName", p->net_name);
	json_put_str(o, "NetworkId", p->net_id);
	json_put(o, "UserData", cJSON_CreateNull());
	json_put_str(o, "PrivateKeyFile", p->private_key_file);
	cJSON *sg = cJSON_CreateArray();
	for (const char *c = p->sec_groups; *c;) {
		size_t n = strcspn(c, ",");
		char *nm = strndup(c, n);
		cJSON_AddItemToArray(sg, cJSON_CreateString(nm));
		free(nm);
		c += n + (c[n] == ',');
	}
	if (cJSON_GetArraySize(sg))
		json_put(o, "SecurityGroups", sg);
	else {
		cJSON_Delete(sg);
		json_put(o, "SecurityGroups", cJSON_CreateNull());
	}
	json_put_str(o, "FloatingIpPool", p->fip_pool);
	json_put_bool(o, "ComputeNetwork", p->nova_network);
	json_put_str(o, "FloatingIpPoolId", p->fip_pool_id);
	json_put_int(o, "IpVersion", p->ip_version);
	json_put_bool(o, "ConfigDrive", p->config_drive);
	json_put_bool(o, "ExistingKey", p->existing_key);
	if (p->rax)
		json_put_str(o, "APIKey", p->api_key);
	json_put_str(o, "UserDataFile", p->userdata_file);
	json_put_str(o, "Metadata", p->metadata);
	json_put_str(o, "FloatingIpId", p->fip_id);
	json_put_str(o, "FloatingIp", p->fip_addr);
	return 0;
}

const struct machine_driver openstack_driver = {
	.name = "openstack",
	.supports = DRV_START | DRV_STOP | DRV_RESTART | DRV_KILL | DRV_SSH | DRV_REMOVE,
	.options = os_options,
	.priv_size = sizeof(struct os_priv),
	.configure = os_configure,
	.create = os_create,
	.remove = os_remove,
	.start = os_start,
	.stop = os_stop,
	.restart = os_restart,
	.kill = os_stop, /* Docker Machine's Kill is Stop */
	.state = os_state,
	.url = os_url,
	.load = os_load,
	.save = os_save,
};
