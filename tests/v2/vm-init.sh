#!/bin/sh
# Stage 2 of the pure cgroup v2 test VM: pid 1 after the initramfs switched
# to the host's root (read-only 9p + tmpfs overlay; see initramfs-init.sh).
#
# It makes the machine look like a small modern pure-v2 system, prints what
# the tests run on, runs the command that tests/v2/run-vm.sh was given from
# the repository's root, writes its exit status to the results share and
# powers the machine off.  What it sets up for the tests (all documented in
# docs/testing-v2.md):
#   - cgroup2 alone at /sys/fs/cgroup (the kernel was booted with
#     cgroup_no_v1=all, so no v1 hierarchy can exist), with every available
#     controller enabled in the root's cgroup.subtree_control, as systemd
#     does; the command runs as root in the root cgroup;
#   - a delegated, non-root parent /sys/fs/cgroup/sbox-delegated owned by
#     nobody:nogroup (directory, cgroup.procs, cgroup.threads,
#     cgroup.subtree_control: cgroup-v2.rst "Delegation Containment"), with
#     the controllers enabled in its subtree_control and a leaf "runner"
#     (also nobody's) for the unprivileged caller's own process.  The
#     environment names them: SBOX_V2_DELEGATED and SBOX_V2_DELEGATED_LEAF;
#     tests/v2/delegated.sh runs a command as nobody inside the leaf;
#   - fresh tmpfs on /tmp, /dev/shm (nosuid,nodev), /var/tmp (device nodes
#     allowed, as on a disk-backed /var/tmp) and /run; devpts; bpffs;
#   - the booted kernel's modules at /lib/modules/$(uname -r), so the
#     kernel's module autoloading (overlay, veth, ...) works, and the static
#     nodes of modules.devname (/dev/fuse, /dev/net/tun: 0666 as udev sets);
#   - loopback up; hostname sbox-v2.

OUT=/run/sbox-v2/out
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

say() { echo "sbox-v2: $*"; }

finish() {
	echo "$1" >"$OUT/status"
	dmesg >"$OUT/dmesg" 2>/dev/null
	sync
	echo o >/proc/sysrq-trigger
	# The power-off is asynchronous and takes the 9p root with it (so no
	# external sleep); pid 1 must not exit meanwhile (that would panic).
	exec >/dev/null 2>&1
	while :; do :; done
}

fail() {
	say "setup failed: $*"
	echo "stage 2: $*" >"$OUT/failed"
	finish 125
}

. "$OUT/config" || fail "cannot read $OUT/config"

# The checkout (and the unpacked kernel's modules inside it) may live under
# /tmp or /var/tmp — a CI clone can be anywhere — and the fresh tmpfs mounts
# below would hide it.  Bind those paths aside first and back afterwards.
keep_paths() {
	for p in "$SBOX_V2_REPO" "$SBOX_V2_MODDIR"; do
		mkdir -p "/mnt/sbox-keep$p" && mount --rbind "$p" "/mnt/sbox-keep$p" ||
			fail "cannot keep $p across the tmpfs mounts"
	done
}

restore_paths() {
	for p in "$SBOX_V2_REPO" "$SBOX_V2_MODDIR"; do
		[ -e "$p/." ] && [ "$(stat -c %i "$p/.")" = "$(stat -c %i "/mnt/sbox-keep$p/.")" ] &&
			continue
		mkdir -p "$p" && mount --rbind "/mnt/sbox-keep$p" "$p" ||
			fail "cannot put $p back after the tmpfs mounts"
	done
}

