/* provision/engine_config.c: the dockerd arguments and each init
 * system's file from option values (input: NUL-separated values, used in
 * turn as labels, registries, mirrors, engine-opts, engine-env, the storage
 * driver). A value with a control character must be refused by every
 * renderer; an accepted file holds no control character but newlines. */
#include "provision/engine_config.h"
#include "tests/fuzz/fuzz.h"

/* A control character other than those in allowed. */
static int has_control(const char *s, size_t n, const char *allowed)
{
	for (size_t i = 0; i < n; i++)
		if ((((unsigned char)s[i] < 0x20 && !strchr(allowed, s[i])) || s[i] == 0x7f))
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine_options eo = { 0 };
	char storage[64] = "";
	int bad = 0;
	size_t off = 0;
	for (int i = 0; off < size && i < 32; i++) {
		const char *v = (const char *)data + off;
		size_t n = strnlen(v, size - off);
		char *copy = fuzz_str((const uint8_t *)v, n);
		struct strlist *lists[] = { &eo.labels, &eo.insecure_registry, &eo.registry_mirror,
					    &eo.arbitrary_flags, &eo.env };
		/* Only values that are used count: a later storage driver
		 * replaces an earlier one, a long one is not used. */
		if (i % 6 < 5) {
			strlist_add(lists[i % 6], copy);
			bad |= has_control(copy, n, "");
		} else if (n < sizeof(storage)) {
			memcpy(storage, copy, n + 1);
		}
		free(copy);
		off += n + 1;
	}
	bad |= has_control(storage, strlen(storage), "");
	struct engine_config c = { "/usr/bin/dockerd", 2376, "generic", storage, &eo, NULL };
	int (*fns[])(const struct engine_config *, struct strbuf *, char *) = {
		engine_render_systemd, engine_render_defaults, engine_render_sysv_exec,
		engine_render_openrc, engine_render_supervisor, engine_render_b2d_profile,
	};
	for (size_t f = 0; f < sizeof(fns) / sizeof(fns[0]); f++) {
		struct strbuf sb = STRBUF_INIT;
		char err[512];
		int rc = fns[f](&c, &sb, err);
		if (bad && rc == 0)
			abort(); /* a control character got through */
		if (rc == 0 && has_control(strbuf_str(&sb), sb.len, "\n\t")) /* ours: lines, indents */
			abort();
		if (rc && (sb.len || strchr(err, '\n')))
			abort(); /* refused: nothing written, one line */
		strbuf_release(&sb);
	}
	strlist_clear(&eo.labels);
	strlist_clear(&eo.insecure_registry);
	strlist_clear(&eo.registry_mirror);
	strlist_clear(&eo.arbitrary_flags);
	strlist_clear(&eo.env);
	return 0;
}
