/* The engine's configuration as rendered for each init system: exact
 * text, and the supervisor script run for real with a stand-in dockerd. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fileutil.h"
#include "lib/strbuf.h"
#include "provision/engine_config.h"
#include "tests/unit/harness.h"

static const char *base_args =
	"-H tcp://0.0.0.0:2376 -H unix:///var/run/docker.sock --storage-driver overlay2 "
	"--tlsverify --tlscacert /etc/docker/ca.pem --tlscert /etc/docker/server.pem "
	"--tlskey /etc/docker/server-key.pem";

static void join(const struct strlist *l, struct strbuf *sb)
{
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			strbuf_addch(sb, ' ');
		strbuf_addstr(sb, l->v[i]);
	}
}

static void test_plain_systemd(void)
{
	struct engine_options eo = { 0 };
	struct engine_config c = { "/usr/sbin/dockerd", 2376, "generic", "overlay2", &eo, NULL };
	struct strbuf sb = STRBUF_INIT, want = STRBUF_INIT;

	engine_render_systemd(&c, &sb, NULL);
	strbuf_addf(&want, "[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd %s "
		    "--label provider=generic\n", base_args);
	CHECK_STR(sb.buf, want.buf);
	strbuf_release(&sb);
	strbuf_release(&want);
}

static void fill(struct engine_options *eo)
{
	strlist_add(&eo->labels, "env=prod");
	strlist_add(&eo->labels, "team=a b");
	strlist_add(&eo->insecure_registry, "10.0.0.1:5000");
	strlist_add(&eo->registry_mirror, "https://mirror.example");
	strlist_add(&eo->arbitrary_flags, "default-ulimit=nofile=1024:2048");
	strlist_add(&eo->arbitrary_flags, "--debug");
	strlist_add(&eo->env, "HTTP_PROXY=http://10.0.0.9:3128");
	strlist_add(&eo->env, "GREETING=100% \"hi\"");
	snprintf(eo->storage_driver, sizeof(eo->storage_driver), "vfs");
	snprintf(eo->log_level, sizeof(eo->log_level), "debug");
}

static void test_full_systemd(void)
{
	struct engine_options eo = { 0 };
	struct strlist extra = STRLIST_INIT;
	struct engine_config c = { "/usr/bin/dockerd", 2377, "generic", "vfs", &eo, &extra };
	struct strbuf sb = STRBUF_INIT;

	fill(&eo);
	strlist_add(&extra, "DOCKER_RAMDISK=true");
	engine_render_systemd(&c, &sb, NULL);
	CHECK_STR(sb.buf,
		  "[Service]\n"
		  "ExecStart=\n"
		  "ExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2377 -H unix:///var/run/docker.sock "
		  "--storage-driver vfs --tlsverify --tlscacert /etc/docker/ca.pem "
		  "--tlscert /etc/docker/server.pem --tlskey /etc/docker/server-key.pem "
		  "--label env=prod --label \"team=a b\" --label provider=generic "
		  "--insecure-registry 10.0.0.1:5000 --registry-mirror https://mirror.example "
		  "--log-level debug --default-ulimit=nofile=1024:2048 --debug\n"
		  "Environment=\"HTTP_PROXY=http://10.0.0.9:3128\"\n"
		  "Environment=\"GREETING=100%% \\\"hi\\\"\"\n"
		  "Environment=\"DOCKER_RAMDISK=true\"\n");
	strbuf_release(&sb);
	strlist_clear(&extra);
	strlist_clear(&eo.labels);
	strlist_clear(&eo.insecure_registry);
	strlist_clear(&eo.registry_mirror);
	strlist_clear(&eo.arbitrary_flags);
	strlist_clear(&eo.env);
}

/* systemd itself parses the drop-in (quoting, %, Environment=) when
 * systemd-analyze is installed: a unit made of it must verify. */
