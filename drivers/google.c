/* The "google" driver: a Compute Engine instance (Docker Machine's
 * drivers/google), over the Compute v1 REST API with Application Default
 * Credentials (gauth.c) and the shared HTTP client.
 *
 * The calls and their order are Docker Machine 0.16's:
 *   precreate  GET project; GET instance (must be 404 unless use-existing)
 *   create     GET firewall docker-machines; POST or PUT it (+ global op)
 *              [GET address]; GET disk NAME-disk; POST instances (+ zone op);
 *              GET instance; POST setMetadata (+ zone op)
 *   remove     DELETE instance (+ op; 404 is fine); GET disk, DELETE it (+ op)
 *   start      GET instance; POST start (+ op), or insert from the disk
 *   stop/kill  POST stop (+ op); restart = stop + start
 *   state      GET instance (404: GET disk: Stopped if there, else None)
 * What machinefs adds: the ssh-keys metadata key (sshKeys is obsolete),
 * an ed25519 machine key, waiting for the instance's IP and SSH, and no
 * orphans: a create that fails after instances.insert deletes the
 * instance and its disk, and says in the error what it could not delete.
 * The firewall rule docker-machines is shared by every machine of the
 * project and is left in place, as Docker Machine leaves it. */
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/driver.h"
#include "drivers/gauth.h"
#include "drivers/gce_api.h"
#include "drivers/sshkey.h"
#include "drivers/wait.h"
#include "lib/fileutil.h"
#include "lib/json.h"
#include "lib/strbuf.h"
#include "provision/ssh.h"

#define FIREWALL_RULE "docker-machines"
#define FIREWALL_TAG "docker-machine"
#define DOCKER_PORT "2376"
#define OP_WAIT_S 600
#define IP_WAIT_S 300
#define SSH_WAIT_S 300

struct google_priv {
	char zone[128];             /* Zone */
	char machine_type[256];     /* MachineType */
	char machine_image[1024];   /* MachineImage: relative to .../projects/ */
	char disk_type[128];        /* DiskType */
	char address[256];          /* Address */
	char network[1024];         /* Network */
	char subnetwork[1024];      /* Subnetwork */
	bool preemptible;           /* Preemptible */
	bool use_internal_ip;       /* UseInternalIP */
	bool use_internal_ip_only;  /* UseInternalIPOnly */
	char service_account[256];  /* ServiceAccount */
	char scopes[2048];          /* Scopes */
	int disk_size;              /* DiskSize */
	char project[256];          /* Project */
	char tags[1024];            /* Tags */
	bool use_existing;          /* UseExisting */
	char open_ports[1024];      /* OpenPorts, one a line */
	/* machinefs's own keys */
	char api_url[1024];         /* APIURL */
	char credentials[PATH_MAX]; /* ApplicationCredentials: as given, or "" (ADC) */
};

static const struct driver_option google_options[] = {
	{ "google-zone", OPT_STRING, "us-central1-a", "GOOGLE_ZONE", "GCE Zone", 0, NULL },
	{ "google-machine-type", OPT_STRING, "n1-standard-1", "GOOGLE_MACHINE_TYPE", "GCE Machine Type", 0, NULL },
	{ "google-machine-image", OPT_STRING, "ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64",
	  "GOOGLE_MACHINE_IMAGE", "GCE Machine Image Absolute URL", 0, NULL },
	{ "google-username", OPT_STRING, "docker-user", "GOOGLE_USERNAME", "GCE User Name", 0, NULL },
	{ "google-project", OPT_STRING, NULL, "GOOGLE_PROJECT", "GCE Project", OPT_REQUIRED, NULL },
	{ "google-service-account", OPT_STRING, "default", "GOOGLE_SERVICE_ACCOUNT",
	  "GCE Service Account for the VM (email address)", 0, NULL },
	{ "google-scopes", OPT_STRING,
	  "https://www.googleapis.com/auth/devstorage.read_only,https://www.googleapis.com/auth/logging.write,https://www.googleapis.com/auth/monitoring.write",
	  "GOOGLE_SCOPES", "GCE Scopes (comma-separated if multiple scopes)", 0, NULL },
	{ "google-disk-size", OPT_INT, "10", "GOOGLE_DISK_SIZE", "GCE Instance Disk Size (in GB)", 0, NULL },
	{ "google-disk-type", OPT_STRING, "pd-standard", "GOOGLE_DISK_TYPE", "GCE Instance Disk type", 0, NULL },
	{ "google-network", OPT_STRING, "default", "GOOGLE_NETWORK", "Specify network in which to provision vm", 0, NULL },
	{ "google-subnetwork", OPT_STRING, NULL, "GOOGLE_SUBNETWORK", "Specify subnetwork in which to provision vm", 0, NULL },
	{ "google-address", OPT_STRING, NULL, "GOOGLE_ADDRESS", "GCE Instance External IP", 0, NULL },
	{ "google-preemptible", OPT_BOOL, NULL, "GOOGLE_PREEMPTIBLE", "GCE Instance Preemptibility", 0, NULL },
	{ "google-tags", OPT_STRING, NULL, "GOOGLE_TAGS", "GCE Instance Tags (comma-separated)", 0, NULL },
	{ "google-use-internal-ip", OPT_BOOL, NULL, "GOOGLE_USE_INTERNAL_IP",
	  "Use internal GCE Instance IP rather than public one", 0, NULL },
	{ "google-use-internal-ip-only", OPT_BOOL, NULL, "GOOGLE_USE_INTERNAL_IP_ONLY",
	  "Configure GCE instance to not have an external IP address", 0, NULL },
	{ "google-use-existing", OPT_BOOL, NULL, "GOOGLE_USE_EXISTING", "Don't create a new VM, use an existing one", 0, NULL },
	{ "google-open-port", OPT_LIST, NULL, NULL,
	  "Make the specified port number accessible from the Internet, e.g, 8080/tcp", 0, NULL },
	/* machinefs's own */
	{ "google-api-url", OPT_STRING, GCE_API_DEFAULT, "GOOGLE_API_URL",
	  "Compute Engine API base URL (machinefs; for private endpoints and tests)", 0, NULL },
	{ "google-application-credentials", OPT_STRING, NULL, "GOOGLE_APPLICATION_CREDENTIALS",
	  "Service account or authorized_user key file (machinefs; default: Application Default Credentials)",
	  0, NULL },
	{ NULL },
};

