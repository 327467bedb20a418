"""The zygote template T and the first code of each worker W forked from it.

T is `python -c ...main()` started by the program P (sbox._zygote) with a
clean environment and one SOCK_SEQPACKET socket on fd 3.  Modelled on
CPython's forkserver:

  P -> T  init   {preload, sys_path, cwd, socket, native}         (once)
  T -> P  {"ok": pid} or {"error": text}      (after the imports and check_clean)
  P -> T  fork   {id, policy, gpus, timeout, spares} + fds
                 [status_w, data_r, ready_w, stdout, stderr, passed...]
  P -> T  signal {id, sig}
  P closes the socket: T kills its workers, reaps them and exits.

Per worker, T writes JSON lines on status_w: {"pid": N, "spare": bool} (or
{"error": text}),
later {"status": WAITSTATUS, "timeout": bool}, then closes it: its EOF is
the Process's sentinel.  W writes b"R" on ready_w once its sandbox is
entered (or b"E" + libsbox's message, then exits 125), reads its
environment from data_r (a 4-byte length, then JSON), then the
preparation data and the process object, as spawn does.  The environment
never passes through T: what T holds, every later fork of T copies, and a
worker's env= (a token, a key) must not be readable in another's memory.

Spares: for a request with gpus == 0 and spares > 0, T keeps that many
workers forked and ENTERED ahead for its sandbox key (policy text, gpu
count), each waiting on a socketpair with T (the only fd enter leaves it
besides stdio).  A request hands its fds to a ready spare (T sends
them on that socket: a spare is used once) and T refills once that worker
has started: the worker closes its end of the socket when it has read
its process object, right before the target runs (or T refills after
SPARE_START_MAX_S); T never reads that socket again.  Forking T,
torch-sized, and entering the next spare beside a worker's first steps
took the CPUs from them: a spare-served start took about 72 ms that way,
53 ms with nothing beside it.  A spare that could not enter (b"E" on its
socket, exit 125) is reaped and its key gets no more spares until the next
request for it, which forks a fresh worker (whose error then reaches P).
"""

import gc
import importlib
import json
import os
import pickle
import select
import signal
import socket
import sys
import time
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Tuple

CTRL_FD = 3
MAX_FDS = 5 + 64
MSG_MAX = 1 << 20
PR_SET_PDEATHSIG = 1
SETUP_FAILED = 125
# a spare handed a request that has not started after this long gets its
# replacement anyway
SPARE_START_MAX_S = 2.0
# at most this many sandbox keys keep spares (the least recently used one's
# are killed), and this many spares per key
MAX_SPARE_KEYS = 2
MAX_SPARES = 8

# The fds W received in the fork request, indexed as the parent's
# duplicate_for_child() numbered them (read by _zygote._DupFd.detach).
inherited_fds: List[int] = []


def _prctl_pdeathsig() -> None:
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def load_native(spec: Optional[str], library: Optional[str]) -> Any:
    """libsbox at the path the program found (spec None), or "module:Class"
    (the tests' fake)."""
    if not spec:
        from . import _native
        return _native.Libsbox(library)
    mod, _, cls = spec.partition(":")
    return getattr(importlib.import_module(mod), cls)()


def _send(ctrl: socket.socket, obj: Any) -> None:
    ctrl.send(pickle.dumps(obj))


def _line(fd: int, obj: Dict[str, Any]) -> None:
    try:
        os.write(fd, (json.dumps(obj) + "\n").encode())
    except OSError:
        pass  # P is gone: nobody to tell


class Child:
    def __init__(self, pid: int, pidfd: int, status_w: int, timeout: Optional[float]):
        self.pid = pid
        self.pidfd = pidfd
        self.status_w = status_w
        self.deadline = time.monotonic() + timeout if timeout else None
        self.timed_out = False


SpareKey = Tuple[str, int, str]  # policy text, gpu count, bind sources' identity


class Spare:
    """A worker forked and entered ahead, waiting on chan for a request."""

    def __init__(self, key: SpareKey, pid: int, pidfd: int, chan: socket.socket):
        self.key = key
        self.pid = pid
        self.pidfd = pidfd
        self.chan = chan
        self.ready = False


