# The other commands with the none driver: create (progress, hint, errors,
# exit codes), inspect -f forms, status/url/ip/active/version, rm and its
# prompt, start/stop/... on several names, help, unknown commands and flags.
load helper

setup_file() {
	wrapper_setup_file
	none_machine n1 tcp://127.0.0.1:2376
	none_machine n2 tcp://10.1.2.3:2376
	printf 'a=b\nc=d\n' >"$MNT/n2/options/engine-label" || true
	mkdir "$MNT/z1"
}
teardown_file() { wrapper_teardown_file; }

NOTEXIST='Docker machine "nope" does not exist. Use "docker-machine ls" to list machines. Use "docker-machine create" to add a new one.'

@test "create -d none: progress lines and the closing hint" {
	run --separate-stderr docker-machine create -d none --url tcp://127.0.0.1:2380 --engine-label x=y c1
	[ "$status" -eq 0 ]
	[ "$output" = "Running pre-create checks...
Creating machine...
To see how to connect your Docker Client to the Docker Engine running on this virtual machine, run: docker-machine env c1" ]
	[ "$(cat "$MNT/c1/state")" = Running ]
	[ "$(cat "$MNT/c1/options/engine-label")" = "x=y" ]
	run docker-machine inspect -f '{{.HostOptions.EngineOptions.Labels}}' c1
	[ "$output" = "[x=y]" ]
}

@test "create: the first create makes the CA and client certificate" {
	local s=$T/store2
	run --separate-stderr docker-machine -s "$s" create -d none --url=tcp://127.0.0.1:2381 first
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Creating CA: $s/certs/ca.pem" ]
	[ "${lines[1]}" = "Creating client certificate: $s/certs/cert.pem" ]
	[ "${lines[2]}" = "Running pre-create checks..." ]
	# the wrapper mounted the store itself: unmount it
	local mp
	mp=$(findmnt -rn -o TARGET -S "machinefs:$s")
	[ -n "$mp" ]
	fusermount3 -u "$mp"
}

@test "create: options from the environment (MACHINE_DRIVER, engine env vars)" {
	MACHINE_DRIVER=none MACHINE_DOCKER_INSTALL_URL=none run docker-machine create --url tcp://127.0.0.1:2382 c2
	[ "$status" -eq 0 ]
	[ "$(cat "$MNT/c2/driver")" = none ]
	[ "$(cat "$MNT/c2/options/engine-install-url")" = none ]
}

@test "create: list options repeat" {
	run docker-machine create -d none --url tcp://127.0.0.1:2383 --engine-opt a=1 --engine-opt b=2 --tls-san x.example c3
	[ "$status" -eq 0 ]
	[ "$(cat "$MNT/c3/options/engine-opt")" = "a=1
b=2" ]
	[ "$(cat "$MNT/c3/options/tls-san")" = "x.example" ]
}

@test "create: no name" {
	run --separate-stderr docker-machine create -d none
	[ "$status" -eq 1 ]
	[ "$stderr" = "Error: No machine name specified" ]
	[[ ${lines[0]} == "Usage: docker-machine create [OPTIONS] [arg...]" ]]
}

@test "create: invalid name" {
	run --separate-stderr docker-machine create -d none --url tcp://1.2.3.4:1 _bad
	[ "$status" -eq 1 ]
	[ "$stderr" = "Error creating machine: Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -" ]
	[ ! -e "$MNT/_bad" ]
}

@test "create: already exists" {
	run --separate-stderr docker-machine create -d none --url tcp://1.2.3.4:1 n1
	[ "$status" -eq 1 ]
	[ "$stderr" = 'Docker machine "n1" already exists' ]
}

@test "create: extra arguments" {
	run --separate-stderr docker-machine create -d none --url tcp://1.2.3.4:1 a b c
	[ "$status" -eq 1 ]
	[ "$stderr" = "Invalid command line. Found extra arguments [b c]" ]
}

@test "create: unknown flag, unknown driver" {
	run --separate-stderr docker-machine create -d none --bogus x m9
	[ "$status" -eq 1 ]
	[ "$stderr" = "flag provided but not defined: -bogus" ]
	run --separate-stderr docker-machine create -d nosuch m9
	[ "$status" -eq 1 ]
	[ "$stderr" = 'Driver "nosuch" not found. Do you have the plugin binary "docker-machine-driver-nosuch" accessible in your PATH?' ]
	[ ! -e "$MNT/m9" ]
}

@test "create: missing --url leaves nothing behind" {
	run --separate-stderr docker-machine create -d none m8
	[ "$status" -eq 1 ]
	[ "$stderr" = "Error setting machine configuration from flags provided: --url option is required when no driver is selected" ]
	[ ! -e "$MNT/m8" ]
}

@test "create -h lists the driver's options" {
	run docker-machine create -d none -h
	[ "$status" -eq 0 ]
	# padded with tabs as the cli library's tabwriter does; a string flag
	# without a default shows no value (dm_compat.bats: the whole text)
	[[ $output =~ --url\ $'\t'+URL\ of\ host\ when\ no\ driver\ is\ selected ]]
	[[ $output == *'--engine-label [--engine-label option --engine-label option]'* ]]
}

@test "inspect: the record, 4-space JSON" {
	run docker-machine inspect n1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "{" ]
	[ "${lines[1]}" = '    "ConfigVersion": 3,' ]
	[ "${lines[-1]}" = "}" ]
	[ "$(jq -r .DriverName <<<"$output")" = none ]
}

@test "inspect -f: field paths, json, prettyjson, text around" {
	run docker-machine inspect -f '{{.Driver.IPAddress}}' n1
	[ "$output" = "127.0.0.1:2376" ]
	run docker-machine inspect --format '{{ .DriverName }}/{{.Name}}' n1
	[ "$output" = "none/n1" ]
	run docker-machine inspect -f '{{json .Driver.SSHPort}} {{.Driver.SwarmMaster}} {{.Driver.Nope}}' n1
	[ "$output" = "0 false <no value>" ]
	run docker-machine inspect -f '{{json .Driver}}' n1
	[ "$output" = "{\"IPAddress\":\"127.0.0.1:2376\",\"MachineName\":\"n1\",\"SSHKeyPath\":\"\",\"SSHPort\":0,\"SSHUser\":\"\",\"StorePath\":\"$MACHINE_STORAGE_PATH\",\"SwarmDiscovery\":\"\",\"SwarmHost\":\"\",\"SwarmMaster\":false,\"URL\":\"tcp://127.0.0.1:2376\"}" ]
	run docker-machine inspect -f '{{prettyjson .Driver}}' n1
	[ "${lines[0]}" = "{" ]
	# 4 spaces, as Docker Machine 0.16.2 indents
	[ "${lines[1]}" = '    "IPAddress": "127.0.0.1:2376",' ]
	run docker-machine inspect -f '{{prettyjson .}}' n1
	[ "${lines[1]}" = '    "ConfigVersion": 3,' ]
	run docker-machine inspect -f '{{.HostOptions.SwarmOptions.Host}}' n1
	[ "$output" = "tcp://0.0.0.0:3376" ]
}

@test "inspect: errors" {
	run --separate-stderr docker-machine inspect n1 n2
	[ "$status" -eq 1 ]
	[ "$stderr" = "Error: Expected one machine name as an argument" ]
	run --separate-stderr docker-machine inspect nope
	[ "$status" -eq 1 ]
	[ "$stderr" = "$NOTEXIST" ]
	run --separate-stderr docker-machine inspect
	[ "$stderr" = 'Error: No machine name(s) specified and no "default" machine exists' ]
}

@test "status, url, ip" {
	run docker-machine status n1
	[ "$output" = Running ]
	run docker-machine status z1
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	run docker-machine url n1
	[ "$output" = tcp://127.0.0.1:2376 ]
	run docker-machine ip n1
	[ "$output" = 127.0.0.1:2376 ]
	run docker-machine ip n1 n2
	[ "$output" = "127.0.0.1:2376
10.1.2.3:2376" ]
}

@test "status, url, ip: errors" {
	for c in status url ip; do
		run --separate-stderr docker-machine $c nope
		[ "$status" -eq 1 ]
		[ "$stderr" = "$NOTEXIST" ]
		run --separate-stderr docker-machine $c
		[ "$status" -eq 1 ]
		[ "$stderr" = 'Error: No machine name(s) specified and no "default" machine exists' ]
	done
	run --separate-stderr docker-machine status n1 n2
	[ "$stderr" = "Error: Expected one machine name as an argument" ]
	run --separate-stderr docker-machine url z1
	[ "$status" -eq 1 ]
	[ "$stderr" = "Host is not running" ]
}

@test "the default machine" {
	none_machine default tcp://127.0.0.1:2390
	run docker-machine url
	[ "$output" = tcp://127.0.0.1:2390 ]
	run docker-machine status
	[ "$output" = Running ]
	run docker-machine ip
	[ "$output" = 127.0.0.1:2390 ]
	run docker-machine rm -y default
	[ "$status" -eq 0 ]
	[ ! -e "$MNT/default" ]
}

@test "active" {
	DOCKER_HOST=tcp://127.0.0.1:2376 run docker-machine active
	[ "$output" = n1 ]
	DOCKER_HOST= run --separate-stderr docker-machine active
	[ "$status" -eq 1 ]
	[ "$stderr" = "No active host found" ]
	run --separate-stderr docker-machine active n1
	[ "$status" -eq 1 ]
	[ "$stderr" = "Error: Too many arguments given" ]
}

@test "version" {
	run docker-machine version
	[ "$output" = "docker-machine version 0.16.2, build machinefs" ]
	run docker-machine --version
	[ "$output" = "docker-machine version 0.16.2, build machinefs" ]
	run docker-machine -v
	[ "$status" -eq 0 ]
}

@test "start/stop/kill/restart on several machines: each failure reported" {
	run --separate-stderr docker-machine stop n1 n2
	[ "$status" -eq 1 ]
	[[ $output == *'Stopping "n1"...'* ]]
	[[ $output == *'Stopping "n2"...'* ]]
	[ "$stderr" = "hosts without a driver cannot be stopped
hosts without a driver cannot be stopped" ]
	run --separate-stderr docker-machine start n1
	[ "$status" -eq 1 ]
	[ "$stderr" = 'Machine "n1" is already running.' ]
	run --separate-stderr docker-machine kill n1 nope
	[ "$status" -eq 1 ]
	[ "$stderr" = "$NOTEXIST" ]
	run --separate-stderr docker-machine restart
	[ "$stderr" = 'Error: No machine name(s) specified and no "default" machine exists' ]
}

@test "rm: prompt, no, yes, -y, -f" {
	none_machine r1 tcp://127.0.0.1:2391
	none_machine r2 tcp://127.0.0.1:2392
	run --separate-stderr bash -c 'echo n | docker-machine rm r1'
	[ "$status" -eq 0 ]
	[ "$output" = "About to remove r1
WARNING: This action will delete both local reference and remote instance.
Are you sure? (y/n): " ]
	[ "$stderr" = "" ]
	[ -d "$MNT/r1" ]
	run --separate-stderr bash -c 'echo Yes | docker-machine rm r1'
	[ "$output" = "About to remove r1
WARNING: This action will delete both local reference and remote instance.
Are you sure? (y/n): Successfully removed r1" ]
	[ ! -e "$MNT/r1" ]
	run docker-machine rm -f r2
	[ "$output" = "About to remove r2
WARNING: This action will delete both local reference and remote instance.
Successfully removed r2" ]
	[ ! -e "$MNT/r2" ]
}

@test "rm: errors" {
	run --separate-stderr docker-machine rm
	[ "$status" -eq 1 ]
	[ "$stderr" = "Error: Expected to get one or more machine names as arguments" ]
	run --separate-stderr docker-machine rm -y nope
	[ "$status" -eq 1 ]
	[ "$output" = "About to remove nope
WARNING: This action will delete both local reference and remote instance." ]
	[ "$stderr" = "Error removing host \"nope\": $NOTEXIST" ]
}

@test "regenerate-certs: the prompt" {
	run bash -c 'echo n | docker-machine regenerate-certs n1'
	[ "$status" -eq 0 ]
	[ "$output" = "Regenerate TLS machine certs?  Warning: this is irreversible. (y/n): " ]
}

@test "ssh: a none machine has no SSH" {
	run --separate-stderr docker-machine ssh nope
	[ "$status" -eq 1 ]
	[ "$stderr" = "$NOTEXIST" ]
	run --separate-stderr docker-machine ssh z1
	[ "$status" -eq 1 ]
	[ "$stderr" = 'Error: Cannot run SSH command: Host "z1" is not running' ]
}

@test "help, -h, unknown command" {
	run docker-machine help
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Usage: docker-machine [OPTIONS] COMMAND [arg...]" ]
	for c in active config create env inspect ip kill ls mount provision regenerate-certs restart rm scp ssh start status stop upgrade url version; do
		run docker-machine $c -h
		[ "$status" -eq 0 ]
		[[ ${lines[0]} == "Usage: docker-machine $c"* ]]
		run docker-machine help $c
		[[ ${lines[0]} == "Usage: docker-machine $c"* ]]
	done
	run --separate-stderr docker-machine foo
	[ "$status" -eq 1 ]
	[ "$stderr" = "docker-machine: 'foo' is not a docker-machine command. See 'docker-machine --help'." ]
	# Docker Machine 0.16.2: usage on stdout, exit 0
	run --separate-stderr docker-machine --bogus ls
	[ "$status" -eq 0 ]
	[ "$stderr" = "flag provided but not defined: -bogus" ]
}

@test "-D: debug lines on stderr only" {
	run --separate-stderr docker-machine -D url n1
	[ "$status" -eq 0 ]
	[ "$output" = tcp://127.0.0.1:2376 ]
}

@test "swarm: SWARM column, --filter swarm, Active for the swarm URL, env --swarm" {
	run docker-machine create -d none --url tcp://127.0.0.1:3000 --swarm-master --swarm-discovery token://x sm
	[ "$status" -eq 0 ]
	run docker-machine create -d none --url tcp://127.0.0.1:3001 --swarm --swarm-discovery token://x sa
	[ "$status" -eq 0 ]
	DOCKER_HOST=tcp://127.0.0.1:3376 run docker-machine ls --filter swarm=SM --format '{{.Name}}|{{.Active}}|{{.Swarm}}'
	[ "$output" = "sa|-|sm
sm|* (swarm)|sm (master)" ]
	DOCKER_HOST=tcp://127.0.0.1:3376 run docker-machine active
	[ "$output" = sm ]
	MACHINEFS_NO_TLS_CHECK=1 SHELL=/bin/bash run docker-machine env --swarm sm
	[ "${lines[1]}" = 'export DOCKER_HOST="tcp://127.0.0.1:3376"' ]
	run docker-machine rm -y sm sa
	[ "$status" -eq 0 ]
}

@test "create: a failed pre-create check exits 3 and leaves nothing" {
	[ -d "$MNT/.drivers/generic" ] || skip "no generic driver"
	run --separate-stderr docker-machine create -d generic --generic-ip-address 127.0.0.1 --generic-ssh-key "$T/nokey" p1
	[ "$status" -eq 3 ]
	[ "$output" = "Running pre-create checks..." ]
	[ "$stderr" = "Error with pre-create check: \"cannot read SSH key '$T/nokey': No such file or directory\"" ]
	[ ! -e "$MNT/p1" ]
}

@test "create: a failure after the host is made exits 1 and leaves the machine in Error" {
	[ -d "$MNT/.drivers/generic" ] || skip "no generic driver"
	ssh-keygen -q -t ed25519 -N '' -f "$T/k2"
	run --separate-stderr docker-machine create -d generic --generic-ip-address 127.0.0.1 --generic-ssh-port 1 --generic-ssh-key "$T/k2" p2
	[ "$status" -eq 1 ]
	# Docker Machine's wrapping for a failure while detecting the OS
	[ "$stderr" = "Error creating machine: Error detecting OS: cannot reach '127.0.0.1:1': connection refused" ]
	[ "$output" = "Running pre-create checks...
Creating machine...
(p2) Importing SSH key...
Waiting for machine to be running, this may take a few minutes...
Detecting operating system of created instance...
Waiting for SSH to be available..." ]
	run docker-machine status p2
	[ "$output" = Error ]
	run docker-machine ls --filter name=p2 --format '{{.State}}|{{.Error}}'
	[ "$output" = "Error|cannot reach '127.0.0.1:1': connection refused" ]
	# not running: no URL, no TLS check, no SSH (Docker Machine's words)
	run --separate-stderr docker-machine url p2
	[ "$status" -eq 1 ]
	[ "$stderr" = "Host is not running" ]
	SHELL=/bin/bash run --separate-stderr docker-machine env p2
	[ "$stderr" = "Error checking TLS connection: Host is not running" ]
	run --separate-stderr docker-machine config p2
	[ "$stderr" = "Error running connection boilerplate: Host is not running" ]
	run --separate-stderr docker-machine ssh p2 true
	[ "$stderr" = 'Error: Cannot run SSH command: Host "p2" is not running' ]
	run docker-machine rm -f p2
	[ "$status" -eq 0 ]
	[ ! -e "$MNT/p2" ]
}

@test "upgrade, provision, kill: errors from the driver, default rule" {
	run --separate-stderr docker-machine upgrade n1
	[ "$status" -eq 1 ]
	[ -n "$stderr" ]
	run --separate-stderr docker-machine kill n1 n2
	[ "$status" -eq 1 ]
	[ "$(wc -l <<<"$stderr")" -eq 2 ]
	[[ $output == *'Killing "n1"...'* ]]
	for c in provision upgrade kill "regenerate-certs -f"; do
		run --separate-stderr docker-machine $c
		[ "$status" -eq 1 ]
		[ "$stderr" = 'Error: No machine name(s) specified and no "default" machine exists' ]
	done
	# Docker Machine asks first: no answer (EOF) is its error
	run --separate-stderr docker-machine regenerate-certs </dev/null
	[ "$status" -eq 1 ]
	[ "$stderr" = EOF ]
}

@test "no mount yet: commands started at once share one mount" {
	local s=$T/store3 i
	for i in 1 2 3 4; do docker-machine -s "$s" ls -q 2>/dev/null & done
	wait
	[ "$(findmnt -rn -o TARGET -S "machinefs:$s" | wc -l)" -eq 1 ]
	run docker-machine -s "$s" ls -q
	[ "$status" -eq 0 ]
}

# Docker Machine 0.16's output for the same commands (reference
# docker-machine.md §1 and §8, drivers/none, libmachine/host), byte for byte.

@test "as Docker Machine: rm -y prints its WARNING on stdout" {
	none_machine w1 tcp://127.0.0.1:2393
	run --separate-stderr docker-machine rm -y w1
	[ "$status" -eq 0 ]
	[ "$output" = "About to remove w1
WARNING: This action will delete both local reference and remote instance.
Successfully removed w1" ]
	[ "$stderr" = "" ]
}

@test "as Docker Machine: stop/start/restart/kill of a none machine" {
	run --separate-stderr docker-machine stop n1
	[ "$status" -eq 1 ]
	[ "$output" = 'Stopping "n1"...' ]
	[ "$stderr" = "hosts without a driver cannot be stopped" ]
	run --separate-stderr docker-machine start n1
	[ "$status" -eq 1 ]
	[ "$output" = 'Starting "n1"...' ]
	[ "$stderr" = 'Machine "n1" is already running.' ]
	run --separate-stderr docker-machine restart n1
	[ "$status" -eq 1 ]
	[ "$output" = 'Restarting "n1"...' ]
	[ "$stderr" = "hosts without a driver cannot be restarted" ]
	run --separate-stderr docker-machine kill n1
	[ "$status" -eq 1 ]
	[ "$output" = 'Killing "n1"...' ]
	[ "$stderr" = "hosts without a driver cannot be killed" ]
	[ "$(cat "$MNT/n1/state")" = Running ]
}

@test "as Docker Machine: the first command mounts silently; -D says so" {
	local s=$T/store5 mp
	run --separate-stderr docker-machine -s "$s" ls -q
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	[ "$stderr" = "" ]
	mp=$(findmnt -rn -o TARGET -S "machinefs:$s")
	[ -n "$mp" ]
	fusermount3 -u "$mp"
	run --separate-stderr docker-machine -D -s "$s" ls -q
	[ "$status" -eq 0 ]
	[[ $stderr == *"machinefs: mounted $s at "* ]]
	mp=$(findmnt -rn -o TARGET -S "machinefs:$s")
	fusermount3 -u "$mp"
}

@test "as Docker Machine: inspect's usage error, no extra blank line" {
	docker-machine inspect n1 n2 >"$T/out" 2>"$T/err" && false
	printf '%s\n' "Usage: docker-machine inspect [OPTIONS] [arg...]" "" \
		"Inspect information about a machine" "" "Description:" \
		"   Argument is a machine name." "" "Options:" "   " \
		$'   --format, -f \tFormat the output using the given go template.' >"$T/want"
	cmp "$T/want" "$T/out"
	[ "$(cat "$T/err")" = "Error: Expected one machine name as an argument" ]
	docker-machine status -h >"$T/out"
	printf '%s\n' "Usage: docker-machine status [arg...]" "" "Get the status of a machine" "" \
		"Description:" "   Argument is a machine name." >"$T/want"
	cmp "$T/want" "$T/out"
}

@test "as Docker Machine: Creating CA only when the CA is made" {
	local s=$T/store6 mp
	run --separate-stderr docker-machine -s "$s" create -d none --url tcp://127.0.0.1:2394 ca1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Creating CA: $s/certs/ca.pem" ]
	[ "${lines[1]}" = "Creating client certificate: $s/certs/cert.pem" ]
	rm "$s/certs/cert.pem" "$s/certs/key.pem"
	run --separate-stderr docker-machine -s "$s" create -d none --url tcp://127.0.0.1:2395 ca2
	[ "$status" -eq 0 ]
	[ "$output" = "Creating client certificate: $s/certs/cert.pem
Running pre-create checks...
Creating machine...
To see how to connect your Docker Client to the Docker Engine running on this virtual machine, run: docker-machine env ca2" ]
	run --separate-stderr docker-machine -s "$s" create -d none --url tcp://127.0.0.1:2396 ca3
	[ "${lines[0]}" = "Running pre-create checks..." ]
	mp=$(findmnt -rn -o TARGET -S "machinefs:$s")
	fusermount3 -u "$mp"
}

@test "as Docker Machine: a create refused for its flags makes no CA" {
	local s=$T/store7 mp
	run --separate-stderr docker-machine -s "$s" create -d none nourl
	[ "$status" -eq 1 ]
	[ "$output" = "" ]
	[ ! -e "$s/certs/ca.pem" ]
	mp=$(findmnt -rn -o TARGET -S "machinefs:$s")
	fusermount3 -u "$mp"
}

@test "as Docker Machine: version and ls ask the engine right after create" {
	local p
	p=$(free_port)
	engine_server "$p" 24.0.7
	run --separate-stderr docker-machine create -d none --url "tcp://127.0.0.1:$p" e1
	[ "$status" -eq 0 ]
	# no wait for a background refresh: the daemon asked at the end of create
	[ "$(cat "$MNT/e1/docker-version")" = 24.0.7 ]
	run docker-machine ls --filter name=e1 --format '{{.Name}} {{.DockerVersion}} [{{.Error}}]'
	[ "$output" = "e1 v24.0.7 []" ]
	run --separate-stderr docker-machine version e1
	[ "$status" -eq 0 ]
	[ "$output" = 24.0.7 ]
	[ "$(sed -n 1p "$MNT/e1/engine")" = "result ok" ]
	# the engine goes away: version asks again and says so, at once
	kill "$ENGINE_PID"; wait "$ENGINE_PID" 2>/dev/null || true
	run --separate-stderr docker-machine version e1
	[ "$status" -eq 1 ]
	[ "$output" = "" ]
	[ "$stderr" = "Unable to query docker version: Cannot connect to the docker engine endpoint" ]
	[ "$(sed -n 1p "$MNT/e1/engine")" = "result refused" ]
	[ "$(cat "$MNT/e1/docker-version")" = "" ]
	docker-machine rm -y e1 >/dev/null
}

@test "engine: a write asks the engine now, the file says how it went" {
	none_machine d1 tcp://127.0.0.1:1
	run bash -c "echo tls >'$MNT/d1/engine'"
	[ "$status" -eq 0 ]
	run cat "$MNT/d1/engine"
	[ "${lines[0]}" = "result refused" ]
	[ "${lines[1]}" = "address 127.0.0.1:1" ]
	[ "${lines[2]}" = "version " ]
	[[ ${lines[3]} == "checked 20"*Z ]]
	[[ ${lines[4]} == "error cannot check docker engine at '127.0.0.1:1' over TLS: "* ]]
	rmdir "$MNT/d1"
	run bash -c "echo bogus >'$MNT/n1/engine'"
	[ "$status" -ne 0 ]
	run docker-machine version z1
	[ "$status" -eq 1 ]
	[ "$output" = "Unable to query docker version: Host is not running" ]
}

@test "progress: each command's steps as data, the failing step named" {
	mkdir "$MNT/pg"
	run bash -c "echo none >'$MNT/pg/driver'"
	[ "$status" -ne 0 ]
	put "$MNT/pg/options/url" tcp://127.0.0.1:1
	put "$MNT/pg/ctl" create
	run bash -c "echo stop >'$MNT/pg/ctl'"
	[ "$status" -ne 0 ]
	[ "$(cat "$MNT/pg/progress")" = "begin create 
step config 
fail config --url option is required when no driver is selected
begin create 
step config 
step certs 
step precreate Running pre-create checks...
step save 
step create Creating machine...
step copy-certs 
ok create 
begin stop 
fail refused hosts without a driver cannot be stopped" ]
	# the hint for tree users is in the log, not in error
	grep -q "hint: write the engine's url to 'options/url'" "$MNT/pg/log"
	rmdir "$MNT/pg"
}

@test "the wrapper reads neither the log's words nor openssl's" {
	! grep -n '/log"\|openssl\|PROGRESS_AWK' "$SRCDIR/tools/docker-machine"
}

@test "as Docker Machine: rm -f of a machine that is not there" {
	run --separate-stderr docker-machine rm -f nope
	[ "$status" -eq 0 ]
	[ "$output" = "About to remove nope
WARNING: This action will delete both local reference and remote instance." ]
	[ "$stderr" = "Error removing host \"nope\": $NOTEXIST
Can't remove \"nope\"" ]
	# without -f: every error at the end, exit 1, the others removed
	none_machine w2 tcp://127.0.0.1:2397
	run --separate-stderr docker-machine rm -y nope w2
	[ "$status" -eq 1 ]
	[ "$output" = "About to remove nope, w2
WARNING: This action will delete both local reference and remote instance.
Successfully removed w2" ]
	[ "$stderr" = "Error removing host \"nope\": $NOTEXIST" ]
}

@test "create: every driver's environment variables come from .drivers/NAME/options" {
	# the fifth column is the variable; the help names it as Docker Machine's does
	[ "$(awk -F'\t' '$1 == "amazonec2-instance-type" { print $5 }' "$MNT/.drivers/amazonec2/options")" = AWS_INSTANCE_TYPE ]
	run docker-machine create -d amazonec2 --help
	[[ "$output" == *'--amazonec2-instance-type "t2.micro"'*'[$AWS_INSTANCE_TYPE]'* ]]
	# a list option from its variable, a flag still wins over its variable
	ENGINE_REGISTRY_MIRROR=https://mirror.example MACHINE_DOCKER_INSTALL_URL=https://env.example \
		run docker-machine create -d none --url tcp://127.0.0.1:2383 \
		--engine-install-url none envc
	[ "$status" -eq 0 ]
	[ "$(cat "$MNT/envc/options/engine-registry-mirror")" = https://mirror.example ]
	[ "$(cat "$MNT/envc/options/engine-install-url")" = none ]
}

@test "the wrapper passes shellcheck" {
	command -v shellcheck >/dev/null || { echo "shellcheck is not installed (apt-get install shellcheck)"; return 1; }
	run shellcheck -s bash "$SRCDIR/tools/docker-machine"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
}
