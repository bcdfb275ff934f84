#!/usr/bin/env bash
# ctest entry: the docker-machine wrapper's bats suite (tests/wrapper/*.bats),
# each file against its own store and machinefs mount.
set -u
SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build}
export SRCDIR MACHINEFS=${MACHINEFS:-$BUILDDIR/fs/machinefs}
command -v bats >/dev/null || { echo "bats is not installed (apt-get install bats)"; exit 1; }
command -v jq >/dev/null || { echo "jq is not installed (apt-get install jq)"; exit 1; }
exec bats "$SRCDIR/tests/wrapper"
