#!/usr/bin/env bash
# The kernel caches entries, attributes and file contents; every change of
# a machine invalidates them, so no read is stale: after a failed and a
# good create, a refused write, option edits, rmdir and mkdir of the same
# name, rm on ctl, a stop and a state change seen by the refresher.
# The root's .list is exact (escapes, order), and poll(2) on state, log
# and .list wakes on a change and not before.
. "$(dirname "$0")/lib.sh"
export PATH=$SRCDIR/tests/fakevbox:$PATH
export FAKEVBOX_DIR=$T/fake FAKEVBOX_LOG=$T/calls MACHINEFS_VBOX_TIMEOUT=2
mkdir -p $FAKEVBOX_DIR
S=$(realpath "$STORE")

# A VM Docker Machine made (as in t_virtualbox), running.
mkdir -p $STORE/machines/vb && chmod 700 $STORE/machines/vb
bash -c '
	VBoxManage createvm --basefolder "$1" --name vb --register >/dev/null
	VBoxManage modifyvm vb --nic1 nat --natpf1 ssh,tcp,127.0.0.1,40122,,22
	VBoxManage startvm vb --type headless >/dev/null' fixture "$S/machines/vb" || fail "fixture"
python3 - "$S" > $STORE/machines/vb/config.json <<'EOF'
import json, sys
s = sys.argv[1]; m = s + "/machines/vb"
print(json.dumps({"ConfigVersion": 3, "Driver": {
    "IPAddress": "127.0.0.1", "MachineName": "vb", "SSHUser": "docker", "SSHPort": 40122,
    "SSHKeyPath": m + "/id_rsa", "StorePath": s, "SwarmMaster": False, "SwarmHost": "",
    "SwarmDiscovery": "", "CPU": 1, "Memory": 1024, "DiskSize": 20000},
  "DriverName": "virtualbox", "HostOptions": {"EngineOptions": {"TlsVerify": True},
    "SwarmOptions": {}, "AuthOptions": {"CertDir": s + "/certs", "StorePath": m}},
  "Name": "vb"}, indent=4), end="")
EOF
chmod 600 $STORE/machines/vb/config.json

# Every create sleeps 1 s first, so state shows Starting a while.
MACHINEFS_FAULTS=create=sleep:1 mount_fs "$STORE" -o refresh=1
M=$MNT
# wait_for FILE WANT: the refresher makes FILE read WANT (within 20 s).
wait_for() {
	for _ in $(seq 200); do [ "$(cat $1)" == "$2" ] && break; sleep 0.1; done
	expect_eq "$1 becomes $2" "$(cat $1)" "$2"
}
wait_for $M/vb/state Running

# --- A new machine: every read twice, so the second may come from the cache.
mkdir $M/a $M/b || fail "mkdir"
for _ in 1 2; do
	expect_eq "a state" "$(cat $M/a/state)" "None"
	expect_eq "a error" "$(cat $M/a/error)" ""
done
expect_eq "a size" "$(stat -c %s $M/a/state)" "5"
expect_errno EINVAL put $M/a/driver none
expect_eq "state after a failed create" "$(cat $M/a/state)" "Error"
expect_eq "size after a failed create" "$(stat -c %s $M/a/state)" "6"
case "$(cat $M/a/error)" in *"--url option is required"*) ok ;; *) fail "error after a failed create: $(cat $M/a/error)" ;; esac
expect_eq "a driver" "$(cat $M/a/driver)" "none"
put $M/a/options/url tcp://127.0.0.1:8 || fail "set url"
expect_eq "url option" "$(cat $M/a/options/url)" "tcp://127.0.0.1:8"
put $M/a/options/url tcp://127.0.0.1:9 || fail "set url again"
expect_eq "url option changed" "$(cat $M/a/options/url)" "tcp://127.0.0.1:9"
log_before=$(stat -c %s $M/a/log)
put $M/a/ctl create || fail "create: $(cat $M/a/error)"
expect_eq "state after create" "$(cat $M/a/state)" "Running"
expect_eq "error after create" "$(cat $M/a/error)" ""
expect_eq "url after create" "$(cat $M/a/url)" "tcp://127.0.0.1:9"
[ "$(stat -c %s $M/a/log)" -gt "$log_before" ] && ok || fail "log size did not grow: $(stat -c %s $M/a/log)"
expect_eq "log size true" "$(stat -c %s $M/a/log)" "$(cat $M/a/log | wc -c)"
# A refused write names itself in error at once.
expect_errno EACCES put $M/a/state Stopped
expect_eq "error after a refused write" "$(cat $M/a/error)" "cannot write 'state': read-only file"

