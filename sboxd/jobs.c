/* SPDX-License-Identifier: MIT */
/*
 * Jobs: a sandbox sboxd started (or re-adopted, or queued for a GPU), from
 * its launch to the moment its end has been told.  A job's end is learnt
 * from init's EMPTIED (nothing of the sandbox runs but init, exiting:
 * job_on_event) or else from its pidfd (init is gone), after the events
 * on its channel (started, set-up failed, exec failed, exited) have been
 * read.  The end is sent to
 * every WAIT on it; the record is then dropped, or kept until someone
 * waits: a detached job's (also across a restart, through the keeper), or
 * one whose client may still come back (ReattachTimeoutSec=).
 *
 * Who may touch a job: its user, and root.  Another user's job is "no such
 * job", so that ids leak nothing.
 */
#include "sboxd/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/net_host.h"
#include "sandbox/netns_pool.h"

static void job_forget(struct sboxd *d, struct job *j)
{
	if (j->dead)
		return;
	if (j->owner) {
		j->owner->n_jobs--;
		j->owner = NULL;
	}
	/* Nobody is left to tell (jobs_on_net_reaped). */
	if (j->net_ending) {
		j->net_ending = false;
		d->n_net_ending--;
	}
	/* A cgroup still being removed stays on record until it is gone. */
	if (j->ending_cgroup)
		keeper_put_teardown(d, j);
	else
		keeper_del(d, j->id);
	j->dead = true;
	d->have_dead = true;
}

static bool may_see(const struct conn *c, const struct job *j)
{
	return c->who.uid == 0 || c->who.uid == j->uid;
}

static struct job *find_job(struct sboxd *d, const struct conn *c, uint64_t id)
{
	for (struct job *j = d->jobs; j; j = j->next)
		if (j->id == id && !j->dead && may_see(c, j))
			return j;
	return NULL;
}

/* A WAIT or SIGNAL that names the job by its LAUNCH_TOKEN too gets that
 * job or none: a number alone could be another's, had an id ever come
 * back (docs/protocol.md, "Lifetimes"). */
static struct job *find_job_of(struct sboxd *d, const struct conn *c, const struct sbox_msg *m)
{
	struct job *j = find_job(d, c, m->job_id);

	return j && (!m->launch_token || j->token == m->launch_token) ? j : NULL;
}

static void no_job(struct sboxd *d, struct conn *c, uint32_t seq, uint64_t id)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "no job %llu (of uid %u)", (unsigned long long)id,
		 (unsigned)c->who.uid);
	conn_send_error(d, c, seq, SBOX_E_NOJOB, ESRCH, msg);
}

static void send_exit(struct sboxd *d, struct conn *c, uint32_t seq, const struct job *j)
{
	struct sbox_mb b = { 0 };

	sbox_mb_begin(&b, SBOX_MSG_EXIT, seq);
	sbox_mb_u64(&b, SBOX_ATTR_JOB_ID, j->id);
	job_put_end(&b, j);
	conn_send(d, c, &b);
	sbox_mb_free(&b);
}

/* How a job ends: the events init sent are read until its pidfd says it
 * is gone; it is then reaped, its outcome decided once, and the end told
 * to every WAIT (finalize). */

static void close_event(struct sboxd *d, struct job *j)
{
	if (!j->event_open)
		return;
	sboxd_unwatch(d, sbox_child_event_fd(j->child));
	j->event_open = false;
}

