"""sbox as a multiprocessing start method, with real sandboxes: direct
(as root, and as an unprivileged user through user namespaces) and through
a real sboxd.  Each test runs in every mode the `mode` fixture gives."""

import concurrent.futures
import multiprocessing
import os
import select
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

import sbox
import workers

ROOT = os.geteuid() == 0


def _cgroup_v2_delegated():
    try:
        with open("/proc/self/cgroup") as f:
            line = f.read().strip()
        return line.startswith("0::") and os.access("/sys/fs/cgroup" + line[3:], os.W_OK)
    except OSError:
        return False


def run_report(ctx, **kw):
    q = ctx.Queue()
    p = ctx.Process(target=workers.report, args=(q,), **kw)
    p.start()
    r = q.get(timeout=60)
    p.join(60)
    assert p.exitcode == 0, p.sandbox_exit
    return r, p


def test_multiprocessing_inside_a_worker(make_ctx):
    # A worker's own Pool (torch's DataLoader with workers, joblib) runs in
    # the worker's sandbox with the platform's start method: it used to be
    # sbox's, and a sandbox can't start another ("no sboxrun found ... and
    # no sboxd answering").
    ctx = make_ctx()
    q = ctx.Queue()
    p = ctx.Process(target=workers.nested_pool, args=(q,))
    p.start()
    method, squares = q.get(timeout=60)
    p.join(60)
    assert p.exitcode == 0, p.sandbox_exit
    assert method == multiprocessing.get_all_start_methods()[0]
    assert squares == [1, 4, 9]


def test_tempdir_writable_from_a_tmp_cwd(make_ctx, monkeypatch):
    # The parent's cwd is /tmp ("cd /tmp; python3 x.py"): /tmp is bound
    # read-only into the worker, over the program's multiprocessing
    # directory below it (Managers' and resource_sharer's sockets, torch's
    # tensors through a Queue), which must stay writable there.
    monkeypatch.chdir("/tmp")
    ctx = make_ctx()
    q = ctx.Queue()
    p = ctx.Process(target=workers.write_tempdir, args=(q,))
    p.start()
    r = q.get(timeout=60)
    p.join(60)
    assert p.exitcode == 0, p.sandbox_exit
    assert r == "written", r


def test_env_values_with_odd_characters(make_ctx):
    # Through sboxd env= travels in policy text: a newline was refused
    # ("cannot split ... unbalanced quote"), and " ;" starts an inline
    # comment there.  Quoted as sbox_quote_word() does, they arrive whole.
    odd = {"NL": "x\nINJ=1", "SEMI": "a ;b", "TAB": "t\tab", "Q": 'q"u\\o'}
    ctx = make_ctx(env=odd)
    q = ctx.Queue()
    p = ctx.Process(target=workers.report, args=(q,))
    p.start()
    env = q.get(timeout=60)["env"]
    p.join(60)
    assert p.exitcode == 0, p.sandbox_exit
    assert {k: env.get(k) for k in odd} == odd
    assert "INJ" not in env


def test_user_bind_under_a_tmp_cwd_is_writable(make_ctx, monkeypatch, tmp_path_factory):
    # The cwd (bound read-only into the worker, as /tmp is hidden there)
    # holds the user's bind=: the read-only bind of the cwd came after the
    # user's and covered it, EROFS.  The user's binds go on top.
    import tempfile
    top = tempfile.mkdtemp(dir="/tmp", prefix="sbox-cwd-")
    try:
        out = os.path.join(top, "out")
        os.mkdir(out)
        monkeypatch.chdir(top)
        ctx = make_ctx(bind=[out])
        q = ctx.Queue()
        p = ctx.Process(target=workers.write_file, args=(os.path.join(out, "f"), q))
        p.start()
        r = q.get(timeout=60)
        p.join(60)
        assert r == "written", r
        assert p.exitcode == 0, p.sandbox_exit
        with open(os.path.join(out, "f")) as f:
            assert f.read() == "from the worker"
    finally:
        import shutil
        shutil.rmtree(top, ignore_errors=True)


