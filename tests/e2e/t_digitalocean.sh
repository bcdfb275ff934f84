#!/usr/bin/env bash
# The digitalocean driver end to end through the mount against the fake
# DigitalOcean API (tests/fakecloud/digitalocean.py), whose droplets are
# real lab hosts (sshd + dockerd):
#   create -> `. env && docker info`; state/ip/url; stop/start/kill/restart;
#   rmdir deletes droplet and key; Docker Machine's request sequence;
#   503/429 mid-create retried; a bad token; a bad image after the key was
#   made; kill -9 while the droplet waits for its IP, remount, rmdir; the
#   token in no file of the tree; a store written by Docker Machine.
# By hand: flock /tmp/mfs-e2e.lock bash tests/e2e/t_digitalocean.sh
. "$SRCDIR/tests/fs/lib.sh"
. "$SRCDIR/tests/fakecloud/lib.sh"
HOSTS=${LAB_DO_HOSTS:-111-113}
TOKEN="dop_v1_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"

trap 'cleanup; fake_stop' EXIT
fake_start digitalocean.py --hosts "$HOSTS" --token "$TOKEN"

# The account as "KEYS DROPLETS" counts.
account() { fake GET /_state | jq -r '"\(.ssh_keys | length) \(.droplets | length)"'; }
# The request log as "METHOD PATH STATUS" lines, droplet and key ids as ID.
requests() { fake_requests 's#/[0-9]+(/|$| )#/ID\1#g'; }
# Create with the token and the fake's URL: put_do MACHINE [OPTION=VALUE...]
put_do() {
	local m=$1
	shift
	create_machine digitalocean "$m" digitalocean-access-token="${TOK:-$TOKEN}" \
		digitalocean-api-url="$API" "$@"
}

mount_fs "$STORE" -o refresh=2
M=$MNT/d1

# ---- create, docker, state, lifecycle ----
start=$(date +%s)
if put_do d1 digitalocean-tags="ci, runner"; then ok; else
	fail "create: $(cat $M/error)"; tail -30 $M/log; cat "$T/fake.log"; finish; exit 1
fi
echo "create took $(( $(date +%s) - start )) s"
IP=$(cat $M/ip)
case "$IP" in 10.213.[0-9]*.2) ok ;; *) fail "ip: $IP" ;; esac
expect_eq state "$(cat $M/state)" Running
expect_eq url "$(cat $M/url)" "tcp://$IP:2376"
expect_eq "docker info" "$( . $M/env && docker info --format '{{.Name}}' )" d1
expect_eq "ssh user" "$(cat $M/ssh/user)" root
head -c 30 $STORE/machines/d1/id_ed25519.pub | grep -q '^ssh-ed25519 ' && ok || fail "machine key is not ed25519"

# Docker Machine's calls, in its order, and the droplet it asked for.
expect_eq "create calls" "$(requests | uniq)" "GET /v2/regions 200
POST /v2/account/keys 201
POST /v2/droplets 202
GET /v2/droplets/ID 200"
body=$(fake GET /_requests | jq -c '[.[] | select(.path == "/v2/droplets")][0].body')
expect_eq "droplet request" "$(jq -c 'del(.ssh_keys)' <<<"$body")" \
	'{"name":"d1","region":"nyc3","size":"s-1vcpu-1gb","image":"ubuntu-24-04-x64","backups":false,"ipv6":false,"private_networking":false,"monitoring":false,"tags":["ci","runner"]}'
keyid=$(fake GET /_state | jq '.ssh_keys[0].id')
expect_eq "droplet ssh_keys" "$(jq -c .ssh_keys <<<"$body")" "[$keyid]"
expect_eq "stored DropletID" "$(jq .Driver.DropletID $STORE/machines/d1/config.json)" \
	"$(fake GET /_state | jq '.droplets[0].id')"

