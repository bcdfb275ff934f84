/* The fence (paths in the daemon's own mount) and the one spawner:
 * capture, log file, deadline, cancel, cwd "/", a cleaned environment. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fence.h"
#include "lib/fileutil.h"
#include "lib/spawn.h"
#include "tests/unit/harness.h"

static int run(const char *const *argv, struct strbuf *out, int timeout_ms,
	       volatile int *cancel, int *status)
{
	char err[ERR_MAX];
	struct spawn_req r = { .argv = argv, .out = out, .timeout_ms = timeout_ms, .cancel = cancel };
	return spawn_run(&r, status, err);
}

int main(void)
{
	const char *t = test_tmpdir();
	char mnt[1024], link[1024], into[1024], buf[4096];
	snprintf(mnt, sizeof(mnt), "%s/mnt", t);
	mkdir(mnt, 0755);
	snprintf(link, sizeof(link), "%s/link", t);
	CHECK(symlink(mnt, link) == 0);
	snprintf(into, sizeof(into), "%s/rel", t);
	CHECK(symlink("x/../mnt/a", into) == 0);

	/* The environment before the fence: paths in the mount go. */
	snprintf(buf, sizeof(buf), "%s/a", mnt);
	setenv("OLDPWD", buf, 1);
	snprintf(buf, sizeof(buf), "%s/bin:/usr/bin:%s/b", mnt, link);
	setenv("PATH", buf, 1);
	setenv("KEEP", "/usr", 1);

	/* Nothing fenced yet. */
	CHECK(!fence_contains_lexically(mnt));
	CHECK(fence_check(mnt, NULL) == 0);

	char err[ERR_MAX];
	CHECK(fence_set(mnt, err) == 0);
	CHECK(getenv("OLDPWD") == NULL);
	CHECK_STR(getenv("PATH"), "/usr/bin");
	CHECK_STR(getenv("KEEP"), "/usr");
	CHECK_STR(getenv("PWD"), "/");

	CHECK(fence_contains_lexically(mnt));
	snprintf(buf, sizeof(buf), "%s/x/../mnt/y", t);
	CHECK(fence_contains_lexically(buf));
	snprintf(buf, sizeof(buf), "%s/mnt2", t);
	CHECK(!fence_contains_lexically(buf));
	CHECK(!fence_contains_lexically("/"));
	CHECK(fence_check(mnt, err) == -EDEADLK);
	CHECK(strstr(err, "own mount") != NULL);
	snprintf(buf, sizeof(buf), "%s/a/b", link);
	CHECK(fence_check(buf, NULL) == -EDEADLK);     /* through a symlink */
	CHECK(fence_check(into, NULL) == -EDEADLK);    /* a relative one */
	CHECK(fence_check(t, NULL) == 0);
	CHECK(fence_check("/usr/bin/../lib", NULL) == 0);
	snprintf(buf, sizeof(buf), "%s/key", link);
	CHECK(!path_exists(buf));
	struct strbuf sb = STRBUF_INIT;
	CHECK(read_file(buf, &sb, NULL) == -EDEADLK);

	/* Arguments naming a path in the mount are refused before a run. */
	snprintf(buf, sizeof(buf), "file=%s/disk,if=virtio", link);
	const char *bad[] = { "true", "-drive", buf, NULL };
	CHECK(run(bad, NULL, 0, NULL, NULL) == -EDEADLK);
	const char *fine[] = { "true", "-drive", "file=/tmp/x,if=virtio", NULL };
	int st = -1;
	CHECK(run(fine, NULL, 0, NULL, &st) == 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* Capture, cwd "/", the cleaned environment, exit status. */
	const char *sh[] = { "sh", "-c", "pwd; echo \"$OLDPWD|$PATH\"; echo oops >&2; exit 3", NULL };
	struct strbuf out = STRBUF_INIT, eout = STRBUF_INIT;
	struct spawn_req r = { .argv = sh, .out = &out, .errout = &eout };
	CHECK(spawn_run(&r, &st, err) == 0);
	CHECK_STR(strbuf_str(&out), "/\n|/usr/bin\n");
	CHECK_STR(strbuf_str(&eout), "oops\n");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3);
	spawn_describe(st, buf, sizeof(buf));
	CHECK_STR(buf, "exit status 3");

	/* A log file gets both streams, appended. */
	char log[PATH_MAX + 8];
	snprintf(log, sizeof(log), "%s/run.log", t);
	const char *lg[] = { "sh", "-c", "echo a; echo b >&2", NULL };
	struct spawn_req rl = { .argv = lg, .log_path = log };
	CHECK(spawn_run(&rl, NULL, err) == 0);
	CHECK(spawn_run(&rl, NULL, err) == 0);
	strbuf_reset(&sb);
	CHECK(read_file(log, &sb, NULL) == 0);
	CHECK_STR(strbuf_str(&sb), "a\nb\na\nb\n");

	/* Not installed; past the deadline; cancelled. A grandchild holding
	 * the pipes does not hold the wait once the child is gone. */
	const char *none[] = { "no-such-program-here", NULL };
	CHECK(run(none, NULL, 0, NULL, NULL) == -ENOENT);
	const char *slow[] = { "sleep", "30", NULL };
	CHECK(run(slow, NULL, 300, NULL, NULL) == -ETIMEDOUT);
	volatile int cancel = 1;
	CHECK(run(slow, NULL, 0, &cancel, NULL) == -EINTR);
	const char *bg[] = { "sh", "-c", "sleep 3 & echo left", NULL };
	strbuf_reset(&out);
	CHECK(run(bg, &out, 20000, NULL, &st) == 0);
	CHECK_STR(strbuf_str(&out), "left\n");
	strbuf_release(&out);
	strbuf_release(&eout);
	strbuf_release(&sb);
	return test_report();
}
