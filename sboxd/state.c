/* SPDX-License-Identifier: MIT */
/*
 * sboxd's state, in memory and on disk.  In memory: the job records (made,
 * watched, unlinked; encoded for LIST and the keeper), and what each user
 * holds of what all share (connections, fds), for the caps.  On disk, in
 * its state directory (StateDirectory=): the bound of the job ids handed
 * out (job-ids) and the keeper's pid (keeper.pid).  Small files, each
 * written whole or not at all, every write checked: a full disk is an
 * error naming the file, never an empty file found later (docs/protocol.md,
 * "Recovery").  Launch, recovery and the loop all use these, so they sit
 * under them (daemon.h).
 */
#include "sboxd/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define IDS_FILE "job-ids"
#define IDS_BLOCK 4096          /* ids reserved per write of IDS_FILE */

/* Write a small file of the state directory whole or not at all: a
 * temporary file, every write checked (a full disk is ENOSPC here, not
 * an empty file found later), fsync, then rename over the old one. */
int write_state_file(const char *dir, const char *name, const char *text,
		     struct sbox_err *err)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	size_t len = strlen(text), done = 0;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= (int)sizeof(tmp))
		return sbox_fail(err, ENAMETOOLONG, "%s/%s: path too long", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return sbox_fail(err, errno, "creating %s", tmp);
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;

			close(fd);
			unlink(tmp);
			return sbox_fail(err, e, "writing %s", path);
		}
		done += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		int e = errno;

		unlink(tmp);
		return sbox_fail(err, e, "writing %s", path);
	}
	if (rename(tmp, path) < 0) {
		int e = errno;

		unlink(tmp);
		return sbox_fail(err, e, "renaming %s to %s", tmp, path);
	}
	return 0;
}

/* Job ids.  A successor must never hand out an id its predecessor did:
 * a client coming back after a restart waits on, and signals, the id it
 * was given, and must find that job or none — never another user's new
 * job under a reused number (issue 12, break 9).  Ids of ended and of
 * queued jobs are not in the keeper's records, so the highest recovered
 * id says too little.  IDS_FILE holds a bound above every id handed out;
 * it is raised by IDS_BLOCK, on disk, before the first id under the new
 * bound is used, so a launch costs a write only once per block. */
static int ids_reserve(struct sboxd *d, struct sbox_err *err)
{
	uint64_t limit = d->next_job_id + IDS_BLOCK;
	char text[32];

	if (d->next_job_id < d->job_id_limit)
		return 0;
	snprintf(text, sizeof(text), "%llu\n", (unsigned long long)limit);
	if (write_state_file(sbox_site_state_dir(&d->site.daemon), IDS_FILE, text, err) < 0) {
		sbox_err_prefix(err, "reserving job ids");
		return -1;
	}
	d->job_id_limit = limit;
	return 0;
}

int ids_load(struct sboxd *d, struct sbox_err *err)
{
	const char *dir = sbox_site_state_dir(&d->site.daemon);
	char path[PATH_MAX], buf[32], *end;
	unsigned long long v;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, IDS_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno != ENOENT)
		return sbox_fail(err, errno, "opening %s", path);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n < 0)
			return sbox_fail(err, errno, "reading %s", path);
		buf[n] = '\0';
		errno = 0;
		v = strtoull(buf, &end, 10);
		if (errno || end == buf || (*end && *end != '\n') || v == 0 || v >= UINT64_MAX / 2)
			return sbox_fail(err, EINVAL,
					 "%s: not a job id bound (\"%.20s\"); remove it only with no sandbox of sboxd's left",
					 path, buf);
		if (v > d->next_job_id)
			d->next_job_id = v;
	}
	/* Reserve at once: a state directory sboxd can't write is said at
	 * start, not at the first launch. */
	d->job_id_limit = 0;
	return ids_reserve(d, err);
}

int ids_take(struct sboxd *d, uint64_t *id, struct sbox_err *err)
{
	if (ids_reserve(d, err) < 0) {
		sboxd_log("%s", err->msg);      /* the client hears it too */
		return -1;
	}
	*id = d->next_job_id;
	return 0;
}

/* What uid's live connections hold together: one walk for the three
 * per-user bounds below. */
struct user_tally {
	unsigned conns, waits;
	size_t outq;
};

static struct user_tally user_tally(const struct sboxd *d, uid_t uid)
{
	struct user_tally t = { 0 };

	for (const struct conn *c = d->conns; c; c = c->next)
		if (!c->dead && c->who.uid == uid) {
			t.conns++;
			t.waits += c->n_waits;
			t.outq += c->outq_bytes;
		}
	return t;
}

unsigned sboxd_user_conns(const struct sboxd *d, uid_t uid)
{
	return user_tally(d, uid).conns;
}

unsigned sboxd_user_waits(const struct sboxd *d, uid_t uid)
{
	return user_tally(d, uid).waits;
}

size_t sboxd_user_outq(const struct sboxd *d, uid_t uid)
{
	return user_tally(d, uid).outq;
}

size_t sboxd_user_fds(const struct sboxd *d, uid_t uid)
{
	/* Its fds being closed are sboxd's until the close returns. */
	size_t n = sboxd_user_conns(d, uid) + sboxd_closer_pending(uid);

	for (const struct job *j = d->jobs; j; j = j->next)
		if (!j->dead && j->queued && j->uid == uid)
			n += j->queued->nfds;
	return n;
}

