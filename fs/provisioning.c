/* Glue from a machine's record to provision/: the SSH target, the
 * engine options and the TLS file paths. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/config.h"
#include "fs/core.h"
#include "fs/progress.h"
#include "fs/provisioning.h"
#include "lib/json.h"
#include "lib/url.h"
#include "provision/certs.h"
#include "provision/provision.h"

static void log_line(void *arg, const char *line)
{
	machine_log(arg, "%s", line);
}

/* One provisioning run: what its steps need to say. */
struct prov_run {
	struct machine *m;
	enum provision_kind kind;
	char provisioner[64]; /* Docker Machine's name, once detected */
};

/* Docker Machine's progress line for a provisioning step, by command
 * (libmachine's DetectProvisioner, performCreate, Provision, ConfigureAuth
 * and Host.Upgrade); "" where it prints none. */
static const char *dm_line(const struct prov_run *p, const char *step, char *buf, size_t len)
{
	bool upgrade = p->kind == PROVISION_UPGRADE;
	if (!strcmp(step, "connect"))
		return "Waiting for SSH to be available...";
	if (!strcmp(step, "detect-os"))
		return "Detecting the provisioner...";
	if (!strcmp(step, "hostname") && p->kind == PROVISION_CREATE && *p->provisioner) {
		snprintf(buf, len, "Provisioning with %s...", p->provisioner);
		return buf;
	}
	if (!strcmp(step, "install") && !strncmp(p->provisioner, "ubuntu", 6))
		return "Installing Docker...";
	if (!strcmp(step, "upgrade"))
		return "Upgrading docker...";
	if (!strcmp(step, "server-cert") && !upgrade)
		return "Copying certs to the local machine directory...";
	if (!strcmp(step, "copy-certs") && !upgrade)
		return "Copying certs to the remote machine...";
	if (!strcmp(step, "engine-config") && !upgrade)
		return "Setting Docker configuration on the remote daemon...";
	if (!strcmp(step, "engine-restart") && upgrade)
		return "Restarting docker...";
	return "";
}

/* Each provisioning step is a step of the machine's progress,
 * "provision.STEP", and passes the fault-injection hook under that name
 * (fs/core.h). */
static int step_hook(void *arg, const char *step, char *err)
{
	struct prov_run *p = arg;
	char what[64], line[128];
	snprintf(what, sizeof(what), "provision.%s", step);
	progress_step(p->m, what, "%s", dm_line(p, step, line, sizeof(line)));
	return machine_fault(p->m, what, err);
}

static void fact_hook(void *arg, const char *fact, const char *value)
{
	struct prov_run *p = arg;
	if (!strcmp(fact, "provisioner"))
		snprintf(p->provisioner, sizeof(p->provisioner), "%s", value);
}

/* The engine port from the driver's URL: tcp://host:PORT. */
static int url_port(const char *url)
{
	char host[256];
	int port = 0;
	url_split(url, host, sizeof(host), &port, NULL, 0);
	return port > 0 ? port : 2376;
}

int machine_provision(struct machine *m, enum provision_kind kind, char *err)
{
	char ip[256], ssh_host[256], user[64], key[4096], url[1024] = "", known[PATH_MAX + 16];
	char server_cert[PATH_MAX + 16], server_key[PATH_MAX + 16];
	char ca[PATH_MAX + 16], ca_key[PATH_MAX + 16], cert[PATH_MAX + 16], ckey[PATH_MAX + 16];
	char org[512];
	struct engine_options eo;
	struct strlist sans = STRLIST_INIT;
	int port, listen_port = 0;

	pthread_mutex_lock(&m->lock);
	machine_thaw_locked(m); /* a command runs: kept until it ends */
	snprintf(ip, sizeof(ip), "%s", m->base->ip);
	snprintf(ssh_host, sizeof(ssh_host), "%s", m->base->ip);
	snprintf(user, sizeof(user), "%s", *m->base->ssh_user ? m->base->ssh_user : "root");
	snprintf(key, sizeof(key), "%s", m->base->ssh_key_path);
	port = m->base->ssh_port ? m->base->ssh_port : 22;
	struct driver_ctx ctx;
	machine_driver_ctx(m, &ctx);
	machine_drv_url(m, &ctx, url, sizeof(url));
	listen_port = machine_drv_engine_listen_port(m, &ctx);
	machine_drv_ssh_host(m, &ctx, ssh_host, sizeof(ssh_host));
	machine_config_locked(m); /* a command runs: kept until it ends */
	int eo_rc = host_options_engine(m->config, &eo, err);
	const cJSON *ao = json_obj(json_obj(m->config, "HostOptions"), "AuthOptions");
	json_list(ao, "ServerCertSANs", &sans);
	const char *root = m->root;
	snprintf(ca, sizeof(ca), "%s", json_str(ao, "CaCertPath", ""));
	snprintf(ca_key, sizeof(ca_key), "%s", json_str(ao, "CaPrivateKeyPath", ""));
	snprintf(cert, sizeof(cert), "%s", json_str(ao, "ClientCertPath", ""));
	snprintf(ckey, sizeof(ckey), "%s", json_str(ao, "ClientKeyPath", ""));
	if (!*ca)
		snprintf(ca, sizeof(ca), "%s/certs/ca.pem", root);
	if (!*ca_key)
		snprintf(ca_key, sizeof(ca_key), "%s/certs/ca-key.pem", root);
	if (!*cert)
		snprintf(cert, sizeof(cert), "%s/certs/cert.pem", root);
	if (!*ckey)
		snprintf(ckey, sizeof(ckey), "%s/certs/key.pem", root);
	pthread_mutex_unlock(&m->lock);
	if (eo_rc) {
		engine_options_clear(&eo);
		strlist_clear(&sans);
		return eo_rc;
	}

	snprintf(known, sizeof(known), "%s/known_hosts", m->dir);
	snprintf(server_cert, sizeof(server_cert), "%s/server.pem", m->dir);
	snprintf(server_key, sizeof(server_key), "%s/server-key.pem", m->dir);
	snprintf(org, sizeof(org), "%s.%s", certs_user_org(), m->name);

	struct prov_run run = { .m = m, .kind = kind };
	struct provision_request r = {
		.machine = m->name,
		.driver_name = m->driver->name,
		.ip = ip,
		.engine_port = listen_port > 0 ? listen_port : url_port(url),
		.engine_check_port = url_port(url),
		.ssh = {
			.host = ssh_host, .port = port, .user = user,
			.key_path = key, .known_hosts = known,
			.cancel = &m->cancel, .log_fn = log_line, .log_arg = m,
		},
		.engine = &eo,
		.tls_sans = &sans,
		.ca_cert = ca, .ca_key = ca_key,
		.client_cert = cert, .client_key = ckey,
		.server_cert = server_cert, .server_key = server_key,
		.org = org,
		.cancel = &m->cancel,
		.log_fn = log_line, .log_arg = m,
		.step_fn = step_hook, .step_arg = &run, .fact_fn = fact_hook,
	};
	int rc;
	switch (kind) {
	case PROVISION_CERTS:
		machine_log(m, "Regenerating TLS certificates");
		rc = provision_regenerate_certs(&r, err);
		break;
	case PROVISION_UPGRADE:
		machine_log(m, "Upgrading docker...");
		rc = provision_upgrade(&r, err);
		break;
	default:
		machine_log(m, "Provisioning...");
		rc = provision_run(&r, err);
		break;
	}
	/* The engine is probed when the command ends (fs/ops.c run_cmd). */
	engine_options_clear(&eo);
	strlist_clear(&sans);
	return rc;
}
