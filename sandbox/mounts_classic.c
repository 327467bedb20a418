/* SPDX-License-Identifier: MIT */
/*
 * The classic mount(2) path.  What the new API does on a detached tree in
 * one call (mount_setattr(AT_RECURSIVE)), mount(2) can only do one mount at
 * a time, by path, once the tree is attached: so a bind is made at a private
 * staging point nobody else can reach, every mount of it is remounted there,
 * and only then is it moved (MS_MOVE) onto its target, which was resolved
 * inside the root by fd.  The root view is made in place, in the staging
 * tmpfs.
 *
 * Remounting a bind keeps what the kernel locked: in a user namespace the
 * flags of a mount copied from a more privileged namespace (ro, nosuid,
 * nodev, noexec, the atime flags) can't be cleared, and a MS_REMOUNT that
 * omits one fails with EPERM; so each mount's current flags, read from
 * /proc/self/mountinfo, are passed again (as bubblewrap's bind_mount()).
 * Submounts are reached again by their mount point resolved inside the top
 * of the tree, and identified by mount id (/proc/self/fdinfo): a path a
 * host user changes meanwhile can't make us remount anything else, and a
 * mount left without the flags fails the launch (fail closed).  Mounts
 * hidden under another one at the same place, and mounts the caller can't
 * reach (EACCES: below a directory it may not search, as bubblewrap
 * tolerates), keep their flags: nothing in the sandbox can get to them.
 */
#include "sandbox/mounts_classic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/fsutil.h"
#include "sandbox/kapi.h"
#include "sandbox/mounts.h"

/* Where a bind is assembled before it is moved to its target: in the
 * staging tmpfs (mode 0700, private to the child's mount namespace). */
#define STAGING_BIND_DIR SBOX_STAGING_DIR "/bind-dir"
#define STAGING_BIND_FILE SBOX_STAGING_DIR "/bind-file"

/* The per-mount flags a bind remount sets: all it may change. */
#define MNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | \
		   MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_NOSYMFOLLOW)
#define ATIME_FLAGS (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)

int sbox_attrs_to_ms(unsigned long long attrs, unsigned long *ms)
{
	static const struct {
		unsigned long long attr;
		unsigned long ms;
	} map[] = {
		{ MOUNT_ATTR_RDONLY, MS_RDONLY }, { MOUNT_ATTR_NOSUID, MS_NOSUID },
		{ MOUNT_ATTR_NODEV, MS_NODEV }, { MOUNT_ATTR_NOEXEC, MS_NOEXEC },
		{ MOUNT_ATTR_NODIRATIME, MS_NODIRATIME },
		{ MOUNT_ATTR_NOSYMFOLLOW, MS_NOSYMFOLLOW },
	};

	*ms = 0;
	for (size_t i = 0; i < SBOX_ARRAY_SIZE(map); i++)
		if (attrs & map[i].attr) {
			*ms |= map[i].ms;
			attrs &= ~map[i].attr;
		}
	/* MOUNT_ATTR_RELATIME is 0: "no atime bits" leaves atime alone,
	 * as mount_setattr() does with attr_clr empty. */
	switch (attrs & MOUNT_ATTR__ATIME) {
	case MOUNT_ATTR_NOATIME:
		*ms |= MS_NOATIME;
		break;
	case MOUNT_ATTR_STRICTATIME:
		*ms |= MS_STRICTATIME;
		break;
	default:
		break;
	}
	attrs &= ~(unsigned long long)MOUNT_ATTR__ATIME;
	if (attrs) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

static unsigned long parse_options(char *opts)
{
	static const struct {
		const char *name;
		unsigned long ms;
	} map[] = {
		{ "ro", MS_RDONLY }, { "nosuid", MS_NOSUID }, { "nodev", MS_NODEV },
		{ "noexec", MS_NOEXEC }, { "noatime", MS_NOATIME },
		{ "nodiratime", MS_NODIRATIME }, { "relatime", MS_RELATIME },
		{ "nosymfollow", MS_NOSYMFOLLOW },
	};
	unsigned long flags = 0;
	char *save = NULL;

	for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save))
		for (size_t i = 0; i < SBOX_ARRAY_SIZE(map); i++)
			if (strcmp(o, map[i].name) == 0)
				flags |= map[i].ms;
	return flags;
}

int sbox_mountinfo_parse_line(char *line, struct sbox_mountinfo *m)
{
	/* id parent major:minor root mount-point options [optional...] - ... */
	char *field[6];
	char *save = NULL;
	char *end;

	for (int i = 0; i < 6; i++) {
		field[i] = strtok_r(i ? NULL : line, " ", &save);
		if (!field[i])
			goto bad;
	}
	errno = 0;
	m->id = (int)strtol(field[0], &end, 10);
	if (errno || *end)
		goto bad;
	m->parent = (int)strtol(field[1], &end, 10);
	if (errno || *end)
		goto bad;
	unescape(field[4]);
	m->point = field[4];
	m->flags = parse_options(field[5]);
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

struct mtab {
	char *buf;
	struct sbox_mountinfo *v;
	size_t n;
};

static void mtab_free(struct mtab *t)
{
	free(t->buf);
	free(t->v);
}

static char *read_all(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0, size = 16384;
	char *buf, *grown;
	ssize_t n;

	if (fd < 0)
		return NULL;
	buf = malloc(size);
	while (buf) {
		n = read(fd, buf + len, size - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0) {
				buf[len] = '\0';
				return buf;
			}
			break;
		}
		len += (size_t)n;
		if (size - len > 1)
			continue;
		size *= 2;
		grown = realloc(buf, size);
		if (!grown)
			break;
		buf = grown;
	}
	free(buf);
	if (!errno)
		errno = ENOMEM;
	return NULL;
}