struct job *job_new(struct sboxd *d, uint64_t id)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->id = id;
	j->w_event.kind = W_JOB_EVENT;
	j->w_event.obj = j;
	j->w_pidfd.kind = W_JOB_PIDFD;
	j->w_pidfd.obj = j;
	j->next = d->jobs;
	if (d->jobs)
		d->jobs->prev = j;
	d->jobs = j;
	d->n_jobs++;
	if (id >= d->next_job_id)
		d->next_job_id = id + 1;
	return j;
}

void job_unlink(struct sboxd *d, struct job *j)
{
	struct waiter *w, *wn;

	if (j->prev)
		j->prev->next = j->next;
	else
		d->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	for (w = j->waiters; w; w = wn) {
		wn = w->next;
		free(w);
	}
	queued_free(j->queued);
	d->n_jobs--;
	free(j);
}

int job_track(struct sboxd *d, struct job *j, struct sbox_err *err)
{
	int efd = sbox_child_event_fd(j->child), pfd = sbox_child_pidfd(j->child);

	if (pfd < 0)
		return sbox_fail(err, ENOSYS, "job %llu: no pidfd (Linux 5.3 or later is needed)",
				 (unsigned long long)j->id);
	if (sboxd_watch(d, efd, &j->w_event, EPOLLIN) < 0 ||
	    sboxd_watch(d, pfd, &j->w_pidfd, EPOLLIN) < 0)
		return sbox_fail(err, errno, "job %llu: watching its sandbox", (unsigned long long)j->id);
	j->event_open = true;
	return 0;
}

void job_run_worker(struct job *j)
{
	struct sbox_err err = { 0 };

	if (sbox_child_run(j->child, &err) == 0)
		return;
	/* Init failed a step of the request (its SETUP_ERROR waits in the
	 * channel) or was killed: its events and its end say so. */
	if (err.errnum == EPIPE || err.errnum == ECONNRESET)
		return;
	sboxd_log("job %llu: %s: ending it", (unsigned long long)j->id, err.msg);
	sbox_err_clear(&err);
	if (sbox_child_signal(j->child, SIGKILL, &err) < 0)
		sboxd_log("job %llu: %s", (unsigned long long)j->id, err.msg);
}

void job_record(struct sbox_mb *b, const struct job *j)
{
	sbox_mb_nest_begin(b, SBOX_ATTR_JOB);
	sbox_mb_u64(b, SBOX_ATTR_JOB_ID, j->id);
	sbox_mb_u32(b, SBOX_ATTR_UID, (uint32_t)j->uid);
	sbox_mb_u32(b, SBOX_ATTR_GID, (uint32_t)j->gid);
	sbox_mb_u32(b, SBOX_ATTR_PID, (uint32_t)j->pid);
	sbox_mb_u32(b, SBOX_ATTR_STATE, j->state);
	sbox_mb_u32(b, SBOX_ATTR_FLAGS, (j->detached ? SBOX_LAUNCH_DETACH : 0) |
					(j->placed ? SBOX_JOB_PLACED : 0));
	sbox_mb_u64(b, SBOX_ATTR_START_USEC, j->start_real);
	sbox_mb_str(b, SBOX_ATTR_NAME, j->name);
	for (size_t i = 0; i < j->n_gpus; i++)
		sbox_mb_u32(b, SBOX_ATTR_GPU, j->gpus[i]);
	sbox_mb_nest_end(b);
}

void job_put_end(struct sbox_mb *b, const struct job *j)
{
	sbox_mb_u32(b, SBOX_ATTR_OUTCOME, j->outcome);
	sbox_mb_i32(b, SBOX_ATTR_STATUS, j->status);
	sbox_mb_u32(b, SBOX_ATTR_ERRNUM, j->errnum);
	sbox_mb_str(b, SBOX_ATTR_MESSAGE, j->msg);
	sbox_mb_u32(b, SBOX_ATTR_OOM, j->oom);
	sbox_mb_u32(b, SBOX_ATTR_TIMEOUT, j->timeout);
	sbox_mb_stats(b, &j->stats);
}

int *daemon_own_fds(struct sboxd *d, size_t *n)
{
	/* A queued job's one fd (its park) fits in a running one's room. */
	size_t cap = 8 + d->n_conns + SBOX_CHILD_FDS_MAX * (size_t)d->n_jobs, k = 0;
	int *v = calloc(cap, sizeof(int));

	if (!v)
		return NULL;
	v[k++] = d->epfd;
	v[k++] = d->listen_fd;
	v[k++] = d->signal_fd;
	if (d->lock_fd >= 0)
		v[k++] = d->lock_fd;
	if (d->keeper_fd >= 0)
		v[k++] = d->keeper_fd;
	if (d->spare_fd >= 0)
		v[k++] = d->spare_fd;
	for (struct conn *c = d->conns; c && k < cap; c = c->next)
		if (c->fd >= 0)
			v[k++] = c->fd;
	for (struct job *j = d->jobs; j; j = j->next) {
		/* All the sandbox's fds, not only the two sboxd watches:
		 * they lie between the others, and a list with no holes
		 * closes in a few calls in the new init (C0). */
		if (j->child && k + SBOX_CHILD_FDS_MAX <= cap)
			k += sbox_child_fds(j->child, v + k);
		if (j->queued && j->queued->park >= 0 && k < cap)
			v[k++] = j->queued->park;
	}
	*n = k;
	return v;
}

void queued_free(struct queued_launch *q)
{
	if (!q)
		return;
	if (q->park >= 0)
		sboxd_close_client_socket(q->park, q->who.uid);
	if (q->judged)
		sbox_policy_free(&q->policy);
	sbox_msg_free(&q->msg);
	free(q);
}
