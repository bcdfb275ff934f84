/* Parsing of /etc/os-release (reference §4: KEY=VALUE, quotes stripped). */
#include "provision/osrelease.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"

/* Copy an unquoted value: "..." and '...' lose their quotes, backslash
 * escapes inside double quotes are resolved, as the shell would. */
static void unquote(const char *v, size_t n, char *out, size_t outlen)
{
	size_t o = 0;
	char q = 0;

	for (size_t i = 0; i < n && o + 1 < outlen; i++) {
		char c = v[i];
		if (!q && (c == '"' || c == '\'')) {
			q = c;
			continue;
		}
		if (q && c == q) {
			q = 0;
			continue;
		}
		if (q != '\'' && c == '\\' && i + 1 < n) {
			out[o++] = v[++i];
			continue;
		}
		if (!q && c == '#')
			break; /* trailing comment after an unquoted value */
		out[o++] = c;
	}
	while (o > 0 && !q && isspace((unsigned char)out[o - 1]))
		o--;
	out[o] = '\0';
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

int os_release_parse(const char *text, struct os_release *out, char *err)
{
	memset(out, 0, sizeof(*out));
	for (const char *p = text; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		const char *line = p, *end = p + len;

		p = eol ? eol + 1 : NULL;
		while (line < end && isspace((unsigned char)*line))
			line++;
		while (end > line && isspace((unsigned char)end[-1]))
			end--;
		if (line == end || *line == '#')
			continue;
		const char *eq = memchr(line, '=', (size_t)(end - line));
		if (!eq)
			continue;
		size_t klen = (size_t)(eq - line);
		const char *v = eq + 1;
		size_t vlen = (size_t)(end - v);
		char *dst = NULL;
		size_t dlen = 0;

#define KEY(name, field)                                                  \
	if (klen == sizeof(name) - 1 && !memcmp(line, name, klen)) {      \
		dst = out->field;                                         \
		dlen = sizeof(out->field);                                \
	}
		KEY("ID", id)
		KEY("ID_LIKE", id_like)
		KEY("VERSION_ID", version_id)
		KEY("PRETTY_NAME", pretty_name)
#undef KEY
		if (dst)
			unquote(v, vlen, dst, dlen);
	}
	/* os-release(5): ID and ID_LIKE are lowercase; be lenient. */
	lower(out->id);
	lower(out->id_like);
	if (!out->id[0])
		return error_set(err, EINVAL,
				 "cannot detect the operating system: no ID in /etc/os-release");
	return 0;
}

int os_release_like(const struct os_release *os, const char *word)
{
	size_t wl = strlen(word);
	const char *s = os->id_like;

	while (*s) {
		while (*s == ' ')
			s++;
		size_t n = strcspn(s, " ");
		if (n == wl && !strncmp(s, word, n))
			return 1;
		s += n;
	}
	return 0;
}

int os_version_cmp(const char *a, const char *b)
{
	for (;;) {
		char *ea, *eb;
		long x = strtol(a, &ea, 10), y = strtol(b, &eb, 10);

		if (x != y)
			return x < y ? -1 : 1;
		if (*ea != '.' && *eb != '.')
			return 0;
		a = *ea == '.' ? ea + 1 : ea;
		b = *eb == '.' ? eb + 1 : eb;
	}
}
