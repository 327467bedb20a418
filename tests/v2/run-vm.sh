#!/bin/bash
# Run a command (by default the test suite) inside a qemu VM that boots
# Debian's own kernel with cgroup v2 only, against the binaries built here.
#
#   tests/v2/run-vm.sh [--kvm|--tcg] [--timeout SECS] [--verbose] [--refresh] [--] [CMD ARG...]
#
# CMD defaults to the cgroup, device, GPU and base suites (see below)
# and runs as root from the repository's root inside the VM; this script
# exits with its exit status (1, with the reason, when the VM itself could
# not do its job).
#
# Everything comes from Debian's packages: qemu-system-x86, cpio and kmod
# are installed on the host when missing (apt-get, as root); the kernel
# (the package linux-image-amd64 depends on) and busybox-static are only
# downloaded and unpacked into the cache dir, never installed.  The VM's
# root is the host's root shared read-only over 9p with a tmpfs overlay, so
# the guest runs exactly the host's files and build outputs; see
# docs/testing-v2.md, initramfs-init.sh (stage 1) and vm-init.sh (stage 2).
#
# Environment: SBOX_V2_CACHE (default build/v2-vm: debs, kernel, initramfs),
# SBOX_V2_OUT (default tests/v2/out: console.log, status, dmesg),
# SBOX_V2_MEM (default 2G), SBOX_V2_CPUS (default 2).  CI, SBOX_*, *SAN_OPTIONS
# and CMOCKA_* variables are passed into the VM.
set -euo pipefail

die() {
	echo "run-vm: error: $*" >&2
	exit 1
}
say() { echo "run-vm: $*" >&2; }

REPO=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$REPO"
CACHE=$(mkdir -p "${SBOX_V2_CACHE:-build/v2-vm}" && cd "${SBOX_V2_CACHE:-build/v2-vm}" && pwd -P)
OUT=$(mkdir -p "${SBOX_V2_OUT:-tests/v2/out}" && cd "${SBOX_V2_OUT:-tests/v2/out}" && pwd -P)
MEM=${SBOX_V2_MEM:-2G}
CPUS=${SBOX_V2_CPUS:-2}

accel=auto timeout= verbose=0 refresh=0
while [ $# -gt 0 ]; do
	case $1 in
	--tcg) accel=tcg ;;
	--kvm) accel=kvm ;;
	--timeout) timeout=${2:?--timeout needs seconds}; shift ;;
	--verbose) verbose=1 ;;
	--refresh) refresh=1 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	--) shift; break ;;
	-*) die "unknown option $1 (see --help)" ;;
	*) break ;;
	esac
	shift
done
# valgrind is left to the host's `make test`: it checks memory, not cgroups,
# and under TCG emulation it would take most of the run's time.
# By default the suites whose code paths differ on a pure v2 machine: cgroup
# limits, stats and cleanup, the device cgroup (BPF program), GPUs, the base
# sandbox (CLONE_INTO_CGROUP), and sboxd (its jobs' v2 cgroups, stats, kill
# and recovery, its abuse suite, and its pool: a request's limits written on
# a live v2 cgroup) — as root, and as nobody from a
# delegated non-root cgroup (the daemon suites need root and skip there).
# Under TCG every launch costs ~40x the host's, so the whole suite
# (`-- tests/run-tests.sh --no-valgrind build/asan build/release`) takes
# longer still; this subset is what the VM is for.
[ $# -gt 0 ] || set -- tests/run-tests.sh \
	--only '^test_(cgroups|cgroup_fake|devices|gpus|base|daemon|daemon_abuse|pool)$' \
	build/asan build/release
case $1 in
*/*) [ -x "$1" ] || die "$1 does not exist or is not executable (in $REPO)" ;;
*) command -v "$1" >/dev/null || die "$1: command not found on this host (the VM runs the host's files)" ;;
esac

# The host tools the VM run needs.
APT_OPTS=(-q -y --no-install-recommends -o APT::Sandbox::User=root)
apt_updated=0
apt_update() {
	[ $apt_updated = 1 ] && return 0
	apt_updated=1
	apt-get -q update >"$CACHE/apt-update.log" 2>&1 ||
		die "apt-get update failed (see $CACHE/apt-update.log)"
}

need_tools() {
	local missing=() pair
	for pair in qemu-system-x86_64:qemu-system-x86 cpio:cpio depmod:kmod \
		modprobe:kmod dpkg-deb:dpkg apt-get:apt; do
		command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || die "missing packages ${missing[*]}; install them as root (apt-get install ${missing[*]})"
	say "installing ${missing[*]} from Debian's packages"
	DEBIAN_FRONTEND=noninteractive apt-get install "${APT_OPTS[@]}" "${missing[@]}" \
		>"$CACHE/apt-install.log" 2>&1 || {
		apt_update
		DEBIAN_FRONTEND=noninteractive apt-get install "${APT_OPTS[@]}" "${missing[@]}" \
			>"$CACHE/apt-install.log" 2>&1 ||
			die "cannot install ${missing[*]} (see $CACHE/apt-install.log)"
	}
}

# The VM's kernel and busybox, taken from Debian's packages.
kernel_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

download_debs() {
	KPKG=$(kernel_pkg)
	[ -n "$KPKG" ] || return 1
	rm -rf "$CACHE/debs" && mkdir -p "$CACHE/debs"
	say "downloading $KPKG and busybox-static (Debian packages; unpacked, not installed)"
	(cd "$CACHE/debs" && apt-get download -o APT::Sandbox::User=root "$KPKG" busybox-static) \
		>"$CACHE/apt-download.log" 2>&1
}

fetch_debs() {
	# A stale package list may name a kernel the mirror no longer has.
	download_debs || { apt_update && download_debs; } ||
		die "cannot download Debian's kernel (${KPKG:-no linux-image-amd64 dependency known to apt-cache}) and busybox-static (see $CACHE/apt-download.log)"
	rm -rf "$CACHE/k" "$CACHE/bb"
	dpkg-deb -x "$CACHE"/debs/linux-image-*.deb "$CACHE/k" || die "cannot unpack the kernel package"
	dpkg-deb -x "$CACHE"/debs/busybox-static_*.deb "$CACHE/bb" || die "cannot unpack busybox-static"
	KVER=$(basename "$(ls -d "$CACHE"/k/lib/modules/*/)")
	[ -f "$CACHE/k/boot/vmlinuz-$KVER" ] || die "no boot/vmlinuz-$KVER in $KPKG"
	depmod -b "$CACHE/k" "$KVER" || die "depmod failed for $KVER"
	echo "$KVER" >"$CACHE/kernel.ver"
}

