/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/*
 * The sandbox's own cgroup (docs/cgroups.md): one per sandbox, made in the
 * parent before clone, with the policy's limits written before any of the
 * sandbox's processes exists; the figures of its life read at the end; and
 * a clean end that kills every process in it and removes it.
 *
 * One interface, two backends chosen at run time from what the host mounts:
 *   cgroup v2 (sandbox/cgroup_v2.c): /sys/fs/cgroup is a cgroup2 mount.  The
 *     child is cloned straight into the cgroup (clone3 CLONE_INTO_CGROUP with
 *     sbox_cgroup_clone_fd()); the end is cgroup.kill.
 *   cgroup v1 (sandbox/cgroup_v1.c): the hybrid and legacy layouts.  One
 *     directory per mounted controller (memory, pids, cpu, cpuacct, cpuset,
 *     blkio, freezer, devices); the child joins by pid before it is let go
 *     (sbox_cgroup_attach() at P4); the end is freeze, kill, thaw.
 *
 * Names: "sbox-<launcher pid>-<counter>" under a parent cgroup
 * (CgroupParent=, or the defaults of sbox_cgroup_default_parent()).
 * Nothing here blocks except the final clean-up (sbox_cgroup_destroy()),
 * which waits, bounded, for the killed processes to leave the cgroup.
 */
#ifndef SBOX_SANDBOX_CGROUP_H
#define SBOX_SANDBOX_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "policy/policy.h"
#include "sandbox/cgview.h"
#include "sandbox/host.h"
#include "sandbox/sandbox.h"

#define SBOX_CG_PATH_MAX 1024
#define SBOX_CG_MOUNTS_MAX 8

/* v1 controllers sbox uses, as bits of a mount's mask. */
enum {
	SBOX_CG_MEMORY = 1 << 0,
	SBOX_CG_PIDS = 1 << 1,
	SBOX_CG_CPU = 1 << 2,
	SBOX_CG_CPUACCT = 1 << 3,
	SBOX_CG_CPUSET = 1 << 4,
	SBOX_CG_BLKIO = 1 << 5,
	SBOX_CG_FREEZER = 1 << 6,
	SBOX_CG_DEVICES = 1 << 7,
};

/* The host's cgroup filesystems, as sbox_cgroup_host_detect() finds them.
 * Tests build one by hand over a fake tree. */
struct sbox_cgroup_host {
	int version;                        /* 2, 1, or 0: none mounted */
	char v2_mount[SBOX_CG_PATH_MAX];    /* v2: the cgroup2 mount point */
	struct {
		unsigned mask;              /* SBOX_CG_* it holds (co-mounts: several) */
		char path[SBOX_CG_PATH_MAX];
		char opts[512];             /* its super options ("rw,memory") */
	} v1[SBOX_CG_MOUNTS_MAX];           /* v1: one per hierarchy sbox uses */
	size_t n_v1;
	char self[SBOX_CG_PATH_MAX];        /* the caller's own cgroup ("0::" line) */
	struct sbox_host host;              /* the bases of MemoryMax=50%, TasksMax=10% */
};

struct sbox_cgroup;

/* statfs(/sys/fs/cgroup), /proc/self/mountinfo, /proc/self/cgroup, and
 * sbox_host_probe() for the totals (sandbox/host.c: the one host probe). */
int sbox_cgroup_host_detect(struct sbox_cgroup_host *h, struct sbox_err *err);

/* The parent used when CgroupParent= is empty (docs/cgroups.md):
 *   root:            "/sbox" (in every v1 hierarchy, or under the v2 root);
 *   not root, v2:    the caller's own cgroup's parent when the caller owns
 *                    it (a delegated subtree whose processes sit in a leaf,
 *                    systemd's DelegateSubgroup= layout), else the caller's
 *                    own cgroup;
 *   not root, v1:    "/sbox" too (it only works where an admin delegated it).
 * Writes into buf; a path in the hierarchy, not on the filesystem. */
void sbox_cgroup_default_parent(const struct sbox_cgroup_host *h, uid_t euid, char *buf,
				size_t len);