extern const struct machine_driver google_driver;

static int put_opt(struct driver_ctx *ctx, const char *name, char *dst, size_t len)
{
	const char *v = driver_opt(ctx, &google_driver, name);
	if (!v)
		v = "";
	if (strlen(v) >= len)
		return error_set(ctx->err, EINVAL, "option '%s' is too long (%zu bytes, at most %zu)",
				 name, strlen(v), len - 1);
	snprintf(dst, len, "%s", v);
	return 0;
}

/* Docker Machine keeps the image relative to .../compute/v1/projects/. */
static void image_relative(char *img, size_t len)
{
	static const char *const prefixes[] = {
		"https://www.googleapis.com/compute/v1/projects/",
		"https://compute.googleapis.com/compute/v1/projects/",
		"projects/",
	};
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);
		if (!strncmp(img, prefixes[i], n)) {
			size_t rest = strlen(img + n);
			memmove(img, img + n, rest + 1);
			memset(img + rest, 0, len - rest); /* a clean record */
			return;
		}
	}
}

static bool valid_name(const char *s)
{
	if (!*s)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("-_.:", *p)))
			return false;
	return true;
}

static int google_configure(struct driver_ctx *ctx)
{
	struct google_priv *p = ctx->priv;
	const struct machine_driver *d = &google_driver;
	int rc;
	if ((rc = put_opt(ctx, "google-project", p->project, sizeof(p->project))))
		return rc;
	if (!*p->project)
		return error_set(ctx->err, EINVAL,
				 "no Google Cloud Project name specified (--google-project): write it to 'options/google-project'");
	if ((rc = put_opt(ctx, "google-zone", p->zone, sizeof(p->zone))) ||
	    (rc = put_opt(ctx, "google-machine-type", p->machine_type, sizeof(p->machine_type))) ||
	    (rc = put_opt(ctx, "google-machine-image", p->machine_image, sizeof(p->machine_image))) ||
	    (rc = put_opt(ctx, "google-disk-type", p->disk_type, sizeof(p->disk_type))) ||
	    (rc = put_opt(ctx, "google-address", p->address, sizeof(p->address))) ||
	    (rc = put_opt(ctx, "google-network", p->network, sizeof(p->network))) ||
	    (rc = put_opt(ctx, "google-subnetwork", p->subnetwork, sizeof(p->subnetwork))) ||
	    (rc = put_opt(ctx, "google-service-account", p->service_account, sizeof(p->service_account))) ||
	    (rc = put_opt(ctx, "google-scopes", p->scopes, sizeof(p->scopes))) ||
	    (rc = put_opt(ctx, "google-tags", p->tags, sizeof(p->tags))) ||
	    (rc = put_opt(ctx, "google-open-port", p->open_ports, sizeof(p->open_ports))) ||
	    (rc = put_opt(ctx, "google-api-url", p->api_url, sizeof(p->api_url) - 1)) ||
	    (rc = put_opt(ctx, "google-application-credentials", p->credentials,
			  sizeof(p->credentials))) ||
	    (rc = put_opt(ctx, "google-username", ctx->base->ssh_user, sizeof(ctx->base->ssh_user))) ||
	    (rc = driver_opt_int(ctx, d, "google-disk-size", &p->disk_size)))
		return rc;
	if (!valid_name(p->project) || !valid_name(p->zone) || strlen(p->zone) < 3)
		return error_set(ctx->err, EINVAL, "invalid google-project '%.64s' or google-zone '%.64s'",
				 p->project, p->zone);
	/* A static address name goes into a URL path. */
	if (*p->address && strspn(p->address, "abcdefghijklmnopqrstuvwxyz0123456789.-") != strlen(p->address))
		return error_set(ctx->err, EINVAL, "invalid google-address '%.64s': an address name or an IPv4 address",
				 p->address);
	/* It becomes an ssh-keys line "USER:KEY USER": no ':' or blanks. */
	if (!valid_name(ctx->base->ssh_user) || strchr(ctx->base->ssh_user, ':'))
		return error_set(ctx->err, EINVAL, "invalid google-username '%.64s'", ctx->base->ssh_user);
	if (strncmp(p->api_url, "https://", 8) && strncmp(p->api_url, "http://", 7))
		return error_set(ctx->err, EINVAL, "invalid google-api-url '%.128s': want http(s)://...",
				 p->api_url);
	if (p->api_url[strlen(p->api_url) - 1] != '/')
		strcat(p->api_url, "/");
	if (p->disk_size < 1 || p->disk_size > 65536)
		return error_set(ctx->err, EINVAL, "invalid google-disk-size %d: want 1 to 65536 GB",
				 p->disk_size);
	image_relative(p->machine_image, sizeof(p->machine_image));
	p->use_existing = driver_opt_bool(ctx, d, "google-use-existing");
	p->preemptible = driver_opt_bool(ctx, d, "google-preemptible");
	p->use_internal_ip_only = driver_opt_bool(ctx, d, "google-use-internal-ip-only");
	p->use_internal_ip = driver_opt_bool(ctx, d, "google-use-internal-ip") || p->use_internal_ip_only;
	/* Machine names are GCE instance names: [a-z]([-a-z0-9]*[a-z0-9])?. */
	regex_t re;
	regcomp(&re, "^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", REG_EXTENDED | REG_NOSUB);
	bool ok = regexec(&re, ctx->machine, 0, NULL, 0) == 0;
	regfree(&re);
	if (!ok)
		return error_set(ctx->err, EINVAL,
				 "invalid google instance name '%s': lowercase letters, digits and '-', starting with a letter",
				 ctx->machine);
	ctx->base->ssh_port = 22;
	snprintf(ctx->base->ssh_key_path, sizeof(ctx->base->ssh_key_path), "%s/id_ed25519", ctx->dir);
	return 0;
}

/* The API context of a call. */
struct gcall {
	struct gce g;
	char cred[PATH_MAX];
};

