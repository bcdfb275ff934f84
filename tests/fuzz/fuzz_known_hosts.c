/* provision/ssh_hostkey.c: a machine's known_hosts file (in the store,
 * which a user may edit) read back for the pinned key. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "provision/ssh.h"
#include "lib/err.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	if (!*path)
		snprintf(path, sizeof(path), "/tmp/mfs-fuzz-known_hosts.%d", (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	char fp[128], err[ERR_MAX];
	ssh_known_host_fingerprint(path, "10.213.81.2", 22, fp, sizeof(fp), err);
	ssh_known_host_fingerprint(path, "10.213.81.2", 2222, fp, sizeof(fp), err);
	ssh_known_host_fingerprint(path, "localhost", 22, fp, sizeof(fp), err);
	unlink(path);
	return 0;
}
