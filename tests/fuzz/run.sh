#!/usr/bin/env bash
# Run each libFuzzer target for SECONDS from its seeds, then print each
# one's figures (runs, speed, corpus, crashes) together.  `make fuzz` calls
# it with every tests/fuzz/fuzz_*.c it built.
#
#   tests/fuzz/run.sh FUZZ_BUILD_DIR SECONDS NAME...
#
# Seeds of fuzz_NAME: tests/fuzz/corpus_NAME/ (the wire decoder's:
# tests/fuzz/corpus/); what a run finds is kept in FUZZ_BUILD_DIR/corpus-NAME.
set -u -o pipefail
dir=$1 secs=$2
shift 2
top=$(cd "$(dirname "$0")/../.." && pwd)
bad=0 summary=()
for f in "$@"; do
	name=${f#fuzz_}
	seeds=$top/tests/fuzz/corpus_$name
	[ "$f" = fuzz_protocol ] && seeds=$top/tests/fuzz/corpus
	[ -d "$seeds" ] || seeds=
	mkdir -p "$dir/corpus-$name"
	# Each fuzzer's longest input: the policy parser's past its 1 MiB
	# bound (SBOX_INI_SIZE_MAX), so that the bound itself is fuzzed; the
	# wire decoders' within a message's size.
	case $f in
	fuzz_policy) max_len=$((1024 * 1024 + 4096)) ;;
	*) max_len=65536 ;;
	esac
	echo "== $f: $secs s"
	# shellcheck disable=SC2086
	"$dir/$f" -max_total_time="$secs" -max_len="$max_len" -timeout=10 -print_final_stats=1 \
		"$dir/corpus-$name" $seeds >"$dir/$f.log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		grep -E '^(Done|stat::)' "$dir/$f.log" | sed "s/^/  [$f] /"
	else
		tail -n 40 "$dir/$f.log" | sed "s/^/  [$f] /"
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/$f.log" | tail -1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/$f.log" | tail -1)
	cov=$(grep -oE 'cov: [0-9]+' "$dir/$f.log" | tail -1)
	units=$(find "$dir/corpus-$name" -type f | wc -l)
	if [ "$rc" -ne 0 ]; then
		bad=1
		summary+=("$f: FAILED (exit $rc) after ${runs:-?} runs; see $dir/$f.log")
	else
		summary+=("$f: ${runs:-?} runs in $secs s (${speed:-?}/s), ${cov:-cov: ?}, corpus $units, 0 crashes")
	fi
done
echo
echo "== fuzz figures"
printf '  %s\n' "${summary[@]}"
exit $bad
