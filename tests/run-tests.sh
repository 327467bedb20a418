#!/usr/bin/env bash
# Run sbox's tests: unit tests, then integration tests as root and again as an
# unprivileged user (user namespaces), then a valgrind pass.
#
#   tests/run-tests.sh [--unit-only] [--no-valgrind] ASAN_BUILD RELEASE_BUILD
#
# Unit and integration tests run against the ASan/UBSan build; the probe (a
# static binary) comes from the release build.  In CI (CI=true) a skipped test
# in the root run is a failure: CI must prove everything it can.
set -u -o pipefail
unit_only=0 valgrind=1
while [ $# -gt 0 ]; do
	case "$1" in
	--unit-only) unit_only=1; shift ;;
	--no-valgrind) valgrind=0; shift ;;
	*) break ;;
	esac
done
asan=${1:-build/asan}
release=${2:-build/release}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2

passed=0 failed=0 skipped=0
failures=()

# Run one cmocka binary; fold its counts into the totals.
run_one() { # label, forbid_skips, command...
	local label=$1 forbid=$2; shift 2
	local out rc p f s
	out=$("$@" 2>&1); rc=$?
	printf '%s\n' "$out" | grep -vE '^\[ (RUN|     OK) ' | sed "s|^|  [$label] |"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	s=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | tail -1)
	p=${p:-0} f=${f:-0} s=${s:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# crashed, sanitizer report, or no cmocka summary at all
		f=1
	fi
	if [ "$forbid" = 1 ] && [ "$s" -gt 0 ] && [ "${CI:-}" = true ]; then
		echo "  [$label] $s skipped test(s) are not allowed in CI's root run"
		f=$((f + s)); s=0
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	[ "$f" -gt 0 ] && failures+=("$label")
	return 0
}

is_unit() { [ -f "tests/unit/$(basename "$1").c" ]; }

echo "== unit tests ($asan)"
for t in "$asan"/tests/test_*; do
	[ -x "$t" ] && is_unit "$t" || continue
	run_one "unit $(basename "$t")" 1 "$t"
done

echo "== docs match the directive table"
if [ -x "$release/sboxrun" ] && ./tests/check-docs.sh "$release/sboxrun" | sed 's/^/  [docs] /'; then
	passed=$((passed + 1))
else
	failed=$((failed + 1)); failures+=("docs")
fi

if [ "$unit_only" = 0 ]; then
	export SBOXRUN="$top/$asan/sboxrun" SBOX_PROBE="$top/$release/sbox-probe"
	echo "== integration tests as root"
	for t in "$asan"/tests/test_*; do
		[ -x "$t" ] && ! is_unit "$t" || continue
		run_one "root $(basename "$t")" 1 "$t"
	done

	# The unprivileged run works on a world-readable copy: a CI checkout may
	# live in a directory the user nobody can't enter.
	if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
		echo "== integration tests as nobody (user namespace)"
		copy=$(mktemp -d /var/tmp/sbox-tests.XXXXXX)
		chmod 755 "$copy"
		cp "$asan/sboxrun" "$release/sbox-probe" "$copy/"
		for t in "$asan"/tests/test_*; do
			[ -x "$t" ] && ! is_unit "$t" && cp "$t" "$copy/"
		done
		for t in "$copy"/test_*; do
			run_one "nobody $(basename "$t")" 0 env -C "$copy" SBOXRUN="$copy/sboxrun" \
				SBOX_PROBE="$copy/sbox-probe" setpriv --reuid nobody --regid nogroup \
				--clear-groups "$t"
		done
		rm -rf "$copy"
	fi
fi

if [ "$valgrind" = 1 ] && command -v valgrind >/dev/null && [ -x "$release/sboxrun" ]; then
	echo "== valgrind (release build)"
	vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite)
	for t in "$release"/tests/test_*; do
		[ -x "$t" ] && is_unit "$t" || continue
		run_one "valgrind $(basename "$t")" 1 "${vg[@]}" "$t"
	done
	# The launcher itself: parse-and-print, and a real launch (valgrind has no
	# clone3, so this also exercises the clone(2) fallback).
	for args in "--check --hostname vg --env A=1" "-- $release/sbox-probe exit 0"; do
		# shellcheck disable=SC2086
		if "${vg[@]}" "$release/sboxrun" $args >/dev/null 2>/tmp/sbox-vg.$$; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1)); failures+=("valgrind sboxrun $args")
			sed 's/^/  [valgrind] /' /tmp/sbox-vg.$$
		fi
		rm -f /tmp/sbox-vg.$$
	done
fi

echo
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
