/* Generated file contents, in Docker Machine's exact strings. */
#include "fs/render.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/config.h"
#include "fs/ops.h"
#include "fs/core.h"
#include "lib/fileutil.h"

/* Caller holds m->lock. */
static void url_locked(struct machine *m, char *buf, size_t len)
{
	machine_url_locked(m, buf, len);
}

void render_driver(struct machine *m, struct strbuf *sb)
{
	pthread_mutex_lock(&m->lock);
	if (*m->driver_name)
		strbuf_addf(sb, "%s\n", m->driver_name);
	pthread_mutex_unlock(&m->lock);
}

void render_state(struct machine *m, struct strbuf *sb)
{
	pthread_mutex_lock(&m->lock);
	strbuf_addf(sb, "%s\n", machine_state_name(m->state));
	pthread_mutex_unlock(&m->lock);
}

void render_ip(struct machine *m, struct strbuf *sb)
{
	pthread_mutex_lock(&m->lock);
	machine_thaw_locked(m);
	if (*m->base->ip && (m->created || m->recorded))
		strbuf_addf(sb, "%s\n", m->base->ip);
	machine_freeze_locked(m);
	pthread_mutex_unlock(&m->lock);
}

void render_url(struct machine *m, struct strbuf *sb)
{
	char url[1024];
	pthread_mutex_lock(&m->lock);
	url_locked(m, url, sizeof(url));
	pthread_mutex_unlock(&m->lock);
	if (*url)
		strbuf_addf(sb, "%s\n", url);
}

/* Values go into text that a shell runs: each shell's quoting, so that a
 * machine name, a store path or a url is data and never code. Plain
 * values come out as Docker Machine prints them. */

/* POSIX sh, bash, fish: inside "...", \ " $ ` escaped by a backslash
 * (fish: \ " $). */
static void quote_backslash(struct strbuf *sb, const char *v, const char *special)
{
	strbuf_addch(sb, '"');
	for (; *v; v++) {
		if (strchr(special, *v))
			strbuf_addch(sb, '\\');
		strbuf_addch(sb, *v);
	}
	strbuf_addch(sb, '"');
}

/* tcsh: "..." expands $ and ` and a backslash does not help there, so a
 * value with any of them goes in '...', with ' as '\'' and ! (history)
 * as \!. */
static void quote_tcsh(struct strbuf *sb, const char *v)
{
	if (!v[strcspn(v, "$`\"'!\\")]) {
		strbuf_addf(sb, "\"%s\"", v);
		return;
	}
	strbuf_addch(sb, '\'');
	for (; *v; v++) {
		if (*v == '\'')
			strbuf_addstr(sb, "'\\''");
		else if (*v == '!')
			strbuf_addstr(sb, "\\!");
		else
			strbuf_addch(sb, *v);
	}
	strbuf_addch(sb, '\'');
}

/* PowerShell: "..." expands $ and ` is its escape; '...' expands nothing
 * and ' is written ''. PowerShell also takes the typographic single
 * quotes U+2018..U+201B for ', and the double ones U+201C..U+201E for ". */
static void quote_powershell(struct strbuf *sb, const char *v)
{
	int plain = 1;

	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p >= 0x80 || strchr("$`\"'", *p))
			plain = 0;
	if (plain) {
		strbuf_addf(sb, "\"%s\"", v);
		return;
	}
	strbuf_addch(sb, '\'');
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0x98 && p[2] <= 0x9b) {
			strbuf_add(sb, p, 3); /* a typographic ', doubled */
			strbuf_add(sb, p, 3);
			p += 2;
			continue;
		}
		if (*p == '\'')
			strbuf_addch(sb, '\'');
		strbuf_addch(sb, (char)*p);
	}
	strbuf_addch(sb, '\'');
}

/* emacs lisp: a string with \ and " escaped. */
static void quote_elisp(struct strbuf *sb, const char *v)
{
	quote_backslash(sb, v, "\\\"");
}

