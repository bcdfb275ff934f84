/* The "virtualbox" driver: Docker Machine's drivers/virtualbox, through
 * VBoxManage. Untested against a real VirtualBox: its test drives a fake
 * VBoxManage (tests/fakevbox) that records every call.
 *
 * Create: the boot image is copied into the machine's folder as
 * boot2docker.iso, an RSA key is made, the disk is a VMDK converted from
 * a sparse raw file that starts with Docker Machine's "boot2docker, please
 * format-me" tar (the public key inside), then the VM is made with
 * Docker Machine's VBoxManage sequence and started: host-only adapter and
 * DHCP server, SSH forwarded from 127.0.0.1:PORT (free port) to the
 * guest's 22, startvm. The address is the host-only one: the guest
 * property /VirtualBox/GuestInfo/Net/1/V4/IP when the guest publishes it,
 * else `ip addr show` over SSH matched by the adapter's MAC (Docker
 * Machine's way). create then waits for SSH on the forward.
 *
 * MACHINEFS_VBOX_TIMEOUT (seconds, default 180) bounds every wait: the
 * address, SSH, the ACPI shutdown. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <curl/curl.h>

#include "drivers/driver.h"
#include "drivers/keytar.h"
#include "drivers/sshkey.h"
#include "drivers/vboxmanage.h"
#include "drivers/wait.h"
#include "lib/fence.h"
#include "lib/fileutil.h"
#include "lib/json.h"
#include "provision/ssh.h"

struct vbox_priv {
	int cpu;                      /* CPU */
	int memory;                   /* Memory (MB) */
	int disk_size;                /* DiskSize (MB) */
	char nat_nic_type[32];        /* NatNicType */
	char b2d_url[PATH_MAX];       /* Boot2DockerURL */
	char import_vm[128];          /* Boot2DockerImportVM */
	bool host_dns_resolver;       /* HostDNSResolver */
	char hostonly_cidr[64];       /* HostOnlyCIDR */
	char hostonly_nic_type[32];   /* HostOnlyNicType */
	char hostonly_promisc[32];    /* HostOnlyPromiscMode */
	char ui_type[32];             /* UIType */
	bool hostonly_no_dhcp;        /* HostOnlyNoDHCP */
	bool no_share;                /* NoShare */
	bool dns_proxy;               /* DNSProxy */
	bool no_vtx_check;            /* NoVTXCheck */
	char share_folder[PATH_MAX];  /* ShareFolder */
};

static const struct driver_option vbox_options[] = {
	{ "virtualbox-memory", OPT_INT, "1024", "VIRTUALBOX_MEMORY_SIZE", "Size of memory for host in MB", 0, NULL },
	{ "virtualbox-cpu-count", OPT_STRING, "1", "VIRTUALBOX_CPU_COUNT", "number of CPUs for the machine (-1 to use the number of CPUs available)", 0, NULL },
	{ "virtualbox-disk-size", OPT_INT, "20000", "VIRTUALBOX_DISK_SIZE", "Size of disk for host in MB", 0, NULL },
	{ "virtualbox-boot2docker-url", OPT_STRING, NULL, "VIRTUALBOX_BOOT2DOCKER_URL", "The URL of the boot2docker image (http(s)://, file:// or a path). Defaults to machinefs's guest image (tools/guest-image)", 0, NULL },
	{ "virtualbox-import-boot2docker-vm", OPT_STRING, NULL, "VIRTUALBOX_BOOT2DOCKER_IMPORT_VM", "The name of a Boot2Docker VM to import (not supported by machinefs)", 0, NULL },
	{ "virtualbox-host-dns-resolver", OPT_BOOL, NULL, "VIRTUALBOX_HOST_DNS_RESOLVER", "Use the host DNS resolver", 0, NULL },
	{ "virtualbox-nat-nictype", OPT_STRING, "82540EM", "VIRTUALBOX_NAT_NICTYPE", "Specify the Network Adapter Type", 0, NULL },
	{ "virtualbox-hostonly-cidr", OPT_STRING, "192.168.99.1/24", "VIRTUALBOX_HOSTONLY_CIDR", "Specify the Host Only CIDR", 0, NULL },
	{ "virtualbox-hostonly-nictype", OPT_STRING, "82540EM", "VIRTUALBOX_HOSTONLY_NIC_TYPE", "Specify the Host Only Network Adapter Type", 0, NULL },
	{ "virtualbox-hostonly-nicpromisc", OPT_STRING, "deny", "VIRTUALBOX_HOSTONLY_NIC_PROMISC", "Specify the Host Only Network Adapter Promiscuous Mode", 0, NULL },
	{ "virtualbox-ui-type", OPT_STRING, "headless", "VIRTUALBOX_UI_TYPE", "Specify the UI Type: (gui|sdl|headless|separate)", 0, NULL },
	{ "virtualbox-hostonly-no-dhcp", OPT_BOOL, NULL, "VIRTUALBOX_HOSTONLY_NO_DHCP", "Disable the Host Only DHCP Server", 0, NULL },
	{ "virtualbox-no-share", OPT_BOOL, NULL, "VIRTUALBOX_NO_SHARE", "Disable the mount of your home directory", 0, NULL },
	{ "virtualbox-no-dns-proxy", OPT_BOOL, NULL, "VIRTUALBOX_NO_DNS_PROXY", "Disable proxying all DNS requests to the host", 0, NULL },
	{ "virtualbox-no-vtx-check", OPT_BOOL, NULL, "VIRTUALBOX_NO_VTX_CHECK", "Disable checking for the availability of hardware virtualization before the vm is started", 0, NULL },
	{ "virtualbox-share-folder", OPT_STRING, NULL, "VIRTUALBOX_SHARE_FOLDER", "Mount the specified directory instead of the default home location. Format: dir:name", 0, NULL },
	{ NULL },
};

extern const struct machine_driver virtualbox_driver;

#define DHCP_PREFIX "HostInterfaceNetworking-"
#define MAX_NETS 64

/* VBoxManage with a NULL-terminated argument list. */
#define VBM(ctx, out, ...) vbm_run((ctx), (out), NULL, (const char *const[]){ __VA_ARGS__, NULL })

/* Prefix ctx->err's message (which is also the argument, hence the copy). */
static int wrap_err(struct driver_ctx *ctx, int rc, const char *prefix)
{
	char why[ERR_MAX];
	snprintf(why, sizeof(why), "%s", ctx->err);
	return error_set(ctx->err, -rc, "%s%.400s", prefix, why);
}

