/* SPDX-License-Identifier: MIT */
/*
 * What the parts of the sbox SPANK plugin share (slurm/spank_sbox.c: the
 * callbacks and the sboxrun command line; gpus.c: Slurm's allocation to
 * sbox's inventory; gres_conf.c: gres.conf's device files; cgroups.c: the
 * step's cgroups; wire.c: the task's message to the root helper; relay.c:
 * the step's signals to the worker; util.c).  Names carry sbox_slurm_: the
 * plugin is loaded into slurmstepd, srun and sbatch.
 */
#ifndef SBOX_SLURM_H
#define SBOX_SLURM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Site defaults, from plugstack.conf's arguments. */
struct sbox_slurm_conf {
	bool required;          /* every task sandboxed, with or without --sbox */
	char sboxrun[4096];
	char policy[4096];      /* site policy, applied before the job's */
	char site_config[4096]; /* sboxrun --site-config (GPU inventory) */
	char gres_conf[4096];
	enum { ENV_ALL, ENV_SLURM, ENV_NONE } env;
};

extern struct sbox_slurm_conf sbox_slurm_site;

/* A growing argv/envp, NULL-terminated. */
struct vec {
	char **v;
	size_t n, cap;
};

int sbox_slurm_vec_add(struct vec *a, const char *s);
int sbox_slurm_vec_addf(struct vec *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbox_slurm_vec_free(struct vec *a);

/* On the task's stderr (the job's) and in slurmd's log. */
void sbox_slurm_task_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* gpus.c: --gpu=UUID for each GPU Slurm allocated to the step: the
 * variable Slurm itself sets or unsets for this kind of step (batch and
 * interactive: SLURM_JOB_GPUS, job_gres_env; any other: SLURM_STEP_GPUS),
 * never the other one, which the job's own environment may carry. */
int sbox_slurm_add_gpus(struct vec *a, char **env, bool job_gres_env);

/* gres_conf.c: the device file of gres index idx on node, as slurmd
 * numbers this node's gpu records in gres.conf; -1 (said on the task's
 * stderr) when it isn't there or the file has what slurmd would read
 * differently. */
int sbox_slurm_gres_file(const char *conf, const char *node, unsigned idx, char *out, size_t size);

/* cgroups.c: sboxrun's --cgroup-parent, the task's cgroup in Slurm's
 * hierarchies; -1 (said) when they don't nest (cgroup v1), as the sandbox
 * would leave one of them. */
int sbox_slurm_own_cgroup(char *out, size_t size);
/* The helper (the task's child) joins the task's cgroups, every hierarchy,
 * and checks the task is still its parent after: -1 (said on the task's
 * stderr) when it is not, as its cgroups may have been another's. */
int sbox_slurm_join_task_cgroups(pid_t task);
void sbox_slurm_note_missing_levels(const char *cg);
void sbox_slurm_remove_made_levels(void);
void sbox_slurm_rmdir_empty_tree(const char *dir);

/* wire.c: the task's stdio (SCM_RIGHTS) and string lists. */
int sbox_slurm_send_fds(int sock);
int sbox_slurm_recv_fds(int sock, int fds[3]);
int sbox_slurm_send_list(int sock, char **v);
char **sbox_slurm_recv_list(int sock);

/* relay.c: the signals Slurm sends a step that sboxrun forwards to the
 * worker.  The task sets sa for each (its handler writes the number to
 * the helper) or ignores them; the helper relays each number read from
 * sock to sboxrun (pid) until sboxrun ends; a process ends as st says
 * (a wait status). */
struct sigaction;
void sbox_slurm_on_forwarded(const struct sigaction *sa);
void sbox_slurm_ignore_forwarded(void);
void sbox_slurm_relay_signals(int sock, pid_t pid);
void sbox_slurm_end_like(int st) __attribute__((noreturn));

#endif
