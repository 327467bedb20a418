/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/* Path resolution inside a root, in userspace: what openat2(RESOLVE_IN_ROOT)
 * does, for kernels before 5.6 and for valgrind (which has no openat2). */
#ifndef SBOX_SANDBOX_RESOLVE_H
#define SBOX_SANDBOX_RESOLVE_H

/* Symlinks followed per resolution before ELOOP, as the kernel's limit. */
#define SBOX_RESOLVE_MAX_LINKS 40

/* Open path below root_fd with O_PATH | O_CLOEXEC as if root_fd were "/":
 * one component at a time with O_NOFOLLOW, symlinks read and expanded here
 * (absolute ones restart at root_fd), ".." never above root_fd.  flags may
 * hold O_DIRECTORY and O_NOFOLLOW (the last component is not followed).
 * Returns fd or -1 with errno (ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG ...). */
int sbox_resolve_in_root(int root_fd, const char *path, int flags);

#endif
