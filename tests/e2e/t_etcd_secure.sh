#!/usr/bin/env bash
# The store in etcd, secured (issue 14): a real 3-member etcd cluster on
# loopback that speaks only https with client certificates
# (--client-cert-auth) and has authentication on (user root). Without
# the CA, without a client certificate, with a wrong password: one-line
# errors, no mount, the password in none of them. With all three and a
# secrets key (etcd-secrets-key): private keys, the store's CA key and
# secret options are ciphertext in etcd (etcdctl get shows no PEM private
# key, no token). A second mount with the key uses the machine (its certs
# decrypt: the key matches the certificate, the certificate the CA); a
# mount without the key lists the machines and public files but refuses
# secret files, changes and commands with one line naming the option; a
# wrong key or a key file others may read is refused. `. env && docker
# info` works through the second mount, not through the one without key. An expired etcd
# token (ttl 2 s) is taken again. A store used without a key until the
# first mount with one: what it held in clear is sealed then.
. "$SRCDIR/tests/fs/lib.sh"
command -v etcd >/dev/null && command -v etcdctl >/dev/null || { echo "etcd not installed"; exit 1; }
export ETCDCTL_API=3

step() { echo "$(date +%T) $*"; }

# etcd's health asked with our client certificate.
etcd_ctl() { etcdctl --endpoints "$EPS" --cacert "$X/ca.pem" --cert "$X/client.pem" --key "$X/client-key.pem" "$@"; }
. "$SRCDIR/tests/e2e/etcd_lib.sh"
DOCKERD=
trap '[ -n "$DOCKERD" ] && kill "$DOCKERD" 2>/dev/null; stop_all; cleanup' EXIT

# A CA, etcd's certificate (127.0.0.1; it is also the gateway's client
# certificate inside etcd) and ours: without a CommonName, as etcd's
# gateway refuses one with a CN when its auth is on (checked too), and
# another CA.
X=$T/pki
mkdir -p "$X"
cert() { # NAME CN EXT
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$X/$1-key.pem" \
		-out "$X/$1.csr" -subj "/O=machinefs test${2:+/CN=$2}" 2>/dev/null &&
	printf '%b' "$3" >"$X/$1.ext" &&
	openssl x509 -req -in "$X/$1.csr" -CA "$X/ca.pem" -CAkey "$X/ca-key.pem" -CAcreateserial \
		-days 2 -out "$X/$1.pem" -extfile "$X/$1.ext" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$X/ca-key.pem" \
	-out "$X/ca.pem" -days 2 -subj "/CN=mfs test etcd ca" 2>/dev/null &&
cert server etcd 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' &&
cert client "" 'extendedKeyUsage=clientAuth\n' &&
cert named mfs 'extendedKeyUsage=clientAuth\n' &&
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$X/other-key.pem" \
	-out "$X/other.pem" -days 2 -subj "/CN=another ca" 2>/dev/null && ok || { fail "test certificates"; exit 1; }

step cluster
# The cluster: three members, https for clients, plain peers on loopback.
etcd_start_cluster https --cert-file "$X/server.pem" --key-file "$X/server-key.pem" \
	--trusted-ca-file "$X/ca.pem" --client-cert-auth --auth-token simple --auth-token-ttl 2 || exit 1
CTL=(etcdctl --endpoints "$EPS" --cacert "$X/ca.pem" --cert "$X/client.pem" --key "$X/client-key.pem")
PW="pw-$RANDOM-$$-sekrit"
{ "${CTL[@]}" role add root && "${CTL[@]}" user add "root:$PW" && "${CTL[@]}" user grant-role root root &&
  "${CTL[@]}" auth enable; } >"$T/auth.log" 2>&1 && ok || { cat "$T/auth.log"; fail "auth enable"; exit 1; }
CTL+=(--user "root:$PW")
SPEC="etcd://$EPS/team-$$"
printf '%s\n' "$PW" >"$T/pw"
printf 'wrong-%s\n' "$PW" >"$T/badpw"
chmod 600 "$T/pw" "$T/badpw"
TLS="etcd-cacert=$X/ca.pem,etcd-cert=$X/client.pem,etcd-key=$X/client-key.pem"
openssl rand -hex 32 >"$T/key" && openssl rand -hex 32 >"$T/badkey" && chmod 600 "$T/key" "$T/badkey"

# refused OPTS WANT: the mount fails with one line matching WANT.
refused() {
	mkdir -p "$T/x"
	local out
	out=$(timeout 30 "$MACHINEFS" -f -o "store=$SPEC,cache=$T/x.cache,$1" "$T/x" 2>&1) &&
		{ fusermount3 -u "$T/x"; fail "mount with $1 succeeded"; return; }
	case "$out" in $2) ok ;; *) fail "mount with $1: $out" ;; esac
	expect_eq "one line" "$(printf '%s\n' "$out" | wc -l)" 1
	case "$out" in *"$PW"*) fail "the password in: $out" ;; *) ok ;; esac
	mountpoint -q "$T/x" && fail "x is mounted" || ok
}
step refusals
refused "refresh=5" "machinefs: etcd at '$EPS' "*"https"*"etcd-cacert"*
refused "etcd-cacert=$X/ca.pem" "machinefs: tls with etcd at '$EPS' failed: "*
refused "etcd-cacert=$X/other.pem,etcd-cert=$X/client.pem,etcd-key=$X/client-key.pem" "machinefs: tls with etcd at '$EPS' failed: "*
refused "etcd-cacert=$X/ca.pem,etcd-cert=$X/named.pem,etcd-key=$X/named-key.pem" "machinefs: etcd at '$EPS' refuses a client certificate with a CommonName"*
refused "etcd-cacert=$X/ca.pem,etcd-cert=$X/client.pem,etcd-key=$X/client-key.pem" "machinefs: etcd at '$EPS' wants a user: give -o etcd-user=NAME and etcd-password-file=FILE"
refused "$TLS,etcd-user=root,etcd-password-file=$T/badpw" \
	"machinefs: etcd at '$EPS' refused user 'root': authentication failed, invalid user ID or password"