/* sbox_cgroup_create()'s flags.  On v1 a sandbox gets a directory only in
 * the hierarchies its limits, figures and kill need (docs/cgroups.md);
 * EVERY_HIERARCHY makes one in each, for a process placed into the cgroup
 * whose view of /sys/fs/cgroup was planned from all of them (sboxd's
 * PLACE of a zygote's worker). */
enum { SBOX_CG_EVERY_HIERARCHY = 1u << 0 };

/* Make the cgroup "name" under parent (created as needed) on host h and
 * write the limits of res.  A limit the host can't enforce (its controller
 * is missing or not delegated) is an error naming the directive.  On error
 * nothing is left behind. */
int sbox_cgroup_create(const struct sbox_cgroup_host *h, const char *parent, const char *name,
		       const struct sbox_resources *res, unsigned flags,
		       struct sbox_cgroup **out, struct sbox_err *err);

/* A prepared sandbox's request (sbox_specialise(), P5b): the limits res
 * asks for written where their values differ from what cg has, before
 * any process of the request's runs in it.  res must set the same limits
 * (the same ones infinite) as cg was made with, which a pool's shape
 * guarantees; anything else is refused. */
int sbox_cgroup_set_limits(struct sbox_cgroup *cg, const struct sbox_resources *res,
			   struct sbox_err *err);

/* What sbox_spawn() calls at P1: detect, choose the parent and a unique
 * name, create.  *out is NULL (and 0 returned) in the one case a sandbox
 * runs without a cgroup: an unprivileged caller, no CgroupParent=, no limit
 * asked for, and the default parent not writable (cgroup v1 can't be
 * delegated to a user namespace).  Any requested limit then fails, 125. */
int sbox_cgroup_for_sandbox(const struct sbox_policy *p, struct sbox_cgroup **out,
			    struct sbox_err *err);
/* The same, named for launcher, the host's pid of the process whose end
 * makes the cgroup stale for the sweep: a zygote's worker places itself
 * from a pid namespace of its own, where getpid() is 2 for every one. */
int sbox_cgroup_for_sandbox_as(const struct sbox_policy *p, pid_t launcher,
			       struct sbox_cgroup **out, struct sbox_err *err);
/* sbox_cgroup_for_sandbox() for a process placed into it by pid that
 * planned its view from every hierarchy (SBOX_CG_EVERY_HIERARCHY). */
int sbox_cgroup_for_placed(const struct sbox_policy *p, struct sbox_cgroup **out,
			   struct sbox_err *err);

/* v2: the directory fd for clone3(CLONE_INTO_CGROUP); v1: -1. */
int sbox_cgroup_clone_fd(const struct sbox_cgroup *cg);
/* Put pid (and its threads) into the cgroup: every v1 hierarchy, or the v2
 * cgroup when clone3 could not place it (the clone() fallback). */
int sbox_cgroup_attach(struct sbox_cgroup *cg, pid_t pid, struct sbox_err *err);

bool sbox_cgroup_is_v2(const struct sbox_cgroup *cg);
/* For the device rules (sandbox/devices.c): v1, the sandbox's directory in
 * the devices hierarchy (-1 when that controller is not mounted); v2, the
 * sandbox's cgroup directory (a BPF_CGROUP_DEVICE program attaches there). */
int sbox_cgroup_devices_fd(const struct sbox_cgroup *cg);
/* The fds cg holds open (its directories, the guard's pipe), at most
 * SBOX_CG_MOUNTS_MAX + 1, into out; how many. */
size_t sbox_cgroup_fds(const struct sbox_cgroup *cg, int *out);
/* What C6 shows the sandbox at /sys/fs/cgroup (sandbox/cgview.h): each
 * hierarchy cg has a directory in, planned when it was made; NULL cg, or
 * one reopened by path: none (the empty directory). */
const struct sbox_cgview *sbox_cgroup_view(const struct sbox_cgroup *cg);
/* The same for a process that some other launcher placed in a sandbox's
 * cgroup of its own in every hierarchy sbox uses (a zygote's worker,
 * placed by sboxd): planned from this host's probe. */
int sbox_cgroup_host_view(struct sbox_cgview *v, struct sbox_err *err);

