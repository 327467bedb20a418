"""Zygotes: get_context(preload=...) forks each worker from a template that
imported the preload list once, into a fresh sandbox (docs/python.md,
"Zygotes").

Each test runs in the `zmode`s: "fake" (the protocol between program,
template and workers, with tests/fake_zygote.py standing in for libsbox:
no sandbox is built) and, where libsbox has the zygote API, "direct"
(root) and "sboxd" (through a real sboxd).  The sandbox's own properties
are checked in the real modes only.
"""

import concurrent.futures
import errno
import multiprocessing
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from multiprocessing.connection import wait as mp_wait

import pytest

import sbox
import workers
from conftest import ROOT, _modes
from sbox import _native, _zygote

FAKE = "fake_zygote:Fake"
HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.dirname(os.path.dirname(sbox.__file__))


def _api_missing():
    try:
        _native.Libsbox()
        return None
    except _native.NativeError as e:
        return str(e)


API_MISSING = _api_missing()


@pytest.fixture(params=["fake"] + _modes())
def zmode(request):
    return request.param


@pytest.fixture
def zctx(zmode, request, monkeypatch):
    """zctx(preload=[...], **options): a zygote context of the mode."""
    sock = None
    if zmode == "fake":
        monkeypatch.setattr(_zygote, "NATIVE", FAKE)
    else:
        if API_MISSING:
            pytest.skip("libsbox's zygote API is not there: %s" % API_MISSING)
        if zmode == "direct" and not ROOT:
            pytest.skip("direct zygotes are root's (test_unprivileged_direct_is_refused)")
        if zmode == "sboxd":
            sock = request.getfixturevalue("sboxd")

    def make(preload=("preload_marker",), **options):
        if sock:
            options.setdefault("socket", sock)
        else:
            options.setdefault("direct", True)
        return sbox.get_context(preload=list(preload), **options)

    make.mode = zmode
    make.socket = sock
    yield make
    _zygote.stop_all()


def real_only(zctx):
    if zctx.mode == "fake":
        pytest.skip("a property of the sandbox: the fake builds none")


def template_of(p):
    return p._popen._template


# The protocol: lifecycle, status relay, multiprocessing's objects (every zmode).


def test_exitcodes_and_signals_are_relayed(zctx):
    ctx = zctx()
    ps = [ctx.Process(target=workers.exit_with, args=(7,)),
          ctx.Process(target=workers.kill_self, args=(signal.SIGTERM,)),
          ctx.Process(target=workers.sleep, args=(60,)),
          ctx.Process(target=workers.sleep, args=(60,))]
    for p in ps:
        p.start()
    ps[2].terminate()
    ps[3].kill()
    for p in ps:
        p.join(60)
    assert [p.exitcode for p in ps] == [7, -signal.SIGTERM, -signal.SIGTERM, -signal.SIGKILL]
    ex = ps[0].sandbox_exit
    assert ex.exitcode == 7 and ex.via == "zygote" and ex.outcome == "exited"
    assert ps[3].sandbox_exit.signal == signal.SIGKILL
    # every worker came from the one template of this context
    assert len({template_of(p).pid for p in ps}) == 1


def test_sentinel_join_timeout_and_is_alive(zctx):
    ctx = zctx()
    p = ctx.Process(target=workers.sleep, args=(1.5,))
    p.start()
    assert p.is_alive()
    p.join(0.1)
    assert p.exitcode is None
    assert mp_wait([p.sentinel], 60) == [p.sentinel]
    assert p.exitcode == 0 and not p.is_alive()


def test_queue_pipe_pool_and_futures(zctx):
    ctx = zctx()
    q = ctx.Queue()
    a, b = ctx.Pipe()
    p = ctx.Process(target=workers.echo_conn, args=(q,))
    p.start()
    q.put(b)
    a.send("ping")
    assert a.poll(60) and a.recv() == ("pong", "ping")
    p.join(60)
    assert p.exitcode == 0
    with ctx.Pool(2) as pool:
        assert pool.map(workers.square, range(5)) == [0, 1, 4, 9, 16]
        with pytest.raises(ValueError, match="bad value 3 from a sandbox"):
            pool.apply(workers.fail, (3,))
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as ex:
        assert ex.submit(workers.square, 7).result(60) == 49


def test_large_arguments(zctx):
    ctx = zctx()
    q = ctx.Queue()
    blob = os.urandom(1 << 20) * 3
    p = ctx.Process(target=workers.echo_len, args=(q, blob))
    p.start()
    assert q.get(timeout=60) == (len(blob), blob[-100:] * 1000)
    p.join(60)
    assert p.exitcode == 0


