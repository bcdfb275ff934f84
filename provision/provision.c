/* provision_run, provision_regenerate_certs, provision_upgrade
 * (reference §4, with its holes filled: no systemd needed, dockerd found
 * where it is, readiness checked over TLS with the client certificate). */
#include "provision/provision.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "lib/fileutil.h"
#include "provision/certs.h"
#include "provision/engine_service.h"
#include "provision/osrelease.h"
#include "provision/provisioners.h"

#define DEFAULT_INSTALL_URL "https://get.docker.com"
#define INSTALL_TIMEOUT_MS (15 * 60 * 1000)

/* Before each step: the caller's hook (fault injection in tests). */
static int step(const struct provision_request *r, const char *name, char *err)
{
	return r->step_fn ? r->step_fn(r->step_arg, name, err) : 0;
}

static int detect_os(struct remote *rm, const struct provisioner **pv,
		     char *err)
{
	struct strbuf out = STRBUF_INIT;
	struct os_release os;
	int ret = step(rm->r, "detect-os", err);

	if (ret)
		return ret;
	plog(rm->r, "Detecting the provisioner...");
	ret = remote_run(rm, "read /etc/os-release", "cat /etc/os-release",
			 &out, 0, err);
	if (!ret)
		ret = os_release_parse(out.buf, &os, err);
	if (!ret && !(*pv = provisioner_find(&os, err)))
		ret = -ENOTSUP;
	if (!ret) {
		plog(rm->r, "Provisioning with %s (%s)...", (*pv)->name,
		     os.pretty_name[0] ? os.pretty_name : os.id);
		if (rm->r->fact_fn)
			rm->r->fact_fn(rm->r->step_arg, "provisioner", (*pv)->name);
	}
	strbuf_release(&out);
	return ret;
}

static int set_hostname(struct remote *rm, const struct provisioner *pv,
			char *err)
{
	struct strbuf s = STRBUF_INIT, line = STRBUF_INIT;
	const char *name = rm->r->machine;
	int ret = step(rm->r, "hostname", err);

	if (ret)
		return ret;
	plog(rm->r, "Setting hostname '%s'...", name);
	strbuf_addf(&line, "127.0.1.1 %s", name);
	/* /etc/hosts is rewritten in place (cat >), not renamed: it may be
	 * a bind mount. */
	if (pv->boot2docker) {
		/* boot2docker keeps the name on its disk (Docker Machine runs
		 * the same command). */
		strbuf_addstr(&s, "if [ -x /usr/bin/sethostname ]; then exec /usr/bin/sethostname ");
		sh_quote(&s, name);
		strbuf_addstr(&s, "; fi; ");
	}
	strbuf_addstr(&s, "hostname ");
	sh_quote(&s, name);
	strbuf_addstr(&s, " && echo ");
	sh_quote(&s, name);
	strbuf_addstr(&s, " > /etc/hostname && "
		      "{ grep -v '^127\\.0\\.1\\.1[[:space:]]' /etc/hosts; echo ");
	sh_quote(&s, line.buf);
	strbuf_addstr(&s, "; } > /etc/hosts.machinefs-tmp && "
		      "cat /etc/hosts.machinefs-tmp > /etc/hosts && "
		      "rm -f /etc/hosts.machinefs-tmp");
	ret = remote_run(rm, "set the hostname", s.buf, NULL, 0, err);
	strbuf_release(&s);
	strbuf_release(&line);
	return ret;
}

/* Run the install script at url (curl installed first when missing). */
static int run_install_url(struct remote *rm, const struct provisioner *pv,
			   const char *url, char *err)
{
	struct strbuf s = STRBUF_INIT;
	int ret;

	strbuf_addstr(&s, "if ! command -v curl >/dev/null 2>&1; then ");
	provisioner_install_cmd(pv, "curl", &s);
	strbuf_addstr(&s, " >/dev/null || exit 1; fi; "
		      "curl -fsSL -o /tmp/machinefs-install-docker.sh ");
	sh_quote(&s, url);
	strbuf_addstr(&s, " && sh /tmp/machinefs-install-docker.sh; "
		      "rc=$?; rm -f /tmp/machinefs-install-docker.sh; exit $rc");
	ret = remote_run(rm, "install docker", s.buf, NULL, INSTALL_TIMEOUT_MS, err);
	strbuf_release(&s);
	return ret;
}

