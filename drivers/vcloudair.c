/* The "vmwarevcloudair" driver: Docker Machine 0.16's drivers/vmwarevcloudair
 * against the vCloud API of VMware Cloud Director (XML, version 5.6).
 *
 * vCloud Air, the service Docker Machine's driver spoke to, closed in 2017
 * (VMware sold it to OVH). Its API was Cloud Director's vCloud API, which
 * service providers still run: machinefs speaks that API to the endpoint in
 * vmwarevcloudair-api-url (env VCLOUDAIR_API_URL, e.g.
 * https://vcd.example.com/api). Tested only against a local fake
 * (tests/fakecloud/vcloud.py), never against a real Cloud Director.
 *
 * Every method: POST /sessions (Basic USER@ORG:PASSWORD, ORG = computeid,
 * else vdcid) -> x-vcloud-authorization (and X-VMWARE-VCLOUD-ACCESS-TOKEN,
 * sent as Bearer when given); GET the org list, the org, the VDC.
 * Create, in Docker Machine's order: the VDC's network and edge gateway,
 * the catalog and its item, its vApp template; POST
 * instantiateVAppTemplate (the vApp's href saved at once, driver_checkpoint),
 * each task awaited (status success/error, bounded, cancellable); the VM's
 * CPU and memory (PUT virtualHardwareSection/cpu, /memory), its guest
 * customization script (authorizes the machine's ed25519 key for root),
 * power on, then the edge gateway's NAT (DNAT PUBLICIP:SSHPORT -> VM:22,
 * PUBLICIP:DOCKERPORT -> VM:2376) and firewall rules, described with the
 * machine's name (configureServices). A failed create deletes what it made.
 * rm: the rules with the machine's name removed, the vApp powered off,
 * undeployed and deleted (404: gone already).
 * State from the vApp's status (4 Running, 8 Stopped); stop = shutdown,
 * kill = powerOff, restart = reset, start = powerOn, as Docker Machine. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "drivers/driver.h"
#include "drivers/http.h"
#include "drivers/sshkey.h"
#include "drivers/wait.h"
#include "lib/fileutil.h"
#include "lib/json.h"

#define TASK_WAIT_S 600
#define ACCEPT "Accept: application/*+xml;version=5.6"
#define VCD_NS "http://www.vmware.com/vcloud/v1.5"

struct vca_priv {
	char username[256];      /* UserName */
	char password[256];      /* UserPassword (secret) */
	char compute_id[256];    /* ComputeID */
	char vdc_id[256];        /* VDCID */
	char org_vdc_net[256];   /* OrgVDCNet */
	char edge_gateway[256];  /* EdgeGateway */
	char public_ip[64];      /* PublicIP */
	char catalog[256];       /* Catalog */
	char catalog_item[256];  /* CatalogItem */
	int docker_port;         /* DockerPort */
	int cpu_count;           /* CPUCount */
	int memory_size;         /* MemorySize */
	char vapp_id[512];       /* VAppID: the vApp's href here */
	char vm_ip[64];          /* VMIP: machinefs's, the VM's address behind the NAT */
	char api_url[512];       /* APIURL: machinefs's */
};

static const struct driver_option vca_options[] = {
	{ "vmwarevcloudair-username", OPT_STRING, NULL, "VCLOUDAIR_USERNAME", "vCloud Air username", 0, NULL },
	{ "vmwarevcloudair-password", OPT_STRING, NULL, "VCLOUDAIR_PASSWORD", "vCloud Air password", OPT_SECRET, "UserPassword" },
	{ "vmwarevcloudair-computeid", OPT_STRING, NULL, "VCLOUDAIR_COMPUTEID", "vCloud Air Compute ID (if using Dedicated Cloud); machinefs: the Cloud Director organization", 0, NULL },
	{ "vmwarevcloudair-vdcid", OPT_STRING, NULL, "VCLOUDAIR_VDCID", "vCloud Air VDC ID", 0, NULL },
	{ "vmwarevcloudair-orgvdcnetwork", OPT_STRING, NULL, "VCLOUDAIR_ORGVDCNETWORK", "vCloud Air Org VDC Network (Default is <vdcid>-default-routed)", 0, NULL },
	{ "vmwarevcloudair-edgegateway", OPT_STRING, NULL, "VCLOUDAIR_EDGEGATEWAY", "vCloud Air Org Edge Gateway (Default is <vdcid>)", 0, NULL },
	{ "vmwarevcloudair-publicip", OPT_STRING, NULL, "VCLOUDAIR_PUBLICIP", "vCloud Air Org Public IP to use", 0, NULL },
	{ "vmwarevcloudair-catalog", OPT_STRING, "Public Catalog", "VCLOUDAIR_CATALOG", "vCloud Air Catalog (default is Public Catalog)", 0, NULL },
	{ "vmwarevcloudair-catalogitem", OPT_STRING, "Ubuntu Server 12.04 LTS (amd64 20150127)", "VCLOUDAIR_CATALOGITEM", "vCloud Air Catalog Item (default is Ubuntu Precise)", 0, NULL },
	{ "vmwarevcloudair-cpu-count", OPT_INT, "1", "VCLOUDAIR_CPU_COUNT", "vCloud Air VM Cpu Count (default 1)", 0, NULL },
	{ "vmwarevcloudair-memory-size", OPT_INT, "2048", "VCLOUDAIR_MEMORY_SIZE", "vCloud Air VM Memory Size in MB (default 2048)", 0, NULL },
	{ "vmwarevcloudair-ssh-port", OPT_INT, "22", "VCLOUDAIR_SSH_PORT", "vCloud Air SSH port", 0, NULL },
	{ "vmwarevcloudair-docker-port", OPT_INT, "2376", "VCLOUDAIR_DOCKER_PORT", "vCloud Air Docker port", 0, NULL },
	{ "vmwarevcloudair-api-url", OPT_STRING, NULL, "VCLOUDAIR_API_URL", "vCloud API endpoint of a VMware Cloud Director (https://HOST/api). machinefs: vCloud Air itself (vchs.vmware.com) closed in 2017; required", 0, NULL },
	{ NULL },
};

extern const struct machine_driver vmwarevcloudair_driver;

/* ---- options ---- */

