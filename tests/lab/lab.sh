#!/bin/bash
# Throwaway test hosts in Linux namespaces: real sshd, Docker installed, no
# systemd. See tests/lab/README.md.
#
#   lab.sh up N [--flavour root|sudo] [--pubkey FILE] [--no-docker]
#                          prints 10.213.N.2 once sshd answers there
#   lab.sh down N          stops host N, removes all its state (idempotent)
#   lab.sh exec N CMD...   runs CMD as root inside host N
#   lab.sh status N        prints the host's state; exit 0 when running
#   lab.sh user N          prints the login user (root or machine)
#   lab.sh down-all        downs every lab host
#
# Host N (1..254): network namespace mfs-lab-N, veth mlabNh (10.213.N.1/30)
# <-> eth0 (10.213.N.2/30) inside, no default route; mount/pid/uts/ipc/cgroup
# namespaces; root is an overlay of the real / (upper on a tmpfs at
# $MFS_LAB_DIR/N, so the real / is never written); hostname lab-N.
set -euo pipefail

LAB_DIR=${MFS_LAB_DIR:-/tmp/mfs-lab}
SELF=$(readlink -f "${BASH_SOURCE[0]}")
CGROUPS="cpu cpuacct cpuset memory devices freezer blkio pids"
SUDO_USER_NAME=machine
UP_TIMEOUT=${MFS_LAB_UP_TIMEOUT:-60}

die() { echo "lab: $*" >&2; exit 1; }

usage() {
	sed -n '4,10s/^# \{0,1\}//p' "$SELF" >&2
	exit 2
}

