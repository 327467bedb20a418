/* SPDX-License-Identifier: MIT */
/*
 * S1c's request (sandbox/request.c) between a launcher and a prepared
 * init: argv, the environment, the worker's groups, the caller's cwd, a
 * pool's hostname and working directory in a sealed memfd, stdio, passed
 * fds and a pool's bind sources beside it.  What is sent is what init
 * reads, each optional part absent when it was not sent, and a request
 * that is not one is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/identity.h"
#include "sandbox/request.h"
#include "sandbox/sync.h"

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

static void request_free(struct sbox_request *req)
{
	for (int i = 0; i < 3; i++)
		if (req->stdio[i] >= 0)
			close(req->stdio[i]);
	for (size_t i = 0; i < req->n_pass; i++)
		close(req->pass_fds[i]);
	for (size_t i = 0; i < req->n_binds; i++)
		close(req->bind_trees[i]);
	free(req->groups);
	free(req->vec);
	free(req->blob);
}

/* A worker in a user namespace: no groups of its own to set. */
static const struct sbox_identity userns_worker = { .uid = 1000, .gid = 1000 };

/* Everything, then each optional part left out; a pool's parts or
 * none. */
static void round_trip(const char *cwd, const char *hostname, const char *workdir)
{
	const struct sbox_request_pooled pooled = { .hostname = hostname, .workdir = workdir };
	bool is_pooled = hostname || workdir;
	char *argv[] = { "/bin/echo", "two words", NULL };
	char *envp[] = { "A=1", "B=", NULL };
	struct sbox_launch l = { .argv = argv, .stdio = { -1, -1, -1 },
				 .caller_cwd = (char *)cwd };
	struct sbox_request req;
	struct sbox_err err = { 0 };
	int sv[2];

	pair(sv);
	assert_int_equal(sbox_request_send(sv[0], &l, envp, &userns_worker, is_pooled ? &pooled : NULL, &err), 0);
	if (sbox_request_recv(sv[1], &req, &err) < 0)
		fail_msg("recv: %s", err.msg);
	assert_string_equal(req.argv[0], "/bin/echo");
	assert_string_equal(req.argv[1], "two words");
	assert_null(req.argv[2]);
	assert_string_equal(req.envp[0], "A=1");
	assert_string_equal(req.envp[1], "B=");
	assert_null(req.envp[2]);
	if (cwd)
		assert_string_equal(req.cwd, cwd);
	else
		assert_null(req.cwd);
	if (hostname)
		assert_string_equal(req.hostname, hostname);
	else
		assert_null(req.hostname);
	if (workdir)
		assert_string_equal(req.workdir, workdir);
	else
		assert_null(req.workdir);
	assert_int_equal(req.pooled, is_pooled);
	for (int i = 0; i < 3; i++)
		assert_int_equal(req.stdio[i], -1);
	assert_int_equal(req.n_binds, 0);
	assert_false(req.has_groups);
	assert_int_equal(req.n_groups, 0);
	request_free(&req);
	close(sv[0]);
	close(sv[1]);
}

static void test_round_trips(void **state)
{
	(void)state;
	round_trip("/home/u", "worker-7", "/srv/w");
	round_trip("/home/u", "worker-7", NULL);
	round_trip(NULL, "worker-7", "/srv/w");
	round_trip("/home/u", NULL, "/srv/w");
	round_trip("/home/u", NULL, NULL);
	round_trip(NULL, NULL, NULL);
}

/* The worker's groups (P5a's) travel in the request, in their order, the
 * strings after them intact; an empty list that is to be set (setgroups
 * with none) stays apart from no list at all (a user namespace); more than
 * setgroups(2) takes is refused before anything is sent. */
