/* Rendering of dockerd's arguments and the init systems' files. */
#include "provision/engine_config.h"

#include <errno.h>
#include <string.h>

#include "lib/err.h"

void sh_quote(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			strbuf_addstr(sb, "'\\''");
		else
			strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '\'');
}

static void add2(struct strlist *args, const char *flag, const char *value)
{
	strlist_add(args, flag);
	strlist_add(args, value);
}

static void add_each(struct strlist *args, const char *flag,
		     const struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		add2(args, flag, l->v[i]);
}

/* Labels, registries and the other option flags: what goes after the
 * listeners, storage and TLS (boot2docker's EXTRA_ARGS). */
void engine_extra_args(const struct engine_config *c, struct strlist *args)
{
	const struct engine_options *eo = c->eo;
	struct strbuf sb = STRBUF_INIT;

	if (eo)
		add_each(args, "--label", &eo->labels);
	strbuf_addf(&sb, "provider=%s", c->driver_name ? c->driver_name : "none");
	add2(args, "--label", sb.buf);
	if (eo) {
		add_each(args, "--insecure-registry", &eo->insecure_registry);
		add_each(args, "--registry-mirror", &eo->registry_mirror);
		if (eo->log_level[0])
			add2(args, "--log-level", eo->log_level);
		if (eo->graph_dir[0])
			add2(args, "--data-root", eo->graph_dir);
		if (eo->ipv6)
			strlist_add(args, "--ipv6");
		if (eo->selinux_enabled)
			strlist_add(args, "--selinux-enabled");
		for (size_t i = 0; i < eo->arbitrary_flags.n; i++) {
			const char *f = eo->arbitrary_flags.v[i];
			while (*f == '-')
				f++;
			strbuf_reset(&sb);
			strbuf_addf(&sb, "--%s", f);
			strlist_add(args, sb.buf);
		}
	}
	strbuf_release(&sb);
}

void engine_args(const struct engine_config *c, struct strlist *args)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "tcp://0.0.0.0:%d", c->port > 0 ? c->port : 2376);
	add2(args, "-H", sb.buf);
	add2(args, "-H", "unix:///var/run/docker.sock");
	if (c->storage_driver && c->storage_driver[0])
		add2(args, "--storage-driver", c->storage_driver);
	strlist_add(args, "--tlsverify");
	add2(args, "--tlscacert", ENGINE_CERT_DIR "/ca.pem");
	add2(args, "--tlscert", ENGINE_CERT_DIR "/server.pem");
	add2(args, "--tlskey", ENGINE_CERT_DIR "/server-key.pem");
	engine_extra_args(c, args);
	strbuf_release(&sb);
}

/* One value: no control character (any target); no blank or glob
 * character where the target splits words (split). */
static int check_value(const char *option, const char *v, bool split, char *err)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return error_set(err, EINVAL,
					 "the value of '%s' holds a control character (0x%02x): "
					 "it cannot reach dockerd as one argument",
					 option, *p);
	if (split && v[strcspn(v, " *?[")])
		return error_set(err, EINVAL,
				 "the value '%.200s' of '%s' holds '%c': a boot2docker host "
				 "splits dockerd's arguments at blanks and expands globs",
				 v, option, v[strcspn(v, " *?[")]);
	return 0;
}

static int check_list(const char *option, const struct strlist *l, bool split,
		      char *err)
{
	for (size_t i = 0; l && i < l->n; i++) {
		int ret = check_value(option, l->v[i], split, err);
		if (ret)
			return ret;
	}
	return 0;
}

/* engine-env: NAME=VALUE with a shell variable name (an export of
 * anything else stops the sourcing shell). */
