/* The engine as a service: detect, configure, restart, wait for TLS. */
#include "provision/engine_service.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/err.h"

#define WAIT_TLS_MS 120000
#define POLL_MS 500
#define PROBE_MS 3000
#define PROBES_DEAD 3

const char *init_system_name(enum init_system init)
{
	switch (init) {
	case INIT_SYSTEMD: return "systemd";
	case INIT_SYSVINIT: return "sysvinit";
	case INIT_OPENRC: return "openrc";
	case INIT_BOOT2DOCKER: return "boot2docker";
	case INIT_NONE: break;
	}
	return "none";
}

static void copy_value(const char *out, const char *key, char *dst, size_t len)
{
	size_t kl = strlen(key);

	dst[0] = '\0';
	for (const char *p = out; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		if (n > kl && !strncmp(p, key, kl) && p[kl] == '=') {
			snprintf(dst, len, "%.*s", (int)(n - kl - 1), p + kl + 1);
			return;
		}
		p = eol ? eol + 1 : NULL;
	}
}

int host_detect(struct remote *rm, struct host_facts *f, char *err)
{
	static const char script[] =
		"if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then echo init=systemd; "
		"elif [ -e /etc/init.d/docker ] && command -v openrc-run >/dev/null 2>&1; then echo init=openrc; "
		"elif [ -e /etc/init.d/docker ]; then echo init=sysvinit; "
		"else echo init=none; fi; "
		"echo dockerd=$(command -v dockerd 2>/dev/null); "
		"echo rootfs=$(stat -f -c %T / 2>/dev/null); "
		"d=/var/lib/docker; [ -d $d ] || d=/var/lib; "
		"echo varlibfs=$(stat -f -c %T $d 2>/dev/null)";
	struct strbuf out = STRBUF_INIT;
	char init[32];
	int ret = remote_run(rm, "inspect the host", script, &out, 0, err);

	if (ret)
		goto done;
	copy_value(out.buf, "init", init, sizeof(init));
	copy_value(out.buf, "dockerd", f->dockerd, sizeof(f->dockerd));
	copy_value(out.buf, "rootfs", f->rootfs, sizeof(f->rootfs));
	copy_value(out.buf, "varlibfs", f->varlibfs, sizeof(f->varlibfs));
	f->init = !strcmp(init, "systemd")    ? INIT_SYSTEMD
		  : !strcmp(init, "openrc")   ? INIT_OPENRC
		  : !strcmp(init, "sysvinit") ? INIT_SYSVINIT
					      : INIT_NONE;
done:
	strbuf_release(&out);
	return ret;
}

const char *engine_storage_driver(const struct engine_options *eo,
				  const struct host_facts *f)
{
	if (eo && eo->storage_driver[0])
		return eo->storage_driver;
	if (!strcmp(f->varlibfs, "overlayfs"))
		return "";
	return "overlay2";
}

const char *engine_cert_dir(const struct host_facts *f)
{
	return f->init == INIT_BOOT2DOCKER ? ENGINE_B2D_DIR : ENGINE_CERT_DIR;
}

int engine_write_config(struct remote *rm, const struct host_facts *f,
			const struct engine_config *c, char *err)
{
	struct strbuf text = STRBUF_INIT;
	const char *path;
	mode_t mode = 0644;
	int ret;

	switch (f->init) {
	case INIT_SYSTEMD:
		ret = engine_render_systemd(c, &text, err);
		path = ENGINE_SYSTEMD_DROPIN;
		break;
	case INIT_SYSVINIT:
		/* The script with the arguments first, then the file that
		 * points the init script at it. */
		ret = engine_render_sysv_exec(c, &text, err);
		if (!ret)
			ret = remote_write(rm, ENGINE_SYSV_EXEC, text.buf, text.len, 0755, err);
		strbuf_reset(&text);
		if (!ret)
			ret = engine_render_defaults(c, &text, err);
		path = ENGINE_SYSV_DEFAULTS;
		break;
	case INIT_OPENRC:
		ret = engine_render_openrc(c, &text, err);
		path = ENGINE_OPENRC_CONF;
		break;
	case INIT_BOOT2DOCKER:
		ret = engine_render_b2d_profile(c, &text, err);
		path = ENGINE_B2D_PROFILE;
		break;
	default:
		ret = engine_render_supervisor(c, &text, err);
		path = ENGINE_SUPERVISOR;
		mode = 0755;
		break;
	}
	if (!ret)
		ret = remote_write(rm, path, text.buf, text.len, mode, err);
	strbuf_release(&text);
	return ret;
}

