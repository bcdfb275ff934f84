#!/usr/bin/env bash
# mkdir -> `docker info` answering with the qemu driver, split into:
#   setup        create begins -> QEMU started (accelerator probe, key, disk)
#   image boot   QEMU started -> SSH answers
#   provisioning SSH -> engine configured and restarted with TLS
#   engine ready -> the engine answers TLS
#   docker info  the driver write returned -> `. env; docker info` answered
# Each step is timed by watching the machine's log (0.05 s polls).
#   bench/qemu-create.sh [RUNS]     (default 1; needs the guest image:
#   tools/guest-image/build.sh; QEMU_ACCEL=auto|kvm|tcg, default auto)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-1}
BIN=${MACHINEFS:-build/fs/machinefs} # MACHINEFS=build-X/fs/machinefs for another build
W=$(mktemp -d /tmp/mfs-bench-qemu.XXXXXX)
cleanup() {
	for m in "$W"/mnt/bench*/; do [ -d "$m" ] && rmdir "$m" 2>/dev/null; done
	fusermount3 -u "$W/mnt" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
mkdir -p "$W/mnt" "$W/store"
"$BIN" -o "store=$W/store" "$W/mnt"

now() { date +%s.%N; }
d() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

printf '%-4s %-6s %7s %7s %7s %7s %7s %7s\n' run accel setup boot prov engine info total
for r in $(seq "$RUNS"); do
	M=$W/mnt/bench$r
	mkdir "$M"
	echo "${QEMU_ACCEL:-auto}" >"$M/options/qemu-accel"
	t0=$(now)
	( echo qemu >"$M/driver" ) &
	pid=$!
	tq="" ts="" tw="" te=""
	while kill -0 "$pid" 2>/dev/null; do
		log=$(cat "$M/log")
		t=$(now)
		[ -n "$tq" ] || ! grep -q 'QEMU (' <<<"$log" || tq=$t
		[ -n "$ts" ] || ! grep -q 'SSH is up' <<<"$log" || ts=$t
		[ -n "$tw" ] || ! grep -q 'Waiting for the Docker engine to answer' <<<"$log" || tw=$t
		sleep 0.05
	done
	wait "$pid" || { echo "create failed: $(cat "$M/error")"; exit 1; }
	te=$(now)
	(. "$M/env" && docker info >/dev/null 2>&1) || { echo "docker info failed"; exit 1; }
	ti=$(now)
	accel=$(sed -n 's/.*Accelerator: \([a-z]*\).*/\1/p' "$M/log" | head -n 1)
	printf '%-4s %-6s %7s %7s %7s %7s %7s %7s\n' "$r" "$accel" "$(d "$t0" "$tq")" \
		"$(d "$tq" "$ts")" "$(d "$ts" "$tw")" "$(d "$tw" "$te")" "$(d "$te" "$ti")" \
		"$(d "$t0" "$ti")"
	rmdir "$M"
done
