/* SPDX-License-Identifier: MIT */
/*
 * The cgroup v1 backend (sandbox/cgroup.h), for hybrid and legacy hosts:
 * the sandbox gets a directory of the same name in each hierarchy it
 * needs (memory, pids, cpuacct, freezer, devices; cpu, cpuset and blkio
 * for a limit of theirs: needed_mask() — co-mounted ones share a
 * directory).  The child joins each by pid at P4, before it is let go
 * (v1 has no CLONE_INTO_CGROUP).  The end is the
 * freezer's: freeze, kill every listed task, thaw — a frozen task can
 * neither fork nor exit, so the list stays true while it is killed.
 */
#include "sandbox/cgroup_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/dir_resources.h"
#include "policy/values.h"

#define CPU_PERIOD_USEC 100000ULL
#define CPU_QUOTA_MIN_USEC 1000ULL

static const char *ctrl_name(unsigned bit)
{
	switch (bit) {
	case SBOX_CG_MEMORY: return "memory";
	case SBOX_CG_PIDS: return "pids";
	case SBOX_CG_CPU: return "cpu";
	case SBOX_CG_CPUACCT: return "cpuacct";
	case SBOX_CG_CPUSET: return "cpuset";
	case SBOX_CG_BLKIO: return "blkio";
	case SBOX_CG_FREEZER: return "freezer";
	case SBOX_CG_DEVICES: return "devices";
	default: return "?";
	}
}

static const struct sbox_cg_dir *dir_of(const struct sbox_cgroup *cg, unsigned bit)
{
	for (size_t i = 0; i < cg->n_dirs; i++)
		if (cg->dirs[i].mask & bit)
			return &cg->dirs[i];
	return NULL;
}

/* A fresh v1 cpuset has no CPUs and no memory nodes, and no task can join
 * it until both are set: copy them from the level above where empty.  Run
 * on every level, not only the ones made now, so that a parent another
 * launcher made a moment ago is ready too. */
static int cpuset_fill(const char *path, void *arg)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char up[PATH_MAX], buf[4096];
	const char *slash = strrchr(path, '/');

	(void)arg;
	if (!slash)
		return 0;
	snprintf(up, sizeof(up), "%.*s", (int)(slash - path), path);
	for (size_t i = 0; i < SBOX_ARRAY_SIZE(files); i++) {
		ssize_t n = sbox_cg_read_path(path, files[i], buf, sizeof(buf));

		if (n < 0) {
			errno = (int)-n;
			return -1;
		}
		if (buf[0] != '\0' && buf[0] != '\n')
			continue;
		n = sbox_cg_read_path(up, files[i], buf, sizeof(buf));
		if (n < 0) {
			errno = (int)-n;
			return -1;
		}
		buf[strcspn(buf, "\n")] = '\0';
		if (sbox_cg_write_path(path, files[i], buf[0] ? buf : "\n", NULL) < 0)
			return -1;
	}
	return 0;
}

/* Which controller each limit of r needs, with its directive for
 * messages: the one table that check_controllers() and needed_mask()
 * read.  Returns how many rows out has. */
struct asked_limit {
	bool asked;
	unsigned bit;
	const char *directive;
};

#define ASKED_ROWS 8

static size_t asked_limits(const struct sbox_resources *r, struct asked_limit out[ASKED_ROWS])
{
	const struct asked_limit rows[ASKED_ROWS] = {
		{ r->memory_max.set, SBOX_CG_MEMORY, "MemoryMax=" },
		{ r->memory_swap_max.set, SBOX_CG_MEMORY, "MemorySwapMax=" },
		{ r->tasks_max.set, SBOX_CG_PIDS, "TasksMax=" },
		{ r->cpu_quota != 0, SBOX_CG_CPU, "CPUQuota=" },
		{ r->cpu_weight != 0, SBOX_CG_CPU, "CPUWeight=" },
		{ r->allowed_cpus != NULL, SBOX_CG_CPUSET, "AllowedCPUs=" },
		{ r->allowed_mems != NULL, SBOX_CG_CPUSET, "AllowedMemoryNodes=" },
		{ r->io_weight != 0, SBOX_CG_BLKIO, "IOWeight=" },
	};

	memcpy(out, rows, sizeof(rows));
	return ASKED_ROWS;
}

