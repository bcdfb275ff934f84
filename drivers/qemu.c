/* The "qemu" driver: a local VM under QEMU booting the machinefs guest
 * image (tools/guest-image), with user-mode networking: SSH and the
 * engine are port forwards on 127.0.0.1, so neither root nor a bridge is
 * needed. Per machine, in its store folder:
 *   disk.qcow2     the data disk (/var/lib/docker, /var/lib/boot2docker)
 *   id_ed25519     the SSH key (its .pub goes in through fw_cfg)
 *   qemu.pid       QEMU's pid (QEMU runs detached: it outlives the daemon)
 *   qmp.sock       QMP, for state, powerdown and quit
 *   serial.log     the guest's serial console; qemu.log QEMU's stderr
 * State comes from the pidfile and QMP query-status, so a daemon mounted
 * again finds its VMs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "drivers/driver.h"
#include "drivers/qemu_util.h"
#include "drivers/qmp.h"
#include "drivers/wait.h"
#include "lib/fileutil.h"
#include "lib/json.h"
#include "provision/provision.h"
#include "provision/ssh.h"

#define ENGINE_LISTEN_PORT 2376
#define SSH_WAIT_S 240
#define ENGINE_WAIT_S 120
#define POWERDOWN_WAIT_S 60
#define QMP_MS 3000

struct qemu_priv {
	int memory;             /* Memory (MB) */
	int cpus;               /* CPU */
	int disk_size;          /* DiskSize (MB) */
	char boot_image[PATH_MAX]; /* BootImage: kernel folder or ISO */
	char accel[16];         /* Accel: auto|kvm|tcg as given */
	char accel_used[16];    /* AccelUsed: what auto chose at create */
	int engine_port;        /* EnginePort: 127.0.0.1 port forwarded to 2376 */
};

static const struct driver_option qemu_options[] = {
	{ "qemu-memory", OPT_INT, "1024", "QEMU_MEMORY", "Size of memory for host in MB", 0, NULL },
	{ "qemu-cpu-count", OPT_INT, "2", "QEMU_CPU_COUNT", "Number of CPUs", 0, NULL },
	{ "qemu-disk-size", OPT_INT, "20000", "QEMU_DISK_SIZE", "Size of the data disk in MB", 0, NULL },
	{ "qemu-boot-image", OPT_STRING, NULL, "QEMU_BOOT_IMAGE",
	  "The guest image: a folder with vmlinux (or vmlinuz) and initrd, or an ISO (default: $MACHINEFS_GUEST_CACHE or " QEMU_GUEST_DEFAULT ")",
	  0, NULL },
	{ "qemu-accel", OPT_STRING, "auto", "QEMU_ACCEL", "Accelerator: auto (KVM when it works, else TCG), kvm or tcg", 0, NULL },
	{ NULL },
};

extern const struct machine_driver qemu_driver;

static void path_in(const struct driver_ctx *ctx, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", ctx->dir, name);
}

