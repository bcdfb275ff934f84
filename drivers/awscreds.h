/* AWS credentials, found as Docker Machine's amazonec2 driver finds them
 * (awscredentials.go over aws-sdk-go's default chain):
 *   1. the options amazonec2-access-key + amazonec2-secret-key
 *      (+ amazonec2-session-token), when both are given;
 *   2. the environment: AWS_ACCESS_KEY_ID (or AWS_ACCESS_KEY),
 *      AWS_SECRET_ACCESS_KEY (or AWS_SECRET_KEY), AWS_SESSION_TOKEN;
 *   3. the shared credentials file: $AWS_SHARED_CREDENTIALS_FILE or
 *      $HOME/.aws/credentials, profile $AWS_PROFILE or "default"
 *      (aws_access_key_id, aws_secret_access_key, aws_session_token).
 * The EC2 instance-role provider is not implemented. */
#ifndef MFS_AWSCREDS_H
#define MFS_AWSCREDS_H

struct aws_creds {
	char access_key[256];
	char secret_key[256];
	char session_token[4096];
	char source[512]; /* "options", "environment", "file '~/.aws/credentials' profile 'x'" */
};

/* 0, or -ENOKEY with a one-line err naming where it looked; -EINVAL for
 * a value too long. opt_*: the options' values (NULL or "": unset). */
int aws_creds_resolve(const char *opt_access, const char *opt_secret, const char *opt_token,
		      struct aws_creds *out, char *err);
/* Wipe the secrets. */
void aws_creds_clear(struct aws_creds *c);

#endif
