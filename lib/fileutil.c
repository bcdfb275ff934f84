#include "lib/fileutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fence.h"

static int fsync_dir_of(const char *path)
{
	char copy[PATH_MAX];
	snprintf(copy, sizeof(copy), "%s", path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int write_file_atomic(const char *path, const void *data, size_t len,
		      mode_t mode, char *err)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(tmp))
		return error_set(err, ENAMETOOLONG, "path too long: '%s'", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return error_errno(err, errno, "cannot create '%s'", tmp);
	const char *p = data;
	size_t left = len;
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			return error_errno(err, e, "cannot write '%s'", tmp);
		}
		p += n;
		left -= (size_t)n;
	}
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return error_errno(err, e, "cannot sync '%s'", tmp);
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return error_errno(err, e, "cannot rename '%s' to '%s'", tmp, path);
	}
	fsync_dir_of(path);
	return 0;
}

int read_file(const char *path, struct strbuf *sb, char *err)
{
	int rc = fence_check(path, err);
	if (rc)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno(err, errno, "cannot open '%s'", path);
	char buf[8192];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return error_errno(err, e, "cannot read '%s'", path);
		}
		if (n == 0)
			break;
		strbuf_add(sb, buf, (size_t)n);
	}
	close(fd);
	if (!sb->buf)
		strbuf_add(sb, "", 0);
	return 0;
}

int copy_file(const char *src, const char *dst, mode_t mode, char *err)
{
	struct strbuf sb = STRBUF_INIT;
	int rc = read_file(src, &sb, err);
	if (!rc)
		rc = write_file_atomic(dst, sb.buf, sb.len, mode, err);
	strbuf_release(&sb);
	return rc;
}

int mkdir_p(const char *path, mode_t mode, char *err)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return error_set(err, ENAMETOOLONG, "path too long: '%s'", path);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, mode) < 0 && errno != EEXIST)
				return error_errno(err, errno, "cannot create '%s'", buf);
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

int remove_tree(const char *path, char *err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : error_errno(err, errno, "cannot stat '%s'", path);
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (!d)
			return error_errno(err, errno, "cannot open '%s'", path);
		struct dirent *de;
		int rc = 0;
		while (!rc && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char child[PATH_MAX];
			snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
			rc = remove_tree(child, err);
		}
		closedir(d);
		if (rc)
			return rc;
		if (rmdir(path) < 0)
			return error_errno(err, errno, "cannot remove '%s'", path);
		return 0;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return error_errno(err, errno, "cannot remove '%s'", path);
	return 0;
}

bool path_exists(const char *path)
{
	struct stat st;
	return !fence_check(path, NULL) && stat(path, &st) == 0;
}
