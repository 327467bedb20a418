/* SPDX-License-Identifier: MIT */
/*
 * Closing a client's fds off the event loop.  close(2) is not harmless:
 * it calls the file's ->flush, which for FUSE sends FUSE_FLUSH and waits
 * for the server's answer (NFS, CIFS and 9p write back and wait on their
 * servers).  A client that passes an fd of a FUSE mount that never answers
 * would freeze sboxd — for everyone — at the moment sboxd closes its copy
 * (after a launch, on a refusal, when a queued launch ends).  So every fd
 * that came from a client is closed here, by a few closer threads; a stuck
 * flush holds one thread, never the loop.
 *
 * The threads only take the queue's lock and call close(): no malloc, no
 * stdio, no lock that sbox_spawn()'s child (cloned from the loop's thread)
 * could find held.  They start with every signal blocked (sboxd blocks
 * them all for its signalfd before anything else).  When every thread is
 * stuck and the queue is full, the fd is kept open (logged): sboxd holds
 * it, rather than waiting for it.
 *
 * Known limit: the queue is shared and its entries are charged to no user,
 * so one user whose file system never answers FLUSH can hold every thread,
 * and then other users' fds wait in the queue (a client waiting for EOF on
 * a pipe sboxd still holds waits with them).  The cure is the owner's uid
 * on each entry, at most a thread or two per uid, and in-close fds counted
 * against MaxFdsPerUser=.
 *
 * close_fds() is for sboxd's own fds (a sandbox's channel and pidfd, what
 * the keeper hands back): closed in place.
 */
#include "sboxd/daemon.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#define CLOSER_QUEUE 4096
#define CLOSER_THREADS 8

static struct {
	pthread_mutex_t lock;
	pthread_cond_t more, done;
	int q[CLOSER_QUEUE];
	size_t head, n;
	unsigned threads, idle;
	unsigned long kept;
} cl = { .lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER,
	 .done = PTHREAD_COND_INITIALIZER };

static void *closer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&cl.lock);
	for (;;) {
		int fd;

		while (cl.n == 0) {
			pthread_cond_broadcast(&cl.done);
			pthread_cond_wait(&cl.more, &cl.lock);
		}
		fd = cl.q[cl.head];
		cl.head = (cl.head + 1) % CLOSER_QUEUE;
		cl.n--;
		cl.idle--;
		pthread_mutex_unlock(&cl.lock);
		close(fd);
		pthread_mutex_lock(&cl.lock);
		cl.idle++;
	}
	return NULL;
}

/* Under the lock: one more thread when none is free. */
static void grow(void)
{
	pthread_attr_t attr;
	pthread_t t;

	if (cl.idle > 0 || cl.threads >= CLOSER_THREADS)
		return;
	if (pthread_attr_init(&attr) != 0)
		return;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	if (pthread_create(&t, &attr, closer, NULL) == 0) {
		cl.threads++;
		cl.idle++;
	}
	pthread_attr_destroy(&attr);
}

void sboxd_close_client_fd(int fd)
{
	bool kept = false;

	if (fd < 0)
		return;
	pthread_mutex_lock(&cl.lock);
	grow();
	if (cl.threads == 0 || cl.n == CLOSER_QUEUE) {
		kept = true;
		cl.kept++;
	} else {
		cl.q[(cl.head + cl.n) % CLOSER_QUEUE] = fd;
		cl.n++;
		pthread_cond_signal(&cl.more);
	}
	pthread_mutex_unlock(&cl.lock);
	if (kept)
		sboxd_log("fd %d of a client kept open: every closer is stuck in a close (a FUSE or network file system that does not answer?)",
			  fd);
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

void close_client_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0) {
			sboxd_close_client_fd(fds[i]);
			fds[i] = -1;
		}
}
