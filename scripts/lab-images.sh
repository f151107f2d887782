#!/usr/bin/env bash
# Stages the filesystems of the lab's container images that do not come straight from the
# component cache, each into ${NETBENCH_CACHE:-$HOME/.cache/kube-netbench}/images/<name>/<tag>/rootfs,
# then builds every image's OCI archive and the index the lab reads (scripts/labbuild/images, its
# own Go module: only archives that are missing or whose inputs changed).
# What each image holds, and how it differs from upstream's: docs/lab.md, "Images".
#
#   pause                static pause from k8s.io/kubernetes' build/pause/linux/pause.c (gcc -Os -static)
#   busybox              Debian's busybox-static, every applet a hard link in /bin, buildroot's accounts
#   tools                the project's tools image (images/tools/Dockerfile): debootstrap --variant=minbase
#                        of this machine's Debian release with iperf3 and non-free netperf
#   distroless-iptables  kube-proxy's base: iptables, ipset, kmod, nft, dash and a few coreutils with
#                        their libraries (no conntrack), and go-runner (kube-log-runner) beside it
#   cilium-runtime       Cilium's tools (iproute2, iptables, bpftool, clang/llc); only when named
#
# Debian packages are fetched by apt under a private configuration (scripts/labbuild/debian.sh):
# verified, nothing installed. A staged root is never rebuilt: delete it to stage it again.
#
# Usage: scripts/lab-images.sh [IMAGE...]   (stages these, default all but cilium-runtime; builds
#        the archives of every image whose inputs are there, Cilium's too)
# Needs root (chroot, ownership of staged files), debootstrap, gcc with libc6-dev, binutils
# (readelf), go; scripts/install-deps.sh (make deps) installs the Debian ones.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab-versions.env
source "${script_dir}/lab-versions.env"
# shellcheck source=labbuild/debian.sh
source "${script_dir}/labbuild/debian.sh"

all_images=(pause busybox distroless-iptables tools)
optional_images=(cilium-runtime)
# iperf3's upstream version in the machine's Debian release (bookworm), as images/tools/Dockerfile's
# IPERF3_VERSION and scripts/labbuild/images IperfVersion.
iperf3_version=3.12

usage() {
	echo "usage: $0 [IMAGE...]   images: ${all_images[*]} (default), ${optional_images[*]}" >&2
}

images=()
for arg in "$@"; do
	case "$arg" in
	-h | --help)
		usage
		exit 0
		;;
	pause | busybox | distroless-iptables | tools | cilium-runtime) images+=("$arg") ;;
	*)
		echo "lab-images: unknown image '$arg'" >&2
		usage
		exit 2
		;;
	esac
