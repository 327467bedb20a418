/* SPDX-License-Identifier: MIT */
/*
 * The worker's start (sandbox/spawn.c, sbox_clone_vm): a child that shares
 * the caller's memory, on a stack the caller lends, with every signal
 * blocked, while the caller runs on (init hardens itself while the worker
 * waits for S1b).  What the recipe relies on: the child's writes land in
 * the caller's memory (no copy of the address space was made), the caller
 * is not suspended until the child's exec, the child starts with no
 * handler of the caller's able to run, the caller's own mask is left as it
 * was, and an exec or _exit in the child is reaped like a fork's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/spawn.h"

#include "tests/unit/valgrind_skip.h"

/* Valgrind runs only thread-like and fork-like clones: there the start is
 * a fork, which is what these tests tell apart. */
#define VALGRIND_WHY "it turns the shared-memory clone into a fork"

/* The child's stack, lent from the test's frame, which outlives it: on
 * the thread's own stack, as init lends the worker one (ASan checks the
 * child's frames against the thread's stack bounds). */
#define STACK_SIZE (64 * 1024)

struct child_args {
	volatile int written;       /* set by the child, read by the parent */
	int go_fd;                  /* the child waits for a byte here */
	sigset_t mask;              /* the child's mask as it started */
	char *const *argv;          /* exec this when set */
};

static int child_write(void *p)
{
	struct child_args *a = p;

	a->written = 42;
	_exit(0);
}

static int wait_exit(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* No copy of the address space: what the child writes is ours. */
static void test_child_shares_memory(void **state)
{
	struct child_args a = { .written = 0 };
	pid_t pid;

	char stack[STACK_SIZE] __attribute__((aligned(16)));

	(void)state;
	skip_under_valgrind(VALGRIND_WHY);
	pid = sbox_clone_vm(child_write, &a, stack, sizeof(stack));
	assert_true(pid > 0);
	assert_int_equal(wait_exit(pid), 0);
	assert_int_equal(a.written, 42);
}

static int child_wait_for_go(void *p)
{
	struct child_args *a = p;
	struct pollfd pfd = { .fd = a->go_fd, .events = POLLIN };
	char c;

	/* 5 s: a caller suspended until our exit would never send it. */
	if (poll(&pfd, 1, 5000) != 1 || read(a->go_fd, &c, 1) != 1)
		_exit(1);
	_exit(c == 'G' ? 0 : 2);
}

/* Not vfork's suspension: the caller runs on while the child waits for
 * it, as the worker waits for init's S1b. */
static void test_caller_runs_while_child_waits(void **state)
{
	struct child_args a = { .go_fd = -1 };
	char stack[STACK_SIZE] __attribute__((aligned(16)));
	int p[2];
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(p), 0);
	a.go_fd = p[0];
	pid = sbox_clone_vm(child_wait_for_go, &a, stack, sizeof(stack));
	assert_true(pid > 0);
	assert_int_equal(write(p[1], "G", 1), 1);
	assert_int_equal(wait_exit(pid), 0);
	close(p[0]);
	close(p[1]);
}

static int child_report_mask(void *p)
{
	struct child_args *a = p;

	sigprocmask(SIG_SETMASK, NULL, &a->mask);
	_exit(0);
}

/* The child starts with every signal blocked (a handler of the caller's
 * must not run on the shared memory before the worker resets them, W1);
 * the caller's mask is as it was. */
static void test_child_starts_with_signals_blocked(void **state)
{
	struct child_args a;
	char stack[STACK_SIZE] __attribute__((aligned(16)));
	sigset_t before, after;
	pid_t pid;

	(void)state;
	skip_under_valgrind(VALGRIND_WHY);
	memset(&a, 0, sizeof(a));
	sigemptyset(&before);
	sigaddset(&before, SIGUSR1);
	assert_int_equal(sigprocmask(SIG_SETMASK, &before, NULL), 0);
	pid = sbox_clone_vm(child_report_mask, &a, stack, sizeof(stack));
	assert_true(pid > 0);
	assert_int_equal(wait_exit(pid), 0);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP || sigismember(&a.mask, sig) < 0)
			continue;
		assert_int_equal(sigismember(&a.mask, sig), 1);
	}
	assert_int_equal(sigprocmask(SIG_SETMASK, NULL, &after), 0);
	assert_int_equal(sigismember(&after, SIGUSR1), 1);
	assert_int_equal(sigismember(&after, SIGUSR2), 0);
	assert_int_equal(sigismember(&after, SIGTERM), 0);
	sigemptyset(&before);
	sigprocmask(SIG_SETMASK, &before, NULL);
}

static int child_exec(void *p)
{
	struct child_args *a = p;

	execv(a->argv[0], a->argv);
	_exit(127);
}

/* An exec in the child leaves our memory alone and is reaped like a
 * fork's child, with its own exit status. */
static void test_child_exec_is_reaped(void **state)
{
	char *argv[] = { "/bin/sh", "-c", "exit 3", NULL };
	struct child_args a = { .argv = argv };
	char stack[STACK_SIZE] __attribute__((aligned(16)));
	pid_t pid;

	(void)state;
	pid = sbox_clone_vm(child_exec, &a, stack, sizeof(stack));
	assert_true(pid > 0);
	assert_int_equal(wait_exit(pid), 3);
	assert_string_equal(argv[2], "exit 3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_child_shares_memory),
		cmocka_unit_test(test_caller_runs_while_child_waits),
		cmocka_unit_test(test_child_starts_with_signals_blocked),
		cmocka_unit_test(test_child_exec_is_reaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
