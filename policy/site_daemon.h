/* SPDX-License-Identifier: MIT */
/*
 * sboxd's sections of the site configuration (policy/site.c reads the file;
 * these are its [Daemon], [Bounds] and [Defaults] keys).  One file holds
 * the machine's facts ([GPUs]) and the daemon's rules, so that the GPU
 * inventory sboxd leases from is the one sboxrun --direct would use.
 *
 *   [Daemon]    Socket=, StateDirectory=, AllowUsers=, AllowGroups=,
 *               MaxConnections=, MaxJobs=, MaxJobsPerUser=, IdleTimeoutSec=,
 *               ReattachTimeoutSec=, NetnsPool=, AllowNestedClients=,
 *               RefuseClientCgroups=,
 *               MaxConnectionsPerUser=, MaxQueuedJobsPerUser=,
 *               MaxFdsPerUser=, MaxEndedJobsPerUser=
 *   [Bounds]    AllowBindPaths=, AllowGPUs=, MaxGPUs=, AllowHostNetwork=,
 *               AllowUserSwitch=, AllowNoSeccomp=, AllowNewPrivileges=,
 *               AllowCapabilities=, MemoryMax=, TasksMax=,
 *               CPUQuota=, AllowedCPUs=, RuntimeMaxSec=
 *   [Pool]      Size=, MaxShapes=, MaxShapesPerUser=, MaxSandboxes=, Shapes=,
 *               RefillIdleSec=
 *   [Defaults]  any job policy directive but BindPaths=/BindReadOnlyPaths=:
 *               applied to every job before the job's own policy
 */
#ifndef SBOX_POLICY_SITE_DAEMON_H
#define SBOX_POLICY_SITE_DAEMON_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "policy/bounds.h"

#define SBOX_STATE_DIR_DEFAULT "/run/sbox/sboxd"

struct sbox_site;

/* [Pool] Shapes=USER:FILE: a shape prepared from sboxd's start, as USER's
 * launch of the policy FILE (after [Defaults]) would be. */
struct sbox_pool_shape_cfg {
	uid_t uid;
	gid_t gid;                      /* USER's primary group */
	char *policy_file;
};

struct sbox_site_daemon {
	/* [Daemon] */
	char *socket;                   /* Socket= (sboxd --socket wins) */
	char *state_dir;                /* StateDirectory= */
	uid_t *allow_users;             /* AllowUsers= (root always may) */
	size_t n_allow_users;
	gid_t *allow_groups;            /* AllowGroups= */
	size_t n_allow_groups;
	unsigned max_connections;       /* MaxConnections= */
	unsigned max_jobs;              /* MaxJobs= */
	unsigned max_jobs_per_user;     /* MaxJobsPerUser=; 0: MaxJobs; unset: sbox_site_jobs_per_user() */
	uint64_t idle_timeout_usec;     /* IdleTimeoutSec= */
	uint64_t reattach_timeout_usec; /* ReattachTimeoutSec= */
	unsigned netns_pool;            /* NetnsPool=: prepared netns kept */
	bool allow_nested;              /* AllowNestedClients=: peers in other pid ns */
	char **refuse_cgroups;          /* RefuseClientCgroups=: cgroup paths, NULL-ended */
	size_t n_refuse_cgroups;
	/* Per user other than root (0: no cap): what one user may take of
	 * what all share. */
	unsigned max_conns_per_user;    /* MaxConnectionsPerUser= */
	unsigned max_queued_per_user;   /* MaxQueuedJobsPerUser=: --wait-gpu launches */
	unsigned max_fds_per_user;      /* MaxFdsPerUser=: connections + queued launches' fds */
	unsigned max_ended_per_user;    /* MaxEndedJobsPerUser=: ended records kept */
	/* [Pool]: sandboxes prepared ahead, per shape (sboxd/pool.c) */
	unsigned pool_size;             /* Size=: kept per shape; 0: no pool */
	unsigned pool_max_shapes;       /* MaxShapes= */
	unsigned pool_max_shapes_per_user; /* MaxShapesPerUser= */
	unsigned pool_max_sandboxes;    /* MaxSandboxes=: prepared, all shapes */
	uint64_t pool_refill_idle_usec; /* RefillIdleSec=: quiet before a refill */
	struct sbox_pool_shape_cfg *pool_shapes; /* Shapes= */
	size_t n_pool_shapes;
	/* [Bounds] */
	struct sbox_bounds bounds;
	bool resource_bounds_set;       /* a resources bound was given */
	/* [Defaults]: "[Sandbox]\nName=value\n..." */
	char *defaults;
	size_t defaults_len;
	/* [Defaults]' CgroupParent=, as set (NULL: none): the one parent a
	 * client's policy may end up with (policy/bounds.c). */
	char *defaults_cgroup_parent;
};

