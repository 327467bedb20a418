/* SPDX-License-Identifier: MIT */
/*
 * Site bounds: the second policy layer (docs/design.md).  The site
 * configuration's [Bounds] section says how far a job policy sent to sboxd
 * may go; sboxd checks every request against it after parsing the job's
 * policy and refuses a request past a bound with an error naming the bound
 * ("MemoryMax=8G is past the site bound MemoryMax=4G ([Bounds] in
 * /etc/sbox/sbox.conf)").  Pure functions: the daemon resolves everything
 * the checks need (who asks, where a bind fd really points) beforehand.
 */
#ifndef SBOX_POLICY_BOUNDS_H
#define SBOX_POLICY_BOUNDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "policy/policy.h"

#define SBOX_BOUNDS_MAX_GPU 1024
#define SBOX_BOUNDS_MAX_CPUS 8192

/* One AllowGPUs= line: who (a user, a @group or everyone) may lease
 * which GPUs (by sbox index). */
struct sbox_gpu_rule {
	enum { SBOX_WHO_USER, SBOX_WHO_GROUP, SBOX_WHO_ANY } who;
	uint32_t id;                           /* uid or gid */
	uint8_t gpus[SBOX_BOUNDS_MAX_GPU / 8];
};

struct sbox_bounds {
	const char *file;               /* for messages: the site file's name */
	/* AllowBindPaths=: bind sources must lie below one of these (after
	 * resolving the client's fd).  Not set: any path the client can open. */
	char **bind_paths;
	size_t n_bind_paths;
	bool bind_paths_set;
	/* AllowGPUs=: none given, everyone may lease every GPU. */
	struct sbox_gpu_rule *gpu_rules;
	size_t n_gpu_rules;
	unsigned max_gpus;              /* MaxGPUs= per job; 0: no bound */
	bool allow_host_network;        /* AllowHostNetwork= (default no) */
	bool allow_veth_network;        /* AllowVethNetwork= (default no) */
	bool allow_group_network;       /* AllowGroupNetwork= (default yes) */
	bool allow_user_switch;         /* AllowUserSwitch= (default no) */
	bool allow_no_seccomp;          /* AllowNoSeccomp=: SeccompProfile=none (default no) */
	bool allow_new_privileges;      /* AllowNewPrivileges=: NoNewPrivileges=no (default no) */
	uint64_t allow_caps;            /* AllowCapabilities=: ambient caps a job may ask */
	/* Resources: a bound set means the job must set a limit at or
	 * below it (a job without one, "infinity", is past it): give a
	 * default in [Defaults] so that plain jobs fit. */
	uint64_t memory_max;            /* MemoryMax=; SBOX_INFINITY: none */
	uint64_t tasks_max;             /* TasksMax= */
	uint32_t cpu_quota;             /* CPUQuota= (permyriad); 0: none */
	uint64_t runtime_max_usec;      /* RuntimeMaxSec= */
	bool cpus_set;                  /* AllowedCPUs= */
	uint8_t cpus[SBOX_BOUNDS_MAX_CPUS / 8];
};

/* Who asks: from SO_PEERCRED and SO_PEERGROUPS, never from a message. */
struct sbox_requester {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;            /* supplementary */
	size_t n_groups;
	const char *user_name;          /* the uid's name, NULL if none */
};

void sbox_bounds_init(struct sbox_bounds *b);
void sbox_bounds_free(struct sbox_bounds *b);

/* Root is not bounded (it could run sboxrun --direct anyway). */
bool sbox_bounds_apply_to(const struct sbox_requester *who);

/* What the launcher itself would hand the worker: its hard rlimits.  A
 * client may lower a limit, never raise one past the daemon's own. */
struct sbox_bounds_ctx {
	uint64_t hard[SBOX_RLIMIT_COUNT];   /* UINT64_MAX: infinity */
	size_t n_gpus;                      /* GPUs the job will hold */
	/* The host probe's totals (sandbox/host.h), which the cgroup resolves
	 * the same percentages against. */
	uint64_t mem_total;                 /* bytes, for MemoryMax=N% */
	uint64_t tasks_total;               /* tasks, for TasksMax=N% */
	/* The site's [Defaults] CgroupParent= (NULL: none), the only one a
	 * client's policy may hold: the cgroup is the site's to choose. */
	const char *cgroup_parent;
};

/* Everything in the policy itself: network mode, identity, capabilities,
 * rlimits, GPU count, resources. */
int sbox_bounds_check_policy(const struct sbox_bounds *b, const struct sbox_policy *p,
			     const struct sbox_requester *who, const struct sbox_bounds_ctx *ctx,
			     struct sbox_err *err);

/* Every Limit*= hard limit of p at most hard[] (by RLIMIT_ number;
 * UINT64_MAX: infinity), LimitNICE= up to 20 (nice 0) whatever hard[]
 * says.  The launcher's own hard limits are what a worker of a root
 * launcher could have without the policy: sboxd's bounds for clients, and
 * sboxrun --cap-limits for a caller that must not hand a policy more (the
 * Slurm plugin: a task's limits never above slurmd's).  0, or -1 naming
 * the first limit past it, whose ceiling it was ("sboxd's own") and why
 * that refuses it. */
int sbox_bounds_check_rlimits(const struct sbox_policy *p, const uint64_t hard[SBOX_RLIMIT_COUNT],
			      const char *whose, const char *why, struct sbox_err *err);

/* A bind source, by the path its fd really has (readlink of the fd). */
int sbox_bounds_check_bind(const struct sbox_bounds *b, const char *directive,
			   const char *real_path, struct sbox_err *err);

/* May who lease GPU index? */
bool sbox_bounds_gpu_allowed(const struct sbox_bounds *b, const struct sbox_requester *who,
			     unsigned index);

/* Is who in the id list (uids) or group list (gids, primary or
 * supplementary)? */
bool sbox_requester_in(const struct sbox_requester *who, const uid_t *uids, size_t n_uids,
		       const gid_t *gids, size_t n_gids);

/* "path" lies at or below "prefix" (both absolute and normal). */
bool sbox_path_below(const char *path, const char *prefix);

#endif
