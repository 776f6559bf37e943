# Helpers the dom0 harness calls in the guest (busybox sh). Each prints
# "key=value" figures; none of them decides PASS or FAIL (dom0 does).
# shellcheck shell=sh

now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# mkpayload MIB: random payload in /tmp/payload and its digest.
mkpayload() {
	if [ ! -f /tmp/payload ] || [ "$(stat -c %s /tmp/payload)" -ne $(($1 * 1048576)) ]; then
		head -c "$(($1 * 1048576))" /dev/urandom >/tmp/payload || return 1
		sha256sum </tmp/payload | cut -d' ' -f1 >/tmp/payload.sum
	fi
	echo "sum=$(cat /tmp/payload.sum)"
}

# sendfile HOST PORT FILE: one TCP stream of FILE to HOST:PORT.
sendfile() {
	t=$(now)
	nc "$1" "$2" <"$3" || return 1
	echo "send_s=$(since "$t")"
}

# recv PORT: a background listener that digests one stream into /tmp/rx.PORT.
recv() {
	rm -f "/tmp/rx.$1"
	nc -l -p "$1" -e sh -c "sha256sum | cut -d' ' -f1 >/tmp/rx.$1.part && mv /tmp/rx.$1.part /tmp/rx.$1" \
		</dev/null >/dev/null 2>&1 &
	echo "listening=$1"
}

# recvcount PORT: like recv, but counts bytes instead of digesting them.
recvcount() {
	rm -f "/tmp/rx.$1"
	nc -l -p "$1" -e sh -c "wc -c >/tmp/rx.$1.part && mv /tmp/rx.$1.part /tmp/rx.$1" \
		</dev/null >/dev/null 2>&1 &
}

# waitfile PATH SECONDS: wait for PATH to exist, print its contents.
waitfile() {
	i=0
	while [ ! -e "$1" ]; do
		[ "$i" -ge $(($2 * 10)) ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
	cat "$1"
}

# waitgone PATH SECONDS
waitgone() {
	i=0
	while [ -e "$1" ]; do
		[ "$i" -ge $(($2 * 10)) ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# irqs: the guest's per-event-channel interrupt counts of the PV devices, as
# "name total" lines (netfront names them vif<devid>-q<Q>[-tx|-rx] after the
# xenbus device, not the netdev; blkfront blkif).
irqs() {
	awk '/xen-dyn|xen-percpu|xen-pirq/ { s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i; print $NF, s }' \
		/proc/interrupts
}

# flows_send HOST BASEPORT N MIB: N parallel streams of MIB MiB each.
flows_send() {
	i=0
	while [ "$i" -lt "$3" ]; do
		head -c "$(($4 * 1048576))" /tmp/payload | nc "$1" $(($2 + i)) &
		i=$((i + 1))
	done
	wait
}

# flows_recv BASEPORT N: N byte-counting listeners.
flows_recv() {
	i=0
	while [ "$i" -lt "$2" ]; do
		recvcount $(($1 + i))
		i=$((i + 1))
	done
}

# flows_total BASEPORT N SECONDS: total bytes the N listeners received.
flows_total() {
	i=0
	total=0
	while [ "$i" -lt "$2" ]; do
		n=$(waitfile "/tmp/rx.$(($1 + i))" "$3") || return 1
		total=$((total + n))
		i=$((i + 1))
	done
	echo "bytes=$total"
}

# disk_test DEV MIB: mkfs, write a MIB file and 64 small ones, sync, drop
# caches, read back and compare digests, fsck. Prints figures and a manifest
# ("M <sha256>  <path>") dom0 checks against the backing file later.
disk_test() {
	dev=$1
	mib=$2
	mkpayload "$mib" >/dev/null || return 1
	t=$(now)
	/e2fs/mke2fs -q -F -t ext4 "$dev" || return 1
	echo "mkfs_s=$(since "$t")"
	mount -t ext4 "$dev" /mnt || return 1
	mkdir -p /mnt/small
	t=$(now)
	cp /tmp/payload /mnt/big
	i=0
	while [ "$i" -lt 64 ]; do
		head -c 16384 /dev/urandom >"/mnt/small/f$i"
		i=$((i + 1))
	done
	sync
	echo "write_s=$(since "$t")"
	(cd /mnt && sha256sum small/*) >/tmp/expect.sum
	echo "$(cat /tmp/payload.sum)  big" >>/tmp/expect.sum
	echo 3 >/proc/sys/vm/drop_caches
	t=$(now)
	(cd /mnt && sha256sum small/* big) >/tmp/got.sum
	echo "read_s=$(since "$t")"
	sort /tmp/expect.sum >/tmp/expect.sorted
	sort /tmp/got.sum >/tmp/got.sorted
	if cmp -s /tmp/expect.sorted /tmp/got.sorted; then echo "readback=match"; else echo "readback=MISMATCH"; fi
	echo "files=$(wc -l </tmp/got.sorted)"
	umount /mnt || return 1
	/e2fs/e2fsck -fn "$dev" >/tmp/fsck.out 2>&1
	echo "fsck_rc=$?"
	sed 's/^/M /' /tmp/expect.sorted
}

# blk_rw DEV MIB: raw write of MIB random MiB, drop caches, read back; digests.
blk_rw() {
	head -c "$(($2 * 1048576))" /dev/urandom >/tmp/blk.bin
	w=$(sha256sum </tmp/blk.bin | cut -d' ' -f1)
	dd if=/tmp/blk.bin of="$1" bs=1M conv=fsync 2>/dev/null || return 1
	echo 3 >/proc/sys/vm/drop_caches
	r=$(head -c "$(($2 * 1048576))" "$1" | sha256sum | cut -d' ' -f1)
	rm -f /tmp/blk.bin
	echo "written=$w"
	echo "read=$r"
}

# ifaddr IF ADDR: configure a hot-plugged interface.
ifaddr() {
	waitfile "/sys/class/net/$1/address" 30 >/dev/null || return 1
	ip addr add "$2" dev "$1" && ip link set "$1" up
}

# pingavg HOST [COUNT]: loss and average round trip.
pingavg() {
	out=$(ping -c "${2:-5}" -i 0.2 -W 3 "$1" 2>&1)
	echo "loss=$(echo "$out" | sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p')"
	echo "avg_ms=$(echo "$out" | sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p')"
}
