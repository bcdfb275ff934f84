/* Commands over an open connection: one channel per command, stdin sent
 * while stdout and stderr are read, so neither side can stall the other. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/mask.h"
#include "provision/ssh_priv.h"

#define EXEC_TIMEOUT_MS (10 * 60 * 1000)
#define CLEANUP_MS 1000       /* freeing a finished channel */
#define ABANDON_MS 200        /* closing a channel after a failure */
#define LOG_CMD_MAX 400       /* bytes of a command in the log */
#define LOG_STDERR_LINES 20   /* last lines of stderr in the log */
#define LOG_LINE_MAX 400
#define CHUNK 32768
#define CMD_MAX 32768         /* libssh2 sends the command in one packet */

/* Free the channels of earlier timed-out commands the server has closed
 * since. Non-blocking: the ones still open stay for later or ssh_close. */
static void reap_zombies(struct ssh_conn *c)
{
	for (int i = 0; i < SSH_ZOMBIES_MAX; i++)
		if (c->zombies[i] && libssh2_channel_free(c->zombies[i]) == 0)
			c->zombies[i] = NULL;
}

static bool sending(struct ssh_conn *c)
{
	return libssh2_session_block_directions(c->session) &
	       LIBSSH2_SESSION_BLOCK_OUTBOUND;
}

/* After a timeout or cancel: close the channel. The server answers the
 * close only when the command ends, so a channel still waiting is kept
 * and freed later. A packet half sent (libssh2 must finish it before any
 * other) leaves the connection unusable. */
static void abandon(struct ssh_conn *c, LIBSSH2_CHANNEL *ch)
{
	int64_t deadline = ssh_now_ms() + ABANDON_MS;
	volatile int *cancel = c->cancel;
	int rc;

	if (sending(c)) {
		c->broken = true; /* ssh_close frees the channel */
		return;
	}
	c->cancel = NULL;
	while ((rc = libssh2_channel_free(ch)) == LIBSSH2_ERROR_EAGAIN &&
	       !sending(c) && ssh_wait(c, deadline) == 0)
		;
	c->cancel = cancel;
	if (rc != LIBSSH2_ERROR_EAGAIN)
		return;
	if (!sending(c))
		for (int i = 0; i < SSH_ZOMBIES_MAX; i++)
			if (!c->zombies[i]) {
				c->zombies[i] = ch;
				return;
			}
	c->broken = true;
}

static int signal_number(const char *name)
{
	static const struct { const char *name; int sig; } sigs[] = {
		{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
		{ "ILL", SIGILL }, { "ABRT", SIGABRT }, { "FPE", SIGFPE },
		{ "KILL", SIGKILL }, { "SEGV", SIGSEGV }, { "PIPE", SIGPIPE },
		{ "ALRM", SIGALRM }, { "TERM", SIGTERM }, { "USR1", SIGUSR1 },
		{ "USR2", SIGUSR2 }, { "BUS", SIGBUS },
	};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (!strcmp(name, sigs[i].name))
			return sigs[i].sig;
	return 0;
}

static void log_command(struct ssh_conn *c, const char *cmd)
{
	size_t len = strlen(cmd);

	/* Cut between words: a secret or a URL with credentials is shown
	 * whole (and masked by the log) or not at all. */
	if (len > LOG_CMD_MAX)
		ssh_log(c, "$ %.*s... (%zu bytes)", (int)mask_cut(cmd, LOG_CMD_MAX), cmd, len);
	else
		ssh_log(c, "$ %s", cmd);
}

/* The exit status, then the last lines of stderr. */
static void log_result(struct ssh_conn *c, int status, const char *signame,
		       const char *s, size_t len)
{
	const char *end = s + len;
	const char *p = end;
	int lines = 0;

	if (signame)
		ssh_log(c, "killed by signal %s (status %d)", signame, status);
	else
		ssh_log(c, "exit status %d", status);
	while (p > s && (p[-1] == '\n' || p[-1] == '\r'))
		p--, end = p;
	while (p > s && lines < LOG_STDERR_LINES) {
		p--;
		if (*p == '\n')
			lines++;
	}
	if (lines == LOG_STDERR_LINES)
		ssh_log(c, "stderr: ... (%zu bytes before)", (size_t)(p - s) + 1);
	if (*p == '\n')
		p++;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		ssh_log(c, "stderr: %.*s%s", (int)(n > LOG_LINE_MAX ? LOG_LINE_MAX : n),
			p, n > LOG_LINE_MAX ? "..." : "");
		p = nl ? nl + 1 : end;
	}
}

