/* SPDX-License-Identifier: MIT */
/*
 * The shape of a prepared sandbox (sboxd/shape.h).  Derived, not listed:
 * the policy goes in as the policy file it prints as, which the directive
 * table writes (docs/design.md, "Prepare and specialise": the key is
 * every input of prepare, and an equal key is the only way to a pooled
 * sandbox).  What specialise sets is left out of it: the hostname,
 * WorkingDirectory=, the environment, RuntimeMaxSec=, the limits' values
 * and the binds' sources.
 */
#include "sboxd/shape.h"

#include <stdio.h>
#include <stdlib.h>

#include "policy/bind_order.h"
#include "policy/directives.h"
#include "policy/values.h"
#include "sandbox/gpu.h"

/* Every field of sbox_launch is either one prepare reads, and then is in
 * the key or makes the launch unpoolable below, or one of the request's,
 * which specialise hands over (argv, stdio, passed fds, cwd, environment),
 * or the daemon's own (its pools, site, fds to close).  A field added to
 * sbox_launch stops this build until someone decides which it is. */
#if __SIZEOF_POINTER__ == 8 && __SIZEOF_INT__ == 4     /* the size below is LP64's */
_Static_assert(sizeof(struct sbox_launch) == 144,
	       "struct sbox_launch changed: decide whether sbox_prepare() reads the new field, then update sboxd/shape.c (key or poolable) and this size");
#endif

bool pool_shape_poolable(const struct sbox_policy *p, const struct sbox_launch *l)
{
	/* Binds wait for the request (C6g) where that builds the tree a
	 * launch in full builds, and fit in one (SBOX_POOL_MAX_BINDS); the
	 * mounts in the order their text prints, which a refill parses
	 * back. */
	return sbox_policy_binds_deferrable(p, SBOX_POOL_MAX_BINDS) &&
	       p->devices.gpus.n == 0 && (!l->gpus || l->gpus->n == 0) &&
	       (p->net.mode == SBOX_NET_NONE || p->net.mode == SBOX_NET_HOST) &&
	       p->new_session && !l->cgroup_guard;
}

/* What of the policy prepare reads: all of it but what specialise sets
 * (sandbox/launch.c): the hostname (C6f), WorkingDirectory= (C6e, entered
 * by the worker at W2), the environment (P5) and RuntimeMaxSec= (sboxd's
 * own timer), so that launches apart only in those share prepared
 * sandboxes.  A shallow copy, only printed. */
static void unspecialised(const struct sbox_policy *p, struct sbox_policy *q)
{
	*q = *p;
	q->hostname = NULL;
	q->env = (struct sbox_strv){ 0 };
	q->pass_env = (struct sbox_strv){ 0 };
	q->res.runtime_max_usec = SBOX_INFINITY;
	q->workdir = NULL;
}

/* A limit's value, for the key: specialise writes the request's (P5b),
 * so only whether it is set, and whether it is infinite, make the shape
 * (which controllers prepare enables, which files it writes, and v1's
 * memsw limit exists or not). */
static void limit_unvalued(struct sbox_limit *l)
{
	if (l->set && (l->percent || l->value != SBOX_INFINITY)) {
		l->percent = false;
		l->value = 1;
	}
}

static void limits_unvalued(struct sbox_resources *r)
{
	static char one_cpu[] = "0";

	limit_unvalued(&r->memory_max);
	limit_unvalued(&r->memory_high);
	limit_unvalued(&r->memory_swap_max);
	limit_unvalued(&r->tasks_max);
	r->cpu_quota = r->cpu_quota ? 1 : 0;
	r->cpu_weight = r->cpu_weight ? 1 : 0;
	r->io_weight = r->io_weight ? 1 : 0;
	r->allowed_cpus = r->allowed_cpus ? one_cpu : NULL;
	r->allowed_mems = r->allowed_mems ? one_cpu : NULL;
}

static char *printed(const struct sbox_policy *p, const struct sbox_launch *l)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	/* Prepare resolves the worker's ids from the caller's (P1b) and maps
	 * them (C3); whether init outlives sboxd is decided at clone (C1). */
	if (l)
		fprintf(f, "caller_uid=%u\ncaller_gid=%u\nsurvive_launcher=%d\n",
			(unsigned)l->caller_uid, (unsigned)l->caller_gid, (int)l->survive_launcher);
	sbox_policy_print(p, f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* The mounts, for the key: a bind's source is the request's (P5c clones
 * it from the client's fd, C6g attaches it), its destination, kind and
 * optional mark the shape's.  NULL: out of memory. */
static struct sbox_mount *mounts_unsourced(const struct sbox_policy *p)
{
	struct sbox_mount *v = calloc(p->n_mounts ? p->n_mounts : 1, sizeof(*v));
	static char any[] = "*";

	for (size_t i = 0; v && i < p->n_mounts; i++) {
		v[i] = p->mounts[i];
		if (sbox_mount_is_bind(&v[i]))
			v[i].src = any;
	}
	return v;
}

char *pool_shape_key(const struct sbox_policy *p, const struct sbox_launch *l)
{
	struct sbox_policy q;
	struct sbox_mount *mounts = mounts_unsourced(p);
	char *key;

	if (!mounts)
		return NULL;
	unspecialised(p, &q);
	limits_unvalued(&q.res);
	q.mounts = mounts;
	key = printed(&q, l);
	free(mounts);
	return key;
}

char *pool_shape_policy(const struct sbox_policy *p)
{
	struct sbox_policy q;

	unspecialised(p, &q);
	return printed(&q, NULL);
}