/* The hierarchies a sandbox gets a directory of its own in: memory (its
 * limit and figures), pids, cpuacct (the CPU figures), devices (the
 * device rules) and freezer (the kill), always; cpu, cpuset and blkio only
 * for a limit of theirs, as v2 enables a controller only for a limit that
 * needs it.  Each directory costs a mkdir, an attach by pid and an rmdir
 * per launch (a cpuset's attach the dearest: docs/cgroups.md), and the
 * worker's view a mount.  Outside them the worker stays in its launcher's
 * cgroup and under its limits (a Slurm job's cpuset, sboxd's service),
 * and its view leaves them out (sbox_cgroup_create()).  A process placed
 * into a cgroup made for it (a zygote's worker, sboxd's PLACE) had its
 * view planned from every hierarchy: it gets a directory in each. */
static unsigned needed_mask(const struct sbox_cg_limits *l)
{
	unsigned mask = SBOX_CG_V1_ALWAYS;
	struct asked_limit rows[ASKED_ROWS];
	size_t n = asked_limits(l->res, rows);

	if (l->every_hierarchy)
		return ~0u;
	for (size_t i = 0; i < n; i++)
		if (rows[i].asked)
			mask |= rows[i].bit;
	return mask;
}

/* Every limit's controller must be mounted, before anything is made. */
static int check_controllers(const struct sbox_cgroup_host *h, const struct sbox_cg_limits *l,
			     struct sbox_err *err)
{
	const struct sbox_resources *r = l->res;
	struct asked_limit rows[ASKED_ROWS];
	size_t n = asked_limits(r, rows);
	unsigned have = 0;
	char text[96];

	/* memory.soft_limit_in_bytes only acts under global pressure: it is
	 * not MemoryHigh=, and a limit is never silently something else. */
	if (r->memory_high.set && l->memory_high != SBOX_INFINITY)
		return sbox_fail(err, 0, "%s: cgroup v1 has no memory throttling limit (memory.high is cgroup v2's); use MemoryMax=, or a cgroup v2 host",
				 sbox_limit_text("MemoryHigh", &r->memory_high, true, text, sizeof(text)));
	for (size_t i = 0; i < h->n_v1; i++)
		have |= h->v1[i].mask;
	for (size_t i = 0; i < n; i++)
		if (rows[i].asked && !(have & rows[i].bit))
			return sbox_fail(err, 0, "%s needs the cgroup v1 '%s' controller, which this host has not mounted: it can't be enforced",
					 rows[i].directive, ctrl_name(rows[i].bit));
	return 0;
}

