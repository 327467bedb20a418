/* SPDX-License-Identifier: MIT */
/*
 * Zygotes, the sandbox's side (sandbox/zygote.h; the argument is
 * docs/security.md's "Zygotes").  The template T forks each worker W
 * itself, so the launch recipe's steps run here in W, on itself, in the
 * recipe's order: placement (P1d, P1g, P1h, P4), the namespaces (P3), the
 * hostname and lo (C5, C5b), the filesystem (C6), the fds (C6c, W0), least
 * privilege (W1b), the filter last (W3b).  What is left to T is one small
 * init per worker, made by a helper forked before T imported anything.
 */
#include "sandbox/zygote.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/site.h"
#include "sandbox/caps.h"
#include "sandbox/child.h"
#include "sandbox/cgroup.h"
#include "sandbox/devices.h"
#include "sandbox/fsutil.h"
#include "sandbox/gpu.h"
#include "sandbox/gpu_grant.h"
#include "sandbox/mounts.h"
#include "sandbox/network.h"
#include "sandbox/procstate.h"
#include "sandbox/rlimits.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp.h"
#include "sandbox/spawn.h"
#include "sandbox/sync.h"

/* Read once, in the template before its user namespace exists: inside
 * it, root's files show as the overflow uid and a site configuration
 * owned by root would be refused. */
struct sbox_zygote_site {
	struct sbox_site site;
	struct sbox_gpu_inventory inv;      /* what sboxd's GPU positions index */
};

struct sbox_zygote_grant {
	struct sbox_gpu_choice choice;      /* direct: the GPUs chosen here */
	unsigned *idx;
	struct sbox_gpu_selection sel;
	struct sbox_gpu_grant grant;
	struct sbox_device_set devices;
	/* A device cgroup is in force (sboxd's, or made here as root): only
	 * then may a read-only bind keep its device nodes. */
	bool devices_enforced;
	/* What the worker's /sys/fs/cgroup shows: its own cgroup's
	 * hierarchies (none without one: an empty directory). */
	struct sbox_cgview cgview;
};

static struct sbox_zygote_grant *grant_new(struct sbox_err *err)
{
	struct sbox_zygote_grant *g = calloc(1, sizeof(*g));

	if (!g) {
		sbox_fail(err, ENOMEM, "allocating a zygote worker's grant");
		return NULL;
	}
	sbox_gpu_grant_init(&g->grant);
	sbox_device_set_init(&g->devices);
	return g;
}

void sbox_zygote_grant_free(struct sbox_zygote_grant *g)
{
	if (!g)
		return;
	sbox_device_set_free(&g->devices);
	sbox_gpu_grant_free(&g->grant);
	sbox_gpu_choice_free(&g->choice);
	free(g->idx);
	free(g);
}

/* The init of one worker's pid namespace: pid 1, so that W can be pid 2
 * and its orphans have a reaper.  It holds nothing: no fd, no capability
 * (over the template's user namespace, where it was born with all of
 * them), not dumpable, so a worker can't ptrace it -- it lives in the
 * template's mount and network namespaces, the host's, and a worker
 * driving it would be outside its own.  The template enters its pid
 * namespace first (setns on a non-dumpable process would need
 * CAP_SYS_PTRACE over the host's user namespace, which an unprivileged
 * template lacks), so init waits for go's EOF, hardens, then says so
 * ("h" on ack): both before prefork returns, before the worker exists.
 * Then it only reaps, and dies with the helper or when the template
 * kills it after reaping W. */
static __attribute__((noreturn)) void init_main(int go, int ack)
{
	sigset_t all;
	cap_t none = cap_init();
	char c;

	while (read(go, &c, 1) > 0)
		;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 ||
	    !none || cap_set_proc(none) < 0 || write(ack, "h", 1) != 1 ||
	    sbox_fds_close_from(0) < 0)
		_exit(125);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		siginfo_t si;

		if (sigwaitinfo(&all, &si) == SIGCHLD)
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
	}
}

