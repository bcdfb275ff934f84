/* The background state refresher: every interval seconds, each idle
 * machine's state is asked of its driver. It sits on top of the store and
 * the commands (machine_refresh_state in ops.c); one per process, as the
 * mount is. */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "fs/machine.h"
#include "fs/ops.h"

static struct {
	pthread_t thread;
	bool running;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stopping; /* protected by stop_lock */
	volatile int cancel; /* set at stop: every state check gives up */
	int interval;
} R = { .stop_lock = PTHREAD_MUTEX_INITIALIZER, .stop_cond = PTHREAD_COND_INITIALIZER };

/* One sweep: idle machines are checked by a few threads at once, so a
 * slow or unreachable host does not hold up the others. */
struct sweep {
	struct store *s;
	struct strlist names;
	size_t next; /* atomic */
};

static bool store_stopping(struct store *s)
{
	(void)s;
	pthread_mutex_lock(&R.stop_lock);
	bool stop = R.stopping;
	pthread_mutex_unlock(&R.stop_lock);
	return stop;
}

static void *sweep_worker(void *arg)
{
	struct sweep *w = arg;
	for (;;) {
		size_t i = __atomic_fetch_add(&w->next, 1, __ATOMIC_ACQ_REL);
		if (i >= w->names.n || store_stopping(w->s))
			break;
		struct machine *m = store_get(w->s, w->names.v[i]);
		if (!m)
			continue;
		machine_refresh_state(m, &R.cancel);
		machine_put(m);
	}
	return NULL;
}

#define SWEEP_THREADS 16

void store_refresh_states(struct store *s)
{
	struct sweep w = { .s = s, .names = STRLIST_INIT };
	store_list(s, &w.names);
	size_t n = w.names.n < SWEEP_THREADS ? w.names.n : SWEEP_THREADS;
	pthread_t t[SWEEP_THREADS];
	size_t started = 0;
	for (size_t i = 1; i < n; i++)
		if (pthread_create(&t[started], NULL, sweep_worker, &w) == 0)
			started++;
	sweep_worker(&w);
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	strlist_clear(&w.names);
}

static void *refresher_main(void *arg)
{
	struct store *s = arg;
	pthread_mutex_lock(&R.stop_lock);
	while (!R.stopping) {
		pthread_mutex_unlock(&R.stop_lock);
		store_refresh_states(s);
		pthread_mutex_lock(&R.stop_lock);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += R.interval;
		while (!R.stopping &&
		       pthread_cond_timedwait(&R.stop_cond, &R.stop_lock, &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&R.stop_lock);
	return NULL;
}

int store_refresher_start(struct store *s, int interval)
{
	if (R.running)
		return -EALREADY;
	R.interval = interval > 0 ? interval : 10;
	R.stopping = false;
	__atomic_store_n(&R.cancel, 0, __ATOMIC_RELAXED);
	int rc = pthread_create(&R.thread, NULL, refresher_main, s);
	if (rc)
		return -rc;
	R.running = true;
	return 0;
}

void store_refresher_stop(struct store *s)
{
	(void)s;
	if (!R.running)
		return;
	pthread_mutex_lock(&R.stop_lock);
	R.stopping = true;
	__atomic_store_n(&R.cancel, 1, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&R.stop_cond);
	pthread_mutex_unlock(&R.stop_lock);
	/* Every wait in a state check obeys R.cancel (lookups, connects,
	 * children): the sweep ends within a slice. */
	pthread_join(R.thread, NULL);
	R.running = false;
}