static const char *opt(const struct driver_ctx *ctx, const char *name)
{
	const char *v = driver_opt_env(ctx, &vmwarevcloudair_driver, name);
	return v ? v : "";
}

static int put(struct driver_ctx *ctx, char *dst, size_t len, const char *name)
{
	const char *v = opt(ctx, name);
	if (strlen(v) >= len)
		return error_set(ctx->err, EINVAL, "value of option '%s' is too long", name);
	for (const char *s = v; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return error_set(ctx->err, EINVAL, "invalid value for option '%s': control characters", name);
	snprintf(dst, len, "%s", v);
	return 0;
}

static int num(struct driver_ctx *ctx, const char *name, long min, long max, int *out)
{
	const char *v = opt(ctx, name);
	char *end;
	long n = strtol(v, &end, 10);
	if (!*v || *end || n < min || n > max)
		return error_set(ctx->err, EINVAL, "invalid value '%.60s' for option '%s': want %ld-%ld", v, name, min, max);
	*out = (int)n;
	return 0;
}

static int vca_configure(struct driver_ctx *ctx)
{
	struct vca_priv *p = ctx->priv;
	int rc;
	if ((rc = put(ctx, p->username, sizeof(p->username), "vmwarevcloudair-username")) ||
	    (rc = put(ctx, p->password, sizeof(p->password), "vmwarevcloudair-password")) ||
	    (rc = put(ctx, p->vdc_id, sizeof(p->vdc_id), "vmwarevcloudair-vdcid")) ||
	    (rc = put(ctx, p->public_ip, sizeof(p->public_ip), "vmwarevcloudair-publicip")) ||
	    (rc = put(ctx, p->compute_id, sizeof(p->compute_id), "vmwarevcloudair-computeid")) ||
	    (rc = put(ctx, p->org_vdc_net, sizeof(p->org_vdc_net), "vmwarevcloudair-orgvdcnetwork")) ||
	    (rc = put(ctx, p->edge_gateway, sizeof(p->edge_gateway), "vmwarevcloudair-edgegateway")) ||
	    (rc = put(ctx, p->catalog, sizeof(p->catalog), "vmwarevcloudair-catalog")) ||
	    (rc = put(ctx, p->catalog_item, sizeof(p->catalog_item), "vmwarevcloudair-catalogitem")) ||
	    (rc = put(ctx, p->api_url, sizeof(p->api_url), "vmwarevcloudair-api-url")))
		return rc;
	if (!*p->username || !*p->password || !*p->vdc_id || !*p->public_ip)
		return error_set(ctx->err, EINVAL, "Please specify vcloudair mandatory params using options: -vmwarevcloudair-username -vmwarevcloudair-password -vmwarevcloudair-vdcid and -vmwarevcloudair-publicip");
	if (!*p->api_url)
		return error_set(ctx->err, EINVAL, "vCloud Air closed in 2017: write the vCloud API URL of a VMware Cloud Director (https://HOST/api) to 'options/vmwarevcloudair-api-url'");
	if (strncmp(p->api_url, "https://", 8) && strncmp(p->api_url, "http://", 7))
		return error_set(ctx->err, EINVAL, "invalid value '%.100s' for option 'vmwarevcloudair-api-url': want https://HOST/api", p->api_url);
	size_t n = strlen(p->api_url);
	while (n && p->api_url[n - 1] == '/')
		p->api_url[--n] = '\0';
	if (!*p->compute_id)
		snprintf(p->compute_id, sizeof(p->compute_id), "%s", p->vdc_id);
	if (!*p->org_vdc_net)
		snprintf(p->org_vdc_net, sizeof(p->org_vdc_net), "%.200s-default-routed", p->vdc_id);
	if (!*p->edge_gateway)
		snprintf(p->edge_gateway, sizeof(p->edge_gateway), "%s", p->vdc_id);
	int ssh_port;
	if ((rc = num(ctx, "vmwarevcloudair-cpu-count", 1, 128, &p->cpu_count)) ||
	    (rc = num(ctx, "vmwarevcloudair-memory-size", 4, 1 << 22, &p->memory_size)) ||
	    (rc = num(ctx, "vmwarevcloudair-ssh-port", 1, 65535, &ssh_port)) ||
	    (rc = num(ctx, "vmwarevcloudair-docker-port", 1, 65535, &p->docker_port)))
		return rc;
	ctx->base->ssh_port = ssh_port;
	snprintf(ctx->base->ssh_user, sizeof(ctx->base->ssh_user), "root");
	snprintf(ctx->base->ssh_key_path, sizeof(ctx->base->ssh_key_path), "%s/id_ed25519", ctx->dir);
	p->vapp_id[0] = p->vm_ip[0] = '\0';
	return 0;
}

/* ---- XML ---- */

static xmlDocPtr xml_of(struct driver_ctx *ctx, const struct http_resp *rs, const char *what)
{
	xmlDocPtr d = rs->body.len ? xmlReadMemory(strbuf_str(&rs->body), (int)rs->body.len, NULL, NULL,
						   XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)
				   : NULL;
	if (!d)
		error_set(ctx->err, EBADMSG, "%s: the answer is not XML", what);
	return d;
}

static bool attr_is(xmlNodePtr n, const char *name, const char *want)
{
	if (!want)
		return true;
	xmlChar *v = xmlGetProp(n, BAD_CAST name);
	bool eq = v && !strcmp((const char *)v, want);
	xmlFree(v);
	return eq;
}

/* The first element (depth first) named local with attributes a1=v1 and
 * a2=v2 (NULL: any). */
static xmlNodePtr find(xmlNodePtr n, const char *local, const char *a1, const char *v1,
		       const char *a2, const char *v2)
{
	for (; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (!strcmp((const char *)n->name, local) && (!a1 || attr_is(n, a1, v1)) &&
		    (!a2 || attr_is(n, a2, v2)))
			return n;
		xmlNodePtr c = find(n->children, local, a1, v1, a2, v2);
		if (c)
			return c;
	}
	return NULL;
}

static bool attr(xmlNodePtr n, const char *name, char *buf, size_t len)
{
	xmlChar *v = n ? xmlGetProp(n, BAD_CAST name) : NULL;
	if (!v)
		return false;
	snprintf(buf, len, "%s", (const char *)v);
	xmlFree(v);
	return true;
}

static bool text_of(xmlNodePtr root, const char *local, char *buf, size_t len)
{
	xmlNodePtr n = find(root, local, NULL, NULL, NULL, NULL);
	xmlChar *v = n ? xmlNodeGetContent(n) : NULL;
	if (!v)
		return false;
	snprintf(buf, len, "%s", (const char *)v);
	xmlFree(v);
	return true;
}

static void xml_escape(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': strbuf_addstr(sb, "&lt;"); break;
		case '>': strbuf_addstr(sb, "&gt;"); break;
		case '&': strbuf_addstr(sb, "&amp;"); break;
		case '"': strbuf_addstr(sb, "&quot;"); break;
		default: strbuf_add(sb, s, 1);
		}
	}
}

