/* SPDX-License-Identifier: MIT */
#include "sandbox/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/kapi.h"
#include "sandbox/mounts.h"
#include "sandbox/mounts_classic.h"
#include "sandbox/resolve.h"

/*
 * Which interfaces this process has, probed once (the sandbox's child is a
 * fresh process per launch, so it probes again: a few syscalls).  A probe is
 * a harmless call that can only fail when the syscall is missing: ENOSYS on
 * an old kernel or under valgrind, EPERM under a seccomp profile that hides
 * it.  A build with SBOX_FORCE_CLASSIC_FS never uses them, so that the
 * classic path can be tested on a new kernel; it is a build of its own,
 * never a setting anyone can change at run time (docs/design.md).
 */
enum { PROBE_UNKNOWN, PROBE_YES, PROBE_NO };

static bool probe_missing(int r)
{
	return r < 0 && (errno == ENOSYS || errno == EPERM);
}

bool sbox_have_mount_api(void)
{
	static int have = PROBE_UNKNOWN;

#ifdef SBOX_FORCE_CLASSIC_FS
	return false;
#endif
	if (have == PROBE_UNKNOWN) {
		struct mount_attr attr = { 0 };
		int saved = errno;
		/* Without OPEN_TREE_CLONE, open_tree() is an O_PATH open:
		 * nothing is cloned and no privilege is needed. */
		int fd = sbox_sys_open_tree(AT_FDCWD, "/", OPEN_TREE_CLOEXEC);

		have = PROBE_NO;
		if (fd >= 0) {
			close(fd);
			/* mount_setattr (5.12) came after open_tree (5.2):
			 * EBADF here means it exists. */
			if (!probe_missing(sbox_sys_mount_setattr(-1, "", AT_EMPTY_PATH, &attr)))
				have = PROBE_YES;
		}
		errno = saved;
	}
	return have == PROBE_YES;
}

bool sbox_have_openat2(void)
{
	static int have = PROBE_UNKNOWN;

#ifdef SBOX_FORCE_CLASSIC_FS
	return false;
#endif
	if (have == PROBE_UNKNOWN) {
		struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
		int saved = errno;
		int fd = sbox_sys_openat2(AT_FDCWD, "/", &how);

		have = fd >= 0 ? PROBE_YES : PROBE_NO;
		if (fd >= 0)
			close(fd);
		errno = saved;
	}
	return have == PROBE_YES;
}

int sbox_open_in_root(int root_fd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_PATH | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd, tries = 0;

	while (*path == '/')
		path++;
	if (*path == '\0')
		path = ".";
	if (!sbox_have_openat2())
		return sbox_resolve_in_root(root_fd, path, flags);
	/* EAGAIN: a rename raced with the resolution; the kernel asks
	 * for a retry rather than risk a walk out of the root. */
	do
		fd = sbox_sys_openat2(root_fd, path, &how);
	while (fd < 0 && errno == EAGAIN && ++tries < 16);
	/* A worker's filter installed before W2 (NoNewPrivileges=no) may
	 * hide openat2: the walk gives the same guarantee. */
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		return sbox_resolve_in_root(root_fd, path, flags);
	return fd;
}

/*
 * The tmpfs this process mounted for the sandbox (/dev, /dev/shm, /tmp,
 * /run, TemporaryFileSystem=), by device number: the only file systems a
 * missing mount point may be made in.  Being a writable tmpfs is not
 * enough: a client's bind source can be one of the host's (Debian's /run,
 * every host's /dev, a directory it can reach but not write), bound
 * read-write, and the mount point would be made there as root.  The
 * process is the sandbox's own child (init), fresh per sandbox, so the
 * list holds only that sandbox's; a pool's init keeps it from prepare to
 * the late binds of C6g.
 */
#define STAGING_TMPFS SBOX_STAGING_DIR "/tmpfs"

static dev_t *own_tmpfs;
static size_t n_own_tmpfs;

static int note_own_tmpfs(const char *path, struct sbox_err *err)
{
	struct stat st;
	dev_t *v;

	if (stat(path, &st) < 0)
		return sbox_fail(err, errno, "checking the tmpfs just mounted on %s", path);
	v = realloc(own_tmpfs, (n_own_tmpfs + 1) * sizeof(*v));
	if (!v)
		return sbox_fail(err, ENOMEM, "noting the tmpfs on %s", path);
	own_tmpfs = v;
	own_tmpfs[n_own_tmpfs++] = st.st_dev;
	return 0;
}

/* Mounted first on a directory of the staging tmpfs, which only this
 * process can reach, and noted there; then moved onto target.  Noted by
 * its path in the root after the mount instead, a link swapped meanwhile
 * in a bind the user controls could have it note another tmpfs. */
int sbox_mount_own_tmpfs(int target_fd, unsigned long flags, const char *options,
			 struct sbox_err *err, const char *what)
{
	char target[64];

	if (mkdir(STAGING_TMPFS, 0700) < 0 && errno != EEXIST)
		return sbox_fail(err, errno, "creating %s", STAGING_TMPFS);
	if (mount("tmpfs", STAGING_TMPFS, "tmpfs", flags, options) < 0)
		return sbox_fail(err, errno, "mounting tmpfs on %s (options '%s')", what,
				 options ? options : "");
	snprintf(target, sizeof(target), "/proc/self/fd/%d", target_fd);
	if (note_own_tmpfs(STAGING_TMPFS, err) < 0) {
		umount2(STAGING_TMPFS, MNT_DETACH);
		return -1;
	}
	if (sbox_mount_change(STAGING_TMPFS, target, MS_MOVE) < 0) {
		sbox_fail(err, errno, "moving the tmpfs for %s into place", what);
		umount2(STAGING_TMPFS, MNT_DETACH);
		return -1;
	}
	return 0;
}

