/* SPDX-License-Identifier: MIT */
#include "sandbox/mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/bind_order.h"
#include "sandbox/cgview.h"
#include "sandbox/devfs.h"
#include "sandbox/fsutil.h"
#include "sandbox/kapi.h"
#include "sandbox/masks.h"
#include "sandbox/mounts_classic.h"

#define STAGING_ROOT SBOX_STAGING_DIR "/root"

/* Every mount sbox makes for the worker is at least nosuid and nodev: a
 * writable place must not become a way to plant a setuid binary or a
 * device node. */
#define SAFE_ATTRS (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)

/* A writable bind is nosuid and nodev: nothing planted there can become a
 * setuid binary or a device.  A read-only bind is nosuid but keeps its device
 * nodes: nothing can be planted in it, and whether a node on it opens is the
 * device cgroup's to decide — so a node bound in by a policy is refused by
 * the kernel (EPERM) unless the sandbox was granted that device.  Where no
 * device cgroup is in force, mount_bind() adds nodev back. */
static unsigned long long bind_attrs(const struct sbox_mount *m)
{
	if (m->kind == SBOX_MOUNT_BIND_RO)
		return MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID;
	return SAFE_ATTRS;
}

/* Through sboxd: a source the client passed no fd for, where the policy
 * does not call it optional. */
static bool no_source(const struct sbox_mount *m, int tree, struct sbox_err *err)
{
	if (tree >= 0 || m->optional)
		return false;
	sbox_fail(err, EBADF, "%s=%s: the client passed no fd for this source",
		  m->kind == SBOX_MOUNT_BIND ? "BindPaths" : "BindReadOnlyPaths", m->src);
	return true;
}

int sbox_fs_open_sources(struct sbox_fs *fs, const struct sbox_policy *p, struct sbox_err *err)
{
	fs->root_fd = -1;
	fs->n = p->n_mounts;
	fs->trees = calloc(p->n_mounts ? p->n_mounts : 1, sizeof(int));
	if (!fs->trees)
		return sbox_fail(err, ENOMEM, "allocating mount table");
	for (size_t i = 0; i < p->n_mounts; i++)
		fs->trees[i] = -1;

	/* Our mounts must never propagate back into the host's namespace. */
	if (sbox_mount_change(NULL, "/", MS_REC | MS_SLAVE) < 0)
		return sbox_fail(err, errno, "making / a slave mount");
	if (fs->binds_later)
		return 0;

	for (size_t i = 0; i < p->n_mounts; i++) {
		const struct sbox_mount *m = &p->mounts[i];
		unsigned long long attrs = bind_attrs(m);
		char self[64];
		bool missing;
		int src;

		if (!sbox_mount_is_bind(m))
			continue;
		/* Through sboxd the source is the client's own fd, cloned by
		 * the parent: the path string is never resolved here, as root,
		 * where a client could name a file only root may read. */
		if (fs->src_trees) {
			fs->trees[i] = fs->src_trees[i];
			if (no_source(m, fs->trees[i], err))
				return -1;
			continue;
		}
		/* The source is resolved as the caller sees it
		 * (links checked one by one, no magic link), then cloned
		 * through its fd, so that a link swapped into the path later
		 * can't redirect the bind (sandbox/masks.c) */
		src = sbox_open_bind_source(m, &fs->caller, &missing, err);
		if (src < 0) {
			if (missing)
				continue;
			return -1;
		}
		snprintf(self, sizeof(self), "/proc/self/fd/%d", src);
		/* New API: a detached clone with its attributes; classic: an
		 * O_PATH fd, bound at sbox_fs_build() through /proc/self/fd
		 * (a source under /tmp stays reachable either way). */
		fs->trees[i] = sbox_bind_source(self, attrs, true, err);
		close(src);
		if (fs->trees[i] < 0) {
			sbox_err_prefix(err, "%s", m->kind == SBOX_MOUNT_BIND ? "BindPaths" :
					"BindReadOnlyPaths");
			return -1;
		}
	}
	return 0;
}

