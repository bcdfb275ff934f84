/* The Docker engine's configuration, rendered as text: the dockerd
 * arguments and the file each init system reads them from (reference §4).
 * Pure functions: no I/O; the caller owns every strbuf/strlist. */
#ifndef MFS_ENGINE_CONFIG_H
#define MFS_ENGINE_CONFIG_H

#include "lib/strbuf.h"
#include "lib/strlist.h"
#include "provision/provision.h"

/* Where provisioning puts things on the host. */
#define ENGINE_CERT_DIR "/etc/docker"
#define ENGINE_SYSTEMD_DROPIN "/etc/systemd/system/docker.service.d/10-machine.conf"
#define ENGINE_SYSV_DEFAULTS "/etc/default/docker"
#define ENGINE_OPENRC_CONF "/etc/conf.d/docker"
#define ENGINE_SUPERVISOR "/etc/docker/machinefs-dockerd.sh"
#define ENGINE_SUPERVISOR_PID "/var/run/machinefs-dockerd.pid"
#define ENGINE_SUPERVISOR_LOG "/var/log/machinefs-dockerd.log"
/* boot2docker-like hosts (the machinefs guest image): certs and profile. */
#define ENGINE_B2D_DIR "/var/lib/boot2docker"
#define ENGINE_B2D_PROFILE "/var/lib/boot2docker/profile"

struct engine_config {
	const char *dockerd;       /* dockerd's path on the host */
	int port;                  /* 2376 */
	const char *driver_name;   /* provider=... label */
	const char *storage_driver; /* "" or NULL: no --storage-driver */
	const struct engine_options *eo; /* may be NULL: no options */
	const struct strlist *extra_env; /* may be NULL: added by provisioning */
};

/* dockerd's arguments (not the program), one per entry, in Docker
 * Machine's order: -H tcp, -H unix, --storage-driver, TLS, labels (the
 * engine-labels, then provider=DRIVER), insecure registries, mirrors,
 * log level, data root, ipv6, selinux, then each engine-opt as --flag=value. */
void engine_args(const struct engine_config *c, struct strlist *args);
/* Only the part after TLS: labels ... engine-opts. */
void engine_extra_args(const struct engine_config *c, struct strlist *args);

/* The systemd drop-in (ENGINE_SYSTEMD_DROPIN):
 *   [Service]
 *   ExecStart=
 *   ExecStart=DOCKERD ARGS
 *   Environment="K=V"   (one line per engine-env) */
void engine_render_systemd(const struct engine_config *c, struct strbuf *out);

/* /etc/default/docker (sysvinit) or /etc/conf.d/docker (openrc):
 *   DOCKERD='PATH'
 *   DOCKER_OPTS='ARGS'
 *   export 'K=V' */
void engine_render_defaults(const struct engine_config *c, struct strbuf *out);

/* ENGINE_SUPERVISOR: a POSIX sh script for hosts without an init system
 * that runs dockerd, writes ENGINE_SUPERVISOR_PID and starts dockerd
 * again 2 s after it dies, until it gets SIGTERM. */
void engine_render_supervisor(const struct engine_config *c, struct strbuf *out);

/* ENGINE_B2D_PROFILE, as Docker Machine's boot2docker provisioner writes it:
 *   EXTRA_ARGS='
 *   --label provider=DRIVER
 *   '
 *   CACERT=/var/lib/boot2docker/ca.pem
 *   DOCKER_HOST='-H tcp://0.0.0.0:PORT'
 *   DOCKER_STORAGE=DRIVER
 *   DOCKER_TLS=auto
 *   SERVERKEY=/var/lib/boot2docker/server-key.pem
 *   SERVERCERT=/var/lib/boot2docker/server.pem
 *   (blank line, then export 'K=V' lines) */
void engine_render_b2d_profile(const struct engine_config *c, struct strbuf *out);

/* Append s quoted for POSIX sh ('...' with ' as '\''). */
void sh_quote(struct strbuf *sb, const char *s);

#endif
