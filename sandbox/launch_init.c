/* SPDX-License-Identifier: MIT */
/*
 * The sandbox's init: steps C0-C9, in the child clone made at P3 (pid 1 of
 * the new pid namespace), up to forking the worker (W0-W4 are
 * sandbox/launch_worker.c's) and then supervising it.  The order, and the
 * reason for each place, is the step list at the top of sandbox/launch.c.
 * Any step that fails sends S2 SETUP_ERROR and exits 125: the worker never
 * runs in a half-built sandbox.
 */
#include "sandbox/recipe.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/caps.h"
#include "sandbox/gpu_grant.h"
#include "sandbox/identity.h"
#include "sandbox/init.h"
#include "sandbox/mounts.h"
#include "sandbox/network.h"
#include "sandbox/procstate.h"
#include "sandbox/spawn.h"
#include "sandbox/request.h"
#include "sandbox/sync.h"

/* The worker's stack until its execve (C7a): it shares init's memory
 * (sandbox/spawn.h), and runs W0-W3b and a failure's report on it; 64 KiB
 * is some 4 times what they take, ASan's red zones included. */
#define WORKER_STACK_SIZE (64 * 1024)

/* What init's later steps need of its earlier ones. */
struct init {
	const struct sbox_recipe *r;
	int sigfd;                  /* C7: the forwarded signals */
	int report[2];              /* C7: the worker's report channel */
	pid_t worker;               /* C7a */
	bool title_moved;           /* C7c: PR_SET_MM did it */
	/* C7a: in sbox_recipe_init()'s frame, which lives as long as init
	 * does, on the thread's own stack (where ASan looks for frames). */
	char *worker_stack;
};

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

/* C0: the launcher's own fds (its listening socket, other clients'
 * connections, other sandboxes' channels) must not live on in this
 * sandbox's init: a client would never see its connection close.  First,
 * before anything can fail and leave init holding them. */
static void c0_close_launcher_fds(const struct sbox_recipe *r)
{
	/* By runs of consecutive numbers: sboxd's list grows with its live
	 * sandboxes (some ten fds each), and one close(2) per fd made every
	 * launch cost more the more sandboxes ran. */
	sbox_fds_close_list(r->launch->close_fds, r->launch->n_close_fds);
}

/* C1: when the launcher dies, the sandbox dies with it: init is pid 1, and
 * its death kills every process of the pid namespace.  A daemon that keeps
 * its jobs' channels in a keeper asks otherwise (survive_launcher): init
 * then ends when the channel does (C9). */
static int c1_die_with_launcher(const struct sbox_recipe *r, struct sbox_err *err)
{
	if (!r->launch->survive_launcher && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return sbox_fail(err, errno, "setting the parent-death signal");
	return 0;
}

/* C2: S1, the parent's side is set up.  EOF also covers a parent that died
 * before PDEATHSIG. */
static void c2_wait_for_go(const struct sbox_recipe *r)
{
	struct sbox_sync_msg m;

	if (sbox_sync_recv(r->sync_fd, &m) <= 0 || m.type != SBOX_SYNC_GO)
		_exit(125);
}

/* C3: map the caller's ids 1:1, before any step that needs the namespace's
 * capabilities.  Writing our own maps is what an unprivileged process may
 * do; setgroups must be denied first. */
static int c3_map_ids(const struct sbox_recipe *r, struct sbox_err *err)
{
	char map[64];

	if (!r->userns)
		return 0;
	if (write_file("/proc/self/setgroups", "deny", err) < 0)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)r->uid, (unsigned)r->uid);
	if (write_file("/proc/self/uid_map", map, err) < 0)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)r->gid, (unsigned)r->gid);
	return write_file("/proc/self/gid_map", map, err);
}

/* C4: after the parent placed us in our cgroup (P3 or P4), so that the
 * cgroup namespace's root is the sandbox's own cgroup: in
 * /proc/self/cgroup, and in the cgroup filesystems C6 mounts at
 * /sys/fs/cgroup, which is why C6 follows. */
