/* The "softlayer" driver: Docker Machine 0.16's drivers/softlayer over the
 * IBM Cloud classic infrastructure (SoftLayer) REST API (drivers/http.c),
 * HTTP Basic auth with softlayer-user and softlayer-api-key, the same
 * calls in the same order:
 *   create  POST SoftLayer_Security_Ssh_Key {"parameters":[{key,label}]},
 *           POST SoftLayer_Virtual_Guest.json {"parameters":[spec]},
 *           GET .../ID/getPrimaryIpAddress.json (or
 *           getPrimaryBackendIpAddress.json with private-net-only) until an
 *           IPv4, GET .../ID/getPowerState.json until Running, GET
 *           .../ID/getActiveTransaction.json until none three times in a row
 *   state   getPowerState: Running Running, Halted Stopped
 *   start   powerOn; stop powerOffSoft; kill powerOff; restart rebootSoft
 *           (each then waits, bounded and cancellable, for the power state
 *           and for no active transaction; Docker Machine does not wait,
 *           and its stop is a hard powerOff)
 *   remove  DELETE SoftLayer_Virtual_Guest/ID, DELETE
 *           SoftLayer_Security_Ssh_Key/ID (404: already gone)
 * Unlike Docker Machine, every wait is bounded, and no orphans: each id is
 * saved (driver_checkpoint) the moment the API returns it, and a failed
 * create deletes what it made (guest, then key). The store keeps Docker
 * Machine's layout: "Id", "SSHKeyID", "Client": {"User","ApiKey","Endpoint"}. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "drivers/driver.h"
#include "drivers/http.h"
#include "drivers/wait.h"
#include "drivers/sshkey.h"
#include "lib/fileutil.h"
#include "lib/json.h"

#define SL_API_URL "https://api.softlayer.com/rest/v3"
#define SL_CREATE_WAIT_S 1200 /* Docker Machine waits for ever */
#define SL_POWER_WAIT_S 300

struct sl_priv {
	char user[256];          /* Client.User */
	char api_key[512];       /* Client.ApiKey (secret) */
	char endpoint[512];      /* Client.Endpoint */
	long id;                 /* Id: the guest */
	long ssh_key_id;         /* SSHKeyID */
	/* Docker Machine keeps its deviceConfig in memory only; machinefs
	 * stores it (keys of its own) so that state and ip know private-net. */
	char hostname[256];
	char domain[256];
	char region[64];
	char image[128];
	int cpu, memory, disk_size, public_vlan, private_vlan, max_speed;
	bool hourly, local_disk, private_net;
};

