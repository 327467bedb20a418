/* SPDX-License-Identifier: MIT */
/*
 * The cgroup v2 backend (sandbox/cgroup.h): one directory in the unified
 * hierarchy.  The controllers a limit needs are enabled from the root down
 * to the parent (cgroup.subtree_control at each level, as systemd and crun
 * do); the child is cloned into the directory with CLONE_INTO_CGROUP, so no
 * instruction of the worker ever runs outside its limits; the end is
 * cgroup.kill, which the kernel applies to every task, forks in flight
 * included.
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

/* systemd's CPUQuota= period; the kernel takes no quota under 1 ms. */
#define CPU_PERIOD_USEC 100000ULL
#define CPU_QUOTA_MIN_USEC 1000ULL

static bool has_word(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = list; (p = strstr(p, word)) != NULL; p += len)
		if ((p == list || p[-1] == ' ' || p[-1] == '\n') &&
		    (p[len] == '\0' || p[len] == ' ' || p[len] == '\n'))
			return true;
	return false;
}

/* The controllers the limits need, with the directive that needs each
 * (for messages). */
struct need {
	const char *ctrl;
	const char *directive;
};

static size_t needed_controllers(const struct sbox_resources *r, struct need *n)
{
	size_t k = 0;

	if (r->memory_max.set || r->memory_high.set || r->memory_swap_max.set)
		n[k++] = (struct need){ "memory", r->memory_max.set ? "MemoryMax=" :
					r->memory_high.set ? "MemoryHigh=" : "MemorySwapMax=" };
	if (r->tasks_max.set)
		n[k++] = (struct need){ "pids", "TasksMax=" };
	if (r->cpu_quota || r->cpu_weight)
		n[k++] = (struct need){ "cpu", r->cpu_quota ? "CPUQuota=" : "CPUWeight=" };
	if (r->allowed_cpus || r->allowed_mems)
		n[k++] = (struct need){ "cpuset", r->allowed_cpus ? "AllowedCPUs=" : "AllowedMemoryNodes=" };
	if (r->io_weight)
		n[k++] = (struct need){ "io", "IOWeight=" };
	return k;
}

/* Make the needed controllers available in level's children.  memory is
 * also wanted for the figures at the end (memory.peak, OOM kills) but not
 * needed: enabling it is tried and may fail quietly. */
static int enable_at(const char *level, const struct need *n, size_t k, struct sbox_err *err)
{
	char avail[1024], enabled[1024], add[256] = "";
	size_t used = 0;
	ssize_t r;

	r = sbox_cg_read_path(level, "cgroup.controllers", avail, sizeof(avail));
	if (r < 0)
		return sbox_fail(err, (int)-r, "reading %s/cgroup.controllers", level);
	r = sbox_cg_read_path(level, "cgroup.subtree_control", enabled, sizeof(enabled));
	if (r < 0)
		return sbox_fail(err, (int)-r, "reading %s/cgroup.subtree_control", level);
	for (size_t i = 0; i < k; i++) {
		if (!has_word(avail, n[i].ctrl)) {
			avail[strcspn(avail, "\n")] = '\0';
			return sbox_fail(err, 0, "%s needs the cgroup v2 '%s' controller, which %s does not offer (its cgroup.controllers: '%s'): this host can't enforce it",
					 n[i].directive, n[i].ctrl, level, avail);
		}
		if (!has_word(enabled, n[i].ctrl))
			used += (size_t)snprintf(add + used, sizeof(add) - used, "%s+%s",
						 used ? " " : "", n[i].ctrl);
	}
	if (used && sbox_cg_write_path(level, "cgroup.subtree_control", add, err) < 0) {
		if (err->errnum == EBUSY)
			sbox_err_prefix(err, "enabling controllers for the sandbox: %s holds processes of its own, and cgroup v2 hands no controller to the children of such a cgroup; start sbox from a leaf of a delegated cgroup (systemd: Delegate=yes with DelegateSubgroup=) or set CgroupParent= (docs/cgroups.md)",
					level);
		else if (err->errnum == EACCES || err->errnum == EPERM)
			sbox_err_prefix(err, "enabling controllers for the sandbox: %s is not delegated to this user (docs/cgroups.md)",
					level);
		return -1;
	}
	if (has_word(avail, "memory") && !has_word(enabled, "memory") && !strstr(add, "memory"))
		sbox_cg_write_path(level, "cgroup.subtree_control", "+memory", NULL);
	return 0;
}

