/* Secrets of a machine never reach its log, error, config.json or
 * options/ as shown: a core machine (no FUSE) with credentials in its
 * engine-install-url, through each of those paths. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/machine.h"
#include "fs/render.h"
#include "lib/fileutil.h"
#include "tests/unit/harness.h"

#define PASS "Hunter2-S3cret"
#define URL "https://deploy:" PASS "@get.example/install.sh"

int main(void)
{
	char root[4096], err[ERR_MAX], path[4200];
	struct store *s;
	struct strbuf sb = STRBUF_INIT;

	snprintf(root, sizeof(root), "%s/secrets", test_tmpdir());
	CHECK(store_open(root, &s, err) == 0);
	CHECK(store_mkdir(s, "m", err) == 0);
	struct machine *m = store_get(s, "m");
	CHECK(m != NULL);
	if (!m)
		return test_report();
	CHECK(machine_option_set(m, "engine-install-url", URL, err) == 0);
	CHECK(machine_option_set(m, "url", "tcp://127.0.0.1:2376", err) == 0);

	/* The log: whatever a step or an SSH command line says. */
	machine_log(m, "Installing Docker from '%s'...", URL);
	machine_log(m, "$ sh -c 'curl -fsSL -o /tmp/i.sh '\\''%s'\\'''", URL);
	machine_log(m, "curl: (22) password " PASS " refused");
	machine_log_path(m, path, sizeof(path));
	CHECK(read_file(path, &sb, err) == 0);
	CHECK(strstr(strbuf_str(&sb), PASS) == NULL);
	CHECK(strstr(strbuf_str(&sb), "https://****@get.example/install.sh") != NULL);
	strbuf_reset(&sb);

	/* options/ as shown. */
	CHECK(machine_option_get(m, "engine-install-url", &sb));
	CHECK_STR(strbuf_str(&sb), "https://****@get.example/install.sh\n");
	strbuf_reset(&sb);

	/* error. */
	pthread_mutex_lock(&m->lock);
	snprintf(m->error, sizeof(m->error), "cannot install docker: %s: exit status 22", URL);
	pthread_mutex_unlock(&m->lock);
	render_error(m, &sb);
	CHECK(strstr(strbuf_str(&sb), PASS) == NULL && strstr(strbuf_str(&sb), "****"));
	strbuf_reset(&sb);

	/* config.json after a create. */
	CHECK(machine_set_driver(m, "none", err) == 0);
	render_config_json(m, &sb);
	CHECK(strstr(strbuf_str(&sb), "\"InstallURL\": \"https://****@get.example/install.sh\"") != NULL);
	CHECK(strstr(strbuf_str(&sb), PASS) == NULL);
	strbuf_reset(&sb);

	/* After a remount: the secrets come from the store again. */
	machine_put(m);
	store_close(s);
	CHECK(store_open(root, &s, err) == 0);
	m = store_get(s, "m");
	CHECK(m != NULL);
	if (m) {
		machine_log(m, "again %s", URL);
		CHECK(read_file(path, &sb, err) == 0);
		CHECK(strstr(strbuf_str(&sb), PASS) == NULL);
		strbuf_reset(&sb);
		render_config_json(m, &sb);
		CHECK(strstr(strbuf_str(&sb), PASS) == NULL);
		machine_put(m);
	}
	store_close(s);
	strbuf_release(&sb);
	return test_report();
}
