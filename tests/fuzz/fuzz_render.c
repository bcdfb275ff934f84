/* fs/render.c: the env files for the six shells from a URL, a path and a
 * name (input: the three values separated by NUL bytes). */
#include "fs/render.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size), *rest = s;
	/* NULs separate the fields: fuzz_str's copy ends at the first one. */
	const char *v[3];
	size_t off = 0;
	for (int i = 0; i < 3; i++) {
		v[i] = off < size ? rest + off : "";
		off += strlen(v[i]) + 1;
	}
	for (int sh = SHELL_POSIX; sh <= SHELL_EMACS; sh++) {
		struct strbuf sb = STRBUF_INIT;
		render_env_lines((enum env_shell)sh, v[0], v[1], v[2], &sb);
		strbuf_release(&sb);
	}
	free(s);
	return 0;
}
