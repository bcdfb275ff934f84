/* The EC2 Query API (the amazonec2 driver's wire): POST / with a
 * form-encoded body "Action=...&Version=2016-11-15&...", SigV4-signed
 * for service "ec2" on every attempt, sent through the shared HTTP client
 * (drivers/http.h: retries on 5xx and RequestLimitExceeded, timeouts,
 * cancel, one log line per request), the XML answer parsed with libxml2.
 *
 *   struct ec2_client c;
 *   ec2_client_init(&c, ctx, endpoint_url, region, &creds, attempts, insecure);
 *   struct strlist p = STRLIST_INIT;
 *   ec2_param(&p, "InstanceId.1", "i-0123");
 *   xmlDoc *doc;
 *   int rc = ec2_call(&c, "DescribeInstances", &p, &doc);
 *   ... ec2_xml_find(xmlDocGetRootElement(doc), "reservationSet/item/...") ...
 *   xmlFreeDoc(doc);
 *
 * An API error returns -errno (by HTTP status, http_status_errno), sets
 * c.code to the error's <Code> ("InvalidInstanceID.NotFound") and
 * ctx->err to "ec2 ACTION: CODE: MESSAGE". */
#ifndef MFS_EC2API_H
#define MFS_EC2API_H

#include <stdbool.h>

#include <libxml/tree.h>

#include "drivers/awscreds.h"
#include "drivers/driver.h"
#include "lib/strbuf.h"
#include "lib/strlist.h"

#define EC2_API_VERSION "2016-11-15"

struct ec2_client {
	struct driver_ctx *ctx;
	char url[1024];    /* where to POST: scheme://host[:port]/ */
	char host[512];    /* the Host header: host[:port] as in url */
	char region[64];
	const struct aws_creds *creds;
	int attempts;      /* in all, >= 1 */
	bool insecure;     /* http:// to a non-loopback host allowed */
	char code[128];    /* the last API error's Code, or "" */
};

/* The endpoint: "" -> https://ec2.REGION.amazonaws.com/; a host name ->
 * https://HOST/ (http:// with insecure); a URL -> used as given.
 * 0 or -EINVAL with ctx->err. */
int ec2_client_init(struct ec2_client *c, struct driver_ctx *ctx, const char *endpoint,
		    const char *region, const struct aws_creds *creds, int attempts,
		    bool insecure);

/* Add "name=value" to a parameter list (value raw; encoded when sent). */
void ec2_param(struct strlist *p, const char *name, const char *value);
void ec2_paramf(struct strlist *p, const char *value, const char *name_fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One call; *doc is the caller's (xmlFreeDoc) on 0. */
int ec2_call(struct ec2_client *c, const char *action, const struct strlist *params,
	     xmlDoc **doc);

/* The form body for an action (exposed for tests). */
void ec2_form(struct strbuf *out, const char *action, const struct strlist *params);

/* XML helpers (local names, any namespace). A path is "a/b/c" of child
 * element names below node. */
xmlNode *ec2_xml_find(xmlNode *node, const char *path);
xmlNode *ec2_xml_next(xmlNode *node); /* the next sibling element of the same name */
/* The text of the element at path below node into buf; "" when absent.
 * Returns buf. Never truncates silently: a longer text gives "". */
const char *ec2_xml_text(xmlNode *node, const char *path, char *buf, size_t len);

/* An API error code the driver branches on. */
bool ec2_code_is(const struct ec2_client *c, const char *code);

#endif