static int qemu_configure(struct driver_ctx *ctx)
{
	struct qemu_priv *p = ctx->priv;
	const struct machine_driver *d = &qemu_driver;
	int rc;
	if ((rc = driver_opt_int(ctx, d, "qemu-memory", &p->memory)) ||
	    (rc = driver_opt_int(ctx, d, "qemu-cpu-count", &p->cpus)) ||
	    (rc = driver_opt_int(ctx, d, "qemu-disk-size", &p->disk_size)))
		return rc;
	long host_mb = (long)(sysconf(_SC_PHYS_PAGES) / 1024) * (sysconf(_SC_PAGESIZE) / 1024);
	if (p->memory < QEMU_MIN_MEMORY || (host_mb > 0 && p->memory > host_mb))
		return error_set(ctx->err, EINVAL,
				 "invalid qemu-memory %d: want %d to %ld MB (this host's memory)",
				 p->memory, QEMU_MIN_MEMORY, host_mb);
	if (p->cpus < 1 || p->cpus > 64)
		return error_set(ctx->err, EINVAL, "invalid qemu-cpu-count %d: want 1 to 64", p->cpus);
	if (p->disk_size < 512 || p->disk_size > 4 * 1024 * 1024)
		return error_set(ctx->err, EINVAL,
				 "invalid qemu-disk-size %d: want 512 to 4194304 MB", p->disk_size);
	const char *accel = driver_opt(ctx, d, "qemu-accel");
	if (!accel || (strcmp(accel, "auto") && strcmp(accel, "kvm") && strcmp(accel, "tcg")))
		return error_set(ctx->err, EINVAL, "unknown qemu-accel '%.32s': want auto, kvm or tcg",
				 accel ? accel : "");
	snprintf(p->accel, sizeof(p->accel), "%s", accel);
	const char *img = driver_opt(ctx, d, "qemu-boot-image");
	if (img && *img) {
		if (snprintf(p->boot_image, sizeof(p->boot_image), "%s", img) >=
		    (int)sizeof(p->boot_image))
			return error_set(ctx->err, ENAMETOOLONG, "qemu-boot-image is too long: at most %zu bytes",
					 sizeof(p->boot_image) - 1);
	} else
		snprintf(p->boot_image, sizeof(p->boot_image), "%s", qemu_guest_default());
	char sock[PATH_MAX];
	path_in(ctx, "qmp.sock", sock, sizeof(sock));
	if (strlen(sock) >= 108)
		return error_set(ctx->err, ENAMETOOLONG,
				 "the store path is too long for a QMP socket ('%s'): use a shorter store",
				 sock);
	snprintf(ctx->base->ip, sizeof(ctx->base->ip), "127.0.0.1");
	snprintf(ctx->base->ssh_user, sizeof(ctx->base->ssh_user), "docker");
	path_in(ctx, "id_ed25519", ctx->base->ssh_key_path, sizeof(ctx->base->ssh_key_path));
	return 0;
}

static int qemu_precreate(struct driver_ctx *ctx)
{
	struct qemu_priv *p = ctx->priv;
	struct qemu_image img;
	int rc = qemu_image_find(p->boot_image, p->memory, &img, ctx->err);
	if (rc)
		return rc;
	if ((rc = qemu_tools_check(ctx->err)))
		return rc;
	if (!strcmp(p->accel, "kvm") && !qemu_kvm_works(img.kernel, ctx->dir))
		return error_set(ctx->err, ENODEV,
				 "qemu-accel is 'kvm' but KVM does not run guests here (/dev/kvm): use 'auto' or 'tcg'");
	return 0;
}

/* The VM's argv from the stored configuration. */
static int boot(struct driver_ctx *ctx, bool first)
{
	struct qemu_priv *p = ctx->priv;
	struct qemu_vm vm = {
		.name = ctx->machine,
		.dir = ctx->dir,
		.boot_image = p->boot_image,
		.memory = p->memory,
		.cpus = p->cpus,
		.accel = p->accel_used,
		.ssh_port = ctx->base->ssh_port,
		.engine_port = p->engine_port,
		.engine_listen_port = ENGINE_LISTEN_PORT,
		.key_path = ctx->base->ssh_key_path,
		/* The first boot: provisioning configures the engine and starts
		 * it; an engine started at boot would only be restarted. */
		.no_engine = first,
	};
	char serial[PATH_MAX];
	path_in(ctx, "serial.log", serial, sizeof(serial));
	driver_log(ctx, "%s QEMU (%s, %d MB, %d CPUs, ssh 127.0.0.1:%d, engine 127.0.0.1:%d); serial console: %s",
		   first ? "Starting" : "Booting", p->accel_used, p->memory, p->cpus,
		   ctx->base->ssh_port, p->engine_port, serial);
	return qemu_vm_boot(&vm, ctx->err);
}

