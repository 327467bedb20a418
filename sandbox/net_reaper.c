/* SPDX-License-Identifier: MIT */
/*
 * The veth reaper of a long-running launcher (sandbox/net_host.h): the
 * pairs of ended sandboxes, each with the address lease that keeps its
 * block from being handed out again until the pair is gone.  The kernel
 * deletes a pair with its sandbox's netns; the reaper, run from the
 * launcher's loop, looks for it every few ms and gives the address back
 * once it is gone.  A pair still there after REAPER_DEADLINE_USEC has its
 * netns held by something (a socket of it passed out, an open nsfs file):
 * the reaper deletes it itself, in a thread of its own, so that the
 * ~20-30 ms RTM_DELLINK (RCU grace periods) never waits in the loop, where
 * a client that keeps its sandboxes' netns alive could stall it for
 * everyone (found by a hostile review: 40 such pairs, 0.73 s of loop).
 * The lease is held until the delete has returned and the pair is gone.
 */
#include "sandbox/network.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* How often a pending pair is looked for, and how long the kernel gets to
 * delete it with its netns before the reaper deletes it itself. */
#define REAPER_CHECK_USEC 5000
#define REAPER_DEADLINE_USEC 2000000

/* A delete handed to the deleter thread.  Made and freed by the loop's
 * thread; the deleter reads name and writes err, then done, and never
 * touches it again. */
struct delete_req {
	struct delete_req *next;
	char name[IF_NAMESIZE];
	int err;                    /* 0 or -errno of the RTM_DELLINK */
	atomic_bool done;
};

/* A veth pair whose sandbox has ended, and the lease that keeps its
 * address from being handed out again until the pair is gone. */
struct reaper_entry {
	char host_if[IF_NAMESIZE];
	struct sbox_ipam_lease lease;
	uint64_t next_check, deadline;     /* monotonic usec */
	struct delete_req *req;            /* with the deleter, or NULL */
};

struct sbox_net_reaper {
	struct reaper_entry *v;
	size_t n, cap;
	/* The deleter, started at the first forced delete.  head, tail and
	 * stop under mu. */
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct delete_req *head, *tail;
	bool stop;
};

static uint64_t mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int sbox_net_reaper_new(struct sbox_net_reaper **out, struct sbox_err *err)
{
	struct sbox_net_reaper *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return sbox_fail(err, ENOMEM, "allocating the veth reaper");
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	*out = r;
	return 0;
}

/* The deleter's RTM_DELLINK, by name, with system calls only and no
 * memory of the heap: libnl allocates, and the launcher clones its
 * sandboxes' inits (clone3, no atfork handlers) while this thread runs; a
 * child cloned while this thread held the allocator's lock would find it
 * held for good (sboxd's other threads keep to system calls for the same
 * reason).  The kernel runs the request within sendto() and queues its
 * answer, an NLMSG_ERROR of 0 or -errno, before sendto() returns.
 * Returns that, or -errno of the socket's calls. */
