#!/usr/bin/env bash
# Captures real iperf3 3.12 JSON results (-J) on loopback only (127.0.0.1), for the parser tests in
# internal/tools/iperf3. Run from the repository root:  testdata/iperf3/capture.sh
# Each client command line is exactly what iperf3.Client.Argv() builds for the Client in the matching
# case of TestArgvCaptured (internal/tools/iperf3/iperf3_test.go); the server's is Server.Argv().
set -euo pipefail
I=${IPERF3:-/usr/bin/iperf3}
out=testdata/iperf3
HOST=127.0.0.1 PORT=25201 CLOSED=25209
if ss -ltn | grep -qE "$HOST:($PORT|$CLOSED)\b"; then echo "port $PORT or $CLOSED of $HOST is in use" >&2; exit 1; fi
"$I" -s -p "$PORT" -B "$HOST" > "$out/.server.log" 2>&1 &
server=$!
trap 'kill "$server"; wait "$server" 2>/dev/null || true; rm -f "$out/.server.log"' EXIT
for _ in $(seq 50); do ss -ltn | grep -q "$HOST:$PORT\b" && break; sleep 0.1; done

run() { # name, argv after "iperf3" (stdout is the JSON; stderr is shown only on failure)
  local name=$1; shift
  "$I" "$@" > "$out/$name.json" 2> "$out/.$name.stderr" || { cat "$out/.$name.stderr" >&2; exit 1; }
  rm -f "$out/.$name.stderr"
}
run single         -c "$HOST" -p "$PORT" -t 3 -O 1 -P 1 -J
run streams8       -c "$HOST" -p "$PORT" -t 3 -O 1 -P 8 -J
run reverse        -c "$HOST" -p "$PORT" -t 3 -O 1 -P 1 -J -R
# Nothing listens on $CLOSED. iperf3 3.12 with -J still exits 0: the JSON's "error" field is the
# only sign of the failure (W-BUG-4), so the script checks that field, not the exit status.
rc=0
"$I" -c "$HOST" -p "$CLOSED" -t 3 -O 1 -P 1 -J > "$out/closed-port.json" || rc=$?
echo "closed-port: iperf3 exited $rc" >&2
grep -q '"error":' "$out/closed-port.json" || { echo "closed-port.json has no error field" >&2; exit 1; }
# The first half of single.json: what a copy cut off mid-stream leaves (the seed copied the
# JSON out with kubectl cp because large stdout over SPDY stalled).
head -c $(( $(wc -c < "$out/single.json") / 2 )) "$out/single.json" > "$out/truncated.json"
