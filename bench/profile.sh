#!/usr/bin/env bash
# Where a direct sboxrun launch of /bin/true spends its time; files in OUT
# that bench/report.py summarises in docs/benchmarks.md:
#   perf-stat.txt      CPU time against wall time (how much is waiting)
#   perf-children.txt  CPU profile, inclusive, of the launches' processes only
#   perf-trace.txt     per-process syscall time, blocking included (perf trace -s)
#   strace-c.txt       the syscalls of one launch, every process (strace -c -f)
#   callgrind.txt      instructions in sboxrun's own process (the parent)
#   ablation-*.json    hyperfine: what removing one piece saves
#   phases-direct.json, phases-sboxd.json, phases-sboxd-nopool.json
#                      per launch of each path, full isolation: counters
#                      (CPU, page faults, forks, cgroup attaches, mounts),
#                      syscalls by wall time, and where its processes block
#                      (RCU grace periods, the cgroup attach's rwsem, ...),
#                      from perf stat, strace -f -c -w and perf sched
#                      switches (bench/profile_sum.py)
#
#   bench/profile.sh BUILD_DIR OUT        (as root)
#
# Environment: BENCH_PROFILE_SOCKET and BENCH_PROFILE_SBOXD_PID (an sboxd
# to profile the path through; without them, the direct path only),
# BENCH_PROFILE_NOPOOL_SOCKET and _PID (the same with its pool off),
# BENCH_PROFILE_CLI (sboxrun's full-isolation flags, default --memory 256M
# --pids 64), BENCH_PROFILE_SETS (the same as policy directives, one a
# line, for the API driver), BENCH_PROFILE_N (launches, default 200),
# BENCH_PROFILE_PHASE_N (launches per phase measurement, default 50),
# BENCH_PROFILE_ONLY=phases (the phases alone, a minute instead of several).
set -u -o pipefail
B=${1:?usage: profile.sh BUILD_DIR OUT}
OUT=${2:?usage: profile.sh BUILD_DIR OUT}
HERE=$(cd "$(dirname "$0")" && pwd)
SB=$(cd "$B" && pwd)/sboxrun
APIBENCH=$(cd "$B" && pwd)/apibench
N=${BENCH_PROFILE_N:-200}
mkdir -p "$OUT"
cd /
# Direct mode even when an sboxd answers on the default socket.
SBA=("$SB")
"$SB" --help 2>&1 | grep -q -- '--direct' && SBA+=(--direct)
SB="${SBA[*]}"   # as a command line for sh -c and hyperfine
loop="for i in \$(seq $N); do $SB -- /bin/true; done"
have() { command -v "$1" >/dev/null 2>&1; }
whole() { [ "${BENCH_PROFILE_ONLY:-}" != phases ]; }
say() { printf 'profile: %s\n' "$*" >&2; }

if whole && have perf; then
	say "perf stat, perf record, perf trace ($N launches)"
	perf stat -r 50 -e task-clock,context-switches,cpu-migrations,page-faults \
		-o "$OUT/perf-stat.txt" -- "${SBA[@]}" -- /bin/true
	# Without -a: the launches and what they fork, not the neighbours.
	perf record -q -o "$OUT/perf.data" -e cpu-clock -F 4999 -g -- sh -c "$loop" \
		>/dev/null 2>&1
	perf report -i "$OUT/perf.data" --children --sort sym --stdio -g none \
		2>/dev/null | grep -v '^#' | grep -v '^$' | head -400 >"$OUT/perf-children.txt"
	perf report -i "$OUT/perf.data" --no-children --sort comm --stdio -g none \
		2>/dev/null | grep -v '^#' | grep -v '^$' >"$OUT/perf-comm.txt"
	rm -f "$OUT/perf.data" "$OUT/perf.data.old"
	timeout 120 perf trace -s -o "$OUT/perf-trace.txt" -- \
		sh -c "for i in \$(seq 50); do $SB -- /bin/true; done" >/dev/null 2>&1 ||
		say "perf trace failed"
elif ! have perf; then
	say "perf not installed (apt-get install linux-perf): no CPU profile"
fi
if whole && have strace; then
	strace -f -c -o "$OUT/strace-c.txt" "${SBA[@]}" -- /bin/true
fi
if whole && have valgrind; then
	say "callgrind"
	valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" \
		"${SBA[@]}" -- /bin/true >/dev/null 2>"$OUT/callgrind.log"
	callgrind_annotate --inclusive=yes "$OUT/callgrind.out" 2>/dev/null |
		head -60 >"$OUT/callgrind.txt"
	rm -f "$OUT/callgrind.out"*
fi
# Per-launch phases of a launch with full isolation, direct and through
# sboxd: the same driver (apibench) for both, so that the figures differ
# only by the path.
PHASE_N=${BENCH_PROFILE_PHASE_N:-50}
read -r -a CLI <<<"${BENCH_PROFILE_CLI:---memory 256M --pids 64}"
SETS=()
while read -r s; do
	[ -n "$s" ] && SETS+=(-s "$s")
done <<<"${BENCH_PROFILE_SETS:-}"
# Counters: those this kernel has (perf stat refuses an unknown event).
phase_events() {
	local e have=()
	for e in task-clock page-faults context-switches cpu-migrations \
		sched:sched_process_fork sched:sched_process_exec \
		cgroup:cgroup_attach_task cgroup:cgroup_mkdir cgroup:cgroup_rmdir \
		syscalls:sys_enter_mount syscalls:sys_enter_umount syscalls:sys_enter_clone3 \
		syscalls:sys_enter_unshare syscalls:sys_enter_setns; do
		perf stat -e "$e" -x, -o /dev/null -- true 2>/dev/null && have+=("$e")
	done
	local IFS=,
	echo "${have[*]}"
}

