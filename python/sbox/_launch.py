"""Launch a sandbox: through sboxd when its socket answers, else direct
(exec sboxrun, which uses user namespaces when unprivileged)."""

import fcntl
import json
import os
import queue
import shutil
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import _options, _program, _proto, _status

# The directory holding the sbox package: put on the worker's sys.path so
# that its interpreter can import sbox._child whatever PYTHONPATH says.
PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SOCKET = "/run/sbox/sboxd.sock"


@dataclass
class Spec:
    argv: List[str]
    options: Dict[str, Any]
    stdin: int
    stderr: int
    passed: List[int]  # parent fds; the i-th becomes fd 3+i in the worker
    name: str
    program: _program.Program
    extra_binds: List[str] = field(default_factory=list)


class Job:
    pid: int = 0

    def wait(self, block: bool = True) -> Optional[_status.SandboxExit]:
        raise NotImplementedError

    def signal(self, sig: int) -> None:
        raise NotImplementedError

    def kill(self) -> None:
        self.signal(9)

    def describe(self) -> str:
        raise NotImplementedError


def find_sboxrun() -> str:
    """$SBOXRUN, this source tree's build/release/sboxrun, else sboxrun on PATH."""
    env = os.environ.get("SBOXRUN")
    if env:
        return env
    tree = os.path.join(os.path.dirname(PKG_PARENT), "build", "release", "sboxrun")
    if os.access(tree, os.X_OK):
        return tree
    found = shutil.which("sboxrun") or shutil.which("sboxrun", path="/usr/local/bin:/usr/bin")
    if found:
        return found
    raise FileNotFoundError("sbox: no sboxrun found ($SBOXRUN, %s, or PATH) and no sboxd "
                            "answering: install sbox or set SBOXRUN" % tree)


def implicit(spec: Spec) -> Dict[str, Any]:
    return implicit_options(spec.options, spec.program)


def implicit_options(options: Dict[str, Any], prog: _program.Program) -> Dict[str, Any]:
    """The options every worker needs on top of the user's: the program's
    shm and temp dirs, the parent's paths the sandbox hides, Python's
    environment, and the caller's own uid for root (docs/python.md)."""
    opts = dict(options)
    binds = list(opts.get("bind", []))
    if prog.shm_dir:
        binds.append("%s:/dev/shm" % prog.shm_dir)
    opts["bind"] = binds
    # after the read-only binds, one of which may be its parent (/tmp,
    # where the script or the cwd is): Managers' and resource_sharer's
    # sockets go there
    opts["_late_bind"] = ["%s:%s" % (prog.mp_tmp, prog.mp_tmp)]
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    paths = list(sys.path) + [os.getcwd(), PKG_PARENT]
    if main:
        paths.append(os.path.dirname(os.path.abspath(main)))
    mp_tmp = os.path.realpath(prog.mp_tmp)
    ro = [p for p in _program.visible_binds(paths)
          if not (p == mp_tmp or p.startswith(mp_tmp + "/"))]
    opts["_implicit_ro_bind"] = ["%s:%s" % (p, p) for p in ro]
    names = [n for n in _options.PYTHON_ENV if n in os.environ]
    opts["pass_env"] = list(opts.get("pass_env", [])) + [n for n in names
                                                         if n not in opts.get("pass_env", [])]
    if "user" not in opts and os.geteuid() == 0:
        # root's workers run as root, without capabilities: root's 0600
        # semaphores and a python under /root (pyenv) stay usable
        opts["user"] = "0"
    return opts


_setpriv_path: Optional[str] = None
_setpriv_known = False


def _setpriv() -> Optional[str]:
    """util-linux's setpriv, which gives sboxrun a parent-death signal."""
    global _setpriv_path, _setpriv_known
    if not _setpriv_known:
        _setpriv_path = shutil.which("setpriv") or shutil.which("setpriv", path="/usr/bin:/bin")
        _setpriv_known = True
    return _setpriv_path


def has_setpriv() -> bool:
    return _setpriv() is not None


def socket_path(opts: Dict[str, Any]) -> Tuple[Optional[str], bool]:
    """(socket, must_answer): a socket named by socket= or $SBOX_SOCKET must
    answer; the default one is used when it does."""
    if opts.get("direct"):
        return None, False
    if opts.get("socket"):
        return opts["socket"], True
    env = os.environ.get("SBOX_SOCKET")
    if env:
        return env, True
    return DEFAULT_SOCKET, False


