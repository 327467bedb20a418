/* SPDX-License-Identifier: MIT */
/*
 * The launch recipe.  The order of the steps is the security argument; each
 * step says why it stands where it does, and docs/design.md repeats the list.
 *
 * Parent                                 Child (pid 1 of the new pid ns)
 *  P1 everything that can fail ahead:
 *     ids, environment, namespace flags,
 *     the seccomp filter compiled
 *  P2 socketpair (the sync channel)
 *  P3 clone3 into new namespaces ---->   C1 die with the parent (PDEATHSIG)
 *  P4 parent-side set-up, then S1 GO -->  C2 wait for GO (S1)
 *                                        C3 user namespace id maps
 *                                        C4 cgroup namespace
 *                                        C5 hostname
 *                                        C6 filesystem: sources, root, pivot
 *                                        C6c close the launcher's fds
 *                                        C7 init's signals
 *                                        C7a init non-dumpable; fork the worker
 *                                        C7b init: CAP_KILL only; S1b GO -->
 *                                           W0 wait for S1b; close all but
 *                                              the kept fds
 *                                           W1 signals, session
 *                                           W1b rlimits, ids, capabilities,
 *                                               no_new_privs
 *                                           W2 umask, working directory
 *                                              (resolved in the root)
 *                                           W3 stdio and fds
 *                                           W3b seccomp filter installed
 *                                           W4 exec (S3 on failure)
 *                                        C8 S3 STARTED / EXEC_FAILED
 *                                        C9 init loop; S4 EXITED
 * Any child step that fails sends S2 SETUP_ERROR and exits: the worker never
 * runs in a half-built sandbox.
 */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/values.h"
#include "sandbox/caps.h"
#include "sandbox/cgroup.h"
#include "sandbox/devices.h"
#include "sandbox/fsutil.h"
#include "sandbox/gpu.h"
#include "sandbox/identity.h"
#include "sandbox/init.h"
#include "sandbox/mounts.h"
#include "sandbox/network.h"
#include "sandbox/procstate.h"
#include "sandbox/rlimits.h"
#include "sandbox/seccomp.h"
#include "sandbox/spawn.h"
#include "sandbox/sync.h"

struct sbox_child {
	pid_t pid;
	int pidfd;
	int sync_fd;
	bool reaped;
	bool adopted;              /* -- daemon: rebuilt by a successor; not ours to reap -- */
	struct sbox_net net;       /* network: host-side state until init is reaped */
	/* -- cgroups: the sandbox's own cgroup (NULL: runs without one, see
	 * sbox_cgroup_for_sandbox()), and the figures of its life. -- */
	struct sbox_cgroup *cgroup;
	struct timespec started, ended;
	struct rusage ru;          /* init's, once reaped: its waited-for children's too */
};

/* What the child needs, all computed before clone (P1). */
struct recipe {
	const struct sbox_policy *policy;
	const struct sbox_launch *launch;
	bool userns;
	bool devices_enforced;     /* a device cgroup is in force (P1c/P1e) */
	uid_t uid;                 /* the caller's, mapped 1:1 in a user ns */
	gid_t gid;
	char **envp;
	int sync_fd;
	struct sbox_net *net;      /* the child's copy of the launch's network state */
	/* -- devices and GPUs -- */
	const struct sbox_gpu_grant *grant;    /* GPUs= resolved and checked */
	const struct sbox_device_set *devices; /* every device the sandbox may open */
	const int *src_trees;      /* -- daemon: bind sources cloned from the client's fds -- */
	struct sbox_cgroup *cgroup; /* -- cgroups: the sandbox's, for parent-side steps (P1, P4) -- */
	/* -- security: resolved and compiled in P1 -- */
	const struct sbox_identity *ident;   /* who the worker runs as */
	const struct sbox_seccomp *seccomp;  /* the system call filter, as BPF */
};

/* ---------------------------------------------------------------- child */

static __attribute__((noreturn)) void child_fail(int sync_fd, const struct sbox_err *err)
{
	sbox_sync_send(sync_fd, SBOX_SYNC_SETUP_ERROR, err->errnum, 0, err->msg);
	_exit(125);
}