static int wait_timeout(void)
{
	const char *t = getenv("MACHINEFS_VBOX_TIMEOUT");
	int s = t ? atoi(t) : 0;
	return s > 0 ? s : 180;
}

static bool one_of(const char *v, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(v, *set))
			return true;
	return false;
}

/* "A.B.C.D/N" with a host address: ip, mask and network, host order. */
static int parse_cidr(const char *cidr, uint32_t *ip, uint32_t *mask, char *err)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", cidr);
	char *slash = strchr(buf, '/');
	struct in_addr a;
	char *end;
	long bits = slash ? strtol(slash + 1, &end, 10) : -1;
	if (slash)
		*slash = '\0';
	if (!slash || *end || bits < 1 || bits > 30 || inet_pton(AF_INET, buf, &a) != 1)
		return error_set(err, EINVAL, "invalid host-only cidr '%s': want an address and a prefix length, like 192.168.99.1/24", cidr);
	*ip = ntohl(a.s_addr);
	*mask = bits ? ~0u << (32 - bits) : 0;
	if ((*ip & *mask) == *ip)
		return error_set(err, EINVAL, "host-only cidr must be specified with a host address, not a network address: '%s'", cidr);
	return 0;
}

static void ip_str(uint32_t ip, char *buf, size_t len)
{
	struct in_addr a = { htonl(ip) };
	inet_ntop(AF_INET, &a, buf, (socklen_t)len);
}

static int vbox_configure(struct driver_ctx *ctx)
{
	struct vbox_priv *p = ctx->priv;
	const struct machine_driver *d = &virtualbox_driver;
	const char *iu = ctx->opts ? option_set_get(ctx->opts, "engine-install-url") : NULL;
	if (iu && *iu)
		return error_set(ctx->err, EINVAL, "--engine-install-url cannot be used with the virtualbox driver, use --virtualbox-boot2docker-url instead");
	int rc = driver_opt_int(ctx, d, "virtualbox-memory", &p->memory);
	if (!rc)
		rc = driver_opt_int(ctx, d, "virtualbox-disk-size", &p->disk_size);
	if (rc)
		return rc;
	const char *cpu = driver_opt(ctx, d, "virtualbox-cpu-count");
	char *end;
	long c = strtol(cpu, &end, 10);
	if (*end || !*cpu || c < -1 || c > 1024)
		return error_set(ctx->err, EINVAL, "invalid value '%s' for option 'virtualbox-cpu-count': want a number, -1 for all CPUs", cpu);
	p->cpu = (int)c;
	if (p->memory < 4)
		return error_set(ctx->err, EINVAL, "invalid value %d for option 'virtualbox-memory': want a size in MB", p->memory);
	if (p->disk_size < 1)
		return error_set(ctx->err, EINVAL, "invalid value %d for option 'virtualbox-disk-size': want a size in MB", p->disk_size);
	static const char *const nics[] = { "Am79C970A", "Am79C973", "Am79C960", "82540EM", "82543GC", "82545EM", "virtio", NULL };
	static const char *const promisc[] = { "deny", "allow-vms", "allow-all", NULL };
	static const char *const uis[] = { "gui", "sdl", "headless", "separate", NULL };
	struct { const char *opt; char *dst; size_t len; const char *const *set; } s[] = {
		{ "virtualbox-nat-nictype", p->nat_nic_type, sizeof(p->nat_nic_type), nics },
		{ "virtualbox-hostonly-nictype", p->hostonly_nic_type, sizeof(p->hostonly_nic_type), nics },
		{ "virtualbox-hostonly-nicpromisc", p->hostonly_promisc, sizeof(p->hostonly_promisc), promisc },
		{ "virtualbox-ui-type", p->ui_type, sizeof(p->ui_type), uis },
		{ "virtualbox-hostonly-cidr", p->hostonly_cidr, sizeof(p->hostonly_cidr), NULL },
		{ "virtualbox-boot2docker-url", p->b2d_url, sizeof(p->b2d_url), NULL },
		{ "virtualbox-import-boot2docker-vm", p->import_vm, sizeof(p->import_vm), NULL },
		{ "virtualbox-share-folder", p->share_folder, sizeof(p->share_folder), NULL },
	};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		const char *v = driver_opt(ctx, d, s[i].opt);
		v = v ? v : "";
		if (strlen(v) >= s[i].len)
			return error_set(ctx->err, EINVAL, "value of option '%s' is too long", s[i].opt);
		if (s[i].set && !one_of(v, s[i].set))
			return error_set(ctx->err, EINVAL, "invalid value '%s' for option '%s'", v, s[i].opt);
		snprintf(s[i].dst, s[i].len, "%s", v);
	}
	if (*p->import_vm)
		return error_set(ctx->err, ENOTSUP, "option 'virtualbox-import-boot2docker-vm' is not supported by machinefs");
	uint32_t ip, mask;
	rc = parse_cidr(p->hostonly_cidr, &ip, &mask, ctx->err);
	if (rc)
		return rc;
	p->host_dns_resolver = driver_opt_bool(ctx, d, "virtualbox-host-dns-resolver");
	p->hostonly_no_dhcp = driver_opt_bool(ctx, d, "virtualbox-hostonly-no-dhcp");
	p->no_share = driver_opt_bool(ctx, d, "virtualbox-no-share");
	p->dns_proxy = !driver_opt_bool(ctx, d, "virtualbox-no-dns-proxy");
	p->no_vtx_check = driver_opt_bool(ctx, d, "virtualbox-no-vtx-check");
	snprintf(ctx->base->ssh_user, sizeof(ctx->base->ssh_user), "docker");
	snprintf(ctx->base->ssh_key_path, sizeof(ctx->base->ssh_key_path), "%s/id_rsa", ctx->dir);
	return 0;
}

/* Where the boot image comes from: a local file, or the cache for a URL. */
static void iso_source(const struct driver_ctx *ctx, char *path, size_t len, bool *download)
{
	const struct vbox_priv *p = ctx->priv;
	*download = false;
	if (!*p->b2d_url) {
		const char *cache = getenv("MACHINEFS_GUEST_CACHE");
		snprintf(path, len, "%s/machinefs.iso", cache && *cache ? cache : "/var/cache/machinefs/guest");
	} else if (!strncmp(p->b2d_url, "file://", 7)) {
		snprintf(path, len, "%s", p->b2d_url + 7);
	} else if (!strncmp(p->b2d_url, "http://", 7) || !strncmp(p->b2d_url, "https://", 8)) {
		snprintf(path, len, "%s/cache/boot2docker.iso", ctx->store);
		*download = true;
	} else {
		snprintf(path, len, "%s", p->b2d_url);
	}
}

