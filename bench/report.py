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

from bench_results import api_rounds, kv_file, pct, read, round_of

RES, DOCS = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
out = []


def w(line=""):
    out.append(line)


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
    rounds = api_rounds(RES, mode)
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
API_MODES = ("fork", "direct", "libsbox", "libsbox-nopool", "fork-paced", "libsbox-paced")
API = {m: load_api(m) for m in API_MODES}
# The idle time before each launch of the paced rows (bench/lib.sh).
PAUSE_MS = kv_file(os.path.join(RES, "api-paced.txt")).get("pause_ms", "?")
# Whether sboxd has a pool of prepared sandboxes (bench/lib.sh found out
# by starting one with the pool off: an sboxd without [Pool] refuses it).
POOL = kv_file(os.path.join(RES, "pool.txt"))
HAS_POOL = POOL.get("pool") == "yes"
API_LABEL = {
    "fork": "fork+exec+waitpid (C, in-process)",
    "direct": "sandbox library in-process (sbox_spawn, events, reap)",
    "libsbox": "libsbox API through sboxd, %s" % (
        "pool on (default config)" if HAS_POOL else "no client process (this sboxd has no pool)"),
    "libsbox-nopool": "libsbox API through sboxd, pool off (`[Pool] Size=0`)",
    "fork-paced": "fork+exec+waitpid, paced (%s ms idle before each launch)" % PAUSE_MS,
    "libsbox-paced": "libsbox API through sboxd, pool on, paced (%s ms idle before each launch)"
                     % PAUSE_MS,
}


def api_floor_mode(mode):
    """The fork mode a mode's ratio is taken against: paced against paced."""
    return "fork-paced" if mode.endswith("-paced") else "fork"


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
w("- **Pool on and off**: sboxd runs with its default configuration (a pool of prepared "
  "sandboxes, when it has one) for every sboxd row; a second sboxd with `[Pool] Size=0` "
  "gives the API and throughput rows' pool-off lines.  An sboxd that refuses `[Pool]` has "
  "no pool, and the report says so instead.")
w("- **Where the time goes** (full runs): bench/profile.sh profiles a launch direct and "
  "through sboxd, per launch and by phase: counters, syscalls with their wall time, and "
  "where the launch's processes block in the kernel (bench/profile_sum.py).")
w("- **v2**: `make bench-v2` measures the same ratios inside the test-v2 VM (pure cgroup "
  "v2, docs/testing-v2.md); its section is kept from that run.")
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
for m in API_MODES:
    a = API[m]
    if m == "libsbox-nopool" and not a["times"] and not HAS_POOL:
        continue
    if m.endswith("-paced") and not a["times"]:
        continue
    if not a["times"]:
        why = "libsbox and sboxd not built yet" if m.startswith("libsbox") else "apibench failed"
        w("| %s | not available (%s) | | | | | |" % (API_LABEL[m], why))
        continue
    t = a["times"]
    PLOT.append(("API: " + m, med(t), pct(t, 10), pct(t, 90)))
    w("| %s | %d | %s | %s | %s | %s | %s |" % (
        API_LABEL[m], len(t), ms(med(t)), ms(pct(t, 90)), ms(pct(t, 99)),
        ratio(med(t) / med(API[api_floor_mode(m)]["times"])) if not m.startswith("fork") else "1",
        ", ".join(a["leaks"]) or "none"))
w()
if API["libsbox-paced"]["times"]:
    w("The paced rows wait %s ms before each timed launch: the latency of a launch that does "
      "not follow another at once, with sboxd's pool refilled in the pause (`[Pool] "
      "RefillIdleSec=`); back to back, a launch also waits for the refill of the one before "
      "it (Where the time goes).  Each is read against fork+exec paced the same way." % PAUSE_MS)
    w()
if API["direct"]["times"]:
    w("`direct` uses the full-isolation policy; it is what sboxd's launch costs without the "
      "request and reply, and what a Slurm plugin would pay.")
    w()


