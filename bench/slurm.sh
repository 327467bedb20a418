#!/usr/bin/env bash
# make bench-slurm: what the sbox SPANK plugin costs a job step.  On the
# one-node test cluster (tests/slurm/cluster.sh), `srun --sbox /bin/true`
# against plain `srun /bin/true`, alternated, as the unprivileged user
# nobody; prints the median wall time of each and the ratio.  Run as root:
#
#   bench/slurm.sh BUILD_DIR [ROUNDS]     (default 20 rounds)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-build/release}" && pwd)
rounds=${2:-20}
# shellcheck source=tests/slurm/cluster.sh
. "$top/tests/slurm/cluster.sh"

dir=$(mktemp -d /var/tmp/sbox-slurm-bench.XXXXXX)
chmod 755 "$dir"
trap 'cluster_stop; rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$dir/bin" "$dir/work"
cp "$build/sboxrun" "$build/spank_sbox.so" "$dir/bin/"
chmod 755 "$dir/bin" "$dir/bin/"*
chmod 1777 "$dir/work"
cluster_start "$dir/cluster" "$dir/bin/spank_sbox.so" "$dir/bin/sboxrun" \
	"gres_conf=$dir/cluster/etc/gres.conf" || exit 1

# One timed srun, in milliseconds.
one() {
	local t0 t1
	t0=$(date +%s%N)
	(cd "$dir/work" && setpriv --reuid nobody --regid nogroup --clear-groups \
		env SLURM_CONF="$SLURM_CONF" srun -n1 "$@" /bin/true) || { echo "bench-slurm: srun $* failed" >&2; exit 1; }
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

one >/dev/null; one --sbox >/dev/null      # warm up both paths
plain=() sbox=()
for _ in $(seq "$rounds"); do
	plain+=("$(one)")
	sbox+=("$(one --sbox)")
done
mp=$(printf '%s\n' "${plain[@]}" | median)
ms=$(printf '%s\n' "${sbox[@]}" | median)
echo "srun /bin/true:        median ${mp} ms over $rounds runs (all: ${plain[*]})"
echo "srun --sbox /bin/true: median ${ms} ms over $rounds runs (all: ${sbox[*]})"
awk -v s="$ms" -v p="$mp" 'BEGIN {printf "ratio: %.3fx (goal <= 1.1x)\n", s / p}'
