/* /etc/os-release as Docker Machine reads it: KEY=VALUE lines, quotes
 * stripped, comments and unknown keys ignored. Pure: no I/O. */
#ifndef MFS_OSRELEASE_H
#define MFS_OSRELEASE_H

/* Filled by os_release_parse; every field is "" when absent. Caller-owned
 * (plain arrays, nothing to free). */
struct os_release {
	char id[64];
	char id_like[128];
	char version_id[64];
	char pretty_name[256];
};

/* Parse os-release text. Returns 0, or -EINVAL (message in err) when the
 * text has no ID. Long values are truncated to the field's size. */
int os_release_parse(const char *text, struct os_release *out, char *err);

/* Whether word is one of the space-separated words of list (ID_LIKE). */
int os_release_like(const struct os_release *os, const char *word);

/* Compare dotted versions numerically ("15.04" vs "9"): <0, 0, >0. */
int os_version_cmp(const char *a, const char *b);

#endif
