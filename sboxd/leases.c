/* SPDX-License-Identifier: MIT */
/*
 * GPU leases.  sboxd reads the GPU inventory once, at start, from the site
 * configuration's source (the driver's procfs and sysfs, or the static
 * list), and leases GPUs by inventory index: a job holds its GPUs
 * exclusively from launch to the end of its sandbox.  --gpus N picks the
 * N lowest free GPUs the user may have (AllowGPUs=); GPUs= names them and
 * fails at once when one is leased (or queues, with --wait-gpu).  The
 * chosen indexes go to the launch as the job's GPU selection (struct
 * sbox_gpu_selection over this inventory): the grant takes exactly those,
 * and the policy's GPUs= text is never rewritten nor read again.
 */
#include "sboxd/daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int leases_init(struct sboxd *d, struct sbox_err *err)
{
	struct leases *l = &d->leases;

	if (sbox_gpu_inventory_load(&l->inv, &d->site, err) < 0) {
		sbox_err_prefix(err, "reading the GPU inventory");
		return -1;
	}
	l->loaded = true;
	l->holder = calloc(l->inv.n ? l->inv.n : 1, sizeof(*l->holder));
	l->holder_uid = calloc(l->inv.n ? l->inv.n : 1, sizeof(*l->holder_uid));
	if (!l->holder || !l->holder_uid)
		return sbox_fail(err, ENOMEM, "allocating the GPU leases");
	return 0;
}

void leases_free(struct sboxd *d)
{
	struct leases *l = &d->leases;

	if (l->loaded)
		sbox_gpu_inventory_free(&l->inv);
	free(l->holder);
	free(l->holder_uid);
	memset(l, 0, sizeof(*l));
}

static const char *gpu_label(const struct sbox_gpu *g)
{
	return g->uuid[0] ? g->uuid : g->bus;
}

static bool chosen(const unsigned *idx, size_t n, unsigned i)
{
	for (size_t k = 0; k < n; k++)
		if (idx[k] == i)
			return true;
	return false;
}

/* The GPUs of the inventory uid may lease, free or not: what a --gpus N
 * past AllowGPUs= is refused against (never worth waiting for). */
static size_t count_allowed(struct sboxd *d, const struct sbox_requester *who)
{
	size_t allowed = 0;

	for (size_t i = 0; i < d->leases.inv.n; i++)
		if (sbox_bounds_gpu_allowed(&d->site.daemon.bounds, who, (unsigned)i))
			allowed++;
	return allowed;
}

static int pick(struct sboxd *d, const struct sbox_requester *who, unsigned count,
		unsigned *idx, size_t *n, struct sbox_err *err)
{
	struct leases *l = &d->leases;
	size_t allowed = count_allowed(d, who);

	if (allowed < count) {
		sbox_fail(err, 0, "%u GPUs asked, but this machine has %zu that uid %u may lease (%zu in the inventory; AllowGPUs= in %s)",
			  count, allowed, (unsigned)who->uid, l->inv.n, d->config_path);
		return -2;
	}
	for (size_t i = 0; i < l->inv.n && *n < count; i++)
		if (l->holder[i] == 0 && sbox_bounds_gpu_allowed(&d->site.daemon.bounds, who, (unsigned)i))
			idx[(*n)++] = (unsigned)i;
	if (*n == count)
		return 0;
	sbox_fail(err, 0, "%u GPU%s asked, %zu free now (sboxrun --leases shows who holds them; --wait-gpu waits)",
		  count, count == 1 ? "" : "s", *n);
	err->errnum = EBUSY;
	return 1;
}