static int send_fd(int sock, int fd)
{
	char byte = 'i';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	memset(&u, 0, sizeof(u));
	if (fd >= 0) {
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), &fd, sizeof(int));
	} else {
		byte = 'e';
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/* One init: cloned, its pidfd to the template, which enters its pid
 * namespace and says "j"; then init hardens (go closed, "h" on ack) and
 * the template hears "r" ("e": init failed to harden and is gone).  A
 * template that goes away leaves init to harden anyway and die with the
 * helper. */
static void make_init(int sock)
{
	int go[2] = { -1, -1 }, ack[2] = { -1, -1 }, pidfd = -1, into;
	bool hardened = false;
	pid_t pid;
	char c;

	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(ack, O_CLOEXEC) < 0) {
		for (int i = 0; i < 2; i++)
			if (go[i] >= 0)
				close(go[i]);
		send_fd(sock, -1);
		return;
	}
	pid = sbox_clone(CLONE_NEWPID, -1, &pidfd, &into);
	if (pid == 0) {
		close(go[1]);
		close(ack[0]);
		init_main(go[0], ack[1]);
	}
	close(go[0]);
	close(ack[1]);
	if (send_fd(sock, pid > 0 ? pidfd : -1) == 0 && pid > 0)
		(void)!recv(sock, &c, 1, 0);
	close(go[1]);
	while (read(ack[0], &c, 1) > 0)
		hardened = c == 'h';
	close(ack[0]);
	if (pid > 0)
		send(sock, hardened ? "r" : "e", 1, MSG_NOSIGNAL);
	if (pidfd >= 0)
		close(pidfd);
}

/* The helper: pid 1 of the template's namespace for children, so that a
 * process the template forks outside prefork has a live init too; orphans
 * are reaped by the kernel (SIGCHLD ignored).  One init per request, a
 * clone of this small process, never of the template's image. */
static __attribute__((noreturn)) void helper_main(int sock)
{
	int keep = sock;
	char req;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		_exit(125);
	signal(SIGCHLD, SIG_IGN);
	/* Nothing of the template's: only the request channel, on 3. */
	if (dup2(keep, 3) < 0 || sbox_fds_close_from(4) < 0)
		_exit(125);
	for (int i = 0; i < 3; i++)
		close(i);
	sock = 3;
	while (recv(sock, &req, 1, 0) == 1)
		make_init(sock);
	_exit(0);
}

int sbox_zygote_helper_ready(int sock, struct sbox_err *err)
{
	char c = 0;

	errno = 0;
	if (send(sock, "j", 1, MSG_NOSIGNAL) != 1 || recv(sock, &c, 1, 0) != 1)
		return sbox_fail(err, errno ? errno : EPIPE, "waiting for the worker's init to harden itself");
	if (c != 'r')
		return sbox_fail(err, EPERM, "the worker's init could not make itself non-dumpable and drop its capabilities");
	return 0;
}

int sbox_zygote_helper_start(int *sock, pid_t *pid, struct sbox_err *err)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return sbox_fail(err, errno, "creating the zygote helper's channel");
	*pid = fork();
	if (*pid < 0) {
		int e = errno;

		close(sv[0]);
		close(sv[1]);
		return sbox_fail(err, e, "forking the zygote helper");
	}
	if (*pid == 0) {
		close(sv[0]);
		helper_main(sv[1]);
	}
	close(sv[1]);
	*sock = sv[0];
	return 0;
}

int sbox_zygote_helper_init(int sock, int *pidfd, struct sbox_err *err)
{
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;

	*pidfd = -1;
	if (send(sock, "i", 1, MSG_NOSIGNAL) != 1)
		return sbox_fail(err, errno, "asking the zygote helper for an init");
	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1)
		return sbox_fail(err, errno ? errno : EPIPE, "reading the zygote helper's init");
	c = CMSG_FIRSTHDR(&mh);
	if (byte != 'i' || !c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		return sbox_fail(err, EAGAIN, "the zygote helper could not make an init (clone of a new pid namespace failed)");
	memcpy(pidfd, CMSG_DATA(c), sizeof(int));
	return 0;
}

