/* SPDX-License-Identifier: MIT */
#include "sandbox/devfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/mounts.h"
#include "sandbox/fsutil.h"
#include "sandbox/devices.h"
#include "sandbox/gpu_grant.h"

const char *const sbox_devfs_base_nodes[] = {
	"null", "zero", "full", "random", "urandom", "tty", NULL,
};

static const struct {
	const char *name;
	const char *target;
} dev_links[] = {
	{ "fd", "/proc/self/fd" },
	{ "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" },
	{ "stderr", "/proc/self/fd/2" },
	{ "ptmx", "pts/ptmx" },
};

/* Bind the host's node SRC_ROOT/NAME onto an empty file of the same name
 * (NAME may hold a directory: "dri/renderD128").  A bind (not mknod) works
 * in a user namespace too, and the device cgroup still decides what may be
 * opened. */
static int bind_host_node(int dev_fd, const char *host, const char *name, struct sbox_err *err);

static int bind_node_from(int dev_fd, const char *src_root, const char *name,
			  struct sbox_err *err)
{
	char host[4096];

	snprintf(host, sizeof(host), "%s/%s", strcmp(src_root, "/") ? src_root : "", name);
	return bind_host_node(dev_fd, host, name, err);
}

/* Bind host (a path in the launcher's view) onto /dev/NAME. */
static int bind_host_node(int dev_fd, const char *host, const char *name, struct sbox_err *err)
{
	_cleanup_close_ int target = -1;
	_cleanup_close_ int parent = -1;
	const char *slash = strrchr(name, '/');
	const char *base = slash ? slash + 1 : name;
	int fd;

	if (slash) {
		char dir[256];

		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - name), name);
		if (mkdirat(dev_fd, dir, 0755) < 0 && errno != EEXIST)
			return sbox_fail(err, errno, "creating /dev/%s in the sandbox", dir);
		parent = openat(dev_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (parent < 0)
			return sbox_fail(err, errno, "opening /dev/%s in the sandbox", dir);
	}
	fd = openat(parent >= 0 ? parent : dev_fd, base,
		    O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0666);
	if (fd < 0)
		return sbox_fail(err, errno, "creating /dev/%s in the sandbox", name);
	close(fd);
	target = openat(parent >= 0 ? parent : dev_fd, base, O_PATH | O_CLOEXEC | O_NOFOLLOW);
	if (target < 0)
		return sbox_fail(err, errno, "opening /dev/%s in the sandbox", name);
	if (sbox_mount_at_fd(host, target, NULL, MS_BIND, NULL) < 0)
		return sbox_fail(err, errno, "binding %s into the sandbox", host);
	/* The bind keeps "dev" (it is a device node) but gets nosuid, noexec,
	 * and read-only: a read-only mount still lets a device node be
	 * opened for writing (only regular files need a writable mount), but
	 * the host's inode can't be chmod'ed or chown'ed through it. */
	close(target);
	target = openat(parent >= 0 ? parent : dev_fd, base, O_PATH | O_CLOEXEC | O_NOFOLLOW);
	if (target < 0 || sbox_mount_setattr_fd(target, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
						 MOUNT_ATTR_NOEXEC, false) < 0)
		return sbox_fail(err, errno, "hardening the bind of %s", host);
	return 0;
}

static int bind_node(int dev_fd, const char *name, struct sbox_err *err)
{
	return bind_node_from(dev_fd, "/dev", name, err);
}

/* The granted GPUs' nodes and their driver's shared nodes, under their host
 * names, from the inventory's dev root; then the DeviceAllow= nodes, from
 * the host's /dev.  Nothing of another GPU: it is not in the grant. */
