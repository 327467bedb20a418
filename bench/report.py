#!/usr/bin/env python3
"""docs/benchmarks.md and docs/benchmarks.png from bench/run.sh's results.

    bench/report.py RESULTS_DIR DOCS_DIR

Every figure comes from RESULTS_DIR, written by one run on one machine; a
rerun replaces both files.  Latencies are medians over all runs of all
rounds, with the 10th-90th percentile spread; a ratio is the row's median
over the reference sbox row's median, and its range is the lowest and
highest of the per-round ratios (each round measures every row once).
"""
import glob
import json
import os
import re
import statistics
import subprocess
import sys

RES, DOCS = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
out = []


def w(line=""):
    out.append(line)


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def kv_file(path):
    d = {}
    for line in read(path).splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            d.setdefault(k, v)
    return d


def pct(v, p):
    """Nearest-rank percentile of a sorted list."""
    if not v:
        return float("nan")
    i = max(0, min(len(v) - 1, int(p / 100.0 * len(v) + 0.5) - 1))
    return v[i]


def ms(x):
    return "-" if x != x else ("%.2f" % x if x < 10 else "%.1f" % x)


def ratio(x):
    return "-" if x != x else "%.2fx" % x


MACHINE = kv_file(os.path.join(RES, "machine.txt"))
ROWS = []
for line in read(os.path.join(RES, "rows.tsv")).splitlines():
    rid, label, iso = line.split("\t")
    ROWS.append({"id": rid, "label": label, "iso": iso})


def na(rid):
    r = read(os.path.join(RES, "na-" + rid)).strip()
    return r or None


def round_of(path):
    return int(re.search(r"-r(\d+)\.", path).group(1))


# Latency per row, from the rounds' raw timings.
def load_rows():
    for r in ROWS:
        rounds = {}
        for f in glob.glob(os.path.join(RES, "lat-%s-r*.json" % r["id"])):
            res = json.load(open(f))["results"][0]
            rounds[round_of(f)] = [t * 1e3 for t in res["times"]]
        r["rounds"] = rounds
        r["times"] = sorted(t for v in rounds.values() for t in v)
        r["na"] = na(r["id"]) or (None if r["times"] else "no successful round")


def load_api(mode):
    rounds = {}
    for f in glob.glob(os.path.join(RES, "api-%s-r*.raw" % mode)):
        rounds[round_of(f)] = [float(x) / 1e3 for x in read(f).split()]
    times = sorted(t for v in rounds.values() for t in v)
    leaks = []
    for f in glob.glob(os.path.join(RES, "api-%s-r*.json" % mode)):
        try:
            j = json.loads(read(f))
        except ValueError:
            continue
        if j.get("fds_after") != j.get("fds_before") or j.get("children_left"):
            leaks.append(os.path.basename(f))
    return {"rounds": rounds, "times": times, "leaks": leaks}


load_rows()
BYID = {r["id"]: r for r in ROWS}
API = {m: load_api(m) for m in ("fork", "direct", "libsbox")}
API_LABEL = {
    "fork": "fork+exec+waitpid (C, in-process)",
    "direct": "sandbox library in-process (sbox_spawn, events, reap)",
    "libsbox": "libsbox API through sboxd (no client process)",
}


def med(times):
    return statistics.median(times) if times else float("nan")


def ok(rid):
    r = BYID.get(rid)
    return r is not None and not r["na"]


REF = next((rid for rid in ("sboxd", "sboxrun-full", "sboxrun") if ok(rid)), None)


def ratio_to(rid, ref):
    """median ratio, (min, max) of per-round ratios."""
    a, b = BYID[rid], BYID[ref]
    m = med(a["times"]) / med(b["times"])
    per = [med(a["rounds"][k]) / med(b["rounds"][k]) for k in a["rounds"] if k in b["rounds"]]
    return m, (min(per), max(per)) if per else (float("nan"), float("nan"))


