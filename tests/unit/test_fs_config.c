/* config.json: a record written by Docker Machine loads and saves back
 * byte for byte (paths rebased to the store it now lives in); versions
 * other than 3 are refused with a clear message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/config.h"
#include "lib/fileutil.h"
#include "lib/json.h"
#include "tests/unit/harness.h"

static char *slurp(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	if (read_file(path, &sb, NULL))
		return NULL;
	return strbuf_detach(&sb);
}

/* Replace every "from" with "to". */
static char *replace_all(const char *s, const char *from, const char *to)
{
	struct strbuf sb = STRBUF_INIT;
	size_t fl = strlen(from);
	for (const char *p = s; *p;) {
		if (!strncmp(p, from, fl)) {
			strbuf_addstr(&sb, to);
			p += fl;
		} else {
			strbuf_addch(&sb, *p++);
		}
	}
	return strbuf_detach(&sb);
}

static void copy_fixture(const char *root, const char *name)
{
	char src[4096], dst[4200], dir[4096];
	snprintf(src, sizeof(src), "%s/tests/fixtures/dm-store/machines/%s/config.json",
		 getenv("SRCDIR"), name);
	snprintf(dir, sizeof(dir), "%s/machines/%s", root, name);
	mkdir_p(dir, 0700, NULL);
	snprintf(dst, sizeof(dst), "%s/config.json", dir);
	CHECK(copy_file(src, dst, 0600, NULL) == 0);
}

static void test_round_trip(void)
{
	char root[4096];
	snprintf(root, sizeof(root), "%s/rt", test_tmpdir());
	const char *names[] = { "box1", "n1" };
	for (int i = 0; i < 2; i++)
		copy_fixture(root, names[i]);
	struct store *s;
	char err[ERR_MAX];
	CHECK(store_open(root, &s, err) == 0);
	for (int i = 0; i < 2; i++) {
		struct machine *m = store_get(s, names[i]);
		CHECK(m != NULL);
		if (!m)
			continue;
		pthread_mutex_lock(&m->lock);
		CHECK(m->recorded && machine_config_locked(m) != NULL); /* read on demand */
		CHECK(config_save(m, err) == 0);
		pthread_mutex_unlock(&m->lock);
		char path[4200];
		snprintf(path, sizeof(path), "%s/machines/%s/config.json", root, names[i]);
		char *got = slurp(path);
		snprintf(path, sizeof(path), "%s/tests/fixtures/dm-store/machines/%s/config.json",
			 getenv("SRCDIR"), names[i]);
		char *orig = slurp(path);
		char real[4096];
		CHECK(realpath(root, real) != NULL);
		char *want = replace_all(orig, "/home/u/.docker/machine", real);
		/* The user's own key outside the store keeps its path. */
		CHECK_STR(got, want);
		struct stat st;
		snprintf(path, sizeof(path), "%s/machines/%s/config.json", root, names[i]);
		CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
		free(got);
		free(orig);
		free(want);
		machine_put(m);
	}
	/* The none machine works fully: its driver is compiled in. */
	struct machine *m = store_get(s, "n1");
	CHECK(m && m->driver && !strcmp(m->driver->name, "none"));
	if (m) { /* packed at rest: unpacked under the lock */
		pthread_mutex_lock(&m->lock);
		machine_thaw_locked(m);
		CHECK(m->created && !strcmp(m->base->ip, "127.0.0.1:2376"));
		machine_freeze_locked(m);
		pthread_mutex_unlock(&m->lock);
	}
	machine_put(m);
	store_close(s);
}

static void test_versions(void)
{
	char root[4096];
	snprintf(root, sizeof(root), "%s/ver", test_tmpdir());
	copy_fixture(root, "old");
	copy_fixture(root, "future");
	struct store *s;
	char err[ERR_MAX];
	CHECK(store_open(root, &s, err) == 0);
	struct machine *m = store_get(s, "old");
	CHECK(m && m->state == MS_ERROR);
	CHECK(m && strstr(m->error, "config version 2") && strstr(m->error, "migrate"));
	machine_put(m);
	m = store_get(s, "future");
	CHECK(m && m->state == MS_ERROR);
	CHECK(m && strstr(m->error, "config version is from the future"));
	machine_put(m);
	store_close(s);
}

static void test_go_emitter(void)
{
	cJSON *o = cJSON_Parse("{\"a\":[],\"b\":{},\"c\":\"<&>\\u2028\\n\",\"d\":null,"
			       "\"e\":[1,true],\"f\":-3}");
	struct strbuf sb = STRBUF_INIT;
	json_emit_go(&sb, o);
	CHECK_STR(sb.buf, "{\n    \"a\": [],\n    \"b\": {},\n"
			  "    \"c\": \"\\u003c\\u0026\\u003e\\u2028\\n\",\n"
			  "    \"d\": null,\n    \"e\": [\n        1,\n        true\n    ],\n"
			  "    \"f\": -3\n}");
	/* json_put keeps a key's position. */
	json_put_str(o, "b", "x");
	strbuf_reset(&sb);
	json_emit_go(&sb, o->child->next);
	CHECK_STR(sb.buf, "\"x\"");
	strbuf_release(&sb);
	cJSON_Delete(o);
}

int main(void)
{
	test_round_trip();
	test_versions();
	test_go_emitter();
	return test_report();
}
