# The scenarios of the e2e run (sourced by main.sh). A suite runs them against
# one backend: "pvbackd" (kernel backends blacklisted) or "kernel" (xen-netback
# and xen-blkback loaded for a second round in the same boot).
# shellcheck shell=bash

declare -A FIG
DOMID=
PVBACKD_PID=
GUEST1_SCENARIOS="ping tcp-guest-to-dom0 tcp-dom0-to-guest queues disk hotplug-net hotplug-disk shutdown"

mkpayload_dom0() {
	head -c "$((NET_MIB * 1048576))" /dev/urandom >/tmp/payload
	sha256sum </tmp/payload | cut -c1-64 >/tmp/payload.sum
}

run_suite() {
	local be=$1 s
	case $be in
	pvbackd | kernel) ;;
	*)
		echo "e2e: dom0: unknown suite '$be' (known: pvbackd kernel)"
		return
		;;
	esac
	echo "e2e: --- $be suite ---"
	if ! backend_start "$be"; then
		for s in create $GUEST1_SCENARIOS; do report "$be/$s" FAIL "skipped: backend did not start"; done
		return
	fi
	if scn_create "$be" 1 create; then
		scn_ping "$be"
		scn_tcp_g2d "$be"
		scn_tcp_d2g "$be"
		scn_queues "$be"
		scn_disk "$be"
		scn_hotplug_net "$be"
		scn_hotplug_disk "$be"
		scn_shutdown "$be"
	else
		for s in $GUEST1_SCENARIOS; do report "$be/$s" FAIL "skipped: no guest ($be/create failed)"; done
	fi
	# The restart and leak checks are pvbackd's; the kernel suite is the
	# baseline of the workloads above.
	if [ "$be" = pvbackd ]; then
		scn_restart
		leak_baseline "$be"
		if scn_create "$be" 2 second-guest; then
			scn_destroy "$be"
		else
			report "$be/destroy" FAIL "skipped: no guest ($be/second-guest failed)"
		fi
	fi
	backend_stop "$be"
}

backend_start() {
	local out
	case $1 in
	pvbackd)
		/usr/sbin/pvbackd --foreground --log-level debug >>"$RES/pvbackd.log" 2>&1 &
		PVBACKD_PID=$!
		sleep 1
		if kill -0 "$PVBACKD_PID" 2>/dev/null; then
			report pvbackd/start PASS "pid=$PVBACKD_PID blacklist=/etc/modprobe.d/pvback.conf udev=running"
		else
			wait "$PVBACKD_PID"
			report pvbackd/start FAIL "pvbackd exited with status $? at start (log: results/pvbackd.log)"
			return 1
		fi
		;;
	kernel)
		# The blacklist's "install … /bin/false" stops udev's alias loads; an
		# explicit --ignore-install load is the deliberate exception.
		if out=$(modprobe --ignore-install xen-netback 2>&1 && modprobe --ignore-install xen-blkback 2>&1); then
			report kernel/start PASS "xen_netback xen_blkback loaded"
		else
			report kernel/start FAIL "modprobe: $out"
			return 1
		fi
		;;
	esac
}

backend_stop() {
	local d
	for d in $(xl list 2>/dev/null | awk 'NR > 1 && $2 != 0 { print $2 }'); do
		xl destroy "$d" >/dev/null 2>&1
	done
	if [ "$1" = pvbackd ] && [ -n "$PVBACKD_PID" ]; then
		kill -TERM "$PVBACKD_PID" 2>/dev/null
		wait_until 30 not kill -0 "$PVBACKD_PID"
		kill -KILL "$PVBACKD_PID" 2>/dev/null
		PVBACKD_PID=
	fi
	xenstore-rm /local/domain/0/backend/vif >/dev/null 2>&1
	xenstore-rm /local/domain/0/backend/vbd >/dev/null 2>&1
}

# Whether the kernel backends stayed away (meaningful in the pvbackd suite).
kernel_backends_loaded() {
	local m n=
	for m in xen_netback xen_blkback; do [ -d "/sys/module/$m" ] && n="$n $m"; done
	echo "${n:- none}"
}

