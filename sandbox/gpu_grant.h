/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/*
 * Internal to sandbox/.  The grant: what a sandbox gets of the launcher's
 * GPU selection, built in the parent (P1d) and read by the child, whose
 * nodes are checked on the host when it is built.
 */
#ifndef SBOX_SANDBOX_GPU_GRANT_H
#define SBOX_SANDBOX_GPU_GRANT_H

#include "sandbox/gpu.h"

/* What a sandbox gets: built in the parent (P1), read by the child. */
struct sbox_gpu_grant {
	struct sbox_gpu *gpus;          /* in the selection's order */
	size_t n;
	char *dev_root;                 /* the nodes are bound from here */
	struct sbox_dev_node *nodes;    /* every node to bind, numbers checked */
	size_t n_nodes;
	/* The /proc/driver/nvidia the sandbox sees. */
	bool nvidia;
	char *nv_proc_dir;              /* ProcRoot/driver/nvidia: gpus/<bus> come from here */
	char *nv_params;                /* with ModifyDeviceFiles: 0 */
	char *nv_version;
	char *nv_registry;
	char **env;                     /* CUDA_VISIBLE_DEVICES=..., NULL-terminated */
	/* Locality: the GPUs' local CPUs and memory nodes. */
	bool pin;
	uint8_t cpus[SBOX_GPU_MAX_CPUS / 8];
	uint8_t mems[SBOX_GPU_MAX_NUMA / 8];
	bool has_mems;
};

void sbox_gpu_grant_init(struct sbox_gpu_grant *g);
/* The grant of a selection: every node that will be bound is checked on
 * the host now (a character device, the numbers the driver gave), and the
 * locality planned from p and site.  No selection, or an empty one: an
 * empty grant, and nothing is read; GPUs= named without a selection is
 * refused (the launcher resolves, the grant never does). */
int sbox_gpu_grant_prepare(struct sbox_gpu_grant *g, const struct sbox_gpu_selection *sel,
			   const struct sbox_policy *p, const struct sbox_site *site,
			   struct sbox_err *err);
void sbox_gpu_grant_free(struct sbox_gpu_grant *g);

/* Add the grant's variables to a worker's environment (*envp is a
 * NULL-terminated malloc'd vector; it is replaced). */
int sbox_gpu_grant_env(const struct sbox_gpu_grant *g, char ***envp, struct sbox_err *err);

/* In the sandbox's init, before the worker is forked: CPU affinity and the
 * preferred memory nodes of the granted GPUs (nothing when !g->pin). */
int sbox_gpu_apply_locality(const struct sbox_gpu_grant *g, struct sbox_err *err);

/* In the child, after the sandbox's /proc is mounted: replace
 * /proc/driver/nvidia with a read-only tmpfs holding only the granted GPUs'
 * entries.  Nothing when neither a grant nor the driver's directory exists. */
int sbox_gpu_mask_proc(int root_fd, const struct sbox_gpu_grant *g, struct sbox_err *err);

#endif