# Throughput, leak counts and scaling: loaded here, since the targets use them.
TP = {}
for f in glob.glob(os.path.join(RES, "tp-*-*.json")):
    mode, c = re.match(r"tp-(.*)-(\d+)\.json$", os.path.basename(f)).groups()
    try:
        TP[(mode, int(c))] = json.loads(read(f))
    except ValueError:
        pass
LEAK_BEFORE = kv_file(os.path.join(RES, "leak-before.txt"))
LEAK_AFTER = kv_file(os.path.join(RES, "leak-after.txt"))
# What is sbox's alone (bench/lib.sh's LEAK_OWN), per sboxd.
LEAK_OWN = {
    "libsbox": ("sbox_cgroups_stale", "sbox_cgroups_sboxd", "sboxd_fds", "sboxd_children"),
    "libsbox-nopool": ("sbox_cgroups_stale", "sbox_cgroups_sboxd_nopool", "sboxd_nopool_fds",
                       "sboxd_nopool_children"),
}
LEAK_OWN["sboxrun-client"] = LEAK_OWN["libsbox"]
LEAK_OWN_ALL = set(k for v in LEAK_OWN.values() for k in v)


def leaked(keys):
    """The own counts that grew over the throughput runs: ["key +N", ...]."""
    grown = []
    for k in keys:
        try:
            d = int(LEAK_AFTER[k]) - int(LEAK_BEFORE[k])
        except (KeyError, ValueError):
            continue
        if d > 0:
            grown.append("%s +%d" % (k, d))
    return grown


SC = []
for f in glob.glob(os.path.join(RES, "scale-*-*.json")):
    mode, k = re.match(r"scale-(.*)-(\d+)\.json$", os.path.basename(f)).groups()
    try:
        SC.append((mode, int(k), json.loads(read(f))))
    except ValueError:
        pass


# Floors (bench/floor.c): the kernel's cost of the same isolation with no
# launcher; FLOOR[live] for the sequential runs, FLOOR_TP at 4 clients.
FLOOR, FLOOR_TP = {}, None
for f in glob.glob(os.path.join(RES, "floor-*.json")):
    name = os.path.basename(f)[len("floor-"):-len(".json")]
    try:
        v = json.loads(read(f))
    except ValueError:
        continue
    if name.startswith("tp-"):
        FLOOR_TP = v
    elif name.isdigit() and v.get("latency", {}).get("n"):
        FLOOR[int(name)] = v
NCPU = int(M.get("cpus") or os.cpu_count() or 1)


def floor_p50_ms(live=0):
    v = FLOOR.get(live)
    return v["latency"]["p50_us"] / 1e3 if v else float("nan")


def floor_cpu_bound_ms():
    """Back to back on NCPU cores, a launch can't take less wall time than
    the floor's CPU per launch spread over every core: a pool moves the
    work off the caller's path, it does not make it free."""
    v = FLOOR.get(0)
    return v["cpu_ms_per_launch"] / NCPU if v else float("nan")


# Targets
def verdict_of(value, good):
    if value != value:
        return "-"
    return "**met**" if good(value) else "**not met**"


def target_row(name, goal, measured, verdict, note=""):
    w("| %s | %s | %s | %s | %s |" % (name, goal, measured, verdict, note))


def round_ratios(mode):
    """Per-round ratio of an API mode's p50 to fork's p50 (same round)."""
    a, f = API[mode]["rounds"], API[api_floor_mode(mode)]["rounds"]
    per = [med(a[k]) / med(f[k]) for k in a if k in f and a[k] and f[k]]
    return " (rounds %s-%s)" % (ratio(min(per)), ratio(max(per))) if per else ""


def pool_modes():
    """The API/throughput modes through sboxd, pool on first: (mode, suffix)."""
    if not HAS_POOL:
        return [("libsbox", "")]
    return [("libsbox", ", pool on"), ("libsbox-nopool", ", pool off")]


BWRAP_CMD = "bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp /bin/true"


