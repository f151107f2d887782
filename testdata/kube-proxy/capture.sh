#!/usr/bin/env bash
# Captures real iptables-save and nft outputs of kube-proxy-shaped rule sets, in a throwaway
# network namespace of our own (the root namespace's rules are never touched). Run as root from
# the repository root:  testdata/kube-proxy/capture.sh
# The rule sets come from genrules (kube-proxy v1.37.2's hash functions and rule shapes).
set -euo pipefail
out=testdata/kube-proxy
ns="nbtest-$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
gen=$(mktemp -d)
cleanup() { ip netns delete "$ns" 2>/dev/null || true; rm -rf "$gen"; }
trap cleanup EXIT
go build -o "$gen/genrules" ./testdata/kube-proxy/genrules
for o in ipt4 ipt6 nft4 nft6 nft4-empty; do "$gen/genrules" "$o" > "$gen/$o"; done
ip netns add "$ns"
nsx() { ip netns exec "$ns" "$@"; }

# Before anything is loaded: what a node without kube-proxy's iptables mode shows.
nsx iptables-save -t nat > "$out/iptables-save-nat-empty.txt"

nsx iptables-restore < "$gen/ipt4"
nsx iptables-save -t nat > "$out/iptables-save-nat.txt"
nsx ip6tables-restore < "$gen/ipt6"
nsx ip6tables-save -t nat > "$out/ip6tables-save-nat.txt"

nsx nft -f "$gen/nft4-empty"
nsx nft list map ip kube-proxy service-ips > "$out/nft-service-ips-empty.txt"
nsx nft delete table ip kube-proxy
nsx nft -f "$gen/nft4"
nsx nft list map ip kube-proxy service-ips > "$out/nft-service-ips.txt"
nsx nft -f "$gen/nft6"
nsx nft list map ip6 kube-proxy service-ips > "$out/nft-service-ips-ip6.txt"
