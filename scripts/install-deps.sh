#!/bin/sh
# Install the Debian packages sbox's build, tests and benchmarks need, when
# they are missing.  On Debian 12 or later, as root or as a user with sudo
# (it asks for root only when something is missing).
#   --slurm: also Slurm and munge, for make slurm / make test-slurm (opt-in:
#            plain make test needs none of them; CI passes it).
set -eu
# The -dev packages also ship the archives (libseccomp.a, libcap.a, libnl-3.a,
# libnl-route-3.a, libinih.a) that sboxrun links from (Makefile, SBOXRUN_LIBS).
build="build-essential pkg-config libseccomp-dev libcap-dev libnl-3-dev libnl-route-3-dev
       libinih-dev libbpf-dev"
test="libcmocka-dev valgrind util-linux iproute2 procps"
# make fuzz (libFuzzer comes with clang's runtime libraries).
test="$test clang libclang-rt-dev"
# The sbox Python package's tests (make test-python).
test="$test python3 python3-pytest python3-numpy"
# Zygotes with torch preloaded (test_zygote.py, bench/python_start.py):
# Debian's CPU build.
test="$test python3-torch"
# The SPANK plugin's build and its one-node test cluster (make test-slurm),
# with --slurm.
slurm="slurmctld slurmd slurm-client munge libslurm-dev"
extra="${SBOX_EXTRA_PACKAGES:-}"
[ "${1:-}" = --slurm ] && extra="$extra $slurm"
want="$build $test $extra"

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing:$missing — installing as root"
	exec "$(dirname "$0")/as-root" "$0" "$@"
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
