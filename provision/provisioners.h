/* The provisioners: which operating systems we provision and how their
 * package manager is driven (reference §4's table). The init system is
 * not tied to the OS: it is detected on the host (see engine_service.h). */
#ifndef MFS_PROVISIONERS_H
#define MFS_PROVISIONERS_H

#include <stdbool.h>

#include "lib/strbuf.h"
#include "provision/osrelease.h"

/* PKG_NONE: boot2docker-like hosts, no package manager we drive. */
enum pkg_manager { PKG_APT, PKG_YUM, PKG_DNF, PKG_PACMAN, PKG_ZYPPER, PKG_NONE };

/* One const entry per provisioner, in a static table. */
struct provisioner {
	const char *name;          /* Docker Machine's String(): "debian" */
	enum pkg_manager pkg;
	int (*match)(const struct os_release *os);
	bool boot2docker;          /* engine via /var/lib/boot2docker/profile */
};

/* The provisioner for os: an exact ID match first (as Docker Machine),
 * then an ID_LIKE match (derivatives such as raspbian or rocky).
 * NULL and -ENOTSUP in err when none fits:
 *   unknown operating system 'ID' (PRETTY_NAME): no provisioner for it */
const struct provisioner *provisioner_find(const struct os_release *os,
					   char *err);

/* Append a shell command installing the space-separated packages
 * (PKG_NONE: a command that fails saying so). */
void provisioner_install_cmd(const struct provisioner *p, const char *pkgs,
			     struct strbuf *cmd);

/* Append a shell command upgrading those of the space-separated packages
 * that are installed (none installed: the command exits 3). */
void provisioner_upgrade_cmd(const struct provisioner *p, const char *pkgs,
			     struct strbuf *cmd);

#endif
