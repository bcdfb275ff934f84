/* vim25 SOAP for the vmwarevsphere driver: see vsphere_soap.h. */
#include "drivers/vsphere_soap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "drivers/http.h"
#include "drivers/wait.h"
#include "lib/err.h"

#define XSI_NS "http://www.w3.org/2001/XMLSchema-instance"
#define SOAP_ACTION "SOAPAction: urn:vim25/6.5"

/* ---- XML helpers ---- */

xmlNode *vs_child(xmlNode *n, const char *name)
{
	for (xmlNode *k = n ? n->children : NULL; k; k = k->next)
		if (k->type == XML_ELEMENT_NODE && !strcmp((const char *)k->name, name))
			return k;
	return NULL;
}

void vs_text(xmlNode *n, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!n)
		return;
	xmlChar *t = xmlNodeGetContent(n);
	if (t) {
		snprintf(buf, len, "%s", (const char *)t);
		xmlFree(t);
	}
}

bool vs_mor_of(xmlNode *n, struct vs_mor *m)
{
	memset(m, 0, sizeof(*m));
	if (!n)
		return false;
	xmlChar *t = xmlGetNoNsProp(n, (const xmlChar *)"type");
	if (t) {
		snprintf(m->type, sizeof(m->type), "%s", (const char *)t);
		xmlFree(t);
	}
	vs_text(n, m->val, sizeof(m->val));
	return *m->type && *m->val;
}

const char *vs_xsi_type(xmlNode *n, char *buf, size_t len)
{
	buf[0] = '\0';
	xmlChar *t = n ? xmlGetNsProp(n, (const xmlChar *)"type", (const xmlChar *)XSI_NS) : NULL;
	if (t) {
		const char *c = strchr((const char *)t, ':');
		snprintf(buf, len, "%s", c ? c + 1 : (const char *)t);
		xmlFree(t);
	}
	return buf;
}

void vs_esc(struct strbuf *sb, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': strbuf_addstr(sb, "&lt;"); break;
		case '>': strbuf_addstr(sb, "&gt;"); break;
		case '&': strbuf_addstr(sb, "&amp;"); break;
		case '"': strbuf_addstr(sb, "&quot;"); break;
		case '\'': strbuf_addstr(sb, "&apos;"); break;
		default:
			/* XML 1.0 has no place for other control characters. */
			if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t' && *s != '\r')
				strbuf_addch(sb, ' ');
			else
				strbuf_addch(sb, *s);
		}
	}
}

void vs_add_mor(struct strbuf *sb, const char *elem, const struct vs_mor *m)
{
	strbuf_addf(sb, "<%s type=\"", elem);
	vs_esc(sb, m->type);
	strbuf_addstr(sb, "\">");
	vs_esc(sb, m->val);
	strbuf_addf(sb, "</%s>", elem);
}

static xmlNode *body_of(xmlDoc *doc)
{
	xmlNode *env = xmlDocGetRootElement(doc);
	return vs_child(env, "Body");
}

/* ---- faults ---- */

static int fault_errno(const char *type)
{
	static const struct { const char *t; int e; } map[] = {
		{ "InvalidLogin", EACCES }, { "NoPermission", EPERM }, { "NotAuthenticated", EACCES },
		{ "NotFound", ENOENT }, { "ManagedObjectNotFound", ENOENT }, { "FileNotFound", ENOENT },
		{ "DuplicateName", EEXIST }, { "AlreadyExists", EEXIST }, { "FileAlreadyExists", EEXIST },
		{ "InvalidPowerState", EBUSY }, { "InvalidState", EBUSY }, { "TaskInProgress", EBUSY },
		{ "InvalidArgument", EINVAL }, { "InvalidRequest", EINVAL }, { "InvalidDatastore", EINVAL },
		{ "InvalidDeviceSpec", EINVAL }, { "InvalidVmConfig", EINVAL },
		{ "InsufficientResourcesFault", ENOSPC }, { "NoDiskSpace", ENOSPC },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(type, map[i].t))
			return map[i].e;
	return EIO;
}

