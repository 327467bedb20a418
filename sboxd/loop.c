/* SPDX-License-Identifier: MIT */
/*
 * sboxd's event loop: one epoll set holding the listening socket, a
 * signalfd, every client, every sandbox's event channel and pidfd, and the
 * keeper.  Deadlines (idle clients, jobs waiting for their client to come
 * back, the stop grace) set the epoll timeout.  While nothing happens, the
 * netns pool is refilled one namespace at a time, and the pool of prepared
 * sandboxes one sandbox at a time, so that a request never waits behind
 * more than one of each; the latter once the loop has been quiet for
 * RefillIdleSec= (sboxd/pool.c, pool_refill_due).
 */
#include "sboxd/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "sandbox/netns_pool.h"
#include "sandbox/net_host.h"


static void on_signal(struct sboxd *d)
{
	struct signalfd_siginfo si;

	while (read(d->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			if (!d->stopping) {
				sboxd_log("signal %u: stopping (detached jobs stay with the keeper)",
					  si.ssi_signo);
				d->stopping = true;
				d->stop_deadline = sboxd_now() + SBOXD_STOP_GRACE_USEC;
				jobs_stop(d);
			}
			break;
		case SIGHUP:
			sboxd_log("SIGHUP: the site configuration is read at start only; restart sboxd to reload it");
			break;
		default:
			break;
		}
	}
}

/* A job's record goes, with the shape it would have noted had its worker
 * started (sboxd/pool.c). */
static void job_free(struct sboxd *d, struct job *j)
{
	pool_note_free(j->pool_note);
	j->pool_note = NULL;
	job_unlink(d, j);
}

/* Free what was marked dead during the last batch of events: until the
 * batch is done, a later event of the same batch may still point at it. */
static void reap_dead(struct sboxd *d)
{
	struct conn *c, *cn;
	struct job *j, *jn;

	if (!d->have_dead)
		return;
	d->have_dead = false;
	jobs_drop_dead_waiters(d);
	pool_reap(d);
	for (c = d->conns; c; c = cn) {
		cn = c->next;
		if (!c->dead)
			continue;
		if (c->prev)
			c->prev->next = c->next;
		else
			d->conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
		free(c);
	}
	for (j = d->jobs; j; j = jn) {
		jn = j->next;
		if (j->dead)
			job_free(d, j);
	}
}

static int timeout_ms(uint64_t now, uint64_t next)
{
	if (next == UINT64_MAX)
		return -1;
	if (next <= now)
		return 0;
	return (int)((next - now + 999) / 1000);
}

static bool stop_done(struct sboxd *d)
{
	/* A client's job whose end waits for its veth's address too: it is
	 * told before sboxd goes. */
	for (struct job *j = d->jobs; j; j = j->next)
		if (!j->dead && ((!j->detached && j->child) || (j->net_ending && j->waiters)))
			return false;
	return true;
}

/* One namespace per idle moment; a pool that can't be filled is given up
 * (launches then make their netns in the clone, as sboxrun does). */
static void refill_pool(struct sboxd *d)
{
	struct sbox_err err = { 0 };

	if (!d->netns_pool || d->stopping || sbox_netns_pool_room(d->netns_pool) == 0)
		return;
	if (sbox_netns_pool_fill(d->netns_pool, 1, &err) < 0) {
		sboxd_log("netns pool disabled: %s", err.msg);
		sbox_netns_pool_free(d->netns_pool);
		d->netns_pool = NULL;
	}
}

static bool pool_wants(const struct sboxd *d)
{
	/* Not the places kept for netns about to come back (recycled). */
	return d->netns_pool && !d->stopping && sbox_netns_pool_room(d->netns_pool) > 0;
}

static void dispatch(struct sboxd *d, const struct epoll_event *ev)
{
	struct watch *w = ev->data.ptr;

	switch (w->kind) {
	case W_SIGNAL:
		on_signal(d);
		break;
	case W_CONN:
		if (!((struct conn *)w->obj)->dead)
			conn_on_event(d, w->obj, ev->events);
		break;
	case W_JOB_EVENT:
		if (!((struct job *)w->obj)->dead)
			job_on_event(d, w->obj);
		break;
	case W_JOB_PIDFD:
		if (!((struct job *)w->obj)->dead)
			job_on_exit(d, w->obj);
		break;
	case W_KEEPER:
		keeper_on_event(d, ev->events);
		break;
	case W_TEARDOWN:
		jobs_on_teardown(d);
		break;
	case W_POOL:
		pool_on_event(d, w->obj);
		break;
	default:
		break;
	}
}

