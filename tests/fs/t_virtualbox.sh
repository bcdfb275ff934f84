#!/usr/bin/env bash
# The virtualbox driver against a fake VBoxManage (tests/fakevbox) that
# records every call: the exact create sequence up to the SSH wait (no
# real VM answers SSH here), config.json's Driver keys, the format-me
# disk, state parsing, stop/start/kill/restart/rm, and bad options.
# VirtualBox itself is never run.
. "$(dirname "$0")/lib.sh"
export PATH=$SRCDIR/tests/fakevbox:$PATH
export FAKEVBOX_DIR=$T/fake FAKEVBOX_LOG=$T/calls MACHINEFS_VBOX_TIMEOUT=2
export MACHINEFS_GUEST_CACHE=$T/guest
mkdir -p $FAKEVBOX_DIR $MACHINEFS_GUEST_CACHE $T/share
echo "a boot image" > $MACHINEFS_GUEST_CACHE/machinefs.iso
: > $T/calls
S=$(realpath "$STORE")
BASE_KNOBS=()
knobs() { printf '%s\n' "${BASE_KNOBS[@]}" "$@" > $FAKEVBOX_DIR/knobs; }
# The calls since the last reset, ports and the random DHCP address
# replaced by PORT and DHCPIP, without the refresher's state checks of vb2
# (it runs every second).
calls() {
	grep -v '^showvminfo vb2 --machinereadable$' $T/calls | sed -E -e "s|$S|STORE|g" -e 's/127\.0\.0\.1,[0-9]+,,22/127.0.0.1,PORT,,22/' \
		-e 's/--ip 192\.168\.99\.([0-9]|1[0-9]|2[0-4]) --netmask/--ip DHCPIP --netmask/'
}
reset_calls() { : > $T/calls; }
# wait_state MACHINE WANT: the refresher (1 s) shows WANT within 10 s.
wait_state() {
	for _ in $(seq 100); do
		[ "$(cat $MNT/$1/state)" == "$2" ] && break
		sleep 0.1
	done
	expect_eq "state $2" "$(cat $MNT/$1/state)" "$2"
}

# A machine Docker Machine made earlier: its record and its VM (running).
mkdir -p $STORE/machines/vb2
chmod 700 $STORE/machines/vb2
FAKEVBOX_LOG= bash -c '
	VBoxManage createvm --basefolder "$1" --name vb2 --register >/dev/null
	VBoxManage hostonlyif create >/dev/null
	VBoxManage hostonlyif ipconfig vboxnet0 --ip 192.168.99.1 --netmask 255.255.255.0
	VBoxManage dhcpserver add --netname HostInterfaceNetworking-vboxnet0 --ip 192.168.99.8 --netmask 255.255.255.0 --lowerip 192.168.99.100 --upperip 192.168.99.254 --enable
	VBoxManage modifyvm vb2 --nic1 nat --nictype1 82540EM --cableconnected1 on --natpf1 ssh,tcp,127.0.0.1,40022,,22
	VBoxManage modifyvm vb2 --nic2 hostonly --nictype2 82540EM --nicpromisc2 deny --hostonlyadapter2 vboxnet0 --cableconnected2 on
	VBoxManage startvm vb2 --type headless >/dev/null' fixture "$S/machines/vb2" || fail "fixture"
