"""libsbox's zygote API (include/sbox/zygote.h) through ctypes.

Only the template and its workers load it (never the program that starts
them).  The library is $SBOX_LIBSBOX, else build/release/libsbox.so of the
source tree the package sits in, else what ctypes.util.find_library("sbox")
finds.
"""

import ctypes
import ctypes.util
import os
from typing import List, Optional, Sequence, Tuple

ERR_LEN = 1024
ENV_LEN = 64 * 1024

_PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class NativeError(OSError):
    """libsbox said no: its message (what failed, on which object, why)."""


def library_path() -> str:
    env = os.environ.get("SBOX_LIBSBOX")
    if env:
        return env
    tree = os.path.join(os.path.dirname(_PKG_PARENT), "build", "release", "libsbox.so")
    if os.path.exists(tree):
        return tree
    found = ctypes.util.find_library("sbox")
    if found:
        return found
    raise NativeError("sbox: no libsbox found ($SBOX_LIBSBOX, %s, or the linker's path): "
                      "preload= needs libsbox's zygote API" % tree)


def _text(buf: "ctypes.Array[ctypes.c_char]") -> str:
    return buf.value.decode("utf-8", "replace")


class Libsbox:
    """The zygote calls, each raising NativeError with libsbox's message."""

    def __init__(self, path: Optional[str] = None):
        self.path = path or library_path()
        try:
            lib = ctypes.CDLL(self.path, use_errno=True)
        except OSError as e:
            raise NativeError("sbox: loading %s: %s" % (self.path, e)) from e
        try:
            self._declare(lib)
        except AttributeError as e:
            raise NativeError("sbox: %s has no zygote API (%s): build libsbox with "
                              "include/sbox/zygote.h" % (self.path, e)) from e
        self.lib = lib
        self.z: Optional[int] = None
        # made here, in the template: a worker's enter() then writes a few
        # bytes of its copy instead of zeroing 64 KiB of fresh heap (each
        # page a copy-on-write fault of the template's heap)
        self._env_buf = ctypes.create_string_buffer(ENV_LEN)

    @staticmethod
    def _declare(lib: ctypes.CDLL) -> None:
        c_err = (ctypes.c_char_p, ctypes.c_size_t)
        lib.sbox_zygote_open.argtypes = (ctypes.c_char_p,) + c_err
        lib.sbox_zygote_open.restype = ctypes.c_void_p
        lib.sbox_zygote_check_clean.argtypes = c_err
        lib.sbox_zygote_check_clean.restype = ctypes.c_int
        lib.sbox_zygote_prefork.argtypes = (ctypes.c_void_p,) + c_err
        lib.sbox_zygote_prefork.restype = ctypes.c_int
        lib.sbox_zygote_postfork.argtypes = (ctypes.c_void_p, ctypes.c_int) + c_err
        lib.sbox_zygote_postfork.restype = ctypes.c_int
        lib.sbox_zygote_enter.argtypes = (
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint, ctypes.POINTER(ctypes.c_int),
            ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t) + c_err
        lib.sbox_zygote_enter.restype = ctypes.c_int
        lib.sbox_zygote_reaped.argtypes = (ctypes.c_void_p, ctypes.c_int) + c_err
        lib.sbox_zygote_reaped.restype = ctypes.c_int
        lib.sbox_zygote_close.argtypes = (ctypes.c_void_p,)
        lib.sbox_zygote_close.restype = None

    def open(self, socket_path: Optional[str]) -> None:
        err = ctypes.create_string_buffer(ERR_LEN)
        sock = socket_path.encode() if socket_path else None
        z = self.lib.sbox_zygote_open(sock, err, ERR_LEN)
        if not z:
            raise NativeError(_text(err) or "sbox_zygote_open failed")
        self.z = z

    def _call(self, name: str, *args: object) -> None:
        err = ctypes.create_string_buffer(ERR_LEN)
        if getattr(self.lib, name)(*args, err, ERR_LEN) != 0:
            raise NativeError(_text(err) or "%s failed" % name)

    def check_clean(self) -> None:
        self._call("sbox_zygote_check_clean")

    def prefork(self) -> None:
        self._call("sbox_zygote_prefork", self.z)

    def postfork(self, pid: int) -> None:
        self._call("sbox_zygote_postfork", self.z, pid)

    def enter(self, policy: str, gpu_count: int, keep_fds: Sequence[int]) -> List[Tuple[str, str]]:
        """Make this process (just forked) a fresh sandbox; the environment
        the sandbox gives it, as (name, value) pairs."""
        keep = (ctypes.c_int * max(len(keep_fds), 1))(*keep_fds)
        env = self._env_buf
        self._call("sbox_zygote_enter", self.z, policy.encode(), gpu_count, keep, len(keep_fds),
                   env, ENV_LEN)
        return parse_env(_text(env))

    def reaped(self, pid: int) -> None:
        self._call("sbox_zygote_reaped", self.z, pid)

    def close(self) -> None:
        if self.z:
            self.lib.sbox_zygote_close(self.z)
            self.z = None


def parse_env(text: str) -> List[Tuple[str, str]]:
    out = []
    for line in text.split("\n"):
        name, eq, value = line.partition("=")
        if name and eq:
            out.append((name, value))
    return out
