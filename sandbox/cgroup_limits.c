/* SPDX-License-Identifier: MIT */
/*
 * A sandbox cgroup's limits (sandbox/cgroup.h): resolved for the host
 * (MemoryMax=50% of its RAM), recorded as written, and written again for
 * a request that asks for other values than its prepared sandbox was
 * made with (sboxd's pool, docs/design.md "Prepare and specialise": a
 * shape leaves the limits' values to the request).
 *
 * Only values change, never which limits exist: a shape says which
 * limits are set (and which are infinite), so the controllers prepare
 * enabled and the files it wrote are exactly those the request needs.
 */
#include "sandbox/cgroup_backend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "policy/dir_resources.h"
#include "policy/values.h"

int sbox_cg_resolve_limits(const struct sbox_host *host, const struct sbox_resources *res,
			   struct sbox_cg_limits *l, struct sbox_err *err)
{
	const struct { const struct sbox_limit *lim; uint64_t total; uint64_t *out;
		       const char *name; } rows[] = {
		{ &res->memory_max, host->mem_total, &l->memory_max, "MemoryMax" },
		{ &res->memory_high, host->mem_total, &l->memory_high, "MemoryHigh" },
		{ &res->memory_swap_max, host->mem_total, &l->memory_swap_max, "MemorySwapMax" },
		{ &res->tasks_max, host->tasks_total, &l->tasks_max, "TasksMax" },
	};

	memset(l, 0, sizeof(*l));
	l->res = res;
	for (size_t i = 0; i < SBOX_ARRAY_SIZE(rows); i++) {
		if (!rows[i].lim->set)
			continue;
		if (rows[i].lim->percent && rows[i].total == 0)
			return sbox_fail(err, 0, "%s=: a percentage, but the host's total is unknown",
					 rows[i].name);
		*rows[i].out = sbox_limit_resolve(rows[i].lim, rows[i].total);
	}
	/* A percentage that rounds to no task at all would stop init. */
	if (res->tasks_max.set && l->tasks_max == 0)
		l->tasks_max = 1;
	return 0;
}

void sbox_cg_written_clear(struct sbox_cgroup *cg)
{
	free(cg->written.res.allowed_cpus);
	free(cg->written.res.allowed_mems);
	memset(&cg->written, 0, sizeof(cg->written));
}

int sbox_cg_written_set(struct sbox_cgroup *cg, const struct sbox_host *host,
			const struct sbox_cg_limits *lim, struct sbox_err *err)
{
	struct sbox_cg_written *w = &cg->written;
	const struct sbox_resources *res = lim->res;
	char *cpus = res->allowed_cpus ? strdup(res->allowed_cpus) : NULL;
	char *mems = res->allowed_mems ? strdup(res->allowed_mems) : NULL;

	if ((res->allowed_cpus && !cpus) || (res->allowed_mems && !mems)) {
		free(cpus);
		free(mems);
		return sbox_fail(err, ENOMEM, "recording the sandbox's limits");
	}
	sbox_cg_written_clear(cg);
	w->res = *res;
	w->res.allowed_cpus = cpus;
	w->res.allowed_mems = mems;
	w->res.cgroup_parent = NULL;        /* where it is, not a limit */
	w->host = *host;
	w->lim = *lim;
	w->lim.res = &w->res;
	return 0;
}

static bool infinite(const struct sbox_limit *l, uint64_t resolved)
{
	return l->set && resolved == SBOX_INFINITY;
}

/* The same limits set (and the same ones infinite): what the shape's key
 * promises (sboxd/shape.c).  Anything else would need controllers or
 * files prepare did not make, or a v1 memsw limit taken away. */
static bool same_limits_asked(const struct sbox_cg_written *w, const struct sbox_resources *r,
			      const struct sbox_cg_limits *now)
{
	const struct sbox_resources *a = &w->res;
	const struct sbox_cg_limits *was = &w->lim;

	return a->memory_max.set == r->memory_max.set &&
	       a->memory_high.set == r->memory_high.set &&
	       a->memory_swap_max.set == r->memory_swap_max.set &&
	       a->tasks_max.set == r->tasks_max.set &&
	       infinite(&a->memory_max, was->memory_max) == infinite(&r->memory_max, now->memory_max) &&
	       infinite(&a->memory_high, was->memory_high) == infinite(&r->memory_high, now->memory_high) &&
	       infinite(&a->memory_swap_max, was->memory_swap_max) ==
		       infinite(&r->memory_swap_max, now->memory_swap_max) &&
	       infinite(&a->tasks_max, was->tasks_max) == infinite(&r->tasks_max, now->tasks_max) &&
	       !a->cpu_quota == !r->cpu_quota && !a->cpu_weight == !r->cpu_weight &&
	       !a->io_weight == !r->io_weight && !a->allowed_cpus == !r->allowed_cpus &&
	       !a->allowed_mems == !r->allowed_mems;
}

