#!/usr/bin/env bash
# Builds the embedded lab's components from the Go module proxy and caches them by version:
#   ${NETBENCH_CACHE:-$HOME/.cache/kube-netbench}/<component>/<version>/<binary>
# Versions come from scripts/lab-versions.env; each Go component is built in its own Go module
# under scripts/labbuild/<component>/ (pinned go.mod and go.sum, never the repository's go.mod),
# with its own cgo setting and build tags (scripts/labbuild/components.sh: runc alone uses cgo).
# A Debian component (netperf) is fetched as a .deb from deb.debian.org with apt under a private
# configuration (apt verifies it; the machine's apt setup is neither read nor changed and nothing
# is installed), and its binaries are extracted into the cache.
# A binary already in the cache is not rebuilt or fetched again, so a warm run takes seconds and
# needs no network. Every binary is then run once and must report the expected version.
#
# Usage: scripts/lab-build.sh [COMPONENT...]   (default: all of kubernetes containerd runc etcd kwok fortio
#        cni-plugins netperf; cilium, for the cilium-* lab dataplanes, only when named)
# Environment: NETBENCH_CACHE (cache root), GOFLAGS and the other go env variables are honoured;
# TMPDIR holds apt's private directories while a Debian component is fetched.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
versions_file="${script_dir}/lab-versions.env"
labbuild_dir="${script_dir}/labbuild"

# shellcheck source=labbuild/components.sh
source "${labbuild_dir}/components.sh"
# shellcheck source=lab-versions.env
source "${versions_file}"
# shellcheck source=labbuild/debian.sh
source "${labbuild_dir}/debian.sh"

usage() {
	echo "usage: $0 [COMPONENT...]   components: ${LAB_COMPONENTS[*]} (default), ${LAB_OPTIONAL_COMPONENTS[*]}" >&2
}

components=()
for arg in "$@"; do
	case "$arg" in
	-h | --help)
		usage
		exit 0
		;;
	*)
		if ! lab_component "$arg"; then
			echo "lab-build: unknown component '$arg'" >&2
			usage
			exit 2
		fi
		components+=("$arg")
		;;
	esac
