#!/bin/bash
# Builds the cached base of the e2e run: a Debian 12 dom0 root image with Xen
# 4.17 and its toolstack, the hypervisor and dom0 kernel for QEMU's multiboot
# loader, and the pieces of the dom0 initrd and of the guest initramfs. Keyed by the hash of
# this file; the project build and the scenarios are layered in per run.
#   tests/e2e/build-image.sh          build unless the cache already has it
#   tests/e2e/build-image.sh --print  print the cache directory and exit
set -eu
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

SUITE=bookworm
# Everything dom0 needs: the hypervisor, xl and the stock hotplug scripts, the
# kernel (its netback/blkback are the side-by-side baseline), tools the
# scenarios use, and the runtime libraries of pvbackd.
DOM0_PACKAGES=(linux-image-amd64 initramfs-tools xen-hypervisor-4.17-amd64 xen-utils-4.17
	xenstore-utils busybox-static iproute2 kmod procps e2fsprogs socat ethtool psmisc
	liburing2 libjson-c5 libxenstore4 libxengnttab1 libxenevtchn1 libxentoolcore1)
# Kernel modules of the guest initramfs (the closure of their dependencies is
# taken from the kernel's own modules.dep).
GUEST_MODULES="xen-netfront xen-blkfront ext4 crc32c_generic"
IMAGE_SIZE=4G

# Kernel modules of dom0's own small initrd (built per run by run.sh): what
# it takes to mount the ext4 root from a virtio disk.
DOM0_INITRD_MODULES="virtio_pci virtio_blk ext4 crc32c_generic"

