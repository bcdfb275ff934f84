/* Exoscale API v2 request signing (EXO2-HMAC-SHA256), as Exoscale
 * documents it (openapi-v2.exoscale.com, "API request signature"):
 *
 *   message = METHOD " " PATH "\n"
 *             BODY "\n"
 *             VALUES "\n"       (the values of the single-valued query
 *                                parameters, sorted by name, concatenated)
 *             HEADERS "\n"      (none signed: empty)
 *             EXPIRES           (UNIX time, decimal)
 *   signature = base64(HMAC-SHA256(secret, message))
 *   Authorization: EXO2-HMAC-SHA256 credential=KEY[,signed-query-args=
 *                  NAME;NAME...],expires=EXPIRES,signature=SIGNATURE
 *
 * PATH is the URL's path as sent (percent-escapes kept); query names and
 * values are signed as they appear in the URL. A parameter given more
 * than once is sent but not signed. */
#ifndef MFS_EXO2SIGN_H
#define MFS_EXO2SIGN_H

#include <stddef.h>

#include "lib/strbuf.h"

/* The Authorization header's value for one request into out. query is
 * the text after '?' (NULL or "": none). 0, or -EINVAL for a query too
 * complex (over 64 parameters). */
int exo2_authorization(const char *key, const char *secret, const char *method,
		       const char *path, const char *query, const char *body,
		       size_t body_len, long long expires, struct strbuf *out);

/* The message that is signed (for tests and the fake). */
int exo2_message(const char *method, const char *path, const char *query,
		 const char *body, size_t body_len, long long expires,
		 struct strbuf *msg, struct strbuf *names);

#endif
