#!/usr/bin/env bash
# The amazonec2 driver end to end against tests/fakecloud/ec2.py (EC2
# Query API, SigV4 checked byte for byte), whose instances are lab hosts
# (real sshd + dockerd): create -> `. env && docker info`; the request
# sequence is Docker Machine's; stop/start/kill/restart; rmdir leaves the
# account empty; RequestLimitExceeded mid-create; bad credentials; a bad
# AMI after the key was made; kill -9 of the daemon while the instance
# waits for its IP; the secret in no file of the tree nor the log; a
# Docker Machine store with amazonec2 machines mounts.
. "$SRCDIR/tests/fs/lib.sh"
. "$SRCDIR/tests/fakecloud/lib.sh"
unset AWS_ACCESS_KEY_ID AWS_ACCESS_KEY AWS_SECRET_ACCESS_KEY AWS_SECRET_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE
HOSTS=${LAB_EC2_HOSTS:-131-136}
AK=AKIDMFSTESTEC2EXAMPLE
SECRET="mfs/ec2+S3cret-$RANDOM$RANDOM/Zz"
trap 'cleanup; fake_stop; lab_down_range "$HOSTS"' EXIT

# A second key with a session token (temporary credentials: STS).
AK2=ASIAMFSTESTEC2TEMP
SECRET2="mfs/temp+$RANDOM$RANDOM"
TOKEN2="FwoGZXIvYXdzEMFS//////////$RANDOM$RANDOM+token/=="
fake_start ec2.py --hosts "$HOSTS" --access-key "$AK" --secret-key "$SECRET" \
	--account "$AK2" "$SECRET2" "$TOKEN2"
post() { fake POST "/$1" "$2" >/dev/null; }
account() { fake GET /_state; }
empty_account() {
	local s
	s=$(account | jq -c '{i: [.instances[].id], k: .key_pairs, g: .security_groups}')
	expect_eq "account empty ($1)" "$s" '{"i":[],"k":[],"g":[]}'
}
# The actions sent, in order, polls folded: one line each.
actions() {
	fake GET /_requests | jq -r '.[] | "\(.body | capture("Action=(?<a>[A-Za-z]+)").a) \(.status)"' |
		awk '$0 != last { print } { last = $0 }'
}
ec2_opts() { # DIR: endpoint and credentials as options
	put "$1/options/amazonec2-endpoint" "$API"
	put "$1/options/amazonec2-access-key" "$AK"
	put "$1/options/amazonec2-secret-key" "$SECRET"
	put "$1/options/amazonec2-ssh-user" root
}

mount_fs
M=$MNT/m1
mkdir "$M"
ec2_opts "$M"
post _requests/reset ''
start=$(date +%s)
if put "$M/driver" amazonec2; then ok; else
	fail "create: $(cat "$M/error")"; tail -30 "$M/log"; finish; exit 1
fi
echo "create took $(( $(date +%s) - start )) s"
expect_eq state "$(cat "$M/state")" Running
ip=$(account | jq -r '.instances[0].ip')
expect_eq url "$(cat "$M/url")" "tcp://$ip:2376"
name=$( . "$M/env" && docker info --format '{{.Name}}' )
expect_eq "docker info name" "$name" m1

# Docker Machine's calls in Docker Machine's order (polls folded; the
# AMI lookup replaces its dead per-region table; Create checks the key
# again, the subnet found by PreCreateCheck stands).
actions | sed -n '1,/^CreateTags/p' > "$T/seq"
cat > "$T/want" <<-EOF
	DescribeImages 200
	DescribeAccountAttributes 200
	DescribeKeyPairs 400
	DescribeSubnets 200
	DescribeKeyPairs 400
	ImportKeyPair 200
	DescribeSecurityGroups 200
	CreateSecurityGroup 200
	DescribeSecurityGroups 200
	AuthorizeSecurityGroupIngress 200
	RunInstances 200
	DescribeInstances 200
	CreateTags 200
