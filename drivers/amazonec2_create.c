/* amazonec2: the network part of configure, the pre-create checks,
 * create and remove, in Docker Machine 0.16's order of EC2 calls:
 *   configure   [DescribeImages: no amazonec2-ami] DescribeAccountAttributes
 *               (no VPC given), DescribeSubnets (subnet and VPC given)
 *   precreate   DescribeKeyPairs, DescribeSubnets (no subnet given)
 *   create      the same checks again, ImportKeyPair, DescribeSecurityGroups,
 *               [CreateSecurityGroup, DescribeSecurityGroups until visible],
 *               AuthorizeSecurityGroupIngress, RunInstances,
 *               DescribeInstances until an address, then until running,
 *               CreateTags
 *   remove      TerminateInstances, DeleteKeyPair (a key it imported), and,
 *               unlike Docker Machine, DeleteSecurityGroup for a group it
 *               created once the instance is gone (a group other machines
 *               still use is tagged, and the last of them deletes it).
 * Every id is saved (driver_checkpoint) the moment EC2 returns it; a
 * failed create deletes what it made, newest first. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "drivers/amazonec2.h"
#include "drivers/sshkey.h"
#include "drivers/wait.h"
#include "lib/fileutil.h"
#include "lib/strbuf.h"

/* The default image: Canonical's newest Ubuntu 24.04 LTS for amd64. */
#define UBUNTU_OWNER "099720109477"
#define UBUNTU_NAME "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"

static int call(struct ec2_client *c, const char *action, struct strlist *prm, xmlDoc **doc)
{
	xmlDoc *d = NULL;
	int rc = ec2_call(c, action, prm, &d);
	strlist_clear(prm);
	if (doc)
		*doc = d;
	else if (d)
		xmlFreeDoc(d);
	return rc;
}

static xmlNode *root(xmlDoc *d)
{
	return d ? xmlDocGetRootElement(d) : NULL;
}

static void region_zone(const struct ec2_priv *p, char *buf, size_t len)
{
	/* Docker Machine: with an endpoint, the zone alone. */
	if (*p->endpoint)
		snprintf(buf, len, "%s", p->zone);
	else
		snprintf(buf, len, "%s%s", p->region, p->zone);
}

static int find_ami(struct driver_ctx *ctx, struct ec2_client *c)
{
	struct ec2_priv *p = ctx->priv;
	struct strlist prm = STRLIST_INIT;
	ec2_param(&prm, "Owner.1", UBUNTU_OWNER);
	ec2_param(&prm, "Filter.1.Name", "name");
	ec2_param(&prm, "Filter.1.Value.1", UBUNTU_NAME);
	ec2_param(&prm, "Filter.2.Name", "state");
	ec2_param(&prm, "Filter.2.Value.1", "available");
	ec2_param(&prm, "Filter.3.Name", "architecture");
	ec2_param(&prm, "Filter.3.Value.1", "x86_64");
	xmlDoc *doc;
	int rc = call(c, "DescribeImages", &prm, &doc);
	if (rc)
		return rc;
	char best[128] = "", best_date[64] = "", best_name[256] = "";
	for (xmlNode *it = ec2_xml_find(root(doc), "imagesSet/item"); it; it = ec2_xml_next(it)) {
		char id[128], date[64], name[256];
		ec2_xml_text(it, "imageId", id, sizeof(id));
		ec2_xml_text(it, "creationDate", date, sizeof(date));
		ec2_xml_text(it, "name", name, sizeof(name));
		if (*id && strcmp(date, best_date) > 0) {
			snprintf(best, sizeof(best), "%s", id);
			snprintf(best_date, sizeof(best_date), "%s", date);
			snprintf(best_name, sizeof(best_name), "%s", name);
		}
	}
	xmlFreeDoc(doc);
	if (!*best)
		return error_set(ctx->err, ENOENT,
				 "no Ubuntu 24.04 LTS image in region '%s': give one in amazonec2-ami",
				 p->region);
	snprintf(p->ami, sizeof(p->ami), "%s", best);
	driver_log(ctx, "Image: %s (%s, %s)", best, best_name, best_date);
	return 0;
}

static int default_vpc(struct ec2_client *c, char *out, size_t len)
{
	struct strlist prm = STRLIST_INIT;
	xmlDoc *doc;
	int rc = call(c, "DescribeAccountAttributes", &prm, &doc);
	if (rc)
		return rc;
	rc = error_set(c->ctx->err, ENOENT, "no default-vpc attribute");
	for (xmlNode *it = ec2_xml_find(root(doc), "accountAttributeSet/item"); it;
	     it = ec2_xml_next(it)) {
		char name[64], value[64];
		ec2_xml_text(it, "attributeName", name, sizeof(name));
		if (strcmp(name, "default-vpc"))
			continue;
		ec2_xml_text(it, "attributeValueSet/item/attributeValue", value, sizeof(value));
		if (!*value || !strcmp(value, "none")) {
			rc = error_set(c->ctx->err, ENOENT, "default-vpc is 'none'");
		} else {
			snprintf(out, len, "%s", value);
			rc = 0;
		}
		break;
	}
	xmlFreeDoc(doc);
	return rc;
}

