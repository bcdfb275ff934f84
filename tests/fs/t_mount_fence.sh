#!/usr/bin/env bash
# Issue 15: the daemon and its children never touch the daemon's own mount.
# A second daemon is started over the mount point of a first one, from a
# shell whose cwd, $PWD, $OLDPWD and $TMPDIR are inside the mount. Its
# children (VBoxManage through a bash wrapper: bash stats $OLDPWD at
# start) must not look there: an rmdir holds the mount's root while the
# daemon waits for its child, so such a lookup deadlocks. Every command
# runs under a deadline: a deadlock fails the case (the daemon is killed,
# which frees the stuck callers) instead of hanging it.
. "$(dirname "$0")/lib.sh"
MACHINEFS=$(realpath "$MACHINEFS")
export FAKEVBOX_DIR=$T/fake FAKEVBOX_LOG=$T/calls MACHINEFS_VBOX_TIMEOUT=1
export MACHINEFS_GUEST_CACHE=$T/guest
mkdir -p $FAKEVBOX_DIR $MACHINEFS_GUEST_CACHE $T/bin $T/store2
echo "a boot image" > $MACHINEFS_GUEST_CACHE/machinefs.iso
# VBoxManage: a bash wrapper that notes its cwd and environment.
cat > $T/bin/VBoxManage <<EOF
#!/bin/bash
{ echo "cwd=\$(pwd -P)"; env; } > $T/childenv.\$\$
exec python3 $SRCDIR/tests/fakevbox/VBoxManage "\$@"
EOF
chmod +x $T/bin/VBoxManage
export PATH=$T/bin:$PATH

# The first daemon, and a folder inside its mount to stand in.
mount_fs
mkdir $MNT/inside $MNT/old || fail "mkdir inside"

# A daemon whose store is inside its own mount point is refused.
out=$(timeout 20 "$MACHINEFS" -f -o store=$MNT/inside/store $MNT 2>&1) && fail "store inside the mount accepted"
case "$out" in *"is inside the mount point"*) ok ;; *) fail "store inside the mount: $out" ;; esac

# The second daemon, over the first, started from inside the mount.
(
	cd $MNT/inside || exit 1
	# $OLDPWD names what the new mount lacks: a lookup the kernel must ask
	# the daemon for, under the lock of the mount's root.
	export OLDPWD=$MNT/old PWD=$MNT/inside TMPDIR=$MNT/inside/tmp
	exec "$MACHINEFS" -f -o store=$T/store2 -o refresh=1 $MNT 2>>$T/daemon2.log
) &
PID2=$!
STUCK_PID=$PID2
trap 'fusermount3 -u $MNT 2>/dev/null; wait $PID2 2>/dev/null; cleanup' EXIT
for _ in $(seq 100); do
	[ "$(grep -c " $MNT " /proc/self/mountinfo)" -ge 2 ] && break
	sleep 0.05
done
expect_eq "second mount" "$(grep -c " $MNT " /proc/self/mountinfo)" "2"
expect_eq "daemon cwd" "$(readlink /proc/$PID2/cwd)" "/"
# The new mount's own machine of the same name: $OLDPWD resolves to it.
timeout 20 mkdir $MNT/inside || fail "mkdir in the second mount"

# A virtualbox machine: create (ends at the SSH wait), then rm.
M=$MNT/vb
timeout 20 mkdir $M || fail "mkdir vb"
put $M/options/virtualbox-no-vtx-check true
ends_within 60 bash -c 'printf "virtualbox\n" > $1/driver' _ $M 2>/dev/null
expect_eq "create ended (timeout is 124)" "$?" "1"
expect_eq "create state" "$(timeout 10 cat $M/state)" "Error"
grep -q '^createvm' $T/calls && ok || fail "create ran no VBoxManage: $(cat $M/error)"
ends_within 60 rmdir $M
expect_eq "rmdir ended" "$?" "0"
grep -q '^unregistervm --delete vb' $T/calls && ok || fail "rm ran no unregistervm: $(cat $T/calls)"
expect_eq "store2 left" "$(ls $T/store2/machines)" "inside"

# Every child worked from "/", with no variable naming a path in the mount.
n=$(ls $T/childenv.* 2>/dev/null | wc -l)
[ "$n" -ge 5 ] && ok || fail "only $n VBoxManage runs recorded"
expect_eq "children's cwd" "$(cat $T/childenv.* | grep '^cwd=' | sort -u)" "cwd=/"
expect_eq "children's variables in the mount" "$(cat $T/childenv.* | grep -v '^cwd=' | grep -F "$MNT" | sort -u)" ""
grep -q "^PATH=$T/bin:" $T/childenv.* && ok || fail "PATH lost"

# The second daemon unmounts cleanly; the first is still there.
fusermount3 -u $MNT || fail "unmount 2"
timeout 20 tail --pid=$PID2 -f /dev/null || fail "daemon 2 did not end"
[ -d $MNT/inside ] && ok || fail "first mount gone"
grep -E "AddressSanitizer|LeakSanitizer|runtime error:" $T/daemon2.log && fail "daemon 2 reported errors"
finish
