# Shared scaffolding of the cloud drivers' end-to-end cases against a fake
# cloud (tests/fakecloud/*.py): start and stop the fake, read its request
# log, create a machine through the mount. Source it after
# tests/fs/lib.sh (T, MNT, put, cleanup):
#
#   fake_start digitalocean.py --hosts "$HOSTS" --token "$TOKEN"
#   trap 'cleanup; fake_stop' EXIT
#   requests() { fake_requests 's#/[0-9]+(/|$| )#/ID\1#g'; }
#   create_machine digitalocean d1 digitalocean-access-token="$TOKEN" ...

# fake_start SCRIPT ARG...: tests/fakecloud/SCRIPT with ARG..., listening
# on 127.0.0.1 at an ephemeral port, its log in $T/fake.log, the lab hosts
# of its --hosts N-M down before it starts. Sets FAKE_PID
# and API (http://127.0.0.1:PORT); ends the case when it does not start
# (bounded: 30 s, or as soon as it exits).
fake_start() {
	local script=$1 a prev=
	shift
	# Its hosts down first: a run that died may have left one up.
	for a in "$@"; do [ "$prev" = --hosts ] && lab_down_range "$a"; prev=$a; done
	rm -f "$T/port"
	python3 "$SRCDIR/tests/fakecloud/$script" --port-file "$T/port" --log "$T/fake.log" "$@" &
	FAKE_PID=$!
	for _ in $(seq 600); do
		[ -s "$T/port" ] && break
		kill -0 "$FAKE_PID" 2>/dev/null || break
		sleep 0.05
	done
	[ -s "$T/port" ] || { echo "the fake did not start"; cat "$T/fake.log"; exit 1; }
	API=http://127.0.0.1:$(cat "$T/port")
}

# fake_stop: the fake ends (on SIGTERM it downs the lab hosts it booted).
fake_stop() {
	[ -n "${FAKE_PID:-}" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
	FAKE_PID=
}

# lab_down_range N-M: lab hosts N to M down, whatever booted them.
lab_down_range() {
	local n
	for n in $(seq "${1%-*}" "${1#*-}"); do "$SRCDIR/tests/lab/lab.sh" down "$n" >/dev/null 2>&1; done
}

# fake METHOD PATH [BODY]: one call to the fake (its control endpoints:
# /_state, /_fault, /_requests...); the answer's body on stdout, failing
# on an HTTP error.
fake() { curl -sf -X "$1" "$API$2" ${3:+-d "$3"}; }

# fake_requests SED-ARG...: the fake's request log, a "METHOD PATH STATUS"
# line a request, through `sed -E SED-ARG...` (ids made constant).
fake_requests() {
	fake GET /_requests | jq -r '.[] | "\(.method) \(.path) \(.status)"' | sed -E "$@"
}

# create_machine DRIVER MACHINE [OPTION=VALUE...]: the machine's folder,
# each option written in that order, then the driver (the create); the
# status of that last write.
create_machine() {
	local driver=$1 m=$MNT/$2 o
	shift 2
	mkdir -p "$m"
	for o in "$@"; do put "$m/options/${o%%=*}" "${o#*=}"; done
	put "$m/driver" "$driver"
}

# expect_no_hosts_left: every lab host the fake booted is down again (the
# fake downs them in threads: waited for, up to 30 s).
expect_no_hosts_left() {
	for _ in $(seq 100); do [ "$(fake GET /_hosts | jq -c .)" = "[]" ] && break; sleep 0.3; done
	expect_eq "lab hosts left" "$(fake GET /_hosts | jq -c .)" "[]"
}

# kill9_mid_create MACHINE SEEN MID END CMD...: the create CMD (put_X
# MACHINE ..., in the background) until the case's requests() shows a line
# matching SEEN; then the daemon is killed (-9) and the mount goes: the
# case's account() is MID. The fake stops delaying addresses, the store is
# mounted again and rmdir MACHINE deletes what the create made: account()
# is END.
kill9_mid_create() {
	local m=$1 seen=$2 mid=$3 end=$4 pid
	shift 4
	( "$@" ) >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 300); do requests | grep -q "$seen" && break; sleep 0.1; done
	requests | grep -q "$seen" && ok || fail "create did not reach '$seen'"
	kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
	umount_fs; wait "$pid"
	expect_eq "account mid-create" "$(account)" "$mid"
	fake POST /_delay_ip '{"seconds": 0}' >/dev/null
	mount_fs "$STORE" -o refresh=2
	rmdir "$MNT/$m" && ok || fail "rmdir after kill -9: $(cat "$MNT/$m/error")"
	expect_eq "account after kill -9 + rmdir" "$(account)" "$end"
}
