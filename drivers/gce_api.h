/* Compute Engine v1 REST calls for the google driver, over the shared
 * HTTP client (drivers/http.h) with a Bearer token from gauth.
 *
 * Paths are relative to the API base (google-api-url, default
 * https://compute.googleapis.com/compute/v1/), e.g.
 * "projects/P/zones/Z/instances/N"; "?alt=json" is added as Google's Go
 * client (Docker Machine's) does. Resource URLs inside request bodies use
 * GCE_SELF_BASE, the form Docker Machine sends and GCE's selfLinks use,
 * whatever base the requests go to. */
#ifndef MFS_GCE_API_H
#define MFS_GCE_API_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "drivers/driver.h"

#define GCE_API_DEFAULT "https://compute.googleapis.com/compute/v1/"
#define GCE_SELF_BASE "https://www.googleapis.com/compute/v1/projects/"

struct gce {
	struct driver_ctx *ctx;
	const char *api_url;   /* the base, ending in '/' */
	const char *cred_path; /* the key file (gauth_find) */
	const char *project;
	const char *zone;
};

/* One call. body: JSON to send, or NULL. 0 for a 2xx answer with *out
 * (may be NULL: not wanted) the parsed body; else -errno with ctx->err
 * set and *status the HTTP status (404: -ENOENT). A 401 drops the cached
 * token and tries once more with a new one. */
int gce_call(struct gce *g, const char *method, const char *path, const cJSON *body,
	     long *status, cJSON **out);
/* A GET that may 404: 0 with *out, -ENOENT (not an error: ctx->err is
 * left empty) or -errno. */
int gce_get(struct gce *g, const char *path, cJSON **out);

enum gce_op_scope { GCE_OP_ZONE, GCE_OP_GLOBAL };
/* Wait for the operation op (an insert/delete/start... answer) to be
 * DONE, polling zoneOperations.get or globalOperations.get every second
 * as Docker Machine does, for at most timeout_s; cancellable. An
 * operation DONE with error.errors[] is -EIO (-ENOENT for
 * RESOURCE_NOT_FOUND...) naming its first error. Frees op. */
int gce_wait_op(struct gce *g, cJSON *op, enum gce_op_scope scope, int timeout_s);

#endif
