#include "lib/strlist.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void strlist_addn(struct strlist *l, const char *s, size_t len)
{
	if (l->n == l->alloc) {
		size_t n = l->alloc ? l->alloc * 2 : 8;
		char **v = realloc(l->v, n * sizeof(*v));
		if (!v)
			abort();
		l->v = v;
		l->alloc = n;
	}
	char *copy = strndup(s, len);
	if (!copy)
		abort();
	l->v[l->n++] = copy;
}

void strlist_add(struct strlist *l, const char *s)
{
	strlist_addn(l, s, strlen(s));
}

bool strlist_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return true;
	return false;
}

void strlist_copy(struct strlist *dst, const struct strlist *src)
{
	for (size_t i = 0; i < src->n; i++)
		strlist_add(dst, src->v[i]);
}

void strlist_split_lines(struct strlist *l, const char *text)
{
	const char *p = text;
	while (*p) {
		const char *eol = strchr(p, '\n');
		const char *end = eol ? eol : p + strlen(p);
		const char *a = p, *b = end;
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		if (b > a)
			strlist_addn(l, a, (size_t)(b - a));
		p = eol ? eol + 1 : end;
	}
}

void strlist_clear(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
}
