/* SPDX-License-Identifier: MIT */
/*
 * The pool of prepared sandboxes ([Pool] of the site configuration;
 * docs/design.md, "Prepare and specialise"; docs/security.md, "The pool
 * of prepared sandboxes").
 *
 * A LAUNCH whose shape (sboxd/shape.c: every input of sbox_prepare()) is
 * exactly that of a prepared sandbox is served by sbox_specialise() on
 * it: the request's argv, environment, cwd, hostname and fds go to an
 * init that has built everything else, and the limits whose values it
 * changes are written on the cgroup first.  Any other launch runs in full, as without a
 * pool, and its shape is noted once its worker started (pool_note_commit),
 * so that idle moments of the loop prepare
 * sandboxes of it, one per turn: a refill never keeps a client waiting
 * behind more than one preparation's parent side (P1-P4); init's own
 * steps run in its process, and its PREPARED arrives as a loop event.
 * A refill waits for RefillIdleSec= of quiet in the loop, so that a launch
 * just served does not wait behind it (pool_refill_due).
 *
 * Bounds, from the site: Size= prepared per shape, MaxShapes= shapes in
 * all, MaxShapesPerUser= (a user's new shape evicts that user's least
 * recently used one, never another user's while the user is at its cap),
 * MaxSandboxes= prepared in all.  A shape whose preparation, or whose
 * specialisation, fails POOL_MAX_FAILURES times in a row is dropped.
 *
 * Prepared sandboxes are never given to the keeper: when sboxd dies their
 * channel closes and each init exits (C6d), so a successor can't adopt
 * one; on stop they are freed here.
 */
#include "sboxd/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "common/util.h"
#include "policy/parse.h"
#include "sboxd/shape.h"

#define POOL_MAX_FAILURES 3

struct pool_entry {
	struct watch w;
	struct pool_shape *shape;           /* NULL once dead */
	struct sbox_prepared *prep;         /* NULL once taken or dead */
	bool dead;                          /* freed by pool_reap, between batches */
	struct pool_entry *next;
};

struct pool_shape {
	char *key;                          /* sboxd/shape.h */
	char *policy;                       /* what a refill prepares from */
	uid_t uid;
	gid_t gid;
	bool survive;
	unsigned n;                         /* live entries */
	unsigned failures;                  /* preparations failed in a row */
	unsigned specialise_failures;       /* specialisations failed in a row */
	uint64_t last_used;
	struct pool_shape *next;
};

struct pool {
	struct pool_shape *shapes;
	struct pool_entry *entries;         /* every shape's, live and dead */
	unsigned n_shapes, n_live;
};

static const struct sbox_site_daemon *cfg(const struct sboxd *d)
{
	return &d->site.daemon;
}

/* A prepared sandbox's end: its init killed here, the rest (the cgroup
 * waited for and removed in every hierarchy) by the teardown threads, as
 * a job's end is: a user cycling through shapes evicts prepared
 * sandboxes on every launch, and none of that may hold the loop.  At
 * stop, or with the threads' queue full, in the loop as before. */
static void prepared_end(struct sboxd *d, struct sbox_prepared *prep, uid_t uid)
{
	struct sbox_child *c = sbox_prepared_kill(prep);

	if (!c)
		return;
	/* Its mount namespace, as a job's (job_on_exit): by a closer. */
	sboxd_close_client_fd(sbox_child_take_mount_ns(c), uid);
	if (d->stopping || !teardown_give(c, 0, uid, false))
		sbox_child_free(c);
}

/* The entry's sandbox goes (init killed, its cgroup removed); the record
 * waits for pool_reap, as an event of this batch may still point at it. */
static void entry_kill(struct sboxd *d, struct pool_entry *e)
{
	if (e->dead)
		return;
	if (e->prep) {
		sboxd_unwatch(d, sbox_prepared_event_fd(e->prep));
		prepared_end(d, e->prep, e->shape->uid);
		e->prep = NULL;
	}
	e->shape->n--;
	d->pool->n_live--;
	e->shape = NULL;
	e->dead = true;
	d->have_dead = true;
}

