#!/usr/bin/env bash
# Create against a fake cloud API (tests/fakecloud/) whose instances are
# lab hosts, split into phases from the machine's log (each line stamped in
# ms as it is written), once alone and then PARALLEL at once in the same
# store (the CA already made), printed side by side:
#   api        the write to 'driver' .. the driver's IP wait, minus that wait
#              (configure, CA/client certs, key, API calls)
#   api_http   the sum of the HTTP requests' own times (all of create)
#   wait_ip    the driver's wait for an IP (the fake boots a lab host)
#   ssh        'Provisioning...' .. 'ssh: connected'
#   provision  'ssh: connected' .. 'Restarting the Docker engine'
#   engine     .. 'Docker is up and running!'
#   total      the write to 'driver' until it returned
#
#   bench/cloud-create.sh [DRIVER] [PARALLEL]   (digitalocean, amazonec2, google,
#                                               azure, openstack, rackspace,
#                                               softlayer, exoscale or
#                                               vmwarevsphere, vmwarevcloudair; default
#                                               digitalocean, every host)
# BENCH_HOSTS: lab host numbers (default 111-129, cloudhttp-do's range: 19;
# azure: 1-9, openstack/rackspace: 11-19, softlayer/exoscale: 21-29,
# vmwarevsphere: 31-33 (govmomi's simulator, tests/vcsim), vmwarevcloudair:
# 44-49, one at a time, their own ranges).
# Root, a build in build/. Another driver adds a case to profile() below.
set -euo pipefail
cd "$(dirname "$0")/.."
DRIVER=${1:-digitalocean}
case $DRIVER in
azure) HOSTS=${BENCH_HOSTS:-1-9} ;;
openstack | rackspace) HOSTS=${BENCH_HOSTS:-11-19} ;;
softlayer | exoscale) HOSTS=${BENCH_HOSTS:-21-29} ;;
vmwarevsphere) HOSTS=${BENCH_HOSTS:-31-33} ;;
vmwarevcloudair) HOSTS=${BENCH_HOSTS:-44-49} ;;
*) HOSTS=${BENCH_HOSTS:-111-129} ;;
esac
BIN=${MACHINEFS:-build/fs/machinefs}
W=$(mktemp -d /tmp/mfs-bench-cloud.XXXXXX)
FAKE_PID=
cleanup() {
	fusermount3 -u "$W/mnt" 2>/dev/null || true
	[ -z "$FAKE_PID" ] || { kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null || true; }
	jobs -p | xargs -r kill 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

nhosts=$(python3 -c "import sys; sys.path.insert(0, 'tests/fakecloud'); import fakecloud; print(len(fakecloud.parse_range('$HOSTS')))")
PARALLEL=${2:-$nhosts}
[ "$PARALLEL" -le "$nhosts" ] || { echo "PARALLEL $PARALLEL > $nhosts lab hosts in '$HOSTS'" >&2; exit 2; }

pool_whole() { [ "$(curl -sf "$API/_hosts")" = "[]" ]; }
# profile: FAKE_CMD (the fake, without the common flags), set_options DIR,
# and the log lines that open and close the driver's wait for an IP.
profile() {
	case $DRIVER in
	vmwarevcloudair)
		# The fake's vApps take lab hosts in order and a public IP NATs only
		# to its own host: the public IP is the next host's, so one create
		# at a time (PARALLEL 1).
		[ "$PARALLEL" -eq 1 ] || { echo "vmwarevcloudair: PARALLEL must be 1" >&2; exit 2; }
		PW=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
		FAKE_CMD=(python3 tests/fakecloud/vcloud.py --user bench --password "$PW" --org acme --vdc vdc1)
		set_options() {
			local n
			n=$(python3 -c "import sys; sys.path.insert(0, 'tests/fakecloud'); import fakecloud; print(fakecloud.parse_range('$HOSTS')[0])")
			echo bench >"$1/options/vmwarevcloudair-username"
			echo "$PW" >"$1/options/vmwarevcloudair-password"
			echo acme >"$1/options/vmwarevcloudair-computeid"
			echo vdc1 >"$1/options/vmwarevcloudair-vdcid"
			echo "10.213.$n.2" >"$1/options/vmwarevcloudair-publicip"
			echo "$API/api" >"$1/options/vmwarevcloudair-api-url"
		}
		IP_WAIT_START='Waiting for the VM to power on'
		IP_WAIT_END='Creating NAT and Firewall Rules'
		;;
	digitalocean)
		TOKEN=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
		FAKE_CMD=(python3 tests/fakecloud/digitalocean.py --token "$TOKEN")
		set_options() {
			echo "$TOKEN" >"$1/options/digitalocean-access-token"
			echo "$API" >"$1/options/digitalocean-api-url"
		}
		IP_WAIT_START='Waiting for IP address'
		IP_WAIT_END='Created droplet ID [0-9]+, IP address'
		;;
	amazonec2)
		AK=AKIDBENCH$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
		SK=bench/$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
		FAKE_CMD=(python3 tests/fakecloud/ec2.py --access-key "$AK" --secret-key "$SK")
		set_options() {
			echo "$API" >"$1/options/amazonec2-endpoint"
			echo "$AK" >"$1/options/amazonec2-access-key"
			echo "$SK" >"$1/options/amazonec2-secret-key"
			echo root >"$1/options/amazonec2-ssh-user"
		}
		IP_WAIT_START="Waiting for the instance's IP address"
		IP_WAIT_END='^ *IP address [0-9]'
		;;
	google)
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/sa.pem" 2>/dev/null
		openssl pkey -in "$W/sa.pem" -pubout -out "$W/sa.pub"
		EMAIL=bench@mfs-bench.iam.gserviceaccount.com
		FAKE_CMD=(python3 tests/fakecloud/google.py --project mfs-bench --sa-email "$EMAIL" --sa-pub "$W/sa.pub")
		set_options() {
			[ -s "$W/sa.json" ] || python3 -c 'import json, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps({"type": "service_account", "client_email": sys.argv[3],
    "private_key": open(sys.argv[2]).read(), "token_uri": sys.argv[4]}).encode())' \
				"$W/sa.json" "$W/sa.pem" "$EMAIL" "$API/token"
			echo mfs-bench >"$1/options/google-project"
			echo "$API/compute/v1/" >"$1/options/google-api-url"
			echo "$W/sa.json" >"$1/options/google-application-credentials"
		}
		IP_WAIT_START="Waiting for the instance's address"
		IP_WAIT_END="Instance '[^']+' is running at"
		;;
	azure)
		SUB=00000000-0000-4000-8000-00000000be0c
		CID=11111111-0000-4000-8000-00000000be0c
		SECRET=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
		FAKE_CMD=(python3 tests/fakecloud/azure.py --tenant 22222222-0000-4000-8000-00000000be0c
			--subscription "$SUB" --client-id "$CID" --client-secret "$SECRET")
		set_options() {
			echo "$SUB" >"$1/options/azure-subscription-id"
			echo "$CID" >"$1/options/azure-client-id"
			echo "$SECRET" >"$1/options/azure-client-secret"
			echo "$API" >"$1/options/azure-api-url"
			echo "$API" >"$1/options/azure-auth-url"
		}
		# The VM's long-running operation ends when its lab host boots.
		IP_WAIT_START='Creating virtual machine'
		IP_WAIT_END='IP address is [0-9]'
		;;
	openstack|rackspace)
		PW=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
		FAKE_CMD=(python3 tests/fakecloud/openstack.py --user bench --password "$PW" --api-key "$PW")
		if [ "$DRIVER" = openstack ]; then
			set_options() {
				echo "$API/identity" >"$1/options/openstack-auth-url"
				echo bench >"$1/options/openstack-username"
				echo "$PW" >"$1/options/openstack-password"
				echo demo >"$1/options/openstack-tenant-name"
				echo m1.small >"$1/options/openstack-flavor-name"
				echo "Ubuntu 24.04" >"$1/options/openstack-image-name"
			}
		else
			set_options() {
				echo "$API/identity/v2.0" >"$1/options/rackspace-auth-url"
				echo bench >"$1/options/rackspace-username"
				echo "$PW" >"$1/options/rackspace-api-key"
				echo RegionOne >"$1/options/rackspace-region"
			}
		fi
		IP_WAIT_START='Waiting for the OpenStack instance to be ACTIVE'
		IP_WAIT_END='Created instance [^ ]+, IP address'
		;;
	softlayer)
		SLK=bench$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
		FAKE_CMD=(python3 tests/fakecloud/softlayer.py --user bench --api-key "$SLK")
		set_options() {
			echo "$API/rest/v3" >"$1/options/softlayer-api-endpoint"
			echo bench >"$1/options/softlayer-user"
			echo "$SLK" >"$1/options/softlayer-api-key"
			echo example.com >"$1/options/softlayer-domain"
		}
		IP_WAIT_START='Getting Host IP'
		IP_WAIT_END='Waiting for host to become available'
		;;
	exoscale)
		EK=EXObench$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
		ES=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
		FAKE_CMD=(python3 tests/fakecloud/exoscale.py --key "$EK" --secret "$ES")
		set_options() {
			echo "$API/v2" >"$1/options/exoscale-url"
			echo "$EK" >"$1/options/exoscale-api-key"
			echo "$ES" >"$1/options/exoscale-api-secret-key"
		}
		IP_WAIT_START="Waiting for the instance's IP address"
		IP_WAIT_END='^ *Instance [0-9a-f-]+, IP address'
		;;
	vmwarevsphere)
		FAKE_CMD=(tests/vcsim/fake.sh)
		head -c 1048576 /dev/urandom >"$W/bench.iso"
		set_options() {
			echo 127.0.0.1 >"$1/options/vmwarevsphere-vcenter"
			cat "$W/port" >"$1/options/vmwarevsphere-vcenter-port"
			echo user >"$1/options/vmwarevsphere-username"
			echo bench >"$1/options/vmwarevsphere-password"
			cat "$W/port.thumb" >"$1/options/vmwarevsphere-thumbprint"
			echo "$W/bench.iso" >"$1/options/vmwarevsphere-boot2docker-url"
		}
		# The simulator's harness gives the VM a lab host once it is on.
		pool_whole() { ! ls "$W/port.guests"/vm-* >/dev/null 2>&1; }
		IP_WAIT_START='Waiting for VMware Tools'
		IP_WAIT_END='VM [^ ]+ has IP address'
		;;
	*) echo "no bench profile for driver '$DRIVER'" >&2; exit 2 ;;
	esac
}
profile

