/* SPDX-License-Identifier: MIT */
/*
 * The launch recipe.  The order of the steps is the security argument.
 * This list is the one place it is written down (docs/design.md points
 * here); each step's function says why it stands where it does.  The
 * parent's steps are below; init's are sandbox/launch_init.c's, the
 * worker's sandbox/launch_worker.c's.  Sync points S1-S4 are messages on
 * the sync channel, named the same on both sides (sandbox/sync.h).
 *
 * sbox_spawn() is the two halves back to back: prepare (sbox_prepare(),
 * everything that does not depend on the request: P1-P4 and init's
 * C0-C6c, then init waits at S1c) and specialise (sbox_specialise(): the
 * request's argv, environment, cwd and fds, P5 and S1c, then C7 on).  A
 * pool (sboxd) prepares ahead and specialises per request: one recipe.
 *
 * Parent (sbox_prepare)                  Child: init, pid 1 of the new pid ns
 *  P1  everything that can fail, ahead
 *      (the request's own parts:
 *      P5a-P5c, after the clone):
 *      namespaces, the caller's ids
 *  P1b identity resolved (host passwd;
 *      the login groups at P5a), the
 *      seccomp filter compiled
 *  P1d devices: the launcher's GPU
 *      selection granted, every node
 *      checked, the device set built
 *  P1e network: address lease, group
 *      membership; CLONE_NEWNET or not
 *  P1f bind sources cloned from the
 *      client's fds (sboxd)
 *  P1g the sandbox's cgroup and limits
 *  P1h the device set in force on it
 *  P2  socketpair (the sync channel)
 *  P3  clone3 into new namespaces ---->   C0 close the launcher's own fds
 *      (and into the cgroup on v2)        C1 die with the parent (PDEATHSIG)
 *  P4  cgroup placement by pid (v1),
 *      the host side of a veth;
 *      then S1 GO -------------------->   C2 wait for GO (S1)
 *                                         C3 user namespace id maps
 *                                         C4 cgroup namespace
 *                                         C5 hostname
 *                                         C5b network: join a netns, lo up,
 *                                             the sandbox's end of a veth
 *                                         C6 filesystem: sources, root
 *                                             (its /sys/fs/cgroup: only
 *                                             the sandbox's own cgroup,
 *                                             mounted in C4's namespace),
 *                                             pivot
 *                                         C6b GPU locality: CPUs, memory node
 *                                         C6c close the launcher's fds, all
 *                                             but the sync channel's
 *                                         C6h the bounding set narrowed
 *                                             to the policy's (init keeps
 *                                             its own capabilities)
 *                                         C6d <-- S1c PREPARED (a pool's);
 *      (sbox_specialise)                      wait for the request
 *  P5a the worker's identity as of the
 *      request: a pool's ids resolved
 *      again (changed: no specialising),
 *      every worker's login groups;
 *  P5  the worker's environment for
 *      this request (host passwd, the
 *      GPU grant's variables);
 *  P5b its limits, where their values
 *      differ from the shape's;
 *  P5c a pool's: its bind sources
 *      cloned from the client's fds;
 *      S1c SPECIALISE: argv, env, cwd,
 *      groups, hostname, stdio, passed
 *      fds --------------------------->   C6e the request taken
 *                                         C6f its hostname (a pool's
 *                                             shape leaves it out)
 *                                         C6g a pool's: its binds, in
 *                                             the pivoted root
 *                                         C7 init's signals; report channel
 *                                         C7a init non-dumpable; start the
 *                                             worker (in init's memory
 *                                             until its exec)
 *                                         C7e init closes its copies of
 *                                             the worker's fds
 *                                         C7c init named sbox-init
 *  (the caller: sboxd's keeper record)
 *      S1d RUN, only when the launcher
 *      asked (survive_launcher) ----->   C7d wait for RUN (EOF: the
 *                                             worker killed unrun, exit)
 *                                         C7b init: CAP_KILL only; S1b GO -->
 *                                            Worker
 *                                            (waits for S1b)
 *                                            W0 close all but the kept fds
 *                                            W1 signals, session
 *                                            W1b rlimits, ids, capabilities
 *                                                (the bounding set checked),
 *                                                no_new_privs
 *                                            W2 umask, working directory
 *                                               (resolved in the root)
 *                                            W3 stdio and fds, then
 *                                               LimitNOFILE= exactly
 *                                               (W1b kept it no lower
 *                                               than it was)
 *                                            W3b seccomp filter installed
 *                                            W4 exec (S3 on failure)
 *                                         C8 S3 STARTED / EXEC_FAILED
 *                                         C9 init loop; S4a EXITED; the
 *                                             rest killed and reaped (2 s
 *                                             at most); S4b EMPTIED
 *
 * A prepared sandbox has run nothing of the user's: no argv, no fd of the
 * client's, no environment.  A failure at specialise destroys it.
 *
 * S2: any child step that fails sends SETUP_ERROR and exits 125 (a failed
 * exec: 127 not found, 126 otherwise): the worker never runs in a
 * half-built sandbox.  A parent step that fails undoes every earlier one
 * (launch_free()) and returns -1 with the reason in err.
 */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/values.h"
