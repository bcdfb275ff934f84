#!/usr/bin/env bash
# The openstack and rackspace drivers end to end through the mount against
# the fake OpenStack (tests/fakecloud/openstack.py: Keystone v2.0/v3, Nova,
# Neutron, Rackspace Identity), whose servers are real lab hosts:
#   v3 through version discovery, names resolved, a Neutron floating IP:
#   create -> `. env && docker info`; tokens expired -> re-auth;
#   stop/start/kill/restart; rmdir leaves the account empty;
#   v2.0 with a Nova floating IP through 503/429 mid-create;
#   bad password; bad image after the key pair; kill -9 mid-create, remount,
#   rmdir; secrets in no file nor log; rackspace (API key, accessIPv4,
#   start/stop refused with Docker Machine's words); a Docker Machine store.
# By hand: flock /tmp/mfs-e2e.lock bash tests/e2e/t_openstack.sh
. "$SRCDIR/tests/fs/lib.sh"
. "$SRCDIR/tests/fakecloud/lib.sh"
HOSTS=${LAB_OS_HOSTS:-11-13}
PASS="pw-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
APIKEY="rk-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
PROJ_ID=0123456789abcdef0123456789abcdef

# start_fake PASSWORD [USER]
start_fake() {
	fake_start openstack.py --hosts "$HOSTS" --user "${2:-alice}" --password "$1" \
		--api-key "$APIKEY" --project-id $PROJ_ID
}
trap 'cleanup; fake_stop' EXIT
start_fake "$PASS"

# The account as "KEYPAIRS SERVERS FLOATING_IPS".
account() { fake GET /_state | jq -r '"\(.keypairs | length) \(.servers | length) \(.floating_ips | length)"'; }
requests() {
	fake_requests "s#/$PROJ_ID/#/P/#; s#/[0-9a-f-]{36}(/|$| )#/ID\1#g; s#os-keypairs/[^ ]+#os-keypairs/NAME#; s#os-floating-ips/[0-9]+#os-floating-ips/ID#"
}
# put_os MACHINE [OPTION=VALUE...]: openstack options then the driver.
put_os() {
	local m=$1
	shift
	create_machine openstack "$m" openstack-username=alice openstack-password="${PW:-$PASS}" "$@"
}

mount_fs "$STORE" -o refresh=2
M=$MNT/o1

# ---- v3 (discovered), names, a Neutron floating IP ----
if put_os o1 openstack-auth-url="$API/identity" openstack-tenant-name=demo \
	openstack-domain-name=Default openstack-flavor-name=m1.small \
	openstack-image-name="Ubuntu 24.04" openstack-net-name=private \
	openstack-floatingip-pool=public openstack-sec-groups=default,web \
	openstack-metadata=role,ci openstack-region=RegionOne; then ok; else
	fail "create: $(cat $M/error)"; tail -30 $M/log; tail -30 "$T/fake.log"; finish; exit 1
fi
IP=$(cat $M/ip)
case "$IP" in 10.213.1[1-9].2) ok ;; *) fail "ip: $IP" ;; esac
expect_eq state "$(cat $M/state)" Running
expect_eq "docker info" "$( . $M/env && docker info --format '{{.Name}}' )" o1
# Up to create's last call (the server read after the floating IP): the
# refresher's state reads (a session of its own, then GET of the server)
# may follow it in the log.
expect_eq "create calls" "$(requests | uniq | sed '\#^POST /network/v2.0/floatingips 201$#{n;q}')" "GET /identity 300
POST /identity/v3/auth/tokens 201
GET /network/v2.0/networks 200
GET /compute/v2.1/P/flavors/detail 200
GET /compute/v2.1/P/images/detail 200
POST /compute/v2.1/P/os-keypairs 200
POST /compute/v2.1/P/servers 202
GET /compute/v2.1/P/servers/ID 200
GET /network/v2.0/ports 200
GET /network/v2.0/floatingips 200
POST /network/v2.0/floatingips 201
GET /compute/v2.1/P/servers/ID 200"
body=$(fake GET /_requests | jq -c '[.[] | select(.path | endswith("/servers"))][0].body.server')
expect_eq "server request" "$(jq -c 'del(.key_name)' <<<"$body")" \
	'{"name":"o1","flavorRef":"2","imageRef":"1c3c59b8-5d7e-4f5b-9d39-8e7e1b1b2400","security_groups":[{"name":"default"},{"name":"web"}],"metadata":{"role":"ci"},"networks":[{"uuid":"6e8b2a4c-1f1d-4a58-9a53-0d1c3b5c7a01"}]}'
case "$(jq -r .key_name <<<"$body")" in o1-????????????????) ok ;; *) fail "key_name $(jq -r .key_name <<<"$body")" ;; esac
expect_eq "stored ids" "$(jq -r '.Driver | "\(.TenantId) \(.FlavorId) \(.FloatingIpPoolId) \(.FloatingIp)"' $STORE/machines/o1/config.json)" \
	"$PROJ_ID 2 a1b2c3d4-0000-4000-8000-0000000000e1 $IP"
