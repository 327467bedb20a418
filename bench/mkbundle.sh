#!/bin/sh
# Build the OCI bundle that the crun and runc rows run: a minimal rootfs with
# /bin/true and the libraries it needs copied from the host, and a
# config.json from `crun spec` edited to match what sbox gives a worker
# (docs/benchmarks.md, "What each row isolates"):
#   namespaces  pid, net, ipc, uts, mount, cgroup
#   cgroup      memory.max 256M, pids.max 64, devices: crun's default allow list
#   seccomp     a deny list (mount, bpf, ptrace, kexec, modules ...) -> EPERM
#   caps        none; no_new_privs; read-only root; /proc, /dev, /sys as crun
#               mounts them
# Usage: bench/mkbundle.sh DIR COMMAND [ARG...]   (an absolute COMMAND: it is
# copied to the same path in the rootfs, with its libraries when dynamic)
set -eu
dir=${1:?usage: mkbundle.sh DIR COMMAND [ARG...]}
cmd=${2:?usage: mkbundle.sh DIR COMMAND [ARG...]}
shift 2

rm -rf "$dir"
mkdir -p "$dir/rootfs"
# The command and every library ldd names, at the same paths (a static
# binary has none: ldd then fails, which is fine).
libs=$(ldd "$cmd" 2>/dev/null | grep -o '/[^ ]*' || true)
for f in "$cmd" $libs; do
	mkdir -p "$dir/rootfs$(dirname "$f")"
	cp -L "$f" "$dir/rootfs$f"
done
# Mount points exist ahead, so that a read-only root needs no mkdir.
mkdir -p "$dir/rootfs/proc" "$dir/rootfs/dev" "$dir/rootfs/sys" "$dir/rootfs/tmp"

(cd "$dir" && crun spec)
python3 - "$dir/config.json" "$cmd" "$@" <<'EOF'
import json, sys
path, args = sys.argv[1], sys.argv[2:]
c = json.load(open(path))
p = c["process"]
p["terminal"] = False
p["args"] = args
p["env"] = ["PATH=/usr/bin:/bin"]
p["noNewPrivileges"] = True
p["capabilities"] = {k: [] for k in
                     ("bounding", "effective", "inheritable", "permitted", "ambient")}
c["root"] = {"path": "rootfs", "readonly": True}
lin = c["linux"]
if not any(n["type"] == "cgroup" for n in lin["namespaces"]):
    lin["namespaces"].append({"type": "cgroup"})
lin["resources"]["memory"] = {"limit": 256 << 20}
lin["resources"]["pids"] = {"limit": 64}
deny = ["mount", "umount2", "pivot_root", "move_mount", "open_tree", "fsopen",
        "fsmount", "fsconfig", "fspick", "unshare", "setns", "bpf", "perf_event_open",
        "ptrace", "process_vm_readv", "process_vm_writev", "kexec_load",
        "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
        "swapon", "swapoff", "acct", "settimeofday", "clock_settime", "adjtimex",
        "keyctl", "add_key", "request_key", "open_by_handle_at",
        "name_to_handle_at", "userfaultfd", "iopl", "ioperm", "syslog",
        "lookup_dcookie", "quotactl", "mknod", "mknodat"]
c["linux"]["seccomp"] = {
    "defaultAction": "SCMP_ACT_ALLOW",
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "syscalls": [{"names": deny, "action": "SCMP_ACT_ERRNO", "errnoRet": 1}],
}
json.dump(c, open(path, "w"), indent=1)
EOF