static const struct driver_option sl_options[] = {
	{ "softlayer-memory", OPT_INT, "1024", "SOFTLAYER_MEMORY", "Memory in MB for machine", 0, NULL },
	{ "softlayer-disk-size", OPT_INT, "0", "SOFTLAYER_DISK_SIZE", "Disk size for machine, a value of 0 uses the default size on softlayer", 0, NULL },
	{ "softlayer-user", OPT_STRING, NULL, "SOFTLAYER_USER", "softlayer user account name", 0, NULL },
	{ "softlayer-api-key", OPT_STRING, NULL, "SOFTLAYER_API_KEY", "softlayer user API key", OPT_SECRET, "Client.ApiKey" },
	{ "softlayer-region", OPT_STRING, "dal01", "SOFTLAYER_REGION", "softlayer region for machine", 0, NULL },
	{ "softlayer-cpu", OPT_INT, "1", "SOFTLAYER_CPU", "number of CPU's for the machine", 0, NULL },
	{ "softlayer-hostname", OPT_STRING, NULL, "SOFTLAYER_HOSTNAME", "hostname for the machine - defaults to machine name", 0, NULL },
	{ "softlayer-domain", OPT_STRING, NULL, "SOFTLAYER_DOMAIN", "domain name for machine", 0, NULL },
	{ "softlayer-api-endpoint", OPT_STRING, SL_API_URL, "SOFTLAYER_API_ENDPOINT", "softlayer api endpoint to use (an http:// URL only on loopback)", 0, NULL },
	{ "softlayer-hourly-billing", OPT_BOOL, "true", "SOFTLAYER_HOURLY_BILLING", "set hourly billing for machine - on by default", 0, NULL },
	{ "softlayer-local-disk", OPT_BOOL, NULL, "SOFTLAYER_LOCAL_DISK", "use machine local disk instead of softlayer SAN", 0, NULL },
	{ "softlayer-private-net-only", OPT_BOOL, NULL, "SOFTLAYER_PRIVATE_NET", "Use only private networking", 0, NULL },
	{ "softlayer-image", OPT_STRING, "UBUNTU_LATEST", "SOFTLAYER_IMAGE", "OS image for machine", 0, NULL },
	{ "softlayer-public-vlan-id", OPT_INT, "0", "SOFTLAYER_PUBLIC_VLAN_ID", "public VLAN id (primaryNetworkComponent)", 0, NULL },
	{ "softlayer-private-vlan-id", OPT_INT, "0", "SOFTLAYER_PRIVATE_VLAN_ID", "private VLAN id (primaryBackendNetworkComponent)", 0, NULL },
	{ "softlayer-network-max-speed", OPT_INT, "100", "SOFTLAYER_NETWORK_MAX_SPEED", "Max speed of public and private network", 0, NULL },
	{ NULL },
};

extern const struct machine_driver softlayer_driver;

/* ---- options ---- */

static int put(struct driver_ctx *ctx, char *dst, size_t len, const char *name)
{
	return driver_opt_copy(ctx, &softlayer_driver, name, dst, len);
}

static int put_int(struct driver_ctx *ctx, int *dst, const char *name, long lo, long hi)
{
	return driver_opt_range(ctx, &softlayer_driver, name, lo, hi, dst);
}

