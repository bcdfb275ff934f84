/* Crash reports and Docker contexts after commands; see reporting.h. */
#include "fs/reporting.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/contexts.h"
#include "fs/core.h"
#include "fs/crashreport.h"
#include "lib/strbuf.h"
#include "lib/strlist.h"

static struct {
	bool contexts;
	char *docker_config;
	struct crash_settings crash;
} S;

void reporting_configure(bool contexts, const char *docker_config,
			 const char *bugsnag_key, const char *bugsnag_endpoint)
{
	reporting_release();
	S.contexts = contexts;
	S.docker_config = docker_config ? strdup(docker_config) : NULL;
	S.crash.api_key = bugsnag_key && *bugsnag_key ? strdup(bugsnag_key) : NULL;
	S.crash.endpoint = bugsnag_endpoint && *bugsnag_endpoint ? strdup(bugsnag_endpoint) : NULL;
}

void reporting_release(void)
{
	crash_drain(20);
	free(S.docker_config);
	free(S.crash.api_key);
	free(S.crash.endpoint);
	memset(&S, 0, sizeof(S));
}

off_t reporting_log_mark(struct machine *m)
{
	char path[PATH_MAX + 16];
	struct stat st;
	machine_log_path(m, path, sizeof(path));
	return stat(path, &st) ? 0 : st.st_size;
}

/* The log from mark on (at most CRASH_MAX_BYTES of its end). */
static void log_since(struct machine *m, off_t mark, struct strbuf *sb)
{
	char path[PATH_MAX + 16];
	machine_log_path(m, path, sizeof(path));
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	if (!fstat(fd, &st) && st.st_size > mark) {
		off_t from = st.st_size - mark > CRASH_MAX_BYTES ? st.st_size - CRASH_MAX_BYTES : mark;
		char buf[8192];
		ssize_t n;
		while ((n = pread(fd, buf, sizeof(buf), from)) > 0) {
			strbuf_add(sb, buf, (size_t)n);
			from += n;
		}
	}
	close(fd);
}

static void report_crash(struct machine *m, const char *cmd, const char *err, off_t mark)
{
	struct strbuf log = STRBUF_INIT;
	char path[PATH_MAX + 16], driver[64], e2[ERR_MAX];
	log_since(m, mark, &log);
	machine_log_path(m, path, sizeof(path));
	pthread_mutex_lock(&m->lock);
	snprintf(driver, sizeof(driver), "%s", m->driver_name);
	pthread_mutex_unlock(&m->lock);
	struct crash_info ci = {
		.store_root = store_root(m->store), .machine = m->name, .driver = driver,
		.command = cmd, .error = err, .log = log.buf, .log_len = log.len,
		.log_path = path,
	};
	char where[PATH_MAX];
	if (crash_report(&S.crash, &ci, where, sizeof(where), e2))
		machine_log(m, "crash report not written: %s", e2);
	else
		machine_log(m, "crash report written: %s", where);
	strbuf_release(&log);
}

static void sync_context(struct machine *m)
{
	char cfg[PATH_MAX], err[ERR_MAX], url[1024] = "";
	if (S.docker_config)
		snprintf(cfg, sizeof(cfg), "%s", S.docker_config);
	else if (docker_config_dir(cfg, sizeof(cfg), err))
		return;
	pthread_mutex_lock(&m->lock);
	bool gone = m->removed;
	bool made = m->created && !m->busy;
	if (made) {
		struct driver_ctx ctx;
		machine_driver_ctx(m, &ctx);
		if (machine_drv_url(m, &ctx, url, sizeof(url)))
			url[0] = '\0';
		machine_freeze_locked(m);
	}
	pthread_mutex_unlock(&m->lock);
	int rc = 0;
	if (gone)
		rc = docker_context_remove(cfg, store_root(m->store), m->name, err);
	else if (made && *url)
		rc = docker_context_put(cfg, store_root(m->store), m->name, url, m->dir, err);
	if (rc && !gone)
		machine_log(m, "docker context '%s' not updated: %s", m->name, err);
}

void reporting_command_done(struct machine *m, const char *cmd, int rc,
			    const char *err, off_t log_mark)
{
	if (rc && crash_reportable(cmd))
		report_crash(m, cmd, err, log_mark);
	if (S.contexts && (!rc || !strcmp(cmd, "rm") || !strcmp(cmd, "rm-force")))
		sync_context(m);
}

void reporting_machine_changed(struct machine *m)
{
	if (S.contexts)
		sync_context(m);
}

void reporting_sync_all(struct store *s)
{
	if (!S.contexts)
		return;
	struct strlist names = STRLIST_INIT;
	store_list(s, &names);
	for (size_t i = 0; i < names.n; i++) {
		struct machine *m = store_get(s, names.v[i]);
		if (!m)
			continue;
		sync_context(m);
		machine_put(m);
	}
	strlist_clear(&names);
}
