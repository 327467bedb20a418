/* SPDX-License-Identifier: MIT */
/*
 * The shape of a prepared sandbox (sboxd/shape.h).  Derived, not listed:
 * the policy goes in as the policy file it prints as, which the directive
 * table writes (docs/design.md, "Prepare and specialise": the key is
 * every input of prepare, and an equal key is the only way to a pooled
 * sandbox).
 */
#include "sboxd/shape.h"

#include <stdio.h>
#include <stdlib.h>

#include "policy/directives.h"
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

static bool has_bind(const struct sbox_policy *p)
{
	for (size_t i = 0; i < p->n_mounts; i++)
		if (p->mounts[i].kind == SBOX_MOUNT_BIND || p->mounts[i].kind == SBOX_MOUNT_BIND_RO)
			return true;
	return false;
}

bool pool_shape_poolable(const struct sbox_policy *p, const struct sbox_launch *l)
{
	return !has_bind(p) && p->devices.gpus.n == 0 && (!l->gpus || l->gpus->n == 0) &&
	       (p->net.mode == SBOX_NET_NONE || p->net.mode == SBOX_NET_HOST) &&
	       p->new_session && !l->cgroup_guard;
}

/* What of the policy prepare reads: all of it but the hostname, which
 * specialise sets (C6f), so that launches apart only in Hostname= share
 * prepared sandboxes.  A shallow copy, only printed. */
static const struct sbox_policy *shape_policy_of(const struct sbox_policy *p,
						 struct sbox_policy *q)
{
	*q = *p;
	q->hostname = NULL;
	return q;
}

char *pool_shape_key(const struct sbox_policy *p, const struct sbox_launch *l,
		     size_t *policy_off)
{
	struct sbox_policy q;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	long off;

	if (!f)
		return NULL;
	/* Prepare resolves the worker's ids from the caller's (P1b) and maps
	 * them (C3); whether init outlives sboxd is decided at clone (C1). */
	fprintf(f, "caller_uid=%u\ncaller_gid=%u\nsurvive_launcher=%d\n", (unsigned)l->caller_uid,
		(unsigned)l->caller_gid, (int)l->survive_launcher);
	off = ftell(f);
	sbox_policy_print(shape_policy_of(p, &q), f);
	if (fclose(f) != 0 || off < 0) {
		free(buf);
		return NULL;
	}
	*policy_off = (size_t)off;
	return buf;
}
