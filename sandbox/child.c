/* SPDX-License-Identifier: MIT */
/*
 * The sandbox as its launcher holds it after sbox_spawn(): its events,
 * signals, end and figures, and a successor daemon's adoption of one that
 * outlived its launcher (sandbox.h).  sbox_spawn() (sandbox/launch.c)
 * builds it; nothing here knows the recipe.
 */
#include "sandbox/child.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/cgroup.h"
#include "sandbox/sync.h"

struct sbox_child *sbox_child_new(void)
{
	struct sbox_child *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->sync_fd = -1;
	c->pidfd = -1;
	c->mntns_fd = -1;
	c->net.join_fd = -1;
	c->net.keep_fd = -1;
	sbox_ipam_lease_init(&c->net.lease);
	sbox_netgroup_init(&c->net.group);
	return c;
}

struct sbox_prepared *sbox_prepared_new(void)
{
	struct sbox_prepared *p = calloc(1, sizeof(*p));

	if (p)
		sbox_gpu_grant_init(&p->grant);
	return p;
}

int sbox_prepared_event_fd(const struct sbox_prepared *p)
{
	return p->child->sync_fd;
}

size_t sbox_prepared_fds(const struct sbox_prepared *p, int *out)
{
	return p->child ? sbox_child_fds(p->child, out) : 0;
}

/* S1c from init's side: PREPARED, or its failure (S2), or its end.  After
 * PREPARED, init says nothing until the request: anything readable then
 * is its end (killed from outside) or a fault, never "still ready". */
int sbox_prepared_read(struct sbox_prepared *p, struct sbox_err *err)
{
	struct sbox_sync_msg m;
	int r = sbox_sync_recv(p->child->sync_fd, &m);

	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return p->ready ? 1 : 0;
	p->ready = false;
	if (r < 0)
		return sbox_fail(err, errno, "reading from the prepared sandbox's init");
	if (r == 0)
		return sbox_fail(err, ECONNRESET, "the prepared sandbox's init ended");
	if (m.type == SBOX_SYNC_SETUP_ERROR) {
		err->errnum = m.errnum;
		snprintf(err->msg, sizeof(err->msg), "%s", m.text);
		return -1;
	}
	if (m.type != SBOX_SYNC_PREPARED || p->announce == false)
		return sbox_fail(err, EPROTO, "the prepared sandbox's init sent message %u", m.type);
	p->ready = true;
	return 1;
}

bool sbox_prepared_ready(const struct sbox_prepared *p)
{
	return p->ready;
}

void sbox_prepared_free(struct sbox_prepared *p)
{
	if (!p)
		return;
	sbox_child_free(p->child);
	sbox_gpu_grant_free(&p->grant);
	sbox_identity_free(&p->worker);
	free(p);
}

/* Init, if it was ever cloned and is still ours to end, sent SIGKILL
 * (by its pidfd: no pid reuse race); true when it is ours to reap. */
static bool kill_init(struct sbox_child *c)
{
	if (c->reaped || c->pid <= 0)
		return false;
	if (c->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
	else if (!c->adopted)
		kill(c->pid, SIGKILL);
	return !c->adopted;
}

struct sbox_child *sbox_prepared_kill(struct sbox_prepared *p)
{
	struct sbox_child *c;

	if (!p)
		return NULL;
	c = p->child;
	p->child = NULL;
	if (c)
		kill_init(c);
	sbox_prepared_free(p);
	return c;
}

int sbox_child_event_fd(const struct sbox_child *c)
{
	return c->sync_fd;
}

int sbox_child_pidfd(const struct sbox_child *c)
{
	return c->pidfd;
}

size_t sbox_child_fds(const struct sbox_child *c, int *out)
{
	int net[] = { c->sync_fd, c->pidfd, c->mntns_fd, c->net.join_fd, c->net.lease.fd,
		      c->net.group.lock_fd, c->net.group.member_fd, c->net.group.ns_fd };
	size_t n = 0;

	_Static_assert(SBOX_ARRAY_SIZE(net) + SBOX_CG_MOUNTS_MAX + 1 <= SBOX_CHILD_FDS_MAX,
		       "SBOX_CHILD_FDS_MAX too small");
	for (size_t i = 0; i < SBOX_ARRAY_SIZE(net); i++)
		if (net[i] >= 0)
			out[n++] = net[i];
	if (c->cgroup)
		n += sbox_cgroup_fds(c->cgroup, out + n);
	return n;
}

int sbox_child_take_mount_ns(struct sbox_child *c)
{
	return sbox_steal_fd(c->mntns_fd);
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
	case SBOX_SYNC_EMPTIED:
		ev->kind = SBOX_EV_EMPTIED;
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
		/* Every process of the cgroup too, at once (v2 cgroup.kill,
		 * v1 freeze + kill), rather than one by one as the pid
		 * namespace goes down. */
		if (c->cgroup)
			sbox_cgroup_kill(c->cgroup, NULL);
		if ((c->pidfd >= 0 && syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0) == 0) ||
		    /* An adopted init's pid may be another process's by now. */
		    (!c->reaped && !c->adopted && kill(c->pid, SIGKILL) == 0)) {
			c->killed = true;
			return 0;
		}
		return sbox_fail(err, errno, "killing the sandbox (pid %d)", (int)c->pid);
	}
	if (c->placed) {
		if (syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0) < 0)
			return sbox_fail(err, errno, "sending signal %d to the placed process (pid %d)", sig,
					 (int)c->pid);
		return 0;
	}
	if (sbox_sync_send(c->sync_fd, SBOX_SYNC_SIGNAL, 0, sig, NULL) < 0)
		return sbox_fail(err, errno, "forwarding signal %d to the sandbox", sig);
	return 0;
}