static void test_systemd_verify(void)
{
	struct engine_options eo = { 0 };
	const char *exe = path_exists("/usr/sbin/dockerd") ? "/usr/sbin/dockerd" : "/bin/sh";
	struct engine_config c = { exe, 2376, "generic", "overlay2", &eo, NULL };
	struct strbuf sb = STRBUF_INIT;
	char unit[512], cmd[1024];

	if (!path_exists("/usr/bin/systemd-analyze")) {
		printf("SKIP: no systemd-analyze\n");
		return;
	}
	fill(&eo);
	strlist_add(&eo.labels, "odd=$HOME 'q' \\back");
	strbuf_addstr(&sb, "[Unit]\nDescription=machinefs drop-in check\n");
	engine_render_systemd(&c, &sb, NULL);
	snprintf(unit, sizeof(unit), "%s/mfs-dropin-check.service", test_tmpdir());
	CHECK(write_file_atomic(unit, sb.buf, sb.len, 0644, NULL) == 0);
	snprintf(cmd, sizeof(cmd), "systemd-analyze verify --man=no '%s'", unit);
	CHECK(system(cmd) == 0);
	/* And the check can fail: unbalanced quotes are refused. */
	strbuf_addstr(&sb, "ExecStartPre=/bin/true \"unbalanced\n");
	CHECK(write_file_atomic(unit, sb.buf, sb.len, 0644, NULL) == 0);
	snprintf(cmd, sizeof(cmd), "systemd-analyze verify --man=no '%s' 2>/dev/null", unit);
	CHECK(system(cmd) != 0);
	strbuf_release(&sb);
	strlist_clear(&eo.labels);
	strlist_clear(&eo.insecure_registry);
	strlist_clear(&eo.registry_mirror);
	strlist_clear(&eo.arbitrary_flags);
	strlist_clear(&eo.env);
}

static void test_args_and_defaults(void)
{
	struct engine_options eo = { 0 };
	struct engine_config c = { "/usr/sbin/dockerd", 0, "virtualbox", "", &eo, NULL };
	struct strlist args = STRLIST_INIT;
	struct strbuf sb = STRBUF_INIT;

	eo.ipv6 = eo.selinux_enabled = true;
	snprintf(eo.graph_dir, sizeof(eo.graph_dir), "/data/docker");
	strlist_add(&eo.env, "A=it's");
	engine_args(&c, &args);
	join(&args, &sb);
	/* No storage driver given: none passed; port 0 means 2376. */
	CHECK_STR(sb.buf, "-H tcp://0.0.0.0:2376 -H unix:///var/run/docker.sock --tlsverify "
			  "--tlscacert /etc/docker/ca.pem --tlscert /etc/docker/server.pem "
			  "--tlskey /etc/docker/server-key.pem --label provider=virtualbox "
			  "--data-root /data/docker --ipv6 --selinux-enabled");
	strbuf_reset(&sb);
	c.storage_driver = "overlay2";
	engine_render_defaults(&c, &sb, NULL);
	CHECK_STR(sb.buf, "# written by machinefs: dockerd's arguments are in "
			  "/etc/docker/machinefs-dockerd-exec.sh\n"
			  "DOCKERD='/etc/docker/machinefs-dockerd-exec.sh'\n"
			  "DOCKER_OPTS=\n"
			  "export 'A=it'\\''s'\n");
	strbuf_reset(&sb);
	engine_render_sysv_exec(&c, &sb, NULL);
	CHECK_STR(sb.buf, "#!/bin/sh\n"
			  "# written by machinefs: dockerd with its arguments, one word each\n"
			  "exec '/usr/sbin/dockerd' '-H' 'tcp://0.0.0.0:2376' '-H' "
			  "'unix:///var/run/docker.sock' '--storage-driver' 'overlay2' '--tlsverify' "
			  "'--tlscacert' '/etc/docker/ca.pem' '--tlscert' '/etc/docker/server.pem' "
			  "'--tlskey' '/etc/docker/server-key.pem' '--label' 'provider=virtualbox' "
			  "'--data-root' '/data/docker' '--ipv6' '--selinux-enabled' \"$@\"\n");
	strbuf_reset(&sb);
	sh_quote(&sb, "");
	sh_quote(&sb, "a'b");
	CHECK_STR(sb.buf, "'''a'\\''b'");
	strbuf_release(&sb);
	strlist_clear(&args);
	strlist_clear(&eo.env);
}

