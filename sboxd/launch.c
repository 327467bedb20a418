/* SPDX-License-Identifier: MIT */
/*
 * LAUNCH: from a client's request to a running sandbox.
 *
 *   1. limits: jobs in all and per user
 *   2. the fds: stdio must be files one can read or write (not O_PATH, not
 *      directories); every fd is the client's own, passed with SCM_RIGHTS,
 *      so it can only hand in what it could open itself.  Nothing here
 *      may wait on an fd's file system (a FUSE server that never answers):
 *      fcntl, statx(AT_STATX_DONT_SYNC), readlink of /proc/self/fd only;
 *      closes go to sboxd/closer.c
 *   3. the policy: the site's [Defaults], then the request's text, parsed
 *      here with the directive table and validated
 *   4. binds: the k-th bind of the policy is the fd BIND_FD k names; its
 *      real path (not the text of the policy) is held against
 *      AllowBindPaths=; the sandbox binds exactly that fd
 *   5. bounds ([Bounds]) and GPU leases (AllowGPUs=, free or --wait-gpu)
 *   6. a sandbox prepared ahead for exactly this request's shape,
 *      specialised (sboxd/pool.c), or sbox_spawn() as the client's uid and
 *      gid (SO_PEERCRED): returns after clone; the set-up's outcome
 *      arrives as events
 *
 * Every refusal is an ERROR naming what was refused and why; nothing of a
 * refused request is left behind.
 */
#include "sboxd/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/parse.h"
#include "sandbox/host.h"
#include "wire/fdpass.h"

static int check_limits(struct sboxd *d, uid_t uid, struct refusal *r)
{
	unsigned all = 0, mine = 0;
	unsigned per_user = sbox_site_jobs_per_user(&d->site.daemon);
	size_t ends;

	for (struct job *j = d->jobs; j; j = j->next) {
		if (j->dead || j->state == SBOX_JOB_ENDED)
			continue;
		all++;
		mine += j->uid == uid;
	}
	if (all >= d->site.daemon.max_jobs) {
		sbox_fail(&r->err, EAGAIN, "too many jobs (MaxJobs=%u in %s)", d->site.daemon.max_jobs,
			  d->config_path);
		return refused(r, SBOX_E_BUSY);
	}
	if (uid != 0 && all >= d->site.daemon.max_jobs - sboxd_root_reserve(d->site.daemon.max_jobs)) {
		sbox_fail(&r->err, EAGAIN, "too many jobs (MaxJobs=%u in %s, %u of them kept for root)",
			  d->site.daemon.max_jobs, d->config_path,
			  sboxd_root_reserve(d->site.daemon.max_jobs));
		return refused(r, SBOX_E_BUSY);
	}
	if (uid != 0 && per_user && mine >= per_user) {
		sbox_fail(&r->err, EAGAIN, "uid %u has %u jobs running (MaxJobsPerUser=%u in %s%s)",
			  (unsigned)uid, mine, per_user, d->config_path,
			  d->site.daemon.max_jobs_per_user == SBOX_JOBS_PER_USER_UNSET ?
			  ": not set, a quarter of MaxJobs=" : "");
		return refused(r, SBOX_E_BUSY);
	}
	if (uid != 0 && (ends = teardown_user_over_share(uid)) > 0) {
		sbox_fail(&r->err, EAGAIN,
			  "uid %u has %zu sandbox ends under way (processes left in their cgroups that do not die): try again later",
			  (unsigned)uid, ends);
		return refused(r, SBOX_E_BUSY);
	}
	return 0;
}

static int build_policy(struct sboxd *d, const struct sbox_msg *m, struct sbox_policy *p,
			struct refusal *r)
{
	char name[PATH_MAX + 16];

	sbox_policy_init(p);
	snprintf(name, sizeof(name), "%s [Defaults]", d->config_path);
	if (d->site.daemon.defaults &&
	    sbox_policy_load_string(p, d->site.daemon.defaults, name, &r->err) < 0)
		return refused(r, SBOX_E_INTERNAL);
	if (m->policy && sbox_policy_load_string(p, m->policy, "request policy", &r->err) < 0)
		return refused(r, SBOX_E_POLICY);
	if (sbox_policy_validate(p, &r->err) < 0)
		return refused(r, SBOX_E_POLICY);
	return 0;
}

