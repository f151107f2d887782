#!/usr/bin/env bash
# Captures real netperf 2.7.0 -o (CSV) outputs on loopback only (127.0.0.1), for the parser tests in
# internal/tools/netperf. Run from the repository root:  testdata/netperf/capture.sh [NAME...]
# (with names, only those captures are taken again).
# Each netperf command line is exactly what netperf.Test.Argv() builds for the Test in the matching
# case of TestArgvCaptured (internal/tools/netperf/netperf_test.go); netserver's is Server.Argv().
#
# netperf is not in Debian main. The binaries come from Debian's non-free package, extracted, not installed:
#   curl -sS -O http://deb.debian.org/debian/pool/non-free/n/netperf/netperf_2.7.0-0.1_amd64.deb
#   sha256sum netperf_2.7.0-0.1_amd64.deb  # c20d6afd858945a6e7b35b560d6764192fe35fa0a00e7d78b7bb0ac62df761b2
#   dpkg-deb -x netperf_2.7.0-0.1_amd64.deb /tmp/np/x
set -euo pipefail
bin=${NETPERF_BIN:-/tmp/np/x/usr/bin}
[[ -x $bin/netperf && -x $bin/netserver ]] || { echo "no netperf/netserver in $bin (see the top of $0)" >&2; exit 1; }
out=testdata/netperf
HOST=127.0.0.1 PORT=25865 CLOSED=25869 DATA=25866
SEL=MIN_LATENCY,MEAN_LATENCY,P50_LATENCY,P90_LATENCY,P99_LATENCY,MAX_LATENCY,STDDEV_LATENCY,THROUGHPUT,THROUGHPUT_UNITS,LOCAL_TRANSPORT_RETRANS,REMOTE_TRANSPORT_RETRANS,REQUEST_SIZE,RESPONSE_SIZE,ELAPSED_TIME
if ss -ltn | grep -qE "$HOST:($PORT|$CLOSED|$DATA)\b"; then echo "port $PORT, $CLOSED or $DATA of $HOST is in use" >&2; exit 1; fi
"$bin/netserver" -D -p "$PORT" -L "$HOST" > "$out/.server.log" 2>&1 &
server=$!
trap 'kill "$server"; wait "$server" 2>/dev/null || true; rm -f "$out/.server.log"' EXIT
for _ in $(seq 50); do ss -ltn | grep -q "$HOST:$PORT\b" && break; sleep 0.1; done

want=" $* "
sel() { [[ $want == "  " || $want == *" $1 "* ]]; }
run() { # name, argv after "netperf" (stdout is the capture; stderr is shown only on failure)
  local name=$1; shift
  sel "$name" || return 0
  "$bin/netperf" "$@" > "$out/$name.txt" 2> "$out/.$name.stderr" || { cat "$out/.$name.stderr" >&2; exit 1; }
  rm -f "$out/.$name.stderr"
}
run tcp-rr   -H "$HOST" -p "$PORT" -t TCP_RR -l 3 -- -r 1,1 -o "$SEL"
run tcp-crr  -H "$HOST" -p "$PORT" -t TCP_CRR -l 3 -- -r 1,1 -o "$SEL"
# ServiceScale's TCP_CRR through a Service: netserver's data port pinned ($DATA) beside its control port.
run tcp-crr-data-port  -H "$HOST" -p "$PORT" -t TCP_CRR -l 2 -- -r 1,1 -P ,"$DATA" -o "$SEL"
sel no-netserver || exit 0
# Nothing listens on $CLOSED: netperf exits 255 and says so on stdout (its stderr stays empty).
rc=0
"$bin/netperf" -H "$HOST" -p "$CLOSED" -t TCP_RR -l 3 -- -r 1,1 -o "$SEL" > "$out/no-netserver.txt" 2> "$out/.no-netserver.stderr" || rc=$?
echo "no-netserver: netperf exited $rc; stderr: $(cat "$out/.no-netserver.stderr")" >&2
rm -f "$out/.no-netserver.stderr"
[[ $rc -ne 0 ]] || { echo "netperf to the closed port $CLOSED succeeded" >&2; exit 1; }
sel truncated || exit 0
# tcp-rr.txt without its last 30 bytes: banner and header intact, the values line cut short.
head -c -30 "$out/tcp-rr.txt" > "$out/truncated.txt"
