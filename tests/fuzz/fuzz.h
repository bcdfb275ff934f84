/* Shared by the libFuzzer harnesses: each defines LLVMFuzzerTestOneInput
 * and is linked either with libFuzzer (tests/fuzz/run.sh, clang) or with
 * replay.c, which runs it over the committed corpus in every build. */
#ifndef MFS_FUZZ_H
#define MFS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the input (caller frees). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* The next field of s up to sep (replaced by NUL), or the rest. */
static inline char *fuzz_field(char **s, char sep)
{
	char *f = *s, *e = strchr(f, sep);
	if (e) {
		*e = '\0';
		*s = e + 1;
	} else {
		*s = f + strlen(f);
	}
	return f;
}

#endif
