#!/bin/bash
# Mounting as a system tool does: the STORE MOUNTPOINT form that fuse3's
# mount helper passes (mount -t fuse.machinefs, an fstab line), the systemd
# unit's commands as systemd runs them (Type=forking: mounted when
# ExecStart returns; ExecStop unmounts and the daemon ends), both units
# verified by systemd-analyze, and --version/--help in sshfs's layout.
. "$(dirname "$0")/lib.sh"
BIN=$(readlink -f "$MACHINEFS")

mounted_store() { findmnt -rn -o SOURCE "$MNT"; }
# released: the daemon of an unmounted store has let go of its lock (a
# daemon that mount(8) started is not our child to wait for).
released() {
	for _ in $(seq 200); do flock -n "$STORE/machinefs.lock" true && return 0; sleep 0.05; done
	fail "the store is still locked after the unmount"
}

# 1. The helper's form: machinefs STORE MOUNTPOINT -o rw,...
PATH=$(dirname "$BIN"):$PATH /sbin/mount.fuse3 "$STORE" "$MNT" -t fuse.machinefs -o rw,nosuid,nodev \
	2>>"$T/daemon.log" || fail "mount.fuse3"
mountpoint -q "$MNT" && ok || fail "mount.fuse3 did not mount"
expect_eq "the mount names its store" "$(mounted_store)" "machinefs:$STORE"
mkdir "$MNT/viahelper" && ok || fail "mkdir through the helper's mount"
[ -d "$STORE/machines/viahelper" ] && ok || fail "the machine is not in STORE"
fusermount3 -u "$MNT"
released

# 2. An fstab line, through mount(8) (which runs the helper with its own
# safe PATH, so the daemon under test is put first on it in a private mount
# namespace, next to a private /etc/fstab).
mkdir -p "$T/sbin"
ln -s "$BIN" "$T/sbin/machinefs"
printf '%s %s fuse.machinefs defaults,refresh=30 0 0\n' "$STORE" "$MNT" >"$T/fstab"
out=$(unshare -m --propagation private bash -c '
	mount --bind "$1/fstab" /etc/fstab &&
	mount -t tmpfs tmpfs /usr/local/sbin && ln -s "$2" /usr/local/sbin/machinefs &&
	mount "$3" && findmnt -rn -o SOURCE,FSTYPE "$3" && ls "$3" && umount "$3"' \
	_ "$T" "$BIN" "$MNT" 2>&1)
released
expect_eq "mount MOUNTPOINT from fstab" "$out" "machinefs:$STORE fuse.machinefs
viahelper"

# 3. The system unit's commands, expanded as systemd expands them.
unit=$T/machinefs.service
sed "s#@BINDIR@#$(dirname "$BIN")#" "$SRCDIR/tools/systemd/machinefs.service.in" >"$unit"
out=$(systemd-analyze verify "$unit" 2>&1) && expect_eq "system unit verifies clean" "$out" "" ||
	fail "systemd-analyze verify: $out"
sed "s#@BINDIR@#$(dirname "$BIN")#" "$SRCDIR/tools/systemd/machinefs-user.service.in" >"$T/user.service"
out=$(XDG_RUNTIME_DIR=$T systemd-analyze --user verify "$T/user.service" 2>&1) &&
	expect_eq "user unit verifies clean" "$out" "" || fail "systemd-analyze --user verify: $out"
printf 'MACHINEFS_STORE=%s\nMACHINEFS_MOUNTPOINT=%s\nMACHINEFS_OPTIONS="-o refresh=30"\n' \
	"$STORE" "$T/unitmnt" >"$T/default"
# ${X} is one word, $X is split on spaces: systemd's rules for these lines.
run_unit_line() {
	local key=$1 line
	line=$(sed -n "s/^$key=//p" "$unit")
	( set -a; . "$T/default"; set +a
	  line=${line//\$\{MACHINEFS_STORE\}/\"\$MACHINEFS_STORE\"}
	  line=${line//\$\{MACHINEFS_MOUNTPOINT\}/\"\$MACHINEFS_MOUNTPOINT\"}
	  eval "$line" ) 2>>"$T/daemon.log"
}
run_unit_line ExecStartPre || fail "ExecStartPre"
run_unit_line ExecStart || fail "ExecStart"
mountpoint -q "$T/unitmnt" && ok || fail "not mounted when ExecStart returned (Type=forking)"
expect_eq "the unit's mount" "$(ls "$T/unitmnt")" viahelper
pid=$(pgrep -f "machinefs $STORE $T/unitmnt" | head -n 1)
[ -n "$pid" ] && ok || fail "no daemon for the unit's mount"
run_unit_line ExecStop || fail "ExecStop"
mountpoint -q "$T/unitmnt" && fail "still mounted after ExecStop" || ok
for _ in $(seq 100); do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && fail "daemon still running after ExecStop" || ok

# 4. --version and --help in the layout of sshfs and bindfs.
ver=$("$BIN" --version)
expect_eq "--version line 1" "$(sed -n 1p <<<"$ver")" "machinefs version $(sed -n 's/.*project(machinefs VERSION \([0-9.]*\).*/\1/p' "$SRCDIR/CMakeLists.txt")"
expect_eq "--version line 2" "$(sed -n 2p <<<"$ver" | cut -d' ' -f1-3)" "FUSE library version"
grep -q "^using FUSE kernel interface version" <<<"$ver" && ok || fail "--version: no kernel interface line"
expect_eq "-V is --version" "$("$BIN" -V)" "$ver"
help=$("$BIN" --help)
expect_eq "--help usage" "$(sed -n 1p <<<"$help")" "usage: $BIN [STORE] MOUNTPOINT [options]"
grep -q -- "-o store=DIR" <<<"$help" && grep -q -- "-o allow_other" <<<"$help" && ok || fail "--help lacks options"
"$BIN" a b c 2>"$T/extra.err" && fail "three arguments accepted"
grep -q "too many arguments" "$T/extra.err" && ok || fail "no message for too many arguments"

DAEMON_PID=
finish