/* Read what is there of one stream into sb (NULL: thrown away): >0
 * bytes read, 0 nothing (or EOF), <0 libssh2 error. */
static int drain(LIBSSH2_CHANNEL *ch, int stream, struct strbuf *sb)
{
	char buf[CHUNK];
	int total = 0;

	for (;;) {
		ssize_t n = libssh2_channel_read_ex(ch, stream, buf, sizeof(buf));
		if (n == LIBSSH2_ERROR_EAGAIN || n == 0)
			return total;
		if (n < 0)
			return (int)n;
		if (sb)
			strbuf_add(sb, buf, (size_t)n);
		total += (int)n;
		if (total > 1 << 20)
			return total; /* let the writer have a turn */
	}
}

struct run {
	struct ssh_conn *c;
	const char *cmd;
	int timeout_ms;
	int64_t deadline;
	struct strbuf errtail; /* stderr for the log when the caller wants none */
};

#define ERRTAIL_MAX (256 * 1024)

/* Drop all but the last keep bytes. */
static void keep_tail(struct strbuf *sb, size_t keep)
{
	if (sb->len <= keep)
		return;
	memmove(sb->buf, sb->buf + sb->len - keep, keep);
	sb->len = keep;
	sb->buf[keep] = '\0';
}

static int wait_or_fail(struct run *r, char *err)
{
	int ret = ssh_wait(r->c, r->deadline);

	if (ret == -ECANCELED)
		return error_set(err, ECANCELED, "command '%.200s' on '%s' cancelled",
				 r->cmd, r->c->peer);
	if (ret == -ETIMEDOUT)
		return error_set(err, ETIMEDOUT,
				 "command '%.200s' on '%s' timed out after %d ms",
				 r->cmd, r->c->peer, r->timeout_ms);
	if (ret) {
		char text[128];
		return error_set(err, -ret, "command '%.200s' on '%s': %s", r->cmd,
				 r->c->peer, ssh_lower(strerror(-ret), text, sizeof(text)));
	}
	return 0;
}

static int open_channel(struct run *r, LIBSSH2_CHANNEL **out, char *err)
{
	LIBSSH2_CHANNEL *ch;
	int rc, ret;

	*out = NULL;
	while (!(ch = libssh2_channel_open_session(r->c->session))) {
		rc = libssh2_session_last_errno(r->c->session);
		if (rc != LIBSSH2_ERROR_EAGAIN)
			return ssh_error(r->c, rc, err, "cannot open a channel on '%s'",
					 r->c->peer);
		ret = wait_or_fail(r, err);
		if (ret)
			return ret;
	}
	while ((rc = libssh2_channel_exec(ch, r->cmd)) == LIBSSH2_ERROR_EAGAIN) {
		ret = wait_or_fail(r, err);
		if (ret) {
			abandon(r->c, ch);
			return ret;
		}
	}
	if (rc) {
		ret = ssh_error(r->c, rc, err, "cannot run '%.200s' on '%s'", r->cmd,
				r->c->peer);
		abandon(r->c, ch);
		return ret;
	}
	*out = ch;
	return 0;
}

/* Send stdin, read both streams until EOF. libssh2 must finish a packet
 * it half sent before it sends another: when a call leaves one behind
 * (the socket is blocked outbound), only that call is repeated. */
enum op { OP_ANY, OP_WRITE, OP_EOF, OP_READ };

static int pump(struct run *r, LIBSSH2_CHANNEL *ch, const char *in, size_t inlen,
		struct strbuf *out, struct strbuf *errout, char *err)
{
	struct ssh_conn *c = r->c;
	enum op pending = OP_ANY;
	size_t sent = 0;
	bool eof_sent = false;

