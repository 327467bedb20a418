/* SPDX-License-Identifier: MIT */
/*
 * RESOLVE_IN_ROOT in userspace (as libpathrs and filepath-securejoin do it).
 * The guarantee is the one sbox needs from openat2: nothing a host user
 * swaps into a path (a symlink, "..") can make a mount land outside the
 * sandbox's root.  It holds because every step descends one name from a
 * directory already reached from the root, with O_NOFOLLOW: a symlink is
 * read, never followed by the kernel; its text is put back into the path
 * and an absolute one restarts at the root; ".." walks the names reached so
 * far again from the root instead of asking the kernel for a parent that a
 * concurrent rename may have moved out of it.  Magic links (/proc/PID/fd/N)
 * are read as their text like any symlink: text can't leave the root.
 */
#include "sandbox/resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct walk {
	int root_fd;
	int cur;                /* O_PATH fd of the directory reached */
	char done[PATH_MAX];    /* its names below the root: "a/b/c" */
	size_t done_len;
};

static int open_name(int dir, const char *name)
{
	return openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

static void walk_set(struct walk *w, int fd)
{
	if (w->cur >= 0)
		close(w->cur);
	w->cur = fd;
}

static int walk_to_root(struct walk *w)
{
	int fd = openat(w->root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	walk_set(w, fd);
	w->done_len = 0;
	w->done[0] = '\0';
	return 0;
}

/* Enter a directory just opened (fd) by name: remember the name for "..". */
static int walk_enter(struct walk *w, int fd, const char *name, size_t len)
{
	if (w->done_len + len + 2 > sizeof(w->done)) {
		close(fd);
		errno = ENAMETOOLONG;
		return -1;
	}
	if (w->done_len)
		w->done[w->done_len++] = '/';
	memcpy(w->done + w->done_len, name, len);
	w->done_len += len;
	w->done[w->done_len] = '\0';
	walk_set(w, fd);
	return 0;
}

/* "..": drop the last name and walk the rest again from the root, each
 * name with O_NOFOLLOW and checked to be a directory.  ".." of the root is
 * the root. */
static int walk_up(struct walk *w)
{
	char names[PATH_MAX];
	char *slash = strrchr(w->done, '/');
	char *name, *save = NULL;
	size_t keep = slash ? (size_t)(slash - w->done) : 0;
	struct stat st;

	memcpy(names, w->done, keep);
	names[keep] = '\0';
	if (walk_to_root(w) < 0)
		return -1;
	for (name = strtok_r(names, "/", &save); name; name = strtok_r(NULL, "/", &save)) {
		int fd = open_name(w->cur, name);

		if (fd < 0)
			return -1;
		if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
			close(fd);
			errno = ENOTDIR;
			return -1;
		}
		if (walk_enter(w, fd, name, strlen(name)) < 0)
			return -1;
	}
	return 0;
}

/* Replace the symlink's component, rest[0..pos), with its target. */
static int splice_link(int link_fd, char *rest, size_t rest_size, size_t pos, bool *absolute)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(link_fd, "", target, sizeof(target));
	size_t tail = strlen(rest + pos);

	if (n < 0)
		return -1;
	if (n == 0) {
		errno = ENOENT;
		return -1;
	}
	if ((size_t)n >= sizeof(target) || (size_t)n + tail + 1 > rest_size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memmove(rest + n, rest + pos, tail + 1);
	memcpy(rest, target, (size_t)n);
	*absolute = target[0] == '/';
	return 0;
}

int sbox_resolve_in_root(int root_fd, const char *path, int flags)
{
	struct walk w = { .root_fd = root_fd, .cur = -1 };
	char rest[2 * PATH_MAX];
	unsigned links = 0;
	size_t pos = 0;

	if (strlen(path) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(rest, path, strlen(path) + 1);
	if (walk_to_root(&w) < 0)
		return -1;
	for (;;) {
		char name[NAME_MAX + 1];
		size_t start, len, after;
		bool slash, last, absolute;
		struct stat st;
		int fd;

		while (rest[pos] == '/')
			pos++;
		if (rest[pos] == '\0')
			return w.cur;  /* a directory: the root, ".", "..", "x/" */
		start = pos;
		while (rest[pos] && rest[pos] != '/')
			pos++;
		len = pos - start;
		slash = rest[pos] == '/';
		for (after = pos; rest[after] == '/'; after++)
			;
		last = rest[after] == '\0';
		if (len > NAME_MAX) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		memcpy(name, rest + start, len);
		name[len] = '\0';
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			if (walk_up(&w) < 0)
				goto fail;
			continue;
		}
		fd = open_name(w.cur, name);
		if (fd < 0)
			goto fail;
		if (fstat(fd, &st) < 0) {
			close(fd);
			goto fail;
		}
		/* A trailing slash follows a symlink even under O_NOFOLLOW,
		 * as in the kernel. */
		if (S_ISLNK(st.st_mode) && (!last || slash || !(flags & O_NOFOLLOW))) {
			int r;

			if (++links > SBOX_RESOLVE_MAX_LINKS) {
				close(fd);
				errno = ELOOP;
				goto fail;
			}
			r = splice_link(fd, rest, sizeof(rest), pos, &absolute);
			close(fd);
			if (r < 0 || (absolute && walk_to_root(&w) < 0))
				goto fail;
			pos = 0;
			continue;
		}
		if (!last || slash) {
			if (!S_ISDIR(st.st_mode)) {
				close(fd);
				errno = ENOTDIR;
				goto fail;
			}
			if (walk_enter(&w, fd, name, len) < 0)
				goto fail;
			continue;
		}
		if ((flags & O_DIRECTORY) && !S_ISDIR(st.st_mode)) {
			close(fd);
			errno = ENOTDIR;
			goto fail;
		}
		close(w.cur);
		return fd;
	}
fail:
	if (w.cur >= 0) {
		int e = errno;

		close(w.cur);
		errno = e;
	}
	return -1;
}
