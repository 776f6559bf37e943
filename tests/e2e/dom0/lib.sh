# Helpers of the dom0 side of the e2e run (sourced by main.sh): reporting,
# timing, the guest command channel, xenstore and counter snapshots, and the
# diagnostics saved on failure.
# shellcheck shell=bash

PASSED=0
FAILED=0

# report NAME PASS|FAIL FIGURES...: the one line per scenario the host greps.
report() {
	local name=$1 status=$2
	shift 2
	printf 'e2e: %s: %s %s\n' "$name" "$status" "$*" | tee -a "$RES/summary.txt"
	if [ "$status" = PASS ]; then PASSED=$((PASSED + 1)); else FAILED=$((FAILED + 1)); fi
}

summary() {
	printf 'e2e: %d passed, %d failed\n' "$PASSED" "$FAILED" | tee -a "$RES/summary.txt"
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
div() { awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN { if (b == 0) print "n/a"; else printf f, a / b }'; }
mibps() { div "$1" "$2" "%.1f"; }

# gx CMD [TIMEOUT]: run one shell line in the guest; its output on stdout, the
# guest's exit status as ours. Status 255: the channel itself failed.
gx() {
	local out rc
	# shellcheck disable=SC2016  # expanded by the inner bash
	out=$(timeout "${2:-60}" bash -c '
		exec 3<>"/dev/tcp/$0/$1" || exit 255
		printf "%s\n" "$2" >&3
		cat <&3' "$GUEST_IP" "$CMD_PORT" "$1" 2>/dev/null) || { [ -n "$out" ] || return 255; }
	rc=$(printf '%s\n' "$out" | sed -n 's/^rc=\([0-9]*\)$/\1/p' | tail -n1)
	printf '%s\n' "$out" | sed '$d'
	[ -n "$rc" ] || return 255
	return "$rc"
}

# field KEY TEXT: the value of "KEY=value" in TEXT.
field() { printf '%s\n' "$2" | sed -n "s/^$1=//p" | tail -n1; }

# wait_guest SECONDS: until the command channel answers.
wait_guest() {
	local deadline
	deadline=$(($(date +%s) + $1))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		gx true 5 >/dev/null 2>&1 && return 0
		sleep 1
	done
	return 1
}

# wait_until SECONDS CMD...: poll CMD every 0.2 s.
wait_until() {
	local deadline=$(($(date +%s) + $1))
	shift
	while ! "$@"; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}

xs() { xenstore-read "$1" 2>/dev/null; }
xs_exists() { xenstore-exists "$1" 2>/dev/null; }
not() { ! "$@"; }

# Sum of the interrupt counts of /proc/interrupts lines whose name matches ERE.
irqsum() {
	awk -v re="$1" '$NF ~ re { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' \
		/proc/interrupts
}

# Packets through dom0's side of the vif (kernel vif or pvbackd's TAP).
vif_packets() {
	local d=/sys/class/net/$1/statistics
	[ -d "$d" ] || { echo 0; return; }
	echo $(($(cat "$d/rx_packets") + $(cat "$d/tx_packets")))
}

# The event-channel interrupts dom0 takes for backend BE serving domain DOMID.
be_irqs() {
	case $1 in
	kernel) irqsum "^(vif$2\\.|blkif-backend|xen-blkback)" ;;
	# /dev/xen/evtchn names its IRQs evtchn:<comm of the opener>: the
	# queues open theirs on the worker threads (pvback-wN).
	pvbackd) irqsum '^evtchn:pvback' ;;
	esac
}

guest_irqsum() { printf '%s\n' "$2" | awk -v re="$1" '$1 ~ re { s += $2 } END { print s + 0 }'; }

# On failure: what is needed to read it without rerunning. Prints the paths.
fail_dump() {
	local tag=${1//\//-}
	xenstore-ls -fp >"$RES/$tag-xenstore.txt" 2>&1
	xl list >"$RES/$tag-xl-list.txt" 2>&1
	{
		ip -d link show
		echo
		lsevtchn 0 2>/dev/null || /usr/lib/xen-4.17/bin/lsevtchn 0
	} >"$RES/$tag-dom0-state.txt" 2>&1
	xl dmesg 2>/dev/null | tail -n 200 >"$RES/$tag-xen-dmesg.txt"
	dmesg | tail -n 200 >"$RES/$tag-dom0-dmesg.txt"
	printf 'dumps: results/%s-xenstore.txt results/%s-dom0-state.txt' "$tag" "$tag"
}
