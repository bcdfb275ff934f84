#include "tests/unit/harness.h"

#include <stdio.h>
#include <stdlib.h>

int test_passed, test_failed;

void test_check(int ok, const char *expr, const char *file, int line)
{
	if (ok) {
		test_passed++;
		return;
	}
	test_failed++;
	fprintf(stderr, "%s:%d: check failed: %s\n", file, line, expr);
}

void test_check_str(const char *got, const char *want, const char *expr,
		    const char *file, int line)
{
	if (got && want && !strcmp(got, want)) {
		test_passed++;
		return;
	}
	test_failed++;
	fprintf(stderr, "%s:%d: %s\n  got:  \"%s\"\n  want: \"%s\"\n", file, line,
		expr, got ? got : "(null)", want ? want : "(null)");
}

int test_report(void)
{
	printf("%d passed, %d failed\n", test_passed, test_failed);
	return test_failed ? 1 : 0;
}

const char *test_tmpdir(void)
{
	static char dir[] = "/tmp/mfs-unit-XXXXXX";
	static int made;
	if (!made) {
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			exit(2);
		}
		made = 1;
	}
	return dir;
}