static int write_file(const char *path, const char *text, struct sbox_err *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return sbox_fail(err, errno, "opening %s", path);
	n = write(fd, text, strlen(text));
	if (n < 0) {
		int e = errno;

		close(fd);
		return sbox_fail(err, e, "writing '%s' to %s", text, path);
	}
	close(fd);
	return 0;
}

/* C3: map the caller's ids 1:1.  Writing our own maps is what an
 * unprivileged process may do; setgroups must be denied first. */
static int setup_userns(const struct recipe *r, struct sbox_err *err)
{
	char map[64];

	if (write_file("/proc/self/setgroups", "deny", err) < 0)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)r->uid, (unsigned)r->uid);
	if (write_file("/proc/self/uid_map", map, err) < 0)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)r->gid, (unsigned)r->gid);
	return write_file("/proc/self/gid_map", map, err);
}

static const char *workdir_of(const struct recipe *r, bool *explicit)
{
	*explicit = r->policy->workdir != NULL;
	if (r->policy->workdir)
		return r->policy->workdir;
	return r->launch->caller_cwd ? r->launch->caller_cwd : "/";
}

/* W2: open path as if "/" were the root (openat2 RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS, or sandbox/resolve.c's walk), as the worker's
 * user, then fchdir: ".." can't climb out of the root and no magic link
 * reaches a directory outside it. */
static int enter_workdir(const char *path)
{
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int fd = -1;

	if (root < 0)
		return -1;
	fd = sbox_open_in_root(root, path, O_DIRECTORY);
	if (fd < 0)
		return -1;
	return fchdir(fd);
}

/* The worker's own steps, after fork from init.  Failures go through
 * report_fd (CLOEXEC: it closes by itself when execve succeeds). */
static __attribute__((noreturn)) void worker_main(const struct recipe *r, int report_fd)
{
	struct sbox_err err = { 0 };
	char exe[4096];
	bool explicit_wd;
	const char *wd = workdir_of(r, &explicit_wd);
	int e;

	/* S1b: init has hardened itself (C7b) before any step of ours. */
	{
		struct sbox_sync_msg go;

		if (sbox_sync_recv(report_fd, &go) <= 0 || go.type != SBOX_SYNC_GO)
			_exit(125);
	}
	/* W0, security: every fd but stdio, the passed fds and the report
	 * channel closed before any other step, above all before W2
	 * resolves a path the caller chose: a host directory fd left open
	 * (a cgroup, a netns, in sboxd another sandbox's) would be a way
	 * out through /proc/self/fd/N (CVE-2024-21626).  Init closed them
	 * at C6c already; this keeps the worker safe on its own. */
	if (sbox_fds_close_launcher(r->launch, &report_fd, 1, &err) < 0)
		goto fail;
	/* W1: the caller's blocked and ignored signals stay behind; a new
	 * session keeps the worker away from the caller's terminal (TIOCSTI). */
	if (sbox_signals_reset(&err) < 0)
		goto fail;
	if (r->policy->new_session && setsid() < 0) {
		sbox_fail(&err, errno, "starting a new session");
		goto fail;
	}
	/* -- security: rlimits, identity, capabilities, no_new_privs here -- */
	/* W1b, least privilege, in this order: rlimits, while
	 * CAP_SYS_RESOURCE may still raise a hard limit; a filter that can't
	 * rely on no_new_privs, while CAP_SYS_ADMIN is still effective; the
	 * ids, with the capabilities kept across the change; the capability
	 * sets, bounding set and locked securebits, which need CAP_SETPCAP
	 * and so come after the ids; no_new_privs.  Before W2, so that the
	 * working directory is entered as the worker's user. */
	if (sbox_rlimits_apply(&r->policy->sec, &err) < 0 ||
	    (!r->policy->sec.no_new_privs && sbox_seccomp_load(r->seccomp, &err) < 0) ||
	    sbox_identity_apply(r->ident, &err) < 0 ||
	    sbox_caps_drop(&r->policy->sec, &err) < 0 ||
	    (r->policy->sec.no_new_privs && sbox_caps_no_new_privs(&err) < 0))
		goto fail;
	/* W2: the working directory resolved inside the new root, never
	 * through a magic link (/proc/self/fd/N), and entered by its fd. */
	umask(r->policy->umask);
	if (enter_workdir(wd) < 0) {
		/* The caller's cwd may not exist inside (e.g. under the
		 * private /tmp): fall back to / as bubblewrap does.  A
		 * WorkingDirectory= the policy names must exist. */
		if (explicit_wd || enter_workdir("/") < 0) {
			sbox_fail(&err, errno, "WorkingDirectory=%s%s", wd,
				  errno == ELOOP ? " (a magic link such as /proc/self/fd/N is never followed)" : "");
			goto fail;
		}
	}
	/* -- daemon: a passed fd may be given report_fd's number (W3 moves
	 * pass_fds onto pass_fd_targets): move it above every target. -- */
	if (r->launch->pass_fd_targets) {
		int hi = fcntl(report_fd, F_DUPFD_CLOEXEC, SBOX_FD_TARGET_MAX + 1);

		if (hi < 0) {
			sbox_fail(&err, errno, "moving the worker's report channel");
			goto fail;
		}
		close(report_fd);
		report_fd = hi;
	}
	/* W3: last before exec, so that no step above can leave a stray fd. */
	if (sbox_fds_sanitize(r->launch, report_fd, &err) < 0)
		goto fail;
	/* -- security: seccomp here, last before exec -- */
	/* W3b: the filter last, so no set-up step is limited by it; after
	 * it only the executable lookup and execve run. */
	if (r->policy->sec.no_new_privs && sbox_seccomp_load(r->seccomp, &err) < 0)
		goto fail;
	/* W4 */
	e = sbox_find_executable(r->launch->argv[0], r->envp, exe, sizeof(exe));
	if (e == 0) {
		execve(exe, r->launch->argv, r->envp);
		e = errno;
	}
	sbox_sync_send(report_fd, SBOX_SYNC_EXEC_FAILED, e, 0, r->launch->argv[0]);
	_exit(e == ENOENT ? 127 : 126);
fail:
	sbox_sync_send(report_fd, SBOX_SYNC_SETUP_ERROR, err.errnum, 0, err.msg);
	_exit(125);
}

