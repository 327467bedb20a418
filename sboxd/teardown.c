/* SPDX-License-Identifier: MIT */
/*
 * A sandbox's end off the event loop.  Once init is reaped and its figures
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
 * The ring holds TEARDOWN_QUEUE children handed over and not yet
 * collected; past it they wait in a list (allocated in the loop) and
 * enter the ring as it frees up.  Only when even that allocation fails
 * does the caller end the sandbox in the loop itself, as before the
 * threads (logged).  A thread stuck in an end holds only itself; and no
 * user's ends run on more than TEARDOWN_THREADS - 1 threads at once (a
 * thread takes the oldest end whose user has fewer running), so one
 * user's ends that never finish (unkillable processes in a placed job's
 * cgroup) leave a thread to everyone else's.  At stop, sboxd waits (bounded) for the ends under
 * way; a cgroup whose end did not finish (or that sboxd died in the middle
 * of) is an empty "sbox-<dead pid>-N" cgroup, which the sweep removes
 * (docs/cgroups.md, "Teardown").
 */
#include "sboxd/daemon.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define TEARDOWN_QUEUE 1024
#define TEARDOWN_THREADS 4
/* sbox_child_end() reads a cgroup's process list into 64 KiB on its
 * stack. */
#define TEARDOWN_STACK (256 * 1024)

/* Past the ring: handed over, waiting for a slot. */
struct overflow {
	struct teardown_done t;
	struct overflow *next;
};

/* Handed over (pending, then being ended) or done (waiting for the loop):
 * two rings of slots, each slot in at most one of them or running; the
 * uid of each thread's end while it runs (run_used: a thread has one). */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t more, idle;
	struct teardown_done slot[TEARDOWN_QUEUE];
	unsigned pend[TEARDOWN_QUEUE], done[TEARDOWN_QUEUE], free_[TEARDOWN_QUEUE];
	size_t pend_head, n_pend, done_head, n_done, n_free;
	unsigned threads, running;
	uid_t run_uid[TEARDOWN_THREADS];
	bool run_used[TEARDOWN_THREADS];
	struct overflow *over, *over_tail;
	size_t n_over;
	int efd;
	bool ready;
	struct watch w;
} td = { .lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER,
	 .idle = PTHREAD_COND_INITIALIZER, .efd = -1 };

/* Under the lock: the place in the pending ring of the oldest end whose
 * user runs fewer than TEARDOWN_THREADS - 1 ends, or -1. */
static long next_fair(void)
{
	for (size_t k = 0; k < td.n_pend; k++) {
		uid_t uid = td.slot[td.pend[(td.pend_head + k) % TEARDOWN_QUEUE]].uid;
		unsigned same = 0;

		for (unsigned r = 0; r < TEARDOWN_THREADS; r++)
			same += td.run_used[r] && td.run_uid[r] == uid;
		if (same < TEARDOWN_THREADS - 1)
			return (long)k;
	}
	return -1;
}

/* Under the lock: take the k-th pending end out of the ring (the order of
 * the others kept); its slot. */
static unsigned take_pending(size_t k)
{
	unsigned i = td.pend[(td.pend_head + k) % TEARDOWN_QUEUE];

	for (size_t j = k; j + 1 < td.n_pend; j++)
		td.pend[(td.pend_head + j) % TEARDOWN_QUEUE] = td.pend[(td.pend_head + j + 1) % TEARDOWN_QUEUE];
	td.n_pend--;
	return i;
}

static void *teardown_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&td.lock);
	for (;;) {
		struct teardown_done *t;
		uint64_t one = 1;
		unsigned r = 0;
		long k;

		while ((k = next_fair()) < 0)
			pthread_cond_wait(&td.more, &td.lock);
		t = &td.slot[take_pending((size_t)k)];
		while (td.run_used[r])
			r++;
		td.run_used[r] = true;
		td.run_uid[r] = t->uid;
		td.running++;
		pthread_mutex_unlock(&td.lock);

		t->r = sbox_child_end(t->child, &t->err);

		pthread_mutex_lock(&td.lock);
		td.done[(td.done_head + td.n_done) % TEARDOWN_QUEUE] = (unsigned)(t - td.slot);
		td.n_done++;
		td.running--;
		td.run_used[r] = false;
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
	td.n_free = TEARDOWN_QUEUE;
	for (unsigned i = 0; i < TEARDOWN_QUEUE; i++)
		td.free_[i] = TEARDOWN_QUEUE - 1 - i;
	td.ready = true;
	return 0;
}

