#!/usr/bin/env bash
# A secret (here the password in an engine-install-url) appears in no
# file of the tree and not in machinefs.log, whatever is read.
. "$(dirname "$0")/lib.sh"
mount_fs
PASS=Hunter2-S3cret-$$
M=$MNT/s
mkdir $M
put $M/options/engine-install-url "https://deploy:$PASS@get.example/install.sh"
put $M/options/url tcp://127.0.0.1:1
# A failed command puts the url in error and log; then a create.
put $M/options/url "tcp://deploy:$PASS@127.0.0.1:1" 2>/dev/null
put $M/driver none 2>/dev/null
case "$(cat $M/error)" in *"$PASS"*) fail "error shows the secret" ;; *"invalid url"*) ok ;; *) fail "error: $(cat $M/error)" ;; esac
found=$(grep -rl -- "$PASS" $MNT 2>/dev/null)
expect_eq "after a failure, no file of the tree holds the secret" "$found" ""
put $M/options/url tcp://127.0.0.1:1
put $M/ctl create && ok || fail "create: $(cat $M/error)"
expect_eq "options/ shows the url masked" "$(cat $M/options/engine-install-url)" "https://****@get.example/install.sh"
grep -q '"InstallURL": "https://\*\*\*\*@get.example/install.sh"' $M/config.json && ok || fail "config.json: $(grep InstallURL $M/config.json)"
found=$(grep -rl -- "$PASS" $MNT 2>/dev/null)
expect_eq "no file of the tree holds the secret" "$found" ""
grep -q -- "$PASS" $STORE/machines/s/machinefs.log && fail "machinefs.log holds the secret" || ok
finish
