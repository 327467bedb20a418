"""Zygotes, the program's side: templates that have imported the preload
list once, from which each worker is forked into a fresh sandbox.

A template (sbox._template, process T) is keyed by what it fixes: the
python executable and its flags, the preload list, where sandboxes come
from (sboxd's socket, or direct) and the user.  Everything else is per
worker and goes in the fork request: the policy text that
sbox_zygote_enter applies (limits, devices, GPUs, binds, net, hostname,
env), so a sandbox={...} override changing only those uses the same
template; one changing socket= or direct= uses (makes) another one;
user= other than the caller and wait_gpu= are refused (OptionError).

Templates live as long as the program that made them: at exit (after
multiprocessing has joined its children) each is told to stop, kills and
reaps what is left of its workers and is reaped; a template that died is
replaced on the next start().
"""

import dataclasses
import errno
import json
import os
import pickle
import pwd
import re
import select
import signal
import socket
import sys
import threading
from multiprocessing import spawn, util
from multiprocessing.connection import wait as mp_wait
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import _launch, _options, _popen, _program, _status

SandboxError = _status.SandboxError
MAX_PASS = 64
SETUP_FAILED = 125

# Tests set this to "module:Class" (a fake of libsbox's zygote calls) to
# exercise the protocol without sandboxes; None is libsbox.
NATIVE: Optional[str] = None


class TemplateError(SandboxError):
    """A template could not be made: its imports failed, libsbox refused it,
    or it initialised CUDA (cuda is then True)."""

    def __init__(self, message: str, cuda: bool = False):
        super().__init__(message)
        self.cuda = cuda


def normalize_preload(preload: Any) -> Tuple[str, ...]:
    if isinstance(preload, str):
        preload = [preload]
    names = tuple(str(n) for n in preload)
    for n in names:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$", n):
            raise _options.OptionError("preload=%r: %r is not a module name" % (list(names), n))
    return names


def _caller_user_matches(user: str) -> bool:
    uid = os.getuid()
    if user.isdigit():
        return int(user) == uid
    try:
        return pwd.getpwnam(user).pw_uid == uid
    except KeyError:
        return False


def check_options(opts: Dict[str, Any]) -> None:
    """What a worker forked from a template can't have."""
    user = opts.get("user")
    if user is not None and not _caller_user_matches(user):
        raise _options.OptionError(
            "sbox option user=%r with preload=: a template's workers run as its user, the "
            "caller (uid %d); use a context without preload= for another user" % (user, os.getuid()))
    if opts.get("wait_gpu"):
        raise _options.OptionError(
            "sbox option wait_gpu=True with preload=: a worker forked from a template gets its "
            "GPUs at once or fails; use a context without preload= to queue for GPUs")


def _answers(path: str) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def sandbox_source(opts: Dict[str, Any]) -> Optional[str]:
    """sboxd's socket the workers are placed through, None for direct: as
    for the other workers (socket=/$SBOX_SOCKET must answer)."""
    path, must = _launch.socket_path(opts)
    if path is None:
        return None
    if must:
        if not _answers(path):
            # as the other workers' start() says it (_popen): a SandboxError
            raise SandboxError("sbox: sboxd socket %s does not answer" % path)
        return path
    return path if os.path.exists(path) and _answers(path) else None


_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*(us|ms|s|sec|m|min|h|hr|d)?")
_UNIT = {"us": 1e-6, "ms": 1e-3, None: 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0,
         "h": 3600.0, "hr": 3600.0, "d": 86400.0}


def timespan(text: str) -> Optional[float]:
    """Seconds of a systemd time span ("90", "500ms", "1h 30min"); None for
    infinity or a span this parser does not know (sbox itself checks it)."""
    text = text.strip()
    if not text or text == "infinity":
        return None
    total, pos = 0.0, 0
    for m in _SPAN.finditer(text):
        if text[pos:m.start()].strip():
            return None
        total += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    return total if not text[pos:].strip() and pos else None


@dataclasses.dataclass
class Request:
    policy: str
    gpus: int
    env: Dict[str, str]          # the program's part (worker_env)
    user_env: Dict[str, str]     # env=
    timeout: Optional[float]
    spares: int = 0
    binds: str = ""              # what the bind sources are now (bind_identity)


# workers the template keeps entered ahead per sandbox key (get_context's
# spares=).  Two: with one, back-to-back starts alternate between a spare
# (24 ms) and a fresh fork (55-65 ms), the next start coming before the
# refill has entered; with two every start finds one (docs/python.md)
DEFAULT_SPARES = 2
MAX_SPARES = 8