# scn_create BACKEND N NAME: xl create of guest N, up to a working command channel.
scn_create() {
	local be=$1 n=$2
	local name=$be/$3 cfg disk t0 rc t_create t_ready fe_vif fe_vbd be_vif be_vbd hp master
	cfg=/srv/e2e/$be-$n.cfg
	disk=/srv/e2e/$be-disk$n.img
	rm -f "$disk"
	truncate -s "${DISK_IMG_MIB}M" "$disk"
	cat >"$cfg" <<-CFG
		name = "e2e-$be-$n"
		kernel = "$E2E/guest-vmlinux"
		ramdisk = "$E2E/guest-initramfs.gz"
		extra = "console=hvc0 loglevel=4"
		memory = $GUEST_MEM_MIB
		vcpus = $GUEST_VCPUS
		vif = [ 'bridge=xenbr0,mac=$GUEST_MAC' ]
		disk = [ '$disk,raw,xvda,w' ]
		on_poweroff = "destroy"
		on_reboot = "destroy"
		on_crash = "destroy"
	CFG
	ip neigh flush dev xenbr0 2>/dev/null
	DOMID=
	t0=$(now)
	timeout 240 xl -vvv create "$cfg" >"$RES/$be-$n-xl-create.log" 2>&1
	rc=$?
	t_create=$(since "$t0")
	if [ "$rc" -ne 0 ]; then
		report "$name" FAIL "xl create exited $rc after ${t_create}s ($(tail -n 2 "$RES/$be-$n-xl-create.log" |
			tr '\n' ' ' | cut -c1-160)) log: results/$be-$n-xl-create.log $(fail_dump "$name")"
		xl destroy "e2e-$be-$n" >/dev/null 2>&1
		return 1
	fi
	DOMID=$(xl domid "e2e-$be-$n")
	if wait_guest 240; then t_ready=$(since "$t0"); else t_ready=timeout; fi
	fe_vif=$(xs "/local/domain/$DOMID/device/vif/0/state")
	fe_vbd=$(xs "/local/domain/$DOMID/device/vbd/51712/state")
	be_vif=$(xs "/local/domain/0/backend/vif/$DOMID/0/state")
	be_vbd=$(xs "/local/domain/0/backend/vbd/$DOMID/51712/state")
	hp=$(xs "/local/domain/0/backend/vif/$DOMID/0/hotplug-status")
	master=$(ip -o link show "vif$DOMID.0" 2>/dev/null | grep -o 'master [^ ]*' | cut -d' ' -f2)
	local figs
	figs="domid=$DOMID xl_create_s=$t_create guest_ready_s=$t_ready states(fe/be): vif=$fe_vif/$be_vif vbd=$fe_vbd/$be_vbd vif-bridge: vif$DOMID.0 master=${master:-none} hotplug=${hp:-none} kernel_backends_loaded=$(kernel_backends_loaded)"
	if [ "$t_ready" != timeout ] && [ "$fe_vif$be_vif$fe_vbd$be_vbd" = 4444 ] &&
		[ "$master" = xenbr0 ] && [ "$hp" = connected ] &&
		{ [ "$be" = kernel ] || [ "$(kernel_backends_loaded)" = " none" ]; }; then
		report "$name" PASS "$figs"
		return 0
	fi
	report "$name" FAIL "$figs $(fail_dump "$name")"
	# A guest that answers still runs the scenarios: a disk that never
	# connects must not hide what the network does, and vice versa.
	[ "$t_ready" != timeout ] && return 0
	xl destroy "$DOMID" >/dev/null 2>&1
	DOMID=
	return 1
}