/* --tty (NewSession=no): the first of the worker's stdio that is a
 * terminal, shown inside as /dev/console (sandbox/devfs.c); -1: none. */
static int caller_tty(const struct recipe *r)
{
	if (r->policy->new_session)
		return -1;
	for (int i = 0; i < 3; i++)
		if (r->launch->stdio[i] >= 0 && isatty(r->launch->stdio[i]))
			return r->launch->stdio[i];
	return -1;
}

static __attribute__((noreturn)) void child_main(const struct recipe *r)
{
	struct sbox_err err = { 0 };
	struct sbox_sync_msg m;
	struct sbox_fs fs = { .root_fd = -1, .grant = r->grant, .devices = r->devices,
			      .devices_enforced = r->devices_enforced,
			      .src_trees = r->src_trees,
			      /* -- security -- */
			      .worker_owned = true, .worker_uid = r->ident->uid,
			      .worker_gid = r->ident->gid,
			      /* root is privileged in a user namespace too:
			       * its uid 0 is mapped 1:1 there */
			      .caller = { .uid = r->uid, .privileged = r->uid == 0 },
			      .console_fd = caller_tty(r) };
	int report[2], sigfd;
	pid_t worker;

	/* -- daemon: C0, the launcher's own fds (its listening socket, other
	 * clients' connections, other sandboxes' channels) must not live on
	 * in this sandbox's init: a client would never see its connection
	 * close.  The worker closes everything at W3 anyway. -- */
	for (size_t i = 0; i < r->launch->n_close_fds; i++)
		close(r->launch->close_fds[i]);
	/* C1: when the launcher dies, the sandbox dies with it: init is pid 1,
	 * and its death kills every process of the pid namespace.  A daemon
	 * that keeps its jobs' channels in a keeper asks otherwise
	 * (survive_launcher): init then ends when the channel does (C9). */
	if (!r->launch->survive_launcher && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
		sbox_fail(&err, errno, "setting the parent-death signal");
		child_fail(r->sync_fd, &err);
	}
	/* C2: S1.  EOF also covers a parent that died before PDEATHSIG. */
	if (sbox_sync_recv(r->sync_fd, &m) <= 0 || m.type != SBOX_SYNC_GO)
		_exit(125);
	/* C3 */
	if (r->userns && setup_userns(r, &err) < 0)
		goto fail;
	/* C4: after the parent placed us in our cgroup, so that the cgroup
	 * namespace's root is the sandbox's own cgroup. */
	if (unshare(CLONE_NEWCGROUP) < 0) {
		sbox_fail(&err, errno, "creating the cgroup namespace");
		goto fail;
	}
	/* C5 */
	{
		const char *h = r->policy->hostname ? r->policy->hostname : "sbox";

		if (sethostname(h, strlen(h)) < 0) {
			sbox_fail(&err, errno, "setting the hostname to '%s'", h);
			goto fail;
		}
	}
	/* -- network: loopback / veth inside the namespace here -- */
	/* C5b: join the group's or a pooled netns, lo up, the sandbox's end
	 * of a veth.  After GO, so the veth peer exists; before the
	 * filesystem, so that anything mounted later (a sysfs, /proc/net)
	 * sees the final netns; done here rather than from the parent,
	 * because the child has CAP_NET_ADMIN over its netns without the
	 * parent having to enter it (setns would move the launcher). */
	if (sbox_net_child_setup(r->net, &err) < 0)
		goto fail;
	/* C6: sources are cloned while the host's paths are still in view;
	 * the pivot comes after every mount, and before anything the worker
	 * controls runs. */
	if (sbox_fs_open_sources(&fs, r->policy, &err) < 0 ||
	    sbox_fs_build(&fs, r->policy, &err) < 0 || sbox_fs_pivot(&fs, &err) < 0)
		goto fail;
	sbox_fs_release(&fs);

	/* C6b, devices and GPUs: the granted GPUs' local CPUs and memory
	 * node (GPULocality=).  In init, because a memory policy can only be
	 * set by a task on itself; before the worker is forked, which
	 * inherits both. */
	if (sbox_gpu_apply_locality(r->grant, &err) < 0)
		goto fail;
	/* C6c, security: the launcher's fds (cgroup directories, netns
	 * fds; in sboxd other clients' and sandboxes') go now that the
	 * filesystem is built and before anything of the worker exists:
	 * only the sync channel, stdio and the passed fds live on -- and
	 * init's copies of the veth address lease and the group membership
	 * locks, which make them the sandbox's for its whole life, whoever
	 * launched it (the worker closes them at W0: a copy of the open file
	 * could unlock them). */
	{
		int keep[] = { r->sync_fd, r->net->lease.fd, r->net->group.member_fd };

		if (sbox_fds_close_launcher(r->launch, keep, 3, &err) < 0)
			goto fail;
	}
	/* C7 */
	sigfd = sbox_init_prepare_signals();
	if (sigfd < 0) {
		sbox_fail(&err, errno, "preparing init's signal handling");
		goto fail;
	}
	/* The worker's report channel: CLOEXEC, so execve() closing it is
	 * the signal of success. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, report) < 0) {
		sbox_fail(&err, errno, "creating the worker's report channel");
		goto fail;
	}
	/* C7a, security: init non-dumpable before the worker exists, so
	 * there is no moment when a worker could open /proc/1/mem, environ
	 * or exe or ptrace init.  The worker inherits it until its execve
	 * (or its change of ids) decides its own. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		sbox_fail(&err, errno, "making the sandbox's init non-dumpable");
		goto fail;
	}
	worker = fork();
	if (worker < 0) {
		sbox_fail(&err, errno, "forking the worker");
		goto fail;
	}
	if (worker == 0) {
		close(report[0]);
		close(sigfd);
		close(r->sync_fd);
		worker_main(r, report[1]);
	}
	close(report[1]);
	/* C7c: named for what it is, no longer the launcher's command line. */
	sbox_init_set_title(r->launch->argv[0]);
	/* C7b, security: from here init only forwards signals and reaps, so
	 * it keeps CAP_KILL alone.  The worker needs the full set to drop it
	 * itself, so this can only follow the fork; the worker waits for
	 * S1b before its first step, so nothing it runs sees init with more
	 * than CAP_KILL. */
	if (sbox_caps_harden_init(&err) < 0 ||
	    sbox_sync_send(report[0], SBOX_SYNC_GO, 0, 0, NULL) < 0) {
		if (!err.msg[0])
			sbox_fail(&err, errno, "starting the worker (S1b)");
		kill(worker, SIGKILL);
		waitpid(worker, NULL, 0);
		goto fail;
	}

	/* C8: EOF means execve succeeded (CLOEXEC closed the channel). */
	{
		int n = sbox_sync_recv(report[0], &m);

		close(report[0]);
		if (n > 0) {
			sbox_sync_send(r->sync_fd, m.type, m.errnum, 0, m.text);
			waitpid(worker, NULL, 0);
			_exit(m.type == SBOX_SYNC_EXEC_FAILED ? 127 : 125);
		}
	}
	sbox_sync_send(r->sync_fd, SBOX_SYNC_STARTED, 0, worker, NULL);
	/* C9 */
	sbox_init_run(worker, sigfd, r->sync_fd);

fail:
	child_fail(r->sync_fd, &err);
}