int ec2_configure_network(struct driver_ctx *ctx, struct ec2_client *c)
{
	struct ec2_priv *p = ctx->priv;
	int rc;
	if (!*p->ami && (rc = find_ami(ctx, c)))
		return rc;
	if (!*p->vpc_id && (rc = default_vpc(c, p->vpc_id, sizeof(p->vpc_id)))) {
		if (!*c->code && rc != -ENOENT)
			return rc; /* no answer at all (bad endpoint, cancelled) */
		if (ec2_code_is(c, "AuthFailure") || ec2_code_is(c, "SignatureDoesNotMatch") ||
		    ec2_code_is(c, "InvalidClientTokenId") || ec2_code_is(c, "UnauthorizedOperation"))
			return rc;
		driver_log(ctx, "Couldn't determine your account Default VPC ID : %s", ctx->err);
		ctx->err[0] = '\0';
	}
	if (!*p->subnet_id && !*p->vpc_id)
		return error_set(ctx->err, EINVAL,
				 "amazonec2 driver requires either the --amazonec2-subnet-id or --amazonec2-vpc-id option or an AWS Account with a default vpc-id");
	if (*p->subnet_id && *p->vpc_id) {
		struct strlist prm = STRLIST_INIT;
		ec2_param(&prm, "Filter.1.Name", "subnet-id");
		ec2_param(&prm, "Filter.1.Value.1", p->subnet_id);
		xmlDoc *doc;
		if ((rc = call(c, "DescribeSubnets", &prm, &doc)))
			return rc;
		char vpc[64];
		xmlNode *s = ec2_xml_find(root(doc), "subnetSet/item");
		ec2_xml_text(s, "vpcId", vpc, sizeof(vpc));
		xmlFreeDoc(doc);
		if (!s)
			return error_set(ctx->err, ENOENT,
					 "The desired subnet could not be located in this region. Is '--amazonec2-subnet-id' or AWS_SUBNET_ID configured correctly?");
		if (strcmp(vpc, p->vpc_id))
			return error_set(ctx->err, EINVAL, "SubnetId: %s does not belong to VpcId: %s",
					 p->subnet_id, p->vpc_id);
	}
	return 0;
}

/* Docker Machine's checkPrereqs. */
static int check_prereqs(struct driver_ctx *ctx, struct ec2_client *c)
{
	struct ec2_priv *p = ctx->priv;
	const char *key = *p->key_name && p->existing_key ? p->key_name : ctx->machine;
	bool should_exist = p->existing_key;
	struct strlist prm = STRLIST_INIT;
	ec2_param(&prm, "KeyName.1", key);
	xmlDoc *doc;
	int rc = call(c, "DescribeKeyPairs", &prm, &doc);
	if (rc && !ec2_code_is(c, "InvalidKeyPair.NotFound"))
		return rc;
	if (rc && should_exist)
		return error_set(ctx->err, ENOENT,
				 "There is no keypair with the name %s. Please verify the key name provided.",
				 key);
	bool found = !rc && ec2_xml_find(root(doc), "keySet/item");
	if (doc)
		xmlFreeDoc(doc);
	ctx->err[0] = '\0';
	if (found && !should_exist)
		return error_set(ctx->err, EEXIST,
				 "There is already a keypair with the name %s.  Please either remove that keypair or use a different machine name.",
				 ctx->machine);
	if (*p->subnet_id)
		return 0;
	char rz[128];
	region_zone(p, rz, sizeof(rz));
	ec2_param(&prm, "Filter.1.Name", "availability-zone");
	ec2_param(&prm, "Filter.1.Value.1", rz);
	ec2_param(&prm, "Filter.2.Name", "vpc-id");
	ec2_param(&prm, "Filter.2.Value.1", p->vpc_id);
	if ((rc = call(c, "DescribeSubnets", &prm, &doc)))
		return rc;
	xmlNode *first = ec2_xml_find(root(doc), "subnetSet/item");
	if (!first) {
		xmlFreeDoc(doc);
		return error_set(ctx->err, ENOENT,
				 "unable to find a subnet that is both in the zone %s and belonging to VPC ID %s",
				 rz, p->vpc_id);
	}
	ec2_xml_text(first, "subnetId", p->subnet_id, sizeof(p->subnet_id));
	for (xmlNode *s = first; s && ec2_xml_next(first); s = ec2_xml_next(s)) {
		char def[16];
		if (!strcmp(ec2_xml_text(s, "defaultForAz", def, sizeof(def)), "true")) {
			ec2_xml_text(s, "subnetId", p->subnet_id, sizeof(p->subnet_id));
			break;
		}
	}
	xmlFreeDoc(doc);
	return 0;
}

