#!/usr/bin/env python3
"""The seed scenario: N CPU experience collectors and one learner, each in
its own sbox sandbox, talking through one Queue.

The learner asks for a GPU (gpus=1: a lease through sboxd, the first GPU
direct) when the machine has one, and runs on the CPU otherwise; the
collectors get none, a memory limit, and no network.

    PYTHONPATH=python python3 examples/rl_collectors.py [--collectors 4] [--steps 200]
"""

import argparse
import os
import random
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import sbox  # noqa: E402


def has_gpu() -> bool:
    return any(n.startswith("nvidia") and n[6:].isdigit() for n in os.listdir("/dev")) or \
        os.path.exists("/dev/kfd")


def sbox_daemon() -> bool:
    """Whether workers go through sboxd (its socket answers)."""
    path = os.environ.get("SBOX_SOCKET") or "/run/sbox/sboxd.sock"
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(path)
        s.close()
        return True
    except OSError:
        return False


def collector(rank, q, steps):
    """Plays an episode of a toy environment; ships (state, reward) steps."""
    rng = random.Random(rank)
    state = 0.0
    for t in range(steps):
        action = rng.choice((-1.0, 1.0))
        state += action
        q.put((rank, t, state, -abs(state)))
    q.put((rank, None, None, None))


def learner(q, n_collectors, results):
    """Consumes every collector's steps; fits a value per state on the GPU
    it was given (CUDA_VISIBLE_DEVICES says which), else on the CPU."""
    device = "cpu"
    gpus = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    try:
        import torch  # optional: without it the learner is plain Python
        if torch.cuda.is_available():
            device = "cuda:0"
    except ImportError:
        torch = None
    values, counts, done, n = {}, {}, 0, 0
    while done < n_collectors:
        rank, t, state, reward = q.get()
        if t is None:
            done += 1
            continue
        n += 1
        counts[state] = counts.get(state, 0) + 1
        values[state] = values.get(state, 0.0) + (reward - values.get(state, 0.0)) / counts[state]
    if torch is not None:
        v = torch.tensor(list(values.values()), device=device)
        mean = float(v.mean())
    else:
        mean = sum(values.values()) / max(len(values), 1)
    results.put(dict(steps=n, states=len(values), mean_value=mean, device=device,
                     visible_gpus=gpus, host=socket.gethostname()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--collectors", type=int, default=4)
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args()

    # Collectors: small, no GPU, no network (the default), 512M each.  The
    # limits need a cgroup: root, sboxd, or a delegated cgroup v2; an
    # unprivileged user on a cgroup v1 machine runs them without.
    limits = dict(memory="512M", pids=64) if os.geteuid() == 0 or sbox_daemon() else {}
    collectors = sbox.get_context(hostname="collector", **limits)
    # The learner: its own context (another sandbox shape) sharing the Queue.
    learner_opts = dict(hostname="learner")
    if has_gpu():
        learner_opts["gpus"] = 1
    learner_ctx = sbox.get_context(**learner_opts)

    q = collectors.Queue(maxsize=1000)
    results = learner_ctx.SimpleQueue()
    t0 = time.time()
    lp = learner_ctx.Process(target=learner, args=(q, args.collectors, results), name="learner")
    lp.start()
    cps = [collectors.Process(target=collector, args=(i, q, args.steps), name="collector-%d" % i)
           for i in range(args.collectors)]
    try:
        for p in cps:
            p.start()
    except sbox.SandboxError:
        lp.terminate()  # or the learner would wait for collectors forever
        raise
    out = results.get()
    for p in cps + [lp]:
        p.join()
    print("learner on %(device)s (CUDA_VISIBLE_DEVICES=%(visible_gpus)r, host %(host)s): "
          "%(steps)d steps, %(states)d states, mean value %(mean_value).2f" % out)
    for p in cps + [lp]:
        ex = p.sandbox_exit
        peak = "%.1f MiB" % (ex.memory_peak / 2**20) if ex.memory_peak else "n/a"
        print("  %-12s exit %s, peak memory %s, cpu %s s (%s)" % (
            p.name, p.exitcode, peak, ex.cpu_time, ex.via))
    print("%d collectors + learner in %.2f s" % (args.collectors, time.time() - t0))
    return 0 if all(p.exitcode == 0 for p in cps + [lp]) else 1


if __name__ == "__main__":
    sys.exit(main())
