/* SPDX-License-Identifier: MIT */
/*
 * SCM_RIGHTS passing (wire/fdpass.c), on a real seqpacket socketpair: what
 * arrives comes close-on-exec; a packet with more fds than the receiver
 * takes, or longer than its buffer, is flagged, and every fd past the
 * limit is closed, never left open unseen; a send of more fds than the
 * kernel carries is refused before it is tried.
 */
#include "wire/fdpass.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int sp[2];

static int setup(void **state)
{
	(void)state;
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp);
}

static int teardown(void **state)
{
	(void)state;
	close(sp[0]);
	close(sp[1]);
	return 0;
}

static size_t open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	size_t n = 0;

	assert_non_null(dir);
	while (readdir(dir))
		n++;
	closedir(dir);
	return n;
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

static void test_round_trip(void **state)
{
	int out[3] = { 0, 1, 2 }, in_fds[8];
	struct sbox_fdpass_in in = { .fds = in_fds, .max = 8 };
	char buf[16];

	(void)state;
	assert_int_equal(sbox_fdpass_send(sp[0], "hello", 5, out, 3, 0), 0);
	assert_int_equal(sbox_fdpass_recv(sp[1], buf, sizeof(buf), 0, &in), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(in.nfds, 3);
	assert_int_equal(in.msg_flags, 0);
	for (size_t i = 0; i < in.nfds; i++)
		assert_true(fcntl(in_fds[i], F_GETFD) & FD_CLOEXEC);
	close_all(in_fds, in.nfds);
}

static unsigned hook_calls;
static void *hook_arg;

static void counting_close(int fd, void *arg)
{
	hook_calls++;
	hook_arg = arg;
	close(fd);
}

static void test_more_fds_than_max(void **state)
{
	int out[200], in_fds[160];
	struct sbox_fdpass_in in = { .fds = in_fds, .max = 160, .close_fd = counting_close,
				     .close_arg = &hook_calls };
	size_t before = open_fds();
	char buf[4];

	(void)state;
	for (size_t i = 0; i < 200; i++)
		out[i] = 0;
	hook_calls = 0;
	assert_int_equal(sbox_fdpass_send(sp[0], "x", 1, out, 200, 0), 0);
	assert_int_equal(sbox_fdpass_recv(sp[1], buf, sizeof(buf), 0, &in), 1);
	assert_int_equal(in.nfds, 160);
	assert_true(in.msg_flags & MSG_CTRUNC);
	assert_int_equal(hook_calls, 40);
	assert_ptr_equal(hook_arg, &hook_calls);
	close_all(in_fds, in.nfds);
	assert_int_equal(open_fds(), before);
}

/* max 0: the packet arrives, its fds never do: none is installed, so none
 * is closed here (MSG_CTRUNC says they came).  With MSG_PEEK the packet
 * keeps them for the next read: how sboxd sees that a packet carries fds
 * without taking them. */
static void test_fds_dropped_unopened(void **state)
{
	int out[3] = { 0, 1, 2 }, in_fds[3] = { -1, -1, -1 };
	struct sbox_fdpass_in in = { .fds = in_fds, .max = 0, .close_fd = counting_close };
	size_t before = open_fds();
	char buf[8];

	(void)state;
	hook_calls = 0;
	assert_int_equal(sbox_fdpass_send(sp[0], "peek", 4, out, 3, 0), 0);
	assert_int_equal(sbox_fdpass_recv(sp[1], buf, sizeof(buf), MSG_PEEK, &in), 4);
	assert_int_equal(in.nfds, 0);
	assert_true(in.msg_flags & MSG_CTRUNC);
	assert_int_equal(open_fds(), before);
	in.max = 3;
	assert_int_equal(sbox_fdpass_recv(sp[1], buf, sizeof(buf), 0, &in), 4);
	assert_int_equal(in.nfds, 3);
	close_all(in_fds, in.nfds);
	in.max = 0;
	assert_int_equal(sbox_fdpass_send(sp[0], "drop", 4, out, 3, 0), 0);
	assert_int_equal(sbox_fdpass_recv(sp[1], buf, sizeof(buf), 0, &in), 4);
	assert_memory_equal(buf, "drop", 4);
	assert_int_equal(in.nfds, 0);
	assert_true(in.msg_flags & MSG_CTRUNC);
	assert_int_equal(hook_calls, 0);
	assert_int_equal(open_fds(), before);
	/* Without fds: no MSG_CTRUNC. */
	assert_int_equal(sbox_fdpass_send(sp[0], "none", 4, NULL, 0, 0), 0);
	assert_int_equal(sbox_fdpass_recv(sp[1], buf, sizeof(buf), 0, &in), 4);
	assert_int_equal(in.msg_flags, 0);
}

static void test_packet_over_buffer(void **state)
{
	char big[100] = { 0 }, buf[10];
	int in_fds[1];
	struct sbox_fdpass_in in = { .fds = in_fds, .max = 1 };

	(void)state;
	assert_int_equal(sbox_fdpass_send(sp[0], big, sizeof(big), NULL, 0, 0), 0);
	assert_int_equal(sbox_fdpass_recv(sp[1], buf, sizeof(buf), 0, &in), 10);
	assert_true(in.msg_flags & MSG_TRUNC);
	assert_int_equal(in.nfds, 0);
}

static void test_send_over_kernel_limit(void **state)
{
	int out[SBOX_FDPASS_MAX + 1];

	(void)state;
	for (size_t i = 0; i <= SBOX_FDPASS_MAX; i++)
		out[i] = 0;
	errno = 0;
	assert_int_equal(sbox_fdpass_send(sp[0], "x", 1, out, SBOX_FDPASS_MAX + 1, 0), -1);
	assert_int_equal(errno, EMSGSIZE);
}

static void test_nothing_waiting(void **state)
{
	int in_fds[1];
	struct sbox_fdpass_in in = { .fds = in_fds, .max = 1 };
	char buf[4];

	(void)state;
	assert_int_equal(sbox_fdpass_recv(sp[1], buf, sizeof(buf), MSG_DONTWAIT, &in), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(in.nfds, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fds_dropped_unopened, setup, teardown),
		cmocka_unit_test_setup_teardown(test_more_fds_than_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packet_over_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_over_kernel_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_waiting, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