/* Direct placement, P1d's and P1g/P1h's steps on the calling worker: the
 * GPUs the policy names (or the first gpu_count) granted and every node
 * checked, the device set built; the cgroup with its limits, the device
 * set in force on it, then the caller moved in (P4 by pid: nothing of W
 * runs after this unlimited). */
static int direct_gpus(struct sbox_zygote_grant *g, const struct sbox_policy *p,
		       const struct sbox_site *site, unsigned gpu_count, struct sbox_err *err)
{
	const struct sbox_gpu_selection *sel = NULL;

	if (p->devices.gpus.n > 0 &&
	    sbox_gpu_choose_named(&g->choice, p, site, &sel, err) < 0)
		return -1;
	if (p->devices.gpus.n == 0 && gpu_count > 0 &&
	    sbox_gpu_choose_first(&g->choice, gpu_count, site, &sel, err) < 0)
		return -1;
	if (sbox_gpu_choice_check_privilege(&g->choice, err) < 0 ||
	    sbox_gpu_grant_prepare(&g->grant, sel, p, site, err) < 0)
		return -1;
	return sbox_device_set_build(&g->devices, p, &g->grant, err);
}

int sbox_zygote_site_load(struct sbox_zygote_site **out, const char *path, struct sbox_err *err)
{
	struct sbox_zygote_site *zs = calloc(1, sizeof(*zs));

	*out = NULL;
	if (!zs)
		return sbox_fail(err, ENOMEM, "allocating the site configuration");
	sbox_site_init(&zs->site);
	if (sbox_site_load(&zs->site, path ? path : SBOX_SITE_DEFAULT_PATH, path != NULL, err) < 0 ||
	    sbox_gpu_inventory_load(&zs->inv, &zs->site, err) < 0) {
		sbox_zygote_site_free(zs);
		return -1;
	}
	*out = zs;
	return 0;
}

void sbox_zygote_site_free(struct sbox_zygote_site *zs)
{
	if (!zs)
		return;
	sbox_gpu_inventory_free(&zs->inv);
	sbox_site_free(&zs->site);
	free(zs);
}

/* This process's pid in the outermost pid namespace /proc shows (the
 * host's: W has not mounted its own yet), from NSpid. */
static pid_t host_pid(struct sbox_err *err)
{
	char buf[4096];
	const char *at;
	long pid;

	if (sbox_read_text("/proc/self/status", buf, sizeof(buf)) < 0)
		return sbox_fail(err, errno, "reading /proc/self/status");
	at = strstr(buf, "\nNSpid:");
	if (!at || sscanf(at + 7, "%ld", &pid) != 1 || pid <= 0)
		return sbox_fail(err, EINVAL, "no NSpid in /proc/self/status");
	return (pid_t)pid;
}

int sbox_zygote_place_direct(struct sbox_zygote_grant **out, const struct sbox_policy *p,
			     const struct sbox_zygote_site *zs, unsigned gpu_count, char *cgroup_out,
			     size_t cgroup_len, struct sbox_err *err)
{
	struct sbox_zygote_grant *g = grant_new(err);
	struct sbox_cgroup *cg = NULL;
	pid_t self;
	int rc = -1;

	*out = NULL;
	if (cgroup_len)
		cgroup_out[0] = '\0';
	if (!g)
		return -1;
	if ((self = host_pid(err)) < 0 ||
	    sbox_devices_check_privilege(p, geteuid(), err) < 0 ||
	    direct_gpus(g, p, &zs->site, gpu_count, err) < 0 ||
	    sbox_cgroup_for_sandbox_as(p, self, &cg, err) < 0)
		goto out;
	if (cg) {
		snprintf(cgroup_out, cgroup_len, "%s", sbox_cgroup_path(cg));
		g->cgview = *sbox_cgroup_view(cg);
	}
	if (sbox_devices_enforce_cgroup(&g->devices, p, cg, geteuid(), err) < 0 ||
	    (cg && sbox_cgroup_attach(cg, getpid(), err) < 0))
		goto out;
	g->devices_enforced = geteuid() == 0 && cg && sbox_cgroup_devices_fd(cg) >= 0;
	*out = sbox_steal_ptr(g);
	rc = 0;
out:
	/* The template removes the cgroup by its path once W is reaped. */
	sbox_cgroup_release(cg);
	sbox_zygote_grant_free(g);
	return rc;
}

