/* SPDX-License-Identifier: MIT */
/*
 * The shape of a prepared sandbox (sboxd/shape.h).  Derived, not listed:
 * the policy goes in as the policy file it prints as, which the directive
 * table writes (docs/design.md, "Prepare and specialise": the key is
 * every input of prepare, and an equal key is the only way to a pooled
 * sandbox).  What specialise sets is left out of it: the hostname, the
 * environment, RuntimeMaxSec=, the limits' values and the binds' sources.
 */
#include "sboxd/shape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* path is dir or lies below it (both clean, absolute). */
static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/' ||
					       (n == 1 && dir[0] == '/'));
}

static bool related(const char *a, const char *b)
{
	return under(a, b) || under(b, a);
}

/* Absolute, no "." or ".." component, no "//", no trailing '/': a text
 * that says which directory it is (before links in the root). */
static bool clean_path(const char *p)
{
	if (p[0] != '/' || p[1] == '\0' || p[strlen(p) - 1] == '/' || strstr(p, "//"))
		return false;
	for (const char *c = p; (c = strchr(c, '/')) != NULL; c++)
		if ((c[1] == '.' && (c[2] == '/' || c[2] == '\0')) ||
		    (c[1] == '.' && c[2] == '.' && (c[3] == '/' || c[3] == '\0')))
			return false;
	return true;
}

/* A pool's sandbox takes its binds at the request (C6g), after the pivot,
 * /dev's seal and the /proc and /sys masks: the same tree as a launch in
 * full only where the order makes no difference.  So each bind's
 * destination lies apart from /dev, /proc and /sys, and from
 * every TemporaryFileSystem= and InaccessiblePaths= (one over a bind
 * hides it in full; a bind over one, deferred, would uncover it).  And the
 * mounts come in the order the shape's text prints them (every BindPaths=,
 * then BindReadOnlyPaths=, TemporaryFileSystem=, InaccessiblePaths=): a
 * refill parses that text, so another interleaving would be prepared in
 * another order than the request's.  With binds, every destination must
 * be clean for the text to say which are apart. */
static bool mounts_poolable(const struct sbox_policy *p)
{
	static const char *const kernel_trees[] = { "/dev", "/proc", "/sys" };
	bool binds = sbox_policy_has_binds(p);

	for (size_t i = 0; i < p->n_mounts; i++) {
		const struct sbox_mount *m = &p->mounts[i];

		if (i > 0 && m->kind < p->mounts[i - 1].kind)
			return false;
		if (binds && !clean_path(m->dst))
			return false;
		if (!sbox_mount_is_bind(m))
			continue;
		for (size_t k = 0; k < sizeof(kernel_trees) / sizeof(kernel_trees[0]); k++)
			if (under(m->dst, kernel_trees[k]))
				return false;
		for (size_t j = 0; j < p->n_mounts; j++)
			if (!sbox_mount_is_bind(&p->mounts[j]) && related(m->dst, p->mounts[j].dst))
				return false;
	}
	return true;
}

bool pool_shape_poolable(const struct sbox_policy *p, const struct sbox_launch *l)
{
	return mounts_poolable(p) && p->devices.gpus.n == 0 && (!l->gpus || l->gpus->n == 0) &&
	       (p->net.mode == SBOX_NET_NONE || p->net.mode == SBOX_NET_HOST) &&
	       p->new_session && !l->cgroup_guard;
}

/* What of the policy prepare reads: all of it but what specialise sets
 * (sandbox/launch.c): the hostname (C6f), the environment (P5) and
 * RuntimeMaxSec= (sboxd's own timer), so that launches apart only in
 * those share prepared sandboxes.  A shallow copy, only printed. */
static void unspecialised(const struct sbox_policy *p, struct sbox_policy *q)
{
	*q = *p;
	q->hostname = NULL;
	q->env = (struct sbox_strv){ 0 };
	q->pass_env = (struct sbox_strv){ 0 };
	q->res.runtime_max_usec = SBOX_INFINITY;
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
