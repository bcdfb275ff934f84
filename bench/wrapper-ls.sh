#!/usr/bin/env bash
# Time `docker-machine ls` (the wrapper, tools/docker-machine) over stores of
# 100 and 1,000 machines (none driver): the default table, `ls -q`, and a
# `--filter state=running --format` run, each the best of 5 (wall time by
# $EPOCHREALTIME). The wrapper
# reads the root's .list once; baselines in the same run: `cat .list` (the
# one read ls makes) and `cat */state` over the mount (a read per machine),
# and, with DOCKER_MACHINE_BIN=/path/to/docker-machine, real Docker Machine's
# `ls` over the same store (it asks every engine: here none answers).
#   bench/wrapper-ls.sh [SIZES...]     (default: 100 1000)
# The store is made as bench/store.sh makes it: one machine through the tree,
# cloned in the store while nothing is mounted.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${MACHINEFS:-build/fs/machinefs}
[ -x "$BIN" ] || { echo "build first: ./install.sh (or set MACHINEFS)" >&2; exit 1; }
SIZES=("$@")
[ $# -gt 0 ] || SIZES=(100 1000)
DM=$PWD/tools/docker-machine
W=$(mktemp -d /tmp/mfs-bench-wrap.XXXXXX)
trap 'fusermount3 -u $W/mnt 2>/dev/null; rm -rf $W' EXIT

# wall ms of one run, by bash's clock (no `date` process inside the interval)
ms() {
	local s=${EPOCHREALTIME/./} e
	"$@" >/dev/null 2>&1
	e=${EPOCHREALTIME/./}
	echo $(( (e - s) / 1000 ))
}
# the best of N runs (N=5 for the short ones, 3 for real Docker Machine)
bestn() {
	local n=$1 i t b=
	shift
	for ((i = 0; i < n; i++)); do t=$(ms "$@"); [ -z "$b" ] || [ "$t" -lt "$b" ] && b=$t; done
	echo "$b"
}
. bench/make_store.sh

printf '%-8s %10s %10s %16s | %12s %14s %12s\n' machines ls_ms ls-q_ms filter+format_ms \
	cat_list_ms cat_state_ms real_dm_ls_ms
for n in "${SIZES[@]}"; do
	store=$W/store$n
	make_store "$store" "$n"
	"$BIN" -o "store=$store,refresh=3600,fsname=machinefs:$store,subtype=machinefs" "$W/mnt"
	until [ -d "$W/mnt/.drivers" ]; do sleep 0.01; done
	export MACHINE_STORAGE_PATH=$store
	rows=$("$DM" ls | wc -l)
	[ "$rows" -eq $((n + 1)) ] || { echo "ls printed $rows lines for $n machines" >&2; exit 1; }
	t_ls=$(bestn 5 "$DM" ls)
	t_q=$(bestn 5 "$DM" ls -q)
	t_f=$(bestn 5 "$DM" ls --filter state=running --format '{{.Name}} {{.URL}}')
	l=$(bestn 5 cat "$W/mnt/.list")
	b=$(bestn 5 sh -c "cat $W/mnt/*/state")
	r=-
	if [ -n "${DOCKER_MACHINE_BIN:-}" ]; then
		# it must list the same store (a failure would time nothing)
		rows=$("$DOCKER_MACHINE_BIN" -s "$store" ls | wc -l)
		[ "$rows" -eq $((n + 1)) ] || { echo "$DOCKER_MACHINE_BIN ls printed $rows lines for $n machines" >&2; exit 1; }
		r=$(bestn 3 "$DOCKER_MACHINE_BIN" -s "$store" ls)
	fi
	printf '%-8s %10s %10s %16s | %12s %14s %12s\n' "$n" "$t_ls" "$t_q" "$t_f" "$l" "$b" "$r"
	fusermount3 -u "$W/mnt"
	sleep 0.2
done
