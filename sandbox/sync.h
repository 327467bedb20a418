/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/*
 * The parent <-> sandbox channel: a SOCK_SEQPACKET socketpair, one message a
 * packet.  Sync points, named the same on both sides (where they stand:
 * the step list atop sandbox/launch.c):
 *   S1 parent -> child  SYNC_GO          parent-side set-up is done
 *   S1c child -> parent SYNC_PREPARED    the sandbox is built, init waits
 *                                        for a request (sent only when the
 *                                        launcher asked: a pool's)
 *   S1c parent -> child SYNC_SPECIALISE  the request: a memfd with argv,
 *                                        env, cwd, then stdio and the
 *                                        passed fds (SCM_RIGHTS)
 *   S1d parent -> child SYNC_RUN         the launcher has recorded the
 *                                        sandbox where a successor finds
 *                                        it: the worker may go (C7d; only
 *                                        when it asked: survive_launcher)
 *   S2 child  -> parent SYNC_SETUP_ERROR a child step failed (then exit)
 *   S3 child  -> parent SYNC_EXEC_FAILED execve failed (errno)
 *   S3 child  -> parent SYNC_STARTED     execve succeeded
 *   S4a child -> parent SYNC_EXITED      the worker's wait status
 *   S4b child -> parent SYNC_EMPTIED     every other process of the
 *                                        sandbox killed and reaped: only
 *                                        init, exiting, is left (not sent
 *                                        when that took past 2 s)
 *   any parent -> child SYNC_SIGNAL      forward a signal to the worker
 */
#ifndef SBOX_SANDBOX_SYNC_H
#define SBOX_SANDBOX_SYNC_H

#include <stdint.h>

#include "common/err.h"

enum sbox_sync_type {
	SBOX_SYNC_GO = 1,
	SBOX_SYNC_SETUP_ERROR,
	SBOX_SYNC_EXEC_FAILED,
	SBOX_SYNC_STARTED,
	SBOX_SYNC_EXITED,
	SBOX_SYNC_SIGNAL,
	SBOX_SYNC_PREPARED,
	SBOX_SYNC_SPECIALISE,
	SBOX_SYNC_RUN,
	SBOX_SYNC_EMPTIED,
};

struct sbox_sync_msg {
	uint32_t type;
	int32_t errnum;
	int32_t value;              /* wait status, pid or signal number */
	char text[SBOX_ERR_MSG_MAX];
};

int sbox_sync_send(int fd, uint32_t type, int errnum, int value, const char *text);
/* 1: message; 0: peer closed; -1: errno set. */
int sbox_sync_recv(int fd, struct sbox_sync_msg *m);
/* The same with fds beside the message (SCM_RIGHTS; at most
 * SBOX_SYNC_MAX_FDS).  Received fds arrive CLOEXEC; *nfds says how many,
 * and a message whose fds did not all fit fails with EMSGSIZE, its fds
 * closed. */
#define SBOX_SYNC_MAX_FDS 80
int sbox_sync_send_fds(int fd, uint32_t type, int value, const int *fds, size_t nfds);
int sbox_sync_recv_fds(int fd, struct sbox_sync_msg *m, int *fds, size_t *nfds);

#endif