/* curl asks this about once a second and between reads: 1 aborts. */
static int download_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
			     curl_off_t ultotal, curl_off_t ulnow)
{
	return driver_cancelled(arg) ? 1 : 0;
}

/* The whole download's bound: MACHINEFS_DOWNLOAD_TIMEOUT seconds (default
 * 30 minutes); a transfer that stalls below 1 KiB/s for a minute ends
 * sooner. */
static long download_timeout(void)
{
	const char *t = getenv("MACHINEFS_DOWNLOAD_TIMEOUT");
	long s = t ? atol(t) : 0;
	return s > 0 ? s : 30 * 60;
}

/* url into dst through a temp file of its own (two creates may download
 * at once), renamed into place when complete. Obeys cancel. */
static int download(struct driver_ctx *ctx, const char *url, const char *dst)
{
	char tmp[PATH_MAX + 32], dir[PATH_MAX + 8];
	if (snprintf(dir, sizeof(dir), "%s/cache", ctx->store) >= (int)sizeof(dir) ||
	    snprintf(tmp, sizeof(tmp), "%s.download-XXXXXX", dst) >= (int)sizeof(tmp))
		return error_set(ctx->err, ENAMETOOLONG, "the store path is too long for the image cache");
	int rc = mkdir_p(dir, 0700, ctx->err);
	if (rc)
		return rc;
	int fd = mkostemp(tmp, O_CLOEXEC);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "wb");
	if (!f) {
		rc = error_errno(ctx->err, errno, "cannot write '%s'", tmp);
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return rc;
	}
	long timeout = download_timeout();
	driver_log(ctx, "Downloading %s from %s (at most %ld s)...", dst, url, timeout);
	CURL *c = curl_easy_init();
	if (!c) {
		fclose(f);
		unlink(tmp);
		return error_set(ctx->err, ENOMEM, "cannot start a download");
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, download_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, ctx);
	CURLcode cc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	int closed = fclose(f);
	if (cc == CURLE_ABORTED_BY_CALLBACK)
		rc = error_set(ctx->err, EINTR, "download of '%s' cancelled", url);
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		rc = error_set(ctx->err, ETIMEDOUT, "cannot download '%s': %s", url,
			       curl_easy_strerror(cc));
	else if (cc != CURLE_OK || closed)
		rc = error_set(ctx->err, EIO, "cannot download '%s': %s", url,
			       cc != CURLE_OK ? curl_easy_strerror(cc) : "write error");
	else if (rename(tmp, dst) < 0)
		rc = error_errno(ctx->err, errno, "cannot rename '%s'", tmp);
	if (rc)
		unlink(tmp);
	return rc;
}

static int list_hostonly(struct driver_ctx *ctx, struct vbm_hostonly *nets)
{
	struct strbuf out = STRBUF_INIT;
	int rc = VBM(ctx, &out, "list", "hostonlyifs");
	if (!rc)
		rc = vbm_parse_hostonlyifs(strbuf_str(&out), nets, MAX_NETS, ctx->err);
	strbuf_release(&out);
	return rc;
}

static int vbox_precreate(struct driver_ctx *ctx)
{
	const struct vbox_priv *p = ctx->priv;
	struct strbuf out = STRBUF_INIT;
	int rc = VBM(ctx, &out, "--version");
	if (!rc) {
		int major = 0, minor = 0;
		strbuf_rtrim(&out);
		if (sscanf(strbuf_str(&out), "%d.%d", &major, &minor) != 2 || major < 4 ||
		    (major == 4 && minor <= 2))
			rc = error_set(ctx->err, ENOTSUP, "We support Virtualbox starting with version 5. Your VirtualBox install is \"%s\". Please upgrade at https://www.virtualbox.org", strbuf_str(&out));
		else if (major < 5)
			driver_log(ctx, "You are using version %s of VirtualBox. If you encounter issues, you might want to upgrade to version 5 at https://www.virtualbox.org", strbuf_str(&out));
	}
	strbuf_release(&out);
	if (rc)
		return rc;
	if (!p->no_vtx_check) {
		struct strbuf cpu = STRBUF_INIT;
		if (read_file("/proc/cpuinfo", &cpu, NULL) == 0 && !strstr(strbuf_str(&cpu), "vmx") &&
		    !strstr(strbuf_str(&cpu), "svm"))
			rc = error_set(ctx->err, ENOTSUP, "This computer doesn't have VT-X/AMD-v enabled. Enabling it in the BIOS is mandatory (to skip this check, write true to 'options/virtualbox-no-vtx-check')");
		strbuf_release(&cpu);
		if (rc)
			return rc;
	}
	char iso[PATH_MAX + 32];
	bool dl;
	iso_source(ctx, iso, sizeof(iso), &dl);
	if (dl)
		rc = download(ctx, p->b2d_url, iso);
	else if ((rc = fence_check(iso, ctx->err)))
		;
	else if (access(iso, R_OK) < 0)
		rc = *p->b2d_url ? error_errno(ctx->err, errno, "cannot read the boot image '%s'", iso)
				 : error_set(ctx->err, ENOENT, "no boot image '%s': build it with tools/guest-image/build.sh (needs xorriso) or write an ISO's path or URL to 'options/virtualbox-boot2docker-url'", iso);
	if (rc)
		return rc;
	struct vbm_hostonly nets[MAX_NETS];
	rc = list_hostonly(ctx, nets);
	return rc < 0 ? rc : 0;
}

static int make_disk(struct driver_ctx *ctx, const char *raw, const char *vmdk)
{
	const struct vbox_priv *p = ctx->priv;
	char pubpath[PATH_MAX + 8];
	snprintf(pubpath, sizeof(pubpath), "%s.pub", ctx->base->ssh_key_path);
	struct strbuf pub = STRBUF_INIT, tar = STRBUF_INIT;
	int rc = read_file(pubpath, &pub, ctx->err);
	if (rc)
		goto out;
	keytar_build(&tar, "boot2docker, please format-me", strbuf_str(&pub), pub.len);
	int fd = open(raw, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = error_errno(ctx->err, errno, "cannot create '%s'", raw);
		goto out;
	}
	/* Sparse: only the tar takes room. */
	if (write(fd, strbuf_str(&tar), tar.len) != (ssize_t)tar.len ||
	    ftruncate(fd, (off_t)p->disk_size << 20) < 0)
		rc = error_errno(ctx->err, errno, "cannot write '%s'", raw);
	close(fd);
	if (!rc)
		rc = VBM(ctx, NULL, "convertfromraw", raw, vmdk, "--format", "VMDK");
	unlink(raw);
out:
	strbuf_release(&pub);
	strbuf_release(&tar);
	return rc;
}

