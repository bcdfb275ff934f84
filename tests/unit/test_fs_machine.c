/* fs/machine.c, the room at the base of the core: the driver wrappers
 * (missing driver or method: -ENOTSUP with a message; failures logged)
 * and the MACHINEFS_FAULTS test hook (fail, fail:N, per name). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/core.h"
#include "lib/fileutil.h"
#include "tests/unit/harness.h"

static void test_faults(struct machine *m)
{
	char err[ERR_MAX];
	setenv("MACHINEFS_FAULTS", "x=fail:2,y=fail,provision.hostname=fail:1", 1);
	CHECK(machine_fault(m, "x", err) == -EIO);
	CHECK_STR(err, "injected fault in 'x'");
	CHECK(machine_fault(m, "x", err) == -EIO);
	CHECK(machine_fault(m, "x", err) == 0);
	for (int i = 0; i < 3; i++)
		CHECK(machine_fault(m, "y", err) == -EIO);
	CHECK(machine_fault(m, "z", err) == 0);
	CHECK(machine_fault(m, "provision", err) == 0);
	CHECK(machine_fault(m, "provision.hostname", err) == -EIO);
	CHECK(machine_fault(m, "provision.hostname", err) == 0);
	unsetenv("MACHINEFS_FAULTS");
	CHECK(machine_fault(m, "y", err) == 0);
}

static void test_wrappers(struct machine *m)
{
	struct driver_ctx ctx;
	char url[256];
	enum machine_state st;

	pthread_mutex_lock(&m->lock);
	machine_driver_ctx(m, &ctx);
	CHECK(machine_drv_call(m, &ctx, "start") == -ENOTSUP);
	CHECK_STR(ctx.err, "machine 'w' has no driver");
	CHECK(machine_drv_url(m, &ctx, url, sizeof(url)) == -ENOTSUP);
	CHECK_STR(url, "");

	snprintf(m->driver_name, sizeof(m->driver_name), "nosuch");
	machine_bind_driver(m);
	CHECK(machine_drv_state(m, &ctx, &st) == -ENOTSUP);
	CHECK_STR(ctx.err, "driver 'nosuch' is not compiled into machinefs");

	snprintf(m->driver_name, sizeof(m->driver_name), "generic");
	machine_bind_driver(m);
	machine_driver_ctx(m, &ctx);
	CHECK(!machine_drv_has(m, "start"));
	CHECK(machine_drv_has(m, "create"));
	CHECK(machine_drv_call(m, &ctx, "start") == -ENOTSUP);
	CHECK_STR(ctx.err, "generic driver does not support start"); /* its own words */
	CHECK(machine_drv_call(m, &ctx, "frobnicate") == -ENOTSUP);
	/* No address yet: the driver's url() fails. */
	CHECK(machine_drv_url(m, &ctx, url, sizeof(url)) < 0);
	snprintf(m->base->ip, sizeof(m->base->ip), "10.213.81.2"); /* thawed by machine_driver_ctx */
	CHECK(machine_drv_url(m, &ctx, url, sizeof(url)) == 0);
	CHECK_STR(url, "tcp://10.213.81.2:2376");
	setenv("MACHINEFS_FAULTS", "url=fail:1,ssh_host=fail", 1);
	CHECK(machine_drv_url(m, &ctx, url, sizeof(url)) == -EIO);
	CHECK_STR(url, "");
	CHECK_STR(ctx.err, "injected fault in 'url'");
	CHECK(machine_drv_url(m, &ctx, url, sizeof(url)) == 0);
	char host[64];
	machine_drv_ssh_host(m, &ctx, host, sizeof(host));
	CHECK_STR(host, "10.213.81.2");
	unsetenv("MACHINEFS_FAULTS");
	pthread_mutex_unlock(&m->lock);

	char path[4200];
	struct strbuf log = STRBUF_INIT;
	machine_log_path(m, path, sizeof(path));
	CHECK(read_file(path, &log, NULL) == 0);
	CHECK(strstr(log.buf, "driver generic: start failed: generic driver does not support start") != NULL);
	CHECK(strstr(log.buf, "injected fault in 'url'") != NULL);
	strbuf_release(&log);
}

int main(void)
{
	char root[4096], err[ERR_MAX];
	snprintf(root, sizeof(root), "%s/machine", test_tmpdir());
	struct store *s;
	CHECK(store_open(root, &s, err) == 0);
	CHECK(store_mkdir(s, "w", err) == 0);
	struct machine *m = store_get(s, "w");
	test_faults(m);
	test_wrappers(m);
	machine_put(m);
	store_close(s);
	return test_report();
}
