#!/usr/bin/env bash
# The Python package's tests (pytest) with real sandboxes, from `make test`:
#   as the caller (root: direct and through a real sboxd the fixture starts),
#   then, when root, as nobody (direct, user namespaces) from a world-readable
#   copy, as tests/run-tests.sh does for the C suite.
#
#   python/tests/run.sh [RELEASE_BUILD]
set -u -o pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
release=$(cd "$top" && cd "${1:-build/release}" && pwd)

# A python3 with pytest: $PYTHON, python3 on PATH, else Debian's.
py=
for c in ${PYTHON:-} python3 /usr/bin/python3; do
	if "$c" -c 'import pytest' 2>/dev/null; then py=$(command -v "$c"); break; fi
done
if [ -z "$py" ]; then
	echo "test-python: no python3 with pytest (apt-get install python3-pytest)" >&2
	exit 1
fi
rc=0
pytest_args=(-q -rs -p no:cacheprovider)

echo "== python tests as $(id -un) ($py)"
(cd "$top/python" && SBOXRUN="$release/sboxrun" SBOXD="$release/sboxd" \
	"$py" -m pytest "${pytest_args[@]}" tests) || rc=1

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	echo "== python tests as nobody (direct, user namespaces)"
	copy=$(mktemp -d /var/tmp/sbox-pytest.XXXXXX)
	chmod 755 "$copy"
	cp -r "$top/python" "$copy/python"
	cp "$release/sboxrun" "$copy/"
	chmod -R a+rX "$copy"
	(cd "$copy/python" && env SBOXRUN="$copy/sboxrun" SBOX_TEST_MODES=direct HOME="$copy" \
		setpriv --reuid nobody --regid nogroup --clear-groups \
		"$py" -m pytest "${pytest_args[@]}" tests) || rc=1
	rm -rf "$copy"
fi
exit $rc
