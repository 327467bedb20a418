/* SPDX-License-Identifier: MIT */
/*
 * Recovery: sboxd may die (SIGKILL, a crash, an upgrade) with jobs running,
 * and its successor must find them all, with their GPU leases, and lose
 * none (docs/protocol.md, "Recovery").
 *
 * A sandbox's init reports to its launcher over a socketpair and dies when
 * that channel closes.  So the channel must outlive sboxd: sboxd hands each
 * job's record, its event channel and its pidfd to a keeper, a tiny process
 * it forks once (double fork: the keeper is nobody's child to reap, and
 * survives sboxd) that only holds them.  Sandboxes are launched without a
 * parent-death signal (sbox_launch.survive_launcher); while sboxd is away,
 * what init says (started, exited with status S) waits in the channel.  A
 * new sboxd connects to the keeper's socket in its state directory, takes
 * every record back, re-adopts each sandbox by its pidfd and channel
 * (sbox_child_adopt), with its cgroup and its veth's address lease, and
 * holds their GPUs again; launches queued for a GPU are kept as their
 * request and fds, and queued again in order.  A job whose client was
 * connected (not --detach) waits ReattachTimeoutSec= for that client to
 * come back (sboxrun reconnects and waits again), and is killed if it
 * doesn't, as it would have been when the client went.
 *
 * The keeper trusts only root (SO_PEERCRED) on a socket in a 0700 root
 * directory.  It exits once no sboxd is connected and it holds nothing.
 */
#include "sboxd/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/zygote.h"
#include "wire/fdpass.h"

#define KEEPER_SOCK "keeper.sock"
#define KEEPER_PID "keeper.pid"
#define KEEPER_MAX_RECORDS 65536

/* A record carries a running job's pidfd and channel, or a queued
 * launch's park (or, for a keeper from before parks, its fds: up to a
 * message's worth). */
#define KEEPER_MAX_FDS SBOX_PROTO_MAX_FDS

static int send_fds(int fd, const void *buf, size_t len, const int *fds, size_t nfds)
{
	if (nfds > KEEPER_MAX_FDS) {
		errno = EMSGSIZE;
		return -1;
	}
	return sbox_fdpass_send(fd, buf, len, fds, nfds, 0);
}

/* Blocking receive of one packet and up to KEEPER_MAX_FDS fds (fds has
 * room for that many): length, 0 at EOF, -1. */
static ssize_t recv_fds(int fd, void *buf, size_t len, int *fds, size_t *nfds)
{
	struct sbox_fdpass_in in = { .fds = fds, .max = KEEPER_MAX_FDS };
	ssize_t n = sbox_fdpass_recv(fd, buf, len, 0, &in);

	*nfds = in.nfds;
	if (n < 0)
		return -1;
	if (in.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		close_fds(fds, *nfds);
		*nfds = 0;
		errno = EMSGSIZE;
		return -1;
	}
	return n;
}

/* The keeper process: it holds one record (and its fds) per job, answers
 * a new sboxd with all of them, and runs nothing else. */

struct record {
	uint64_t id;
	uint8_t *buf;
	size_t len;
	int *fds;
	size_t nfds;
};

struct keeper {
	struct record *recs;
	size_t n;
};

static void rec_free(struct record *r)
{
	close_fds(r->fds, r->nfds);
	free(r->fds);
	free(r->buf);
}

static void rec_drop(struct keeper *k, size_t i)
{
	rec_free(&k->recs[i]);
	k->recs[i] = k->recs[--k->n];
}

static ssize_t rec_find(const struct keeper *k, uint64_t id)
{
	for (size_t i = 0; i < k->n; i++)
		if (k->recs[i].id == id)
			return (ssize_t)i;
	return -1;
}

