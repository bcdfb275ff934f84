#!/usr/bin/env bash
# The qemu driver end to end through the mount, with real QEMU (TCG here:
# KVM is probed and falls back) booting the guest image:
#   - bad options (memory 0, a boot image that does not exist, an unknown
#     accel) fail at create with a clear error and leave no VM
#   - create (`echo qemu > driver`); `. env; docker info`; docker import of
#     a busybox rootfs and docker run
#   - a second machine at once: other ports, both answer; rmdir removes it
#   - stop -> Stopped and the qemu process gone; start -> the image is still
#     there (data disk); kill; restart
#   - the daemon killed (kill -9) with the VM running, mounted again: still
#     Running, docker answers, stop works
#   - rmdir removes the VM and every file
# Prints the timings. Needs qemu-system-x86, qemu-utils, openssh-client,
# docker.io (the client), busybox-static and the built guest image
# (tools/guest-image/build.sh; built here when missing).
. "$SRCDIR/tests/fs/lib.sh"
GUEST=${MACHINEFS_GUEST_CACHE:-/var/cache/machinefs/guest}

# Every VM of this test is named machinefs-mfsq-*: never leave one behind.
kill_vms() {
	local p
	for p in $(pgrep -f 'qemu-system-x86_64 -name machinefs-mfsq-' || true); do
		kill -9 "$p" 2>/dev/null
	done
}
trap 'cleanup; kill_vms' EXIT

for t in qemu-system-x86_64 qemu-img ssh-keygen docker; do
	command -v "$t" >/dev/null || { echo "t_qemu: missing '$t'"; exit 1; }
done
if [ ! -s "$GUEST/vmlinux" ] || [ ! -s "$GUEST/initrd" ]; then
	"$SRCDIR/tools/guest-image/build.sh" || { echo "t_qemu: cannot build the guest image"; exit 1; }
fi

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
TIMES=""
timing() { echo "t_qemu: $1: $2 s"; TIMES="$TIMES $1=$2"; }

# vm_pid NAME: the pid of the machine's QEMU, empty when none runs (a
# zombie waiting for init counts as gone).
vm_pid() {
	local p
	for p in $(pgrep -f "qemu-system-x86_64 -name machinefs-$1 " || true); do
		[ "$(ps -o stat= -p "$p" 2>/dev/null | cut -c1)" = Z ] || echo "$p"
	done
}
# expect_gone NAME: no QEMU for NAME within 10 s.
expect_gone() {
	local i
	for i in $(seq 50); do
		[ -z "$(vm_pid "$1")" ] && { ok; return; }
		sleep 0.2
	done
	fail "qemu of $1 still running: $(vm_pid "$1")"
}
dump() { # dump NAME: what went wrong
	echo "--- error: $(cat "$MNT/$1/error" 2>/dev/null)"
	echo "--- log (last 30 lines)"; tail -n 30 "$MNT/$1/log" 2>/dev/null
	echo "--- serial (last 20 lines)"; tail -n 20 "$STORE/machines/$1/serial.log" 2>/dev/null
}

mount_fs
A=mfsq-a
B=mfsq-b
M=$MNT/$A

# ---------------------------------------------------------------- bad options
# bad_create NAME OPTION VALUE ERRNO WORD: create fails with ERRNO, error
# names WORD, no VM.
bad_create() {
	mkdir "$MNT/$1"
	put "$MNT/$1/options/$2" "$3"
	expect_errno "$4" put "$MNT/$1/driver" qemu
	local e
	e=$(cat "$MNT/$1/error")
	case "$e" in *"$5"*) ok ;; *) fail "$2=$3: error '$e' does not say '$5'" ;; esac
	expect_eq "$2=$3: state" "$(cat "$MNT/$1/state")" Error
	expect_eq "$2=$3: no qemu" "$(vm_pid "$1")" ""
	[ ! -e "$STORE/machines/$1/disk.qcow2" ] && ok || fail "$2=$3: a disk was made"
	rmdir "$MNT/$1" && ok || fail "rmdir $1 after a failed create"
}
bad_create mfsq-bad1 qemu-memory 0 EINVAL "invalid qemu-memory 0"
bad_create mfsq-bad2 qemu-memory 99999999 EINVAL "invalid qemu-memory"
bad_create mfsq-bad3 qemu-boot-image /nonexistent/guest ENOENT "boot image '/nonexistent/guest' does not exist"
bad_create mfsq-bad4 qemu-accel warp EINVAL "unknown qemu-accel 'warp'"
bad_create mfsq-bad5 qemu-cpu-count 0 EINVAL "invalid qemu-cpu-count"

