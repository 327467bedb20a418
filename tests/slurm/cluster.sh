#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, in a temp dir, for sbox's SPANK
# plugin tests and bench/slurm.sh: munged, slurmctld and slurmd from Debian's
# packages with a generated slurm.conf, fake GPUs (tests/fixtures/fake-gpus.sh)
# as gres with File= nodes.  Sourced; needs root.
#
#   cluster_start DIR PLUGIN SBOXRUN [plugstack args...]
#   cluster_stop          (idempotent; call it from a trap)
#
# Ports 16817/16818 and the munge socket are the cluster's own, so it never
# talks to (or disturbs) a Slurm the machine may run.

cluster_dir=""
cluster_pids=()

cluster_log() { echo "cluster: $*" >&2; }

# A daemon that forks into the background writes its pid file; we keep
# the pid to stop exactly what we started.
cluster_wait_pidfile() {
	local f=$1 i
	for i in $(seq 100); do
		[ -s "$f" ] && { cat "$f"; return 0; }
		sleep 0.1
	done
	return 1
}

cluster_start() {
	local dir=$1 plugin=$2 sboxrun=$3
	shift 3
	local host top pid
	host=$(hostname -s)
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	cluster_dir=$dir
	mkdir -p "$dir"/{state,spool,log,munge,etc}
	chmod 755 "$dir" "$dir/etc"

	"$top/tests/fixtures/fake-gpus.sh" "$dir/fake" >/dev/null
	chmod 755 "$dir/fake"
	printf '[GPUs]\nProcRoot=%s/fake/proc\nSysRoot=%s/fake/sys\nDevRoot=%s/fake/dev\n' \
		"$dir" "$dir" "$dir" >"$dir/etc/sbox.conf"
	chmod 644 "$dir/etc/sbox.conf"

	dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
	chmod 700 "$dir/munge"
	chmod 400 "$dir/munge/munge.key"
	local sock="$dir/munge/munge.socket"
	munged --force --key-file="$dir/munge/munge.key" --socket="$sock" \
		--pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
		--seed-file="$dir/munge/seed" || return 1
	pid=$(cluster_wait_pidfile "$dir/munge/munged.pid") || { cluster_log "munged did not start"; return 1; }
	cluster_pids+=("$pid")
	# Users must reach the socket's directory.
	chmod 755 "$dir/munge"

	cat >"$dir/etc/slurm.conf" <<CONF
ClusterName=sboxtest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmdDebug=debug
PlugStackConfig=$dir/etc/plugstack.conf
ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
GresTypes=gpu
SchedulerType=sched/backfill
KillWait=5
InactiveLimit=0
# sbatch --wait polls for the end of its job, seconds apart: a record purged
# sooner loses the exit code ("Job N no longer found and exit code not found").
MinJobAge=60
NodeName=$host CPUs=$(nproc) RealMemory=1024 Gres=gpu:4 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
	# ConstrainDevices=no on purpose: sbox, not Slurm, must hide and refuse
	# the GPUs the task wasn't given (docs/slurm.md).
	cat >"$dir/etc/cgroup.conf" <<CONF
CgroupPlugin=cgroup/v1
CgroupMountpoint=/sys/fs/cgroup
ConstrainCores=no
ConstrainRAMSpace=yes
ConstrainDevices=no
CONF
	# A cluster-wide gres.conf lists other nodes' GPUs too: slurmd skips
	# their records, and so must the plugin, or gres index 0 here would
	# be nvidia2 (another job's GPU).
	{
		echo "AutoDetect=off"
		echo "NodeName=${host}-other[1-2] Name=gpu File=$dir/fake/dev/nvidia[2-3]"
		local m
		for m in 0 1 2 3; do
			echo "NodeName=$host Name=gpu File=$dir/fake/dev/nvidia$m"
		done
	} >"$dir/etc/gres.conf"
	echo "optional $plugin sboxrun=$sboxrun site_config=$dir/etc/sbox.conf $*" \
		>"$dir/etc/plugstack.conf"
	chmod 644 "$dir/etc/"*

	export SLURM_CONF="$dir/etc/slurm.conf"
	slurmctld -f "$SLURM_CONF" -i || { cluster_log "slurmctld failed"; return 1; }
	pid=$(cluster_wait_pidfile "$dir/slurmctld.pid") || { cluster_log "slurmctld did not start"; tail "$dir/log/slurmctld.log" >&2; return 1; }
	cluster_pids+=("$pid")
	slurmd -f "$SLURM_CONF" || { cluster_log "slurmd failed"; return 1; }
	pid=$(cluster_wait_pidfile "$dir/slurmd.pid") || { cluster_log "slurmd did not start"; tail "$dir/log/slurmd.log" >&2; return 1; }
	cluster_pids+=("$pid")
	local i
	for i in $(seq 100); do
		sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed)' && return 0
		sleep 0.2
	done
	cluster_log "the node never came up"; sinfo >&2; tail -5 "$dir/log/slurmd.log" "$dir/log/slurmctld.log" >&2
	return 1
}

# slurmd again, after a change to cgroup.conf (read at its start): the one
# we started, by its pid.
cluster_restart_slurmd() {
	local last=$((${#cluster_pids[@]} - 1)) pid i
	pid=${cluster_pids[last]}
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$cluster_dir/slurmd.pid"
	slurmd -f "$SLURM_CONF" || return 1
	pid=$(cluster_wait_pidfile "$cluster_dir/slurmd.pid") || return 1
	cluster_pids[last]=$pid
	for i in $(seq 100); do
		sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed)' && return 0
		sleep 0.2
	done
	return 1
}

cluster_stop() {
	local i pid
	# Reverse order: slurmd, slurmctld, munged.  Only the pids we started.
	for ((i = ${#cluster_pids[@]} - 1; i >= 0; i--)); do
		pid=${cluster_pids[i]}
		kill -TERM "$pid" 2>/dev/null || continue
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	cluster_pids=()
	# Slurm's own top level (slurm_<node>), when no job of anyone is left in it.
	rmdir /sys/fs/cgroup/*/"slurm_$(hostname -s)" 2>/dev/null || true
}
