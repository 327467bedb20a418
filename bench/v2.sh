#!/usr/bin/env bash
# make bench-v2: issue 14's launch ratios on a pure cgroup v2 machine, inside
# the test-v2 VM (tests/v2/run-vm.sh, docs/testing-v2.md).  Under TCG the
# guest runs 15-40x slower than the host, so only ratios mean anything and
# the counts are small; the VM runs the host's own binaries and tools
# (hyperfine, bwrap) from its read-only root.
#
#   bench/v2.sh [BUILD_DIR]             (as root, on the host)
#   bench/v2.sh --inside BUILD_DIR RES ROUNDS RUNS API_N GIT POOL_OFF_CONF
#                                       (what the VM runs: run-vm.sh passes
#                                       only SBOX_* variables in, so the
#                                       settings travel as arguments)
#
# Writes docs/benchmarks-v2.md (bench/report_v2.py) and puts it in place of
# docs/benchmarks.md's "v2" section (bench/report.py includes the same file
# when it regenerates benchmarks.md).  Not part of `make test`.
#
# Environment: BENCH_V2_ROUNDS (default 3), BENCH_V2_RUNS (hyperfine runs
# per row and round, default 8), BENCH_V2_API_N (API launches per path and
# round, default 10; the fork floor 3x as many), BENCH_V2_TIMEOUT
# (the VM's limit in seconds, default 1500), BENCH_DOCS (default docs/),
# BENCH_POOL_OFF_CONF (as bench/run.sh), SBOX_V2_* (tests/v2/run-vm.sh).
set -u -o pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2

log() { printf 'bench-v2: %s\n' "$*" >&2; }

# Inside the VM: each row once, the API paths, all into RES (the results
# share); sboxd's sockets and state on the VM's own /tmp.
inside() {
	local B=$1 RES=$2 rounds=$3 runs=$4 n=$5 git=$6 pool_off=$7 w=2
	local tmp sets=() s id pid nopool=""
	mkdir -p "$RES"
	tmp=$(mktemp -d)
	{
		echo "kernel=$(uname -r)"
		echo "cgroups=$(stat -f -c %T /sys/fs/cgroup)"
		echo "controllers=$(cat /sys/fs/cgroup/cgroup.controllers)"
		echo "cpus=$(nproc)"
		echo "rounds=$rounds"
		echo "runs=$runs"
		echo "api_n=$n"
		echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
		echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
		echo "git=$git"
	} >"$RES/machine.txt"
	for s in PrivateNetwork=none MemoryMax=256M TasksMax=64 SeccompProfile=default \
		CapabilityBoundingSet= NoNewPrivileges=yes; do
		sets+=(-s "$s")
	done
	start() { # name socket extra-config -> pid on stdout
		printf '[Daemon]\nStateDirectory=%s/%s-state\nMaxJobs=4096\nMaxJobsPerUser=4096\n%s\n' \
			"$tmp" "$1" "$3" >"$tmp/$1.conf"
		chmod 644 "$tmp/$1.conf"
		"$B/sboxd" --foreground --config "$tmp/$1.conf" --socket "$2" >"$RES/$1.log" 2>&1 &
		local p=$!
		for _ in $(seq 300); do
			[ -S "$2" ] && { echo "$p"; return 0; }
			kill -0 "$p" 2>/dev/null || return 1
			sleep 0.1
		done
		kill "$p"
		return 1
	}
	pid=$(start sboxd "$tmp/sboxd.sock" "") || log "sboxd did not start: $(tail -c 300 "$RES/sboxd.log")"
	if nopool=$(start sboxd-nopool "$tmp/nopool.sock" "$pool_off"); then
		echo "pool=yes" >>"$RES/machine.txt"
	else
		echo "pool=no" >>"$RES/machine.txt"
		nopool=""
	fi
	# The rows: issue 14's command lines.
	declare -A cmd=(
		[exec]="/bin/true"
		[bwrap]="bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp /bin/true"
		[sboxd]="$B/sboxrun --socket $tmp/sboxd.sock --memory 256M --pids 64 -- /bin/true"
		[sboxrun-full]="$B/sboxrun --direct --memory 256M --pids 64 -- /bin/true"
	)
	# Rounds, each every row and API path once in a new random order, so
	# that the host's load (the VM's vCPUs are its threads) spreads over
	# all alike; the report gives each ratio's per-round range too.
	local r k rows api
	for r in $(seq "$rounds"); do
		rows=$(printf '%s\n' "${!cmd[@]}" | shuf)
		api=$(printf '%s\n' fork floor direct ${pid:+libsbox} ${nopool:+libsbox-nopool} | shuf)
		log "round $r of $rounds: $runs runs per row, $n API launches per path"
		for id in $rows; do
			hyperfine -N --style none --warmup 2 --runs "$runs" \
				--export-json "$RES/lat-$id-r$r.json" -- "${cmd[$id]}" \
				>/dev/null 2>>"$RES/lat-$id.err" </dev/null ||
				log "row $id failed: $(tail -c 300 "$RES/lat-$id.err")"
		done
		for k in $api; do
			case $k in
			fork) "$B/apibench" -n $((n * 3)) -w "$w" -o "$RES/api-fork-r$r.raw" fork ;;
			floor) "$B/floorbench" -n "$n" -w "$w" -o "$RES/api-floor-r$r.raw" ;;
			direct) "$B/apibench" -n "$n" -w "$w" -o "$RES/api-direct-r$r.raw" "${sets[@]}" direct ;;
			libsbox) "$B/apibench" -n "$n" -w "$w" -o "$RES/api-libsbox-r$r.raw" \
				-S "$tmp/sboxd.sock" "${sets[@]}" libsbox ;;
			libsbox-nopool) "$B/apibench" -n "$n" -w "$w" -o "$RES/api-libsbox-nopool-r$r.raw" \
				-S "$tmp/nopool.sock" "${sets[@]}" libsbox ;;
			esac >>"$RES/api-$k.json" 2>>"$RES/api.err" || log "API $k, round $r failed"
		done
	done
	for p in $pid $nopool; do
		kill "$p" && wait "$p" 2>/dev/null
	done
	log "done"
	return 0
}

