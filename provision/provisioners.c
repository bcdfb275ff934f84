/* The provisioner table (reference §4) and package-manager commands. */
#include "provision/provisioners.h"

#include <errno.h>
#include <string.h>

#include "lib/err.h"

static int id_is(const struct os_release *os, const char *id)
{
	return !strcmp(os->id, id);
}

static int m_debian(const struct os_release *os) { return id_is(os, "debian"); }
static int m_centos(const struct os_release *os) { return id_is(os, "centos"); }
static int m_rhel(const struct os_release *os) { return id_is(os, "rhel"); }
static int m_fedora(const struct os_release *os) { return id_is(os, "fedora"); }
static int m_ol(const struct os_release *os) { return id_is(os, "ol"); }

/* boot2docker, and images made like it (the machinefs guest image:
 * ID=machinefs-guest, ID_LIKE=boot2docker). */
static int m_boot2docker(const struct os_release *os)
{
	return id_is(os, "boot2docker") || os_release_like(os, "boot2docker");
}

static int m_ubuntu_systemd(const struct os_release *os)
{
	return id_is(os, "ubuntu") && os_version_cmp(os->version_id, "15.04") >= 0;
}

static int m_ubuntu_upstart(const struct os_release *os)
{
	return id_is(os, "ubuntu") && os_version_cmp(os->version_id, "15.04") < 0;
}

static int m_arch(const struct os_release *os)
{
	return id_is(os, "arch") || os_release_like(os, "arch");
}

static int m_suse(const struct os_release *os)
{
	return strstr(os->id_like, "suse") != NULL;
}

/* Fallbacks on ID_LIKE, tried after every exact match. */
static int like_debian(const struct os_release *os)
{
	return os_release_like(os, "debian") || os_release_like(os, "ubuntu");
}

static int like_rhel(const struct os_release *os)
{
	return os_release_like(os, "rhel") || os_release_like(os, "centos") ||
	       os_release_like(os, "fedora");
}

static const struct provisioner table[] = {
	{ "boot2docker", PKG_NONE, m_boot2docker, true },
	{ "debian", PKG_APT, m_debian, false },
	{ "ubuntu(systemd)", PKG_APT, m_ubuntu_systemd, false },
	{ "ubuntu(upstart)", PKG_APT, m_ubuntu_upstart, false },
	{ "centos", PKG_YUM, m_centos, false },
	{ "redhat", PKG_YUM, m_rhel, false },
	{ "fedora", PKG_DNF, m_fedora, false },
	{ "ol", PKG_YUM, m_ol, false },
	{ "arch", PKG_PACMAN, m_arch, false },
	{ "SUSE", PKG_ZYPPER, m_suse, false },
	{ "debian", PKG_APT, like_debian, false },
	{ "redhat", PKG_YUM, like_rhel, false },
};

const struct provisioner *provisioner_find(const struct os_release *os,
					   char *err)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].match(os))
			return &table[i];
	error_set(err, ENOTSUP,
		  "unknown operating system '%s' (%s): no provisioner for it",
		  os->id, os->pretty_name[0] ? os->pretty_name : "no PRETTY_NAME");
	return NULL;
}

void provisioner_install_cmd(const struct provisioner *p, const char *pkgs,
			     struct strbuf *cmd)
{
	switch (p->pkg) {
	case PKG_APT:
		/* apt-get update is retried while another apt holds the lock. */
		strbuf_addf(cmd,
			    "i=0; until apt-get update -q; do i=$((i+1)); "
			    "[ $i -ge 5 ] && exit 1; sleep 3; done && "
			    "DEBIAN_FRONTEND=noninteractive apt-get install -y -q %s",
			    pkgs);
		break;
	case PKG_YUM:
	case PKG_DNF:
		strbuf_addf(cmd,
			    "if command -v dnf >/dev/null 2>&1; then dnf install -y %s; "
			    "else yum install -y %s; fi", pkgs, pkgs);
		break;
	case PKG_PACMAN:
		strbuf_addf(cmd, "pacman -Sy --noconfirm %s", pkgs);
		break;
	case PKG_ZYPPER:
		strbuf_addf(cmd, "zypper -n in %s", pkgs);
		break;
	case PKG_NONE:
		strbuf_addf(cmd, "echo 'no package manager on a %s host' >&2; exit 1", p->name);
		break;
	}
}

void provisioner_upgrade_cmd(const struct provisioner *p, const char *pkgs,
			     struct strbuf *cmd)
{
	switch (p->pkg) {
	case PKG_APT:
		strbuf_addf(cmd,
			    "set -- ; for p in %s; do "
			    "dpkg-query -W -f='${Status}' \"$p\" 2>/dev/null | "
			    "grep -q 'install ok installed' && set -- \"$@\" \"$p\"; done; "
			    "[ $# -gt 0 ] || exit 3; "
			    "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get "
			    "install -y -q -o Dpkg::Options::=--force-confold --only-upgrade \"$@\"",
			    pkgs);
		break;
	case PKG_YUM:
	case PKG_DNF:
		strbuf_addf(cmd,
			    "set -- ; for p in %s; do rpm -q \"$p\" >/dev/null 2>&1 && "
			    "set -- \"$@\" \"$p\"; done; [ $# -gt 0 ] || exit 3; "
			    "if command -v dnf >/dev/null 2>&1; then dnf upgrade -y \"$@\"; "
			    "else yum upgrade -y \"$@\"; fi", pkgs);
		break;
	case PKG_PACMAN:
		strbuf_addf(cmd,
			    "set -- ; for p in %s; do pacman -Q \"$p\" >/dev/null 2>&1 && "
			    "set -- \"$@\" \"$p\"; done; [ $# -gt 0 ] || exit 3; "
			    "pacman -Sy --noconfirm \"$@\"", pkgs);
		break;
	case PKG_ZYPPER:
		strbuf_addf(cmd,
			    "set -- ; for p in %s; do rpm -q \"$p\" >/dev/null 2>&1 && "
			    "set -- \"$@\" \"$p\"; done; [ $# -gt 0 ] || exit 3; "
			    "zypper -n up \"$@\"", pkgs);
		break;
	case PKG_NONE:
		strbuf_addf(cmd, "echo 'no package manager on a %s host' >&2; exit 1", p->name);
		break;
	}
}
