#!/usr/bin/env bash
# A store written by docker-machine 0.16 (reference §2), with absolute
# paths from another computer: it mounts and its machines show.
. "$(dirname "$0")/lib.sh"
cp -r "$SRCDIR/tests/fixtures/dm-store/." "$STORE/"
chmod 700 "$STORE"/machines/*
chmod 600 "$STORE"/machines/*/config.json
S=$(realpath "$STORE")
before=$(cat "$STORE/machines/n1/config.json")
mount_fs

expect_eq "machines" "$(ls $MNT | tr '\n' ' ')" "box1 future n1 old "
expect_eq "n1 state" "$(cat $MNT/n1/state)" "Running"
expect_eq "n1 url" "$(cat $MNT/n1/url)" "tcp://127.0.0.1:2376"
expect_eq "n1 ip" "$(cat $MNT/n1/ip)" "127.0.0.1:2376"
expect_eq "n1 driver" "$(cat $MNT/n1/driver)" "none"
# Paths of the other computer resolve against this store.
expect_eq "n1 env cert path" "$(grep CERT_PATH $MNT/n1/env)" "export DOCKER_CERT_PATH=\"$S/machines/n1\""
expect_eq "n1 config" "$(sed -n 2p $MNT/n1/config)" "--tlscacert=\"$S/machines/n1/ca.pem\""
grep -q "\"CaCertPath\": \"$S/certs/ca.pem\"" $MNT/n1/config.json && ok || fail "config.json paths not rebased"
grep -q "/home/u/" $MNT/n1/config.json && fail "old paths shown" || ok
# Mounting does not rewrite the record.
expect_eq "record untouched" "$(cat $STORE/machines/n1/config.json)" "$before"

expect_eq "box1 ip" "$(cat $MNT/box1/ip)" "127.0.0.3"
expect_eq "box1 url" "$(cat $MNT/box1/url)" "tcp://127.0.0.3:2376"
expect_eq "box1 driver" "$(cat $MNT/box1/driver)" "generic"
grep -q '"env=prod \\u0026 test"' $MNT/box1/config.json && ok || fail "box1 label"

# Versions 0-2 and >3: state Error with a clear reason.
expect_eq "old state" "$(cat $MNT/old/state)" "Error"
case "$(cat $MNT/old/error)" in "config version 2 of '"*"' is not supported: run any docker-machine 0.16 command on it once to migrate it to version 3") ok ;; *) fail "old error: $(cat $MNT/old/error)" ;; esac
expect_eq "future state" "$(cat $MNT/future/state)" "Error"
case "$(cat $MNT/future/error)" in "config version is from the future -- you should upgrade your Docker Machine client"*) ok ;; *) fail "future error: $(cat $MNT/future/error)" ;; esac
expect_eq "old record kept" "$(grep -c ConfigVersion $STORE/machines/old/config.json)" "1"

# A new machine next to them is readable by docker-machine's rules.
mkdir $MNT/n2 && put $MNT/n2/options/url tcp://127.0.0.1:2377 && put $MNT/n2/driver none && ok || fail "create n2"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['ConfigVersion']==3 and d['Driver']['URL']=='tcp://127.0.0.1:2377'" \
	$STORE/machines/n2/config.json && ok || fail "n2 config.json"
finish
