#!/usr/bin/env bash
# The store in etcd next to the local store, in the same run (figures, no
# assertions; wall-clock ms on this machine as it is loaded):
#  - N machines (default 1,000; none driver, a refused URL): the store made
#    as bench/store.sh makes it, mounted as a folder, then imported into a
#    3-member etcd cluster on loopback (`machinefs --import`) and mounted
#    from there: mount time, `cat */state` (first read, then best of 3) and
#    the wrapper's `docker-machine ls` (best of 3) on each;
#  - how long a change on one etcd mount takes to show on another (mkdir,
#    an option written, rmdir; 10 rounds, median and worst);
#  - 20 creates at once: on one local mount, and spread over two etcd
#    mounts.
#   bench/etcd-store.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${MACHINEFS:-build/fs/machinefs}
[ -x "$BIN" ] || { echo "build first: ./install.sh (or set MACHINEFS)" >&2; exit 1; }
command -v etcd >/dev/null || { echo "etcd not installed (etcd-server)" >&2; exit 1; }
N=${1:-1000}
DM=$PWD/tools/docker-machine
W=$(mktemp -d /tmp/mfs-bench-etcd.XXXXXX)
cleanup() {
	for m in "$W"/mnt "$W"/ea "$W"/eb; do fusermount3 -u "$m" 2>/dev/null || true; done
	etcd_stop_cluster 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
. bench/make_store.sh

ms() { local s=$(date +%s%N); "$@" >/dev/null 2>&1; echo $(( ($(date +%s%N) - s) / 1000000 )); }
best3() { local a b c; a=$(ms "$@"); b=$(ms "$@"); c=$(ms "$@"); printf '%s\n' "$a" "$b" "$c" | sort -n | head -1; }
now() { date +%s%N; }
# wait_for CMD...: poll CMD every 2 ms (at most 30 s); 1 if it never held.
wait_for() {
	local end=$(( $(date +%s) + 30 ))
	until "$@" 2>/dev/null; do
		[ "$(date +%s)" -lt $end ] || return 1
		sleep 0.002
	done
}
# mount_ms BIN-ARGS... MOUNTPOINT: ms until the root lists.
mount_ms() {
	local mnt=${!#} s
	mkdir -p "$mnt"
	s=$(now)
	"$BIN" "$@" || { echo "mount of $mnt failed" >&2; exit 1; }
	wait_for test -d "$mnt/.drivers" || { echo "mount of $mnt failed" >&2; exit 1; }
	echo $(( ($(now) - s) / 1000000 ))
}

# The cluster: the tests' starter (3 members on loopback).
T=$W
. tests/e2e/etcd_cluster.sh
etcd_start_cluster http --quota-backend-bytes 4294967296 >&2 || exit 1
SPEC="etcd://$EPS/bench"

echo "machinefs $(git describe --always --dirty 2>/dev/null || echo '?'), $N machines, load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
store=$W/store
make_store "$store" "$N"
sync

# Local store.
m_local=$(mount_ms -o "store=$store,refresh=-1,fsname=machinefs:$store,subtype=machinefs" "$W/mnt")
s_local=$(ms sh -c "cat $W/mnt/*/state")
w_local=$(best3 sh -c "cat $W/mnt/*/state")
l_local=$(MACHINE_STORAGE_PATH=$store best3 "$DM" ls)
rows=$(MACHINE_STORAGE_PATH=$store "$DM" ls | wc -l)
fusermount3 -u "$W/mnt"
sleep 0.5

# Into etcd, then mounted from there.
s=$(now)
"$BIN" --import "$store" -o "store=$SPEC" >/dev/null
import_ms=$(( ($(now) - s) / 1000000 ))
m_etcd=$(mount_ms -o "store=$SPEC,cache=$W/ca,refresh=-1,fsname=machinefs:$W/ca,subtype=machinefs" "$W/ea")
s_etcd=$(ms sh -c "cat $W/ea/*/state")
w_etcd=$(best3 sh -c "cat $W/ea/*/state")
l_etcd=$(MACHINE_STORAGE_PATH=$W/ca best3 "$DM" ls)
rows_etcd=$(MACHINE_STORAGE_PATH=$W/ca "$DM" ls | wc -l)

printf '\n%-14s %9s %14s %14s %11s %8s\n' store mount_ms cat_state_ms warm_state_ms dm_ls_ms ls_rows
printf '%-14s %9s %14s %14s %11s %8s\n' local "$m_local" "$s_local" "$w_local" "$l_local" "$rows"
printf '%-14s %9s %14s %14s %11s %8s\n' etcd "$m_etcd" "$s_etcd" "$w_etcd" "$l_etcd" "$rows_etcd"
echo "import of $N machines into etcd: $import_ms ms"

# A change on one mount, seen on another.
m_b=$(mount_ms -o "store=$SPEC,cache=$W/cb,refresh=-1" "$W/eb")
mk=() opt=() rm=()
for r in $(seq 10); do
	s=$(now); mkdir "$W/ea/x$r"; wait_for test -d "$W/eb/x$r"; mk+=($(( ($(now) - s) / 1000000 )))
	s=$(now); echo "tcp://10.0.0.$r:2376" > "$W/ea/x$r/options/url"
	wait_for grep -q "10.0.0.$r:" "$W/eb/x$r/options/url"; opt+=($(( ($(now) - s) / 1000000 )))
	s=$(now); rmdir "$W/ea/x$r"; wait_for test ! -e "$W/eb/x$r"; rm+=($(( ($(now) - s) / 1000000 )))
done
stat2() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {printf "%s / %s", v[int((NR+1)/2)], v[NR]}'; }
printf '\n%-22s %s\n' "seen on the other mount" "median / worst ms (10 rounds)"
printf '%-22s %s\n' "mkdir" "$(stat2 "${mk[@]}")"
printf '%-22s %s\n' "option written" "$(stat2 "${opt[@]}")"
printf '%-22s %s\n' "rmdir" "$(stat2 "${rm[@]}")"

# 20 creates at once.
creates() { # creates MOUNT... : 20 machines c01..c20 spread over the mounts
	local -a m=("$@") p=()
	local i d url
	url=$(refused_url)
	for i in $(seq -w 1 20); do
		d=${m[$((10#$i % ${#m[@]}))]}
		( mkdir "$d/c$i" && echo "$url" > "$d/c$i/options/url" && echo none > "$d/c$i/driver" ) &
		p+=($!)
	done
	local failed=0
	for i in "${p[@]}"; do wait "$i" || failed=$((failed + 1)); done
	echo "$failed"
}
s=$(now); f_etcd=$(creates "$W/ea" "$W/eb"); c_etcd=$(( ($(now) - s) / 1000000 ))
seen=$(ls "$W/eb" | grep -c '^c' || true)
fusermount3 -u "$W/ea"; fusermount3 -u "$W/eb"
lstore=$W/store20
mkdir -p "$lstore"
mount_ms -o "store=$lstore,refresh=-1" "$W/mnt" >/dev/null
s=$(now); f_local=$(creates "$W/mnt"); c_local=$(( ($(now) - s) / 1000000 ))
fusermount3 -u "$W/mnt"
printf '\n%-30s %8s %7s\n' "20 creates at once (none)" wall_ms failed
printf '%-30s %8s %7s\n' "local, one mount" "$c_local" "$f_local"
printf '%-30s %8s %7s   (%s on the second mount)\n' "etcd, two mounts" "$c_etcd" "$f_etcd" "$seen"
