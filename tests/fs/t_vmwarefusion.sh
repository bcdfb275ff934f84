#!/usr/bin/env bash
# The vmwarefusion driver against a fake vmrun/vmware-vdiskmanager
# (tests/fakevmware) that records every call: the exact create sequence
# (the .vmx, the disk, start, the address from the DHCP leases; the key in
# the .vmx's guestinfo for our guest image, and also copied in by guest
# operations for a user's boot2docker image), config.json's Driver keys, state from
# `vmrun list`, stop (soft, then hard)/start/kill/restart/rm, bad options,
# a store written by Docker Machine, the guest password masked. No VMware
# is ever run; the fake has never been compared with one.
. "$(dirname "$0")/lib.sh"
export PATH=$SRCDIR/tests/fakevmware:$PATH
export FAKEVMWARE_DIR=$T/fake FAKEVMWARE_LOG=$T/calls MACHINEFS_VMWARE_TIMEOUT=2
export MACHINEFS_VMWARE_LEASES="$T/fake/vmnet*/dhcpd.leases" MACHINEFS_VMWARE_DHCP_CONF="$T/fake/vmnet*/dhcpd.conf"
export MACHINEFS_GUEST_CACHE=$T/guest
mkdir -p $FAKEVMWARE_DIR $MACHINEFS_GUEST_CACHE
echo "a boot image" > $MACHINEFS_GUEST_CACHE/machinefs.iso
: > $T/calls
S=$(realpath "$STORE")
knobs() { printf '%s\n' "$@" > $FAKEVMWARE_DIR/knobs; }
# The calls since the last reset, without the refresher's `vmrun list`.
calls() { grep -v '^vmrun -T ws list$' $T/calls | sed -e "s|$S|STORE|g"; }
reset_calls() { : > $T/calls; }
wait_state() {
	for _ in $(seq 100); do
		[ "$(cat $MNT/$1/state)" == "$2" ] && break
		sleep 0.1
	done
	expect_eq "state $2" "$(cat $MNT/$1/state)" "$2"
}

