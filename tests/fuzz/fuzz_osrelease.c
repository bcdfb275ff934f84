/* provision/osrelease.c and the provisioner choice: /etc/os-release as a
 * host (any host the user points machinefs at) answers it. */
#include "provision/osrelease.h"
#include "provision/provisioners.h"
#include "lib/err.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	struct os_release os;
	char err[ERR_MAX];
	if (!os_release_parse(s, &os, err)) {
		os_release_like(&os, "debian");
		os_release_like(&os, "");
		os_version_cmp(os.version_id, "15.04");
		os_version_cmp(os.pretty_name, os.version_id);
		const struct provisioner *p = provisioner_find(&os, err);
		if (p) {
			struct strbuf cmd = STRBUF_INIT;
			provisioner_install_cmd(p, "curl", &cmd);
			provisioner_upgrade_cmd(p, "docker-ce docker.io", &cmd);
			strbuf_release(&cmd);
		}
	}
	free(s);
	return 0;
}
