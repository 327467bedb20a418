#!/usr/bin/env bash
# Where a direct sboxrun launch of /bin/true spends its time; files in OUT
# that bench/report.py summarises in docs/benchmarks.md:
#   perf-stat.txt      CPU time against wall time (how much is waiting)
#   perf-children.txt  CPU profile, inclusive, of the launches' processes only
#   perf-trace.txt     per-process syscall time, blocking included (perf trace -s)
#   strace-c.txt       the syscalls of one launch, every process (strace -c -f)
#   callgrind.txt      instructions in sboxrun's own process (the parent)
#   ablation-*.json    hyperfine: what removing one piece saves
#
#   bench/profile.sh BUILD_DIR OUT        (as root)
set -u -o pipefail
B=${1:?usage: profile.sh BUILD_DIR OUT}
OUT=${2:?usage: profile.sh BUILD_DIR OUT}
SB=$(cd "$B" && pwd)/sboxrun
N=${BENCH_PROFILE_N:-200}
mkdir -p "$OUT"
cd /
# Direct mode even when an sboxd answers on the default socket.
SBA=("$SB")
"$SB" --help 2>&1 | grep -q -- '--direct' && SBA+=(--direct)
SB="${SBA[*]}"   # as a command line for sh -c and hyperfine
loop="for i in \$(seq $N); do $SB -- /bin/true; done"
have() { command -v "$1" >/dev/null 2>&1; }
say() { printf 'profile: %s\n' "$*" >&2; }

if have perf; then
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
else
	say "perf not installed (apt-get install linux-perf): no CPU profile"
fi
if have strace; then
	strace -f -c -o "$OUT/strace-c.txt" "${SBA[@]}" -- /bin/true
fi
if have valgrind; then
	say "callgrind"
	valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" \
		"${SBA[@]}" -- /bin/true >/dev/null 2>"$OUT/callgrind.log"
	callgrind_annotate --inclusive=yes "$OUT/callgrind.out" 2>/dev/null |
		head -60 >"$OUT/callgrind.txt"
	rm -f "$OUT/callgrind.out"*
fi
# Ablation: the same launch without one piece at a time.
if have hyperfine; then
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
