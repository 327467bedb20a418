/* SPDX-License-Identifier: MIT */
/*
 * Closing a client's fds off the event loop.  close(2) is not harmless:
 * it calls the file's ->flush, which for FUSE sends FUSE_FLUSH and waits
 * for the server's answer (NFS, CIFS and 9p write back and wait on their
 * servers).  A client that passes an fd of a FUSE mount that never answers
 * would freeze sboxd — for everyone — at the moment sboxd closes its copy
 * (after a launch, on a refusal, when a queued launch ends).  So every fd
 * that came from a client is closed here, by closer threads; a stuck flush
 * holds one thread, never the loop.
 *
 * A close waiting in the queue is worse than one stuck in a thread: close(2)
 * takes the fd out of the table before it flushes, but a queued fd is still
 * in sboxd's table, and every sandbox init cloned meanwhile inherits it and
 * closes its copy (C0, C6c) — a FLUSH that never returns, in another user's
 * init.  So no close waits for a thread: one starts whenever none is free
 * (up to CLOSER_THREADS_MAX), and a user's closes under way are what is
 * bounded instead: each queued or stuck close is charged to the uid whose
 * fd it was (sboxd_closer_pending()), counts against its MaxFdsPerUser=,
 * and past SBOXD_CLOSES_PER_USER sboxd takes no more fds from that user
 * (conn.c: the kernel drops them unopened, which flushes nothing).  One
 * user whose file system never answers holds at most that many threads.
 *
 * One window is left: a thread has taken an fd but not yet entered
 * close(2).  sboxd_closer_before_clone(), called before sboxd clones an init,
 * waits it out: until each thread is idle or blocked in close(2) of its
 * fd (/proc/self/task/TID/syscall), which it enters only once the fd has
 * left the table.
 *
 * The threads only take the queue's lock and call close(): no malloc, no
 * stdio, no lock that sbox_spawn()'s child (cloned from the loop's thread)
 * could find held.  They start with every signal blocked (sboxd blocks
 * them all for its signalfd before anything else).  When no thread can
 * start and none is left, the fd is kept open (logged): sboxd holds it,
 * rather than waiting for it.
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
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CLOSER_THREADS_MAX 1024
#define CLOSER_QUEUE_MIN 64

struct closing {
	int fd;                     /* -1: none (an idle thread's slot) */
	uid_t uid;                  /* whose fd it was */
	pid_t tid;                  /* in busy[]: the thread's */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t more, done;
	struct closing *q;          /* a ring of cap entries, n from head */
	size_t cap, head, n;
	struct closing busy[CLOSER_THREADS_MAX];    /* what each thread closes */
	unsigned threads, idle;
	unsigned long kept;
} cl = { .lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER,
	 .done = PTHREAD_COND_INITIALIZER };

static void *closer(void *arg)
{
	struct closing *mine = &cl.busy[(uintptr_t)arg];
	pid_t tid = (pid_t)syscall(SYS_gettid);

	pthread_mutex_lock(&cl.lock);
	for (;;) {
		while (cl.n == 0) {
			pthread_cond_broadcast(&cl.done);
			pthread_cond_wait(&cl.more, &cl.lock);
		}
		*mine = cl.q[cl.head];
		mine->tid = tid;
		cl.head = (cl.head + 1) % cl.cap;
		cl.n--;
		cl.idle--;
		pthread_mutex_unlock(&cl.lock);
		close(mine->fd);
		pthread_mutex_lock(&cl.lock);
		mine->fd = -1;
		cl.idle++;
	}
	return NULL;
}

/* Under the lock: threads enough for what waits, as far as they start. */
static void grow_threads(void)
{
	pthread_attr_t attr;

	if (cl.idle >= cl.n || cl.threads >= CLOSER_THREADS_MAX)
		return;
	if (pthread_attr_init(&attr) != 0)
		return;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	while (cl.idle < cl.n && cl.threads < CLOSER_THREADS_MAX) {
		pthread_t t;

		cl.busy[cl.threads].fd = -1;
		if (pthread_create(&t, &attr, closer, (void *)(uintptr_t)cl.threads) != 0)
			break;
		cl.threads++;
		cl.idle++;
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

void sboxd_close_client_fd(int fd, uid_t uid)
{
	bool kept = false;

	if (fd < 0)
		return;
	pthread_mutex_lock(&cl.lock);
	if (!queue_room()) {
		kept = true;
	} else {
		cl.q[(cl.head + cl.n) % cl.cap] = (struct closing){ .fd = fd, .uid = uid };
		cl.n++;
		grow_threads();
		if (cl.threads == 0) {
			cl.n--;
			kept = true;
		} else {
			pthread_cond_signal(&cl.more);
		}
	}
	cl.kept += kept;
	pthread_mutex_unlock(&cl.lock);
	if (kept)
		sboxd_log("fd %d of uid %u kept open: no closer thread could take it",
			  fd, (unsigned)uid);
}

size_t sboxd_closer_pending(uid_t uid)
{
	size_t n = 0;

	pthread_mutex_lock(&cl.lock);
	for (size_t i = 0; i < cl.n; i++)
		n += cl.q[(cl.head + i) % cl.cap].uid == uid;
	for (unsigned t = 0; t < cl.threads; t++)
		n += cl.busy[t].fd >= 0 && cl.busy[t].uid == uid;
	pthread_mutex_unlock(&cl.lock);
	return n;
}

/* Whether thread tid is blocked in close(fd): then fd has left the table
 * (close(2) takes it out before it flushes). */
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

static bool quiesce(unsigned timeout_ms)
{
	struct closing *taken = NULL;
	unsigned long waited_us = 0;
	bool clear = false;

	for (;;) {
		size_t k = 0;

		pthread_mutex_lock(&cl.lock);
		if (cl.n == 0 && cl.idle == cl.threads) {
			pthread_mutex_unlock(&cl.lock);
			clear = true;
			break;
		}
		if (cl.n == 0 && (taken || (taken = malloc(sizeof(cl.busy))))) {
			for (unsigned t = 0; t < cl.threads; t++)
				if (cl.busy[t].fd >= 0)
					taken[k++] = cl.busy[t];
			clear = true;
		}
		pthread_mutex_unlock(&cl.lock);
		for (size_t i = 0; clear && i < k; i++)
			clear = in_close(taken[i].tid, taken[i].fd);
		if (clear || waited_us >= timeout_ms * 1000UL)
			break;
		usleep(500);
		waited_us += 500;
	}
	free(taken);
	return clear;
}

void sboxd_closer_before_clone(void)
{
	/* Threads enter close(2) within microseconds; 100 ms means the
	 * machine is starved, and the clone goes ahead (what its init might
	 * inherit is a close another thread is about to make). */
	if (!quiesce(100))
		sboxd_log("a closer thread has not yet taken its fd out of sboxd's table after 100 ms; cloning the next init all the same");
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
