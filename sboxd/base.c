/* SPDX-License-Identifier: MIT */
/*
 * What every file of sboxd uses, and so what none of them may own: the
 * clocks deadlines are kept in, the log, (un)registering an fd with the
 * loop's epoll set, and whether a socket's peer shares our pid namespace.
 * It calls nothing else of sboxd, so that the rest can flow one way
 * (daemon.h).
 */
#include "sboxd/daemon.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

uint64_t sboxd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t sboxd_now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void sboxd_abstime(struct timespec *until, unsigned timeout_ms)
{
	clock_gettime(CLOCK_REALTIME, until);
	until->tv_sec += timeout_ms / 1000;
	until->tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until->tv_nsec >= 1000000000) {
		until->tv_sec++;
		until->tv_nsec -= 1000000000;
	}
}

void sboxd_log(const char *fmt, ...)
{
	va_list ap;

	/* stderr: the journal under systemd, the terminal in --foreground. */
	fputs("sboxd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int sboxd_watch(struct sboxd *d, int fd, struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
		return 0;
	if (errno == EEXIST)
		return epoll_ctl(d->epfd, EPOLL_CTL_MOD, fd, &ev);
	return -1;
}

void sboxd_unwatch(struct sboxd *d, int fd)
{
	if (fd >= 0)
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
}

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#ifndef PIDFD_GET_PID_NAMESPACE
#define PIDFD_GET_PID_NAMESPACE _IO(0xFF, 5)
#endif

/* A sandbox's worker sees the host's /run (read-only, but a socket can be
 * connected to on a read-only mount): it must not ask sboxd for a sandbox
 * that its own policy would not give it (a GPU, a network, a view of paths
 * it hides).  Workers run in a pid namespace of their own; so do
 * containers, which AllowNestedClients=yes lets in.  The connecting
 * process's own pidfd (SO_PEERPIDFD) says it without a pid-reuse race;
 * /proc/PID is the fallback on kernels without it (SO_PEERPIDFD unknown,
 * or the ioctl unknown), never when the pidfd says the process is gone
 * (ESRCH): its pid may be another process's by now.  Fails closed; errno
 * then says why when it was an error (EMFILE: sboxd is out of fds). */
bool sboxd_peer_in_our_pidns(int fd, pid_t pid)
{
	struct stat mine, theirs;
	socklen_t len = sizeof(int);
	int pidfd = -1, ns = -1;
	bool same;

	if (stat("/proc/self/ns/pid", &mine) < 0)
		return false;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0 && pidfd >= 0) {
		ns = ioctl(pidfd, PIDFD_GET_PID_NAMESPACE, 0);
		if (ns < 0 && errno != ENOTTY && errno != EINVAL && errno != EOPNOTSUPP) {
			int e = errno;

			close(pidfd);
			errno = e;
			return false;      /* gone (ESRCH), out of fds, or unknown: refuse */
		}
		close(pidfd);
	} else if (pidfd < 0 && errno == ESRCH) {
		return false;
	}
	if (ns >= 0) {
		same = fstat(ns, &theirs) == 0;
		close(ns);
	} else {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
		same = pid > 0 && stat(path, &theirs) == 0;
	}
	return same && mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino;
}