def bwrap_is_issues():
    return " ".join(read(os.path.join(RES, "cmd-bwrap")).split()) == BWRAP_CMD


def target_api(floor):
    for mode, sfx in pool_modes():
        t = API[mode]["times"]
        name = "API p50 through sboxd (libsbox, launch to reaped exit)%s vs fork+exec+waitpid p50" % sfx
        if not t or floor != floor:
            target_row(name, "<= 2x", "-", "-", "a row is not available")
            continue
        x = med(t) / floor
        lo = (floor_cpu_bound_ms() if mode == "libsbox" and HAS_POOL else floor_p50_ms()) / floor
        target_row(name, "<= 2x", ratio(x), verdict_of(x, lambda v: v <= 2),
                   "%s vs %s ms%s%s" % (ms(med(t)), ms(floor), round_ratios(mode),
                                       "; floor here %s (Floors)" % ratio(lo) if lo == lo else ""))
    t, pf = API["libsbox-paced"]["times"], med(API["fork-paced"]["times"])
    if t and pf == pf:
        x = med(t) / pf
        target_row("API p50 through sboxd, pool on, paced (%s ms idle before each launch) vs "
                   "fork+exec+waitpid paced" % PAUSE_MS, "<= 2x", ratio(x),
                   verdict_of(x, lambda v: v <= 2),
                   "%s vs %s ms%s" % (ms(med(t)), ms(pf), round_ratios("libsbox-paced")))


def target_throughput():
    modes = pool_modes() if any(k[0] == "libsbox" for k in TP) else [("sboxrun-client", "")]
    for mode, sfx in modes:
        name = "launches/s through sboxd, 4 clients%s" % sfx
        goal = ">= 1000/s, 0 failures, leak check clean"
        v = TP.get((mode, 4))
        if not v:
            target_row(name, goal, "-", "-", "not measured at 4 clients")
            continue
        grown = leaked(LEAK_OWN[mode]) if LEAK_BEFORE else ["no leak check"]
        good = v["per_s"] >= 1000 and v["failures"] == 0 and not grown
        why = [] if v["per_s"] >= 1000 else ["below 1000/s"]
        fk = TP.get(("fork", 4))
        if v["per_s"] < 1000 and (fk or FLOOR_TP):
            why += ["floor here: %s (Floors)" % ", ".join(
                ([("kernel alone %.0f/s" % FLOOR_TP["per_s"])] if FLOOR_TP else []) +
                ([("fork+exec with no isolation %.0f/s" % fk["per_s"])] if fk else []))]
        why += ["%d failures" % v["failures"]] if v["failures"] else []
        why += ["leak: " + ", ".join(grown)] if grown else []
        target_row(name, goal, "%.0f/s, %d failures, leaks %s" % (
            v["per_s"], v["failures"], "none" if not grown else len(grown)),
            "**met**" if good else "**not met**",
            ("sboxrun client processes: libsbox not available; " if mode == "sboxrun-client" else "")
            + "; ".join(why))


def target_vs_bwrap(rid, goal, name):
    if not ok("bwrap") or not ok(rid):
        target_row(name, "<= %.1fx" % goal, "-", "-", "a row is not available")
        return
    x, (lo, hi) = ratio_to(rid, "bwrap")
    note = "%s vs %s ms, rounds %s-%s" % (ms(med(BYID[rid]["times"])), ms(med(BYID["bwrap"]["times"])),
                                         ratio(lo), ratio(hi))
    if not bwrap_is_issues():
        target_row(name, "<= %.1fx" % goal, ratio(x), "-",
                   "the bubblewrap row is not issue 14's command line (`%s`)" % BWRAP_CMD)
        return
    target_row(name, "<= %.1fx" % goal, ratio(x), verdict_of(x, lambda v: v <= goal), note)