"${FAKE_CMD[@]}" --port-file "$W/port" --hosts "$HOSTS" --log "$W/fake.log" &
FAKE_PID=$!
for _ in $(seq 600); do [ -s "$W/port" ] && break; sleep 0.05; done
API=http://127.0.0.1:$(cat "$W/port")
mkdir -p "$W/store" "$W/mnt"
"$BIN" -o "store=$W/store,refresh=3600" "$W/mnt"

# stamp NAME: copy the machine's log to $W/NAME.stamped, each line
# prefixed with the time in ms it was read.
stamp() {
	local f=$W/store/machines/$1/machinefs.log
	tail -F -s 0.02 --pid=$$ -n +1 "$f" 2>/dev/null | while IFS= read -r line; do
		t=${EPOCHREALTIME/./}
		printf '%s %s\n' "${t:0:13}" "$line"
	done >"$W/$1.stamped" &
}

# create NAME: prints "t0 t1" in ms around the driver write.
create() {
	mkdir "$W/mnt/$1"
	set_options "$W/mnt/$1"
	local t0=${EPOCHREALTIME/./}
	echo "$DRIVER" >"$W/mnt/$1/driver" || echo "create $1 failed: $(cat "$W/mnt/$1/error")" >&2
	local t1=${EPOCHREALTIME/./}
	echo "${t0:0:13} ${t1:0:13}" >"$W/$1.times"
}

