/* The "amazonec2" driver: an EC2 instance through the EC2 Query API
 * (drivers/ec2api.h), as Docker Machine 0.16's drivers/amazonec2 makes
 * one: the same flags, the same calls in the same order, the same
 * config.json. This file: options, configure (SetConfigFromFlags),
 * config.json, start/stop/restart/kill, state. amazonec2_create.c:
 * pre-create checks, create, remove.
 *
 * Where machinefs differs: the machine key is ed25519; the dead per-region
 * AMI table is replaced by a DescribeImages lookup of the newest Ubuntu
 * 24.04 LTS image; stop and kill wait until EC2 shows "stopped"; every
 * resource id is saved the moment EC2 returns it (driver_checkpoint) and a
 * failed create deletes what it made; rm deletes a security group the
 * machine created. Spot instances are not supported. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "drivers/amazonec2.h"
#include "drivers/wait.h"
#include "lib/json.h"
#include "lib/tcpprobe.h"

static const struct driver_option ec2_options[] = {
	{ "amazonec2-access-key", OPT_STRING, NULL, "AWS_ACCESS_KEY_ID", "AWS Access Key", 0, "AccessKey" },
	{ "amazonec2-secret-key", OPT_STRING, NULL, "AWS_SECRET_ACCESS_KEY", "AWS Secret Key", OPT_SECRET, "SecretKey" },
	{ "amazonec2-session-token", OPT_STRING, NULL, "AWS_SESSION_TOKEN", "AWS Session Token", OPT_SECRET, "SessionToken" },
	{ "amazonec2-ami", OPT_STRING, NULL, "AWS_AMI", "AWS machine image (default: the newest Ubuntu 24.04 LTS image of the region, looked up)", 0, NULL },
	{ "amazonec2-region", OPT_STRING, "us-east-1", "AWS_DEFAULT_REGION", "AWS region", 0, NULL },
	{ "amazonec2-vpc-id", OPT_STRING, NULL, "AWS_VPC_ID", "AWS VPC id", 0, NULL },
	{ "amazonec2-zone", OPT_STRING, "a", "AWS_ZONE", "AWS zone for instance (i.e. a,b,c,d,e)", 0, NULL },
	{ "amazonec2-subnet-id", OPT_STRING, NULL, "AWS_SUBNET_ID", "AWS VPC subnet id", 0, NULL },
	{ "amazonec2-security-group-readonly", OPT_BOOL, NULL, "AWS_SECURITY_GROUP_READONLY", "Skip adding default rules to security groups", 0, NULL },
	{ "amazonec2-security-group", OPT_LIST, "docker-machine", "AWS_SECURITY_GROUP", "AWS VPC security group", 0, NULL },
	{ "amazonec2-open-port", OPT_LIST, NULL, NULL, "Make the specified port number accessible from the Internet", 0, NULL },
	{ "amazonec2-tags", OPT_STRING, NULL, "AWS_TAGS", "AWS Tags (e.g. key1,value1,key2,value2)", 0, NULL },
	{ "amazonec2-instance-type", OPT_STRING, "t2.micro", "AWS_INSTANCE_TYPE", "AWS instance type", 0, NULL },
	{ "amazonec2-device-name", OPT_STRING, "/dev/sda1", "AWS_DEVICE_NAME", "AWS root device name", 0, NULL },
	{ "amazonec2-root-size", OPT_INT, "16", "AWS_ROOT_SIZE", "AWS root disk size (in GB)", 0, NULL },
	{ "amazonec2-volume-type", OPT_STRING, "gp2", "AWS_VOLUME_TYPE", "Amazon EBS volume type", 0, NULL },
	{ "amazonec2-iam-instance-profile", OPT_STRING, NULL, "AWS_INSTANCE_PROFILE", "AWS IAM Instance Profile", 0, NULL },
	{ "amazonec2-ssh-port", OPT_INT, "22", "AWS_SSH_PORT", "SSH port", 0, NULL },
	{ "amazonec2-ssh-user", OPT_STRING, "ubuntu", "AWS_SSH_USER", "SSH username", 0, NULL },
	{ "amazonec2-request-spot-instance", OPT_BOOL, NULL, NULL, "Set this flag to request spot instance (not supported by machinefs)", 0, NULL },
	{ "amazonec2-spot-price", OPT_STRING, "0.50", NULL, "AWS spot instance bid price (in dollar)", 0, NULL },
	{ "amazonec2-block-duration-minutes", OPT_INT, "0", NULL, "AWS spot instance duration in minutes (60, 120, 180, 240, 300, or 360)", 0, NULL },
	{ "amazonec2-private-address-only", OPT_BOOL, NULL, NULL, "Only use a private IP address", 0, NULL },
	{ "amazonec2-use-private-address", OPT_BOOL, NULL, NULL, "Force the usage of private IP address", 0, NULL },
	{ "amazonec2-monitoring", OPT_BOOL, NULL, NULL, "Set this flag to enable CloudWatch monitoring", 0, NULL },
	{ "amazonec2-use-ebs-optimized-instance", OPT_BOOL, NULL, NULL, "Create an EBS optimized instance", 0, NULL },
	{ "amazonec2-ssh-keypath", OPT_STRING, NULL, "AWS_SSH_KEYPATH", "SSH Key for Instance", 0, NULL },
	{ "amazonec2-keypair-name", OPT_STRING, NULL, "AWS_KEYPAIR_NAME", "AWS keypair to use; requires --amazonec2-ssh-keypath", 0, NULL },
	{ "amazonec2-retries", OPT_INT, "5", NULL, "Set retry count for recoverable failures (use -1 to disable)", 0, NULL },
	{ "amazonec2-endpoint", OPT_STRING, NULL, "AWS_ENDPOINT", "Optional endpoint URL (hostname only or fully qualified URI)", 0, NULL },
	{ "amazonec2-insecure-transport", OPT_BOOL, NULL, "AWS_INSECURE_TRANSPORT", "Disable SSL when sending requests", 0, NULL },
	{ "amazonec2-userdata", OPT_STRING, NULL, "AWS_USERDATA", "path to file with cloud-init user data", 0, NULL },
	{ NULL },
};

static const struct machine_driver *D = &amazonec2_driver;

static const char *opt(struct driver_ctx *ctx, const char *name)
{
	const char *v = driver_opt(ctx, D, name);
	return v ? v : "";
}

/* Copy an option's value into a field, refusing what does not fit. */
static int copy_opt(struct driver_ctx *ctx, const char *name, char *dst, size_t len)
{
	const char *v = opt(ctx, name);
	if (strlen(v) >= len)
		return error_set(ctx->err, EINVAL, "value of '%s' is too long (%zu bytes, at most %zu)",
				 name, strlen(v), len - 1);
	snprintf(dst, len, "%s", v);
	return 0;
}

