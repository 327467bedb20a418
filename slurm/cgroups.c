/* SPDX-License-Identifier: MIT */
/*
 * The sandbox in Slurm's step cgroups (docs/slurm.md, "Cgroups").
 */
#include <stdint.h>     /* spank.h needs it first */
#include <slurm/spank.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "slurm/sbox_slurm.h"

/* The memory hierarchy's path of this process (cgroup v1), or the unified
 * one (v2): where Slurm's task/cgroup put the task.  The sandbox's cgroup
 * is made under it, so Slurm's limits and accounting hold it. */
int sbox_slurm_own_cgroup(char *out, size_t size)
{
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "re");
	bool found = false;

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		line[strcspn(line, "\n")] = '\0';
		*c2 = '\0';
		/* v1: the memory line; v2: "0::" only when nothing else. */
		if (strcmp(c1 + 1, "memory") == 0 || (!found && c1 == line + 1 && line[0] == '0' && !c1[1])) {
			snprintf(out, size, "%s", c2 + 1);
			found = true;
			if (strcmp(c1 + 1, "memory") == 0)
				break;
		}
	}
	fclose(f);
	return found ? 0 : -1;
}

/* On cgroup v1 Slurm makes the task's levels only in the hierarchies it
 * uses (memory, freezer, ...); sboxrun makes the missing ones of
 * --cgroup-parent in the others (pids, blkio, cpu ...).  They are noted
 * before and removed after, deepest first, so the step leaves nothing. */
#define MAX_MADE 256
static char *made[MAX_MADE];
static size_t n_made;

void sbox_slurm_note_missing_levels(const char *cg)
{
	DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) && n_made < MAX_MADE) {
		char path[8192];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/sys/fs/cgroup/%s", de->d_name);
		if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		for (const char *p = cg + 1; n_made < MAX_MADE; p++) {
			if (*p != '/' && *p != '\0')
				continue;
			snprintf(path, sizeof path, "/sys/fs/cgroup/%s%.*s", de->d_name,
				 (int)(p - cg), cg);
			if (access(path, F_OK) < 0 && errno == ENOENT)
				made[n_made++] = strdup(path);
			if (!*p)
				break;
		}
	}
	closedir(d);
}

void sbox_slurm_remove_made_levels(void)
{
	/* Noted parent first within each hierarchy: remove backwards. */
	for (size_t i = n_made; i-- > 0;)
		if (made[i] && rmdir(made[i]) < 0 && errno != ENOENT && errno != EBUSY)
			slurm_error("sbox: rmdir %s: %s", made[i], strerror(errno));
}

/* The helper was forked before Slurm put the task into the step's cgroups
 * (Slurm moves the task's pid only): it joins the task's own, in every
 * hierarchy, so that sboxrun and the sandbox stay in Slurm's step (its
 * proctrack container: scancel, its limits and accounting). */
static const char *hierarchy_dir(const char *ctrls, char *buf, size_t size)
{
	struct stat st;

	if (strncmp(ctrls, "name=", 5) == 0)
		ctrls += 5;
	if (!*ctrls) {  /* the v2 line: the unified tree */
		snprintf(buf, size, "/sys/fs/cgroup/unified");
		if (stat(buf, &st) == 0 && access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0)
			return buf;
		snprintf(buf, size, "/sys/fs/cgroup");
		return access("/sys/fs/cgroup/cgroup.procs", F_OK) == 0 ? buf : NULL;
	}
	snprintf(buf, size, "/sys/fs/cgroup/%s", ctrls);
	return stat(buf, &st) == 0 ? buf : NULL;
}

static int join_cgroups_of(pid_t pid)
{
	char file[64], line[4096];
	FILE *f;
	int rc = 0;

	snprintf(file, sizeof file, "/proc/%d/cgroup", (int)pid);
	f = fopen(file, "re");
	if (!f) {
		sbox_slurm_task_error("the task was not run: %s: %s", file, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof line, f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		char dir[4096], procs[8400];
		int fd;

		if (!c2)
			continue;
		*c2 = '\0';
		c2[1 + strcspn(c2 + 1, "\n")] = '\0';
		if (!hierarchy_dir(c1 + 1, dir, sizeof dir))
			continue;
		snprintf(procs, sizeof procs, "%s%s/cgroup.procs", dir,
			 strcmp(c2 + 1, "/") == 0 ? "" : c2 + 1);
		fd = open(procs, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || dprintf(fd, "%d\n", (int)getpid()) < 0) {
			sbox_slurm_task_error("the task was not run: can't join the task's cgroup %s: %s", procs,
				   strerror(errno));
			rc = -1;
		}
		if (fd >= 0)
			close(fd);
	}
	fclose(f);
	return rc;
}

int sbox_slurm_join_task_cgroups(pid_t task)
{
	if (join_cgroups_of(task) < 0)
		return -1;
	/* The task is our parent until it dies; had it died before or
	 * while its cgroups were read, its pid may have named another
	 * process by then (and we would have been given to a reaper, whose
	 * cgroups getppid() would name: outside Slurm's limits).  Still our
	 * parent now: it was alive all along, the cgroups were its own. */
	if (getppid() != task) {
		sbox_slurm_task_error("the task was not run: it ended before its sandbox could join its cgroups");
		return -1;
	}
	return 0;
}

/* Removes the empty directories below and at dir, deepest first; a busy
 * one (a process in it, or a child) stays. */
void sbox_slurm_rmdir_empty_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char sub[8192];

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
		sbox_slurm_rmdir_empty_tree(sub);
	}
	closedir(d);
	rmdir(dir);
}
