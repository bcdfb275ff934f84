#!/usr/bin/env bash
# Benchmark the tree over stores of 100, 1,000 and 10,000 machines (none
# driver): mount time and RSS, `ls -l` of the root, `cat */state`,
# `cat */env`. Baseline in the same run: the same reads on the store's
# own plain files (ls -l machines/, cat */config.json).
#   bench/store.sh [SIZES...]     (default: 100 1000 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${MACHINEFS:-build/fs/machinefs}
[ -x "$BIN" ] || { echo "build first: ./install.sh" >&2; exit 1; }
SIZES=("${@:-100 1000 10000}")
[ $# -gt 0 ] || SIZES=(100 1000 10000)
W=$(mktemp -d /tmp/mfs-bench.XXXXXX)
trap 'fusermount3 -u $W/mnt 2>/dev/null; rm -rf $W' EXIT

ms() { local s=$(date +%s%N); "$@" >/dev/null 2>&1; echo $(( ($(date +%s%N) - s) / 1000000 )); }

# One machine made through the tree, then cloned with its name replaced.
make_store() {
	local store=$1 n=$2
	mkdir -p "$store" "$W/mnt"
	"$BIN" -o "store=$store" "$W/mnt"
	mkdir "$W/mnt/seed"
	echo tcp://127.0.0.1:2376 > "$W/mnt/seed/options/url"
	echo none > "$W/mnt/seed/driver"
	fusermount3 -u "$W/mnt"; sleep 0.2
	local seed=$store/machines/seed
	for i in $(seq 1 "$n"); do
		local d=$store/machines/m$i
		mkdir -m 700 "$d"
		sed "s/seed/m$i/g" "$seed/config.json" > "$d/config.json"
		sed "s/seed/m$i/g" "$seed/machinefs.json" > "$d/machinefs.json"
		cp "$seed"/{ca,cert,key}.pem "$d/"
	done
	rm -rf "$seed"
}

printf '%-8s %10s %8s %10s %12s %12s | %14s %16s\n' machines mount_ms rss_kb ls-l_ms cat_state_ms cat_env_ms "base_ls-l_ms" "base_cat_json_ms"
for n in "${SIZES[@]}"; do
	store=$W/store$n
	make_store "$store" "$n"
	sync
	s=$(date +%s%N)
	"$BIN" -o "store=$store,refresh=3600" "$W/mnt"
	until mountpoint -q "$W/mnt"; do sleep 0.01; done
	ls "$W/mnt" >/dev/null
	mount_ms=$(( ($(date +%s%N) - s) / 1000000 ))
	pid=$(pgrep -n -f "store=$store")
	t_ls=$(ms ls -l "$W/mnt")
	t_state=$(ms sh -c "cat $W/mnt/*/state")
	t_env=$(ms sh -c "cat $W/mnt/*/env")
	rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
	b_ls=$(ms ls -l "$store/machines")
	b_cat=$(ms sh -c "cat $store/machines/*/config.json")
	printf '%-8s %10s %8s %10s %12s %12s | %14s %16s\n' "$n" "$mount_ms" "$rss" "$t_ls" "$t_state" "$t_env" "$b_ls" "$b_cat"
	fusermount3 -u "$W/mnt"
	sleep 0.2
done
