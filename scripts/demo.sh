#!/bin/sh
# The README's main job, on the simulated hypervisor: a host, pvbackd serving
# dom0's backends, and guest domain 1 whose userspace netfront carries real
# kernel traffic (ping, verified TCP transfers both ways) through pvbackd to
# a bridge attached by Debian's stock vif-bridge script, and whose blkfront
# writes and verifies a disk through pvbackd's blkback. Each side prints what
# it negotiated. Dom0 and the guest are network namespaces made here; every
# namespace, process and file is removed on exit, success or not. Needs root.
set -eu
BUILD=${PVBACK_BUILD:-build/release}
BIN="$BUILD/bin"
BYTES=${PVBACK_DEMO_BYTES:-256M}
here=$(cd "$(dirname "$0")/.." && pwd)

[ "$(id -u)" = 0 ] || { echo "demo: needs root (network namespaces, TAP devices)" >&2; exit 1; }

dir=$(mktemp -d /tmp/pvback-demo-XXXXXX)
ns0="pvdemo-dom0-$$"
ns1="pvdemo-dom1-$$"
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	"$BIN/pvback-sim" stop --dir "$dir" >/dev/null 2>&1 || true
	ip netns del "$ns0" 2>/dev/null || true
	ip netns del "$ns1" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

as_dom() { # as_dom DOMID CMD...: run CMD in the foreground acting as that domain
	d=$1
	shift
	(eval "$("$BIN/pvback-sim" env --dir "$dir" --domid "$d")" && exec "$@")
}
in0() { ip netns exec "$ns0" "$@"; }
in1() { ip netns exec "$ns1" "$@"; }
wait_for() { # wait_for SECONDS CMD...: until CMD succeeds
	t=$(($1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		t=$((t - 1))
		[ "$t" -gt 0 ] || return 1
		sleep 0.1
	done
}

echo "--- simulated host, guest domain 1, dom0 and guest network namespaces"
"$BIN/pvback-sim" start --dir "$dir"
"$BIN/pvback-sim" domain create --dir "$dir" --domid 1
ip netns add "$ns0"
ip netns add "$ns1"
in0 ip link set lo up
in0 ip link add xenbr0 type bridge
in0 ip addr add 10.99.0.1/24 dev xenbr0
in0 ip link set xenbr0 up

echo "--- pvbackd serving dom0's backends"
(eval "$("$BIN/pvback-sim" env --dir "$dir" --domid 0)" &&
	exec ip netns exec "$ns0" "$BIN/pvbackd" --foreground --log-level warning) &
pids="$pids $!"

echo "--- xl-style vif (stock vif-bridge) and vbd (pvback's block script) for domain 1"
truncate -s 64M "$dir/disk.img"
as_dom 0 ip netns exec "$ns0" "$BIN/pvback-sim" vif attach --dir "$dir" --domid 1 \
	--bridge xenbr0 --script /etc/xen/scripts/vif-bridge
as_dom 0 "$BIN/pvback-sim" vbd attach --dir "$dir" --domid 1 --target "$dir/disk.img" \
	--vdev xvda --script "$here/tools/hotplug/block-pvback"

echo "--- guest: netfront exposes the vif as eth0 in its namespace"
(eval "$("$BIN/pvback-sim" env --dir "$dir" --domid 1)" &&
	exec "$BIN/pvback-netfront" tap --netns "/run/netns/$ns1" --ip 10.99.0.2/24) \
	>"$dir/netfront.log" 2>&1 &
nf=$!
pids="$pids $nf"
wait_for 20 in1 ping -c 1 -W 1 10.99.0.1 || { cat "$dir/netfront.log"; exit 1; }
in1 ping -c 3 -i 0.2 10.99.0.1 | tail -n 2
in0 ping -c 3 -i 0.2 10.99.0.2 | tail -n 2

echo "--- $BYTES over TCP, guest -> dom0 and dom0 -> guest, digests checked"
in0 "$BIN/pvback-demo" tcp-recv --listen 10.99.0.1:5001 --bytes "$BYTES" &
r=$!
in1 "$BIN/pvback-demo" tcp-send --to 10.99.0.1:5001 --bytes "$BYTES"
wait "$r"
in1 "$BIN/pvback-demo" tcp-recv --listen 10.99.0.2:5002 --bytes "$BYTES" &
r=$!
in0 "$BIN/pvback-demo" tcp-send --to 10.99.0.2:5002 --bytes "$BYTES"
wait "$r"

echo "--- guest: blkfront writes every sector of xvda with a tag and reads it back"
as_dom 1 "$BIN/pvback-blkfront" verify --vdev xvda

echo "--- guest: netfront disconnects and reports what it negotiated"
kill -TERM "$nf"
wait "$nf" || true
pids=$(echo "$pids" | sed "s/ $nf//")
sed -n '/^negotiated/,$p' "$dir/netfront.log"
echo "--- demo finished: ping and both transfers verified, disk verified"
