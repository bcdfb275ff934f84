#!/usr/bin/env bash
# The exoscale driver end to end through the mount against the fake
# Exoscale API v2 (tests/fakecloud/exoscale.py: EXO2-HMAC-SHA256 checked byte
# for byte, operations), whose instances are real lab hosts:
#   create -> `. env && docker info`; the security group's rules and the
#   anti-affinity group; stop/start/kill/restart; rmdir leaves the account
#   empty; 503/429 mid-create; a bad secret; a failure after the first
#   resource exists; kill -9 mid-create, remount, rmdir; the secret in no
#   file of the tree; a store written by Docker Machine.
# By hand: flock /tmp/mfs-e2e.lock bash tests/e2e/t_exoscale.sh
. "$SRCDIR/tests/fs/lib.sh"
. "$SRCDIR/tests/fakecloud/lib.sh"
HOSTS=${LAB_EXO_HOSTS:-24-26}
AKEY=EXO$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
SECRET="exs_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# start_fake KEY SECRET
start_fake() { fake_start exoscale.py --hosts "$HOSTS" --key "$1" --secret "$2"; }
trap 'cleanup; fake_stop' EXIT
start_fake "$AKEY" "$SECRET"

# "INSTANCES KEYS SECURITY-GROUPS ANTI-AFFINITY-GROUPS"
account() { fake GET /_state | jq -r '"\(.instances|length) \(.ssh_keys|length) \(.security_groups|length) \(.anti_affinity_groups|length)"'; }
requests() { fake_requests 's#/[0-9a-f-]{36}#/ID#g'; }
put_exo() {
	local m=$1
	shift
	create_machine exoscale "$m" exoscale-api-key="$AKEY" exoscale-api-secret-key="${S:-$SECRET}" \
		exoscale-url="$API/v2" "$@"
}

mount_fs "$STORE" -o refresh=2
M=$MNT/e1

# ---- create, docker, groups, lifecycle ----
if put_exo e1 exoscale-affinity-group=dm-aag; then ok; else
	fail "create: $(cat $M/error)"; tail -30 $M/log; cat "$T/fake.log"; finish; exit 1
fi
IP=$(cat $M/ip)
case "$IP" in 10.213.[0-9]*.2) ok ;; *) fail "ip: $IP" ;; esac
expect_eq state "$(cat $M/state)" Running
expect_eq "docker info" "$( . $M/env && docker info --format '{{.Name}}' )" e1
expect_eq "create calls" "$(requests | grep -v '^GET /v2/operation' | uniq)" "GET /v2/zone 200
GET /v2/template 200
GET /v2/instance-type 200
GET /v2/security-group 200
POST /v2/security-group 200
POST /v2/security-group/ID/rules 200
GET /v2/anti-affinity-group 200
POST /v2/anti-affinity-group 200
POST /v2/ssh-key 200
POST /v2/instance 200
GET /v2/instance/ID 200"
expect_eq "security group rules" "$(fake GET /_state | jq -c '[.security_groups[0].rules[] | [.protocol, (.["start-port"] // .icmp.type), (.network // "self")]]')" \
	'[["tcp",22,"0.0.0.0/0"],["icmp",8,"0.0.0.0/0"],["tcp",2376,"0.0.0.0/0"],["tcp",3376,"0.0.0.0/0"],["tcp",7946,"self"],["udp",7946,"self"],["udp",4789,"self"]]'
expect_eq "group name" "$(fake GET /_state | jq -r '.security_groups[0].name')" docker-machine
expect_eq "key name" "$(fake GET /_state | jq -r '.ssh_keys[0].name')" docker-machine-e1
expect_eq "stored Id" "$(jq -r .Driver.Id $STORE/machines/e1/config.json)" "$(fake GET /_state | jq -r '.instances[0].id')"

put $M/ctl stop && ok || fail "stop: $(cat $M/error)"
expect_eq "state after stop" "$(cat $M/state)" Stopped
put $M/ctl start && ok || fail "start: $(cat $M/error)"
expect_eq "state after start" "$(cat $M/state)" Running
put $M/ctl kill && ok || fail "kill: $(cat $M/error)"
expect_eq "state after kill" "$(cat $M/state)" Stopped
put $M/ctl start && ok || fail "start 2: $(cat $M/error)"
put $M/ctl restart && ok || fail "restart: $(cat $M/error)"
expect_eq "state after restart" "$(cat $M/state)" Running
expect_eq "docker after restart" "$( . $M/env && docker info --format '{{.Name}}' )" e1

