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
	SBOX_LIBSBOX="$release/libsbox.so" "$py" -m pytest "${pytest_args[@]}" tests) || rc=1

# An sboxd root starts, for the unprivileged client (AllowUsers=nobody).
start_sboxd() { # dir
	printf '[Daemon]\nStateDirectory=%s/state\nAllowUsers=nobody\n' "$1" >"$1/sbox.conf"
	chmod 644 "$1/sbox.conf"
	setsid "$release/sboxd" --foreground --config "$1/sbox.conf" --socket "$1/sboxd.sock" \
		>"$1/sboxd.log" 2>&1 &
	sboxd_pid=$!
	"$py" - "$1/sboxd.sock" <<-'EOF'
		import socket, sys, time
		for _ in range(200):
		    try:
		        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(sys.argv[1]); sys.exit(0)
		    except OSError:
		        time.sleep(0.05)
		sys.exit("sboxd did not answer on " + sys.argv[1])
	EOF
}

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	copy=$(mktemp -d /var/tmp/sbox-pytest.XXXXXX)
	chmod 755 "$copy"
	cp -r "$top/python" "$copy/python"
	cp "$release/sboxrun" "$release/libsbox.so" "$copy/"
	chmod -R a+rX "$copy"
	modes=direct sock=
	if [ -x "$release/sboxd" ] && start_sboxd "$copy"; then
		modes=direct,sboxd sock=$copy/sboxd.sock
	fi
	echo "== python tests as nobody (direct with user namespaces${sock:+, and through sboxd})"
	(cd "$copy/python" && env SBOXRUN="$copy/sboxrun" SBOX_LIBSBOX="$copy/libsbox.so" \
		SBOX_TEST_MODES=$modes \
		SBOX_TEST_SOCKET="$sock" HOME="$copy" \
		setpriv --reuid nobody --regid nogroup --clear-groups \
		"$py" -m pytest "${pytest_args[@]}" tests) || rc=1
	if [ -n "${sboxd_pid:-}" ]; then
		kill "$sboxd_pid"
		wait "$sboxd_pid"
	fi
	rm -rf "$copy"
fi
exit $rc
