#!/usr/bin/env bash
# The google driver end to end against tests/fakecloud/google.py (OAuth
# token endpoint checking the JWT's RS256 signature + Compute v1), whose
# instances are real lab hosts: create -> `. env && docker info`, the
# request sequence of Docker Machine, stop/start/kill/restart, rmdir leaves
# the account empty, a 429/503 mid-create, bad credentials, a bad image
# after a disk was made, kill -9 while waiting for the IP, no secret in
# the tree, a Docker-Machine-written store with an authorized_user ADC file.
. "$SRCDIR/tests/fs/lib.sh"
. "$SRCDIR/tests/fakecloud/lib.sh"
HOSTS=${LAB_GCE_HOSTS:-151-153}
PROJECT=mfs-test
ZONE=us-central1-a
trap 'cleanup; fake_stop; lab_down_range "$HOSTS"' EXIT

# A service account key file (as Google's, PKCS#8 PEM), and another key
# the fake does not know.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/sa.pem" 2>/dev/null
openssl pkey -in "$T/sa.pem" -pubout -out "$T/sa.pub"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/other.pem" 2>/dev/null
EMAIL=mfs@$PROJECT.iam.gserviceaccount.com
fake_start google.py --hosts "$HOSTS" --sa-pub "$T/sa.pub" --sa-email "$EMAIL" --project "$PROJECT" \
	--refresh "cid.apps.googleusercontent.com:csecret:1//rtoken" 2>>"$T/fake.log"
BASE=$API
GCE=$BASE/compute/v1/
keyfile() { # keyfile OUT PEM
	python3 - "$1" "$2" "$EMAIL" "$BASE/token" <<-'EOF'
		import json, os, sys
		out, pem, email, uri = sys.argv[1:]
		fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
		os.write(fd, json.dumps({"type": "service_account", "project_id": "mfs-test",
		    "private_key_id": "0123abcd", "private_key": open(pem).read(), "client_email": email,
		    "client_id": "1234567890", "auth_uri": "https://accounts.google.com/o/oauth2/auth",
		    "token_uri": uri}, indent=2).encode())
	EOF
}
keyfile "$T/sa.json" "$T/sa.pem"
keyfile "$T/bad.json" "$T/other.pem"
account() { fake GET /_state | python3 -c "import json,sys; d=json.load(sys.stdin); print(len(d['instances']), len(d['disks']))"; }
gopts() { # gopts MACHINE [KEYFILE]
	mkdir "$MNT/$1"
	put "$MNT/$1/options/google-project" "$PROJECT"
	put "$MNT/$1/options/google-api-url" "$GCE"
	put "$MNT/$1/options/google-application-credentials" "${2:-$T/sa.json}"
}
# api_insert NAME: an instance made through the API (as another tool would),
# RUNNING once this returns.
api_insert() {
	local tok
	tok=$(curl -sf -d 'grant_type=refresh_token&client_id=cid.apps.googleusercontent.com&client_secret=csecret&refresh_token=1%2F%2Frtoken' \
		$BASE/token | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
	curl -sf -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' -d "{\"name\":\"$1\",
		\"machineType\":\"https://www.googleapis.com/compute/v1/projects/$PROJECT/zones/$ZONE/machineTypes/n1-standard-1\",
		\"disks\":[{\"boot\":true,\"autoDelete\":true,\"type\":\"PERSISTENT\",\"mode\":\"READ_WRITE\",
		\"initializeParams\":{\"diskName\":\"$1-disk\",\"sourceImage\":\"https://www.googleapis.com/compute/v1/projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64\",\"diskSizeGb\":10}}],
		\"networkInterfaces\":[{\"network\":\"https://www.googleapis.com/compute/v1/projects/$PROJECT/global/networks/default\",\"accessConfigs\":[{\"type\":\"ONE_TO_ONE_NAT\"}]}]}" \
		"${GCE}projects/$PROJECT/zones/$ZONE/instances" >/dev/null && ok || fail "instance $1 through the API"
	for _ in $(seq 300); do
		fake GET /_state | python3 -c "import json,sys; sys.exit(0 if any(i['name']=='$1' and i['status']=='RUNNING' and i['networkInterfaces'][0].get('accessConfigs', [{}])[0].get('natIP') for i in json.load(sys.stdin)['instances']) else 1)" && return
		sleep 0.1
	done
	fail "instance $1 never ran"
}
mount_fs

# --- create, docker works, Docker Machine's request sequence ---------------
gopts g1
start=$(date +%s)
if put $MNT/g1/driver google; then ok; else
	fail "create: $(cat $MNT/g1/error)"; cat $MNT/g1/log; tail $T/fake.log; finish; exit 1
fi
echo "create took $(( $(date +%s) - start )) s"
expect_eq "state" "$(cat $MNT/g1/state)" "Running"
IP1=$(cat $MNT/g1/ip)
case "$IP1" in 10.213.15[1-3].2) ok ;; *) fail "ip: $IP1" ;; esac
expect_eq "url" "$(cat $MNT/g1/url)" "tcp://$IP1:2376"
( . $MNT/g1/env && docker info --format '{{.Name}}' ) > $T/n1 2>&1
expect_eq "docker info name" "$(cat $T/n1)" "g1"
expect_eq "ssh user" "$(cat $MNT/g1/ssh/user)" "docker-user"
head -c 40 $STORE/machines/g1/id_ed25519.pub | grep -q '^ssh-ed25519 ' && ok || fail "machine key is not ed25519"
fake GET /_state > $T/state.json
fake GET /_requests > $T/requests.json
python3 - $T/state.json $T/requests.json > $T/seq <<-'EOF'
	import json, re, sys
	d = json.load(open(sys.argv[1]))
	out = []
	for r in json.load(open(sys.argv[2])):
	    r = r["method"] + " " + r["path"]
	    r = re.sub(r"operation-[0-9a-f-]+$", "OP", r).replace("/compute/v1/projects/mfs-test", "")
	    if not out or out[-1] != r:
	        out.append(r)
	print("\n".join(out))
	i = d["instances"][0]
	md = {x["key"]: x["value"] for x in i["metadata"]["items"]}
	print("metadata:", sorted(md), md["ssh-keys"].split()[0])
	print("tags:", i["tags"]["items"])
	print("disk:", i["disks"][0]["source"].rsplit("/", 1)[1], i["disks"][0]["autoDelete"])