static void bounds_ctx(const struct sboxd *d, struct sbox_bounds_ctx *ctx, size_t n_gpus)
{
	struct sbox_host host;

	ctx->cgroup_parent = d->site.daemon.defaults_cgroup_parent;
	sbox_host_hard_limits(ctx->hard);
	ctx->n_gpus = n_gpus;
	/* The totals the sandbox's cgroup will resolve N% against. */
	sbox_host_probe(&host);
	ctx->mem_total = host.mem_total;
	ctx->tasks_total = host.tasks_total;
}

/* The site's [Bounds] on a policy, and the filter's deny layer, which a
 * client may not edit away where the site keeps the filter on: a
 * SystemCallFilter= entry naming unshare or bpf turns off what
 * SeccompProfile=none would (sbox_seccomp_lifts_deny()). */
static int check_bounds(struct sboxd *d, const struct sbox_policy *p,
			const struct sbox_requester *who, const struct sbox_bounds_ctx *ctx,
			struct sbox_err *err)
{
	const struct sbox_bounds *b = &d->site.daemon.bounds;
	char entry[128];
	int r;

	if (sbox_bounds_check_policy(b, p, who, ctx, err) < 0)
		return -1;
	if (!sbox_bounds_apply_to(who) || b->allow_no_seccomp || p->sec.seccomp == SBOX_SECCOMP_NONE)
		return 0;
	r = sbox_seccomp_lifts_deny(&p->sec, NULL, entry, sizeof(entry), err);
	if (r > 0 && d->site.daemon.defaults) {
		/* The site's own [Defaults] entries (SystemCallFilter=ptrace
		 * for every debugger) are the site's word, not the client's:
		 * asked again without them, rarely (a lift was found). */
		struct sbox_policy site;
		struct sbox_err ignored = { 0 };

		sbox_policy_init(&site);
		if (sbox_policy_load_string(&site, d->site.daemon.defaults, "[Defaults]", &ignored) == 0)
			r = sbox_seccomp_lifts_deny(&p->sec, &site.sec.syscall_filter, entry,
						    sizeof(entry), err);
		sbox_policy_free(&site);
	}
	if (r > 0)
		return sbox_fail(err, 0, "SystemCallFilter=%s lifts the filter's deny of that call, past the site bound AllowNoSeccomp=no (%s)",
				 entry, b->file ? b->file : "the site configuration");
	return r;
}

/* env: PLACE's answer also carries the resolved policy's Environment=
 * (NULL for LAUNCH). */
static void reply_launched(struct sboxd *d, struct conn *c, uint32_t seq, const struct job *j,
			   char *const *env)
{
	struct sbox_mb b = { 0 };

	sbox_mb_begin(&b, SBOX_MSG_LAUNCHED, seq);
	sbox_mb_u64(&b, SBOX_ATTR_JOB_ID, j->id);
	sbox_mb_u32(&b, SBOX_ATTR_PID, (uint32_t)j->pid);
	sbox_mb_u32(&b, SBOX_ATTR_STATE, j->state);
	for (size_t i = 0; i < j->n_gpus; i++)
		sbox_mb_u32(&b, SBOX_ATTR_GPU, j->gpus[i]);
	for (size_t i = 0; env && env[i]; i++)
		sbox_mb_str(&b, SBOX_ATTR_ENV, env[i]);
	conn_send(d, c, &b);
	sbox_mb_free(&b);
}

/* The client's fds where the launch takes them: stdio by slot (-1: none
 * given), and each passed fd with the number it gets inside. */
static void take_client_fds(struct sbox_launch *l, const struct sbox_msg *m, const int *fds,
			    int *pass_src, int *pass_tgt)
{
	for (int i = 0; i < 3; i++)
		if (m->stdio[i] >= 0)
			l->stdio[i] = fds[m->stdio[i]];
	for (size_t i = 0; i < m->n_pass; i++) {
		pass_src[i] = fds[m->pass[i].index];
		pass_tgt[i] = (int)m->pass[i].key;
	}
}

