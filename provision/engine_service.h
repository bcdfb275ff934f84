/* The Docker engine as a service on the host: what the host has (init
 * system, dockerd's path, file system types), writing the engine's
 * configuration for that init system, restarting the engine and waiting
 * until it answers over TLS. Internal to provision/. */
#ifndef MFS_ENGINE_SERVICE_H
#define MFS_ENGINE_SERVICE_H

#include "provision/engine_config.h"
#include "provision/remote.h"

/* INIT_BOOT2DOCKER is set by provisioning for a boot2docker provisioner
 * (its /etc/init.d/docker reads ENGINE_B2D_PROFILE); host_detect never
 * returns it. */
enum init_system { INIT_SYSTEMD, INIT_SYSVINIT, INIT_OPENRC, INIT_NONE, INIT_BOOT2DOCKER };

/* Filled by host_detect; plain arrays, nothing to free. */
struct host_facts {
	enum init_system init;
	char dockerd[256];   /* "" when dockerd is not installed */
	char rootfs[32];     /* stat -f -c %T / */
	char varlibfs[32];   /* the same for /var/lib/docker (or /var/lib) */
};

const char *init_system_name(enum init_system init);

/* One command: systemd running (/run/systemd/system) > openrc with
 * /etc/init.d/docker > sysvinit (/etc/init.d/docker) > none. */
int host_detect(struct remote *rm, struct host_facts *f, char *err);

/* The storage driver to pass: the user's, else overlay2, except on a
 * /var/lib that is itself overlayfs (overlay2 cannot stack on it): then
 * "" and dockerd picks one. */
const char *engine_storage_driver(const struct engine_options *eo,
				  const struct host_facts *f);

/* Where the engine's TLS files go: ENGINE_CERT_DIR, or ENGINE_B2D_DIR. */
const char *engine_cert_dir(const struct host_facts *f);

/* Write the configuration file of the host's init system (systemd
 * drop-in, /etc/default/docker, /etc/conf.d/docker, the boot2docker
 * profile or the supervisor script). */
int engine_write_config(struct remote *rm, const struct host_facts *f,
			const struct engine_config *c, char *err);

/* Stop the engine (its init's way, then any dockerd left in
 * /var/run/docker.pid and our supervisor), then start it again, enabled
 * at boot (systemctl enable, update-rc.d, rc-update; without an init
 * system a line in /etc/rc.local starts the supervisor). */
int engine_restart(struct remote *rm, const struct host_facts *f, char *err);

/* Poll engine_check_tls every 500 ms for up to 120 s (honours cancel);
 * fails early (-EIO) when no dockerd process is seen at 3 probes 3 s
 * apart (it keeps dying: a bad engine-opt).
 * On timeout the engine log's last line is in the message. */
int engine_wait_tls(struct remote *rm, const struct host_facts *f, char *err);

#endif
