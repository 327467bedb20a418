/* SPDX-License-Identifier: MIT */
#include "sandbox/netns_pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/network.h"

/* FRESH: made here, never used; else the owner of the sandbox that used
 * it (a recycled one, sbox_netns_pool_give(); sbox_netns_owner()). */
#define FRESH UINT64_MAX

struct entry {
	int fd;
	uint64_t owner;
};

/* A netns handed to a sandbox that may give it back is expected for
 * this long: the refill leaves its place free meanwhile, so that a short
 * job's netns comes back to a pool with room for it instead of pushing
 * out a fresh one made in between (made and destroyed for nothing). */
#define EXPECT_USEC 1000000ULL

struct sbox_netns_pool {
	int home_fd;        /* the owner's netns, to return to after each */
	bool broken;        /* a return failed: refuse to go on */
	size_t n, capacity;
	uint64_t *expect;   /* deadlines of the expected returns, oldest first */
	size_t n_expect;
	struct entry v[];   /* oldest first */
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Returns still expected (deadline not passed), at most the room left. */
static size_t expected(const struct sbox_netns_pool *p)
{
	uint64_t now = now_usec();
	size_t k = 0;

	while (k < p->n_expect && p->expect[k] <= now)
		k++;
	return p->n_expect - k;
}

static void drop_expired(struct sbox_netns_pool *p)
{
	size_t live = expected(p), gone = p->n_expect - live;

	memmove(p->expect, p->expect + gone, live * sizeof(p->expect[0]));
	p->n_expect = live;
}

int sbox_netns_pool_new(struct sbox_netns_pool **out, size_t capacity, struct sbox_err *err)
{
	struct sbox_netns_pool *p;

	*out = NULL;
	if (capacity == 0 || capacity > 4096)
		return sbox_fail(err, EINVAL, "a netns pool holds 1 to 4096 namespaces, not %zu", capacity);
	p = calloc(1, sizeof(*p) + capacity * sizeof(struct entry));
	if (p)
		p->expect = calloc(capacity, sizeof(p->expect[0]));
	if (!p || !p->expect) {
		free(p);
		return sbox_fail(err, ENOMEM, "allocating a netns pool");
	}
	p->capacity = capacity;
	p->home_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (p->home_fd < 0) {
		int e = errno;

		free(p->expect);
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
	p->v[p->n++] = (struct entry){ .fd = fd, .owner = FRESH };
	return 0;
}

int sbox_netns_pool_fill(struct sbox_netns_pool *p, size_t max_new, struct sbox_err *err)
{
	int made = 0;

	if (p->broken)
		return sbox_fail(err, EINVAL, "the netns pool is unusable: an earlier fill could not return to the launcher's network namespace");
	drop_expired(p);
	while ((size_t)made < max_new && p->n + p->n_expect < p->capacity) {
		if (make_one(p, err) < 0)
			return -1;
		made++;
	}
	return made;
}

/* Entry i out of the pool (the order of the others kept): its fd. */
static int remove_at(struct sbox_netns_pool *p, size_t i)
{
	int fd = p->v[i].fd;

	memmove(&p->v[i], &p->v[i + 1], (p->n - i - 1) * sizeof(p->v[0]));
	p->n--;
	return fd;
}

static int take_one(struct sbox_netns_pool *p, uint64_t owner);

int sbox_netns_pool_take(struct sbox_netns_pool *p)
{
	return sbox_netns_pool_take_for(p, FRESH, false);
}

/* A taken netns that will be offered back (the sandbox may recycle it). */
static int expect_back(struct sbox_netns_pool *p, int fd)
{
	drop_expired(p);
	if (p->n_expect < p->capacity)
		p->expect[p->n_expect++] = now_usec() + EXPECT_USEC;
	return fd;
}

int sbox_netns_pool_take_for(struct sbox_netns_pool *p, uint64_t owner, bool may_return)
{
	int fd = take_one(p, owner);

	return fd >= 0 && may_return ? expect_back(p, fd) : fd;
}

static int take_one(struct sbox_netns_pool *p, uint64_t owner)
{
	if (!p || p->broken || p->n == 0)
		return -1;
	/* The newest of this owner's own, else the newest fresh one. */
	for (size_t i = p->n; owner != FRESH && i-- > 0; )
		if (p->v[i].owner == owner)
			return remove_at(p, i);
	for (size_t i = p->n; i-- > 0; )
		if (p->v[i].owner == FRESH)
			return remove_at(p, i);
	/* Only other users' recycled ones: never handed across users; the
	 * oldest goes, so that the refill makes a fresh one in its place. */
	close(remove_at(p, 0));
	return -1;
}

void sbox_netns_pool_give(struct sbox_netns_pool *p, int fd, uint64_t owner)
{
	if (fd < 0)
		return;
	if (!p || p->broken || owner == FRESH) {
		close(fd);
		return;
	}
	drop_expired(p);
	if (p->n_expect > 0) {
		memmove(p->expect, p->expect + 1, (p->n_expect - 1) * sizeof(p->expect[0]));
		p->n_expect--;
	}
	/* Full: the oldest goes (a fresh one is made again when idle). */
	if (p->n == p->capacity)
		close(remove_at(p, 0));
	p->v[p->n++] = (struct entry){ .fd = fd, .owner = owner };
}

size_t sbox_netns_pool_count(const struct sbox_netns_pool *p)
{
	return p->n;
}

size_t sbox_netns_pool_room(const struct sbox_netns_pool *p)
{
	size_t taken = p->n + expected(p);

	return p->broken || taken >= p->capacity ? 0 : p->capacity - taken;
}

void sbox_netns_pool_free(struct sbox_netns_pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		close(p->v[i].fd);
	close(p->home_fd);
	free(p->expect);
	free(p);
}

/* Whether a used pooled netns may go back to the pool, checked from
 * inside it (docs/security.md, "Recycled network namespaces"): what its
 * sandbox could have left there without a capability is sockets, and
 * what it could not is links, addresses and routes; both are looked at.
 * System calls only (a teardown thread runs this beside a thread that
 * clones): /proc/thread-self/net is the calling thread's netns. */

static ssize_t read_net(const char *file, char *buf, size_t len)
{
	char path[64];
	ssize_t n, got = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/thread-self/net/%s", file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while ((size_t)got < len - 1 && (n = read(fd, buf + got, len - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return (size_t)got == len - 1 ? -1 : got;     /* too long to judge: refuse */
}

/* sockstat, sockstat6: every socket count of this netns is 0 ("used",
 * "inuse", and "tw" for TIME_WAIT; "orphan", "alloc" and "mem" are the
 * host's totals). */
static bool no_sockets(const char *text)
{
	static const char *const keys[] = { " used ", " inuse ", " tw " };

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		for (const char *p = text; (p = strstr(p, keys[k])); p += strlen(keys[k]))
			if (strtoul(p + strlen(keys[k]), NULL, 10) != 0)
				return false;
	return true;
}

static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (const char *p = text; (p = strchr(p, '\n')); p++)
		n++;
	return n;
}

/* /proc/net/dev: two header lines, then "lo:" alone. */
static bool only_lo(const char *dev)
{
	const char *third = dev;

	for (int i = 0; i < 2 && third; i++)
		third = strchr(third, '\n') ? strchr(third, '\n') + 1 : NULL;
	return third && count_lines(dev) == 3 && strncmp(third + strspn(third, " "), "lo:", 3) == 0;
}

/* lo up with 127.0.0.1 alone (SIOCGIFCONF lists the IPv4 addresses). */
static bool lo_as_made(void)
{
	struct ifreq ifr[4];
	struct ifconf ifc = { .ifc_len = sizeof(ifr), .ifc_req = ifr };
	struct ifreq fl = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (s < 0)
		return false;
	memset(ifr, 0, sizeof(ifr));
	snprintf(fl.ifr_name, sizeof(fl.ifr_name), "lo");
	ok = ioctl(s, SIOCGIFCONF, &ifc) == 0 && ifc.ifc_len == (int)sizeof(ifr[0]) &&
	     strcmp(ifr[0].ifr_name, "lo") == 0 &&
	     ((struct sockaddr_in *)&ifr[0].ifr_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
	     ioctl(s, SIOCGIFFLAGS, &fl) == 0 && (fl.ifr_flags & IFF_UP);
	close(s);
	return ok;
}

/* IPv6 flow labels (IPV6_FLOWLABEL_MGR, no capability needed) outlive
 * their socket by their linger, up to 150 s, listed with the label and
 * held against others: the header line alone.  No file: no IPv6. */
static bool flow_labels_left(void)
{
	char buf[1024];

	errno = 0;                 /* a file too long to judge sets none */
	if (read_net("ip6_flowlabel", buf, sizeof(buf)) < 0)
		return errno != ENOENT;
	return count_lines(buf) > 1;
}

static int judge(struct sbox_err *err)
{
	char buf[4096];

	if (read_net("sockstat", buf, sizeof(buf)) < 0 || !no_sockets(buf) ||
	    read_net("sockstat6", buf, sizeof(buf)) < 0 || !no_sockets(buf))
		return sbox_fail(err, EBUSY, "a socket of the sandbox is still open in it");
	if (read_net("dev", buf, sizeof(buf)) < 0 || !only_lo(buf))
		return sbox_fail(err, EEXIST, "it holds an interface besides lo");
	/* IPv6 may be off: no line then; else ::1 on lo alone. */
	if (read_net("if_inet6", buf, sizeof(buf)) < 0 || count_lines(buf) > 1 ||
	    (buf[0] && strncmp(buf, "00000000000000000000000000000001 ", 33) != 0))
		return sbox_fail(err, EEXIST, "its IPv6 addresses are not ::1 alone");
	if (read_net("route", buf, sizeof(buf)) < 0 || count_lines(buf) != 1)
		return sbox_fail(err, EEXIST, "its main routing table is not empty");
	if (!lo_as_made())
		return sbox_fail(err, EEXIST, "lo is not up with 127.0.0.1 alone");
	if (flow_labels_left())
		return sbox_fail(err, EBUSY, "an IPv6 flow label of the sandbox is still held in it");
	return 0;
}

int sbox_netns_check_clean(int ns_fd, struct sbox_err *err)
{
	int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int r;

	if (home < 0)
		return sbox_fail(err, errno, "opening the thread's own network namespace");
	if (setns(ns_fd, CLONE_NEWNET) < 0) {
		r = sbox_fail(err, errno, "entering the used network namespace");
		close(home);
		return r;
	}
	r = judge(err);
	if (setns(home, CLONE_NEWNET) < 0) {
		close(home);
		return sbox_fail(err, errno, "returning to the thread's own network namespace: this thread must not be used again");
	}
	close(home);
	if (r < 0)
		sbox_err_prefix(err, "not recycled");
	return r;
}

/* A pooled netns kept past its sandbox (sandbox/network.h). */

int sbox_net_judge_kept(struct sbox_net *n, struct sbox_err *err)
{
	n->recycle_ok = false;
	if (n->keep_fd < 0)
		return 0;
	if (sbox_netns_check_clean(n->keep_fd, err) < 0)
		return -1;
	n->recycle_ok = true;
	return 0;
}

int sbox_net_take_kept(struct sbox_net *n, uint64_t *owner)
{
	int fd = n->recycle_ok ? n->keep_fd : -1;

	if (fd >= 0) {
		n->keep_fd = -1;
		n->recycle_ok = false;
		*owner = n->owner;
	}
	return fd;
}

void sbox_net_drop_kept(struct sbox_net *n)
{
	if (n->keep_fd >= 0)
		close(n->keep_fd);
	n->keep_fd = -1;
	n->recycle_ok = false;
}
