/* SPDX-License-Identifier: MIT */
#include "sandbox/masks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/policy.h"
#include "sandbox/fsutil.h"
#include "sandbox/kapi.h"
#include "sandbox/mounts.h"

#ifndef RESOLVE_NO_SYMLINKS
#define RESOLVE_NO_SYMLINKS 0x04
#endif

#define SAFE_RO_ATTRS (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

/* Docker's and runc's masked paths, and more of the same kind: kernel
 * memory and addresses, keys, timing and scheduling details of the whole
 * host, firmware tables, energy counters (PLATYPUS, CVE-2020-8694), the
 * kernel's debug, trace and security file systems, pinned BPF objects.
 * Most are root-only by mode, which User=root would pass without any
 * capability; masked, nobody reads them. */
const char *const sbox_masked_paths[] = {
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/key-users",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
	"/proc/scsi", "/proc/sysrq-trigger", "/proc/kmsg", "/proc/kpagecount",
	"/proc/kpageflags", "/proc/kpagecgroup", "/proc/vmallocinfo", "/proc/pagetypeinfo",
	"/proc/slabinfo",
	"/sys/firmware", "/sys/devices/virtual/powercap", "/sys/kernel/debug",
	"/sys/kernel/tracing", "/sys/kernel/security", "/sys/fs/bpf",
	NULL,
};

/* Read-only in the fresh /proc (the rest of /proc is per pid namespace):
 * sysctls, bus and irq settings of the whole host.  /sys is already
 * read-only, as part of the host's root. */
const char *const sbox_readonly_paths[] = {
	"/proc/sys", "/proc/bus", "/proc/fs", "/proc/irq",
	NULL,
};

/* Bind src_path (a file, or a directory of the new root through its fd's
 * /proc/self/fd link) read-only, nosuid, nodev, noexec onto target, with
 * the new mount API or mount(2), whichever this kernel has. */
static int attach_ro_bind(const char *src_path, int target, bool recursive, struct sbox_err *err)
{
	_cleanup_close_ int src = sbox_bind_source(src_path, SAFE_RO_ATTRS, recursive, err);

	if (src < 0)
		return -1;
	return sbox_bind_attach(src, target, SAFE_RO_ATTRS, recursive, err);
}

static int hide_dir(int root_fd, const char *path, const char *opts, unsigned long flags,
		    struct sbox_err *err)
{
	_cleanup_close_ int target = sbox_open_in_root(root_fd, path, O_DIRECTORY | O_NOFOLLOW);

	if (target < 0) {
		/* Missing, or a symlink (Debian's /var/run -> /run: the
		 * link leads to a tmpfs already). */
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return 0;
		return sbox_fail(err, errno, "opening %s in the new root", path);
	}
	return sbox_mount_own_tmpfs(target, flags, opts, err, path);
}

int sbox_masks_hide_run(int root_fd, struct sbox_err *err)
{
	const unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;

	if (hide_dir(root_fd, "/run", "mode=0755,size=64k", flags, err) < 0)
		return -1;
	return hide_dir(root_fd, "/var/run", "mode=0755,size=64k", flags, err);
}

int sbox_fs_hide(int target, const char *what, struct sbox_err *err)
{
	struct stat st;

	if (fstat(target, &st) < 0)
		return sbox_fail(err, errno, "%s", what);
	if (attach_ro_bind(S_ISDIR(st.st_mode) ? SBOX_HIDDEN_DIR : SBOX_HIDDEN_FILE, target, false,
			   err) < 0) {
		sbox_err_prefix(err, "%s: mounting over it", what);
		return -1;
	}
	return 0;
}

static int mask_one(int root_fd, const char *path, struct sbox_err *err)
{
	_cleanup_close_ int target = sbox_open_in_root(root_fd, path, O_NOFOLLOW);
	char what[256];

	if (target < 0) {
		if (errno == ENOENT)
			return 0;   /* not on this kernel: nothing to mask */
		return sbox_fail(err, errno, "masking %s: opening it", path);
	}
	snprintf(what, sizeof(what), "masking %s", path);
	return sbox_fs_hide(target, what, err);
}

