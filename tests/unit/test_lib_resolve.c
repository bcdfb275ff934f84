/* resolve(): a lookup that never answers ends at the deadline or on
 * cancel, without waiting for the resolver. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/err.h"
#include "tests/unit/harness.h"
#include "tests/unit/resolve_hook.h"

static volatile int cancel_flag;

static void *cancel_later(void *arg)
{
	while (!hang_count(&hang_entered))
		nanosleep(&(struct timespec){ 0, 10000000L }, NULL);
	__atomic_store_n(&cancel_flag, 1, __ATOMIC_RELAXED);
	return NULL;
}

int main(void)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	char err[ERR_MAX];

	/* The real resolver: an address literal and localhost. */
	CHECK(resolve("127.0.0.1", "22", &hints, &res, 1000, NULL, err) == 0 && res);
	freeaddrinfo(res);
	CHECK(resolve("::1", "22", &hints, &res, 1000, NULL, err) == 0 && res);
	freeaddrinfo(res);
	CHECK(resolve("localhost", "22", &hints, &res, 5000, NULL, err) == 0 && res);
	freeaddrinfo(res);

	resolve_set_hook(hang_resolver);
	/* The deadline. */
	CHECK(resolve("hang.example", "22", &hints, &res, 300, NULL, err) == -ETIMEDOUT);
	CHECK_STR(err, "cannot resolve 'hang.example': no answer within 300 ms");
	CHECK(res == NULL);
	CHECK(hang_count(&hang_inside) == 1); /* the resolver still hangs */
	/* Cancel from another thread. */
	pthread_t t;
	pthread_create(&t, NULL, cancel_later, NULL);
	CHECK(resolve("hang2.example", "22", &hints, &res, 600000, &cancel_flag, err) == -ECANCELED);
	CHECK_STR(err, "lookup of 'hang2.example' cancelled");
	pthread_join(t, NULL);
	/* Cancelled before: no lookup at all. */
	int before = hang_count(&hang_entered);
	CHECK(resolve("hang3.example", "22", &hints, &res, 1000, &cancel_flag, err) == -ECANCELED);
	CHECK(hang_count(&hang_entered) == before);
	/* A literal needs no resolver. */
	CHECK(resolve("10.213.71.2", "22", &hints, &res, 1000, NULL, err) == 0 && res);
	freeaddrinfo(res);
	hang_release();
	/* Released, the hook answers "no such name". */
	CHECK(resolve("gone.example", "22", &hints, &res, 1000, NULL, err) == -EHOSTUNREACH);
	CHECK(strstr(err, "cannot resolve 'gone.example': ") == err);
	resolve_set_hook(NULL);
	return test_report();
}
