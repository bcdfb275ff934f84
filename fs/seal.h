/* Secrets sealed at rest (the etcd store, issue 14): AES-256-GCM through
 * OpenSSL's EVP under a 32-byte key the mounts share out of band.
 *
 * A sealed value is an envelope: "MFSE", version 1, a random 12-byte
 * nonce, the ciphertext, the 16-byte tag. The name the value is stored
 * under (its etcd key, a JSON field's path after it) is the associated
 * data, so a value moved to another name does not open. A JSON string
 * field holds the envelope as text: SEAL_TEXT then its base64. */
#ifndef MFS_SEAL_H
#define MFS_SEAL_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/strbuf.h"

#define SEAL_KEY_LEN 32
#define SEAL_TEXT "machinefs-sealed:v1:"
/* The one line a mount without the key answers with. */
#define SEAL_LOCKED "the store's secrets are encrypted: mount with -o etcd-secrets-key=FILE to use them"

struct seal_key {
	unsigned char k[SEAL_KEY_LEN];
};

/* The key from path: 32 raw bytes, 64 hex digits or base64 of 32 bytes
 * (blanks around ignored). A file group or others may read is refused. */
int seal_key_load(const char *path, struct seal_key *key, char *err);

/* Envelope of p[0..n) under aad, appended to out. */
void seal(const struct seal_key *key, const char *aad, const void *p, size_t n,
	  struct strbuf *out);
/* The plaintext of an envelope (appended to out); -EBADMSG when it does
 * not open (another key, another name, altered). */
int seal_open(const struct seal_key *key, const char *aad, const void *p, size_t n,
	      struct strbuf *out, char *err);
bool seal_is_sealed(const void *p, size_t n);
/* The text forms (a JSON string value). */
void seal_text(const struct seal_key *key, const char *aad, const char *s, struct strbuf *out);
int seal_text_open(const struct seal_key *key, const char *aad, const char *s, struct strbuf *out,
		   char *err);
bool seal_text_is_sealed(const char *s);

/* Whether the file at path holds an envelope. */
bool seal_file_is_sealed(const char *path);

#endif