static int make_readonly(int root_fd, const char *path, struct sbox_err *err)
{
	_cleanup_close_ int target = sbox_open_in_root(root_fd, path, O_DIRECTORY | O_NOFOLLOW);
	char self[64];

	if (target < 0) {
		if (errno == ENOENT)
			return 0;
		return sbox_fail(err, errno, "making %s read-only: opening it", path);
	}
	/* A read-only bind of the directory, on top of itself. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", target);
	if (attach_ro_bind(self, target, true, err) < 0) {
		sbox_err_prefix(err, "making %s read-only", path);
		return -1;
	}
	return 0;
}

int sbox_masks_apply(int root_fd, struct sbox_err *err)
{
	for (size_t i = 0; sbox_readonly_paths[i]; i++)
		if (make_readonly(root_fd, sbox_readonly_paths[i], err) < 0)
			return -1;
	for (size_t i = 0; sbox_masked_paths[i]; i++)
		if (mask_one(root_fd, sbox_masked_paths[i], err) < 0)
			return -1;
	return 0;
}

/* The component of path at *pos, opened below dir as itself (O_PATH |
 * O_NOFOLLOW: a symlink is not followed), with its stat; *pos moves past
 * it.  1 with *out set; 0 at the path's end; -1 with errno. */
static int open_component(int dir, const char *path, size_t *pos, char name[NAME_MAX + 1],
			  struct stat *st, int *out)
{
	size_t len;
	int fd;

	while (path[*pos] == '/')
		(*pos)++;
	if (path[*pos] == '\0')
		return 0;
	len = strcspn(path + *pos, "/");
	if (len > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(name, path + *pos, len);
	name[len] = '\0';
	*pos += len;
	fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0) {
		sbox_closep(&fd);
		return -1;
	}
	*out = fd;
	return 1;
}

static int open_no_symlinks_walk(const char *path)
{
	_cleanup_close_ int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	size_t pos = 0;

	if (dir < 0)
		return -1;
	for (;;) {
		char name[NAME_MAX + 1];
		struct stat st;
		int fd, r;

		r = open_component(dir, path, &pos, name, &st, &fd);
		if (r <= 0)
			return r < 0 ? -1 : sbox_steal_fd(dir);
		/* A link opens as itself: refuse it. */
		if (S_ISLNK(st.st_mode)) {
			close(fd);
			errno = ELOOP;
			return -1;
		}
		close(dir);
		dir = fd;
	}
}

int sbox_open_no_symlinks(const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd, tries = 0;

	if (path[0] != '/') {
		errno = EINVAL;
		return -1;
	}
	if (!sbox_have_openat2())
		return open_no_symlinks_walk(path);
	do
		fd = sbox_sys_openat2(AT_FDCWD, path, &how);
	while (fd < 0 && errno == EAGAIN && ++tries < 16);
	return fd;
}

/* Why the link at fd (in the caller's view) may not be followed for this
 * caller: NULL if it may.  A link on procfs may be a magic link
 * (/proc/self/fd/N, /proc/PID/root): it would reach whatever the
 * launcher holds, never a path.  A privileged caller follows only links
 * owned by root or by itself: another user's link could point root's bind
 * at /etc (a confused deputy).  An unprivileged caller binds with its own
 * rights in its user namespace, so any owner's link is its own choice. */
static const char *link_refused(int fd, const struct sbox_bind_caller *c, uid_t *owner)
{
	struct statfs sfs;
	struct stat st;

	if (fstatfs(fd, &sfs) < 0 || sfs.f_type == PROC_SUPER_MAGIC)
		return "a link in /proc (a magic link such as /proc/self/fd/N) is never followed";
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return "the link can't be read";
	*owner = st.st_uid;
	if (c->privileged && st.st_uid != 0 && st.st_uid != c->uid)
		return "the link belongs to another user, who could point it elsewhere";
	return NULL;
}

/* Open path as the caller sees it, following symlinks one component at a
 * time (O_NOFOLLOW, the link's text read and spliced back), each link
 * checked by link_refused().  The result is an O_PATH fd: the bind is
 * made through it, so a link swapped after this can't redirect it.
 * -1 with errno; EPERM with *why set for a refused link. */
static int open_source_walk(const char *path, const struct sbox_bind_caller *c,
			    const char **why, uid_t *owner, char *link_at, size_t link_at_len)
{
	_cleanup_close_ int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char rest[2 * PATH_MAX], walked[PATH_MAX] = "";
	size_t pos = 0;
	unsigned links = 0;

	*why = NULL;
	if (dir < 0)
		return -1;
	if (strlen(path) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(rest, sizeof(rest), "%s", path);
	for (;;) {
		char name[NAME_MAX + 1], target[PATH_MAX];
		size_t tail;
		struct stat st;
		ssize_t n;
		int fd, r;

		r = open_component(dir, rest, &pos, name, &st, &fd);
		if (r <= 0)
			return r < 0 ? -1 : sbox_steal_fd(dir);
		snprintf(walked + strlen(walked), sizeof(walked) - strlen(walked), "/%s", name);
		if (!S_ISLNK(st.st_mode)) {
			close(dir);
			dir = fd;
			continue;
		}
		*why = link_refused(fd, c, owner);
		if (*why) {
			snprintf(link_at, link_at_len, "%s", walked);
			close(fd);
			errno = EPERM;
			return -1;
		}
		n = readlinkat(fd, "", target, sizeof(target));
		close(fd);
		if (n < 0)
			return -1;
		tail = strlen(rest + pos);
		if (++links > 40 || n == 0 || (size_t)n >= sizeof(target) ||
		    (size_t)n + tail + 2 > sizeof(rest)) {
			errno = n == 0 ? ENOENT : ELOOP;
			return -1;
		}
		/* rest becomes TARGET + "/" + what followed the link. */
		memmove(rest + n + 1, rest + pos, tail + 1);
		memcpy(rest, target, (size_t)n);
		rest[n] = '/';
		pos = 0;
		if (target[0] == '/') {
			close(dir);
			dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (dir < 0)
				return -1;
			walked[0] = '\0';
		} else {
			/* relative: from the link's directory, the one we hold */
			char *slash = strrchr(walked, '/');

			if (slash)
				*slash = '\0';
		}
	}
}

int sbox_open_bind_source(const struct sbox_mount *m, const struct sbox_bind_caller *c,
			  bool *missing, struct sbox_err *err)
{
	const char *what = m->kind == SBOX_MOUNT_BIND ? "BindPaths" : "BindReadOnlyPaths";
	char link_at[PATH_MAX] = "";
	const char *why;
	uid_t owner = 0;
	int fd;

	*missing = false;
	if (m->src[0] != '/')
		return sbox_fail(err, EINVAL, "%s=%s: the bind source must be an absolute path", what,
				 m->src);
	fd = open_source_walk(m->src, c, &why, &owner, link_at, sizeof(link_at));
	if (fd >= 0)
		return fd;
	if (errno == ENOENT && m->optional) {
		*missing = true;
		return -1;
	}
	if (why)
		return sbox_fail(err, 0, "%s=%s: bind source: %s is a symbolic link (owner uid %u) that sbox does not follow: %s; name the real path",
				 what, m->src, link_at, (unsigned)owner, why);
	return sbox_fail(err, errno, "%s=%s: bind source %s", what, m->src, m->src);
}
