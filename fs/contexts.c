/* Docker contexts for machines; see contexts.h. */
#include "fs/contexts.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <openssl/sha.h>

#include "lib/err.h"
#include "lib/fileutil.h"
#include "lib/json.h"
#include "lib/strbuf.h"

#define STORE_KEY "machinefs.store"

int docker_config_dir(char *buf, size_t len, char *err)
{
	const char *dc = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
	int n;
	if (dc && *dc)
		n = snprintf(buf, len, "%s", dc);
	else if (home && *home)
		n = snprintf(buf, len, "%s/.docker", home);
	else
		return error_set(err, ENOENT, "no docker configuration folder: neither DOCKER_CONFIG nor HOME is set");
	if (n < 0 || (size_t)n >= len)
		return error_set(err, ENAMETOOLONG, "docker configuration folder path too long");
	return 0;
}

/* The CLI's folder name for a context: hex sha256 of its name. */
static void context_id(const char *name, char out[2 * SHA256_DIGEST_LENGTH + 1])
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)name, strlen(name), d);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

struct ctx_paths {
	char meta_dir[PATH_MAX], meta[PATH_MAX], tls_root[PATH_MAX], tls_dir[PATH_MAX];
};

static int ctx_paths(const char *config_dir, const char *name, struct ctx_paths *p, char *err)
{
	char id[2 * SHA256_DIGEST_LENGTH + 1];
	context_id(name, id);
	if (snprintf(p->meta_dir, sizeof(p->meta_dir), "%s/contexts/meta/%s", config_dir, id) >= (int)sizeof(p->meta_dir) ||
	    snprintf(p->meta, sizeof(p->meta), "%s/meta.json", p->meta_dir) >= (int)sizeof(p->meta) ||
	    snprintf(p->tls_root, sizeof(p->tls_root), "%s/contexts/tls/%s", config_dir, id) >= (int)sizeof(p->tls_root) ||
	    snprintf(p->tls_dir, sizeof(p->tls_dir), "%s/docker", p->tls_root) >= (int)sizeof(p->tls_dir))
		return error_set(err, ENAMETOOLONG, "docker context path too long under '%s'", config_dir);
	return 0;
}

/* 1: the context exists and is this store's; 0: none; -EEXIST: another's. */
static int owned(const struct ctx_paths *p, const char *store_root, char *err)
{
	struct strbuf sb = STRBUF_INIT;
	if (!path_exists(p->meta)) {
		strbuf_release(&sb);
		return path_exists(p->meta_dir) || path_exists(p->tls_root) ?
			error_set(err, EEXIST, "a docker context folder exists without meta.json: '%s'", p->meta_dir) : 0;
	}
	int rc = read_file(p->meta, &sb, err);
	if (!rc) {
		cJSON *j = cJSON_ParseWithLength(sb.buf, sb.len);
		const char *who = json_str(json_obj(j, "Metadata"), STORE_KEY, NULL);
		rc = who && !strcmp(who, store_root) ? 1 :
			error_set(err, EEXIST, "docker context '%s' exists and was not made by machinefs for this store: left alone",
				  json_str(j, "Name", "?"));
		cJSON_Delete(j);
	}
	strbuf_release(&sb);
	return rc;
}

/* Write path with data unless it already holds exactly that. */
static int put_file(const char *path, const char *data, size_t len, mode_t mode, char *err)
{
	struct strbuf old = STRBUF_INIT;
	bool same = !read_file(path, &old, NULL) && old.len == len && !memcmp(old.buf, data, len);
	strbuf_release(&old);
	return same ? 0 : write_file_atomic(path, data, len, mode, err);
}

static char *meta_json(const char *store_root, const char *name, const char *url)
{
	cJSON *j = cJSON_CreateObject(), *md = cJSON_CreateObject();
	cJSON *eps = cJSON_CreateObject(), *dk = cJSON_CreateObject();
	json_put_str(j, "Name", name);
	struct strbuf desc = STRBUF_INIT;
	strbuf_addf(&desc, "Docker Machine '%s' (machinefs)", name);
	json_put_str(md, "Description", desc.buf);
	strbuf_release(&desc);
	json_put_str(md, STORE_KEY, store_root);
	json_put(j, "Metadata", md);
	json_put_str(dk, "Host", url);
	json_put_bool(dk, "SkipTLSVerify", false);
	json_put(eps, "docker", dk);
	json_put(j, "Endpoints", eps);
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

int docker_context_put(const char *config_dir, const char *store_root,
		       const char *name, const char *url, const char *cert_dir,
		       char *err)
{
	struct ctx_paths p;
	int rc = ctx_paths(config_dir, name, &p, err);
	if (rc || (rc = owned(&p, store_root, err)) < 0)
		return rc;
	if ((rc = mkdir_p(p.tls_dir, 0700, err)) || (rc = mkdir_p(p.meta_dir, 0755, err)))
		return rc;
	static const char *const files[] = { "ca.pem", "cert.pem", "key.pem" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char src[PATH_MAX], dst[PATH_MAX];
		struct strbuf sb = STRBUF_INIT;
		if (snprintf(src, sizeof(src), "%s/%s", cert_dir, files[i]) >= (int)sizeof(src) ||
		    snprintf(dst, sizeof(dst), "%s/%s", p.tls_dir, files[i]) >= (int)sizeof(dst))
			return error_set(err, ENAMETOOLONG, "docker context path too long");
		rc = read_file(src, &sb, err);
		if (!rc)
			rc = put_file(dst, sb.buf, sb.len, 0600, err);
		strbuf_release(&sb);
		if (rc)
			return rc;
	}
	/* meta.json last: a context is whole once the CLI can see it. */
	char *meta = meta_json(store_root, name, url);
	if (!meta)
		return error_set(err, ENOMEM, "out of memory");
	rc = put_file(p.meta, meta, strlen(meta), 0644, err);
	free(meta);
	return rc;
}

int docker_context_remove(const char *config_dir, const char *store_root,
			  const char *name, char *err)
{
	struct ctx_paths p;
	int rc = ctx_paths(config_dir, name, &p, err);
	if (rc)
		return rc;
	rc = owned(&p, store_root, NULL);
	if (rc <= 0)
		return 0;
	/* meta.json first: the CLI stops listing it before its TLS files go. */
	if ((rc = remove_tree(p.meta_dir, err)))
		return rc;
	return remove_tree(p.tls_root, err);
}
