#!/usr/bin/env bash
# The azure driver end to end through the mount against the fake Azure
# (tests/fakecloud/azure.py: Azure AD v1 tokens + Resource Manager), whose
# VMs are real lab hosts (sshd + dockerd):
#   create (client credentials, tenant found from the 401) -> `. env &&
#   docker info`; Docker Machine's request sequence, NSG rules, VM body on a
#   managed disk; stop/start/kill/restart; rmdir leaves the account empty;
#   429/503 mid-create survived; bad secret: one line, nothing made; a bad
#   image after the first resources exist: nothing left; kill -9 mid-create,
#   remount, rmdir; secrets in no file of the tree nor the log; the
#   device-code flow (approved after two polls) with its token cache; a
#   store written by Docker Machine.
# By hand: flock /tmp/mfs-e2e.lock bash tests/e2e/t_azure.sh
. "$SRCDIR/tests/fs/lib.sh"
. "$SRCDIR/tests/fakecloud/lib.sh"
HOSTS=${LAB_AZURE_HOSTS:-1-3}
TENANT=72f988bf-86f1-41af-91ab-2d7cd011db47
SUB=8a2f3c1e-0d4b-4f6a-9c7e-5b1d2e3f4a5b
CID=2b7e1f0c-3a9d-4c8e-8f1b-6d5a4c3b2a19
SECRET="Az~$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"

trap 'cleanup; fake_stop' EXIT
fake_start azure.py --hosts "$HOSTS" --tenant "$TENANT" --subscription "$SUB" --client-id "$CID" \
	--client-secret "$SECRET"

# The account as "RESOURCE_GROUPS RESOURCES" counts.
account() { fake GET /_state | jq -r '"\(.resourceGroups | length) \(.resources | length)"'; }
# The request log as "METHOD PATH STATUS" lines, the subscription as SUB,
# operation ids as OP.
requests() {
	fake_requests "s#/subscriptions/$SUB/resourceGroups/docker-machine/providers/#RG/#; s#/subscriptions/$SUB/resourceGroups/docker-machine( |/resources)#RG\1#;
			s#/subscriptions/$SUB/providers/Microsoft.[A-Za-z]+/locations/westus/(operations|operationResults)/[0-9a-f-]+#\1/OP#;
			s#$SUB#SUB#g; s#$TENANT#TENANT#g"
}
# Create: put_az MACHINE [OPTION=VALUE...] (NOCRED=1: no client id and secret)
put_az() {
	local m=$1 cred=()
	shift
	[ -n "${NOCRED:-}" ] || cred=(azure-client-id="$CID" azure-client-secret="${SEC:-$SECRET}")
	create_machine azure "$m" azure-subscription-id="$SUB" "${cred[@]}" azure-api-url="$API" \
		azure-auth-url="$API" "$@"
}

mount_fs "$STORE" -o refresh=2
M=$MNT/a1

# ---- create, docker, state ----
start=$(date +%s)
if put_az a1 azure-open-port=$'8080\n53/udp'; then ok; else
	fail "create: $(cat $M/error)"; tail -30 $M/log; tail -30 "$T/fake.log"; finish; exit 1
fi
echo "create took $(( $(date +%s) - start )) s"
IP=$(cat $M/ip)
case "$IP" in 10.213.[0-9]*.2) ok ;; *) fail "ip: $IP" ;; esac
expect_eq state "$(cat $M/state)" Running
expect_eq url "$(cat $M/url)" "tcp://$IP:2376"
expect_eq "docker info" "$( . $M/env && docker info --format '{{.Name}}' )" a1
expect_eq "ssh user" "$(cat $M/ssh/user)" docker-user
head -c 30 $STORE/machines/a1/id_ed25519.pub | grep -q '^ssh-ed25519 ' && ok || fail "machine key is not ed25519"