static int bind_granted(int dev_fd, const struct sbox_gpu_grant *g,
			const struct sbox_device_set *set, struct sbox_err *err)
{
	struct stat st;

	for (size_t i = 0; g && i < g->n_nodes; i++)
		if (bind_node_from(dev_fd, g->dev_root, g->nodes[i].name, err) < 0)
			return -1;
	for (size_t i = 0; set && i < set->n_binds; i++) {
		/* Already there (a GPU's node the policy names too). */
		if (fstatat(dev_fd, set->binds[i], &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (bind_node_from(dev_fd, "/dev", set->binds[i], err) < 0)
			return -1;
	}
	return 0;
}

static int mount_sub(int dev_fd, const char *dir, const char *fstype, unsigned long flags,
		     const char *data, struct sbox_err *err)
{
	_cleanup_close_ int target = -1;

	if (mkdirat(dev_fd, dir, 0755) < 0)
		return sbox_fail(err, errno, "creating /dev/%s", dir);
	target = openat(dev_fd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (target < 0)
		return sbox_fail(err, errno, "opening /dev/%s", dir);
	/* /dev/shm is a tmpfs of the sandbox's own: a destination may lie
	 * in it (sandbox/fsutil.h). */
	if (strcmp(fstype, "tmpfs") == 0)
		return sbox_mount_own_tmpfs(target, flags, data, err, "/dev/shm");
	if (sbox_mount_at_fd(fstype, target, fstype, flags, data) < 0)
		return sbox_fail(err, errno, "mounting %s on /dev/%s (%s)", fstype, dir, data);
	return 0;
}

/* The caller's terminal (--tty) as /dev/console: its pty is not in the
 * private devpts, so without it `tty` says "not a tty" and ttyname() finds
 * nothing.  systemd-nspawn and LXC give a container's console the same
 * name; unlike podman -t, no pty of the sandbox's own is proxied: the
 * worker shares the caller's session (NewSession=no), so it must have the
 * caller's terminal itself, job control included.  Bound through the fd,
 * never a path: it is the caller's, whatever its name on the host. */
static int bind_console(int dev_fd, int tty_fd, struct sbox_err *err)
{
	char name[256], self[64];
	struct stat a, b;
	_cleanup_close_ int node = -1;
	int e;

	/* The fd's own mount is the launcher's namespace's, which a bind
	 * can't take from here (EINVAL): its node by name in our copy of
	 * that namespace, checked to be the very same terminal. */
	e = ttyname_r(tty_fd, name, sizeof(name));
	if (e != 0)
		return sbox_fail(err, e, "naming the caller's terminal (fd %d)", tty_fd);
	node = open(name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (node < 0)
		return sbox_fail(err, errno, "opening the caller's terminal %s", name);
	if (fstat(tty_fd, &a) < 0 || fstat(node, &b) < 0)
		return sbox_fail(err, errno, "checking the caller's terminal %s", name);
	if (!S_ISCHR(b.st_mode) || a.st_rdev != b.st_rdev || a.st_ino != b.st_ino ||
	    a.st_dev != b.st_dev)
		return sbox_fail(err, ENOTTY, "%s is not the caller's terminal", name);
	snprintf(self, sizeof(self), "/proc/self/fd/%d", node);
	if (bind_host_node(dev_fd, self, "console", err) < 0) {
		sbox_err_prefix(err, "the caller's terminal as /dev/console");
		return -1;
	}
	return 0;
}

int sbox_devfs_build(int root_fd, const struct sbox_policy *p, const struct sbox_gpu_grant *g,
		     const struct sbox_device_set *set, int console_fd, struct sbox_err *err)
{
	_cleanup_close_ int target = -1;
	_cleanup_close_ int dev_fd = -1;
	_cleanup_close_ int top = -1;

	(void)p;
	target = sbox_open_in_root(root_fd, "/dev", O_DIRECTORY);
	if (target < 0)
		return sbox_fail(err, errno, "opening /dev of the new root");
	if (sbox_mount_own_tmpfs(target, MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k,nr_inodes=256",
			     err, "/dev") < 0)
		return -1;
	dev_fd = sbox_open_in_root(root_fd, "/dev", O_DIRECTORY);
	if (dev_fd < 0)
		return sbox_fail(err, errno, "opening the new /dev");
	/* O_PATH fds can't create entries: reopen the directory. */
	top = dev_fd;
	dev_fd = openat(top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dev_fd < 0)
		return sbox_fail(err, errno, "opening the new /dev");

	for (size_t i = 0; sbox_devfs_base_nodes[i]; i++)
		if (bind_node(dev_fd, sbox_devfs_base_nodes[i], err) < 0)
			return -1;
	if (bind_granted(dev_fd, g, set, err) < 0)
		return -1;
	/* A private devpts instance: the worker's ptys are its own and it
	 * can't reach the host's terminals through /dev/pts. */
	if (mount_sub(dev_fd, "pts", "devpts", MS_NOSUID | MS_NOEXEC,
		      "newinstance,ptmxmode=0666,mode=0620", err) < 0)
		return -1;
	if (mount_sub(dev_fd, "shm", "tmpfs", MS_NOSUID | MS_NODEV,
		      "mode=1777," SBOX_TMPFS_DEFAULT_SIZE, err) < 0)
		return -1;
	if (console_fd >= 0 && bind_console(dev_fd, console_fd, err) < 0)
		return -1;
	for (size_t i = 0; i < SBOX_ARRAY_SIZE(dev_links); i++)
		if (symlinkat(dev_links[i].target, dev_fd, dev_links[i].name) < 0)
			return sbox_fail(err, errno, "creating /dev/%s", dev_links[i].name);

	/* Read-only only once the policy's binds are in place
	 * (sbox_devfs_seal), so that a bind may land under /dev. */
	/* The driver's view in the sandbox's fresh /proc (mounted before
	 * /dev): only the granted GPUs' entries. */
	return sbox_gpu_mask_proc(root_fd, g, err);
}

int sbox_devfs_seal(int root_fd, struct sbox_err *err)
{
	_cleanup_close_ int top = sbox_open_in_root(root_fd, "/dev", O_DIRECTORY);

	/* Nothing may be added to /dev from inside.  Not recursive: /dev/pts
	 * and /dev/shm stay what they are. */
	if (top < 0 || sbox_mount_setattr_fd(top, MOUNT_ATTR_RDONLY, false) < 0)
		return sbox_fail(err, errno, "making /dev read-only");
	return 0;
}
