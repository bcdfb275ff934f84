/* The "generic" driver: any host reachable over SSH (Docker Machine's
 * drivers/generic). No API: create copies the SSH key into the machine's
 * folder, state is a TCP connect to the SSH port, restart reboots over
 * SSH, remove leaves the host alone. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drivers/driver.h"
#include "drivers/wait.h"
#include "lib/fence.h"
#include "lib/fileutil.h"
#include "lib/json.h"
#include "lib/resolve.h"
#include "lib/tcpprobe.h"
#include "provision/ssh.h"

struct generic_priv {
	int engine_port;          /* EnginePort */
	char ssh_key[PATH_MAX];   /* SSHKey: the user's key as given */
};

static const struct driver_option generic_options[] = {
	{ "generic-ip-address", OPT_STRING, NULL, "GENERIC_IP_ADDRESS", "IP Address of machine", OPT_REQUIRED, NULL },
	{ "generic-ssh-user", OPT_STRING, "root", "GENERIC_SSH_USER", "SSH user", 0, NULL },
	{ "generic-ssh-key", OPT_STRING, NULL, "GENERIC_SSH_KEY", "SSH private key path (if not provided, ~/.ssh/id_ed25519 or ~/.ssh/id_rsa)", 0, NULL },
	{ "generic-ssh-port", OPT_INT, "22", "GENERIC_SSH_PORT", "SSH port", 0, NULL },
	{ "generic-engine-port", OPT_INT, "2376", "GENERIC_ENGINE_PORT", "Docker engine port", 0, NULL },
	{ NULL },
};

extern const struct machine_driver generic_driver;

static int generic_configure(struct driver_ctx *ctx)
{
	struct generic_priv *p = ctx->priv;
	const struct machine_driver *d = &generic_driver;
	const char *ip = driver_opt(ctx, d, "generic-ip-address");
	if (!ip || !*ip) {
		/* Docker Machine's words in error; the tree's hint in the log. */
		driver_log(ctx, "hint: write the address to 'options/generic-ip-address'");
		return error_set(ctx->err, EINVAL,
				 "generic driver requires the --generic-ip-address option");
	}
	if (strlen(ip) >= sizeof(ctx->base->ip))
		return error_set(ctx->err, EINVAL, "invalid ip address '%.64s...'", ip);
	int port, eport;
	int rc = driver_opt_int(ctx, d, "generic-ssh-port", &port);
	if (!rc)
		rc = driver_opt_int(ctx, d, "generic-engine-port", &eport);
	if (rc)
		return rc;
	if (port < 1 || port > 65535 || eport < 1 || eport > 65535)
		return error_set(ctx->err, EINVAL, "invalid port: want 1-65535");
	const char *user = driver_opt(ctx, d, "generic-ssh-user");
	snprintf(ctx->base->ip, sizeof(ctx->base->ip), "%s", ip);
	if (snprintf(ctx->base->ssh_user, sizeof(ctx->base->ssh_user), "%s", user) >=
	    (int)sizeof(ctx->base->ssh_user))
		return error_set(ctx->err, EINVAL, "generic-ssh-user is too long: at most %zu bytes",
				 sizeof(ctx->base->ssh_user) - 1);
	ctx->base->ssh_port = port;
	p->engine_port = eport;

	const char *key = driver_opt(ctx, d, "generic-ssh-key");
	if (key && *key) {
		if (snprintf(p->ssh_key, sizeof(p->ssh_key), "%s", key) >= (int)sizeof(p->ssh_key))
			return error_set(ctx->err, ENAMETOOLONG, "generic-ssh-key is too long: at most %zu bytes",
					 sizeof(p->ssh_key) - 1);
	} else {
		/* No ssh-agent here: take the user's default key. */
		const char *home = getenv("HOME") ? getenv("HOME") : "/root";
		const char *names[] = { "id_ed25519", "id_rsa" };
		p->ssh_key[0] = '\0';
		for (int i = 0; i < 2 && !*p->ssh_key; i++) {
			char path[PATH_MAX];
			if (snprintf(path, sizeof(path), "%s/.ssh/%s", home, names[i]) >=
			    (int)sizeof(path))
				break;
			if (path_exists(path))
				snprintf(p->ssh_key, sizeof(p->ssh_key), "%s", path);
		}
		if (!*p->ssh_key)
			return error_set(ctx->err, EINVAL,
					 "no SSH key: write its path to 'options/generic-ssh-key'");
	}
	/* A fixed name (Docker Machine keeps the key's own): a key called
	 * key.pem, ca.pem or config.json must not clobber the machine's files. */
	if (snprintf(ctx->base->ssh_key_path, sizeof(ctx->base->ssh_key_path), "%s/id_rsa",
		     ctx->dir) >= (int)sizeof(ctx->base->ssh_key_path))
		return error_set(ctx->err, ENAMETOOLONG, "the path of the key's copy is too long");
	return 0;
}

static int generic_precreate(struct driver_ctx *ctx)
{
	const struct generic_priv *p = ctx->priv;
	int rc = fence_check(p->ssh_key, ctx->err);
	if (rc)
		return rc;
	if (access(p->ssh_key, R_OK) < 0)
		return error_errno(ctx->err, errno, "cannot read SSH key '%s'", p->ssh_key);
	return 0;
}