/* No control character, space or non-ASCII byte (header and URL values). */
static bool clean(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static int sl_configure(struct driver_ctx *ctx)
{
	struct sl_priv *p = ctx->priv;
	int rc;
	if ((rc = put(ctx, p->endpoint, sizeof(p->endpoint), "softlayer-api-endpoint")) ||
	    (rc = put(ctx, p->user, sizeof(p->user), "softlayer-user")) ||
	    (rc = put(ctx, p->api_key, sizeof(p->api_key), "softlayer-api-key")))
		return rc;
	/* Docker Machine's validateClientConfig, in its order. */
	if (!*p->api_key)
		return error_set(ctx->err, EINVAL, "missing required setting - --softlayer-api-key");
	if (!*p->user)
		return error_set(ctx->err, EINVAL, "missing required setting - --softlayer-user");
	if (!*p->endpoint)
		return error_set(ctx->err, EINVAL, "missing required setting - --softlayer-api-endpoint");
	if (!clean(p->api_key) || strchr(p->user, ':') || !clean(p->user))
		return error_set(ctx->err, EINVAL,
				 "invalid softlayer-user or softlayer-api-key: spaces, control characters or ':' in the user");
	if ((rc = put(ctx, p->hostname, sizeof(p->hostname), "softlayer-hostname")) ||
	    (rc = put(ctx, p->domain, sizeof(p->domain), "softlayer-domain")) ||
	    (rc = put(ctx, p->region, sizeof(p->region), "softlayer-region")) ||
	    (rc = put(ctx, p->image, sizeof(p->image), "softlayer-image")) ||
	    (rc = put_int(ctx, &p->memory, "softlayer-memory", 0, 1L << 30)) ||
	    (rc = put_int(ctx, &p->disk_size, "softlayer-disk-size", 0, 1L << 30)) ||
	    (rc = put_int(ctx, &p->cpu, "softlayer-cpu", 0, 1024)) ||
	    (rc = put_int(ctx, &p->public_vlan, "softlayer-public-vlan-id", 0, 0x7fffffff)) ||
	    (rc = put_int(ctx, &p->private_vlan, "softlayer-private-vlan-id", 0, 0x7fffffff)) ||
	    (rc = put_int(ctx, &p->max_speed, "softlayer-network-max-speed", 0, 1000000)))
		return rc;
	p->hourly = driver_opt_env_bool(ctx, &softlayer_driver, "softlayer-hourly-billing");
	p->local_disk = driver_opt_env_bool(ctx, &softlayer_driver, "softlayer-local-disk");
	p->private_net = driver_opt_env_bool(ctx, &softlayer_driver, "softlayer-private-net-only");
	if (!*p->hostname)
		snprintf(p->hostname, sizeof(p->hostname), "%s", ctx->machine);
	/* Docker Machine's validateDeviceConfig. */
	if (!*p->domain)
		return error_set(ctx->err, EINVAL, "missing required setting - --softlayer-domain");
	if (!*p->region)
		return error_set(ctx->err, EINVAL, "missing required setting - --softlayer-region");
	if (p->cpu < 1)
		return error_set(ctx->err, EINVAL, "missing required setting - --softlayer-cpu");
	if (p->private_net && p->public_vlan > 0)
		return error_set(ctx->err, EINVAL,
				 "can not specify both --softlayer-private-net-only and --softlayer-public-vlan-id");
	if (p->public_vlan > 0 && p->private_vlan == 0)
		return error_set(ctx->err, EINVAL,
				 "missing required setting - --softlayer-private-vlan-id (because --softlayer-public-vlan-id is specified)");
	if (p->private_vlan > 0 && !p->private_net && p->public_vlan == 0)
		return error_set(ctx->err, EINVAL,
				 "missing required setting - --softlayer-public-vlan-id (because --softlayer-private-vlan-id is specified)");
	snprintf(ctx->base->ssh_user, sizeof(ctx->base->ssh_user), "root");
	ctx->base->ssh_port = 22;
	snprintf(ctx->base->ssh_key_path, sizeof(ctx->base->ssh_key_path), "%s/id_ed25519", ctx->dir);
	ctx->base->ip[0] = '\0';
	p->id = 0;
	p->ssh_key_id = 0;
	return 0;
}

/* ---- the API ---- */

static char *base64_encode(const unsigned char *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

static int api(struct driver_ctx *ctx, const char *method, const char *path,
	       const cJSON *body, struct http_resp *rs, int timeout_s)
{
	const struct sl_priv *p = ctx->priv;
	if (!clean(p->api_key) || !clean(p->user))
		return error_set(ctx->err, EINVAL, "the stored softlayer credentials have spaces or control characters");
	struct strbuf url = STRBUF_INIT, cred = STRBUF_INIT, auth = STRBUF_INIT;
	const char *base = *p->endpoint ? p->endpoint : SL_API_URL;
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	strbuf_add(&url, base, bl);
	strbuf_addf(&url, "/%s", path);
	strbuf_addf(&cred, "%s:%s", p->user, p->api_key);
	char *b64 = base64_encode((const unsigned char *)cred.buf, cred.len);
	strbuf_addf(&auth, "Authorization: Basic %s", b64 ? b64 : "");
	struct strlist h = STRLIST_INIT;
	strlist_add(&h, auth.buf);
	strlist_add(&h, "Accept: application/json");
	char *json = body ? cJSON_PrintUnformatted(body) : NULL;
	if (json)
		strlist_add(&h, "Content-Type: application/json");
	const char *secrets[] = { p->api_key, b64, NULL };
	struct http_req rq = {
		.method = method, .url = url.buf, .headers = &h,
		.body = json, .body_len = json ? strlen(json) : 0,
		.secrets = secrets, .timeout_s = timeout_s,
	};
	int rc = http_do(ctx, &rq, rs);
	free(json);
	strlist_clear(&h);
	memset(auth.buf, 0, auth.len);
	memset(cred.buf, 0, cred.len);
	if (b64) {
		memset(b64, 0, strlen(b64));
		free(b64);
	}
	strbuf_release(&auth);
	strbuf_release(&cred);
	strbuf_release(&url);
	return rc;
}

/* GET path; the answer's JSON into *out (caller deletes). */
static int api_get_json(struct driver_ctx *ctx, const char *path, cJSON **out, int timeout_s)
{
	struct http_resp rs = HTTP_RESP_INIT;
	int rc = api(ctx, "GET", path, NULL, &rs, timeout_s);
	*out = NULL;
	if (!rc) {
		/* An empty answer is SoftLayer's null. */
		if (!rs.body.len)
			*out = cJSON_CreateNull();
		else
			rc = http_resp_json(ctx, &rs, path, out);
	}
	http_resp_release(&rs);
	return rc;
}

static int answer_id(struct driver_ctx *ctx, const struct http_resp *rs, const char *what, long *id)
{
	cJSON *root;
	int rc = http_resp_json(ctx, rs, what, &root);
	if (rc)
		return rc;
	*id = json_int(root, "id", 0);
	cJSON_Delete(root);
	if (*id <= 0)
		return error_set(ctx->err, EBADMSG, "%s: the answer has no id", what);
	return 0;
}

static int delete_404_ok(struct driver_ctx *ctx, const char *path)
{
	struct http_resp rs = HTTP_RESP_INIT;
	int rc = api(ctx, "DELETE", path, NULL, &rs, 0);
	if (rc && rs.status == 404) {
		driver_log(ctx, "%s is already gone", path);
		rc = 0;
	}
	http_resp_release(&rs);
	return rc;
}

/* getPowerState's name ("Running", "Halted", ...). */
static int power_state(struct driver_ctx *ctx, char *out, size_t len, int timeout_s)
{
	char path[96];
	snprintf(path, sizeof(path), "SoftLayer_Virtual_Guest/%ld/getPowerState.json",
		 ((const struct sl_priv *)ctx->priv)->id);
	cJSON *root;
	int rc = api_get_json(ctx, path, &root, timeout_s);
	if (rc)
		return rc;
	snprintf(out, len, "%s", json_str(root, "name", ""));
	cJSON_Delete(root);
	return 0;
}

/* The active transaction's status name, "" when none. */
static int active_transaction(struct driver_ctx *ctx, char *out, size_t len)
{
	char path[96];
	snprintf(path, sizeof(path), "SoftLayer_Virtual_Guest/%ld/getActiveTransaction.json",
		 ((const struct sl_priv *)ctx->priv)->id);
	cJSON *root;
	int rc = api_get_json(ctx, path, &root, 0);
	if (rc)
		return rc;
	out[0] = '\0';
	if (cJSON_IsObject(root)) {
		const cJSON *ts = json_obj(root, "transactionStatus");
		snprintf(out, len, "%s", json_str(ts, "name", ""));
		if (!*out)
			snprintf(out, len, "%s", "pending");
	}
	cJSON_Delete(root);
	return 0;
}

/* The guest's primary (or backend) IPv4 address, "" while it has none. */
static int guest_ip(struct driver_ctx *ctx, char *out, size_t len)
{
	const struct sl_priv *p = ctx->priv;
	char path[112];
	snprintf(path, sizeof(path), "SoftLayer_Virtual_Guest/%ld/%s.json", p->id,
		 p->private_net ? "getPrimaryBackendIpAddress" : "getPrimaryIpAddress");
	cJSON *root;
	int rc = api_get_json(ctx, path, &root, 0);
	if (rc)
		return rc;
	out[0] = '\0';
	const char *s = cJSON_IsString(root) ? root->valuestring : "";
	unsigned a, b, c, d;
	char tail;
	if (sscanf(s, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &tail) == 4 &&
	    a < 256 && b < 256 && c < 256 && d < 256)
		snprintf(out, len, "%u.%u.%u.%u", a, b, c, d);
	cJSON_Delete(root);
	return 0;
}

/* Wait (bounded, cancellable) until the power state is want (NULL: any)
 * and no transaction has been active for settle polls in a row. */
static int wait_for(struct driver_ctx *ctx, const char *want, int settle, int limit_s, const char *what)
{
	int idle = 0;
	char st[64] = "", tx[128] = "";
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, limit_s, 1000); driver_wait_next(&w);) {
		int rc;
		if (want && strcmp(st, want)) {
			if ((rc = power_state(ctx, st, sizeof(st), 0)))
				return rc;
		}
		if (!want || !strcmp(st, want)) {
			if ((rc = active_transaction(ctx, tx, sizeof(tx))))
				return rc;
			idle = *tx ? 0 : idle + 1;
			if (idle >= settle)
				return 0;
		}
	}
	if (w.timed_out)
		return error_set(ctx->err, ETIMEDOUT,
				 "guest %ld: %s within %d s (power state '%s', transaction '%s')",
				 ((struct sl_priv *)ctx->priv)->id, what, limit_s, st, tx);
	return error_set(ctx->err, EINTR, "%s of '%s' was cancelled", what, ctx->machine);
}

