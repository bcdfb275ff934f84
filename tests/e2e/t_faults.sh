#!/usr/bin/env bash
# Fault injection through a whole generic create on a lab host: each step
# (the driver's methods, the core's own steps, every provisioning step) is
# failed in turn with MACHINEFS_FAULTS=STEP=fail:1 (each fires once, so
# every retry gets one step further; the order is the code's). Each failure
# must leave a one-line `error` naming a step not failed before and state
# Error; the retry (`echo create > ctl`) goes past it; once every step has
# failed once the next retry succeeds and the engine answers. The daemon
# holds no more fds or threads at the end than after the first failure,
# and (ASan build) reports no leak when it exits.
. "$SRCDIR/tests/fs/lib.sh"
LAB=$SRCDIR/tests/lab/lab.sh
N=${LAB_FAULTS:-81}
trap 'cleanup; "$LAB" down "$N" >/dev/null 2>&1' EXIT

STEPS=(configure bootstrap-certs precreate_check create copy-client-certs
	provision.connect provision.inspect provision.detect-os provision.hostname
	provision.install provision.server-cert provision.copy-certs
	provision.engine-config provision.engine-restart provision.engine-wait)

ssh-keygen -q -t ed25519 -N '' -f "$T/key"
IP=$("$LAB" up "$N" --flavour root --pubkey "$T/key.pub" </dev/null 2>"$T/lab.err" | tail -n 1)
[ -n "$IP" ] || { cat "$T/lab.err"; echo "lab host $N did not start"; exit 1; }

spec=
for s in "${STEPS[@]}"; do spec+="${spec:+,}$s=fail:1"; done
# No background state checks (they open sockets), one idle FUSE worker:
# the counts below are the daemon's own.
MACHINEFS_FAULTS=$spec mount_fs "$STORE" -o refresh=100000,max_idle_threads=1
M=$MNT/f1
mkdir $M
put $M/options/generic-ip-address "$IP"
put $M/options/generic-ssh-key "$T/key"

fds() { ls /proc/$DAEMON_PID/fd | wc -l; }
threads() { ls /proc/$DAEMON_PID/task | wc -l; }

declare -A left
for s in "${STEPS[@]}"; do left[$s]=1; done
# check_failed: the last create failed at a step not failed before, and
# says so in one line.
check_failed() {
	local e s
	e=$(cat $M/error)
	s=${e#"injected fault in '"}; s=${s%"'"}
	if [ "$e" == "injected fault in '$s'" ] && [ -n "${left[$s]:-}" ]; then ok; else
		fail "error after a failed create: '$e' (steps left: ${!left[*]})"; return
	fi
	unset "left[$s]"
	echo "failed at $s"
	expect_eq "$s: one line" "$(wc -l < $M/error)" "1"
	expect_eq "$s: state" "$(cat $M/state)" "Error"
	grep -q "injected fault in '$s'" $M/log && ok || fail "$s: not in the log"
}

expect_errno EIO put $M/driver generic
check_failed
fds0=$(fds); threads0=$(threads)
for _ in "${STEPS[@]:1}"; do
	expect_errno EIO put $M/ctl create
	check_failed
done
expect_eq "steps never failed" "${!left[*]}" ""
if put $M/ctl create; then ok; else fail "the last retry: $(cat $M/error)"; tail -20 $M/log; fi
expect_eq "state after the retries" "$(cat $M/state)" "Running"
expect_eq "error after the retries" "$(cat $M/error)" ""
( . $M/env && docker info --format '{{.Name}}' ) > $T/name 2>&1
expect_eq "docker after the retries" "$(cat $T/name)" "f1"
expect_eq "daemon fds" "$(fds)" "$fds0"
expect_eq "daemon threads" "$(threads)" "$threads0"
rmdir $M && ok || fail "rmdir"
finish
