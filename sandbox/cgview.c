/* SPDX-License-Identifier: MIT */
/*
 * The sandbox's /sys/fs/cgroup (sandbox/cgview.h): planned in the parent,
 * mounted by init at C6, after its cgroup namespace (C4).
 */
#include "sandbox/cgview.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/fsutil.h"
#include "sandbox/kapi.h"
#include "sandbox/mounts.h"

/* The directory shown at /sys/fs/cgroup on a v1 host (a mount point per
 * hierarchy) and where there is nothing to show (empty): on the staging
 * tmpfs, whose one superblock every mask shares already (sandbox/masks.h). */
#define SKELETON SBOX_STAGING_DIR "/cgroup"

#define RO_ATTRS (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)
#define RO_MS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* opts without rw, ro and release_agent=, into out; false when it does not
 * fit (a hierarchy selected by part of its options could be another). */
static bool keep_opts(const char *opts, char *out, size_t len)
{
	size_t at = 0;

	out[0] = '\0';
	for (const char *p = opts; *p; ) {
		size_t n = strcspn(p, ",");

		if (n && !(n == 2 && (strncmp(p, "rw", 2) == 0 || strncmp(p, "ro", 2) == 0)) &&
		    strncmp(p, "release_agent=", 14) != 0) {
			if (at + (at > 0) + n >= len)
				return false;
			if (at > 0)
				out[at++] = ',';
			memcpy(out + at, p, n);
			at += n;
			out[at] = '\0';
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return true;
}

bool sbox_cgview_add(struct sbox_cgview *v, bool v2, const char *mnt, const char *super_opts)
{
	static const char base[] = SBOX_CGVIEW_DIR;
	struct sbox_cgview_fs *f;
	const char *name;

	if (strncmp(mnt, base, sizeof(base) - 1) != 0)
		return false;
	name = mnt + sizeof(base) - 1;
	if (*name == '/')
		name++;
	else if (*name != '\0')
		return false;                   /* /sys/fs/cgroupX */
	if (strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strlen(name) >= SBOX_CGVIEW_NAME_MAX || v->n >= SBOX_CGVIEW_MAX)
		return false;
	/* /sys/fs/cgroup itself is a cgroup2's only, and then the only one. */
	if ((name[0] == '\0' && (!v2 || v->n > 0)) || (v->n > 0 && v->fs[0].name[0] == '\0'))
		return false;
	f = &v->fs[v->n];
	if (!keep_opts(super_opts ? super_opts : "", f->opts, sizeof(f->opts)))
		return false;
	f->v2 = v2;
	snprintf(f->name, sizeof(f->name), "%s", name);
	v->n++;
	return true;
}

/* The skeleton's mount points, and a link for each part of a co-mounted
 * hierarchy's name ("cpu" -> "cpu,cpuacct"), as systemd makes them on the
 * host: a worker reading /sys/fs/cgroup/cpu/cpu.cfs_quota_us finds it. */
static int make_skeleton(const struct sbox_cgview *v, struct sbox_err *err)
{
	char path[sizeof(SKELETON) + 2 * SBOX_CGVIEW_NAME_MAX];

	if (mkdir(SKELETON, 0755) < 0)
		return sbox_fail(err, errno, "creating %s", SKELETON);
	for (size_t i = 0; v && i < v->n; i++) {
		const char *name = v->fs[i].name;

		if (!name[0])
			continue;       /* pure v2's: the skeleton itself */
		snprintf(path, sizeof(path), "%s/%s", SKELETON, name);
		if (mkdir(path, 0755) < 0)
			return sbox_fail(err, errno, "creating %s", path);
	}
	for (size_t i = 0; v && i < v->n; i++) {
		const char *name = v->fs[i].name;

		for (const char *p = name; strchr(name, ',') && *p; ) {
			size_t n = strcspn(p, ",");

			snprintf(path, sizeof(path), "%s/%.*s", SKELETON, (int)n, p);
			/* A part that is a hierarchy's own name keeps its
			 * directory. */
			if (n && symlink(name, path) < 0 && errno != EEXIST)
				return sbox_fail(err, errno, "creating the link %s", path);
			p += n;
			if (*p == ',')
				p++;
		}
	}
	return 0;
}

/* The skeleton bound read-only, nosuid, nodev, noexec over target. */
static int cover(int target, struct sbox_err *err)
{
	_cleanup_close_ int src = sbox_bind_source(SKELETON, RO_ATTRS, false, err);

	if (src < 0 || sbox_bind_attach(src, target, RO_ATTRS, false, err) < 0) {
		sbox_err_prefix(err, "covering %s", SBOX_CGVIEW_DIR);
		return -1;
	}
	return 0;
}

/* One hierarchy, mounted afresh on target: in this cgroup namespace its
 * root is the sandbox's own cgroup, nothing above or beside it. */
static int mount_one(int target, const struct sbox_cgview_fs *f, struct sbox_err *err)
{
	const char *type = f->v2 ? "cgroup2" : "cgroup";

	if (sbox_mount_at_fd(type, target, type, RO_MS, f->opts[0] ? f->opts : NULL) < 0)
		return sbox_fail(err, errno, "mounting the sandbox's own cgroup on %s%s%s (%s, options '%s')",
				 SBOX_CGVIEW_DIR, f->name[0] ? "/" : "", f->name, type, f->opts);
	return 0;
}

/* Each hierarchy on its directory of the skeleton, once the skeleton
 * covers /sys/fs/cgroup; pure v2's one on the skeleton itself.  Never on
 * the host's mount directly: the kernel refuses a mount at the root of a
 * mount of the same superblock (EBUSY, do_add_mount()), and cgroup2 has
 * one.  The view is opened anew (target is the covered directory); its
 * entries are the skeleton's own, so each is opened below it by name, a
 * directory and no link. */
static int mount_each(int root_fd, const struct sbox_cgview *v, struct sbox_err *err)
{
	_cleanup_close_ int view = sbox_open_in_root(root_fd, SBOX_CGVIEW_DIR,
						     O_DIRECTORY | O_NOFOLLOW);

	if (view < 0)
		return sbox_fail(err, errno, "opening %s in the new root", SBOX_CGVIEW_DIR);
	for (size_t i = 0; i < v->n; i++) {
		_cleanup_close_ int at = v->fs[i].name[0] ?
			openat(view, v->fs[i].name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) :
			fcntl(view, F_DUPFD_CLOEXEC, 0);

		if (at < 0)
			return sbox_fail(err, errno, "opening %s/%s in the new root", SBOX_CGVIEW_DIR,
					 v->fs[i].name);
		if (mount_one(at, &v->fs[i], err) < 0)
			return -1;
	}
	return 0;
}

int sbox_cgview_mount(int root_fd, const struct sbox_cgview *v, struct sbox_err *err)
{
	_cleanup_close_ int target = sbox_open_in_root(root_fd, SBOX_CGVIEW_DIR,
						       O_DIRECTORY | O_NOFOLLOW);
	size_t n = v ? v->n : 0;

	if (target < 0) {
		if (errno == ENOENT)
			return 0;   /* a root without /sys: nothing of the host's to cover */
		return sbox_fail(err, errno, "opening %s in the new root", SBOX_CGVIEW_DIR);
	}
	if (make_skeleton(v, err) < 0 || cover(target, err) < 0)
		return -1;
	return n ? mount_each(root_fd, v, err) : 0;
}
