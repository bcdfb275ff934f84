/* os-release parsing and provisioner matching (reference §4). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "lib/strbuf.h"
#include "provision/osrelease.h"
#include "provision/provisioners.h"
#include "tests/unit/harness.h"

static void test_debian(void)
{
	const char *text =
		"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
		"NAME=\"Debian GNU/Linux\"\n"
		"VERSION_ID=\"12\"\n"
		"VERSION=\"12 (bookworm)\"\n"
		"VERSION_CODENAME=bookworm\n"
		"ID=debian\n"
		"HOME_URL=\"https://www.debian.org/\"\n";
	struct os_release os;
	char err[ERR_MAX] = "";

	CHECK(os_release_parse(text, &os, err) == 0);
	CHECK_STR(os.id, "debian");
	CHECK_STR(os.version_id, "12");
	CHECK_STR(os.pretty_name, "Debian GNU/Linux 12 (bookworm)");
	CHECK_STR(os.id_like, "");
}

static void test_quotes_and_comments(void)
{
	const char *text =
		"# a comment line\n"
		"   # an indented comment\n"
		"\n"
		"ID='centos'\n"
		"ID_LIKE=\"rhel fedora\"\n"
		"  VERSION_ID=\"7\"   \n"
		"PRETTY_NAME=\"CentOS \\\"Linux\\\" 7\"\n"
		"NOT_ID=nope\n"
		"IDX=nope\n"
		"garbage line without equals\n";
	struct os_release os;
	char err[ERR_MAX] = "";

	CHECK(os_release_parse(text, &os, err) == 0);
	CHECK_STR(os.id, "centos");
	CHECK_STR(os.id_like, "rhel fedora");
	CHECK_STR(os.version_id, "7");
	CHECK_STR(os.pretty_name, "CentOS \"Linux\" 7");
	CHECK(os_release_like(&os, "rhel"));
	CHECK(os_release_like(&os, "fedora"));
	CHECK(!os_release_like(&os, "fed"));
	CHECK(!os_release_like(&os, "debian"));
}

static void test_unquoted_and_uppercase(void)
{
	struct os_release os;
	char err[ERR_MAX] = "";

	CHECK(os_release_parse("ID=Ubuntu # trailing comment\r\nVERSION_ID=14.04\n",
			       &os, err) == 0);
	CHECK_STR(os.id, "ubuntu");
	CHECK_STR(os.version_id, "14.04");
	/* The last line without a newline still counts. */
	CHECK(os_release_parse("NAME=x\nID=fedora", &os, err) == 0);
	CHECK_STR(os.id, "fedora");
}

static void test_no_id(void)
{
	struct os_release os;
	char err[ERR_MAX] = "";

	CHECK(os_release_parse("NAME=\"Something\"\n", &os, err) == -EINVAL);
	CHECK_STR(err, "cannot detect the operating system: no ID in /etc/os-release");
	CHECK(os_release_parse("", &os, err) == -EINVAL);
}

static void test_version_cmp(void)
{
	CHECK(os_version_cmp("15.04", "15.04") == 0);
	CHECK(os_version_cmp("14.10", "15.04") < 0);
	CHECK(os_version_cmp("16.04", "15.04") > 0);
	CHECK(os_version_cmp("15.10", "15.04") > 0);
	CHECK(os_version_cmp("9", "15.04") < 0);
	CHECK(os_version_cmp("15", "15.04") < 0);
	CHECK(os_version_cmp("15.0", "15") == 0);
	CHECK(os_version_cmp("", "15.04") < 0);
}

/* The provisioner name for an os-release text, or the error text. */
static const char *match(const char *text, char *err)
{
	struct os_release os;
	const struct provisioner *p;

	err[0] = '\0';
	if (os_release_parse(text, &os, err))
		return NULL;
	p = provisioner_find(&os, err);
	return p ? p->name : NULL;
}

