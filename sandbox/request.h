/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/*
 * S1c, specialise: the request a prepared sandbox's init waits for (the
 * step list atop sandbox/launch.c).  Init was cloned before the request
 * existed, so what differs per request travels on the sync channel: argv,
 * the worker's environment and groups, the caller's cwd and the request's
 * hostname in a memfd (no size limit of a packet), stdio and the passed
 * fds beside it (SCM_RIGHTS), each passed fd with the number it gets in
 * the worker; and
 * for a pool's sandbox, what its shape left to the request: the hostname,
 * the WorkingDirectory=, the bind sources (detached mount trees, each
 * with the index of its policy mount).
 */
#ifndef SBOX_SANDBOX_REQUEST_H
#define SBOX_SANDBOX_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "sandbox/sandbox.h"
#include "sandbox/sync.h"

#define SBOX_REQUEST_MAX_PASS 64
/* Bind sources in one request: with the memfd, stdio and the passed fds
 * they fit one message (1 + 3 + 64 + 12 = SBOX_SYNC_MAX_FDS). */
#define SBOX_REQUEST_MAX_BINDS SBOX_POOL_MAX_BINDS
_Static_assert(1 + 3 + SBOX_REQUEST_MAX_PASS + SBOX_REQUEST_MAX_BINDS <= SBOX_SYNC_MAX_FDS,
	       "a request must fit one sync message");

struct sbox_identity;

/* The request's memfd: this header, then n_groups gids, then the
 * NUL-terminated strings (argv, envp, and the cwd, hostname and working
 * directory where the header says so).  Here rather than in request.c so
 * that white-box tests can write malformed ones. */
#define SBOX_REQUEST_MAGIC 0x53425235u          /* "SBR5" */
#define SBOX_REQUEST_MAX_BYTES (64u << 20)
/* setgroups(2)'s own bound (NGROUPS_MAX in the kernel). */
#define SBOX_REQUEST_MAX_GROUPS 65536u

struct sbox_request_hdr {
	uint32_t magic;
	uint32_t argc, envc, has_cwd, pooled, has_hostname, has_workdir;
	uint32_t n_pass;
	uint32_t stdio_mask;            /* bit i: stdio[i] travels beside it */
	int32_t targets[SBOX_REQUEST_MAX_PASS];
	uint32_t n_binds;
	uint32_t bind_index[SBOX_REQUEST_MAX_BINDS];
	uint32_t has_groups, n_groups;  /* the gids follow the header */
};

/* What init holds of the request once received: pointers into blob. */
struct sbox_request {
	char **argv;
	char **envp;
	char *cwd;                  /* NULL: the caller named none */
	bool pooled;                /* a pool's: the fields below are its */
	char *hostname;             /* NULL: the one init set at C5 stays */
	char *workdir;              /* WorkingDirectory=; NULL: none */
	int stdio[3];               /* -1: /dev/null */
	int pass_fds[SBOX_REQUEST_MAX_PASS];
	int targets[SBOX_REQUEST_MAX_PASS];
	size_t n_pass;
	int bind_trees[SBOX_REQUEST_MAX_BINDS];
	unsigned bind_index[SBOX_REQUEST_MAX_BINDS];  /* its policy mount */
	size_t n_binds;
	/* The worker's supplementary groups, resolved at P5a; has_groups
	 * false where it sets none (a user namespace denies setgroups). */
	bool has_groups;
	gid_t *groups;
	size_t n_groups;
	char *blob;
	char **vec;
};

/* What a pool's shape leaves to the request (sboxd/shape.c), which init
 * then applies: its hostname (C6f), WorkingDirectory= (C6e) and binds
 * (C6g). */
struct sbox_request_pooled {
	const char *hostname;
	const char *workdir;        /* NULL: the policy names none */
	const int *bind_trees;      /* one per policy mount, -1: none; NULL: none at all */
	size_t n_mounts;
};

/* Parent (P5): the request of launch l, with the environment built for
 * it, the worker's groups (P5a) and, for a pool's sandbox, what its shape
 * left out (NULL: a sandbox prepared for this very request has it all),
 * sent on sync_fd as S1c SPECIALISE. */
int sbox_request_send(int sync_fd, const struct sbox_launch *l, char *const *envp,
		      const struct sbox_identity *worker,
		      const struct sbox_request_pooled *pooled, struct sbox_err *err);
/* Init (C6d): wait for S1c and take the request.  -1 with err when it is
 * malformed; EOF (the launcher gave the sandbox up) is ECONNRESET. */
int sbox_request_recv(int sync_fd, struct sbox_request *req, struct sbox_err *err);

#endif
