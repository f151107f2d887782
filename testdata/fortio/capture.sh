#!/usr/bin/env bash
# Captures real fortio v1.66.5 JSON results on loopback only (127.0.0.1), for the parser tests in
# internal/tools/fortio. Run from the repository root:  testdata/fortio/capture.sh [NAME...]
# (with names, only those captures are taken again).
# Each load command line is exactly what fortio.Load.Argv() builds for the Load in the matching
# case of TestArgvCaptured (internal/tools/fortio/fortio_test.go).
set -euo pipefail
F=${FORTIO:-$HOME/.cache/kube-netbench/fortio/v1.66.5/fortio}
out=testdata/fortio
HTTP=127.0.0.1:18080 TCP=127.0.0.1:18078 CLOSED=127.0.0.1:18081
if ss -ltn | grep -qE "($HTTP|$TCP|$CLOSED)\b"; then echo "a port of $HTTP $TCP $CLOSED is in use" >&2; exit 1; fi
"$F" server -http-port "$HTTP" -grpc-port disabled -tcp-port "$TCP" -udp-port disabled \
  -redirect-port disabled -ui-path "" > "$out/.server.log" 2>&1 &
server=$!
trap 'kill "$server"; wait "$server" 2>/dev/null || true; rm -f "$out/.server.log"' EXIT
for _ in $(seq 50); do ss -ltn | grep -q "$HTTP" && ss -ltn | grep -q "$TCP" && break; sleep 0.1; done

want=" $* "
run() { # name, argv after "fortio" (stdout is the JSON; stderr, fortio's summary, is kept aside)
  local name=$1; shift
  [[ $want == "  " || $want == *" $name "* ]] || return 0
  "$F" "$@" > "$out/$name.json" 2> "$out/.$name.stderr" || { cat "$out/.$name.stderr" >&2; exit 1; }
  rm -f "$out/.$name.stderr"
}
run keepalive      load -quiet -json - -qps 0 -c 8 -r 0.00001 -t 3s "http://$HTTP/echo?size=512"
run short-conn     load -quiet -json - -qps 0 -c 8 -r 0.00001 -t 3s -keepalive=false "http://$HTTP/echo?size=512"
run qps1000-r10us  load -quiet -json - -qps 1000 -c 16 -r 0.00001 -t 3s "http://$HTTP/echo?size=512"
run qps1000-r1ms   load -quiet -json - -qps 1000 -c 16 -r 0.001 -t 3s "http://$HTTP/echo?size=512"
run tcp-echo       load -quiet -json - -qps 0 -c 1 -r 0.00001 -t 2s "tcp://$TCP"
run http-503       load -quiet -json - -qps 0 -c 4 -r 0.00001 -n 200 "http://$HTTP/echo?status=503:50&size=512"
# Nothing listens on $CLOSED: every call is a socket error (fortio's code -1).
run closed-port    load -quiet -json - -qps 0 -c 2 -r 0.00001 -n 20 "http://$CLOSED/echo"
# ServiceScale's fixed-rate short connections (SVC_SCALE_QPS): a rate it holds, and one it cannot.
run qps80-short    load -quiet -json - -qps 80 -c 2 -r 0.00001 -t 3s -keepalive=false "http://$HTTP/echo?size=512"
run qps-not-held   load -quiet -json - -qps 50000 -c 1 -r 0.00001 -t 2s -keepalive=false "http://$HTTP/echo?size=512"