def test_preloaded_module_comes_from_the_template(zctx):
    ctx = zctx()
    t = ctx.prepare()
    import preload_marker
    saved = preload_marker.VALUE
    preload_marker.VALUE = "changed in the parent after the template was made"
    try:
        q = ctx.Queue()
        p = ctx.Process(target=workers.read_marker, args=(q,))
        p.start()
        imported_in, value, wpid = q.get(timeout=60)
        p.join(60)
    finally:
        preload_marker.VALUE = saved
    assert imported_in == t.pid, "imported again in the worker, not by the template"
    assert value == "as imported", "the parent's globals reached the worker"


def test_template_reused_rekeyed_and_refused(zctx, tmp_path):
    ctx = zctx()
    t = ctx.prepare()
    assert ctx.prepare() is t and t.pid
    # per-worker options go to the worker's sandbox: same template
    q = ctx.Queue()
    p = ctx.Process(target=workers.square, args=(3,), sandbox={"hostname": "other", "pids": 64})
    p.start()
    p.join(60)
    assert p.exitcode == 0 and template_of(p) is t
    # another preload list: another template
    other = zctx(preload=["json"]).prepare()
    assert other.pid != t.pid
    # what a template fixes can't vary per worker
    with pytest.raises(sbox.OptionError, match="a template's workers run as its user"):
        zctx(user="0" if os.getuid() else "nobody")
    with pytest.raises(sbox.OptionError, match="wait_gpu"):
        ctx.Process(target=workers.square, args=(1,), sandbox={"wait_gpu": True}).start()
    with pytest.raises(ValueError, match="preload="):
        sbox.get_context().prepare()
    del q


def test_gpu_count_and_environment_reach_the_worker(zctx, monkeypatch):
    """gpus= goes to enter per worker (the fake echoes it as SBOX_FAKE_GPUS,
    as libsbox's env_out lines are applied); the rest of the environment is
    the program's choice at start(), nothing of the template's."""
    if zctx.mode != "fake":
        pytest.skip("the fake echoes the GPU count; real GPUs: tests/integration/test_zygote.c")
    monkeypatch.setenv("SBOX_TEST_PASSED", "at start")
    ctx = zctx(env={"SBOX_TEST_GIVEN": "1"}, pass_env=["SBOX_TEST_PASSED"])
    ctx.prepare()
    monkeypatch.setenv("SBOX_TEST_PASSED", "changed after the template")
    monkeypatch.setenv("SBOX_TEST_SECRET", "x")
    q = ctx.Queue()
    p = ctx.Process(target=workers.report, args=(q,), sandbox={"gpus": 2})
    p.start()
    env = q.get(timeout=60)["env"]
    p.join(60)
    assert env["SBOX_FAKE_GPUS"] == "2"
    assert env["SBOX_TEST_GIVEN"] == "1"
    assert env["SBOX_TEST_PASSED"] == "changed after the template"
    assert "SBOX_TEST_SECRET" not in env
    assert env["PATH"] == _zygote.DEFAULT_PATH
    assert set(env) <= ALLOWED_ENV | {"SBOX_FAKE_GPUS", "SBOX_TEST_GIVEN", "SBOX_TEST_PASSED"}


def test_timeout_kills_the_worker(zctx):
    ctx = zctx(timeout=1)
    p = ctx.Process(target=workers.sleep, args=(60,))
    t0 = time.time()
    p.start()
    p.join(60)
    assert p.exitcode == -signal.SIGKILL and p.sandbox_exit.timeout
    assert time.time() - t0 < 30


def test_timeout_from_a_policy_file(zctx, tmp_path):
    # A policy= file's RuntimeMaxSec= was not seen by the template: direct,
    # the worker ran on; through sboxd, sboxd's kill was not told as a
    # timeout.
    pol = tmp_path / "rt.policy"
    pol.write_text("[Sandbox]\nRuntimeMaxSec=1\n")
    ctx = zctx(policy=[str(pol)])
    p = ctx.Process(target=workers.sleep, args=(60,))
    t0 = time.time()
    p.start()
    p.join(60)
    assert p.exitcode == -signal.SIGKILL and p.sandbox_exit.timeout, p.sandbox_exit
    assert time.time() - t0 < 30


def test_spare_timeout_counts_from_the_hand_over(zctx):
    # Through sboxd a spare was placed with the worker's RuntimeMaxSec=,
    # which sboxd counts from the placement: a worker taken from a spare
    # made 3 s earlier had 2 s of its 5, and was not told it timed out.
    real_only(zctx)
    ctx = zctx(timeout=4)
    a = ctx.Process(target=workers.sleep, args=(20,))
    a.start()
    time.sleep(3)  # the spares (if any) made meanwhile
    b = ctx.Process(target=workers.sleep, args=(20,))
    t0 = time.time()
    b.start()
    b.join(60)
    took = time.time() - t0
    a.join(60)
    assert b.exitcode == -signal.SIGKILL
    assert b.sandbox_exit.timeout, b.sandbox_exit
    assert took > 3.5, "killed %.1f s after its start, not 4" % took