def target_tail():
    for mode, sfx in pool_modes():
        t = API[mode]["times"]
        name = "p99 through sboxd (libsbox%s) vs its p50" % sfx
        if not t:
            target_row(name, "<= 3x", "-", "-", "not measured")
            continue
        x = pct(t, 99) / med(t)
        target_row(name, "<= 3x", ratio(x), verdict_of(x, lambda v: v <= 3),
                   "p99 %s ms, p50 %s ms, %d launches" % (ms(pct(t, 99)), ms(med(t)), len(t)))


def target_scaling():
    name, goal = "a launch with 1000 live sandboxes vs with 0 (p50)", "<= 1.2x"
    mode = "libsbox" if any(m == "libsbox" for m, _, _ in SC) else "direct"
    pts = {k: v for m, k, v in SC if m == mode and v["latency"]["n"]}
    reached = {k: v.get("live", k) for k, v in pts.items()}
    if 0 not in pts or len(pts) < 2:
        target_row(name, goal, "-", "-", "scaling not measured")
        return
    top = max(pts, key=lambda k: reached[k])
    x = pts[top]["latency"]["p50_us"] / pts[0]["latency"]["p50_us"]
    note = "" if mode == "libsbox" else "sboxd not available: the in-process library; "
    if reached[top] < 1000:
        short = "asked for %d, reached %d" % (top, reached[top]) if reached[top] < top else \
            "this run went to %d only%s" % (top, " (quick mode)" if M.get("quick") == "1" else "")
        target_row(name, goal, "%s at %d live" % (ratio(x), reached[top]), "not measured at 1000",
                   note + short)
        return
    fl = floor_p50_ms(top) / floor_p50_ms(0)
    target_row(name, goal, ratio(x), verdict_of(x, lambda v: v <= 1.2), note + "%s vs %s ms%s" % (
        ms(pts[top]["latency"]["p50_us"] / 1e3), ms(pts[0]["latency"]["p50_us"] / 1e3),
        "; floor here %s (Floors)" % ratio(fl) if fl == fl else ""))


w("## Targets (issue 14), as ratios from this run")
w()
w("Full isolation throughout (`%s`).  The API and throughput targets are through sboxd "
  "with libsbox (bench/apibench.c); the whole-process targets compare hyperfine's medians "
  "of the rows above.  %s" % (
      read(os.path.join(RES, "full-cli.txt")).strip() or " ".join(
          "--set " + x for x in read(os.path.join(RES, "full-sets.txt")).split()),
      "Each sboxd target is measured with sboxd's pool of prepared sandboxes on (its default) "
      "and off." if HAS_POOL else "This sboxd has no pool of prepared sandboxes (%s), so "
      "there is no pool-off line." % (POOL.get("pool_why") or "it refused `[Pool]`")))
w()
w("| target | goal | measured | verdict | note |")
w("|---|---|---|---|---|")
target_api(floor)
target_throughput()
target_vs_bwrap("sboxd", 0.5,
                "`sboxrun %s -- /bin/true` via sboxd vs bubblewrap (median)" % (
                    read(os.path.join(RES, "full-cli.txt")).strip() or "--full"))
target_vs_bwrap("sboxrun-full", 1.0, "the same, direct mode, vs bubblewrap (median)")
target_tail()
target_scaling()
if ok("crun") and ok("sboxd"):
    x, _ = ratio_to("sboxd", "crun")
    target_row("(issue 8) sbox via sboxd vs crun (median)", "<= 0.25x", ratio(x),
               verdict_of(x, lambda v: v <= 0.25))
w()
w("bubblewrap's row is `%s`%s." % (BWRAP_CMD, "" if bwrap_is_issues() or not ok("bwrap") else
                                  " — **not** what this run measured (see its command in the results)"))
w()

