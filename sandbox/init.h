/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/*
 * The sandbox's pid 1.  A worker as pid 1 would ignore every signal it has
 * no handler for (SIGTERM from sboxrun included) and would have to reap
 * orphans it knows nothing of; so, as bubblewrap and tini do, a tiny init
 * forks the worker, forwards signals to it, reaps everything, reports the
 * worker's wait status over the sync channel and exits, which ends the pid
 * namespace and kills whatever the worker left behind.
 */
#ifndef SBOX_SANDBOX_INIT_H
#define SBOX_SANDBOX_INIT_H

#include <stdbool.h>
#include <sys/types.h>

/* Signals init forwards to the worker. */
extern const int sbox_forwarded_signals[];

/* Block the forwarded signals and SIGCHLD and give them a handler, so the
 * kernel queues them for pid 1 (it drops SIG_DFL signals to an init).
 * Must run before the worker is forked. Returns a signalfd or -1. */
int sbox_init_prepare_signals(void);

/* Name init for what it is: comm "sbox-init", command line "sbox-init:
 * ARGV0" (it was the launcher's, so `pkill -f sboxd` reached every
 * sandbox).  Best effort: a name is no security boundary.  The command
 * line moves with PR_SET_MM, which needs CAP_SYS_RESOURCE (a root
 * launcher): in init, after the worker's start, before C7b drops the
 * capability.  false: it could not move, and sbox_init_overwrite_title()
 * may write it over the launcher's own argv instead, once the worker,
 * which shares init's memory until its execve, has exec'd. */
bool sbox_init_set_title(const char *worker_argv0);
void sbox_init_overwrite_title(void);

/* Run init until the worker ends; never returns. */

__attribute__((noreturn)) void sbox_init_run(pid_t worker, int sigfd, int sync_fd);

#endif