static int check_env(const char *option, const struct strlist *l, char *err)
{
	for (size_t i = 0; l && i < l->n; i++) {
		const char *e = l->v[i];
		size_t n = strspn(e, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				     "0123456789_");
		int ret = check_value(option, e, false, err);
		if (ret)
			return ret;
		if (!n || e[n] != '=' || (e[0] >= '0' && e[0] <= '9'))
			return error_set(err, EINVAL,
					 "invalid %s '%.200s': want NAME=VALUE", option, e);
	}
	return 0;
}

int engine_config_check(const struct engine_config *c, bool split_words,
			char *err)
{
	const struct engine_options *eo = c->eo;
	int ret;

	if (!c->dockerd || c->dockerd[0] != '/')
		return error_set(err, EINVAL, "dockerd's path '%.200s' is not absolute",
				 c->dockerd ? c->dockerd : "");
	if ((ret = check_value("dockerd's path", c->dockerd, false, err)) ||
	    (ret = check_value("driver", c->driver_name ? c->driver_name : "",
			       split_words, err)) ||
	    (ret = check_value("engine-storage-driver",
			       c->storage_driver ? c->storage_driver : "", split_words,
			       err)) ||
	    (ret = check_env("engine-env", c->extra_env, err)))
		return ret;
	if (!eo)
		return 0;
	if ((ret = check_list("engine-label", &eo->labels, split_words, err)) ||
	    (ret = check_list("engine-insecure-registry", &eo->insecure_registry,
			      split_words, err)) ||
	    (ret = check_list("engine-registry-mirror", &eo->registry_mirror,
			      split_words, err)) ||
	    (ret = check_list("engine-opt", &eo->arbitrary_flags, split_words, err)) ||
	    (ret = check_value("engine log level", eo->log_level, split_words, err)) ||
	    (ret = check_value("engine data root", eo->graph_dir, split_words, err)) ||
	    (ret = check_env("engine-env", &eo->env, err)))
		return ret;
	for (size_t i = 0; i < eo->arbitrary_flags.n; i++) {
		const char *f = eo->arbitrary_flags.v[i];
		if (!f[strspn(f, "-")] || f[strspn(f, "-")] == '=')
			return error_set(err, EINVAL, "engine-opt '%.200s' names no flag", f);
	}
	return 0;
}

/* A word for systemd's ExecStart/Environment (systemd.service(5),
 * "Command lines"): specifiers are expanded first (% as %%), then the
 * line is split into words honouring "..." with C escapes (\\ and \"),
 * then $$ becomes $ in ExecStart (Environment= has no $ expansion).
 * Anything but plain characters goes inside double quotes. */
static void systemd_word(struct strbuf *sb, const char *s, int environment)
{
	int quote = environment || !s[0] ||
		    s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				"0123456789_./:=,+@-%$")] != '\0';

	if (quote)
		strbuf_addch(sb, '"');
	for (; *s; s++) {
		if (*s == '%')
			strbuf_addstr(sb, "%%");
		else if (*s == '$' && !environment)
			strbuf_addstr(sb, "$$");
		else if (*s == '"' || *s == '\\') {
			strbuf_addch(sb, '\\');
			strbuf_addch(sb, *s);
		} else
			strbuf_addch(sb, *s);
	}
	if (quote)
		strbuf_addch(sb, '"');
}

static void env_lines(const struct strlist *l, const char *prefix, int systemd,
		      struct strbuf *out)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		strbuf_addstr(out, prefix);
		if (systemd)
			systemd_word(out, l->v[i], 1);
		else
			sh_quote(out, l->v[i]);
		strbuf_addch(out, '\n');
	}
}

static void all_env_lines(const struct engine_config *c, const char *prefix,
			  int systemd, struct strbuf *out)
{
	if (c->eo)
		env_lines(&c->eo->env, prefix, systemd, out);
	env_lines(c->extra_env, prefix, systemd, out);
}