main() {
	local dest
	dest=$(e2e_image_dir)
	if [ "${1:-}" = "--print" ]; then
		printf '%s\n' "$dest"
		return 0
	fi
	if [ -f "$dest/complete" ]; then
		e2e_log "base image cached in $dest"
		return 0
	fi
	[ "$(id -u)" -eq 0 ] || e2e_die "building the dom0 image needs root (debootstrap, chroot)"
	e2e_need_host_packages debootstrap e2fsprogs cpio gzip
	mkdir -p "$E2E_CACHE_ROOT"
	WORK=$(mktemp -d "$E2E_CACHE_ROOT/build.XXXXXX")
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	local t0 root mirror
	t0=$(date +%s)
	root=$WORK/root
	mirror=$(e2e_debian_mirror)
	e2e_log "building the dom0 base image in $WORK (mirror $mirror; log $WORK/build.log)"
	if ! debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$WORK/build.log" 2>&1; then
		tail -n 20 "$WORK/build.log" >&2
		keep_log
		e2e_die "debootstrap failed; log kept in $E2E_CACHE_ROOT/last-build.log"
	fi
	e2e_log "debootstrap done after $(($(date +%s) - t0)) s"
	install_packages "$root" || {
		tail -n 30 "$WORK/build.log" >&2
		keep_log
		e2e_die "package installation in the chroot failed; log kept in $E2E_CACHE_ROOT/last-build.log"
	}
	e2e_log "chroot installation done after $(($(date +%s) - t0)) s"
	configure_root "$root"
	mkdir -p "$WORK/out"
	export_boot_files "$root" "$WORK/out"
	build_guest_base "$root" "$WORK/out/guest-base"
	copy_busybox_and_modules "$root" "$WORK/out/dom0-initrd-base" "$DOM0_INITRD_MODULES"
	rm -rf "$root/var/cache/apt/archives"/*.deb "$root/var/lib/apt/lists"/*_Packages
	list_sonames "$root" >"$WORK/out/sonames"
	mkfs.ext4 -q -F -L pvback-dom0 -d "$root" "$WORK/out/rootfs.img" "$IMAGE_SIZE" >>"$WORK/build.log" 2>&1 ||
		{ keep_log; e2e_die "mkfs.ext4 -d failed; log kept in $E2E_CACHE_ROOT/last-build.log"; }
	printf 'recipe %s\nbuilt %s\nmirror %s\n' "$(e2e_recipe_key)" "$(date -u +%FT%TZ)" "$mirror" \
		>"$WORK/out/info"
	cp "$WORK/build.log" "$WORK/out/build.log"
	touch "$WORK/out/complete"
	rm -rf "$dest"
	mv "$WORK/out" "$dest"
	# Images of older recipes nobody used for two weeks (run.sh touches
	# "complete" on every use).
	find "$E2E_CACHE_ROOT" -mindepth 2 -maxdepth 2 -name complete -mtime +14 -printf '%h\n' |
		while read -r old; do rm -rf "$old"; done
	e2e_log "base image ready in $dest after $(($(date +%s) - t0)) s"
}

# The shared libraries the image holds, one soname a line: run.sh checks the
# project's binaries against it before it boots anything, so a dependency the
# recipe lacks is named on the host instead of failing inside the VM.
list_sonames() {
	find "$1/lib" "$1/usr/lib" \( -type f -o -type l \) -name 'lib*.so.*' -printf '%f\n' | sort -u
}

keep_log() { cp "$WORK/build.log" "$E2E_CACHE_ROOT/last-build.log" 2>/dev/null || true; }

cleanup() {
	local m
	[ -n "${WORK:-}" ] || return 0
	for m in proc sys dev/pts; do
		mountpoint -q "$WORK/root/$m" 2>/dev/null && umount -l "$WORK/root/$m"
	done
	rm -rf "$WORK"
}

install_packages() {
	local root=$1
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	# The host's own apt sources (same mirror and suites), so the chroot sees
	# the same package versions as the host, security updates included.
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/debian.sources"
		: >"$root/etc/apt/sources.list"
	fi
	# No service may start inside the chroot.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	local rc=0
	if ! {
		chroot "$root" apt-get update &&
			DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y --no-install-recommends \
				"${DOM0_PACKAGES[@]}"
	} >>"$WORK/build.log" 2>&1; then
		rc=1
	fi
	umount "$root/proc" "$root/sys"
	return "$rc"
}

configure_root() {
	local root=$1
	rm -f "$root/usr/sbin/policy-rc.d"
	printf 'pvback-dom0\n' >"$root/etc/hostname"
	printf '127.0.0.1 localhost pvback-dom0\n' >"$root/etc/hosts"
	printf 'LABEL=pvback-dom0 / ext4 rw 0 1\n' >"$root/etc/fstab"
	mkdir -p "$root/var/log/xen/console" "$root/srv/e2e"
}

export_boot_files() {
	local root=$1 out=$2 kver
	kver=$(basename "$(ls -d "$root"/lib/modules/*)")
	# QEMU's multiboot loader wants the plain ELF, not the gzip Debian ships.
	gunzip -c "$root/boot/xen-4.17-amd64.gz" >"$out/xen"
	cp "$root/boot/vmlinuz-$kver" "$out/vmlinuz"
	printf '%s\n' "$kver" >"$out/kernel-version"
}

# Static busybox and kernel modules (with the closure of their dependencies,
# in load order as modules.order) for a small initramfs.
copy_busybox_and_modules() {
	local root=$1 dest=$2 modules=$3 kver m
	kver=$(basename "$(ls -d "$root"/lib/modules/*)")
	mkdir -p "$dest/bin" "$dest/lib/modules"
	cp "$root/bin/busybox" "$dest/bin/busybox"
	# shellcheck disable=SC2086
	chroot "$root" modprobe -a -S "$kver" --show-depends $modules |
		awk '$1 == "insmod" && !seen[$2]++ { print $2 }' >"$dest/modules.order"
	while read -r m; do
		cp "$root$m" "$dest/lib/modules/"
	done <"$dest/modules.order"
	sed -i 's|.*/|/lib/modules/|' "$dest/modules.order"
}

# The guest initramfs minus its init: busybox, the netfront/blkfront and ext4
# modules, and e2fsprogs (mkfs/fsck) with its libraries.
build_guest_base() {
	local root=$1 gb=$2 lib bin
	copy_busybox_and_modules "$root" "$gb" "$GUEST_MODULES"
	mkdir -p "$gb/sbin" "$gb/etc"
	cp "$root/etc/mke2fs.conf" "$gb/etc/mke2fs.conf"
	for bin in /sbin/mke2fs /sbin/e2fsck; do
		cp "$root$bin" "$gb$bin"
		for lib in $(chroot "$root" ldd "$bin" | grep -oE '/[^ ]+'); do
			mkdir -p "$gb$(dirname "$lib")"
			cp -L "$root$lib" "$gb$lib"
		done
	done
}

main "$@"