static int get_state(struct driver_ctx *ctx, enum machine_state *st, struct strbuf *info)
{
	struct strbuf out = STRBUF_INIT, errs = STRBUF_INIT;
	int rc = vbm_run(ctx, &out, &errs, (const char *const[]){ "showvminfo", ctx->machine, "--machinereadable", NULL });
	if (rc) {
		if (strstr(strbuf_str(&errs), "Could not find a registered machine named"))
			rc = error_set(ctx->err, ENOENT, "machine does not exist: VirtualBox has no VM named '%s'", ctx->machine);
		*st = MS_ERROR;
	} else {
		char v[64];
		*st = vbm_info_get(strbuf_str(&out), "VMState", v, sizeof(v)) ? vbm_state_of(v) : MS_NONE;
		if (info)
			strbuf_addstr(info, strbuf_str(&out));
	}
	strbuf_release(&out);
	strbuf_release(&errs);
	return rc;
}

static int vbox_state(struct driver_ctx *ctx, enum machine_state *out)
{
	return get_state(ctx, out, NULL);
}

/* Does the host-only network collide with a host interface's network
 * (not a host-only adapter's, not loopback)? */
static bool collides(uint32_t net, uint32_t mask, const struct vbm_hostonly *nets, int n)
{
	struct ifaddrs *ifa, *i;
	bool hit = false;
	if (getifaddrs(&ifa) < 0)
		return false;
	for (i = ifa; i && !hit; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !i->ifa_netmask ||
		    !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		uint32_t a = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
		uint32_t m = ntohl(((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr);
		char as[64];
		ip_str(a, as, sizeof(as));
		bool hostonly = false;
		for (int k = 0; k < n; k++)
			if (!strcmp(nets[k].ip, as))
				hostonly = true;
		if (!hostonly && (a & m) == net)
			hit = true;
	}
	freeifaddrs(ifa);
	return hit;
}

static const struct vbm_hostonly *find_adapter(const struct vbm_hostonly *nets, int n,
					       const char *ip, const char *mask)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(nets[i].ip, ip) &&
		    (!strcmp(nets[i].mask, mask) || !strcmp(nets[i].mask, "15.0.0.0")))
			return &nets[i];
	return NULL;
}

/* Docker Machine's setupHostOnlyNetwork: find or make the adapter for
 * the CIDR, its DHCP server, and plug it in as nic2. */
static int setup_hostonly(struct driver_ctx *ctx, char *adapter, size_t alen)
{
	const struct vbox_priv *p = ctx->priv;
	uint32_t ip, mask;
	int rc = parse_cidr(*p->hostonly_cidr ? p->hostonly_cidr : "192.168.99.1/24", &ip, &mask, ctx->err);
	if (rc)
		return rc;
	char ips[64], masks[64];
	ip_str(ip, ips, sizeof(ips));
	ip_str(mask, masks, sizeof(masks));
	struct vbm_hostonly nets[MAX_NETS], now[MAX_NETS];
	int n = list_hostonly(ctx, nets);
	if (n < 0)
		return n;
	if (collides(ip & mask, mask, nets, n))
		return error_set(ctx->err, EADDRINUSE, "host-only cidr conflicts with the network address of a host interface: '%s'", p->hostonly_cidr);
	const struct vbm_hostonly *a = find_adapter(nets, n, ips, masks);
	struct vbm_hostonly made;
	if (!a) {
		struct strbuf out = STRBUF_INIT;
		if (VBM(ctx, &out, "hostonlyif", "create"))
			driver_log(ctx, "Creating a new host-only adapter produced an error: %s", ctx->err);
		strbuf_release(&out);
		for (int tries = 0; tries < 10 && !a; tries++) {
			int m = list_hostonly(ctx, now);
			if (m < 0)
				return m;
			for (int i = 0; i < m && !a; i++) {
				bool old = false;
				for (int k = 0; k < n; k++)
					old |= !strcmp(nets[k].netname, now[i].netname);
				if (!old) {
					made = now[i];
					a = &made;
				}
			}
			if (!a)
				sleep(1);
		}
		if (!a)
			return error_set(ctx->err, EIO, "The host-only adapter we just created is not visible. This is a well known VirtualBox bug. You might want to uninstall it and reinstall at least version 5.0.12 that is is supposed to fix this issue");
		driver_log(ctx, "Found a new host-only adapter: \"%s\"", a->name);
		rc = VBM(ctx, NULL, "hostonlyif", "ipconfig", a->name, "--ip", ips, "--netmask", masks);
		if (rc)
			return rc;
		if (a->dhcp)
			VBM(ctx, NULL, "hostonlyif", "ipconfig", a->name, "--dhcp");
	}
	snprintf(adapter, alen, "%s", a->name);

	/* Orphan DHCP servers, then this network's. */
	struct vbm_dhcp dh[MAX_NETS];
	struct strbuf out = STRBUF_INIT;
	rc = VBM(ctx, &out, "list", "dhcpservers");
	int nd = rc ? 0 : vbm_parse_dhcpservers(strbuf_str(&out), dh, MAX_NETS);
	if (!rc && nd > 0) {
		int m = list_hostonly(ctx, now);
		if (m < 0)
			rc = m;
		for (int i = 0; !rc && i < nd; i++) {
			if (strncmp(dh[i].netname, DHCP_PREFIX, strlen(DHCP_PREFIX)))
				continue;
			bool used = false;
			for (int k = 0; k < m; k++)
				used |= !strcmp(now[k].netname, dh[i].netname);
			if (!used && VBM(ctx, NULL, "dhcpserver", "remove", "--netname", dh[i].netname))
				driver_log(ctx, "Unable to remove orphan dhcp server \"%s\": %s", dh[i].netname, ctx->err);
		}
	}
	strbuf_release(&out);
	if (rc)
		return rc;
	uint32_t dip;
	do {
		dip = (ip & ~0xffu) | (uint32_t)(rand() % 25);
	} while (dip == ip);
	char netname[160], dips[64], lower[64], upper[64];
	snprintf(netname, sizeof(netname), DHCP_PREFIX "%s", a->name);
	ip_str(dip, dips, sizeof(dips));
	ip_str(((ip & mask) & ~0xffu) | 100, lower, sizeof(lower));
	ip_str(((ip & mask) & ~0xffu) | 254, upper, sizeof(upper));
	rc = VBM(ctx, &out, "list", "dhcpservers");
	nd = rc ? 0 : vbm_parse_dhcpservers(strbuf_str(&out), dh, MAX_NETS);
	strbuf_release(&out);
	if (rc)
		return rc;
	const char *verb = "add";
	bool uptodate = false;
	for (int i = 0; i < nd; i++) {
		if (strcmp(dh[i].netname, netname))
			continue;
		verb = "modify";
		/* Docker Machine compares with a new random address; keeping a
		 * server whose address is already in the subnet spares a call. */
		struct in_addr cur;
		uptodate = inet_pton(AF_INET, dh[i].ip, &cur) == 1 &&
			   (ntohl(cur.s_addr) & mask) == (ip & mask) && ntohl(cur.s_addr) != ip &&
			   !strcmp(dh[i].mask, masks) && !strcmp(dh[i].lower, lower) &&
			   !strcmp(dh[i].upper, upper) && dh[i].enabled == !p->hostonly_no_dhcp;
	}
	if (!uptodate) {
		rc = VBM(ctx, NULL, "dhcpserver", verb, "--netname", netname, "--ip", dips,
			 "--netmask", masks, "--lowerip", lower, "--upperip", upper,
			 p->hostonly_no_dhcp ? "--disable" : "--enable");
		if (rc)
			return rc;
	}
	return VBM(ctx, NULL, "modifyvm", ctx->machine, "--nic2", "hostonly",
		   "--nictype2", p->hostonly_nic_type, "--nicpromisc2", p->hostonly_promisc,
		   "--hostonlyadapter2", a->name, "--cableconnected2", "on");
}