python3 - "$S" > $STORE/machines/vb2/config.json <<'EOF'
import json, sys
s = sys.argv[1]
m = s + "/machines/vb2"
print(json.dumps({"ConfigVersion": 3, "Driver": {
    "IPAddress": "127.0.0.1", "MachineName": "vb2", "SSHUser": "docker", "SSHPort": 40022,
    "SSHKeyPath": m + "/id_rsa", "StorePath": s, "SwarmMaster": False, "SwarmHost": "tcp://0.0.0.0:3376",
    "SwarmDiscovery": "", "VBoxManager": {}, "HostInterfaces": {}, "CPU": 1, "Memory": 1024,
    "DiskSize": 20000, "NatNicType": "82540EM", "Boot2DockerURL": "", "Boot2DockerImportVM": "",
    "HostDNSResolver": False, "HostOnlyCIDR": "192.168.99.1/24", "HostOnlyNicType": "82540EM",
    "HostOnlyPromiscMode": "deny", "UIType": "headless", "HostOnlyNoDHCP": False, "NoShare": False,
    "DNSProxy": True, "NoVTXCheck": False, "ShareFolder": ""},
  "DriverName": "virtualbox", "HostOptions": {"Driver": "", "Memory": 0, "Disk": 0,
    "EngineOptions": {"ArbitraryFlags": [], "Dns": None, "GraphDir": "", "Env": [], "Ipv6": False,
      "InsecureRegistry": [], "Labels": [], "LogLevel": "", "StorageDriver": "", "SelinuxEnabled": False,
      "TlsVerify": True, "RegistryMirror": [], "InstallURL": "https://get.docker.com"},
    "SwarmOptions": {"IsSwarm": False, "Address": "", "Discovery": "", "Agent": False, "Master": False,
      "Host": "tcp://0.0.0.0:3376", "Image": "swarm:latest", "Strategy": "spread", "Heartbeat": 0,
      "Overcommit": 0, "ArbitraryFlags": [], "ArbitraryJoinFlags": [], "Env": None, "IsExperimental": False},
    "AuthOptions": {"CertDir": s + "/certs", "CaCertPath": s + "/certs/ca.pem",
      "CaPrivateKeyPath": s + "/certs/ca-key.pem", "CaCertRemotePath": "", "ServerCertPath": m + "/server.pem",
      "ServerKeyPath": m + "/server-key.pem", "ClientKeyPath": s + "/certs/key.pem", "ServerCertRemotePath": "",
      "ServerKeyRemotePath": "", "ClientCertPath": s + "/certs/cert.pem", "ServerCertSANs": [], "StorePath": m}},
  "Name": "vb2"}, indent=4), end="")
EOF
chmod 600 $STORE/machines/vb2/config.json
# The engine stand-in's certificates and vb2's client files.
E=$T/engine
mkdir -p $E
(
	cd $E
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 2 -subj /O=ca
	openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj /O=server
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server.pem -days 2 -extfile server.ext
	openssl req -newkey rsa:2048 -nodes -keyout key.pem -out client.csr -subj /O=client
	printf 'extendedKeyUsage=clientAuth\n' > client.ext
	openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out cert.pem -days 2 -extfile client.ext
) >/dev/null 2>&1 || fail "engine certificates"
cp $E/ca.pem $E/cert.pem $E/key.pem $STORE/machines/vb2/
python3 - $E <<'EOF' &
import http.server, ssl, sys
d = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = b'{"Version":"24.0.7","ApiVersion":"1.43","Os":"linux"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(d + "/server.pem", d + "/server-key.pem")
ctx.load_verify_locations(d + "/ca.pem")
ctx.verify_mode = ssl.CERT_REQUIRED
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 2376), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(d + "/ready", "w").close()
srv.serve_forever()
EOF
ENGINE_PID=$!
trap 'kill $ENGINE_PID 2>/dev/null; cleanup' EXIT
for _ in $(seq 100); do
	[ -e $E/ready ] && break
	kill -0 $ENGINE_PID 2>/dev/null || { echo "FAIL: the engine stand-in cannot listen on 127.0.0.1:2376 (busy?)"; exit 1; }
	sleep 0.1
done
reset_calls
mount_fs "$STORE" -o refresh=1

expect_eq ".drivers lists it" "$(ls $MNT/.drivers | grep -c '^virtualbox$')" "1"