def test_oversized_request_leaves_the_template_serving(zctx, tmp_path):
    # A start whose request did not fit the template's socket (EMSGSIZE: a
    # large env=, then) was taken for a dead template: it was stopped, and
    # every running worker of it killed.  env= now goes to the worker on its
    # data pipe, whatever its size; a request still too big (its policy
    # text) fails alone, with the reason.
    ctx = zctx()
    a = ctx.Process(target=workers.sleep, args=(2,))
    a.start()
    q = ctx.Queue()
    big = ctx.Process(target=workers.report, args=(q,), sandbox={"env": {"BIG": "x" * 300000}})
    big.start()
    assert len(q.get(timeout=60)["env"]["BIG"]) == 300000
    big.join(60)
    assert big.exitcode == 0, big.sandbox_exit
    pol = tmp_path / "long.policy"
    pol.write_text("[Sandbox]\n" + "# a comment line of the policy, long enough\n" * 8000)
    b = ctx.Process(target=workers.exit_with, args=(0,), sandbox={"policy": [str(pol)]})
    with pytest.raises(sbox.SandboxError, match="bytes .*past the"):
        b.start()
    a.join(60)
    assert a.exitcode == 0, a.sandbox_exit
    c = ctx.Process(target=workers.exit_with, args=(3,))
    c.start()
    c.join(60)
    assert c.exitcode == 3
    assert template_of(c) is template_of(a)


def test_env_never_passes_through_the_template(zctx):
    # The template held each request's env= (and the policy text it was
    # written into), and every later fork of it copied that memory: a
    # worker without the secret found another's in its own /proc/self/mem.
    # The environment goes from the program to its worker only; env= is no
    # longer in the policy text, which keys the spares.
    real_only(zctx)
    ctx = zctx()
    q = ctx.Queue()
    a = ctx.Process(target=workers.report, args=(q,),
                    sandbox={"env": {"SECRET_TOKEN": "tok-7f3a9c1e-" + "PRIVATE"}})
    a.start()
    assert q.get(timeout=60)["env"]["SECRET_TOKEN"] == "tok-7f3a9c1e-PRIVATE"
    a.join(60)
    for _ in range(3):
        b = ctx.Process(target=workers.find_in_own_memory, args=(q, "tok-7f3a9c1e-"))
        b.start()
        found = q.get(timeout=60)
        b.join(60)
        assert found is None, found
    # env= with a newline, through the policy's quoting or not
    c = ctx.Process(target=workers.report, args=(q,), sandbox={"env": {"NL": "x\nINJ=1"}})
    c.start()
    env = q.get(timeout=60)["env"]
    c.join(60)
    assert env["NL"] == "x\nINJ=1" and "INJ" not in env


def test_program_ignoring_sigchld(zctx):
    # A program that ignores SIGCHLD handed that to the template, whose
    # workers were then reaped by the kernel: the template crashed in
    # waitpid and every worker was lost.
    old = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        ctx = zctx()
        b = ctx.Process(target=workers.sleep, args=(1,))
        b.start()
        a = ctx.Process(target=workers.exit_with, args=(5,))
        a.start()
        a.join(60)
        b.join(60)
    finally:
        signal.signal(signal.SIGCHLD, old)
    assert a.exitcode == 5, a.sandbox_exit
    assert b.exitcode == 0, b.sandbox_exit


def test_unanswering_socket_raises_sandbox_error():
    # As a launched worker's start() does: code that catches SandboxError
    # caught a zygote's ConnectionError before.
    ctx = sbox.get_context(socket="/nonexistent-sbox-pytest.sock", preload=[])
    p = ctx.Process(target=workers.square, args=(1,))
    with pytest.raises(sbox.SandboxError, match="does not answer"):
        p.start()


def test_unbuildable_sandbox_raises_in_start(zctx):
    if zctx.mode == "fake":
        ctx = zctx(set={"FakeEnterFails": "1"})
        want = "FakeEnterFails"
    else:
        ctx = zctx(ro_bind=["/nonexistent-sbox-pytest:/mnt"])
        want = "nonexistent-sbox-pytest"
    p = ctx.Process(target=workers.square, args=(1,))
    with pytest.raises(sbox.SandboxError, match=want) as ei:
        p.start()
    assert ei.value.exit is not None and ei.value.exit.exitcode == 125
    assert ei.value.exit.outcome == "setup_failed"
    with pytest.raises(sbox.SandboxError):
        ctx.Pool(2)
    # the template survives a worker that could not enter
    good = zctx()
    q = good.Queue()
    w = good.Process(target=workers.read_marker, args=(q,))
    w.start()
    assert q.get(timeout=60)[1] == "as imported"
    w.join(60)


def test_failed_preload_raises_at_prepare(zctx):
    ctx = zctx(preload=["sbox_pytest_no_such_module"])
    with pytest.raises(sbox.SandboxError, match="sbox_pytest_no_such_module") as ei:
        ctx.prepare()
    assert "ModuleNotFoundError" in str(ei.value)


