/* SPDX-License-Identifier: MIT */
#include "sandbox/netrange.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <stdio.h>
#include <string.h>

#include "policy/site_network.h"

/* The host end of sbox's own veth pairs (sandbox/network.c). */
#define SBOX_VETH_HOST_PREFIX "sbox-"

struct host_net {
	struct nl_sock *sk;
	struct nl_cache *addrs, *routes, *links;
};

static void host_net_free(struct host_net *h)
{
	if (h->addrs)
		nl_cache_free(h->addrs);
	if (h->routes)
		nl_cache_free(h->routes);
	if (h->links)
		nl_cache_free(h->links);
	if (h->sk)
		nl_socket_free(h->sk);
}

static int host_net_read(struct host_net *h, struct sbox_err *err)
{
	int r;

	memset(h, 0, sizeof(*h));
	h->sk = nl_socket_alloc();
	if (!h->sk)
		return sbox_fail(err, ENOMEM, "allocating a netlink socket");
	r = nl_connect(h->sk, NETLINK_ROUTE);
	if (r < 0)
		return sbox_fail(err, 0, "connecting a route netlink socket: %s", nl_geterror(r));
	/* Links last: an interface in the address or route dump is either
	 * in the link dump too or was deleted in between (and is no longer
	 * the host's). */
	r = rtnl_addr_alloc_cache(h->sk, &h->addrs);
	if (r >= 0)
		r = rtnl_route_alloc_cache(h->sk, AF_INET, 0, &h->routes);
	if (r >= 0)
		r = rtnl_link_alloc_cache(h->sk, AF_UNSPEC, &h->links);
	if (r < 0)
		return sbox_fail(err, 0, "reading the host's addresses and routes: %s", nl_geterror(r));
	return 0;
}

/* sbox's own veth ends, and interfaces gone since the dump, are no host
 * network the range could steal from.  ifindex 0 (a blackhole or
 * unreachable route) is the host's. */
static bool ignored_link(const struct host_net *h, int ifindex, char *name, size_t len)
{
	snprintf(name, len, "?");
	if (ifindex <= 0)
		return false;
	if (!rtnl_link_i2name(h->links, ifindex, name, len))
		return true;
	return strncmp(name, SBOX_VETH_HOST_PREFIX, strlen(SBOX_VETH_HOST_PREFIX)) == 0;
}

static bool ipv4_of(struct nl_addr *a, uint32_t *out)
{
	uint32_t be;

	if (!a || nl_addr_get_family(a) != AF_INET || nl_addr_get_len(a) != sizeof(be))
		return false;
	memcpy(&be, nl_addr_get_binary_addr(a), sizeof(be));
	*out = ntohl(be);
	return true;
}

static void format_net(uint32_t a, unsigned prefix, char *buf, size_t len)
{
	struct in_addr in = { .s_addr = htonl(a) };
	char text[INET_ADDRSTRLEN] = "?";

	inet_ntop(AF_INET, &in, text, sizeof(text));
	snprintf(buf, len, "%s/%u", text, prefix);
}

static int check_addrs(const struct host_net *h, uint32_t net, unsigned prefix, const char *what,
		       struct sbox_err *err)
{
	for (struct nl_object *o = nl_cache_get_first(h->addrs); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		unsigned plen = (unsigned)rtnl_addr_get_prefixlen(a);
		char ifname[IF_NAMESIZE], text[32];
		uint32_t local;

		if (rtnl_addr_get_family(a) != AF_INET || !ipv4_of(rtnl_addr_get_local(a), &local) ||
		    ignored_link(h, rtnl_addr_get_ifindex(a), ifname, sizeof(ifname)))
			continue;
		if (!sbox_ipv4_overlap(net, prefix, local, plen))
			continue;
		format_net(local, plen, text, sizeof(text));
		return sbox_fail(err, 0, "%s overlaps the host's address %s on %s: refused, the host would route its own network into sandboxes; choose a private range this host doesn't use",
				 what, text, ifname);
	}
	return 0;
}

/* A route's interface: its first nexthop's (all that `ip route` shows for
 * a plain route); 0 for a route without one (blackhole, unreachable). */
static int route_ifindex(struct rtnl_route *r)
{
	struct rtnl_nexthop *nh = rtnl_route_get_nnexthops(r) > 0 ? rtnl_route_nexthop_n(r, 0) : NULL;

	return nh ? rtnl_route_nh_get_ifindex(nh) : 0;
}

static int check_gateways(struct rtnl_route *r, uint32_t net, unsigned prefix, const char *what,
			  struct sbox_err *err)
{
	for (int i = 0; i < rtnl_route_get_nnexthops(r); i++) {
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, i);
		char text[32];
		uint32_t gw;

		if (!nh || !ipv4_of(rtnl_route_nh_get_gateway(nh), &gw) ||
		    !sbox_ipv4_overlap(net, prefix, gw, 32))
			continue;
		format_net(gw, 32, text, sizeof(text));
		return sbox_fail(err, 0, "%s holds the host's gateway %s: refused, the host would send its traffic into sandboxes; choose a private range this host doesn't use",
				 what, text);
	}
	return 0;
}

static int check_routes(const struct host_net *h, uint32_t net, unsigned prefix, const char *what,
			struct sbox_err *err)
{
	for (struct nl_object *o = nl_cache_get_first(h->routes); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;
		struct nl_addr *dst = rtnl_route_get_dst(r);
		unsigned plen = dst ? (unsigned)nl_addr_get_prefixlen(dst) : 0;
		char ifname[IF_NAMESIZE], text[32];
		uint32_t d = 0;

		if (rtnl_route_get_family(r) != AF_INET ||
		    ignored_link(h, route_ifindex(r), ifname, sizeof(ifname)))
			continue;
		if (check_gateways(r, net, prefix, what, err) < 0)
			return -1;
		/* The default route covers everything; its gateway is what
		 * matters (above), and the gateway's subnet is a route of
		 * its own. */
		if (plen == 0 || !ipv4_of(dst, &d) || !sbox_ipv4_overlap(net, prefix, d, plen))
			continue;
		format_net(d, plen, text, sizeof(text));
		return sbox_fail(err, 0, "%s overlaps the host's route %s dev %s (table %u): refused, the host would send that range into sandboxes; choose a private range this host doesn't use",
				 what, text, ifname, (unsigned)rtnl_route_get_table(r));
	}
	return 0;
}

int sbox_net_range_check_host(uint32_t net, unsigned prefix, const char *what,
			      struct sbox_err *err)
{
	struct host_net h;
	int r = -1;

	if (sbox_net_range_check_reserved(net, prefix, what, err) < 0)
		return -1;
	if (host_net_read(&h, err) == 0 && check_addrs(&h, net, prefix, what, err) == 0 &&
	    check_routes(&h, net, prefix, what, err) == 0)
		r = 0;
	host_net_free(&h);
	return r;
}

int sbox_net_check_site_range(const struct sbox_site *site, struct sbox_err *err)
{
	char range[32], what[sizeof(range) + 256];
	uint32_t net;
	unsigned prefix;

	sbox_site_veth_subnet(site, &net, &prefix);
	format_net(net, prefix, range, sizeof(range));
	if (site && site->network.veth_subnet_set)
		snprintf(what, sizeof(what), "VethSubnet=%s ([Network] in %s)", range,
			 site->path ? site->path : "the site configuration");
	else
		snprintf(what, sizeof(what), "VethSubnet=%s (the default; set [Network] VethSubnet= in %s)",
			 range, SBOX_SITE_DEFAULT_PATH);
	return sbox_net_range_check_host(net, prefix, what, err);
}
