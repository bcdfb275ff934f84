/* The AWS credentials chain: options, then the environment, then the
 * shared credentials file (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/awscreds.h"
#include "lib/err.h"
#include "lib/fileutil.h"
#include "tests/unit/harness.h"

static void clear_env(void)
{
	const char *vars[] = { "AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY",
			       "AWS_SECRET_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
			       "AWS_SHARED_CREDENTIALS_FILE" };
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

int main(void)
{
	char err[ERR_MAX];
	struct aws_creds c;
	const char *home = test_tmpdir();
	clear_env();
	setenv("HOME", home, 1);

	/* Nothing anywhere: one line naming all three places. */
	CHECK(aws_creds_resolve(NULL, NULL, NULL, &c, err) == -ENOKEY);
	CHECK(strstr(err, "amazonec2-access-key") && strstr(err, "AWS_ACCESS_KEY_ID") &&
	      strstr(err, "/.aws/credentials") && !strchr(err, '\n'));

	/* The file, default profile. */
	char dir[4096], file[4200];
	snprintf(dir, sizeof(dir), "%s/.aws", home);
	snprintf(file, sizeof(file), "%s/credentials", dir);
	CHECK(mkdir_p(dir, 0700, err) == 0);
	const char *ini = "# comment\n[default]\naws_access_key_id = AKIDFILE\n"
			  "aws_secret_access_key=secretfile \n\n[ci]\naws_access_key_id=AKIDCI\n"
			  "aws_secret_access_key = secretci\naws_session_token = tokci\n[half]\n"
			  "aws_access_key_id=AKIDHALF\n";
	CHECK(write_file_atomic(file, ini, strlen(ini), 0600, err) == 0);
	CHECK(aws_creds_resolve(NULL, NULL, NULL, &c, err) == 0);
	CHECK_STR(c.access_key, "AKIDFILE");
	CHECK_STR(c.secret_key, "secretfile");
	CHECK_STR(c.session_token, "");
	CHECK(strstr(c.source, "profile 'default'") != NULL);

	/* AWS_PROFILE picks another section, with its token. */
	setenv("AWS_PROFILE", "ci", 1);
	CHECK(aws_creds_resolve(NULL, NULL, NULL, &c, err) == 0);
	CHECK_STR(c.access_key, "AKIDCI");
	CHECK_STR(c.secret_key, "secretci");
	CHECK_STR(c.session_token, "tokci");
	setenv("AWS_PROFILE", "half", 1);
	CHECK(aws_creds_resolve(NULL, NULL, NULL, &c, err) == -ENOKEY);
	CHECK(strstr(err, "'half'") != NULL);
	CHECK_STR(c.access_key, "");
	setenv("AWS_PROFILE", "nosuch", 1);
	CHECK(aws_creds_resolve(NULL, NULL, NULL, &c, err) == -ENOKEY);
	unsetenv("AWS_PROFILE");

	/* AWS_SHARED_CREDENTIALS_FILE moves the file. */
	char other[4200];
	snprintf(other, sizeof(other), "%s/other.ini", home);
	const char *ini2 = "[default]\naws_access_key_id=AKIDOTHER\naws_secret_access_key=so\n";
	CHECK(write_file_atomic(other, ini2, strlen(ini2), 0600, err) == 0);
	setenv("AWS_SHARED_CREDENTIALS_FILE", other, 1);
	CHECK(aws_creds_resolve(NULL, NULL, NULL, &c, err) == 0);
	CHECK_STR(c.access_key, "AKIDOTHER");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");

	/* The environment wins over the file; the older names work too. */
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
	setenv("AWS_SESSION_TOKEN", "tokenv", 1);
	CHECK(aws_creds_resolve(NULL, NULL, NULL, &c, err) == 0);
	CHECK_STR(c.access_key, "AKIDENV");
	CHECK_STR(c.secret_key, "secretenv");
	CHECK_STR(c.session_token, "tokenv");
	CHECK_STR(c.source, "environment");
	clear_env();
	setenv("AWS_ACCESS_KEY", "AKIDOLD", 1);
	setenv("AWS_SECRET_KEY", "secretold", 1);
	CHECK(aws_creds_resolve(NULL, NULL, NULL, &c, err) == 0);
	CHECK_STR(c.access_key, "AKIDOLD");
	/* Only a key id in the environment: on to the file. */
	unsetenv("AWS_SECRET_KEY");
	CHECK(aws_creds_resolve(NULL, NULL, NULL, &c, err) == 0);
	CHECK_STR(c.access_key, "AKIDFILE");

	/* Options win over everything; both key and secret needed. */
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
	CHECK(aws_creds_resolve("AKIDOPT", "secretopt", "tokopt", &c, err) == 0);
	CHECK_STR(c.access_key, "AKIDOPT");
	CHECK_STR(c.secret_key, "secretopt");
	CHECK_STR(c.session_token, "tokopt");
	CHECK_STR(c.source, "options");
	CHECK(aws_creds_resolve("AKIDOPT", "", NULL, &c, err) == 0);
	CHECK_STR(c.access_key, "AKIDENV");

	/* Too long is refused, not cut. */
	char big[300];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(aws_creds_resolve(big, "s", NULL, &c, err) == -EINVAL);
	CHECK(strstr(err, "too long") != NULL);
	aws_creds_clear(&c);
	CHECK_STR(c.secret_key, "");
	return test_report();
}
