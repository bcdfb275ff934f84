/* ssh_connect: a name that never resolves is bounded by the connect
 * timeout and by cancel. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "lib/fileutil.h"
#include "provision/ssh.h"
#include "tests/unit/harness.h"
#include "tests/unit/resolve_hook.h"

int main(void)
{
	char key[512], known[512], err[ERR_MAX];
	snprintf(key, sizeof(key), "%s/key", test_tmpdir());
	snprintf(known, sizeof(known), "%s/known_hosts", test_tmpdir());
	CHECK(write_file_atomic(key, "x\n", 2, 0600, NULL) == 0);
	resolve_set_hook(hang_resolver);

	struct ssh_target t = { .host = "hang.example", .port = 22, .user = "root",
				.key_path = key, .known_hosts = known,
				.connect_timeout_ms = 400 };
	struct ssh_conn *c = NULL;
	CHECK(ssh_connect(&t, &c, err) == -ETIMEDOUT);
	CHECK(strstr(err, "cannot resolve 'hang.example'") == err);
	CHECK(c == NULL);
	CHECK(hang_count(&hang_inside) == 1);

	volatile int cancel = 1;
	t.cancel = &cancel;
	t.connect_timeout_ms = 600000;
	CHECK(ssh_connect(&t, &c, err) == -ECANCELED);
	hang_release();
	resolve_set_hook(NULL);
	return test_report();
}