static void test_supervisor_text(void)
{
	struct engine_options eo = { 0 };
	struct engine_config c = { "/usr/sbin/dockerd", 2376, "generic", "overlay2", &eo, NULL };
	struct strbuf sb = STRBUF_INIT;

	strlist_add(&eo.env, "K=V");
	engine_render_supervisor(&c, &sb, NULL);
	CHECK(!strncmp(sb.buf, "#!/bin/sh\n", 10));
	CHECK(strstr(sb.buf, "\nexport 'K=V'\n") != NULL);
	CHECK(strstr(sb.buf, "echo $$ > /var/run/machinefs-dockerd.pid\n") != NULL);
	CHECK(strstr(sb.buf, "\t'/usr/sbin/dockerd' '-H' 'tcp://0.0.0.0:2376' '-H' "
			     "'unix:///var/run/docker.sock' '--storage-driver' 'overlay2' "
			     "'--tlsverify' '--tlscacert' '/etc/docker/ca.pem' '--tlscert' "
			     "'/etc/docker/server.pem' '--tlskey' '/etc/docker/server-key.pem' "
			     "'--label' 'provider=generic' &\n") != NULL);
	strbuf_release(&sb);
	strlist_clear(&eo.env);
}

static void test_b2d_profile(void)
{
	struct engine_options eo = { 0 };
	struct engine_config c = { "/usr/sbin/dockerd", 2376, "qemu", "overlay2", &eo, NULL };
	struct strbuf sb = STRBUF_INIT;

	strlist_add(&eo.labels, "env=it's");
	strlist_add(&eo.insecure_registry, "10.0.0.1:5000");
	strlist_add(&eo.arbitrary_flags, "debug");
	strlist_add(&eo.env, "HTTP_PROXY=http://p:3128");
	engine_render_b2d_profile(&c, &sb, NULL);
	CHECK_STR(sb.buf, "EXTRA_ARGS='\n"
			  "--label env=it'\\''s\n"
			  "--label provider=qemu\n"
			  "--insecure-registry 10.0.0.1:5000\n"
			  "--debug\n"
			  "'\n"
			  "CACERT=/var/lib/boot2docker/ca.pem\n"
			  "DOCKER_HOST='-H tcp://0.0.0.0:2376'\n"
			  "DOCKER_STORAGE='overlay2'\n"
			  "DOCKER_TLS=auto\n"
			  "SERVERKEY=/var/lib/boot2docker/server-key.pem\n"
			  "SERVERCERT=/var/lib/boot2docker/server.pem\n"
			  "\n"
			  "export 'HTTP_PROXY=http://p:3128'\n");
	strbuf_release(&sb);
	strlist_clear(&eo.labels);
	strlist_clear(&eo.insecure_registry);
	strlist_clear(&eo.arbitrary_flags);
	strlist_clear(&eo.env);
}

/* Replace every occurrence of from with to. */
static void replace_all(struct strbuf *sb, const char *from, const char *to)
{
	struct strbuf out = STRBUF_INIT;
	const char *p = sb->buf, *q;

	while ((q = strstr(p, from))) {
		strbuf_add(&out, p, (size_t)(q - p));
		strbuf_addstr(&out, to);
		p = q + strlen(from);
	}
	strbuf_addstr(&out, p);
	strbuf_release(sb);
	*sb = out;
}

static long read_pid(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	long pid = 0;

	if (!read_file(path, &sb, NULL))
		pid = strtol(strbuf_str(&sb), NULL, 10);
	strbuf_release(&sb);
	return pid;
}

static int count_lines(const char *path, const char *line)
{
	struct strbuf sb = STRBUF_INIT;
	int n = 0;

	read_file(path, &sb, NULL);
	for (const char *p = strbuf_str(&sb); (p = strstr(p, line)); p++)
		n++;
	strbuf_release(&sb);
	return n;
}

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