static void keeper_put_rec(struct keeper *k, uint64_t id, const uint8_t *buf, size_t len,
			   int *fds, size_t nfds)
{
	ssize_t at = rec_find(k, id);
	struct record r = { .id = id, .len = len, .nfds = nfds };

	r.buf = malloc(len);
	r.fds = malloc(nfds ? nfds * sizeof(int) : 1);
	if (!r.buf || !r.fds || (at < 0 && k->n >= KEEPER_MAX_RECORDS)) {
		free(r.buf);
		free(r.fds);
		close_fds(fds, nfds);
		return;
	}
	memcpy(r.buf, buf, len);
	memcpy(r.fds, fds, nfds * sizeof(int));
	if (at >= 0) {
		rec_free(&k->recs[at]);
		k->recs[at] = r;
		return;
	}
	if (k->n % 64 == 0) {
		struct record *nr = realloc(k->recs, (k->n + 64) * sizeof(*nr));

		if (!nr) {
			r.nfds = 0;
			rec_free(&r);
			close_fds(fds, nfds);
			return;
		}
		k->recs = nr;
	}
	k->recs[k->n++] = r;
}

/* One request of the connected sboxd.  false: the connection is bad. */
static bool keeper_request(struct keeper *k, int conn, const uint8_t *buf, size_t len, int *fds,
			   size_t nfds)
{
	struct sbox_msg m;
	struct sbox_mb b = { 0 };
	bool ok = true;

	if (sbox_msg_decode(buf, len, nfds, &m, NULL) < 0) {
		close_fds(fds, nfds);
		return false;
	}
	switch (m.hdr.type) {
	case SBOX_MSG_KEEP_PUT:
	case SBOX_MSG_KEEP_QUEUE:
		keeper_put_rec(k, m.jobs[0].id, buf, len, fds, nfds);
		break;
	case SBOX_MSG_KEEP_DEL: {
		ssize_t at = rec_find(k, m.job_id);

		if (at >= 0)
			rec_drop(k, (size_t)at);
		break;
	}
	case SBOX_MSG_KEEP_GET:
		for (size_t i = 0; i < k->n && ok; i++)
			ok = send_fds(conn, k->recs[i].buf, k->recs[i].len, k->recs[i].fds,
				      k->recs[i].nfds) == 0;
		sbox_mb_begin(&b, SBOX_MSG_KEEP_END, m.hdr.seq);
		sbox_mb_u32(&b, SBOX_ATTR_FEATURES, SBOX_KEEPER_PARKS | SBOX_KEEPER_NET_GROUPS);
		ok = ok && sbox_mb_finish(&b, NULL) == 0 && send_fds(conn, b.buf, b.len, NULL, 0) == 0;
		sbox_mb_free(&b);
		break;
	default:
		close_fds(fds, nfds);
		ok = false;
		break;
	}
	sbox_msg_free(&m);
	return ok;
}

/* Root, and (for the keeper, which holds every job's channel) not a
 * sandbox's root.  sboxd's side checks the uid only: a connected socket's
 * peer credentials are those of whoever called listen(), which for a
 * keeper's socket is the sboxd that made it, likely dead by now. */
static bool peer_is_root(int fd, bool same_pidns)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == 0 &&
	       (!same_pidns || sboxd_peer_in_our_pidns(fd, cred.pid));
}

static __attribute__((noreturn)) void keeper_main(int lfd)
{
	struct keeper k = { 0 };
	uint8_t *buf = malloc(SBOX_PROTO_MAX_MSG);
	int conn = -1;
	sigset_t none;

	/* Nothing of sboxd's but the listening socket; its own session, so
	 * that a signal to sboxd's process group spares it; default signal
	 * state (sboxd blocks SIGTERM for its signalfd). */
	if (lfd != 3 && (dup2(lfd, 3) < 0 || close(lfd) < 0))
		_exit(1);
	lfd = 3;
	if (syscall(SYS_close_range, 4U, ~0U, 0) < 0)
		for (int fd = 4; fd < 65536; fd++)
			close(fd);
	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_NAME, "sboxd-keeper", 0, 0, 0);
	if (!buf)
		_exit(1);
	for (;;) {
		struct pollfd p = { .fd = conn >= 0 ? conn : lfd, .events = POLLIN };
		int fds[KEEPER_MAX_FDS];
		size_t nfds;
		ssize_t n;

		if (poll(&p, 1, -1) < 0)
			continue;
		if (conn < 0) {
			conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (conn >= 0 && !peer_is_root(conn, true)) {
				close(conn);
				conn = -1;
			}
			continue;
		}
		n = recv_fds(conn, buf, SBOX_PROTO_MAX_MSG, fds, &nfds);
		if (n > 0 && keeper_request(&k, conn, buf, (size_t)n, fds, nfds))
			continue;
		close(conn);
		conn = -1;
		if (k.n == 0)
			_exit(0);      /* no sboxd, nothing held: nothing to keep */
	}
}

