/* provision/ssh against a real OpenSSH server on 127.0.0.1: the test
 * makes host and user keys with ssh-keygen, starts /usr/sbin/sshd on a
 * free port, and restarts it with other host keys to check pinning. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fileutil.h"
#include "lib/strbuf.h"
#include "provision/ssh.h"
#include "tests/unit/harness.h"

static char dir[256];
static char user[64];
static pid_t sshd_pid = -1;
static int port;

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Run a shell command; its stdout (trimmed) into out when given. */
static int sh(struct strbuf *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int sh(struct strbuf *out, const char *fmt, ...)
{
	char cmd[2048], buf[4096];
	va_list ap;
	FILE *f;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (out)
			strbuf_add(out, buf, n);
	if (out)
		strbuf_rtrim(out);
	return pclose(f);
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("bind");
		exit(2);
	}
	p = ntohs(a.sin_port);
	close(fd);
	return p;
}

static bool port_open(int p)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static void sshd_stop(void)
{
	if (sshd_pid > 0) {
		kill(sshd_pid, SIGTERM);
		waitpid(sshd_pid, NULL, 0);
		sshd_pid = -1;
	}
}

/* (Re)start sshd with hostkey (a file name in dir); extra config lines. */
static void sshd_start(const char *hostkey, const char *extra)
{
	char cfg[512], log[512], text[2048];
	long until;

	sshd_stop();
	path_of(cfg, sizeof(cfg), "sshd_config");
	path_of(log, sizeof(log), "sshd.log");
	snprintf(text, sizeof(text),
		 "ListenAddress 127.0.0.1\n"
		 "Port %d\n"
		 "HostKey %s/%s\n"
		 "AuthorizedKeysFile %s/authorized_keys\n"
		 "PidFile %s/sshd.pid\n"
		 "StrictModes no\n"
		 "UsePAM no\n"
		 "PasswordAuthentication no\n"
		 "KbdInteractiveAuthentication no\n"
		 "PermitRootLogin prohibit-password\n"
		 "%s",
		 port, dir, hostkey, dir, dir, extra);
	if (write_file_atomic(cfg, text, strlen(text), 0600, NULL)) {
		fprintf(stderr, "cannot write %s\n", cfg);
		exit(2);
	}
	mkdir("/run/sshd", 0755);
	sshd_pid = fork();
	if (sshd_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with the test */
		dup2(fd, 2);
		execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-e", "-f", cfg, (char *)NULL);
		_exit(127);
	}
	for (until = now_ms() + 5000; now_ms() < until; usleep(20000))
		if (port_open(port))
			return;
	fprintf(stderr, "sshd did not start on port %d; see %s\n", port, log);
	sshd_stop();
	exit(2);
}

/* ssh-keygen's own fingerprint of a public key file. */
static void keygen_fp(const char *pub, char *buf, size_t len)
{
	struct strbuf out = STRBUF_INIT;
	char *sp, *sp2;

	sh(&out, "ssh-keygen -l -E sha256 -f %s/%s", dir, pub);
	sp = strchr(strbuf_str(&out), ' ');
	sp2 = sp ? strchr(sp + 1, ' ') : NULL;
	if (sp && sp2)
		snprintf(buf, len, "%.*s", (int)(sp2 - sp - 1), sp + 1);
	else
		snprintf(buf, len, "?");
	strbuf_release(&out);
}

struct logcap {
	struct strbuf text;
};

static void log_line(void *arg, const char *line)
{
	struct logcap *l = arg;
	strbuf_addstr(&l->text, line);
	strbuf_addch(&l->text, '\n');
}

static struct logcap logs;

static struct ssh_target target(const char *key, const char *known)
{
	static char keypath[512], knownpath[512];
	struct ssh_target t = { 0 };

	path_of(keypath, sizeof(keypath), key);
	path_of(knownpath, sizeof(knownpath), known);
	t.host = "127.0.0.1";
	t.port = port;
	t.user = user;
	t.key_path = keypath;
	t.known_hosts = knownpath;
	t.connect_timeout_ms = 5000;
	t.log_fn = log_line;
	t.log_arg = &logs;
	return t;
}