# --- Bad options fail at create with a clear error, before any VM. ---
M=$MNT/bad
bad_create() { # WHAT ERROR-PATTERN OPTION=VALUE...
	local what=$1 epat=$2; shift 2
	mkdir $M
	for kv in "$@"; do put "$M/options/${kv%%=*}" "${kv#*=}"; done
	expect_errno EINVAL put $M/driver virtualbox 2>/dev/null
	case "$(cat $M/error)" in *"$epat"*) ok ;; *) fail "$what: error: $(cat $M/error)" ;; esac
	rmdir $M || fail "$what: rmdir"
}
bad_create "memory" "invalid value 'lots' for option 'virtualbox-memory'" virtualbox-memory=lots
bad_create "memory 0" "invalid value 0 for option 'virtualbox-memory'" virtualbox-memory=0
bad_create "cpus" "option 'virtualbox-cpu-count'" virtualbox-cpu-count=-2
bad_create "network cidr" "host-only cidr must be specified with a host address, not a network address" virtualbox-hostonly-cidr=192.168.99.0/24
bad_create "cidr" "invalid host-only cidr 'nonsense'" virtualbox-hostonly-cidr=nonsense
bad_create "ui" "invalid value 'fancy' for option 'virtualbox-ui-type'" virtualbox-ui-type=fancy
bad_create "nic" "invalid value 'rtl' for option 'virtualbox-nat-nictype'" virtualbox-nat-nictype=rtl
bad_create "install url" "--engine-install-url cannot be used with the virtualbox driver" engine-install-url=https://example.invalid/
expect_eq "no VBoxManage call for bad options" "$(calls)" ""

# Checks that run VBoxManage (pre-create), still before any VM.
mkdir $M
knobs FAKEVBOX_VERSION=4.2.16r86992
expect_errno ENOTSUP put $M/driver virtualbox
expect_eq "old version" "$(cat $M/error)" 'We support Virtualbox starting with version 5. Your VirtualBox install is "4.2.16r86992". Please upgrade at https://www.virtualbox.org'
knobs
rmdir $M
if ! grep -qE 'vmx|svm' /proc/cpuinfo; then
	mkdir $M
	expect_errno ENOTSUP put $M/driver virtualbox
	case "$(cat $M/error)" in "This computer doesn't have VT-X/AMD-v enabled."*) ok ;; *) fail "vtx: $(cat $M/error)" ;; esac
	rmdir $M
fi
mkdir $M
put $M/options/virtualbox-no-vtx-check true
put $M/options/virtualbox-boot2docker-url $T/nothing.iso
expect_errno ENOENT put $M/driver virtualbox
expect_eq "missing image" "$(cat $M/error)" "cannot read the boot image '$T/nothing.iso': No such file or directory"
rmdir $M
nver=2
grep -qE 'vmx|svm' /proc/cpuinfo || nver=3
expect_eq "pre-create calls" "$(calls | sort | uniq -c | sed 's/^ *//')" "$nver --version"
expect_eq "no VM made" "$(ls $FAKEVBOX_DIR/vms)" "vb2.json"

