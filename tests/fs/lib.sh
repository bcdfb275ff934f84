# Shared helpers for mount-level cases: each case gets its own store and
# mount point under a temp folder, unmounted and removed on exit.
set -u
MACHINEFS=${MACHINEFS:-${BUILDDIR:-build}/fs/machinefs}
T=$(mktemp -d /tmp/mfs-fs.XXXXXX)
STORE=$T/store
MNT=$T/mnt
mkdir -p "$STORE" "$MNT"
FAILS=0
PASSES=0
DAEMON_PID=

mount_fs() {
	local store=${1:-$STORE}
	"$MACHINEFS" -f -o "store=$store" "${@:2}" "$MNT" 2>>"$T/daemon.log" &
	DAEMON_PID=$!
	for _ in $(seq 100); do
		mountpoint -q "$MNT" && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "mount failed:"; cat "$T/daemon.log"
	exit 1
}

umount_fs() {
	fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	[ -n "$DAEMON_PID" ] && wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
}

cleanup() {
	umount_fs
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

ok() { PASSES=$((PASSES + 1)); }
fail() { FAILS=$((FAILS + 1)); echo "FAIL: $*"; }

# expect_eq WHAT GOT WANT
expect_eq() {
	if [ "$2" == "$3" ]; then ok; else
		fail "$1"; printf '  got:  %q\n  want: %q\n' "$2" "$3"
	fi
}

# expect_errno WANT-ERRNO-NAME CMD...: the command fails with that error.
expect_errno() {
	local want=$1; shift
	local out
	out=$("$@" 2>&1) && { fail "'$*' succeeded, want $want"; return; }
	case "$want" in
	EINVAL) pat="Invalid argument" ;;
	EEXIST) pat="File exists" ;;
	EBUSY) pat="busy" ;;
	EACCES) pat="Permission denied" ;;
	EHOSTUNREACH) pat="No route to host" ;;
	ENOENT) pat="No such file" ;;
	EIO) pat="Input/output error" ;;
	ENOTSUP) pat="not supported" ;;
	EFBIG) pat="File too large" ;;
	EKEYREJECTED) pat="Key was rejected" ;;
	EROFS) pat="Read-only file system" ;;
	ENAMETOOLONG) pat="File name too long" ;;
	*) pat=$want ;;
	esac
	case "$out" in
	*"$pat"*) ok ;;
	*) fail "'$*': want $want, got: $out" ;;
	esac
}

finish() {
	# The daemon's own errors (sanitizer reports on the ASan build) fail the case.
	umount_fs
	if grep -E "AddressSanitizer|LeakSanitizer|runtime error:" "$T/daemon.log" >/dev/null 2>&1; then
		fail "the daemon reported errors:"; cat "$T/daemon.log"
	fi
	echo "$PASSES passed, $FAILS failed"
	[ "$FAILS" -eq 0 ]
}

# ends_within SECS CMD...: CMD's status. Past SECS the daemon is stuck (a
# deadlock): the case fails and the daemon $STUCK_PID (default DAEMON_PID)
# is killed, which frees the stuck callers.
ends_within() {
	local secs=$1; shift
	"$@" & local p=$!
	for _ in $(seq $((secs * 10))); do
		kill -0 $p 2>/dev/null || { wait $p; return; }
		sleep 0.1
	done
	fail "'$*' did not end within $secs s: the daemon is stuck"
	kill -KILL "${STUCK_PID:-$DAEMON_PID}"
	wait $p
	return 124
}

# put FILE TEXT: one write of TEXT and a newline, as `echo TEXT > FILE`
# does, with the error message naming the errno.
put() {
	bash -c 'printf "%s\n" "$2" > "$1"' put "$1" "$2"
}
