#!/usr/bin/env bash
# The simulator run the way bench/cloud-create.sh runs its fake clouds:
#   fake.sh --port-file F --hosts N-M [--log L]
# in the foreground (exec), HTTPS, the certificate's thumbprint in F.thumb,
# powered-on VMs given lab hosts N-M (guest.sh; its state in F.guests/).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
port= hosts= log=/dev/null
while [ $# -gt 0 ]; do
	case $1 in
	--port-file) port=$2; shift 2 ;;
	--hosts) hosts=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	*) echo "fake.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
bin=$("$here/build.sh")
export VCSIM_STATE=$port.guests VCSIM_LAB_HOSTS=$hosts
exec "$bin" -port-file "$port" -tls -thumb-file "$port.thumb" -cert-file "$port.pem" \
	-guest-cmd "$here/guest.sh" >>"$log" 2>&1
