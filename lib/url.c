#include "lib/url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "lib/err.h"

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

static int hostname_valid(const char *h, size_t n)
{
	size_t label = 0;

	if (!n || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (c == '.') {
			if (!label || h[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return 0;
		if (c == '-' && !label)
			return 0;
		if (++label > 63)
			return 0;
	}
	return label && h[n - 1] != '-';
}

int url_check(const char *url, char *err)
{
	const char *h = url, *end, *colon;
	char addr[64];
	struct in6_addr a6;
	int ok;

	if (strncmp(h, "tcp://", 6))
		goto bad;
	h += 6;
	if (*h == '[') {
		end = strchr(h, ']');
		if (!end || (size_t)(end - h - 1) >= sizeof(addr))
			goto bad;
		snprintf(addr, sizeof(addr), "%.*s", (int)(end - h - 1), h + 1);
		ok = inet_pton(AF_INET6, addr, &a6) == 1;
		colon = end + 1;
	} else {
		colon = strrchr(h, ':');
		if (!colon)
			goto bad;
		ok = hostname_valid(h, (size_t)(colon - h));
	}
	if (!ok || *colon != ':' || !colon[1] || strlen(colon + 1) > 5 ||
	    colon[1 + strspn(colon + 1, "0123456789")] != '\0')
		goto bad;
	long port = strtol(colon + 1, NULL, 10);
	if (port < 1 || port > 65535)
		goto bad;
	return 0;
bad:
	/* The url may hold anything: quote it with control characters shown. */
	if (err) {
		char shown[128];
		size_t j = 0;
		const char *p = url;
		for (; *p && j + 5 < sizeof(shown); p++) {
			unsigned char c = (unsigned char)*p;
			if (c < 0x20 || c == 0x7f || c == '\'')
				j += (size_t)snprintf(shown + j, sizeof(shown) - j, "\\x%02x", c);
			else
				shown[j++] = (char)c;
		}
		shown[j] = '\0';
		error_set(err, EINVAL, "invalid url '%s%s': want tcp://HOST:PORT", shown,
			  *p ? "..." : "");
	}
	return -EINVAL;
}