int sbox_zygote_grant_leased(struct sbox_zygote_grant **out, const struct sbox_policy *p,
			     const struct sbox_zygote_site *zs, const unsigned *gpus, size_t n_gpus,
			     struct sbox_err *err)
{
	struct sbox_zygote_grant *g = grant_new(err);
	const struct sbox_gpu_selection *sel = NULL;

	*out = NULL;
	if (!g)
		return -1;
	/* sboxd is root and put its device program on the cgroup, which it
	 * made in every hierarchy sbox uses: the worker's view is planned
	 * from the same probe. */
	g->devices_enforced = true;
	if (sbox_cgroup_host_view(&g->cgview, err) < 0)
		goto fail;
	if (n_gpus > 0) {
		g->idx = calloc(n_gpus, sizeof(*g->idx));
		if (!g->idx) {
			sbox_zygote_grant_free(g);
			return sbox_fail(err, ENOMEM, "allocating the leased GPUs");
		}
		for (size_t i = 0; i < n_gpus; i++) {
			if (gpus[i] >= zs->inv.n) {
				sbox_fail(err, ENODEV, "GPU %u that sboxd leased is not in the template's inventory (%zu GPUs, %s)",
					  gpus[i], zs->inv.n, zs->site.path ? zs->site.path : "no site configuration");
				goto fail;
			}
			g->idx[i] = gpus[i];
		}
		g->sel = (struct sbox_gpu_selection){ .inv = &zs->inv, .idx = g->idx, .n = n_gpus };
		sel = &g->sel;
	}
	if (sbox_gpu_grant_prepare(&g->grant, sel, p, &zs->site, err) < 0 ||
	    sbox_device_set_build(&g->devices, p, &g->grant, err) < 0)
		goto fail;
	*out = g;
	return 0;
fail:
	sbox_zygote_grant_free(g);
	return -1;
}

int sbox_zygote_env_append(char *const *env, char *buf, size_t len, struct sbox_err *err)
{
	size_t at = len ? strnlen(buf, len) : 0;

	for (size_t i = 0; env && env[i]; i++) {
		int n = snprintf(buf + at, len - at, "%s\n", env[i]);

		if (n < 0 || (size_t)n >= len - at)
			return sbox_fail(err, ENOBUFS, "the worker's environment lines need more than %zu bytes",
					 len);
		at += (size_t)n;
	}
	return 0;
}

int sbox_zygote_grant_env(const struct sbox_zygote_grant *g, char *buf, size_t len,
			  struct sbox_err *err)
{
	return sbox_zygote_env_append(g ? g->grant.env : NULL, buf, len, err);
}

/* W1 and W2 as a launched worker has them: a session of its own, so that
 * it has no controlling terminal (NewSession=, by default: the template's
 * /dev/tty is the caller's terminal, and /dev/tty is in every sandbox's
 * /dev), and the policy's umask, not the template's. */
static int z_session_and_umask(const struct sbox_policy *p, struct sbox_err *err)
{
	if (p->new_session && setsid() < 0)
		return sbox_fail(err, errno, "starting the worker's own session");
	umask(p->umask);
	return 0;
}

/* P3's namespaces, made by W for itself; after the placement, so that the
 * cgroup namespace's root is W's own cgroup (C4). */
static int z_namespaces(struct sbox_err *err)
{
	if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP) < 0)
		return sbox_fail(err, errno, "creating the worker's mount, network, ipc, uts and cgroup namespaces");
	return 0;
}

/* C5 and C5b. */
static int z_host_and_lo(const struct sbox_policy *p, struct sbox_err *err)
{
	const char *h = sbox_policy_hostname(p);

	if (sethostname(h, strlen(h)) < 0)
		return sbox_fail(err, errno, "setting the hostname to '%s'", h);
	return sbox_net_loopback_up(err);
}

