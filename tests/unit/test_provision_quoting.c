/* Hostile option values through every engine configuration file: each
 * file is parsed back the way its real reader does (sh sourcing it and
 * expanding the variables as the init script does; systemd's unquoting
 * rules and systemd-analyze verify) and must give dockerd exactly the
 * arguments engine_args() made, run no code, and refuse control
 * characters. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fileutil.h"
#include "lib/strbuf.h"
#include "provision/engine_config.h"
#include "tests/unit/harness.h"

static char canary[512];

/* Values that are code, flags or word breaks in one syntax or another. */
static const char *const hostile[] = {
	"q='x' \"y\" z",
	"a=b --insecure-registry=evil.example:5000",
	"cmd=$(touch CANARY)",
	"tick=`touch CANARY`",
	"semi=;touch CANARY;",
	"-leading=dash",
	"pct=100% %n %%",
	"dollar=$HOME ${PATH} $$ $",
	"back=\\ \\n \\\\ end\\",
	"two  spaces  and more",
	"glob=* ? [a] /*",
	"ifs=${IFS}",
	"brace={a,b}",
	"hash=#not a comment",
	"",
};

/* The same without blanks or glob characters, for the boot2docker
 * profile, whose init script splits words. */
static const char *const hostile_nosplit[] = {
	"q='x'\"y\"",
	"cmd=$(touch${IFS}CANARY)",
	"tick=`touch${IFS}CANARY`",
	"semi=;touch${IFS}CANARY;",
	"-leading=dash",
	"pct=100%%n",
	"dollar=$HOME${PATH}$$",
	"back=\\n\\\\end\\",
	"ifs=${IFS}",
	"brace={a,b}",
	"hash=#x",
	"amp=a&&b||c|d>e<f",
};

static void replace_all(struct strbuf *sb, const char *from, const char *to)
{
	struct strbuf out = STRBUF_INIT;
	const char *p = strbuf_str(sb), *q;

	while ((q = strstr(p, from))) {
		strbuf_add(&out, p, (size_t)(q - p));
		strbuf_addstr(&out, to);
		p = q + strlen(from);
	}
	strbuf_addstr(&out, p);
	strbuf_release(sb);
	*sb = out;
}

static void add_value(struct strlist *l, const char *v)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, v);
	replace_all(&sb, "CANARY", canary);
	strlist_add(l, strbuf_str(&sb));
	strbuf_release(&sb);
}

static void fill(struct engine_options *eo, const char *const *vals, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		add_value(&eo->labels, vals[i]);
		add_value(&eo->insecure_registry, vals[i]);
		add_value(&eo->registry_mirror, vals[i]);
		if (vals[i][0] && vals[i][0] != '-')
			add_value(&eo->arbitrary_flags, vals[i]);
	}
	add_value(&eo->env, "HOSTILE=$(touch CANARY) `touch CANARY` ' \" \\ %n $$");
}

static void clear(struct engine_options *eo)
{
	strlist_clear(&eo->labels);
	strlist_clear(&eo->insecure_registry);
	strlist_clear(&eo->registry_mirror);
	strlist_clear(&eo->arbitrary_flags);
	strlist_clear(&eo->env);
}

/* "[arg]\n" per argument, as the stand-in programs print them. */
static void expect_lines(const struct strlist *l, struct strbuf *sb)
{
	for (size_t i = 0; i < l->n; i++)
		strbuf_addf(sb, "[%s]\n", l->v[i]);
}

/* Run script with shell in dir (which holds files a glob would match);
 * stdout into out. */
static int run_shell(const char *shell, const char *dir, const char *script,
		     struct strbuf *out)
{
	char path[600], cmd[1400];
	struct strbuf sb = STRBUF_INIT;
	FILE *f;
	char buf[4096];
	size_t n;

	snprintf(path, sizeof(path), "%s/script.sh", dir);
	if (write_file_atomic(path, script, strlen(script), 0644, NULL))
		return -1;
	snprintf(cmd, sizeof(cmd), "cd '%s' && %s ./script.sh", dir, shell);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	int rc = pclose(f);
	strbuf_addstr(out, strbuf_str(&sb));
	strbuf_release(&sb);
	return rc;
}