static const char *install_url(const struct provision_request *r)
{
	const char *url = r->engine ? r->engine->install_url : "";
	return url[0] ? url : DEFAULT_INSTALL_URL;
}

static int install_docker(struct remote *rm, const struct provisioner *pv,
			  struct host_facts *f, char *err)
{
	const struct provision_request *r = rm->r;
	const char *url = install_url(r);
	int ret = step(r, "install", err);

	if (ret)
		return ret;
	if (f->dockerd[0]) {
		plog(r, "Docker is installed: %s", f->dockerd);
		return 0;
	}
	if (!strcmp(url, "none"))
		return error_set(err, ENOENT,
				 "docker is not installed on '%s' and engine-install-url is 'none'",
				 r->ssh.host);
	plog(r, "Installing Docker from '%s'...", url);
	if ((ret = run_install_url(rm, pv, url, err)))
		return ret;
	if ((ret = host_detect(rm, f, err)))
		return ret;
	if (!f->dockerd[0])
		return error_set(err, ENOENT,
				 "cannot install docker on '%s': '%s' ran but there is no dockerd",
				 r->ssh.host, url);
	plog(r, "Docker is installed: %s", f->dockerd);
	return 0;
}

static int make_server_cert(const struct provision_request *r, char *err)
{
	const char *sans[64];
	size_t n = 0;
	char org[256];
	int ret = step(r, "server-cert", err);

	if (ret)
		return ret;
	sans[n++] = r->ip;
	sans[n++] = "localhost";
	for (size_t i = 0; r->tls_sans && i < r->tls_sans->n && n < 64; i++) {
		int dup = 0;
		for (size_t j = 0; j < n; j++)
			dup |= !strcmp(sans[j], r->tls_sans->v[i]);
		if (!dup)
			sans[n++] = r->tls_sans->v[i];
	}
	/* r->org is the whole subject organisation ("$USER.<machine>"). */
	if (r->org && r->org[0])
		snprintf(org, sizeof(org), "%s", r->org);
	else
		snprintf(org, sizeof(org), "%s.%s", certs_user_org(), r->machine);
	plog(r, "Generating server certificate for '%s'...", r->ip);
	return certs_make_server(r->ca_cert, r->ca_key, org, sans, n,
				 r->server_cert, r->server_key, err);
}

static int upload(struct remote *rm, const char *local, const char *remote,
		  mode_t mode, char *err)
{
	struct strbuf data = STRBUF_INIT;
	int ret = read_file(local, &data, err);

	if (!ret)
		ret = remote_write(rm, remote, data.buf, data.len, mode, err);
	strbuf_release(&data);
	return ret;
}

/* Server cert, uploaded certs, config for the init system, restart,
 * wait for TLS: the part every operation ends with. */
