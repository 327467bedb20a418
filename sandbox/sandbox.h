/* SPDX-License-Identifier: MIT */
/*
 * The sandbox library: build a sandbox from a validated struct sbox_policy and
 * run a worker in it.  Used by sboxrun (direct mode) and sboxd, and meant to
 * be usable by any other process (a Slurm plugin) — it never parses text,
 * never prints, never exits the calling process, and never blocks on the
 * child's set-up: sbox_spawn() returns right after clone, and the set-up's
 * outcome arrives as events on sbox_child_event_fd().
 */
#ifndef SBOX_SANDBOX_SANDBOX_H
#define SBOX_SANDBOX_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"
#include "policy/policy.h"

/* Who asks and with what: not policy, but the request's own facts. */
struct sbox_launch {
	char *const *argv;          /* argv[0] is looked up in the sandbox's PATH */
	int stdio[3];               /* fds that become 0, 1, 2 (-1: /dev/null) */
	const int *pass_fds;        /* extra fds kept open under their numbers */
	size_t n_pass_fds;
	const char *caller_cwd;     /* used when the policy names no WorkingDirectory */
	char *const *caller_env;    /* PassEnvironment= and TERM come from here */
	uid_t caller_uid;
	gid_t caller_gid;
};

struct sbox_child;

enum sbox_event_kind {
	SBOX_EV_STARTED = 1,        /* the worker was exec'd */
	SBOX_EV_SETUP_FAILED,       /* a set-up step failed; nothing ran */
	SBOX_EV_EXEC_FAILED,        /* set-up done, execve() failed */
	SBOX_EV_EXITED,             /* the worker ended; status = wait status */
};

struct sbox_event {
	enum sbox_event_kind kind;
	int errnum;
	int status;
	pid_t worker_pid;           /* as seen inside the sandbox */
	char msg[SBOX_ERR_MSG_MAX];
};

/* Start a sandbox.  Returns once the child is cloned; *out owns it. */
int sbox_spawn(const struct sbox_policy *policy, const struct sbox_launch *launch,
	       struct sbox_child **out, struct sbox_err *err);

/* Readable when an event (or the end of events) is pending. */
int sbox_child_event_fd(const struct sbox_child *c);
/* 1: *ev filled; 0: no more events (the sandbox's init is gone); -1: error. */
int sbox_child_read_event(struct sbox_child *c, struct sbox_event *ev, struct sbox_err *err);

/* Readable when the sandbox's init (its pid 1) has exited. */
int sbox_child_pidfd(const struct sbox_child *c);
pid_t sbox_child_pid(const struct sbox_child *c);

/* Ask init to deliver sig to the worker (init forwards it). */
int sbox_child_signal(struct sbox_child *c, int sig, struct sbox_err *err);

/* Reap init once its pidfd is readable (or block): its wait status. */
int sbox_child_reap(struct sbox_child *c, int *status, struct sbox_err *err);

/* Kill whatever is left of the sandbox, reap, release everything. */
void sbox_child_free(struct sbox_child *c);

#endif