done
[[ ${#images[@]} -gt 0 ]] || images=("${all_images[@]}")

if [[ $(id -u) -ne 0 ]]; then
	echo "lab-images: must run as root (debootstrap and chroot; staged files keep their owners)" >&2
	exit 1
fi
for tool in gcc strip readelf dpkg-deb apt-get debootstrap unshare go; do
	if ! command -v "$tool" >/dev/null; then
		echo "lab-images: ${tool} not found; run scripts/install-deps.sh (make deps)" >&2
		exit 1
	fi
done

cache_root="${NETBENCH_CACHE:-${HOME}/.cache/kube-netbench}"
mkdir -p "${cache_root}/images"
cache_root=$(cd "${cache_root}" && pwd)
export GOWORK=off

exec 9>"${cache_root}/images/.stage.lock"
if ! flock -n 9; then
	echo "lab-images: another lab-images.sh holds ${cache_root}/images/.stage.lock; waiting"
	flock 9
fi

tmp_dirs=()
cleanup() {
	local d
	for d in "${tmp_dirs[@]+"${tmp_dirs[@]}"}"; do
		rm -rf -- "$d"
	done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now() { echo "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fs", b - a }'; }

# kubernetes_dir prints the k8s.io/kubernetes module's directory (downloaded by the proxy if needed).
kubernetes_dir() {
	go mod download -json "k8s.io/kubernetes@${KUBERNETES_VERSION}" | sed -nE 's/^\s*"Dir": "(.*)",?$/\1/p'
}

# ---- copying files with the shared libraries they need -------------------------------------

# Where ld.so looks on Debian (multiarch first); packages are not usr-merged, so both halves.
lib_dirs=(lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64 lib usr/lib)

# stage_path SRC DEST REL copies SRC/REL to DEST/REL with its parents, and, for a symlink,
# what it points to, so the link resolves inside DEST.
stage_path() {
	local src=$1 dest=$2 rel=$3 target
	[[ -e "${dest}/${rel}" || -L "${dest}/${rel}" ]] && return 0
	if [[ ! -e "${src}/${rel}" && ! -L "${src}/${rel}" ]]; then
		echo "lab-images: /${rel} is in none of the fetched packages" >&2
		return 1
	fi
	(cd "$src" && cp -a --parents -- "$rel" "${dest}/")
	if [[ -L "${src}/${rel}" ]]; then
		target=$(readlink "${src}/${rel}")
		[[ "$target" == /* ]] || target="$(dirname "$rel")/${target}"
		target=$(realpath -m -s --relative-to=/ "/${target}")
		stage_path "$src" "$dest" "$target"
	fi
}

# resolve SRC REL prints REL with its symlinks followed inside SRC.
resolve() {
	local src=$1 rel=$2 target i
	for ((i = 0; i < 40; i++)); do
		[[ -L "${src}/${rel}" ]] || break
		target=$(readlink "${src}/${rel}")
		[[ "$target" == /* ]] || target="$(dirname "$rel")/${target}"
		rel=$(realpath -m -s --relative-to=/ "/${target}")
	done
	echo "$rel"
}

# stage_elf SRC DEST REL stages REL like stage_path and, when it is an ELF program or library,
# its interpreter and every library it needs (DT_NEEDED), recursively, from SRC.
stage_elf() {
	local src=$1 dest=$2 rel=$3 real lib dir found interp
	stage_path "$src" "$dest" "$rel"
	real=$(resolve "$src" "$rel")
	[[ -f "${src}/${real}" ]] || return 0
	[[ "$(head -c4 "${src}/${real}" | od -An -c | tr -d ' ')" == '177ELF' ]] || return 0
	interp=$(readelf -l "${src}/${real}" | sed -nE 's/.*Requesting program interpreter: (.*)\]$/\1/p')
	[[ -z "$interp" ]] || stage_path "$src" "$dest" "${interp#/}"
	while read -r lib; do
		found=""
		for dir in "${lib_dirs[@]}"; do
			if [[ -e "${src}/${dir}/${lib}" ]]; then
				found="${dir}/${lib}"
				break
			fi
		done
		if [[ -z "$found" ]]; then
			echo "lab-images: /${rel} needs ${lib}, which none of the fetched packages has" >&2
			return 1
		fi
		[[ -e "${dest}/${found}" ]] || stage_elf "$src" "$dest" "$found"
	done < <(readelf -d "${src}/${real}" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]$/\1/p')
}

# fetch_all WORK AREA... PACKAGE...: (after --) the packages' dependency closure, downloaded,
# extracted per package (WORK/pkg/<name>) and together (WORK/all).
fetch_all() {
	local work=$1 areas=() pkgs p
	shift
	while [[ $1 != -- ]]; do
		areas+=("$1")
		shift
	done
	shift
	deb_apt_init "$work" "${areas[@]}"
	mapfile -t pkgs < <(deb_closure "$work" "$@")
	deb_download "$work" "${pkgs[@]}"
	mkdir -p "${work}/all"
	for p in "${work}"/pkg/*/; do
		cp -a "${p}." "${work}/all/"
	done
	# Which package owns each file, for the package metadata of what gets staged.
	for p in "${work}"/pkg/*/; do
		(cd "$p" && find . ! -type d -printf "%P $(basename "$p")\n")
	done >"${work}/owners"
}

# ---- pause ----------------------------------------------------------------------------------

stage_pause() {
	local out=$1 src tag
	src=$(kubernetes_dir)
	tag=$(sed -nE 's/^TAG \?= (.*)$/\1/p' "${src}/build/pause/Makefile")
	if [[ "$tag" != "$2" ]]; then
		echo "lab-images: k8s.io/kubernetes ${KUBERNETES_VERSION} builds pause ${tag}, expected $2" >&2
		return 1
	fi
	mkdir -p "$out"
	# The Makefile's CFLAGS; its VERSION also names the git revision, which a module has not.
	gcc -Os -Wall -Werror -static -DVERSION="v${tag}" -o "${out}/pause" "${src}/build/pause/linux/pause.c"
	strip "${out}/pause"
	chmod 0755 "${out}/pause"
	"${out}/pause" -v
}

# ---- busybox --------------------------------------------------------------------------------

# The accounts of buildroot's skeleton that docker-library/busybox installs, root's password locked.
busybox_accounts() {
	local etc=$1
	cat >"${etc}/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		daemon:x:1:1:daemon:/usr/sbin:/bin/false
		bin:x:2:2:bin:/bin:/bin/false
		sys:x:3:3:sys:/dev:/bin/false
		sync:x:4:100:sync:/bin:/bin/sync
		mail:x:8:8:mail:/var/spool/mail:/bin/false
		www-data:x:33:33:www-data:/var/www:/bin/false
		operator:x:37:37:Operator:/var:/bin/false
		nobody:x:65534:65534:nobody:/home:/bin/false
	EOF
	local g groups=(root:0: daemon:1: bin:2: sys:3: adm:4: tty:5: disk:6: lp:7: mail:8: kmem:9: wheel:10:root
		cdrom:11: dialout:18: floppy:19: video:28: audio:29: tape:32: www-data:33: operator:37: utmp:43:
		plugdev:46: staff:50: lock:54: netdev:82: users:100: nobody:65534:)
	for g in "${groups[@]}"; do
		echo "${g%%:*}:x:${g#*:}"
	done >"${etc}/group"
	cut -d: -f1 "${etc}/passwd" | sed 's/$/:*:::::::/' >"${etc}/shadow"
	chmod 0644 "${etc}/passwd" "${etc}/group"
	chmod 0600 "${etc}/shadow"
}

stage_busybox() {
	local out=$1 work=$2 applet n=0
	deb_apt_init "$work" main
	deb_download "$work" busybox-static libc-bin tzdata
	local bb="${work}/pkg/busybox-static/bin/busybox"
	mkdir -p "${out}/bin" "${out}/etc/network"/{if-down.d,if-post-down.d,if-pre-up.d,if-up.d} \
		"${out}"/{dev,home,root,tmp,usr/bin,usr/sbin,var/spool/mail,var/www}
	cp "$bb" "${out}/bin/busybox"
	chmod 0755 "${out}/bin/busybox"
	# As upstream's `busybox --install /bin`: every applet a hard link in /bin.
	while read -r applet; do
		[[ "$applet" == busybox ]] && continue
		ln "${out}/bin/busybox" "${out}/bin/${applet}"
		n=$((n + 1))
	done < <("${out}/bin/busybox" --list)
	ln -s ../../bin/env "${out}/usr/bin/env"
	busybox_accounts "${out}/etc"
	cp "${work}/pkg/libc-bin/usr/share/libc-bin/nsswitch.conf" "${out}/etc/nsswitch.conf"
	cp "${work}/pkg/tzdata/usr/share/zoneinfo/Etc/UTC" "${out}/etc/localtime"
	chmod 0644 "${out}/etc/nsswitch.conf" "${out}/etc/localtime"
	chmod 0700 "${out}/root"
	chmod 1777 "${out}/tmp"
	# Home directories the accounts name, owned by them (as upstream's builder leaves them).
	chown 65534:65534 "${out}/home"
	chown 1:1 "${out}/usr/sbin"
	chown 8:8 "${out}/var/spool/mail"
	echo "lab-images: busybox $(dpkg-deb --field "${work}"/deb/busybox-static_*.deb Version): ${n} applets"
}

# ---- tools (iperf3 and netperf): a Debian minbase with the packages -------------------------

# stage_debian OUT WORK COMPONENTS PACKAGES [PACKAGE=VERSION...]: debootstrap --variant=minbase
# with the comma-separated PACKAGES (each PACKAGE then at VERSION, a glob), in a
# private mount, network and PID namespace (its /proc mount and anything a maintainer script
# starts end with it), then trimmed as Debian's slim images are and apt's lists and caches
# removed, as a Dockerfile does after apt-get install.
stage_debian() {
	local out=$1 work=$2 components=$3 include=$4 suite got pkg=${4%%,*} check
	shift 4
	suite=$(debian_codename)
	local opts=(--variant=minbase --keyring="$debian_keyring" --components="$components" --include="$include")
	# Downloading runs nothing from the packages; installing runs them without a network.
	if ! debootstrap "${opts[@]}" --make-tarball="${work}/debs.tgz" "$suite" "${work}/download" "$debian_mirror" \
		>"${work}/debootstrap.log" 2>&1 ||
		! unshare --mount --net --pid --fork --propagation private \
			debootstrap "${opts[@]}" --unpack-tarball="${work}/debs.tgz" "$suite" "$out" "$debian_mirror" \
			>>"${work}/debootstrap.log" 2>&1; then
		tail -30 "${work}/debootstrap.log" >&2
		echo "lab-images: debootstrap of ${suite} with ${pkg} failed (its log's end above)" >&2
		return 1
	fi
	# The runtime gives /dev, resolv.conf and the hostname; debootstrap copied the machine's.
	find "${out}/dev" -mindepth 1 -delete
	rm -f "${out}/etc/resolv.conf" "${out}/etc/hostname"
	# debian:*-slim's exclusions (docs except copyright, man, info, locales); the apt state
	# a Dockerfile's apt-get clean and rm -rf /var/lib/apt/lists/* remove; logs of the build.
	find "${out}/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
	find "${out}/usr/share/doc" -mindepth 1 -type d -empty -delete
	rm -rf "${out}"/usr/share/{man,info,groff,lintian,linda}/* "${out}"/usr/share/locale/*
	rm -rf "${out}"/var/lib/apt/lists/* "${out}"/var/cache/apt/*.bin "${out}"/var/cache/apt/archives/*.deb
	find "${out}/var/log" -type f -delete
	rm -f "${out}"/var/cache/debconf/*-old "${out}"/var/lib/dpkg/*-old "${out}/var/cache/ldconfig/aux-cache"
	for check in "$@"; do
		# shellcheck disable=SC2016 # dpkg-query's own ${field} syntax
		got=$(chroot "$out" dpkg-query -W -f='${Version}' "${check%%=*}")
		# shellcheck disable=SC2053 # the expected version is a glob
		if [[ "$got" != ${check#*=} ]]; then
			echo "lab-images: debootstrap installed ${check%%=*} ${got}, expected ${check#*=}" >&2
			return 1
		fi
		echo "lab-images: $(debian_codename) minbase with ${check%%=*} ${got}"
	done
	[[ $# -gt 0 ]] || echo "lab-images: $(debian_codename) minbase with ${include}"
}

# ---- distroless-iptables (kube-proxy's base) ------------------------------------------------

# direct_depends WORK PACKAGE prints the packages PACKAGE's Depends names (first alternative).
direct_depends() {
	sed -nE 's/^(Pre-)?Depends: //p' "${1}/pkg/${2}.control" | tr ',' '\n' |
		sed -E 's/\|.*//; s/\(.*\)//; s/:any//; s/[[:space:]]//g' | sed '/^$/d'
}

# stage_package WORK DEST PACKAGE does what distroless-iptables' stage-binaries-from-package.sh
# does for one package: its files except docs, man pages, completions and dotfiles, and its
# programs (/bin, /sbin) with their libraries.
stage_package() {
	local work=$1 dest=$2 pkg=$3 f
	[[ -d "${work}/pkg/${pkg}" ]] || return 0 # a virtual or already-resolved name
	while read -r f; do
		if [[ "/$f" =~ /s?bin/ ]]; then
			stage_elf "${work}/all" "$dest" "$f"
		elif [[ ! "/$f" =~ (/\.|/usr/share/(man|doc|.*-completion)) && -f "${work}/all/${f}" ]]; then
			stage_path "${work}/all" "$dest" "$f"
		fi
	done < <(cd "${work}/pkg/${pkg}" && find . ! -type d -printf '%P\n' | sort)
}

# nft_links OUT points iptables, ip6tables and their -save/-restore at the nf_tables commands.
# Upstream's iptables-wrapper picks the nft or legacy backend at first use (Debian's packages
# make the links with update-alternatives, which extraction does not run); the lab's nodes and
# the machine use nf_tables.
nft_links() {
	local p f
	for p in iptables ip6tables; do
		for f in "$p" "${p}-save" "${p}-restore"; do
			ln -sf "${f/${p}/${p}-nft}" "${1}/usr/sbin/${f}"
		done
	done
}

stage_distroless_iptables() {
	local out=$1 work=$2 p f
	fetch_all "$work" main -- iptables ipset kmod nftables dash coreutils grep base-files libc-bin netbase libc6
	mkdir -p "$out"
	# The three packages upstream stages whole, with the packages they depend on.
	for p in ipset iptables kmod; do
		stage_package "$work" "$out" "$p"
		while read -r f; do
			stage_package "$work" "$out" "$f"
		done < <(direct_depends "$work" "$p")
	done
	# nft (upstream builds nftables 1.0.6.1 itself; Debian's has the same release series), and
	# the shell and commands iptables-wrapper-installer.sh uses.
	for f in usr/sbin/nft bin/dash bin/cat bin/chmod bin/grep bin/ln bin/rm bin/sleep usr/bin/wc; do
		stage_elf "${work}/all" "$out" "$f"
	done
	ln -sf /bin/dash "${out}/bin/sh"
	nft_links "$out"
	# distroless/base's accounts and directories.
	mkdir -p "${out}/etc" "${out}/tmp" "${out}/root" "${out}/home/nonroot" "${out}/var/lib/dpkg/status.d"
	printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
		'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"${out}/etc/passwd"
	printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'tty:x:5:' 'staff:x:50:' 'nonroot:x:65532:' >"${out}/etc/group"
	cp "${work}/all/usr/share/libc-bin/nsswitch.conf" "${out}/etc/nsswitch.conf"
	cp -a "${work}/all/usr/lib/os-release" "${out}/etc/os-release"
	chmod 1777 "${out}/tmp"
	chmod 0700 "${out}/root" "${out}/home/nonroot"
	chown 65532:65532 "${out}/home/nonroot"
	# Package metadata and copyright of every package a staged file comes from, as upstream's
	# stage_file records them (var/lib/dpkg/status.d/<package>).
	while read -r p; do
		{
			cat "${work}/pkg/${p}.control"
			echo "Status: install ok installed"
		} >"${out}/var/lib/dpkg/status.d/${p}"
		[[ ! -f "${work}/pkg/${p}/usr/share/doc/${p}/copyright" ]] || stage_path "${work}/all" "$out" "usr/share/doc/${p}/copyright"
	done < <(cd "$out" && find . ! -type d -printf '%P\n' | awk 'NR == FNR { own[$1] = $2; next } ($1 in own) { print own[$1] }' \
		"${work}/owners" - | sort -u)
	# clean-distroless.sh's removals.
	rm -rf "${out}/usr/share/base-files" "${out}/usr/share/man" "${out}"/usr/lib/*-linux-gnu/gconv \
		"${out}/usr/bin/c_rehash" "${out}/usr/bin/openssl"
	# The real image has no conntrack; nothing here may bring one.
	if find "$out" -name conntrack | grep -q .; then
		echo "lab-images: distroless-iptables has a conntrack, which the real image has not" >&2
		return 1
	fi
}

# go_runner OUT builds go-runner (kube-log-runner of k8s.io/component-base, the kube-proxy
# image's ENTRYPOINT) in the lab's kubernetes module, pinned like the other components.
go_runner() {
	local out=$1 tmp="${1}.tmp.$$"
	CGO_ENABLED=0 go build -C "${script_dir}/labbuild/kubernetes" -mod=readonly -trimpath -buildvcs=false \
		-ldflags='-s -w' -o "$tmp" k8s.io/component-base/logs/kube-log-runner
	mv -f "$tmp" "$out"
}

# ---- cilium-runtime -------------------------------------------------------------------------

stage_cilium_runtime() {
	local out=$1 work=$2 src f
	src=$(go mod download -json "github.com/cilium/cilium@${CILIUM_VERSION}" | sed -nE 's/^\s*"Dir": "(.*)",?$/\1/p')
	# images/runtime: a distribution base with install-runtime-deps.sh's packages (upstream's is
	# Ubuntu 24.04 with Cilium's own iptables 1.8.8 build), then LLVM's clang and llc and
	# bpftool copied in as single programs.
	stage_debian "$out" "$work" main iproute2,iptables,ipset,kmod,ca-certificates,libatomic1,bash-completion
	mkdir -p "${work}/llvm"
	fetch_all "${work}/llvm" main -- clang-19 llvm-19 libclang-common-19-dev bpftool
	for f in usr/lib/llvm-19/bin/clang usr/lib/llvm-19/bin/llc usr/sbin/bpftool; do
		stage_elf "${work}/llvm/all" "$out" "$f"
	done
	# clang's own headers (stddef.h, ...) that the BPF programs include.
	stage_path "${work}/llvm/all" "$out" usr/lib/llvm-19/lib/clang
	mkdir -p "${out}/usr/local/bin"
	ln -sf /usr/lib/llvm-19/bin/clang "${out}/usr/local/bin/clang"
	ln -sf /usr/lib/llvm-19/bin/llc "${out}/usr/local/bin/llc"
	ln -sf /usr/sbin/bpftool "${out}/usr/local/bin/bpftool"
	ln -sf /usr/share/zoneinfo/UTC "${out}/etc/localtime"
	# images/cilium's release stage: the scripts Helm's init containers run, from the module
	# of the same version, and the layout of `make install-container-binary` (cilium, a link
	# to cilium-dbg; the CNI configuration directory). The binaries are the archive's own layer.
	install -m 0755 "${src}/images/cilium/init-container.sh" "${src}/plugins/cilium-cni/install-plugin.sh" \
		"${src}/plugins/cilium-cni/cni-uninstall.sh" "${out}/"
	mkdir -p "${out}/usr/bin" "${out}/etc/cni/net.d" "${out}/home/cilium"
	ln -sf cilium-dbg "${out}/usr/bin/cilium"
}

# ---- main -----------------------------------------------------------------------------------

printf '%-20s %-9s %-7s %8s  %s\n' IMAGE TAG STATUS TIME PATH
for image in "${images[@]}"; do
	case "$image" in
	pause) tag=$(sed -nE 's/^TAG \?= (.*)$/\1/p' "$(kubernetes_dir)/build/pause/Makefile") ;;
	busybox) tag=1.36 ;;
	distroless-iptables) tag=v0.9.9 ;;
	# scripts/labbuild/images ToolsTag: the tool versions and the image's revision.
	tools) tag=iperf3-${iperf3_version}-netperf-${NETPERF_VERSION%%-*}-r1 ;;
	cilium-runtime) tag=$CILIUM_VERSION ;;
	esac
	dir="${cache_root}/images/${image}/${tag}"
	t0=$(now)
	status=cached
	if [[ ! -d "${dir}/rootfs" ]]; then
		mkdir -p "$dir"
		rm -rf -- "${dir}"/.rootfs.tmp.*
		work=$(mktemp -d "${TMPDIR:-/tmp}/lab-images-${image}.XXXXXX")
		tmp_dirs+=("$work")
		tmp="${dir}/.rootfs.tmp.$$"
		tmp_dirs+=("$tmp")
		case "$image" in
		pause) stage_pause "$tmp" "$tag" ;;
		busybox) stage_busybox "$tmp" "$work" ;;
		# images/tools/Dockerfile's packages; its USER 65534 is the spec's configuration.
		tools) stage_debian "$tmp" "$work" main,non-free iperf3,netperf "iperf3=${iperf3_version}-*" "netperf=${NETPERF_VERSION}" ;;
		distroless-iptables) stage_distroless_iptables "$tmp" "$work" ;;
		cilium-runtime) stage_cilium_runtime "$tmp" "$work" ;;
		esac
		mv -- "$tmp" "${dir}/rootfs"
		rm -rf -- "$work"
		status=staged
	fi
	printf '%-20s %-9s %-7s %8s  %s\n' "$image" "$tag" "$status" "$(elapsed "$t0" "$(now)")" "${dir}/rootfs"
	if [[ "$image" == distroless-iptables ]]; then
		gr="${cache_root}/images/kube-proxy/${KUBERNETES_VERSION}/go-runner"
		t0=$(now)
		status=cached
		if [[ ! -x "$gr" ]]; then
			mkdir -p "$(dirname "$gr")"
			go_runner "$gr"
			status=built
		fi
		printf '%-20s %-9s %-7s %8s  %s\n' go-runner "$KUBERNETES_VERSION" "$status" "$(elapsed "$t0" "$(now)")" "$gr"
	fi
done

# The archives and their index, from the staged roots and the component cache.
go run -C "${script_dir}/labbuild/images" -mod=readonly -trimpath . \
	-versions "${script_dir}/lab-versions.env" -cache "$cache_root"
