# docker-machine ls: the table (tabwriter, natural sort), -q, --filter, --format,
# on a store of machines in mixed states (Running, Error, never created).
load helper

setup_file() {
	wrapper_setup_file
	none_machine n1 tcp://127.0.0.1:2376
	none_machine n10 tcp://127.0.0.1:2377
	none_machine n2 tcp://127.0.0.1:2378
	mkdir "$MNT/web-1"
	put "$MNT/web-1/options/url" tcp://10.0.0.9:2376
	printf 'team=infra\nenv=Prod\n' >"$MNT/web-1/options/engine-label"
	put "$MNT/web-1/driver" none
	mkdir "$MNT/Bad"
	put "$MNT/Bad/driver" none || true # create fails: state Error
	mkdir "$MNT/z1"                    # never created: state None
}
teardown_file() { wrapper_teardown_file; }

E='Unable to query docker version: Cannot connect to the docker engine endpoint'

@test "ls: the default table" {
	run --separate-stderr docker-machine ls
	[ "$status" -eq 0 ]
	[ "$stderr" = "" ]
	[ "${#lines[@]}" -eq 7 ]
	[ "${lines[0]}" = "NAME    ACTIVE   DRIVER   STATE     URL                    SWARM   DOCKER    ERRORS" ]
	[ "${lines[1]}" = "Bad     -        none     Error                                    Unknown   --url option is required when no driver is selected" ]
	[ "${lines[2]}" = "n1      -        none     Running   tcp://127.0.0.1:2376           Unknown   $E" ]
	[ "${lines[3]}" = "n2      -        none     Running   tcp://127.0.0.1:2378           Unknown   $E" ]
	[ "${lines[4]}" = "n10     -        none     Running   tcp://127.0.0.1:2377           Unknown   $E" ]
	[ "${lines[5]}" = "web-1   -        none     Running   tcp://10.0.0.9:2376            Unknown   $E" ]
	[ "${lines[6]}" = "z1      -                                                          Unknown   " ]
}

@test "ls: the active machine follows DOCKER_HOST" {
	DOCKER_HOST=tcp://127.0.0.1:2377 run docker-machine ls
	[ "${lines[4]}" = "n10     *        none     Running   tcp://127.0.0.1:2377           Unknown   $E" ]
	DOCKER_HOST=tcp://127.0.0.1:2377 run docker-machine active
	[ "$status" -eq 0 ]
	[ "$output" = n10 ]
}

@test "ls -q: names only" {
	run docker-machine ls -q
	[ "$status" -eq 0 ]
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "Bad n1 n10 n2 web-1 z1 " ]
}

@test "ls --filter name: unanchored regexp, repeated keys OR" {
	run docker-machine ls -q --filter name=n1 --filter name=web
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "n1 n10 web-1 " ]
	run docker-machine ls -q --filter 'name=^n[0-9]$'
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "n1 n2 " ]
}

@test "ls --filter state and driver, different keys AND" {
	run docker-machine ls -q --filter state=error
	[ "$output" = "Bad" ]
	run docker-machine ls -q --filter state=Running --filter name=n1
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "n1 n10 " ]
	run docker-machine ls -q --filter driver=NONE --filter state=stopped
	[ "$output" = "" ]
	run docker-machine ls -q --filter DRIVER=none
	[ "$(wc -l <<<"$output")" -eq 5 ]
}

@test "ls --filter label: key=value, value case-insensitive" {
	run docker-machine ls --filter label=env=prod
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[1]}" = "web-1   -        none     Running   tcp://10.0.0.9:2376           Unknown   $E" ]
	run docker-machine ls -q --filter label=team=other
	[ "$output" = "" ]
}

@test "ls --filter swarm: no swarm machines here" {
	run docker-machine ls -q --filter swarm=n1
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
}

@test "ls --filter: bad syntax and unknown key" {
	run --separate-stderr docker-machine ls --filter foo
	[ "$status" -eq 1 ]
	[ "$stderr" = "Unsupported filter syntax" ]
	run --separate-stderr docker-machine ls --filter foo=bar
	[ "$status" -eq 1 ]
	[ "$stderr" = "Unsupported filter key 'foo'" ]
}