/* ---- create ---- */

static cJSON *host_spec(const struct driver_ctx *ctx)
{
	const struct sl_priv *p = ctx->priv;
	cJSON *s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "hostname", p->hostname);
	cJSON_AddStringToObject(s, "domain", p->domain);
	cJSON_AddNumberToObject(s, "startCpus", p->cpu);
	cJSON_AddNumberToObject(s, "maxMemory", p->memory);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(s, "datacenter"), "name", p->region);
	cJSON *keys = cJSON_AddArrayToObject(s, "sshKeys");
	cJSON *k = cJSON_CreateObject();
	cJSON_AddNumberToObject(k, "id", (double)p->ssh_key_id);
	cJSON_AddItemToArray(keys, k);
	if (p->disk_size > 0) {
		cJSON *bd = cJSON_AddArrayToObject(s, "blockDevices");
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "device", "0");
		cJSON_AddNumberToObject(cJSON_AddObjectToObject(d, "diskImage"), "capacity", p->disk_size);
		cJSON_AddItemToArray(bd, d);
	} else {
		cJSON_AddNullToObject(s, "blockDevices");
	}
	if (p->max_speed > 0) {
		cJSON *nc = cJSON_AddArrayToObject(s, "networkComponents");
		cJSON *n = cJSON_CreateObject();
		cJSON_AddNumberToObject(n, "maxSpeed", p->max_speed);
		cJSON_AddItemToArray(nc, n);
	} else {
		cJSON_AddNullToObject(s, "networkComponents");
	}
	cJSON_AddStringToObject(s, "postInstallScriptUri", "");
	cJSON_AddBoolToObject(s, "privateNetworkOnlyFlag", p->private_net);
	cJSON_AddStringToObject(s, "operatingSystemReferenceCode", p->image);
	cJSON_AddBoolToObject(s, "hourlyBillingFlag", p->hourly);
	cJSON_AddBoolToObject(s, "localDiskFlag", p->local_disk);
	if (p->public_vlan > 0) {
		cJSON *v = cJSON_AddObjectToObject(cJSON_AddObjectToObject(s, "primaryNetworkComponent"), "networkVlan");
		cJSON_AddNumberToObject(v, "id", p->public_vlan);
	}
	if (p->private_vlan > 0) {
		cJSON *v = cJSON_AddObjectToObject(cJSON_AddObjectToObject(s, "primaryBackendNetworkComponent"), "networkVlan");
		cJSON_AddNumberToObject(v, "id", p->private_vlan);
	}
	return s;
}

