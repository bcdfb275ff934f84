/* The azure driver's pieces shared by drivers/azure.c (ARM calls, life
 * cycle) and drivers/azure_auth.c (environments, tenant discovery, Azure
 * AD tokens), and by its unit tests. */
#ifndef MFS_AZURE_H
#define MFS_AZURE_H

#include <limits.h>
#include <stdbool.h>

#include <cjson/cJSON.h>

#include "drivers/driver.h"
#include "drivers/http.h"

struct az_priv {
	char client_id[256];       /* ClientID */
	char client_secret[1024];  /* ClientSecret (secret) */
	char environment[64];      /* Environment */
	char subscription_id[64];  /* SubscriptionID */
	char resource_group[128];  /* ResourceGroup */
	int docker_port;           /* DockerPort */
	char location[64];         /* Location */
	char size[64];             /* Size */
	char image[256];           /* Image */
	char vnet[256];            /* VirtualNetwork: [rg:]name */
	char subnet[128];          /* SubnetName */
	char subnet_prefix[64];    /* SubnetPrefix */
	char avset[128];           /* AvailabilitySet */
	char storage_type[64];     /* StorageType */
	char open_ports[512];      /* OpenPorts, one a line */
	char private_ip[64];       /* PrivateIPAddr */
	bool use_private_ip;       /* UsePrivateIP */
	bool no_public_ip;         /* NoPublicIP */
	char dns_label[128];       /* DNSLabel */
	bool static_public_ip;     /* StaticPublicIP */
	char custom_data[PATH_MAX]; /* CustomDataFile */
	/* machinefs's own keys */
	char api_url[512];         /* APIURL */
	char auth_url[512];        /* AuthURL */
	char tenant[64];           /* TenantID (also cached as Docker Machine does) */
	unsigned made;             /* Made: what this machine created (MADE_*) */
	/* not saved: the bearer token of this call */
	char token[8192];
};

struct az_env {
	const char *name, *api, *auth, *resource;
};

extern const struct machine_driver azure_driver;

const struct az_env *az_env_find(const char *name);
/* The ARM / AD base URL without a trailing '/'. */
void az_api_base(const struct az_priv *p, char *buf, size_t len);
void az_auth_base(const struct az_priv *p, char *buf, size_t len);

/* A bearer token into p->token (discovering the tenant first when
 * needed). interactive: the device-code flow may run (create); else only
 * a cached or refreshable token (state, stop, rm...). */
int az_auth(struct driver_ctx *ctx, bool interactive);
/* A new token even when the cached one has not expired (ARM refused it
 * with 401): a new client-credentials token, or the refresh token's. */
int az_reauth(struct driver_ctx *ctx);

/* One ARM request with the bearer token: target is a path on the API
 * base or (absolute) a full URL. The answer in rs, 0 for a 2xx. */
int az_call(struct driver_ctx *ctx, const char *method, const char *target,
	    const char *body, struct http_resp *rs, bool absolute);

/* The tenant id in a WWW-Authenticate header's authorization_uri; 0 or
 * -EINVAL. */
int az_tenant_from_header(const char *hdr, char *out, size_t len);

/* Request bodies (unit tests). */
int az_port_ok(const char *s);
cJSON *az_nsg_body(const struct az_priv *p);
cJSON *az_nic_body(const struct az_priv *p, const char *subnet_id, const char *nsg_id,
		   const char *ip_id);
cJSON *az_vm_body(const struct az_priv *p, const char *machine, const char *user,
		  const char *pubkey, const char *custom_b64, const char *avset_id,
		  const char *nic_id);

#endif