# Floors
def floors_section():
    w("## Floors: what this kernel charges with no launcher (bench/floor.c)")
    w()
    w("`floorbench` does the kernel's work of one full-isolation launch and nothing else: the "
      "cgroup with its limits and device rules (a directory in each v1 hierarchy sbox gives a "
      "sandbox without a CPU or I/O limit: cpuacct, memory, devices, freezer, pids; or one v2 "
      "directory), clone3 into new pid, mount, ipc, uts and net namespaces, placement, a cgroup "
      "namespace, bubblewrap's root view (read-only bind of /, tmpfs /dev with six nodes, proc, "
      "tmpfs /tmp, pivot_root), hostname, lo up, and a worker with no capabilities, "
      "no_new_privs and a 40-rule seccomp filter that execs /bin/true; then init reaped and the "
      "cgroups removed.  No policy, protocol, pool or daemon: what a launcher that did only "
      "that would cost here.  Where a floor is beyond a target's goal, no launcher can meet "
      "that target on this machine and kernel.")
    w()
    if not FLOOR.get(0):
        w("Not measured in this run (%s)." % (read(os.path.join(RES, "floor.err")).strip()[:200]
                                             or "floorbench not built"))
        w()
        return
    f0, fork = FLOOR[0], floor
    cpu_ms = f0["cpu_ms_per_launch"]
    w("| floor | measured here | bounds | goal | reachable here |")
    w("|---|---|---|---|---|")

    def row(what, measured, bounds, goal, value, good):
        w("| %s | %s | %s | %s | %s |" % (what, measured, bounds, goal,
                                          "-" if value != value else ("yes" if good(value) else
                                                                      "**no**")))
    x = floor_p50_ms() / fork
    row("a launch, back to back (p50)", "%s ms = %s fork+exec" % (ms(floor_p50_ms()), ratio(x)),
        "API p50 without a pool", "<= 2x", x, lambda v: v <= 2)
    x = floor_cpu_bound_ms() / fork
    row("CPU per launch, the whole machine (kernel workers included), over %d cores" % NCPU,
        "%.2f ms / %d = %s ms = %s fork+exec" % (cpu_ms, NCPU, ms(floor_cpu_bound_ms()), ratio(x)),
        "API p50 with a pool, back to back", "<= 2x", x, lambda v: v <= 2)
    fk = TP.get(("fork", 4))
    if FLOOR_TP or fk:
        best = min(v["per_s"] for v in (FLOOR_TP, fk) if v)
        row("launches/s at 4 clients", "; ".join(
            (["kernel alone %.0f/s" % FLOOR_TP["per_s"]] if FLOOR_TP else []) +
            (["fork+exec+waitpid of /bin/true, no isolation at all, %.0f/s" % fk["per_s"]]
             if fk else [])), "throughput", ">= 1000/s", best, lambda v: v >= 1000)
    live = max(FLOOR)
    if live > 0:
        x = floor_p50_ms(live) / floor_p50_ms(0)
        row("a launch with %d live sandboxes vs 0 (p50)" % live,
            "%s vs %s ms = %s" % (ms(floor_p50_ms(live)), ms(floor_p50_ms(0)), ratio(x)),
            "scaling", "<= 1.2x", x, lambda v: v <= 1.2)
    if ok("bwrap") and ok("exec"):
        bw, ex = med(BYID["bwrap"]["times"]), med(BYID["exec"]["times"])
        x = (ex + floor_cpu_bound_ms()) / bw
        row("a client process (one exec, as `exec /bin/true`) plus a pooled launch's CPU bound",
            "(%s + %s) ms = %s bubblewrap" % (ms(ex), ms(floor_cpu_bound_ms()), ratio(x)),
            "sboxrun via sboxd vs bubblewrap", "<= 0.5x", x, lambda v: v <= 0.5)
        x = (ex + floor_p50_ms()) / bw
        row("the same process with no pool", "(%s + %s) ms = %s bubblewrap" % (
            ms(ex), ms(floor_p50_ms()), ratio(x)), "direct sboxrun vs bubblewrap", "<= 1.0x", x,
            lambda v: v <= 1.0)
    w()
    w("sbox's own cost is what it adds above these: the API rows against the first two, the "
      "throughput rows against the third, the scaling rows against the fourth.")
    w()


floors_section()

# Throughput
w("## Throughput and leaks")
w()
w("Concurrent clients launch /bin/true back to back for a fixed time (apibench -t -j), "
  "full isolation.")
