#!/bin/busybox sh
# Stage 1 of the pure cgroup v2 test VM: /init of the initramfs that
# tests/v2/run-vm.sh builds (busybox from Debian's busybox-static plus the
# virtio/9p/overlay modules of the Debian kernel being booted).
#
# It only has to reach the host's root: load the modules (the Debian kernel
# builds virtio, 9p and overlayfs as modules), mount the results share that
# the host script prepared (it carries the run's configuration and receives
# the results), mount the host's root read-only over 9p with a tmpfs overlay
# on top (tests and the sandboxes they start may write anywhere; nothing
# reaches the host) and switch to it, running tests/v2/vm-init.sh as pid 1.
# switch_root rather than chroot: user namespaces are refused to a chrooted
# caller, and pivot_root needs a root that is a real mount.

export PATH=/bin
echo "sbox-v2 stage 1: up"
/bin/busybox mkdir -p /proc /sys /dev /results /lower /rw /newroot
/bin/busybox --install -s /bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

fail() {
	echo "sbox-v2 stage 1: $*" >/dev/console
	[ -d /results/. ] && echo "stage 1: $*" >/results/failed
	sync
	poweroff -f
	sleep 30
}

for m in $(cat /modules.list); do
	insmod "/modules/$m" || fail "insmod $m failed (modules of another kernel?)"
done

# 9p over virtio: the tag is known once the virtio device has been probed;
# probing runs at insmod time, but give it a moment on slow (TCG) machines.
mount9p() {
	i=0
	while ! mount -t 9p -o "trans=virtio,version=9p2000.L,msize=262144,$3" "$1" "$2" 2>/dev/null; do
		i=$((i + 1))
		[ $i -ge 50 ] && return 1
		sleep 0.1
	done
	return 0
}

mount9p results /results "cache=none" || fail "cannot mount the 9p share 'results'"
[ -r /results/config ] || fail "/results/config missing (the host script writes it)"
. /results/config

mount9p hostroot /lower "ro,cache=loose" || fail "cannot mount the 9p share 'hostroot'"
mount -t tmpfs -o mode=0755 rw /rw || fail "cannot mount a tmpfs for the overlay"
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
	fail "cannot mount the overlay over the host's root"

# /run is fresh (no host state); the results share lives under it.
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /newroot/run || fail "cannot mount /run"
mkdir -p /newroot/run/sbox-v2/out
mount --move /results /newroot/run/sbox-v2/out || fail "cannot move the results share"
for d in proc sys dev; do
	mount --move "/$d" "/newroot/$d" || fail "cannot move /$d into the new root"
done

stage2="$SBOX_V2_REPO/tests/v2/vm-init.sh"
[ -x "/newroot$stage2" ] || fail "$stage2 not found or not executable in the host's root"
exec switch_root /newroot "$stage2"
fail "switch_root to the host's root failed"
