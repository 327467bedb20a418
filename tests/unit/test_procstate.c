/* SPDX-License-Identifier: MIT */
/*
 * The worker's signal reset (sandbox/procstate.c), in a forked child: the
 * caller's ignored signals (glibc's own 32 and 33 too), handlers and
 * blocked mask must all be gone, whether the reset found them in
 * /proc/self/status or, where that file can't be trusted (something other
 * than procfs mounted on /proc, as a policy's bind mount could do), by
 * resetting every signal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/procstate.h"

#include "tests/unit/valgrind_skip.h"

/* Valgrind keeps signals of its own and rewrites dispositions. */
#define VALGRIND_WHY "it owns the signal dispositions"

struct ksigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

static void on_signal(int sig)
{
	(void)sig;
}

/* What a launcher may hand down: ignored signals (some of them glibc's,
 * only reachable through the system call), a handler, a blocked mask. */
static void odd_state(void)
{
	static const int ignored[] = { SIGHUP, SIGINT, SIGPIPE, SIGUSR2, 32, 33, 50, 64 };
	struct ksigaction ign = { .handler = SIG_IGN };
	sigset_t set;

	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		if (syscall(SYS_rt_sigaction, ignored[i], &ign, NULL, sizeof(ign.mask)) < 0)
			_exit(90);
	signal(SIGUSR1, on_signal);
	signal(SIGTERM, on_signal);
	sigfillset(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

/* 0 when every signal is at its default and none is blocked, else the
 * first signal that is not (or 100 for the mask). */
static int check_clean(void)
{
	sigset_t mask;

	for (int sig = 1; sig <= 64; sig++) {
		struct ksigaction old;

		if (syscall(SYS_rt_sigaction, sig, NULL, &old, sizeof(old.mask)) < 0)
			return sig;
		if (old.handler != SIG_DFL)
			return sig;
	}
	if (sigprocmask(SIG_SETMASK, NULL, &mask) < 0 || !sigisemptyset(&mask))
		return 100;
	return 0;
}

/* Runs fn in a child, then the reset, then the check; the child's exit
 * status (0: clean; 77: fn could not set up, a skip). */
static int in_child(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct sbox_err err = { 0 };
		int r;

		odd_state();
		if (fn && (r = fn()) != 0)
			_exit(r);
		if (sbox_signals_reset(&err) < 0)
			_exit(91);
		_exit(check_clean());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_reset_from_status(void **state)
{
	(void)state;
	skip_under_valgrind(VALGRIND_WHY);
	assert_int_equal(in_child(NULL), 0);
}

/* The status file names every disposition that is not the default. */
static int status_lists_them(void)
{
	struct sbox_proc_status st;

	if (sbox_proc_status_read(&st) < 0)
		return 92;
	if (!(st.sig_ignored & (UINT64_C(1) << (SIGHUP - 1))) ||
	    !(st.sig_ignored & (UINT64_C(1) << (33 - 1))) ||
	    !(st.sig_ignored & (UINT64_C(1) << (64 - 1))) ||
	    !(st.sig_caught & (UINT64_C(1) << (SIGUSR1 - 1))) ||
	    (st.sig_ignored & (UINT64_C(1) << (SIGCHLD - 1))))
		return 93;
	return 0;
}

static void test_status_read(void **state)
{
	(void)state;
	skip_under_valgrind(VALGRIND_WHY);
	assert_int_equal(in_child(status_lists_them), 0);
}

/* A directory of one's own on /proc, whose self/status says that nothing
 * is ignored or caught: the reset must not believe it. */
static int forge_proc(void)
{
	static const char fake[] = "Name:\tx\nSigIgn:\t0000000000000000\n"
				   "SigCgt:\t0000000000000000\nCapInh:\t0000000000000000\n"
				   "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"
				   "CapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\n";
	struct sbox_proc_status st;
	int fd;

	if (unshare(geteuid() == 0 ? CLONE_NEWNS : CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return 77;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/proc", "tmpfs", 0, "mode=0755") < 0 || mkdir("/proc/self", 0755) < 0)
		return 77;
	fd = open("/proc/self/status", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, fake, sizeof(fake) - 1) != (ssize_t)sizeof(fake) - 1)
		return 77;
	close(fd);
	/* The forgery is refused (EXDEV: not procfs). */
	if (sbox_proc_status_read(&st) == 0)
		return 94;
	return 0;
}

static void test_reset_with_forged_proc(void **state)
{
	int r;

	(void)state;
	skip_under_valgrind(VALGRIND_WHY);
	r = in_child(forge_proc);
	if (r == 77) {
		print_message("skipped: no mount namespace to put a fake /proc in\n");
		skip();
	}
	assert_int_equal(r, 0);
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* C0's close of a daemon's own fds (some ten per live sandbox in sboxd):
 * exactly the listed ones, in any order, with duplicates and -1 entries,
 * and no other, whether they form runs or not; an fd just past a run
 * stays open. */
static void test_close_list(void **state)
{
	enum { N = 40 };
	int fds[N], list[N + 4];
	size_t n = 0;

	(void)state;
	for (int i = 0; i < N; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_true(fds[i] >= 0);
	}
	/* Every fd but each fifth (runs of four with gaps), backwards, two
	 * listed twice, and a -1. */
	for (int i = N - 1; i >= 0; i--)
		if (i % 5 != 4)
			list[n++] = fds[i];
	list[n++] = fds[0];
	list[n++] = -1;
	list[n++] = fds[N - 2];
	sbox_fds_close_list(list, n);
	for (int i = 0; i < N; i++) {
		if (i % 5 == 4) {
			assert_true(fd_open(fds[i]));
			close(fds[i]);
		} else {
			assert_false(fd_open(fds[i]));
		}
	}
	sbox_fds_close_list(list, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_from_status),
		cmocka_unit_test(test_status_read),
		cmocka_unit_test(test_reset_with_forged_proc),
		cmocka_unit_test(test_close_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
