/* SPDX-License-Identifier: MIT */
/*
 * Directives of the network area: PrivateNetwork= (systemd's boolean,
 * extended with modes) and VethSubnet=.  Syntax and cross-directive checks
 * only; sandbox/network.c builds what they ask for (see docs/network.md).
 */
#ifndef SBOX_POLICY_DIR_NETWORK_H
#define SBOX_POLICY_DIR_NETWORK_H

#include <stdint.h>
#include <stdio.h>

#include "policy/directives.h"
#include "policy/policy.h"

/* VethSubnet='s default.  It is a fact of the site (which private range
 * is free on this machine's networks), so it moves to the site
 * configuration (policy/site.c) once that exists; until then a job policy
 * may name another. */
#define SBOX_VETH_SUBNET_DEFAULT "10.231.0.0/16"
/* A group name is a file name under /run/sbox/net/group/. */
#define SBOX_NET_GROUP_MAX 64

void sbox_net_policy_init(struct sbox_net_policy *n);
void sbox_net_policy_free(struct sbox_net_policy *n);
int sbox_net_policy_validate(const struct sbox_policy *p, struct sbox_err *err);

/* "none", "host", "veth", "group:NAME"; yes = none and no = host, as
 * systemd's PrivateNetwork=yes/no mean.  Returns 0 or -EINVAL; *group gets
 * a malloc'd name for group:NAME, NULL otherwise. */
int sbox_parse_net_mode(const char *s, enum sbox_net_mode *mode, char **group);
/* "A.B.C.D/N", N in 8..30 (each sandbox takes a /30), host bits zero.
 * Returns 0, -EINVAL (syntax, host bits) or -ERANGE (prefix). */
int sbox_parse_ipv4_subnet(const char *s, uint32_t *net, unsigned *prefix);
const char *sbox_net_mode_name(enum sbox_net_mode mode);

int sbox_dir_set_private_network(struct sbox_policy *p, const char *v, struct sbox_err *err);
void sbox_dir_print_private_network(const struct sbox_policy *p, const struct sbox_directive *d,
				    FILE *out);
int sbox_dir_set_veth_subnet(struct sbox_policy *p, const char *v, struct sbox_err *err);
void sbox_dir_print_veth_subnet(const struct sbox_policy *p, const struct sbox_directive *d,
				FILE *out);

/* Rows for the directive table in policy/directives.c. */
#define SBOX_NETWORK_DIRECTIVES                                                          \
	{ "PrivateNetwork", "net", 0, "MODE", NULL,                                      \
	  "network: none (only lo, the default), host, veth or group:NAME (yes=none, no=host)", \
	  "veth", 0, sbox_dir_set_private_network, sbox_dir_print_private_network },     \
	{ "VethSubnet", NULL, 0, NULL, NULL,                                             \
	  "IPv4 subnet the veth addresses come from, a /30 per sandbox (default " SBOX_VETH_SUBNET_DEFAULT ")", \
	  "10.231.0.0/16", 0, sbox_dir_set_veth_subnet, sbox_dir_print_veth_subnet },

#endif