/* Under the lock: into a free slot, pending. */
static void put_pending(const struct teardown_done *in)
{
	unsigned i = td.free_[--td.n_free];

	td.slot[i] = *in;
	td.pend[(td.pend_head + td.n_pend) % TEARDOWN_QUEUE] = i;
	td.n_pend++;
}

bool teardown_give(struct sbox_child *c, uint64_t job_id, uid_t uid, bool lease_held)
{
	struct teardown_done in = { .child = c, .job_id = job_id, .uid = uid,
				    .lease_held = lease_held };
	struct overflow *o = NULL;
	bool queued = false, full;

	pthread_mutex_lock(&td.lock);
	full = td.ready && td.n_free == 0;
	if (full && td.threads > 0) {
		/* The ring is full: wait in the list, allocated here in the
		 * loop (the threads allocate nothing). */
		pthread_mutex_unlock(&td.lock);
		o = calloc(1, sizeof(*o));
		pthread_mutex_lock(&td.lock);
		if (o) {
			o->t = in;
			if (td.over_tail)
				td.over_tail->next = o;
			else
				td.over = o;
			td.over_tail = o;
			td.n_over++;
			queued = true;
		}
	} else if (td.ready && td.n_free > 0) {
		unsigned i;

		put_pending(&in);
		i = td.pend[(td.pend_head + td.n_pend - 1) % TEARDOWN_QUEUE];
		grow();
		if (td.threads == 0) {
			/* No thread could be started: take it back. */
			td.n_pend--;
			td.slot[i].child = NULL;
			td.free_[td.n_free++] = i;
		} else {
			pthread_cond_signal(&td.more);
			queued = true;
		}
	}
	pthread_mutex_unlock(&td.lock);
	if (full && !queued)
		sboxd_log("job %llu: the teardown queue is full (%d ends under way) and no room past it: ended in the loop",
			  (unsigned long long)job_id, TEARDOWN_QUEUE);
	return queued;
}

bool teardown_collect(struct teardown_done *out)
{
	bool got = false;
	uint64_t n;

	pthread_mutex_lock(&td.lock);
	if (td.n_done > 0) {
		unsigned i = td.done[td.done_head];

		td.done_head = (td.done_head + 1) % TEARDOWN_QUEUE;
		td.n_done--;
		*out = td.slot[i];
		td.slot[i].child = NULL;
		td.free_[td.n_free++] = i;
		got = true;
		/* The oldest waiting past the ring takes the slot. */
		if (td.over) {
			struct overflow *o = td.over;

			td.over = o->next;
			if (!td.over)
				td.over_tail = NULL;
			td.n_over--;
			put_pending(&o->t);
			free(o);
			pthread_cond_broadcast(&td.more);
		}
	} else if (td.efd >= 0 && read(td.efd, &n, sizeof(n)) < 0) {
		/* Drained (EAGAIN): the next end writes it again. */
	}
	pthread_mutex_unlock(&td.lock);
	return got;
}

size_t teardown_in_flight(void)
{
	size_t n;

	pthread_mutex_lock(&td.lock);
	n = td.ready ? TEARDOWN_QUEUE - td.n_free + td.n_over : 0;
	pthread_mutex_unlock(&td.lock);
	return n;
}

/* One user's ends that never finish (processes in D state in the cgroups
 * of placed jobs, which a zygote's template reaps, not init) would fill
 * the queue, and every end after them would run in the loop: so each
 * user gets a share, and past it its launches wait (launch.c). */
size_t teardown_user_over_share(uid_t uid)
{
	size_t n = 0;

	pthread_mutex_lock(&td.lock);
	for (unsigned i = 0; td.ready && i < TEARDOWN_QUEUE; i++)
		n += td.slot[i].child && td.slot[i].uid == uid;
	for (const struct overflow *o = td.over; o; o = o->next)
		n += o->t.uid == uid;
	pthread_mutex_unlock(&td.lock);
	return n >= TEARDOWN_QUEUE / 16 ? n : 0;
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