static int gcall_init(struct driver_ctx *ctx, struct gcall *c)
{
	const struct google_priv *p = ctx->priv;
	int rc = gauth_find(p->credentials, c->cred, sizeof(c->cred), ctx->err);
	if (rc)
		return rc;
	c->g = (struct gce){
		.ctx = ctx,
		.api_url = *p->api_url ? p->api_url : GCE_API_DEFAULT,
		.cred_path = c->cred,
		.project = p->project,
		.zone = p->zone,
	};
	return 0;
}

static void instance_path(const struct driver_ctx *ctx, struct strbuf *sb, const char *suffix)
{
	const struct google_priv *p = ctx->priv;
	strbuf_addf(sb, "projects/%s/zones/%s/instances/%s%s", p->project, p->zone, ctx->machine,
		    suffix ? suffix : "");
}

static void disk_path(const struct driver_ctx *ctx, struct strbuf *sb)
{
	const struct google_priv *p = ctx->priv;
	strbuf_addf(sb, "projects/%s/zones/%s/disks/%s-disk", p->project, p->zone, ctx->machine);
}

static int get_instance(struct gcall *c, cJSON **out)
{
	struct strbuf path = STRBUF_INIT;
	instance_path(c->g.ctx, &path, NULL);
	int rc = gce_get(&c->g, path.buf, out);
	strbuf_release(&path);
	return rc;
}

static int get_disk(struct gcall *c, cJSON **out)
{
	struct strbuf path = STRBUF_INIT;
	disk_path(c->g.ctx, &path);
	int rc = gce_get(&c->g, path.buf, out);
	strbuf_release(&path);
	return rc;
}

/* POST/DELETE path, then wait for its zone operation. */
static int zone_action(struct gcall *c, const char *method, const char *path, const cJSON *body)
{
	cJSON *op = NULL;
	long status = 0;
	int rc = gce_call(&c->g, method, path, body, &status, &op);
	if (rc)
		return rc;
	return gce_wait_op(&c->g, op, GCE_OP_ZONE, OP_WAIT_S);
}

static int google_precreate(struct driver_ctx *ctx)
{
	const struct google_priv *p = ctx->priv;
	struct gcall c;
	int rc = gcall_init(ctx, &c);
	if (rc)
		return rc;
	driver_say(ctx, "Check that the project exists");
	struct strbuf path = STRBUF_INIT;
	strbuf_addf(&path, "projects/%s", p->project);
	cJSON *o = NULL;
	rc = gce_get(&c.g, path.buf, &o);
	cJSON_Delete(o);
	strbuf_release(&path);
	if (rc == -ENOENT)
		return error_set(ctx->err, ENOENT, "project with id '%s' not found", p->project);
	if (rc)
		return rc;
	driver_say(ctx, "Check if the instance already exists");
	rc = get_instance(&c, &o);
	cJSON_Delete(o);
	if (p->use_existing && rc == -ENOENT)
		return error_set(ctx->err, ENOENT, "unable to find instance '%s' in zone '%s'",
				 ctx->machine, p->zone);
	if (!p->use_existing && rc == 0)
		return error_set(ctx->err, EEXIST, "instance '%s' already exists in zone '%s'",
				 ctx->machine, p->zone);
	return rc == -ENOENT ? 0 : rc;
}

/* "8080/tcp" -> port and protocol (tcp when none). */
static void split_port(const char *s, char *port, size_t plen, char *proto, size_t qlen)
{
	const char *slash = strchr(s, '/');
	snprintf(port, plen, "%.*s", slash ? (int)(slash - s) : (int)strlen(s), s);
	snprintf(proto, qlen, "%s", slash && slash[1] ? slash + 1 : "tcp");
}

/* The ports the rule must open: 2376, swarm's, the user's. */
static void ports_used(const struct driver_ctx *ctx, struct strlist *out)
{
	const struct google_priv *p = ctx->priv;
	strlist_add(out, DOCKER_PORT "/tcp");
	if (ctx->base->swarm_master) {
		const char *colon = strrchr(ctx->base->swarm_host, ':');
		if (colon && colon[1]) {
			struct strbuf sb = STRBUF_INIT;
			strbuf_addf(&sb, "%s/tcp", colon + 1);
			strlist_add(out, sb.buf);
			strbuf_release(&sb);
		}
	}
	struct strlist user = STRLIST_INIT;
	strlist_split_lines(&user, p->open_ports);
	for (size_t i = 0; i < user.n; i++) {
		char port[64], proto[32];
		split_port(user.v[i], port, sizeof(port), proto, sizeof(proto));
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "%s/%s", port, proto);
		strlist_add(out, sb.buf);
		strbuf_release(&sb);
	}
	strlist_clear(&user);
}

static bool rule_opens(const cJSON *rule, const char *port, const char *proto)
{
	const cJSON *a;
	cJSON_ArrayForEach(a, cJSON_GetObjectItem(rule, "allowed"))
	{
		const char *ip = cJSON_GetStringValue(cJSON_GetObjectItem(a, "IPProtocol"));
		const cJSON *pt;
		cJSON_ArrayForEach(pt, cJSON_GetObjectItem(a, "ports"))
		{
			if (ip && cJSON_IsString(pt) && !strcmp(ip, proto) &&
			    !strcmp(pt->valuestring, port))
				return true;
		}
	}
	return false;
}

/* again: this is the second try after another create made the rule
 * between our GET and our insert (409). */
