#!/usr/bin/env bash
# Captures real iperf3 3.12 JSON results (-J) the suite does not produce itself but `netbench parse
# iperf3` must judge: UDP, no intervals (-i 0) and no warm-up, reverse with several streams, and an
# interrupted run. Loopback only (127.0.0.1), runs of at most 3 s. Run from the repository root:
#   testdata/iperf3/capture-variants.sh
# Writes only the variant files (capture.sh writes the suite's own).
set -euo pipefail
I=${IPERF3:-/usr/bin/iperf3}
out=testdata/iperf3
HOST=127.0.0.1 PORT=25211
if ss -ltn | grep -qE "$HOST:$PORT\b"; then echo "port $PORT of $HOST is in use" >&2; exit 1; fi
"$I" -s -p "$PORT" -B "$HOST" > "$out/.server.log" 2>&1 &
server=$!
trap 'kill "$server"; wait "$server" 2>/dev/null || true; rm -f "$out/.server.log"' EXIT
for _ in $(seq 50); do ss -ltn | grep -q "$HOST:$PORT\b" && break; sleep 0.1; done

run() { # name, argv after "iperf3": stdout is the JSON, the exit status is reported
  local name=$1 rc=0; shift
  "$I" "$@" > "$out/$name.json" 2> "$out/.$name.stderr" || rc=$?
  echo "$name: iperf3 exited $rc; stderr: $(cat "$out/.$name.stderr")" >&2
  rm -f "$out/.$name.stderr"
}
run udp                -c "$HOST" -p "$PORT" -u -b 100M -t 2 -J
run no-intervals       -c "$HOST" -p "$PORT" -t 2 -O 0 -i 0 -J
run reverse-streams4   -c "$HOST" -p "$PORT" -t 2 -O 1 -P 4 -R -J
# SIGINT one second into a 3 s run, as a CI job's cancel does.
"$I" -c "$HOST" -p "$PORT" -t 3 -J > "$out/interrupted.json" 2> "$out/.interrupted.stderr" &
client=$!
sleep 1
kill -INT "$client"
rc=0; wait "$client" || rc=$?
echo "interrupted: iperf3 exited $rc; stderr: $(cat "$out/.interrupted.stderr")" >&2
rm -f "$out/.interrupted.stderr"
