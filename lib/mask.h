/* Secrets out of text that people read (log lines, error messages, the
 * records shown in the tree): one helper every such path uses. */
#ifndef MFS_MASK_H
#define MFS_MASK_H

#include "lib/strbuf.h"
#include "lib/strlist.h"

#define MASK_TEXT "****"
#define MASK_MIN_LEN 4 /* shorter secrets are not masked: they would mask all text */

/* In sb, every occurrence of each secret (secrets may be NULL) and the
 * credentials of every URL (scheme://USER:PASS@host: "USER:PASS") become
 * MASK_TEXT. */
void mask_text(struct strbuf *sb, const struct strlist *secrets);

/* Add value (one secret) to secrets when it is long enough to mask; a
 * multi-line value adds each line. */
void mask_add(struct strlist *secrets, const char *value);

/* Add the credentials of each URL in value to secrets. */
void mask_add_url_creds(struct strlist *secrets, const char *value);

/* Where to cut s to show at most max bytes of it without cutting a word
 * (a token, a URL with its credentials) in two: the length up to the last
 * blank or quote within max, 0 when there is none. The part shown can
 * then be masked whole. */
size_t mask_cut(const char *s, size_t max);

#endif
