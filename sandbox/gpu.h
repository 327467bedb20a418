/* SPDX-License-Identifier: MIT */
/*
 * GPUs: the machine's inventory, the selection a policy's GPUs= names, and
 * the grant a sandbox is built from.
 *
 * The inventory comes from what the kernel drivers publish — NVIDIA's
 * /proc/driver/nvidia/gpus/<bus>/information and /proc/devices, AMD's kfd
 * topology in sysfs — or from the static list of the site configuration.
 * sbox never loads NVML, CUDA or ROCm: a forkserver that touched a GPU
 * runtime would hand its state to every child, which is the very problem
 * sbox exists to solve.
 *
 * Everything here runs in the privileged parent before clone (P1): the
 * child only binds what the grant lists.
 */
#ifndef SBOX_SANDBOX_GPU_H
#define SBOX_SANDBOX_GPU_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "policy/policy.h"
#include "policy/site.h"

#define SBOX_GPU_NODE_NAME 64
#define SBOX_GPU_MAX_NODES 4
#define SBOX_GPU_MAX_SHARED 8
#define SBOX_GPU_MAX_CPUS 8192
#define SBOX_GPU_MAX_NUMA 1024

enum sbox_gpu_vendor {
	SBOX_GPU_NVIDIA = 1,
	SBOX_GPU_AMD,
	SBOX_GPU_OTHER,          /* a static GPU= line naming other nodes */
};

/* A device node, by its name below /dev (the host's names are kept). */
struct sbox_dev_node {
	char name[SBOX_GPU_NODE_NAME];  /* "nvidia2", "dri/renderD128", "nvidiactl" */
	enum sbox_gpu_vendor vendor;
	bool known;                     /* numbers known from the driver, to be checked */
	unsigned major, minor;          /* when known; after the grant's check, always */
	bool required;                  /* a shared node the vendor's stack can't do without */
};

struct sbox_gpu {
	unsigned index;                 /* sbox's index: the order of --list-gpus */
	unsigned vendor_index;          /* position among the same vendor's GPUs */
	enum sbox_gpu_vendor vendor;
	char uuid[96];                  /* "GPU-6a3b..." ("" when the driver gives none) */
	char bus[16];                   /* "0000:3b:00.0" */
	char model[96];
	int numa_node;                  /* -1: unknown or no NUMA */
	char cpus[256];                 /* local CPUs "0-15,32-47"; "" unknown */
	struct sbox_dev_node nodes[SBOX_GPU_MAX_NODES];
	size_t n_nodes;
};

struct sbox_gpu_inventory {
	const char *source;             /* "discover" or "static" */
	char *proc_root, *sys_root, *dev_root;
	struct sbox_gpu *gpus;
	size_t n;
	struct sbox_dev_node shared[SBOX_GPU_MAX_SHARED];  /* present on the host */
	size_t n_shared;
	bool nvidia_caps;               /* MIG's /dev/nvidia-caps exists (never granted) */
};

/* Read the inventory the site configuration points at (NULL: discovery
 * from /proc, /sys, /dev).  An empty inventory is not an error. */
int sbox_gpu_inventory_load(struct sbox_gpu_inventory *inv, const struct sbox_site *site,
			    struct sbox_err *err);
void sbox_gpu_inventory_free(struct sbox_gpu_inventory *inv);

/* The GPU one spec names: an index, a UUID or a unique prefix of one (with
 * or without "GPU-"), or a PCI bus id.  Unknown or ambiguous specs fail
 * with a message that lists the inventory.  *pos indexes inv->gpus. */
int sbox_gpu_find(const struct sbox_gpu_inventory *inv, const char *spec, size_t *pos,
		  struct sbox_err *err);

/* The GPUs chosen for one sandbox: positions in an inventory that the
 * privileged side read itself (sboxd at start, from its own --config;
 * sboxrun in direct mode and --check=host, once per run).  GPUs= is
 * resolved into this once, by the launcher, and the grant takes it as it
 * is: a policy's GPUs= text never reaches the grant, so a client's words
 * can only pick among the launcher's GPUs, through the launcher's checks. */
struct sbox_gpu_selection {
	const struct sbox_gpu_inventory *inv;
	const unsigned *idx;            /* n positions in inv->gpus */
	size_t n;
};

/* Resolve p->devices.gpus against inv into idx (room for
 * p->devices.gpus.n), each GPU once however many specs name it ("0" and
 * its UUID).  Fails like sbox_gpu_find(), prefixed "GPUs=<spec>". */
int sbox_gpu_select(struct sbox_gpu_selection *sel, const struct sbox_gpu_inventory *inv,
		    const struct sbox_policy *p, unsigned *idx, struct sbox_err *err);

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

/* Shared by sandbox/gpu*.c: read a small text file whole into buf
 * (NUL-terminated; truncated at len - 1).  0, or -1 with errno. */
int sbox_read_text(const char *path, char *buf, size_t len);
/* snprintf for paths: 0, or -1 with errno ENAMETOOLONG when cut short. */
int sbox_pathf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
