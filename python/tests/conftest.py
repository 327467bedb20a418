"""Fixtures: real sandboxes, direct (sboxrun) and through a real sboxd that
the session starts as tests/integration/daemon_harness.c does.

Environment: SBOXRUN (the sboxrun binary; default build/release/sboxrun),
SBOXD (default: next to sboxrun), SBOX_TEST_MODES ("direct,sboxd" as root,
"direct" otherwise), SBOX_TEST_SOCKET (an sboxd to use instead of starting
one: the unprivileged pass of run.sh, whose sboxd root started).
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import sbox  # noqa: E402
from sbox import _launch  # noqa: E402

ROOT = os.geteuid() == 0


def _modes():
    env = os.environ.get("SBOX_TEST_MODES")
    if env:
        return [m for m in env.split(",") if m]
    return ["direct", "sboxd"] if ROOT else ["direct"]


def sboxrun_path():
    return _launch.find_sboxrun()


@pytest.fixture(scope="session")
def sboxd():
    """A real sboxd on a private socket; yields the socket path.  Given
    $SBOX_TEST_SOCKET (run.sh's unprivileged pass: root started that sboxd),
    that one."""
    if os.environ.get("SBOX_TEST_SOCKET"):
        yield os.environ["SBOX_TEST_SOCKET"]
        return
    if not ROOT:
        pytest.skip("sboxd runs as root: its tests start one")
    bin_ = os.environ.get("SBOXD") or os.path.join(os.path.dirname(sboxrun_path()), "sboxd")
    if not os.access(bin_, os.X_OK):
        pytest.skip("no sboxd binary at %s" % bin_)
    d = tempfile.mkdtemp(prefix="sbox-pytest-sboxd-")
    os.chmod(d, 0o755)
    conf, sock = os.path.join(d, "sbox.conf"), os.path.join(d, "sboxd.sock")
    with open(conf, "w") as f:
        f.write("[Daemon]\nStateDirectory=%s/state\nAllowUsers=nobody\n" % d)
    os.chmod(conf, 0o644)
    log = open(os.path.join(d, "sboxd.log"), "w")
    p = subprocess.Popen([bin_, "--foreground", "--config", conf, "--socket", sock],
                         stdout=log, stderr=log, start_new_session=True)
    deadline = time.time() + 10
    while time.time() < deadline:
        if p.poll() is not None:
            pytest.fail("sboxd exited at start: %s" % open(log.name).read())
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.connect(sock)
            s.close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        p.kill()
        pytest.fail("sboxd did not answer within 10s")
    yield sock
    p.terminate()
    try:
        p.wait(15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(params=_modes())
def mode(request):
    return request.param


@pytest.fixture
def make_ctx(mode, request):
    """make_ctx(**options): a context of the current mode."""
    sock = request.getfixturevalue("sboxd") if mode == "sboxd" else None

    def make(**options):
        if mode == "sboxd":
            options.setdefault("socket", sock)
        else:
            options.setdefault("direct", True)
        return sbox.get_context(**options)

    make.mode = mode
    make.socket = sock
    return make
