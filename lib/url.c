#include "lib/url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int url_split(const char *url, char *host, size_t hlen, int *port,
	      char *hostport, size_t hplen)
{
	const char *h = strstr(url, "://");
	if (!h || h == url || !h[3])
		return -EINVAL;
	h += 3;
	size_t n = strcspn(h, "/?#");
	if (hostport) {
		if (n >= hplen)
			return -EINVAL;
		snprintf(hostport, hplen, "%.*s", (int)n, h);
	}
	const char *end = h + n, *colon = NULL;
	const char *hs = h, *he;
	if (*h == '[') {
		const char *rb = memchr(h, ']', n);
		if (!rb)
			return -EINVAL;
		hs = h + 1;
		he = rb;
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(h, ':', n);
		he = colon ? colon : end;
	}
	if (he == hs || (size_t)(he - hs) >= hlen)
		return -EINVAL;
	snprintf(host, hlen, "%.*s", (int)(he - hs), hs);
	*port = colon ? atoi(colon + 1) : 0;
	return 0;
}
