#!/bin/bash
# The real-Xen end-to-end run: Xen 4.17 + a Debian dom0 under QEMU (TCG), the
# stock Linux netfront/blkfront in PV guests, pvbackd and then the kernel
# backends serving them. Prints one "e2e: <scenario>: PASS|FAIL <figures>" line
# per scenario and exits non-zero if any failed. See tests/e2e/README.md.
set -eu
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# Outside the checkout: a concurrent `make clean` must not take a running log away.
OUT_ROOT=${PVBACK_E2E_OUT:-/var/tmp/pvback-e2e}
TIME_LIMIT_S=${PVBACK_E2E_TIME_LIMIT:-1680}
QEMU_PID=
SHOWN=0
VM_SECONDS=0
RUN=
SCRATCH=

cleanup() {
	local rc=$?
	[ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null && wait "$QEMU_PID" 2>/dev/null
	[ -n "$SCRATCH" ] && rm -rf "$SCRATCH"
	return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The per-run layer: this checkout's build installed into a staging root, the
# dom0 scenario scripts, the guest initramfs (cached base + guest/ files), and
# dom0's small initrd that mounts the cached root and unpacks all this.
make_payload() {
	local img=$1 p=$SCRATCH/payload g=$SCRATCH/guest
	mkdir -p "$p/dom0" "$SCRATCH/stage"
	e2e_log "installing this checkout's build into a staging root (make install PREFIX=/usr)"
	make -s -C "$E2E_SRC" install PREFIX=/usr DESTDIR="$SCRATCH/stage" >"$RUN/make-install.log" 2>&1 ||
		e2e_die "make install failed; see $RUN/make-install.log"
	check_sonames "$img/sonames" "$SCRATCH/stage"
	tar -C "$SCRATCH/stage" -cf "$p/project.tar" .
	cp "$E2E_DIR"/dom0/*.sh "$p/dom0/"
	# Overrides for sizes and the suites to run (see config.sh), and an
	# optional script dom0 runs before the suites (for debugging a run).
	env | grep -E '^PVBACK_E2E_([A-Z_]*MIB|QUEUE_FLOWS|SUITES)=' | sed 's/^PVBACK_E2E_//; s/=\(.*\)/="\1"/' \
		>>"$p/dom0/config.sh" || true
	if [ -n "${PVBACK_E2E_HOOK:-}" ]; then
		install -m 0755 "$PVBACK_E2E_HOOK" "$p/dom0/hook.sh"
	fi
	chmod 0755 "$p/dom0/main.sh"
	cp -a "$img/guest-base" "$g"
	# e2fsprogs apart from busybox's own mke2fs applet, which --install links.
	mkdir -p "$g/lib" "$g/e2fs"
	mv "$g/sbin/mke2fs" "$g/sbin/e2fsck" "$g/e2fs/"
	install -m 0755 "$E2E_DIR/guest/init" "$g/init"
	install -m 0755 "$E2E_DIR/guest/guest-cmd" "$g/bin/guest-cmd"
	install -m 0644 "$E2E_DIR/guest/guest-fns.sh" "$g/lib/guest-fns.sh"
	(cd "$g" && find . | cpio -o -H newc --quiet | gzip -1) >"$p/guest-initramfs.gz"
	extract_vmlinux "$img/vmlinuz" "$p/guest-vmlinux"
	tar -C "$p" -cf "$SCRATCH/payload.img" .
	cp -a "$img/dom0-initrd-base" "$SCRATCH/initrd"
	install -m 0755 "$E2E_DIR/dom0/initrd-init" "$SCRATCH/initrd/init"
	(cd "$SCRATCH/initrd" && find . | cpio -o -H newc --quiet | gzip -1) >"$SCRATCH/dom0-initrd.gz"
}

# Every library the installed binaries link must be in the image; otherwise
# they would fail inside dom0 with status 127 and every scenario after.
check_sonames() {
	local have=$1 stage=$2 bin lib missing=""
	[ -s "$have" ] || e2e_die "$have is missing or empty: rebuild the image (rm -rf $(dirname "$have"))"
	for bin in "$stage"/usr/sbin/* "$stage"/usr/bin/*; do
		[ -f "$bin" ] && head -c 4 "$bin" | grep -q ELF || continue
		for lib in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			grep -qxF "$lib" "$have" || missing="$missing $(basename "$bin"):$lib"
		done
	done
	[ -z "$missing" ] ||
		e2e_die "the dom0 image lacks libraries the build links:$missing (add their packages to DOM0_PACKAGES in build-image.sh)"
}

# Prints the serial console's new "e2e:" lines (dom0 writes them on hvc0).
show_progress() {
	local lines
	lines=$(tr -d '\r' <"$RUN/serial.log" | grep -o 'e2e: .*' || true)
	[ -n "$lines" ] || return 0
	printf '%s\n' "$lines" | tail -n +$((SHOWN + 1))
	SHOWN=$(printf '%s\n' "$lines" | wc -l)
}

# The guests boot the same kernel as dom0, but as the plain ELF inside the
# bzImage: libxl's domain builder then copies it instead of running the xz
# decompressor, which costs tens of seconds per guest under TCG.
extract_vmlinux() {
	local off
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$1" | head -n1 | cut -d: -f1)
	[ -n "$off" ] || e2e_die "no xz stream in $1 (cannot extract the guest vmlinux)"
	tail -c +$((off + 1)) "$1" | xz -dc >"$2" 2>/dev/null || true
	[ "$(head -c 4 "$2" | od -An -c | tr -d ' ')" = 177ELF ] ||
		e2e_die "extracting the ELF kernel from $1 failed"
}

boot_vm() {
	local img=$1 xen_cmdline dom0_cmdline
	xen_cmdline="dom0_mem=1024M,max:1024M dom0_max_vcpus=2 console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all bootscrub=0"
	dom0_cmdline="console=hvc0 loglevel=4"
	truncate -s 256M "$SCRATCH/results.img"
	# -nic none: the VM has no network to the outside; every address used in
	# the run lives on dom0's private bridge.
	qemu-system-x86_64 -machine q35,accel=tcg -cpu qemu64,+svm -m 2048 -smp 2 \
		-display none -no-reboot -monitor none -serial stdio -nic none \
		-kernel "$img/xen" -append "$xen_cmdline" \
		-initrd "$img/vmlinuz $dom0_cmdline,$SCRATCH/dom0-initrd.gz" \
		-drive "file=$img/rootfs.img,if=none,id=root,format=raw,cache=unsafe,snapshot=on" \
		-device virtio-blk-pci,drive=root,serial=e2e-root \
		-drive "file=$SCRATCH/payload.img,if=none,id=payload,format=raw,readonly=on" \
		-device virtio-blk-pci,drive=payload,serial=e2e-payload \
		-drive "file=$SCRATCH/results.img,if=none,id=results,format=raw,cache=unsafe" \
		-device virtio-blk-pci,drive=results,serial=e2e-results \
		</dev/null >"$RUN/serial.log" 2>"$RUN/qemu.err" &
	QEMU_PID=$!
	local t=0
	SHOWN=0
	while kill -0 "$QEMU_PID" 2>/dev/null; do
		show_progress
		if [ "$t" -ge "$TIME_LIMIT_S" ]; then
			e2e_log "QEMU still running after $TIME_LIMIT_S s: stopping it (serial log: $RUN/serial.log)"
			kill "$QEMU_PID" 2>/dev/null
			break
		fi
		sleep 2
		t=$((t + 2))
	done
	wait "$QEMU_PID" 2>/dev/null || true
	QEMU_PID=
	show_progress
	VM_SECONDS=$t
}

main() {
	local img t0 t_img rc
	t0=$(date +%s)
	e2e_need_host_packages qemu-system-x86 debootstrap e2fsprogs cpio gzip xz-utils
	"$E2E_DIR/build-image.sh"
	img=$(e2e_image_dir)
	touch "$img/complete"
	t_img=$(($(date +%s) - t0))
	mkdir -p "$OUT_ROOT"
	RUN=$(mktemp -d "$OUT_ROOT/run-$(date +%Y%m%d-%H%M%S)-XXXX")
	ln -sfn "$(basename "$RUN")" "$OUT_ROOT/latest"
	SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/pvback-e2e.XXXXXX")
	make_payload "$img"
	e2e_log "booting Xen + dom0 under QEMU TCG (serial log: $RUN/serial.log)"
	boot_vm "$img"
	mkdir -p "$RUN/results"
	tar -C "$RUN/results" -xf "$SCRATCH/results.img" 2>/dev/null ||
		e2e_log "the results disk holds no results (dom0 did not finish); only the serial log is left"
	rc=0
	if [ ! -s "$RUN/results/summary.txt" ]; then
		tr -d '\r' <"$RUN/serial.log" | grep -o 'e2e: .*' >"$RUN/summary.txt" || true
		rc=1
	else
		cp "$RUN/results/summary.txt" "$RUN/summary.txt"
	fi
	grep -q ': FAIL' "$RUN/summary.txt" && rc=1
	if ! grep -qE '^e2e: [0-9]+ passed, [0-9]+ failed' "$RUN/summary.txt"; then
		rc=1
		printf 'e2e: run: FAIL the VM stopped before dom0 printed its summary; last serial lines:\n' |
			tee -a "$RUN/summary.txt"
		tr -d '\r' <"$RUN/serial.log" | tail -n 15 | sed 's/^/    /'
	fi
	e2e_log "image ${t_img}s (cache $img), VM ${VM_SECONDS}s, total $(($(date +%s) - t0))s"
	e2e_log "serial log: $RUN/serial.log; results (xenstore dumps, guest consoles, logs): $RUN/results/"
	if [ "$rc" -ne 0 ]; then
		e2e_log "FAILED: $(grep -c ': FAIL' "$RUN/summary.txt" || true) scenario(s) failed; see $RUN/summary.txt"
		[ "${CI:-}" = true ] && print_failure_files
	fi
	return "$rc"
}

# Under CI only the output is kept: the failure's own dumps go there, each
# cut to its end.
print_failure_files() {
	local f
	for f in "$RUN"/results/*-xenstore.txt "$RUN"/results/*-xl-create.log \
		"$RUN"/results/pvbackd.log "$RUN"/results/xen-hotplug.log "$RUN/serial.log"; do
		[ -f "$f" ] || continue
		printf '==== %s (last 80 lines)\n' "${f#"$RUN"/}"
		tr -d '\r' <"$f" | tail -n 80
	done
}

main "$@"
