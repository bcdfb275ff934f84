/* The EC2 Query client's pure parts: the form body (aws-sdk-go's
 * ec2query: sorted names, Go's QueryEscape), endpoints, XML helpers
 * on EC2's namespaced answers. */
#include <errno.h>
#include <string.h>

#include <libxml/parser.h>

#include "drivers/ec2api.h"
#include "tests/unit/harness.h"

static const char describe[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
	"<requestId>8f7724cf</requestId><reservationSet><item><reservationId>r-1</reservationId>"
	"<instancesSet><item><instanceId>i-0abc</instanceId><instanceState><code>16</code>"
	"<name>running</name></instanceState><privateIpAddress>172.31.1.2</privateIpAddress>"
	"<ipAddress>54.1.2.3</ipAddress><tagSet><item><key>Name</key><value>a &amp; b</value></item>"
	"<item><key>k2</key><value>v2</value></item></tagSet></item></instancesSet></item>"
	"</reservationSet></DescribeInstancesResponse>";

int main(void)
{
	struct driver_ctx ctx = { .machine = "m" };
	struct aws_creds creds = { "AK", "SK", "", "" };
	struct ec2_client c;

	/* Form body: Action and Version among the sorted names; values
	 * escaped as Go's url.QueryEscape (space '+', '/' '%2F', '~' kept). */
	struct strlist p = STRLIST_INIT;
	ec2_param(&p, "KeyName", "my key/1~");
	ec2_param(&p, "Filter.1.Value.1", "a*b=c&d");
	ec2_param(&p, "Filter.1.Name", "name");
	ec2_param(&p, "PublicKeyMaterial", "c3NoLWVk+/=");
	struct strbuf f = STRBUF_INIT;
	ec2_form(&f, "ImportKeyPair", &p);
	CHECK_STR(f.buf, "Action=ImportKeyPair&Filter.1.Name=name&Filter.1.Value.1=a%2Ab%3Dc%26d"
			 "&KeyName=my+key%2F1~&PublicKeyMaterial=c3NoLWVk%2B%2F%3D&Version=2016-11-15");
	strbuf_release(&f);
	strlist_clear(&p);
	/* Names sort as Go sorts strings: "IpPermissions.10" before ".2". */
	for (int i = 1; i <= 10; i++)
		ec2_paramf(&p, "x", "IpPermissions.%d.IpProtocol", i);
	ec2_form(&f, "AuthorizeSecurityGroupIngress", &p);
	CHECK(strstr(f.buf, "IpPermissions.10.IpProtocol=x&IpPermissions.2.IpProtocol=x") != NULL);
	strbuf_release(&f);
	strlist_clear(&p);

	/* Endpoints. */
	CHECK(ec2_client_init(&c, &ctx, "", "eu-west-1", &creds, 6, false) == 0);
	CHECK_STR(c.url, "https://ec2.eu-west-1.amazonaws.com/");
	CHECK_STR(c.host, "ec2.eu-west-1.amazonaws.com");
	CHECK(c.attempts == 6);
	CHECK(ec2_client_init(&c, &ctx, "ec2.example.org", "us-east-1", &creds, 1, false) == 0);
	CHECK_STR(c.url, "https://ec2.example.org/");
	CHECK(ec2_client_init(&c, &ctx, "ec2.example.org:8443", "us-east-1", &creds, 1, true) == 0);
	CHECK_STR(c.url, "http://ec2.example.org:8443/");
	CHECK_STR(c.host, "ec2.example.org:8443");
	CHECK(ec2_client_init(&c, &ctx, "http://127.0.0.1:4567", "x", &creds, 0, false) == 0);
	CHECK_STR(c.url, "http://127.0.0.1:4567/");
	CHECK_STR(c.host, "127.0.0.1:4567");
	CHECK(c.attempts == 1);
	CHECK(ec2_client_init(&c, &ctx, "ftp://h/", "x", &creds, 1, false) == -EINVAL);
	CHECK(ec2_client_init(&c, &ctx, "https://u:p@h/", "x", &creds, 1, false) == -EINVAL);
	CHECK(strstr(ctx.err, "amazonec2-endpoint") != NULL);
	CHECK(ec2_client_init(&c, &ctx, "https://h/?a=b", "x", &creds, 1, false) == -EINVAL);
	CHECK(ec2_client_init(&c, &ctx, "https:///", "x", &creds, 1, false) == -EINVAL);

	/* XML: local names under the namespace, entities decoded, items. */
	xmlDoc *doc = xmlReadMemory(describe, (int)strlen(describe), "t.xml", NULL, XML_PARSE_NONET);
	CHECK(doc != NULL);
	xmlNode *root = xmlDocGetRootElement(doc);
	xmlNode *inst = ec2_xml_find(root, "reservationSet/item/instancesSet/item");
	CHECK(inst != NULL);
	char buf[64];
	CHECK_STR(ec2_xml_text(inst, "instanceState/name", buf, sizeof(buf)), "running");
	CHECK_STR(ec2_xml_text(inst, "ipAddress", buf, sizeof(buf)), "54.1.2.3");
	CHECK_STR(ec2_xml_text(inst, "nosuch", buf, sizeof(buf)), "");
	xmlNode *tag = ec2_xml_find(inst, "tagSet/item");
	CHECK_STR(ec2_xml_text(tag, "value", buf, sizeof(buf)), "a & b");
	tag = ec2_xml_next(tag);
	CHECK_STR(ec2_xml_text(tag, "key", buf, sizeof(buf)), "k2");
	CHECK(ec2_xml_next(tag) == NULL);
	/* Too long for the buffer: empty, not cut. */
	char small[4];
	CHECK_STR(ec2_xml_text(inst, "instanceId", small, sizeof(small)), "");
	xmlFreeDoc(doc);
	xmlCleanupParser();
	return test_report();
}
