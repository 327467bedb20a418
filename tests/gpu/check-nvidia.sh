#!/usr/bin/env bash
# For a machine with a real NVIDIA GPU, by hand (never in CI), as root:
#
#   tests/gpu/check-nvidia.sh [RELEASE_BUILD]
#
# 1. inside `sboxrun --gpu 0`, nvidia-smi -L lists exactly one GPU;
# 2. a GPU the sandbox was not granted, its node bound in anyway, can't be
#    opened: the device cgroup says EPERM;
# 3. a Python worker of sbox.get_context(gpus=1) sees one device
#    (nvidia-smi -L, and torch.cuda where a CUDA build of torch exists).
set -u -o pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
release=${1:-$top/build/release}
sboxrun=$release/sboxrun
py=/usr/bin/python3
fail=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; fail=1; }

command -v nvidia-smi >/dev/null || { echo "no nvidia-smi: not an NVIDIA machine"; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run as root (GPUs= is root's, or sboxd's)"; exit 2; }
echo "host: $(nvidia-smi -L | wc -l) GPU(s)"; nvidia-smi -L

out=$("$sboxrun" --gpu 0 -- nvidia-smi -L 2>&1); n=$(printf '%s\n' "$out" | grep -c '^GPU ')
printf '%s\n' "$out" | sed 's/^/    /'
[ "$n" = 1 ] && ok "sboxrun --gpu 0: nvidia-smi -L lists 1 GPU" || bad "sboxrun --gpu 0: nvidia-smi -L lists $n GPUs"

# The denied GPU: the last one with --gpu 0 when there are several, else
# GPU 0 itself with no grant; its node is bound in so that only the
# device cgroup stands between the worker and it.
last=$(( $(nvidia-smi -L | wc -l) - 1 ))
if [ "$last" -gt 0 ]; then grant=(--gpu 0); denied=/dev/nvidia$last; else grant=(); denied=/dev/nvidia0; fi
open_it='import errno, os, sys
try:
    os.close(os.open(sys.argv[1], os.O_RDWR)); print("opened")
except OSError as e:
    print(errno.errorcode[e.errno])'
got=$("$sboxrun" "${grant[@]}" --ro-bind "$denied:$denied" -- $py -c "$open_it" "$denied" 2>&1)
[ "$got" = EPERM ] && ok "denied $denied: EPERM" || bad "denied $denied: $got (want EPERM)"

cat > /tmp/sbox-gpu-check.py <<'PY'
import os, subprocess, sys
sys.path.insert(0, sys.argv[1])
import sbox
def look(q):
    lines = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout.splitlines()
    n_torch = None
    try:
        import torch
        if torch.version.cuda:
            n_torch = torch.cuda.device_count()
    except ImportError:
        pass
    q.put((os.environ.get("CUDA_VISIBLE_DEVICES"), [l for l in lines if l.startswith("GPU ")], n_torch))
if __name__ == "__main__":
    ctx = sbox.get_context(gpus=1)
    q = ctx.Queue()
    p = ctx.Process(target=look, args=(q,))
    p.start()
    cvd, gpus, n_torch = q.get(timeout=120)
    p.join()
    print("CUDA_VISIBLE_DEVICES=%s nvidia-smi: %s torch: %s" % (cvd, gpus, n_torch))
    sys.exit(0 if len(gpus) == 1 and n_torch in (None, 1) else 1)
PY
if $py /tmp/sbox-gpu-check.py "$top/python"; then ok "python worker gpus=1 sees one device"
else bad "python worker gpus=1"; fi
rm -f /tmp/sbox-gpu-check.py
exit $fail