static int open_firewall(struct gcall *c, bool again)
{
	struct driver_ctx *ctx = c->g.ctx;
	const struct google_priv *p = ctx->priv;
	driver_say(ctx, "Opening firewall ports");
	struct strbuf path = STRBUF_INIT;
	strbuf_addf(&path, "projects/%s/global/firewalls/" FIREWALL_RULE, p->project);
	cJSON *rule = NULL;
	int rc = gce_get(&c->g, path.buf, &rule);
	bool create = rc == -ENOENT;
	if (rc && !create) {
		strbuf_release(&path);
		return rc;
	}
	if (create) {
		rule = cJSON_CreateObject();
		cJSON_AddStringToObject(rule, "name", FIREWALL_RULE);
		cJSON_AddArrayToObject(rule, "allowed");
		cJSON *src = cJSON_AddArrayToObject(rule, "sourceRanges");
		cJSON_AddItemToArray(src, cJSON_CreateString("0.0.0.0/0"));
		cJSON *tt = cJSON_AddArrayToObject(rule, "targetTags");
		cJSON_AddItemToArray(tt, cJSON_CreateString(FIREWALL_TAG));
		struct strbuf net = STRBUF_INIT;
		strbuf_addf(&net, GCE_SELF_BASE "%s/global/networks/%s", p->project, p->network);
		cJSON_AddStringToObject(rule, "network", net.buf);
		strbuf_release(&net);
	}
	if (!cJSON_GetObjectItem(rule, "allowed"))
		cJSON_AddArrayToObject(rule, "allowed");
	struct strlist used = STRLIST_INIT;
	ports_used(ctx, &used);
	/* Missing ports, grouped by protocol as Docker Machine groups them. */
	bool missing = false;
	for (size_t i = 0; i < used.n; i++) {
		char port[64], proto[32];
		split_port(used.v[i], port, sizeof(port), proto, sizeof(proto));
		if (rule_opens(rule, port, proto))
			continue;
		missing = true;
		cJSON *a, *found = NULL;
		cJSON_ArrayForEach(a, cJSON_GetObjectItem(rule, "allowed"))
		{
			const char *ip = cJSON_GetStringValue(cJSON_GetObjectItem(a, "IPProtocol"));
			if (ip && !strcmp(ip, proto) && cJSON_GetObjectItem(a, "x-new"))
				found = a;
		}
		if (!found) {
			found = cJSON_CreateObject();
			cJSON_AddStringToObject(found, "IPProtocol", proto);
			cJSON_AddArrayToObject(found, "ports");
			cJSON_AddTrueToObject(found, "x-new");
			cJSON_AddItemToArray(cJSON_GetObjectItem(rule, "allowed"), found);
		}
		cJSON_AddItemToArray(cJSON_GetObjectItem(found, "ports"), cJSON_CreateString(port));
	}
	strlist_clear(&used);
	cJSON *a;
	cJSON_ArrayForEach(a, cJSON_GetObjectItem(rule, "allowed"))
		cJSON_DeleteItemFromObject(a, "x-new");
	if (missing) {
		cJSON *op = NULL;
		if (create) {
			strbuf_reset(&path);
			strbuf_addf(&path, "projects/%s/global/firewalls", p->project);
			long status = 0;
			rc = gce_call(&c->g, "POST", path.buf, rule, &status, &op);
			if (rc && status == 409 && !again) {
				driver_log(ctx, "the firewall rule was made meanwhile: reading it again");
				cJSON_Delete(rule);
				strbuf_release(&path);
				ctx->err[0] = '\0';
				return open_firewall(c, true);
			}
		} else {
			rc = gce_call(&c->g, "PUT", path.buf, rule, NULL, &op);
		}
		if (!rc)
			rc = gce_wait_op(&c->g, op, GCE_OP_GLOBAL, OP_WAIT_S);
	}
	cJSON_Delete(rule);
	strbuf_release(&path);
	return rc;
}

/* The public key's "type base64", without its comment. */
static int public_key(struct driver_ctx *ctx, struct strbuf *out)
{
	char path[PATH_MAX + 8];
	snprintf(path, sizeof(path), "%s.pub", ctx->base->ssh_key_path);
	struct strbuf sb = STRBUF_INIT;
	int rc = read_file(path, &sb, ctx->err);
	if (!rc) {
		char type[64], key[8192];
		if (sscanf(sb.buf, "%63s %8191s", type, key) != 2)
			rc = error_set(ctx->err, EINVAL, "cannot parse the public key '%s'", path);
		else
			strbuf_addf(out, "%s %s", type, key);
	}
	strbuf_release(&sb);
	return rc;
}

/* setMetadata with our key in ssh-keys (other items and keys kept). */
static int upload_ssh_key(struct gcall *c, const cJSON *instance)
{
	struct driver_ctx *ctx = c->g.ctx;
	driver_say(ctx, "Uploading SSH Key");
	struct strbuf pub = STRBUF_INIT, value = STRBUF_INIT, path = STRBUF_INIT;
	int rc = public_key(ctx, &pub);
	if (rc) {
		strbuf_release(&pub);
		return rc;
	}
	const char *user = ctx->base->ssh_user;
	const cJSON *md = cJSON_GetObjectItem(instance, "metadata");
	cJSON *body = cJSON_CreateObject();
	const char *fp = cJSON_GetStringValue(cJSON_GetObjectItem(md, "fingerprint"));
	if (fp)
		cJSON_AddStringToObject(body, "fingerprint", fp);
	cJSON *items = cJSON_AddArrayToObject(body, "items");
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(md, "items"))
	{
		const char *k = cJSON_GetStringValue(cJSON_GetObjectItem(it, "key"));
		const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(it, "value"));
		if (k && !strcmp(k, "ssh-keys") && v) {
			strbuf_addstr(&value, v);
			if (value.len && value.buf[value.len - 1] != '\n')
				strbuf_addch(&value, '\n');
		} else if (k) {
			cJSON_AddItemToArray(items, cJSON_Duplicate(it, 1));
		}
	}
	strbuf_addf(&value, "%s:%s %s\n", user, pub.buf, user);
	cJSON *mine = cJSON_CreateObject();
	cJSON_AddStringToObject(mine, "key", "ssh-keys");
	cJSON_AddStringToObject(mine, "value", value.buf);
	cJSON_AddItemToArray(items, mine);
	instance_path(ctx, &path, "/setMetadata");
	rc = zone_action(c, "POST", path.buf, body);
	cJSON_Delete(body);
	strbuf_release(&pub);
	strbuf_release(&value);
	strbuf_release(&path);
	return rc;
}

static void add_str_array(cJSON *obj, const char *key, const char *csv)
{
	cJSON *a = cJSON_AddArrayToObject(obj, key);
	const char *s = csv;
	while (s && *s) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		char *item = strndup(s, n);
		if (!item)
			abort();
		if (*item)
			cJSON_AddItemToArray(a, cJSON_CreateString(item));
		free(item);
		s = comma ? comma + 1 : NULL;
	}
}

/* The region of a zone: "us-central1-a" -> "us-central1". */
static void region_of(const char *zone, char *out, size_t len)
{
	size_t n = strlen(zone);
	snprintf(out, len, "%.*s", n > 2 ? (int)(n - 2) : 0, zone);
}