static int c4_cgroup_ns(struct sbox_err *err)
{
	if (unshare(CLONE_NEWCGROUP) < 0)
		return sbox_fail(err, errno, "creating the cgroup namespace");
	return 0;
}

static int set_hostname(const char *h, struct sbox_err *err)
{
	if (sethostname(h, strlen(h)) < 0)
		return sbox_fail(err, errno, "setting the hostname to '%s'", h);
	return 0;
}

/* C5: in the new UTS namespace. */
static int c5_hostname(const struct sbox_recipe *r, struct sbox_err *err)
{
	return set_hostname(sbox_policy_hostname(r->policy), err);
}

/* C5b: join the group's or a pooled netns, lo up, the sandbox's end of a
 * veth.  After GO, so the veth peer exists; before the filesystem, so that
 * anything mounted later (a sysfs, /proc/net) sees the final netns; done
 * here rather than from the parent, because the child has CAP_NET_ADMIN
 * over its netns without the parent having to enter it (setns would move
 * the launcher). */
static int c5b_network(const struct sbox_recipe *r, struct sbox_err *err)
{
	return sbox_net_child_setup(r->net, err);
}

/* --tty (NewSession=no): the first of the worker's stdio that is a
 * terminal, shown inside as /dev/console (sandbox/devfs.c); -1: none. */
static int caller_tty(const struct sbox_recipe *r)
{
	if (r->policy->new_session)
		return -1;
	for (int i = 0; i < 3; i++)
		if (r->launch->stdio[i] >= 0 && isatty(r->launch->stdio[i]))
			return r->launch->stdio[i];
	return -1;
}

/* C6: the filesystem (sandbox/mounts.c): / made a slave so nothing
 * propagates back; the bind sources cloned (open_tree) while the host's
 * paths are still in view, before the staging tmpfs hides /tmp; the host
 * root cloned, made read-only, nosuid, nodev and private while detached,
 * so there is no moment with a writable root; fresh /proc, private /dev
 * and /tmp; /sys/fs/cgroup covered, the sandbox's own cgroup mounted
 * there afresh in C4's namespace (the host's tree, every other sandbox's
 * figures in it, out of view: sandbox/cgview.h); the policy's mounts in
 * order, their destinations resolved in the root; the pivot after every
 * mount, and before anything the worker controls runs. */
static int c6_filesystem(const struct sbox_recipe *r, struct sbox_err *err)
{
	struct sbox_fs fs = {
		.root_fd = -1,
		/* What /dev and /proc/driver/nvidia show (P1d), and whether
		 * a read-only bind may keep its device nodes (P1h). */
		.grant = r->grant, .devices = r->devices,
		.devices_enforced = r->devices_enforced,
		.cgview = r->cgview,
		.src_trees = r->src_trees,
		/* A TemporaryFileSystem= is the worker's user's to write. */
		.worker_owned = true, .worker_uid = r->ident->uid, .worker_gid = r->ident->gid,
		/* Root is privileged in a user namespace too: its uid 0 is
		 * mapped 1:1 there. */
		.caller = { .uid = r->uid, .privileged = r->uid == 0 },
		.console_fd = caller_tty(r),
		/* A pool's: the binds are the request's (C6g). */
		.binds_later = r->announce,
	};

	if (sbox_fs_open_sources(&fs, r->policy, err) < 0 ||
	    sbox_fs_build(&fs, r->policy, err) < 0 || sbox_fs_pivot(&fs, err) < 0)
		return -1;
	sbox_fs_release(&fs);
	return 0;
}

/* C6b: the granted GPUs' local CPUs and memory node (GPULocality=).  In
 * init, because a memory policy can only be set by a task on itself;
 * before the worker is forked, which inherits both. */
static int c6b_gpu_locality(const struct sbox_recipe *r, struct sbox_err *err)
{
	return sbox_gpu_apply_locality(r->grant, err);
}

