/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/*
 * Filesystem hardening on top of the sandbox's root (called from
 * sbox_fs_build(), before the pivot): what a worker could use against the
 * host through /proc, /sys and /run, although the root is read-only.
 */
#ifndef SBOX_SANDBOX_MASKS_H
#define SBOX_SANDBOX_MASKS_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"

/* The staging tmpfs's (SBOX_STAGING_DIR, sandbox/mounts.h) empty mode-0
 * directory and file, made with it (sandbox/mounts.c), as systemd's
 * /run/systemd/inaccessible/ nodes. */
#define SBOX_HIDDEN_DIR SBOX_STAGING_DIR "/inaccessible-dir"
#define SBOX_HIDDEN_FILE SBOX_STAGING_DIR "/inaccessible-file"

/* Paths masked (an empty mode-0 file or directory, bound read-only over
 * them: sbox_fs_hide()) and paths re-bound read-only, NULL-terminated, for
 * docs and tests. */
extern const char *const sbox_masked_paths[];
extern const char *const sbox_readonly_paths[];

/* Before the policy's mounts: an empty tmpfs on /run (and on /var/run when
 * it is a directory of its own), so that the host's sockets there (docker,
 * dbus, systemd, sboxd) can't be reached: a read-only mount does not stop
 * connect(2).  Binds the policy asks for under /run land on top of it. */
int sbox_masks_hide_run(int root_fd, struct sbox_err *err);

/* After every other mount: mask the paths of sbox_masked_paths and make
 * sbox_readonly_paths (/proc/sys ...) read-only in the fresh /proc. */
int sbox_masks_apply(int root_fd, struct sbox_err *err);

/* Hide target (an fd of the root being built): SBOX_HIDDEN_DIR, or
 * SBOX_HIDDEN_FILE, as target is a directory or not, bound over it
 * read-only, nosuid, nodev, noexec.  The masks and InaccessiblePaths=;
 * until the pivot, while the staging tmpfs exists.  Every mask of every
 * kind shares that one tmpfs: no superblock of its own (each is a
 * list_lru that a memory cgroup's removal walks, with every live
 * sandbox's).  what names target in errors. */
int sbox_fs_hide(int target, const char *what, struct sbox_err *err);

/* Open path (absolute) with O_PATH | O_CLOEXEC without following a
 * symbolic link in any component: openat2(RESOLVE_NO_SYMLINKS), or one
 * component at a time with O_NOFOLLOW where there is no openat2.  For bind
 * sources: a link swapped into a path after the policy named it can't
 * redirect the bind.  -1 with errno (ELOOP: a component is a link). */
int sbox_open_no_symlinks(const char *path);

/* Who a bind source is resolved for: the caller of the launch (uid), and
 * whether the launch is privileged (root, no user namespace). */
struct sbox_bind_caller {
	uid_t uid;
	bool privileged;
};

/* A policy's bind source, resolved as the caller sees it: symlinks are
 * followed one component at a time, except a link on /proc (a magic link:
 * /proc/self/fd/N) and, for a privileged caller, a link owned by anyone but
 * root or the caller.  Returns an O_PATH fd the bind is made through (a
 * link swapped later can't redirect it), or -1 with err filled (naming the
 * refused link and why), or -1 with *missing set when it does not exist
 * and the bind is optional. */
struct sbox_mount;
int sbox_open_bind_source(const struct sbox_mount *m, const struct sbox_bind_caller *c,
			  bool *missing, struct sbox_err *err);

#endif
