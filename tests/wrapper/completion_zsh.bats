# tools/completion/_docker-machine (zsh): commands, machine names from the
# mount, drivers and their options from .drivers/. zsh's completion system
# is replaced by stubs that print the candidates offered (zsh itself then
# filters them by the word typed).
load helper

setup_file() {
	wrapper_setup_file
	none_machine cm1 tcp://127.0.0.1:2376
	none_machine other tcp://127.0.0.1:2377
}
teardown_file() { wrapper_teardown_file; }

# zcomp WORD...: the candidates for the last word, sorted, one line.
zcomp() {
	zsh -f -c '
		_describe() { local x; for x in ${(P)4}; do print -r -- ${x%%:*}; done }
		compadd() { if [[ $1 == -a ]]; then print -rl -- ${(P)2}; else [[ $1 == -- ]] && shift; print -rl -- "$@"; fi }
		file=$1; shift
		words=("$@"); CURRENT=$#
		source $file' _ "$SRCDIR/tools/completion/_docker-machine" "$@" | sort | tr "\n" " "
}

@test "zsh completion: commands and global flags" {
	[[ "$(zcomp docker-machine "")" == *" start status stop "* ]]
	[[ "$(zcomp docker-machine --)" == *"--storage-path "* ]]
}

@test "zsh completion: machine names from the mount" {
	[ "$(zcomp docker-machine start "")" = "cm1 other " ]
	[ "$(zcomp docker-machine -s "$MACHINE_STORAGE_PATH" ip "")" = "cm1 other " ]
}

@test "zsh completion: drivers and their options" {
	[[ "$(zcomp docker-machine create -d "")" == *"generic "*"none "* ]]
	[[ "$(zcomp docker-machine create -d none --)" == *"--url "* ]]
	[[ "$(zcomp docker-machine create -d none --)" == *"--engine-label "* ]]
}
