#!/bin/bash
# provision/ssh against lab hosts (tests/lab): a root host and a sudo host.
# Key auth, commands, sudo, file upload, the host key pinned in a file that
# OpenSSH's own client accepts, and a host with new keys refused with both
# fingerprints named. Runs test_provision_ssh in its lab modes.
set -euo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build}
LAB=$SRCDIR/tests/lab/lab.sh
BIN=$BUILDDIR/tests/test_provision_ssh
BASE=${MFS_SSH_LAB_N:-221} # lab host numbers BASE and BASE+1

fail() { echo "t_ssh_lab: $*" >&2; exit 1; }
[ -x "$BIN" ] || fail "missing $BIN (build the test_provision_ssh target)"
[ -f "$LAB" ] || fail "missing $LAB"

T=$(mktemp -d /tmp/mfs-ssh-lab-XXXXXX)
cleanup() {
	bash "$LAB" down "$BASE" >/dev/null 2>&1 || true
	bash "$LAB" down "$((BASE + 1))" >/dev/null 2>&1 || true
	rm -rf "$T"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -C mfs-ssh-lab -f "$T/key"

n=$BASE
for flavour in root sudo; do
	ip=$(bash "$LAB" up "$n" --flavour "$flavour" --pubkey "$T/key.pub" --no-docker)
	user=$(bash "$LAB" user "$n")
	kh=$T/known_hosts_$n
	echo "# $flavour host $n at $ip, user $user"

	out=$("$BIN" lab "$ip" "$user" "$T/key" "$kh") || { echo "$out"; fail "$flavour host: checks failed"; }
	echo "$out"
	fp=$(sed -n 's/^fingerprint //p' <<<"$out")
	[ -n "$fp" ] || fail "$flavour host: no fingerprint printed"

	# The pinned key is one of the host's own keys.
	keys=$(bash "$LAB" exec "$n" sh -c 'for f in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -l -E sha256 -f "$f"; done')
	grep -qF " $fp " <<<"$keys" || fail "$flavour host: pinned $fp is none of the host's keys: $keys"
	[ "$(stat -c %a "$kh")" = 600 ] || fail "$kh is not 0600"
	# Of the host's rsa, ecdsa and ed25519 keys, ed25519 is pinned.
	grep -q "^$ip ssh-ed25519 " "$kh" || fail "$flavour host: not an ed25519 pin: $(cat "$kh")"

	# OpenSSH's client takes the pin file as it is, strictly.
	ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$kh" \
		-o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=10 -i "$T/key" \
		"$user@$ip" true || fail "$flavour host: ssh refuses the pin file"

	# Same address, new host keys: refused, both fingerprints named.
	bash "$LAB" down "$n"
	bash "$LAB" up "$n" --flavour "$flavour" --pubkey "$T/key.pub" --no-docker >/dev/null
	before=$(cat "$kh")
	if msg=$("$BIN" connect "$ip" "$user" "$T/key" "$kh"); then
		fail "$flavour host: a changed host key was accepted"
	fi
	echo "$msg"
	grep -qF "host key for '$ip:22' changed: pinned $fp, offered SHA256:" <<<"$msg" ||
		fail "$flavour host: unexpected message: $msg"
	[ "$(cat "$kh")" = "$before" ] || fail "$flavour host: the pin file changed"
	bash "$LAB" down "$n"
	n=$((n + 1))
done
echo "t_ssh_lab: ok"
