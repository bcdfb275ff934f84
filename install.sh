#!/usr/bin/env bash
# Install every dependency (Debian 12 packages) and build machinefs, plus
# a sanitizer (ASan+UBSan) build used by the test suite.
#   ./install.sh            packages + build/ + build-asan/
#   ./install.sh --no-apt   build only
set -euo pipefail
cd "$(dirname "$0")"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

PACKAGES=(
	# build
	build-essential cmake pkg-config
	libfuse3-dev fuse3 libcurl4-openssl-dev libssl-dev libssh2-1-dev libcjson-dev libxml2-dev
	# tests: test hosts (namespaces with sshd and the Docker engine)
	openssh-server openssh-client docker.io sudo busybox-static iproute2 iptables passwd
	openssl procps psmisc util-linux python3 inotify-tools
	# tests: the store in etcd (a 3-member cluster on loopback)
	etcd-server etcd-client
	# tests: env.fish and env.tcsh sourced by the real shells
	fish tcsh
	# tests: the guest image and QEMU
	qemu-system-x86 qemu-utils cpio xz-utils zstd kmod e2fsprogs binutils xorriso socat curl
	# tests: govmomi's vCenter simulator (tests/vcsim, built in GOPATH mode)
	golang-go golang-github-vmware-govmomi-dev
	# the docker-machine wrapper and its tests
	bats jq sshfs rsync ca-certificates shellcheck
	# tests: the libFuzzer harnesses (clang, its fuzzer/sanitizer runtimes, llvm-symbolizer)
	clang libclang-rt-14-dev llvm
	# packaging and its tests: cpack's .deb (dpkg-shlibdeps), units, completions, man
	dpkg-dev systemd man-db zsh
)

if [ "${1:-}" != "--no-apt" ]; then
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMACHINEFS_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
# The guest image for the qemu driver (cached: a no-op when up to date).
if [ "${1:-}" != "--no-apt" ]; then
	$SUDO tools/guest-image/build.sh
fi

# The daemon, the docker-machine wrapper, completions (bash, zsh), the man
# page and the systemd units, by the build's install rules (prefix /usr/local).
$SUDO cmake --install build >/dev/null
echo "built build/fs/machinefs (and build-asan/ for the sanitizer suite); installed machinefs and docker-machine in /usr/local/bin"
