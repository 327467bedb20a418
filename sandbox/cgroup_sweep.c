/* SPDX-License-Identifier: MIT */
/*
 * The stale-cgroup sweep (sbox_cgroup_sweep(), sandbox/cgroup.h): the
 * fallback for a sandbox whose launcher and guard both died before
 * removing its cgroup.  sbox_cgroup_for_sandbox() asks for it before every
 * launch, over the parent the new cgroup goes into, and
 * sbox_cgroup_sweep_throttled() runs it at most once per SWEEP_INTERVAL_SEC
 * per parent: a sweep reads every sibling, which a launch with a thousand
 * live sandboxes beside it should not pay each time (docs/cgroups.md).
 */
#include "sandbox/cgroup_backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A stale cgroup younger than this is left alone by the sweep: its
 * launcher may live in another pid namespace and be about to use it. */
#define SWEEP_MIN_AGE_SEC 10

/* A parent is swept at most once per this many seconds, by this process
 * and (root) by any launcher of the host: a stale cgroup goes at the first
 * launch under its parent once it is SWEEP_MIN_AGE_SEC old and the last
 * sweep SWEEP_INTERVAL_SEC old. */
#define SWEEP_INTERVAL_SEC 5
/* Root's stamps, one file per parent (named for a hash of its path, its
 * content the path), its mtime the last sweep. */
#define SWEEP_STAMP_DIR "/run/sbox"
#define SWEEP_MEMO_SLOTS 8

static bool launcher_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

/* Remove the stale sandbox cgroup name under parent: its directories in
 * every hierarchy, all empty, or none goes.  Whether it went. */
static bool sweep_one(const struct sbox_cgroup_host *h, const char *parent, const char *name)
{
	struct sbox_cgroup cg = { .guard_fd = -1 };
	char path[PATH_MAX];
	bool busy = false, removed;

	for (size_t i = 0; i < (h->version == 2 ? 1 : h->n_v1) && !busy; i++) {
		struct sbox_cg_dir *cd = &cg.dirs[cg.n_dirs];

		snprintf(path, sizeof(path), "%s%s/%s", h->version == 2 ? h->v2_mount : h->v1[i].path,
			 strcmp(parent, "/") == 0 ? "" : parent, name);
		cd->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cd->fd < 0)
			continue;
		cd->path = strdup(path);
		cg.n_dirs++;
		busy = !cd->path || !sbox_cg_is_empty(cd);
	}
	/* One try each: no process of ours is on its way out of it, and a
	 * cgroup that only looked empty (cgroup v1 lists no process of a pid
	 * namespace above ours) and dead (its launcher's pid is another pid
	 * namespace's) is busy for good: waiting for it held the launch 5 s
	 * per hierarchy. */
	removed = !busy && sbox_cg_remove_dirs(&cg, false, NULL) == 0;
	/* A busy one kept its directories open; sbox_cg_remove_dirs() frees
	 * what it was given. */
	for (size_t i = 0; i < cg.n_dirs; i++) {
		if (cg.dirs[i].fd >= 0)
			close(cg.dirs[i].fd);
		free(cg.dirs[i].path);
	}
	return removed;
}

/* The parent's directory in the hierarchy the sweep reads: v2's, or the
 * first v1 one every sandbox has a directory in (a sandbox without a CPU
 * limit has none in cpu, which may come first); false when there is
 * none. */
static bool parent_dir(const struct sbox_cgroup_host *h, const char *parent, char *dir,
		       size_t len)
{
	const char *mount = h->version == 2 ? h->v2_mount : NULL;

	for (size_t i = 0; !mount && h->version == 1 && i < h->n_v1; i++)
		if (h->v1[i].mask & SBOX_CG_V1_ALWAYS)
			mount = h->v1[i].path;
	if (!mount)
		return false;
	snprintf(dir, len, "%s%s", mount, strcmp(parent, "/") == 0 ? "" : parent);
	return true;
}

int sbox_cgroup_sweep(const struct sbox_cgroup_host *h, const char *parent)
{
	char dir[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int removed = 0;
	/* One launcher often owns many entries: ask about its pid once. */
	int last_pid = 0;
	bool last_alive = false;

	if (!parent_dir(h, parent, dir, sizeof(dir)))
		return 0;
	d = opendir(dir);
	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		int pid;
		unsigned n;
		char tail;

		if (sscanf(e->d_name, "sbox-%d-%u%c", &pid, &n, &tail) != 2 || pid <= 0)
			continue;
		if (pid != last_pid) {
			last_pid = pid;
			last_alive = launcher_alive(pid);
		}
		if (last_alive)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, 0) < 0 ||
		    time(NULL) - st.st_ctime < SWEEP_MIN_AGE_SEC)
			continue;
		removed += sweep_one(h, parent, e->d_name);
	}
	closedir(d);
	return removed;
}

