/* SPDX-License-Identifier: MIT */
/*
 * Whether a policy's binds may be attached after its other mounts (a
 * pool's prepared sandbox takes them with the request, after the pivot:
 * sandbox/launch.c C6g) and give the tree a launch in full gives, which
 * attaches them in the policy's order, before /dev's seal and the /proc
 * and /sys masks.  Text only: sboxd/shape.c asks of the destinations as
 * written, init asks again of each as the root resolved it.
 */
#ifndef SBOX_POLICY_BIND_ORDER_H
#define SBOX_POLICY_BIND_ORDER_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/policy.h"

/* dst lies apart from all that is mounted after the binds in full: /dev,
 * /proc, /sys, and p's TemporaryFileSystem= and InaccessiblePaths= (not
 * at, above nor below any).  dst must be absolute, without ".", "..",
 * "//" or a trailing '/' (false otherwise). */
bool sbox_bind_dst_apart(const struct sbox_policy *p, const char *dst);

/* Every bind of p may wait: at most max_binds of them, the mounts in the
 * order sbox_policy_print() writes them (binds, read-only binds, tmpfs,
 * hidden paths: a pool's refill parses that text), every destination
 * clean, and every bind's apart.  True for a policy without binds whose
 * mounts are in that order. */
bool sbox_policy_binds_deferrable(const struct sbox_policy *p, size_t max_binds);

#endif