static void read_events(struct sboxd *d, struct job *j)
{
	struct sbox_event ev;
	struct sbox_err err = { 0 };

	while (j->event_open) {
		int r = sbox_child_read_event(j->child, &ev, &err);

		if (r < 0 && err.errnum == EAGAIN)
			return;
		if (r <= 0) {
			if (r < 0)
				sboxd_log("job %llu: %s", (unsigned long long)j->id, err.msg);
			close_event(d, j);
			return;
		}
		switch (ev.kind) {
		case SBOX_EV_STARTED:
			j->state = SBOX_JOB_RUNNING;
			keeper_put(d, j);     /* a successor lists it as running */
			/* A shape proves itself by a worker that ran (after the
			 * keeper's record: a new shape may evict another's
			 * sandboxes, which takes time). */
			pool_note_commit(d, j->pool_note);
			j->pool_note = NULL;
			break;
		case SBOX_EV_SETUP_FAILED:
			j->setup_failed = true;
			j->errnum = (uint32_t)ev.errnum;
			snprintf(j->msg, sizeof(j->msg), "%s", ev.msg);
			break;
		case SBOX_EV_EXEC_FAILED:
			j->exec_failed = true;
			j->errnum = (uint32_t)ev.errnum;
			snprintf(j->msg, sizeof(j->msg), "%s", ev.msg);
			break;
		case SBOX_EV_EXITED:
			j->exited = true;
			j->status = ev.status;
			break;
		case SBOX_EV_EMPTIED:
			j->emptied = true;
			break;
		default:
			break;
		}
	}
}

static void job_end(struct sboxd *d, struct job *j, int init_status, bool reaped);

/* EMPTIED, after EXITED, says nothing of the sandbox runs but init (S4b):
 * the job ends there, not at init's exit a millisecond later, and init is
 * reaped with the rest of the end, off the loop (docs/security.md, "The
 * end is told at EMPTIED").  Not a job with GPUs: init, alive in the
 * cgroup, would keep the lease past the EXIT, and a client's next launch
 * on the same GPU would find it busy. */
void job_on_event(struct sboxd *d, struct job *j)
{
	read_events(d, j);
	if (j->exited && j->emptied && j->child && j->state != SBOX_JOB_ENDED &&
	    j->n_gpus == 0 && sbox_child_end_at_emptied(j->child))
		job_end(d, j, -1, false);
}

_Static_assert((int)SBOX_STATS_CPU == (int)SBOX_STAT_CPU &&
	       (int)SBOX_STATS_MEMORY_PEAK == (int)SBOX_STAT_MEMORY_PEAK &&
	       (int)SBOX_STATS_OOM == (int)SBOX_STAT_OOM, "stats bits");

/* The sandbox's figures so far (final once init is reaped). */
static void read_stats(struct job *j, struct sbox_msg_stats *out)
{
	struct sbox_err err = { 0 };
	struct sbox_stats st;

	memset(out, 0, sizeof(*out));
	if (!j->child || sbox_child_stats(j->child, &st, &err) < 0) {
		out->wall_usec = j->start_mono ? sboxd_now() - j->start_mono : 0;
		return;
	}
	out->valid = true;
	out->have = st.have;
	out->cgroup_version = (uint32_t)st.cgroup_version;
	/* An adopted sandbox's start is ours to know (the keeper's record). */
	out->wall_usec = st.wall_usec ? st.wall_usec : (j->start_mono ? sboxd_now() - j->start_mono : 0);
	out->cpu_user_usec = st.cpu_user_usec;
	out->cpu_sys_usec = st.cpu_system_usec;
	out->mem_peak = st.memory_peak;
	out->oom_kills = st.oom_kills;
}

static void decide_outcome(struct job *j, int init_status)
{
	if (j->exec_failed) {
		j->outcome = SBOX_OUTCOME_EXEC_FAILED;
	} else if (j->setup_failed) {
		j->outcome = SBOX_OUTCOME_SETUP_FAILED;
	} else if (j->exited) {
		j->outcome = SBOX_OUTCOME_EXITED;
	} else if (j->placed) {
		/* Its parent (a zygote's template) reaps it, and alone learns
		 * its status: the figures are the cgroup's. */
		j->outcome = SBOX_OUTCOME_LOST;
		snprintf(j->msg, sizeof(j->msg), "a placed process's exit status is its parent's to know");
	} else if (init_status != -1) {
		/* init died without a report: killed from outside, or by
		 * the OOM killer. */
		j->outcome = SBOX_OUTCOME_KILLED;
		j->status = init_status;
	} else {
		j->outcome = SBOX_OUTCOME_LOST;
		snprintf(j->msg, sizeof(j->msg), "job %llu ended while sboxd was away, without a report",
			 (unsigned long long)j->id);
	}
	/* The OOM killer's signal is SIGKILL: a worker (or init) that died
	 * of it while the cgroup counted a kill was its victim (as
	 * sboxrun/status.c judges it for sboxrun). */
	if ((j->stats.have & SBOX_STATS_OOM) && j->stats.oom_kills > 0 && !j->timeout) {
		int st = j->outcome == SBOX_OUTCOME_EXITED || j->outcome == SBOX_OUTCOME_KILLED ?
			 j->status : 0;

		j->oom = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
	}
}

