#!/usr/bin/env bash
# Captures real netperf 2.7.0 outputs that the suite does not produce itself but `netbench parse netperf`
# must judge: other -o column sets, -k keyval, the classic and -O tables, -P 0, a stream test, UDP_RR
# and an interrupted run. Loopback only (127.0.0.1), 2 s runs. Run from the repository root:
#   testdata/netperf/capture-variants.sh
# Writes only the variant files (capture.sh writes the suite's own); binaries as in capture.sh.
set -euo pipefail
bin=${NETPERF_BIN:-$HOME/.cache/kube-netbench/netperf/2.7.0-0.1}
[[ -x $bin/netperf && -x $bin/netserver ]] || { echo "no netperf/netserver in $bin" >&2; exit 1; }
out=testdata/netperf
HOST=127.0.0.1 PORT=25875
if ss -ltn | grep -qE "$HOST:$PORT\b"; then echo "port $PORT of $HOST is in use" >&2; exit 1; fi
"$bin/netserver" -D -p "$PORT" -L "$HOST" > "$out/.server.log" 2>&1 &
server=$!
trap 'kill "$server"; wait "$server" 2>/dev/null || true; rm -f "$out/.server.log"' EXIT
for _ in $(seq 50); do ss -ltn | grep -q "$HOST:$PORT\b" && break; sleep 0.1; done

run() { # name, argv after "netperf": stdout is the capture, the exit status is reported
  local name=$1 rc=0; shift
  "$bin/netperf" "$@" > "$out/$name.txt" 2> "$out/.$name.stderr" || rc=$?
  echo "$name: netperf exited $rc; stderr: $(cat "$out/.$name.stderr")" >&2
  rm -f "$out/.$name.stderr"
}
# Accepted: the percentiles and the rate, in any order, with or without units or other columns.
run pcts-only       -H "$HOST" -p "$PORT" -t TCP_RR -l 2 -- -r 1,1 -o P50_LATENCY,P90_LATENCY,P99_LATENCY,THROUGHPUT,THROUGHPUT_UNITS
run reordered       -H "$HOST" -p "$PORT" -t TCP_RR -l 2 -- -r 1,1 -o THROUGHPUT,P99_LATENCY,PROTOCOL,P90_LATENCY,COMMAND_LINE,P50_LATENCY,LOCAL_SEND_SIZE
run keyval          -H "$HOST" -p "$PORT" -t TCP_CRR -l 2 -- -r 1,1 -k MIN_LATENCY,P50_LATENCY,P90_LATENCY,P99_LATENCY,THROUGHPUT,THROUGHPUT_UNITS
run keyval-no-banner -P 0 -H "$HOST" -p "$PORT" -t TCP_RR -l 2 -- -r 1,1 -k P50_LATENCY,P90_LATENCY,P99_LATENCY,THROUGHPUT
run udp-rr          -H "$HOST" -p "$PORT" -t UDP_RR -l 2 -- -r 1,1 -o P50_LATENCY,P90_LATENCY,P99_LATENCY,THROUGHPUT,THROUGHPUT_UNITS
# Rejected, each for a reason the parser names.
run no-percentiles  -H "$HOST" -p "$PORT" -t TCP_RR -l 2 -- -r 1,1 -o MEAN_LATENCY,THROUGHPUT,THROUGHPUT_UNITS
run classic         -H "$HOST" -p "$PORT" -t TCP_RR -l 2
run human           -H "$HOST" -p "$PORT" -t TCP_RR -l 2 -- -r 1,1 -O P50_LATENCY,P90_LATENCY,P99_LATENCY,THROUGHPUT
run no-header       -P 0 -H "$HOST" -p "$PORT" -t TCP_RR -l 2 -- -r 1,1 -o P50_LATENCY,P90_LATENCY,P99_LATENCY,THROUGHPUT
run stream          -H "$HOST" -p "$PORT" -t TCP_STREAM -l 2 -- -o THROUGHPUT,THROUGHPUT_UNITS,P50_LATENCY,P90_LATENCY,P99_LATENCY
# SIGINT one second into a 3 s run, as a CI job's cancel does.
"$bin/netperf" -H "$HOST" -p "$PORT" -t TCP_RR -l 3 -- -r 1,1 -o P50_LATENCY,P90_LATENCY,P99_LATENCY,THROUGHPUT \
  > "$out/interrupted.txt" 2> "$out/.interrupted.stderr" &
client=$!
sleep 1
kill -INT "$client"
rc=0; wait "$client" || rc=$?
echo "interrupted: netperf exited $rc; stderr: $(cat "$out/.interrupted.stderr")" >&2
rm -f "$out/.interrupted.stderr"
