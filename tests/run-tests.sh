#!/usr/bin/env bash
# Run sbox's tests: unit tests, then integration tests as root and again as an
# unprivileged user (user namespaces), then a valgrind pass.
#
#   tests/run-tests.sh [--unit-only] [--no-valgrind] [--valgrind-only] [--only REGEX] \
#       ASAN_BUILD RELEASE_BUILD
#
# The valgrind pass runs the release build's unit tests (`make VARIANT=release
# tests` builds them) and sboxrun itself; it fails when it ran no test at all,
# so a missing build can't pass as a clean run.  --valgrind-only runs just
# that pass (`make valgrind`).
#
# --only REGEX runs just the test binaries whose name matches (no docs check,
# no valgrind): the v2 VM uses it to run the cgroup and device
# suites, which are what differ there.  Inside that VM (SBOX_V2_DELEGATED_LEAF
# set) the unprivileged pass runs from a delegated, non-root cgroup.
#
# Unit and integration tests run against the ASan/UBSan build; the probe (a
# static binary) comes from the release build.  In CI (CI=true) a skipped test
# in the root run is a failure: CI must prove everything it can.
set -u -o pipefail
unit_only=0 valgrind=1 valgrind_only=0 only=
while [ $# -gt 0 ]; do
	case "$1" in
	--unit-only) unit_only=1; shift ;;
	--no-valgrind) valgrind=0; shift ;;
	--valgrind-only) valgrind_only=1; shift ;;
	--only) only=$2; valgrind=0; shift 2 ;;
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
	printf '%s\n' "$out" | grep -vE '^\[ +(RUN|OK) +\]' | sed "s|^|  [$label] |"
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
# Integration binaries to run: all, or those --only names.
matches() { [ -z "$only" ] || [[ "$(basename "$1")" =~ $only ]]; }
wanted() { ! is_unit "$1" && matches "$1"; }

# The unprivileged user: from the v2 VM's delegated cgroup when there is one.
as_nobody=(setpriv --reuid nobody --regid nogroup --clear-groups)
if [ -n "${SBOX_V2_DELEGATED_LEAF:-}" ]; then
	as_nobody=("$top/tests/v2/delegated.sh")
fi

if [ "$valgrind_only" = 0 ]; then
echo "== unit tests ($asan)"
for t in "$asan"/tests/test_*; do
	[ -x "$t" ] && is_unit "$t" && matches "$t" || continue
	run_one "unit $(basename "$t")" 1 "$t"
done
if [ -z "$only" ]; then
	echo "== docs match the directive table"
	if [ -x "$release/sboxrun" ] && ./tests/check-docs.sh "$release/sboxrun" | sed 's/^/  [docs] /'; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1)); failures+=("docs")
	fi
	echo "== no area markers; docs/design.md's layout matches the tree"
	if ./tests/check-layout.sh | sed 's/^/  [layout] /'; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1)); failures+=("layout")
	fi
	echo "== a newcomer's walk: README's commands, scripts/as-root, pkg-config --static"
	if ./tests/check-walk.sh "$release" | sed 's/^/  [walk] /'; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1)); failures+=("walk")
	fi
fi

if [ "$unit_only" = 0 ]; then
	export SBOXRUN="$top/$asan/sboxrun" SBOX_PROBE="$top/$release/sbox-probe"
	echo "== integration tests as root"
	for t in "$asan"/tests/test_*; do
		[ -x "$t" ] && wanted "$t" || continue
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
			[ -x "$t" ] && wanted "$t" && cp "$t" "$copy/"
		done
		for t in "$copy"/test_*; do
			[ -x "$t" ] || continue
			run_one "nobody $(basename "$t")" 0 env -C "$copy" SBOXRUN="$copy/sboxrun" \
				SBOX_PROBE="$copy/sbox-probe" "${as_nobody[@]}" "$t"
		done
		rm -rf "$copy"
	fi
fi
fi

if [ "$valgrind" = 1 ]; then
	echo "== valgrind (release build)"
	vg_before=$((passed + failed + skipped))
fi
if [ "$valgrind" = 1 ] && command -v valgrind >/dev/null && [ -x "$release/sboxrun" ]; then
	vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
	    --suppressions="$top/tests/valgrind.supp")
	for t in "$release"/tests/test_*; do
		[ -x "$t" ] && is_unit "$t" || continue
		# Skips allowed: valgrind has no seccomp filters, and the tests
		# that need them skip themselves under it (and only there).
		run_one "valgrind $(basename "$t")" 0 "${vg[@]}" "$t"
	done
	# The launcher itself: parse-and-print, and a real launch (valgrind has no
	# clone3, open_tree, move_mount, mount_setattr or openat2, so this also
	# exercises the clone(2) and mount(2) fallbacks and the userspace path
	# resolver: docs/design.md, "Kernel interfaces").
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
	# The same launch unprivileged (user namespace), from a world-readable copy.
	if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
		copy=$(mktemp -d /var/tmp/sbox-vg.XXXXXX)
		chmod 755 "$copy"
		cp "$release/sboxrun" "$release/sbox-probe" tests/valgrind.supp "$copy/"
		vgn=("${vg[@]/--suppressions=*/--suppressions=$copy/valgrind.supp}")
		if env -C "$copy" setpriv --reuid nobody --regid nogroup --clear-groups \
			"${vgn[@]}" "$copy/sboxrun" -- "$copy/sbox-probe" exit 0 >/dev/null 2>"$copy/err"; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1)); failures+=("valgrind sboxrun as nobody")
			sed 's/^/  [valgrind nobody] /' "$copy/err"
		fi
		rm -rf "$copy"
	fi
fi
if [ "$valgrind" = 1 ]; then
	vg_count=$((passed + failed + skipped - vg_before))
	echo "  [valgrind] $vg_count test(s) counted under valgrind"
	if [ "$vg_count" -eq 0 ]; then
		echo "  [valgrind] no test ran under valgrind (is valgrind installed, is $release/tests built?)"
		failed=$((failed + 1)); failures+=("valgrind: nothing ran")
	fi
fi

echo
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
