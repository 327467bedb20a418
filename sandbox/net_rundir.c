/* SPDX-License-Identifier: MIT */
/*
 * The launchers' network registry (sandbox/network.h: sbox_net_rundir(),
 * sbox_net_lock_file()): /run/sbox/net, a private, unbindable tmpfs for
 * the state every launcher on the host shares (address leases, network
 * groups), and the flock() helper that keeps two launchers from taking
 * the same one.
 */
#include "sandbox/network.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

static int ensure_dir(const char *path, mode_t mode, struct sbox_err *err)
{
	struct stat st;

	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return sbox_fail(err, errno, "creating %s", path);
	if (lstat(path, &st) < 0)
		return sbox_fail(err, errno, "%s", path);
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0)
		return sbox_fail(err, ENOTDIR, "%s is not a directory owned by root", path);
	return 0;
}

static bool is_our_tmpfs(const char *path)
{
	struct statx stx;
	struct statfs sf;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0 ||
	    !(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) ||
	    !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
		return false;
	return statfs(path, &sf) == 0 && sf.f_type == TMPFS_MAGIC;
}

/* Nothing in the registry holds data (lease and lock files are empty, a
 * group's owner is its members file's owner, a netns is a bind mount), so
 * it never fills by size: what it holds is inodes, at most 3 for each
 * live sandbox (a group's lock, members and netns files, shared by its
 * members; 1 for a veth lease), and a directory per user.  sboxd runs at
 * most MaxJobs= (<= 1,000,000) sandboxes, so 4m inodes are more than all
 * of its clients together can hold: one user's share is bounded by its
 * MaxJobsPerUser=, and no user can use up what the others need
 * (docs/security.md).  size= stays small: a write of data here would be a
 * bug, and fails. */
#define SBOX_NET_RUNDIR_OPTIONS "mode=0700,size=1m,nr_inodes=4m"

static int mount_rundir(struct sbox_err *err)
{
	int lock;

	/* First use on this boot: serialize the mount so that two
	 * launchers don't stack two tmpfs. */
	lock = sbox_net_lock_file("/run/sbox/.net-mount.lock", LOCK_EX, err);
	if (lock < 0)
		return -1;
	if (!is_our_tmpfs(SBOX_NET_RUNDIR)) {
		if (mount("sbox-net", SBOX_NET_RUNDIR, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  SBOX_NET_RUNDIR_OPTIONS) < 0) {
			sbox_fail(err, errno, "mounting a tmpfs on %s", SBOX_NET_RUNDIR);
			goto out;
		}
		/* Unbindable: no recursive bind of / in this namespace
		 * copies it.  A new mount namespace's copy is private, not
		 * unbindable: each sandbox marks its own (hide_rundir). */
		if (mount(NULL, SBOX_NET_RUNDIR, NULL, MS_UNBINDABLE, NULL) < 0) {
			sbox_fail(err, errno, "making %s unbindable", SBOX_NET_RUNDIR);
			umount2(SBOX_NET_RUNDIR, MNT_DETACH);
			goto out;
		}
	}
	flock(lock, LOCK_UN);
	close(lock);
	return 0;
out:
	flock(lock, LOCK_UN);
	close(lock);
	return -1;
}

int sbox_net_rundir(const char *sub, struct sbox_err *err)
{
	char path[128];

	if (ensure_dir("/run/sbox", 0755, err) < 0 || ensure_dir(SBOX_NET_RUNDIR, 0700, err) < 0)
		return -1;
	if (!is_our_tmpfs(SBOX_NET_RUNDIR) && mount_rundir(err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", SBOX_NET_RUNDIR, sub);
	return ensure_dir(path, 0700, err);
}

int sbox_net_lock_file(const char *path, int how, struct sbox_err *err)
{
	for (int tries = 0; tries < 64; tries++) {
		struct stat a, b;
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd < 0)
			return sbox_fail(err, errno, "opening lock file %s", path);
		while (flock(fd, how) < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			close(fd);
			if (e == EWOULDBLOCK)
				return -2;
			return sbox_fail(err, e, "locking %s", path);
		}
		/* Its last holder may have unlinked it while we waited: then
		 * the lock we hold guards nothing. */
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return fd;
		flock(fd, LOCK_UN);
		close(fd);
	}
	return sbox_fail(err, EAGAIN, "locking %s: it keeps being replaced", path);
}
