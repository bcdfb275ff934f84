#!/usr/bin/env bash
# The softlayer driver end to end through the mount against the fake
# SoftLayer REST API (tests/fakecloud/softlayer.py), whose guests are real
# lab hosts (sshd + dockerd):
#   create -> `. env && docker info`; state/ip/url; stop/start/kill/restart;
#   rmdir deletes guest and key; Docker Machine's request sequence and
#   guest template; 503/429 mid-create retried; bad credentials; a bad
#   image after the key was made; kill -9 while the guest waits for its IP,
#   remount, rmdir; the API key in no file of the tree; a store written by
#   Docker Machine.
# By hand: flock /tmp/mfs-e2e.lock bash tests/e2e/t_softlayer.sh
. "$SRCDIR/tests/fs/lib.sh"
. "$SRCDIR/tests/fakecloud/lib.sh"
HOSTS=${LAB_SL_HOSTS:-21-23}
SLUSER=sluser
KEY="slk_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# start_fake USER API-KEY
start_fake() {
	fake_start softlayer.py --hosts "$HOSTS" --user "$1" --api-key "$2"
	EP=$API/rest/v3
}
trap 'cleanup; fake_stop' EXIT
start_fake "$SLUSER" "$KEY"

account() { fake GET /_state | jq -r '"\(.ssh_keys | length) \(.guests | length)"'; }
requests() { fake_requests 's#/rest/v3/##; s#/[0-9]+(/|$| )#/ID\1#g'; }
put_sl() {
	local m=$1
	shift
	create_machine softlayer "$m" softlayer-user="${U:-$SLUSER}" softlayer-api-key="${K:-$KEY}" \
		softlayer-api-endpoint="$EP" softlayer-domain=example.com "$@"
}

mount_fs "$STORE" -o refresh=2
M=$MNT/s1

# ---- create, docker, state, lifecycle ----
if put_sl s1 softlayer-cpu=2 softlayer-disk-size=25; then ok; else
	fail "create: $(cat $M/error)"; tail -30 $M/log; cat "$T/fake.log"; finish; exit 1
fi
IP=$(cat $M/ip)
case "$IP" in 10.213.[0-9]*.2) ok ;; *) fail "ip: $IP" ;; esac
expect_eq state "$(cat $M/state)" Running
expect_eq url "$(cat $M/url)" "tcp://$IP:2376"
expect_eq "docker info" "$( . $M/env && docker info --format '{{.Name}}' )" s1
# The create's calls end with the settle wait's transaction reads; the
# refresher's getPowerState reads (refresh=2) may follow them.
expect_eq "create calls" "$(requests | uniq | sed '/getActiveTransaction/q')" "POST SoftLayer_Security_Ssh_Key 201
POST SoftLayer_Virtual_Guest.json 201
GET SoftLayer_Virtual_Guest/ID/getPrimaryIpAddress.json 200
GET SoftLayer_Virtual_Guest/ID/getPowerState.json 200
GET SoftLayer_Virtual_Guest/ID/getActiveTransaction.json 200"
body=$(fake GET /_requests | jq -c '[.[] | select(.path | endswith("SoftLayer_Virtual_Guest.json"))][0].body.parameters[0]')
expect_eq "guest template" "$(jq -c 'del(.sshKeys)' <<<"$body")" \
	'{"hostname":"s1","domain":"example.com","startCpus":2,"maxMemory":1024,"datacenter":{"name":"dal01"},"blockDevices":[{"device":"0","diskImage":{"capacity":25}}],"networkComponents":[{"maxSpeed":100}],"postInstallScriptUri":"","privateNetworkOnlyFlag":false,"operatingSystemReferenceCode":"UBUNTU_LATEST","hourlyBillingFlag":true,"localDiskFlag":false}'
expect_eq "guest sshKeys" "$(jq -c .sshKeys <<<"$body")" "[{\"id\":$(fake GET /_state | jq '.ssh_keys[0].id')}]"
expect_eq "stored Id" "$(jq .Driver.Id $STORE/machines/s1/config.json)" "$(fake GET /_state | jq '.guests[0].id')"

fake POST /_requests/reset >/dev/null
put $M/ctl stop && ok || fail "stop: $(cat $M/error)"
expect_eq "state after stop" "$(cat $M/state)" Stopped
put $M/ctl start && ok || fail "start: $(cat $M/error)"
expect_eq "state after start" "$(cat $M/state)" Running
put $M/ctl kill && ok || fail "kill: $(cat $M/error)"
expect_eq "state after kill" "$(cat $M/state)" Stopped
put $M/ctl start && ok || fail "start 2: $(cat $M/error)"
put $M/ctl restart && ok || fail "restart: $(cat $M/error)"
expect_eq "state after restart" "$(cat $M/state)" Running
expect_eq "docker after restart" "$( . $M/env && docker info --format '{{.Name}}' )" s1
expect_eq "power calls" "$(requests | grep -oE '/(power|reboot)[A-Za-z]*' | tr '\n' ' ')" \
	"/powerOffSoft /powerOn /powerOff /powerOn /rebootSoft "

# The API key (and its Basic form) in no file of the tree nor the log.
B64=$(printf '%s:%s' "$SLUSER" "$KEY" | base64 -w0)
grep -rqF -e "$KEY" -e "$B64" $MNT 2>/dev/null && fail "key visible in the tree" || ok
grep -qF -e "$KEY" -e "$B64" "$T/daemon.log" && fail "key in the daemon's output" || ok
expect_eq "key masked" "$(cat $M/options/softlayer-api-key)" "****"
expect_eq "config.json masked" "$(jq -r .Driver.Client.ApiKey $M/config.json)" "****"
expect_eq "store 0600" "$(stat -c %a $STORE/machines/s1/config.json)" 600

