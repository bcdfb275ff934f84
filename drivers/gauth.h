/* Google OAuth2 for the google driver: Application Default Credentials
 * (which key file), the service-account JWT (RS256, RFC 7515/7523) and
 * the token exchange at the key file's token_uri, with an in-memory
 * token cache per machine.
 *
 * Lookup order (gauth_find), as Google's ADC finds a key file:
 *   1. the path given in the option google-application-credentials;
 *   2. $GOOGLE_APPLICATION_CREDENTIALS;
 *   3. gcloud's ADC file: $CLOUDSDK_CONFIG/application_default_credentials.json,
 *      else ~/.config/gcloud/application_default_credentials.json.
 * (ADC's last resort, the GCE metadata server, is not used.)
 *
 * Key file types: "service_account" (client_email, private_key, token_uri:
 * a JWT-bearer grant, RFC 7523) and "authorized_user" (client_id,
 * client_secret, refresh_token: a refresh_token grant at token_uri, which
 * gcloud's files omit: Google's https://oauth2.googleapis.com/token then).
 *
 * Secrets: the private key, client secret, refresh token and access token
 * never go to the log or to an error message. */
#ifndef MFS_GAUTH_H
#define MFS_GAUTH_H

#include <stddef.h>
#include <time.h>

#include "drivers/driver.h"
#include "lib/strbuf.h"

#define GAUTH_SCOPE_COMPUTE "https://www.googleapis.com/auth/compute"
#define GAUTH_TOKEN_URI_DEFAULT "https://oauth2.googleapis.com/token"
#define GAUTH_JWT_GRANT "urn:ietf:params:oauth:grant-type:jwt-bearer"

enum gauth_type { GAUTH_SERVICE_ACCOUNT = 1, GAUTH_AUTHORIZED_USER };

/* A parsed key file. gauth_load fills it, gauth_cred_release frees the
 * strings (secrets are wiped first). */
struct gauth_cred {
	enum gauth_type type;
	char *client_email;   /* service_account */
	char *private_key;    /* service_account: PEM (secret) */
	char *client_id;      /* authorized_user */
	char *client_secret;  /* authorized_user (secret) */
	char *refresh_token;  /* authorized_user (secret) */
	char *token_uri;
};

/* Which key file: see the order above. opt_path may be NULL or "".
 * 0 with the path in out, or -ENOENT with an error saying what to do. */
int gauth_find(const char *opt_path, char *out, size_t len, char *err);
int gauth_load(const char *path, struct gauth_cred *c, char *err);
void gauth_cred_release(struct gauth_cred *c);

/* base64url without padding (RFC 7515 section 2). */
void gauth_b64url(struct strbuf *out, const void *data, size_t len);

/* A JWS compact serialisation signed RS256 (RSASSA-PKCS1-v1_5, SHA-256):
 * BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(signature),
 * header and payload taken byte for byte. pem: the private key (PKCS#8
 * or PKCS#1). */
int gauth_jws_rs256(const char *pem, const char *header, const char *payload,
		    struct strbuf *out, char *err);

/* The form body for the token request of c at time now:
 * grant_type=urn:...:jwt-bearer&assertion=JWT (claims iss, scope, aud =
 * token_uri, iat = now, exp = now + 3600) or
 * grant_type=refresh_token&client_id=...&client_secret=...&refresh_token=... */
int gauth_token_body(const struct gauth_cred *c, const char *scope, time_t now,
		     struct strbuf *body, char *err);

/* A valid access token for ctx's machine: the cached one while it has
 * more than a minute left, else a new one from the key file at path.
 * The token goes into token (secret). */
int gauth_token(struct driver_ctx *ctx, const char *path, const char *scope,
		struct strbuf *token);
/* Drop ctx's machine's cached token (after a 401). */
void gauth_forget(struct driver_ctx *ctx);

#endif