int ec2_precreate(struct driver_ctx *ctx)
{
	struct ec2_client c;
	struct aws_creds creds;
	int rc = ec2_open(ctx, &c, &creds);
	if (!rc)
		rc = check_prereqs(ctx, &c);
	aws_creds_clear(&creds);
	return rc;
}

static int checkpoint(struct driver_ctx *ctx)
{
	char e[ERR_MAX];
	memcpy(e, ctx->err, sizeof(e));
	int rc = driver_checkpoint(ctx);
	if (rc)
		return rc;
	memcpy(ctx->err, e, sizeof(e));
	return 0;
}

static char *base64(const void *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	if (!out)
		abort();
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

/* The machine key (made, or the user's copied), then ImportKeyPair
 * unless an existing EC2 key pair was named. */
static int create_key_pair(struct driver_ctx *ctx, struct ec2_client *c)
{
	struct ec2_priv *p = ctx->priv;
	const char *kp = ctx->base->ssh_key_path;
	char pubpath[PATH_MAX + 8];
	int rc;
	if (!*p->ssh_private_key_path) {
		driver_log(ctx, "Creating SSH key (ed25519)...");
		char comment[300];
		snprintf(comment, sizeof(comment), "docker-machine@%s", ctx->machine);
		if ((rc = sshkey_generate_ed25519(kp, comment, ctx->err)))
			return rc;
	} else {
		char src[PATH_MAX + 8];
		if ((rc = copy_file(p->ssh_private_key_path, kp, 0600, ctx->err)))
			return rc;
		snprintf(src, sizeof(src), "%s.pub", p->ssh_private_key_path);
		snprintf(pubpath, sizeof(pubpath), "%s.pub", kp);
		if ((rc = copy_file(src, pubpath, 0644, ctx->err)))
			return rc;
		if (p->existing_key) {
			driver_log(ctx, "Using existing EC2 key pair: %s", p->key_name);
			return 0;
		}
	}
	snprintf(pubpath, sizeof(pubpath), "%s.pub", kp);
	struct strbuf pub = STRBUF_INIT;
	if ((rc = read_file(pubpath, &pub, ctx->err)))
		return rc;
	char *b64 = base64(pub.buf, pub.len);
	strbuf_release(&pub);
	/* Saved before the call: rm deletes the key by name even when
	 * the daemon dies before the answer. */
	p->key_pending = true;
	if ((rc = checkpoint(ctx))) {
		free(b64);
		return rc;
	}
	struct strlist prm = STRLIST_INIT;
	ec2_param(&prm, "KeyName", ctx->machine);
	ec2_param(&prm, "PublicKeyMaterial", b64);
	free(b64);
	driver_log(ctx, "Importing key pair '%s'...", ctx->machine);
	if ((rc = call(c, "ImportKeyPair", &prm, NULL)))
		return rc;
	snprintf(p->key_name, sizeof(p->key_name), "%s", ctx->machine);
	return checkpoint(ctx);
}

static bool group_visible(struct ec2_client *c, const char *id)
{
	struct strlist prm = STRLIST_INIT;
	ec2_param(&prm, "GroupId.1", id);
	xmlDoc *doc;
	if (call(c, "DescribeSecurityGroups", &prm, &doc))
		return false;
	bool yes = ec2_xml_find(root(doc), "securityGroupInfo/item") != NULL;
	xmlFreeDoc(doc);
	return yes;
}

/* IpPermissions.N for the ports the group lacks (Docker Machine's
 * configureSecurityGroupPermissions). */
static int permissions(struct driver_ctx *ctx, xmlNode *group, struct strlist *prm)
{
	const struct ec2_priv *p = ctx->priv;
	struct strlist has = STRLIST_INIT, want = STRLIST_INIT;
	for (xmlNode *it = ec2_xml_find(group, "ipPermissions/item"); it; it = ec2_xml_next(it)) {
		char from[16], proto[16], key[40];
		ec2_xml_text(it, "fromPort", from, sizeof(from));
		ec2_xml_text(it, "ipProtocol", proto, sizeof(proto));
		if (*from) {
			snprintf(key, sizeof(key), "%s/%s", from, proto);
			strlist_add(&has, key);
		}
	}
	char key[48];
	snprintf(key, sizeof(key), "%d/tcp", ctx->base->ssh_port);
	strlist_add(&want, key);
	snprintf(key, sizeof(key), "%d/tcp", EC2_DOCKER_PORT);
	strlist_add(&want, key);
	if (ctx->base->swarm_master)
		strlist_add(&want, "3376/tcp");
	int rc = 0;
	for (int i = 0; i < p->n_ports && !rc; i++) {
		char port[32], proto[32] = "tcp";
		const char *o = p->open_ports[i];
		const char *slash = strchr(o, '/');
		snprintf(port, sizeof(port), "%.*s", (int)(slash ? (size_t)(slash - o) : strlen(o)), o);
		if (slash && slash[1])
			snprintf(proto, sizeof(proto), "%s", slash + 1);
		char *end;
		long n = strtol(port, &end, 10);
		if (!*port || *end || n < 0 || n > 65535) {
			rc = error_set(ctx->err, EINVAL, "invalid port number %.32s", port);
			break;
		}
		snprintf(key, sizeof(key), "%ld/%s", n, proto);
		strlist_add(&want, key);
	}
	int k = 0;
	for (size_t i = 0; i < want.n && !rc; i++) {
		if (strlist_has(&has, want.v[i]))
			continue;
		char *slash = strchr(want.v[i], '/');
		*slash = '\0';
		k++;
		ec2_paramf(prm, slash + 1, "IpPermissions.%d.IpProtocol", k);
		ec2_paramf(prm, want.v[i], "IpPermissions.%d.FromPort", k);
		ec2_paramf(prm, want.v[i], "IpPermissions.%d.ToPort", k);
		ec2_paramf(prm, "0.0.0.0/0", "IpPermissions.%d.IpRanges.1.CidrIp", k);
	}
	strlist_clear(&has);
	strlist_clear(&want);
	return rc;
}

static int group_by_name(struct ec2_client *c, const char *name, const char *vpc, char *id,
			 size_t len)
{
	struct strlist prm = STRLIST_INIT;
	ec2_param(&prm, "Filter.1.Name", "group-name");
	ec2_param(&prm, "Filter.1.Value.1", name);
	ec2_param(&prm, "Filter.2.Name", "vpc-id");
	ec2_param(&prm, "Filter.2.Value.1", vpc);
	xmlDoc *doc;
	int rc = call(c, "DescribeSecurityGroups", &prm, &doc);
	if (rc)
		return rc;
	ec2_xml_text(ec2_xml_find(root(doc), "securityGroupInfo/item"), "groupId", id, len);
	xmlFreeDoc(doc);
	return *id ? 0 : error_set(c->ctx->err, ENOENT, "security group '%s' not found", name);
}

static int configure_groups(struct driver_ctx *ctx, struct ec2_client *c)
{
	struct ec2_priv *p = ctx->priv;
	if (!p->n_sg_names)
		return 0;
	struct strlist prm = STRLIST_INIT;
	ec2_param(&prm, "Filter.1.Name", "group-name");
	for (int i = 0; i < p->n_sg_names; i++)
		ec2_paramf(&prm, p->sg_names[i], "Filter.1.Value.%d", i + 1);
	ec2_param(&prm, "Filter.2.Name", "vpc-id");
	ec2_param(&prm, "Filter.2.Value.1", p->vpc_id);
	xmlDoc *doc;
	int rc = call(c, "DescribeSecurityGroups", &prm, &doc);
	if (rc)
		return rc;
	p->n_sg_ids = 0;
	for (int i = 0; i < p->n_sg_names && !rc; i++) {
		xmlNode *group = NULL;
		for (xmlNode *it = ec2_xml_find(root(doc), "securityGroupInfo/item"); it;
		     it = ec2_xml_next(it)) {
			char name[256];
			if (!strcmp(ec2_xml_text(it, "groupName", name, sizeof(name)), p->sg_names[i]))
				group = it;
		}
		char id[64] = "";
		if (group) {
			ec2_xml_text(group, "groupId", id, sizeof(id));
			driver_log(ctx, "Found security group '%s' (%s)", p->sg_names[i], id);
		} else {
			ec2_param(&prm, "GroupName", p->sg_names[i]);
			ec2_param(&prm, "GroupDescription", "Docker Machine");
			ec2_param(&prm, "VpcId", p->vpc_id);
			xmlDoc *made;
			driver_log(ctx, "Creating security group '%s' in %s...", p->sg_names[i], p->vpc_id);
			rc = call(c, "CreateSecurityGroup", &prm, &made);
			if (rc && ec2_code_is(c, "InvalidGroup.Duplicate")) {
				/* Another create made it meanwhile: use it. */
				rc = group_by_name(c, p->sg_names[i], p->vpc_id, id, sizeof(id));
				if (rc)
					break;
				driver_log(ctx, "Security group '%s' appeared meanwhile (%s)", p->sg_names[i], id);
				goto use;
			}
			if (rc)
				break;
			ec2_xml_text(root(made), "groupId", id, sizeof(id));
			xmlFreeDoc(made);
			if (!*id) {
				rc = error_set(ctx->err, EBADMSG, "ec2 CreateSecurityGroup: no groupId in the answer");
				break;
			}
			snprintf(p->sg_created[p->n_sg_created++], sizeof(p->sg_created[0]), "%s", id);
			if ((rc = checkpoint(ctx)))
				break;
			struct driver_wait w;
			bool seen = false;
			for (driver_wait_start(&w, ctx, EC2_WAIT_S, 1000); !seen && driver_wait_next(&w);)
				seen = group_visible(c, id);
			if (!seen) {
				if (w.timed_out)
					rc = error_set(ctx->err, ETIMEDOUT, "security group '%s' did not appear", id);
				else
					rc = error_set(ctx->err, EINTR, "cancelled");
				break;
			}
		}
use:
		snprintf(p->sg_ids[p->n_sg_ids++], sizeof(p->sg_ids[0]), "%s", id);
		if (p->sg_readonly)
			continue;
		if ((rc = permissions(ctx, group, &prm)))
			break;
		if (prm.n) {
			ec2_param(&prm, "GroupId", id);
			rc = call(c, "AuthorizeSecurityGroupIngress", &prm, NULL);
			/* Rules another create added meanwhile. */
			if (rc && ec2_code_is(c, "InvalidPermission.Duplicate"))
				rc = 0;
		}
	}
	strlist_clear(&prm);
	xmlFreeDoc(doc);
	return rc;
}

static int user_data(struct driver_ctx *ctx, char **out)
{
	const struct ec2_priv *p = ctx->priv;
	*out = NULL;
	if (!*p->userdata_file) {
		*out = strdup("");
		return 0;
	}
	struct strbuf sb = STRBUF_INIT;
	char e[ERR_MAX];
	int rc = read_file(p->userdata_file, &sb, e);
	if (rc)
		return error_set(ctx->err, -rc, "unable to read --amazonec2-userdata file: %s", e);
	if (sb.len > 16384) {
		strbuf_release(&sb);
		return error_set(ctx->err, EFBIG, "the amazonec2-userdata file is over EC2's 16 KB");
	}
	*out = base64(sb.buf ? sb.buf : "", sb.len);
	strbuf_release(&sb);
	return 0;
}

static int run_instance(struct driver_ctx *ctx, struct ec2_client *c)
{
	struct ec2_priv *p = ctx->priv;
	char *ud;
	int rc = user_data(ctx, &ud);
	if (rc)
		return rc;
	char rz[128], n[16];
	region_zone(p, rz, sizeof(rz));
	struct strlist prm = STRLIST_INIT;
	ec2_param(&prm, "ImageId", p->ami);
	ec2_param(&prm, "MinCount", "1");
	ec2_param(&prm, "MaxCount", "1");
	ec2_param(&prm, "Placement.AvailabilityZone", rz);
	ec2_param(&prm, "KeyName", p->key_name);
	ec2_param(&prm, "InstanceType", p->instance_type);
	ec2_param(&prm, "NetworkInterface.1.DeviceIndex", "0");
	for (int i = 0; i < p->n_sg_ids; i++)
		ec2_paramf(&prm, p->sg_ids[i], "NetworkInterface.1.SecurityGroupId.%d", i + 1);
	ec2_param(&prm, "NetworkInterface.1.SubnetId", p->subnet_id);
	ec2_param(&prm, "NetworkInterface.1.AssociatePublicIpAddress", p->private_only ? "false" : "true");
	ec2_param(&prm, "Monitoring.Enabled", p->monitoring ? "true" : "false");
	ec2_param(&prm, "IamInstanceProfile.Name", p->iam_profile);
	ec2_param(&prm, "EbsOptimized", p->ebs_optimized ? "true" : "false");
	ec2_param(&prm, "BlockDeviceMapping.1.DeviceName", p->device_name);
	snprintf(n, sizeof(n), "%d", p->root_size);
	ec2_param(&prm, "BlockDeviceMapping.1.Ebs.VolumeSize", n);
	ec2_param(&prm, "BlockDeviceMapping.1.Ebs.VolumeType", p->volume_type);
	ec2_param(&prm, "BlockDeviceMapping.1.Ebs.DeleteOnTermination", "true");
	ec2_param(&prm, "UserData", ud);
	free(ud);
	/* Not sent by Docker Machine: makes a resend safe and lets rm find an
	 * instance whose RunInstances answer never arrived. */
	ec2_param(&prm, "ClientToken", p->id);
	p->launch_pending = true;
	if ((rc = checkpoint(ctx))) {
		strlist_clear(&prm);
		return rc;
	}
	driver_log(ctx, "Launching instance (%s, %s, %s)...", p->ami, p->instance_type, rz);
	xmlDoc *doc;
	if ((rc = call(c, "RunInstances", &prm, &doc)))
		return rc;
	ec2_xml_text(root(doc), "reservationId", p->reservation_id, sizeof(p->reservation_id));
	xmlNode *inst = ec2_xml_find(root(doc), "instancesSet/item");
	ec2_xml_text(inst, "instanceId", p->instance_id, sizeof(p->instance_id));
	ec2_xml_text(inst, "privateIpAddress", p->private_ip, sizeof(p->private_ip));
	xmlFreeDoc(doc);
	if (!*p->instance_id)
		return error_set(ctx->err, EBADMSG, "ec2 RunInstances: no instanceId in the answer");
	driver_log(ctx, "Instance %s launched", p->instance_id);
	return checkpoint(ctx);
}

/* Docker Machine's instanceIpAvailable loop. */
static int wait_ip(struct driver_ctx *ctx, struct ec2_client *c)
{
	struct ec2_priv *p = ctx->priv;
	driver_log(ctx, "Waiting for the instance's IP address...");
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, EC2_WAIT_S, 1000); driver_wait_next(&w);) {
		char pub[64] = "", priv[64] = "";
		int rc = ec2_describe_instance(c, p->instance_id, NULL, 0, pub, sizeof(pub), priv,
					       sizeof(priv));
		/* Eventual consistency: a new instance may not be known yet. */
		if (rc && rc != -ENOENT)
			return rc;
		const char *ip = rc ? "" : ec2_pick_ip(p, pub, priv);
		if (*ip) {
			snprintf(ctx->base->ip, sizeof(ctx->base->ip), "%s", ip);
			if (*priv)
				snprintf(p->private_ip, sizeof(p->private_ip), "%s", priv);
			driver_log(ctx, "IP address %s", ip);
			return checkpoint(ctx);
		}
	}
	if (w.timed_out)
		return error_set(ctx->err, ETIMEDOUT, "instance '%s' got no IP address within %d s",
				 p->instance_id, EC2_WAIT_S);
	return error_set(ctx->err, EINTR, "cancelled while waiting for the IP of '%s'", p->instance_id);
}

