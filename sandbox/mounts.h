/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/* The sandbox's filesystem view: host root read-only, fresh /proc, private
 * /dev and /tmp, the policy's binds, tmpfs and hidden paths, pivot_root. */
#ifndef SBOX_SANDBOX_MOUNTS_H
#define SBOX_SANDBOX_MOUNTS_H

#include "common/err.h"
#include "policy/policy.h"
#include "sandbox/masks.h"

struct sbox_gpu_grant;
struct sbox_device_set;
struct sbox_cgview;

/* The bound of the tmpfs sbox makes for the worker (/tmp, /dev/shm, a
 * TemporaryFileSystem= without size=): the kernel's default is half of the
 * RAM each, and /tmp plus /dev/shm of every sandbox add up.  A quarter; the
 * pages are charged to the sandbox's memory cgroup too, so MemoryMax=
 * bounds them all together (docs/policy.md). */
#define SBOX_TMPFS_DEFAULT_SIZE "size=25%,nr_inodes=1m"

/* Where the new root is assembled in the child's mount namespace. */
#define SBOX_STAGING_DIR "/tmp"

struct sbox_fs {
	/* The sources and the root being assembled (steps 1 and 2). */
	int *trees;         /* detached bind sources, one per policy mount (-1: none) */
	size_t n;
	int root_fd;        /* the new root while it is assembled */
	/* Bind sources already cloned by the parent from the client's fds
	 * (sboxd, sbox_fs_clone_fd_sources), one per policy mount: the paths
	 * are then never looked up as root.  NULL: by path, here. */
	const int *src_trees;
	/* What /dev and /proc/driver/nvidia show: the granted nodes only. */
	const struct sbox_gpu_grant *grant;    /* may be NULL */
	const struct sbox_device_set *devices; /* may be NULL */
	/* A device cgroup is in force on the sandbox: only then may a
	 * read-only bind keep its device nodes (the cgroup decides); without
	 * one every bind is nodev. */
	bool devices_enforced;
	/* What /sys/fs/cgroup shows: the sandbox's own cgroup's hierarchies,
	 * mounted in the cgroup namespace the caller is in (after C4);
	 * NULL: an empty directory (sandbox/cgview.h). */
	const struct sbox_cgview *cgview;
	/* A TemporaryFileSystem= belongs to the worker's user (uid=, gid=
	 * unless the policy gives its own), as /tmp is its to write; false:
	 * to the user building the sandbox. */
	bool worker_owned;
	uid_t worker_uid;
	gid_t worker_gid;
	/* The caller's terminal to show as /dev/console (--tty); -1: none. */
	int console_fd;
	/* Whose view bind sources are resolved in (sbox_open_bind_source). */
	struct sbox_bind_caller caller;
	/* A pool's prepared sandbox: its binds are the request's, attached
	 * after the pivot (sbox_fs_attach_binds(), C6g); steps 1 and 2 leave
	 * them out. */
	bool binds_later;
	/* C6g: the policy whose other mounts a bind attached late must stay
	 * apart from, where its destination resolved (through links). */
	const struct sbox_policy *late_of;
};

/* sboxd, P1, in the launcher.  Clone each bind source from the fd the
 * client passed (src_fds[i] for policy mount i, -1: none), with the bind's
 * attributes, in the launcher's own mount namespace: open_tree() refuses a
 * mount of another namespace, and the child has its own by C6.  Needs the
 * new mount API (Linux 5.12).  *trees gets one detached tree (or -1) per
 * policy mount; free with sbox_fs_trees_free. */
int sbox_fs_clone_fd_sources(const struct sbox_policy *p, const int *src_fds, size_t n,
			     int **trees, struct sbox_err *err);
void sbox_fs_trees_free(int *trees, size_t n);

/* Step 1: stop propagation to the host and clone every bind source while
 * the host's paths are still in view (before the staging tmpfs hides any). */
int sbox_fs_open_sources(struct sbox_fs *fs, const struct sbox_policy *p, struct sbox_err *err);
/* Step 2: assemble the root: host root read-only, /proc, /dev, /tmp,
 * /run hidden, /sys/fs/cgroup (cgview), then the policy's mounts in
 * order, /dev sealed, the masks. */
int sbox_fs_build(struct sbox_fs *fs, const struct sbox_policy *p, struct sbox_err *err);
/* Step 3: pivot_root into it and drop the old root. */
int sbox_fs_pivot(struct sbox_fs *fs, struct sbox_err *err);
void sbox_fs_release(struct sbox_fs *fs);

/* C6g, a pool's prepared sandbox, in init after the pivot: the request's
 * bind sources (trees[i] for policy mount i, cloned by the launcher from
 * the client's fds; -1: none) attached onto their destinations in the
 * root, in the policy's order, with the attributes step 2 gives them.  A
 * source missing where the policy does not say it is optional fails, as
 * at step 1.  The trees stay the caller's. */
int sbox_fs_attach_binds(const struct sbox_policy *p, const int *trees, bool devices_enforced,
			 struct sbox_err *err);

#endif
