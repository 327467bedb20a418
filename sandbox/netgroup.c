/* SPDX-License-Identifier: MIT */
#include "sandbox/netgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "sandbox/network.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

void sbox_netgroup_init(struct sbox_netgroup *g)
{
	g->lock_fd = -1;
	g->member_fd = -1;
	g->ns_fd = -1;
	g->creator = false;
	g->adopted = false;
	g->owner = 0;
	g->worker = 0;
	g->name[0] = '\0';
}

/* What a group's files have in common, ".../group/UID/NAME@WORKER": its
 * end and the sweep work from it (the sweep knows a group only by its
 * files' names). */
static void prefix_of(uid_t owner, uid_t worker, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/group/%u/%s@%u", SBOX_NET_RUNDIR, (unsigned)owner, name,
		 (unsigned)worker);
}

void sbox_netgroup_path(uid_t owner, uid_t worker, const char *name, const char *what, char *buf,
			size_t len)
{
	char prefix[192];

	prefix_of(owner, worker, name, prefix, sizeof(prefix));
	snprintf(buf, len, "%s.%s", prefix, what);
}

static void group_prefix(const struct sbox_netgroup *g, char *buf, size_t len)
{
	prefix_of(g->owner, g->worker, g->name, buf, len);
}

static void group_path(const struct sbox_netgroup *g, const char *what, char *buf, size_t len)
{
	sbox_netgroup_path(g->owner, g->worker, g->name, what, buf, len);
}

/* Explicit LOCK_UN: an flock lives while any copy of its fd does (the
 * sandbox's init has copies from clone), and leaving must not wait for
 * them. */
static void unlock_close(int *fd)
{
	if (*fd < 0)
		return;
	flock(*fd, LOCK_UN);
	close(*fd);
	*fd = -1;
}

static void remove_netns_file(const char *prefix)
{
	char path[288];

	snprintf(path, sizeof(path), "%s.netns", prefix);
	/* Not mounted (EINVAL) or absent (ENOENT) are fine: a creator that
	 * failed before publishing leaves at most the empty file. */
	umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);
	unlink(path);
}

/* The group ends: its netns file first (the netns itself dies with its
 * last reference), its lock file last, so that while anything of it is
 * left its lock file is too (the sweep looks for those).  Called with
 * the group's lock held; unlinking a lock file while holding it is safe,
 * see sbox_net_lock_file(). */
static void remove_group(const char *prefix)
{
	char path[288];

	remove_netns_file(prefix);
	snprintf(path, sizeof(path), "%s.members", prefix);
	unlink(path);
	snprintf(path, sizeof(path), "%s.lock", prefix);
	unlink(path);
}

/* Remove the group at prefix if no member is left, as its last member's
 * leave would have: under its lock (the member lock of a live member, a
 * creator's or a joiner's registry lock, hold it off), never waiting for
 * it: a launcher holding it is changing the group, and tidies it up
 * itself if it ends it.  True when the group was removed. */
static bool remove_if_unused(const char *prefix)
{
	char path[288];
	bool unused;
	int lock, fd;

	snprintf(path, sizeof(path), "%s.lock", prefix);
	lock = sbox_net_lock_file(path, LOCK_EX | LOCK_NB, NULL);
	if (lock < 0)
		return false;
	snprintf(path, sizeof(path), "%s.members", prefix);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	unused = fd < 0 ? errno == ENOENT : flock(fd, LOCK_EX | LOCK_NB) == 0;
	if (unused)
		remove_group(prefix);
	if (fd >= 0)
		unlock_close(&fd);
	unlock_close(&lock);
	return unused;
}

