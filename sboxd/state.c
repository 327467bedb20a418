/* SPDX-License-Identifier: MIT */
/*
 * What sboxd keeps on disk in its state directory (StateDirectory=): the
 * bound of the job ids handed out (job-ids) and the keeper's pid
 * (keeper.pid).  Small files, each written whole or not at all, every
 * write checked: a full disk is an error naming the file, never an empty
 * file found later (docs/protocol.md, "Recovery").
 */
#include "sboxd/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
