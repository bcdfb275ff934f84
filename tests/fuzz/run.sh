#!/usr/bin/env bash
# Build the libFuzzer harnesses with clang, ASan and UBSan in a build
# folder of their own (BUILDDIR-fuzz, default build-fuzz) and run each for
# a bounded time (FUZZ_SECONDS, default 8) from its committed corpus in
# tests/fuzz/corpus/NAME. Any crash, leak or UB report fails the run and
# leaves the reproducer in BUILDDIR-fuzz/crashes/: fix it and commit the
# file into tests/fuzz/corpus/NAME/, where every build replays it.
#   tests/fuzz/run.sh [HARNESS...]     e.g. tests/fuzz/run.sh fuzz_url
set -uo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${FUZZ_BUILD:-${BUILDDIR:-$SRC/build}-fuzz}
SECS=${FUZZ_SECONDS:-8}
CLANG=$(command -v clang || command -v clang-14 || true)
if [ -z "$CLANG" ]; then
	echo "clang is not installed (install.sh installs it)"; exit 1
fi
mkdir -p "$OUT"
cmake -S "$SRC" -B "$OUT" -DCMAKE_C_COMPILER="$CLANG" -DCMAKE_BUILD_TYPE=Debug \
	-DMACHINEFS_FUZZ=ON -DMACHINEFS_WERROR=OFF >"$OUT/configure.log" 2>&1 ||
	{ cat "$OUT/configure.log"; exit 1; }
if [ $# -gt 0 ]; then
	harnesses=("$@")
else
	harnesses=()
	for f in "$SRC"/tests/fuzz/fuzz_*.c; do harnesses+=("$(basename "$f" .c)"); done
fi
cmake --build "$OUT" -j2 --target "${harnesses[@]}" >"$OUT/build.log" 2>&1 ||
	{ tail -50 "$OUT/build.log"; exit 1; }
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
rc=0
mkdir -p "$OUT/crashes"
for h in "${harnesses[@]}"; do
	corpus=$OUT/corpus/$h
	mkdir -p "$corpus"
	log=$OUT/$h.log
	# New inputs go to the build's corpus; the committed one is read only.
	if "$OUT/tests/fuzz/$h" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$OUT/crashes/$h-" \
		"$corpus" "$SRC/tests/fuzz/corpus/$h" >"$log" 2>&1; then
		echo "$h: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs, no finding"
	else
		rc=1
		echo "$h: FINDING"
		grep -E -A30 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log" | head -60
		ls -l "$OUT/crashes/$h-"* 2>/dev/null
	fi
done
exit $rc
