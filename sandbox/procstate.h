/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/* The clean process state a worker starts with: environment, fds, signal
 * state, session, umask, working directory, and the executable lookup. */
#ifndef SBOX_SANDBOX_PROCSTATE_H
#define SBOX_SANDBOX_PROCSTATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "policy/policy.h"
#include "sandbox/sandbox.h"

/* The worker's environment, built in the parent before clone: the documented
 * minimal set (PATH, HOME, USER, LOGNAME, TERM when the caller has one),
 * then PassEnvironment= names the caller has, then Environment=.
 * Returns a NULL-terminated vector to free with sbox_strv_free(). */
char **sbox_env_build(const struct sbox_policy *p, const struct sbox_launch *l,
		      uid_t worker_uid, struct sbox_err *err);

/* Default dispositions for every signal and an empty mask: one
 * rt_sigaction per signal not at its default (all of them when the
 * status file below can't be read). */
int sbox_signals_reset(struct sbox_err *err);

/* This process's signal dispositions and capability sets, as the kernel
 * shows them in /proc/self/status: one read instead of a system call per
 * signal or capability. */
struct sbox_proc_status {
	uint64_t sig_ignored, sig_caught;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
};

/* 0, or -1 with errno when /proc is not a procfs reachable without a mount
 * crossing (a bind over it), or the text lacks a field: then ask the kernel
 * one call at a time. */
int sbox_proc_status_read(struct sbox_proc_status *st);

/* Close every fd but l->stdio's sources, l->pass_fds and `extra` (at most
 * 8; -1 entries ignored): the launcher's host fds (cgroup directories, netns
 * fds, other sandboxes' channels) must be gone before anything path-based
 * runs where the worker could steer it (a working directory through
 * /proc/self/fd/N).  close_range(2), else one by one. */
int sbox_fds_close_launcher(const struct sbox_launch *l, const int *extra, size_t n_extra,
			    struct sbox_err *err);

/* Close every fd from lo up: close_range(2), else one by one up to the fd
 * limit (kernels before 5.9).  -1 with errno when close_range(2) failed
 * otherwise: the caller must not go on holding what it meant to drop. */
int sbox_fds_close_from(unsigned int lo);

/* Close exactly the fds of list (any order; duplicates and -1 entries
 * allowed), each run of consecutive numbers with one close_range(2): a
 * daemon's own fds (sboxd holds some ten per live sandbox) cost a few
 * system calls, not one each.  Best effort, as close(2) is. */
void sbox_fds_close_list(const int *list, size_t n);

/* The highest fd number a launch's passed fds go to (2 when none):
 * what must stay free while they move (W3). */
int sbox_fd_targets_top(const struct sbox_launch *l);

/* Make l->stdio the fds 0-2, keep l->pass_fds and `keep` (an internal fd that
 * is CLOEXEC), close everything else. */
int sbox_fds_sanitize(const struct sbox_launch *l, int keep, struct sbox_err *err);

/* Find argv0 in PATH from envp as execvp would.  0 and *out filled, or a
 * positive errno (ENOENT: not found; EACCES: found, not executable). */
int sbox_find_executable(const char *argv0, char *const *envp, char *out, size_t len);

#endif
