/* SPDX-License-Identifier: MIT */
#include "policy/syscall_names.h"

#include <seccomp.h>
#include <stddef.h>
#include <string.h>

/* Calls past libseccomp 2.5's table that a group of sbox's names.  Since
 * Linux 5.1 (424, pidfd_send_signal) new calls have one number on every
 * architecture of the generic table, x86-64's included; on the others
 * (alpha, ia64, mips' ABIs: not architectures sbox builds for) the name is
 * known but has no number here. */
#if defined(__x86_64__) || defined(__aarch64__) || defined(__riscv) || defined(__powerpc64__) || \
	defined(__s390x__) || defined(__loongarch64)
#define GENERIC(nr) (nr)
#else
#define GENERIC(nr) (-1)
#endif

static const struct {
	const char *name;
	int nr;
} newer[] = {
	{ "open_tree_attr", GENERIC(467) },
};

static int newer_index(const char *name)
{
	for (size_t i = 0; i < sizeof(newer) / sizeof(newer[0]); i++)
		if (strcmp(newer[i].name, name) == 0)
			return (int)i;
	return -1;
}

int sbox_syscall_resolve(const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);
	int i;

	if (nr >= 0)
		return nr;
	i = newer_index(name);
	return i >= 0 ? newer[i].nr : nr;
}

int sbox_syscall_known(const char *name)
{
	return seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR || newer_index(name) >= 0;
}
