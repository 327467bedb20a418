"""The worker's first code, inside the sandbox (see _popen.py).

Argv after --multiprocessing-fork: sentinel=FD (the pipe whose EOF tells
the parent the worker has ended; one byte on it says "up"), stderr=FD (the
parent's stderr, which replaces the start-up capture file on fd 2).  The
preparation data and the process object come on stdin.
"""

import os
import sys


def _watch_parent(fd: int) -> None:
    """Exit when the parent is gone: its end of the data pipe closes.

    Only where sboxrun could not be given a parent-death signal (no
    setpriv): sboxrun's death is what normally ends the sandbox.  poll()
    with no events waits for the hang-up alone and reads nothing, so the
    data still to come stays for spawn's reader."""
    import select
    import threading

    def watch() -> None:
        p = select.poll()
        p.register(fd, 0)
        while True:
            for _fd, ev in p.poll():
                if ev & (select.POLLHUP | select.POLLERR):
                    os._exit(255)

    threading.Thread(target=watch, name="sbox-parent-watch", daemon=True).start()


def main() -> None:
    args = dict(a.split("=", 1) for a in sys.argv[2:] if "=" in a)
    sentinel = int(args["sentinel"])
    err = int(args["stderr"])
    os.dup2(err, 2)
    os.close(err)
    os.set_inheritable(sentinel, False)
    os.write(sentinel, b"R")

    # The data pipe moves off fd 0, which gets /dev/null as a spawned
    # worker's stdin does; a dup of it tells the worker its parent died.
    data = os.dup(0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    parent_sentinel = os.dup(data)
    if args.get("watch_parent") == "1":
        _watch_parent(parent_sentinel)

    import sbox  # noqa: F401  registers the "sbox" start method
    from multiprocessing import spawn

    sys.exit(spawn._main(data, parent_sentinel))