int sbox_child_run(struct sbox_child *c, struct sbox_err *err)
{
	if (c->placed)
		return 0;
	if (sbox_sync_send(c->sync_fd, SBOX_SYNC_RUN, 0, 0, NULL) < 0)
		return sbox_fail(err, errno, "letting the sandbox's worker start (sync S1d)");
	return 0;
}

/* wait4: init's rusage holds the worker's (init waited for it), the
 * figures of a sandbox without a cgroup.  A system call and no more: a
 * teardown thread runs it for an end handed over at EMPTIED. */
static pid_t wait_init(struct sbox_child *c, int *status)
{
	pid_t r;

	do
		r = wait4(c->pid, status, 0, &c->ru);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return r;
	c->reaped = true;
	clock_gettime(CLOCK_MONOTONIC, &c->ended);
	return r;
}

int sbox_child_reap(struct sbox_child *c, int *status, struct sbox_err *err)
{
	/* An adopted init was reparented: whoever reaps it is not us.  Its
	 * pidfd said it ended; the events say how, or our own SIGKILL does
	 * (sboxd's: a timeout, a client's signal, a client gone). */
	if (c->adopted) {
		*status = c->killed ? SIGKILL : -1;
		c->reaped = true;
		return 0;
	}
	if (wait_init(c, status) < 0)
		return sbox_fail(err, errno, "waiting for the sandbox's init (pid %d)", (int)c->pid);
	/* Init's end is the sandbox's (the pid ns dies with it): its veth
	 * address and group membership go back at once. */
	sbox_net_release(&c->net);
	return 0;
}

/* Init, if it was ever cloned and is still ours, killed and reaped. */
static void kill_and_reap(struct sbox_child *c)
{
	int st;

	if (!kill_init(c) || c->init_left)
		return;
	while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
		;
}

void sbox_child_free(struct sbox_child *c)
{
	if (!c)
		return;
	kill_and_reap(c);
	sbox_closep(&c->mntns_fd);
	/* Init's end took the pid namespace down; whatever is left in the
	 * cgroup is killed, waited for (bounded) and the cgroup removed.  A
	 * failure leaves it to the guard or the sweep. */
	sbox_cgroup_destroy(c->cgroup, NULL);
	sbox_net_release(&c->net);
	sbox_net_drop_kept(&c->net);
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->sync_fd >= 0)
		close(c->sync_fd);
	free(c);
}

bool sbox_child_empty(const struct sbox_child *c)
{
	return sbox_cgroup_empty(c->cgroup);
}

bool sbox_child_end_at_emptied(struct sbox_child *c)
{
	/* Not an adopted init (not ours to reap), nor a placed process (no
	 * init), nor a sandbox without a cgroup (its figures are init's
	 * rusage, known once it is reaped), nor one with host-side network
	 * state (a veth's address, a group's membership), which goes back
	 * at init's reap, before the end is told, so that a relaunch finds
	 * its address free. */
	if (c->adopted || c->placed || c->reaped || c->pid <= 0 || !c->cgroup ||
	    c->net.mode == SBOX_NET_VETH || c->net.mode == SBOX_NET_GROUP)
		return false;
	c->end_reaps_init = true;
	return true;
}

/* Past EMPTIED init does nothing but exit.  What could still hold its
 * exit (a freeze or a stop from outside, a process of its namespace that
 * is no child of its and can't die) must not hold a teardown thread for
 * good: SIGKILL (its status is not needed: EXITED said the worker's),
 * then INIT_EXIT_MSEC at most (by its pidfd; without one, a kernel before
 * 5.3, wait4 waits).  Not reaped then: left to the kernel's reparenting
 * at the launcher's own exit (sbox_child_free() does not wait for it). */
#define INIT_EXIT_MSEC 5000