/* A failed answer's vCloud <Error message="..."/> into ctx->err, after
 * the "METHOD PATH: http STATUS: " that http_do() wrote. */
static void vcd_error(struct driver_ctx *ctx, const struct http_resp *rs)
{
	if (rs->status < 400 || !rs->body.len)
		return;
	xmlDocPtr d = xmlReadMemory(strbuf_str(&rs->body), (int)rs->body.len, NULL, NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlNodePtr root = d ? xmlDocGetRootElement(d) : NULL;
	char msg[300] = "";
	if (root && !strcmp((const char *)root->name, "Error") && attr(root, "message", msg, sizeof(msg)) && *msg) {
		char *tail = strstr(ctx->err, ": http ");
		char *colon = tail ? strchr(tail + 7, ':') : NULL;
		if (colon) {
			size_t keep = (size_t)(colon - ctx->err);
			char head[200];
			snprintf(head, sizeof(head), "%.*s", (int)(keep < sizeof(head) ? keep : sizeof(head) - 1), ctx->err);
			for (char *c = msg; *c; c++)
				if (*c == '\n' || *c == '\r')
					*c = ' ';
			snprintf(ctx->err, ERR_MAX, "%.199s: %.299s", head, msg);
		}
	}
	xmlFreeDoc(d);
}

/* ---- the API ---- */

struct session {
	char token[1024];
	bool bearer;
	char org[512], vdc[512];
};

static void base64(const char *in, size_t n, struct strbuf *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)in[i + 2];
		char q[4] = { t[v >> 18 & 63], t[v >> 12 & 63], i + 1 < n ? t[v >> 6 & 63] : '=', i + 2 < n ? t[v & 63] : '=' };
		strbuf_add(out, q, 4);
	}
}

/* One request; url absolute (an href) or a path under the API URL. */
static int api(struct driver_ctx *ctx, const struct session *s, const char *method, const char *url,
	       const char *ctype, const char *body, struct http_resp *rs)
{
	const struct vca_priv *p = ctx->priv;
	struct strbuf full = STRBUF_INIT, h = STRBUF_INIT;
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		strbuf_addf(&full, "%s%s", p->api_url, url);
	else
		strbuf_addstr(&full, url);
	/* An href must point into the API we log in to. */
	size_t base = strcspn(p->api_url + 8, "/") + 8;
	if (strncmp(strbuf_str(&full), p->api_url, base)) {
		int rc = error_set(ctx->err, EPROTO, "the API answered a link outside %.*s", (int)base, p->api_url);
		strbuf_release(&full);
		return rc;
	}
	struct strlist hdrs = STRLIST_INIT;
	strlist_add(&hdrs, ACCEPT);
	if (s && *s->token) {
		strbuf_addf(&h, s->bearer ? "Authorization: Bearer %s" : "x-vcloud-authorization: %s", s->token);
		strlist_add(&hdrs, strbuf_str(&h));
	}
	if (ctype) {
		strbuf_reset(&h);
		strbuf_addf(&h, "Content-Type: %s", ctype);
		strlist_add(&hdrs, strbuf_str(&h));
	}
	struct http_req rq = { .method = method, .url = strbuf_str(&full), .headers = &hdrs,
			       .body = body, .body_len = body ? strlen(body) : 0,
			       .secrets = (const char *const[]){ p->password, s ? s->token : NULL, NULL },
			       .timeout_s = 60 };
	int rc = http_do(ctx, &rq, rs);
	if (rc)
		vcd_error(ctx, rs);
	strlist_clear(&hdrs);
	strbuf_release(&full);
	strbuf_release(&h);
	return rc;
}

/* GET url as XML. */
static int get_xml(struct driver_ctx *ctx, const struct session *s, const char *url, xmlDocPtr *out)
{
	struct http_resp rs = HTTP_RESP_INIT;
	int rc = api(ctx, s, "GET", url, NULL, NULL, &rs);
	*out = NULL;
	if (!rc && !(*out = xml_of(ctx, &rs, url)))
		rc = -EBADMSG;
	http_resp_release(&rs);
	return rc;
}

/* A link of root: <Link rel=REL type=TYPE name=NAME href=...> (NULL: any). */
static int link_of(struct driver_ctx *ctx, xmlDocPtr d, const char *rel, const char *type,
		   const char *name, char *href, size_t len, const char *what)
{
	xmlNodePtr root = xmlDocGetRootElement(d);
	for (xmlNodePtr n = root ? root->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, "Link") &&
		    attr_is(n, "rel", rel) && attr_is(n, "type", type) && (!name || attr_is(n, "name", name)) &&
		    attr(n, "href", href, len))
			return 0;
	return error_set(ctx->err, ENOENT, "%s", what);
}

