/* The "vmwarefusion" driver: Docker Machine 0.16's drivers/vmwarefusion
 * through `vmrun` and `vmware-vdiskmanager`, run by the one spawner
 * (lib/spawn.h: deadline, cancel, clean environment). Docker Machine runs
 * them on macOS only (VMware Fusion); here they also run on Linux, where
 * VMware Workstation ships the same vmrun: every call passes `-T fusion`
 * on macOS and `-T ws` elsewhere.
 *
 * Untested against a real VMware: its test drives a fake vmrun and
 * vmware-vdiskmanager (tests/fakevmware) that record every call.
 *
 * Create, in Docker Machine's order: the boot image copied into the
 * machine's folder as boot2docker.iso, an ed25519 key (Docker Machine: RSA), NAME.vmx written from
 * Docker Machine's template, `vmware-vdiskmanager -c -t 0 -s SIZEMB -a
 * lsilogic NAME.vmdk`, `vmrun start NAME.vmx nogui`, the address awaited
 * (below) and port 22 (Docker Machine goes on without it after the wait),
 * The key: the .vmx carries guestinfo.machinefs.authorized-keys (and
 * guestinfo.machinefs.hostname), which machinefs's guest image reads at
 * boot through VMware's GuestRPC (tools/guest-image: the same mechanism as
 * vmwarevsphere's extraConfig; the image has no VMware Tools). With a
 * boot2docker-url of the user's (boot2docker: VMware Tools, no guestinfo
 * reader) the key also goes in Docker Machine's way, by VMware guest
 * operations as the guest user with the guest password (options
 * vmwarefusion-ssh-user/-password, defaults docker/tcuser):
 * directoryExistsInGuest /var/lib/boot2docker, CopyFileFromHostToGuest
 * userdata.tar (the "boot2docker, this is vmware speaking" key tar),
 * runScriptInGuest to unpack it and move it to /var/lib/boot2docker,
 * enableSharedFolders, and on macOS /Users shared and mounted unless
 * vmwarefusion-no-share.
 *
 * The address: the MAC in the .vmx (ethernet0.generatedAddress, written
 * by VMware at power-on), looked up in the vmnet DHCP servers' fixed hosts
 * (dhcpd.conf), then in their leases (the lease that ends last), as
 * Docker Machine does; then `vmrun getGuestIPAddress` (VMware Tools).
 * Linux: dhcpd/dhcpd.conf and dhcpd/dhcpd.leases in each /etc/vmware/vmnetN;
 * macOS: dhcpd.conf in each /Library/Preferences/VMware Fusion/vmnetN and
 * the .leases files of /var/db/vmware. MACHINEFS_VMWARE_DHCP_CONF and
 * MACHINEFS_VMWARE_LEASES (glob patterns) replace them.
 *
 * State: Running when `vmrun list` names the .vmx (its real path), else
 * Stopped; Error when the .vmx is gone. Stop: `vmrun stop VMX soft`, then
 * `hard` when the guest is still running at the deadline (or soft failed);
 * kill: `stop VMX hard`; restart: stop then start; remove: kill when
 * running, `vmrun deleteVM VMX nogui` (the core removes the folder).
 *
 * MACHINEFS_VMWARE_TIMEOUT (seconds, default 120 as Docker Machine's IP
 * wait) bounds every wait; each vmrun call is killed after
 * MACHINEFS_VMRUN_TIMEOUT seconds (default 300). The guest password is
 * masked in the log; vmrun only takes it on its command line (-gp). */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drivers/driver.h"
#include "drivers/keytar.h"
#include "drivers/sshkey.h"
#include "drivers/wait.h"
#include "lib/fence.h"
#include "lib/fileutil.h"
#include "lib/json.h"
#include "lib/spawn.h"
#include "lib/tcpprobe.h"

#ifdef __APPLE__
#define VMRUN_TYPE "fusion"
#define VMWARE_DIR "/Applications/VMware Fusion.app/Contents/Library"
#define DHCP_CONF_GLOB "/Library/Preferences/VMware Fusion/vmnet*/dhcpd.conf"
#define LEASES_GLOB "/var/db/vmware/*.leases"
#else
#define VMRUN_TYPE "ws"
#define VMWARE_DIR "/usr/bin"
#define DHCP_CONF_GLOB "/etc/vmware/vmnet*/dhcpd/dhcpd.conf"
#define LEASES_GLOB "/etc/vmware/vmnet*/dhcpd/dhcpd.leases"
#endif

struct fusion_priv {
	int memory;                    /* Memory (MB) */
	int disk_size;                 /* DiskSize (MB) */
	int cpu;                       /* CPU */
	char iso[PATH_MAX];            /* ISO */
	char b2d_url[PATH_MAX];        /* Boot2DockerURL */
	char ssh_password[256];        /* SSHPassword (secret) */
	char configdrive_iso[PATH_MAX]; /* ConfigDriveISO */
	char configdrive_url[PATH_MAX]; /* ConfigDriveURL */
	bool no_share;                 /* NoShare */
};