/* C6c, security: the launcher's fds (cgroup directories, netns fds; in
 * sboxd other clients' and sandboxes') go now that the filesystem is built
 * and before anything of the worker exists, where one left open would be
 * a way out through /proc/self/fd/N (CVE-2024-21626): only the sync
 * channel lives on -- and init's copies of the veth address lease and the
 * group membership locks, which make them the sandbox's for its whole
 * life, whoever launched it (the worker closes them at W0: a copy of the
 * open file could unlock them).  Not stdio nor the passed fds either: the
 * request brings its own at S1c, so a prepared sandbox holds nothing of
 * any client's. */
static int c6c_close_launcher_fds(const struct sbox_recipe *r, struct sbox_err *err)
{
	static const struct sbox_launch none = { .stdio = { -1, -1, -1 } };
	int keep[] = { r->sync_fd, r->net->lease.fd, r->net->group.member_fd };

	return sbox_fds_close_launcher(&none, keep, 3, err);
}

/* C6h, least privilege, ahead: the bounding set narrowed to the policy's,
 * here rather than in each worker (W1b), so that a prepared sandbox's
 * worker starts without its one call per capability.  Init keeps its own
 * capabilities (the bounding set limits only what an execve or a capset
 * can add): C6f, C6g and C7a still need them, and C7b drops them.  The
 * worker inherits the narrowed set, and its read-back (W1b) checks it. */
static int c6h_narrow_bounding_set(const struct sbox_recipe *r, struct sbox_err *err)
{
	return sbox_caps_narrow_bounding(&r->policy->sec, err);
}

/* C6d: S1c.  The sandbox is built; a pool's launcher learns so (PREPARED)
 * and init waits for the request, as long as it takes: it holds nothing
 * of anyone's and has run nothing of the user's.  EOF: the launcher gave
 * the sandbox up (or died): init exits and the pid namespace with it. */
static int c6d_wait_for_request(const struct sbox_recipe *r, struct sbox_request *req,
				struct sbox_err *err)
{
	if (r->announce && sbox_sync_send(r->sync_fd, SBOX_SYNC_PREPARED, 0, 0, NULL) < 0)
		_exit(125);
	if (sbox_request_recv(r->sync_fd, req, err) == 0)
		return 0;
	if (err->errnum == ECONNRESET)
		_exit(125);
	return -1;
}

/* C6e: the request becomes the recipe that C7 on follows: init's own
 * copies of the launch, the policy, the identity and the recipe, with
 * argv, the environment, the worker's groups, the caller's cwd, the fds
 * and (a pool's) the WorkingDirectory= from S1c, and all else as
 * prepared.  Its hostname replaces the one C5 set (a pool's shape leaves
 * it out), still with init's capabilities and before the worker exists.
 * The groups must come where the identity sets them: else the worker
 * would keep init's own (the launcher's) at W1b. */
static int c6e_take_request(const struct sbox_recipe *r, const struct sbox_request *req,
			    struct sbox_launch *l, struct sbox_policy *policy,
			    struct sbox_identity *ident, struct sbox_recipe *spec,
			    struct sbox_err *err)
{
	if (req->has_groups != r->ident->set_groups)
		return sbox_fail(err, EPROTO, "the request %s the worker's groups",
				 req->has_groups ? "names" : "lacks");
	*ident = *r->ident;
	ident->groups = req->groups;
	ident->n_groups = req->n_groups;
	*l = *r->launch;
	/* A pool's shape leaves WorkingDirectory= out: W2 enters the
	 * request's (a shallow copy: the rest is the prepared policy). */
	*policy = *r->policy;
	if (req->pooled)
		policy->workdir = req->workdir;
	l->argv = req->argv;
	memcpy(l->stdio, req->stdio, sizeof(l->stdio));
	l->pass_fds = req->pass_fds;
	l->n_pass_fds = req->n_pass;
	/* The passed fds arrived under numbers of their own: each moves onto
	 * its target at W3 (none: nothing to move, and W3 then needs no fd
	 * above a low LimitNOFILE=). */
	l->pass_fd_targets = req->n_pass ? req->targets : NULL;
	l->caller_cwd = req->cwd;
	l->caller_env = NULL;
	*spec = *r;
	spec->policy = policy;
	spec->launch = l;
	spec->ident = ident;
	spec->envp = req->envp;
	return 0;
}

