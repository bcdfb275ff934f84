#!/usr/bin/env bash
# The vmwarevcloudair driver end to end against a fake vCloud Director
# (tests/fakecloud/vcloud.py) whose vApps are real lab hosts with the key
# of the guest customization script authorized for root:
#   create -> `. env && docker info`; Docker Machine's calls; NAT and
#   firewall rules; stop/start/kill/restart; rmdir leaves the org empty;
#   bad credentials; a failure after the vApp exists; kill -9 mid-create,
#   remount, rmdir; the password in no file of the tree, nor the log.
# By hand: flock /tmp/mfs-e2e.lock bash tests/e2e/t_vcloudair.sh
. "$SRCDIR/tests/fs/lib.sh"
. "$SRCDIR/tests/fakecloud/lib.sh"
PW="vcd-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
trap 'cleanup; fake_stop' EXIT
fake_start vcloud.py --hosts 41-43 --user alice --password "$PW" --org acme --vdc vdc1
org() { fake GET /_state | jq -r '"\(.vapps | length) \(.nat_rules | length) \(.firewall_rules | length)"'; }
requests() {
	fake_requests -e 's#/(vapp|vm)-[0-9a-f-]+#/\1-ID#g' \
		-e 's#/(org|vdc|task|catalog|catalogItem|edgeGateway)/[0-9a-f-]+#/\1/ID#g'
}
put_vca() { # MACHINE PUBLICIP [OPTION=VALUE...]
	local m=$1 ip=$2
	shift 2
	create_machine vmwarevcloudair "$m" vmwarevcloudair-username=alice \
		vmwarevcloudair-password="${PASS:-$PW}" vmwarevcloudair-computeid=acme \
		vmwarevcloudair-vdcid=vdc1 vmwarevcloudair-publicip="$ip" \
		vmwarevcloudair-api-url="$API/api" "$@"
}
mount_fs "$STORE" -o refresh=2
grep -q "closed in 2017" $MNT/.drivers/vmwarevcloudair/options && ok || fail "api-url help says the service closed"

# ---- create, docker, lifecycle ----
M=$MNT/v1
if put_vca v1 10.213.41.2 vmwarevcloudair-cpu-count=2; then ok; else
	fail "create: $(cat $M/error)"; tail -30 $M/log; tail -20 "$T/fake.log"; finish; exit 1
fi
expect_eq ip "$(cat $M/ip)" 10.213.41.2
expect_eq url "$(cat $M/url)" tcp://10.213.41.2:2376
expect_eq "docker info" "$( . $M/env && docker info --format '{{.Name}}' )" v1
expect_eq "ssh user" "$(cat $M/ssh/user)" root
# Up to create's last call: the refresher's session and vApp reads (every
# 2 s) may follow it.
expect_eq "create calls" "$(requests | grep -v '^GET /api/task/' | uniq | sed '\#/action/configureServices 202$#q')" "POST /api/sessions 200
GET /api/org/ 200
GET /api/org/ID 200
GET /api/vdc/ID 200
GET /api/admin/vdc/ID/edgeGateways 200
GET /api/org/ID 200
GET /api/catalog/ID 200
GET /api/catalogItem/ID 200
POST /api/vdc/ID/action/instantiateVAppTemplate 201
GET /api/vApp/vapp-ID 200
PUT /api/vApp/vm-ID/virtualHardwareSection/cpu 202
PUT /api/vApp/vm-ID/virtualHardwareSection/memory 202
PUT /api/vApp/vm-ID/guestCustomizationSection/ 202
POST /api/vApp/vapp-ID/power/action/powerOn 202
GET /api/vdc/ID 200
GET /api/admin/vdc/ID/edgeGateways 200
GET /api/admin/edgeGateway/ID 200
POST /api/admin/edgeGateway/ID/action/configureServices 202"
expect_eq "vApp cpu memory" "$(fake GET /_state | jq -r '.vapps[0] | "\(.cpu) \(.memory)"')" "2 2048"
expect_eq "script authorizes the machine key" "$(fake GET /_state | jq -r '.vapps[0].script' | grep -c "$(cut -d' ' -f2 $STORE/machines/v1/id_ed25519.pub)")" 1
expect_eq "nat rules" "$(fake GET /_state | jq -r '.nat_rules[] | "\(.orig_ip):\(.orig_port)>\(.ip):\(.port)"' | tr '\n' ' ')" \
	"10.213.41.2:22>192.168.109.41:22 10.213.41.2:2376>192.168.109.41:2376 "