# ---------------------------------------------------------------- create
mkdir "$M"
put "$M/options/engine-label" "team=qemu"
t=$(now)
if put "$M/driver" qemu; then ok; else
	fail "create: $(cat "$M/error")"; dump $A; finish; exit 1
fi
timing "create (mkdir -> docker answering)" "$(since "$t")"
accel=$(sed -n 's/.*Accelerator: \([a-z]*\).*/\1/p' "$M/log" | head -n 1)
echo "t_qemu: accelerator: $accel"
expect_eq state "$(cat "$M/state")" Running
expect_eq error "$(cat "$M/error")" ""
# Where auto fell back to TCG, asking for KVM fails at create.
if [ "$accel" = tcg ]; then
	bad_create mfsq-bad6 qemu-accel kvm "No such device" "KVM does not run guests here"
fi
url=$(cat "$M/url")
case "$url" in tcp://127.0.0.1:[0-9]*) ok ;; *) fail "url: $url" ;; esac
expect_eq ip "$(cat "$M/ip")" 127.0.0.1
expect_eq "ssh/user" "$(cat "$M/ssh/user")" docker
grep -q "serial console: $STORE/machines/$A/serial.log" "$M/log" && ok || fail "log does not name the serial console file"
[ -s "$STORE/machines/$A/serial.log" ] && ok || fail "no serial console output"
[ -s "$STORE/machines/$A/disk.qcow2" ] && ok || fail "no disk.qcow2"
head -c 40 "$STORE/machines/$A/id_ed25519" | grep -q "OPENSSH PRIVATE KEY" && ok || fail "no ssh key"
port=${url##*:}
grep -q "\"EnginePort\": $port" "$STORE/machines/$A/config.json" && ok || fail "config.json lacks EnginePort $port"
sport=$(cat "$M/ssh/port")
grep -q "\"SSHPort\": $sport" "$STORE/machines/$A/config.json" && ok || fail "config.json lacks SSHPort $sport"

name=$( . "$M/env" && docker info --format '{{.Name}}' )
expect_eq "docker info name" "$name" $A
labels=$( . "$M/env" && docker info --format '{{json .Labels}}' )
case "$labels" in *provider=qemu*) ok ;; *) fail "labels: $labels" ;; esac
case "$labels" in *team=qemu*) ok ;; *) fail "labels: $labels" ;; esac
docker $(cat "$M/config") version --format '{{.Server.Version}}' >/dev/null && ok || fail "docker \$(cat config) version"

sh "$SRCDIR/tests/lab/busybox-rootfs.sh" "$T/rootfs.tar" || { fail "busybox-rootfs.sh"; finish; exit 1; }
( . "$M/env" && docker import "$T/rootfs.tar" mfs-busybox >/dev/null ) && ok || fail "docker import"
t=$(now)
out=$( . "$M/env" && docker run --rm mfs-busybox /bin/busybox echo hi 2>&1 )
expect_eq "docker run" "$out" hi
timing "docker run --rm echo hi" "$(since "$t")"

# ---------------------------------------------------------------- a second VM
mkdir "$MNT/$B"
put "$MNT/$B/options/qemu-memory" 768
t=$(now)
if put "$MNT/$B/driver" qemu; then ok; else fail "create $B: $(cat "$MNT/$B/error")"; dump $B; fi
timing "second machine create (with the first running)" "$(since "$t")"
urlb=$(cat "$MNT/$B/url")
[ "$urlb" != "$url" ] && ok || fail "same url for both machines: $url"
[ "$(cat "$MNT/$B/ssh/port")" != "$sport" ] && ok || fail "same ssh port for both machines"
expect_eq "docker info $B" "$( . "$MNT/$B/env" && docker info --format '{{.Name}}' )" $B
expect_eq "docker info $A, $B running" "$( . "$M/env" && docker info --format '{{.Name}}' )" $A
grep -q initrd.zst "$STORE/machines/$B/qemu.log" && ok || fail "768 MB did not boot the zstd initrd"
t=$(now)
rmdir "$MNT/$B" && ok || fail "rmdir $B: $(cat "$MNT/$B/error" 2>&1)"
timing "rmdir (running VM)" "$(since "$t")"
expect_gone $B
[ ! -e "$STORE/machines/$B" ] && ok || fail "$B's folder is still there: $(ls "$STORE/machines/$B")"