/* SSH answers with the machine's key (and pinned host key). */
static int wait_ssh(struct driver_ctx *ctx)
{
	char known[PATH_MAX];
	path_in(ctx, "known_hosts", known, sizeof(known));
	struct ssh_target t = {
		.host = ctx->base->ip,
		.port = ctx->base->ssh_port,
		.user = ctx->base->ssh_user,
		.key_path = ctx->base->ssh_key_path,
		.known_hosts = known,
		.connect_timeout_ms = 5000,
		.cancel = ctx->cancel,
	};
	driver_log(ctx, "Waiting for SSH on 127.0.0.1:%d...", t.port);
	long long t0 = qemu_now_ms();
	char e[ERR_MAX] = "";
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, SSH_WAIT_S, 250); driver_wait_next(&w);) {
		if (driver_cancelled(ctx))
			break;
		if (!qemu_vm_alive(ctx->dir))
			return error_set(ctx->err, EIO, "qemu for '%s' exited while booting: %s",
					 ctx->machine, qemu_vm_last_words(ctx->dir));
		struct ssh_conn *c;
		int rc = ssh_connect(&t, &c, e);
		if (!rc) {
			rc = ssh_run(c, "exit 0", NULL, 10000, e);
			ssh_close(c);
			if (!rc) {
				driver_log(ctx, "SSH is up (%.1f s after QEMU started)",
					   (double)(qemu_now_ms() - t0) / 1000);
				return 0;
			}
		}
		if (rc == -EKEYREJECTED || rc == -EACCES || rc == -ENOENT)
			return error_set(ctx->err, -rc, "%s", e);
	}
	if (!w.timed_out)
		return error_set(ctx->err, EINTR, "'%s': cancelled while waiting for SSH", ctx->machine);
	return error_set(ctx->err, ETIMEDOUT, "no SSH on '%s' within %d s: %s (see %s/serial.log)",
			 ctx->machine, SSH_WAIT_S, e, ctx->dir);
}

/* The engine answers TLS with the machine's client certificate. */
static int wait_engine(struct driver_ctx *ctx)
{
	const struct qemu_priv *p = ctx->priv;
	char ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX], server[PATH_MAX];
	path_in(ctx, "ca.pem", ca, sizeof(ca));
	path_in(ctx, "cert.pem", cert, sizeof(cert));
	path_in(ctx, "key.pem", key, sizeof(key));
	path_in(ctx, "server.pem", server, sizeof(server));
	if (!path_exists(server) || !path_exists(cert))
		return 0; /* never provisioned: nothing to wait for */
	driver_log(ctx, "Waiting for the Docker engine on 127.0.0.1:%d...", p->engine_port);
	char e[ERR_MAX] = "", version[64];
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, ENGINE_WAIT_S, 500); driver_wait_next(&w);) {
		if (driver_cancelled(ctx))
			break;
		if (!engine_check_tls("127.0.0.1", p->engine_port, ca, cert, key, 3000, version,
				      sizeof(version), e)) {
			driver_log(ctx, "Docker %s is up", version);
			return 0;
		}
	}
	if (!w.timed_out)
		return error_set(ctx->err, EINTR, "'%s': cancelled while waiting for the engine",
				 ctx->machine);
	return error_set(ctx->err, ETIMEDOUT,
			 "the docker engine of '%s' did not answer within %d s: %s", ctx->machine,
			 ENGINE_WAIT_S, e);
}

/* The accelerator to boot with: the user's, or for auto KVM when it
 * boots the image's kernel here, else TCG. */
static void choose_accel(struct driver_ctx *ctx)
{
	struct qemu_priv *p = ctx->priv;
	struct qemu_image img;
	char e[ERR_MAX];
	if (strcmp(p->accel, "auto"))
		snprintf(p->accel_used, sizeof(p->accel_used), "%s", p->accel);
	else if (!qemu_image_find(p->boot_image, p->memory, &img, e) &&
		 qemu_kvm_works(img.kernel, ctx->dir))
		snprintf(p->accel_used, sizeof(p->accel_used), "kvm");
	else
		snprintf(p->accel_used, sizeof(p->accel_used), "tcg");
}