static int make_staging(struct sbox_err *err)
{
	int fd;

	/* A private tmpfs to assemble the root in; it vanishes with the old
	 * root at the pivot, and hides the host's /tmp only in our namespace. */
	if (mount("tmpfs", SBOX_STAGING_DIR, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0700,size=64k,nr_inodes=64") < 0)
		return sbox_fail(err, errno, "mounting the staging tmpfs on %s", SBOX_STAGING_DIR);
	if (mkdir(STAGING_ROOT, 0755) < 0)
		return sbox_fail(err, errno, "creating %s", STAGING_ROOT);
	/* The nodes InaccessiblePaths= and the masks mount over hidden
	 * paths, as systemd's /run/systemd/inaccessible/: mode 0, on a
	 * read-only mount (sbox_fs_hide()). */
	if (mkdir(SBOX_HIDDEN_DIR, 0) < 0)
		return sbox_fail(err, errno, "creating %s", SBOX_HIDDEN_DIR);
	fd = open(SBOX_HIDDEN_FILE, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return sbox_fail(err, errno, "creating %s", SBOX_HIDDEN_FILE);
	close(fd);
	return 0;
}

/* Without the new mount API: the staging tmpfs first (the bind's target
 * lies in it), then "/" bound there and remounted mount by mount
 * (sandbox/mounts_classic.c, which says what that copy holds). */
static int attach_root_classic(struct sbox_fs *fs, struct sbox_err *err)
{
	unsigned long ms;

	if (make_staging(err) < 0)
		return -1;
	if (sbox_attrs_to_ms(MOUNT_ATTR_RDONLY | SAFE_ATTRS, &ms) < 0)
		return sbox_fail(err, errno, "root view");
	fs->root_fd = sbox_classic_root(STAGING_ROOT, ms, err);
	if (fs->root_fd < 0) {
		sbox_err_prefix(err, "root view");
		return -1;
	}
	return 0;
}

static int attach_root(struct sbox_fs *fs, struct sbox_err *err)
{
	_cleanup_close_ int tree = -1;

	if (!sbox_have_mount_api())
		return attach_root_classic(fs, err);
	/* The host's root, recursively: read-only, nosuid, nodev.  Cloned
	 * before the staging tmpfs exists, so it is not inside the clone. */
	tree = sbox_bind_source("/", MOUNT_ATTR_RDONLY | SAFE_ATTRS, true, err);
	if (tree < 0) {
		sbox_err_prefix(err, "root view");
		return -1;
	}
	if (make_staging(err) < 0)
		return -1;
	if (sbox_sys_move_mount(tree, "", AT_FDCWD, STAGING_ROOT, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return sbox_fail(err, errno, "attaching the root view at %s", STAGING_ROOT);
	fs->root_fd = open(STAGING_ROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->root_fd < 0)
		return sbox_fail(err, errno, "opening %s", STAGING_ROOT);
	return 0;
}

static int mount_proc(struct sbox_fs *fs, struct sbox_err *err)
{
	_cleanup_close_ int target = sbox_open_in_root(fs->root_fd, "/proc", O_DIRECTORY);

	if (target < 0)
		return sbox_fail(err, errno, "opening /proc of the new root");
	/* A fresh proc for the new pid namespace: the worker sees only its
	 * own processes. */
	if (sbox_mount_at_fd("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return sbox_fail(err, errno, "mounting proc on /proc");
	return 0;
}

static int mount_tmp(struct sbox_fs *fs, struct sbox_err *err)
{
	_cleanup_close_ int target = sbox_open_in_root(fs->root_fd, "/tmp", O_DIRECTORY);

	if (target < 0)
		return sbox_fail(err, errno, "opening /tmp of the new root");
	return sbox_mount_own_tmpfs(target, MS_NOSUID | MS_NODEV, "mode=1777," SBOX_TMPFS_DEFAULT_SIZE,
				err, "/tmp");
}

/* C6g: a bind attached after the other mounts, where its destination
 * resolved in the root: sboxd/shape.c judged the text, but a link in the
 * root (one the user planted in its own tree) may lead elsewhere, onto
 * /dev, /proc, /sys or another mount's path, which a launch in full would
 * have mounted over the bind: refused. */
static int late_target_apart(const struct sbox_policy *p, int target, const struct sbox_mount *m,
			     struct sbox_err *err)
{
	char self[64], where[PATH_MAX];
	ssize_t n;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", target);
	n = readlink(self, where, sizeof(where) - 1);
	if (n < 0)
		return sbox_fail(err, errno, "resolving the bind destination %s", m->dst);
	where[n] = '\0';
	if (sbox_bind_dst_apart(p, where))
		return 0;
	return sbox_fail(err, EXDEV, "%s=...:%s: the destination resolves to %s, which a prepared sandbox can't bind onto: /dev, /proc, /sys or another mount's path, mounted after the binds in a launch in full",
			 m->kind == SBOX_MOUNT_BIND ? "BindPaths" : "BindReadOnlyPaths", m->dst, where);
}

static int mount_bind(struct sbox_fs *fs, size_t i, const struct sbox_mount *m,
		      struct sbox_err *err)
{
	struct stat st;
	_cleanup_close_ int target = -1;

	if (fs->trees[i] < 0)
		return 0;      /* optional source that was missing */
	if (fstat(fs->trees[i], &st) < 0)
		return sbox_fail(err, errno, "bind source %s", m->src);
	target = sbox_open_or_create_in_root(fs->root_fd, m->dst, S_ISDIR(st.st_mode), err);
	if (target < 0 || (fs->late_of && late_target_apart(fs->late_of, target, m, err) < 0))
		return -1;
	unsigned long long attrs = bind_attrs(m);

	if (!fs->devices_enforced)
		attrs |= MOUNT_ATTR_NODEV;
	if (sbox_bind_attach(fs->trees[i], target, attrs, true, err) < 0) {
		sbox_err_prefix(err, "binding %s onto %s", m->src, m->dst);
		return -1;
	}
	return 0;
}

static int mount_hidden(struct sbox_fs *fs, const struct sbox_mount *m, struct sbox_err *err)
{
	_cleanup_close_ int target = sbox_open_in_root(fs->root_fd, m->dst, 0);
	char what[4200];

	snprintf(what, sizeof(what), "InaccessiblePaths=%s", m->dst);
	if (target < 0) {
		if (errno == ENOENT)
			return 0;  /* nothing there: nothing to hide */
		return sbox_fail(err, errno, "%s", what);
	}
	return sbox_fs_hide(target, what, err);
}

static int mount_policy_tmpfs(struct sbox_fs *fs, const struct sbox_mount *m, struct sbox_err *err)
{
	char what[4200], opts[4400];
	const char *o = m->options ? m->options : "mode=0755";
	char bounded[4300];
	_cleanup_close_ int target = sbox_open_or_create_in_root(fs->root_fd, m->dst, true, err);

	if (target < 0)
		return -1;
	snprintf(what, sizeof(what), "TemporaryFileSystem=%s", m->dst);
	/* Bounded unless the policy gives its own (size=0 is refused by
	 * policy validation). */
	if (!strstr(o, "size=") && !strstr(o, "nr_blocks=")) {
		snprintf(bounded, sizeof(bounded), "%s,%s", o, SBOX_TMPFS_DEFAULT_SIZE);
		o = bounded;
	}
	/* The worker's scratch space, though it runs as another user than
	 * the one mounting it (sandbox/identity.c): without uid=/gid= it
	 * could not write there. */
	if (fs->worker_owned && !strstr(o, "uid=") && !strstr(o, "gid=")) {
		snprintf(opts, sizeof(opts), "%s,uid=%u,gid=%u", o, (unsigned)fs->worker_uid,
			 (unsigned)fs->worker_gid);
		o = opts;
	}
	return sbox_mount_own_tmpfs(target, MS_NOSUID | MS_NODEV, o, err, what);
}

int sbox_fs_build(struct sbox_fs *fs, const struct sbox_policy *p, struct sbox_err *err)
{
	if (attach_root(fs, err) < 0 || mount_proc(fs, err) < 0 ||
	    sbox_devfs_build(fs->root_fd, p, fs->grant, fs->devices, fs->console_fd, err) < 0 || mount_tmp(fs, err) < 0)
		return -1;
	/* /run hidden before the policy's mounts, so that the host's sockets
	 * there are out of view and binds under /run land on top of the empty
	 * tmpfs (sandbox/masks.c). */
	if (sbox_masks_hide_run(fs->root_fd, err) < 0)
		return -1;
	/* /sys/fs/cgroup: the sandbox's own cgroup only, never the host's
	 * tree with every other sandbox in it (sandbox/cgview.h); before the
	 * policy's mounts, as /run, so that a bind there lands on top. */
	if (sbox_cgview_mount(fs->root_fd, fs->cgview, err) < 0)
		return -1;
	for (size_t i = 0; i < p->n_mounts; i++) {
		const struct sbox_mount *m = &p->mounts[i];
		int r;

		switch (m->kind) {
		case SBOX_MOUNT_BIND:
		case SBOX_MOUNT_BIND_RO:
			r = mount_bind(fs, i, m, err);
			break;
		case SBOX_MOUNT_TMPFS:
			r = mount_policy_tmpfs(fs, m, err);
			break;
		case SBOX_MOUNT_INACCESSIBLE:
			r = mount_hidden(fs, m, err);
			break;
		default:
			r = sbox_fail(err, EINVAL, "unknown mount kind %d", (int)m->kind);
			break;
		}
		if (r < 0)
			return -1;
	}
	/* /dev read-only once the binds that may land under it are in. */
	if (sbox_devfs_seal(fs->root_fd, err) < 0)
		return -1;
	/* /proc and /sys masks last, so no mount above can uncover them;
	 * before the pivot, while the staging tmpfs exists. */
	return sbox_masks_apply(fs->root_fd, err);
}

int sbox_fs_pivot(struct sbox_fs *fs, struct sbox_err *err)
{
	/* pivot_root(".", ".") stacks the old root on top of the new one,
	 * so it needs no directory inside the new root (as runc does it);
	 * the detach then leaves only the new root. */
	if (fchdir(fs->root_fd) < 0)
		return sbox_fail(err, errno, "entering the new root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return sbox_fail(err, errno, "pivot_root into the new root");
	if (umount2(".", MNT_DETACH) < 0)
		return sbox_fail(err, errno, "detaching the old root");
	if (chdir("/") < 0)
		return sbox_fail(err, errno, "chdir to the new /");
	return 0;
}

int sbox_fs_attach_binds(const struct sbox_policy *p, const int *trees, bool devices_enforced,
			 struct sbox_err *err)
{
	struct sbox_fs fs = { .trees = (int *)trees, .n = p->n_mounts,
			      .devices_enforced = devices_enforced, .late_of = p };
	int rc = 0;

	fs.root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs.root_fd < 0)
		return sbox_fail(err, errno, "opening the sandbox's root");
	for (size_t i = 0; i < p->n_mounts && rc == 0; i++) {
		const struct sbox_mount *m = &p->mounts[i];

		if (sbox_mount_is_bind(m))
			rc = no_source(m, trees[i], err) ? -1 : mount_bind(&fs, i, m, err);
	}
	close(fs.root_fd);
	return rc;
}

void sbox_fs_release(struct sbox_fs *fs)
{
	for (size_t i = 0; fs->trees && i < fs->n; i++)
		if (fs->trees[i] >= 0)
			close(fs->trees[i]);
	free(fs->trees);
	fs->trees = NULL;
	if (fs->root_fd >= 0)
		close(fs->root_fd);
	fs->root_fd = -1;
}

/* sboxd's bind sources, cloned from the client's fds (see mounts.h). */
int sbox_fs_clone_fd_sources(const struct sbox_policy *p, const int *src_fds, size_t n,
			     int **trees, struct sbox_err *err)
{
	int *t;

	*trees = NULL;
	if (n != p->n_mounts)
		return sbox_fail(err, EINVAL, "%zu bind source fds for %zu mounts", n, p->n_mounts);
	if (!sbox_have_mount_api())
		return sbox_fail(err, ENOSYS, "binding a client's fds needs the new mount API (open_tree, mount_setattr: Linux 5.12)");
	t = calloc(n ? n : 1, sizeof(int));
	if (!t)
		return sbox_fail(err, ENOMEM, "allocating the bind sources");
	for (size_t i = 0; i < n; i++)
		t[i] = -1;
	for (size_t i = 0; i < n; i++) {
		const struct sbox_mount *m = &p->mounts[i];
		const char *what = m->kind == SBOX_MOUNT_BIND ? "BindPaths" : "BindReadOnlyPaths";
		struct mount_attr attr = { .attr_set = bind_attrs(m), .propagation = MS_PRIVATE };

		if (!sbox_mount_is_bind(m) || src_fds[i] < 0)
			continue;
		t[i] = sbox_sys_open_tree(src_fds[i], "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
					  AT_EMPTY_PATH | AT_RECURSIVE);
		if (t[i] < 0) {
			sbox_fail(err, errno, "%s=%s: cloning the mount tree of the client's fd", what, m->src);
			sbox_fs_trees_free(t, n);
			return -1;
		}
		/* Attributes on the detached clone, as sbox_bind_source does:
		 * it is never visible without them. */
		if (sbox_sys_mount_setattr(t[i], "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0) {
			sbox_fail(err, errno, "%s=%s: setting attributes on the clone", what, m->src);
			sbox_fs_trees_free(t, n);
			return -1;
		}
	}
	*trees = t;
	return 0;
}

void sbox_fs_trees_free(int *trees, size_t n)
{
	for (size_t i = 0; trees && i < n; i++)
		if (trees[i] >= 0)
			close(trees[i]);
	free(trees);
}