static void test_provisioners(void)
{
	char err[ERR_MAX];
	const char *n;

	CHECK_STR(match("ID=debian\nVERSION_ID=\"12\"\n", err), "debian");
	CHECK_STR(match("ID=ubuntu\nVERSION_ID=\"22.04\"\n", err), "ubuntu(systemd)");
	CHECK_STR(match("ID=ubuntu\nVERSION_ID=\"15.04\"\n", err), "ubuntu(systemd)");
	CHECK_STR(match("ID=ubuntu\nVERSION_ID=\"14.04\"\n", err), "ubuntu(upstart)");
	CHECK_STR(match("ID=\"centos\"\nID_LIKE=\"rhel fedora\"\n", err), "centos");
	CHECK_STR(match("ID=\"rhel\"\nID_LIKE=\"fedora\"\n", err), "redhat");
	CHECK_STR(match("ID=fedora\n", err), "fedora");
	CHECK_STR(match("ID=\"ol\"\nID_LIKE=\"fedora\"\n", err), "ol");
	CHECK_STR(match("ID=arch\n", err), "arch");
	CHECK_STR(match("ID=\"opensuse-leap\"\nID_LIKE=\"suse opensuse\"\n", err), "SUSE");
	CHECK_STR(match("ID=boot2docker\n", err), "boot2docker");
	/* The machinefs guest image (tools/guest-image/build.sh). */
	CHECK_STR(match("NAME=\"machinefs guest\"\nID=machinefs-guest\nID_LIKE=boot2docker\n"
			"VERSION_ID=1\n", err), "boot2docker");
	CHECK(provisioner_find(&(struct os_release){ .id = "boot2docker" }, err)->boot2docker);
	CHECK(!provisioner_find(&(struct os_release){ .id = "debian" }, err)->boot2docker);
	/* Derivatives fall back on ID_LIKE. */
	CHECK_STR(match("ID=raspbian\nID_LIKE=debian\n", err), "debian");
	CHECK_STR(match("ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n", err), "debian");
	CHECK_STR(match("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n", err), "redhat");
	CHECK(provisioner_find(&(struct os_release){ .id = "debian" }, err)->pkg == PKG_APT);
	CHECK(provisioner_find(&(struct os_release){ .id = "centos" }, err)->pkg == PKG_YUM);

	n = match("ID=plan9\nPRETTY_NAME=\"Plan 9 from Bell Labs\"\n", err);
	CHECK(n == NULL);
	CHECK_STR(err, "unknown operating system 'plan9' (Plan 9 from Bell Labs): no provisioner for it");
	n = match("ID=alpine\nID_LIKE=busybox\n", err);
	CHECK(n == NULL);
	CHECK_STR(err, "unknown operating system 'alpine' (no PRETTY_NAME): no provisioner for it");
	struct os_release os = { .id = "x" };
	CHECK(provisioner_find(&os, NULL) == NULL); /* err may be NULL */
}

static void test_package_commands(void)
{
	const struct provisioner *deb =
		provisioner_find(&(struct os_release){ .id = "debian" }, NULL);
	const struct provisioner *rh =
		provisioner_find(&(struct os_release){ .id = "rhel" }, NULL);
	struct strbuf sb = STRBUF_INIT;

	provisioner_install_cmd(deb, "curl", &sb);
	CHECK(strstr(sb.buf, "apt-get update") != NULL);
	CHECK(strstr(sb.buf, "DEBIAN_FRONTEND=noninteractive apt-get install -y -q curl") != NULL);
	strbuf_reset(&sb);
	provisioner_install_cmd(rh, "curl", &sb);
	CHECK_STR(sb.buf, "if command -v dnf >/dev/null 2>&1; then dnf install -y curl; "
			  "else yum install -y curl; fi");
	strbuf_reset(&sb);
	provisioner_upgrade_cmd(deb, "docker-ce docker.io", &sb);
	CHECK(strstr(sb.buf, "for p in docker-ce docker.io;") != NULL);
	CHECK(strstr(sb.buf, "--only-upgrade \"$@\"") != NULL);
	strbuf_release(&sb);
}

int main(void)
{
	test_debian();
	test_quotes_and_comments();
	test_unquoted_and_uppercase();
	test_no_id();
	test_version_cmp();
	test_provisioners();
	test_package_commands();
	return test_report();
}
