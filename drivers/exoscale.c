/* The "exoscale" driver: Docker Machine 0.16's drivers/exoscale, which
 * spoke Exoscale's deprecated CloudStack-style v1 API, moved onto the
 * Exoscale API v2 (JSON, EXO2-HMAC-SHA256 signing in drivers/exo2sign.c,
 * asynchronous operations polled until success or failure):
 *   create  GET /zone (the zone must exist), GET /template (by name or
 *           Docker Machine's short name "ubuntu-24.04"), GET /instance-type
 *           (profile = standard.SIZE), per security group: GET
 *           /security-group, else POST /security-group and POST
 *           /security-group/ID/rules x7 (Docker Machine's rules: TCP 22,
 *           ICMP 8, TCP 2376-2377, TCP 3376-3377 from 0.0.0.0/0; TCP/UDP 7946
 *           and UDP 4789 from the group itself), per affinity group: GET
 *           /anti-affinity-group, else POST; POST /ssh-key (our ed25519 key,
 *           unless exoscale-ssh-key names one), POST /instance, GET
 *           /instance/ID until running with a public IP
 *   state   GET /instance/ID: starting/running/stopping/stopped/...
 *   start/stop/restart  PUT /instance/ID:start|:stop|:reboot (kill = stop,
 *           as in Docker Machine); each waits for the operation and state
 *   remove  DELETE /instance/ID (waited), /ssh-key/NAME, and the groups this
 *           machine created (404: gone; 409: still used by another machine,
 *           kept)
 * Every POST/PUT/DELETE answers an operation {id, state, reference}; it is
 * polled (GET /operation/ID) until success or failure, bounded and
 * cancellable. Each id is saved (driver_checkpoint) as soon as it is known;
 * a failed create deletes what it made in reverse order. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "drivers/driver.h"
#include "drivers/exo2sign.h"
#include "drivers/http.h"
#include "drivers/sshkey.h"
#include "drivers/wait.h"
#include "lib/fileutil.h"
#include "lib/json.h"

#define EXO_V1_URL "https://api.exoscale.ch/compute"
#define OP_WAIT_S 600
#define IP_WAIT_S 600
#define MAX_GROUPS 8

struct exo_priv {
	char url[512];           /* URL: v2 endpoint ("" or v1: by zone) */
	char api_key[256];       /* ApiKey */
	char api_secret[256];    /* ApiSecretKey (secret) */
	char profile[64];        /* InstanceProfile */
	long disk_size;          /* DiskSize */
	char image[256];         /* Image */
	char sec_groups[512];    /* SecurityGroups, '\n'-separated */
	char aff_groups[512];    /* AffinityGroups, '\n'-separated */
	char zone[64];           /* AvailabilityZone */
	char ssh_key[PATH_MAX];  /* SSHKey: the user's private key path */
	char key_pair[256];      /* KeyPair: the ssh-key name we registered */
	char userdata_file[PATH_MAX]; /* UserDataFile */
	char id[64];             /* Id: the instance */
	/* machinefs: what this machine created, deleted by rm. */
	char made_sg[MAX_GROUPS][64];
	char made_ag[MAX_GROUPS][64];
};

static const struct driver_option exo_options[] = {
	{ "exoscale-url", OPT_STRING, NULL, "EXOSCALE_ENDPOINT", "exoscale API endpoint (API v2 base, e.g. https://api-ch-gva-2.exoscale.com/v2; empty or Docker Machine's v1 URL: the zone's v2 endpoint; http:// only on loopback)", 0, NULL },
	{ "exoscale-api-key", OPT_STRING, NULL, "EXOSCALE_API_KEY", "exoscale API key", 0, NULL },
	{ "exoscale-api-secret-key", OPT_STRING, NULL, "EXOSCALE_API_SECRET", "exoscale API secret key", OPT_SECRET, "ApiSecretKey" },
	{ "exoscale-instance-profile", OPT_STRING, "Small", "EXOSCALE_INSTANCE_PROFILE", "exoscale instance profile (Small, Medium, Large, ...: the standard family's size, or FAMILY.SIZE)", 0, NULL },
	{ "exoscale-disk-size", OPT_INT, "50", "EXOSCALE_DISK_SIZE", "exoscale disk size (10, 50, 100, 200, 400)", 0, NULL },
	{ "exoscale-image", OPT_STRING, "Linux Ubuntu 24.04 LTS 64-bit", "EXOSCALE_IMAGE", "exoscale image template", 0, NULL },
	{ "exoscale-security-group", OPT_LIST, "docker-machine", "EXOSCALE_SECURITY_GROUP", "exoscale security group", 0, NULL },
	{ "exoscale-availability-zone", OPT_STRING, "ch-dk-2", "EXOSCALE_AVAILABILITY_ZONE", "exoscale availability zone", 0, NULL },
	{ "exoscale-ssh-user", OPT_STRING, "", "EXOSCALE_SSH_USER", "name of the ssh user (default: the template's default user)", 0, NULL },
	{ "exoscale-ssh-key", OPT_STRING, "", "EXOSCALE_SSH_KEY", "path to the SSH user private key (its .pub is registered)", 0, NULL },
	{ "exoscale-userdata", OPT_STRING, NULL, "EXOSCALE_USERDATA", "path to file with cloud-init user-data", 0, NULL },
	{ "exoscale-affinity-group", OPT_LIST, NULL, "EXOSCALE_AFFINITY_GROUP", "exoscale affinity group (an API v2 anti-affinity group)", 0, NULL },
	{ NULL },
};