static void u64_or_unlimited(uint64_t v, char *buf, size_t len)
{
	if (v == SBOX_INFINITY)
		snprintf(buf, len, "-1");
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

/* memory.limit_in_bytes, and memory.memsw.limit_in_bytes when swap is
 * limited: v1 limits memory and swap together, memsw = MemoryMax + swap,
 * and keeps memsw >= limit at every write, so that when memsw grows
 * (a request's larger limits on a prepared sandbox) it goes first. */
static int write_memory(const struct sbox_cg_dir *d, const struct sbox_cg_limits *l,
			struct sbox_err *err)
{
	const struct sbox_resources *r = l->res;
	char value[32], memsw[32], text[96], swtext[96];
	uint64_t current = UINT64_MAX, total = 0;
	bool swap = r->memory_swap_max.set && l->memory_swap_max != SBOX_INFINITY;

	sbox_limit_text("MemoryMax", &r->memory_max, true, text, sizeof(text));
	u64_or_unlimited(l->memory_max, value, sizeof(value));
	if (swap) {
		sbox_limit_text("MemorySwapMax", &r->memory_swap_max, true, swtext, sizeof(swtext));
		if (!r->memory_max.set || l->memory_max == SBOX_INFINITY)
			return sbox_fail(err, 0, "%s: cgroup v1 limits memory and swap together, so it needs MemoryMax= too",
					 swtext);
		if (!sbox_cg_has_file(d->fd, "memory.memsw.limit_in_bytes"))
			return sbox_fail(err, 0, "%s: this host can't enforce it: swap accounting is off (no memory.memsw.limit_in_bytes; boot with swapaccount=1)",
					 swtext);
		total = l->memory_swap_max > UINT64_MAX - l->memory_max ?
			SBOX_INFINITY : l->memory_max + l->memory_swap_max;
		u64_or_unlimited(total, memsw, sizeof(memsw));
		sbox_cg_read_u64(d->fd, "memory.memsw.limit_in_bytes", &current);
		if (total > current &&
		    sbox_cg_write_limit(d, "memory.memsw.limit_in_bytes", memsw, swtext, err) < 0)
			return -1;
	}
	if (r->memory_max.set &&
	    sbox_cg_write_limit(d, "memory.limit_in_bytes", value, text, err) < 0)
		return -1;
	if (!swap || total > current)
		return 0;
	return sbox_cg_write_limit(d, "memory.memsw.limit_in_bytes", memsw, swtext, err);
}

static int write_pids(const struct sbox_cg_dir *d, const struct sbox_cg_limits *l,
		      struct sbox_err *err)
{
	char value[32], text[96];

	if (!l->res->tasks_max.set)
		return 0;
	if (l->tasks_max == SBOX_INFINITY)
		snprintf(value, sizeof(value), "max");
	else
		snprintf(value, sizeof(value), "%llu", (unsigned long long)l->tasks_max);
	return sbox_cg_write_limit(d, "pids.max", value,
		   sbox_limit_text("TasksMax", &l->res->tasks_max, false, text, sizeof(text)), err);
}

static int write_cpu(const struct sbox_cg_dir *d, const struct sbox_resources *r,
		     struct sbox_err *err)
{
	char value[32], text[64], q[32];

	if (r->cpu_quota) {
		uint64_t us = (uint64_t)r->cpu_quota * CPU_PERIOD_USEC / 10000;

		if (us < CPU_QUOTA_MIN_USEC)
			us = CPU_QUOTA_MIN_USEC;
		sbox_format_cpu_quota(r->cpu_quota, q, sizeof(q));
		snprintf(text, sizeof(text), "CPUQuota=%s", q);
		snprintf(value, sizeof(value), "%llu", CPU_PERIOD_USEC);
		if (sbox_cg_write_limit(d, "cpu.cfs_period_us", value, text, err) < 0)
			return -1;
		snprintf(value, sizeof(value), "%llu", (unsigned long long)us);
		if (sbox_cg_write_limit(d, "cpu.cfs_quota_us", value, text, err) < 0)
			return -1;
	}
	if (r->cpu_weight) {
		/* systemd's mapping: weight 100 = 1024 shares. */
		uint64_t shares = r->cpu_weight * 1024 / 100;

		shares = shares < 2 ? 2 : shares > 262144 ? 262144 : shares;
		snprintf(text, sizeof(text), "CPUWeight=%llu", (unsigned long long)r->cpu_weight);
		snprintf(value, sizeof(value), "%llu", (unsigned long long)shares);
		if (sbox_cg_write_limit(d, "cpu.shares", value, text, err) < 0)
			return -1;
	}
	return 0;
}

/* blkio.bfq.weight (BFQ) or blkio.weight (CFQ), 10..1000; systemd's
 * mapping: IOWeight 100 = blkio 500. */
static int write_blkio(const struct sbox_cg_dir *d, const struct sbox_resources *r,
		       struct sbox_err *err)
{
	const char *file = "blkio.bfq.weight";
	char value[32], text[64];
	uint64_t w;

	if (!r->io_weight)
		return 0;
	snprintf(text, sizeof(text), "IOWeight=%llu", (unsigned long long)r->io_weight);
	if (!sbox_cg_has_file(d->fd, file))
		file = "blkio.weight";
	if (!sbox_cg_has_file(d->fd, file))
		return sbox_fail(err, 0, "%s: this host can't enforce it: the blkio controller has no weight (neither blkio.bfq.weight nor blkio.weight: no BFQ or CFQ I/O scheduler)",
				 text);
	w = r->io_weight * 5;
	w = w < 10 ? 10 : w > 1000 ? 1000 : w;
	snprintf(value, sizeof(value), "%llu", (unsigned long long)w);
	return sbox_cg_write_limit(d, file, value, text, err);
}

static int write_limits(const struct sbox_cg_dir *d, const struct sbox_cg_limits *l,
			struct sbox_err *err)
{
	const struct sbox_resources *r = l->res;

	if ((d->mask & SBOX_CG_MEMORY) && write_memory(d, l, err) < 0)
		return -1;
	if ((d->mask & SBOX_CG_PIDS) && write_pids(d, l, err) < 0)
		return -1;
	if ((d->mask & SBOX_CG_CPU) && write_cpu(d, r, err) < 0)
		return -1;
	if ((d->mask & SBOX_CG_CPUSET) && sbox_cg_write_cpuset(d, r, err) < 0)
		return -1;
	if ((d->mask & SBOX_CG_BLKIO) && write_blkio(d, r, err) < 0)
		return -1;
	return 0;
}

static int v1_create(struct sbox_cgroup *cg, const struct sbox_cgroup_host *h,
		     const char *parent, const struct sbox_cg_limits *l, struct sbox_err *err)
{
	const char *rel = strcmp(parent, "/") == 0 ? "" : parent;

	unsigned needed = needed_mask(l);

	if (check_controllers(h, l, err) < 0)
		return -1;
	for (size_t i = 0; i < h->n_v1; i++) {
		struct sbox_cg_dir *d = &cg->dirs[cg->n_dirs];
		bool cpuset = h->v1[i].mask & SBOX_CG_CPUSET;
		char path[PATH_MAX];

		if (!(h->v1[i].mask & needed))
			continue;

		if (sbox_cg_mkdir_parents(h->v1[i].path, rel, cpuset ? cpuset_fill : NULL, NULL,
					  err) < 0)
			return -1;
		/* The kernel copies a parent's cpus and mems into a child made
		 * under cgroup.clone_children=1: far cheaper than writing them
		 * (each cpuset write rebuilds scheduling state, milliseconds). */
		if (cpuset) {
			char up[PATH_MAX], flag[8];

			snprintf(up, sizeof(up), "%s%s", h->v1[i].path, rel);
			if (sbox_cg_read_path(up, "cgroup.clone_children", flag, sizeof(flag)) > 0 &&
			    flag[0] == '0')
				sbox_cg_write_path(up, "cgroup.clone_children", "1", NULL);
		}
		snprintf(path, sizeof(path), "%s%s/%s", h->v1[i].path, rel, cg->name);
		if (sbox_cg_make_dir(d, path, err) < 0)
			return -1;
		d->mask = h->v1[i].mask;
		cg->n_dirs++;
		if (cpuset && cpuset_fill(path, NULL) < 0)
			return sbox_fail(err, errno, "copying cpuset.cpus and cpuset.mems into %s", path);
		if (write_limits(d, l, err) < 0)
			return -1;
	}
	return 0;
}

static int v1_set_limits(struct sbox_cgroup *cg, const struct sbox_cg_limits *l,
			 struct sbox_err *err)
{
	for (size_t i = 0; i < cg->n_dirs; i++)
		if (write_limits(&cg->dirs[i], l, err) < 0)
			return -1;
	return 0;
}

static int v1_attach(struct sbox_cgroup *cg, pid_t pid, struct sbox_err *err)
{
	char value[32];

	snprintf(value, sizeof(value), "%d", (int)pid);
	for (size_t i = 0; i < cg->n_dirs; i++) {
		if (sbox_cg_write(&cg->dirs[i], "cgroup.procs", value, err) < 0) {
			if (err->errnum == ENOSPC && (cg->dirs[i].mask & SBOX_CG_CPUSET))
				sbox_err_prefix(err, "moving the sandbox into its cgroup (its cpuset has no CPUs or memory nodes)");
			else
				sbox_err_prefix(err, "moving the sandbox into its cgroup");
			return -1;
		}
	}
	return 0;
}

static bool frozen(const struct sbox_cg_dir *d)
{
	char state[32];

	return sbox_cg_read(d->fd, "freezer.state", state, sizeof(state)) > 0 &&
	       strncmp(state, "FROZEN", 6) == 0;
}

static int v1_kill(struct sbox_cgroup *cg, struct sbox_err *err)
{
	const struct sbox_cg_dir *fz = dir_of(cg, SBOX_CG_FREEZER);
	const struct sbox_cg_dir *list = fz ? fz : (cg->n_dirs ? &cg->dirs[0] : NULL);
	int n;

	if (!list || list->fd < 0)
		return 0;
	/* Without a freezer (not mounted) the kill is repeated by the
	 * caller's drain until the cgroup is empty. */
	if (fz && sbox_cg_write(fz, "freezer.state", "FROZEN", NULL) == 0) {
		for (int i = 0; i < 1000 && !frozen(fz); i++) {
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
		}
	}
	n = sbox_cg_kill_listed(list);
	if (fz)
		sbox_cg_write(fz, "freezer.state", "THAWED", NULL);
	if (n < 0)
		return sbox_fail(err, -n, "killing the processes of %s", list->path);
	return 0;
}

static int v1_stats(const struct sbox_cgroup *cg, struct sbox_stats *st, struct sbox_err *err)
{
	const struct sbox_cg_dir *acct = dir_of(cg, SBOX_CG_CPUACCT);
	const struct sbox_cg_dir *mem = dir_of(cg, SBOX_CG_MEMORY);

	if (acct) {
		uint64_t user, sys;

		if (sbox_cg_read_u64(acct->fd, "cpuacct.usage_user", &user) == 0 &&
		    sbox_cg_read_u64(acct->fd, "cpuacct.usage_sys", &sys) == 0) {
			st->cpu_user_usec = user / 1000;
			st->cpu_system_usec = sys / 1000;
			st->have |= SBOX_STAT_CPU;
		} else if (sbox_cg_read_key(acct->fd, "cpuacct.stat", "user", &user) == 0 &&
			   sbox_cg_read_key(acct->fd, "cpuacct.stat", "system", &sys) == 0) {
			long hz = sysconf(_SC_CLK_TCK);

			hz = hz > 0 ? hz : 100;
			st->cpu_user_usec = user * 1000000 / (uint64_t)hz;
			st->cpu_system_usec = sys * 1000000 / (uint64_t)hz;
			st->have |= SBOX_STAT_CPU;
		}
	}
	if (mem) {
		if (sbox_cg_read_u64(mem->fd, "memory.max_usage_in_bytes", &st->memory_peak) == 0)
			st->have |= SBOX_STAT_MEMORY_PEAK;
		/* "oom_kill N": Linux 4.13 and later. */
		if (sbox_cg_read_key(mem->fd, "memory.oom_control", "oom_kill", &st->oom_kills) == 0)
			st->have |= SBOX_STAT_OOM;
	}
	(void)err;
	return 0;
}

static int v1_devices_fd(const struct sbox_cgroup *cg)
{
	const struct sbox_cg_dir *d = dir_of(cg, SBOX_CG_DEVICES);

	return d ? d->fd : -1;
}

const struct sbox_cgroup_ops sbox_cgroup_v1_ops = {
	.version = 1,
	.create = v1_create,
	.set_limits = v1_set_limits,
	.attach = v1_attach,
	.kill = v1_kill,
	.stats = v1_stats,
	.devices_fd = v1_devices_fd,
};