static int configure_engine(struct remote *rm, struct host_facts *f,
			    char *err)
{
	const struct provision_request *r = rm->r;
	struct strlist extra_env = STRLIST_INIT;
	int ret;

	if ((ret = make_server_cert(r, err)))
		return ret;
	if ((ret = step(r, "copy-certs", err)))
		return ret;
	plog(r, "Copying certs to the remote machine...");
	const char *dir = engine_cert_dir(f);
	char remote[3][256];
	snprintf(remote[0], sizeof(remote[0]), "%s/ca.pem", dir);
	snprintf(remote[1], sizeof(remote[1]), "%s/server.pem", dir);
	snprintf(remote[2], sizeof(remote[2]), "%s/server-key.pem", dir);
	if ((ret = upload(rm, r->ca_cert, remote[0], 0644, err)) ||
	    (ret = upload(rm, r->server_cert, remote[1], 0644, err)) ||
	    (ret = upload(rm, r->server_key, remote[2], 0600, err)))
		return ret;
	/* runc cannot pivot_root out of an initramfs (guest-image.md). */
	if (!strcmp(f->rootfs, "ramfs") || !strcmp(f->rootfs, "tmpfs") ||
	    !strcmp(f->rootfs, "rootfs"))
		strlist_add(&extra_env, "DOCKER_RAMDISK=true");
	struct engine_config c = {
		.dockerd = f->dockerd,
		.port = r->engine_port > 0 ? r->engine_port : 2376,
		.driver_name = r->driver_name,
		.storage_driver = engine_storage_driver(r->engine, f),
		.eo = r->engine,
		.extra_env = &extra_env,
	};
	if (!c.storage_driver[0])
		plog(r, "/var/lib is on %s: leaving the storage driver to dockerd",
		     f->varlibfs);
	if ((ret = step(r, "engine-config", err)))
		goto out;
	plog(r, "Setting Docker configuration on the remote daemon (%s)...",
	     init_system_name(f->init));
	if ((ret = engine_write_config(rm, f, &c, err)))
		goto out;
	if ((ret = step(r, "engine-restart", err)))
		goto out;
	plog(r, "Restarting the Docker engine...");
	ret = engine_restart(rm, f, err);
	if (ret == -EIO && (f->init == INIT_SYSVINIT || f->init == INIT_OPENRC)) {
		/* Init scripts fail in containers and namespaces (Debian's
		 * raises ulimits under set -e): run dockerd ourselves. */
		plog(r, "The docker init script failed (%s): supervising dockerd without it",
		     err);
		f->init = INIT_NONE;
		err[0] = '\0';
		plog(r, "Setting Docker configuration on the remote daemon (%s)...",
		     init_system_name(f->init));
		if ((ret = engine_write_config(rm, f, &c, err)))
			goto out;
		ret = engine_restart(rm, f, err);
	}
	if (!ret)
		ret = step(r, "engine-wait", err);
	if (!ret)
		ret = engine_wait_tls(rm, f, err);
out:
	strlist_clear(&extra_env);
	return ret;
}

static int check_request(const struct provision_request *r, char *err)
{
	if (!r->machine || !r->machine[0] || !r->ip || !r->ip[0])
		return error_set(err, EINVAL, "cannot provision: no machine name or ip");
	if (!r->ca_cert || !r->ca_key || !r->client_cert || !r->client_key ||
	    !r->server_cert || !r->server_key)
		return error_set(err, EINVAL,
				 "cannot provision '%s': tls file paths missing",
				 r->machine);
	return 0;
}

static int open_and_inspect(struct remote *rm, const struct provision_request *r,
			    struct host_facts *f, char *err)
{
	int ret = check_request(r, err);

	if (ret)
		return ret;
	if ((ret = step(r, "connect", err)))
		return ret;
	plog(r, "Connecting to '%s@%s:%d'...", r->ssh.user ? r->ssh.user : "root",
	     r->ssh.host, r->ssh.port ? r->ssh.port : 22);
	if ((ret = remote_open(rm, r, err)))
		return ret;
	if ((ret = step(r, "inspect", err)) || (ret = host_detect(rm, f, err)))
		remote_close(rm);
	return ret;
}

int provision_run(const struct provision_request *r, char *err)
{
	struct remote rm;
	struct host_facts f;
	const struct provisioner *pv = NULL;
	int ret = open_and_inspect(&rm, r, &f, err);

	if (ret)
		return ret;
	if (!(ret = detect_os(&rm, &pv, err)) && !(ret = set_hostname(&rm, pv, err)) &&
	    !(ret = install_docker(&rm, pv, &f, err))) {
		if (pv->boot2docker)
			f.init = INIT_BOOT2DOCKER;
		plog(r, "Init system: %s", init_system_name(f.init));
		ret = configure_engine(&rm, &f, err);
	}
	remote_close(&rm);
	return ret;
}

