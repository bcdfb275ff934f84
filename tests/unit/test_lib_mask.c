/* mask_text: secrets and URL credentials out of text. */
#include <string.h>

#include "lib/mask.h"
#include "tests/unit/harness.h"

static void masked(const char *in, const struct strlist *secrets, const char *want)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, in);
	mask_text(&sb, secrets);
	CHECK_STR(strbuf_str(&sb), want);
	strbuf_release(&sb);
}

int main(void)
{
	struct strlist s = STRLIST_INIT;

	masked("no secret here", NULL, "no secret here");
	masked("$ curl -fsSL -o /tmp/x 'https://bob:hunter22@get.example/install.sh'", NULL,
	       "$ curl -fsSL -o /tmp/x 'https://****@get.example/install.sh'");
	masked("two http://a:b@h/ and ftp://tok@h2/x, not user@host or mailto:x@y", NULL,
	       "two http://****@h/ and ftp://****@h2/x, not user@host or mailto:x@y");
	masked("tcp://h:2376/path@x", NULL, "tcp://h:2376/path@x");
	mask_add(&s, "dop_v1_0123456789abcdef");
	mask_add(&s, "abc"); /* too short to mask */
	mask_add(&s, "line1-secret\nline2-secret");
	mask_add_url_creds(&s, "https://bob:hunter22@get.example/install.sh");
	CHECK(s.n == 5);
	masked("token dop_v1_0123456789abcdef and dop_v1_0123456789abcdef!", &s,
	       "token **** and ****!");
	masked("abc line1-secret line2-secret", &s, "abc **** ****");
	/* The password alone (a message that names no URL). */
	masked("password hunter22 refused", &s, "password **** refused");
	/* A secret inside a longer one: the longer is masked whole. */
	strlist_add(&s, "dop_v1_0123");
	masked("x dop_v1_0123456789abcdef y dop_v1_0123 z", &s, "x **** y **** z");
	strlist_clear(&s);

	/* Cuts fall between words, never inside a URL. */
	const char *cmd = "sh -c 'curl -o /tmp/x https://bob:hunter22@get.example/i.sh && sh /tmp/x'";
	size_t at = (size_t)(strstr(cmd, "hunter22") - cmd);
	for (size_t max = 0; max < strlen(cmd) + 2; max++) {
		size_t n = mask_cut(cmd, max);
		CHECK(n <= max);
		/* never a part of the URL without its end */
		CHECK(n <= at - strlen("https://bob:") || n >= at + strlen("hunter22@get.example/i.sh"));
	}
	CHECK(mask_cut("short", 400) == 5);
	CHECK(mask_cut("oneverylongword", 4) == 0);
	return test_report();
}
