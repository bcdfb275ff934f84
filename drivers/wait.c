/* The poll-until-deadline loop every driver that waits uses (wait.h). */
#include "drivers/wait.h"

#include <time.h>

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool driver_nap(const struct driver_ctx *ctx, int ms)
{
	for (int t = 0; t < ms; t += 50) {
		if (driver_cancelled(ctx))
			return false;
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	return !driver_cancelled(ctx);
}

void driver_wait_start(struct driver_wait *w, const struct driver_ctx *ctx, int timeout_s,
		       int interval_ms)
{
	*w = (struct driver_wait){
		.ctx = ctx,
		.deadline_ms = now_ms() + timeout_s * 1000LL,
		.interval_ms = interval_ms,
	};
}

static bool past_deadline(struct driver_wait *w)
{
	w->timed_out = now_ms() >= w->deadline_ms;
	return w->timed_out;
}

bool driver_wait_next(struct driver_wait *w)
{
	if (w->nap_first) {
		if (!driver_nap(w->ctx, w->interval_ms) || past_deadline(w))
			return false;
	} else if (w->polls) {
		if (past_deadline(w) || !driver_nap(w->ctx, w->interval_ms))
			return false;
	}
	w->polls++;
	return true;
}

int driver_wait_left_s(const struct driver_wait *w)
{
	long long left = w->deadline_ms - now_ms();
	return left > 0 ? (int)(left / 1000) : 0;
}