# A machine Docker Machine made earlier (its record and VM, running).
mkdir -p $STORE/machines/fu2
chmod 700 $STORE/machines/fu2
cat > $STORE/machines/fu2/fu2.vmx <<'VMX'
displayName = "fu2"
ethernet0.generatedAddress = "00:0C:29:AA:BB:CC"
VMX
mkdir -p $FAKEVMWARE_DIR/vmnet1
# A fixed host in a vmnet DHCP server's configuration wins over leases.
printf 'host fu2 {\n    hardware ethernet 00:0c:29:aa:bb:cc;\n    fixed-address 127.0.0.41;\n}\n' > $FAKEVMWARE_DIR/vmnet1/dhcpd.conf
FAKEVMWARE_LOG= FAKEVMWARE_NO_LEASE=1 vmrun -T ws start $STORE/machines/fu2/fu2.vmx nogui || fail "fixture start"
python3 - "$S" > $STORE/machines/fu2/config.json <<'PY'
import json, sys
s = sys.argv[1]; m = s + "/machines/fu2"
print(json.dumps({"ConfigVersion": 3, "Driver": {
    "IPAddress": "127.0.0.41", "MachineName": "fu2", "SSHUser": "docker", "SSHPort": 22,
    "SSHKeyPath": m + "/id_rsa", "StorePath": s, "SwarmMaster": False, "SwarmHost": "tcp://0.0.0.0:3376",
    "SwarmDiscovery": "", "Memory": 1024, "DiskSize": 20000, "CPU": 1, "ISO": m + "/boot2docker.iso",
    "Boot2DockerURL": "", "SSHPassword": "dm-guest-secret", "ConfigDriveISO": m + "/configdrive.iso",
    "ConfigDriveURL": "", "NoShare": False},
  "DriverName": "vmwarefusion", "HostOptions": {"Driver": "", "Memory": 0, "Disk": 0,
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
  "Name": "fu2"}, indent=4), end="")
PY
chmod 600 $STORE/machines/fu2/config.json
# start waits for the engine (TLS on the URL's port): a stand-in answers
# GET /version on 127.0.0.41:2376, fu2's address here.
E=$T/engine
mkdir -p $E
(
	cd $E
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 2 -subj /O=ca
	openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj /O=server
	printf 'subjectAltName=IP:127.0.0.41\nextendedKeyUsage=serverAuth\n' > server.ext
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server.pem -days 2 -extfile server.ext
	openssl req -newkey rsa:2048 -nodes -keyout key.pem -out client.csr -subj /O=client
	printf 'extendedKeyUsage=clientAuth\n' > client.ext
	openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out cert.pem -days 2 -extfile client.ext
) >/dev/null 2>&1 || fail "engine certificates"
cp $E/ca.pem $E/cert.pem $E/key.pem $STORE/machines/fu2/
python3 - $E <<'PY' &
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
srv = http.server.ThreadingHTTPServer(("127.0.0.41", 2376), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(d + "/ready", "w").close()
srv.serve_forever()
PY
ENGINE_PID=$!
trap 'kill $ENGINE_PID 2>/dev/null; cleanup' EXIT
for _ in $(seq 100); do
	[ -e $E/ready ] && break
	kill -0 $ENGINE_PID 2>/dev/null || { echo "FAIL: the engine stand-in cannot listen on 127.0.0.41:2376 (busy?)"; exit 1; }
	sleep 0.1
done
reset_calls
mount_fs "$STORE" -o refresh=1

expect_eq ".drivers lists it" "$(ls $MNT/.drivers | grep -c '^vmwarefusion$')" "1"
# Docker Machine 0.16's flags: names, types, defaults, environment variables.
expect_eq "options" "$(grep '^vmwarefusion-' $MNT/.drivers/vmwarefusion/options | cut -f1-3 | tr '\t\n' ' |')" \
	"vmwarefusion-boot2docker-url string |vmwarefusion-configdrive-url string |vmwarefusion-cpu-count string 1|vmwarefusion-memory-size int 1024|vmwarefusion-disk-size int 20000|vmwarefusion-ssh-user string docker|vmwarefusion-ssh-password string tcuser|vmwarefusion-no-share bool |"

# --- Bad options fail at create, before any VMware call. ---
M=$MNT/bad
bad_create() { # WHAT ERRNO ERROR-PATTERN OPTION=VALUE...
	local what=$1 eno=$2 epat=$3; shift 3
	mkdir $M
	for kv in "$@"; do put "$M/options/${kv%%=*}" "${kv#*=}"; done
	expect_errno $eno put $M/driver vmwarefusion 2>/dev/null
	case "$(cat $M/error)" in *"$epat"*) ok ;; *) fail "$what: error: $(cat $M/error)" ;; esac
	rmdir $M || fail "$what: rmdir"
}
bad_create "memory" EINVAL "invalid value 'lots' for option 'vmwarefusion-memory-size'" vmwarefusion-memory-size=lots
bad_create "disk" EINVAL "invalid value '0' for option 'vmwarefusion-disk-size'" vmwarefusion-disk-size=0
bad_create "cpus" EINVAL "invalid value '-2' for option 'vmwarefusion-cpu-count'" vmwarefusion-cpu-count=-2
bad_create "user" EINVAL "invalid value for option 'vmwarefusion-ssh-user'" 'vmwarefusion-ssh-user=a b;c'
bad_create "url" ENOTSUP "does not download images" vmwarefusion-boot2docker-url=https://example.invalid/b2d.iso
bad_create "missing iso" ENOENT "cannot read '$T/nothing.iso'" vmwarefusion-boot2docker-url=$T/nothing.iso
expect_eq "no VMware call for bad options" "$(calls)" ""
# No vmrun installed: a clear error.
mkdir $M
umount_fs; PATH=/usr/bin:/bin mount_fs "$STORE" -o refresh=1
expect_errno ENOENT put $M/driver vmwarefusion
expect_eq "no vmrun" "$(cat $M/error)" "vmrun not found: install VMware Workstation or put vmrun on PATH"
rmdir $M
# Options also come from Docker Machine's environment variables.
umount_fs; export PATH=$SRCDIR/tests/fakevmware:$PATH; FUSION_DISK_SIZE=4096 mount_fs "$STORE" -o refresh=1

