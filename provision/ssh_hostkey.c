/* Host key pinning in an OpenSSH known_hosts file: the first connection
 * writes the key, every later one must offer the same key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/err.h"
#include "lib/fileutil.h"
#include "provision/ssh_priv.h"

int ssh_base64_decode(const char *b64, struct strbuf *out)
{
	size_t len = strlen(b64), pad = 0;
	int n;

	if (len == 0 || len % 4 || len > 1 << 20)
		return -EINVAL;
	if (b64[len - 1] == '=')
		pad++;
	if (b64[len - 2] == '=')
		pad++;
	strbuf_grow(out, len / 4 * 3 + 1);
	n = EVP_DecodeBlock((unsigned char *)out->buf + out->len,
			    (const unsigned char *)b64, (int)len);
	if (n < 0 || (size_t)n < pad)
		return -EINVAL;
	out->len += (size_t)n - pad;
	out->buf[out->len] = '\0';
	return 0;
}

void ssh_fingerprint(const void *blob, size_t len, char *buf, size_t buflen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	unsigned int mdlen = 0;
	int n;

	EVP_Digest(blob, len, md, &mdlen, EVP_sha256(), NULL);
	n = EVP_EncodeBlock(b64, md, (int)mdlen);
	while (n > 0 && b64[n - 1] == '=')
		b64[--n] = '\0';
	snprintf(buf, buflen, "SHA256:%s", (const char *)b64);
}

/* The name OpenSSH writes: "host" on port 22, else "[host]:port". */
static void known_name(const char *host, int port, char *buf, size_t len)
{
	if (port == 22)
		snprintf(buf, len, "%s", host);
	else
		snprintf(buf, len, "[%s]:%d", host, port);
}