/* A list option's lines into a fixed table. */
static int copy_list(struct driver_ctx *ctx, const char *name, char *rows, size_t rowlen,
		     int max, int *n)
{
	const char *v = opt(ctx, name);
	struct strlist l = STRLIST_INIT;
	strlist_split_lines(&l, v);
	int rc = 0;
	*n = 0;
	if ((int)l.n > max)
		rc = error_set(ctx->err, EINVAL, "too many values for '%s': at most %d", name, max);
	for (size_t i = 0; !rc && i < l.n; i++) {
		if (strlen(l.v[i]) >= rowlen)
			rc = error_set(ctx->err, EINVAL, "value '%.64s...' of '%s' is too long", l.v[i], name);
		else
			snprintf(rows + i * rowlen, rowlen, "%s", l.v[i]);
	}
	if (!rc)
		*n = (int)l.n;
	strlist_clear(&l);
	return rc;
}

/* amazonec2-retries may be -1 (no retry), which driver_opt_int refuses. */
static int retries_opt(struct driver_ctx *ctx, int *out)
{
	const char *v = opt(ctx, "amazonec2-retries");
	char *end;
	long n = strtol(v, &end, 10);
	if (!*v || *end || n < -1 || n > 100)
		return error_set(ctx->err, EINVAL,
				 "invalid value '%.32s' for option 'amazonec2-retries': want -1 to 100", v);
	*out = (int)n;
	return 0;
}