check_n() {
	[[ ${1:-} =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 254 ] ||
		die "host number must be 1..254, got '${1:-}'"
}

# host_vars N: sets the names used for host N.
host_vars() {
	N=$1
	D=$LAB_DIR/$N
	NS=mfs-lab-$N
	VETH=mlab${N}h
	CG=mfs-lab-$N
	HOST_IP=10.213.$N.1
	IP=10.213.$N.2
}

# with_lock N CMD...: serialises up/down of one host.
with_lock() {
	mkdir -p "$LAB_DIR"
	exec {lockfd}>"$LAB_DIR/.lock-host-$1"
	flock "$lockfd"
}

pid_alive() { [ -n "${1:-}" ] && [ -d "/proc/$1" ]; }

init_pid() {
	local p
	p=$(cat "$D/init.pid" 2>/dev/null) || return 1
	# Still the same process: its pid namespace is the one we recorded.
	pid_alive "$p" && [ "$(readlink "/proc/$p/ns/pid" 2>/dev/null)" = "$(cat "$D/pidns" 2>/dev/null)" ] ||
		return 1
	echo "$p"
}

# sshd_answers IP: true when an SSH banner comes back from IP:22.
sshd_answers() {
	local banner
	banner=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/22" && head -c 7 <&3' _ "$1" 2>/dev/null) || return 1
	[ "$banner" = SSH-2.0 ]
}

cg_setup() {
	local c
	for c in $CGROUPS; do
		[ -d "/sys/fs/cgroup/$c" ] || continue
		mkdir -p "/sys/fs/cgroup/$c/$CG"
		if [ "$c" = cpuset ]; then
			cat /sys/fs/cgroup/cpuset/cpuset.cpus >"/sys/fs/cgroup/cpuset/$CG/cpuset.cpus"
			cat /sys/fs/cgroup/cpuset/cpuset.mems >"/sys/fs/cgroup/cpuset/$CG/cpuset.mems"
		fi
	done
}

cg_join() {
	local c
	for c in $CGROUPS; do
		[ -d "/sys/fs/cgroup/$c/$CG" ] && echo "$1" >"/sys/fs/cgroup/$c/$CG/cgroup.procs"
	done
	return 0
}

# cg_remove: kills whatever is left in the host's cgroups, removes them.
cg_remove() {
	local c i left
	for i in $(seq 50); do
		left=
		for c in $CGROUPS; do
			[ -d "/sys/fs/cgroup/$c/$CG" ] || continue
			find "/sys/fs/cgroup/$c/$CG" -name cgroup.procs -exec cat {} + 2>/dev/null |
				xargs -r kill -9 2>/dev/null || true
			find "/sys/fs/cgroup/$c/$CG" -depth -type d -exec rmdir {} + 2>/dev/null || true
			[ -d "/sys/fs/cgroup/$c/$CG" ] && left=1
		done
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	echo "lab: cgroups of host $N not removed" >&2
	return 1
}

cmd_up() {
	local flavour=root pubkey= docker=1
	check_n "${1:-}"
	host_vars "$1"
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--flavour) flavour=${2:?}; shift 2 ;;
		--flavour=*) flavour=${1#*=}; shift ;;
		--pubkey) pubkey=${2:?}; shift 2 ;;
		--pubkey=*) pubkey=${1#*=}; shift ;;
		--no-docker) docker=; shift ;;
		*) die "up: unknown option '$1'" ;;
		esac
	done
	case $flavour in root | sudo) ;; *) die "up: flavour must be root or sudo, got '$flavour'" ;; esac
	[ -z "$pubkey" ] || [ -r "$pubkey" ] || die "up: cannot read public key '$pubkey'"
	[ -x /usr/sbin/sshd ] || die "up: /usr/sbin/sshd missing: apt-get install openssh-server"

	with_lock "$N"
	if init_pid >/dev/null; then
		die "up: host $N is already up (lab.sh down $N first)"
	fi
	down_locked >/dev/null 2>&1 || true

	# A failure from here on removes what was made.
	set -E
	trap 'trap - ERR; down_locked >/dev/null 2>&1 || true' ERR
	mkdir -p "$D"
	mount -t tmpfs -o size=${MFS_LAB_TMPFS_SIZE:-4g},mode=0755 "mfs-lab-$N" "$D"
	mkdir -p "$D/upper" "$D/work" "$D/root" "$D/docker"
	echo "$flavour" >"$D/flavour"
	if [ "$flavour" = sudo ]; then echo "$SUDO_USER_NAME" >"$D/user"; else echo root >"$D/user"; fi
	[ -n "$docker" ] || touch "$D/no-docker"
	if [ -n "$pubkey" ]; then cp "$pubkey" "$D/authorized_keys"; else : >"$D/authorized_keys"; fi

	# 10.213.0.0/16 stays here: a downed host's address gets "no route to
	# host" instead of following the default route off this machine.
	ip route show type unreachable 10.213.0.0/16 | grep -q . ||
		ip route add unreachable 10.213.0.0/16 2>/dev/null || true
	ip netns add "$NS"
	ip link add "$VETH" type veth peer name eth0 netns "$NS"
	ip addr add "$HOST_IP/30" dev "$VETH"
	ip link set "$VETH" up
	ip -n "$NS" link set lo up
	ip -n "$NS" addr add "$IP/30" dev eth0
	ip -n "$NS" link set eth0 up
	cg_setup

	local t0=$SECONDS
	# The keeper and init run from a copy: this file may change or go away
	# while the host lives. They don't hold our lock: they outlive us.
	cp "$SELF" "$D/lab.sh"
	setsid bash "$D/lab.sh" __keeper "$N" {lockfd}>&- </dev/null >>"$D/console.log" 2>&1 &
	while ! sshd_answers "$IP"; do
		if ! pid_alive "$(cat "$D/keeper.pid" 2>/dev/null)" && [ $((SECONDS - t0)) -gt 2 ]; then
			sed 's/^/lab: console: /' "$D/console.log" >&2
			down_locked >/dev/null 2>&1 || true
			die "up: host $N died while booting"
		fi
		if [ $((SECONDS - t0)) -ge "$UP_TIMEOUT" ]; then
			sed 's/^/lab: console: /' "$D/console.log" >&2
			down_locked >/dev/null 2>&1 || true
			die "up: sshd on $IP did not answer within ${UP_TIMEOUT}s"
		fi
		sleep 0.1
	done
	echo "$IP"
}

