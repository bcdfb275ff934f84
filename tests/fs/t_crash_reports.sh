#!/bin/bash
# Crash reports of failed creates and upgrades: kept in STORE/reports
# (bounded, 0600, without the API key), sent in Bugsnag's notify format to a
# local HTTPS receiver only with an API key and without STORE/no-error-report
# (checked at each report); a receiver that is down or slow changes neither
# the command's result nor when it returns.
. "$(dirname "$0")/lib.sh"
R=$T/recv
mkdir -p "$R"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$T/recv.key" -out "$T/recv.pem" 2>/dev/null
python3 "$SRCDIR/tests/fs/helpers/bugsnag_receiver.py" "$R" "$T/recv.pem" "$T/recv.key" &
RECV_PID=$!
trap 'kill $RECV_PID 2>/dev/null; cleanup' EXIT
for _ in $(seq 600); do [ -s "$R/port" ] && break; sleep 0.05; done
PORT=$(cat "$R/port")
export CURL_CA_BUNDLE=$T/recv.pem
KEY=bugsnag-key-5f3e9a

requests() { ls "$R" | grep -c '^req-' || true; }
reports() { ls "$STORE/reports" 2>/dev/null | grep -c '\.json$' || true; }
# wait_for FILE: up to 20 s (a bound, not a timing assertion).
wait_for() { for _ in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.1; done; return 1; }
# failed_create NAME: a none machine without a URL: its create fails.
failed_create() {
	[ -d "$MNT/$1" ] || mkdir "$MNT/$1"
	if [ "$(cat "$MNT/$1/driver")" = none ]; then put "$MNT/$1/ctl" create; else put "$MNT/$1/driver" none; fi
}

# The result without sending (the report is kept), to compare with.
mount_fs
failed_create base 2>"$T/base.err" && fail "create without a URL succeeded"
base_err=$(cat "$MNT/base/error")
umount_fs

mount_fs "$STORE" -o "bugsnag-api-token=$KEY,bugsnag-endpoint=https://127.0.0.1:$PORT/notify"
failed_create m1 2>"$T/m1.err" && fail "create without a URL succeeded"
expect_eq "same errno with reports on" "$(sed 's/.*: //' "$T/m1.err")" "$(sed 's/.*: //' "$T/base.err")"
expect_eq "same error with reports on" "$(cat "$MNT/m1/error")" "$base_err"
wait_for "$R/req-1.json" && ok || fail "no report arrived"
rep=$(ls "$STORE"/reports/*-m1-create.json 2>/dev/null | head -n 1)
[ -n "$rep" ] && ok || fail "no report in the store"
expect_eq "report mode" "$(stat -c %a "$rep")" 600
grep -q "$KEY" "$rep" && fail "the stored report holds the API key" || ok
grep -rq "$KEY" "$MNT"/m1/ 2>/dev/null && fail "the API key shows in the tree" || ok
j() { jq -r "$1" "$R/req-1.json"; }
expect_eq "path" "$(j .path)" /notify
expect_eq "api key header" "$(j '.headers["Bugsnag-Api-Key"]')" "$KEY"
expect_eq "payload version header" "$(j '.headers["Bugsnag-Payload-Version"]')" 5
expect_eq "apiKey" "$(j .body.apiKey)" "$KEY"
expect_eq "notifier" "$(j .body.notifier.name)" machinefs
expect_eq "errorClass" "$(j '.body.events[0].exceptions[0].errorClass')" none/create
expect_eq "message" "$(j '.body.events[0].exceptions[0].message')" "$(cat "$MNT/m1/error")"
expect_eq "severity" "$(j '.body.events[0].severity')" error
expect_eq "os" "$(j '.body.events[0].metaData.device.os')" linux
expect_eq "arch" "$(j '.body.events[0].metaData.device.arch')" "$(uname -m)"
expect_eq "build" "$(j '.body.events[0].metaData.version.build')" machinefs
[ "$(j '.body.events[0].metaData.version.version')" != null ] && ok || fail "no version"
[ "$(j '.body.events[0].metaData.device.shell')" != null ] && ok || fail "no shell"
j '.body.events[0].metaData.history.trace' | grep -qF -- "$(cat "$MNT/m1/error")" && ok ||
	fail "the history lacks the command's log"
expect_eq "the stored report is the sent one, less the key" \
	"$(jq -S 'del(.apiKey)' "$rep")" "$(jq -S '.body | del(.apiKey)' "$R/req-1.json")"

# Opted out (checked at each report, not only at mount): kept, not sent.
touch "$STORE/no-error-report"
before=$(reports)
failed_create m1 2>/dev/null
expect_eq "reports kept while opted out" "$(reports)" $((before + 1))
sleep 1
expect_eq "nothing sent while opted out" "$(requests)" 1
rm "$STORE/no-error-report"
failed_create m1 2>/dev/null
wait_for "$R/req-2.json" && ok || fail "not sent again after the opt-out went"

# A slow receiver: the command returns before the receiver answers (it
# holds its answer 12 s, inside the sender's 15 s bound).
echo 12 >"$R/delay"
failed_create m1 2>/dev/null
[ -e "$R/answered-3" ] && fail "the command waited for the receiver" || ok
wait_for "$R/req-3.json" && ok || fail "slow receiver got nothing"
rm "$R/delay"
umount_fs

# No API key: nothing sent, the report kept.
mount_fs
before=$(reports)
failed_create m2 2>/dev/null
expect_eq "report kept without a key" "$(reports)" $((before + 1))
sleep 1
expect_eq "nothing sent without a key" "$(requests)" 3
umount_fs

# A receiver that is down: same result, one line in the machine's log.
kill "$RECV_PID"; wait "$RECV_PID" 2>/dev/null
mount_fs "$STORE" -o "bugsnag-api-token=$KEY,bugsnag-endpoint=https://127.0.0.1:$PORT/notify"
failed_create m3 2>"$T/m3.err" && fail "create without a URL succeeded"
expect_eq "same error with the receiver down" "$(cat "$MNT/m3/error")" "$base_err"
for _ in $(seq 100); do grep -q "crash report not sent" "$STORE/machines/m3/machinefs.log" && break; sleep 0.1; done
expect_eq "one line for the failed send" "$(grep -c "crash report not sent" "$STORE/machines/m3/machinefs.log")" 1

# Bounded: at most 20 reports are kept.
touch "$STORE/no-error-report"
for _ in $(seq 22); do failed_create m4 2>/dev/null; done
expect_eq "reports bounded" "$(reports)" 20
finish
