/* lib/url.c: engine URLs from drivers, options and config.json. */
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
	free(s);
	return 0;
}