static const struct driver_option fusion_options[] = {
	{ "vmwarefusion-boot2docker-url", OPT_STRING, "", "FUSION_BOOT2DOCKER_URL", "Fusion URL for boot2docker image (a path or file:// URL; default: machinefs's guest image, tools/guest-image)", 0, NULL },
	{ "vmwarefusion-configdrive-url", OPT_STRING, "", "FUSION_CONFIGDRIVE_URL", "Fusion URL for cloud-init configdrive (a path or file:// URL)", 0, NULL },
	{ "vmwarefusion-cpu-count", OPT_STRING, "1", "FUSION_CPU_COUNT", "number of CPUs for the machine (-1 to use the number of CPUs available)", 0, NULL },
	{ "vmwarefusion-memory-size", OPT_INT, "1024", "FUSION_MEMORY_SIZE", "Fusion size of memory for host VM (in MB)", 0, NULL },
	{ "vmwarefusion-disk-size", OPT_INT, "20000", "FUSION_DISK_SIZE", "Fusion size of disk for host VM (in MB)", 0, NULL },
	{ "vmwarefusion-ssh-user", OPT_STRING, "docker", "FUSION_SSH_USER", "SSH user", 0, NULL },
	{ "vmwarefusion-ssh-password", OPT_STRING, "tcuser", "FUSION_SSH_PASSWORD", "SSH password", OPT_SECRET, "SSHPassword" },
	{ "vmwarefusion-no-share", OPT_BOOL, NULL, "FUSION_NO_SHARE", "Disable the mount of your home directory", 0, NULL },
	{ NULL },
};

extern const struct machine_driver vmwarefusion_driver;

/* ---- options ---- */

/* The user's value, else the environment variable, else the default. */
static const char *opt(const struct driver_ctx *ctx, const char *name)
{
	const char *v = driver_opt_env(ctx, &vmwarefusion_driver, name);
	return v ? v : "";
}

static int opt_num(struct driver_ctx *ctx, const char *name, long min, long *out)
{
	const char *v = opt(ctx, name);
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || !*v || *end || n < min || n > 0x7fffffff)
		return error_set(ctx->err, EINVAL, "invalid value '%.100s' for option '%s': want a number%s",
				 v, name, min < 0 ? ", -1 for all CPUs" : "");
	*out = n;
	return 0;
}

static int put(struct driver_ctx *ctx, char *dst, size_t len, const char *name)
{
	const char *v = opt(ctx, name);
	if (strlen(v) >= len)
		return error_set(ctx->err, EINVAL, "value of option '%s' is too long", name);
	snprintf(dst, len, "%s", v);
	return 0;
}

/* A local path from a path or file:// URL; http(s) is refused. */
static int local_source(struct driver_ctx *ctx, const char *url, const char *name,
			char *path, size_t len)
{
	if (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8))
		return error_set(ctx->err, ENOTSUP,
				 "option '%s': machinefs's vmwarefusion driver does not download images: give a path or a file:// URL",
				 name);
	snprintf(path, len, "%s", !strncmp(url, "file://", 7) ? url + 7 : url);
	return 0;
}

static void vmx_path(const struct driver_ctx *ctx, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.vmx", ctx->dir, ctx->machine);
}

static int fusion_configure(struct driver_ctx *ctx)
{
	struct fusion_priv *p = ctx->priv;
	long mem, disk, cpu;
	int rc;
	if ((rc = opt_num(ctx, "vmwarefusion-memory-size", 1, &mem)) ||
	    (rc = opt_num(ctx, "vmwarefusion-disk-size", 1, &disk)) ||
	    (rc = opt_num(ctx, "vmwarefusion-cpu-count", -1, &cpu)))
		return rc;
	if ((rc = put(ctx, p->b2d_url, sizeof(p->b2d_url), "vmwarefusion-boot2docker-url")) ||
	    (rc = put(ctx, p->configdrive_url, sizeof(p->configdrive_url), "vmwarefusion-configdrive-url")) ||
	    (rc = put(ctx, ctx->base->ssh_user, sizeof(ctx->base->ssh_user), "vmwarefusion-ssh-user")) ||
	    (rc = put(ctx, p->ssh_password, sizeof(p->ssh_password), "vmwarefusion-ssh-password")))
		return rc;
	/* The user and password go on vmrun's command line and into the
	 * .vmx's neighbour scripts: plain printable text only. */
	for (const char *s = ctx->base->ssh_user; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr("._-", *s)))
			return error_set(ctx->err, EINVAL, "invalid value for option 'vmwarefusion-ssh-user': want letters, digits, '.', '_' or '-'");
	for (const char *s = p->ssh_password; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return error_set(ctx->err, EINVAL, "invalid value for option 'vmwarefusion-ssh-password': control characters");
	if (!*ctx->base->ssh_user)
		snprintf(ctx->base->ssh_user, sizeof(ctx->base->ssh_user), "docker");
	char tmp[PATH_MAX];
	if (*p->b2d_url && (rc = local_source(ctx, p->b2d_url, "vmwarefusion-boot2docker-url", tmp, sizeof(tmp))))
		return rc;
	if (*p->configdrive_url &&
	    (rc = local_source(ctx, p->configdrive_url, "vmwarefusion-configdrive-url", tmp, sizeof(tmp))))
		return rc;
	p->memory = (int)mem;
	p->disk_size = (int)disk;
	/* Docker Machine: at most 16 (virtual hardware 10), <1 is all CPUs. */
	if (cpu < 1)
		cpu = sysconf(_SC_NPROCESSORS_ONLN);
	p->cpu = (int)(cpu > 16 ? 16 : cpu < 1 ? 1 : cpu);
	p->no_share = !strcmp(opt(ctx, "vmwarefusion-no-share"), "true") ||
		      !strcmp(opt(ctx, "vmwarefusion-no-share"), "1");
	snprintf(p->iso, sizeof(p->iso), "%s/boot2docker.iso", ctx->dir);
	snprintf(p->configdrive_iso, sizeof(p->configdrive_iso), "%s/configdrive.iso", ctx->dir);
	ctx->base->ssh_port = 22;
	snprintf(ctx->base->ssh_key_path, sizeof(ctx->base->ssh_key_path), "%s/id_ed25519", ctx->dir);
	return 0;
}

