#!/usr/bin/env bash
# A mount point and a store given relative to the shell's folder, as sshfs
# takes them: the daemon works from "/" (issue 15's fence), so both are
# made absolute first (a relative mount point was "bad mount point").
. "$(dirname "$0")/lib.sh"
MACHINEFS=$(realpath "$MACHINEFS")
cd "$T" || exit 1
"$MACHINEFS" -f store mnt 2>>"$T/daemon.log" &
DAEMON_PID=$!
for _ in $(seq 100); do
	mountpoint -q "$T/mnt" && break
	kill -0 $DAEMON_PID 2>/dev/null || break
	sleep 0.05
done
mountpoint -q "$T/mnt" && ok || {
	fail "relative mount point: $(cat "$T/daemon.log")"
	kill $DAEMON_PID 2>/dev/null; finish; exit 1
}
mkdir mnt/rel && ok || fail "mkdir through the relative mount"
[ -d "$T/store/machines/rel" ] && ok || fail "the machine is not in the relative store"
finish