grep -rqF "$SECRET" $MNT 2>/dev/null && fail "secret visible in the tree" || ok
grep -qF "$SECRET" "$T/daemon.log" && fail "secret in the daemon's output" || ok
expect_eq "secret masked" "$(cat $M/options/exoscale-api-secret-key)" "****"
expect_eq "store 0600" "$(stat -c %a $STORE/machines/e1/config.json)" 600

rmdir $M && ok || fail "rmdir: $(cat $M/error 2>/dev/null)"
expect_eq "account after rmdir" "$(account)" "0 0 0 0"

# ---- 503 and 429 once mid-create ----
fake POST /_fault '{"path":"^/v2/instance$","method":"POST","status":503}' >/dev/null
fake POST /_fault '{"path":"^/v2/operation/","method":"GET","status":429}' >/dev/null
fake POST /_requests/reset >/dev/null
put_exo e2 && ok || fail "create through 503/429: $(cat $MNT/e2/error)"
requests | grep -q "POST /v2/instance 503" && ok || fail "no 503"
requests | grep -q "GET /v2/operation/ID 429" && ok || fail "no 429"
expect_eq "e2 docker" "$( . $MNT/e2/env && docker info --format '{{.Name}}' )" e2
rmdir $MNT/e2 && ok || fail "rmdir e2"
expect_eq "account after e2" "$(account)" "0 0 0 0"

# ---- a bad secret: one line, nothing made ----
S=wrong-secret expect_errno "Operation not permitted" put_exo bad1
expect_eq "bad secret error" "$(cat $MNT/bad1/error)" "GET /v2/zone: http 403: Invalid request signature"
expect_eq "error is one line" "$(wc -l < $MNT/bad1/error)" 1
expect_eq "account after bad secret" "$(account)" "0 0 0 0"
rmdir $MNT/bad1 && ok || fail "rmdir bad1"

# ---- a failure after the group and key exist: all deleted ----
fake POST /_fault '{"path":"^/v2/instance$","method":"POST","status":400,"body":{"message":"template: not found"}}' >/dev/null
expect_errno EINVAL put_exo bad2
expect_eq "bad2 error" "$(cat $MNT/bad2/error)" "POST /v2/instance: http 400: template: not found"
expect_eq "account after bad2" "$(account)" "0 0 0 0"
rmdir $MNT/bad2 && ok || fail "rmdir bad2"

# ---- kill -9 while the instance waits for its IP; remount; rmdir ----
fake POST /_delay_ip '{"seconds": 30}' >/dev/null
fake POST /_requests/reset >/dev/null
kill9_mid_create k1 "GET /v2/instance/ID" "1 1 1 0" "0 0 0 0" put_exo k1

# ---- a store written by Docker Machine ----
umount_fs
cp -r "$SRCDIR/tests/fixtures/dm-store-exo/." "$STORE/"
chmod 700 "$STORE/machines/ex1"; chmod 600 "$STORE/machines/ex1/config.json"
FSEC=$(jq -r .Driver.ApiSecretKey "$STORE/machines/ex1/config.json")
fake_stop
start_fake "$(jq -r .Driver.ApiKey "$STORE/machines/ex1/config.json")" "$FSEC"
fake POST /_seed '{"ssh_key": {"name": "docker-machine-ex1"}, "instance": {"id": "8f2b9a52-3c1d-4a7e-9b6f-0d5e4c3b2a19", "name": "ex1", "state": "stopped"}}' >/dev/null
EXOSCALE_ENDPOINT=$API/v2 mount_fs "$STORE" -o refresh=1
expect_eq "fixture driver" "$(cat $MNT/ex1/driver)" exoscale
for _ in $(seq 50); do [ "$(cat $MNT/ex1/state)" = Stopped ] && break; sleep 0.2; done
expect_eq "fixture state from the API" "$(cat $MNT/ex1/state)" Stopped
expect_eq "fixture ip" "$(cat $MNT/ex1/ip)" 203.0.113.30
expect_eq "fixture secret masked" "$(jq -r .Driver.ApiSecretKey $MNT/ex1/config.json)" "****"
grep -rqF "$FSEC" $MNT 2>/dev/null && fail "fixture secret visible in the tree" || ok
rmdir $MNT/ex1 && ok || fail "rmdir fixture: $(cat $MNT/ex1/error)"
expect_eq "account after fixture rmdir" "$(account)" "0 0 0 0"
expect_no_hosts_left
finish
