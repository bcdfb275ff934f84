/* The "digitalocean" driver: Docker Machine 0.16's drivers/digitalocean
 * over the DigitalOcean API v2 (drivers/http.c), the same calls in the
 * same order:
 *   precreate  GET /v2/regions (the region must be listed)
 *   create     POST /v2/account/keys (or GET .../keys/FINGERPRINT),
 *              POST /v2/droplets, GET /v2/droplets/ID each second until
 *              it has a public IPv4
 *   state      GET /v2/droplets/ID: new Starting, active Running, off Stopped
 *   start/stop/restart/kill  POST /v2/droplets/ID/actions power_on/
 *              shutdown/reboot/power_off (then, unlike Docker Machine, wait
 *              until GET /v2/actions/AID is completed and the droplet shows
 *              the new status)
 *   remove     DELETE /v2/account/keys/KEYID, DELETE /v2/droplets/ID
 *              (404: already gone)
 * No orphans: each id is saved (driver_checkpoint) as soon as the API
 * returns it, and a failed create deletes what it made, droplet then key.
 * Every option may also come from its environment variable (as Docker
 * Machine's flags do); digitalocean-api-url points at another endpoint. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/driver.h"
#include "drivers/http.h"
#include "drivers/sshkey.h"
#include "drivers/wait.h"
#include "lib/fileutil.h"
#include "lib/json.h"

#define DO_API_URL "https://api.digitalocean.com"
#define IP_WAIT_S 600    /* Docker Machine waits for ever */
#define ACTION_WAIT_S 300

struct do_priv {
	char token[1024];         /* AccessToken (secret) */
	long droplet_id;          /* DropletID */
	char droplet_name[256];   /* DropletName */
	char image[128];          /* Image */
	char region[64];          /* Region */
	long ssh_key_id;          /* SSHKeyID */
	char ssh_key_fp[128];     /* SSHKeyFingerprint */
	char ssh_key[PATH_MAX];   /* SSHKey: the user's private key path */
	char size[64];            /* Size */
	bool ipv6;                /* IPv6 */
	bool backups;             /* Backups */
	bool private_net;         /* PrivateNetworking */
	char userdata[PATH_MAX];  /* UserDataFile */
	bool monitoring;          /* Monitoring */
	char tags[1024];          /* Tags: comma-separated */
	char api_url[512];        /* APIURL: machinefs's own key */
};

static const struct driver_option do_options[] = {
	{ "digitalocean-access-token", OPT_STRING, NULL, "DIGITALOCEAN_ACCESS_TOKEN", "Digital Ocean access token", OPT_REQUIRED | OPT_SECRET, "AccessToken" },
	{ "digitalocean-ssh-user", OPT_STRING, "root", "DIGITALOCEAN_SSH_USER", "SSH username", 0, NULL },
	{ "digitalocean-ssh-key-fingerprint", OPT_STRING, NULL, "DIGITALOCEAN_SSH_KEY_FINGERPRINT", "SSH key fingerprint", 0, NULL },
	{ "digitalocean-ssh-key-path", OPT_STRING, NULL, "DIGITALOCEAN_SSH_KEY_PATH", "SSH private key path ", 0, NULL },
	{ "digitalocean-ssh-port", OPT_INT, "22", "DIGITALOCEAN_SSH_PORT", "SSH port", 0, NULL },
	{ "digitalocean-image", OPT_STRING, "ubuntu-24-04-x64", "DIGITALOCEAN_IMAGE", "Digital Ocean Image", 0, NULL },
	{ "digitalocean-region", OPT_STRING, "nyc3", "DIGITALOCEAN_REGION", "Digital Ocean region", 0, NULL },
	{ "digitalocean-size", OPT_STRING, "s-1vcpu-1gb", "DIGITALOCEAN_SIZE", "Digital Ocean size", 0, NULL },
	{ "digitalocean-ipv6", OPT_BOOL, NULL, "DIGITALOCEAN_IPV6", "enable ipv6 for droplet", 0, NULL },
	{ "digitalocean-private-networking", OPT_BOOL, NULL, "DIGITALOCEAN_PRIVATE_NETWORKING", "enable private networking for droplet", 0, NULL },
	{ "digitalocean-backups", OPT_BOOL, NULL, "DIGITALOCEAN_BACKUPS", "enable backups for droplet", 0, NULL },
	{ "digitalocean-userdata", OPT_STRING, NULL, "DIGITALOCEAN_USERDATA", "path to file with cloud-init user-data", 0, NULL },
	{ "digitalocean-monitoring", OPT_BOOL, NULL, "DIGITALOCEAN_MONITORING", "enable monitoring for droplet", 0, NULL },
	{ "digitalocean-tags", OPT_STRING, NULL, "DIGITALOCEAN_TAGS", "comma-separated list of tags to apply to the Droplet", 0, NULL },
	{ "digitalocean-api-url", OPT_STRING, DO_API_URL, "DIGITALOCEAN_API_URL", "Digital Ocean API endpoint (machinefs; an http:// URL only on loopback)", 0, NULL },
	{ NULL },
};