/* Stop our supervisor and any dockerd named by /var/run/docker.pid
 * (checked to be dockerd: a stale pid may belong to anything). */
#define STOP_LEFTOVERS                                                        \
	"if [ -f " ENGINE_SUPERVISOR_PID " ]; then "                          \
	"kill $(cat " ENGINE_SUPERVISOR_PID ") 2>/dev/null; "                 \
	"rm -f " ENGINE_SUPERVISOR_PID "; fi; "                               \
	"p=$(cat /var/run/docker.pid 2>/dev/null); "                          \
	"if [ -n \"$p\" ] && [ \"$(cat /proc/$p/comm 2>/dev/null)\" = dockerd ]; then " \
	"kill \"$p\" 2>/dev/null; i=0; "                                      \
	"while kill -0 \"$p\" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.2; i=$((i+1)); done; " \
	"kill -9 \"$p\" 2>/dev/null; fi; true"

/* Start the supervisor, detached from the SSH session. */
#define START_SUPERVISOR                                                      \
	"cd / && if command -v setsid >/dev/null 2>&1; then "                 \
	"setsid sh " ENGINE_SUPERVISOR " >>" ENGINE_SUPERVISOR_LOG " 2>&1 </dev/null & " \
	"else nohup sh " ENGINE_SUPERVISOR " >>" ENGINE_SUPERVISOR_LOG " 2>&1 </dev/null & fi"

/* Without an init system the engine must come back after a reboot too:
 * a line in /etc/rc.local (made executable; kept before a final exit 0),
 * added once. */
#define BOOT_HOOK                                                             \
	"if ! grep -q '# machinefs-dockerd$' /etc/rc.local 2>/dev/null; then { " \
	"if [ -s /etc/rc.local ]; then grep -v '^exit 0$' /etc/rc.local; else echo '#!/bin/sh'; fi; " \
	"echo '[ -x " ENGINE_SUPERVISOR " ] && (" START_SUPERVISOR ") # machinefs-dockerd'; " \
	"echo 'exit 0'; } > /etc/rc.local.machinefs-tmp && "                 \
	"cat /etc/rc.local.machinefs-tmp > /etc/rc.local && rm -f /etc/rc.local.machinefs-tmp; fi; " \
	"chmod 0755 /etc/rc.local"

int engine_restart(struct remote *rm, const struct host_facts *f, char *err)
{
	const char *script;

	switch (f->init) {
	case INIT_SYSTEMD:
		script = "systemctl daemon-reload && { systemctl stop docker; "
			 STOP_LEFTOVERS "; } && systemctl enable docker >/dev/null 2>&1; "
			 "systemctl start docker </dev/null";
		break;
	case INIT_BOOT2DOCKER:
		/* Its start returns once the API answers. */
		script = "/etc/init.d/docker stop </dev/null; " STOP_LEFTOVERS
			 "; /etc/init.d/docker start </dev/null";
		break;
	case INIT_SYSVINIT:
		script = "/etc/init.d/docker stop >/dev/null 2>&1; " STOP_LEFTOVERS
			 "; update-rc.d docker defaults >/dev/null 2>&1; "
			 "/etc/init.d/docker start </dev/null";
		break;
	case INIT_OPENRC:
		script = "rc-service docker stop >/dev/null 2>&1; " STOP_LEFTOVERS
			 "; rc-update add docker default >/dev/null 2>&1; rc-service docker start </dev/null";
		break;
	default:
		script = STOP_LEFTOVERS "; " BOOT_HOOK "; " START_SUPERVISOR;
		break;
	}
	return remote_run(rm, "restart the docker engine", script, NULL, 120000, err);
}