fake POST /_requests/reset >/dev/null
put $M/ctl stop && ok || fail "stop: $(cat $M/error)"
expect_eq "state after stop" "$(cat $M/state)" Stopped
expect_eq "droplet off" "$(fake GET /_state | jq -r '.droplets[0].status')" off
put $M/ctl start && ok || fail "start: $(cat $M/error)"
expect_eq "state after start" "$(cat $M/state)" Running
put $M/ctl kill && ok || fail "kill: $(cat $M/error)"
expect_eq "state after kill" "$(cat $M/state)" Stopped
put $M/ctl start && ok || fail "start 2: $(cat $M/error)"
put $M/ctl restart && ok || fail "restart: $(cat $M/error)"
expect_eq "state after restart" "$(cat $M/state)" Running
expect_eq "docker after restart" "$( . $M/env && docker info --format '{{.Name}}' )" d1
actions=$(fake GET /_requests | jq -r '.[] | select(.method == "POST") | .body.type' | tr '\n' ' ')
expect_eq "actions" "$actions" "shutdown power_on power_off power_on reboot "

# The token is in no file of the tree, nor in the log; 0600 where stored.
grep -rqF "$TOKEN" $MNT 2>/dev/null && fail "token visible in the tree: $(grep -rlF "$TOKEN" $MNT)" || ok
grep -qF "$TOKEN" "$T/daemon.log" && fail "token in the daemon's output" || ok
expect_eq "token masked" "$(cat $M/options/digitalocean-access-token)" "****"
expect_eq "store 0600" "$(stat -c %a $STORE/machines/d1/config.json)" 600

# rmdir deletes key then droplet, as Docker Machine.
fake POST /_requests/reset >/dev/null
rmdir $M && ok || fail "rmdir: $(cat $M/error 2>/dev/null)"
expect_eq "account after rmdir" "$(account)" "0 0"
expect_eq "remove calls" "$(requests | grep -v '^GET')" "DELETE /v2/account/keys/ID 204
DELETE /v2/droplets/ID 204"

# ---- throttled and failing API mid-create: retried, success ----
fake POST /_fault '{"path":"^/v2/droplets$","method":"POST","status":503,"count":1}' >/dev/null
fake POST /_fault '{"path":"^/v2/droplets/[0-9]+$","method":"GET","status":429,"count":1,"headers":{"Retry-After":"1"}}' >/dev/null
fake POST /_requests/reset >/dev/null
put_do d2 && ok || fail "create through 503/429: $(cat $MNT/d2/error)"
expect_eq "retried calls" "$(requests | uniq)" "GET /v2/regions 200
POST /v2/account/keys 201
POST /v2/droplets 503
POST /v2/droplets 202
GET /v2/droplets/ID 429
GET /v2/droplets/ID 200"
grep -q "http POST /v2/droplets 503 .*retry in" $MNT/d2/log && ok || fail "no retry line in the log"
expect_eq "d2 docker" "$( . $MNT/d2/env && docker info --format '{{.Name}}' )" d2
rmdir $MNT/d2 && ok || fail "rmdir d2"
expect_eq "account after d2" "$(account)" "0 0"

# ---- a bad token: one line naming the cause, nothing made ----
TOK=wrong-token-value expect_errno EACCES put_do bad1
err=$(cat $MNT/bad1/error)
expect_eq "bad token error" "$err" "GET /v2/regions: http 401: Unable to authenticate you"
expect_eq "error is one line" "$(wc -l < $MNT/bad1/error)" 1
expect_eq "account after bad token" "$(account)" "0 0"
rmdir $MNT/bad1 && ok || fail "rmdir bad1"

# ---- a bad image after the key was made: the key is deleted ----
fake POST /_requests/reset >/dev/null
expect_errno EINVAL put_do bad2 digitalocean-image=ubuntu-16-04-x64
expect_eq "bad image error" "$(cat $MNT/bad2/error)" \
	"POST /v2/droplets: http 422: You specified an invalid image for Droplet creation."
expect_eq "account after bad image" "$(account)" "0 0"
expect_eq "bad image calls" "$(requests)" "GET /v2/regions 200
POST /v2/account/keys 201
POST /v2/droplets 422
DELETE /v2/account/keys/ID 204"
rmdir $MNT/bad2 && ok || fail "rmdir bad2"
# ... and when the key cannot be deleted then, error names it; rm does it.
fake POST /_fault '{"path":"^/v2/account/keys/","method":"DELETE","status":403,"count":1}' >/dev/null
expect_errno EINVAL put_do bad3 digitalocean-image=ubuntu-16-04-x64
keyid=$(fake GET /_state | jq '.ssh_keys[0].id')
expect_eq "undeleted key named" "$(cat $MNT/bad3/error)" \
	"POST /v2/droplets: http 422: You specified an invalid image for Droplet creation.; could not delete SSH key $keyid (DELETE /v2/account/keys/$keyid: http 403: injected fault 403)"
