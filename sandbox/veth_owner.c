/* SPDX-License-Identifier: MIT */
/*
 * Whose a veth pair on the host is.  Host ends are named for their
 * address block (sbox-0ae70004), and a block is held by a lease in
 * /run/sbox/net/ipam; but launchers that don't share that registry
 * (another mount namespace: a container's launcher, a second /run) share
 * the names, which live in the network namespace.  So a launcher that
 * holds a block's lease and still finds its name taken must not take the
 * pair for a stale one of its own: it may be another registry's live
 * sandbox's (found by a hostile review: the old EEXIST path deleted it).
 * Each host end carries its sandbox's identity in its alias, and only a
 * pair whose sandbox is dead is deleted; any other makes the block busy.
 */
#include "sandbox/network.h"

#include <errno.h>
#include <fcntl.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OWNER_FMT "sbox init=%d:%llu pidns=%llu"

/* A process's start time (clock ticks since boot, /proc/PID/stat's 22nd
 * field): with its pid, an identity no later process takes.  -ESRCH for a
 * process that has exited (a zombie: an init whose launcher was killed,
 * not yet reaped by whoever inherited it). */
static int start_time(pid_t pid, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	/* The command's name may hold anything but ends at the last ')';
	 * then state (field 3) ... starttime (field 22). */
	p = strrchr(buf, ')');
	if (p && (p[1] != ' ' || p[2] == 'Z' || p[2] == 'X'))
		return p[1] == ' ' ? -ESRCH : -EIO;
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", start) != 1)
		return -EIO;
	return 0;
}

/* Our pid namespace: a pid in an alias means something only there. */
static unsigned long long pid_ns(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

int sbox_veth_owner_alias(pid_t init, char *buf, size_t len)
{
	unsigned long long start;
	int r = start_time(init, &start);

	if (r < 0) {
		errno = -r;
		return -1;
	}
	snprintf(buf, len, OWNER_FMT, (int)init, start, pid_ns());
	return 0;
}

/* Dead for sure: its alias is ours, of our pid namespace, and no process
 * has that pid and start time any more.  No alias (a pair of an older
 * sbox, or one whose launcher is between creating it and raising it),
 * another's, or another pid namespace's: not known to be dead. */
static bool owner_dead(const char *alias)
{
	unsigned long long start, now, ns;
	int pid, r;

	if (!alias || sscanf(alias, OWNER_FMT, &pid, &start, &ns) != 3 || pid <= 0 || ns != pid_ns())
		return false;
	r = start_time(pid, &now);
	return r == -ENOENT || r == -ESRCH || (r == 0 && now != start);
}

static bool pair_of_dead_sandbox(const char *name)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct rtnl_link *link = NULL;
	bool dead = false;

	if (sk && nl_connect(sk, NETLINK_ROUTE) == 0 && rtnl_link_get_kernel(sk, 0, name, &link) == 0)
		dead = owner_dead(rtnl_link_get_ifalias(link));
	if (link)
		rtnl_link_put(link);
	if (sk)
		nl_socket_free(sk);
	return dead;
}

void sbox_veth_host_name(uint32_t block, char *buf, size_t len)
{
	snprintf(buf, len, "sbox-%08x", block);
}

bool sbox_veth_block_usable(uint32_t block, void *arg)
{
	char name[IF_NAMESIZE];

	(void)arg;
	sbox_veth_host_name(block, name, sizeof(name));
	if (if_nametoindex(name) == 0 && errno == ENODEV)
		return true;
	if (!pair_of_dead_sandbox(name))
		return false;
	/* A dead sandbox's pair, whose netns something still holds (or the
	 * kernel is tearing down): garbage, and we hold the block's lease. */
	sbox_net_delete_veth(name);
	return if_nametoindex(name) == 0 && errno == ENODEV;
}