/* C6, as init does it: only the grant's devices in /dev, /run hidden,
 * the worker's own cgroup at /sys/fs/cgroup (in the cgroup namespace
 * z_namespaces made after the placement). */
static int z_filesystem(const struct sbox_policy *p, const struct sbox_zygote_grant *g,
			struct sbox_err *err)
{
	struct sbox_fs fs = {
		.root_fd = -1,
		.grant = &g->grant, .devices = &g->devices,
		.devices_enforced = g->devices_enforced,
		.cgview = &g->cgview,
		.worker_owned = true, .worker_uid = getuid(), .worker_gid = getgid(),
		.caller = { .uid = getuid(), .privileged = getuid() == 0 },
		.console_fd = -1,
	};
	int rc = -1;

	if (sbox_fs_open_sources(&fs, p, err) >= 0 && sbox_fs_build(&fs, p, err) >= 0 &&
	    sbox_fs_pivot(&fs, err) >= 0)
		rc = 0;
	sbox_fs_release(&fs);
	return rc;
}

/* C6c and W0: nothing of the template's but what the caller keeps. */
static int z_close_fds(const int *keep, size_t n_keep, struct sbox_err *err)
{
	struct sbox_launch l = { .stdio = { 0, 1, 2 }, .pass_fds = keep, .n_pass_fds = n_keep };

	return sbox_fds_close_launcher(&l, NULL, 0, err);
}

/* W1b and W3b, in the recipe's order.  No change of ids: a zygote worker
 * is its template's user. */
static int z_least_privilege(const struct sbox_policy *p, const struct sbox_seccomp *f,
			     struct sbox_err *err)
{
	const struct sbox_security *sec = &p->sec;

	if (sbox_rlimits_apply(sec, false, err) < 0 ||
	    (!sec->no_new_privs && sbox_seccomp_load(f, err) < 0) ||
	    sbox_caps_drop(sec, false, err) < 0 ||
	    (sec->no_new_privs && sbox_caps_no_new_privs(err) < 0) ||
	    (sec->no_new_privs && sbox_seccomp_load(f, err) < 0))
		return -1;
	return 0;
}

void sbox_zygote_warm(const struct sbox_policy *p)
{
	struct sbox_seccomp filter = { 0 };
	struct sbox_err e = { 0 };

	/* A failure here is the worker's to report, with its own policy. */
	if (sbox_seccomp_compile(&filter, &p->sec, &e) == 0)
		sbox_seccomp_free(&filter);
}

int sbox_zygote_specialise(const struct sbox_policy *p, const struct sbox_zygote_grant *g,
			   const int *keep, size_t n_keep, struct sbox_err *err)
{
	struct sbox_seccomp filter = { 0 };
	int rc = -1;

	if (p->sec.user || p->sec.group || p->sec.supp_groups.n > 0)
		return sbox_fail(err, EINVAL, "User=, Group= and SupplementaryGroups= are not for zygote workers: a worker is its template's user");
	if (p->net.mode != SBOX_NET_NONE)
		return sbox_fail(err, EINVAL, "PrivateNetwork=%s: a zygote worker has a network namespace with lo only (PrivateNetwork=none)",
				 p->net.mode == SBOX_NET_HOST ? "host" : "veth/group");
	/* Compiled while libseccomp may still allocate freely, before any
	 * step that could leave the worker half-built. */
	if (sbox_seccomp_compile(&filter, &p->sec, err) < 0)
		return -1;
	if (z_session_and_umask(p, err) >= 0 && z_namespaces(err) >= 0 &&
	    z_host_and_lo(p, err) >= 0 && z_filesystem(p, g, err) >= 0 &&
	    z_close_fds(keep, n_keep, err) >= 0 && z_least_privilege(p, &filter, err) >= 0)
		rc = 0;
	sbox_seccomp_free(&filter);
	return rc;
}

int sbox_zygote_remove_cgroup(const char *path, struct sbox_err *err)
{
	struct sbox_cgroup *cg = NULL;

	if (!path || !path[0])
		return 0;
	if (sbox_cgroup_reopen(path, &cg, err) < 0)
		return errno == ENOENT ? 0 : -1;
	return sbox_cgroup_destroy(cg, err);
}