int engine_render_systemd(const struct engine_config *c, struct strbuf *out,
			  char *err)
{
	struct strlist args = STRLIST_INIT;
	int ret = engine_config_check(c, false, err);

	if (ret)
		return ret;
	engine_args(c, &args);
	strbuf_addstr(out, "[Service]\nExecStart=\nExecStart=");
	systemd_word(out, c->dockerd, 0);
	for (size_t i = 0; i < args.n; i++) {
		strbuf_addch(out, ' ');
		systemd_word(out, args.v[i], 0);
	}
	strbuf_addch(out, '\n');
	all_env_lines(c, "Environment=", 1, out);
	strlist_clear(&args);
	return 0;
}

/* 'dockerd' 'arg' ... each sh-quoted. */
static void sh_command(const struct engine_config *c, struct strbuf *out)
{
	struct strlist args = STRLIST_INIT;

	engine_args(c, &args);
	sh_quote(out, c->dockerd);
	for (size_t i = 0; i < args.n; i++) {
		strbuf_addch(out, ' ');
		sh_quote(out, args.v[i]);
	}
	strlist_clear(&args);
}

int engine_render_defaults(const struct engine_config *c, struct strbuf *out,
			   char *err)
{
	int ret = engine_config_check(c, false, err);

	if (ret)
		return ret;
	/* Debian's init script runs "$DOCKERD" -p PIDFILE $DOCKER_OPTS. */
	strbuf_addstr(out, "# written by machinefs: dockerd's arguments are in "
		      ENGINE_SYSV_EXEC "\nDOCKERD=");
	sh_quote(out, ENGINE_SYSV_EXEC);
	strbuf_addstr(out, "\nDOCKER_OPTS=\n");
	all_env_lines(c, "export ", 0, out);
	return 0;
}

int engine_render_sysv_exec(const struct engine_config *c, struct strbuf *out,
			    char *err)
{
	int ret = engine_config_check(c, false, err);

	if (ret)
		return ret;
	strbuf_addstr(out, "#!/bin/sh\n"
		      "# written by machinefs: dockerd with its arguments, one word each\n"
		      "exec ");
	sh_command(c, out);
	strbuf_addstr(out, " \"$@\"\n");
	return 0;
}

/* Characters openrc's split and glob would act on, each written as a
 * variable reference inside double quotes. */
static const struct {
	char c;
	const char *var, *value;
} openrc_vars[] = {
	{ ' ', "MACHINEFS_SP", "' '" },
	{ '*', "MACHINEFS_STAR", "'*'" },
	{ '?', "MACHINEFS_QM", "'?'" },
	{ '[', "MACHINEFS_LB", "'['" },
	{ '\\', "MACHINEFS_BS", "'\\'" },
};

static void openrc_word(struct strbuf *sb, const char *s)
{
	int open = 0;

	if (!*s)
		strbuf_addstr(sb, "''");
	for (; *s; s++) {
		const char *var = NULL;
		for (size_t i = 0; i < sizeof(openrc_vars) / sizeof(openrc_vars[0]); i++)
			if (*s == openrc_vars[i].c)
				var = openrc_vars[i].var;
		if (var || *s == '\'') {
			if (open)
				strbuf_addch(sb, '\'');
			open = 0;
			if (var)
				strbuf_addf(sb, "\"${%s}\"", var);
			else
				strbuf_addstr(sb, "\"'\"");
			continue;
		}
		if (!open)
			strbuf_addch(sb, '\'');
		open = 1;
		strbuf_addch(sb, *s);
	}
	if (open)
		strbuf_addch(sb, '\'');
}