/* The sandbox becomes the job's; on failure it goes, as no job holds it. */
static int give_to_job(struct sboxd *d, struct job *j, struct sbox_child *child,
		       struct refusal *r)
{
	/* Our end only reads what init sends and forwards signals: never
	 * wait on it (init may be busy or stopped) — a blocking read here
	 * would stall every client. */
	if (fcntl(sbox_child_event_fd(child), F_SETFL, O_NONBLOCK) < 0) {
		sbox_fail(&r->err, errno, "making the job's event channel non-blocking");
		sbox_child_free(child);
		return refused(r, SBOX_E_INTERNAL);
	}
	j->child = child;
	if (job_track(d, j, &r->err) < 0) {
		sbox_child_free(child);
		j->child = NULL;
		return refused(r, SBOX_E_INTERNAL);
	}
	return 0;
}

/* The job runs from now: RuntimeMaxSec= counts from here. */
static void mark_started(struct sboxd *d, struct job *j, const struct sbox_policy *p)
{
	j->pid = sbox_child_pid(j->child);
	j->state = SBOX_JOB_STARTING;
	j->start_real = sboxd_now_real();
	j->start_mono = sboxd_now();
	if (p->res.runtime_max_usec != UINT64_MAX)
		job_set_deadline(d, &j->runtime_deadline, j->start_mono + p->res.runtime_max_usec);
}

static int spawn(struct sboxd *d, struct job *j, const struct sbox_msg *m, const int *fds,
		 const struct sbox_policy *p, const int *src, const struct sbox_gpu_selection *gpus,
		 struct refusal *r)
{
	static char *const no_env[] = { NULL };
	int pass_src[SBOX_PROTO_MAX_PASS], pass_tgt[SBOX_PROTO_MAX_PASS];
	size_t n_own = 0;
	_cleanup_free_ int *own = NULL;
	struct sbox_launch l = {
		.argv = m->argv,
		.stdio = { -1, -1, -1 },
		.pass_fds = pass_src,
		.n_pass_fds = m->n_pass,
		.pass_fd_targets = pass_tgt,
		.caller_cwd = m->cwd,
		.caller_env = m->env ? m->env : no_env,
		.caller_uid = j->uid,
		.caller_gid = j->gid,
		.netns_pool = d->netns_pool,
		.net_reaper = d->net_reaper,
		.site = &d->site,
		.gpus = gpus,
		.bind_src_fds = src,
		.n_bind_src_fds = p->n_mounts,
		/* With a keeper holding the channel, a sandbox outlives a
		 * crash of sboxd; without one, it dies with sboxd. */
		.survive_launcher = d->keeper_fd >= 0,
	};
	struct sbox_child *child;
	struct pool_note *note = NULL;

	take_client_fds(&l, m, fds, pass_src, pass_tgt);
	/* A sandbox prepared ahead for exactly this shape, else in full. */
	if (!pool_take(d, p, &l, &child, &note)) {
		/* sboxd's fds listed only now: a prepared sandbox that failed
		 * at specialise has just closed its own, and the new one's may
		 * take their numbers (init would close its own channel at C0). */
		own = init_close_fds(d, &n_own);
		if (!own) {
			pool_note_free(note);
			return sbox_fail(&r->err, ENOMEM, "listing sboxd's fds"),
			       refused(r, SBOX_E_INTERNAL);
		}
		l.close_fds = own;
		l.n_close_fds = n_own;
		sboxd_closer_before_clone();
		if (sbox_spawn(p, &l, &child, &r->err) < 0) {
			pool_note_free(note);
			return refused(r, SBOX_E_LAUNCH);
		}
	}
	if (give_to_job(d, j, child, r) < 0) {
		pool_note_free(note);
		return -1;
	}
	j->pool_note = note;
	mark_started(d, j, p);
	return 0;
}

