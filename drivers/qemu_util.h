/* The qemu driver's host side: the guest image, the KVM probe, free
 * ports, the SSH key and disk, and the QEMU process (boot detached,
 * alive?, kill). Internal to drivers/qemu.c. All return 0 or -errno with
 * a message in err (ERR_MAX bytes). */
#ifndef MFS_QEMU_UTIL_H
#define MFS_QEMU_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#define QEMU_GUEST_DEFAULT "/var/cache/machinefs/guest"
#define QEMU_MIN_MEMORY 512

/* $MACHINEFS_GUEST_CACHE, else QEMU_GUEST_DEFAULT. */
const char *qemu_guest_default(void);

/* What to boot from a qemu-boot-image path: a folder with vmlinux (else
 * vmlinuz) and initrd (initrd.zst below 1 GiB), or an ISO file. */
struct qemu_image {
	char kernel[4096]; /* "" for an ISO */
	char initrd[4096];
	char iso[4096];    /* "" for a kernel */
	bool ramfs;        /* rootfstype=ramfs on the command line */
};
int qemu_image_find(const char *path, int memory_mb, struct qemu_image *img, char *err);

/* qemu-system-x86_64, qemu-img and ssh-keygen are on PATH. */
int qemu_tools_check(char *err);

/* KVM runs a guest here: a tiny vCPU reaches HLT through KVM_RUN (in a
 * child process, 3 s at most), then kernel (-cpu host) prints its first
 * line on the serial console within 5 s (a file in dir, removed after).
 * No kernel (an ISO image): false. Probed once per process. */
bool qemu_kvm_works(const char *kernel, const char *dir);

/* n distinct free TCP ports on 127.0.0.1. */
int qemu_free_ports(int *ports, int n, char *err);
/* A new ed25519 key at path (and path.pub), replacing any. */
int qemu_ssh_keygen(const char *path, const char *name, char *err);
/* A new qcow2 disk of size_mb at path, replacing any. */
int qemu_img_create(const char *path, int size_mb, char *err);

struct qemu_vm {
	const char *name, *dir, *boot_image, *accel, *key_path;
	int memory, cpus, ssh_port, engine_port, engine_listen_port;
	bool no_engine; /* machinefs.docker=0: provisioning starts it */
};
/* Start QEMU detached (-daemonize): pid, QMP socket, serial console and
 * QEMU's stderr in dir (qemu.pid, qmp.sock, serial.log, qemu.log). */
int qemu_vm_boot(const struct qemu_vm *vm, char *err);
/* The QEMU of dir's qemu.pid is running. */
bool qemu_vm_alive(const char *dir);
/* QMP quit, then SIGKILL; waits until the process is gone; cleans up. */
int qemu_vm_kill(const char *dir, char *err);
/* Remove the pidfile and QMP socket of a VM that is gone. */
void qemu_vm_cleanup(const char *dir);
/* QEMU's last stderr line or the console's last line (static buffer). */
const char *qemu_vm_last_words(const char *dir);

long long qemu_now_ms(void);

#endif
