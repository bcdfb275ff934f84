#!/usr/bin/env bash
# Build tests/vcsim/main.go (govmomi's simulator) once, with Debian's
# golang-go and golang-github-vmware-govmomi-dev in GOPATH mode; prints
# the binary's path. Cached by the source's hash under
# $MACHINEFS_VCSIM_CACHE (default /var/cache/machinefs/vcsim, else /tmp).
# Exit 77 (skip) when Go or govmomi's source is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v go >/dev/null || { echo "vcsim: no go (apt-get install golang-go)" >&2; exit 77; }
[ -d /usr/share/gocode/src/github.com/vmware/govmomi/simulator ] ||
	{ echo "vcsim: no govmomi source (apt-get install golang-github-vmware-govmomi-dev)" >&2; exit 77; }
cache=${MACHINEFS_VCSIM_CACHE:-/var/cache/machinefs/vcsim}
mkdir -p "$cache" 2>/dev/null || cache=/tmp/machinefs-vcsim-$(id -u)
mkdir -p "$cache"
key=$( (cat "$here/main.go"; go version; dpkg-query -W golang-github-vmware-govmomi-dev 2>/dev/null || true) | sha256sum | cut -c1-16)
bin=$cache/vcsim-test-$key
if [ ! -x "$bin" ]; then
	exec 9>"$cache/.lock"
	flock 9
	if [ ! -x "$bin" ]; then
		src=$cache/gopath/src/vcsimtest
		mkdir -p "$src"
		cp "$here/main.go" "$src/main.go"
		(cd "$src" && GO111MODULE=off GOPATH="$cache/gopath:/usr/share/gocode" GOCACHE="$cache/gocache" \
			GOFLAGS=-mod=mod go build -o "$bin.tmp" . ) >&2
		mv "$bin.tmp" "$bin"
	fi
fi
echo "$bin"