static int reap_exiting_init(struct sbox_child *c, struct sbox_err *err)
{
	struct pollfd p = { .fd = c->pidfd, .events = POLLIN };
	int st, r = 0;

	if (c->pidfd >= 0) {
		syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
		do
			r = poll(&p, 1, INIT_EXIT_MSEC);
		while (r < 0 && errno == EINTR);
		if (r != 1) {
			c->init_left = true;
			return sbox_fail(err, ETIMEDOUT, "the sandbox's init (pid %d) did not exit within %d ms of its end: left unreaped",
					 (int)c->pid, INIT_EXIT_MSEC);
		}
	}
	if (wait_init(c, &st) < 0)
		return sbox_fail(err, errno, "waiting for the sandbox's init (pid %d)", (int)c->pid);
	return 0;
}

int sbox_child_end(struct sbox_child *c, struct sbox_err *err)
{
	struct sbox_err reap_err = { 0 };
	int r, reap_r = 0;

	/* Handed over at EMPTIED: init exits on its own, nothing else of
	 * the sandbox left (S4b); reaped before its cgroup goes and its netns
	 * is judged.  Its mount namespace stays for the launcher to let go
	 * of (the last close may wait for a FUSE server). */
	if (c->end_reaps_init) {
		if (!c->reaped)
			reap_r = reap_exiting_init(c, &reap_err);
	} else {
		/* The mount namespace first (where the caller did not take
		 * it): a tmpfs of the sandbox is charged to its cgroup. */
		sbox_closep(&c->mntns_fd);
	}
	r = sbox_cgroup_end(c->cgroup, err);
	if (reap_r < 0 && r == 0) {
		*err = reap_err;
		r = -1;
	}

	/* A netns is judged only once nothing of the sandbox is left that
	 * could still change it: init reaped (the pid namespace gone with
	 * it) and the cgroup emptied. */
	if (c->net.keep_fd < 0)
		return r;
	if (r < 0 || !c->reaped || c->adopted) {
		c->net.recycle_ok = false;
		return r;
	}
	return sbox_net_judge_kept(&c->net, err);
}

int sbox_child_recycled_netns(struct sbox_child *c, uint64_t *owner)
{
	return sbox_net_take_kept(&c->net, owner);
}

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

const char *sbox_child_cgroup_path(const struct sbox_child *c)
{
	return c->cgroup ? sbox_cgroup_path(c->cgroup) : NULL;
}

/* Recovery: a successor daemon rebuilds the sandboxes its predecessor
 * left running (sandbox.h). */
int sbox_child_adopt(pid_t pid, int pidfd, int event_fd, struct sbox_child **out,
		     struct sbox_err *err)
{
	struct sbox_child *c;

	*out = NULL;
	if (pidfd < 0 || event_fd < 0)
		return sbox_fail(err, EBADF, "adopting sandbox %d: no pidfd or event channel", (int)pid);
	/* Its network's host side, where it has one, comes back with the
	 * keeper's record: sbox_child_adopt_lease(), _adopt_group(). */
	c = sbox_child_new();
	if (!c)
		return sbox_fail(err, ENOMEM, "adopting sandbox %d", (int)pid);
	c->pid = pid;
	c->pidfd = pidfd;
	c->sync_fd = event_fd;
	c->adopted = true;
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

int sbox_child_adopt_end(const char *cgroup_path, struct sbox_child **out, struct sbox_err *err)
{
	struct sbox_child *c = sbox_child_new();

	*out = NULL;
	if (!c)
		return sbox_fail(err, ENOMEM, "adopting the end of the sandbox of %s", cgroup_path);
	/* Nothing to reap or signal: init was reaped by the predecessor. */
	c->adopted = true;
	c->reaped = true;
	if (sbox_cgroup_reopen(cgroup_path, &c->cgroup, err) < 0) {
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

int sbox_child_lease(const struct sbox_child *c, uint32_t *block)
{
	*block = c->net.lease.block;
	return c->net.lease.fd;
}

void sbox_child_adopt_lease(struct sbox_child *c, int fd, uint32_t block,
			    struct sbox_net_reaper *reaper)
{
	sbox_net_adopt_veth(&c->net, fd, block);
	c->net.reaper = reaper;
}

const char *sbox_child_group(const struct sbox_child *c, uid_t *owner, uid_t *worker)
{
	if (c->net.mode != SBOX_NET_GROUP || !c->net.group.name[0])
		return NULL;
	*owner = c->net.group.owner;
	*worker = c->net.group.worker;
	return c->net.group.name;
}

int sbox_child_adopt_group(struct sbox_child *c, const char *name, uid_t owner, uid_t worker,
			   struct sbox_err *err)
{
	return sbox_net_adopt_group(&c->net, name, owner, worker, err);
}

void sbox_child_release(struct sbox_child *c)
{
	if (!c)
		return;
	/* Not sbox_net_release() nor sbox_cgroup_destroy(): the veth, the
	 * address and the cgroup are the running sandbox's; only our
	 * handles on them go. */
	sbox_cgroup_release(c->cgroup);
	sbox_net_drop_kept(&c->net);
	sbox_closep(&c->mntns_fd);
	if (c->net.join_fd >= 0)
		close(c->net.join_fd);
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->sync_fd >= 0)
		close(c->sync_fd);
	free(c);
}