extern const struct machine_driver exoscale_driver;

/* ---- options ---- */

static const char *opt(const struct driver_ctx *ctx, const char *name)
{
	return driver_opt_env(ctx, &exoscale_driver, name);
}

static int put(struct driver_ctx *ctx, char *dst, size_t len, const char *name)
{
	return driver_opt_copy(ctx, &exoscale_driver, name, dst, len);
}

static bool clean(const char *s, const char *also_bad)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f || (also_bad && strchr(also_bad, *s)))
			return false;
	return true;
}

/* The v2 endpoint: the option's, else https://api-ZONE.exoscale.com/v2. */
static void endpoint(const struct exo_priv *p, char *out, size_t len)
{
	const char *u = p->url;
	const char *e = getenv("EXOSCALE_ENDPOINT");
	if ((!*u || strstr(u, "/compute")) && e && *e && !strstr(e, "/compute"))
		u = e;
	if (!*u || strstr(u, "/compute")) {
		char z[64];
		size_t i;
		for (i = 0; p->zone[i] && i < sizeof(z) - 1; i++)
			z[i] = (char)((p->zone[i] >= 'A' && p->zone[i] <= 'Z') ? p->zone[i] + 32 : p->zone[i]);
		z[i] = '\0';
		snprintf(out, len, "https://api-%s.exoscale.com/v2", z);
		return;
	}
	size_t n = strlen(u);
	while (n && u[n - 1] == '/')
		n--;
	snprintf(out, len, "%.*s", (int)n, u);
}

static int exo_configure(struct driver_ctx *ctx)
{
	struct exo_priv *p = ctx->priv;
	int rc;
	memset(p, 0, sizeof(*p));
	if ((rc = put(ctx, p->url, sizeof(p->url), "exoscale-url")) ||
	    (rc = put(ctx, p->api_key, sizeof(p->api_key), "exoscale-api-key")) ||
	    (rc = put(ctx, p->api_secret, sizeof(p->api_secret), "exoscale-api-secret-key")) ||
	    (rc = put(ctx, p->profile, sizeof(p->profile), "exoscale-instance-profile")) ||
	    (rc = put(ctx, p->image, sizeof(p->image), "exoscale-image")) ||
	    (rc = put(ctx, p->sec_groups, sizeof(p->sec_groups), "exoscale-security-group")) ||
	    (rc = put(ctx, p->zone, sizeof(p->zone), "exoscale-availability-zone")) ||
	    (rc = put(ctx, ctx->base->ssh_user, sizeof(ctx->base->ssh_user), "exoscale-ssh-user")) ||
	    (rc = put(ctx, p->ssh_key, sizeof(p->ssh_key), "exoscale-ssh-key")) ||
	    (rc = put(ctx, p->userdata_file, sizeof(p->userdata_file), "exoscale-userdata")) ||
	    (rc = put(ctx, p->aff_groups, sizeof(p->aff_groups), "exoscale-affinity-group")))
		return rc;
	/* Docker Machine's SetConfigFromFlags. */
	if (!*p->api_key || !*p->api_secret)
		return error_set(ctx->err, EINVAL, "please specify an API key (--exoscale-api-key) and an API secret key (--exoscale-api-secret-key)");
	if (!clean(p->api_key, ",") || !clean(p->api_secret, NULL))
		return error_set(ctx->err, EINVAL, "invalid exoscale-api-key or exoscale-api-secret-key: spaces, commas or control characters");
	if (!clean(p->zone, "/?#%") || !*p->zone)
		return error_set(ctx->err, EINVAL, "invalid value '%.60s' for option 'exoscale-availability-zone'", p->zone);
	const char *ds = opt(ctx, "exoscale-disk-size");
	char *end;
	p->disk_size = strtol(ds && *ds ? ds : "50", &end, 10);
	if (*end || p->disk_size < 10 || p->disk_size > 51200)
		return error_set(ctx->err, EINVAL, "invalid value '%.40s' for option 'exoscale-disk-size': want 10-51200 (GiB)", ds);
	if (*p->ssh_key && !*ctx->base->ssh_user)
		snprintf(ctx->base->ssh_user, sizeof(ctx->base->ssh_user), "root");
	if (*p->ssh_key) {
		char copy[PATH_MAX];
		snprintf(copy, sizeof(copy), "%s", p->ssh_key);
		snprintf(ctx->base->ssh_key_path, sizeof(ctx->base->ssh_key_path), "%s/%s", ctx->dir, basename(copy));
	} else {
		snprintf(ctx->base->ssh_key_path, sizeof(ctx->base->ssh_key_path), "%s/id_ed25519", ctx->dir);
	}
	ctx->base->ssh_port = 22;
	ctx->base->ip[0] = '\0';
	return 0;
}

/* ---- the API ---- */

struct signer {
	const struct exo_priv *p;
};