# What each row's worker saw from inside, against a plain exec on the host.
def iso_seen(rid):
    me = kv_file(os.path.join(RES, "iso-%s.txt" % rid))
    host = kv_file(os.path.join(RES, "iso-exec.txt"))
    hv = kv_file(os.path.join(RES, "hostview-%s.txt" % rid))
    hv_host = kv_file(os.path.join(RES, "hostview-exec.txt"))
    if not me or "ns.pid" not in me:
        return None
    ns = [t for t in ("user", "pid", "mnt", "net", "ipc", "uts", "cgroup")
          if me.get("ns." + t) != host.get("ns." + t)]
    caps = me.get("cap_eff", "?")
    caps = "none" if caps.strip("0") == "" else ("all" if caps == host.get("cap_eff") else caps)
    seccomp = {"0": "off", "1": "strict", "2": "filter"}.get(me.get("seccomp"), "?")
    mounts = sum(1 for line in read(os.path.join(RES, "iso-%s.txt" % rid)).splitlines()
                 if line.startswith("mount="))
    devs = len(me.get("dev", "").split())
    cg = "-"
    if hv and "error" not in hv:
        own = [k for k in hv if k.startswith("cgroup.") and hv[k] != hv_host.get(k)]
        if not own:
            cg = "the caller's"
        else:
            lim = []
            mem = hv.get("limit.memory") or hv.get("limit.v2")
            if mem and mem not in ("max", "9223372036854771712"):
                lim.append("memory %d MiB" % (int(mem) // 1048576))
            pids = hv.get("limit.pids") or hv.get("limit.v2pids")
            if pids and pids != "max":
                lim.append("pids %s" % pids)
            dev = hv.get("limit.devices", "")
            if dev and not dev.startswith("a *:* rwm"):
                lim.append("devices: allow list")
            cg = "own (%s)" % (", ".join(lim) if lim else "no limits")
    return {
        "ns": " ".join(ns) or "none", "caps": caps, "nnp": me.get("no_new_privs", "?"),
        "seccomp": seccomp, "mounts": mounts, "devs": devs,
        "root_rw": "rw" if me.get("root_writable") == "1" else "ro",
        "netifs": me.get("netifs", "?"), "cgroup": cg,
    }


# The report itself (docs/benchmarks.md's layout).
M = MACHINE
w("# Benchmarks: launching an isolated worker")
w()
w("Generated by `make bench` (bench/run.sh, bench/report.py) on %s; a rerun "
  "replaces this file and benchmarks.png.  Every number below comes from this one "
  "run on this one machine: compare ratios, not absolute times, across machines." % M.get("date", "?"))
w()
w("## Machine")
w()
w("| | |")
w("|---|---|")
for k, label in (("host", "host"), ("cpu", "CPU"), ("cpus", "cores"), ("mem_gib", "memory (GiB)"),
                 ("virt", "virtualisation"), ("kernel", "kernel"), ("cgroups", "cgroups"),
                 ("loadavg_start", "load average at start"), ("loadavg_end", "load average at end"),
                 ("git", "sbox tree"), ("elapsed_s", "run time (s)")):
    w("| %s | %s |" % (label, M.get(k, "?")))
w("| mode | %s: %s rounds x %s runs per row, %s warm-up runs per round |" % (
    "quick (BENCH_QUICK=1)" if M.get("quick") == "1" else "full", M.get("rounds"),
    M.get("runs"), M.get("warmup")))
vers = ", ".join("%s %s" % (k[8:], v) for k, v in M.items()
                 if k.startswith("version.") and v != "not installed")
w("| tools | %s |" % vers)
w()
w("The machine is shared and small: each round runs every row once, in a new random order, "
  "so that a busy neighbour slows all rows alike; the p10-p90 columns and the per-round "
  "ratio ranges show how much noise there was.")
w()

w("## How it is measured")
w()
w("- **Whole processes** (the first table): `hyperfine -N` (no shell) runs each tool's "
  "command line, /bin/true as the worker, with its stdio on /dev/null; the time is from "
  "hyperfine's fork to the tool's exit, so it includes the tool's own start.")
w("- **The API path**: bench/apibench.c launches from inside its own process and times "
  "each launch from the call that starts it to the reaped exit; `-o` keeps every sample. "
  "Its fork+exec+waitpid row is the floor for the 2x target.")
w("- **Throughput**: apibench forks N clients that launch back to back for a fixed time; "
  "launches/s is the total over the wall time.  A leak check compares sbox's cgroups, "
  "nsfs mounts, sandbox inits, sboxd's fds and children, and the machine's namespaces, "
  "mounts, links and zombies before and after.")
w("- **Scaling**: apibench holds K sandboxes running `sleep` while it times launches; "
  "MemAvailable before and after starting them gives what one costs the machine.")
w("- **Isolation seen from inside**: each row runs sbox-probe once instead of /bin/true, "
  "and `sleep` once while bench/ reads its cgroup and limits from the host.")
w()

# Launch latency
w("## Launch latency of /bin/true (whole process, hyperfine)")
w()
if REF:
    w("Reference for the ratios: **%s**.  `full` means the full-isolation policy: %s." % (
        BYID[REF]["label"], ", ".join(read(os.path.join(RES, "full-sets.txt")).split()) or "-"))
missing = [line.split("\t") for line in read(os.path.join(RES, "full-missing.txt")).splitlines() if line]
if missing:
    w("Not yet known to this sboxrun (left out of `full`): %s." % ", ".join(
        "`%s` (%s)" % (a, b) for a, b in missing))
w()
w("| tool | what it isolates (configured) | median ms | p10-p90 ms | p99 ms | ratio to %s (per-round range) |" % (
    BYID[REF]["label"] if REF else "sbox"))
w("|---|---|---:|---:|---:|---:|")
PLOT = []
for r in ROWS:
    if r["na"]:
        w("| %s | %s | not available (%s) | | | |" % (r["label"], r["iso"], r["na"]))
        continue
    t = r["times"]
    m = med(t)
    PLOT.append((r["label"], m, pct(t, 10), pct(t, 90)))
    rr = "-"
    if REF and r["id"] != REF:
        x, (lo, hi) = ratio_to(r["id"], REF)
        rr = "%s (%s-%s)" % (ratio(x), ratio(lo), ratio(hi))
    elif r["id"] == REF:
        rr = "1 (reference)"
    w("| %s | %s | %s | %s-%s | %s | %s |" % (r["label"], r["iso"], ms(m), ms(pct(t, 10)),
                                              ms(pct(t, 90)), ms(pct(t, 99)), rr))
w()
if ok("crun") and MACHINE.get("cgroups", "").startswith("hybrid"):
    w("crun 1.8 refuses this hybrid cgroup layout (`cgroups in hybrid mode not supported, drop "
      "all controllers from cgroupv2`).  bench/ runs it in a private mount namespace in which the "
      "empty cgroup2 at /sys/fs/cgroup/unified is unmounted — `unshare -m --propagation private "
      "sh -c 'umount /sys/fs/cgroup/unified && exec hyperfine ... crun run ...'` — so it sees "
      "plain cgroup v1 and uses its cgroupfs manager; the wrapper is set up once per batch, "
      "outside the timed runs.  runc runs unchanged.  Their bundle (bench/mkbundle.sh) is a "
      "minimal read-only rootfs with /bin/true and its libraries, config.json from `crun spec` "
      "with every capability dropped, a cgroup namespace, memory and pids limits and a seccomp "
      "deny list, so that they isolate about as much as sbox's full policy.")
    w()

# Isolation seen from inside
w("## What each row isolates, seen from inside")
w()
w("sbox-probe (tests/probe) run in place of /bin/true reports what the worker sees; the "
  "cgroup column is read from the host while the row runs `sleep` instead.  Namespaces "
  "are those that differ from the host's.")
w()
w("| tool | new namespaces | caps | no_new_privs | seccomp | cgroup | mounts | /dev entries | root | net interfaces |")
w("|---|---|---|---|---|---|---:|---:|---|---|")
for r in ROWS:
    if r["na"] or r["id"] == "exec":
        continue
    s = iso_seen(r["id"])
    if not s:
        w("| %s | (probe run failed) | | | | | | | | |" % r["label"])
        continue
    w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        r["label"], s["ns"], s["caps"], s["nnp"], s["seccomp"], s["cgroup"], s["mounts"],
        s["devs"], s["root_rw"], s["netifs"]))
