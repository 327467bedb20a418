/* SPDX-License-Identifier: MIT */
/*
 * The cgroup guard (sbox_cgroup_guard(), sandbox/cgroup.h): a launcher that
 * can be SIGKILLed (sboxrun) can't remove its sandbox's cgroup itself, so a
 * small detached process waits for it and the sandbox's init to go and
 * does it then.  sandbox/cgroup_sweep.c takes what even the guard missed.
 */
#include "sandbox/cgroup_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "sandbox/procstate.h"

/* Become the guard: its own session and name, stdio on /dev/null, the
 * pipe's read end as fd 3 and nothing else open.  Holds nothing of the
 * launcher's: a pipe kept open here would keep its reader (a test
 * harness, a shell) waiting for EOF. */
static void guard_detach(struct sbox_cgroup *cg, int rfd)
{
	int null;

	setsid();
	prctl(PR_SET_NAME, "sbox-cg-guard", 0, 0, 0);
	if (chdir("/") < 0)
		_exit(1);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || rfd < 3)
		_exit(1);
	for (int fd = 0; fd < 3; fd++)
		dup2(null, fd);
	if (rfd != 3 && dup2(rfd, 3) < 0)
		_exit(1);
	if (sbox_fds_close_from(4) < 0)
		_exit(1);
	for (size_t i = 0; i < cg->n_dirs; i++)
		cg->dirs[i].fd = -1;
	cg->guard_fd = -1;
}

static __attribute__((noreturn)) void guard_main(struct sbox_cgroup *cg, int rfd)
{
	bool any = false;
	char b;

	guard_detach(cg, rfd);
	/* EOF: the launcher and the sandbox's init (which inherited the
	 * write end) are both gone. */
	for (;;) {
		ssize_t n = read(3, &b, 1);

		if (n == 0 || (n < 0 && errno != EINTR))
			break;
	}
	for (size_t i = 0; i < cg->n_dirs; i++) {
		cg->dirs[i].fd = open(cg->dirs[i].path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		any |= cg->dirs[i].fd >= 0;
	}
	/* Removed already: the launcher ended normally. */
	if (any)
		sbox_cgroup_destroy(cg, NULL);
	_exit(0);
}

int sbox_cgroup_guard(struct sbox_cgroup *cg, struct sbox_err *err)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return sbox_fail(err, errno, "creating the cgroup guard's pipe");
	/* One fork, not waited for: the guard holds the pipe from its first
	 * instruction, so the launcher may go on (and be killed) at once.  It
	 * stays the launcher's child, which sboxrun (the one caller) never
	 * meets: it waits for its sandbox's init by pid, and the guard ends
	 * only once the launcher closed its end (sbox_cgroup_destroy()). */
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(p[0]);
		close(p[1]);
		return sbox_fail(err, e, "forking the cgroup guard");
	}
	if (pid == 0) {
		close(p[1]);
		guard_main(cg, p[0]);
	}
	close(p[0]);
	cg->guard_fd = p[1];
	return 0;
}