static bool is_own_tmpfs(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return false;
	for (size_t i = 0; i < n_own_tmpfs; i++)
		if (own_tmpfs[i] == st.st_dev)
			return true;
	return false;
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
	 * our mount points (made as root), so refuse anything but a tmpfs
	 * of our own (sbox_mount_own_tmpfs) that we can write. */
	if (fstatfs(pfd, &sfs) < 0)
		return sbox_fail(err, errno, "checking %s", parent);
	if (sfs.f_type != TMPFS_MAGIC || (sfs.f_flags & ST_RDONLY) || !is_own_tmpfs(pfd))
		return sbox_fail(err, ENOENT, "mount point %s does not exist and cannot be made there (the sandbox's root is the host's, read-only; a destination must exist or lie inside a TemporaryFileSystem= or the private /dev, /tmp, /run, not in a tmpfs a bind brought in)",
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
	if (!fstype)
		return sbox_mount_change(source, target, flags);
	return mount(source, target, fstype, flags, data);
}

int sbox_mount_change(const char *source, const char *target, unsigned long flags)
{
	/* The kernel ignores the type (and, but for a bind, the source) of
	 * these; valgrind 3.19 reads the type string anyway. */
	return mount(source ? source : "none", target, "none", flags, NULL);
}

int sbox_mount_tmpfs(int target_fd, unsigned long flags, const char *options,
		     struct sbox_err *err, const char *what)
{
	if (sbox_mount_at_fd("tmpfs", target_fd, "tmpfs", flags, options) < 0)
		return sbox_fail(err, errno, "mounting tmpfs on %s (options '%s')", what,
				 options ? options : "");
	return 0;
}

int sbox_bind_source(const char *path, unsigned long long attrs, bool recursive,
		     struct sbox_err *err)
{
	_cleanup_close_ int fd = -1;
	struct mount_attr attr = { .attr_set = attrs, .propagation = MS_PRIVATE };

	if (!sbox_have_mount_api()) {
		/* Classic: a handle on the path now, bound at attach time
		 * through /proc/self/fd (sbox_bind_attach). */
		fd = open(path, O_PATH | O_CLOEXEC);
		if (fd < 0)
			return sbox_fail(err, errno, "opening %s", path);
		return sbox_steal_fd(fd);
	}
	fd = sbox_sys_open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
				(recursive ? AT_RECURSIVE : 0));
	if (fd < 0)
		return sbox_fail(err, errno, "cloning the mount tree of %s", path);
	/* Private: nothing mounted later on the host shows up inside (it
	 * would not have the attributes), and nothing goes back.  Set on the
	 * detached clone, so it is never visible without them. */
	if (sbox_sys_mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr) < 0)
		return sbox_fail(err, errno, "setting attributes on the clone of %s", path);
	return sbox_steal_fd(fd);
}

int sbox_bind_attach(int src, int target_fd, unsigned long long attrs, bool recursive,
		     struct sbox_err *err)
{
	char path[64];
	unsigned long ms;

	if (sbox_have_mount_api()) {
		struct mount_attr attr = { .attr_set = attrs };

		/* The attributes the caller asks for here (mount_bind's nodev
		 * where no device cgroup decides) go on the detached tree
		 * before it is attached: it is never visible without them. */
		if (attrs && sbox_sys_mount_setattr(src, "", AT_EMPTY_PATH |
						    (recursive ? AT_RECURSIVE : 0), &attr) < 0)
			return sbox_fail(err, errno, "setting attributes 0x%llx on the clone", attrs);
		if (sbox_sys_move_mount(src, "", target_fd, "",
					MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			return sbox_fail(err, errno, "attaching the clone");
		return 0;
	}
	if (sbox_attrs_to_ms(attrs, &ms) < 0)
		return sbox_fail(err, errno, "mount attributes 0x%llx", attrs);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", src);
	return sbox_classic_bind(path, target_fd, ms, recursive, err);
}

int sbox_remount_flags(int fd, unsigned long long attrs, bool recursive, struct sbox_err *err)
{
	struct mount_attr attr = { .attr_set = attrs };
	unsigned long ms;

	if (sbox_have_mount_api()) {
		if (sbox_sys_mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0),
					   &attr) < 0)
			return sbox_fail(err, errno, "setting mount attributes");
		return 0;
	}
	if (sbox_attrs_to_ms(attrs, &ms) < 0)
		return sbox_fail(err, errno, "mount attributes 0x%llx", attrs);
	return sbox_classic_remount(fd, ms, recursive, err);
}

int sbox_mount_setattr_fd(int fd, unsigned long long set, bool recursive)
{
	struct sbox_err err = { 0 };

	if (sbox_remount_flags(fd, set, recursive, &err) < 0) {
		errno = err.errnum ? err.errnum : EINVAL;
		return -1;
	}
	return 0;
}

/* Read a small text file whole; "" and -1 with errno when it can't be. */
int sbox_read_text(const char *path, char *buf, size_t len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t off = 0;

	buf[0] = '\0';
	if (fd < 0)
		return -1;
	while (off + 1 < len) {
		ssize_t n = read(fd, buf + off, len - 1 - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	buf[off] = '\0';
	return 0;
}

int sbox_pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}