#include "sandbox/cgroup.h"
#include "sandbox/child.h"
#include "sandbox/devices.h"
#include "sandbox/gpu_grant.h"
#include "sandbox/identity.h"
#include "sandbox/kapi.h"
#include "sandbox/mounts.h"
#include "sandbox/network.h"
#include "sandbox/procstate.h"
#include "sandbox/recipe.h"
#include "sandbox/request.h"
#include "sandbox/seccomp.h"
#include "sandbox/spawn.h"
#include "sandbox/sync.h"

/* Everything the parent computes to prepare a sandbox, by phase.
 * launch_free() undoes whatever exists of it at any step; on success the
 * prepared sandbox takes what outlives sbox_prepare() (network, cgroup,
 * init's pidfd and the sync channel; the GPU grant, whose variables P5
 * adds to the environment) and the rest was needed until clone only: the
 * child has its copy. */
struct launch {
	/* What the child reads (sandbox/recipe.h): values and pointers into
	 * the fields below, filled in by the phases that make them. */
	struct sbox_recipe r;
	/* P1: the namespaces P3 creates; P1e adds CLONE_NEWNET. */
	uint64_t clone_flags;
	/* P1b: who the worker runs as and its filter, ready for the child
	 * to apply without NSS or libseccomp. */
	struct sbox_identity ident;
	struct sbox_seccomp seccomp;
	/* P1d: the GPUs granted and the device set built from them. */
	struct sbox_gpu_grant grant;
	struct sbox_device_set devices;
	/* P1e on: the sandbox as the caller will hold it (sandbox/child.h):
	 * its network (P1e), cgroup (P1g), sync channel (P2), init (P3). */
	struct sbox_child *child;
	/* P1f: bind sources cloned from the client's fds, needed until
	 * clone. */
	int *src_trees;
	size_t n_src_trees;
	/* P3: whether clone3 placed init in the cgroup itself (v2), or P4
	 * must, by pid. */
	int into_cgroup;
};

static void launch_free(struct launch *l)
{
	/* First the sandbox: once cloned, init is killed and reaped before
	 * its cgroup and network go. */
	sbox_child_free(l->child);
	if (l->r.sync_fd >= 0)
		close(l->r.sync_fd);
	sbox_fs_trees_free(l->src_trees, l->n_src_trees);
	sbox_device_set_free(&l->devices);
	sbox_gpu_grant_free(&l->grant);
	sbox_seccomp_free(&l->seccomp);
	sbox_identity_free(&l->ident);
}

bool sbox_launch_userns(const struct sbox_policy *p)
{
	return p->private_users >= 0 ? p->private_users : geteuid() != 0;
}

/* P1: everything that can fail, fails here, before anything exists; the
 * child never uses NSS or parses anything.  First the namespaces: a user
 * namespace where the policy asks for one (by default when the launcher
 * is not root), with the caller's ids, which C3 maps 1:1. */
static int p1_namespaces(struct launch *l, struct sbox_err *err)
{
	const struct sbox_policy *policy = l->r.policy;

	l->clone_flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
	l->r.userns = sbox_launch_userns(policy);
	if (l->r.userns)
		l->clone_flags |= CLONE_NEWUSER;
	l->r.uid = geteuid();
	l->r.gid = getegid();
	return 0;
}

/* P1b, security: the worker's ids from the host's databases, here and
 * never by NSS inside the sandbox; the system call filter compiled to BPF
 * once, here, so the worker only installs it (W1b or W3b). */
static int p1b_identity(struct launch *l, struct sbox_err *err)
{
	if (sbox_identity_resolve(&l->ident, l->r.policy, l->r.launch, l->r.userns, l->r.uid,
				  l->r.gid, err) < 0 ||
	    sbox_seccomp_compile(&l->seccomp, &l->r.policy->sec, err) < 0)
		return -1;
	l->r.ident = &l->ident;
	l->r.seccomp = &l->seccomp;
	return 0;
}