/* "/sys/fs/cgroup/sbox/sbox-123-1" (v2) or the memory hierarchy's dir (v1),
 * for messages. */
const char *sbox_cgroup_path(const struct sbox_cgroup *cg);
const char *sbox_cgroup_name(const struct sbox_cgroup *cg);

/* Kill every process in the cgroup now: v2 cgroup.kill (freeze and kill on
 * kernels before 5.14); v1 freeze, SIGKILL each process, thaw, so that no
 * fork slips between reading the list and killing it.  Doesn't wait for the
 * processes to go. */
int sbox_cgroup_kill(struct sbox_cgroup *cg, struct sbox_err *err);

/* CPU (user, system), peak memory and OOM kills so far (st->have says
 * which); wall time is the caller's.  Still readable once the cgroup is
 * empty, until sbox_cgroup_destroy(). */
int sbox_cgroup_stats(const struct sbox_cgroup *cg, struct sbox_stats *st, struct sbox_err *err);

/* The end: kill, wait (bounded, about 5 s) for the cgroup to empty,
 * remove it (rmdir with retries: a dying task can hold it busy a moment),
 * free.  NULL is fine.  Fails when the cgroup could not be removed; it is
 * freed anyway, and sbox_cgroup_sweep() takes it later. */
int sbox_cgroup_destroy(struct sbox_cgroup *cg, struct sbox_err *err);

/* The end in two halves, for a launcher that keeps it off its main thread
 * (sboxd's teardown): sbox_cgroup_end() kills, waits and removes as
 * sbox_cgroup_destroy() does, with system calls only (no allocation, no
 * stdio; a message into err on failure), so that a helper thread may run
 * it beside a thread that clones; sbox_cgroup_destroy() then only frees.
 * sbox_cgroup_empty(): no process is left in any of its directories (one
 * read each; NULL: true; after sbox_cgroup_end(), whether it emptied it). */
int sbox_cgroup_end(struct sbox_cgroup *cg, struct sbox_err *err);
bool sbox_cgroup_empty(const struct sbox_cgroup *cg);

/* Let go of the cgroup without touching it (a sandbox that lives on under
 * another owner, sbox_child_release()): closes the fds, frees.  NULL is
 * fine. */
void sbox_cgroup_release(struct sbox_cgroup *cg);

/* A sandbox's cgroup again, for the launcher that takes the
 * sandbox over (sboxd after a restart), from the sbox_cgroup_path() its
 * predecessor recorded: the path must lie below a cgroup hierarchy of this
 * host and name a sandbox's cgroup ("sbox-..."); its directory in every
 * hierarchy sbox uses is opened (without following symlinks). */
int sbox_cgroup_reopen(const char *path, struct sbox_cgroup **out, struct sbox_err *err);

/* For a launcher that can be SIGKILLed (sboxrun): fork, once and without
 * waiting, a small guard ("sbox-cg-guard", in its own session) that waits
 * until the launcher and the sandbox's init are gone, then kills what is
 * left and removes the cgroup.  After a normal end it finds the cgroup
 * removed and exits.  It is the caller's child: a caller reaping with
 * waitpid(-1) would meet it.  The caller keeps the returned end of the
 * guard's pipe in the cgroup (closed by destroy). */
int sbox_cgroup_guard(struct sbox_cgroup *cg, struct sbox_err *err);

/* Remove stale sandbox cgroups under the parent: "sbox-<pid>-<n>" whose
 * launcher pid is gone, with no process left, older than a few seconds
 * (the guard's fallback).  Reads every sibling.  Returns the number
 * removed. */
int sbox_cgroup_sweep(const struct sbox_cgroup_host *h, const char *parent);

/* sbox_cgroup_sweep(), unless the parent was swept less than a few seconds
 * ago by this process or (root) by any launcher of the host, as a stamp
 * under /run/sbox says: what sbox_cgroup_for_sandbox() calls before every
 * launch, so that a launch beside many live sandboxes does not read them
 * all.  0 when skipped. */
int sbox_cgroup_sweep_throttled(const struct sbox_cgroup_host *h, const char *parent);

#endif
