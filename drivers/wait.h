/* Polling until a state or a deadline, honouring cancel: the one loop the
 * drivers share (an operation until it ends, an instance until it runs,
 * a VM until it has an address).
 *
 *	struct driver_wait w;
 *	for (driver_wait_start(&w, ctx, IP_WAIT_S, 1000); driver_wait_next(&w);) {
 *		... poll: return 0 when done, -errno on a failure ...
 *	}
 *	if (w.timed_out)
 *		return error_set(ctx->err, ETIMEDOUT, "... not ... within %d s", ...);
 *	return error_set(ctx->err, EINTR, "... was cancelled");
 *
 * driver_wait_next() says true at once the first time (poll first), then
 * after checking the deadline and sleeping interval_ms. With nap_first set
 * (the first answer already said "not yet"), it sleeps before every poll
 * and checks the deadline after the sleep. It says false at the deadline
 * (timed_out set) or as soon as the caller gave up (driver_cancelled());
 * the caller words the error. A body may change interval_ms for the next
 * sleep (Retry-After, a back-off). The deadline is on the monotonic clock.
 * Nothing to free. */
#ifndef MFS_DRIVERS_WAIT_H
#define MFS_DRIVERS_WAIT_H

#include <stdbool.h>

#include "drivers/driver.h"

struct driver_wait {
	const struct driver_ctx *ctx;
	long long deadline_ms;
	int interval_ms; /* the next sleep */
	int polls;       /* how many times driver_wait_next() said true */
	bool nap_first;  /* sleep, then check the deadline, before each poll */
	bool timed_out;  /* why driver_wait_next() said false: the deadline (else cancel) */
};

void driver_wait_start(struct driver_wait *w, const struct driver_ctx *ctx, int timeout_s,
		       int interval_ms);
bool driver_wait_next(struct driver_wait *w);
/* Whole seconds left until the deadline (0 when past it). */
int driver_wait_left_s(const struct driver_wait *w);

/* Sleep ms in 50 ms steps; false as soon as the caller gave up. */
bool driver_nap(const struct driver_ctx *ctx, int ms);

#endif
