"""Start one worker in an sbox sandbox: multiprocessing's Popen interface.

Like the spawn start method, the worker is a fresh interpreter that reads
the preparation data and the pickled process object from a pipe (here its
stdin).  The differences, and why:

* fds travel as sbox passes them (--pass-fd, PASS_FD): target numbers
  3..66, renumbered from the parent's, and the pickled DupFd carries the
  target number, which is what the worker will find.
* start() waits until the worker's interpreter says it runs (one byte on
  the sentinel pipe), so that a sandbox that can't be built raises here,
  with sbox's message, instead of leaving a silently dead child (a Pool
  would respawn it forever).
* the worker's stderr starts as a capture file, so sbox's and the
  interpreter's start-up errors can be read back; once up, the worker
  moves the parent's real stderr (passed as an fd) onto 2.
"""

import dataclasses
import io
import multiprocessing
import os
import select
import signal
import sys
import tempfile
import threading
from multiprocessing import process, reduction, spawn, synchronize, util
from multiprocessing.context import set_spawning_popen
from typing import Any, Dict, List, Optional, Tuple

from . import _launch, _options, _program, _status

MAX_PASS = 64
FIRST_TARGET = 3


SandboxError = _status.SandboxError


class _DupFd:
    def __init__(self, fd: int):
        self.fd = fd

    def detach(self) -> int:
        return self.fd


class _Pickler(reduction.ForkingPickler):
    """Notes each named semaphore and shared memory block that goes to the
    worker, so that its name can be made visible in the worker's /dev/shm."""

    def __init__(self, file: Any, shm: List[str]):
        super().__init__(file, 4)
        self._shm = shm

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, synchronize.SemLock):
            name = getattr(obj._semlock, "name", None)
            if name:
                self._shm.append("sem." + name.lstrip("/"))
        else:
            name = _shared_memory_name(obj)
            if name:
                self._shm.append(name.lstrip("/"))
        return NotImplemented


def _shared_memory_name(obj: Any) -> Optional[str]:
    sm = sys.modules.get("multiprocessing.shared_memory")
    if sm is not None and isinstance(obj, sm.SharedMemory):
        return obj._name
    return None


def child_command(pkg_parent: str) -> List[str]:
    prog = ("import sys; sys.path.insert(0, %r); "
            "from sbox._child import main; main()" % pkg_parent)
    return ([spawn.get_executable()] + util._args_from_interpreter_flags()
            + ["-c", prog, "--multiprocessing-fork"])


def pickle_process(popen: Any, process_obj: Any, prog: _program.Program) -> bytes:
    """The preparation data and the process object, as the worker reads
    them (spawn._main); fds go through popen.duplicate_for_child."""
    prep = spawn.get_preparation_data(process_obj._name)
    # the worker's default context is the platform's (context._as_worker)
    prep["start_method"] = multiprocessing.get_all_start_methods()[0]
    # Managers and resource_sharer put sockets here: shared, bound
    process_obj._config["tempdir"] = prog.mp_tmp
    fp = io.BytesIO()
    shm: List[str] = []
    set_spawning_popen(popen)
    try:
        _Pickler(fp, shm).dump(prep)
        _Pickler(fp, shm).dump(process_obj)
    finally:
        set_spawning_popen(None)
    for name in shm:
        prog.link_shm(name)
    return fp.getvalue()


class PopenSignals:
    """terminate(), kill() and close() of multiprocessing's Popen, over the
    subclass's _send_signal() and finalizer."""

    finalizer: Any = None

    def _send_signal(self, sig: int) -> None:
        raise NotImplementedError

    def terminate(self) -> None:
        self._send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self._send_signal(signal.SIGKILL)

    def close(self) -> None:
        if self.finalizer is not None:
            self.finalizer()