/* A static address by name (Docker Machine: anything with a lowercase
 * letter is a name), else as given. */
static int static_address(struct gcall *c, char *out, size_t len)
{
	const struct google_priv *p = c->g.ctx->priv;
	bool name = false;
	for (const char *s = p->address; *s; s++)
		name |= *s >= 'a' && *s <= 'z';
	if (!name) {
		snprintf(out, len, "%s", p->address);
		return 0;
	}
	char region[128];
	region_of(p->zone, region, sizeof(region));
	struct strbuf path = STRBUF_INIT;
	strbuf_addf(&path, "projects/%s/regions/%s/addresses/%s", p->project, region, p->address);
	cJSON *a = NULL;
	int rc = gce_call(&c->g, "GET", path.buf, NULL, NULL, &a);
	if (!rc)
		snprintf(out, len, "%s", json_str(a, "address", ""));
	cJSON_Delete(a);
	strbuf_release(&path);
	return rc;
}

/* The instances.insert body, as Docker Machine builds it. */
static int instance_body(struct gcall *c, bool disk_exists, const char *nat_ip, cJSON **out)
{
	struct driver_ctx *ctx = c->g.ctx;
	const struct google_priv *p = ctx->priv;
	struct strbuf s = STRBUF_INIT;
	cJSON *in = cJSON_CreateObject();
	cJSON_AddStringToObject(in, "name", ctx->machine);
	cJSON_AddStringToObject(in, "description", "docker host vm");
	strbuf_addf(&s, GCE_SELF_BASE "%s/zones/%s/machineTypes/%s", p->project, p->zone,
		    p->machine_type);
	cJSON_AddStringToObject(in, "machineType", s.buf);
	cJSON *disk = cJSON_CreateObject();
	cJSON_AddBoolToObject(disk, "autoDelete", true);
	cJSON_AddBoolToObject(disk, "boot", true);
	if (!disk_exists) {
		cJSON *ip = cJSON_AddObjectToObject(disk, "initializeParams");
		strbuf_reset(&s);
		strbuf_addf(&s, "%s-disk", ctx->machine);
		cJSON_AddStringToObject(ip, "diskName", s.buf);
		cJSON_AddNumberToObject(ip, "diskSizeGb", p->disk_size);
		strbuf_reset(&s);
		strbuf_addf(&s, GCE_SELF_BASE "%s/zones/%s/diskTypes/%s", p->project, p->zone,
			    p->disk_type);
		cJSON_AddStringToObject(ip, "diskType", s.buf);
		strbuf_reset(&s);
		strbuf_addf(&s, GCE_SELF_BASE "%s", p->machine_image);
		cJSON_AddStringToObject(ip, "sourceImage", s.buf);
	}
	cJSON_AddStringToObject(disk, "mode", "READ_WRITE");
	if (disk_exists) {
		strbuf_reset(&s);
		strbuf_addf(&s, GCE_SELF_BASE "%s/zones/%s/disks/%s-disk", p->project, p->zone,
			    ctx->machine);
		cJSON_AddStringToObject(disk, "source", s.buf);
	}
	cJSON_AddStringToObject(disk, "type", "PERSISTENT");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(in, "disks"), disk);
	cJSON *nic = cJSON_CreateObject();
	if (!p->use_internal_ip_only) {
		cJSON *ac = cJSON_CreateObject();
		if (*nat_ip)
			cJSON_AddStringToObject(ac, "natIP", nat_ip);
		cJSON_AddStringToObject(ac, "type", "ONE_TO_ONE_NAT");
		cJSON_AddItemToArray(cJSON_AddArrayToObject(nic, "accessConfigs"), ac);
	}
	strbuf_reset(&s);
	if (strstr(p->network, "/networks/"))
		strbuf_addstr(&s, p->network);
	else
		strbuf_addf(&s, GCE_SELF_BASE "%s/global/networks/%s", p->project, p->network);
	cJSON_AddStringToObject(nic, "network", s.buf);
	if (*p->subnetwork) {
		strbuf_reset(&s);
		if (strstr(p->subnetwork, "/subnetworks/")) {
			strbuf_addstr(&s, p->subnetwork);
		} else {
			char region[128];
			region_of(p->zone, region, sizeof(region));
			strbuf_addf(&s, "projects/%s/regions/%s/subnetworks/%s", p->project, region,
				    p->subnetwork);
		}
		cJSON_AddStringToObject(nic, "subnetwork", s.buf);
	}
	cJSON_AddItemToArray(cJSON_AddArrayToObject(in, "networkInterfaces"), nic);
	cJSON *sched = cJSON_AddObjectToObject(in, "scheduling");
	if (p->preemptible)
		cJSON_AddBoolToObject(sched, "preemptible", true);
	cJSON *sa = cJSON_CreateObject();
	cJSON_AddStringToObject(sa, "email", p->service_account);
	add_str_array(sa, "scopes", p->scopes);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(in, "serviceAccounts"), sa);
	strbuf_reset(&s);
	strbuf_addf(&s, FIREWALL_TAG "%s%s", *p->tags ? "," : "", p->tags);
	add_str_array(cJSON_AddObjectToObject(in, "tags"), "items", s.buf);
	strbuf_release(&s);
	*out = in;
	return 0;
}

/* The address SSH and the engine use, from an instances.get answer. */
static const char *instance_ip(const struct google_priv *p, const cJSON *in)
{
	const cJSON *nic = cJSON_GetArrayItem(cJSON_GetObjectItem(in, "networkInterfaces"), 0);
	if (p->use_internal_ip)
		return cJSON_GetStringValue(cJSON_GetObjectItem(nic, "networkIP"));
	const cJSON *ac = cJSON_GetArrayItem(cJSON_GetObjectItem(nic, "accessConfigs"), 0);
	return cJSON_GetStringValue(cJSON_GetObjectItem(ac, "natIP"));
}

/* Poll instances.get until it is RUNNING with an address (bounded,
 * cancellable); base->ip gets the address. */
