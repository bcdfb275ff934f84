/* The "vmwarevsphere" driver: Docker Machine 0.16's drivers/vmwarevsphere
 * over vSphere's SOAP API (drivers/vsphere_soap.c), the same calls in the
 * same order:
 *   precreate  RetrieveServiceContent, Login, the finder's defaults
 *              (datacenter, folder, datastore, networks, host, pool) from
 *              one PropertyCollector walk of the inventory
 *   create     CreateVM_Task (a pvscsi controller), PUT of the ISO to
 *              [datastore] NAME/boot2docker.iso, ReconfigVM_Task (disk,
 *              cdrom with the ISO, vmxnet3 NICs, guestinfo.* extraConfig),
 *              PowerOnVM_Task, guest.ipAddress/guest.net until an IP
 *   state      summary.runtime.powerState: poweredOn Running, poweredOff
 *              Stopped, suspended Paused
 *   stop       ShutdownGuest (then, unlike Docker Machine, wait until off)
 *   kill       PowerOffVM_Task; start PowerOnVM_Task + the IP again
 *   remove     PowerOffVM_Task (if on), DeleteDatastoreFile_Task of the
 *              ISO, Destroy_Task (gone already = success)
 * The SSH key: Docker Machine copied a tar into the guest with guest
 * operations (VMware Tools, user docker/tcuser); machinefs's guest image
 * has neither, so the key goes into the VM's extraConfig as
 * guestinfo.machinefs.authorized-keys (with guestinfo.machinefs.hostname)
 * for the guest image to read at boot through VMware's GuestRPC
 * (tools/guest-image/README.md, "VMware"; never tried on a real vSphere).
 * TLS: the system CAs ($CURL_CA_BUNDLE), or a pinned certificate
 * thumbprint (vmwarevsphere-thumbprint), or none when the user says
 * vmwarevsphere-insecure. No orphans: the VM's id is saved
 * (driver_checkpoint) as soon as CreateVM_Task returns it, and a failed
 * create powers off and destroys it and deletes the ISO. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "drivers/driver.h"
#include "drivers/http.h"
#include "drivers/sshkey.h"
#include "drivers/vsphere_soap.h"
#include "drivers/wait.h"
#include "lib/fence.h"
#include "lib/fileutil.h"
#include "lib/json.h"

#define ISO_NAME "boot2docker.iso"
#define TASK_WAIT_S 600
#define IP_WAIT_S 600   /* Docker Machine waits for ever */
#define STOP_WAIT_S 120 /* as Docker Machine's Restart */
#define GUEST_KEY "guestinfo.machinefs.authorized-keys"

struct vs_priv {
	int memory;                 /* Memory (MB) */
	int disk_size;              /* DiskSize (MB) */
	int cpu;                    /* CPU */
	int cpus;                   /* CPUS (Docker Machine's unused default) */
	char iso[PATH_MAX];         /* ISO: the image uploaded */
	char b2d_url[PATH_MAX];     /* Boot2DockerURL */
	char vcenter[256];          /* IP */
	int port;                   /* Port */
	char username[256];         /* Username */
	char password[512];         /* Password (secret) */
	char network[256];          /* Network: the first of Networks */
	char networks[2048];        /* Networks, one a line */
	char datastore[256];        /* Datastore */
	char datacenter[256];       /* Datacenter */
	char folder[512];           /* Folder */
	char pool[512];             /* Pool */
	char hostsystem[512];       /* HostSystem */
	char cfgparams[4096];       /* CfgParams, one a line */
	char cloudinit[PATH_MAX];   /* CloudInit */
	char ssh_password[64];      /* SSHPassword */
	char thumbprint[160];       /* Thumbprint: machinefs */
	bool insecure;              /* Insecure: machinefs */
	char vm_ref[96];            /* VMRef: machinefs, the VM's moref */
	char dc_path[1024];         /* DatacenterPath: machinefs */
	char ds_name[256];          /* DatastoreName: machinefs, where the ISO is */
	bool iso_uploaded;          /* ISOUploaded: machinefs */
	bool create_sent;           /* CreateVM_Task was sent (not saved) */
};

static const struct driver_option vs_options[] = {
	{ "vmwarevsphere-cpu-count", OPT_INT, "2", "VSPHERE_CPU_COUNT", "vSphere CPU number for docker VM", 0, NULL },
	{ "vmwarevsphere-memory-size", OPT_INT, "2048", "VSPHERE_MEMORY_SIZE", "vSphere size of memory for docker VM (in MB)", 0, NULL },
	{ "vmwarevsphere-disk-size", OPT_INT, "20480", "VSPHERE_DISK_SIZE", "vSphere size of disk for docker VM (in MB)", 0, NULL },
	{ "vmwarevsphere-boot2docker-url", OPT_STRING, NULL, "VSPHERE_BOOT2DOCKER_URL", "vSphere URL for boot2docker image (here: a local ISO path; default machinefs's guest image, tools/guest-image)", 0, NULL },
	{ "vmwarevsphere-vcenter", OPT_STRING, NULL, "VSPHERE_VCENTER", "vSphere IP/hostname for vCenter", 0, NULL },
	{ "vmwarevsphere-vcenter-port", OPT_INT, "443", "VSPHERE_VCENTER_PORT", "vSphere Port for vCenter", 0, NULL },
	{ "vmwarevsphere-username", OPT_STRING, NULL, "VSPHERE_USERNAME", "vSphere username", 0, NULL },
	{ "vmwarevsphere-password", OPT_STRING, NULL, "VSPHERE_PASSWORD", "vSphere password", OPT_SECRET, "Password" },
	{ "vmwarevsphere-network", OPT_LIST, NULL, "VSPHERE_NETWORK", "vSphere network where the docker VM will be attached", 0, NULL },
	{ "vmwarevsphere-datastore", OPT_STRING, NULL, "VSPHERE_DATASTORE", "vSphere datastore for docker VM", 0, NULL },
	{ "vmwarevsphere-datacenter", OPT_STRING, NULL, "VSPHERE_DATACENTER", "vSphere datacenter for docker VM", 0, NULL },
	{ "vmwarevsphere-folder", OPT_STRING, NULL, "VSPHERE_FOLDER", "vSphere folder for the docker VM. This folder must already exist in the datacenter.", 0, NULL },
	{ "vmwarevsphere-pool", OPT_STRING, NULL, "VSPHERE_POOL", "vSphere resource pool for docker VM", 0, NULL },
	{ "vmwarevsphere-hostsystem", OPT_STRING, NULL, "VSPHERE_HOSTSYSTEM", "vSphere compute resource where the docker VM will be instantiated. This can be omitted if using a cluster with DRS.", 0, NULL },
	{ "vmwarevsphere-cfgparam", OPT_LIST, NULL, "VSPHERE_CFGPARAM", "vSphere vm configuration parameters (used for guestinfo)", 0, NULL },
	{ "vmwarevsphere-cloudinit", OPT_STRING, NULL, "VSPHERE_CLOUDINIT", "vSphere cloud-init file or url to set in the guestinfo", 0, NULL },
	{ "vmwarevsphere-thumbprint", OPT_STRING, NULL, "VSPHERE_THUMBPRINT", "The vCenter certificate's SHA-1 or SHA-256 thumbprint (AA:BB:...), trusted instead of the system CAs (machinefs)", 0, NULL },
	{ "vmwarevsphere-insecure", OPT_BOOL, NULL, "VSPHERE_INSECURE", "Do not check the vCenter's certificate at all (machinefs; Docker Machine never checked it)", 0, NULL },
	{ NULL },
};

