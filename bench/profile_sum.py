#!/usr/bin/env python3
"""Per-launch figures of one launch path from bench/profile.sh's raw files.

    bench/profile_sum.py N STAT STRACE SCHED ROOTS > phases-PATH.json

N launches were profiled.  STAT: `perf stat -x,` of the path's processes
(counters); STRACE: `strace -f -c -w` of them (each a comma-separated list
of files, summed: the client's and sboxd's) (wall time by syscall, so a
call that blocks shows its wait); SCHED: `perf script` of `perf record -a -g
-e sched:sched_switch -e sched:sched_process_fork` over the same kind of
run; ROOTS: the pids the launch path starts from (the driver, sboxd),
comma-separated.  Everything is divided by N: per launch.

Where a process of the launch blocks is read from the kernel stack of each
switch-out that is not a preemption, and timed until the same thread runs
again; the first frame that names a known cause classifies it.  Waits in
kernel threads (a namespace's teardown in a kworker) are off the launch
path and not counted.
"""
import json
import re
import sys

# The first of these found in the stack names the cause (so their order matters).
CAUSES = [
    ("synchronize_rcu_expedited", "RCU grace period, expedited (synchronize_rcu_expedited)"),
    ("synchronize_rcu", "RCU grace period (synchronize_rcu)"),
    ("rcu_barrier", "RCU barrier"),
    ("percpu_down_write", "cgroup attach: cgroup_threadgroup_rwsem (percpu_down_write)"),
    ("cgroup_", "cgroup (other kernel waits in cgroup code)"),
    ("do_wait", "waiting for a child to exit (wait4/waitid)"),
    ("do_epoll_wait", "waiting on another process: epoll"),
    ("do_sys_poll", "waiting on another process: poll"),
    ("unix_stream_read", "waiting on another process: socket read"),
    ("unix_stream_data_wait", "waiting on another process: socket read"),
    ("pipe_read", "waiting on another process: pipe read"),
    ("__skb_wait_for_more_packets", "waiting on another process: socket read"),
    ("futex", "futex"),
    ("mutex_lock", "a kernel mutex"),
    ("rwsem_down", "a kernel rw-semaphore"),
    ("do_exit", "exit"),
]
SCHED_FRAMES = {"__schedule", "schedule", "schedule_timeout", "schedule_preempt_disabled",
                "io_schedule", "schedule_hrtimeout_range_clock", "schedule_hrtimeout_range",
                "wait_for_completion", "wait_for_common", "__wait_for_common"}
HDR = re.compile(r"^\s*(\S.*?)\s+(\d+)/(\d+)\s+([\d.]+):\s+(\S+):\s+(.*)$")


# A lock's own frames: the caller past them says which lock it was.
LOCKISH = ("schedule", "mutex", "rwsem", "down_", "_lock", "lock_", "wait_for", "completion")


def caller_past_locks(stack):
    return next((f for f in stack if not any(k in f for k in LOCKISH)
                 and f not in SCHED_FRAMES and not f.startswith("[")), "?")


def cause_of(stack):
    """The first cause of CAUSES found anywhere in the stack: a mutex taken
    inside synchronize_rcu_expedited is the grace period's wait."""
    for key, label in CAUSES:
        if any(key in frame for frame in stack):
            if label.startswith("a kernel"):
                return "%s, in %s" % (label, caller_past_locks(stack))
            return label
    return "other: " + caller_past_locks(stack)


def events(lines):
    """(pid, tid, time, event, trace, kernel stack) per perf script record."""
    cur = None
    for line in lines:
        m = HDR.match(line)
        if m:
            if cur:
                yield cur
            cur = (int(m.group(2)), int(m.group(3)), float(m.group(4)), m.group(5),
                   m.group(6), [])
        elif cur and line.strip():
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[0].startswith("ffffffff"):
                cur[5].append(parts[1].split("+")[0].strip())
    if cur:
        yield cur


def field(trace, name):
    m = re.search(r"\b%s=(\S+)" % name, trace)
    return m.group(1) if m else None


def sched(path, roots, n):
    tree = set(roots)
    open_blocks = {}
    blocked, counts, forks = {}, {}, 0
    preempted = 0.0
    with open(path, errors="replace") as f:
        for pid, tid, t, ev, trace, stack in events(f):
            if ev.endswith("sched_process_fork"):
                if pid in tree:
                    tree.add(int(field(trace, "child_pid")))
                    forks += 1
                continue
            if not ev.endswith("sched_switch"):
                continue
            nxt = int(field(trace, "next_pid") or -1)
            if nxt in open_blocks:
                t0, cause = open_blocks.pop(nxt)
                if cause is None:
                    preempted += t - t0
                else:
                    blocked[cause] = blocked.get(cause, 0.0) + t - t0
                    counts[cause] = counts.get(cause, 0) + 1
            if pid in tree or tid in tree:
                state = field(trace, "prev_state") or "?"
                open_blocks[tid] = (t, None if state.startswith("R") else cause_of(stack))
    return {
        "processes_per_launch": round((len(tree) - len(roots)) / n, 2),
        "forks_per_launch": round(forks / n, 2),
        "preempted_ms_per_launch": round(preempted * 1e3 / n, 3),
        "blocked": {c: {"ms_per_launch": round(v * 1e3 / n, 3),
                        "times_per_launch": round(counts[c] / n, 2)}
                    for c, v in sorted(blocked.items(), key=lambda kv: -kv[1])},
    }


def stat(paths, n):
    """perf stat -x, lines (value,unit,event,...), summed over the files."""
    tot = {}
    for line in lines_of(paths):
        p = line.split(",")
        if len(p) < 3 or line.startswith("#"):
            continue
        try:
            v = float(p[0])
        except ValueError:
            continue
        tot[p[2]] = tot.get(p[2], 0.0) + v
    return {k: round(v / n, 3) for k, v in tot.items()}


def lines_of(paths):
    """The lines of each existing file of a comma-separated list."""
    for path in paths.split(","):
        try:
            yield from open(path).read().splitlines()
        except OSError:
            pass


def strace(paths, n):
    """strace -c -w tables, summed: per syscall, calls and wall ms per launch."""
    calls, secs = {}, {}
    for line in lines_of(paths):
        p = line.split()
        if len(p) < 5 or not re.match(r"^[\d.]+$", p[0]) or p[-1] == "total":
            continue
        try:
            s, c = float(p[1]), int(p[3])
        except ValueError:
            continue
        calls[p[-1]] = calls.get(p[-1], 0) + c
        secs[p[-1]] = secs.get(p[-1], 0.0) + s
    rows = [{"syscall": k, "calls_per_launch": round(calls[k] / n, 2),
             "wall_ms_per_launch": round(secs[k] * 1e3 / n, 3)} for k in calls]
    rows.sort(key=lambda r: -r["wall_ms_per_launch"])
    return rows


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    n = int(sys.argv[1])
    roots = [int(x) for x in sys.argv[5].split(",") if x]
    res = {"n": n, "counters": stat(sys.argv[2], n), "syscalls": strace(sys.argv[3], n)}
    try:
        res["sched"] = sched(sys.argv[4], roots, n)
    except OSError:
        pass
    json.dump(res, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
