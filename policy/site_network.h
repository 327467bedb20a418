/* SPDX-License-Identifier: MIT */
/*
 * The site configuration's [Network] section: the address ranges sbox may
 * route on this host.  Which range is free on the host's networks is a fact
 * of the site, never a job's choice: a job that could name its own range
 * would make the host route any addresses it likes (the LAN, the default
 * gateway's subnet, 169.254.169.254) into its sandbox.
 *
 *   [Network]  VethSubnet=   where PrivateNetwork=veth addresses come from
 *                            (default 10.231.0.0/16), a /30 per sandbox
 *              VethForwarding= (default no): may the host forward what a
 *                            veth sandbox sends (egress through the host);
 *                            no sets forwarding=0 on each host end
 *   [Bounds]   AllowVethNetwork= (default no), AllowGroupNetwork= (default
 *              yes): may sboxd's clients other than root ask for veth, for
 *              groups (policy/bounds.c checks)
 *
 * The ranges no host may give away (loopback, link-local, multicast, ...)
 * are refused here, when the file is read; a range overlapping what this
 * host has (its addresses and routes) is refused where the kernel can be
 * asked: sandbox/netrange.c, at sboxd's start and at each lease.
 */
#ifndef SBOX_POLICY_SITE_NETWORK_H
#define SBOX_POLICY_SITE_NETWORK_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

/* A private range (RFC 1918) that few sites use. */
#define SBOX_VETH_SUBNET_DEFAULT "10.231.0.0/16"

struct sbox_site;

struct sbox_site_network {
	uint32_t veth_subnet;       /* VethSubnet=: network address, host order */
	unsigned veth_prefix;       /* VethSubnet=: prefix length, 8..30 */
	bool veth_subnet_set;       /* given in the file (not the default) */
	bool veth_forwarding;       /* VethForwarding=: leave the host ends' forwarding be */
};

void sbox_site_network_init(struct sbox_site_network *n);

/* The veth range of a site, the default when site is NULL. */
void sbox_site_veth_subnet(const struct sbox_site *site, uint32_t *net, unsigned *prefix);

/* Do net/prefix and other/oprefix share an address? */
bool sbox_ipv4_overlap(uint32_t net, unsigned prefix, uint32_t other, unsigned oprefix);

/* Refuse a range that overlaps one no host may route to a sandbox:
 * 0.0.0.0/8, loopback, link-local (169.254.169.254 among them), multicast,
 * the reserved 240/4 and broadcast.  what names the setting in messages. */
int sbox_net_range_check_reserved(uint32_t net, unsigned prefix, const char *what,
				  struct sbox_err *err);

int sbox_site_set_veth_subnet(struct sbox_site *s, const char *v, unsigned line,
			      struct sbox_err *err);

int sbox_site_set_veth_forwarding(struct sbox_site *s, const char *v, unsigned line,
				  struct sbox_err *err);

int sbox_site_set_allow_veth_network(struct sbox_site *s, const char *v, unsigned line,
				     struct sbox_err *err);
int sbox_site_set_allow_group_network(struct sbox_site *s, const char *v, unsigned line,
				      struct sbox_err *err);

/* Rows for the key table in policy/site.c. */
#define SBOX_SITE_NETWORK_KEYS                                                           \
	{ "Network", "VethSubnet", sbox_site_set_veth_subnet },                          \
	{ "Network", "VethForwarding", sbox_site_set_veth_forwarding },                  \
	{ "Bounds", "AllowVethNetwork", sbox_site_set_allow_veth_network },              \
	{ "Bounds", "AllowGroupNetwork", sbox_site_set_allow_group_network },

#endif
