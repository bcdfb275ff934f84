/* The amazonec2 driver's private state and the helpers its two files
 * share: amazonec2.c (options, config.json, lifecycle, state) and
 * amazonec2_create.c (pre-create checks, create, remove). */
#ifndef MFS_AMAZONEC2_H
#define MFS_AMAZONEC2_H

#include <limits.h>
#include <stdbool.h>

#include "drivers/awscreds.h"
#include "drivers/driver.h"
#include "drivers/ec2api.h"

#define EC2_SG_MAX 8
#define EC2_PORT_MAX 16
#define EC2_DOCKER_PORT 2376
#define EC2_WAIT_S 180 /* Docker Machine's mcnutils.WaitFor: 60 x 3 s */

/* Docker Machine's amazonec2 Driver fields after BaseDriver, in its order
 * (config.json keys in comments), plus two of machinefs's own at the end. */
struct ec2_priv {
	char id[64];                  /* Id */
	char access_key[256];         /* AccessKey (only when given as an option) */
	char secret_key[256];         /* SecretKey (idem) */
	char session_token[4096];     /* SessionToken (idem) */
	char region[64];              /* Region */
	char ami[128];                /* AMI */
	bool existing_key;            /* ExistingKey */
	char key_name[256];           /* KeyName */
	char instance_id[64];         /* InstanceId */
	char instance_type[64];       /* InstanceType */
	char private_ip[64];          /* PrivateIPAddress */
	char sg_ids[EC2_SG_MAX][64];  /* SecurityGroupIds (+ legacy SecurityGroupId) */
	int n_sg_ids;
	char sg_names[EC2_SG_MAX][256]; /* SecurityGroupNames (+ legacy SecurityGroupName) */
	int n_sg_names;
	bool sg_readonly;             /* SecurityGroupReadOnly */
	char open_ports[EC2_PORT_MAX][32]; /* OpenPorts */
	int n_ports;
	char tags[1024];              /* Tags */
	char reservation_id[64];      /* ReservationId */
	char device_name[64];         /* DeviceName */
	int root_size;                /* RootSize */
	char volume_type[32];         /* VolumeType */
	char iam_profile[256];        /* IamInstanceProfile */
	char vpc_id[64];              /* VpcId */
	char subnet_id[64];           /* SubnetId */
	char zone[32];                /* Zone */
	bool spot;                    /* RequestSpotInstance */
	char spot_price[32];          /* SpotPrice */
	int block_duration;           /* BlockDurationMinutes */
	bool private_only;            /* PrivateIPOnly */
	bool use_private;             /* UsePrivateIP */
	bool ebs_optimized;           /* UseEbsOptimizedInstance */
	bool monitoring;              /* Monitoring */
	char ssh_private_key_path[PATH_MAX]; /* SSHPrivateKeyPath */
	int retries;                  /* RetryCount */
	char endpoint[1024];          /* Endpoint */
	bool disable_ssl;             /* DisableSSL */
	char userdata_file[PATH_MAX]; /* UserDataFile */
	/* machinefs: security groups this machine created (deleted by rm). */
	char sg_created[EC2_SG_MAX][64]; /* SecurityGroupsCreated */
	int n_sg_created;
	/* machinefs: ImportKeyPair was sent (the key's name is the machine's):
	 * rm deletes it even when the answer never came back. */
	bool key_pending;             /* KeyPairPending */
	/* machinefs: RunInstances was sent with ClientToken = Id: rm finds
	 * the instance by that token when the answer never came back. */
	bool launch_pending;          /* LaunchPending */
};

extern const struct machine_driver amazonec2_driver;

/* A client for ctx's machine: credentials by the chain, the endpoint,
 * region and retries from priv. creds is the caller's (aws_creds_clear). */
int ec2_open(struct driver_ctx *ctx, struct ec2_client *c, struct aws_creds *creds);
/* The instance's state name ("running") and addresses by DescribeInstances.
 * -ENOENT (c->code InvalidInstanceID.NotFound) when EC2 has no such
 * instance. Any out may be NULL. */
int ec2_describe_instance(struct ec2_client *c, const char *id, char *state, size_t slen,
			  char *public_ip, size_t plen, char *private_ip, size_t prlen);
/* Poll until the instance is in state want (or, for "terminated", gone):
 * bounded by EC2_WAIT_S, cancellable. */
int ec2_wait_state(struct ec2_client *c, const char *id, const char *want);
/* The address SSH and the engine use (public, or private per options). */
const char *ec2_pick_ip(const struct ec2_priv *p, const char *public_ip, const char *private_ip);

/* amazonec2_create.c */
int ec2_configure_network(struct driver_ctx *ctx, struct ec2_client *c); /* AMI, VPC, subnet */
int ec2_precreate(struct driver_ctx *ctx);
int ec2_create(struct driver_ctx *ctx);
int ec2_remove(struct driver_ctx *ctx);

#endif