extern const struct machine_driver vmwarevsphere_driver;

/* ---- options ---- */

static int put(struct driver_ctx *ctx, char *dst, size_t len, const char *name)
{
	return driver_opt_copy(ctx, &vmwarevsphere_driver, name, dst, len);
}

static int put_int(struct driver_ctx *ctx, int *dst, const char *name, long lo, long hi)
{
	return driver_opt_range(ctx, &vmwarevsphere_driver, name, lo, hi, dst);
}

/* A list option (one value a line; a comma-separated environment
 * variable, as urfave/cli's StringSlice) into dst, one value a line. */
static int put_list(struct driver_ctx *ctx, char *dst, size_t len, const char *name)
{
	const char *v = ctx->opts ? option_set_get(ctx->opts, name) : NULL;
	struct strbuf sb = STRBUF_INIT;
	if (v && *v) {
		strbuf_addstr(&sb, v);
	} else {
		const struct driver_option *o = driver_option_find(&vmwarevsphere_driver, name);
		const char *e = o && o->env ? getenv(o->env) : NULL;
		for (; e && *e; e++)
			strbuf_addch(&sb, *e == ',' ? '\n' : *e);
	}
	strbuf_rtrim(&sb);
	int rc = 0;
	if (sb.len >= len)
		rc = error_set(ctx->err, EINVAL, "value of option '%s' is too long (at most %zu bytes)",
			       name, len - 1);
	else
		snprintf(dst, len, "%s", strbuf_str(&sb));
	strbuf_release(&sb);
	return rc;
}

static void iso_default(char *buf, size_t len)
{
	const char *cache = getenv("MACHINEFS_GUEST_CACHE");
	snprintf(buf, len, "%s/machinefs.iso", cache && *cache ? cache : "/var/cache/machinefs/guest");
}

static int vs_configure(struct driver_ctx *ctx)
{
	struct vs_priv *p = ctx->priv;
	int rc;
	if ((rc = put_int(ctx, &p->cpu, "vmwarevsphere-cpu-count", 1, 768)) ||
	    (rc = put_int(ctx, &p->memory, "vmwarevsphere-memory-size", 4, 24 * 1024 * 1024)) ||
	    (rc = put_int(ctx, &p->disk_size, "vmwarevsphere-disk-size", 1, 62 * 1024 * 1024)) ||
	    (rc = put_int(ctx, &p->port, "vmwarevsphere-vcenter-port", 1, 65535)) ||
	    (rc = put(ctx, p->b2d_url, sizeof(p->b2d_url), "vmwarevsphere-boot2docker-url")) ||
	    (rc = put(ctx, p->vcenter, sizeof(p->vcenter), "vmwarevsphere-vcenter")) ||
	    (rc = put(ctx, p->username, sizeof(p->username), "vmwarevsphere-username")) ||
	    (rc = put(ctx, p->password, sizeof(p->password), "vmwarevsphere-password")) ||
	    (rc = put_list(ctx, p->networks, sizeof(p->networks), "vmwarevsphere-network")) ||
	    (rc = put(ctx, p->datastore, sizeof(p->datastore), "vmwarevsphere-datastore")) ||
	    (rc = put(ctx, p->datacenter, sizeof(p->datacenter), "vmwarevsphere-datacenter")) ||
	    (rc = put(ctx, p->folder, sizeof(p->folder), "vmwarevsphere-folder")) ||
	    (rc = put(ctx, p->pool, sizeof(p->pool), "vmwarevsphere-pool")) ||
	    (rc = put(ctx, p->hostsystem, sizeof(p->hostsystem), "vmwarevsphere-hostsystem")) ||
	    (rc = put_list(ctx, p->cfgparams, sizeof(p->cfgparams), "vmwarevsphere-cfgparam")) ||
	    (rc = put(ctx, p->cloudinit, sizeof(p->cloudinit), "vmwarevsphere-cloudinit")) ||
	    (rc = put(ctx, p->thumbprint, sizeof(p->thumbprint), "vmwarevsphere-thumbprint")))
		return rc;
	if (!*p->vcenter)
		return error_set(ctx->err, EINVAL,
				 "vmwarevsphere driver requires the --vmwarevsphere-vcenter option: write it to 'options/vmwarevsphere-vcenter'");
	for (const char *s = p->vcenter; *s; s++)
		if ((unsigned char)*s <= ' ' || strchr("/?#@\\", *s))
			return error_set(ctx->err, EINVAL,
					 "invalid value '%.100s' for option 'vmwarevsphere-vcenter': want a host name or address",
					 p->vcenter);
	if (*p->thumbprint) {
		size_t hex = 0;
		for (const char *s = p->thumbprint; *s; s++) {
			if (strchr("0123456789abcdefABCDEF", *s))
				hex++;
			else if (*s != ':')
				hex = 1000;
		}
		if (hex != 40 && hex != 64)
			return error_set(ctx->err, EINVAL,
					 "invalid value '%.100s' for option 'vmwarevsphere-thumbprint': want a SHA-1 or SHA-256 thumbprint (AA:BB:...)",
					 p->thumbprint);
	}
	p->insecure = driver_opt_env_bool(ctx, &vmwarevsphere_driver, "vmwarevsphere-insecure");
	/* Docker Machine: "Sanitize input on ingress." */
	char *f = p->folder;
	while (*f == '/')
		memmove(f, f + 1, strlen(f));
	size_t fl = strlen(f);
	while (fl && f[fl - 1] == '/')
		f[--fl] = '\0';
	if (!*p->networks)
		snprintf(p->networks, sizeof(p->networks), "VM Network"); /* machine assumes there will be a network */
	snprintf(p->network, sizeof(p->network), "%.*s", (int)strcspn(p->networks, "\n"), p->networks);
	p->cpus = 2;
	snprintf(p->ssh_password, sizeof(p->ssh_password), "tcuser");
	if (*p->b2d_url) {
		const char *u = p->b2d_url;
		if (!strncmp(u, "file://", 7))
			u += 7;
		if (strstr(u, "://"))
			return error_set(ctx->err, EINVAL,
					 "vmwarevsphere-boot2docker-url: only a local ISO (a path or file://) is supported, not '%.100s'",
					 p->b2d_url);
		snprintf(p->iso, sizeof(p->iso), "%s", u);
	} else {
		iso_default(p->iso, sizeof(p->iso));
	}
	p->vm_ref[0] = p->dc_path[0] = p->ds_name[0] = '\0';
	p->iso_uploaded = false;
	snprintf(ctx->base->ssh_user, sizeof(ctx->base->ssh_user), "docker");
	ctx->base->ssh_port = 22;
	ctx->base->ip[0] = '\0';
	snprintf(ctx->base->ssh_key_path, sizeof(ctx->base->ssh_key_path), "%s/id_ed25519", ctx->dir);
	return 0;
}

/* ---- the session ---- */

static int login(struct driver_ctx *ctx, struct vs_conn *c)
{
	const struct vs_priv *p = ctx->priv;
	if (!*p->vcenter)
		return error_set(ctx->err, EINVAL, "no vCenter recorded for '%s'", ctx->machine);
	struct vs_target t = {
		.host = p->vcenter, .port = p->port ? p->port : 443,
		.user = p->username, .password = p->password,
		.thumbprint = p->thumbprint, .insecure = p->insecure,
	};
	return vs_connect(c, ctx, &t);
}