/* C6f: the request's hostname, when it brings one (a pool's sandbox: C5
 * set its shape's). */
static int c6f_request_hostname(const struct sbox_request *req, struct sbox_err *err)
{
	return req->hostname ? set_hostname(req->hostname, err) : 0;
}

/* C6g, a pool's sandbox: the request's binds (P5c cloned them from the
 * client's fds), attached in the pivoted root with init's capabilities,
 * before the worker exists; prepare left them out (sboxd/shape.c lets it
 * only where they meet no other mount).  Init keeps no tree: each is in
 * the mount tree now, or the launch fails. */
static int c6g_request_binds(const struct sbox_recipe *r, struct sbox_request *req,
			     struct sbox_err *err)
{
	const struct sbox_policy *p = r->policy;
	size_t n = p->n_mounts;
	_cleanup_free_ int *trees = NULL;
	int rc = 0;

	if (r->announce && sbox_policy_has_binds(p)) {
		trees = malloc(n * sizeof(*trees));
		if (!trees)
			rc = sbox_fail(err, ENOMEM, "taking the request's binds");
		for (size_t i = 0; rc == 0 && i < n; i++)
			trees[i] = -1;
		for (size_t i = 0; rc == 0 && i < req->n_binds; i++) {
			unsigned k = req->bind_index[i];

			if (k >= n || !sbox_mount_is_bind(&p->mounts[k]) || trees[k] >= 0)
				rc = sbox_fail(err, EPROTO, "the request's bind source %u is no bind of the policy", k);
			else
				trees[k] = req->bind_trees[i];
		}
		if (rc == 0)
			rc = sbox_fs_attach_binds(p, trees, r->devices_enforced, err);
	} else if (req->n_binds) {
		rc = sbox_fail(err, EPROTO, "the request brings bind sources this sandbox did not leave out");
	}
	for (size_t i = 0; i < req->n_binds; i++)
		close(req->bind_trees[i]);
	req->n_binds = 0;
	return rc;
}

/* C7: a pid 1 drops SIG_DFL signals from outside, so init blocks the
 * forwarded ones, gives them handlers and reads them from a signalfd.
 * Then the worker's report channel: CLOEXEC, so execve() closing it is the
 * signal of success. */
static int c7_signals(struct init *in, struct sbox_err *err)
{
	in->sigfd = sbox_init_prepare_signals();
	if (in->sigfd < 0)
		return sbox_fail(err, errno, "preparing init's signal handling");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, in->report) < 0)
		return sbox_fail(err, errno, "creating the worker's report channel");
	return 0;
}

/* The worker's start on its own stack: only its end of the report
 * channel stays open (its fd table is its own), then W0-W4. */
static int worker_main(void *p)
{
	const struct init *in = p;

	close(in->report[0]);
	close(in->sigfd);
	close(in->r->sync_fd);
	sbox_recipe_worker(in->r, in->report[1]);
}

/* C7a, security: init non-dumpable before the worker exists, so there is
 * no moment when a worker could open /proc/1/mem, environ or exe or ptrace
 * init.  The worker inherits it until its execve (or its change of ids)
 * decides its own.  Then the worker's start, with vfork's economy
 * (sandbox/spawn.h): it shares init's memory until its execve, so no page
 * table is copied and nothing faults copy-on-write; it allocates nothing
 * (its capability sets are made here) and writes only its own stack,
 * and init, once it has sent S1b, touches nothing until the worker has
 * exec'd or exited (C8).  The worker keeps only its end of the report
 * channel. */
