# Shared setup for the wrapper's bats files: each file gets its own store and
bats_require_minimum_version 1.5.0
# a machinefs mount of it (mounted as the wrapper mounts: fsname=machinefs:STORE,
# so the wrapper finds it), torn down at the end of the file.
SRCDIR=${SRCDIR:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
MACHINEFS=${MACHINEFS:-$SRCDIR/build/fs/machinefs}
export MACHINEFS
PATH=$SRCDIR/tools:$PATH
export -n DOCKER_HOST
unset DOCKER_HOST NO_PROXY no_proxy MACHINE_DRIVER

wrapper_setup_file() {
	export T=$(mktemp -d /tmp/mfs-wrap.XXXXXX)
	export MACHINE_STORAGE_PATH=$T/store
	export MNT=$T/mnt
	mkdir -p "$MACHINE_STORAGE_PATH" "$MNT"
	"$MACHINEFS" -o "store=$MACHINE_STORAGE_PATH,fsname=machinefs:$MACHINE_STORAGE_PATH,subtype=machinefs" \
		"$MNT" 3>&- 2>"$T/daemon.log"
	for _ in $(seq 100); do [ -d "$MNT/.drivers" ] && break; sleep 0.05; done
	[ -d "$MNT/.drivers" ]
}

wrapper_teardown_file() {
	[ -n "${TLS_PID:-}" ] && kill "$TLS_PID" 2>/dev/null
	[ -n "${ENGINE_PID:-}" ] && kill "$ENGINE_PID" 2>/dev/null
	fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	# mounts the wrapper made itself for stores under $T
	local mp
	findmnt -rn -o SOURCE,TARGET | while read -r src mp; do
		case $src in "machinefs:$T/"*) fusermount3 -u "$(printf '%b' "$mp")" 2>/dev/null ;; esac
	done
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}

# put FILE TEXT: a write into the tree (fails with the write's errno).
put() { printf '%s\n' "$2" >"$1"; }

# none_machine NAME URL: a Running machine through the tree.
none_machine() {
	mkdir "$MNT/$1" && put "$MNT/$1/options/url" "$2" && put "$MNT/$1/driver" none
}

# tls_server PORT: an engine stand-in: TLS on 127.0.0.1:PORT with a server
# cert from the store's CA (what env and config check). Sets TLS_PID.
tls_server() {
	local c=$MACHINE_STORAGE_PATH/certs
	openssl req -new -newkey rsa:2048 -nodes -keyout "$T/srv-key.pem" -subj /O=test \
		-out "$T/srv.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$T/ext"
	openssl x509 -req -in "$T/srv.csr" -CA "$c/ca.pem" -CAkey "$c/ca-key.pem" \
		-CAcreateserial -days 1 -extfile "$T/ext" -out "$T/srv.pem" 2>/dev/null
	openssl s_server -quiet -accept "127.0.0.1:$1" -cert "$T/srv.pem" -key "$T/srv-key.pem" \
		-CAfile "$c/ca.pem" -Verify 1 </dev/null >/dev/null 2>&1 3>&- &
	TLS_PID=$!
	export TLS_PID
	for _ in $(seq 50); do
		timeout 1 bash -c "</dev/tcp/127.0.0.1/$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

free_port() { echo $((20000 + RANDOM % 20000)); }

# engine_server PORT VERSION: a Docker engine stand-in that answers
# GET /version over TLS (server cert from the store's CA, client cert
# required) with {"Version":VERSION}. Sets ENGINE_PID.
engine_server() {
	local c=$MACHINE_STORAGE_PATH/certs w=$T/www-$1
	mkdir -p "$w"
	openssl req -new -newkey rsa:2048 -nodes -keyout "$T/eng-key.pem" -subj /O=test \
		-out "$T/eng.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$T/eng-ext"
	openssl x509 -req -in "$T/eng.csr" -CA "$c/ca.pem" -CAkey "$c/ca-key.pem" \
		-CAcreateserial -days 1 -extfile "$T/eng-ext" -out "$T/eng.pem" 2>/dev/null
	printf 'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{"Version":"%s","ApiVersion":"1.43"}' \
		"$2" >"$w/version"
	(cd "$w" && exec openssl s_server -quiet -HTTP -accept "127.0.0.1:$1" -cert "$T/eng.pem" \
		-key "$T/eng-key.pem" -CAfile "$c/ca.pem" -Verify 1 </dev/null >/dev/null 2>&1 3>&-) &
	ENGINE_PID=$!
	export ENGINE_PID
	for _ in $(seq 50); do
		timeout 1 bash -c "</dev/tcp/127.0.0.1/$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
