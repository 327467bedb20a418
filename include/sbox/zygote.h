/* SPDX-License-Identifier: MIT */
/*
 * libsbox zygotes: a template process T that imported a heavy runtime once
 * forks workers W, each entering a fresh sandbox of its own
 * (docs/security.md, "Zygotes"; docs/protocol.md, "PLACE").
 *
 *   z = sbox_zygote_open(NULL or socket, err, len);  // in T, first, single-threaded
 *   ... import the heavy modules ...
 *   sbox_zygote_check_clean(err, len);             // no CUDA initialised in T
 *   for each worker:
 *       sbox_zygote_prefork(z, ...);               // a new pid ns, its init as pid 1
 *       pid = fork();                              // W: pid 2 of that namespace
 *       in W:  if (sbox_zygote_enter(z, policy, gpus, keep, n, env, len, err, len) < 0)
 *                      _exit(125);                 // never run the target
 *       in T:  sbox_zygote_postfork(z, pid, ...);
 *       ... once T reaped W: sbox_zygote_reaped(z, pid, ...);
 *   sbox_zygote_close(z);
 *
 * socket_path NULL: direct mode, for root (the cgroup, device rules and
 * GPUs set up in-process with sandbox/'s code).  Otherwise sboxd at that
 * path ("" : $SBOX_SOCKET or the default) places each worker: T is made a
 * user namespace of the user's own (uid and gid mapped to themselves,
 * setgroups denied), so it never holds a privilege the user lacks.
 *
 * Strings are UTF-8; err is always NUL-terminated; functions return 0 on
 * success and -1 on failure with the reason in err, unless said otherwise.
 * Not thread-safe: T calls them from one thread.
 */
#ifndef SBOX_ZYGOTE_H
#define SBOX_ZYGOTE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sbox_zygote;

/* In T, first, while single-threaded.  NULL on error.  From here T's
 * children, whatever forks them, are born in a pid namespace of T's own
 * whose pid 1 is sbox's helper (their pids, as T sees them, are T's as
 * ever); $SBOX_SITE_CONFIG names the site configuration whose [GPUs]
 * inventory the workers' /dev comes from (sboxd's, through sboxd). */
struct sbox_zygote *sbox_zygote_open(const char *socket_path, char *err, size_t errlen);

/* -1 when the calling process initialised CUDA: libcuda or a libnvidia-*
 * library mapped, or an fd open on an NVIDIA device (char major 195);
 * err says which. */
int sbox_zygote_check_clean(char *err, size_t errlen);

/* In T, before each fork: T's next child is born pid 2 of a new pid
 * namespace whose pid 1 is a small init made by sbox's helper. */
int sbox_zygote_prefork(struct sbox_zygote *z, char *err, size_t errlen);

/* In T, after the fork: pid is the child's (-1: the fork failed, the
 * prepared init is dropped). */
int sbox_zygote_postfork(struct sbox_zygote *z, int pid, char *err, size_t errlen);

/* In W, first: its cgroup (limits, device rules, GPU leases), fresh
 * mount, net, ipc, uts and cgroup namespaces, the root view with only the
 * granted devices, lo up, hostname, rlimits, every fd but keep_fds and
 * stdio closed, capabilities dropped, no_new_privs, the seccomp filter.
 * policy_text: sbox policy text (docs/policy.md), NULL for the defaults.
 * env_out receives "K=V\n" lines the sandbox sets, for the caller to
 * apply to its environment: the policy's Environment= (through sboxd
 * after the site's [Defaults]), then the GPUs' visibility variables.  On -1 W must _exit(125) at
 * once: the sandbox may be half-built. */
int sbox_zygote_enter(struct sbox_zygote *z, const char *policy_text, unsigned gpu_count,
		      const int *keep_fds, size_t n_keep, char *env_out, size_t env_out_len,
		      char *err, size_t errlen);

/* In T, once it reaped W: W's init is killed; in direct mode W's cgroup
 * is removed. */
int sbox_zygote_reaped(struct sbox_zygote *z, int pid, char *err, size_t errlen);

/* Kills every init and helper left, removes what direct mode made.  The
 * helper was pid 1 of the namespace T's children are born in: after
 * close, T can't fork any more (ENOMEM), so it is T's last call. */
void sbox_zygote_close(struct sbox_zygote *z);

#ifdef __cplusplus
}
#endif

#endif
