/* fs/config.c and fs/store.c: a machine folder as the store holds it,
 * machinefs.json and config.json (written by us, by docker-machine, or
 * edited by hand), loaded at mount, then every file rendered from it and
 * the record written back. Input: machinefs.json NUL config.json (none if
 * empty); without a NUL, config.json alone. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/config.h"
#include "fs/render.h"
#include "lib/fileutil.h"
#include "tests/fuzz/fuzz.h"

static char root[128], dir[256];

static void put(const char *name, const char *data, size_t len)
{
	char path[300], err[ERR_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (write_file_atomic(path, data, len, 0600, err))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERR_MAX];
	if (!*root) {
		snprintf(root, sizeof(root), "%s/mfs-fuzz-store.%d",
			 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm", (int)getpid());
		snprintf(dir, sizeof(dir), "%s/machines/f", root);
	}
	remove_tree(root, NULL);
	if (mkdir_p(dir, 0700, err))
		abort();
	const uint8_t *nul = memchr(data, '\0', size);
	if (nul) {
		put("machinefs.json", (const char *)data, (size_t)(nul - data));
		if (size - (size_t)(nul - data) - 1)
			put("config.json", (const char *)nul + 1, size - (size_t)(nul - data) - 1);
	} else {
		put("config.json", (const char *)data, size);
	}
	struct store *s;
	if (store_open(root, &s, err))
		abort();
	struct machine *m = store_get(s, "f");
	if (m) {
		struct strbuf sb = STRBUF_INIT;
		render_driver(m, &sb);
		render_state(m, &sb);
		render_ip(m, &sb);
		render_url(m, &sb);
		for (int sh = SHELL_POSIX; sh <= SHELL_EMACS; sh++)
			render_env(m, (enum env_shell)sh, &sb);
		render_config(m, &sb);
		render_config_json(m, &sb);
		render_ctl(m, &sb);
		render_error(m, &sb);
		render_docker_version(m, &sb);
		render_ssh(m, "user", &sb);
		render_ssh(m, "port", &sb);
		render_ssh(m, "host", &sb);
		struct strlist names = STRLIST_INIT;
		machine_option_names(m, &names);
		for (size_t i = 0; i < names.n; i++)
			machine_option_get(m, names.v[i], &sb);
		strlist_clear(&names);
		pthread_mutex_lock(&m->lock);
		struct engine_options eo;
		host_options_engine(m->config, &eo, err);
		engine_options_clear(&eo);
		config_save(m, err);
		record_save(m, err);
		pthread_mutex_unlock(&m->lock);
		strbuf_release(&sb);
		machine_put(m);
	}
	store_close(s);
	remove_tree(root, NULL);
	return 0;
}