extern const struct machine_driver digitalocean_driver;

/* ---- options ---- */

/* The user's value, else the option's environment variable, else the
 * default. */
static const char *opt(const struct driver_ctx *ctx, const char *name)
{
	return driver_opt_env(ctx, &digitalocean_driver, name);
}

/* Copy an option into a fixed field; a value that does not fit is refused. */
static int put(struct driver_ctx *ctx, char *dst, size_t len, const char *name)
{
	return driver_opt_copy(ctx, &digitalocean_driver, name, dst, len);
}

static void path_in(const struct driver_ctx *ctx, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", ctx->dir, name);
}

/* Only characters in allowed (and no control character, space or
 * non-ASCII byte): values that go into a URL path or an HTTP header. */
static bool only(const char *s, const char *allowed)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f ||
		    (allowed && !strchr(allowed, *s)))
			return false;
	return true;
}

static void api_url_default(struct do_priv *p)
{
	const char *e = getenv("DIGITALOCEAN_API_URL");
	snprintf(p->api_url, sizeof(p->api_url), "%s", e && *e ? e : DO_API_URL);
}

static int do_configure(struct driver_ctx *ctx)
{
	struct do_priv *p = ctx->priv;
	int rc, port;
	if ((rc = put(ctx, p->token, sizeof(p->token), "digitalocean-access-token")))
		return rc;
	if (!*p->token)
		return error_set(ctx->err, EINVAL,
				 "digitalocean driver requires the --digitalocean-access-token option: write it to 'options/digitalocean-access-token'");
	if ((rc = put(ctx, p->image, sizeof(p->image), "digitalocean-image")) ||
	    (rc = put(ctx, p->region, sizeof(p->region), "digitalocean-region")) ||
	    (rc = put(ctx, p->size, sizeof(p->size), "digitalocean-size")) ||
	    (rc = put(ctx, p->userdata, sizeof(p->userdata), "digitalocean-userdata")) ||
	    (rc = put(ctx, p->ssh_key_fp, sizeof(p->ssh_key_fp), "digitalocean-ssh-key-fingerprint")) ||
	    (rc = put(ctx, p->ssh_key, sizeof(p->ssh_key), "digitalocean-ssh-key-path")) ||
	    (rc = put(ctx, p->tags, sizeof(p->tags), "digitalocean-tags")) ||
	    (rc = put(ctx, p->api_url, sizeof(p->api_url), "digitalocean-api-url")) ||
	    (rc = put(ctx, ctx->base->ssh_user, sizeof(ctx->base->ssh_user), "digitalocean-ssh-user")))
		return rc;
	/* The token goes into a header, the fingerprint into a URL path. */
	if (!only(p->token, NULL))
		return error_set(ctx->err, EINVAL,
				 "invalid value for option 'digitalocean-access-token': spaces or control characters");
	if (!only(p->ssh_key_fp, "0123456789abcdefABCDEF:"))
		return error_set(ctx->err, EINVAL,
				 "invalid value '%.100s' for option 'digitalocean-ssh-key-fingerprint': want hex digits and ':' (aa:bb:...)",
				 p->ssh_key_fp);
	const char *ps = opt(ctx, "digitalocean-ssh-port");
	char *end;
	long n = strtol(ps ? ps : "22", &end, 10);
	if (*end || n < 1 || n > 65535)
		return error_set(ctx->err, EINVAL,
				 "invalid value '%s' for option 'digitalocean-ssh-port': want 1-65535", ps);
	port = (int)n;
	ctx->base->ssh_port = port;
	p->ipv6 = driver_opt_env_bool(ctx, &digitalocean_driver, "digitalocean-ipv6");
	p->private_net = driver_opt_env_bool(ctx, &digitalocean_driver, "digitalocean-private-networking");
	p->backups = driver_opt_env_bool(ctx, &digitalocean_driver, "digitalocean-backups");
	p->monitoring = driver_opt_env_bool(ctx, &digitalocean_driver, "digitalocean-monitoring");
	snprintf(p->droplet_name, sizeof(p->droplet_name), "%s", ctx->machine);
	p->droplet_id = 0;
	p->ssh_key_id = 0;
	ctx->base->ip[0] = '\0';
	/* Docker Machine's GetSSHKeyPath: the user's key copied into the
	 * store; none with only a fingerprint (the user's own default key);
	 * else a key of our own, ed25519 here. */
	if (*p->ssh_key) {
		char copy[PATH_MAX];
		snprintf(copy, sizeof(copy), "%s", p->ssh_key);
		snprintf(ctx->base->ssh_key_path, sizeof(ctx->base->ssh_key_path), "%s/%s",
			 ctx->dir, basename(copy));
	} else if (*p->ssh_key_fp) {
		const char *home = getenv("HOME") ? getenv("HOME") : "/root";
		snprintf(ctx->base->ssh_key_path, sizeof(ctx->base->ssh_key_path),
			 "%s/.ssh/id_rsa", home);
		char ed[PATH_MAX];
		snprintf(ed, sizeof(ed), "%s/.ssh/id_ed25519", home);
		if (path_exists(ed))
			snprintf(ctx->base->ssh_key_path, sizeof(ctx->base->ssh_key_path), "%s", ed);
	} else {
		path_in(ctx, "id_ed25519", ctx->base->ssh_key_path, sizeof(ctx->base->ssh_key_path));
	}
	return 0;
}