CUDA_MAPS = textwrap.dedent("""
    # maps a file named libcuda.so.1, as a template that initialised CUDA has
    import mmap, os, tempfile
    _d = tempfile.mkdtemp(prefix="sbox-pytest-cuda-")
    _path = os.path.join(_d, "libcuda.so.1")
    with open(_path, "wb") as f:
        f.write(b"\\0" * 4096)
    _f = open(_path, "rb")
    MAP = mmap.mmap(_f.fileno(), 4096, prot=mmap.PROT_READ)
""")

CUDA_FD = textwrap.dedent("""
    # holds an fd on a char device of major 195 (an NVIDIA device's), as a
    # template that opened a GPU does; O_PATH: no driver needed
    import os
    FD = os.open(%r, os.O_PATH)
""")


def _preload_module(tmp_path, monkeypatch, name, text):
    (tmp_path / (name + ".py")).write_text(text)
    os.chmod(tmp_path, 0o755)
    monkeypatch.syspath_prepend(str(tmp_path))


def test_template_that_mapped_libcuda_is_refused(zctx, tmp_path, monkeypatch):
    _preload_module(tmp_path, monkeypatch, "sbox_pytest_cuda_maps", CUDA_MAPS)
    ctx = zctx(preload=["sbox_pytest_cuda_maps"])
    with pytest.raises(_zygote.TemplateError, match="libcuda") as ei:
        ctx.prepare()
    assert ei.value.cuda
    assert "must not initialise CUDA" in str(ei.value)
    # start() says the same, and no worker ran
    with pytest.raises(_zygote.TemplateError, match="libcuda"):
        ctx.Process(target=workers.square, args=(1,)).start()


@pytest.mark.skipif(not ROOT, reason="mknod of a device node needs root")
def test_template_with_an_nvidia_fd_is_refused(zctx, tmp_path, monkeypatch):
    # made here, as root: the template may be in a user namespace of its own
    node = tmp_path / "nvidia0"
    os.mknod(node, stat.S_IFCHR | 0o600, os.makedev(195, 0))
    _preload_module(tmp_path, monkeypatch, "sbox_pytest_cuda_fd", CUDA_FD % str(node))
    ctx = zctx(preload=["sbox_pytest_cuda_fd"])
    with pytest.raises(_zygote.TemplateError, match="195|NVIDIA|nvidia") as ei:
        ctx.prepare()
    assert ei.value.cuda


def test_dead_template_is_reported_and_replaced(zctx):
    ctx = zctx()
    p = ctx.Process(target=workers.sleep, args=(60,))
    p.start()
    t = template_of(p)
    os.kill(t.pid, signal.SIGKILL)
    p.join(60)
    assert p.exitcode is not None and p.exitcode != 0
    q = ctx.Queue()
    w = ctx.Process(target=workers.read_marker, args=(q,))
    w.start()
    imported_in, _, _ = q.get(timeout=60)
    w.join(60)
    assert w.exitcode == 0 and template_of(w) is not t and imported_in == template_of(w).pid


PROGRAM = textwrap.dedent("""
    import os, sys, time
    sys.path[:0] = [%(pkg)r, %(tests)r]
    import sbox, workers
    from sbox import _zygote
    _zygote.NATIVE = %(native)r
    if __name__ == "__main__":
        ctx = sbox.get_context(preload=["preload_marker"], **%(opts)r)
        q = ctx.Queue()
        ps = [ctx.Process(target=workers.hold, args=(q,), daemon=True) for _ in range(2)]
        for p in ps:
            p.start()
        pids = [q.get(timeout=60) for _ in ps]
        tp = ps[0]._popen._template.pid

        def kids():
            out = []
            for d in os.listdir("/proc"):
                try:
                    st = open("/proc/%%s/stat" %% d).read().rsplit(")", 1)[1].split()
                except (OSError, IndexError):
                    continue
                if int(st[1]) == tp and int(d) not in [p.pid for p in ps]:
                    out.append(int(d))
            return out

        # the template's spares (and libsbox's helper, a real one's child too)
        deadline = time.time() + 30
        while len(kids()) < %(extra)d and time.time() < deadline:
            time.sleep(0.05)
        print("ready", tp, *[p.pid for p in ps], "+", *kids(), flush=True)
        if %(exit)r:
            sys.exit(0)
        time.sleep(300)
""")


def _procs_with_cwd(path):
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.readlink("/proc/%s/cwd" % pid) == path:
                    found.append(int(pid))
            except OSError:
                pass
    return found


def _ps(cwd):
    """What runs in cwd, for a failure's message: pid, ppid, state, wchan,
    command line."""
    rows = []
    for pid in _procs_with_cwd(cwd):
        try:
            st = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
            wchan = open("/proc/%d/wchan" % pid).read()
            cmd = open("/proc/%d/cmdline" % pid).read().replace("\0", " ")[:100]
            rows.append("%d ppid %s %s %s %s" % (pid, st[1], st[0], wchan, cmd))
        except OSError:
            pass
    return "\n".join(rows)


