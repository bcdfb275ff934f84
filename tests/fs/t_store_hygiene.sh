#!/usr/bin/env bash
# Issue 8 items 4 (names at load), 8 (symlinks in the store) and 9 (small
# holes): what the store holds never becomes a bad machine or a write
# outside it, and the tree refuses what would make a stray machine.
. "$(dirname "$0")/lib.sh"
S=$STORE/machines
mkdir -p $S/ok $S/'q";id>&2;"' $T/outside $S/ok2
echo '{"Driver":"none","Options":{},"State":"None"}' > $S/'q";id>&2;"'/machinefs.json
echo '{"Driver":"none","Options":{},"State":"None"}' > $T/outside/machinefs.json
ln -s $T/outside $S/linked
# A crash between write and rename left temp files.
echo '{}' > $S/ok/config.json.tmpAb12Cd
echo '{}' > $S/ok/machinefs.json.tmpZZ99aa
echo 'keep' > $S/ok/notes.tmp
# The log linked outside the store.
: > $T/victim
ln -s $T/victim $S/ok2/machinefs.log
mount_fs

expect_eq "machines loaded" "$(ls $MNT)" "ok
ok2"
expect_eq "temp files cleaned" "$(ls $S/ok)" "notes.tmp"
grep -q "skipping machine folder 'linked': a symbolic link" $T/daemon.log && ok || fail "no word on the link: $(cat $T/daemon.log)"
grep -qF "skipping machine folder 'q\";id>&2;\"': not a valid machine name" $T/daemon.log && ok || fail "no word on the bad name: $(cat $T/daemon.log)"

# Commands on ok2 log, but never through the symlink.
put $MNT/ok2/driver none 2>/dev/null
expect_eq "state ok2" "$(cat $MNT/ok2/state)" "Error"
expect_eq "nothing written through the link" "$(cat $T/victim)" ""
expect_eq "link left alone" "$(readlink $S/ok2/machinefs.log)" "$T/victim"
expect_eq "nothing written in the linked folder" "$(ls $T/outside)" "machinefs.json"

# mv of a machine: EPERM, and no stray machine.
expect_errno "Operation not permitted" mv $MNT/ok $MNT/moved
expect_eq "after mv" "$(ls $MNT)" "ok
ok2"
expect_errno "Operation not permitted" mv $MNT/ok/state $MNT/ok/state2

# Names: 63 characters are fine, 64 are not (hostnames stop there).
n63=$(printf 'a%.0s' $(seq 63))
mkdir $MNT/$n63 && ok || fail "mkdir of 63 characters"
expect_errno EINVAL mkdir $MNT/${n63}b
rmdir $MNT/$n63 || fail "rmdir 63"

# Editors' scratch files: a few, not without end.
for i in $(seq 16); do : > $MNT/ok/options/.x$i.swp || fail "scratch $i"; done
expect_errno "No space left" bash -c ": > $MNT/ok/options/.x17.swp"
rm $MNT/ok/options/.x1.swp
: > $MNT/ok/options/.x17.swp && ok || fail "scratch after one went"

# A generic key named like a machine file is copied under a fixed name.
mkdir $T/k
ssh-keygen -q -t ed25519 -N '' -f $T/k/key.pem
mkdir $MNT/g
put $MNT/g/options/generic-ip-address 127.0.0.1
put $MNT/g/options/generic-ssh-port 1
put $MNT/g/options/generic-ssh-key $T/k/key.pem
timeout 120 bash -c "printf 'generic\n' > $MNT/g/driver" 2>/dev/null
keypath=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Driver"]["SSHKeyPath"])' $S/g/config.json)
expect_eq "ssh key copy" "$keypath" "$(realpath $S)/g/id_rsa"
cmp -s $S/g/id_rsa $T/k/key.pem && ok || fail "the key's copy"
if [ -e $S/g/key.pem ]; then
	cmp -s $S/g/key.pem $STORE/certs/key.pem && ok || fail "key.pem is not the client key"
fi
finish