# TOOL (perf stat or strace, which take -o FILE, and -p PID or -- CMD) over
# the client command and, with sboxd's pid, a second one attached to sboxd
# meanwhile: attached apart, since a strace that runs a command holds SIGINT
# off, and one attached to sboxd only ends when told to.  Prints the output
# files, comma-separated.
client_and_sboxd() { # sboxd-pid|"" prefix tool [args...] -- command...
	local spid=$1 prefix=$2 tool=() bg="" files
	shift 2
	while [ "$1" != -- ]; do
		tool+=("$1")
		shift
	done
	shift
	if [ -n "$spid" ]; then
		"${tool[@]}" -o "$prefix-sboxd" -p "$spid" >/dev/null 2>&1 &
		bg=$!
		sleep 0.3
	fi
	"${tool[@]}" -o "$prefix-client" -- "$@" >/dev/null 2>&1 ||
		say "phases: ${tool[0]}'s run failed"
	files="$prefix-client"
	if [ -n "$bg" ]; then
		kill -INT "$bg" 2>/dev/null
		wait "$bg" 2>/dev/null
		files="$files,$prefix-sboxd"
	fi
	echo "$files"
}

phase() { # name sboxd-pid|"" command...: phases-NAME.json
	local name=$1 spid=$2 stats=/dev/null straces=/dev/null rootf="$OUT/phase-$1.root"
	shift 2
	say "phases: $name ($PHASE_N launches each for perf stat, strace, perf sched)"
	[ -n "$EVENTS" ] &&
		stats=$(client_and_sboxd "$spid" "$OUT/phase-$name.stat" perf stat -x, -e "$EVENTS" -- "$@")
	# Wall time (-w), so that a call that blocks shows its wait.
	have strace &&
		straces=$(client_and_sboxd "$spid" "$OUT/phase-$name.strace" strace -f -c -w -- "$@")
	if have perf; then
		# Every CPU (-a): a thread's switch back in is recorded on the CPU
		# that runs it; bench/profile_sum.py keeps the launch's processes.
		# shellcheck disable=SC2016  # $$ and $@ are the inner shell's
		perf record -q -a -g -e sched:sched_switch -e sched:sched_process_fork \
			-o "$OUT/sched.data" -- sh -c 'echo $$ >"$0"; exec "$@"' "$rootf" "$@" \
			>/dev/null 2>&1 || say "phases $name: perf record's run failed"
		perf script -i "$OUT/sched.data" -F comm,pid,tid,time,event,trace,ip,sym \
			>"$OUT/phase-$name.sched" 2>/dev/null
		rm -f "$OUT/sched.data" "$OUT/sched.data.old"
	fi
	python3 "$HERE/profile_sum.py" "$PHASE_N" "$stats" "$straces" \
		"$OUT/phase-$name.sched" "$(cat "$rootf" 2>/dev/null)${spid:+,$spid}" \
		>"$OUT/phases-$name.json" || say "phases $name: no summary"
	rm -f "$OUT/phase-$name.sched"
}

if [ -x "$APIBENCH" ]; then
	EVENTS=""
	have perf && EVENTS=$(phase_events)
	phase direct "" "$APIBENCH" -n "$PHASE_N" -w 0 fork -- "${SBA[@]}" "${CLI[@]}" -- /bin/true
	if [ -n "${BENCH_PROFILE_SOCKET:-}" ] && [ -n "${BENCH_PROFILE_SBOXD_PID:-}" ]; then
		phase sboxd "$BENCH_PROFILE_SBOXD_PID" "$APIBENCH" -n "$PHASE_N" -w 0 \
			-S "$BENCH_PROFILE_SOCKET" "${SETS[@]}" libsbox
	fi
	if [ -n "${BENCH_PROFILE_NOPOOL_SOCKET:-}" ] && [ -n "${BENCH_PROFILE_NOPOOL_PID:-}" ]; then
		phase sboxd-nopool "$BENCH_PROFILE_NOPOOL_PID" "$APIBENCH" -n "$PHASE_N" -w 0 \
			-S "$BENCH_PROFILE_NOPOOL_SOCKET" "${SETS[@]}" libsbox
	fi
fi

# Ablation: the same launch without one piece at a time.
if whole && have hyperfine; then
	say "ablation"
	ab() { # name command...
		local name=$1
		shift
		hyperfine -N --style none --warmup 10 --runs 100 \
			--export-json "$OUT/ablation-$name.json" -- "$*" >/dev/null 2>&1 ||
			say "ablation $name failed"
	}
	ab default "$SB -- /bin/true"
	ab net-host "$SB --net host -- /bin/true"
	ab seccomp-none "$SB --seccomp none -- /bin/true"
	ab net-host-seccomp-none "$SB --net host --seccomp none -- /bin/true"
	ab unshare-net "unshare --fork --pid --mount --uts --ipc --net --cgroup /bin/true"
	ab unshare-nonet "unshare --fork --pid --mount --uts --ipc --cgroup /bin/true"
	ab sboxrun-version "$SB --version"
fi
exit 0
