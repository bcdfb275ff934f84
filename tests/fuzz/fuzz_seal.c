/* fs/seal.c on values read from etcd (anyone with write access to the
 * cluster writes them): the first byte picks the form, binary envelope
 * or JSON text; a round trip of the rest must give it back. */
#include "fs/seal.h"
#include "fuzz.h"
#include "lib/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	struct seal_key key;
	memset(key.k, 0x5a, sizeof(key.k));
	struct strbuf out = STRBUF_INIT;
	char err[ERR_MAX];
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	char *s = fuzz_str(p, n);
	switch (data[0] % 3) {
	case 0:
		(void)seal_is_sealed(p, n);
		(void)seal_open(&key, "/p/machines/a/key.pem", p, n, &out, err);
		break;
	case 1:
		(void)seal_text_is_sealed(s);
		(void)seal_text_open(&key, "/p/machines/a/config.json#Driver.AccessToken", s, &out, err);
		break;
	default: {
		struct strbuf env = STRBUF_INIT;
		seal(&key, s, p, n, &env);
		if (seal_open(&key, s, env.buf, env.len, &out, err) || out.len != n ||
		    (n && memcmp(out.buf, p, n)))
			abort();
		strbuf_release(&env);
		break;
	}
	}
	free(s);
	strbuf_release(&out);
	return 0;
}
