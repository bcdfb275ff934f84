/* The state refresher stops (unmount) while a state check hangs in the
 * resolver: a generic machine whose host name never resolves. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/machine.h"
#include "lib/fileutil.h"
#include "tests/unit/harness.h"
#include "tests/unit/resolve_hook.h"

static struct store *s;
static int stopped;

static void *stop_main(void *arg)
{
	store_refresher_stop(s);
	__atomic_store_n(&stopped, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

int main(void)
{
	char root[4096], dir[4200], src[4096], dst[4300], err[ERR_MAX];
	struct strbuf sb = STRBUF_INIT;

	snprintf(root, sizeof(root), "%s/refresh", test_tmpdir());
	snprintf(dir, sizeof(dir), "%s/machines/g", root);
	CHECK(mkdir_p(dir, 0700, NULL) == 0);
	snprintf(src, sizeof(src), "%s/tests/fixtures/dm-store/machines/box1/config.json",
		 getenv("SRCDIR") ? getenv("SRCDIR") : ".");
	CHECK(read_file(src, &sb, err) == 0);
	char *ip = strstr(sb.buf ? sb.buf : "", "\"127.0.0.3\"");
	CHECK(ip != NULL);
	if (!ip)
		return test_report();
	struct strbuf out = STRBUF_INIT;
	strbuf_add(&out, sb.buf, (size_t)(ip - sb.buf));
	strbuf_addstr(&out, "\"hang.example\"");
	strbuf_addstr(&out, ip + strlen("\"127.0.0.3\""));
	snprintf(dst, sizeof(dst), "%s/config.json", dir);
	CHECK(write_file_atomic(dst, out.buf, out.len, 0600, NULL) == 0);

	resolve_set_hook(hang_resolver);
	CHECK(store_open(root, &s, err) == 0);
	CHECK(store_refresher_start(s, 1) == 0);
	/* The sweep reaches the machine and hangs in the lookup. */
	for (int i = 0; i < 2000 && !hang_count(&hang_entered); i++)
		sleep_ms(10);
	CHECK(hang_count(&hang_entered) >= 1);
	/* Unmount: the refresher stops while the resolver still hangs. */
	pthread_t t;
	pthread_create(&t, NULL, stop_main, NULL);
	for (int i = 0; i < 3000 && !__atomic_load_n(&stopped, __ATOMIC_ACQUIRE); i++)
		sleep_ms(10);
	CHECK(__atomic_load_n(&stopped, __ATOMIC_ACQUIRE));
	CHECK(hang_count(&hang_inside) >= 1);
	hang_release();
	pthread_join(t, NULL);
	/* The cut-short check recorded nothing. */
	struct machine *m = store_get(s, "g");
	CHECK(m != NULL);
	if (m) {
		pthread_mutex_lock(&m->lock);
		CHECK(m->state != MS_ERROR);
		pthread_mutex_unlock(&m->lock);
		machine_put(m);
	}
	store_close(s);
	resolve_set_hook(NULL);
	strbuf_release(&sb);
	strbuf_release(&out);
	return test_report();
}
