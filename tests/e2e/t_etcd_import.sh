#!/usr/bin/env bash
# Import and export (issue 14): a local store (Docker Machine's layout,
# one machine made by the generic driver on lab host 186, one by none, a
# file with an unusual mode) copied into etcd with `machinefs --import`,
# back with `--export`: the same files with the same modes. A mount of
# the etcd store, up before the import, shows the machines and uses them
# (`. env && docker info`, regenerate-certs signed by the imported CA).
# Machines already there are refused unless --force; a mounted store is
# not exported into.
. "$SRCDIR/tests/fs/lib.sh"
. "$SRCDIR/tests/e2e/etcd_lib.sh"
LAB=$SRCDIR/tests/lab/lab.sh
N=${LAB_ETCD_IMPORT:-186}
trap 'stop_all; cleanup; "$LAB" down "$N" >/dev/null 2>&1' EXIT

ssh-keygen -q -t ed25519 -N '' -f "$T/key"
IP=$("$LAB" up "$N" --flavour root --pubkey "$T/key.pub" </dev/null 2>"$T/lab.err" | tail -n 1)
[ -n "$IP" ] || { cat "$T/lab.err"; echo "lab host $N did not start"; exit 1; }
cluster_start
SPEC="etcd://$EPS/team-$$"
etcd_rev() { etcdctl --endpoints "$EPS" get / -w fields | awk '/^"Revision"/ {print $3}'; }

# The local store: two machines made through a plain mount.
mount_fs
mkdir $MNT/web $MNT/n1
put $MNT/web/options/generic-ip-address "$IP"
put $MNT/web/options/generic-ssh-key "$T/key"
put $MNT/n1/options/url tcp://127.0.0.1:2376
put $MNT/web/driver generic && ok || { fail "create web: $(cat $MNT/web/error)"; finish; exit 1; }
put $MNT/n1/driver none && ok || fail "create n1: $(cat $MNT/n1/error)"
umount_fs
# Modes: a certificate's is kept (0600 here); a secret is never more than
# its owner's (config.json, notes.txt: 0600 however they were).
chmod 600 $STORE/machines/n1/ca.pem
chmod 640 $STORE/machines/n1/config.json
echo "a note" > $STORE/machines/n1/notes.txt && chmod 604 $STORE/machines/n1/notes.txt

# Mounts of the (empty) etcd store, up before the import: b in the
# foreground, c as a daemon (its watch runs after fuse_daemonize's fork).
mount_at b "$SPEC"
B=$T/b
mkdir -p $T/c
"$MACHINEFS" -o "store=$SPEC,cache=$T/c.cache,refresh=100000" $T/c && ok || fail "daemonized mount c"
CPID=$(pgrep -f "cache=$T/c.cache,")

out=$("$MACHINEFS" --import "$STORE" -o "store=$SPEC" 2>&1) && ok || fail "import: $out"
expect_eq "import says" "$out" "imported 2 machines from '$STORE'"
rev=$(etcd_rev)
out=$("$MACHINEFS" --import "$STORE" -o "store=$SPEC" 2>&1) && fail "a second import succeeded" || ok
expect_eq "second import refused" "$out" \
	"machinefs: machine 'n1' and others are already in etcd: --force replaces them"
expect_eq "nothing written by the refused import" "$(etcd_rev)" "$rev"
case "$(etcdctl --endpoints "$EPS" get --prefix --keys-only "/team-$$/machines/web/")" in
*machinefs.log*) fail "the log went to etcd" ;; */web/config.json*/web/id_rsa*) ok ;;
*) fail "web's keys: $(etcdctl --endpoints "$EPS" get --prefix --keys-only "/team-$$/")" ;;
esac

# Live on the mount that was up: both machines, web usable.
until_true test -e $B/web/env && until_true test -e $B/n1/env && ok || fail "imported machines not on b: $(ls $B)"
until_true grep -qx Running $B/web/state && ok || fail "web on b: $(cat $B/web/state) $(cat $B/web/error)"
until_true test -e $T/c/web/env && ok || fail "imported machines not on the daemonized c: $(ls $T/c)"
fusermount3 -u $T/c
until_true bash -c "! kill -0 $CPID 2>/dev/null" || fail "c did not exit"
expect_eq "n1's url on b" "$(cat $B/n1/url)" "tcp://127.0.0.1:2376"
name=$( . $B/web/env && docker info --format '{{.Name}}' )
expect_eq "docker info through b's env" "$name" web

# Back: the same files, the same modes (the daemon's log stays local).
files() { (cd "$1" && find machines certs -type f ! -name machinefs.log ! -name machinefs.progress \
	-printf '%m %p\n' | sort); }
