#!/usr/bin/env bash
# Create a machine with the none driver through the mount; read every
# file and check its exact content; remove it; remount.
. "$(dirname "$0")/lib.sh"
mount_fs
S=$(realpath "$STORE")
M=$MNT/n1

mkdir "$M" && ok || fail "mkdir n1"
expect_eq "state of a new machine" "$(cat $M/state)" "None"
expect_eq "driver of a new machine" "$(cat $M/driver)" ""
expect_eq "ls of a new machine" "$(ls $M | tr '\n' ' ')" \
	"certs config config.json ctl docker-version driver engine env env.cmd env.emacs env.fish env.powershell env.tcsh error ip log options progress ssh state url "
expect_eq "store folder mode" "$(stat -c %a $S/machines/n1)" "700"

echo tcp://127.0.0.1:2376 > $M/options/url
expect_eq "option read back" "$(cat $M/options/url)" "tcp://127.0.0.1:2376"
expect_eq "options listing" "$(ls $M/options)" "url"
echo none > $M/driver && ok || fail "create with none: $(cat $M/error)"

expect_eq state "$(cat $M/state)" "Running"
expect_eq driver "$(cat $M/driver)" "none"
expect_eq ip "$(cat $M/ip)" "127.0.0.1:2376"
expect_eq url "$(cat $M/url)" "tcp://127.0.0.1:2376"
expect_eq error "$(cat $M/error)" ""
expect_eq env "$(cat $M/env)" "export DOCKER_TLS_VERIFY=\"1\"
export DOCKER_HOST=\"tcp://127.0.0.1:2376\"
export DOCKER_CERT_PATH=\"$S/machines/n1\"
export DOCKER_MACHINE_NAME=\"n1\""
expect_eq env.fish "$(cat $M/env.fish)" "set -gx DOCKER_TLS_VERIFY \"1\";
set -gx DOCKER_HOST \"tcp://127.0.0.1:2376\";
set -gx DOCKER_CERT_PATH \"$S/machines/n1\";
set -gx DOCKER_MACHINE_NAME \"n1\";"
expect_eq env.tcsh "$(cat $M/env.tcsh)" "setenv DOCKER_TLS_VERIFY \"1\";
setenv DOCKER_HOST \"tcp://127.0.0.1:2376\";
setenv DOCKER_CERT_PATH \"$S/machines/n1\";
setenv DOCKER_MACHINE_NAME \"n1\";"
expect_eq env.powershell "$(cat $M/env.powershell)" "\$Env:DOCKER_TLS_VERIFY = \"1\"
\$Env:DOCKER_HOST = \"tcp://127.0.0.1:2376\"
\$Env:DOCKER_CERT_PATH = \"$S/machines/n1\"
\$Env:DOCKER_MACHINE_NAME = \"n1\""
expect_eq env.cmd "$(cat $M/env.cmd)" "SET DOCKER_TLS_VERIFY=1
SET DOCKER_HOST=tcp://127.0.0.1:2376
SET DOCKER_CERT_PATH=$S/machines/n1
SET DOCKER_MACHINE_NAME=n1"
expect_eq env.emacs "$(cat $M/env.emacs)" "(setenv \"DOCKER_TLS_VERIFY\" \"1\")
(setenv \"DOCKER_HOST\" \"tcp://127.0.0.1:2376\")
(setenv \"DOCKER_CERT_PATH\" \"$S/machines/n1\")
(setenv \"DOCKER_MACHINE_NAME\" \"n1\")"
expect_eq config "$(cat $M/config)" "--tlsverify
--tlscacert=\"$S/machines/n1/ca.pem\"
--tlscert=\"$S/machines/n1/cert.pem\"
--tlskey=\"$S/machines/n1/key.pem\"
-H=tcp://127.0.0.1:2376"
# Sourcing env sets the variables.
( . $M/env; expect_eq "sourced DOCKER_HOST" "$DOCKER_HOST" "tcp://127.0.0.1:2376" )

# Every file ends with a newline and stat's size is the true size.
for f in state driver ip url env env.fish env.tcsh env.powershell env.cmd env.emacs config config.json ctl log; do
	expect_eq "size of $f" "$(stat -c %s $M/$f)" "$(cat $M/$f | wc -c)"
	expect_eq "$f ends with a newline" "$(tail -c1 $M/$f | od -An -c | tr -d ' ')" '\n'
done
expect_eq "head -c 4 of config.json" "$(head -c 4 $M/config.json | od -An -c | tr -d ' ')" '{\n'

# The record on disk, exactly as Docker Machine writes it.
expected_config() {
	cat <<JSON
{
    "ConfigVersion": 3,
    "Driver": {
        "IPAddress": "127.0.0.1:2376",
        "MachineName": "n1",
        "SSHUser": "",
        "SSHPort": 0,
        "SSHKeyPath": "",
        "StorePath": "$S",
        "SwarmMaster": false,
        "SwarmHost": "",
        "SwarmDiscovery": "",
        "URL": "tcp://127.0.0.1:2376"
    },
    "DriverName": "none",
    "HostOptions": {
        "Driver": "",
        "Memory": 0,
        "Disk": 0,
        "EngineOptions": {
            "ArbitraryFlags": [],
            "Dns": null,
            "GraphDir": "",
            "Env": [],
            "Ipv6": false,
            "InsecureRegistry": [],
            "Labels": [],
            "LogLevel": "",
            "StorageDriver": "",
            "SelinuxEnabled": false,
            "TlsVerify": true,
            "RegistryMirror": [],
            "InstallURL": "https://get.docker.com"
        },
        "SwarmOptions": {
            "IsSwarm": false,
            "Address": "",
            "Discovery": "",
            "Agent": false,
            "Master": false,
            "Host": "tcp://0.0.0.0:3376",
            "Image": "swarm:latest",
            "Strategy": "spread",
            "Heartbeat": 0,
            "Overcommit": 0,
            "ArbitraryFlags": [],
            "ArbitraryJoinFlags": [],
            "Env": null,
            "IsExperimental": false
        },
        "AuthOptions": {
            "CertDir": "$S/certs",
            "CaCertPath": "$S/certs/ca.pem",
            "CaPrivateKeyPath": "$S/certs/ca-key.pem",
            "CaCertRemotePath": "",
            "ServerCertPath": "$S/machines/n1/server.pem",
            "ServerKeyPath": "$S/machines/n1/server-key.pem",
            "ClientKeyPath": "$S/certs/key.pem",
            "ServerCertRemotePath": "",
            "ServerKeyRemotePath": "",
            "ClientCertPath": "$S/certs/cert.pem",
            "ServerCertSANs": [],
            "StorePath": "$S/machines/n1"
        }
    },
    "Name": "n1"
}
JSON
}
expect_eq "config.json on disk" "$(cat $S/machines/n1/config.json)" "$(expected_config)"
expect_eq "config.json has no trailing newline" "$(tail -c1 $S/machines/n1/config.json)" "}"
expect_eq "config.json in the tree" "$(cat $M/config.json)" "$(expected_config)"
expect_eq "config.json mode" "$(stat -c %a $S/machines/n1/config.json)" "600"

# Certificates: the store's and the machine's copies.
expect_eq "certs dir mode" "$(stat -c %a $S/certs)" "700"
for f in ca.pem cert.pem; do
	expect_eq "$f mode" "$(stat -c %a $S/machines/n1/$f)" "644"
	cmp -s $S/certs/$f $S/machines/n1/$f && ok || fail "machine copy of $f"
	cmp -s $S/certs/$f $M/certs/$f && ok || fail "tree certs/$f"
done
expect_eq "key.pem mode" "$(stat -c %a $S/machines/n1/key.pem)" "600"
expect_eq "ca-key.pem mode" "$(stat -c %a $S/certs/ca-key.pem)" "600"
expect_eq "tree key.pem mode" "$(stat -c %a $M/certs/key.pem)" "400"
# docker $(cat config) finds every file it names.
for p in $(sed -n 's/^--tls[a-z]*="\(.*\)"$/\1/p' $M/config); do
	[ -f "$p" ] && ok || fail "config names a missing file: $p"
done
# openssl agrees the client cert was signed by the CA.
openssl verify -CAfile $M/certs/ca.pem $M/certs/cert.pem >/dev/null && ok || fail "openssl verify"

# ctl shows what a none machine can do; the log says what happened.
expect_eq "ctl commands" "$(head -1 $M/ctl)" "commands rm rm-force"
expect_eq "ctl idle" "$(sed -n 2p $M/ctl)" "running none"
grep -q "Creating machine..." $M/log && ok || fail "log lacks create steps"

# Lifecycle commands are not supported by none: Docker Machine's none
# driver's words where it has them, else the driver named.
for c in start:started stop:stopped kill:killed restart:restarted upgrade:; do
	w=${c#*:} c=${c%%:*}
	expect_errno ENOTSUP put $M/ctl $c
	if [ -n "$w" ]; then
		expect_eq "error for $c" "$(cat $M/error)" "hosts without a driver cannot be $w"
	else
		case "$(cat $M/error)" in *"'none'"*"$c"*) ok ;; *) fail "error for $c: $(cat $M/error)" ;; esac
	fi
	expect_eq "state after refused $c" "$(cat $M/state)" "Running"
done

# .drivers
expect_eq ".drivers lists none" "$(ls $MNT/.drivers | grep -x none)" "none"
grep -q "^url	string		URL of host when no driver is selected (required)	$" $MNT/.drivers/none/options && ok || fail ".drivers/none/options: $(cat $MNT/.drivers/none/options)"
grep -q "^engine-install-url	string	https://get.docker.com	" $MNT/.drivers/none/options && ok || fail "engine options listed"
expect_eq "ls of the root skips .drivers" "$(ls $MNT)" "n1"

# Remount: the same machine, the same files.
before=$(cd $M && cat state driver ip url env config config.json)
umount_fs
mount_fs
expect_eq "after remount" "$(cd $M && cat state driver ip url env config config.json)" "$before"

# rmdir removes the machine and its folder.
rmdir $M && ok || fail "rmdir n1"
[ ! -e $S/machines/n1 ] && ok || fail "store folder left behind"
[ ! -e $M ] && ok || fail "machine still in the tree"
umount_fs
mount_fs
expect_eq "after remount, gone" "$(ls $MNT)" ""
finish
