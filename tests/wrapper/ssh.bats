# Commands that need SSH, with the generic driver on a lab host (tests/lab):
# create (progress lines, GENERIC_* env vars), ssh (arguments passed through,
# pinned host key), scp (both ways, -r, -q), provision, regenerate-certs, env
# and ls against the real engine, rm. Skipped when the generic driver or the
# lab is not there.
load helper

LAB=$SRCDIR/tests/lab/lab.sh
N=${LAB_WRAP_N:-141}
N2=${LAB_WRAP_N2:-142}

setup_file() {
	wrapper_setup_file
	if [ ! -d "$MNT/.drivers/generic" ] || [ ! -x "$LAB" ]; then
		export SKIP_ALL="needs the generic driver and tests/lab/lab.sh"
		return 0
	fi
	ssh-keygen -q -t ed25519 -N '' -f "$T/key"
	IP=$("$LAB" up "$N" --flavour root --pubkey "$T/key.pub" </dev/null 2>"$T/lab.err" 3>&- | tail -n 1)
	IP2=$("$LAB" up "$N2" --flavour root --pubkey "$T/key.pub" </dev/null 2>>"$T/lab.err" 3>&- | tail -n 1)
	export IP IP2
	[ -n "$IP" ] && [ -n "$IP2" ] || { cat "$T/lab.err" >&2; return 1; }
}
teardown_file() {
	[ -z "${SKIP_ALL:-}" ] && { "$LAB" down "$N"; "$LAB" down "$N2"; } >/dev/null 2>&1
	wrapper_teardown_file
}
setup() { [ -z "${SKIP_ALL:-}" ] || skip "$SKIP_ALL"; }

@test "create -d generic: Docker Machine's progress lines" {
	run --separate-stderr docker-machine create -d generic --generic-ip-address "$IP" --generic-ssh-key "$T/key" g1
	[ "$status" -eq 0 ]
	[ "$(grep -Ev '^Creating (CA|client)' <<<"$output")" = "Running pre-create checks...
Creating machine...
(g1) Importing SSH key...
Waiting for machine to be running, this may take a few minutes...
Detecting operating system of created instance...
Waiting for SSH to be available...
Detecting the provisioner...
Provisioning with debian...
Copying certs to the local machine directory...
Copying certs to the remote machine...
Setting Docker configuration on the remote daemon...
Checking connection to Docker...
Docker is up and running!
To see how to connect your Docker Client to the Docker Engine running on this virtual machine, run: docker-machine env g1" ]
}

@test "create: GENERIC_* environment variables" {
	GENERIC_IP_ADDRESS=$IP2 GENERIC_SSH_KEY=$T/key GENERIC_SSH_USER=root run docker-machine create -d generic g2
	[ "$status" -eq 0 ]
	[ "$(cat "$MNT/g2/options/generic-ip-address")" = "$IP2" ]
	[ "$(cat "$MNT/g2/state")" = Running ]
}

@test "create -d generic without the address fails and leaves nothing" {
	run --separate-stderr docker-machine create -d generic --generic-ssh-key "$T/key" g3
	[ "$status" -eq 1 ]
	[[ $stderr == "Error setting machine configuration from flags provided: "* ]]
	[ ! -e "$MNT/g3" ]
}

@test "ssh: a command, arguments passed through, a failure as Docker Machine says it" {
	run docker-machine ssh g1 echo hi there
	[ "$status" -eq 0 ]
	[ "$output" = "hi there" ]
	run docker-machine ssh g1 -- ls -d /tmp
	[ "$output" = /tmp ]
	# Docker Machine: exec.Cmd's error, exit status 1
	run --separate-stderr docker-machine ssh g1 'exit 7'
	[ "$status" -eq 1 ]
	[ "$stderr" = "exit status 7" ]
}

@test "ssh: the pinned host key is checked" {
	grep -q . "$MNT/g1/ssh/known_hosts"
	run docker-machine -D ssh g1 true
	[ "$status" -eq 0 ]
	[[ $output == *"StrictHostKeyChecking=yes"* ]]
	[[ $output != *"StrictHostKeyChecking=no"* ]]
}

@test "scp: to and from the machine, -r, -q, localhost:" {
	echo hello >"$T/f1"
	run docker-machine scp "$T/f1" g1:/tmp/f1
	[ "$status" -eq 0 ]
	run docker-machine ssh g1 cat /tmp/f1
	[ "$output" = hello ]
	run docker-machine scp g1:/tmp/f1 "localhost:$T/f2"
	[ "$status" -eq 0 ]
	[ "$(cat "$T/f2")" = hello ]
	mkdir -p "$T/d/x"; echo a >"$T/d/x/a"
	run docker-machine scp -r -q "$T/d" g1:/tmp/
	[ "$status" -eq 0 ]
	run docker-machine ssh g1 cat /tmp/d/x/a
	[ "$output" = a ]
	run --separate-stderr docker-machine scp onlyone
	[ "$status" -eq 1 ]
}

@test "scp: machine to machine" {
	run docker-machine scp g1:/tmp/f1 g2:/tmp/f3
	[ "$status" -eq 0 ]
	run docker-machine ssh g2 cat /tmp/f3
	[ "$output" = hello ]
}

@test "env and ls against the real engine" {
	SHELL=/bin/bash run docker-machine env g1
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "export DOCKER_HOST=\"tcp://$IP:2376\"" ]
	run docker-machine ls --filter name=g1 --format '{{.Name}} {{.State}} {{.URL}} {{.Error}}'
	[ "$output" = "g1 Running tcp://$IP:2376 " ]
	run docker-machine config g1
	[ "$status" -eq 0 ]
}