# phases NAME: "api api_http wait_ip ssh provision engine total" in ms.
phases() {
	read -r t0 t1 <"$W/$1.times"
	awk -v t0="$t0" -v t1="$t1" -v ws="$IP_WAIT_START" -v we="$IP_WAIT_END" '
		function at(re) { return re in seen ? seen[re] : 0 }
		{ ms = $1; $1 = ""; $2 = ""; line = $0 }
		line ~ ws && !w0 { w0 = ms }
		line ~ we && !w1 { w1 = ms }
		line ~ /Provisioning\.\.\./ && !p0 { p0 = ms }
		line ~ /ssh: connected/ && !s1 { s1 = ms }
		line ~ /Restarting the Docker engine/ && !e0 { e0 = ms }
		line ~ /Docker is up and running!/ { up = ms }
		match(line, /^ *http [A-Z]+ [^ ]+ [0-9]+ [0-9]+ms/) {
			n = split(substr(line, RSTART, RLENGTH), f, " "); sub(/ms$/, "", f[n]); http += f[n]
		}
		END {
			wait = (w1 && w0) ? w1 - w0 : 0
			printf "%d %d %d %d %d %d %d\n", (p0 ? p0 - t0 : 0) - wait, http, wait,
				(s1 && p0) ? s1 - p0 : 0, (e0 && s1) ? e0 - s1 : 0, (up && e0) ? up - e0 : 0, t1 - t0
		}' "$W/$1.stamped"
}