/* --------------------------------------------------------------- parent */

/* -- daemon: bind sources cloned from a client's fds, needed until clone -- */
struct src_trees {
	int *fds;
	size_t n;
};

static void src_trees_free(struct src_trees *t)
{
	sbox_fs_trees_free(t->fds, t->n);
}

static bool use_userns(const struct sbox_policy *p)
{
	if (p->private_users >= 0)
		return p->private_users;
	return geteuid() != 0;
}

int sbox_spawn(const struct sbox_policy *policy, const struct sbox_launch *launch,
	       struct sbox_child **out, struct sbox_err *err)
{
	struct recipe r = { .policy = policy, .launch = launch };
	/* Needed until clone only: the child has its copy. */
	_cleanup_(sbox_gpu_grant_free) struct sbox_gpu_grant grant = { 0 };
	_cleanup_(sbox_device_set_free) struct sbox_device_set devices = { 0 };
	_cleanup_free_ struct sbox_child *c = NULL;
	_cleanup_(src_trees_free) struct src_trees trees = { 0 };   /* -- daemon -- */
	_cleanup_(sbox_identity_free) struct sbox_identity ident = { 0 };   /* -- security -- */
	_cleanup_(sbox_seccomp_free) struct sbox_seccomp seccomp = { 0 };  /* -- security -- */
	_cleanup_close_ int parent_end = -1;
	int sv[2], pidfd = -1, into_cgroup;
	/* CLONE_NEWNET is the network mode's to decide (P1). */
	uint64_t flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
	pid_t pid;