/* A free port on 127.0.0.1, want first. */
static int free_port(int want)
{
	for (int i = 0; i < 2; i++, want = 0) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)want),
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t len = sizeof(sa);
		int ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
			 getsockname(fd, (struct sockaddr *)&sa, &len) == 0;
		close(fd);
		if (ok)
			return ntohs(sa.sin_port);
	}
	return -EADDRINUSE;
}

static int set_ssh_forward(struct driver_ctx *ctx)
{
	int port = free_port(ctx->base->ssh_port);
	if (port < 0)
		return error_errno(ctx->err, -port, "unable to allocate tcp port");
	char rule[128];
	snprintf(rule, sizeof(rule), "ssh,tcp,127.0.0.1,%d,,22", port);
	VBM(ctx, NULL, "modifyvm", ctx->machine, "--natpf1", "delete", "ssh");
	int rc = VBM(ctx, NULL, "modifyvm", ctx->machine, "--natpf1", rule);
	if (!rc)
		ctx->base->ssh_port = port;
	return rc;
}

/* The last line of the VM's VBox.log, or the whole log. */
static int read_vbox_log(struct driver_ctx *ctx, struct strbuf *sb)
{
	char path[PATH_MAX + 300];
	snprintf(path, sizeof(path), "%s/%s/Logs/VBox.log", ctx->dir, ctx->machine);
	return read_file(path, sb, NULL);
}

static bool vtx_disabled_in_log(const char *log)
{
	for (const char *l = log; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *end = strchr(l, '\n');
		char line[1024];
		snprintf(line, sizeof(line), "%.*s", (int)(end ? end - l : (long)strlen(l)), l);
		if (strstr(line, "VT-x is disabled") &&
		    !strstr(line, "Falling back to raw-mode: VT-x is disabled in the BIOS for all CPU modes"))
			return true;
		if (strstr(line, "the host CPU does NOT support HW virtualization") ||
		    strstr(line, "VERR_VMX_UNABLE_TO_START_VM") ||
		    (strstr(line, "Power up failed") && strstr(line, "VERR_VMX_NO_VMX")))
			return true;
	}
	return false;
}

static void ssh_target_of(struct driver_ctx *ctx, struct ssh_target *t, char *known, size_t len)
{
	snprintf(known, len, "%s/known_hosts", ctx->dir);
	memset(t, 0, sizeof(*t));
	t->host = "127.0.0.1";
	t->port = ctx->base->ssh_port;
	t->user = *ctx->base->ssh_user ? ctx->base->ssh_user : "docker";
	t->key_path = ctx->base->ssh_key_path;
	t->known_hosts = known;
	t->connect_timeout_ms = 5000;
	t->cancel = ctx->cancel;
	t->log_fn = ctx->log_fn;
	t->log_arg = ctx->log_arg;
}

/* The IPv4 address after the "link/ether MAC" line whose MAC (no colons,
 * lower case) is mac, in `ip addr show` output. */
static bool ip_for_mac(const char *out, const char *mac, char *ip, size_t len)
{
	bool in = false;
	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		while (*l == ' ' || *l == '\t')
			l++;
		char w1[64], w2[64];
		if (sscanf(l, "%63s %63s", w1, w2) != 2)
			continue;
		if (!strncmp(w1, "link", 4)) {
			char m[64];
			size_t k = 0;
			for (const char *c = w2; *c && k + 1 < sizeof(m); c++)
				if (*c != ':')
					m[k++] = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
			m[k] = '\0';
			in = !strcmp(m, mac);
		} else if (in && !strcmp(w1, "inet")) {
			w2[strcspn(w2, "/")] = '\0';
			snprintf(ip, len, "%s", w2);
			return true;
		}
	}
	return false;
}

