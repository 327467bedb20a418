/* SPDX-License-Identifier: MIT */
/*
 * System call names to the native architecture's numbers: libseccomp's
 * table, and the calls the kernel has that the libseccomp sbox is built
 * with may not know yet.  A name libseccomp does not know would otherwise
 * be skipped as "not of this architecture" (a group lists every
 * architecture's names), and a call the deny list names would reach the
 * kernel unfiltered: open_tree_attr (Linux 6.15) is open_tree with mount
 * attributes, and cloned a writable copy of the read-only root for a
 * worker given CAP_SYS_ADMIN under libseccomp 2.5.
 */
#ifndef SBOX_POLICY_SYSCALL_NAMES_H
#define SBOX_POLICY_SYSCALL_NAMES_H

/* The native number of name, or a negative number when neither
 * libseccomp nor sbox's own table knows it for this architecture. */
int sbox_syscall_resolve(const char *name);

/* Is name a system call of any architecture sbox knows (a policy may name
 * another machine's)? */
int sbox_syscall_known(const char *name);

#endif
