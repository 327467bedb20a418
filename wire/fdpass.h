/* SPDX-License-Identifier: MIT */
/*
 * One packet and its file descriptors (SCM_RIGHTS) on a Unix socket: the
 * one copy of the cmsg arithmetic that libsbox's client, sboxd (its
 * clients and its keeper) and the tests all use.
 *
 * Receiving is where a peer can hurt: fds arrive close-on-exec
 * (MSG_CMSG_CLOEXEC), so that none leaks into a sandbox sboxd starts
 * before it is handled; every fd that arrived is either handed to the
 * caller or closed, never dropped unseen; and a packet cut short
 * (MSG_TRUNC) or whose fds did not all fit (MSG_CTRUNC) is reported, so
 * that the caller can refuse it.
 */
#ifndef SBOX_WIRE_FDPASS_H
#define SBOX_WIRE_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

/* The kernel's SCM_MAX_FD: the most fds one sendmsg can carry.  Receiving
 * makes room for that many, so that every fd a peer sends arrives (and can
 * be closed) rather than being dropped by the kernel with MSG_CTRUNC. */
#define SBOX_FDPASS_MAX 253

/* Send buf[len] and fds[nfds] as one packet, with MSG_NOSIGNAL and flags
 * (e.g. MSG_DONTWAIT).  0 when all of it went; -1 with errno otherwise
 * (EMSGSIZE: more than SBOX_FDPASS_MAX fds, or the packet went short). */
int sbox_fdpass_send(int sock, const void *buf, size_t len, const int *fds, size_t nfds,
		     int flags);

/* What arrived beside a packet. */
struct sbox_fdpass_in {
	int *fds;                   /* room for max fds */
	/* At most SBOX_FDPASS_MAX.  0: no fd is taken at all: the kernel
	 * drops what came without installing it (MSG_CTRUNC says some did;
	 * with MSG_PEEK the packet keeps them): nothing is closed here, so no
	 * ->flush runs, but a dropped last reference is released in this
	 * thread. */
	size_t max;
	size_t nfds;                /* how many are in fds */
	/* MSG_TRUNC: the packet was longer than the buffer; MSG_CTRUNC: more
	 * fds came than max (those past max are closed). */
	int msg_flags;
	/* Closes an fd past max (with close_arg); NULL: close(2).  sboxd
	 * passes its closer, as closing a client's fd may block. */
	void (*close_fd)(int fd, void *close_arg);
	void *close_arg;
};

/* Receive one packet into buf[len] (with MSG_CMSG_CLOEXEC and flags, e.g.
 * MSG_DONTWAIT), its fds into in->fds.  Returns the packet's length (0 at
 * the peer's end, or an empty packet: in->nfds tells which), or -1 with
 * errno and no fd taken.  EINTR is retried. */
ssize_t sbox_fdpass_recv(int sock, void *buf, size_t len, int flags, struct sbox_fdpass_in *in);

#endif
