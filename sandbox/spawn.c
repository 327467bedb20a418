/* SPDX-License-Identifier: MIT */
#include "sandbox/spawn.h"

#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

static pid_t try_clone3(uint64_t flags, int cgroup_fd, int *pidfd)
{
	struct clone_args args;

	memset(&args, 0, sizeof(args));
	args.flags = flags | CLONE_PIDFD;
	args.pidfd = (uint64_t)(uintptr_t)pidfd;
	args.exit_signal = SIGCHLD;
	if (cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgroup_fd;
	}
	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

static pid_t try_clone(uint64_t flags, int *pidfd)
{
	pid_t pid;

	/* x86-64 argument order: flags, stack, parent_tid, child_tid, tls;
	 * with CLONE_PIDFD the pidfd is stored through parent_tid.  A NULL
	 * stack makes the child run on a copy of ours, like fork(). */
	pid = (pid_t)syscall(SYS_clone, (unsigned long)(flags | CLONE_PIDFD | SIGCHLD), NULL,
			     pidfd, NULL, 0UL);
	if (pid >= 0 || errno != EINVAL)
		return pid;
	/* Before Linux 5.2 there is no CLONE_PIDFD; pidfd_open() after the
	 * fact is race-free because the child is ours and not yet reaped. */
	*pidfd = -1;
	pid = (pid_t)syscall(SYS_clone, (unsigned long)(flags | SIGCHLD), NULL, NULL, NULL, 0UL);
	if (pid > 0) {
#ifdef SYS_pidfd_open
		*pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	}
	return pid;
}

pid_t sbox_clone(uint64_t ns_flags, int cgroup_fd, int *pidfd, int *into_cgroup)
{
	pid_t pid;

	*pidfd = -1;
	*into_cgroup = 0;
	pid = try_clone3(ns_flags, cgroup_fd, pidfd);
	if (pid >= 0) {
		*into_cgroup = pid > 0 && cgroup_fd >= 0;
		return pid;
	}
	/* ENOSYS: no clone3 (or a seccomp profile hiding it, as ours does
	 * inside sandboxes and valgrind does); E2BIG: an older clone_args. */
	if (errno != ENOSYS && errno != E2BIG && errno != EPERM)
		return -1;
	return try_clone(ns_flags, pidfd);
}

/* Valgrind emulates only thread-like and fork-like clones (a bare
 * CLONE_VM aborts it): there the worker is a fork, as before. */
static bool clone_vm_unsupported(void)
{
	return RUNNING_ON_VALGRIND != 0;
}

static pid_t fork_call(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

pid_t sbox_clone_vm(int (*fn)(void *), void *arg, void *stack, size_t size)
{
	/* x86-64 and arm64 want a 16-byte aligned stack top. */
	uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
	uint64_t all = ~UINT64_C(0), old;
	pid_t pid;
	int e;

	/* Every signal blocked across the clone, as posix_spawn does: the
	 * child inherits the mask, and a handler of ours run in it before
	 * W1 resets the dispositions would run on our memory.  The system
	 * call: glibc's sigprocmask() leaves its own 32 and 33 out. */
	if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof(all)) < 0)
		return -1;
	if (clone_vm_unsupported())
		pid = fork_call(fn, arg);
	else
		pid = clone(fn, (void *)top, CLONE_VM | SIGCHLD, arg);
	e = errno;
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof(old));
	errno = e;
	return pid;
}
