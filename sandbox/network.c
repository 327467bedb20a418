/* SPDX-License-Identifier: MIT */
#include "sandbox/network.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/netns_pool.h"
#include "sandbox/netrange.h"

/* libnl reports its own error codes; say them as errno where one fits so
 * that messages read like every other sbox error. */
static int errno_of_nl(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_PERM:
		return EPERM;
	case NLE_NOACCESS:
		return EACCES;
	case NLE_EXIST:
		return EEXIST;
	case NLE_NOMEM:
		return ENOMEM;
	case NLE_INVAL:
		return EINVAL;
	case NLE_RANGE:
		return ERANGE;
	case NLE_OPNOTSUPP:
		return EOPNOTSUPP;
	case NLE_OBJ_NOTFOUND:
		return ENOENT;
	case NLE_NODEV:
		return ENODEV;
	case NLE_BUSY:
		return EBUSY;
	case NLE_AGAIN:
		return EAGAIN;
	case NLE_NOADDR:
		return EADDRNOTAVAIL;
	case NLE_AF_NOSUPPORT:
		return EAFNOSUPPORT;
	default:
		return 0;
	}
}

static int nl_fail(struct sbox_err *err, int nlerr, const char *what)
{
	int e = errno_of_nl(nlerr);

	if (e)
		return sbox_fail(err, e, "%s", what);
	return sbox_fail(err, 0, "%s: %s", what, nl_geterror(nlerr));
}

static struct nl_sock *nl_open(struct sbox_err *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk) {
		sbox_fail(err, ENOMEM, "allocating a netlink socket");
		return NULL;
	}
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		nl_fail(err, r, "connecting a route netlink socket");
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

static void nl_closep(struct nl_sock **sk)
{
	if (*sk)
		nl_socket_free(*sk);
}

static void link_putp(struct rtnl_link **l)
{
	if (*l)
		rtnl_link_put(*l);
}

static void addr_putp(struct nl_addr **a)
{
	if (*a)
		nl_addr_put(*a);
}

