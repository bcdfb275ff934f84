/* The virtualbox driver's VBoxManage parsers, on answers in the shape
 * VirtualBox 7.0 prints (showvminfo --machinereadable, list hostonlyifs,
 * list dhcpservers), and the VBoxManage lookup. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drivers/driver.h"
#include "drivers/vboxmanage.h"
#include "lib/err.h"
#include "lib/fileutil.h"
#include "lib/strbuf.h"
#include "harness.h"

static const char vminfo[] =
	"name=\"default\"\n"
	"groups=\"/\"\n"
	"memory=1024\n"
	"VMState=\"running\"\n"
	"VMStateChangeTime=\"2026-11-28T04:00:00.000000000\"\n"
	"\"SATA-0-0\"=\"/home/u/.docker/machine/machines/default/boot2docker.iso\"\n"
	"natnet1=\"nat\"\n"
	"macaddress1=\"080027C0FF01\"\n"
	"nic1=\"nat\"\n"
	"Forwarding(0)=\"ssh,tcp,127.0.0.1,40022,,22\"\n"
	"hostonlyadapter2=\"vboxnet0\"\r\n"
	"macaddress2=\"080027AB02EF\"\n"
	"nic2=\"hostonly\"\n"
	"description=\"a=b\"";

static void test_info(void)
{
	char v[256];
	CHECK(vbm_info_get(vminfo, "VMState", v, sizeof(v)));
	CHECK_STR(v, "running");
	CHECK(vbm_info_get(vminfo, "memory", v, sizeof(v)));
	CHECK_STR(v, "1024");
	CHECK(vbm_info_get(vminfo, "SATA-0-0", v, sizeof(v)));
	CHECK_STR(v, "/home/u/.docker/machine/machines/default/boot2docker.iso");
	CHECK(vbm_info_get(vminfo, "Forwarding(0)", v, sizeof(v)));
	CHECK_STR(v, "ssh,tcp,127.0.0.1,40022,,22");
	CHECK(vbm_info_get(vminfo, "hostonlyadapter2", v, sizeof(v)));
	CHECK_STR(v, "vboxnet0");
	CHECK(vbm_info_get(vminfo, "description", v, sizeof(v)));
	CHECK_STR(v, "a=b");
	/* A prefix of a key is not the key. */
	CHECK(!vbm_info_get(vminfo, "VMStateChange", v, sizeof(v)));
	CHECK(!vbm_info_get(vminfo, "VM", v, sizeof(v)));
	CHECK(!vbm_info_get(vminfo, "hostonlyadapter1", v, sizeof(v)));
	CHECK(!vbm_info_get("", "VMState", v, sizeof(v)));
}

static void test_states(void)
{
	CHECK(vbm_state_of("running") == MS_RUNNING);
	CHECK(vbm_state_of("paused") == MS_PAUSED);
	CHECK(vbm_state_of("saved") == MS_SAVED);
	CHECK(vbm_state_of("poweroff") == MS_STOPPED);
	CHECK(vbm_state_of("aborted") == MS_STOPPED);
	CHECK(vbm_state_of("starting") == MS_NONE);
	CHECK(vbm_state_of("gurumeditation") == MS_NONE);
	CHECK(vbm_state_of("") == MS_NONE);
}

static const char hostonly[] =
	"Name:            vboxnet0\n"
	"GUID:            786f6276-656e-4074-8000-0a0027000000\n"
	"DHCP:            Disabled\n"
	"IPAddress:       192.168.99.1\n"
	"NetworkMask:     255.255.255.0\n"
	"IPV6Address:     fe80::800:27ff:fe00:0\n"
	"IPV6NetworkMaskPrefixLength: 64\n"
	"HardwareAddress: 0a:00:27:00:00:00\n"
	"MediumType:      Ethernet\n"
	"Wireless:        No\n"
	"Status:          Up\n"
	"VBoxNetworkName: HostInterfaceNetworking-vboxnet0\n"
	"\n"
	"Name:            vboxnet1\n"
	"GUID:            786f6276-656e-4174-8000-0a0027000001\n"
	"DHCP:            Enabled\n"
	"IPAddress:       192.168.56.1\n"
	"NetworkMask:     255.255.255.0\n"
	"VBoxNetworkName: HostInterfaceNetworking-vboxnet1\n"
	"\n";

static void test_hostonly(void)
{
	struct vbm_hostonly v[4];
	char err[ERR_MAX] = "";
	int n = vbm_parse_hostonlyifs(hostonly, v, 4, err);
	CHECK(n == 2);
	CHECK_STR(v[0].name, "vboxnet0");
	CHECK_STR(v[0].ip, "192.168.99.1");
	CHECK_STR(v[0].mask, "255.255.255.0");
	CHECK_STR(v[0].netname, "HostInterfaceNetworking-vboxnet0");
	CHECK(!v[0].dhcp);
	CHECK_STR(v[1].name, "vboxnet1");
	CHECK(v[1].dhcp);
	CHECK(vbm_parse_hostonlyifs("", v, 4, err) == 0);

	/* Two adapters with one address: refused, as Docker Machine does. */
	char dup[sizeof(hostonly) + 64];
	snprintf(dup, sizeof(dup), "%s", hostonly);
	char *p = strstr(dup, "192.168.56.1");
	memcpy(p, "192.168.99.1", 12);
	CHECK(vbm_parse_hostonlyifs(dup, v, 4, err) == -EINVAL);
	CHECK_STR(err, "VirtualBox is configured with multiple host-only adapters with the same IP '192.168.99.1': remove one");
}