if [ "${1:-}" = --inside ]; then
	[ $# = 8 ] || { log "--inside takes BUILD_DIR RES ROUNDS RUNS API_N GIT POOL_OFF_CONF"; exit 2; }
	shift
	inside "$@"
	exit $?
fi

B=${1:-build/release}
B=${B%/}
DOCS=${BENCH_DOCS:-docs}
[ "$(id -u)" = 0 ] || { log "run as root (the VM's set-up and sboxd need it)"; exit 1; }
for f in sboxrun sboxd apibench floorbench; do
	[ -x "$B/$f" ] || { log "$B/$f is missing: run 'make VARIANT=release B=$B all $B/apibench $B/floorbench' first"; exit 1; }
done
{ command -v hyperfine && command -v bwrap; } >/dev/null ||
	log "hyperfine or bwrap missing on the host (the VM runs the host's tools): their rows will fail"
OUT=$(mkdir -p "$B/bench-v2" && cd "$B/bench-v2" && pwd)
# The results share is the VM's writable OUT: its files come back there.
SBOX_V2_OUT=$OUT tests/v2/run-vm.sh --timeout "${BENCH_V2_TIMEOUT:-1500}" -- \
	bench/v2.sh --inside "$B" /run/sbox-v2/out/res "${BENCH_V2_ROUNDS:-3}" "${BENCH_V2_RUNS:-8}" \
	"${BENCH_V2_API_N:-10}" \
	"$(git describe --always --dirty 2>/dev/null || echo unknown)" \
	"${BENCH_POOL_OFF_CONF:-$'[Pool]\nSize=0'}" || log "the VM run failed (see $OUT/console.log)"
[ -d "$OUT/res" ] || { log "no results from the VM ($OUT/res missing)"; exit 1; }
python3 bench/report_v2.py "$OUT/res" "$DOCS" || exit 1
log "wrote $DOCS/benchmarks-v2.md and its section of $DOCS/benchmarks.md"