class Template:
    def __init__(self, ctrl: socket.socket, native: Any):
        self.ctrl = ctrl
        self.native = native
        self.children: Dict[int, Child] = {}  # by request id
        self.by_pidfd: Dict[int, int] = {}
        # spares by key, the most recently used key last; a key maps to
        # how many it wants (0 after one of its spares failed)
        self.spare_want: "OrderedDict[SpareKey, int]" = OrderedDict()
        self.spares: Dict[int, Spare] = {}  # by pidfd
        # spares handed a request, still starting: their socket, by fd,
        # with their key and the time their refill is due at the latest
        self.starting: Dict[int, Tuple[socket.socket, SpareKey, float]] = {}

    def serve(self) -> None:
        while True:
            p = select.poll()
            p.register(self.ctrl.fileno(), select.POLLIN)
            for pidfd in self.by_pidfd:
                p.register(pidfd, select.POLLIN)
            chans = {}
            for sp in list(self.spares.values()):
                p.register(sp.pidfd, select.POLLIN)
                if not sp.ready:
                    chans[sp.chan.fileno()] = sp
                    p.register(sp.chan.fileno(), select.POLLIN)
            for fd in self.starting:
                p.register(fd, select.POLLIN)
            events = [fd for fd, _ev in p.poll(self._poll_timeout())]
            # the ctrl request last: only it opens fds, so no number an
            # event of this round names is reused meanwhile
            for fd in sorted(events, key=lambda fd: fd == self.ctrl.fileno()):
                if fd == self.ctrl.fileno():
                    if not self._request():
                        return
                elif fd in self.by_pidfd:
                    self._reap(self.by_pidfd[fd])
                elif fd in chans and chans[fd].pidfd in self.spares:
                    self._spare_said(chans[fd])
                elif fd in self.spares:
                    self._spare_died(self.spares[fd])
                elif fd in self.starting:
                    self._spare_started(fd)
            self._enforce_deadlines()
            for fd in [f for f, (_c, _k, due) in self.starting.items() if due <= time.monotonic()]:
                self._spare_started(fd)

    def _poll_timeout(self) -> Optional[int]:
        ds = [c.deadline for c in self.children.values() if c.deadline and not c.timed_out]
        ds += [due for _c, _k, due in self.starting.values()]
        if not ds:
            return None
        return max(0, int((min(ds) - time.monotonic()) * 1000) + 1)

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for c in self.children.values():
            if c.deadline and not c.timed_out and now >= c.deadline:
                c.timed_out = True
                self._kill(c, signal.SIGKILL)

    @staticmethod
    def _kill(c: Child, sig: int) -> None:
        try:
            signal.pidfd_send_signal(c.pidfd, sig)
        except ProcessLookupError:
            pass

    def _request(self) -> bool:
        try:
            # close-on-exec: no exec'd helper or init of libsbox's inherits them
            msg, fds, flags, _ = socket.recv_fds(self.ctrl, MSG_MAX, MAX_FDS,
                                                 socket.MSG_CMSG_CLOEXEC)
        except ConnectionError:
            return False
        if not msg:
            for fd in fds:
                os.close(fd)
            return False
        req = pickle.loads(msg)
        if "signal" in req:
            c = self.children.get(req["signal"])
            if c is not None:
                self._kill(c, req["sig"])
            for fd in fds:
                os.close(fd)
            return True
        if flags & socket.MSG_CTRUNC or len(fds) < 5:
            # too many fds: say so on status_w if it came, drop the rest
            if fds:
                _line(fds[0], {"error": "sbox: the fork request lost fds (%d came)" % len(fds)})
            for fd in fds:
                os.close(fd)
            return True
        self._fork(req, fds)
        return True

    def _fork(self, req: Dict[str, Any], fds: List[int]) -> None:
        key = (req["policy"], req["gpus"], req.get("binds", ""))
        want = min(max(int(req.get("spares") or 0), 0), MAX_SPARES) if req["gpus"] == 0 else 0
        handed = bool(want) and self._hand_to_spare(key, req, fds)
        if not handed:
            self._fork_fresh(req, fds)
        if want:
            self._want_spares(key, want)
            # after P got its answer (_started wrote it): off the start
            # path; after a spare's start, once it has started
            # (_spare_started): forking T beside it would take the CPUs
            # from its first steps
            if not handed:
                self._refill(key)

    def _fork_fresh(self, req: Dict[str, Any], fds: List[int]) -> None:
        status_w = fds[0]
        try:
            self.native.prefork()
        except OSError as e:
            _line(status_w, {"error": str(e)})
            for fd in fds:
                os.close(fd)
            return
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as e:
            self._postfork(-1)
            _line(status_w, {"error": "sbox: the template could not fork: %s" % e.strerror})
            for fd in fds:
                os.close(fd)
            return
        if pid == 0:
            worker(self.native, req, fds)  # never returns
        self._postfork(pid)
        for fd in fds[1:]:
            os.close(fd)
        self._started(req, pid, os.pidfd_open(pid), status_w, False)

    def _started(self, req: Dict[str, Any], pid: int, pidfd: int, status_w: int,
                 spare: bool) -> None:
        c = Child(pid, pidfd, status_w, req.get("timeout"))
        self.children[req["id"]] = c
        self.by_pidfd[pidfd] = req["id"]
        _line(status_w, {"pid": pid, "spare": spare})

    def _hand_to_spare(self, key: SpareKey, req: Dict[str, Any], fds: List[int]) -> bool:
        """Give the request to a ready spare of key: False if none took it."""
        for sp in [s for s in self.spares.values() if s.key == key and s.ready]:
            del self.spares[sp.pidfd]
            msg = json.dumps({}).encode()
            try:
                socket.send_fds(sp.chan, [msg], fds[1:])
            except OSError:
                self._discard(sp)  # it died meanwhile: its pidfd tells no more
                continue
            # open until the worker has started (it closes its end)
            self.starting[sp.chan.fileno()] = (sp.chan, sp.key,
                                               time.monotonic() + SPARE_START_MAX_S)
            for fd in fds[1:]:
                os.close(fd)
            self._started(req, sp.pid, sp.pidfd, fds[0], True)
            return True
        return False

    def _spare_started(self, fd: int) -> None:
        """A spare handed a request has started (its end of the socket
        closed: the process object is read), died, or took too long: the
        spares it leaves missing are made now."""
        chan, key, _due = self.starting.pop(fd)
        chan.close()
        self._refill(key)

    def _want_spares(self, key: SpareKey, want: int) -> None:
        self.spare_want[key] = want
        self.spare_want.move_to_end(key)
        while len(self.spare_want) > MAX_SPARE_KEYS:
            old, _ = self.spare_want.popitem(last=False)
            for sp in [s for s in self.spares.values() if s.key == old]:
                del self.spares[sp.pidfd]
                self._discard(sp)

    def _refill(self, key: SpareKey) -> None:
        """Fork spares of key until it has as many as it wants (after P
        got its answer: off the start path)."""
        have = sum(1 for s in self.spares.values() if s.key == key)
        for _ in range(self.spare_want.get(key, 0) - have):
            if not self._fork_spare(key):
                self.spare_want[key] = 0
                return

    def _fork_spare(self, key: SpareKey) -> bool:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.native.prefork()
        except OSError:
            ours.close()
            theirs.close()
            return False
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError:
            self._postfork(-1)
            ours.close()
            theirs.close()
            return False
        if pid == 0:
            ours.close()
            spare(self.native, key, theirs)  # never returns
        self._postfork(pid)
        theirs.close()
        sp = Spare(key, pid, os.pidfd_open(pid), ours)
        self.spares[sp.pidfd] = sp
        return True

    def _spare_said(self, sp: Spare) -> None:
        try:
            got = sp.chan.recv(4096)
        except OSError:
            got = b""
        if got == b"R":
            sp.ready = True
            return
        # its sandbox failed (b"E" + why) or it ended
        self._spare_died(sp)

    def _spare_died(self, sp: Spare) -> None:
        """No more spares for this key until the next request for it, whose
        fresh worker says why."""
        if sp.key in self.spare_want:
            self.spare_want[sp.key] = 0
        del self.spares[sp.pidfd]
        self._discard(sp)

    def _discard(self, sp: Spare) -> None:
        """Kill (never used) and reap a spare that is out of the table."""
        sp.chan.close()
        try:
            signal.pidfd_send_signal(sp.pidfd, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(sp.pid, 0)
        os.close(sp.pidfd)
        try:
            self.native.reaped(sp.pid)
        except OSError as e:
            print("sbox template: a spare: %s" % e, file=sys.stderr, flush=True)

    def _postfork(self, pid: int) -> None:
        try:
            self.native.postfork(pid)
        except OSError as e:
            # T could not go back to its own pid namespace for children: it
            # must not fork another worker into this one
            print("sbox template: %s; exiting" % e, file=sys.stderr, flush=True)
            os._exit(SETUP_FAILED)

    def _reap(self, rid: int) -> None:
        c = self.children.pop(rid)
        del self.by_pidfd[c.pidfd]
        _, status = os.waitpid(c.pid, 0)
        os.close(c.pidfd)
        message = ""
        try:
            self.native.reaped(c.pid)
        except OSError as e:
            message = str(e)
        _line(c.status_w, {"status": status, "timeout": c.timed_out, "message": message})
        os.close(c.status_w)

    def shutdown(self) -> None:
        """P is gone or closed the socket: no worker outlives it."""
        for c in list(self.children.values()):
            self._kill(c, signal.SIGKILL)
        for rid in list(self.children):
            self._reap(rid)
        for sp in list(self.spares.values()):
            del self.spares[sp.pidfd]
            self._discard(sp)
        for chan, _k, _d in self.starting.values():
            chan.close()
        self.starting.clear()
        self.native.close()


def worker(native: Any, req: Dict[str, Any], fds: List[int]) -> None:
    """W, just forked: enter the sandbox first, then run as spawn's child
    does.  Never returns into T's loop."""
    code = SETUP_FAILED
    _status_w, data_r, ready_w, out, err = fds[:5]
    passed = fds[5:]
    try:
        try:
            # T's death takes W with it (T reaps and kills on every other path)
            _prctl_pdeathsig()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not T's clean exit
            env = native.enter(req["policy"], req["gpus"], [0, data_r, ready_w, out, err] + passed)
        except BaseException as e:  # noqa: B902  nothing of the target may run
            msg = str(e) or type(e).__name__
            try:
                os.write(ready_w, b"E" + msg.encode("utf-8", "replace"))
            except OSError:
                pass
            os._exit(SETUP_FAILED)
        code = _run(dict(env), data_r, ready_w, out, err, passed)
    finally:
        os._exit(code)


def spare(native: Any, key: SpareKey, chan: socket.socket) -> None:
    """A spare, just forked: enter the sandbox of key, say so on chan, then
    wait there for a request (its fds), and run as worker() does.
    T closing chan first (the spare is not wanted) ends it."""
    code = SETUP_FAILED
    try:
        try:
            _prctl_pdeathsig()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            env = native.enter(key[0], key[1], [0, chan.fileno()])
        except BaseException as e:  # noqa: B902  nothing of the target may run
            msg = str(e) or type(e).__name__
            try:
                chan.send(b"E" + msg.encode("utf-8", "replace"))
            except OSError:
                pass
            os._exit(SETUP_FAILED)
        chan.send(b"R")
        msg, fds, flags, _ = socket.recv_fds(chan, MSG_MAX, MAX_FDS, socket.MSG_CMSG_CLOEXEC)
        if not msg or flags & socket.MSG_CTRUNC or len(fds) < 4:
            os._exit(0)
        data_r, ready_w, out, err = fds[:4]
        # chan stays open until the worker has started: its close tells T
        # to make the next spare (not while this one starts)
        code = _run(dict(env), data_r, ready_w, out, err, fds[4:],
                    started=chan.close)
    finally:
        os._exit(code)


def _read_exactly(fd: int, n: int) -> bytes:
    got = b""
    while len(got) < n:
        chunk = os.read(fd, n - len(got))
        if not chunk:
            raise EOFError("the program closed the worker's data pipe")
        got += chunk
    return got


def _environment(data_r: int, sandbox_env: Dict[str, str]) -> Dict[str, str]:
    """The worker's environment: the program's view of it (PATH, HOME, USER,
    LOGNAME, TERM, pass_env=), then the sandbox's lines (the site's
    Environment=; a gpus= worker's policy Environment= and its GPU
    visibility), then, for a worker without GPUs, its own env=, as
    sbox_env_build() orders a launched worker's.  From the program, on the
    data pipe."""
    size = int.from_bytes(_read_exactly(data_r, 4), "big")
    head = json.loads(_read_exactly(data_r, size))
    return {**head["before"], **sandbox_env, **head["after"]}


def _run(sandbox_env: Dict[str, str], data_r: int, ready_w: int, out: int, err: int,
         passed: List[int], started: Optional[Any] = None) -> int:
    # nothing of the template's environment
    os.environ.clear()
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.close(out)
    os.close(err)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    inherited_fds[:] = passed
    os.write(ready_w, b"R")
    os.close(ready_w)
    # after R: the program writes what did not fit the pipe at start() once
    # it has it
    os.environ.update(_environment(data_r, sandbox_env))
    return _spawn_main(data_r, os.dup(data_r), started)


def _spawn_main(fd: int, parent_sentinel: int, started: Optional[Any]) -> int:
    """multiprocessing.spawn._main (CPython 3.8-3.13, the same body), with
    started() called once the process object is read, before its target
    runs."""
    from multiprocessing import process, reduction, spawn
    with os.fdopen(fd, "rb", closefd=True) as from_parent:
        process.current_process()._inheriting = True
        try:
            preparation_data = reduction.pickle.load(from_parent)
            spawn.prepare(preparation_data)
            self = reduction.pickle.load(from_parent)
        finally:
            del process.current_process()._inheriting
    if started is not None:
        started()
    return self._bootstrap(parent_sentinel)


def main() -> None:
    ctrl = socket.socket(fileno=CTRL_FD)
    init = pickle.loads(ctrl.recv(MSG_MAX))
    sys.path[:] = init["sys_path"]
    try:
        native = load_native(init.get("native"), init.get("library"))
        # first, single-threaded: the template's own user namespace
        native.open(init.get("socket"))
    except Exception as e:
        _send(ctrl, {"error": "sbox: the template could not open the zygote: %s" % e})
        sys.exit(SETUP_FAILED)
    _prctl_pdeathsig()
    if os.getppid() != init["parent_pid"]:
        sys.exit(SETUP_FAILED)  # P died before the death signal was set
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C is P's to handle
    # T reaps its workers by pid: never auto-reaped (a parent that ignores
    # SIGCHLD, through whatever started T)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    # a SIGTERM (a kill of the process group) still cleans up: shutdown()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        os.chdir(init["cwd"])
    except OSError:
        pass
    try:
        for name in init["preload"]:
            importlib.import_module(name)
    except BaseException:
        import traceback
        _send(ctrl, {"error": "sbox: the template could not import its preload list %r:\n%s"
                     % (init["preload"], traceback.format_exc())})
        sys.exit(SETUP_FAILED)
    try:
        native.check_clean()
    except OSError as e:
        _send(ctrl, {"error": "sbox: the template for preload=%r is refused: %s (a template "
                     "must not initialise CUDA: each worker does, in its own sandbox)"
                     % (init["preload"], e), "cuda": True})
        sys.exit(SETUP_FAILED)
    # What the imports made stays out of every later collection: a
    # collection in a worker would write to each object's header and so
    # copy every page of them (the memory a zygote exists to share).
    gc.collect()
    gc.freeze()
    _send(ctrl, {"ok": os.getpid()})
    t = Template(ctrl, native)
    try:
        t.serve()
    finally:
        t.shutdown()