# Docker Machine's calls, in its order (operations polled until Succeeded).
# Up to the last call of create: the refresher's state checks (GET of the
# VM every 2 s) may follow it in the log.
expect_eq "create calls" "$(requests | uniq | sed '\#^GET RG/Microsoft.Network/publicIPAddresses/a1-ip 200$#q')" "GET /subscriptions/SUB 401
POST /TENANT/oauth2/token 200
POST /subscriptions/SUB/providers/Microsoft.Compute/register 200
POST /subscriptions/SUB/providers/Microsoft.Network/register 200
GET RG/Microsoft.Compute/virtualMachines/a1 404
GET RG 404
PUT RG 201
GET RG/Microsoft.Compute/availabilitySets/docker-machine 404
PUT RG/Microsoft.Compute/availabilitySets/docker-machine 201
GET operations/OP 200
PUT RG/Microsoft.Network/networkSecurityGroups/a1-firewall 201
GET operations/OP 200
GET RG/Microsoft.Network/virtualNetworks/docker-machine-vnet 404
PUT RG/Microsoft.Network/virtualNetworks/docker-machine-vnet 201
GET operations/OP 200
GET RG/Microsoft.Network/virtualNetworks/docker-machine-vnet/subnets/docker-machine 404
PUT RG/Microsoft.Network/virtualNetworks/docker-machine-vnet/subnets/docker-machine 201
GET operations/OP 200
PUT RG/Microsoft.Network/publicIPAddresses/a1-ip 201
GET operations/OP 200
PUT RG/Microsoft.Network/networkInterfaces/a1-nic 201
GET operations/OP 200
PUT RG/Microsoft.Compute/virtualMachines/a1 201
GET operations/OP 200
GET RG/Microsoft.Network/publicIPAddresses/a1-ip 200"
body() { fake GET /_requests | jq -c --arg p "$1" '[.[] | select(.method == "PUT" and (.path | endswith($p)))][0].body'; }
expect_eq "nsg rules" "$(body /a1-firewall | jq -r '.properties.securityRules[] | "\(.name) \(.properties.protocol) \(.properties.destinationPortRange) \(.properties.priority)"')" "SSHAllowAny Tcp 22 300
DockerAllowAny Tcp 2376 301
Port8080-TcpAllowAny Tcp 8080 302
Port53-UdpAllowAny Udp 53 303"
vm=$(body /virtualMachines/a1)
expect_eq "vm disk" "$(jq -c .properties.storageProfile <<<"$vm")" \
	'{"imageReference":{"publisher":"canonical","offer":"ubuntu-24_04-lts","sku":"server","version":"latest"},"osDisk":{"name":"a1-os-disk","createOption":"FromImage","caching":"ReadWrite","deleteOption":"Delete","managedDisk":{"storageAccountType":"Standard_LRS"}}}'
expect_eq "vm key" "$(jq -r '.properties.osProfile.linuxConfiguration.ssh.publicKeys[0] | "\(.path) \(.keyData | split(" ")[0:2] | join(" "))"' <<<"$vm")" \
	"/home/docker-user/.ssh/authorized_keys $(cut -d' ' -f1-2 $STORE/machines/a1/id_ed25519.pub)"
expect_eq "vm size" "$(jq -r .properties.hardwareProfile.vmSize <<<"$vm")" Standard_D2s_v3
expect_eq "rg tagged" "$(body /resourceGroups/docker-machine | jq -c .)" '{"location":"westus","tags":{"created-by":"machinefs"}}'
expect_eq "ip sku" "$(body /a1-ip | jq -c '[.sku.name, .properties.publicIPAllocationMethod]')" '["Standard","Static"]'

# ---- stop (powerOff, not deallocate) / start / kill / restart ----
fake POST /_requests/reset >/dev/null
put $M/ctl stop && ok || fail "stop: $(cat $M/error)"
expect_eq "state after stop" "$(cat $M/state)" Stopped
expect_eq "vm stopped" "$(fake GET /_state | jq -r .vms.a1.power)" stopped
put $M/ctl start && ok || fail "start: $(cat $M/error)"
expect_eq "state after start" "$(cat $M/state)" Running
put $M/ctl kill && ok || fail "kill: $(cat $M/error)"
expect_eq "state after kill" "$(cat $M/state)" Stopped
put $M/ctl start && ok || fail "start 2: $(cat $M/error)"
put $M/ctl restart && ok || fail "restart: $(cat $M/error)"
expect_eq "state after restart" "$(cat $M/state)" Running
expect_eq "docker after restart" "$( . $M/env && docker info --format '{{.Name}}' )" a1
actions=$(fake GET /_requests | jq -r '.[] | select(.method == "POST") | "\(.path | split("/") | last)\(if .query | test("skipShutdown=true") then "!" else "" end)"' | tr '\n' ' ')
expect_eq "actions" "$actions" "powerOff start powerOff! start restart "

# ---- secrets: never in the tree or the log; masked; 0600 ----
grep -rqF "$SECRET" $MNT 2>/dev/null && fail "secret visible in the tree: $(grep -rlF "$SECRET" $MNT)" || ok
grep -qF "$SECRET" "$T/daemon.log" && fail "secret in the daemon's output" || ok
expect_eq "secret masked" "$(cat $M/options/azure-client-secret)" "****"
expect_eq "secret masked in config" "$(jq -r .Driver.ClientSecret $M/config.json)" "****"
expect_eq "store 0600" "$(stat -c %a $STORE/machines/a1/config.json)" 600
grep -q "Bearer\|access_token" $M/log && fail "token material in the log" || ok