/* From the hierarchy's root down to the parent itself. */
static int enable_controllers(const char *mount, const char *parent,
			      const struct sbox_resources *res, struct sbox_err *err)
{
	struct need n[8];
	size_t k = needed_controllers(res, n);
	char level[PATH_MAX];
	size_t len;

	len = (size_t)snprintf(level, sizeof(level), "%s", mount);
	if (enable_at(level, n, k, err) < 0)
		return -1;
	for (const char *p = parent; *p; ) {
		size_t c;

		while (*p == '/')
			p++;
		c = strcspn(p, "/");
		if (c == 0)
			break;
		if (len + 1 + c >= sizeof(level))
			return sbox_fail(err, ENAMETOOLONG, "cgroup path %s%s", mount, parent);
		level[len++] = '/';
		memcpy(level + len, p, c);
		len += c;
		level[len] = '\0';
		p += c;
		if (enable_at(level, n, k, err) < 0)
			return -1;
	}
	return 0;
}

static void u64_or_max(uint64_t v, char *buf, size_t len)
{
	if (v == SBOX_INFINITY)
		snprintf(buf, len, "max");
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

static int put_limit(const struct sbox_cg_dir *d, const char *file, const char *name,
		     const struct sbox_limit *l, uint64_t v, bool bytes, struct sbox_err *err)
{
	char text[96], value[32];

	if (!l->set)
		return 0;
	u64_or_max(v, value, sizeof(value));
	return sbox_cg_write_limit(d, file, value, sbox_limit_text(name, l, bytes, text, sizeof(text)), err);
}

static int write_cpu(const struct sbox_cg_dir *d, const struct sbox_resources *r,
		     struct sbox_err *err)
{
	char value[64], text[64];

	if (r->cpu_quota) {
		/* permyriad of one CPU -> usec per 100 ms period */
		uint64_t q = (uint64_t)r->cpu_quota * CPU_PERIOD_USEC / 10000;

		if (q < CPU_QUOTA_MIN_USEC)
			q = CPU_QUOTA_MIN_USEC;
		char pct[32];

		snprintf(value, sizeof(value), "%llu %llu", (unsigned long long)q, CPU_PERIOD_USEC);
		sbox_format_cpu_quota(r->cpu_quota, pct, sizeof(pct));
		snprintf(text, sizeof(text), "CPUQuota=%s", pct);
		if (sbox_cg_write_limit(d, "cpu.max", value, text, err) < 0)
			return -1;
	}
	if (r->cpu_weight) {
		snprintf(value, sizeof(value), "%llu", (unsigned long long)r->cpu_weight);
		snprintf(text, sizeof(text), "CPUWeight=%llu", (unsigned long long)r->cpu_weight);
		if (sbox_cg_write_limit(d, "cpu.weight", value, text, err) < 0)
			return -1;
	}
	return 0;
}

/* io.weight takes 1..10000 ("default N"); where only BFQ's file exists it
 * takes 1..1000, mapped as systemd maps it. */
static int write_io(const struct sbox_cg_dir *d, const struct sbox_resources *r,
		    struct sbox_err *err)
{
	char value[64], text[64];
	uint64_t w = r->io_weight;

	if (!w)
		return 0;
	snprintf(text, sizeof(text), "IOWeight=%llu", (unsigned long long)w);
	if (sbox_cg_has_file(d->fd, "io.weight") || !sbox_cg_has_file(d->fd, "io.bfq.weight")) {
		snprintf(value, sizeof(value), "default %llu", (unsigned long long)w);
		return sbox_cg_write_limit(d, "io.weight", value, text, err);
	}
	w = w <= 100 ? 1 + (w - 1) * 99 / 99 : 100 + (w - 100) * 900 / 9900;
	snprintf(value, sizeof(value), "%llu", (unsigned long long)w);
	return sbox_cg_write_limit(d, "io.bfq.weight", value, text, err);
}

/* The limits l->res sets, and only those. */
static int write_limits(const struct sbox_cg_dir *d, const struct sbox_cg_limits *l,
			struct sbox_err *err)
{
	const struct sbox_resources *r = l->res;

	if (put_limit(d, "memory.max", "MemoryMax", &r->memory_max, l->memory_max, true, err) < 0 ||
	    put_limit(d, "memory.high", "MemoryHigh", &r->memory_high, l->memory_high, true, err) < 0 ||
	    put_limit(d, "memory.swap.max", "MemorySwapMax", &r->memory_swap_max,
		      l->memory_swap_max, true, err) < 0 ||
	    put_limit(d, "pids.max", "TasksMax", &r->tasks_max, l->tasks_max, false, err) < 0 ||
	    write_cpu(d, r, err) < 0 || sbox_cg_write_cpuset(d, r, err) < 0 || write_io(d, r, err) < 0)
		return -1;
	return 0;
}

static int v2_create(struct sbox_cgroup *cg, const struct sbox_cgroup_host *h,
		     const char *parent, const struct sbox_cg_limits *l, struct sbox_err *err)
{
	const struct sbox_resources *r = l->res;
	struct sbox_cg_dir *d = &cg->dirs[0];
	const char *rel = strcmp(parent, "/") == 0 ? "" : parent;
	char path[PATH_MAX];

	if (sbox_cg_mkdir_parents(h->v2_mount, rel, NULL, NULL, err) < 0 ||
	    enable_controllers(h->v2_mount, rel, r, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s%s/%s", h->v2_mount, rel, cg->name);
	if (sbox_cg_make_dir(d, path, err) < 0)
		return -1;
	cg->n_dirs = 1;
	return write_limits(d, l, err);
}

static int v2_set_limits(struct sbox_cgroup *cg, const struct sbox_cg_limits *l,
			 struct sbox_err *err)
{
	return write_limits(&cg->dirs[0], l, err);
}

static int v2_attach(struct sbox_cgroup *cg, pid_t pid, struct sbox_err *err)
{
	char value[32];

	snprintf(value, sizeof(value), "%d", (int)pid);
	if (sbox_cg_write(&cg->dirs[0], "cgroup.procs", value, err) < 0) {
		sbox_err_prefix(err, "moving the sandbox into its cgroup");
		return -1;
	}
	return 0;
}

/* Before 5.14 there is no cgroup.kill: freeze (so nothing forks between
 * the read and the kill), kill every listed process, thaw. */
static int v2_kill_frozen(struct sbox_cgroup *cg, struct sbox_err *err)
{
	const struct sbox_cg_dir *d = &cg->dirs[0];
	uint64_t frozen = 0;

	if (sbox_cg_write(d, "cgroup.freeze", "1", NULL) == 0) {
		for (int i = 0; i < 1000; i++) {
			struct timespec ts = { 0, 1000000 };

			if (sbox_cg_read_key(d->fd, "cgroup.events", "frozen", &frozen) < 0 || frozen)
				break;
			nanosleep(&ts, NULL);
		}
	}
	int n = sbox_cg_kill_listed(d);
	sbox_cg_write(d, "cgroup.freeze", "0", NULL);
	if (n < 0)
		return sbox_fail(err, -n, "killing the processes of %s", d->path);
	return 0;
}

static int v2_kill(struct sbox_cgroup *cg, struct sbox_err *err)
{
	const struct sbox_cg_dir *d = &cg->dirs[0];
	struct sbox_err e = { 0 };

	if (d->fd < 0)
		return 0;
	if (sbox_cg_write(d, "cgroup.kill", "1", &e) == 0)
		return 0;
	if (e.errnum != ENOENT) {
		if (err)
			*err = e;
		return -1;
	}
	return v2_kill_frozen(cg, err);
}

static int v2_stats(const struct sbox_cgroup *cg, struct sbox_stats *st, struct sbox_err *err)
{
	int fd = cg->dirs[0].fd;

	if (sbox_cg_read_key(fd, "cpu.stat", "user_usec", &st->cpu_user_usec) == 0 &&
	    sbox_cg_read_key(fd, "cpu.stat", "system_usec", &st->cpu_system_usec) == 0)
		st->have |= SBOX_STAT_CPU;
	/* memory.peak: Linux 5.19 and later, with the memory controller. */
	if (sbox_cg_read_u64(fd, "memory.peak", &st->memory_peak) == 0)
		st->have |= SBOX_STAT_MEMORY_PEAK;
	if (sbox_cg_read_key(fd, "memory.events", "oom_kill", &st->oom_kills) == 0)
		st->have |= SBOX_STAT_OOM;
	(void)err;
	return 0;
}

static int v2_devices_fd(const struct sbox_cgroup *cg)
{
	return cg->dirs[0].fd;
}

const struct sbox_cgroup_ops sbox_cgroup_v2_ops = {
	.version = 2,
	.create = v2_create,
	.set_limits = v2_set_limits,
	.attach = v2_attach,
	.kill = v2_kill,
	.stats = v2_stats,
	.devices_fd = v2_devices_fd,
};
