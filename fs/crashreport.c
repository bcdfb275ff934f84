/* Crash reports; see crashreport.h. */
#include "fs/crashreport.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "lib/err.h"
#include "lib/fileutil.h"
#include "lib/json.h"
#include "lib/strlist.h"

#ifndef MACHINEFS_VERSION
#define MACHINEFS_VERSION "0.0.0"
#endif

bool crash_reportable(const char *command)
{
	return command && (!strcmp(command, "create") || !strcmp(command, "upgrade"));
}

static cJSON *obj_in(cJSON *parent, const char *key)
{
	cJSON *o = cJSON_CreateObject();
	json_put(parent, key, o);
	return o;
}

char *crash_payload(const struct crash_info *ci, const char *api_key)
{
	struct utsname u;
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	cJSON *j = cJSON_CreateObject();
	if (api_key)
		json_put_str(j, "apiKey", api_key);
	json_put_str(j, "payloadVersion", "5");
	cJSON *n = obj_in(j, "notifier");
	json_put_str(n, "name", "machinefs");
	json_put_str(n, "version", MACHINEFS_VERSION);
	json_put_str(n, "url", "https://github.com/docker/machine");
	cJSON *events = cJSON_CreateArray();
	json_put(j, "events", events);
	cJSON *ev = cJSON_CreateObject();
	cJSON_AddItemToArray(events, ev);
	cJSON *exs = cJSON_CreateArray();
	json_put(ev, "exceptions", exs);
	cJSON *ex = cJSON_CreateObject();
	cJSON_AddItemToArray(exs, ex);
	struct strbuf cls = STRBUF_INIT;
	strbuf_addf(&cls, "%s/%s", ci->driver && *ci->driver ? ci->driver : "unknown", ci->command);
	json_put_str(ex, "errorClass", cls.buf);
	strbuf_release(&cls);
	json_put_str(ex, "message", ci->error ? ci->error : "");
	json_put(ex, "stacktrace", cJSON_CreateArray());
	json_put_str(ev, "severity", "error");
	json_put_bool(ev, "unhandled", false);
	json_put_str(obj_in(ev, "severityReason"), "type", "handledError");
	json_put_str(ev, "context", ci->command);
	cJSON *app = obj_in(ev, "app");
	json_put_str(app, "version", MACHINEFS_VERSION);
	json_put_str(app, "releaseStage", "production");
	cJSON *dev = obj_in(ev, "device");
	json_put_str(dev, "osName", u.sysname);
	json_put_str(dev, "osVersion", u.release);
	/* metaData as Docker Machine fills it: version/build, OS, ARCH, the
	 * shell, and the command's debug history (here: its log). */
	cJSON *md = obj_in(ev, "metaData");
	cJSON *mv = obj_in(md, "version");
	json_put_str(mv, "version", MACHINEFS_VERSION);
	json_put_str(mv, "build", "machinefs");
	cJSON *md_dev = obj_in(md, "device");
	json_put_str(md_dev, "os", "linux");
	json_put_str(md_dev, "arch", u.machine);
	json_put_str(md_dev, "uname", u.release);
	const char *sh = getenv("SHELL");
	json_put_str(md_dev, "shell", sh ? sh : "");
	cJSON *mm = obj_in(md, "machine");
	json_put_str(mm, "name", ci->machine);
	json_put_str(mm, "driver", ci->driver ? ci->driver : "");
	json_put_str(mm, "command", ci->command);
	/* The newest part of the log, so the report stays within its bound. */
	size_t keep = CRASH_MAX_BYTES / 2, len = ci->log ? ci->log_len : 0;
	const char *log = ci->log ? ci->log : "";
	if (len > keep) {
		log += len - keep;
		len = keep;
	}
	struct strbuf trace = STRBUF_INIT;
	strbuf_add(&trace, log, len);
	json_put_str(obj_in(md, "history"), "trace", trace.buf);
	strbuf_release(&trace);
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Keep the newest CRASH_KEEP reports (names sort by time). */
static void trim_reports(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct strlist names = STRLIST_INIT;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && strlen(e->d_name) > 5 &&
		    !strcmp(e->d_name + strlen(e->d_name) - 5, ".json"))
			strlist_add(&names, e->d_name);
	closedir(d);
	qsort(names.v, names.n, sizeof(*names.v), cmp_str);
	for (size_t i = 0; i + CRASH_KEEP < names.n; i++) {
		char p[PATH_MAX];
		if (snprintf(p, sizeof(p), "%s/%s", dir, names.v[i]) < (int)sizeof(p))
			unlink(p);
	}
	strlist_clear(&names);
}

/* Reports being sent, for crash_drain(). */
static pthread_mutex_t inflight_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t inflight_cond = PTHREAD_COND_INITIALIZER;
static int inflight;

struct send_job {
	char *endpoint, *api_key, *body, *log_path;
};

