#!/usr/bin/env python3
"""Python worker start: Process.start() until the target runs, median of
many, for multiprocessing's fork / forkserver / spawn and sbox direct / via
sboxd / from a zygote, in the same run (bench/run.sh wires it into `make bench`).

    bench/python_start.py [-n 30] [--sboxd build/release/sboxd | --socket PATH] [--json FILE]
                          [--torch-n 20] [--pss-workers 32] [--no-torch] [--torch-only]

The torch rows (issue 15): Process.start() until a target that imports torch
has it, for forkserver with set_forkserver_preload(["torch"]), spawn, and an
sbox zygote with preload=["torch"]; then the PSS sum (smaps_rollup) of
--pss-workers idle workers that imported torch, zygote against spawn.  They
need a python with torch: this one, else /usr/bin/python3 (Debian's
python3-torch), run as a child of this script (--torch-only).

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
# sbox is imported in main() and torch_rows(), not here: every worker
# re-imports this module as __mp_main__ (spawn, forkserver and sbox alike),
# and what it imports at the top would be timed in every row.

TORCH_PYTHON = "/usr/bin/python3"


def target(conn):
    conn.send(time.monotonic())


def one(ctx, fn=target):
    r, w = ctx.Pipe(duplex=False)
    p = ctx.Process(target=fn, args=(w,))
    t0 = time.monotonic()
    p.start()
    t1 = r.recv()
    p.join()
    if p.exitcode != 0:
        raise RuntimeError("worker exited %s" % p.exitcode)
    return (t1 - t0) * 1000.0


def measure(ctx, n, fn=None):
    fn = fn or one
    fn(ctx)  # warm: a forkserver's server, a zygote's template, sboxd's connection
    return [fn(ctx) for _ in range(n)]


def torch_target(conn):
    import torch  # noqa: F401,F811  preloaded: already there; spawn: imported now
    conn.send(time.monotonic())


def one_torch(ctx):
    return one(ctx, torch_target)


def idle_torch(ready, stop):
    import torch
    torch.ones(1)
    ready.put(os.getpid())
    stop.wait()


def pss_kb(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise RuntimeError("no Pss in /proc/%d/smaps_rollup" % pid)


def pss_of_workers(ctx, k):
    """k idle workers that imported torch: the sum of their PSS (kB), read
    while all of them live."""
    ready, stop = ctx.Queue(), ctx.Event()
    ps = [ctx.Process(target=idle_torch, args=(ready, stop)) for _ in range(k)]
    try:
        for p in ps:
            p.start()
        for _ in ps:
            ready.get(timeout=600)
        time.sleep(1)
        return sum(pss_kb(p.pid) for p in ps)
    finally:
        stop.set()
        for p in ps:
            p.join(60)
            if p.exitcode is None:
                p.kill()


def stat_row(xs):
    return dict(median_ms=statistics.median(xs), min_ms=min(xs), max_ms=max(xs), n=len(xs))


def torch_rows(args, sock):
    """The issue-15 rows, in this python (which has torch)."""
    out = {}
    fs = multiprocessing.get_context("forkserver")
    # a server the plain rows started has no preload: the next one will
    from multiprocessing import forkserver
    getattr(forkserver._forkserver, "_stop", lambda: None)()
    fs.set_forkserver_preload(["torch"])
    opts = {"socket": sock} if sock else {"direct": True}
    import sbox
    zyg = sbox.get_context(preload=["torch"], **opts)
    t0 = time.monotonic()
    zyg.prepare()
    out["zygote_template_ms"] = (time.monotonic() - t0) * 1000.0
    # the same template's workers, each forked and entered at start()
    # (spares=0), against the default: one entered ahead (a spare)
    nospare = sbox.get_context(preload=["torch"], spares=0, **opts)
    rows = [("forkserver-preload", fs, args.torch_n), ("spawn", multiprocessing.get_context("spawn"),
            max(3, args.torch_n // 3)), ("sbox-zygote", zyg, args.torch_n),
            ("sbox-zygote-nospare", nospare, args.torch_n)]
    for name, ctx, n in rows:
        xs = measure(ctx, n, one_torch)
        out[name] = stat_row(xs)
        print("python-start torch %-18s median %7.1f ms  min %7.1f  max %7.1f  (n=%d)"
              % (name, out[name]["median_ms"], min(xs), max(xs), len(xs)), flush=True)
    out["via"] = "sboxd" if sock else "direct"
    if args.pss_workers:
        for name, ctx in (("sbox-zygote", zyg), ("spawn", multiprocessing.get_context("spawn"))):
            out["pss_kb_" + name] = pss_of_workers(ctx, args.pss_workers)
            print("python-start torch PSS of %d idle %s workers: %.0f MiB"
                  % (args.pss_workers, name, out["pss_kb_" + name] / 1024.0), flush=True)
        out["pss_workers"] = args.pss_workers
        tp = zyg.prepare().pid
        out["pss_kb_template"] = pss_kb(tp)
    fsm = out["forkserver-preload"]["median_ms"]
    out["zygote_over_forkserver"] = out["sbox-zygote"]["median_ms"] / fsm
    out["zygote_over_spawn"] = out["sbox-zygote"]["median_ms"] / out["spawn"]["median_ms"]
    out["nospare_over_forkserver"] = out["sbox-zygote-nospare"]["median_ms"] / fsm
    if "pss_kb_spawn" in out:
        out["pss_zygote_over_spawn"] = out["pss_kb_sbox-zygote"] / out["pss_kb_spawn"]
    print("python-start torch (%s) zygote / forkserver-preload = %.2fx (goal <= 1.0x; "
          "%.2fx without spares), "
          "zygote / spawn = 1/%.0f (goal <= 1/50)%s" % (
              out["via"], out["zygote_over_forkserver"], out["nospare_over_forkserver"],
              1 / out["zygote_over_spawn"],
              ", PSS zygote / spawn = %.3f (goal <= 0.25)" % out["pss_zygote_over_spawn"]
              if "pss_zygote_over_spawn" in out else ""), flush=True)
    return out


def has_torch(python):
    try:
        return subprocess.run([python, "-c", "import torch"], capture_output=True,
                              timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def torch_results(args, sock):
    """The torch rows: here when this python has torch, else in Debian's."""
    if has_torch(sys.executable):
        return torch_rows(args, sock)
    if not has_torch(TORCH_PYTHON):
        print("python-start torch: no python with torch (apt-get install python3-torch)",
              flush=True)
        return {}
    fd, path = tempfile.mkstemp(prefix="sbox-bench-torch-", suffix=".json")
    os.close(fd)
    try:
        argv = [TORCH_PYTHON, os.path.abspath(__file__), "--torch-only", "--json", path,
                "--torch-n", str(args.torch_n), "--pss-workers", str(args.pss_workers)]
        if sock:
            argv += ["--socket", sock]
        subprocess.run(argv, check=True, timeout=3600)
        with open(path) as f:
            return json.load(f)
    finally:
        os.unlink(path)


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
    ap.add_argument("--torch-n", type=int, default=20)
    ap.add_argument("--pss-workers", type=int, default=32)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--torch-only", action="store_true",
                    help="only the torch rows, in this python (which must have torch)")
    args = ap.parse_args()
    if args.torch_only:
        res = torch_rows(args, args.socket)
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
        return

    import sbox
    from sbox import _launch
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
    zopts = {"socket": sock} if sock else {"direct": True}
    contexts.append(("sbox-zygote", sbox.get_context(preload=[], **zopts)))
    results = {}
    try:
        for name, ctx in contexts:
            try:
                xs = measure(ctx, args.n)
            except (OSError, RuntimeError) as e:  # sbox.SandboxError among them
                print("python-start %-12s not measured: %s" % (name, e), flush=True)
                continue
            results[name] = stat_row(xs)
            print("python-start %-12s median %7.1f ms  min %7.1f  max %7.1f  (n=%d)"
                  % (name, results[name]["median_ms"], min(xs), max(xs), len(xs)), flush=True)
        if not args.no_torch:
            # through sboxd (when there is one) and, as root, direct too
            vias = [("torch", sock)] + ([("torch_direct", None)] if sock and os.geteuid() == 0
                                        else [])
            for key, via in vias:
                try:
                    # the PSS rows once (through sboxd): the memory is the same
                    a = args if key == "torch" else argparse.Namespace(**{**vars(args),
                                                                          "pss_workers": 0})
                    results[key] = torch_results(a, via)
                except (OSError, RuntimeError, subprocess.SubprocessError) as e:
                    print("python-start torch: not measured: %s" % e, flush=True)
    finally:
        sbox._zygote.stop_all()  # its workers placed by the sboxd about to stop
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
