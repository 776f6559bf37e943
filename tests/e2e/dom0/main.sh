#!/bin/bash
# The e2e run inside dom0 (PID 1, switched to by dom0/initrd-init): starts the Xen
# toolstack the way Debian's init script does, runs the scenarios against
# pvbackd and then against the kernel backends, prints one "e2e:" line per
# scenario, writes the results to the results disk and powers the machine off.
# It must never exit: PID 1 exiting panics dom0 and loses the results.
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/xen-4.17/bin
E2E=/run/e2e
RES=$E2E/results
mkdir -p "$RES"
# shellcheck source=tests/e2e/dom0/config.sh
. "$E2E/dom0/config.sh"
# shellcheck source=tests/e2e/dom0/lib.sh
. "$E2E/dom0/lib.sh"
# shellcheck source=tests/e2e/dom0/scenarios.sh
. "$E2E/dom0/scenarios.sh"

# Results go out as a tar stream on the third disk; the host unpacks it.
save_results() {
	local f
	cp /var/log/xen/console/*.log "$RES/" 2>/dev/null
	cp /var/log/xen/*.log "$RES/" 2>/dev/null
	cp /var/log/xen/syslog.log* "$RES/" 2>/dev/null
	dmesg >"$RES/dom0-dmesg.txt" 2>&1
	xl dmesg >"$RES/xen-dmesg.txt" 2>&1
	for f in "$RES"/*; do [ -s "$f" ] || rm -f "$f"; done
	local s dev=
	for s in /sys/block/vd*/serial; do
		[ "$(cat "$s" 2>/dev/null)" = e2e-results ] && dev=/dev/$(basename "$(dirname "$s")")
	done
	[ -n "$dev" ] || { echo "e2e: dom0: no results disk (serial e2e-results)"; return 1; }
	tar -C "$RES" -cf "$dev" . && sync
}

power_off() {
	echo "e2e: dom0: powering off"
	sync
	echo o >/proc/sysrq-trigger
	sleep 30
}

boot_toolstack() {
	local t0 i
	mkdir -p /dev/pts /dev/shm
	mount -t devpts -o gid=5,mode=620 devpts /dev/pts
	mount -t tmpfs tmpfs /dev/shm
	mount -t tmpfs tmpfs /tmp
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	# What udev/systemd would create: the hotplug scripts' lock (locking.sh)
	# stats /dev/stdin and spins forever without it.
	ln -sfn /proc/self/fd /dev/fd
	ln -sfn /proc/self/fd/0 /dev/stdin
	ln -sfn /proc/self/fd/1 /dev/stdout
	ln -sfn /proc/self/fd/2 /dev/stderr
	# The hotplug scripts log through syslog; keep it for the results.
	busybox syslogd -O /var/log/xen/syslog.log
	dmesg -n 1
	hostname pvback-dom0
	ip link set lo up
	modprobe xenfs 2>/dev/null
	mount -t xenfs xenfs /proc/xen || return 1
	grep -q control_d /proc/xen/capabilities || { echo "not the control domain"; return 1; }
	for m in xen-evtchn xen-gntdev xen-gntalloc xen-privcmd loop tun bridge; do
		modprobe "$m" 2>/dev/null
	done
	# This run's project build, staged by `make install PREFIX=/usr DESTDIR=…`.
	tar -C / -xf "$E2E/project.tar" || return 1
	cp /usr/share/pvback/pvback-kernel-backends.conf /etc/modprobe.d/pvback.conf || return 1
	mkdir -p /run/xen /run/xenstored /var/lib/xen /var/log/xen/console /srv/e2e
	chmod 700 /run/xen
	XENSTORED_ROOTDIR=/run/xenstored /usr/lib/xen-4.17/bin/oxenstored --pid-file /run/xenstore.pid ||
		return 1
	i=0
	until xenstore-read -s / >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -gt 300 ] && { echo "xenstored did not answer in 30 s"; return 1; }
		sleep 0.1
	done
	/usr/lib/xen-4.17/bin/xen-init-dom0 >/dev/null || return 1
	/usr/lib/xen-4.17/bin/xenconsoled --pid-file /run/xenconsoled.pid --log=guest \
		--log-dir=/var/log/xen/console || return 1
	# udev as on a real host: it would autoload xen-netback/xen-blkback through
	# the xen-backend:* aliases if the blacklist did not hold.
	/lib/systemd/systemd-udevd --daemon 2>/dev/null
	ip link add xenbr0 type bridge stp_state 0 forward_delay 0 || return 1
	ip addr add "$DOM0_IP/24" dev xenbr0
	ip addr add "$DOM0_IP2/24" dev xenbr0
	ip link set xenbr0 up
	t0=$(cut -d' ' -f1 /proc/uptime)
	xl info >"$RES/xl-info.txt" 2>&1 || return 1
	echo "toolstack_at=${t0}s"
}

# A watchdog inside dom0: whatever hangs, the results still leave the VM.
start_watchdog() {
	(
		sleep "$DOM0_DEADLINE_S"
		report dom0/deadline FAIL "the run exceeded ${DOM0_DEADLINE_S} s inside dom0; results saved as they were"
		save_results
		power_off
	) &
}

main() {
	local out s
	echo "e2e: dom0: init started at $(cut -d' ' -f1 /proc/uptime) s (kernel $(uname -r))"
	start_watchdog
	if out=$(boot_toolstack 2>&1); then
		report dom0/toolstack PASS "$out xen=$(xl info 2>/dev/null | awk '/^xen_version/ {print $3}')"
		mkpayload_dom0
		if [ -x "$E2E/dom0/hook.sh" ]; then
			echo "e2e: dom0: running the hook script (PVBACK_E2E_HOOK)"
			"$E2E/dom0/hook.sh" >"$RES/hook.log" 2>&1
		fi
		for s in $SUITES; do run_suite "$s"; done
		compare_suites
	else
		report dom0/toolstack FAIL "$(echo "$out" | tail -n 3 | tr '\n' ' ')"
	fi
	summary
	save_results
	power_off
}

main "$@" 2>&1 | tee -a "$RES/dom0-run.log" >/dev/console
power_off