/* ---- the API ---- */

/* One call: method path [body], the answer in rs (caller releases). */
static int api(struct driver_ctx *ctx, const char *method, const char *path,
	       const cJSON *body, struct http_resp *rs, int timeout_s)
{
	const struct do_priv *p = ctx->priv;
	if (!only(p->token, NULL))
		return error_set(ctx->err, EINVAL,
				 "the stored access token has spaces or control characters");
	struct strbuf url = STRBUF_INIT, auth = STRBUF_INIT;
	const char *base = *p->api_url ? p->api_url : DO_API_URL;
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	strbuf_add(&url, base, bl);
	strbuf_addstr(&url, path);
	strbuf_addf(&auth, "Authorization: Bearer %s", p->token);
	struct strlist h = STRLIST_INIT;
	strlist_add(&h, auth.buf);
	strlist_add(&h, "Accept: application/json");
	char *json = body ? cJSON_PrintUnformatted(body) : NULL;
	if (json)
		strlist_add(&h, "Content-Type: application/json");
	const char *secrets[] = { p->token, NULL };
	struct http_req rq = {
		.method = method, .url = url.buf, .headers = &h,
		.body = json, .body_len = json ? strlen(json) : 0,
		.secrets = secrets, .timeout_s = timeout_s,
	};
	int rc = http_do(ctx, &rq, rs);
	free(json);
	strlist_clear(&h);
	/* The header held the token: wipe it. */
	memset(auth.buf, 0, auth.len);
	strbuf_release(&auth);
	strbuf_release(&url);
	return rc;
}

