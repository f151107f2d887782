#!/usr/bin/env bash
# Prints the machine's CPU use over a window, in millicores (1000 = one core busy), from
# /proc/stat: run it with a lab up and idle to see what the lab itself costs.
# Usage: scripts/idle-cpu.sh [SECONDS]   (default 60)
set -euo pipefail
secs=${1:-60}
if ! [[ "$secs" =~ ^[1-9][0-9]*$ ]]; then
	echo "idle-cpu: SECONDS=${secs}: want a positive whole number of seconds" >&2
	exit 2
fi
# busy and total jiffies of the "cpu" line: user nice system idle iowait irq softirq steal
read_cpu() { awk '$1 == "cpu" { busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6 }' /proc/stat; }
read -r b0 t0 < <(read_cpu)
sleep "$secs" # the window itself is the measurement
read -r b1 t1 < <(read_cpu)
awk -v b="$((b1 - b0))" -v t="$((t1 - t0))" -v n="$(nproc)" -v s="$secs" \
	'BEGIN { printf "idle-cpu: %.0f millicores busy over %d s (%.1f %% of %d cores)\n", b / t * n * 1000, s, b / t * 100, n }'
