/* env.*: hostile values (a store path, a name, a url: whatever a store on
 * disk may hold) rendered for each shell and read back by the real shells
 * that are installed (sh, bash, busybox sh, fish, tcsh): every variable
 * gets the value exactly and nothing runs. The shells that are not
 * installed get their text checked. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/render.h"
#include "lib/fileutil.h"
#include "lib/strbuf.h"
#include "tests/unit/harness.h"

static char canary[512];

static const char *const hostile[] = {
	"q\";id>&2;\"",
	"$(touch CANARY)",
	"`touch CANARY`",
	"${HOME} $HOME $$ $",
	"it's 'quoted' \"twice\"",
	"back\\slash\\\\ end\\",
	"semi;touch CANARY;&& | > < ( ) ^ ~ #",
	"bang!!  !$ !-1",
	"glob * ? [a]",
	"tick` (touch CANARY)",
	"fish (touch CANARY) {a,b}",
	"ps $(Write-Output x) `$x \xe2\x80\x98" "smart\xe2\x80\x99 \xe2\x80\x9c" "dq\xe2\x80\x9d",
	"",
};

static void sub(struct strbuf *sb, const char *v)
{
	for (const char *p = v; *p;) {
		if (!strncmp(p, "CANARY", 6)) {
			strbuf_addstr(sb, canary);
			p += 6;
		} else {
			strbuf_addch(sb, *p++);
		}
	}
}

static int run(const char *cmd, struct strbuf *out)
{
	FILE *f = popen(cmd, "r");
	char buf[4096];
	size_t n;

	if (!f)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(out, buf, n);
	return pclose(f);
}

static int have(const char *prog)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

static void no_canary(const char *what)
{
	if (access(canary, F_OK) == 0) {
		printf("code ran: %s\n", what);
		CHECK(!"a value ran code");
		unlink(canary);
	}
}

/* Source the env file in shell and print the four variables. */
static void source_in(const char *shell, const char *file, const char *print,
		      const char *host, const char *dir, const char *name)
{
	char cmd[2048];
	struct strbuf out = STRBUF_INIT, want = STRBUF_INIT;

	snprintf(cmd, sizeof(cmd), "cd '%s' && %s '%s'", test_tmpdir(), shell, print);
	strbuf_addf(&want, "[1]\n[%s]\n[%s]\n[%s]\n", host, dir, name);
	CHECK(run(cmd, &out) == 0);
	if (strcmp(out.buf ? out.buf : "", want.buf))
		printf("%s sourcing %s:\n", shell, file);
	CHECK_STR(strbuf_str(&out), want.buf);
	no_canary(shell);
	strbuf_release(&out);
	strbuf_release(&want);
}

static void write_text(const char *path, const char *text)
{
	CHECK(write_file_atomic(path, text, strlen(text), 0644, NULL) == 0);
}

