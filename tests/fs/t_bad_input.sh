#!/usr/bin/env bash
# Bad input: each gets its errno and one line in `error`; nothing is lost.
. "$(dirname "$0")/lib.sh"
export MACHINEFS_FAULTS="create=sleep:6"
mount_fs
M=$MNT/m

# Names.
expect_errno EINVAL mkdir "$MNT/a b"
expect_errno EINVAL mkdir -- "$MNT/-x"
expect_errno EINVAL mkdir "$MNT/_x"
expect_errno EINVAL mkdir "$MNT/.hidden"
expect_errno EEXIST mkdir "$MNT/.."
expect_errno ENAMETOOLONG mkdir "$MNT/$(printf 'a%.0s' $(seq 300))"
expect_eq "nothing made by bad names" "$(ls -A $STORE/machines)" ""
mkdir "$MNT/ok-1.x" && ok || fail "valid name refused"
expect_errno EEXIST mkdir "$MNT/ok-1.x"
rmdir "$MNT/ok-1.x"

mkdir $M
put $M/options/engine-label "a=b"
# ctl: unknown, empty, too long, two words.
expect_errno EINVAL put $M/ctl frobnicate
expect_eq "error names the command" "$(cat $M/error)" "unknown command 'frobnicate': want one of create start stop restart kill upgrade provision regenerate-certs rm rm-force"
expect_errno EINVAL put $M/ctl ""
case "$(cat $M/error)" in "empty command"*) ok ;; *) fail "empty: $(cat $M/error)" ;; esac
expect_errno EINVAL bash -c "head -c 1048576 /dev/zero | tr '\\0' a > $M/ctl"
case "$(cat $M/error)" in "command too long"*) ok ;; *) fail "1 MiB: $(cat $M/error)" ;; esac
expect_errno EINVAL put $M/ctl "start now"
expect_eq "error is one line" "$(wc -l < $M/error)" "1"

# Options: unknown name, a created machine's options are fixed later.
expect_errno EINVAL put $M/options/frob x
case "$(cat $M/error)" in *"unknown option 'frob'"*) ok ;; *) fail "unknown option: $(cat $M/error)" ;; esac
[ ! -e $M/options/frob ] && ok || fail "unknown option file exists"

# Read-only files.
for f in state ip url env config config.json log error docker-version; do
	expect_errno EACCES put $M/$f x
done
case "$(cat $M/error)" in "cannot write 'docker-version': read-only file") ok ;; *) fail "read-only: $(cat $M/error)" ;; esac
expect_errno EACCES put $MNT/.drivers/none/options x
expect_errno EACCES touch $M/newfile
expect_errno EACCES mkdir $M/sub

# Create without a driver, with an unknown driver.
expect_errno EINVAL put $M/ctl create
case "$(cat $M/error)" in *"has no driver"*) ok ;; *) fail "no driver: $(cat $M/error)" ;; esac
expect_errno EINVAL put $M/driver frob
expect_eq "unknown driver error" "$(cat $M/error)" "unknown driver 'frob': see .drivers/ for the drivers machinefs has"
expect_eq "state after unknown driver" "$(cat $M/state)" "None"
expect_errno EINVAL put $M/driver ""

# none without its url: Error, retryable; options kept.
expect_errno EINVAL put $M/driver none
expect_eq "state after failed create" "$(cat $M/state)" "Error"
case "$(cat $M/error)" in "--url option is required"*) ok ;; *) fail "missing url: $(cat $M/error)" ;; esac
expect_eq "option kept" "$(cat $M/options/engine-label)" "a=b"
put $M/options/url tcp://127.0.0.1:9
# An option of another driver is refused at create, with its name.
mkdir $MNT/other
put $MNT/other/options/url tcp://127.0.0.1:9
put $MNT/other/options/generic-ip-address 10.0.0.1 2>/dev/null && {
	expect_errno EINVAL put $MNT/other/driver none
	case "$(cat $MNT/other/error)" in *"unknown option 'generic-ip-address' for driver 'none'"*) ok ;; *) fail "foreign option: $(cat $MNT/other/error)" ;; esac
}

# A command while one runs: EBUSY for ctl, driver, options and rmdir.
exec 7<$M/log
cat <&7 >/dev/null
put $M/ctl create &
bg=$!
for _ in $(seq 50); do grep -q "^running create" $M/ctl && break; sleep 0.1; done
grep -q "^running create since" $M/ctl && ok || fail "ctl does not show the running create"
expect_errno EBUSY put $M/ctl create
expect_errno EBUSY put $M/ctl rm
expect_errno EBUSY put $M/driver none
expect_errno EBUSY put $M/options/url tcp://127.0.0.1:10
expect_errno EBUSY rmdir $M
wait $bg && ok || fail "the first create failed: $(cat $M/error)"
# A reader that kept log open sees it grow (tail -f).
grep -q "command 'create' done" <&7 && ok || fail "log did not grow for an open reader"
exec 7<&-
expect_eq "state after retry" "$(cat $M/state)" "Running"
expect_eq "error cleared" "$(cat $M/error)" ""
expect_eq "url kept" "$(cat $M/url)" "tcp://127.0.0.1:9"
expect_errno EEXIST put $M/driver none
expect_errno EROFS put $M/options/url tcp://127.0.0.1:11
expect_eq "options of a created machine unchanged" "$(cat $M/options/url)" "tcp://127.0.0.1:9"
grep -q '"Labels": \[\s*$' $STORE/machines/m/config.json && ok || fail "label list missing in config.json"
grep -q '"a=b"' $STORE/machines/m/config.json && ok || fail "label value missing in config.json"

# Concurrent mkdir of one name: exactly one wins each time.
for i in $(seq 10); do
	( mkdir $MNT/race$i 2>/dev/null && echo won ) > $T/r1 &
	p1=$!
	( mkdir $MNT/race$i 2>/dev/null && echo won ) > $T/r2 &
	wait $p1 $!
	expect_eq "race $i winners" "$(cat $T/r1 $T/r2 | wc -l)" "1"
done
expect_eq "race machines" "$(ls $MNT | grep -c race)" "10"
finish