int provision_regenerate_certs(const struct provision_request *r, char *err)
{
	struct remote rm;
	struct host_facts f;
	const struct provisioner *pv = NULL;
	int ret = open_and_inspect(&rm, r, &f, err);

	if (ret)
		return ret;
	/* The provisioner decides where the certs and the config go. */
	ret = detect_os(&rm, &pv, err);
	if (!ret && !f.dockerd[0])
		ret = error_set(err, ENOENT,
				"cannot regenerate certs on '%s': docker is not installed (run provision)",
				r->ssh.host);
	if (!ret) {
		if (pv->boot2docker)
			f.init = INIT_BOOT2DOCKER;
		ret = configure_engine(&rm, &f, err);
	}
	remote_close(&rm);
	return ret;
}

static int engine_version(struct remote *rm, char *buf, size_t len)
{
	struct strbuf out = STRBUF_INIT;
	char e[ERR_MAX];
	int status = 0;

	buf[0] = '\0';
	if (!remote_exec(rm, "dockerd --version", &out, &status, 30000, e) &&
	    status == 0) {
		strbuf_rtrim(&out);
		snprintf(buf, len, "%s", strbuf_str(&out));
	}
	strbuf_release(&out);
	return buf[0] ? 0 : -ENOENT;
}

int provision_upgrade(const struct provision_request *r, char *err)
{
	struct remote rm;
	struct host_facts f;
	const struct provisioner *pv = NULL;
	char before[128], after[128];
	const char *url = install_url(r);
	int ret = open_and_inspect(&rm, r, &f, err);

	if (ret)
		return ret;
	if ((ret = detect_os(&rm, &pv, err)))
		goto out;
	if (pv->boot2docker) {
		ret = error_set(err, ENOTSUP,
				"cannot upgrade docker on '%s' over ssh: a boot2docker host gets a newer engine with a new image from its driver",
				r->ssh.host);
		goto out;
	}
	if ((ret = step(r, "upgrade", err)))
		goto out;
	engine_version(&rm, before, sizeof(before));
	plog(r, "Upgrading Docker (%s)...", before[0] ? before : "not installed");
	if (strcmp(url, DEFAULT_INSTALL_URL) && strcmp(url, "none")) {
		/* The user's own installer: it knows how to upgrade. */
		plog(r, "Running '%s'...", url);
		ret = run_install_url(&rm, pv, url, err);
	} else {
		struct strbuf s = STRBUF_INIT;
		int status = 0;

		provisioner_upgrade_cmd(pv, "docker-ce docker-ce-cli containerd.io docker.io docker",
					&s);
		plog(r, "Upgrading the docker packages with the package manager...");
		ret = remote_exec(&rm, s.buf, NULL, &status, INSTALL_TIMEOUT_MS, err);
		if (!ret && status == 3 && strcmp(url, "none")) {
			plog(r, "No docker package installed: running '%s'...", url);
			ret = run_install_url(&rm, pv, url, err);
		} else if (!ret && status == 3) {
			ret = error_set(err, ENOENT,
					"cannot upgrade docker on '%s': no docker package is installed and engine-install-url is 'none'",
					r->ssh.host);
		} else if (!ret && status != 0) {
			ret = error_set(err, EIO,
					"cannot upgrade docker on '%s': the package manager exited with status %d",
					r->ssh.host, status);
		}
		strbuf_release(&s);
	}
	if (!ret)
		ret = host_detect(&rm, &f, err);
	if (!ret && !f.dockerd[0])
		ret = error_set(err, ENOENT,
				"cannot upgrade docker on '%s': dockerd is gone", r->ssh.host);
	if (ret)
		goto out;
	engine_version(&rm, after, sizeof(after));
	plog(r, "Docker: %s -> %s", before[0] ? before : "none", after);
	ret = configure_engine(&rm, &f, err);
out:
	remote_close(&rm);
	return ret;
}
