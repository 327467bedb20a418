/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/*
 * The sandbox's network (PrivateNetwork=, docs/network.md), set up through
 * libnl (no `ip` subprocesses).  A launch calls, in the recipe's order:
 *
 *   P1 sbox_net_prepare()       decide the clone flags; take what can be
 *                               taken ahead: a veth address lease, the
 *                               group membership, a pooled netns
 *   P3 clone(... | sbox_net_clone_flags())
 *   P4 sbox_net_parent_setup()  host side: the veth pair, publishing a
 *                               group's new netns
 *   C  sbox_net_child_setup()   inside: join (setns) a group's or a pooled
 *                               netns, lo up, the sandbox end of the veth
 *   end sbox_net_release()      after init is reaped: delete the host end,
 *                               give the address back, leave the group
 */
#ifndef SBOX_SANDBOX_NETWORK_H
#define SBOX_SANDBOX_NETWORK_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "policy/policy.h"
#include "policy/site.h"
#include "sandbox/ipam.h"
#include "sandbox/net_host.h"
#include "sandbox/netgroup.h"

/* Host-side state: a tmpfs of its own, unbindable (in the host's namespace
 * and, marked again, in each sandbox's copy) so that the sandboxes'
 * recursive clone of the host's root skips it: no sandbox can hold (flock)
 * a lease or a group's lock, or see a group's netns file. */
#define SBOX_NET_RUNDIR "/run/sbox/net"
/* The sandbox's end of a veth pair. */
#define SBOX_VETH_INNER_NAME "eth0"

struct sbox_netns_pool;
struct sbox_net_reaper;

struct sbox_net {
	enum sbox_net_mode mode;
	bool userns;                /* the sandbox has a user namespace */
	bool new_netns;             /* CLONE_NEWNET at P3 */
	bool lo_up;                 /* the child brings lo up */
	int join_fd;                /* netns the child joins (group, pool), -1 */
	struct sbox_ipam_lease lease;   /* veth */
	char host_if[IF_NAMESIZE];  /* veth: the host's end, "sbox-0ae70004" */
	bool veth_made;
	bool veth_forwarding;       /* veth: the site's VethForwarding=yes */
	struct sbox_net_reaper *reaper;   /* veth: finish the end there, or NULL */
	struct sbox_netgroup group;
	/* A pooled netns whose worker can hold no capability: kept open by
	 * the launcher past P4 (keep_fd), so that the end may judge it
	 * clean (recycle_ok) and give it back to the pool for the next
	 * sandbox of the same owner: launched for the same uid, its worker
	 * running as the same uid (sbox_netns_owner(); docs/security.md,
	 * "Recycled network namespaces"). */
	bool recyclable;
	int keep_fd;
	bool recycle_ok;
	uint64_t owner;
};

/* What the launcher keeps for the host's side of its sandboxes' networks. */
struct sbox_net_host {
	/* The site configuration the privileged side read (veth's address
	 * range, [Network] VethSubnet=), NULL for the defaults. */
	const struct sbox_site *site;
	/* A pool of prepared netns (sboxd), or NULL to create one in the
	 * clone. */
	struct sbox_netns_pool *netns_pool;
	/* A long-running launcher's veth reaper (sandbox/net_host.h), or NULL
	 * to delete each pair at the sandbox's end. */
	struct sbox_net_reaper *reaper;
};

/* P1.  userns: the sandbox gets a user namespace of its own; owner: the
 * uid the launch is for; worker_uid: the uid the worker runs as (User=):
 * a group's netns, and a netns another sandbox used, go only to a sandbox
 * of the same two. */
int sbox_net_prepare(struct sbox_net *n, const struct sbox_policy *p, bool userns,
		     const struct sbox_net_host *host, uid_t owner, uid_t worker_uid,
		     struct sbox_err *err);