static void job_free(struct send_job *j)
{
	free(j->endpoint);
	free(j->api_key);
	free(j->body);
	free(j->log_path);
	free(j);
}

static void say_not_sent(const char *log_path, const char *why)
{
	if (!log_path)
		return;
	int fd = open(log_path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	dprintf(fd, "%s crash report not sent: %s\n", ts, why);
	close(fd);
}

static size_t discard(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return sz * n;
}

static void *send_main(void *arg)
{
	struct send_job *j = arg;
	CURL *c = curl_easy_init();
	char why[CURL_ERROR_SIZE + 64] = "";
	if (!c) {
		snprintf(why, sizeof(why), "cannot start libcurl");
	} else {
		struct curl_slist *h = NULL;
		struct strbuf key = STRBUF_INIT;
		strbuf_addf(&key, "Bugsnag-Api-Key: %s", j->api_key);
		h = curl_slist_append(h, "Content-Type: application/json");
		h = curl_slist_append(h, "Bugsnag-Payload-Version: 5");
		h = curl_slist_append(h, key.buf);
		char errbuf[CURL_ERROR_SIZE] = "";
		const char *ca = getenv("CURL_CA_BUNDLE");
		curl_easy_setopt(c, CURLOPT_URL, j->endpoint);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->body);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 15L);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
		if (ca && *ca)
			curl_easy_setopt(c, CURLOPT_CAINFO, ca);
		CURLcode rc = curl_easy_perform(c);
		long status = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (rc != CURLE_OK)
			snprintf(why, sizeof(why), "%s", *errbuf ? errbuf : curl_easy_strerror(rc));
		else if (status < 200 || status > 299)
			snprintf(why, sizeof(why), "the receiver answered HTTP %ld", status);
		curl_slist_free_all(h);
		strbuf_release(&key);
		curl_easy_cleanup(c);
	}
	if (*why)
		say_not_sent(j->log_path, why);
	job_free(j);
	pthread_mutex_lock(&inflight_lock);
	inflight--;
	pthread_cond_broadcast(&inflight_cond);
	pthread_mutex_unlock(&inflight_lock);
	return NULL;
}

static void send_async(const struct crash_settings *cs, const struct crash_info *ci)
{
	struct send_job *j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->endpoint = strdup(cs->endpoint && *cs->endpoint ? cs->endpoint : CRASH_DEFAULT_ENDPOINT);
	j->api_key = strdup(cs->api_key);
	j->body = crash_payload(ci, cs->api_key);
	j->log_path = ci->log_path ? strdup(ci->log_path) : NULL;
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&inflight_lock);
	inflight++;
	pthread_mutex_unlock(&inflight_lock);
	if (!j->endpoint || !j->api_key || !j->body || pthread_create(&t, &a, send_main, j)) {
		say_not_sent(ci->log_path, "cannot start the sender");
		job_free(j);
		pthread_mutex_lock(&inflight_lock);
		inflight--;
		pthread_mutex_unlock(&inflight_lock);
	}
	pthread_attr_destroy(&a);
}

int crash_report(const struct crash_settings *cs, const struct crash_info *ci,
		 char *path_out, size_t path_len, char *err)
{
	char dir[PATH_MAX], path[PATH_MAX], optout[PATH_MAX], ts[32];
	time_t now = time(NULL);
	struct tm tm;
	struct timespec tsn;
	clock_gettime(CLOCK_REALTIME, &tsn);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%S", gmtime_r(&now, &tm));
	if (snprintf(dir, sizeof(dir), "%s/reports", ci->store_root) >= (int)sizeof(dir) ||
	    snprintf(path, sizeof(path), "%s/%s.%09ld-%s-%s.json", dir, ts, tsn.tv_nsec,
		     ci->machine, ci->command) >= (int)sizeof(path) ||
	    snprintf(optout, sizeof(optout), "%s/no-error-report", ci->store_root) >= (int)sizeof(optout))
		return error_set(err, ENAMETOOLONG, "crash report path too long");
	int rc = mkdir_p(dir, 0700, err);
	if (rc)
		return rc;
	/* The stored copy never holds the API key. */
	char *body = crash_payload(ci, NULL);
	if (!body)
		return error_set(err, ENOMEM, "out of memory");
	rc = write_file_atomic(path, body, strlen(body), 0600, err);
	free(body);
	if (rc)
		return rc;
	trim_reports(dir);
	if (path_out)
		snprintf(path_out, path_len, "%s", path);
	if (cs && cs->api_key && *cs->api_key && !path_exists(optout))
		send_async(cs, ci);
	return 0;
}

void crash_drain(int secs)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += secs;
	pthread_mutex_lock(&inflight_lock);
	while (inflight > 0 &&
	       pthread_cond_timedwait(&inflight_cond, &inflight_lock, &until) == 0)
		;
	pthread_mutex_unlock(&inflight_lock);
}