static int sign_attempt(void *arg, const struct http_req *rq, struct strlist *hdrs, char *err)
{
	const struct exo_priv *p = ((struct signer *)arg)->p;
	const char *s = strstr(rq->url, "://");
	s = s ? strchr(s + 3, '/') : NULL;
	if (!s)
		return error_set(err, EINVAL, "no path in the url");
	const char *q = strchr(s, '?');
	char path[1024];
	snprintf(path, sizeof(path), "%.*s", (int)(q ? (size_t)(q - s) : strlen(s)), s);
	struct strbuf h = STRBUF_INIT;
	strbuf_addstr(&h, "Authorization: ");
	int rc = exo2_authorization(p->api_key, p->api_secret, rq->method, path, q ? q + 1 : NULL,
				    rq->body, rq->body_len, (long long)time(NULL) + 600, &h);
	if (rc) {
		strbuf_release(&h);
		return error_set(err, EINVAL, "cannot sign the request");
	}
	strlist_add(hdrs, h.buf);
	strbuf_release(&h);
	return 0;
}

static int api(struct driver_ctx *ctx, const char *method, const char *path,
	       const cJSON *body, struct http_resp *rs, int timeout_s)
{
	const struct exo_priv *p = ctx->priv;
	char base[600];
	endpoint(p, base, sizeof(base));
	struct strbuf url = STRBUF_INIT;
	strbuf_addf(&url, "%s%s", base, path);
	struct strlist h = STRLIST_INIT;
	strlist_add(&h, "Accept: application/json");
	char *json = body ? cJSON_PrintUnformatted(body) : NULL;
	if (json)
		strlist_add(&h, "Content-Type: application/json");
	const char *secrets[] = { p->api_secret, NULL };
	struct signer sg = { p };
	struct http_req rq = {
		.method = method, .url = url.buf, .headers = &h,
		.body = json, .body_len = json ? strlen(json) : 0,
		.secrets = secrets, .timeout_s = timeout_s,
		.sign = sign_attempt, .sign_arg = &sg,
	};
	int rc = http_do(ctx, &rq, rs);
	free(json);
	strlist_clear(&h);
	strbuf_release(&url);
	return rc;
}

static int api_json(struct driver_ctx *ctx, const char *method, const char *path,
		    const cJSON *body, cJSON **out)
{
	struct http_resp rs = HTTP_RESP_INIT;
	int rc = api(ctx, method, path, body, &rs, 0);
	*out = NULL;
	if (!rc)
		rc = http_resp_json(ctx, &rs, path, out);
	http_resp_release(&rs);
	return rc;
}

/* Send a call answering an operation; the reference id into ref (may be
 * NULL); on_ref (may be NULL) is told the id before the wait, to save it.
 * Waits until the operation succeeds. */
static int operation(struct driver_ctx *ctx, const char *method, const char *path,
		     const cJSON *body, char *ref, size_t reflen,
		     int (*on_ref)(struct driver_ctx *, const char *))
{
	cJSON *op;
	int rc = api_json(ctx, method, path, body, &op);
	if (rc)
		return rc;
	char opid[64];
	snprintf(opid, sizeof(opid), "%s", json_str(op, "id", ""));
	const char *r = json_str(json_obj(op, "reference"), "id", "");
	if (ref)
		snprintf(ref, reflen, "%s", r);
	char state[32];
	snprintf(state, sizeof(state), "%s", json_str(op, "state", ""));
	cJSON_Delete(op);
	if (!*opid || !clean(opid, "/?#%"))
		return error_set(ctx->err, EBADMSG, "%s %s: the answer is no operation", method, path);
	if (on_ref && ref && *ref && (rc = on_ref(ctx, ref)))
		return rc;
	char oppath[96];
	snprintf(oppath, sizeof(oppath), "/operation/%s", opid);
	struct driver_wait w;
	driver_wait_start(&w, ctx, OP_WAIT_S, 100);
	w.nap_first = true;
	while (!strcmp(state, "pending")) {
		if (!driver_wait_next(&w)) {
			if (w.timed_out)
				return error_set(ctx->err, ETIMEDOUT, "operation %s (%s %s) not done within %d s",
						 opid, method, path, OP_WAIT_S);
			return error_set(ctx->err, EINTR, "%s %s was cancelled", method, path);
		}
		/* Most operations end within a second: look soon, then less often. */
		w.interval_ms = w.polls < 5 ? 100 : 500;
		if ((rc = api_json(ctx, "GET", oppath, NULL, &op)))
			return rc;
		snprintf(state, sizeof(state), "%s", json_str(op, "state", ""));
		if (ref && !*ref)
			snprintf(ref, reflen, "%s", json_str(json_obj(op, "reference"), "id", ""));
		if (strcmp(state, "pending") && strcmp(state, "success")) {
			rc = error_set(ctx->err, EIO, "%s %s: operation %s: %.100s%s%.200s", method, path,
				       state, json_str(op, "reason", ""),
				       *json_str(op, "message", "") ? ": " : "", json_str(op, "message", ""));
			cJSON_Delete(op);
			return rc;
		}
		cJSON_Delete(op);
	}
	if (strcmp(state, "success"))
		return error_set(ctx->err, EIO, "%s %s: operation %s", method, path, state);
	return 0;
}

static int delete_404_ok(struct driver_ctx *ctx, const char *path, bool in_use_ok)
{
	int rc = operation(ctx, "DELETE", path, NULL, NULL, 0, NULL);
	if (rc == -ENOENT) {
		driver_log(ctx, "%s is already gone", path);
		return 0;
	}
	if (rc == -EEXIST && in_use_ok) {
		driver_say(ctx, "%s is still in use, kept", path);
		return 0;
	}
	return rc;
}

