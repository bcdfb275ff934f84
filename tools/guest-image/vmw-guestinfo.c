/* vmw-guestinfo: print one guestinfo.* value of the VMware VM this runs in.
 *
 *   vmw-guestinfo guestinfo.NAME
 *
 * A host-side setting `guestinfo.NAME` (vSphere extraConfig, a .vmx line,
 * `vmrun writeVariable VMX guestVar NAME VALUE`) is read with the GuestRPC
 * command "info-get guestinfo.NAME" sent over VMware's "backdoor" I/O port
 * (0x5658, magic "VMXh"), the RPCI channel of the low-bandwidth protocol
 * that VMware Tools also use (4 bytes per exchange: the values read here are
 * small). The reply is "1 VALUE" (found) or "0 ..." (not set).
 *
 * Exit status: 0 the value was printed on stdout (as is: the caller
 * validates it); 1 no such value; 2 not running on VMware (no "VMwareVMware"
 * CPUID signature: nothing is tried); 3 the RPC failed; 4 the value is
 * longer than MAX_REPLY; 5 VMware's signature but the backdoor does not
 * answer (the in instruction faults, e.g. the backdoor is closed to user
 * space); 64 usage.
 *
 * Never met a real VMware (see tools/guest-image/README.md): QEMU emulates
 * no GuestRPC. x86-64 only (the guest image is). Built by build.sh. */
#define _POSIX_C_SOURCE 200809L
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BDOOR_MAGIC 0x564D5868u
#define BDOOR_PORT 0x5658u
#define CMD_GETVERSION 10u
#define CMD_MESSAGE 0x1Eu
/* message types (ECX high half) */
#define MSG_OPEN 0u
#define MSG_SENDSIZE 1u
#define MSG_SENDPAYLOAD 2u
#define MSG_RECVSIZE 3u
#define MSG_RECVPAYLOAD 4u
#define MSG_RECVSTATUS 5u
#define MSG_CLOSE 6u
/* status bits (ECX high half of the answer) */
#define ST_SUCCESS 0x0001u
#define ST_DORECV 0x0002u
#define RPCI_PROTO 0x49435052u /* "RPCI" */
#define FLAG_COOKIE 0x80000000u
#define MAX_REPLY 65536u

struct regs {
	uint32_t ax, bx, cx, dx, si, di;
};

static sigjmp_buf fault;

static void on_fault(int sig)
{
	(void)sig;
	siglongjmp(fault, 1);
}

#ifdef VMW_GUESTINFO_TEST
/* tests/fixtures/vmw_fakehost.c: a simulated host in their place */
static void bdoor(struct regs *r);
static int on_vmware(void);
#else
static void bdoor(struct regs *r)
{
	__asm__ __volatile__("inl %%dx, %%eax"
			     : "+a"(r->ax), "+b"(r->bx), "+c"(r->cx), "+d"(r->dx), "+S"(r->si), "+D"(r->di)
			     :
			     : "memory");
}

/* The hypervisor's CPUID signature (leaf 0x40000000), when CPUID.1:ECX.31
 * says there is one. */
static int on_vmware(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 31)))
		return 0;
	__cpuid(0x40000000, a, b, c, d);
	char sig[13];
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = '\0';
	return !strcmp(sig, "VMwareVMware");
}
#endif

struct chan {
	uint32_t id, c1, c2;
};

static int msg(const struct chan *ch, uint32_t type, uint32_t bx, struct regs *out)
{
	struct regs r = { BDOOR_MAGIC, bx, CMD_MESSAGE | type << 16, ch->id << 16 | BDOOR_PORT, ch->c1, ch->c2 };
	bdoor(&r);
	*out = r;
	return (r.cx >> 16 & ST_SUCCESS) ? 0 : -1;
}

