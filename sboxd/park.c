/* SPDX-License-Identifier: MIT */
/*
 * A launch queued for a GPU keeps its client's fds until it starts, which
 * may be hours.  Left in sboxd's fd table they would be inherited by every
 * process sboxd clones meanwhile (another user's init, a pool's refill),
 * each of which closes what it inherited (C0): one fd on a file system
 * that never answers FLUSH, and they all hang on it.  So they wait parked:
 * sent as one packet into a socket pair of their own, whose sending end is
 * closed at once; sboxd keeps the other end, which holds them in flight,
 * in no process's fd table.  Closing a socket runs no file's ->flush, so
 * an init that inherits the park closes it at no risk.  A retry takes
 * copies (MSG_PEEK) and hands them to the closers when done, as any
 * client fd; the packet stays until the launch starts or goes, when
 * queued_free() gives the park to a closer, which drops the packet
 * without installing its fds (sboxd_close_client_socket()).
 */
#include "sboxd/daemon.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire/fdpass.h"

int fds_park(const int *fds, size_t nfds, int *park)
{
	static const char tag = 'P';
	int sp[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return -1;
	if (sbox_fdpass_send(sp[0], &tag, 1, fds, nfds, MSG_DONTWAIT) < 0) {
		int e = errno;

		close(sp[0]);
		close(sp[1]);
		errno = e;
		return -1;
	}
	close(sp[0]);
	*park = sp[1];
	return 0;
}

/* The packet's fds past nfds (none should be): a client's, to a closer. */
static void close_extra(int fd, void *uid)
{
	sboxd_close_client_fd(fd, *(const uid_t *)uid);
}

int fds_unpark(int park, int *fds, size_t nfds, uid_t uid)
{
	char tag;
	struct sbox_fdpass_in in = { .fds = fds, .max = nfds, .close_fd = close_extra,
				     .close_arg = &uid };
	ssize_t n = sbox_fdpass_recv(park, &tag, 1, MSG_PEEK | MSG_DONTWAIT, &in);

	if (n < 0)
		return -1;
	if (n != 1 || in.nfds != nfds || (in.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		/* Fewer than the packet holds: most likely no room in sboxd's
		 * table (the kernel installs what it can); more, or none: not
		 * the packet parked. */
		bool full = n == 1 && in.nfds < nfds && (in.msg_flags & MSG_CTRUNC);

		close_client_fds(fds, in.nfds, uid);
		errno = full ? EMFILE : EBADMSG;
		return -1;
	}
	return 0;
}