w()
w("| path | clients | launches/s | p50 ms | p99 ms | failures |")
w("|---|---:|---:|---:|---:|---:|")
TPL = {"libsbox": "through sboxd (libsbox%s)" % (", pool on" if HAS_POOL else ""),
       "libsbox-nopool": "through sboxd (libsbox, pool off)",
       "sboxrun-client": "through sboxd (sboxrun clients)",
       "direct": "in-process library (direct)",
       "fork": "fork+exec+waitpid, no isolation (the ceiling)"}
for (mode, c), v in sorted(TP.items(), key=lambda kv: (list(TPL).index(kv[0][0]), kv[0][1])):
    lat = v["latency"]
    w("| %s | %d | %.0f | %s | %s | %d |" % (TPL.get(mode, mode), c, v["per_s"],
                                             ms(lat["p50_us"] / 1e3), ms(lat["p99_us"] / 1e3), v["failures"]))
if not TP:
    w("| not measured | | | | | |")
w()
before, after = LEAK_BEFORE, LEAK_AFTER
if before:
    w("Leak check: before the throughput runs and after them, once sbox's own counts have "
      "settled (teardown off sboxd's loop, a pool refilling: %s s here, at most 20).  The "
      "verdicts are on what is sbox's alone: cgroups left by a launcher that is gone "
      "(`sbox_cgroups_stale`), each sboxd's cgroups, fds and children (with a pool, its "
      "prepared sandboxes are among them, as many before as after); rows marked machine-wide "
      "also count other users' activity on this shared machine (other sbox tests run here)."
      % after.get("settle_s", "?"))
    w()
    w("| what | before | after | verdict |")
    w("|---|---:|---:|---|")
    for k in before:
        b, a = before.get(k, "?"), after.get(k, "?")
        try:
            d = int(a) - int(b)
        except ValueError:
            d = 0
        if k in LEAK_OWN_ALL:
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
for mode, k, v in sorted(SC, key=lambda x: (x[0], x[1])):
    lat = v["latency"]
    live = v.get("live", k)
    w("| %s | %s | %.2f | %s | %s | %s | %s | %s |" % (
        TPL.get(mode, mode), live if live == k else "%d (of %d asked: starting more failed)" % (live, k),
        v.get("live_start_s", 0), ms(lat["p50_us"] / 1e3),
        ms(lat["p90_us"] / 1e3), ms(lat["p99_us"] / 1e3),
        "%.0f" % v["memavail_kb_per_live"] if "memavail_kb_per_live" in v else "-",
        "%.1f" % v["rss_kb_per_live"] if "rss_kb_per_live" in v else "-"))
if not SC:
    w("| not measured | | | | | | | |")
w()
if SC and max(v.get("live", k) for _, k, v in SC) < 1000:
    w("This run did not reach 1000 live sandboxes (%s): the 1000-live target is not measured." % (
        "starting more failed" if any(v.get("live", k) < k for _, k, v in SC) else
        "it asked for %d at most%s" % (max(k for _, k, _ in SC),
                                       ", quick mode" if M.get("quick") == "1" else "")))
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
PHASE_PATHS = (("direct", "direct (`sboxrun --direct`)"),
               ("sboxd", "through sboxd (libsbox%s)" % (", pool on" if HAS_POOL else "")),
               ("sboxd-nopool", "through sboxd (libsbox, pool off)"))
PHASE_COUNTERS = [
    ("task-clock", "CPU time, ms", "%.2f"),
    ("page-faults", "page faults", "%.0f"),
    ("context-switches", "context switches", "%.0f"),
    ("cpu-migrations", "CPU migrations", "%.1f"),
    ("sched:sched_process_fork", "forks (fork, clone, clone3)", "%.1f"),
    ("sched:sched_process_exec", "execs", "%.1f"),
    ("syscalls:sys_enter_clone3", "clone3 calls", "%.1f"),
    ("syscalls:sys_enter_unshare", "unshare calls", "%.1f"),
    ("syscalls:sys_enter_setns", "setns calls", "%.1f"),
    ("cgroup:cgroup_mkdir", "cgroup mkdir", "%.1f"),
    ("cgroup:cgroup_attach_task", "cgroup attaches (a task moved into a cgroup)", "%.1f"),
    ("cgroup:cgroup_rmdir", "cgroup rmdir", "%.1f"),
    ("syscalls:sys_enter_mount", "mount(2) calls", "%.1f"),
    ("syscalls:sys_enter_umount", "umount2(2) calls", "%.1f"),
]