/* One printable line of at most 250 bytes. */
static void one_line(char *s)
{
	size_t n = 0;
	for (char *p = s; *p; p++, n++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
		if (n == 250) {
			*p = '\0';
			break;
		}
	}
	while (n && s[strlen(s) - 1] == ' ')
		s[strlen(s) - 1] = '\0';
}

/* The fault in a SOAP answer: -errno with ctx->err "WHAT: message". */
static int soap_fault(struct driver_ctx *ctx, const char *what, xmlNode *fault)
{
	char msg[512], type[96] = "";
	vs_text(vs_child(fault, "faultstring"), msg, sizeof(msg));
	xmlNode *detail = vs_child(fault, "detail");
	for (xmlNode *k = detail ? detail->children : NULL; k; k = k->next)
		if (k->type == XML_ELEMENT_NODE) {
			vs_xsi_type(k, type, sizeof(type));
			if (!*type) {
				snprintf(type, sizeof(type), "%s", (const char *)k->name);
				size_t l = strlen(type);
				if (l > 5 && !strcmp(type + l - 5, "Fault"))
					type[l - 5] = '\0';
			}
			break;
		}
	one_line(msg);
	if (!*msg)
		snprintf(msg, sizeof(msg), "%s", *type ? type : "fault");
	return error_set(ctx->err, fault_errno(type), "%s: %s", what, msg);
}

/* ---- calls ---- */

static void secrets_of(const struct vs_conn *c, const char *out[4])
{
	out[0] = c->t.password;
	out[1] = *c->session ? c->session : NULL;
	out[2] = NULL;
	out[3] = NULL;
}

static int post(struct vs_conn *c, const char *method, const char *body,
		struct http_resp *rs, int timeout_s)
{
	struct strbuf url = STRBUF_INIT;
	strbuf_addf(&url, "%s/sdk", c->base);
	struct strlist h = STRLIST_INIT;
	strlist_add(&h, "Content-Type: text/xml; charset=utf-8");
	strlist_add(&h, SOAP_ACTION);
	if (*c->cookie)
		strlist_add(&h, c->cookie);
	const char *secrets[4];
	secrets_of(c, secrets);
	struct http_req rq = {
		.method = "POST", .url = url.buf, .headers = &h,
		.body = body, .body_len = strlen(body), .secrets = secrets,
		.timeout_s = timeout_s,
		.tls_thumbprint = c->t.thumbprint, .tls_noverify = c->t.insecure,
		/* Reads may be sent again; a create or a power change not. */
		.idempotent = !strcmp(method, "RetrieveProperties") ||
			      !strcmp(method, "RetrieveServiceContent") ||
			      !strcmp(method, "FindByInventoryPath"),
	};
	driver_log(c->ctx, "vsphere %s", method);
	int rc = http_do(c->ctx, &rq, rs);
	strlist_clear(&h);
	strbuf_release(&url);
	return rc;
}

