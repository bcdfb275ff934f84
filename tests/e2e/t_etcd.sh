#!/usr/bin/env bash
# The store in etcd (issue 14): a real 3-member etcd cluster on loopback,
# three daemons on three mount points sharing store=etcd://.../PREFIX.
# A machine made on one appears on the others with the same files; rm on
# one removes it everywhere; one command per machine across daemons (the
# second gets EBUSY naming the holder); 20 concurrent creates spread over
# two mounts give 20 machines; a daemon killed mid-command loses its lock
# when its lease expires and the others show the command interrupted;
# etcd unreachable at mount is a clear error.
. "$SRCDIR/tests/fs/lib.sh"
. "$SRCDIR/tests/e2e/etcd_lib.sh"
trap 'stop_all; cleanup' EXIT

# The cluster: three members on 127.0.0.1.
cluster_start
ok
SPEC="etcd://$EPS/team-$$"

A=$T/a B=$T/b
mount_at a "$SPEC"
mount_at b "$SPEC"
mount_at c "$SPEC" MACHINEFS_FAULTS=create=sleep:8
CM=$T/c

# Made on A: on B with the same files.
mkdir $A/m1 && ok || fail "mkdir on a"
until_true test -d $B/m1 && ok || fail "m1 did not appear on b"
expect_errno EEXIST mkdir $B/m1
put $A/m1/options/url tcp://127.0.0.1:2376
put $A/m1/driver none && ok || fail "create on a: $(cat $A/m1/error)"
until_true grep -qx Running $B/m1/state && ok || fail "m1 not Running on b: $(cat $B/m1/state)"
expect_eq "driver on b" "$(cat $B/m1/driver)" none
expect_eq "url on b" "$(cat $B/m1/url)" "tcp://127.0.0.1:2376"
expect_eq "option on b" "$(cat $B/m1/options/url)" "tcp://127.0.0.1:2376"
for f in ca.pem cert.pem key.pem; do
	expect_eq "certs/$f same on both" "$(cat $B/m1/certs/$f)" "$(cat $A/m1/certs/$f)"
done
expect_eq "the store's CA is shared" "$(cat $T/b.cache/certs/ca.pem)" "$(cat $T/a.cache/certs/ca.pem)"
# env: the same but for the working copy's path.
envs() { grep -v DOCKER_CERT_PATH "$1/m1/env"; }
expect_eq "env on b" "$(envs $B)" "$(envs $A)"
( . $B/m1/env; expect_eq "DOCKER_HOST sourced on b" "$DOCKER_HOST" "tcp://127.0.0.1:2376"
  [ -f "$DOCKER_CERT_PATH/key.pem" ] && ok || fail "no key.pem in b's DOCKER_CERT_PATH" )
# Records in etcd, under the prefix.
keys=$(etcdctl --endpoints "$EPS" get --prefix --keys-only "/team-$$/machines/m1/" | grep . | sort | tr '\n' ' ')
case "$keys" in
*/m1/ca.pem*/m1/cert.pem*/m1/config.json*/m1/key.pem*/m1/machinefs.json*) ok ;;
*) fail "keys of m1 in etcd: $keys" ;;
esac
case "$keys" in *machinefs.log*) fail "the log is in etcd" ;; *) ok ;; esac

# rm on B: gone on A (and from etcd).
rmdir $B/m1 && ok || fail "rmdir on b: $(cat $B/m1/error 2>&1)"
until_true test ! -e $A/m1 && ok || fail "m1 still on a"
expect_eq "m1 keys left in etcd" "$(etcdctl --endpoints "$EPS" get --prefix --keys-only "/team-$$/machines/m1/")" ""

# The lock: a create running on C (slowed by a fault) holds the machine;
# B's command is refused with EBUSY naming C; A's view shows it running.
mkdir $A/r1
put $A/r1/options/url tcp://127.0.0.1:2376
until_true grep -q tcp $CM/r1/options/url || fail "r1 options not on c"
put $CM/r1/driver none &
cpid=$!
until_true bash -c "etcdctl --endpoints '$EPS' get --keys-only '/team-$$/locks/r1' | grep -q ." ||
	fail "c took no lock"