static void shape_drop(struct sboxd *d, struct pool_shape *s)
{
	struct pool_shape **pp;

	for (struct pool_entry *e = d->pool->entries; e; e = e->next)
		if (e->shape == s)
			entry_kill(d, e);
	for (pp = &d->pool->shapes; *pp != s; pp = &(*pp)->next)
		;
	*pp = s->next;
	d->pool->n_shapes--;
	free(s->key);
	free(s->policy);
	free(s);
}

static struct pool_shape *shape_find(struct pool *pool, const char *key)
{
	for (struct pool_shape *s = pool->shapes; s; s = s->next)
		if (strcmp(s->key, key) == 0)
			return s;
	return NULL;
}

/* The least recently used shape, of uid only or of anyone (uid -1). */
static struct pool_shape *shape_lru(struct pool *pool, uid_t uid, bool any, unsigned *n)
{
	struct pool_shape *lru = NULL;

	*n = 0;
	for (struct pool_shape *s = pool->shapes; s; s = s->next) {
		if (!any && s->uid != uid)
			continue;
		(*n)++;
		if (!lru || s->last_used < lru->last_used)
			lru = s;
	}
	return lru;
}

/* Room for one more shape of uid: its own oldest goes when it is at
 * MaxShapesPerUser=, else the oldest of all at MaxShapes=. */
static void shape_make_room(struct sboxd *d, uid_t uid)
{
	unsigned n;
	struct pool_shape *lru = shape_lru(d->pool, uid, false, &n);

	if (n >= cfg(d)->pool_max_shapes_per_user) {
		shape_drop(d, lru);
		return;
	}
	lru = shape_lru(d->pool, uid, true, &n);
	if (n >= cfg(d)->pool_max_shapes)
		shape_drop(d, lru);
}

/* A shape asked for by a launch still running in full: noted only once its
 * worker started (pool_note_commit).  A launch that fails (a mount init
 * can't make, say) would otherwise evict another user's shape to make room
 * for one whose every preparation fails, dropped after three, and the user
 * could start over: no other user served from the pool, three wasted
 * preparations per request. */
struct pool_note {
	char *key;
	char *policy;
	uid_t uid;
	gid_t gid;
	bool survive;
};

void pool_note_free(struct pool_note *n)
{
	if (!n)
		return;
	free(n->key);
	free(n->policy);
	free(n);
}

static struct pool_note *note_new(char *key, const struct sbox_policy *p,
				  const struct sbox_launch *l)
{
	struct pool_note *n = calloc(1, sizeof(*n));

	if (n)
		n->policy = pool_shape_policy(p);
	if (!n || !n->policy) {
		free(n);
		free(key);
		return NULL;
	}
	n->key = key;
	n->uid = l->caller_uid;
	n->gid = l->caller_gid;
	n->survive = l->survive_launcher;
	return n;
}

/* A shape kept, for idle moments to prepare sandboxes of.  Its refills
 * prepare from the policy of the launch that noted it: its limits' values
 * too, which the next requests of the shape rewrite where theirs differ
 * (sbox_specialise(), P5b).  Takes n. */
static int shape_add(struct sboxd *d, struct pool_note *n)
{
	struct pool_shape *s = calloc(1, sizeof(*s));

	if (!s) {
		pool_note_free(n);
		return -1;
	}
	shape_make_room(d, n->uid);
	s->key = n->key;
	s->policy = n->policy;
	s->uid = n->uid;
	s->gid = n->gid;
	s->survive = n->survive;
	s->last_used = sboxd_now();
	s->next = d->pool->shapes;
	d->pool->shapes = s;
	d->pool->n_shapes++;
	free(n);
	return 0;
}

void pool_note_commit(struct sboxd *d, struct pool_note *n)
{
	if (!n)
		return;
	if (!d->pool || d->stopping || shape_find(d->pool, n->key))
		pool_note_free(n);
	else
		shape_add(d, n);
}

