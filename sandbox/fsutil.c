/* SPDX-License-Identifier: MIT */
#include "sandbox/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"

int sbox_open_in_root(int root_fd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_PATH | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	while (*path == '/')
		path++;
	if (*path == '\0')
		path = ".";
	return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
}

static int create_below(int root_fd, const char *path, bool dir, int depth, struct sbox_err *err)
{
	char parent[4096];
	const char *base;
	struct statfs sfs;
	_cleanup_close_ int pfd = -1;
	int fd;

	if (depth > 32)
		return sbox_fail(err, ELOOP, "creating mount point %s", path);
	if (snprintf(parent, sizeof(parent), "%s", path) >= (int)sizeof(parent))
		return sbox_fail(err, ENAMETOOLONG, "creating mount point %s", path);
	char *slash = strrchr(parent, '/');
	if (!slash || slash[1] == '\0')
		return sbox_fail(err, EINVAL, "creating mount point %s", path);
	base = path + (slash - parent) + 1;
	*slash = '\0';
	pfd = sbox_open_in_root(root_fd, parent[0] ? parent : "/", O_DIRECTORY);
	if (pfd < 0 && errno != ENOENT)
		return sbox_fail(err, errno, "opening %s", parent);
	if (pfd < 0) {
		pfd = create_below(root_fd, parent, true, depth + 1, err);
		if (pfd < 0)
			return -1;
	}
	/* Only a tmpfs the sandbox made is writable here: the host root is
	 * mounted read-only, and a host tmpfs bound read-write must not get
	 * our mount points, so refuse anything but a tmpfs we can write. */
	if (fstatfs(pfd, &sfs) < 0)
		return sbox_fail(err, errno, "checking %s", parent);
	if (sfs.f_type != TMPFS_MAGIC || (sfs.f_flags & ST_RDONLY))
		return sbox_fail(err, ENOENT, "mount point %s does not exist and cannot be made there (the sandbox's root is the host's, read-only; a destination must exist or lie inside a TemporaryFileSystem=)",
				 path);
	/* O_PATH fds can't be used with mkdirat()'s dirfd: reopen. */
	_cleanup_close_ int wfd = openat(pfd, ".", O_DIRECTORY | O_CLOEXEC | O_RDONLY);
	if (wfd < 0)
		return sbox_fail(err, errno, "opening %s", parent);
	if (dir) {
		if (mkdirat(wfd, base, 0755) < 0 && errno != EEXIST)
			return sbox_fail(err, errno, "creating mount point %s", path);
	} else {
		fd = openat(wfd, base, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			return sbox_fail(err, errno, "creating mount point %s", path);
		close(fd);
	}
	fd = sbox_open_in_root(root_fd, path, dir ? O_DIRECTORY : 0);
	if (fd < 0)
		return sbox_fail(err, errno, "opening new mount point %s", path);
	return fd;
}

int sbox_open_or_create_in_root(int root_fd, const char *path, bool dir, struct sbox_err *err)
{
	int fd = sbox_open_in_root(root_fd, path, 0);

	if (fd >= 0)
		return fd;
	if (errno != ENOENT)
		return sbox_fail(err, errno, "opening mount point %s", path);
	sbox_err_clear(err);
	return create_below(root_fd, path, dir, 0, err);
}

int sbox_mount_at_fd(const char *source, int target_fd, const char *fstype,
		     unsigned long flags, const char *data)
{
	char target[64];

	snprintf(target, sizeof(target), "/proc/self/fd/%d", target_fd);
	return mount(source, target, fstype, flags, data);
}

int sbox_mount_tmpfs(int target_fd, unsigned long flags, const char *options,
		     struct sbox_err *err, const char *what)
{
	if (sbox_mount_at_fd("tmpfs", target_fd, "tmpfs", flags, options) < 0)
		return sbox_fail(err, errno, "mounting tmpfs on %s (options '%s')", what,
				 options ? options : "");
	return 0;
}

int sbox_mount_setattr_fd(int fd, unsigned long long set, bool recursive)
{
	struct mount_attr attr = { .attr_set = set };

	return mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0),
			     &attr, sizeof(attr));
}