EOF
diff "$T/want" "$T/seq" > "$T/seqdiff" && ok || { fail "request sequence"; cat "$T/seqdiff"; }
run=$(fake GET /_requests | jq -r '[.[] | select(.body | test("Action=RunInstances"))][0].body')
for p in "ImageId=ami-04b70fa74e45c3917" "KeyName=m1" "InstanceType=t2.micro" "MinCount=1" \
	"Placement.AvailabilityZone=a" "NetworkInterface.1.DeviceIndex=0" "NetworkInterface.1.SubnetId=subnet-0aaa1111bbbb2222c" \
	"BlockDeviceMapping.1.DeviceName=%2Fdev%2Fsda1" "BlockDeviceMapping.1.Ebs.VolumeSize=16" \
	"BlockDeviceMapping.1.Ebs.VolumeType=gp2" "Version=2016-11-15"; do
	case "&$run&" in *"&$p&"*) ok ;; *) fail "RunInstances lacks $p: $run" ;; esac
done
ingress=$(fake GET /_requests | jq -r '[.[] | select(.body | test("Action=AuthorizeSecurityGroupIngress"))][0].body')
case "$ingress" in *"IpPermissions.1.FromPort=22"*"IpPermissions.2.FromPort=2376"*) ok ;; *) fail "ingress: $ingress" ;; esac
expect_eq "tag" "$(account | jq -r '.instances[0].tags.Name')" m1
expect_eq "key authorized" "$(account | jq -r '.key_pairs[0]')" m1
head -c 11 "$STORE/machines/m1/id_ed25519.pub" | grep -q ssh-ed25519 && ok || fail "machine key not ed25519"

# config.json as Docker Machine's amazonec2 driver writes it.
C=$STORE/machines/m1/config.json
expect_eq "DriverName" "$(jq -r .DriverName "$C")" amazonec2
expect_eq "config keys" "$(jq -r '.Driver | [.InstanceId != "", .KeyName, .Region, .AMI, .Endpoint, .InstanceType, (.SecurityGroupIds|length), .SecurityGroupNames[0], .RootSize, .SSHUser, .IPAddress == "'"$ip"'", .ExistingKey] | map(tostring) | join(" ")' "$C")" \
	"true m1 us-east-1 ami-04b70fa74e45c3917 $API t2.micro 1 docker-machine 16 root true false"
expect_eq "config.json mode" "$(stat -c %a "$C")" 600

# stop/start/kill/restart: each returns once EC2 shows the new state.
for step in stop:Stopped:stopped start:Running:running kill:Stopped:stopped start:Running:running restart:Running:running; do
	IFS=: read -r cmd want api <<<"$step"
	if put "$M/ctl" "$cmd"; then ok; else fail "$cmd: $(cat "$M/error")"; fi
	expect_eq "state after $cmd" "$(cat "$M/state")" "$want"
	expect_eq "EC2 after $cmd" "$(account | jq -r '.instances[0].state')" "$api"
done
name=$( . "$M/env" && docker info --format '{{.Name}}' 2>&1 )
expect_eq "docker after restart" "$name" m1
actions | grep -q "^StopInstances 200" && actions | grep -q "^StartInstances 200" &&
	actions | grep -q "^RebootInstances 200" && ok || fail "lifecycle calls: $(actions | tr '\n' ' ')"
fake GET /_requests | jq -r '.[].body' | grep -q "Action=StopInstances&Force=true" && ok || fail "kill is not a forced stop"

# RequestLimitExceeded (503) once mid-create: retried, re-signed, success
# (m1's state refreshes may come in between). m2 signs with temporary
# credentials: its session token goes along (X-Amz-Security-Token).
post _ec2fault '{"action": "RunInstances", "code": "RequestLimitExceeded", "status": 503, "count": 1}'
post _requests/reset ''
mkdir "$MNT/m2"
ec2_opts "$MNT/m2"
put "$MNT/m2/options/amazonec2-access-key" "$AK2"
put "$MNT/m2/options/amazonec2-secret-key" "$SECRET2"
put "$MNT/m2/options/amazonec2-session-token" "$TOKEN2"
put "$MNT/m2/options/amazonec2-ami" ami-0b0ea68c435eb488d
if put "$MNT/m2/driver" amazonec2; then ok; else fail "create with a throttle: $(cat "$MNT/m2/error")"; fi
actions | grep -v "^DescribeInstances" | grep -A1 "^RunInstances 503" | grep -q "^RunInstances 200" && ok || fail "throttled RunInstances not retried: $(actions | tr '\n' ' ')"
actions | grep -q DescribeImages && fail "DescribeImages with amazonec2-ami given" || ok
grep -q "ec2 RunInstances" "$MNT/m2/log" && grep -q "503" "$MNT/m2/log" && ok || fail "the retry is not in the log"
( . "$MNT/m2/env" && docker info --format '{{.Name}}' ) > "$T/n2" 2>&1
expect_eq "m2 docker" "$(cat "$T/n2")" m2