def _host_cgroups(pid):
    """{controller: host dir} of pid's cgroups that are not the root
    ("" is v2's unified hierarchy)."""
    out = {}
    try:
        with open("/proc/%d/cgroup" % pid) as f:
            lines = f.read().split()
    except OSError:
        return out
    v1 = not any(l.startswith("0::") for l in lines) or len(lines) > 1
    for line in lines:
        _, ctrls, rel = line.split(":", 2)
        if rel == "/" or ctrls.startswith("name="):
            continue
        for c in ctrls.split(","):
            base = "/sys/fs/cgroup/" + c if (v1 and c) else "/sys/fs/cgroup"
            if c or not v1:
                out[c] = base + rel
    return out


def _host_cgroup(pid):
    dirs = sorted(set(_host_cgroups(pid).values()))
    return dirs[0] if dirs else None


def _host_limit(pid, v2_file, v1_ctrl, v1_file):
    cg = _host_cgroups(pid)
    path = os.path.join(cg[""], v2_file) if "" in cg else os.path.join(cg[v1_ctrl], v1_file)
    with open(path) as f:
        return f.read().strip()


@pytest.mark.parametrize("end", ["exit", "sigkill"])
def test_program_end_leaves_nothing(zctx, end):
    """The program exits (or is SIGKILLed) with workers running: its
    template and workers (found by the unique cwd they inherit) are gone,
    and after a normal exit their cgroups too."""
    opts = {"socket": zctx.socket} if zctx.socket else {"direct": True}
    cwd = tempfile.mkdtemp(prefix="sbox-pytest-zygote-", dir="/var/tmp")
    os.chmod(cwd, 0o755)
    script = os.path.join(cwd, "parent.py")
    with open(script, "w") as f:
        f.write(PROGRAM % dict(pkg=PKG, tests=HERE, opts=opts, exit=(end == "exit"),
                               native=FAKE if zctx.mode == "fake" else None,
                               extra=_zygote.DEFAULT_SPARES + (0 if zctx.mode == "fake" else 1)))
    err = open(os.path.join(cwd, "parent.err"), "w+")
    parent = subprocess.Popen([sys.executable, script], cwd=cwd, stdout=subprocess.PIPE,
                              stderr=err, start_new_session=True)
    try:
        ready, _, _ = select.select([parent.stdout], [], [], 120)
        line = parent.stdout.readline().split() if ready else [b"(nothing in 120 s)"]
        err.seek(0)
        assert line[:1] == [b"ready"], "parent said %r; stderr: %s\nprocesses:\n%s" % (
            line, err.read(), _ps(cwd))
        tpid = int(line[1])
        wpids = [int(x) for x in line[2:line.index(b"+")]]
        extra = [int(x) for x in line[line.index(b"+") + 1:]]
        # the spares (workers entered ahead), and the helper of a real one
        assert len(extra) == _zygote.DEFAULT_SPARES + (0 if zctx.mode == "fake" else 1), \
            "not every spare: %r" % line
        tcg = set(_host_cgroups(tpid).values())
        cgroups = [c for w in wpids + extra for c in _host_cgroups(w).values() if c not in tcg] \
            if zctx.mode != "fake" else []
        if end == "sigkill":  # (an exiting program may be done already)
            assert tpid in _procs_with_cwd(cwd), "no template found"
            assert all(os.path.exists("/proc/%d" % w) for w in wpids)

        def left():
            # the helper and inits by their cwd; the workers by pid (a
            # worker's cwd may be unreadable to its user: not dumpable)
            return sorted(set(_procs_with_cwd(cwd)) |
                          {w for w in wpids + extra + [tpid] if os.path.exists("/proc/%d" % w)})

        if end == "sigkill":
            parent.kill()
        assert parent.wait(60) in (0, -signal.SIGKILL)
        deadline = time.time() + 15
        while time.time() < deadline and left():
            time.sleep(0.1)
        assert left() == [], "the template or workers outlived their program"
        if end == "exit" or zctx.mode == "sboxd":
            while time.time() < deadline and any(os.path.exists(c) for c in cgroups):
                time.sleep(0.1)
            assert [c for c in cgroups if os.path.exists(c)] == [], "cgroups left behind"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for pid in _procs_with_cwd(cwd):  # only after a failure: our own leftovers
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        err.close()
        subprocess.run(["rm", "-rf", cwd])


# Spares: workers the template forks and enters ahead (get_context's spares=).


def _start_from_spare(ctx, make, tries=40):
    """Start make(i)'s processes one by one (each left running) until one
    was handed to a spare; all of them."""
    ps = []
    for i in range(tries):
        p = make(i)
        p.start()
        ps.append(p)
        if p._popen.from_spare:
            return ps
        time.sleep(0.25)  # its refill enters meanwhile
    raise AssertionError("no start() in %d was handed a spare" % tries)


