#!/bin/bash
# Provisioning on real lab hosts (tests/lab/lab.sh): real sshd, real
# dockerd, checked from outside with the real docker client over TLS.
#  host A (root, /etc/init.d/docker): dockerd hidden first, installed by an
#    engine-install-url served from here; labels and insecure registry land;
#    regenerate-certs makes a new server cert and docker still works;
#    upgrade re-runs the install URL.
#  host B (sudo user, no init script at all): dockerd supervised by us,
#    started again when killed; an unknown OS and a sudo that wants a
#    password give clear errors.
#  host C (sudo user) made to look like the machinefs guest image: its
#    os-release (ID_LIKE=boot2docker), /etc/init.d/docker and sethostname
#    from tools/guest-image: the boot2docker profile path, and upgrade is
#    refused with a clear error.
set -euo pipefail
: "${SRCDIR:?}" "${BUILDDIR:?}"
LAB="$SRCDIR/tests/lab/lab.sh"
PROG="$BUILDDIR/tests/test_provision_lab"
NA=${LAB_NA:-51}
NB=${LAB_NB:-52}
NC=${LAB_NC:-53}
T=$(mktemp -d /tmp/t_provision_lab.XXXXXX)
HTTP_PID=

cleanup() {
	[ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null || true
	"$LAB" down "$NA" >/dev/null 2>&1 || true
	"$LAB" down "$NB" >/dev/null 2>&1 || true
	"$LAB" down "$NC" >/dev/null 2>&1 || true
	rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

[ -x "$PROG" ] || fail "no $PROG: build the test_provision_lab target"
command -v docker >/dev/null || fail "no docker client"

ssh-keygen -q -t ed25519 -N '' -f "$T/key"
STORE="$T/store"

# provision NAME IP USER OP [VAR=VALUE...]: runs the C driver.
run() {
	local name=$1 ip=$2 user=$3 op=$4
	shift 4
	env MFS_LAB=1 LAB_IP="$ip" LAB_USER="$user" LAB_KEY="$T/key" \
		LAB_STORE="$STORE" LAB_NAME="$name" LAB_OP="$op" "$@" "$PROG" \
		>"$T/out" 2>&1 || { cat "$T/out"; fail "$op of $name on $ip"; }
	tail -n 1 "$T/out" | grep -q ' 0 failed' || { cat "$T/out"; fail "$op of $name"; }
	cat "$T/out"
}

dk() {
	local ip=$1
	shift
	docker --tlsverify --tlscacert "$STORE/certs/ca.pem" --tlscert "$STORE/certs/cert.pem" \
		--tlskey "$STORE/certs/key.pem" -H "tcp://$ip:2376" "$@"
}

step "lab hosts up"
IPA=$("$LAB" up "$NA" --flavour root --pubkey "$T/key.pub" | tail -n 1)
IPB=$("$LAB" up "$NB" --flavour sudo --pubkey "$T/key.pub" | tail -n 1)
SUDO_USER_B=${LAB_SUDO_USER:-$("$LAB" user "$NB" 2>/dev/null || echo machine)}
echo "A=$IPA B=$IPB (sudo user $SUDO_USER_B)"

# The lab host reaches us on the .1 end of its link.
HTTP_IP=${IPA%.*}.1
mkdir -p "$T/www"
cat >"$T/www/install.sh" <<'SH'
#!/bin/sh
set -e
if [ -e /usr/sbin/dockerd.hidden ]; then mv /usr/sbin/dockerd.hidden /usr/sbin/dockerd; fi
date > /root/installed-by-url
SH
HTTP_PORT=$((20000 + RANDOM % 20000))
python3 -m http.server --bind "$HTTP_IP" --directory "$T/www" "$HTTP_PORT" >"$T/http.log" 2>&1 &
HTTP_PID=$!
for _ in $(seq 50); do curl -fsS "http://$HTTP_IP:$HTTP_PORT/install.sh" >/dev/null 2>&1 && break; sleep 0.1; done
URL="http://$HTTP_IP:$HTTP_PORT/install.sh"

step "A: no dockerd and engine-install-url none: clear error"
"$LAB" exec "$NA" mv /usr/sbin/dockerd /usr/sbin/dockerd.hidden
run web-a "$IPA" root provision LAB_INSTALL_URL=none \
	LAB_EXPECT="docker is not installed on '$IPA' and engine-install-url is 'none'"

step "A: provision installs from the URL, sysvinit config"
run web-a "$IPA" root provision LAB_INSTALL_URL="$URL" LAB_LABELS="env=test,team=blue" \
	LAB_INSECURE="10.213.99.1:5000" LAB_TLS_SAN="web-a.example"
"$LAB" exec "$NA" test -f /root/installed-by-url || fail "install URL did not run"
"$LAB" exec "$NA" grep -q "^DOCKERD='/etc/docker/machinefs-dockerd-exec.sh'$" /etc/default/docker || fail "no /etc/default/docker"
"$LAB" exec "$NA" grep -q -- "'--label' 'provider=generic'" /etc/docker/machinefs-dockerd-exec.sh || fail "no dockerd exec script"
info=$(dk "$IPA" info --format '{{.Name}}|{{json .Labels}}|{{json .RegistryConfig.IndexConfigs}}')
echo "$info"
[ "${info%%|*}" = web-a ] || fail "docker info Name is not web-a: $info"
for l in '"env=test"' '"team=blue"' '"provider=generic"'; do
	grep -qF "$l" <<<"$info" || fail "label $l missing: $info"
done
grep -qF '10.213.99.1:5000' <<<"$info" || fail "insecure registry missing: $info"
[ "$("$LAB" exec "$NA" cat /etc/hostname)" = web-a ] || fail "/etc/hostname"
"$LAB" exec "$NA" grep -q '^127.0.1.1 web-a$' /etc/hosts || fail "/etc/hosts"
openssl x509 -in "$STORE/machines/web-a/server.pem" -noout -text | grep -q "IP Address:$IPA" || fail "SAN ip"
openssl x509 -in "$STORE/machines/web-a/server.pem" -noout -text | grep -q "DNS:web-a.example" || fail "SAN tls-san"

step "A: regenerate-certs"
before=$(sha256sum <"$STORE/machines/web-a/server.pem")
run web-a "$IPA" root regenerate-certs LAB_INSTALL_URL="$URL"
after=$(sha256sum <"$STORE/machines/web-a/server.pem")
[ "$before" != "$after" ] || fail "server.pem unchanged"
"$LAB" exec "$NA" cat /etc/docker/server.pem | cmp - "$STORE/machines/web-a/server.pem" || fail "remote server.pem differs"
[ "$(dk "$IPA" info --format '{{.Name}}')" = web-a ] || fail "docker after regenerate-certs"

step "A: upgrade through the install URL"
"$LAB" exec "$NA" rm -f /root/installed-by-url
run web-a "$IPA" root upgrade LAB_INSTALL_URL="$URL"
"$LAB" exec "$NA" test -f /root/installed-by-url || fail "upgrade did not run the install URL"
dk "$IPA" version --format '{{.Server.Version}}' || fail "docker after upgrade"

step "A: a bad engine-opt: dockerd keeps dying, a clear error soon, provision again mends it"
t0=$SECONDS
run web-a "$IPA" root provision LAB_OPTS="no-such-flag=1" \
	LAB_EXPECT_SUB="docker on '$IPA' does not stay up: engine log: |no-such-flag"
[ $((SECONDS - t0)) -lt 60 ] || fail "the bad engine-opt took $((SECONDS - t0)) s to be reported"
step "A: cancel while the engine is awaited"
run web-a "$IPA" root provision LAB_OPTS="no-such-flag=1" LAB_CANCEL_MS=2500
grep -q '^result: -125 ' "$T/out" || fail "not cancelled"
run web-a "$IPA" root provision
[ "$(dk "$IPA" info --format '{{.Name}}')" = web-a ] || fail "docker after the mended provision"

step "B: sudo user, no init script: supervised dockerd"
"$LAB" exec "$NB" rm -f /etc/init.d/docker
run web-b "$IPB" "$SUDO_USER_B" provision LAB_LABELS="flavour=sudo" LAB_ENV="MFS_MARK=1"
grep -q 'Setting Docker configuration on the remote daemon (none)' "$T/out" || fail "not the none init path"
[ "$(dk "$IPB" info --format '{{.Name}}')" = web-b ] || fail "docker info Name is not web-b"
dk "$IPB" info --format '{{json .Labels}}' | grep -qF '"flavour=sudo"' || fail "label on B"
"$LAB" exec "$NB" test -s /var/run/machinefs-dockerd.pid || fail "no supervisor pid file"
"$LAB" exec "$NB" sh -c 'tr "\0" "\n" < /proc/$(cat /var/run/docker.pid)/environ' | grep -qx MFS_MARK=1 \
	|| fail "engine-env not in dockerd's environment"
pid=$("$LAB" exec "$NB" cat /var/run/docker.pid)
"$LAB" exec "$NB" kill -9 "$pid"
ok=
for _ in $(seq 60); do
	if dk "$IPB" info --format '{{.Name}}' >/dev/null 2>&1; then ok=1; break; fi
	sleep 1
done
[ -n "$ok" ] || fail "dockerd not started again after kill -9"
[ "$("$LAB" exec "$NB" cat /var/run/docker.pid)" != "$pid" ] || fail "same dockerd pid"

step "B: provision again (restart of the supervised engine)"
run web-b "$IPB" "$SUDO_USER_B" provision
[ "$("$LAB" exec "$NB" sh -c 'pgrep -c -x dockerd')" = 1 ] || fail "more than one dockerd"

step "B: reboot: /etc/rc.local starts the supervised engine again"
"$LAB" exec "$NB" grep -q '# machinefs-dockerd$' /etc/rc.local || fail "no boot hook in /etc/rc.local"
[ "$("$LAB" exec "$NB" grep -c '# machinefs-dockerd$' /etc/rc.local)" = 1 ] || fail "boot hook added twice"
"$LAB" exec "$NB" touch /run/mfs-before-reboot
"$LAB" exec "$NB" reboot >/dev/null 2>&1 || true
sleep 2
ok=
for _ in $(seq 90); do
	if [ "$(dk "$IPB" info --format '{{.Name}}' 2>/dev/null)" = web-b ]; then ok=1; break; fi
	sleep 1
done
[ -n "$ok" ] || fail "docker did not come back after a reboot"
"$LAB" exec "$NB" test ! -e /run/mfs-before-reboot || fail "the host did not reboot"

step "B: unknown operating system"
"$LAB" exec "$NB" sh -c 'rm -f /etc/os-release && printf "ID=plan9\nPRETTY_NAME=\"Plan 9 from Bell Labs\"\n" > /etc/os-release'
run web-b "$IPB" "$SUDO_USER_B" provision \
	LAB_EXPECT="unknown operating system 'plan9' (Plan 9 from Bell Labs): no provisioner for it"

step "B: sudo wants a password"
"$LAB" exec "$NB" sh -c 'for f in /etc/sudoers /etc/sudoers.d/*; do [ -f "$f" ] && sed -i "s/NOPASSWD: *//" "$f"; done; true'
run web-b "$IPB" "$SUDO_USER_B" provision \
	LAB_EXPECT="sudo on '$IPB' needs a password: allow passwordless sudo for '$SUDO_USER_B'"

step "C: a host like the guest image: boot2docker profile"
IPC=$("$LAB" up "$NC" --flavour sudo --pubkey "$T/key.pub" | tail -n 1)
G="$SRCDIR/tools/guest-image/rootfs"
# The host has its own /tmp (the source may live there): copy through stdin.
"$LAB" exec "$NC" sh -c 'cat > /etc/init.d/docker' < "$G/etc/init.d/docker"
"$LAB" exec "$NC" sh -c 'cat > /usr/bin/sethostname' < "$G/usr/bin/sethostname"
"$LAB" exec "$NC" sh -c "chmod 0755 /etc/init.d/docker /usr/bin/sethostname && rm -f /etc/os-release && printf 'NAME=\"machinefs guest\"\nID=machinefs-guest\nID_LIKE=boot2docker\nVERSION_ID=1\n' > /etc/os-release"
run web-c "$IPC" "$SUDO_USER_B" provision LAB_LABELS="kind=guest" LAB_PROVISIONER=boot2docker
grep -q 'Provisioning with boot2docker' "$T/out" || fail "not the boot2docker provisioner"
"$LAB" exec "$NC" grep -qx -- '--label kind=guest' /var/lib/boot2docker/profile || fail "profile lacks the label"
"$LAB" exec "$NC" test -s /var/lib/boot2docker/server-key.pem || fail "no server key in /var/lib/boot2docker"
"$LAB" exec "$NC" grep -qx web-c /var/lib/boot2docker/etc/hostname || fail "sethostname not used"
info=$(dk "$IPC" info --format '{{.Name}}|{{json .Labels}}')
[ "${info%%|*}" = web-c ] || fail "docker info Name is not web-c: $info"
grep -qF '"kind=guest"' <<<"$info" || fail "label on C: $info"
run web-c "$IPC" "$SUDO_USER_B" regenerate-certs
"$LAB" exec "$NC" cat /var/lib/boot2docker/server.pem | cmp - "$STORE/machines/web-c/server.pem" || fail "remote server.pem differs on C"
[ "$(dk "$IPC" info --format '{{.Name}}')" = web-c ] || fail "docker on C after regenerate-certs"
run web-c "$IPC" "$SUDO_USER_B" upgrade \
	LAB_EXPECT="cannot upgrade docker on '$IPC' over ssh: a boot2docker host gets a newer engine with a new image from its driver"

echo "PASS"