static bool valid_region(const char *r)
{
	int dashes = 0;
	if (!*r)
		return false;
	for (const char *c = r; *c; c++) {
		if (*c == '-')
			dashes++;
		else if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
			return false;
	}
	return dashes >= 2;
}

/* Docker Machine's generateId: md5 of random bytes, as hex. */
static void new_id(char *out, size_t len)
{
	unsigned char b[16];
	if (RAND_bytes(b, sizeof(b)) != 1)
		memset(b, 0, sizeof(b));
	for (size_t i = 0; i < sizeof(b) && 2 * i + 2 < len; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int ec2_configure(struct driver_ctx *ctx)
{
	struct ec2_priv *p = ctx->priv;
	int rc;
	if ((rc = copy_opt(ctx, "amazonec2-endpoint", p->endpoint, sizeof(p->endpoint))) ||
	    (rc = copy_opt(ctx, "amazonec2-region", p->region, sizeof(p->region))) ||
	    (rc = copy_opt(ctx, "amazonec2-ami", p->ami, sizeof(p->ami))) ||
	    (rc = copy_opt(ctx, "amazonec2-access-key", p->access_key, sizeof(p->access_key))) ||
	    (rc = copy_opt(ctx, "amazonec2-secret-key", p->secret_key, sizeof(p->secret_key))) ||
	    (rc = copy_opt(ctx, "amazonec2-session-token", p->session_token, sizeof(p->session_token))) ||
	    (rc = copy_opt(ctx, "amazonec2-spot-price", p->spot_price, sizeof(p->spot_price))) ||
	    (rc = copy_opt(ctx, "amazonec2-instance-type", p->instance_type, sizeof(p->instance_type))) ||
	    (rc = copy_opt(ctx, "amazonec2-vpc-id", p->vpc_id, sizeof(p->vpc_id))) ||
	    (rc = copy_opt(ctx, "amazonec2-subnet-id", p->subnet_id, sizeof(p->subnet_id))) ||
	    (rc = copy_opt(ctx, "amazonec2-tags", p->tags, sizeof(p->tags))) ||
	    (rc = copy_opt(ctx, "amazonec2-zone", p->zone, sizeof(p->zone))) ||
	    (rc = copy_opt(ctx, "amazonec2-device-name", p->device_name, sizeof(p->device_name))) ||
	    (rc = copy_opt(ctx, "amazonec2-volume-type", p->volume_type, sizeof(p->volume_type))) ||
	    (rc = copy_opt(ctx, "amazonec2-iam-instance-profile", p->iam_profile, sizeof(p->iam_profile))) ||
	    (rc = copy_opt(ctx, "amazonec2-ssh-user", ctx->base->ssh_user, sizeof(ctx->base->ssh_user))) ||
	    (rc = copy_opt(ctx, "amazonec2-ssh-keypath", p->ssh_private_key_path, sizeof(p->ssh_private_key_path))) ||
	    (rc = copy_opt(ctx, "amazonec2-keypair-name", p->key_name, sizeof(p->key_name))) ||
	    (rc = copy_opt(ctx, "amazonec2-userdata", p->userdata_file, sizeof(p->userdata_file))) ||
	    (rc = copy_list(ctx, "amazonec2-security-group", &p->sg_names[0][0], sizeof(p->sg_names[0]), EC2_SG_MAX, &p->n_sg_names)) ||
	    (rc = copy_list(ctx, "amazonec2-open-port", &p->open_ports[0][0], sizeof(p->open_ports[0]), EC2_PORT_MAX, &p->n_ports)) ||
	    (rc = driver_opt_int(ctx, D, "amazonec2-root-size", &p->root_size)) ||
	    (rc = driver_opt_int(ctx, D, "amazonec2-block-duration-minutes", &p->block_duration)) ||
	    (rc = driver_opt_int(ctx, D, "amazonec2-ssh-port", &ctx->base->ssh_port)) ||
	    (rc = retries_opt(ctx, &p->retries)))
		return rc;
	if (!valid_region(p->region) && !*p->endpoint)
		return error_set(ctx->err, EINVAL, "invalid region specified: '%.64s'", p->region);
	if (ctx->base->ssh_port < 1 || ctx->base->ssh_port > 65535)
		return error_set(ctx->err, EINVAL, "invalid amazonec2-ssh-port: want 1-65535");
	p->spot = driver_opt_bool(ctx, D, "amazonec2-request-spot-instance");
	p->sg_readonly = driver_opt_bool(ctx, D, "amazonec2-security-group-readonly");
	p->private_only = driver_opt_bool(ctx, D, "amazonec2-private-address-only");
	p->use_private = driver_opt_bool(ctx, D, "amazonec2-use-private-address");
	p->monitoring = driver_opt_bool(ctx, D, "amazonec2-monitoring");
	p->ebs_optimized = driver_opt_bool(ctx, D, "amazonec2-use-ebs-optimized-instance");
	p->disable_ssl = driver_opt_bool(ctx, D, "amazonec2-insecure-transport");
	p->existing_key = *p->key_name != '\0';
	new_id(p->id, sizeof(p->id));
	if (p->spot)
		return error_set(ctx->err, ENOTSUP,
				 "amazonec2-request-spot-instance: spot instances are not supported by machinefs");
	if (p->disable_ssl && !*p->endpoint)
		return error_set(ctx->err, EINVAL,
				 "using --amazonec2-insecure-transport also requires --amazonec2-endpoint");
	if (*p->key_name && !*p->ssh_private_key_path)
		return error_set(ctx->err, EINVAL,
				 "using --amazonec2-keypair-name also requires --amazonec2-ssh-keypath");
	/* The machine key: ours (ed25519), or a copy of the user's. */
	if (*p->ssh_private_key_path) {
		char copy[PATH_MAX];
		snprintf(copy, sizeof(copy), "%s", p->ssh_private_key_path);
		snprintf(ctx->base->ssh_key_path, sizeof(ctx->base->ssh_key_path), "%s/%s", ctx->dir,
			 basename(copy));
	} else {
		snprintf(ctx->base->ssh_key_path, sizeof(ctx->base->ssh_key_path), "%s/id_ed25519",
			 ctx->dir);
	}
	struct ec2_client c;
	struct aws_creds creds;
	rc = ec2_open(ctx, &c, &creds);
	if (!rc)
		rc = ec2_configure_network(ctx, &c);
	aws_creds_clear(&creds);
	return rc;
}

int ec2_open(struct driver_ctx *ctx, struct ec2_client *c, struct aws_creds *creds)
{
	const struct ec2_priv *p = ctx->priv;
	int rc = aws_creds_resolve(p->access_key, p->secret_key, p->session_token, creds, ctx->err);
	if (rc == -ENOKEY)
		return error_set(ctx->err, ENOKEY,
				 "amazonec2 driver requires AWS credentials configured with the --amazonec2-access-key and --amazonec2-secret-key options, environment variables, ~/.aws/credentials, or an instance role");
	if (rc)
		return rc;
	int attempts = p->retries < 0 ? 1 : p->retries + 1;
	return ec2_client_init(c, ctx, p->endpoint, p->region, creds, attempts, p->disable_ssl);
}

int ec2_describe_instance(struct ec2_client *c, const char *id, char *state, size_t slen,
			  char *public_ip, size_t plen, char *private_ip, size_t prlen)
{
	struct strlist p = STRLIST_INIT;
	ec2_param(&p, "InstanceId.1", id);
	xmlDoc *doc;
	int rc = ec2_call(c, "DescribeInstances", &p, &doc);
	strlist_clear(&p);
	if (rc)
		return rc;
	xmlNode *inst = ec2_xml_find(xmlDocGetRootElement(doc), "reservationSet/item/instancesSet/item");
	char tmp[64];
	if (!inst) {
		snprintf(c->code, sizeof(c->code), "InvalidInstanceID.NotFound");
		rc = error_set(c->ctx->err, ENOENT, "ec2 DescribeInstances: instance '%s' not found", id);
	} else {
		ec2_xml_text(inst, "instanceState/name", state ? state : tmp, state ? slen : sizeof(tmp));
		ec2_xml_text(inst, "ipAddress", public_ip ? public_ip : tmp, public_ip ? plen : sizeof(tmp));
		ec2_xml_text(inst, "privateIpAddress", private_ip ? private_ip : tmp,
			     private_ip ? prlen : sizeof(tmp));
	}
	xmlFreeDoc(doc);
	return rc;
}

int ec2_wait_state(struct ec2_client *c, const char *id, const char *want)
{
	struct driver_ctx *ctx = c->ctx;
	char st[32] = "";
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, EC2_WAIT_S, 1000); driver_wait_next(&w);) {
		int rc = ec2_describe_instance(c, id, st, sizeof(st), NULL, 0, NULL, 0);
		if (rc == -ENOENT && !strcmp(want, "terminated"))
			return 0;
		if (rc && rc != -EAGAIN)
			return rc;
		if (!rc && !strcmp(st, want))
			return 0;
		if (!rc && !strcmp(st, "terminated"))
			return error_set(ctx->err, EIO, "instance '%s' was terminated", id);
	}
	if (w.timed_out)
		return error_set(ctx->err, ETIMEDOUT, "instance '%s' is still '%s', not '%s', after %d s",
				 id, st, want, EC2_WAIT_S);
	return error_set(ctx->err, EINTR, "waiting for instance '%s' to be %s was cancelled", id, want);
}