/* The answer's OBJ.id (an integer), or -EBADMSG. */
static int answer_id(struct driver_ctx *ctx, const struct http_resp *rs,
		     const char *obj, const char *what, long *id)
{
	cJSON *root;
	int rc = http_resp_json(ctx, rs, what, &root);
	if (rc)
		return rc;
	const cJSON *o = json_obj(root, obj);
	*id = o ? json_int(o, "id", 0) : 0;
	cJSON_Delete(root);
	if (*id <= 0)
		return error_set(ctx->err, EBADMSG, "%s: the answer has no %s.id", what, obj);
	return 0;
}

/* The droplet's status and public IPv4 (ip may be NULL). */
static int get_droplet(struct driver_ctx *ctx, char *status, size_t slen,
		       char *ip, size_t iplen, int timeout_s)
{
	const struct do_priv *p = ctx->priv;
	char path[64];
	snprintf(path, sizeof(path), "/v2/droplets/%ld", p->droplet_id);
	struct http_resp rs = HTTP_RESP_INIT;
	int rc = api(ctx, "GET", path, NULL, &rs, timeout_s);
	cJSON *root = NULL;
	if (!rc)
		rc = http_resp_json(ctx, &rs, "GET /v2/droplets", &root);
	http_resp_release(&rs);
	if (rc)
		return rc;
	const cJSON *d = json_obj(root, "droplet");
	snprintf(status, slen, "%s", json_str(d, "status", ""));
	if (ip) {
		ip[0] = '\0';
		const cJSON *v4 = cJSON_GetObjectItemCaseSensitive(json_obj(d, "networks"), "v4");
		const cJSON *n;
		cJSON_ArrayForEach(n, v4)
			if (!strcmp(json_str(n, "type", ""), "public"))
				snprintf(ip, iplen, "%s", json_str(n, "ip_address", ""));
	}
	cJSON_Delete(root);
	return 0;
}

/* DELETE path; a 404 is success (already gone). */
static int delete_404_ok(struct driver_ctx *ctx, const char *path, const char *what)
{
	struct http_resp rs = HTTP_RESP_INIT;
	int rc = api(ctx, "DELETE", path, NULL, &rs, 0);
	if (rc && rs.status == 404) {
		driver_say(ctx, "Digital Ocean %s doesn't exist, assuming it is already deleted", what);
		rc = 0;
	}
	http_resp_release(&rs);
	return rc;
}

/* ---- create ---- */

static int do_precreate(struct driver_ctx *ctx)
{
	const struct do_priv *p = ctx->priv;
	if (*p->userdata && !path_exists(p->userdata))
		return error_set(ctx->err, ENOENT, "user-data file '%s' could not be found", p->userdata);
	if (*p->ssh_key) {
		if (!*p->ssh_key_fp)
			return error_set(ctx->err, EINVAL,
					 "ssh-key-fingerprint needs to be provided for '%s'", p->ssh_key);
		if (!path_exists(p->ssh_key))
			return error_set(ctx->err, ENOENT, "SSH key does not exist: '%s'", p->ssh_key);
	}
	struct http_resp rs = HTTP_RESP_INIT;
	cJSON *root = NULL;
	int rc = api(ctx, "GET", "/v2/regions", NULL, &rs, 0);
	if (!rc)
		rc = http_resp_json(ctx, &rs, "GET /v2/regions", &root);
	http_resp_release(&rs);
	if (rc)
		return rc;
	bool found = false;
	const cJSON *r;
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(root, "regions"))
		if (!strcmp(json_str(r, "slug", ""), p->region))
			found = true;
	cJSON_Delete(root);
	if (!found)
		return error_set(ctx->err, EINVAL, "digitalocean requires a valid region: '%s' is not one",
				 p->region);
	return 0;
}

/* Docker Machine's createSSHKey: the key named by fingerprint, or a new
 * key of ours uploaded. Sets p->ssh_key_id. */