/* Ended records kept for a WAIT cost memory here and in the keeper until
 * someone asks: a user who detaches and never waits would grow them
 * without bound.  Past MaxEndedJobsPerUser=, the user's oldest go, as
 * many as it takes: a successor started with a lower cap recovers more
 * than it keeps. */
void jobs_trim_ended(struct sboxd *d, uid_t uid)
{
	unsigned cap = d->site.daemon.max_ended_per_user;

	if (uid == 0 || cap == 0)
		return;
	for (;;) {
		struct job *oldest = NULL;
		unsigned n = 0;

		for (struct job *j = d->jobs; j; j = j->next)
			if (!j->dead && j->uid == uid && j->state == SBOX_JOB_ENDED) {
				n++;
				if (!oldest || j->id < oldest->id)
					oldest = j;
			}
		if (n <= cap)
			return;
		sboxd_log("job %llu of uid %u: its end was never asked for; dropped (MaxEndedJobsPerUser=%u)",
			  (unsigned long long)oldest->id, (unsigned)uid, cap);
		job_forget(d, oldest);
	}
}

/* An end finished (by a teardown thread, or in place): a netns judged
 * clean goes back to the pool for its user's next sandbox, the child is
 * freed, and GPUs held until now go back.  True when one came free. */
static bool end_done(struct sboxd *d, const struct teardown_done *t)
{
	uint64_t owner;
	int ns = sbox_child_recycled_netns(t->child, &owner);
	bool gone = sbox_child_empty(t->child);

	if (t->r < 0 && t->job_id)
		sboxd_log("job %llu: %s", (unsigned long long)t->job_id, t->err.msg);
	else if (t->r < 0)
		sboxd_log("pool: a prepared sandbox's end: %s", t->err.msg);
	if (ns >= 0)
		sbox_netns_pool_give(d->netns_pool, ns, owner);
	/* An end at EMPTIED left the mount namespace with the child until
	 * init was reaped (job_end). */
	sboxd_close_client_fd(sbox_child_take_mount_ns(t->child), t->uid);
	sbox_child_free(t->child);
	if (!t->lease_held)
		return false;
	/* A process that could not be killed may still use the GPU: never
	 * handed to another job (until sboxd restarts), and said so. */
	if (!gone) {
		sboxd_log("job %llu: its GPUs stay leased: processes are still in its cgroup",
			  (unsigned long long)t->job_id);
		return false;
	}
	return leases_release_id(d, t->job_id);
}

/* The keeper's record of a job whose end a thread finished: without the
 * cgroup now gone, or none when the job is forgotten.  Id 0: a pool's
 * prepared sandbox, never a job nor the keeper's. */
static void end_recorded(struct sboxd *d, uint64_t id)
{
	if (id == 0)
		return;
	for (struct job *j = d->jobs; j; j = j->next) {
		if (j->id != id || !j->ending_cgroup)
			continue;
		j->ending_cgroup = NULL;    /* freed with the child */
		if (!j->dead) {
			keeper_put(d, j);
			return;
		}
	}
	keeper_del(d, id);
}

/* Hand the reaped sandbox's end to the teardown threads (its figures are
 * read already).  Its GPUs go back at once when no process of it is left
 * to reach them, the usual case: init's end took the pid namespace, and
 * every process in it, along (docs/security.md, "Teardown off the loop").
 * True when they stay leased until the end is done. */
