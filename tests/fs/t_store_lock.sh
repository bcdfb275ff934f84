#!/usr/bin/env bash
# Issue 8 item 12: one daemon a store. A second mount of the same store
# is refused, naming the first mount; after the first ends (even killed),
# the store mounts again; a holder whose mount is gone (a daemon still
# exiting after its unmount) is waited for.
. "$(dirname "$0")/lib.sh"
mount_fs
mkdir $MNT/a
mkdir $T/mnt2
out=$(timeout 20 "$MACHINEFS" -f -o store=$STORE $T/mnt2 2>&1) && fail "a second daemon mounted the store"
case "$out" in *"in use by another machinefs, mounted at '$(realpath $MNT)'"*) ok ;; *) fail "message: $out" ;; esac
mountpoint -q $T/mnt2 && { fail "mnt2 mounted"; fusermount3 -u $T/mnt2; }
expect_eq "first still serves" "$(ls $MNT)" "a"
# Killed: the kernel drops the lock with the daemon.
kill -KILL $DAEMON_PID
wait $DAEMON_PID 2>/dev/null
fusermount3 -u $MNT 2>/dev/null || umount -l $MNT
DAEMON_PID=
mount_fs
expect_eq "remounted after a kill" "$(ls $MNT)" "a"
umount_fs

# A holder whose mount is already gone is a daemon finishing its unmount
# (fusermount3 -u returns before the daemon exits): the next daemon waits
# for it to let go instead of refusing.
printf '%s\n' "$T/gone" >"$STORE/machinefs.lock"
exec 9<"$STORE/machinefs.lock"
flock -x 9
( sleep 2; flock -u 9 ) &
mount_fs
exec 9<&-
expect_eq "mounted once the exiting holder let go" "$(ls $MNT)" "a"
finish