/* The id of the item of list (answer key) whose name is name, or "". */
static int find_by_name(struct driver_ctx *ctx, const char *path, const char *key,
			const char *name, char *id, size_t len)
{
	cJSON *root;
	int rc = api_json(ctx, "GET", path, NULL, &root);
	if (rc)
		return rc;
	id[0] = '\0';
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, key))
		if (!strcmp(json_str(it, "name", ""), name))
			snprintf(id, len, "%s", json_str(it, "id", ""));
	cJSON_Delete(root);
	if (*id && !clean(id, "/?#%"))
		return error_set(ctx->err, EBADMSG, "GET %s: a bad id", path);
	return 0;
}

/* ---- create ---- */

static int checkpoint_id(struct driver_ctx *ctx, const char *ref)
{
	struct exo_priv *p = ctx->priv;
	snprintf(p->id, sizeof(p->id), "%s", ref);
	return driver_checkpoint(ctx);
}

static int find_template(struct driver_ctx *ctx, char *id, size_t len)
{
	struct exo_priv *p = ctx->priv;
	cJSON *root;
	int rc = api_json(ctx, "GET", "/template?visibility=public", NULL, &root);
	if (rc)
		return rc;
	id[0] = '\0';
	const cJSON *t;
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(root, "templates")) {
		const char *name = json_str(t, "name", "");
		bool match = !strcasecmp(name, p->image);
		/* Docker Machine's short names: "Linux Ubuntu 24.04 LTS 64-bit" is
		 * also "ubuntu-24.04". */
		if (!match && !strncmp(name, "Linux ", 6)) {
			char shortname[256] = "";
			const char *s = name + 6;
			size_t o = 0;
			while (*s && o < sizeof(shortname) - 1) {
				if (*s == ' ' && s[1] >= '0' && s[1] <= '9') {
					shortname[o++] = '-';
					s++;
					while (((*s >= '0' && *s <= '9') || *s == '.') && o < sizeof(shortname) - 1)
						shortname[o++] = *s++;
					break;
				}
				shortname[o++] = *s == ' ' ? '-' : (char)((*s >= 'A' && *s <= 'Z') ? *s + 32 : *s);
				s++;
			}
			shortname[o] = '\0';
			match = !strcasecmp(shortname, p->image);
		}
		if (match && !*id) {
			snprintf(id, len, "%s", json_str(t, "id", ""));
			if (!*ctx->base->ssh_user)
				snprintf(ctx->base->ssh_user, sizeof(ctx->base->ssh_user), "%s",
					 json_str(t, "default-user", "root"));
		}
	}
	cJSON_Delete(root);
	if (!*id)
		return error_set(ctx->err, ENOENT, "unable to find image %s", p->image);
	if (!*ctx->base->ssh_user)
		snprintf(ctx->base->ssh_user, sizeof(ctx->base->ssh_user), "root");
	return 0;
}

static int find_type(struct driver_ctx *ctx, char *id, size_t len)
{
	struct exo_priv *p = ctx->priv;
	char family[64] = "standard", size[64];
	const char *dot = strchr(p->profile, '.');
	if (dot) {
		snprintf(family, sizeof(family), "%.*s", (int)(dot - p->profile), p->profile);
		snprintf(size, sizeof(size), "%s", dot + 1);
	} else {
		snprintf(size, sizeof(size), "%s", p->profile);
	}
	cJSON *root;
	int rc = api_json(ctx, "GET", "/instance-type", NULL, &root);
	if (rc)
		return rc;
	id[0] = '\0';
	const cJSON *t;
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(root, "instance-types"))
		if (!strcasecmp(json_str(t, "family", ""), family) && !strcasecmp(json_str(t, "size", ""), size))
			snprintf(id, len, "%s", json_str(t, "id", ""));
	cJSON_Delete(root);
	if (!*id)
		return error_set(ctx->err, ENOENT, "unable to find service offering %s", p->profile);
	return 0;
}

static void remember(char list[MAX_GROUPS][64], const char *id)
{
	for (int i = 0; i < MAX_GROUPS; i++)
		if (!list[i][0]) {
			snprintf(list[i], 64, "%s", id);
			return;
		}
}

static void forget(char list[MAX_GROUPS][64], const char *id)
{
	for (int i = 0; i < MAX_GROUPS; i++)
		if (!strcmp(list[i], id))
			list[i][0] = '\0';
}

static cJSON *rule(const char *desc, const char *proto, int port_a, int port_b, const char *self_sg)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "description", desc);
	cJSON_AddStringToObject(r, "flow-direction", "ingress");
	cJSON_AddStringToObject(r, "protocol", proto);
	if (self_sg)
		cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "security-group"), "id", self_sg);
	else
		cJSON_AddStringToObject(r, "network", "0.0.0.0/0");
	if (!strcmp(proto, "icmp")) {
		cJSON *ic = cJSON_AddObjectToObject(r, "icmp");
		cJSON_AddNumberToObject(ic, "type", 8);
		cJSON_AddNumberToObject(ic, "code", 0);
	} else {
		cJSON_AddNumberToObject(r, "start-port", port_a);
		cJSON_AddNumberToObject(r, "end-port", port_b);
	}
	return r;
}