class Popen(PopenSignals):
    method = "sbox"
    DupFd = _DupFd

    def __init__(self, process_obj: Any):
        util._flush_std_streams()
        self.returncode: Optional[int] = None
        self.finalizer: Any = None
        self.sandbox_exit: Optional[_status.SandboxExit] = None
        self._passed: List[int] = []
        self._job: Optional[_launch.Job] = None
        self._launch(process_obj)

    def duplicate_for_child(self, fd: int) -> int:
        """The number fd will have in the worker (sbox takes 3..1023, 64 of
        them; the parent's numbers may be anything)."""
        if fd in self._passed:
            return FIRST_TARGET + self._passed.index(fd)
        if len(self._passed) >= MAX_PASS:
            raise SandboxError("passing more than %d fds to one sandbox worker" % MAX_PASS)
        self._passed.append(fd)
        return FIRST_TARGET + len(self._passed) - 1

    def _options(self, process_obj: Any) -> Dict[str, Any]:
        ctx = getattr(type(process_obj), "_sbox_context", None)
        base = ctx._options if ctx is not None else {}
        return _options.merge(base, getattr(process_obj, "_sbox_overrides", None))

    def _pickle(self, process_obj: Any, prog: _program.Program) -> bytes:
        return pickle_process(self, process_obj, prog)

    def _launch(self, process_obj: Any) -> None:
        opts = self._options(process_obj)
        prog = _program.get()
        parent_r = child_w = child_r = parent_w = err = None
        try:
            parent_r, child_w = os.pipe()
            # first targets: the sentinel (3) and the parent's stderr (4)
            self.duplicate_for_child(child_w)
            self.duplicate_for_child(2)
            data = self._pickle(process_obj, prog)
            child_r, parent_w = os.pipe()
            err = tempfile.TemporaryFile(dir=prog.state_dir)
            argv = child_command(_launch.PKG_PARENT) + ["sentinel=3", "stderr=4"]
            if not _launch.has_setpriv():
                argv.append("watch_parent=1")
            spec = _launch.Spec(argv=argv, options=opts, stdin=child_r, stderr=err.fileno(),
                                passed=list(self._passed), name=process_obj.name, program=prog)
            try:
                self._job = _launch.start(spec)
            except (OSError, ValueError) as e:
                if isinstance(e, SandboxError):
                    raise
                raise SandboxError("sbox: worker %s did not start: %s" % (process_obj.name, e)) from e
            self.pid = self._job.pid
            os.close(child_w)
            os.close(child_r)
            child_w = child_r = None
            self._await_ready(parent_r, err, process_obj.name)
            self.sentinel = parent_r
            try:
                with open(parent_w, "wb", closefd=False) as f:
                    f.write(data)
            except BrokenPipeError:
                pass  # it died reading; exitcode and sandbox_exit say how
        except BaseException:
            for fd in (parent_r, parent_w):
                if fd is not None:
                    os.close(fd)
            if self._job is not None and self.returncode is None:
                self._job.kill()
            raise
        finally:
            for fd in (child_w, child_r):
                if fd is not None:
                    os.close(fd)
            if err is not None:
                err.close()
        self.finalizer = util.Finalize(self, util.close_fds, (parent_r, parent_w))

    def _await_ready(self, parent_r: int, err: Any, name: str) -> None:
        """Block until the worker's interpreter runs; raise SandboxError with
        sbox's message when the sandbox ended first."""
        while True:
            try:
                b = os.read(parent_r, 1)
                break
            except InterruptedError:
                continue
        if b == b"R":
            return
        assert self._job is not None
        ex = self._job.wait()
        if ex.outcome == "exited" and ex.exitcode == 125:
            # sboxrun's own failure, before anything of the worker ran
            ex = dataclasses.replace(ex, outcome="setup_failed")
        self._set_exit(ex)
        text = os.pread(err.fileno(), 65536, 0).decode("utf-8", "replace").strip()
        msg = ex.message or text or "the sandbox ended before the worker started"
        if text and ex.message and text not in ex.message:
            msg = "%s\n%s" % (ex.message, text)
        raise SandboxError("sbox: %s did not start (%s, %s, exit code %s): %s"
                           % (name, self._job.describe(), ex.outcome, ex.exitcode, msg), ex)

    def _set_exit(self, ex: _status.SandboxExit) -> None:
        self.sandbox_exit = ex
        self.returncode = ex.exitcode

    def poll(self, flag: int = os.WNOHANG) -> Optional[int]:
        if self.returncode is None and self._job is not None:
            ex = self._job.wait(block=(flag == 0))
            if ex is not None:
                self._set_exit(ex)
        return self.returncode

    def wait(self, timeout: Optional[float] = None) -> Optional[int]:
        if self.returncode is None:
            if timeout is not None:
                from multiprocessing.connection import wait
                if not wait([self.sentinel], timeout):
                    return None
            return self.poll(os.WNOHANG if timeout == 0.0 else 0)
        return self.returncode

    def _send_signal(self, sig: int) -> None:
        if self.returncode is None and self._job is not None:
            self._job.signal(sig)