static const char *const shells[] = { "dash", "bash", "busybox sh" };

static int have_shell(const char *shell)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %.64s >/dev/null 2>&1 && %s -c true 2>/dev/null",
		 shell, shell);
	return system(cmd) == 0;
}

/* A folder with files named like the glob patterns' matches. */
static const char *glob_dir(void)
{
	static char dir[512];
	char p[600];

	if (dir[0])
		return dir;
	snprintf(dir, sizeof(dir), "%s/globs", test_tmpdir());
	mkdir_p(dir, 0700, NULL);
	const char *names[] = { "a", "x", "glob=a", "glob=xx", "'a", "q='x'\"y\"" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		write_file_atomic(p, "", 0, 0644, NULL);
	}
	return dir;
}

static void check_no_canary(const char *what)
{
	if (access(canary, F_OK) == 0) {
		printf("code ran: %s\n", what);
		CHECK(!"a hostile value ran code");
		unlink(canary);
	}
}

/* sysvinit: /etc/default/docker sourced by Debian's init script, which
 * runs "$DOCKERD" -p "$DOCKER_PIDFILE" $DOCKER_OPTS. */
static void test_sysvinit(void)
{
	const char *dir = glob_dir();
	struct engine_options eo = { 0 };
	char fake[600], exec_path[600];
	struct strbuf def = STRBUF_INIT, ex = STRBUF_INIT, sc = STRBUF_INIT;
	struct strbuf want = STRBUF_INIT, fk = STRBUF_INIT;
	struct strlist args = STRLIST_INIT;

	fill(&eo, hostile, sizeof(hostile) / sizeof(hostile[0]));
	snprintf(fake, sizeof(fake), "%s/fake dockerd", test_tmpdir());
	snprintf(exec_path, sizeof(exec_path), "%s/exec.sh", test_tmpdir());
	strbuf_addstr(&fk, "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\"; done\n"
			   "printf 'env[%s]\\n' \"$HOSTILE\"\n");
	CHECK(write_file_atomic(fake, fk.buf, fk.len, 0755, NULL) == 0);

	struct engine_config c = { fake, 2376, "generic", "overlay2", &eo, NULL };
	CHECK(engine_render_defaults(&c, &def, NULL) == 0);
	CHECK(engine_render_sysv_exec(&c, &ex, NULL) == 0);
	replace_all(&def, ENGINE_SYSV_EXEC, exec_path);
	CHECK(write_file_atomic(exec_path, ex.buf, ex.len, 0755, NULL) == 0);
	snprintf(fake, sizeof(fake), "%s/defaults", test_tmpdir());
	CHECK(write_file_atomic(fake, def.buf, def.len, 0644, NULL) == 0);
	/* Debian's /etc/init.d/docker, the lines that matter. */
	strbuf_addf(&sc, "DOCKER_PIDFILE=/var/run/docker.pid\nDOCKER_OPTS=\n"
			 ". '%s'\n[ -x $DOCKERD ] || exit 9\n"
			 "\"$DOCKERD\" -p \"$DOCKER_PIDFILE\" $DOCKER_OPTS\n", fake);

	engine_args(&c, &args);
	strlist_add(&args, "-p");
	strlist_add(&args, "/var/run/docker.pid");
	expect_lines(&args, &want);
	strbuf_addf(&want, "env[$(touch %s) `touch %s` ' \" \\ %%n $$]\n", canary, canary);
	for (size_t i = 0; i < sizeof(shells) / sizeof(shells[0]); i++) {
		struct strbuf out = STRBUF_INIT;
		if (!have_shell(shells[i]))
			continue;
		CHECK(run_shell(shells[i], dir, sc.buf, &out) == 0);
		CHECK_STR(out.buf, want.buf);
		check_no_canary(shells[i]);
		strbuf_release(&out);
	}
	strbuf_release(&def);
	strbuf_release(&ex);
	strbuf_release(&sc);
	strbuf_release(&want);
	strbuf_release(&fk);
	strlist_clear(&args);
	clear(&eo);
}

