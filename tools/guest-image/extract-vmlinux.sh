#!/bin/sh
# extract-vmlinux.sh BZIMAGE > vmlinux
# Print the ELF kernel packed in an xz-compressed x86 bzImage (Debian's
# vmlinuz). Like the kernel's scripts/extract-vmlinux, reduced to xz: look
# for each xz stream header, unpack from there, keep the first ELF result.
set -eu
img=$1
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for off in $(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$img" | cut -d: -f1); do
	tail -c +$((off + 1)) "$img" | xz -dcq >"$tmp" 2>/dev/null || true
	if [ "$(head -c 4 "$tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
		cat "$tmp"
		exit 0
	fi
done
echo "extract-vmlinux: no xz-compressed ELF kernel in '$img'" >&2
exit 1
