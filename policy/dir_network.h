/* SPDX-License-Identifier: MIT */
/*
 * Directives of the network area: PrivateNetwork= (systemd's boolean,
 * extended with modes).  Syntax and cross-directive checks only;
 * sandbox/network.c builds what it asks for (see docs/network.md).  The
 * address range of veth sandboxes is the site's ([Network] VethSubnet=,
 * policy/site_network.h), never a job's.
 */
#ifndef SBOX_POLICY_DIR_NETWORK_H
#define SBOX_POLICY_DIR_NETWORK_H

#include <stdint.h>
#include <stdio.h>

#include "policy/directives.h"
#include "policy/policy.h"

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
/* A name that was a job directive and is now the site's: -1 with a
 * message naming the site setting, 0 for any other name. */
int sbox_net_site_only_directive(const char *name, struct sbox_err *err);

/* Rows for the directive table in policy/directives.c. */
#define SBOX_NETWORK_DIRECTIVES                                                          \
	{ "PrivateNetwork", "net", 0, "MODE", NULL,                                      \
	  "network: none (only lo, the default), host, veth or group:NAME (yes=none, no=host)", \
	  "veth", 0, sbox_dir_set_private_network, sbox_dir_print_private_network },

#endif