@test "ls --format: plain template, no header" {
	run docker-machine ls --format '{{.Name}}: {{.DriverName}} {{ .State }} {{.URL}}' --filter name=n
	[ "$status" -eq 0 ]
	[ "$output" = "n1: none Running tcp://127.0.0.1:2376
n2: none Running tcp://127.0.0.1:2378
n10: none Running tcp://127.0.0.1:2377" ]
}

@test "ls --format table: header row and tabwriter" {
	DOCKER_HOST=tcp://127.0.0.1:2377 run docker-machine ls --filter name=n --format 'table {{.Name}}\t{{.Active}}\t{{.State}}\t{{.ActiveHost}}'
	[ "$status" -eq 0 ]
	[ "$output" = 'NAME   ACTIVE   STATE     ACTIVE_HOST
n1     -        Running   false
n2     -        Running   false
n10    *        Running   true' ]
	# Docker Machine 0.16.2 defines no template function
	run --separate-stderr docker-machine ls --format '{{json .State}}'
	[ "$status" -eq 1 ]
	[ "$stderr" = 'template: :1: function "json" not defined' ]
}

@test "ls --format: every field has a header" {
	run docker-machine ls --filter name=n1 --format 'table {{.Name}}\t{{.Active}}\t{{.ActiveHost}}\t{{.ActiveSwarm}}\t{{.DriverName}}\t{{.State}}\t{{.URL}}\t{{.Swarm}}\t{{.Error}}\t{{.DockerVersion}}\t{{.ResponseTime}}'
	[ "$(tr -s ' ' <<<"${lines[0]}")" = "NAME ACTIVE ACTIVE_HOST ACTIVE_SWARM DRIVER STATE URL SWARM ERRORS DOCKER RESPONSE" ]
	[ "$(tr -s ' ' <<<"${lines[1]}")" = "n1 - false false none Running tcp://127.0.0.1:2376 $E Unknown 0s" ]
}

@test "ls --format: unknown field" {
	run --separate-stderr docker-machine ls --format '{{.Nope}}'
	[ "$status" -eq 1 ]
	[[ $stderr == *"can't evaluate field Nope"* ]]
}

@test "ls: unknown flag" {
	run --separate-stderr docker-machine ls --bogus
	[ "$status" -eq 0 ]
	[ "$stderr" = "flag provided but not defined: -bogus" ]
	[ "${lines[0]}" = "Incorrect Usage." ]
}

@test "ls -t: the timeout is accepted" {
	run docker-machine ls -t 5 -q --filter name=z1
	[ "$output" = z1 ]
}

@test "ls, ls -q, --filter: one open of the root's .list, no file per machine" {
	command -v strace >/dev/null || skip "strace is not installed"
	local a
	for a in "" -q "--filter state=running --filter driver=none"; do
		strace -f -qq -e trace=openat -o "$T/strace" docker-machine ls $a >/dev/null
		[ "$(grep -c "\"$MNT/.list\"" "$T/strace")" -eq 1 ]
		# only the Error row reads its own files (is its record loadable?)
		! grep "\"$MNT/[^.]" "$T/strace" | grep -v "\"$MNT/Bad/"
	done
}

@test "ls: .list's escapes undone (an error with a backslash)" {
	mkdir "$MNT/bs"
	printf '%s\n' 'tcp://a\b:1' >"$MNT/bs/options/url"
	! put "$MNT/bs/driver" none
	run docker-machine ls --filter name=^bs$ --format '{{.Name}}|{{.Error}}'
	[ "$output" = "bs|$(cat "$MNT/bs/error")" ]
	[[ $output == *'a\b'* ]]
	rmdir "$MNT/bs"
}

@test "ls: the default table (one awk) is the general path's table" {
	local f='table {{ .Name }}\t{{ .Active }}\t{{ .DriverName}}\t{{ .State }}\t{{ .URL }}\t{{ .Swarm }}\t{{ .DockerVersion }}\t{{ .Error}}'
	DOCKER_HOST=tcp://127.0.0.1:2377 docker-machine ls >"$T/fast"
	DOCKER_HOST=tcp://127.0.0.1:2377 docker-machine ls --format "$f" >"$T/general"
	cmp "$T/fast" "$T/general"
}