static int chan_open(struct chan *ch)
{
	uint32_t flags[2] = { FLAG_COOKIE, 0 }; /* hosts older than cookies: without */
	for (int i = 0; i < 2; i++) {
		struct regs r = { BDOOR_MAGIC, RPCI_PROTO | flags[i], CMD_MESSAGE | MSG_OPEN << 16, BDOOR_PORT, 0, 0 };
		bdoor(&r);
		if (r.cx >> 16 & ST_SUCCESS) {
			ch->id = r.dx >> 16;
			ch->c1 = flags[i] ? r.si : 0;
			ch->c2 = flags[i] ? r.di : 0;
			return 0;
		}
	}
	return -1;
}

static void chan_close(const struct chan *ch)
{
	struct regs r;
	msg(ch, MSG_CLOSE, 0, &r);
}

/* Send cmd, receive the reply into a malloc'd buffer. */
static int rpc(const struct chan *ch, const char *cmd, char **reply, uint32_t *len)
{
	struct regs r;
	uint32_t n = (uint32_t)strlen(cmd);
	if (msg(ch, MSG_SENDSIZE, n, &r))
		return 3;
	for (uint32_t i = 0; i < n; i += 4) {
		uint32_t w = 0;
		memcpy(&w, cmd + i, n - i < 4 ? n - i : 4);
		if (msg(ch, MSG_SENDPAYLOAD, w, &r))
			return 3;
	}
	if (msg(ch, MSG_RECVSIZE, 0, &r))
		return 3;
	if (!(r.cx >> 16 & ST_DORECV)) {
		*reply = NULL;
		*len = 0;
		return 0;
	}
	if (r.dx >> 16 != MSG_SENDSIZE) /* what the host sends next */
		return 3;
	n = r.bx;
	if (n > MAX_REPLY + 2)
		return 4;
	char *buf = malloc(n + 4);
	if (!buf)
		return 3;
	for (uint32_t i = 0; i < n; i += 4) {
		if (msg(ch, MSG_RECVPAYLOAD, ST_SUCCESS, &r) || r.dx >> 16 != MSG_SENDPAYLOAD) {
			free(buf);
			return 3;
		}
		memcpy(buf + i, &r.bx, 4);
	}
	if (msg(ch, MSG_RECVSTATUS, ST_SUCCESS, &r)) {
		free(buf);
		return 3;
	}
	*reply = buf;
	*len = n;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2 || strncmp(argv[1], "guestinfo.", 10) || strlen(argv[1]) > 200 ||
	    strspn(argv[1], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(argv[1])) {
		fprintf(stderr, "usage: vmw-guestinfo guestinfo.NAME\n");
		return 64;
	}
	if (!on_vmware())
		return 2;
	/* With the backdoor closed to user space (or a hypervisor that only
	 * claims to be VMware) the in instruction faults: an answer, not a
	 * crash. */
	struct sigaction sa = { .sa_handler = on_fault };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	if (sigsetjmp(fault, 1))
		return 5;
	struct regs v = { BDOOR_MAGIC, ~BDOOR_MAGIC, CMD_GETVERSION, BDOOR_PORT, 0, 0 };
	bdoor(&v);
	if (v.bx != BDOOR_MAGIC || v.ax == 0xFFFFFFFFu)
		return 5;

	char cmd[256];
	snprintf(cmd, sizeof(cmd), "info-get %s", argv[1]);
	char *reply = NULL;
	uint32_t len = 0;
	int rc = 3;
	/* A failed exchange (e.g. a checkpoint of the VM in the middle) is
	 * tried once more on a new channel. */
	for (int attempt = 0; attempt < 2 && rc == 3; attempt++) {
		struct chan ch;
		if (chan_open(&ch))
			continue;
		rc = rpc(&ch, cmd, &reply, &len);
		chan_close(&ch);
	}
	if (rc)
		return rc;
	if (len < 2 || reply[0] != '1' || reply[1] != ' ') {
		free(reply);
		return 1; /* "0 No value found" */
	}
	if (len - 2 > MAX_REPLY) {
		free(reply);
		return 4;
	}
	size_t off = 2;
	while (off < len) {
		ssize_t w = write(STDOUT_FILENO, reply + off, len - off);
		if (w <= 0) {
			free(reply);
			return 3;
		}
		off += (size_t)w;
	}
	free(reply);
	return 0;
}