static int open_group_netns(struct sbox_netgroup *g, struct sbox_err *err)
{
	char path[256];
	struct statfs sf;
	int fd;

	group_path(g, "netns", path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return sbox_fail(err, errno, "PrivateNetwork=group:%s has live members but its network namespace %s",
				 g->name, path);
	/* Only an nsfs file of a network namespace may be joined: anything
	 * else there (a file left unmounted) would make setns() fail later
	 * with a worse message. */
	if (fstatfs(fd, &sf) < 0 || sf.f_type != NSFS_MAGIC ||
	    ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		close(fd);
		return sbox_fail(err, EINVAL, "PrivateNetwork=group:%s: %s is not a network namespace",
				 g->name, path);
	}
	g->ns_fd = fd;
	return 0;
}

/* The group's owner, recorded by its creator as NAME.members's owner (a
 * daemon launches for many users, and one user's sandbox must not join
 * another user's group by guessing its name; the registry is per uid
 * already, this checks it once more where the membership is taken).  In
 * the inode, not in the file's data: one 4 KiB tmpfs page of text per
 * group filled the registry's 1 MiB with 256 groups, the default
 * MaxJobsPerUser=, and then every user's group launch failed (found by a
 * hostile review).  The file is 0600 in a 0700 root directory no sandbox
 * sees, so owning it gives the user nothing.  The truncation frees the
 * text of a registry written before (an empty file has no page). */
static int record_owner(int fd, uid_t owner)
{
	if (ftruncate(fd, 0) < 0 || fchown(fd, owner, 0) < 0)
		return -1;
	return 0;
}

static int check_owner(struct sbox_netgroup *g, int fd, uid_t owner, struct sbox_err *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return sbox_fail(err, errno, "PrivateNetwork=group:%s: reading its owner", g->name);
	if (st.st_uid != owner)
		return sbox_fail(err, EACCES, "PrivateNetwork=group:%s belongs to another user (uid %u)",
				 g->name, (unsigned)st.st_uid);
	return 0;
}

int sbox_netgroup_join(struct sbox_netgroup *g, const char *name, uid_t owner, uid_t worker,
		       struct sbox_err *err)
{
	char path[256], prefix[256], sub[32];

	sbox_netgroup_init(g);
	snprintf(g->name, sizeof(g->name), "%s", name);
	g->owner = owner;
	g->worker = worker;
	/* Names are per user: one user's group never blocks (nor is joined
	 * by) another user's job of the same name.  And per worker: a
	 * launcher that runs workers as several users (root with User=, the
	 * Slurm plugin under a site's PrivateNetwork=group:) must not put
	 * two users' workers in one netns, where each reaches the other's
	 * loopback listeners (found by a hostile review: root's
	 * --user nobody and --user daemon of group:train shared one).  The
	 * same pair as a recycled netns's owner (sbox_netns_owner()). */
	snprintf(sub, sizeof(sub), "group/%u", (unsigned)owner);
	if (sbox_net_rundir("group", err) < 0 || sbox_net_rundir(sub, err) < 0)
		return -1;
	group_path(g, "lock", path, sizeof(path));
	g->lock_fd = sbox_net_lock_file(path, LOCK_EX, err);
	if (g->lock_fd < 0) {
		g->lock_fd = -1;
		return -1;
	}
	group_path(g, "members", path, sizeof(path));
	g->member_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (g->member_fd < 0) {
		sbox_fail(err, errno, "opening %s", path);
		goto fail;
	}
	/* Under the registry lock nobody else can take or test the members
	 * lock, so this test and the conversion to LOCK_SH below are one
	 * step for everybody else. */
	if (flock(g->member_fd, LOCK_EX | LOCK_NB) == 0) {
		/* No live member: whatever is published is a leftover of a
		 * group whose last launcher was killed.  A new group starts
		 * from a fresh netns. */
		group_prefix(g, prefix, sizeof(prefix));
		remove_netns_file(prefix);
		g->creator = true;
		if (flock(g->member_fd, LOCK_SH) < 0) {
			sbox_fail(err, errno, "locking %s", path);
			goto fail;
		}
		if (record_owner(g->member_fd, owner) < 0) {
			sbox_fail(err, errno, "recording the owner of PrivateNetwork=group:%s on %s", name, path);
			goto fail;
		}
		return 0;   /* the registry stays locked until publish */
	}
	if (errno != EWOULDBLOCK) {
		sbox_fail(err, errno, "locking %s", path);
		goto fail;
	}
	if (flock(g->member_fd, LOCK_SH) < 0) {
		sbox_fail(err, errno, "locking %s", path);
		goto fail;
	}
	if (check_owner(g, g->member_fd, owner, err) < 0 || open_group_netns(g, err) < 0)
		goto fail;
	unlock_close(&g->lock_fd);
	return 0;
fail:
	sbox_netgroup_leave(g);
	return -1;
}

int sbox_netgroup_publish(struct sbox_netgroup *g, pid_t pid, struct sbox_err *err)
{
	char path[256], src[64];
	int fd;

	if (!g->creator)
		return 0;
	group_path(g, "netns", path, sizeof(path));
	fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0);
	if (fd < 0)
		return sbox_fail(err, errno, "creating %s", path);
	close(fd);
	/* The child is ours and not reaped, so its pid names it. */
	snprintf(src, sizeof(src), "/proc/%d/ns/net", (int)pid);
	if (mount(src, path, "none", MS_BIND, NULL) < 0)
		return sbox_fail(err, errno, "publishing the network namespace of PrivateNetwork=group:%s on %s",
				 g->name, path);
	unlock_close(&g->lock_fd);
	return 0;
}

