/* The machine's `progress` file (fs/progress.h). */
#include "fs/progress.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/strbuf.h"

#define PROGRESS_MAX (64 * 1024)

/* A command runs on one thread from begin to end (fs/fuse_tree.c's job
 * thread, or the caller's): its current step is that thread's. */
static __thread char cur_step[64];

void machine_progress_path(const struct machine *m, char *buf, size_t len)
{
	snprintf(buf, len, "%s/machinefs.progress", m->dir);
}

/* One whole line with one write(2) (O_APPEND): a reader never sees half. */
static void put(struct machine *m, const char *kind, const char *id, const char *text,
		bool fresh)
{
	char path[PATH_MAX + 32];
	struct strbuf sb = STRBUF_INIT;
	/* A removed machine's folder may be a new machine's of the same name. */
	if (__atomic_load_n(&m->removed, __ATOMIC_ACQUIRE))
		return;
	machine_progress_path(m, path, sizeof(path));
	strbuf_addf(&sb, "%s %s ", kind, id);
	for (const char *p = text ? text : ""; *p; p++)
		strbuf_addch(&sb, *p == '\n' || *p == '\r' ? ' ' : *p);
	strbuf_addch(&sb, '\n');
	/* As the log and error: no secret in it. */
	machine_mask(m, &sb);
	int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW;
	struct stat st;
	if (fresh && stat(path, &st) == 0 && st.st_size > PROGRESS_MAX)
		flags |= O_TRUNC;
	int fd = open(path, flags | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		ssize_t n = write(fd, sb.buf, sb.len);
		(void)n;
		close(fd);
	}
	strbuf_release(&sb);
	/* It grows like the log: readers' cached size goes with the log's. */
	machine_changed(m, MCHG_LOG);
}

void progress_begin(struct machine *m, const char *cmd)
{
	snprintf(cur_step, sizeof(cur_step), "%s", cmd);
	put(m, "begin", cmd, "", true);
}

void progress_step(struct machine *m, const char *id, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	snprintf(cur_step, sizeof(cur_step), "%s", id);
	if (sb.len)
		machine_log(m, "%s", sb.buf);
	put(m, "step", id, strbuf_str(&sb), false);
	strbuf_release(&sb);
}

void progress_end(struct machine *m, const char *cmd, int rc, const char *msg)
{
	if (rc)
		put(m, "fail", *cur_step ? cur_step : cmd, msg, false);
	else
		put(m, "ok", cmd, "", false);
	cur_step[0] = '\0';
}

void progress_refused(struct machine *m, const char *cmd, const char *msg)
{
	put(m, "begin", cmd, "", true);
	put(m, "fail", "refused", msg, false);
	cur_step[0] = '\0';
}

const char *progress_current_step(void)
{
	return cur_step;
}