/* A grant needs a device cgroup, which only root can set up.  The policy's
 * check reads GPUs= only, and --gpus N leaves it empty: a non-root caller
 * of sbox_spawn() handing over a selection is refused here too, in the
 * words GPUs= naming its first GPU would get. */
static int p1d_check_selection_privilege(const struct sbox_gpu_selection *sel,
					 struct sbox_err *err)
{
	const struct sbox_gpu *first;

	if (!sel || sel->n == 0)
		return 0;
	first = &sel->inv->gpus[sel->idx[0]];
	return sbox_devices_check_gpu_privilege(first->uuid[0] ? first->uuid : first->bus,
						geteuid(), err);
}

/* P1d, devices and GPUs: the GPUs the launcher selected from its own
 * inventory (sbox_launch.gpus: GPUs= is resolved once, by sboxrun or
 * sboxd, never inside the sandbox) are granted here, in the privileged
 * parent, and every node is checked (its variables join the environment
 * at P5); the device set (base + grant + DeviceAllow=) is built from the
 * result.  A GPU that can't be had fails the launch before anything
 * exists. */
static int p1d_devices(struct launch *l, struct sbox_err *err)
{
	const struct sbox_policy *policy = l->r.policy;
	const struct sbox_launch *launch = l->r.launch;

	if (sbox_devices_check_privilege(policy, geteuid(), err) < 0 ||
	    p1d_check_selection_privilege(launch->gpus, err) < 0 ||
	    sbox_gpu_grant_prepare(&l->grant, launch->gpus, policy, launch->site, err) < 0 ||
	    sbox_device_set_build(&l->devices, policy, &l->grant, err) < 0)
		return -1;
	l->r.grant = &l->grant;
	l->r.devices = &l->devices;
	return 0;
}

/* P1e, network: the veth address lease and the group membership are taken
 * before clone, so that a launch that can't have them fails before
 * anything exists; the mode decides CLONE_NEWNET.  They live in the
 * sandbox's object from here on, which releases them when init is
 * reaped. */
static int p1e_network(struct launch *l, struct sbox_err *err)
{
	const struct sbox_launch *launch = l->r.launch;
	struct sbox_net_host host = {
		.site = launch->site, .netns_pool = launch->netns_pool, .reaper = launch->net_reaper,
	};

	l->child = sbox_child_new();
	if (!l->child)
		return sbox_fail(err, ENOMEM, "allocating the sandbox");
	if (sbox_net_prepare(&l->child->net, l->r.policy, l->r.userns, &host, launch->caller_uid,
			     l->ident.uid, err) < 0)
		return -1;
	l->clone_flags |= sbox_net_clone_flags(&l->child->net);
	l->r.net = &l->child->net;
	return 0;
}

/* P1f, sboxd: bind sources from the client's fds, cloned here in the
 * launcher's mount namespace, where those fds' mounts live (the child
 * has its own by C6). */
static int p1f_bind_sources(struct launch *l, struct sbox_err *err)
{
	const struct sbox_launch *launch = l->r.launch;

	if (!launch->bind_src_fds)
		return 0;
	if (sbox_fs_clone_fd_sources(l->r.policy, launch->bind_src_fds, launch->n_bind_src_fds,
				     &l->src_trees, err) < 0)
		return -1;
	l->n_src_trees = l->r.policy->n_mounts;
	l->r.src_trees = l->src_trees;
	return 0;
}

/* P1g, cgroups: the sandbox's own cgroup, its limits written, exists
 * before any of its processes does: the child is cloned into it (v2) or
 * joins it before GO (v1, P4), so no instruction of the sandbox runs
 * unlimited.  Late in P1: everything above can fail without a cgroup to
 * take back.  The guard (sboxrun) removes it should the launcher be
 * SIGKILLed.  Its hierarchies are what C6 shows at /sys/fs/cgroup (the
 * view planned here, where mountinfo may be read; none without a cgroup:
 * an empty directory). */
static int p1g_cgroup(struct launch *l, struct sbox_err *err)
{
	struct sbox_child *c = l->child;

	if (sbox_cgroup_for_sandbox(l->r.policy, &c->cgroup, err) < 0 ||
	    (c->cgroup && l->r.launch->cgroup_guard && sbox_cgroup_guard(c->cgroup, err) < 0))
		return -1;
	l->r.cgview = sbox_cgroup_view(c->cgroup);
	return 0;
}