static int wait_ip(struct gcall *c)
{
	struct driver_ctx *ctx = c->g.ctx;
	const struct google_priv *p = ctx->priv;
	driver_say(ctx, "Waiting for the instance's address...");
	char st[32] = "";
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, IP_WAIT_S, 1000); driver_wait_next(&w);) {
		cJSON *in = NULL;
		int rc = get_instance(c, &in);
		if (rc == -ENOENT)
			rc = error_set(ctx->err, ENOENT, "instance '%s' disappeared", ctx->machine);
		if (rc)
			return rc;
		snprintf(st, sizeof(st), "%s", json_str(in, "status", ""));
		const char *ip = instance_ip(p, in);
		if (!strcmp(st, "RUNNING") && ip && *ip) {
			snprintf(ctx->base->ip, sizeof(ctx->base->ip), "%s", ip);
			cJSON_Delete(in);
			driver_log(ctx, "Instance '%s' is running at %s", ctx->machine, ctx->base->ip);
			return 0;
		}
		cJSON_Delete(in);
		if (!strcmp(st, "TERMINATED") || !strcmp(st, "STOPPED") || !strcmp(st, "SUSPENDED"))
			return error_set(ctx->err, EIO, "instance '%s' is %s, not running", ctx->machine, st);
	}
	if (w.timed_out)
		return error_set(ctx->err, ETIMEDOUT, "instance '%s' had no address within %d s (status %s)",
				 ctx->machine, IP_WAIT_S, *st ? st : "?");
	return error_set(ctx->err, EINTR, "'%s': cancelled", ctx->machine);
}

/* SSH answers with the machine's key: the guest agent puts ssh-keys in
 * place some time after boot, so "refused" is retried too. */
static int wait_ssh(struct driver_ctx *ctx)
{
	char known[PATH_MAX + 16];
	snprintf(known, sizeof(known), "%s/known_hosts", ctx->dir);
	struct ssh_target t = {
		.host = ctx->base->ip,
		.port = ctx->base->ssh_port ? ctx->base->ssh_port : 22,
		.user = ctx->base->ssh_user,
		.key_path = ctx->base->ssh_key_path,
		.known_hosts = known,
		.connect_timeout_ms = 5000,
		.cancel = ctx->cancel,
	};
	driver_log(ctx, "Waiting for SSH on %s:%d...", t.host, t.port);
	char e[ERR_MAX] = "";
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, SSH_WAIT_S, 1000); driver_wait_next(&w);) {
		struct ssh_conn *conn;
		int rc = ssh_connect(&t, &conn, e);
		if (!rc) {
			rc = ssh_run(conn, "exit 0", NULL, 10000, e);
			ssh_close(conn);
			if (!rc)
				return 0;
		}
		if (rc == -EKEYREJECTED)
			return error_set(ctx->err, EKEYREJECTED, "%s", e);
	}
	if (!w.timed_out)
		return error_set(ctx->err, EINTR, "'%s': cancelled", ctx->machine);
	return error_set(ctx->err, ETIMEDOUT, "no SSH on '%s' within %d s: %s", ctx->base->ip,
			 SSH_WAIT_S, e);
}

/* Delete the instance and its disk, each waited for; 404s are fine.
 * What could not be deleted is appended to left. */
static int delete_all(struct gcall *c, struct strbuf *left)
{
	struct driver_ctx *ctx = c->g.ctx;
	const struct google_priv *p = ctx->priv;
	struct strbuf path = STRBUF_INIT;
	int ret = 0;
	driver_say(ctx, "Deleting instance.");
	instance_path(ctx, &path, NULL);
	cJSON *op = NULL;
	long status = 0;
	int rc = gce_call(&c->g, "DELETE", path.buf, NULL, &status, &op);
	if (rc && status == 404) {
		driver_say(ctx, "Remote instance does not exist, proceeding with removing local reference");
		rc = 0;
	} else if (!rc) {
		driver_say(ctx, "Waiting for instance to delete.");
		rc = gce_wait_op(&c->g, op, GCE_OP_ZONE, OP_WAIT_S);
	}
	if (rc) {
		strbuf_addf(left, "%sinstance '%s' in zone '%s' (%s)", left->len ? ", " : "",
			    ctx->machine, p->zone, ctx->err);
		ret = rc;
	}
	cJSON *disk = NULL;
	rc = get_disk(c, &disk);
	cJSON_Delete(disk);
	if (rc == -ENOENT) {
		rc = 0;
	} else if (!rc) {
		driver_say(ctx, "Deleting disk.");
		strbuf_reset(&path);
		disk_path(ctx, &path);
		rc = gce_call(&c->g, "DELETE", path.buf, NULL, &status, &op);
		if (rc && status == 404)
			rc = 0;
		else if (!rc)
			rc = gce_wait_op(&c->g, op, GCE_OP_ZONE, OP_WAIT_S);
	}
	if (rc) {
		strbuf_addf(left, "%sdisk '%s-disk' in zone '%s' (%s)", left->len ? ", " : "",
			    ctx->machine, p->zone, ctx->err);
		ret = ret ? ret : rc;
	}
	strbuf_release(&path);
	return ret;
}

/* A failed create: delete what it made, in reverse, even when the create
 * was cancelled; the error names what is left. */
static int undo_create(struct gcall *c, int rc)
{
	struct driver_ctx *ctx = c->g.ctx;
	char why[ERR_MAX];
	snprintf(why, sizeof(why), "%s", ctx->err);
	driver_log(ctx, "Create failed (%s): deleting what it made", why);
	struct driver_ctx quiet = *ctx; /* not cancelled: the clean-up must run */
	quiet.cancel = NULL;
	struct gcall c2 = *c;
	c2.g.ctx = &quiet;
	c2.g.cred_path = c2.cred;
	struct strbuf left = STRBUF_INIT;
	delete_all(&c2, &left);
	if (left.len)
		error_set(ctx->err, -rc, "%s; left behind: %s", why, left.buf);
	else
		error_set(ctx->err, -rc, "%s", why);
	strbuf_release(&left);
	return rc;
}

/* instances.insert and everything until the instance has its key and
 * address. Called by create and by start when only the disk is left. */
