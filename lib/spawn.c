#include "lib/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fence.h"

extern char **environ;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void spawn_describe(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "exit status %d", WIFEXITED(status) ? WEXITSTATUS(status) : status);
}

/* SIGTERM to the child's group, SIGKILL a second later; always reaps. */
static void stop_child(pid_t pid, int *status)
{
	kill(-pid, SIGTERM);
	kill(pid, SIGTERM);
	for (int i = 0; i < 20; i++) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return;
		nanosleep(&(struct timespec){ 0, 50 * 1000000L }, NULL);
	}
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

static int setup(posix_spawn_file_actions_t *fa, posix_spawnattr_t *at,
		 const struct spawn_req *r, int po, int pe, int logfd)
{
	int e = posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
	if (!e && logfd >= 0) {
		e = posix_spawn_file_actions_adddup2(fa, logfd, 1);
		if (!e)
			e = posix_spawn_file_actions_adddup2(fa, logfd, 2);
	} else if (!e) {
		e = po >= 0 ? posix_spawn_file_actions_adddup2(fa, po, 1)
			    : posix_spawn_file_actions_addopen(fa, 1, "/dev/null", O_WRONLY, 0);
		if (!e)
			e = pe >= 0 ? posix_spawn_file_actions_adddup2(fa, pe, 2)
				    : posix_spawn_file_actions_addopen(fa, 2, "/dev/null", O_WRONLY, 0);
	}
	if (!e)
		e = posix_spawn_file_actions_addclosefrom_np(fa, 3);
	if (!e)
		e = posix_spawn_file_actions_addchdir_np(fa, "/");
	sigset_t none, def;
	sigemptyset(&none);
	sigemptyset(&def);
	int sigs[] = { SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD };
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&def, sigs[i]);
	if (!e)
		e = posix_spawnattr_setsigmask(at, &none);
	if (!e)
		e = posix_spawnattr_setsigdefault(at, &def);
	if (!e)
		e = posix_spawnattr_setflags(at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
						    POSIX_SPAWN_SETSIGDEF);
	return e;
}

/* Read what the pipes hold within timeout ms: 1 when something was read
 * or closed, 0 when nothing came, -1 once both are closed. */
static int drain(struct pollfd *pfd, struct strbuf *out, struct strbuf *errout, int timeout)
{
	if (pfd[0].fd < 0 && pfd[1].fd < 0)
		return -1;
	if (poll(pfd, 2, timeout) <= 0)
		return 0;
	for (int i = 0; i < 2; i++) {
		if (pfd[i].fd < 0 || !pfd[i].revents)
			continue;
		char buf[4096];
		ssize_t n = read(pfd[i].fd, buf, sizeof(buf));
		if (n > 0) {
			struct strbuf *sb = i ? errout : out;
			if (sb)
				strbuf_add(sb, buf, (size_t)n);
		} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			close(pfd[i].fd);
			pfd[i].fd = -1;
		}
	}
	return 1;
}

int spawn_run(const struct spawn_req *r, int *status_out, char *err)
{
	const char *prog = r->argv[0];
	int rc = fence_check_args(r->argv, err);
	if (rc)
		return rc;
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, logfd = -1;
	if (r->log_path) {
		logfd = open(r->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (logfd < 0)
			return error_errno(err, errno, "cannot open '%s'", r->log_path);
	} else if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		rc = error_errno(err, errno, "cannot run '%s'", prog);
		goto close_pipes;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	pid_t pid = -1;
	int e = setup(&fa, &at, r, po[1], pe[1], logfd);
	if (!e)
		e = posix_spawnp(&pid, prog, &fa, &at, (char *const *)r->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	for (int i = 1; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
		po[i] = pe[i] = -1;
	}
	if (logfd >= 0)
		close(logfd);
	if (e) {
		rc = e == ENOENT ? error_set(err, ENOENT, "cannot run '%s': not installed", prog)
				 : error_errno(err, e, "cannot run '%s'", prog);
		goto close_pipes;
	}
	struct pollfd pfd[2] = { { .fd = po[0], .events = POLLIN }, { .fd = pe[0], .events = POLLIN } };
	po[0] = pe[0] = -1; /* drain closes them */
	long long deadline = r->timeout_ms > 0 ? now_ms() + r->timeout_ms : 0;
	int status = 0;
	for (;;) {
		if (drain(pfd, r->out, r->errout, 100) < 0)
			nanosleep(&(struct timespec){ 0, 20 * 1000000L }, NULL);
		if (waitpid(pid, &status, WNOHANG) == pid) {
			/* What is left in the pipes; a daemon the child left
			 * behind holding them (qemu -daemonize) is not waited for. */
			for (int i = 0; i < 1024 && drain(pfd, r->out, r->errout, 0) > 0; i++)
				;
			break;
		}
		bool cancelled = r->cancel && __atomic_load_n(r->cancel, __ATOMIC_RELAXED);
		if (cancelled || (deadline && now_ms() >= deadline)) {
			stop_child(pid, &status);
			rc = cancelled ? error_set(err, EINTR, "'%s' was cancelled", prog)
				       : error_set(err, ETIMEDOUT, "'%s' did not finish within %d s", prog,
						   (r->timeout_ms + 999) / 1000);
			break;
		}
	}
	for (int i = 0; i < 2; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	if (status_out)
		*status_out = status;
	return rc;
close_pipes:
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	return rc;
}