/* openrc: /etc/conf.d/docker sourced by openrc-run; the init script sets
 * command_args from DOCKER_OPTS and openrc's start-stop-daemon.sh runs
 * eval start-stop-daemon ... -- $command_args. */
static void test_openrc(void)
{
	const char *dir = glob_dir();
	struct engine_options eo = { 0 };
	char conf[600];
	struct strbuf text = STRBUF_INIT, sc = STRBUF_INIT, want = STRBUF_INIT;
	struct strlist args = STRLIST_INIT;

	fill(&eo, hostile, sizeof(hostile) / sizeof(hostile[0]));
	struct engine_config c = { "/usr/bin/dockerd", 2376, "generic", "overlay2", &eo, NULL };
	CHECK(engine_render_openrc(&c, &text, NULL) == 0);
	snprintf(conf, sizeof(conf), "%s/conf.d-docker", test_tmpdir());
	CHECK(write_file_atomic(conf, text.buf, text.len, 0644, NULL) == 0);
	strbuf_addf(&sc, ". '%s'\n"
			 "command=\"${DOCKERD_BINARY:-/usr/bin/dockerd}\"\n"
			 "command_args=\"${command_args:-${DOCKER_OPTS}}\"\n"
			 "start_stop_daemon() { shift 2; for a in \"$@\"; do printf '[%%s]\\n' \"$a\"; done; }\n"
			 "eval start_stop_daemon --start --exec $command -- $command_args\n"
			 "printf 'env[%%s]\\n' \"$HOSTILE\"\n", conf);
	strlist_add(&args, "/usr/bin/dockerd");
	strlist_add(&args, "--");
	engine_args(&c, &args);
	expect_lines(&args, &want);
	strbuf_addf(&want, "env[$(touch %s) `touch %s` ' \" \\ %%n $$]\n", canary, canary);
	for (size_t i = 0; i < sizeof(shells) / sizeof(shells[0]); i++) {
		struct strbuf out = STRBUF_INIT;
		if (!have_shell(shells[i]))
			continue;
		CHECK(run_shell(shells[i], dir, sc.buf, &out) == 0);
		CHECK_STR(out.buf, want.buf);
		check_no_canary(shells[i]);
		strbuf_release(&out);
	}
	strbuf_release(&text);
	strbuf_release(&sc);
	strbuf_release(&want);
	strlist_clear(&args);
	clear(&eo);
}

/* boot2docker: the profile sourced by /etc/init.d/docker, which runs
 * dockerd ... --storage-driver $DOCKER_STORAGE $EXTRA_ARGS (word split). */