def test_spare_after_a_bind_source_was_made_again(zctx, tmp_path):
    # A spare entered its sandbox, binds included, ahead: a run's output
    # directory removed and made again since was another directory, and
    # the spare's worker wrote into the old one, gone (ENOENT); a worker
    # forked at start() sees the new one.  The bind sources' identity keys
    # the spares now.
    real_only(zctx)
    out = tmp_path / "run"
    out.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(out, 0o777)
    ctx = zctx(bind=[str(out)])
    q = ctx.Queue()
    p = ctx.Process(target=workers.write_file, args=(str(out / "epoch1"), q))
    p.start()
    assert q.get(timeout=60) == "written"
    p.join(60)
    time.sleep(1.5)  # the spares are made
    shutil.rmtree(out)
    out.mkdir()
    os.chmod(out, 0o777)
    p = ctx.Process(target=workers.write_file, args=(str(out / "epoch2"), q))
    p.start()
    r = q.get(timeout=60)
    p.join(60)
    assert r == "written", r
    assert os.listdir(out) == ["epoch2"]


def test_spare_worker_sees_what_start_gave(zctx, monkeypatch):
    """A spare entered before start(): its worker still gets start()'s
    args, pass_env= values current at start(), env= and its own fds."""
    ctx = zctx(spares=1, env={"SBOX_TEST_GIVEN": "1"}, pass_env=["SBOX_TEST_PASSED"])
    ctx.prepare()
    q = ctx.Queue()

    def make(i):
        monkeypatch.setenv("SBOX_TEST_PASSED", "start %d" % i)
        return ctx.Process(target=workers.echo_len, args=(q, b"x" * (1000 + i)))

    ps = _start_from_spare(ctx, make)
    got = sorted(q.get(timeout=60)[0] for _ in ps)
    for p in ps:
        p.join(60)
        assert p.exitcode == 0, p.sandbox_exit
    assert got == sorted(1000 + i for i in range(len(ps)))
    r = ctx.Queue()
    monkeypatch.setenv("SBOX_TEST_PASSED", "the last start")
    last = _start_from_spare(ctx, lambda i: ctx.Process(target=workers.report, args=(r,)))
    envs = [r.get(timeout=60)["env"] for _ in last]
    for p in last:
        p.join(60)
    assert last[-1]._popen.from_spare and last[-1].exitcode == 0
    assert all(e["SBOX_TEST_PASSED"] == "the last start" for e in envs)
    assert all(e["SBOX_TEST_GIVEN"] == "1" for e in envs)
    assert template_of(last[-1]) is template_of(ps[0])


def test_spare_replaced_once_its_worker_started(zctx):
    """A spare's replacement is forked once the worker handed to it has
    started (its process object read), not while it starts, and well
    before the 2 s bound: a worker still running its target does not keep
    the next start from a spare."""
    from sbox import _template
    ctx = zctx(spares=1)
    ctx.prepare()
    first = _start_from_spare(ctx, lambda i: ctx.Process(target=workers.sleep, args=(30,)))
    # started at once (sleep's target runs); the replacement then enters
    time.sleep(_template.SPARE_START_MAX_S * 0.75)
    second = ctx.Process(target=workers.sleep, args=(0,))
    second.start()
    try:
        assert second._popen.from_spare
    finally:
        second.join(60)
        for p in first:
            p.kill()
            p.join(60)
    assert second.exitcode == 0, second.sandbox_exit


def test_no_spares_when_off_or_with_gpus(zctx):
    """spares=0: every worker is forked at start(); gpus= workers never
    come from spares (a spare would hold a GPU lease while waiting)."""
    if zctx.mode != "fake":
        pytest.skip("the fake has GPUs to count; the rule is the program's and the template's")
    for ctx, opts in ((zctx(spares=0), {}), (zctx(spares=2), {"gpus": 1})):
        for _ in range(4):
            p = ctx.Process(target=workers.sleep, args=(0,), sandbox=opts)
            p.start()
            p.join(60)
            assert p.exitcode == 0 and not p._popen.from_spare
            time.sleep(0.2)
    with pytest.raises(sbox.OptionError, match="spares="):
        zctx(spares=-1)
    with pytest.raises(sbox.OptionError, match="spares="):
        sbox.get_context(spares=1)


def test_failed_spare_is_discarded_quietly(zctx, tmp_path):
    """A spare whose sandbox failed is thrown away: start() forks a fresh
    worker (which enters: no error), and spares come back once they can."""
    if zctx.mode != "fake":
        pytest.skip("the fake fails a spare's enter on demand")
    flag = tmp_path / "fail-spares"
    flag.write_text("")
    ctx = zctx(spares=1, set={"FakeSpareFails": str(flag)})
    for _ in range(4):
        p = ctx.Process(target=workers.sleep, args=(0,))
        p.start()
        p.join(60)
        assert p.exitcode == 0 and not p._popen.from_spare
        time.sleep(0.3)
    flag.unlink()
    ps = _start_from_spare(ctx, lambda i: ctx.Process(target=workers.sleep, args=(0,)))
    for p in ps:
        p.join(60)
        assert p.exitcode == 0


