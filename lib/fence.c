#include "lib/fence.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/strbuf.h"

extern char **environ;

static char fence[PATH_MAX]; /* set once before any thread; "" = none */

const char *fence_dir(void)
{
	return fence;
}

/* Fold path into out ("/a/b", "/" for the root): "." and ".." and
 * repeated slashes go; relative paths start at "/". */
static void fold(const char *path, char *out, size_t len)
{
	size_t n = 0;
	out[0] = '\0';
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = strchrnul(p, '/');
		size_t cl = (size_t)(e - p);
		if (cl == 0 || (cl == 1 && p[0] == '.')) {
			/* nothing */
		} else if (cl == 2 && p[0] == '.' && p[1] == '.') {
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
			out[n] = '\0';
		} else if (n + 1 + cl < len) {
			out[n++] = '/';
			memcpy(out + n, p, cl);
			n += cl;
			out[n] = '\0';
		}
		p = e;
	}
	if (n == 0 && len > 1) {
		out[0] = '/';
		out[1] = '\0';
	}
}

static bool under(const char *folded, const char *dir)
{
	size_t n = strlen(dir);
	if (!n)
		return false;
	if (n == 1) /* a mount on "/": everything */
		return true;
	return !strncmp(folded, dir, n) && (folded[n] == '/' || folded[n] == '\0');
}

static void fold_sb(const char *path, struct strbuf *out);

bool fence_contains_lexically(const char *path)
{
	if (!*fence || !path)
		return false;
	struct strbuf f = STRBUF_INIT;
	fold_sb(path, &f);
	bool in = under(f.buf, fence);
	strbuf_release(&f);
	return in;
}

static int refuse(char *err, const char *path)
{
	return error_set(err, EDEADLK,
			 "'%s' is inside machinefs's own mount '%s': the daemon never reads or runs anything there",
			 path, fence);
}

/* fold() into a strbuf sized for path. */
static void fold_sb(const char *path, struct strbuf *out)
{
	strbuf_reset(out);
	strbuf_grow(out, strlen(path) + 2);
	fold(path, out->buf, strlen(path) + 2);
	out->len = strlen(out->buf);
}

int fence_check(const char *path, char *err)
{
	if (!*fence || !path)
		return 0;
	/* todo: what is left to walk; done: the resolved prefix. */
	struct strbuf todo = STRBUF_INIT, done = STRBUF_INIT, cand = STRBUF_INIT,
		      next = STRBUF_INIT;
	int rc = 0, links = 0;
	fold_sb(path, &todo);
	strbuf_addstr(&done, "");
	for (;;) {
		if (under(done.len ? done.buf : "/", fence)) {
			rc = refuse(err, path);
			break;
		}
		if (!strcmp(todo.buf, "/"))
			break;
		/* The next component of todo (which starts with '/'). */
		const char *c = todo.buf + 1, *e = strchrnul(c, '/');
		strbuf_reset(&cand);
		strbuf_addstr(&cand, strbuf_str(&done));
		strbuf_addch(&cand, '/');
		strbuf_add(&cand, c, (size_t)(e - c));
		if (under(cand.buf, fence)) {
			rc = refuse(err, path);
			break;
		}
		struct stat st;
		char target[PATH_MAX];
		ssize_t n = -1;
		if (lstat(cand.buf, &st) == 0 && S_ISLNK(st.st_mode))
			n = readlink(cand.buf, target, sizeof(target) - 1);
		strbuf_reset(&next);
		if (n < 0) {
			/* Missing or not a link: keep going lexically. */
			strbuf_addstr(&next, *e ? e : "/");
			strbuf_reset(&done);
			strbuf_addstr(&done, cand.buf);
		} else {
			if (++links > 40) {
				rc = error_set(err, ELOOP, "too many symbolic links in '%s'", path);
				break;
			}
			target[n] = '\0';
			if (target[0] != '/') {
				strbuf_addstr(&next, strbuf_str(&done));
				strbuf_addch(&next, '/');
			}
			strbuf_addstr(&next, target);
			strbuf_addstr(&next, e);
			strbuf_reset(&done);
		}
		fold_sb(next.buf, &todo);
	}
	strbuf_release(&todo);
	strbuf_release(&done);
	strbuf_release(&cand);
	strbuf_release(&next);
	return rc;
}

int fence_check_args(const char *const *argv, char *err)
{
	if (!*fence)
		return 0;
	for (size_t i = 0; argv[i]; i++) {
		const char *a = argv[i];
		for (size_t j = 0; a[j]; j++) {
			if (a[j] != '/' || (j && !strchr("=:,", a[j - 1])))
				continue;
			size_t l = strcspn(a + j, ",:");
			char *p = strndup(a + j, l);
			if (!p)
				return -ENOMEM;
			int rc = fence_check(p, err);
			free(p);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* Drop from a ':'-separated value every entry in the fence; true when
 * something was dropped. */
static bool clean_value(const char *v, struct strbuf *out)
{
	bool dropped = false;
	const char *p = v;
	for (;;) {
		const char *e = strchrnul(p, ':');
		char *item = strndup(p, (size_t)(e - p));
		bool in = item && item[0] == '/' && fence_check(item, NULL);
		free(item);
		if (in) {
			dropped = true;
		} else {
			if (out->len)
				strbuf_addch(out, ':');
			strbuf_add(out, p, (size_t)(e - p));
		}
		if (!*e)
			break;
		p = e + 1;
	}
	return dropped;
}

int fence_set(const char *dir, char *err)
{
	if (!dir || dir[0] != '/')
		return error_set(err, EINVAL, "mount point '%s' is not an absolute path", dir ? dir : "");
	fold(dir, fence, sizeof(fence));
	/* Collect first: setenv/unsetenv change environ under us. */
	struct strbuf names = STRBUF_INIT;
	for (char **e = environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq)
			continue;
		struct strbuf v = STRBUF_INIT;
		if (clean_value(eq + 1, &v)) {
			strbuf_add(&names, *e, (size_t)(eq - *e));
			strbuf_addch(&names, '=');
			strbuf_addstr(&names, strbuf_str(&v));
			strbuf_addch(&names, '\n');
		}
		strbuf_release(&v);
	}
	for (char *line = names.buf; line && *line;) {
		char *nl = strchr(line, '\n');
		*nl = '\0';
		char *eq = strchr(line, '=');
		*eq = '\0';
		if (eq[1])
			setenv(line, eq + 1, 1);
		else
			unsetenv(line);
		line = nl + 1;
	}
	strbuf_release(&names);
	/* The daemon works from "/" (main chdirs there). */
	setenv("PWD", "/", 1);
	return 0;
}
