/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: seccomp.c, the build's generator and tests. */
/*
 * The default profiles' programs, compiled when sbox is built.  A one-shot
 * launcher (a direct sboxrun, a Slurm step) would otherwise build the same
 * filter with libseccomp on every launch: about 2 ms of a direct launch's
 * 17 here, most of the instructions of sboxrun's own process
 * (bench/profile-notes.md).  tools/seccomp_prebuild.c runs sandbox/
 * seccomp.c's own compiler, with this build's libseccomp, for each profile
 * as the policy defaults leave it, and writes the programs with their
 * cache keys; sbox_seccomp_compile() serves a policy whose key equals one
 * of them byte for byte, and compiles any other.  tests/unit/
 * test_seccomp_policy.c checks each entry against a compile at run time.
 * The programs are for the build host's architecture: a cross build can't
 * run the generator, and fails there.
 */
#ifndef SBOX_SANDBOX_SECCOMP_PREBUILT_H
#define SBOX_SANDBOX_SECCOMP_PREBUILT_H

#include <linux/filter.h>
#include <stddef.h>

#include "sandbox/seccomp.h"

struct sbox_seccomp_prebuilt_prog {
	const struct sock_filter *insns;
	unsigned short len;
};

struct sbox_seccomp_prebuilt {
	const char *key;                 /* the cache's key (seccomp.c) */
	size_t key_len;
	size_t n;                        /* programs, in install order */
	struct sbox_seccomp_prebuilt_prog progs[SBOX_SECCOMP_MAX_PROGS];
};

/* Generated: $(B)/gen/seccomp_prebuilt.c (the generator's own is empty). */
extern const struct sbox_seccomp_prebuilt sbox_seccomp_prebuilt[];
extern const size_t sbox_seccomp_n_prebuilt;

/* For the generator and tests: the key sbox_seccomp_compile() looks up
 * (NULL on ENOMEM; free it), and a compile that neither the table nor the
 * cache answers. */
char *sbox_seccomp_policy_key(const struct sbox_security *s, size_t *len);
int sbox_seccomp_compile_fresh(struct sbox_seccomp *f, const struct sbox_security *s,
			       struct sbox_err *err);

#endif
