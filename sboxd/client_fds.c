/* SPDX-License-Identifier: MIT */
/*
 * What a client's fds may be, for LAUNCH (sboxd/launch.c, steps 2 and 4):
 * stdio something the worker can read or write; each bind source the fd
 * BIND_FD names, held by its real path against AllowBindPaths=, as a
 * passed directory is.  Every fd is the client's own (SCM_RIGHTS), so it
 * hands in only what it could open itself.  Nothing here may wait on an
 * fd's file system (a FUSE server that never answers): fcntl,
 * statx(AT_STATX_DONT_SYNC) and readlink of /proc/self/fd only.
 */
#include "sboxd/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

/* The type of a client's fd, from what the kernel has in memory.  Never
 * fstat(): on FUSE (and NFS, CIFS) it may ask the file's server and wait
 * for an answer that a hostile client's server never gives, with the
 * whole loop waiting behind it.  AT_STATX_DONT_SYNC takes the cached
 * attributes (an inode's type never changes). */
static int fd_type(int fd, mode_t *type)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &stx) < 0)
		return -1;
	*type = stx.stx_mode & S_IFMT;
	return 0;
}

/* stdio must be something the worker can read or write. */
int client_stdio_check(const struct sbox_msg *m, const int *fds, struct refusal *r)
{
	static const char *const names[] = { "STDIN", "STDOUT", "STDERR" };

	for (int i = 0; i < 3; i++) {
		mode_t type;
		int fd, fl;

		if (m->stdio[i] < 0)
			continue;
		fd = fds[m->stdio[i]];
		fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fd_type(fd, &type) < 0) {
			sbox_fail(&r->err, errno, "%s: the fd passed for it", names[i]);
			return refused(r, SBOX_E_PROTO);
		}
		if (fl & O_PATH) {
			sbox_fail(&r->err, EBADF, "%s: an O_PATH fd can be neither read nor written", names[i]);
			return refused(r, SBOX_E_PROTO);
		}
		if (S_ISDIR(type)) {
			sbox_fail(&r->err, EISDIR, "%s: the fd passed for it is a directory", names[i]);
			return refused(r, SBOX_E_PROTO);
		}
	}
	return 0;
}

static const char *bind_name(const struct sbox_mount *mt)
{
	return mt->kind == SBOX_MOUNT_BIND ? "BindPaths" : "BindReadOnlyPaths";
}

/* The mounts of sboxd's own mount namespace, read once a request and only
 * when a fd must be checked against them.  A client can make a mount
 * namespace of its own (a user namespace is enough) and bind any directory
 * over an allowed path there; the kernel names an fd by its path in the
 * namespace it was opened in, so the name alone would pass.  Once a
 * request, not once a fd: the table is as long as the host's mounts
 * (thousands on a busy node), and a request carries up to 64 binds and 64
 * directories, read in the loop.  The ids can't be reused within the
 * request: the client's fds hold their mounts. */
struct our_mounts {
	uint64_t *ids;
	size_t n;
	bool read;
};

static int our_mounts_read(struct our_mounts *o)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		return -1;
	o->read = true;
	while (getline(&line, &cap, f) > 0) {
		unsigned long long id;
		uint64_t *v;

		if (sscanf(line, "%llu ", &id) != 1)
			continue;
		v = realloc(o->ids, (o->n + 1) * sizeof(*v));
		if (!v) {
			free(line);
			fclose(f);
			errno = ENOMEM;
			return -1;
		}
		o->ids = v;
		o->ids[o->n++] = id;
	}
	free(line);
	fclose(f);
	return 0;
}

static bool mount_is_ours(struct our_mounts *o, uint64_t id)
{
	if (!o->read && our_mounts_read(o) < 0)
		return false;
	for (size_t i = 0; i < o->n; i++)
		if (o->ids[i] == id)
			return true;
	return false;
}

static void our_mounts_free(struct our_mounts *o)
{
	free(o->ids);
	*o = (struct our_mounts){ 0 };
}

/* Where a bind fd really points: the kernel's name for it, not the
 * client's, on a mount of sboxd's own namespace (statx with
 * AT_STATX_DONT_SYNC asks nothing of the fd's file system). */