expect_eq "org after create" "$(org)" "1 2 2"

put $M/ctl stop && ok || fail "stop: $(cat $M/error)"
expect_eq "state after stop" "$(cat $M/state)" Stopped
put $M/ctl start && ok || fail "start: $(cat $M/error)"
expect_eq "state after start" "$(cat $M/state)" Running
put $M/ctl kill && ok || fail "kill: $(cat $M/error)"
expect_eq "state after kill" "$(cat $M/state)" Stopped
put $M/ctl start || fail "start 2: $(cat $M/error)"
put $M/ctl restart && ok || fail "restart: $(cat $M/error)"
expect_eq "docker after restart" "$( . $M/env && docker info --format '{{.Name}}' )" v1
expect_eq "power actions" "$(requests | grep -o 'power/action/[a-zA-Z]*' | tr '\n' ' ')" \
	"power/action/powerOn power/action/shutdown power/action/powerOn power/action/powerOff power/action/powerOn power/action/reset "

grep -rqF "$PW" $MNT 2>/dev/null && fail "password visible in the tree" || ok
grep -qF "$PW" "$T/daemon.log" && fail "password in the daemon's output" || ok
expect_eq "password masked" "$(cat $M/options/vmwarevcloudair-password)" "****"

fake POST /_requests/reset >/dev/null
rmdir $M && ok || fail "rmdir: $(cat $M/error 2>/dev/null)"
expect_eq "org after rmdir" "$(org)" "0 0 0"
expect_eq "remove calls" "$(requests | grep -v -e '^GET' | uniq)" "POST /api/sessions 200
POST /api/admin/edgeGateway/ID/action/configureServices 202
POST /api/vApp/vapp-ID/power/action/powerOff 202
POST /api/vApp/vapp-ID/action/undeploy 202
DELETE /api/vApp/vapp-ID 202"

# ---- bad credentials: one line, nothing made ----
PASS=wrong expect_errno EACCES put_vca bad1 10.213.42.2
expect_eq "bad credentials" "$(cat $MNT/bad1/error)" "POST /api/sessions: http 401: Unauthorized"
expect_eq "one line" "$(wc -l < $MNT/bad1/error)" 1
expect_eq "org after bad credentials" "$(org)" "0 0 0"
rmdir $MNT/bad1 && ok || fail "rmdir bad1"

# ---- a failure after the vApp exists: it is deleted ----
fake POST /_task_error '{"op":"vappDeploy"}' >/dev/null
expect_errno EIO put_vca bad2 10.213.42.2
expect_eq "power on error" "$(cat $MNT/bad2/error)" "powerOn: task error: injected task error of vappDeploy"
expect_eq "org after failed create" "$(org)" "0 0 0"
rmdir $MNT/bad2 && ok || fail "rmdir bad2"

# ---- kill -9 while the vApp powers on; remount; rmdir ----
fake POST /_delay_ip '{"seconds": 20}' >/dev/null
fake POST /_requests/reset >/dev/null
( put_vca k1 10.213.42.2 ) >/dev/null 2>&1 &
CREATE_PID=$!
for _ in $(seq 200); do requests | grep -q "powerOn" && break; sleep 0.1; done
requests | grep -q "powerOn" && ok || fail "create did not reach power on"
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
umount_fs; wait "$CREATE_PID"
expect_eq "org mid-create" "$(org)" "1 0 0"
mount_fs "$STORE" -o refresh=2
rmdir $MNT/k1 && ok || fail "rmdir after kill -9: $(cat $MNT/k1/error)"
expect_eq "org after kill -9 + rmdir" "$(org)" "0 0 0"
fake POST /_delay_ip '{"seconds": 0}' >/dev/null
expect_no_hosts_left
finish