static void setup(void)
{
	struct passwd *pw = getpwuid(getuid());

	snprintf(dir, sizeof(dir), "%s", test_tmpdir());
	snprintf(user, sizeof(user), "%s", pw ? pw->pw_name : "root");
	if (sh(NULL,
	       "cd %s && ssh-keygen -q -t ed25519 -N '' -C host-a -f host_a &&"
	       " ssh-keygen -q -t ed25519 -N '' -C host-b -f host_b &&"
	       " ssh-keygen -q -t rsa -b 2048 -N '' -C host-rsa -f host_rsa &&"
	       " ssh-keygen -q -t ed25519 -N '' -C user-ed -f user_ed &&"
	       " ssh-keygen -q -t rsa -b 2048 -N '' -C user-rsa -f user_rsa &&"
	       " ssh-keygen -q -t rsa -b 2048 -m PEM -N '' -C user-rsa-pem -f user_rsa_pem &&"
	       " ssh-keygen -q -t ed25519 -N '' -C wrong -f user_wrong &&"
	       " cat user_ed.pub user_rsa.pub user_rsa_pem.pub > authorized_keys",
	       dir) != 0) {
		fprintf(stderr, "ssh-keygen failed\n");
		exit(2);
	}
	port = free_port();
	logs.text = (struct strbuf)STRBUF_INIT;
}

static void test_exec(struct ssh_conn *c)
{
	struct strbuf out = STRBUF_INIT, errout = STRBUF_INIT;
	char err[ERR_MAX] = "";
	int status = -1;

	strbuf_reset(&logs.text);
	CHECK(ssh_exec(c, "echo hi", NULL, 0, &out, &errout, &status, 0, err) == 0);
	CHECK_STR(strbuf_str(&out), "hi\n");
	CHECK_STR(strbuf_str(&errout), "");
	CHECK(status == 0);
	CHECK(strstr(strbuf_str(&logs.text), "$ echo hi\n") != NULL);
	CHECK(strstr(strbuf_str(&logs.text), "exit status 0\n") != NULL);

	strbuf_reset(&out);
	strbuf_reset(&logs.text);
	status = -1;
	CHECK(ssh_exec(c, "echo oops >&2; exit 3", NULL, 0, &out, &errout,
		       &status, 0, err) == 0);
	CHECK_STR(strbuf_str(&out), "");
	CHECK_STR(strbuf_str(&errout), "oops\n");
	CHECK(status == 3);
	CHECK(strstr(strbuf_str(&logs.text), "exit status 3\nstderr: oops\n") != NULL);

	/* NULL buffers and status are fine. */
	CHECK(ssh_exec(c, "echo ignored; echo ignored >&2", NULL, 0, NULL, NULL,
		       NULL, 0, err) == 0);

	/* Long commands: up to 32 KiB run; longer ones are refused. */
	{
		struct strbuf cmd = STRBUF_INIT;
		strbuf_addstr(&cmd, "printf %s ");
		for (int i = 0; i < 32000; i++)
			strbuf_addch(&cmd, 'a');
		strbuf_addstr(&cmd, " | wc -c");
		strbuf_reset(&out);
		CHECK(ssh_exec(c, cmd.buf, NULL, 0, &out, NULL, &status, 0, err) == 0);
		CHECK_STR(strbuf_str(&out), "32000\n");
		for (int i = 0; i < 1000; i++)
			strbuf_addch(&cmd, ' ');
		CHECK(ssh_exec(c, cmd.buf, NULL, 0, &out, NULL, &status, 0, err) == -E2BIG);
		CHECK(strstr(err, "too long") != NULL);
		strbuf_release(&cmd);
	}

	/* A signal is 128+N. */
	CHECK(ssh_exec(c, "kill -9 $$", NULL, 0, NULL, NULL, &status, 0, err) == 0);
	CHECK(status == 128 + 9);

	/* ssh_run: a non-zero status is -EIO with stderr's last line. */
	strbuf_reset(&out);
	CHECK(ssh_run(c, "echo first >&2; echo last >&2; exit 4", &out, 0, err) == -EIO);
	CHECK(strstr(err, "exit status 4: last") != NULL);
	CHECK(ssh_run(c, "printf ok", &out, 0, err) == 0);
	CHECK_STR(strbuf_str(&out), "ok");
	strbuf_release(&out);
	strbuf_release(&errout);
}

