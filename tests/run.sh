#!/usr/bin/env bash
# Run the whole test suite: every test on the normal build, then again on
# the ASan+UBSan build (all but those that run none of our C code built
# there: the guest image's boot and guestinfo hook, the lab's smoke test).
set -uo pipefail
cd "$(dirname "$0")/.."
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
rc=0
ctest --test-dir build --output-on-failure "$@" || rc=1
if [ -d build-asan ]; then
	echo "== the same under ASan+UBSan =="
	ctest --test-dir build-asan --output-on-failure -E 'e2e/t_(guest_image_boot|guest_image_guestinfo|lab_smoke)' "$@" || rc=1
fi
exit $rc