	for (;;) {
		bool progress = false;
		int no = 0, ne = 0;

		if (sent < inlen && (pending == OP_ANY || pending == OP_WRITE)) {
			size_t n = inlen - sent;
			ssize_t w = libssh2_channel_write(ch, in + sent,
							  n > CHUNK ? CHUNK : n);
			pending = OP_ANY;
			if (w > 0) {
				sent += (size_t)w;
				progress = true;
			} else if (w == LIBSSH2_ERROR_EAGAIN) {
				if (sending(c))
					pending = OP_WRITE;
			} else {
				sent = inlen; /* the command stopped reading */
			}
		}
		if (sent == inlen && !eof_sent &&
		    (pending == OP_ANY || pending == OP_EOF)) {
			int rc = libssh2_channel_send_eof(ch);
			pending = OP_ANY;
			if (rc != LIBSSH2_ERROR_EAGAIN) {
				eof_sent = true;
				progress = true;
			} else if (sending(c)) {
				pending = OP_EOF;
			}
		}
		if (pending == OP_ANY || pending == OP_READ) {
			pending = OP_ANY;
			no = drain(ch, 0, out);
			if (no >= 0 && !sending(c))
				ne = drain(ch, SSH_EXTENDED_DATA_STDERR, errout);
			if (errout == &r->errtail && errout->len > ERRTAIL_MAX)
				keep_tail(errout, ERRTAIL_MAX / 4);
			if (sending(c))
				pending = OP_READ;
			if (no < 0)
				return ssh_error(c, no, err,
						 "cannot read output of '%.200s' on '%s'",
						 r->cmd, c->peer);
			if (ne < 0)
				return ssh_error(c, ne, err,
						 "cannot read errors of '%.200s' on '%s'",
						 r->cmd, c->peer);
			if (no == 0 && ne == 0 && pending == OP_ANY &&
			    libssh2_channel_eof(ch))
				return 0;
			if (no > 0 || ne > 0)
				progress = true;
		}
		if (!progress) {
			int ret = wait_or_fail(r, err);
			if (ret)
				return ret;
		}
	}
}

/* Wait for the server's CLOSE, which comes after the exit status. */
static int finish(struct run *r, LIBSSH2_CHANNEL *ch, int *status,
		  char **signame, char *err)
{
	int rc, ret;

	while ((rc = libssh2_channel_close(ch)) == LIBSSH2_ERROR_EAGAIN) {
		ret = wait_or_fail(r, err);
		if (ret)
			return ret;
	}
	while ((rc = libssh2_channel_wait_closed(ch)) == LIBSSH2_ERROR_EAGAIN) {
		ret = wait_or_fail(r, err);
		if (ret)
			return ret;
	}
	*status = libssh2_channel_get_exit_status(ch);
	*signame = NULL;
	libssh2_channel_get_exit_signal(ch, signame, NULL, NULL, NULL, NULL, NULL);
	if (*signame) {
		int sig = signal_number(*signame);
		*status = sig ? 128 + sig : 255;
	}
	return 0;
}