w()

# API path
w("## The API path: launching from inside one process (bench/apibench.c)")
w()
w("No client binary: a C driver calls the launch API itself and times each launch from the "
  "call to the reaped exit.  The floor is the same driver's fork+exec+waitpid of /bin/true.")
w()
w("| path | launches | p50 ms | p90 ms | p99 ms | p50 ratio to fork+exec | fd/child leaks |")
w("|---|---:|---:|---:|---:|---:|---|")
floor = med(API["fork"]["times"])
for m in ("fork", "direct", "libsbox"):
    a = API[m]
    if not a["times"]:
        why = "libsbox and sboxd not built yet" if m == "libsbox" else "apibench failed"
        w("| %s | not available (%s) | | | | | |" % (API_LABEL[m], why))
        continue
    t = a["times"]
    PLOT.append(("API: " + m, med(t), pct(t, 10), pct(t, 90)))
    w("| %s | %d | %s | %s | %s | %s | %s |" % (
        API_LABEL[m], len(t), ms(med(t)), ms(pct(t, 90)), ms(pct(t, 99)),
        ratio(med(t) / floor) if m != "fork" else "1", ", ".join(a["leaks"]) or "none"))
w()
if API["direct"]["times"]:
    w("`direct` uses the full-isolation policy; it is what sboxd's launch costs without the "
      "request and reply, and what a Slurm plugin would pay.")
    w()