# --- Create: the exact sequence. Nothing answers SSH on the guest's
# address, so provisioning fails after the driver's create. ---
# Our guest image (the default): the key is in the .vmx's guestinfo, which
# the image reads at boot; no guest operations (it has no VMware Tools).
reset_calls
M=$MNT/fu6
mkdir $M
put $M/driver vmwarefusion 2>/dev/null
D=$STORE/machines/fu6
expect_eq "create sequence (our image)" "$(calls | grep -v getGuestIPAddress)" "vmware-vdiskmanager -c -t 0 -s 4096MB -a lsilogic STORE/machines/fu6/fu6.vmdk
vmrun -T ws start STORE/machines/fu6/fu6.vmx nogui"
expect_eq "vmx guestinfo key" "$(sed -n 's/^guestinfo.machinefs.authorized-keys = "\(.*\)"$/\1/p' $D/fu6.vmx)" "$(cat $D/id_ed25519.pub)"
expect_eq "vmx guestinfo name" "$(grep '^guestinfo.machinefs.hostname ' $D/fu6.vmx)" 'guestinfo.machinefs.hostname = "fu6"'
expect_eq "iso (our image)" "$(cat $D/boot2docker.iso)" "a boot image"
grep -q "guestinfo.machinefs.authorized-keys" $M/log && ok || fail "the log does not say where the key went"
rmdir $M && ok || fail "rmdir fu6"

# A user's boot2docker image: the key also goes in Docker Machine's way.
echo "a boot2docker image" > $T/b2d.iso
reset_calls
M=$MNT/fu1
mkdir $M
put $M/options/vmwarefusion-boot2docker-url "file://$T/b2d.iso"
put $M/options/vmwarefusion-cpu-count 2
put $M/options/vmwarefusion-memory-size 2048
put $M/options/vmwarefusion-ssh-password "s3cret guest pw"
knobs FAKEVMWARE_GUEST_PASSWORD="s3cret guest pw"
put $M/driver vmwarefusion 2>/dev/null
D=$STORE/machines/fu1
expect_eq "create sequence" "$(calls | sed -n '1,/enableSharedFolders/p')" "vmware-vdiskmanager -c -t 0 -s 4096MB -a lsilogic STORE/machines/fu1/fu1.vmdk
vmrun -T ws start STORE/machines/fu1/fu1.vmx nogui
vmrun -T ws -gu docker -gp s3cret guest pw directoryExistsInGuest STORE/machines/fu1/fu1.vmx /var/lib/boot2docker
vmrun -T ws -gu docker -gp s3cret guest pw CopyFileFromHostToGuest STORE/machines/fu1/fu1.vmx STORE/machines/fu1/userdata.tar /home/docker/userdata.tar
vmrun -T ws -gu docker -gp s3cret guest pw runScriptInGuest STORE/machines/fu1/fu1.vmx /bin/sh sudo sh -c \"tar xvf /home/docker/userdata.tar -C /home/docker > /var/log/userdata.log 2>&1 && chown -R docker:staff /home/docker\"
vmrun -T ws -gu docker -gp s3cret guest pw runScriptInGuest STORE/machines/fu1/fu1.vmx /bin/sh sudo /bin/mv /home/docker/userdata.tar /var/lib/boot2docker/userdata.tar
vmrun -T ws -gu docker -gp s3cret guest pw enableSharedFolders STORE/machines/fu1/fu1.vmx"
expect_eq "ip from the lease" "$(jq -r .Driver.IPAddress $D/config.json)" "127.0.0.1"
# The .vmx: Docker Machine's template with our values.
expect_eq "vmx values" "$(grep -E '^(displayName|memsize|numvcpus|sata0:1.fileName|scsi0:0.fileName|guestOS|ethernet0.connectionType) ' $D/fu1.vmx | tr '\n' '|')" \
	"displayName = \"fu1\"|ethernet0.connectionType = \"nat\"|guestOS = \"other3xlinux-64\"|sata0:1.fileName = \"$S/machines/fu1/boot2docker.iso\"|memsize = \"2048\"|scsi0:0.fileName = \"fu1.vmdk\"|numvcpus = \"2\"|"
# 59 lines of the template, 2 of guestinfo, 2 that VMware (the fake) adds at power-on.
expect_eq "vmx lines" "$(grep -c ' = ' $D/fu1.vmx)" "63"
expect_eq "iso copied" "$(cat $D/boot2docker.iso)" "a boot2docker image"
expect_eq "disk made" "$(grep -c lsilogic $D/fu1.vmdk)" "1"
# The key went in: the tar unpacked in the guest holds the public key.
G=$FAKEVMWARE_DIR/guest/fu1
expect_eq "guest authorized_keys" "$(cat $G/home/docker/.ssh/authorized_keys 2>&1)" "$(cat $D/id_ed25519.pub)"
expect_eq "guest userdata.tar" "$(tar tf $G/var/lib/boot2docker/userdata.tar | tr '\n' ' ')" \
	"boot2docker, this is vmware speaking .ssh .ssh/authorized_keys .ssh/authorized_keys2 "