/* The pid a pidfd refers to, from its fdinfo; -1 once the process is
 * gone (the kernel writes -1 then) or on error. */
static pid_t pidfd_pid(int pidfd)
{
	char path[64], buf[1024];
	const char *at;
	long pid;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	if (sbox_read_text(path, buf, sizeof(buf)) < 0)
		return -1;
	at = strstr(buf, "\nPid:");
	if (!at || sscanf(at + 5, "%ld", &pid) != 1 || pid <= 0)
		return -1;
	return (pid_t)pid;
}

/* Whether pid lives in a sandbox's cgroup: a component of its cgroup path
 * (any hierarchy) named "sbox-...", as every sandbox's cgroup is
 * (sbox_cgroup_for_sandbox), placed or launched. */
static int in_a_sandbox(pid_t pid, bool *inside, struct sbox_err *err)
{
	char path[64], buf[8192];

	*inside = false;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (sbox_read_text(path, buf, sizeof(buf)) < 0)
		return sbox_fail(err, errno, "reading %s", path);
	*inside = strstr(buf, "/sbox-") != NULL;
	return 0;
}

/* Whether pid's user and group ids, all four of each (real, effective,
 * saved, file system), are still uid and gid: those the sender had when it
 * connected (SO_PEERCRED), which sboxd judged it by.  A sender that has
 * since exec'd a setuid program (its socket kept by a child of its) would
 * otherwise have that program's process placed in its own limits and
 * device rules, and signalled by sboxd at its word. */