head -c 12 $STORE/machines/o1/id_ed25519.pub | grep -q '^ssh-ed25519 ' && ok || fail "machine key is not ed25519"

# Tokens expired: the next call (the stop's, or the refresher's state
# read) is refused once, then the driver authenticates again.
fake POST /_requests/reset >/dev/null
fake POST /_expire_tokens >/dev/null
put $M/ctl stop && ok || fail "stop: $(cat $M/error)"
expect_eq "state after stop" "$(cat $M/state)" Stopped
# (The 401 may be met by the refresher's read or by the stop's action,
# and both may re-authenticate at once, so only the new token and the
# action that succeeded are required, in that order.)
expect_eq "re-auth calls" "$(requests | grep -E 'auth/tokens|action' | grep -v ' 401$' | uniq | head -2)" "POST /identity/v3/auth/tokens 201
POST /compute/v2.1/P/servers/ID/action 202"
put $M/ctl start && ok || fail "start: $(cat $M/error)"
expect_eq "state after start" "$(cat $M/state)" Running
put $M/ctl kill && ok || fail "kill: $(cat $M/error)"
expect_eq "state after kill" "$(cat $M/state)" Stopped
put $M/ctl start && ok || fail "start 2: $(cat $M/error)"
put $M/ctl restart && ok || fail "restart: $(cat $M/error)"
expect_eq "state after restart" "$(cat $M/state)" Running
expect_eq "docker after restart" "$( . $M/env && docker info --format '{{.Name}}' )" o1
expect_eq "actions" "$(fake GET /_requests | jq -r '.[] | select(.path | endswith("/action")) | select(.status == 202) | .body | keys[0]' | tr '\n' ' ')" \
	"os-stop os-start os-stop os-start reboot "

# The password is in no file of the tree, nor in the log; 0600 stored.
grep -rqF "$PASS" $MNT 2>/dev/null && fail "password visible in the tree: $(grep -rlF "$PASS" $MNT)" || ok
grep -qF "$PASS" "$T/daemon.log" && fail "password in the daemon's output" || ok
expect_eq "password masked" "$(cat $M/options/openstack-password)" "****"
expect_eq "store 0600" "$(stat -c %a $STORE/machines/o1/config.json)" 600

fake POST /_requests/reset >/dev/null
rmdir $M && ok || fail "rmdir: $(cat $M/error 2>/dev/null)"
expect_eq "account after rmdir" "$(account)" "0 0 0"
expect_eq "remove calls" "$(requests)" "DELETE /compute/v2.1/P/servers/ID 204
DELETE /network/v2.0/floatingips/ID 204
DELETE /compute/v2.1/P/os-keypairs/NAME 202"

# ---- v2.0, ids, a Nova floating IP, through 503 and 429 ----
fake POST /_fault '{"path":"/servers$","method":"POST","status":503,"count":1}' >/dev/null
fake POST /_fault '{"path":"/servers/[^/]+$","method":"GET","status":429,"count":1,"headers":{"Retry-After":"1"}}' >/dev/null
fake POST /_requests/reset >/dev/null
put_os o2 openstack-auth-url="$API/identity/v2.0/" openstack-tenant-id=$PROJ_ID \
	openstack-flavor-id=1 openstack-image-id=1c3c59b8-5d7e-4f5b-9d39-8e7e1b1b2400 \
	openstack-nova-network=true openstack-floatingip-pool=public &&
	ok || fail "create v2 through 503/429: $(cat $MNT/o2/error)"
expect_eq "v2 calls" "$(requests | uniq)" "POST /identity/v2.0/tokens 200
POST /compute/v2.1/P/os-keypairs 200
POST /compute/v2.1/P/servers 503
POST /compute/v2.1/P/servers 202
GET /compute/v2.1/P/servers/ID 429
GET /compute/v2.1/P/servers/ID 200
GET /compute/v2.1/P/os-floating-ips 200
POST /compute/v2.1/P/os-floating-ips 200
POST /compute/v2.1/P/servers/ID/action 202
GET /compute/v2.1/P/servers/ID 200"
expect_eq "o2 docker" "$( . $MNT/o2/env && docker info --format '{{.Name}}' )" o2
rmdir $MNT/o2 && ok || fail "rmdir o2: $(cat $MNT/o2/error)"
expect_eq "account after o2" "$(account)" "0 0 0"

# ---- a bad password: one line, nothing made ----
PW=wrong expect_errno EACCES put_os bad1 openstack-auth-url="$API/identity/v3" \
	openstack-tenant-name=demo openstack-flavor-id=1 openstack-image-id=x
expect_eq "bad password error" "$(cat $MNT/bad1/error)" \
	"POST /identity/v3/auth/tokens: http 401: The request you have made requires authentication."
expect_eq "error is one line" "$(wc -l < $MNT/bad1/error)" 1
expect_eq "account after bad password" "$(account)" "0 0 0"
rmdir $MNT/bad1 && ok || fail "rmdir bad1"

