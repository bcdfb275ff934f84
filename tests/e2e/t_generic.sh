#!/usr/bin/env bash
# The generic driver end to end through the mount, on real lab hosts (real
# sshd, real dockerd, the real docker client over TLS):
#   mkdir + options + `echo generic > driver` -> `. env; docker info/run`,
#   `docker $(cat config) version`, ssh/ files and the pinned host key,
#   regenerate-certs, provision, a changed host key refused, a sudo user,
#   rmdir leaves the host alone.
. "$SRCDIR/tests/fs/lib.sh"
LAB=$SRCDIR/tests/lab/lab.sh
NA=${LAB_GEN_A:-101}
NB=${LAB_GEN_B:-102}
lab_down() { "$LAB" down "$NA" >/dev/null 2>&1; "$LAB" down "$NB" >/dev/null 2>&1; }
trap 'cleanup; lab_down' EXIT

ssh-keygen -q -t ed25519 -N '' -f "$T/key"
IPA=$("$LAB" up "$NA" --flavour root --pubkey "$T/key.pub" </dev/null 2>"$T/lab.err" | tail -n 1)
[ -n "$IPA" ] || { cat "$T/lab.err"; echo "lab host $NA did not start"; exit 1; }
mount_fs
M=$MNT/web

mkdir $M
put $M/options/generic-ip-address "$IPA"
put $M/options/generic-ssh-key "$T/key"
put $M/options/engine-label "team=infra"
put $M/options/tls-san "web.example"
put $M/options/engine-insecure-registry "10.213.250.1:5000"
start=$(date +%s)
if put $M/driver generic; then ok; else
	fail "create: $(cat $M/error)"; cat $M/log; finish; exit 1
fi
echo "create took $(( $(date +%s) - start )) s"
expect_eq state "$(cat $M/state)" "Running"
expect_eq url "$(cat $M/url)" "tcp://$IPA:2376"
expect_eq error "$(cat $M/error)" ""
grep -q "Provisioning" $M/log && ok || fail "log lacks provisioning steps"

# The docker client with the env, and with the config flags.
name=$( . $M/env && docker info --format '{{.Name}}' )
expect_eq "docker info name" "$name" "web"
labels=$( . $M/env && docker info --format '{{json .Labels}}' )
case "$labels" in *provider=generic*team=infra*|*team=infra*provider=generic*) ok ;; *) fail "labels: $labels" ;; esac
regs=$( . $M/env && docker info --format '{{json .RegistryConfig.IndexConfigs}}' )
case "$regs" in *'"10.213.250.1:5000"'*) ok ;; *) fail "insecure registry: $regs" ;; esac
docker $(cat $M/config) version --format '{{.Server.Version}}' >/dev/null && ok || fail "docker \$(cat config) version"
expect_eq "docker-version file" "$(cat $M/docker-version)" "$(regs=$( . $M/env && docker info --format '{{json .RegistryConfig.IndexConfigs}}' )
case "$regs" in *'"10.213.250.1:5000"'*) ok ;; *) fail "insecure registry: $regs" ;; esac
docker $(cat $M/config) version --format '{{.Server.Version}}')"

# A tiny image imported over TLS, then run.
mkdir -p $T/rootfs/bin && cp /bin/busybox $T/rootfs/bin/ && ln -s busybox $T/rootfs/bin/sh
tar -C $T/rootfs -cf $T/rootfs.tar .
( . $M/env && docker import $T/rootfs.tar mfs-busybox >/dev/null ) && ok || fail "docker import"
out=$( . $M/env && docker run --rm mfs-busybox /bin/busybox echo hi )
expect_eq "docker run" "$out" "hi"

# The server certificate names the IP, localhost and the extra SAN.
openssl x509 -in $STORE/machines/web/server.pem -noout -ext subjectAltName > $T/san
grep -q "IP Address:$IPA" $T/san && grep -q "DNS:localhost" $T/san && grep -q "DNS:web.example" $T/san && ok || fail "SANs: $(cat $T/san)"