/* The host-only address: the guest property first, else over SSH. */
static int get_ip(struct driver_ctx *ctx, char *ip, size_t len)
{
	struct strbuf out = STRBUF_INIT, info = STRBUF_INIT;
	enum machine_state st;
	int rc = get_state(ctx, &st, &info);
	if (!rc && st != MS_RUNNING)
		rc = error_set(ctx->err, EHOSTDOWN, "Host is not running");
	if (!rc)
		rc = VBM(ctx, &out, "guestproperty", "get", ctx->machine, "/VirtualBox/GuestInfo/Net/1/V4/IP");
	if (!rc && !strncmp(strbuf_str(&out), "Value: ", 7)) {
		strbuf_rtrim(&out);
		snprintf(ip, len, "%s", strbuf_str(&out) + 7);
		goto done;
	}
	if (rc)
		goto done;
	/* Docker Machine's way: the MAC of the host-only nic, then its
	 * address in `ip addr show` over SSH. */
	char nic[16] = "", key[32], mac[64];
	for (int i = 1; i <= 8 && !*nic; i++) {
		snprintf(key, sizeof(key), "hostonlyadapter%d", i);
		if (vbm_info_get(strbuf_str(&info), key, mac, sizeof(mac)))
			snprintf(nic, sizeof(nic), "%d", i);
	}
	snprintf(key, sizeof(key), "macaddress%s", nic);
	if (!*nic || !vbm_info_get(strbuf_str(&info), key, mac, sizeof(mac))) {
		rc = error_set(ctx->err, ENOENT, "Machine does not have a host-only adapter");
		goto done;
	}
	for (char *c = mac; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
	struct ssh_target t;
	char known[PATH_MAX + 16];
	ssh_target_of(ctx, &t, known, sizeof(known));
	struct ssh_conn *c;
	rc = ssh_connect(&t, &c, ctx->err);
	if (rc)
		goto done;
	strbuf_reset(&out);
	rc = ssh_run(c, "ip addr show", &out, 30000, ctx->err);
	ssh_close(c);
	if (!rc && !ip_for_mac(strbuf_str(&out), mac, ip, len))
		rc = error_set(ctx->err, ENOENT, "Could not find matching IP for MAC address %s", mac);
done:
	strbuf_release(&out);
	strbuf_release(&info);
	return rc;
}

static int wait_ip(struct driver_ctx *ctx)
{
	driver_log(ctx, "Waiting for an IP...");
	char ip[64];
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, wait_timeout(), 2000); driver_wait_next(&w);) {
		int rc = get_ip(ctx, ip, sizeof(ip));
		if (!rc) {
			snprintf(ctx->base->ip, sizeof(ctx->base->ip), "%s", ip);
			driver_log(ctx, "IP is %s", ip);
			return 0;
		}
		if (driver_cancelled(ctx))
			break;
	}
	if (!w.timed_out)
		return error_set(ctx->err, EINTR, "waiting for the address of '%s' was cancelled", ctx->machine);
	char why[ERR_MAX];
	snprintf(why, sizeof(why), "%s", ctx->err);
	return error_set(ctx->err, ETIMEDOUT, "no IP address for '%s' within %d s: %.300s",
			 ctx->machine, wait_timeout(), why);
}

static int vbox_start(struct driver_ctx *ctx)
{
	const struct vbox_priv *p = ctx->priv;
	enum machine_state st;
	int rc = get_state(ctx, &st, NULL);
	if (rc)
		return rc;
	char adapter[64] = "";
	if (st == MS_STOPPED) {
		driver_log(ctx, "Check network to re-create if needed...");
		rc = setup_hostonly(ctx, adapter, sizeof(adapter));
		if (rc)
			return wrap_err(ctx, rc, "Error setting up host only network on machine start: ");
	}
	if (st == MS_STOPPED || st == MS_SAVED) {
		rc = set_ssh_forward(ctx);
		if (!rc)
			rc = VBM(ctx, NULL, "startvm", ctx->machine, "--type", p->ui_type);
		if (rc) {
			char why[ERR_MAX];
			snprintf(why, sizeof(why), "%s", ctx->err);
			struct strbuf log = STRBUF_INIT;
			if (read_vbox_log(ctx, &log) == 0 && log.len) {
				strbuf_rtrim(&log);
				const char *nl = strrchr(strbuf_str(&log), '\n');
				error_set(ctx->err, -rc, "Unable to start the VM: %.200s; details: %.200s", why,
					  nl ? nl + 1 : strbuf_str(&log));
			} else {
				error_set(ctx->err, -rc, "Unable to start the VM: %.400s", why);
			}
			strbuf_release(&log);
			return rc;
		}
	} else if (st == MS_PAUSED) {
		rc = VBM(ctx, NULL, "controlvm", ctx->machine, "resume", "--type", p->ui_type);
		if (rc)
			return rc;
		driver_log(ctx, "Resuming VM ...");
	} else {
		driver_log(ctx, "VM not in restartable state");
	}
	if (!p->no_vtx_check) {
		struct strbuf log = STRBUF_INIT;
		if (read_vbox_log(ctx, &log))
			rc = error_set(ctx->err, EIO, "Checking if hardware virtualization is enabled failed: cannot read '%s/%s/Logs/VBox.log'", ctx->dir, ctx->machine);
		else if (vtx_disabled_in_log(strbuf_str(&log)))
			rc = error_set(ctx->err, ENOTSUP, "This computer doesn't have VT-X/AMD-v enabled. Enabling it in the BIOS is mandatory");
		strbuf_release(&log);
		if (rc)
			return rc;
	}
	rc = wait_ip(ctx);
	if (rc || !*adapter)
		return rc;
	/* The adapter we set up must still have its address. */
	struct vbm_hostonly nets[MAX_NETS];
	int n = list_hostonly(ctx, nets);
	if (n < 0)
		return n;
	uint32_t ip, mask;
	char ips[64], masks[64];
	parse_cidr(p->hostonly_cidr, &ip, &mask, ctx->err);
	ip_str(ip, ips, sizeof(ips));
	ip_str(mask, masks, sizeof(masks));
	if (!find_adapter(nets, n, ips, masks))
		return error_set(ctx->err, EIO, "the host-only adapter '%s' lost its address %s: stop the machine and start it again", adapter, ips);
	return 0;
}

static int wait_ssh(struct driver_ctx *ctx)
{
	driver_log(ctx, "Waiting for SSH to be available...");
	struct ssh_target t;
	char known[PATH_MAX + 16];
	ssh_target_of(ctx, &t, known, sizeof(known));
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, wait_timeout(), 1000); driver_wait_next(&w);) {
		struct ssh_conn *c;
		int rc = ssh_connect(&t, &c, ctx->err);
		if (!rc) {
			rc = ssh_run(c, "exit 0", NULL, 10000, ctx->err);
			ssh_close(c);
			if (!rc)
				return 0;
		}
		if (driver_cancelled(ctx))
			break;
	}
	if (!w.timed_out)
		return error_set(ctx->err, EINTR, "waiting for SSH on '%s' was cancelled", ctx->machine);
	char why[ERR_MAX];
	snprintf(why, sizeof(why), "%s", ctx->err);
	return error_set(ctx->err, ETIMEDOUT,
			 "SSH on 127.0.0.1:%d (forwarded to '%s':22) did not answer within %d s: %.300s",
			 t.port, ctx->machine, wait_timeout(), why);
}