def start(spec: Spec) -> Job:
    path, must = socket_path(spec.options)
    if path is not None:
        if must or os.path.exists(path):
            try:
                conn = _proto.connection(path)
            except (OSError, ValueError) as e:
                if must:
                    raise ConnectionError("sbox: sboxd socket %s does not answer: %s" % (path, e)) from e
            else:
                try:
                    return DaemonJob(conn, spec)
                except ConnectionError:
                    # sboxd closed an idle connection just now: once more
                    return DaemonJob(_proto.connection(path), spec)
    return DirectJob(spec)


class DaemonJob(Job):
    def __init__(self, conn: _proto.Connection, spec: Spec):
        self.conn = conn
        self.exit: Optional[_status.SandboxExit] = None
        opened: List[int] = []
        try:
            b = self._build(spec, implicit(spec), opened)
            attrs = conn.call(b)
        finally:
            for fd in opened:
                os.close(fd)
        self.job = int(_proto.first(attrs, _proto.JOB_ID, 0))  # type: ignore[arg-type]
        self.pid = int(_proto.first(attrs, _proto.PID, 0))  # type: ignore[arg-type]
        self.reply = conn.watch(self.job)

    def _build(self, spec: Spec, opts: Dict[str, Any], opened: List[int]) -> _proto.Builder:
        b = _proto.Builder(_proto.LAUNCH)
        for a in spec.argv:
            b.string(_proto.ARGV, a)
        for n in ["TERM"] + list(opts.get("pass_env", [])):
            if n in os.environ:
                b.string(_proto.ENV, "%s=%s" % (n, os.environ[n]))
        b.string(_proto.CWD, os.getcwd())
        text, binds = _options.policy_text({k: v for k, v in opts.items()
                                            if k not in ("gpus", "wait_gpu")})
        b.string(_proto.POLICY, text)
        b.string(_proto.NAME, spec.name.encode()[:64].decode("utf-8", "ignore"))
        b.u32(_proto.STDIN, b.fd(spec.stdin))
        try:
            os.fstat(1)
            b.u32(_proto.STDOUT, b.fd(1))
        except OSError:
            pass
        b.u32(_proto.STDERR, b.fd(spec.stderr))
        for i, fd in enumerate(spec.passed):
            b.pair(_proto.PASS_FD, 3 + i, b.fd(fd))
        for k, (directive, bspec) in enumerate(binds):
            src, optional = _options.bind_source(bspec)
            try:
                fd = os.open(src, os.O_PATH | os.O_CLOEXEC)
            except OSError as e:
                if optional and isinstance(e, FileNotFoundError):
                    continue
                raise _status.SandboxError("%s=%s: bind source %s: %s"
                                           % (directive, bspec, src, e.strerror)) from e
            opened.append(fd)
            b.pair(_proto.BIND_FD, k, b.fd(fd))
        if opts.get("wait_gpu"):
            b.u32(_proto.FLAGS, _proto.FLAG_WAIT_GPU)
        if opts.get("gpus"):
            b.u32(_proto.GPU_COUNT, opts["gpus"])
        return b

    def wait(self, block: bool = True) -> Optional[_status.SandboxExit]:
        if self.exit is None:
            if not block and not self.reply.done.is_set():
                return None
            self.reply.done.wait()
            if self.reply.fail is not None:
                self.exit = _status.SandboxExit(exitcode=-9, signal=9, outcome="lost",
                                                message=str(self.reply.fail), via="sboxd")
            elif self.reply.mtype == _proto.ERROR:
                self.exit = _status.SandboxExit(
                    exitcode=-9, signal=9, outcome="lost", via="sboxd",
                    message=str(_proto.first(self.reply.attrs, _proto.MESSAGE, "")))
            else:
                self.exit = _status.from_exit(self.reply.attrs)
            self.conn.forget(self.job)
        return self.exit

    def signal(self, sig: int) -> None:
        b = _proto.Builder(_proto.SIGNAL)
        b.u64(_proto.JOB_ID, self.job)
        b.u32(_proto.SIGNUM, sig)
        try:
            self.conn.call(b)
        except (_proto.DaemonError, ConnectionError):
            pass  # already ended: as os.kill's ProcessLookupError

    def describe(self) -> str:
        return "job %d via sboxd %s" % (self.job, self.conn.path)


