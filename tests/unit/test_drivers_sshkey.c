/* Machine keys: ed25519 through ssh-keygen, the right modes and format. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "drivers/sshkey.h"
#include "lib/err.h"
#include "lib/fileutil.h"
#include "tests/unit/harness.h"

int main(void)
{
	char path[4096], pub[4200], err[ERR_MAX];
	snprintf(path, sizeof(path), "%s/id_ed25519", test_tmpdir());
	snprintf(pub, sizeof(pub), "%s.pub", path);
	CHECK(sshkey_generate_ed25519(path, "docker@m1", err) == 0);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	struct strbuf sb = STRBUF_INIT;
	CHECK(read_file(pub, &sb, err) == 0);
	CHECK(!strncmp(strbuf_str(&sb), "ssh-ed25519 AAAA", 16));
	CHECK(strstr(strbuf_str(&sb), " docker@m1") != NULL);
	strbuf_reset(&sb);
	CHECK(read_file(path, &sb, err) == 0);
	CHECK(strstr(strbuf_str(&sb), "BEGIN OPENSSH PRIVATE KEY") != NULL);
	/* Again: replaced, not refused. */
	char first[200];
	snprintf(first, sizeof(first), "%.100s", strbuf_str(&sb) + 40);
	CHECK(sshkey_generate_ed25519(path, "docker@m1", err) == 0);
	strbuf_reset(&sb);
	CHECK(read_file(path, &sb, err) == 0);
	CHECK(strstr(strbuf_str(&sb), first) == NULL || sb.len < 140);
	strbuf_release(&sb);
	/* Nowhere to write: an error, one line. */
	CHECK(sshkey_generate_ed25519("/nonexistent/dir/key", "x", err) < 0);
	CHECK(strstr(err, "/nonexistent/dir/key") != NULL);
	return test_report();
}
