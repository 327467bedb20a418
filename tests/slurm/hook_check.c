/* SPDX-License-Identifier: MIT */
/*
 * The plugin's two task hooks when task_init_privileged fails before the
 * helper exists.  Slurm ignores a failing hook of a plugin plugstack.conf
 * names `optional` (plugstack.c _do_call_stack resets its rc) and goes on
 * to task_init and execve: task_init must then refuse the task, never
 * return to Slurm (which would run it unsandboxed).  The hooks run here
 * against stubs of Slurm's SPANK calls; the failure is S_JOB_STEPID's.
 * Run by tests/slurm/run.sh; prints "ok"/"FAIL" lines.
 *
 *   hook_check
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>     /* spank.h needs it first */
#include <slurm/spank.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define RAN_PLAIN 42    /* task_init returned: Slurm would exec the command */

static bool want_sbox, fail_stepid;

int spank_remote(spank_t sp)
{
	(void)sp;
	return 1;
}

spank_err_t spank_option_register(spank_t sp, struct spank_option *opt)
{
	(void)sp;
	(void)opt;
	return ESPANK_SUCCESS;
}

spank_err_t spank_option_getopt(spank_t sp, struct spank_option *opt, char **optarg)
{
	(void)sp;
	(void)optarg;
	return want_sbox && strcmp(opt->name, "sbox") == 0 ? ESPANK_SUCCESS : ESPANK_ERROR;
}

spank_err_t spank_getenv(spank_t sp, const char *var, char *buf, int len)
{
	(void)sp;
	(void)var;
	(void)buf;
	(void)len;
	return ESPANK_ENV_NOEXIST;
}

spank_err_t spank_get_item(spank_t sp, spank_item_t item, ...)
{
	spank_err_t rc = ESPANK_SUCCESS;
	va_list ap;

	(void)sp;
	va_start(ap, item);
	if (item == S_JOB_UID)
		*va_arg(ap, uid_t *) = 65534;
	else if (item == S_JOB_GID)
		*va_arg(ap, gid_t *) = 65534;
	else if (item == S_JOB_STEPID && !fail_stepid)
		*va_arg(ap, uint32_t *) = 0;
	else
		rc = ESPANK_ERROR;
	va_end(ap);
	return rc;
}

void slurm_error(const char *fmt, ...)
{
	(void)fmt;
}

/* The task's process: both hooks, as slurmstepd calls them for an
 * optional plugin (the first's rc ignored); its exit status. */
static int task(bool required, bool sbox, bool stepid_fails)
{
	char *args[] = { "required", NULL };
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		want_sbox = sbox;
		fail_stepid = stepid_fails;
		if (slurm_spank_init(NULL, required ? 1 : 0, args) != 0)
			_exit(3);
		(void)slurm_spank_task_init_privileged(NULL, 0, NULL);
		if (slurm_spank_task_init(NULL, 0, NULL) == 0)
			_exit(RAN_PLAIN);
		_exit(4);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static int fails;

static void check(const char *what, int got, int want)
{
	printf("%s - %s (exit %d)\n", got == want ? "ok  " : "FAIL", what, got);
	fails += got != want;
}

int main(void)
{
	check("a task that asked for no sandbox runs as Slurm starts it", task(false, false, false), RAN_PLAIN);
	check("hostile: the privileged hook failed under `required`, the task is refused, never run plain",
	      task(true, false, true), 1);
	check("the privileged hook failed for a job's --sbox: the task is refused, never run plain",
	      task(false, true, true), 1);
	return fails ? 1 : 0;
}