static bool end_child(struct sboxd *d, struct job *j)
{
	struct teardown_done t = { .child = j->child, .job_id = j->id, .uid = j->uid };
	const char *cgroup = sbox_child_cgroup_path(j->child);

	t.lease_held = j->n_gpus > 0 && !sbox_child_empty(j->child);
	j->child = NULL;
	if (teardown_give(t.child, t.job_id, t.uid, t.lease_held)) {
		/* finalize's record of the job says it, for a successor. */
		j->ending_cgroup = cgroup;
		return t.lease_held;
	}
	/* Queue full (logged): ended here, as before the threads; slower
	 * for everyone, but nothing is left behind.  The GPUs go back with
	 * finalize's, unless even this end left a process (end_done says). */
	t.r = sbox_child_end(t.child, &t.err);
	t.lease_held = j->n_gpus > 0 && !sbox_child_empty(t.child);
	end_done(d, &t);
	return t.lease_held;
}

/* Collect what the threads finished: true when a GPU came free. */
static bool collect_ends(struct sboxd *d)
{
	struct teardown_done t;
	bool freed = false;

	while (teardown_collect(&t)) {
		end_recorded(d, t.job_id);
		freed |= end_done(d, &t);
	}
	return freed;
}

void jobs_on_teardown(struct sboxd *d)
{
	if (collect_ends(d))
		jobs_retry_queued(d);
}

/* At the end: no queued launch is retried any more. */
void jobs_finish_teardown(struct sboxd *d, unsigned timeout_ms)
{
	if (teardown_in_flight() == 0)
		return;
	if (!teardown_settle(timeout_ms))
		sboxd_log("stopping with %zu sandbox ends unfinished: the keeper's records name their cgroups for the next sboxd",
			  teardown_in_flight());
	collect_ends(d);
}

/* The job is over: tell whoever waits, give its GPUs back. */
/* Tell the end to whoever waits: then the job is forgotten, or kept for
 * a WAIT to come. */
static void tell_end(struct sboxd *d, struct job *j)
{
	bool told = false;
	struct waiter *w, *wn;

	/* The list is taken off the job before the walk: a send may close a
	 * connection (EPIPE), which only marks it dead (conn_close); its
	 * waiters stay allocated and are skipped here. */
	w = j->waiters;
	j->waiters = NULL;
	for (; w; w = wn) {
		wn = w->next;
		if (!w->conn->dead) {
			w->conn->n_waits--;
			send_exit(d, w->conn, w->seq, j);
			told = true;
		}
		free(w);
	}
	/* Told, or nobody left to tell: gone.  Otherwise the end is kept
	 * (also by the keeper, so that it survives a restart) for the WAIT
	 * of its owner, of whoever detached it, or of a client coming back. */
	/* A placed process's end is its template's to learn: told to
	 * whoever waits, never kept. */
	if (told || j->placed || (!j->detached && !j->owner && !j->reattach_deadline)) {
		job_forget(d, j);
	} else {
		keeper_put(d, j);
		jobs_trim_ended(d, j->uid);
	}
}

static void finalize(struct sboxd *d, struct job *j)
{
	bool held = false;

	j->state = SBOX_JOB_ENDED;
	if (!j->stats.valid && !j->stats.wall_usec)
		j->stats.wall_usec = j->start_mono ? sboxd_now() - j->start_mono : 0;
	if (j->child) {
		close_event(d, j);
		sboxd_unwatch(d, sbox_child_pidfd(j->child));
		held = end_child(d, j);
	}
	/* Told later, once its veth's address is back; recorded now, so that
	 * a successor has the end. */
	if (j->net_ending)
		keeper_put(d, j);
	else
		tell_end(d, j);
	if (!held && leases_release(d, j))
		jobs_retry_queued(d);
}

/* A veth sandbox's pair goes to the reaper when init is reaped, and the
 * kernel deletes it with the netns a few ms later (5-27 ms measured), or
 * the reaper's thread after 2 s.  Its end is told only once the address
 * is back, as sboxrun's own end (a synchronous delete) does: a client
 * that launches again as soon as it is told finds the address free
 * (found by a hostile review: 10 of 30 back-to-back launches on a full
 * /28 were refused, "held by live sandboxes", with none of them
 * alive).  Waiting costs the loop nothing: the reaper looks every 5 ms. */