const char *ec2_pick_ip(const struct ec2_priv *p, const char *public_ip, const char *private_ip)
{
	return p->private_only || p->use_private ? private_ip : public_ip;
}

/* Call action on the instance, then wait for want; start also takes the
 * (maybe new) address. */
static int lifecycle(struct driver_ctx *ctx, const char *action, const char *force,
		     const char *want, const char *what)
{
	struct ec2_priv *p = ctx->priv;
	if (!*p->instance_id)
		return error_set(ctx->err, ENOENT, "machine '%s' has no instance id", ctx->machine);
	struct ec2_client c;
	struct aws_creds creds;
	int rc = ec2_open(ctx, &c, &creds);
	if (rc)
		goto out;
	struct strlist prm = STRLIST_INIT;
	ec2_param(&prm, "InstanceId.1", p->instance_id);
	if (force)
		ec2_param(&prm, "Force", force);
	xmlDoc *doc = NULL;
	rc = ec2_call(&c, action, &prm, &doc);
	strlist_clear(&prm);
	if (doc)
		xmlFreeDoc(doc);
	if (rc)
		goto out;
	driver_log(ctx, "Waiting for instance '%s' to be %s (%s)...", p->instance_id, want, what);
	rc = ec2_wait_state(&c, p->instance_id, want);
	if (!rc && !strcmp(want, "running")) {
		char pub[64], priv[64];
		rc = ec2_describe_instance(&c, p->instance_id, NULL, 0, pub, sizeof(pub), priv,
					   sizeof(priv));
		const char *ip = rc ? "" : ec2_pick_ip(p, pub, priv);
		if (*ip && strcmp(ip, ctx->base->ip)) {
			driver_log(ctx, "The instance's address is now %s", ip);
			snprintf(ctx->base->ip, sizeof(ctx->base->ip), "%s", ip);
		}
		if (!rc)
			snprintf(p->private_ip, sizeof(p->private_ip), "%s", priv);
	}
out:
	aws_creds_clear(&creds);
	return rc;
}

