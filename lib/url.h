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

#endif
