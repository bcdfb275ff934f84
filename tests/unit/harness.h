/* A tiny unit-test harness: CHECK records a failure and goes on; main()
 * of each test calls the cases and returns test_report(). The last line
 * printed is "N passed, N failed". */
#ifndef MFS_TEST_HARNESS_H
#define MFS_TEST_HARNESS_H

#include <string.h>

extern int test_passed, test_failed;

void test_check(int ok, const char *expr, const char *file, int line);
void test_check_str(const char *got, const char *want, const char *expr,
		    const char *file, int line);
int test_report(void);
/* A fresh temporary folder (freed at exit is not needed: under /tmp). */
const char *test_tmpdir(void);

#define CHECK(e) test_check(!!(e), #e, __FILE__, __LINE__)
#define CHECK_STR(got, want) test_check_str((got), (want), #got, __FILE__, __LINE__)

#endif
