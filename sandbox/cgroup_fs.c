/* SPDX-License-Identifier: MIT */
/*
 * cgroupfs file helpers shared by both cgroup backends
 * (sandbox/cgroup_backend.h): one value per write, reads of flat and keyed
 * files, directories made and opened, the listed tasks killed.  Every error
 * says which file of which cgroup.
 */
#include "sandbox/cgroup_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

static int write_at(int dirfd, const char *file, const char *value)
{
	int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int e;

	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	e = errno;
	close(fd);
	if (n < 0)
		return -e;
	return (size_t)n == strlen(value) ? 0 : -EIO;
}

int sbox_cg_write(const struct sbox_cg_dir *d, const char *file, const char *value,
		  struct sbox_err *err)
{
	int r = write_at(d->fd, file, value);

	if (r < 0)
		return sbox_fail(err, -r, "writing '%s' to %s/%s", value, d->path, file);
	return 0;
}

int sbox_cg_write_path(const char *dir, const char *file, const char *value,
		       struct sbox_err *err)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return sbox_fail(err, errno, "opening the cgroup %s", dir);
	r = write_at(fd, file, value);
	if (r < 0)
		return sbox_fail(err, -r, "writing '%s' to %s/%s", value, dir, file);
	return 0;
}

ssize_t sbox_cg_read(int dirfd, const char *file, char *buf, size_t len)
{
	int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -errno;
	while (got + 1 < len) {
		ssize_t n = read(fd, buf + got, len - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}

ssize_t sbox_cg_read_path(const char *dir, const char *file, char *buf, size_t len)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return sbox_cg_read(fd, file, buf, len);
}

int sbox_cg_read_u64(int dirfd, const char *file, uint64_t *out)
{
	char buf[64];
	ssize_t n = sbox_cg_read(dirfd, file, buf, sizeof(buf));
	char *end;

	if (n < 0)
		return (int)n;
	buf[strcspn(buf, "\n")] = '\0';
	if (strcmp(buf, "max") == 0 || strcmp(buf, "-1") == 0) {
		*out = UINT64_MAX;
		return 0;
	}
	errno = 0;
	*out = strtoull(buf, &end, 10);
	if (errno || end == buf || *end)
		return -EINVAL;
	return 0;
}

int sbox_cg_read_key(int dirfd, const char *file, const char *key, uint64_t *out)
{
	char buf[4096];
	ssize_t n = sbox_cg_read(dirfd, file, buf, sizeof(buf));
	size_t klen = strlen(key);

	if (n < 0)
		return (int)n;
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, klen) == 0 && l[klen] == ' ') {
			*out = strtoull(l + klen + 1, NULL, 10);
			return 0;
		}
	}
	return -ENOENT;
}

bool sbox_cg_has_file(int dirfd, const char *file)
{
	return faccessat(dirfd, file, F_OK, 0) == 0;
}

int sbox_cg_mkdir_parents(const char *root, const char *rel,
			  int (*made)(const char *path, void *arg), void *arg,
			  struct sbox_err *err)
{
	char path[PATH_MAX];
	size_t n = (size_t)snprintf(path, sizeof(path), "%s", root);
	const char *p = rel;

	while (*p) {
		size_t len;

		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if (len == 0)
			break;
		if (n + 1 + len >= sizeof(path))
			return sbox_fail(err, ENAMETOOLONG, "cgroup path %s%s", root, rel);
		path[n++] = '/';
		memcpy(path + n, p, len);
		n += len;
		path[n] = '\0';
		p += len;
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return sbox_fail(err, errno, "creating the parent cgroup %s", path);
		if (made && made(path, arg) < 0)
			return sbox_fail(err, errno, "preparing the parent cgroup %s", path);
	}
	return 0;
}

int sbox_cg_make_dir(struct sbox_cg_dir *d, const char *path, struct sbox_err *err)
{
	d->path = strdup(path);
	if (!d->path)
		return sbox_fail(err, ENOMEM, "creating the cgroup %s", path);
	if (mkdir(path, 0755) < 0) {
		int e = errno;

		free(d->path);
		d->path = NULL;
		if (e == EEXIST)
			return sbox_fail(err, e, "creating the sandbox's cgroup %s (a stale one of that name?)", path);
		return sbox_fail(err, e, "creating the sandbox's cgroup %s", path);
	}
	d->fd = open(path, SBOX_CG_DIR_OPEN);
	if (d->fd < 0) {
		/* Not yet counted in the cgroup's dirs: removed here, or the
		 * failed launch would leave it (no process can be in it). */
		int e = errno;

		rmdir(path);
		free(d->path);
		d->path = NULL;
		return sbox_fail(err, e, "opening the sandbox's cgroup %s", path);
	}
	return 0;
}

int sbox_cg_kill_listed(const struct sbox_cg_dir *d)
{
	char buf[65536];
	ssize_t n = sbox_cg_read(d->fd, "cgroup.procs", buf, sizeof(buf));
	int count = 0;

	if (n < 0)
		return (int)n;
	for (char *l = buf; *l; ) {
		char *end;
		long pid = strtol(l, &end, 10);

		if (end == l)
			break;
		/* The cgroup's processes are frozen (or about to die): their
		 * pids can't be reused between the read and the kill. */
		if (pid > 0)
			kill((pid_t)pid, SIGKILL);
		count++;
		l = end;
		while (*l == '\n')
			l++;
	}
	return count;
}

bool sbox_cg_is_empty(const struct sbox_cg_dir *d)
{
	char buf[16];

	if (d->fd < 0)
		return true;
	return sbox_cg_read(d->fd, "cgroup.procs", buf, sizeof(buf)) <= 0;
}

int sbox_cg_write_limit(const struct sbox_cg_dir *d, const char *file, const char *value,
			const char *directive, struct sbox_err *err)
{
	if (sbox_cg_write(d, file, value, err) == 0)
		return 0;
	if (err->errnum == ENOENT)
		sbox_err_prefix(err, "%s: this host can't enforce it (no %s in the sandbox's cgroup)",
				directive, file);
	else
		sbox_err_prefix(err, "%s", directive);
	return -1;
}

/* The same file names on v1 and v2. */
int sbox_cg_write_cpuset(const struct sbox_cg_dir *d, const struct sbox_resources *r,
			 struct sbox_err *err)
{
	char text[128];

	if (r->allowed_mems) {
		snprintf(text, sizeof(text), "AllowedMemoryNodes=%.100s", r->allowed_mems);
		if (sbox_cg_write_limit(d, "cpuset.mems", r->allowed_mems, text, err) < 0)
			return -1;
	}
	if (r->allowed_cpus) {
		snprintf(text, sizeof(text), "AllowedCPUs=%.100s", r->allowed_cpus);
		if (sbox_cg_write_limit(d, "cpuset.cpus", r->allowed_cpus, text, err) < 0)
			return -1;
	}
	return 0;
}
