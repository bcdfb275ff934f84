/* AWS credentials chain (see awscreds.h). */
#include "drivers/awscreds.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lib/err.h"
#include "lib/fileutil.h"
#include "lib/strbuf.h"

static int put(char *dst, size_t len, const char *v, const char *what, char *err)
{
	if (strlen(v) >= len)
		return error_set(err, EINVAL, "the AWS %s is too long (%zu bytes, at most %zu)", what,
				 strlen(v), len - 1);
	snprintf(dst, len, "%s", v);
	return 0;
}

static int set_all(struct aws_creds *c, const char *key, const char *secret, const char *token,
		   char *err)
{
	int rc = put(c->access_key, sizeof(c->access_key), key, "access key", err);
	if (!rc)
		rc = put(c->secret_key, sizeof(c->secret_key), secret, "secret key", err);
	if (!rc)
		rc = put(c->session_token, sizeof(c->session_token), token ? token : "",
			 "session token", err);
	return rc;
}

static const char *env(const char *a, const char *b)
{
	const char *v = getenv(a);
	if ((!v || !*v) && b)
		v = getenv(b);
	return v && *v ? v : NULL;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* The profile's three keys from an INI file. 1: profile found. */
static int read_profile(const char *text, const char *profile, struct aws_creds *c, char *err)
{
	char *copy = strdup(text);
	if (!copy)
		abort();
	int found = 0, rc = 0;
	bool in = false;
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line && !rc;
	     line = strtok_r(NULL, "\n", &save)) {
		char *l = trim(line);
		if (!*l || *l == '#' || *l == ';')
			continue;
		if (*l == '[') {
			char *e = strchr(l, ']');
			if (e)
				*e = '\0';
			in = !strcmp(trim(l + 1), profile);
			found |= in;
			continue;
		}
		char *eq = strchr(l, '=');
		if (!in || !eq)
			continue;
		*eq = '\0';
		char *k = trim(l), *v = trim(eq + 1);
		if (!strcmp(k, "aws_access_key_id"))
			rc = put(c->access_key, sizeof(c->access_key), v, "access key", err);
		else if (!strcmp(k, "aws_secret_access_key"))
			rc = put(c->secret_key, sizeof(c->secret_key), v, "secret key", err);
		else if (!strcmp(k, "aws_session_token"))
			rc = put(c->session_token, sizeof(c->session_token), v, "session token", err);
	}
	OPENSSL_cleanse(copy, strlen(text));
	free(copy);
	return rc ? rc : found;
}

int aws_creds_resolve(const char *opt_access, const char *opt_secret, const char *opt_token,
		      struct aws_creds *out, char *err)
{
	memset(out, 0, sizeof(*out));
	if (opt_access && *opt_access && opt_secret && *opt_secret) {
		snprintf(out->source, sizeof(out->source), "options");
		return set_all(out, opt_access, opt_secret, opt_token, err);
	}
	const char *k = env("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY");
	const char *s = env("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY");
	if (k && s) {
		snprintf(out->source, sizeof(out->source), "environment");
		return set_all(out, k, s, env("AWS_SESSION_TOKEN", NULL), err);
	}
	char path[4096];
	const char *file = env("AWS_SHARED_CREDENTIALS_FILE", NULL);
	const char *home = env("HOME", NULL);
	if (file)
		snprintf(path, sizeof(path), "%s", file);
	else
		snprintf(path, sizeof(path), "%s/.aws/credentials", home ? home : "/root");
	const char *profile = env("AWS_PROFILE", NULL);
	if (!profile)
		profile = "default";
	/* A description for messages: long paths are shortened. */
	snprintf(out->source, sizeof(out->source), "file '%.300s' profile '%.100s'", path, profile);
	if (path_exists(path)) {
		struct strbuf sb = STRBUF_INIT;
		char e[ERR_MAX];
		int rc = read_file(path, &sb, e);
		if (rc) {
			strbuf_release(&sb);
			return error_set(err, -rc, "cannot read AWS credentials: %s", e);
		}
		rc = read_profile(strbuf_str(&sb), profile, out, err);
		OPENSSL_cleanse(sb.buf, sb.len);
		strbuf_release(&sb);
		if (rc < 0)
			return rc;
		if (rc > 0 && *out->access_key && *out->secret_key)
			return 0;
		aws_creds_clear(out);
		if (rc > 0)
			return error_set(err, ENOKEY,
					 "no AWS credentials: profile '%s' in '%s' lacks aws_access_key_id or aws_secret_access_key",
					 profile, path);
	}
	return error_set(err, ENOKEY,
			 "no AWS credentials: give amazonec2-access-key and amazonec2-secret-key, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write profile '%s' in '%s'",
			 profile, path);
}

void aws_creds_clear(struct aws_creds *c)
{
	OPENSSL_cleanse(c, sizeof(*c));
}