static void test_big(struct ssh_conn *c)
{
	struct strbuf out = STRBUF_INIT, errout = STRBUF_INIT;
	char err[ERR_MAX] = "";
	size_t n = 1 << 20;
	unsigned char *data = malloc(n);
	unsigned int seed = 12345;
	int status = -1;

	for (size_t i = 0; i < n; i++)
		data[i] = (unsigned char)(rand_r(&seed) >> 7);
	/* stdin passthrough. */
	CHECK(ssh_exec(c, "cat", data, n, &out, &errout, &status, 0, err) == 0);
	CHECK(status == 0);
	CHECK(out.len == n && memcmp(out.buf, data, n) == 0);

	/* stdin in, 1 MiB back on stderr and 3 MB on stdout at once. */
	strbuf_reset(&out);
	strbuf_reset(&errout);
	CHECK(ssh_exec(c, "yes 0123456789abcdef | head -c 3000000 & cat >&2; wait",
		       data, n, &out, &errout, &status, 0, err) == 0);
	CHECK(status == 0);
	CHECK(out.len == 3000000);
	CHECK(out.len > 17 && memcmp(out.buf, "0123456789abcdef\n0", 18) == 0);
	CHECK(errout.len == n && memcmp(errout.buf, data, n) == 0);

	/* Big stdout and stderr, no stdin. */
	strbuf_reset(&out);
	strbuf_reset(&errout);
	CHECK(ssh_exec(c, "yes err | head -c 2500000 >&2 & yes out | head -c 2500000; wait",
		       NULL, 0, &out, &errout, &status, 0, err) == 0);
	CHECK(out.len == 2500000 && errout.len == 2500000);
	CHECK(out.len > 4 && memcmp(out.buf, "out\n", 4) == 0);
	CHECK(errout.len > 4 && memcmp(errout.buf, "err\n", 4) == 0);

	/* Output nobody wants: thrown away; the log still has stderr's end. */
	strbuf_reset(&logs.text);
	CHECK(ssh_exec(c, "yes | head -c 3000000; seq 1 100000 >&2; echo the-end >&2",
		       NULL, 0, NULL, NULL, &status, 0, err) == 0);
	CHECK(status == 0);
	CHECK(strstr(strbuf_str(&logs.text), "stderr: 100000\nstderr: the-end\n") != NULL);
	CHECK(strstr(strbuf_str(&logs.text), "stderr: 99980\n") == NULL);

	/* A command that reads no stdin while we send plenty. */
	CHECK(ssh_exec(c, "exit 5", data, n, NULL, NULL, &status, 0, err) == 0);
	CHECK(status == 5);
	free(data);
	strbuf_release(&out);
	strbuf_release(&errout);
}

static void test_write_file(struct ssh_conn *c)
{
	char path[512], err[ERR_MAX] = "";
	struct strbuf got = STRBUF_INIT;
	struct stat st;

	path_of(path, sizeof(path), "remote-file");
	CHECK(ssh_write_file(c, path, "secret\n'quoted'\n", 16, 0640, false, err) == 0);
	CHECK(read_file(path, &got, err) == 0);
	CHECK_STR(strbuf_str(&got), "secret\n'quoted'\n");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640);
	/* Written again: replaced. */
	CHECK(ssh_write_file(c, path, "new\n", 4, 0600, false, err) == 0);
	strbuf_reset(&got);
	CHECK(read_file(path, &got, err) == 0);
	CHECK_STR(strbuf_str(&got), "new\n");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
	/* A folder that does not exist: an error naming the path. */
	path_of(path, sizeof(path), "no-such-dir/file");
	CHECK(ssh_write_file(c, path, "x", 1, 0600, false, err) == -EIO);
	CHECK(strstr(err, "no-such-dir/file") != NULL);
	strbuf_release(&got);
}

static volatile int cancel_flag;

