/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/*
 * The sandbox as its launcher holds it: struct sbox_child, behind
 * sandbox.h's sbox_child_* functions (sandbox/child.c).  Internal: only
 * sbox_spawn() (sandbox/launch.c) fills one in, as the recipe goes: the
 * network at P1e, the cgroup at P1g, the sync channel at P2, init's pid
 * and pidfd at P3; it hands it to the caller once S1 is sent.
 */
#ifndef SBOX_SANDBOX_CHILD_H
#define SBOX_SANDBOX_CHILD_H

#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>

#include "sandbox/gpu_grant.h"
#include "sandbox/identity.h"
#include "sandbox/network.h"
#include "sandbox/sandbox.h"

struct sbox_child {
	/* P1e: the network's host-side state (a veth's end and address
	 * lease, a group membership), held until init is reaped. */
	struct sbox_net net;
	/* P1g: the sandbox's own cgroup (NULL: runs without one, see
	 * sbox_cgroup_for_sandbox()); its figures are the sandbox's. */
	struct sbox_cgroup *cgroup;
	/* P2: the parent's end of the sync channel, where events arrive. */
	int sync_fd;
	/* P3: init (pid 0 until then: nothing to kill), reached through a
	 * pidfd from birth where the kernel has one, so no pid reuse races. */
	pid_t pid;
	int pidfd;
	/* P3: init's mount namespace, held (-1: none), so that its end --
	 * the sandbox's tree unmounted, an RCU grace period -- comes when
	 * the launcher lets it go (sbox_child_take_mount_ns(), end, free),
	 * not in init's exit, on the way from the worker's exit to its
	 * report. */
	int mntns_fd;
	/* The figures of its life: clone to reap; init's rusage once reaped
	 * (its waited-for children's too), for a sandbox without a cgroup. */
	struct timespec started, ended;
	struct rusage ru;
	bool reaped;
	/* Rebuilt by a successor daemon (sbox_child_adopt()): init was
	 * reparented, so it is not ours to reap. */
	bool adopted;
	/* sbox_child_signal(SIGKILL) delivered: how an adopted init ended
	 * is then known (sboxd killed it), though it is not ours to reap. */
	bool killed;
	/* A zygote's worker placed by sboxd (sbox_zygote_place_peer()): pid
	 * is that process, no init stands between; signals go to it by its
	 * pidfd. */
	bool placed;
	/* Ended at init's EMPTIED (sbox_child_end_at_emptied()): init is
	 * reaped by sbox_child_end(), or, when it did not exit in time,
	 * left (init_left: nobody waits for it). */
	bool end_reaps_init;
	bool init_left;
};

/* A sandbox prepared ahead (sbox_prepare()): built, its init waiting for
 * a request at S1c; sbox_specialise() turns it into a running sbox_child
 * (sandbox/launch.c). */
struct sbox_prepared {
	struct sbox_child *child;
	/* P1d: the GPUs granted: their variables join the environment at
	 * P5. */
	struct sbox_gpu_grant grant;
	/* P1b: who the worker runs as (its HOME and USER at P5), and the
	 * names its groups come from: P5a resolves the ids again for a pool's
	 * request and the login groups for every one. */
	struct sbox_identity worker;
	/* P1: the namespaces' ids, as P1b resolved the identity in them. */
	bool userns;
	uid_t mapped_uid;
	gid_t mapped_gid;
	/* P3: init says PREPARED at S1c (a pool's); ready once it has. */
	bool announce;
	bool ready;
};

struct sbox_prepared *sbox_prepared_new(void);

/* A child not cloned yet: no pid, no fds, no network state, so that
 * sbox_child_free() can unwind a launch at any of its steps.  NULL:
 * out of memory. */
struct sbox_child *sbox_child_new(void);

#endif
