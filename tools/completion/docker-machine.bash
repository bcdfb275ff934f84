# bash completion for docker-machine (tools/docker-machine, the machinefs
# wrapper): commands, global flags, each command's flags, machine names, and
# for `create` the drivers and their options read from the mounted tree
# (MNT/.drivers/NAME/options). Install: copy to
# /usr/share/bash-completion/completions/docker-machine (install.sh does).

# _docker_machine_mnt: the machinefs mount of the store in use, or nothing.
_docker_machine_mnt() {
	local store=${MACHINE_STORAGE_PATH:-$HOME/.docker/machine} i
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		case ${COMP_WORDS[i]} in
		-s|--storage-path) store=${COMP_WORDS[i + 1]} ;;
		--storage-path=*) store=${COMP_WORDS[i]#*=} ;;
		esac
	done
	[ -n "${MACHINEFS_MOUNT:-}" ] && { printf '%s' "$MACHINEFS_MOUNT"; return; }
	store=$(readlink -m "$store" 2>/dev/null) || return
	findmnt -rn -o TARGET -S "machinefs:$store" 2>/dev/null | head -n 1 |
		while IFS= read -r t; do printf '%b' "$t"; done
}

_docker_machine_names() {
	local mnt d
	mnt=$(_docker_machine_mnt)
	[ -n "$mnt" ] || return
	for d in "$mnt"/*/; do d=${d%/}; printf '%s\n' "${d##*/}"; done
}

_docker_machine_drivers() {
	local mnt d
	mnt=$(_docker_machine_mnt)
	[ -n "$mnt" ] || { printf '%s\n' none generic; return; }
	for d in "$mnt"/.drivers/*/; do d=${d%/}; printf '%s\n' "${d##*/}"; done
}

_docker_machine_create_opts() {
	local mnt=$1 drv=$2
	[ -r "$mnt/.drivers/$drv/options" ] || return
	cut -f1 "$mnt/.drivers/$drv/options" | sed 's/^/--/'
}

_docker_machine() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local cmds="active config create env inspect ip kill ls mount provision regenerate-certs restart rm scp ssh start status stop upgrade url version help"
	local globals="--debug -D --storage-path -s --tls-ca-cert --tls-ca-key --tls-client-cert --tls-client-key --github-api-token --native-ssh --bugsnag-api-token --help -h --version -v"
	local i cmd= cmdpos=0
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-s|--storage-path|--tls-ca-cert|--tls-ca-key|--tls-client-cert|--tls-client-key|--github-api-token|--bugsnag-api-token) ((i++)) ;;
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; cmdpos=$i; break ;;
		esac
	done
	if [ -z "$cmd" ]; then
		case $prev in
		-s|--storage-path) COMPREPLY=($(compgen -d -- "$cur")); return ;;
		esac
		if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$globals" -- "$cur"))
		else COMPREPLY=($(compgen -W "$cmds" -- "$cur")); fi
		return
	fi
	local flags=
	case $cmd in
	active) flags="--timeout -t" ;;
	config) flags="--swarm" ;;
	env) flags="--swarm --shell --unset -u --no-proxy" ;;
	inspect) flags="--format -f" ;;
	ls) flags="--quiet -q --filter --timeout -t --format -f" ;;
	mount) flags="--unmount -u" ;;
	regenerate-certs) flags="--force -f --client-certs" ;;
	rm) flags="--force -f -y" ;;
	scp) flags="--recursive -r --delta -d --quiet -q" ;;
	help) COMPREPLY=($(compgen -W "$cmds" -- "$cur")); return ;;
	esac
	case $cmd:$prev in
	env:--shell) COMPREPLY=($(compgen -W "bash sh zsh fish tcsh powershell cmd emacs" -- "$cur")); return ;;
	ls:--filter) COMPREPLY=($(compgen -W "driver= state= name= swarm= label=" -- "$cur")); compopt -o nospace 2>/dev/null; return ;;
	create:-d|create:--driver) COMPREPLY=($(compgen -W "$(_docker_machine_drivers)" -- "$cur")); return ;;
	esac
	if [ "$cmd" = create ]; then
		local drv=${MACHINE_DRIVER:-} mnt
		for ((i = cmdpos + 1; i < COMP_CWORD; i++)); do
			case ${COMP_WORDS[i]} in -d|--driver) drv=${COMP_WORDS[i + 1]} ;; --driver=*) drv=${COMP_WORDS[i]#*=} ;; esac
		done
		if [[ $cur == -* ]]; then
			mnt=$(_docker_machine_mnt)
			COMPREPLY=($(compgen -W "--driver -d $(_docker_machine_create_opts "$mnt" "${drv:-none}")" -- "$cur"))
		fi
		return
	fi
	case $cmd:$prev in
	ls:--format|ls:-f|inspect:--format|inspect:-f) return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$flags --help" -- "$cur"))
		return
	fi
	case $cmd in
	version|ssh|env|config|inspect|status|url)
		# one machine name, then (ssh) anything
		local n=0
		for ((i = cmdpos + 1; i < COMP_CWORD; i++)); do [[ ${COMP_WORDS[i]} == -* ]] || ((n++)); done
		[ $n -eq 0 ] && COMPREPLY=($(compgen -W "$(_docker_machine_names)" -- "$cur"))
		;;
	scp|mount)
		if [[ $cur == *:* ]]; then COMPREPLY=()
		else
			COMPREPLY=($(compgen -W "$(_docker_machine_names | sed 's/$/:/')" -- "$cur") $(compgen -f -- "$cur"))
			compopt -o nospace 2>/dev/null
		fi
		;;
	active|ls) ;;
	*) COMPREPLY=($(compgen -W "$(_docker_machine_names)" -- "$cur")) ;;
	esac
}
complete -F _docker_machine docker-machine
