/* SPDX-License-Identifier: MIT */
/*
 * Closing a client's fds off the event loop.  close(2) is not harmless:
 * it calls the file's ->flush, which for FUSE sends FUSE_FLUSH and waits
 * for the server's answer (NFS, CIFS and 9p write back and wait on their
 * servers); dropping the last reference to a file runs its ->release,
 * which for FUSE with a write-back cache writes dirty pages back and
 * waits too.  A client that passes an fd of a FUSE mount that never
 * answers would freeze sboxd — for everyone — at the moment sboxd closes
 * its copy (after a launch, on a refusal, when a queued launch ends), or
 * closes a connection with that fd still in flight.  So every fd that came
 * from a client, and every client's socket, is closed here, by closer
 * threads; a stuck close holds one thread, never the loop.
 *
 * A close waiting in the queue is worse than one stuck in a thread: close(2)
 * takes the fd out of the table before it flushes, but a queued fd is still
 * in sboxd's table, and every sandbox init cloned meanwhile inherits it and
 * closes its copy (C0, C6c) — a FLUSH that never returns, in another user's
 * init.  So no close waits for a thread: one starts whenever none is free
 * (up to CLOSER_THREADS_MAX), and what is bounded is what a user can give
 * sboxd to close: each queued or stuck close is charged to the uid whose
 * fd it was (sboxd_closer_pending()) and counts against its MaxFdsPerUser=;
 * once a user has SBOXD_CLOSES_PER_USER of them, or the threads are near
 * their cap, sboxd takes no more fds from it (sboxd_closer_held_up(),
 * conn.c).  (A connection's socket is charged the same way; a socket an
 * init inherits is harmless: its copy is never the last.)
 *
 * One window is left: a thread has taken an fd but not yet entered
 * close(2).  sboxd_closer_before_clone(), called before sboxd clones an
 * init, waits it out: until each thread is idle or blocked in close(2) of
 * its fd (/proc/self/task/TID/syscall), which it enters only once the fd
 * has left the table.
 *
 * The threads only take the queue's lock, recv(2) and close(2): no malloc,
 * no stdio, no lock that sbox_spawn()'s child (cloned from the loop's
 * thread) could find held.  They start with every signal blocked (sboxd
 * blocks them all for its signalfd before anything else).  When no thread
 * can start and none is left, the fd is kept open (logged): sboxd holds
 * it, rather than waiting for it.
 *
 * close_fds() is for sboxd's own fds (a sandbox's channel and pidfd, what
 * the keeper hands back): closed in place.
 */
#include "sboxd/daemon.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "wire/fdpass.h"

#define CLOSER_THREADS_MAX 1024
/* Kept for root and for closes under way when the users are held up. */
#define CLOSER_RESERVE 256
#define CLOSER_QUEUE_MIN 64

struct closing {
	int fd;                     /* -1: none (an idle thread's slot) */
	uid_t uid;                  /* whose fd it was */
	bool drain;                 /* a client's socket: read what waits first */
};

/* What each thread is closing, and what sboxd_closer_before_clone() knows
 * of it during take gen: seen blocked in close(2) of its fd, or waited for
 * once in vain (a socket whose drain is stuck in a release: not waited for
 * again, or every clone would wait). */
struct busy {
	struct closing c;
	pid_t tid;
	unsigned long gen;
	bool settled;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t more, done;
	struct closing *q;          /* a ring of cap entries, n from head */
	size_t cap, head, n;
	struct busy busy[CLOSER_THREADS_MAX];
	unsigned threads, idle;
	unsigned long kept;
	bool starved_said;          /* a close waiting for a thread was logged */
} cl = { .lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER,
	 .done = PTHREAD_COND_INITIALIZER };

/* A connection's end: what the client sent and sboxd won't read goes
 * first (closing an AF_UNIX socket with unread data makes the peer's next
 * recv fail with ECONNRESET before it reads sboxd's last answer); no room
 * for fds, so the kernel drops those unopened — here, in this thread,
 * where their release may wait.  Bounded. */
static void drain(int fd)
{
	for (int i = 0; i < 64; i++) {
		char buf[512];
		struct sbox_fdpass_in in = { .max = 0 };
		ssize_t n = sbox_fdpass_recv(fd, buf, sizeof(buf), MSG_DONTWAIT, &in);

		if (n < 0 || (n == 0 && !(in.msg_flags & MSG_CTRUNC)))
			return;
	}
}

