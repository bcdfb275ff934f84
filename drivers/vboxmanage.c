/* Running VBoxManage and reading its answers (see vboxmanage.h). */
#include "drivers/vboxmanage.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/spawn.h"

static bool executable(const char *dir, char *path, size_t len)
{
	if (!dir || !*dir)
		return false;
	snprintf(path, len, "%s/VBoxManage", dir);
	return access(path, X_OK) == 0;
}

int vbm_find(char *path, size_t len, char *err)
{
	const char *p = getenv("PATH");
	char dir[PATH_MAX];
	while (p && *p) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);
		if (n && n < sizeof(dir)) {
			memcpy(dir, p, n);
			dir[n] = '\0';
			if (executable(dir, path, len))
				return 0;
		}
		p = colon ? colon + 1 : NULL;
	}
	if (executable(getenv("VBOX_INSTALL_PATH"), path, len) ||
	    executable(getenv("VBOX_MSI_INSTALL_PATH"), path, len))
		return 0;
	return error_set(err, ENOENT,
			 "VBoxManage not found: install VirtualBox or put VBoxManage on PATH");
}

static void add_args(struct strbuf *sb, const char *const *argv)
{
	for (size_t i = 0; argv[i]; i++)
		strbuf_addf(sb, "%s%s", i ? " " : "", argv[i]);
}

/* The last non-empty line of s, into buf. */
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

/* Each VBoxManage call's bound: MACHINEFS_VBOXMANAGE_TIMEOUT seconds
 * (default 300; a disk conversion is the slowest call we make). */
static int vbm_timeout_ms(void)
{
	const char *t = getenv("MACHINEFS_VBOXMANAGE_TIMEOUT");
	int s = t ? atoi(t) : 0;
	return (s > 0 && s < 86400 ? s : 300) * 1000;
}

int vbm_run(struct driver_ctx *ctx, struct strbuf *out, struct strbuf *errout,
	    const char *const *argv)
{
	char exe[PATH_MAX];
	int rc = vbm_find(exe, sizeof(exe), ctx->err);
	if (rc)
		return rc;
	struct strbuf cmd = STRBUF_INIT;
	add_args(&cmd, argv);
	driver_log(ctx, "VBoxManage %s", strbuf_str(&cmd));

	size_t argc = 0;
	while (argv[argc])
		argc++;
	char **av = calloc(argc + 2, sizeof(char *));
	if (!av)
		abort();
	av[0] = exe;
	for (size_t i = 0; i < argc; i++)
		av[i + 1] = (char *)argv[i];

	struct strbuf so = STRBUF_INIT, se = STRBUF_INIT;
	/* A hung VBoxManage is killed at the deadline; cancel (Ctrl-C,
	 * unmount) stops it sooner. */
	struct spawn_req req = { .argv = (const char *const *)av, .out = &so, .errout = &se,
				 .timeout_ms = vbm_timeout_ms(), .cancel = ctx->cancel };
	int status = 0;
	rc = spawn_run(&req, &status, ctx->err);
	if (rc) {
		driver_log(ctx, "%s", ctx->err);
		goto out;
	}
	char line[300];
	last_line(strbuf_str(&se), line, sizeof(line));
	if (!WIFEXITED(status) || WEXITSTATUS(status) || strstr(strbuf_str(&se), "error:")) {
		if (!*line)
			snprintf(line, sizeof(line), "exit status %d",
				 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		rc = error_set(ctx->err, EIO, "VBoxManage %.150s failed: %s", strbuf_str(&cmd), line);
		driver_log(ctx, "%s", ctx->err);
	}
out:
	if (out)
		strbuf_addstr(out, strbuf_str(&so));
	if (errout)
		strbuf_addstr(errout, strbuf_str(&se));
	strbuf_release(&so);
	strbuf_release(&se);
	strbuf_release(&cmd);
	free(av);
	return rc;
}

bool vbm_info_get(const char *info, const char *key, char *val, size_t len)
{
	size_t kl = strlen(key);
	for (const char *l = info; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *p = l;
		bool quoted = *p == '"';
		if (quoted)
			p++;
		if (strncmp(p, key, kl))
			continue;
		p += kl;
		if (quoted && *p++ != '"')
			continue;
		if (*p++ != '=')
			continue;
		const char *end = strchr(p, '\n');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n && p[n - 1] == '\r')
			n--;
		if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
			p++;
			n -= 2;
		}
		snprintf(val, len, "%.*s", (int)n, p);
		return true;
	}
	return false;
}