static void test_groups(void **state)
{
	char *argv[] = { "/bin/true", NULL };
	char *envp[] = { "HOME=/", NULL };
	struct sbox_launch l = { .argv = argv, .stdio = { -1, -1, -1 }, .caller_cwd = "/w" };
	gid_t groups[] = { 65534, 4242, 0, 7 };
	struct sbox_identity w = { .uid = 65534, .gid = 65534, .groups = groups, .n_groups = 4,
				   .set_groups = true };
	struct sbox_request req;
	struct sbox_err err = { 0 };
	int sv[2];

	(void)state;
	pair(sv);
	assert_int_equal(sbox_request_send(sv[0], &l, envp, &w, NULL, &err), 0);
	if (sbox_request_recv(sv[1], &req, &err) < 0)
		fail_msg("recv: %s", err.msg);
	assert_true(req.has_groups);
	assert_int_equal(req.n_groups, 4);
	assert_memory_equal(req.groups, groups, sizeof(groups));
	assert_string_equal(req.argv[0], "/bin/true");
	assert_string_equal(req.envp[0], "HOME=/");
	assert_string_equal(req.cwd, "/w");
	request_free(&req);

	w.n_groups = 0;
	assert_int_equal(sbox_request_send(sv[0], &l, envp, &w, NULL, &err), 0);
	if (sbox_request_recv(sv[1], &req, &err) < 0)
		fail_msg("recv: %s", err.msg);
	assert_true(req.has_groups);
	assert_int_equal(req.n_groups, 0);
	assert_string_equal(req.argv[0], "/bin/true");
	request_free(&req);

	w.n_groups = 65537;
	assert_int_equal(sbox_request_send(sv[0], &l, envp, &w, NULL, &err), -1);
	assert_int_equal(err.errnum, E2BIG);
	close(sv[0]);
	close(sv[1]);
}

/* A pool's bind sources travel with their policy mounts' indexes (a
 * mount with none, -1, is left out); more than a request holds is
 * refused before anything is sent. */