static void *closer(void *arg)
{
	struct busy *mine = &cl.busy[(uintptr_t)arg];

	pthread_mutex_lock(&cl.lock);
	mine->tid = (pid_t)syscall(SYS_gettid);
	for (;;) {
		while (cl.n == 0) {
			pthread_cond_broadcast(&cl.done);
			pthread_cond_wait(&cl.more, &cl.lock);
		}
		mine->c = cl.q[cl.head];
		mine->gen++;
		mine->settled = false;
		cl.head = (cl.head + 1) % cl.cap;
		cl.n--;
		cl.idle--;
		pthread_mutex_unlock(&cl.lock);
		if (mine->c.drain)
			drain(mine->c.fd);
		close(mine->c.fd);
		pthread_mutex_lock(&cl.lock);
		mine->c.fd = -1;
		cl.idle++;
	}
	return NULL;
}

/* Threads enough for what waits, as far as they start: made outside the
 * lock, so that those already there go on closing meanwhile.  Only the
 * loop's thread makes them, so a slot it took is still the last when a
 * start fails. */
static void grow_threads(void)
{
	pthread_attr_t attr;

	if (pthread_attr_init(&attr) != 0)
		return;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (;;) {
		pthread_t t;
		unsigned slot;

		pthread_mutex_lock(&cl.lock);
		if (cl.idle >= cl.n || cl.threads >= CLOSER_THREADS_MAX) {
			pthread_mutex_unlock(&cl.lock);
			break;
		}
		slot = cl.threads++;
		cl.idle++;
		cl.busy[slot].c.fd = -1;
		pthread_mutex_unlock(&cl.lock);
		if (pthread_create(&t, &attr, closer, (void *)(uintptr_t)slot) != 0) {
			pthread_mutex_lock(&cl.lock);
			cl.threads--;
			cl.idle--;
			pthread_mutex_unlock(&cl.lock);
			break;
		}
	}
	pthread_attr_destroy(&attr);
}

/* Under the lock: room for one more in the ring (in the loop's thread,
 * which may allocate; the closers only read entries under the lock). */
static bool queue_room(void)
{
	struct closing *q;
	size_t cap;

	if (cl.n < cl.cap)
		return true;
	cap = cl.cap ? cl.cap * 2 : CLOSER_QUEUE_MIN;
	q = malloc(cap * sizeof(*q));
	if (!q)
		return false;
	for (size_t i = 0; i < cl.n; i++)
		q[i] = cl.q[(cl.head + i) % cl.cap];
	free(cl.q);
	cl.q = q;
	cl.cap = cap;
	cl.head = 0;
	return true;
}

static void give(int fd, uid_t uid, bool drain_first)
{
	bool kept = false, starved = false, queued = false;

	if (fd < 0)
		return;
	pthread_mutex_lock(&cl.lock);
	if (queue_room()) {
		cl.q[(cl.head + cl.n) % cl.cap] =
			(struct closing){ .fd = fd, .uid = uid, .drain = drain_first };
		cl.n++;
		pthread_cond_signal(&cl.more);
		queued = true;
	}
	pthread_mutex_unlock(&cl.lock);
	if (queued)
		grow_threads();
	pthread_mutex_lock(&cl.lock);
	if (!queued) {
		kept = true;
	} else if (cl.threads == 0) {
		/* None could start: it is still the last entry (only this
		 * thread adds any, and no closer took it). */
		cl.n--;
		kept = true;
	} else {
		/* No thread for it: it waits in the table (logged once
		 * until the queue empties again). */
		starved = cl.idle < cl.n && !cl.starved_said;
		cl.starved_said = cl.idle < cl.n;
	}
	cl.kept += kept;
	pthread_mutex_unlock(&cl.lock);
	if (kept)
		sboxd_log("fd %d of uid %u kept open: no closer thread could take it", fd,
			  (unsigned)uid);
	else if (starved)
		sboxd_log("fd %d of uid %u waits for a closer thread: %u are busy and no more could start",
			  fd, (unsigned)uid, CLOSER_THREADS_MAX);
}

void sboxd_close_client_fd(int fd, uid_t uid)
{
	give(fd, uid, false);
}

void sboxd_close_client_socket(int fd, uid_t uid)
{
	give(fd, uid, true);
}

/* Under the lock. */
static size_t pending_locked(uid_t uid)
{
	size_t n = 0;

	for (size_t i = 0; i < cl.n; i++)
		n += cl.q[(cl.head + i) % cl.cap].uid == uid;
	for (unsigned t = 0; t < cl.threads; t++)
		n += cl.busy[t].c.fd >= 0 && cl.busy[t].c.uid == uid;
	return n;
}

