#!/usr/bin/env bash
# make test-slurm: the sbox SPANK plugin on a real one-node Slurm cluster on
# this machine (tests/slurm/cluster.sh: munged, slurmctld, slurmd from
# Debian's packages, fake GPUs as gres).  Jobs run as the unprivileged user
# nobody.  Every daemon started here is stopped on any exit.  Run as root:
#
#   tests/slurm/run.sh BUILD_DIR        (BUILD_DIR holds sboxrun and spank_sbox.so)
#
# Prints "N passed, N failed" last; exits non-zero when a check failed.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-build/release}" && pwd)
# shellcheck source=tests/slurm/cluster.sh
. "$top/tests/slurm/cluster.sh"

for c in munged slurmctld slurmd srun sbatch scancel setpriv; do
	command -v "$c" >/dev/null || { echo "test-slurm: $c missing: run scripts/install-deps.sh --slurm"; echo "0 passed, 1 failed"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "test-slurm: run as root"; exit 1; }

# Not under /tmp: the sandbox's private /tmp would hide the fake GPU nodes.
dir=$(mktemp -d /var/tmp/sbox-slurm.XXXXXX)
chmod 755 "$dir"
cleanup() {
	scancel --quiet --user=nobody 2>/dev/null || true
	cluster_stop
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A world-readable copy: the checkout may be in a directory nobody can't
# enter (srun, as nobody, loads the plugin too).
mkdir -p "$dir/bin" "$dir/work"
cp "$build/sboxrun" "$build/spank_sbox.so" "$dir/bin/"
chmod 755 "$dir/bin" "$dir/bin/"*
chmod 1777 "$dir/work"

mounts_before=$(grep -c . /proc/self/mountinfo)
# The site policy (plugstack.conf policy=) binds two fake GPU nodes into
# every sandbox read-only, where the device cgroup, not /dev, decides:
# the allocated GPU's opens (ENXIO: no driver), another's is refused (EPERM).
fake=$dir/cluster/fake/dev
mkdir -p "$dir/etc"
printf '[Sandbox]\nBindReadOnlyPaths=%s/nvidia0:/tmp/gpu0 %s/nvidia1:/tmp/gpu1\nInaccessiblePaths=/etc/issue\n' "$fake" "$fake" \
	>"$dir/etc/slurm.policy"
chmod 755 "$dir/etc"; chmod 644 "$dir/etc/slurm.policy"
cluster_start "$dir/cluster" "$dir/bin/spank_sbox.so" "$dir/bin/sboxrun" \
	"gres_conf=$dir/cluster/etc/gres.conf" "policy=$dir/etc/slurm.policy" || { echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
nok() { failed=$((failed + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/       | /'; }
# A checker program's "ok   - " and "FAIL - " lines, counted as this run's;
# its stderr ($dir/NAME.log) is a failure's detail.
checker_lines() {
	local name=$1 line
	shift
	while IFS= read -r line; do
		case $line in
		"ok   - "*) ok "${line#ok   - }" ;;
		"FAIL - "*) nok "${line#FAIL - }" "$(cat "$dir/$name.log")" ;;
		esac
	done < <("$@" 2>"$dir/$name.log")
}
# as_user CMD...: run as nobody in the work dir; output in $out, status in $rc.
as_user() {
	out=$(cd "$dir/work" && timeout 120 setpriv --reuid nobody --regid nogroup --clear-groups \
		env SLURM_CONF="$SLURM_CONF" "$@" 2>&1)
	rc=$?
}
expect() { # NAME WANTED_RC(or any) GREP_REGEX [NOT_REGEX]
	if { [ "$2" = any ] || [ "$rc" = "$2" ]; } && grep -qE -- "$3" <<<"$out" && { [ -z "${4:-}" ] || ! grep -qE -- "$4" <<<"$out"; }; then
		ok "$1"
	else
		nok "$1 (rc=$rc, want $2)" "$out"
	fi
}

host_pidns=$(readlink /proc/self/ns/pid)
host_pidns_re=$(sed 's/[][]/\\&/g' <<<"$host_pidns")
export SBOX_T_FOO=bar

as_user srun -n1 sh -c 'readlink /proc/self/ns/pid; touch /var/tmp/.sbox-slurm-probe-$$ && echo WROTE && rm -f /var/tmp/.sbox-slurm-probe-$$'
expect "without --sbox the plugin does nothing (host pid ns, writable root)" 0 "^$host_pidns_re\$" ""
grep -q WROTE <<<"$out" || nok "without --sbox: the host's /var/tmp writable" "$out"

as_user srun -n1 --sbox sh -c 'readlink /proc/self/ns/pid; echo "pid=$$"; id -un; touch /var/tmp/x 2>&1; exit 7'
expect "--sbox: own pid ns, worker is pid 2, the job's user, read-only root, exit code kept" 7 \
	"Read-only file system" "$host_pidns_re"
grep -q '^pid=2$' <<<"$out" && grep -q '^nobody$' <<<"$out" || nok "--sbox: pid 2 and user nobody" "$out"

as_user srun -n2 --sbox sh -c 'echo "task $SLURM_PROCID of $SLURM_NTASKS job $SLURM_JOB_ID foo=$SBOX_T_FOO"'
expect "--sbox: every task sandboxed, SLURM_* and the user's exports reach the worker" 0 \
	"task 1 of 2 job [0-9]+ foo=bar"
grep -q "task 0 of 2" <<<"$out" || nok "--sbox: task 0 too" "$out"

as_user srun -n1 --sbox sh -c 'ls /dev | grep -c "^nvidia[0-9]"; echo "cvd=$CUDA_VISIBLE_DEVICES"'
expect "no gres: no GPU node in /dev, no CUDA_VISIBLE_DEVICES" 0 "^0$" "cvd=.+"

as_user srun -n1 --gres=gpu:1 --sbox sh -c "echo gpus=\$SLURM_STEP_GPUS; ls /dev | grep '^nvidia[0-9]'; echo cvd=\$CUDA_VISIBLE_DEVICES; cat /tmp/gpu0 2>&1; cat /tmp/gpu1 2>&1; true"
expect "gpu:1: only gres 0's node (nvidia0) in /dev, its UUID in CUDA_VISIBLE_DEVICES" 0 \
	"cvd=GPU-0a1b2c3d-0000-4000-8000-000000000000$"
grep -qx nvidia0 <<<"$out" && ! grep -qx nvidia1 <<<"$out" && grep -q "gpu1: Operation not permitted" <<<"$out" &&
	grep -q "gpu0: No such device or address" <<<"$out" && ok "gpu:1: the granted node opens (ENXIO, fake), another GPU's is refused (EPERM)" ||
	nok "gpu:1: granted node ENXIO, others EPERM" "$out"
as_user srun -n1 --sbox sh -c "cat /tmp/gpu0 2>&1; true"
expect "no gres: every GPU node refused (EPERM)" 0 "gpu0: Operation not permitted"

# Hostile: the job's environment names GPUs Slurm did not allocate.  The
# step's own variable is Slurm's (set, or unset when the step has none);
# the other one, and a batch step's copy of the step's, are the user's.
as_user env SLURM_JOB_GPUS=0,1,2,3 srun -n1 --sbox sh -c 'ls /dev | grep -c "^nvidia[0-9]"; cat /tmp/gpu0 2>&1; echo "cvd=$CUDA_VISIBLE_DEVICES"; true'
expect "hostile: SLURM_JOB_GPUS=0,1,2,3 exported into a step without gres grants nothing" 0 \
	"gpu0: Operation not permitted" "cvd=.+|No such device"
as_user env SLURM_JOB_GPUS=0,1,2,3 srun -n1 --gres=gpu:1 --sbox sh -c 'ls /dev | grep "^nvidia[0-9]" | tr "\n" " "; echo; true'
expect "hostile: SLURM_JOB_GPUS=0,1,2,3 with gres gpu:1: only the step's GPU" 0 "^nvidia0 $" "nvidia[123]"
printf '#!/bin/sh\nls /dev | grep -c "^nvidia[0-9]"; cat /tmp/gpu0 2>&1; echo "cvd=$CUDA_VISIBLE_DEVICES"\n' >"$dir/work/spoof.sh"
chmod 755 "$dir/work/spoof.sh"
as_user env SLURM_STEP_GPUS=0,1 SLURM_JOB_GPUS=0,1 sbatch --wait -o "$dir/work/spoof.out" --sbox "$dir/work/spoof.sh"
out=$(cat "$dir/work/spoof.out" 2>&1)
expect "hostile: a batch job without gres, SLURM_STEP_GPUS and SLURM_JOB_GPUS exported, grants nothing" 0 \
	"gpu0: Operation not permitted" "cvd=.+|No such device"

as_user env SLURM_STEP_GPUS=0,1,2,3 sbatch --wait --gres=gpu:1 -o "$dir/work/spoof1.out" --sbox "$dir/work/spoof.sh"
out=$(cat "$dir/work/spoof1.out" 2>&1)
expect "hostile: a batch job with gres gpu:1, SLURM_STEP_GPUS=0,1,2,3 exported: its one GPU only" 0 \
	"^1$" "cvd=.*,"
grep -q "gpu0: No such device or address" <<<"$out" && grep -q "cvd=GPU-0a1b2c3d-0000-4000-8000-000000000000$" <<<"$out" ||
	nok "batch gres gpu:1: gres 0 granted" "$out"

# Hostile: the interactive step (srun --interactive, salloc's
# use_interactive_step) gets the job's GPU variables from slurmstepd, as
# the batch script does: its SLURM_STEP_GPUS is the submitter's.
as_user env SLURM_STEP_GPUS=0,1,2,3 srun -n1 --interactive --sbox sh -c 'echo "step=$SLURM_STEP_ID"; ls /dev | grep -c "^nvidia[0-9]"; cat /tmp/gpu0 2>&1; echo "cvd=$CUDA_VISIBLE_DEVICES"; true'
expect "hostile: the interactive step without gres, SLURM_STEP_GPUS=0,1,2,3 exported, grants nothing" 0 \
	"gpu0: Operation not permitted" "cvd=.+|No such device|^[1-9]$"
grep -q '^step=4294967290$' <<<"$out" || nok "srun --interactive: the interactive step" "$out"
as_user env SLURM_STEP_GPUS=0,1,2,3 srun -n1 --interactive --gres=gpu:1 --sbox sh -c 'ls /dev | grep "^nvidia[0-9]" | tr "\n" " "; echo; echo "cvd=$CUDA_VISIBLE_DEVICES"'
expect "the interactive step with gres gpu:1: the job's GPU (SLURM_JOB_GPUS), only it" 0 \
	"cvd=GPU-0a1b2c3d-0000-4000-8000-000000000000$" "nvidia[123]"

# gres 2 is nvidia2 (minor 2), which is sbox's GPU 3 (bus order): the
# mapping goes by node, not by index.
as_user srun -n1 --gres=gpu:3 --sbox sh -c 'ls /dev | grep "^nvidia[0-9]" | tr "\n" " "; echo; echo "cvd=$CUDA_VISIBLE_DEVICES"'
expect "gpu:3: nvidia0-2 and not nvidia3, UUIDs by node (gres 2 = sbox GPU 3)" 0 \
	"^nvidia0 nvidia1 nvidia2 $" "nvidia3"
grep -q "GPU-c0ffee00-0000-4000-8000-000000000003" <<<"$out" || nok "gpu:3: gres 2's UUID" "$out"

pol=$dir/work/limits.policy
printf '[Sandbox]\n# a job policy\nTasksMax=6\nMemoryMax=48M\n' >"$pol"
chmod 644 "$pol"
as_user srun -n1 --sbox-policy="$pol" sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 2 & done 2>&1; wait; echo done'
expect "--sbox-policy: TasksMax=6 enforced (fork fails)" any "can't fork|Resource temporarily unavailable|Cannot fork"
as_user srun -n1 --sbox-policy="$pol" python3 -c 'b = bytearray(200 * 1024 * 1024); print("allocated")'
expect "--sbox-policy: MemoryMax=48M enforced (OOM kill, exit 137)" 137 "out of memory" "allocated"

as_user srun -n1 --sbox-set=TasksMax=5 --sbox-set=Environment=SBOX_T_SET=yes sh -c 'echo "set=$SBOX_T_SET"; for i in 1 2 3 4 5 6 7 8; do sleep 2 & done 2>&1; wait'
expect "--sbox-set, repeated: both directives apply" any "set=yes"
grep -qE "can't fork|Resource temporarily unavailable|Cannot fork" <<<"$out" || nok "--sbox-set TasksMax=5 enforced" "$out"

# Hostile: more --sbox-set values than the remote side reads (64 KiB)
# were cut to the last one alone, silently: TasksMax=5 first, then 5000
# harmless ones, and the task ran without its limit.
many_sets=$(printf -- ' --sbox-set=Environment=SBOX_T_%d=1' $(seq 5000))
as_user srun -n1 --sbox-set=TasksMax=5 $many_sets sh -c 'echo RAN'
expect "hostile: --sbox-set values over 64 KiB together refused at submission, never run" any \
	"over 65535 bytes" "^RAN$"
[ "$rc" != 0 ] || nok "hostile: --sbox-set values over 64 KiB: srun exited 0" "$out"
as_user env SBOX_SLURM_SETS="TasksMax=5$(printf '\nEnvironment=SBOX_T_%d=1' $(seq 4000))" \
	srun -n1 --sbox sh -c 'echo RAN'
expect "hostile: a joined --sbox-set list over 64 KiB in the job's environment refused, never run" any \
	"over 65535 bytes together" "^RAN$"
[ "$rc" != 0 ] || nok "hostile: a joined --sbox-set list over 64 KiB: srun exited 0" "$out"

as_user srun -n1 --sbox-set=BindPaths=/etc:/mnt sh -c 'echo RAN'
expect "--sbox-set BindPaths=: refused (the site's), the task never runs" 1 "BindPaths= is the site's" "^RAN$"
as_user srun -n1 --sbox-set=User=0 sh -c 'echo RAN'
expect "--sbox-set User=0: refused, the task never runs" 1 "User= is the site's" "^RAN$"

# Hostile: the job loosening what sboxd's bounds keep for any client, or
# resetting the site's policy= lists.
as_user srun -n1 --sbox sh -c 'cat /etc/issue 2>&1; true'
expect "the site's policy=: InaccessiblePaths=/etc/issue holds in the job" 0 "Permission denied"
as_user srun -n1 --sbox-set=InaccessiblePaths= sh -c 'cat /etc/issue; echo RAN'
expect "hostile: --sbox-set=InaccessiblePaths= (resetting the site's masks) refused, never run" 1 \
	"an empty value would reset the site's list" "^RAN$"
as_user srun -n1 --sbox-set=SeccompProfile=none sh -c 'echo RAN'
expect "hostile: --sbox-set=SeccompProfile=none refused, never run" 1 "never turn the filter off" "^RAN$"
as_user srun -n1 --sbox-set="SystemCallFilter=getpid unshare" sh -c 'echo RAN'
expect "hostile: --sbox-set=SystemCallFilter=getpid unshare (lifting a deny) refused, never run" 1 \
	"a job may only add denials" "^RAN$"
as_user srun -n1 --sbox-set="SystemCallFilter=~@clock ptrace" sh -c 'echo RAN'
expect "a deny line (~ first, the whole line denied) is a job's" 0 "^RAN$"
as_user srun -n1 --sbox-set=NoNewPrivileges=no sh -c 'echo RAN'
expect "hostile: --sbox-set=NoNewPrivileges=no refused, never run" 1 "no_new_privs stays on" "^RAN$"
as_user srun -n1 --sbox-set=LimitRTPRIO=99 sh -c 'echo RAN'
expect "hostile: --sbox-set=LimitRTPRIO=99 refused (the site's), never run" 1 "LimitRTPRIO= is the site's" "^RAN$"
printf '[Sandbox]\nLimitNICE=40\n' >"$dir/work/nice.policy"
chmod 644 "$dir/work/nice.policy"
as_user srun -n1 --sbox-policy="$dir/work/nice.policy" sh -c 'echo RAN'
expect "hostile: LimitNICE=40 in the job's policy file refused, never run" 1 "LimitNICE= is the site's" "^RAN$"
# Hostile: a hard limit past what an unsandboxed task could have.  Slurm
# sets a task's rlimits as the user, so slurmstepd's (slurmd's) hard limits
# are its ceiling; sboxrun runs as root and could set any (--cap-limits).
nofile_hard=$(awk '/^Max open files/ { print $5 }' "/proc/$(cat "$dir/cluster/slurmd.pid")/limits")
as_user srun -n1 --sbox-set="LimitNOFILE=64:$((nofile_hard + 1))" sh -c 'echo RAN'
expect "hostile: --sbox-set=LimitNOFILE= hard above slurmd's ($nofile_hard) refused, never run" any \
	"LimitNOFILE: a hard limit above sboxrun's own \($nofile_hard\) is past --cap-limits" "^RAN$"
printf '[Sandbox]\nLimitNOFILE=infinity\n' >"$dir/work/nofile.policy"
chmod 644 "$dir/work/nofile.policy"
as_user srun -n1 --sbox-policy="$dir/work/nofile.policy" sh -c 'echo RAN'
expect "hostile: LimitNOFILE=infinity in the job's policy file refused, never run" any \
	"a hard limit above sboxrun's own" "^RAN$"
as_user srun -n1 --sbox-set="LimitNOFILE=64:$nofile_hard" sh -c 'ulimit -Sn; ulimit -Hn'
expect "a job's LimitNOFILE= up to slurmd's own is set as asked" 0 "^$nofile_hard$" "cap-limits"
as_user srun -n1 --sbox-set="SystemCallFilter=~getcwd:ENOSYS" --sbox-set=SeccompProfile=strict sh -c 'echo RAN'
expect "a job's denials and the strict profile still its own" 0 "^RAN$"

# Hostile (another user of the node): a job's policy file is the user's
# own (0600); its Environment= values must not show in sboxrun's command
# line, which /proc/PID/cmdline shows everyone.
printf '[Sandbox]\nEnvironment=SBOX_T_KEY=s3cr3t-k3y\n' >"$dir/work/key.policy"
chown nobody "$dir/work/key.policy"
chmod 600 "$dir/work/key.policy"
(cd "$dir/work" && timeout 60 setpriv --reuid nobody --regid nogroup --clear-groups \
	env SLURM_CONF="$SLURM_CONF" srun -n1 --sbox-policy="$dir/work/key.policy" \
	sh -c 'echo "key=$SBOX_T_KEY"; sleep 4' >"$dir/work/key.out" 2>&1) &
key_job=$!
seen=
for _ in $(seq 30); do
	sleep 0.1
	pgrep -f sbox-job-policy >/dev/null 2>&1 || pgrep -x sboxrun >/dev/null 2>&1 || continue
	break
done
sleep 1
for f in /proc/[0-9]*/cmdline; do
	tr '\0' ' ' <"$f" 2>/dev/null | grep -q 's3cr3t-k3y' && seen="$seen $(tr '\0' ' ' <"$f")"
done
wait "$key_job"
out=$(cat "$dir/work/key.out"); rc=0
if [ -z "$seen" ] && grep -q '^key=s3cr3t-k3y$' <<<"$out"; then
	ok "hostile: a job policy's Environment= value reaches the worker, in no process's command line"
else
	nok "a job policy's secret: seen in [$seen]" "$out"
fi

secret=$dir/work/root-only.policy
printf '[Sandbox]\nTasksMax=6\n' >"$secret"
chmod 600 "$secret"
as_user srun -n1 --sbox-policy="$secret" sh -c 'echo RAN'
expect "--sbox-policy: a file the user can't read is refused" 1 "can't open it as the job's user: Permission denied" "^RAN$"

# Hostile: a file only group root may read (root's supplementary groups
# must not open it for the job), and a FIFO nobody writes (no hang).
grp=$dir/work/group-root.policy
printf '[SECRET-FIRST-LINE]\n' >"$grp"
chown root:root "$grp"
chmod 640 "$grp"
as_user srun -n1 --sbox-policy="$grp" sh -c 'echo RAN'
expect "hostile: --sbox-policy of a root:root 0640 file refused, its first line never shown" 1 \
	"can't open it as the job's user: Permission denied" "SECRET-FIRST-LINE|^RAN$"
mkfifo "$dir/work/fifo.policy"
chmod 666 "$dir/work/fifo.policy"
as_user srun -n1 --sbox-policy="$dir/work/fifo.policy" sh -c 'echo RAN'
expect "hostile: --sbox-policy of a FIFO refused at once, not waited on" 1 "not a regular file" "^RAN$"

# Hostile: the job's input quoted in slurmd's log (root's) must not start
# a line of the job's own making there.
as_user srun -n1 --sbox-policy=$'/nonexistent\n[2026-01-01T00:00:00.000] error: SBOX-FORGED-LINE' sh -c 'echo RAN'
expect "hostile: a newline in --sbox-policy is shown as \\x0a, never a line of the job's in slurmd's log" 1 \
	'nonexistent\\x0a\[2026' "^RAN$"
grep -q '^\[2026-01-01T00:00:00.000\] error: SBOX-FORGED-LINE' "$dir/cluster/log/slurmd.log" &&
	nok "hostile: a line forged into slurmd's log" "$(grep -n SBOX-FORGED-LINE "$dir/cluster/log/slurmd.log")"

as_user srun -n1 --sbox-set=AllowedCPUs=4000 sh -c 'echo RAN'
expect "a sandbox that can't be built: sbox's message in the job's stderr, never run unsandboxed" 125 \
	"sboxrun: .*AllowedCPUs" "^RAN$"

# The job's environment must not reach sboxrun (root) as the loader's: a
# preloaded library that would run as root marks a file.  The worker (the
# user) gets LD_PRELOAD all the same.
if command -v cc >/dev/null; then
	printf '#include <stdio.h>\n#include <unistd.h>\n__attribute__((constructor)) static void evil(void) { if (geteuid() == 0) { FILE *f = fopen("%s/pwned", "a"); if (f) { fprintf(f, "%%d\\n", (int)getpid()); fclose(f); } } }\n' \
		"$dir" >"$dir/evil.c"
	cc -shared -fPIC -o "$dir/work/evil.so" "$dir/evil.c" && chmod 755 "$dir/work/evil.so"
	as_user env LD_PRELOAD="$dir/work/evil.so" srun -n1 --sbox sh -c 'echo "preload=$LD_PRELOAD"'
	if [ "$rc" = 0 ] && grep -q "preload=$dir/work/evil.so" <<<"$out" && [ ! -e "$dir/pwned" ]; then
		ok "a job's LD_PRELOAD never runs as root (sboxrun's environment is clean), the worker still gets it"
	else
		nok "LD_PRELOAD from the job reached a root process" "$out
pwned: $(cat "$dir/pwned" 2>/dev/null)"
	fi
fi

# Hostile: libnl (linked into sboxrun) obeys NLDBG and NLCB: a job's
# values must not make root sboxrun print its heap addresses and netlink
# traffic on the job's stderr.  The worker still gets them.
as_user env NLDBG=5 NLCB=debug srun -n1 --sbox sh -c 'echo "nldbg=$NLDBG nlcb=$NLCB"'
expect "hostile: a job's NLDBG/NLCB never drive root sboxrun's libnl, the worker still gets them" 0 \
	"^nldbg=5 nlcb=debug$" "DBG<|NETLINK MESSAGE"

# scancel reaches the worker: TERM, trapped, and the worker's exit code.
(cd "$dir/work" && setpriv --reuid nobody --regid nogroup --clear-groups env SLURM_CONF="$SLURM_CONF" \
	timeout 120 srun -n1 --sbox -J sbox-scancel sh -c 'trap "echo got-TERM; exit 3" TERM; echo started; while :; do sleep 0.1; done' \
	>"$dir/work/scancel.out" 2>&1; echo "rc=$?" >>"$dir/work/scancel.out") &
bg=$!
for _ in $(seq 100); do grep -q started "$dir/work/scancel.out" 2>/dev/null && break; sleep 0.1; done
jid=$(squeue -h -n sbox-scancel -o %i | head -1)
scancel --signal=TERM "$jid" 2>/dev/null
wait "$bg"
out=$(cat "$dir/work/scancel.out")
grep -q got-TERM <<<"$out" && grep -q "rc=3" <<<"$out" && ok "scancel --signal=TERM reaches the worker; srun exits with its code" ||
	nok "scancel reaches the worker" "$out"

# srun forwards SIGUSR1 to the tasks; sboxrun itself forwards only INT,
# TERM, HUP and QUIT, so the plugin hands USR1 to the worker directly.
(cd "$dir/work" && exec setpriv --reuid nobody --regid nogroup --clear-groups env SLURM_CONF="$SLURM_CONF" \
	srun -n1 --sbox sh -c 'trap "echo got-USR1; exit 4" USR1; echo started; while :; do sleep 0.1; done' \
	>"$dir/work/usr1.out" 2>&1) &
bg=$!
for _ in $(seq 100); do grep -q started "$dir/work/usr1.out" 2>/dev/null && break; sleep 0.1; done
kill -USR1 "$bg"
( sleep 30; kill -KILL "$bg" 2>/dev/null ) &
guard=$!
wait "$bg"
rc=$?
kill "$guard" 2>/dev/null
out=$(cat "$dir/work/usr1.out")
expect "srun's SIGUSR1 reaches the worker (not sboxrun), srun exits with its code" 4 "got-USR1"

cat >"$dir/work/batch.sh" <<BATCH
#!/bin/sh
#SBATCH --sbox-policy=$pol
#SBATCH -o $dir/work/batch.out
readlink /proc/self/ns/pid
echo "batch pid=\$\$"
touch /var/tmp/x 2>&1
exit 5
BATCH
chmod 755 "$dir/work/batch.sh"
as_user sbatch --wait "$dir/work/batch.sh"
echo "$out" >"$dir/work/sbatch.out"
[ "$rc" = 5 ] && ok "sbatch --wait: the batch job's exit code is the sandboxed script's (5)" ||
	nok "batch exit code (rc=$rc, want 5)" "$out"
out=$(cat "$dir/work/batch.out" 2>&1)
grep -q "Read-only file system" <<<"$out" && ! grep -q "$host_pidns" <<<"$out" &&
	ok "#SBATCH --sbox-policy: the batch script runs in a sandbox" || nok "#SBATCH --sbox-policy" "$out
sbatch: $(cat "$dir/work/sbatch.out" 2>/dev/null)"

# plugstack.conf's `required`: every task sandboxed, no option needed.
# slurmstepd and srun read plugstack.conf afresh for each step.
pstack=$dir/cluster/etc/plugstack.conf
cp "$pstack" "$pstack.orig"
sed -i 's/$/ required/' "$pstack"
as_user srun -n1 sh -c 'readlink /proc/self/ns/pid; touch /var/tmp/x 2>&1; true'
expect "plugstack.conf required: a step without --sbox is sandboxed" 0 "Read-only file system" "$host_pidns_re"
cp "$pstack.orig" "$pstack"

# Hostile: on cgroup v1 sbox takes one cgroup path for every hierarchy.
# With ConstrainRAMSpace=no the task's memory cgroup is slurmd's, its
# cpuset and freezer the step's: a sandbox under the memory path left the
# step's cpuset (taskset reached every CPU) and proctrack's freezer.
cg=$dir/cluster/etc/cgroup.conf
cp "$cg" "$cg.orig"
sed -i 's/^ConstrainRAMSpace=yes/ConstrainRAMSpace=no/; s/^ConstrainCores=no/ConstrainCores=yes/' "$cg"
if cluster_restart_slurmd; then
	as_user srun -n1 -c1 --sbox sh -c 'taskset -pc 0-$(($(nproc --all) - 1)) $$; echo RAN'
	expect "hostile: task cgroups that don't nest (ConstrainRAMSpace=no, ConstrainCores=yes) refused, never run outside the step's cpuset" \
		1 "cgroups in Slurm's hierarchies must nest" "^RAN$"
else
	nok "slurmd restarted with ConstrainRAMSpace=no"
fi
cp "$cg.orig" "$cg"
cluster_restart_slurmd || nok "slurmd restarted with the cluster's cgroup.conf"

# Nothing left behind: no job or step cgroup, no process in the cluster's
# cgroups, no mount added.
for _ in $(seq 50); do
	left=$(find /sys/fs/cgroup/*/slurm_* -mindepth 2 -type d -name 'job_*' 2>/dev/null)
	[ -z "$left" ] && break
	sleep 0.2
done
procs=$(grep -l "slurm_.*/job_" /proc/[0-9]*/cgroup 2>/dev/null | sed 's|/proc/||; s|/cgroup||' |
	while read -r p; do [ "$(awk '/^State:/{print $2}' "/proc/$p/status" 2>/dev/null)" = Z ] || echo "$p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"; done)
# Sandboxes mount in their own namespaces: a mount of ours in the host's
# would be a leak (other users of the machine may add theirs meanwhile).
mounts=$(grep -F -- "$dir" /proc/self/mountinfo)
mounts_after=$(grep -c . /proc/self/mountinfo)
[ -z "$left" ] && [ -z "$procs" ] && [ -z "$mounts" ] &&
	ok "nothing left after the steps: cgroups, processes, mounts" ||
	nok "something left behind" "cgroups: $left
processes: $procs
mounts: $mounts ($mounts_before lines before, $mounts_after after)"

# Hostile: the task killed between handing the helper its description and
# the helper's join (a user's SIGKILL to its own task): the helper must
# not join whoever inherited it (outside Slurm's cgroup) and run there.
# Deterministic, outside the cluster: tests/slurm/join_check.c drives
# slurm/cgroups.c with a task it kills first.
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
	jc_cg=/sys/fs/cgroup/sbox-joincheck.$$
else
	jc_cg=/sys/fs/cgroup/pids/sbox-joincheck.$$
fi
if ${CC:-cc} -std=gnu11 -D_GNU_SOURCE -I"$top" -Wall -Wextra -Werror -o "$dir/join_check" \
	"$top/tests/slurm/join_check.c" "$top/tests/slurm/task_error_stub.c" "$top/slurm/cgroups.c" 2>"$dir/join_check.err" && mkdir "$jc_cg"; then
	checker_lines join_check "$dir/join_check" "$jc_cg"
	rmdir "$jc_cg"
else
	nok "join_check: can't build it or make $jc_cg" "$(cat "$dir/join_check.err")"
fi

# gres.conf as slurmd reads it (other nodes' records, hostlists, the
# order of Name= and NodeName= lines): tests/slurm/gres_check.c drives
# slurm/gres_conf.c with libslurm's hostlist, as the plugin has it.
mkdir -p "$dir/gres_check"
if ${CC:-cc} -std=gnu11 -D_GNU_SOURCE -I"$top" -Wall -Wextra -Werror -o "$dir/gres_check.bin" \
	"$top/tests/slurm/gres_check.c" "$top/tests/slurm/task_error_stub.c" "$top/slurm/gres_conf.c" -lslurm 2>"$dir/gres_check.err"; then
	checker_lines gres_check "$dir/gres_check.bin" "$dir/gres_check"
else
	nok "gres_check: can't build it" "$(cat "$dir/gres_check.err")"
fi

# The plugin's hooks when task_init_privileged fails before the helper
# exists: Slurm ignores that failure for an `optional` plugstack.conf entry
# (this cluster's), so task_init must refuse the task itself.
# tests/slurm/hook_check.c runs both hooks against stubs of the SPANK calls.
if ${CC:-cc} -std=gnu11 -D_GNU_SOURCE -I"$top" -Wall -Wextra -Werror -Wno-unused-parameter \
	-o "$dir/hook_check.bin" "$top/tests/slurm/hook_check.c" "$top"/slurm/*.c -lslurm 2>"$dir/hook_check.err"; then
	checker_lines hook_check "$dir/hook_check.bin"
else
	nok "hook_check: can't build it" "$(cat "$dir/hook_check.err")"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