/* sboxd's side of the keeper: start it (or find the one a predecessor
 * left), and keep its records in step with the jobs. */

static int keeper_path(const struct sboxd *d, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", sbox_site_state_dir(&d->site.daemon), KEEPER_SOCK);

	return n > 0 && (size_t)n < sizeof(((struct sockaddr_un *)0)->sun_path) ? 0 : -1;
}

static int connect_keeper(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memcpy(sa.sun_path, path, strnlen(path, sizeof(sa.sun_path) - 1));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || !peer_is_root(fd, false)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	/* The keeper answers at once; a wedged one must not stall sboxd. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int fork_keeper(const struct sboxd *d, const char *path, struct sbox_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	int st, pfd[2];
	pid_t pid, k = 0;
	char text[32];
	ssize_t n;

	if (lfd < 0)
		return sbox_fail(err, errno, "creating the keeper's socket");
	memcpy(sa.sun_path, path, strnlen(path, sizeof(sa.sun_path) - 1));
	unlink(path);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 ||
	    listen(lfd, 4) < 0) {
		int e = errno;

		close(lfd);
		return sbox_fail(err, e, "binding the keeper's socket %s", path);
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		int e = errno;

		close(lfd);
		return sbox_fail(err, e, "creating a pipe for the keeper's pid");
	}
	/* Its middle child's exit closes its copy of every fd: none may be
	 * a client's on its way to a closer (sboxd/closer.c). */
	sboxd_closer_before_clone();
	pid = fork();
	if (pid == 0) {
		pid_t kp = fork();

		if (kp == 0)
			keeper_main(lfd);
		_exit(kp > 0 && write(pfd[1], &kp, sizeof(kp)) == (ssize_t)sizeof(kp) ? 0 : 1);
	}
	close(lfd);
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		return sbox_fail(err, errno, "forking the keeper");
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	n = read(pfd[0], &k, sizeof(k));
	close(pfd[0]);
	if (n != (ssize_t)sizeof(k) || k <= 0)
		return sbox_fail(err, ECHILD, "forking the keeper");
	/* For the administrator (and the tests): who holds the jobs.  A
	 * keeper nobody can name is not started: stop it (it holds nothing
	 * yet) rather than leave a process behind an empty pid file. */
	snprintf(text, sizeof(text), "%d\n", (int)k);
	if (write_state_file(sbox_site_state_dir(&d->site.daemon), KEEPER_PID, text, err) < 0) {
		kill(k, SIGKILL);
		unlink(path);
		return -1;
	}
	return 0;
}

int keeper_start(struct sboxd *d, struct sbox_err *err)
{
	char path[PATH_MAX];

	d->keeper_fd = -1;
	if (keeper_path(d, path, sizeof(path)) < 0)
		return sbox_fail(err, ENAMETOOLONG, "StateDirectory=%s is too long for a socket path",
				 sbox_site_state_dir(&d->site.daemon));
	d->keeper_fd = connect_keeper(path);
	if (d->keeper_fd >= 0)
		return 0;     /* a keeper from an earlier sboxd: it has our jobs */
	if (errno != ENOENT && errno != ECONNREFUSED)
		return sbox_fail(err, errno, "connecting to the keeper at %s", path);
	if (fork_keeper(d, path, err) < 0)
		return -1;
	d->keeper_features = SBOX_KEEPER_PARKS | SBOX_KEEPER_NET_GROUPS;
	d->keeper_fd = connect_keeper(path);
	if (d->keeper_fd < 0)
		return sbox_fail(err, errno, "connecting to the keeper at %s", path);
	return 0;
}

static void keeper_lost(struct sboxd *d, const char *why);

static void keeper_send(struct sboxd *d, struct sbox_mb *b, const int *fds, size_t nfds)
{
	if (d->keeper_fd < 0 || sbox_mb_finish(b, NULL) < 0)
		return;
	if (send_fds(d->keeper_fd, b->buf, b->len, fds, nfds) < 0)
		keeper_lost(d, strerror(errno));
}

