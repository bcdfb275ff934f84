/* The create options every driver shares (engine-*, swarm-*, tls-san)
 * and where they land in config.json's HostOptions. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "fs/config.h"
#include "lib/json.h"

const struct driver_option host_options[] = {
	{ "engine-install-url", OPT_STRING, "https://get.docker.com", "MACHINE_DOCKER_INSTALL_URL",
	  "Custom URL to use for engine installation ('none' skips the install)", 0, NULL },
	{ "engine-opt", OPT_LIST, NULL, NULL, "Specify arbitrary flags to include with the created engine in the form flag=value", 0, NULL },
	{ "engine-insecure-registry", OPT_LIST, NULL, NULL, "Specify insecure registries to allow with the created engine", 0, NULL },
	{ "engine-registry-mirror", OPT_LIST, NULL, "ENGINE_REGISTRY_MIRROR", "Specify registry mirrors to use", 0, NULL },
	{ "engine-label", OPT_LIST, NULL, NULL, "Specify labels for the created engine", 0, NULL },
	{ "engine-storage-driver", OPT_STRING, NULL, NULL, "Specify a storage driver to use with the engine", 0, NULL },
	{ "engine-env", OPT_LIST, NULL, NULL, "Specify environment variables to set in the engine", 0, NULL },
	{ "swarm", OPT_BOOL, NULL, NULL, "Configure Machine to join a Swarm cluster", 0, NULL },
	{ "swarm-image", OPT_STRING, "swarm:latest", "MACHINE_SWARM_IMAGE", "Specify Docker image to use for Swarm", 0, NULL },
	{ "swarm-master", OPT_BOOL, NULL, NULL, "Configure Machine to be a Swarm master", 0, NULL },
	{ "swarm-discovery", OPT_STRING, NULL, NULL, "Discovery service to use with Swarm", 0, NULL },
	{ "swarm-strategy", OPT_STRING, "spread", NULL, "Define a default scheduling strategy for Swarm", 0, NULL },
	{ "swarm-opt", OPT_LIST, NULL, NULL, "Define arbitrary flags for Swarm master", 0, NULL },
	{ "swarm-join-opt", OPT_LIST, NULL, NULL, "Define arbitrary flags for Swarm join", 0, NULL },
	{ "swarm-host", OPT_STRING, "tcp://0.0.0.0:3376", NULL, "ip/socket to listen on for Swarm master", 0, NULL },
	{ "swarm-addr", OPT_STRING, NULL, NULL, "addr to advertise for Swarm (default: detect and use the machine IP)", 0, NULL },
	{ "swarm-experimental", OPT_BOOL, NULL, NULL, "Enable Swarm experimental features", 0, NULL },
	{ "tls-san", OPT_LIST, NULL, NULL, "Support extra SANs for TLS certs", 0, NULL },
	{ NULL },
};

const struct driver_option *host_option_find(const char *name)
{
	for (const struct driver_option *o = host_options; o->name; o++)
		if (!strcmp(o->name, name))
			return o;
	return NULL;
}

static const char *opt_or_default(const struct option_set *opts, const char *name)
{
	const char *v = option_set_get(opts, name);
	if (v && *v)
		return v;
	const struct driver_option *o = host_option_find(name);
	return o && o->def ? o->def : "";
}

static void opt_list(const struct option_set *opts, const char *name,
		     struct strlist *l)
{
	const char *v = option_set_get(opts, name);
	if (v)
		strlist_split_lines(l, v);
}

static bool opt_bool(const struct option_set *opts, const char *name)
{
	const char *v = option_set_get(opts, name);
	return v && (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"));
}

static void put_opt_list(cJSON *obj, const char *key,
			 const struct option_set *opts, const char *name,
			 bool null_if_empty)
{
	struct strlist l = STRLIST_INIT;
	opt_list(opts, name, &l);
	json_put_list(obj, key, &l, null_if_empty);
	strlist_clear(&l);
}

cJSON *host_options_new(const struct option_set *opts, const char *store,
			const char *machine_dir)
{
	cJSON *ho = cJSON_CreateObject();
	json_put_str(ho, "Driver", "");
	json_put_int(ho, "Memory", 0);
	json_put_int(ho, "Disk", 0);

	cJSON *eo = cJSON_CreateObject();
	put_opt_list(eo, "ArbitraryFlags", opts, "engine-opt", false);
	json_put(eo, "Dns", cJSON_CreateNull());
	json_put_str(eo, "GraphDir", "");
	put_opt_list(eo, "Env", opts, "engine-env", false);
	json_put_bool(eo, "Ipv6", false);
	put_opt_list(eo, "InsecureRegistry", opts, "engine-insecure-registry", false);
	put_opt_list(eo, "Labels", opts, "engine-label", false);
	json_put_str(eo, "LogLevel", "");
	json_put_str(eo, "StorageDriver", opt_or_default(opts, "engine-storage-driver"));
	json_put_bool(eo, "SelinuxEnabled", false);
	json_put_bool(eo, "TlsVerify", true);
	put_opt_list(eo, "RegistryMirror", opts, "engine-registry-mirror", false);
	json_put_str(eo, "InstallURL", opt_or_default(opts, "engine-install-url"));
	json_put(ho, "EngineOptions", eo);

	bool agent = opt_bool(opts, "swarm"), master = opt_bool(opts, "swarm-master");
	cJSON *so = cJSON_CreateObject();
	json_put_bool(so, "IsSwarm", agent || master);
	json_put_str(so, "Address", opt_or_default(opts, "swarm-addr"));
	json_put_str(so, "Discovery", opt_or_default(opts, "swarm-discovery"));
	json_put_bool(so, "Agent", agent);
	json_put_bool(so, "Master", master);
	json_put_str(so, "Host", opt_or_default(opts, "swarm-host"));
	json_put_str(so, "Image", opt_or_default(opts, "swarm-image"));
	json_put_str(so, "Strategy", opt_or_default(opts, "swarm-strategy"));
	json_put_int(so, "Heartbeat", 0);
	json_put_int(so, "Overcommit", 0);
	put_opt_list(so, "ArbitraryFlags", opts, "swarm-opt", false);
	put_opt_list(so, "ArbitraryJoinFlags", opts, "swarm-join-opt", false);
	json_put(so, "Env", cJSON_CreateNull());
	json_put_bool(so, "IsExperimental", opt_bool(opts, "swarm-experimental"));
	json_put(ho, "SwarmOptions", so);

	char p[PATH_MAX + 64];
	cJSON *ao = cJSON_CreateObject();
	snprintf(p, sizeof(p), "%s/certs", store);
	json_put_str(ao, "CertDir", p);
	snprintf(p, sizeof(p), "%s/certs/ca.pem", store);
	json_put_str(ao, "CaCertPath", p);
	snprintf(p, sizeof(p), "%s/certs/ca-key.pem", store);
	json_put_str(ao, "CaPrivateKeyPath", p);
	json_put_str(ao, "CaCertRemotePath", "");
	snprintf(p, sizeof(p), "%s/server.pem", machine_dir);
	json_put_str(ao, "ServerCertPath", p);
	snprintf(p, sizeof(p), "%s/server-key.pem", machine_dir);
	json_put_str(ao, "ServerKeyPath", p);
	snprintf(p, sizeof(p), "%s/certs/key.pem", store);
	json_put_str(ao, "ClientKeyPath", p);
	json_put_str(ao, "ServerCertRemotePath", "");
	json_put_str(ao, "ServerKeyRemotePath", "");
	snprintf(p, sizeof(p), "%s/certs/cert.pem", store);
	json_put_str(ao, "ClientCertPath", p);
	put_opt_list(ao, "ServerCertSANs", opts, "tls-san", false);
	json_put_str(ao, "StorePath", machine_dir);
	json_put(ho, "AuthOptions", ao);
	return ho;
}

/* Copy a value into its fixed field, or say it does not fit. */
static int fit(char *dst, size_t len, const char *value, const char *option, char *err)
{
	if (snprintf(dst, len, "%s", value) < (int)len)
		return 0;
	dst[0] = '\0';
	return error_set(err, EINVAL, "the value of '%s' is too long: %zu bytes, at most %zu",
			 option, strlen(value), len - 1);
}

