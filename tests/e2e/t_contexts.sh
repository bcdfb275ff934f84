#!/usr/bin/env bash
# A Docker context per machine (-o contexts), with the real docker CLI and
# a generic machine on a lab host: `docker --context NAME info` reaches the
# machine's engine, `docker context ls` lists it, regenerate-certs keeps it
# working, a remount puts back a missing one, a context of the same name
# not made by machinefs is never touched, and rmdir removes ours.
. "$SRCDIR/tests/fs/lib.sh"
LAB=$SRCDIR/tests/lab/lab.sh
N=${LAB_CTX_N:-175}
trap 'cleanup; "$LAB" down "$N" >/dev/null 2>&1' EXIT
export DOCKER_CONFIG=$T/dockercfg
mkdir -p "$DOCKER_CONFIG"
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH

ssh-keygen -q -t ed25519 -N '' -f "$T/key"
IP=$("$LAB" up "$N" --flavour root --pubkey "$T/key.pub" </dev/null 2>"$T/lab.err" | tail -n 1)
[ -n "$IP" ] || { cat "$T/lab.err"; echo "lab host $N did not start"; exit 1; }

# Someone's own context, named like a machine-to-be.
docker context create theirs --docker host=tcp://127.0.0.1:9 >/dev/null && ok || fail "docker context create"
theirs_before=$(docker context inspect theirs)

mount_fs "$STORE" -o contexts
mkdir "$MNT/web"
put "$MNT/web/options/generic-ip-address" "$IP"
put "$MNT/web/options/generic-ssh-key" "$T/key"
put "$MNT/web/driver" generic || { fail "create: $(cat "$MNT/web/error")"; finish; exit 1; }

expect_eq "docker --context web info" "$(docker --context web info --format '{{.Name}}' 2>&1)" web
docker context ls --format '{{.Name}}' >"$T/ls"
grep -qx web "$T/ls" && ok || fail "docker context ls lacks web: $(cat "$T/ls")"
expect_eq "context host" "$(docker context inspect web --format '{{.Endpoints.docker.Host}}')" "$(cat "$MNT/web/url")"
id=$(printf %s web | sha256sum | cut -d' ' -f1)
expect_eq "TLS key mode" "$(stat -c %a "$DOCKER_CONFIG/contexts/tls/$id/docker/key.pem")" 600
ls "$DOCKER_CONFIG"/contexts/meta/"$id" | grep -q tmp && fail "temp file left in the context" || ok

put "$MNT/web/ctl" regenerate-certs || fail "regenerate-certs: $(cat "$MNT/web/error")"
expect_eq "after regenerate-certs" "$(docker --context web info --format '{{.Name}}' 2>&1)" web

# A machine named like someone's context: theirs stays theirs.
mkdir "$MNT/theirs"
put "$MNT/theirs/options/url" "tcp://$IP:2376"
put "$MNT/theirs/driver" none || fail "none create: $(cat "$MNT/theirs/error")"
expect_eq "their context untouched" "$(docker context inspect theirs)" "$theirs_before"
grep -q "docker context 'theirs' not updated" "$STORE/machines/theirs/machinefs.log" && ok ||
	fail "no log line about their context"

# Remount: a context that went missing comes back.
umount_fs
rm -rf "$DOCKER_CONFIG/contexts/meta/$id" "$DOCKER_CONFIG/contexts/tls/$id"
mount_fs "$STORE" -o contexts
expect_eq "context back after remount" "$(docker --context web info --format '{{.Name}}' 2>&1)" web

rmdir "$MNT/web" || fail "rmdir web: $(cat "$MNT/web/error" 2>/dev/null)"
docker context ls --format '{{.Name}}' | grep -qx web && fail "context web still listed after rmdir" || ok
[ -e "$DOCKER_CONFIG/contexts/meta/$id" ] || [ -e "$DOCKER_CONFIG/contexts/tls/$id" ] &&
	fail "context folders left after rmdir" || ok
rmdir "$MNT/theirs" || fail "rmdir theirs"
expect_eq "their context kept after rmdir" "$(docker context inspect theirs)" "$theirs_before"

# Without -o contexts nothing is written.
mkdir "$MNT/plain"
put "$MNT/plain/options/url" "tcp://$IP:2376"
umount_fs
mount_fs "$STORE"
put "$MNT/plain/driver" none || fail "none create"
docker context ls --format '{{.Name}}' | grep -qx plain && fail "context made without -o contexts" || ok
finish
