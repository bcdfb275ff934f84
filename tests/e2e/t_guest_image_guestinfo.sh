#!/bin/bash
# The guest image's VMware hook (/usr/lib/machinefs/vmware-guestinfo, run by
# rcS at boot) for real, in the built image's own userland: the initrd is
# unpacked and the hook runs in a chroot of it (its busybox, ssh-keygen,
# passwd/group), so what is tested is what boots.
#
# QEMU emulates no VMware GuestRPC, so the backdoor reader itself cannot be
# exercised against VMware here: the hook is given a STAND-IN reader (a
# shell script that serves files, same contract as vmw-guestinfo: exit 0 +
# value, 1 unset, 2 not VMware); the real reader is run in the image only
# for its "not on VMware" answer. Its protocol code is run (on the host,
# with ASan+UBSan) against a SIMULATED host (tests/fixtures/vmw_fakehost.c,
# written from the protocol's descriptions, never compared with VMware):
# values of every length around the 4-byte chunks, binary bytes, 64 KiB
# and one more, unset, a checkpoint mid-reply (retried), a host without
# cookies, another hypervisor (nothing sent), a closed backdoor (fault).
# Checked: nothing at all off VMware or with nothing set; a valid key and
# name installed with the right owner and modes; hostile values (several
# keys mixed with garbage, authorized_keys options, shell metacharacters,
# a blob that does not match its type, control characters, CRLF, NUL bytes, more than 64 KiB,
# endless output, more than 100 lines, bad host names) never run anything
# and never replace a good key. Needs root (chroot, cpio device nodes).
set -euo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
GUEST=${MACHINEFS_GUEST_CACHE:-/var/cache/machinefs/guest}

say() { echo "t_guest_image_guestinfo: $*"; }
fail() { echo "t_guest_image_guestinfo: FAIL: $*" >&2; exit 1; }
for t in cpio chroot ssh-keygen cc cmp; do command -v "$t" >/dev/null || fail "missing '$t'"; done
[ "$(id -u)" = 0 ] || fail "needs root (chroot)"

T=$(mktemp -d /tmp/mfs-guestinfo-XXXXXX)
trap 'rm -rf "$T"' EXIT
"$SRCDIR/tools/guest-image/build.sh" >/dev/null 2>&1 || fail "tools/guest-image/build.sh failed"
[ -s "$GUEST/initrd" ] || fail "no $GUEST/initrd"
R=$T/root
mkdir "$R"
(cd "$R" && cpio -id --quiet <"$GUEST/initrd") || fail "cannot unpack $GUEST/initrd"
HOOK=/usr/lib/machinefs/vmware-guestinfo
[ -x "$R$HOOK" ] || fail "no $HOOK in the image"
[ -x "$R/usr/lib/machinefs/vmw-guestinfo" ] || fail "no vmw-guestinfo in the image"

