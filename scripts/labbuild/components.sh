# shellcheck shell=bash disable=SC2034 # the variables are for the scripts that source this
# The embedded lab's components: which Go module each is built from (or which
# Debian package it is fetched from), which binaries it yields and how they are
# stamped with their version.
# Sourced by scripts/lab-build.sh and scripts/labbuild/update-modules.sh; the
# versions themselves live only in scripts/lab-versions.env.

# Build order: the slowest first, so a cold run reports its worst case early.
LAB_COMPONENTS=(kubernetes containerd runc etcd kwok fortio cni-plugins netperf)

# Built only on request (scripts/lab-build.sh cilium, make lab-bins-cilium): the Cilium
# dataplanes need them, the kube-proxy ones do not, and the agent is a 4-minute cold build.
LAB_OPTIONAL_COMPONENTS=(cilium)

# lab_component NAME sets, for component NAME:
#   COMPONENT_SOURCE       go (built from a Go module) or deb (fetched as a Debian package)
#   COMPONENT_VERSION_VAR  the lab-versions.env key holding its version
#   COMPONENT_BINARIES     array of binary=package (go) or binary=path-in-the-package (deb)
#   COMPONENT_MODULE       go: the Go module its binaries come from
#   COMPONENT_CGO          go: CGO_ENABLED for its build (0 unless it needs C)
#   COMPONENT_TAGS         go: its build tags, comma-separated (none by default)
#   COMPONENT_BUILD_DEBS   go: array of the Debian packages its build needs beyond Go
#   COMPONENT_DEB_PACKAGE  deb: the Debian package
#   COMPONENT_DEB_AREA     deb: the archive area that has it (main, contrib, non-free)
# and returns 1 for an unknown name.
lab_component() {
	COMPONENT_SOURCE=go
	COMPONENT_MODULE=""
	# Pure Go unless said otherwise: static binaries that run in any network
	# namespace without a libc surprise.
	COMPONENT_CGO=0
	COMPONENT_TAGS=""
	COMPONENT_BUILD_DEBS=()
	COMPONENT_DEB_PACKAGE=""
	COMPONENT_DEB_AREA=""
	case "$1" in
	kubernetes)
		COMPONENT_MODULE=k8s.io/kubernetes
		COMPONENT_VERSION_VAR=KUBERNETES_VERSION
		COMPONENT_BINARIES=(
			kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver
			kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager
			kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler
			kube-proxy=k8s.io/kubernetes/cmd/kube-proxy
			# Same-version client: kwokctl runs `kubectl` (PATH first, else a
			# download from dl.k8s.io, which fails offline) to wait for the
			# apiserver, and the lab runs `kubectl exec` against this server.
			kubectl=k8s.io/kubernetes/cmd/kubectl
			# The real nodes' kubelet, which runs pods through containerd and runc.
			kubelet=k8s.io/kubernetes/cmd/kubelet
		)
		;;
	containerd)
		# The real nodes' container runtime: the daemon (with its CRI plugin),
		# the shim that drives runc for each pod, and its client.
		COMPONENT_MODULE=github.com/containerd/containerd/v2
		COMPONENT_VERSION_VAR=CONTAINERD_VERSION
		COMPONENT_BINARIES=(
			containerd=github.com/containerd/containerd/v2/cmd/containerd
			containerd-shim-runc-v2=github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2
			ctr=github.com/containerd/containerd/v2/cmd/ctr
		)
		# The btrfs snapshotter is the only part that needs cgo, and the nodes do
		# not use it (containerd's default snapshotter is overlayfs).
		COMPONENT_TAGS=no_btrfs
		;;
	runc)
		# The OCI runtime containerd's shim runs. Its nsenter is C, and seccomp
		# (which the kubelet's RuntimeDefault profile needs) is libseccomp through
		# cgo: the binary links the machine's libc and libseccomp.
		COMPONENT_MODULE=github.com/opencontainers/runc
		COMPONENT_VERSION_VAR=RUNC_VERSION
		COMPONENT_BINARIES=(runc=github.com/opencontainers/runc)
		COMPONENT_CGO=1
		COMPONENT_TAGS=seccomp
		COMPONENT_BUILD_DEBS=(gcc libc6-dev pkg-config libseccomp-dev)
		;;
	etcd)
		# The server module's root package is etcd's main (etcdmain.Main).
		COMPONENT_MODULE=go.etcd.io/etcd/server/v3
		COMPONENT_VERSION_VAR=ETCD_VERSION
		COMPONENT_BINARIES=(etcd=go.etcd.io/etcd/server/v3)
		;;
	kwok)
		COMPONENT_MODULE=sigs.k8s.io/kwok
		COMPONENT_VERSION_VAR=KWOK_VERSION
		COMPONENT_BINARIES=(
			kwok=sigs.k8s.io/kwok/cmd/kwok
			kwokctl=sigs.k8s.io/kwok/cmd/kwokctl
		)
		;;
	fortio)
		COMPONENT_MODULE=fortio.org/fortio
		COMPONENT_VERSION_VAR=FORTIO_VERSION
		COMPONENT_BINARIES=(fortio=fortio.org/fortio)
		;;
	cni-plugins)
		COMPONENT_MODULE=github.com/containernetworking/plugins
		COMPONENT_VERSION_VAR=CNI_PLUGINS_VERSION
		COMPONENT_BINARIES=(
			ptp=github.com/containernetworking/plugins/plugins/main/ptp
			host-local=github.com/containernetworking/plugins/plugins/ipam/host-local
			loopback=github.com/containernetworking/plugins/plugins/main/loopback
		)
		;;
	cilium)
		# The agent of the study's Cilium version, its CLI (run by `kubectl exec`
		# in an agent pod) and its CNI plugin. The BPF datapath sources (bpf/) and
		# the CRDs go into the cache beside them (lab-build.sh, cilium_assets):
		# the agent compiles bpf/ with clang at start, and the lab applies the
		# CRDs itself (no operator here; see lab-recipe.md section 10).
		COMPONENT_MODULE=github.com/cilium/cilium
		COMPONENT_VERSION_VAR=CILIUM_VERSION
		COMPONENT_BINARIES=(
			cilium-agent=github.com/cilium/cilium/daemon
			cilium-dbg=github.com/cilium/cilium/cilium-dbg
			cilium-cni=github.com/cilium/cilium/plugins/cilium-cni
		)
		;;
	netperf)
		# netperf is C, not a Go module, and its HP licence (distribution for
		# non-commercial purposes only) keeps it out of Debian main: the lab takes
		# the binaries of Debian's non-free package, which apt verifies (see
		# fetch_deb in lab-build.sh).
		COMPONENT_SOURCE=deb
		COMPONENT_VERSION_VAR=NETPERF_VERSION
		COMPONENT_DEB_PACKAGE=netperf
		COMPONENT_DEB_AREA=non-free
		COMPONENT_BINARIES=(
			netperf=usr/bin/netperf
			netserver=usr/bin/netserver
		)
		;;
	*)
		return 1
		;;
	esac
}