# ssh/: key, user, port, host, the pinned host key.
expect_eq "ssh/user" "$(cat $M/ssh/user)" "root"
expect_eq "ssh/port" "$(cat $M/ssh/port)" "22"
expect_eq "ssh/host" "$(cat $M/ssh/host)" "$IPA"
cmp -s $M/ssh/key $T/key && ok || fail "ssh/key"
expect_eq "ssh/key mode" "$(stat -c %a $M/ssh/key)" "400"
expect_eq "stored key mode" "$(stat -c %a $STORE/machines/web/id_rsa)" "600"
ssh -o UserKnownHostsFile=$M/ssh/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes \
	-i $M/ssh/key root@$IPA hostname > $T/hn 2>&1 && ok || fail "ssh with the pinned key: $(cat $T/hn)"
expect_eq "hostname set" "$(cat $T/hn)" "web"

# regenerate-certs: a new server cert, the same env still works.
before=$(md5sum < $STORE/machines/web/server.pem)
put $M/ctl regenerate-certs && ok || fail "regenerate-certs: $(cat $M/error)"
[ "$before" != "$(md5sum < $STORE/machines/web/server.pem)" ] && ok || fail "server cert unchanged"
( . $M/env && docker info >/dev/null ) && ok || fail "docker after regenerate-certs"
put $M/ctl provision && ok || fail "provision: $(cat $M/error)"
( . $M/env && docker run --rm mfs-busybox /bin/busybox true ) && ok || fail "docker after provision"

# restart: a reboot over SSH; the engine answers again afterwards.
put $M/ctl restart && ok || fail "restart: $(cat $M/error)"
expect_eq "state after restart" "$(cat $M/state)" "Running"
( . $M/env && docker run --rm mfs-busybox /bin/busybox echo back ) > $T/back 2>&1
expect_eq "docker after restart" "$(cat $T/back)" "back"

# Lifecycle commands the generic driver lacks.
expect_errno ENOTSUP put $M/ctl stop
case "$(cat $M/error)" in "generic driver does not support stop") ok ;; *) fail "stop: $(cat $M/error)" ;; esac

# The host comes back with another host key: refused, naming both.
"$LAB" down "$NA" >/dev/null 2>&1
"$LAB" up "$NA" --flavour root --pubkey "$T/key.pub" </dev/null >/dev/null 2>&1
expect_errno EKEYREJECTED put $M/ctl provision
case "$(cat $M/error)" in *SHA256:*SHA256:*) ok ;; *) fail "changed host key: $(cat $M/error)" ;; esac

# rmdir: the record goes, the host stays.
rmdir $M && ok || fail "rmdir: $?"
[ ! -e $STORE/machines/web ] && ok || fail "record left"
"$LAB" status "$NA" >/dev/null && ok || fail "host removed by rm"

# A non-root user with passwordless sudo.
IPB=$("$LAB" up "$NB" --flavour sudo --pubkey "$T/key.pub" </dev/null 2>>"$T/lab.err" | tail -n 1)
USERB=$("$LAB" user "$NB" 2>/dev/null || echo machine)
mkdir $MNT/sudo1
put $MNT/sudo1/options/generic-ip-address "$IPB"
put $MNT/sudo1/options/generic-ssh-key "$T/key"
put $MNT/sudo1/options/generic-ssh-user "$USERB"
put $MNT/sudo1/driver generic && ok || { fail "sudo create: $(cat $MNT/sudo1/error)"; tail -20 $MNT/sudo1/log; }
( . $MNT/sudo1/env && docker info --format '{{.Name}}' ) > $T/n2 2>&1
expect_eq "sudo host docker" "$(cat $T/n2)" "sudo1"