/* ---- running vmrun and vmware-vdiskmanager ---- */

static int wait_timeout(void)
{
	const char *t = getenv("MACHINEFS_VMWARE_TIMEOUT");
	int s = t ? atoi(t) : 0;
	return s > 0 ? s : 120;
}

static int run_timeout_ms(void)
{
	const char *t = getenv("MACHINEFS_VMRUN_TIMEOUT");
	int s = t ? atoi(t) : 0;
	return (s > 0 && s < 86400 ? s : 300) * 1000;
}

/* The tool's path: on PATH, else VMware's install folder. */
static int find_tool(const char *name, char *path, size_t len, char *err)
{
	const char *p = getenv("PATH");
	while (p && *p) {
		size_t n = strcspn(p, ":");
		if (n && snprintf(path, len, "%.*s/%s", (int)n, p, name) < (int)len &&
		    access(path, X_OK) == 0)
			return 0;
		p += n + (p[n] == ':');
	}
	snprintf(path, len, "%s/%s", VMWARE_DIR, name);
	if (access(path, X_OK) == 0)
		return 0;
	return error_set(err, ENOENT, "%s not found: install VMware %s or put %s on PATH", name,
#ifdef __APPLE__
			 "Fusion",
#else
			 "Workstation",
#endif
			 name);
}

static void last_line(const char *s, char *buf, size_t len)
{
	const char *end = s + strlen(s);
	while (end > s && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	const char *start = end;
	while (start > s && start[-1] != '\n')
		start--;
	snprintf(buf, len, "%.*s", (int)(end - start), start);
}

/* Run tool with argv (NULL-terminated, without argv[0]); the guest
 * password, when given, is masked in the log and in errors. 0 only on
 * exit status 0. */
static int run_tool(struct driver_ctx *ctx, const char *tool, struct strbuf *out,
		    const char *const *argv, const char *secret)
{
	char exe[PATH_MAX];
	int rc = find_tool(tool, exe, sizeof(exe), ctx->err);
	if (rc)
		return rc;
	struct strbuf cmd = STRBUF_INIT;
	size_t argc = 0;
	for (; argv[argc]; argc++)
		strbuf_addf(&cmd, " %s", secret && *secret && !strcmp(argv[argc], secret) ? "****" : argv[argc]);
	driver_log(ctx, "%s%s", tool, strbuf_str(&cmd));
	const char **av = calloc(argc + 2, sizeof(char *));
	if (!av)
		abort();
	av[0] = exe;
	memcpy(av + 1, argv, argc * sizeof(char *));
	struct strbuf so = STRBUF_INIT, se = STRBUF_INIT;
	struct spawn_req req = { .argv = av, .out = &so, .errout = &se,
				 .timeout_ms = run_timeout_ms(), .cancel = ctx->cancel };
	int status = 0;
	rc = spawn_run(&req, &status, ctx->err);
	if (rc) {
		driver_log(ctx, "%s", ctx->err);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		/* vmrun says what went wrong on stdout ("Error: ..."). */
		char line[300];
		last_line(strbuf_str(&se), line, sizeof(line));
		if (!*line)
			last_line(strbuf_str(&so), line, sizeof(line));
		if (!*line)
			spawn_describe(status, line, sizeof(line));
		rc = error_set(ctx->err, EIO, "%s%.150s failed: %s", tool, strbuf_str(&cmd), line);
		driver_log(ctx, "%s", ctx->err);
	}
	if (out)
		strbuf_addstr(out, strbuf_str(&so));
	strbuf_release(&so);
	strbuf_release(&se);
	strbuf_release(&cmd);
	free(av);
	return rc;
}

#define VMRUN(ctx, out, ...) \
	run_tool((ctx), "vmrun", (out), (const char *const[]){ "-T", VMRUN_TYPE, __VA_ARGS__, NULL }, NULL)

/* A guest operation as the guest user (vmrun -gu USER -gp PASSWORD). */
static int guest_op(struct driver_ctx *ctx, const char *const *args)
{
	const struct fusion_priv *p = ctx->priv;
	const char *av[16] = { "-T", VMRUN_TYPE, "-gu", ctx->base->ssh_user, "-gp", p->ssh_password };
	size_t n = 6;
	for (size_t i = 0; args[i] && n + 1 < sizeof(av) / sizeof(av[0]); i++)
		av[n++] = args[i];
	av[n] = NULL;
	return run_tool(ctx, "vmrun", NULL, av, p->ssh_password);
}

#define GUEST(ctx, ...) guest_op((ctx), (const char *const[]){ __VA_ARGS__, NULL })

/* ---- state ---- */

static int get_state(struct driver_ctx *ctx, enum machine_state *st)
{
	char vmx[PATH_MAX + 300], real[PATH_MAX];
	vmx_path(ctx, vmx, sizeof(vmx));
	if (!realpath(vmx, real)) {
		*st = MS_ERROR;
		return error_errno(ctx->err, errno, "cannot find the VM '%s'", vmx);
	}
	struct strbuf out = STRBUF_INIT;
	int rc = VMRUN(ctx, &out, "list");
	*st = MS_ERROR;
	if (!rc) {
		*st = MS_STOPPED;
		/* "Total running VMs: N" then one .vmx path a line. */
		for (const char *l = strbuf_str(&out); l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
			size_t n = strcspn(l, "\r\n");
			if (n == strlen(real) && !strncmp(l, real, n))
				*st = MS_RUNNING;
		}
	}
	strbuf_release(&out);
	return rc;
}

static int fusion_state(struct driver_ctx *ctx, enum machine_state *out)
{
	/* The refresher asks every few seconds: its calls stay out of the log. */
	struct driver_ctx quiet = *ctx;
	quiet.log_fn = NULL;
	int rc = get_state(&quiet, out);
	if (rc)
		snprintf(ctx->err, ERR_MAX, "%s", quiet.err);
	return rc;
}

/* ---- the address ---- */

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
}

