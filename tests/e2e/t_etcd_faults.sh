#!/usr/bin/env bash
# Faults of the store in etcd (issue 14), on a real 3-member cluster on
# loopback, daemons with a 6 s lease (MACHINEFS_ETCD_TTL):
#  - a member killed mid-command: the command completes or fails cleanly,
#    every mount agrees, no lock is left;
#  - the whole cluster killed mid-command: the command fails with a
#    one-line error, the mount stays readable meanwhile, and once etcd is
#    back nothing is half-written, the lock is released, mounts agree;
#  - a partition (one daemon's only endpoint a socat proxy, SIGSTOPped):
#    its command is cancelled before its lease can expire, then the other
#    daemon takes the machine; the partitioned daemon's late writes are
#    refused (the machine removed meanwhile stays removed); it works again;
#  - lease loss (a daemon SIGSTOPped past its lease): its lock goes, its
#    command's writes are fenced after SIGCONT, then it works again.
. "$SRCDIR/tests/fs/lib.sh"
. "$SRCDIR/tests/e2e/etcd_lib.sh"
trap 'stop_all; [ -n "${PROXY:-}" ] && { kill -CONT -- -$PROXY; kill -- -$PROXY; } 2>/dev/null; cleanup' EXIT

cluster_start
SPEC="etcd://$EPS/faults-$$"
TTL=6
lock_held() { etcdctl --endpoints "$EPS" get --keys-only "/faults-$$/locks/$1" | grep -q .; }
no_lock() { ! lock_held "$1"; }
keys_of() { etcdctl --endpoints "$EPS" get --prefix --keys-only "/faults-$$/machines/$1/" | grep .; }
# Every record in etcd is whole JSON (no half-written transaction).
records_whole() {
	etcdctl --endpoints "$EPS" get --prefix "/faults-$$/machines/" -w json | python3 -c '
import base64, json, sys
for kv in json.load(sys.stdin).get("kvs", []):
    k = base64.b64decode(kv["key"]).decode()
    if k.endswith(".json"):
        json.loads(base64.b64decode(kv.get("value", "")))
' 2>&1
}
same_state() { [ "$(cat $1/$3/state 2>&1)" == "$(cat $2/$3/state 2>&1)" ]; }

# a: slow creates (5 s); b: plain; p (later): through a proxy.
mount_at a "$SPEC" MACHINEFS_ETCD_TTL=$TTL MACHINEFS_FAULTS=create=sleep:5
mount_at b "$SPEC" MACHINEFS_ETCD_TTL=$TTL
A=$T/a B=$T/b
APID=${PIDS[0]}

new_machine() { # new_machine NAME: made on b, seen on a
	mkdir $B/$1 && put $B/$1/options/url tcp://127.0.0.1:2376 &&
		until_true grep -q tcp $A/$1/options/url
}

# 1. A member killed mid-command: the cluster (2 of 3) carries on.
new_machine f1 || fail "f1 not made"
put $A/f1/driver none 2>$T/f1.err & cp=$!
until_true lock_held f1 || fail "a took no lock on f1"
member_kill 1
if wait $cp; then
	ok
	until_true grep -qx Running $B/f1/state && ok || fail "f1 on b: $(cat $B/f1/state) $(cat $B/f1/error)"
else
	# Failing is clean too (a leader election meanwhile): one line, everywhere.
	expect_eq "f1's error lines" "$(wc -l <$A/f1/error)" 1
	until_true same_state $A $B f1 && ok || fail "f1: a $(cat $A/f1/state), b $(cat $B/f1/state)"
fi
until_true no_lock f1 && ok || fail "f1's lock left"
member_start 1
until_true cluster_healthy && ok || fail "member 1 did not rejoin"