static void format_addr(uint32_t a, char *buf, size_t len)
{
	struct in_addr in = { .s_addr = htonl(a) };

	if (!inet_ntop(AF_INET, &in, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

static struct nl_addr *ipv4_addr(uint32_t a, unsigned prefix)
{
	uint32_t be = htonl(a);
	struct nl_addr *addr = nl_addr_build(AF_INET, &be, sizeof(be));

	if (addr)
		nl_addr_set_prefixlen(addr, (int)prefix);
	return addr;
}

/* alias: the link's alias, set with the same change (NULL: none). */
static int link_set_up(struct nl_sock *sk, struct rtnl_link *link, const char *alias,
		       struct sbox_err *err)
{
	struct rtnl_link *change __attribute__((cleanup(link_putp))) = rtnl_link_alloc();
	char what[96];
	int r;

	if (!change)
		return sbox_fail(err, ENOMEM, "allocating a link");
	rtnl_link_set_flags(change, IFF_UP);
	if (alias)
		rtnl_link_set_ifalias(change, alias);
	r = rtnl_link_change(sk, link, change, 0);
	if (r < 0) {
		snprintf(what, sizeof(what), "bringing up %s", rtnl_link_get_name(link));
		return nl_fail(err, r, what);
	}
	return 0;
}

static int get_link(struct nl_sock *sk, const char *name, struct rtnl_link **link,
		    struct sbox_err *err)
{
	char what[96];
	int r = rtnl_link_get_kernel(sk, 0, name, link);

	if (r < 0) {
		snprintf(what, sizeof(what), "looking up network interface %s", name);
		return nl_fail(err, r, what);
	}
	return 0;
}

static int link_add_addr(struct nl_sock *sk, struct rtnl_link *link, uint32_t a, unsigned prefix,
			 struct sbox_err *err)
{
	struct nl_addr *local __attribute__((cleanup(addr_putp))) = ipv4_addr(a, prefix);
	struct rtnl_addr *addr = rtnl_addr_alloc();
	char what[128], text[INET_ADDRSTRLEN];
	int r;

	if (!local || !addr) {
		if (addr)
			rtnl_addr_put(addr);
		return sbox_fail(err, ENOMEM, "allocating an address");
	}
	rtnl_addr_set_ifindex(addr, rtnl_link_get_ifindex(link));
	rtnl_addr_set_family(addr, AF_INET);
	r = rtnl_addr_set_local(addr, local);
	if (r >= 0)
		r = rtnl_addr_add(sk, addr, 0);
	rtnl_addr_put(addr);
	if (r < 0) {
		format_addr(a, text, sizeof(text));
		snprintf(what, sizeof(what), "adding address %s/%u to %s", text, prefix,
			 rtnl_link_get_name(link));
		return nl_fail(err, r, what);
	}
	return 0;
}

static int add_default_route(struct nl_sock *sk, struct rtnl_link *link, uint32_t gateway,
			     struct sbox_err *err)
{
	struct nl_addr *dst __attribute__((cleanup(addr_putp))) = ipv4_addr(0, 0);
	struct nl_addr *gw __attribute__((cleanup(addr_putp))) = ipv4_addr(gateway, 32);
	struct rtnl_route *route = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	char what[128], text[INET_ADDRSTRLEN];
	int r;

	if (!dst || !gw || !route || !nh) {
		if (route)
			rtnl_route_put(route);
		if (nh)
			rtnl_route_nh_free(nh);
		return sbox_fail(err, ENOMEM, "allocating a route");
	}
	rtnl_route_set_family(route, AF_INET);
	rtnl_route_set_scope(route, RT_SCOPE_UNIVERSE);
	rtnl_route_set_protocol(route, RTPROT_STATIC);
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_set_type(route, RTN_UNICAST);
	r = rtnl_route_set_dst(route, dst);
	rtnl_route_nh_set_gateway(nh, gw);
	rtnl_route_nh_set_ifindex(nh, rtnl_link_get_ifindex(link));
	rtnl_route_add_nexthop(route, nh);       /* the route owns nh now */
	if (r >= 0)
		r = rtnl_route_add(sk, route, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_route_put(route);
	if (r < 0) {
		format_addr(gateway, text, sizeof(text));
		snprintf(what, sizeof(what), "adding the default route via %s on %s", text,
			 rtnl_link_get_name(link));
		return nl_fail(err, r, what);
	}
	return 0;
}

int sbox_net_loopback_up(struct sbox_err *err)
{
	struct nl_sock *sk __attribute__((cleanup(nl_closep))) = nl_open(err);
	struct rtnl_link *lo __attribute__((cleanup(link_putp))) = NULL;

	if (!sk)
		return -1;
	if (get_link(sk, "lo", &lo, err) < 0)
		return -1;
	return link_set_up(sk, lo, NULL, err);
}

static int delete_link(struct nl_sock *sk, const char *name)
{
	struct rtnl_link *link __attribute__((cleanup(link_putp))) = rtnl_link_alloc();

	if (!link)
		return -NLE_NOMEM;
	rtnl_link_set_name(link, name);
	return rtnl_link_delete(sk, link);
}

int sbox_net_delete_veth(const char *host_if)
{
	struct nl_sock *sk __attribute__((cleanup(nl_closep))) = nl_open(NULL);

	if (!sk)
		return -ENOMEM;
	return delete_link(sk, host_if);
}

/* Write a per-interface sysctl and read it back: a value the kernel did
 * not take is a launch failure, never a sandbox less isolated than said.
 * /proc/sys/net is the writer's netns's: the host's in the launcher, the
 * sandbox's in its child. */
static int set_if_sysctl(const char *family, const char *ifname, const char *key,
			 const char *value, struct sbox_err *err)
{
	char path[128], back[16];
	size_t len = strlen(value);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", family, ifname, key);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return sbox_fail(err, errno, "opening %s", path);
	n = write(fd, value, len);
	if (n != (ssize_t)len) {
		int e = n < 0 ? errno : EIO;

		close(fd);
		return sbox_fail(err, e, "writing %s to %s", value, path);
	}
	n = pread(fd, back, sizeof(back) - 1, 0);
	close(fd);
	if (n < 0)
		return sbox_fail(err, errno, "reading back %s", path);
	back[n] = '\0';
	if (strncmp(back, value, len) != 0 || (back[len] != '\n' && back[len] != '\0'))
		return sbox_fail(err, EIO, "%s reads %.*s after writing %s to it", path,
				 (int)strcspn(back, "\n"), back, value);
	return 0;
}

/* Before the link is up (IPv6 gives it a link-local address when it comes
 * up): no IPv6 on either end, so that the sandbox reaches nothing of the
 * host over fe80:: (the host's [::] listeners); on the host's end,
 * optionally, no forwarding of what the sandbox sends: not out of the
 * host, not into another sandbox.  A kernel without IPv6 has nothing to
 * disable. */
static int veth_end_sysctls(const char *ifname, bool no_forwarding, struct sbox_err *err)
{
	if (access("/proc/sys/net/ipv6", F_OK) == 0 &&
	    set_if_sysctl("ipv6", ifname, "disable_ipv6", "1", err) < 0)
		return -1;
	if (no_forwarding && set_if_sysctl("ipv4", ifname, "forwarding", "0", err) < 0)
		return -1;
	return 0;
}

/* The host's end, besides: strict reverse-path filtering.  A packet that
 * comes in on it must have a source the host routes back out of it, the
 * sandbox's own address: a sandbox that may forge packets (CAP_NET_RAW,
 * or CAP_NET_ADMIN to add an address) can't send as another sandbox, and
 * have the host answer that one (found by a hostile review: rp_filter was
 * left to the host's default, 0, or 2 on systemd hosts, where any source
 * the host routes anywhere passes).  The kernel applies the larger of
 * conf.all and this one: check_rp_filter_all() refuses what 1 here can't
 * hold. */
static int host_end_sysctls(const char *ifname, bool no_forwarding, struct sbox_err *err)
{
	if (veth_end_sysctls(ifname, no_forwarding, err) < 0 ||
	    set_if_sysctl("ipv4", ifname, "rp_filter", "1", err) < 0)
		return -1;
	return 0;
}

#define RP_FILTER_ALL "/proc/sys/net/ipv4/conf/all/rp_filter"

/* P1 of a veth launch whose worker could forge its packets' source (its
 * bounding set holds CAP_NET_RAW or CAP_NET_ADMIN): the host end's
 * rp_filter=1 counts only while conf.all.rp_filter is at most 1, since the
 * kernel uses the larger of the two, and 2 (loose: any source routed
 * anywhere) would let it send as another sandbox.  sbox does not change
 * the host's conf.all (a site may need loose mode on its own interfaces):
 * it refuses such a launch, before anything exists, and says what to
 * change.  A worker without those capabilities can send only from its own
 * address, whatever rp_filter says. */
static int check_rp_filter_all(const struct sbox_policy *p, struct sbox_err *err)
{
	uint64_t forge = 1ULL << CAP_NET_RAW | 1ULL << CAP_NET_ADMIN;
	char text[16] = "";
	ssize_t n;
	int fd, all;

	if (!(p->sec.cap_bounding & forge))
		return 0;
	fd = open(RP_FILTER_ALL, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sbox_fail(err, errno, "PrivateNetwork=veth: reading %s", RP_FILTER_ALL);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return sbox_fail(err, n < 0 ? errno : EIO, "PrivateNetwork=veth: reading %s",
				 RP_FILTER_ALL);
	all = atoi(text);
	if (all > 1)
		return sbox_fail(err, EPERM, "PrivateNetwork=veth with CAP_NET_RAW or CAP_NET_ADMIN in CapabilityBoundingSet=: the host's net.ipv4.conf.all.rp_filter is %d (loose), which overrides the strict 1 on each sandbox's host end, so the sandbox could send as another sandbox: set it to 0 or 1, or drop those capabilities",
				 all);
	return 0;
}

static int veth_add(struct nl_sock *sk, const char *host_if, pid_t pid)
{
	struct rtnl_link *link __attribute__((cleanup(link_putp))) = rtnl_link_veth_alloc();
	struct rtnl_link *peer __attribute__((cleanup(link_putp))) = NULL;

	if (!link)
		return -NLE_NOMEM;
	peer = rtnl_link_veth_get_peer(link);
	rtnl_link_set_name(link, host_if);
	rtnl_link_set_name(peer, SBOX_VETH_INNER_NAME);
	/* The peer is born in the sandbox's netns: its name never
	 * exists in the host's, so every sandbox's end can be eth0. */
	rtnl_link_set_ns_pid(peer, pid);
	return rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL);
}

/* P4: the pair, the host end addressed and up. */
static int veth_create(struct sbox_net *n, pid_t pid, struct sbox_err *err)
{
	struct nl_sock *sk __attribute__((cleanup(nl_closep))) = nl_open(err);
	struct rtnl_link *host __attribute__((cleanup(link_putp))) = NULL;
	char what[256], owner[96];
	int r;

	if (!sk)
		return -1;
	if (sbox_veth_owner_alias(pid, owner, sizeof(owner)) < 0)
		return sbox_fail(err, errno, "reading the start time of the sandbox's init (pid %d)", (int)pid);
	r = veth_add(sk, n->host_if, pid);
	/* Never deleted here: at P1 the lease found no pair of that name
	 * or deleted a dead sandbox's (sbox_veth_block_usable), so one here
	 * now was made since, by a launcher that does not share our
	 * registry, for a sandbox that may well be alive. */
	if (r == -NLE_EXIST)
		return sbox_fail(err, EEXIST, "creating the veth pair %s <-> %s of the sandbox (pid %d): an interface of that name appeared after its address was leased; a launcher that uses another %s made it, and it is left alone",
				 n->host_if, SBOX_VETH_INNER_NAME, (int)pid, SBOX_NET_RUNDIR);
	if (r < 0) {
		snprintf(what, sizeof(what), "creating the veth pair %s <-> %s of the sandbox (pid %d)",
			 n->host_if, SBOX_VETH_INNER_NAME, (int)pid);
		return nl_fail(err, r, what);
	}
	n->veth_made = true;
	/* The alias names the sandbox, so that a launcher that meets this
	 * pair can tell whether it is still alive (veth_owner.c). */
	if (get_link(sk, n->host_if, &host, err) < 0 ||
	    host_end_sysctls(n->host_if, !n->veth_forwarding, err) < 0 ||
	    link_add_addr(sk, host, sbox_ipam_host_addr(n->lease.block), SBOX_IPAM_PREFIX, err) < 0 ||
	    link_set_up(sk, host, owner, err) < 0)
		return -1;
	return 0;
}

/* In the child: the sandbox's end, then the way out through the host's. */
static int veth_inside(const struct sbox_net *n, struct sbox_err *err)
{
	struct nl_sock *sk __attribute__((cleanup(nl_closep))) = nl_open(err);
	struct rtnl_link *eth __attribute__((cleanup(link_putp))) = NULL;

	if (!sk)
		return -1;
	/* Address, up, then the route: the kernel refuses a gateway on a
	 * link that is down. */
	if (get_link(sk, SBOX_VETH_INNER_NAME, &eth, err) < 0 ||
	    veth_end_sysctls(SBOX_VETH_INNER_NAME, false, err) < 0 ||
	    link_add_addr(sk, eth, sbox_ipam_sandbox_addr(n->lease.block), SBOX_IPAM_PREFIX, err) < 0 ||
	    link_set_up(sk, eth, NULL, err) < 0 ||
	    add_default_route(sk, eth, sbox_ipam_host_addr(n->lease.block), err) < 0)
		return -1;
	return 0;
}

/* The launch's network: the host end of a veth and its address, made in
 * the parent (P1d, P4). */

static void veth_name_host_end(struct sbox_net *n)
{
	sbox_veth_host_name(n->lease.block, n->host_if, sizeof(n->host_if));
}

/* Every block of the range is held, and a reaper holds some of them: the
 * blocks of sandboxes that ended a moment ago, whose pairs the kernel
 * deletes with their netns.  Those whose pair is gone already come back
 * now, not at the reaper's next look (a client's next launch comes as soon
 * as it is told the end; found by a hostile review: 10 of 30 back-to-back
 * launches on a full /28 refused, with no sandbox of theirs alive); then
 * the lease is tried again.  Still none: say what holds them. */
static int lease_after_reaping(struct sbox_net *n, uint32_t subnet, unsigned prefix,
			       struct sbox_err *err)
{
	char addr[INET_ADDRSTRLEN];
	size_t ending = 0;

	if (sbox_net_reaper_reap_now(n->reaper, subnet, prefix, &ending) > 0 &&
	    sbox_ipam_acquire(&n->lease, subnet, prefix, sbox_veth_block_usable, NULL, err) == 0)
		return 0;
	if (err->errnum != EADDRNOTAVAIL || ending == 0)
		return -1;
	format_addr(subnet, addr, sizeof(addr));
	return sbox_fail(err, EADDRNOTAVAIL, "no free address for a veth pair: all %u blocks of VethSubnet=%s/%u are in use, %zu of them by sandboxes that have ended and whose veth pairs are still being deleted: try again in a moment",
			 sbox_ipam_nblocks(prefix), addr, prefix, ending);
}

/* veth: a /30 of the site's range, checked against the host's addresses
 * and routes at each lease (they change: a new interface, a VPN). */
static int veth_lease(struct sbox_net *n, const struct sbox_site *site, struct sbox_err *err)
{
	uint32_t subnet;
	unsigned prefix;

	sbox_site_veth_subnet(site, &subnet, &prefix);
	n->veth_forwarding = site && site->network.veth_forwarding;
	if (sbox_net_check_site_range(site, err) < 0)
		return -1;
	if (sbox_ipam_acquire(&n->lease, subnet, prefix, sbox_veth_block_usable, NULL, err) < 0 &&
	    (err->errnum != EADDRNOTAVAIL || !n->reaper ||
	     lease_after_reaping(n, subnet, prefix, err) < 0))
		return -1;
	veth_name_host_end(n);
	return 0;
}

void sbox_net_adopt_veth(struct sbox_net *n, int lease_fd, uint32_t block)
{
	sbox_ipam_release(&n->lease);
	n->lease.fd = lease_fd;
	n->lease.block = block;
	veth_name_host_end(n);
	/* The pair may outlive the sandbox's init (its netns held open):
	 * at the end it is deleted before the address goes back, as for a
	 * sandbox of our own. */
	n->veth_made = true;
}

int sbox_net_adopt_group(struct sbox_net *n, const char *name, uid_t owner, uid_t worker,
			 struct sbox_err *err)
{
	enum sbox_net_mode mode;
	char text[SBOX_NET_GROUP_MAX + 8], *valid = NULL;

	/* The name becomes a path: only a name the directive would take. */
	snprintf(text, sizeof(text), "group:%s", name);
	if (strlen(name) > SBOX_NET_GROUP_MAX || sbox_parse_net_mode(text, &mode, &valid) < 0 ||
	    mode != SBOX_NET_GROUP) {
		free(valid);
		return sbox_fail(err, EINVAL, "adopting a member of PrivateNetwork=group:%.64s: not a group name",
				 name);
	}
	free(valid);
	n->mode = SBOX_NET_GROUP;
	sbox_netgroup_adopt(&n->group, name, owner, worker);
	return 0;
}

int sbox_net_prepare(struct sbox_net *n, const struct sbox_policy *p, bool userns,
		     const struct sbox_net_host *host, uid_t owner, uid_t worker_uid,
		     struct sbox_err *err)
{
	struct sbox_netns_pool *pool = host->netns_pool;
	const struct sbox_site *site = host->site;

	memset(n, 0, sizeof(*n));
	n->reaper = host->reaper;
	n->mode = p->net.mode;
	n->userns = userns;
	n->join_fd = -1;
	n->keep_fd = -1;
	n->owner = sbox_netns_owner(owner, worker_uid);
	sbox_ipam_lease_init(&n->lease);
	sbox_netgroup_init(&n->group);

	switch (n->mode) {
	case SBOX_NET_HOST:
		/* No netns: the site allows this, or the caller is on the
		 * host already (sboxrun direct mode). */
		return 0;
	case SBOX_NET_NONE:
		/* A pooled netns is owned by the host's user namespace: a
		 * sandbox with a user namespace of its own may not join it. */
		if (pool && !userns) {
			/* Recycled only if no capability could ever be
			 * the worker's: none kept in its bounding set
			 * (ambient ones lie within it), so no exec of a
			 * file with capabilities gains one either. */
			n->recyclable = p->sec.cap_bounding == 0;
			n->join_fd = sbox_netns_pool_take_for(pool, n->owner, n->recyclable);
			if (n->join_fd >= 0)
				return 0;      /* lo is up already */
		}
		n->new_netns = true;
		n->lo_up = true;
		return 0;
	case SBOX_NET_VETH:
		if (geteuid() != 0)
			return sbox_fail(err, EPERM, "PrivateNetwork=veth needs root: the host's end of a veth pair needs CAP_NET_ADMIN in the host's network namespace (PrivateNetwork=none works unprivileged)");
		if (check_rp_filter_all(p, err) < 0)
			return -1;
		n->new_netns = true;
		n->lo_up = true;
		return veth_lease(n, site, err);
	case SBOX_NET_GROUP:
		if (geteuid() != 0)
			return sbox_fail(err, EPERM, "PrivateNetwork=group:%s needs root: a group's network namespace is published under %s (PrivateNetwork=none works unprivileged)",
					 p->net.group, SBOX_NET_RUNDIR);
		if (userns)
			return sbox_fail(err, EINVAL, "PrivateNetwork=group:%s cannot be combined with a user namespace (PrivateUsers=yes)",
					 p->net.group);
		if (sbox_netgroup_join(&n->group, p->net.group, owner, worker_uid, err) < 0)
			return -1;
		/* lo up by every member: idempotent, and a member may start
		 * before the first one got to it. */
		n->lo_up = true;
		if (n->group.creator) {
			n->new_netns = true;
		} else {
			n->join_fd = n->group.ns_fd;
			n->group.ns_fd = -1;
		}
		return 0;
	default:
		return sbox_fail(err, EINVAL, "unknown network mode %d", (int)n->mode);
	}
}

uint64_t sbox_net_clone_flags(const struct sbox_net *n)
{
	return n->new_netns ? CLONE_NEWNET : 0;
}

int sbox_net_parent_setup(struct sbox_net *n, pid_t pid, struct sbox_err *err)
{
	/* The child got its copy at clone; ours would only keep the netns
	 * alive after the sandbox, unless it may be recycled then. */
	if (n->join_fd >= 0 && n->recyclable && n->mode == SBOX_NET_NONE)
		n->keep_fd = n->join_fd;
	else if (n->join_fd >= 0)
		close(n->join_fd);
	n->join_fd = -1;
	switch (n->mode) {
	case SBOX_NET_VETH:
		return veth_create(n, pid, err);
	case SBOX_NET_GROUP:
		return sbox_netgroup_publish(&n->group, pid, err);
	case SBOX_NET_NONE:
	case SBOX_NET_HOST:
	default:
		return 0;
	}
}

/* The launchers' registry must not be in the sandbox's view: a worker
 * that could open a lease or a group's lock file could flock() it and hold
 * an address or a group hostage, and a group's nsfs file would keep that
 * netns alive.  The recursive clone of / (C6) leaves out an unbindable
 * mount and what lies under it, and the old root, where this child's copy
 * still is, goes at the pivot.  The host's mount is unbindable, but the
 * copy that clone3 made of it is private: mark the copy (a propagation
 * change, never propagated back).  Not an unmount: that waits for an
 * expedited RCU grace period, 3.5-4.5 ms a launch (docs/security.md).
 * In a user namespace the mount is locked, and a locked unbindable mount
 * fails the whole clone (EPERM): some kernels (6.1, the test-v2 VM) keep
 * the host's unbindable mark on that copy, so it is made private (a
 * propagation change, allowed on a locked mount; a failure changes
 * nothing the clone needs) and the clone holds it; /run/sbox/net is 0700
 * root, which root in that namespace (root unmapped) can't enter. */
static int hide_rundir(bool userns, struct sbox_err *err)
{
	if (userns) {
		/* Type "none", not NULL: ignored here, but valgrind reads it. */
		(void)mount("none", SBOX_NET_RUNDIR, "none", MS_PRIVATE | MS_REC, NULL);
		return 0;
	}
	/* Type "none", not NULL: ignored here, but valgrind reads it. */
	if (mount("none", SBOX_NET_RUNDIR, "none", MS_UNBINDABLE, NULL) < 0) {
		if (errno == ENOENT || errno == EINVAL)
			return 0;      /* no registry on this machine yet */
		return sbox_fail(err, errno, "hiding %s from the sandbox", SBOX_NET_RUNDIR);
	}
	return 0;
}

int sbox_net_child_setup(struct sbox_net *n, struct sbox_err *err)
{
	/* Our copies of the address lease and the group membership stay
	 * open in init (never in the worker: they are O_CLOEXEC, and W3
	 * closes every fd): an flock lives while any copy does, so the lease
	 * and the membership last exactly as long as the sandbox, even if
	 * the launcher goes first without killing it (a daemon re-executing
	 * itself and adopting its sandboxes).  The registry lock is only the
	 * launcher's, for the moment it changes the group. */
	if (n->group.lock_fd >= 0)
		close(n->group.lock_fd);
	n->group.lock_fd = -1;
	if (hide_rundir(n->userns, err) < 0)
		return -1;

	if (n->join_fd >= 0) {
		if (setns(n->join_fd, CLONE_NEWNET) < 0) {
			if (n->mode == SBOX_NET_GROUP)
				return sbox_fail(err, errno, "joining the network namespace of PrivateNetwork=group:%s",
						 n->group.name);
			return sbox_fail(err, errno, "joining a prepared network namespace");
		}
		close(n->join_fd);
		n->join_fd = -1;
	}
	if (n->lo_up && sbox_net_loopback_up(err) < 0) {
		sbox_err_prefix(err, "PrivateNetwork=%s", sbox_net_mode_name(n->mode));
		return -1;
	}
	if (n->mode == SBOX_NET_VETH && veth_inside(n, err) < 0) {
		sbox_err_prefix(err, "PrivateNetwork=veth, inside the sandbox");
		return -1;
	}
	return 0;
}

void sbox_net_release(struct sbox_net *n)
{
	if (n->join_fd >= 0)
		close(n->join_fd);
	n->join_fd = -1;
	/* A long-running launcher's loop must not wait ~30 ms for the
	 * delete (RTM_DELLINK waits for RCU grace periods): the kernel
	 * deletes the pair with the sandbox's netns, and the reaper keeps
	 * the lease until it sees the pair gone (or deletes it itself). */
	if (n->veth_made && n->reaper && sbox_net_reaper_take(n->reaper, n->host_if, &n->lease) == 0)
		n->veth_made = false;
	if (n->veth_made) {
		/* Deleting one end deletes both.  Done before the address
		 * goes back, so the next holder never meets this pair; the
		 * kernel may have beaten us to it (the netns died). */
		sbox_net_delete_veth(n->host_if);
		n->veth_made = false;
	}
	sbox_ipam_release(&n->lease);
	sbox_netgroup_leave(&n->group);
}

int sbox_net_host_start(const struct sbox_site *site, struct sbox_err *err)
{
	sbox_ipam_sweep();
	/* Groups whose last member ended while no launcher was there to
	 * end them (a daemon's sandboxes that ended while it was away). */
	sbox_netgroup_sweep();
	return sbox_net_check_site_range(site, err);
}