/* Run the supervisor script with a stand-in dockerd that records its
 * arguments and environment: quoting survives, a dead dockerd is started
 * again, SIGTERM stops both and removes the pid file. */
static void test_supervisor_runs(void)
{
	const char *dir = test_tmpdir();
	char fake[512], script[512], pidfile[512], rec[512], cmd[2048];
	struct engine_options eo = { 0 };
	struct strbuf sb = STRBUF_INIT, fk = STRBUF_INIT;
	long pid;

	snprintf(fake, sizeof(fake), "%s/fake dockerd", dir);
	snprintf(script, sizeof(script), "%s/sup.sh", dir);
	snprintf(pidfile, sizeof(pidfile), "%s/sup.pid", dir);
	snprintf(rec, sizeof(rec), "%s/record", dir);
	strbuf_addf(&fk, "#!/bin/sh\necho start >> '%s'\n"
		    "for a in \"$@\"; do echo \"arg[$a]\" >> '%s'; done\n"
		    "echo \"env[$GREETING]\" >> '%s'\n"
		    "echo $$ > '%s.child'\nexec sleep 30\n", rec, rec, rec, rec);
	CHECK(write_file_atomic(fake, fk.buf, fk.len, 0755, NULL) == 0);

	strlist_add(&eo.labels, "note=it's a \"test\" $HOME");
	strlist_add(&eo.env, "GREETING=hello world");
	struct engine_config c = { fake, 2376, "generic", "overlay2", &eo, NULL };
	engine_render_supervisor(&c, &sb, NULL);
	replace_all(&sb, ENGINE_SUPERVISOR_PID, pidfile);
	CHECK(write_file_atomic(script, sb.buf, sb.len, 0755, NULL) == 0);

	snprintf(cmd, sizeof(cmd), "setsid sh '%s' </dev/null >'%s.log' 2>&1 &", script, script);
	CHECK(system(cmd) == 0);
	for (int i = 0; i < 50 && count_lines(rec, "env[") < 1; i++)
		sleep_ms(100);
	pid = read_pid(pidfile);
	CHECK(pid > 0);
	CHECK(count_lines(rec, "arg[note=it's a \"test\" $HOME]") == 1);
	CHECK(count_lines(rec, "arg[--label]") == 2);
	CHECK(count_lines(rec, "env[hello world]") == 1);

	/* dockerd dies: started again about 2 s later. */
	snprintf(cmd, sizeof(cmd), "%s.child", rec);
	long child = read_pid(cmd);
	CHECK(child > 0 && kill((pid_t)child, SIGKILL) == 0);
	for (int i = 0; i < 60 && count_lines(rec, "start") < 2; i++)
		sleep_ms(100);
	CHECK(count_lines(rec, "start") == 2);

	/* SIGTERM: the supervisor stops dockerd and itself. */
	sleep_ms(200);
	child = read_pid(cmd);
	CHECK(pid > 0 && kill((pid_t)pid, SIGTERM) == 0);
	int gone = 0;
	for (int i = 0; i < 50 && !gone; i++) {
		gone = kill((pid_t)pid, 0) != 0 && kill((pid_t)child, 0) != 0;
		if (!gone)
			sleep_ms(100);
	}
	CHECK(gone);
	CHECK(!path_exists(pidfile));
	CHECK(count_lines(rec, "start") == 2);
	if (!gone) {
		kill((pid_t)pid, SIGKILL);
		kill((pid_t)child, SIGKILL);
	}
	strbuf_release(&sb);
	strbuf_release(&fk);
	strlist_clear(&eo.labels);
	strlist_clear(&eo.env);
}

int main(void)
{
	signal(SIGCHLD, SIG_DFL);
	test_plain_systemd();
	test_full_systemd();
	test_systemd_verify();
	test_args_and_defaults();
	test_supervisor_text();
	test_b2d_profile();
	test_supervisor_runs();
	return test_report();
}