int sboxd_turn(struct sboxd *d, int max_wait_ms)
{
	struct epoll_event evs[SBOXD_MAX_EVENTS];
	uint64_t now = sboxd_now(), next = UINT64_MAX, refill;
	bool listening = false;
	int n, t;

	conn_check_idle(d, now, &next);
	jobs_check_deadlines(d, now, &next);
	reap_dead(d);
	if (d->stopping) {
		if (stop_done(d))
			return 1;
		if (d->stop_deadline < next)
			next = d->stop_deadline;
		if (now >= d->stop_deadline) {
			sboxd_log("stopping: jobs still running after the grace period");
			return 1;
		}
	}
	t = timeout_ms(now, next);
	/* Ended veth pairs are checked off the launch path, at the reaper's pace. */
	n = sbox_net_reaper_run(d->net_reaper);
	jobs_on_net_reaped(d);
	if (n >= 0 && (t < 0 || n < t))
		t = n;
	if (pool_wants(d))
		t = 0;
	refill = pool_refill_due(d);
	if (refill != UINT64_MAX) {
		int r = timeout_ms(now, refill);

		if (t < 0 || r < t)
			t = r;
	}
	if (max_wait_ms >= 0 && (t < 0 || t > max_wait_ms))
		t = max_wait_ms;
	n = epoll_wait(d->epfd, evs, SBOXD_MAX_EVENTS, t);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		sboxd_log("epoll_wait: %s", strerror(errno));
		return -1;
	}
	if (n == 0) {
		refill_pool(d);
		if (pool_refill_due(d) <= sboxd_now())
			pool_refill(d);
		return 0;
	}
	d->n_served = 0;                /* each user's turn starts again */
	for (int i = 0; i < n; i++) {
		const struct watch *w = evs[i].data.ptr;

		if (w->kind == W_LISTEN)
			listening = true;
		else
			dispatch(d, &evs[i]);
	}
	/* New connections last: the connections this batch ended are with
	 * the closers by then, whose slots an accept at EMFILE waits for. */
	if (listening)
		conn_accept(d);
	reap_dead(d);
	/* The quiet a refill waits for counts from the batch's end: a
	 * launch in full dispatched here takes milliseconds itself. */
	d->last_event = sboxd_now();
	return 0;
}

int sboxd_run(struct sboxd *d)
{
	for (;;) {
		int r = sboxd_turn(d, -1);

		if (r != 0)
			return r < 0 ? -1 : 0;
	}
}

void sboxd_drop_all(struct sboxd *d)
{
	struct conn *c, *cn;
	struct job *j, *jn;

	for (c = d->conns; c; c = cn) {
		cn = c->next;
		if (!c->dead)
			conn_close(d, c);
	}
	for (j = d->jobs; j; j = jn) {
		jn = j->next;
		/* Detached jobs live on with the keeper; any other still
		 * here outlived the grace and is let go the same way. */
		if (j->child)
			sbox_child_release(j->child);
		j->child = NULL;
		/* A queued one's park is the keeper's too: closed, never
		 * drained (queued_free()), or the next sboxd would find it
		 * empty. */
		if (j->queued && j->queued->park >= 0) {
			sboxd_close_client_fd(j->queued->park, j->uid);
			j->queued->park = -1;
		}
	}
	/* Ends handed to the teardown threads: finished (bounded), so that
	 * a stop leaves no cgroup behind. */
	jobs_finish_teardown(d, SBOXD_STOP_GRACE_USEC / 1000);
	for (c = d->conns; c; c = cn) {
		cn = c->next;
		free(c);
	}
	d->conns = NULL;
	for (j = d->jobs; j; j = jn) {
		jn = j->next;
		job_free(d, j);
	}
}