# --- Create: the exact sequence, up to the SSH wait that fails here. ---
reset_calls
M=$MNT/vb1
mkdir $M
put $M/options/virtualbox-no-vtx-check true
put $M/options/virtualbox-share-folder "$T/share:share"
expect_errno "timed out" put $M/driver virtualbox
case "$(cat $M/error)" in
"SSH on 127.0.0.1:"*" (forwarded to 'vb1':22) did not answer within 2 s: cannot reach '127.0.0.1:"*) ok ;;
*) fail "create error: $(cat $M/error)" ;;
esac
expect_eq "create sequence" "$(calls)" "--version
list hostonlyifs
convertfromraw STORE/machines/vb1/disk.raw STORE/machines/vb1/disk.vmdk --format VMDK
createvm --basefolder STORE/machines/vb1 --name vb1 --register
modifyvm vb1 --firmware bios --bioslogofadein off --bioslogofadeout off --bioslogodisplaytime 0 --biosbootmenu disabled --ostype Linux26_64 --cpus 1 --memory 1024 --acpi on --ioapic on --rtcuseutc on --natdnshostresolver1 off --natdnsproxy1 on --cpuhotplug off --pae on --hpet on --hwvirtex on --nestedpaging on --largepages on --vtxvpid on --accelerate3d off --boot1 dvd
modifyvm vb1 --nic1 nat --nictype1 82540EM --cableconnected1 on
storagectl vb1 --name SATA --add sata --hostiocache on
storageattach vb1 --storagectl SATA --port 0 --device 0 --type dvddrive --medium STORE/machines/vb1/boot2docker.iso
storageattach vb1 --storagectl SATA --port 1 --device 0 --type hdd --medium STORE/machines/vb1/disk.vmdk
guestproperty set vb1 /VirtualBox/GuestAdd/SharedFolders/MountPrefix /
guestproperty set vb1 /VirtualBox/GuestAdd/SharedFolders/MountDir /
sharedfolder add vb1 --name share --hostpath $T/share --automount
setextradata vb1 VBoxInternal2/SharedFoldersEnableSymlinksCreate/share 1
showvminfo vb1 --machinereadable
list hostonlyifs
list dhcpservers
list hostonlyifs
list dhcpservers
modifyvm vb1 --nic2 hostonly --nictype2 82540EM --nicpromisc2 deny --hostonlyadapter2 vboxnet0 --cableconnected2 on
modifyvm vb1 --natpf1 delete ssh
modifyvm vb1 --natpf1 ssh,tcp,127.0.0.1,PORT,,22
startvm vb1 --type headless
showvminfo vb1 --machinereadable
guestproperty get vb1 /VirtualBox/GuestInfo/Net/1/V4/IP
list hostonlyifs"
# The forwarded port is a real free port, and it is in the VM's rules.
port=$(grep -o '127\.0\.0\.1,[0-9]*,,22' $T/calls | cut -d, -f2)
[ -n "$port" ] && [ "$port" -gt 1023 ] && ok || fail "ssh port '$port'"
expect_eq "natpf in showvminfo" "$(VBoxManage showvminfo vb1 --machinereadable | grep '^Forwarding')" \
	"Forwarding(0)=\"ssh,tcp,127.0.0.1,$port,,22\""
# config.json, saved before create as Docker Machine does: 0.16's keys in order.
expect_eq "Driver keys" "$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["Driver"]))' $STORE/machines/vb1/config.json)" \
	"IPAddress MachineName SSHUser SSHPort SSHKeyPath StorePath SwarmMaster SwarmHost SwarmDiscovery VBoxManager HostInterfaces CPU Memory DiskSize NatNicType Boot2DockerURL Boot2DockerImportVM HostDNSResolver HostOnlyCIDR HostOnlyNicType HostOnlyPromiscMode UIType HostOnlyNoDHCP NoShare DNSProxy NoVTXCheck ShareFolder"
expect_eq "Driver values" "$(python3 -c '
import json,sys
d = json.load(open(sys.argv[1]))["Driver"]
print(" ".join(str(d[k]) for k in ("MachineName","SSHUser","SSHKeyPath","VBoxManager","CPU","Memory","DiskSize","NatNicType","HostOnlyCIDR","HostOnlyNicType","HostOnlyPromiscMode","UIType","HostOnlyNoDHCP","NoShare","DNSProxy","NoVTXCheck","ShareFolder")))' $STORE/machines/vb1/config.json)" \
	"vb1 docker $S/machines/vb1/id_rsa {} 1 1024 20000 82540EM 192.168.99.1/24 82540EM deny headless False False True True $T/share:share"
expect_eq "DriverName" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["DriverName"])' $STORE/machines/vb1/config.json)" "virtualbox"
# The disk: Docker Machine's format-me tar with the new public key.
D=$STORE/machines/vb1
expect_eq "disk tar" "$(tar tf $D/disk.vmdk 2>/dev/null | tr '\n' ' ')" "boot2docker, please format-me .ssh .ssh/authorized_keys .ssh/authorized_keys2 "
expect_eq "magic" "$(tar xOf $D/disk.vmdk 'boot2docker, please format-me')" "boot2docker, please format-me"
expect_eq "authorized_keys" "$(tar xOf $D/disk.vmdk .ssh/authorized_keys)" "$(cat $D/id_rsa.pub)"
expect_eq "raw disk removed" "$(ls $D/disk.raw 2>&1 >/dev/null | grep -c 'No such')" "1"
expect_eq "key mode" "$(stat -c %a $D/id_rsa)" "600"
expect_eq "key format" "$(head -1 $D/id_rsa)" "-----BEGIN RSA PRIVATE KEY-----"
if command -v ssh-keygen >/dev/null; then
	expect_eq "public key matches" "$(ssh-keygen -y -f $D/id_rsa | cut -d' ' -f1-2)" "$(cut -d' ' -f1-2 $D/id_rsa.pub)"