/* The job runs: its GPUs are its leases, and the keeper has its record. */
static void hold_gpus(struct sboxd *d, struct job *j, const unsigned *idx, size_t n)
{
	memcpy(j->gpus, idx, n * sizeof(unsigned));
	j->n_gpus = n;
	leases_take(d, j);
	keeper_put(d, j);
}

/* Steps 2-6 for a job record (new or queued).  1: still waiting for a
 * GPU; 0: launched; -1: refused (r says why). */
static int try_launch(struct sboxd *d, struct job *j, const struct sbox_requester *who,
		      const struct sbox_msg *m, const int *fds, struct refusal *r)
{
	struct sbox_policy p;
	struct sbox_bounds_ctx ctx;
	_cleanup_free_ int *src = NULL;
	unsigned idx[SBOX_PROTO_MAX_GPUS];
	size_t n = 0;
	struct sbox_gpu_selection gpus;
	int rc = -1, busy;

	if (client_stdio_check(m, fds, r) < 0)
		return -1;
	if (build_policy(d, m, &p, r) < 0)
		goto out;
	src = calloc(p.n_mounts ? p.n_mounts : 1, sizeof(int));
	if (!src) {
		sbox_fail(&r->err, ENOMEM, "allocating the bind table");
		refused(r, SBOX_E_INTERNAL);
		goto out;
	}
	if (client_binds_check(d, who, m, fds, &p, src, r) < 0)
		goto out;
	busy = leases_choose(d, who, &p, m->gpu_count, idx, &n, &r->err);
	if (busy < 0) {
		refused(r, busy == -2 ? SBOX_E_BOUND : SBOX_E_POLICY);
		goto out;
	}
	bounds_ctx(d, &ctx, m->gpu_count ? m->gpu_count : p.devices.gpus.n);
	if (check_bounds(d, &p, who, &ctx, &r->err) < 0) {
		refused(r, SBOX_E_BOUND);
		goto out;
	}
	if (busy == 1) {
		rc = (m->flags & SBOX_LAUNCH_WAIT_GPU) ? 1 : refused(r, SBOX_E_BUSY);
		goto out;
	}
	/* Always a selection, even of none: the grant takes exactly the
	 * GPUs chosen from sboxd's own inventory, never the client's text. */
	gpus = (struct sbox_gpu_selection){ .inv = &d->leases.inv, .idx = idx, .n = n };
	if (spawn(d, j, m, fds, &p, src, &gpus, r) < 0)
		goto out;
	hold_gpus(d, j, idx, n);
	job_run_worker(j);        /* S1d: after the keeper's record */
	rc = 0;
out:
	sbox_policy_free(&p);
	return rc;
}

static void set_name(struct job *j, const struct sbox_msg *m)
{
	/* A PLACE has no argv: a placed process is named "placed" unless
	 * it says otherwise. */
	const char *n = m->name ? m->name : m->argv ? m->argv[0] : "placed";
	const char *slash = m->name ? NULL : strrchr(n, '/');

	snprintf(j->name, sizeof(j->name), "%s", slash ? slash + 1 : n);
	sbox_tame_controls(j->name);
}

/* A launch about to wait for a GPU holds its fds (up to 160) and a job
 * slot until then: bounded per user. */
static int check_queue_caps(struct sboxd *d, uid_t uid, size_t nfds, struct refusal *r)
{
	const struct sbox_site_daemon *s = &d->site.daemon;
	unsigned queued = 0;
	size_t fds;

	if (uid == 0)
		return 0;
	for (struct job *j = d->jobs; j; j = j->next)
		queued += !j->dead && j->state == SBOX_JOB_QUEUED && j->uid == uid;
	if (s->max_queued_per_user && queued >= s->max_queued_per_user) {
		sbox_fail(&r->err, EAGAIN, "uid %u has %u launches waiting for a GPU (MaxQueuedJobsPerUser=%u in %s)",
			  (unsigned)uid, queued, s->max_queued_per_user, d->config_path);
		return refused(r, SBOX_E_BUSY);
	}
	fds = sboxd_user_fds(d, uid);
	if (s->max_fds_per_user && fds + nfds > s->max_fds_per_user) {
		sbox_fail(&r->err, EAGAIN, "uid %u makes sboxd hold %zu fds, %zu more to wait for a GPU (MaxFdsPerUser=%u in %s)",
			  (unsigned)uid, fds, nfds, s->max_fds_per_user, d->config_path);
		return refused(r, SBOX_E_BUSY);
	}
	return 0;
}