/* ---- the finder (govmomi's find.Finder, as Docker Machine uses it) ---- */

static bool type_in(const struct vs_obj *o, const char *const *types)
{
	for (; *types; types++)
		if (!strcmp(o->mor.type, *types))
			return true;
	return false;
}

/* Whether path is under (or is) dir + "/" + rel, where rel may hold one
 * "*" segment (the default pool's "*\/Resources"). */
static bool path_is(const char *path, const char *dir, const char *rel)
{
	char want[2048];
	snprintf(want, sizeof(want), "%s/%s", dir, rel);
	const char *star = strstr(want, "*");
	if (!star)
		return !strcmp(path, want);
	size_t pre = (size_t)(star - want);
	if (strncmp(path, want, pre))
		return false;
	const char *rest = path + pre, *tail = star + 1;
	const char *slash = strchr(rest, '/');
	if (!*tail)
		return !slash && *rest;
	return slash && slash != rest && !strcmp(slash, tail);
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && path[n] == '/';
}

/* One object of types: arg empty, the only one under dir (default);
 * else arg as a full path ("/DC0/datastore/ds1") or relative to dir
 * (also "*\/arg" for a host in a cluster). Errors in govmomi's words. */
static int find(struct driver_ctx *ctx, const struct vs_inv *inv, const char *const *types,
		const char *kind, const char *dir, const char *arg, const char *defrel,
		const struct vs_obj **out)
{
	const struct vs_obj *hit = NULL;
	size_t n = 0;
	for (size_t i = 0; i < inv->n; i++) {
		const struct vs_obj *o = &inv->v[i];
		if (!type_in(o, types))
			continue;
		bool m;
		if (!arg || !*arg)
			m = defrel ? path_is(o->path, dir, defrel) : under(o->path, dir);
		else if (*arg == '/')
			m = !strcmp(o->path, arg);
		else {
			char star[600];
			snprintf(star, sizeof(star), "*/%s", arg);
			m = path_is(o->path, dir, arg) ||
			    (!strcmp(kind, "host") && path_is(o->path, dir, star));
		}
		if (m) {
			if (!hit)
				hit = o;
			n++;
		}
	}
	if (n == 1) {
		*out = hit;
		return 0;
	}
	if (!arg || !*arg)
		return n ? error_set(ctx->err, EINVAL, "default %s resolves to multiple instances, please specify", kind)
			 : error_set(ctx->err, ENOENT, "no default %s found", kind);
	return n ? error_set(ctx->err, EINVAL, "path '%.200s' resolves to multiple %ss", arg, kind)
		 : error_set(ctx->err, ENOENT, "%s '%.200s' not found", kind, arg);
}

struct placement {
	const struct vs_obj *dc, *folder, *ds, *host, *pool;
	const struct vs_obj *nets[16];
	size_t nnets;
};

static const char *const T_DC[] = { "Datacenter", NULL };
static const char *const T_FOLDER[] = { "Folder", NULL };
static const char *const T_DS[] = { "Datastore", NULL };
static const char *const T_NET[] = { "Network", "DistributedVirtualPortgroup", "OpaqueNetwork", NULL };
static const char *const T_HOST[] = { "HostSystem", NULL };
static const char *const T_POOL[] = { "ResourcePool", "VirtualApp", NULL };
static const char *const T_VM[] = { "VirtualMachine", NULL };

static int find_dc(struct driver_ctx *ctx, const struct vs_inv *inv, const struct vs_obj **dc)
{
	const struct vs_priv *p = ctx->priv;
	if (*p->dc_path)
		return find(ctx, inv, T_DC, "datacenter", "", p->dc_path, NULL, dc);
	return find(ctx, inv, T_DC, "datacenter", "", p->datacenter, NULL, dc);
}

static int place(struct driver_ctx *ctx, const struct vs_inv *inv, struct placement *pl)
{
	const struct vs_priv *p = ctx->priv;
	memset(pl, 0, sizeof(*pl));
	char dir[1100];
	int rc = find_dc(ctx, inv, &pl->dc);
	if (rc)
		return rc;
	snprintf(dir, sizeof(dir), "%s/vm", pl->dc->path);
	if ((rc = find(ctx, inv, T_FOLDER, "folder", "", dir, NULL, &pl->folder)) &&
	    (rc = error_set(ctx->err, ENOENT, "the datacenter '%s' has no vm folder", pl->dc->name)))
		return rc;
	if (*p->folder) {
		if (find(ctx, inv, T_FOLDER, "folder", dir, p->folder, NULL, &pl->folder))
			return error_set(ctx->err, ENOENT, "failed to find VM Folder '%.200s'", p->folder);
	}
	snprintf(dir, sizeof(dir), "%s/datastore", pl->dc->path);
	if ((rc = find(ctx, inv, T_DS, "datastore", dir, p->datastore, NULL, &pl->ds)))
		return rc;
	snprintf(dir, sizeof(dir), "%s/network", pl->dc->path);
	for (const char *s = p->networks; *s;) {
		size_t n = strcspn(s, "\n");
		char name[256];
		snprintf(name, sizeof(name), "%.*s", (int)n, s);
		s += n + (s[n] == '\n');
		if (!*name)
			continue;
		if (pl->nnets == sizeof(pl->nets) / sizeof(pl->nets[0]))
			return error_set(ctx->err, EINVAL, "at most 16 networks");
		if ((rc = find(ctx, inv, T_NET, "network", dir, name, NULL, &pl->nets[pl->nnets++])))
			return rc;
	}
	snprintf(dir, sizeof(dir), "%s/host", pl->dc->path);
	if (*p->hostsystem && (rc = find(ctx, inv, T_HOST, "host", dir, p->hostsystem, NULL, &pl->host)))
		return rc;
	if (*p->pool) {
		rc = find(ctx, inv, T_POOL, "resource pool", dir, p->pool, NULL, &pl->pool);
	} else if (pl->host) {
		/* The host's compute resource's root pool. */
		const struct vs_obj *cr = vs_inv_get(inv, &pl->host->parent);
		pl->pool = cr ? vs_inv_get(inv, &cr->pool) : NULL;
		rc = pl->pool ? 0 : error_set(ctx->err, ENOENT, "host '%s' has no resource pool", pl->host->name);
	} else {
		rc = find(ctx, inv, T_POOL, "resource pool", dir, "", "*/Resources", &pl->pool);
	}
	return rc;
}

static int vs_precreate(struct driver_ctx *ctx)
{
	const struct vs_priv *p = ctx->priv;
	int rc;
	if ((rc = fence_check(p->iso, ctx->err)))
		return rc;
	if (access(p->iso, R_OK) < 0)
		return *p->b2d_url ? error_errno(ctx->err, errno, "cannot read the boot image '%s'", p->iso)
				   : error_set(ctx->err, ENOENT,
					       "no boot image '%s': build it with tools/guest-image/build.sh (needs xorriso) or write an ISO's path to 'options/vmwarevsphere-boot2docker-url'",
					       p->iso);
	struct vs_conn c;
	if ((rc = login(ctx, &c)))
		return rc;
	struct vs_inv inv;
	if (!(rc = vs_inventory(&c, &inv))) {
		struct placement pl;
		rc = place(ctx, &inv, &pl);
		vs_inv_free(&inv);
	}
	vs_close(&c);
	return rc;
}