int vs_call(struct vs_conn *c, const char *method, const struct vs_mor *obj,
	    const char *args, xmlDoc **doc, xmlNode **ret)
{
	*doc = NULL;
	if (ret)
		*ret = NULL;
	struct strbuf b = STRBUF_INIT;
	strbuf_addstr(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
		      "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\""
		      " xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\""
		      " xmlns:xsi=\"" XSI_NS "\"><soapenv:Body>");
	strbuf_addf(&b, "<%s xmlns=\"urn:vim25\">", method);
	vs_add_mor(&b, "_this", obj);
	strbuf_addstr(&b, args ? args : "");
	strbuf_addf(&b, "</%s></soapenv:Body></soapenv:Envelope>", method);
	struct http_resp rs = HTTP_RESP_INIT;
	int rc = post(c, method, b.buf, &rs, 0);
	/* The body held the password (Login): wipe it. */
	memset(b.buf, 0, b.len);
	strbuf_release(&b);
	if (rs.status == 0) {
		http_resp_release(&rs);
		return rc ? rc : -EIO;
	}
	xmlDoc *d = rs.body.len ? xmlReadMemory(rs.body.buf, (int)rs.body.len, "answer.xml", NULL,
						  XML_PARSE_NONET | XML_PARSE_NOERROR |
						  XML_PARSE_NOWARNING | XML_PARSE_HUGE)
				: NULL;
	xmlNode *body = d ? body_of(d) : NULL;
	xmlNode *fault = vs_child(body, "Fault");
	if (fault) {
		rc = soap_fault(c->ctx, method, fault);
	} else if (rc) {
		/* http_do's line stands (an HTTP error without a SOAP fault). */
	} else if (!body) {
		rc = error_set(c->ctx->err, EBADMSG, "%s: the answer is not a SOAP envelope", method);
	} else if (!strcmp(method, "Login")) {
		/* The session cookie. */
		const char *sc = NULL;
		for (size_t i = 0; i < rs.headers.n; i++)
			if (!strncasecmp(rs.headers.v[i], "Set-Cookie:", 11) &&
			    strstr(rs.headers.v[i], "vmware_soap_session"))
				sc = rs.headers.v[i] + 11;
		while (sc && *sc == ' ')
			sc++;
		if (!sc) {
			rc = error_set(c->ctx->err, EPROTO, "Login: the answer has no vmware_soap_session cookie");
		} else {
			size_t n = strcspn(sc, ";\r\n");
			snprintf(c->session, sizeof(c->session), "%.*s", (int)n, sc);
			snprintf(c->cookie, sizeof(c->cookie), "Cookie: %s", c->session);
		}
	}
	http_resp_release(&rs);
	if (rc) {
		if (d)
			xmlFreeDoc(d);
		return rc;
	}
	*doc = d;
	if (ret) {
		xmlNode *resp = NULL;
		for (xmlNode *k = body->children; k; k = k->next)
			if (k->type == XML_ELEMENT_NODE) {
				resp = k;
				break;
			}
		*ret = vs_child(resp, "returnval");
	}
	return 0;
}

int vs_connect(struct vs_conn *c, struct driver_ctx *ctx, const struct vs_target *t)
{
	memset(c, 0, sizeof(*c));
	c->ctx = ctx;
	c->t = *t;
	bool v6 = strchr(t->host, ':') != NULL;
	snprintf(c->base, sizeof(c->base), "https://%s%s%s:%d", v6 ? "[" : "", t->host, v6 ? "]" : "",
		 t->port);
	struct vs_mor si = { "ServiceInstance", "ServiceInstance" };
	xmlDoc *doc;
	xmlNode *ret;
	int rc = vs_call(c, "RetrieveServiceContent", &si, "", &doc, &ret);
	if (rc) {
		if (t->thumbprint && *t->thumbprint && strstr(ctx->err, "certificate"))
			snprintf(ctx->err, ERR_MAX,
				 "%.300s: the certificate's thumbprint is not the pinned one (vmwarevsphere-thumbprint)",
				 c->base);
		return rc;
	}
	vs_mor_of(vs_child(ret, "rootFolder"), &c->root);
	vs_mor_of(vs_child(ret, "propertyCollector"), &c->pc);
	vs_mor_of(vs_child(ret, "sessionManager"), &c->sm);
	vs_mor_of(vs_child(ret, "fileManager"), &c->fm);
	vs_mor_of(vs_child(ret, "searchIndex"), &c->search);
	xmlFreeDoc(doc);
	if (!*c->root.val || !*c->pc.val || !*c->sm.val)
		return error_set(ctx->err, EPROTO, "RetrieveServiceContent: the answer lacks the root folder, property collector or session manager");
	struct strbuf a = STRBUF_INIT;
	strbuf_addstr(&a, "<userName>");
	vs_esc(&a, t->user ? t->user : "");
	strbuf_addstr(&a, "</userName><password>");
	vs_esc(&a, t->password ? t->password : "");
	strbuf_addstr(&a, "</password>");
	rc = vs_call(c, "Login", &c->sm, a.buf, &doc, NULL);
	memset(a.buf, 0, a.len);
	strbuf_release(&a);
	if (rc)
		return rc;
	xmlFreeDoc(doc);
	c->logged_in = true;
	return 0;
}