static int make_key(struct driver_ctx *ctx)
{
	struct do_priv *p = ctx->priv;
	struct http_resp rs = HTTP_RESP_INIT;
	int rc;
	if (*p->ssh_key_fp) {
		char path[256];
		snprintf(path, sizeof(path), "/v2/account/keys/%s", p->ssh_key_fp);
		rc = api(ctx, "GET", path, NULL, &rs, 0);
		if (rc && rs.status == 404)
			rc = error_set(ctx->err, ENOENT,
				       "Digital Ocean SSH key with fingerprint %s doesn't exist",
				       p->ssh_key_fp);
		if (!rc)
			rc = answer_id(ctx, &rs, "ssh_key", "GET /v2/account/keys", &p->ssh_key_id);
		http_resp_release(&rs);
		if (!rc && *p->ssh_key)
			rc = copy_file(p->ssh_key, ctx->base->ssh_key_path, 0600, ctx->err);
		else if (!rc)
			driver_say(ctx, "Assuming Digital Ocean private SSH is located at %s",
				   ctx->base->ssh_key_path);
		return rc;
	}
	rc = sshkey_generate_ed25519(ctx->base->ssh_key_path, ctx->machine, ctx->err);
	if (rc)
		return rc;
	struct strbuf pubpath = STRBUF_INIT, pub = STRBUF_INIT;
	strbuf_addf(&pubpath, "%s.pub", ctx->base->ssh_key_path);
	rc = read_file(pubpath.buf, &pub, ctx->err);
	strbuf_release(&pubpath);
	if (rc)
		return rc;
	strbuf_rtrim(&pub);
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "name", ctx->machine);
	cJSON_AddStringToObject(body, "public_key", pub.buf);
	strbuf_release(&pub);
	rc = api(ctx, "POST", "/v2/account/keys", body, &rs, 0);
	cJSON_Delete(body);
	if (!rc)
		rc = answer_id(ctx, &rs, "ssh_key", "POST /v2/account/keys", &p->ssh_key_id);
	http_resp_release(&rs);
	if (!rc) {
		driver_log(ctx, "Created SSH key ID %ld", p->ssh_key_id);
		rc = driver_checkpoint(ctx);
	}
	return rc;
}

static cJSON *droplet_request(struct driver_ctx *ctx, const char *userdata)
{
	const struct do_priv *p = ctx->priv;
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "name", ctx->machine);
	cJSON_AddStringToObject(b, "region", p->region);
	cJSON_AddStringToObject(b, "size", p->size);
	cJSON_AddStringToObject(b, "image", p->image);
	cJSON *keys = cJSON_AddArrayToObject(b, "ssh_keys");
	cJSON_AddItemToArray(keys, cJSON_CreateNumber((double)p->ssh_key_id));
	cJSON_AddBoolToObject(b, "backups", p->backups);
	cJSON_AddBoolToObject(b, "ipv6", p->ipv6);
	cJSON_AddBoolToObject(b, "private_networking", p->private_net);
	cJSON_AddBoolToObject(b, "monitoring", p->monitoring);
	if (userdata && *userdata)
		cJSON_AddStringToObject(b, "user_data", userdata);
	/* Go's nil slice: null when there are no tags. */
	cJSON *tags = cJSON_CreateArray();
	for (const char *s = p->tags; *s;) {
		size_t n = strcspn(s, ",");
		const char *a = s, *e = s + n;
		while (a < e && (*a == ' ' || *a == '\t'))
			a++;
		while (e > a && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > a) {
			char *t = strndup(a, (size_t)(e - a));
			cJSON_AddItemToArray(tags, cJSON_CreateString(t));
			free(t);
		}
		s += n + (s[n] == ',');
	}
	if (cJSON_GetArraySize(tags))
		cJSON_AddItemToObject(b, "tags", tags);
	else {
		cJSON_Delete(tags);
		cJSON_AddNullToObject(b, "tags");
	}
	return b;
}

