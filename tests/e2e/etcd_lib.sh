# Sourced by the etcd store's e2e cases (t_etcd, t_etcd_secure, t_etcd_import,
# t_etcd_faults) after tests/fs/lib.sh: etcd_cluster.sh's 3 members,
# each killed and started again at will, daemons on mount points under $T.
command -v etcd >/dev/null && command -v etcdctl >/dev/null || { echo "etcd not installed"; exit 1; }

# until_true CMD...: wait (at most 30 s) for CMD to succeed.
until_true() {
	for _ in $(seq 300); do "$@" && return 0; sleep 0.1; done
	return 1
}

. "$SRCDIR/tests/e2e/etcd_cluster.sh"
PIDS=() MNTS=() CLUSTER=
declare -A EPID

# cluster_start: the 3 members of etcd_cluster.sh; EPID[i] member i's pid.
cluster_start() {
	etcd_start_cluster http || exit 1
	local i
	for i in 1 2 3; do
		EPID[$i]=${ETCD_PIDS[$((i - 1))]}
		CLUSTER+="${CLUSTER:+,}e$i=http://127.0.0.1:${P[$i]}"
	done
}

# member_start I: member eI again, on its ports and data dir.
member_start() {
	local i=$1
	etcd --name e$i --data-dir "$T/etcd$i" \
		--listen-client-urls "http://127.0.0.1:${C[$i]}" --advertise-client-urls "http://127.0.0.1:${C[$i]}" \
		--listen-peer-urls "http://127.0.0.1:${P[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${P[$i]}" \
		--initial-cluster "$CLUSTER" --initial-cluster-state existing \
		>>"$T/etcd$i.log" 2>&1 &
	EPID[$i]=$!
	ETCD_PIDS+=($!)
}

# member_kill I: SIGKILL, as a crash.
member_kill() {
	kill -9 "${EPID[$1]}" 2>/dev/null
	wait "${EPID[$1]}" 2>/dev/null
}

cluster_healthy() {
	etcdctl --endpoints "$EPS" --dial-timeout=2s --command-timeout=3s endpoint health >/dev/null 2>&1
}

# mount_at NAME SPEC [ENV...]: a daemon on $T/NAME, working copy $T/NAME.cache.
mount_at() {
	local name=$1 spec=$2; shift 2
	mkdir -p "$T/$name"
	env "$@" "$MACHINEFS" -f -o "store=$spec,cache=$T/$name.cache,refresh=100000" "$T/$name" \
		2>>"$T/$name.log" &
	PIDS+=($!)
	MNTS+=("$T/$name")
	for _ in $(seq 200); do
		mountpoint -q "$T/$name" && return 0
		kill -0 "${PIDS[-1]}" 2>/dev/null || break
		sleep 0.05
	done
	cat "$T/$name.log"; echo "mount of $name failed"; exit 1
}

stop_all() {
	for i in "${!MNTS[@]}"; do
		fusermount3 -u "${MNTS[$i]}" 2>/dev/null || umount -l "${MNTS[$i]}" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for p in "${ETCD_PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	PIDS=() ETCD_PIDS=() MNTS=()
}

# sanitizer_check NAME...: the daemons' logs hold no sanitizer reports.
sanitizer_check() {
	for n in "$@"; do
		if grep -E "AddressSanitizer|LeakSanitizer|runtime error:" "$T/$n.log" >/dev/null 2>&1; then
			fail "daemon $n reported errors:"; cat "$T/$n.log"
		fi
	done
}
