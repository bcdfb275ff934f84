#!/usr/bin/env bash
# The vmwarevsphere driver end to end through the mount against govmomi's
# vCenter simulator (tests/vcsim: HTTPS, self-signed), whose powered-on VMs
# get a real lab host (31-33) as their guest, reached with the key the
# driver put in guestinfo.machinefs.authorized-keys:
#   create -> `. env && docker info`; the vim25 calls in Docker Machine's
#   order; the VM's extraConfig and ISO; stop/start/kill/restart; rmdir
#   leaves nothing; faults (a datastore, a network, a pool that do not
#   exist, a wrong password) as one line with nothing made;
#   the CA check, a pinned thumbprint, a wrong one; Ctrl-C and kill -9 in
#   the IP wait; the password in no file of the tree nor the log; a store
#   written by Docker Machine.
# By hand: flock /tmp/mfs-e2e.lock bash tests/e2e/t_vsphere.sh
. "$SRCDIR/tests/fs/lib.sh"
. "$SRCDIR/tests/fakecloud/lib.sh"
HOSTS=${LAB_VSPHERE_HOSTS:-31-33}
PASS="vs-$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"
head -c 300000 /dev/urandom >"$T/test.iso"

export VCSIM_STATE=$T/guests VCSIM_LAB_HOSTS=$HOSTS
SIM_PID=$("$SRCDIR/tests/vcsim/start.sh" "$T" -password "$PASS" -vm-names taken,dm1 \
	-guest-cmd "$SRCDIR/tests/vcsim/guest.sh" -no-ip-file "$T/no-ip") ||
	{ echo "the simulator did not start"; cat "$T/vcsim.log"; exit 1; }
trap 'cleanup; kill "$SIM_PID" 2>/dev/null; lab_down_range "$HOSTS"' EXIT
PORT=$(cat "$T/port")
THUMB=$(cat "$T/thumb")

sim() { curl -sf --cacert "$T/cert.pem" "https://127.0.0.1:$PORT$1"; }
vms() { sim /_inventory | jq -r '[.vms[].name] | sort | join(" ")'; }
sorted() { tr ' ' '\n' <<<"$*" | sort | tr '\n' ' ' | sed 's/ $//'; }
DS=$(sim /_inventory | jq -r .datastore)
VMS0=$(vms)
# The vim25 calls a machine's log shows, in order, repeats folded.
calls() { grep -o 'vsphere [A-Za-z_]*\|http PUT /folder[^ ]*' "$1" | sed 's/^vsphere //' | uniq; }
# put_vs MACHINE [OPTION=VALUE...]
put_vs() {
	local m=$1
	shift
	create_machine vmwarevsphere "$m" vmwarevsphere-vcenter=127.0.0.1 vmwarevsphere-vcenter-port="$PORT" \
		vmwarevsphere-username=user vmwarevsphere-password="${PW:-$PASS}" \
		vmwarevsphere-boot2docker-url="$T/test.iso" "$@"
}

# The simulator's CA for this mount (a vCenter with a company CA).
CURL_CA_BUNDLE=$T/cert.pem mount_fs "$STORE" -o refresh=2
M=$MNT/v1

# ---- create, docker, state, lifecycle ----
if put_vs v1 vmwarevsphere-cfgparam="guestinfo.test=yes"; then ok; else
	fail "create: $(cat $M/error)"; tail -30 $M/log; cat "$T/vcsim.log"; finish; exit 1
fi
IP=$(cat $M/ip)
case "$IP" in 10.213.3[1-3].2) ok ;; *) fail "ip: $IP" ;; esac
expect_eq state "$(cat $M/state)" Running
expect_eq url "$(cat $M/url)" "tcp://$IP:2376"
expect_eq "docker info" "$( . $M/env && docker info --format '{{.Name}}' )" v1
expect_eq "ssh user" "$(cat $M/ssh/user)" docker
expect_eq "create calls" "$(calls $M/log)" "RetrieveServiceContent
Login
RetrieveProperties
Logout
RetrieveServiceContent
Login
RetrieveProperties
CreateVM_Task
RetrieveProperties
http PUT /folder/v1/boot2docker.iso
RetrieveProperties
ReconfigVM_Task
RetrieveProperties
PowerOnVM_Task
RetrieveProperties
Logout"
vm=$(sim /_inventory | jq -c '.vms[] | select(.name == "v1")')
expect_eq "guestinfo key" "$(jq -r '.extra["guestinfo.machinefs.authorized-keys"]' <<<"$vm")" \
	"$(cat $STORE/machines/v1/id_ed25519.pub)"
