#!/usr/bin/env python3
"""Python worker start: Process.start() until the target runs, median of
many, for multiprocessing's fork / forkserver / spawn and sbox direct / via
sboxd, in the same run (bench/run.sh wires it into `make bench`).

    bench/python_start.py [-n 30] [--sboxd build/release/sboxd | --socket PATH] [--json FILE]

Without --socket, and as root, it starts a private sboxd (the binary next
to sboxrun) on a socket of its own, as the tests do.  The target's first
statement sends time.monotonic() back (CLOCK_MONOTONIC is the same inside
the sandbox's namespaces).
"""

import argparse
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "python"))
import sbox  # noqa: E402
from sbox import _launch  # noqa: E402


def target(conn):
    conn.send(time.monotonic())


def one(ctx):
    r, w = ctx.Pipe(duplex=False)
    p = ctx.Process(target=target, args=(w,))
    t0 = time.monotonic()
    p.start()
    t1 = r.recv()
    p.join()
    if p.exitcode != 0:
        raise RuntimeError("worker exited %s" % p.exitcode)
    return (t1 - t0) * 1000.0


def measure(ctx, n):
    one(ctx)  # warm: a forkserver's server, sboxd's connection, page cache
    return [one(ctx) for _ in range(n)]


def start_sboxd(binary):
    d = tempfile.mkdtemp(prefix="sbox-bench-py-")
    conf, sock = os.path.join(d, "sbox.conf"), os.path.join(d, "sboxd.sock")
    with open(conf, "w") as f:
        f.write("[Daemon]\nStateDirectory=%s/state\n" % d)
    os.chmod(conf, 0o644)
    p = subprocess.Popen([binary, "--foreground", "--config", conf, "--socket", sock],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    for _ in range(200):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.connect(sock)
            s.close()
            return p, sock, d
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise RuntimeError("sboxd did not answer")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=30)
    ap.add_argument("--socket")
    ap.add_argument("--sboxd")
    ap.add_argument("--json")
    args = ap.parse_args()

    daemon = tmp = None
    sock = args.socket
    if not sock and os.geteuid() == 0:
        binary = args.sboxd or os.path.join(os.path.dirname(_launch.find_sboxrun()), "sboxd")
        if os.access(binary, os.X_OK):
            daemon, sock, tmp = start_sboxd(binary)
    contexts = [(m, multiprocessing.get_context(m)) for m in ("fork", "forkserver", "spawn")]
    contexts.append(("sbox-direct", sbox.get_context(direct=True)))
    if sock:
        contexts.append(("sbox-sboxd", sbox.get_context(socket=sock)))
    results = {}
    try:
        for name, ctx in contexts:
            xs = measure(ctx, args.n)
            results[name] = dict(median_ms=statistics.median(xs), min_ms=min(xs),
                                 max_ms=max(xs), n=len(xs))
            print("python-start %-12s median %7.1f ms  min %7.1f  max %7.1f  (n=%d)"
                  % (name, results[name]["median_ms"], min(xs), max(xs), len(xs)), flush=True)
    finally:
        if daemon:
            daemon.terminate()
            daemon.wait()
            shutil.rmtree(tmp, ignore_errors=True)
    if "sbox-sboxd" in results:
        ratio = results["sbox-sboxd"]["median_ms"] / results["spawn"]["median_ms"]
        results["sboxd_over_spawn"] = ratio
        print("python-start sbox via sboxd / spawn = %.2fx (goal <= 1.5x)" % ratio)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