static void note_net_ending(struct sboxd *d, struct job *j, int lease_fd, uint32_t block)
{
	if (lease_fd < 0 || !sbox_net_reaper_holds(d->net_reaper, block))
		return;
	j->net_ending = true;
	j->net_block = block;
	d->n_net_ending++;
}

void jobs_on_net_reaped(struct sboxd *d)
{
	if (d->n_net_ending == 0)
		return;
	for (struct job *j = d->jobs; j; j = j->next) {
		if (!j->net_ending || sbox_net_reaper_holds(d->net_reaper, j->net_block))
			continue;
		j->net_ending = false;
		d->n_net_ending--;
		tell_end(d, j);      /* never a forgotten one: job_forget clears it */
	}
}

void job_on_exit(struct sboxd *d, struct job *j)
{
	struct sbox_err err = { 0 };
	uint32_t block;
	int st = -1, lease;

	if (!j->child || j->state == SBOX_JOB_ENDED)
		return;
	/* Everything init said before it went is queued on the channel;
	 * its EMPTIED may end the job (job_on_event). */
	job_on_event(d, j);
	if (!j->child || j->state == SBOX_JOB_ENDED)
		return;
	lease = sbox_child_lease(j->child, &block);
	if (sbox_child_reap(j->child, &st, &err) < 0) {
		sboxd_log("job %llu: %s", (unsigned long long)j->id, err.msg);
		st = -1;
	}
	note_net_ending(d, j, lease, block);
	job_end(d, j, st, true);
}

/* The end's figures, its outcome, and the end told (finalize). */
static void job_end(struct sboxd *d, struct job *j, int init_status, bool reaped)
{
	int mntns;

	read_stats(j, &j->stats);
	decide_outcome(j, init_status);
	/* Its mount namespace goes after the EXIT reply, by a closer thread,
	 * not behind other sandboxes' slow ends in the teardown threads, and
	 * never in the loop: the last close of a namespace holding the last
	 * mount of a FUSE file system may wait for its server.  Once init is
	 * reaped: an end at EMPTIED leaves it to end_done(), so that the
	 * namespace's end is never in init's exit, which a teardown thread
	 * waits for. */
	mntns = j->child && reaped ? sbox_child_take_mount_ns(j->child) : -1;
	finalize(d, j);
	sboxd_close_client_fd(mntns, j->uid);
}

/* End a job that never started (queued, then cancelled or refused). */
static void job_end_unstarted(struct sboxd *d, struct job *j, uint32_t outcome, int status)
{
	queued_free(j->queued);
	j->queued = NULL;
	j->outcome = outcome;
	j->status = status;
	finalize(d, j);
}

/* A GPU came free (or sboxd came up with launches queued): retry the
 * queued launches, oldest first; one refused now ends as a set-up
 * failure, with the reason.  Not again while a round is under way (an
 * end told here may free a GPU). */
void jobs_retry_queued(struct sboxd *d)
{
	static bool busy;
	struct job *refused;

	if (busy)
		return;
	busy = true;
	while ((refused = launch_retry_next(d)))
		job_end_unstarted(d, refused, SBOX_OUTCOME_SETUP_FAILED, 0);
	busy = false;
}

/* A queued job that will never start: tell as if it had been killed. */
static void cancel_queued(struct sboxd *d, struct job *j, int sig)
{
	job_end_unstarted(d, j, SBOX_OUTCOME_KILLED, sig);
}

/* The requests but LAUNCH (launch.c).  A job is found only by those who
 * may see it (may_see): another user's id is "no such job". */

/* Each WAIT costs memory until the job ends, and an EXIT sent at its end,
 * in one turn of the loop: bounded per connection, and per user but root
 * (64 connections of 4096 WAITs each, told at one job's end, held every
 * other client up for half a second; found by review). */
