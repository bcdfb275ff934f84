#!/usr/bin/env bash
# kill -9 of the daemon while a create runs leaves a readable store: the
# machine shows in Error (interrupted) and can be created again. SIGTERM
# unmounts cleanly.
. "$(dirname "$0")/lib.sh"
export MACHINEFS_FAULTS="create=sleep:30"
mount_fs

# A blocked create is interrupted by a signal to its writer (Ctrl-C).
C=$MNT/c
mkdir $C && put $C/options/url tcp://127.0.0.1:2376
bash -c 'printf "none\n" > "$1"' w $C/driver 2>/dev/null &
w=$!
for _ in $(seq 50); do grep -q "^running create" $C/ctl 2>/dev/null && break; sleep 0.1; done
start=$(date +%s)
kill -TERM $w
wait $w 2>/dev/null
took=$(( $(date +%s) - start ))
[ $took -lt 10 ] && ok || fail "interrupted create took $took s"
expect_eq "state after an interrupted create" "$(cat $C/state)" "Error"
case "$(cat $C/error)" in *cancelled*) ok ;; *) fail "error after interrupt: $(cat $C/error)" ;; esac
rmdir $C

M=$MNT/k
mkdir $M && put $M/options/url tcp://127.0.0.1:2376
put $M/driver none 2>/dev/null &
writer=$!
for _ in $(seq 50); do grep -q "^running create" $M/ctl 2>/dev/null && break; sleep 0.1; done
grep -q "^running create" $M/ctl && ok || fail "create not running"
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
wait $writer 2>/dev/null
fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"
# Every JSON file in the store parses.
for f in $STORE/machines/k/*.json; do
	python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$f" && ok || fail "torn $f"
done
ls $STORE/machines/k/*.tmp* 2>/dev/null && fail "temp files left" || ok

mount_fs
# SIGTERM while a create runs: the command is ended, the daemon exits
# cleanly and the record says what happened.
S2=$MNT/s2
mkdir $S2 && put $S2/options/url tcp://127.0.0.1:2376
put $S2/driver none 2>/dev/null &
writer=$!
for _ in $(seq 50); do grep -q "^running create" $S2/ctl 2>/dev/null && break; sleep 0.1; done
start=$(date +%s)
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
expect_eq "exit status on SIGTERM during a create" "$?" "0"
DAEMON_PID=
[ $(( $(date +%s) - start )) -lt 10 ] && ok || fail "unmount waited for the create"
wait $writer 2>/dev/null
unset MACHINEFS_FAULTS
mount_fs
expect_eq "state after SIGTERM during a create" "$(cat $S2/state)" "Error"
case "$(cat $S2/error)" in *cancelled*|*interrupted*) ok ;; *) fail "after SIGTERM: $(cat $S2/error)" ;; esac
rmdir $S2
expect_eq "state after kill -9" "$(cat $M/state)" "Error"
case "$(cat $M/error)" in "'create' was interrupted"*) ok ;; *) fail "error: $(cat $M/error)" ;; esac
expect_eq "option kept" "$(cat $M/options/url)" "tcp://127.0.0.1:2376"
put $M/ctl create && ok || fail "retry: $(cat $M/error)"
expect_eq "state after retry" "$(cat $M/state)" "Running"

# SIGTERM: clean unmount, the record as it was.
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
expect_eq "daemon exit status on SIGTERM" "$?" "0"
DAEMON_PID=
mountpoint -q "$MNT" && fail "still mounted after SIGTERM" || ok
mount_fs
expect_eq "state after SIGTERM and remount" "$(cat $M/state)" "Running"
finish