/* Log in and find the org and the VDC. */
static int login(struct driver_ctx *ctx, struct session *s)
{
	const struct vca_priv *p = ctx->priv;
	memset(s, 0, sizeof(*s));
	struct strbuf cred = STRBUF_INIT, h = STRBUF_INIT;
	strbuf_addf(&cred, "%s@%s:%s", p->username, p->compute_id, p->password);
	strbuf_addstr(&h, "Authorization: Basic ");
	base64(cred.buf, cred.len, &h);
	struct strlist hdrs = STRLIST_INIT;
	strlist_add(&hdrs, ACCEPT);
	strlist_add(&hdrs, strbuf_str(&h));
	struct strbuf url = STRBUF_INIT;
	strbuf_addf(&url, "%s/sessions", p->api_url);
	struct http_resp rs = HTTP_RESP_INIT;
	struct http_req rq = { .method = "POST", .url = url.buf, .headers = &hdrs,
			       .secrets = (const char *const[]){ p->password, h.buf + 21, NULL },
			       .timeout_s = 60 };
	int rc = http_do(ctx, &rq, &rs);
	if (rc)
		vcd_error(ctx, &rs);
	strbuf_release(&cred);
	strbuf_release(&h);
	strbuf_release(&url);
	strlist_clear(&hdrs);
	const char *bearer = http_resp_header(&rs, "X-VMWARE-VCLOUD-ACCESS-TOKEN");
	const char *tok = http_resp_header(&rs, "x-vcloud-authorization");
	if (!rc && bearer && *bearer && strlen(bearer) < sizeof(s->token)) {
		snprintf(s->token, sizeof(s->token), "%s", bearer);
		s->bearer = true;
	} else if (!rc && tok && *tok && strlen(tok) < sizeof(s->token)) {
		snprintf(s->token, sizeof(s->token), "%s", tok);
	} else if (!rc) {
		rc = error_set(ctx->err, EPROTO, "POST /sessions: no x-vcloud-authorization in the answer");
	}
	xmlDocPtr d = NULL;
	char orglist[512];
	if (!rc && (d = xml_of(ctx, &rs, "POST /sessions")) == NULL)
		rc = -EBADMSG;
	http_resp_release(&rs);
	if (!rc)
		rc = link_of(ctx, d, "down", "application/vnd.vmware.vcloud.orgList+xml", NULL, orglist,
			     sizeof(orglist), "the session has no org list");
	xmlFreeDoc(d);
	d = NULL;
	if (!rc)
		rc = get_xml(ctx, s, orglist, &d);
	if (!rc) {
		xmlNodePtr o = find(xmlDocGetRootElement(d), "Org", "name", p->compute_id, NULL, NULL);
		if (!attr(o, "href", s->org, sizeof(s->org)))
			rc = error_set(ctx->err, ENOENT, "organization '%s' not found", p->compute_id);
	}
	xmlFreeDoc(d);
	d = NULL;
	if (!rc)
		rc = get_xml(ctx, s, s->org, &d);
	if (!rc)
		rc = link_of(ctx, d, "down", "application/vnd.vmware.vcloud.vdc+xml", p->vdc_id, s->vdc,
			     sizeof(s->vdc), "");
	if (rc == -ENOENT)
		rc = error_set(ctx->err, ENOENT, "VDC '%s' not found in organization '%s'", p->vdc_id, p->compute_id);
	xmlFreeDoc(d);
	return rc;
}

/* Wait for the Task in d (the answer to an action) or at href. */
static int wait_task(struct driver_ctx *ctx, const struct session *s, xmlDocPtr d, const char *what)
{
	char href[512] = "", status[32] = "";
	xmlNodePtr t = find(xmlDocGetRootElement(d), "Task", NULL, NULL, NULL, NULL);
	if (!attr(t, "href", href, sizeof(href)))
		return error_set(ctx->err, EPROTO, "%s: no task in the answer", what);
	attr(t, "status", status, sizeof(status));
	/* The answer's status first, then the task's, 200 ms apart ten
	 * times, then a second apart. */
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, TASK_WAIT_S, 200); driver_wait_next(&w);) {
		if (w.polls > 1) {
			xmlDocPtr td = NULL;
			int rc = get_xml(ctx, s, href, &td);
			if (rc)
				return rc;
			status[0] = '\0';
			attr(xmlDocGetRootElement(td), "status", status, sizeof(status));
			xmlFreeDoc(td);
		}
		if (!strcmp(status, "success"))
			return 0;
		if (!strcmp(status, "error") || !strcmp(status, "aborted") || !strcmp(status, "canceled")) {
			char msg[300] = "";
			xmlDocPtr td = NULL;
			if (get_xml(ctx, s, href, &td) == 0) {
				xmlNodePtr e = find(xmlDocGetRootElement(td), "Error", NULL, NULL, NULL, NULL);
				attr(e, "message", msg, sizeof(msg));
			}
			xmlFreeDoc(td);
			return error_set(ctx->err, EIO, "%s: task %s%s%s", what, status, *msg ? ": " : "", msg);
		}
		w.interval_ms = w.polls <= 10 ? 200 : 1000;
	}
	if (w.timed_out)
		return error_set(ctx->err, ETIMEDOUT, "%s: task not done within %d s", what, TASK_WAIT_S);
	return error_set(ctx->err, EINTR, "%s was cancelled", what);
}

/* Send a request whose answer is (or holds) a Task, and wait for it. */
static int act(struct driver_ctx *ctx, const struct session *s, const char *method, const char *url,
	       const char *ctype, const char *body, const char *what)
{
	struct http_resp rs = HTTP_RESP_INIT;
	int rc = api(ctx, s, method, url, ctype, body, &rs);
	xmlDocPtr d = NULL;
	if (!rc && !(d = xml_of(ctx, &rs, what)))
		rc = -EBADMSG;
	long status = rs.status;
	http_resp_release(&rs);
	if (!rc)
		rc = wait_task(ctx, s, d, what);
	else if (status == 404)
		rc = -ENOENT;
	xmlFreeDoc(d);
	return rc;
}

/* The vApp's status (-1 failed ... 4 on, 8 off) and its first VM's href and address. */
static int vapp_info(struct driver_ctx *ctx, const struct session *s, int *status, char *vm,
		     size_t vmlen, char *ip, size_t iplen)
{
	const struct vca_priv *p = ctx->priv;
	xmlDocPtr d = NULL;
	int rc = get_xml(ctx, s, p->vapp_id, &d);
	if (rc)
		return rc;
	char st[16] = "0";
	attr(xmlDocGetRootElement(d), "status", st, sizeof(st));
	*status = atoi(st);
	xmlNodePtr v = find(xmlDocGetRootElement(d), "Vm", NULL, NULL, NULL, NULL);
	if (vm && !attr(v, "href", vm, vmlen))
		rc = error_set(ctx->err, EPROTO, "vApp %s has no VM", p->vapp_id);
	if (ip && v && !text_of(v->children, "IpAddress", ip, iplen))
		ip[0] = '\0';
	xmlFreeDoc(d);
	return rc;
}

