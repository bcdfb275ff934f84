/* getaddrinfo with a deadline and a cancel flag. glibc's resolver cannot
 * be interrupted, so the lookup runs in a helper thread of its own; a
 * caller that gives up (deadline, cancel) returns at once and the thread
 * frees its result when the resolver answers. A numeric address needs no
 * thread. */
#ifndef MFS_RESOLVE_H
#define MFS_RESOLVE_H

#include <netdb.h>

/* As getaddrinfo(host, port, hints, res), but waits at most timeout_ms
 * (0: 10 s) and gives up when *cancel (may be NULL) is set. Returns 0
 * (*res to freeaddrinfo), or -ETIMEDOUT, -ECANCELED, -EHOSTUNREACH (no
 * such name), -EIO (another resolver failure), -ENOMEM, each with a
 * message about host in err (ERR_MAX bytes, may be NULL). */
int resolve(const char *host, const char *port, const struct addrinfo *hints,
	    struct addrinfo **res, int timeout_ms, volatile int *cancel, char *err);

/* Tests only: the function that resolves (NULL: getaddrinfo). */
typedef int (*resolve_fn)(const char *, const char *, const struct addrinfo *,
			  struct addrinfo **);
void resolve_set_hook(resolve_fn fn);

#endif
