/* SPDX-License-Identifier: MIT */
/*
 * The step's signals, from the task to the worker (slurm/sbox_slurm.h):
 * Slurm signals only the task, which as the user can't signal the root
 * sboxrun; the task writes each signal's number to the root helper, which
 * passes the forwarded ones on to sboxrun (which forwards them to the
 * worker) until sboxrun ends; then the task ends as sboxrun did.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slurm/sbox_slurm.h"

/* Signals Slurm sends the whole step (scancel, srun): sboxrun forwards them
 * to the worker; the task and the helper only wait and report. */
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
				 SIGCONT, SIGTSTP, SIGALRM };

void sbox_slurm_on_forwarded(const struct sigaction *sa)
{
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		sigaction(forwarded[i], sa, NULL);
}

void sbox_slurm_ignore_forwarded(void)
{
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		signal(forwarded[i], SIG_IGN);
}

/* The task ends as the helper (sboxrun, the worker) ended. */
void sbox_slurm_end_like(int st)
{
	if (WIFSIGNALED(st)) {
		signal(WTERMSIG(st), SIG_DFL);
		raise(WTERMSIG(st));
		_exit(128 + WTERMSIG(st));
	}
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
}

/* Slurm sends a step's signals other than SIGKILL (scancel --signal,
 * srun's forwarding) only to its tasks, the direct children of slurmstepd:
 * the task, as the user, can't signal the root sboxrun, so it writes each
 * signal's number to the helper, which passes the forwarded ones on to
 * sboxrun (which forwards them to the worker), until sboxrun ends. */
static bool forwarded_signal(int sig)
{
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		if (forwarded[i] == sig)
			return true;
	return false;
}

/* The children of pid, from /proc (CONFIG_PROC_CHILDREN): up to n, their
 * number returned. */
static size_t children_of(pid_t pid, pid_t *out, size_t n)
{
	char file[96];
	FILE *f;
	size_t k = 0;
	int child;

	snprintf(file, sizeof file, "/proc/%d/task/%d/children", (int)pid, (int)pid);
	f = fopen(file, "re");
	if (!f)
		return 0;
	while (k < n && fscanf(f, "%d", &child) == 1)
		out[k++] = child;
	fclose(f);
	return k;
}

/* Whether pid is the first process of a pid namespace below ours: its
 * NSpid line ends in 1 after its pid here. */
static bool is_namespace_init(pid_t pid)
{
	char file[64], line[256];
	bool init = false;
	FILE *f;

	snprintf(file, sizeof file, "/proc/%d/status", (int)pid);
	f = fopen(file, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof line, f)) {
		size_t len = strlen(line);

		if (strncmp(line, "NSpid:", 6) != 0)
			continue;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == ' '))
			line[--len] = '\0';
		init = len > 2 && line[len - 1] == '1' && (line[len - 2] == '\t' || line[len - 2] == ' ') &&
		       strchr(line + 6, '\t') != strrchr(line, '\t');
		break;
	}
	fclose(f);
	return init;
}

/* sboxrun forwards SIGINT, SIGTERM, SIGHUP and SIGQUIT to the worker
 * (sboxrun(1), SIGNALS); any other signal would end sboxrun itself, and
 * with it the job (Slurm's --signal=USR1@T is meant for the worker). Those
 * go to the worker directly: the sandbox's init is the child of sboxrun
 * that is pid 1 of a new pid namespace (sboxrun's other child, if any, is
 * its cgroup guard), and init's only child is the worker. */
/* A pidfd for pid when its parent is parent now: -1 otherwise. */
static int pidfd_of_child(pid_t pid, pid_t parent)
{
	char file[64], buf[1024], *p;
	int fd = (int)syscall(SYS_pidfd_open, pid, 0), ppid = -1;
	FILE *f;

	if (fd < 0)
		return -1;
	snprintf(file, sizeof file, "/proc/%d/stat", (int)pid);
	f = fopen(file, "re");
	if (f) {
		size_t n = fread(buf, 1, sizeof buf - 1, f);

		buf[n] = '\0';
		fclose(f);
		/* After the parenthesised comm: state, then ppid. */
		p = strrchr(buf, ')');
		if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
			ppid = -1;
	}
	if (ppid != parent) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool pidfd_alive(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, 0) == 0;
}

static void pass_signal(pid_t sboxrun, int sig)
{
	pid_t kids[8], worker[1];
	size_t n;

	if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT) {
		kill(sboxrun, sig);
		return;
	}
	n = children_of(sboxrun, kids, sizeof kids / sizeof kids[0]);
	for (size_t i = 0; i < n; i++) {
		int init, w;

		if (!is_namespace_init(kids[i]) || children_of(kids[i], worker, 1) != 1)
			continue;
		/* By pidfds, each proved a child of the one above it while
		 * held (sboxrun is ours and unreaped): a number read from
		 * /proc may name another process by the time it is used. */
		init = pidfd_of_child(kids[i], sboxrun);
		w = init >= 0 ? pidfd_of_child(worker[0], kids[i]) : -1;
		if (w >= 0 && pidfd_alive(init))
			syscall(SYS_pidfd_send_signal, w, sig, NULL, 0);
		if (w >= 0)
			close(w);
		if (init >= 0)
			close(init);
	}
}

void sbox_slurm_relay_signals(int sock, pid_t pid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p[2] = { { .fd = pidfd, .events = POLLIN }, { .fd = sock, .events = POLLIN } };

	if (pidfd < 0)
		return;         /* old kernel: no relay, SIGKILL still ends the step */
	for (;;) {
		unsigned char sig;

		if (poll(p, p[1].fd < 0 ? 1 : 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		if (p[1].revents) {
			if (read(sock, &sig, 1) != 1)
				p[1].fd = -1;   /* the task is gone: wait only */
			else if (forwarded_signal(sig))
				pass_signal(pid, sig);
		}
	}
	close(pidfd);
}
