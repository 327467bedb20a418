/* SPDX-License-Identifier: MIT */
#include "sandbox/init.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/sync.h"

const int sbox_forwarded_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, 0,
};

static void noop_handler(int sig)
{
	(void)sig;
}

int sbox_init_prepare_signals(void)
{
	struct sigaction sa = { .sa_handler = noop_handler };
	sigset_t set;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (int i = 0; sbox_forwarded_signals[i]; i++) {
		sigaddset(&set, sbox_forwarded_signals[i]);
		if (sigaction(sbox_forwarded_signals[i], &sa, NULL) < 0)
			return -1;
	}
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Reap every child that has ended; 1 when the worker was among them. */
static int reap(pid_t worker, int *status)
{
	int found = 0, st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == worker) {
			*status = st;
			found = 1;
		}
	}
	return found;
}

/* S4b: every other process of the pid namespace killed (init kept
 * CAP_KILL at C7b for this) and reaped, so that a launcher may tell the
 * sandbox's end before init's own exit (the copy of the launcher's memory
 * it frees takes a millisecond) and no process of the sandbox outlives
 * the telling.  It is what the kernel does at init's exit anyway
 * (zap_pid_ns_processes), but that kill passes no permission check and
 * kill(-1) does: a process that a security module keeps init from
 * signalling, or one that can't die (stuck in the kernel), would hold
 * init here for good.  So the wait is bounded: past it, init exits
 * without S4b and the launcher ends the sandbox at init's exit, as the
 * kernel empties it.  A fork in flight dies with its parent (the kernel
 * fails a fork whose parent has a fatal signal pending). */
#define EMPTY_WAIT_MSEC 2000

static bool empty_the_sandbox(int sigfd)
{
	struct timespec start, now;
	long left;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct signalfd_siginfo si;
		struct pollfd p = { .fd = sigfd, .events = POLLIN };
		bool none = kill(-1, SIGKILL) < 0 && errno == ESRCH, reaped = false;
		pid_t pid;

		while ((pid = waitpid(-1, NULL, __WALL | WNOHANG)) > 0)
			reaped = true;
		/* No child of init's left, nor any other process of the
		 * namespace (kill(-1)'s ESRCH: not one that joined it by
		 * setns from outside, nor a zombie). */
		if (none && pid < 0 && errno == ECHILD)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = EMPTY_WAIT_MSEC - ((now.tv_sec - start.tv_sec) * 1000 +
					  (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0)
			return false;
		/* Something was reaped: ask kill(-1) again at once.  Else
		 * wait: SIGCHLD is blocked and read from the signalfd, so a
		 * child's end wakes the poll (another's, outside init's
		 * children, is looked for again 10 ms later). */
		if (!reaped && poll(&p, 1, (int)(left < 10 ? left : 10)) > 0)
			while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				;
	}
}

/* The argument area [arg_start, arg_end) of this process, from
 * /proc/self/stat (fields 48 and 49, after the parenthesised comm). */
static bool arg_area(unsigned long *start, unsigned long *end)
{
	char buf[2048];
	FILE *f = fopen("/proc/self/stat", "re");
	size_t n;
	char *p;
	int field = 2;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return false;
	for (p++; *p && field < 48; p++)
		if (*p == ' ')
			field++;
	return sscanf(p, " %lu %lu", start, end) == 2 && *start < *end;
}

/* Where init's command line points when PR_SET_MM may move it. */
static char init_title[256];

bool sbox_init_set_title(const char *worker_argv0)
{
	unsigned long start;
	size_t len;

	prctl(PR_SET_NAME, "sbox-init", 0, 0, 0);
	/* The command line is the launcher's (a fork of sboxrun or sboxd):
	 * `pkill -f sboxd` would kill every sandbox.  With CAP_SYS_RESOURCE
	 * in the host's user namespace, PR_SET_MM points it at memory of
	 * our own (the start first: the new area lies below the old one,
	 * and the kernel wants start <= end at every step); that writes no
	 * memory the worker reads. */
	len = (size_t)snprintf(init_title, sizeof(init_title), "sbox-init: %s",
			       worker_argv0 ? worker_argv0 : "");
	if (len >= sizeof(init_title))
		len = sizeof(init_title) - 1;
	start = (unsigned long)init_title;
	return prctl(PR_SET_MM, PR_SET_MM_ARG_START, start, 0, 0) == 0 &&
	       prctl(PR_SET_MM, PR_SET_MM_ARG_END, start + len + 1, 0, 0) == 0;
}

void sbox_init_overwrite_title(void)
{
	unsigned long start, end;
	size_t len = strlen(init_title);

	/* The argument area overwritten in place, as setproctitle does, but
	 * only when it is this program's own argv (not under valgrind, whose
	 * client argv lies elsewhere).  Only once the worker has exec'd: it
	 * shares init's memory until then, and its argv may point into that
	 * area. */
	if (!arg_area(&start, &end) || start != (unsigned long)program_invocation_name)
		return;
	if (len > end - start - 1)
		len = end - start - 1;
	memset((void *)start, 0, end - start);
	memcpy((void *)start, init_title, len);
}

void sbox_init_run(pid_t worker, int sigfd, int sync_fd)
{
	struct pollfd pfd[2] = {
		{ .fd = sigfd, .events = POLLIN },
		{ .fd = sync_fd, .events = POLLIN },
	};
	int status = 0;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					continue;
				kill(worker, (int)si.ssi_signo);
			}
			if (reap(worker, &status))
				goto worker_done;
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			struct sbox_sync_msg m;
			int r = sbox_sync_recv(sync_fd, &m);

			if (r <= 0) {
				/* The parent is gone: nobody will collect the
				 * result, so end the sandbox now. */
				kill(worker, SIGKILL);
				_exit(125);
			}
			if (m.type == SBOX_SYNC_SIGNAL && m.value > 0 && m.value < NSIG)
				kill(worker, m.value);
		}
	}
	kill(worker, SIGKILL);
	_exit(125);

worker_done:
	/* S4a at once: the worker's status (the launcher's timers stop
	 * here), then S4b once the rest is gone. */
	sbox_sync_send(sync_fd, SBOX_SYNC_EXITED, 0, status, NULL);
	if (empty_the_sandbox(sigfd))
		sbox_sync_send(sync_fd, SBOX_SYNC_EMPTIED, 0, 0, NULL);
	_exit(0);
}
