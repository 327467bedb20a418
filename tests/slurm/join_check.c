/* SPDX-License-Identifier: MIT */
/*
 * The Slurm helper's cgroup join (slurm/cgroups.c), against a task that
 * dies first: the helper must not run in whatever cgroups its new parent,
 * or a process reusing the task's pid, has (a sandbox outside Slurm's
 * limits).  Run as root by tests/slurm/run.sh; prints "ok"/"FAIL" lines.
 *
 *   join_check CGROUP_DIR    a scratch cgroup (cgroup.procs inside) the
 *                            "task" is moved into first
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slurm/sbox_slurm.h"

/* cgroups.c's other functions log through Slurm; not called here. */
void slurm_error(const char *fmt, ...)
{
	(void)fmt;
}

static int move_self(const char *dir)
{
	char procs[4200];
	FILE *f;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	f = fopen(procs, "w");
	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0)
		return -1;
	return 0;
}

/* 1 when this process's cgroup file names dir's last component. */
static int in_cgroup(const char *dir)
{
	const char *leaf = strrchr(dir, '/');
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int found = 0;

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, leaf))
			found = 1;
	if (f)
		fclose(f);
	return found;
}

/* The task in dir; its child, the helper, joins it after the task has
 * (task_dies) or has not ended.  A dead task is left unreaped (a zombie,
 * whose /proc/PID/cgroup still reads) until the helper is done: the
 * refusal must come from the check after the join, not from a missing
 * file.  The helper's exit status: 0 joined, 1 refused, 2 joined but is
 * not in dir. */
static int scenario(const char *dir, int task_dies)
{
	int go[2], tell[2], st = 0, r;
	pid_t task, helper = -1;

	if (pipe(go) < 0 || pipe(tell) < 0)
		return -1;
	task = fork();
	if (task < 0)
		return -1;
	if (task == 0) {
		pid_t me = getpid();

		if (move_self(dir) < 0)
			_exit(3);
		helper = fork();
		if (helper == 0) {
			char b;

			/* Wait for the task's word: gone, or staying. */
			if (read(go[0], &b, 1) != 1)
				_exit(4);
			if (task_dies)
				while (getppid() == me)
					usleep(1000);
			if (sbox_slurm_join_task_cgroups(me) < 0)
				_exit(1);
			_exit(in_cgroup(dir) ? 0 : 2);
		}
		if (write(tell[1], &helper, sizeof(helper)) != (ssize_t)sizeof(helper) ||
		    write(go[1], "g", 1) != 1)
			_exit(5);
		if (task_dies)
			_exit(0);       /* the helper is someone else's now */
		waitpid(helper, &st, 0);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 6);
	}
	if (read(tell[0], &helper, sizeof(helper)) != (ssize_t)sizeof(helper))
		helper = -1;
	close(go[0]);
	close(go[1]);
	close(tell[0]);
	close(tell[1]);
	if (!task_dies) {
		waitpid(task, &st, 0);
		return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	}
	/* The orphaned helper is ours (a subreaper, whose cgroups are not
	 * the task's: what a reaper's would be); the task stays a zombie
	 * until it is done. */
	/* The task's end, left a zombie (WNOWAIT): by then its child is
	 * ours to wait for. */
	{
		siginfo_t si;

		waitid(P_PID, (id_t)task, &si, WEXITED | WNOWAIT);
	}
	r = helper > 0 && waitpid(helper, &st, 0) == helper && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	waitpid(task, &st, 0);
	return r;
}

int main(int argc, char **argv)
{
	int fails = 0, r;

	if (argc != 2)
		return 2;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	r = scenario(argv[1], 0);
	printf("%s - the helper of a live task joins the task's cgroup (%d)\n", r == 0 ? "ok  " : "FAIL", r);
	fails += r != 0;
	r = scenario(argv[1], 1);
	printf("%s - hostile: the task dead before the join: the helper refuses, runs nothing (%d)\n",
	       r == 1 ? "ok  " : "FAIL", r);
	fails += r != 1;
	return fails ? 1 : 0;
}
