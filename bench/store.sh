#!/usr/bin/env bash
# Benchmark the tree over stores of 100, 1,000 and 10,000 machines (none
# driver): mount time and RSS, `ls -l` of the root, `cat */state` (cold:
# first read after mount and `ls -l`; warm: the best of 3 more), `cat
# */env`, `cat .list` (best of 3). Baseline in the same run: the same reads
# on the store's own plain files (ls -l machines/, cat */config.json, best
# of 3). The refresher is off (refresh=-1): this machine's other load, not
# background TLS checks, is the noise left; figures are wall-clock ms.
#   bench/store.sh [SIZES...]     (default: 100 1000 10000)
# MACHINEFS_BEFORE=PATH adds a row per size for another build of the
# daemon (say, main's before a change) on the same store.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${MACHINEFS:-build/fs/machinefs}
[ -x "$BIN" ] || { echo "build first: ./install.sh" >&2; exit 1; }
SIZES=("$@")
[ $# -gt 0 ] || SIZES=(100 1000 10000)
W=$(mktemp -d /tmp/mfs-bench.XXXXXX)
trap 'fusermount3 -u $W/mnt 2>/dev/null; rm -rf $W' EXIT
. bench/make_store.sh

ms() { local s=$(date +%s%N); "$@" >/dev/null 2>&1; echo $(( ($(date +%s%N) - s) / 1000000 )); }
best3() { local a b c; a=$(ms "$@"); b=$(ms "$@"); c=$(ms "$@"); printf '%s\n' "$a" "$b" "$c" | sort -n | head -1; }

printf '%-7s %-6s %8s %8s %7s %11s %11s %9s %8s | %11s %14s\n' machines build mount_ms rss_kb ls-l_ms cat_state_ms warm_state_ms cat_env_ms list_ms base_ls-l_ms base_cat_json_ms
for n in "${SIZES[@]}"; do
	store=$W/store$n
	make_store "$store" "$n"
	sync
	builds=(after)
	[ -n "${MACHINEFS_BEFORE:-}" ] && builds=(before after)
	for b in "${builds[@]}"; do
		bin=$BIN
		[ "$b" = before ] && bin=$MACHINEFS_BEFORE
		s=$(date +%s%N)
		"$bin" -o "store=$store,refresh=-1" "$W/mnt"
		until mountpoint -q "$W/mnt"; do sleep 0.01; done
		ls "$W/mnt" >/dev/null
		mount_ms=$(( ($(date +%s%N) - s) / 1000000 ))
		pid=$(pgrep -n -f "store=$store,")
		t_ls=$(ms ls -l "$W/mnt")
		t_state=$(ms sh -c "cat $W/mnt/*/state")
		t_warm=$(best3 sh -c "cat $W/mnt/*/state")
		t_env=$(ms sh -c "cat $W/mnt/*/env")
		t_list=$(best3 cat "$W/mnt/.list")
		[ -e "$W/mnt/.list" ] || t_list=-
		rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
		b_ls=$(ms ls -l "$store/machines")
		b_cat=$(best3 sh -c "cat $store/machines/*/config.json")
		printf '%-7s %-6s %8s %8s %7s %11s %11s %9s %8s | %11s %14s\n' "$n" "$b" "$mount_ms" "$rss" "$t_ls" "$t_state" "$t_warm" "$t_env" "$t_list" "$b_ls" "$b_cat"
		fusermount3 -u "$W/mnt"
		while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	done
	rm -rf "$store"
done