/* ---- edge gateway NAT and firewall ---- */

static int find_edge(struct driver_ctx *ctx, const struct session *s, char *href, size_t len)
{
	const struct vca_priv *p = ctx->priv;
	xmlDocPtr d = NULL;
	char q[600];
	int rc = get_xml(ctx, s, s->vdc, &d);
	if (!rc)
		rc = link_of(ctx, d, "edgeGateways", NULL, NULL, q, sizeof(q), "the VDC has no edge gateways link");
	xmlFreeDoc(d);
	d = NULL;
	if (!rc)
		rc = get_xml(ctx, s, q, &d);
	if (!rc) {
		xmlNodePtr e = find(xmlDocGetRootElement(d), "EdgeGatewayRecord", "name", p->edge_gateway, NULL, NULL);
		if (!attr(e, "href", href, len))
			rc = error_set(ctx->err, ENOENT, "edge gateway '%s' not found", p->edge_gateway);
	}
	xmlFreeDoc(d);
	return rc;
}

/* Rewrite the edge's NAT and firewall services: the rules whose
 * Description is the machine's name dropped, then (add) ours added. */
static int edge_rules(struct driver_ctx *ctx, const struct session *s, bool add)
{
	const struct vca_priv *p = ctx->priv;
	char edge[512];
	xmlDocPtr d = NULL;
	int rc = find_edge(ctx, s, edge, sizeof(edge));
	if (!rc)
		rc = get_xml(ctx, s, edge, &d);
	if (rc)
		return rc;
	xmlNodePtr cfg = find(xmlDocGetRootElement(d), "EdgeGatewayServiceConfiguration", NULL, NULL, NULL, NULL);
	if (!cfg) {
		xmlFreeDoc(d);
		return error_set(ctx->err, EPROTO, "edge gateway '%s' has no service configuration", p->edge_gateway);
	}
	xmlNodePtr nat = find(cfg->children, "NatService", NULL, NULL, NULL, NULL);
	xmlNodePtr fw = find(cfg->children, "FirewallService", NULL, NULL, NULL, NULL);
	if (!nat)
		nat = xmlNewChild(cfg, NULL, BAD_CAST "NatService", NULL);
	if (!fw)
		fw = xmlNewChild(cfg, NULL, BAD_CAST "FirewallService", NULL);
	int dropped = 0;
	xmlNodePtr svc[2] = { nat, fw };
	const char *rule[2] = { "NatRule", "FirewallRule" };
	for (int i = 0; i < 2; i++) {
		for (xmlNodePtr n = svc[i]->children, next; n; n = next) {
			next = n->next;
			char desc[256] = "";
			if (n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, rule[i]) &&
			    text_of(n->children, "Description", desc, sizeof(desc)) && !strcmp(desc, ctx->machine)) {
				xmlUnlinkNode(n);
				xmlFreeNode(n);
				dropped++;
			}
		}
	}
	if (!add && !dropped) {
		xmlFreeDoc(d);
		driver_log(ctx, "no NAT or firewall rule of '%s' on %s", ctx->machine, p->edge_gateway);
		return 0;
	}
	if (add) {
		char net[512] = "";
		xmlNodePtr gi = find(xmlDocGetRootElement(d), "GatewayInterface", NULL, NULL, NULL, NULL);
		for (; gi; gi = gi->next) {
			char type[32] = "";
			if (gi->type == XML_ELEMENT_NODE && text_of(gi->children, "InterfaceType", type, sizeof(type)) &&
			    !strcmp(type, "uplink")) {
				attr(find(gi->children, "Network", NULL, NULL, NULL, NULL), "href", net, sizeof(net));
				break;
			}
		}
		struct { int ext, in; } ports[2] = { { ctx->base->ssh_port, 22 }, { p->docker_port, 2376 } };
		for (int i = 0; i < 2; i++) {
			char e[16], in[16];
			snprintf(e, sizeof(e), "%d", ports[i].ext);
			snprintf(in, sizeof(in), "%d", ports[i].in);
			xmlNodePtr r = xmlNewChild(nat, NULL, BAD_CAST "NatRule", NULL);
			xmlNewTextChild(r, NULL, BAD_CAST "Description", BAD_CAST ctx->machine);
			xmlNewChild(r, NULL, BAD_CAST "RuleType", BAD_CAST "DNAT");
			xmlNewChild(r, NULL, BAD_CAST "IsEnabled", BAD_CAST "true");
			xmlNodePtr g = xmlNewChild(r, NULL, BAD_CAST "GatewayNatRule", NULL);
			xmlNodePtr ifc = xmlNewChild(g, NULL, BAD_CAST "Interface", NULL);
			if (*net)
				xmlNewProp(ifc, BAD_CAST "href", BAD_CAST net);
			xmlNewTextChild(g, NULL, BAD_CAST "OriginalIp", BAD_CAST p->public_ip);
			xmlNewChild(g, NULL, BAD_CAST "OriginalPort", BAD_CAST e);
			xmlNewTextChild(g, NULL, BAD_CAST "TranslatedIp", BAD_CAST p->vm_ip);
			xmlNewChild(g, NULL, BAD_CAST "TranslatedPort", BAD_CAST in);
			xmlNewChild(g, NULL, BAD_CAST "Protocol", BAD_CAST "tcp");
			xmlNodePtr f = xmlNewChild(fw, NULL, BAD_CAST "FirewallRule", NULL);
			xmlNewChild(f, NULL, BAD_CAST "IsEnabled", BAD_CAST "true");
			xmlNewTextChild(f, NULL, BAD_CAST "Description", BAD_CAST ctx->machine);
			xmlNewChild(f, NULL, BAD_CAST "Policy", BAD_CAST "allow");
			xmlNodePtr pr = xmlNewChild(f, NULL, BAD_CAST "Protocols", NULL);
			xmlNewChild(pr, NULL, BAD_CAST "Tcp", BAD_CAST "true");
			xmlNewChild(f, NULL, BAD_CAST "DestinationPortRange", BAD_CAST e);
			xmlNewTextChild(f, NULL, BAD_CAST "DestinationIp", BAD_CAST p->public_ip);
			xmlNewChild(f, NULL, BAD_CAST "SourcePortRange", BAD_CAST "Any");
			xmlNewChild(f, NULL, BAD_CAST "SourceIp", BAD_CAST "Any");
		}
	}
	/* The configuration as its own document, in the vCloud namespace. */
	xmlDocPtr out = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr copy = xmlDocCopyNode(cfg, out, 1);
	xmlDocSetRootElement(out, copy);
	if (!copy->ns)
		xmlSetNs(copy, xmlNewNs(copy, BAD_CAST VCD_NS, NULL));
	xmlChar *buf = NULL;
	int blen = 0;
	xmlDocDumpMemory(out, &buf, &blen);
	char url[600];
	snprintf(url, sizeof(url), "%s/action/configureServices", edge);
	driver_say(ctx, "%s NAT and Firewall Rules on %s...", add ? "Creating" : "Removing", p->edge_gateway);
	rc = act(ctx, s, "POST", url, "application/vnd.vmware.admin.edgeGatewayServiceConfiguration+xml",
		 (const char *)buf, add ? "the NAT and firewall rules" : "removing the NAT and firewall rules");
	xmlFree(buf);
	xmlFreeDoc(out);
	xmlFreeDoc(d);
	return rc;
}

