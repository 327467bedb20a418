"""A client of sboxd's wire protocol (docs/protocol.md, version 1), in pure
Python: SOCK_SEQPACKET, one message per packet, fds as SCM_RIGHTS.

One connection serves the whole program.  A reader thread routes replies
to the request that asked (by seq) and EXIT events to their job.  The jobs
belong to the connection: when the program dies, the kernel closes the
socket and sboxd kills them, so a killed parent leaves no worker behind.
"""

import array
import os
import socket
import struct
import threading
from typing import Dict, List, Optional, Sequence, Tuple

MAGIC = 0x584F4253
VERSION = 1
HEADER = struct.Struct("<IHHII")
ATTR = struct.Struct("<HHI")
MAX_MSG = 128 * 1024

PING, LAUNCH, WAIT, SIGNAL = 1, 2, 3, 4
PONG, LAUNCHED, EXIT, OK, ERROR = 0x81, 0x82, 0x83, 0x84, 0xFF

JOB_ID, ARGV, ENV, CWD, POLICY, NAME = 1, 2, 3, 4, 5, 6
STDIN, STDOUT, STDERR, PASS_FD, BIND_FD, FLAGS, GPU_COUNT = 7, 8, 9, 10, 11, 12, 13
SIGNUM, PID, GPU, OUTCOME, STATUS, ERRNUM, MESSAGE = 14, 15, 16, 17, 18, 19, 20
OOM, TIMEOUT, MEM_PEAK, CPU_USER_USEC, CPU_SYS_USEC, OOM_KILLS = 21, 22, 23, 24, 25, 26
PROTO_VERSION, STATE, WALL_USEC, STATS_VALID, ERRCODE, STATS_HAVE = 27, 31, 36, 40, 41, 43
CGROUP_VERSION = 44

FLAG_WAIT_GPU = 2
OUTCOME_NAMES = {1: "exited", 2: "setup_failed", 3: "exec_failed", 4: "killed", 5: "lost"}
ERRCODE_NAMES = {1: "PROTO", 2: "VERSION", 3: "DENIED", 4: "BOUND", 5: "BUSY", 6: "NOJOB",
                 7: "POLICY", 8: "LAUNCH", 9: "INTERNAL"}
_U64 = {JOB_ID, MEM_PEAK, CPU_USER_USEC, CPU_SYS_USEC, OOM_KILLS, WALL_USEC}
_STR = {MESSAGE, 28}