static int create_instance(struct gcall *c)
{
	struct driver_ctx *ctx = c->g.ctx;
	const struct google_priv *p = ctx->priv;
	driver_say(ctx, "Creating instance");
	char nat_ip[256] = "";
	int rc = 0;
	if (*p->address && !p->use_internal_ip_only &&
	    (rc = static_address(c, nat_ip, sizeof(nat_ip))))
		return rc;
	cJSON *disk = NULL, *body = NULL;
	rc = get_disk(c, &disk);
	cJSON_Delete(disk);
	if (rc && rc != -ENOENT)
		return rc;
	if ((rc = instance_body(c, rc == 0, nat_ip, &body)))
		return rc;
	struct strbuf path = STRBUF_INIT;
	strbuf_addf(&path, "projects/%s/zones/%s/instances", p->project, p->zone);
	cJSON *op = NULL;
	rc = gce_call(&c->g, "POST", path.buf, body, NULL, &op);
	cJSON_Delete(body);
	strbuf_release(&path);
	if (rc)
		return rc;
	/* Made: save the record now, so a kill -9 cannot orphan it. */
	driver_log(ctx, "Requested instance '%s' in zone '%s' (disk '%s-disk')", ctx->machine,
		   p->zone, ctx->machine);
	char e[ERR_MAX];
	memcpy(e, ctx->err, sizeof(e));
	if (driver_checkpoint(ctx))
		driver_log(ctx, "cannot save the machine's record: %s", ctx->err);
	memcpy(ctx->err, e, sizeof(e));
	driver_say(ctx, "Waiting for Instance");
	if ((rc = gce_wait_op(&c->g, op, GCE_OP_ZONE, OP_WAIT_S)))
		return undo_create(c, rc);
	cJSON *in = NULL;
	if ((rc = get_instance(c, &in)) == -ENOENT)
		rc = error_set(ctx->err, ENOENT, "instance '%s' not found after its insert", ctx->machine);
	if (!rc)
		rc = upload_ssh_key(c, in);
	cJSON_Delete(in);
	if (!rc)
		rc = wait_ip(c);
	if (rc)
		return undo_create(c, rc);
	return 0;
}

static int configure_existing(struct gcall *c)
{
	struct driver_ctx *ctx = c->g.ctx;
	driver_say(ctx, "Configuring instance");
	cJSON *in = NULL;
	int rc = get_instance(c, &in);
	if (rc)
		return rc;
	/* The firewall rule's tag. */
	cJSON *tags = cJSON_GetObjectItem(in, "tags");
	bool tagged = false;
	const cJSON *t;
	cJSON_ArrayForEach(t, cJSON_GetObjectItem(tags, "items"))
		tagged |= cJSON_IsString(t) && !strcmp(t->valuestring, FIREWALL_TAG);
	if (!tagged) {
		driver_say(ctx, "Adding tag for the firewall rule");
		cJSON *body = tags ? cJSON_Duplicate(tags, 1) : cJSON_CreateObject();
		cJSON *items = cJSON_GetObjectItem(body, "items");
		if (!items)
			items = cJSON_AddArrayToObject(body, "items");
		cJSON_AddItemToArray(items, cJSON_CreateString(FIREWALL_TAG));
		struct strbuf path = STRBUF_INIT;
		instance_path(ctx, &path, "/setTags");
		rc = zone_action(c, "POST", path.buf, body);
		strbuf_release(&path);
		cJSON_Delete(body);
	}
	if (!rc) {
		/* The fingerprint changed with the tags. */
		cJSON_Delete(in);
		in = NULL;
		rc = get_instance(c, &in);
	}
	if (!rc)
		rc = upload_ssh_key(c, in);
	cJSON_Delete(in);
	return rc ? rc : wait_ip(c);
}

static int google_create(struct driver_ctx *ctx)
{
	const struct google_priv *p = ctx->priv;
	ctx->base->ip[0] = '\0';
	driver_say(ctx, "Generating SSH Key");
	int rc = sshkey_generate_ed25519(ctx->base->ssh_key_path, ctx->machine, ctx->err);
	if (rc)
		return rc;
	driver_say(ctx, "Creating host...");
	struct gcall c;
	if ((rc = gcall_init(ctx, &c)))
		return rc;
	if ((rc = open_firewall(&c, false)))
		return rc;
	rc = p->use_existing ? configure_existing(&c) : create_instance(&c);
	if (!rc)
		rc = wait_ssh(ctx);
	/* SSH never answered: the instance is ours and useless. */
	if (rc && !p->use_existing && *ctx->base->ip)
		return undo_create(&c, rc);
	return rc;
}

static int google_remove(struct driver_ctx *ctx)
{
	struct gcall c;
	int rc = gcall_init(ctx, &c);
	if (rc)
		return rc;
	struct strbuf left = STRBUF_INIT;
	rc = delete_all(&c, &left);
	if (rc) {
		char why[ERR_MAX];
		snprintf(why, sizeof(why), "%s", left.buf);
		error_set(ctx->err, -rc, "cannot delete everything of '%s': left: %s", ctx->machine, why);
	}
	strbuf_release(&left);
	return rc;
}

static int instance_action(struct driver_ctx *ctx, const char *what, const char *log)
{
	struct gcall c;
	int rc = gcall_init(ctx, &c);
	if (rc)
		return rc;
	struct strbuf path = STRBUF_INIT;
	strbuf_addf(&path, "/%s", what);
	struct strbuf full = STRBUF_INIT;
	instance_path(ctx, &full, path.buf);
	driver_say(ctx, "%s", log);
	rc = zone_action(&c, "POST", full.buf, NULL);
	strbuf_release(&path);
	strbuf_release(&full);
	return rc;
}

static int google_start(struct driver_ctx *ctx)
{
	struct gcall c;
	int rc = gcall_init(ctx, &c);
	if (rc)
		return rc;
	cJSON *in = NULL;
	rc = get_instance(&c, &in);
	cJSON_Delete(in);
	if (rc == -ENOENT) {
		/* Only the disk is left: a new instance from it. */
		return create_instance(&c);
	}
	if (rc)
		return rc;
	rc = instance_action(ctx, "start", "Waiting for instance to start.");
	if (!rc)
		rc = wait_ip(&c); /* an ephemeral address changes on start */
	return rc;
}