@test "provision: Docker Machine's lines (DetectProvisioner, then Provision)" {
	run --separate-stderr docker-machine provision g1
	[ "$status" -eq 0 ]
	[ "$output" = "Waiting for SSH to be available...
Detecting the provisioner...
Copying certs to the local machine directory...
Copying certs to the remote machine...
Setting Docker configuration on the remote daemon..." ]
	# the engine was asked when provision ended
	[ "$(sed -n 1p "$MNT/g1/engine")" = "result ok" ]
	run docker-machine version g1
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$MNT/g1/docker-version")" ]
	[ -n "$output" ]
}

@test "regenerate-certs -f, and several machines at once" {
	run --separate-stderr docker-machine regenerate-certs -f g1 g2
	[ "$status" -eq 0 ]
	# once for the command, then each machine's lines
	[ "${lines[0]}" = "Regenerating TLS certificates" ]
	[ "$(grep -c '^Regenerating TLS certificates$' <<<"$output")" -eq 1 ]
	[ "$(grep -c '^Setting Docker configuration on the remote daemon...$' <<<"$output")" -eq 2 ]
	SHELL=/bin/bash run docker-machine env g1
	[ "$status" -eq 0 ]
}

@test "stop: the generic driver cannot" {
	run --separate-stderr docker-machine stop g1
	[ "$status" -eq 1 ]
	[ "$output" = 'Stopping "g1"...' ]
	[ "$stderr" = "generic driver does not support stop" ]
}

@test "rm -y" {
	run docker-machine rm -y g1 g2
	[ "$status" -eq 0 ]
	[ ! -e "$MNT/g1" ]
	[ ! -e "$MNT/g2" ]
}

@test "version NAME: the engine's version" {
	docker-machine create -d generic --generic-ip-address "$IP" --generic-ssh-key "$T/key" g4 >/dev/null
	run docker-machine version g4
	[ "$status" -eq 0 ]
	[[ $output =~ ^[0-9]+\.[0-9]+ ]]
}

@test "restart: Docker Machine's lines, the engine asked again" {
	run --separate-stderr docker-machine restart g4
	[ "$status" -eq 0 ]
	[ "$output" = 'Restarting "g4"...
Waiting for SSH to be available...
Detecting the provisioner...
Restarted machines may have new IP addresses. You may need to re-run the `docker-machine env` command.' ]
	[ "$(sed -n 1p "$MNT/g4/engine")" = "result ok" ]
}

@test "scp -d (rsync)" {
	command -v rsync >/dev/null || skip "rsync is not installed"
	echo delta >"$T/f4"
	run docker-machine scp -d -q "$T/f4" g4:/tmp/f4
	[ "$status" -eq 0 ]
	run docker-machine ssh g4 cat /tmp/f4
	[ "$output" = delta ]
}

@test "mount and mount -u (sshfs)" {
	command -v sshfs >/dev/null || skip "sshfs is not installed"
	mkdir -p "$T/rmnt"
	run docker-machine mount g4:/etc "$T/rmnt"
	[ "$status" -eq 0 ]
	[ -e "$T/rmnt/hostname" ]
	run docker-machine mount -u g4:/etc "$T/rmnt"
	[ "$status" -eq 0 ]
	[ ! -e "$T/rmnt/hostname" ]
	docker-machine rm -y g4 >/dev/null
}