def test_spare_worker_is_a_fresh_sandbox(zctx, tmp_path):
    """Two workers handed to spares: each the fresh sandbox of
    test_worker_is_a_fresh_sandbox, though entered before start()."""
    real_only(zctx)
    pol = tmp_path / "w.policy"
    pol.write_text("[Sandbox]\nEnvironment=SBOX_TEST_FROM_POLICY=yes\n")
    os.chmod(tmp_path, 0o755)
    os.chmod(pol, 0o644)
    ctx = zctx(spares=2, hostname="zygote-w", env={"SBOX_TEST_GIVEN": "1"}, policy=[str(pol)])
    t = ctx.prepare()
    q, done = ctx.Queue(), ctx.Event()
    ps = []
    try:
        while sum(p._popen.from_spare for p in ps) < 2:
            n = len(ps)
            ps += _start_from_spare(ctx, lambda i: ctx.Process(
                target=workers.zygote_report_tagged, args=(n + i, q, t.pid, done)))
        reports = dict(q.get(timeout=60) for _ in ps)
    finally:
        done.set()
        for p in ps:
            p.join(60)
    assert all(p.exitcode == 0 for p in ps), [p.sandbox_exit for p in ps]
    rs = [reports[i] for i, p in enumerate(ps) if p._popen.from_spare][:2]
    mine = {n: os.readlink("/proc/self/ns/" + n) for n in rs[0]["ns"]}
    tmpl = {n: os.readlink("/proc/%d/ns/%s" % (t.pid, n)) for n in rs[0]["ns"]}
    _assert_fresh_sandboxes(rs, mine, tmpl, t)


# The sandbox of each worker (the real zmodes).


ALLOWED_ENV = {"PATH", "HOME", "USER", "LOGNAME", "TERM", "CUDA_VISIBLE_DEVICES",
               "NVIDIA_VISIBLE_DEVICES"} | set(sbox._options.PYTHON_ENV)


def test_worker_is_a_fresh_sandbox(zctx, tmp_path):
    real_only(zctx)
    pol = tmp_path / "w.policy"
    pol.write_text("[Sandbox]\nEnvironment=SBOX_TEST_FROM_POLICY=yes\n")
    os.chmod(tmp_path, 0o755)
    os.chmod(pol, 0o644)
    os.environ["SBOX_TEST_PARENT_SECRET"] = "before the template"
    try:
        ctx = zctx(hostname="zygote-w", env={"SBOX_TEST_GIVEN": "1"}, policy=[str(pol)])
        t = ctx.prepare()
        os.environ["SBOX_TEST_PARENT_SECRET_2"] = "after the template"
        q, done = ctx.Queue(), ctx.Event()
        ps = [ctx.Process(target=workers.zygote_report, args=(q, t.pid, done)) for _ in range(2)]
        for p in ps:
            p.start()
        rs = [q.get(timeout=60) for _ in ps]
        mine = {n: os.readlink("/proc/self/ns/" + n) for n in rs[0]["ns"]}
        tmpl = {n: os.readlink("/proc/%d/ns/%s" % (t.pid, n)) for n in rs[0]["ns"]}
        done.set()
        for p in ps:
            p.join(60)
            assert p.exitcode == 0, p.sandbox_exit
    finally:
        os.environ.pop("SBOX_TEST_PARENT_SECRET", None)
        os.environ.pop("SBOX_TEST_PARENT_SECRET_2", None)
    _assert_fresh_sandboxes(rs, mine, tmpl, t)


def _assert_fresh_sandboxes(rs, mine, tmpl, t):
    """What two live workers of t reported (workers.zygote_report) against
    the program's (mine) and the template's (tmpl) namespaces."""
    for n in ("pid", "net", "mnt", "ipc", "uts", "cgroup"):
        assert rs[0]["ns"][n] != mine[n], "%s namespace is the program's" % n
        assert rs[0]["ns"][n] != tmpl[n], "%s namespace is the template's" % n
        assert rs[0]["ns"][n] != rs[1]["ns"][n], "%s namespace shared by two workers" % n
    for r in rs:
        assert r["pid"] == 2 and r["procs"] == [1, 2], r["procs"]
        assert r["kill_template"] == "ProcessLookupError" and not r["template_in_proc"]
        assert r["hostname"] == "zygote-w" and r["ifaces"] == ["lo"]
        assert r["cap_eff"] == "0000000000000000" and r["seccomp"] == "2"
        assert r["no_new_privs"] == "1"
        assert r["uid"] == os.getuid()
        assert set(r["env"]) <= ALLOWED_ENV | {"SBOX_TEST_GIVEN", "SBOX_TEST_FROM_POLICY"}, \
            sorted(r["env"])
        assert r["env"].get("SBOX_TEST_GIVEN") == "1"
        assert r["env"].get("SBOX_TEST_FROM_POLICY") == "yes", "a policy file's Environment="
        assert r["marker_imported_in"] == t.pid, "preload_marker not from the template"
        # the platform's: a worker's own Pool forks in its sandbox
        assert r["start_method"] == multiprocessing.get_all_start_methods()[0]
        assert "/etc/hostname" not in r["fds"].values() and len(r["fds"]) <= 12, r["fds"]