refused "$TLS,etcd-user=root,etcd-password=$PW" "machinefs: the etcd password is not taken on the command line"*
chmod 640 "$T/badkey"
refused "$TLS,etcd-user=root,etcd-password-file=$T/pw,etcd-secrets-key=$T/badkey" \
	"machinefs: the secrets key file '$T/badkey' is readable by others (mode 0640): chmod 600 it"
chmod 600 "$T/badkey"

# mount_opts NAME OPTS [ENV...]: etcd_lib.sh's mount_at on $SPEC with OPTS.
mount_opts() { local name=$1 opts=$2; shift 2; mount_at "$name" "$SPEC,$opts" "$@"; }

step mount a
A=$T/a B=$T/b N=$T/n
# The store starts without a key (its CA and m0's key in clear); the first
# mount with a key seals them.
step plain mount
mount_opts p "$TLS,etcd-user=root,etcd-password-file=$T/pw"
mkdir $T/p/m0 && put $T/p/m0/options/url tcp://127.0.0.1:2376 && put $T/p/m0/driver none && ok ||
	fail "create m0 without a key: $(cat $T/p/m0/error)"
"${CTL[@]}" get --prefix "/team-$$/" | grep -q "PRIVATE KEY" && ok || fail "no key in clear before the secrets key"
fusermount3 -u $T/p && wait "${PIDS[0]}" && ok || fail "unmount p"
mount_opts a "$TLS,etcd-user=root,etcd-password-file=$T/pw,etcd-secrets-key=$T/key"
grep -q "secret values in etcd sealed with the new secrets key" $T/a.log && ok || fail "a sealed nothing: $(cat $T/a.log)"
TOKEN="dop_v1_$(openssl rand -hex 16)"
mkdir $A/m1 && ok || fail "mkdir on a"
put $A/m1/options/url tcp://127.0.0.1:2376
put $A/m1/driver none && ok || fail "create on a: $(cat $A/m1/error)"
# A machine whose options hold a secret, and its config.json too: a
# digitalocean create against an API that lists the region (pre-create
# passes, the record with Driver.AccessToken is saved) and refuses the rest.
python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def answer(self, code, body):
        self.send_response(code); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self):
        self.answer(200, b"{\"regions\": [{\"slug\": \"nyc3\", \"available\": true}]}")
    def do_POST(self):
        self.answer(422, b"{\"id\": \"unprocessable_entity\", \"message\": \"no droplets here\"}")
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()' >"$T/doapi.port" &
DOAPI=$!
until_true test -s "$T/doapi.port" || fail "the fake digitalocean api did not start"
mkdir $A/d0 && put $A/d0/options/digitalocean-access-token "$TOKEN" &&
	put $A/d0/options/digitalocean-region nyc3 &&
	put $A/d0/options/digitalocean-api-url "http://127.0.0.1:$(cat "$T/doapi.port")" && ok ||
	fail "secret option on a"