static int wait_ip(struct driver_ctx *ctx)
{
	driver_say(ctx, "Waiting for IP address to be assigned to the Droplet...");
	char status[32], ip[64];
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, IP_WAIT_S, 1000); driver_wait_next(&w);) {
		int rc = get_droplet(ctx, status, sizeof(status), ip, sizeof(ip), 0);
		if (rc)
			return rc;
		if (*ip) {
			snprintf(ctx->base->ip, sizeof(ctx->base->ip), "%s", ip);
			return 0;
		}
		if (!strcmp(status, "errored") || !strcmp(status, "archive"))
			return error_set(ctx->err, EIO, "droplet %ld is '%s' before it got an ip address",
					 ((struct do_priv *)ctx->priv)->droplet_id, status);
	}
	if (w.timed_out)
		return error_set(ctx->err, ETIMEDOUT, "droplet %ld got no ip address within %d s",
				 ((struct do_priv *)ctx->priv)->droplet_id, IP_WAIT_S);
	return error_set(ctx->err, EINTR, "create of '%s' was cancelled", ctx->machine);
}

/* After a failed create: delete what it made, droplet then key (the
 * reverse of creation), even when the create was cancelled. The ids of
 * what is gone are cleared and saved; ctx->err gets what was left. */
static void undo_create(struct driver_ctx *ctx)
{
	struct do_priv *p = ctx->priv;
	struct driver_ctx c = *ctx;
	c.cancel = NULL;
	char left[ERR_MAX] = "";
	char path[96];
	if (p->droplet_id) {
		snprintf(path, sizeof(path), "/v2/droplets/%ld", p->droplet_id);
		if (delete_404_ok(&c, path, "droplet") == 0)
			p->droplet_id = 0;
		else
			snprintf(left, sizeof(left), "droplet %ld (%.150s)", p->droplet_id, c.err);
	}
	if (p->ssh_key_id && !*p->ssh_key_fp) {
		snprintf(path, sizeof(path), "/v2/account/keys/%ld", p->ssh_key_id);
		if (delete_404_ok(&c, path, "SSH key") == 0) {
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

static int do_create(struct driver_ctx *ctx)
{
	struct do_priv *p = ctx->priv;
	struct strbuf userdata = STRBUF_INIT;
	int rc = 0;
	if (*p->userdata)
		rc = read_file(p->userdata, &userdata, ctx->err);
	if (rc)
		return rc;
	driver_say(ctx, "Creating SSH key...");
	rc = make_key(ctx);
	if (!rc) {
		driver_say(ctx, "Creating Digital Ocean droplet...");
		cJSON *body = droplet_request(ctx, userdata.buf);
		struct http_resp rs = HTTP_RESP_INIT;
		rc = api(ctx, "POST", "/v2/droplets", body, &rs, 0);
		cJSON_Delete(body);
		if (!rc)
			rc = answer_id(ctx, &rs, "droplet", "POST /v2/droplets", &p->droplet_id);
		http_resp_release(&rs);
		if (!rc) {
			driver_log(ctx, "Created droplet ID %ld", p->droplet_id);
			rc = driver_checkpoint(ctx);
		}
	}
	if (!rc)
		rc = wait_ip(ctx);
	if (!rc) {
		driver_log(ctx, "Created droplet ID %ld, IP address %s", p->droplet_id, ctx->base->ip);
		driver_checkpoint(ctx);
	}
	strbuf_release(&userdata);
	if (rc)
		undo_create(ctx);
	return rc;
}

/* ---- the rest of the life cycle ---- */

static int do_remove(struct driver_ctx *ctx)
{
	struct do_priv *p = ctx->priv;
	char path[96];
	int rc;
	if (!*p->ssh_key_fp && p->ssh_key_id) {
		snprintf(path, sizeof(path), "/v2/account/keys/%ld", p->ssh_key_id);
		if ((rc = delete_404_ok(ctx, path, "SSH key")))
			return rc;
		p->ssh_key_id = 0;
	}
	if (p->droplet_id) {
		snprintf(path, sizeof(path), "/v2/droplets/%ld", p->droplet_id);
		if ((rc = delete_404_ok(ctx, path, "droplet")))
			return rc;
		p->droplet_id = 0;
	}
	return 0;
}

static enum machine_state state_of(const char *status)
{
	if (!strcmp(status, "new"))
		return MS_STARTING;
	if (!strcmp(status, "active"))
		return MS_RUNNING;
	if (!strcmp(status, "off"))
		return MS_STOPPED;
	return MS_NONE;
}

static int do_state(struct driver_ctx *ctx, enum machine_state *out)
{
	const struct do_priv *p = ctx->priv;
	if (!p->droplet_id)
		return error_set(ctx->err, ENOENT, "no droplet recorded for '%s'", ctx->machine);
	char status[32];
	/* The refresher asks every few seconds for the machine's lifetime:
	 * its requests stay out of the log (a changed state is logged). */
	struct driver_ctx quiet = *ctx;
	quiet.log_fn = NULL;
	int rc = get_droplet(&quiet, status, sizeof(status), NULL, 0, 20);
	if (rc)
		snprintf(ctx->err, ERR_MAX, "%s", quiet.err);
	*out = rc ? MS_ERROR : state_of(status);
	return rc;
}

/* POST an action, then wait (bounded, cancellable) until the action is
 * completed and the droplet's status is want. */
static int action(struct driver_ctx *ctx, const char *type, const char *want)
{
	const struct do_priv *p = ctx->priv;
	char path[96];
	snprintf(path, sizeof(path), "/v2/droplets/%ld/actions", p->droplet_id);
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "type", type);
	struct http_resp rs = HTTP_RESP_INIT;
	long aid = 0;
	int rc = api(ctx, "POST", path, body, &rs, 0);
	cJSON_Delete(body);
	if (!rc)
		rc = answer_id(ctx, &rs, "action", "POST /v2/droplets/ID/actions", &aid);
	http_resp_release(&rs);
	if (rc)
		return rc;
	driver_log(ctx, "Waiting for action %ld (%s) of droplet %ld...", aid, type, p->droplet_id);
	snprintf(path, sizeof(path), "/v2/actions/%ld", aid);
	char status[32] = "";
	bool done = false;
	struct driver_wait w;
	driver_wait_start(&w, ctx, ACTION_WAIT_S, 500);
	w.nap_first = true;
	while (!done || strcmp(status, want)) {
		if (!driver_wait_next(&w)) {
			if (w.timed_out)
				return error_set(ctx->err, ETIMEDOUT,
						 "droplet %ld is not '%s' %d s after '%s'", p->droplet_id,
						 want, ACTION_WAIT_S, type);
			return error_set(ctx->err, EINTR, "'%s' of '%s' was cancelled", type, ctx->machine);
		}
		if (!done) {
			cJSON *root = NULL;
			rc = api(ctx, "GET", path, NULL, &rs, 0);
			if (!rc)
				rc = http_resp_json(ctx, &rs, "GET /v2/actions", &root);
			http_resp_release(&rs);
			if (rc)
				return rc;
			const char *st = json_str(json_obj(root, "action"), "status", "");
			done = !strcmp(st, "completed");
			bool failed = !strcmp(st, "errored");
			cJSON_Delete(root);
			if (failed)
				return error_set(ctx->err, EIO, "action '%s' of droplet %ld errored",
						 type, p->droplet_id);
			if (!done)
				continue;
		}
		if ((rc = get_droplet(ctx, status, sizeof(status), NULL, 0, 0)))
			return rc;
	}
	return 0;
}

static int do_start(struct driver_ctx *ctx)
{
	return action(ctx, "power_on", "active");
}

static int do_stop(struct driver_ctx *ctx)
{
	return action(ctx, "shutdown", "off");
}

static int do_restart(struct driver_ctx *ctx)
{
	return action(ctx, "reboot", "active");
}

static int do_kill(struct driver_ctx *ctx)
{
	return action(ctx, "power_off", "off");
}

static int do_url(struct driver_ctx *ctx, char *buf, size_t len)
{
	if (!*ctx->base->ip)
		return -ENOENT;
	bool v6 = strchr(ctx->base->ip, ':') != NULL;
	snprintf(buf, len, "tcp://%s%s%s:2376", v6 ? "[" : "", ctx->base->ip, v6 ? "]" : "");
	return 0;
}

/* ---- config.json ---- */

static int do_load(struct driver_ctx *ctx, const cJSON *o)
{
	struct do_priv *p = ctx->priv;
	snprintf(p->token, sizeof(p->token), "%s", json_str(o, "AccessToken", ""));
	p->droplet_id = json_int(o, "DropletID", 0);
	snprintf(p->droplet_name, sizeof(p->droplet_name), "%s", json_str(o, "DropletName", ""));
	snprintf(p->image, sizeof(p->image), "%s", json_str(o, "Image", ""));
	snprintf(p->region, sizeof(p->region), "%s", json_str(o, "Region", ""));
	p->ssh_key_id = json_int(o, "SSHKeyID", 0);
	snprintf(p->ssh_key_fp, sizeof(p->ssh_key_fp), "%s", json_str(o, "SSHKeyFingerprint", ""));
	snprintf(p->ssh_key, sizeof(p->ssh_key), "%s", json_str(o, "SSHKey", ""));
	snprintf(p->size, sizeof(p->size), "%s", json_str(o, "Size", ""));
	p->ipv6 = json_bool(o, "IPv6", false);
	p->backups = json_bool(o, "Backups", false);
	p->private_net = json_bool(o, "PrivateNetworking", false);
	snprintf(p->userdata, sizeof(p->userdata), "%s", json_str(o, "UserDataFile", ""));
	p->monitoring = json_bool(o, "Monitoring", false);
	snprintf(p->tags, sizeof(p->tags), "%s", json_str(o, "Tags", ""));
	/* A Docker Machine store has no APIURL: the environment's, else DO's. */
	snprintf(p->api_url, sizeof(p->api_url), "%s", json_str(o, "APIURL", ""));
	if (!*p->api_url)
		api_url_default(p);
	return 0;
}

static int do_save(const struct driver_ctx *ctx, cJSON *o)
{
	const struct do_priv *p = ctx->priv;
	json_put_str(o, "AccessToken", p->token);
	json_put_int(o, "DropletID", p->droplet_id);
	json_put_str(o, "DropletName", p->droplet_name);
	json_put_str(o, "Image", p->image);
	json_put_str(o, "Region", p->region);
	json_put_int(o, "SSHKeyID", p->ssh_key_id);
	json_put_str(o, "SSHKeyFingerprint", p->ssh_key_fp);
	json_put_str(o, "SSHKey", p->ssh_key);
	json_put_str(o, "Size", p->size);
	json_put_bool(o, "IPv6", p->ipv6);
	json_put_bool(o, "Backups", p->backups);
	json_put_bool(o, "PrivateNetworking", p->private_net);
	json_put_str(o, "UserDataFile", p->userdata);
	json_put_bool(o, "Monitoring", p->monitoring);
	json_put_str(o, "Tags", p->tags);
	json_put_str(o, "APIURL", p->api_url);
	return 0;
}

const struct machine_driver digitalocean_driver = {
	.name = "digitalocean",
	.supports = DRV_START | DRV_STOP | DRV_RESTART | DRV_KILL | DRV_SSH | DRV_REMOVE,
	.options = do_options,
	.priv_size = sizeof(struct do_priv),
	.configure = do_configure,
	.precreate_check = do_precreate,
	.create = do_create,
	.remove = do_remove,
	.start = do_start,
	.stop = do_stop,
	.restart = do_restart,
	.kill = do_kill,
	.state = do_state,
	.url = do_url,
	.load = do_load,
	.save = do_save,
};
