#!/bin/sh
# Build machinefs's boot2docker-like guest image from Debian packages only.
#
#   tools/guest-image/build.sh [--force] [OUTDIR]
#
# OUTDIR defaults to $MACHINEFS_GUEST_CACHE or /var/cache/machinefs/guest.
# Downloaded .debs are kept in $MACHINEFS_GUEST_CACHE/debs (or OUTDIR/debs).
# Output (README.md next to this script describes the guest's interface):
#   OUTDIR/vmlinux         the kernel, extracted from Debian's xz bzImage
#                          (boots ~5 s faster under TCG; QEMU -kernel boots it
#                          through its PVH entry point)
#   OUTDIR/vmlinuz         Debian's bzImage as shipped
#   OUTDIR/initrd          uncompressed newc cpio: fastest, needs >= 1 GiB RAM
#   OUTDIR/initrd.zst      the same, zstd -3: for guests with less memory
#   OUTDIR/manifest.txt    cache key, package versions, sizes, sha256
#   OUTDIR/SHA256SUMS
# The cache key is the sha256 of the package versions, the files under
# tools/guest-image/ and SOURCE_DATE_EPOCH: when it matches the manifest and
# the outputs' checksums, the run is a no-op.
#   OUTDIR/machinefs.iso   isolinux ISO of vmlinuz + initrd.zst (if xorriso
#                          is installed)
# Needs: apt-get, apt-cache, dpkg-deb, tar, cpio, xz, zstd, readelf
# (binutils), depmod (kmod), sha256sum, a C compiler with static glibc
# (cc, libc6-dev: vmw-guestinfo.c, VMware's guestinfo reader), xorriso
# (optional); root (device nodes, setuid sudo).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
force=0
if [ "${1:-}" = "--force" ]; then force=1; shift; fi
cache=${MACHINEFS_GUEST_CACHE:-/var/cache/machinefs/guest}
out=${1:-$cache}
debs=$cache/debs
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1735689600}
export SOURCE_DATE_EPOCH LC_ALL=C TZ=UTC

