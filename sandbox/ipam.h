/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/*
 * Address allocation for PrivateNetwork=veth.  VethSubnet= is cut into /30
 * blocks, one per live sandbox: .0 network, .1 the host end, .2 the
 * sandbox end, .3 broadcast.  A block is held by an flock()ed file
 * /run/sbox/net/ipam/A.B.C.D (the block's network address) for the
 * sandbox's life: the launcher's fd and the sandbox init's copy of it from
 * clone, for an flock lives while any copy does.  The lock is the truth,
 * not the file: it dies with its holders, so a launcher killed by SIGKILL
 * (its sandbox dies with it) leaks nothing but the file, which the next
 * acquire of any block removes (sbox_ipam_sweep), and concurrent sboxrun
 * processes (no daemon to ask) never hand out the same block.  Blocks are named by address, not by index in a subnet, so
 * two policies with overlapping VethSubnet= still never share one.
 */
#ifndef SBOX_SANDBOX_IPAM_H
#define SBOX_SANDBOX_IPAM_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

struct sbox_ipam_lease {
	int fd;             /* the flock()ed lock file; -1: no lease */
	uint32_t block;     /* the /30's network address, host byte order */
};

#define SBOX_IPAM_PREFIX 30

/* Pure block arithmetic (unit-tested). */
static inline uint32_t sbox_ipam_nblocks(unsigned prefix)
{
	return prefix > SBOX_IPAM_PREFIX ? 0 : (uint32_t)1 << (SBOX_IPAM_PREFIX - prefix);
}

static inline uint32_t sbox_ipam_block(uint32_t subnet, uint32_t index)
{
	return subnet + 4 * index;
}

static inline uint32_t sbox_ipam_host_addr(uint32_t block)
{
	return block + 1;
}

static inline uint32_t sbox_ipam_sandbox_addr(uint32_t block)
{
	return block + 2;
}

void sbox_ipam_lease_init(struct sbox_ipam_lease *l);
/* Whether a block whose lease is free here may be used: false when
 * something outside this registry holds it (sandbox/veth_owner.c). */
typedef bool (*sbox_ipam_usable_fn)(uint32_t block, void *arg);

/* Take a free block of subnet/prefix (a random one first, so that an
 * address just given back is not at once handed out again), one usable()
 * says may be used (NULL: any). */
int sbox_ipam_acquire(struct sbox_ipam_lease *l, uint32_t subnet, unsigned prefix,
		      sbox_ipam_usable_fn usable, void *arg, struct sbox_err *err);
/* Remove the lease files of killed launchers (their lock is free): at each
 * acquire, and at a daemon's start.  The number removed. */
int sbox_ipam_sweep(void);
/* Give the block back (idempotent). */
void sbox_ipam_release(struct sbox_ipam_lease *l);
/* The lock file's path for a block, e.g. "/run/sbox/net/ipam/10.231.0.4". */
void sbox_ipam_path(uint32_t block, char *buf, size_t len);

#endif