/* ethernet0.generatedAddress = "00:0c:29:..." in the .vmx, lower case. */
static int vmx_mac(struct driver_ctx *ctx, char *mac, size_t len)
{
	char vmx[PATH_MAX + 300];
	vmx_path(ctx, vmx, sizeof(vmx));
	struct strbuf sb = STRBUF_INIT;
	int rc = read_file(vmx, &sb, ctx->err);
	*mac = '\0';
	for (const char *l = strbuf_str(&sb); !rc && l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		static const char key[] = "ethernet0.generatedAddress";
		if (strncmp(l, key, sizeof(key) - 1))
			continue;
		const char *v = l + sizeof(key) - 1;
		v += strspn(v, " \t");
		if (*v++ != '=')
			continue;
		v += strspn(v, " \t");
		if (*v++ != '"')
			continue;
		size_t n = strcspn(v, "\"\n");
		if (v[n] == '"' && n < len)
			snprintf(mac, len, "%.*s", (int)n, v);
	}
	strbuf_release(&sb);
	if (!rc && !*mac)
		rc = error_set(ctx->err, ENOENT, "couldn't find MAC address in VMX file %s", vmx);
	lower(mac);
	return rc;
}

/* One line's text after optional blanks and a prefix, up to ';', into out. */
static bool field(const char *line, const char *prefix, char *out, size_t len)
{
	line += strspn(line, " \t");
	size_t pl = strlen(prefix);
	if (strncmp(line, prefix, pl))
		return false;
	const char *v = line + pl;
	size_t n = strcspn(v, ";\n");
	if (v[n] != ';' || n >= len)
		return false;
	snprintf(out, len, "%.*s", (int)n, v);
	return true;
}

/* dhcpd.conf: host NAME { hardware ethernet MAC; fixed-address IP; } */
static bool ip_from_conf(const char *text, const char *mac, char *ip, size_t len)
{
	int depth = 0;
	char cur_ip[64] = "", cur_mac[64] = "";
	bool found = false;
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (!strncmp(l, "host ", 5) && memchr(l, '{', strcspn(l, "\n"))) {
			depth++;
			continue;
		}
		if (depth > 0 && *l == '}') {
			if (--depth == 0) {
				lower(cur_mac);
				if (*cur_ip && !strcmp(cur_mac, mac)) {
					snprintf(ip, len, "%s", cur_ip);
					found = true;
				}
				cur_ip[0] = cur_mac[0] = '\0';
			}
			continue;
		}
		if (depth == 1 && !field(l, "fixed-address ", cur_ip, sizeof(cur_ip)))
			field(l, "hardware ethernet ", cur_mac, sizeof(cur_mac));
	}
	return found;
}

/* dhcpd.leases: lease IP { ends W YYYY/MM/DD HH:MM:SS; hardware ethernet
 * MAC; }: the address of the lease that ends last. */
static bool ip_from_leases(const char *text, const char *mac, char *ip, size_t len)
{
	char cur_ip[64] = "", ends[64] = "", best[64] = "", m[64];
	bool found = false;
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (!strncmp(l, "lease ", 5)) {
			size_t n = strcspn(l + 6, " {\n");
			snprintf(cur_ip, sizeof(cur_ip), "%.*s", (int)(n < 63 ? n : 63), l + 6);
			ends[0] = '\0';
			continue;
		}
		char e[64];
		if (field(l, "ends ", e, sizeof(e))) {
			/* "W YYYY/MM/DD HH:MM:SS": compare the date and time as text */
			const char *sp = strchr(e, ' ');
			snprintf(ends, sizeof(ends), "%s", sp ? sp + 1 : e);
			continue;
		}
		if (field(l, "hardware ethernet ", m, sizeof(m))) {
			lower(m);
			if (!strcmp(m, mac) && *cur_ip && (!found || strcmp(ends, best) > 0)) {
				snprintf(ip, len, "%s", cur_ip);
				snprintf(best, sizeof(best), "%s", ends);
				found = true;
			}
		}
	}
	return found;
}

static bool ip_from_files(const char *pattern, const char *mac, char *ip, size_t len,
			  bool (*parse)(const char *, const char *, char *, size_t))
{
	glob_t g;
	bool found = false;
	if (glob(pattern, 0, NULL, &g) != 0)
		return false;
	for (size_t i = 0; i < g.gl_pathc && !found; i++) {
		struct strbuf sb = STRBUF_INIT;
		if (!fence_check(g.gl_pathv[i], NULL) && read_file(g.gl_pathv[i], &sb, NULL) == 0)
			found = parse(strbuf_str(&sb), mac, ip, len);
		strbuf_release(&sb);
	}
	globfree(&g);
	return found;
}