/* parameters: [item] (item is taken over). */
static cJSON *params(cJSON *item)
{
	cJSON *b = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(b, "parameters"), item);
	return b;
}

static void undo_create(struct driver_ctx *ctx)
{
	struct sl_priv *p = ctx->priv;
	struct driver_ctx c = *ctx;
	c.cancel = NULL;
	char left[ERR_MAX] = "";
	char path[96];
	if (p->id) {
		snprintf(path, sizeof(path), "SoftLayer_Virtual_Guest/%ld", p->id);
		if (delete_404_ok(&c, path) == 0)
			p->id = 0;
		else
			snprintf(left, sizeof(left), "guest %ld (%.150s)", p->id, c.err);
	}
	if (p->ssh_key_id) {
		snprintf(path, sizeof(path), "SoftLayer_Security_Ssh_Key/%ld", p->ssh_key_id);
		if (delete_404_ok(&c, path) == 0) {
			p->ssh_key_id = 0;
		} else {
			size_t l = strlen(left);
			snprintf(left + l, sizeof(left) - l, "%sSSH key %ld (%.150s)", l ? ", " : "",
				 p->ssh_key_id, c.err);
		}
	}
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

static int sl_create(struct driver_ctx *ctx)
{
	struct sl_priv *p = ctx->priv;
	struct http_resp rs = HTTP_RESP_INIT;
	driver_say(ctx, "Creating SSH key...");
	int rc = sshkey_generate_ed25519(ctx->base->ssh_key_path, ctx->machine, ctx->err);
	if (rc)
		return rc;
	struct strbuf pubpath = STRBUF_INIT, pub = STRBUF_INIT;
	strbuf_addf(&pubpath, "%s.pub", ctx->base->ssh_key_path);
	rc = read_file(pubpath.buf, &pub, ctx->err);
	strbuf_release(&pubpath);
	if (rc)
		return rc;
	strbuf_rtrim(&pub);
	cJSON *k = cJSON_CreateObject();
	cJSON_AddStringToObject(k, "key", pub.buf);
	cJSON_AddStringToObject(k, "label", p->hostname);
	strbuf_release(&pub);
	cJSON *body = params(k);
	rc = api(ctx, "POST", "SoftLayer_Security_Ssh_Key", body, &rs, 0);
	cJSON_Delete(body);
	if (!rc)
		rc = answer_id(ctx, &rs, "POST SoftLayer_Security_Ssh_Key", &p->ssh_key_id);
	http_resp_release(&rs);
	if (rc)
		return rc;
	driver_say(ctx, "SSH key %s (%ld) created in SoftLayer", p->hostname, p->ssh_key_id);
	if ((rc = driver_checkpoint(ctx)))
		goto fail;

	body = params(host_spec(ctx));
	rc = api(ctx, "POST", "SoftLayer_Virtual_Guest.json", body, &rs, 0);
	cJSON_Delete(body);
	if (!rc)
		rc = answer_id(ctx, &rs, "POST SoftLayer_Virtual_Guest.json", &p->id);
	http_resp_release(&rs);
	if (rc)
		goto fail;
	driver_log(ctx, "Created guest %ld", p->id);
	if ((rc = driver_checkpoint(ctx)))
		goto fail;

	driver_say(ctx, "Getting Host IP");
	char ip[64] = "";
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, SL_CREATE_WAIT_S, 1000); !*ip && driver_wait_next(&w);)
		if ((rc = guest_ip(ctx, ip, sizeof(ip))))
			goto fail;
	if (!*ip) {
		if (w.timed_out)
			rc = error_set(ctx->err, ETIMEDOUT, "guest %ld got no ip address within %d s",
				       p->id, SL_CREATE_WAIT_S);
		else
			rc = error_set(ctx->err, EINTR, "create of '%s' was cancelled", ctx->machine);
		goto fail;
	}
	snprintf(ctx->base->ip, sizeof(ctx->base->ip), "%s", ip);
	driver_checkpoint(ctx);
	driver_say(ctx, "Waiting for host to become available");
	driver_say(ctx, "Waiting for host setup transactions to complete");
	rc = wait_for(ctx, "Running", 3, driver_wait_left_s(&w) + 1, "waiting for setup");
	if (rc)
		goto fail;
	return 0;
