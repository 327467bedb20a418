/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/*
 * Capabilities (libcap), securebits and no_new_privs: the worker's last
 * privilege steps, after its ids are set (sandbox/identity.c) and before its
 * system call filter.  What stays: exactly AmbientCapabilities= (none by
 * default) in the permitted, effective, inheritable and ambient sets, and
 * CapabilityBoundingSet= (none by default) as the bounding set; securebits
 * locked so that uid 0 gains nothing on execve (SECBIT_NOROOT) and nothing
 * can be raised into the ambient set again.
 */
#ifndef SBOX_SANDBOX_CAPS_H
#define SBOX_SANDBOX_CAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "policy/policy.h"

/* The securebits every worker gets, all locked. */
unsigned sbox_caps_worker_secbits(void);

/* In init, before the worker's start: the capability sets
 * sbox_caps_drop() works in, allocated once per process, so that the
 * worker, which shares init's memory until its execve, allocates
 * nothing. */
int sbox_caps_prepare(struct sbox_err *err);

/* In init, before the request (C6h): the bounding set narrowed to
 * CapabilityBoundingSet=, one PR_CAPBSET_DROP per capability it does not
 * keep.  Init's own sets are untouched (the bounding set only limits what
 * an execve or a capset can add); the worker inherits the narrowed set,
 * so its start pays none of these calls. */
int sbox_caps_narrow_bounding(const struct sbox_security *s, struct sbox_err *err);

/* In the worker, after sbox_identity_apply() (which left PR_SET_KEEPCAPS
 * on): drop every capability the policy does not grant (the bounding set
 * too, unless bounding_narrowed: sbox_caps_narrow_bounding() ran in an
 * ancestor), lock the securebits, and check the result, the bounding set
 * included. */
int sbox_caps_drop(const struct sbox_security *s, bool bounding_narrowed, struct sbox_err *err);

/* The lowest capability set in have (a CapBnd or CapAmb mask) that
 * allowed does not hold, or -1 when none is: the read-back's check, over
 * all 64 bits whatever libcap knows of. */
int sbox_caps_first_stray(uint64_t have, uint64_t allowed);

/* PR_SET_NO_NEW_PRIVS, checked. */
int sbox_caps_no_new_privs(struct sbox_err *err);

/* In the sandbox's init, once the worker is forked: init only forwards
 * signals and reaps, so it keeps CAP_KILL (to signal a worker of another
 * uid) and nothing else, and turns non-dumpable, so that a worker of the
 * same uid can neither ptrace it nor open its /proc/1/exe, mem or fds. */
int sbox_caps_harden_init(struct sbox_err *err);

#endif
