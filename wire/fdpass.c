/* SPDX-License-Identifier: MIT */
/* SCM_RIGHTS send and receive (wire/fdpass.h says what each checks). */
#include "wire/fdpass.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Control data with room for SBOX_FDPASS_MAX fds, aligned for cmsghdr. */
union fdpass_ctl {
	char buf[CMSG_SPACE(sizeof(int) * SBOX_FDPASS_MAX)];
	struct cmsghdr align;
};

int sbox_fdpass_send(int sock, const void *buf, size_t len, const int *fds, size_t nfds,
		     int flags)
{
	union fdpass_ctl ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds > SBOX_FDPASS_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	if (nfds > 0) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL | flags);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

/* Hand each fd of one SCM_RIGHTS message to in->fds, closing those past
 * in->max (and saying so with MSG_CTRUNC, as a buffer of max would). */
static void take_fds(struct sbox_fdpass_in *in, const struct cmsghdr *cm)
{
	size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

	for (size_t i = 0; i < k; i++) {
		int fd;

		memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
		if (in->nfds < in->max) {
			in->fds[in->nfds++] = fd;
			continue;
		}
		in->msg_flags |= MSG_CTRUNC;
		if (in->close_fd)
			in->close_fd(fd, in->close_arg);
		else
			close(fd);
	}
}

ssize_t sbox_fdpass_recv(int sock, void *buf, size_t len, int flags, struct sbox_fdpass_in *in)
{
	union fdpass_ctl ctl;
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	ssize_t n;

	in->nfds = 0;
	in->msg_flags = 0;
	if (in->max > SBOX_FDPASS_MAX)
		in->max = SBOX_FDPASS_MAX;
	if (in->max == 0) {
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
	}
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | flags);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			take_fds(in, cm);
	in->msg_flags |= mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC);
	return n;
}
