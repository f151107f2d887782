#!/usr/bin/env bash
# Measures the lab with the kubelet substitute and with real nodes side by side, one dataplane at a
# time, on this machine: lab start time, the whole machine's CPU over 60 s with the lab idle
# (scripts/idle-cpu.sh), then TestRPS and TestLatency against that lab. Results and logs go to
# OUT/<dataplane>-<kubelet>/. Run it on an otherwise idle machine, as root, with the lab's
# components built (make lab-bins lab-images, and the -cilium targets for Cilium).
# Usage: scripts/compare-nodes.sh OUT [DATAPLANE...]   (default: iptables)
# Environment: ROUNDS (default 3), FORTIO_DURATION (default 3s), as the suite reads them.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -lt 1 ]]; then
	sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
fi
out=$(mkdir -p "$1" && cd "$1" && pwd)
shift
dataplanes=("${@:-iptables}")
go build -o bin/netbench ./cmd/netbench
go test -c -o bin/e2e.test ./e2e
for dp in "${dataplanes[@]}"; do
	for kubelet in substitute real; do
		dir="${out}/${dp}-${kubelet}"
		mkdir -p "$dir"
		export LAB_DATAPLANE=$dp LAB_KUBELET=$kubelet
		start=$(date +%s.%N)
		bin/netbench lab up >"${dir}/lab-up.log" 2>&1
		echo "${dp} ${kubelet}: lab up in $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f s", b - a }')" | tee "${dir}/summary.txt"
		trap 'bin/netbench lab down >/dev/null 2>&1 || true' EXIT
		scripts/idle-cpu.sh 60 | tee -a "${dir}/summary.txt"
		(cd e2e && KUBECONFIG="$(pwd)/../.lab/kubeconfig" RESULTS_DIR="$dir" ROUNDS="${ROUNDS:-3}" \
			FORTIO_DURATION="${FORTIO_DURATION:-3s}" ../bin/e2e.test -test.count=1 -test.v \
			-test.run 'TestRPS|TestLatency' >"${dir}/e2e.log" 2>&1) || echo "${dp} ${kubelet}: e2e failed, see ${dir}/e2e.log" | tee -a "${dir}/summary.txt"
		bin/netbench lab down >"${dir}/lab-down.log" 2>&1
		trap - EXIT
	done
done
