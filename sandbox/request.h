/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/*
 * S1c, specialise: the request a prepared sandbox's init waits for (the
 * step list atop sandbox/launch.c).  Init was cloned before the request
 * existed, so what differs per request travels on the sync channel: argv,
 * the worker's environment, the caller's cwd and the request's hostname in
 * a memfd (no size limit of a packet), stdio and the passed fds beside it
 * (SCM_RIGHTS), each passed fd with the number it gets in the worker.
 */
#ifndef SBOX_SANDBOX_REQUEST_H
#define SBOX_SANDBOX_REQUEST_H

#include <stddef.h>

#include "common/err.h"
#include "sandbox/sandbox.h"

#define SBOX_REQUEST_MAX_PASS 64

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
	char *blob;
	char **vec;
};

/* Parent (P5): the request of launch l, with the environment built for
 * it and the request's hostname (NULL: none to set), sent on sync_fd as
 * S1c SPECIALISE. */
int sbox_request_send(int sync_fd, const struct sbox_launch *l, char *const *envp,
		      const char *hostname, struct sbox_err *err);
/* Init (C6d): wait for S1c and take the request.  -1 with err when it is
 * malformed; EOF (the launcher gave the sandbox up) is ECONNRESET. */
int sbox_request_recv(int sync_fd, struct sbox_request *req, struct sbox_err *err);

#endif