static bool too_many_waits(struct sboxd *d, struct conn *c, uint32_t seq)
{
	char msg[128];

	if (c->n_waits >= SBOXD_MAX_WAITS) {
		conn_send_error(d, c, seq, SBOX_E_BUSY, EAGAIN,
				"too many WAITs pending on one connection");
		return true;
	}
	if (c->who.uid == 0 || sboxd_user_waits(d, c->who.uid) < SBOXD_MAX_WAITS)
		return false;
	snprintf(msg, sizeof(msg), "uid %u has %d WAITs pending on its connections (at most %d)",
		 (unsigned)c->who.uid, SBOXD_MAX_WAITS, SBOXD_MAX_WAITS);
	conn_send_error(d, c, seq, SBOX_E_BUSY, EAGAIN, msg);
	return true;
}

static void handle_wait(struct sboxd *d, struct conn *c, const struct sbox_msg *m)
{
	struct job *j = find_job_of(d, c, m);
	struct waiter *w;

	if (!j) {
		no_job(d, c, m->hdr.seq, m->job_id);
		return;
	}
	if (j->state == SBOX_JOB_ENDED && !j->net_ending) {
		send_exit(d, c, m->hdr.seq, j);
		job_forget(d, j);
		return;
	}
	if (too_many_waits(d, c, m->hdr.seq))
		return;
	w = calloc(1, sizeof(*w));
	if (!w) {
		conn_send_error(d, c, m->hdr.seq, SBOX_E_INTERNAL, ENOMEM, "out of memory");
		return;
	}
	w->conn = c;
	w->seq = m->hdr.seq;
	w->next = j->waiters;
	j->waiters = w;
	c->n_waits++;
	/* A job that lost its client (sboxd restarted) is the new
	 * connection's now: it dies with it, as it would have. */
	if (!j->detached && !j->owner && j->uid == c->who.uid) {
		j->owner = c;
		c->n_jobs++;
		if (j->reattach_deadline) {
			j->reattach_deadline = 0;
			keeper_put(d, j);
		}
	}
}

static void handle_signal(struct sboxd *d, struct conn *c, const struct sbox_msg *m)
{
	struct job *j = find_job_of(d, c, m);
	struct sbox_err err = { 0 };
	struct sbox_mb b = { 0 };
	int sig = (int)m->signal;

	if (!j) {
		no_job(d, c, m->hdr.seq, m->job_id);
		return;
	}
	if (j->state == SBOX_JOB_ENDED) {
		conn_send_error(d, c, m->hdr.seq, SBOX_E_NOJOB, ESRCH, "the job has ended");
		return;
	}
	if (j->state == SBOX_JOB_QUEUED) {
		if (sig == SIGKILL || sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
			sbox_mb_begin(&b, SBOX_MSG_OK, m->hdr.seq);
			sbox_mb_u64(&b, SBOX_ATTR_JOB_ID, j->id);
			conn_send(d, c, &b);
			sbox_mb_free(&b);
			cancel_queued(d, j, sig);
			return;
		}
		conn_send_error(d, c, m->hdr.seq, SBOX_E_BUSY, EAGAIN,
				"the job is waiting for a GPU: only a terminating signal cancels it");
		return;
	}
	if (sbox_child_signal(j->child, sig, &err) < 0) {
		conn_send_error(d, c, m->hdr.seq, SBOX_E_INTERNAL, err.errnum, err.msg);
		return;
	}
	sbox_mb_begin(&b, SBOX_MSG_OK, m->hdr.seq);
	sbox_mb_u64(&b, SBOX_ATTR_JOB_ID, j->id);
	conn_send(d, c, &b);
	sbox_mb_free(&b);
}

static void handle_list(struct sboxd *d, struct conn *c, uint32_t seq)
{
	struct sbox_mb b = { 0 };

	sbox_mb_begin(&b, SBOX_MSG_JOBS, seq);
	for (struct job *j = d->jobs; j; j = j->next) {
		size_t mark = sbox_mb_mark(&b);

		if (j->dead || !may_see(c, j))
			continue;
		job_record(&b, j);
		if (b.overflow) {
			sbox_mb_rewind(&b, mark);
			sbox_mb_u32(&b, SBOX_ATTR_TRUNCATED, 1);
			break;
		}
	}
	conn_send(d, c, &b);
	sbox_mb_free(&b);
}