expect_eq "cfgparam" "$(jq -r '.extra["guestinfo.test"]' <<<"$vm")" yes
cmp -s "$DS/v1/boot2docker.iso" "$T/test.iso" && ok || fail "the ISO is not on the datastore"
expect_eq "stored VMRef" "$(jq -r '.Driver.VMRef | startswith("vm-")' $STORE/machines/v1/config.json)" true

put $M/ctl stop && ok || fail "stop: $(cat $M/error)"
expect_eq "state after stop" "$(cat $M/state)" Stopped
put $M/ctl start && ok || fail "start: $(cat $M/error)"
expect_eq "state after start" "$(cat $M/state)" Running
put $M/ctl kill && ok || fail "kill: $(cat $M/error)"
expect_eq "state after kill" "$(cat $M/state)" Stopped
put $M/ctl restart && ok || fail "restart: $(cat $M/error)"
expect_eq "state after restart" "$(cat $M/state)" Running
expect_eq "docker after restart" "$( . $M/env && docker info --format '{{.Name}}' )" v1

# The password is in no file of the tree, nor in a log; 0600 where stored.
grep -rqF "$PASS" $MNT 2>/dev/null && fail "password visible in the tree: $(grep -rlF "$PASS" $MNT)" || ok
grep -qF "$PASS" "$T/daemon.log" "$STORE/machines/v1/log" 2>/dev/null && fail "password in a log" || ok
expect_eq "password masked" "$(cat $M/options/vmwarevsphere-password)" "****"
expect_eq "store 0600" "$(stat -c %a $STORE/machines/v1/config.json)" 600

# rmdir: powered off, ISO deleted, VM destroyed, as Docker Machine.
rmdir $M && ok || fail "rmdir: $(cat $M/error 2>/dev/null)"
expect_eq "vms after rmdir" "$(vms)" "$VMS0"
[ -e "$DS/v1" ] && fail "the VM's folder is left: $(ls $DS/v1)" || ok

# ---- faults: one line, nothing made ----
fault() { # fault ERRNO MACHINE WANT-ERROR [OPTION=VALUE...]
	local e=$1 m=$2 want=$3
	shift 3
	expect_errno "$e" put_vs "$m" "$@"
	expect_eq "$m error" "$(cat $MNT/$m/error)" "$want"
	expect_eq "$m error is one line" "$(wc -l < $MNT/$m/error)" 1
	expect_eq "vms after $m" "$(vms)" "$VMS0"
	rmdir $MNT/$m && ok || fail "rmdir $m: $(cat $MNT/$m/error)"
}
fault ENOENT f1 "datastore 'nope' not found" vmwarevsphere-datastore=nope
fault ENOENT f2 "network 'no-net' not found" vmwarevsphere-network=no-net
fault ENOENT f3 "resource pool 'DC0_C0/Resources/none' not found" vmwarevsphere-pool=DC0_C0/Resources/none
PW=wrong-password fault EACCES f4 "Login: Login failure"

# ---- Ctrl-C while the VM waits for its IP: the VM is destroyed ----
touch "$T/no-ip"
mkdir $MNT/c1
for o in vcenter=127.0.0.1 vcenter-port=$PORT username=user password=$PASS boot2docker-url=$T/test.iso; do
	put "$MNT/c1/options/vmwarevsphere-${o%%=*}" "${o#*=}"