static void test_b2d(void)
{
	const char *dir = glob_dir();
	struct engine_options eo = { 0 };
	char prof[600];
	struct strbuf text = STRBUF_INIT, sc = STRBUF_INIT, want = STRBUF_INIT;
	struct strlist args = STRLIST_INIT;
	char err[ERR_MAX];

	char storage[700];

	snprintf(storage, sizeof(storage), "overlay2;touch${IFS}%s", canary);
	fill(&eo, hostile_nosplit, sizeof(hostile_nosplit) / sizeof(hostile_nosplit[0]));
	struct engine_config c = { "/usr/bin/dockerd", 2376, "qemu", storage, &eo, NULL };
	CHECK(engine_render_b2d_profile(&c, &text, err) == 0);
	snprintf(prof, sizeof(prof), "%s/profile", test_tmpdir());
	CHECK(write_file_atomic(prof, text.buf, text.len, 0644, NULL) == 0);
	strbuf_addf(&sc, "DOCKER_STORAGE= EXTRA_ARGS=\n. '%s'\n"
			 "args=\"-H unix://\"\n"
			 "[ -z \"$DOCKER_STORAGE\" ] || args=\"$args --storage-driver $DOCKER_STORAGE\"\n"
			 "args=\"$args $EXTRA_ARGS\"\n"
			 "for a in $args; do printf '[%%s]\\n' \"$a\"; done\n"
			 "printf 'env[%%s]\\n' \"$HOSTILE\"\n", prof);
	strlist_add(&args, "-H");
	strlist_add(&args, "unix://");
	strlist_add(&args, "--storage-driver");
	strlist_add(&args, storage);
	engine_extra_args(&c, &args);
	expect_lines(&args, &want);
	strbuf_addf(&want, "env[$(touch %s) `touch %s` ' \" \\ %%n $$]\n", canary, canary);
	for (size_t i = 0; i < sizeof(shells) / sizeof(shells[0]); i++) {
		struct strbuf out = STRBUF_INIT;
		if (!have_shell(shells[i]))
			continue;
		CHECK(run_shell(shells[i], dir, sc.buf, &out) == 0);
		CHECK_STR(out.buf, want.buf);
		check_no_canary(shells[i]);
		strbuf_release(&out);
	}
	clear(&eo);

	/* A value the init script would split or glob is refused. */
	const char *splits[] = { "team=a b", "x=*", "y=a?", "z=[a]" };
	for (size_t i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
		struct engine_options e2 = { 0 };
		struct engine_config c2 = { "/usr/bin/dockerd", 2376, "qemu", "overlay2", &e2, NULL };
		struct strbuf t2 = STRBUF_INIT;
		strlist_add(&e2.labels, splits[i]);
		err[0] = '\0';
		CHECK(engine_render_b2d_profile(&c2, &t2, err) == -EINVAL);
		CHECK(strstr(err, "engine-label") != NULL);
		CHECK(t2.len == 0);
		strbuf_release(&t2);
		clear(&e2);
	}
	struct engine_config c3 = { "/usr/bin/dockerd", 2376, "qemu", "over lay", NULL, NULL };
	struct strbuf t3 = STRBUF_INIT;
	CHECK(engine_render_b2d_profile(&c3, &t3, err) == -EINVAL);
	CHECK(strstr(err, "engine-storage-driver") != NULL);
	strbuf_release(&t3);
	strbuf_release(&text);
	strbuf_release(&sc);
	strbuf_release(&want);
	strlist_clear(&args);
}

/* The supervisor script (no init system) and its arguments, run by sh. */
static void test_supervisor(void)
{
	struct engine_options eo = { 0 };
	struct strbuf text = STRBUF_INIT, cmdline = STRBUF_INIT, want = STRBUF_INIT;
	struct strlist args = STRLIST_INIT;
	const char *dir = glob_dir();

	fill(&eo, hostile, sizeof(hostile) / sizeof(hostile[0]));
	struct engine_config c = { "/usr/bin/dockerd", 2376, "generic", "overlay2", &eo, NULL };
	CHECK(engine_render_supervisor(&c, &text, NULL) == 0);
	/* The dockerd line, with a stand-in for dockerd. */
	const char *line = strstr(strbuf_str(&text), "\t'/usr/bin/dockerd' ");
	CHECK(line != NULL);
	if (line) {
		const char *from = line + strlen("\t'/usr/bin/dockerd' ");
		const char *end = strstr(from, " &\n");
		strbuf_addstr(&cmdline, "dockerd() { for a in \"$@\"; do printf '[%s]\\n' \"$a\"; done; }\n"
					"dockerd ");
		strbuf_add(&cmdline, from, (size_t)(end - from));
		strbuf_addch(&cmdline, '\n');
		engine_args(&c, &args);
		expect_lines(&args, &want);
		for (size_t i = 0; i < sizeof(shells) / sizeof(shells[0]); i++) {
			struct strbuf out = STRBUF_INIT;
			if (!have_shell(shells[i]))
				continue;
			CHECK(run_shell(shells[i], dir, cmdline.buf, &out) == 0);
			CHECK_STR(out.buf, want.buf);
			check_no_canary(shells[i]);
			strbuf_release(&out);
		}
	}
	strbuf_release(&text);
	strbuf_release(&cmdline);
	strbuf_release(&want);
	strlist_clear(&args);
	clear(&eo);
}