void sbox_site_daemon_init(struct sbox_site_daemon *d);
void sbox_site_daemon_free(struct sbox_site_daemon *d);

/* MaxJobsPerUser= as it holds: the value set (0: only MaxJobs= bounds a
 * user), else a quarter of MaxJobs= (at least 1), so that by default no
 * one user takes every job slot (docs/security.md). */
#define SBOX_JOBS_PER_USER_UNSET UINT_MAX
unsigned sbox_site_jobs_per_user(const struct sbox_site_daemon *d);

/* A key of [Defaults] (any policy directive). */
int sbox_site_defaults_add(struct sbox_site *s, const char *key, const char *value,
			   struct sbox_err *err);
/* Checks across keys, once the file is read. */
int sbox_site_daemon_check(const struct sbox_site *s, const char *name, struct sbox_err *err);

/* May this requester connect at all? */
bool sbox_site_daemon_allows(const struct sbox_site_daemon *d, const struct sbox_requester *who);

const char *sbox_site_state_dir(const struct sbox_site_daemon *d);

#define SBOX_SITE_DAEMON_SETTER(fn)                                                      \
	int sbox_site_set_##fn(struct sbox_site *s, const char *v, unsigned line,        \
			       struct sbox_err *err);
SBOX_SITE_DAEMON_SETTER(socket)
SBOX_SITE_DAEMON_SETTER(state_dir)
SBOX_SITE_DAEMON_SETTER(allow_users)
SBOX_SITE_DAEMON_SETTER(allow_groups)
SBOX_SITE_DAEMON_SETTER(max_connections)
SBOX_SITE_DAEMON_SETTER(max_jobs)
SBOX_SITE_DAEMON_SETTER(max_jobs_per_user)
SBOX_SITE_DAEMON_SETTER(idle_timeout)
SBOX_SITE_DAEMON_SETTER(reattach_timeout)
SBOX_SITE_DAEMON_SETTER(netns_pool)
SBOX_SITE_DAEMON_SETTER(allow_nested)
SBOX_SITE_DAEMON_SETTER(refuse_cgroups)
SBOX_SITE_DAEMON_SETTER(max_conns_per_user)
SBOX_SITE_DAEMON_SETTER(max_queued_per_user)
SBOX_SITE_DAEMON_SETTER(max_fds_per_user)
SBOX_SITE_DAEMON_SETTER(max_ended_per_user)
SBOX_SITE_DAEMON_SETTER(pool_size)
SBOX_SITE_DAEMON_SETTER(pool_max_shapes)
SBOX_SITE_DAEMON_SETTER(pool_max_shapes_per_user)
SBOX_SITE_DAEMON_SETTER(pool_max_sandboxes)
SBOX_SITE_DAEMON_SETTER(pool_refill_idle)
SBOX_SITE_DAEMON_SETTER(pool_shapes)
SBOX_SITE_DAEMON_SETTER(allow_bind_paths)
SBOX_SITE_DAEMON_SETTER(allow_gpus)
SBOX_SITE_DAEMON_SETTER(max_gpus)
SBOX_SITE_DAEMON_SETTER(allow_host_network)
SBOX_SITE_DAEMON_SETTER(allow_user_switch)
SBOX_SITE_DAEMON_SETTER(allow_no_seccomp)
SBOX_SITE_DAEMON_SETTER(allow_new_privileges)
SBOX_SITE_DAEMON_SETTER(allow_caps)
SBOX_SITE_DAEMON_SETTER(bound_memory_max)
SBOX_SITE_DAEMON_SETTER(bound_tasks_max)
SBOX_SITE_DAEMON_SETTER(bound_cpu_quota)
SBOX_SITE_DAEMON_SETTER(bound_cpus)
SBOX_SITE_DAEMON_SETTER(bound_runtime_max)

