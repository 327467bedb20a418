/* SPDX-License-Identifier: MIT */
/* Public: part of sandbox/'s face, which other rooms may include (docs/design.md). */
/*
 * What this host is, probed in one place (sandbox/host.c) for everyone who
 * needs it: sboxd's [Bounds] checks (sboxd/launch.c), the sandbox's cgroup
 * (sandbox/cgroup.c) and so sboxrun --check=host, which makes that cgroup.
 * Two of them turning MemoryMax=50% into a number two ways could let a job
 * past a bound that its cgroup then does not hold it to.
 *
 * Nothing is cached: memory can be hot-plugged and the kernel's task limits
 * changed with sysctl while sboxd runs, so each launch probes afresh.
 */
#ifndef SBOX_SANDBOX_HOST_H
#define SBOX_SANDBOX_HOST_H

#include <stdint.h>

/* The bases of the policy's percentages; 0 where the probe found nothing
 * (a percentage of it is then refused by the cgroup, see
 * sandbox/cgroup.c). */
struct sbox_host {
	/* Bytes of RAM (sysinfo's totalram): MemoryMax=, MemoryHigh= and
	 * MemorySwapMax= N%, as systemd reads them. */
	uint64_t mem_total;
	/* The smaller of kernel.pid_max and kernel.threads-max, the one that
	 * is set when only one is: TasksMax=N%, as systemd reads it. */
	uint64_t tasks_total;
};

/* sysinfo(2) and /proc/sys/kernel. */
void sbox_host_probe(struct sbox_host *h);
/* The same with the sysctls read below proc (normally "/proc"), for tests
 * over a fake tree. */
void sbox_host_probe_in(struct sbox_host *h, const char *proc);

/* This process's hard rlimits by RLIMIT_ number, SBOX_RLIMIT_COUNT of
 * them (UINT64_MAX: infinity, or unreadable): what a root launcher's
 * worker has where the policy sets no Limit*=, and the ceiling of the
 * policy's own (policy/bounds.h, sbox_bounds_check_rlimits()). */
void sbox_host_hard_limits(uint64_t *hard);

/* favordynmods (a cgroup v1 and v2 mount option, Linux 6.0): of the
 * cgroup and cgroup2 mounts mountinfo lists (normally
 * /proc/self/mountinfo), how many there are and how many carry it
 * (docs/cgroups.md, "favordynmods").  0, or -1 with errno when the file
 * can't be read. */
int sbox_host_favordynmods(const char *mountinfo, unsigned *mounts, unsigned *with);

#endif