/* ---- create ---- */

static int find_template(struct driver_ctx *ctx, const struct session *s, char *tmpl, size_t len)
{
	const struct vca_priv *p = ctx->priv;
	xmlDocPtr d = NULL;
	char cat[512], item[512];
	int rc = get_xml(ctx, s, s->org, &d);
	if (!rc && link_of(ctx, d, "down", "application/vnd.vmware.vcloud.catalog+xml", p->catalog, cat,
			   sizeof(cat), ""))
		rc = error_set(ctx->err, ENOENT, "catalog '%s' not found", p->catalog);
	xmlFreeDoc(d);
	d = NULL;
	if (!rc)
		rc = get_xml(ctx, s, cat, &d);
	if (!rc && !attr(find(xmlDocGetRootElement(d), "CatalogItem", "name", p->catalog_item, NULL, NULL),
			 "href", item, sizeof(item)))
		rc = error_set(ctx->err, ENOENT, "catalog item '%s' not found in catalog '%s'", p->catalog_item, p->catalog);
	xmlFreeDoc(d);
	d = NULL;
	if (!rc)
		rc = get_xml(ctx, s, item, &d);
	if (!rc && !attr(find(xmlDocGetRootElement(d), "Entity", NULL, NULL, NULL, NULL), "href", tmpl, len))
		rc = error_set(ctx->err, EPROTO, "catalog item '%s' has no vApp template", p->catalog_item);
	xmlFreeDoc(d);
	return rc;
}

static int find_network(struct driver_ctx *ctx, const struct session *s, char *net, size_t len,
			char *inst, size_t ilen)
{
	const struct vca_priv *p = ctx->priv;
	xmlDocPtr d = NULL;
	int rc = get_xml(ctx, s, s->vdc, &d);
	if (!rc && !attr(find(xmlDocGetRootElement(d), "Network", "name", p->org_vdc_net, NULL, NULL), "href", net, len))
		rc = error_set(ctx->err, ENOENT, "network '%s' not found in VDC '%s'", p->org_vdc_net, p->vdc_id);
	if (!rc)
		rc = link_of(ctx, d, "add", "application/vnd.vmware.vcloud.instantiateVAppTemplateParams+xml", NULL,
			     inst, ilen, "the VDC cannot instantiate vApp templates");
	xmlFreeDoc(d);
	return rc;
}

/* The VM's section: PUT xml to VM/suffix. */
static int put_section(struct driver_ctx *ctx, const struct session *s, const char *vm,
		       const char *suffix, const char *ctype, const char *xml, const char *what)
{
	char url[700];
	snprintf(url, sizeof(url), "%s/%s", vm, suffix);
	return act(ctx, s, "PUT", url, ctype, xml, what);
}

static int power(struct driver_ctx *ctx, const struct session *s, const char *what)
{
	const struct vca_priv *p = ctx->priv;
	char url[700];
	snprintf(url, sizeof(url), "%s/power/action/%s", p->vapp_id, what);
	return act(ctx, s, "POST", url, NULL, NULL, what);
}

static int delete_vapp(struct driver_ctx *ctx, const struct session *s)
{
	struct vca_priv *p = ctx->priv;
	int status = 0;
	int rc = vapp_info(ctx, s, &status, NULL, 0, NULL, 0);
	if (rc == -ENOENT) {
		driver_say(ctx, "Can't find the vApp, assuming it was deleted already...");
		p->vapp_id[0] = '\0';
		return 0;
	}
	if (!rc && status == 4) {
		driver_say(ctx, "Powering Off %s...", ctx->machine);
		rc = power(ctx, s, "powerOff");
	}
	char url[700];
	snprintf(url, sizeof(url), "%s/action/undeploy", p->vapp_id);
	if (!rc && status != 8 && status > 1)
		rc = act(ctx, s, "POST", url, "application/vnd.vmware.vcloud.undeployVAppParams+xml",
			 "<UndeployVAppParams xmlns=\"" VCD_NS "\"><UndeployPowerAction>powerOff</UndeployPowerAction></UndeployVAppParams>",
			 "undeploy");
	if (!rc) {
		driver_say(ctx, "Deleting %s...", ctx->machine);
		rc = act(ctx, s, "DELETE", p->vapp_id, NULL, NULL, "delete of the vApp");
	}
	if (rc == -ENOENT)
		rc = 0;
	if (!rc)
		p->vapp_id[0] = '\0';
	return rc;
}