static int fd_path(int fd, struct our_mounts *ours, char *buf, size_t len)
{
	char link[64];
	ssize_t n;
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID, &stx) < 0)
		return -1;
	if (!(stx.stx_mask & STATX_MNT_ID) || !mount_is_ours(ours, stx.stx_mnt_id)) {
		errno = EXDEV;
		return -1;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int map_binds(struct sboxd *d, const struct sbox_requester *who, const struct sbox_msg *m,
		     const int *fds, const struct sbox_policy *p, int *src, struct our_mounts *ours,
		     struct refusal *r)
{
	bool used[SBOX_PROTO_MAX_BINDS] = { false };
	uint32_t k = 0;

	for (size_t i = 0; i < p->n_mounts; i++) {
		const struct sbox_mount *mt = &p->mounts[i];
		char real[PATH_MAX];
		size_t b;

		src[i] = -1;
		if (mt->kind != SBOX_MOUNT_BIND && mt->kind != SBOX_MOUNT_BIND_RO)
			continue;
		for (b = 0; b < m->n_binds && m->binds[b].key != k; b++)
			;
		k++;
		if (b == m->n_binds) {
			if (mt->optional)
				continue;
			sbox_fail(&r->err, EBADF, "%s=%s: the request carries no fd for this bind source",
				  bind_name(mt), mt->src);
			return refused(r, SBOX_E_PROTO);
		}
		used[b] = true;
		src[i] = fds[m->binds[b].index];
		if (!sbox_bounds_apply_to(who))
			continue;
		if (fd_path(src[i], ours, real, sizeof(real)) < 0) {
			sbox_fail(&r->err, errno, errno == EXDEV ?
				  "%s=%s: the client's fd is on no mount of sboxd's mount namespace (another namespace's mount, or a pipe, socket or memfd), where its path can't be checked against AllowBindPaths=" :
				  "%s=%s: the client's fd", bind_name(mt), mt->src);
			return refused(r, SBOX_E_PROTO);
		}
		if (sbox_bounds_check_bind(&d->site.daemon.bounds, bind_name(mt), real, &r->err) < 0)
			return refused(r, SBOX_E_BOUND);
	}
	for (size_t b = 0; b < m->n_binds; b++)
		if (!used[b]) {
			sbox_fail(&r->err, EINVAL, "BIND_FD %u names no bind of the policy (it has %u)",
				  m->binds[b].key, k);
			return refused(r, SBOX_E_PROTO);
		}
	return 0;
}

/* A directory passed to the worker opens everything below it, as a bind
 * would: a client other than root may pass only directories it could
 * have bound (AllowBindPaths=).  (Files are the client's own opens, for
 * the worker to read or write; they reach no further.) */
static int check_pass_dirs(struct sboxd *d, const struct sbox_requester *who,
			   const struct sbox_msg *m, const int *fds, struct our_mounts *ours,
			   struct refusal *r)
{
	if (!sbox_bounds_apply_to(who))
		return 0;
	for (size_t i = 0; i < m->n_pass; i++) {
		int fd = fds[m->pass[i].index];
		char real[PATH_MAX], what[48];
		mode_t type;

		snprintf(what, sizeof(what), "PASS_FD %u", m->pass[i].key);
		if (fd_type(fd, &type) < 0) {
			sbox_fail(&r->err, errno, "%s: the fd passed for it", what);
			return refused(r, SBOX_E_PROTO);
		}
		if (!S_ISDIR(type))
			continue;
		if (fd_path(fd, ours, real, sizeof(real)) < 0) {
			sbox_fail(&r->err, errno, errno == EXDEV ?
				  "%s: the directory passed is on no mount of sboxd's mount namespace (another namespace's mount), where its path can't be checked against AllowBindPaths=" :
				  "%s: the client's fd", what);
			return refused(r, SBOX_E_PROTO);
		}
		if (sbox_bounds_check_bind(&d->site.daemon.bounds, what, real, &r->err) < 0)
			return refused(r, SBOX_E_BOUND);
	}
	return 0;
}

int client_binds_check(struct sboxd *d, const struct sbox_requester *who,
		       const struct sbox_msg *m, const int *fds, const struct sbox_policy *p,
		       int *src, struct refusal *r)
{
	struct our_mounts ours = { 0 };
	int rc = map_binds(d, who, m, fds, p, src, &ours, r) < 0 ||
		 check_pass_dirs(d, who, m, fds, &ours, r) < 0 ? -1 : 0;

	our_mounts_free(&ours);
	return rc;
}
