/* The engine probe and its record (fs/engine.h). */
#include "fs/engine.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/core.h"
#include "lib/err.h"
#include "lib/url.h"

struct engine_seen {
	char result[16];
	char address[300];
	char error[ERR_MAX];
	time_t checked;
};

/* The class of a probe's outcome: what a client needs to word it. */
static const char *result_of(bool tls_only, int rc, enum engine_reach reach)
{
	switch (reach) {
	case ENGINE_ANSWERED:
		return "ok";
	case ENGINE_TLS:
		return tls_only && !rc ? "tls-ok" : "answer";
	case ENGINE_UNTRUSTED:
		return "untrusted";
	case ENGINE_NO_TLS:
		return "tls";
	case ENGINE_NO_TCP:
		return rc == -ECONNREFUSED ? "refused" : rc == -ETIMEDOUT ? "timeout" : "unreachable";
	case ENGINE_NOT_TRIED:
		break;
	}
	return rc == -ENOENT || rc == -EACCES ? "files" : "error";
}

static void address_of(const char *url, char *buf, size_t len)
{
	char host[256];
	int port = 0;
	buf[0] = '\0';
	if (url && *url && !url_split(url, host, sizeof(host), &port, NULL, 0) && port > 0)
		snprintf(buf, len, "%s:%d", host, port);
}

void engine_record_locked(struct machine *m, const char *url, bool tls_only, int rc,
			  enum engine_reach reach, const char *version, const char *err)
{
	if (!m->engine) {
		m->engine = calloc(1, sizeof(*m->engine));
		if (!m->engine)
			return;
	}
	struct engine_seen *e = m->engine;
	if (!url || !*url)
		snprintf(e->result, sizeof(e->result), "no-url");
	else
		snprintf(e->result, sizeof(e->result), "%s", result_of(tls_only, rc, reach));
	address_of(url, e->address, sizeof(e->address));
	snprintf(e->error, sizeof(e->error), "%s", rc && err ? err : "");
	if (!url || !*url)
		snprintf(e->error, sizeof(e->error), "machine '%s' has no engine url: it is not running", m->name);
	e->checked = time(NULL);
	/* A full probe says what the engine runs; a handshake says nothing of it. */
	if (!tls_only && strcmp(m->docker_version, rc ? "" : version)) {
		snprintf(m->docker_version, sizeof(m->docker_version), "%s", rc ? "" : version);
		m->changed = time(NULL);
	}
}

int machine_probe_engine(struct machine *m, bool tls_only, int timeout_ms, char *err)
{
	char url[1024] = "", host[256], version[64] = "", e[ERR_MAX] = "";
	char ca[PATH_MAX + 16], cert[PATH_MAX + 16], key[PATH_MAX + 16];
	int port = 0, rc;
	enum engine_reach reach = ENGINE_NOT_TRIED;

	pthread_mutex_lock(&m->lock);
	if ((m->created || m->recorded) && m->driver) {
		struct driver_ctx ctx;
		machine_driver_ctx(m, &ctx);
		machine_drv_url(m, &ctx, url, sizeof(url));
	}
	pthread_mutex_unlock(&m->lock);
	snprintf(ca, sizeof(ca), "%s/ca.pem", m->dir);
	snprintf(cert, sizeof(cert), "%s/cert.pem", m->dir);
	snprintf(key, sizeof(key), "%s/key.pem", m->dir);
	if (!*url)
		rc = error_set(e, EHOSTDOWN, "machine '%s' has no engine url: it is not running", m->name);
	else if (url_split(url, host, sizeof(host), &port, NULL, 0) || port <= 0)
		rc = error_set(e, EINVAL, "no host and port in url '%s'", url);
	else
		rc = engine_probe(host, port, ca, cert, key, timeout_ms, tls_only, version,
				  sizeof(version), &reach, e);
	pthread_mutex_lock(&m->lock);
	if (!m->removed)
		engine_record_locked(m, url, tls_only, rc, reach, version, e);
	machine_freeze_locked(m);
	pthread_mutex_unlock(&m->lock);
	machine_changed(m, MCHG_FILES);
	if (rc && err)
		snprintf(err, ERR_MAX, "%s", e);
	return rc;
}

static void add_time(struct strbuf *sb, time_t t)
{
	struct tm tm;
	char buf[32];
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	strbuf_addstr(sb, buf);
}

void render_engine(struct machine *m, struct strbuf *sb)
{
	pthread_mutex_lock(&m->lock);
	const struct engine_seen *e = m->engine;
	strbuf_addf(sb, "result %s\n", e ? e->result : "none");
	strbuf_addf(sb, "address %s\n", e ? e->address : "");
	strbuf_addf(sb, "version %s\n", m->docker_version);
	strbuf_addstr(sb, "checked ");
	if (e)
		add_time(sb, e->checked);
	else
		strbuf_addstr(sb, "never");
	strbuf_addstr(sb, "\nerror ");
	for (const char *p = e ? e->error : ""; *p; p++)
		strbuf_addch(sb, *p == '\n' ? ' ' : *p);
	strbuf_addch(sb, '\n');
	pthread_mutex_unlock(&m->lock);
}

int machine_engine_write(struct machine *m, const char *text, char *err)
{
	size_t len = strlen(text);
	while (len && isspace((unsigned char)text[len - 1]))
		len--;
	while (len && isspace((unsigned char)*text)) {
		text++;
		len--;
	}
	bool tls_only;
	if (len == 7 && !strncmp(text, "version", 7))
		tls_only = false;
	else if (len == 3 && !strncmp(text, "tls", 3))
		tls_only = true;
	else
		return error_set(err, EINVAL, "unknown probe '%.*s': write 'version' or 'tls'",
				 (int)(len > 32 ? 32 : len), text);
	/* The answer, good or bad, is in `engine`: the write itself succeeds
	 * once the probe ran. */
	machine_probe_engine(m, tls_only, tls_only ? 20000 : 10000, NULL);
	return 0;
}
