#!/usr/bin/env bash
# A newcomer's walk, checked: README.md's commands work as written as root
# (no sudo on a fresh Debian) and as a user with sudo; its examples name
# commands Debian has (python3, not python); and libsbox's pkg-config file
# is enough to link a static node agent (pkg-config --static).
#
#   tests/check-walk.sh RELEASE_BUILD
set -u -o pipefail
release=${1:-build/release}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
bad=0
fail() { echo "FAIL: $*"; bad=1; }
ok() { echo "ok: $*"; }

# The shell lines of README.md's ```sh blocks.
readme_cmds() { awk '/^```sh/{on=1; next} /^```/{on=0} on' README.md; }

if readme_cmds | grep -nE '(^|[;&|(]\s*)sudo\b'; then
	fail "README.md runs sudo: a fresh Debian 12 (and CI) has none; use scripts/as-root"
else
	ok "README.md's commands don't need sudo"
fi
if readme_cmds | grep -nE '(^|\s)python(\s|$)'; then
	fail "README.md runs 'python': Debian has only python3"
else
	ok "README.md's examples run python3"
fi
readme_cmds | grep -oE '\./scripts/[A-Za-z0-9_.-]+' | sort -u | while read -r s; do
	[ -x "$s" ] || { echo "FAIL: README.md runs $s, which is not an executable script"; exit 1; }
done || bad=1

# scripts/as-root: as root it runs the command itself; as a user it goes
# through sudo, and without sudo it says what to do.  A fake sudo first on
# PATH records each call: as root it must not be called, as a user it must.
t=$(mktemp -d)
printf '#!/bin/sh\necho called >> "%s/sudo-called"\nexec "$@"\n' "$t" > "$t/sudo"
chmod 755 "$t/sudo"
out=$(env PATH="$t:/usr/bin:/bin" ./scripts/as-root id -u 2>&1)
if [ "$(id -u)" = 0 ]; then
	[ "$out" = 0 ] && [ ! -e "$t/sudo-called" ] \
		&& ok "as-root runs the command directly as root" \
		|| fail "as-root as root did not run the command directly: '$out'$([ -e "$t/sudo-called" ] && echo ', through sudo')"
else
	[ -e "$t/sudo-called" ] \
		&& ok "as-root as a user goes through sudo" \
		|| fail "as-root as uid $(id -u) did not call sudo: '$out'"
fi
rm -rf "$t"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	t=$(mktemp -d /var/tmp/sbox-walk.XXXXXX)
	chmod 755 "$t"
	mkdir "$t/bin" "$t/nosudo"
	cp scripts/as-root "$t/"
	printf '#!/bin/sh\necho "fake sudo: $*"\n' > "$t/bin/sudo"
	chmod 755 "$t/bin/sudo"
	for c in id sh; do ln -s "$(command -v $c)" "$t/nosudo/$c"; ln -s "$(command -v $c)" "$t/bin/$c"; done
	as_nobody=("$(command -v setpriv)" --reuid nobody --regid nogroup --clear-groups)
	out=$(env -C "$t" PATH="$t/bin" "${as_nobody[@]}" "$t/as-root" make test 2>&1)
	[ "$out" = "fake sudo: make test" ] && ok "as-root as a user goes through sudo" \
		|| fail "as-root as a user with sudo: '$out'"
	out=$(env -C "$t" PATH="$t/nosudo" "${as_nobody[@]}" "$t/as-root" make test 2>&1); rc=$?
	[ "$rc" = 1 ] && [[ "$out" == *"needs root, and sudo is not installed"* ]] \
		&& ok "as-root as a user without sudo says so" \
		|| fail "as-root without sudo: rc $rc, '$out'"
	rm -rf "$t"
fi

# pkg-config --static: every library libsbox.a needs is in Requires.private
# (libcap was missing: the link failed on cap_from_name).
if [ -f "$release/sbox.pc" ] && [ -f "$release/libsbox.a" ] && command -v pkg-config >/dev/null; then
	libs=$(PKG_CONFIG_PATH="$release" pkg-config --static --libs sbox) || libs=
	case " $libs " in *" -lcap "*) ok "pkg-config --static --libs sbox: $libs" ;;
	*) fail "pkg-config --static --libs sbox lacks -lcap: '$libs'" ;; esac
	t=$(mktemp -d)
	# shellcheck disable=SC2086
	if ${CC:-cc} -std=gnu11 -Iinclude -o "$t/node-agent" examples/node-agent.c "$release/libsbox.a" \
		$(printf '%s\n' $libs | grep -vE '^-L|^-lsbox$') 2>"$t/err"; then
		ok "examples/node-agent.c links against libsbox.a with pkg-config --static's libraries"
	else
		sed 's/^/  /' "$t/err" | tail -5
		fail "examples/node-agent.c does not link with pkg-config --static --libs sbox"
	fi
	rm -rf "$t"
else
	fail "$release/sbox.pc or libsbox.a missing: run make first"
fi
exit $bad