expect_eq "key mode" "$(stat -c %a $D/id_ed25519)" "600"
expect_eq "Driver keys" "$(jq -r '.Driver | keys_unsorted | join(" ")' $D/config.json)" \
	"IPAddress MachineName SSHUser SSHPort SSHKeyPath StorePath SwarmMaster SwarmHost SwarmDiscovery Memory DiskSize CPU ISO Boot2DockerURL SSHPassword ConfigDriveISO ConfigDriveURL NoShare"
expect_eq "Driver values" "$(jq -r '.Driver | [.MachineName,.SSHUser,.SSHPort,.Memory,.DiskSize,.CPU,.ISO,.NoShare] | map(tostring) | join(" ")' $D/config.json)" \
	"fu1 docker 22 2048 4096 2 $S/machines/fu1/boot2docker.iso false"
# The guest password: masked in the tree and the log, 0600 in the store.
grep -rqF "s3cret guest pw" $MNT 2>/dev/null && fail "password visible in the tree: $(grep -rlF 's3cret guest pw' $MNT)" || ok
grep -qF "s3cret guest pw" $T/daemon.log && fail "password in the daemon's output" || ok
grep -q -- '-gp \*\*\*\* directoryExistsInGuest' $M/log && ok || fail "masked guest op not in the log"
expect_eq "password option masked" "$(cat $M/options/vmwarefusion-ssh-password)" "****"
expect_eq "store 0600" "$(stat -c %a $D/config.json)" "600"
# The driver's create succeeded; provisioning over SSH did not (nothing
# listens on the guest address's port 22 here).
case "$(cat $M/error)" in *127.0.0.1*) ok ;; *) fail "create error: $(cat $M/error)" ;; esac
grep -q "Got an ip: 127.0.0.1" $M/log && ok || fail "no ip line in the log"

# rmdir: running, so stop hard, then deleteVM; the folder goes.
reset_calls
rmdir $M && ok || fail "rmdir fu1: $(cat $M/error 2>&1)"
expect_eq "rm sequence" "$(calls)" "vmrun -T ws stop STORE/machines/fu1/fu1.vmx hard
vmrun -T ws deleteVM STORE/machines/fu1/fu1.vmx nogui"
expect_eq "folder gone" "$(ls $STORE/machines)" "fu2"
expect_eq "nothing running but fu2" "$(vmrun -T ws list)" "Total running VMs: 1
$S/machines/fu2/fu2.vmx"
knobs

# A wrong guest password: vmrun's error, one line.
mkdir $MNT/fu3
put $MNT/fu3/options/vmwarefusion-boot2docker-url $T/b2d.iso
put $MNT/fu3/options/vmwarefusion-ssh-password wrong
expect_errno EIO put $MNT/fu3/driver vmwarefusion
expect_eq "wrong guest password" "$(cat $MNT/fu3/error)" \
	"vmrun -T ws -gu docker -gp **** directoryExistsInGuest $S/machines/fu3/fu3.vmx /var/lib/boot2docker failed: Error: Invalid user name or password for the guest OS"
rmdir $MNT/fu3 && ok || fail "rmdir fu3"
# No address: the bounded wait says so; getGuestIPAddress asked VMware Tools.
knobs FAKEVMWARE_NO_LEASE=1
mkdir $MNT/fu4
reset_calls
expect_errno "timed out" put $MNT/fu4/driver vmwarefusion
case "$(cat $MNT/fu4/error)" in "Machine didn't return an IP after 2 seconds, aborting: IP not found for MAC 00:0c:29:"*" in DHCP leases nor from VMware Tools") ok ;; *) fail "no ip: $(cat $MNT/fu4/error)" ;; esac
calls | grep -q "^vmrun -T ws getGuestIPAddress STORE/machines/fu4/fu4.vmx$" && ok || fail "getGuestIPAddress not asked"
rmdir $MNT/fu4 && ok || fail "rmdir fu4"
# VMware Tools answer when there is no lease.
knobs FAKEVMWARE_NO_LEASE=1 FAKEVMWARE_TOOLS=1
mkdir $MNT/fu5
put $MNT/fu5/driver vmwarefusion 2>/dev/null
expect_eq "ip from VMware Tools" "$(jq -r .Driver.IPAddress $STORE/machines/fu5/config.json)" "127.0.0.1"
rmdir $MNT/fu5 && ok || fail "rmdir fu5"
knobs