static int do_create(struct driver_ctx *ctx, struct session *s)
{
	struct vca_priv *p = ctx->priv;
	char net[512], inst[512], tmpl[512], edge[512], vm[512];
	struct strbuf pub = STRBUF_INIT, x = STRBUF_INIT, path = STRBUF_INIT;
	driver_say(ctx, "Creating SSH key...");
	int rc = sshkey_generate_ed25519(ctx->base->ssh_key_path, ctx->machine, ctx->err);
	strbuf_addf(&path, "%s.pub", ctx->base->ssh_key_path);
	if (!rc)
		rc = read_file(path.buf, &pub, ctx->err);
	strbuf_rtrim(&pub);
	if (!rc) {
		driver_say(ctx, "Connecting to vCloud Air...");
		rc = login(ctx, s);
	}
	if (!rc)
		rc = find_network(ctx, s, net, sizeof(net), inst, sizeof(inst));
	if (!rc)
		rc = find_edge(ctx, s, edge, sizeof(edge));
	if (!rc)
		rc = find_template(ctx, s, tmpl, sizeof(tmpl));
	if (rc)
		goto out;
	driver_say(ctx, "Creating a new vApp: %s...", ctx->machine);
	strbuf_addstr(&x, "<InstantiateVAppTemplateParams xmlns=\"" VCD_NS "\" xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\" name=\"");
	xml_escape(&x, ctx->machine);
	strbuf_addstr(&x, "\" deploy=\"false\" powerOn=\"false\"><Description>Container Host created with Docker Host</Description>"
			  "<InstantiationParams><NetworkConfigSection><ovf:Info>Configuration parameters for logical networks</ovf:Info>"
			  "<NetworkConfig networkName=\"");
	xml_escape(&x, p->org_vdc_net);
	strbuf_addstr(&x, "\"><Configuration><ParentNetwork href=\"");
	xml_escape(&x, net);
	strbuf_addstr(&x, "\"/><FenceMode>bridged</FenceMode></Configuration></NetworkConfig></NetworkConfigSection></InstantiationParams><Source href=\"");
	xml_escape(&x, tmpl);
	strbuf_addstr(&x, "\"/></InstantiateVAppTemplateParams>");
	struct http_resp rs = HTTP_RESP_INIT;
	rc = api(ctx, s, "POST", inst, "application/vnd.vmware.vcloud.instantiateVAppTemplateParams+xml", x.buf, &rs);
	xmlDocPtr d = NULL;
	if (!rc && !(d = xml_of(ctx, &rs, "instantiateVAppTemplate")))
		rc = -EBADMSG;
	http_resp_release(&rs);
	if (!rc && !attr(xmlDocGetRootElement(d), "href", p->vapp_id, sizeof(p->vapp_id)))
		rc = error_set(ctx->err, EPROTO, "instantiateVAppTemplate: no vApp in the answer");
	if (!rc) {
		driver_log(ctx, "Created vApp %s", p->vapp_id);
		rc = driver_checkpoint(ctx);
	}
	if (!rc)
		rc = wait_task(ctx, s, d, "instantiateVAppTemplate");
	xmlFreeDoc(d);
	int status;
	if (!rc)
		rc = vapp_info(ctx, s, &status, vm, sizeof(vm), p->vm_ip, sizeof(p->vm_ip));
	if (rc)
		goto out;
	strbuf_reset(&x);
	strbuf_addf(&x, "<Item xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData\">"
			"<rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:Description>Number of Virtual CPUs</rasd:Description>"
			"<rasd:ElementName>%d virtual CPU(s)</rasd:ElementName><rasd:InstanceID>4</rasd:InstanceID><rasd:Reservation>0</rasd:Reservation>"
			"<rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>%d</rasd:VirtualQuantity><rasd:Weight>0</rasd:Weight></Item>",
		    p->cpu_count, p->cpu_count);
	rc = put_section(ctx, s, vm, "virtualHardwareSection/cpu", "application/vnd.vmware.vcloud.rasdItem+xml", x.buf, "the CPU count");
	strbuf_reset(&x);
	strbuf_addf(&x, "<Item xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData\">"
			"<rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:Description>Memory Size</rasd:Description>"
			"<rasd:ElementName>%d MB of memory</rasd:ElementName><rasd:InstanceID>5</rasd:InstanceID><rasd:Reservation>0</rasd:Reservation>"
			"<rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>%d</rasd:VirtualQuantity><rasd:Weight>0</rasd:Weight></Item>",
		    p->memory_size, p->memory_size);
	if (!rc)
		rc = put_section(ctx, s, vm, "virtualHardwareSection/memory", "application/vnd.vmware.vcloud.rasdItem+xml", x.buf, "the memory size");
	/* Docker Machine's script: root's authorized_keys is the machine key. */
	strbuf_reset(&x);
	strbuf_addstr(&x, "<GuestCustomizationSection xmlns=\"" VCD_NS "\" xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\">"
			  "<ovf:Info>Specifies Guest OS Customization Settings</ovf:Info><Enabled>true</Enabled><ComputerName>");
	xml_escape(&x, ctx->machine);
	strbuf_addstr(&x, "</ComputerName><CustomizationScript>");
	struct strbuf script = STRBUF_INIT;
	strbuf_addf(&script, "mkdir -p /root/.ssh && echo \"%s\" > /root/.ssh/authorized_keys", pub.buf);
	xml_escape(&x, script.buf);
	strbuf_release(&script);
	strbuf_addstr(&x, "</CustomizationScript></GuestCustomizationSection>");
	if (!rc)
		rc = put_section(ctx, s, vm, "guestCustomizationSection/", "application/vnd.vmware.vcloud.guestCustomizationSection+xml",
				 x.buf, "the guest customization");
	if (!rc) {
		driver_say(ctx, "Waiting for the VM to power on and run the customization script...");
		rc = power(ctx, s, "powerOn");
	}
	if (!rc && !*p->vm_ip)
		rc = vapp_info(ctx, s, &status, NULL, 0, p->vm_ip, sizeof(p->vm_ip));
	if (!rc && !*p->vm_ip)
		rc = error_set(ctx->err, EPROTO, "the VM of vApp %s has no IP address", p->vapp_id);
	if (!rc)
		rc = driver_checkpoint(ctx);
	if (!rc)
		rc = edge_rules(ctx, s, true);
	if (!rc)
		snprintf(ctx->base->ip, sizeof(ctx->base->ip), "%s", p->public_ip);
out:
	strbuf_release(&pub);
	strbuf_release(&x);
	strbuf_release(&path);
	return rc;
}

static int vca_create(struct driver_ctx *ctx)
{
	struct vca_priv *p = ctx->priv;
	struct session s;
	int rc = do_create(ctx, &s);
	if (!rc || !*p->vapp_id)
		return rc;
	/* Undo: rules, then the vApp, even when cancelled. */
	struct driver_ctx c = *ctx;
	c.cancel = NULL;
	int u = edge_rules(&c, &s, false);
	if (!u)
		u = delete_vapp(&c, &s);
	driver_checkpoint(&c);
	if (u) {
		char why[ERR_MAX];
		snprintf(why, sizeof(why), "%s", ctx->err);
		snprintf(ctx->err, ERR_MAX, "%.200s; could not delete vApp %.150s (%.120s)", why, p->vapp_id, c.err);
	} else {
		driver_log(ctx, "deleted what the failed create made");
	}
	return rc;
}