/* Rows for the key table in policy/site.c. */
#define SBOX_SITE_DAEMON_KEYS                                                            \
	{ "Daemon", "Socket", sbox_site_set_socket },                                    \
	{ "Daemon", "StateDirectory", sbox_site_set_state_dir },                         \
	{ "Daemon", "AllowUsers", sbox_site_set_allow_users },                           \
	{ "Daemon", "AllowGroups", sbox_site_set_allow_groups },                         \
	{ "Daemon", "MaxConnections", sbox_site_set_max_connections },                   \
	{ "Daemon", "MaxJobs", sbox_site_set_max_jobs },                                 \
	{ "Daemon", "MaxJobsPerUser", sbox_site_set_max_jobs_per_user },                 \
	{ "Daemon", "IdleTimeoutSec", sbox_site_set_idle_timeout },                      \
	{ "Daemon", "ReattachTimeoutSec", sbox_site_set_reattach_timeout },              \
	{ "Daemon", "NetnsPool", sbox_site_set_netns_pool },                             \
	{ "Daemon", "AllowNestedClients", sbox_site_set_allow_nested },                  \
	{ "Daemon", "RefuseClientCgroups", sbox_site_set_refuse_cgroups },               \
	{ "Daemon", "MaxConnectionsPerUser", sbox_site_set_max_conns_per_user },         \
	{ "Daemon", "MaxQueuedJobsPerUser", sbox_site_set_max_queued_per_user },         \
	{ "Daemon", "MaxFdsPerUser", sbox_site_set_max_fds_per_user },                   \
	{ "Daemon", "MaxEndedJobsPerUser", sbox_site_set_max_ended_per_user },           \
	{ "Pool", "Size", sbox_site_set_pool_size },                                     \
	{ "Pool", "MaxShapes", sbox_site_set_pool_max_shapes },                          \
	{ "Pool", "MaxShapesPerUser", sbox_site_set_pool_max_shapes_per_user },          \
	{ "Pool", "MaxSandboxes", sbox_site_set_pool_max_sandboxes },                    \
	{ "Pool", "RefillIdleSec", sbox_site_set_pool_refill_idle },                     \
	{ "Pool", "Shapes", sbox_site_set_pool_shapes },                                 \
	{ "Bounds", "AllowBindPaths", sbox_site_set_allow_bind_paths },                  \
	{ "Bounds", "AllowGPUs", sbox_site_set_allow_gpus },                             \
	{ "Bounds", "MaxGPUs", sbox_site_set_max_gpus },                                 \
	{ "Bounds", "AllowHostNetwork", sbox_site_set_allow_host_network },              \
	{ "Bounds", "AllowUserSwitch", sbox_site_set_allow_user_switch },                \
	{ "Bounds", "AllowNoSeccomp", sbox_site_set_allow_no_seccomp },                  \
	{ "Bounds", "AllowNewPrivileges", sbox_site_set_allow_new_privileges },          \
	{ "Bounds", "AllowCapabilities", sbox_site_set_allow_caps },                     \
	{ "Bounds", "MemoryMax", sbox_site_set_bound_memory_max },                       \
	{ "Bounds", "TasksMax", sbox_site_set_bound_tasks_max },                         \
	{ "Bounds", "CPUQuota", sbox_site_set_bound_cpu_quota },                         \
	{ "Bounds", "AllowedCPUs", sbox_site_set_bound_cpus },                           \
	{ "Bounds", "RuntimeMaxSec", sbox_site_set_bound_runtime_max },

#endif
