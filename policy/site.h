/* SPDX-License-Identifier: MIT */
/*
 * The site configuration: facts about the machine that a job policy must not
 * control, in a root-owned INI file (default /etc/sbox/sbox.conf).  For now it
 * says where the GPU inventory comes from (the driver's procfs and sysfs, or
 * a static list in the spirit of Slurm's gres.conf) and the default for GPU
 * locality pinning; the daemon adds its own sections.
 *
 * The file is refused unless it is owned by root and writable by nobody else
 * (as sudo treats sudoers): whoever can write it decides what the privileged
 * side binds into sandboxes.  Only the privileged side's own command line may
 * name another file (sboxrun --site-config in direct mode; sboxd --config);
 * no environment variable and no client request can.
 */
#ifndef SBOX_POLICY_SITE_H
#define SBOX_POLICY_SITE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "policy/site_daemon.h"   /* [Daemon], [Bounds], [Defaults] */
#include "policy/site_network.h"  /* [Network] */

#define SBOX_SITE_DEFAULT_PATH "/etc/sbox/sbox.conf"
/* A node name below DevRoot ("dri/renderD128"); sandbox/gpu.h keeps 64. */
#define SBOX_SITE_NODE_NAME_MAX 63

enum sbox_site_inventory {
	SBOX_SITE_INVENTORY_DISCOVER,   /* NVIDIA procfs + AMD kfd sysfs (default) */
	SBOX_SITE_INVENTORY_STATIC,     /* only the GPU= lines */
};

enum sbox_site_locality {
	SBOX_SITE_LOCALITY_AUTO,        /* pin unless the policy sets AllowedCPUs= */
	SBOX_SITE_LOCALITY_YES,
	SBOX_SITE_LOCALITY_NO,
};

/* One GPU= line: "INDEX UUID BUS NODE[,NODE...] [numa=N] [cpus=LIST]". */
struct sbox_site_gpu {
	unsigned index;
	char *uuid;
	char *bus;
	char **nodes;        /* below DevRoot: "nvidia0", "dri/renderD128" */
	size_t n_nodes;
	int numa_node;       /* -1: not given */
	char *cpus;          /* "0-15", NULL: not given */
	unsigned line;       /* for messages */
};

struct sbox_site_gpus {
	enum sbox_site_inventory inventory;   /* Inventory= */
	char *proc_root;                      /* ProcRoot= (default /proc) */
	char *sys_root;                       /* SysRoot= (default /sys) */
	char *dev_root;                       /* DevRoot= (default /dev) */
	enum sbox_site_locality locality;     /* Locality= */
	struct sbox_site_gpu *gpus;           /* GPU= */
	size_t n_gpus;
	char **shared_nodes;                  /* SharedNodes= (static only) */
	size_t n_shared;
	bool shared_set;                      /* SharedNodes= was given */
};

struct sbox_site {
	char *path;                           /* the file read; NULL: built-in defaults */
	struct sbox_site_gpus gpus;           /* [GPUs] */
	struct sbox_site_daemon daemon;       /* [Daemon], [Bounds], [Defaults] */
	struct sbox_site_network network;     /* [Network] */
};

void sbox_site_init(struct sbox_site *s);
void sbox_site_free(struct sbox_site *s);

/* Read the site configuration at path.  A missing file is not an error when
 * it is the default path (must_exist false): the built-in defaults apply.
 * The file must be a regular file owned by root, not writable by group or
 * others.  Errors read "PATH:LINE: ...". */
int sbox_site_load(struct sbox_site *s, const char *path, bool must_exist,
		   struct sbox_err *err);

/* Parse text without the ownership check (tests, and a daemon that has
 * already checked the file it read). */
int sbox_site_load_string(struct sbox_site *s, const char *text, const char *name,
			  struct sbox_err *err);

/* "0000:3b:00.0" or "3B:00.0" -> "0000:3b:00.0" (the form the kernel and
 * the NVIDIA driver write).  0 or -EINVAL. */
int sbox_pci_bus_id_normalize(const char *in, char *out, size_t len);

const char *sbox_site_proc_root(const struct sbox_site *s);
const char *sbox_site_sys_root(const struct sbox_site *s);
const char *sbox_site_dev_root(const struct sbox_site *s);

#endif