static int get_ip(struct driver_ctx *ctx, char *ip, size_t len)
{
	enum machine_state st;
	int rc = get_state(ctx, &st);
	if (!rc && st != MS_RUNNING)
		rc = error_set(ctx->err, EHOSTDOWN, "Host is not running");
	char mac[64];
	if (!rc)
		rc = vmx_mac(ctx, mac, sizeof(mac));
	if (rc)
		return rc;
	const char *conf = getenv("MACHINEFS_VMWARE_DHCP_CONF");
	const char *leases = getenv("MACHINEFS_VMWARE_LEASES");
	if (ip_from_files(conf ? conf : DHCP_CONF_GLOB, mac, ip, len, ip_from_conf) ||
	    ip_from_files(leases ? leases : LEASES_GLOB, mac, ip, len, ip_from_leases))
		return 0;
	/* VMware Tools in the guest know it too. */
	char vmx[PATH_MAX + 300];
	vmx_path(ctx, vmx, sizeof(vmx));
	struct strbuf out = STRBUF_INIT;
	rc = VMRUN(ctx, &out, "getGuestIPAddress", vmx);
	strbuf_rtrim(&out);
	if (!rc && out.len && out.len < len && !strchr(strbuf_str(&out), ' '))
		snprintf(ip, len, "%s", strbuf_str(&out));
	else if (!rc)
		rc = error_set(ctx->err, ENOENT, "IP not found for MAC %s in DHCP leases", mac);
	else
		rc = error_set(ctx->err, ENOENT, "IP not found for MAC %s in DHCP leases nor from VMware Tools", mac);
	strbuf_release(&out);
	return rc;
}

/* Docker Machine's wait: an address, then port 22; without port 22 at the
 * deadline it goes on with the address. */
static int wait_ip(struct driver_ctx *ctx)
{
	driver_say(ctx, "Waiting for VM to come online...");
	char ip[64] = "";
	int rc = 0;
	bool up = false;
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, wait_timeout(), 1000); !up && driver_wait_next(&w);) {
		rc = get_ip(ctx, ip, sizeof(ip));
		up = !rc && tcp_probe(ip, 22, 2000, ctx->cancel) == 0;
		if (!up && driver_cancelled(ctx))
			break;
	}
	if (!up && !w.timed_out)
		return error_set(ctx->err, EINTR, "waiting for the address of '%s' was cancelled", ctx->machine);
	if (!up && rc) {
		char why[ERR_MAX];
		snprintf(why, sizeof(why), "%s", ctx->err);
		return error_set(ctx->err, ETIMEDOUT, "Machine didn't return an IP after %d seconds, aborting: %.300s",
				 wait_timeout(), why);
	}
	if (!up)
		driver_log(ctx, "SSH daemon on %s:22 not responding yet; going on", ip);
	snprintf(ctx->base->ip, sizeof(ctx->base->ip), "%s", ip);
	driver_log(ctx, "Got an ip: %s", ip);
	return 0;
}

/* ---- create ---- */

static void iso_source(const struct driver_ctx *ctx, const char *url, char *path, size_t len)
{
	if (!*url) {
		const char *cache = getenv("MACHINEFS_GUEST_CACHE");
		snprintf(path, len, "%s/machinefs.iso", cache && *cache ? cache : "/var/cache/machinefs/guest");
	} else {
		snprintf(path, len, "%s", !strncmp(url, "file://", 7) ? url + 7 : url);
	}
}

static int fusion_precreate(struct driver_ctx *ctx)
{
	const struct fusion_priv *p = ctx->priv;
	char path[PATH_MAX + 32];
	int rc = find_tool("vmrun", path, sizeof(path), ctx->err);
	if (!rc)
		rc = find_tool("vmware-vdiskmanager", path, sizeof(path), ctx->err);
	if (rc)
		return rc;
	const char *src[2] = { p->b2d_url, p->configdrive_url };
	for (int i = 0; i < 2; i++) {
		if (i && !*src[i])
			continue;
		iso_source(ctx, src[i], path, sizeof(path));
		if ((rc = fence_check(path, ctx->err)))
			return rc;
		if (access(path, R_OK) < 0)
			return !*src[i] ? error_set(ctx->err, ENOENT, "no boot image '%s': build it with tools/guest-image/build.sh (needs xorriso) or write an ISO's path to 'options/vmwarefusion-boot2docker-url'", path)
					: error_errno(ctx->err, errno, "cannot read '%s'", path);
	}
	return 0;
}

/* A .vmx value: '"', '|' and bytes outside printable ASCII as |XX. */
static void vmx_value(struct strbuf *sb, const char *v)
{
	for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
		if (*c == '"' || *c == '|' || *c < 0x20 || *c > 0x7e)
			strbuf_addf(sb, "|%02X", *c);
		else
			strbuf_addch(sb, (char)*c);
	}
}

/* Docker Machine's .vmx template, our values, and the guestinfo settings
 * the guest image reads at boot (the public key, the name). */