def phases_of(name):
    try:
        return json.loads(read(os.path.join(PROF, "phases-%s.json" % name)))
    except ValueError:
        return None


def own_wait(cause):
    """The launch's processes waiting for each other: not a cost of its own."""
    return cause.startswith("waiting")


def phases_section():
    ph = [(label, phases_of(name)) for name, label in PHASE_PATHS]
    ph = [(label, p) for label, p in ph if p]
    if not ph:
        return
    w("### Per launch, by phase (bench/profile.sh, bench/profile_sum.py)")
    w()
    w("The same driver launches %d times each way with full isolation, under three tools in "
      "turn: `perf stat` (counters), `strace -f -c -w` (syscalls with their wall time, so a "
      "call that blocks shows its wait; strace inflates each call) and `perf record -a -e "
      "sched:sched_switch -g` (where each process of the launch blocks, read from the kernel "
      "stack at the switch and timed until it runs again).  Direct: the driver's fork+exec of "
      "sboxrun, sboxrun, its sandbox and the cgroup guard.  Through sboxd: the libsbox client, "
      "sboxd and its sandboxes — sboxd's whole work, refill of a pool included; kernel "
      "threads (a namespace's teardown in a kworker) are not counted." % ph[0][1]["n"])
    w()
    w("| per launch | %s |" % " | ".join(label for label, _ in ph))
    w("|---|" + "---:|" * len(ph))
    for key, label, fmt in PHASE_COUNTERS:
        if any(key in p["counters"] for _, p in ph):
            w("| %s | %s |" % (label, " | ".join(
                fmt % p["counters"][key] if key in p["counters"] else "-" for _, p in ph)))
    w("| syscalls (strace) | %s |" % " | ".join(
        "%.0f" % sum(r["calls_per_launch"] for r in p["syscalls"]) if p["syscalls"] else "-"
        for _, p in ph))
    causes = []
    for _, p in ph:
        for c in p.get("sched", {}).get("blocked", {}):
            if c not in causes:
                causes.append(c)
    def blocked(p, c):
        return p.get("sched", {}).get("blocked", {}).get(c)

    small = [c for c in causes if not own_wait(c) and all(
        (blocked(p, c) or {"ms_per_launch": 0})["ms_per_launch"] < 0.5 for _, p in ph)]
    for c in sorted(causes, key=lambda c: (own_wait(c), c)):
        if c in small:
            continue
        cells = []
        for _, p in ph:
            b = blocked(p, c)
            cells.append("%.2f ms in %.1f waits" % (b["ms_per_launch"], b["times_per_launch"])
                         if b else "-")
        w("| blocked: %s%s | %s |" % (c, " (not a cost of its own)" if own_wait(c) else "",
                                      " | ".join(cells)))
    if small:
        w("| blocked: other kernel waits, each under 0.5 ms per launch (%d kinds) | %s |" % (
            len(small), " | ".join("%.2f ms" % sum((blocked(p, c) or {"ms_per_launch": 0})
                                                   ["ms_per_launch"] for c in small) for _, p in ph)))
    w("| runnable but not running (preempted: the run queue) | %s |" % " | ".join(
        "%.2f ms" % p["sched"]["preempted_ms_per_launch"] if "sched" in p else "-" for _, p in ph))
    w()
    # The syscalls that take the most wall time on either path.
    top = {}
    for _, p in ph:
        for r in p["syscalls"]:
            top[r["syscall"]] = max(top.get(r["syscall"], 0), r["wall_ms_per_launch"])
    names = sorted(top, key=lambda k: -top[k])[:14]
    if names:
        w("Syscalls by wall time per launch (strace -c -w; calls and ms):")
        w()
        w("| syscall | %s |" % " | ".join(label for label, _ in ph))
        w("|---|" + "---:|" * len(ph))
        for k in names:
            cells = []
            for _, p in ph:
                r = next((r for r in p["syscalls"] if r["syscall"] == k), None)
                cells.append("%.1f calls, %.2f ms" % (r["calls_per_launch"], r["wall_ms_per_launch"])
                             if r else "-")
            w("| %s | %s |" % (k, " | ".join(cells)))
        w()


