/* The drivers' one poll-until-deadline loop (drivers/wait.h): poll first
 * or sleep first, stop at the deadline (timed_out) or on cancel (not
 * timed_out), the interval a body may change. Outcomes only: no check
 * of how long anything took. */
#include <stdbool.h>

#include "drivers/driver.h"
#include "drivers/wait.h"
#include "tests/unit/harness.h"

static volatile int cancel;
static struct driver_ctx ctx = { .cancel = &cancel };

/* Poll first: the first look at once, then sleeps; done at the third. */
static void test_poll_first(void)
{
	cancel = 0;
	struct driver_wait w;
	int looks = 0;
	bool done = false;
	for (driver_wait_start(&w, &ctx, 60, 10); !done && driver_wait_next(&w);)
		done = ++looks == 3;
	CHECK(done);
	CHECK(looks == 3);
	CHECK(w.polls == 3);
	CHECK(!w.timed_out);
}

/* A deadline already past: poll first still looks once; sleep first
 * does not look at all. Both say timed_out. */
static void test_deadline(void)
{
	cancel = 0;
	struct driver_wait w;
	int looks = 0;
	for (driver_wait_start(&w, &ctx, 0, 10); driver_wait_next(&w);)
		looks++;
	CHECK(looks == 1);
	CHECK(w.timed_out);

	looks = 0;
	driver_wait_start(&w, &ctx, 0, 10);
	w.nap_first = true;
	while (driver_wait_next(&w))
		looks++;
	CHECK(looks == 0);
	CHECK(w.polls == 0);
	CHECK(w.timed_out);
}

/* A deadline a second away is reached, after more than one look. */
static void test_timeout(void)
{
	cancel = 0;
	struct driver_wait w;
	int looks = 0;
	for (driver_wait_start(&w, &ctx, 1, 50); driver_wait_next(&w);)
		looks++;
	CHECK(w.timed_out);
	CHECK(looks >= 2);
	CHECK(w.polls == looks);
	CHECK(driver_wait_left_s(&w) == 0);
}

/* Cancel: poll first looks once (the caller's own calls see the cancel),
 * then stops; sleep first stops before any look. Not timed out. */
static void test_cancel(void)
{
	cancel = 1;
	struct driver_wait w;
	int looks = 0;
	for (driver_wait_start(&w, &ctx, 60, 1000); driver_wait_next(&w);)
		looks++;
	CHECK(looks == 1);
	CHECK(!w.timed_out);

	driver_wait_start(&w, &ctx, 60, 1000);
	w.nap_first = true;
	CHECK(!driver_wait_next(&w));
	CHECK(w.polls == 0);
	CHECK(!w.timed_out);
	CHECK(!driver_nap(&ctx, 1000));
	CHECK(driver_wait_left_s(&w) > 0 && driver_wait_left_s(&w) <= 60);

	/* No cancel flag at all: never cancelled. */
	struct driver_ctx bare = { 0 };
	CHECK(driver_nap(&bare, 10));
	cancel = 0;
	CHECK(driver_nap(&ctx, 10));
}

/* Sleep first, the body changing the interval: every look counted. */
static void test_nap_first(void)
{
	cancel = 0;
	struct driver_wait w;
	driver_wait_start(&w, &ctx, 60, 10);
	w.nap_first = true;
	int looks = 0;
	while (looks < 4 && driver_wait_next(&w)) {
		looks++;
		w.interval_ms = w.polls < 2 ? 10 : 20;
	}
	CHECK(looks == 4);
	CHECK(w.polls == 4);
	CHECK(w.interval_ms == 20);
	CHECK(!w.timed_out);
}

int main(void)
{
	test_poll_first();
	test_deadline();
	test_timeout();
	test_cancel();
	test_nap_first();
	return test_report();
}