def test_worker_filter_is_its_policys(zctx):
    """The template compiled the default seccomp filter ahead (libsbox's
    cache, for every worker's enter): a worker whose policy edits the
    filter still gets its own, a default one the default."""
    real_only(zctx)
    ctx = zctx(spares=0)
    q = ctx.Queue()
    for opts, want in (({"set": {"SystemCallFilter": "~getcwd:EACCES"}}, errno.EACCES),
                       ({}, 0), ({"set": {"SystemCallFilter": "~getcwd:ENOSYS"}}, errno.ENOSYS)):
        p = ctx.Process(target=workers.getcwd_errno, args=(q,), sandbox=opts)
        p.start()
        assert q.get(timeout=60) == want, opts
        p.join(60)
        assert p.exitcode == 0


def test_worker_leaves_no_children_to_its_template(zctx):
    """Hostile: clone(CLONE_PARENT) made the worker's children its
    template's, which waits only for the workers it forked; each stayed a
    zombie in the template, charged to the user, after its worker had
    ended (150 from 3 workers).  The filter refuses the flag (EPERM)."""
    real_only(zctx)
    ctx = zctx(spares=0)
    q = ctx.Queue()
    p = ctx.Process(target=workers.clone_parent, args=(q, 20))
    p.start()
    made, err = q.get(timeout=60)
    p.join(60)
    assert p.exitcode == 0
    assert (made, err) == (0, errno.EPERM)
    t = template_of(p).pid
    kids = open("/proc/%d/task/%d/children" % (t, t)).read().split()
    zombies = [k for k in kids
               if open("/proc/%s/stat" % k).read().rsplit(")", 1)[1].split()[0] == "Z"]
    assert zombies == [], "zombies left in the template: %r" % zombies


def test_worker_has_its_own_session_and_umask(zctx):
    """Hostile: the template's session is the caller's, with its
    terminal; a worker (NewSession=, by default) starts its own, so
    /dev/tty (in every sandbox's /dev) reaches no terminal, and its umask
    is the policy's, not the template's."""
    real_only(zctx)
    ctx = zctx(spares=0)
    q = ctx.Queue()
    p = ctx.Process(target=workers.session_and_tty, args=(q,),
                    sandbox={"set": {"UMask": "0027"}})
    p.start()
    r = q.get(timeout=60)
    p.join(60)
    assert p.exitcode == 0
    assert r["session_leader"], r
    assert r["tty"] != "opened", r
    assert r["umask"] == 0o027, r


def test_limits_are_in_force(zctx):
    real_only(zctx)
    ctx = zctx(memory="64M", pids=32)
    p = ctx.Process(target=workers.sleep, args=(60,))
    p.start()
    try:
        # the worker's own cgroup, seen from the host
        assert _host_cgroup(p.pid) != _host_cgroup(template_of(p).pid)
        assert _host_limit(p.pid, "pids.max", "pids", "pids.max") == "32"
        assert _host_limit(p.pid, "memory.max", "memory", "memory.limit_in_bytes") == \
            str(64 << 20)
    finally:
        p.kill()
        p.join(60)
    # per worker: an override gives this one another limit, same template
    e = ctx.Process(target=workers.eat_memory, args=(256,), sandbox={"memory": "48M"})
    e.start()
    e.join(60)
    assert e.exitcode == -signal.SIGKILL, e.sandbox_exit
    assert template_of(e) is template_of(p)


def test_unprivileged_direct_is_refused():
    if ROOT or API_MISSING:
        pytest.skip("as an unprivileged user with libsbox's zygote API")
    ctx = sbox.get_context(preload=["json"], direct=True)
    try:
        with pytest.raises(sbox.SandboxError, match="zygote"):
            ctx.prepare()
    finally:
        _zygote.stop_all()


def test_torch_worker(zctx):
    pytest.importorskip("torch")
    ctx = zctx(preload=["torch"])
    ctx.prepare()
    q = ctx.Queue()
    p = ctx.Process(target=workers.torch_tensor, args=(q,))
    t0 = time.monotonic()
    p.start()
    started = time.monotonic() - t0
    assert q.get(timeout=120) == 3.0
    p.join(60)
    assert p.exitcode == 0
    # the template imported torch: the worker does not, it starts in far
    # less than an import of torch takes
    assert started < 5.0, started