/* cmd.exe: SET KEY=VALUE with nothing quoted; & | < > ( ) ^ are escaped
 * with ^. % and ! (variable expansion) and " cannot be escaped the same
 * way in a batch file, a FOR loop and a prompt: refused. */
static int cmd_safe(const char *v)
{
	return !v[strcspn(v, "%!\"")];
}

static void quote_cmd(struct strbuf *sb, const char *v)
{
	for (; *v; v++) {
		if (strchr("&|<>()^", *v))
			strbuf_addch(sb, '^');
		strbuf_addch(sb, *v);
	}
}

static int has_control(const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 1;
	return 0;
}

int render_env_lines(enum env_shell shell, const char *host,
		     const char *cert_path, const char *name,
		     struct strbuf *sb)
{
	const char *keys[] = { "DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH",
			       "DOCKER_MACHINE_NAME" };
	const char *vals[] = { "1", host, cert_path, name };

	for (int i = 0; i < 4; i++)
		if (has_control(vals[i]) || (shell == SHELL_CMD && !cmd_safe(vals[i])))
			return -EINVAL;
	for (int i = 0; i < 4; i++) {
		switch (shell) {
		case SHELL_POSIX:
			strbuf_addf(sb, "export %s=", keys[i]);
			quote_backslash(sb, vals[i], "\\\"$`");
			strbuf_addch(sb, '\n');
			break;
		case SHELL_FISH:
			strbuf_addf(sb, "set -gx %s ", keys[i]);
			quote_backslash(sb, vals[i], "\\\"$");
			strbuf_addstr(sb, ";\n");
			break;
		case SHELL_TCSH:
			strbuf_addf(sb, "setenv %s ", keys[i]);
			quote_tcsh(sb, vals[i]);
			strbuf_addstr(sb, ";\n");
			break;
		case SHELL_POWERSHELL:
			strbuf_addf(sb, "$Env:%s = ", keys[i]);
			quote_powershell(sb, vals[i]);
			strbuf_addch(sb, '\n');
			break;
		case SHELL_CMD:
			strbuf_addf(sb, "SET %s=", keys[i]);
			quote_cmd(sb, vals[i]);
			strbuf_addch(sb, '\n');
			break;
		case SHELL_EMACS:
			strbuf_addf(sb, "(setenv \"%s\" ", keys[i]);
			quote_elisp(sb, vals[i]);
			strbuf_addstr(sb, ")\n");
			break;
		}
	}
	return 0;
}

static const char *const shell_names[] = {
	[SHELL_POSIX] = "sh", [SHELL_FISH] = "fish", [SHELL_TCSH] = "tcsh",
	[SHELL_POWERSHELL] = "powershell", [SHELL_CMD] = "cmd", [SHELL_EMACS] = "emacs",
};

void render_env(struct machine *m, enum env_shell shell, struct strbuf *sb)
{
	char url[1024];
	pthread_mutex_lock(&m->lock);
	url_locked(m, url, sizeof(url));
	pthread_mutex_unlock(&m->lock);
	if (*url && render_env_lines(shell, url, m->dir, m->name, sb))
		machine_log(m, "env: a value holds characters the %s shell cannot take safely: left empty",
			    shell_names[shell]);
}

/* Go's %q for the plain paths we have: quotes and backslashes escaped. */
static void add_quoted(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			strbuf_addch(sb, '\\');
		strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '"');
}

void render_config(struct machine *m, struct strbuf *sb)
{
	char url[1024];
	pthread_mutex_lock(&m->lock);
	url_locked(m, url, sizeof(url));
	pthread_mutex_unlock(&m->lock);
	if (!*url)
		return;
	static const char *const flags[][2] = {
		{ "--tlscacert=", "ca.pem" },
		{ "--tlscert=", "cert.pem" },
		{ "--tlskey=", "key.pem" },
	};
	strbuf_addstr(sb, "--tlsverify\n");
	for (int i = 0; i < 3; i++) {
		char path[PATH_MAX + 16];
		snprintf(path, sizeof(path), "%s/%s", m->dir, flags[i][1]);
		strbuf_addstr(sb, flags[i][0]);
		add_quoted(sb, path);
		strbuf_addch(sb, '\n');
	}
	strbuf_addf(sb, "-H=%s\n", url);
}