def test_worker_is_isolated(make_ctx):
    ctx = make_ctx(hostname="collector-7")
    secret_fd = os.open("/etc/hostname", os.O_RDONLY)
    os.set_inheritable(secret_fd, True)  # as spawn's children would not see it either
    os.environ["SBOX_TEST_PARENT_SECRET"] = "x"
    # what Python (and CUDA) need does pass
    passed = {"VIRTUAL_ENV": "/nonexistent-venv", "CUDA_HOME": "/nonexistent-cuda"}
    saved = {k: os.environ.get(k) for k in passed}
    os.environ.update(passed)
    workers.GLOBAL = "changed in the parent"
    try:
        r, p = run_report(ctx)
    finally:
        del os.environ["SBOX_TEST_PARENT_SECRET"]
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k)
            else:
                os.environ[k] = v
        workers.GLOBAL = "original"
        os.close(secret_fd)
    assert r["pid"] <= 3, "not in its own pid namespace: pid %d" % r["pid"]
    assert r["pidns"] != os.readlink("/proc/self/ns/pid")
    assert r["netns"] != os.readlink("/proc/self/ns/net")
    assert r["ifaces"] == ["lo"]
    assert r["hostname"] == "collector-7"
    assert r["global"] == "original", "the parent's globals reached the worker"
    assert "SBOX_TEST_PARENT_SECRET" not in r["env"]
    assert {k: r["env"].get(k) for k in passed} == passed
    # stdio, the sentinel, the data pipe's dup, the module's files: no
    # parent fd beyond what multiprocessing passes
    assert "/etc/hostname" not in r["fds"].values(), r["fds"]
    assert len(r["fds"]) <= 10, r["fds"]
    assert r["cap_eff"] == "0000000000000000" and r["cap_bnd"] == "0000000000000000"
    assert r["seccomp"] == "2" and r["no_new_privs"] == "1"
    assert r["uid"] == os.getuid(), "a worker runs as its caller (root's as root, no caps)"
    assert r["main"] == "__mp_main__" or r["main"].endswith("__main__")
    assert "torch" not in r["modules"] and "numpy" not in r["modules"]
    # the platform's, not sbox's: a sandbox can't start another sandbox
    assert r["start_method"] == multiprocessing.get_all_start_methods()[0]
    assert not any(n for n in r["shm"] if not n.startswith("sem.")), r["shm"]


def test_primitives_across_sandboxes(make_ctx):
    ctx = make_ctx()
    with ctx.Manager() as m:
        a, b = ctx.Pipe()
        p = dict(lock=ctx.Lock(), rlock=ctx.RLock(), sem=ctx.Semaphore(1), barrier=ctx.Barrier(3),
                 event=ctx.Event(), cond=ctx.Condition(), value=ctx.Value("i", 0),
                 array=ctx.Array("i", 2), queue=ctx.Queue(), simple=ctx.SimpleQueue(),
                 joinable=ctx.JoinableQueue(), pipe=b, mdict=m.dict(), mlist=m.list())
        procs = [ctx.Process(target=workers.primitives, args=(i, p)) for i in range(2)]
        for w in procs:
            w.start()
        p["barrier"].wait(timeout=60)
        p["event"].set()
        with p["cond"]:
            p["cond"].notify_all()
        got = sorted([p["queue"].get(timeout=60) for _ in range(2)])
        assert got == [("queue", 0), ("queue", 1)]
        assert sorted([p["simple"].get() for _ in range(2)]) == [("simple", 0), ("simple", 1)]
        assert sorted([p["joinable"].get(timeout=60) for _ in range(2)]) == \
            [("joinable", 0), ("joinable", 1)]
        p["joinable"].task_done()
        p["joinable"].task_done()
        p["joinable"].join()
        assert sorted([a.recv(), a.recv()]) == [("pipe", 0), ("pipe", 1)]
        for w in procs:
            w.join(60)
            assert w.exitcode == 0, w.sandbox_exit
        assert p["value"].value == 2
        assert list(p["array"]) == [10, 11]
        assert sorted(p["mlist"]) == [0, 1]
        assert len(set(p["mdict"].values())) >= 1 and sorted(p["mdict"].keys()) == [0, 1]


def test_large_arguments_and_results(make_ctx):
    """More than a pipe's buffer each way: start() writes while the worker
    reads; the result comes back through the Queue's feeder."""
    ctx = make_ctx()
    q = ctx.Queue()
    blob = os.urandom(1 << 20) * 3
    p = ctx.Process(target=workers.echo_len, args=(q, blob))
    p.start()
    assert q.get(timeout=60) == (len(blob), blob[-100:] * 1000)
    p.join(60)
    assert p.exitcode == 0


def test_joinable_queue_task_done_in_worker(make_ctx):
    ctx = make_ctx()
    jq = ctx.JoinableQueue()
    p = ctx.Process(target=workers.consume_joinable, args=(jq, 3))
    p.start()
    for i in range(3):
        jq.put(i)
    jq.join()
    p.join(60)
    assert p.exitcode == 0