static void *set_cancel(void *arg)
{
	(void)arg;
	usleep(300000);
	__atomic_store_n(&cancel_flag, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void test_timeouts(struct ssh_conn *c)
{
	struct strbuf out = STRBUF_INIT;
	char err[ERR_MAX] = "";
	int status = -1;
	long t0 = now_ms();
	pthread_t th;

	CHECK(ssh_exec(c, "sleep 5", NULL, 0, NULL, NULL, &status, 500, err) == -ETIMEDOUT);
	/* Not a timing bound: only that it did not wait for the command. */
	CHECK(now_ms() - t0 < 4900);
	CHECK(strstr(err, "'sleep 5'") != NULL && strstr(err, "timed out") != NULL);
	/* The connection still works. */
	CHECK(ssh_exec(c, "echo after", NULL, 0, &out, NULL, &status, 0, err) == 0);
	CHECK_STR(strbuf_str(&out), "after\n");
	strbuf_release(&out);

	/* Many commands on one connection. Most of the time is sshd forking
	 * the command; the bound only catches a stall per command. */
	t0 = now_ms();
	for (int i = 0; i < 20; i++)
		CHECK(ssh_exec(c, "true", NULL, 0, NULL, NULL, &status, 0, err) == 0 &&
		      status == 0);
	printf("20 commands on one connection: %ld ms\n", now_ms() - t0);
	(void)th;
}

static void test_cancel(void)
{
	struct ssh_target t = target("user_ed", "known_hosts");
	struct ssh_conn *c = NULL;
	char err[ERR_MAX] = "";
	pthread_t th;
	long t0;

	cancel_flag = 0;
	t.cancel = &cancel_flag;
	CHECK(ssh_connect(&t, &c, err) == 0);
	if (!c)
		return;
	t0 = now_ms();
	pthread_create(&th, NULL, set_cancel, NULL);
	CHECK(ssh_exec(c, "sleep 5", NULL, 0, NULL, NULL, NULL, 0, err) == -ECANCELED);
	/* Not a timing bound: only that it did not wait for the command. */
	CHECK(now_ms() - t0 < 4900);
	pthread_join(th, NULL);
	ssh_close(c);
	c = NULL;

	/* The server side dies mid-command: the connection is lost, and
	 * says so on the next command too. */
	cancel_flag = 0;
	CHECK(ssh_connect(&t, &c, err) == 0);
	if (c) {
		int ret = ssh_exec(c, "kill -9 $PPID; sleep 5", NULL, 0, NULL, NULL,
				   NULL, 3000, err);
		CHECK(ret == -ECONNRESET);
		if (ret != -ECONNRESET)
			fprintf(stderr, "  got %d: %s\n", ret, err);
		CHECK(ssh_exec(c, "true", NULL, 0, NULL, NULL, NULL, 0, err) == -ENOTCONN);
		ssh_close(c);
		c = NULL;
	}
	cancel_flag = 1;
	/* Set before connecting. */
	CHECK(ssh_connect(&t, &c, err) == -ECANCELED);
	CHECK(c == NULL);
}

/* Several connections at once from several threads (several machines
 * provisioned at once), pinning into one fresh file. */
struct worker {
	int id, ok;
	char err[ERR_MAX];
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct ssh_target t = { .host = "127.0.0.1", .port = port, .user = user };
	struct ssh_conn *c = NULL;
	struct strbuf out = STRBUF_INIT, want = STRBUF_INIT;
	char cmd[64], key[512], known[512];
	int status = -1;

	path_of(key, sizeof(key), "user_ed"); /* target()'s buffers are shared */
	path_of(known, sizeof(known), "known_hosts_threads");
	t.key_path = key;
	t.known_hosts = known;
	if (ssh_connect(&t, &c, w->err))
		return NULL;
	w->ok = 1;
	for (int i = 0; i < 5; i++) {
		snprintf(cmd, sizeof(cmd), "echo %d-%d", w->id, i);
		strbuf_addf(&want, "%d-%d\n", w->id, i);
		if (ssh_exec(c, cmd, NULL, 0, &out, NULL, &status, 0, w->err) || status)
			w->ok = 0;
	}
	if (strcmp(strbuf_str(&out), strbuf_str(&want)))
		w->ok = 0;
	ssh_close(c);
	strbuf_release(&out);
	strbuf_release(&want);
	return NULL;
}

static void test_threads(void)
{
	struct worker w[4];
	pthread_t th[4];
	char fp[128], want[128], err[ERR_MAX];
	char path[512];

	for (int i = 0; i < 4; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].id = i;
		pthread_create(&th[i], NULL, worker_run, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK(w[i].ok);
		if (!w[i].ok)
			fprintf(stderr, "  worker %d: %s\n", i, w[i].err);
	}
	path_of(path, sizeof(path), "known_hosts_threads");
	keygen_fp("host_a.pub", want, sizeof(want));
	CHECK(ssh_known_host_fingerprint(path, "127.0.0.1", port, fp, sizeof(fp), err) == 0);
	CHECK_STR(fp, want);
}

static void test_first_server(void)
{
	struct ssh_target t = target("user_ed", "known_hosts");
	struct ssh_conn *c = NULL;
	struct strbuf known1 = STRBUF_INIT, known2 = STRBUF_INIT;
	char err[ERR_MAX] = "", fp[128] = "", want[128], line[256];
	struct stat st;

	sshd_start("host_a", "PubkeyAcceptedAlgorithms +ssh-rsa\n");
	keygen_fp("host_a.pub", want, sizeof(want));

	/* Nothing pinned yet. */
	CHECK(ssh_known_host_fingerprint(t.known_hosts, "127.0.0.1", port, fp,
					 sizeof(fp), err) == -ENOENT);
	/* First connect pins the key. */
	CHECK(ssh_connect(&t, &c, err) == 0);
	if (!c) {
		fprintf(stderr, "connect: %s\n", err);
		return;
	}
	CHECK(stat(t.known_hosts, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(read_file(t.known_hosts, &known1, err) == 0);
	snprintf(line, sizeof(line), "[127.0.0.1]:%d ssh-ed25519 AAAA", port);
	CHECK(strncmp(strbuf_str(&known1), line, strlen(line)) == 0);
	CHECK(ssh_known_host_fingerprint(t.known_hosts, "127.0.0.1", port, fp,
					 sizeof(fp), err) == 0);
	CHECK_STR(fp, want);
	/* OpenSSH's own client agrees with the file. */
	CHECK(sh(NULL, "ssh-keygen -F '[127.0.0.1]:%d' -f %s >/dev/null", port,
		 t.known_hosts) == 0);

	test_exec(c);
	test_big(c);
	test_write_file(c);
	test_timeouts(c);
	ssh_close(c);
	c = NULL;

	/* Second connect: same key, passes, file unchanged. */
	CHECK(ssh_connect(&t, &c, err) == 0);
	ssh_close(c);
	c = NULL;
	CHECK(read_file(t.known_hosts, &known2, err) == 0);
	CHECK_STR(strbuf_str(&known2), strbuf_str(&known1));

	/* RSA user key (the server accepts ssh-rsa signatures). */
	t = target("user_rsa", "known_hosts");
	CHECK(ssh_connect(&t, &c, err) == 0);
	if (!c)
		fprintf(stderr, "rsa connect: %s\n", err);
	else
		CHECK(ssh_run(c, "true", NULL, 0, err) == 0);
	ssh_close(c);
	c = NULL;

	/* Docker Machine's own keys: RSA in PEM form ("BEGIN RSA PRIVATE KEY"). */
	t = target("user_rsa_pem", "known_hosts");
	CHECK(ssh_connect(&t, &c, err) == 0);
	if (!c)
		fprintf(stderr, "rsa pem connect: %s\n", err);
	ssh_close(c);
	c = NULL;

	/* A key the server does not know. */
	t = target("user_wrong", "known_hosts");
	CHECK(ssh_connect(&t, &c, err) == -EACCES);
	CHECK(c == NULL);
	CHECK(strstr(err, "user_wrong'") != NULL);
	snprintf(line, sizeof(line), "user '%s'", user);
	CHECK(strstr(err, line) != NULL);

	/* A key file that does not exist. */
	t = target("no_such_key", "known_hosts");
	CHECK(ssh_connect(&t, &c, err) == -ENOENT);
	CHECK(strstr(err, "no_such_key'") != NULL);

	/* "localhost" resolves; its pin is under its own name. */
	t = target("user_ed", "known_hosts_localhost");
	t.host = "localhost";
	CHECK(ssh_connect(&t, &c, err) == 0);
	ssh_close(c);
	c = NULL;
	CHECK(ssh_known_host_fingerprint(t.known_hosts, "localhost", port, fp,
					 sizeof(fp), err) == 0);
	CHECK_STR(fp, want);

	test_cancel();
	test_threads();
	strbuf_release(&known1);
	strbuf_release(&known2);
}

static void test_changed_key(void)
{
	struct ssh_target t = target("user_ed", "known_hosts");
	struct ssh_conn *c = NULL;
	struct strbuf before = STRBUF_INIT, after = STRBUF_INIT;
	char err[ERR_MAX] = "", fpa[128], fpb[128], fprsa[128], want[512];

	keygen_fp("host_a.pub", fpa, sizeof(fpa));
	keygen_fp("host_b.pub", fpb, sizeof(fpb));
	keygen_fp("host_rsa.pub", fprsa, sizeof(fprsa));
	read_file(t.known_hosts, &before, NULL);

	/* Same type, another key. */
	sshd_start("host_b", "");
	CHECK(ssh_connect(&t, &c, err) == -EKEYREJECTED);
	CHECK(c == NULL);
	snprintf(want, sizeof(want),
		 "host key for '127.0.0.1:%d' changed: pinned %s, offered %s", port,
		 fpa, fpb);
	CHECK(strncmp(err, want, strlen(want)) == 0);
	if (strncmp(err, want, strlen(want)))
		fprintf(stderr, "  got:  %s\n  want: %s\n", err, want);
	read_file(t.known_hosts, &after, NULL);
	CHECK_STR(strbuf_str(&after), strbuf_str(&before));

	/* RSA user keys against a server with OpenSSH's defaults: libssh2
	 * 1.10 signs with ssh-rsa (SHA-1) only. The error says so. */
	t = target("user_rsa", "known_hosts_b");
	CHECK(ssh_connect(&t, &c, err) == -EACCES);
	CHECK(strstr(err, "ssh-rsa") != NULL);
	ssh_close(c);
	c = NULL;
	t = target("user_rsa_pem", "known_hosts_b");
	CHECK(ssh_connect(&t, &c, err) == -EACCES);
	CHECK(strstr(err, "ssh-rsa") != NULL);
	/* ed25519 works there. */
	t = target("user_ed", "known_hosts_b");
	CHECK(ssh_connect(&t, &c, err) == 0);
	ssh_close(c);
	c = NULL;

	/* Another key type: still a changed key, never pinned anew. */
	sshd_start("host_rsa", "HostKeyAlgorithms +ssh-rsa\n");
	t = target("user_ed", "known_hosts");
	CHECK(ssh_connect(&t, &c, err) == -EKEYREJECTED);
	snprintf(want, sizeof(want),
		 "host key for '127.0.0.1:%d' changed: pinned %s, offered %s", port,
		 fpa, fprsa);
	CHECK(strncmp(err, want, strlen(want)) == 0);
	if (strncmp(err, want, strlen(want)))
		fprintf(stderr, "  got:  %s\n  want: %s\n", err, want);
	strbuf_reset(&after);
	read_file(t.known_hosts, &after, NULL);
	CHECK_STR(strbuf_str(&after), strbuf_str(&before));
	/* A fresh pin file takes the RSA host key. */
	t = target("user_ed", "known_hosts_rsa");
	CHECK(ssh_connect(&t, &c, err) == 0);
	ssh_close(c);
	c = NULL;
	CHECK(ssh_known_host_fingerprint(t.known_hosts, "127.0.0.1", port, fprsa,
					 sizeof(fprsa), err) == 0);
	keygen_fp("host_rsa.pub", want, sizeof(want));
	CHECK_STR(fprsa, want);
	strbuf_release(&before);
	strbuf_release(&after);
}

static void test_unreachable(void)
{
	struct ssh_target t = target("user_ed", "known_hosts_none");
	struct ssh_conn *c = NULL;
	char err[ERR_MAX] = "", want[128];
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd;

	/* Nothing listening. */
	sshd_stop();
	CHECK(ssh_connect(&t, &c, err) == -ECONNREFUSED);
	snprintf(want, sizeof(want), "cannot reach '127.0.0.1:%d': connection refused",
		 port);
	CHECK_STR(err, want);

	/* Listening, never speaking: the handshake times out. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(listen(fd, 4) == 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	t.port = ntohs(a.sin_port);
	t.connect_timeout_ms = 500;
	CHECK(ssh_connect(&t, &c, err) == -ETIMEDOUT);
	CHECK(strstr(err, "timed out") != NULL);
	close(fd);
	CHECK(!path_exists(t.known_hosts));

	/* A target missing its pieces. */
	t = target("user_ed", "known_hosts_none");
	t.user = "";
	CHECK(ssh_connect(&t, &c, err) == -EINVAL);
}

/* `test_provision_ssh lab HOST USER KEY KNOWN_HOSTS`: the same checks
 * against a lab host (tests/e2e/t_ssh_lab.sh). Prints "fingerprint FP".
 * `test_provision_ssh connect HOST USER KEY KNOWN_HOSTS`: connect only,
 * print the error; exit status 0 when connected. */
static int lab_main(int argc, char **argv)
{
	struct ssh_target t = { 0 };
	struct ssh_conn *c = NULL;
	struct strbuf out = STRBUF_INIT;
	char err[ERR_MAX] = "", fp[128] = "", fp2[128] = "";
	bool sudo;
	int status = -1;

	if (argc != 6) {
		fprintf(stderr, "usage: %s lab|connect HOST USER KEY KNOWN_HOSTS\n", argv[0]);
		return 2;
	}
	t.host = argv[2];
	t.port = 22;
	t.user = argv[3];
	t.key_path = argv[4];
	t.known_hosts = argv[5];
	t.log_fn = log_line;
	t.log_arg = &logs;
	sudo = strcmp(t.user, "root") != 0;
	if (!strcmp(argv[1], "connect")) {
		int ret = ssh_connect(&t, &c, err);
		printf("%s\n", ret ? err : "connected");
		ssh_close(c);
		return ret ? 1 : 0;
	}
	CHECK(ssh_connect(&t, &c, err) == 0);
	if (!c) {
		fprintf(stderr, "connect: %s\n", err);
		return test_report();
	}
	CHECK(ssh_known_host_fingerprint(t.known_hosts, t.host, 22, fp, sizeof(fp), err) == 0);
	printf("fingerprint %s\n", fp);
	CHECK(ssh_exec(c, "hostname", NULL, 0, &out, NULL, &status, 0, err) == 0);
	CHECK(status == 0 && strncmp(strbuf_str(&out), "lab-", 4) == 0);
	if (sudo) {
		CHECK(ssh_exec(c, "sudo -n true", NULL, 0, NULL, NULL, &status, 0, err) == 0);
		CHECK(status == 0);
	}
	CHECK(ssh_write_file(c, "/etc/mfs-ssh-lab", "pinned\n", 7, 0600, sudo, err) == 0);
	strbuf_reset(&out);
	CHECK(ssh_run(c, sudo ? "sudo -n stat -c %a:%U /etc/mfs-ssh-lab && sudo -n cat /etc/mfs-ssh-lab"
			      : "stat -c %a:%U /etc/mfs-ssh-lab && cat /etc/mfs-ssh-lab",
		      &out, 0, err) == 0);
	CHECK_STR(strbuf_str(&out), "600:root\npinned\n");
	test_big(c);
	ssh_close(c);
	c = NULL;
	/* Again: the pin matches. */
	CHECK(ssh_connect(&t, &c, err) == 0);
	ssh_close(c);
	CHECK(ssh_known_host_fingerprint(t.known_hosts, t.host, 22, fp2, sizeof(fp2), err) == 0);
	CHECK_STR(fp2, fp);
	strbuf_release(&out);
	return test_report();
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return lab_main(argc, argv);
	if (access("/usr/sbin/sshd", X_OK) != 0) {
		fprintf(stderr, "/usr/sbin/sshd missing: apt-get install openssh-server\n");
		return 1;
	}
	setup();
	atexit(sshd_stop);
	test_first_server();
	test_changed_key();
	test_unreachable();
	sshd_stop();
	if (test_failed)
		sh(NULL, "tail -n 30 %s/sshd.log >&2", dir);
	else
		remove_tree(dir, NULL);
	return test_report();
}