def normalize_spares(spares: Any) -> int:
    if spares is None:
        return DEFAULT_SPARES
    if isinstance(spares, bool) or not isinstance(spares, int) or not 0 <= spares <= MAX_SPARES:
        raise _options.OptionError("spares=%r: expected a count from 0 to %d" % (spares, MAX_SPARES))
    return spares


# sandbox/procstate.c's, as a worker sbox launches gets it
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def worker_env(opts: Dict[str, Any]) -> Dict[str, str]:
    """The program's part of the worker's environment, as sbox_env_build()
    starts a launched worker's: PATH, HOME, USER, LOGNAME, TERM, pass_env=
    (the program's values now); the sandbox adds its lines (enter's env_out:
    the policy's Environment=, the GPU grant's), and the worker's env= comes
    after the site's (_template._environment)."""
    try:
        pw = pwd.getpwuid(os.getuid())
        home, user = pw.pw_dir, pw.pw_name
    except KeyError:
        home, user = "/", str(os.getuid())
    env = {"PATH": DEFAULT_PATH, "HOME": home, "USER": user, "LOGNAME": user}
    for n in ["TERM"] + list(opts.get("pass_env", [])):
        if n in os.environ:
            env[n] = os.environ[n]
    return env


def request_for(opts: Dict[str, Any], prog: _program.Program, spares: int = 0,
                via_sboxd: bool = False) -> Request:
    """The per-worker part of the options: the policy text enter applies
    (with the implicit binds of every sbox worker; no User=: a worker is
    its template's user), the environment the worker sets itself, the
    timeout the template enforces."""
    full = _launch.implicit_options(opts, prog)
    full.pop("user", None)
    gpus = int(opts.get("gpus") or 0)
    # env= reaches the worker from the program (the data pipe), not in the
    # policy text: that text keys the spares, and what the template holds
    # every later fork of it copies.  A gpus= worker (no spares) keeps it in
    # the text, where the GPU grant's variables come after it, as for a
    # launched worker.
    user_env = dict(full.get("env", {}))
    leave_out = {"gpus", "wait_gpu", "socket", "direct"} | ({"env"} if not gpus else set())
    text, binds = _options.policy_text({k: v for k, v in full.items() if k not in leave_out})
    env = worker_env(full)
    runtime = _options.runtime_in(text)
    timeout = timespan(runtime) if runtime is not None else None
    # a spare never holds GPUs: a lease waiting in it could be another
    # worker's that needs one now.  Nor, through sboxd, a timeout: sboxd
    # counts RuntimeMaxSec= from the placement, which for a spare is when
    # it was made, not when a worker takes it (docs/python.md)
    if gpus or (via_sboxd and timeout is not None):
        spares = 0
    return Request(policy=text, gpus=gpus, env=env, user_env=user_env, timeout=timeout,
                   spares=spares, binds=bind_identity(binds))


def bind_identity(binds: Sequence[Tuple[str, str]]) -> str:
    """Which files the bind sources are now: device and inode of each, as
    the program resolves them.  It keys the spares with the policy text: a
    spare entered its sandbox, binds included, ahead, and a source removed
    and made again since (a run's output directory) is another file, which
    a worker forked at start() would see."""
    ids = []
    for _directive, spec in binds:
        src, _optional = _options.bind_source(spec)
        try:
            st = os.stat(src)
            ids.append("%d:%d" % (st.st_dev, st.st_ino))
        except OSError:
            ids.append("-")
    return " ".join(ids)


def environment_head(req: Request) -> Dict[str, Dict[str, str]]:
    """What the worker sets around the sandbox's lines (enter's env_out),
    in sbox_env_build()'s order: env= after the site's Environment=, and
    before a GPU grant's variables, which a gpus= worker's env_out holds
    after its policy text's env= (_template._environment)."""
    if req.gpus:
        return {"before": {**req.env, **req.user_env}, "after": {}}
    return {"before": req.env, "after": req.user_env}


def _template_env() -> Dict[str, str]:
    """The template's environment: a worker's base (PATH, HOME, USER,
    LOGNAME, TERM) and what Python needs; nothing else of the program's."""
    keep = ("PATH", "HOME", "USER", "LOGNAME", "TERM") + _options.PYTHON_ENV
    return {k: os.environ[k] for k in keep if k in os.environ}


