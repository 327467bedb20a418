/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/*
 * S1c, specialise: the request a prepared sandbox's init waits for (the
 * step list atop sandbox/launch.c).  Init was cloned before the request
 * existed, so what differs per request travels on the sync channel: argv,
 * the worker's environment, the caller's cwd and the request's hostname in
 * a memfd (no size limit of a packet), stdio and the passed fds beside it
 * (SCM_RIGHTS), each passed fd with the number it gets in the worker, and
 * a pool's bind sources (detached mount trees, each with the index of its
 * policy mount).
 */
#ifndef SBOX_SANDBOX_REQUEST_H
#define SBOX_SANDBOX_REQUEST_H

#include <stddef.h>

#include "common/err.h"
#include "sandbox/sandbox.h"

#define SBOX_REQUEST_MAX_PASS 64
/* Bind sources in one request: with stdio and the passed fds they must fit
 * one message (SBOX_SYNC_MAX_FDS); a request that does not is refused, and
 * a pool then launches in full. */
#define SBOX_REQUEST_MAX_BINDS 16

/* What init holds of the request once received: pointers into blob. */
struct sbox_request {
	char **argv;
	char **envp;
	char *cwd;                  /* NULL: the caller named none */
	char *hostname;             /* NULL: the one init set at C5 stays */
	int stdio[3];               /* -1: /dev/null */
	int pass_fds[SBOX_REQUEST_MAX_PASS];
	int targets[SBOX_REQUEST_MAX_PASS];
	size_t n_pass;
	int bind_trees[SBOX_REQUEST_MAX_BINDS];
	unsigned bind_index[SBOX_REQUEST_MAX_BINDS];  /* its policy mount */
	size_t n_binds;
	char *blob;
	char **vec;
};

/* Parent (P5): the request of launch l, with the environment built for
 * it, the request's hostname (NULL: none to set) and its bind sources
 * (trees[i] for policy mount i of n, -1 or trees NULL: none), sent on
 * sync_fd as S1c SPECIALISE. */
int sbox_request_send(int sync_fd, const struct sbox_launch *l, char *const *envp,
		      const char *hostname, const int *trees, size_t n, struct sbox_err *err);
/* Init (C6d): wait for S1c and take the request.  -1 with err when it is
 * malformed; EOF (the launcher gave the sandbox up) is ECONNRESET. */
int sbox_request_recv(int sync_fd, struct sbox_request *req, struct sbox_err *err);

#endif