static int vbox_create(struct driver_ctx *ctx)
{
	const struct vbox_priv *p = ctx->priv;
	char src[PATH_MAX + 32], iso[PATH_MAX + 32], vmdk[PATH_MAX + 32], raw[PATH_MAX + 32];
	bool dl;
	iso_source(ctx, src, sizeof(src), &dl);
	snprintf(iso, sizeof(iso), "%s/boot2docker.iso", ctx->dir);
	snprintf(vmdk, sizeof(vmdk), "%s/disk.vmdk", ctx->dir);
	snprintf(raw, sizeof(raw), "%s/disk.raw", ctx->dir);
	driver_log(ctx, "Copying %s to %s...", src, iso);
	int rc = copy_file(src, iso, 0644, ctx->err);
	if (rc)
		return rc;
	driver_log(ctx, "Creating VirtualBox VM...");
	driver_log(ctx, "Creating SSH key...");
	rc = sshkey_generate_rsa(ctx->base->ssh_key_path, ctx->err);
	if (!rc)
		rc = make_disk(ctx, raw, vmdk);
	if (!rc)
		rc = VBM(ctx, NULL, "createvm", "--basefolder", ctx->dir, "--name", ctx->machine, "--register");
	if (rc)
		return rc;
	int cpus = p->cpu;
	if (cpus < 1)
		cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus > 32)
		cpus = 32;
	char cpus_s[16], mem_s[16];
	snprintf(cpus_s, sizeof(cpus_s), "%d", cpus);
	snprintf(mem_s, sizeof(mem_s), "%d", p->memory);
	rc = VBM(ctx, NULL, "modifyvm", ctx->machine,
		 "--firmware", "bios", "--bioslogofadein", "off", "--bioslogofadeout", "off",
		 "--bioslogodisplaytime", "0", "--biosbootmenu", "disabled",
		 "--ostype", "Linux26_64", "--cpus", cpus_s, "--memory", mem_s,
		 "--acpi", "on", "--ioapic", "on", "--rtcuseutc", "on",
		 "--natdnshostresolver1", p->host_dns_resolver ? "on" : "off",
		 "--natdnsproxy1", p->dns_proxy ? "on" : "off",
		 "--cpuhotplug", "off", "--pae", "on", "--hpet", "on", "--hwvirtex", "on",
		 "--nestedpaging", "on", "--largepages", "on", "--vtxvpid", "on",
		 "--accelerate3d", "off", "--boot1", "dvd");
	if (!rc)
		rc = VBM(ctx, NULL, "modifyvm", ctx->machine, "--nic1", "nat", "--nictype1",
			 p->nat_nic_type, "--cableconnected1", "on");
	if (!rc)
		rc = VBM(ctx, NULL, "storagectl", ctx->machine, "--name", "SATA", "--add", "sata",
			 "--hostiocache", "on");
	if (!rc)
		rc = VBM(ctx, NULL, "storageattach", ctx->machine, "--storagectl", "SATA", "--port", "0",
			 "--device", "0", "--type", "dvddrive", "--medium", iso);
	if (!rc)
		rc = VBM(ctx, NULL, "storageattach", ctx->machine, "--storagectl", "SATA", "--port", "1",
			 "--device", "0", "--type", "hdd", "--medium", vmdk);
	if (!rc)
		rc = VBM(ctx, NULL, "guestproperty", "set", ctx->machine,
			 "/VirtualBox/GuestAdd/SharedFolders/MountPrefix", "/");
	if (!rc)
		rc = VBM(ctx, NULL, "guestproperty", "set", ctx->machine,
			 "/VirtualBox/GuestAdd/SharedFolders/MountDir", "/");
	if (rc)
		return rc;
	/* Linux: /home as "hosthome", or dir:name from the option. */
	char dir[PATH_MAX] = "/home", name[256] = "hosthome";
	if (*p->share_folder) {
		const char *colon = strrchr(p->share_folder, ':');
		size_t dirlen = colon ? (size_t)(colon - p->share_folder) : strlen(p->share_folder);
		if (dirlen >= sizeof(dir) ||
		    snprintf(name, sizeof(name), "%s", colon ? colon + 1 : "") >= (int)sizeof(name))
			return error_set(ctx->err, ENAMETOOLONG,
					 "virtualbox-share-folder '%.64s...' is too long", p->share_folder);
		snprintf(dir, sizeof(dir), "%.*s", (int)dirlen, p->share_folder);
	}
	struct stat sb;
	if (!p->no_share && *dir && !fence_check(dir, NULL) && stat(dir, &sb) == 0) {
		if (!*name) {
			const char *d = dir;
			while (*d == '/')
				d++;
			if (snprintf(name, sizeof(name), "%s", d) >= (int)sizeof(name))
				return error_set(ctx->err, ENAMETOOLONG,
						 "shared folder '%.64s...' is too long for a share name: write dir:name to 'options/virtualbox-share-folder'",
						 dir);
		}
		char extra[320];
		snprintf(extra, sizeof(extra), "VBoxInternal2/SharedFoldersEnableSymlinksCreate/%s", name);
		rc = VBM(ctx, NULL, "sharedfolder", "add", ctx->machine, "--name", name, "--hostpath",
			 dir, "--automount");
		if (!rc)
			rc = VBM(ctx, NULL, "setextradata", ctx->machine, extra, "1");
		if (rc)
			return rc;
	}
	driver_log(ctx, "Starting the VM...");
	rc = vbox_start(ctx);
	if (!rc)
		rc = wait_ssh(ctx);
	return rc;
}

static int vbox_stop(struct driver_ctx *ctx)
{
	enum machine_state st;
	int rc = get_state(ctx, &st, NULL);
	if (rc)
		return rc;
	if (st == MS_PAUSED) {
		rc = VBM(ctx, NULL, "controlvm", ctx->machine, "resume");
		if (rc)
			return rc;
		driver_log(ctx, "Resuming VM ...");
	}
	rc = VBM(ctx, NULL, "controlvm", ctx->machine, "acpipowerbutton");
	if (rc)
		return rc;
	bool down = false;
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, wait_timeout(), 1000); !down && driver_wait_next(&w);) {
		rc = get_state(ctx, &st, NULL);
		if (rc)
			return rc;
		down = st != MS_RUNNING;
		if (!down && driver_cancelled(ctx))
			break;
	}
	if (!down && !w.timed_out)
		return error_set(ctx->err, EINTR, "stop of '%s' was cancelled", ctx->machine);
	if (!down)
		return error_set(ctx->err, ETIMEDOUT, "'%s' still running %d s after the ACPI power button: write kill to 'ctl'", ctx->machine, wait_timeout());
	ctx->base->ip[0] = '\0';
	return 0;
}