/* systemd's command line rules (systemd.service(5) "Command lines",
 * systemd.syntax(7) "Quoting"): specifiers (%%) first, then words split
 * at blanks with "..." and '...' quoting and C escapes, then in ExecStart
 * $$ is $ and any other $ would expand a variable. -1 on anything our
 * renderer must never produce. */
static int systemd_split(const char *line, int exec, struct strlist *words)
{
	struct strbuf spec = STRBUF_INIT, w = STRBUF_INIT;
	int rc = 0;

	for (const char *p = line; *p; p++) {
		if (*p == '%') {
			if (p[1] != '%') {
				rc = -1;
				goto out;
			}
			p++;
		}
		strbuf_addch(&spec, *p);
	}
	for (const char *p = strbuf_str(&spec); *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		strbuf_reset(&w);
		strbuf_addstr(&w, "");
		char quote = 0;
		for (; *p && (quote || (*p != ' ' && *p != '\t')); p++) {
			if (!quote && (*p == '"' || *p == '\'')) {
				quote = *p;
				continue;
			}
			if (quote && *p == quote) {
				quote = 0;
				continue;
			}
			if (*p == '\\') {
				p++;
				if (*p == '\\' || *p == '"' || *p == '\'') {
					strbuf_addch(&w, *p);
					continue;
				}
				rc = -1; /* another C escape: would change the value */
				goto out;
			}
			if (exec && *p == '$') {
				if (p[1] != '$') {
					rc = -1;
					goto out;
				}
				p++;
			}
			strbuf_addch(&w, *p);
		}
		if (quote) {
			rc = -1;
			goto out;
		}
		strlist_add(words, strbuf_str(&w));
	}
out:
	strbuf_release(&spec);
	strbuf_release(&w);
	return rc;
}

static void test_systemd(void)
{
	struct engine_options eo = { 0 };
	struct strbuf text = STRBUF_INIT;
	struct strlist args = STRLIST_INIT, got = STRLIST_INIT;
	const char *exe = path_exists("/usr/sbin/dockerd") ? "/usr/sbin/dockerd" : "/bin/sh";

	fill(&eo, hostile, sizeof(hostile) / sizeof(hostile[0]));
	struct engine_config c = { exe, 2376, "generic", "overlay2", &eo, NULL };
	CHECK(engine_render_systemd(&c, &text, NULL) == 0);
	strlist_add(&args, exe);
	engine_args(&c, &args);
	int lines = 0, execs = 0, envs = 0;
	for (const char *p = strbuf_str(&text); *p; lines++) {
		const char *nl = strchr(p, '\n');
		char *l = strndup(p, nl ? (size_t)(nl - p) : strlen(p));
		if (!strncmp(l, "ExecStart=", 10) && l[10]) {
			execs++;
			CHECK(systemd_split(l + 10, 1, &got) == 0);
			CHECK(got.n == args.n);
			for (size_t i = 0; i < got.n && i < args.n; i++)
				CHECK_STR(got.v[i], args.v[i]);
			strlist_clear(&got);
		} else if (!strncmp(l, "Environment=", 12)) {
			envs++;
			CHECK(systemd_split(l + 12, 0, &got) == 0);
			CHECK(got.n == 1);
			if (got.n == 1)
				CHECK_STR(got.v[0], eo.env.v[0]);
			strlist_clear(&got);
		} else {
			CHECK(!strcmp(l, "[Service]") || !strcmp(l, "ExecStart="));
		}
		free(l);
		p = nl ? nl + 1 : p + strlen(p);
	}
	CHECK(lines == 4 && execs == 1 && envs == 1);

	/* And systemd itself reads it without a complaint. */
	if (path_exists("/usr/bin/systemd-analyze")) {
		char unit[600], cmd[1400];
		struct strbuf u = STRBUF_INIT;
		strbuf_addstr(&u, "[Unit]\nDescription=machinefs hostile drop-in\n");
		strbuf_addstr(&u, text.buf);
		snprintf(unit, sizeof(unit), "%s/mfs-hostile.service", test_tmpdir());
		CHECK(write_file_atomic(unit, u.buf, u.len, 0644, NULL) == 0);
		snprintf(cmd, sizeof(cmd),
			 "out=$(systemd-analyze verify --man=no '%s' 2>&1); rc=$?; "
			 "echo \"$out\" | grep -v -e 'Failed to' -e 'bus' -e 'Unit name' >&2; "
			 "[ $rc -eq 0 ]", unit);
		CHECK(system(cmd) == 0);
		strbuf_release(&u);
	} else {
		printf("SKIP: no systemd-analyze\n");
	}
	strbuf_release(&text);
	strlist_clear(&args);
	clear(&eo);
}