# ---- a bad image after the key pair was made: the key is deleted ----
fake POST /_requests/reset >/dev/null
expect_errno EINVAL put_os bad2 openstack-auth-url="$API/identity/v3" \
	openstack-tenant-name=demo openstack-flavor-id=1 openstack-image-id=no-such-image
expect_eq "bad image error" "$(cat $MNT/bad2/error)" \
	"POST /compute/v2.1/$PROJ_ID/servers: http 400: Image no-such-image could not be found."
expect_eq "account after bad image" "$(account)" "0 0 0"
expect_eq "bad image calls" "$(requests)" "POST /identity/v3/auth/tokens 201
POST /compute/v2.1/P/os-keypairs 200
POST /compute/v2.1/P/servers 400
DELETE /compute/v2.1/P/os-keypairs/NAME 202"
rmdir $MNT/bad2 && ok || fail "rmdir bad2"

# ---- kill -9 while the server builds; remount; rmdir ----
fake POST /_delay_ip '{"seconds": 30}' >/dev/null
fake POST /_requests/reset >/dev/null
kill9_mid_create k1 "GET /compute/v2.1/P/servers/ID" "1 1 0" "0 0 0" \
	put_os k1 openstack-auth-url="$API/identity/v3" openstack-tenant-name=demo \
	openstack-flavor-id=1 openstack-image-id=1c3c59b8-5d7e-4f5b-9d39-8e7e1b1b2400

# ---- rackspace: API key, accessIPv4, no start/stop ----
R=$MNT/r1
mkdir $R
put $R/options/rackspace-username alice
put $R/options/rackspace-api-key "$APIKEY"
put $R/options/rackspace-auth-url "$API/identity/v2.0"
put $R/options/rackspace-region RegionOne
fake POST /_requests/reset >/dev/null
put $R/driver rackspace && ok || fail "rackspace create: $(cat $R/error)"
expect_eq "rackspace docker" "$( . $R/env && docker info --format '{{.Name}}' )" r1
expect_eq "rackspace auth" "$(fake GET /_requests | jq -c '.[0].body.auth | keys')" '["RAX-KSKEY:apiKeyCredentials"]'
expect_eq "rackspace server" "$(fake GET /_requests | jq -c '[.[] | select(.path | endswith("/servers"))][0].body.server | [.flavorRef, .imageRef]')" \
	'["general1-1","821ba5f4-712d-4ec8-9c65-a3fa4bc500f9"]'
expect_errno ENOTSUP put $R/ctl start
expect_eq "rackspace start" "$(cat $R/error)" "Rackspace does not currently support the start operation"
expect_errno ENOTSUP put $R/ctl stop
expect_eq "rackspace stop" "$(cat $R/error)" "Rackspace does not currently support the stop operation"
grep -rqF "$APIKEY" $MNT 2>/dev/null && fail "API key visible in the tree" || ok
grep -qF "$APIKEY" "$T/daemon.log" && fail "API key in the daemon's output" || ok
expect_eq "api key masked" "$(cat $R/options/rackspace-api-key)" "****"
rmdir $R && ok || fail "rmdir r1: $(cat $R/error)"
expect_eq "account after rackspace" "$(account)" "0 0 0"

# ---- a store written by Docker Machine ----
umount_fs
fake_stop
FPW=$(jq -r .Driver.Password "$SRCDIR/tests/fixtures/dm-store-os/machines/os1/config.json")
PROJ_ID=$(jq -r .Driver.TenantId "$SRCDIR/tests/fixtures/dm-store-os/machines/os1/config.json")
cp -r "$SRCDIR/tests/fixtures/dm-store-os/." "$STORE/"
start_fake "$FPW" dmuser
sed -i "s#https://keystone.example.com:5000/v3/#$API/identity/v3/#" "$STORE/machines/os1/config.json"
chmod 700 "$STORE/machines/os1"; chmod 600 "$STORE/machines/os1/config.json"
fake POST /_seed '{"keypair": {"name": "os1-3f9a1c2b7d", "public_key": "ssh-ed25519 AAAA dm"}, "server": {"id": "9f1c2b3a-0000-4000-8000-00000000abcd", "name": "os1", "status": "SHUTOFF"}}' >/dev/null
mount_fs "$STORE" -o refresh=1
expect_eq "fixture driver" "$(cat $MNT/os1/driver)" openstack
for _ in $(seq 50); do [ "$(cat $MNT/os1/state)" = Stopped ] && break; sleep 0.2; done
expect_eq "fixture state from the API" "$(cat $MNT/os1/state)" Stopped
expect_eq "fixture ip" "$(cat $MNT/os1/ip)" 198.51.100.20
expect_eq "fixture password masked" "$(jq -r .Driver.Password $MNT/os1/config.json)" "****"
grep -rqF "$FPW" $MNT 2>/dev/null && fail "fixture password visible in the tree" || ok
rmdir $MNT/os1 && ok || fail "rmdir fixture: $(cat $MNT/os1/error)"
expect_eq "account after fixture rmdir" "$(account)" "0 0 0"
expect_no_hosts_left
finish