enum machine_state vbm_state_of(const char *s)
{
	if (!strcmp(s, "running"))
		return MS_RUNNING;
	if (!strcmp(s, "paused"))
		return MS_PAUSED;
	if (!strcmp(s, "saved"))
		return MS_SAVED;
	if (!strcmp(s, "poweroff") || !strcmp(s, "aborted"))
		return MS_STOPPED;
	return MS_NONE;
}

/* Calls fn for each "Key:   value" line; a blank line ends a block. */
static void each_colon_line(const char *out, void (*fn)(void *, const char *, const char *),
			    void *arg)
{
	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *end = strchr(l, '\n');
		size_t n = end ? (size_t)(end - l) : strlen(l);
		char line[512];
		snprintf(line, sizeof(line), "%.*s", (int)n, l);
		line[strcspn(line, "\r")] = '\0';
		char *colon = strchr(line, ':');
		if (!*line) {
			fn(arg, NULL, NULL);
			continue;
		}
		if (!colon)
			continue;
		*colon = '\0';
		char *v = colon + 1;
		if (*v != ' ' && *v != '\t')
			continue; /* "Key:value" is not a field (MACs have colons) */
		while (*v == ' ' || *v == '\t')
			v++;
		fn(arg, line, v);
	}
}

struct ho_parse {
	struct vbm_hostonly *v;
	int max, n;
	struct vbm_hostonly cur;
	bool any;
	char *err;
	int rc;
};

static void ho_line(void *arg, const char *k, const char *val)
{
	struct ho_parse *p = arg;
	if (!k)
		return;
#define SET(f) snprintf(p->cur.f, sizeof(p->cur.f), "%s", val)
	if (!strcmp(k, "Name"))
		SET(name);
	else if (!strcmp(k, "DHCP"))
		p->cur.dhcp = strcmp(val, "Disabled") != 0;
	else if (!strcmp(k, "IPAddress"))
		SET(ip);
	else if (!strcmp(k, "NetworkMask"))
		SET(mask);
	else if (!strcmp(k, "VBoxNetworkName")) {
		SET(netname);
		for (int i = 0; i < p->n && !p->rc; i++) {
			if (!strcmp(p->v[i].netname, p->cur.netname))
				p->rc = error_set(p->err, EINVAL, "VirtualBox is configured with multiple host-only adapters with the same name '%s': remove one", p->cur.netname);
			else if (*p->cur.ip && !strcmp(p->v[i].ip, p->cur.ip))
				p->rc = error_set(p->err, EINVAL, "VirtualBox is configured with multiple host-only adapters with the same IP '%s': remove one", p->cur.ip);
		}
		if (p->n < p->max)
			p->v[p->n++] = p->cur;
		memset(&p->cur, 0, sizeof(p->cur));
	}
#undef SET
}

int vbm_parse_hostonlyifs(const char *out, struct vbm_hostonly *v, int max, char *err)
{
	struct ho_parse p = { .v = v, .max = max, .err = err };
	each_colon_line(out, ho_line, &p);
	return p.rc ? p.rc : p.n;
}

struct dh_parse {
	struct vbm_dhcp *v;
	int max, n;
};

static void dh_line(void *arg, const char *k, const char *val)
{
	struct dh_parse *p = arg;
	if (!k)
		return;
	if (!strcmp(k, "NetworkName")) {
		if (p->n >= p->max)
			return;
		p->n++;
		memset(&p->v[p->n - 1], 0, sizeof(p->v[0]));
	}
	if (!p->n)
		return;
	struct vbm_dhcp *d = &p->v[p->n - 1];
#define SET(f) snprintf(d->f, sizeof(d->f), "%s", val)
	if (!strcmp(k, "NetworkName"))
		SET(netname);
	else if (!strcmp(k, "IP"))
		SET(ip);
	else if (!strcmp(k, "upperIPAddress"))
		SET(upper);
	else if (!strcmp(k, "lowerIPAddress"))
		SET(lower);
	else if (!strcmp(k, "NetworkMask"))
		SET(mask);
	else if (!strcmp(k, "Enabled"))
		d->enabled = !strcmp(val, "Yes");
#undef SET
}

int vbm_parse_dhcpservers(const char *out, struct vbm_dhcp *v, int max)
{
	struct dh_parse p = { .v = v, .max = max };
	each_colon_line(out, dh_line, &p);
	return p.n;
}
