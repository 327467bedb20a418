/* SPDX-License-Identifier: MIT */
#include "sandbox/netns_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "sandbox/network.h"

struct sbox_netns_pool {
	int home_fd;        /* the owner's netns, to return to after each */
	bool broken;        /* a return failed: refuse to go on */
	size_t n, capacity;
	int fds[];
};

int sbox_netns_pool_new(struct sbox_netns_pool **out, size_t capacity, struct sbox_err *err)
{
	struct sbox_netns_pool *p;

	*out = NULL;
	if (capacity == 0 || capacity > 4096)
		return sbox_fail(err, EINVAL, "a netns pool holds 1 to 4096 namespaces, not %zu", capacity);
	p = calloc(1, sizeof(*p) + capacity * sizeof(int));
	if (!p)
		return sbox_fail(err, ENOMEM, "allocating a netns pool");
	p->capacity = capacity;
	p->home_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (p->home_fd < 0) {
		int e = errno;

		free(p);
		return sbox_fail(err, e, "opening /proc/thread-self/ns/net");
	}
	*out = p;
	return 0;
}

/* One fresh netns with lo up, made in this thread and left again. */
static int make_one(struct sbox_netns_pool *p, struct sbox_err *err)
{
	int fd, r;

	if (unshare(CLONE_NEWNET) < 0)
		return sbox_fail(err, errno, "creating a network namespace for the pool");
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	r = fd < 0 ? sbox_fail(err, errno, "opening the new network namespace") :
		     sbox_net_loopback_up(err);
	if (setns(p->home_fd, CLONE_NEWNET) < 0) {
		p->broken = true;
		if (fd >= 0)
			close(fd);
		return sbox_fail(err, errno, "returning to the launcher's own network namespace after preparing one for the pool");
	}
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	p->fds[p->n++] = fd;
	return 0;
}

int sbox_netns_pool_fill(struct sbox_netns_pool *p, size_t max_new, struct sbox_err *err)
{
	int made = 0;

	if (p->broken)
		return sbox_fail(err, EINVAL, "the netns pool is unusable: an earlier fill could not return to the launcher's network namespace");
	while ((size_t)made < max_new && p->n < p->capacity) {
		if (make_one(p, err) < 0)
			return -1;
		made++;
	}
	return made;
}

int sbox_netns_pool_take(struct sbox_netns_pool *p)
{
	if (!p || p->broken || p->n == 0)
		return -1;
	return p->fds[--p->n];
}

size_t sbox_netns_pool_count(const struct sbox_netns_pool *p)
{
	return p->n;
}

void sbox_netns_pool_free(struct sbox_netns_pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		close(p->fds[i]);
	close(p->home_fd);
	free(p);
}