static int mtab_read(struct mtab *t, struct sbox_err *err)
{
	size_t lines = 0;
	char *save = NULL;

	t->buf = read_all("/proc/self/mountinfo");
	if (!t->buf)
		return sbox_fail(err, errno, "reading /proc/self/mountinfo");
	for (char *c = t->buf; *c; c++)
		lines += *c == '\n';
	t->v = calloc(lines + 1, sizeof(*t->v));
	if (!t->v)
		return sbox_fail(err, ENOMEM, "reading /proc/self/mountinfo");
	for (char *l = strtok_r(t->buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (sbox_mountinfo_parse_line(l, &t->v[t->n++]) < 0)
			return sbox_fail(err, EINVAL, "parsing /proc/self/mountinfo");
	return 0;
}

static long mtab_index(const struct mtab *t, int id)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].id == id)
			return (long)i;
	return -1;
}

/* The id of the mount an fd is on (fdinfo has it since Linux 3.15). */
static int fd_mount_id(int fd)
{
	char path[64];
	_cleanup_free_ char *info = NULL;
	char *p;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	info = read_all(path);
	if (!info)
		return -1;
	p = strstr(info, "mnt_id:");
	if (!p) {
		errno = ENOTSUP;
		return -1;
	}
	return (int)strtol(p + strlen("mnt_id:"), NULL, 10);
}

/* MS_REMOUNT | MS_BIND through the fd: only per-mount flags change, on
 * exactly the mount the fd is the root of. */
static int remount_fd(int fd, unsigned long cur, unsigned long add)
{
	char path[64];

	if (add & ATIME_FLAGS)
		cur &= ~(unsigned long)ATIME_FLAGS;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return sbox_mount_change(NULL, path, MS_REMOUNT | MS_BIND | ((cur | add) & MNT_FLAGS));
}

/* The part of point below top ("" for top itself), or NULL. */
static const char *below(const char *top, const char *point)
{
	size_t n = strlen(top);

	if (strcmp(top, "/") == 0)
		return point;
	if (strncmp(point, top, n) != 0 || (point[n] != '/' && point[n] != '\0'))
		return NULL;
	return point + n;
}

/* Another mount sits on this one's root, at the same place: it hides it. */
static bool hidden(const struct mtab *t, size_t i)
{
	for (size_t k = 0; k < t->n; k++)
		if (t->v[k].parent == t->v[i].id && strcmp(t->v[k].point, t->v[i].point) == 0)
			return true;
	return false;
}

enum { OUT, MEMBER, HIDDEN, DONE, UNREACHABLE };

/* Mark the mounts below t->v[top]: any whose parent is marked, to a fixed
 * point (mountinfo mostly lists parents first).  A mount hidden by another
 * at its place, or mounted inside one so hidden, is HIDDEN: no path leads
 * to it.  Everything else must be reached and remounted. */
static void mark_tree(const struct mtab *t, unsigned char *state, size_t top)
{
	bool more = true;

	state[top] = MEMBER;
	while (more) {
		more = false;
		for (size_t i = 0; i < t->n; i++) {
			long p;

			if (state[i] != OUT)
				continue;
			p = mtab_index(t, t->v[i].parent);
			if (p >= 0 && (size_t)p != i && state[p] != OUT) {
				/* Stacked on a hidden parent at its place: this
				 * is what hides it, and is in view itself. */
				bool inside = strcmp(t->v[i].point, t->v[p].point) != 0;

				state[i] = hidden(t, i) || (state[p] == HIDDEN && inside) ?
					   HIDDEN : MEMBER;
				more = true;
			}
		}
	}
}

static int remount_below(int top_fd, const struct mtab *t, unsigned char *state, size_t top,
			 unsigned long add, struct sbox_err *err)
{
	for (size_t i = 0; i < t->n; i++) {
		const char *rel;
		_cleanup_close_ int fd = -1;
		long j;

		if (state[i] != MEMBER)
			continue;
		rel = below(t->v[top].point, t->v[i].point);
		if (!rel)
			return sbox_fail(err, EXDEV, "mount on %s lies outside %s", t->v[i].point,
					 t->v[top].point);
		fd = sbox_open_in_root(top_fd, rel, 0);
		if (fd < 0 && errno == EACCES) {
			state[i] = UNREACHABLE;
			continue;
		}
		if (fd < 0)
			return sbox_fail(err, errno, "reaching the mount on %s", t->v[i].point);
		j = mtab_index(t, fd_mount_id(fd));
		if (j < 0 || state[j] == OUT || state[j] == HIDDEN)
			return sbox_fail(err, EXDEV, "%s does not lead to a mount of %s",
					 t->v[i].point, t->v[top].point);
		if (state[j] == DONE)
			continue;
		if (remount_fd(fd, t->v[j].flags, add) < 0)
			return sbox_fail(err, errno, "remounting %s", t->v[j].point);
		state[j] = DONE;
	}
	/* Fail closed: a path changed under us, or a mount we could not
	 * identify, must not stay without the flags. */
	for (size_t i = 0; i < t->n; i++)
		if (state[i] == MEMBER)
			return sbox_fail(err, EXDEV, "mount on %s could not be reached to remount it",
					 t->v[i].point);
	return 0;
}

