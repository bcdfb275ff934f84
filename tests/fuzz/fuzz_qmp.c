/* drivers/qmp.c: whatever answers on the VM's QMP socket. The input is
 * the whole byte stream the peer sends; the client's requests go into
 * the socket buffer unread. */
#include <sys/socket.h>
#include <unistd.h>

#include "drivers/qmp.h"
#include "lib/err.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 16384)
		return 0; /* stays inside the socket buffer */
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (size && write(sv[1], data, size) != (ssize_t)size)
		abort();
	shutdown(sv[1], SHUT_WR);
	char reply[512], err[ERR_MAX];
	qmp_execute_fd(sv[0], "fuzz", size & 1 ? "quit" : "query-status", reply,
		       sizeof(reply), 1000, err);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