class Template:
    """The program's handle on one template process."""

    def __init__(self, key: Tuple[Any, ...], preload: Tuple[str, ...], source: Optional[str]):
        self.key = key
        self.preload = preload
        self.socket = source
        self.pid = 0
        self._lock = threading.Lock()
        self._seq = 0
        self.ctrl, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.pid = _launch._in_long_lived_thread(lambda: self._spawn(theirs))
        finally:
            theirs.close()
        try:
            self._handshake()
        except BaseException:
            self.stop()
            raise

    def _spawn(self, theirs: socket.socket) -> int:
        prog = ("import sys; sys.path.insert(0, %r); "
                "from sbox._template import main; main()" % _launch.PKG_PARENT)
        argv = [spawn.get_executable()] + util._args_from_interpreter_flags() + ["-c", prog]
        null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        try:
            actions = [(os.POSIX_SPAWN_DUP2, null, 0),
                       (os.POSIX_SPAWN_DUP2, theirs.fileno(), 3)]
            # the template reaps its workers itself: a program that ignores
            # SIGCHLD (or blocks signals) must not hand it that
            return os.posix_spawn(argv[0], argv, _template_env(), file_actions=actions,
                                  setsigdef=(signal.SIGCHLD,), setsigmask=())
        finally:
            os.close(null)

    def _handshake(self) -> None:
        # the program's $SBOX_LIBSBOX decides: the template's environment is clean
        from . import _native  # ctypes: only for a program that uses zygotes
        try:
            library = None if NATIVE else _native.library_path()
        except _native.NativeError as e:
            raise TemplateError(str(e)) from e
        init = dict(preload=list(self.preload), sys_path=list(sys.path), cwd=os.getcwd(),
                    socket=self.socket, native=NATIVE, library=library, parent_pid=os.getpid())
        self.ctrl.send(pickle.dumps(init))
        msg = self.ctrl.recv(1 << 20)
        reply = pickle.loads(msg) if msg else {}
        if "ok" not in reply:
            _, status = os.waitpid(self.pid, 0)
            self.pid = 0
            text = reply.get("error") or ("sbox: the template for preload=%r ended at start "
                                          "(exit code %s)" % (list(self.preload),
                                                              os.waitstatus_to_exitcode(status)))
            raise TemplateError(text, cuda=bool(reply.get("cuda")))

    def alive(self) -> bool:
        if not self.pid:
            return False
        try:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            pid = self.pid
        if pid:
            self.pid = 0
            return False
        return True

    def fork(self, req: Request, fds: Sequence[int]) -> int:
        with self._lock:
            self._seq += 1
            rid = self._seq
            msg = pickle.dumps(dict(id=rid, policy=req.policy, gpus=req.gpus, binds=req.binds,
                                    timeout=req.timeout, spares=req.spares))
            try:
                socket.send_fds(self.ctrl, [msg], list(fds))
            except OSError as e:
                if e.errno != errno.EMSGSIZE:
                    raise
                # too big for one message: this request's fault, not the
                # template's, which serves its other workers on
                limit = self.ctrl.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
                raise SandboxError("sbox: the request to start the worker is %d bytes (its "
                                   "policy text and options), past the %d the "
                                   "template's socket carries" % (len(msg), limit)) from None
        return rid

    def signal(self, rid: int, sig: int) -> None:
        try:
            self.ctrl.send(pickle.dumps(dict(signal=rid, sig=sig)))
        except OSError:
            pass  # the template is gone, and its workers with it

    def stop(self, grace: float = 10.0) -> None:
        """Close the control socket (the template then kills and reaps its
        workers and exits) and reap the template."""
        try:
            self.ctrl.close()
        except OSError:
            pass
        if not self.pid:
            return
        import time
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.pid = 0
                return
            time.sleep(0.01)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        self.pid = 0

    def __repr__(self) -> str:
        return "<sbox template pid %d preload=%r via %s>" % (
            self.pid, list(self.preload), self.socket or "direct")


_templates: Dict[Tuple[Any, ...], Template] = {}
_templates_lock = threading.Lock()
_owner = 0


def template_key(preload: Tuple[str, ...], opts: Dict[str, Any]) -> Tuple[Any, ...]:
    return (spawn.get_executable(), tuple(util._args_from_interpreter_flags()), preload,
            sandbox_source(opts), os.getuid(), NATIVE)