int leases_choose(struct sboxd *d, const struct sbox_requester *who, struct sbox_policy *p,
		  unsigned count, unsigned *idx, size_t *n, struct sbox_err *err)
{
	struct leases *l = &d->leases;
	const struct sbox_strv *specs = &p->devices.gpus;

	*n = 0;
	if (count > 0 && specs->n > 0)
		return sbox_fail(err, 0, "--gpus %u and GPUs=%s both given: ask for a number or name them", count,
				 specs->v[0]);
	if (count > SBOX_PROTO_MAX_GPUS || specs->n > SBOX_PROTO_MAX_GPUS)
		return sbox_fail(err, 0, "at most %d GPUs per job", SBOX_PROTO_MAX_GPUS);
	if (count > 0)
		return pick(d, who, count, idx, n, err);
	for (size_t s = 0; s < specs->n; s++) {
		size_t pos;

		if (sbox_gpu_find(&l->inv, specs->v[s], &pos, err) < 0) {
			sbox_err_prefix(err, "GPUs=%s", specs->v[s]);
			return -1;
		}
		if (!sbox_bounds_gpu_allowed(&d->site.daemon.bounds, who, (unsigned)pos)) {
			sbox_fail(err, 0, "GPUs=%s: GPU %zu is past the site bound AllowGPUs= for uid %u (%s)",
				  specs->v[s], pos, (unsigned)who->uid, d->config_path);
			return -2;
		}
		if (chosen(idx, *n, (unsigned)pos))
			return sbox_fail(err, 0, "GPUs=%s names GPU %zu twice", specs->v[s], pos);
		if (l->holder[pos] != 0 && (who->uid == 0 || l->holder_uid[pos] == who->uid)) {
			sbox_fail(err, 0, "GPUs=%s: GPU %zu (%s) is leased by job %llu (--wait-gpu waits for it)",
				  specs->v[s], pos, gpu_label(&l->inv.gpus[pos]),
				  (unsigned long long)l->holder[pos]);
			err->errnum = EBUSY;
			return 1;
		}
		if (l->holder[pos] != 0) {
			/* Another user's job: its id is none of this user's
			 * business (as in LIST and GPUS). */
			sbox_fail(err, 0, "GPUs=%s: GPU %zu (%s) is leased by another user's job (--wait-gpu waits for it)",
				  specs->v[s], pos, gpu_label(&l->inv.gpus[pos]));
			err->errnum = EBUSY;
			return 1;
		}
		idx[(*n)++] = (unsigned)pos;
	}
	return 0;
}

void leases_take(struct sboxd *d, const struct job *j)
{
	for (size_t i = 0; i < j->n_gpus; i++) {
		unsigned g = j->gpus[i];

		if (g < d->leases.inv.n) {
			d->leases.holder[g] = j->id;
			d->leases.holder_uid[g] = j->uid;
		}
	}
}

bool leases_release(struct sboxd *d, const struct job *j)
{
	return leases_release_id(d, j->id);
}

bool leases_release_id(struct sboxd *d, uint64_t job_id)
{
	bool freed = false;

	for (size_t i = 0; i < d->leases.inv.n; i++)
		if (d->leases.holder[i] == job_id) {
			d->leases.holder[i] = 0;
			freed = true;
		}
	return freed;
}

void leases_list(struct sboxd *d, const struct sbox_requester *who, uint32_t seq,
		 struct sbox_mb *b)
{
	sbox_mb_begin(b, SBOX_MSG_GPU_LIST, seq);
	for (size_t i = 0; i < d->leases.inv.n; i++) {
		const struct sbox_gpu *g = &d->leases.inv.gpus[i];
		size_t mark = sbox_mb_mark(b);

		sbox_mb_nest_begin(b, SBOX_ATTR_GPU_INFO);
		sbox_mb_u32(b, SBOX_ATTR_GPU, (uint32_t)i);
		sbox_mb_str(b, SBOX_ATTR_UUID, g->uuid);
		sbox_mb_str(b, SBOX_ATTR_BUS, g->bus);
		/* Busy GPUs are shown to all; whose job holds one only to its
		 * owner and root, as the job list does (may_see). */
		uint64_t holder = d->leases.holder[i];
		bool visible = holder && (who->uid == 0 || d->leases.holder_uid[i] == who->uid);

		sbox_mb_u64(b, SBOX_ATTR_JOB_ID, holder && !visible ? UINT64_MAX : holder);
		if (visible)
			sbox_mb_u32(b, SBOX_ATTR_UID, (uint32_t)d->leases.holder_uid[i]);
		sbox_mb_nest_end(b);
		if (b->overflow) {
			sbox_mb_rewind(b, mark);
			sbox_mb_u32(b, SBOX_ATTR_TRUNCATED, 1);
			break;
		}
	}
}
