/* fs/config.c and fs/store.c: a machine folder as the store holds it,
 * machinefs.json and config.json (written by us, by docker-machine, or
 * edited by hand), loaded at mount, then every file rendered from it and
 * the record written back. Input: machinefs.json NUL config.json (none if
 * empty) [NUL folder name, default "f": names in the store are outside
 * input too]; without a NUL, config.json alone. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/config.h"
#include "fs/render.h"
#include "lib/fileutil.h"
#include "tests/fuzz/fuzz.h"

static char root[128], dir[512];

static void put(const char *name, const char *data, size_t len)
{
	char path[sizeof(dir) + 32], err[ERR_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (write_file_atomic(path, data, len, 0600, err))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERR_MAX];
	if (!*root)
		snprintf(root, sizeof(root), "%s/mfs-fuzz-store.%d",
			 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm", (int)getpid());
	/* Up to three fields; the copy has a NUL after the last one. */
	char *in = malloc(size + 1);
	if (!in)
		abort();
	memcpy(in, data, size);
	in[size] = '\0';
	char *f[3] = { NULL, NULL, NULL };
	size_t len[3] = { 0, 0, 0 }, off = 0;
	int n = 0;
	while (n < 3 && off <= size) {
		char *e = memchr(in + off, '\0', size - off + 1);
		f[n] = in + off;
		len[n] = (n == 2) ? size - off : (size_t)(e - (in + off));
		off += len[n] + 1;
		n++;
	}
	const char *name = n == 3 && len[2] && len[2] < 256 && !memchr(f[2], '/', len[2]) &&
			   !memchr(f[2], '\0', len[2]) && strcmp(f[2], ".") && strcmp(f[2], "..")
				   ? f[2] : "f";
	snprintf(dir, sizeof(dir), "%s/machines/%s", root, name);
	remove_tree(root, NULL);
	if (mkdir_p(dir, 0700, err))
		abort();
	if (n == 1) {
		put("config.json", (const char *)data, size);
	} else {
		put("machinefs.json", f[0], len[0]);
		if (len[1])
			put("config.json", f[1], len[1]);
	}
	struct store *s;
	if (store_open(root, &s, err))
		abort();
	struct machine *m = store_get(s, name);
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
	free(in);
	return 0;
}
