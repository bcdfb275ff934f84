#!/usr/bin/env bash
# Issue 15 with a real host: a daemon started from a shell whose cwd,
# $PWD, $OLDPWD and $TMPDIR are inside the mount (a second daemon over the
# first's mount point) creates a generic machine on a lab host (SSH
# provisioning, a real dockerd) and removes it, each within a deadline. An
# SSH key named by a path inside the mount is refused, never read there.
. "$SRCDIR/tests/fs/lib.sh"
MACHINEFS=$(realpath "$MACHINEFS")
LAB=$SRCDIR/tests/lab/lab.sh
N=${LAB_FENCE_N:-65}
PID2=
trap '[ -n "$PID2" ] && { fusermount3 -u $MNT 2>/dev/null; wait $PID2 2>/dev/null; }; cleanup; "$LAB" down "$N" >/dev/null 2>&1' EXIT
ssh-keygen -q -t ed25519 -N '' -f "$T/key"
IP=$("$LAB" up "$N" --flavour root --pubkey "$T/key.pub" </dev/null 2>"$T/lab.err" | tail -n 1)
[ -n "$IP" ] || { cat "$T/lab.err"; echo "lab host $N did not start"; exit 1; }

mount_fs
mkdir $MNT/inside $MNT/old || fail "mkdir in the first mount"
mkdir -p $T/store2
(
	cd $MNT/inside || exit 1
	export OLDPWD=$MNT/old PWD=$MNT/inside TMPDIR=$MNT/inside/tmp
	exec "$MACHINEFS" -f -o store=$T/store2 -o refresh=1 $MNT 2>>$T/daemon2.log
) &
PID2=$!
STUCK_PID=$PID2
for _ in $(seq 100); do
	[ "$(grep -c " $MNT " /proc/self/mountinfo)" -ge 2 ] && break
	sleep 0.05
done
expect_eq "second mount" "$(grep -c " $MNT " /proc/self/mountinfo)" "2"
M=$MNT/web
mkdir $M
put $M/options/generic-ip-address "$IP"
# A key "inside the mount": refused, not read through the daemon's own mount.
put $M/options/generic-ssh-key "$MNT/inside/key"
ends_within 60 bash -c 'printf "generic\n" > $1/driver' _ $M 2>/dev/null
case "$(cat $M/error)" in *"inside machinefs's own mount"*) ok ;; *) fail "key in the mount: $(cat $M/error)" ;; esac
rmdir $M || fail "rmdir after the refused create"
mkdir $M
put $M/options/generic-ip-address "$IP"
put $M/options/generic-ssh-key "$T/key"
ends_within 400 bash -c 'printf "generic\n" > $1/driver' _ $M
expect_eq "create ended" "$?" "0"
expect_eq "state" "$(cat $M/state)" "Running"
ends_within 120 rmdir $M
expect_eq "rmdir ended" "$?" "0"
expect_eq "store2 after rm" "$(ls $T/store2/machines)" ""
fusermount3 -u $MNT || fail "unmount 2"
timeout 20 tail --pid=$PID2 -f /dev/null || fail "daemon 2 did not end"
PID2=
grep -E "AddressSanitizer|LeakSanitizer|runtime error:" $T/daemon2.log && fail "daemon 2 reported errors"
finish
