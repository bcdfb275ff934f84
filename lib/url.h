/* Docker endpoint URLs: "tcp://HOST:PORT[/...]". */
#ifndef MFS_URL_H
#define MFS_URL_H

#include <stddef.h>

/* Split url into host (no brackets kept for "[v6]") and port. Returns 0,
 * or -EINVAL when there is no "scheme://" or no host. *port is 0 when
 * the URL names none. hostport (may be NULL) gets "HOST:PORT" as written,
 * which Docker Machine's none driver stores as its IPAddress. */
int url_split(const char *url, char *host, size_t hlen, int *port,
	      char *hostport, size_t hplen);

/* An engine URL a user gave (the none driver's options/url): exactly
 * tcp://HOST:PORT, HOST a hostname (letters, digits, '-' and '.', labels
 * of 1-63 characters, 253 in all), an IPv4 address or an [IPv6] address,
 * PORT 1-65535 in decimal, nothing after it. 0, or -EINVAL with a
 * message naming the url in err (ERR_MAX bytes, may be NULL). */
int url_check(const char *url, char *err);

#endif