	*out = NULL;
	if (!launch->argv || !launch->argv[0])
		return sbox_fail(err, EINVAL, "no command to run");
	/* P1 */
	r.userns = use_userns(policy);
	if (r.userns)
		flags |= CLONE_NEWUSER;
	r.uid = geteuid();
	r.gid = getegid();
	/* P1, security: the worker's ids from the host's databases, here
	 * and never by NSS inside the sandbox; the system call filter
	 * compiled to BPF once, here, so the worker only installs it. */
	if (sbox_identity_resolve(&ident, policy, launch, r.userns, r.uid, r.gid, err) < 0 ||
	    sbox_seccomp_compile(&seccomp, &policy->sec, err) < 0)
		return -1;
	r.ident = &ident;
	r.seccomp = &seccomp;
	r.envp = sbox_env_build(policy, launch, ident.uid, err);
	if (!r.envp)
		return -1;
	/* P1, devices and GPUs: GPUs= is resolved against the inventory here,
	 * in the privileged parent and never inside the sandbox, and every
	 * node is checked; the device set (base + grant + DeviceAllow=) is
	 * built from the result.  A GPU that can't be had fails the launch
	 * before anything exists. */
	if (sbox_devices_check_privilege(policy, geteuid(), err) < 0 ||
	    sbox_gpu_grant_prepare(&grant, launch->gpus, policy, launch->site, err) < 0 ||
	    sbox_gpu_grant_env(&grant, &r.envp, err) < 0 ||
	    sbox_device_set_build(&devices, policy, &grant, err) < 0) {
		sbox_strv_free(r.envp);
		return -1;
	}
	r.grant = &grant;
	r.devices = &devices;
	c = calloc(1, sizeof(*c));
	if (!c) {
		sbox_strv_free(r.envp);
		return sbox_fail(err, ENOMEM, "allocating the sandbox");
	}
	/* P1, network: the veth address lease and the group membership are
	 * taken before clone, so that a launch that can't have them fails
	 * before anything exists; the mode decides CLONE_NEWNET. */
	if (sbox_net_prepare(&c->net, policy, r.userns, launch->netns_pool, launch->site,
			     launch->caller_uid, err) < 0) {
		sbox_net_release(&c->net);
		sbox_strv_free(r.envp);
		return -1;
	}
	c->net.reaper = launch->net_reaper;
	flags |= sbox_net_clone_flags(&c->net);
	r.net = &c->net;
	/* -- daemon: P1, bind sources from the client's fds, cloned here in
	 * the launcher's mount namespace, where those fds' mounts live. -- */
	if (launch->bind_src_fds) {
		if (sbox_fs_clone_fd_sources(policy, launch->bind_src_fds, launch->n_bind_src_fds,
					     &trees.fds, err) < 0) {
			sbox_net_release(&c->net);
			sbox_strv_free(r.envp);
			return -1;
		}
		trees.n = policy->n_mounts;
		r.src_trees = trees.fds;
	}
	/* P1, cgroups: the sandbox's own cgroup, its limits written, exists
	 * before any of its processes does: the child is cloned into it (v2)
	 * or joins it before GO (v1, P4), so no instruction of the sandbox
	 * runs unlimited.  Last in P1: everything above can fail without a
	 * cgroup to take back.  The guard (sboxrun) removes it should the
	 * launcher be SIGKILLed. */
	if (sbox_cgroup_for_sandbox(policy, &c->cgroup, err) < 0 ||
	    (c->cgroup && launch->cgroup_guard && sbox_cgroup_guard(c->cgroup, err) < 0)) {
		sbox_cgroup_destroy(c->cgroup, NULL);
		sbox_net_release(&c->net);
		sbox_strv_free(r.envp);
		return -1;
	}
	r.cgroup = c->cgroup;
	/* -- devices and GPUs: the device set is enforced on r.cgroup here
	 * (sbox_cgroup_is_v2(), sbox_cgroup_devices_fd()), before clone -- */
	/* P1, devices: the device set in force on the sandbox's cgroup before
	 * any of its processes exists (v2: the BPF program built from it and
	 * attached; v1: devices.deny and devices.allow written), so nothing
	 * of the sandbox ever runs without it.  Right after the cgroup is
	 * made, because it needs it; before clone, so that a failure leaves
	 * no process behind. */
	if (sbox_devices_enforce_cgroup(&devices, policy, c->cgroup, geteuid(), err) < 0) {
		sbox_cgroup_destroy(c->cgroup, NULL);
		sbox_net_release(&c->net);
		sbox_strv_free(r.envp);
		return -1;
	}
	r.devices_enforced = geteuid() == 0 && c->cgroup && sbox_cgroup_devices_fd(c->cgroup) >= 0;
	/* P2 */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		sbox_cgroup_destroy(c->cgroup, NULL);
		sbox_net_release(&c->net);
		sbox_strv_free(r.envp);
		return sbox_fail(err, errno, "creating the sync socketpair");
	}
	parent_end = sv[0];
	r.sync_fd = sv[1];
	/* P3: on cgroup v2 straight into the sandbox's cgroup. */
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	pid = sbox_clone(flags, c->cgroup ? sbox_cgroup_clone_fd(c->cgroup) : -1, &pidfd,
			 &into_cgroup);
	if (pid == 0) {
		close(parent_end);
		child_main(&r);
	}
	close(sv[1]);
	sbox_strv_free(r.envp);
	if (pid < 0) {
		int e = errno;

		sbox_net_release(&c->net);
		sbox_cgroup_destroy(c->cgroup, NULL);
		if (e == EPERM || e == ENOSPC || e == EUSERS)
			return sbox_fail(err, e, "creating the sandbox's namespaces (are user namespaces disabled? see sysctl user.max_user_namespaces and kernel.unprivileged_userns_clone)");
		return sbox_fail(err, e, "creating the sandbox's namespaces");
	}
	c->pid = pid;
	c->pidfd = pidfd;
	c->sync_fd = sbox_steal_fd(parent_end);
	/* P4: parent-side steps, then S1.
	 * -- cgroups: v1 placement by pid here (v2 uses CLONE_INTO_CGROUP at P3) --
	 * -- network: host side of veth here -- */
	/* P4, cgroups: v1 (or v2 after the clone() fallback) places the child
	 * by pid while it waits for GO, before it has run a step of its own;
	 * C4 then makes this cgroup the root of its cgroup namespace. */
	if (c->cgroup && !into_cgroup && sbox_cgroup_attach(c->cgroup, pid, err) < 0) {
		sbox_child_free(sbox_steal_ptr(c));
		return -1;
	}
	/* The veth pair is made once the child's netns exists and before
	 * GO, so the child finds its end; a group's new netns is published
	 * here for the members that follow. */
	if (sbox_net_parent_setup(&c->net, pid, err) < 0) {
		sbox_child_free(sbox_steal_ptr(c));
		return -1;
	}
	if (sbox_sync_send(c->sync_fd, SBOX_SYNC_GO, 0, 0, NULL) < 0) {
		sbox_fail(err, errno, "starting the sandbox (sync S1)");
		sbox_child_free(sbox_steal_ptr(c));
		return -1;
	}
	*out = sbox_steal_ptr(c);
	return 0;
}