/* P1h, devices: the device set in force on the sandbox's cgroup before any
 * of its processes exists (v2: the BPF program built from it and
 * attached; v1: devices.deny and devices.allow written), so nothing of the
 * sandbox ever runs without it.  Right after the cgroup is made, because
 * it needs it; before clone, so that a failure leaves no process
 * behind. */
static int p1h_enforce_devices(struct launch *l, struct sbox_err *err)
{
	struct sbox_cgroup *cg = l->child->cgroup;

	if (sbox_devices_enforce_cgroup(&l->devices, l->r.policy, cg, geteuid(), err) < 0)
		return -1;
	l->r.devices_enforced = geteuid() == 0 && cg && sbox_cgroup_devices_fd(cg) >= 0;
	return 0;
}

/* P2: the sync channel, CLOEXEC.  The child's errors travel back on it as
 * text; its EOF means the child is gone. */
static int p2_sync_channel(struct launch *l, struct sbox_err *err)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return sbox_fail(err, errno, "creating the sync socketpair");
	l->child->sync_fd = sv[0];
	l->r.sync_fd = sv[1];
	return 0;
}

/* Init's mount namespace, held by the launcher: the unmounting of the
 * sandbox's tree and its RCU grace period then come when the launcher lets
 * it go (in sboxd, a closer thread right after the EXIT reply), not in
 * init's exit, which the worker's exit status waits for.  By the pidfd
 * (Linux 6.11); else by pid, which names our unreaped child only in a
 * /proc of our own pid namespace.  Only time is at stake: -1 when it
 * can't be had. */
