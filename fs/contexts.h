/* A Docker context per machine (daemon option `contexts`): the docker CLI's
 * context store, DOCKER_CONFIG/contexts (else ~/.docker/contexts), holds
 *   meta/<sha256(name)>/meta.json          name, metadata, docker endpoint
 *   tls/<sha256(name)>/docker/{ca,cert,key}.pem
 * written atomically (temp file + rename) as the CLI writes them. A context
 * is machinefs's when its metadata names this store ("machinefs.store");
 * any other context of that name is never touched.
 *
 * No struct machine here: the core hands plain values. */
#ifndef MFS_CONTEXTS_H
#define MFS_CONTEXTS_H

#include <stddef.h>

/* The docker CLI's configuration folder: $DOCKER_CONFIG, else ~/.docker.
 * Into buf (PATH_MAX bytes); 0 or -errno. */
int docker_config_dir(char *buf, size_t len, char *err);

/* Make or update the context `name` to reach url with the client TLS files
 * in cert_dir (ca.pem cert.pem key.pem). Files whose content is already
 * right are left alone. -EEXIST when a context of that name exists and is
 * not this store's. */
int docker_context_put(const char *config_dir, const char *store_root,
		       const char *name, const char *url, const char *cert_dir,
		       char *err);

/* Remove the context `name` if it is this store's; 0 when there is none
 * or it is someone else's (then it stays). */
int docker_context_remove(const char *config_dir, const char *store_root,
			  const char *name, char *err);

#endif