int sbox_child_event_fd(const struct sbox_child *c)
{
	return c->sync_fd;
}

int sbox_child_pidfd(const struct sbox_child *c)
{
	return c->pidfd;
}

pid_t sbox_child_pid(const struct sbox_child *c)
{
	return c->pid;
}

int sbox_child_read_event(struct sbox_child *c, struct sbox_event *ev, struct sbox_err *err)
{
	struct sbox_sync_msg m;
	int r = sbox_sync_recv(c->sync_fd, &m);

	if (r < 0)
		return sbox_fail(err, errno, "reading from the sandbox's init");
	if (r == 0)
		return 0;
	memset(ev, 0, sizeof(*ev));
	ev->errnum = m.errnum;
	snprintf(ev->msg, sizeof(ev->msg), "%s", m.text);
	switch (m.type) {
	case SBOX_SYNC_STARTED:
		ev->kind = SBOX_EV_STARTED;
		ev->worker_pid = m.value;
		break;
	case SBOX_SYNC_SETUP_ERROR:
		ev->kind = SBOX_EV_SETUP_FAILED;
		break;
	case SBOX_SYNC_EXEC_FAILED:
		ev->kind = SBOX_EV_EXEC_FAILED;
		break;
	case SBOX_SYNC_EXITED:
		ev->kind = SBOX_EV_EXITED;
		ev->status = m.value;
		break;
	default:
		return sbox_fail(err, EPROTO, "unexpected message %u from the sandbox's init", m.type);
	}
	return 1;
}