static int hold_mount_ns(pid_t pid, int pidfd)
{
	char path[64], self[32];
	ssize_t n;
	int fd = pidfd >= 0 ? ioctl(pidfd, SBOX_PIDFD_GET_MNT_NAMESPACE, 0) : -1;

	if (fd >= 0)
		return fd;
	n = readlink("/proc/self", self, sizeof(self) - 1);
	if (n <= 0)
		return -1;
	self[n] = '\0';
	if (strtol(self, NULL, 10) != (long)getpid())
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* P3: clone3 with a pidfd from birth (no pid-reuse races) and every
 * namespace at once, so the child never runs half-isolated; on cgroup v2
 * straight into the sandbox's cgroup.  The child runs init's steps and
 * never returns here. */
static int p3_clone(struct launch *l, struct sbox_err *err)
{
	struct sbox_child *c = l->child;
	int pidfd;
	pid_t pid;
	int e;

	clock_gettime(CLOCK_MONOTONIC, &c->started);
	pid = sbox_clone(l->clone_flags, c->cgroup ? sbox_cgroup_clone_fd(c->cgroup) : -1, &pidfd,
			 &l->into_cgroup);
	if (pid == 0) {
		close(c->sync_fd);
		sbox_recipe_init(&l->r);
	}
	e = errno;
	/* The child has its end: the parent's copy would hide its EOF. */
	sbox_closep(&l->r.sync_fd);
	if (pid < 0) {
		if (e == EPERM || e == ENOSPC || e == EUSERS)
			return sbox_fail(err, e, "creating the sandbox's namespaces (are user namespaces disabled? see sysctl user.max_user_namespaces and kernel.unprivileged_userns_clone)");
		return sbox_fail(err, e, "creating the sandbox's namespaces");
	}
	c->pid = pid;
	c->pidfd = pidfd;
	c->mntns_fd = hold_mount_ns(pid, pidfd);
	return 0;
}

/* P4: the parent-side steps while the child waits for GO, before it has
 * run a step of its own.  Cgroups: v1 (or v2 after the clone() fallback)
 * places the child by pid, so nothing it runs escapes the limits; C4 then
 * makes this cgroup the root of its cgroup namespace.  Network: the veth
 * pair is made once the child's netns exists and before GO, so the child
 * finds its end; a group's new netns is published here for the members
 * that follow. */
static int p4_parent_side(struct launch *l, struct sbox_err *err)
{
	struct sbox_child *c = l->child;

	if (c->cgroup && !l->into_cgroup && sbox_cgroup_attach(c->cgroup, c->pid, err) < 0)
		return -1;
	return sbox_net_parent_setup(&c->net, c->pid, err);
}

/* S1: GO.  From here the set-up's outcome arrives as events. */
static int s1_go(struct launch *l, struct sbox_err *err)
{
	if (sbox_sync_send(l->child->sync_fd, SBOX_SYNC_GO, 0, 0, NULL) < 0)
		return sbox_fail(err, errno, "starting the sandbox (sync S1)");
	return 0;
}

static void prepared_take(struct launch *l, struct sbox_prepared *p)
{
	p->child = sbox_steal_ptr(l->child);
	p->grant = l->grant;
	sbox_gpu_grant_init(&l->grant);
	p->worker = l->ident;
	l->ident = (struct sbox_identity){ 0 };
	p->userns = l->r.userns;
	p->mapped_uid = l->r.uid;
	p->mapped_gid = l->r.gid;
	p->announce = l->r.announce;
}

/* Prepare: P1-P4 and S1; init builds the sandbox (C0-C6c) and waits for a
 * request at S1c, telling the launcher so first when announce is set. */
static int prepare(const struct sbox_policy *policy, const struct sbox_launch *launch,
		   bool announce, struct sbox_prepared **out, struct sbox_err *err)
{
	_cleanup_(launch_free) struct launch l = {
		.r = { .policy = policy, .launch = launch, .sync_fd = -1, .announce = announce },
	};
	struct sbox_prepared *p;

	*out = NULL;
	if (p1_namespaces(&l, err) < 0 ||
	    p1b_identity(&l, err) < 0 ||
	    p1d_devices(&l, err) < 0 ||
	    p1e_network(&l, err) < 0 ||
	    p1f_bind_sources(&l, err) < 0 ||
	    p1g_cgroup(&l, err) < 0 ||
	    p1h_enforce_devices(&l, err) < 0 ||
	    p2_sync_channel(&l, err) < 0 ||
	    p3_clone(&l, err) < 0 ||
	    p4_parent_side(&l, err) < 0 ||
	    s1_go(&l, err) < 0)
		return -1;
	p = sbox_prepared_new();
	if (!p)
		return sbox_fail(err, ENOMEM, "allocating the prepared sandbox");
	prepared_take(&l, p);
	*out = p;
	return 0;
}

int sbox_prepare(const struct sbox_policy *policy, const struct sbox_launch *launch,
		 struct sbox_prepared **out, struct sbox_err *err)
{
	return prepare(policy, launch, true, out, err);
}

/* P5a, specialise: who the worker runs as, as of this request.  A pool's
 * sandbox was prepared with the ids of then, which may be days ago and is
 * the requester's to choose: a uid given to a new account must not start
 * a worker with the ids of then, so they are resolved again and a
 * difference fails the specialisation (a pool launches in full instead,
 * resolved afresh).  Then, for every sandbox, the login groups
 * (sbox_identity_resolve_groups()): here, after the clone, where they
 * overlap init's build, and as they are now; S1c carries them to init.  A
 * user removed from a group since the sandbox was prepared starts without
 * it. */
static int p5a_identity_current(struct sbox_prepared *p, const struct sbox_policy *policy,
				const struct sbox_launch *launch, struct sbox_err *err)
{
	struct sbox_identity now = { 0 };

	if (p->announce) {
		if (sbox_identity_resolve(&now, policy, launch, p->userns, p->mapped_uid,
					  p->mapped_gid, err) < 0)
			return -1;
		if (now.uid != p->worker.uid || now.gid != p->worker.gid) {
			sbox_identity_free(&now);
			return sbox_fail(err, ESTALE, "the worker's uid or gid changed since the sandbox was prepared");
		}
		/* Both come from p->userns: never apart, but a request must
		 * not change whether init sets groups. */
		if (now.set_groups != p->worker.set_groups) {
			sbox_identity_free(&now);
			return sbox_fail(err, ESTALE, "the worker's groups would be set differently from the prepared sandbox's");
		}
		sbox_identity_free(&p->worker);
		p->worker = now;
	}
	return sbox_identity_resolve_groups(&p->worker, err);
}

/* P5, specialise: the worker's environment, for the user P1b resolved
 * (its HOME and USER from the host's passwd, read here, never by NSS in
 * the sandbox) and this request's caller (PassEnvironment=, TERM), then
 * the GPU grant's variables, which are facts of the grant. */
static char **p5_environment(const struct sbox_prepared *p, const struct sbox_policy *policy,
			     const struct sbox_launch *launch, struct sbox_err *err)
{
	char **envp = sbox_env_build(policy, launch, p->worker.uid, err);

	if (envp && sbox_gpu_grant_env(&p->grant, &envp, err) < 0) {
		sbox_strv_free(envp);
		return NULL;
	}
	return envp;
}

/* P5b, specialise: the request's limits.  A pool's shape says which
 * limits are set, not their values (sboxd/shape.c): those the request
 * changes are written on the cgroup here, where init is alone and waits,
 * before the request reaches it (S1c), so the worker never runs a moment
 * under the shape's.  A sandbox prepared for this very request has them
 * already: nothing differs, nothing is written. */
static int p5b_limits(struct sbox_prepared *p, const struct sbox_policy *policy,
		      struct sbox_err *err)
{
	if (!p->child->cgroup)
		return 0;
	return sbox_cgroup_set_limits(p->child->cgroup, &policy->res, err);
}

/* P5c, specialise, a pool's sandbox: the request's bind sources, cloned
 * here from the client's fds as P1f clones them for a launch in full
 * (the paths are never looked up as root); init attaches them at C6g.
 * Prepare left the binds out (sboxd/shape.c allows it only where their
 * destinations are apart from every other mount, /dev, /proc and /sys:
 * attached last, they give the tree a launch in full builds). */
static int p5c_bind_sources(const struct sbox_prepared *p, const struct sbox_policy *policy,
			    const struct sbox_launch *launch, int **trees, struct sbox_err *err)
{
	*trees = NULL;
	if (!p->announce || !sbox_policy_has_binds(policy))
		return 0;
	if (!launch->bind_src_fds)
		return sbox_fail(err, EINVAL, "a prepared sandbox's binds come from the client's fds, and this launch has none");
	return sbox_fs_clone_fd_sources(policy, launch->bind_src_fds, launch->n_bind_src_fds, trees,
					err);
}

/* S1c: the request, to an init that has built everything else.  The
 * sandbox's figures count from here: its time in a pool is not the
 * worker's.  Sent right after S1 (sbox_spawn()), it may find init gone
 * already: a step of its own failed, and its report (S2) waits on the
 * channel for the caller, as the launch's outcome.  A prepared sandbox
 * that said it was ready and is gone is a failure here: a pool then
 * launches in full instead. */
static int s1c_request(struct sbox_prepared *p, const struct sbox_policy *policy,
		       const struct sbox_launch *launch, char *const *envp, const int *trees,
		       struct sbox_err *err)
{
	/* A pool's shape leaves the hostname, WorkingDirectory= and the binds'
	 * sources out: the request brings them.  A sandbox prepared for this
	 * very request (sbox_spawn()) has them from C5 and C6 already. */
	const struct sbox_request_pooled pooled = {
		.hostname = sbox_policy_hostname(policy),
		.workdir = policy->workdir,
		.bind_trees = trees,
		.n_mounts = policy->n_mounts,
	};

	if (sbox_request_send(p->child->sync_fd, launch, envp, &p->worker,
			      p->announce ? &pooled : NULL, err) < 0) {
		if (p->ready || (err->errnum != EPIPE && err->errnum != ECONNRESET))
			return -1;
		sbox_err_clear(err);
	}
	clock_gettime(CLOCK_MONOTONIC, &p->child->started);
	return 0;
}

int sbox_specialise(struct sbox_prepared *p, const struct sbox_policy *policy,
		    const struct sbox_launch *launch, struct sbox_child **out,
		    struct sbox_err *err)
{
	char **envp = NULL;
	int *trees = NULL;
	int rc = -1;

	*out = NULL;
	if (!launch->argv || !launch->argv[0])
		sbox_fail(err, EINVAL, "no command to run");
	else if (p5a_identity_current(p, policy, launch, err) == 0 &&
		 (envp = p5_environment(p, policy, launch, err)) &&
		 p5b_limits(p, policy, err) == 0 &&
		 p5c_bind_sources(p, policy, launch, &trees, err) == 0 &&
		 s1c_request(p, policy, launch, envp, trees, err) == 0) {
		*out = sbox_steal_ptr(p->child);
		rc = 0;
	}
	/* Init has its own copies of the trees now (or never will). */
	sbox_fs_trees_free(trees, policy->n_mounts);
	sbox_strv_free(envp);
	sbox_prepared_free(p);
	return rc;
}

int sbox_spawn(const struct sbox_policy *policy, const struct sbox_launch *launch,
	       struct sbox_child **out, struct sbox_err *err)
{
	struct sbox_prepared *p;

	*out = NULL;
	/* Before anything exists: a launch without a command is refused as
	 * cheaply as it was before the split. */
	if (!launch->argv || !launch->argv[0])
		return sbox_fail(err, EINVAL, "no command to run");
	if (prepare(policy, launch, false, &p, err) < 0)
		return -1;
	return sbox_specialise(p, policy, launch, out, err);
}
