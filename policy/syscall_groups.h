/* SPDX-License-Identifier: MIT */
/*
 * systemd's system call groups (@mount, @keyring, ...: systemd.exec(5),
 * "System Call Filtering"), the vocabulary of SystemCallFilter=.  Pure
 * tables: the names of every architecture are listed, and whoever compiles
 * a filter skips those its architecture lacks.
 */
#ifndef SBOX_POLICY_SYSCALL_GROUPS_H
#define SBOX_POLICY_SYSCALL_GROUPS_H

#include <stddef.h>

struct sbox_syscall_group {
	const char *name;       /* "@mount" */
	const char *help;       /* one line */
	const char *members;    /* space-separated syscall names and "@groups" */
};

extern const struct sbox_syscall_group sbox_syscall_groups[];
extern const size_t sbox_n_syscall_groups;

/* The group called name ("@mount"), or NULL. */
const struct sbox_syscall_group *sbox_syscall_group_find(const char *name);

/* Call fn once for each syscall name in the group, nested groups expanded
 * (a name may come more than once).  Stops at, and returns, the first
 * non-zero return of fn; -1 when name is no group. */
int sbox_syscall_group_expand(const char *name, int (*fn)(const char *syscall, void *arg),
			      void *arg);

/* Is the syscall a member of the group (nested groups included)? */
int sbox_syscall_group_has(const char *group, const char *syscall);

#endif