static int google_stop(struct driver_ctx *ctx)
{
	int rc = instance_action(ctx, "stop", "Waiting for instance to stop.");
	if (!rc)
		ctx->base->ip[0] = '\0';
	return rc;
}

static int google_restart(struct driver_ctx *ctx)
{
	int rc = google_stop(ctx);
	return rc ? rc : google_start(ctx);
}

static int google_state(struct driver_ctx *ctx, enum machine_state *out)
{
	struct gcall c;
	int rc = gcall_init(ctx, &c);
	if (rc)
		return rc;
	cJSON *in = NULL;
	rc = get_instance(&c, &in);
	if (rc == -ENOENT) {
		cJSON *disk = NULL;
		rc = get_disk(&c, &disk);
		cJSON_Delete(disk);
		*out = rc == 0 ? MS_STOPPED : MS_NONE;
		return rc == -ENOENT ? 0 : rc;
	}
	if (rc)
		return rc;
	const char *st = json_str(in, "status", "");
	if (!strcmp(st, "PROVISIONING") || !strcmp(st, "STAGING"))
		*out = MS_STARTING;
	else if (!strcmp(st, "RUNNING"))
		*out = MS_RUNNING;
	else if (!strcmp(st, "STOPPING") || !strcmp(st, "STOPPED") || !strcmp(st, "TERMINATED"))
		*out = MS_STOPPED;
	else
		*out = MS_NONE;
	cJSON_Delete(in);
	return 0;
}

static int google_url(struct driver_ctx *ctx, char *buf, size_t len)
{
	if (!*ctx->base->ip)
		return -ENOENT;
	snprintf(buf, len, "tcp://%s:" DOCKER_PORT, ctx->base->ip);
	return 0;
}

static void load_str(const cJSON *o, const char *key, const char *def, char *dst, size_t len)
{
	snprintf(dst, len, "%s", json_str(o, key, def));
}

static int google_load(struct driver_ctx *ctx, const cJSON *o)
{
	struct google_priv *p = ctx->priv;
	load_str(o, "Zone", "us-central1-a", p->zone, sizeof(p->zone));
	load_str(o, "MachineType", "", p->machine_type, sizeof(p->machine_type));
	load_str(o, "MachineImage", "", p->machine_image, sizeof(p->machine_image));
	load_str(o, "DiskType", "", p->disk_type, sizeof(p->disk_type));
	load_str(o, "Address", "", p->address, sizeof(p->address));
	load_str(o, "Network", "default", p->network, sizeof(p->network));
	load_str(o, "Subnetwork", "", p->subnetwork, sizeof(p->subnetwork));
	p->preemptible = json_bool(o, "Preemptible", false);
	p->use_internal_ip = json_bool(o, "UseInternalIP", false);
	p->use_internal_ip_only = json_bool(o, "UseInternalIPOnly", false);
	load_str(o, "ServiceAccount", "", p->service_account, sizeof(p->service_account));
	load_str(o, "Scopes", "", p->scopes, sizeof(p->scopes));
	p->disk_size = (int)json_int(o, "DiskSize", 10);
	load_str(o, "Project", "", p->project, sizeof(p->project));
	load_str(o, "Tags", "", p->tags, sizeof(p->tags));
	p->use_existing = json_bool(o, "UseExisting", false);
	struct strlist ports = STRLIST_INIT;
	json_list(o, "OpenPorts", &ports);
	p->open_ports[0] = '\0';
	for (size_t i = 0; i < ports.n; i++) {
		size_t n = strlen(p->open_ports);
		snprintf(p->open_ports + n, sizeof(p->open_ports) - n, "%s%s", i ? "\n" : "",
			 ports.v[i]);
	}
	strlist_clear(&ports);
	/* A Docker Machine store has neither: $GOOGLE_API_URL or Google's
	 * API, and Application Default Credentials. */
	const char *api = getenv("GOOGLE_API_URL");
	load_str(o, "APIURL", api && *api ? api : GCE_API_DEFAULT, p->api_url, sizeof(p->api_url));
	if (*p->api_url && p->api_url[strlen(p->api_url) - 1] != '/' &&
	    strlen(p->api_url) + 1 < sizeof(p->api_url))
		strcat(p->api_url, "/");
	load_str(o, "ApplicationCredentials", "", p->credentials, sizeof(p->credentials));
	return 0;
}

static int google_save(const struct driver_ctx *ctx, cJSON *o)
{
	const struct google_priv *p = ctx->priv;
	json_put_str(o, "Zone", p->zone);
	json_put_str(o, "MachineType", p->machine_type);
	json_put_str(o, "MachineImage", p->machine_image);
	json_put_str(o, "DiskType", p->disk_type);
	json_put_str(o, "Address", p->address);
	json_put_str(o, "Network", p->network);
	json_put_str(o, "Subnetwork", p->subnetwork);
	json_put_bool(o, "Preemptible", p->preemptible);
	json_put_bool(o, "UseInternalIP", p->use_internal_ip);
	json_put_bool(o, "UseInternalIPOnly", p->use_internal_ip_only);
	json_put_str(o, "ServiceAccount", p->service_account);
	json_put_str(o, "Scopes", p->scopes);
	json_put_int(o, "DiskSize", p->disk_size);
	json_put_str(o, "Project", p->project);
	json_put_str(o, "Tags", p->tags);
	json_put_bool(o, "UseExisting", p->use_existing);
	struct strlist ports = STRLIST_INIT;
	strlist_split_lines(&ports, p->open_ports);
	json_put_list(o, "OpenPorts", &ports, true);
	strlist_clear(&ports);
	json_put_str(o, "APIURL", p->api_url);
	json_put_str(o, "ApplicationCredentials", p->credentials);
	return 0;
}

const struct machine_driver google_driver = {
	.name = "google",
	.supports = DRV_SSH | DRV_START | DRV_STOP | DRV_RESTART | DRV_KILL | DRV_REMOVE,
	.options = google_options,
	.priv_size = sizeof(struct google_priv),
	.configure = google_configure,
	.precreate_check = google_precreate,
	.create = google_create,
	.remove = google_remove,
	.start = google_start,
	.stop = google_stop,
	.restart = google_restart,
	.kill = google_stop,
	.state = google_state,
	.url = google_url,
	.load = google_load,
	.save = google_save,
};
