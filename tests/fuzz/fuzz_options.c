/* fs/options.c and fs/hostopts.c: a write to options/NAME (input: the
 * name, a NUL, the value), read back, turned into HostOptions, deleted. */
#include <stdio.h>
#include <unistd.h>

#include "fs/config.h"
#include "lib/fileutil.h"
#include "tests/fuzz/fuzz.h"

static struct store *s;
static struct machine *m;

static void setup(void)
{
	char root[128], err[ERR_MAX];
	snprintf(root, sizeof(root), "%s/mfs-fuzz-options.%d",
		 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm", (int)getpid());
	remove_tree(root, NULL);
	if (store_open(root, &s, err) || store_mkdir(s, "f", err))
		abort();
	m = store_get(s, "f");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERR_MAX];
	if (!s)
		setup();
	const uint8_t *nul = memchr(data, '\0', size);
	if (!nul)
		return 0;
	char *name = fuzz_str(data, (size_t)(nul - data));
	char *value = fuzz_str(nul + 1, size - (size_t)(nul - data) - 1);
	option_scratch_name(name);
	option_lookup(name);
	machine_option_check(m, name, err);
	if (!machine_option_set(m, name, value, err)) {
		struct strbuf sb = STRBUF_INIT;
		machine_option_get(m, name, &sb);
		machine_option_raw(m, name, &sb);
		strbuf_release(&sb);
		pthread_mutex_lock(&m->lock);
		cJSON *ho = host_options_new(&m->opts, store_root(s), m->dir);
		cJSON *c = cJSON_CreateObject();
		cJSON_AddItemToObject(c, "HostOptions", ho);
		struct engine_options eo;
		host_options_engine(c, &eo, err);
		engine_options_clear(&eo);
		cJSON_Delete(c);
		pthread_mutex_unlock(&m->lock);
		machine_option_del(m, name, err);
	}
	free(name);
	free(value);
	return 0;
}
