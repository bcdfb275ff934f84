/* The openstack driver's core, shared with the rackspace driver (Docker
 * Machine's rackspace driver is the openstack one with another
 * authentication, no start/stop and accessIPv4 as the address). */
#ifndef MFS_OPENSTACK_H
#define MFS_OPENSTACK_H

#include <limits.h>
#include <stdbool.h>

#include "drivers/driver.h"

struct os_priv {
	char auth_url[512];        /* AuthUrl */
	int active_timeout;        /* ActiveTimeout */
	bool insecure;             /* Insecure */
	char cacert[PATH_MAX];     /* CaCert */
	char domain_id[128];       /* DomainID */
	char domain_name[128];     /* DomainName */
	char username[256];        /* Username */
	char password[512];        /* Password (secret) */
	char tenant_name[256];     /* TenantName */
	char tenant_id[128];       /* TenantId */
	char region[128];          /* Region */
	char avail_zone[128];      /* AvailabilityZone */
	char endpoint_type[32];    /* EndpointType */
	char machine_id[128];      /* MachineId */
	char flavor_name[128];     /* FlavorName */
	char flavor_id[128];       /* FlavorId */
	char image_name[256];      /* ImageName */
	char image_id[128];        /* ImageId */
	char keypair_name[256];    /* KeyPairName */
	char net_name[256];        /* NetworkName */
	char net_id[128];          /* NetworkId */
	char userdata_file[PATH_MAX]; /* UserDataFile (machinefs) */
	char private_key_file[PATH_MAX]; /* PrivateKeyFile */
	char sec_groups[1024];     /* SecurityGroups, comma-separated */
	char fip_pool[256];        /* FloatingIpPool */
	bool nova_network;         /* ComputeNetwork */
	char fip_pool_id[128];     /* FloatingIpPoolId */
	int ip_version;            /* IpVersion */
	bool config_drive;         /* ConfigDrive */
	char metadata[1024];       /* Metadata (machinefs; Docker Machine keeps it unexported) */
	bool existing_key;         /* ExistingKey */
	char fip_id[128];          /* FloatingIpId (machinefs): a floating IP we allocated */
	char fip_addr[64];         /* FloatingIp (machinefs) */
	bool rax;                  /* the rackspace driver */
	char api_key[512];         /* APIKey (rackspace; secret) */
};

extern const struct machine_driver openstack_driver;
extern const struct machine_driver rackspace_driver;

/* Shared methods (openstack.c). */
int os_create(struct driver_ctx *ctx);
int os_remove(struct driver_ctx *ctx);
int os_restart(struct driver_ctx *ctx);
int os_state(struct driver_ctx *ctx, enum machine_state *out);
int os_url(struct driver_ctx *ctx, char *buf, size_t len);
int os_load(struct driver_ctx *ctx, const cJSON *o);
int os_save(const struct driver_ctx *ctx, cJSON *o);
bool os_only(const char *s, const char *allowed);

#endif
