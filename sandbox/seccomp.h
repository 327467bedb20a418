/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/*
 * The system call filter (libseccomp).  Compiled once, in the launcher's
 * parent process before clone (P1), into plain BPF programs; the worker only
 * installs them, last before execve.  The worker thus never runs libseccomp
 * (no allocation, no parsing after the fork), and a filter that can't be
 * built fails the launch before anything exists.
 *
 * Up to two programs, installed in this order:
 *   allow layer  (SeccompProfile=strict only): default action "deny", the
 *                strict allow list plus SystemCallFilter='s allowed names;
 *   deny layer   (default and strict): default action "allow", the deny
 *                list, argument rules (clone with namespace flags, TIOCSTI,
 *                AF_ALG/AF_VSOCK sockets, personality), clone3 -> ENOSYS,
 *                SystemCallFilter='s ~names.
 * The kernel runs both and takes the most restrictive answer; between two
 * errno answers the later-installed (deny) layer's errno wins, so clone3's
 * ENOSYS and ~name:ERRNO hold under strict too.  Both layers kill the
 * process for a call of another architecture (i386 int 0x80, x32).
 */
#ifndef SBOX_SANDBOX_SECCOMP_H
#define SBOX_SANDBOX_SECCOMP_H

#include <linux/filter.h>
#include <stddef.h>

#include "common/err.h"
#include "policy/policy.h"

#define SBOX_SECCOMP_MAX_PROGS 2

struct sbox_seccomp {
	size_t n;                                  /* 0: no filter (none) */
	struct sock_fprog progs[SBOX_SECCOMP_MAX_PROGS]; /* in install order */
};

/* P1: build the filter the policy asks for.  *f is empty on failure.  A
 * policy compiled before (same SeccompProfile=, SystemCallErrorNumber= and
 * SystemCallFilter= entries, in order) gets a copy of the programs kept
 * from then (a bounded cache, safe across threads); a default profile as
 * the policy defaults leave it, a copy of the program compiled when sbox
 * was built (sandbox/seccomp_prebuilt.h).  Free *f as always. */
int sbox_seccomp_compile(struct sbox_seccomp *f, const struct sbox_security *s,
			 struct sbox_err *err);
/* In the worker: install the programs (needs no_new_privs, or
 * CAP_SYS_ADMIN).  Async-signal-safe: system calls only. */
int sbox_seccomp_load(const struct sbox_seccomp *f, struct sbox_err *err);
void sbox_seccomp_free(struct sbox_seccomp *f);
/* The cache's filled slots and how many compilations it and the build's
 * table have answered (tests, statistics). */
void sbox_seccomp_cache_stats(size_t *entries, unsigned long *hits);

/* What the deny list of the default profile holds (names and @groups),
 * and the strict profile's allow list, for docs and tests. */
extern const char sbox_seccomp_default_deny[];
extern const char sbox_seccomp_strict_allow[];

#endif
