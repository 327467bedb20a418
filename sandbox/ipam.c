/* SPDX-License-Identifier: MIT */
#include "sandbox/ipam.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/network.h"

void sbox_ipam_lease_init(struct sbox_ipam_lease *l)
{
	l->fd = -1;
	l->block = 0;
}

static void format_addr(uint32_t a, char *buf, size_t len)
{
	struct in_addr in = { .s_addr = htonl(a) };

	if (!inet_ntop(AF_INET, &in, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

void sbox_ipam_path(uint32_t block, char *buf, size_t len)
{
	char addr[INET_ADDRSTRLEN];

	format_addr(block, addr, sizeof(addr));
	snprintf(buf, len, "%s/ipam/%s", SBOX_NET_RUNDIR, addr);
}

static uint32_t random_start(uint32_t n)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)getpid();
	return r % n;
}

/* A lease file whose lock nobody holds is a leftover of a launcher that was
 * killed (its sandbox died with it, and the lock with them both): remove it
 * under the lock, as a release does, so that a launcher that opened it
 * meanwhile sees the path changed and tries again (sbox_net_lock_file). */
static bool reclaim_one(int dir, const char *name)
{
	struct stat a, b;
	bool removed = false;
	int fd = openat(dir, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
		return false;
	if (fstat(fd, &a) == 0 && S_ISREG(a.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0) {
		if (fstatat(dir, name, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			removed = unlinkat(dir, name, 0) == 0;
		flock(fd, LOCK_UN);
	}
	close(fd);
	return removed;
}

int sbox_ipam_sweep(void)
{
	char path[128];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof(path), "%s/ipam", SBOX_NET_RUNDIR);
	d = opendir(path);
	if (!d)
		return 0;       /* no lease was ever taken on this boot */
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && reclaim_one(dirfd(d), e->d_name))
			n++;
	closedir(d);
	return n;
}

int sbox_ipam_acquire(struct sbox_ipam_lease *l, uint32_t subnet, unsigned prefix,
		      sbox_ipam_usable_fn usable, void *arg, struct sbox_err *err)
{
	uint32_t n = sbox_ipam_nblocks(prefix), start, unusable = 0;
	char path[128], addr[INET_ADDRSTRLEN];

	sbox_ipam_lease_init(l);
	if (n == 0)
		return sbox_fail(err, EINVAL, "VethSubnet= /%u holds no /30 block", prefix);
	if (sbox_net_rundir("ipam", err) < 0)
		return -1;
	/* Leases of killed launchers whose block nobody took again. */
	sbox_ipam_sweep();
	start = random_start(n);
	for (uint32_t k = 0; k < n; k++) {
		uint32_t block = sbox_ipam_block(subnet, (start + k) % n);
		int fd;

		sbox_ipam_path(block, path, sizeof(path));
		fd = sbox_net_lock_file(path, LOCK_EX | LOCK_NB, err);
		if (fd == -2)
			continue;        /* a live sandbox holds it */
		if (fd < 0)
			return -1;
		l->fd = fd;
		l->block = block;
		if (!usable || usable(block, arg))
			return 0;
		/* Held outside this registry: given back, never taken over. */
		sbox_ipam_release(l);
		unusable++;
	}
	format_addr(subnet, addr, sizeof(addr));
	if (unusable)
		return sbox_fail(err, EADDRNOTAVAIL, "no free address for a veth pair: all %u blocks of VethSubnet=%s/%u are in use, %u of them by a veth pair of a sandbox this host's registry (%s) does not hold: one of a launcher that uses another %s, or one not yet deleted",
				 n, addr, prefix, unusable, SBOX_NET_RUNDIR, SBOX_NET_RUNDIR);
	return sbox_fail(err, EADDRNOTAVAIL, "no free address for a veth pair: all %u blocks of VethSubnet=%s/%u are held by running sandboxes (or by ones whose launcher is still deleting their veth pair)",
			 n, addr, prefix);
}

void sbox_ipam_release(struct sbox_ipam_lease *l)
{
	char path[128];

	if (l->fd < 0)
		return;
	/* Unlink while still holding the lock: whoever opened the file
	 * before sees, once it gets the lock, that the path now names
	 * another file (or none) and tries again (sbox_net_lock_file). */
	sbox_ipam_path(l->block, path, sizeof(path));
	unlink(path);
	flock(l->fd, LOCK_UN);
	close(l->fd);
	sbox_ipam_lease_init(l);
}
