/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/*
 * Inside sandbox/cgroup*.c: the backend interface that cgroup_v1.c and
 * cgroup_v2.c implement, the sandbox cgroup's state, and the cgroupfs file
 * helpers they share (sandbox/cgroup_fs.c).  Not for use outside these
 * files and the host probe (sandbox/host.c), which reads with them.
 */
#ifndef SBOX_SANDBOX_CGROUP_BACKEND_H
#define SBOX_SANDBOX_CGROUP_BACKEND_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox/cgroup.h"

/* How a sandbox's cgroup directory is held for its whole life: O_PATH.
 * Every use is relative to it (openat, faccessat), or the kernel takes it
 * raw (clone3's CLONE_INTO_CGROUP, a BPF program's attach target); and
 * every init a launcher forks inherits these fds and closes them (C0),
 * which for an O_PATH file skips the directory-notify and lock work of a
 * close: sboxd holds one per hierarchy per live sandbox (docs/benchmarks.md,
 * "Scaling"). */
#define SBOX_CG_DIR_OPEN (O_PATH | O_DIRECTORY | O_CLOEXEC)

/* One directory of the sandbox's cgroup: v2 has one, v1 one per hierarchy. */
struct sbox_cg_dir {
	unsigned mask;              /* v1: SBOX_CG_* of its hierarchy; v2: 0 */
	char *path;                 /* absolute, on the cgroup filesystem */
	int fd;                     /* SBOX_CG_DIR_OPEN, or -1 */
};

/* The limits of a policy with percentages made absolute for this host. */
struct sbox_cg_limits {
	const struct sbox_resources *res;
	uint64_t memory_max;        /* each valid when res->X.set */
	uint64_t memory_high;
	uint64_t memory_swap_max;
	uint64_t tasks_max;
	/* v1: a directory in every hierarchy, not only the ones the limits
	 * need (SBOX_CG_EVERY_HIERARCHY). */
	bool every_hierarchy;
};

/* The v1 hierarchies every sandbox's cgroup has a directory in, whatever
 * its limits (sandbox/cgroup_v1.c, needed_mask()): the sweep reads one of
 * them for the list of sandboxes. */
#define SBOX_CG_V1_ALWAYS \
	(SBOX_CG_MEMORY | SBOX_CG_PIDS | SBOX_CG_CPUACCT | SBOX_CG_DEVICES | SBOX_CG_FREEZER)

struct sbox_cgroup_ops;

/* What the cgroup's limit files say now, as sbox wrote them: the
 * resources they came from (a copy, its strings owned) and their values
 * resolved on the host they were resolved for.  sbox_cgroup_set_limits()
 * (sandbox/cgroup_limits.c) writes only what a request changes. */
struct sbox_cg_written {
	struct sbox_resources res;
	struct sbox_cg_limits lim;          /* lim.res == &res */
	struct sbox_host host;
};

struct sbox_cgroup {
	const struct sbox_cgroup_ops *ops;
	char name[64];
	struct sbox_cg_dir dirs[SBOX_CG_MOUNTS_MAX];
	size_t n_dirs;
	int guard_fd;               /* our end of the guard's pipe, or -1 */
	bool ended;                 /* sbox_cgroup_end() ran: removed (or left to the sweep) */
	bool left_busy;             /* ... with processes it could not kill */
	struct sbox_cg_written written;     /* zero for a cgroup reopened by path */
	struct sbox_cgview view;            /* planned by create; none when reopened */
};

struct sbox_cgroup_ops {
	int version;
	/* Make cg's directories under parent and write the limits.  On error
	 * whatever it made is still in cg->dirs for the caller to remove. */
	int (*create)(struct sbox_cgroup *cg, const struct sbox_cgroup_host *h,
		      const char *parent, const struct sbox_cg_limits *l, struct sbox_err *err);
	/* Write the limits l->res sets, and only those, on cg's existing
	 * directories (a request's, on a prepared sandbox). */
	int (*set_limits)(struct sbox_cgroup *cg, const struct sbox_cg_limits *l,
			  struct sbox_err *err);
	int (*attach)(struct sbox_cgroup *cg, pid_t pid, struct sbox_err *err);
	int (*kill)(struct sbox_cgroup *cg, struct sbox_err *err);
	int (*stats)(const struct sbox_cgroup *cg, struct sbox_stats *st, struct sbox_err *err);
	int (*devices_fd)(const struct sbox_cgroup *cg);
};