class DaemonError(OSError):
    """sboxd answered ERROR: code is its class (DENIED, BOUND, POLICY ...)."""

    def __init__(self, code: str, errnum: int, message: str):
        super().__init__(errnum, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return "sboxd refused (%s): %s" % (self.code, self.message)


class Builder:
    """One message: attributes appended in order, fds counted by index."""

    def __init__(self, mtype: int):
        self.mtype = mtype
        self.body = bytearray()
        self.fds: List[int] = []

    def raw(self, tag: int, value: bytes) -> None:
        self.body += ATTR.pack(tag, 0, len(value)) + value

    def u32(self, tag: int, v: int) -> None:
        self.raw(tag, struct.pack("<I", v))

    def u64(self, tag: int, v: int) -> None:
        self.raw(tag, struct.pack("<Q", v))

    def pair(self, tag: int, a: int, b: int) -> None:
        self.raw(tag, struct.pack("<II", a, b))

    def string(self, tag: int, s: str) -> None:
        b = os.fsencode(s)
        if b"\0" in b:
            raise ValueError("a NUL in %r can't travel to sboxd" % s)
        self.raw(tag, b)

    def fd(self, fd: int) -> int:
        self.fds.append(fd)
        return len(self.fds) - 1

    def pack(self, seq: int) -> bytes:
        return HEADER.pack(MAGIC, VERSION, self.mtype, seq, HEADER.size + len(self.body)) + bytes(self.body)


def parse(packet: bytes) -> Tuple[int, int, Dict[int, List[object]]]:
    """(type, seq, {tag: [values]}) of one packet; raises ValueError when it
    is not a version-1 sbox message."""
    if len(packet) < HEADER.size:
        raise ValueError("short packet from sboxd (%d bytes)" % len(packet))
    magic, version, mtype, seq, length = HEADER.unpack_from(packet)
    if magic != MAGIC or length != len(packet):
        raise ValueError("malformed packet from sboxd")
    if version != VERSION and mtype != ERROR:
        raise ValueError("sboxd speaks protocol version %d, this client %d" % (version, VERSION))
    attrs: Dict[int, List[object]] = {}
    off = HEADER.size
    while off + ATTR.size <= len(packet):
        tag, _flags, n = ATTR.unpack_from(packet, off)
        off += ATTR.size
        v = packet[off:off + n]
        off += n
        val: object
        if tag in _STR:
            val = v.decode("utf-8", "replace")
        elif tag in _U64 and n == 8:
            val = struct.unpack("<Q", v)[0]
        elif tag == STATUS and n == 4:
            val = struct.unpack("<i", v)[0]
        elif n == 4:
            val = struct.unpack("<I", v)[0]
        else:
            val = bytes(v)
        attrs.setdefault(tag, []).append(val)
    return mtype, seq, attrs


def first(attrs: Dict[int, List[object]], tag: int, default: object = None) -> object:
    v = attrs.get(tag)
    return v[0] if v else default


class Reply:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.mtype = 0
        self.attrs: Dict[int, List[object]] = {}
        self.fail: Optional[BaseException] = None
        self.job: Optional[int] = None

    def set(self, mtype: int, attrs: Dict[int, List[object]]) -> None:
        self.mtype, self.attrs = mtype, attrs
        self.done.set()

    def lost(self, why: BaseException) -> None:
        self.fail = why
        self.done.set()


class Connection:
    """A connection to sboxd, shared by all the program's sandboxes."""

    def __init__(self, path: str, timeout: float = 2.0):
        self.path = path
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        try:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.settimeout(None)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self.lock = threading.Lock()
        self.seq = 0
        self.pending: Dict[int, Reply] = {}
        self.exits: Dict[int, Reply] = {}
        self.closed: Optional[BaseException] = None
        self.reader = threading.Thread(target=self._read, name="sbox-sboxd-reader", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        why: BaseException = ConnectionError("sboxd closed the connection %s" % self.path)
        try:
            while True:
                data = self.sock.recv(MAX_MSG)
                if not data:
                    break
                mtype, seq, attrs = parse(data)
                self._route(mtype, seq, attrs)
        except (OSError, ValueError) as e:
            why = e
        with self.lock:
            self.closed = why
            waiting = list(self.pending.values()) + list(self.exits.values())
            self.pending.clear()
        for r in waiting:
            if not r.done.is_set():
                r.lost(why)

    def _route(self, mtype: int, seq: int, attrs: Dict[int, List[object]]) -> None:
        with self.lock:
            r = self.pending.pop(seq, None)
            if mtype == EXIT:
                r = self.exits.get(int(first(attrs, JOB_ID, 0)))  # type: ignore[arg-type]
            elif r is not None and r.job is not None and mtype == ERROR:
                # a WAIT refused: its job's end will never come
                ex = self.exits.get(r.job)
                if ex is not None:
                    ex.set(mtype, attrs)
        if r is not None:
            r.set(mtype, attrs)

    def send(self, b: Builder, job: Optional[int] = None) -> Reply:
        """Send one request; the Reply fills in when sboxd answers."""
        r = Reply()
        r.job = job
        with self.lock:
            if self.closed is not None:
                raise ConnectionError("sboxd connection %s is closed: %s" % (self.path, self.closed))
            self.seq = (self.seq + 1) & 0xFFFFFFFF
            seq = self.seq
            self.pending[seq] = r
            packet = b.pack(seq)
            if len(packet) > MAX_MSG:
                del self.pending[seq]
                raise ValueError("request of %d bytes is past sboxd's 128 KiB" % len(packet))
            if b.fds:
                fds = array.array("i", b.fds)
                self.sock.sendmsg([packet], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
            else:
                self.sock.send(packet)
        return r

    def call(self, b: Builder) -> Dict[int, List[object]]:
        r = self.send(b)
        r.done.wait()
        if r.fail is not None:
            raise ConnectionError("sboxd at %s: %s" % (self.path, r.fail))
        if r.mtype == ERROR:
            code = ERRCODE_NAMES.get(int(first(r.attrs, ERRCODE, 0)), "?")  # type: ignore[arg-type]
            raise DaemonError(code, int(first(r.attrs, ERRNUM, 0)),  # type: ignore[arg-type]
                              str(first(r.attrs, MESSAGE, "")))
        return r.attrs

    def watch(self, job: int) -> Reply:
        """Ask for the job's EXIT; the Reply fills in when it ends (or with
        the ERROR that refused the WAIT)."""
        r = Reply()
        with self.lock:
            self.exits[job] = r
        b = Builder(WAIT)
        b.u64(JOB_ID, job)
        self.send(b, job=job)
        return r

    def forget(self, job: int) -> None:
        with self.lock:
            self.exits.pop(job, None)

    def close_in_child(self) -> None:
        """After fork(): drop the child's copy without touching the parent's."""
        try:
            os.close(self.sock.detach())
        except OSError:
            pass
        self.closed = ConnectionError("forked")


_conns: Dict[str, Connection] = {}
_conns_lock = threading.Lock()
_dead: Dict[str, str] = {}


def connection(path: str) -> Connection:
    """The program's live connection to the sboxd at path, made (and PINGed)
    on first use and again after sboxd closed an idle one."""
    with _conns_lock:
        c = _conns.get(path)
        if c is not None and c.closed is None:
            return c
        c = Connection(path)
        try:
            b = Builder(PING)
            c.call(b)
        except BaseException:
            c.sock.close()
            raise
        _conns[path] = c
        return c


def _after_fork() -> None:
    # A forked child holding the socket would keep the parent's jobs alive
    # after the parent died.
    for c in list(_conns.values()):
        c.close_in_child()
    _conns.clear()


os.register_at_fork(after_in_child=_after_fork)


def answers(path: str) -> bool:
    try:
        connection(path)
        return True
    except (OSError, ValueError):
        return False