/* Shapes=USER:FILE: the shape of USER's launch of FILE through sboxd
 * (after [Defaults], as sboxd/launch.c builds a request's policy), noted
 * at start so that its first launch finds it prepared. */
static int prewarm(struct sboxd *d, const struct sbox_pool_shape_cfg *c, struct sbox_err *err)
{
	const struct sbox_launch l = { .stdio = { -1, -1, -1 }, .caller_uid = c->uid,
				       .caller_gid = c->gid,
				       .survive_launcher = d->keeper_fd >= 0 };
	struct sbox_policy p;
	struct pool_note *note;
	char *key = NULL;
	int rc = -1;

	sbox_policy_init(&p);
	if ((cfg(d)->defaults &&
	     sbox_policy_load_string(&p, cfg(d)->defaults, "[Defaults]", err) < 0) ||
	    sbox_policy_load_file(&p, c->policy_file, err) < 0 || sbox_policy_validate(&p, err) < 0)
		goto out;
	if (!pool_shape_poolable(&p, &l)) {
		sbox_fail(err, EINVAL, "%s: a policy with GPUs, PrivateNetwork=veth or group:, NewSession=no, binds onto /dev, /proc, /sys or another mount's path, or its mounts out of the printed order is never prepared ahead",
			  c->policy_file);
		goto out;
	}
	key = pool_shape_key(&p, &l);
	note = key ? note_new(key, &p, &l) : NULL;
	if (!note || shape_add(d, note) < 0) {
		sbox_fail(err, ENOMEM, "%s", c->policy_file);
		goto out;
	}
	rc = 0;
out:
	sbox_policy_free(&p);
	return rc;
}

int pool_init(struct sboxd *d, struct sbox_err *err)
{
	const struct sbox_site_daemon *s = cfg(d);

	if (!s->pool_size || !s->pool_max_shapes || !s->pool_max_sandboxes ||
	    !s->pool_max_shapes_per_user)
		return 0;
	d->pool = calloc(1, sizeof(*d->pool));
	if (!d->pool)
		return sbox_fail(err, ENOMEM, "allocating the pool of prepared sandboxes");
	for (size_t i = 0; i < s->n_pool_shapes; i++)
		if (prewarm(d, &s->pool_shapes[i], err) < 0) {
			sbox_err_prefix(err, "[Pool] Shapes=");
			return -1;
		}
	return 0;
}

static struct pool_entry *entry_ready(struct pool *pool, const struct pool_shape *s)
{
	for (struct pool_entry *e = pool->entries; e; e = e->next)
		if (e->shape == s && e->prep && sbox_prepared_ready(e->prep))
			return e;
	return NULL;
}

/* Specialise a ready sandbox of shape s for this launch.  A failure
 * destroys it (sbox_specialise() always consumes it): the caller then
 * launches in full. */
static bool serve(struct sboxd *d, struct pool_shape *s, const struct sbox_policy *p,
		  const struct sbox_launch *l, struct sbox_child **out)
{
	struct pool_entry *e = entry_ready(d->pool, s);
	struct sbox_prepared *prep;
	struct sbox_err err = { 0 };

	if (!e)
		return false;
	prep = e->prep;
	sboxd_unwatch(d, sbox_prepared_event_fd(prep));
	e->prep = NULL;
	entry_kill(d, e);
	if (sbox_specialise(prep, p, l, out, &err) == 0) {
		s->specialise_failures = 0;
		return true;
	}
	sboxd_log("pool: a prepared sandbox failed at specialise (%s): launching in full",
		  err.msg);
	/* Each failure cost a preparation and the loop's time: a shape
	 * whose requests keep failing (limits under init's usage) goes. */
	if (++s->specialise_failures >= POOL_MAX_FAILURES) {
		sboxd_log("pool: uid %u's shape dropped after %u failures at specialise",
			  (unsigned)s->uid, s->specialise_failures);
		shape_drop(d, s);
	}
	return false;
}