uint64_t sbox_net_clone_flags(const struct sbox_net *n);
/* P4, pid = the unreaped child. */
int sbox_net_parent_setup(struct sbox_net *n, pid_t pid, struct sbox_err *err);
/* A successor sboxd adopting a running veth sandbox: its lease's fd and
 * block (the keeper's copy); its end deletes the pair, then gives the
 * address back. */
void sbox_net_adopt_veth(struct sbox_net *n, int lease_fd, uint32_t block);
/* The same for a member of group name (launched for owner, its worker
 * running as worker): its membership is its init's, and its end removes
 * the group if it was the last member.  -1 with err for a name no policy
 * could have. */
int sbox_net_adopt_group(struct sbox_net *n, const char *name, uid_t owner, uid_t worker,
			 struct sbox_err *err);
/* In the child, before the filesystem is built. */
int sbox_net_child_setup(struct sbox_net *n, struct sbox_err *err);
/* Idempotent; call once the sandbox's init is reaped (or never ran).
 * Leaves a kept netns alone (sbox_net_end_kept()). */
void sbox_net_release(struct sbox_net *n);
/* The kept netns at the end: sbox_net_judge_kept() (any thread, system
 * calls only; once nothing of the sandbox is left) sets recycle_ok when it
 * is as the pool made it, 0, or -1 with err saying why not;
 * sbox_net_take_kept() gives it to the caller when judged clean (-1:
 * none); sbox_net_drop_kept() closes what is left. */
int sbox_net_judge_kept(struct sbox_net *n, struct sbox_err *err);
int sbox_net_take_kept(struct sbox_net *n, uint64_t *owner);
void sbox_net_drop_kept(struct sbox_net *n);
/* sandbox/netns_pool.c: enter ns_fd in this thread, check it holds only
 * lo as made and no socket, come back: 0, or -1 with err. */
int sbox_netns_check_clean(int ns_fd, struct sbox_err *err);


/* Delete a veth pair by its host end's name, through libnl, waiting for
 * the kernel (~20-30 ms: RTM_DELLINK waits for RCU grace periods): 0 or
 * a negative libnl error.  For the thread that launches, never a helper
 * thread (libnl allocates). */
int sbox_net_delete_veth(const char *host_if);
/* sandbox/net_reaper.c: take over an ended sandbox's pair and its lease
 * (*lease is left empty): 0, or -1 (out of memory: nothing taken). */
int sbox_net_reaper_take(struct sbox_net_reaper *r, const char *host_if,
			 struct sbox_ipam_lease *lease);
/* At a lease that found every block of subnet/prefix held: give back at
 * once every address whose pair is gone; the number given back, and in
 * *ending those of the range still waiting for their pair. */
size_t sbox_net_reaper_reap_now(struct sbox_net_reaper *r, uint32_t subnet, unsigned prefix,
				size_t *ending);

/* sandbox/veth_owner.c: the host end's alias that names its sandbox (init's
 * pid, start time and pid namespace), 0 or -1; and, for the lease, whether
 * a block's host end's name is free, or taken by a pair whose sandbox is
 * dead (which is then deleted): a pair of a live sandbox, or of one not
 * known to be dead, makes the block busy. */
int sbox_veth_owner_alias(pid_t init, char *buf, size_t len);
bool sbox_veth_block_usable(uint32_t block, void *arg);
/* The host end's name of an address block ("sbox-0ae70004"), into buf
 * (IF_NAMESIZE at least): the one place it is made. */
void sbox_veth_host_name(uint32_t block, char *buf, size_t len);

/* Bring lo up in the calling thread's netns. */
int sbox_net_loopback_up(struct sbox_err *err);

/* Make SBOX_NET_RUNDIR (mounting its tmpfs if needed) and its
 * subdirectory sub. */
int sbox_net_rundir(const char *sub, struct sbox_err *err);
/* Open (creating, 0600) and flock(how) a lock file that its holders may
 * unlink: retries when the path came to name another file meanwhile.
 * Returns the fd, -2 when LOCK_NB found it held, -1 with err. */
int sbox_net_lock_file(const char *path, int how, struct sbox_err *err);

#endif
