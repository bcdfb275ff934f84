/* Provisioning a host over SSH as Docker Machine does (reference §4):
 * detect the OS, set the hostname, install Docker when absent, write the
 * engine's configuration with TLS, (re)start it and wait until it answers
 * a TLS request made with the client certificate.
 * Provisioning never knows which driver made the host. */
#ifndef MFS_PROVISION_H
#define MFS_PROVISION_H

#include <stdbool.h>

#include "lib/strlist.h"
#include "provision/ssh.h"

/* config.json HostOptions.EngineOptions, and the create options that
 * fill it. Owned by the core; strlist_clear each list to free. */
struct engine_options {
	struct strlist arbitrary_flags;   /* engine-opt: "flag=value" */
	struct strlist env;               /* engine-env: "K=V" */
	struct strlist insecure_registry; /* engine-insecure-registry */
	struct strlist labels;            /* engine-label: "k=v" */
	struct strlist registry_mirror;   /* engine-registry-mirror */
	char storage_driver[64];          /* engine-storage-driver */
	char install_url[1024];           /* engine-install-url; "none" skips */
	char log_level[32];
	char graph_dir[1024];
	bool ipv6, selinux_enabled, tls_verify;
};

struct provision_request {
	const char *machine;        /* used as hostname */
	const char *driver_name;    /* for the provider=... label */
	const char *ip;             /* the host's address (cert SAN) */
	int engine_port;            /* where dockerd listens on the host: 2376 */
	int engine_check_port;      /* where it answers from here (a forwarded
	                             * port, e.g. QEMU user networking); 0: engine_port */
	struct ssh_target ssh;
	const struct engine_options *engine;
	const struct strlist *tls_sans;
	/* Local TLS files. */
	const char *ca_cert, *ca_key;         /* certs/ca.pem, ca-key.pem */
	const char *client_cert, *client_key; /* certs/cert.pem, key.pem */
	const char *server_cert, *server_key; /* machine dir: server.pem, server-key.pem */
	const char *org;                      /* for the server cert subject */
	volatile int *cancel;
	void (*log_fn)(void *arg, const char *line);
	void *log_arg;
	/* Optional, called before each step with its name (one of
	 * PROVISION_STEPS); an error from it fails the step (the core's
	 * fault-injection test hook). */
	int (*step_fn)(void *arg, const char *step, char *err);
	void *step_arg;
	/* Optional, told what provisioning learnt (with step_arg):
	 * "provisioner" = the provisioner's name (Docker Machine's String():
	 * "debian", "ubuntu(systemd)"...). */
	void (*fact_fn)(void *arg, const char *fact, const char *value);
};

/* The steps, in the order a full run takes them. */
#define PROVISION_STEPS "connect", "inspect", "detect-os", "hostname", "install", \
	"server-cert", "copy-certs", "engine-config", "engine-restart", "engine-wait"
/* provision_upgrade's own step, after detect-os: "upgrade"; then
 * server-cert... as above. */

/* The whole provisioning run. */
int provision_run(const struct provision_request *r, char *err);
/* New server certificate with the current IP, uploaded, engine restarted. */
int provision_regenerate_certs(const struct provision_request *r, char *err);
/* Newer engine through the install URL or the package manager. */
int provision_upgrade(const struct provision_request *r, char *err);

/* The one libcurl-to-errno mapping: code is a CURLcode, os_errno curl's
 * CURLINFO_OS_ERRNO (0: none). */
int curl_errno(int code, long os_errno);

/* Engine readiness: an HTTPS GET /version with the client certificate.
 * On success *version (may be NULL, len bytes) gets the engine version. */
int engine_check_tls(const char *host, int port, const char *ca_cert,
		     const char *client_cert, const char *client_key,
		     int timeout_ms, char *version, size_t len, char *err);

/* How far an engine probe got, so a caller can say why it failed in its
 * own words (a class, not the text of err). */
enum engine_reach {
	ENGINE_NOT_TRIED,  /* bad address or unreadable TLS files */
	ENGINE_NO_TCP,     /* no connection: -ECONNREFUSED, -EHOSTUNREACH, -ETIMEDOUT... */
	ENGINE_UNTRUSTED,  /* connected; the engine's certificate failed verification */
	ENGINE_NO_TLS,     /* connected; the handshake failed otherwise (client cert refused...) */
	ENGINE_TLS,        /* handshake done (tls_only: success); /version not answered */
	ENGINE_ANSWERED,   /* /version answered with a version */
};
/* engine_check_tls with the detail: tls_only stops after the TLS
 * handshake (Docker Machine's check for env and config); *reach (may be
 * NULL) tells how far it got, also on failure. */
int engine_probe(const char *host, int port, const char *ca_cert,
		 const char *client_cert, const char *client_key,
		 int timeout_ms, bool tls_only, char *version, size_t len,
		 enum engine_reach *reach, char *err);

#endif
