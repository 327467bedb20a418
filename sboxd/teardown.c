/* SPDX-License-Identifier: MIT */
/*
 * A sandbox's end off the event loop.  Once init is reaped, or has said
 * EMPTIED (then it is reaped here first, 5 s at most), and the figures are
 * read (jobs.c, for the EXIT reply), what is left is slow and nobody's
 * answer waits for it: kill what may be left in the cgroup, wait for it to
 * empty, rmdir it (in every v1 hierarchy; a busy one is retried for up to
 * 5 s), and judge a pooled netns for recycling.  Done in the loop, that
 * held every other client for as long (a child cgroup left in a sandbox's
 * cgroup froze sboxd for 5 s per hierarchy); here, a few teardown threads
 * do it (sbox_child_end(): system calls only, no allocation, no stdio, as
 * closer.c's threads) and hand the child back through an eventfd, and the
 * loop frees it (jobs_on_teardown()).
 *
 * Ends wait in a list the loop allocates (only if that allocation fails
 * does the caller end the sandbox in the loop itself, as before the
 * threads, logged).  A thread stuck in an end holds only itself; and no
 * user's ends run on more than TEARDOWN_THREADS - 1 threads at once (a
 * thread takes the oldest end whose user has fewer running), so one
 * user's ends that never finish (unkillable processes in a placed job's
 * cgroup) leave a thread to everyone else's.  At stop, sboxd waits
 * (bounded) for the ends under way; a cgroup whose end did not finish (or
 * that sboxd died in the middle of) is an empty "sbox-<dead pid>-N"
 * cgroup, which the sweep removes (docs/cgroups.md, "Teardown").
 */
#include "sboxd/daemon.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define TEARDOWN_THREADS 4
/* A user's ends handed over and not collected, past which its launches
 * wait (teardown_user_over_share()). */
#define TEARDOWN_USER_SHARE 64
/* sbox_child_end() reads a cgroup's process list into 64 KiB on its
 * stack. */
#define TEARDOWN_STACK (256 * 1024)

/* One end, handed over: pending, then a thread's, then done. */
struct node {
	struct teardown_done t;
	struct node *next;
};

/* Pending and done: first in first out lists (each with the link its
 * next node goes into); run: each thread's end while it runs. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t more, idle;
	struct node *pend, **pend_end, *done, **done_end;
	struct node *run[TEARDOWN_THREADS];
	size_t n_pend, n_done;
	unsigned threads, running;
	int efd;
	bool ready;
	struct watch w;
} td = { .lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER,
	 .idle = PTHREAD_COND_INITIALIZER, .pend_end = &td.pend, .done_end = &td.done,
	 .efd = -1 };

/* Under the lock: the link to the oldest pending end whose user runs
 * fewer than TEARDOWN_THREADS - 1 ends, or NULL. */
static struct node **next_fair(void)
{
	for (struct node **link = &td.pend; *link; link = &(*link)->next) {
		unsigned same = 0;

		for (unsigned r = 0; r < TEARDOWN_THREADS; r++)
			same += td.run[r] && td.run[r]->t.uid == (*link)->t.uid;
		if (same < TEARDOWN_THREADS - 1)
			return link;
	}
	return NULL;
}

/* Under the lock: the pending end at link, out of the list. */
static struct node *unlink_pending(struct node **link)
{
	struct node *n = *link;

	*link = n->next;
	if (td.pend_end == &n->next)
		td.pend_end = link;
	td.n_pend--;
	return n;
}

static void *teardown_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&td.lock);
	for (;;) {
		struct node **link, *n;
		uint64_t one = 1;
		unsigned r = 0;

		while (!(link = next_fair()))
			pthread_cond_wait(&td.more, &td.lock);
		n = unlink_pending(link);
		while (td.run[r])
			r++;
		td.run[r] = n;
		td.running++;
		pthread_mutex_unlock(&td.lock);

		n->t.r = sbox_child_end(n->t.child, &n->t.err);

		pthread_mutex_lock(&td.lock);
		td.run[r] = NULL;
		td.running--;
		n->next = NULL;
		*td.done_end = n;
		td.done_end = &n->next;
		td.n_done++;
		/* A user under its share of the threads again: its next
		 * end may be taken. */
		pthread_cond_broadcast(&td.more);
		if (td.n_pend == 0 && td.running == 0)
			pthread_cond_broadcast(&td.idle);
		/* The loop wakes on the eventfd (a counter: never blocks
		 * short of 2^64 - 1 unread ends). */
		if (write(td.efd, &one, sizeof(one)) < 0) {
			/* Only a counter at its limit: the loop reads it. */
		}
	}
	return NULL;
}