int pool_take(struct sboxd *d, const struct sbox_policy *p, const struct sbox_launch *l,
	      struct sbox_child **out, struct pool_note **note)
{
	struct pool_shape *s;
	char *key;

	*out = NULL;
	*note = NULL;
	if (!d->pool || d->stopping || !pool_shape_poolable(p, l))
		return 0;
	key = pool_shape_key(p, l);
	if (!key)
		return 0;
	s = shape_find(d->pool, key);
	if (!s) {
		*note = note_new(key, p, l);
		return 0;
	}
	free(key);
	s->last_used = sboxd_now();
	return serve(d, s, p, l, out) ? 1 : 0;
}

/* A preparation failed: counted against its shape, which goes after
 * POOL_MAX_FAILURES in a row (it would fail every refill). */
static void shape_failed(struct sboxd *d, struct pool_shape *s, const struct sbox_err *err)
{
	sboxd_log("pool: preparing a sandbox for uid %u failed: %s", (unsigned)s->uid, err->msg);
	if (++s->failures >= POOL_MAX_FAILURES) {
		sboxd_log("pool: uid %u's shape dropped after %u failures", (unsigned)s->uid,
			  s->failures);
		shape_drop(d, s);
	}
}

void pool_on_event(struct sboxd *d, struct pool_entry *e)
{
	struct sbox_err err = { 0 };
	struct pool_shape *s = e->shape;
	int r;

	if (e->dead)
		return;
	r = sbox_prepared_read(e->prep, &err);
	if (r > 0) {
		s->failures = 0;
		/* Ready: nothing more to hear until the request; its end
		 * (killed from outside) shows as EOF, still watched. */
		return;
	}
	if (r == 0)
		return;
	entry_kill(d, e);
	shape_failed(d, s, &err);
}

/* The shape an idle moment prepares for, while the pool is under
 * MaxSandboxes=: of those short of Size=, one with nothing prepared first
 * (its next launch would run in full; and one user keeping a shape of
 * its own in use can't hold other users' empty shapes back), then the
 * most recently used. */
static struct pool_shape *shape_wanting(const struct sboxd *d)
{
	struct pool_shape *best = NULL;

	if (!d->pool || d->stopping || d->pool->n_live >= cfg(d)->pool_max_sandboxes)
		return NULL;
	for (struct pool_shape *s = d->pool->shapes; s; s = s->next) {
		if (s->n >= cfg(d)->pool_size)
			continue;
		if (!best || (s->n == 0) > (best->n == 0) ||
		    ((s->n == 0) == (best->n == 0) && s->last_used > best->last_used))
			best = s;
	}
	return best;
}

/* A refill's parent half holds the loop for milliseconds (on a v1 host:
 * eight cgroup directories, the clone, the attach).  Run right after a
 * launch was served, it makes that launch's own events (its worker's
 * exit) wait behind it: it waits for RefillIdleSec= of quiet instead.
 * A shape with nothing prepared or being prepared is refilled at the
 * first idle moment, as its next launch would otherwise run in full. */
uint64_t pool_refill_due(const struct sboxd *d)
{
	const struct pool_shape *s = shape_wanting(d);

	if (!s)
		return UINT64_MAX;
	if (s->n == 0)
		return 0;
	return d->last_event + cfg(d)->pool_refill_idle_usec;
}

/* The shape's policy, from its own text: a refill prepares from it, and
 * checks that it is of the shape's key. */
static int shape_policy(const struct pool_shape *s, struct sbox_policy *p, struct sbox_err *err)
{
	const struct sbox_launch l = { .caller_uid = s->uid, .caller_gid = s->gid,
				       .survive_launcher = s->survive };
	char *again;
	int same;

	sbox_policy_init(p);
	if (sbox_policy_load_string(p, s->policy, "pool shape", err) < 0 ||
	    sbox_policy_validate(p, err) < 0)
		return -1;
	again = pool_shape_key(p, &l);
	same = again && strcmp(again, s->key) == 0;
	free(again);
	return same ? 0 : sbox_fail(err, EINVAL, "the shape's policy is not of its shape's key");
}