void render_config_json(struct machine *m, struct strbuf *sb)
{
	pthread_mutex_lock(&m->lock);
	config_render_masked(m, sb);
	pthread_mutex_unlock(&m->lock);
}

static void add_time(struct strbuf *sb, time_t t)
{
	struct tm tm;
	char buf[32];
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	strbuf_addstr(sb, buf);
}

void render_ctl(struct machine *m, struct strbuf *sb)
{
	size_t n;
	const char *const *names = ctl_command_names(&n);
	pthread_mutex_lock(&m->lock);
	strbuf_addstr(sb, "commands");
	for (size_t i = 0; i < n; i++)
		if (ctl_command_allowed(m, names[i]))
			strbuf_addf(sb, " %s", names[i]);
	strbuf_addch(sb, '\n');
	if (m->busy) {
		strbuf_addf(sb, "running %s since ", m->busy);
		add_time(sb, m->busy_since);
		strbuf_addch(sb, '\n');
	} else {
		strbuf_addstr(sb, "running none\n");
	}
	if (m->refreshed) {
		strbuf_addf(sb, "refreshed %lds ago at ", (long)(time(NULL) - m->refreshed));
		add_time(sb, m->refreshed);
		strbuf_addch(sb, '\n');
	} else {
		strbuf_addstr(sb, "refreshed never\n");
	}
	pthread_mutex_unlock(&m->lock);
}

void render_error(struct machine *m, struct strbuf *sb)
{
	pthread_mutex_lock(&m->lock);
	if (*m->error) {
		/* One line, secrets masked. */
		struct strbuf e = STRBUF_INIT;
		for (const char *p = m->error; *p; p++)
			strbuf_addch(&e, *p == '\n' ? ' ' : *p);
		machine_mask(m, &e);
		strbuf_addf(sb, "%s\n", e.buf);
		strbuf_release(&e);
	}
	pthread_mutex_unlock(&m->lock);
}

void render_docker_version(struct machine *m, struct strbuf *sb)
{
	pthread_mutex_lock(&m->lock);
	if (*m->docker_version)
		strbuf_addf(sb, "%s\n", m->docker_version);
	pthread_mutex_unlock(&m->lock);
}

void render_ssh(struct machine *m, const char *what, struct strbuf *sb)
{
	pthread_mutex_lock(&m->lock);
	machine_thaw_locked(m);
	if (!strcmp(what, "user"))
		strbuf_addf(sb, "%s\n", *m->base->ssh_user ? m->base->ssh_user : "root");
	else if (!strcmp(what, "port"))
		strbuf_addf(sb, "%d\n", m->base->ssh_port ? m->base->ssh_port : 22);
	else if (!strcmp(what, "host")) {
		struct driver_ctx ctx;
		char host[256];
		machine_driver_ctx(m, &ctx);
		machine_drv_ssh_host(m, &ctx, host, sizeof(host));
		strbuf_addf(sb, "%s\n", host);
	}
	machine_freeze_locked(m);
	pthread_mutex_unlock(&m->lock);
}

static void option_lines(const struct driver_option *o, struct strbuf *sb)
{
	static const char *const types[] = { "string", "int", "bool", "list" };
	for (; o && o->name; o++)
		strbuf_addf(sb, "%s\t%s\t%s\t%s%s\t%s\n", o->name, types[o->type],
			    o->def ? o->def : "", o->help,
			    (o->flags & OPT_REQUIRED) ? " (required)" : "",
			    o->env ? o->env : "");
}

void render_driver_options(const struct machine_driver *d, struct strbuf *sb)
{
	option_lines(d->options, sb);
	option_lines(host_options, sb);
}

/* A .list field: backslash, TAB and newline escaped (or newlines made
 * blanks, as the error file shows them). */
