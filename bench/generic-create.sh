#!/usr/bin/env bash
# Create with the generic driver on a fresh lab host where Docker is
# installed, timed from the `driver` write to its return (the engine has
# answered over TLS), next to the time dockerd alone takes to start on the
# same kind of host, in the same run; and the SSH connections used.
#   bench/generic-create.sh [RUNS]     (default 3; needs root, ./install.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
BIN=${MACHINEFS:-build/fs/machinefs}
LAB=tests/lab/lab.sh
N=${BENCH_LAB_N:-121}
W=$(mktemp -d /tmp/mfs-bench-gen.XXXXXX)
cleanup() { fusermount3 -u $W/mnt 2>/dev/null || true; $LAB down $N >/dev/null 2>&1 || true; rm -rf $W; }
trap cleanup EXIT
ssh-keygen -q -t ed25519 -N '' -f $W/key
mkdir -p $W/mnt

now() { date +%s%N; }
printf '%-4s %12s %12s %10s\n' run create_ms dockerd_ms ssh_conns
for r in $(seq "$RUNS"); do
	# Baseline: dockerd alone on a fresh host, until `docker info` answers.
	ip=$($LAB up $N --pubkey $W/key.pub </dev/null | tail -n 1)
	s=$(now)
	$LAB exec $N sh -c 'dockerd >/var/log/bench-dockerd.log 2>&1 & for i in $(seq 600); do docker info >/dev/null 2>&1 && exit 0; sleep 0.05; done; exit 1'
	base=$(( ($(now) - s) / 1000000 ))
	$LAB down $N >/dev/null

	ip=$($LAB up $N --pubkey $W/key.pub </dev/null | tail -n 1)
	rm -rf $W/store; mkdir -p $W/store
	$BIN -o store=$W/store,refresh=3600 $W/mnt
	mkdir $W/mnt/b
	echo "$ip" > $W/mnt/b/options/generic-ip-address
	echo $W/key > $W/mnt/b/options/generic-ssh-key
	s=$(now)
	echo generic > $W/mnt/b/driver
	create=$(( ($(now) - s) / 1000000 ))
	conns=$($LAB exec $N sh -c 'grep -c "Accepted publickey" /var/log/sshd.log' || echo "?")
	printf '%-4s %12s %12s %10s\n' "$r" "$create" "$base" "$conns"
	fusermount3 -u $W/mnt
	$LAB down $N >/dev/null
done
