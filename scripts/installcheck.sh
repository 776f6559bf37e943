#!/bin/sh
# Installs into a scratch DESTDIR with PREFIX=/usr and checks that every
# installed path honours both, then removes the scratch tree.
set -eu
stage=$(mktemp -d /tmp/pvback-install-XXXXXX)
trap 'rm -rf "$stage"' EXIT
make -s install PREFIX=/usr DESTDIR="$stage" >/dev/null
fail=0
for f in usr/bin/pvback-sim usr/bin/pvback-inspect usr/sbin/pvbackd usr/share/pvback/xenstore-schema/vif.schema \
	usr/share/pvback/pvback-kernel-backends.conf usr/lib/systemd/system/pvbackd.service; do
	[ -e "$stage/$f" ] || { echo "installcheck: missing $f"; fail=1; }
done
grep -q '^ExecStart=/usr/sbin/pvbackd ' "$stage/usr/lib/systemd/system/pvbackd.service" ||
	{ echo "installcheck: unit does not start /usr/sbin/pvbackd"; fail=1; }
# Nothing may land outside DESTDIR/PREFIX.
stray=$(find "$stage" -mindepth 1 -maxdepth 1 ! -name usr)
[ -z "$stray" ] || { echo "installcheck: outside PREFIX: $stray"; fail=1; }
[ "$fail" -eq 0 ] && echo "installcheck: 1 passed, 0 failed" || { echo "installcheck: 0 passed, 1 failed"; exit 1; }
