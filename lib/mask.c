/* Masking secrets in text (see mask.h). */
#include "lib/mask.h"

#include <string.h>

/* Where the userinfo of the URL at p (just after "://") ends: the '@'
 * before the end of its authority, or NULL when it has none. */
static const char *userinfo_end(const char *p)
{
	size_t n = strcspn(p, "/?#@ \t\r\n'\"<>`");
	return p[n] == '@' && n > 0 ? p + n : NULL;
}

static void mask_urls(struct strbuf *sb)
{
	struct strbuf out = STRBUF_INIT;
	const char *p = strbuf_str(sb), *s;
	int changed = 0;

	while ((s = strstr(p, "://"))) {
		const char *u = s + 3, *at = userinfo_end(u);
		strbuf_add(&out, p, (size_t)(u - p));
		if (at) {
			strbuf_addstr(&out, MASK_TEXT);
			p = at;
			changed = 1;
		} else {
			p = u;
		}
	}
	if (!changed) {
		strbuf_release(&out);
		return;
	}
	strbuf_addstr(&out, p);
	strbuf_release(sb);
	*sb = out;
}

static void mask_one(struct strbuf *sb, const char *secret)
{
	size_t n = strlen(secret);
	struct strbuf out = STRBUF_INIT;
	const char *p = strbuf_str(sb), *s;

	if (n < MASK_MIN_LEN || !strstr(p, secret))
		return;
	while ((s = strstr(p, secret))) {
		strbuf_add(&out, p, (size_t)(s - p));
		strbuf_addstr(&out, MASK_TEXT);
		p = s + n;
	}
	strbuf_addstr(&out, p);
	strbuf_release(sb);
	*sb = out;
}

void mask_text(struct strbuf *sb, const struct strlist *secrets)
{
	/* Longest first: a secret that contains another is masked whole. */
	size_t done = 0, last = (size_t)-1;
	while (secrets && done < secrets->n) {
		size_t best = 0, i;
		for (i = 0; i < secrets->n; i++) {
			size_t l = strlen(secrets->v[i]);
			if (l < last && l > best)
				best = l;
		}
		if (!best)
			break;
		for (i = 0; i < secrets->n; i++)
			if (strlen(secrets->v[i]) == best) {
				mask_one(sb, secrets->v[i]);
				done++;
			}
		last = best;
	}
	mask_urls(sb);
}

size_t mask_cut(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len <= max)
		return len;
	for (size_t i = max; i > 0; i--)
		if (strchr(" \t\n'\"", s[i]))
			return i;
	return 0;
}

void mask_add(struct strlist *secrets, const char *value)
{
	struct strlist lines = STRLIST_INIT;

	strlist_split_lines(&lines, value ? value : "");
	for (size_t i = 0; i < lines.n; i++)
		if (strlen(lines.v[i]) >= MASK_MIN_LEN)
			strlist_add(secrets, lines.v[i]);
	strlist_clear(&lines);
}

void mask_add_url_creds(struct strlist *secrets, const char *value)
{
	for (const char *p = value; p && (p = strstr(p, "://")); p += 3) {
		const char *at = userinfo_end(p + 3);
		if (!at)
			continue;
		struct strbuf u = STRBUF_INIT;
		strbuf_add(&u, p + 3, (size_t)(at - p - 3));
		mask_add(secrets, strbuf_str(&u));
		/* The password alone, too: it may be logged without the user. */
		const char *colon = strchr(strbuf_str(&u), ':');
		if (colon)
			mask_add(secrets, colon + 1);
		strbuf_release(&u);
	}
}
