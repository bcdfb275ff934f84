#!/bin/bash
# The guest image (tools/guest-image) boots under QEMU and is a Docker host:
# build it (or reuse the cache), boot it (TCG unless MFS_QEMU_ACCEL says
# otherwise) with 1 GiB, 2 vCPUs, a fresh qcow2 data disk, user networking
# with SSH and 2376 forwarded to 127.0.0.1, QMP, serial to a file; then
#   - SSH as docker with the key given through fw_cfg, sudo, scp/sftp
#   - the VMware guestinfo hook is there and did nothing (not VMware)
#   - os-release, hostname from the command line, no TCP listener yet
#   - docker info; import a busybox rootfs; docker run --rm IMG echo hi
#   - the boot2docker profile: DOCKER_HOST tcp:2376 with TLS certificates,
#     /etc/init.d/docker restart, the engine answers TLS on the forwarded port
#   - QMP system_powerdown: QEMU exits within 60 s, the disk was unmounted
#   - boot again on the same disk (key on the kernel command line): same
#     host key (strict known_hosts), the image is still there, the profile
#     still applies; QMP quit.
#   - the ISO on VirtualBox-like hardware (SATA, e1000) with Docker Machine's
#     boot2docker "format-me" disk carrying the key: SSH, sudo, docker.
# Prints the timings. Needs qemu-system-x86, qemu-utils, openssh-client,
# socat, openssl, curl, busybox-static (or its .deb in the image cache).
set -euo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
GUEST=${MACHINEFS_GUEST_CACHE:-/var/cache/machinefs/guest}
ACCEL=${MFS_QEMU_ACCEL:-tcg}

say() { echo "t_guest_image_boot: $*"; }
fail() {
	echo "t_guest_image_boot: FAIL: $*" >&2
	if [ -f "${T:-/nonexistent}/serial.log" ]; then
		echo "--- serial console (last 30 lines)" >&2
		tail -n 30 "$T/serial.log" >&2
	fi
	exit 1
}
for t in qemu-system-x86_64 qemu-img ssh ssh-keygen scp socat openssl curl; do
	command -v "$t" >/dev/null || fail "missing '$t'"
done
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

T=$(mktemp -d /tmp/mfs-guest-boot-XXXXXX)
cleanup() {
	[ -z "${QPID:-}" ] || kill "$QPID" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

# ---------------------------------------------------------------- build
t=$(now)
"$SRCDIR/tools/guest-image/build.sh" || fail "tools/guest-image/build.sh failed"
say "image ready in $(since "$t") s ($GUEST)"
for f in vmlinux initrd; do [ -s "$GUEST/$f" ] || fail "no $GUEST/$f"; done

# ---------------------------------------------------------------- helpers
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}
SSH_PORT=$(free_port)
DOCKER_PORT=$(free_port)
[ "$SSH_PORT" != "$DOCKER_PORT" ] || DOCKER_PORT=$(free_port)
NAME=mfs-boot-$$

ssh-keygen -q -t ed25519 -N '' -C mfs-guest-boot -f "$T/key"
SSHOPTS=(-i "$T/key" -o BatchMode=yes -o ConnectTimeout=5
	-o UserKnownHostsFile="$T/known_hosts" -o GlobalKnownHostsFile=/dev/null
	-o LogLevel=ERROR)
gssh() { ssh "${SSHOPTS[@]}" -p "$SSH_PORT" -o StrictHostKeyChecking="${STRICT:-accept-new}" docker@127.0.0.1 "$@"; }

qmp() { # qmp COMMAND...: run QMP commands, print the replies
	{
		echo '{"execute":"qmp_capabilities"}'
		for c in "$@"; do echo "{\"execute\":\"$c\"}"; done
		sleep 0.5
	} | socat -t 2 - "UNIX-CONNECT:$T/qmp.sock"
}

boot() { # boot EXTRA-QEMU-ARGS...: start QEMU detached
	rm -f "$T/qmp.sock"
	: >"$T/serial.log"
	T0=$(now)
	qemu-system-x86_64 -nodefaults -no-user-config -accel "$ACCEL" \
		-m 1024 -smp 2 \
		-kernel "$GUEST/vmlinux" -initrd "$GUEST/initrd" \
		-drive "file=$T/disk.qcow2,if=virtio,format=qcow2" \
		-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$SSH_PORT-:22,hostfwd=tcp:127.0.0.1:$DOCKER_PORT-:2376" \
		-device virtio-net-pci,netdev=n0 -device virtio-rng-pci \
		-qmp "unix:$T/qmp.sock,server=on,wait=off" \
		-serial "file:$T/serial.log" -display none \
		-daemonize -pidfile "$T/qemu.pid" "$@" ||
		fail "qemu did not start"
	QPID=$(cat "$T/qemu.pid") # QEMU removes the file when it exits
}