/* A control character is refused by every renderer, with one line. */
static void test_control_chars(void)
{
	typedef int (*render_fn)(const struct engine_config *, struct strbuf *, char *);
	const render_fn fns[] = { engine_render_systemd, engine_render_defaults,
				  engine_render_sysv_exec, engine_render_openrc,
				  engine_render_supervisor, engine_render_b2d_profile };
	const char *bad[] = { "a\nExecStartPre=/bin/touch /tmp/pwned", "b\rc", "tab\there",
			      "esc\033[0m", "del\177" };
	char err[ERR_MAX];

	for (size_t f = 0; f < sizeof(fns) / sizeof(fns[0]); f++) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct engine_options eo = { 0 };
			struct strbuf out = STRBUF_INIT;
			struct engine_config c = { "/usr/bin/dockerd", 2376, "generic",
						   "overlay2", &eo, NULL };
			strlist_add(&eo.labels, bad[i]);
			err[0] = '\0';
			CHECK(fns[f](&c, &out, err) == -EINVAL);
			CHECK(out.len == 0);
			CHECK(strchr(err, '\n') == NULL && strstr(err, "engine-label"));
			strbuf_release(&out);
			clear(&eo);
			/* The storage driver, the engine-env, the engine-opt. */
			c.storage_driver = bad[i];
			CHECK(fns[f](&c, &out, err) == -EINVAL);
			CHECK(strstr(err, "engine-storage-driver") != NULL);
			c.storage_driver = "overlay2";
			strlist_add(&eo.env, "K=x\ny");
			CHECK(fns[f](&c, &out, err) == -EINVAL);
			clear(&eo);
			strlist_add(&eo.arbitrary_flags, bad[i]);
			CHECK(fns[f](&c, &out, err) == -EINVAL);
			clear(&eo);
			CHECK(out.len == 0);
			strbuf_release(&out);
		}
	}
	/* engine-env that is not NAME=VALUE would stop the sourcing shell. */
	struct engine_options eo = { 0 };
	struct strbuf out = STRBUF_INIT;
	struct engine_config c = { "/usr/bin/dockerd", 2376, "generic", "overlay2", &eo, NULL };
	const char *envs[] = { "NOEQUALS", "=v", "1A=b", "A B=c", "A;B=c" };
	for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
		strlist_add(&eo.env, envs[i]);
		CHECK(engine_render_defaults(&c, &out, err) == -EINVAL);
		CHECK(strstr(err, "engine-env") != NULL);
		clear(&eo);
	}
	strlist_add(&eo.arbitrary_flags, "--");
	CHECK(engine_render_systemd(&c, &out, err) == -EINVAL);
	clear(&eo);
	c.dockerd = "dockerd";
	CHECK(engine_render_systemd(&c, &out, err) == -EINVAL);
	strbuf_release(&out);
}

int main(void)
{
	snprintf(canary, sizeof(canary), "%s/CANARY-ran", test_tmpdir());
	test_sysvinit();
	test_openrc();
	test_b2d();
	test_supervisor();
	test_systemd();
	test_control_chars();
	check_no_canary("end");
	return test_report();
}
