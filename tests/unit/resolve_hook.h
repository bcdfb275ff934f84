/* A resolver for tests that blocks until released: a lookup that never
 * answers, as a dead DNS server gives. */
#ifndef MFS_TEST_RESOLVE_HOOK_H
#define MFS_TEST_RESOLVE_HOOK_H

#include <pthread.h>
#include <time.h>

#include "lib/resolve.h"

static pthread_mutex_t hang_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hang_cond = PTHREAD_COND_INITIALIZER;
static int hang_released, hang_entered, hang_inside;

static int hang_resolver(const char *host, const char *port, const struct addrinfo *hints,
			 struct addrinfo **res)
{
	pthread_mutex_lock(&hang_lock);
	hang_entered++;
	hang_inside++;
	while (!hang_released)
		pthread_cond_wait(&hang_cond, &hang_lock);
	hang_inside--;
	pthread_mutex_unlock(&hang_lock);
	return EAI_NONAME;
}

static int hang_count(int *v)
{
	pthread_mutex_lock(&hang_lock);
	int n = *v;
	pthread_mutex_unlock(&hang_lock);
	return n;
}

/* Let every blocked lookup answer, and wait until they have. */
static void hang_release(void)
{
	pthread_mutex_lock(&hang_lock);
	hang_released = 1;
	pthread_cond_broadcast(&hang_cond);
	pthread_mutex_unlock(&hang_lock);
	for (int i = 0; i < 200 && hang_count(&hang_inside); i++)
		nanosleep(&(struct timespec){ 0, 10000000L }, NULL);
	/* The helper threads free their lookups just after. */
	nanosleep(&(struct timespec){ 0, 50000000L }, NULL);
}

#endif
