#!/usr/bin/env bash
# Build (once) and start the simulator for a test: prints its PID; the
# port, the certificate's thumbprint and PEM land in DIR/{port,thumb,cert.pem}.
#   start.sh DIR [vcsim-test flags...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$1; shift
bin=$("$here/build.sh")
rm -f "$dir/port"
"$bin" -port-file "$dir/port" -tls -thumb-file "$dir/thumb" -cert-file "$dir/cert.pem" "$@" \
	>"$dir/vcsim.log" 2>&1 &
pid=$!
for _ in $(seq 600); do
	[ -s "$dir/port" ] && break
	kill -0 $pid 2>/dev/null || { cat "$dir/vcsim.log" >&2; exit 1; }
	sleep 0.05
done
[ -s "$dir/port" ] || { echo "vcsim did not start" >&2; kill $pid; exit 1; }
echo $pid