static void handle_stats(struct sboxd *d, struct conn *c, const struct sbox_msg *m)
{
	struct job *j = find_job(d, c, m->job_id);
	struct sbox_msg_stats st;
	struct sbox_mb b = { 0 };

	if (!j) {
		no_job(d, c, m->hdr.seq, m->job_id);
		return;
	}
	st = j->stats;
	if (j->state != SBOX_JOB_ENDED)
		read_stats(j, &st);
	sbox_mb_begin(&b, SBOX_MSG_STATS_REPLY, m->hdr.seq);
	sbox_mb_u64(&b, SBOX_ATTR_JOB_ID, j->id);
	sbox_mb_u32(&b, SBOX_ATTR_STATE, j->state);
	sbox_mb_stats(&b, &st);
	conn_send(d, c, &b);
	sbox_mb_free(&b);
}

static void handle_ping(struct sboxd *d, struct conn *c, uint32_t seq)
{
	struct sbox_mb b = { 0 };

	sbox_mb_begin(&b, SBOX_MSG_PONG, seq);
	sbox_mb_u32(&b, SBOX_ATTR_PROTO_VERSION, SBOX_PROTO_VERSION);
	sbox_mb_u32(&b, SBOX_ATTR_FEATURES, SBOX_FEATURE_LAUNCH_TOKEN);
	sbox_mb_str(&b, SBOX_ATTR_SERVER_VERSION, "sboxd " SBOX_VERSION);
	conn_send(d, c, &b);
	sbox_mb_free(&b);
}

static void handle_gpus(struct sboxd *d, struct conn *c, uint32_t seq)
{
	struct sbox_mb b = { 0 };

	leases_list(d, &c->who, seq, &b);
	conn_send(d, c, &b);
	sbox_mb_free(&b);
}

void jobs_handle(struct sboxd *d, struct conn *c, struct sbox_msg *m, int *fds, size_t nfds)
{
	if (c->place_only && m->hdr.type != SBOX_MSG_PLACE) {
		conn_send_error(d, c, m->hdr.seq, SBOX_E_DENIED, EPERM,
				"a client in another pid namespace may only PLACE itself (AllowNestedClients=no)");
		close_client_fds(fds, nfds, c->who.uid);
		return;
	}
	switch (m->hdr.type) {
	case SBOX_MSG_PING:
		handle_ping(d, c, m->hdr.seq);
		break;
	case SBOX_MSG_LAUNCH:
		launch_job(d, c, m, fds, nfds);   /* owns the fds from here */
		return;
	case SBOX_MSG_WAIT:
		handle_wait(d, c, m);
		break;
	case SBOX_MSG_SIGNAL:
		handle_signal(d, c, m);
		break;
	case SBOX_MSG_LIST:
		handle_list(d, c, m->hdr.seq);
		break;
	case SBOX_MSG_STATS:
		handle_stats(d, c, m);
		break;
	case SBOX_MSG_GPUS:
		handle_gpus(d, c, m->hdr.seq);
		break;
	case SBOX_MSG_PLACE:
		place_job(d, c, m);
		break;
	default:
		conn_send_error(d, c, m->hdr.seq, SBOX_E_PROTO, EPROTO, "unexpected message");
		break;
	}
	close_client_fds(fds, nfds, c->who.uid);
}

/* What happens to jobs without a request: their client goes, a deadline
 * passes, sboxd stops. */