def test_collectors_and_learner_share_one_queue_across_contexts(make_ctx):
    collectors = make_ctx(hostname="collector", pids=64) if ROOT else make_ctx(hostname="collector")
    learner_ctx = make_ctx(hostname="learner")
    q = collectors.Queue()
    results = learner_ctx.SimpleQueue()
    learner = learner_ctx.Process(target=workers.learner, args=(q, 2, results))
    learner.start()
    cs = [collectors.Process(target=workers.collector, args=(i, q, 5)) for i in range(2)]
    # per-process override: the second collector gets its own host name
    cs[1] = collectors.Process(target=workers.collector, args=(1, q, 5),
                               sandbox={"hostname": "collector-b"})
    for c in cs:
        c.start()
    seen, hosts, learner_host = results.get()
    assert seen == 10
    assert hosts == ["collector", "collector-b"]
    assert learner_host == "learner"
    for w in cs + [learner]:
        w.join(60)
        assert w.exitcode == 0


def test_pool_reraises_the_childs_exception(make_ctx):
    ctx = make_ctx()
    with ctx.Pool(2) as pool:
        assert pool.map(workers.square, range(5)) == [0, 1, 4, 9, 16]
        with pytest.raises(ValueError, match="bad value 3 from a sandbox"):
            pool.apply(workers.fail, (3,))


def test_futures_reraise_the_childs_exception(make_ctx):
    ctx = make_ctx()
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as ex:
        assert ex.submit(workers.square, 7).result(60) == 49
        with pytest.raises(ValueError, match="bad value 'x' from a sandbox"):
            ex.submit(workers.fail, "x").result(60)


def test_unbuildable_sandbox_raises_in_start(make_ctx):
    ctx = make_ctx(set={"InaccessiblePaths": "/nonexistent-sbox-pytest/dir"},
                   ro_bind=["/nonexistent-sbox-pytest:/mnt"])
    p = ctx.Process(target=workers.square, args=(1,))
    t = time.time()
    with pytest.raises(sbox.SandboxError) as ei:
        p.start()
    assert "nonexistent-sbox-pytest" in str(ei.value), str(ei.value)
    assert time.time() - t < 30
    assert p.exitcode is None  # never started: multiprocessing's view
    # Pool does not respawn a dying worker forever: it raises at once
    with pytest.raises(sbox.SandboxError):
        ctx.Pool(2)
    # a policy sbox refuses: sboxrun's or sboxd's message, not a dead child
    bad = make_ctx(set={"MemoryMax": "lots"})
    with pytest.raises(sbox.SandboxError, match="MemoryMax"):
        bad.Process(target=workers.square, args=(1,)).start()


def test_exitcodes_follow_multiprocessing(make_ctx):
    ctx = make_ctx()
    ps = [ctx.Process(target=workers.exit_with, args=(7,)),
          ctx.Process(target=workers.kill_self, args=(signal.SIGTERM,)),
          ctx.Process(target=workers.sleep, args=(60,))]
    for p in ps:
        p.start()
    ps[2].terminate()
    for p in ps:
        p.join(60)
    assert ps[0].exitcode == 7
    assert ps[1].exitcode == -signal.SIGTERM
    assert ps[2].exitcode == -signal.SIGTERM
    ex = ps[0].sandbox_exit
    assert ex.exitcode == 7 and not ex.oom and not ex.timeout
    assert ex.wall_usec is None or ex.wall_usec > 0


def test_kill_gives_minus_nine(make_ctx):
    ctx = make_ctx()
    p = ctx.Process(target=workers.sleep, args=(60,))
    p.start()
    p.kill()
    p.join(60)
    assert p.exitcode == -signal.SIGKILL


def test_sandbox_exit_reports_oom(make_ctx):
    ctx = make_ctx(memory="64M")
    if make_ctx.mode == "direct" and not ROOT and not _cgroup_v2_delegated():
        # no cgroup to limit: start() says so, with sboxrun's explanation
        with pytest.raises(sbox.SandboxError, match="MemoryMax=64M needs the sandbox's own cgroup"):
            ctx.Process(target=workers.eat_memory, args=(256,)).start()
        return
    p = ctx.Process(target=workers.eat_memory, args=(256,))
    p.start()
    p.join(60)
    ex = p.sandbox_exit
    assert ex.oom, ex
    assert p.exitcode == -signal.SIGKILL
    assert ex.outcome == "exited", ex  # the kernel's kill, not sbox's
    assert ex.memory_peak is None or ex.memory_peak >= 32 << 20


