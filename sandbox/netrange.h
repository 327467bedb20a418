/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/*
 * Is an address range free on this host?  The site's veth range
 * ([Network] VethSubnet=, policy/site_network.h) becomes host routes to
 * sandboxes; a range that overlaps anything the host already reaches (an
 * interface's subnet, the default gateway, any route of any table) would
 * steer the host's own traffic into a sandbox.  Read from the kernel with
 * libnl: the host's IPv4 addresses and routes.  sbox's own veth pairs
 * (host ends "sbox-*") are the range's legitimate use and don't count.
 */
#ifndef SBOX_SANDBOX_NETRANGE_H
#define SBOX_SANDBOX_NETRANGE_H

#include <stdint.h>

#include "common/err.h"
#include "policy/site.h"

/* 0 when net/prefix overlaps no reserved range and nothing of the host;
 * -1 with a message naming what ("VethSubnet=... ([Network] in FILE)") and
 * the host's address or route it overlaps. */
int sbox_net_range_check_host(uint32_t net, unsigned prefix, const char *what,
			      struct sbox_err *err);

/* The site's veth range (the default when site is NULL), checked as
 * above: at a launcher's start and at each lease. */
int sbox_net_check_site_range(const struct sbox_site *site, struct sbox_err *err);

#endif