# Targets
def target_row(name, goal, value, good, note=""):
    verdict = "-" if value != value else ("**met**" if good(value) else "**not met**")
    return "| %s | %s | %s | %s | %s |" % (name, goal, "-" if value != value else value, verdict, note)


w("## Targets (issue 8), as ratios from this run")
w()
w("| target | goal | measured | verdict | note |")
w("|---|---|---|---|---|")
sboxd_row = "sboxd" if ok("sboxd") else None
stand = "sboxrun-full" if ok("sboxrun-full") else ("sboxrun" if ok("sboxrun") else None)
for peer, goal in (("bwrap", 0.5), ("crun", 0.25)):
    who = sboxd_row or stand
    if who and ok(peer):
        x, _ = ratio_to(who, peer)
        note = "" if sboxd_row else "sboxd not available: measured with %s instead" % BYID[who]["label"]
        w(target_row("sbox full isolation vs %s" % BYID[peer]["label"], "<= %.2fx" % goal,
                     round(x, 2), lambda v, g=goal: v <= g, note))
    else:
        w(target_row("sbox full isolation vs %s" % peer, "<= %.2fx" % goal, float("nan"),
                     None, "a row is not available"))
api = "libsbox" if API["libsbox"]["times"] else "direct"
if API[api]["times"] and floor == floor:
    x = med(API[api]["times"]) / floor
    w(target_row("API path p50 vs fork+exec p50", "<= 2x", round(x, 2), lambda v: v <= 2,
                 "" if api == "libsbox" else "libsbox not available: the in-process library instead"))
TP = {}
for f in glob.glob(os.path.join(RES, "tp-*-*.json")):
    mode, c = re.match(r"tp-(.*)-(\d+)\.json$", os.path.basename(f)).groups()
    try:
        TP[(mode, int(c))] = json.loads(read(f))
    except ValueError:
        pass
tp_mode = next((m for m in ("libsbox", "sboxrun-client") if any(k[0] == m for k in TP)), None)
best = max((v["per_s"] for k, v in TP.items() if k[0] == (tp_mode or "direct")), default=float("nan"))
w(target_row("launches/s through sboxd, full isolation", ">= 1000", round(best) if best == best else best,
             lambda v: v >= 1000, "" if tp_mode else "sboxd not available: the in-process library instead"))
