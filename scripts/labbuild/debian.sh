# shellcheck shell=bash
# Fetching Debian packages for the lab without touching the machine's apt setup: apt runs with
# a configuration of its own (APT_CONFIG) in a work directory — sources signed-by the Debian
# archive keyring, private package lists and caches, none of the machine's apt.conf.d, sources,
# preferences, keys, credentials or hooks — and installs nothing. apt refuses an index whose
# InRelease signature does not verify and a .deb whose SHA-256 differs from the signed index's.
# Sourced by scripts/lab-images.sh.

debian_mirror=http://deb.debian.org/debian
debian_security_mirror=http://deb.debian.org/debian-security
debian_keyring=/usr/share/keyrings/debian-archive-keyring.gpg

# debian_codename prints this machine's Debian release (VERSION_CODENAME in /etc/os-release):
# packages come from it, so their libraries are the machine's.
debian_codename() {
	local id codename
	# shellcheck disable=SC1091 # the machine's file
	id=$(. /etc/os-release && echo "${ID:-}")
	# shellcheck disable=SC1091
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	if [[ "$id" != debian || -z "$codename" ]]; then
		echo "debian.sh: packages come from Debian's archive for this machine's release," \
			"but /etc/os-release says ID=${id:-?} VERSION_CODENAME=${codename:-?}" >&2
		return 1
	fi
	echo "$codename"
}

# deb_apt_init WORK AREA... writes WORK/apt.conf for the machine's release, its -updates and
# its security suite in the given areas (main, non-free, ...), and runs apt-get update.
deb_apt_init() {
	local work=$1 suite
	shift
	suite=$(debian_codename) || return 1
	if [[ ! -r "$debian_keyring" ]]; then
		echo "debian.sh: ${debian_keyring} missing (Debian package debian-archive-keyring)" >&2
		return 1
	fi
	mkdir -p "${work}/state/lists/partial" "${work}/cache/archives/partial" "${work}/deb"
	if [[ $(id -u) -eq 0 ]] && id _apt >/dev/null 2>&1; then
		# Run as root, apt downloads as the unprivileged _apt: let it reach its directories.
		chmod 0755 "$work"
		chown _apt "${work}/deb"
	fi
	{
		echo "deb [signed-by=${debian_keyring}] ${debian_mirror} ${suite} $*"
		echo "deb [signed-by=${debian_keyring}] ${debian_mirror} ${suite}-updates $*"
		echo "deb [signed-by=${debian_keyring}] ${debian_security_mirror} ${suite}-security $*"
	} >"${work}/sources.list"
	cat >"${work}/apt.conf" <<-EOF
		Dir::Etc::Main "/dev/null";
		Dir::Etc::Parts "/dev/null";
		Dir::Etc::SourceList "${work}/sources.list";
		Dir::Etc::SourceParts "/dev/null";
		Dir::Etc::Preferences "/dev/null";
		Dir::Etc::PreferencesParts "/dev/null";
		Dir::Etc::Trusted "/dev/null";
		Dir::Etc::TrustedParts "/dev/null";
		Dir::Etc::Netrc "/dev/null";
		Dir::Etc::NetrcParts "/dev/null";
		Dir::State "${work}/state";
		Dir::State::Status "/dev/null";
		Dir::Cache "${work}/cache";
		Acquire::AllowInsecureRepositories "false";
		Acquire::AllowDowngradeToInsecureRepositories "false";
		APT::Get::AllowUnauthenticated "false";
		Acquire::Languages "none";
		APT::Update::Error-Mode "any";
	EOF
	if ! deb_apt "$work" apt-get update >"${work}/apt.log" 2>&1; then
		cat "${work}/apt.log" >&2
		echo "debian.sh: apt-get update from ${debian_mirror} ${suite} ($*) failed (apt's output above)" >&2
		return 1
	fi
}

# deb_apt WORK COMMAND ARGS... runs an apt command (apt-get, apt-cache) under WORK's configuration.
deb_apt() {
	local work=$1
	shift
	env "APT_CONFIG=${work}/apt.conf" "$@"
}

# deb_closure WORK PACKAGE... prints the packages and everything they Depend or Pre-Depend on,
# recursively, one name a line, sorted (virtual packages resolved to what provides them).
deb_closure() {
	local work=$1
	shift
	deb_apt "$work" apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances "$@" |
		awk '/^[a-z0-9]/ { print $1 }' | sort -u
}

# deb_download WORK PACKAGE[=VERSION]... downloads the packages into WORK/deb (apt checks each
# against the signed index) and extracts each into WORK/pkg/<name>/.
deb_download() {
	local work=$1 deb pkg
	shift
	if ! (cd "${work}/deb" && deb_apt "$work" apt-get -q download "$@") >>"${work}/apt.log" 2>&1; then
		cat "${work}/apt.log" >&2
		echo "debian.sh: apt-get download $* failed (apt's output above)" >&2
		return 1
	fi
	for deb in "${work}"/deb/*.deb; do
		pkg=$(dpkg-deb --field "$deb" Package)
		[[ -d "${work}/pkg/${pkg}" ]] && continue
		mkdir -p "${work}/pkg/${pkg}"
		dpkg-deb --extract "$deb" "${work}/pkg/${pkg}"
		dpkg-deb --field "$deb" >"${work}/pkg/${pkg}.control"
	done
}
