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

/* The cgroup v1 hierarchies Slurm confines and tracks a job in
 * (task/cgroup: memory, cpuset, devices; proctrack/cgroup: freezer). */
static const char *const slurm_ctrls[] = { "memory", "freezer", "cpuset", "devices" };
#define N_SLURM_CTRLS (sizeof slurm_ctrls / sizeof slurm_ctrls[0])

static bool has_ctrl(const char *list, const char *ctrl)
{
	size_t n = strlen(ctrl);

	for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, ctrl, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

/* Whether the cgroup path p is anc or below it. */
static bool path_within(const char *anc, const char *p)
{
	size_t n = strlen(anc);

	if (strcmp(anc, "/") == 0)
		return true;
	return strncmp(p, anc, n) == 0 && (p[n] == '/' || p[n] == '\0');
}

/* The v1 paths of this process in Slurm's hierarchies (paths[i] "" when
 * there is no such hierarchy), and the unified one; -1 when unreadable. */
static int read_own_paths(char paths[][4096], char *v2, size_t size)
{
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		line[strcspn(line, "\n")] = '\0';
		*c2 = '\0';
		if (c1 == line + 1 && line[0] == '0' && !c1[1])
			snprintf(v2, size, "%s", c2 + 1);
		for (size_t i = 0; i < N_SLURM_CTRLS; i++)
			if (has_ctrl(c1 + 1, slurm_ctrls[i]))
				snprintf(paths[i], 4096, "%s", c2 + 1);
	}
	fclose(f);
	return 0;
}

/* sboxrun's --cgroup-parent: where Slurm put the task, so that Slurm's
 * limits, tracking and accounting hold the sandbox made under it.  On
 * cgroup v1 sbox takes one path for every hierarchy: the task's deepest
 * one of Slurm's hierarchies, which must lie within the task's cgroup in
 * each of the others.  It doesn't when Slurm leaves one of them out
 * (ConstrainRAMSpace=no: memory is slurmd's, freezer and cpuset the
 * step's), and a sandbox there would leave the step's cpuset and freezer:
 * refused (said), not placed outside.  v2: the unified path. */
int sbox_slurm_own_cgroup(char *out, size_t size)
{
	char paths[N_SLURM_CTRLS][4096] = { { 0 } }, v2[4096] = "";
	const char *best = NULL;

	if (read_own_paths(paths, v2, sizeof v2) < 0) {
		sbox_slurm_task_error("/proc/self/cgroup: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < N_SLURM_CTRLS; i++)
		if (paths[i][0] && (!best || strlen(paths[i]) > strlen(best)))
			best = paths[i];
	if (!best) {
		if (!v2[0]) {
			sbox_slurm_task_error("/proc/self/cgroup names no cgroup of Slurm's for the task");
			return -1;
		}
		snprintf(out, size, "%s", v2);
		return 0;
	}
	for (size_t i = 0; i < N_SLURM_CTRLS; i++)
		if (paths[i][0] && !path_within(paths[i], best)) {
			sbox_slurm_task_error("the task's %s cgroup %s does not hold the one a sandbox would take, %s: "
					      "its cgroups in Slurm's hierarchies must nest (docs/slurm.md)",
					      slurm_ctrls[i], paths[i], best);
			return -1;
		}
	snprintf(out, size, "%s", best);
	return 0;
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
