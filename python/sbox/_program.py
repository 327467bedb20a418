"""What all the sandboxes of one program share with it.

* A private /dev/shm.  multiprocessing's semaphores (Lock, Queue, Pool,
  futures) are named POSIX semaphores: files under /dev/shm, opened by
  name in the worker.  A sandbox's /dev is private, so each worker gets
  this program's own directory (0700, under the host's /dev/shm) bound as
  its /dev/shm, and every semaphore handed to a worker is hard-linked into
  it first: the worker opens the very same file, and sees none of the
  host's other shared memory.  Its pages are charged to the memory cgroup
  of whoever touches them first (so a worker's writes count against its
  memory=), and the directory goes when the program ends.
* multiprocessing's temp dir (util.get_temp_dir(), under TMPDIR or /tmp),
  where Managers and the resource_sharer (fds sent after start: torch's
  CPU tensor sharing) put their sockets.  A sandbox's /tmp is private, so
  the directory is bound read-write at the same path, and the process
  object carries its path (_config["tempdir"]) so the worker uses it too.
* A state directory, never seen by workers, for sboxrun's --json-status
  files.
"""

import os
import shutil
import tempfile
import threading
from multiprocessing import util
from typing import List, Optional

HOST_SHM = "/dev/shm"
# Host paths a sandbox does not show as they are (private tmpfs there).
HIDDEN = ("/tmp", "/run", "/dev", "/var/tmp", "/proc")


class Program:
    def __init__(self) -> None:
        self.pid = os.getpid()
        _reap_stale(tempfile.gettempdir(), "sbox-py-state-")
        self.state_dir = tempfile.mkdtemp(prefix="sbox-py-state-%d-" % self.pid)
        self.mp_tmp = util.get_temp_dir()
        self.shm_dir: Optional[str] = None
        try:
            _reap_stale(HOST_SHM, "sbox-py-")
            self.shm_dir = tempfile.mkdtemp(prefix="sbox-py-%d-" % self.pid, dir=HOST_SHM)
        except OSError:
            # no usable host /dev/shm: workers get a private one of their
            # own; semaphores then don't cross (docs/python.md)
            self.shm_dir = None
        self._linked: set = set()
        self._lock = threading.Lock()
        # After multiprocessing's own exit handler has joined the children
        # (it runs finalizers with a priority >= 0 first, then joins, then
        # the rest), so no worker still uses them.
        util.Finalize(self, self.cleanup, exitpriority=-100)

    def link_semaphore(self, name: str) -> None:
        """Make the host's semaphore /NAME visible in the workers' /dev/shm."""
        self.link_shm("sem." + name.lstrip("/"))

    def link_shm(self, base: str) -> None:
        if self.shm_dir is None or "/" in base:
            return
        with self._lock:
            if base in self._linked:
                return
            dst = os.path.join(self.shm_dir, base)
            try:
                os.link(os.path.join(HOST_SHM, base), dst)
            except FileExistsError:
                pass
            except OSError:
                # already in our dir (made by a worker) or gone: nothing to do
                return
            self._linked.add(base)

    def cleanup(self) -> None:
        if os.getpid() != self.pid:
            return
        for d in (self.shm_dir, self.state_dir):
            if d:
                shutil.rmtree(d, ignore_errors=True)


def _reap_stale(parent: str, prefix: str) -> None:
    """Remove the dirs (PREFIX-PID-*) of this user's programs that died by a
    signal: SIGKILL leaves no chance to clean up."""
    uid = os.getuid()
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for n in names:
        if not n.startswith(prefix):
            continue
        try:
            pid = int(n[len(prefix):].split("-")[0])
            st = os.lstat(os.path.join(parent, n))
        except (ValueError, IndexError, OSError):
            continue
        if st.st_uid != uid or _alive(pid):
            continue
        shutil.rmtree(os.path.join(parent, n), ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_program: Optional[Program] = None
_program_lock = threading.Lock()


def get() -> Program:
    global _program
    with _program_lock:
        if _program is None or _program.pid != os.getpid():
            _program = Program()
        return _program


def hidden(path: str) -> bool:
    return any(path == h or path.startswith(h + "/") for h in HIDDEN)


def visible_binds(paths: List[str]) -> List[str]:
    """ro binds that make these host paths (sys.path, the main script's
    directory, the cwd) visible where the sandbox hides the host's."""
    want: List[str] = []
    for p in sorted({os.path.realpath(p) for p in paths if p}):
        if not hidden(p) or not os.path.isdir(p):
            continue
        if p.startswith("/dev") or p.startswith("/proc"):
            continue
        if any(p == w or p.startswith(w + "/") for w in want):
            continue
        want.append(p)
    return want
