/* SPDX-License-Identifier: MIT */
/*
 * struct sbox_policy: the single description of a sandbox.  Policy files,
 * sboxrun flags and daemon requests all produce one; sandbox/ only reads it.
 * Every field has a directive in policy/directives.c, which is the one place
 * that knows names, syntax, defaults and how to print a field back.
 */
#ifndef SBOX_POLICY_POLICY_H
#define SBOX_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

/* One mount requested by BindPaths=, BindReadOnlyPaths=, TemporaryFileSystem=
 * or InaccessiblePaths=; they are applied in the order given. */
enum sbox_mount_kind {
	SBOX_MOUNT_BIND,
	SBOX_MOUNT_BIND_RO,
	SBOX_MOUNT_TMPFS,
	SBOX_MOUNT_INACCESSIBLE,
};

/* TemporaryFileSystem='s options, at most: the kernel takes a page of
 * them, and sbox adds its bound and owner. */
#define SBOX_TMPFS_OPTIONS_MAX 1024
/* The words one policy may give Environment= and PassEnvironment= (in all),
 * and GPUs=, repeats and words a later empty assignment cleared included.
 * Each word is looked up in its list, and sboxd reads a client's policy in
 * its loop: without a bound, 128 KiB of "GPUs=0,1,2,..." held every
 * other client up for a second or more (docs/security.md). */
#define SBOX_ENV_WORDS_MAX 1024
#define SBOX_GPU_WORDS_MAX 256

struct sbox_mount {
	enum sbox_mount_kind kind;
	char *src;       /* host path (binds only) */
	char *dst;       /* absolute path inside the sandbox */
	char *options;   /* tmpfs: "mode=0755,size=64M"; NULL = defaults */
	bool optional;   /* systemd's "-" prefix: skip when src is missing */
};

struct sbox_strv {
	char **v;        /* NULL-terminated */
	size_t n;
};

/* Resources (policy/dir_resources.c, sandbox/cgroup*.c, docs/cgroups.md).
 * A size or count limit as systemd writes it: unset (the parent cgroup's
 * limit applies), a value, "infinity", or a percentage that is resolved
 * against the host when the sandbox is built (MemoryMax=50% of physical
 * memory): policy/ never touches the kernel. */
struct sbox_limit {
	bool set;
	bool percent;              /* value is in 1/10000 (permyriad) */
	uint64_t value;            /* bytes or tasks; UINT64_MAX: infinity */
};

struct sbox_resources {
	struct sbox_limit memory_max;      /* MemoryMax= */
	struct sbox_limit memory_high;     /* MemoryHigh= */
	struct sbox_limit memory_swap_max; /* MemorySwapMax= */
	struct sbox_limit tasks_max;       /* TasksMax= */
	uint32_t cpu_quota;        /* CPUQuota= in 1/10000 of one CPU; 0: unset */
	uint64_t cpu_weight;       /* CPUWeight= 1..10000; 0: unset */
	uint64_t io_weight;        /* IOWeight= 1..10000; 0: unset */
	char *allowed_cpus;        /* AllowedCPUs= canonical list; NULL: unset */
	char *allowed_mems;        /* AllowedMemoryNodes= */
	char *cgroup_parent;       /* CgroupParent=: a cgroup path; NULL: default */
	uint64_t runtime_max_usec; /* RuntimeMaxSec=; UINT64_MAX: no limit */
};

/* Devices and GPUs (policy/dir_devices.c).  DeviceAllow= entries are kept as
 * written and resolved to device numbers when a sandbox is built: policy/
 * never touches the kernel. */
enum {
	SBOX_DEV_ACC_READ = 1 << 0,
	SBOX_DEV_ACC_WRITE = 1 << 1,
	SBOX_DEV_ACC_MKNOD = 1 << 2,
};

struct sbox_device_allow {
	char *spec;        /* "/dev/fuse", "char-pts", "block-loop", "/dev/char/10:229" */
	unsigned access;   /* SBOX_DEV_ACC_* */
};

struct sbox_devices_policy {
	struct sbox_strv gpus;              /* GPUs=: index, UUID (prefix) or PCI bus id */
	struct sbox_device_allow *allow;    /* DeviceAllow= */
	size_t n_allow;
	int gpu_locality;                   /* GPULocality=: -1 site default, 0 no, 1 yes */
};

/* Network (policy/dir_network.c, sandbox/network.c).  PrivateNetwork=
 * extends systemd's boolean with the modes of docs/network.md. */
enum sbox_net_mode {
	SBOX_NET_NONE = 0,   /* new netns, only lo (up): the default */
	SBOX_NET_HOST,       /* the host's network: no netns of its own */
	SBOX_NET_VETH,       /* new netns + a veth pair to the host */
	SBOX_NET_GROUP,      /* join (or create) the named group's netns */
};