# --- .list: one line per machine, sorted, 8 TAB-separated fields, escaped.
# A TAB and a backslash in an error (an unknown driver's name).
printf 'x\ty\\z\n' > $M/b/driver 2>/dev/null && fail "driver x<TAB>y\\z taken"
e=$(cat $M/b/error)
case "$e" in *$'x\ty\\z'*) ok ;; *) fail "b error: $e" ;; esac
e=${e//\\/\\\\}; e=${e//$'\t'/\\t}
want=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n' \
	a none Running tcp://127.0.0.1:9 "" "" "cannot write 'state': read-only file" \
	b "" None "" "" "" "$e" \
	vb virtualbox Running tcp://127.0.0.1:2376 "" "" "")
expect_eq ".list" "$(cat $M/.list)" "$want"
expect_eq ".list size" "$(stat -c %s $M/.list)" "$(cat $M/.list | wc -c)"
ls -a $M | grep -qx .list && ok || fail ".list not listed"
for d in $M/*/; do [ "$d" != "$M/.list/" ] || fail "glob sees .list"; done

# --- rmdir and mkdir of the same name: nothing of the old one shows.
put $M/b/options/url tcp://127.0.0.1:7 || fail "b url"
expect_eq "b url" "$(cat $M/b/options/url)" "tcp://127.0.0.1:7"
rmdir $M/b || fail "rmdir b"
[ -e $M/b ] && fail "b still there after rmdir" || ok
expect_eq ".list after rmdir" "$(cut -f1 $M/.list | tr '\n' ' ')" "a vb "
mkdir $M/b || fail "mkdir b again"
expect_eq "new b options" "$(ls $M/b/options)" ""
[ -e $M/b/options/url ] && fail "old option shows" || ok
expect_eq "new b state" "$(cat $M/b/state)" "None"
expect_eq "new b error" "$(cat $M/b/error)" ""
expect_eq ".list after mkdir" "$(grep '^b' $M/.list)" $'b\t\tNone\t\t\t\t\t'

# --- rm on ctl: the name is gone when the write returns.
put $M/b/options/url tcp://127.0.0.1:7 && put $M/b/driver none || fail "create b"
expect_eq "b running" "$(cat $M/b/state)" "Running"
put $M/b/ctl rm || fail "rm b"
[ -e $M/b ] && fail "b still there after rm" || ok
[ -e $M/b/state ] && fail "b/state still there after rm" || ok
mkdir $M/b && expect_eq "b again" "$(cat $M/b/state)" "None" || fail "mkdir after rm"

# --- A command and a change only the refresher sees.
expect_eq "vb running" "$(cat $M/vb/state)" "Running"
expect_eq "vb ip" "$(cat $M/vb/ip)" "127.0.0.1"
put $M/vb/ctl stop || fail "stop: $(cat $M/vb/error)"
expect_eq "stopped at once" "$(cat $M/vb/state)" "Stopped"
grep -q "^vb	virtualbox	Stopped	" $M/.list && ok || fail ".list after stop: $(cat $M/.list)"
VBoxManage startvm vb --type headless >/dev/null || fail "start behind its back"
wait_for $M/vb/state Running
grep -q "^vb	virtualbox	Running	" $M/.list && ok || fail ".list after refresh: $(cat $M/.list)"

# --- poll(2): state, log and .list wake on a change, not before.
cat > $T/poll.py <<'EOF'
import os, select, sys
mnt, name = sys.argv[1], sys.argv[2]
fds = {w: os.open(f"{mnt}/{p}", os.O_RDONLY) for w, p in
       (("state", f"{name}/state"), ("log", f"{name}/log"), ("list", ".list"))}
for fd in fds.values():
    while os.read(fd, 65536):
        pass
p = select.poll()
for fd in fds.values():
    p.register(fd, select.POLLIN)
quiet = p.poll(300)
print("quiet", sorted(w for w, fd in fds.items() if any(e[0] == fd for e in quiet)), flush=True)
seen = set()
while len(seen) < 3:
    ev = p.poll(20000)
    if not ev:
        print("timeout", sorted(seen), flush=True)
        sys.exit(1)
    for fd, _ in ev:
        w = next(k for k, v in fds.items() if v == fd)
        seen.add(w)
        if w == "state":
            os.lseek(fd, 0, 0)
            print("state", os.read(fd, 100).decode().strip(), flush=True)
        p.unregister(fd)
print("woke", sorted(seen), flush=True)
EOF
mkdir $M/p && put $M/p/options/url tcp://127.0.0.1:9 || fail "p"
python3 $T/poll.py $M p > $T/poll.out 2>&1 &
PY=$!
for _ in $(seq 100); do grep -q quiet $T/poll.out && break; sleep 0.05; done
put $M/p/driver none || fail "create p"
wait $PY || fail "poll: $(cat $T/poll.out)"
expect_eq "poll quiet before" "$(sed -n 1p $T/poll.out)" "quiet []"
case "$(grep ^state $T/poll.out)" in "state Starting" | "state Running") ok ;; *) fail "poll state: $(cat $T/poll.out)" ;; esac
expect_eq "poll woke" "$(tail -1 $T/poll.out)" "woke ['list', 'log', 'state']"

finish