# lab_component_ldflags NAME VERSION prints the -X flags that stamp VERSION into
# NAME's binaries (without -s -w). Run it in the component's module directory.
lab_component_ldflags() {
	local name=$1 version=$2
	case "$name" in
	kubernetes)
		# Without these the servers report v0.0.0-master+$Format:%H$, which
		# kubectl cannot parse and kwokctl (which runs `<binary> --version` to
		# pick its flags) misreads. Same variables as hack/lib/version.sh sets.
		# buildDate is the release's own time (from the module proxy), as a
		# release build with SOURCE_DATE_EPOCH would do: the build stays
		# reproducible.
		local core=${version#v} major minor build_date
		major=${core%%.*}
		minor=${core#*.}
		minor=${minor%%.*}
		build_date=$(lab_module_time "$COMPONENT_MODULE")
		local pkg flags=()
		for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
			flags+=(
				"-X=${pkg}.gitVersion=${version}"
				"-X=${pkg}.gitMajor=${major}"
				"-X=${pkg}.gitMinor=${minor}"
				"-X=${pkg}.gitTreeState=clean"
				"-X=${pkg}.gitCommit=" # unknown: the module proxy serves no commit
				"-X=${pkg}.buildDate=${build_date}"
			)
		done
		echo "${flags[*]}"
		;;
	kwok)
		# The variable hack/releases.sh sets; its in-source default is the same.
		echo "-X=sigs.k8s.io/kwok/pkg/consts.Version=${version#v}"
		;;
	containerd)
		# What containerd's Makefile stamps; the kubelet reports Version as the
		# Node's runtime version (containerd://<Version>).
		local pkg=github.com/containerd/containerd/v2/version hash
		hash=$(lab_module_commit "$COMPONENT_MODULE" "$version")
		echo "-X=${pkg}.Version=${version} -X=${pkg}.Revision=${hash} -X=${pkg}.Package=${COMPONENT_MODULE}"
		;;
	runc)
		# runc embeds its version (the module's VERSION file); the Makefile
		# stamps only the commit, which `runc --version` prints when known.
		local hash
		hash=$(lab_module_commit "$COMPONENT_MODULE" "$version")
		echo "${hash:+-X=main.gitCommit=${hash}}"
		;;
	cilium)
		# What Cilium's Makefile stamps: "<VERSION> <revision> <author date>", which
		# pkg/version parses field by field (with fewer fields the agent reports an
		# empty version). The module proxy's .info gives the tag's commit and time.
		local hash when
		hash=$(lab_module_commit "$COMPONENT_MODULE" "$version")
		when=$(lab_module_time "$COMPONENT_MODULE")
		echo "'-X=github.com/cilium/cilium/pkg/version.ciliumVersion=${version#v} ${hash:0:10} ${when}'"
		;;
	cni-plugins)
		# Printed by a plugin run without CNI_COMMAND ("CNI ptp plugin v1.9.1").
		echo "-X=github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=${version}"
		;;
	*)
		# etcd's version is a constant of go.etcd.io/etcd/api/v3/version; fortio
		# reads its own from the binary's build info.
		echo ""
		;;
	esac
}