struct sbox_net_policy {
	enum sbox_net_mode mode;  /* PrivateNetwork= */
	char *group;              /* PrivateNetwork=group:NAME */
	/* veth's address range is the site's ([Network] VethSubnet=,
	 * policy/site_network.h), never a job's. */
};

/* Security (policy/dir_security.c, docs/security.md): least privilege. */
enum sbox_seccomp_profile {
	SBOX_SECCOMP_DEFAULT = 0, /* a deny list, Docker's default in spirit */
	SBOX_SECCOMP_STRICT,      /* an allow list: @system-service less the deny list */
	SBOX_SECCOMP_NONE,        /* no filter at all */
};

#define SBOX_RLIMIT_COUNT 16      /* RLIMIT_CPU .. RLIMIT_RTTIME */

struct sbox_rlimit {
	bool set;                 /* false: inherited from the launcher */
	uint64_t soft, hard;      /* UINT64_MAX: infinity */
};

struct sbox_security {
	uint64_t cap_bounding;            /* CapabilityBoundingSet=: bit N = capability N */
	uint64_t cap_ambient;             /* AmbientCapabilities= */
	bool no_new_privs;                /* NoNewPrivileges= (default yes) */
	char *user;                       /* User=: name or uid; NULL: the default */
	char *group;                      /* Group=: name or gid; NULL: the user's */
	struct sbox_strv supp_groups;     /* SupplementaryGroups= */
	enum sbox_seccomp_profile seccomp;/* SeccompProfile= */
	struct sbox_strv syscall_filter;  /* SystemCallFilter=: "name", "~name[:ERRNO]" */
	int syscall_errno;                /* SystemCallErrorNumber=; 0: kill the process */
	struct sbox_rlimit rlimits[SBOX_RLIMIT_COUNT];  /* Limit*=, by RLIMIT_ number */
};

/* The sandbox's hostname when the policy names none. */
#define SBOX_DEFAULT_HOSTNAME "sbox"

struct sbox_policy {
	/* Namespaces and identity of the sandbox. */
	char *hostname;            /* Hostname= (NULL: SBOX_DEFAULT_HOSTNAME) */
	int private_users;         /* PrivateUsers=: -1 auto (when not root) */

	/* Filesystem view. */
	struct sbox_mount *mounts; /* BindPaths= ... InaccessiblePaths= */
	size_t n_mounts;

	/* Process state handed to the worker. */
	struct sbox_strv env;      /* Environment=: "NAME=value" */
	struct sbox_strv pass_env; /* PassEnvironment=: names */
	char *workdir;             /* WorkingDirectory=; NULL = caller's cwd */
	mode_t umask;              /* UMask= */
	bool new_session;          /* NewSession= */

	/* Limits the sandbox's cgroup enforces (P1e, docs/cgroups.md). */
	struct sbox_resources res;
	/* The device nodes and GPUs the sandbox may use (P1c, docs/gpus.md). */
	struct sbox_devices_policy devices;
	/* Who the worker runs as and what it may still do: ids, capabilities,
	 * seccomp, rlimits (P1b, W1b, W3b; docs/security.md). */
	struct sbox_security sec;
	/* The sandbox's network namespace and links (P1d, C5b, docs/network.md). */
	struct sbox_net_policy net;

	/* Reading, not the sandbox: the words Environment= and
	 * PassEnvironment=, and GPUs=, took so far (SBOX_*_WORDS_MAX). */
	unsigned env_words, gpu_words;
};

static inline bool sbox_mount_is_bind(const struct sbox_mount *m)
{
	return m->kind == SBOX_MOUNT_BIND || m->kind == SBOX_MOUNT_BIND_RO;
}

/* BindPaths= or BindReadOnlyPaths= given: sources a launch must open. */
static inline bool sbox_policy_has_binds(const struct sbox_policy *p)
{
	for (size_t i = 0; i < p->n_mounts; i++)
		if (sbox_mount_is_bind(&p->mounts[i]))
			return true;
	return false;
}

/* Hostname=, or the default: what the sandbox's UTS namespace is set to. */
static inline const char *sbox_policy_hostname(const struct sbox_policy *p)
{
	return p->hostname ? p->hostname : SBOX_DEFAULT_HOSTNAME;
}

void sbox_policy_init(struct sbox_policy *p);
void sbox_policy_free(struct sbox_policy *p);

/* Cross-directive checks run once all files and flags are applied
 * (e.g. a bind destination must be absolute and not "/"). */
int sbox_policy_validate(const struct sbox_policy *p, struct sbox_err *err);

/* strv helpers used by setters. */
int sbox_strv_push(struct sbox_strv *s, const char *value);
void sbox_strv_clear(struct sbox_strv *s);

#endif
