/* SPDX-License-Identifier: MIT */
#include "sandbox/sync.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int sbox_sync_recv(int fd, struct sbox_sync_msg *m)
{
	bool reset = false;
	ssize_t n;

	/* A peer that ends with a message of ours unread (init failing at
	 * C6 before it took S1c) leaves ECONNRESET on this socket, which
	 * recv() reports once, ahead of the messages that peer sent before
	 * it went (its SETUP_ERROR): read on past it, or the reason is
	 * lost.  After it, an empty queue is EOF. */
	do
		n = recv(fd, m, sizeof(*m), 0);
	while (n < 0 && (errno == EINTR || (errno == ECONNRESET && !reset && (reset = true))));
	if (n < 0)
		return errno == ECONNRESET ? 0 : -1;
	if (n == 0)
		return 0;
	if ((size_t)n != sizeof(*m)) {
		errno = EPROTO;
		return -1;
	}
	m->text[sizeof(m->text) - 1] = '\0';
	return 1;
}

/* One message, with fds beside it (SCM_RIGHTS) when nfds > 0.  sandbox/
 * may not use wire/fdpass.c (it depends on policy/ and common/ only):
 * this is the cmsg arithmetic of the one message that carries fds, S1c. */
static int send_msg(int fd, struct sbox_sync_msg *m, const int *fds, size_t nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * SBOX_SYNC_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds > SBOX_SYNC_MAX_FDS) {
		errno = EMSGSIZE;
		return -1;
	}
	if (nfds) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != sizeof(*m)) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

int sbox_sync_send(int fd, uint32_t type, int errnum, int value, const char *text)
{
	struct sbox_sync_msg m = { .type = type, .errnum = errnum, .value = value };

	if (text)
		strncpy(m.text, text, sizeof(m.text) - 1);
	return send_msg(fd, &m, NULL, 0);
}

int sbox_sync_send_fds(int fd, uint32_t type, int value, const int *fds, size_t nfds)
{
	struct sbox_sync_msg m = { .type = type, .value = value };

	return send_msg(fd, &m, fds, nfds);
}

static size_t take_fds(struct msghdr *mh, int *fds)
{
	size_t n = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k && n < SBOX_SYNC_MAX_FDS; i++)
			memcpy(&fds[n++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	return n;
}

int sbox_sync_recv_fds(int fd, struct sbox_sync_msg *m, int *fds, size_t *nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * SBOX_SYNC_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	ssize_t n;

	*nfds = 0;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == ECONNRESET ? 0 : -1;
	*nfds = take_fds(&mh, fds);
	if (n == 0 && *nfds == 0)
		return 0;
	if ((size_t)n != sizeof(*m) || (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC))) {
		for (size_t i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
		errno = (size_t)n != sizeof(*m) ? EPROTO : EMSGSIZE;
		return -1;
	}
	m->text[sizeof(m->text) - 1] = '\0';
	return 1;
}