fail:
	undo_create(ctx);
	return rc;
}

/* ---- the rest of the life cycle ---- */

static int sl_remove(struct driver_ctx *ctx)
{
	struct sl_priv *p = ctx->priv;
	char path[96];
	int rc;
	if (p->id) {
		driver_say(ctx, "Canceling SoftLayer instance %ld...", p->id);
		snprintf(path, sizeof(path), "SoftLayer_Virtual_Guest/%ld", p->id);
		if ((rc = delete_404_ok(ctx, path)))
			return rc;
		p->id = 0;
		driver_checkpoint(ctx);
	}
	if (p->ssh_key_id) {
		driver_say(ctx, "Removing SSH Key %ld...", p->ssh_key_id);
		snprintf(path, sizeof(path), "SoftLayer_Security_Ssh_Key/%ld", p->ssh_key_id);
		if ((rc = delete_404_ok(ctx, path)))
			return rc;
		p->ssh_key_id = 0;
	}
	return 0;
}

static int sl_state(struct driver_ctx *ctx, enum machine_state *out)
{
	const struct sl_priv *p = ctx->priv;
	if (!p->id)
		return error_set(ctx->err, ENOENT, "no guest recorded for '%s'", ctx->machine);
	struct driver_ctx quiet = *ctx;
	quiet.log_fn = NULL;
	char st[64];
	int rc = power_state(&quiet, st, sizeof(st), 20);
	if (rc) {
		snprintf(ctx->err, ERR_MAX, "%s", quiet.err);
		*out = MS_ERROR;
		return rc;
	}
	*out = !strcmp(st, "Running") ? MS_RUNNING : !strcmp(st, "Halted") ? MS_STOPPED : MS_NONE;
	return 0;
}