static bool str_differs(const char *a, const char *b)
{
	return a && b && strcmp(a, b) != 0;
}

/* The limits of r whose resolved values differ from what is written,
 * into delta (strings borrowed from r).  Memory and swap go together:
 * cgroup v1 writes one memsw limit from both.  How many differ. */
static unsigned limits_delta(const struct sbox_cg_written *w, const struct sbox_resources *r,
			     const struct sbox_cg_limits *now, struct sbox_resources *delta)
{
	const struct sbox_cg_limits *was = &w->lim;
	const struct sbox_resources *a = &w->res;
	unsigned n = 0;

	memset(delta, 0, sizeof(*delta));
	if (now->memory_max != was->memory_max || now->memory_swap_max != was->memory_swap_max) {
		delta->memory_max = r->memory_max;
		delta->memory_swap_max = r->memory_swap_max;
		n++;
	}
	if (now->memory_high != was->memory_high) {
		delta->memory_high = r->memory_high;
		n++;
	}
	if (now->tasks_max != was->tasks_max) {
		delta->tasks_max = r->tasks_max;
		n++;
	}
	if (r->cpu_quota != a->cpu_quota) {
		delta->cpu_quota = r->cpu_quota;
		n++;
	}
	if (r->cpu_weight != a->cpu_weight) {
		delta->cpu_weight = r->cpu_weight;
		n++;
	}
	if (r->io_weight != a->io_weight) {
		delta->io_weight = r->io_weight;
		n++;
	}
	if (str_differs(r->allowed_cpus, a->allowed_cpus)) {
		delta->allowed_cpus = r->allowed_cpus;
		n++;
	}
	if (str_differs(r->allowed_mems, a->allowed_mems)) {
		delta->allowed_mems = r->allowed_mems;
		n++;
	}
	return n;
}

static bool any_percent(const struct sbox_resources *r)
{
	return (r->memory_max.set && r->memory_max.percent) ||
	       (r->memory_high.set && r->memory_high.percent) ||
	       (r->memory_swap_max.set && r->memory_swap_max.percent) ||
	       (r->tasks_max.set && r->tasks_max.percent);
}

/* The memory the cgroup holds now (init's, at specialise): v2's
 * memory.current, v1's memory.usage_in_bytes; 0 where neither reads. */
static uint64_t memory_held(const struct sbox_cgroup *cg)
{
	uint64_t v;

	for (size_t i = 0; i < cg->n_dirs; i++)
		if (sbox_cg_read_u64(cg->dirs[i].fd, "memory.current", &v) == 0 ||
		    sbox_cg_read_u64(cg->dirs[i].fd, "memory.usage_in_bytes", &v) == 0)
			return v;
	return 0;
}

int sbox_cgroup_set_limits(struct sbox_cgroup *cg, const struct sbox_resources *res,
			   struct sbox_err *err)
{
	struct sbox_cg_limits now, write;
	struct sbox_resources delta;
	struct sbox_host host = cg->written.host;
	uint64_t held;

	/* A percentage is of the host as it is now, as [Bounds] and a
	 * launch in full read it. */
	if (any_percent(res))
		sbox_host_probe(&host);
	if (sbox_cg_resolve_limits(&host, res, &now, err) < 0)
		return -1;
	if (!same_limits_asked(&cg->written, res, &now))
		return sbox_fail(err, EINVAL, "the request asks for other limits than its prepared sandbox's cgroup has: its shape should have differed");
	if (limits_delta(&cg->written, res, &now, &delta) == 0)
		return 0;
	/* Under what init already holds, v1 refuses the write (EBUSY) and
	 * v2 reclaims, then kills init: neither is a sandbox to hand over. */
	if (delta.memory_max.set && now.memory_max < (held = memory_held(cg)))
		return sbox_fail(err, EBUSY, "MemoryMax=%llu is under the %llu bytes its prepared sandbox holds already",
				 (unsigned long long)now.memory_max, (unsigned long long)held);
	write = now;
	write.res = &delta;
	/* Written or not, the files may now say something else than the
	 * record: a failure here ends the sandbox (sbox_specialise()). */
	if (cg->ops->set_limits(cg, &write, err) < 0) {
		sbox_err_prefix(err, "writing the request's limits on its prepared sandbox");
		return -1;
	}
	return sbox_cg_written_set(cg, &host, &now, err);
}