w()

# Throughput
w("## Throughput and leaks")
w()
w("Concurrent clients launch /bin/true back to back for a fixed time (apibench -t -j), "
  "full isolation.")
w()
w("| path | clients | launches/s | p50 ms | p99 ms | failures |")
w("|---|---:|---:|---:|---:|---:|")
TPL = {"libsbox": "through sboxd (libsbox)", "sboxrun-client": "through sboxd (sboxrun clients)",
       "direct": "in-process library (direct)"}
for (mode, c), v in sorted(TP.items(), key=lambda kv: (list(TPL).index(kv[0][0]), kv[0][1])):
    lat = v["latency"]
    w("| %s | %d | %.0f | %s | %s | %d |" % (TPL.get(mode, mode), c, v["per_s"],
                                             ms(lat["p50_us"] / 1e3), ms(lat["p99_us"] / 1e3), v["failures"]))
if not TP:
    w("| not measured | | | | | |")
w()
before = kv_file(os.path.join(RES, "leak-before.txt"))
after = kv_file(os.path.join(RES, "leak-after.txt"))
if before:
    w("Leak check: before the throughput runs and 2 s after them.  The verdicts are on "
      "what is sbox's alone: cgroups left by a launcher that is gone "
      "(`sbox_cgroups_stale`), sboxd's cgroups, fds and children; rows marked machine-wide "
      "also count other users' activity on this shared machine (other sbox tests run here).")
    w()
    w("| what | before | after | verdict |")
    w("|---|---:|---:|---|")
    own = {"sbox_cgroups_stale", "sbox_cgroups_sboxd", "sboxd_fds", "sboxd_children"}
    for k in before:
        b, a = before.get(k, "?"), after.get(k, "?")
        try:
            d = int(a) - int(b)
        except ValueError:
            d = 0
        if k in own:
            verdict = "ok" if d <= 0 else "**leak: +%d**" % d
        elif k.startswith("sboxd_rss"):
            verdict = "sboxd's RSS (see Memory)"
        else:
            verdict = "machine-wide" + ("" if d <= 0 else ", +%d" % d)
        w("| %s | %s | %s | %s |" % (k, b, a, verdict))
    w()

# Scaling
w("## Scaling: launch latency with live sandboxes")
w()
w("The driver holds K sandboxes running `sleep`, then times launches of /bin/true.")
w()
w("| path | live sandboxes | time to start them (s) | p50 ms | p90 ms | p99 ms | MemAvailable per live sandbox (KiB) | launcher RSS per live sandbox (KiB) |")
w("|---|---:|---:|---:|---:|---:|---:|---:|")
SC = []
for f in glob.glob(os.path.join(RES, "scale-*-*.json")):
    mode, k = re.match(r"scale-(.*)-(\d+)\.json$", os.path.basename(f)).groups()
    try:
        SC.append((mode, int(k), json.loads(read(f))))
    except ValueError:
        pass
for mode, k, v in sorted(SC, key=lambda x: (x[0], x[1])):
    lat = v["latency"]
    w("| %s | %d | %.2f | %s | %s | %s | %s | %s |" % (
        TPL.get(mode, mode), k, v.get("live_start_s", 0), ms(lat["p50_us"] / 1e3),
        ms(lat["p90_us"] / 1e3), ms(lat["p99_us"] / 1e3),
        "%.0f" % v["memavail_kb_per_live"] if k else "-",
        "%.1f" % v["rss_kb_per_live"] if k else "-"))
if not SC:
    w("| not measured | | | | | | | |")
w()

