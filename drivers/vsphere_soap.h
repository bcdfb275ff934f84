/* vSphere's Web Services API (vim25 SOAP) over drivers/http.c, the XML
 * through libxml2: what the vmwarevsphere driver needs of govmomi.
 *
 *   struct vs_conn c;
 *   vs_connect(&c, ctx, &target);        // RetrieveServiceContent + Login
 *   vs_call(&c, "PowerOnVM_Task", &vm, "", &doc, &ret);
 *   vs_task_wait(&c, "PowerOnVM_Task", &task, NULL, 600);
 *   vs_close(&c);                         // Logout
 *
 * Errors: -errno and one line in ctx->err: a SOAP fault gives
 * "METHOD: FAULTSTRING" (a task's: its error's localizedMessage), the
 * errno from the fault's type (InvalidLogin EACCES, NotFound/
 * ManagedObjectNotFound/FileNotFound ENOENT, DuplicateName/AlreadyExists
 * EEXIST, InvalidPowerState/InvalidState EBUSY, others EIO). */
#ifndef MFS_VSPHERE_SOAP_H
#define MFS_VSPHERE_SOAP_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#include "drivers/driver.h"
#include "lib/strbuf.h"

/* A managed object reference: <x type="VirtualMachine">vm-42</x>. */
struct vs_mor {
	char type[64];
	char val[96];
};

struct vs_target {
	const char *host;        /* vCenter/ESXi name or address */
	int port;                /* 443 */
	const char *user, *password;
	const char *thumbprint;  /* pinned certificate thumbprint, or NULL/"" */
	bool insecure;           /* no certificate check */
};

struct vs_conn {
	struct driver_ctx *ctx;
	struct vs_target t;
	char base[600];          /* https://host:port */
	char cookie[640];        /* "Cookie: vmware_soap_session=..." */
	char session[600];       /* the cookie's value (a secret) */
	struct vs_mor root, pc, sm, fm, search;
	bool logged_in;
};

/* RetrieveServiceContent and SessionManager.Login. */
int vs_connect(struct vs_conn *c, struct driver_ctx *ctx, const struct vs_target *t);
/* Logout, best effort. */
void vs_close(struct vs_conn *c);

/* Call method on obj with args (XML elements, already escaped). On
 * success *doc is the answer (xmlFreeDoc) and *ret its first <returnval>
 * (NULL when the method returns nothing). */
int vs_call(struct vs_conn *c, const char *method, const struct vs_mor *obj,
	    const char *args, xmlDoc **doc, xmlNode **ret);
/* A method whose answer is a task: call it, wait for the task. */
int vs_call_task(struct vs_conn *c, const char *method, const struct vs_mor *obj,
		 const char *args, struct vs_mor *result, int timeout_s);
/* Poll task's info until success (its result moref, if any, in *result)
 * or error (its localizedMessage). Bounded by timeout_s, cancellable. */
int vs_task_wait(struct vs_conn *c, const char *what, const struct vs_mor *task,
		 struct vs_mor *result, int timeout_s);

/* One or more properties of one object: RetrieveProperties. *doc owns
 * the answer; vs_prop() finds a property's <val> in *ret. */
int vs_get(struct vs_conn *c, const struct vs_mor *obj, const char *const *paths,
	   xmlDoc **doc, xmlNode **ret);
xmlNode *vs_prop(xmlNode *objcontent, const char *name);

/* XML helpers. */
xmlNode *vs_child(xmlNode *n, const char *name); /* first element child by local name */
void vs_text(xmlNode *n, char *buf, size_t len);   /* text content, "" for NULL */
bool vs_mor_of(xmlNode *n, struct vs_mor *m);      /* n's type attribute + text */
const char *vs_xsi_type(xmlNode *n, char *buf, size_t len); /* without prefix */
void vs_esc(struct strbuf *sb, const char *s);     /* XML-escaped text */
void vs_add_mor(struct strbuf *sb, const char *elem, const struct vs_mor *m);

/* The inventory: every datacenter, folder, compute resource, host,
 * resource pool, datastore, network and VM, with its inventory path
 * ("/DC0/host/DC0_C0/Resources"), as govmomi's finder sees it. */
struct vs_obj {
	struct vs_mor mor, parent;
	char name[256];
	char path[1024];
	struct vs_mor pool;   /* ComputeResource: its root resource pool */
	char pg_key[128];     /* DistributedVirtualPortgroup: key */
	struct vs_mor dvs;    /* ... and its switch */
	char uuid[128];       /* a distributed switch's uuid */
	char power[32];       /* VirtualMachine: summary.runtime.powerState */
};

struct vs_inv {
	struct vs_obj *v;
	size_t n;
};

int vs_inventory(struct vs_conn *c, struct vs_inv *inv);
void vs_inv_free(struct vs_inv *inv);
const struct vs_obj *vs_inv_get(const struct vs_inv *inv, const struct vs_mor *m);

#endif
