#!/usr/bin/env bash
# Captures real fortio JSON that the suite does not produce itself but `netbench parse fortio` must
# judge: an older fortio's `load -json`, the REST API's run, async and error replies, and an
# interrupted run. Loopback only (127.0.0.1), runs of at most 3 s. Run from the repository root:
#   testdata/fortio/capture-variants.sh
# Writes only the variant files (capture.sh writes the suite's own). The older fortio is built from
# the Go module proxy: GOBIN=/tmp/fortio-v1.38.0 go install fortio.org/fortio@v1.38.0
set -euo pipefail
F=${FORTIO:-$HOME/.cache/kube-netbench/fortio/v1.66.5/fortio}
OLD=${FORTIO_OLD:-/tmp/fortio-v1.38.0/fortio}
out=testdata/fortio
HTTP=127.0.0.1:28080
if ss -ltn | grep -qE "$HTTP\b"; then echo "$HTTP is in use" >&2; exit 1; fi
# The REST API lives under the UI path.
"$F" server -http-port "$HTTP" -grpc-port disabled -tcp-port disabled -udp-port disabled \
  -redirect-port disabled -ui-path /fortio/ > "$out/.server.log" 2>&1 &
server=$!
trap 'kill "$server"; wait "$server" 2>/dev/null || true; rm -f "$out/.server.log"' EXIT
for _ in $(seq 50); do ss -ltn | grep -q "$HTTP" && break; sleep 0.1; done

run() { # name, command: stdout is the capture, the exit status is reported
  local name=$1 rc=0; shift
  "$@" > "$out/$name.json" 2> "$out/.$name.stderr" || rc=$?
  echo "$name: exited $rc; stderr: $(tail -3 "$out/.$name.stderr")" >&2
  rm -f "$out/.$name.stderr"
}
run v1.38-keepalive "$OLD" load -quiet -json - -qps 0 -c 4 -r 0.00001 -t 2s "http://$HTTP/echo?size=512"
run v1.38-http-503  "$OLD" load -quiet -json - -qps 0 -c 4 -r 0.00001 -n 200 "http://$HTTP/echo?status=503:50&size=512"
rest="http://$HTTP/fortio/rest/run"
run rest-run   curl -sS "$rest?url=http://$HTTP/echo&qps=0&c=2&t=1s&r=0.00001"
run rest-async curl -sS "$rest?url=http://$HTTP/echo&qps=0&c=2&t=1s&r=0.00001&async=on"
run rest-error curl -sS "$rest?url=http://127.0.0.1:99999/&qps=0&c=2&t=1s"
sleep 1.5 # the async run ends
# SIGINT one second into a 3 s run, as a CI job's cancel does.
"$F" load -quiet -json - -qps 0 -c 2 -r 0.00001 -t 3s "http://$HTTP/echo?size=512" \
  > "$out/interrupted.json" 2> "$out/.interrupted.stderr" &
client=$!
sleep 1
kill -INT "$client"
rc=0; wait "$client" || rc=$?
echo "interrupted: fortio exited $rc; stderr: $(tail -3 "$out/.interrupted.stderr")" >&2
rm -f "$out/.interrupted.stderr"
