/* The cloud drivers' outside input: what an API answers (error bodies in
 * JSON or XML, EC2's XML, headers) and the credential files a user points
 * them at (Google key files, ~/.aws/credentials). The first byte picks
 * the parser, the rest is the input. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "drivers/awscreds.h"
#include "drivers/ec2api.h"
#include "drivers/gauth.h"
#include "drivers/http.h"
#include "tests/fuzz/fuzz.h"

static const char *tmpfile_with(const uint8_t *data, size_t size)
{
	static char path[64];
	if (!*path)
		snprintf(path, sizeof(path), "/tmp/mfs-fuzz-cloud.%d", (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	close(fd);
	return path;
}

static void answer(const uint8_t *data, size_t size)
{
	struct driver_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	struct http_resp rs = HTTP_RESP_INIT;
	rs.status = 400;
	strbuf_add(&rs.body, data, size);
	/* Headers: the body's lines, as curl hands them over. */
	strlist_split_lines(&rs.headers, rs.body.buf);
	struct strbuf out = STRBUF_INIT;
	http_resp_message(&rs, &out);
	http_resp_header(&rs, "Retry-After");
	http_resp_header(&rs, "content-type");
	strbuf_reset(&out);
	http_xml_text(rs.body.buf, rs.body.len, "Code", &out);
	http_xml_text(rs.body.buf, rs.body.len, "Message", &out);
	cJSON *j = NULL;
	if (!http_resp_json(&ctx, &rs, "fuzz", &j))
		cJSON_Delete(j);
	strbuf_release(&out);
	http_resp_release(&rs);
}

static void ec2_answer(const uint8_t *data, size_t size)
{
	xmlDoc *doc = xmlReadMemory((const char *)data, (int)size, "answer.xml", NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return;
	xmlNode *root = xmlDocGetRootElement(doc);
	char buf[64];
	for (xmlNode *it = ec2_xml_find(root, "reservationSet/item/instancesSet/item"); it;
	     it = ec2_xml_next(it)) {
		ec2_xml_text(it, "instanceId", buf, sizeof(buf));
		ec2_xml_text(it, "instanceState/name", buf, sizeof(buf));
		ec2_xml_text(it, "ipAddress", buf, 4);
	}
	ec2_xml_text(root, "Errors/Error/Code", buf, sizeof(buf));
	ec2_xml_text(root, "", buf, sizeof(buf));
	xmlFreeDoc(doc);
}

static void google_key(const uint8_t *data, size_t size)
{
	struct gauth_cred c;
	char err[ERR_MAX];
	memset(&c, 0, sizeof(c));
	if (!gauth_load(tmpfile_with(data, size), &c, err)) {
		struct strbuf body = STRBUF_INIT;
		gauth_token_body(&c, GAUTH_SCOPE_COMPUTE, 1700000000, &body, err);
		strbuf_release(&body);
		gauth_cred_release(&c);
	}
}

static void aws_file(const uint8_t *data, size_t size)
{
	struct aws_creds c;
	char err[ERR_MAX];
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_ACCESS_KEY");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SECRET_KEY");
	setenv("AWS_SHARED_CREDENTIALS_FILE", tmpfile_with(data, size), 1);
	setenv("AWS_PROFILE", size & 1 ? "default" : "dev", 1);
	if (!aws_creds_resolve(NULL, NULL, NULL, &c, err))
		aws_creds_clear(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	switch (data[0] % 4) {
	case 0: answer(data + 1, size - 1); break;
	case 1: ec2_answer(data + 1, size - 1); break;
	case 2: google_key(data + 1, size - 1); break;
	default: aws_file(data + 1, size - 1); break;
	}
	return 0;
}