int sbox_child_signal(struct sbox_child *c, int sig, struct sbox_err *err)
{
	/* SIGKILL ends the sandbox at once (init's death ends the pid ns);
	 * anything else goes to the worker through init. */
	if (sig == SIGKILL) {
		/* -- cgroups: every process of the cgroup too, at once (v2
		 * cgroup.kill, v1 freeze + kill), rather than one by one as the
		 * pid namespace goes down. -- */
		if (c->cgroup)
			sbox_cgroup_kill(c->cgroup, NULL);
		if (c->pidfd >= 0 && syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0) == 0)
			return 0;
		/* -- daemon: an adopted init's pid may be another's by now -- */
		if (!c->reaped && !c->adopted && kill(c->pid, SIGKILL) == 0)
			return 0;
		return sbox_fail(err, errno, "killing the sandbox (pid %d)", (int)c->pid);
	}
	if (sbox_sync_send(c->sync_fd, SBOX_SYNC_SIGNAL, 0, sig, NULL) < 0)
		return sbox_fail(err, errno, "forwarding signal %d to the sandbox", sig);
	return 0;
}

int sbox_child_reap(struct sbox_child *c, int *status, struct sbox_err *err)
{
	pid_t r;

	/* -- daemon: an adopted init was reparented; whoever reaps it is not
	 * us.  Its pidfd said it ended; the events say how. -- */
	if (c->adopted) {
		*status = -1;
		c->reaped = true;
		return 0;
	}
	/* wait4: init's rusage holds the worker's (init waited for it), the
	 * figures of a sandbox without a cgroup. */
	do
		r = wait4(c->pid, status, 0, &c->ru);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return sbox_fail(err, errno, "waiting for the sandbox's init (pid %d)", (int)c->pid);
	c->reaped = true;
	clock_gettime(CLOCK_MONOTONIC, &c->ended);
	/* Init's end is the sandbox's (the pid ns dies with it): its veth
	 * address and group membership go back at once. */
	sbox_net_release(&c->net);
	return 0;
}

