#!/bin/sh
# Installs the Debian packages pvback needs to build and test. The Makefile runs
# this when pkg-config cannot find a dependency; it is safe to run repeatedly.
set -eu

PKGS="build-essential pkg-config libxen-dev check liburing-dev libjson-c-dev xenstore-utils valgrind iproute2 procps bridge-utils ethtool xen-utils-common clang libclang-rt-14-dev iputils-ping"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "pvback: missing Debian packages:$missing" >&2
	echo "pvback: run 'sudo $0' (or install them with apt-get) and build again" >&2
	exit 1
fi
echo "pvback: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