static int ec2_start(struct driver_ctx *ctx)
{
	return lifecycle(ctx, "StartInstances", NULL, "running", "StartInstances");
}

static int ec2_stop(struct driver_ctx *ctx)
{
	return lifecycle(ctx, "StopInstances", "false", "stopped", "StopInstances");
}

static int ec2_kill(struct driver_ctx *ctx)
{
	return lifecycle(ctx, "StopInstances", "true", "stopped", "StopInstances, forced");
}

/* RebootInstances leaves the instance "running" in the API: watch the
 * SSH port go down (up to 60 s) so that the engine the core then waits
 * for is the rebooted one, not the one about to go. */
static int ec2_restart(struct driver_ctx *ctx)
{
	int rc = lifecycle(ctx, "RebootInstances", NULL, "running", "RebootInstances");
	if (rc || !*ctx->base->ip)
		return rc;
	int port = ctx->base->ssh_port ? ctx->base->ssh_port : 22;
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, 60, 100); driver_wait_next(&w);)
		if (tcp_probe(ctx->base->ip, port, 500, ctx->cancel))
			return 0;
	if (!w.timed_out)
		return error_set(ctx->err, EINTR, "restart of '%s' was cancelled", ctx->machine);
	driver_log(ctx, "%s:%d never stopped answering: the reboot may have been quick", ctx->base->ip, port);
	return 0;
}