static void test_dhcp(void)
{
	static const char out[] =
		"NetworkName:    HostInterfaceNetworking-vboxnet0\n"
		"IP:             192.168.99.8\n"
		"NetworkMask:    255.255.255.0\n"
		"lowerIPAddress: 192.168.99.100\n"
		"upperIPAddress: 192.168.99.254\n"
		"Enabled:        Yes\n"
		"\n"
		"NetworkName:    HostInterfaceNetworking-vboxnet9\n"
		"IP:             192.168.59.3\n"
		"NetworkMask:    255.255.255.0\n"
		"lowerIPAddress: 192.168.59.100\n"
		"upperIPAddress: 192.168.59.254\n"
		"Enabled:        No\n"
		"\n";
	struct vbm_dhcp v[4];
	CHECK(vbm_parse_dhcpservers(out, v, 4) == 2);
	CHECK_STR(v[0].netname, "HostInterfaceNetworking-vboxnet0");
	CHECK_STR(v[0].ip, "192.168.99.8");
	CHECK_STR(v[0].mask, "255.255.255.0");
	CHECK_STR(v[0].lower, "192.168.99.100");
	CHECK_STR(v[0].upper, "192.168.99.254");
	CHECK(v[0].enabled);
	CHECK_STR(v[1].netname, "HostInterfaceNetworking-vboxnet9");
	CHECK(!v[1].enabled);
	CHECK(vbm_parse_dhcpservers(out, v, 1) == 1);
}

static void test_find(void)
{
	const char *dir = test_tmpdir();
	char bin[PATH_MAX], path[PATH_MAX + 16], got[PATH_MAX + 16], err[ERR_MAX];
	snprintf(bin, sizeof(bin), "%s/vbox", dir);
	mkdir(bin, 0755);
	snprintf(path, sizeof(path), "%s/VBoxManage", bin);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("#!/bin/sh\n", f);
		fclose(f);
	}
	chmod(path, 0755);
	char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	setenv("PATH", "/nonexistent", 1);
	unsetenv("VBOX_MSI_INSTALL_PATH");
	setenv("VBOX_INSTALL_PATH", bin, 1);
	CHECK(vbm_find(got, sizeof(got), err) == 0);
	CHECK_STR(got, path);
	unsetenv("VBOX_INSTALL_PATH");
	CHECK(vbm_find(got, sizeof(got), err) == -ENOENT);
	CHECK_STR(err, "VBoxManage not found: install VirtualBox or put VBoxManage on PATH");
	setenv("PATH", bin, 1);
	CHECK(vbm_find(got, sizeof(got), err) == 0);
	if (old) {
		setenv("PATH", old, 1);
		free(old);
	}
}

/* A VBoxManage that hangs: killed at the deadline, or on cancel. */
static volatile int cancel_flag;

static void *cancel_later(void *arg)
{
	const char *pidfile = arg;
	for (int i = 0; i < 500 && access(pidfile, F_OK); i++)
		nanosleep(&(struct timespec){ 0, 10000000L }, NULL);
	__atomic_store_n(&cancel_flag, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void test_hang(void)
{
	char bin[PATH_MAX], path[PATH_MAX + 16], pidfile[PATH_MAX + 16];
	snprintf(bin, sizeof(bin), "%s/hang", test_tmpdir());
	mkdir(bin, 0755);
	snprintf(path, sizeof(path), "%s/VBoxManage", bin);
	snprintf(pidfile, sizeof(pidfile), "%s/pid", bin);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fprintf(f, "#!/bin/sh\necho $$ > '%s.tmp' && mv '%s.tmp' '%s'\nexec sleep 600\n",
		pidfile, pidfile, pidfile);
	fclose(f);
	chmod(path, 0755);
	char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	char path_env[PATH_MAX + 32];
	snprintf(path_env, sizeof(path_env), "%s:/usr/bin:/bin", bin);
	setenv("PATH", path_env, 1);
	setenv("MACHINEFS_VBOXMANAGE_TIMEOUT", "1", 1);
	struct driver_ctx ctx = { .machine = "vb" };
	const char *argv[] = { "list", "vms", NULL };
	CHECK(vbm_run(&ctx, NULL, NULL, argv) == -ETIMEDOUT);
	CHECK(strstr(ctx.err, "did not finish within 1 s") != NULL);
	struct strbuf sb = STRBUF_INIT;
	CHECK(read_file(pidfile, &sb, NULL) == 0);
	long pid = strtol(strbuf_str(&sb), NULL, 10);
	CHECK(pid > 0 && kill((pid_t)pid, 0) != 0); /* killed and reaped */
	strbuf_release(&sb);
	unlink(pidfile);

	/* Cancel ends it long before the deadline. */
	setenv("MACHINEFS_VBOXMANAGE_TIMEOUT", "600", 1);
	ctx.cancel = &cancel_flag;
	pthread_t t;
	pthread_create(&t, NULL, cancel_later, pidfile);
	CHECK(vbm_run(&ctx, NULL, NULL, argv) == -EINTR);
	pthread_join(t, NULL);
	unsetenv("MACHINEFS_VBOXMANAGE_TIMEOUT");
	if (old) {
		setenv("PATH", old, 1);
		free(old);
	}
}

int main(void)
{
	test_info();
	test_states();
	test_hostonly();
	test_dhcp();
	test_find();
	test_hang();
	return test_report();
}
