/* SPDX-License-Identifier: MIT */
/* Public: part of sandbox/'s face, which other rooms may include (docs/design.md). */
/*
 * GPUs: the machine's inventory and the selection a policy's GPUs= names.
 * Part of sandbox/'s public face (docs/design.md): a launcher reads the
 * inventory and chooses; the grant a sandbox is built from is internal
 * (sandbox/gpu_grant.h).
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

/* What a launcher without leases (sboxrun in direct mode and --check=host)
 * chose: the inventory it read once, and the selection in it that the
 * launch hands to the grant (sbox_launch.gpus).  Free with
 * sbox_gpu_choice_free(). */
struct sbox_gpu_choice {
	struct sbox_gpu_inventory inv;
	bool loaded;
	unsigned *idx;
	struct sbox_gpu_selection sel;
};

/* GPUs= resolved once against the inventory site points at.  *out: the
 * selection, or NULL when the policy names none.  A launcher that can't
 * give a device cgroup (not root) is refused first, in GPUs='s words. */
int sbox_gpu_choose_named(struct sbox_gpu_choice *c, const struct sbox_policy *p,
			  const struct sbox_site *site, const struct sbox_gpu_selection **out,
			  struct sbox_err *err);
/* The first n GPUs of the inventory (--gpus N without leases); fails
 * when the machine has fewer. */
int sbox_gpu_choose_first(struct sbox_gpu_choice *c, unsigned n, const struct sbox_site *site,
			  const struct sbox_gpu_selection **out, struct sbox_err *err);
/* Whether this launcher (its effective uid) may grant the chosen GPUs: a
 * grant needs a device cgroup, which only root can set up. */
int sbox_gpu_choice_check_privilege(const struct sbox_gpu_choice *c, struct sbox_err *err);
void sbox_gpu_choice_free(struct sbox_gpu_choice *c);

#endif