def test_sandbox_exit_reports_timeout(make_ctx):
    ctx = make_ctx(timeout=1.5)
    p = ctx.Process(target=workers.sleep, args=(60,))
    p.start()
    p.join(60)
    ex = p.sandbox_exit
    assert ex.timeout, ex
    assert p.exitcode == -signal.SIGKILL
    assert ex.cpu_time is None or ex.cpu_time >= 0
    # the same word direct and through sboxd (direct said "exited")
    assert ex.outcome == "killed", ex


def test_fds_sent_after_start_reach_the_worker(make_ctx):
    """multiprocessing's resource_sharer (a Connection, torch's CPU tensors)
    lives in the program's temp dir, bound into each sandbox."""
    ctx = make_ctx()
    q = ctx.Queue()
    p = ctx.Process(target=workers.echo_conn, args=(q,))
    p.start()
    a, b = ctx.Pipe()
    q.put(b)
    a.send("ping")
    assert a.poll(60)
    assert a.recv() == ("pong", "ping")
    p.join(60)
    assert p.exitcode == 0


def test_numpy_through_shared_array_and_queue(make_ctx):
    np = pytest.importorskip("numpy")
    ctx = make_ctx()
    arr = ctx.Array("d", [1.0, 2.0, 3.0])
    q = ctx.Queue()
    p = ctx.Process(target=workers.numpy_sum, args=(q, arr))
    p.start()
    got = q.get(timeout=60)
    p.join(60)
    assert list(arr) == [2.0, 4.0, 6.0]
    assert np.array_equal(got, np.arange(5) * 12.0)


def test_torch_worker(make_ctx):
    pytest.importorskip("torch")
    ctx = make_ctx()
    q = ctx.Queue()
    p = ctx.Process(target=workers.torch_tensor, args=(q,))
    p.start()
    assert q.get(timeout=120) == 3.0
    p.join(60)


def test_registered_as_a_start_method():
    ctx = multiprocessing.get_context("sbox")
    assert ctx.get_start_method() == "sbox"
    assert isinstance(ctx, sbox.SboxContext)


SET_START_METHOD = textwrap.dedent("""
    import multiprocessing, sys
    sys.path[:0] = [%(pkg)r, %(tests)r]
    import sbox, workers
    if __name__ == "__main__":
        multiprocessing.set_start_method("sbox")
        q = multiprocessing.Queue()
        p = multiprocessing.Process(target=workers.report, args=(q,))
        p.start()
        r = q.get(timeout=60)
        p.join()
        print(r["hostname"], r["pid"], r["start_method"], p.exitcode)
""")


def test_set_start_method_sbox(tmp_path):
    """Module-level multiprocessing calls, as after set_start_method("forkserver")."""
    script = tmp_path / "main.py"
    script.write_text(SET_START_METHOD % dict(
        pkg=os.path.dirname(os.path.dirname(sbox.__file__)),
        tests=os.path.dirname(workers.__file__)))
    env = dict(os.environ, SBOX_SOCKET="") if "SBOX_SOCKET" in os.environ else None
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    host, pid, method, code = out.stdout.split()
    # in the worker, the platform's start method (a sandbox can't start
    # another): its own Pool forks inside its sandbox
    assert (host, method, code) == ("sbox", multiprocessing.get_all_start_methods()[0], "0")
    assert int(pid) <= 3


def test_pool_replaces_workers_from_its_helper_thread(make_ctx):
    """maxtasksperchild: the Pool's own thread starts the replacements
    (sboxrun is then started by sbox's long-lived spawner thread)."""
    ctx = make_ctx()
    with ctx.Pool(1, maxtasksperchild=1) as pool:
        pids = [pool.apply(os.getpid) for _ in range(3)]
    assert pids == [2, 2, 2]


