/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/*
 * What the sandbox's side of the launch reads: everything the parent
 * computed before clone (P1, P2), in the child's copy of the parent's
 * memory; the request's own part (argv, environment, cwd, fds) arrives
 * later, at S1c (sandbox/request.h), and init puts it in its copy.  Internal: sandbox/launch.c fills it and clones; init runs
 * sbox_recipe_init() (sandbox/launch_init.c, steps C0-C9), which forks
 * the worker into sbox_recipe_worker() (sandbox/launch_worker.c, steps
 * W0-W4).  The step list and the reasons for its order are at the top of
 * sandbox/launch.c.
 */
#ifndef SBOX_SANDBOX_RECIPE_H
#define SBOX_SANDBOX_RECIPE_H

#include <stdbool.h>
#include <sys/types.h>

#include "policy/policy.h"
#include "sandbox/sandbox.h"

struct sbox_identity;
struct sbox_seccomp;
struct sbox_gpu_grant;
struct sbox_device_set;
struct sbox_net;
struct sbox_cgview;

struct sbox_recipe {
	/* The request: the policy and the caller's facts, as given. */
	const struct sbox_policy *policy;
	const struct sbox_launch *launch;
	/* P1: a user namespace or not, and the caller's ids, which C3 maps
	 * 1:1 into it. */
	bool userns;
	uid_t uid;
	gid_t gid;
	/* P1b: who the worker runs as, its ids resolved from the host's
	 * databases, its groups without the login's (P5a resolves those and
	 * S1c brings them: W1b applies init's copy, C6e), and its system
	 * call filter, compiled to BPF (W1b or W3b only install it). */
	const struct sbox_identity *ident;
	const struct sbox_seccomp *seccomp;
	/* P5, S1c: the worker's environment, the GPU grant's variables
	 * included (W4): NULL until init took the request (C6e). */
	char **envp;
	/* P1d: the GPUs granted (bound at C6, their locality at C6b) and
	 * every device the sandbox may open (C6's /dev). */
	const struct sbox_gpu_grant *grant;
	const struct sbox_device_set *devices;
	/* P1e: the child's copy of the network state (C5b; C6c keeps its
	 * lease and group fds open in init). */
	struct sbox_net *net;
	/* P1f: bind sources sboxd cloned from the client's fds, one per
	 * policy mount (C6); NULL: resolved by path at C6. */
	const int *src_trees;
	/* P1g: what C6 mounts at /sys/fs/cgroup, in C4's cgroup namespace:
	 * the hierarchies of the sandbox's own cgroup (sandbox/cgview.h);
	 * NULL without one: an empty directory. */
	const struct sbox_cgview *cgview;
	/* P1h: a device cgroup is in force on the sandbox: only then may a
	 * read-only bind keep its device nodes (C6). */
	bool devices_enforced;
	/* P2: the child's end of the sync channel (S1 in, S2-S4 out). */
	int sync_fd;
	/* P3: a pool prepares ahead: init says PREPARED at S1c (C6d) before
	 * it waits for the request.  sbox_spawn() sends it right away. */
	bool announce;
};

/* Init's steps C0-C9 in the cloned child; never returns. */
__attribute__((noreturn)) void sbox_recipe_init(const struct sbox_recipe *r);
/* The worker's steps W0-W4 after init forked it (C7a); report_fd: its
 * CLOEXEC report channel to init.  Never returns. */
__attribute__((noreturn)) void sbox_recipe_worker(const struct sbox_recipe *r, int report_fd);

/* A user namespace where the policy asks for one, by default when the
 * launcher is not root: the launch's choice (P1) and --check=host's. */
bool sbox_launch_userns(const struct sbox_policy *p);

#endif
