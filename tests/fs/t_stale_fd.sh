#!/usr/bin/env bash
# Issue 8 item 5: fds opened on a machine that is then removed answer
# ENOENT (reads, writes, ctl), and never touch the record of a new
# machine made under the same name.
. "$(dirname "$0")/lib.sh"
mount_fs
M=$MNT/m
mkdir $M
put $M/options/engine-label "old=1"
exec 7>>$M/options/engine-label
exec 8<$M/driver
exec 6>>$M/ctl
rmdir $M || fail "rmdir"
mkdir $M || fail "mkdir again"
put $M/options/engine-label "new=2"
put $M/options/url "tcp://10.213.61.2:2376"
put $M/driver none || fail "create the new one: $(cat $M/error)"

expect_errno ENOENT bash -c 'echo old=2 >&7'
exec 7>&-
# (the kernel may answer ESTALE itself for the gone inode)
out=$(cat <&8 2>&1) && fail "read of a removed machine's driver: $out"
case "$out" in *"No such file"*|*"Stale file handle"*) ok ;; *) fail "read: $out" ;; esac
exec 8<&-
expect_errno ENOENT bash -c 'echo rm >&6'
exec 6>&-
expect_eq "new value" "$(cat $M/options/engine-label)" "new=2"
expect_eq "new state" "$(cat $M/state)" "Running"
grep -q 'old=' $STORE/machines/m/machinefs.json && fail "the old record came back: $(cat $STORE/machines/m/machinefs.json)" || ok
# ... and after a remount too.
umount_fs
mount_fs
expect_eq "new value after remount" "$(cat $M/options/engine-label)" "new=2"
expect_eq "driver after remount" "$(cat $M/driver)" "none"
finish