# The keeper runs the host's init and boots it again after a reboot (the
# init of a pid namespace calling reboot(2) dies of SIGHUP).
cmd_keeper() {
	host_vars "$1"
	echo "$BASHPID" >"$D/keeper.pid"
	cg_join "$BASHPID"
	local rc boot=0
	while :; do
		boot=$((boot + 1))
		echo "lab: host $N boot $boot"
		rc=0
		nsenter --net="/run/netns/$NS" \
			unshare --mount --uts --ipc --pid --cgroup --fork --propagation private \
			bash "$SELF" __init "$N" || rc=$?
		echo "lab: host $N init ended with status $rc"
		[ "$rc" = 129 ] || break # 129: SIGHUP, a reboot
		rm -f "$D/init.pid"
	done
	rm -f "$D/keeper.pid" "$D/init.pid"
}

# PID 1 of the host.
cmd_init() {
	host_vars "$1"
	local R=$D/root flavour user
	flavour=$(cat "$D/flavour")
	user=$(cat "$D/user")
	# /proc is still the outer one here: NSpid's first field is our pid there.
	# (read by bash itself, so /proc/self is this process)
	local k v rest
	while read -r k v rest; do
		[ "$k" = NSpid: ] && echo "$v" >"$D/init.pid"
	done </proc/self/status
	readlink "/proc/$(cat "$D/init.pid")/ns/pid" >"$D/pidns"

	mount -t overlay "mfs-lab-$N" -o "lowerdir=/,upperdir=$D/upper,workdir=$D/work" "$R"
	mount -t proc proc "$R/proc"
	mount -t sysfs sysfs "$R/sys"
	mount -t tmpfs -o mode=0755 cgroup "$R/sys/fs/cgroup"
	local c
	for c in $CGROUPS; do
		[ -d "/sys/fs/cgroup/$c" ] || continue
		mkdir "$R/sys/fs/cgroup/$c"
		mount -t cgroup -o "$c" cgroup "$R/sys/fs/cgroup/$c"
	done
	mount -t tmpfs -o mode=0755,size=16m dev "$R/dev"
	mknod -m 666 "$R/dev/null" c 1 3
	mknod -m 666 "$R/dev/zero" c 1 5
	mknod -m 666 "$R/dev/full" c 1 7
	mknod -m 666 "$R/dev/random" c 1 8
	mknod -m 666 "$R/dev/urandom" c 1 9
	mknod -m 666 "$R/dev/tty" c 5 0
	mknod -m 600 "$R/dev/console" c 5 1
	mknod -m 660 "$R/dev/kmsg" c 1 11
	[ -e /dev/fuse ] && mknod -m 666 "$R/dev/fuse" c 10 229
	mkdir "$R/dev/pts" "$R/dev/shm" "$R/dev/mqueue"
	mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$R/dev/pts"
	ln -s pts/ptmx "$R/dev/ptmx"
	mount -t tmpfs -o mode=1777 shm "$R/dev/shm"
	mount -t mqueue mqueue "$R/dev/mqueue"
	ln -s /proc/self/fd "$R/dev/fd"
	ln -s /proc/self/fd/0 "$R/dev/stdin"
	ln -s /proc/self/fd/1 "$R/dev/stdout"
	ln -s /proc/self/fd/2 "$R/dev/stderr"
	mount -t tmpfs -o mode=0755 run "$R/run"
	mount -t tmpfs -o mode=1777 tmp "$R/tmp"
	mkdir -p "$R/var/lib/docker"
	mount --bind "$D/docker" "$R/var/lib/docker"
	# A fresh /root: the real one has this machine's dotfiles.
	if [ ! -d "$D/roothome" ]; then
		mkdir -m 0700 "$D/roothome"
		cp -a /etc/skel/. "$D/roothome/"
	fi
	mount --bind "$D/roothome" "$R/root"
	# What first_boot needs from the lab's state, which is gone after pivot_root.
	cp "$D/authorized_keys" "$R/run/mfs-lab-authorized_keys"
	[ ! -e "$D/no-docker" ] || touch "$R/run/mfs-lab-no-docker"

	cd "$R"
	mkdir -p .oldroot
	pivot_root . .oldroot
	cd /
	umount -l /.oldroot
	rmdir /.oldroot

	[ -e /etc/mfs-lab-host ] || first_boot "$flavour" "$user"
	hostname "$(cat /etc/hostname)"
	mkdir -p /run/sshd /run/lock /var/log
	chmod 0755 /run/sshd
	/usr/sbin/sshd -E /var/log/sshd.log
	if [ -x /etc/rc.local ]; then /etc/rc.local </dev/null >/var/log/rc.local.log 2>&1 & fi

	# Reap orphans (bash reaps any child on SIGCHLD) until killed.
	exec </dev/null >/dev/null 2>&1
	while :; do
		sleep 3600 &
		wait $! || true
	done
}

