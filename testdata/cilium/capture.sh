#!/usr/bin/env bash
# Captures real outputs of the Cilium agent's CLI and of bpftool from a running Cilium, for the parsers'
# tests, each with a .provenance.md beside it. Run against the embedded lab (LAB_DATAPLANE=cilium-overlay or
# cilium-native, `make lab-up`) or any cluster with Cilium: KUBECONFIG must be set.
#
# Usage: testdata/cilium/capture.sh SUFFIX   (e.g. overlay, native: the files are named <what>-SUFFIX.<ext>)
set -euo pipefail
suffix=${1:?usage: capture.sh SUFFIX}
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kubectl=${KUBECTL:-kubectl}
pod=$("$kubectl" -n kube-system get pods -l k8s-app=cilium -o jsonpath='{.items[0].metadata.name}')
node=$("$kubectl" -n kube-system get pod "$pod" -o jsonpath='{.spec.nodeName}')
image=$("$kubectl" -n kube-system get pod "$pod" -o jsonpath='{.spec.containers[0].image}')

capture() { # FILE DESCRIPTION COMMAND...
	local file=$1 what=$2
	shift 2
	"$kubectl" -n kube-system exec "$pod" -c cilium-agent -- "$@" >"${dir}/${file}"
	cat >"${dir}/${file}.provenance.md" <<-MD
		# ${file}

		- **What:** ${what}
		- **Command:** \`kubectl -n kube-system exec ${pod} -c cilium-agent -- $*\` (testdata/cilium/capture.sh ${suffix})
		- **Agent:** ${image} on node ${node}; Kubernetes $("$kubectl" version -o json | sed -nE 's/.*"gitVersion": "([^"]+)".*/\1/p' | tail -1)
		- **Machine:** $(uname -r), $(nproc) cores; $(. /etc/os-release && echo "$PRETTY_NAME")
		- **Date:** $(date -u +%Y-%m-%dT%H:%M:%SZ)
	MD
	echo "captured ${file} ($(wc -c <"${dir}/${file}") bytes)"
}

capture "status-${suffix}.json" "the agent's status as JSON (routing, kube-proxy replacement, Hubble)" cilium-dbg status -o json
capture "version-${suffix}.txt" "the client and agent versions" cilium-dbg version
capture "service-list-${suffix}.json" "the agent's Services (frontends, backends) as JSON" cilium-dbg service list -o json
capture "endpoint-list-${suffix}.json" "the agent's endpoints (policy revision, enforcement) as JSON" cilium-dbg endpoint list -o json
capture "bpftool-map-show-${suffix}.json" "every BPF map of the machine, with the paths pinned in this agent's bpffs (-f)" bpftool -j -f map show
capture "bpftool-dump-lb4-reverse-nat-${suffix}.txt" "a plain dump of the agent's reverse-NAT map, ending in bpftool's element count" \
	bpftool map dump pinned /sys/fs/bpf/tc/globals/cilium_lb4_reverse_nat