def template_for(preload: Tuple[str, ...], opts: Dict[str, Any]) -> Template:
    """The running template for these (made now if there is none)."""
    global _owner
    check_options(opts)
    key = template_key(preload, opts)
    with _templates_lock:
        if _owner != os.getpid():
            # a forked copy of the program: the templates are its parent's
            _templates.clear()
            _owner = os.getpid()
            util.Finalize(None, stop_all, exitpriority=-50)
        t = _templates.get(key)
        if t is not None and t.alive():
            return t
        t = Template(key, preload, key[3])
        _templates[key] = t
        return t


def forget(t: Template) -> None:
    """A template found dead: out of the table, reaped.  One still alive
    is left as it is (stopping it would kill its running workers)."""
    if t.alive():
        return
    with _templates_lock:
        if _templates.get(t.key) is t:
            del _templates[t.key]
    t.stop(grace=5.0)


def stop_all() -> None:
    """At exit, after multiprocessing joined the children: no template (and
    so no worker) outlives the program."""
    if _owner != os.getpid():
        return
    with _templates_lock:
        ts = list(_templates.values())
        _templates.clear()
    for t in ts:
        t.stop()


class _DupFd:
    """An fd of the parent as the worker finds it: the ind-th fd of the
    fork request."""

    def __init__(self, ind: int):
        self.ind = ind

    def detach(self) -> int:
        from . import _template
        return _template.inherited_fds[self.ind]


