/* The option helpers every driver shares (drivers/driver.c): the user's
 * value, else the option's environment variable, else its default; as a
 * bool, copied into a fixed field (a value that does not fit refused, not
 * truncated), and as a number in a range. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/driver.h"
#include "tests/unit/harness.h"

static const struct driver_option t_options[] = {
	{ "t-name", OPT_STRING, "dflt", "MFS_UNIT_T_NAME", "a name", 0, NULL },
	{ "t-none", OPT_STRING, NULL, "MFS_UNIT_T_NONE", "no default", 0, NULL },
	{ "t-flag", OPT_BOOL, NULL, "MFS_UNIT_T_FLAG", "a flag", 0, NULL },
	{ "t-on", OPT_BOOL, "true", NULL, "on by default", 0, NULL },
	{ "t-port", OPT_INT, "22", "MFS_UNIT_T_PORT", "a port", 0, NULL },
	{ "t-count", OPT_INT, NULL, NULL, "no default", 0, NULL },
	{ NULL },
};

static const struct machine_driver t_driver = {
	.name = "t",
	.options = t_options,
};

static struct option_set os;
static struct driver_ctx ctx;

static void reset(void)
{
	option_set_clear(&os);
	memset(&ctx, 0, sizeof(ctx));
	ctx.opts = &os;
	unsetenv("MFS_UNIT_T_NAME");
	unsetenv("MFS_UNIT_T_NONE");
	unsetenv("MFS_UNIT_T_FLAG");
	unsetenv("MFS_UNIT_T_PORT");
}

static void test_copy(void)
{
	char buf[8] = "x";
	reset();
	CHECK(driver_opt_copy(&ctx, &t_driver, "t-name", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "dflt");
	setenv("MFS_UNIT_T_NAME", "fromenv", 1);
	CHECK(driver_opt_copy(&ctx, &t_driver, "t-name", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "fromenv");
	option_set_put(&os, "t-name", "user");
	CHECK(driver_opt_copy(&ctx, &t_driver, "t-name", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "user");
	/* An empty user value falls through to the environment. */
	option_set_put(&os, "t-name", "");
	CHECK(driver_opt_copy(&ctx, &t_driver, "t-name", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "fromenv");
	/* No value at all: the empty string. */
	CHECK(driver_opt_copy(&ctx, &t_driver, "t-none", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "");
	/* 7 bytes fit in 8; 8 do not, and the field is left alone. */
	option_set_put(&os, "t-name", "1234567");
	CHECK(driver_opt_copy(&ctx, &t_driver, "t-name", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "1234567");
	option_set_put(&os, "t-name", "12345678");
	CHECK(driver_opt_copy(&ctx, &t_driver, "t-name", buf, sizeof(buf)) == -EINVAL);
	CHECK_STR(buf, "1234567");
	CHECK_STR(ctx.err, "value of option 't-name' is too long (at most 7 bytes)");
}

static void test_bool(void)
{
	reset();
	CHECK(!driver_opt_env_bool(&ctx, &t_driver, "t-flag"));
	CHECK(driver_opt_env_bool(&ctx, &t_driver, "t-on"));
	setenv("MFS_UNIT_T_FLAG", "1", 1);
	CHECK(driver_opt_env_bool(&ctx, &t_driver, "t-flag"));
	setenv("MFS_UNIT_T_FLAG", "yes", 1);
	CHECK(driver_opt_env_bool(&ctx, &t_driver, "t-flag"));
	option_set_put(&os, "t-flag", "false");
	CHECK(!driver_opt_env_bool(&ctx, &t_driver, "t-flag"));
	option_set_put(&os, "t-flag", "true");
	CHECK(driver_opt_env_bool(&ctx, &t_driver, "t-flag"));
	option_set_put(&os, "t-flag", "TRUE");
	CHECK(!driver_opt_env_bool(&ctx, &t_driver, "t-flag"));
	option_set_put(&os, "t-on", "no");
	CHECK(!driver_opt_env_bool(&ctx, &t_driver, "t-on"));
	/* driver_opt_bool() does not read the environment. */
	option_set_del(&os, "t-flag");
	CHECK(!driver_opt_bool(&ctx, &t_driver, "t-flag"));
}

static void test_range(void)
{
	int n = -1;
	reset();
	CHECK(driver_opt_range(&ctx, &t_driver, "t-port", 1, 65535, &n) == 0);
	CHECK(n == 22);
	setenv("MFS_UNIT_T_PORT", "2222", 1);
	CHECK(driver_opt_range(&ctx, &t_driver, "t-port", 1, 65535, &n) == 0);
	CHECK(n == 2222);
	option_set_put(&os, "t-port", "65535");
	CHECK(driver_opt_range(&ctx, &t_driver, "t-port", 1, 65535, &n) == 0);
	CHECK(n == 65535);
	n = 7;
	option_set_put(&os, "t-port", "65536");
	CHECK(driver_opt_range(&ctx, &t_driver, "t-port", 1, 65535, &n) == -EINVAL);
	CHECK(n == 7);
	CHECK_STR(ctx.err, "invalid value '65536' for option 't-port': want 1-65535");
	option_set_put(&os, "t-port", "22x");
	CHECK(driver_opt_range(&ctx, &t_driver, "t-port", 1, 65535, &n) == -EINVAL);
	CHECK_STR(ctx.err, "invalid value '22x' for option 't-port': want 1-65535");
	/* No value and no default: refused, not 0. */
	CHECK(driver_opt_range(&ctx, &t_driver, "t-count", 0, 9, &n) == -EINVAL);
	CHECK_STR(ctx.err, "invalid value '' for option 't-count': want 0-9");
	/* A long bad value is shown cut at 60 bytes. */
	char longv[100];
	memset(longv, '9', 99);
	longv[99] = '\0';
	option_set_put(&os, "t-port", longv);
	CHECK(driver_opt_range(&ctx, &t_driver, "t-port", 1, 65535, &n) == -EINVAL);
	CHECK(strstr(ctx.err, "'999999999999999999999999999999999999999999999999999999999999'") != NULL);
}

int main(void)
{
	test_copy();
	test_bool();
	test_range();
	reset();
	return test_report();
}