/* ---- the VM ---- */

/* The machine's VM: the recorded moref, else (a Docker Machine store)
 * the VM named like the machine in the datacenter's vm folder. -ENOENT
 * when there is none. */
static int find_vm(struct driver_ctx *ctx, struct vs_conn *c, struct vs_mor *vm)
{
	struct vs_priv *p = ctx->priv;
	if (*p->vm_ref) {
		snprintf(vm->type, sizeof(vm->type), "VirtualMachine");
		snprintf(vm->val, sizeof(vm->val), "%s", p->vm_ref);
		return 0;
	}
	struct vs_inv inv;
	int rc = vs_inventory(c, &inv);
	if (rc)
		return rc;
	const struct vs_obj *dc, *o;
	if (!(rc = find_dc(ctx, &inv, &dc))) {
		char dir[1100], rel[800];
		snprintf(dir, sizeof(dir), "%s/vm", dc->path);
		snprintf(rel, sizeof(rel), "%s%s%s", p->folder, *p->folder ? "/" : "", ctx->machine);
		rc = find(ctx, &inv, T_VM, "vm", dir, rel, NULL, &o);
		if (!rc) {
			*vm = o->mor;
			snprintf(p->vm_ref, sizeof(p->vm_ref), "%s", o->mor.val);
		}
	}
	vs_inv_free(&inv);
	return rc;
}

static int power_state(struct driver_ctx *ctx, struct vs_conn *c, const struct vs_mor *vm,
		       char *out, size_t len)
{
	static const char *const paths[] = { "summary.runtime.powerState", NULL };
	xmlDoc *doc;
	xmlNode *ret;
	int rc = vs_get(c, vm, paths, &doc, &ret);
	if (rc)
		return rc;
	vs_text(vs_prop(ret, "summary.runtime.powerState"), out, len);
	xmlFreeDoc(doc);
	return 0;
}

static bool usable_ip(const char *ip)
{
	unsigned a, b, cc, d;
	if (sscanf(ip, "%u.%u.%u.%u", &a, &b, &cc, &d) != 4 || a > 255 || b > 255 || cc > 255 || d > 255)
		return false;
	if (a == 0 || a == 127 || a >= 224 || (a == 169 && b == 254))
		return false;
	return strcmp(ip, "172.17.0.1") != 0; /* docker0's default */
}

/* Docker Machine's GetIP: guest.net's first global IPv4 (not docker0's),
 * else guest.ipAddress; bounded, cancellable. */
static int wait_ip(struct driver_ctx *ctx, struct vs_conn *c, const struct vs_mor *vm)
{
	driver_say(ctx, "Waiting for VMware Tools to come online...");
	static const char *const paths[] = { "guest.ipAddress", "guest.net", NULL };
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, IP_WAIT_S, 1000); driver_wait_next(&w);) {
		xmlDoc *doc;
		xmlNode *ret;
		int rc = vs_get(c, vm, paths, &doc, &ret);
		if (rc)
			return rc;
		char ip[64] = "", first[64] = "";
		xmlNode *net = vs_prop(ret, "guest.net");
		for (xmlNode *nic = net ? net->children : NULL; nic && !*ip; nic = nic->next)
			for (xmlNode *a = nic->children; a && !*ip; a = a->next)
				if (a->type == XML_ELEMENT_NODE && !strcmp((const char *)a->name, "ipAddress")) {
					char s[64];
					vs_text(a, s, sizeof(s));
					if (!*first)
						snprintf(first, sizeof(first), "%s", s);
					if (usable_ip(s))
						snprintf(ip, sizeof(ip), "%s", s);
				}
		if (!*ip) {
			char s[64];
			vs_text(vs_prop(ret, "guest.ipAddress"), s, sizeof(s));
			if (*s)
				snprintf(ip, sizeof(ip), "%s", s);
			else if (*first)
				snprintf(ip, sizeof(ip), "%s", first);
		}
		xmlFreeDoc(doc);
		if (*ip) {
			snprintf(ctx->base->ip, sizeof(ctx->base->ip), "%s", ip);
			driver_log(ctx, "VM %s has IP address %s", vm->val, ip);
			return 0;
		}
	}
	if (w.timed_out)
		return error_set(ctx->err, ETIMEDOUT, "VM '%s' got no IP address within %d s: check DHCP and VMware Tools",
				 ctx->machine, IP_WAIT_S);
	return error_set(ctx->err, EINTR, "waiting for the IP of '%s' was cancelled", ctx->machine);
}

/* The controllers' keys and the first free unit on each. */
struct devs {
	int scsi_key, scsi_unit;
	int ide_key, ide_unit;
};

static int devices(struct driver_ctx *ctx, struct vs_conn *c, const struct vs_mor *vm, struct devs *d)
{
	static const char *const paths[] = { "config.hardware.device", NULL };
	xmlDoc *doc;
	xmlNode *ret;
	int rc = vs_get(c, vm, paths, &doc, &ret);
	if (rc)
		return rc;
	memset(d, 0, sizeof(*d));
	d->scsi_key = d->ide_key = -1;
	xmlNode *val = vs_prop(ret, "config.hardware.device");
	int ide_used[8] = { 0 }, ide_keys[8], nide = 0, scsi_used = 0;
	for (xmlNode *k = val ? val->children : NULL; k; k = k->next) {
		if (k->type != XML_ELEMENT_NODE)
			continue;
		char type[96], s[32];
		vs_xsi_type(k, type, sizeof(type));
		vs_text(vs_child(k, "key"), s, sizeof(s));
		int key = atoi(s);
		size_t tl = strlen(type);
		if (d->scsi_key < 0 && tl > 14 && !strcmp(type + tl - 14, "SCSIController"))
			d->scsi_key = key;
		else if (!strcmp(type, "VirtualIDEController") && nide < 8)
			ide_keys[nide++] = key;
	}
	for (xmlNode *k = val ? val->children : NULL; k; k = k->next) {
		if (k->type != XML_ELEMENT_NODE)
			continue;
		char s[32], u[32];
		vs_text(vs_child(k, "controllerKey"), s, sizeof(s));
		vs_text(vs_child(k, "unitNumber"), u, sizeof(u));
		if (!*s)
			continue;
		int ck = atoi(s);
		if (ck == d->scsi_key && d->scsi_key >= 0)
			scsi_used |= 1 << (atoi(u) & 15);
		for (int i = 0; i < nide; i++)
			if (ck == ide_keys[i])
				ide_used[i] |= 1 << (atoi(u) & 1);
	}
	xmlFreeDoc(doc);
	if (d->scsi_key < 0)
		return error_set(ctx->err, EPROTO, "VM %s has no SCSI controller", vm->val);
	for (int u = 0; u < 16; u++)
		if (u != 7 && !(scsi_used & (1 << u))) {
			d->scsi_unit = u;
			break;
		}
	for (int i = 0; i < nide && d->ide_key < 0; i++)
		for (int u = 0; u < 2; u++)
			if (!(ide_used[i] & (1 << u))) {
				d->ide_key = ide_keys[i];
				d->ide_unit = u;
				break;
			}
	if (d->ide_key < 0)
		return error_set(ctx->err, EPROTO, "VM %s has no free IDE slot for the cdrom", vm->val);
	return 0;
}

