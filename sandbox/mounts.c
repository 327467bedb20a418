/* SPDX-License-Identifier: MIT */
#include "sandbox/mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/devfs.h"
#include "sandbox/fsutil.h"

#define STAGING_ROOT SBOX_STAGING_DIR "/root"
#define STAGING_HIDDEN_DIR SBOX_STAGING_DIR "/inaccessible-dir"
#define STAGING_HIDDEN_FILE SBOX_STAGING_DIR "/inaccessible-file"

/* Every mount sbox makes for the worker is at least nosuid and nodev: a
 * writable place must not become a way to plant a setuid binary or a
 * device node. */
#define SAFE_ATTRS (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)

static int clone_tree(const char *path, unsigned long long attrs, struct sbox_err *err,
		      const char *what)
{
	_cleanup_close_ int tree = -1;
	struct mount_attr attr = { .attr_set = attrs, .propagation = MS_PRIVATE };

	tree = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		return sbox_fail(err, errno, "%s: cloning the mount tree of %s", what, path);
	/* Private: nothing mounted later on the host shows up inside
	 * (it would not be read-only), and nothing goes back. */
	if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		return sbox_fail(err, errno, "%s: setting attributes on the clone of %s", what, path);
	return sbox_steal_fd(tree);
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
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return sbox_fail(err, errno, "making / a slave mount");

	for (size_t i = 0; i < p->n_mounts; i++) {
		const struct sbox_mount *m = &p->mounts[i];
		unsigned long long attrs = SAFE_ATTRS;
		struct stat st;

		if (m->kind != SBOX_MOUNT_BIND && m->kind != SBOX_MOUNT_BIND_RO)
			continue;
		if (stat(m->src, &st) < 0) {
			if (errno == ENOENT && m->optional)
				continue;
			return sbox_fail(err, errno, "%s=%s: bind source %s",
					 m->kind == SBOX_MOUNT_BIND ? "BindPaths" : "BindReadOnlyPaths",
					 m->src, m->src);
		}
		if (m->kind == SBOX_MOUNT_BIND_RO)
			attrs |= MOUNT_ATTR_RDONLY;
		fs->trees[i] = clone_tree(m->src, attrs, err, m->kind == SBOX_MOUNT_BIND ?
					  "BindPaths" : "BindReadOnlyPaths");
		if (fs->trees[i] < 0)
			return -1;
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
	/* The nodes InaccessiblePaths= mounts over hidden paths, as systemd's
	 * /run/systemd/inaccessible/: mode 0, on a read-only mount. */
	if (mkdir(STAGING_HIDDEN_DIR, 0) < 0)
		return sbox_fail(err, errno, "creating %s", STAGING_HIDDEN_DIR);
	fd = open(STAGING_HIDDEN_FILE, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return sbox_fail(err, errno, "creating %s", STAGING_HIDDEN_FILE);
	close(fd);
	return 0;
}

static int attach_root(struct sbox_fs *fs, struct sbox_err *err)
{
	_cleanup_close_ int tree = -1;

	/* The host's root, recursively: read-only, nosuid, nodev.  Cloned
	 * before the staging tmpfs exists, so it is not inside the clone. */
	tree = clone_tree("/", MOUNT_ATTR_RDONLY | SAFE_ATTRS, err, "root view");
	if (tree < 0)
		return -1;
	if (make_staging(err) < 0)
		return -1;
	if (move_mount(tree, "", AT_FDCWD, STAGING_ROOT, MOVE_MOUNT_F_EMPTY_PATH) < 0)
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
	return sbox_mount_tmpfs(target, MS_NOSUID | MS_NODEV, "mode=1777", err, "/tmp");
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
	if (target < 0)
		return -1;
	if (move_mount(fs->trees[i], "", target, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return sbox_fail(err, errno, "binding %s onto %s", m->src, m->dst);
	return 0;
}

static int mount_hidden(struct sbox_fs *fs, const struct sbox_mount *m, struct sbox_err *err)
{
	_cleanup_close_ int target = sbox_open_in_root(fs->root_fd, m->dst, 0);
	_cleanup_close_ int tree = -1;
	struct stat st;

	if (target < 0) {
		if (errno == ENOENT)
			return 0;  /* nothing there: nothing to hide */
		return sbox_fail(err, errno, "InaccessiblePaths=%s", m->dst);
	}
	if (fstat(target, &st) < 0)
		return sbox_fail(err, errno, "InaccessiblePaths=%s", m->dst);
	tree = clone_tree(S_ISDIR(st.st_mode) ? STAGING_HIDDEN_DIR : STAGING_HIDDEN_FILE,
			  MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC | SAFE_ATTRS, err,
			  "InaccessiblePaths");
	if (tree < 0)
		return -1;
	if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return sbox_fail(err, errno, "InaccessiblePaths=%s: mounting over it", m->dst);
	return 0;
}

static int mount_policy_tmpfs(struct sbox_fs *fs, const struct sbox_mount *m, struct sbox_err *err)
{
	char what[4200];
	_cleanup_close_ int target = sbox_open_or_create_in_root(fs->root_fd, m->dst, true, err);

	if (target < 0)
		return -1;
	snprintf(what, sizeof(what), "TemporaryFileSystem=%s", m->dst);
	return sbox_mount_tmpfs(target, MS_NOSUID | MS_NODEV, m->options ? m->options : "mode=0755",
				err, what);
}

int sbox_fs_build(struct sbox_fs *fs, const struct sbox_policy *p, struct sbox_err *err)
{
	if (attach_root(fs, err) < 0 || mount_proc(fs, err) < 0 ||
	    sbox_devfs_build(fs->root_fd, p, err) < 0 || mount_tmp(fs, err) < 0)
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
	return 0;
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
