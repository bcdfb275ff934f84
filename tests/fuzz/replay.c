/* Runs a harness over files and folders of inputs (the committed corpus
 * and crash reproducers) without libFuzzer, so every build replays them,
 * under ASan+UBSan in the sanitizer build. */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

#include "lib/err.h"
#include "lib/fileutil.h"
#include "lib/strbuf.h"
#include "tests/fuzz/fuzz.h"

static int replay_file(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	char err[ERR_MAX];
	if (read_file(path, &sb, err)) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	/* An exact-size copy, as libFuzzer passes it: reading past the end
	 * is caught under ASan. */
	uint8_t *data = malloc(sb.len ? sb.len : 1);
	if (!data)
		abort();
	size_t len = sb.len;
	memcpy(data, sb.buf, len);
	strbuf_release(&sb);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 0, n = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			perror(argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			rc |= replay_file(argv[i]);
			n++;
			continue;
		}
		DIR *d = opendir(argv[i]);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
			rc |= replay_file(path);
			n++;
		}
		if (d)
			closedir(d);
	}
	printf("%d inputs replayed\n", n);
	return rc;
}