wait_ready() { # sets T_SSH, T_DOCKER (seconds since QEMU start)
	local deadline=$(($(date +%s) + 180))
	until gssh true 2>/dev/null; do
		[ "$(date +%s)" -lt "$deadline" ] || fail "no SSH within 180 s"
		kill -0 "$QPID" 2>/dev/null || fail "qemu died"
		sleep 0.25
	done
	T_SSH=$(since "$T0")
	# The guest logs "docker answering" once the API answered: wait for
	# that (a docker CLI run over SSH costs the guest ~0.6 s of CPU), then
	# ask the engine over SSH.
	until grep -q 'machinefs: docker' "$T/serial.log"; do
		[ "$(date +%s)" -lt "$deadline" ] || fail "docker did not answer within 180 s"
		sleep 0.1
	done
	T_DOCKER=$(since "$T0")
	gssh docker version --format '{{.Server.Version}}' >/dev/null ||
		fail "docker does not answer: $(grep 'machinefs: docker' "$T/serial.log")"
}

wait_exit() { # wait_exit SECONDS: QEMU's process is gone within SECONDS
	local i=0
	while kill -0 "$QPID" 2>/dev/null; do
		[ $i -lt $(($1 * 10)) ] || fail "qemu still running $1 s after the request"
		sleep 0.1
		i=$((i + 1))
	done
	QPID=""
}

# ---------------------------------------------------------------- boot 1
qemu-img create -q -f qcow2 "$T/disk.qcow2" 20G
boot -append "console=ttyS0 quiet machinefs.hostname=$NAME" \
	-fw_cfg "name=opt/machinefs/authorized_keys,file=$T/key.pub"
wait_ready
say "boot 1 (fresh disk): QEMU start -> ssh ready ${T_SSH} s -> docker answering ${T_DOCKER} s"
TIMES="boot1 ssh=$T_SSH docker=$T_DOCKER"

[ "$(gssh sudo id -u)" = 0 ] || fail "sudo does not give root"
[ "$(gssh hostname)" = "$NAME" ] || fail "hostname is not $NAME: $(gssh hostname)"
osr=$(gssh cat /etc/os-release)
grep -qx 'ID=machinefs-guest' <<<"$osr" || fail "os-release: $osr"
grep -qx 'ID_LIKE=boot2docker' <<<"$osr" || fail "os-release: $osr"
gssh mount | grep -q ' on /var/lib/docker type ext4' || fail "/var/lib/docker is not on the data disk"
gssh mount | grep -q ' on /var/lib/boot2docker type ext4' || fail "/var/lib/boot2docker is not on the data disk"
if gssh netstat -tln | grep -q ':2376 '; then fail "dockerd listens on TCP before provisioning"; fi
gssh sudo /etc/init.d/docker status >/dev/null || fail "/etc/init.d/docker status: not running"
[ "$(gssh sudo cat /var/lib/boot2docker/authorized_keys)" = "$(cat "$T/key.pub")" ] ||
	fail "the key is not kept on the data disk"
# The VMware hook ran at boot and did nothing here: QEMU is not VMware (the
# real backdoor reader says so: exit 2), no name or key taken, nothing said.
gssh test -x /usr/lib/machinefs/vmware-guestinfo -a -x /usr/lib/machinefs/vmw-guestinfo ||
	fail "the VMware guestinfo hook is not in the image"
rc=0
gssh /usr/lib/machinefs/vmw-guestinfo guestinfo.machinefs.authorized-keys >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "vmw-guestinfo under QEMU: exit $rc, not 2 (not VMware)"
if gssh test -e /run/machinefs/guestinfo-hostname; then fail "a guestinfo name was taken under QEMU"; fi
if grep -q 'vmware guestinfo' "$T/serial.log"; then fail "the VMware hook spoke under QEMU: $(grep 'vmware guestinfo' "$T/serial.log")"; fi
grep -q 'ssh key from fw_cfg' "$T/serial.log" || fail "boot 1 did not take the fw_cfg key"
# boot2docker's hostname command (Docker Machine's provisioner uses it)
gssh sudo /usr/bin/sethostname mfs-renamed || fail "sethostname failed"
[ "$(gssh hostname)" = mfs-renamed ] || fail "sethostname did not rename"

