#!/bin/sh
# The seam-level demo: start a simulated Xen host, create a guest domain, and
# stream a verified payload from the guest to dom0 through the hypervisor seam
# (xenstore handshake, shared ring, grant copy, event channels). Everything it
# creates is removed on exit, success or not.
set -eu
BUILD=${PVBACK_BUILD:-build/release}
SIM="$BUILD/bin/pvback-sim"
DEMO="$BUILD/bin/pvback-demo"
BYTES=${PVBACK_DEMO_BYTES:-256M}

dir=$(mktemp -d /tmp/pvback-demo-XXXXXX)
back_pid=""
cleanup() {
	[ -n "$back_pid" ] && kill "$back_pid" 2>/dev/null || true
	"$SIM" stop --dir "$dir" >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

"$SIM" start --dir "$dir"
"$SIM" domain create --dir "$dir" --domid 1
echo "--- xenstore as domain 1 sees its own tree (Debian's xenstore-ls, unchanged):"
(eval "$("$SIM" env --dir "$dir" --domid 1)"; xenstore-ls -p "/local/domain/1" | head -n 12)

echo "--- streaming $BYTES from domain 1 to domain 0"
(eval "$("$SIM" env --dir "$dir" --domid 0)"; exec "$DEMO" back --frontend-domid 1) &
back_pid=$!
(eval "$("$SIM" env --dir "$dir" --domid 1)"; exec "$DEMO" front --backend-domid 0 --bytes "$BYTES")
wait "$back_pid"
back_pid=""
"$SIM" domain destroy --dir "$dir" --domid 1
echo "--- demo finished: payload verified end to end"