void sbox_child_free(struct sbox_child *c)
{
	if (!c)
		return;
	if (!c->reaped) {
		int st;

		if (c->pidfd >= 0)
			syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
		else if (!c->adopted)
			kill(c->pid, SIGKILL);
		while (!c->adopted && waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	/* -- cgroups: init's end took the pid namespace down; whatever is
	 * left in the cgroup is killed, waited for (bounded) and the cgroup
	 * removed.  A failure leaves it to the guard or the sweep. -- */
	sbox_cgroup_destroy(c->cgroup, NULL);
	sbox_net_release(&c->net);
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->sync_fd >= 0)
		close(c->sync_fd);
	free(c);
}

/* -- cgroups (sandbox.h) -- */
static uint64_t usec_between(const struct timespec *a, const struct timespec *b)
{
	int64_t d = (int64_t)(b->tv_sec - a->tv_sec) * 1000000 + (b->tv_nsec - a->tv_nsec) / 1000;

	return d > 0 ? (uint64_t)d : 0;
}

static uint64_t tv_usec(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000 + (uint64_t)tv->tv_usec;
}

int sbox_child_stats(const struct sbox_child *c, struct sbox_stats *st, struct sbox_err *err)
{
	struct timespec now;

	memset(st, 0, sizeof(*st));
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (c->started.tv_sec || c->started.tv_nsec)
		st->wall_usec = usec_between(&c->started, c->reaped ? &c->ended : &now);
	if (c->cgroup)
		return sbox_cgroup_stats(c->cgroup, st, err);
	if (c->reaped && !c->adopted) {
		st->cpu_user_usec = tv_usec(&c->ru.ru_utime);
		st->cpu_system_usec = tv_usec(&c->ru.ru_stime);
		st->memory_peak = (uint64_t)c->ru.ru_maxrss * 1024;
		st->have = SBOX_STAT_CPU | SBOX_STAT_MEMORY_PEAK;
	}
	return 0;
}

struct sbox_cgroup *sbox_child_cgroup(const struct sbox_child *c)
{
	return c->cgroup;
}

/* -- daemon: recovery (sandbox.h) -- */
int sbox_child_adopt(pid_t pid, int pidfd, int event_fd, struct sbox_child **out,
		     struct sbox_err *err)
{
	struct sbox_child *c;

	*out = NULL;
	if (pidfd < 0 || event_fd < 0)
		return sbox_fail(err, EBADF, "adopting sandbox %d: no pidfd or event channel", (int)pid);
	c = calloc(1, sizeof(*c));
	if (!c)
		return sbox_fail(err, ENOMEM, "adopting sandbox %d", (int)pid);
	c->pid = pid;
	c->pidfd = pidfd;
	c->sync_fd = event_fd;
	c->adopted = true;
	/* Nothing of the network to give back: the host side went with the
	 * launcher that made it (or with the sandbox's netns). */
	c->net.join_fd = -1;
	sbox_ipam_lease_init(&c->net.lease);
	sbox_netgroup_init(&c->net.group);
	*out = c;
	return 0;
}

int sbox_child_adopt_cgroup(struct sbox_child *c, const char *cgroup_path, struct sbox_err *err)
{
	if (!c->adopted || c->cgroup)
		return sbox_fail(err, EINVAL, "sandbox %d: not an adopted sandbox without a cgroup",
				 (int)c->pid);
	return sbox_cgroup_reopen(cgroup_path, &c->cgroup, err);
}

int sbox_child_lease(const struct sbox_child *c, uint32_t *block)
{
	*block = c->net.lease.block;
	return c->net.lease.fd;
}

void sbox_child_adopt_lease(struct sbox_child *c, int fd, uint32_t block)
{
	sbox_net_adopt_veth(&c->net, fd, block);
}

void sbox_child_release(struct sbox_child *c)
{
	if (!c)
		return;
	/* Not sbox_net_release(): the veth and the address are the running
	 * sandbox's; only our handle on a joined netns goes. */
	sbox_cgroup_release(c->cgroup);   /* -- cgroups: the same for its cgroup -- */
	if (c->net.join_fd >= 0)
		close(c->net.join_fd);
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->sync_fd >= 0)
		close(c->sync_fd);
	free(c);
}