# lab_module_time MODULE prints the release time of MODULE as resolved in the
# current module (ISO 8601, UTC), or the current time if it is unknown.
lab_module_time() {
	local t
	t=$(go list -mod=readonly -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' "$1" 2>/dev/null) || t=""
	if [[ -z "$t" ]]; then
		t=$(date -u ${SOURCE_DATE_EPOCH:+--date=@${SOURCE_DATE_EPOCH}} +%Y-%m-%dT%H:%M:%SZ)
	fi
	echo "$t"
}

# lab_module_commit MODULE VERSION prints the commit the module proxy's .info
# names for MODULE@VERSION (its Origin), or nothing when the proxy gives none.
lab_module_commit() {
	local info
	info=$(go mod download -json "${1}@${2}")
	sed -nE 's/^\s*"Hash": "([0-9a-f]+)",?$/\1/p' <<<"$info" | head -1
}

# lab_version_output BINARY PATH runs PATH's version command and prints what it
# says (all of it; the caller picks the line it needs).
lab_version_output() {
	local bin=$1 path=$2
	case "$bin" in
	fortio)
		timeout 30 "$path" version 2>&1
		;;
	kubectl)
		timeout 30 "$path" version --client 2>&1
		;;
	ptp | host-local | loopback)
		# A CNI plugin run without CNI_COMMAND prints its "about" string to
		# stderr and exits non-zero.
		timeout 30 env -u CNI_COMMAND "$path" 2>&1 || true
		;;
	cilium-dbg)
		# `version` also asks the agent: point it at a socket that does not exist,
		# so it prints "Client: <version>" and "Daemon: Not responding" at once.
		timeout 30 "$path" version -H unix:///nonexistent/cilium.sock 2>&1 || true
		;;
	cilium-cni)
		# The plugin's "about" line, printed when run with no CNI_COMMAND.
		timeout 30 env -u CNI_COMMAND "$path" 2>&1 || true
		;;
	runc)
		# Built without cgo or the seccomp tag, runc's seccomp is a stub that
		# refuses every profile, and its --version has no libseccomp line.
		local out
		out=$(timeout 30 "$path" --version 2>&1) || { echo "$out"; return 1; }
		echo "$out"
		if ! grep -q '^libseccomp: ' <<<"$out"; then
			echo "(no 'libseccomp:' line: runc was built without seccomp)"
			return 1
		fi
		;;
	netperf | netserver)
		# Both print "Netperf version 2.7.0" and exit (netserver starts no server).
		timeout 30 "$path" -V 2>&1
		;;
	*)
		timeout 30 "$path" --version 2>&1
		;;
	esac
}

# lab_expected_version COMPONENT VERSION prints the string a binary's version
# output must contain.
lab_expected_version() {
	case "$1" in
	kubernetes | containerd | kwok | cni-plugins) echo "$2" ;;
	runc) echo "runc version ${2#v}" ;;
	cilium) echo "${2#v}" ;;
	etcd) echo "etcd Version: ${2#v}" ;;
	fortio) echo "${2#v}" ;; # `fortio version` prints e.g. 1.66.5
	netperf) echo "Netperf version ${2%%-*}" ;; # upstream version: 2.7.0-0.1 -> 2.7.0
	esac
}