void vs_close(struct vs_conn *c)
{
	if (!c->logged_in)
		return;
	struct driver_ctx q = *c->ctx;
	q.cancel = NULL;
	struct driver_ctx *saved = c->ctx;
	c->ctx = &q;
	xmlDoc *doc;
	if (vs_call(c, "Logout", &c->sm, "", &doc, NULL) == 0)
		xmlFreeDoc(doc);
	c->ctx = saved;
	c->logged_in = false;
	memset(c->session, 0, sizeof(c->session));
	memset(c->cookie, 0, sizeof(c->cookie));
}

/* ---- properties ---- */

xmlNode *vs_prop(xmlNode *oc, const char *name)
{
	for (xmlNode *k = oc ? oc->children : NULL; k; k = k->next) {
		if (k->type != XML_ELEMENT_NODE || strcmp((const char *)k->name, "propSet"))
			continue;
		char n[256];
		vs_text(vs_child(k, "name"), n, sizeof(n));
		if (!strcmp(n, name))
			return vs_child(k, "val");
	}
	return NULL;
}

int vs_get(struct vs_conn *c, const struct vs_mor *obj, const char *const *paths,
	   xmlDoc **doc, xmlNode **ret)
{
	struct strbuf a = STRBUF_INIT;
	strbuf_addstr(&a, "<specSet><propSet><type>");
	vs_esc(&a, obj->type);
	strbuf_addstr(&a, "</type>");
	for (const char *const *p = paths; *p; p++) {
		strbuf_addstr(&a, "<pathSet>");
		vs_esc(&a, *p);
		strbuf_addstr(&a, "</pathSet>");
	}
	strbuf_addstr(&a, "</propSet><objectSet>");
	vs_add_mor(&a, "obj", obj);
	strbuf_addstr(&a, "</objectSet></specSet>");
	int rc = vs_call(c, "RetrieveProperties", &c->pc, a.buf, doc, ret);
	strbuf_release(&a);
	return rc;
}

int vs_task_wait(struct vs_conn *c, const char *what, const struct vs_mor *task,
		 struct vs_mor *result, int timeout_s)
{
	static const char *const paths[] = { "info.state", "info.result", "info.error", NULL };
	struct driver_wait w;
	for (driver_wait_start(&w, c->ctx, timeout_s, 100); driver_wait_next(&w);) {
		xmlDoc *doc;
		xmlNode *ret;
		int rc = vs_get(c, task, paths, &doc, &ret);
		if (rc)
			return rc;
		char state[32];
		vs_text(vs_prop(ret, "info.state"), state, sizeof(state));
		if (!strcmp(state, "success")) {
			if (result)
				vs_mor_of(vs_prop(ret, "info.result"), result);
			xmlFreeDoc(doc);
			return 0;
		}
		if (!strcmp(state, "error")) {
			xmlNode *e = vs_prop(ret, "info.error");
			char msg[512], type[96];
			vs_text(vs_child(e, "localizedMessage"), msg, sizeof(msg));
			vs_xsi_type(vs_child(e, "fault"), type, sizeof(type));
			xmlFreeDoc(doc);
			one_line(msg);
			if (!*msg)
				snprintf(msg, sizeof(msg), "%s", *type ? type : "the task failed");
			return error_set(c->ctx->err, fault_errno(type), "%s: %s", what, msg);
		}
		xmlFreeDoc(doc);
		/* 100 ms, doubled while under a second (to 1.6 s). */
		if (w.polls > 1 && w.interval_ms < 1000)
			w.interval_ms *= 2;
	}
	if (w.timed_out)
		return error_set(c->ctx->err, ETIMEDOUT, "%s: task %s not done within %d s", what,
				 task->val, timeout_s);
	return error_set(c->ctx->err, EINTR, "%s: cancelled", what);
}