static int vbox_restart(struct driver_ctx *ctx)
{
	/* Docker Machine's `restart` starts a stopped machine. */
	enum machine_state st;
	int rc = get_state(ctx, &st, NULL);
	if (rc)
		return rc;
	if (st == MS_STOPPED || st == MS_SAVED)
		return vbox_start(ctx);
	rc = vbox_stop(ctx);
	if (rc)
		return wrap_err(ctx, rc, "Problem stopping the VM: ");
	rc = vbox_start(ctx);
	if (rc)
		return wrap_err(ctx, rc, "Problem starting the VM: ");
	return 0;
}

static int vbox_kill(struct driver_ctx *ctx)
{
	int rc = VBM(ctx, NULL, "controlvm", ctx->machine, "poweroff");
	if (!rc)
		ctx->base->ip[0] = '\0';
	return rc;
}

static int vbox_remove(struct driver_ctx *ctx)
{
	enum machine_state st;
	int rc = get_state(ctx, &st, NULL);
	if (rc == -ENOENT) {
		driver_log(ctx, "machine does not exist, assuming it has been removed already");
		return 0;
	}
	if (rc)
		return rc;
	if (st != MS_STOPPED && st != MS_SAVED) {
		rc = vbox_kill(ctx);
		if (rc)
			return rc;
	}
	return VBM(ctx, NULL, "unregistervm", "--delete", ctx->machine);
}

static int vbox_url(struct driver_ctx *ctx, char *buf, size_t len)
{
	if (!*ctx->base->ip)
		return -ENOENT;
	snprintf(buf, len, "tcp://%s:2376", ctx->base->ip);
	return 0;
}

/* Docker Machine's GetSSHHostname: SSH goes through the NAT forward. */
static const char *vbox_ssh_host(struct driver_ctx *ctx)
{
	(void)ctx;
	return "127.0.0.1";
}

static void load_str(const cJSON *obj, const char *key, char *dst, size_t len, const char *def)
{
	snprintf(dst, len, "%s", json_str(obj, key, def));
}

static int vbox_load(struct driver_ctx *ctx, const cJSON *obj)
{
	struct vbox_priv *p = ctx->priv;
	p->cpu = (int)json_int(obj, "CPU", 1);
	p->memory = (int)json_int(obj, "Memory", 1024);
	p->disk_size = (int)json_int(obj, "DiskSize", 20000);
	load_str(obj, "NatNicType", p->nat_nic_type, sizeof(p->nat_nic_type), "82540EM");
	load_str(obj, "Boot2DockerURL", p->b2d_url, sizeof(p->b2d_url), "");
	load_str(obj, "Boot2DockerImportVM", p->import_vm, sizeof(p->import_vm), "");
	p->host_dns_resolver = json_bool(obj, "HostDNSResolver", false);
	load_str(obj, "HostOnlyCIDR", p->hostonly_cidr, sizeof(p->hostonly_cidr), "192.168.99.1/24");
	load_str(obj, "HostOnlyNicType", p->hostonly_nic_type, sizeof(p->hostonly_nic_type), "82540EM");
	load_str(obj, "HostOnlyPromiscMode", p->hostonly_promisc, sizeof(p->hostonly_promisc), "deny");
	load_str(obj, "UIType", p->ui_type, sizeof(p->ui_type), "headless");
	p->hostonly_no_dhcp = json_bool(obj, "HostOnlyNoDHCP", false);
	p->no_share = json_bool(obj, "NoShare", false);
	p->dns_proxy = json_bool(obj, "DNSProxy", true);
	p->no_vtx_check = json_bool(obj, "NoVTXCheck", false);
	load_str(obj, "ShareFolder", p->share_folder, sizeof(p->share_folder), "");
	if (!*p->hostonly_cidr) /* Docker Machine 0.2 records */
		snprintf(p->hostonly_cidr, sizeof(p->hostonly_cidr), "192.168.99.1/24");
	if (!*ctx->base->ssh_user)
		snprintf(ctx->base->ssh_user, sizeof(ctx->base->ssh_user), "docker");
	return 0;
}

/* After the BaseDriver keys, in Docker Machine 0.16's order (its
 * VBoxManager and HostInterfaces interfaces marshal as {}). */
static int vbox_save(const struct driver_ctx *ctx, cJSON *obj)
{
	const struct vbox_priv *p = ctx->priv;
	json_put(obj, "VBoxManager", cJSON_CreateObject());
	json_put(obj, "HostInterfaces", cJSON_CreateObject());
	json_put_int(obj, "CPU", p->cpu);
	json_put_int(obj, "Memory", p->memory);
	json_put_int(obj, "DiskSize", p->disk_size);
	json_put_str(obj, "NatNicType", p->nat_nic_type);
	json_put_str(obj, "Boot2DockerURL", p->b2d_url);
	json_put_str(obj, "Boot2DockerImportVM", p->import_vm);
	json_put_bool(obj, "HostDNSResolver", p->host_dns_resolver);
	json_put_str(obj, "HostOnlyCIDR", p->hostonly_cidr);
	json_put_str(obj, "HostOnlyNicType", p->hostonly_nic_type);
	json_put_str(obj, "HostOnlyPromiscMode", p->hostonly_promisc);
	json_put_str(obj, "UIType", p->ui_type);
	json_put_bool(obj, "HostOnlyNoDHCP", p->hostonly_no_dhcp);
	json_put_bool(obj, "NoShare", p->no_share);
	json_put_bool(obj, "DNSProxy", p->dns_proxy);
	json_put_bool(obj, "NoVTXCheck", p->no_vtx_check);
	json_put_str(obj, "ShareFolder", p->share_folder);
	return 0;
}

const struct machine_driver virtualbox_driver = {
	.name = "virtualbox",
	.supports = DRV_START | DRV_STOP | DRV_RESTART | DRV_KILL | DRV_SSH | DRV_REMOVE,
	.options = vbox_options,
	.priv_size = sizeof(struct vbox_priv),
	.configure = vbox_configure,
	.precreate_check = vbox_precreate,
	.create = vbox_create,
	.remove = vbox_remove,
	.start = vbox_start,
	.stop = vbox_stop,
	.restart = vbox_restart,
	.kill = vbox_kill,
	.state = vbox_state,
	.url = vbox_url,
	.ssh_host = vbox_ssh_host,
	.load = vbox_load,
	.save = vbox_save,
};
