#!/usr/bin/env bash
# The boot2docker ISO download (virtualbox-boot2docker-url): a server that
# sends a few bytes and then nothing. Each create downloads into a temp file
# of its own; the whole download has a deadline (MACHINEFS_DOWNLOAD_TIMEOUT);
# Ctrl-C on the create ends it. VirtualBox itself is the fake one.
. "$(dirname "$0")/lib.sh"
export PATH=$SRCDIR/tests/fakevbox:$PATH
export FAKEVBOX_DIR=$T/fake FAKEVBOX_LOG=$T/calls MACHINEFS_DOWNLOAD_TIMEOUT=600
mkdir -p $FAKEVBOX_DIR
# The stalling server: headers, 5 bytes of a big body, then silence.
cat > $T/stall.py <<'PY'
import socket, sys, threading, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
def serve(c):
    c.recv(4096)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\nhello")
    time.sleep(3600)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
python3 $T/stall.py > $T/port &
SRV=$!
trap 'kill $SRV 2>/dev/null; cleanup' EXIT
for _ in $(seq 50); do [ -s $T/port ] && break; sleep 0.1; done
URL=http://127.0.0.1:$(cat $T/port)/boot2docker.iso
mount_fs
for m in d1 d2; do
	mkdir $MNT/$m
	put $MNT/$m/options/virtualbox-boot2docker-url $URL
	put $MNT/$m/options/virtualbox-no-vtx-check true
done

# Two creates at once: two temp files, neither is the other's.
(put $MNT/d1/driver virtualbox 2>$T/d1.err; echo $? > $T/d1.rc) &
P1=$!
(put $MNT/d2/driver virtualbox 2>$T/d2.err; echo $? > $T/d2.rc) &
P2=$!
for _ in $(seq 100); do
	[ "$(ls $STORE/cache 2>/dev/null | grep -c '^boot2docker.iso.download-')" -ge 2 ] && break
	sleep 0.1
done
expect_eq "a temp file per download" "$(ls $STORE/cache | grep -c '^boot2docker.iso.download-......$')" "2"

# Ctrl-C (SIGINT to the writer: a FUSE interrupt) ends the first one.
pkill -INT -P $P1 -x bash 2>/dev/null || kill -INT $P1
wait $P1
case "$(cat $MNT/d1/error)" in "download of '$URL' cancelled") ok ;; *) fail "d1 error: $(cat $MNT/d1/error)" ;; esac

# The deadline ends the other (here: remount with a 2 s bound).
kill -INT $P2 2>/dev/null; pkill -INT -P $P2 -x bash 2>/dev/null; wait $P2
expect_eq "no temp file left" "$(ls $STORE/cache | grep -c download)" "0"
umount_fs
export MACHINEFS_DOWNLOAD_TIMEOUT=2
mount_fs
expect_errno "timed out" put $MNT/d2/ctl create
case "$(cat $MNT/d2/error)" in "cannot download '$URL': Timeout was reached") ok ;; *) fail "d2 error: $(cat $MNT/d2/error)" ;; esac
expect_eq "no temp file left" "$(ls $STORE/cache | grep -c download)" "0"
[ ! -e $STORE/cache/boot2docker.iso ] && ok || fail "a partial image was kept"
finish
