/* fs/render.c: the env files for the six shells from a URL, a path and a
 * name (input: the three values separated by NUL bytes). The oracle: when
 * a value is accepted, each shell's line read back by that shell's quoting
 * rules gives the value exactly, and nothing in it is left unquoted that
 * the shell would expand or run. */
#include <stdio.h>

#include "fs/render.h"
#include "tests/fuzz/fuzz.h"

static const char *const keys[] = { "DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH",
				    "DOCKER_MACHINE_NAME" };

static void bad(const char *what, const char *line)
{
	fprintf(stderr, "env quoting broken: %s in: %s\n", what, line);
	abort();
}

/* "..." where a backslash escapes the characters in esc and is literal
 * before anything else; unescaped characters in forbid are a failure. */
static const char *dq(const char *p, struct strbuf *out, const char *esc,
		      const char *forbid, const char *line)
{
	if (*p++ != '"')
		bad("no opening quote", line);
	for (; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1] && strchr(esc, p[1]))
			p++;
		else if (strchr(forbid, *p))
			bad("an unescaped special character", line);
		strbuf_addch(out, *p);
	}
	if (*p != '"')
		bad("no closing quote", line);
	return p + 1;
}

/* A PowerShell single quote: ' or U+2018..U+201B; its length, or 0. */
static size_t ps_quote(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	if (*u == '\'')
		return 1;
	return u[0] == 0xe2 && u[1] == 0x80 && u[2] >= 0x98 && u[2] <= 0x9b ? 3 : 0;
}

/* '...' where a pair of single quotes stands for one (powershell, which
 * takes the typographic ones as quotes too), or '\'' and \! (tcsh). */
static const char *sq(const char *p, struct strbuf *out, bool tcsh, const char *line)
{
	if (*p++ != '\'')
		bad("no opening quote", line);
	for (;; p++) {
		if (!*p)
			bad("no closing quote", line);
		if (tcsh && !strncmp(p, "'\\''", 4)) {
			strbuf_addch(out, '\'');
			p += 3;
		} else if (tcsh && !strncmp(p, "\\!", 2)) {
			strbuf_addch(out, '!');
			p++;
		} else if (tcsh && *p == '!') {
			bad("a bare ! (history)", line);
		} else if (!tcsh && ps_quote(p) && ps_quote(p + ps_quote(p))) {
			strbuf_add(out, p, ps_quote(p));
			p += ps_quote(p) + ps_quote(p + ps_quote(p)) - 1;
		} else if (tcsh ? *p == '\'' : ps_quote(p) != 0) {
			return p + (tcsh ? 1 : ps_quote(p));
		} else {
			strbuf_addch(out, *p);
		}
	}
}

static const char *value(enum env_shell sh, const char *p, struct strbuf *v, const char *line)
{
	switch (sh) {
	case SHELL_POSIX: return dq(p, v, "\\\"$`", "$`", line);
	case SHELL_FISH: return dq(p, v, "\\\"$", "$", line);
	case SHELL_EMACS: return dq(p, v, "\\\"", "\\", line);
	case SHELL_TCSH:
		if (*p == '"')
			return dq(p, v, "", "$`'!\\", line);
		return sq(p, v, true, line);
	case SHELL_POWERSHELL:
		if (*p == '"') {
			p = dq(p, v, "", "$`'", line);
			for (size_t i = 0; i < v->len; i++)
				if ((unsigned char)v->buf[i] >= 0x80)
					bad("non-ASCII in a double-quoted powershell string", line);
			return p;
		}
		return sq(p, v, false, line);
	case SHELL_CMD:
		for (; *p && *p != '\n'; p++) {
			if (*p == '^' && p[1] && p[1] != '\n')
				p++;
			else if (strchr("&|<>()^%!\"", *p))
				bad("an unescaped cmd special character", line);
			strbuf_addch(v, *p);
		}
		return p;
	}
	return p;
}

static void check(enum env_shell sh, const struct strbuf *sb, const char *const vals[4])
{
	static const char *const pre[][2] = {
		[SHELL_POSIX] = { "export ", "=" }, [SHELL_FISH] = { "set -gx ", " " },
		[SHELL_TCSH] = { "setenv ", " " }, [SHELL_POWERSHELL] = { "$Env:", " = " },
		[SHELL_CMD] = { "SET ", "=" }, [SHELL_EMACS] = { "(setenv \"", "\" " },
	};
	static const char *const post[] = {
		[SHELL_POSIX] = "\n", [SHELL_FISH] = ";\n", [SHELL_TCSH] = ";\n",
		[SHELL_POWERSHELL] = "\n", [SHELL_CMD] = "\n", [SHELL_EMACS] = ")\n",
	};
	const char *p = sb->buf;
	for (int i = 0; i < 4; i++) {
		char head[64];
		snprintf(head, sizeof(head), "%s%s%s", pre[sh][0], keys[i], pre[sh][1]);
		if (strncmp(p, head, strlen(head)))
			bad("a line does not start as expected", p);
		struct strbuf v = STRBUF_INIT;
		const char *e = value(sh, p + strlen(head), &v, p);
		if (strcmp(v.buf ? v.buf : "", vals[i]))
			bad("the value read back differs", p);
		if (strncmp(e, post[sh], strlen(post[sh])))
			bad("trailing text after the value", p);
		p = e + strlen(post[sh]);
		strbuf_release(&v);
	}
	if (*p)
		bad("more than four lines", sb->buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	/* NULs separate the fields: fuzz_str's copy ends at the first one. */
	const char *v[4] = { "1" };
	size_t off = 0;
	for (int i = 1; i < 4; i++) {
		v[i] = off < size ? s + off : "";
		off += strlen(v[i]) + 1;
	}
	for (int sh = SHELL_POSIX; sh <= SHELL_EMACS; sh++) {
		struct strbuf sb = STRBUF_INIT;
		if (!render_env_lines((enum env_shell)sh, v[1], v[2], v[3], &sb))
			check((enum env_shell)sh, &sb, v);
		strbuf_release(&sb);
	}
	free(s);
	return 0;
}
