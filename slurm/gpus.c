/* SPDX-License-Identifier: MIT */
/*
 * Slurm's GPU allocation to sbox's inventory (docs/slurm.md, "GPUs").
 */
#include <stdint.h>     /* spank.h needs it first */
#include <slurm/spank.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slurm/sbox_slurm.h"

/* The inventory, as `sboxrun --list-gpus --json` prints it: the UUID of the
 * GPU one of whose nodes is node (a /dev path as the inventory names it). */
static int uuid_of_node(const char *inventory, const char *node, char *uuid, size_t size)
{
	char want[4400];
	const char *hit, *u;

	snprintf(want, sizeof want, "\"%s\"", node);
	hit = strstr(inventory, want);
	if (!hit)
		return -1;
	/* The GPU's own "uuid" precedes its "nodes" in the object. */
	for (u = hit; u > inventory; u--)
		if (strncmp(u, "\"uuid\":\"", 8) == 0)
			break;
	if (u == inventory)
		return -1;
	u += 8;
	snprintf(uuid, size, "%.*s", (int)strcspn(u, "\""), u);
	return 0;
}

static char *read_inventory(char *dev_root, size_t size)
{
	int pfd[2];
	pid_t pid;
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	ssize_t r;
	int st;

	if (!buf || pipe2(pfd, O_CLOEXEC) < 0) {
		free(buf);
		return NULL;
	}
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		if (sbox_slurm_site.site_config[0])
			execl(sbox_slurm_site.sboxrun, "sboxrun", "--site-config", sbox_slurm_site.site_config,
			      "--list-gpus", "--json", (char *)NULL);
		else
			execl(sbox_slurm_site.sboxrun, "sboxrun", "--direct", "--list-gpus", "--json",
			      (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while (pid > 0 && (r = read(pfd[0], buf + len, cap - len - 1)) > 0)
		len += (size_t)r;
	close(pfd[0]);
	buf[len] = '\0';
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		sbox_slurm_task_error("%s --list-gpus failed: the GPU inventory is unknown", sbox_slurm_site.sboxrun);
		free(buf);
		return NULL;
	}
	const char *d = strstr(buf, "\"dev_root\":\"");
	if (d) {
		d += 12;
		snprintf(dev_root, size, "%.*s", (int)strcspn(d, "\""), d);
	}
	return buf;
}

/* Slurm's allocation to sbox's --gpu: a list of gres indices, each a File=
 * node in gres.conf, named in the inventory as /dev/<node below DevRoot=>. */
static const char *env_get(char **env, const char *name)
{
	size_t n = strlen(name);

	for (; env && *env; env++)
		if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

/* The task's environment is the job's: what srun or sbatch exported, with
 * Slurm's own variables set over it.  Slurm's GPU plugin sets (or, for a
 * step without GPUs, unsets) only the variable of the step's kind
 * (slurmstepd.c: gres_g_job_set_env for the batch script and the
 * interactive step, gres_g_step_set_env for any other): SLURM_STEP_GPUS
 * for a step, SLURM_JOB_GPUS for those two.  The other one is whatever
 * the submitter exported (SLURM_JOB_GPUS=0,1,2,3 srun --gres=none ...,
 * SLURM_STEP_GPUS=0,1,2,3 srun --interactive ...), so it is never read,
 * not even as a fallback. */
static const char *gpus_var(bool job_gres_env)
{
	return job_gres_env ? "SLURM_JOB_GPUS" : "SLURM_STEP_GPUS";
}

int sbox_slurm_add_gpus(struct vec *a, char **env, bool job_gres_env)
{
	char list[1024], dev_root[4096] = "/dev", *inv, *p, *tok;
	const char *var = gpus_var(job_gres_env);
	const char *v = env_get(env, var);
	/* slurmd's name for this node, which gres.conf's NodeName= lists
	 * name; slurmstepd sets it over the job's (task.c exec_task). */
	const char *host = env_get(env, "SLURMD_NODENAME");
	int rc = 0;

	if (!v || !*v)
		return 0;
	if (!host || !*host) {
		sbox_slurm_task_error("SLURMD_NODENAME is not set: this node's gres.conf records are unknown");
		return -1;
	}
	if (snprintf(list, sizeof list, "%s", v) >= (int)sizeof list) {
		sbox_slurm_task_error("%s too long", var);
		return -1;
	}
	inv = read_inventory(dev_root, sizeof dev_root);
	if (!inv)
		return -1;
	for (p = list; rc == 0 && (tok = strsep(&p, ","));) {
		char file[4096], node[4200], uuid[256], *end;
		size_t rl = strlen(dev_root);
		unsigned long idx = strtoul(tok, &end, 10);

		if (!isdigit((unsigned char)*tok) || *end) {   /* strtoul takes " -1" too */
			sbox_slurm_task_error("GPU list '%s': not gres indices", list);
			rc = -1;
			break;
		}
		if (sbox_slurm_gres_file(sbox_slurm_site.gres_conf, host, (unsigned)idx, file, sizeof file) < 0) {
			rc = -1;
			break;
		}
		if (strncmp(file, dev_root, rl) == 0 && file[rl] == '/')
			snprintf(node, sizeof node, "/dev%s", file + rl);
		else
			snprintf(node, sizeof node, "%s", file);
		if (uuid_of_node(inv, node, uuid, sizeof uuid) < 0) {
			sbox_slurm_task_error("GPU %lu (%s): no GPU of sbox's inventory has that node", idx, file);
			rc = -1;
			break;
		}
		rc = sbox_slurm_vec_addf(a, "--gpu=%s", uuid);
	}
	free(inv);
	return rc;
}
