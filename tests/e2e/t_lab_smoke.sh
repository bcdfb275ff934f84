#!/bin/bash
# The lab's test hosts (tests/lab/lab.sh), proved with real tools: two hosts
# at once (root and sudo flavours), the OpenSSH client with a generated key,
# distinct host keys, sudo, scp, dockerd started by hand running a container
# from an imported busybox rootfs, a reboot keeping the host key, and
# nothing left after down.
set -euo pipefail
: "${SRCDIR:?}"
LAB="$SRCDIR/tests/lab/lab.sh"
NA=${LAB_SMOKE_NA:-61}
NB=${LAB_SMOKE_NB:-62}
T=$(mktemp -d /tmp/t_lab_smoke.XXXXXX)
LAB_DIR=${MFS_LAB_DIR:-/tmp/mfs-lab}

cleanup() {
	"$LAB" down "$NA" >/dev/null 2>&1 || true
	"$LAB" down "$NB" >/dev/null 2>&1 || true
	rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

for c in ssh scp ssh-keygen docker busybox ip nsenter unshare; do
	command -v "$c" >/dev/null || fail "missing $c"
done
ssh-keygen -q -t ed25519 -N '' -f "$T/key"
real_keys=$(cat /etc/ssh/ssh_host_*_key.pub 2>/dev/null | sha256sum)

# sshc USER IP CMD...: OpenSSH client, pinning the host key on first use.
sshc() {
	local who=$1@$2
	shift 2
	ssh -o UserKnownHostsFile="$T/known_hosts" -o StrictHostKeyChecking=accept-new \
		-o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR -i "$T/key" "$who" "$@"
}

step "two hosts at once"
"$LAB" down "$NA" >/dev/null 2>&1 || true
"$LAB" down "$NB" >/dev/null 2>&1 || true
t0=$(now)
"$LAB" up "$NA" --flavour root --pubkey "$T/key.pub" >"$T/ipa" 2>"$T/upa.err" &
pa=$!
"$LAB" up "$NB" --flavour sudo --pubkey "$T/key.pub" >"$T/ipb" 2>"$T/upb.err" &
pb=$!
wait "$pa" || { cat "$T/upa.err"; fail "up $NA"; }
wait "$pb" || { cat "$T/upb.err"; fail "up $NB"; }
echo "both up in $(elapsed "$t0")s"
IPA=$(cat "$T/ipa")
IPB=$(cat "$T/ipb")
[ "$IPA" = "10.213.$NA.2" ] || fail "up $NA printed '$IPA'"
[ "$IPB" = "10.213.$NB.2" ] || fail "up $NB printed '$IPB'"
"$LAB" status "$NA" >"$T/status" && grep -q running "$T/status" || fail "status $NA"
"$LAB" up "$NA" --pubkey "$T/key.pub" >/dev/null 2>&1 && fail "second up of $NA succeeded"
[ "$("$LAB" user "$NB")" = machine ] || fail "user of $NB"

step "root flavour: ssh as root"
[ "$(sshc root "$IPA" hostname)" = "lab-$NA" ] || fail "hostname of $NA"
[ "$(sshc root "$IPA" id -u)" = 0 ] || fail "not root on $NA"
[ "$("$LAB" exec "$NA" hostname)" = "lab-$NA" ] || fail "exec hostname"
[ "$("$LAB" exec "$NA" cat /proc/1/cmdline | tr '\0' ' ')" != "" ] || fail "no pid 1"

step "sudo flavour: machine with passwordless sudo, root refused"
[ "$(sshc machine "$IPB" hostname)" = "lab-$NB" ] || fail "hostname of $NB"
[ "$(sshc machine "$IPB" id -un)" = machine ] || fail "user on $NB"
sshc machine "$IPB" sudo -n true || fail "sudo -n true on $NB"
[ "$(sshc machine "$IPB" sudo -n id -u)" = 0 ] || fail "sudo id on $NB"
# Even with the key in root's authorized_keys: sshd refuses root.
"$LAB" exec "$NB" sh -c 'mkdir -p -m 700 /root/.ssh && cat >/root/.ssh/authorized_keys' <"$T/key.pub"
rc=0
sshc root "$IPB" true 2>"$T/rootb.err" || rc=$?
[ "$rc" = 255 ] && grep -q 'Permission denied' "$T/rootb.err" ||
	fail "root login on $NB not refused (rc $rc: $(cat "$T/rootb.err"))"

step "each host has its own host key, the real one is untouched"
ka=$(ssh-keygen -F "$IPA" -f "$T/known_hosts" | grep -v '^#' | awk '{print $3}')
kb=$(ssh-keygen -F "$IPB" -f "$T/known_hosts" | grep -v '^#' | awk '{print $3}')
[ -n "$ka" ] && [ -n "$kb" ] || fail "no pinned keys"
[ "$ka" != "$kb" ] || fail "hosts $NA and $NB share a host key"
if [ -e /etc/ssh/ssh_host_ed25519_key.pub ]; then
	grep -qF "$ka" /etc/ssh/ssh_host_ed25519_key.pub && fail "host $NA has the real host key"
fi
[ "$(cat /etc/ssh/ssh_host_*_key.pub 2>/dev/null | sha256sum)" = "$real_keys" ] || fail "real host keys changed"

step "scp both ways"
head -c 100000 /dev/urandom >"$T/blob"
scp -q -o UserKnownHostsFile="$T/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes \
	-i "$T/key" "$T/blob" "machine@$IPB:blob" || fail "scp to $NB"
scp -q -o UserKnownHostsFile="$T/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes \
	-i "$T/key" "machine@$IPB:blob" "$T/blob.back" || fail "scp from $NB"
cmp "$T/blob" "$T/blob.back" || fail "scp round trip differs"
[ ! -e "/home/machine/blob" ] || fail "scp wrote to the real /"

step "writes stay in the host"
"$LAB" exec "$NA" sh -c 'echo x > /etc/mfs-lab-smoke'
[ ! -e /etc/mfs-lab-smoke ] || fail "a write in host $NA reached the real /"
"$LAB" exec "$NB" test ! -e /etc/mfs-lab-smoke || fail "host $NB sees host $NA's file"

step "dockerd by hand in host $NA, a container from a busybox rootfs"
"$LAB" exec "$NA" sh -c 'dockerd --host unix:///var/run/docker.sock >/var/log/dockerd.log 2>&1 &'
t0=$(now)
ok=
for _ in $(seq 300); do
	if "$LAB" exec "$NA" docker info >/dev/null 2>&1; then ok=1; break; fi
	sleep 0.2
done
[ -n "$ok" ] || { "$LAB" exec "$NA" tail -20 /var/log/dockerd.log; fail "docker info in $NA"; }
echo "dockerd answered in $(elapsed "$t0")s"
[ "$("$LAB" exec "$NA" docker info --format '{{.Name}}')" = "lab-$NA" ] || fail "docker info Name"
"$SRCDIR/tests/lab/busybox-rootfs.sh" "$T/bb.tar"
"$LAB" exec "$NA" docker import - mfs-busybox <"$T/bb.tar" >/dev/null || fail "docker import"
t0=$(now)
out=$("$LAB" exec "$NA" docker run --rm mfs-busybox /bin/busybox echo hi) || fail "docker run"
[ "$out" = hi ] || fail "docker run printed '$out'"
echo "docker run in $(elapsed "$t0")s"
[ -e /var/run/docker.sock ] && ! [ -S /var/run/docker.sock ] && fail "docker.sock on the real /"

step "reboot over ssh: the host comes back with the same host key"
old=$(cat "$LAB_DIR/$NA/init.pid")
sshc root "$IPA" 'shutdown -r now' || true
t0=$(now)
ok=
for _ in $(seq 150); do
	new=$(cat "$LAB_DIR/$NA/init.pid" 2>/dev/null || true)
	if [ -n "$new" ] && [ "$new" != "$old" ] && sshc root "$IPA" true 2>/dev/null; then ok=1; break; fi
	sleep 0.2
done
[ -n "$ok" ] || fail "host $NA not back after reboot"
echo "rebooted in $(elapsed "$t0")s"
ssh -o UserKnownHostsFile="$T/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes \
	-i "$T/key" "root@$IPA" true || fail "host key changed across reboot"
"$LAB" exec "$NA" sh -c '! pgrep -x dockerd' >/dev/null || fail "dockerd survived the reboot"
"$LAB" exec "$NA" test -e /etc/mfs-lab-smoke || fail "disk state lost across reboot"

step "a running container when the host goes down"
"$LAB" exec "$NA" sh -c 'dockerd --host unix:///var/run/docker.sock >/var/log/dockerd.log 2>&1 &'
ok=
for _ in $(seq 300); do
	if "$LAB" exec "$NA" docker info >/dev/null 2>&1; then ok=1; break; fi
	sleep 0.2
done
[ -n "$ok" ] || fail "dockerd after reboot"
"$LAB" exec "$NA" docker run -d --name sleeper mfs-busybox /bin/busybox sleep 1000 >/dev/null ||
	fail "image lost across reboot, or docker run -d"
[ "$("$LAB" exec "$NA" docker inspect -f '{{.State.Running}}' sleeper)" = true ] || fail "sleeper not running"

step "down both: nothing left"
pidns_a=$(cat "$LAB_DIR/$NA/pidns")
pidns_b=$(cat "$LAB_DIR/$NB/pidns")
t0=$(now)
"$LAB" down "$NA"
"$LAB" down "$NB"
echo "both down in $(elapsed "$t0")s"
"$LAB" down "$NA" || fail "second down not idempotent"
for n in "$NA" "$NB"; do
	ip netns list | grep -qw "mfs-lab-$n" && fail "netns mfs-lab-$n left"
	ip link show "mlab${n}h" >/dev/null 2>&1 && fail "veth mlab${n}h left"
	grep -q "$LAB_DIR/$n[ /]" /proc/self/mountinfo && fail "mount of host $n left"
	[ ! -e "$LAB_DIR/$n" ] || fail "state dir of host $n left"
	ls -d /sys/fs/cgroup/*/"mfs-lab-$n" 2>/dev/null && fail "cgroup of host $n left"
	"$LAB" status "$n" >/dev/null && fail "status $n says running"
	"$LAB" exec "$n" true 2>/dev/null && fail "exec in host $n after down"
done
for p in /proc/[0-9]*; do
	ns=$(readlink "$p/ns/pid" 2>/dev/null) || continue
	[ "$ns" = "$pidns_a" ] || [ "$ns" = "$pidns_b" ] && fail "process ${p#/proc/} left in a host's pid namespace"
done
# lab.sh keeps 10.213.0.0/16 unreachable here, so a downed host's address
# fails at once instead of following the default route off this machine.
ip route show type unreachable 10.213.0.0/16 | grep -q . || fail "no unreachable route for 10.213.0.0/16"
timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/22"' _ "$IPA" 2>/dev/null && fail "$IPA:22 still answers"
for n in "$NA" "$NB"; do
	[ -z "$(ip -o addr show to "10.213.$n.0/30")" ] || fail "address 10.213.$n.1 left"
	[ -z "$(ip -o route show "10.213.$n.0/30")" ] || fail "route to 10.213.$n.0/30 left"
done
echo "PASS"
