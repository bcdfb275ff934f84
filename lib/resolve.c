/* getaddrinfo with a deadline and cancel (see resolve.h). */
#include "lib/resolve.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/err.h"

#define RESOLVE_TIMEOUT_MS 10000
#define SLICE_MS 100 /* how often a wait looks at *cancel */

static resolve_fn hook;

void resolve_set_hook(resolve_fn fn)
{
	__atomic_store_n(&hook, fn, __ATOMIC_RELEASE);
}

static int do_resolve(const char *host, const char *port, const struct addrinfo *hints,
		      struct addrinfo **res)
{
	resolve_fn fn = __atomic_load_n(&hook, __ATOMIC_ACQUIRE);
	return fn ? fn(host, port, hints, res) : getaddrinfo(host, port, hints, res);
}

/* Shared by the caller and the helper thread; the last one out frees it. */
struct lookup {
	pthread_mutex_t lock;
	pthread_cond_t done_cond;
	int refs;          /* protected by lock */
	bool done;         /* protected by lock */
	int gai, gai_errno;
	struct addrinfo *res;
	struct addrinfo hints;
	char *host, *port;
};

static void lookup_put(struct lookup *l)
{
	pthread_mutex_lock(&l->lock);
	int refs = --l->refs;
	pthread_mutex_unlock(&l->lock);
	if (refs)
		return;
	if (l->res)
		freeaddrinfo(l->res);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->done_cond);
	free(l->host);
	free(l->port);
	free(l);
}

static void *lookup_main(void *arg)
{
	struct lookup *l = arg;
	struct addrinfo *res = NULL;
	int gai = do_resolve(l->host, l->port, &l->hints, &res);
	int e = errno;

	pthread_mutex_lock(&l->lock);
	l->gai = gai;
	l->gai_errno = e;
	l->res = gai ? NULL : res;
	l->done = true;
	pthread_cond_broadcast(&l->done_cond);
	pthread_mutex_unlock(&l->lock);
	lookup_put(l);
	return NULL;
}

static int lookup_error(const char *host, int gai, int e, char *err)
{
	const char *text = gai == EAI_SYSTEM ? strerror(e) : gai_strerror(gai);
	char low[128];

	snprintf(low, sizeof(low), "%s", text);
	if (low[0] >= 'A' && low[0] <= 'Z' && !(low[1] >= 'A' && low[1] <= 'Z'))
		low[0] = (char)(low[0] - 'A' + 'a');
	if (gai == EAI_MEMORY)
		return error_set(err, ENOMEM, "cannot resolve '%.200s': %s", host, low);
	return error_set(err, gai == EAI_NONAME || gai == EAI_NODATA ? EHOSTUNREACH : EIO,
			 "cannot resolve '%.200s': %s", host, low);
}

static bool cancelled(volatile int *cancel)
{
	return cancel && __atomic_load_n(cancel, __ATOMIC_RELAXED);
}

int resolve(const char *host, const char *port, const struct addrinfo *hints,
	    struct addrinfo **res, int timeout_ms, volatile int *cancel, char *err)
{
	struct addrinfo numeric = *hints;
	int gai = 0;

	*res = NULL;
	if (cancelled(cancel))
		return error_set(err, ECANCELED, "lookup of '%.200s' cancelled", host);
	/* An address literal: answered at once, no thread. */
	numeric.ai_flags |= AI_NUMERICHOST;
	if (!getaddrinfo(host, port, &numeric, res))
		return 0;

	struct lookup *l = calloc(1, sizeof(*l));
	if (!l || !(l->host = strdup(host)) || !(l->port = strdup(port ? port : ""))) {
		if (l)
			free(l->host);
		free(l);
		return error_set(err, ENOMEM, "out of memory");
	}
	if (!port) {
		free(l->port);
		l->port = NULL;
	}
	l->hints = *hints;
	l->hints.ai_canonname = NULL;
	l->hints.ai_addr = NULL;
	l->hints.ai_next = NULL;
	l->refs = 2;
	pthread_mutex_init(&l->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->done_cond, &ca);
	pthread_condattr_destroy(&ca);

	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &a, lookup_main, l);
	pthread_attr_destroy(&a);
	if (rc) {
		l->refs = 1;
		lookup_put(l);
		return error_set(err, rc, "cannot resolve '%.200s': no thread", host);
	}

	struct timespec now, deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	long ms = timeout_ms > 0 ? timeout_ms : RESOLVE_TIMEOUT_MS;
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&l->lock);
	int ret = 0;
	while (!l->done) {
		if (cancelled(cancel)) {
			ret = -ECANCELED;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > deadline.tv_sec ||
		    (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)) {
			ret = -ETIMEDOUT;
			break;
		}
		struct timespec slice = now;
		slice.tv_nsec += SLICE_MS * 1000000L;
		if (slice.tv_nsec >= 1000000000L) {
			slice.tv_sec++;
			slice.tv_nsec -= 1000000000L;
		}
		if (slice.tv_sec > deadline.tv_sec ||
		    (slice.tv_sec == deadline.tv_sec && slice.tv_nsec > deadline.tv_nsec))
			slice = deadline;
		pthread_cond_timedwait(&l->done_cond, &l->lock, &slice);
	}
	if (!ret) {
		gai = l->gai;
		if (!gai) {
			*res = l->res; /* ours now */
			l->res = NULL;
		}
	}
	int gai_errno = l->gai_errno;
	pthread_mutex_unlock(&l->lock);
	lookup_put(l);
	if (ret == -ECANCELED)
		return error_set(err, ECANCELED, "lookup of '%.200s' cancelled", host);
	if (ret == -ETIMEDOUT)
		return error_set(err, ETIMEDOUT, "cannot resolve '%.200s': no answer within %ld ms",
				 host, ms);
	return gai ? lookup_error(host, gai, gai_errno, err) : 0;
}
