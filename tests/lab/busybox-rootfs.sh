#!/bin/sh
# busybox-rootfs.sh OUT.tar: a tiny root file system for `docker import`:
# bin/busybox (Debian's busybox-static) and bin/sh -> busybox.
#   docker import OUT.tar mfs-busybox && docker run --rm mfs-busybox /bin/busybox echo hi
set -eu
out=${1:?usage: busybox-rootfs.sh OUT.tar}
bb=${BUSYBOX:-/bin/busybox}
[ -x "$bb" ] || { echo "busybox-rootfs: no $bb: apt-get install busybox-static" >&2; exit 1; }
# A dynamically linked busybox would not run in an image without its libraries.
if ldd "$bb" >/dev/null 2>&1; then
	echo "busybox-rootfs: $bb is not static: apt-get install busybox-static" >&2
	exit 1
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/busybox-rootfs.XXXXXX")
trap 'rm -rf "$dir"' EXIT
chmod 0755 "$dir"
mkdir -p "$dir/bin" "$dir/tmp" "$dir/etc"
cp "$bb" "$dir/bin/busybox"
ln -s busybox "$dir/bin/sh"
chmod 1777 "$dir/tmp"
tar --numeric-owner --owner=0 --group=0 -C "$dir" -cf "$out" .
