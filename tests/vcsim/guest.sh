#!/usr/bin/env bash
# The simulated VMs' "guest" (for vcsim-test -guest-cmd): a real lab host
# (tests/lab/lab.sh) per powered-on VM, reached as user docker with the
# key from the VM's guestinfo.machinefs.authorized-keys, as machinefs's
# guest image would be.
#   guest.sh up VMNAME KEYFILE   -> prints the host's IP
#   guest.sh down VMNAME
# VCSIM_LAB_HOSTS: the lab host numbers to use (e.g. 31-33);
# VCSIM_STATE: a folder for the VM -> host map.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lab=$here/../lab/lab.sh
state=${VCSIM_STATE:?}
range=${VCSIM_LAB_HOSTS:?}
mkdir -p "$state"
exec 9>"$state/.lock"
flock 9
case $1 in
up)
	name=$2 key=$3
	if [ -f "$state/vm-$name" ]; then
		n=$(cat "$state/vm-$name")
	else
		n=
		for i in $(seq "${range%-*}" "${range#*-}"); do
			grep -qx "$i" "$state"/vm-* 2>/dev/null || { n=$i; break; }
		done
		[ -n "$n" ] || { echo "no free lab host in $range" >&2; exit 1; }
		echo "$n" >"$state/vm-$name"
	fi
	"$lab" status "$n" >/dev/null 2>&1 || "$lab" up "$n" --flavour sudo --pubkey "$key" >/dev/null 9>&-
	"$lab" exec "$n" 9>&- sh -ec '
		# docker.io made a group docker: the user joins it.
		id docker >/dev/null 2>&1 || useradd -m -s /bin/bash -g docker docker 2>/dev/null ||
			useradd -m -s /bin/bash docker
		mkdir -p /home/docker/.ssh
		cp /home/machine/.ssh/authorized_keys /home/docker/.ssh/authorized_keys
		chown -R docker /home/docker/.ssh; chmod 700 /home/docker/.ssh
		echo "docker ALL=(ALL) NOPASSWD: ALL" >/etc/sudoers.d/docker; chmod 440 /etc/sudoers.d/docker
		hostname "$0"' "$name" >&2
	echo "10.213.$n.2"
	;;
down)
	name=$2
	[ -f "$state/vm-$name" ] || exit 0
	n=$(cat "$state/vm-$name")
	"$lab" down "$n" >/dev/null 2>&1 9>&- || true
	rm -f "$state/vm-$name"
	;;
*) echo "usage: guest.sh up NAME KEYFILE | down NAME" >&2; exit 2 ;;
esac