put $A/d0/driver digitalocean 2>/dev/null && fail "digitalocean create succeeded" || ok
grep -qF "\"AccessToken\": \"$TOKEN\"" $T/a.cache/machines/d0/config.json && ok ||
	fail "no AccessToken in d0's config.json: $(cat $A/d0/error)"
kill $DOAPI; wait $DOAPI 2>/dev/null
expect_eq "m1 on a" "$(cat $A/m1/state)" Running

step ciphertext
# etcd holds ciphertext: no private key, no token; the public certificates as they are.
"${CTL[@]}" get --prefix "/team-$$/" >"$T/dump" 2>&1 && ok || fail "etcdctl get: $(cat "$T/dump")"
grep -c "BEGIN CERTIFICATE" "$T/dump" >/dev/null && ok || fail "no certificate in etcd"
grep -q "PRIVATE KEY" "$T/dump" && fail "a private key in plain text in etcd" || ok
grep -qF "$TOKEN" "$T/dump" && fail "the token in plain text in etcd" || ok
grep -q '"digitalocean-access-token": "machinefs-sealed:v1:' "$T/dump" && ok || fail "the option is not sealed"
grep -q '"AccessToken": "machinefs-sealed:v1:' "$T/dump" && ok || fail "config.json's AccessToken is not sealed"
for k in machines/m0/key.pem machines/m1/key.pem certs/ca-key.pem certs/key.pem; do
	head=$("${CTL[@]}" get --print-value-only "/team-$$/$k" | head -c 4)
	expect_eq "$k sealed" "$head" MFSE
done

step mount b
# A second mount with the key (its password from the environment): the
# machine works there, its certificates decrypt.
mount_opts b "$TLS,etcd-user=root,etcd-secrets-key=$T/key" MACHINEFS_ETCD_PASSWORD="$PW"
expect_eq "m1 on b" "$(cat $B/m1/state)" Running
grep -qF "\"digitalocean-access-token\": \"$TOKEN\"" $T/b.cache/machines/d0/machinefs.json &&
	ok || fail "the secret option is not open in b's working copy"
grep -qF "\"AccessToken\": \"$TOKEN\"" $T/b.cache/machines/d0/config.json &&
	ok || fail "AccessToken is not open in b's working copy"
expect_eq "key.pem same on b" "$(cat $B/m1/certs/key.pem)" "$(cat $A/m1/certs/key.pem)"
( . $B/m1/env
  expect_eq "DOCKER_HOST on b" "$DOCKER_HOST" tcp://127.0.0.1:2376
  openssl verify -CAfile "$DOCKER_CERT_PATH/ca.pem" "$DOCKER_CERT_PATH/cert.pem" >/dev/null 2>&1 &&
	ok || fail "b's cert.pem does not verify against its ca.pem"
  expect_eq "b's key.pem is cert.pem's key" \
	"$(openssl pkey -in "$DOCKER_CERT_PATH/key.pem" -pubout 2>&1)" \
	"$(openssl x509 -in "$DOCKER_CERT_PATH/cert.pem" -noout -pubkey 2>&1)"
  exit $FAILS ) && ok || FAILS=$((FAILS + 1))

# `. env && docker info` on b against a dockerd (a fake Engine API that
# requires a client certificate of the store's CA) whose certificate b's
# decrypted store CA key signs.
step docker info
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$X/dockerd-key.pem" \
	-out "$X/dockerd.csr" -subj "/O=machinefs test dockerd" 2>/dev/null &&
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$X/dockerd.ext" &&
openssl x509 -req -in "$X/dockerd.csr" -CA "$T/b.cache/certs/ca.pem" -CAkey "$T/b.cache/certs/ca-key.pem" \
	-CAcreateserial -days 2 -out "$X/dockerd.pem" -extfile "$X/dockerd.ext" 2>/dev/null &&
	ok || fail "b's store CA key does not sign"