def test_options_are_checked():
    with pytest.raises(sbox.OptionError, match="memroy"):
        sbox.get_context(memroy="1G")
    with pytest.raises(sbox.OptionError):
        sbox.get_context(gpus="two")
    flags = sbox._options.sboxrun_flags(sbox._options.normalize(dict(
        memory="2G", pids=64, cpu_quota=150, cpus="0-1", gpu=[0, "GPU-ab"], gpus=1, wait_gpu=True,
        net="none", timeout=2.5, hostname="h", bind=["/a:/b"], ro_bind=[("/c", "/d")],
        tmpfs=["/scratch"], env={"A": "x y"}, pass_env=["LANG"], user="nobody",
        set={"UMask": "0077"}, policy=["/p.policy"])))
    assert flags == ["--policy", "/p.policy", "--memory", "2G", "--pids", "64",
                     "--cpu-quota", "150%", "--cpus", "0-1", "--gpu", "0", "--gpu", "GPU-ab",
                     "--net", "none", "--timeout", "2500ms", "--hostname", "h",
                     "--bind", "/a:/b", "--ro-bind", "/c:/d", "--tmpfs", "/scratch",
                     "--env", "A=x y", "--pass-env", "LANG", "--user", "nobody",
                     "--gpus", "1", "--wait-gpu", "--set", "UMask=0077"]


def test_policy_text_for_sboxd(tmp_path):
    pol = tmp_path / "p.policy"
    pol.write_text("[Sandbox]\nBindPaths=/x /y\nBindPaths=\nBindReadOnlyPaths=/z:/w\nTasksMax=9\n")
    text, binds = sbox._options.policy_text(sbox._options.normalize(dict(
        policy=str(pol), env={"A": "x y"}, bind=["/a b:/c"], memory="1G")))
    assert binds == [("BindReadOnlyPaths", "/z:/w"), ("BindPaths", "/a b:/c")]
    assert 'Environment="A=x y"' in text and "MemoryMax=1G" in text and "TasksMax=9" in text
    assert text.count("BindPaths=") == 1 and 'BindPaths="/a b:/c"' in text


def test_sboxrun_check_accepts_the_policy_text(tmp_path):
    """What the client sends sboxd parses with sbox's own parser."""
    text, _ = sbox._options.policy_text(sbox._options.normalize(dict(
        env={"A": 'x "y" z'}, pass_env=["LANG"], tmpfs=["/scratch"], hostname="h",
        timeout=3, cpu_quota=50)))
    pol = tmp_path / "p.policy"
    pol.write_text(text)
    out = subprocess.run([sbox._launch.find_sboxrun(), "--check", "-p", str(pol)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "Hostname=h" in out.stdout and "CPUQuota=50%" in out.stdout
    assert "RuntimeMaxSec=3s" in out.stdout


PARENT = textwrap.dedent("""
    import os, sys, time
    sys.path[:0] = [%(pkg)r, %(tests)r]
    import sbox, workers
    if __name__ == "__main__":
        ctx = sbox.get_context(**%(opts)r)
        q = ctx.Queue()
        p = ctx.Process(target=workers.hold, args=(q,))
        p.start()
        q.get(timeout=60)
        print("ready", flush=True)
        time.sleep(300)
""")


def _procs_with_cwd(path):
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.readlink("/proc/%s/cwd" % pid) == path:
                found.append(int(pid))
        except OSError:
            pass
    return found


def test_killed_parent_leaves_no_worker(make_ctx, tmp_path):
    """SIGKILL the parent: its worker (found by the unique cwd it inherits)
    must be gone."""
    opts = {"socket": make_ctx.socket} if make_ctx.mode == "sboxd" else {"direct": True}
    cwd = tempfile.mkdtemp(prefix="sbox-pytest-orphan-", dir="/var/tmp")
    os.chmod(cwd, 0o755)
    script = os.path.join(cwd, "parent.py")
    with open(script, "w") as f:
        f.write(PARENT % dict(pkg=os.path.dirname(os.path.dirname(sbox.__file__)),
                              tests=os.path.dirname(workers.__file__), opts=opts))
    err = open(os.path.join(cwd, "parent.err"), "w+")
    parent = subprocess.Popen([sys.executable, script], cwd=cwd, stdout=subprocess.PIPE,
                              stderr=err, start_new_session=True)
    try:
        ready, _, _ = select.select([parent.stdout], [], [], 120)
        line = parent.stdout.readline().strip() if ready else b"(nothing in 120 s)"
        err.seek(0)
        assert line == b"ready", "parent said %r; stderr: %s" % (line, err.read())
        before = [p for p in _procs_with_cwd(cwd) if p != parent.pid]
        assert before, "found no worker to watch"
        parent.kill()
        parent.wait()
        deadline = time.time() + 15
        while time.time() < deadline and _procs_with_cwd(cwd):
            time.sleep(0.1)
        assert _procs_with_cwd(cwd) == [], "workers outlived their killed parent"
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
