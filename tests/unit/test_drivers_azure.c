/* The azure driver's pure pieces: the tenant id from a 401's
 * WWW-Authenticate header (hostile headers refused), the NSG rules Docker
 * Machine makes, the NIC and VM bodies (managed OS disk, the key at the
 * admin's authorized_keys), open-port values, configure's defaults and
 * refusals, config.json keys (the secret masked by the core, not here). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/azure.h"
#include "lib/json.h"
#include "tests/unit/harness.h"
#include "tests/unit/httpstub.h"

static void test_tenant(void)
{
	char t[64];
	CHECK(az_tenant_from_header("Bearer authorization_uri=\"https://login.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47\", error=\"invalid_token\"", t, sizeof(t)) == 0);
	CHECK_STR(t, "72f988bf-86f1-41af-91ab-2d7cd011db47");
	CHECK(az_tenant_from_header("Bearer authorization_uri=\"https://login.microsoftonline.com/contoso.onmicrosoft.com\"", t, sizeof(t)) == 0);
	CHECK_STR(t, "contoso.onmicrosoft.com");
	CHECK(az_tenant_from_header("Bearer error=\"invalid_token\"", t, sizeof(t)) == -EINVAL);
	CHECK(az_tenant_from_header(NULL, t, sizeof(t)) == -EINVAL);
	CHECK(az_tenant_from_header("Bearer authorization_uri=\"https://x/a b\"", t, sizeof(t)) == -EINVAL);
	CHECK(az_tenant_from_header("Bearer authorization_uri=\"https://x/..\"", t, sizeof(t)) == -EINVAL);
	CHECK(az_tenant_from_header("Bearer authorization_uri=\"https://x/t%2f\"", t, sizeof(t)) == -EINVAL);
	CHECK(az_tenant_from_header("Bearer authorization_uri=\"https://x/\"", t, sizeof(t)) == -EINVAL);
	CHECK(az_tenant_from_header("Bearer authorization_uri=\"nourl", t, sizeof(t)) == -EINVAL);
}

static void test_ports(void)
{
	CHECK(az_port_ok("8080"));
	CHECK(az_port_ok("53/udp"));
	CHECK(az_port_ok("443/tcp"));
	CHECK(!az_port_ok("0"));
	CHECK(!az_port_ok("70000"));
	CHECK(!az_port_ok("80/sctp"));
	CHECK(!az_port_ok("80;rm"));
	CHECK(!az_port_ok(""));
}

static struct az_priv *sample(void)
{
	struct az_priv *p = calloc(1, sizeof(*p));
	snprintf(p->location, sizeof(p->location), "westus");
	snprintf(p->size, sizeof(p->size), "Standard_D2s_v3");
	snprintf(p->image, sizeof(p->image), "canonical:ubuntu-24_04-lts:server:latest");
	snprintf(p->storage_type, sizeof(p->storage_type), "Premium_LRS");
	snprintf(p->open_ports, sizeof(p->open_ports), "8080\n53/udp");
	p->docker_port = 2376;
	return p;
}

static void test_bodies(void)
{
	struct az_priv *p = sample();
	cJSON *b = az_nsg_body(p);
	char *s = cJSON_PrintUnformatted(b);
	CHECK(strstr(s, "{\"name\":\"SSHAllowAny\",\"properties\":{\"description\":\"SSHAllowAny\",\"protocol\":\"Tcp\",\"sourceAddressPrefix\":\"*\",\"sourcePortRange\":\"*\",\"destinationAddressPrefix\":\"*\",\"destinationPortRange\":\"22\",\"access\":\"Allow\",\"direction\":\"Inbound\",\"priority\":300}}") != NULL);
	CHECK(strstr(s, "\"DockerAllowAny\"") && strstr(s, "\"destinationPortRange\":\"2376\""));
	CHECK(strstr(s, "\"Port8080-TcpAllowAny\"") && strstr(s, "\"priority\":302"));
	CHECK(strstr(s, "\"Port53-UdpAllowAny\",\"properties\":{\"description\":\"Port53-UdpAllowAny\",\"protocol\":\"Udp\"") != NULL);
	free(s);
	cJSON_Delete(b);

	b = az_nic_body(p, "/sub/subnet", "/sub/nsg", "/sub/ip");
	s = cJSON_PrintUnformatted(b);
	CHECK_STR(s, "{\"location\":\"westus\",\"properties\":{\"networkSecurityGroup\":{\"id\":\"/sub/nsg\"},\"ipConfigurations\":[{\"name\":\"ip\",\"properties\":{\"subnet\":{\"id\":\"/sub/subnet\"},\"publicIPAddress\":{\"id\":\"/sub/ip\"},\"privateIPAllocationMethod\":\"Dynamic\"}}]}}");
	free(s);
	cJSON_Delete(b);
	snprintf(p->private_ip, sizeof(p->private_ip), "192.168.0.9");
	b = az_nic_body(p, "/sub/subnet", "/sub/nsg", "");
	s = cJSON_PrintUnformatted(b);
	CHECK(strstr(s, "\"publicIPAddress\"") == NULL);
	CHECK(strstr(s, "\"privateIPAllocationMethod\":\"Static\",\"privateIPAddress\":\"192.168.0.9\"") != NULL);
	free(s);
	cJSON_Delete(b);

	b = az_vm_body(p, "m1", "docker-user", "ssh-ed25519 AAAAC3Nz m1", "Y2xvdWQ=", "/sub/avset", "/sub/nic");
	const cJSON *pr = json_obj(b, "properties");
	CHECK_STR(json_str(json_obj(pr, "hardwareProfile"), "vmSize", ""), "Standard_D2s_v3");
	CHECK_STR(json_str(json_obj(pr, "availabilitySet"), "id", ""), "/sub/avset");
	const cJSON *os = json_obj(pr, "osProfile");
	CHECK_STR(json_str(os, "computerName", ""), "m1");
	CHECK_STR(json_str(os, "adminUsername", ""), "docker-user");
	CHECK_STR(json_str(os, "customData", ""), "Y2xvdWQ=");
	const cJSON *k = cJSON_GetArrayItem(cJSON_GetObjectItem(json_obj(json_obj(os, "linuxConfiguration"), "ssh"), "publicKeys"), 0);
	CHECK_STR(json_str(k, "path", ""), "/home/docker-user/.ssh/authorized_keys");
	CHECK_STR(json_str(k, "keyData", ""), "ssh-ed25519 AAAAC3Nz m1");
	s = cJSON_PrintUnformatted(json_obj(pr, "storageProfile"));
	CHECK_STR(s, "{\"imageReference\":{\"publisher\":\"canonical\",\"offer\":\"ubuntu-24_04-lts\",\"sku\":\"server\",\"version\":\"latest\"},\"osDisk\":{\"name\":\"m1-os-disk\",\"createOption\":\"FromImage\",\"caching\":\"ReadWrite\",\"deleteOption\":\"Delete\",\"managedDisk\":{\"storageAccountType\":\"Premium_LRS\"}}}");
	CHECK(strstr(s, "vhd") == NULL);
	free(s);
	cJSON_Delete(b);
	free(p);
}

static void test_configure(void)
{
	const struct machine_driver *D = &azure_driver;
	struct option_set opts = { 0 };
	struct base_driver base = { 0 };
	struct az_priv *p = calloc(1, sizeof(*p));
	struct driver_ctx ctx = { .machine = "m1", .store = "/tmp/s", .dir = "/tmp/s/machines/m1",
				  .base = &base, .priv = p, .opts = &opts };
	unsetenv("AZURE_SUBSCRIPTION_ID");
	CHECK(D->configure(&ctx) == -EINVAL);
	CHECK(strstr(ctx.err, "--azure-subscription-id") != NULL);
	option_set_put(&opts, "azure-subscription-id", "8a2f3c1e-0d4b-4f6a-9c7e-5b1d2e3f4a5b");
	CHECK(D->configure(&ctx) == 0);
	CHECK_STR(base.ssh_user, "docker-user");
	CHECK_STR(p->resource_group, "docker-machine");
	CHECK_STR(p->location, "westus");
	CHECK_STR(p->vnet, "docker-machine-vnet");
	CHECK_STR(p->subnet_prefix, "192.168.0.0/16");
	CHECK(p->docker_port == 2376);
	CHECK_STR(base.ssh_key_path, "/tmp/s/machines/m1/id_ed25519");
	char url[128];
	snprintf(base.ip, sizeof(base.ip), "203.0.113.9");
	CHECK(D->url(&ctx, url, sizeof(url)) == 0);
	CHECK_STR(url, "tcp://203.0.113.9:2376");
	char b[512];
	az_api_base(p, b, sizeof(b));
	CHECK_STR(b, "https://management.azure.com");
	az_auth_base(p, b, sizeof(b));
	CHECK_STR(b, "https://login.microsoftonline.com");
	/* Hostile values never reach a path. */
	option_set_put(&opts, "azure-resource-group", "rg/../../x");
	CHECK(D->configure(&ctx) == -EINVAL);
	option_set_put(&opts, "azure-resource-group", "rg");
	option_set_put(&opts, "azure-image", "a:b:c");
	CHECK(D->configure(&ctx) == -EINVAL);
	option_set_put(&opts, "azure-image", "a:b:c:d?x=1");
	CHECK(D->configure(&ctx) == -EINVAL);
	option_set_put(&opts, "azure-image", "canonical:UbuntuServer:18.04-LTS:latest");
	option_set_put(&opts, "azure-open-port", "80\n90/sctp");
	CHECK(D->configure(&ctx) == -EINVAL);
	option_set_put(&opts, "azure-open-port", "80");
	option_set_put(&opts, "azure-environment", "AzureGermanCloud");
	CHECK(D->configure(&ctx) == -EINVAL);
	option_set_put(&opts, "azure-environment", "AzureChinaCloud");
	option_set_put(&opts, "azure-client-id", "abc");
	CHECK(D->configure(&ctx) == -EINVAL); /* no secret */
	option_set_put(&opts, "azure-client-secret", "s3cret");
	option_set_put(&opts, "azure-ssh-user", "root");
	CHECK(D->configure(&ctx) == -EINVAL);
	option_set_put(&opts, "azure-ssh-user", "ops");
	CHECK(D->configure(&ctx) == 0);
	az_api_base(p, b, sizeof(b));
	CHECK_STR(b, "https://management.chinacloudapi.cn");
	/* config.json keys in Docker Machine's names */
	cJSON *o = cJSON_CreateObject();
	CHECK(D->save(&ctx, o) == 0);
	CHECK_STR(json_str(o, "SubscriptionID", ""), "8a2f3c1e-0d4b-4f6a-9c7e-5b1d2e3f4a5b");
	CHECK_STR(json_str(o, "ClientSecret", ""), "s3cret");
	CHECK_STR(json_str(o, "VirtualNetwork", ""), "docker-machine-vnet");
	CHECK(cJSON_IsArray(cJSON_GetObjectItem(o, "OpenPorts")));
	CHECK(cJSON_GetObjectItem(o, "token") == NULL);
	struct az_priv *q = calloc(1, sizeof(*q));
	ctx.priv = q;
	CHECK(D->load(&ctx, o) == 0);
	CHECK_STR(q->open_ports, "80");
	CHECK_STR(q->environment, "AzureChinaCloud");
	CHECK(q->docker_port == 2376);
	cJSON_Delete(o);
	free(q);
	free(p);
	option_set_clear(&opts);
}

