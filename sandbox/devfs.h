/* SPDX-License-Identifier: MIT */
/* The sandbox's private /dev: a read-only tmpfs holding only the nodes the
 * sandbox was granted, bound from the host's /dev by name. */
#ifndef SBOX_SANDBOX_DEVFS_H
#define SBOX_SANDBOX_DEVFS_H

#include "common/err.h"
#include "policy/policy.h"

/* The base nodes every sandbox gets. */
extern const char *const sbox_devfs_base_nodes[];

int sbox_devfs_build(int root_fd, const struct sbox_policy *p, struct sbox_err *err);

#endif