static int tag_instance(struct driver_ctx *ctx, struct ec2_client *c)
{
	const struct ec2_priv *p = ctx->priv;
	struct strlist prm = STRLIST_INIT, t = STRLIST_INIT;
	ec2_param(&prm, "ResourceId.1", p->instance_id);
	ec2_param(&prm, "Tag.1.Key", "Name");
	ec2_param(&prm, "Tag.1.Value", ctx->machine);
	/* "k1,v1,k2,v2"; an odd one out is dropped, as Docker Machine does. */
	char *tags = strdup(p->tags), *save = NULL;
	if (!tags)
		abort();
	for (char *s = strtok_r(tags, ",", &save); s; s = strtok_r(NULL, ",", &save))
		strlist_add(&t, s);
	free(tags);
	if (t.n % 2)
		driver_log(ctx, "Tags are not key value in pairs. %zu elements found", t.n);
	for (size_t i = 0; i + 1 < t.n; i += 2) {
		ec2_paramf(&prm, t.v[i], "Tag.%zu.Key", i / 2 + 2);
		ec2_paramf(&prm, t.v[i + 1], "Tag.%zu.Value", i / 2 + 2);
	}
	strlist_clear(&t);
	int rc = call(c, "CreateTags", &prm, NULL);
	if (rc) {
		char e[ERR_MAX];
		snprintf(e, sizeof(e), "%s", ctx->err);
		error_set(ctx->err, -rc, "Unable to tag instance %s: %s", p->instance_id, e);
	}
	return rc;
}

