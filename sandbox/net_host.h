/* SPDX-License-Identifier: MIT */
/* Public: part of sandbox/'s face, which other rooms may include (docs/design.md). */
/*
 * Part of sandbox/'s public face (sandbox/sandbox.h): what a long-running
 * launcher (sboxd) keeps for the host's side of its sandboxes' networks.
 */
#ifndef SBOX_SANDBOX_NET_HOST_H
#define SBOX_SANDBOX_NET_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "policy/site.h"

struct sbox_net_reaper;

/* At a launcher's start: the site's veth range ([Network] VethSubnet=)
 * checked against this host's addresses and routes (sandbox/netrange.h),
 * and the address leases and network groups no live sandbox holds swept
 * (sandbox/ipam.h, sandbox/netgroup.h), so that a bad range fails the
 * start and not each launch. */
int sbox_net_host_start(const struct sbox_site *site, struct sbox_err *err);

/* A long-running launcher's veth teardown, off its event loop: with a
 * reaper (sbox_launch.net_reaper), a veth sandbox's end gives the pair and
 * its address lease to the reaper instead of deleting the pair at once
 * (~30 ms).  The kernel deletes the pair with the sandbox's netns; the
 * reaper gives the address back once it sees the pair gone, and has the
 * pair deleted if it is still there after 2 s (something holds the netns),
 * by a thread of its own, never in the loop (sandbox/net_reaper.c).
 * sbox_net_reaper_run(): call from the loop (the thread that launches);
 * returns the ms until it wants to run again, -1 when nothing is pending.
 * _free() finishes every pending pair. */
int sbox_net_reaper_new(struct sbox_net_reaper **out, struct sbox_err *err);
int sbox_net_reaper_run(struct sbox_net_reaper *r);
size_t sbox_net_reaper_pending(const struct sbox_net_reaper *r);
/* Whether the reaper still holds the address block (an ended sandbox's,
 * whose pair is not gone yet): a launcher tells such a sandbox's end once
 * it is back. */
bool sbox_net_reaper_holds(const struct sbox_net_reaper *r, uint32_t block);
void sbox_net_reaper_free(struct sbox_net_reaper *r);

#endif