/* Docker Machine's createDefaultSecurityGroup, on v2. */
static int make_security_group(struct driver_ctx *ctx, const char *name, char *id, size_t len)
{
	struct exo_priv *p = ctx->priv;
	driver_say(ctx, "Creating security group %s", name);
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "name", name);
	cJSON_AddStringToObject(b, "description", "created by docker-machine");
	int rc = operation(ctx, "POST", "/security-group", b, id, len, NULL);
	cJSON_Delete(b);
	if (rc)
		return rc;
	if (!*id || !clean(id, "/?#%"))
		return error_set(ctx->err, EBADMSG, "POST /security-group: no id");
	remember(p->made_sg, id);
	if ((rc = driver_checkpoint(ctx)))
		return rc;
	cJSON *rules[] = {
		rule("SSH", "tcp", 22, 22, NULL),
		rule("Ping", "icmp", 0, 0, NULL),
		rule("Docker", "tcp", 2376, 2377, NULL),
		rule("Legacy Standalone Swarm", "tcp", 3376, 3377, NULL),
		rule("Communication among nodes", "tcp", 7946, 7946, id),
		rule("Communication among nodes", "udp", 7946, 7946, id),
		rule("Overlay network traffic", "udp", 4789, 4789, id),
	};
	char path[128];
	snprintf(path, sizeof(path), "/security-group/%s/rules", id);
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (!rc)
			rc = operation(ctx, "POST", path, rules[i], NULL, 0, NULL);
		cJSON_Delete(rules[i]);
	}
	return rc;
}

static int make_anti_affinity_group(struct driver_ctx *ctx, const char *name, char *id, size_t len)
{
	struct exo_priv *p = ctx->priv;
	driver_say(ctx, "Creating affinity group %s", name);
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "name", name);
	cJSON_AddStringToObject(b, "description", "created by docker-machine");
	int rc = operation(ctx, "POST", "/anti-affinity-group", b, id, len, NULL);
	cJSON_Delete(b);
	if (rc)
		return rc;
	if (!*id || !clean(id, "/?#%"))
		return error_set(ctx->err, EBADMSG, "POST /anti-affinity-group: no id");
	remember(p->made_ag, id);
	return driver_checkpoint(ctx);
}

/* For each line of names: the group's id (found or made), into arr. */
static int groups(struct driver_ctx *ctx, const char *names, bool security, cJSON *arr)
{
	const char *s = names;
	int n = 0;
	while (*s) {
		size_t l = strcspn(s, "\n,");
		char name[256];
		snprintf(name, sizeof(name), "%.*s", (int)(l < 255 ? l : 255), s);
		s += l + (s[l] != '\0');
		if (!*name)
			continue;
		if (++n > MAX_GROUPS)
			return error_set(ctx->err, EINVAL, "at most %d groups of each kind", MAX_GROUPS);
		char id[64];
		int rc = security ? find_by_name(ctx, "/security-group", "security-groups", name, id, sizeof(id))
				  : find_by_name(ctx, "/anti-affinity-group", "anti-affinity-groups", name, id, sizeof(id));
		if (!rc && !*id) {
			rc = security ? make_security_group(ctx, name, id, sizeof(id))
				      : make_anti_affinity_group(ctx, name, id, sizeof(id));
			/* Another create made it meanwhile (409): use that one. */
			if (rc == -EEXIST && !*id) {
				driver_log(ctx, "group %s was made meanwhile by another create: using it", name);
				rc = security ? find_by_name(ctx, "/security-group", "security-groups", name, id, sizeof(id))
					      : find_by_name(ctx, "/anti-affinity-group", "anti-affinity-groups", name, id, sizeof(id));
				if (!rc && !*id)
					rc = error_set(ctx->err, ENOENT, "group %s: made meanwhile, then not found", name);
			}
		}
		if (rc)
			return rc;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", id);
		cJSON_AddItemToArray(arr, o);
	}
	return 0;
}

static char *b64(const char *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)len);
	return out;
}

static int instance(struct driver_ctx *ctx, char *state, size_t slen, char *ip, size_t iplen, int timeout_s)
{
	const struct exo_priv *p = ctx->priv;
	char path[96];
	snprintf(path, sizeof(path), "/instance/%s", p->id);
	struct http_resp rs = HTTP_RESP_INIT;
	int rc = api(ctx, "GET", path, NULL, &rs, timeout_s);
	cJSON *root = NULL;
	if (!rc)
		rc = http_resp_json(ctx, &rs, path, &root);
	http_resp_release(&rs);
	if (rc)
		return rc;
	snprintf(state, slen, "%s", json_str(root, "state", ""));
	if (ip)
		snprintf(ip, iplen, "%s", json_str(root, "public-ip", ""));
	cJSON_Delete(root);
	return 0;
}

