/* SPDX-License-Identifier: MIT */
/* sboxrun's command line: launcher options plus one flag per directive
 * (generated from the directive table), turned into a struct sbox_policy. */
#ifndef SBOX_LAUNCHER_CLI_H
#define SBOX_LAUNCHER_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "common/err.h"
#include "policy/policy.h"

#define SBOX_MAX_PASS_FDS 64

struct sbox_cli {
	/* Answers that run no sandbox: main prints them and exits. */
	bool check;               /* --check: print the policy, run nothing */
	bool check_host;          /* --check=host: and resolve it against this host */
	bool help;
	bool help_policy;
	bool version;
	bool list_gpus;           /* --list-gpus */
	bool json;                /* --json (with --list-gpus) */
	bool jobs;                /* --jobs: list sboxd's jobs */
	bool leases;              /* --leases: list the GPUs and their holders */

	/* Who launches: sboxd (sboxrun/via_daemon.c) unless told otherwise;
	 * only a direct launch may name its own site configuration, since
	 * sboxd never takes a client's. */
	const char *socket;       /* --socket PATH */
	bool direct;              /* --direct: never sboxd */
	const char *site_config;  /* --site-config FILE (direct mode only) */
	unsigned gpus;            /* --gpus N: lease N free GPUs */
	bool wait_gpu;            /* --wait-gpu */
	bool detach;              /* --detach: print the job id, don't wait */
	const char *attach;       /* --attach JOB: wait for a (detached) job */

	/* The policy's Limit*= hard limits no higher than sboxrun's own:
	 * for a root caller that passes on another's policy (the Slurm
	 * plugin, the job's lines), whose worker must get no more than that
	 * caller could have given it unsandboxed. */
	bool cap_limits;          /* --cap-limits */

	/* What the worker gets besides the policy. */
	char **command;           /* argv of the worker, NULL-terminated */
	int pass_fds[SBOX_MAX_PASS_FDS];
	size_t n_pass_fds;

	/* What is reported once the sandbox is gone. */
	bool stats;               /* --stats: a summary line at exit */
	const char *json_status;  /* --json-status FILE */
	int json_status_fd;       /* its fd, opened before the launch (-1: none) */
};

/* Parse argv: policy files (-p, in order) first, then every flag and
 * --set in command-line order, so flags override files.  Returns 0, or -1
 * with err set (exit status 125). */
int sbox_cli_parse(int argc, char **argv, struct sbox_cli *cli, struct sbox_policy *p,
		   struct sbox_err *err);

void sbox_cli_usage(FILE *out);
void sbox_cli_list_directives(FILE *out);

#endif