/* Its network group: init holds the membership for the sandbox's life,
 * but the group's files stay after it unless someone ends the group; a
 * successor that adopts the sandbox does, at its end (before, nobody did:
 * the group's files and its netns mount stayed for good, found by a
 * hostile review).  The group is keyed by the uid the launch was for,
 * the job's, which the record has, and the worker's.  One keyed by
 * another uid (none is) is left to the sweep at sboxd's next start. */
static void put_group(const struct sboxd *d, struct sbox_mb *b, const struct job *j)
{
	uid_t owner, worker;
	const char *name = sbox_child_group(j->child, &owner, &worker);

	if (!name || owner != j->uid || !(d->keeper_features & SBOX_KEEPER_NET_GROUPS))
		return;
	sbox_mb_str(b, SBOX_ATTR_NET_GROUP, name);
	sbox_mb_u32(b, SBOX_ATTR_NET_GROUP_WORKER, worker);
}

static void put_record(struct sboxd *d, struct job *j)
{
	struct sbox_mb b = { 0 };
	int fds[3], lease;
	uint32_t block;
	size_t nfds = 0;

	sbox_mb_begin(&b, SBOX_MSG_KEEP_PUT, 0);
	job_record(&b, j);
	if (j->token)
		sbox_mb_u64(&b, SBOX_ATTR_LAUNCH_TOKEN, j->token);
	if (j->state == SBOX_JOB_ENDED) {
		job_put_end(&b, j);
		/* Its cgroup is still being removed: a successor finishes. */
		if (j->ending_cgroup)
			sbox_mb_str(&b, SBOX_ATTR_CGROUP_PATH, j->ending_cgroup);
	} else if (j->child) {
		fds[nfds++] = sbox_child_pidfd(j->child);
		fds[nfds++] = sbox_child_event_fd(j->child);
		/* Its cgroup: a successor reads its figures and removes it. */
		if (sbox_child_cgroup_path(j->child))
			sbox_mb_str(&b, SBOX_ATTR_CGROUP_PATH, sbox_child_cgroup_path(j->child));
		/* Its veth's address: the keeper's copy of the lease's fd
		 * holds the lock while no sboxd does, so that no sandbox is
		 * given the address of one still running. */
		lease = sbox_child_lease(j->child, &block);
		if (lease >= 0) {
			fds[nfds++] = lease;
			sbox_mb_u32(&b, SBOX_ATTR_VETH_BLOCK, block);
		}
		put_group(d, &b, j);
	}
	/* RuntimeMaxSec=, as a wall-clock time: monotonic clocks are the
	 * same across processes, but say so less plainly in a record. */
	if (j->runtime_deadline)
		sbox_mb_u64(&b, SBOX_ATTR_DEADLINE_USEC,
			    sboxd_now_real() + (j->runtime_deadline > sboxd_now() ?
						j->runtime_deadline - sboxd_now() : 0));
	keeper_send(d, &b, fds, nfds);
	sbox_mb_free(&b);
}

/* The request a queued launch will be retried with, as it came: the
 * attributes of its LAUNCH (fd indexes into the same fds). */
static void put_launch(struct sbox_mb *b, const struct sbox_msg *m)
{
	static const uint16_t stdio_tags[] = { SBOX_ATTR_STDIN, SBOX_ATTR_STDOUT, SBOX_ATTR_STDERR };

	for (size_t i = 0; i < m->argc; i++)
		sbox_mb_str(b, SBOX_ATTR_ARGV, m->argv[i]);
	for (size_t i = 0; i < m->n_env; i++)
		sbox_mb_str(b, SBOX_ATTR_ENV, m->env[i]);
	if (m->cwd)
		sbox_mb_str(b, SBOX_ATTR_CWD, m->cwd);
	if (m->policy)
		sbox_mb_str(b, SBOX_ATTR_POLICY, m->policy);
	if (m->name)
		sbox_mb_str(b, SBOX_ATTR_NAME, m->name);
	for (int i = 0; i < 3; i++)
		if (m->stdio[i] >= 0)
			sbox_mb_u32(b, stdio_tags[i], (uint32_t)m->stdio[i]);
	for (size_t i = 0; i < m->n_pass; i++)
		sbox_mb_pair(b, SBOX_ATTR_PASS_FD, m->pass[i].key, m->pass[i].index);
	for (size_t i = 0; i < m->n_binds; i++)
		sbox_mb_pair(b, SBOX_ATTR_BIND_FD, m->binds[i].key, m->binds[i].index);
	sbox_mb_u32(b, SBOX_ATTR_FLAGS, m->flags);
	sbox_mb_u32(b, SBOX_ATTR_GPU_COUNT, m->gpu_count);
	if (m->launch_token)
		sbox_mb_u64(b, SBOX_ATTR_LAUNCH_TOKEN, m->launch_token);
}