int vs_call_task(struct vs_conn *c, const char *method, const struct vs_mor *obj,
		 const char *args, struct vs_mor *result, int timeout_s)
{
	xmlDoc *doc;
	xmlNode *ret;
	int rc = vs_call(c, method, obj, args, &doc, &ret);
	if (rc)
		return rc;
	struct vs_mor task;
	bool ok = vs_mor_of(ret, &task);
	xmlFreeDoc(doc);
	if (!ok)
		return error_set(c->ctx->err, EPROTO, "%s: the answer has no task", method);
	/* A task outlives a cancelled wait; the caller's undo deals with
	 * what it made. */
	return vs_task_wait(c, method, &task, result, timeout_s);
}

/* ---- inventory ---- */

static const char TRAVERSAL[] =
	"<selectSet xsi:type=\"TraversalSpec\"><name>folder</name><type>Folder</type><path>childEntity</path><skip>false</skip>"
	"<selectSet><name>folder</name></selectSet><selectSet><name>dcVm</name></selectSet>"
	"<selectSet><name>dcHost</name></selectSet><selectSet><name>dcDs</name></selectSet>"
	"<selectSet><name>dcNet</name></selectSet><selectSet><name>crHost</name></selectSet>"
	"<selectSet><name>crRp</name></selectSet></selectSet>"
	"<selectSet xsi:type=\"TraversalSpec\"><name>dcVm</name><type>Datacenter</type><path>vmFolder</path><skip>false</skip><selectSet><name>folder</name></selectSet></selectSet>"
	"<selectSet xsi:type=\"TraversalSpec\"><name>dcHost</name><type>Datacenter</type><path>hostFolder</path><skip>false</skip><selectSet><name>folder</name></selectSet></selectSet>"
	"<selectSet xsi:type=\"TraversalSpec\"><name>dcDs</name><type>Datacenter</type><path>datastoreFolder</path><skip>false</skip><selectSet><name>folder</name></selectSet></selectSet>"
	"<selectSet xsi:type=\"TraversalSpec\"><name>dcNet</name><type>Datacenter</type><path>networkFolder</path><skip>false</skip><selectSet><name>folder</name></selectSet></selectSet>"
	"<selectSet xsi:type=\"TraversalSpec\"><name>crHost</name><type>ComputeResource</type><path>host</path><skip>false</skip></selectSet>"
	"<selectSet xsi:type=\"TraversalSpec\"><name>crRp</name><type>ComputeResource</type><path>resourcePool</path><skip>false</skip><selectSet><name>rp</name></selectSet></selectSet>"
	"<selectSet xsi:type=\"TraversalSpec\"><name>rp</name><type>ResourcePool</type><path>resourcePool</path><skip>false</skip><selectSet><name>rp</name></selectSet></selectSet>";

const struct vs_obj *vs_inv_get(const struct vs_inv *inv, const struct vs_mor *m)
{
	for (size_t i = 0; i < inv->n; i++)
		if (!strcmp(inv->v[i].mor.val, m->val) && !strcmp(inv->v[i].mor.type, m->type))
			return &inv->v[i];
	return NULL;
}

