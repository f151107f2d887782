#!/usr/bin/env bash
# Installs the Debian packages the embedded lab needs, only those that are missing.
# `apt-get update` runs once, and only when something has to be installed.
#
# Usage: scripts/install-deps.sh [--check] [EXTRA_PACKAGE...]
#   --check   only report; exit 1 if a package is missing (installs nothing, needs no root)
set -euo pipefail

# package: why the lab needs it
lab_packages=(
	iproute2       # ip netns/link/addr/route, bridge, ss, tc: builds the underlay, nodes and pods
	iptables       # iptables(-save/-restore), nf_tables backend: kube-proxy iptables mode, rule counts
	nftables       # nft: kube-proxy nftables mode (knftables runs nft), inspecting and cleaning its tables
	conntrack      # conntrack -L/-C/-F: conntrack counts before a run, flushing between runs
	iperf3         # throughput workload inside pod namespaces
	util-linux     # nsenter, unshare (each node's namespaces), flock (scripts/lab-build.sh)
	mount          # mount: each node's tmpfs, binds, and for Cilium its bpffs and cgroup2
	procps         # sysctl, ps, pgrep: per-namespace sysctls (ip_forward, proxy_arp, port range), process checks
	kmod           # modprobe/lsmod: load and inspect netfilter/veth/vxlan modules
	ethtool        # veth offload state (GRO/TSO change throughput numbers: record it)
	debootstrap    # scripts/lab-images.sh: the Debian minbase roots of the iperf3, netperf and Cilium images
	gcc            # cgo: runc's nsenter is C (scripts/lab-build.sh runc); the static pause and readelf (scripts/lab-images.sh)
	libc6-dev      # cgo: the C headers and crt files runc links with; static glibc for pause
	pkg-config     # cgo: finds libseccomp's flags for runc's seccomp build tag
	libseccomp-dev # runc's seccomp (the kubelet's RuntimeDefault profile); its libseccomp2 is runc's at run time
)

check_only=false
packages=("${lab_packages[@]}")
for arg in "$@"; do
	case "$arg" in
	--check) check_only=true ;;
	-h | --help)
		sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	-*)
		echo "install-deps: unknown option $arg" >&2
		exit 2
		;;
	*) packages+=("$arg") ;;
	esac
done

installed() {
	[[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" == "ii "* ]]
}

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
	echo "install-deps: all ${#packages[@]} packages already installed: ${packages[*]}"
	exit 0
fi

if $check_only; then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	exit 1
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "install-deps: missing packages ${missing[*]}; run as root (the lab itself needs root)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Wait for a dpkg/apt lock held by someone else instead of failing at once.
apt_opts=(-o DPkg::Lock::Timeout=300 -q)

echo "install-deps: missing: ${missing[*]}; running apt-get update"
apt-get "${apt_opts[@]}" update >/dev/null
apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}"

echo "install-deps: installed:"
failed=0
for p in "${missing[@]}"; do
	if installed "$p"; then
		printf '  %-12s %s\n' "$p" "$(dpkg-query -W -f='${Version}' "$p")"
	else
		printf '  %-12s NOT INSTALLED\n' "$p" >&2
		failed=1
	fi
done
exit "$failed"
