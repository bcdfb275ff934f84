#!/usr/bin/env bash
# Issue 8 item 6: a create that failed after the record was saved, retried
# with changed options, uses the options as they are now.
. "$(dirname "$0")/lib.sh"
export MACHINEFS_FAULTS=create=fail
mount_fs
M=$MNT/m
labels() {
	python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(" ".join(c["HostOptions"]["EngineOptions"]["Labels"]))' $STORE/machines/m/config.json
}
mkdir $M
put $M/options/url tcp://10.213.61.2:2376
put $M/options/engine-label "team=a"
expect_errno EIO put $M/driver none
expect_eq "first try" "$(labels)" "team=a"
put $M/options/engine-label "team=b
tier=2"
put $M/options/engine-storage-driver overlay2
expect_errno EIO put $M/ctl create
expect_eq "retry reads the labels now" "$(labels)" "team=b tier=2"
expect_eq "and the storage driver" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["HostOptions"]["EngineOptions"]["StorageDriver"])' $STORE/machines/m/config.json)" "overlay2"
finish