static int c7a_start_worker(struct init *in, struct sbox_err *err)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return sbox_fail(err, errno, "making the sandbox's init non-dumpable");
	if (sbox_caps_prepare(err) < 0)
		return -1;
	in->worker = sbox_clone_vm(worker_main, in, in->worker_stack, WORKER_STACK_SIZE);
	if (in->worker < 0)
		return sbox_fail(err, errno, "starting the worker");
	close(in->report[1]);
	return 0;
}

/* C7e: init lets go of the worker's stdio and passed fds, which the
 * worker has in its own fd table now: from here init holds nothing of
 * the client's, so whatever the worker was given reaches EOF (a pipe) or
 * its last close when the worker and what it left are gone -- by S4b, not
 * at init's exit after it.  Its own 0-2 become an O_PATH fd of /dev/null
 * (not opened: a bind over it could be anything of the user's), so that
 * nothing init writes there lands in a file it opened later.
 * Kept: the sync, report and signal fds, and (as at C6c) the veth lease
 * and group membership locks, the sandbox's for its whole life. */
static int c7e_drop_worker_fds(const struct init *in, struct sbox_err *err)
{
	static const struct sbox_launch none = { .stdio = { -1, -1, -1 } };
	int keep[] = { in->r->sync_fd, in->report[0], in->sigfd, in->r->net->lease.fd,
		       in->r->net->group.member_fd };
	int null = open("/dev/null", O_PATH | O_CLOEXEC);

	if (null < 0)
		return sbox_fail(err, errno, "opening /dev/null for init");
	/* A launcher started with 0-2 closed may have put a kept fd there. */
	for (int fd = 0; fd < 3; fd++) {
		bool kept = fd == null;

		for (size_t i = 0; i < SBOX_ARRAY_SIZE(keep); i++)
			kept |= keep[i] == fd;
		if (!kept && dup2(null, fd) < 0) {
			close(null);
			return sbox_fail(err, errno, "replacing init's fd %d", fd);
		}
	}
	if (null > 2)
		close(null);
	return sbox_fds_close_launcher(&none, keep, SBOX_ARRAY_SIZE(keep), err);
}

/* C7c: named for what it is, no longer the launcher's command line (with
 * which `pkill -f sboxd` reached every sandbox).  After the worker's
 * start; before C7b drops CAP_SYS_RESOURCE, which moving the command line
 * (PR_SET_MM) needs.  Without it the launcher's own argv is written over
 * instead, but only after C8: the worker's argv may point into that
 * memory, which it shares until its execve. */
static void c7c_set_title(struct init *in)
{
	in->title_moved = sbox_init_set_title(in->r->launch->argv[0]);
}

/* C7d: S1d.  A launcher whose sandboxes outlive it (survive_launcher:
 * sboxd with its keeper) lets the worker go only once its record of the
 * sandbox is where a successor finds it.  The worker exists (C7a) but
 * waits for S1b before its first step, so nothing of the request has run;
 * waiting here, not before C7a, lets the launcher's record overlap the
 * worker's start.  EOF: the launcher died before its record, so no
 * successor knows this sandbox and a retried launch starts another: the
 * worker is killed unrun and init exits.  The launcher sends nothing else
 * before RUN; anything else is dropped.  Init writes only its own stack
 * here, which the worker (on its own stack, in init's memory) never reads. */
static void c7d_wait_for_run(const struct init *in)
{
	struct sbox_sync_msg m;

	if (!in->r->launch->survive_launcher)
		return;
	do {
		if (sbox_sync_recv(in->r->sync_fd, &m) <= 0) {
			kill(in->worker, SIGKILL);
			waitpid(in->worker, NULL, 0);
			_exit(125);
		}
	} while (m.type != SBOX_SYNC_RUN);
}