static int write_vmx(struct driver_ctx *ctx, const char *vmx)
{
	const struct fusion_priv *p = ctx->priv;
	char pubpath[PATH_MAX + 8];
	snprintf(pubpath, sizeof(pubpath), "%s.pub", ctx->base->ssh_key_path);
	struct strbuf pub = STRBUF_INIT;
	int rc = read_file(pubpath, &pub, ctx->err);
	if (rc) {
		strbuf_release(&pub);
		return rc;
	}
	strbuf_rtrim(&pub);
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb,
		    "\n.encoding = \"UTF-8\"\nconfig.version = \"8\"\ndisplayName = \"%s\"\n"
		    "ethernet0.present = \"TRUE\"\nethernet0.connectionType = \"nat\"\n"
		    "ethernet0.virtualDev = \"vmxnet3\"\nethernet0.wakeOnPcktRcv = \"FALSE\"\n"
		    "ethernet0.addressType = \"generated\"\nethernet0.linkStatePropagation.enable = \"TRUE\"\n"
		    "pciBridge0.present = \"TRUE\"\npciBridge4.present = \"TRUE\"\n"
		    "pciBridge4.virtualDev = \"pcieRootPort\"\npciBridge4.functions = \"8\"\n"
		    "pciBridge5.present = \"TRUE\"\npciBridge5.virtualDev = \"pcieRootPort\"\n"
		    "pciBridge5.functions = \"8\"\npciBridge6.present = \"TRUE\"\n"
		    "pciBridge6.virtualDev = \"pcieRootPort\"\npciBridge6.functions = \"8\"\n"
		    "pciBridge7.present = \"TRUE\"\npciBridge7.virtualDev = \"pcieRootPort\"\n"
		    "pciBridge7.functions = \"8\"\npciBridge0.pciSlotNumber = \"17\"\n"
		    "pciBridge4.pciSlotNumber = \"21\"\npciBridge5.pciSlotNumber = \"22\"\n"
		    "pciBridge6.pciSlotNumber = \"23\"\npciBridge7.pciSlotNumber = \"24\"\n"
		    "scsi0.pciSlotNumber = \"160\"\nusb.pciSlotNumber = \"32\"\n"
		    "ethernet0.pciSlotNumber = \"192\"\nsound.pciSlotNumber = \"33\"\n"
		    "vmci0.pciSlotNumber = \"35\"\nsata0.pciSlotNumber = \"36\"\n"
		    "floppy0.present = \"FALSE\"\nguestOS = \"other3xlinux-64\"\nhpet0.present = \"TRUE\"\n"
		    "sata0.present = \"TRUE\"\nsata0:1.present = \"TRUE\"\nsata0:1.fileName = \"%s\"\n"
		    "sata0:1.deviceType = \"cdrom-image\"\n",
		    ctx->machine, p->iso);
	if (*p->configdrive_url)
		strbuf_addf(&sb, "sata0:2.present = \"TRUE\"\nsata0:2.fileName = \"%s\"\nsata0:2.deviceType = \"cdrom-image\"\n",
			    p->configdrive_iso);
	strbuf_addf(&sb,
		    "vmci0.present = \"TRUE\"\nmem.hotadd = \"TRUE\"\nmemsize = \"%d\"\n"
		    "powerType.powerOff = \"soft\"\npowerType.powerOn = \"soft\"\n"
		    "powerType.reset = \"soft\"\npowerType.suspend = \"soft\"\n"
		    "scsi0.present = \"TRUE\"\nscsi0.virtualDev = \"pvscsi\"\n"
		    "scsi0:0.fileName = \"%s.vmdk\"\nscsi0:0.present = \"TRUE\"\n"
		    "tools.synctime = \"TRUE\"\nvirtualHW.productCompatibility = \"hosted\"\n"
		    "virtualHW.version = \"10\"\nmsg.autoanswer = \"TRUE\"\nuuid.action = \"create\"\n"
		    "numvcpus = \"%d\"\nhgfs.mapRootShare = \"FALSE\"\nhgfs.linkRootShare = \"FALSE\"\n",
		    p->memory, ctx->machine, p->cpu);
	strbuf_addstr(&sb, "guestinfo.machinefs.authorized-keys = \"");
	vmx_value(&sb, strbuf_str(&pub));
	strbuf_addstr(&sb, "\"\nguestinfo.machinefs.hostname = \"");
	vmx_value(&sb, ctx->machine);
	strbuf_addstr(&sb, "\"\n");
	rc = write_file_atomic(vmx, sb.buf, sb.len, 0644, ctx->err);
	strbuf_release(&sb);
	strbuf_release(&pub);
	return rc;
}

/* The key tar Docker Machine copies into the guest. */
static int write_userdata(struct driver_ctx *ctx, const char *path)
{
	char pubpath[PATH_MAX + 8];
	snprintf(pubpath, sizeof(pubpath), "%s.pub", ctx->base->ssh_key_path);
	struct strbuf pub = STRBUF_INIT, tar = STRBUF_INIT;
	int rc = read_file(pubpath, &pub, ctx->err);
	if (!rc) {
		keytar_build(&tar, "boot2docker, this is vmware speaking", strbuf_str(&pub), pub.len);
		rc = write_file_atomic(path, tar.buf, tar.len, 0600, ctx->err);
	}
	strbuf_release(&pub);
	strbuf_release(&tar);
	return rc;
}