EOF
cat > $T/want <<-EOF
	POST /token
	GET
	GET /zones/$ZONE/instances/g1
	GET /global/firewalls/docker-machines
	POST /global/firewalls
	GET /global/operations/OP
	GET /zones/$ZONE/disks/g1-disk
	POST /zones/$ZONE/instances
	GET /zones/$ZONE/operations/OP
	GET /zones/$ZONE/instances/g1
	POST /zones/$ZONE/instances/g1/setMetadata
	GET /zones/$ZONE/operations/OP
	GET /zones/$ZONE/instances/g1
EOF
sed -i 's/^GET$/GET /' $T/want
head -n "$(wc -l < $T/want)" $T/seq | sed 's/^GET $/GET /' > $T/got
diff $T/want $T/got >/dev/null && ok || { fail "request sequence"; diff $T/want $T/got; }
grep -q "^metadata: \['ssh-keys'\] docker-user:ssh-ed25519$" $T/seq && ok || fail "ssh-keys metadata: $(grep metadata: $T/seq)"
grep -q "^tags: \['docker-machine'\]$" $T/seq && ok || fail "tags: $(grep tags: $T/seq)"
grep -q "^disk: g1-disk True$" $T/seq && ok || fail "disk: $(grep disk: $T/seq)"
python3 -c "
import json,sys; d=json.load(open(sys.argv[1]))['Driver']
assert d['Project']=='mfs-test' and d['Zone']=='$ZONE' and d['MachineType']=='n1-standard-1'
assert d['MachineImage']=='ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64'
assert d['DiskSize']==10 and d['DiskType']=='pd-standard' and d['Network']=='default'
assert d['ServiceAccount']=='default' and d['UseExisting'] is False and d['OpenPorts'] is None
assert d['SSHUser']=='docker-user' and d['SSHPort']==22
" $STORE/machines/g1/config.json && ok || fail "config.json keys"