static int inner_create(struct driver_ctx *ctx, struct ec2_client *c)
{
	struct ec2_priv *p = ctx->priv;
	int rc;
	driver_say(ctx, "Launching instance...");
	if ((rc = create_key_pair(ctx, c))) {
		char e[ERR_MAX];
		snprintf(e, sizeof(e), "%s", ctx->err);
		return error_set(ctx->err, -rc, "unable to create key pair: %s", e);
	}
	if ((rc = configure_groups(ctx, c)) || (rc = run_instance(ctx, c)) ||
	    (rc = wait_ip(ctx, c)))
		return rc;
	driver_log(ctx, "Waiting for instance %s to be running...", p->instance_id);
	if ((rc = ec2_wait_state(c, p->instance_id, "running")))
		return rc;
	return tag_instance(ctx, c);
}

/* The instance RunInstances made with this ClientToken, if any (not
 * terminated). id: "" when none. */
static int by_client_token(struct ec2_client *c, const char *token, char *id, size_t len)
{
	struct strlist prm = STRLIST_INIT;
	ec2_param(&prm, "Filter.1.Name", "client-token");
	ec2_param(&prm, "Filter.1.Value.1", token);
	xmlDoc *doc;
	int rc = call(c, "DescribeInstances", &prm, &doc);
	if (rc)
		return rc;
	id[0] = '\0';
	for (xmlNode *r = ec2_xml_find(root(doc), "reservationSet/item"); r; r = ec2_xml_next(r)) {
		xmlNode *i = ec2_xml_find(r, "instancesSet/item");
		char st[32];
		if (strcmp(ec2_xml_text(i, "instanceState/name", st, sizeof(st)), "terminated"))
			ec2_xml_text(i, "instanceId", id, len);
	}
	xmlFreeDoc(doc);
	return 0;
}

