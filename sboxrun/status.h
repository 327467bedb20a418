/* SPDX-License-Identifier: MIT */
/*
 * How a sandbox ended, as sboxrun tells it (docs/cgroups.md): the message
 * for an end sbox caused (out of memory past MemoryMax=, RuntimeMaxSec=
 * passed), the one-line --stats summary, and the --json-status object.
 * The figures come from the sandbox's cgroup (sbox_child_stats()).
 */
#ifndef SBOX_LAUNCHER_STATUS_H
#define SBOX_LAUNCHER_STATUS_H

#include <stdbool.h>
#include <stdio.h>

#include "common/err.h"
#include "policy/policy.h"
#include "sandbox/sandbox.h"

#define EXIT_TIMEOUT 124   /* timeout(1)'s and systemd-run's convention */

struct sbox_end {
	int code;               /* sboxrun's exit code */
	int signal;             /* the signal that ended the worker (or init); 0: none */
	bool oom;               /* the worker was killed by the OOM killer */
	bool timed_out;         /* RuntimeMaxSec= passed; sbox killed the sandbox */
	bool have_stats;        /* stats below are filled */
	struct sbox_stats stats;
};

/* Once init is reaped: read the figures, and when sbox's limits ended the
 * sandbox say which ("sboxrun: worker killed: out of memory (MemoryMax=64M)",
 * "... timeout (RuntimeMaxSec=2s)") and return its exit code (137, 124).
 * worker_status: the worker's wait status from init, or -1 when init
 * ended without a report; init_status: init's.  Returns -1 when the end
 * was the worker's own (the caller reports it as usual). */
int sbox_end_explain(struct sbox_end *e, struct sbox_child *child, const struct sbox_policy *p,
		     int worker_status, int init_status, FILE *msg);
/* The same judgement from figures already in e (have_stats, stats,
 * timed_out), as sboxd reports them to sboxrun in client mode.  p NULL:
 * the job's policy is not known here (--attach), and the words name
 * no value. */
int sbox_end_judge(struct sbox_end *e, const struct sbox_policy *p, int worker_status,
		   int init_status, FILE *msg);

/* "sboxrun: stats: wall 1.204s, cpu user 0.950s system 0.020s, peak memory
 * 12.4M, oom kills 0" */
void sbox_end_print_stats(const struct sbox_end *e, FILE *out);

/* --json-status's file, opened (made if need be) before the launch, so
 * that a path that can't be written fails it before anything runs: the
 * fd, or -1 with err set. */
int sbox_end_open_json(const char *path, struct sbox_err *err);
/* One JSON object (and a newline) into fd (path's, for messages),
 * replacing what it held; closes fd. */
int sbox_end_write_json(const struct sbox_end *e, int fd, const char *path, struct sbox_err *err);
void sbox_end_format_json(const struct sbox_end *e, FILE *out);

#endif
