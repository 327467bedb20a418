/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/* Path resolution and mounting by file descriptor, shared by the mount,
 * /dev and masking steps. */
#ifndef SBOX_SANDBOX_FSUTIL_H
#define SBOX_SANDBOX_FSUTIL_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"

/* Whether this process has the new mount API (open_tree, move_mount,
 * mount_setattr) and openat2: probed once; never in a build made with
 * SBOX_FORCE_CLASSIC_FS (the test build of the fallbacks). */
bool sbox_have_mount_api(void);
bool sbox_have_openat2(void);

/* Open path below root with O_PATH, resolving ".." and symlinks as if root
 * were "/" (openat2 RESOLVE_IN_ROOT, or sandbox/resolve.c's walk where there
 * is no openat2), so nothing a host user swaps in can redirect a mount out
 * of the sandbox.  Returns fd or -1 with errno. */
int sbox_open_in_root(int root_fd, const char *path, int flags);

/* Like sbox_open_in_root(), but when path is missing create it (a directory
 * or an empty file) — only where the parent lies on a tmpfs that the sandbox
 * made (sbox_mount_own_tmpfs()), never on the host's files, not even
 * a host tmpfs a bind brought in. */
int sbox_open_or_create_in_root(int root_fd, const char *path, bool dir, struct sbox_err *err);


/* A mount(2) that makes no new filesystem: MS_BIND, MS_MOVE, MS_REMOUNT,
 * propagation changes (source NULL where it has none).  Passes a type the
 * kernel ignores, so that valgrind has a string to check. */
int sbox_mount_change(const char *source, const char *target, unsigned long flags);

/* mount(2) with the target given as an O_PATH fd (through /proc/self/fd);
 * fstype NULL: a mount that makes no new filesystem (sbox_mount_change). */
int sbox_mount_at_fd(const char *source, int target_fd, const char *fstype,
		     unsigned long flags, const char *data);

/* Mount a tmpfs at target_fd with MS_ flags and tmpfs options. */
int sbox_mount_tmpfs(int target_fd, unsigned long flags, const char *options,
		     struct sbox_err *err, const char *what);
/* The same for a tmpfs of the sandbox's own where destinations may lie
 * (/dev, /dev/shm, /tmp, /run, TemporaryFileSystem=): noted as one that
 * sbox_open_or_create_in_root() may make mount points in.  Only while the
 * staging tmpfs is mounted (sbox_fs_build()), where it is made first. */
int sbox_mount_own_tmpfs(int target_fd, unsigned long flags, const char *options,
			 struct sbox_err *err, const char *what);

/*
 * Binds, with the new mount API or mount(2) alike:
 *   src = sbox_bind_source(path, attrs, recursive, err);  while path is in view
 *   sbox_bind_attach(src, target_fd, attrs, recursive, err);  same attrs
 * attrs are MOUNT_ATTR_* flags, set on every mount of the bind, which is
 * private.  New API: src is a detached clone already carrying attrs, attached
 * with move_mount.  Classic: src is an O_PATH fd; the bind is made at a
 * private staging point, attrs set there, then moved onto target_fd
 * (sandbox/mounts_classic.c); so attach needs the staging tmpfs
 * (sbox_fs_build).  Both: -1 with err filled (err->errnum: ENOENT for a
 * missing source); close src after.
 */
int sbox_bind_source(const char *path, unsigned long long attrs, bool recursive,
		     struct sbox_err *err);
int sbox_bind_attach(int src, int target_fd, unsigned long long attrs, bool recursive,
		     struct sbox_err *err);

/* Add mount attributes (MOUNT_ATTR_*) to the mount whose root fd is (an
 * O_PATH fd of the mount point, opened after the mount), optionally to every
 * mount below it: mount_setattr(), or MS_REMOUNT | MS_BIND keeping the
 * flags the kernel locks in a user namespace.  The one helper for "make it
 * read-only / nosuid" on every kernel. */
int sbox_remount_flags(int fd, unsigned long long attrs, bool recursive, struct sbox_err *err);

/* The same, -1 with errno only. */
int sbox_mount_setattr_fd(int fd, unsigned long long set, bool recursive);

/* Read a small text file whole into buf
 * (NUL-terminated; truncated at len - 1).  0, or -1 with errno. */
int sbox_read_text(const char *path, char *buf, size_t len);
/* snprintf for paths: 0, or -1 with errno ENAMETOOLONG when cut short. */
int sbox_pathf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