# scp both ways (OpenSSH 9 scp speaks SFTP: sftp-server), and legacy scp
head -c 100000 /dev/urandom >"$T/blob"
scp -q "${SSHOPTS[@]}" -P "$SSH_PORT" -o StrictHostKeyChecking=yes "$T/blob" docker@127.0.0.1:/tmp/blob ||
	fail "scp (sftp) upload failed"
scp -q -O "${SSHOPTS[@]}" -P "$SSH_PORT" -o StrictHostKeyChecking=yes docker@127.0.0.1:/tmp/blob "$T/blob.back" ||
	fail "scp -O download failed"
cmp -s "$T/blob" "$T/blob.back" || fail "scp round trip changed the file"

info=$(gssh sudo docker info 2>&1) || fail "docker info: $info"
grep -q 'Storage Driver: overlay2' <<<"$info" || fail "docker info: no overlay2: $info"
grep -q 'Docker Root Dir: /var/lib/docker' <<<"$info" || fail "docker info: $info"

# a busybox rootfs as an image
# (busybox-static from the image's package cache: it runs anywhere)
deb=$(ls "$GUEST"/debs/busybox-static_*.deb | tail -n 1)
dpkg-deb -x "$deb" "$T/bbdeb" || fail "cannot unpack $deb"
bb=$T/bbdeb/bin/busybox
mkdir -p "$T/rootfs/bin"
cp "$bb" "$T/rootfs/bin/busybox"
for a in sh echo cat ls; do ln -s busybox "$T/rootfs/bin/$a"; done
tar -C "$T/rootfs" --owner=0 --group=0 -cf "$T/rootfs.tar" .
gssh sudo docker import - mfs-busybox:test <"$T/rootfs.tar" >/dev/null || fail "docker import failed"
t=$(now)
out=$(gssh sudo docker run --rm mfs-busybox:test echo hi 2>&1) || fail "docker run: $out"
[ "$out" = hi ] || fail "docker run printed '$out', not 'hi'"
say "docker run --rm echo hi: $(since "$t") s"
TIMES="$TIMES run=$(since "$t")"

# the engine configured the boot2docker way: TLS on 2376
(
	cd "$T"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem \
		-days 2 -subj /O=mfs-test-ca 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr \
		-subj /O=mfs-test-server 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
		-days 2 -extfile server.ext -out server.pem 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout key.pem -out client.csr \
		-subj /O=mfs-test-client 2>/dev/null
	printf 'extendedKeyUsage=clientAuth\n' >client.ext
	openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
		-days 2 -extfile client.ext -out cert.pem 2>/dev/null
) || fail "openssl could not make test certificates"
for f in ca.pem server.pem server-key.pem; do
	gssh "sudo tee /var/lib/boot2docker/$f >/dev/null" <"$T/$f"
done
gssh "sudo tee /var/lib/boot2docker/profile >/dev/null" <<'EOF'
EXTRA_ARGS='
--label provider=qemu
--label machinefs.test=yes
'
CACERT=/var/lib/boot2docker/ca.pem
DOCKER_HOST='-H tcp://0.0.0.0:2376'
DOCKER_STORAGE=overlay2
DOCKER_TLS=auto
SERVERKEY=/var/lib/boot2docker/server-key.pem
SERVERCERT=/var/lib/boot2docker/server.pem
EOF
t=$(now)
gssh sudo /etc/init.d/docker restart >/dev/null || fail "/etc/init.d/docker restart failed"
say "/etc/init.d/docker restart: $(since "$t") s"
TIMES="$TIMES restart=$(since "$t")"
gssh netstat -tln | grep -q ':2376 ' || fail "dockerd does not listen on 2376 after restart"
tls() {
	curl -sS --max-time 20 --cacert "$T/ca.pem" --cert "$T/cert.pem" --key "$T/key.pem" \
		"https://127.0.0.1:$DOCKER_PORT/$1"
}
out=$(tls info) || fail "the engine does not answer TLS on 127.0.0.1:$DOCKER_PORT"
grep -q '"machinefs.test=yes"' <<<"$out" || fail "EXTRA_ARGS not applied: $out"
if curl -sS --max-time 20 -k "https://127.0.0.1:$DOCKER_PORT/info" >/dev/null 2>&1; then
	fail "the engine answers without a client certificate"
fi