fi
expect_eq "iso copied" "$(cat $D/boot2docker.iso)" "a boot image"
expect_eq "hostonly adapter" "$(VBoxManage showvminfo vb1 --machinereadable | grep '^hostonlyadapter2')" 'hostonlyadapter2="vboxnet0"'
expect_eq "dhcp server" "$(VBoxManage list dhcpservers | sed -n '1p;3,6p' | tr -s ' ')" "NetworkName: HostInterfaceNetworking-vboxnet0
NetworkMask: 255.255.255.0
lowerIPAddress: 192.168.99.100
upperIPAddress: 192.168.99.254
Enabled: Yes"

# rmdir: the VM is running, so poweroff, then unregistervm --delete.
reset_calls
rmdir $M && ok || fail "rmdir vb1: $(cat $M/error 2>&1)"
expect_eq "rm sequence" "$(calls)" "showvminfo vb1 --machinereadable
controlvm vb1 poweroff
unregistervm --delete vb1"
expect_eq "vm gone" "$(ls $FAKEVBOX_DIR/vms)" "vb2.json"
expect_eq "folder gone" "$(ls $STORE/machines)" "vb2"

# --- The machine Docker Machine made: state, stop, start, kill, restart. ---
# start waits for the engine (TLS on the URL's port): a stand-in answers
# GET /version on 127.0.0.1:2376, the guest's address here.
M=$MNT/vb2
BASE_KNOBS=(FAKEVBOX_GUEST_IP=127.0.0.1)
knobs
wait_state vb2 Running
expect_eq "vb2 ip" "$(cat $M/ip)" "127.0.0.1"
expect_eq "vb2 url" "$(cat $M/url)" "tcp://127.0.0.1:2376"
for pair in paused:Paused saved:Saved poweroff:Stopped aborted:Stopped gurumeditation:None running:Running; do
	VBoxManage --fake-set-state vb2 ${pair%%:*}
	wait_state vb2 ${pair#*:}
done

sleep 1.2 # let a refresh that may be running end
reset_calls
put $M/ctl stop && ok || fail "stop: $(cat $M/error)"
expect_eq "stop sequence" "$(calls)" "controlvm vb2 acpipowerbutton"
# showvminfo before and after the power button (a background refresh may add more).
n=$(grep -n 'acpipowerbutton' $T/calls | cut -d: -f1)
total=$(wc -l < $T/calls)
[ "${n:-0}" -ge 2 ] && [ "$total" -gt "${n:-0}" ] && ok || fail "stop asks the state before and after: $(cat $T/calls)"
expect_eq "stop polled" "$(tail -1 $T/calls)" "showvminfo vb2 --machinereadable"
expect_eq "stopped" "$(cat $M/state)" "Stopped"
expect_eq "no ip when stopped" "$(cat $M/ip)" ""
# SSH goes through the NAT forward on 127.0.0.1 (GetSSHHostname), as user
# docker, whatever the host-only address.
expect_eq "ssh host" "$(cat $M/ssh/host)" "127.0.0.1"
expect_eq "ssh user" "$(cat $M/ssh/user)" "docker"

reset_calls
put $M/ctl start && ok || fail "start: $(cat $M/error)"
expect_eq "start sequence" "$(calls)" "list hostonlyifs
list dhcpservers
list hostonlyifs
list dhcpservers
modifyvm vb2 --nic2 hostonly --nictype2 82540EM --nicpromisc2 deny --hostonlyadapter2 vboxnet0 --cableconnected2 on
modifyvm vb2 --natpf1 delete ssh
modifyvm vb2 --natpf1 ssh,tcp,127.0.0.1,PORT,,22
startvm vb2 --type headless
guestproperty get vb2 /VirtualBox/GuestInfo/Net/1/V4/IP
list hostonlyifs"
expect_eq "start first asks the state" "$(head -1 $T/calls)" "showvminfo vb2 --machinereadable"
expect_eq "state after start" "$(cat $M/state)" "Running"
expect_eq "ip after start" "$(cat $M/ip)" "127.0.0.1"
grep -q '"SSHPort": [1-9]' $STORE/machines/vb2/config.json && ok || fail "SSHPort saved"

sleep 1.2
reset_calls
put $M/ctl kill && ok || fail "kill: $(cat $M/error)"
expect_eq "kill sequence" "$(calls)" "controlvm vb2 poweroff"
expect_eq "killed" "$(cat $M/state)" "Stopped"

# A paused VM is resumed before the power button.
put $M/ctl start || fail "start again: $(cat $M/error)"
VBoxManage --fake-set-state vb2 paused
wait_state vb2 Paused
sleep 1.2
reset_calls
put $M/ctl stop && ok || fail "stop paused: $(cat $M/error)"
expect_eq "stop paused" "$(calls)" "controlvm vb2 resume
controlvm vb2 acpipowerbutton"

# restart = stop (ACPI, wait) then start; the ACPI shutdown takes a while.
put $M/ctl start || fail "start 3: $(cat $M/error)"
knobs FAKEVBOX_ACPI_POLLS=2
sleep 1.2
reset_calls
put $M/ctl restart && ok || fail "restart: $(cat $M/error)"
expect_eq "restart sequence" "$(calls | head -2)" "controlvm vb2 acpipowerbutton
list hostonlyifs"
# Two polls while the guest shuts down, one more for start's state.
expect_eq "restart waited for poweroff" "$(sed -n '/acpipowerbutton/,/list hostonlyifs/p' $T/calls | grep -c '^showvminfo')" "3"
expect_eq "restart started" "$(calls | grep -c '^startvm vb2 --type headless$')" "1"
expect_eq "state after restart" "$(cat $M/state)" "Running"
knobs
# restart of a stopped machine starts it, as docker-machine restart does.
put $M/ctl kill || fail "kill before restart"
reset_calls
put $M/ctl restart && ok || fail "restart stopped: $(cat $M/error)"
expect_eq "restart of a stopped VM" "$(calls | grep -c -e acpipowerbutton -e '^startvm vb2')" "1"
expect_eq "state after restart of a stopped VM" "$(cat $M/state)" "Running"

# Errors from VirtualBox reach 'error'.
put $M/ctl kill || fail "kill 2"
knobs FAKEVBOX_VTX_LOG=1
expect_errno ENOTSUP put $M/ctl start
expect_eq "vtx in VBox.log" "$(cat $M/error)" "This computer doesn't have VT-X/AMD-v enabled. Enabling it in the BIOS is mandatory"
put $M/ctl kill || fail "kill 3"
knobs FAKEVBOX_FAIL=startvm
expect_errno EIO put $M/ctl start
expect_eq "startvm failure" "$(cat $M/error)" "Unable to start the VM: VBoxManage startvm vb2 --type headless failed: VBoxManage: error: injected failure of 'startvm'; details: 00:00:00.200000 Guest OS type: 'Linux26_64'"
knobs FAKEVBOX_FAIL="controlvm acpipowerbutton"
VBoxManage --fake-set-state vb2 running
wait_state vb2 Running
expect_errno EIO put $M/ctl stop
expect_eq "controlvm failure" "$(cat $M/error)" "VBoxManage controlvm vb2 acpipowerbutton failed: VBoxManage: error: injected failure of 'controlvm acpipowerbutton'"
knobs

# VirtualBox forgot the VM: rm still removes the record, without unregistervm.
rm $FAKEVBOX_DIR/vms/vb2.json
wait_state vb2 Error
reset_calls
rmdir $M && ok || fail "rmdir vb2: $(cat $M/error 2>&1)"
expect_eq "rm of a VM VirtualBox does not know" "$(calls | grep -c unregistervm)" "0"
expect_eq "store empty" "$(ls $STORE/machines)" ""
finish