have_kernel() {
	[ -r "$CACHE/kernel.ver" ] || return 1
	KVER=$(cat "$CACHE/kernel.ver")
	[ -f "$CACHE/k/boot/vmlinuz-$KVER" ] && [ -f "$CACHE/k/lib/modules/$KVER/modules.dep" ] &&
		[ -x "$CACHE/bb/bin/busybox" ]
}

# The modules stage 1 needs, dependencies first (modules.dep lists a
# module's dependencies; loading them in reverse order satisfies each).
module_order() {
	local dep=$1 want=$2 seen=" "
	add() {
		local line d m
		line=$(grep -E "(^|/)$1\.ko(\.[a-z]+)?:" "$dep") || die "module $1 not in the kernel package"
		m=${line%%:*}
		case $seen in *" $m "*) return 0 ;; esac
		for d in $(echo "${line#*:}" | tr ' ' '\n' | tac); do
			d=$(basename "$d"); add "${d%%.ko*}"
		done
		case $seen in *" $m "*) return 0 ;; esac
		seen="$seen$m "
		echo "$m"
	}
	for w in $want; do add "$w"; done
}

build_initramfs() {
	local root=$CACHE/initramfs mdir=$CACHE/k/lib/modules/$KVER m mods
	mods=$(module_order "$mdir/modules.dep" "virtio_pci 9pnet_virtio 9p overlay") ||
		die "cannot resolve the initramfs modules of $KVER"
	rm -rf "$root" && mkdir -p "$root/bin" "$root/modules"
	cp "$CACHE/bb/bin/busybox" "$root/bin/busybox"
	cp tests/v2/initramfs-init.sh "$root/init" && chmod 0755 "$root/init"
	: >"$root/modules.list"
	for m in $mods; do
		cp "$mdir/$m" "$root/modules/" || die "cannot copy $m"
		case $m in
		*.ko.xz) xz -d "$root/modules/$(basename "$m")" ;;
		*.ko.zst) zstd -q -d --rm "$root/modules/$(basename "$m")" ;;
		*.ko.gz) gzip -d "$root/modules/$(basename "$m")" ;;
		*) ;;
		esac
		basename "${m%.xz}" | sed 's/\.zst$//; s/\.gz$//' >>"$root/modules.list"
	done
	(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$CACHE/initramfs.img" ||
		die "cannot build the initramfs"
}

