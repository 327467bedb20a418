#!/usr/bin/env bash
# make bench: sbox's launch latency, throughput, scaling and memory against
# the tools users would pick instead, in one run on one machine; writes
# docs/benchmarks.md and docs/benchmarks.png (bench/report.py).
#
#   bench/run.sh [BUILD_DIR]          (as root; BUILD_DIR default build/release)
#
# Environment:
#   BENCH_QUICK=1      fewer rounds and runs: about 2 minutes instead of 10
#   BENCH_PROFILE=0|1  profile the direct launch too (default: 1 unless quick)
#   BENCH_OUT=DIR      results directory (default BUILD_DIR/bench)
#   BENCH_DOCS=DIR     where benchmarks.md/.png go (default docs/)
#   BENCH_NO_INSTALL=1 don't install missing peers
#   BENCH_POOL_OFF_CONF  site-config lines that turn sboxd's pool of prepared
#                      sandboxes off (default "[Pool]\nSize=0"), for the
#                      pool-off rows; an sboxd that refuses them has no pool
#
# Every row runs /bin/true.  A row whose tool is missing or fails its smoke
# test is reported "not available (reason)"; nothing here fails the run
# except a missing sboxrun.  Rows are measured in rounds, each round in a
# new random order, so that a noisy neighbour spreads over all rows alike.
set -u -o pipefail
T0=$(date +%s)
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
B=${1:-build/release}
B=${B%/}
RES=${BENCH_OUT:-$B/bench}
DOCS=${BENCH_DOCS:-docs}
QUICK=${BENCH_QUICK:-0}
PROFILE=${BENCH_PROFILE:-$([ "$QUICK" = 1 ] && echo 0 || echo 1)}
TRUE=/bin/true

if [ "$QUICK" = 1 ]; then
	ROUNDS=3 RUNS=30 WARMUP=5 API_N=200 TP_SECONDS=2 SCALE_N=50
	SCALES="0 100 1000"
else
	ROUNDS=5 RUNS=100 WARMUP=10 API_N=1000 TP_SECONDS=5 SCALE_N=100
	SCALES="0 100 1000"
fi
TP_CLIENTS="1 2 4 16"
export ROUNDS RUNS WARMUP

log() { printf 'bench [%3ss]: %s\n' "$(($(date +%s) - T0))" "$*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root: crun, runc and the sandboxes' cgroups need it"
[ -x "$B/sboxrun" ] || die "$B/sboxrun is missing: run 'make VARIANT=release B=$B all' first"
rm -rf "$RES"
mkdir -p "$RES" "$DOCS"
RES=$(cd "$RES" && pwd)
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
# No sboxd of this run outlives it, however it ends (a failed step, ^C).
trap stop_sboxd EXIT

install_peers
machine_info >"$RES/machine.txt"

# Each row: id, label, what it isolates (from its configuration; the
# "isolation seen from inside" table checks it with sbox-probe), command.
ROWS=()
row() { # id label isolation cmd...
	local id=$1 label=$2 iso=$3
	shift 3
	ROWS+=("$id")
	printf '%s\t%s\t%s\n' "$id" "$label" "$iso" >>"$RES/rows.tsv"
	printf '%q ' "$@" >"$RES/cmd-$id"
}
unavailable() { # id reason
	printf '%s\n' "$2" >"$RES/na-$1"
	log "$1: not available ($2)"
}

detect_sbox
: >"$RES/rows.tsv"
row exec "exec /bin/true" "none: the floor (fork+exec by hyperfine)" $TRUE
row unshare "unshare(1)" "ns: pid mnt uts ipc net cgroup; host root rw, all caps" \
	unshare --fork --pid --mount --uts --ipc --net --cgroup $TRUE
# bubblewrap: exactly issue 14's command line for the "half of bubblewrap" target.
row bwrap "bubblewrap" "ns: user pid mnt uts ipc net cgroup; ro root, minimal /dev, /proc, private /tmp; caps kept as root" \
	bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp $TRUE
row crun "crun" "ns: pid mnt uts ipc net cgroup; cgroup: memory+pids limits, device list; seccomp deny list; no caps; minimal ro rootfs" \
	crun run --bundle "$RES/bundle" bench-crun
row runc "runc" "as crun (same bundle)" \
	runc run --bundle "$RES/bundle" bench-runc
row firejail "firejail" "ns: pid mnt uts ipc net; seccomp; caps dropped; private /dev" \
	firejail --quiet --noprofile --net=none --private-dev --caps.drop=all --seccomp $TRUE
row sboxrun "sboxrun (direct)" "$(sbox_isolation default)" \
	"$B/sboxrun" $SBOX_DIRECT_ARGS -- $TRUE
row sboxrun-full "sboxrun ${FULL_CLI[*]:---full} (direct)" "$(sbox_isolation full)" \
	"$B/sboxrun" $SBOX_DIRECT_ARGS "${FULL_CLI[@]}" -- $TRUE
row sboxd "sboxrun ${FULL_CLI[*]:---full} via sboxd" "$(sbox_isolation full)" \
	"$B/sboxrun" --socket "$RES/sboxd.sock" "${FULL_CLI[@]}" -- $TRUE

# Which rows can run here (the smoke test also checks they isolate).
check_rows

# Rounds in a shuffled row order, so no row always runs on a warm or cold cache.
log "latency: $ROUNDS rounds x $RUNS runs per row (+$WARMUP warm-up)"
for r in $(seq 1 "$ROUNDS"); do
	for id in $(printf '%s\n' "${ROWS[@]}" | shuf); do
		[ -e "$RES/na-$id" ] && continue
		measure_row "$id" "$r"
	done
	# The API path: the same process launches, no client binary.
	api_round "$r"
done

# Throughput and leak counts, scaling, the kernel's floors, sboxd's memory,
# then the profile.
throughput
scaling
floors
memory
# The profile: direct, and through both sboxds (pool on and off).
[ "$PROFILE" = 1 ] &&
	BENCH_PROFILE_SOCKET=${SBOXD_PID:+$SBOXD_SOCK} BENCH_PROFILE_SBOXD_PID=$SBOXD_PID \
	BENCH_PROFILE_NOPOOL_SOCKET=${NOPOOL_PID:+$NOPOOL_SOCK} BENCH_PROFILE_NOPOOL_PID=$NOPOOL_PID \
	BENCH_PROFILE_CLI="${FULL_CLI[*]}" BENCH_PROFILE_SETS="$(printf '%s\n' "${FULL_SETS[@]}")" \
	"$top/bench/profile.sh" "$B" "$RES/profile" >&2

# Python worker start (Process.start to target running): sbox direct and via
# sboxd against multiprocessing's fork, forkserver and spawn, in this run.
PYTHONPATH="$top/python" SBOXRUN="$B/sboxrun" SBOX_LIBSBOX="$B/libsbox.so" \
	python3 "$top/bench/python_start.py" --socket "$RES/sboxd.sock" \
	$([ "$QUICK" = 1 ] && echo "-n 15 --torch-n 15 --pss-workers 8" || echo "-n 50 --torch-n 20") \
	--json "$RES/python_start.json" >&2 || log "python worker start: not measured"
stop_sboxd
echo "elapsed_s=$(($(date +%s) - T0))" >>"$RES/machine.txt"
echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$RES/machine.txt"
python3 "$top/bench/report.py" "$RES" "$DOCS" || die "report failed"
log "wrote $DOCS/benchmarks.md and $DOCS/benchmarks.png in $(($(date +%s) - T0)) s"
