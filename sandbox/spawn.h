/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/* Process creation: clone3 with CLONE_PIDFD (and CLONE_INTO_CGROUP when a
 * cgroup fd is given), falling back to clone(2) on kernels without clone3. */
#ifndef SBOX_SANDBOX_SPAWN_H
#define SBOX_SANDBOX_SPAWN_H

#include <stddef.h>
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

/* The worker's start (C7a), with vfork's economy: fn(arg) runs in a child
 * that shares the caller's memory (clone CLONE_VM), so no page table is
 * copied and nothing faults copy-on-write, on [stack, stack + size), which
 * the caller lends and must keep until the child has exec'd or exited.
 * Unlike vfork the caller is not suspended: the worker waits for init's
 * S1b first (sandbox/launch.c), and the caller keeps away from memory
 * the child uses until the child's exec or exit (the report channel's EOF
 * or message).  The child starts with every signal blocked, so that no
 * handler of the caller's runs on the shared memory; the caller's mask is
 * left as it was.  fn must not return, and may only write its own stack
 * and what the caller set aside for it.  Returns the child's pid (an
 * ordinary SIGCHLD child), or -1 with errno.  Under valgrind, which runs
 * only thread- and fork-like clones, the child is a fork. */
pid_t sbox_clone_vm(int (*fn)(void *), void *arg, void *stack, size_t size);

#endif