static int ec2_state(struct driver_ctx *ctx, enum machine_state *out)
{
	struct ec2_priv *p = ctx->priv;
	*out = MS_ERROR;
	if (!*p->instance_id)
		return error_set(ctx->err, ENOENT, "machine '%s' has no instance id", ctx->machine);
	struct ec2_client c;
	struct aws_creds creds;
	int rc = ec2_open(ctx, &c, &creds);
	char st[32] = "";
	if (!rc)
		rc = ec2_describe_instance(&c, p->instance_id, st, sizeof(st), NULL, 0, NULL, 0);
	aws_creds_clear(&creds);
	if (rc)
		return rc;
	/* Docker Machine's GetState. */
	if (!strcmp(st, "pending"))
		*out = MS_STARTING;
	else if (!strcmp(st, "running"))
		*out = MS_RUNNING;
	else if (!strcmp(st, "stopping") || !strcmp(st, "shutting-down"))
		*out = MS_STOPPING;
	else if (!strcmp(st, "stopped"))
		*out = MS_STOPPED;
	else
		*out = MS_ERROR; /* terminated, or a state EC2 added since */
	return 0;
}

static int ec2_url(struct driver_ctx *ctx, char *buf, size_t len)
{
	if (!*ctx->base->ip)
		return -ENOENT;
	if (strchr(ctx->base->ip, ':'))
		snprintf(buf, len, "tcp://[%s]:%d", ctx->base->ip, EC2_DOCKER_PORT);
	else
		snprintf(buf, len, "tcp://%s:%d", ctx->base->ip, EC2_DOCKER_PORT);
	return 0;
}

static void load_str(const cJSON *o, const char *key, char *dst, size_t len)
{
	snprintf(dst, len, "%s", json_str(o, key, ""));
}

/* A legacy single string and a list into one table. */
static void load_table(const cJSON *o, const char *one, const char *many, char *rows,
		       size_t rowlen, int max, int *n)
{
	struct strlist l = STRLIST_INIT;
	const char *s = one ? json_str(o, one, "") : "";
	if (*s)
		strlist_add(&l, s);
	json_list(o, many, &l);
	*n = 0;
	for (size_t i = 0; i < l.n && *n < max; i++)
		snprintf(rows + (size_t)(*n)++ * rowlen, rowlen, "%s", l.v[i]);
	strlist_clear(&l);
}