static void one(const char *raw)
{
	struct strbuf v = STRBUF_INIT, host = STRBUF_INIT, sb = STRBUF_INIT;
	char file[600], print[600], text[4096];
	const char *dir = test_tmpdir();

	sub(&v, raw);
	strbuf_addf(&host, "tcp://h:1/%s", strbuf_str(&v));
	const char *name = strbuf_str(&v);

	/* POSIX sh, bash, busybox. */
	snprintf(file, sizeof(file), "%s/env.sh", dir);
	CHECK(render_env_lines(SHELL_POSIX, host.buf, name, name, &sb) == 0);
	write_text(file, sb.buf);
	snprintf(print, sizeof(print), "%s/print.sh", dir);
	snprintf(text, sizeof(text),
		 ". '%s'\nfor v in \"$DOCKER_TLS_VERIFY\" \"$DOCKER_HOST\" \"$DOCKER_CERT_PATH\" "
		 "\"$DOCKER_MACHINE_NAME\"; do printf '[%%s]\\n' \"$v\"; done\n", file);
	write_text(print, text);
	source_in("dash", file, print, host.buf, name, name);
	source_in("bash", file, print, host.buf, name, name);
	if (have("busybox"))
		source_in("busybox sh", file, print, host.buf, name, name);
	/* bash interactive: history expansion on, ! in the values. */
	source_in("bash -i -o histexpand 2>/dev/null", file, print, host.buf, name, name);

	strbuf_reset(&sb);
	CHECK(render_env_lines(SHELL_FISH, host.buf, name, name, &sb) == 0);
	if (have("fish")) {
		snprintf(file, sizeof(file), "%s/env.fish", dir);
		write_text(file, sb.buf);
		snprintf(print, sizeof(print), "%s/print.fish", dir);
		snprintf(text, sizeof(text),
			 "source '%s'\nfor v in \"$DOCKER_TLS_VERIFY\" \"$DOCKER_HOST\" "
			 "\"$DOCKER_CERT_PATH\" \"$DOCKER_MACHINE_NAME\"; printf '[%%s]\\n' \"$v\"; end\n",
			 file);
		write_text(print, text);
		source_in("fish", file, print, host.buf, name, name);
	}

	strbuf_reset(&sb);
	CHECK(render_env_lines(SHELL_TCSH, host.buf, name, name, &sb) == 0);
	if (have("tcsh")) {
		snprintf(file, sizeof(file), "%s/env.tcsh", dir);
		write_text(file, sb.buf);
		snprintf(print, sizeof(print), "%s/print.tcsh", dir);
		/* printenv: tcsh's own $var:q would trip over ! in values. */
		snprintf(text, sizeof(text),
			 "source '%s'\nsh -c 'for v in \"$DOCKER_TLS_VERIFY\" \"$DOCKER_HOST\" "
			 "\"$DOCKER_CERT_PATH\" \"$DOCKER_MACHINE_NAME\"; do printf \"[%%s]\\n\" \"$v\"; done'\n",
			 file);
		write_text(print, text);
		source_in("tcsh -f", file, print, host.buf, name, name);
	}

	/* PowerShell and cmd are not on this system: their rules, checked
	 * on the text. */
	strbuf_reset(&sb);
	CHECK(render_env_lines(SHELL_POWERSHELL, host.buf, name, name, &sb) == 0);
	for (const char *l = sb.buf; l && *l;) {
		const char *eq = strstr(l, " = ");
		const char *nl = strchr(l, '\n');
		CHECK(eq && nl);
		if (!eq || !nl)
			break;
		const char *q = eq + 3;
		if (*q == '"') {
			/* double-quoted only when nothing in it is special */
			for (const char *p = q + 1; p < nl - 1; p++)
				CHECK(!strchr("$`\"'", *p) && !((unsigned char)*p & 0x80));
		} else {
			CHECK(*q == '\'' && nl[-1] == '\'');
			/* every ' inside is doubled */
			for (const char *p = q + 1; p < nl - 1; p++) {
				if (*p == '\'') {
					CHECK(p[1] == '\'');
					p++;
				}
			}
		}
		l = nl + 1;
	}

	strbuf_reset(&sb);
	int rc = render_env_lines(SHELL_CMD, host.buf, name, name, &sb);
	if (strpbrk(name, "%!\""))
		CHECK(rc == -EINVAL && sb.len == 0);
	else
		CHECK(rc == 0);
	for (const char *p = strbuf_str(&sb); *p; p++)
		if (strchr("&|<>()", *p))
			CHECK(p > sb.buf && p[-1] == '^');

	strbuf_reset(&sb);
	CHECK(render_env_lines(SHELL_EMACS, host.buf, name, name, &sb) == 0);
	if (have("emacs")) {
		/* not installed in CI; left out */
	}
	/* Every " inside an elisp string is escaped: count unescaped ones. */
	for (const char *l = sb.buf; l && *l;) {
		const char *nl = strchr(l, '\n');
		int quotes = 0;
		for (const char *p = l; p < nl; p++) {
			if (*p == '\\') {
				p++;
				continue;
			}
			quotes += *p == '"';
		}
		CHECK(quotes == 4);
		l = nl + 1;
	}
	strbuf_release(&v);
	strbuf_release(&host);
	strbuf_release(&sb);
}

int main(void)
{
	struct strbuf sb = STRBUF_INIT;

	snprintf(canary, sizeof(canary), "%s/CANARY-ran", test_tmpdir());
	/* Plain values: Docker Machine's exact strings. */
	render_env_lines(SHELL_POSIX, "tcp://10.0.0.5:2376", "/s/machines/dev", "dev", &sb);
	CHECK_STR(sb.buf, "export DOCKER_TLS_VERIFY=\"1\"\n"
			  "export DOCKER_HOST=\"tcp://10.0.0.5:2376\"\n"
			  "export DOCKER_CERT_PATH=\"/s/machines/dev\"\n"
			  "export DOCKER_MACHINE_NAME=\"dev\"\n");
	const enum env_shell all[] = { SHELL_FISH, SHELL_TCSH, SHELL_POWERSHELL, SHELL_CMD,
				       SHELL_EMACS };
	const char *const want[] = {
		"set -gx DOCKER_HOST \"tcp://10.0.0.5:2376\";\n",
		"setenv DOCKER_HOST \"tcp://10.0.0.5:2376\";\n",
		"$Env:DOCKER_HOST = \"tcp://10.0.0.5:2376\"\n",
		"SET DOCKER_HOST=tcp://10.0.0.5:2376\n",
		"(setenv \"DOCKER_HOST\" \"tcp://10.0.0.5:2376\")\n",
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		strbuf_reset(&sb);
		render_env_lines(all[i], "tcp://10.0.0.5:2376", "/s/machines/dev", "dev", &sb);
		CHECK(strstr(strbuf_str(&sb), want[i]) != NULL);
	}
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++)
		one(hostile[i]);
	/* A control character: nothing rendered, for every shell. */
	for (int s = SHELL_POSIX; s <= SHELL_EMACS; s++) {
		strbuf_reset(&sb);
		CHECK(render_env_lines((enum env_shell)s, "tcp://h:1", "/d\nid", "n", &sb) == -EINVAL);
		CHECK(sb.len == 0);
	}
	strbuf_release(&sb);
	no_canary("end");
	return test_report();
}
