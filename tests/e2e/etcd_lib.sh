# Sourced by the etcd store's e2e cases (t_etcd_import.sh,
# t_etcd_faults.sh) after tests/fs/lib.sh: an etcd cluster of N members
# on 127.0.0.1 (free ports), daemons on mount points under $T.
command -v etcd >/dev/null && command -v etcdctl >/dev/null || { echo "etcd not installed"; exit 1; }
export ETCDCTL_API=3

free_port() {
	local p
	while :; do
		p=$((18600 + RANDOM % 500)) # etcdops' ports: below the ephemeral range
		case " ${USED:-} " in *" $p "*) continue ;; esac
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { USED="${USED:-} $p"; echo "$p"; return; }
	done
}

# until_true CMD...: wait (at most 30 s) for CMD to succeed.
until_true() {
	for _ in $(seq 300); do "$@" && return 0; sleep 0.1; done
	return 1
}

ETCD_PIDS=() PIDS=() MNTS=() ETCD_N=0 CLUSTER= EPS=
declare -A C P EPID

# member_start I [new|existing]: member eI on its ports and data dir.
member_start() {
	local i=$1 state=${2:-existing}
	etcd --name e$i --data-dir "$T/etcd$i" \
		--listen-client-urls "http://127.0.0.1:${C[$i]}" --advertise-client-urls "http://127.0.0.1:${C[$i]}" \
		--listen-peer-urls "http://127.0.0.1:${P[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${P[$i]}" \
		--initial-cluster "$CLUSTER" --initial-cluster-token "mfs-$$" --initial-cluster-state "$state" \
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
	etcdctl --endpoints "${1:-$EPS}" --dial-timeout=2s --command-timeout=3s endpoint health >/dev/null 2>&1
}

# cluster_start N: N members; EPS the client endpoints. A member whose
# port was taken meanwhile exits: all start again on other ports.
cluster_start() {
	ETCD_N=$1
	local attempt i start p dead
	for attempt in 1 2 3; do
		CLUSTER= EPS= ETCD_PIDS=()
		for i in $(seq "$ETCD_N"); do
			C[$i]=$(free_port) P[$i]=$(free_port)
			CLUSTER+="${CLUSTER:+,}e$i=http://127.0.0.1:${P[$i]}"
			EPS+="${EPS:+,}127.0.0.1:${C[$i]}"
		done
		for i in $(seq "$ETCD_N"); do rm -rf "$T/etcd$i"; member_start "$i" new; done
		start=$SECONDS dead=
		while [ $((SECONDS - start)) -lt 90 ] && [ -z "$dead" ]; do
			cluster_healthy && return 0
			for p in "${ETCD_PIDS[@]}"; do kill -0 "$p" 2>/dev/null || dead=1; done
			sleep 0.2
		done
		for p in "${ETCD_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
		[ -n "$dead" ] || break
		grep -h "address already in use" "$T"/etcd*.log
	done
	tail -n 20 "$T"/etcd*.log; echo "etcd cluster did not start"; exit 1
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
