#!/usr/bin/env bash
# No torn read: readers open, read to EOF and close a machine's state (and an
# option, whose pages the kernel keeps) while a writer changes them as
# fast as it can; every read must be one whole value the file had, never
# one cut to an older size nor padded past a newer one. A poller keeps
# state open and reads it again each time poll(2) says it changed, with
# the same rule. Bounded rounds; no timing bounds.
. "$(dirname "$0")/lib.sh"
mount_fs "$STORE" -o refresh=-1
cat > $T/race.py <<'PY'
import os, sys, threading
mnt, rounds = sys.argv[1], int(sys.argv[2])
states = {b"%s\n" % s.encode() for s in
          ("None", "Running", "Paused", "Saved", "Stopped", "Stopping", "Starting", "Error", "Timeout")}
labels = [b"a=1\n", b"b" * 60 + b"=2\nc=3\n"]
bad, reads, stop = [], [0, 0, 0], []

def whole(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        os.fstat(fd)  # as cat does
        data = b""
        while True:
            b = os.read(fd, 131072)
            if not b:
                return data
            data += b
    except FileNotFoundError:
        return None
    finally:
        os.close(fd)

def state_reader():
    while not stop and len(bad) < 5:
        d = whole(f"{mnt}/r/state")
        if d is None:
            continue
        reads[0] += 1
        if d not in states:
            bad.append(("state", d))

def poll_reader():
    import select
    while not stop and len(bad) < 5:
        try:
            fd = os.open(f"{mnt}/r/state", os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            p = select.poll()
            p.register(fd, select.POLLIN)
            while not stop and len(bad) < 5:
                os.lseek(fd, 0, 0)
                data = b""
                while True:
                    b = os.read(fd, 131072)
                    if not b:
                        break
                    data += b
                reads[2] += 1
                if data not in states:
                    bad.append(("polled state", data))
                while not stop and not p.poll(200):
                    pass  # read again only once poll says it changed
        except FileNotFoundError:
            pass  # removed: open the next one
        finally:
            os.close(fd)

def option_reader():
    while not stop and len(bad) < 5:
        d = whole(f"{mnt}/c/options/engine-label")
        reads[1] += 1
        if d not in labels:
            bad.append(("option", d))

def put(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, text.encode())
    except OSError:
        pass  # a refused command: still a change of state
    finally:
        os.close(fd)

os.mkdir(f"{mnt}/c")
put(f"{mnt}/c/options/engine-label", labels[0].decode())
ts = [threading.Thread(target=state_reader) for _ in range(3)] + \
     [threading.Thread(target=option_reader) for _ in range(2)] + \
     [threading.Thread(target=poll_reader)]
for t in ts:
    t.start()
try:
    for i in range(rounds):
        # r: None -> Error (no url) -> Starting -> Running -> gone
        os.mkdir(f"{mnt}/r")
        put(f"{mnt}/r/driver", "none")
        put(f"{mnt}/r/options/url", "tcp://127.0.0.1:9")
        put(f"{mnt}/r/ctl", "create")
        put(f"{mnt}/r/ctl", "rm")
        for k in (1, 0):
            put(f"{mnt}/c/options/engine-label", labels[k].decode())
finally:
    stop.append(1)
for t in ts:
    t.join()
print("reads", reads, "bad", len(bad), bad[:5])
sys.exit(1 if bad or not all(reads) else 0)
PY
python3 $T/race.py $MNT 150 && ok || fail "a torn read"
mountpoint -q $MNT && ok || fail "the mount died"
finish