# ---------------------------------------------------------------- stop, start
pid=$(vm_pid $A)
[ -n "$pid" ] && ok || fail "no qemu process for $A"
t=$(now)
put "$M/ctl" stop && ok || fail "stop: $(cat "$M/error")"
timing "stop (ACPI powerdown)" "$(since "$t")"
expect_eq "state after stop" "$(cat "$M/state")" Stopped
expect_gone $A
t=$(now)
put "$M/ctl" start && ok || { fail "start: $(cat "$M/error")"; dump $A; }
timing "start (-> docker answering)" "$(since "$t")"
expect_eq "state after start" "$(cat "$M/state")" Running
( . "$M/env" && docker image inspect mfs-busybox >/dev/null 2>&1 ) && ok || fail "the image did not survive stop/start"
expect_eq "docker run after start" "$( . "$M/env" && docker run --rm mfs-busybox /bin/busybox echo again 2>&1 )" again

# ---------------------------------------------------------------- kill, restart
t=$(now)
put "$M/ctl" kill && ok || fail "kill: $(cat "$M/error")"
timing kill "$(since "$t")"
expect_eq "state after kill" "$(cat "$M/state")" Stopped
expect_gone $A
t=$(now)
put "$M/ctl" restart && ok || { fail "restart: $(cat "$M/error")"; dump $A; }
timing "restart (from Stopped)" "$(since "$t")"
expect_eq "state after restart" "$(cat "$M/state")" Running
expect_eq "docker info after restart" "$( . "$M/env" && docker info --format '{{.Name}}' )" $A

# ---------------------------------------------------------------- paused
# QMP stop pauses the VM: state Paused; start resumes it.
if command -v socat >/dev/null; then
	printf '{"execute":"qmp_capabilities"}\n{"execute":"stop"}\n' |
		socat -t 1 - "UNIX-CONNECT:$STORE/machines/$A/qmp.sock" >/dev/null
	for _ in $(seq 30); do [ "$(cat "$M/state")" = Paused ] && break; sleep 1; done
	expect_eq "state after QMP stop" "$(cat "$M/state")" Paused
	put "$M/ctl" start && ok || fail "start (resume): $(cat "$M/error")"
	expect_eq "state after resume" "$(cat "$M/state")" Running
	expect_eq "docker info after resume" "$( . "$M/env" && docker info --format '{{.Name}}' )" $A
else
	echo "t_qemu: no socat: pause/resume not tested"
fi

# ---------------------------------------------------------------- daemon killed
pid=$(vm_pid $A)
{ kill -9 "$DAEMON_PID"; wait "$DAEMON_PID"; } 2>/dev/null
DAEMON_PID=
fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"
[ "$(vm_pid $A)" = "$pid" ] && ok || fail "the VM did not outlive the daemon"
mount_fs
expect_eq "state after remount" "$(cat "$M/state")" Running
expect_eq "docker info after remount" "$( . "$M/env" && docker info --format '{{.Name}}' )" $A
t=$(now)
put "$M/ctl" restart && ok || { fail "restart after remount: $(cat "$M/error")"; dump $A; }
timing "restart (from Running)" "$(since "$t")"
[ "$(vm_pid $A)" != "$pid" ] && ok || fail "restart kept the same qemu process"
expect_eq "docker info after restart" "$( . "$M/env" && docker info --format '{{.Name}}' )" $A
# The background refresh sees a VM killed behind its back.
kill -9 "$(vm_pid $A)"
for _ in $(seq 60); do [ "$(cat "$M/state")" = Stopped ] && break; sleep 1; done
expect_eq "state after qemu died" "$(cat "$M/state")" Stopped

# ---------------------------------------------------------------- rmdir
put "$M/ctl" start && ok || { fail "start: $(cat "$M/error")"; dump $A; }
rmdir "$M" && ok || fail "rmdir: $(cat "$M/error" 2>&1)"
expect_gone $A
[ ! -e "$STORE/machines/$A" ] && ok || fail "$A's folder is still there: $(ls "$STORE/machines/$A")"
[ ! -e "$M" ] && ok || fail "$M is still in the tree"

echo "t_qemu: timings ($accel):$TIMES"
finish