/* Load path into a new collection; a missing file gives an empty one. */
static int load(LIBSSH2_SESSION *s, const char *path,
		LIBSSH2_KNOWNHOSTS **out, char *err)
{
	LIBSSH2_KNOWNHOSTS *hosts = libssh2_knownhost_init(s);

	*out = NULL;
	if (!hosts)
		return error_set(err, ENOMEM, "cannot read known_hosts '%s': out of memory",
				 path);
	if (access(path, F_OK) == 0 &&
	    libssh2_knownhost_readfile(hosts, path, LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
		char *msg = NULL, text[256];
		libssh2_session_last_error(s, &msg, NULL, 0);
		ssh_lower(msg ? msg : "unreadable", text, sizeof(text));
		libssh2_knownhost_free(hosts);
		return error_set(err, EINVAL, "cannot read known_hosts '%s': %s",
				 path, text);
	}
	*out = hosts;
	return 0;
}

/* The first entry named name, or NULL. */
static struct libssh2_knownhost *find(LIBSSH2_KNOWNHOSTS *hosts,
				      const char *name)
{
	struct libssh2_knownhost *e = NULL, *prev = NULL;

	while (libssh2_knownhost_get(hosts, &e, prev) == 0) {
		if (e->name && !strcmp(e->name, name))
			return e;
		prev = e;
	}
	return NULL;
}

static const char *algs_of(int typemask)
{
	switch (typemask & LIBSSH2_KNOWNHOST_KEY_MASK) {
	case LIBSSH2_KNOWNHOST_KEY_ED25519: return "ssh-ed25519";
	case LIBSSH2_KNOWNHOST_KEY_ECDSA_256: return "ecdsa-sha2-nistp256";
	case LIBSSH2_KNOWNHOST_KEY_ECDSA_384: return "ecdsa-sha2-nistp384";
	case LIBSSH2_KNOWNHOST_KEY_ECDSA_521: return "ecdsa-sha2-nistp521";
	case LIBSSH2_KNOWNHOST_KEY_SSHRSA: return "ssh-rsa";
	case LIBSSH2_KNOWNHOST_KEY_SSHDSS: return "ssh-dss";
	default: return NULL;
	}
}

static int keybit_of(int hostkey_type)
{
	switch (hostkey_type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA: return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	case LIBSSH2_HOSTKEY_TYPE_DSS: return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
	case LIBSSH2_HOSTKEY_TYPE_ED25519: return LIBSSH2_KNOWNHOST_KEY_ED25519;
	default: return 0;
	}
}

int ssh_hostkey_prefer(struct ssh_conn *c, const struct ssh_target *t,
		       char *err)
{
	LIBSSH2_KNOWNHOSTS *hosts;
	struct libssh2_knownhost *e;
	char name[300];
	const char *pinned;
	const char **algs = NULL;
	int n, ret;

	ret = load(c->session, t->known_hosts, &hosts, err);
	if (ret)
		return ret;
	known_name(t->host, t->port, name, sizeof(name));
	e = find(hosts, name);
	/* Nothing pinned yet: ed25519 first, as OpenSSH 8.5 and later. */
	pinned = e ? algs_of(e->typemask) : "ssh-ed25519";
	n = pinned ? libssh2_session_supported_algs(c->session,
						    LIBSSH2_METHOD_HOSTKEY, &algs)
		   : 0;
	if (n > 0) {
		struct strbuf pref = STRBUF_INIT;
		strbuf_addstr(&pref, pinned);
		for (int i = 0; i < n; i++)
			if (strcmp(algs[i], pinned))
				strbuf_addf(&pref, ",%s", algs[i]);
		libssh2_session_method_pref(c->session, LIBSSH2_METHOD_HOSTKEY,
					    pref.buf);
		strbuf_release(&pref);
	}
	if (algs)
		libssh2_free(c->session, algs);
	libssh2_knownhost_free(hosts);
	return 0;
}

/* Add the key under name and write the whole collection atomically. */
static int pin(struct ssh_conn *c, LIBSSH2_KNOWNHOSTS *hosts, const char *path,
	       const char *name, const char *key, size_t len, int type,
	       char *err)
{
	struct libssh2_knownhost *e = NULL, *prev = NULL;
	struct strbuf data = STRBUF_INIT;
	char *slash, dir[4096];
	int keybit = keybit_of(type), ret = 0;

	if (!keybit)
		return error_set(err, EPROTO,
				 "host key of '%s' has an unsupported type (%d)",
				 c->peer, type);
	if (libssh2_knownhost_addc(hosts, name, NULL, key, len, NULL, 0,
				   LIBSSH2_KNOWNHOST_TYPE_PLAIN |
				   LIBSSH2_KNOWNHOST_KEYENC_RAW | keybit, NULL))
		return ssh_error(c, LIBSSH2_ERROR_ALLOC, err,
				 "cannot pin host key of '%s'", c->peer);
	while (libssh2_knownhost_get(hosts, &e, prev) == 0) {
		char line[8192];
		size_t outlen = 0;

		if (libssh2_knownhost_writeline(hosts, e, line, sizeof(line),
						&outlen, LIBSSH2_KNOWNHOST_FILE_OPENSSH)) {
			ret = error_set(err, EIO,
					"cannot write known_hosts '%s': entry too long",
					path);
			goto out;
		}
		strbuf_add(&data, line, outlen);
		prev = e;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		ret = mkdir_p(dir, 0700, err);
		if (ret)
			goto out;
	}
	ret = write_file_atomic(path, data.buf ? data.buf : "", data.len, 0600, err);
out:
	strbuf_release(&data);
	return ret;
}

int ssh_hostkey_verify(struct ssh_conn *c, const struct ssh_target *t,
		       char *err)
{
	LIBSSH2_KNOWNHOSTS *hosts;
	struct libssh2_knownhost *found = NULL;
	char name[300], offered[64], pinned[64];
	size_t len = 0;
	int type = 0, ret, check;
	const char *key = libssh2_session_hostkey(c->session, &len, &type);

	if (!key || !len)
		return ssh_error(c, LIBSSH2_ERROR_HOSTKEY_INIT, err,
				 "no host key from '%s'", c->peer);
	ssh_fingerprint(key, len, offered, sizeof(offered));
	ret = load(c->session, t->known_hosts, &hosts, err);
	if (ret)
		return ret;
	known_name(t->host, t->port, name, sizeof(name));
	/* Key type 0: compare with every key of this host, whatever its type,
	 * so a key of another type is a mismatch and never pinned anew. */
	check = libssh2_knownhost_checkp(hosts, name, -1, key, len,
					 LIBSSH2_KNOWNHOST_TYPE_PLAIN |
					 LIBSSH2_KNOWNHOST_KEYENC_RAW, &found);
	switch (check) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		ret = 0;
		break;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH: {
		struct strbuf raw = STRBUF_INIT;
		if (found && found->key && ssh_base64_decode(found->key, &raw) == 0)
			ssh_fingerprint(raw.buf, raw.len, pinned, sizeof(pinned));
		else
			snprintf(pinned, sizeof(pinned), "(unreadable)");
		strbuf_release(&raw);
		ret = error_set(err, EKEYREJECTED,
				"host key for '%s' changed: pinned %s, offered %s "
				"(remove the line from '%s' if the change is expected)",
				c->peer, pinned, offered, t->known_hosts);
		break;
	}
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		ret = pin(c, hosts, t->known_hosts, name, key, len, type, err);
		if (!ret)
			ssh_log(c, "ssh: pinned host key %s of '%s' in '%s'",
				offered, c->peer, t->known_hosts);
		break;
	default:
		ret = ssh_error(c, LIBSSH2_ERROR_HOSTKEY_INIT, err,
				"cannot check host key of '%s'", c->peer);
	}
	libssh2_knownhost_free(hosts);
	return ret;
}

int ssh_known_host_fingerprint(const char *known_hosts, const char *host,
			       int port, char *buf, size_t len, char *err)
{
	LIBSSH2_SESSION *s;
	LIBSSH2_KNOWNHOSTS *hosts;
	struct libssh2_knownhost *e;
	struct strbuf raw = STRBUF_INIT;
	char name[300];
	int ret;

	ret = ssh_lib_init(err);
	if (ret)
		return ret;
	s = libssh2_session_init();
	if (!s)
		return error_set(err, ENOMEM, "out of memory");
	ret = load(s, known_hosts, &hosts, err);
	if (ret)
		goto out;
	known_name(host, port, name, sizeof(name));
	e = find(hosts, name);
	if (!e)
		ret = error_set(err, ENOENT, "no host key pinned for '%s' in '%s'",
				name, known_hosts);
	else if (!e->key || ssh_base64_decode(e->key, &raw))
		ret = error_set(err, EINVAL, "host key for '%s' in '%s' is not valid",
				name, known_hosts);
	else
		ssh_fingerprint(raw.buf, raw.len, buf, len);
	libssh2_knownhost_free(hosts);
out:
	strbuf_release(&raw);
	libssh2_session_free(s);
	return ret;
}
