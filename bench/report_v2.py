#!/usr/bin/env python3
"""The "v2 (TCG VM)" section of docs/benchmarks.md from bench/v2.sh's results.

    bench/report_v2.py RES DOCS_DIR

Writes DOCS_DIR/benchmarks-v2.md (the section alone: bench/report.py
includes it when it regenerates benchmarks.md) and puts the same section in
place in DOCS_DIR/benchmarks.md: replacing an earlier one, else before
"## Rerun", else at the end.
"""
import glob
import json
import os
import statistics
import sys

from bench_results import api_rounds, kv_file, pct, read, round_of

RES, DOCS = sys.argv[1], sys.argv[2]
HEAD = "## v2 (TCG VM): the same ratios on a pure cgroup v2 machine"


def row_rounds(rid):
    """{round: [ms, ...]} of a hyperfine row."""
    out = {}
    for f in glob.glob(os.path.join(RES, "lat-%s-r*.json" % rid)):
        try:
            out[round_of(f)] = [t * 1e3 for t in json.loads(read(f))["results"][0]["times"]]
        except (ValueError, KeyError, IndexError):
            pass
    return out


def ms(x):
    return "-" if x != x else ("%.1f" % x if x < 100 else "%.0f" % x)


M = kv_file(os.path.join(RES, "machine.txt"))
POOL = M.get("pool") == "yes"
ROWS = [("exec", "exec /bin/true"),
        ("bwrap", "`bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp /bin/true`"),
        ("sboxd", "`sboxrun --memory 256M --pids 64 -- /bin/true` via sboxd"),
        ("sboxrun-full", "the same, direct (`--direct`)")]
APIS = [("fork", "fork+exec+waitpid (apibench)"),
        ("floor", "the kernel alone, no launcher (floorbench: docs/benchmarks.md, \"Floors\")"),
        ("direct", "sandbox library in-process (apibench direct)"),
        ("libsbox", "libsbox through sboxd%s" % (", pool on" if POOL else "")),
        ("libsbox-nopool", "libsbox through sboxd, pool off")]
# Every measurement by key ("exec", "api-fork", ...): {round: [ms, ...]}.
R = {rid: row_rounds(rid) for rid, _ in ROWS}
R.update({"api-" + m: api_rounds(RES, m) for m, _ in APIS})
T = {k: sorted(t for v in r.values() for t in v) for k, r in R.items()}
A = {m: T["api-" + m] for m, _ in APIS}


def median(v):
    return statistics.median(v) if v else float("nan")


med = {k: median(v) for k, v in T.items()}


def round_range(a, b):
    """Lowest and highest per-round ratio of a's median to b's."""
    per = [median(R[a][k]) / median(R[b][k]) for k in R[a] if k in R[b] and R[a][k] and R[b][k]]
    return (min(per), max(per)) if per else None

out = []
w = out.append
w(HEAD)
w("")
w("`make bench-v2` (bench/v2.sh, bench/report_v2.py) on %s, inside the test-v2 VM "
  "(tests/v2/run-vm.sh, docs/testing-v2.md): Debian's kernel %s, %s at /sys/fs/cgroup "
  "(controllers: %s), %s vCPUs (%s), the host's own binaries and tools, sbox tree %s.  "
  "%s, so only the ratios mean anything, from few runs (%s rounds of %s runs per row and %s API launches per path, each round "
  "in a new random order): "
  "read them as a check that the v2 path (CLONE_INTO_CGROUP, the device BPF program, "
  "cgroup.kill) keeps the host's proportions, not as a second measurement of the targets." % (
      M.get("date", "?"), M.get("kernel", "?"), M.get("cgroups", "?"), M.get("controllers", "?"),
      M.get("cpus", "?"), M.get("cpu", "?"), M.get("git", "?"),
      "Under TCG emulation the guest runs 15-40x slower than the host and its timer is coarse"
      if "TCG" in M.get("cpu", "") else "This run had KVM: the guest's times are closer to the "
      "host's, but it shares the host's cores", M.get("rounds", "?"),
      M.get("runs", "?"), M.get("api_n", "?")))
w("")
w("| launch | median ms | p10-p90 ms | runs |")
w("|---|---:|---:|---:|")
for rid, label in ROWS:
    t = T[rid]
    if not t:
        why = read(os.path.join(RES, "lat-%s.err" % rid)).strip().replace("\n", " ")[-200:]
        w("| %s | not measured (%s) | | |" % (label, why or "no result"))
        continue
    w("| %s | %s | %s-%s | %d |" % (label, ms(med[rid]), ms(pct(t, 10)), ms(pct(t, 90)), len(t)))
for m, label in APIS:
    t = A[m]
    if not t:
        if m != "libsbox-nopool" or POOL:
            w("| API: %s | not measured | | |" % label)
        continue
    w("| API: %s | %s | %s-%s | %d |" % (label, ms(med["api-" + m]), ms(pct(t, 10)),
                                        ms(pct(t, 90)), len(t)))
w("")


def target(name, goal, a, b, limit):
    x = med[a] / med[b] if a in med and b in med else float("nan")
    if x != x:
        w("| %s | %s | - | | not measured |" % (name, goal))
        return
    rr = round_range(a, b)
    w("| %s | %s | %.2fx | %s | %s |" % (name, goal, x, "%.2fx-%.2fx" % rr if rr else "-",
                                         "met" if x <= limit else "not met"))


w("| ratio (issue 14's targets) | goal | in the VM | per-round range | verdict in the VM |")
w("|---|---|---:|---:|---|")
target("API p50 through sboxd%s vs fork+exec+waitpid" % (", pool on" if POOL else ""), "<= 2x",
       "api-libsbox", "api-fork", 2)
if POOL:
    target("API p50 through sboxd, pool off, vs fork+exec+waitpid", "<= 2x",
           "api-libsbox-nopool", "api-fork", 2)
target("sboxrun via sboxd vs bubblewrap (median)", "<= 0.5x", "sboxd", "bwrap", 0.5)
target("sboxrun direct vs bubblewrap (median)", "<= 1.0x", "sboxrun-full", "bwrap", 1.0)
w("")
if "api-floor" in med and med["api-floor"] == med["api-floor"] and "api-fork" in med:
    w("Floor in the VM: the kernel's own work of one full-isolation launch with no launcher "
      "(floorbench) is %.2fx fork+exec+waitpid here; a launch without a pool can't go under "
      "that, and sboxd's pool-off path is %.2fx of it." % (
          med["api-floor"] / med["api-fork"],
          med.get("api-libsbox-nopool", float("nan")) / med["api-floor"]))
    w("")
w("Throughput, the p99 and the 1000 live sandboxes are not measured here: under TCG they "
  "would measure the emulator.")
w("")
SECTION = "\n".join(out)

with open(os.path.join(DOCS, "benchmarks-v2.md"), "w") as f:
    f.write(SECTION + "\n")

# The same section in place in benchmarks.md.
md_path = os.path.join(DOCS, "benchmarks.md")
md = read(md_path)
if md:
    lines = md.split("\n")
    if HEAD in lines:
        a = lines.index(HEAD)
        b = next((i for i in range(a + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines[a:b] = SECTION.split("\n")
    elif "## Rerun" in lines:
        a = lines.index("## Rerun")
        lines[a:a] = SECTION.split("\n")
    else:
        lines += [""] + SECTION.split("\n")
    with open(md_path, "w") as f:
        f.write("\n".join(lines))
