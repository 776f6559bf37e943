# Shared helpers of the e2e harness (sourced, not run). Logging, the cache
# location and its recipe key, host package installation. Not for anything that
# runs inside the VM.
# shellcheck shell=bash

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034  # used by the scripts that source this file
E2E_SRC=$(cd "$E2E_DIR/../.." && pwd)
E2E_CACHE_ROOT=${PVBACK_E2E_CACHE:-/var/cache/pvback-e2e}

e2e_log() { printf 'e2e-host: %s\n' "$*" >&2; }
e2e_die() { printf 'e2e-host: error: %s\n' "$*" >&2; exit 1; }

# The base image is keyed by everything that shapes it: the recipe script and
# the stub init it embeds. The project build and the scenarios are not part of
# the key; they are layered in per run.
e2e_recipe_key() {
	sha256sum <"$E2E_DIR/build-image.sh" | cut -c1-16
}

e2e_image_dir() { printf '%s/%s\n' "$E2E_CACHE_ROOT" "$(e2e_recipe_key)"; }

# Installs Debian packages on the host when missing (as root), else says which.
e2e_need_host_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		e2e_die "missing host packages: ${missing[*]} (install them as root: apt-get install ${missing[*]})"
	fi
	e2e_log "installing host packages: ${missing[*]}"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
		>/tmp/pvback-e2e-apt.log 2>&1; then
		e2e_log "apt-get install failed; refreshing the package lists once and retrying"
		apt-get update >>/tmp/pvback-e2e-apt.log 2>&1 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
			>>/tmp/pvback-e2e-apt.log 2>&1 ||
			e2e_die "apt-get install ${missing[*]} failed; see /tmp/pvback-e2e-apt.log"
	fi
}

# The Debian mirror the host's apt uses (debootstrap uses the same one).
e2e_debian_mirror() {
	local m
	if [ -n "${PVBACK_E2E_MIRROR:-}" ]; then
		printf '%s\n' "$PVBACK_E2E_MIRROR"
		return
	fi
	m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n1 | tr -d ' ')
	printf '%s\n' "${m:-http://deb.debian.org/debian}"
}
