# tools/completion/docker-machine.bash: commands, flags, machine names from
# the mount, drivers and their options from .drivers/.
load helper

setup_file() {
	wrapper_setup_file
	none_machine cm1 tcp://127.0.0.1:2376
	none_machine other tcp://127.0.0.1:2377
}
teardown_file() { wrapper_teardown_file; }

comp() {
	source "$SRCDIR/tools/completion/docker-machine.bash"
	COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
	_docker_machine
	[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "
}

@test "completion: commands" {
	[ "$(comp docker-machine st)" = "start status stop " ]
	[ "$(comp docker-machine re)" = "regenerate-certs restart " ]
}

@test "completion: machine names" {
	[ "$(comp docker-machine start "")" = "cm1 other " ]
	[ "$(comp docker-machine env c)" = "cm1 " ]
	[ "$(comp docker-machine env cm1 "")" = "" ]
	[ "$(comp docker-machine -s "$MACHINE_STORAGE_PATH" ip o)" = "other " ]
}

@test "completion: drivers and their options" {
	[[ "$(comp docker-machine create -d "")" == *none* ]]
	[[ "$(comp docker-machine create -d none --u)" == "--url " ]]
	[[ "$(comp docker-machine create -d none --engine-l)" == "--engine-label " ]]
}

@test "completion: flags" {
	[ "$(comp docker-machine env --shell p)" = "powershell " ]
	[ "$(comp docker-machine rm -)" = "--force --help -f -y " ]
	[ "$(comp docker-machine ls --filter "")" = "driver= label= name= state= swarm= " ]
}
