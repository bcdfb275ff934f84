/* url_split: the one parser of engine URLs. */
#include <errno.h>

#include "lib/url.h"
#include "tests/unit/harness.h"

int main(void)
{
	char host[64], hp[64];
	int port;
	CHECK(url_split("tcp://127.0.0.1:2376", host, sizeof(host), &port, hp, sizeof(hp)) == 0);
	CHECK_STR(host, "127.0.0.1");
	CHECK(port == 2376);
	CHECK_STR(hp, "127.0.0.1:2376");
	CHECK(url_split("tcp://[::1]:2377/x", host, sizeof(host), &port, hp, sizeof(hp)) == 0);
	CHECK_STR(host, "::1");
	CHECK(port == 2377);
	CHECK_STR(hp, "[::1]:2377");
	CHECK(url_split("tcp://example.org", host, sizeof(host), &port, NULL, 0) == 0);
	CHECK_STR(host, "example.org");
	CHECK(port == 0);
	CHECK(url_split("127.0.0.1:2376", host, sizeof(host), &port, NULL, 0) == -EINVAL);
	CHECK(url_split("tcp://", host, sizeof(host), &port, NULL, 0) == -EINVAL);
	CHECK(url_split("tcp://:2376", host, sizeof(host), &port, NULL, 0) == -EINVAL);
	CHECK(url_split("tcp://[::1:2376", host, sizeof(host), &port, NULL, 0) == -EINVAL);
	return test_report();
}