static void url_esc(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("-._~", ch))
			strbuf_addch(sb, (char)ch);
		else
			strbuf_addf(sb, "%%%02X", ch);
	}
}

/* PUT the ISO to [ds] NAME/boot2docker.iso (the /folder HTTP interface). */
static int upload_iso(struct driver_ctx *ctx, struct vs_conn *c, const struct vs_obj *dc,
		      const struct vs_obj *ds)
{
	const struct vs_priv *p = ctx->priv;
	int fd = open(p->iso, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno(ctx->err, errno, "cannot read the boot image '%s'", p->iso);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		return error_set(ctx->err, EINVAL, "the boot image '%s' is not a file with data", p->iso);
	}
	void *data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (data == MAP_FAILED)
		return error_errno(ctx->err, errno, "cannot map the boot image '%s'", p->iso);
	struct strbuf url = STRBUF_INIT;
	strbuf_addf(&url, "%s/folder/", c->base);
	url_esc(&url, ctx->machine);
	strbuf_addstr(&url, "/" ISO_NAME "?dcPath=");
	url_esc(&url, dc->path + 1);
	strbuf_addstr(&url, "&dsName=");
	url_esc(&url, ds->name);
	struct strlist h = STRLIST_INIT;
	strlist_add(&h, "Content-Type: application/octet-stream");
	strlist_add(&h, c->cookie);
	const char *secrets[] = { c->session, p->password, NULL };
	struct http_req rq = {
		.method = "PUT", .url = url.buf, .headers = &h,
		.body = data, .body_len = (size_t)st.st_size, .secrets = secrets,
		.timeout_s = 1800, .max_attempts = 3,
		.tls_thumbprint = c->t.thumbprint, .tls_noverify = c->t.insecure,
	};
	struct http_resp rs = HTTP_RESP_INIT;
	int rc = http_do(ctx, &rq, &rs);
	http_resp_release(&rs);
	munmap(data, (size_t)st.st_size);
	strlist_clear(&h);
	strbuf_release(&url);
	return rc;
}

static void add_option_value(struct strbuf *a, const char *key, const char *value)
{
	strbuf_addstr(a, "<extraConfig xsi:type=\"OptionValue\"><key>");
	vs_esc(a, key);
	strbuf_addstr(a, "</key><value xsi:type=\"xsd:string\">");
	vs_esc(a, value);
	strbuf_addstr(a, "</value></extraConfig>");
}

static const char CONNECTED[] =
	"<connectable><startConnected>true</startConnected><allowGuestControl>true</allowGuestControl>"
	"<connected>true</connected></connectable>";

/* The ReconfigVM_Task spec: disk, cdrom, NICs, extraConfig. */
static int reconfig_spec(struct driver_ctx *ctx, const struct placement *pl, const struct devs *d,
			 const struct vs_inv *inv, struct strbuf *a)
{
	const struct vs_priv *p = ctx->priv;
	int rc;
	strbuf_addstr(a, "<spec>");
	/* The disk: thin, persistent, on the pvscsi controller. */
	strbuf_addstr(a, "<deviceChange><operation>add</operation><fileOperation>create</fileOperation>"
		      "<device xsi:type=\"VirtualDisk\"><key>-100</key>"
		      "<backing xsi:type=\"VirtualDiskFlatVer2BackingInfo\"><fileName>[");
	vs_esc(a, pl->ds->name);
	strbuf_addstr(a, "] ");
	vs_esc(a, ctx->machine);
	strbuf_addch(a, '/');
	vs_esc(a, ctx->machine);
	strbuf_addstr(a, ".vmdk</fileName>");
	vs_add_mor(a, "datastore", &pl->ds->mor);
	strbuf_addf(a, "<diskMode>persistent</diskMode><thinProvisioned>true</thinProvisioned></backing>"
		    "<controllerKey>%d</controllerKey><unitNumber>%d</unitNumber>"
		    "<capacityInKB>%lld</capacityInKB></device></deviceChange>",
		    d->scsi_key, d->scsi_unit, (long long)p->disk_size * 1024);
	/* The cdrom with the ISO. */
	strbuf_addstr(a, "<deviceChange><operation>add</operation><device xsi:type=\"VirtualCdrom\"><key>-101</key>"
		      "<backing xsi:type=\"VirtualCdromIsoBackingInfo\"><fileName>[");
	vs_esc(a, pl->ds->name);
	strbuf_addstr(a, "] ");
	vs_esc(a, ctx->machine);
	strbuf_addstr(a, "/" ISO_NAME "</fileName>");
	vs_add_mor(a, "datastore", &pl->ds->mor);
	strbuf_addf(a, "</backing>%s<controllerKey>%d</controllerKey><unitNumber>%d</unitNumber></device></deviceChange>",
		    CONNECTED, d->ide_key, d->ide_unit);
	/* vmxnet3 NICs. */
	for (size_t i = 0; i < pl->nnets; i++) {
		const struct vs_obj *n = pl->nets[i];
		strbuf_addf(a, "<deviceChange><operation>add</operation><device xsi:type=\"VirtualVmxnet3\"><key>%d</key>",
			    -200 - (int)i);
		if (!strcmp(n->mor.type, "DistributedVirtualPortgroup")) {
			const struct vs_obj *sw = vs_inv_get(inv, &n->dvs);
			if (!sw || !*sw->uuid || !*n->pg_key)
				return error_set(ctx->err, ENOENT, "network '%s': no distributed switch", n->name);
			strbuf_addstr(a, "<backing xsi:type=\"VirtualEthernetCardDistributedVirtualPortBackingInfo\"><port><switchUuid>");
			vs_esc(a, sw->uuid);
			strbuf_addstr(a, "</switchUuid><portgroupKey>");
			vs_esc(a, n->pg_key);
			strbuf_addstr(a, "</portgroupKey></port></backing>");
		} else if (!strcmp(n->mor.type, "OpaqueNetwork")) {
			return error_set(ctx->err, ENOTSUP, "network '%s': opaque (NSX) networks are not supported", n->name);
		} else {
			strbuf_addstr(a, "<backing xsi:type=\"VirtualEthernetCardNetworkBackingInfo\"><deviceName>");
			vs_esc(a, n->name);
			strbuf_addstr(a, "</deviceName>");
			vs_add_mor(a, "network", &n->mor);
			strbuf_addstr(a, "</backing>");
		}
		strbuf_addf(a, "%s<addressType>generated</addressType></device></deviceChange>", CONNECTED);
		driver_say(ctx, "adding network: %s", n->name);
	}
	/* extraConfig: the user's cfgparams, cloud-init, our key. */
	for (const char *s = p->cfgparams; *s;) {
		size_t n = strcspn(s, "\n");
		char *kv = strndup(s, n);
		s += n + (s[n] == '\n');
		if (!kv)
			return error_set(ctx->err, ENOMEM, "out of memory");
		char *eq = strchr(kv, '=');
		if (eq)
			*eq = '\0';
		if (*kv) {
			driver_say(ctx, "Setting %s to %s", kv, eq ? eq + 1 : "");
			add_option_value(a, kv, eq ? eq + 1 : "");
		}
		free(kv);
	}
	if (*p->cloudinit) {
		if (strstr(p->cloudinit, "://")) {
			driver_say(ctx, "setting guestinfo.cloud-init.data.url to %s", p->cloudinit);
			add_option_value(a, "guestinfo.cloud-init.config.url", p->cloudinit);
		} else {
			struct strbuf raw = STRBUF_INIT;
			if ((rc = read_file(p->cloudinit, &raw, ctx->err))) {
				strbuf_release(&raw);
				return rc;
			}
			driver_say(ctx, "setting guestinfo.cloud-init.data to encoded content of %s", p->cloudinit);
			static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
			struct strbuf enc = STRBUF_INIT;
			const unsigned char *u = (const unsigned char *)raw.buf;
			for (size_t i = 0; i < raw.len; i += 3) {
				unsigned v = (unsigned)u[i] << 16 | (i + 1 < raw.len ? (unsigned)u[i + 1] << 8 : 0) |
					     (i + 2 < raw.len ? u[i + 2] : 0);
				strbuf_addch(&enc, b64[v >> 18 & 63]);
				strbuf_addch(&enc, b64[v >> 12 & 63]);
				strbuf_addch(&enc, i + 1 < raw.len ? b64[v >> 6 & 63] : '=');
				strbuf_addch(&enc, i + 2 < raw.len ? b64[v & 63] : '=');
			}
			add_option_value(a, "guestinfo.cloud-init.config.data", strbuf_str(&enc));
			add_option_value(a, "guestinfo.cloud-init.data.encoding", "base64");
			strbuf_release(&enc);
			strbuf_release(&raw);
		}
	}
	struct strbuf pubpath = STRBUF_INIT, pub = STRBUF_INIT;
	strbuf_addf(&pubpath, "%s.pub", ctx->base->ssh_key_path);
	rc = read_file(pubpath.buf, &pub, ctx->err);
	strbuf_release(&pubpath);
	if (rc) {
		strbuf_release(&pub);
		return rc;
	}
	strbuf_rtrim(&pub);
	add_option_value(a, GUEST_KEY, pub.buf);
	add_option_value(a, "guestinfo.machinefs.hostname", ctx->machine);
	strbuf_release(&pub);
	strbuf_addstr(a, "</spec>");
	return 0;
}

