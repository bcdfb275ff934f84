/* A growable NUL-terminated byte buffer (after git's strbuf).
 * The owner initialises with STRBUF_INIT and frees with strbuf_release. */
#ifndef MFS_STRBUF_H
#define MFS_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;    /* always NUL-terminated; never NULL after a write */
	size_t len;
	size_t alloc;
};

#define STRBUF_INIT { NULL, 0, 0 }

void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, char c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
void strbuf_reset(struct strbuf *sb);
void strbuf_rtrim(struct strbuf *sb);          /* drop trailing whitespace */
const char *strbuf_str(const struct strbuf *sb); /* "" when empty */
char *strbuf_detach(struct strbuf *sb);          /* caller frees */
void strbuf_release(struct strbuf *sb);

#endif