# One create alone (it also makes the store's CA).
stamp one
create one
sleep 0.3
phases one >"$W/one.phases"
rmdir "$W/mnt/one"
# Its lab host is downed in the background: wait until the pool is whole.
for _ in $(seq 300); do pool_whole && break; sleep 0.1; done

# PARALLEL creates at once.
names=()
for i in $(seq "$PARALLEL"); do names+=("p$i"); stamp "p$i"; done
b0=${EPOCHREALTIME/./}
for n in "${names[@]}"; do create "$n" & done
wait_creates() { for n in "${names[@]}"; do while [ ! -s "$W/$n.times" ]; do sleep 0.1; done; done; }
wait_creates
b1=${EPOCHREALTIME/./}
sleep 0.3
failed=0
for n in "${names[@]}"; do
	[ "$(cat "$W/mnt/$n/state" 2>/dev/null)" = Running ] || failed=$((failed + 1))
	phases "$n" >>"$W/par.phases"
done
for n in "${names[@]}"; do rmdir "$W/mnt/$n" & done
wait_rm() { for n in "${names[@]}"; do while [ -e "$W/mnt/$n" ]; do sleep 0.1; done; done; }
wait_rm

# Columns: median and max of each phase over the parallel creates.
stats() { # COLUMN -> "median max"
	cut -d' ' -f"$1" "$W/par.phases" | sort -n | awk '{ v[NR] = $1 } END { printf "%d %d", v[int((NR + 1) / 2)], v[NR] }'
}
echo "driver $DRIVER against its fake; $PARALLEL at once on lab hosts $HOSTS ($failed failed)"
printf '%-10s %10s %14s %14s\n' phase one_ms "${PARALLEL}x_median" "${PARALLEL}x_max"
i=1
for p in api api_http wait_ip ssh provision engine total; do
	one=$(cut -d' ' -f$i "$W/one.phases")
	read -r med max <<<"$(stats $i)"
	printf '%-10s %10s %14s %14s\n' "$p" "$one" "$med" "$max"
	i=$((i + 1))
done
printf '%-10s %10s %14s\n' batch_wall "$(cut -d' ' -f7 "$W/one.phases")" "$(( (${b1:0:13} - ${b0:0:13}) ))"