static int entry_add(struct sboxd *d, struct pool_shape *s, struct sbox_prepared *prep,
		     struct sbox_err *err)
{
	struct pool_entry *e = calloc(1, sizeof(*e));
	int fd = sbox_prepared_event_fd(prep);

	/* Its PREPARED is read in the loop, which must never wait on it. */
	if (!e || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		free(e);
		sbox_prepared_free(prep);
		return sbox_fail(err, e ? errno : ENOMEM, "keeping a prepared sandbox");
	}
	e->w.kind = W_POOL;
	e->w.obj = e;
	e->shape = s;
	e->prep = prep;
	if (sboxd_watch(d, fd, &e->w, EPOLLIN) < 0) {
		sbox_prepared_free(prep);
		free(e);
		return sbox_fail(err, errno, "watching a prepared sandbox");
	}
	e->next = d->pool->entries;
	d->pool->entries = e;
	s->n++;
	d->pool->n_live++;
	return 0;
}

int *init_close_fds(struct sboxd *d, size_t *n)
{
	size_t k = 0, end, room = d->pool ? SBOX_CHILD_FDS_MAX * (size_t)d->pool->n_live : 0;
	int *v = daemon_own_fds(d, &k), *w;

	if (!v || !room) {
		*n = k;
		return v;
	}
	w = realloc(v, (k + room) * sizeof(int));
	if (!w) {
		free(v);
		return NULL;
	}
	end = k + room;
	for (const struct pool_entry *e = d->pool->entries; e; e = e->next)
		if (e->prep && k + SBOX_CHILD_FDS_MAX <= end)
			k += sbox_prepared_fds(e->prep, w + k);
	*n = k;
	return w;
}

/* One preparation, as the shape's user would launch it through sboxd
 * (sboxd/launch.c's spawn()), minus the request. */
static int prepare_one(struct sboxd *d, struct pool_shape *s, struct sbox_err *err)
{
	struct sbox_gpu_selection none = { .inv = &d->leases.inv };
	size_t n_own = 0;
	_cleanup_free_ int *own = init_close_fds(d, &n_own);
	struct sbox_launch l = {
		.stdio = { -1, -1, -1 },
		.caller_uid = s->uid,
		.caller_gid = s->gid,
		.netns_pool = d->netns_pool,
		.net_reaper = d->net_reaper,
		.site = &d->site,
		.gpus = &none,
		.close_fds = own,
		.n_close_fds = n_own,
		.survive_launcher = s->survive,
	};
	struct sbox_policy p;
	struct sbox_prepared *prep;
	int rc = -1;

	if (!own)
		return sbox_fail(err, ENOMEM, "listing sboxd's fds");
	sboxd_closer_before_clone();
	if (shape_policy(s, &p, err) == 0 && sbox_prepare(&p, &l, &prep, err) == 0)
		rc = entry_add(d, s, prep, err);
	sbox_policy_free(&p);
	return rc;
}

void pool_refill(struct sboxd *d)
{
	struct pool_shape *s = shape_wanting(d);
	struct sbox_err err = { 0 };

	if (s && prepare_one(d, s, &err) < 0)
		shape_failed(d, s, &err);
}

void pool_reap(struct sboxd *d)
{
	struct pool_entry **pp;

	if (!d->pool)
		return;
	for (pp = &d->pool->entries; *pp;) {
		struct pool_entry *e = *pp;

		if (!e->dead) {
			pp = &e->next;
			continue;
		}
		*pp = e->next;
		free(e);
	}
}

void pool_free(struct sboxd *d)
{
	if (!d->pool)
		return;
	while (d->pool->shapes)
		shape_drop(d, d->pool->shapes);
	pool_reap(d);
	free(d->pool);
	d->pool = NULL;
}
