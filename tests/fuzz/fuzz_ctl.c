/* fs/ops.c: one write to a machine's ctl. */
#include "fs/ops.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char word[64], small[4], err[ERR_MAX];
	ctl_parse((const char *)data, size, word, sizeof(word), err);
	ctl_parse((const char *)data, size, small, sizeof(small), err);
	return 0;
}
