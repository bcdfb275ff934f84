/* The qemu driver's host side: image lookup, KVM probe, ports, key,
 * disk, and the detached QEMU process. */
#include "drivers/qemu_util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "drivers/qmp.h"
#include "lib/err.h"
#include "lib/fence.h"
#include "lib/spawn.h"
#include "lib/fileutil.h"
#include "lib/strbuf.h"

long long qemu_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *qemu_guest_default(void)
{
	const char *c = getenv("MACHINEFS_GUEST_CACHE");
	return c && *c ? c : QEMU_GUEST_DEFAULT;
}

static bool is_file(const char *path)
{
	struct stat st;
	return !fence_check(path, NULL) && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       st.st_size > 0;
}

int qemu_image_find(const char *path, int memory_mb, struct qemu_image *img, char *err)
{
	struct stat st;
	memset(img, 0, sizeof(*img));
	int rc = fence_check(path, err);
	if (rc)
		return rc;
	if (stat(path, &st) < 0)
		return error_set(err, ENOENT,
				 "boot image '%s' does not exist: build it with tools/guest-image/build.sh "
				 "(see tools/guest-image/README.md) or set qemu-boot-image", path);
	if (S_ISREG(st.st_mode)) {
		snprintf(img->iso, sizeof(img->iso), "%s", path);
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return error_set(err, EINVAL, "boot image '%s' is neither a folder nor an ISO", path);
	snprintf(img->kernel, sizeof(img->kernel), "%s/vmlinux", path);
	if (!is_file(img->kernel))
		snprintf(img->kernel, sizeof(img->kernel), "%s/vmlinuz", path);
	char raw[4096], zst[4096];
	snprintf(raw, sizeof(raw), "%s/initrd", path);
	snprintf(zst, sizeof(zst), "%s/initrd.zst", path);
	/* The uncompressed initrd needs 1 GiB (768 MiB with ramfs); the
	 * zstd one boots in 512 MiB (tools/guest-image/README.md). */
	if (is_file(raw) && memory_mb >= 1024) {
		snprintf(img->initrd, sizeof(img->initrd), "%s", raw);
	} else if (is_file(zst)) {
		snprintf(img->initrd, sizeof(img->initrd), "%s", zst);
		img->ramfs = true;
	} else if (is_file(raw) && memory_mb >= 768) {
		snprintf(img->initrd, sizeof(img->initrd), "%s", raw);
		img->ramfs = true;
	} else if (is_file(raw)) {
		return error_set(err, EINVAL,
				 "boot image '%s' needs at least 768 MB of qemu-memory (no initrd.zst)", path);
	}
	if (!is_file(img->kernel) || !*img->initrd)
		return error_set(err, ENOENT,
				 "boot image '%s' has no vmlinux/vmlinuz and initrd: build it with "
				 "tools/guest-image/build.sh (see tools/guest-image/README.md)", path);
	return 0;
}

static bool on_path(const char *prog)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path; *p;) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);
		char full[PATH_MAX];
		snprintf(full, sizeof(full), "%.*s/%s", (int)n, p, prog);
		if (access(full, X_OK) == 0)
			return true;
		p = colon ? colon + 1 : p + n;
	}
	return false;
}

int qemu_tools_check(char *err)
{
	static const char *const tools[][2] = {
		{ "qemu-system-x86_64", "qemu-system-x86" },
		{ "qemu-img", "qemu-utils" },
		{ "ssh-keygen", "openssh-client" },
	};
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (!on_path(tools[i][0]))
			return error_set(err, ENOENT, "'%s' is not installed (Debian package %s)",
					 tools[i][0], tools[i][1]);
	return 0;
}

/* In a child: a real-mode vCPU runs HLT at 0x1000. Exit 0 on KVM_EXIT_HLT. */
static int kvm_probe_child(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0 || ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return 1;
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return 2;
	uint8_t *mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 3;
	mem[0] = 0xf4; /* hlt */
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0x1000, .memory_size = 0x1000,
		.userspace_addr = (uint64_t)(uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return 4;
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	int sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || sz <= 0)
		return 5;
	struct kvm_run *run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return 6;
	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return 7;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return 8;
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 0x2 };
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return 9;
	if (ioctl(vcpu, KVM_RUN, 0) < 0)
		return 10;
	return run->exit_reason == KVM_EXIT_HLT ? 0 : 11;
}