python3 "$SRCDIR/tests/fs/helpers/fakedockerd.py" "$T/b.cache/certs/ca.pem" "$X/dockerd.pem" \
	"$X/dockerd-key.pem" >"$T/dockerd.port" 2>"$T/dockerd.log" &
DOCKERD=$!
until_true test -s "$T/dockerd.port" || fail "the fake dockerd did not start: $(cat "$T/dockerd.log")"
mkdir $A/web && put $A/web/options/url "tcp://127.0.0.1:$(cat "$T/dockerd.port")" &&
	put $A/web/driver none && ok || fail "create web on a: $(cat $A/web/error)"
until_true grep -qx Running $B/web/state && ok || fail "web not Running on b"
info=$(. $B/web/env && timeout 30 docker info --format '{{.Name}} {{.ServerVersion}}' 2>&1)
expect_eq "docker info through b's env" "$info" "fake-dockerd 24.0.0"

step token expiry
# The token expires (ttl 2 s) while nothing is asked: the next change is
# made with a new one, and b's watch still sees it.
sleep 3
mkdir $B/m2 && put $B/m2/options/url tcp://127.0.0.1:2376 && put $B/m2/driver none && ok ||
	fail "create on b after the token expired: $(cat $B/m2/error 2>&1)"
until_true grep -qx Running $A/m2/state && ok || fail "m2 not Running on a"

step wrong key
# A wrong key: refused.
refused "$TLS,etcd-user=root,etcd-password-file=$T/pw,etcd-secrets-key=$T/badkey" \
	"machinefs: the secrets key in '$T/badkey' is not the key the store's secrets are encrypted with"

step mount n
# Without the key: the machines and their public files, nothing secret, no change.
mount_opts n "$TLS,etcd-user=root,etcd-password-file=$T/pw"
expect_eq "machines without the key" "$(ls $N | tr '\n' ' ')" "d0 m0 m1 m2 web "
expect_eq "state without the key" "$(cat $N/m1/state)" Running
expect_eq "ca.pem without the key" "$(cat $N/m1/certs/ca.pem)" "$(cat $A/m1/certs/ca.pem)"
expect_errno EACCES cat $N/m1/certs/key.pem
grep -q "key.pem: the store's secrets are encrypted: mount with -o etcd-secrets-key=FILE to use them" $N/m1/log &&
	ok || fail "no reason for key.pem in the log: $(tail -n 3 $N/m1/log)"
grep -qF "$TOKEN" $T/n.cache/machines/d0/machinefs.json $T/n.cache/machines/d0/config.json &&
	fail "the token without the key" || ok
expect_errno EACCES cat $N/d0/options/digitalocean-access-token
grep -q "options/digitalocean-access-token: the store's secrets are encrypted" $N/d0/log &&
	ok || fail "no reason for the option in the log: $(tail -n 3 $N/d0/log)"
expect_eq "a public option without the key" "$(cat $N/d0/options/digitalocean-region)" nyc3
expect_errno EACCES put $N/m1/ctl stop
expect_eq "error of a command without the key" "$(cat $N/m1/error)" \
	"the store's secrets are encrypted: mount with -o etcd-secrets-key=FILE to use them"
(. $N/web/env && timeout 30 docker info >/dev/null 2>&1) && fail "docker info through a mount without the key" || ok
expect_errno EACCES mkdir $N/m3
expect_eq "m1 still Running on a" "$(cat $A/m1/state)" Running
expect_eq "no m3 on a" "$(ls $A | tr '\n' ' ')" "d0 m0 m1 m2 web "

step stop
kill "$DOCKERD" 2>/dev/null
wait "$DOCKERD" 2>/dev/null
stop_all
for n in p a b n; do
	grep -qF "$PW" "$T/$n.log" && fail "the password in $n's log"
	grep -qF "$PW" "$T/$n.cache"/machines/*/machinefs.log 2>/dev/null && fail "the password in $n's machine logs"
	if grep -E "AddressSanitizer|LeakSanitizer|runtime error:" "$T/$n.log" >/dev/null; then
		fail "daemon $n reported errors:"; cat "$T/$n.log"
	fi
done
echo "$PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