# Clear errors: an unreachable address (bounded), a key the host refuses,
# a key file that is not there.
ssh-keygen -q -t ed25519 -N '' -f "$T/other"
mkdir $MNT/u1 $MNT/u2 $MNT/u3
put $MNT/u1/options/generic-ip-address 10.213.250.2
put $MNT/u1/options/generic-ssh-key "$T/key"
start=$(date +%s)
expect_errno EHOSTUNREACH put $MNT/u1/driver generic
[ $(( $(date +%s) - start )) -lt 60 ] && ok || fail "unreachable host took too long"
case "$(cat $MNT/u1/error)" in *"10.213.250.2"*) ok ;; *) fail "unreachable: $(cat $MNT/u1/error)" ;; esac
expect_eq "unreachable state" "$(cat $MNT/u1/state)" "Error"
put $MNT/u2/options/generic-ip-address "$IPB"
put $MNT/u2/options/generic-ssh-user "$USERB"
put $MNT/u2/options/generic-ssh-key "$T/other"
expect_errno EACCES put $MNT/u2/driver generic
case "$(cat $MNT/u2/error)" in *refused*) ok ;; *) fail "wrong key: $(cat $MNT/u2/error)" ;; esac
put $MNT/u3/options/generic-ip-address "$IPB"
put $MNT/u3/options/generic-ssh-key "$T/nosuchkey"
expect_errno ENOENT put $MNT/u3/driver generic
case "$(cat $MNT/u3/error)" in "cannot read SSH key '$T/nosuchkey'"*) ok ;; *) fail "missing key: $(cat $MNT/u3/error)" ;; esac
rmdir $MNT/u1 $MNT/u2 $MNT/u3 && ok || fail "rmdir of failed machines"

# kill -9 of the daemon mid-provision; mounted again the machine shows
# Error with the reason, and `echo provision > ctl` finishes it.
mkdir $MNT/k9
put $MNT/k9/options/generic-ip-address "$IPA"
put $MNT/k9/options/generic-ssh-key "$T/key"
rm -f $STORE/machines/k9/known_hosts
put $MNT/k9/driver generic 2>/dev/null &
w=$!
for _ in $(seq 200); do grep -q "Detecting\|Provisioning" $MNT/k9/log 2>/dev/null && break; sleep 0.05; done
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
wait $w 2>/dev/null
fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"
mount_fs
expect_eq "state after kill -9 mid-provision" "$(cat $MNT/k9/state)" "Error"
case "$(cat $MNT/k9/error)" in "'create' was interrupted"*) ok ;; *) fail "k9 error: $(cat $MNT/k9/error)" ;; esac
put $MNT/k9/ctl provision && ok || fail "provision after kill -9: $(cat $MNT/k9/error)"
expect_eq "state after provision" "$(cat $MNT/k9/state)" "Running"
( . $MNT/k9/env && docker info --format '{{.Name}}' ) > $T/k9 2>&1
expect_eq "docker after the finished create" "$(cat $T/k9)" "k9"
rmdir $MNT/k9 $MNT/sudo1

# Several machines created at once on several hosts.
NC=${LAB_GEN_C:-103}
trap 'cleanup; lab_down; "$LAB" down "$NC" >/dev/null 2>&1' EXIT
IPC=$("$LAB" up "$NC" --flavour root --pubkey "$T/key.pub" </dev/null 2>>"$T/lab.err" | tail -n 1)
for x in p1:$IPA:root p2:$IPB:$USERB p3:$IPC:root; do
	IFS=: read -r n ip u <<<"$x"
	mkdir $MNT/$n
	put $MNT/$n/options/generic-ip-address "$ip"
	put $MNT/$n/options/generic-ssh-key "$T/key"
	put $MNT/$n/options/generic-ssh-user "$u"
	rm -f $STORE/machines/$n/known_hosts
done
start=$(date +%s)
pids=()
for n in p1 p2 p3; do put $MNT/$n/driver generic & pids+=($!); done
for p in "${pids[@]}"; do wait $p && ok || fail "a parallel create failed"; done
echo "three creates at once took $(( $(date +%s) - start )) s"
for n in p1 p2 p3; do
	expect_eq "$n state" "$(cat $MNT/$n/state)" "Running"
	( . $MNT/$n/env && docker info --format '{{.Name}}' ) > $T/pn 2>&1
	expect_eq "$n docker" "$(cat $T/pn)" "$n"
done
finish