log() { printf '[%s] guest-image: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

CC=${CC:-cc}
for t in apt-get apt-cache dpkg-deb tar cpio xz zstd readelf depmod sha256sum "$CC"; do
	command -v "$t" >/dev/null 2>&1 || die "cannot find '$t' (install: apt-get install -y apt dpkg tar cpio xz-utils zstd binutils kmod coreutils gcc libc6-dev)"
done
[ "$(id -u)" = 0 ] || die "must run as root (device nodes and setuid sudo in the cpio)"

# What goes in. Libraries are found below from the binaries' DT_NEEDED.
PKGS="busybox-static openssh-server openssh-sftp-server openssh-client
docker.io containerd runc tini iptables e2fsprogs sudo libpam-modules
ca-certificates"
KMETA=linux-image-amd64
# The ISO (for VirtualBox-style boots) is built when xorriso is installed.
ISO_PKGS="isolinux syslinux-common"
iso=no
command -v xorriso >/dev/null 2>&1 && iso=yes

# ---------------------------------------------------------------- versions
kpkg=$(apt-cache depends "$KMETA" | awk '/Depends: linux-image-/ {print $2; exit}')
[ -n "$kpkg" ] || die "cannot resolve '$KMETA' to a kernel package (apt-get update?)"
# The library closure of PKGS, by name (lib*, zlib1g): alternatives such as
# libelogind0 and perl modules are left out.
libpkgs=$(apt-cache depends --recurse --no-recommends --no-suggests \
	--no-conflicts --no-breaks --no-replaces --no-enhances $PKGS |
	grep -v '^[ <]' | grep -E '^(lib|zlib1g$)' |
	grep -Ev '^(libelogind0|libperl|lib.*-perl$)' | sort -u)
all=$(printf '%s\n' $PKGS $ISO_PKGS $kpkg $libpkgs | sort -u)
# name version arch sha256, one line a package (the candidate version)
pkginfo=$(apt-cache show --no-all-versions $all | awk '
	/^Package:/ {p=$2} /^Version:/ {v=$2} /^Architecture:/ {a=$2}
	/^SHA256:/ {s=$2} /^$/ { if (p != "") print p, v, a, s; p="" }
	END { if (p != "") print p, v, a, s }' | sort -u)
[ "$(printf '%s\n' "$pkginfo" | wc -l)" -ge "$(printf '%s\n' $all | wc -l)" ] ||
	die "apt-cache knows only some of: $(echo $all)"
srchash=$(cd "$here" && find . -type f ! -name '*~' ! -name '*.md' ! -name .gitignore | sort | xargs sha256sum | sha256sum | cut -c1-64)
ccver=$("$CC" --version 2>/dev/null | head -n 1)
key=$(printf '%s\n%s\n%s\niso=%s\ncc=%s\n' "$pkginfo" "$srchash" "$SOURCE_DATE_EPOCH" "$iso" "$ccver" | sha256sum | cut -c1-64)

outputs="vmlinux vmlinuz initrd initrd.zst"
[ $iso = no ] || outputs="$outputs machinefs.iso"
if [ $force = 0 ] && [ -f "$out/manifest.txt" ] &&
	grep -qx "key: $key" "$out/manifest.txt" &&
	(cd "$out" && sha256sum --quiet -c SHA256SUMS) >/dev/null 2>&1; then
	log "up to date in $out (key ${key%????????????????????????????????????????????????})"
	exit 0
fi

t_start=$(date +%s)
mkdir -p "$debs" "$out"
work=$(mktemp -d "$out/.build.XXXXXX")
work=$(cd "$work" && pwd -P)
trap 'rm -rf "$work"' EXIT INT TERM

# ---------------------------------------------------------------- download
need=""
printf '%s\n' "$pkginfo" | while read -r p v a s; do
	f=${p}_$(printf %s "$v" | sed 's/:/%3a/')_$a.deb
	if [ ! -f "$debs/$f" ] && [ -f "/var/cache/apt/archives/$f" ]; then
		cp "/var/cache/apt/archives/$f" "$debs/$f.tmp" && mv "$debs/$f.tmp" "$debs/$f"
	fi
	if [ -f "$debs/$f" ] && [ "$(sha256sum <"$debs/$f" | cut -c1-64)" != "$s" ]; then
		log "checksum mismatch, downloading again: $f"; rm -f "$debs/$f"
	fi
	[ -f "$debs/$f" ] || echo "$p=$v"
done >"$work/need"
need=$(cat "$work/need")
if [ -n "$need" ]; then
	log "downloading $(echo $need | wc -w) packages"
	(cd "$debs" && apt-get -q -o APT::Sandbox::User=root download $need >&2) ||
		die "apt-get download failed"
fi

# ---------------------------------------------------------------- extract
# A merged-/usr sysroot: /bin, /sbin, /lib, /lib64 point into /usr.
sys=$work/sysroot img=$work/image
for r in "$sys" "$img"; do
	mkdir -p "$r/usr/bin" "$r/usr/sbin" "$r/usr/lib" "$r/usr/lib64"
	ln -s usr/bin "$r/bin"; ln -s usr/sbin "$r/sbin"
	ln -s usr/lib "$r/lib"; ln -s usr/lib64 "$r/lib64"
done
printf '%s\n' "$pkginfo" | while read -r p v a s; do
	[ "$p" = "$kpkg" ] && continue
	f=${p}_$(printf %s "$v" | sed 's/:/%3a/')_$a.deb
	dpkg-deb --fsys-tarfile "$debs/$f" | tar -x --keep-directory-symlink -C "$sys"
done
kdeb=$(printf '%s\n' "$pkginfo" | awk -v k="$kpkg" '$1 == k {print $1 "_" $2 "_" $3 ".deb"}' | sed 's/:/%3a/')
mkdir -p "$work/kernel"
dpkg-deb --fsys-tarfile "$debs/$kdeb" | tar -x -C "$work/kernel" ./boot ./lib/modules
kver=$(ls "$work/kernel/lib/modules")
log "extracted $(printf '%s\n' "$pkginfo" | wc -l) packages, kernel $kver"

# ---------------------------------------------------------------- files
# add PATH: copy PATH from the sysroot to the image, following symlink
# chains (each link and its target are copied).
add() {
	p=$1
	while :; do
		d=$(dirname "$p")
		[ -e "$sys$d" ] || die "missing in packages: $p"
		d=$(cd "$sys$d" && pwd -P); d=${d#"$sys"}
		p=$d/$(basename "$p")
		[ -e "$img$p" ] || [ -L "$img$p" ] && return 0
		[ -e "$sys$p" ] || [ -L "$sys$p" ] || die "missing in packages: $p"
		mkdir -p "$img$d"
		cp -P -p "$sys$p" "$img$p"
		echo "$p" >>"$work/added"
		[ -L "$sys$p" ] || return 0
		t=$(readlink "$sys$p")
		case $t in /*) p=$t ;; *) p=$d/$t ;; esac
	done
}

BINS="/usr/bin/busybox
/usr/sbin/sshd /usr/lib/openssh/sftp-server /usr/bin/scp /usr/bin/ssh-keygen
/usr/sbin/dockerd /usr/bin/docker /usr/sbin/docker-proxy /usr/bin/docker-init
/usr/bin/tini-static /usr/bin/containerd /usr/bin/containerd-shim-runc-v2
/usr/sbin/runc
/usr/sbin/xtables-legacy-multi
/usr/sbin/mke2fs /usr/sbin/mkfs.ext4 /usr/sbin/e2fsck /usr/sbin/fsck.ext4
/usr/sbin/tune2fs /usr/sbin/e2label /usr/sbin/resize2fs /etc/mke2fs.conf
/usr/bin/sudo /usr/libexec/sudo/sudoers.so
/usr/lib/x86_64-linux-gnu/security/pam_permit.so
/usr/lib/x86_64-linux-gnu/security/pam_deny.so"
for f in $BINS; do add "$f"; done
[ -e "$sys/usr/bin/runc" ] && add /usr/bin/runc
for f in "$sys"/usr/lib/x86_64-linux-gnu/xtables/*.so; do add "${f#"$sys"}"; done

# Shared libraries: DT_NEEDED closure, searched in RUNPATH, then the usual dirs.
: >"$work/done"
while :; do
	new=0
	for f in $(sort -u "$work/added"); do
		grep -qxF "$f" "$work/done" && continue
		echo "$f" >>"$work/done"
		[ -f "$img$f" ] && [ ! -L "$img$f" ] || continue
		head -c 4 "$img$f" | grep -q ELF || continue
		rp=$(readelf -d "$img$f" 2>/dev/null | sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]/\2/p' | tr ':' ' ')
		for so in $(readelf -d "$img$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			found=""
			for d in $rp /usr/lib/x86_64-linux-gnu /usr/lib /usr/lib64; do
				if [ -e "$sys$d/$so" ]; then found=$d/$so; break; fi
			done
			[ -n "$found" ] || die "'$f' needs '$so', found in no package"
			add "$found"; new=1
		done
		interp=$(readelf -l "$img$f" 2>/dev/null | sed -n 's/.*interpreter: \(.*\)\]/\1/p')
		[ -z "$interp" ] || add "$interp"
	done
	[ $new = 1 ] || break
done

# busybox applets, where no real program was added
"$img/usr/bin/busybox" --list-full | while read -r a; do
	[ -e "$img/$a" ] || [ -L "$img/$a" ] || ln -s /usr/bin/busybox "$img/$a"
done
for t in iptables iptables-save iptables-restore ip6tables ip6tables-save \
	ip6tables-restore iptables-legacy iptables-legacy-save \
	iptables-legacy-restore ip6tables-legacy ip6tables-legacy-save \
	ip6tables-legacy-restore; do
	ln -sf xtables-legacy-multi "$img/usr/sbin/$t"
done
ln -s bin/busybox "$img/init"

# CA certificates for registries (the guest may pull images)
mkdir -p "$img/etc/ssl/certs"
find "$sys/usr/share/ca-certificates" -name '*.crt' | sort | xargs cat >"$img/etc/ssl/certs/ca-certificates.crt"

# our files: init scripts, configuration
cp -R "$here/rootfs/." "$img/"
# VMware's guestinfo reader (rootfs/usr/lib/machinefs/vmware-guestinfo runs
# it at boot): static, so it needs nothing from the image's libraries.
"$CC" -std=c11 -O2 -Wall -Wextra -Werror -static -s \
	-o "$img/usr/lib/machinefs/vmw-guestinfo" "$here/vmw-guestinfo.c" ||
	die "cannot compile vmw-guestinfo.c (needs gcc and libc6-dev)"
mkdir -p "$img/dev" "$img/proc" "$img/sys" "$img/run" "$img/tmp" "$img/mnt" \
	"$img/root" "$img/home/docker/.ssh" "$img/var/log" "$img/var/lib/docker" \
	"$img/var/lib/boot2docker" "$img/var/lib/sudo" "$img/etc/docker" \
	"$img/usr/local/bin"
ln -s ../run "$img/var/run"; ln -s ../run/lock "$img/var/lock"
ln -s /proc/mounts "$img/etc/mtab"
mknod -m 600 "$img/dev/console" c 5 1
mknod -m 666 "$img/dev/null" c 1 3
docker_version=$(printf '%s\n' "$pkginfo" | awk '$1 == "docker.io" {print $2}')
cat >"$img/etc/os-release" <<EOF
NAME="machinefs guest"
ID=machinefs-guest
ID_LIKE=boot2docker
VERSION_ID=1
VERSION="1 (docker $docker_version, Debian 12 packages)"
PRETTY_NAME="machinefs guest 1 (boot2docker-like, docker $docker_version)"
BUILD_ID=$(echo "$key" | cut -c1-12)
HOME_URL="https://github.com/docker/machine"
EOF
printf '%s\n' "$pkginfo" | awk '{print $1, $2}' >"$img/etc/machinefs-packages"

# kernel modules: these, their dependencies, and the netfilter/bridge trees
depmod -b "$work/kernel" "$kver"
kmods="virtio_pci virtio_blk virtio_net virtio_rng virtio_console
ext4 crc32c_generic overlay veth vxlan macvlan ipvlan dummy tun
button evdev qemu_fw_cfg br_netfilter ahci ata_piix sd_mod e1000"
kdirs="kernel/net/netfilter kernel/net/ipv4/netfilter kernel/net/ipv6/netfilter kernel/net/bridge"
kd=$work/kernel/lib/modules/$kver
{
	for m in $kmods; do
		awk -v m="$m" -F: '{ n=$1; sub(/.*\//, "", n); sub(/\.ko.*$/, "", n);
			gsub(/-/, "_", n); if (n == m) print $0 }' "$kd/modules.dep" |
			grep . || die "no module '$m' in $kver"
	done
	for d in $kdirs; do grep "^$d/" "$kd/modules.dep"; done
} | tr ': ' '\n\n' | grep . | sort -u >"$work/kmods"
while read -r m; do
	mkdir -p "$img/usr/lib/modules/$kver/$(dirname "$m")"
	cp -p "$kd/$m" "$img/usr/lib/modules/$kver/$m"
done <"$work/kmods"
cp -p "$kd/modules.order" "$kd/modules.builtin" "$kd/modules.builtin.modinfo" "$img/usr/lib/modules/$kver/"
depmod -b "$img" "$kver"
log "$(wc -l <"$work/kmods") kernel modules"

# ownership, modes, times: everything root's but the docker user's home
chown -R 0:0 "$img"
chown -R 1000:50 "$img/home/docker"
chmod 700 "$img/home/docker/.ssh" "$img/root"
chmod 1777 "$img/tmp"
chmod 440 "$img/etc/sudoers"
chmod 4755 "$img/usr/bin/sudo" # after chown, which clears set-uid
chmod 600 "$img/etc/shadow"
find "$img" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# ---------------------------------------------------------------- outputs
(cd "$img" && find . -mindepth 1 | sed 's,^\./,,' | sort |
	cpio -o -H newc --reproducible --quiet) >"$work/initrd"
zstd -q -3 -T1 "$work/initrd" -o "$work/initrd.zst"
cp -p "$work/kernel/boot/vmlinuz-$kver" "$work/vmlinuz"
sh "$here/extract-vmlinux.sh" "$work/vmlinuz" >"$work/vmlinux"
touch -d "@$SOURCE_DATE_EPOCH" "$work/initrd" "$work/initrd.zst" "$work/vmlinuz" "$work/vmlinux"
if [ $iso = yes ]; then
	# isolinux boots vmlinuz + initrd.zst; the console is the serial port
	# (machinefs's boot log), the screen shows the kernel's messages.
	i=$work/iso
	mkdir -p "$i/isolinux" "$i/boot"
	cp "$sys/usr/lib/ISOLINUX/isolinux.bin" "$sys/usr/lib/syslinux/modules/bios/ldlinux.c32" "$i/isolinux/"
	cp "$work/vmlinuz" "$i/boot/vmlinuz"
	cp "$work/initrd.zst" "$i/boot/initrd.zst"
	cat >"$i/isolinux/isolinux.cfg" <<-EOF
	DEFAULT machinefs
	PROMPT 0
	TIMEOUT 1
	LABEL machinefs
	  KERNEL /boot/vmlinuz
	  INITRD /boot/initrd.zst
	  APPEND console=tty0 console=ttyS0 quiet rootfstype=ramfs
	EOF
	find "$i" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	xorriso -as mkisofs -quiet -o "$work/machinefs.iso" -V MACHINEFS -R -J \
		-isohybrid-mbr "$sys/usr/lib/ISOLINUX/isohdpfx.bin" \
		-b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot \
		-boot-load-size 4 -boot-info-table "$i" 2>&1 | grep -v '^xorriso : NOTE' >&2 || true
	[ -s "$work/machinefs.iso" ] || die "xorriso made no ISO"
	touch -d "@$SOURCE_DATE_EPOCH" "$work/machinefs.iso"
fi
(cd "$work" && sha256sum $outputs) >"$work/SHA256SUMS"
{
	echo "machinefs guest image"
	echo "key: $key"
	echo "kernel: $kver ($kpkg)"
	echo "source_date_epoch: $SOURCE_DATE_EPOCH"
	echo "files: $(find "$img" ! -type d | wc -l), tree $(du -sm "$img" | cut -f1) MiB"
	echo "cmdline: console=ttyS0 quiet machinefs.hostname=NAME"
	echo "memory: initrd >= 1024 MiB (768 with rootfstype=ramfs); initrd.zst + rootfstype=ramfs >= 512 MiB"
	for f in $outputs; do echo "size: $f $(stat -c %s "$work/$f")"; done
	echo "packages:"
	printf '%s\n' "$pkginfo" | awk '{print "  " $1, $2, $3}'
	echo "sha256:"
	sed 's/^/  /' "$work/SHA256SUMS"
} >"$work/manifest.txt"
for f in $outputs SHA256SUMS; do mv -f "$work/$f" "$out/$f"; done
mv -f "$work/manifest.txt" "$out/manifest.txt"
log "built in $(($(date +%s) - t_start)) s: $out (initrd $(($(stat -c %s "$out/initrd") / 1048576)) MiB)"