/* Keep what a retry needs: the request, its fds (parked: park.c; the
 * caller's copies go to the closers), who asked. */
static int enqueue(struct job *j, const struct conn *c, struct sbox_msg *m, int *fds, size_t nfds)
{
	struct queued_launch *q = calloc(1, sizeof(*q));

	if (!q)
		return -1;
	if (fds_park(fds, nfds, &q->park) < 0) {
		free(q);
		return -1;
	}
	close_client_fds(fds, nfds, c->who.uid);
	q->nfds = nfds;
	q->msg = *m;                   /* the request's memory is the queue's now */
	memset(m, 0, sizeof(*m));
	q->seq = q->msg.hdr.seq;
	q->who = c->who;
	memcpy(q->groups, c->groups, sizeof(q->groups));
	q->who.groups = q->groups;
	snprintf(q->user_name, sizeof(q->user_name), "%s", c->user_name);
	q->who.user_name = c->who.user_name ? q->user_name : NULL;
	j->queued = q;
	j->state = SBOX_JOB_QUEUED;
	return 0;
}

/* A LAUNCH this user already made, retried by a client that lost its
 * connection before the answer (a restart of sboxd): answer with the job
 * it started, never start it twice.  The job is the new connection's, as
 * it would be on a WAIT after a restart. */
static bool relaunch(struct sboxd *d, struct conn *c, const struct sbox_msg *m)
{
	struct job *j;

	if (!m->launch_token)
		return false;
	for (j = d->jobs; j; j = j->next)
		if (!j->dead && j->token == m->launch_token && j->uid == c->who.uid)
			break;
	if (!j)
		return false;
	if (!j->detached && !j->owner) {
		j->owner = c;
		c->n_jobs++;
		if (j->reattach_deadline) {
			j->reattach_deadline = 0;
			keeper_put(d, j);
		}
	}
	reply_launched(d, c, m->hdr.seq, j, NULL);
	return true;
}

/* A launch answered before it became a job: the client's fds go (the
 * request is over) before the error goes back. */
static void refuse_request(struct sboxd *d, struct conn *c, const struct sbox_msg *m, int *fds,
			   size_t nfds, uint32_t code, int errnum, const char *msg)
{
	close_client_fds(fds, nfds, c->who.uid);
	conn_send_error(d, c, m->hdr.seq, code, errnum, msg);
}

/* Whether a request may become a job, with its id; -1 when it is
 * answered already: refused (sboxd stopping, the limits, no id), or a
 * retried launch that relaunch() answers with the job it started. */
static int admit(struct sboxd *d, struct conn *c, const struct sbox_msg *m, int *fds,
		 size_t nfds, uint64_t *id)
{
	struct refusal r = { 0 };

	if (d->stopping) {
		refuse_request(d, c, m, fds, nfds, SBOX_E_BUSY, EAGAIN, "sboxd is stopping");
		return -1;
	}
	if (relaunch(d, c, m)) {
		close_client_fds(fds, nfds, c->who.uid);
		return -1;
	}
	if (check_limits(d, c->who.uid, &r) < 0) {
		refuse_request(d, c, m, fds, nfds, r.code, r.err.errnum, r.err.msg);
		return -1;
	}
	if (ids_take(d, id, &r.err) < 0) {
		refuse_request(d, c, m, fds, nfds, SBOX_E_INTERNAL, r.err.errnum, r.err.msg);
		return -1;
	}
	return 0;
}

/* The job for an admitted request, owned by its user; NULL when the
 * request is answered already. */