/* A queued launch (--wait-gpu) holds no sandbox yet, but it is a job its
 * client was promised: keep its request, its fds and who asked, so that
 * a successor queues it again (docs/protocol.md, "Recovery"). */
static void put_queued(struct sboxd *d, struct job *j)
{
	const struct queued_launch *q = j->queued;
	struct sbox_mb b = { 0 };
	int fds[KEEPER_MAX_FDS];

	sbox_mb_begin(&b, SBOX_MSG_KEEP_QUEUE, 0);
	job_record(&b, j);
	for (size_t i = 0; i < q->who.n_groups && i < SBOX_PROTO_MAX_GROUPS; i++)
		sbox_mb_u32(&b, SBOX_ATTR_GROUP, (uint32_t)q->who.groups[i]);
	/* Its fds as they wait, parked: the keeper gets the socket, and
	 * never holds (nor closes) a client's file.  A keeper from an sboxd
	 * before parks would refuse that record (and the connection with it):
	 * it gets copies of the fds themselves, which go to the closers here
	 * once sent. */
	if (d->keeper_features & SBOX_KEEPER_PARKS)
		sbox_mb_u32(&b, SBOX_ATTR_PARKED_FDS, (uint32_t)q->nfds);
	put_launch(&b, &q->msg);
	if (b.overflow || q->nfds > KEEPER_MAX_FDS) {
		sboxd_log("job %llu: its queued launch is too large for the keeper: it will not survive a restart of sboxd",
			  (unsigned long long)j->id);
	} else if (d->keeper_features & SBOX_KEEPER_PARKS) {
		keeper_send(d, &b, &q->park, 1);
	} else if (fds_unpark(q->park, fds, q->nfds, q->who.uid) < 0) {
		sboxd_log("job %llu: taking its fds back for the keeper: %s: it will not survive a restart of sboxd",
			  (unsigned long long)j->id, strerror(errno));
	} else {
		keeper_send(d, &b, fds, q->nfds);
		close_client_fds(fds, q->nfds, q->who.uid);
	}
	sbox_mb_free(&b);
}

void keeper_put(struct sboxd *d, struct job *j)
{
	if (j->state == SBOX_JOB_QUEUED && j->queued)
		put_queued(d, j);
	else if (j->state != SBOX_JOB_QUEUED)
		put_record(d, j);
}

void keeper_put_teardown(struct sboxd *d, const struct job *j)
{
	struct sbox_mb b = { 0 };

	sbox_mb_begin(&b, SBOX_MSG_KEEP_PUT, 0);
	job_record(&b, j);
	sbox_mb_str(&b, SBOX_ATTR_CGROUP_PATH, j->ending_cgroup);
	sbox_mb_u32(&b, SBOX_ATTR_TEARDOWN, 1);
	keeper_send(d, &b, NULL, 0);
	sbox_mb_free(&b);
}

void keeper_del(struct sboxd *d, uint64_t id)
{
	struct sbox_mb b = { 0 };

	sbox_mb_begin(&b, SBOX_MSG_KEEP_DEL, 0);
	sbox_mb_u64(&b, SBOX_ATTR_JOB_ID, id);
	keeper_send(d, &b, NULL, 0);
	sbox_mb_free(&b);
}