/* The kernel prints to the serial console within secs under KVM. */
static bool kvm_boots(const char *kernel, const char *dir, int secs)
{
	char serial[PATH_MAX], chr[PATH_MAX + 64];
	snprintf(serial, sizeof(serial), "%s/kvm-probe.log", dir);
	unlink(serial);
	snprintf(chr, sizeof(chr), "file:%s", serial);
	/* The kernel finds no root and panics; -no-reboot ends qemu then.
	 * A guest still running at the deadline is stopped. */
	const char *argv[] = { "qemu-system-x86_64", "-nodefaults", "-no-user-config",
			       "-accel", "kvm", "-cpu", "host", "-m", "128", "-display", "none",
			       "-no-reboot", "-kernel", kernel, "-append", "console=ttyS0 panic=-1",
			       "-serial", chr, NULL };
	struct spawn_req req = { .argv = argv, .timeout_ms = secs * 1000 };
	int rc = spawn_run(&req, NULL, NULL);
	bool ok = false;
	struct strbuf sb = STRBUF_INIT;
	if ((rc == 0 || rc == -ETIMEDOUT) && !read_file(serial, &sb, NULL) &&
	    strstr(strbuf_str(&sb), "Linux version"))
		ok = true;
	strbuf_release(&sb);
	unlink(serial);
	return ok;
}

bool qemu_kvm_works(const char *kernel, const char *dir)
{
	static int cached = -1; /* a benign race: two probes give the same answer */
	if (cached >= 0)
		return cached;
	if (access("/dev/kvm", R_OK | W_OK) < 0) {
		cached = 0;
		return false;
	}
	pid_t pid = fork();
	if (pid == 0) {
		alarm(3);
		_exit(kvm_probe_child());
	}
	int status = 0;
	bool ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		  WEXITSTATUS(status) == 0;
	/* KVM_RUN can work where a real guest does not (MSRs, CPUID):
	 * boot the kernel and wait for its first line. */
	if (ok)
		ok = kernel && *kernel && kvm_boots(kernel, dir, 5);
	cached = ok;
	return ok;
}

int qemu_free_ports(int *ports, int n, char *err)
{
	int fds[8], rc = 0;
	if (n > 8)
		return error_set(err, EINVAL, "too many ports");
	for (int i = 0; i < n; i++)
		fds[i] = -1;
	for (int i = 0; i < n && !rc; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t len = sizeof(a);
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    getsockname(fds[i], (struct sockaddr *)&a, &len) < 0)
			rc = error_errno(err, errno, "cannot find a free port on 127.0.0.1");
		else
			ports[i] = ntohs(a.sin_port);
	}
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}

/* Run argv with stdin /dev/null, stdout+stderr appended to log (or
 * discarded), and wait. 0 on exit status 0; else -EIO with the last line
 * of the log. */
static int run_prog(char *const argv[], const char *log, char *err)
{
	struct spawn_req req = { .argv = (const char *const *)argv, .log_path = log };
	int status = 0;
	int rc = spawn_run(&req, &status, err);
	if (rc)
		return rc;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	char last[400] = "";
	if (log) {
		struct strbuf sb = STRBUF_INIT;
		if (!read_file(log, &sb, NULL)) {
			strbuf_rtrim(&sb);
			const char *s = strbuf_str(&sb), *nl = strrchr(s, '\n');
			snprintf(last, sizeof(last), "%s", nl ? nl + 1 : s);
		}
		strbuf_release(&sb);
	}
	return error_set(err, EIO, "'%s' failed (status %d)%s%s", argv[0],
			 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
			 *last ? ": " : "", last);
}

int qemu_ssh_keygen(const char *path, const char *name, char *err)
{
	char pub[PATH_MAX + 8], comment[256];
	snprintf(pub, sizeof(pub), "%s.pub", path);
	snprintf(comment, sizeof(comment), "docker@%s", name);
	unlink(path);
	unlink(pub);
	char *argv[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment,
			 "-f", (char *)path, NULL };
	return run_prog(argv, NULL, err);
}

int qemu_img_create(const char *path, int size_mb, char *err)
{
	char size[32], log[PATH_MAX + 16];
	snprintf(size, sizeof(size), "%dM", size_mb);
	snprintf(log, sizeof(log), "%s.log", path);
	unlink(path);
	char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", (char *)path, size, NULL };
	int rc = run_prog(argv, log, err);
	unlink(log);
	return rc;
}

static void in_dir(const char *dir, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* QEMU's option syntax: a ',' in a value is written ",,". */
static void add_escaped(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (*s == ',')
			strbuf_addch(sb, ',');
		strbuf_addch(sb, *s);
	}
}