# ---- rmdir: everything the machine made, Docker Machine's order ----
# (every token revoked first: ARM's 401 gets a new one, once)
issued=$(fake GET /_state | jq .tokens_issued)
fake POST /_revoke >/dev/null
fake POST /_requests/reset >/dev/null
rmdir $M && ok || fail "rmdir: $(cat $M/error 2>/dev/null)"
[ "$(fake GET /_state | jq .tokens_issued)" -gt "$issued" ] && ok || fail "no new token after the 401"
expect_eq "account after rmdir" "$(account)" "0 0"
# (the refresher's state reads and the new token left out)
expect_eq "remove calls" "$(requests | grep -v -e 'GET operation' -e oauth2 -e ' 401$' -e '^GET RG/Microsoft.Compute/virtualMachines/a1 ' | uniq)" "DELETE RG/Microsoft.Compute/virtualMachines/a1 202
DELETE RG/Microsoft.Compute/disks/a1-os-disk 204
DELETE RG/Microsoft.Network/networkInterfaces/a1-nic 202
DELETE RG/Microsoft.Network/publicIPAddresses/a1-ip 202
DELETE RG/Microsoft.Network/networkSecurityGroups/a1-firewall 202
GET RG/Microsoft.Compute/availabilitySets/docker-machine 200
DELETE RG/Microsoft.Compute/availabilitySets/docker-machine 202
GET RG/Microsoft.Network/virtualNetworks/docker-machine-vnet/subnets/docker-machine 200
DELETE RG/Microsoft.Network/virtualNetworks/docker-machine-vnet/subnets/docker-machine 202
GET RG/Microsoft.Network/virtualNetworks/docker-machine-vnet 200
DELETE RG/Microsoft.Network/virtualNetworks/docker-machine-vnet 202
GET RG 200
GET RG/resources 200
DELETE RG 202"

# ---- 503 and 429 once mid-create: retried, success ----
fake POST /_fault '{"path":"/networkInterfaces/c2-nic$","method":"PUT","status":503,"count":1}' >/dev/null
fake POST /_fault '{"path":"/operations/","method":"GET","status":429,"count":1}' >/dev/null
fake POST /_requests/reset >/dev/null
put_az c2 && ok || fail "create through 503/429: $(cat $MNT/c2/error)"
requests | grep -q "PUT RG/Microsoft.Network/networkInterfaces/c2-nic 503" && ok || fail "no 503"
requests | grep -q "GET operations/OP 429" && ok || fail "no 429"
grep -q "http PUT .*/c2-nic 503 .*retry in" $MNT/c2/log && ok || fail "no retry line in the log"
expect_eq "c2 state" "$(cat $MNT/c2/state)" Running
rmdir $MNT/c2 && ok || fail "rmdir c2: $(cat $MNT/c2/error)"
expect_eq "account after c2" "$(account)" "0 0"

# ---- a bad secret: one line naming the cause, nothing made ----
SEC=wrong-secret-value expect_errno EACCES put_az bad1
expect_eq "bad secret error" "$(cut -d. -f1 $MNT/bad1/error)" "POST /$TENANT/oauth2/token: http 401: AADSTS7000215: Invalid client secret provided"
expect_eq "error is one line" "$(wc -l < $MNT/bad1/error)" 1
expect_eq "account after bad secret" "$(account)" "0 0"
rmdir $MNT/bad1 && ok || fail "rmdir bad1"

# ---- a bad image after the first resources exist: nothing left ----
fake POST /_requests/reset >/dev/null
expect_errno ENOENT put_az bad2 azure-image=canonical:UbuntuServer-nosuch:16.04.0-LTS:latest
expect_eq "bad image error" "$(cat $MNT/bad2/error)" \
	"PUT /subscriptions/$SUB/resourceGroups/docker-machine/providers/Microsoft.Compute/virtualMachines/bad2: http 404: The platform image 'canonical:UbuntuServer-nosuch:16.04.0-LTS:latest' is not available. Verify that all fields in the storage profile are correct."
expect_eq "account after bad image" "$(account)" "0 0"
rmdir $MNT/bad2 && ok || fail "rmdir bad2"

# ---- kill -9 while the VM boots; remount; rmdir ----
fake POST /_delay_ip '{"seconds": 30}' >/dev/null
fake POST /_requests/reset >/dev/null
kill9_mid_create k1 "PUT RG/Microsoft.Compute/virtualMachines/k1 201" "1 8" "0 0" put_az k1