# first_boot FLAVOUR USER: runs once per host, inside it, on the overlay.
first_boot() {
	local flavour=$1 user=$2 home
	echo "lab-$N" >/etc/hostname
	cat >/etc/hosts <<-EOF
		127.0.0.1	localhost
		127.0.1.1	lab-$N
		::1	localhost ip6-localhost ip6-loopback
	EOF
	# Fresh host keys: each host has its own.
	rm -f /etc/ssh/ssh_host_*
	ssh-keygen -q -A
	cat >/etc/ssh/sshd_config <<-EOF
		# lab host $N ($flavour)
		ListenAddress $IP
		Port 22
		HostKey /etc/ssh/ssh_host_rsa_key
		HostKey /etc/ssh/ssh_host_ecdsa_key
		HostKey /etc/ssh/ssh_host_ed25519_key
		PermitRootLogin $([ "$flavour" = root ] && echo prohibit-password || echo no)
		PubkeyAuthentication yes
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM yes
		X11Forwarding no
		PrintMotd no
		AcceptEnv LANG LC_*
		PidFile /run/sshd.pid
		Subsystem sftp /usr/lib/openssh/sftp-server
	EOF
	rm -rf /etc/ssh/sshd_config.d
	if [ "$flavour" = sudo ]; then
		useradd -m -s /bin/bash "$user"
		usermod -p '*' "$user" # no password, but not locked
		echo "$user ALL=(ALL) NOPASSWD: ALL" >"/etc/sudoers.d/$user"
		chmod 0440 "/etc/sudoers.d/$user"
	fi
	home=$(getent passwd "$user" | cut -d: -f6)
	mkdir -p "$home/.ssh"
	cp /run/mfs-lab-authorized_keys "$home/.ssh/authorized_keys"
	chmod 0700 "$home/.ssh"
	chmod 0600 "$home/.ssh/authorized_keys"
	chown -R "$user:" "$home/.ssh"
	# A Debian host has an empty /usr/local (this machine's has tools, a
	# docker client among them): recreated here, the overlay makes them opaque.
	rm -rf /usr/local/bin /usr/local/sbin
	mkdir -m 0755 /usr/local/bin /usr/local/sbin
	if [ -e /run/mfs-lab-no-docker ]; then
		dpkg --purge --no-triggers docker.io >/var/log/lab-no-docker.log 2>&1 ||
			echo "lab: dpkg --purge docker.io failed" >&2
	fi
	# No systemd: reboot/shutdown/halt/poweroff end this pid namespace
	# (reboot(2) in a pid namespace kills its init: the keeper boots again).
	local f
	for f in reboot shutdown halt poweroff; do
		rm -f "/usr/sbin/$f"
		cat >"/usr/sbin/$f" <<-'EOF'
			#!/bin/sh
			# lab host: no systemd; reboot(2) inside the pid namespace
			[ -e /etc/mfs-lab-host ] || { echo "not a lab host" >&2; exit 1; }
			op=poweroff
			case "${0##*/}" in reboot) op=reboot ;; esac
			for a in "$@"; do case "$a" in -r | --reboot) op=reboot ;; -h | -H | -P | --halt | --poweroff) op=poweroff ;; esac; done
			sync
			exec busybox "$op" -f
		EOF
		chmod 0755 "/usr/sbin/$f"
	done
	echo "$N" >/etc/mfs-lab-host
}

