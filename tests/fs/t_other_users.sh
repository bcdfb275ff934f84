#!/usr/bin/env bash
# Issue 8 item 1: with -o allow_other, other users read only the public
# files (listings, driver, state, ip, url, env*, config, docker-version,
# ctl's list); never options/, certs/, ssh/, config.json, log, error; and
# never write, make, remove or rename anything. The modes say the same.
. "$(dirname "$0")/lib.sh"
chmod 755 $T
mount_fs "$STORE" -o allow_other
M=$MNT/m
mkdir $M
put $M/options/url tcp://10.213.61.2:2376
put $M/options/engine-label "team=a"
put $M/driver none || fail "create: $(cat $M/error)"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

expect_eq "ls" "$(as_nobody ls $MNT)" "m"
for f in driver state ip url env env.fish config docker-version ctl; do
	as_nobody cat $M/$f >/dev/null && ok || fail "nobody cannot read $f"
done
expect_eq "url" "$(as_nobody cat $M/url)" "tcp://10.213.61.2:2376"
as_nobody ls $MNT/.drivers/none >/dev/null && ok || fail "nobody cannot list .drivers"
for f in config.json log error progress certs/key.pem certs/ca.pem options/url options/engine-label; do
	expect_errno EACCES as_nobody cat $M/$f
done
expect_errno EACCES as_nobody cat $MNT/.list
expect_errno EACCES as_nobody ls $M/options
expect_errno EACCES as_nobody ls $M/certs
expect_errno EACCES as_nobody mkdir $MNT/evil
expect_errno EACCES as_nobody bash -c "echo rm > $M/ctl"
expect_errno EACCES as_nobody bash -c "echo x=1 > $M/options/engine-label"
expect_errno EACCES as_nobody bash -c ": > $M/options/.x.swp"
expect_errno EACCES as_nobody rmdir $M
expect_errno EACCES as_nobody mv $M $MNT/n
expect_errno EACCES as_nobody rm $M/options/url
expect_errno EACCES as_nobody truncate -s 0 $M/options/url
expect_errno EACCES as_nobody touch $M/state
# The modes tell the same story.
expect_eq "modes" "$(stat -c '%n %a' $M/options $M/certs $M/config.json $M/log $M/error $M/state $M/env | sed "s|$M/||")" "options 700
certs 700
config.json 400
log 400
error 400
state 444
env 444"
# Nothing changed; the owner still does everything.
expect_eq "after" "$(ls $MNT)" "m"
expect_eq "label" "$(cat $M/options/engine-label)" "team=a"
cat $M/certs/key.pem >/dev/null && ok || fail "owner reads key.pem"
rmdir $M && ok || fail "owner rmdir"
finish