# ---- device-code sign-in (no client id): approved after two polls ----
fake POST /_requests/reset >/dev/null
NOCRED=1 put_az d1 && ok || fail "device-code create: $(cat $MNT/d1/error)"
grep -q "Microsoft Azure: To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code [A-Z0-9]* to authenticate." $MNT/d1/progress && ok || fail "no device code in progress: $(cat $MNT/d1/progress)"
grep -q "enter the code" $MNT/d1/log && ok || fail "no device code in the log"
expect_eq "device calls" "$(requests | grep oauth2)" "POST /TENANT/oauth2/devicecode 200
POST /TENANT/oauth2/token 400
POST /TENANT/oauth2/token 400
POST /TENANT/oauth2/token 200"
cache=$STORE/credentials/azure/$TENANT.json
expect_eq "token cache mode" "$(stat -c %a $cache)" 600
expect_eq "token cache fields" "$(jq -c 'keys' $cache)" '["access_token","expires_in","expires_on","not_before","refresh_token","resource","token_type"]'
expect_eq "d1 docker" "$( . $MNT/d1/env && docker info --format '{{.Name}}' )" d1
expect_eq "signed in once" "$(requests | grep -c oauth2)" 4
# An expired cached token is refreshed with its refresh_token (no sign-in).
old_at=$(jq -r .access_token $cache)
jq -c '.expires_on = "1"' $cache > $T/cache.new && cat $T/cache.new > $cache
rmdir $MNT/d1 && ok || fail "rmdir d1: $(cat $MNT/d1/error)"
expect_eq "account after d1" "$(account)" "0 0"
expect_eq "refreshed, no new sign-in" "$(requests | grep oauth2 | sort -u | tr '\n' ' ')" \
	"POST /TENANT/oauth2/devicecode 200 POST /TENANT/oauth2/token 200 POST /TENANT/oauth2/token 400 "
[ "$(jq -r .access_token $cache)" != "$old_at" ] && ok || fail "the cached token was not refreshed"
expect_eq "refreshed cache mode" "$(stat -c %a $cache)" 600

# ---- a store written by Docker Machine (device-code token cache) ----
umount_fs
rm -rf "$STORE/credentials"
cp -r "$SRCDIR/tests/fixtures/dm-store-azure/." "$STORE/"
chmod 700 "$STORE/machines/az1"; chmod 600 "$STORE/machines/az1/config.json" "$STORE"/credentials/azure/*
FTOK=$(jq -r .access_token "$STORE/credentials/azure/$TENANT.json")
N=/subscriptions/$SUB/resourceGroups/docker-machine/providers/Microsoft.Network
fake POST /_seed "$(jq -nc --arg t "$FTOK" --arg n "$N" '{resourceGroup: "docker-machine", tokens: [$t], resources: [
	{type: "Microsoft.Compute/availabilitySets", name: "docker-machine", properties: {}},
	{type: "Microsoft.Network/networkSecurityGroups", name: "az1-firewall", properties: {}},
	{type: "Microsoft.Network/virtualNetworks", name: "docker-machine-vnet", properties: {addressSpace: {addressPrefixes: ["192.168.0.0/16"]}}},
	{type: "Microsoft.Network/virtualNetworks/subnets", name: "docker-machine-vnet/docker-machine", properties: {addressPrefix: "192.168.0.0/16"}},
	{type: "Microsoft.Network/publicIPAddresses", name: "az1-ip", properties: {ipAddress: "203.0.113.20"}},
	{type: "Microsoft.Network/networkInterfaces", name: "az1-nic", properties: {ipConfigurations: [{name: "ip", properties: {
		subnet: {id: ($n + "/virtualNetworks/docker-machine-vnet/subnets/docker-machine")},
		publicIPAddress: {id: ($n + "/publicIPAddresses/az1-ip")}}}],
		networkSecurityGroup: {id: ($n + "/networkSecurityGroups/az1-firewall")}}},
	{type: "Microsoft.Compute/virtualMachines", name: "az1", power: "deallocated", properties: {
		networkProfile: {networkInterfaces: [{id: ($n + "/networkInterfaces/az1-nic")}]},
		storageProfile: {osDisk: {vhd: {uri: "https://x.blob.core.windows.net/vhd-az1/az1-os-disk.vhd"}}}}}]}')" >/dev/null
expect_eq "seeded account" "$(account)" "1 7"
fake POST /_requests/reset >/dev/null
AZURE_API_URL=$API AZURE_AUTH_URL=$API mount_fs "$STORE" -o refresh=1
expect_eq "fixture driver" "$(cat $MNT/az1/driver)" azure
for _ in $(seq 50); do [ "$(cat $MNT/az1/state)" = Stopped ] && break; sleep 0.2; done
expect_eq "fixture state from the API" "$(cat $MNT/az1/state)" Stopped
expect_eq "fixture ip" "$(cat $MNT/az1/ip)" 203.0.113.20
expect_eq "fixture url" "$(cat $MNT/az1/url)" tcp://203.0.113.20:2376
rmdir $MNT/az1 && ok || fail "rmdir fixture: $(cat $MNT/az1/error)"
# Docker Machine never deletes a resource group; machinefs only its own.
expect_eq "account after fixture rmdir" "$(account)" "1 0"
expect_eq "fixture used the cached token" "$(requests | grep -c oauth2)" 0
expect_no_hosts_left
finish
