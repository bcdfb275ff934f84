/* Running VBoxManage and reading its answers, for the virtualbox driver.
 * Docker Machine's drivers/virtualbox/vbm.go and network.go, in C. */
#ifndef MFS_VBOXMANAGE_H
#define MFS_VBOXMANAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "drivers/driver.h"
#include "lib/strbuf.h"

/* The VBoxManage to run: found on PATH, else in $VBOX_INSTALL_PATH or
 * $VBOX_MSI_INSTALL_PATH. -ENOENT with a message when none is there. */
int vbm_find(char *path, size_t len, char *err);

/* Run VBoxManage with the NULL-terminated argv (without argv[0]), killed
 * past MACHINEFS_VBOXMANAGE_TIMEOUT seconds (300; -ETIMEDOUT) or when
 * ctx->cancel is set (-EINTR).
 * out/errout (may be NULL) get stdout and stderr. Each call is logged to
 * the machine's log. Fails (-EIO, "VBoxManage ARGS failed: LAST STDERR
 * LINE" in ctx->err) on a non-zero exit or, as Docker Machine does, on
 * "error:" in stderr. */
int vbm_run(struct driver_ctx *ctx, struct strbuf *out, struct strbuf *errout,
	    const char *const *argv);

/* The value of KEY in `showvminfo --machinereadable` output: lines
 * key="value", "key"="value" or key=value. false when absent. */
bool vbm_info_get(const char *info, const char *key, char *val, size_t len);

/* VMState of showvminfo mapped as Docker Machine does: running Running,
 * paused Paused, saved Saved, poweroff and aborted Stopped, else None. */
enum machine_state vbm_state_of(const char *vmstate);

/* One host-only adapter of `list hostonlyifs`. */
struct vbm_hostonly {
	char name[64];
	char ip[64];
	char mask[64];
	char netname[128]; /* VBoxNetworkName: HostInterfaceNetworking-NAME */
	bool dhcp;
};

/* One DHCP server of `list dhcpservers`. */
struct vbm_dhcp {
	char netname[128];
	char ip[64];
	char mask[64];
	char lower[64];
	char upper[64];
	bool enabled;
};

/* Parse the lists (blocks of "Key:   value" lines). Return how many were
 * found (at most max), or -EINVAL with a message in err (two adapters
 * with the same name or the same address, as Docker Machine refuses). */
int vbm_parse_hostonlyifs(const char *out, struct vbm_hostonly *v, int max, char *err);
int vbm_parse_dhcpservers(const char *out, struct vbm_dhcp *v, int max);

#endif
