"""Targets the tests run inside sandboxes (importable by the workers: the
worker re-imports them by name, as spawn does)."""

import errno
import os
import signal
import socket
import sys
import time

GLOBAL = "original"


def report(q):
    """What a worker sees of itself: sent back on q."""
    st = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            st[k] = v.strip()
    fds = {}
    for x in os.listdir("/proc/self/fd"):
        try:
            fds[int(x)] = os.readlink("/proc/self/fd/" + x)
        except OSError:
            pass
    q.put({
        "pid": os.getpid(),
        "hostname": socket.gethostname(),
        "uid": os.getuid(),
        "global": GLOBAL,
        "env": dict(os.environ),
        "fds": fds,
        "cap_eff": st.get("CapEff"),
        "cap_bnd": st.get("CapBnd"),
        "seccomp": st.get("Seccomp"),
        "no_new_privs": st.get("NoNewPrivs"),
        "modules": sorted(sys.modules),
        "cwd": os.getcwd(),
        "main": getattr(sys.modules.get("__main__"), "__name__", None),
        "shm": sorted(os.listdir("/dev/shm")),
        "pidns": os.readlink("/proc/self/ns/pid"),
        "netns": os.readlink("/proc/self/ns/net"),
        "ifaces": sorted(n for _, n in socket.if_nameindex()),
        "start_method": __import__("multiprocessing").get_start_method(),
    })


def primitives(i, p):
    """Each multiprocessing primitive, used from a sandbox."""
    with p["lock"]:
        p["value"].value += 1
    with p["rlock"]:
        with p["rlock"]:
            p["array"][i] = i + 10
    with p["sem"]:
        pass
    p["barrier"].wait(timeout=60)
    p["event"].wait(60)
    with p["cond"]:
        p["cond"].wait_for(lambda: p["value"].value >= 2, timeout=60)
    p["queue"].put(("queue", i))
    p["simple"].put(("simple", i))
    p["joinable"].put(("joinable", i))
    p["pipe"].send(("pipe", i))
    p["mdict"][i] = os.getpid()
    p["mlist"].append(i)


def consume_joinable(jq, n):
    for _ in range(n):
        jq.get()
        jq.task_done()


def collector(i, q, n):
    for k in range(n):
        q.put((i, socket.gethostname(), k))
    q.put((i, None, None))


def learner(q, n_collectors, results):
    seen, done = 0, 0
    hosts = set()
    while done < n_collectors:
        i, host, k = q.get()
        if host is None:
            done += 1
        else:
            seen += 1
            hosts.add(host)
    results.put((seen, sorted(hosts), socket.gethostname()))


def fail(x):
    raise ValueError("bad value %r from a sandbox" % (x,))


def square(x):
    return x * x


def exit_with(code):
    sys.exit(code)


def kill_self(sig):
    os.kill(os.getpid(), sig)
    time.sleep(10)


def sleep(s):
    time.sleep(s)


def eat_memory(mb):
    blocks = []
    for _ in range(mb):
        blocks.append(bytearray(1 << 20))  # touched: calloc'd pages are written below
        blocks[-1][::4096] = b"x" * len(blocks[-1][::4096])
    time.sleep(5)


def echo_conn(q):
    """Receives a Connection made after start (through resource_sharer)."""
    conn = q.get(timeout=60)
    conn.send(("pong", conn.recv()))


def numpy_sum(q, arr):
    import numpy as np
    a = np.frombuffer(arr.get_obj(), dtype="d")
    a *= 2
    q.put(np.arange(5) * float(a.sum()))


def torch_tensor(q):
    import torch
    q.put(torch.ones(3).sum().item())


def hold(marker_q):
    marker_q.put(os.getpid())
    time.sleep(300)


def echo_len(q, blob):
    q.put((len(blob), blob[-100:] * 1000))