static void save_table(cJSON *o, const char *key, const char *rows, size_t rowlen, int n)
{
	struct strlist l = STRLIST_INIT;
	for (int i = 0; i < n; i++)
		strlist_add(&l, rows + (size_t)i * rowlen);
	json_put_list(o, key, &l, true);
	strlist_clear(&l);
}

static int ec2_load(struct driver_ctx *ctx, const cJSON *o)
{
	struct ec2_priv *p = ctx->priv;
	load_str(o, "Id", p->id, sizeof(p->id));
	load_str(o, "AccessKey", p->access_key, sizeof(p->access_key));
	load_str(o, "SecretKey", p->secret_key, sizeof(p->secret_key));
	load_str(o, "SessionToken", p->session_token, sizeof(p->session_token));
	load_str(o, "Region", p->region, sizeof(p->region));
	load_str(o, "AMI", p->ami, sizeof(p->ami));
	p->existing_key = json_bool(o, "ExistingKey", false);
	load_str(o, "KeyName", p->key_name, sizeof(p->key_name));
	load_str(o, "InstanceId", p->instance_id, sizeof(p->instance_id));
	load_str(o, "InstanceType", p->instance_type, sizeof(p->instance_type));
	load_str(o, "PrivateIPAddress", p->private_ip, sizeof(p->private_ip));
	load_table(o, "SecurityGroupId", "SecurityGroupIds", &p->sg_ids[0][0], sizeof(p->sg_ids[0]),
		   EC2_SG_MAX, &p->n_sg_ids);
	load_table(o, "SecurityGroupName", "SecurityGroupNames", &p->sg_names[0][0],
		   sizeof(p->sg_names[0]), EC2_SG_MAX, &p->n_sg_names);
	p->sg_readonly = json_bool(o, "SecurityGroupReadOnly", false);
	load_table(o, NULL, "OpenPorts", &p->open_ports[0][0], sizeof(p->open_ports[0]),
		   EC2_PORT_MAX, &p->n_ports);
	load_str(o, "Tags", p->tags, sizeof(p->tags));
	load_str(o, "ReservationId", p->reservation_id, sizeof(p->reservation_id));
	load_str(o, "DeviceName", p->device_name, sizeof(p->device_name));
	p->root_size = (int)json_int(o, "RootSize", 16);
	load_str(o, "VolumeType", p->volume_type, sizeof(p->volume_type));
	load_str(o, "IamInstanceProfile", p->iam_profile, sizeof(p->iam_profile));
	load_str(o, "VpcId", p->vpc_id, sizeof(p->vpc_id));
	load_str(o, "SubnetId", p->subnet_id, sizeof(p->subnet_id));
	load_str(o, "Zone", p->zone, sizeof(p->zone));
	p->spot = json_bool(o, "RequestSpotInstance", false);
	load_str(o, "SpotPrice", p->spot_price, sizeof(p->spot_price));
	p->block_duration = (int)json_int(o, "BlockDurationMinutes", 0);
	p->private_only = json_bool(o, "PrivateIPOnly", false);
	p->use_private = json_bool(o, "UsePrivateIP", false);
	p->ebs_optimized = json_bool(o, "UseEbsOptimizedInstance", false);
	p->monitoring = json_bool(o, "Monitoring", false);
	load_str(o, "SSHPrivateKeyPath", p->ssh_private_key_path, sizeof(p->ssh_private_key_path));
	p->retries = (int)json_int(o, "RetryCount", 5);
	load_str(o, "Endpoint", p->endpoint, sizeof(p->endpoint));
	p->disable_ssl = json_bool(o, "DisableSSL", false);
	load_str(o, "UserDataFile", p->userdata_file, sizeof(p->userdata_file));
	load_table(o, NULL, "SecurityGroupsCreated", &p->sg_created[0][0], sizeof(p->sg_created[0]),
		   EC2_SG_MAX, &p->n_sg_created);
	p->key_pending = json_bool(o, "KeyPairPending", false);
	p->launch_pending = json_bool(o, "LaunchPending", false);
	if (!*p->region)
		snprintf(p->region, sizeof(p->region), "us-east-1");
	return 0;
}

