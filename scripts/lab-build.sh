#!/usr/bin/env bash
# Builds the embedded lab's components from the Go module proxy and caches them by version:
#   ${NETBENCH_CACHE:-$HOME/.cache/kube-netbench}/<component>/<version>/<binary>
# Versions come from scripts/lab-versions.env; each component is built in its own Go module
# under scripts/labbuild/<component>/ (pinned go.mod and go.sum, never the repository's go.mod).
# A binary already in the cache is not rebuilt, so a warm run takes seconds. Every binary is then
# run once and must report the expected version.
#
# Usage: scripts/lab-build.sh [COMPONENT...]   (default: all of kubernetes etcd kwok fortio cni-plugins)
# Environment: NETBENCH_CACHE (cache root), GOFLAGS and the other go env variables are honoured.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
versions_file="${script_dir}/lab-versions.env"
labbuild_dir="${script_dir}/labbuild"

# shellcheck source=labbuild/components.sh
source "${labbuild_dir}/components.sh"
# shellcheck source=lab-versions.env
source "${versions_file}"

usage() {
	echo "usage: $0 [COMPONENT...]   components: ${LAB_COMPONENTS[*]}" >&2
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

command -v go >/dev/null || {
	echo "lab-build: go not found in PATH" >&2
	exit 1
}

cache_root="${NETBENCH_CACHE:-${HOME}/.cache/kube-netbench}"
mkdir -p "${cache_root}"
cache_root=$(cd "${cache_root}" && pwd) # absolute: the builds run in other directories

# The lab modules are not part of any workspace; a go.work above them must not capture them.
export GOWORK=off
# Pure Go builds: static binaries that run in any network namespace without a libc surprise.
export CGO_ENABLED=0

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
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

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

start_all=$(now)
echo "lab-build: $(go version); cache ${cache_root}; GOFLAGS=$(go env GOFLAGS)"
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
	check_module "$component" "$module_dir" "$version"
	out_dir="${cache_root}/${component}/${version}"
	mkdir -p "$out_dir"
	# Leftovers of a run killed with SIGKILL (we hold the lock: no other run is writing them).
	rm -f -- "${out_dir}"/.*.tmp.*
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
			go build -C "$module_dir" -mod=readonly -trimpath -buildvcs=false \
				-ldflags="${ldflags}" -o "$tmp" "$pkg" &
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