def zygote_report(q, template_pid, done=None):
    """report(), and what a zygote's worker sees of its template and its
    cgroup; then it lives until done is set (so that siblings' namespaces
    are compared while all live: a freed namespace's number is reused)."""
    sub = type("Q", (), {"put": lambda self, d: setattr(self, "d", d)})()
    report(sub)
    d = sub.d
    d["ns"] = {n: os.readlink("/proc/self/ns/" + n)
               for n in ("pid", "net", "mnt", "ipc", "uts", "cgroup", "user")}
    try:
        os.kill(template_pid, 0)
        d["kill_template"] = "delivered"
    except OSError as e:
        d["kill_template"] = type(e).__name__
    d["template_in_proc"] = os.path.exists("/proc/%d" % template_pid)
    d["procs"] = sorted(int(x) for x in os.listdir("/proc") if x.isdigit())
    marker = sys.modules.get("preload_marker")
    d["marker_imported_in"] = getattr(marker, "IMPORTED_IN", None)
    d["marker_global"] = getattr(marker, "VALUE", None)
    limits = {}
    for f in ("pids.max", "memory.max"):
        try:
            with open("/sys/fs/cgroup/" + f) as fh:
                limits[f] = fh.read().strip()
        except OSError as e:
            limits[f] = type(e).__name__
    d["limits"] = limits
    with open("/proc/self/cgroup") as fh:
        d["cgroup"] = fh.read().strip()
    q.put(d)
    if done is not None:
        done.wait(60)


def read_marker(q):
    import preload_marker
    q.put((preload_marker.IMPORTED_IN, preload_marker.VALUE, os.getpid()))


def zygote_report_tagged(tag, q, template_pid, done=None):
    """zygote_report(), sent as (tag, report): whose report it is."""
    tagged = type("Q", (), {"put": lambda self, d: q.put((tag, d))})()
    zygote_report(tagged, template_pid, done)


def session_and_tty(q):
    """Whether the worker leads a session of its own, its umask, and what
    opening /dev/tty gives."""
    mask = os.umask(0)
    os.umask(mask)
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
        tty = "opened"
    except OSError as e:
        tty = errno.errorcode.get(e.errno, str(e.errno))
    q.put({"session_leader": os.getsid(0) == os.getpid(), "umask": mask, "tty": tty})


def clone_parent(q, n):
    """Hostile: make n children of the worker's parent (clone(2) with
    CLONE_PARENT; a zygote worker's parent is its template), each exiting
    at once.  Puts how many were made and the last errno."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    made, err = 0, 0
    for _ in range(n):
        # x86-64's and arm64's clone(flags, stack, ptid, ctid/tls, ...)
        nr = {"x86_64": 56, "aarch64": 220}[os.uname().machine]
        r = libc.syscall(ctypes.c_long(nr), ctypes.c_ulong(0x8000 | signal.SIGCHLD),
                         None, None, None, None)
        if r == 0:
            os._exit(0)
        if r > 0:
            made += 1
        else:
            err = ctypes.get_errno()
    q.put((made, err))


def getcwd_errno(q):
    """0, or the errno getcwd(2) fails with (a seccomp filter's answer)."""
    try:
        os.getcwd()
        q.put(0)
    except OSError as e:
        q.put(e.errno)


def nested_pool(q):
    """A Pool in a worker, as a torch DataLoader(num_workers>0) or joblib
    makes one: the worker's default start method and the pool's answers."""
    import multiprocessing
    with multiprocessing.Pool(2) as pool:
        squares = pool.map(square, [1, 2, 3])
    q.put((multiprocessing.get_start_method(), squares))


def write_tempdir(q):
    """A file in multiprocessing's temp dir, where Managers and
    resource_sharer bind their sockets."""
    import os
    from multiprocessing import util
    path = os.path.join(util.get_temp_dir(), "sbox-test-%d" % os.getpid())
    try:
        with open(path, "w") as f:
            f.write("x")
        os.unlink(path)
        q.put("written")
    except OSError as e:
        q.put(str(e))


def write_file(path, q):
    """path written from inside the sandbox: "written", or the error."""
    try:
        with open(path, "w") as f:
            f.write("from the worker")
        q.put("written")
    except OSError as e:
        q.put(str(e))


def find_in_own_memory(q, needle):
    """The first string starting with needle in this process's memory (its
    readable private mappings), or None."""
    import re
    pat = re.compile(re.escape(needle.encode()) + rb"[A-Za-z0-9]+")
    me = needle.encode()
    found = None
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
        for line in maps:
            parts = line.split()
            if "r" not in parts[1] or len(parts) > 5 and parts[5].startswith("["):
                if len(parts) <= 5 or parts[5] not in ("[heap]", "[stack]"):
                    continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            try:
                mem.seek(lo)
                chunk = mem.read(hi - lo)
            except (OSError, ValueError, OverflowError):
                continue
            for m in pat.finditer(chunk):
                # not the needle this function was given (its own copy)
                if m.group(0) != me:
                    found = m.group(0).decode()
                    break
            if found:
                break
    q.put(found)