/* A security group in use by other machines' instances when its maker is
 * removed is tagged so: the last machine using it deletes it. */
#define HANDOFF_TAG "machinefs:delete-when-unused"

static bool made_here(const struct ec2_priv *p, const char *id)
{
	for (int i = 0; i < p->n_sg_created; i++)
		if (!strcmp(p->sg_created[i], id))
			return true;
	return false;
}

/* The groups this machine uses, made by another one and handed on. */
static void handed_groups(struct ec2_client *c, const struct ec2_priv *p, struct strlist *out)
{
	struct strlist prm = STRLIST_INIT;
	int k = 0;
	for (int i = 0; i < p->n_sg_ids; i++)
		if (!made_here(p, p->sg_ids[i]))
			ec2_paramf(&prm, p->sg_ids[i], "GroupId.%d", ++k);
	if (!k)
		return;
	xmlDoc *doc;
	if (call(c, "DescribeSecurityGroups", &prm, &doc)) {
		c->ctx->err[0] = '\0'; /* gone, or unreadable: nothing handed on */
		return;
	}
	for (xmlNode *g = ec2_xml_find(root(doc), "securityGroupInfo/item"); g; g = ec2_xml_next(g)) {
		for (xmlNode *t = ec2_xml_find(g, "tagSet/item"); t; t = ec2_xml_next(t)) {
			char key[64], id[64];
			if (!strcmp(ec2_xml_text(t, "key", key, sizeof(key)), HANDOFF_TAG))
				strlist_add(out, ec2_xml_text(g, "groupId", id, sizeof(id)));
		}
	}
	xmlFreeDoc(doc);
}

