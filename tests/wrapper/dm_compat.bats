#!/usr/bin/env bats
# The wrapper against Docker Machine 0.16.2's own output: dm-0.16.2/NAME.{out,err,rc}
# are what docker-machine 0.16.2 (built from its source tag) printed for the
# same command on a store of the same shape (n1: none driver, URL on a port
# that refuses), @STORE@ and @PORT@ standing for the store and the port.
# Each test compares stdout, stderr and the exit status byte for byte.
load helper

setup_file() {
	wrapper_setup_file
	local p
	for _ in $(seq 20); do
		p=$(free_port)
		timeout 1 bash -c "</dev/tcp/127.0.0.1/$p" 2>/dev/null || break
	done
	export PORT=$p
	none_machine n1 "tcp://127.0.0.1:$PORT"
	# broken: a record Docker Machine cannot load (config.json not JSON),
	# written in the store while nothing is mounted
	none_machine broken "tcp://127.0.0.1:$PORT"
	fusermount3 -u "$MNT"
	printf '{ not json\n' >"$MACHINE_STORAGE_PATH/machines/broken/config.json"
	"$MACHINEFS" -o "store=$MACHINE_STORAGE_PATH,fsname=machinefs:$MACHINE_STORAGE_PATH,subtype=machinefs" \
		"$MNT" 3>&- 2>>"$T/daemon.log"
	for _ in $(seq 100); do [ -d "$MNT/.drivers" ] && break; sleep 0.05; done
	[ -d "$MNT/.drivers" ]
}
teardown_file() { wrapper_teardown_file; }

# same_as_dm NAME ARGS...: the wrapper's run of ARGS equals the fixture NAME.
same_as_dm() {
	local name=$1 f=$BATS_TEST_DIRNAME/dm-0.16.2/$1; shift
	local want_rc got_rc=0
	(cd "$T" && docker-machine "$@" >"$T/got.out" 2>"$T/got.err" </dev/null) || got_rc=$?
	read -r want_rc <"$f.rc"
	for s in out err; do
		# the one difference left: Go's JSON parser's words (Docker
		# Machine) vs the daemon's for why the record cannot be loaded
		sed -e "s#@STORE@#$MACHINE_STORAGE_PATH#g" -e "s#@PORT@#$PORT#g" \
			-e "s#invalid character 'n' looking for beginning of object key string#$(sed 's/[#&\\]/\\&/g' "$MNT/broken/error")#" \
			-e 's#build bd45ab13#build machinefs#' "$f.$s" >"$T/want.$s"
		diff -u "$T/want.$s" "$T/got.$s" || { echo "$name: std$s differs"; return 1; }
	done
	[ "$got_rc" = "$want_rc" ] || { echo "$name: exit $got_rc, Docker Machine $want_rc"; return 1; }
}

@test "dm: help layouts (the cli library's tab padding, command order, storage path)" {
	# the storage path's length sets the column width: the recorded one
	MACHINE_STORAGE_PATH=/tmp/cmp/A same_as_dm help help
	same_as_dm help-ls help ls
	same_as_dm help-rm help rm
	same_as_dm help-env env --help
	same_as_dm help-scp scp -h
}

@test "dm: an unknown flag: Go's -name, usage on stdout, exit 0" {
	same_as_dm bad-flag-ls ls --bogus
	MACHINE_STORAGE_PATH=/tmp/cmp/A same_as_dm bad-flag-global --bogus ls
	same_as_dm bad-flag-status status --bogus=3 n1
}

@test "dm: a flag without its value" {
	same_as_dm noarg-env env --shell
	same_as_dm noarg-inspect inspect -f
	same_as_dm noarg-ls ls --filter
}

@test "dm: usage errors of ls --filter, scp, mount" {
	same_as_dm filter-syntax ls --filter x
	same_as_dm scp-noargs scp
	same_as_dm mount-noargs mount
}

@test "dm: env and config when the engine refuses (the blank line after the hint)" {
	same_as_dm env-refused env n1
	same_as_dm config-refused config n1
	# config takes the first name and ignores the rest (no "Expected one")
	same_as_dm config-extra config a b
	same_as_dm config-extra2 config n1 a
}

@test "dm: provision, upgrade, regenerate-certs of a machine without SSH: Docker Machine's SSH wait, given up" {
	# Docker Machine gives up after 60 tries (3 minutes); the same lines at once
	same_as_dm none-provision provision n1
	same_as_dm none-upgrade upgrade n1
	same_as_dm none-regenerate-certs regenerate-certs -f n1
}

@test "dm: ls with a record that cannot be loaded (its own row, never filtered, not in -q)" {
	# a failed command on n1 leaves its error: ls still shows the engine's
	run docker-machine stop n1
	[ "$status" -eq 1 ]
	[ -n "$(cat "$MNT/n1/error")" ]
	same_as_dm broken-ls ls
	same_as_dm broken-ls-q ls -q
	same_as_dm broken-ls-filter ls --filter state=Running
	same_as_dm broken-ls-format ls --format '{{.Name}}/{{.DriverName}}/{{.State}}/{{.Active}}/{{.DockerVersion}}/{{.Error}}'
}

@test "dm: every command on a record that cannot be loaded" {
	local c
	for c in status inspect ip url env config start stop version ssh regenerate-certs provision upgrade; do
		same_as_dm "broken-$c" "$c" broken
	done
	same_as_dm broken-rm rm -y broken
	# and the daemon's reason is still the load error (nothing ran)
	run cat "$MNT/broken/error"
	[[ $output == *"config.json"* ]]
}

@test "dm: ls --format errors: the template is named \"\", a field by its offset" {
	same_as_dm ls-format-field ls --format '{{ .Bogus }}'
	same_as_dm ls-format-func ls --format '{{foo .Name}}'
}