# --- stop, start, kill, restart ---------------------------------------------
put $MNT/g1/ctl stop && ok || fail "stop: $(cat $MNT/g1/error)"
expect_eq "state after stop" "$(cat $MNT/g1/state)" "Stopped"
expect_eq "fake status after stop" "$(fake GET /_state | python3 -c 'import json,sys; print(json.load(sys.stdin)["instances"][0]["status"])')" "TERMINATED"
put $MNT/g1/ctl start && ok || fail "start: $(cat $MNT/g1/error)"
expect_eq "state after start" "$(cat $MNT/g1/state)" "Running"
( . $MNT/g1/env && docker info --format '{{.Name}}' ) > $T/n1 2>&1
expect_eq "docker after start" "$(cat $T/n1)" "g1"
put $MNT/g1/ctl kill && ok || fail "kill: $(cat $MNT/g1/error)"
expect_eq "state after kill" "$(cat $MNT/g1/state)" "Stopped"
put $MNT/g1/ctl restart && ok || fail "restart: $(cat $MNT/g1/error)"
expect_eq "state after restart" "$(cat $MNT/g1/state)" "Running"
( . $MNT/g1/env && docker info --format '{{.Name}}' ) > $T/n1 2>&1
expect_eq "docker after restart" "$(cat $T/n1)" "g1"
grep -q "http POST /compute/v1/projects/$PROJECT/zones/$ZONE/instances/g1/stop 200" $MNT/g1/log && ok ||
	fail "log lacks the stop request"
issued=$(fake GET /_state | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens_issued"])')
[ "$issued" -le 2 ] && ok || fail "the token is not cached: $issued tokens issued"

# --- no secret anywhere: key file contents, tokens (g1 still there) ---------
secrets_nowhere() {
	sed -n 10p "$T/sa.pem" > $T/secrets
	fake GET /_state | python3 -c 'import json,sys; [print(t) for t in json.load(sys.stdin)["issued"]]' >> $T/secrets
	[ "$(wc -l < $T/secrets)" -ge 2 ] || fail "no token issued?"
	printf '%s\n' csecret 1//rtoken >> $T/secrets # the authorized_user file's
	while read -r s; do
		[ -n "$s" ] || continue
		grep -rqF -- "$s" "$MNT" "$STORE" "$T/daemon.log" ${DMSTORE:-} 2>/dev/null && { fail "a secret is in the tree, store or log: $1"; return; }
	done < $T/secrets
	ok
}
[ -s $MNT/g1/log ] && grep -q "http GET" $MNT/g1/log && ok || fail "g1's log has no requests"
secrets_nowhere g1
expect_eq "key file option shows its path" "$(cat $MNT/g1/options/google-application-credentials)" "$T/sa.json"

# --- rmdir: instance and disk gone; the shared firewall rule stays -----------
fake POST /_requests/reset >/dev/null
rmdir $MNT/g1 && ok || fail "rmdir g1: $(cat $MNT/g1/error 2>&1)"
fake GET /_requests | python3 -c '
import json, re, sys
out = []
for r in json.load(sys.stdin):
    r = re.sub(r"operation-[0-9a-f-]+$", "OP", r["method"] + " " + r["path"]).replace("/compute/v1/projects/mfs-test/zones/us-central1-a", "")
    if not out or out[-1] != r:
        out.append(r)
print(" ".join(out))' > $T/rmseq
expect_eq "rm request sequence" "$(cat $T/rmseq)" "DELETE /instances/g1 GET /operations/OP GET /disks/g1-disk"
expect_eq "account after rmdir" "$(account)" "0 0"
expect_eq "firewall rule kept" "$(fake GET /_state | python3 -c 'import json,sys; print([f["name"] for f in json.load(sys.stdin)["firewalls"]])')" "['docker-machines']"

# --- 429 and 503 once mid-create: still created ------------------------------
fake POST /_fault '{"method":"GET","path":"/disks/g2-disk$","status":429}' >/dev/null
fake POST /_fault '{"method":"POST","path":"/zones/[^/]+/instances$","status":503}' >/dev/null
gopts g2
put $MNT/g2/driver google && ok || fail "create through 429/503: $(cat $MNT/g2/error)"
grep -q "instances 503" $MNT/g2/log && grep -q "g2-disk 429" $MNT/g2/log && ok || fail "log lacks the retried answers"
( . $MNT/g2/env && docker info --format '{{.Name}}' ) > $T/n2 2>&1
expect_eq "docker g2" "$(cat $T/n2)" "g2"
rmdir $MNT/g2 && ok || fail "rmdir g2"
expect_eq "account after g2" "$(account)" "0 0"

# --- bad credentials: one line naming the cause, nothing made ----------------
gopts g3 "$T/bad.json"
expect_errno EACCES put $MNT/g3/driver google
err=$(cat $MNT/g3/error)
case "$err" in *"access token"*"Invalid JWT Signature"*) ok ;; *) fail "bad credentials error: $err" ;; esac
expect_eq "error is one line" "$(wc -l < $MNT/g3/error)" "1"
expect_eq "account after bad credentials" "$(account)" "0 0"
rmdir $MNT/g3 && ok || fail "rmdir g3"

