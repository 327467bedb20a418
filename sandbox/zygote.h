/* SPDX-License-Identifier: MIT */
/* Public: part of sandbox/'s face, which other rooms may include (docs/design.md). */
/*
 * The sandbox side of zygotes (include/sbox/zygote.h is the API,
 * libsbox/zygote.c its state; docs/security.md, "Zygotes"): the template's
 * helper that makes one small init per worker, the placement a worker does
 * on itself in direct mode, and the in-process specialise that turns a
 * freshly forked worker into a sandbox.  Every step is one of the launch
 * recipe's own functions (cgroup, devices, GPUs, mounts, lo, rlimits,
 * capabilities, seccomp), called in the worker instead of in a cloned child.
 */
#ifndef SBOX_SANDBOX_ZYGOTE_H
#define SBOX_SANDBOX_ZYGOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"
#include "policy/policy.h"
#include "sandbox/sandbox.h"

/* In the template, once, after its pid namespace for children was made:
 * fork the helper (pid 1 of that namespace), which answers each request on
 * *sock with the pidfd of a new init.  The helper dies with the template. */
int sbox_zygote_helper_start(int *sock, pid_t *pid, struct sbox_err *err);
/* One init, pid 1 of a new pid namespace, made by the helper: *pidfd.
 * The caller enters its pid namespace, then calls helper_ready, which
 * returns once init made itself non-dumpable and dropped its capabilities
 * (a non-dumpable init could not be entered by an unprivileged template).
 * On any failure after helper_init the caller kills the init. */
int sbox_zygote_helper_init(int sock, int *pidfd, struct sbox_err *err);
int sbox_zygote_helper_ready(int sock, struct sbox_err *err);

/* What a worker was given: its GPUs' grant and device set, its cgroup
 * (direct mode). */
struct sbox_zygote_grant;

/* The site configuration at path (NULL: SBOX_SITE_DEFAULT_PATH, which may
 * be absent) and the GPU inventory it points at, read once by the
 * template before its user namespace exists (in it, root's files show as
 * the overflow uid). */
struct sbox_zygote_site;
int sbox_zygote_site_load(struct sbox_zygote_site **out, const char *path, struct sbox_err *err);
void sbox_zygote_site_free(struct sbox_zygote_site *zs);

/* Direct mode (root), in the worker: the policy's cgroup with its limits
 * and device rules, the GPUs (GPUs=, or the first gpu_count) granted, the
 * calling process moved in.  cgroup_out gets the cgroup's path as soon as
 * it exists (in memory the template reads, so that it can remove it
 * whatever happens next); "" when the sandbox runs without one. */
int sbox_zygote_place_direct(struct sbox_zygote_grant **out, const struct sbox_policy *p,
			     const struct sbox_zygote_site *zs, unsigned gpu_count, char *cgroup_out,
			     size_t cgroup_len, struct sbox_err *err);
/* Placed by sboxd: the grant of the GPUs it leased (positions in zs's
 * inventory, which must be sboxd's), for the worker's /dev; sboxd put the
 * device rules on the cgroup. */
int sbox_zygote_grant_leased(struct sbox_zygote_grant **out, const struct sbox_policy *p,
			     const struct sbox_zygote_site *zs, const unsigned *gpus, size_t n_gpus,
			     struct sbox_err *err);
/* env's "K=V" entries appended to buf (NUL-terminated, len bytes) as
 * "K=V\n" lines; the grant's variables (CUDA_VISIBLE_DEVICES...) so. */
int sbox_zygote_env_append(char *const *env, char *buf, size_t len, struct sbox_err *err);
int sbox_zygote_grant_env(const struct sbox_zygote_grant *g, char *buf, size_t len,
			  struct sbox_err *err);
void sbox_zygote_grant_free(struct sbox_zygote_grant *g);

/* In the template, before its imports: compile p's seccomp filter into
 * sandbox/seccomp.c's cache, so that each worker forked from it with the
 * same filter settings copies it instead of compiling (libseccomp's work,
 * about half of a worker's specialise on a loaded VM).  Best effort: a
 * worker whose filter is not there compiles its own. */
void sbox_zygote_warm(const struct sbox_policy *p);

/* In the worker, after placement: new mount, net, ipc, uts and cgroup
 * namespaces, hostname, lo up, the root view with only the granted
 * devices, every fd but stdio and keep closed, rlimits, capabilities,
 * no_new_privs, the seccomp filter.  On -1 the worker must _exit(125). */
int sbox_zygote_specialise(const struct sbox_policy *p, const struct sbox_zygote_grant *g,
			   const int *keep, size_t n_keep, struct sbox_err *err);

/* sboxd, PLACE: the process of peer_pidfd (the connection's peer, by
 * SO_PEERPIDFD: a client places only itself) moved into a new cgroup of
 * its own with the policy's limits and the device set of the GPUs l->gpus
 * selected (l->site: sboxd's).  Refused when the peer already lives in a
 * sandbox's cgroup ("sbox-..."), placed or launched.  *out holds the
 * placed process as an adopted sandbox (sboxd watches its pidfd, never
 * reaps it) whose event channel says STARTED, then ends; freeing it kills
 * what is left in the cgroup and removes it. */
struct sbox_child;
int sbox_zygote_place_peer(const struct sbox_policy *p, const struct sbox_launch *l,
			   int peer_pidfd, struct sbox_child **out, struct sbox_err *err);

/* A successor sboxd's adopted sandbox that was a placed process (the
 * keeper's record says so): its signals go to it by pidfd. */
void sbox_zygote_mark_placed(struct sbox_child *c);

/* In the template, after a direct-mode worker ended: kill what is left in
 * its cgroup and remove it. */
int sbox_zygote_remove_cgroup(const char *path, struct sbox_err *err);

#endif