@test "dm: create's help: the shared flags and the driver's, sorted as the cli library sorts them" {
	same_as_dm help-create help create
	same_as_dm create-help-none create --help -d none
	same_as_dm create-noname-none create -d none
}

@test "dm: ssh, scp, mount of a machine without SSH run the tools with an empty host, as Docker Machine" {
	same_as_dm ssh-none ssh n1
	same_as_dm scp-none scp n1:/a /nonexistent-mfs/x
	same_as_dm mount-none mount n1:/a /nonexistent-mfs/x
}

@test "dm: scp and mount of a machine that does not exist or cannot be loaded" {
	same_as_dm scp-nope scp nope:/a /nonexistent-mfs/x
	same_as_dm mount-nope mount nope:/a /nonexistent-mfs/x
	same_as_dm scp-broken scp broken:/a /nonexistent-mfs/x
	same_as_dm mount-broken mount broken:/a /nonexistent-mfs/x
}

@test "dm: ls --format with a field a row lacks: the header, then the row up to the field" {
	same_as_dm ls-format-partial ls --format 'table {{.Name}}\t{{.Bogus}}'
	same_as_dm ls-format-partial2 ls --format 'table {{.Name}}\t{{.State}}\t{{.Bogus}}\t{{.URL}}'
	# the record that cannot be loaded is never filtered out
	same_as_dm ls-format-nohost ls --filter name=zzz --format 'table {{.Name}}\t{{.Bogus}}'
	same_as_dm ls-format-json ls --format '{{json .Name}}'
	same_as_dm ls-format-nil ls --filter name=broken --format '{{.Name}}|{{.SwarmOptions}}|{{.EngineOptions}}|{{.ResponseTime}}'
	# state.None prints as ""
	same_as_dm ls-state-none ls --filter state=
}

@test "dm: ls's natural sort (x1 x01 x001, a-1 A-2), active takes the first in that order" {
	local n
	for n in x1 x01 x001 a-1 A-2 n10 n2 m9.b m10.a; do none_machine "$n" "tcp://127.0.0.1:$PORT"; done
	same_as_dm ls-natural-sort ls --format '{{.Name}} {{.Active}}'
	same_as_dm ls-natural-sort-q ls -q
	DOCKER_HOST=tcp://127.0.0.1:$PORT same_as_dm ls-natural-active ls --format '{{.Name}} {{.Active}}'
	DOCKER_HOST=tcp://127.0.0.1:$PORT same_as_dm active-first active
	docker-machine rm -y x1 x01 x001 a-1 A-2 n10 n2 m9.b m10.a >/dev/null
}

# stopped_generic NAME: a generic machine whose SSH port refuses (Docker
# Machine's generic driver calls it Stopped), written into the store as
# Docker Machine writes one while nothing is mounted, then mounted again.
stopped_generic() {
	local p s=$MACHINE_STORAGE_PATH/machines
	for _ in $(seq 20); do
		p=$(free_port)
		[ "$p" != "$PORT" ] && ! timeout 1 bash -c "</dev/tcp/127.0.0.1/$p" 2>/dev/null && break
	done
	fusermount3 -u "$MNT"
	mkdir -m 700 "$s/$1"
	python3 - "$s/n1/config.json" "$s/$1/config.json" "$1" "$p" "$MACHINE_STORAGE_PATH" <<'PY'
import json, sys
src, dst, name, port, store = sys.argv[1:]
c = json.load(open(src))
c["Name"] = name
c["DriverName"] = "generic"
c["Driver"] = {"IPAddress": "127.0.0.1", "MachineName": name, "SSHUser": "root",
               "SSHPort": int(port), "SSHKeyPath": "", "StorePath": store,
               "SwarmMaster": False, "SwarmHost": "", "SwarmDiscovery": "",
               "EnginePort": int(c["Driver"]["URL"].rsplit(":", 1)[1]), "SSHKey": ""}
a = c["HostOptions"]["AuthOptions"]
a["StorePath"] = store + "/machines/" + name
a["ServerCertPath"] = a["StorePath"] + "/server.pem"
a["ServerKeyPath"] = a["StorePath"] + "/server-key.pem"
json.dump(c, open(dst, "w"), indent=4)
PY
	cp "$s/n1/ca.pem" "$s/n1/cert.pem" "$s/n1/key.pem" "$s/$1/"
	"$MACHINEFS" -o "store=$MACHINE_STORAGE_PATH,fsname=machinefs:$MACHINE_STORAGE_PATH,subtype=machinefs" \
		"$MNT" 3>&- 2>>"$T/daemon.log"
	for _ in $(seq 100); do [ -d "$MNT/.drivers" ] && break; sleep 0.05; done
	[ -d "$MNT/.drivers" ]
	# the daemon's first look at it (bounded)
	for _ in $(seq 300); do [ "$(cat "$MNT/$1/state")" = Stopped ] && return 0; sleep 0.1; done
	return 1
}

@test "dm: a stopped machine: no URL, version, kill, restart (by start), upgrade (start first)" {
	[ -d "$MNT/.drivers/generic" ] || skip "needs the generic driver"
	stopped_generic g1
	same_as_dm stopped-status status g1
	same_as_dm stopped-url url g1
	same_as_dm stopped-version version g1
	same_as_dm stopped-kill kill g1
	same_as_dm stopped-restart restart g1
	same_as_dm stopped-upgrade upgrade g1
	same_as_dm stopped-ls ls --filter driver=generic
	DOCKER_HOST=tcp://127.0.0.1:$PORT same_as_dm stopped-ls-format ls --format '{{.Name}} {{.State}} {{.URL}} {{.Active}} {{.DockerVersion}}'
	docker-machine rm -y g1 >/dev/null
}
