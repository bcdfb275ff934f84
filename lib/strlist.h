/* A growable list of owned strings. STRLIST_INIT / strlist_clear. */
#ifndef MFS_STRLIST_H
#define MFS_STRLIST_H

#include <stdbool.h>
#include <stddef.h>

struct strlist {
	char **v;   /* owned strings */
	size_t n;
	size_t alloc;
};

#define STRLIST_INIT { NULL, 0, 0 }

void strlist_add(struct strlist *l, const char *s);
void strlist_addn(struct strlist *l, const char *s, size_t len);
bool strlist_has(const struct strlist *l, const char *s);
void strlist_copy(struct strlist *dst, const struct strlist *src);
/* Split text into lines; blank lines and surrounding whitespace dropped. */
void strlist_split_lines(struct strlist *l, const char *text);
void strlist_clear(struct strlist *l);

#endif