#ifdef __APPLE__
#define SHARE_NAME "Users"
#define SHARE_DIR "/Users"
#define MOUNT_SHARE(fuse_opts) \
	"([ ! -d " SHARE_DIR " ]&& sudo mkdir " SHARE_DIR "; sudo mount --bind /mnt/hgfs/" SHARE_DIR " " SHARE_DIR ") || " \
	"([ -f /usr/local/bin/vmhgfs-fuse ]&& sudo /usr/local/bin/vmhgfs-fuse " fuse_opts "-o allow_other .host:/" SHARE_NAME " " SHARE_DIR ") || " \
	"sudo mount -t vmhgfs -o uid=$(id -u),gid=$(id -g) .host:/" SHARE_NAME " " SHARE_DIR
#endif

static int fusion_create(struct driver_ctx *ctx)
{
	const struct fusion_priv *p = ctx->priv;
	char src[PATH_MAX + 32], vmx[PATH_MAX + 300], vmdk[PATH_MAX + 300], tar[PATH_MAX + 32];
	iso_source(ctx, p->b2d_url, src, sizeof(src));
	driver_log(ctx, "Copying %s to %s...", src, p->iso);
	int rc = copy_file(src, p->iso, 0644, ctx->err);
	if (!rc && *p->configdrive_url) {
		iso_source(ctx, p->configdrive_url, src, sizeof(src));
		rc = copy_file(src, p->configdrive_iso, 0644, ctx->err);
	}
	if (rc)
		return rc;
	driver_say(ctx, "Creating SSH key...");
	if ((rc = sshkey_generate_ed25519(ctx->base->ssh_key_path, ctx->machine, ctx->err)))
		return rc;
	driver_say(ctx, "Creating VM...");
	vmx_path(ctx, vmx, sizeof(vmx));
	snprintf(vmdk, sizeof(vmdk), "%s/%s.vmdk", ctx->dir, ctx->machine);
	if (path_exists(vmx))
		return error_set(ctx->err, EEXIST, "machine already exists");
	if ((rc = write_vmx(ctx, vmx)))
		return rc;
	if (!path_exists(vmdk)) {
		char size[32];
		snprintf(size, sizeof(size), "%dMB", p->disk_size);
		rc = run_tool(ctx, "vmware-vdiskmanager", NULL,
			      (const char *const[]){ "-c", "-t", "0", "-s", size, "-a", "lsilogic", vmdk, NULL }, NULL);
		if (rc)
			return rc;
	}
	driver_say(ctx, "Starting %s...", ctx->machine);
	if ((rc = VMRUN(ctx, NULL, "start", vmx, "nogui")) || (rc = wait_ip(ctx)))
		return rc;
	if (!*p->b2d_url) {
		driver_log(ctx, "the SSH key is in the .vmx (guestinfo.machinefs.authorized-keys): the guest image reads it at boot");
		return 0;
	}
	/* A user's image (boot2docker): the key goes in through VMware Tools,
	 * as the guest user. */
	driver_say(ctx, "Copying the SSH key into the guest as '%s' (VMware guest operations)...",
		   ctx->base->ssh_user);
	snprintf(tar, sizeof(tar), "%s/userdata.tar", ctx->dir);
	/* Docker Machine's commands, word for word (boot2docker's user). */
	const char *untar = "sudo sh -c \"tar xvf /home/docker/userdata.tar -C /home/docker > /var/log/userdata.log 2>&1 && chown -R docker:staff /home/docker\"";
	const char *mv = "sudo /bin/mv /home/docker/userdata.tar /var/lib/boot2docker/userdata.tar";
	if ((rc = write_userdata(ctx, tar)) ||
	    (rc = GUEST(ctx, "directoryExistsInGuest", vmx, "/var/lib/boot2docker")) ||
	    (rc = GUEST(ctx, "CopyFileFromHostToGuest", vmx, tar, "/home/docker/userdata.tar")) ||
	    (rc = GUEST(ctx, "runScriptInGuest", vmx, "/bin/sh", untar)) ||
	    (rc = GUEST(ctx, "runScriptInGuest", vmx, "/bin/sh", mv)) ||
	    (rc = GUEST(ctx, "enableSharedFolders", vmx)))
		return rc;
#ifdef __APPLE__
	struct stat sb;
	if (!p->no_share && stat(SHARE_DIR, &sb) == 0 &&
	    ((rc = GUEST(ctx, "addSharedFolder", vmx, SHARE_NAME, SHARE_DIR)) ||
	     (rc = GUEST(ctx, "runScriptInGuest", vmx, "/bin/sh", MOUNT_SHARE("")))))
		return rc;
#endif
	return 0;
}

/* ---- the rest of the life cycle ---- */

static int fusion_start(struct driver_ctx *ctx)
{
	char vmx[PATH_MAX + 300];
	vmx_path(ctx, vmx, sizeof(vmx));
	int rc = VMRUN(ctx, NULL, "start", vmx, "nogui");
	if (rc)
		return rc;
#ifdef __APPLE__
	const struct fusion_priv *p = ctx->priv;
	struct stat sb;
	if (!*p->configdrive_url && !p->no_share && stat(SHARE_DIR, &sb) == 0)
		GUEST(ctx, "runScriptInGuest", vmx, "/bin/sh", MOUNT_SHARE("-o nonempty "));
#endif
	return wait_ip(ctx);
}

/* Wait (bounded, cancellable) until vmrun list no longer shows the VM. */
static int wait_stopped(struct driver_ctx *ctx, int seconds, bool *stopped)
{
	*stopped = false;
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, seconds, 1000); driver_wait_next(&w);) {
		enum machine_state st;
		int rc = get_state(ctx, &st);
		if (rc)
			return rc;
		if (st != MS_RUNNING) {
			*stopped = true;
			return 0;
		}
	}
	if (w.timed_out)
		return 0;
	return error_set(ctx->err, EINTR, "stop of '%s' was cancelled", ctx->machine);
}