static struct job *new_job(struct sboxd *d, struct conn *c, const struct sbox_msg *m, int *fds,
			   size_t nfds)
{
	struct job *j;
	uint64_t id;

	if (admit(d, c, m, fds, nfds, &id) < 0)
		return NULL;
	j = job_new(d, id);
	if (!j) {
		refuse_request(d, c, m, fds, nfds, SBOX_E_INTERNAL, ENOMEM, "out of memory");
		return NULL;
	}
	j->uid = c->who.uid;
	j->gid = c->who.gid;
	j->token = m->launch_token;
	j->detached = m->flags & SBOX_LAUNCH_DETACH;
	set_name(j, m);
	return j;
}

/* 0: launched; 1: queued until its GPUs come free (within the queue's
 * caps); -1: refused, r says why. */
static int launch_or_queue(struct sboxd *d, struct job *j, struct conn *c, struct sbox_msg *m,
			   int *fds, size_t nfds, struct refusal *r)
{
	int rc = try_launch(d, j, &c->who, m, fds, r);

	if (rc == 1 && check_queue_caps(d, c->who.uid, nfds, r) < 0)
		rc = -1;
	else if (rc == 1 && enqueue(j, c, m, fds, nfds) < 0) {
		sbox_fail(&r->err, errno, "queueing the launch");
		rc = refused(r, SBOX_E_INTERNAL);
	}
	return rc;
}

void launch_job(struct sboxd *d, struct conn *c, struct sbox_msg *m, int *fds, size_t nfds)
{
	struct refusal r = { 0 };
	struct job *j = new_job(d, c, m, fds, nfds);
	int rc;

	if (!j)
		return;
	rc = launch_or_queue(d, j, c, m, fds, nfds, &r);
	if (rc < 0) {
		close_client_fds(fds, nfds, c->who.uid);
		j->dead = true;
		d->have_dead = true;
		conn_send_error(d, c, m->hdr.seq, r.code, r.err.errnum, r.err.msg);
		return;
	}
	if (rc == 0)
		close_client_fds(fds, nfds, c->who.uid);  /* the sandbox has its own copies */
	else
		keeper_put(d, j);             /* queued: a successor queues it again */
	if (!j->detached) {
		j->owner = c;
		c->n_jobs++;
	}
	reply_launched(d, c, rc == 1 ? j->queued->seq : m->hdr.seq, j, NULL);
}

/* A queued launch's policy (the site's [Defaults], then its text) and
 * whether it is within the site's [Bounds], judged at its first retry and
 * kept: neither changes while it waits (the site configuration is read at
 * start only), and every GPU that comes free asks every queued launch
 * again.  Parsing each one's text each time, 16 launches of 120 KiB made
 * one GPU job's end cost the loop 185 ms (found by review). */
static void judge_queued(struct sboxd *d, struct queued_launch *q)
{
	struct sbox_bounds_ctx ctx;
	struct refusal r = { 0 };

	q->judged = true;
	if (build_policy(d, &q->msg, &q->policy, &r) < 0)
		return;
	bounds_ctx(d, &ctx, q->msg.gpu_count ? q->msg.gpu_count : q->policy.devices.gpus.n);
	q->bounds_ok = check_bounds(d, &q->policy, &q->who, &ctx, &r.err) == 0;
}

/* Whether a queued launch's GPUs are still leased, asked without its fds
 * (try_launch()'s checks up to its "busy", less those of the fds): a retry
 * takes them back (a copy each, closed after) only to launch.  Any other
 * answer (free, refused) is try_launch()'s to give. */
static bool still_waits(struct sboxd *d, struct queued_launch *q)
{
	struct sbox_err err = { 0 };
	unsigned idx[SBOX_PROTO_MAX_GPUS];
	size_t n = 0;

	if (!q->judged)
		judge_queued(d, q);
	return q->bounds_ok &&
	       leases_choose(d, &q->who, &q->policy, q->msg.gpu_count, idx, &n, &err) == 1;
}

/* One step of a retry round (jobs_retry_queued): try the queued launches
 * not yet tried in this round, oldest first.  Returns the first one refused
 * now (its errnum and msg say why; the caller ends it), or NULL once the
 * round is over (then its marks are cleared for the next). */