int engine_render_openrc(const struct engine_config *c, struct strbuf *out,
			 char *err)
{
	struct strlist args = STRLIST_INIT;
	struct strbuf opts = STRBUF_INIT;
	int ret = engine_config_check(c, false, err);

	if (ret)
		return ret;
	engine_args(c, &args);
	for (size_t i = 0; i < args.n; i++) {
		if (i)
			strbuf_addch(&opts, ' ');
		openrc_word(&opts, args.v[i]);
	}
	strbuf_addstr(out, "# written by machinefs: openrc evaluates DOCKER_OPTS;\n"
		      "# blanks, globs and backslashes in it are these variables\n"
		      "DOCKERD_BINARY=");
	sh_quote(out, c->dockerd);
	strbuf_addch(out, '\n');
	for (size_t i = 0; i < sizeof(openrc_vars) / sizeof(openrc_vars[0]); i++)
		strbuf_addf(out, "%s=%s\n", openrc_vars[i].var, openrc_vars[i].value);
	strbuf_addstr(out, "DOCKER_OPTS=");
	sh_quote(out, strbuf_str(&opts));
	strbuf_addch(out, '\n');
	all_env_lines(c, "export ", 0, out);
	strbuf_release(&opts);
	strlist_clear(&args);
	return 0;
}

int engine_render_supervisor(const struct engine_config *c, struct strbuf *out,
			     char *err)
{
	int ret = engine_config_check(c, false, err);

	if (ret)
		return ret;
	strbuf_addstr(out,
		      "#!/bin/sh\n"
		      "# written by machinefs: runs dockerd on a host without an init\n"
		      "# system and starts it again when it dies.\n"
		      "# Stop: kill $(cat " ENGINE_SUPERVISOR_PID ")\n");
	all_env_lines(c, "export ", 0, out);
	strbuf_addstr(out,
		      "echo $$ > " ENGINE_SUPERVISOR_PID "\n"
		      "stop=\n"
		      "child=\n"
		      "trap 'stop=1; [ -n \"$child\" ] && kill \"$child\" 2>/dev/null' TERM INT HUP\n"
		      "while [ -z \"$stop\" ]; do\n"
		      "\t");
	sh_command(c, out);
	strbuf_addstr(out,
		      " &\n"
		      "\tchild=$!\n"
		      "\twait \"$child\"; rc=$?\n"
		      "\t# a trapped signal ends wait early: wait for dockerd itself\n"
		      "\twhile kill -0 \"$child\" 2>/dev/null; do wait \"$child\"; done\n"
		      "\tchild=\n"
		      "\t[ -n \"$stop\" ] && break\n"
		      "\techo \"machinefs: dockerd exited with status $rc; starting it again in 2 s\"\n"
		      "\tsleep 2\n"
		      "done\n"
		      "rm -f " ENGINE_SUPERVISOR_PID "\n");
	return 0;
}

int engine_render_b2d_profile(const struct engine_config *c, struct strbuf *out,
			      char *err)
{
	struct strlist args = STRLIST_INIT;
	struct strbuf extra = STRBUF_INIT;
	int ret = engine_config_check(c, true, err);

	if (ret)
		return ret;
	engine_extra_args(c, &args);
	for (size_t i = 0; i < args.n; i++) {
		/* One flag and its value per line, as Docker Machine writes it. */
		int value = i > 0 && args.v[i][0] != '-';
		strbuf_addch(&extra, value ? ' ' : '\n');
		strbuf_addstr(&extra, args.v[i]);
	}
	if (args.n)
		strbuf_addch(&extra, '\n');
	strbuf_addstr(out, "EXTRA_ARGS=");
	sh_quote(out, strbuf_str(&extra));
	strbuf_addf(out, "\n"
		    "CACERT=" ENGINE_B2D_DIR "/ca.pem\n"
		    "DOCKER_HOST='-H tcp://0.0.0.0:%d'\n"
		    "DOCKER_STORAGE=",
		    c->port > 0 ? c->port : 2376);
	sh_quote(out, c->storage_driver ? c->storage_driver : "");
	strbuf_addstr(out, "\n"
		      "DOCKER_TLS=auto\n"
		      "SERVERKEY=" ENGINE_B2D_DIR "/server-key.pem\n"
		      "SERVERCERT=" ENGINE_B2D_DIR "/server.pem\n\n");
	all_env_lines(c, "export ", 0, out);
	strbuf_release(&extra);
	strlist_clear(&args);
	return 0;
}
