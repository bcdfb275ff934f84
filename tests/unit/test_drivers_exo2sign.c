/* EXO2-HMAC-SHA256 (drivers/exo2sign.h) against vectors worked out from
 * Exoscale's documented algorithm with Python's hmac/hashlib/base64: the
 * two in Exoscale's own requests-exoscale-auth tests (key EXOxxx..., secret
 * 43 X, expires 2077-01-01), and one with a body and a multi-valued
 * parameter (not signed). */
#include <stdio.h>
#include <string.h>

#include "drivers/exo2sign.h"
#include "tests/unit/harness.h"

int main(void)
{
	const char *key = "EXOxxxxxxxxxxxxxxxxxxxxxxxx";
	const char *secret = "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";
	struct strbuf h = STRBUF_INIT;
	CHECK(exo2_authorization(key, secret, "GET", "/v2/zone", NULL, "", 0, 3376684800LL, &h) == 0);
	CHECK_STR(h.buf, "EXO2-HMAC-SHA256 credential=EXOxxxxxxxxxxxxxxxxxxxxxxxx,expires=3376684800,"
			 "signature=Ntbq/p0HVmA3Zg1HHY+Lq1vjFGi7HeMrrgXDS5jRNlY=");
	strbuf_reset(&h);
	CHECK(exo2_authorization(key, secret, "GET", "/v2/zone", "k2=v2&k1=v1", "", 0, 3376684800LL, &h) == 0);
	CHECK_STR(h.buf, "EXO2-HMAC-SHA256 credential=EXOxxxxxxxxxxxxxxxxxxxxxxxx,signed-query-args=k1;k2,"
			 "expires=3376684800,signature=iqOBz13+44L5j0uJclE8hmUhQQcvtCSoPEOXYK6liqY=");
	strbuf_reset(&h);
	const char *body = "{\"name\":\"web\"}";
	CHECK(exo2_authorization("EXOkey", "secret", "POST", "/v2/instance", "zone=ch-gva-2&b=1&b=2&a=x",
				 body, strlen(body), 1700000000LL, &h) == 0);
	CHECK_STR(h.buf, "EXO2-HMAC-SHA256 credential=EXOkey,signed-query-args=a;zone,"
			 "expires=1700000000,signature=f26V+GhlDn1DTBgT8octqEJVw37DxiKXlrq32x+ASBU=");
	/* The message itself. */
	struct strbuf m = STRBUF_INIT, n = STRBUF_INIT;
	CHECK(exo2_message("DELETE", "/v2/ssh-key/k%201", "", NULL, 0, 5, &m, &n) == 0);
	CHECK_STR(m.buf, "DELETE /v2/ssh-key/k%201\n\n\n\n5");
	CHECK(n.len == 0);
	strbuf_release(&m);
	strbuf_release(&n);
	strbuf_release(&h);
	return test_report();
}