/* ---- the rest ---- */

static int vca_remove(struct driver_ctx *ctx)
{
	struct vca_priv *p = ctx->priv;
	if (!*p->vapp_id)
		return 0;
	struct session s;
	driver_say(ctx, "Connecting to vCloud Air...");
	int rc = login(ctx, &s);
	if (!rc)
		rc = edge_rules(ctx, &s, false);
	if (!rc)
		rc = delete_vapp(ctx, &s);
	return rc;
}

static int vca_state(struct driver_ctx *ctx, enum machine_state *out)
{
	const struct vca_priv *p = ctx->priv;
	*out = MS_ERROR;
	if (!*p->vapp_id)
		return error_set(ctx->err, ENOENT, "no vApp recorded for '%s'", ctx->machine);
	struct driver_ctx quiet = *ctx;
	quiet.log_fn = NULL;
	struct session s;
	int status = 0;
	int rc = login(&quiet, &s);
	if (!rc)
		rc = vapp_info(&quiet, &s, &status, NULL, 0, NULL, 0);
	if (rc) {
		snprintf(ctx->err, ERR_MAX, "%s", quiet.err);
		return rc;
	}
	*out = status == 4 ? MS_RUNNING : status == 8 ? MS_STOPPED : MS_NONE;
	return 0;
}

static int lifecycle(struct driver_ctx *ctx, const char *action, bool only_if_off)
{
	struct session s;
	driver_say(ctx, "Connecting to vCloud Air...");
	int rc = login(ctx, &s);
	int status = 0;
	if (!rc && only_if_off)
		rc = vapp_info(ctx, &s, &status, NULL, 0, NULL, 0);
	if (!rc && (!only_if_off || status == 8))
		rc = power(ctx, &s, action);
	return rc;
}

static int vca_start(struct driver_ctx *ctx)
{
	const struct vca_priv *p = ctx->priv;
	int rc = lifecycle(ctx, "powerOn", true);
	if (!rc)
		snprintf(ctx->base->ip, sizeof(ctx->base->ip), "%s", p->public_ip);
	return rc;
}

static int vca_stop(struct driver_ctx *ctx)
{
	int rc = lifecycle(ctx, "shutdown", false);
	if (!rc)
		ctx->base->ip[0] = '\0';
	return rc;
}

static int vca_kill(struct driver_ctx *ctx)
{
	int rc = lifecycle(ctx, "powerOff", false);
	if (!rc)
		ctx->base->ip[0] = '\0';
	return rc;
}

static int vca_restart(struct driver_ctx *ctx)
{
	return lifecycle(ctx, "reset", false);
}

static int vca_url(struct driver_ctx *ctx, char *buf, size_t len)
{
	const struct vca_priv *p = ctx->priv;
	if (!*ctx->base->ip)
		return -ENOENT;
	snprintf(buf, len, "tcp://%s:%d", p->public_ip, p->docker_port);
	return 0;
}

static int vca_engine_port(struct driver_ctx *ctx)
{
	(void)ctx;
	return 2376;
}

static int vca_load(struct driver_ctx *ctx, const cJSON *o)
{
	struct vca_priv *p = ctx->priv;
#define S(f, k) snprintf(p->f, sizeof(p->f), "%s", json_str(o, k, ""))
	S(username, "UserName");
	S(password, "UserPassword");
	S(compute_id, "ComputeID");
	S(vdc_id, "VDCID");
	S(org_vdc_net, "OrgVDCNet");
	S(edge_gateway, "EdgeGateway");
	S(public_ip, "PublicIP");
	S(catalog, "Catalog");
	S(catalog_item, "CatalogItem");
	S(vapp_id, "VAppID");
	S(vm_ip, "VMIP");
	S(api_url, "APIURL");
#undef S
	p->docker_port = (int)json_int(o, "DockerPort", 2376);
	p->cpu_count = (int)json_int(o, "CPUCount", 1);
	p->memory_size = (int)json_int(o, "MemorySize", 2048);
	if (!*p->api_url) {
		const char *e = getenv("VCLOUDAIR_API_URL");
		snprintf(p->api_url, sizeof(p->api_url), "%s", e ? e : "");
	}
	return 0;
}

static int vca_save(const struct driver_ctx *ctx, cJSON *o)
{
	const struct vca_priv *p = ctx->priv;
	json_put_str(o, "UserName", p->username);
	json_put_str(o, "UserPassword", p->password);
	json_put_str(o, "ComputeID", p->compute_id);
	json_put_str(o, "VDCID", p->vdc_id);
	json_put_str(o, "OrgVDCNet", p->org_vdc_net);
	json_put_str(o, "EdgeGateway", p->edge_gateway);
	json_put_str(o, "PublicIP", p->public_ip);
	json_put_str(o, "Catalog", p->catalog);
	json_put_str(o, "CatalogItem", p->catalog_item);
	json_put_int(o, "DockerPort", p->docker_port);
	json_put_int(o, "CPUCount", p->cpu_count);
	json_put_int(o, "MemorySize", p->memory_size);
	json_put_str(o, "VAppID", p->vapp_id);
	json_put_str(o, "VMIP", p->vm_ip);
	json_put_str(o, "APIURL", p->api_url);
	return 0;
}

const struct machine_driver vmwarevcloudair_driver = {
	.name = "vmwarevcloudair",
	.supports = DRV_START | DRV_STOP | DRV_RESTART | DRV_KILL | DRV_SSH | DRV_REMOVE,
	.options = vca_options,
	.priv_size = sizeof(struct vca_priv),
	.configure = vca_configure,
	.create = vca_create,
	.remove = vca_remove,
	.start = vca_start,
	.stop = vca_stop,
	.restart = vca_restart,
	.kill = vca_kill,
	.state = vca_state,
	.url = vca_url,
	.engine_listen_port = vca_engine_port,
	.load = vca_load,
	.save = vca_save,
};