static void test_bind_sources(void **state)
{
	char *argv[] = { "/bin/true", NULL };
	char *envp[] = { NULL };
	struct sbox_launch l = { .argv = argv, .stdio = { -1, -1, -1 } };
	int trees[SBOX_REQUEST_MAX_BINDS + 2];
	struct sbox_request req;
	struct sbox_err err = { 0 };
	struct stat a, b;
	int sv[2], dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

	(void)state;
	assert_true(dir >= 0);
	for (size_t i = 0; i < SBOX_REQUEST_MAX_BINDS + 2; i++)
		trees[i] = -1;
	trees[1] = dir;
	trees[4] = STDIN_FILENO;
	pair(sv);
	struct sbox_request_pooled pooled = { .bind_trees = trees, .n_mounts = 6 };

	assert_int_equal(sbox_request_send(sv[0], &l, envp, &userns_worker, &pooled, &err), 0);
	if (sbox_request_recv(sv[1], &req, &err) < 0)
		fail_msg("recv: %s", err.msg);
	assert_int_equal(req.n_binds, 2);
	assert_int_equal(req.bind_index[0], 1);
	assert_int_equal(req.bind_index[1], 4);
	assert_int_equal(fstat(req.bind_trees[0], &a), 0);
	assert_int_equal(fstat(dir, &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	assert_int_equal(fstat(req.bind_trees[1], &a), 0);
	assert_int_equal(fstat(STDIN_FILENO, &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	request_free(&req);
	for (size_t i = 0; i < SBOX_REQUEST_MAX_BINDS + 2; i++)
		trees[i] = dir;
	pooled.n_mounts = SBOX_REQUEST_MAX_BINDS + 1;
	assert_int_equal(sbox_request_send(sv[0], &l, envp, &userns_worker, &pooled, &err), -1);
	assert_int_equal(err.errnum, E2BIG);
	close(dir);
	close(sv[0]);
	close(sv[1]);
}

/* Init failing before it took the request: it reports, and exits with
 * the request unread, which leaves ECONNRESET on the launcher's end,
 * reported ahead of the report.  The report is still read, then EOF. */
static void test_report_after_unread_request(void **state)
{
	char *argv[] = { "/bin/true", NULL };
	char *envp[] = { NULL };
	struct sbox_launch l = { .argv = argv, .stdio = { -1, -1, -1 } };
	struct sbox_sync_msg m;
	struct sbox_err err = { 0 };
	int sv[2];

	(void)state;
	pair(sv);
	assert_int_equal(sbox_request_send(sv[0], &l, envp, &userns_worker, NULL, &err), 0);
	assert_int_equal(sbox_sync_send(sv[1], SBOX_SYNC_SETUP_ERROR, EACCES, 0, "C6 failed"), 0);
	close(sv[1]);
	assert_int_equal(sbox_sync_recv(sv[0], &m), 1);
	assert_int_equal(m.type, SBOX_SYNC_SETUP_ERROR);
	assert_string_equal(m.text, "C6 failed");
	assert_int_equal(sbox_sync_recv(sv[0], &m), 0);
	close(sv[0]);
}

/* A memfd of its own making (sealed or not: init reads what is there)
 * sent as S1c, and what init's side makes of it. */
static int recv_crafted(const struct sbox_request_hdr *h, const void *tail, size_t tail_len,
			struct sbox_err *err)
{
	struct sbox_request req;
	int sv[2], fd = memfd_create("crafted", MFD_CLOEXEC), rc;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, h, sizeof(*h)), (ssize_t)sizeof(*h));
	if (tail_len)
		assert_int_equal(write(fd, tail, tail_len), (ssize_t)tail_len);
	pair(sv);
	assert_int_equal(sbox_sync_send_fds(sv[0], SBOX_SYNC_SPECIALISE, 1, &fd, 1), 0);
	close(fd);
	rc = sbox_request_recv(sv[1], &req, err);
	if (rc == 0)
		request_free(&req);
	close(sv[0]);
	close(sv[1]);
	return rc;
}

/* Hostile (init trusts its launcher, but bounds what it reads): a group
 * count the request does not hold, or more than setgroups(2) takes, or
 * groups where none are to be set, is refused, never read past the
 * memfd's end nor taken as strings; the largest valid count is taken. */
static void test_malformed_groups(void **state)
{
	static const char strings[] = "/bin/true";
	struct sbox_request_hdr h = { .magic = SBOX_REQUEST_MAGIC, .argc = 1, .has_groups = 1 };
	size_t big = (size_t)SBOX_REQUEST_MAX_GROUPS * sizeof(gid_t) + sizeof(strings);
	char *tail = calloc(1, big);
	struct sbox_err err = { 0 };
	static const uint32_t counts[] = { 5, SBOX_REQUEST_MAX_GROUPS + 1, 0x40000000u,
					   0xffffffffu };

	(void)state;
	assert_non_null(tail);
	/* Two gids and the strings (18 bytes): the count says five (20), or
	 * more than setgroups(2) takes, or enough to wrap a 32-bit size. */
	memcpy(tail + 2 * sizeof(gid_t), strings, sizeof(strings));
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		h.n_groups = counts[i];
		sbox_err_clear(&err);
		assert_int_equal(recv_crafted(&h, tail, 2 * sizeof(gid_t) + sizeof(strings), &err), -1);
		assert_int_equal(err.errnum, EPROTO);
	}
	/* Gids, where the identity sets none. */
	h.has_groups = 0;
	h.n_groups = 2;
	sbox_err_clear(&err);
	assert_int_equal(recv_crafted(&h, tail, 2 * sizeof(gid_t) + sizeof(strings), &err), -1);
	assert_int_equal(err.errnum, EPROTO);
	/* The gids take the whole rest: no strings after them. */
	h.has_groups = 1;
	sbox_err_clear(&err);
	assert_int_equal(recv_crafted(&h, tail, 2 * sizeof(gid_t), &err), -1);
	assert_int_equal(err.errnum, EPROTO);
	/* setgroups(2)'s most, then the strings: taken. */
	h.n_groups = SBOX_REQUEST_MAX_GROUPS;
	memset(tail, 0, big);
	memcpy(tail + big - sizeof(strings), strings, sizeof(strings));
	sbox_err_clear(&err);
	assert_int_equal(recv_crafted(&h, tail, big, &err), 0);
	free(tail);
}

/* Any other message where the request belongs, or the launcher gone, is
 * a refusal with a reason, never a request. */
static void test_not_a_request(void **state)
{
	struct sbox_request req;
	struct sbox_err err = { 0 };
	int sv[2];

	(void)state;
	pair(sv);
	assert_int_equal(sbox_sync_send(sv[0], SBOX_SYNC_GO, 0, 0, NULL), 0);
	assert_int_equal(sbox_request_recv(sv[1], &req, &err), -1);
	assert_int_equal(err.errnum, EPROTO);
	close(sv[0]);
	sbox_err_clear(&err);
	assert_int_equal(sbox_request_recv(sv[1], &req, &err), -1);
	assert_int_equal(err.errnum, ECONNRESET);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_malformed_groups),
		cmocka_unit_test(test_bind_sources),
		cmocka_unit_test(test_report_after_unread_request),
		cmocka_unit_test(test_not_a_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
