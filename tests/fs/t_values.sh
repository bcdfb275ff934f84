#!/usr/bin/env bash
# Values never become code: control characters in options are refused with
# one line in `error`; a hostile url is refused at create; env.* sourced by
# the real shells sets the values (here a store path full of shell syntax)
# and runs nothing.
. "$(dirname "$0")/lib.sh"
CANARY=$T/canary
# A store path is the user's choice and may hold anything a name may not.
HSTORE="$T/st \$(touch $CANARY) \`touch $CANARY\` ';\"!x"
mkdir -p "$HSTORE"
mount_fs "$HSTORE"
M=$MNT/m
mkdir $M

# One-line options: a newline (or any control character) is refused.
expect_errno EINVAL put $M/options/engine-storage-driver "$(printf 'overlay2\nExecStartPre=/bin/touch %s' "$CANARY")"
case "$(cat $M/error)" in "option 'engine-storage-driver' holds a control character (0x0a): want one line") ok ;; *) fail "error: $(cat $M/error)" ;; esac
expect_eq "error is one line" "$(wc -l < $M/error)" "1"
expect_eq "value not kept" "$(cat $M/options/engine-storage-driver 2>/dev/null)" ""
expect_errno EINVAL put $M/options/engine-install-url "$(printf 'https://x/\r')x"
# Lists: one value a line, but no other control character.
expect_errno EINVAL put $M/options/engine-label "$(printf 'a=b\nc=\033[0m')"
case "$(cat $M/error)" in *"'engine-label' holds a control character (0x1b)"*) ok ;; *) fail "error: $(cat $M/error)" ;; esac
put $M/options/engine-label "$(printf 'a=b\nc=d')" && ok || fail "a plain list refused"

# A url with shell syntax in it: refused at create, nothing stored.
put $M/options/url 'tcp://$(touch '"$CANARY"'):2376' && ok || fail "url write"
expect_errno EINVAL put $M/driver none
case "$(cat $M/error)" in "invalid url 'tcp://\$(touch "*"):2376': want tcp://HOST:PORT") ok ;; *) fail "url error: $(cat $M/error)" ;; esac
expect_eq "no env for a bad url" "$(cat $M/env)" ""

# A good url: env sourced by every shell there is gives the values back.
put $M/options/url tcp://127.0.0.1:2376 && ok || fail "url write"
put $M/ctl create && ok || fail "create: $(cat $M/error)"
want="$HSTORE/machines/m"
for sh in dash bash "busybox sh"; do
	got=$($sh -c '. "$1/env" && printf "%s|%s|%s" "$DOCKER_HOST" "$DOCKER_CERT_PATH" "$DOCKER_MACHINE_NAME"' sh "$M")
	expect_eq "$sh: env values" "$got" "tcp://127.0.0.1:2376|$want|m"
done
if command -v fish >/dev/null; then
	got=$(fish -c 'source $argv[1]/env.fish; printf "%s|%s|%s" "$DOCKER_HOST" "$DOCKER_CERT_PATH" "$DOCKER_MACHINE_NAME"' "$M")
	expect_eq "fish: env values" "$got" "tcp://127.0.0.1:2376|$want|m"
fi
if command -v tcsh >/dev/null; then
	got=$(tcsh -f -c "source '$M/env.tcsh'; sh -c 'printf \"%s|%s|%s\" \"\$DOCKER_HOST\" \"\$DOCKER_CERT_PATH\" \"\$DOCKER_MACHINE_NAME\"'")
	expect_eq "tcsh: env values" "$got" "tcp://127.0.0.1:2376|$want|m"
fi
expect_eq "cmd: refuses what it cannot escape" "$(cat $M/env.cmd)" ""
[ -e "$CANARY" ] && fail "a value ran code" || ok

# A value longer than its field is refused, not cut short.
G=$MNT/g
mkdir $G
put $G/options/generic-ip-address 127.0.0.1
put $G/options/generic-ssh-user "$(printf 'u%.0s' $(seq 100))"
expect_errno EINVAL put $G/driver generic
expect_eq "too long: error" "$(cat $G/error)" "generic-ssh-user is too long: at most 63 bytes"
finish
