/* SPDX-License-Identifier: MIT */
/*
 * The task's message to the root helper: its stdio over SCM_RIGHTS, then
 * string lists (a count, then each length and bytes), bounded.
 */
#include <stdint.h>     /* spank.h needs it first */
#include <slurm/spank.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "slurm/sbox_slurm.h"

static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int recv_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t r = read(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int sbox_slurm_send_fds(int sock)
{
	int fds[3] = { 0, 1, 2 };
	char byte = 'F';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof fds)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof u.buf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	memset(u.buf, 0, sizeof u.buf);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof fds);
	memcpy(CMSG_DATA(c), fds, sizeof fds);
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

int sbox_slurm_recv_fds(int sock, int fds[3])
{
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof u.buf };
	struct cmsghdr *c;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(3 * sizeof(int)))
		return -1;
	memcpy(fds, CMSG_DATA(c), 3 * sizeof(int));
	return 0;
}

/* A string list as: count, then each string with its NUL. */
int sbox_slurm_send_list(int sock, char **v)
{
	uint32_t n = 0;

	while (v && v[n])
		n++;
	if (send_all(sock, &n, sizeof n) < 0)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = (uint32_t)strlen(v[i]);

		if (send_all(sock, &len, sizeof len) < 0 || send_all(sock, v[i], len) < 0)
			return -1;
	}
	return 0;
}

#define MAX_LIST 65536
#define MAX_STR (1u << 20)

char **sbox_slurm_recv_list(int sock)
{
	uint32_t n;
	char **v;

	if (recv_all(sock, &n, sizeof n) < 0 || n > MAX_LIST)
		return NULL;
	v = calloc(n + 1, sizeof *v);
	for (uint32_t i = 0; v && i < n; i++) {
		uint32_t len;

		if (recv_all(sock, &len, sizeof len) < 0 || len > MAX_STR ||
		    !(v[i] = malloc(len + 1)) || recv_all(sock, v[i], len) < 0)
			return NULL;    /* the helper exits at once: no need to free */
		v[i][len] = '\0';
	}
	return v;
}
