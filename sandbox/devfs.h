/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/* The sandbox's private /dev: a read-only tmpfs holding only the nodes the
 * sandbox was granted, bound from the host's /dev by name (a GPU's from the
 * inventory's dev root). */
#ifndef SBOX_SANDBOX_DEVFS_H
#define SBOX_SANDBOX_DEVFS_H

#include "common/err.h"
#include "policy/policy.h"

/* The base nodes every sandbox gets. */
extern const char *const sbox_devfs_base_nodes[];

struct sbox_gpu_grant;
struct sbox_device_set;

/* Build /dev in the new root: the base nodes, the grant's nodes (g may be
 * NULL), the DeviceAllow= nodes of set (may be NULL), the caller's terminal
 * console_fd as /dev/console (-1: none); then mask the
 * sandbox's /proc/driver/nvidia to the grant (sandbox/gpu_grant.c). */
int sbox_devfs_build(int root_fd, const struct sbox_policy *p, const struct sbox_gpu_grant *g,
		     const struct sbox_device_set *set, int console_fd, struct sbox_err *err);

/* Make the sandbox's /dev read-only: after the policy's mounts, which may
 * land under it (a bind to /dev/nvidia7). */
int sbox_devfs_seal(int root_fd, struct sbox_err *err);

#endif
