/* Rendering of dockerd's arguments and the init systems' files. */
#include "provision/engine_config.h"

#include <string.h>

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

/* A word for systemd's ExecStart/Environment: double-quoted when it holds
 * anything systemd would split or expand; % and $ doubled. */
static void systemd_word(struct strbuf *sb, const char *s, int force_quote)
{
	int quote = force_quote || !s[0] || strpbrk(s, " \t\"'\\;") != NULL;

	if (quote)
		strbuf_addch(sb, '"');
	for (; *s; s++) {
		if (*s == '%')
			strbuf_addstr(sb, "%%");
		else if (*s == '$' && !force_quote)
			strbuf_addstr(sb, "$$");
		else if (quote && (*s == '"' || *s == '\\')) {
			strbuf_addch(sb, '\\');
			strbuf_addch(sb, *s);
		} else
			strbuf_addch(sb, *s);
	}
	if (quote)
		strbuf_addch(sb, '"');
}

static void env_lines(const struct engine_config *c, const struct strlist *l,
		      const char *prefix, int systemd, struct strbuf *out)
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

void engine_render_systemd(const struct engine_config *c, struct strbuf *out)
{
	struct strlist args = STRLIST_INIT;

	engine_args(c, &args);
	strbuf_addstr(out, "[Service]\nExecStart=\nExecStart=");
	systemd_word(out, c->dockerd, 0);
	for (size_t i = 0; i < args.n; i++) {
		strbuf_addch(out, ' ');
		systemd_word(out, args.v[i], 0);
	}
	strbuf_addch(out, '\n');
	if (c->eo)
		env_lines(c, &c->eo->env, "Environment=", 1, out);
	env_lines(c, c->extra_env, "Environment=", 1, out);
	strlist_clear(&args);
}

void engine_render_defaults(const struct engine_config *c, struct strbuf *out)
{
	struct strlist args = STRLIST_INIT;
	struct strbuf opts = STRBUF_INIT;

	engine_args(c, &args);
	for (size_t i = 0; i < args.n; i++) {
		if (i)
			strbuf_addch(&opts, ' ');
		strbuf_addstr(&opts, args.v[i]);
	}
	/* Debian's init script runs $DOCKERD, /usr/sbin/dockerd by default. */
	strbuf_addstr(out, "# written by machinefs\nDOCKERD=");
	sh_quote(out, c->dockerd);
	strbuf_addstr(out, "\nDOCKER_OPTS=");
	sh_quote(out, strbuf_str(&opts));
	strbuf_addch(out, '\n');
	if (c->eo)
		env_lines(c, &c->eo->env, "export ", 0, out);
	env_lines(c, c->extra_env, "export ", 0, out);
	strbuf_release(&opts);
	strlist_clear(&args);
}

void engine_render_supervisor(const struct engine_config *c, struct strbuf *out)
{
	struct strlist args = STRLIST_INIT;

	engine_args(c, &args);
	strbuf_addstr(out,
		      "#!/bin/sh\n"
		      "# written by machinefs: runs dockerd on a host without an init\n"
		      "# system and starts it again when it dies.\n"
		      "# Stop: kill $(cat " ENGINE_SUPERVISOR_PID ")\n");
	if (c->eo)
		env_lines(c, &c->eo->env, "export ", 0, out);
	env_lines(c, c->extra_env, "export ", 0, out);
	strbuf_addstr(out,
		      "echo $$ > " ENGINE_SUPERVISOR_PID "\n"
		      "stop=\n"
		      "child=\n"
		      "trap 'stop=1; [ -n \"$child\" ] && kill \"$child\" 2>/dev/null' TERM INT HUP\n"
		      "while [ -z \"$stop\" ]; do\n"
		      "\t");
	sh_quote(out, c->dockerd);
	for (size_t i = 0; i < args.n; i++) {
		strbuf_addch(out, ' ');
		sh_quote(out, args.v[i]);
	}
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
	strlist_clear(&args);
}

void engine_render_b2d_profile(const struct engine_config *c, struct strbuf *out)
{
	struct strlist args = STRLIST_INIT;

	engine_extra_args(c, &args);
	strbuf_addstr(out, "EXTRA_ARGS='\n");
	for (size_t i = 0; i < args.n; i++) {
		/* One flag and its value per line, as Docker Machine writes it. */
		int value = i > 0 && args.v[i][0] != '-';
		if (value)
			strbuf_addch(out, ' ');
		else if (i > 0)
			strbuf_addch(out, '\n');
		for (const char *p = args.v[i]; *p; p++) {
			if (*p == '\'')
				strbuf_addstr(out, "'\\''");
			else
				strbuf_addch(out, *p);
		}
	}
	strbuf_addf(out, "%s'\n"
		    "CACERT=" ENGINE_B2D_DIR "/ca.pem\n"
		    "DOCKER_HOST='-H tcp://0.0.0.0:%d'\n"
		    "DOCKER_STORAGE=%s\n"
		    "DOCKER_TLS=auto\n"
		    "SERVERKEY=" ENGINE_B2D_DIR "/server-key.pem\n"
		    "SERVERCERT=" ENGINE_B2D_DIR "/server.pem\n\n",
		    args.n ? "\n" : "", c->port > 0 ? c->port : 2376,
		    c->storage_driver ? c->storage_driver : "");
	if (c->eo)
		env_lines(c, &c->eo->env, "export ", 0, out);
	env_lines(c, c->extra_env, "export ", 0, out);
	strlist_clear(&args);
}