int host_options_engine(const cJSON *config, struct engine_options *eo, char *err)
{
	const cJSON *ho = json_obj(config, "HostOptions");
	const cJSON *e = json_obj(ho, "EngineOptions");
	memset(eo, 0, sizeof(*eo));
	json_list(e, "ArbitraryFlags", &eo->arbitrary_flags);
	json_list(e, "Env", &eo->env);
	json_list(e, "InsecureRegistry", &eo->insecure_registry);
	json_list(e, "Labels", &eo->labels);
	json_list(e, "RegistryMirror", &eo->registry_mirror);
	eo->ipv6 = json_bool(e, "Ipv6", false);
	eo->selinux_enabled = json_bool(e, "SelinuxEnabled", false);
	eo->tls_verify = json_bool(e, "TlsVerify", true);
	int rc = fit(eo->storage_driver, sizeof(eo->storage_driver),
		     json_str(e, "StorageDriver", ""), "engine-storage-driver", err);
	if (!rc)
		rc = fit(eo->install_url, sizeof(eo->install_url),
			 json_str(e, "InstallURL", "https://get.docker.com"), "engine-install-url", err);
	if (!rc)
		rc = fit(eo->log_level, sizeof(eo->log_level), json_str(e, "LogLevel", ""),
			 "EngineOptions.LogLevel", err);
	if (!rc)
		rc = fit(eo->graph_dir, sizeof(eo->graph_dir), json_str(e, "GraphDir", ""),
			 "EngineOptions.GraphDir", err);
	return rc;
}

void engine_options_clear(struct engine_options *eo)
{
	strlist_clear(&eo->arbitrary_flags);
	strlist_clear(&eo->env);
	strlist_clear(&eo->insecure_registry);
	strlist_clear(&eo->labels);
	strlist_clear(&eo->registry_mirror);
}