# ---------------------------------------------------------------- powerdown
hostkey1=$(ssh-keygen -F "[127.0.0.1]:$SSH_PORT" -f "$T/known_hosts" | grep -v '^#')
[ -n "$hostkey1" ] || fail "no host key recorded"
t=$(now)
qmp system_powerdown >/dev/null
wait_exit 60
say "QMP system_powerdown -> QEMU exited: $(since "$t") s"
TIMES="$TIMES powerdown=$(since "$t")"
grep -q 'data disk unmounted' "$T/serial.log" || fail "the shutdown did not unmount the data disk"
qemu-img check -q "$T/disk.qcow2" || fail "qemu-img check: the disk is damaged"

# ---------------------------------------------------------------- boot 2
boot -append "console=ttyS0 quiet machinefs.sshkey=$(base64 -w0 "$T/key.pub")"
STRICT=yes wait_ready
say "boot 2 (same disk): QEMU start -> ssh ready ${T_SSH} s -> docker answering ${T_DOCKER} s"
TIMES="$TIMES boot2 ssh=$T_SSH docker=$T_DOCKER"
grep -q 'ssh key from the command line' "$T/serial.log" || fail "boot 2 did not take the command-line key"
[ "$(ssh-keygen -F "[127.0.0.1]:$SSH_PORT" -f "$T/known_hosts" | grep -v '^#')" = "$hostkey1" ] ||
	fail "the host key changed"
# no machinefs.hostname this time: the one sethostname kept on the disk
[ "$(gssh hostname)" = mfs-renamed ] || fail "hostname on boot 2: $(gssh hostname)"
gssh sudo docker image inspect mfs-busybox:test >/dev/null 2>&1 ||
	fail "the imported image did not survive the reboot"
out=$(tls info) || fail "boot 2: the engine does not answer TLS (profile kept on the disk?)"
grep -q '"machinefs.test=yes"' <<<"$out" || fail "boot 2: profile not applied"
t=$(now)
qmp quit >/dev/null
wait_exit 30
say "QMP quit -> QEMU exited: $(since "$t") s"

# ---------------------------------------------------------------- boot 3: ISO
# VirtualBox-like hardware (q35 SATA disk, e1000), booted from the ISO with
# Docker Machine's boot2docker disk: a tar holding "boot2docker, please
# format-me" and .ssh/authorized_keys at the start of a raw disk.
if [ -s "$GUEST/machinefs.iso" ]; then
	mkdir -p "$T/ud/.ssh"
	echo "boot2docker, please format-me" >"$T/ud/boot2docker, please format-me"
	cp "$T/key.pub" "$T/ud/.ssh/authorized_keys"
	cp "$T/key.pub" "$T/ud/.ssh/authorized_keys2"
	tar -C "$T/ud" --owner=0 --group=0 -cf "$T/disk.raw" "boot2docker, please format-me" .ssh
	truncate -s 2G "$T/disk.raw"
	rm -f "$T/known_hosts" "$T/qmp.sock"
	: >"$T/serial.log"
	T0=$(now)
	qemu-system-x86_64 -nodefaults -no-user-config -machine q35 -accel "$ACCEL" \
		-m 1024 -smp 2 -cdrom "$GUEST/machinefs.iso" -boot d \
		-drive "file=$T/disk.raw,if=ide,format=raw" \
		-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$SSH_PORT-:22" \
		-device e1000,netdev=n0 \
		-qmp "unix:$T/qmp.sock,server=on,wait=off" \
		-serial "file:$T/serial.log" -display none \
		-daemonize -pidfile "$T/qemu.pid" || fail "qemu did not start (ISO)"
	QPID=$(cat "$T/qemu.pid")
	wait_ready
	say "boot 3 (ISO, SATA, e1000, boot2docker disk): QEMU start -> ssh ready ${T_SSH} s -> docker answering ${T_DOCKER} s"
	TIMES="$TIMES iso ssh=$T_SSH docker=$T_DOCKER"
	grep -q 'ssh key from the boot2docker tar' "$T/serial.log" || fail "ISO boot: key not taken from the tar"
	gssh mount | grep -q '^/dev/sda on /var/lib/docker type ext4' || fail "ISO boot: /dev/sda is not the data disk"
	[ "$(gssh sudo id -u)" = 0 ] || fail "ISO boot: sudo does not give root"
	t=$(now)
	qmp system_powerdown >/dev/null
	wait_exit 60
	say "ISO: QMP system_powerdown -> QEMU exited: $(since "$t") s"
else
	say "no $GUEST/machinefs.iso (xorriso not installed?): ISO boot not tested"
fi

say "timings ($ACCEL): $TIMES"
say "ok"