static void undo_create(struct driver_ctx *ctx)
{
	struct exo_priv *p = ctx->priv;
	struct driver_ctx c = *ctx;
	c.cancel = NULL;
	char left[ERR_MAX] = "";
	char path[128];
	size_t l;
#define LEFT(fmt, ...) (l = strlen(left), snprintf(left + l, sizeof(left) - l, "%s" fmt, l ? ", " : "", __VA_ARGS__))
	if (*p->id) {
		snprintf(path, sizeof(path), "/instance/%s", p->id);
		if (!delete_404_ok(&c, path, false))
			p->id[0] = '\0';
		else
			LEFT("instance %s (%.120s)", p->id, c.err);
	}
	if (*p->key_pair && !*p->ssh_key) {
		snprintf(path, sizeof(path), "/ssh-key/%.100s", p->key_pair);
		if (!delete_404_ok(&c, path, false))
			p->key_pair[0] = '\0';
		else
			LEFT("ssh key %s (%.120s)", p->key_pair, c.err);
	}
	for (int i = MAX_GROUPS - 1; i >= 0; i--) {
		if (!p->made_ag[i][0])
			continue;
		snprintf(path, sizeof(path), "/anti-affinity-group/%s", p->made_ag[i]);
		if (!delete_404_ok(&c, path, true))
			p->made_ag[i][0] = '\0';
		else
			LEFT("anti-affinity group %s (%.120s)", p->made_ag[i], c.err);
	}
	for (int i = MAX_GROUPS - 1; i >= 0; i--) {
		if (!p->made_sg[i][0])
			continue;
		snprintf(path, sizeof(path), "/security-group/%s", p->made_sg[i]);
		if (!delete_404_ok(&c, path, true))
			p->made_sg[i][0] = '\0';
		else
			LEFT("security group %s (%.120s)", p->made_sg[i], c.err);
	}
#undef LEFT
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

static int exo_create(struct driver_ctx *ctx)
{
	struct exo_priv *p = ctx->priv;
	struct strbuf ud = STRBUF_INIT, pub = STRBUF_INIT;
	int rc = 0;
	cJSON *sgs = cJSON_CreateArray(), *ags = cJSON_CreateArray(), *body = NULL, *root = NULL;
	char template_id[64], type_id[64];

	if (*p->userdata_file)
		rc = read_file(p->userdata_file, &ud, ctx->err);
	else
		strbuf_addstr(&ud, "#cloud-config\nmanage_etc_hosts: localhost\n");
	if (rc)
		goto out;
	driver_say(ctx, "Querying exoscale for the requested parameters...");
	if ((rc = api_json(ctx, "GET", "/zone", NULL, &root)))
		goto out;
	bool zone_ok = false;
	const cJSON *z;
	cJSON_ArrayForEach(z, cJSON_GetObjectItemCaseSensitive(root, "zones"))
		if (!strcasecmp(json_str(z, "name", ""), p->zone))
			zone_ok = true;
	cJSON_Delete(root);
	root = NULL;
	if (!zone_ok) {
		rc = error_set(ctx->err, ENOENT, "availability zone %s doesn't exist", p->zone);
		goto out;
	}
	if ((rc = find_template(ctx, template_id, sizeof(template_id))) ||
	    (rc = find_type(ctx, type_id, sizeof(type_id))))
		goto out;
	if ((rc = groups(ctx, p->sec_groups, true, sgs)) ||
	    (rc = groups(ctx, p->aff_groups, false, ags)))
		goto fail;

	/* The SSH key: the user's, or our ed25519 one. */
	if (*p->ssh_key) {
		if ((rc = copy_file(p->ssh_key, ctx->base->ssh_key_path, 0600, ctx->err)))
			goto fail;
		struct strbuf pp = STRBUF_INIT;
		strbuf_addf(&pp, "%s.pub", p->ssh_key);
		rc = read_file(pp.buf, &pub, ctx->err);
		strbuf_release(&pp);
	} else {
		rc = sshkey_generate_ed25519(ctx->base->ssh_key_path, ctx->machine, ctx->err);
		if (!rc) {
			struct strbuf pp = STRBUF_INIT;
			strbuf_addf(&pp, "%s.pub", ctx->base->ssh_key_path);
			rc = read_file(pp.buf, &pub, ctx->err);
			strbuf_release(&pp);
		}
	}
	if (rc)
		goto fail;
	strbuf_rtrim(&pub);
	snprintf(p->key_pair, sizeof(p->key_pair), "docker-machine-%s", ctx->machine);
	driver_say(ctx, "Registering SSH key %s", p->key_pair);
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "name", p->key_pair);
	cJSON_AddStringToObject(body, "public-key", pub.buf);
	if ((rc = driver_checkpoint(ctx)))
		goto fail;
	rc = operation(ctx, "POST", "/ssh-key", body, NULL, 0, NULL);
	cJSON_Delete(body);
	body = NULL;
	if (rc)
		goto fail;

	driver_say(ctx, "Deploying %s...", ctx->machine);
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "name", ctx->machine);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "instance-type"), "id", type_id);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "template"), "id", template_id);
	cJSON_AddNumberToObject(body, "disk-size", (double)p->disk_size);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "ssh-key"), "name", p->key_pair);
	cJSON_AddItemToObject(body, "security-groups", sgs);
	sgs = NULL;
	if (cJSON_GetArraySize(ags)) {
		cJSON_AddItemToObject(body, "anti-affinity-groups", ags);
		ags = NULL;
	}
	char *u = b64(ud.buf ? ud.buf : "", ud.len);
	cJSON_AddStringToObject(body, "user-data", u ? u : "");
	free(u);
	char ref[64] = "";
	rc = operation(ctx, "POST", "/instance", body, ref, sizeof(ref), checkpoint_id);
	if (!rc && !*p->id && *ref)
		rc = checkpoint_id(ctx, ref);
	if (rc)
		goto fail;
	if (!*p->id || !clean(p->id, "/?#%")) {
		rc = error_set(ctx->err, EBADMSG, "POST /instance: no instance id");
		goto fail;
	}
	driver_say(ctx, "Waiting for the instance's IP address...");
	char st[32], ip[64];
	bool up = false;
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, IP_WAIT_S, 1000); !up && driver_wait_next(&w);) {
		if ((rc = instance(ctx, st, sizeof(st), ip, sizeof(ip), 0)))
			goto fail;
		up = !strcmp(st, "running") && *ip;
		if (!strcmp(st, "error") || !strcmp(st, "destroyed")) {
			rc = error_set(ctx->err, EIO, "instance %s is '%s' before it got an ip address", p->id, st);
			goto fail;
		}
	}
	if (!up) {
		if (w.timed_out)
			rc = error_set(ctx->err, ETIMEDOUT, "instance %s got no ip address within %d s", p->id, IP_WAIT_S);
		else
			rc = error_set(ctx->err, EINTR, "create of '%s' was cancelled", ctx->machine);
		goto fail;
	}
	snprintf(ctx->base->ip, sizeof(ctx->base->ip), "%s", ip);
	driver_log(ctx, "Instance %s, IP address %s", p->id, ip);
	driver_checkpoint(ctx);
	goto out;
