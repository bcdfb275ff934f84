/* AWS Signature Version 4 (AWS4-HMAC-SHA256), the one signer for AWS
 * APIs, checked against the AWS SigV4 test suite
 * (tests/unit/test_drivers_sigv4.c).
 *
 * sigv4_sign() takes a request (method, "/path?query", headers as
 * "Name: value" lines, body) and adds to the headers what signing adds:
 * X-Amz-Date (unless already there), X-Amz-Security-Token (with a session
 * token), X-Amz-Content-Sha256 (sign_body), Authorization. The caller
 * owns the header list; the intermediate texts go to an optional
 * struct sigv4_trace (tests, the fake cloud's checks). */
#ifndef MFS_SIGV4_H
#define MFS_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "lib/strbuf.h"
#include "lib/strlist.h"

struct sigv4_key {
	const char *access_key;
	const char *secret_key;
	const char *session_token; /* NULL or "": none */
};

struct sigv4_params {
	const char *region;   /* "us-east-1" */
	const char *service;  /* "ec2" */
	time_t when;          /* 0: now */
	bool sign_body;       /* add and sign X-Amz-Content-Sha256 (S3 style) */
	bool no_normalize;    /* keep the path as given (S3 style) */
	bool token_unsigned;  /* add the session token after signing */
};

/* What signing computed, for tests. Release with sigv4_trace_release. */
struct sigv4_trace {
	struct strbuf creq;  /* canonical request */
	struct strbuf sts;   /* string to sign */
	char signature[65];  /* hex */
	struct strbuf authorization; /* the Authorization header's value */
};

int sigv4_sign(const struct sigv4_key *key, const struct sigv4_params *p,
	       const char *method, const char *target, struct strlist *headers,
	       const void *body, size_t body_len, struct sigv4_trace *trace,
	       char *err);
void sigv4_trace_release(struct sigv4_trace *t);

/* The signing key's derivation alone (AWS "Task 3"), as hex: for the
 * published key-derivation vectors. out: 65 bytes. */
void sigv4_signing_key_hex(const char *secret, const char *date8, const char *region,
			   const char *service, char *out);

#endif