w("## Where the time goes (profile)")
w()
if os.path.isdir(PROF):
    phases_section()
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

def torch_section(TORCH):
    """One run's torch rows (through sboxd, or direct): medians and the verdicts."""
    w("`Process.start()` until a target's `import torch` is done (Debian's python3-torch, "
      "CPU build): forkserver with `set_forkserver_preload([\"torch\"])` (no isolation), "
      "spawn (imports torch in each worker), and an sbox zygote, `get_context(preload="
      "[\"torch\"])` (%s; making its template took %.0f ms, once; `sbox-zygote-nospare` "
      "is the same with `spares=0`):" %
      ("through sboxd" if TORCH.get("via") == "sboxd" else "direct",
       TORCH.get("zygote_template_ms", 0)))
    w()
    w("| start method | median | min | max | n |")
    w("|---|---|---|---|---|")
    for name in ("forkserver-preload", "spawn", "sbox-zygote", "sbox-zygote-nospare"):
        r = TORCH.get(name)
        if r:
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
    fs, sp = TORCH.get("forkserver-preload"), TORCH.get("spawn")
    if fs and sp and sp["median_ms"] > 0:
        f = fs["median_ms"] / sp["median_ms"]
        w("Floor: the forkserver with the same preload and no isolation at all is itself 1/%.0f "
          "of spawn here%s." % (1 / f, (": 1/50 would need a zygote %.1fx faster than the "
                                        "unisolated forkserver, beyond the first target's "
                                        "1.0x" % (f * 50)) if f > 1 / 50 else ""))
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


w("### Zygotes: a worker that imports torch (issue 15)")
w()
measured = False
for key in ("torch", "torch_direct"):
    T = PY.get(key) or {}
    if T.get("sbox-zygote") and T.get("forkserver-preload") and T.get("spawn"):
        torch_section(T)
        measured = True
if not measured:
    w("Not measured in this run (no python with torch: `apt-get install python3-torch`, "
      "or the zygote could not start; bench/python_start.py's output says which).")
    w()

# The v2 VM's section, from its own run (make bench-v2, bench/report_v2.py).
V2 = read(os.path.join(DOCS, "benchmarks-v2.md")).rstrip()
if V2:
    w(V2)
    w()
else:
    w("## v2 (TCG VM): the same ratios on a pure cgroup v2 machine")
    w()
    w("Not measured yet: `sudo make bench-v2` runs the ratios inside the test-v2 VM and "
      "writes this section.")
    w()

w("## Rerun")
w()
w("```sh")
w("sudo make bench                  # about 10 minutes; BENCH_QUICK=1 for about 2")
w("sudo make bench BENCH_B=build/x  # another build directory")
w("sudo make bench-v2               # the v2 section, inside the test-v2 VM (TCG: 10-20 minutes)")
w("```")
w()
w("Raw results (hyperfine JSON, apibench output, probe reports, profiles) stay in the "
  "build directory's bench/ folder.  bench/run.sh installs missing peers (bubblewrap, crun, "
  "runc, hyperfine, gnuplot-nox) through scripts/install-deps.sh; firejail is measured when "
  "installed.")

with open(os.path.join(DOCS, "benchmarks.md"), "w") as f:
    f.write("\n".join(out) + "\n")