fail:
	undo_create(ctx);
out:
	cJSON_Delete(body);
	cJSON_Delete(sgs);
	cJSON_Delete(ags);
	strbuf_release(&ud);
	strbuf_release(&pub);
	return rc;
}

/* ---- the rest of the life cycle ---- */

static int exo_remove(struct driver_ctx *ctx)
{
	struct exo_priv *p = ctx->priv;
	char path[128];
	int rc;
	if (*p->id) {
		snprintf(path, sizeof(path), "/instance/%s", p->id);
		if ((rc = delete_404_ok(ctx, path, false)))
			return rc;
		p->id[0] = '\0';
		driver_checkpoint(ctx);
	}
	if (*p->key_pair && !*p->ssh_key) {
		snprintf(path, sizeof(path), "/ssh-key/%.100s", p->key_pair);
		if ((rc = delete_404_ok(ctx, path, false)))
			return rc;
		p->key_pair[0] = '\0';
	}
	for (int i = MAX_GROUPS - 1; i >= 0; i--) {
		if (!p->made_ag[i][0])
			continue;
		snprintf(path, sizeof(path), "/anti-affinity-group/%s", p->made_ag[i]);
		if ((rc = delete_404_ok(ctx, path, true)))
			return rc;
		forget(p->made_ag, p->made_ag[i]);
	}
	for (int i = MAX_GROUPS - 1; i >= 0; i--) {
		if (!p->made_sg[i][0])
			continue;
		snprintf(path, sizeof(path), "/security-group/%s", p->made_sg[i]);
		if ((rc = delete_404_ok(ctx, path, true)))
			return rc;
		forget(p->made_sg, p->made_sg[i]);
	}
	return 0;
}

static enum machine_state state_of(const char *s)
{
	if (!strcmp(s, "starting"))
		return MS_STARTING;
	if (!strcmp(s, "running"))
		return MS_RUNNING;
	if (!strcmp(s, "stopping"))
		return MS_STOPPING;
	if (!strcmp(s, "stopped"))
		return MS_STOPPED;
	if (!strcmp(s, "error"))
		return MS_ERROR;
	return MS_NONE;
}

static int exo_state(struct driver_ctx *ctx, enum machine_state *out)
{
	const struct exo_priv *p = ctx->priv;
	if (!*p->id)
		return error_set(ctx->err, ENOENT, "no instance recorded for '%s'", ctx->machine);
	struct driver_ctx quiet = *ctx;
	quiet.log_fn = NULL;
	char st[32];
	int rc = instance(&quiet, st, sizeof(st), NULL, 0, 20);
	if (rc) {
		snprintf(ctx->err, ERR_MAX, "%s", quiet.err);
		*out = MS_ERROR;
		return rc;
	}
	*out = state_of(st);
	return 0;
}

static int power(struct driver_ctx *ctx, const char *action, const char *want)
{
	const struct exo_priv *p = ctx->priv;
	char path[128];
	snprintf(path, sizeof(path), "/instance/%s:%s", p->id, action);
	int rc = operation(ctx, "PUT", path, NULL, NULL, 0, NULL);
	if (rc)
		return rc;
	char st[32];
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, OP_WAIT_S, 500); driver_wait_next(&w);) {
		if ((rc = instance(ctx, st, sizeof(st), NULL, 0, 0)))
			return rc;
		if (!strcmp(st, want))
			return 0;
	}
	if (w.timed_out)
		return error_set(ctx->err, ETIMEDOUT, "instance %s is not %s %d s after %s",
				 p->id, want, OP_WAIT_S, action);
	return error_set(ctx->err, EINTR, "%s of '%s' was cancelled", action, ctx->machine);
}

static int exo_start(struct driver_ctx *ctx)
{
	return power(ctx, "start", "running");
}

static int exo_stop(struct driver_ctx *ctx)
{
	return power(ctx, "stop", "stopped");
}