size_t sboxd_closer_pending(uid_t uid)
{
	size_t n;

	pthread_mutex_lock(&cl.lock);
	n = pending_locked(uid);
	pthread_mutex_unlock(&cl.lock);
	return n;
}

bool sboxd_closer_held_up(uid_t uid, size_t *pending)
{
	bool held;

	*pending = 0;
	if (uid == 0)
		return false;
	pthread_mutex_lock(&cl.lock);
	*pending = pending_locked(uid);
	held = *pending >= SBOXD_CLOSES_PER_USER ||
	       (cl.threads - cl.idle) + cl.n >= CLOSER_THREADS_MAX - CLOSER_RESERVE;
	pthread_mutex_unlock(&cl.lock);
	return held;
}

/* Whether thread tid is blocked in close(fd): then fd has left the table
 * (close(2) takes it out before it flushes or releases).  Not so on a
 * kernel where taking the table's lock may sleep (PREEMPT_RT), or where a
 * syscall-entry hook (audit, seccomp, ptrace) sleeps: there the check is
 * only likely. */
static bool in_close(pid_t tid, int fd)
{
	char path[64], buf[128];
	long nr;
	unsigned long arg0;
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return false;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return sscanf(buf, "%ld %lx", &nr, &arg0) == 2 && nr == SYS_close &&
	       arg0 == (unsigned long)fd;
}

/* Until every fd given to a closer has left the table, timeout_ms at most.
 * A thread seen in close(2) is not looked at again for the same take:
 * stuck ones stay stuck, and each look costs three system calls. */
struct look {
	unsigned slot;
	unsigned long gen;
	pid_t tid;
	int fd;
};

static bool quiesce(unsigned timeout_ms)
{
	uint64_t deadline = sboxd_now() + (uint64_t)timeout_ms * 1000;
	struct look *look;
	bool clear = false;

	/* Nothing queued, every thread idle: the case of every launch that
	 * follows no stuck close, without an allocation. */
	if (!sboxd_closer_busy())
		return true;
	look = malloc(CLOSER_THREADS_MAX * sizeof(*look));
	for (;;) {
		size_t k = 0;

		pthread_mutex_lock(&cl.lock);
		if (cl.n == 0 && look) {
			for (unsigned t = 0; t < cl.threads; t++) {
				const struct busy *b = &cl.busy[t];

				if (b->c.fd >= 0 && !b->settled)
					look[k++] = (struct look){ t, b->gen, b->tid, b->c.fd };
			}
		}
		clear = cl.n == 0 && look;
		pthread_mutex_unlock(&cl.lock);
		bool late = sboxd_now() >= deadline;

		for (size_t i = 0; i < k; i++) {
			bool out = in_close(look[i].tid, look[i].fd);

			clear &= out;
			if (!out && !late)
				continue;
			pthread_mutex_lock(&cl.lock);
			if (cl.busy[look[i].slot].gen == look[i].gen)
				cl.busy[look[i].slot].settled = true;
			pthread_mutex_unlock(&cl.lock);
		}
		if (clear || late)
			break;
		usleep(500);
	}
	free(look);
	return clear;
}

void sboxd_closer_before_clone(void)
{
	/* Threads enter close(2) within microseconds; 100 ms means a close
	 * waits for a thread that could not start, a socket's drain is stuck
	 * in a release (a copy of a socket is harmless to an init while
	 * sboxd's own is open), or the machine is starved.  The clone goes
	 * ahead: refusing it would not make the fd leave the table sooner. */
	if (!quiesce(100))
		sboxd_log("a client's fd given to a closer is still in sboxd's fd table after 100 ms; cloning the next init all the same");
}

bool sboxd_closer_busy(void)
{
	bool busy;

	pthread_mutex_lock(&cl.lock);
	busy = cl.n > 0 || cl.idle < cl.threads;
	pthread_mutex_unlock(&cl.lock);
	return busy;
}

bool sboxd_closer_settle(unsigned timeout_ms)
{
	struct timespec until;
	bool idle;

	sboxd_abstime(&until, timeout_ms);
	pthread_mutex_lock(&cl.lock);
	while ((cl.n > 0 || cl.idle < cl.threads) &&
	       pthread_cond_timedwait(&cl.done, &cl.lock, &until) == 0)
		;
	idle = cl.n == 0 && cl.idle == cl.threads;
	pthread_mutex_unlock(&cl.lock);
	return idle;
}

void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

void close_client_fds(int *fds, size_t n, uid_t uid)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0) {
			sboxd_close_client_fd(fds[i], uid);
			fds[i] = -1;
		}
}
