/* The qemu driver without QEMU: QMP against a fake server, the boot
 * image lookup, free ports, the pidfile check and option validation. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "drivers/driver.h"
#include "drivers/qemu_util.h"
#include "drivers/qmp.h"
#include "lib/err.h"
#include "harness.h"

static char sock_path[PATH_MAX];
static int listen_fd;

static void say(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		perror("write");
}

/* Reads one line into buf; 0 at EOF. */
static int read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;
	while (n + 1 < len) {
		char c;
		if (read(fd, &c, 1) != 1)
			return 0;
		if (c == '\n')
			break;
		buf[n++] = c;
	}
	buf[n] = '\0';
	return 1;
}

/* A QMP server for n connections: greeting, capabilities, one command. */
static void *fake_qmp(void *arg)
{
	int n = *(int *)arg;
	for (int i = 0; i < n; i++) {
		int fd = accept(listen_fd, NULL, NULL);
		if (fd < 0)
			break;
		char line[512];
		say(fd, "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n");
		while (read_line(fd, line, sizeof(line))) {
			if (strstr(line, "qmp_capabilities")) {
				say(fd, "{\"return\": {}}\r\n");
			} else if (strstr(line, "query-status")) {
				say(fd, "{\"timestamp\": {}, \"event\": \"STOP\"}\r\n");
				say(fd, "{\"return\": {\"status\": \"paused\", \"running\": false}}\r\n");
			} else if (strstr(line, "system_powerdown")) {
				say(fd, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no power button\"}}\r\n");
			} else if (strstr(line, "quit")) {
				break; /* QEMU exits: the connection closes */
			}
		}
		close(fd);
	}
	return NULL;
}

static void test_qmp(void)
{
	char err[ERR_MAX], status[32];
	snprintf(sock_path, sizeof(sock_path), "%s/qmp.sock", test_tmpdir());
	CHECK(qmp_status(sock_path, status, sizeof(status), 1000, err) == -ENOENT);
	CHECK(strstr(err, "qmp.sock") != NULL);

	struct sockaddr_un a = { .sun_family = AF_UNIX };
	CHECK(snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path) < (int)sizeof(a.sun_path));
	listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(listen(listen_fd, 4) == 0);
	int n = 3;
	pthread_t th;
	pthread_create(&th, NULL, fake_qmp, &n);

	CHECK(qmp_status(sock_path, status, sizeof(status), 2000, err) == 0);
	CHECK_STR(status, "paused");
	CHECK(qmp_execute(sock_path, "system_powerdown", NULL, 0, 2000, err) == -EIO);
	CHECK_STR(err, "qmp: no power button");
	CHECK(qmp_execute(sock_path, "quit", NULL, 0, 2000, err) == 0);
	pthread_join(th, NULL);
	close(listen_fd);
	unlink(sock_path);
}

static void touch(const char *dir, const char *name)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	fputs("x", f);
	fclose(f);
}

static void test_image(void)
{
	char dir[PATH_MAX], err[ERR_MAX];
	struct qemu_image img;
	snprintf(dir, sizeof(dir), "%s/guest", test_tmpdir());
	CHECK(qemu_image_find(dir, 1024, &img, err) == -ENOENT);
	CHECK(strstr(err, "tools/guest-image/build.sh") != NULL);
	CHECK(mkdir(dir, 0755) == 0);
	CHECK(qemu_image_find(dir, 1024, &img, err) == -ENOENT);
	touch(dir, "vmlinux");
	touch(dir, "initrd");
	CHECK(qemu_image_find(dir, 1024, &img, err) == 0);
	CHECK(strstr(img.initrd, "/initrd") && !img.ramfs && !*img.iso);
	CHECK(qemu_image_find(dir, 768, &img, err) == 0);
	CHECK(img.ramfs);
	CHECK(qemu_image_find(dir, 512, &img, err) == -EINVAL);
	touch(dir, "initrd.zst");
	CHECK(qemu_image_find(dir, 512, &img, err) == 0);
	CHECK(strstr(img.initrd, "initrd.zst") && img.ramfs);
	char iso[PATH_MAX + 16];
	snprintf(iso, sizeof(iso), "%s/vmlinux", dir);
	CHECK(qemu_image_find(iso, 1024, &img, err) == 0);
	CHECK_STR(img.iso, iso);
}

static void test_ports_and_pid(void)
{
	int ports[2];
	char err[ERR_MAX], dir[PATH_MAX];
	CHECK(qemu_free_ports(ports, 2, err) == 0);
	CHECK(ports[0] > 0 && ports[1] > 0 && ports[0] != ports[1]);
	snprintf(dir, sizeof(dir), "%s/vm", test_tmpdir());
	CHECK(mkdir(dir, 0755) == 0);
	CHECK(!qemu_vm_alive(dir));
	/* A pidfile naming a live process that is not QEMU. */
	char p[PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/qemu.pid", dir);
	FILE *f = fopen(p, "w");
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	CHECK(!qemu_vm_alive(dir));
	CHECK(qemu_vm_kill(dir, err) == 0);
	CHECK(access(p, F_OK) < 0); /* cleaned up */
}

/* configure with one option set: its return and message. */
static int configure_with(const char *name, const char *value, char *err)
{
	const struct machine_driver *d = driver_find("qemu");
	struct option_set os = { 0 };
	struct base_driver base = { 0 };
	static char priv[65536];
	memset(priv, 0, sizeof(priv));
	option_set_put(&os, name, value);
	struct driver_ctx ctx = {
		.machine = "m", .store = test_tmpdir(), .dir = test_tmpdir(),
		.base = &base, .priv = priv, .opts = &os,
	};
	int rc = d->configure(&ctx);
	snprintf(err, ERR_MAX, "%s", ctx.err);
	option_set_clear(&os);
	return rc;
}

static void test_configure(void)
{
	char err[ERR_MAX];
	CHECK(driver_find("qemu") != NULL);
	CHECK(driver_find("qemu")->priv_size <= 65536);
	CHECK(configure_with("qemu-memory", "2048", err) == 0);
	CHECK(configure_with("qemu-memory", "0", err) == -EINVAL);
	CHECK(strstr(err, "invalid qemu-memory 0") != NULL);
	CHECK(configure_with("qemu-memory", "lots", err) == -EINVAL);
	CHECK(configure_with("qemu-cpu-count", "0", err) == -EINVAL);
	CHECK(configure_with("qemu-disk-size", "1", err) == -EINVAL);
	CHECK(configure_with("qemu-accel", "warp", err) == -EINVAL);
	CHECK_STR(err, "unknown qemu-accel 'warp': want auto, kvm or tcg");
	CHECK(configure_with("qemu-accel", "tcg", err) == 0);
}

int main(void)
{
	test_qmp();
	test_image();
	test_ports_and_pid();
	test_configure();
	return test_report();
}