# A process dies with the thread that forked it (PR_SET_PDEATHSIG follows
# the thread), so sboxrun is started by the main thread or by one thread
# that lives as long as the program: a Pool's or an executor's helper
# thread that started a worker may end long before the worker should.
_spawn_q: "queue.Queue[Tuple[Callable[[], Any], queue.Queue]]" = queue.Queue()
_spawner: Optional[threading.Thread] = None
_spawner_lock = threading.Lock()


def _spawner_loop() -> None:
    while True:
        fn, out = _spawn_q.get()
        try:
            out.put((True, fn()))
        except BaseException as e:  # handed back to the caller
            out.put((False, e))


def _in_long_lived_thread(fn: Callable[[], Any]) -> Any:
    global _spawner
    if threading.current_thread() is threading.main_thread():
        return fn()
    with _spawner_lock:
        if _spawner is None or not _spawner.is_alive():
            _spawner = threading.Thread(target=_spawner_loop, name="sbox-spawner", daemon=True)
            _spawner.start()
    out: queue.Queue = queue.Queue(1)
    _spawn_q.put((fn, out))
    ok, v = out.get()
    if not ok:
        raise v
    return v


_seq = 0
_seq_lock = threading.Lock()


class DirectJob(Job):
    def __init__(self, spec: Spec):
        global _seq
        self.exit: Optional[_status.SandboxExit] = None
        self.sboxrun = find_sboxrun()
        with _seq_lock:
            _seq += 1
            n = _seq
        self.status_file = os.path.join(spec.program.state_dir, "exit-%d.json" % n)
        self.err_fd = spec.stderr
        self._err = os.dup(spec.stderr)
        opts = implicit(spec)
        argv = [self.sboxrun, "--direct", "--json-status", self.status_file]
        argv += _options.sboxrun_flags(opts)
        for i in range(len(spec.passed)):
            argv += ["--pass-fd", str(3 + i)]
        argv += ["--"] + spec.argv
        setpriv = _setpriv()
        if setpriv:
            argv = [setpriv, "--pdeathsig", "KILL", "--"] + argv
        self.pid = _in_long_lived_thread(lambda: _spawn(argv, spec))
        self._lock = threading.Lock()

    def wait(self, block: bool = True) -> Optional[_status.SandboxExit]:
        with self._lock:
            if self.exit is not None:
                return self.exit
            try:
                pid, st = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                pid, st = self.pid, 9
            if pid == 0:
                return None
            self.exit = self._read_exit(st)
            os.close(self._err)
            return self.exit

    def _read_exit(self, st: int) -> _status.SandboxExit:
        msg = os.pread(self._err, 65536, 0).decode("utf-8", "replace").strip()
        # only sboxrun's lines (the worker's own stderr moved away once up)
        msg = "\n".join(l for l in msg.splitlines() if l.startswith("sboxrun") or "sbox" in l) or msg
        try:
            with open(self.status_file) as f:
                d = json.load(f)
            os.unlink(self.status_file)
        except (OSError, ValueError):
            return _status.from_sboxrun_status(st, msg)
        return _status.from_json(d, msg)

    def signal(self, sig: int) -> None:
        # sboxrun forwards SIGTERM/SIGINT/SIGHUP/SIGQUIT to the worker, and
        # its death by SIGKILL takes the whole sandbox with it
        if self.exit is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def describe(self) -> str:
        return "sboxrun pid %d" % self.pid


def _spawn(argv: List[str], spec: Spec) -> int:
    """posix_spawn sboxrun with stdin, stderr and the passed fds at their
    numbers.  Sources are first copied above every target (so that no
    dup2 overwrites a source still to be copied); the copies are
    close-on-exec and closed here afterwards."""
    n = len(spec.passed)
    low = 3 + n
    srcs = [spec.stdin, spec.stderr] + spec.passed
    copies = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, low) for fd in srcs]
    try:
        actions: List[Tuple[int, ...]] = [(os.POSIX_SPAWN_DUP2, copies[0], 0),
                                          (os.POSIX_SPAWN_DUP2, copies[1], 2)]
        for i, c in enumerate(copies[2:]):
            actions.append((os.POSIX_SPAWN_DUP2, c, 3 + i))
        return os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
    finally:
        for c in copies:
            os.close(c)