static int ec2_save(const struct driver_ctx *ctx, cJSON *o)
{
	const struct ec2_priv *p = ctx->priv;
	json_put_str(o, "Id", p->id);
	json_put_str(o, "AccessKey", p->access_key);
	json_put_str(o, "SecretKey", p->secret_key);
	json_put_str(o, "SessionToken", p->session_token);
	json_put_str(o, "Region", p->region);
	json_put_str(o, "AMI", p->ami);
	json_put_int(o, "SSHKeyID", 0);
	json_put_bool(o, "ExistingKey", p->existing_key);
	json_put_str(o, "KeyName", p->key_name);
	json_put_str(o, "InstanceId", p->instance_id);
	json_put_str(o, "InstanceType", p->instance_type);
	json_put_str(o, "PrivateIPAddress", p->private_ip);
	json_put_str(o, "SecurityGroupId", "");
	save_table(o, "SecurityGroupIds", &p->sg_ids[0][0], sizeof(p->sg_ids[0]), p->n_sg_ids);
	json_put_str(o, "SecurityGroupName", "");
	save_table(o, "SecurityGroupNames", &p->sg_names[0][0], sizeof(p->sg_names[0]),
		   p->n_sg_names);
	json_put_bool(o, "SecurityGroupReadOnly", p->sg_readonly);
	save_table(o, "OpenPorts", &p->open_ports[0][0], sizeof(p->open_ports[0]), p->n_ports);
	json_put_str(o, "Tags", p->tags);
	json_put_str(o, "ReservationId", p->reservation_id);
	json_put_str(o, "DeviceName", p->device_name);
	json_put_int(o, "RootSize", p->root_size);
	json_put_str(o, "VolumeType", p->volume_type);
	json_put_str(o, "IamInstanceProfile", p->iam_profile);
	json_put_str(o, "VpcId", p->vpc_id);
	json_put_str(o, "SubnetId", p->subnet_id);
	json_put_str(o, "Zone", p->zone);
	json_put_bool(o, "RequestSpotInstance", p->spot);
	json_put_str(o, "SpotPrice", p->spot_price);
	json_put_int(o, "BlockDurationMinutes", p->block_duration);
	json_put_bool(o, "PrivateIPOnly", p->private_only);
	json_put_bool(o, "UsePrivateIP", p->use_private);
	json_put_bool(o, "UseEbsOptimizedInstance", p->ebs_optimized);
	json_put_bool(o, "Monitoring", p->monitoring);
	json_put_str(o, "SSHPrivateKeyPath", p->ssh_private_key_path);
	json_put_int(o, "RetryCount", p->retries);
	json_put_str(o, "Endpoint", p->endpoint);
	json_put_bool(o, "DisableSSL", p->disable_ssl);
	json_put_str(o, "UserDataFile", p->userdata_file);
	save_table(o, "SecurityGroupsCreated", &p->sg_created[0][0], sizeof(p->sg_created[0]),
		   p->n_sg_created);
	json_put_bool(o, "KeyPairPending", p->key_pending);
	json_put_bool(o, "LaunchPending", p->launch_pending);
	return 0;
}

const struct machine_driver amazonec2_driver = {
	.name = "amazonec2",
	.supports = DRV_SSH | DRV_START | DRV_STOP | DRV_RESTART | DRV_KILL | DRV_REMOVE,
	.options = ec2_options,
	.priv_size = sizeof(struct ec2_priv),
	.configure = ec2_configure,
	.precreate_check = ec2_precreate,
	.create = ec2_create,
	.remove = ec2_remove,
	.start = ec2_start,
	.stop = ec2_stop,
	.restart = ec2_restart,
	.kill = ec2_kill,
	.state = ec2_state,
	.url = ec2_url,
	.load = ec2_load,
	.save = ec2_save,
};
