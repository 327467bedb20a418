/* SPDX-License-Identifier: MIT */
/*
 * Directives of the resources area (docs/cgroups.md): the sandbox's cgroup
 * limits with systemd.resource-control(5)'s names and value syntax
 * (MemoryMax=, MemoryHigh=, MemorySwapMax=, TasksMax=, CPUQuota=,
 * CPUWeight=, AllowedCPUs=, AllowedMemoryNodes=, IOWeight=), where the
 * sandbox's cgroup goes (CgroupParent=) and RuntimeMaxSec=.  Syntax only:
 * percentages are resolved and every limit is written by sandbox/cgroup*.c,
 * which refuses one the host cannot enforce.
 */
#ifndef SBOX_POLICY_DIR_RESOURCES_H
#define SBOX_POLICY_DIR_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy/directives.h"
#include "policy/policy.h"

void sbox_resources_init(struct sbox_resources *r);
void sbox_resources_free(struct sbox_resources *r);
int sbox_resources_validate(const struct sbox_policy *p, struct sbox_err *err);

/* Does the policy ask for a limit that only a cgroup can enforce?
 * (RuntimeMaxSec= is enforced by the launcher and is not one.) */
bool sbox_resources_any_limit(const struct sbox_resources *r);

/* A limit as policy text: "64M", "50%", "infinity", "100" (counts: TasksMax=);
 * "" when unset. */
void sbox_format_limit(const struct sbox_limit *l, bool bytes, char *buf, size_t len);
/* A limit as messages quote it: "MemoryMax=64M", "TasksMax=10%"; into buf,
 * returned (sbox_directive_text()). */
const char *sbox_limit_text(const char *name, const struct sbox_limit *l, bool bytes, char *buf,
			    size_t len);

/* A set limit as a number: a percentage of total (of RAM for MemoryMax=,
 * of the system's tasks for TasksMax=; sandbox/host.h), rounded down; else
 * its own value, SBOX_INFINITY included.  The cgroup and sboxd's site
 * bounds both take it from here, so a job held to a bound is held to the
 * same number by its cgroup. */
uint64_t sbox_limit_resolve(const struct sbox_limit *l, uint64_t total);

#define SBOX_RES_DECLARE(fn)                                                             \
	int sbox_dir_set_##fn(struct sbox_policy *p, const char *v, struct sbox_err *err); \
	void sbox_dir_print_##fn(const struct sbox_policy *p, const struct sbox_directive *d, \
				 FILE *out);
SBOX_RES_DECLARE(memory_max)
SBOX_RES_DECLARE(memory_high)
SBOX_RES_DECLARE(memory_swap_max)
SBOX_RES_DECLARE(tasks_max)
SBOX_RES_DECLARE(cpu_quota)
SBOX_RES_DECLARE(cpu_weight)
SBOX_RES_DECLARE(allowed_cpus)
SBOX_RES_DECLARE(allowed_mems)
SBOX_RES_DECLARE(io_weight)
SBOX_RES_DECLARE(cgroup_parent)
SBOX_RES_DECLARE(runtime_max)

/* Rows for the directive table in policy/directives.c. */
#define SBOX_RES_ROW(name, flag, meta, summary, example, fn) \
	{ name, flag, 0, meta, NULL, summary, example, 0, sbox_dir_set_##fn, sbox_dir_print_##fn },
#define SBOX_RESOURCES_DIRECTIVES                                                        \
	SBOX_RES_ROW("MemoryMax", "memory", "SIZE",                                      \
		     "hard memory limit of the sandbox (K/M/G/T, % of RAM, infinity); past it the OOM killer acts", \
		     "4G", memory_max)                                                    \
	SBOX_RES_ROW("MemoryHigh", NULL, NULL,                                           \
		     "memory throttling limit: reclaim and slow down past it (cgroup v2 only)", \
		     "3G", memory_high)                                                   \
	SBOX_RES_ROW("MemorySwapMax", NULL, NULL,                                        \
		     "swap the sandbox may use (v1: needs MemoryMax= and swap accounting)", \
		     "0", memory_swap_max)                                                \
	SBOX_RES_ROW("TasksMax", "pids", "N",                                            \
		     "most processes and threads in the sandbox, its init included (N, % of the system's, infinity)", \
		     "512", tasks_max)                                                    \
	SBOX_RES_ROW("CPUQuota", "cpu-quota", "PERCENT",                                 \
		     "CPU time per wall time, 100% = one CPU (150% = one and a half)",    \
		     "150%", cpu_quota)                                                   \
	SBOX_RES_ROW("CPUWeight", NULL, NULL,                                            \
		     "relative CPU share under contention, 1..10000 (default 100)",       \
		     "200", cpu_weight)                                                   \
	SBOX_RES_ROW("AllowedCPUs", "cpus", "LIST",                                      \
		     "CPUs the sandbox may run on (cpuset), e.g. 0-3,8",                  \
		     "0-1", allowed_cpus)                                                 \
	SBOX_RES_ROW("AllowedMemoryNodes", NULL, NULL,                                   \
		     "NUMA memory nodes the sandbox may allocate from (cpuset)",         \
		     "0", allowed_mems)                                                   \
	SBOX_RES_ROW("IOWeight", NULL, NULL,                                             \
		     "relative block I/O share, 1..10000 (default 100); needs the io/blkio weight files", \
		     "200", io_weight)                                                    \
	SBOX_RES_ROW("CgroupParent", "cgroup-parent", "PATH",                            \
		     "cgroup under which the sandbox's own cgroup is made (default: docs/cgroups.md)", \
		     "/sbox", cgroup_parent)                                              \
	SBOX_RES_ROW("RuntimeMaxSec", "timeout", "TIME",                                 \
		     "kill the whole sandbox after this long and exit 124 (500ms, 90s, 1h, infinity)", \
		     "1h", runtime_max)

#endif
