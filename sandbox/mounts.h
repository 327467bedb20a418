/* SPDX-License-Identifier: MIT */
/* The sandbox's filesystem view: host root read-only, fresh /proc, private
 * /dev and /tmp, the policy's binds, tmpfs and hidden paths, pivot_root. */
#ifndef SBOX_SANDBOX_MOUNTS_H
#define SBOX_SANDBOX_MOUNTS_H

#include "common/err.h"
#include "policy/policy.h"

/* Where the new root is assembled in the child's mount namespace. */
#define SBOX_STAGING_DIR "/tmp"

struct sbox_fs {
	int *trees;         /* detached bind sources, one per policy mount (-1: none) */
	size_t n;
	int root_fd;        /* the new root while it is assembled */
};

/* Step 1: stop propagation to the host and clone every bind source while
 * the host's paths are still in view (before the staging tmpfs hides any). */
int sbox_fs_open_sources(struct sbox_fs *fs, const struct sbox_policy *p, struct sbox_err *err);
/* Step 2: assemble the root: host root read-only, /proc, /dev, /tmp, then
 * the policy's mounts in order. */
int sbox_fs_build(struct sbox_fs *fs, const struct sbox_policy *p, struct sbox_err *err);
/* Step 3: pivot_root into it and drop the old root. */
int sbox_fs_pivot(struct sbox_fs *fs, struct sbox_err *err);
void sbox_fs_release(struct sbox_fs *fs);

#endif
