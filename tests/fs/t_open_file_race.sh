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
errors = []
# Each round: a fresh fd whose buffer grows (and is reallocated) under
# writers while readers copy from it.
def writer(fd, k):
    try:
        # Each write past the end doubles the buffer: a reallocation.
        for off in [0] + [1 << i for i in range(6, 16)]:
            os.pwrite(fd, (b"l%d=" % k) + b"x" * 1400 + b"\n", off)
        os.ftruncate(fd, 100 * k)
    except OSError as e:
        errors.append(e)
def reader(fd, stop):
    try:
        while not stop:
            os.pread(fd, 65536, 0)
    except OSError as e:
        errors.append(e)
for rnd in range(100):
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    stop = []
    rs = [threading.Thread(target=reader, args=(fd, stop)) for _ in range(4)]
    ws = [threading.Thread(target=writer, args=(fd, k)) for k in range(2)]
    for t in rs + ws:
        t.start()
    for t in ws:
        t.join()
    stop.append(1)
    for t in rs:
        t.join()
    os.close(fd)
    if errors:
        break
if errors:
    print("errors:", errors[:3])
    sys.exit(1)
EOF
mountpoint -q $MNT && ok || fail "the mount died"
cat $MNT/m/options/engine-label >/dev/null && ok || fail "the option cannot be read"
finish
