/* The Docker engine's configuration, rendered as text: the dockerd
 * arguments and the file each init system reads them from (reference §4).
 * Pure functions: no I/O; the caller owns every strbuf/strlist. */
#ifndef MFS_ENGINE_CONFIG_H
#define MFS_ENGINE_CONFIG_H

#include <stdbool.h>

#include "lib/strbuf.h"
#include "lib/strlist.h"
#include "provision/provision.h"

/* Where provisioning puts things on the host. */
#define ENGINE_CERT_DIR "/etc/docker"
#define ENGINE_SYSTEMD_DROPIN "/etc/systemd/system/docker.service.d/10-machine.conf"
#define ENGINE_SYSV_DEFAULTS "/etc/default/docker"
/* sysvinit: Debian's init script splits $DOCKER_OPTS at blanks, so the
 * arguments go into this script, which it runs as $DOCKERD. */
#define ENGINE_SYSV_EXEC "/etc/docker/machinefs-dockerd-exec.sh"
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

/* Every value reaches dockerd as exactly one argument, or is refused:
 * each render function first checks c and fails with -EINVAL and one line
 * in err when a value holds a control character (a newline would be a new
 * line of a unit file), when an engine-env entry is not NAME=VALUE, or
 * when the target splits words itself (the boot2docker profile) and a
 * value holds a blank or a glob character. The caller owns out. */

/* dockerd's arguments (not the program), one per entry, in Docker
 * Machine's order: -H tcp, -H unix, --storage-driver, TLS, labels (the
 * engine-labels, then provider=DRIVER), insecure registries, mirrors,
 * log level, data root, ipv6, selinux, then each engine-opt as --flag=value.
 * No checks: see engine_config_check. */
void engine_args(const struct engine_config *c, struct strlist *args);
/* Only the part after TLS: labels ... engine-opts. */
void engine_extra_args(const struct engine_config *c, struct strlist *args);

/* The checks above; split_words: the target splits at blanks and globs. */
int engine_config_check(const struct engine_config *c, bool split_words,
			char *err);

/* The systemd drop-in (ENGINE_SYSTEMD_DROPIN); each word double-quoted
 * when needed with \ \" escaped, % as %% and $ as $$:
 *   [Service]
 *   ExecStart=
 *   ExecStart=DOCKERD ARGS
 *   Environment="K=V"   (one line per engine-env) */
int engine_render_systemd(const struct engine_config *c, struct strbuf *out,
			  char *err);

/* sysvinit: /etc/default/docker points Debian's init script at
 * ENGINE_SYSV_EXEC (rendered by engine_render_sysv_exec), which holds the
 * arguments sh-quoted one by one; DOCKER_OPTS stays empty:
 *   DOCKERD='/etc/docker/machinefs-dockerd-exec.sh'
 *   DOCKER_OPTS=
 *   export 'K=V' */
int engine_render_defaults(const struct engine_config *c, struct strbuf *out,
			   char *err);
/* ENGINE_SYSV_EXEC: exec 'DOCKERD' 'ARG'... "$@" */
int engine_render_sysv_exec(const struct engine_config *c, struct strbuf *out,
			    char *err);

/* openrc: /etc/conf.d/docker. OpenRC runs `eval start-stop-daemon ...
 * -- $command_args` with command_args from DOCKER_OPTS: the value is
 * split at blanks, globbed, joined and evaluated. Each argument is written
 * sh-quoted with no blank or glob character left outside a variable
 * reference (a blank is "${MACHINEFS_SP}", defined in the same file), so
 * every step gives back the argument:
 *   DOCKERD_BINARY='PATH'
 *   MACHINEFS_SP=' ' ...
 *   DOCKER_OPTS='...'
 *   export 'K=V' */
int engine_render_openrc(const struct engine_config *c, struct strbuf *out,
			 char *err);

/* ENGINE_SUPERVISOR: a POSIX sh script for hosts without an init system
 * that runs dockerd, writes ENGINE_SUPERVISOR_PID and starts dockerd
 * again 2 s after it dies, until it gets SIGTERM. */
int engine_render_supervisor(const struct engine_config *c, struct strbuf *out,
			     char *err);

/* ENGINE_B2D_PROFILE, as Docker Machine's boot2docker provisioner writes
 * it, every assignment sh-quoted (the profile is sourced as root; its init
 * script expands EXTRA_ARGS unquoted, so values with blanks or glob
 * characters are refused):
 *   EXTRA_ARGS='
 *   --label provider=DRIVER
 *   '
 *   CACERT=/var/lib/boot2docker/ca.pem
 *   DOCKER_HOST='-H tcp://0.0.0.0:PORT'
 *   DOCKER_STORAGE='DRIVER'
 *   DOCKER_TLS=auto
 *   SERVERKEY=/var/lib/boot2docker/server-key.pem
 *   SERVERCERT=/var/lib/boot2docker/server.pem
 *   (blank line, then export 'K=V' lines) */
int engine_render_b2d_profile(const struct engine_config *c, struct strbuf *out,
			      char *err);

/* Append s quoted for POSIX sh ('...' with ' as '\''). */
void sh_quote(struct strbuf *sb, const char *s);

#endif