# Memory
w("## Memory")
w()
mem = kv_file(os.path.join(RES, "memory.txt"))
if mem.get("sboxd_rss_kb_idle"):
    w("sboxd's RSS just after it started: %s KiB; at the end of the run: %s KiB." % (
        mem["sboxd_rss_kb_idle"], mem.get("sboxd_rss_kb_end", "?")))
    for mode, k, v in sorted(SC, key=lambda x: (x[0], x[1])):
        if mode == "libsbox" and k and "watch_rss_kb" in v:
            w("With %d live sandboxes: %d KiB, against %d KiB before they started: %.1f KiB "
              "per live sandbox." % (k, v["watch_rss_kb_live"], v["watch_rss_kb"],
                                     (v["watch_rss_kb_live"] - v["watch_rss_kb"]) / k))
else:
    w("sboxd is not available in this run: its RSS is not measured.  What a live sandbox "
      "costs the machine (its init and worker processes, namespaces, mounts; MemAvailable) is "
      "in the scaling table.")
w()

# Plot
PNG = os.path.join(DOCS, "benchmarks.png")
if PLOT:
    dat = os.path.join(RES, "plot.dat")
    with open(dat, "w") as f:
        for i, (label, m, lo, hi) in enumerate(PLOT):
            sbox = "sbox" in label or label.startswith("API: direct") or "libsbox" in label
            f.write('%d "%s" %.4f %.4f %.4f %d\n' % (i, label, m, lo, hi,
                                                     0xD9822B if sbox else 0x4A7AB5))
    gp = os.path.join(RES, "plot.gp")
    with open(gp, "w") as f:
        f.write("""set terminal pngcairo size 1100,560 font "sans,10"
set output "%s"
set title "Launch latency of /bin/true: median, bars p10-p90; sbox in orange (%s, %s cores, %s)"
set ylabel "milliseconds"
set style fill solid 0.6 border -1
set boxwidth 0.6
set grid ytics
set xtics rotate by -30 left nomirror
set yrange [0:*]
set key off
set bmargin 8
plot "%s" using 1:3:6:xtic(2) with boxes lc rgb variable, \\
     "" using 1:3:4:5 with yerrorbars lc rgb "black" pt 0, \\
     "" using 1:5:(sprintf("%%.2f", $3)) with labels offset 0,0.8 font "sans,9"
""" % (PNG, M.get("host", "?"), M.get("cpus", "?"), M.get("date", "?"), dat))
    r = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
    if r.returncode == 0:
        w("![Launch latency per tool](benchmarks.png)")
    else:
        w("(gnuplot failed: %s)" % r.stderr.strip()[:200])
    w()