int qemu_vm_boot(const struct qemu_vm *vm, char *err)
{
	struct qemu_image img;
	int rc = qemu_image_find(vm->boot_image, vm->memory, &img, err);
	if (rc)
		return rc;
	char pidfile[PATH_MAX], sock[PATH_MAX], serial[PATH_MAX], log[PATH_MAX], disk[PATH_MAX];
	in_dir(vm->dir, "qemu.pid", pidfile, sizeof(pidfile));
	in_dir(vm->dir, "qmp.sock", sock, sizeof(sock));
	in_dir(vm->dir, "serial.log", serial, sizeof(serial));
	in_dir(vm->dir, "qemu.log", log, sizeof(log));
	in_dir(vm->dir, "disk.qcow2", disk, sizeof(disk));
	unlink(pidfile);
	unlink(sock);

	struct strbuf mem = STRBUF_INIT, smp = STRBUF_INIT, drive = STRBUF_INIT,
		      net = STRBUF_INIT, fwcfg = STRBUF_INIT, qmp = STRBUF_INIT,
		      chr = STRBUF_INIT, append = STRBUF_INIT, name = STRBUF_INIT;
	strbuf_addf(&mem, "%d", vm->memory);
	strbuf_addf(&smp, "%d", vm->cpus);
	strbuf_addstr(&drive, "file=");
	add_escaped(&drive, disk);
	strbuf_addstr(&drive, ",if=virtio,format=qcow2");
	strbuf_addf(&net, "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:%d-:22,"
		    "hostfwd=tcp:127.0.0.1:%d-:%d", vm->ssh_port, vm->engine_port,
		    vm->engine_listen_port);
	strbuf_addstr(&fwcfg, "name=opt/machinefs/authorized_keys,file=");
	add_escaped(&fwcfg, vm->key_path);
	strbuf_addstr(&fwcfg, ".pub");
	strbuf_addstr(&qmp, "unix:");
	add_escaped(&qmp, sock);
	strbuf_addstr(&qmp, ",server=on,wait=off");
	strbuf_addstr(&chr, "file,id=ser0,append=on,path=");
	add_escaped(&chr, serial);
	strbuf_addf(&append, "console=ttyS0 quiet machinefs.hostname=%s%s%s", vm->name,
		    img.ramfs ? " rootfstype=ramfs" : "", vm->no_engine ? " machinefs.docker=0" : "");
	strbuf_addf(&name, "machinefs-%s", vm->name);

	const char *argv[64];
	int n = 0;
	argv[n++] = "qemu-system-x86_64";
	argv[n++] = "-name";
	argv[n++] = name.buf;
	argv[n++] = "-nodefaults";
	argv[n++] = "-no-user-config";
	argv[n++] = "-accel";
	argv[n++] = vm->accel;
	if (!strcmp(vm->accel, "kvm")) {
		argv[n++] = "-cpu";
		argv[n++] = "host";
	}
	argv[n++] = "-m";
	argv[n++] = mem.buf;
	argv[n++] = "-smp";
	argv[n++] = smp.buf;
	if (*img.iso) {
		argv[n++] = "-cdrom";
		argv[n++] = img.iso;
		argv[n++] = "-boot";
		argv[n++] = "d";
	} else {
		argv[n++] = "-kernel";
		argv[n++] = img.kernel;
		argv[n++] = "-initrd";
		argv[n++] = img.initrd;
		argv[n++] = "-append";
		argv[n++] = append.buf;
	}
	argv[n++] = "-drive";
	argv[n++] = drive.buf;
	argv[n++] = "-netdev";
	argv[n++] = net.buf;
	argv[n++] = "-device";
	argv[n++] = "virtio-net-pci,netdev=n0";
	argv[n++] = "-device";
	argv[n++] = "virtio-rng-pci";
	argv[n++] = "-fw_cfg";
	argv[n++] = fwcfg.buf;
	argv[n++] = "-qmp";
	argv[n++] = qmp.buf;
	argv[n++] = "-chardev";
	argv[n++] = chr.buf;
	argv[n++] = "-serial";
	argv[n++] = "chardev:ser0";
	argv[n++] = "-display";
	argv[n++] = "none";
	argv[n++] = "-daemonize";
	argv[n++] = "-pidfile";
	argv[n++] = pidfile;
	argv[n] = NULL;

	/* QEMU's own messages go to qemu.log, with a line saying which boot. */
	int lfd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	FILE *f = lfd >= 0 ? fdopen(lfd, "a") : NULL;
	if (!f && lfd >= 0)
		close(lfd);
	if (f) {
		time_t t = time(NULL);
		char when[64];
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
		fprintf(f, "machinefs: %s boot:", when);
		for (int i = 0; i < n; i++)
			fprintf(f, " %s", argv[i]);
		fputc('\n', f);
		fclose(f);
	}
	rc = run_prog((char *const *)argv, log, err);
	if (rc) {
		char e[ERR_MAX];
		snprintf(e, sizeof(e), "%s", err);
		error_set(err, -rc, "cannot start qemu for '%s': %s", vm->name, e);
	}
	else if (!qemu_vm_alive(vm->dir))
		rc = error_set(err, EIO, "qemu for '%s' exited at once: %s", vm->name,
			       qemu_vm_last_words(vm->dir));
	strbuf_release(&mem);
	strbuf_release(&smp);
	strbuf_release(&drive);
	strbuf_release(&net);
	strbuf_release(&fwcfg);
	strbuf_release(&qmp);
	strbuf_release(&chr);
	strbuf_release(&append);
	strbuf_release(&name);
	return rc;
}