static void engine_log_tail(struct remote *rm, const struct host_facts *f,
			    char *buf, size_t len)
{
	struct strbuf out = STRBUF_INIT;
	char e[ERR_MAX];
	int status = 0;
	const char *script =
		f->init == INIT_SYSTEMD ? "journalctl -u docker -n 20 --no-pager -q 2>/dev/null"
		" | grep -v -e \"See 'dockerd --help'\" -e '^[[:space:]]*$' | tail -n 1"
		: f->init == INIT_NONE  ? "grep -v -e '^machinefs:' -e \"^See 'dockerd --help'\" "
		"-e '^[[:space:]]*$' " ENGINE_SUPERVISOR_LOG " | tail -n 1"
		: "grep -v -e \"^See 'dockerd --help'\" -e '^[[:space:]]*$' "
		"/var/log/docker.log | tail -n 1";

	buf[0] = '\0';
	if (!remote_exec(rm, script, &out, &status, 15000, e)) {
		strbuf_rtrim(&out);
		const char *s = strbuf_str(&out), *nl = strrchr(s, '\n');
		snprintf(buf, len, "%s", nl ? nl + 1 : s);
	}
	strbuf_release(&out);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 when a dockerd process runs on the host, 0 when none, -1 unknown. */
static int dockerd_running(struct remote *rm)
{
	char e[ERR_MAX];
	int status = -1;

	if (remote_exec(rm,
			"for p in /proc/[0-9]*; do "
			"[ \"$(cat $p/comm 2>/dev/null)\" = dockerd ] && exit 0; done; exit 1",
			NULL, &status, 15000, e))
		return -1;
	return status == 0 ? 1 : status == 1 ? 0 : -1;
}

int engine_wait_tls(struct remote *rm, const struct host_facts *f, char *err)
{
	const struct provision_request *r = rm->r;
	/* Where the engine answers from here: a forwarded port may differ
	 * from the one dockerd listens on. */
	int port = r->engine_check_port > 0 ? r->engine_check_port
		   : r->engine_port > 0     ? r->engine_port
					    : 2376;
	long long start = now_ms(), deadline = start + WAIT_TLS_MS;
	long long next_probe = start + PROBE_MS;
	char version[64], last[ERR_MAX] = "no answer", tail[256];
	int ret, missing = 0;

	plog(r, "Waiting for the Docker engine to answer over TLS on '%s:%d'...",
	     r->ip, port);
	for (;;) {
		if ((ret = remote_cancelled(r, err)))
			return ret;
		long long t0 = now_ms();
		ret = engine_check_tls(r->ip, port, r->ca_cert, r->client_cert,
				       r->client_key, 3000, version,
				       sizeof(version), last);
		if (!ret) {
			plog(r, "Docker is up and running! (engine %s, %.1f s)", version,
			     (double)(now_ms() - start) / 1000);
			return 0;
		}
		if (now_ms() >= deadline)
			break;
		/* Fail fast when dockerd keeps dying (a bad engine-opt): no
		 * dockerd process at PROBES_DEAD probes in a row. */
		if (now_ms() >= next_probe) {
			next_probe = now_ms() + PROBE_MS;
			int running = dockerd_running(rm);
			missing = running == 0 ? missing + 1 : 0;
			if (missing >= PROBES_DEAD) {
				engine_log_tail(rm, f, tail, sizeof(tail));
				return error_set(err, EIO,
						 "docker on '%s' does not stay up%s%s",
						 r->ssh.host, tail[0] ? ": engine log: " : "",
						 tail);
			}
		}
		long long left = POLL_MS - (now_ms() - t0);
		for (; left > 0; left -= 100) {
			if (r->cancel && *r->cancel)
				break;
			nanosleep(&(struct timespec){ 0, 100 * 1000000L }, NULL);
		}
	}
	engine_log_tail(rm, f, tail, sizeof(tail));
	return error_set(err, ETIMEDOUT,
			 "docker on '%s:%d' did not answer over TLS within %d s: %s%s%s",
			 r->ip, port, WAIT_TLS_MS / 1000, last,
			 tail[0] ? "; engine log: " : "", tail);
}