static int dellink(int *fd, const char *name, uint32_t seq)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		char attr[RTA_SPACE(IF_NAMESIZE)];
	} req;
	union {
		struct nlmsghdr nh;
		char buf[1024];
	} ack;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	size_t len = strnlen(name, IF_NAMESIZE - 1);
	struct rtattr *rta = (struct rtattr *)req.attr;
	ssize_t n;

	if (*fd < 0) {
		*fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
		if (*fd < 0)
			return -errno;
	}
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_type = RTM_DELLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nh.nlmsg_seq = seq;
	req.ifi.ifi_family = AF_UNSPEC;
	rta->rta_type = IFLA_IFNAME;
	rta->rta_len = (unsigned short)RTA_LENGTH(len + 1);
	memcpy(RTA_DATA(rta), name, len);           /* its NUL from the memset */
	req.nh.nlmsg_len = (uint32_t)(NLMSG_LENGTH(sizeof(req.ifi)) + RTA_SPACE(len + 1));
	if (sendto(*fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	for (;;) {
		n = recv(*fd, &ack, sizeof(ack), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if ((size_t)n < NLMSG_LENGTH(sizeof(struct nlmsgerr)) || ack.nh.nlmsg_type != NLMSG_ERROR)
			return -EPROTO;
		if (ack.nh.nlmsg_seq == seq)   /* an older request's answer otherwise */
			return ((struct nlmsgerr *)NLMSG_DATA(&ack.nh))->error;
	}
}

/* The deleter: one delete at a time, in the order handed over; at stop,
 * what is queued is still deleted, then it returns. */
static void *deleter_main(void *arg)
{
	struct sbox_net_reaper *r = arg;
	uint32_t seq = 0;
	int fd = -1;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		struct delete_req *q;

		while (!r->head && !r->stop)
			pthread_cond_wait(&r->cv, &r->mu);
		q = r->head;
		if (!q)
			break;
		r->head = q->next;
		if (!r->head)
			r->tail = NULL;
		pthread_mutex_unlock(&r->mu);
		q->err = dellink(&fd, q->name, ++seq);
		atomic_store_explicit(&q->done, true, memory_order_release);
		pthread_mutex_lock(&r->mu);
	}
	pthread_mutex_unlock(&r->mu);
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* Hand e's pair to the deleter (started now if it is not yet).  -1: no
 * thread could be started or no memory; nothing handed over. */
static int hand_to_deleter(struct sbox_net_reaper *r, struct reaper_entry *e)
{
	struct delete_req *q = calloc(1, sizeof(*q));

	if (!q)
		return -1;
	snprintf(q->name, sizeof(q->name), "%s", e->host_if);
	atomic_init(&q->done, false);
	if (!r->started) {
		if (pthread_create(&r->thread, NULL, deleter_main, r) != 0) {
			free(q);
			return -1;
		}
		r->started = true;
	}
	pthread_mutex_lock(&r->mu);
	if (r->tail)
		r->tail->next = q;
	else
		r->head = q;
	r->tail = q;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	e->req = q;
	return 0;
}

int sbox_net_reaper_take(struct sbox_net_reaper *r, const char *host_if,
			 struct sbox_ipam_lease *lease)
{
	uint64_t now = mono_usec();
	struct reaper_entry *e;

	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		struct reaper_entry *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return -1;
		r->v = v;
		r->cap = cap;
	}
	e = &r->v[r->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->host_if, sizeof(e->host_if), "%s", host_if);
	e->lease = *lease;
	e->next_check = now + REAPER_CHECK_USEC;
	e->deadline = now + REAPER_DEADLINE_USEC;
	sbox_ipam_lease_init(lease);
	return 0;
}

/* Gone for sure: no interface of that name (we hold its lease, so nobody
 * else made one since). */
static bool veth_gone(const char *host_if)
{
	return if_nametoindex(host_if) == 0 && errno == ENODEV;
}

/* One look at e, due now.  True when it is done with: its pair gone and
 * its address given back. */
static bool reap_one(struct sbox_net_reaper *r, struct reaper_entry *e, uint64_t now)
{
	if (e->req) {
		if (!atomic_load_explicit(&e->req->done, memory_order_acquire)) {
			e->next_check = now + REAPER_CHECK_USEC;
			return false;
		}
		/* Whatever the delete said, the name's absence is what
		 * counts: a failed delete is tried again after another
		 * deadline, the address still held. */
		free(e->req);
		e->req = NULL;
		e->deadline = now + REAPER_DEADLINE_USEC;
	}
	if (veth_gone(e->host_if)) {
		sbox_ipam_release(&e->lease);
		return true;
	}
	/* Something holds the dead sandbox's netns: the kernel won't
	 * delete the pair, the deleter does.  Without a deleter (no thread
	 * could be started), here, as before there was one. */
	if (now >= e->deadline && hand_to_deleter(r, e) < 0) {
		sbox_net_delete_veth(e->host_if);
		e->deadline = now + REAPER_DEADLINE_USEC;
	}
	e->next_check = now + REAPER_CHECK_USEC;
	return false;
}

int sbox_net_reaper_run(struct sbox_net_reaper *r)
{
	uint64_t now, next = UINT64_MAX;
	size_t i = 0;

	if (!r || r->n == 0)
		return -1;
	now = mono_usec();
	while (i < r->n) {
		struct reaper_entry *e = &r->v[i];

		if (now >= e->next_check && reap_one(r, e, now)) {
			r->v[i] = r->v[--r->n];
			continue;
		}
		if (e->next_check < next)
			next = e->next_check;
		i++;
	}
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)((next - now + 999) / 1000);
}

size_t sbox_net_reaper_reap_now(struct sbox_net_reaper *r, uint32_t subnet, unsigned prefix,
				size_t *ending)
{
	uint32_t end = sbox_ipam_block(subnet, sbox_ipam_nblocks(prefix));
	size_t i = 0, given = 0;

	*ending = 0;
	while (i < r->n) {
		struct reaper_entry *e = &r->v[i];
		bool in_range = e->lease.block >= subnet && e->lease.block < end;

		/* One with the deleter waits for it: its request is freed,
		 * and its lease given back, only once the delete returned. */
		if (!e->req && veth_gone(e->host_if)) {
			sbox_ipam_release(&e->lease);
			r->v[i] = r->v[--r->n];
			given += in_range;
			continue;
		}
		*ending += in_range;
		i++;
	}
	return given;
}

size_t sbox_net_reaper_pending(const struct sbox_net_reaper *r)
{
	return r ? r->n : 0;
}

bool sbox_net_reaper_holds(const struct sbox_net_reaper *r, uint32_t block)
{
	for (size_t i = 0; r && i < r->n; i++)
		if (r->v[i].lease.block == block)
			return true;
	return false;
}

/* At the launcher's exit: the deleter finishes what it was handed, then
 * every pair left is deleted here before its address goes back. */
void sbox_net_reaper_free(struct sbox_net_reaper *r)
{
	if (!r)
		return;
	if (r->started) {
		pthread_mutex_lock(&r->mu);
		r->stop = true;
		pthread_cond_signal(&r->cv);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->thread, NULL);
	}
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].req);
		if (!veth_gone(r->v[i].host_if))
			sbox_net_delete_veth(r->v[i].host_if);
		sbox_ipam_release(&r->v[i].lease);
	}
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r->v);
	free(r);
}