/* ---- remove and undo ---- */

/* Power off (when on), delete the ISO, destroy the VM; each gone
 * already is success. */
static int destroy(struct driver_ctx *ctx, struct vs_conn *c)
{
	struct vs_priv *p = ctx->priv;
	struct vs_mor vm;
	int rc = find_vm(ctx, c, &vm);
	bool have_vm = rc == 0;
	if (rc && rc != -ENOENT)
		return rc;
	if (have_vm) {
		char power[32];
		rc = power_state(ctx, c, &vm, power, sizeof(power));
		if (rc == -ENOENT) {
			have_vm = false;
		} else if (rc) {
			return rc;
		} else if (strcmp(power, "poweredOff")) {
			driver_say(ctx, "Powering off VM %s...", ctx->machine);
			rc = vs_call_task(c, "PowerOffVM_Task", &vm, "", NULL, TASK_WAIT_S);
			if (rc && rc != -EBUSY)
				return rc;
		}
	}
	/* Docker Machine: the ISO out of the VM's folder, then the VM. */
	if (p->iso_uploaded || !*p->vm_ref || have_vm) {
		struct vs_inv inv;
		if ((rc = vs_inventory(c, &inv)))
			return rc;
		const struct vs_obj *dc = NULL, *ds = NULL;
		char dir[1100];
		rc = find_dc(ctx, &inv, &dc);
		if (!rc) {
			snprintf(dir, sizeof(dir), "%s/datastore", dc->path);
			rc = find(ctx, &inv, T_DS, "datastore", dir, *p->ds_name ? p->ds_name : p->datastore, NULL, &ds);
		}
		if (!rc) {
			struct strbuf a = STRBUF_INIT;
			strbuf_addstr(&a, "<name>[");
			vs_esc(&a, ds->name);
			strbuf_addstr(&a, "] ");
			vs_esc(&a, ctx->machine);
			strbuf_addstr(&a, "/" ISO_NAME "</name>");
			vs_add_mor(&a, "datacenter", &dc->mor);
			driver_log(ctx, "Deleting [%s] %s/%s", ds->name, ctx->machine, ISO_NAME);
			rc = vs_call_task(c, "DeleteDatastoreFile_Task", &c->fm, a.buf, NULL, TASK_WAIT_S);
			strbuf_release(&a);
			if (rc == -ENOENT)
				rc = 0;
		}
		vs_inv_free(&inv);
		if (rc)
			return rc;
		p->iso_uploaded = false;
	}
	if (have_vm) {
		driver_say(ctx, "Destroying VM %s...", ctx->machine);
		rc = vs_call_task(c, "Destroy_Task", &vm, "", NULL, TASK_WAIT_S);
		if (rc == -ENOENT)
			rc = 0;
		if (rc)
			return rc;
	}
	p->vm_ref[0] = '\0';
	return 0;
}

static void undo_create(struct driver_ctx *ctx)
{
	struct vs_priv *p = ctx->priv;
	if (!*p->vm_ref && !p->iso_uploaded)
		return;
	struct driver_ctx c = *ctx;
	c.cancel = NULL;
	struct vs_conn conn;
	int rc = login(&c, &conn);
	if (!rc) {
		rc = destroy(&c, &conn);
		vs_close(&conn);
	}
	driver_checkpoint(&c);
	if (rc) {
		char why[ERR_MAX];
		snprintf(why, sizeof(why), "%s", ctx->err);
		snprintf(ctx->err, ERR_MAX, "%.200s; could not delete VM %.40s (%.200s)", why,
			 *p->vm_ref ? p->vm_ref : ctx->machine, c.err);
		driver_log(ctx, "left behind after the failed create: VM %s: %s", p->vm_ref, c.err);
	} else {
		driver_log(ctx, "deleted what the failed create made");
	}
}

/* ---- create ---- */