setup_mounts() {
	keep_paths
	# /tmp and /dev/shm as a systemd system mounts them; /var/tmp usually
	# lives on the root file system, where device nodes work (tests make
	# their nodes there).
	for d in /tmp /dev/shm; do
		mkdir -p "$d" && mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$d" ||
			fail "cannot mount a tmpfs on $d"
	done
	mkdir -p /var/tmp && mount -t tmpfs -o mode=1777 tmpfs /var/tmp ||
		fail "cannot mount a tmpfs on /var/tmp"
	restore_paths
	mkdir -p /dev/pts
	mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts ||
		fail "cannot mount devpts"
	ln -sf /proc/self/fd /dev/fd
	ln -sf /proc/self/fd/0 /dev/stdin
	ln -sf /proc/self/fd/1 /dev/stdout
	ln -sf /proc/self/fd/2 /dev/stderr
	mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup ||
		fail "cannot mount cgroup2 on /sys/fs/cgroup"
	mount -t bpf -o mode=0700 bpf /sys/fs/bpf 2>/dev/null ||
		say "note: bpffs not mounted on /sys/fs/bpf"
	mkdir -p /lib/modules && mount --bind "$SBOX_V2_MODDIR" /lib/modules ||
		fail "cannot bind $SBOX_V2_MODDIR on /lib/modules"
	echo /sbin/modprobe >/proc/sys/kernel/modprobe
}

# What systemd-tmpfiles and udev do at boot for on-demand modules: the static
# nodes of modules.devname (/dev/fuse, /dev/net/tun, ...; opening one loads
# its module), with udev's default modes for the world-usable ones.
static_nodes() {
	kmod static-nodes --format=tmpfiles -o /run/sbox-v2/static-nodes ||
		fail "kmod static-nodes failed"
	while read -r type path mode _ _ _ dev; do
		case $type in c*) t=c ;; b*) t=b ;; *) continue ;; esac
		[ -e "$path" ] && continue
		mkdir -p "$(dirname "$path")"
		mknod -m "$mode" "$path" $t "${dev%%:*}" "${dev#*:}" ||
			fail "cannot create $path"
	done </run/sbox-v2/static-nodes
	chmod 0666 /dev/fuse /dev/net/tun
}

setup_system() {
	echo sbox-v2 >/proc/sys/kernel/hostname
	ip link set lo up || fail "cannot bring the loopback up"
}

# Every controller the kernel offers, enabled for the root's children.
setup_cgroups() {
	cg=/sys/fs/cgroup
	[ "$(stat -f -c %T $cg)" = cgroup2fs ] || fail "$cg is not cgroup2"
	for c in $(cat $cg/cgroup.controllers); do
		echo "+$c" >$cg/cgroup.subtree_control || fail "cannot enable $c in $cg"
	done

	d=$cg/sbox-delegated
	mkdir -p "$d/runner" || fail "cannot create $d/runner"
	for c in $(cat "$d/cgroup.controllers"); do
		echo "+$c" >"$d/cgroup.subtree_control" ||
			fail "cannot enable $c in $d"
	done
	for p in "$d" "$d/runner"; do
		chown nobody:nogroup "$p" "$p/cgroup.procs" "$p/cgroup.threads" \
			"$p/cgroup.subtree_control" || fail "cannot delegate $p to nobody"
	done
	SBOX_V2_DELEGATED=$d
	SBOX_V2_DELEGATED_LEAF=$d/runner
	export SBOX_V2_DELEGATED SBOX_V2_DELEGATED_LEAF
}

setup_mounts
static_nodes
setup_system
setup_cgroups

say "kernel $(uname -r)"
say "cgroup.controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
say "cgroup mounts: $(grep -c cgroup /proc/self/mounts) ($(awk '$3 ~ /^cgroup/ {print $3 " " $2}' /proc/self/mounts | tr '\n' ' '))"
say "cpus $(nproc), memory $(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"

HOME=/root
TERM=dumb
LANG=C.UTF-8
SBOX_V2_VM=1
export HOME TERM LANG SBOX_V2_VM
[ -r "$OUT/env" ] && . "$OUT/env"

cd "$SBOX_V2_REPO" || fail "cannot enter $SBOX_V2_REPO"
eval "set -- $(cat "$OUT/cmd")"
say "running: $*"
# Through a pipe, not the console: the tests see no terminal (as in CI), and
# their output also lands in $OUT/test.log.
mkfifo /run/sbox-v2/output || fail "cannot make a fifo in /run/sbox-v2"
tee "$OUT/test.log" </run/sbox-v2/output &
up0=$(cut -d. -f1 /proc/uptime)
"$@" </dev/null >/run/sbox-v2/output 2>&1
rc=$?
wait
say "exit status $rc (booted in ${up0}s, the command ran $(($(cut -d. -f1 /proc/uptime) - up0))s)"
finish $rc
