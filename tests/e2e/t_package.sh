#!/bin/bash
# The .deb that CPack builds: installed into a clean test root (a lab host,
# an overlay of this machine's / in its own namespaces), it puts the daemon,
# the wrapper, completions, man page and systemd units in place; both
# commands run from it; its units pass systemd-analyze verify; a purge
# leaves none of its files behind.
set -euo pipefail
: "${SRCDIR:?}" "${BUILDDIR:?}"
LAB="$SRCDIR/tests/lab/lab.sh"
N=${PKG_LAB_N:-171}
T=$(mktemp -d /tmp/t_package.XXXXXX)
FAILS=0 PASSES=0
cleanup() { "$LAB" down "$N" >/dev/null 2>&1 || true; rm -rf "$T"; }
trap cleanup EXIT
ok() { PASSES=$((PASSES + 1)); }
fail() { FAILS=$((FAILS + 1)); echo "FAIL: $*"; }
expect_eq() { if [ "$2" == "$3" ]; then ok; else fail "$1"; printf '  got:  %q\n  want: %q\n' "$2" "$3"; fi; }
in_lab() { "$LAB" exec "$N" "$@"; }

cpack -G DEB --config "$BUILDDIR/CPackConfig.cmake" -B "$T/pkg" >"$T/cpack.log" 2>&1 ||
	{ cat "$T/cpack.log"; exit 1; }
deb=$(ls "$T"/pkg/machinefs_*.deb)
version=$(dpkg-deb -f "$deb" Version)
expect_eq "package name" "$(dpkg-deb -f "$deb" Package)" machinefs
# Every file the package ships (not folders).
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' | sort >"$T/files"
for f in /usr/bin/machinefs /usr/bin/docker-machine /usr/share/man/man1/machinefs.1 \
	/usr/share/bash-completion/completions/docker-machine \
	/usr/share/zsh/vendor-completions/_docker-machine \
	/usr/lib/systemd/system/machinefs.service /usr/lib/systemd/user/machinefs.service; do
	grep -qxF "$f" "$T/files" && ok || fail "package lacks $f"
done

"$LAB" up "$N" --no-docker >/dev/null
in_lab dpkg -s machinefs >/dev/null 2>&1 && fail "machinefs already installed in the clean root"
in_lab sh -c 'cat > /root/machinefs.deb' <"$deb"
in_lab dpkg -i /root/machinefs.deb >"$T/dpkg-i.log" 2>&1 || { cat "$T/dpkg-i.log"; fail "dpkg -i"; }
while read -r f; do
	in_lab test -e "$f" || fail "not installed: $f"
done <"$T/files"
expect_eq "machinefs --version" "$(in_lab /usr/bin/machinefs --version | head -n 1)" "machinefs version $version"
expect_eq "docker-machine version" "$(in_lab /usr/bin/docker-machine version)" \
	"docker-machine version 0.16.2, build machinefs"
expect_eq "man page" "$(in_lab sh -c 'MANWIDTH=80 man -l /usr/share/man/man1/machinefs.1 2>/dev/null | grep -c "^NAME"' || true)" 1
# The installed units name the installed daemon and verify clean.
expect_eq "unit ExecStart" "$(in_lab grep -o '^ExecStart=[^ ]*' /usr/lib/systemd/system/machinefs.service)" \
	"ExecStart=/usr/bin/machinefs"
out=$(in_lab systemd-analyze verify /usr/lib/systemd/system/machinefs.service 2>&1) &&
	expect_eq "system unit verifies clean" "$out" "" || fail "system unit: $out"
out=$(in_lab env XDG_RUNTIME_DIR=/tmp systemd-analyze --user verify /usr/lib/systemd/user/machinefs.service 2>&1) &&
	expect_eq "user unit verifies clean" "$out" "" || fail "user unit: $out"

in_lab dpkg --purge machinefs >"$T/dpkg-r.log" 2>&1 || { cat "$T/dpkg-r.log"; fail "dpkg --purge"; }
while read -r f; do
	in_lab test -e "$f" && fail "left behind after purge: $f"
done <"$T/files"
in_lab dpkg -s machinefs >/dev/null 2>&1 && fail "still registered after purge"

echo "$PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