static int qemu_create(struct driver_ctx *ctx)
{
	struct qemu_priv *p = ctx->priv;
	int rc;
	long long t0 = qemu_now_ms();
	choose_accel(ctx);
	driver_log(ctx, "Accelerator: %s%s", p->accel_used,
		   !strcmp(p->accel, "auto") ? " (auto)" : "");
	int ports[2];
	if ((rc = qemu_free_ports(ports, 2, ctx->err)))
		return rc;
	ctx->base->ssh_port = ports[0];
	p->engine_port = ports[1];
	driver_log(ctx, "Creating SSH key...");
	if ((rc = qemu_ssh_keygen(ctx->base->ssh_key_path, ctx->machine, ctx->err)))
		return rc;
	char disk[PATH_MAX];
	path_in(ctx, "disk.qcow2", disk, sizeof(disk));
	driver_log(ctx, "Creating a %d MB data disk...", p->disk_size);
	if ((rc = qemu_img_create(disk, p->disk_size, ctx->err)))
		return rc;
	if ((rc = boot(ctx, true)))
		return rc;
	if ((rc = wait_ssh(ctx))) {
		char e[ERR_MAX];
		qemu_vm_kill(ctx->dir, e);
		return rc;
	}
	driver_log(ctx, "VM ready in %.1f s", (double)(qemu_now_ms() - t0) / 1000);
	return 0;
}

static int qemu_start(struct driver_ctx *ctx)
{
	if (qemu_vm_alive(ctx->dir)) {
		/* Paused (QMP stop): resume it. */
		char sock[PATH_MAX], status[32], e[ERR_MAX];
		path_in(ctx, "qmp.sock", sock, sizeof(sock));
		if (!qmp_status(sock, status, sizeof(status), QMP_MS, e) && !strcmp(status, "paused")) {
			driver_log(ctx, "Resuming the paused VM (QMP cont)...");
			return qmp_execute(sock, "cont", NULL, 0, QMP_MS, ctx->err);
		}
		return error_set(ctx->err, EALREADY, "Machine \"%s\" is already running.", ctx->machine);
	}
	struct qemu_priv *p = ctx->priv;
	if (!*p->accel_used)
		choose_accel(ctx);
	int rc = boot(ctx, false);
	if (!rc)
		rc = wait_ssh(ctx);
	if (!rc)
		rc = wait_engine(ctx);
	return rc;
}

/* Wait up to secs for QEMU to exit. 1: gone. */
static int wait_gone(struct driver_ctx *ctx, int secs)
{
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, secs, 200); driver_wait_next(&w);)
		if (!qemu_vm_alive(ctx->dir))
			return 1;
	return w.timed_out && !qemu_vm_alive(ctx->dir);
}

static int qemu_stop(struct driver_ctx *ctx)
{
	if (!qemu_vm_alive(ctx->dir)) {
		qemu_vm_cleanup(ctx->dir);
		return 0;
	}
	char sock[PATH_MAX], e[ERR_MAX];
	path_in(ctx, "qmp.sock", sock, sizeof(sock));
	driver_log(ctx, "Stopping: ACPI power button (QMP system_powerdown)...");
	long long t0 = qemu_now_ms();
	int rc = qmp_execute(sock, "system_powerdown", NULL, 0, QMP_MS, e);
	if (rc)
		driver_log(ctx, "system_powerdown failed: %s", e);
	if (!rc && wait_gone(ctx, POWERDOWN_WAIT_S)) {
		driver_log(ctx, "Stopped (%.1f s)", (double)(qemu_now_ms() - t0) / 1000);
		qemu_vm_cleanup(ctx->dir);
		return 0;
	}
	if (driver_cancelled(ctx))
		return error_set(ctx->err, EINTR, "stop of '%s' was cancelled", ctx->machine);
	driver_log(ctx, "The guest did not power off within %d s: forcing", POWERDOWN_WAIT_S);
	return qemu_vm_kill(ctx->dir, ctx->err);
}