static int generic_create(struct driver_ctx *ctx)
{
	const struct generic_priv *p = ctx->priv;
	driver_say(ctx, "Importing SSH key...");
	int rc = copy_file(p->ssh_key, ctx->base->ssh_key_path, 0600, ctx->err);
	if (rc)
		return rc;
	char src[PATH_MAX + 8], dst[PATH_MAX + 8];
	snprintf(src, sizeof(src), "%s.pub", p->ssh_key);
	snprintf(dst, sizeof(dst), "%s.pub", ctx->base->ssh_key_path);
	if (path_exists(src))
		rc = copy_file(src, dst, 0644, ctx->err);
	return rc;
}

static int generic_remove(struct driver_ctx *ctx)
{
	return 0; /* the host is not ours to delete */
}

static int generic_state(struct driver_ctx *ctx, enum machine_state *out)
{
	int port = ctx->base->ssh_port ? ctx->base->ssh_port : 22;
	*out = tcp_probe(ctx->base->ip, port, 5000, ctx->cancel) == 0 ? MS_RUNNING : MS_STOPPED;
	return 0;
}

static void ssh_target_of(struct driver_ctx *ctx, struct ssh_target *t, char *known,
			  size_t len)
{
	snprintf(known, len, "%s/known_hosts", ctx->dir);
	memset(t, 0, sizeof(*t));
	t->host = ctx->base->ip;
	t->port = ctx->base->ssh_port ? ctx->base->ssh_port : 22;
	t->user = *ctx->base->ssh_user ? ctx->base->ssh_user : "root";
	t->key_path = ctx->base->ssh_key_path;
	t->known_hosts = known;
	t->cancel = ctx->cancel;
	t->log_fn = ctx->log_fn;
	t->log_arg = ctx->log_arg;
}

static int generic_restart(struct driver_ctx *ctx)
{
	struct ssh_target t;
	char known[PATH_MAX + 16];
	ssh_target_of(ctx, &t, known, sizeof(known));
	struct ssh_conn *c;
	int rc = ssh_connect(&t, &c, ctx->err);
	if (rc)
		return rc;
	const char *cmd = strcmp(t.user, "root") ? "sudo -n shutdown -r now || sudo -n reboot"
						  : "shutdown -r now || reboot";
	int status;
	/* The connection may drop as the host goes down: that is success. */
	ssh_exec(c, cmd, NULL, 0, NULL, NULL, &status, 30000, ctx->err);
	ssh_close(c);
	driver_log(ctx, "Waiting for SSH to be available...");
	/* Down first (2 s), then back up: up to 5 minutes. */
	struct driver_wait w;
	driver_wait_start(&w, ctx, 300, 2000);
	w.nap_first = true;
	while (driver_wait_next(&w)) {
		if (ssh_connect(&t, &c, ctx->err) == 0) {
			rc = ssh_run(c, "exit 0", NULL, 10000, ctx->err);
			ssh_close(c);
			if (!rc)
				return 0;
		}
		w.interval_ms = 1000;
	}
	if (driver_cancelled(ctx))
		return error_set(ctx->err, EINTR, "restart of '%s' was cancelled", ctx->machine);
	char why[ERR_MAX];
	snprintf(why, sizeof(why), "%s", ctx->err);
	return error_set(ctx->err, ETIMEDOUT, "'%s' did not come back after a reboot: %.300s",
			 ctx->base->ip, why);
}

static int generic_url(struct driver_ctx *ctx, char *buf, size_t len)
{
	const struct generic_priv *p = ctx->priv;
	if (!*ctx->base->ip)
		return -ENOENT;
	snprintf(buf, len, "tcp://%s:%d", ctx->base->ip, p->engine_port ? p->engine_port : 2376);
	return 0;
}

/* Docker Machine's generic driver: "generic driver does not support stop". */
static const char *generic_unsupported(const char *cmd)
{
	static const char *const said[][2] = {
		{ "start", "generic driver does not support start" },
		{ "stop", "generic driver does not support stop" },
		{ "kill", "generic driver does not support kill" },
	};
	for (size_t i = 0; i < sizeof(said) / sizeof(said[0]); i++)
		if (!strcmp(cmd, said[i][0]))
			return said[i][1];
	return NULL;
}

static int generic_load(struct driver_ctx *ctx, const cJSON *obj)
{
	struct generic_priv *p = ctx->priv;
	p->engine_port = (int)json_int(obj, "EnginePort", 2376);
	snprintf(p->ssh_key, sizeof(p->ssh_key), "%s", json_str(obj, "SSHKey", ""));
	return 0;
}

static int generic_save(const struct driver_ctx *ctx, cJSON *obj)
{
	const struct generic_priv *p = ctx->priv;
	json_put_int(obj, "EnginePort", p->engine_port);
	json_put_str(obj, "SSHKey", p->ssh_key);
	return 0;
}

const struct machine_driver generic_driver = {
	.name = "generic",
	.supports = DRV_SSH | DRV_RESTART | DRV_REMOVE,
	.options = generic_options,
	.priv_size = sizeof(struct generic_priv),
	.configure = generic_configure,
	.precreate_check = generic_precreate,
	.create = generic_create,
	.remove = generic_remove,
	.restart = generic_restart,
	.state = generic_state,
	.url = generic_url,
	.unsupported = generic_unsupported,
	.load = generic_load,
	.save = generic_save,
};