shq() { printf "'%s' " "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

write_run_config() {
	local a v
	rm -rf "$OUT" && mkdir -p "$OUT"
	{
		echo "SBOX_V2_REPO=$(shq "$REPO")"
		echo "SBOX_V2_MODDIR=$(shq "$CACHE/k/lib/modules")"
		echo "SBOX_V2_KVER=$(shq "$KVER")"
	} >"$OUT/config"
	for a in "$@"; do shq "$a"; done >"$OUT/cmd"
	: >"$OUT/env"
	for v in $(compgen -e | grep -E '^(CI|SBOX_[A-Z0-9_]+|[A-Z]SAN_OPTIONS|CMOCKA_[A-Z_]+)$' |
		grep -vE '^SBOX_V2_'); do
		echo "export $v=$(shq "${!v}")" >>"$OUT/env"
	done
}

# /dev/kvm alone is not enough: a nested host may offer a KVM that runs only
# special guest kernels (kvm_pvm, say, on a CPU without vmx/svm), where
# Debian's kernel hangs at its first instruction.
kvm_usable() {
	[ -c /dev/kvm ] || { KVM_WHY="/dev/kvm does not exist"; return 1; }
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || { KVM_WHY="/dev/kvm is not read-writable by $(id -un)"; return 1; }
	grep -qwE 'vmx|svm' /proc/cpuinfo || {
		KVM_WHY="the CPU offers no vmx/svm (KVM modules here: $(ls /sys/module | grep -E '^kvm' | tr '\n' ' ')), so KVM cannot run an unmodified kernel"
		return 1
	}
	return 0
}

# Runs qemu with the console on stdout and in $OUT/console.log.  With KVM,
# a kernel that shows no sign of life from stage 1 within $BOOT_WAIT seconds
# (a KVM that cannot run it) is killed, and the caller retries with TCG.
BOOT_WAIT=${SBOX_V2_BOOT_WAIT:-60}
KVM_HUNG=0
run_qemu() {
	local acc=$1 cpu append loglevel=1 qpid t=0
	[ $verbose = 1 ] && loglevel=7
	if [ "$acc" = kvm ]; then cpu=host; else cpu=${SBOX_V2_TCG_CPU:-max}; fi
	append="console=ttyS0 loglevel=$loglevel panic=-1 oops=panic mitigations=off"
	append+=" cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 8250.nr_uarts=1"
	say "booting Debian kernel $KVER ($acc, $CPUS vCPUs, $MEM), running: $(cat "$OUT/cmd")"
	: >"$OUT/console.log"
	timeout -k 10 "$2" qemu-system-x86_64 -nodefaults -no-user-config \
		-machine q35 -accel "$acc${SBOX_V2_ACCEL_OPTS:-}" -cpu "$cpu" -m "$MEM" -smp "$CPUS" \
		-display none -serial stdio -no-reboot \
		-kernel "$CACHE/k/boot/vmlinuz-$KVER" -initrd "$CACHE/initramfs.img" \
		-append "$append" \
		-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
		-virtfs "local,path=$OUT,mount_tag=results,security_model=none" \
		</dev/null >>"$OUT/console.log" 2>&1 &
	qpid=$!
	tail -n +1 -f --pid=$qpid "$OUT/console.log" &
	if [ "$acc" = kvm ]; then
		while kill -0 $qpid 2>/dev/null && ! grep -q '^sbox-v2 stage 1: up' "$OUT/console.log"; do
			t=$((t + 1))
			if [ $t -gt $((BOOT_WAIT * 5)) ]; then
				say "no sign of life from the VM after ${BOOT_WAIT}s under KVM"
				KVM_HUNG=1
				kill $qpid
				break
			fi
			sleep 0.2
		done
	fi
	wait $qpid
	local rc=$?
	wait
	return $rc
}

need_tools
if [ $refresh = 1 ] || ! have_kernel; then fetch_debs; fi
build_initramfs
write_run_config "$@"

if [ $accel = auto ]; then
	if kvm_usable; then accel=kvm; else
		say "KVM unusable ($KVM_WHY): falling back to TCG emulation (much slower)"
		accel=tcg
	fi
fi
if [ -z "$timeout" ]; then
	if [ $accel = kvm ]; then timeout=900; else timeout=1800; fi
fi

start=$(date +%s)
set +e
run_qemu "$accel" "$timeout"
qrc=$?
set -e
if [ $accel = kvm ] && [ ! -e "$OUT/status" ] && [ ! -e "$OUT/failed" ] &&
	{ [ $KVM_HUNG = 1 ] || grep -qi 'kvm' "$OUT/console.log"; }; then
	say "qemu could not use KVM (above): retrying with TCG emulation (much slower)"
	write_run_config "$@"
	set +e
	run_qemu tcg "$timeout"
	qrc=$?
	set -e
fi
secs=$(($(date +%s) - start))

if [ -e "$OUT/failed" ]; then
	die "the VM's setup failed: $(cat "$OUT/failed") (console: $OUT/console.log)"
fi
if [ ! -s "$OUT/status" ]; then
	[ $qrc = 124 ] && die "the VM ran past ${timeout}s and was killed (console: $OUT/console.log)"
	die "the VM stopped without reporting a status (qemu exit $qrc; console: $OUT/console.log)"
fi
rc=$(cat "$OUT/status")
say "VM run finished in ${secs}s: exit status $rc (console: $OUT/console.log, dmesg: $OUT/dmesg)"
# The tests' own summary, last, in the plain "N passed, N failed" form.
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$OUT/test.log" 2>/dev/null | tail -1) || true
[ -n "$summary" ] && echo "v2: $summary"
exit "$rc"