done
bash -c 'printf "vmwarevsphere\n" > "$1"' w $MNT/c1/driver 2>/dev/null &
w=$!
for _ in $(seq 200); do grep -q "Waiting for VMware Tools" $MNT/c1/log 2>/dev/null && break; sleep 0.1; done
kill -TERM $w
wait $w 2>/dev/null
case "$(cat $MNT/c1/error)" in *cancelled*) ok ;; *) fail "error after Ctrl-C: $(cat $MNT/c1/error)" ;; esac
expect_eq "vms after Ctrl-C" "$(vms)" "$VMS0"
[ -e "$DS/c1" ] && fail "c1's folder is left" || ok
rmdir $MNT/c1 && ok || fail "rmdir c1"

# ---- kill -9 while the VM waits for its IP; remount; rmdir ----
( put_vs k1 ) >/dev/null 2>&1 &
CREATE_PID=$!
for _ in $(seq 300); do grep -q "Waiting for VMware Tools" $MNT/k1/log 2>/dev/null && break; sleep 0.1; done
grep -q "Waiting for VMware Tools" $MNT/k1/log && ok || fail "create did not reach the IP wait"
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
umount_fs; wait "$CREATE_PID"
expect_eq "vms mid-create" "$(vms)" "$(sorted $VMS0 k1)"
CURL_CA_BUNDLE=$T/cert.pem mount_fs "$STORE" -o refresh=2
rmdir $MNT/k1 && ok || fail "rmdir after kill -9: $(cat $MNT/k1/error)"
expect_eq "vms after kill -9 + rmdir" "$(vms)" "$VMS0"
[ -e "$DS/k1" ] && fail "k1's folder is left" || ok
rm -f "$T/no-ip"
umount_fs

# ---- TLS: no CA, a pinned thumbprint, a wrong one ----
mount_fs "$STORE" -o refresh=2
expect_errno "Protocol error" put_vs n1
case "$(cat $MNT/n1/error)" in *certificate*) ok ;; *) fail "no-CA error: $(cat $MNT/n1/error)" ;; esac
rmdir $MNT/n1
expect_errno "Protocol error" put_vs n2 vmwarevsphere-thumbprint=00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33
expect_eq "wrong thumbprint" "$(cat $MNT/n2/error)" \
	"https://127.0.0.1:$PORT: the certificate's thumbprint is not the pinned one (vmwarevsphere-thumbprint)"
rmdir $MNT/n2
expect_errno EINVAL put_vs n3 vmwarevsphere-thumbprint=zz
rmdir $MNT/n3
if put_vs p1 vmwarevsphere-thumbprint="$THUMB"; then ok; else fail "create with the thumbprint: $(cat $MNT/p1/error)"; fi
expect_eq "pinned: docker info" "$( . $MNT/p1/env && docker info --format '{{.Name}}' )" p1
rmdir $MNT/p1 && ok || fail "rmdir p1"
expect_eq "vms at the end" "$(vms)" "$VMS0"

# ---- a store written by Docker Machine (its VM: the simulator's) ----
umount_fs
cp -r "$SRCDIR/tests/fixtures/dm-store-vsphere/." "$STORE/"
F=$STORE/machines/dm1/config.json
jq --argjson p "$PORT" --arg pw "$PASS" '.Driver.Port = $p | .Driver.Password = $pw' "$F" >"$F.new" && mv "$F.new" "$F"
chmod 700 "$STORE/machines/dm1"; chmod 600 "$F"
VSPHERE_THUMBPRINT=$THUMB mount_fs "$STORE" -o refresh=1
expect_eq "fixture driver" "$(cat $MNT/dm1/driver)" vmwarevsphere
for _ in $(seq 50); do [ "$(cat $MNT/dm1/state)" = Running ] && break; sleep 0.2; done
expect_eq "fixture state from the API" "$(cat $MNT/dm1/state)" Running
expect_eq "fixture password masked" "$(jq -r .Driver.Password $MNT/dm1/config.json)" "****"
put $MNT/dm1/ctl kill && ok || fail "fixture kill: $(cat $MNT/dm1/error)"
expect_eq "fixture VM off" "$(sim /_inventory | jq -r '.vms[] | select(.name == "dm1") | .power')" poweredOff
rmdir $MNT/dm1 && ok || fail "fixture rmdir: $(cat $MNT/dm1/error 2>/dev/null)"
expect_eq "fixture VM destroyed" "$(vms)" taken

finish