static void add_field(struct strbuf *sb, const char *s, bool oneline)
{
	for (; *s; s++) {
		if (*s == '\n' && oneline)
			strbuf_addch(sb, ' ');
		else if (*s == '\\')
			strbuf_addstr(sb, "\\\\");
		else if (*s == '\t')
			strbuf_addstr(sb, "\\t");
		else if (*s == '\n')
			strbuf_addstr(sb, "\\n");
		else
			strbuf_addch(sb, *s);
	}
}

static bool opt_true(const struct option_set *os, const char *name)
{
	const char *v = option_set_get(os, name);
	return v && (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") ||
		     !strcmp(v, "on"));
}

/* One machine's fields for the swarm column; caller holds m->lock. */
struct swarm_info {
	bool master, member;
	char *discovery;
};

static void swarm_info_locked(struct machine *m, struct swarm_info *si)
{
	si->master = opt_true(&m->opts, "swarm-master");
	si->member = si->master || opt_true(&m->opts, "swarm");
	const char *d = option_set_get(&m->opts, "swarm-discovery");
	si->discovery = strdup(d ? d : "");
}

static void list_line(struct machine *m, const char *swarm, struct strbuf *sb)
{
	char url[1024];
	pthread_mutex_lock(&m->lock);
	url_locked(m, url, sizeof(url));
	add_field(sb, m->name, false);
	strbuf_addch(sb, '\t');
	add_field(sb, m->driver_name, false);
	strbuf_addch(sb, '\t');
	add_field(sb, machine_state_name(m->state), false);
	strbuf_addch(sb, '\t');
	add_field(sb, url, false);
	strbuf_addch(sb, '\t');
	add_field(sb, m->docker_version, false);
	strbuf_addch(sb, '\t');
	add_field(sb, swarm, false);
	strbuf_addch(sb, '\t');
	struct strbuf e = STRBUF_INIT;
	strbuf_addstr(&e, m->error);
	machine_mask(m, &e); /* as the error file shows it */
	add_field(sb, strbuf_str(&e), true); /* the error file's one line */
	strbuf_release(&e);
	pthread_mutex_unlock(&m->lock);
	strbuf_addstr(sb, "\t\n");
}

void render_list(struct store *s, struct strbuf *sb)
{
	struct strlist names = STRLIST_INIT;
	store_list(s, &names);
	struct machine **v = calloc(names.n ? names.n : 1, sizeof(*v));
	struct swarm_info *si = calloc(names.n ? names.n : 1, sizeof(*si));
	if (!v || !si)
		abort();
	for (size_t i = 0; i < names.n; i++) {
		v[i] = store_get(s, names.v[i]);
		if (!v[i])
			continue;
		pthread_mutex_lock(&v[i]->lock);
		swarm_info_locked(v[i], &si[i]);
		pthread_mutex_unlock(&v[i]->lock);
	}
	/* As Docker Machine's ls: a member shows its discovery's master
	 * (the last one by name). */
	size_t *masters = calloc(names.n ? names.n : 1, sizeof(*masters)), nm = 0;
	if (!masters)
		abort();
	for (size_t i = 0; i < names.n; i++)
		if (v[i] && si[i].master)
			masters[nm++] = i;
	struct strbuf sw = STRBUF_INIT;
	for (size_t i = 0; i < names.n; i++) {
		if (!v[i])
			continue;
		strbuf_reset(&sw);
		if (si[i].member) {
			const char *master = "";
			for (size_t j = 0; j < nm; j++)
				if (!strcmp(si[masters[j]].discovery, si[i].discovery))
					master = v[masters[j]]->name;
			strbuf_addstr(&sw, master);
			if (si[i].master)
				strbuf_addstr(&sw, " (master)");
		}
		list_line(v[i], strbuf_str(&sw), sb);
	}
	strbuf_release(&sw);
	free(masters);
	for (size_t i = 0; i < names.n; i++) {
		free(si[i].discovery);
		machine_put(v[i]);
	}
	free(si);
	free(v);
	strlist_clear(&names);
}