static int exo_restart(struct driver_ctx *ctx)
{
	return power(ctx, "reboot", "running");
}

static int exo_url(struct driver_ctx *ctx, char *buf, size_t len)
{
	if (!*ctx->base->ip)
		return -ENOENT;
	snprintf(buf, len, "tcp://%s:2376", ctx->base->ip);
	return 0;
}

/* ---- config.json ---- */

static void list_load(const cJSON *o, const char *key, char *dst, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, key))
		if (cJSON_IsString(it))
			strbuf_addf(&sb, "%s%s", sb.len ? "\n" : "", it->valuestring);
	snprintf(dst, len, "%s", sb.len ? sb.buf : "");
	strbuf_release(&sb);
}

static void list_save(cJSON *o, const char *key, const char *src)
{
	struct strlist l = STRLIST_INIT;
	for (const char *s = src; *s;) {
		size_t n = strcspn(s, "\n");
		if (n) {
			char *t = strndup(s, n);
			strlist_add(&l, t);
			free(t);
		}
		s += n + (s[n] == '\n');
	}
	json_put_list(o, key, &l, true);
	strlist_clear(&l);
}

static int exo_load(struct driver_ctx *ctx, const cJSON *o)
{
	struct exo_priv *p = ctx->priv;
	memset(p, 0, sizeof(*p));
	snprintf(p->url, sizeof(p->url), "%s", json_str(o, "URL", ""));
	snprintf(p->api_key, sizeof(p->api_key), "%s", json_str(o, "ApiKey", ""));
	snprintf(p->api_secret, sizeof(p->api_secret), "%s", json_str(o, "ApiSecretKey", ""));
	snprintf(p->profile, sizeof(p->profile), "%s", json_str(o, "InstanceProfile", ""));
	p->disk_size = json_int(o, "DiskSize", 0);
	snprintf(p->image, sizeof(p->image), "%s", json_str(o, "Image", ""));
	list_load(o, "SecurityGroups", p->sec_groups, sizeof(p->sec_groups));
	list_load(o, "AffinityGroups", p->aff_groups, sizeof(p->aff_groups));
	snprintf(p->zone, sizeof(p->zone), "%s", json_str(o, "AvailabilityZone", ""));
	snprintf(p->ssh_key, sizeof(p->ssh_key), "%s", json_str(o, "SSHKey", ""));
	snprintf(p->key_pair, sizeof(p->key_pair), "%s", json_str(o, "KeyPair", ""));
	snprintf(p->userdata_file, sizeof(p->userdata_file), "%s", json_str(o, "UserDataFile", ""));
	snprintf(p->id, sizeof(p->id), "%s", json_str(o, "Id", ""));
	int i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "MadeSecurityGroupIDs"))
		if (cJSON_IsString(it) && i < MAX_GROUPS)
			snprintf(p->made_sg[i++], 64, "%s", it->valuestring);
	i = 0;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "MadeAffinityGroupIDs"))
		if (cJSON_IsString(it) && i < MAX_GROUPS)
			snprintf(p->made_ag[i++], 64, "%s", it->valuestring);
	return 0;
}

static int exo_save(const struct driver_ctx *ctx, cJSON *o)
{
	const struct exo_priv *p = ctx->priv;
	json_put_str(o, "URL", p->url);
	json_put_str(o, "ApiKey", p->api_key);
	json_put_str(o, "ApiSecretKey", p->api_secret);
	json_put_str(o, "InstanceProfile", p->profile);
	json_put_int(o, "DiskSize", p->disk_size);
	json_put_str(o, "Image", p->image);
	list_save(o, "SecurityGroups", p->sec_groups);
	list_save(o, "AffinityGroups", p->aff_groups);
	json_put_str(o, "AvailabilityZone", p->zone);
	json_put_str(o, "SSHKey", p->ssh_key);
	json_put_str(o, "KeyPair", p->key_pair);
	json_put_str(o, "Password", "");
	json_put_str(o, "PublicKey", "");
	json_put_str(o, "UserDataFile", p->userdata_file);
	cJSON_AddNullToObject(o, "UserData");
	json_put_str(o, "Id", p->id);
	struct strlist l = STRLIST_INIT;
	for (int i = 0; i < MAX_GROUPS; i++)
		if (p->made_sg[i][0])
			strlist_add(&l, p->made_sg[i]);
	json_put_list(o, "MadeSecurityGroupIDs", &l, false);
	strlist_clear(&l);
	for (int i = 0; i < MAX_GROUPS; i++)
		if (p->made_ag[i][0])
			strlist_add(&l, p->made_ag[i]);
	json_put_list(o, "MadeAffinityGroupIDs", &l, false);
	strlist_clear(&l);
	return 0;
}

const struct machine_driver exoscale_driver = {
	.name = "exoscale",
	.supports = DRV_START | DRV_STOP | DRV_RESTART | DRV_KILL | DRV_SSH | DRV_REMOVE,
	.options = exo_options,
	.priv_size = sizeof(struct exo_priv),
	.configure = exo_configure,
	.create = exo_create,
	.remove = exo_remove,
	.start = exo_start,
	.stop = exo_stop,
	.restart = exo_restart,
	.kill = exo_stop,
	.state = exo_state,
	.url = exo_url,
	.load = exo_load,
	.save = exo_save,
};