static int create_in(struct driver_ctx *ctx, struct vs_conn *c)
{
	struct vs_priv *p = ctx->priv;
	struct vs_inv inv;
	int rc = vs_inventory(c, &inv);
	if (rc)
		return rc;
	struct placement pl;
	if ((rc = place(ctx, &inv, &pl)))
		goto out;
	snprintf(p->dc_path, sizeof(p->dc_path), "%s", pl.dc->path);
	snprintf(p->ds_name, sizeof(p->ds_name), "%s", pl.ds->name);

	driver_say(ctx, "Creating VM...");
	struct strbuf a = STRBUF_INIT;
	strbuf_addstr(&a, "<config><name>");
	vs_esc(&a, ctx->machine);
	strbuf_addstr(&a, "</name><guestId>otherLinux64Guest</guestId><files><vmPathName>[");
	vs_esc(&a, pl.ds->name);
	strbuf_addf(&a, "]</vmPathName></files><numCPUs>%d</numCPUs><memoryMB>%d</memoryMB>"
		    "<deviceChange><operation>add</operation><device xsi:type=\"ParaVirtualSCSIController\">"
		    "<key>-1</key><busNumber>0</busNumber><sharedBus>noSharing</sharedBus></device></deviceChange>"
		    "</config>", p->cpu, p->memory);
	vs_add_mor(&a, "pool", &pl.pool->mor);
	if (pl.host)
		vs_add_mor(&a, "host", &pl.host->mor);
	struct vs_mor vm = { "", "" };
	p->create_sent = true;
	rc = vs_call_task(c, "CreateVM_Task", &pl.folder->mor, a.buf, &vm, TASK_WAIT_S);
	strbuf_release(&a);
	if (!rc && !*vm.val)
		rc = error_set(ctx->err, EPROTO, "CreateVM_Task: the task has no VM as its result");
	if (rc) {
		/* Cancelled while the task ran: it may still make the VM. */
		if (rc == -EINTR || rc == -ETIMEDOUT)
			driver_log(ctx, "CreateVM_Task did not finish; the undo looks the VM up by name");
		goto out;
	}
	snprintf(p->vm_ref, sizeof(p->vm_ref), "%s", vm.val);
	driver_log(ctx, "Created VM %s", vm.val);
	if ((rc = driver_checkpoint(ctx)))
		goto out;

	driver_say(ctx, "Uploading Boot2docker ISO ...");
	p->iso_uploaded = true; /* a half-written file is deleted too */
	if ((rc = driver_checkpoint(ctx)) || (rc = upload_iso(ctx, c, pl.dc, pl.ds)))
		goto out;

	struct devs d;
	if ((rc = devices(ctx, c, &vm, &d)))
		goto out;
	a = (struct strbuf)STRBUF_INIT;
	rc = reconfig_spec(ctx, &pl, &d, &inv, &a);
	if (!rc) {
		driver_say(ctx, "Reconfiguring VM");
		rc = vs_call_task(c, "ReconfigVM_Task", &vm, a.buf, NULL, TASK_WAIT_S);
	}
	strbuf_release(&a);
	if (rc)
		goto out;
	driver_say(ctx, "Powering on VM...");
	if ((rc = vs_call_task(c, "PowerOnVM_Task", &vm, "", NULL, TASK_WAIT_S)))
		goto out;
	if ((rc = wait_ip(ctx, c, &vm)))
		goto out;
	driver_checkpoint(ctx);
out:
	vs_inv_free(&inv);
	return rc;
}

static int vs_create(struct driver_ctx *ctx)
{
	struct vs_priv *p = ctx->priv;
	p->create_sent = false;
	driver_say(ctx, "Generating SSH Keypair...");
	int rc = sshkey_generate_ed25519(ctx->base->ssh_key_path, ctx->machine, ctx->err);
	if (rc)
		return rc;
	struct vs_conn c;
	if ((rc = login(ctx, &c)))
		return rc;
	rc = create_in(ctx, &c);
	vs_close(&c);
	if (rc && (*p->vm_ref || p->iso_uploaded ||
		   (p->create_sent && (rc == -EINTR || rc == -ETIMEDOUT || rc == -EIO)))) {
		/* A CreateVM_Task cut short may have made the VM: look it up. */
		undo_create(ctx);
	}
	return rc;
}

/* ---- the rest of the life cycle ---- */

static int with_vm(struct driver_ctx *ctx, int (*fn)(struct driver_ctx *, struct vs_conn *, const struct vs_mor *))
{
	struct vs_conn c;
	int rc = login(ctx, &c);
	if (rc)
		return rc;
	struct vs_mor vm;
	rc = find_vm(ctx, &c, &vm);
	if (rc == -ENOENT)
		rc = error_set(ctx->err, ENOENT, "VM '%s' not found", ctx->machine);
	if (!rc)
		rc = fn(ctx, &c, &vm);
	vs_close(&c);
	return rc;
}

static int state_fn(struct driver_ctx *ctx, struct vs_conn *c, const struct vs_mor *vm)
{
	char power[32];
	int rc = power_state(ctx, c, vm, power, sizeof(power));
	if (rc)
		return rc;
	/* Handed to vs_state() in err (with_vm() has no other way out). */
	snprintf(ctx->err, ERR_MAX, "%s", power);
	return 0;
}

static int vs_state(struct driver_ctx *ctx, enum machine_state *out)
{
	/* The refresher asks every few seconds: its requests stay out of
	 * the log. */
	struct driver_ctx quiet = *ctx;
	quiet.log_fn = NULL;
	int rc = with_vm(&quiet, state_fn);
	if (rc) {
		snprintf(ctx->err, ERR_MAX, "%s", quiet.err);
		*out = MS_ERROR;
		return rc;
	}
	const char *power = quiet.err;
	if (!strcmp(power, "poweredOn"))
		*out = MS_RUNNING;
	else if (!strcmp(power, "poweredOff"))
		*out = MS_STOPPED;
	else if (!strcmp(power, "suspended"))
		*out = MS_PAUSED;
	else
		*out = MS_NONE;
	ctx->err[0] = '\0';
	return 0;
}

static int wait_power(struct driver_ctx *ctx, struct vs_conn *c, const struct vs_mor *vm,
		      const char *want, int timeout_s)
{
	struct driver_wait w;
	for (driver_wait_start(&w, ctx, timeout_s, 1000); driver_wait_next(&w);) {
		char power[32];
		int rc = power_state(ctx, c, vm, power, sizeof(power));
		if (rc)
			return rc;
		if (!strcmp(power, want))
			return 0;
	}
	if (w.timed_out)
		return error_set(ctx->err, ETIMEDOUT, "VM '%s' is not %s %d s later", ctx->machine, want,
				 timeout_s);
	return error_set(ctx->err, EINTR, "waiting for '%s' to be %s was cancelled", ctx->machine, want);
}

static int start_fn(struct driver_ctx *ctx, struct vs_conn *c, const struct vs_mor *vm)
{
	char power[32];
	int rc = power_state(ctx, c, vm, power, sizeof(power));
	if (rc)
		return rc;
	if (!strcmp(power, "poweredOn")) {
		driver_say(ctx, "VM %s has already been started", ctx->machine);
		return 0;
	}
	if ((rc = vs_call_task(c, "PowerOnVM_Task", vm, "", NULL, TASK_WAIT_S)))
		return rc;
	return wait_ip(ctx, c, vm);
}

static int stop_fn(struct driver_ctx *ctx, struct vs_conn *c, const struct vs_mor *vm)
{
	xmlDoc *doc;
	int rc = vs_call(c, "ShutdownGuest", vm, "", &doc, NULL);
	if (rc)
		return rc;
	xmlFreeDoc(doc);
	ctx->base->ip[0] = '\0';
	return wait_power(ctx, c, vm, "poweredOff", STOP_WAIT_S);
}

static int kill_fn(struct driver_ctx *ctx, struct vs_conn *c, const struct vs_mor *vm)
{
	int rc = vs_call_task(c, "PowerOffVM_Task", vm, "", NULL, TASK_WAIT_S);
	if (!rc)
		ctx->base->ip[0] = '\0';
	return rc;
}

/* Docker Machine's Restart: stop, up to 120 s for it, else kill; start. */
static int restart_fn(struct driver_ctx *ctx, struct vs_conn *c, const struct vs_mor *vm)
{
	char power[32];
	int rc = power_state(ctx, c, vm, power, sizeof(power));
	if (rc)
		return rc;
	if (strcmp(power, "poweredOff")) { /* (stopped already: just start) */
		xmlDoc *doc;
		if ((rc = vs_call(c, "ShutdownGuest", vm, "", &doc, NULL)))
			return rc;
		xmlFreeDoc(doc);
		rc = wait_power(ctx, c, vm, "poweredOff", STOP_WAIT_S);
	}
	if (rc == -ETIMEDOUT)
		rc = kill_fn(ctx, c, vm);
	if (rc)
		return rc;
	if ((rc = vs_call_task(c, "PowerOnVM_Task", vm, "", NULL, TASK_WAIT_S)))
		return rc;
	return wait_ip(ctx, c, vm);
}