int ssh_exec(struct ssh_conn *c, const char *cmd, const void *stdin_data,
	     size_t stdin_len, struct strbuf *out, struct strbuf *errout,
	     int *status, int timeout_ms, char *err)
{
	struct run r = { c, cmd, timeout_ms > 0 ? timeout_ms : EXEC_TIMEOUT_MS, 0,
			 STRBUF_INIT };
	struct strbuf *e = errout ? errout : &r.errtail;
	size_t errstart = e->len;
	LIBSSH2_CHANNEL *ch = NULL;
	char *signame = NULL;
	int ret, st = -1;

	r.deadline = ssh_now_ms() + r.timeout_ms;
	if (status)
		*status = -1;
	if (c->broken)
		return error_set(err, ENOTCONN,
				 "cannot run '%.200s' on '%s': the connection failed earlier",
				 cmd, c->peer);
	if (ssh_cancelled(c))
		return error_set(err, ECANCELED, "command '%.200s' on '%s' cancelled",
				 cmd, c->peer);
	if (strlen(cmd) > CMD_MAX)
		return error_set(err, E2BIG,
				 "command '%.60s...' for '%s' is too long: %zu bytes, at most %d "
				 "(send data on stdin)", cmd, c->peer, strlen(cmd), CMD_MAX);
	reap_zombies(c);
	log_command(c, cmd);
	ret = open_channel(&r, &ch, err);
	if (!ret)
		ret = pump(&r, ch, stdin_data, stdin_data ? stdin_len : 0, out, e, err);
	if (!ret)
		ret = finish(&r, ch, &st, &signame, err);
	if (ret) {
		if (ch)
			abandon(c, ch);
		ssh_log(c, "failed: %s", err ? err : "");
	} else {
		int64_t deadline = ssh_now_ms() + CLEANUP_MS;
		int rc;

		if (errstart > e->len) /* the tail buffer was trimmed */
			errstart = 0;
		log_result(c, st, signame, strbuf_str(e) + errstart, e->len - errstart);
		if (signame)
			libssh2_free(c->session, signame);
		while ((rc = libssh2_channel_free(ch)) == LIBSSH2_ERROR_EAGAIN &&
		       ssh_wait(c, deadline) == 0)
			;
		if (rc == LIBSSH2_ERROR_EAGAIN)
			abandon(c, ch);
		if (status)
			*status = st;
	}
	strbuf_release(&r.errtail);
	return ret;
}

static const char *last_line(struct strbuf *sb)
{
	const char *s, *nl;

	strbuf_rtrim(sb);
	s = strbuf_str(sb);
	nl = strrchr(s, '\n');
	return nl ? nl + 1 : s;
}

int ssh_run(struct ssh_conn *c, const char *cmd, struct strbuf *out,
	    int timeout_ms, char *err)
{
	struct strbuf errout = STRBUF_INIT;
	int status = 0;
	int ret = ssh_exec(c, cmd, NULL, 0, out, &errout, &status, timeout_ms, err);

	if (!ret && status != 0) {
		const char *l = last_line(&errout);
		ret = error_set(err, EIO, "command '%.200s' on '%s' failed: exit status %d%s%.200s",
				cmd, c->peer, status, l[0] ? ": " : "", l);
	}
	strbuf_release(&errout);
	return ret;
}

/* Single-quote s for sh. */
static void quote(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			strbuf_addstr(sb, "'\\''");
		else
			strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '\'');
}

int ssh_write_file(struct ssh_conn *c, const char *path, const void *data,
		   size_t len, int mode, bool sudo, char *err)
{
	struct strbuf script = STRBUF_INIT, tmp = STRBUF_INIT, cmd = STRBUF_INIT;
	struct strbuf errout = STRBUF_INIT;
	int status = 0, ret;

	if (!path || path[0] != '/')
		return error_set(err, EINVAL, "cannot write '%s' on '%s': not an absolute path",
				 path ? path : "", c->peer);
	strbuf_addf(&tmp, "%s.machinefs-tmp", path);
	/* umask 077: the data is never readable by others, even briefly. */
	strbuf_addstr(&script, "umask 077 && cat > ");
	quote(&script, tmp.buf);
	strbuf_addf(&script, " && chmod %04o ", (unsigned)mode & 07777);
	quote(&script, tmp.buf);
	strbuf_addstr(&script, " && mv -f ");
	quote(&script, tmp.buf);
	strbuf_addch(&script, ' ');
	quote(&script, path);
	strbuf_addstr(&script, " || { rm -f ");
	quote(&script, tmp.buf);
	strbuf_addstr(&script, "; exit 1; }");
	strbuf_addstr(&cmd, sudo ? "sudo -n sh -c " : "sh -c ");
	quote(&cmd, script.buf);
	ret = ssh_exec(c, cmd.buf, data, len, NULL, &errout, &status, 0, err);
	if (!ret && status != 0) {
		const char *l = last_line(&errout);
		ret = error_set(err, EIO, "cannot write '%s' on '%s': exit status %d%s%.200s",
				path, c->peer, status, l[0] ? ": " : "", l);
	}
	strbuf_release(&script);
	strbuf_release(&tmp);
	strbuf_release(&cmd);
	strbuf_release(&errout);
	return ret;
}
