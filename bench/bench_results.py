"""Reading bench/'s result files: shared by bench/report.py and bench/report_v2.py."""
import glob
import os
import re


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def kv_file(path):
    """KEY=VALUE lines; the first of a repeated key wins."""
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


def round_of(path):
    """The round N of a result file named ...-rN.ext."""
    return int(re.search(r"-r(\d+)\.", path).group(1))


def api_rounds(res, mode):
    """{round: [ms, ...]} of apibench's -o files api-MODE-rN.raw (microseconds)."""
    return {round_of(f): [float(x) / 1e3 for x in read(f).split()]
            for f in glob.glob(os.path.join(res, "api-%s-r*.raw" % mode)) if read(f).split()}
