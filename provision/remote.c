/* Root commands on the host over one SSH connection. */
#include "provision/remote.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "provision/engine_config.h"

/* Every script starts with a PATH that has the sbin folders: dockerd is
 * /usr/sbin/dockerd on Debian, and a non-root login PATH lacks it. */
#define SCRIPT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH; export PATH; "

void plog(const struct provision_request *r, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!r->log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->log_fn(r->log_arg, line);
}

int remote_cancelled(const struct provision_request *r, char *err)
{
	if (r->cancel && *r->cancel)
		return error_set(err, ECANCELED, "provisioning of '%s' cancelled",
				 r->machine);
	return 0;
}

static const char *last_line(struct strbuf *sb)
{
	strbuf_rtrim(sb);
	const char *s = strbuf_str(sb), *nl = strrchr(s, '\n');
	return nl ? nl + 1 : s;
}

int remote_open(struct remote *rm, const struct provision_request *r,
		char *err)
{
	struct strbuf errout = STRBUF_INIT;
	int status = 0, ret;

	memset(rm, 0, sizeof(*rm));
	rm->r = r;
	rm->sudo = r->ssh.user && strcmp(r->ssh.user, "root") != 0;
	ret = ssh_connect(&r->ssh, &rm->conn, err);
	if (ret)
		return ret;
	if (!rm->sudo)
		return 0;
	ret = ssh_exec(rm->conn, "sudo -n true", NULL, 0, NULL, &errout,
		       &status, 30000, err);
	if (!ret && status == 127)
		ret = error_set(err, ENOENT,
				"sudo is not installed on '%s': user '%s' is not root",
				r->ssh.host, r->ssh.user);
	else if (!ret && status != 0)
		ret = error_set(err, EACCES,
				"sudo on '%s' needs a password: allow passwordless sudo for '%s'",
				r->ssh.host, r->ssh.user);
	strbuf_release(&errout);
	if (ret)
		remote_close(rm);
	return ret;
}

void remote_close(struct remote *rm)
{
	if (rm->conn)
		ssh_close(rm->conn);
	rm->conn = NULL;
}

static void wrap(struct remote *rm, const char *script, struct strbuf *cmd)
{
	struct strbuf full = STRBUF_INIT;

	strbuf_addstr(&full, SCRIPT_PATH);
	strbuf_addstr(&full, script);
	strbuf_addstr(cmd, rm->sudo ? "sudo -n sh -c " : "sh -c ");
	sh_quote(cmd, full.buf);
	strbuf_release(&full);
}

static int exec_in(struct remote *rm, const char *script, const void *in,
		   size_t inlen, struct strbuf *out, struct strbuf *errout,
		   int *status, int timeout_ms, char *err)
{
	struct strbuf cmd = STRBUF_INIT;
	int ret = remote_cancelled(rm->r, err);

	if (ret)
		return ret;
	wrap(rm, script, &cmd);
	ret = ssh_exec(rm->conn, cmd.buf, in, inlen, out, errout, status,
		       timeout_ms ? timeout_ms : 60000, err);
	strbuf_release(&cmd);
	return ret;
}

int remote_exec(struct remote *rm, const char *script, struct strbuf *out,
		int *status, int timeout_ms, char *err)
{
	return exec_in(rm, script, NULL, 0, out, NULL, status, timeout_ms, err);
}

static int run_in(struct remote *rm, const char *what, const char *script,
		  const void *in, size_t inlen, struct strbuf *out,
		  int timeout_ms, char *err)
{
	struct strbuf errout = STRBUF_INIT;
	int status = 0;
	int ret = exec_in(rm, script, in, inlen, out, &errout, &status,
			  timeout_ms, err);

	if (!ret && status != 0) {
		const char *l = last_line(&errout);
		ret = error_set(err, EIO, "cannot %s on '%s': exit status %d%s%s",
				what, rm->r->ssh.host, status, l[0] ? ": " : "", l);
	}
	strbuf_release(&errout);
	return ret;
}

int remote_run(struct remote *rm, const char *what, const char *script,
	       struct strbuf *out, int timeout_ms, char *err)
{
	return run_in(rm, what, script, NULL, 0, out, timeout_ms, err);
}

int remote_write(struct remote *rm, const char *path, const void *data,
		 size_t len, mode_t mode, char *err)
{
	struct strbuf script = STRBUF_INIT, tmp = STRBUF_INIT, what = STRBUF_INIT;
	const char *slash = strrchr(path, '/');
	int ret;

	strbuf_addf(&tmp, "%s.machinefs-tmp", path);
	strbuf_addstr(&script, "mkdir -p ");
	if (slash && slash != path) {
		struct strbuf dir = STRBUF_INIT;
		strbuf_add(&dir, path, (size_t)(slash - path));
		sh_quote(&script, dir.buf);
		strbuf_release(&dir);
	} else {
		strbuf_addch(&script, '/');
	}
	strbuf_addstr(&script, " && umask 077 && cat > ");
	sh_quote(&script, tmp.buf);
	strbuf_addf(&script, " && chmod %04o ", (unsigned)mode);
	sh_quote(&script, tmp.buf);
	strbuf_addstr(&script, " && mv -f ");
	sh_quote(&script, tmp.buf);
	strbuf_addch(&script, ' ');
	sh_quote(&script, path);
	strbuf_addf(&what, "write '%s'", path);
	ret = run_in(rm, what.buf, script.buf, data, len, NULL, 0, err);
	strbuf_release(&script);
	strbuf_release(&tmp);
	strbuf_release(&what);
	return ret;
}