void jobs_conn_gone(struct sboxd *d, struct conn *c)
{
	struct sbox_err err = { 0 };

	/* Its waiters are left in place (a walk over a job's waiters may be
	 * under way further up) and dropped by jobs_drop_dead_waiters once
	 * the loop's batch is done. */
	c->n_waits = 0;
	for (struct job *j = d->jobs; j; j = j->next) {
		if (j->owner != c || j->dead)
			continue;
		/* Its client is gone: a job that was not detached goes too. */
		c->n_jobs--;
		j->owner = NULL;
		if (j->state == SBOX_JOB_QUEUED)
			cancel_queued(d, j, SIGKILL);
		else if (j->state == SBOX_JOB_ENDED)
			job_forget(d, j);
		else if (j->child && sbox_child_signal(j->child, SIGKILL, &err) < 0)
			sboxd_log("job %llu: %s", (unsigned long long)j->id, err.msg);
	}
}

void jobs_drop_dead_waiters(struct sboxd *d)
{
	for (struct job *j = d->jobs; j; j = j->next) {
		struct waiter **pw = &j->waiters;

		while (*pw) {
			struct waiter *w = *pw;

			if (w->conn->dead) {
				*pw = w->next;
				free(w);
			} else {
				pw = &w->next;
			}
		}
	}
}

/* RuntimeMaxSec=: sboxd enforces it as sboxrun does in direct mode, on
 * the worker: once it has ended (EXITED), what init still does (emptying
 * the sandbox, up to 2 s) is not the worker's time. */
static void check_runtime(struct job *j, uint64_t now, uint64_t *next)
{
	struct sbox_err err = { 0 };

	if (j->dead || !j->runtime_deadline || !j->child || j->state == SBOX_JOB_ENDED ||
	    j->exited)
		return;
	if (j->runtime_deadline > now) {
		if (j->runtime_deadline < *next)
			*next = j->runtime_deadline;
		return;
	}
	j->runtime_deadline = 0;
	j->timeout = true;
	if (sbox_child_signal(j->child, SIGKILL, &err) < 0)
		sboxd_log("job %llu: %s", (unsigned long long)j->id, err.msg);
}

void job_set_deadline(struct sboxd *d, uint64_t *field, uint64_t when)
{
	*field = when;
	if (when && when < d->deadlines_from)
		d->deadlines_from = when;
}

/* The loop turns several times per launch: walking a thousand live jobs
 * on each turn made a launch cost more the more sandboxes ran.  The walk
 * runs once the earliest deadline is due, and finds the next one. */
void jobs_check_deadlines(struct sboxd *d, uint64_t now, uint64_t *next)
{
	struct sbox_err err = { 0 };
	uint64_t earliest = UINT64_MAX;

	if (now < d->deadlines_from) {
		if (d->deadlines_from < *next)
			*next = d->deadlines_from;
		return;
	}
	for (struct job *j = d->jobs; j; j = j->next) {
		check_runtime(j, now, &earliest);
		if (j->dead || !j->reattach_deadline)
			continue;
		if (j->reattach_deadline > now) {
			if (j->reattach_deadline < earliest)
				earliest = j->reattach_deadline;
			continue;
		}
		j->reattach_deadline = 0;
		if (j->state == SBOX_JOB_ENDED) {
			job_forget(d, j);
			continue;
		}
		if (j->state == SBOX_JOB_QUEUED) {
			sboxd_log("queued job %llu: its client did not come back within ReattachTimeoutSec=: dropped",
				  (unsigned long long)j->id);
			cancel_queued(d, j, SIGKILL);
			continue;
		}
		sboxd_log("job %llu: its client did not come back within ReattachTimeoutSec=: killed",
			  (unsigned long long)j->id);
		if (j->child && sbox_child_signal(j->child, SIGKILL, &err) < 0)
			sboxd_log("job %llu: %s", (unsigned long long)j->id, err.msg);
	}
	d->deadlines_from = earliest;
	if (earliest < *next)
		*next = earliest;
}

void jobs_stop(struct sboxd *d)
{
	struct sbox_err err = { 0 };

	for (struct job *j = d->jobs; j; j = j->next) {
		if (j->dead || j->detached)
			continue;
		if (j->state == SBOX_JOB_QUEUED)
			cancel_queued(d, j, SIGTERM);
		else if (j->child && sbox_child_signal(j->child, SIGKILL, &err) < 0)
			sboxd_log("job %llu: %s", (unsigned long long)j->id, err.msg);
	}
}