cmd_exec() {
	local p
	check_n "${1:-}"
	host_vars "$1"
	shift
	[ $# -gt 0 ] || die "exec: no command"
	p=$(init_pid) || die "exec: host $N is not running"
	cg_join "$BASHPID" 2>/dev/null || true
	exec nsenter --target "$p" --mount --uts --ipc --net --pid --cgroup --root --wd \
		env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 "$@"
}

# down_locked: host_vars set, lock held.
down_locked() {
	local kp ip_ p i
	kp=$(cat "$D/keeper.pid" 2>/dev/null || true)
	if pid_alive "$kp" && grep -q __keeper "/proc/$kp/cmdline" 2>/dev/null; then
		kill -9 "$kp" 2>/dev/null || true
	fi
	if ip_=$(init_pid); then
		kill -9 "$ip_" 2>/dev/null || true
		for i in $(seq 100); do pid_alive "$ip_" || break; sleep 0.05; done
	fi
	# Any process left in the host's pid namespace (there should be none).
	if [ -s "$D/pidns" ]; then
		local ns
		ns=$(cat "$D/pidns")
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$ns" ] && { kill -9 "${p#/proc/}" 2>/dev/null || true; }
		done
	fi
	cg_remove || true
	ip netns del "$NS" 2>/dev/null || true
	ip link del "$VETH" 2>/dev/null || true
	if mountpoint -q "$D" 2>/dev/null; then
		umount "$D" 2>/dev/null || umount -l "$D"
	fi
	rm -rf "$D"
}

cmd_down() {
	check_n "${1:-}"
	host_vars "$1"
	with_lock "$N"
	down_locked
}

cmd_down_all() {
	local n set=() x
	for x in "$LAB_DIR"/[0-9]*; do [ -e "$x" ] && set+=("${x##*/}"); done
	for x in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		[[ $x =~ ^mfs-lab-([0-9]+)$ ]] && set+=("${BASH_REMATCH[1]}")
	done
	for x in /sys/fs/cgroup/*/mfs-lab-*; do
		[[ $x =~ /mfs-lab-([0-9]+)$ ]] && set+=("${BASH_REMATCH[1]}")
	done
	for n in $(printf '%s\n' "${set[@]}" | sort -un); do
		(cmd_down "$n")
	done
}

cmd_status() {
	local p
	check_n "${1:-}"
	host_vars "$1"
	if p=$(init_pid); then
		echo "host $N: running, ip $IP, flavour $(cat "$D/flavour"), user $(cat "$D/user"), init pid $p"
		if sshd_answers "$IP"; then echo "sshd: answering on $IP:22"; else echo "sshd: not answering on $IP:22"; fi
		return 0
	fi
	if [ -d "$D" ] || ip netns list 2>/dev/null | grep -qw "$NS"; then
		echo "host $N: stopped (state left: lab.sh down $N)"
	else
		echo "host $N: absent"
	fi
	return 1
}

cmd_user() {
	check_n "${1:-}"
	host_vars "$1"
	cat "$D/user" 2>/dev/null || die "user: host $N is not up"
}

# One block, read whole before it runs: a keeper that outlives an edit of
# this file never reads past its end.
{
[ "$(id -u)" = 0 ] || die "must run as root"
cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
up) cmd_up "$@" ;;
down) cmd_down "$@" ;;
down-all) cmd_down_all ;;
exec) cmd_exec "$@" ;;
status) cmd_status "$@" ;;
user) cmd_user "$@" ;;
__keeper) cmd_keeper "$@" ;;
__init) cmd_init "$@" ;;
*) usage ;;
esac
exit $?
}