void sbox_netgroup_adopt(struct sbox_netgroup *g, const char *name, uid_t owner, uid_t worker)
{
	sbox_netgroup_init(g);
	snprintf(g->name, sizeof(g->name), "%s", name);
	g->owner = owner;
	g->worker = worker;
	g->adopted = true;
}

void sbox_netgroup_leave(struct sbox_netgroup *g)
{
	char path[256];
	int fd;

	if (g->ns_fd >= 0)
		close(g->ns_fd);
	g->ns_fd = -1;
	if (g->adopted) {
		/* Our membership was init's copy, gone with it: if it was
		 * the last, nobody else would end the group. */
		group_prefix(g, path, sizeof(path));
		remove_if_unused(path);
		g->adopted = false;
		return;
	}
	if (g->member_fd < 0) {
		unlock_close(&g->lock_fd);
		return;
	}
	if (g->lock_fd < 0) {
		group_path(g, "lock", path, sizeof(path));
		g->lock_fd = sbox_net_lock_file(path, LOCK_EX, NULL);
		if (g->lock_fd < 0) {
			/* Can't tidy up: drop the membership; the next
			 * member to join removes what is left. */
			g->lock_fd = -1;
			unlock_close(&g->member_fd);
			return;
		}
	}
	unlock_close(&g->member_fd);
	group_path(g, "members", path, sizeof(path));
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
		/* The last member: the group ends. */
		group_prefix(g, path, sizeof(path));
		remove_group(path);
	}
	if (fd >= 0)
		unlock_close(&fd);
	unlock_close(&g->lock_fd);
	g->creator = false;
}

/* The groups of one user's directory: each group has its lock file while
 * anything of it is left (remove_group()). */
static int sweep_dir(const char *dir)
{
	char prefix[256];
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (e->d_name[0] == '.' || len <= 5 || strcmp(e->d_name + len - 5, ".lock") != 0 ||
		    (size_t)snprintf(prefix, sizeof(prefix), "%s/%.*s", dir, (int)(len - 5),
				     e->d_name) >= sizeof(prefix))
			continue;
		if (remove_if_unused(prefix))
			n++;
	}
	closedir(d);
	return n;
}

int sbox_netgroup_sweep(void)
{
	char path[128], dir[192];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/group", SBOX_NET_RUNDIR);
	d = opendir(path);
	if (!d)
		return 0;       /* no group was ever made on this boot */
	while ((e = readdir(d))) {
		/* A uid's directory: digits only, so short. */
		if (strspn(e->d_name, "0123456789") != strlen(e->d_name) || strlen(e->d_name) > 10)
			continue;
		snprintf(dir, sizeof(dir), "%s/%.10s", path, e->d_name);
		n += sweep_dir(dir);
	}
	closedir(d);
	return n;
}