# The secret: in no file of the tree, never in a log; masked.
expect_eq "masked option" "$(cat "$M/options/amazonec2-secret-key")" "****"
expect_eq "masked token" "$(cat "$MNT/m2/options/amazonec2-session-token")" "****"
for s in "$SECRET" "$SECRET2" "$TOKEN2"; do
	if grep -rqF -- "$s" "$MNT" 2>/dev/null; then fail "a secret is in the tree: $(grep -rlF -- "$s" "$MNT")"; else ok; fi
	if grep -qF -- "$s" "$STORE"/machines/*/machinefs.log "$T/daemon.log" "$T/fake.log"; then fail "a secret is in a log"; else ok; fi
done

# rmdir: instance, key pair and the security group it made are gone.
# m1 made the group and goes first while m2 still uses it: the group is
# handed on (tagged), and m2's rmdir, the last user, deletes it.
rmdir "$M" && ok || fail "rmdir m1: $(cat "$M/error" 2>/dev/null)"
expect_eq "group kept for m2" "$(account | jq -c .security_groups)" '["docker-machine"]'
rmdir "$MNT/m2" && ok || fail "rmdir m2: $(cat "$MNT/m2/error" 2>/dev/null)"
empty_account "after rmdir"
actions | grep -q "^TerminateInstances 200" && actions | grep -q "^DeleteKeyPair 200" &&
	actions | grep -q "^DeleteSecurityGroup 200" && ok || fail "rm calls: $(actions | tr '\n' ' ')"

# Bad credentials: one line naming the cause, nothing made.
mkdir "$MNT/bad1" "$MNT/bad2"
ec2_opts "$MNT/bad1"
put "$MNT/bad1/options/amazonec2-secret-key" "not-the-secret"
expect_errno "Operation not permitted" put "$MNT/bad1/driver" amazonec2
case "$(cat "$MNT/bad1/error")" in *SignatureDoesNotMatch*) ok ;; *) fail "bad secret: $(cat "$MNT/bad1/error")" ;; esac
expect_eq "error is one line" "$(wc -l < "$MNT/bad1/error")" 1
ec2_opts "$MNT/bad2"
put "$MNT/bad2/options/amazonec2-access-key" AKIDNOSUCHKEY
expect_errno EACCES put "$MNT/bad2/driver" amazonec2
case "$(cat "$MNT/bad2/error")" in *AuthFailure*) ok ;; *) fail "unknown key: $(cat "$MNT/bad2/error")" ;; esac
mkdir "$MNT/bad3"
ec2_opts "$MNT/bad3"
put "$MNT/bad3/options/amazonec2-access-key" "$AK2"
put "$MNT/bad3/options/amazonec2-secret-key" "$SECRET2"
expect_errno EACCES put "$MNT/bad3/driver" amazonec2
case "$(cat "$MNT/bad3/error")" in *AuthFailure*) ok ;; *) fail "temporary key without its token: $(cat "$MNT/bad3/error")" ;; esac
rmdir "$MNT/bad1" "$MNT/bad2" "$MNT/bad3" && ok || fail "rmdir of the bad-credential machines"
empty_account "after bad credentials"

# kill -9 of the daemon while k9's instance waits for its IP and while
# k8's RunInstances is on the wire (its answer never read); mounted
# again, rmdir deletes what each recorded: k8's instance is found by the
# ClientToken the driver sent.
post _delay_ip '{"seconds": 30}'
mkdir "$MNT/k9" "$MNT/k8"
ec2_opts "$MNT/k9"
ec2_opts "$MNT/k8"
put "$MNT/k9/driver" amazonec2 2>/dev/null &
w9=$!
for _ in $(seq 200); do grep -q "Waiting for the instance's IP" "$MNT/k9/log" 2>/dev/null && break; sleep 0.05; done
grep -q "Waiting for the instance's IP" "$MNT/k9/log" && ok || fail "k9 never waited for an IP"
post _ec2fault '{"action": "RunInstances", "delay": 3, "count": 1}'
put "$MNT/k8/driver" amazonec2 2>/dev/null &
w8=$!
for _ in $(seq 200); do grep -q "ec2 RunInstances" "$MNT/k8/log" 2>/dev/null && break; sleep 0.05; done
grep -q "ec2 RunInstances" "$MNT/k8/log" && ok || fail "k8 never sent RunInstances"
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
wait $w9 $w8 2>/dev/null
fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"
post _delay_ip '{"seconds": 0}'
for _ in $(seq 100); do [ "$(account | jq -r '.instances | length')" = 2 ] && break; sleep 0.1; done
expect_eq "instances left by kill -9" "$(account | jq -r '.instances | length')" 2
expect_eq "k8's id unknown to its record" "$(jq -r '.Driver.InstanceId' "$STORE/machines/k8/config.json")" ""
mkdir -p "$T/home/.aws"
printf '[default]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = wrong\n[mfs]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	"$AK" "$SECRET" > "$T/home/.aws/credentials"
HOME=$T/home AWS_PROFILE=mfs mount_fs
expect_eq "k9 state after kill -9" "$(cat "$MNT/k9/state")" Error
rmdir "$MNT/k8" && ok || fail "rmdir k8: $(cat "$MNT/k8/error" 2>/dev/null)"
expect_eq "k8's instance found by its token and terminated" "$(account | jq -r '.instances | length')" 1
rmdir "$MNT/k9" && ok || fail "rmdir k9: $(cat "$MNT/k9/error" 2>/dev/null)"
empty_account "after kill -9 and rmdir"

# A failure after the key and group were made (an AMI EC2 does not
# have): everything deleted, newest first; the error says why. No
# credentials in the options: the daemon's ~/.aws/credentials, profile
# AWS_PROFILE, signs (the error is EC2's, past the signature check).
mkdir "$MNT/m4"
put "$MNT/m4/options/amazonec2-endpoint" "$API"
put "$MNT/m4/options/amazonec2-ssh-user" root
put "$MNT/m4/options/amazonec2-ami" ami-0000000000000dead
post _requests/reset ''
expect_errno ENOENT put "$MNT/m4/driver" amazonec2
case "$(cat "$MNT/m4/error")" in *InvalidAMIID.NotFound*) ok ;; *) fail "bad ami: $(cat "$MNT/m4/error")" ;; esac
empty_account "after a bad AMI"
actions | sed -n '/^RunInstances 400/,$p' | grep -E "^Delete" > "$T/cleanup"
expect_eq "cleanup order" "$(tr '\n' ' ' < "$T/cleanup")" "DeleteKeyPair 200 DeleteSecurityGroup 200 "
rmdir "$MNT/m4" && ok || fail "rmdir m4"


# A store Docker Machine wrote: ec2box's instance is stopped in EC2;
# ec2gone's instance no longer exists (rm still succeeds).
umount_fs
S2=$T/dmstore
mkdir -p "$S2"
cp -r "$SRCDIR/tests/fixtures/dm-store-ec2/." "$S2/"
sed -i -e "s|@ENDPOINT@|$API|" -e "s|@ACCESS@|$AK|" -e "s|@SECRET@|${SECRET//|/\\|}|" "$S2"/machines/*/config.json
post _ec2seed '{"instance_id": "i-0123456789abcdef0", "state": "stopped", "key": "ec2box"}'
mount_fs "$S2"
expect_eq "fixture driver" "$(cat "$MNT/ec2box/driver")" amazonec2
for _ in $(seq 100); do [ "$(cat "$MNT/ec2box/state")" = Stopped ] && break; sleep 0.1; done
expect_eq "fixture state" "$(cat "$MNT/ec2box/state")" Stopped
rmdir "$MNT/ec2gone" && ok || fail "rmdir of a machine whose instance is gone: $(cat "$MNT/ec2gone/error" 2>/dev/null)"
rmdir "$MNT/ec2box" && ok || fail "rmdir ec2box: $(cat "$MNT/ec2box/error" 2>/dev/null)"
empty_account "after the fixture's rm"
finish