/* C7b, security: from here init only forwards signals and reaps, so it
 * keeps CAP_KILL alone.  The worker needs the full set to drop it itself,
 * and a task's capabilities are its own from its start on, so this can
 * only follow the start (which is why the worker can't be a vfork: init
 * would be suspended until the worker's execve, with all of them); the
 * worker waits for S1b before its first step, so nothing it runs sees
 * init with more than CAP_KILL. */
static int c7b_harden_init(struct init *in, struct sbox_err *err)
{
	if (sbox_caps_harden_init(err) >= 0 &&
	    sbox_sync_send(in->report[0], SBOX_SYNC_GO, 0, 0, NULL) >= 0)
		return 0;
	if (!err->msg[0])
		sbox_fail(err, errno, "starting the worker (S1b)");
	kill(in->worker, SIGKILL);
	waitpid(in->worker, NULL, 0);
	return -1;
}

/* C8: S3.  EOF on the report channel means execve succeeded (CLOEXEC
 * closed it): STARTED.  A message is the worker's failure, passed on:
 * exec failures exit 127, set-up failures 125. */
static void c8_report_start(const struct init *in)
{
	struct sbox_sync_msg m;
	int n = sbox_sync_recv(in->report[0], &m);

	close(in->report[0]);
	if (n > 0) {
		sbox_sync_send(in->r->sync_fd, m.type, m.errnum, 0, m.text);
		waitpid(in->worker, NULL, 0);
		_exit(m.type == SBOX_SYNC_EXEC_FAILED ? 127 : 125);
	}
	sbox_sync_send(in->r->sync_fd, SBOX_SYNC_STARTED, 0, in->worker, NULL);
}

void sbox_recipe_init(const struct sbox_recipe *r)
{
	struct sbox_err err = { 0 };
	/* Not in struct init: its initializer would clear all of it. */
	char worker_stack[WORKER_STACK_SIZE] __attribute__((aligned(16)));
	struct sbox_request req;
	struct sbox_launch launch;
	struct sbox_policy policy;
	struct sbox_identity ident;
	struct sbox_recipe spec;
	struct init in = { .r = &spec, .sigfd = -1, .report = { -1, -1 }, .worker = -1,
			   .worker_stack = worker_stack };

	c0_close_launcher_fds(r);
	if (c1_die_with_launcher(r, &err) < 0)
		child_fail(r->sync_fd, &err);
	c2_wait_for_go(r);
	if (c3_map_ids(r, &err) < 0 ||
	    c4_cgroup_ns(&err) < 0 ||
	    c5_hostname(r, &err) < 0 ||
	    c5b_network(r, &err) < 0 ||
	    c6_filesystem(r, &err) < 0 ||
	    c6b_gpu_locality(r, &err) < 0 ||
	    c6c_close_launcher_fds(r, &err) < 0 ||
	    c6h_narrow_bounding_set(r, &err) < 0 ||
	    c6d_wait_for_request(r, &req, &err) < 0 ||
	    c6e_take_request(r, &req, &launch, &policy, &ident, &spec, &err) < 0)
		child_fail(r->sync_fd, &err);
	if (c6f_request_hostname(&req, &err) < 0 ||
	    c6g_request_binds(r, &req, &err) < 0 ||
	    c7_signals(&in, &err) < 0 ||
	    c7a_start_worker(&in, &err) < 0)
		child_fail(spec.sync_fd, &err);
	if (c7e_drop_worker_fds(&in, &err) < 0) {
		kill(in.worker, SIGKILL);
		child_fail(spec.sync_fd, &err);
	}
	c7c_set_title(&in);
	c7d_wait_for_run(&in);
	if (c7b_harden_init(&in, &err) < 0)
		child_fail(spec.sync_fd, &err);
	c8_report_start(&in);
	if (!in.title_moved)
		sbox_init_overwrite_title();
	/* C9: forward signals, reap every child; once the worker ended,
	 * S4a EXITED with its wait status, kill and reap whatever it left
	 * behind, S4b EMPTIED, exit (sandbox/init.c). */
	sbox_init_run(in.worker, in.sigfd, spec.sync_fd);
}