# 2. The whole cluster killed mid-command.
new_machine f2 || fail "f2 not made"
put $A/f2/driver none 2>$T/f2.err & cp=$!
until_true lock_held f2 || fail "a took no lock on f2"
for i in 1 2 3; do member_kill $i; done
# Readable from the working copy meanwhile.
expect_eq "f1's state on a, etcd down" "$(cat $A/f1/state)" "$(cat $B/f1/state)"
expect_eq "f1's url on b, etcd down" "$(cat $B/f1/url)" "tcp://127.0.0.1:2376"
ls $A | grep -qx f2 && ok || fail "ls of a with etcd down: $(ls $A)"
wait $cp && fail "create of f2 succeeded with etcd down" || ok
expect_eq "f2's error is one line" "$(wc -l <$A/f2/error)" 1
echo "f2's error with etcd down: $(cat $A/f2/error)"
grep -q . $A/f2/error && ok || fail "f2 has no error"
for i in 1 2 3; do member_start $i; done
until_true cluster_healthy && ok || fail "the cluster did not come back"
until_true no_lock f2 && ok || fail "f2's lock left after etcd came back"
expect_eq "records in etcd are whole" "$(records_whole)" ""
until_true same_state $A $B f2 && ok || fail "f2: a $(cat $A/f2/state), b $(cat $B/f2/state)"
put $A/f2/ctl rm && ok || fail "rm of f2 on a after the outage: $(cat $A/f2/error)"
until_true test ! -e $B/f2 && ok || fail "f2 still on b"

# 3. A partition: p reaches etcd only through a proxy, then stopped.
PP=$(etcd_free_port)
setsid socat TCP-LISTEN:$PP,bind=127.0.0.1,reuseaddr,fork TCP:127.0.0.1:${C[2]} 2>/dev/null &
PROXY=$!
until_true bash -c "exec 3<>/dev/tcp/127.0.0.1/$PP" 2>/dev/null || fail "proxy did not start"
mount_at p "etcd://127.0.0.1:$PP/faults-$$" MACHINEFS_ETCD_TTL=$TTL MACHINEFS_FAULTS=create=sleep:60
PM=$T/p
new_machine f3 || fail "f3 not made"
until_true grep -q tcp $PM/f3/options/url || fail "f3 not on p"
put $PM/f3/driver none 2>$T/f3.err & cp=$!
until_true lock_held f3 || fail "p took no lock on f3"
expect_errno EBUSY put $B/f3/ctl rm
kill -STOP -- -$PROXY
# b takes f3 once p's lease is gone; p's command was cancelled before.
until_true bash -c "printf 'rm\n' > $B/f3/ctl" 2>/dev/null && ok || fail "b never got f3: $(cat $B/f3/error)"
grep -q "the command is cancelled" $T/p.cache/machines/f3/machinefs.log && ok ||
	fail "p's create was not cancelled before b took f3: $(tail -n 3 $T/p.cache/machines/f3/machinefs.log)"
kill -CONT -- -$PROXY
wait $cp && fail "p's create of f3 succeeded" || ok
until_true test ! -e $PM/f3 && ok || fail "f3 still on p"
expect_eq "f3's keys after p came back" "$(keys_of f3)" ""
# p works again: a machine made there, removed through a lock.
mkdir $PM/f4 && ok || fail "mkdir f4 on p"
until_true test -d $B/f4 && ok || fail "f4 not on b"
put $PM/f4/ctl rm && ok || fail "rm f4 on p: $(cat $PM/f4/error)"
until_true test ! -e $B/f4 && ok || fail "f4 still on b"
expect_eq "f3 stays removed" "$(keys_of f3)" ""

# 4. Lease loss: a paused past its lease mid-command.
new_machine f5 || fail "f5 not made"
put $A/f5/driver none 2>$T/f5.err & cp=$!
# b shows a's command running (its record says so, under a's lock).
until_true grep -qx Starting $B/f5/state || fail "b does not show f5 starting: $(cat $B/f5/state)"
kill -STOP $APID
until_true no_lock f5 && ok || fail "a's lock outlived its lease"
until_true grep -q "'create' was interrupted" $B/f5/error && ok || fail "b: f5 $(cat $B/f5/state) $(cat $B/f5/error)"
kill -CONT $APID
wait $cp && fail "a's create of f5 succeeded after its lease expired" || ok
until_true same_state $A $B f5 && ok || fail "f5: a $(cat $A/f5/state), b $(cat $B/f5/state)"
until_true grep -q "etcd lease expired; a new one is used" $T/a.log && ok || fail "a did not take a new lease"
put $A/f5/ctl rm && ok || fail "rm of f5 on a after its lease came back: $(cat $A/f5/error)"
until_true test ! -e $B/f5 && ok || fail "f5 still on b"
expect_eq "records in etcd are whole" "$(records_whole)" ""

stop_all
sanitizer_check a b p
echo "$PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
