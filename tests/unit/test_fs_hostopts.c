/* host_options_engine: values from config.json that do not fit their
 * field are refused with a message, never cut short. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/config.h"
#include "tests/unit/harness.h"

static int load(const char *key, size_t len, struct engine_options *eo, char *err)
{
	char value[4096];
	memset(value, 'a', len);
	value[len] = '\0';
	cJSON *c = cJSON_CreateObject();
	cJSON *ho = cJSON_AddObjectToObject(c, "HostOptions");
	cJSON *e = cJSON_AddObjectToObject(ho, "EngineOptions");
	cJSON_AddStringToObject(e, key, value);
	int rc = host_options_engine(c, eo, err);
	cJSON_Delete(c);
	return rc;
}

int main(void)
{
	struct engine_options eo;
	char err[ERR_MAX];
	static const struct { const char *key, *option; size_t max; } cases[] = {
		{ "StorageDriver", "engine-storage-driver", sizeof(eo.storage_driver) - 1 },
		{ "InstallURL", "engine-install-url", sizeof(eo.install_url) - 1 },
		{ "LogLevel", "EngineOptions.LogLevel", sizeof(eo.log_level) - 1 },
		{ "GraphDir", "EngineOptions.GraphDir", sizeof(eo.graph_dir) - 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		CHECK(load(cases[i].key, cases[i].max, &eo, err) == 0);
		engine_options_clear(&eo);
		CHECK(load(cases[i].key, cases[i].max + 1, &eo, err) == -EINVAL);
		char want[256];
		snprintf(want, sizeof(want), "the value of '%s' is too long: %zu bytes, at most %zu",
			 cases[i].option, cases[i].max + 1, cases[i].max);
		CHECK_STR(err, want);
		engine_options_clear(&eo);
	}
	return test_report();
}