class Popen(_popen.PopenSignals):
    """multiprocessing's Popen interface for a worker forked from a template."""

    method = "sbox"
    DupFd = _DupFd

    def __init__(self, process_obj: Any, preload: Tuple[str, ...], opts: Dict[str, Any],
                 spares: int = DEFAULT_SPARES):
        util._flush_std_streams()
        self.returncode: Optional[int] = None
        self.finalizer: Any = None
        self.sandbox_exit: Optional[_status.SandboxExit] = None
        self.pid = 0
        self._fds: List[int] = []
        self._buf = b""
        self._lock = threading.Lock()
        self._template: Optional[Template] = None
        self._rid = 0
        self.from_spare = False  # handed to a worker the template entered ahead
        self._launch(process_obj, preload, opts, spares)

    def duplicate_for_child(self, fd: int) -> int:
        if fd in self._fds:
            return self._fds.index(fd)
        if len(self._fds) >= MAX_PASS:
            raise SandboxError("passing more than %d fds to one sandbox worker" % MAX_PASS)
        self._fds.append(fd)
        return len(self._fds) - 1

    def _launch(self, process_obj: Any, preload: Tuple[str, ...], opts: Dict[str, Any],
                spares: int) -> None:
        tmpl = template_for(preload, opts)
        prog = _program.get()
        req = request_for(opts, prog, spares, via_sboxd=tmpl.socket is not None)
        # the worker's environment first, on the data pipe: never through
        # the template (_template._environment)
        head = json.dumps(environment_head(req)).encode()
        data = len(head).to_bytes(4, "big") + head + _popen.pickle_process(self, process_obj, prog)
        first, mine, sent = self._request(tmpl, req, data)
        if first.get("lost"):
            # the template died since it was last used (its pipe closed
            # before the program could reap it): once more, from a new one
            util.close_fds(*mine)
            forget(tmpl)
            tmpl = template_for(preload, opts)
            first, mine, sent = self._request(tmpl, req, data)
        status_r, data_w, ready_r = mine
        try:
            if "pid" not in first:
                msg = first.get("error") or "the template ended"
                self._set_exit(_status.SandboxExit(
                    exitcode=SETUP_FAILED, outcome="setup_failed", via="zygote", message=msg))
                raise SandboxError("sbox: %s did not start (%r): %s"
                                   % (process_obj.name, tmpl, msg), self.sandbox_exit)
            self.pid = first["pid"]
            self.from_spare = bool(first.get("spare"))
            self._await_ready(ready_r, process_obj.name)
            try:
                with open(data_w, "wb", closefd=False) as f:
                    f.write(memoryview(data)[sent:])
            except BrokenPipeError:
                pass  # it died reading; exitcode and sandbox_exit say how
        except BaseException:
            if self.pid and self.returncode is None:
                tmpl.signal(self._rid, 9)
            util.close_fds(*mine)
            raise
        os.close(ready_r)
        self.finalizer = util.Finalize(self, util.close_fds, (status_r, data_w))

    def _request(self, tmpl: Template, req: Request,
                 data: bytes) -> Tuple[Dict[str, Any], List[int], int]:
        """Ask tmpl to fork the worker: its first status line, the
        program's ends [status_r (the sentinel), data_w, ready_r], and how
        much of data is already in the data pipe (what fits in its buffer
        goes now, so the worker reads it as soon as it entered its sandbox,
        without waiting for the program to run again)."""
        mine: List[int] = []
        theirs: List[int] = []
        try:
            status_r, status_w = os.pipe()
            mine.append(status_r)
            theirs.append(status_w)
            data_r, data_w = os.pipe()
            mine.append(data_w)
            theirs.append(data_r)
            ready_r, ready_w = os.pipe()
            mine.append(ready_r)
            theirs.append(ready_w)
            out = 1 if _usable(1) else os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
            err = 2 if _usable(2) else os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
            try:
                self._rid = tmpl.fork(req, theirs + [out, err] + self._fds)
            except OSError as e:
                if tmpl.alive():
                    raise SandboxError("sbox: starting the worker: the template's socket: %s"
                                       % e) from None
                return {"lost": True}, mine, 0  # its socket's other end is gone
            finally:
                util.close_fds(*[fd for fd in (out, err) if fd > 2])
                util.close_fds(*theirs)
                theirs = []
        except BaseException:
            util.close_fds(*(mine + theirs))
            raise
        self._template = tmpl
        self.sentinel = mine[0]
        self._buf = b""
        sent = _write_some(mine[1], data)
        return self._read_status(block=True), mine, sent
    def _await_ready(self, ready_r: int, name: str) -> None:
        """Until the worker has entered its sandbox: raise SandboxError with
        libsbox's message when it could not."""
        got = b""
        while True:
            b = os.read(ready_r, 65536)
            if not b or got + b == b"R":
                got += b
                break
            got += b
        if got == b"R":
            return
        ex = self._exit(block=True)
        msg = got[1:].decode("utf-8", "replace") if got.startswith(b"E") else ""
        msg = msg or ex.message or "the worker ended before its sandbox was entered"
        if ex.exitcode == SETUP_FAILED:
            ex = dataclasses.replace(ex, outcome="setup_failed", message=msg)
            self._set_exit(ex)
        raise SandboxError("sbox: %s did not start (forked from %r, %s, exit code %s): %s"
                           % (name, self._template, ex.outcome, ex.exitcode, msg), ex)

    def _read_status(self, block: bool) -> Dict[str, Any]:
        """The next status line from the template; {} when none is there yet
        (block False); {"lost": ...} at EOF."""
        while b"\n" not in self._buf:
            if not block and not select.select([self.sentinel], [], [], 0)[0]:
                return {}
            b = os.read(self.sentinel, 4096)
            if not b:
                return {"lost": True}
            self._buf += b
        line, _, self._buf = self._buf.partition(b"\n")
        return json.loads(line)

    def _exit(self, block: bool) -> Optional[_status.SandboxExit]:
        with self._lock:
            if self.sandbox_exit is not None:
                return self.sandbox_exit
            msg = self._read_status(block)
            if not msg:
                return None
            if "status" in msg:
                code = os.waitstatus_to_exitcode(msg["status"])
                ex = _status.SandboxExit(
                    exitcode=-9 if msg.get("timeout") else code,
                    signal=-code if code < 0 else None, timeout=bool(msg.get("timeout")),
                    outcome="killed" if code < 0 else "exited", message=msg.get("message", ""),
                    via="zygote")
            else:
                ex = _status.SandboxExit(exitcode=255, outcome="lost", via="zygote",
                                         message="sbox: the worker's template ended")
            self._set_exit(ex)
            return ex

    def _set_exit(self, ex: _status.SandboxExit) -> None:
        self.sandbox_exit = ex
        self.returncode = ex.exitcode

    def poll(self, flag: int = os.WNOHANG) -> Optional[int]:
        if self.returncode is None:
            self._exit(block=(flag == 0))
        return self.returncode

    def wait(self, timeout: Optional[float] = None) -> Optional[int]:
        if self.returncode is None:
            if timeout is not None and not mp_wait([self.sentinel], timeout):
                return None
            return self.poll(os.WNOHANG if timeout == 0.0 else 0)
        return self.returncode

    def _send_signal(self, sig: int) -> None:
        if self.returncode is None and self._template is not None:
            self._template.signal(self._rid, sig)


def _write_some(fd: int, data: bytes) -> int:
    """Write what the pipe takes without blocking; how much that was."""
    os.set_blocking(fd, False)
    try:
        return os.write(fd, data[:65536])
    except (BlockingIOError, BrokenPipeError):
        return 0
    finally:
        os.set_blocking(fd, True)


def _usable(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False
