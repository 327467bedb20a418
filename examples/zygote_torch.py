#!/usr/bin/env python3
"""Zygotes: N torch workers forked from a template that imported torch once,
each in a fresh sandbox of its own (docs/python.md, "Zygotes"), against the
same workers started by spawn, which import torch each.

As root (direct) or through sboxd ($SBOX_SOCKET or /run/sbox/sboxd.sock);
needs torch (Debian: apt-get install python3-torch) and libsbox.so
(make; or $SBOX_LIBSBOX).

    PYTHONPATH=python /usr/bin/python3 examples/zygote_torch.py [--workers 8]
"""

import argparse
import multiprocessing
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import sbox  # noqa: E402


def rollout(rank, q):
    import torch  # the template imported it: nothing to do here

    torch.manual_seed(rank)
    w = torch.randn(64, 64)
    x = torch.randn(64)
    for _ in range(100):
        x = torch.tanh(w @ x)
    q.put((rank, os.getpid(), float(x.sum())))


def run(ctx, n):
    q = ctx.Queue()
    t0 = time.monotonic()
    ps = [ctx.Process(target=rollout, args=(i, q)) for i in range(n)]
    for p in ps:
        p.start()
    results = sorted(q.get(timeout=600) for _ in ps)
    for p in ps:
        p.join()
        assert p.exitcode == 0, p.exitcode
    return time.monotonic() - t0, results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=8)
    args = ap.parse_args()

    zyg = sbox.get_context(preload=["torch"], memory="2G", pids=64, net="none")
    t0 = time.monotonic()
    zyg.prepare()  # the template imports torch once, here
    print("template ready in %.2f s" % (time.monotonic() - t0))
    secs, res = run(zyg, args.workers)
    print("%d zygote workers: %.2f s; each saw itself as pid %s" % (
        args.workers, secs, sorted({pid for _, pid, _ in res})))
    secs2, res2 = run(multiprocessing.get_context("spawn"), args.workers)
    print("%d spawn workers:  %.2f s" % (args.workers, secs2))
    assert [r[2] for r in res] == [r[2] for r in res2], "the same results either way"


if __name__ == "__main__":
    main()
