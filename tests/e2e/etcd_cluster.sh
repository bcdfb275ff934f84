# Sourced by the etcd tests: a 3-member etcd cluster on loopback, started
# again on other ports when a member could not bind its own.
#   etcd_start_cluster SCHEME [ETCD ARGS...]   (SCHEME: http or https)
# sets EPS (host:port,...), ETCD_PIDS and C[i]/P[i] (client/peer ports);
# health is asked through etcd_ctl, which a test may define before the
# call (say, with certificates); the default is plain etcdctl on $EPS.
# Ports come from 18000-19999, below the kernel's ephemeral range, where
# no client socket (etcd's own among them) takes one meanwhile.
export ETCDCTL_API=3
ETCD_PIDS=()

etcd_free_port() {
	local p
	while :; do
		p=$((18000 + RANDOM % 2000))
		case " ${ETCD_USED:-} " in *" $p "*) continue ;; esac
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null ||
			{ ETCD_USED="${ETCD_USED:-} $p"; echo "$p"; return; }
	done
}

declare -F etcd_ctl >/dev/null || etcd_ctl() { etcdctl --endpoints "$EPS" "$@"; }

etcd_stop_cluster() {
	local p
	for p in "${ETCD_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	ETCD_PIDS=()
}

# One try: 0 healthy, 1 not healthy within 90 s, 2 a member exited.
etcd_try_cluster() {
	local scheme=$1 i p start=$SECONDS cluster= token="mfs-$$-$RANDOM"
	shift
	EPS=
	for i in 1 2 3; do
		C[$i]=$(etcd_free_port) P[$i]=$(etcd_free_port)
		cluster+="${cluster:+,}e$i=http://127.0.0.1:${P[$i]}"
		EPS+="${EPS:+,}127.0.0.1:${C[$i]}"
	done
	for i in 1 2 3; do
		rm -rf "$T/etcd$i"
		etcd --name "e$i" --data-dir "$T/etcd$i" \
			--listen-client-urls "$scheme://127.0.0.1:${C[$i]}" \
			--advertise-client-urls "$scheme://127.0.0.1:${C[$i]}" \
			--listen-peer-urls "http://127.0.0.1:${P[$i]}" \
			--initial-advertise-peer-urls "http://127.0.0.1:${P[$i]}" \
			--initial-cluster "$cluster" --initial-cluster-token "$token" \
			--initial-cluster-state new "$@" >"$T/etcd$i.log" 2>&1 &
		ETCD_PIDS+=($!)
	done
	# Bounded however slow each etcdctl is.
	while [ $((SECONDS - start)) -lt 90 ]; do
		etcd_ctl --dial-timeout=2s --command-timeout=3s endpoint health >/dev/null 2>&1 && return 0
		for p in "${ETCD_PIDS[@]}"; do kill -0 "$p" 2>/dev/null || return 2; done
		sleep 0.2
	done
	return 1
}

etcd_start_cluster() {
	local attempt rc
	for attempt in 1 2 3; do
		etcd_try_cluster "$@" && return 0
		rc=$?
		etcd_stop_cluster
		[ $rc -eq 2 ] || break
		grep -h "address already in use" "$T"/etcd*.log
	done
	tail -n 20 "$T"/etcd*.log
	echo "etcd cluster did not start"
	return 1
}
