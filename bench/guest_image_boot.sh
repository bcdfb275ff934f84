#!/bin/bash
# Boot the guest image N times (default 3) under QEMU and print, for each
# boot and as medians: QEMU start -> SSH answering -> `docker version`
# answering, and QMP quit -> QEMU gone. The first boot is on a fresh disk
# (formatting, host keys), the others reuse it.
#   bench/guest_image_boot.sh [N]
# MFS_QEMU_ACCEL (tcg), MFS_QEMU_MEM (1024), MFS_GUEST_INITRD (initrd or
# initrd.zst) and MFS_GUEST_APPEND (extra kernel arguments) vary the setup.
set -euo pipefail

SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
GUEST=${MACHINEFS_GUEST_CACHE:-/var/cache/machinefs/guest}
N=${1:-3}
ACCEL=${MFS_QEMU_ACCEL:-tcg}
MEM=${MFS_QEMU_MEM:-1024}
INITRD=${MFS_GUEST_INITRD:-initrd}

"$SRCDIR/tools/guest-image/build.sh" >&2
T=$(mktemp -d /tmp/mfs-guest-bench-XXXXXX)
QPID=""
trap '[ -z "$QPID" ] || kill "$QPID" 2>/dev/null; rm -rf "$T"' EXIT
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

ssh-keygen -q -t ed25519 -N '' -f "$T/key"
qemu-img create -q -f qcow2 "$T/disk.qcow2" 20G
P=$(port)
S=(ssh -i "$T/key" -p "$P" -o BatchMode=yes -o ConnectTimeout=5 -o LogLevel=ERROR
	-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null docker@127.0.0.1)
echo "accel $ACCEL, ${MEM} MiB, 2 vCPUs, $INITRD, $(nproc) host cores, load $(cut -d' ' -f1 /proc/loadavg)"
: >"$T/ssh"; : >"$T/docker"; : >"$T/quit"
for i in $(seq 1 "$N"); do
	t0=$(now)
	qemu-system-x86_64 -nodefaults -no-user-config -accel "$ACCEL" -m "$MEM" -smp 2 \
		-kernel "$GUEST/vmlinux" -initrd "$GUEST/$INITRD" \
		-append "console=ttyS0 quiet machinefs.hostname=bench ${MFS_GUEST_APPEND:-}" \
		-drive "file=$T/disk.qcow2,if=virtio,format=qcow2" \
		-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$P-:22" \
		-device virtio-net-pci,netdev=n0 -device virtio-rng-pci \
		-fw_cfg "name=opt/machinefs/authorized_keys,file=$T/key.pub" \
		-qmp "unix:$T/qmp,server=on,wait=off" -serial "file:$T/serial.$i" \
		-display none -daemonize -pidfile "$T/pid"
	QPID=$(cat "$T/pid")
	until "${S[@]}" true 2>/dev/null; do sleep 0.1; done
	ts=$(since "$t0")
	# The guest logs "docker answering" once its API answered (polling the
	# CLI over SSH from here would steal the guest's CPU); then check once.
	until grep -q 'machinefs: docker' "$T/serial.$i"; do sleep 0.1; done
	td=$(since "$t0")
	"${S[@]}" docker version --format '{{.Server.Version}}' >/dev/null ||
		{ echo "docker does not answer: $(grep 'machinefs: docker' "$T/serial.$i")" >&2; exit 1; }
	t1=$(now)
	printf '{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n' | socat -t 1 - "UNIX-CONNECT:$T/qmp" >/dev/null
	while kill -0 "$QPID" 2>/dev/null; do sleep 0.05; done
	QPID=""
	tq=$(since "$t1")
	echo "boot $i: ssh $ts s, docker $td s, quit $tq s"
	echo "$ts" >>"$T/ssh"; echo "$td" >>"$T/docker"; echo "$tq" >>"$T/quit"
done
echo "median of $N: ssh $(median <"$T/ssh") s, docker $(median <"$T/docker") s, quit $(median <"$T/quit") s"