static pid_t vm_pid(const char *dir)
{
	char path[PATH_MAX], buf[32] = "";
	in_dir(dir, "qemu.pid", path, sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return 0;
	buf[r] = '\0';
	long pid = strtol(buf, NULL, 10);
	if (pid <= 0)
		return 0;
	/* A pid reused by another program is not our VM. */
	char cmdline[PATH_MAX], arg0[256] = "";
	snprintf(cmdline, sizeof(cmdline), "/proc/%ld/cmdline", pid);
	fd = open(cmdline, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	r = read(fd, arg0, sizeof(arg0) - 1);
	close(fd);
	if (r <= 0)
		return 0;
	arg0[r] = '\0';
	const char *base = strrchr(arg0, '/');
	if (strncmp(base ? base + 1 : arg0, "qemu-system", 11))
		return 0;
	return (pid_t)pid;
}

bool qemu_vm_alive(const char *dir)
{
	pid_t pid = vm_pid(dir);
	if (!pid || kill(pid, 0) < 0)
		return false;
	/* A zombie (our own child not yet reaped) is gone. */
	char path[64], buf[512] = "";
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (r > 0) {
			buf[r] = '\0';
			const char *p = strrchr(buf, ')');
			if (p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'))
				return false;
		}
	}
	return true;
}

void qemu_vm_cleanup(const char *dir)
{
	char path[PATH_MAX];
	if (qemu_vm_alive(dir))
		return;
	in_dir(dir, "qemu.pid", path, sizeof(path));
	unlink(path);
	in_dir(dir, "qmp.sock", path, sizeof(path));
	unlink(path);
}

static bool wait_dead(const char *dir, int ms)
{
	long long deadline = qemu_now_ms() + ms;
	while (qemu_vm_alive(dir)) {
		if (qemu_now_ms() >= deadline)
			return false;
		usleep(100 * 1000);
	}
	return true;
}

int qemu_vm_kill(const char *dir, char *err)
{
	pid_t pid = vm_pid(dir);
	if (!pid || !qemu_vm_alive(dir)) {
		qemu_vm_cleanup(dir);
		return 0;
	}
	char sock[PATH_MAX], e[ERR_MAX];
	in_dir(dir, "qmp.sock", sock, sizeof(sock));
	if (qmp_execute(sock, "quit", NULL, 0, 3000, e) || !wait_dead(dir, 5000)) {
		kill(pid, SIGKILL);
		if (!wait_dead(dir, 5000))
			return error_set(err, EIO, "qemu (pid %d) does not die", (int)pid);
	}
	qemu_vm_cleanup(dir);
	return 0;
}

const char *qemu_vm_last_words(const char *dir)
{
	static __thread char last[400];
	const char *files[] = { "qemu.log", "serial.log" };
	last[0] = '\0';
	for (int i = 0; i < 2 && !last[0]; i++) {
		char path[PATH_MAX];
		in_dir(dir, files[i], path, sizeof(path));
		struct strbuf sb = STRBUF_INIT;
		if (!read_file(path, &sb, NULL)) {
			strbuf_rtrim(&sb);
			const char *s = strbuf_str(&sb), *nl = strrchr(s, '\n');
			s = nl ? nl + 1 : s;
			if (strncmp(s, "machinefs: ", 11) || i == 1)
				snprintf(last, sizeof(last), "%s", s);
		}
		strbuf_release(&sb);
	}
	return last[0] ? last : "no message";
}
