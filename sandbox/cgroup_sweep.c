/* SPDX-License-Identifier: MIT */
/*
 * The stale-cgroup sweep (sbox_cgroup_sweep(), sandbox/cgroup.h): the
 * fallback for a sandbox whose launcher and guard both died before
 * removing its cgroup.  sbox_cgroup_for_sandbox() runs it before every
 * launch, over the parent the new cgroup goes into.
 */
#include "sandbox/cgroup_backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
	removed = !busy && sbox_cg_remove_dirs(&cg, NULL) == 0;
	/* A busy one kept its directories open; sbox_cg_remove_dirs() frees
	 * what it was given. */
	for (size_t i = 0; i < cg.n_dirs; i++) {
		if (cg.dirs[i].fd >= 0)
			close(cg.dirs[i].fd);
		free(cg.dirs[i].path);
	}
	return removed;
}

int sbox_cgroup_sweep(const struct sbox_cgroup_host *h, const char *parent)
{
	char dir[PATH_MAX];
	const char *root = h->version == 2 ? h->v2_mount : h->v1[0].path;
	struct dirent *e;
	DIR *d;
	int removed = 0;
	/* One launcher often owns many entries: ask about its pid once. */
	int last_pid = 0;
	bool last_alive = false;

	if (h->version == 1 && h->n_v1 == 0)
		return 0;
	snprintf(dir, sizeof(dir), "%s%s", root, strcmp(parent, "/") == 0 ? "" : parent);
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
