/* SPDX-License-Identifier: MIT */
#include "policy/site_network.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

#include "policy/dir_network.h"
#include "policy/site.h"
#include "policy/values.h"

void sbox_site_network_init(struct sbox_site_network *n)
{
	n->veth_subnet_set = false;
	n->veth_forwarding = false;
	/* A constant that parses (tests/unit/test_netconf.c checks it). */
	(void)sbox_parse_ipv4_subnet(SBOX_VETH_SUBNET_DEFAULT, &n->veth_subnet, &n->veth_prefix);
}

void sbox_site_veth_subnet(const struct sbox_site *site, uint32_t *net, unsigned *prefix)
{
	struct sbox_site_network def;

	if (!site) {
		sbox_site_network_init(&def);
		*net = def.veth_subnet;
		*prefix = def.veth_prefix;
		return;
	}
	*net = site->network.veth_subnet;
	*prefix = site->network.veth_prefix;
}

static uint32_t mask_of(unsigned prefix)
{
	return prefix == 0 ? 0 : ~(uint32_t)0 << (32 - prefix);
}

bool sbox_ipv4_overlap(uint32_t net, unsigned prefix, uint32_t other, unsigned oprefix)
{
	/* Two prefixes overlap when one contains the other: compare them
	 * under the shorter one's mask. */
	uint32_t m = mask_of(prefix < oprefix ? prefix : oprefix);

	return (net & m) == (other & m);
}

static const struct {
	uint32_t net;
	unsigned prefix;
	const char *what;
} reserved[] = {
	{ 0x00000000u, 8, "0.0.0.0/8 (\"this network\")" },
	{ 0x7f000000u, 8, "loopback 127.0.0.0/8" },
	{ 0xa9fe0000u, 16, "link-local 169.254.0.0/16 (cloud metadata at 169.254.169.254)" },
	{ 0xe0000000u, 4, "multicast 224.0.0.0/4" },
	{ 0xf0000000u, 4, "reserved 240.0.0.0/4 and broadcast" },
};

int sbox_net_range_check_reserved(uint32_t net, unsigned prefix, const char *what,
				  struct sbox_err *err)
{
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (sbox_ipv4_overlap(net, prefix, reserved[i].net, reserved[i].prefix))
			return sbox_fail(err, 0, "%s overlaps %s: refused, no host may route those addresses to a sandbox",
					 what, reserved[i].what);
	return 0;
}

int sbox_site_set_veth_subnet(struct sbox_site *s, const char *v, unsigned line,
			      struct sbox_err *err)
{
	uint32_t net;
	unsigned prefix;
	char what[64];
	int r;

	(void)line;
	r = sbox_parse_ipv4_subnet(v, &net, &prefix);
	if (r == -ERANGE)
		return sbox_fail(err, 0, "VethSubnet=%s: the prefix length must be 8 to 30 (each sandbox takes a /30)",
				 v);
	if (r < 0)
		return sbox_fail(err, 0, "VethSubnet=%s is not an IPv4 subnet ADDRESS/PREFIX with the host bits zero (e.g. %s)",
				 v, SBOX_VETH_SUBNET_DEFAULT);
	snprintf(what, sizeof(what), "VethSubnet=%s", v);
	if (sbox_net_range_check_reserved(net, prefix, what, err) < 0)
		return -1;
	s->network.veth_subnet = net;
	s->network.veth_prefix = prefix;
	s->network.veth_subnet_set = true;
	return 0;
}

static int set_bound_flag(bool *field, const char *key, const char *v, struct sbox_err *err)
{
	if (sbox_parse_bool(v, field) < 0)
		return sbox_fail(err, 0, "%s=%s: expected yes or no", key, v);
	return 0;
}

int sbox_site_set_veth_forwarding(struct sbox_site *s, const char *v, unsigned line,
				  struct sbox_err *err)
{
	(void)line;
	return set_bound_flag(&s->network.veth_forwarding, "VethForwarding", v, err);
}

int sbox_site_set_allow_veth_network(struct sbox_site *s, const char *v, unsigned line,
				     struct sbox_err *err)
{
	(void)line;
	return set_bound_flag(&s->daemon.bounds.allow_veth_network, "AllowVethNetwork", v, err);
}

int sbox_site_set_allow_group_network(struct sbox_site *s, const char *v, unsigned line,
				      struct sbox_err *err)
{
	(void)line;
	return set_bound_flag(&s->daemon.bounds.allow_group_network, "AllowGroupNetwork", v, err);
}