# Profile
PROF = os.path.join(RES, "profile")
w("## Where a direct launch spends its time (profile)")
w()
if os.path.isdir(PROF):
    st = read(os.path.join(PROF, "perf-stat.txt"))
    tc = re.search(r"([\d.]+) msec task-clock.*?([\d.]+) CPUs utilized", st)
    el = re.search(r"([\d.]+) \+- [\d.]+ seconds time elapsed", st)
    if tc and el:
        w("`perf stat -r 50 sboxrun -- /bin/true`: %.2f ms wall, %.2f ms on a CPU (%.0f%%): "
          "the rest is waiting — for the child's set-up across the sync channel, the "
          "scheduler on 2 cores, RCU grace periods in unmounts." % (
              float(el.group(1)) * 1e3, float(tc.group(1)), 100 * float(tc.group(2))))
        w()
    AB = {}
    for f in glob.glob(os.path.join(PROF, "ablation-*.json")):
        name = os.path.basename(f)[9:-5]
        AB[name] = med([t * 1e3 for t in json.load(open(f))["results"][0]["times"]])
    if AB:
        w("Ablation (hyperfine, one pass of 100 runs each, medians; not interleaved like the "
          "rounds above, so a busy neighbour shows here as noise of a few ms):")
        w()
        w("| variant | median ms | vs default |")
        w("|---|---:|---:|")
        labels = [("default", "sboxrun -- /bin/true"), ("net-host", "--net host (no network namespace)"),
                  ("seccomp-none", "--seccomp none"), ("net-host-seccomp-none", "--net host --seccomp none"),
                  ("sboxrun-version", "sboxrun --version (exec + dynamic loading only)"),
                  ("unshare-net", "unshare(1) with --net"), ("unshare-nonet", "unshare(1) without --net")]
        for k, label in labels:
            if k in AB:
                w("| %s | %s | %+.2f ms |" % (label, ms(AB[k]), AB[k] - AB.get("default", float("nan"))))
        w()
    ch = read(os.path.join(PROF, "perf-children.txt"))
    if ch:
        buckets = [
            ("clone3 of the sandbox (all of it)", "__do_sys_clone3"),
            ("new namespaces (copy_namespaces)", "copy_namespaces"),
            ("of which the network namespace (copy_net_ns)", "copy_net_ns"),
            ("of which the mount namespace (copy_mnt_ns)", "copy_mnt_ns"),
            ("page faults (copy-on-write after clone/fork, exec)", "asm_exc_page_fault"),
            ("execve (sboxrun, /bin/true)", "__x64_sys_execve"),
            ("dynamic loader in user space (ld.so)", "_dl_start_user"),
            ("glibc's CPU feature probe (cpuid traps to the hypervisor)", "init_cpu_features"),
            ("mount(2)", "__x64_sys_mount"),
            ("umount2(2)", "__x64_sys_umount"),
            ("fork of the worker by init (clone)", "__do_sys_clone"),
            ("netlink (lo up)", "netlink_sendmsg"),
            ("exit of the processes", "do_exit"),
        ]
        got = {}
        for line in ch.splitlines():
            m = re.match(r"\s*([\d.]+)%\s+[\d.]+%\s+\[[.k]\]\s+(\S+)$", line)
            if m:
                got.setdefault(m.group(2), float(m.group(1)))
        comm = read(os.path.join(PROF, "perf-comm.txt")).split()
        w("CPU profile of 200 launches (`perf record -g`, the launches' own processes; "
          "inclusive shares, so nested rows overlap; %s):" % " ".join(
              "%s %s" % (comm[i + 1], comm[i]) for i in range(0, min(len(comm), 8), 2)))
        w()
        w("| where | share of CPU samples |")
        w("|---|---:|")
        for label, sym in buckets:
            if sym in got:
                w("| %s | %.1f%% |" % (label, got[sym]))
        w()
    cg = read(os.path.join(PROF, "callgrind.txt"))
    tot = re.search(r"([\d,]+) \(100.0%\)\s+PROGRAM TOTALS", cg)
    dl = re.search(r"([\d,]+) \(\s*([\d.]+)%\)\s+\S*rtld.c:_dl_start ", cg)
    mn = re.search(r"([\d,]+) \(\s*([\d.]+)%\)\s+\S*sboxrun.c:main ", cg)
    if tot and dl:
        w("callgrind, sboxrun's own process (the parent): %s instructions, %s%% of them in the "
          "dynamic loader (`-z now` binds every symbol of libnl, libseccomp, libcap and libinih "
          "at start), %s%% in main()." % (tot.group(1), dl.group(2), mn.group(2) if mn else "?"))
        w()
    sc = read(os.path.join(PROF, "strace-c.txt")).splitlines()
    if sc:
        w("Syscalls of one launch, every process (`strace -c -f`; strace inflates each call):")
        w()
        w("```")
        w("\n".join(sc[:16]))
        w("```")
        w()
else:
    w("Not profiled in this run (BENCH_PROFILE=1 to include it; `make bench` without "
      "BENCH_QUICK profiles by default).")
    w()
notes = read(os.path.join(HERE, "profile-notes.md"))
if notes:
    w(notes.rstrip())
    w()

PY = {}
try:
    PY = json.loads(read(os.path.join(RES, "python_start.json")) or "{}")
except ValueError:
    PY = {}