/* Under the lock: one more thread while every one is busy. */
static void grow(void)
{
	pthread_attr_t attr;
	pthread_t t;

	if (td.threads >= TEARDOWN_THREADS || td.running + td.n_pend <= td.threads)
		return;
	if (pthread_attr_init(&attr) != 0)
		return;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, TEARDOWN_STACK);
	if (pthread_create(&t, &attr, teardown_thread, NULL) == 0)
		td.threads++;
	pthread_attr_destroy(&attr);
}

int teardown_start(struct sboxd *d, struct sbox_err *err)
{
	td.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (td.efd < 0)
		return sbox_fail(err, errno, "creating the teardown's eventfd");
	td.w = (struct watch){ .kind = W_TEARDOWN };
	if (sboxd_watch(d, td.efd, &td.w, EPOLLIN) < 0) {
		int e = errno;

		close(td.efd);
		td.efd = -1;
		return sbox_fail(err, e, "watching the teardown's eventfd");
	}
	td.ready = true;
	return 0;
}

bool teardown_give(struct sbox_child *c, uint64_t job_id, uid_t uid, bool lease_held)
{
	/* Allocated here, in the loop: the threads allocate nothing. */
	struct node *n = td.ready ? calloc(1, sizeof(*n)) : NULL, **link;
	bool queued = false;

	if (!n) {
		if (td.ready)
			sboxd_log("job %llu: no memory to queue its end: ended in the loop",
				  (unsigned long long)job_id);
		return false;
	}
	n->t = (struct teardown_done){ .child = c, .job_id = job_id, .uid = uid,
				       .lease_held = lease_held };
	pthread_mutex_lock(&td.lock);
	link = td.pend_end;
	*link = n;
	td.pend_end = &n->next;
	td.n_pend++;
	grow();
	if (td.threads > 0) {
		pthread_cond_signal(&td.more);
		queued = true;
	} else {
		/* No thread could be started: take it back. */
		unlink_pending(link);
	}
	pthread_mutex_unlock(&td.lock);
	if (!queued)
		free(n);
	return queued;
}

bool teardown_collect(struct teardown_done *out)
{
	struct node *n = NULL;
	uint64_t count;

	pthread_mutex_lock(&td.lock);
	if (td.done) {
		n = td.done;
		td.done = n->next;
		if (!td.done)
			td.done_end = &td.done;
		td.n_done--;
		*out = n->t;
	} else if (td.efd >= 0 && read(td.efd, &count, sizeof(count)) < 0) {
		/* Drained (EAGAIN): the next end writes it again. */
	}
	pthread_mutex_unlock(&td.lock);
	free(n);
	return n != NULL;
}

size_t teardown_in_flight(void)
{
	size_t n;

	pthread_mutex_lock(&td.lock);
	n = td.n_pend + td.running + td.n_done;
	pthread_mutex_unlock(&td.lock);
	return n;
}

/* One user's ends that never finish (processes in D state in the cgroups
 * of placed jobs, which a zygote's template reaps, not init) would pile
 * up without end: so each user gets a share, and past it its launches
 * wait (launch.c). */
size_t teardown_user_over_share(uid_t uid)
{
	size_t n = 0;

	pthread_mutex_lock(&td.lock);
	for (const struct node *p = td.pend; p; p = p->next)
		n += p->t.uid == uid;
	for (unsigned r = 0; r < TEARDOWN_THREADS; r++)
		n += td.run[r] && td.run[r]->t.uid == uid;
	for (const struct node *p = td.done; p; p = p->next)
		n += p->t.uid == uid;
	pthread_mutex_unlock(&td.lock);
	return n >= TEARDOWN_USER_SHARE ? n : 0;
}

bool teardown_settle(unsigned timeout_ms)
{
	struct timespec until;
	bool idle;

	sboxd_abstime(&until, timeout_ms);
	pthread_mutex_lock(&td.lock);
	while ((td.n_pend > 0 || td.running > 0) &&
	       pthread_cond_timedwait(&td.idle, &td.lock, &until) == 0)
		;
	idle = td.n_pend == 0 && td.running == 0;
	pthread_mutex_unlock(&td.lock);
	return idle;
}