static int vs_start(struct driver_ctx *ctx) { return with_vm(ctx, start_fn); }
static int vs_stop(struct driver_ctx *ctx) { return with_vm(ctx, stop_fn); }
static int vs_kill(struct driver_ctx *ctx) { return with_vm(ctx, kill_fn); }
static int vs_restart(struct driver_ctx *ctx) { return with_vm(ctx, restart_fn); }

static int vs_remove(struct driver_ctx *ctx)
{
	struct vs_conn c;
	int rc = login(ctx, &c);
	if (rc)
		return rc;
	rc = destroy(ctx, &c);
	vs_close(&c);
	return rc;
}

static int vs_url(struct driver_ctx *ctx, char *buf, size_t len)
{
	if (!*ctx->base->ip)
		return -ENOENT;
	bool v6 = strchr(ctx->base->ip, ':') != NULL;
	snprintf(buf, len, "tcp://%s%s%s:2376", v6 ? "[" : "", ctx->base->ip, v6 ? "]" : "");
	return 0;
}

/* ---- config.json ---- */

static void lines_to_list(const char *s, struct strlist *l)
{
	strlist_split_lines(l, s);
}

static void list_to_lines(const cJSON *o, const char *key, char *dst, size_t len)
{
	struct strlist l = STRLIST_INIT;
	json_list(o, key, &l);
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < l.n; i++) {
		if (i)
			strbuf_addch(&sb, '\n');
		strbuf_addstr(&sb, l.v[i]);
	}
	snprintf(dst, len, "%s", strbuf_str(&sb));
	strbuf_release(&sb);
	strlist_clear(&l);
}

static int vs_load(struct driver_ctx *ctx, const cJSON *o)
{
	struct vs_priv *p = ctx->priv;
	p->memory = (int)json_int(o, "Memory", 2048);
	p->disk_size = (int)json_int(o, "DiskSize", 20480);
	p->cpu = (int)json_int(o, "CPU", 2);
	p->cpus = (int)json_int(o, "CPUS", 2);
	snprintf(p->iso, sizeof(p->iso), "%s", json_str(o, "ISO", ""));
	snprintf(p->b2d_url, sizeof(p->b2d_url), "%s", json_str(o, "Boot2DockerURL", ""));
	snprintf(p->vcenter, sizeof(p->vcenter), "%s", json_str(o, "IP", ""));
	p->port = (int)json_int(o, "Port", 443);
	snprintf(p->username, sizeof(p->username), "%s", json_str(o, "Username", ""));
	snprintf(p->password, sizeof(p->password), "%s", json_str(o, "Password", ""));
	snprintf(p->network, sizeof(p->network), "%s", json_str(o, "Network", ""));
	list_to_lines(o, "Networks", p->networks, sizeof(p->networks));
	if (!*p->networks && *p->network)
		snprintf(p->networks, sizeof(p->networks), "%s", p->network);
	snprintf(p->datastore, sizeof(p->datastore), "%s", json_str(o, "Datastore", ""));
	snprintf(p->datacenter, sizeof(p->datacenter), "%s", json_str(o, "Datacenter", ""));
	snprintf(p->folder, sizeof(p->folder), "%s", json_str(o, "Folder", ""));
	snprintf(p->pool, sizeof(p->pool), "%s", json_str(o, "Pool", ""));
	snprintf(p->hostsystem, sizeof(p->hostsystem), "%s", json_str(o, "HostSystem", ""));
	list_to_lines(o, "CfgParams", p->cfgparams, sizeof(p->cfgparams));
	snprintf(p->cloudinit, sizeof(p->cloudinit), "%s", json_str(o, "CloudInit", ""));
	snprintf(p->ssh_password, sizeof(p->ssh_password), "%s", json_str(o, "SSHPassword", ""));
	/* A Docker Machine store has none of these: the environment's. */
	const char *th = getenv("VSPHERE_THUMBPRINT"), *in = getenv("VSPHERE_INSECURE");
	snprintf(p->thumbprint, sizeof(p->thumbprint), "%s", json_str(o, "Thumbprint", th ? th : ""));
	p->insecure = json_bool(o, "Insecure", in && (!strcmp(in, "1") || !strcmp(in, "true")));
	snprintf(p->vm_ref, sizeof(p->vm_ref), "%s", json_str(o, "VMRef", ""));
	snprintf(p->dc_path, sizeof(p->dc_path), "%s", json_str(o, "DatacenterPath", ""));
	snprintf(p->ds_name, sizeof(p->ds_name), "%s", json_str(o, "DatastoreName", ""));
	p->iso_uploaded = json_bool(o, "ISOUploaded", false);
	return 0;
}

static int vs_save(const struct driver_ctx *ctx, cJSON *o)
{
	const struct vs_priv *p = ctx->priv;
	json_put_int(o, "Memory", p->memory);
	json_put_int(o, "DiskSize", p->disk_size);
	json_put_int(o, "CPU", p->cpu);
	json_put_str(o, "ISO", p->iso);
	json_put_str(o, "Boot2DockerURL", p->b2d_url);
	json_put_int(o, "CPUS", p->cpus);
	json_put_str(o, "IP", p->vcenter);
	json_put_int(o, "Port", p->port);
	json_put_str(o, "Username", p->username);
	json_put_str(o, "Password", p->password);
	json_put_str(o, "Network", p->network);
	struct strlist l = STRLIST_INIT;
	lines_to_list(p->networks, &l);
	json_put_list(o, "Networks", &l, true);
	strlist_clear(&l);
	json_put_str(o, "Datastore", p->datastore);
	json_put_str(o, "Datacenter", p->datacenter);
	json_put_str(o, "Folder", p->folder);
	json_put_str(o, "Pool", p->pool);
	json_put_str(o, "HostSystem", p->hostsystem);
	lines_to_list(p->cfgparams, &l);
	json_put_list(o, "CfgParams", &l, true);
	strlist_clear(&l);
	json_put_str(o, "CloudInit", p->cloudinit);
	json_put_str(o, "SSHPassword", p->ssh_password);
	json_put_str(o, "Thumbprint", p->thumbprint);
	json_put_bool(o, "Insecure", p->insecure);
	json_put_str(o, "VMRef", p->vm_ref);
	json_put_str(o, "DatacenterPath", p->dc_path);
	json_put_str(o, "DatastoreName", p->ds_name);
	json_put_bool(o, "ISOUploaded", p->iso_uploaded);
	return 0;
}

const struct machine_driver vmwarevsphere_driver = {
	.name = "vmwarevsphere",
	.supports = DRV_START | DRV_STOP | DRV_RESTART | DRV_KILL | DRV_SSH | DRV_REMOVE,
	.options = vs_options,
	.priv_size = sizeof(struct vs_priv),
	.configure = vs_configure,
	.precreate_check = vs_precreate,
	.create = vs_create,
	.remove = vs_remove,
	.start = vs_start,
	.stop = vs_stop,
	.restart = vs_restart,
	.kill = vs_kill,
	.state = vs_state,
	.url = vs_url,
	.load = vs_load,
	.save = vs_save,
};
