/* The core without FUSE: the name rule, the ctl parser, option parsing,
 * and a none machine's create/remove through the core API. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/machine.h"
#include "fs/ops.h"
#include "lib/fileutil.h"
#include "tests/unit/harness.h"

static void test_names(void)
{
	const char *good[] = { "a", "dev", "Web-1", "a.b-c", "9", "x-" };
	const char *bad[] = { "", "-x", ".x", "a b", "a_b", "a/b", "é", "..", "a:b" };
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		CHECK(machine_name_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		CHECK(!machine_name_valid(bad[i]));
	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[299] = '\0';
	CHECK(!machine_name_valid(longname));
	longname[64] = '\0'; /* hostnames stop at 63 characters */
	CHECK(!machine_name_valid(longname));
	longname[63] = '\0';
	CHECK(machine_name_valid(longname));
}

static void test_ctl_parse(void)
{
	char word[64], err[ERR_MAX];
	CHECK(ctl_parse("start\n", 6, word, sizeof(word), err) >= 0);
	CHECK_STR(word, "start");
	CHECK(ctl_parse("  rm-force  \n", 13, word, sizeof(word), err) >= 0);
	CHECK_STR(word, "rm-force");
	CHECK(ctl_parse("\n", 1, word, sizeof(word), err) == -EINVAL);
	CHECK(!strncmp(err, "empty command", 13));
	CHECK(ctl_parse("stop now", 8, word, sizeof(word), err) == -EINVAL);
	CHECK(ctl_parse("Start", 5, word, sizeof(word), err) == -EINVAL);
	CHECK(strstr(err, "unknown command 'Start'") != NULL);
	CHECK(ctl_parse("st\0op", 5, word, sizeof(word), err) == -EINVAL);
	static char big[8192];
	memset(big, 'a', sizeof(big));
	CHECK(ctl_parse(big, sizeof(big), word, sizeof(word), err) == -EINVAL);
	CHECK(!strncmp(err, "command too long", 16));
	size_t n;
	const char *const *names = ctl_command_names(&n);
	CHECK(n == 10);
	for (size_t i = 0; i < n; i++)
		CHECK(ctl_parse(names[i], strlen(names[i]), word, sizeof(word), err) == (int)i);
}

static void test_machine(void)
{
	char root[4096], err[ERR_MAX];
	snprintf(root, sizeof(root), "%s/core", test_tmpdir());
	struct store *s;
	CHECK(store_open(root, &s, err) == 0);
	CHECK(store_mkdir(s, "a b", err) == -EINVAL);
	CHECK(store_mkdir(s, "m", err) == 0);
	CHECK(store_mkdir(s, "m", err) == -EEXIST);
	struct machine *m = store_get(s, "m");
	CHECK(m && m->state == MS_NONE);
	/* Options: unknown names refused; lists one value a line, trimmed. */
	CHECK(machine_option_set(m, "nope", "x", err) == -EINVAL);
	CHECK(strstr(err, "'nope'") != NULL);
	CHECK(machine_option_set(m, "engine-label", "  a=b \n\n c=d\n", err) == 0);
	struct strbuf sb = STRBUF_INIT;
	CHECK(machine_option_get(m, "engine-label", &sb));
	CHECK_STR(sb.buf, "a=b\nc=d\n");
	strbuf_reset(&sb);
	CHECK(machine_option_set(m, "url", "tcp://127.0.0.1:2376\n", err) == 0);
	CHECK(machine_option_get(m, "url", &sb));
	CHECK_STR(sb.buf, "tcp://127.0.0.1:2376\n");
	strbuf_release(&sb);
	CHECK(machine_command(m, "create", err) == -EINVAL); /* no driver */
	CHECK(machine_set_driver(m, "nosuch\n", err) == -EINVAL);
	CHECK(m->state == MS_NONE);
	CHECK(machine_set_driver(m, "none\n", err) == 0);
	CHECK(m->state == MS_RUNNING && m->created);
	CHECK(machine_option_set(m, "url", "x", err) == -EROFS);
	CHECK(machine_command(m, "stop", err) == -ENOTSUP);
	CHECK_STR(err, "hosts without a driver cannot be stopped");
	CHECK(m->state == MS_RUNNING);
	machine_put(m);
	/* Reopen: the machine is as it was. */
	store_close(s);
	CHECK(store_open(root, &s, err) == 0);
	m = store_get(s, "m");
	CHECK(m && m->state == MS_RUNNING && m->created);
	if (m) { /* packed at rest: unpacked under the lock */
		pthread_mutex_lock(&m->lock);
		machine_thaw_locked(m);
		CHECK(!strcmp(m->base->ip, "127.0.0.1:2376"));
		machine_freeze_locked(m);
		pthread_mutex_unlock(&m->lock);
	}
	CHECK(store_remove(s, m, false, err) == 0);
	machine_put(m);
	CHECK(store_get(s, "m") == NULL);
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/machines/m", root);
	CHECK(!path_exists(dir));
	store_close(s);
}

int main(void)
{
	test_names();
	test_ctl_parse();
	test_machine();
	return test_report();
}