# --- The machine Docker Machine made: state, stop, start, kill, restart. ---
M=$MNT/fu2
wait_state fu2 Running
expect_eq "fu2 ip" "$(cat $M/ip)" "127.0.0.41"
expect_eq "fu2 url" "$(cat $M/url)" "tcp://127.0.0.41:2376"
expect_eq "fu2 password masked" "$(jq -r .Driver.SSHPassword $M/config.json)" "****"
grep -rqF "dm-guest-secret" $MNT 2>/dev/null && fail "fixture password visible" || ok
vmrun --fake-set-running $STORE/machines/fu2/fu2.vmx 0
wait_state fu2 Stopped
vmrun --fake-set-running $STORE/machines/fu2/fu2.vmx 1
wait_state fu2 Running

sleep 1.2
reset_calls
put $M/ctl stop && ok || fail "stop: $(cat $M/error)"
expect_eq "stop sequence" "$(calls)" "vmrun -T ws stop STORE/machines/fu2/fu2.vmx soft"
expect_eq "stopped" "$(cat $M/state)" "Stopped"
expect_eq "no ip when stopped" "$(cat $M/ip)" ""
reset_calls
put $M/ctl start && ok || fail "start: $(cat $M/error)"
expect_eq "start sequence" "$(calls)" "vmrun -T ws start STORE/machines/fu2/fu2.vmx nogui"
expect_eq "ip after start (dhcpd.conf fixed host)" "$(cat $M/ip)" "127.0.0.41"
# A soft stop that does not end the guest: hard after the wait.
knobs FAKEVMWARE_SOFT_POLLS=never
reset_calls
put $M/ctl stop && ok || fail "stop never: $(cat $M/error)"
expect_eq "soft then hard" "$(calls)" "vmrun -T ws stop STORE/machines/fu2/fu2.vmx soft
vmrun -T ws stop STORE/machines/fu2/fu2.vmx hard"
expect_eq "stopped hard" "$(cat $M/state)" "Stopped"
# A soft stop that takes two polls is waited for.
knobs FAKEVMWARE_SOFT_POLLS=2
put $M/ctl start || fail "start 2"
sleep 1.2
reset_calls
put $M/ctl restart && ok || fail "restart: $(cat $M/error)"
expect_eq "restart sequence" "$(calls)" "vmrun -T ws stop STORE/machines/fu2/fu2.vmx soft
vmrun -T ws start STORE/machines/fu2/fu2.vmx nogui"
expect_eq "state after restart" "$(cat $M/state)" "Running"
knobs
reset_calls
put $M/ctl kill && ok || fail "kill: $(cat $M/error)"
expect_eq "kill sequence" "$(calls)" "vmrun -T ws stop STORE/machines/fu2/fu2.vmx hard"
expect_eq "killed" "$(cat $M/state)" "Stopped"
reset_calls
put $M/ctl restart && ok || fail "restart stopped: $(cat $M/error)"
expect_eq "restart of a stopped VM starts it" "$(calls)" "vmrun -T ws start STORE/machines/fu2/fu2.vmx nogui"
# vmrun's errors reach 'error'.
knobs FAKEVMWARE_FAIL=stop
expect_errno EIO put $M/ctl kill
expect_eq "vmrun failure" "$(cat $M/error)" "vmrun -T ws stop $S/machines/fu2/fu2.vmx hard failed: Error: injected failure of 'stop'"
# rm of a running VM whose hard stop fails: the VM stays, vmrun's error
# behind Docker Machine's words.
expect_errno EIO rmdir $M
expect_eq "rm: stop failure" "$(cat $M/error)" "Error stopping VM before deletion: vmrun -T ws stop $S/machines/fu2/fu2.vmx hard failed: Error: injected failure of 'stop'"
knobs
# rm of a running VM: hard stop, deleteVM.
reset_calls
rmdir $M && ok || fail "rmdir fu2: $(cat $M/error 2>&1)"
expect_eq "rm fu2" "$(calls)" "vmrun -T ws stop STORE/machines/fu2/fu2.vmx hard
vmrun -T ws deleteVM STORE/machines/fu2/fu2.vmx nogui"
expect_eq "store empty" "$(ls $STORE/machines)" ""
expect_eq "no VM running" "$(vmrun -T ws list)" "Total running VMs: 0"
finish
