/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/* Process creation: clone3 with CLONE_PIDFD (and CLONE_INTO_CGROUP when a
 * cgroup fd is given), falling back to clone(2) on kernels without clone3. */
#ifndef SBOX_SANDBOX_SPAWN_H
#define SBOX_SANDBOX_SPAWN_H

#include <stdint.h>
#include <sys/types.h>

/* Like fork(): returns 0 in the child, the pid in the parent, -1 with errno.
 * *pidfd gets a pidfd for the child (-1 if the kernel has none).
 * cgroup_fd >= 0 asks for CLONE_INTO_CGROUP; *into_cgroup says if it was used
 * (the fallback can't, and the caller then joins the cgroup by pid).
 *
 * The child of a raw clone must not use glibc functions that trust glibc's
 * cached thread id (raise(), abort(), pthread_*): use kill(getpid(), ...). */
pid_t sbox_clone(uint64_t ns_flags, int cgroup_fd, int *pidfd, int *into_cgroup);

#endif
