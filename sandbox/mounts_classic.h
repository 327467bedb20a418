/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/* The filesystem view with mount(2) only, for kernels without the new mount
 * API (before 5.12: no mount_setattr; before 5.2: no open_tree/move_mount)
 * and for valgrind, which knows none of them.  fsutil.c picks the path;
 * docs/design.md ("Kernel interfaces") says how and why. */
#ifndef SBOX_SANDBOX_MOUNTS_CLASSIC_H
#define SBOX_SANDBOX_MOUNTS_CLASSIC_H

#include <stdbool.h>

#include "common/err.h"

/* MS_* flags for MOUNT_ATTR_* attrs.  -1 with EOPNOTSUPP for an attribute
 * mount(2) can't set (idmapped mounts). */
int sbox_attrs_to_ms(unsigned long long attrs, unsigned long *ms);

/* One line of /proc/self/mountinfo: its ids, its mount point (unescaped),
 * and its per-mount flags (MS_RDONLY, MS_NOSUID ... from field 6). */
struct sbox_mountinfo {
	int id;
	int parent;
	unsigned long flags;
	char *point;            /* points into the parsed line */
};

/* Parse line (modified in place).  0, or -1 with EINVAL. */
int sbox_mountinfo_parse_line(char *line, struct sbox_mountinfo *m);

/* Add the MS_ flags ms to the mount whose root fd is, keeping the flags it
 * has; with recursive, to every mount below it too, and fail unless each
 * one that can be reached got them. */
int sbox_classic_remount(int fd, unsigned long ms, bool recursive, struct sbox_err *err);

/* Bind src (a path; "/proc/self/fd/N" for an O_PATH fd) onto target_fd
 * with the MS_ flags ms added on every mount of the bind, private. */
int sbox_classic_bind(const char *src, int target_fd, unsigned long ms, bool recursive,
		      struct sbox_err *err);

/* The root view: "/" bound recursively at path (a directory of the
 * staging tmpfs), private, ms on every mount.  Returns an O_PATH fd of it. */
int sbox_classic_root(const char *path, unsigned long ms, struct sbox_err *err);

#endif