static int fusion_kill(struct driver_ctx *ctx)
{
	char vmx[PATH_MAX + 300];
	vmx_path(ctx, vmx, sizeof(vmx));
	int rc = VMRUN(ctx, NULL, "stop", vmx, "hard");
	if (!rc)
		ctx->base->ip[0] = '\0';
	return rc;
}

/* Soft (the guest shuts down), then hard when it is still running. */
static int fusion_stop(struct driver_ctx *ctx)
{
	char vmx[PATH_MAX + 300];
	vmx_path(ctx, vmx, sizeof(vmx));
	bool stopped = false;
	int rc = VMRUN(ctx, NULL, "stop", vmx, "soft");
	if (rc == -EINTR)
		return rc;
	if (!rc)
		rc = wait_stopped(ctx, wait_timeout(), &stopped);
	if (rc == -EINTR)
		return rc;
	if (rc || !stopped) {
		driver_log(ctx, "soft stop of '%s' did not end it%s%s: stopping it hard", ctx->machine,
			   rc ? ": " : "", rc ? ctx->err : "");
		return fusion_kill(ctx);
	}
	ctx->base->ip[0] = '\0';
	return 0;
}

static int fusion_restart(struct driver_ctx *ctx)
{
	enum machine_state st;
	int rc = get_state(ctx, &st);
	if (rc)
		return rc;
	if (st == MS_RUNNING && (rc = fusion_stop(ctx)))
		return rc;
	return fusion_start(ctx);
}

static int fusion_remove(struct driver_ctx *ctx)
{
	char vmx[PATH_MAX + 300];
	vmx_path(ctx, vmx, sizeof(vmx));
	if (!path_exists(vmx)) {
		driver_log(ctx, "no %s: nothing for VMware to delete", vmx);
		return 0;
	}
	enum machine_state st;
	int rc = get_state(ctx, &st);
	if (rc)
		return rc;
	if (st == MS_RUNNING && (rc = fusion_kill(ctx))) {
		char why[ERR_MAX];
		snprintf(why, sizeof(why), "%s", ctx->err);
		return error_set(ctx->err, -rc, "Error stopping VM before deletion: %.400s", why);
	}
	driver_say(ctx, "Deleting %s...", ctx->machine);
	return VMRUN(ctx, NULL, "deleteVM", vmx, "nogui");
}

static int fusion_url(struct driver_ctx *ctx, char *buf, size_t len)
{
	if (!*ctx->base->ip)
		return -ENOENT;
	snprintf(buf, len, "tcp://%s:2376", ctx->base->ip);
	return 0;
}

/* ---- config.json ---- */

static int fusion_load(struct driver_ctx *ctx, const cJSON *o)
{
	struct fusion_priv *p = ctx->priv;
	p->memory = (int)json_int(o, "Memory", 1024);
	p->disk_size = (int)json_int(o, "DiskSize", 20000);
	p->cpu = (int)json_int(o, "CPU", 1);
	snprintf(p->iso, sizeof(p->iso), "%s", json_str(o, "ISO", ""));
	snprintf(p->b2d_url, sizeof(p->b2d_url), "%s", json_str(o, "Boot2DockerURL", ""));
	snprintf(p->ssh_password, sizeof(p->ssh_password), "%s", json_str(o, "SSHPassword", "tcuser"));
	snprintf(p->configdrive_iso, sizeof(p->configdrive_iso), "%s", json_str(o, "ConfigDriveISO", ""));
	snprintf(p->configdrive_url, sizeof(p->configdrive_url), "%s", json_str(o, "ConfigDriveURL", ""));
	p->no_share = json_bool(o, "NoShare", false);
	if (!*ctx->base->ssh_user)
		snprintf(ctx->base->ssh_user, sizeof(ctx->base->ssh_user), "docker");
	return 0;
}

static int fusion_save(const struct driver_ctx *ctx, cJSON *o)
{
	const struct fusion_priv *p = ctx->priv;
	json_put_int(o, "Memory", p->memory);
	json_put_int(o, "DiskSize", p->disk_size);
	json_put_int(o, "CPU", p->cpu);
	json_put_str(o, "ISO", p->iso);
	json_put_str(o, "Boot2DockerURL", p->b2d_url);
	json_put_str(o, "SSHPassword", p->ssh_password);
	json_put_str(o, "ConfigDriveISO", p->configdrive_iso);
	json_put_str(o, "ConfigDriveURL", p->configdrive_url);
	json_put_bool(o, "NoShare", p->no_share);
	return 0;
}

const struct machine_driver vmwarefusion_driver = {
	.name = "vmwarefusion",
	.supports = DRV_START | DRV_STOP | DRV_RESTART | DRV_KILL | DRV_SSH | DRV_REMOVE,
	.options = fusion_options,
	.priv_size = sizeof(struct fusion_priv),
	.configure = fusion_configure,
	.precreate_check = fusion_precreate,
	.create = fusion_create,
	.remove = fusion_remove,
	.start = fusion_start,
	.stop = fusion_stop,
	.restart = fusion_restart,
	.kill = fusion_kill,
	.state = fusion_state,
	.url = fusion_url,
	.load = fusion_load,
	.save = fusion_save,
};