extern const struct sbox_cgroup_ops sbox_cgroup_v1_ops;
extern const struct sbox_cgroup_ops sbox_cgroup_v2_ops;

/* The limits of res resolved for host (percentages of its totals), in
 * sandbox/cgroup_limits.c; and what cg now has written, recorded there:
 * lim as resolved on host, its resources copied (-1 only when out of
 * memory); and forgotten. */
int sbox_cg_resolve_limits(const struct sbox_host *host, const struct sbox_resources *res,
			   struct sbox_cg_limits *l, struct sbox_err *err);
int sbox_cg_written_set(struct sbox_cgroup *cg, const struct sbox_host *host,
			const struct sbox_cg_limits *lim, struct sbox_err *err);
void sbox_cg_written_clear(struct sbox_cgroup *cg);

/* Remove cg's directories, the innermost first, with drain retrying a
 * busy one (a killed task on its way out) for a bounded while, else one
 * try each; closes and frees them.  The first failure is in err (NULL:
 * not wanted).  In sandbox/cgroup.c, for the end and the sweep. */
int sbox_cg_remove_dirs(struct sbox_cgroup *cg, bool drain, struct sbox_err *err);

/* The cgroupfs file helpers of sandbox/cgroup_fs.c. */

/* Write value to dir/file (no O_CREAT, no O_TRUNC: cgroupfs files take one
 * value per write).  Errors say which file of which cgroup. */
int sbox_cg_write(const struct sbox_cg_dir *d, const char *file, const char *value,
		  struct sbox_err *err);
/* Write a limit for a directive; a missing file means the host can't
 * enforce it, and the message says so. */
int sbox_cg_write_limit(const struct sbox_cg_dir *d, const char *file, const char *value,
			const char *directive, struct sbox_err *err);
/* AllowedMemoryNodes= and AllowedCPUs= (the same files on v1 and v2). */
int sbox_cg_write_cpuset(const struct sbox_cg_dir *d, const struct sbox_resources *r,
			 struct sbox_err *err);
/* The same, for a directory given by path (a parent level). */
int sbox_cg_write_path(const char *dir, const char *file, const char *value,
		       struct sbox_err *err);
/* Read dir/file into buf (NUL-terminated, trailing newline kept); the
 * number of bytes, or -errno. */
ssize_t sbox_cg_read(int dirfd, const char *file, char *buf, size_t len);
ssize_t sbox_cg_read_path(const char *dir, const char *file, char *buf, size_t len);
/* A file holding one number ("max" and "-1" read as UINT64_MAX). */
int sbox_cg_read_u64(int dirfd, const char *file, uint64_t *out);
/* The value of "key N" in a flat keyed file (cpu.stat, memory.events). */
int sbox_cg_read_key(int dirfd, const char *file, const char *key, uint64_t *out);
bool sbox_cg_has_file(int dirfd, const char *file);
/* mkdir -p of rel below root, calling made() for each level it creates
 * (v1 cpuset levels need their cpus and mems copied from above). */
int sbox_cg_mkdir_parents(const char *root, const char *rel,
			  int (*made)(const char *path, void *arg), void *arg,
			  struct sbox_err *err);
/* mkdir path and open it into d; on failure nothing of it is left (a
 * directory made and not opened is removed again). */
int sbox_cg_make_dir(struct sbox_cg_dir *d, const char *path, struct sbox_err *err);
/* SIGKILL every pid listed in d/cgroup.procs; how many were listed, or -errno. */
int sbox_cg_kill_listed(const struct sbox_cg_dir *d);
/* Is d/cgroup.procs empty?  (A missing directory counts as empty.) */
bool sbox_cg_is_empty(const struct sbox_cg_dir *d);

#endif