done
if [[ ${#components[@]} -eq 0 ]]; then
	components=("${LAB_COMPONENTS[@]}")
fi

need_go=false
for component in "${components[@]}"; do
	lab_component "$component"
	[[ "$COMPONENT_SOURCE" == go ]] && need_go=true
done
if $need_go && ! command -v go >/dev/null; then
	echo "lab-build: go not found in PATH" >&2
	exit 1
fi

cache_root="${NETBENCH_CACHE:-${HOME}/.cache/kube-netbench}"
mkdir -p "${cache_root}"
cache_root=$(cd "${cache_root}" && pwd) # absolute: the builds run in other directories

# The lab modules are not part of any workspace; a go.work above them must not capture them.
export GOWORK=off

# One build at a time per cache: a second run waits, then finds the binaries cached.
exec 9>"${cache_root}/.lab-build.lock"
if ! flock -n 9; then
	echo "lab-build: another lab-build.sh holds ${cache_root}/.lab-build.lock; waiting"
	flock 9
fi

# An interrupted build never leaves a binary behind: go build writes to a temporary name that
# is renamed only once the build succeeded, and the temporary file is removed on any exit.
# The build runs in the background so that a signal stops it at once instead of after it.
tmp_files=()
tmp_dirs=()
build_pid=""
cleanup() {
	local f
	if [[ -n "$build_pid" ]]; then
		kill -TERM "$build_pid" 2>/dev/null || true
		wait "$build_pid" 2>/dev/null || true
	fi
	for f in "${tmp_files[@]+"${tmp_files[@]}"}"; do
		rm -f -- "$f"
	done
	for f in "${tmp_dirs[@]+"${tmp_dirs[@]}"}"; do
		rm -rf -- "$f"
	done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A component that has binaries to build and whose build needs Debian packages (runc: a C
# compiler and libseccomp) is refused now, naming what is missing, not after the others' build.
missing_debs=()
for component in "${components[@]}"; do
	lab_component "$component"
	[[ ${#COMPONENT_BUILD_DEBS[@]} -gt 0 ]] || continue
	to_build=false
	for entry in "${COMPONENT_BINARIES[@]}"; do
		[[ -x "${cache_root}/${component}/${!COMPONENT_VERSION_VAR:-}/${entry%%=*}" ]] || to_build=true
	done
	$to_build || continue
	for p in "${COMPONENT_BUILD_DEBS[@]}"; do
		# shellcheck disable=SC2016 # dpkg-query's own ${field} syntax
		if [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" != "ii "* ]]; then
			missing_debs+=("${p} (${component})")
		fi
	done
done
if [[ ${#missing_debs[@]} -gt 0 ]]; then
	echo "lab-build: missing Debian packages for the build: ${missing_debs[*]}; run scripts/install-deps.sh (make deps) as root" >&2
	exit 1
fi

now() { echo "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fs", b - a }'; }

# module_version DIR MODULE prints the version DIR/go.mod requires for MODULE.
module_version() {
	awk -v m="$2" '
		$1 == "require" && $2 == m { print $3; exit }
		$1 == m && NF >= 2 && $0 !~ /=>/ { print $2; exit }
	' "$1/go.mod"
}

# check_module COMPONENT DIR VERSION fails when the pinned module disagrees with lab-versions.env.
check_module() {
	local component=$1 dir=$2 version=$3 pinned
	if [[ ! -f "${dir}/go.mod" || ! -f "${dir}/go.sum" ]]; then
		echo "lab-build: ${dir}/go.mod or go.sum missing; run scripts/labbuild/update-modules.sh" >&2
		return 1
	fi
	pinned=$(module_version "$dir" "$COMPONENT_MODULE")
	if [[ "$pinned" != "$version" ]]; then
		echo "lab-build: ${component}: lab-versions.env says ${version} but ${dir}/go.mod requires" \
			"${COMPONENT_MODULE} ${pinned:-nothing}; run scripts/labbuild/update-modules.sh" >&2
		return 1
	fi
	if [[ "$component" == kubernetes ]]; then
		# Every staging module must be replaced by the release's own v0.x.y.
		local staging="v0${version#v1}" bad
		bad=$(awk -v want="$staging" '$2 == "=>" && $1 ~ /^k8s\.io\// && $4 != want { print $1 " " $4 }' "${dir}/go.mod")
		if [[ -n "$bad" ]]; then
			echo "lab-build: kubernetes: staging replacements not at ${staging}: ${bad}; run scripts/labbuild/update-modules.sh" >&2
			return 1
		fi
	fi
}

# fetch_deb VERSION WORK downloads COMPONENT_DEB_PACKAGE=VERSION from the Debian archive of this
# machine's release (scripts/labbuild/debian.sh: apt under a private configuration, signature
# and hash verified, nothing installed) and extracts it into WORK/pkg/<package>.
fetch_deb() {
	local version=$1 work=$2 deb fields want
	deb_apt_init "$work" "$COMPONENT_DEB_AREA"
	deb_download "$work" "${COMPONENT_DEB_PACKAGE}=${version}"
	deb=$(find "${work}/deb" -maxdepth 1 -name '*.deb' -print)
	if [[ -z "$deb" || "$deb" == *$'\n'* ]]; then
		echo "lab-build: apt-get download left ${deb:-no .deb} in ${work}/deb, expected one .deb" >&2
		return 1
	fi
	# shellcheck disable=SC2016 # dpkg-deb's own ${field} syntax
	fields=$(dpkg-deb --show --showformat='${Package} ${Version} ${Architecture}' "$deb")
	want="${COMPONENT_DEB_PACKAGE} ${version} $(dpkg --print-architecture)"
	if [[ "$fields" != "$want" ]]; then
		echo "lab-build: ${deb} is \"${fields}\", expected \"${want}\"" >&2
		return 1
	fi
	echo "lab-build: ${COMPONENT_DEB_PACKAGE} ${version}: fetched ${deb##*/} from ${debian_mirror}" \
		"$(debian_codename) ${COMPONENT_DEB_AREA} (signature and hash verified by apt), sha256 $(sha256sum <"$deb" | cut -d' ' -f1)"
}

# install_deb_binaries COMPONENT VERSION OUT_DIR puts the component's binaries that OUT_DIR lacks
# there, fetching the package once; each appears under its name only complete (rename).
# fetch_deb and install_deb_binaries fail by returning non-zero or by any failing command: call
# them where set -e applies (not left of || or &&, not in an if), so that a failed cp is fatal.
install_deb_binaries() {
	local component=$1 version=$2 out_dir=$3 entry bin path missing=() work tmp
	for entry in "${COMPONENT_BINARIES[@]}"; do
		[[ -x "${out_dir}/${entry%%=*}" ]] || missing+=("$entry")
	done
	[[ ${#missing[@]} -gt 0 ]] || return 0
	work=$(mktemp -d "${TMPDIR:-/tmp}/lab-build-${component}.XXXXXX")
	tmp_dirs+=("$work")
	fetch_deb "$version" "$work"
	for entry in "${missing[@]}"; do
		bin=${entry%%=*}
		path=${entry#*=}
		if [[ ! -f "${work}/pkg/${COMPONENT_DEB_PACKAGE}/${path}" ]]; then
			echo "lab-build: ${COMPONENT_DEB_PACKAGE} ${version} has no /${path}" >&2
			return 1
		fi
		tmp="${out_dir}/.${bin}.tmp.$$"
		tmp_files+=("$tmp")
		cp -- "${work}/pkg/${COMPONENT_DEB_PACKAGE}/${path}" "$tmp"
		chmod 0755 "$tmp"
		mv -f -- "$tmp" "${out_dir}/${bin}"
	done
	rm -rf -- "$work"
}

# cilium_assets MODULE_DIR OUT_DIR VERSION copies what the agent and the lab need from Cilium's
# module beside its binaries: bpf/ (the datapath sources the agent compiles with clang at start;
# the lab gives each agent a writable copy) and the CRDs (crds/, applied by the lab since no
# operator runs). Each tree appears under its name only complete (rename).
cilium_assets() {
	local module_dir=$1 out_dir=$2 version=$3 src name from tmp t0
	src=$(go list -C "$module_dir" -mod=readonly -m -f '{{.Dir}}' "$COMPONENT_MODULE")
	if [[ -z "$src" || ! -d "${src}/bpf" ]]; then
		echo "lab-build: cilium: no bpf/ in the module directory '${src}'" >&2
		return 1
	fi
	for name in bpf crds; do
		t0=$(now)
		if [[ -d "${out_dir}/${name}" ]]; then
			printf '%-12s %-9s %-24s %-7s %8s  %s\n' cilium "$version" "${name}/" cached "$(elapsed "$t0" "$(now)")" "${out_dir}/${name}"
			continue
		fi
		case "$name" in
		bpf) from="${src}/bpf" ;;
		crds) from="${src}/pkg/k8s/apis/cilium.io/client/crds" ;;
		esac
		tmp="${out_dir}/.${name}.tmp.$$"
		tmp_dirs+=("$tmp")
		rm -rf -- "$tmp"
		cp -r -- "$from" "$tmp"
		chmod -R u+w "$tmp" # the module cache is read-only
		mv -- "$tmp" "${out_dir}/${name}"
		printf '%-12s %-9s %-24s %-7s %8s  %s\n' cilium "$version" "${name}/" copied "$(elapsed "$t0" "$(now)")" "${out_dir}/${name}"
	done
}

start_all=$(now)
if $need_go; then
	echo "lab-build: $(go version); cache ${cache_root}; GOFLAGS=$(go env GOFLAGS)"
else
	echo "lab-build: cache ${cache_root}"
fi
printf '%-12s %-9s %-24s %-7s %8s  %s\n' COMPONENT VERSION BINARY STATUS TIME PATH

built=()
for component in "${components[@]}"; do
	lab_component "$component"
	version="${!COMPONENT_VERSION_VAR:-}"
	if [[ -z "$version" ]]; then
		echo "lab-build: ${COMPONENT_VERSION_VAR} is not set in ${versions_file}" >&2
		exit 1
	fi
	module_dir="${labbuild_dir}/${component}"
	if [[ "$COMPONENT_SOURCE" == go ]]; then
		check_module "$component" "$module_dir" "$version"
	fi
	out_dir="${cache_root}/${component}/${version}"
	mkdir -p "$out_dir"
	# Leftovers of a run killed with SIGKILL (we hold the lock: no other run is writing them).
	rm -rf -- "${out_dir}"/.*.tmp.*
	if [[ "$COMPONENT_SOURCE" == deb ]]; then
		# One fetch for all the binaries the cache lacks; the others stay as they are.
		statuses=()
		for entry in "${COMPONENT_BINARIES[@]}"; do
			if [[ -x "${out_dir}/${entry%%=*}" ]]; then statuses+=(cached); else statuses+=(fetched); fi
		done
		t0=$(now)
		install_deb_binaries "$component" "$version" "$out_dir" # (no `||`: set -e must reach inside)
		t1=$(now)
		for i in "${!COMPONENT_BINARIES[@]}"; do
			bin=${COMPONENT_BINARIES[i]%%=*}
			printf '%-12s %-9s %-24s %-7s %8s  %s\n' "$component" "$version" "$bin" "${statuses[i]}" "$(elapsed "$t0" "$t1")" "${out_dir}/${bin}"
			built+=("${component}:${version}:${bin}")
		done
		continue
	fi
	ldflags=""
	for entry in "${COMPONENT_BINARIES[@]}"; do
		bin=${entry%%=*}
		pkg=${entry#*=}
		target="${out_dir}/${bin}"
		t0=$(now)
		if [[ -x "$target" ]]; then
			status=cached
		else
			if [[ -z "$ldflags" ]]; then
				ldflags="-s -w $(cd "$module_dir" && lab_component_ldflags "$component" "$version")"
			fi
			tmp="${out_dir}/.${bin}.tmp.$$"
			tmp_files+=("$tmp")
			# -mod=readonly: build exactly what go.mod/go.sum pin, never tidy at build time.
			# -buildvcs=false: the binary's VCS would be this repository, which says nothing.
			CGO_ENABLED="$COMPONENT_CGO" go build -C "$module_dir" -mod=readonly -trimpath -buildvcs=false \
				${COMPONENT_TAGS:+"-tags=${COMPONENT_TAGS}"} -ldflags="${ldflags}" -o "$tmp" "$pkg" &
			build_pid=$!
			if ! wait "$build_pid"; then
				build_pid=""
				echo "lab-build: building ${component} ${version} ${bin} (${pkg}) failed" >&2
				exit 1
			fi
			build_pid=""
			mv -f -- "$tmp" "$target"
			status=built
		fi
		t1=$(now)
		printf '%-12s %-9s %-24s %-7s %8s  %s\n' "$component" "$version" "$bin" "$status" "$(elapsed "$t0" "$t1")" "$target"
		built+=("${component}:${version}:${bin}")
	done
	if [[ "$component" == cilium ]]; then
		cilium_assets "$module_dir" "$out_dir" "$version"
	fi
done

echo "lab-build: verifying versions"
failed=0
for item in "${built[@]}"; do
	IFS=: read -r component version bin <<<"$item"
	path="${cache_root}/${component}/${version}/${bin}"
	want=$(lab_expected_version "$component" "$version")
	if output=$(lab_version_output "$bin" "$path") && [[ "$output" == *"$want"* ]]; then
		# Report the line that carries the version.
		line=$(grep -F -m1 -- "$want" <<<"$output" | tr '\t' ' ')
		printf '  ok   %-24s %s\n' "$bin" "$line"
	else
		printf '  FAIL %-24s expected %q in:\n%s\n' "$bin" "$want" "$output" >&2
		failed=1
	fi
done

if [[ $failed -ne 0 ]]; then
	echo "lab-build: version check failed (a cached binary may be stale: delete it and rerun)" >&2
	exit 1
fi
echo "lab-build: done in $(elapsed "$start_all" "$(now)")"