out=$("$MACHINEFS" --export "$T/out" "$SPEC" 2>&1) && ok || fail "export: $out"
expect_eq "export says" "$out" "exported 2 machines into '$T/out'"
expect_eq "files and modes after the round trip" "$(files $T/out)" \
	"$(files $STORE | sed 's|^6[04][04] \(machines/n1/config.json\)$|600 \1|; s|^6[04][04] \(machines/n1/notes.txt\)$|600 \1|' | sort)"
expect_eq "n1's ca.pem mode" "$(stat -c %a $T/out/machines/n1/ca.pem)" 600
expect_eq "n1's config.json mode" "$(stat -c %a $T/out/machines/n1/config.json)" 600
diff -r -x machinefs.log -x machinefs.progress -x machinefs.lock "$STORE" "$T/out" >"$T/diff" && ok ||
	fail "round trip differs: $(head -n 5 $T/diff)"
expect_eq "notes.txt mode" "$(stat -c %a $T/out/machines/n1/notes.txt)" 600
out=$("$MACHINEFS" --export "$T/out" "$SPEC" 2>&1) && fail "a second export succeeded" || ok
expect_eq "second export refused" "$out" "machinefs: machine 'n1' is already in '$T/out': --force replaces it"
echo changed > $T/out/machines/n1/notes.txt
out=$("$MACHINEFS" --export "$T/out" --force "$SPEC" 2>&1) && ok || fail "export --force: $out"
expect_eq "export --force replaced n1" "$(cat $T/out/machines/n1/notes.txt)" "a note"
# A store whose secrets are sealed (etcd-secrets-key): the import seals,
# the export with the key opens; without it, or with another, both refuse.
openssl rand -hex 32 >$T/k1 && openssl rand -hex 32 >$T/k2 && chmod 600 $T/k1 $T/k2
SEALED="etcd://$EPS/sealed-$$"
out=$("$MACHINEFS" --import "$STORE" -o "store=$SEALED,etcd-secrets-key=$T/k1" 2>&1) && ok || fail "sealed import: $out"
etcdctl --endpoints "$EPS" get --print-value-only "/sealed-$$/machines/web/id_rsa" | grep -q "PRIVATE KEY" &&
	fail "id_rsa in clear in etcd" || ok
out=$("$MACHINEFS" --export "$T/out2" -o "store=$SEALED,etcd-secrets-key=$T/k1" 2>&1) && ok || fail "sealed export: $out"
diff -r -x machinefs.lock "$T/out" "$T/out2" >"$T/diff" && ok || fail "sealed round trip differs: $(head -n 5 $T/diff)"
out=$("$MACHINEFS" --export "$T/out3" -o "store=$SEALED" 2>&1) && fail "sealed export without the key" || ok
expect_eq "sealed export without the key" "$out" \
	"machinefs: the store's secrets are encrypted: mount with -o etcd-secrets-key=FILE to use them"
[ -e "$T/out3/machines/web" ] && fail "sealed export without the key wrote web" || ok
out=$("$MACHINEFS" --import "$STORE" --force -o "store=$SEALED,etcd-secrets-key=$T/k2" 2>&1) &&
	fail "import with another key" || ok
expect_eq "import with another key" "$out" \
	"machinefs: the secrets key in '$T/k2' is not the key the store's secrets are encrypted with"

# Not into a store a daemon has mounted.
mount_fs
out=$("$MACHINEFS" --export "$STORE" --force "$SPEC" 2>&1) && fail "export into a mounted store" || ok
case "$out" in "machinefs: store '$STORE' is in use by another machinefs, mounted at '$MNT'") ok ;;
*) fail "export into a mounted store: $out" ;; esac
umount_fs

# --force: a changed local file replaces etcd's, seen by the mount.
echo "another note" > $STORE/machines/n1/notes.txt
out=$("$MACHINEFS" --import "$STORE" --force -o "store=$SPEC" 2>&1) && ok || fail "import --force: $out"
until_true grep -qx "another note" $T/b.cache/machines/n1/notes.txt && ok || fail "b did not get the new notes.txt"

# The imported CA signs: regenerate-certs on b, then docker again.
put $B/web/ctl regenerate-certs && ok || fail "regenerate-certs on b: $(cat $B/web/error)"
( . $B/web/env && docker info >/dev/null ) && ok || fail "docker after regenerate-certs on b"
expect_eq "the CA in etcd is the imported one" \
	"$(etcdctl --endpoints "$EPS" get --print-value-only "/team-$$/certs/ca.pem")" "$(cat $STORE/certs/ca.pem)"

out=$("$MACHINEFS" --import "$T/nothere" -o "store=$SPEC" 2>&1) && fail "import of no store" || ok
expect_eq "import of no store" "$out" "machinefs: '$T/nothere' is not a machine store: it has no machines/ folder"

stop_all
sanitizer_check b
finish
