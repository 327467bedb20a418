/* SPDX-License-Identifier: MIT */
/* Path resolution and mounting by file descriptor, shared by the mount,
 * /dev and masking steps. */
#ifndef SBOX_SANDBOX_FSUTIL_H
#define SBOX_SANDBOX_FSUTIL_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"

/* Open path below root with O_PATH, resolving ".." and symlinks as if root
 * were "/" (openat2 RESOLVE_IN_ROOT), so nothing a host user swaps in can
 * redirect a mount out of the sandbox.  Returns fd or -1 with errno. */
int sbox_open_in_root(int root_fd, const char *path, int flags);

/* Like sbox_open_in_root(), but when path is missing create it (a directory
 * or an empty file) — only where the parent lies on a tmpfs that the sandbox
 * made, never on the host's files. */
int sbox_open_or_create_in_root(int root_fd, const char *path, bool dir, struct sbox_err *err);

/* mount(2) with the target given as an O_PATH fd (through /proc/self/fd). */
int sbox_mount_at_fd(const char *source, int target_fd, const char *fstype,
		     unsigned long flags, const char *data);

/* Mount a tmpfs at target_fd with MS_ flags and tmpfs options. */
int sbox_mount_tmpfs(int target_fd, unsigned long flags, const char *options,
		     struct sbox_err *err, const char *what);

/* Set mount attributes (MOUNT_ATTR_*) on the mount at fd, optionally on the
 * whole tree below it. */
int sbox_mount_setattr_fd(int fd, unsigned long long set, bool recursive);

#endif
