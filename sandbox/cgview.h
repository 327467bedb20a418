/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/*
 * The sandbox's /sys/fs/cgroup (docs/cgroups.md, "What the sandbox sees of
 * cgroups"; docs/security.md, "Filesystem hardening").  The root view is a
 * clone of the host's, so without this step /sys/fs/cgroup is the host's
 * whole cgroup tree, every other sandbox's figures and limits included;
 * the cgroup namespace (C4) changes only /proc/self/cgroup.
 *
 * So C6 covers /sys/fs/cgroup, as runc and crun do with a private cgroup
 * namespace: each hierarchy the sandbox has a cgroup of its own in is
 * mounted afresh inside its cgroup namespace (rooted at that cgroup),
 * read-only, nosuid, nodev, noexec, at its usual path.  A sandbox without
 * a cgroup of its own (an unprivileged launch without a delegated one), or
 * a host with no cgroup filesystem, gets an empty directory instead.
 *
 * The plan is made where parsing is allowed (the parent, from the host
 * probe, sandbox/cgroup.c), so that the child only mounts what it reads.
 */
#ifndef SBOX_SANDBOX_CGVIEW_H
#define SBOX_SANDBOX_CGVIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* Where the view goes, in the sandbox's root, as on the host. */
#define SBOX_CGVIEW_DIR "/sys/fs/cgroup"

/* As many hierarchies as a sandbox's cgroup can have directories in
 * (SBOX_CG_MOUNTS_MAX, sandbox/cgroup.h). */
#define SBOX_CGVIEW_MAX 8
#define SBOX_CGVIEW_NAME_MAX 64
#define SBOX_CGVIEW_OPTS_MAX 256

/* n == 0 (a zeroed plan): nothing of the sandbox's own to show (no
 * cgroup made, or the host mounts none): /sys/fs/cgroup is an empty
 * directory. */
struct sbox_cgview {
	size_t n;
	struct sbox_cgview_fs {
		bool v2;                            /* cgroup2, else v1 cgroup */
		/* Below /sys/fs/cgroup: "memory", "cpu,cpuacct" (each
		 * comma-separated part also shown as a link to it, as the
		 * host has them); "" for /sys/fs/cgroup itself (pure v2). */
		char name[SBOX_CGVIEW_NAME_MAX];
		/* mount(2)'s data: the host mount's super options, without
		 * rw/ro (the mount is read-only whatever the superblock) and
		 * release_agent= (the kernel refuses it outside the initial
		 * cgroup namespace).  The same controllers and name= select
		 * the same hierarchy; the same flags keep the kernel from
		 * warning "new mount options do not match". */
		char opts[SBOX_CGVIEW_OPTS_MAX];
	} fs[SBOX_CGVIEW_MAX];
};

/* Plan: add the hierarchy mounted at mnt (an absolute host path) of type
 * cgroup (v2 false) or cgroup2, with its super options.  Only a mount at
 * /sys/fs/cgroup itself (cgroup2, alone) or directly below it is shown;
 * any other is left out (false returned), as is one past SBOX_CGVIEW_MAX
 * or with options too long to keep whole. */
bool sbox_cgview_add(struct sbox_cgview *v, bool v2, const char *mnt, const char *super_opts);

/* C6, in the root being built (root_fd), after C4's cgroup namespace
 * and while the staging tmpfs exists: the view of plan v (NULL, or none
 * planned: the empty directory) over /sys/fs/cgroup.  A root without
 * /sys/fs/cgroup is left as it is.  Every mount is checked: -1 with err
 * filled fails the launch. */
int sbox_cgview_mount(int root_fd, const struct sbox_cgview *v, struct sbox_err *err);

#endif