# The stand-in for vmw-guestinfo (NOT VMware's RPC): serves
# /tmp/standin/NAME, or runs /tmp/standin/NAME.cmd; records each call.
S=$R/tmp/standin
mkdir -p "$S"
cat >"$R/tmp/standin-reader" <<'EOF'
#!/bin/sh
# STAND-IN for /usr/lib/machinefs/vmw-guestinfo (a test double, not VMware)
d=/tmp/standin
echo "$1" >>$d/calls
[ -e $d/not-vmware ] && exit 2
n=${1#guestinfo.machinefs.}
[ -f "$d/$n.cmd" ] && exec sh "$d/$n.cmd"
[ -f "$d/$n" ] || exit 1
cat "$d/$n"
EOF
chmod 755 "$R/tmp/standin-reader"

AK=$R/home/docker/.ssh/authorized_keys
B2DK=$R/var/lib/boot2docker/authorized_keys
HN=$R/run/machinefs/guestinfo-hostname
reset() { rm -rf "$S" "$AK" "$B2DK" "$HN" "$R/run/machinefs"; mkdir -p "$S"; }
run_hook() { # run_hook [READER]: sets RC and OUT
	RC=0
	OUT=$(chroot "$R" "$HOOK" "$@" 2>&1) || RC=$?
}
mode() { stat -c '%a %u:%g' "$1"; }
no_pwn() {
	local f
	for f in "$R"/tmp/pwned* "$R"/pwned* /tmp/pwned*; do
		[ ! -e "$f" ] || fail "$1: a hostile value ran: $f exists"
	done
}

# ---- the reader's protocol code against the simulated host
cc -std=c11 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -Wall -Wextra -Werror \
	-o "$T/reader-fakehost" "$SRCDIR/tests/fixtures/vmw_fakehost.c" || fail "cannot build the reader with the simulated host"
FH=$T/fakehost
mkdir -p "$FH"
fh() { # fh MODE NAME: sets RC; stdout in $T/fh.out, the host's log in $T/fh.log
	: >"$T/fh.log"
	RC=0
	FAKEHOST_DIR=$FH FAKEHOST_LOG=$T/fh.log FAKEHOST_MODE=$1 "$T/reader-fakehost" "$2" >"$T/fh.out" 2>"$T/fh.err" || RC=$?
}
for n in 0 1 2 3 4 5 6 7 8 9 13 1000 65536; do
	head -c "$n" /dev/urandom >"$FH/guestinfo.v$n"
	fh "" "guestinfo.v$n"
	[ $RC = 0 ] || fail "simulated host: a $n-byte value: exit $RC $(cat "$T/fh.err")"
	cmp -s "$T/fh.out" "$FH/guestinfo.v$n" || fail "simulated host: a $n-byte value came back changed"
done
[ "$(tr '\n' '|' <"$T/fh.log")" = "open cookie|command info-get guestinfo.v65536|close|" ] ||
	fail "simulated host: the exchange was $(cat "$T/fh.log")"
head -c 65537 /dev/zero >"$FH/guestinfo.big"
fh "" guestinfo.big
[ $RC = 4 ] && [ ! -s "$T/fh.out" ] || fail "simulated host: 64 KiB + 1: exit $RC"
fh "" guestinfo.unset
[ $RC = 1 ] && [ ! -s "$T/fh.out" ] || fail "simulated host: unset: exit $RC"
fh checkpoint guestinfo.v13
[ $RC = 0 ] && cmp -s "$T/fh.out" "$FH/guestinfo.v13" || fail "simulated host: checkpoint: exit $RC"
[ "$(grep -c '^open' "$T/fh.log")" = 2 ] || fail "simulated host: checkpoint not retried: $(cat "$T/fh.log")"
fh no-cookie guestinfo.v5
[ $RC = 0 ] && cmp -s "$T/fh.out" "$FH/guestinfo.v5" || fail "simulated host: no cookies: exit $RC"
grep -qx open "$T/fh.log" || fail "simulated host: no open without cookie: $(cat "$T/fh.log")"
fh not-vmware guestinfo.v5
[ $RC = 2 ] && [ ! -s "$T/fh.log" ] || fail "simulated host: another hypervisor: exit $RC, host saw $(cat "$T/fh.log")"
fh no-backdoor guestinfo.v5
[ $RC = 5 ] || fail "simulated host: a closed backdoor: exit $RC $(cat "$T/fh.err")"
fh "" 'guestinfo.v5;reboot'
[ $RC = 64 ] && [ ! -s "$T/fh.log" ] || fail "simulated host: a bad name: exit $RC"
say "reader vs a simulated host: 13 lengths exact, > 64 KiB refused, unset, checkpoint retried, no cookies, other hypervisor, fault"

ssh-keygen -q -t ed25519 -N '' -C k1 -f "$T/k1"
ssh-keygen -q -t rsa -b 2048 -N '' -C k2 -f "$T/k2"
ssh-keygen -q -t ecdsa -N '' -C k3 -f "$T/k3"
K1=$(cat "$T/k1.pub") K2=$(cat "$T/k2.pub") K3=$(cat "$T/k3.pub")

# ---- the real reader, off VMware: "not here", and the hook does nothing
vendor=$(cat /sys/class/dmi/id/sys_vendor 2>/dev/null || true)
if [[ $vendor != VMware* ]]; then
	rc=0
	chroot "$R" /usr/lib/machinefs/vmw-guestinfo guestinfo.machinefs.authorized-keys >/dev/null 2>&1 || rc=$?
	[ $rc = 2 ] || fail "vmw-guestinfo off VMware: exit $rc, not 2"
fi
rc=0
chroot "$R" /usr/lib/machinefs/vmw-guestinfo 'guestinfo.x;y' >/dev/null 2>&1 || rc=$?
[ $rc = 64 ] || fail "vmw-guestinfo took a key with ';' (exit $rc)"
reset
run_hook
[ $RC = 1 ] && [ -z "$OUT" ] || fail "hook with the real reader: exit $RC, said '$OUT'"
[ ! -e "$AK" ] && [ ! -e "$B2DK" ] && [ ! -e "$HN" ] || fail "hook with the real reader installed something"

# ---- stand-in: not VMware, nothing set
reset
touch "$S/not-vmware"
echo "$K1" >"$S/authorized-keys"
run_hook /tmp/standin-reader
[ $RC = 1 ] && [ -z "$OUT" ] || fail "not VMware: exit $RC, said '$OUT'"
[ ! -e "$AK" ] && [ ! -e "$HN" ] || fail "not VMware: something installed"
[ "$(cat "$S/calls")" = guestinfo.machinefs.authorized-keys ] || fail "not VMware: asked $(cat "$S/calls")"
reset
run_hook /tmp/standin-reader
[ $RC = 1 ] && [ -z "$OUT" ] || fail "nothing set: exit $RC, said '$OUT'"
[ ! -e "$AK" ] && [ ! -e "$B2DK" ] && [ ! -e "$HN" ] || fail "nothing set: something installed"
[ "$(tr '\n' ' ' <"$S/calls")" = "guestinfo.machinefs.authorized-keys guestinfo.machinefs.hostname " ] ||
	fail "nothing set: asked $(cat "$S/calls")"
say "off VMware / nothing set: quiet, nothing installed"

# ---- one key and a name (a symlink planted at the temporary name is replaced, not followed)
reset
echo "$K1" >"$S/authorized-keys"
echo vm-1.example >"$S/hostname"
echo keep >"$R/tmp/victim"
ln -s /tmp/victim "$R/home/docker/.ssh/authorized_keys.new"
run_hook /tmp/standin-reader
[ $RC = 0 ] || fail "one key: exit $RC: $OUT"
[ "$(cat "$AK")" = "$K1" ] || fail "one key: authorized_keys is '$(cat "$AK")'"
[ "$(cat "$B2DK")" = "$K1" ] || fail "one key: the data disk's copy is '$(cat "$B2DK")'"
[ "$(mode "$AK")" = "600 1000:50" ] || fail "authorized_keys mode/owner $(mode "$AK")"
[ "$(mode "$(dirname "$AK")")" = "700 1000:50" ] || fail ".ssh mode/owner $(mode "$(dirname "$AK")")"
[ "$(mode "$B2DK")" = "600 0:0" ] || fail "the data disk's copy: mode/owner $(mode "$B2DK")"
[ "$(cat "$R/tmp/victim")" = keep ] || fail "the hook wrote through a symlink"
[ "$(cat "$HN")" = vm-1.example ] || fail "hostname file: '$(cat "$HN" 2>/dev/null)'"
grep -q '1 ssh key(s) installed' <<<"$OUT" || fail "one key: said '$OUT'"
say "one key: installed 0600 docker:staff (.ssh 0700), kept on the disk 0600 root; name taken"

# ---- several keys among hostile lines; a hostile name
reset
mismatch="ssh-ed25519 $(cut -d' ' -f2 "$T/k2.pub") wrong-type"
{
	printf '%s\r\n' "$K1"
	printf '\n   \n'
	echo 'garbage line'
	echo "command=\"touch /tmp/pwned-opt\" $K1"
	echo "no-pty,from=\"*\" $K2"
	echo '$(touch /tmp/pwned-subst)'
	echo '`touch /tmp/pwned-bq`; touch /tmp/pwned-semi'
	echo 'ssh-ed25519 AAAA$(touch${IFS}/tmp/pwned-b64) x'
	echo "$mismatch"
	printf '%s \033]0;terminal escape\007\tand a tab\n' "$K1"
	echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== truncated'
	echo "$K2 user@host; \$(touch /tmp/pwned-comment) | & \`x\`"
	printf '%s' "$K3" # no newline at the end
} >"$S/authorized-keys"
echo '$(touch /tmp/pwned-host)' >"$S/hostname"
run_hook /tmp/standin-reader
[ $RC = 0 ] || fail "mixed: exit $RC: $OUT"
want=$(printf '%s\n%s\n%s' "$K1" "$K2 user@host; \$(touch /tmp/pwned-comment) | & \`x\`" "$K3")
[ "$(cat "$AK")" = "$want" ] || fail "mixed: authorized_keys is:
$(cat "$AK")"
grep -q '9 of 12 lines are not public keys' <<<"$OUT" || fail "mixed: said '$OUT'"
grep -q 'hostname: not a host name' <<<"$OUT" || fail "hostile name: said '$OUT'"
[ ! -e "$HN" ] || fail "hostile name taken: $(cat "$HN")"
no_pwn "mixed"
say "mixed: the 3 valid keys kept (CRLF, no final newline), 9 hostile/garbage lines dropped, bad name refused"

# ---- refused whole; the good key installed before stays
good=$(cat "$AK")
refused() { # refused WHAT MESSAGE
	run_hook /tmp/standin-reader
	[ $RC = 1 ] || fail "$1: exit $RC (installed?): $OUT"
	grep -q -- "$2" <<<"$OUT" || fail "$1: said '$OUT'"
	[ "$(cat "$AK")" = "$good" ] && [ "$(cat "$B2DK")" = "$good" ] || fail "$1: the previous key was replaced"
	[ ! -e "$HN" ] || fail "$1: a name was taken"
	no_pwn "$1"
	rm -rf "$S" && mkdir -p "$S"
}
for i in $(seq 1000); do echo "$K1"; done >"$S/authorized-keys"
refused "over-long value" 'longer than 65536 bytes'
# "endless": 8 MB, so that a hook that stopped cutting could not fill the disk
printf 'yes %q | head -c 8000000\n' "$K1" >"$S/authorized-keys.cmd"
refused "endless value" 'longer than 65536 bytes'
{ printf '%s\n' "$K1"; printf 'x\0y\n'; printf '%s\n' "$K2"; } >"$S/authorized-keys"
refused "NUL byte" 'holds a NUL byte'
for i in $(seq 101); do echo "$K1"; done >"$S/authorized-keys"
refused "101 keys" 'more than 100'
printf 'not a key\n$(reboot)\n' >"$S/authorized-keys"
refused "no valid line" '2 of 2 lines are not public keys'
echo 'exit 7' >"$S/authorized-keys.cmd"
refused "reader failure" 'cannot read it (status 7)'
say "refused whole: > 64 KiB, endless output, NUL byte, > 100 lines, no valid line, reader failure"

# ---- host names
for bad in "$(printf 'a%.0s' $(seq 64))" -lead trail- a..b 'a b' 'a;b' "$(printf 'x\ny')" '' .; do
	rm -rf "$S" "$HN" && mkdir -p "$S"
	printf '%s' "$bad" >"$S/hostname"
	run_hook /tmp/standin-reader
	[ ! -e "$HN" ] || fail "host name '$bad' taken"
done
rm -rf "$S" && mkdir -p "$S"
printf '%s' "$(printf 'a%.0s' $(seq 63))" >"$S/hostname"
run_hook /tmp/standin-reader
[ "$(cat "$HN")" = "$(printf 'a%.0s' $(seq 63))" ] || fail "a 63-character name was refused"
no_pwn "host names"
say "host names: 9 bad ones refused, 63 characters taken"
say "ok"
