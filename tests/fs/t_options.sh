#!/usr/bin/env bash
# options/ behaves like files for the tools people use on them: echo,
# cat, rm, cp -r between machines, sed -i, an editor's save by rename.
. "$(dirname "$0")/lib.sh"
mount_fs
A=$MNT/a B=$MNT/b
mkdir $A $B
echo tcp://127.0.0.1:9 > $A/options/url
printf 'a=1\n\n  b=2  \n' > $A/options/engine-label
expect_eq "list option, one value a line" "$(cat $A/options/engine-label)" "a=1
b=2"
expect_eq "size" "$(stat -c %s $A/options/engine-label)" "8"
cp -r $A/options $B/ 2>$T/cp.err && ok || fail "cp -r: $(cat $T/cp.err)"
expect_eq "copied options" "$(ls $B/options | tr '\n' ' ')" "engine-label url "
expect_eq "copied value" "$(cat $B/options/engine-label)" "$(cat $A/options/engine-label)"
sed -i 's/:9$/:10/' $A/options/url 2>$T/sed.err && ok || fail "sed -i: $(cat $T/sed.err)"
expect_eq "after sed -i" "$(cat $A/options/url)" "tcp://127.0.0.1:10"
[ -s $T/sed.err ] && fail "sed -i complained: $(cat $T/sed.err)" || ok
echo tcp://127.0.0.1:11 > $T/new
cp $T/new $A/options/.url.swp && mv $A/options/.url.swp $A/options/url && ok || fail "save by rename"
expect_eq "after rename" "$(cat $A/options/url)" "tcp://127.0.0.1:11"
expect_eq "no temp file left" "$(ls -A $A/options | tr '\n' ' ')" "engine-label url "
rm $A/options/engine-label && ok || fail "rm option"
expect_eq "after rm" "$(ls $A/options)" "url"
expect_errno ENOENT cat $A/options/engine-label
# Kept across a remount; temp files are not.
echo x > $A/options/url~
umount_fs
mount_fs
expect_eq "options after remount" "$(ls -A $A/options)" "url"
expect_eq "value after remount" "$(cat $A/options/url)" "tcp://127.0.0.1:11"
put $A/driver none && ok || fail "create with edited options: $(cat $A/error)"
expect_eq url "$(cat $A/url)" "tcp://127.0.0.1:11"
finish
