/* url_split: the one parser of engine URLs. */
#include <errno.h>
#include <stdio.h>

#include "lib/err.h"

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

	/* url_check: tcp://HOST:PORT and nothing else. */
	const char *good[] = { "tcp://127.0.0.1:2376", "tcp://[::1]:2376", "tcp://[fe80::1]:1",
			       "tcp://example.org:65535", "tcp://a-b.c0.EXAMPLE:22", "tcp://h:2376" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(url_check(good[i], NULL) == 0);
	const char *bad[] = { "tcp://$(touch /tmp/x):2376", "tcp://`id`:2376", "tcp://a;b:1",
			      "tcp://a b:1", "tcp://a\"b:1", "tcp://a'b:1", "tcp://h:2376\nX=1",
			      "tcp://h:2376/path", "tcp://h:2376?q", "tcp://h", "tcp://h:",
			      "tcp://h:0", "tcp://h:65536", "tcp://h:+1", "tcp://h:1x", "http://h:1",
			      "tcp://:1", "tcp://-h:1", "tcp://h-:1", "tcp://a..b:1", "tcp://[::1:1",
			      "tcp://[::g]:1", "tcp://[::1]x:1", "tcp://user@h:1", "tcp://h:1:2",
			      "tcp://%41:1", "tcp://h\\x:1", "", "tcp://" };
	char err[ERR_MAX];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(url_check(bad[i], err) == -EINVAL);
		CHECK(strstr(err, "invalid url '") == err && !strchr(err, '\n'));
		if (url_check(bad[i], NULL) != -EINVAL)
			printf("accepted: %s\n", bad[i]);
	}
	char label[80];
	memset(label, 'a', 64);
	snprintf(label + 64, sizeof(label) - 64, ":1");
	char url[100];
	snprintf(url, sizeof(url), "tcp://%s", label);
	CHECK(url_check(url, NULL) == -EINVAL); /* a 64-character label */
	url_check("tcp://h:1\nexport X=1", err);
	CHECK_STR(err, "invalid url 'tcp://h:1\\x0aexport X=1': want tcp://HOST:PORT");
	return test_report();
}