/* DeleteSecurityGroup; a group still in use stays (tagged to be handed
 * on when this machine made it). 0 unless an error other than "in use". */
static int delete_group(struct driver_ctx *ctx, struct ec2_client *c, const char *id, bool mine)
{
	struct strlist prm = STRLIST_INIT;
	int rc = 0;
	driver_log(ctx, "Deleting security group %s...", id);
	for (int tries = 0; tries < 3; tries++) {
		ec2_param(&prm, "GroupId", id);
		rc = call(c, "DeleteSecurityGroup", &prm, NULL);
		if (!rc || !ec2_code_is(c, "DependencyViolation") || !driver_nap(ctx, 1000))
			break;
	}
	if (rc && ec2_code_is(c, "InvalidGroup.NotFound"))
		return 0;
	if (!rc || !ec2_code_is(c, "DependencyViolation"))
		return rc;
	ctx->err[0] = '\0';
	if (!mine) {
		driver_log(ctx, "Security group %s is still used by other instances: kept for the last of them", id);
		return 0;
	}
	driver_log(ctx, "Security group %s is used by other instances: the last of them removed deletes it", id);
	ec2_param(&prm, "ResourceId.1", id);
	ec2_param(&prm, "Tag.1.Key", HANDOFF_TAG);
	ec2_param(&prm, "Tag.1.Value", "true");
	return call(c, "CreateTags", &prm, NULL);
}

/* Delete what the record names, newest first; what could not be deleted
 * is appended to why. 0 when everything is gone. */