int sbox_classic_remount(int fd, unsigned long ms, bool recursive, struct sbox_err *err)
{
	struct mtab t = { 0 };
	_cleanup_free_ unsigned char *state = NULL;
	long top;
	int r = -1;

	if (mtab_read(&t, err) < 0)
		goto out;
	top = mtab_index(&t, fd_mount_id(fd));
	if (top < 0) {
		sbox_fail(err, errno ? errno : ENOENT, "finding the mount of fd %d in mountinfo", fd);
		goto out;
	}
	if (remount_fd(fd, t.v[top].flags, ms) < 0) {
		sbox_fail(err, errno, "remounting %s", t.v[top].point);
		goto out;
	}
	if (!recursive) {
		r = 0;
		goto out;
	}
	state = calloc(t.n, 1);
	if (!state) {
		sbox_fail(err, ENOMEM, "remounting %s", t.v[top].point);
		goto out;
	}
	mark_tree(&t, state, (size_t)top);
	state[top] = DONE;
	r = remount_below(fd, &t, state, (size_t)top, ms, err);
out:
	mtab_free(&t);
	return r;
}

static const char *staging_point(bool dir, struct sbox_err *err)
{
	int fd;

	if (dir) {
		if (mkdir(STAGING_BIND_DIR, 0700) < 0 && errno != EEXIST) {
			sbox_fail(err, errno, "creating %s", STAGING_BIND_DIR);
			return NULL;
		}
		return STAGING_BIND_DIR;
	}
	fd = open(STAGING_BIND_FILE, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		sbox_fail(err, errno, "creating %s", STAGING_BIND_FILE);
		return NULL;
	}
	close(fd);
	return STAGING_BIND_FILE;
}

static int stage_bind(const char *src, const char *point, unsigned long ms, bool recursive,
		      struct sbox_err *err)
{
	_cleanup_close_ int fd = -1;
	unsigned long rec = recursive ? MS_REC : 0;

	if (sbox_mount_change(src, point, MS_BIND | rec) < 0)
		return sbox_fail(err, errno, "binding it at %s", point);
	/* Private before anything else: nothing done to it may propagate,
	 * and MS_MOVE refuses a mount under a shared parent. */
	if (sbox_mount_change(NULL, point, MS_PRIVATE | rec) < 0)
		return sbox_fail(err, errno, "making the bind at %s private", point);
	fd = open(point, O_PATH | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return sbox_fail(err, errno, "opening the bind at %s", point);
	return sbox_classic_remount(fd, ms, recursive, err);
}

int sbox_classic_bind(const char *src, int target_fd, unsigned long ms, bool recursive,
		      struct sbox_err *err)
{
	const char *point;
	char target[64];
	struct stat st;

	if (stat(src, &st) < 0)
		return sbox_fail(err, errno, "bind source");
	point = staging_point(S_ISDIR(st.st_mode), err);
	if (!point)
		return -1;
	snprintf(target, sizeof(target), "/proc/self/fd/%d", target_fd);
	if (stage_bind(src, point, ms, recursive, err) < 0 ||
	    (sbox_mount_change(point, target, MS_MOVE) < 0 &&
	     sbox_fail(err, errno, "moving it onto its target") < 0)) {
		/* Free the staging point for the next bind. */
		umount2(point, MNT_DETACH);
		return -1;
	}
	return 0;
}

int sbox_classic_root(const char *path, unsigned long ms, struct sbox_err *err)
{
	_cleanup_close_ int fd = -1;

	/* Unlike open_tree(), which clones the host's root before the
	 * staging tmpfs exists, this copy is made after it (the target lies
	 * in it), so it holds a copy of the staging tmpfs on its /tmp: empty
	 * but for an empty root/ and the inaccessible nodes, read-only like
	 * the rest, and covered by the sandbox's own /tmp tmpfs right after.
	 * Harmless, and gone with the old root at the pivot. */
	if (sbox_mount_change("/", path, MS_BIND | MS_REC) < 0)
		return sbox_fail(err, errno, "binding / at %s", path);
	if (sbox_mount_change(NULL, path, MS_REC | MS_PRIVATE) < 0)
		return sbox_fail(err, errno, "making %s private", path);
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return sbox_fail(err, errno, "opening %s", path);
	if (sbox_classic_remount(fd, ms, true, err) < 0)
		return -1;
	return sbox_steal_fd(fd);
}