# --- a bad image after the disk was made: nothing left -----------------------
fake POST /_config '{"orphan_disk_on_fail":true}' >/dev/null
gopts g4
put $MNT/g4/options/google-machine-image "ubuntu-os-cloud/global/images/does-not-exist"
expect_errno ENOENT put $MNT/g4/driver google
case "$(cat $MNT/g4/error)" in *RESOURCE_NOT_FOUND*does-not-exist*) ok ;; *) fail "bad image error: $(cat $MNT/g4/error)" ;; esac
grep -q "http DELETE /compute/v1/projects/$PROJECT/zones/$ZONE/disks/g4-disk 200" $MNT/g4/log && ok ||
	fail "the orphaned disk was not deleted"
expect_eq "account after bad image" "$(account)" "0 0"
rmdir $MNT/g4 && ok || fail "rmdir g4"
fake POST /_config '{"orphan_disk_on_fail":false}' >/dev/null

# --- google-use-existing: an instance made elsewhere gets the tag and key ----
api_insert ex1
gopts ex1
put $MNT/ex1/options/google-use-existing true
put $MNT/ex1/driver google && ok || fail "use-existing create: $(cat $MNT/ex1/error)"
( . $MNT/ex1/env && docker info --format '{{.Name}}' ) > $T/ne 2>&1
expect_eq "docker on the existing instance" "$(cat $T/ne)" "ex1"
fake GET /_state | python3 -c "
import json,sys
i=[i for i in json.load(sys.stdin)['instances'] if i['name']=='ex1'][0]
assert 'docker-machine' in i['tags']['items'], i['tags']
assert any(m['key']=='ssh-keys' and m['value'].startswith('docker-user:ssh-ed25519 ') for m in i['metadata']['items'])
" && ok || fail "existing instance not tagged or keyed"
grep -q "setTags 200" $MNT/ex1/log && ok || fail "no setTags"
rmdir $MNT/ex1 && ok || fail "rmdir ex1"
expect_eq "account after use-existing (rm deletes it, as Docker Machine)" "$(account)" "0 0"

# --- Ctrl-C while the instance waits for its address: what was made goes ---
fake POST /_delay_ip '{"seconds":20}' >/dev/null
gopts c1
bash -c 'printf "google\n" > "$1"' w $MNT/c1/driver 2>/dev/null &
w=$!
for _ in $(seq 600); do grep -q "Waiting for the instance's address" $MNT/c1/log 2>/dev/null && break; sleep 0.05; done
kill -TERM $w
wait $w 2>/dev/null
for _ in $(seq 100); do [ "$(cat $MNT/c1/state)" = Error ] && break; sleep 0.1; done
expect_eq "state after Ctrl-C" "$(cat $MNT/c1/state)" "Error"
case "$(cat $MNT/c1/error)" in *cancelled*) ok ;; *) fail "error after Ctrl-C: $(cat $MNT/c1/error)" ;; esac
expect_eq "account after Ctrl-C" "$(account)" "0 0"
rmdir $MNT/c1 && ok || fail "rmdir c1"

# --- kill -9 of the daemon while the instance waits for its IP ----------------
fake POST /_delay_ip '{"seconds":60}' >/dev/null
gopts g5
put $MNT/g5/driver google 2>/dev/null &
w=$!
for _ in $(seq 600); do grep -q "Waiting for the instance's address" $MNT/g5/log 2>/dev/null && break; sleep 0.05; done
grep -q "Waiting for the instance's address" $MNT/g5/log && ok || fail "never waited for the address"
expect_eq "instance made before kill -9" "$(account)" "1 1"
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
wait $w 2>/dev/null
fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"
fake POST /_delay_ip '{"seconds":0}' >/dev/null
mount_fs
rmdir $MNT/g5 && ok || fail "rmdir g5 after kill -9: $(cat $MNT/g5/error 2>&1)"
expect_eq "account after kill -9 and rmdir" "$(account)" "0 0"