static int delete_all(struct driver_ctx *ctx, struct ec2_client *c, struct strbuf *why)
{
	struct ec2_priv *p = ctx->priv;
	int bad = 0;
	char e[ERR_MAX];
	struct strlist prm = STRLIST_INIT, handed = STRLIST_INIT;
	handed_groups(c, p, &handed);
	if (!*p->instance_id && p->launch_pending && *p->id) {
		int rc = by_client_token(c, p->id, p->instance_id, sizeof(p->instance_id));
		if (rc) {
			snprintf(e, sizeof(e), "%s", ctx->err);
			strbuf_addf(why, "the instance launched with client token %s (%s)", p->id, e);
			strlist_clear(&handed);
			return -EIO;
		}
		if (*p->instance_id)
			driver_log(ctx, "Found instance %s by its client token", p->instance_id);
	}
	if (*p->instance_id) {
		driver_log(ctx, "Terminating instance %s...", p->instance_id);
		ec2_param(&prm, "InstanceId.1", p->instance_id);
		int rc = call(c, "TerminateInstances", &prm, NULL);
		if (rc && (ec2_code_is(c, "InvalidInstanceID.NotFound") ||
			   ec2_code_is(c, "InvalidInstanceID.Malformed"))) {
			driver_log(ctx, "Remote instance does not exist, proceeding with removing local reference");
			rc = 0;
		} else if (!rc && (p->n_sg_created || handed.n)) {
			/* A group can only go once no instance uses it. */
			rc = ec2_wait_state(c, p->instance_id, "terminated");
		}
		if (rc) {
			snprintf(e, sizeof(e), "%s", ctx->err);
			strbuf_addf(why, "instance %s (%s)", p->instance_id, e);
			/* The key and groups stay with it: rm again. */
			if (!p->existing_key && (*p->key_name || p->key_pending))
				strbuf_addf(why, ", key pair %s", *p->key_name ? p->key_name : ctx->machine);
			for (int i = 0; i < p->n_sg_created; i++)
				strbuf_addf(why, ", security group %s", p->sg_created[i]);
			strlist_clear(&prm);
			strlist_clear(&handed);
			return -EIO;
		}
		p->instance_id[0] = '\0';
		p->launch_pending = false;
		checkpoint(ctx);
	} else if (p->launch_pending) {
		p->launch_pending = false; /* EC2 has none with our token */
		checkpoint(ctx);
	}
	if (!p->existing_key && (*p->key_name || p->key_pending)) {
		const char *name = *p->key_name ? p->key_name : ctx->machine;
		driver_log(ctx, "Deleting key pair '%s'...", name);
		ec2_param(&prm, "KeyName", name);
		int rc = call(c, "DeleteKeyPair", &prm, NULL);
		if (rc && ec2_code_is(c, "InvalidKeyPair.NotFound"))
			rc = 0;
		if (rc) {
			snprintf(e, sizeof(e), "%s", ctx->err);
			strbuf_addf(why, "%skey pair %s (%s)", bad++ ? ", " : "", name, e);
		} else {
			p->key_name[0] = '\0';
			p->key_pending = false;
			checkpoint(ctx);
		}
	}
	for (int i = p->n_sg_created - 1; i >= 0; i--) {
		const char *id = p->sg_created[i];
		if (delete_group(ctx, c, id, true)) {
			snprintf(e, sizeof(e), "%s", ctx->err);
			strbuf_addf(why, "%ssecurity group %s (%s)", bad++ ? ", " : "", id, e);
			continue;
		}
		memmove(&p->sg_created[i], &p->sg_created[i + 1],
			(size_t)(p->n_sg_created - i - 1) * sizeof(p->sg_created[0]));
		p->n_sg_created--;
		checkpoint(ctx);
	}
	for (size_t i = 0; i < handed.n; i++)
		if (delete_group(ctx, c, handed.v[i], false))
			driver_log(ctx, "Security group %s kept: %s", handed.v[i], ctx->err);
	strlist_clear(&handed);
	strlist_clear(&prm);
	return bad ? -EIO : 0;
}

int ec2_create(struct driver_ctx *ctx)
{
	struct ec2_client c;
	struct aws_creds creds;
	int rc = ec2_open(ctx, &c, &creds);
	if (!rc)
		rc = check_prereqs(ctx, &c);
	if (!rc && (rc = inner_create(ctx, &c))) {
		/* Clean up what was made, keep the first error. */
		char first[ERR_MAX];
		snprintf(first, sizeof(first), "%s", ctx->err);
		struct strbuf why = STRBUF_INIT;
		volatile int *cancel = ctx->cancel;
		ctx->cancel = NULL; /* a cancelled create still cleans up */
		driver_log(ctx, "Create failed: %s; deleting what was made...", first);
		delete_all(ctx, &c, &why);
		ctx->cancel = cancel;
		if (why.len)
			error_set(ctx->err, -rc, "%s; left behind: %s", first, why.buf);
		else
			error_set(ctx->err, -rc, "%s", first);
		strbuf_release(&why);
	}
	aws_creds_clear(&creds);
	return rc;
}

int ec2_remove(struct driver_ctx *ctx)
{
	const struct ec2_priv *p = ctx->priv;
	if (!*p->instance_id && !*p->key_name && !p->key_pending && !p->n_sg_created &&
	    !p->launch_pending)
		return 0; /* nothing was made */
	struct ec2_client c;
	struct aws_creds creds;
	int rc = ec2_open(ctx, &c, &creds);
	struct strbuf why = STRBUF_INIT;
	if (!rc && delete_all(ctx, &c, &why))
		rc = error_set(ctx->err, EIO, "could not delete: %s", why.buf);
	strbuf_release(&why);
	aws_creds_clear(&creds);
	return rc;
}