static int power(struct driver_ctx *ctx, const char *call, const char *want)
{
	const struct sl_priv *p = ctx->priv;
	char path[112];
	snprintf(path, sizeof(path), "SoftLayer_Virtual_Guest/%ld/%s.json", p->id, call);
	struct http_resp rs = HTTP_RESP_INIT;
	int rc = api(ctx, "GET", path, NULL, &rs, 0);
	http_resp_release(&rs);
	if (rc)
		return rc;
	char what[64];
	snprintf(what, sizeof(what), "%s", call);
	return wait_for(ctx, want, 1, SL_POWER_WAIT_S, what);
}

static int sl_start(struct driver_ctx *ctx)
{
	return power(ctx, "powerOn", "Running");
}

static int sl_stop(struct driver_ctx *ctx)
{
	return power(ctx, "powerOffSoft", "Halted");
}

static int sl_kill(struct driver_ctx *ctx)
{
	return power(ctx, "powerOff", "Halted");
}

static int sl_restart(struct driver_ctx *ctx)
{
	return power(ctx, "rebootSoft", "Running");
}

static int sl_url(struct driver_ctx *ctx, char *buf, size_t len)
{
	if (!*ctx->base->ip)
		return -ENOENT;
	snprintf(buf, len, "tcp://%s:2376", ctx->base->ip);
	return 0;
}

/* ---- config.json ---- */