struct job *launch_retry_next(struct sboxd *d)
{
	for (;;) {
		struct job *oldest = NULL;
		struct refusal r = { 0 };
		struct queued_launch *q;
		int fds[SBOX_FDPASS_MAX], rc;

		for (struct job *j = d->jobs; j; j = j->next)
			if (!j->dead && j->state == SBOX_JOB_QUEUED && !j->queued->tried &&
			    (!oldest || j->id < oldest->id))
				oldest = j;
		if (!oldest)
			break;
		q = oldest->queued;
		q->tried = true;
		if (still_waits(d, q))
			continue;
		if (fds_unpark(q->park, fds, q->nfds, q->who.uid) < 0) {
			rc = -1;
			sbox_fail(&r.err, errno, "taking back the fds the launch waited with");
		} else {
			rc = try_launch(d, oldest, &q->who, &q->msg, fds, &r);
			/* Launched, the sandbox has its own copies. */
			close_client_fds(fds, q->nfds, q->who.uid);
		}
		if (rc == 1)
			continue;
		if (rc == 0) {
			oldest->queued = NULL;
			queued_free(q);        /* its park goes to a closer */
			continue;
		}
		/* Refused now (the sandbox could not be started): the caller
		 * ends the job with the reason, as a set-up failure. */
		oldest->errnum = (uint32_t)r.err.errnum;
		snprintf(oldest->msg, sizeof(oldest->msg), "%s", r.err.msg);
		return oldest;
	}
	for (struct job *j = d->jobs; j; j = j->next)
		if (j->queued)
			j->queued->tried = false;
	return NULL;
}

/* PLACE (sboxd/place.c) is admitted as a LAUNCH is: the job limits, an id,
 * owned by its user.  NULL when it is answered already (refused). */
struct job *launch_admit(struct sboxd *d, struct conn *c, const struct sbox_msg *m)
{
	return new_job(d, c, m, NULL, 0);
}

/* PLACE's policy, through LAUNCH's steps: the site's [Defaults], the
 * request's text, validation, the GPU leases (GPU_COUNT or GPUs=), the
 * site's [Bounds].  A GPU leased by another job is BUSY at once (a placed
 * process can't be queued: it waits for the answer).  -1: *code and err
 * say why. */
int launch_place_policy(struct sboxd *d, const struct sbox_requester *who,
			const struct sbox_msg *m, struct sbox_policy *p, unsigned *idx, size_t *n,
			uint32_t *code, struct sbox_err *err)
{
	struct refusal r = { 0 };
	struct sbox_bounds_ctx ctx;
	int busy;

	if (build_policy(d, m, p, &r) < 0)
		goto fail;
	busy = leases_choose(d, who, p, m->gpu_count, idx, n, &r.err);
	if (busy < 0) {
		refused(&r, busy == -2 ? SBOX_E_BOUND : SBOX_E_POLICY);
		goto fail;
	}
	bounds_ctx(d, &ctx, m->gpu_count ? m->gpu_count : p->devices.gpus.n);
	if (check_bounds(d, p, who, &ctx, &r.err) < 0) {
		refused(&r, SBOX_E_BOUND);
		goto fail;
	}
	if (busy == 1) {
		refused(&r, SBOX_E_BUSY);
		goto fail;
	}
	return 0;
fail:
	*code = r.code;
	*err = r.err;
	return -1;
}

/* PLACE's placed process becomes the job's as a sandbox does, with the
 * GPUs leased for it (idx, n); its answer is LAUNCH's. */
int launch_take_child(struct sboxd *d, struct job *j, struct sbox_child *child,
		      const struct sbox_policy *p, const unsigned *idx, size_t n,
		      struct sbox_err *err)
{
	struct refusal r = { 0 };

	if (give_to_job(d, j, child, &r) < 0) {
		*err = r.err;
		return -1;
	}
	mark_started(d, j, p);
	hold_gpus(d, j, idx, n);
	return 0;
}

void launch_reply(struct sboxd *d, struct conn *c, uint32_t seq, const struct job *j,
		  char *const *env)
{
	reply_launched(d, c, seq, j, env);
}