# --- a store written by Docker Machine; ADC from the environment --------------
# (an authorized_user file: the refresh-token grant), GOOGLE_API_URL.
umount_fs
gopts_dm=$T/dm
mkdir -p $T/dmstore/machines/dm1 $T/dmstore/certs
python3 - $T/dmstore/machines/dm1/config.json <<-EOF
	import json, sys
	d = {"ConfigVersion": 3, "Driver": {
	  "IPAddress": "", "MachineName": "dm1", "SSHUser": "docker-user", "SSHPort": 22,
	  "SSHKeyPath": "/home/u/.docker/machine/machines/dm1/id_rsa", "StorePath": "/home/u/.docker/machine",
	  "SwarmMaster": False, "SwarmHost": "", "SwarmDiscovery": "",
	  "Zone": "$ZONE", "MachineType": "n1-standard-1",
	  "MachineImage": "ubuntu-os-cloud/global/images/ubuntu-1604-xenial-v20170721",
	  "DiskType": "pd-standard", "Address": "", "Network": "default", "Subnetwork": "",
	  "Preemptible": False, "UseInternalIP": False, "UseInternalIPOnly": False,
	  "ServiceAccount": "default",
	  "Scopes": "https://www.googleapis.com/auth/devstorage.read_only,https://www.googleapis.com/auth/logging.write,https://www.googleapis.com/auth/monitoring.write",
	  "DiskSize": 10, "Project": "$PROJECT", "Tags": "", "UseExisting": False, "OpenPorts": None},
	  "DriverName": "google", "HostOptions": {"Driver": "", "Memory": 0, "Disk": 0,
	  "EngineOptions": {"ArbitraryFlags": [], "Dns": None, "GraphDir": "", "Env": [], "Ipv6": False,
	    "InsecureRegistry": [], "Labels": [], "LogLevel": "", "StorageDriver": "", "SelinuxEnabled": False,
	    "TlsVerify": True, "RegistryMirror": [], "InstallURL": "https://get.docker.com"},
	  "SwarmOptions": {"IsSwarm": False, "Address": "", "Discovery": "", "Agent": False, "Master": False,
	    "Host": "tcp://0.0.0.0:3376", "Image": "swarm:latest", "Strategy": "spread", "Heartbeat": 0,
	    "Overcommit": 0, "ArbitraryFlags": [], "ArbitraryJoinFlags": [], "Env": None, "IsExperimental": False},
	  "AuthOptions": {"CertDir": "/home/u/.docker/machine/certs", "CaCertPath": "/home/u/.docker/machine/certs/ca.pem",
	    "CaPrivateKeyPath": "/home/u/.docker/machine/certs/ca-key.pem", "CaCertRemotePath": "",
	    "ServerCertPath": "/home/u/.docker/machine/machines/dm1/server.pem",
	    "ServerKeyPath": "/home/u/.docker/machine/machines/dm1/server-key.pem",
	    "ClientKeyPath": "/home/u/.docker/machine/certs/key.pem", "ServerCertRemotePath": "",
	    "ServerKeyRemotePath": "", "ClientCertPath": "/home/u/.docker/machine/certs/cert.pem",
	    "ServerCertSANs": [], "StorePath": "/home/u/.docker/machine/machines/dm1"}},
	  "Name": "dm1"}
	json.dump(d, open(sys.argv[1], "w"), indent=4)
EOF
chmod 700 $T/dmstore/machines/dm1; chmod 600 $T/dmstore/machines/dm1/config.json
# The instance Docker Machine made (created here through the fake's API).
mkdir -p $T/adc
python3 - $T/adc/application_default_credentials.json "$BASE/token" <<-'EOF'
	import json, os, sys
	fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o600)
	os.write(fd, json.dumps({"type": "authorized_user", "client_id": "cid.apps.googleusercontent.com",
	    "client_secret": "csecret", "refresh_token": "1//rtoken", "token_uri": sys.argv[2]}).encode())
EOF
api_insert dm1
GOOGLE_API_URL=$GCE CLOUDSDK_CONFIG=$T/adc mount_fs $T/dmstore
for _ in $(seq 100); do [ "$(cat $MNT/dm1/state)" = Running ] && break; sleep 0.2; done
expect_eq "Docker Machine store: state" "$(cat $MNT/dm1/state)" "Running"
expect_eq "Docker Machine store: driver" "$(cat $MNT/dm1/driver)" "google"
rmdir $MNT/dm1 && ok || fail "rmdir dm1: $(cat $MNT/dm1/error 2>&1)"
expect_eq "account after the Docker Machine machine" "$(account)" "0 0"
DMSTORE=$T/dmstore secrets_nowhere "at the end"
finish