out=$(put $B/r1/ctl rm 2>&1) && fail "rm on b while c creates succeeded" || ok
case "$(cat $B/r1/log)" in *"busy: 'create' is running on "*"mount '$CM'"*) ok ;;
*) fail "b's refusal does not name c: $out / $(cat $B/r1/log)" ;; esac
until_true grep -qx Starting $A/r1/state && ok || fail "a does not show r1 starting: $(cat $A/r1/state) $(cat $A/r1/error)"
wait $cpid && ok || fail "create on c: $(cat $CM/r1/error)"
until_true grep -qx Running $B/r1/state && ok || fail "r1 not Running on b"
expect_eq "lock released" "$(etcdctl --endpoints "$EPS" get --keys-only "/team-$$/locks/r1")" ""

# Both at once on one machine: one wins, the other is refused.
mkdir $A/r2
put $A/r2/options/url tcp://127.0.0.1:2376
until_true grep -q tcp $B/r2/options/url
put $A/r2/driver none 2>"$T/ra" & pa=$!
put $B/r2/driver none 2>"$T/rb" & pb=$!
wa=0 wb=0
wait $pa || wa=1
wait $pb || wb=1
expect_eq "exactly one of two racing creates failed" "$((wa + wb))" 1
case "$(cat "$T/ra" "$T/rb")" in *busy*|*"File exists"*) ok ;; *) fail "race loser: $(cat "$T/ra" "$T/rb")" ;; esac
until_true grep -qx Running $A/r2/state && ok || fail "r2 not Running on a"
until_true grep -qx Running $B/r2/state && ok || fail "r2 not Running on b"

# 20 creates at once, spread over A and B: 20 machines on every mount.
jp=()
for i in $(seq -w 1 20); do
	if [ $((10#$i % 2)) -eq 0 ]; then D=$A; else D=$B; fi
	( mkdir $D/p$i && put $D/p$i/options/url tcp://127.0.0.1:2376 && put $D/p$i/driver none ) \
		>"$T/p$i.out" 2>&1 &
	jp+=($!)
done
failed=0
for j in "${jp[@]}"; do wait "$j" || failed=$((failed + 1)); done
expect_eq "concurrent creates that failed" "$failed" 0
count() { ls "$1" | grep -c '^p'; }
running() { grep -lx Running "$1"/p*/state 2>/dev/null | wc -l; }
all_running() { [ "$(running "$1")" -eq 20 ]; }
for D in $A $B $CM; do
	until_true all_running $D && ok || fail "$D: $(running $D) of 20 running"
	expect_eq "machines on $D" "$(count $D)" 20
done
expect_eq "records in etcd" \
	"$(etcdctl --endpoints "$EPS" get --prefix --keys-only "/team-$$/machines/" | grep -c '/machinefs.json$')" 22

# A daemon killed mid-command: its lease expires, the lock goes, and the
# others show the command interrupted; the machine takes commands again.
mkdir $A/k1
put $A/k1/options/url tcp://127.0.0.1:2376
until_true grep -q tcp $CM/k1/options/url
put $CM/k1/driver none 2>/dev/null &
# Killed only once c's record says the command runs: a daemon killed
# between taking the lock and recording its command interrupted nothing.
until_true bash -c "etcdctl --endpoints '$EPS' get --print-value-only '/team-$$/machines/k1/machinefs.json' |
	grep -q '\"Busy\":[[:space:]]*\"create\"'" || fail "c did not record k1's create"
kill -9 "${PIDS[2]}"
wait "${PIDS[2]}" 2>/dev/null
until_true grep -q "'create' was interrupted" $A/k1/error && ok ||
	fail "a does not show k1 interrupted: $(cat $A/k1/state) $(cat $A/k1/error)"
expect_eq "k1 state on a" "$(cat $A/k1/state)" Error
put $A/k1/ctl rm && ok || fail "rm of the interrupted k1 on a: $(cat $A/k1/error)"
fusermount3 -u "$CM" 2>/dev/null || umount -l "$CM"

# etcd unreachable at mount: a clear one-line error, no mount.
mkdir -p $T/x
out=$(timeout 30 "$MACHINEFS" -f -o "store=etcd://127.0.0.1:1/team-$$,cache=$T/x.cache" $T/x 2>&1) &&
	fail "mount with etcd unreachable succeeded" || ok
case "$out" in "machinefs: cannot reach etcd at '127.0.0.1:1': "*) ok ;; *) fail "unreachable: $out" ;; esac
mountpoint -q $T/x && fail "x is mounted" || ok

stop_all
for n in a b c; do
	if grep -E "AddressSanitizer|LeakSanitizer|runtime error:" "$T/$n.log" >/dev/null; then
		fail "daemon $n reported errors:"; cat "$T/$n.log"
	fi
done
echo "$PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