expect_eq "account with the key left" "$(account)" "1 0"
rmdir $MNT/bad3 && ok || fail "rmdir bad3: $(cat $MNT/bad3/error)"
expect_eq "account after rmdir bad3" "$(account)" "0 0"

# ---- Ctrl-C while the droplet waits for its IP: what was made is deleted ----
fake POST /_delay_ip '{"seconds": 30}' >/dev/null
fake POST /_requests/reset >/dev/null
mkdir $MNT/c1
put $MNT/c1/options/digitalocean-access-token "$TOKEN"
put $MNT/c1/options/digitalocean-api-url "$API"
bash -c 'printf "digitalocean\n" > "$1"' w $MNT/c1/driver 2>/dev/null &
w=$!
for _ in $(seq 200); do requests | grep -q "GET /v2/droplets/ID" && break; sleep 0.1; done
kill -TERM $w
wait $w 2>/dev/null
expect_eq "state after Ctrl-C" "$(cat $MNT/c1/state)" Error
case "$(cat $MNT/c1/error)" in *cancelled*) ok ;; *) fail "error after Ctrl-C: $(cat $MNT/c1/error)" ;; esac
expect_eq "account after Ctrl-C" "$(account)" "0 0"
expect_eq "Ctrl-C undo calls" "$(requests | grep -v '^GET')" "POST /v2/account/keys 201
POST /v2/droplets 202
DELETE /v2/droplets/ID 204
DELETE /v2/account/keys/ID 204"
rmdir $MNT/c1 && ok || fail "rmdir c1"

# ---- kill -9 while the droplet waits for its IP; remount; rmdir ----
fake POST /_requests/reset >/dev/null
kill9_mid_create k1 "GET /v2/droplets/ID" "1 1" "0 0" put_do k1

# ---- a store written by Docker Machine ----
umount_fs
cp -r "$SRCDIR/tests/fixtures/dm-store-do/." "$STORE/"
chmod 700 "$STORE/machines/do1"; chmod 600 "$STORE/machines/do1/config.json"
FTOK=$(jq -r .Driver.AccessToken "$STORE/machines/do1/config.json")
fake_stop
fake_start digitalocean.py --hosts "$HOSTS" --token "$FTOK"
ssh-keygen -q -t ed25519 -N '' -f "$T/dmkey"
fake POST /_seed "$(jq -nc --arg k "$(cat $T/dmkey.pub)" \
	'{ssh_key: {id: 515151, public_key: $k, name: "do1"}, droplet: {id: 424242, name: "do1", status: "off"}}')" >/dev/null
DIGITALOCEAN_API_URL=$API mount_fs "$STORE" -o refresh=1
expect_eq "fixture driver" "$(cat $MNT/do1/driver)" digitalocean
for _ in $(seq 50); do [ "$(cat $MNT/do1/state)" = Stopped ] && break; sleep 0.2; done
expect_eq "fixture state from the API" "$(cat $MNT/do1/state)" Stopped
expect_eq "fixture ip" "$(cat $MNT/do1/ip)" 203.0.113.10
expect_eq "fixture token masked" "$(jq -r .Driver.AccessToken $MNT/do1/config.json)" "****"
grep -rqF "$FTOK" $MNT 2>/dev/null && fail "fixture token visible in the tree" || ok
rmdir $MNT/do1 && ok || fail "rmdir fixture: $(cat $MNT/do1/error)"
expect_eq "account after fixture rmdir" "$(account)" "0 0"
# A droplet already gone (404): rm still succeeds.
cp -r "$SRCDIR/tests/fixtures/dm-store-do/machines/do1" "$STORE/machines/gone"
sed -i 's/"do1"/"gone"/' "$STORE/machines/gone/config.json"
umount_fs; DIGITALOCEAN_API_URL=$API mount_fs "$STORE" -o refresh=1
rmdir $MNT/gone && ok || fail "rmdir of a machine whose droplet is gone: $(cat $MNT/gone/error)"
expect_eq "account at the end" "$(account)" "0 0"
expect_no_hosts_left
finish
