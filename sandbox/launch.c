/* SPDX-License-Identifier: MIT */
/*
 * The launch recipe.  The order of the steps is the security argument; each
 * step says why it stands where it does, and docs/design.md repeats the list.
 *
 * Parent                                 Child (pid 1 of the new pid ns)
 *  P1 everything that can fail ahead:
 *     ids, environment, namespace flags
 *  P2 socketpair (the sync channel)
 *  P3 clone3 into new namespaces ---->   C1 die with the parent (PDEATHSIG)
 *  P4 parent-side set-up, then S1 GO -->  C2 wait for GO (S1)
 *                                        C3 user namespace id maps
 *                                        C4 cgroup namespace
 *                                        C5 hostname
 *                                        C6 filesystem: sources, root, pivot
 *                                        C7 init's signals; fork the worker
 *                                           W1 signals, session
 *                                           W2 umask, working directory
 *                                           W3 stdio and fds
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/values.h"
#include "sandbox/init.h"
#include "sandbox/mounts.h"
#include "sandbox/procstate.h"
#include "sandbox/spawn.h"
#include "sandbox/sync.h"

struct sbox_child {
	pid_t pid;
	int pidfd;
	int sync_fd;
	bool reaped;
};

/* What the child needs, all computed before clone (P1). */
struct recipe {
	const struct sbox_policy *policy;
	const struct sbox_launch *launch;
	bool userns;
	uid_t uid;                 /* the caller's, mapped 1:1 in a user ns */
	gid_t gid;
	char **envp;
	int sync_fd;
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

/* The worker's own steps, after fork from init.  Failures go through
 * report_fd (CLOEXEC: it closes by itself when execve succeeds). */
static __attribute__((noreturn)) void worker_main(const struct recipe *r, int report_fd)
{
	struct sbox_err err = { 0 };
	char exe[4096];
	bool explicit_wd;
	const char *wd = workdir_of(r, &explicit_wd);
	int e;

	/* W1: the caller's blocked and ignored signals stay behind; a new
	 * session keeps the worker away from the caller's terminal (TIOCSTI). */
	if (sbox_signals_reset(&err) < 0)
		goto fail;
	if (r->policy->new_session && setsid() < 0) {
		sbox_fail(&err, errno, "starting a new session");
		goto fail;
	}
	/* W2 */
	umask(r->policy->umask);
	if (chdir(wd) < 0) {
		/* The caller's cwd may not exist inside (e.g. under the
		 * private /tmp): fall back to / as bubblewrap does.  A
		 * WorkingDirectory= the policy names must exist. */
		if (explicit_wd || chdir("/") < 0) {
			sbox_fail(&err, errno, "WorkingDirectory=%s", wd);
			goto fail;
		}
	}
	/* W3: last before exec, so that no step above can leave a stray fd. */
	if (sbox_fds_sanitize(r->launch, report_fd, &err) < 0)
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

static __attribute__((noreturn)) void child_main(const struct recipe *r)
{
	struct sbox_err err = { 0 };
	struct sbox_sync_msg m;
	struct sbox_fs fs = { .root_fd = -1 };
	int report[2], sigfd;
	pid_t worker;

	/* C1: when the launcher dies, the sandbox dies with it: init is pid 1,
	 * and its death kills every process of the pid namespace. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
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
	/* C6: sources are cloned while the host's paths are still in view;
	 * the pivot comes after every mount, and before anything the worker
	 * controls runs. */
	if (sbox_fs_open_sources(&fs, r->policy, &err) < 0 ||
	    sbox_fs_build(&fs, r->policy, &err) < 0 || sbox_fs_pivot(&fs, &err) < 0)
		goto fail;
	sbox_fs_release(&fs);

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
	_cleanup_free_ struct sbox_child *c = NULL;
	_cleanup_close_ int parent_end = -1;
	int sv[2], pidfd = -1, into_cgroup;
	uint64_t flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET;
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
	r.envp = sbox_env_build(policy, launch, r.uid, err);
	if (!r.envp)
		return -1;
	c = calloc(1, sizeof(*c));
	if (!c) {
		sbox_strv_free(r.envp);
		return sbox_fail(err, ENOMEM, "allocating the sandbox");
	}
	/* P2 */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		sbox_strv_free(r.envp);
		return sbox_fail(err, errno, "creating the sync socketpair");
	}
	parent_end = sv[0];
	r.sync_fd = sv[1];
	/* P3 */
	pid = sbox_clone(flags, -1, &pidfd, &into_cgroup);
	if (pid == 0) {
		close(parent_end);
		child_main(&r);
	}
	close(sv[1]);
	sbox_strv_free(r.envp);
	if (pid < 0) {
		int e = errno;

		if (e == EPERM || e == ENOSPC || e == EUSERS)
			return sbox_fail(err, e, "creating the sandbox's namespaces (are user namespaces disabled? see sysctl user.max_user_namespaces and kernel.unprivileged_userns_clone)");
		return sbox_fail(err, e, "creating the sandbox's namespaces");
	}
	c->pid = pid;
	c->pidfd = pidfd;
	c->sync_fd = sbox_steal_fd(parent_end);
	/* P4: parent-side steps (cgroup placement, network) go here. S1. */
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
		if (c->pidfd >= 0 && syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0) == 0)
			return 0;
		if (!c->reaped && kill(c->pid, SIGKILL) == 0)
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

	do
		r = waitpid(c->pid, status, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return sbox_fail(err, errno, "waiting for the sandbox's init (pid %d)", (int)c->pid);
	c->reaped = true;
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
		else
			kill(c->pid, SIGKILL);
		while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->sync_fd >= 0)
		close(c->sync_fd);
	free(c);
}