/* obj's path from its parents' ("/" for the root folder). */
static void path_of(struct vs_inv *inv, struct vs_obj *o, int depth)
{
	if (*o->path || depth > 64)
		return;
	const struct vs_obj *p = *o->parent.val ? vs_inv_get(inv, &o->parent) : NULL;
	if (!p) {
		snprintf(o->path, sizeof(o->path), "/");
		return;
	}
	path_of(inv, (struct vs_obj *)p, depth + 1);
	char name[512];
	size_t n = 0;
	for (const char *s = o->name; *s && n + 4 < sizeof(name); s++) {
		if (*s == '/') { /* govmomi's escape of '/' in a name */
			memcpy(name + n, "%2f", 3);
			n += 3;
		} else {
			name[n++] = *s;
		}
	}
	name[n] = '\0';
	int w = snprintf(o->path, sizeof(o->path), "%.700s%s%.300s", p->path,
			 strcmp(p->path, "/") ? "/" : "", name);
	(void)w;
}

int vs_inventory(struct vs_conn *c, struct vs_inv *inv)
{
	memset(inv, 0, sizeof(*inv));
	struct strbuf a = STRBUF_INIT;
	strbuf_addstr(&a, "<specSet>"
		      "<propSet><type>ManagedEntity</type><pathSet>name</pathSet><pathSet>parent</pathSet></propSet>"
		      "<propSet><type>ComputeResource</type><pathSet>resourcePool</pathSet></propSet>"
		      "<propSet><type>DistributedVirtualPortgroup</type><pathSet>key</pathSet><pathSet>config.distributedVirtualSwitch</pathSet></propSet>"
		      "<propSet><type>DistributedVirtualSwitch</type><pathSet>uuid</pathSet></propSet>"
		      "<propSet><type>VirtualMachine</type><pathSet>summary.runtime.powerState</pathSet></propSet>"
		      "<objectSet>");
	vs_add_mor(&a, "obj", &c->root);
	strbuf_addstr(&a, "<skip>false</skip>");
	strbuf_addstr(&a, TRAVERSAL);
	strbuf_addstr(&a, "</objectSet></specSet>");
	xmlDoc *doc;
	xmlNode *ret;
	int rc = vs_call(c, "RetrieveProperties", &c->pc, a.buf, &doc, &ret);
	strbuf_release(&a);
	if (rc)
		return rc;
	size_t cap = 0;
	for (xmlNode *k = ret; k; k = k->next) {
		if (k->type != XML_ELEMENT_NODE || strcmp((const char *)k->name, "returnval"))
			continue;
		if (inv->n == cap) {
			cap = cap ? 2 * cap : 64;
			struct vs_obj *nv = realloc(inv->v, cap * sizeof(*nv));
			if (!nv) {
				xmlFreeDoc(doc);
				vs_inv_free(inv);
				return error_set(c->ctx->err, ENOMEM, "inventory: out of memory");
			}
			inv->v = nv;
		}
		struct vs_obj *o = &inv->v[inv->n];
		memset(o, 0, sizeof(*o));
		if (!vs_mor_of(vs_child(k, "obj"), &o->mor))
			continue;
		vs_text(vs_prop(k, "name"), o->name, sizeof(o->name));
		vs_mor_of(vs_prop(k, "parent"), &o->parent);
		vs_mor_of(vs_prop(k, "resourcePool"), &o->pool);
		vs_text(vs_prop(k, "key"), o->pg_key, sizeof(o->pg_key));
		vs_mor_of(vs_prop(k, "config.distributedVirtualSwitch"), &o->dvs);
		vs_text(vs_prop(k, "uuid"), o->uuid, sizeof(o->uuid));
		vs_text(vs_prop(k, "summary.runtime.powerState"), o->power, sizeof(o->power));
		inv->n++;
	}
	xmlFreeDoc(doc);
	for (size_t i = 0; i < inv->n; i++)
		path_of(inv, &inv->v[i], 0);
	return 0;
}

void vs_inv_free(struct vs_inv *inv)
{
	free(inv->v);
	inv->v = NULL;
	inv->n = 0;
}
