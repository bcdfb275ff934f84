/* lib/url.c: engine URLs from drivers, options and config.json; url_check. */
#include "lib/url.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	char host[256], hp[300], tiny[4];
	int port;
	url_split(s, host, sizeof(host), &port, hp, sizeof(hp));
	url_split(s, tiny, sizeof(tiny), &port, NULL, 0);
	url_split(s, host, sizeof(host), &port, tiny, sizeof(tiny));
	/* What url_check accepts is a plain tcp://HOST:PORT: it splits, has a
	 * port, and holds nothing a shell or a unit file would act on. */
	if (url_check(s, NULL) == 0) {
		if (url_split(s, host, sizeof(host), &port, hp, sizeof(hp)) || port < 1 ||
		    port > 65535 || strncmp(s, "tcp://", 6) || strpbrk(s, " \t\n'\"$`;&|<>()\\@%"))
			abort();
	}
	free(s);
	return 0;
}