scn_ping() {
	local be=$1 out loss avg gout gloss gavg
	out=$(busybox ping -c 5 -i 0.2 -W 3 "$GUEST_IP" 2>&1)
	loss=$(echo "$out" | sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p')
	avg=$(echo "$out" | sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p')
	gout=$(gx "pingavg $DOM0_IP 5" 60)
	gloss=$(field loss "$gout")
	gavg=$(field avg_ms "$gout")
	local figs
	figs="dom0->guest loss=${loss:-?}% avg=${avg:-?}ms guest->dom0 loss=${gloss:-?}% avg=${gavg:-?}ms"
	if [ "${loss:-100}" = 0 ] && [ "${gloss:-100}" = 0 ]; then
		report "$be/ping" PASS "$figs"
	else
		report "$be/ping" FAIL "$figs $(fail_dump "$be/ping")"
	fi
}

# Counter snapshots around a transfer: dom0's backend interrupts, packets on
# dom0's side of the vif, and the guest's netfront interrupts.
snap() {
	S_D0IRQ=$(be_irqs "$1" "$DOMID")
	S_PKTS=$(vif_packets "vif$DOMID.0")
	gx irqs 30 >"$RES/$1-guest-irqs-before.txt"
	S_GIRQ=$(guest_irqsum '^vif0-' "$(cat "$RES/$1-guest-irqs-before.txt")")
}
snap_delta() {
	local d0 pk gi
	d0=$(($(be_irqs "$1" "$DOMID") - S_D0IRQ))
	pk=$(($(vif_packets "vif$DOMID.0") - S_PKTS))
	gx irqs 30 >"$RES/$1-guest-irqs-after.txt"
	gi=$(($(guest_irqsum '^vif0-' "$(cat "$RES/$1-guest-irqs-after.txt")") - S_GIRQ))
	D_PKTS=$pk
	D_D0IRQ_PER_PKT=$(div "$d0" "$pk" "%.3f")
	D_GIRQ_PER_PKT=$(div "$gi" "$pk" "%.3f")
}

scn_tcp_g2d() {
	local be=$1 name=$1/tcp-guest-to-dom0 gout want got t0 secs rate
	gout=$(gx "mkpayload $NET_MIB" 600)
	want=$(field sum "$gout")
	rm -f /tmp/rx.g2d
	(socat -u TCP-LISTEN:7101,reuseaddr - 2>/dev/null | sha256sum | cut -c1-64 >/tmp/rx.g2d.part &&
		mv /tmp/rx.g2d.part /tmp/rx.g2d) &
	sleep 0.5
	snap "$be"
	t0=$(now)
	gout=$(gx "sendfile $DOM0_IP 7101 /tmp/payload" 900)
	wait_until 120 test -s /tmp/rx.g2d
	secs=$(since "$t0")
	got=$(cat /tmp/rx.g2d 2>/dev/null)
	fuser -k -n tcp 7101 >/dev/null 2>&1
	snap_delta "$be"
	rate=$(mibps "$NET_MIB" "$secs")
	local figs
	figs="${NET_MIB}MiB in ${secs}s = ${rate}MiB/s digest=${got:0:16}/${want:0:16} packets=$D_PKTS dom0_irq/pkt=$D_D0IRQ_PER_PKT guest_irq/pkt=$D_GIRQ_PER_PKT"
	if [ -n "$want" ] && [ "$got" = "$want" ]; then
		FIG[$be.g2d]=$rate
		FIG[$be.g2d_d0irq]=$D_D0IRQ_PER_PKT
		FIG[$be.g2d_girq]=$D_GIRQ_PER_PKT
		report "$name" PASS "$figs"
	else
		report "$name" FAIL "$figs $(fail_dump "$name")"
	fi
}

scn_tcp_d2g() {
	local be=$1 name=$1/tcp-dom0-to-guest want got t0 secs rate rc
	want=$(cat /tmp/payload.sum)
	gx "recv 7102" 30 >/dev/null
	snap "$be"
	t0=$(now)
	timeout 900 socat -u FILE:/tmp/payload "TCP:$GUEST_IP:7102" 2>"$RES/$be-d2g-socat.err"
	rc=$?
	got=$(gx "waitfile /tmp/rx.7102 120" 130)
	secs=$(since "$t0")
	snap_delta "$be"
	rate=$(mibps "$NET_MIB" "$secs")
	local figs
	figs="${NET_MIB}MiB in ${secs}s = ${rate}MiB/s digest=${got:0:16}/${want:0:16} packets=$D_PKTS dom0_irq/pkt=$D_D0IRQ_PER_PKT guest_irq/pkt=$D_GIRQ_PER_PKT"
	if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then
		FIG[$be.d2g]=$rate
		FIG[$be.d2g_d0irq]=$D_D0IRQ_PER_PKT
		FIG[$be.d2g_girq]=$D_GIRQ_PER_PKT
		report "$name" PASS "$figs"
	else
		report "$name" FAIL "socat_rc=$rc $figs $(fail_dump "$name")"
	fi
}

scn_queues() {
	local be=$1 name=$1/queues nq maxq gq before after q0 q1 i total_g2d=0 total_d2g want_bytes n
	nq=$(xs "/local/domain/$DOMID/device/vif/0/multi-queue-num-queues")
	maxq=$(xs "/local/domain/0/backend/vif/$DOMID/0/multi-queue-max-queues")
	gq=$(gx 'set -- /sys/class/net/eth0/queues/tx-*; echo $#' 30)
	before=$(gx irqs 30)
	want_bytes=$((QUEUE_FLOWS * QUEUE_FLOW_MIB * 1048576))
	rm -f /tmp/flow.*
	for i in $(seq 0 $((QUEUE_FLOWS - 1))); do
		(socat -u "TCP-LISTEN:$((7200 + i)),reuseaddr" - 2>/dev/null | wc -c >"/tmp/flow.$i.part" &&
			mv "/tmp/flow.$i.part" "/tmp/flow.$i") &
	done
	sleep 0.5
	gx "flows_send $DOM0_IP 7200 $QUEUE_FLOWS $QUEUE_FLOW_MIB" 600 >/dev/null
	for i in $(seq 0 $((QUEUE_FLOWS - 1))); do
		wait_until 60 test -s "/tmp/flow.$i"
		n=$(cat "/tmp/flow.$i" 2>/dev/null)
		total_g2d=$((total_g2d + ${n:-0}))
		fuser -k -n tcp $((7200 + i)) >/dev/null 2>&1
	done
	gx "flows_recv 7300 $QUEUE_FLOWS" 30 >/dev/null
	for i in $(seq 0 $((QUEUE_FLOWS - 1))); do
		head -c "$((QUEUE_FLOW_MIB * 1048576))" /tmp/payload |
			timeout 300 socat -u - "TCP:$GUEST_IP:$((7300 + i))" 2>/dev/null &
	done
	wait_until 300 not pgrep -x socat
	total_d2g=$(field bytes "$(gx "flows_total 7300 $QUEUE_FLOWS 60" 90)")
	after=$(gx irqs 30)
	q0=$(($(guest_irqsum '^vif0-q0' "$after") - $(guest_irqsum '^vif0-q0' "$before")))
	q1=$(($(guest_irqsum '^vif0-q1' "$after") - $(guest_irqsum '^vif0-q1' "$before")))
	local figs
	figs="backend_max=${maxq:-none} negotiated=${nq:-none} guest_tx_queues=$gq flows=${QUEUE_FLOWS}x${QUEUE_FLOW_MIB}MiB each way bytes g2d=$total_g2d d2g=${total_d2g:-?} guest_irqs q0=$q0 q1=$q1"
	if [ "$nq" = 2 ] && [ "$gq" = 2 ] && [ "$q0" -gt 0 ] && [ "$q1" -gt 0 ] &&
		[ "$total_g2d" = "$want_bytes" ] && [ "${total_d2g:-0}" = "$want_bytes" ]; then
		report "$name" PASS "$figs"
	else
		report "$name" FAIL "$figs $(fail_dump "$name")"
	fi
}

scn_disk() {
	local be=$1 name=$1/disk out rc w r rb fsck files wr rr fq pers ind
	out=$(gx "disk_test /dev/xvda $DISK_MIB" 1200)
	rc=$?
	printf '%s\n' "$out" >"$RES/$be-disk-guest-output.txt"
	printf '%s\n' "$out" | sed -n 's/^M //p' >"$RES/$be-disk-manifest.txt"
	w=$(field write_s "$out")
	r=$(field read_s "$out")
	rb=$(field readback "$out")
	fsck=$(field fsck_rc "$out")
	files=$(field files "$out")
	wr=$(mibps "$DISK_MIB" "${w:-0}")
	rr=$(mibps "$DISK_MIB" "${r:-0}")
	fq=$(xs "/local/domain/$DOMID/device/vbd/51712/multi-queue-num-queues")
	pers=$(xs "/local/domain/0/backend/vbd/$DOMID/51712/feature-persistent")
	ind=$(xs "/local/domain/0/backend/vbd/$DOMID/51712/feature-max-indirect-segments")
	local figs
	figs="mkfs_s=$(field mkfs_s "$out") write+sync ${DISK_MIB}MiB+64x16KiB in ${w:-?}s = ${wr}MiB/s read ${r:-?}s = ${rr}MiB/s readback=${rb:-?} files=${files:-?} fsck_rc=${fsck:-?} blkif queues=${fq:-1} persistent=${pers:-0} indirect=${ind:-0}"
	if [ "$rc" -eq 0 ] && [ "$rb" = match ] && [ "$fsck" = 0 ]; then
		FIG[$be.dw]=$wr
		FIG[$be.dr]=$rr
		report "$name" PASS "$figs"
	else
		report "$name" FAIL "guest_rc=$rc $figs (guest output: results/$be-disk-guest-output.txt) $(fail_dump "$name")"
	fi
}

scn_hotplug_net() {
	local be=$1 name=$1/hotplug-net t0 rc1 rc2 gout loss master gone_g gone_d gone_x
	t0=$(now)
	timeout 90 xl network-attach "$DOMID" bridge=xenbr0 "mac=$GUEST_MAC2" >"$RES/$be-network-attach.log" 2>&1
	rc1=$?
	wait_until 30 test -e "/sys/class/net/vif$DOMID.1"
	gout=$(gx "ifaddr eth1 $GUEST_IP2/24 && pingavg $DOM0_IP2 3" 90)
	loss=$(field loss "$gout")
	master=$(ip -o link show "vif$DOMID.1" 2>/dev/null | grep -o 'master [^ ]*' | cut -d' ' -f2)
	timeout 90 xl network-detach "$DOMID" 1 >"$RES/$be-network-detach.log" 2>&1
	rc2=$?
	gx "waitgone /sys/class/net/eth1 30" 40 >/dev/null && gone_g=yes || gone_g=no
	wait_until 30 not test -e "/sys/class/net/vif$DOMID.1" && gone_d=yes || gone_d=no
	wait_until 30 not xs_exists "/local/domain/0/backend/vif/$DOMID/1" && gone_x=yes || gone_x=no
	local figs
	figs="attach_rc=$rc1 vif$DOMID.1 master=${master:-none} eth1 ping loss=${loss:-?}% detach_rc=$rc2 removed: guest_eth1=$gone_g dom0_vif=$gone_d xenstore=$gone_x total_s=$(since "$t0")"
	if [ "$rc1" = 0 ] && [ "$rc2" = 0 ] && [ "$master" = xenbr0 ] && [ "${loss:-100}" = 0 ] &&
		[ "$gone_g$gone_d$gone_x" = yesyesyes ]; then
		report "$name" PASS "$figs"
	else
		report "$name" FAIL "$figs $(fail_dump "$name")"
	fi
}

scn_hotplug_disk() {
	local be=$1 name=$1/hotplug-disk disk t0 rc1 rc2 gout wsum rsum bsum gone_g gone_x
	disk=/srv/e2e/$be-hot.img
	rm -f "$disk"
	truncate -s 64M "$disk"
	t0=$(now)
	timeout 90 xl block-attach "$DOMID" "$disk,raw,xvdb,w" >"$RES/$be-block-attach.log" 2>&1
	rc1=$?
	gout=$(gx "waitfile /sys/block/xvdb/size 30 >/dev/null && blk_rw /dev/xvdb $HOTPLUG_DISK_MIB" 300)
	wsum=$(field written "$gout")
	rsum=$(field read "$gout")
	timeout 90 xl block-detach "$DOMID" xvdb >"$RES/$be-block-detach.log" 2>&1
	rc2=$?
	gx "waitgone /sys/block/xvdb 30" 40 >/dev/null && gone_g=yes || gone_g=no
	wait_until 30 not xs_exists "/local/domain/0/backend/vbd/$DOMID/51728" && gone_x=yes || gone_x=no
	bsum=$(head -c "$((HOTPLUG_DISK_MIB * 1048576))" "$disk" | sha256sum | cut -c1-64)
	local figs
	figs="attach_rc=$rc1 xvdb ${HOTPLUG_DISK_MIB}MiB written/read/backing-file digests ${wsum:0:12}/${rsum:0:12}/${bsum:0:12} detach_rc=$rc2 removed: guest_xvdb=$gone_g xenstore=$gone_x total_s=$(since "$t0")"
	if [ "$rc1" = 0 ] && [ "$rc2" = 0 ] && [ -n "$wsum" ] && [ "$wsum" = "$rsum" ] && [ "$wsum" = "$bsum" ] &&
		[ "$gone_g$gone_x" = yesyes ]; then
		report "$name" PASS "$figs"
	else
		report "$name" FAIL "$figs $(fail_dump "$name")"
	fi
}

# Clean shutdown of guest 1, then its disk checked from dom0 through the
# backing file alone: fsck, and every file's digest against the guest's manifest.
scn_shutdown() {
	local be=$1 name=$1/shutdown disk t0 rc secs fsck ok total
	disk=/srv/e2e/$be-disk1.img
	t0=$(now)
	timeout 120 xl shutdown -w "$DOMID" >"$RES/$be-shutdown.log" 2>&1
	rc=$?
	secs=$(since "$t0")
	if [ "$rc" -ne 0 ]; then
		report "$name" FAIL "xl shutdown -w exited $rc after ${secs}s $(fail_dump "$name")"
		xl destroy "$DOMID" >/dev/null 2>&1
		return
	fi
	e2fsck -fn "$disk" >"$RES/$be-backing-fsck.txt" 2>&1
	fsck=$?
	total=$(wc -l <"$RES/$be-disk-manifest.txt")
	ok=0
	mkdir -p /mnt/e2e
	if mount -o ro,loop "$disk" /mnt/e2e 2>>"$RES/$be-backing-fsck.txt"; then
		ok=$(cd /mnt/e2e && sha256sum -c "$RES/$be-disk-manifest.txt" 2>/dev/null | grep -c ': OK$')
		umount /mnt/e2e
	fi
	local figs
	figs="xl_shutdown_s=$secs backing file: fsck_rc=$fsck files_verified=$ok/$total"
	if [ "$fsck" = 0 ] && [ "$total" -gt 0 ] && [ "$ok" = "$total" ]; then
		report "$name" PASS "$figs"
	else
		report "$name" FAIL "$figs (fsck: results/$be-backing-fsck.txt) $(fail_dump "$name")"
	fi
	DOMID=
}

scn_restart() {
	local old=$PVBACKD_PID t0 st
	t0=$(now)
	kill -TERM "$old" 2>/dev/null
	if wait_until 30 not kill -0 "$old"; then
		wait "$old"
		st=$?
	else
		st=timeout
		kill -KILL "$old" 2>/dev/null
	fi
	local secs
	secs=$(since "$t0")
	echo "--- restart ---" >>"$RES/pvbackd.log"
	/usr/sbin/pvbackd --foreground --log-level debug >>"$RES/pvbackd.log" 2>&1 &
	PVBACKD_PID=$!
	sleep 1
	if [ "$st" = 0 ] && kill -0 "$PVBACKD_PID" 2>/dev/null; then
		report pvbackd/restart PASS "SIGTERM exit=$st in ${secs}s, new pid=$PVBACKD_PID (the next guest must be served by it)"
	else
		report pvbackd/restart FAIL "SIGTERM exit=$st in ${secs}s, new pid alive=$(kill -0 "$PVBACKD_PID" 2>/dev/null && echo yes || echo no) (log: results/pvbackd.log)"
	fi
}

# Counters that must come back after the destroyed guest is gone.
leak_baseline() {
	L_THREADS=- L_FDS=- L_GNT=-
	if [ "$1" = pvbackd ] && [ -n "$PVBACKD_PID" ] && [ -d "/proc/$PVBACKD_PID" ]; then
		L_THREADS=$(find "/proc/$PVBACKD_PID/task" -mindepth 1 -maxdepth 1 | wc -l)
		L_FDS=$(find "/proc/$PVBACKD_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
		L_GNT=$(grep -c gntdev "/proc/$PVBACKD_PID/maps")
	fi
}

scn_destroy() {
	local be=$1 name=$1/destroy d=$DOMID t0 rc taps evt kth loops xsb xsd thr=- fds=- gnt=- ok=1
	t0=$(now)
	timeout 60 xl destroy "$d" >"$RES/$be-destroy.log" 2>&1
	rc=$?
	wait_until 20 not xs_exists "/local/domain/0/backend/vif/$d"
	wait_until 20 not xs_exists "/local/domain/0/backend/vbd/$d"
	sleep 1
	taps=$(ip -o link show | grep -c ": vif$d\.")
	evt=$(lsevtchn 0 2>/dev/null | grep -ciE "dom(ain)?[ :=]*$d([^0-9]|$)")
	kth=$(pgrep -c "^(vif$d\.|blkback\.$d\.|xen-blkback\.$d)")
	loops=$(losetup -a 2>/dev/null | grep -c "$be-disk2")
	xsb=$( (xs_exists "/local/domain/0/backend/vif/$d" || xs_exists "/local/domain/0/backend/vbd/$d") && echo yes || echo no)
	xsd=$(xs_exists "/local/domain/$d" && echo yes || echo no)
	if [ "$be" = pvbackd ] && [ -d "/proc/$PVBACKD_PID" ]; then
		thr=$(find "/proc/$PVBACKD_PID/task" -mindepth 1 -maxdepth 1 | wc -l)
		fds=$(find "/proc/$PVBACKD_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
		gnt=$(grep -c gntdev "/proc/$PVBACKD_PID/maps")
		[ "$thr" = "$L_THREADS" ] && [ "$fds" = "$L_FDS" ] && [ "$gnt" = "$L_GNT" ] || ok=0
	fi
	[ "$rc" = 0 ] && [ "$taps$evt$kth$loops" = 0000 ] && [ "$xsb$xsd" = nono ] || ok=0
	local figs
	figs="xl_destroy_rc=$rc in $(since "$t0")s left behind: netdevs=$taps evtchns=$evt kthreads=$kth loops=$loops xenstore_backend=$xsb xenstore_domain=$xsd pvbackd threads=$L_THREADS->$thr fds=$L_FDS->$fds gntdev_maps=$L_GNT->$gnt"
	if [ "$ok" = 1 ]; then
		report "$name" PASS "$figs"
	else
		report "$name" FAIL "$figs $(fail_dump "$name")"
	fi
	DOMID=
}

# pvbackd's figures as ratios of the kernel backends' in the same boot.
compare_suites() {
	local k ok=1 out=
	for k in g2d d2g g2d_d0irq d2g_d0irq g2d_girq d2g_girq; do
		if [ -n "${FIG[pvbackd.$k]:-}" ] && [ -n "${FIG[kernel.$k]:-}" ]; then
			out="$out $k=$(div "${FIG[pvbackd.$k]}" "${FIG[kernel.$k]}")(${FIG[pvbackd.$k]}/${FIG[kernel.$k]})"
		else
			out="$out $k=?(${FIG[pvbackd.$k]:-none}/${FIG[kernel.$k]:-none})"
			ok=0
		fi
	done
	report compare/net "$([ "$ok" = 1 ] && echo PASS || echo FAIL)" "pvbackd/kernel:$out"
	ok=1
	out=
	for k in dw dr; do
		if [ -n "${FIG[pvbackd.$k]:-}" ] && [ -n "${FIG[kernel.$k]:-}" ]; then
			out="$out $k=$(div "${FIG[pvbackd.$k]}" "${FIG[kernel.$k]}")(${FIG[pvbackd.$k]}/${FIG[kernel.$k]}MiB/s)"
		else
			out="$out $k=?(${FIG[pvbackd.$k]:-none}/${FIG[kernel.$k]:-none})"
			ok=0
		fi
	done
	report compare/disk "$([ "$ok" = 1 ] && echo PASS || echo FAIL)" "pvbackd/kernel:$out"
}