/* FNV-1a: a parent's path as a memo key and a stamp's file name. */
static uint64_t path_key(const char *s)
{
	uint64_t x = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		x = (x ^ (unsigned char)*s) * 0x100000001b3ULL;
	return x;
}

/* Whether this process swept the parent less than an interval ago; if
 * not, the sweep is this caller's.  Locked: a threaded caller (a Slurm
 * plugin) may launch concurrently. */
static bool swept_here_lately(uint64_t key)
{
	static struct {
		uint64_t key;
		time_t at;
	} memo[SWEEP_MEMO_SLOTS];
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	size_t i = key % SWEEP_MEMO_SLOTS;
	struct timespec now;
	bool lately;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&lock);
	lately = memo[i].key == key && now.tv_sec - memo[i].at < SWEEP_INTERVAL_SEC;
	if (!lately) {
		memo[i].key = key;
		memo[i].at = now.tv_sec;
	}
	pthread_mutex_unlock(&lock);
	return lately;
}

/* /run/sbox, opened for the stamps only if it is root's and no one
 * else's to write: a directory that others may write (made beforehand by
 * tmpfiles.d, or owned by a service account) would let them plant a fresh
 * stamp that holds off root's sweeps.  -1 then, or on any failure. */
static int open_stamp_dir(void)
{
	struct stat st;
	int dfd;

	dfd = open(SWEEP_STAMP_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 && errno == ENOENT && mkdir(SWEEP_STAMP_DIR, 0755) == 0)
		dfd = open(SWEEP_STAMP_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	if (fstat(dfd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022)) {
		close(dfd);
		return -1;
	}
	return dfd;
}

/* Whether the open stamp is one of root's own, for this parent, less than
 * an interval old.  Owner and link count: a file that is not root's, or
 * that is also linked elsewhere, was not left by a sweep.  The content is
 * the parent's full path: two parents whose names hash alike share the
 * file, and the one that finds the other's path sweeps. */
static bool stamp_fresh(int fd, const struct stat *st, const char *parent_path)
{
	char buf[PATH_MAX + 1];
	size_t len = strlen(parent_path);
	struct timespec now;
	ssize_t n;

	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec < st->st_mtime || now.tv_sec - st->st_mtime >= SWEEP_INTERVAL_SEC)
		return false;
	n = pread(fd, buf, sizeof(buf), 0);
	return n >= 0 && (size_t)n == len && memcmp(buf, parent_path, len) == 0;
}

/* Whether another of root's launchers swept the parent less than an
 * interval ago (sboxrun is a new process each launch: nothing in memory).
 * If not, the stamp is renewed before the sweep, so that launches racing
 * this one skip theirs.  Root only, and only stamps in a /run/sbox that is
 * root's alone (open_stamp_dir()), so that no user can stamp a parent to
 * keep its stale cgroups.  Any doubt means due, and a stamp that is not
 * root's own is left as it is: the cost of a doubt is a sweep, never a
 * stale cgroup kept. */
static bool swept_on_host_lately(uint64_t key, const char *parent_path)
{
	char name[64];
	struct stat st;
	bool lately = false;
	int dfd, fd;

	if (geteuid() != 0)
		return false;
	dfd = open_stamp_dir();
	if (dfd < 0)
		return false;
	snprintf(name, sizeof(name), ".cgroup-sweep-%016" PRIx64, key);
	/* O_NONBLOCK: a FIFO under that name must not hang the launch. */
	fd = openat(dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	close(dfd);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 && st.st_nlink == 1) {
		lately = stamp_fresh(fd, &st, parent_path);
		if (!lately && ftruncate(fd, 0) == 0 &&
		    pwrite(fd, parent_path, strlen(parent_path), 0) >= 0)
			futimens(fd, NULL);
	}
	close(fd);
	return lately;
}

int sbox_cgroup_sweep_throttled(const struct sbox_cgroup_host *h, const char *parent)
{
	char dir[PATH_MAX];
	uint64_t key;

	if (!parent_dir(h, parent, dir, sizeof(dir)))
		return 0;
	key = path_key(dir);
	if (swept_here_lately(key) || swept_on_host_lately(key, dir))
		return 0;
	return sbox_cgroup_sweep(h, parent);
}