static int same_ids(pid_t pid, uid_t uid, gid_t gid, bool *same, struct sbox_err *err)
{
	char path[64], buf[4096];
	const char *u, *g;
	unsigned long v[4];

	*same = false;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (sbox_read_text(path, buf, sizeof(buf)) < 0)
		return sbox_fail(err, errno, "reading %s", path);
	u = strstr(buf, "\nUid:");
	g = strstr(buf, "\nGid:");
	if (!u || !g)
		return sbox_fail(err, EINVAL, "%s: no Uid: or Gid: line", path);
	if (sscanf(u + 5, "%lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) != 4)
		return sbox_fail(err, EINVAL, "%s: its Uid: line", path);
	for (int i = 0; i < 4; i++)
		if (v[i] != (unsigned long)uid)
			return 0;
	if (sscanf(g + 5, "%lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) != 4)
		return sbox_fail(err, EINVAL, "%s: its Gid: line", path);
	for (int i = 0; i < 4; i++)
		if (v[i] != (unsigned long)gid)
			return 0;
	*same = true;
	return 0;
}

static int alive(int pidfd)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 0;
}

/* The placed process's event channel: STARTED, then the end of events,
 * as a launched sandbox's init would say once its worker runs. */
static int started_channel(struct sbox_child *c, struct sbox_err *err)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return sbox_fail(err, errno, "creating the placed process's event channel");
	if (sbox_sync_send(sv[1], SBOX_SYNC_STARTED, 0, c->pid, NULL) < 0) {
		int e = errno;

		close(sv[0]);
		close(sv[1]);
		return sbox_fail(err, e, "writing the placed process's event channel");
	}
	close(sv[1]);
	c->sync_fd = sv[0];
	return 0;
}

/* P1d, P1g, P1h and P4 for a process that exists already. */
static int place_into_cgroup(struct sbox_child *c, pid_t pid, const struct sbox_policy *p,
			     const struct sbox_launch *l, struct sbox_err *err)
{
	struct sbox_gpu_grant grant;
	struct sbox_device_set devices;
	int rc = -1;

	sbox_gpu_grant_init(&grant);
	sbox_device_set_init(&devices);
	if (sbox_gpu_grant_prepare(&grant, l->gpus, p, l->site, err) >= 0 &&
	    sbox_device_set_build(&devices, p, &grant, err) >= 0 &&
	    sbox_cgroup_for_placed(p, &c->cgroup, err) >= 0 &&
	    sbox_devices_enforce_cgroup(&devices, p, c->cgroup, geteuid(), err) >= 0) {
		/* The move is by pid number (cgroup.procs has no pidfd form):
		 * the making of the cgroup, its limits and its device rules
		 * took milliseconds, in which a peer that ended could have
		 * left its number to another process.  Checked again here,
		 * the window left is this call's; the check after the move
		 * (sbox_zygote_place_peer) says whether it was hit. */
		if (!c->cgroup)
			sbox_fail(err, ENOTSUP, "placing pid %d: no cgroup for it on this host", (int)pid);
		else if (!alive(c->pidfd))
			sbox_fail(err, ESRCH, "placing pid %d: it ended while its cgroup was made", (int)pid);
		else if (sbox_cgroup_attach(c->cgroup, pid, err) >= 0)
			rc = 0;
	}
	sbox_device_set_free(&devices);
	sbox_gpu_grant_free(&grant);
	return rc;
}

int sbox_zygote_place_peer(const struct sbox_policy *p, const struct sbox_launch *l,
			   int peer_pidfd, struct sbox_child **out, struct sbox_err *err)
{
	struct sbox_child *c;
	bool inside, same;
	pid_t pid;

	*out = NULL;
	c = sbox_child_new();
	if (!c)
		return sbox_fail(err, ENOMEM, "allocating the placed process");
	/* Not sboxd's child: its end is seen on the pidfd, never reaped.
	 * c->pid stays 0 until the process is in the cgroup: a refusal must
	 * never kill the sender (sbox_child_free kills a sandbox's pid). */
	c->adopted = true;
	c->placed = true;
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	pid = pidfd_pid(peer_pidfd);
	c->pidfd = fcntl(peer_pidfd, F_DUPFD_CLOEXEC, 3);
	if (pid <= 0 || c->pidfd < 0) {
		sbox_fail(err, ESRCH, "placing the sender: it is gone");
		goto fail;
	}
	if (in_a_sandbox(pid, &inside, err) < 0)
		goto fail;
	if (inside) {
		sbox_fail(err, EPERM, "placing pid %d: it is in a sandbox already (a placed or launched one); a process is placed once, before it runs anything",
			  (int)pid);
		goto fail;
	}
	if (same_ids(pid, l->caller_uid, l->caller_gid, &same, err) < 0)
		goto fail;
	if (!same) {
		sbox_fail(err, EPERM, "placing pid %d: its user or group ids are not those it connected with (uid %u, gid %u)",
			  (int)pid, (unsigned)l->caller_uid, (unsigned)l->caller_gid);
		goto fail;
	}
	if (place_into_cgroup(c, pid, p, l, err) < 0)
		goto fail;
	/* The pid was read from the pidfd before the move: a peer that died
	 * since may have left its number to another process, moved in its
	 * place, which freeing the cgroup would kill; a live pidfd proves
	 * the number was still the peer's.  When it is not, an empty cgroup
	 * (the usual case: a zombie "moves" without an error and is gone)
	 * is removed now: the sweep spares a live sboxd's cgroups, and a
	 * user sending PLACE and exiting, again and again, would pile them
	 * up.  One holding a process is left to it, never killed. */
	if (!alive(c->pidfd)) {
		sbox_fail(err, ESRCH, "placing pid %d: it ended while it was placed", (int)pid);
		if (sbox_cgroup_empty(c->cgroup))
			sbox_cgroup_destroy(c->cgroup, NULL);
		else
			sbox_cgroup_release(c->cgroup);
		c->cgroup = NULL;
		goto fail;
	}
	/* And its ids again: a setuid exec during the move keeps the pidfd. */
	if (same_ids(pid, l->caller_uid, l->caller_gid, &same, err) < 0 || !same) {
		if (!err->msg[0])
			sbox_fail(err, EPERM, "placing pid %d: its user or group ids changed while it was placed",
				  (int)pid);
		sbox_cgroup_release(c->cgroup);
		c->cgroup = NULL;
		goto fail;
	}
	c->pid = pid;
	if (started_channel(c, err) < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	sbox_child_free(c);
	return -1;
}

void sbox_zygote_mark_placed(struct sbox_child *c)
{
	c->placed = true;
}