static int sl_load(struct driver_ctx *ctx, const cJSON *o)
{
	struct sl_priv *p = ctx->priv;
	const cJSON *c = json_obj(o, "Client");
	snprintf(p->user, sizeof(p->user), "%s", json_str(c, "User", ""));
	snprintf(p->api_key, sizeof(p->api_key), "%s", json_str(c, "ApiKey", ""));
	snprintf(p->endpoint, sizeof(p->endpoint), "%s", json_str(c, "Endpoint", ""));
	/* A Docker Machine store names the real endpoint: the environment's
	 * SOFTLAYER_API_ENDPOINT wins over it (tests, proxies). */
	const char *e = getenv("SOFTLAYER_API_ENDPOINT");
	if (e && *e && !json_obj(o, "MachinefsDevice"))
		snprintf(p->endpoint, sizeof(p->endpoint), "%s", e);
	if (!*p->endpoint)
		snprintf(p->endpoint, sizeof(p->endpoint), "%s", SL_API_URL);
	p->id = json_int(o, "Id", 0);
	p->ssh_key_id = json_int(o, "SSHKeyID", 0);
	const cJSON *d = json_obj(o, "MachinefsDevice");
	snprintf(p->hostname, sizeof(p->hostname), "%s", json_str(d, "Hostname", ""));
	snprintf(p->domain, sizeof(p->domain), "%s", json_str(d, "Domain", ""));
	snprintf(p->region, sizeof(p->region), "%s", json_str(d, "Region", ""));
	snprintf(p->image, sizeof(p->image), "%s", json_str(d, "Image", ""));
	p->cpu = (int)json_int(d, "Cpu", 0);
	p->memory = (int)json_int(d, "Memory", 0);
	p->disk_size = (int)json_int(d, "DiskSize", 0);
	p->public_vlan = (int)json_int(d, "PublicVLAN", 0);
	p->private_vlan = (int)json_int(d, "PrivateVLAN", 0);
	p->max_speed = (int)json_int(d, "NetworkMaxSpeed", 0);
	p->hourly = json_bool(d, "HourlyBilling", false);
	p->local_disk = json_bool(d, "LocalDisk", false);
	p->private_net = json_bool(d, "PrivateNet", false);
	return 0;
}

static int sl_save(const struct driver_ctx *ctx, cJSON *o)
{
	const struct sl_priv *p = ctx->priv;
	json_put_int(o, "Id", p->id);
	cJSON *c = cJSON_CreateObject();
	json_put_str(c, "User", p->user);
	json_put_str(c, "ApiKey", p->api_key);
	json_put_str(c, "Endpoint", p->endpoint);
	json_put(o, "Client", c);
	json_put_int(o, "SSHKeyID", p->ssh_key_id);
	cJSON *d = cJSON_CreateObject();
	json_put_str(d, "Hostname", p->hostname);
	json_put_str(d, "Domain", p->domain);
	json_put_str(d, "Region", p->region);
	json_put_str(d, "Image", p->image);
	json_put_int(d, "Cpu", p->cpu);
	json_put_int(d, "Memory", p->memory);
	json_put_int(d, "DiskSize", p->disk_size);
	json_put_int(d, "PublicVLAN", p->public_vlan);
	json_put_int(d, "PrivateVLAN", p->private_vlan);
	json_put_int(d, "NetworkMaxSpeed", p->max_speed);
	json_put_bool(d, "HourlyBilling", p->hourly);
	json_put_bool(d, "LocalDisk", p->local_disk);
	json_put_bool(d, "PrivateNet", p->private_net);
	json_put(o, "MachinefsDevice", d);
	return 0;
}

const struct machine_driver softlayer_driver = {
	.name = "softlayer",
	.supports = DRV_START | DRV_STOP | DRV_RESTART | DRV_KILL | DRV_SSH | DRV_REMOVE,
	.options = sl_options,
	.priv_size = sizeof(struct sl_priv),
	.configure = sl_configure,
	.create = sl_create,
	.remove = sl_remove,
	.start = sl_start,
	.stop = sl_stop,
	.restart = sl_restart,
	.kill = sl_kill,
	.state = sl_state,
	.url = sl_url,
	.load = sl_load,
	.save = sl_save,
};