/* The keeper went away while we live: start another and give it all. */
static void keeper_lost(struct sboxd *d, const char *why)
{
	static bool again;
	struct sbox_err err = { 0 };

	if (d->keeper_fd < 0 || again)
		return;
	sboxd_log("keeper lost (%s): starting another", why);
	sboxd_unwatch(d, d->keeper_fd);
	close(d->keeper_fd);
	d->keeper_fd = -1;
	again = true;
	if (keeper_start(d, &err) < 0) {
		sboxd_log("%s; jobs will not survive a restart of sboxd", err.msg);
	} else {
		sboxd_watch(d, d->keeper_fd, &d->w_keeper, EPOLLIN);
		for (struct job *j = d->jobs; j && d->keeper_fd >= 0; j = j->next)
			if (!j->dead)
				keeper_put(d, j);
	}
	again = false;
}

void keeper_on_event(struct sboxd *d, uint32_t events)
{
	/* The keeper never speaks first: anything here is its end. */
	(void)events;
	keeper_lost(d, "its socket closed");
}

/* A new sboxd taking the jobs back from the keeper: running ones are
 * adopted by pidfd and channel, queued ones queued again. */

/* The job as the keeper's record has it.  The keeper keeps times as
 * real time: this sboxd's monotonic clock is not its predecessor's, so
 * they come back through the real clock. */
static void restore_record(struct sboxd *d, struct job *j, const struct sbox_msg *m,
			   uint64_t now)
{
	const struct sbox_msg_job *r = &m->jobs[0];

	j->uid = r->uid;
	j->gid = r->gid;
	j->token = m->launch_token;
	j->pid = (pid_t)r->pid;
	j->detached = r->flags & SBOX_LAUNCH_DETACH;
	j->placed = r->flags & SBOX_JOB_PLACED;
	j->start_real = r->start_usec;
	j->start_mono = now - (sboxd_now_real() - r->start_usec);
	snprintf(j->name, sizeof(j->name), "%s", r->name ? r->name : "");
	sbox_tame_controls(j->name);
	j->n_gpus = r->n_gpus;
	memcpy(j->gpus, r->gpus, r->n_gpus * sizeof(unsigned));
	if (!j->detached)
		job_set_deadline(d, &j->reattach_deadline, now + d->site.daemon.reattach_timeout_usec);
	if (m->deadline_usec) {
		uint64_t real = sboxd_now_real();

		job_set_deadline(d, &j->runtime_deadline,
				 now + (m->deadline_usec > real ? m->deadline_usec - real : 1));
	}
}

/* It ended before; its end waits to be collected. */
static void restore_end(struct job *j, const struct sbox_msg *m)
{
	j->state = SBOX_JOB_ENDED;
	j->outcome = m->outcome ? m->outcome : SBOX_OUTCOME_LOST;
	j->status = m->status;
	j->errnum = m->errnum;
	snprintf(j->msg, sizeof(j->msg), "%s", m->message ? m->message : "");
	j->oom = m->oom;
	j->timeout = m->timeout;
	j->stats = m->stats;
	sboxd_log("recovered job %llu (ended; uid %u)", (unsigned long long)j->id,
		  (unsigned)j->uid);
}

/* A sandbox still running, taken back by its pidfd and channel (fds[0],
 * fds[1]), with its veth lease (fds[2]) and cgroup when it had them; a
 * sandbox that can't be taken back is reported lost. */