fake POST /_requests/reset >/dev/null
rmdir $M && ok || fail "rmdir: $(cat $M/error 2>/dev/null)"
expect_eq "account after rmdir" "$(account)" "0 0"
expect_eq "remove calls" "$(requests)" "DELETE SoftLayer_Virtual_Guest/ID 200
DELETE SoftLayer_Security_Ssh_Key/ID 200"

# ---- 503 and 429 once mid-create: retried ----
fake POST /_fault '{"path":"SoftLayer_Virtual_Guest\\.json$","method":"POST","status":503}' >/dev/null
fake POST /_fault '{"path":"getPrimaryIpAddress","method":"GET","status":429}' >/dev/null
fake POST /_requests/reset >/dev/null
put_sl s2 && ok || fail "create through 503/429: $(cat $MNT/s2/error)"
expect_eq "retried calls" "$(requests | uniq | head -5)" "POST SoftLayer_Security_Ssh_Key 201
POST SoftLayer_Virtual_Guest.json 503
POST SoftLayer_Virtual_Guest.json 201
GET SoftLayer_Virtual_Guest/ID/getPrimaryIpAddress.json 429
GET SoftLayer_Virtual_Guest/ID/getPrimaryIpAddress.json 200"
expect_eq "s2 docker" "$( . $MNT/s2/env && docker info --format '{{.Name}}' )" s2
rmdir $MNT/s2 && ok || fail "rmdir s2"
expect_eq "account after s2" "$(account)" "0 0"

# ---- bad credentials: one line, nothing made ----
K=wrong-key expect_errno EACCES put_sl bad1
expect_eq "bad key error" "$(cat $MNT/bad1/error)" "POST /rest/v3/SoftLayer_Security_Ssh_Key: http 401: Access Denied."
expect_eq "error is one line" "$(wc -l < $MNT/bad1/error)" 1
expect_eq "account after bad key" "$(account)" "0 0"
rmdir $MNT/bad1 && ok || fail "rmdir bad1"

# ---- a bad image after the key was made: the key is deleted ----
fake POST /_requests/reset >/dev/null
expect_errno EIO put_sl bad2 softlayer-image=UBUNTU_16_64
expect_eq "bad image error" "$(cat $MNT/bad2/error)" \
	"POST /rest/v3/SoftLayer_Virtual_Guest.json: http 500: Invalid value provided for 'operatingSystemReferenceCode'."
expect_eq "account after bad image" "$(account)" "0 0"
expect_eq "bad image calls" "$(requests)" "POST SoftLayer_Security_Ssh_Key 201
POST SoftLayer_Virtual_Guest.json 500
DELETE SoftLayer_Security_Ssh_Key/ID 200"
rmdir $MNT/bad2 && ok || fail "rmdir bad2"

# ---- kill -9 while the guest waits for its IP; remount; rmdir ----
fake POST /_delay_ip '{"seconds": 30}' >/dev/null
fake POST /_requests/reset >/dev/null
kill9_mid_create k1 getPrimaryIpAddress "1 1" "0 0" put_sl k1

# ---- a store written by Docker Machine ----
umount_fs
cp -r "$SRCDIR/tests/fixtures/dm-store-sl/." "$STORE/"
chmod 700 "$STORE/machines/sl1"; chmod 600 "$STORE/machines/sl1/config.json"
FKEY=$(jq -r .Driver.Client.ApiKey "$STORE/machines/sl1/config.json")
fake_stop
start_fake "$(jq -r .Driver.Client.User "$STORE/machines/sl1/config.json")" "$FKEY"
fake POST /_seed '{"ssh_key": {"id": 616161, "key": "ssh-rsa AAAA sl1"}, "guest": {"id": 737373, "hostname": "sl1", "power": "Halted"}}' >/dev/null
SOFTLAYER_API_ENDPOINT=$EP mount_fs "$STORE" -o refresh=1
expect_eq "fixture driver" "$(cat $MNT/sl1/driver)" softlayer
for _ in $(seq 50); do [ "$(cat $MNT/sl1/state)" = Stopped ] && break; sleep 0.2; done
expect_eq "fixture state from the API" "$(cat $MNT/sl1/state)" Stopped
expect_eq "fixture ip" "$(cat $MNT/sl1/ip)" 203.0.113.20
expect_eq "fixture key masked" "$(jq -r .Driver.Client.ApiKey $MNT/sl1/config.json)" "****"
grep -rqF "$FKEY" $MNT 2>/dev/null && fail "fixture key visible in the tree" || ok
rmdir $MNT/sl1 && ok || fail "rmdir fixture: $(cat $MNT/sl1/error)"
expect_eq "account after fixture rmdir" "$(account)" "0 0"
# A guest already gone (404): rm still succeeds.
cp -r "$SRCDIR/tests/fixtures/dm-store-sl/machines/sl1" "$STORE/machines/gone"
sed -i 's/"sl1"/"gone"/' "$STORE/machines/gone/config.json"
umount_fs; SOFTLAYER_API_ENDPOINT=$EP mount_fs "$STORE" -o refresh=1
rmdir $MNT/gone && ok || fail "rmdir of a machine whose guest is gone: $(cat $MNT/gone/error)"
expect_no_hosts_left
finish
