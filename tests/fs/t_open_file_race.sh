#!/usr/bin/env bash
# Issue 8 item 2: one open file read and written at once. Threads pwrite
# an fd of options/engine-label (its buffer grows, is reallocated) while
# others pread and ftruncate the same fd; the daemon must stay up (the
# ASan build reported a heap-use-after-free here) and keep what was written.
. "$(dirname "$0")/lib.sh"
mount_fs
mkdir $MNT/m
python3 - $MNT/m/options/engine-label <<'EOF' || fail "stress"
import os, sys, threading
path = sys.argv[1]
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
stop = False
errors = []
def writer(k):
    i = 0
    while not stop:
        n = 1 + (i * 7919 + k * 104729) % 9000
        try:
            os.pwrite(fd, (b"l%d=" % k) + b"x" * n + b"\n", (i % 5) * 2000)
            if i % 50 == 0:
                os.ftruncate(fd, i % 300)
        except OSError as e:
            errors.append(e)
            return
        i += 1
def reader():
    while not stop:
        try:
            os.pread(fd, 65536, 0)
            os.pread(fd, 4096, 3000)
        except OSError as e:
            errors.append(e)
            return
ts = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
ts += [threading.Thread(target=reader) for _ in range(5)]
for t in ts:
    t.start()
import time
time.sleep(3)
stop = True
for t in ts:
    t.join()
os.close(fd)
if errors:
    print("errors:", errors[:3])
    sys.exit(1)
EOF
mountpoint -q $MNT && ok || fail "the mount died"
grep -q 'l[0-9]=x' $MNT/m/options/engine-label && ok || fail "value: $(head -c 80 $MNT/m/options/engine-label)"
finish