static void restore_child(struct sboxd *d, struct job *j, const struct sbox_msg *m, int *fds,
			  size_t nfds)
{
	struct sbox_err err = { 0 };

	j->state = m->jobs[0].state == SBOX_JOB_RUNNING ? SBOX_JOB_RUNNING : SBOX_JOB_STARTING;
	if (sbox_child_adopt(j->pid, fds[0], fds[1], &j->child, &err) < 0) {
		close_fds(fds, nfds);
		j->state = SBOX_JOB_ENDED;
		j->outcome = SBOX_OUTCOME_LOST;
		snprintf(j->msg, sizeof(j->msg), "%s", err.msg);
		return;
	}
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	if (j->placed)
		sbox_zygote_mark_placed(j->child);
	if (nfds > 2)
		sbox_child_adopt_lease(j->child, fds[2], m->veth_block, d->net_reaper);
	if (m->net_group &&
	    sbox_child_adopt_group(j->child, m->net_group, j->uid, m->net_group_worker, &err) < 0) {
		sboxd_log("job %llu: %s: its group is left to the sweep at sboxd's next start",
			  (unsigned long long)j->id, err.msg);
		sbox_err_clear(&err);
	}
	if (m->cgroup_path && sbox_child_adopt_cgroup(j->child, m->cgroup_path, &err) < 0) {
		sboxd_log("job %llu: %s: its end will carry the wall time only", (unsigned long long)j->id,
			  err.msg);
		sbox_err_clear(&err);
	}
	if (job_track(d, j, &err) < 0)
		sboxd_log("job %llu: %s", (unsigned long long)j->id, err.msg);
	leases_take(d, j);
	/* The predecessor may have died between its record and S1d: the
	 * worker starts now (an init past S1d ignores it). */
	if (j->state == SBOX_JOB_STARTING)
		job_run_worker(j);
	sboxd_log("recovered job %llu (pid %d, uid %u, %zu GPU%s%s)", (unsigned long long)j->id,
		  (int)j->pid, (unsigned)j->uid, j->n_gpus, j->n_gpus == 1 ? "" : "s",
		  j->detached ? ", detached" : "");
}

/* A predecessor died while a teardown thread removed this ended job's
 * cgroup: finish it here, at start, before any client (bounded: the
 * cgroup's end waits 5 s at most for a busy directory).  True when only
 * the end was left (the job's end was told: nothing to restore). */
static bool finish_end(struct sboxd *d, const struct sbox_msg *m)
{
	uint64_t id = m->jobs[0].id;
	struct sbox_child *c;
	struct sbox_err err = { 0 };

	if (sbox_child_adopt_end(m->cgroup_path, &c, &err) == 0) {
		if (sbox_child_end(c, &err) < 0)
			sboxd_log("job %llu: %s", (unsigned long long)id, err.msg);
		sbox_child_free(c);
	} else if (err.errnum != ENOENT && err.errnum != EINVAL) {
		sboxd_log("job %llu: %s", (unsigned long long)id, err.msg);
	}
	sboxd_log("job %llu: finished the removal of its cgroup %s", (unsigned long long)id,
		  m->cgroup_path);
	if (!m->teardown)
		return false;
	keeper_del(d, id);
	return true;
}

/* A job this sboxd has already is not taken twice: the record's fds go. */
static void adopt(struct sboxd *d, struct sbox_msg *m, int *fds, size_t nfds, uint64_t now)
{
	struct job *j;

	for (j = d->jobs; j; j = j->next)
		if (j->id == m->jobs[0].id) {
			close_fds(fds, nfds);
			return;
		}
	if (nfds == 0 && m->cgroup_path && finish_end(d, m))
		return;
	j = job_new(d, m->jobs[0].id);
	if (!j) {
		close_fds(fds, nfds);
		return;
	}
	restore_record(d, j, m, now);
	if (nfds == 0) {
		restore_end(j, m);
		/* Recorded again without the cgroup it no longer has. */
		if (m->cgroup_path)
			keeper_put(d, j);
	} else {
		restore_child(d, j, m, fds, nfds);
	}
}

/* A launch that was queued for a GPU: queued again, as it was (its id
 * keeps its place in the queue: oldest first). */