/* state(): a token ARM refuses with 401 is replaced once, then the
 * instanceView's PowerState maps as Docker Machine's. */
static void test_state_reauth(void)
{
	const struct machine_driver *D = &azure_driver;
	struct base_driver base = { 0 };
	struct az_priv *p = sample();
	struct driver_ctx ctx = { .machine = "m1", .store = test_tmpdir(), .dir = "/nonexistent",
				  .base = &base, .priv = p };
	snprintf(p->subscription_id, sizeof(p->subscription_id), "sub1");
	snprintf(p->resource_group, sizeof(p->resource_group), "rg1");
	snprintf(p->environment, sizeof(p->environment), "AzurePublicCloud");
	snprintf(p->tenant, sizeof(p->tenant), "tenant1");
	snprintf(p->client_id, sizeof(p->client_id), "cid-reauth");
	snprintf(p->client_secret, sizeof(p->client_secret), "SECRET-unit");
	snprintf(p->api_url, sizeof(p->api_url), "http://127.0.0.1:%d/", srv.port);
	snprintf(p->auth_url, sizeof(p->auth_url), "http://127.0.0.1:%d", srv.port);
	static const struct reply r[] = {
		{ 200, NULL, "{\"access_token\":\"T1\",\"expires_in\":\"3599\"}", 0 },
		{ 401, NULL, "{\"error\":{\"code\":\"InvalidAuthenticationToken\",\"message\":\"The access token is invalid.\"}}", 0 },
		{ 200, NULL, "{\"access_token\":\"T2\",\"expires_in\":3599}", 0 },
		{ 200, NULL, "{\"name\":\"m1\",\"properties\":{\"instanceView\":{\"statuses\":[{\"code\":\"ProvisioningState/succeeded\"},{\"code\":\"PowerState/deallocated\"}]}}}", 0 },
	};
	script(r, 4);
	enum machine_state st = MS_NONE;
	CHECK(D->state(&ctx, &st) == 0);
	CHECK(st == MS_STOPPED);
	CHECK(srv.nreq == 4);
	CHECK_STR(srv.line[0], "POST /tenant1/oauth2/token");
	CHECK(strstr(srv.body[0], "grant_type=client_credentials") && strstr(srv.body[0], "client_secret=SECRET-unit") &&
	      strstr(srv.body[0], "resource=https%3A%2F%2Fmanagement.core.windows.net%2F"));
	CHECK_STR(srv.line[1], "GET /subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/m1?$expand=instanceView&api-version=2024-07-01");
	CHECK_STR(srv.auth[1], "Bearer T1");
	CHECK_STR(srv.line[2], "POST /tenant1/oauth2/token");
	CHECK_STR(srv.auth[3], "Bearer T2");
	/* A second call uses the cached T2. */
	static const struct reply r2[] = {
		{ 200, NULL, "{\"properties\":{\"instanceView\":{\"statuses\":[{\"code\":\"PowerState/starting\"}]}}}", 0 },
	};
	script(r2, 1);
	CHECK(D->state(&ctx, &st) == 0);
	CHECK(st == MS_STARTING);
	CHECK(srv.nreq == 1);
	CHECK_STR(srv.auth[0], "Bearer T2");
	free(p);
}

int main(void)
{
	start_server();
	test_state_reauth();
	test_tenant();
	test_ports();
	test_bodies();
	test_configure();
	return test_report();
}