static int qemu_kill(struct driver_ctx *ctx)
{
	driver_log(ctx, "Killing the VM (QMP quit)...");
	return qemu_vm_kill(ctx->dir, ctx->err);
}

static int qemu_restart(struct driver_ctx *ctx)
{
	int rc = qemu_stop(ctx);
	if (!rc)
		rc = qemu_start(ctx);
	return rc;
}

static int qemu_remove(struct driver_ctx *ctx)
{
	/* The files go with the machine's folder. */
	return qemu_vm_kill(ctx->dir, ctx->err);
}

static int qemu_state(struct driver_ctx *ctx, enum machine_state *out)
{
	if (!qemu_vm_alive(ctx->dir)) {
		*out = MS_STOPPED;
		return 0;
	}
	char sock[PATH_MAX], status[64], e[ERR_MAX];
	path_in(ctx, "qmp.sock", sock, sizeof(sock));
	if (qmp_status(sock, status, sizeof(status), QMP_MS, e)) {
		/* QMP busy (one client at a time) or not up yet: the process
		 * is there. */
		*out = MS_RUNNING;
		return 0;
	}
	if (!strcmp(status, "paused") || !strcmp(status, "suspended"))
		*out = MS_PAUSED;
	else if (!strcmp(status, "shutdown"))
		*out = MS_STOPPED;
	else if (!strcmp(status, "guest-panicked") || !strcmp(status, "internal-error") ||
		 !strcmp(status, "io-error"))
		*out = MS_ERROR;
	else
		*out = MS_RUNNING;
	return 0;
}

static int qemu_url(struct driver_ctx *ctx, char *buf, size_t len)
{
	const struct qemu_priv *p = ctx->priv;
	if (!p->engine_port)
		return -ENOENT;
	snprintf(buf, len, "tcp://127.0.0.1:%d", p->engine_port);
	return 0;
}

static int qemu_engine_listen_port(struct driver_ctx *ctx)
{
	(void)ctx;
	return ENGINE_LISTEN_PORT;
}

static int qemu_load(struct driver_ctx *ctx, const cJSON *obj)
{
	struct qemu_priv *p = ctx->priv;
	p->memory = (int)json_int(obj, "Memory", 1024);
	p->cpus = (int)json_int(obj, "CPU", 2);
	p->disk_size = (int)json_int(obj, "DiskSize", 20000);
	p->engine_port = (int)json_int(obj, "EnginePort", 0);
	snprintf(p->boot_image, sizeof(p->boot_image), "%s", json_str(obj, "BootImage", ""));
	snprintf(p->accel, sizeof(p->accel), "%s", json_str(obj, "Accel", "auto"));
	snprintf(p->accel_used, sizeof(p->accel_used), "%s", json_str(obj, "AccelUsed", ""));
	return 0;
}

static int qemu_save(const struct driver_ctx *ctx, cJSON *obj)
{
	const struct qemu_priv *p = ctx->priv;
	json_put_int(obj, "Memory", p->memory);
	json_put_int(obj, "CPU", p->cpus);
	json_put_int(obj, "DiskSize", p->disk_size);
	json_put_str(obj, "BootImage", p->boot_image);
	json_put_str(obj, "Accel", p->accel);
	json_put_str(obj, "AccelUsed", p->accel_used);
	json_put_int(obj, "EnginePort", p->engine_port);
	return 0;
}

const struct machine_driver qemu_driver = {
	.name = "qemu",
	.supports = DRV_SSH | DRV_START | DRV_STOP | DRV_RESTART | DRV_KILL | DRV_REMOVE,
	.options = qemu_options,
	.priv_size = sizeof(struct qemu_priv),
	.configure = qemu_configure,
	.precreate_check = qemu_precreate,
	.create = qemu_create,
	.remove = qemu_remove,
	.start = qemu_start,
	.stop = qemu_stop,
	.restart = qemu_restart,
	.kill = qemu_kill,
	.state = qemu_state,
	.url = qemu_url,
	.engine_listen_port = qemu_engine_listen_port,
	.load = qemu_load,
	.save = qemu_save,
};