static void requeue(struct sboxd *d, struct sbox_msg *m, int *fds, size_t nfds, uint64_t now)
{
	const struct sbox_msg_job *r = &m->jobs[0];
	struct queued_launch *q;
	struct passwd pw, *res = NULL;
	char pwbuf[4096];
	struct job *j;

	for (j = d->jobs; j; j = j->next)
		if (j->id == r->id) {
			close_client_fds(fds, nfds, r->uid);
			return;
		}
	/* Its fds wait parked (park.c): the record's one fd is their park
	 * (PARKED_FDS); a record with the fds themselves (from an sboxd
	 * before parks) has them parked now, and sboxd's copies go to the
	 * closers: they are a client's. */
	q = calloc(1, sizeof(*q));
	if (q && m->parked) {
		q->park = fds[0];
		fds = NULL;
		nfds = 0;
	} else if (q && fds_park(fds, nfds, &q->park) < 0) {
		sboxd_log("queued job %llu: parking its fds: %s: dropped", (unsigned long long)r->id,
			  strerror(errno));
		free(q);
		close_client_fds(fds, nfds, r->uid);
		return;
	}
	j = q ? job_new(d, r->id) : NULL;
	if (!j) {
		if (q)
			sboxd_close_client_socket(q->park, r->uid);
		free(q);
		close_client_fds(fds, nfds, r->uid);
		sboxd_log("queued job %llu: out of memory: dropped", (unsigned long long)r->id);
		return;
	}
	if (fds)
		close_client_fds(fds, nfds, r->uid);
	j->uid = r->uid;
	j->gid = r->gid;
	j->token = m->launch_token;
	j->detached = r->flags & SBOX_LAUNCH_DETACH;
	snprintf(j->name, sizeof(j->name), "%s", r->name ? r->name : "");
	sbox_tame_controls(j->name);
	if (!j->detached)
		job_set_deadline(d, &j->reattach_deadline, now + d->site.daemon.reattach_timeout_usec);
	q->nfds = m->parked ? m->parked_fds : nfds;
	q->who.uid = r->uid;
	q->who.gid = r->gid;
	for (size_t i = 0; i < m->n_groups && i < SBOXD_MAX_GROUPS; i++)
		q->groups[q->who.n_groups++] = (gid_t)m->groups[i];
	q->who.groups = q->groups;
	if (getpwuid_r(r->uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res) {
		snprintf(q->user_name, sizeof(q->user_name), "%s", res->pw_name);
		q->who.user_name = q->user_name;
	}
	q->msg = *m;                   /* the record's memory is the queue's now */
	memset(m, 0, sizeof(*m));
	j->queued = q;
	j->state = SBOX_JOB_QUEUED;
	sboxd_log("recovered job %llu (queued for a GPU, uid %u%s)", (unsigned long long)j->id,
		  (unsigned)j->uid, j->detached ? ", detached" : "");
}

int keeper_recover(struct sboxd *d, struct sbox_err *err)
{
	struct sbox_mb b = { 0 };
	uint64_t now = sboxd_now();
	unsigned n = 0;

	if (d->keeper_fd < 0)
		return 0;
	sbox_mb_begin(&b, SBOX_MSG_KEEP_GET, 1);
	if (sbox_mb_finish(&b, err) < 0 || send_fds(d->keeper_fd, b.buf, b.len, NULL, 0) < 0) {
		sbox_mb_free(&b);
		return sbox_fail(err, errno, "asking the keeper for its records");
	}
	sbox_mb_free(&b);
	for (;;) {
		struct sbox_msg m;
		int fds[KEEPER_MAX_FDS];
		size_t nfds;
		ssize_t len = recv_fds(d->keeper_fd, d->rxbuf, SBOX_PROTO_MAX_MSG, fds, &nfds);

		if (len <= 0)
			return sbox_fail(err, len < 0 ? errno : EPIPE, "reading the keeper's records");
		/* A queued launch's fds are a client's: a closer's to close
		 * (uid 0: not charged to anyone). */
		if (sbox_msg_decode(d->rxbuf, (size_t)len, nfds, &m, err) < 0) {
			close_client_fds(fds, nfds, 0);
			sbox_err_prefix(err, "a record of the keeper");
			return -1;
		}
		if (m.hdr.type == SBOX_MSG_KEEP_END) {
			d->keeper_features = m.features;
			sbox_msg_free(&m);
			break;
		}
		if (m.hdr.type == SBOX_MSG_KEEP_PUT) {
			adopt(d, &m, fds, nfds, now);
			n++;
		} else if (m.hdr.type == SBOX_MSG_KEEP_QUEUE) {
			requeue(d, &m, fds, nfds, now);
			n++;
		} else {
			close_client_fds(fds, nfds, 0);
		}
		sbox_msg_free(&m);
	}
	if (n)
		sboxd_log("%u job%s recovered from the keeper", n, n == 1 ? "" : "s");
	/* Ended records past this sboxd's MaxEndedJobsPerUser= (its
	 * predecessor's may have been higher). */
	for (struct job *j = d->jobs; j; j = j->next)
		if (!j->dead && j->state == SBOX_JOB_ENDED)
			jobs_trim_ended(d, j->uid);
	return 0;
}