w("## Python worker start (bench/python_start.py)")
w()
if PY:
    w("`Process.start()` until the target runs, each start method in this run "
      "(median, min, max of n starts):")
    w()
    w("| start method | median | min | max | n | vs spawn |")
    w("|---|---|---|---|---|---|")
    spawn = PY.get("spawn", {}).get("median_ms")
    for name in ("fork", "forkserver", "spawn", "sbox-direct", "sbox-sboxd", "sbox-zygote"):
        r = PY.get(name)
        if not r:
            continue
        w("| %s | %.1f ms | %.1f | %.1f | %d | %s |" % (
            name, r["median_ms"], r["min_ms"], r["max_ms"], r["n"],
            "%.2fx" % (r["median_ms"] / spawn) if spawn else "-"))
    w()
    if "sboxd_over_spawn" in PY:
        x = PY["sboxd_over_spawn"]
        w("Target (issue 18): sbox via sboxd <= 1.5x spawn's median: %.2fx, **%s**." %
          (x, "met" if x <= 1.5 else "not met"))
        w()
    if "sbox-zygote" in PY:
        w("`sbox-zygote` is `get_context(preload=[])`: each worker forked from a template "
          "into a fresh sandbox, no interpreter start.")
        w()

TORCH = PY.get("torch") or {}
w("### Zygotes: a worker that imports torch (issue 15)")
w()
if TORCH.get("sbox-zygote") and TORCH.get("forkserver-preload") and TORCH.get("spawn"):
    w("`Process.start()` until a target's `import torch` is done (Debian's python3-torch, "
      "CPU build): forkserver with `set_forkserver_preload([\"torch\"])` (no isolation), "
      "spawn (imports torch in each worker), and an sbox zygote, `get_context(preload="
      "[\"torch\"])` (%s; making its template took %.0f ms, once):" %
      ("through sboxd" if TORCH.get("via") == "sboxd" else "direct",
       TORCH.get("zygote_template_ms", 0)))
    w()
    w("| start method | median | min | max | n |")
    w("|---|---|---|---|---|")
    for name in ("forkserver-preload", "spawn", "sbox-zygote"):
        r = TORCH[name]
        w("| %s | %.1f ms | %.1f | %.1f | %d |" % (name, r["median_ms"], r["min_ms"],
                                                   r["max_ms"], r["n"]))
    w()
    x, y = TORCH["zygote_over_forkserver"], TORCH["zygote_over_spawn"]
    w("Target: zygote median <= 1.0x forkserver-preload's: %.2fx, **%s**." %
      (x, "met" if x <= 1.0 else "not met"))
    w()
    w("Target: zygote median <= 1/50 of spawn's: 1/%.0f, **%s**." %
      (1 / y, "met" if y <= 1 / 50 else "not met"))
    w()
    if "pss_zygote_over_spawn" in TORCH:
        k = TORCH["pss_workers"]
        z = TORCH["pss_zygote_over_spawn"]
        w("Memory of %d idle workers that imported torch, the sum of their PSS "
          "(`/proc/PID/smaps_rollup`, read while all live): zygote %.0f MiB, spawn %.0f MiB "
          "(the template itself: %.0f MiB, once)." % (
              k, TORCH["pss_kb_sbox-zygote"] / 1024.0, TORCH["pss_kb_spawn"] / 1024.0,
              TORCH.get("pss_kb_template", 0) / 1024.0))
        w()
        w("Target: zygote PSS sum <= 1/4 of spawn's: %.3f, **%s**." %
          (z, "met" if z <= 0.25 else "not met"))
        w()
else:
    w("Not measured in this run (no python with torch: `apt-get install python3-torch`, "
      "or the zygote could not start; bench/python_start.py's output says which).")
    w()

w("## Rerun")
w()
w("```sh")
w("sudo make bench                  # about 10 minutes; BENCH_QUICK=1 for about 2")
w("sudo make bench BENCH_B=build/x  # another build directory")
w("```")
w()
w("Raw results (hyperfine JSON, apibench output, probe reports, profiles) stay in the "
  "build directory's bench/ folder.  bench/run.sh installs missing peers (bubblewrap, crun, "
  "runc, hyperfine, gnuplot-nox) through scripts/install-deps.sh; firejail is measured when "
  "installed.")

with open(os.path.join(DOCS, "benchmarks.md"), "w") as f:
    f.write("\n".join(out) + "\n")
