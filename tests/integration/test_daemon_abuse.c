/* SPDX-License-Identifier: MIT */
/*
 * sboxd against clients that misbehave: malformed, truncated, oversized and
 * unknown messages, a wrong protocol version, a client that connects and
 * says nothing, one that never reads its replies, 1000 connections at once,
 * fd-passing abuse (too many fds, a directory or an O_PATH fd for stdout,
 * fds nobody names), and clients killed at every step of a launch.  After
 * each: sboxd still answers, holds no more fds than before, and keeps no
 * job of a client that is gone.
 */
#include "tests/integration/daemon_harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct sboxd D;

static int teardown(void **state)
{
	(void)state;
	sboxd_cleanup(&D);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* sboxd's fd count once it stops moving (the readiness PING's connection
 * is closed on sboxd's side when it gets there).  No netns pool in these
 * tests: its fds would come and go with launches. */
static int settled_fds(void)
{
	int last = -1, same = 0;

	while (same < 5) {
		int n = sboxd_fd_count(&D);

		same = n == last ? same + 1 : 0;
		last = n;
		usleep(50 * 1000);
	}
	return last;
}

/* sboxd's fds come back to base (closing is asynchronous to us). */
static void assert_fds_back(int base)
{
	long long deadline = now_ms() + 5000;
	int n;

	while ((n = sboxd_fd_count(&D)) != base && now_ms() < deadline)
		usleep(20 * 1000);
	if (n != base)
		fprintf(stderr, "sboxd holds %d fds, %d before\n", n, base);
	assert_int_equal(n, base);
	assert_true(raw_ping(D.sock));
}

/* Send raw bytes; expect an ERROR whose message holds `why`, then (when
 * closes) the end of the connection. */
static void expect_error(int fd, uint32_t code, const char *why, bool closes)
{
	struct sbox_msg m;

	assert_int_equal(raw_recv(fd, &m, 5000), 1);
	assert_int_equal(m.hdr.type, SBOX_MSG_ERROR);
	if (!strstr(m.message, why))
		fprintf(stderr, "expected '%s' in: %s\n", why, m.message);
	assert_non_null(strstr(m.message, why));
	assert_int_equal(m.errcode, code);
	sbox_msg_free(&m);
	if (closes)
		assert_int_equal(raw_recv(fd, &m, 5000), 0);
}

static void send_bytes_expect(const void *buf, size_t len, uint32_t code, const char *why,
			      bool closes)
{
	int fd = raw_connect(D.sock);

	assert_true(fd >= 0);
	assert_int_equal(raw_send(fd, buf, len, NULL, 0), 0);
	expect_error(fd, code, why, closes);
	close(fd);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void test_broken_messages(void **state)
{
	struct sbox_mb b = { 0 };
	struct sbox_msg m;
	uint8_t buf[64];
	int base, fd;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "NetnsPool=0\n");
	base = settled_fds();
	/* Malformed. */
	send_bytes_expect("hello, sboxd!!!!!", 17, SBOX_E_PROTO, "not an sbox message", true);
	send_bytes_expect("SBOX", 4, SBOX_E_PROTO, "shorter than its 16-byte header", true);
	/* Truncated: the header says more than arrived. */
	sbox_mb_begin(&b, SBOX_MSG_PING, 1);
	assert_int_equal(sbox_mb_finish(&b, NULL), 0);
	memcpy(buf, b.buf, b.len);
	put32(buf + 12, 200);
	send_bytes_expect(buf, b.len, SBOX_E_PROTO, "message says 200 bytes but 16 arrived", true);
	/* A wrong version: refused in our version's words. */
	memcpy(buf, b.buf, b.len);
	buf[4] = 2;
	send_bytes_expect(buf, b.len, SBOX_E_VERSION,
			  "protocol version 2 is not supported (sboxd speaks 1)", true);
	/* An unknown type: answered, and the connection stays. */
	memcpy(buf, b.buf, b.len);
	buf[6] = 0x42;
	fd = raw_connect(D.sock);
	assert_int_equal(raw_send(fd, buf, b.len, NULL, 0), 0);
	expect_error(fd, SBOX_E_PROTO, "unknown message type 66", false);
	assert_int_equal(raw_send(fd, b.buf, b.len, NULL, 0), 0);
	assert_int_equal(raw_recv(fd, &m, 5000), 1);
	assert_int_equal(m.hdr.type, SBOX_MSG_PONG);
	sbox_msg_free(&m);
	close(fd);
	/* A reply sent as a request; a keeper message on the public socket. */
	sbox_mb_begin(&b, SBOX_MSG_OK, 1);
	assert_int_equal(sbox_mb_finish(&b, NULL), 0);
	send_bytes_expect(b.buf, b.len, SBOX_E_PROTO, "not a request", true);
	sbox_mb_begin(&b, SBOX_MSG_KEEP_GET, 1);
	assert_int_equal(sbox_mb_finish(&b, NULL), 0);
	send_bytes_expect(b.buf, b.len, SBOX_E_PROTO, "not a request", true);
	/* A bad attribute. */
	sbox_mb_begin(&b, SBOX_MSG_LAUNCH, 1);
	sbox_mb_str(&b, SBOX_ATTR_ARGV, "/bin/true");
	sbox_mb_u32(&b, SBOX_ATTR_SIGNAL, 9);
	assert_int_equal(sbox_mb_finish(&b, NULL), 0);
	send_bytes_expect(b.buf, b.len, SBOX_E_PROTO, "attribute SIGNAL is not allowed here", true);
	/* Oversized: over the 128 KiB cap (root may raise its send buffer). */
	{
		size_t len = 150000;
		uint8_t *big = calloc(1, len);
		int sz = 1 << 20;

		memcpy(big, b.buf, SBOX_PROTO_HDR_LEN);
		put32(big + 12, (uint32_t)len);
		fd = raw_connect(D.sock);
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)), 0);
		assert_int_equal(raw_send(fd, big, len, NULL, 0), 0);
		expect_error(fd, SBOX_E_PROTO, "message over the size limit (at most 131072 bytes", true);
		close(fd);
		free(big);
	}
	/* An empty packet is the end of the conversation. */
	fd = raw_connect(D.sock);
	assert_int_equal(send(fd, "", 0, 0), 0);
	assert_int_equal(raw_recv(fd, &m, 5000), 0);
	close(fd);
	sbox_mb_free(&b);
	assert_fds_back(base);
	assert_int_equal(sboxd_stop(&D), 0);
}

static void test_silent_and_deaf_clients(void **state)
{
	struct sbox_mb b = { 0 };
	struct sbox_msg m;
	long long t0;
	int silent, deaf, base, sent = 0;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "NetnsPool=0\nIdleTimeoutSec=1s\n");
	base = settled_fds();
	/* A client that connects and never finishes (never sends) its
	 * message holds no one up, and is let go after IdleTimeoutSec=. */
	silent = raw_connect(D.sock);
	assert_true(silent >= 0);
	t0 = now_ms();
	assert_true(raw_ping(D.sock));
	assert_true(now_ms() - t0 < 500);
	expect_error(silent, SBOX_E_PROTO, "idle for too long (IdleTimeoutSec=): closing", true);
	assert_true(now_ms() - t0 >= 900);
	assert_true(now_ms() - t0 < 4000);
	close(silent);
	/* A client that asks and never reads: dropped once a megabyte of
	 * replies waits for it, without stalling anyone. */
	deaf = raw_connect(D.sock);
	sbox_mb_begin(&b, SBOX_MSG_PING, 1);
	assert_int_equal(sbox_mb_finish(&b, NULL), 0);
	fcntl(deaf, F_SETFL, O_NONBLOCK);
	t0 = now_ms();
	while (now_ms() - t0 < 20000) {
		if (send(deaf, b.buf, b.len, MSG_NOSIGNAL) < 0) {
			if (errno == EAGAIN) {
				usleep(1000);
				continue;
			}
			break;           /* EPIPE/ECONNRESET: sboxd dropped us */
		}
		sent++;
	}
	assert_true(sent > 1000);
	assert_true(now_ms() - t0 < 20000);
	assert_true(raw_ping(D.sock));
	close(deaf);
	{
		char *log = sboxd_log(&D);

		assert_non_null(strstr(log, "client does not read its replies; dropped"));
		free(log);
	}
	(void)m;
	sbox_mb_free(&b);
	assert_fds_back(base);
	assert_int_equal(sboxd_stop(&D), 0);
}

static void test_thousand_connections(void **state)
{
	enum { N = 1000 };
	static int fds[N];
	struct rlimit rl = { 4096, 4096 };
	struct sbox_mb b = { 0 };
	long long t0;
	int base, answered = 0;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "NetnsPool=0\nMaxConnections=1100\n");
	base = settled_fds();
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	t0 = now_ms();
	for (int i = 0; i < N; i++) {
		fds[i] = raw_connect(D.sock);
		assert_true(fds[i] >= 0);
	}
	for (int i = 0; i < N; i++) {
		sbox_mb_begin(&b, SBOX_MSG_PING, (uint32_t)i);
		assert_int_equal(raw_send_mb(fds[i], &b), 0);
	}
	for (int i = 0; i < N; i++) {
		struct sbox_msg m;

		if (raw_recv(fds[i], &m, 10000) == 1 && m.hdr.type == SBOX_MSG_PONG &&
		    m.hdr.seq == (uint32_t)i)
			answered++;
		sbox_msg_free(&m);
	}
	fprintf(stderr, "1000 connections: %d answered in %lld ms\n", answered, now_ms() - t0);
	assert_int_equal(answered, N);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	sbox_mb_free(&b);
	assert_fds_back(base);
	assert_int_equal(sboxd_stop(&D), 0);
}

static void test_connection_cap(void **state)
{
	int fds[10], extra;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "MaxConnections=10\n");
	for (int i = 0; i < 10; i++)
		assert_true((fds[i] = raw_connect(D.sock)) >= 0);
	/* Let sboxd take them all before the one too many. */
	usleep(200 * 1000);
	extra = raw_connect(D.sock);
	assert_true(extra >= 0);
	expect_error(extra, SBOX_E_BUSY, "too many connections (MaxConnections=10)", true);
	close(extra);
	close(fds[0]);
	usleep(200 * 1000);
	assert_true(raw_ping(D.sock));
	for (int i = 1; i < 10; i++)
		close(fds[i]);
	assert_int_equal(sboxd_stop(&D), 0);
}

/* A LAUNCH of argv with stdout and the given extra fds (all named). */
static void launch_with(struct sbox_mb *b, int out_fd, const char *policy)
{
	sbox_mb_begin(b, SBOX_MSG_LAUNCH, 5);
	sbox_mb_str(b, SBOX_ATTR_ARGV, D.probe);
	sbox_mb_str(b, SBOX_ATTR_ARGV, "exit");
	sbox_mb_str(b, SBOX_ATTR_ARGV, "0");
	if (policy)
		sbox_mb_str(b, SBOX_ATTR_POLICY, policy);
	if (out_fd >= 0)
		sbox_mb_u32(b, SBOX_ATTR_STDOUT, (uint32_t)sbox_mb_fd(b, out_fd));
}

static void launch_expect(struct sbox_mb *b, uint32_t code, const char *why, bool closes)
{
	int fd = raw_connect(D.sock);

	assert_true(fd >= 0);
	assert_int_equal(raw_send_mb(fd, b), 0);
	expect_error(fd, code, why, closes);
	close(fd);
}

static void test_fd_abuse(void **state)
{
	struct sbox_mb b = { 0 };
	int base, fds[250], dir, opath, fd;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "NetnsPool=0\n");
	base = settled_fds();
	for (int i = 0; i < 250; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* Too many fds: past sboxd's cap, and close to the kernel's. */
	for (size_t n = SBOX_PROTO_MAX_FDS + 1; n <= 250; n += 249 - SBOX_PROTO_MAX_FDS) {
		sbox_mb_begin(&b, SBOX_MSG_PING, 1);
		assert_int_equal(sbox_mb_finish(&b, NULL), 0);
		fd = raw_connect(D.sock);
		assert_int_equal(raw_send(fd, b.buf, b.len, fds, n), 0);
		expect_error(fd, SBOX_E_PROTO, "too many fds in one message", true);
		close(fd);
	}
	/* An empty packet carrying fds: taken for EOF, it used to close the
	 * connection without closing the fds (a leak a client could repeat). */
	for (int i = 0; i < 20; i++) {
		fd = raw_connect(D.sock);
		assert_int_equal(raw_send(fd, "", 0, fds, 100), 0);
		expect_error(fd, SBOX_E_PROTO, "empty message with fds", true);
		close(fd);
	}
	/* fds on a message that takes none; an fd nobody names. */
	sbox_mb_begin(&b, SBOX_MSG_PING, 1);
	assert_int_equal(sbox_mb_finish(&b, NULL), 0);
	fd = raw_connect(D.sock);
	assert_int_equal(raw_send(fd, b.buf, b.len, fds, 3), 0);
	expect_error(fd, SBOX_E_PROTO, "PING: carries 3 fds but takes none", true);
	close(fd);
	launch_with(&b, -1, NULL);
	sbox_mb_fd(&b, fds[0]);
	launch_expect(&b, SBOX_E_PROTO, "fd #0 arrived but no attribute uses it", true);
	/* A directory, or an O_PATH fd, where a file is expected. */
	dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	opath = open("/etc/hostname", O_PATH | O_CLOEXEC);
	launch_with(&b, dir, NULL);
	launch_expect(&b, SBOX_E_PROTO, "STDOUT: the fd passed for it is a directory", false);
	launch_with(&b, opath, NULL);
	launch_expect(&b, SBOX_E_PROTO, "STDOUT: an O_PATH fd can be neither read nor written", false);
	/* Bind fds that don't match the policy's binds. */
	launch_with(&b, -1, "[Sandbox]\nBindPaths=/etc:/tmp/etc\n");
	launch_expect(&b, SBOX_E_PROTO, "BindPaths=/etc: the request carries no fd for this bind source",
		      false);
	launch_with(&b, -1, NULL);
	sbox_mb_pair(&b, SBOX_ATTR_BIND_FD, 3, (uint32_t)sbox_mb_fd(&b, opath));
	launch_expect(&b, SBOX_E_PROTO, "BIND_FD 3 names no bind of the policy (it has 0)", false);
	/* A policy that doesn't parse. */
	launch_with(&b, -1, "[Sandbox]\nMemoryMx=1G\n");
	launch_expect(&b, SBOX_E_POLICY, "request policy:2: unknown directive 'MemoryMx'; did you mean 'MemoryMax'?",
		      false);
	close(dir);
	close(opath);
	for (int i = 0; i < 250; i++)
		close(fds[i]);
	sbox_mb_free(&b);
	/* Every fd that arrived was closed again. */
	assert_fds_back(base);
	assert_int_equal(sboxd_stop(&D), 0);
}

/* A client (nobody) that launches `probe sleep 30` and stops at `step`:
 * 0 connected, 1 LAUNCH sent, 2 LAUNCHED read, 3 WAIT sent.  It says
 * "ready" on the pipe, then waits to be killed. */
static pid_t client_until(int step, bool detach, int ready)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct sbox_mb b = { 0 };
		struct sbox_msg m;
		int fd, null = open("/dev/null", O_RDWR);

		become(NOBODY);
		fd = raw_connect(D.sock);
		if (fd < 0)
			_exit(1);
		if (step >= 1) {
			sbox_mb_begin(&b, SBOX_MSG_LAUNCH, 1);
			sbox_mb_str(&b, SBOX_ATTR_ARGV, D.probe);
			sbox_mb_str(&b, SBOX_ATTR_ARGV, "sleep");
			sbox_mb_str(&b, SBOX_ATTR_ARGV, "30");
			sbox_mb_u32(&b, SBOX_ATTR_STDOUT, (uint32_t)sbox_mb_fd(&b, null));
			if (detach)
				sbox_mb_u32(&b, SBOX_ATTR_FLAGS, SBOX_LAUNCH_DETACH);
			if (raw_send_mb(fd, &b) < 0)
				_exit(1);
		}
		if (step >= 2 && (raw_recv(fd, &m, 10000) != 1 || m.hdr.type != SBOX_MSG_LAUNCHED))
			_exit(1);
		if (step >= 3) {
			sbox_mb_begin(&b, SBOX_MSG_WAIT, 2);
			sbox_mb_u64(&b, SBOX_ATTR_JOB_ID, m.job_id);
			if (raw_send_mb(fd, &b) < 0)
				_exit(1);
		}
		if (write(ready, "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	return pid;
}

static void test_clients_killed_at_every_step(void **state)
{
	unsigned long long id = 0;
	int base;

	(void)state;
	sboxd_prepare(&D);
	/* Neither pool: what they hold would count as fds held. */
	sboxd_start(&D, "NetnsPool=0\n[Pool]\nSize=0\n");
	base = settled_fds();
	for (int step = 0; step <= 3; step++) {
		int p[2], st;
		char c;
		pid_t pid;

		assert_int_equal(pipe(p), 0);
		pid = client_until(step, false, p[1]);
		close(p[1]);
		assert_int_equal(read(p[0], &c, 1), 1);
		close(p[0]);
		/* Step 1: the LAUNCH may still be on its way; let it land. */
		usleep(step == 1 ? 300 * 1000 : 0);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		/* Its job (if it got one) went with it; sboxd is unharmed. */
		if (!sboxd_no_jobs(&D, 5000))
			fprintf(stderr, "step %d: a job outlived its client\n", step);
		assert_true(sboxd_no_jobs(&D, 1));
		assert_fds_back(base);
	}
	/* A detached job survives its client's death. */
	{
		struct cmd r;
		int p[2], st;
		char c;
		pid_t pid;

		assert_int_equal(pipe(p), 0);
		pid = client_until(2, true, p[1]);
		close(p[1]);
		assert_int_equal(read(p[0], &c, 1), 1);
		close(p[0]);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		usleep(300 * 1000);
		assert_false(sboxd_no_jobs(&D, 1));
		cmd_runl(&r, NOBODY, 10, D.sboxrun, "--socket", D.sock, "--jobs", NULL);
		assert_non_null(strstr(r.out, "yes"));
		assert_int_equal(sscanf(strchr(r.out, '\n') + 1, "%llu", &id), 1);
		cmd_free(&r);
	}
	/* Root may end it (a user only their own). */
	{
		struct sbox_mb b = { 0 };
		struct sbox_msg m;
		int fd = raw_connect(D.sock);

		sbox_mb_begin(&b, SBOX_MSG_SIGNAL, 3);
		sbox_mb_u64(&b, SBOX_ATTR_JOB_ID, id);
		sbox_mb_u32(&b, SBOX_ATTR_SIGNAL, SIGKILL);
		assert_int_equal(raw_send_mb(fd, &b), 0);
		assert_int_equal(raw_recv(fd, &m, 5000), 1);
		assert_int_equal(m.hdr.type, SBOX_MSG_OK);
		sbox_msg_free(&m);
		sbox_mb_begin(&b, SBOX_MSG_WAIT, 4);
		sbox_mb_u64(&b, SBOX_ATTR_JOB_ID, id);
		assert_int_equal(raw_send_mb(fd, &b), 0);
		assert_int_equal(raw_recv(fd, &m, 5000), 1);
		assert_int_equal(m.hdr.type, SBOX_MSG_EXIT);
		assert_int_equal(m.outcome, SBOX_OUTCOME_KILLED);
		assert_int_equal(m.status, SIGKILL);
		sbox_msg_free(&m);
		sbox_mb_free(&b);
		close(fd);
	}
	assert_true(sboxd_no_jobs(&D, 3000));
	assert_fds_back(base);
	assert_int_equal(sboxd_stop(&D), 0);
}

/* Break 2 of issue 12: a client that shuts its read side while it waits.
 * The job's end is sent to it, the send fails (EPIPE), and the connection
 * is closed from inside the walk over the job's waiters: the waiter being
 * told was freed under the walk (ASan: heap-use-after-free in finalize;
 * release builds: "double free or corruption").  Twice on one connection
 * (two WAITs), and from several clients at once. */
static void test_half_closed_waiters(void **state)
{
	enum { N = 4 };
	struct sbox_mb b = { 0 };
	int fds[N], base;

	(void)state;
	sboxd_prepare(&D);
	/* Neither pool: what they hold would count as fds held. */
	sboxd_start(&D, "NetnsPool=0\n[Pool]\nSize=0\n");
	base = settled_fds();
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			struct sbox_msg m;

			fds[i] = raw_connect(D.sock);
			assert_true(fds[i] >= 0);
			sbox_mb_begin(&b, SBOX_MSG_LAUNCH, 1);
			sbox_mb_str(&b, SBOX_ATTR_ARGV, "/bin/sleep");
			sbox_mb_str(&b, SBOX_ATTR_ARGV, "0.3");
			assert_int_equal(raw_send_mb(fds[i], &b), 0);
			assert_int_equal(raw_recv(fds[i], &m, 10000), 1);
			assert_int_equal(m.hdr.type, SBOX_MSG_LAUNCHED);
			for (uint32_t w = 0; w < 2; w++) {
				sbox_mb_begin(&b, SBOX_MSG_WAIT, 2 + w);
				sbox_mb_u64(&b, SBOX_ATTR_JOB_ID, m.job_id);
				assert_int_equal(raw_send_mb(fds[i], &b), 0);
			}
			sbox_msg_free(&m);
			/* The WAITs land before the read side goes. */
			usleep(20 * 1000);
			assert_int_equal(shutdown(fds[i], round == 1 ? SHUT_RDWR : SHUT_RD), 0);
		}
		usleep(800 * 1000);
		if (!raw_ping(D.sock)) {
			char *log = sboxd_log(&D);

			fprintf(stderr, "sboxd died:\n%s\n", log);
			free(log);
			sbox_mb_free(&b);
			fail();
		}
		for (int i = 0; i < N; i++)
			close(fds[i]);
	}
	sbox_mb_free(&b);
	assert_true(sboxd_no_jobs(&D, 3000));
	assert_fds_back(base);
	assert_int_equal(sboxd_stop(&D), 0);
}

/* A FUSE file system that answers what it takes to open a file (INIT,
 * LOOKUP, OPEN, GETATTR) and, once told to stop, nothing more: every later
 * request on it waits for ever — in the kernel, in whoever made it.  No
 * libfuse: the kernel protocol, the few messages needed. */
/* A request the stuck server left unanswered, and whose it was. */
struct fuse_left {
	uint64_t unique;
	pid_t pid;
	uint32_t opcode;
};

struct stuck_fuse {
	char mnt[512];
	int dev;
	unsigned conn;              /* its number under /sys/fs/fuse/connections */
	pthread_t thread;
	atomic_bool stop;
	atomic_bool quit;
	atomic_int ignored;         /* requests left unanswered */
	/* Set (stuck_only()): only this process's requests stay unanswered;
	 * those of others left so far are answered then, and from then on. */
	atomic_int stuck_tgid;
	atomic_bool replay;
	/* The server's own: the requests left unanswered, by whom. */
	struct fuse_left left[256];
	int n_left;
};

static void fuse_reply(int dev, uint64_t unique, const void *body, size_t len)
{
	struct {
		struct fuse_out_header h;
		uint8_t body[256];
	} out = { .h = { .len = (uint32_t)(sizeof(out.h) + len), .unique = unique } };

	memcpy(out.body, body, len);
	(void)!write(dev, &out, out.h.len);
}

static void fuse_attr_of(struct fuse_attr *a, uint64_t ino)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->mode = ino == 1 ? S_IFDIR | 0755 : S_IFREG | 0666;
	a->nlink = 1;
}

/* The process a request's thread belongs to (FUSE names the thread). */
static pid_t tgid_of(pid_t tid)
{
	char path[64], line[128];
	pid_t tgid = -1;
	FILE *s;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	s = fopen(path, "re");
	if (!s)
		return -1;
	while (fgets(line, sizeof(line), s))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(s);
	return tgid;
}

static void fuse_answer(int dev, uint64_t unique, uint32_t opcode)
{
	/* FLUSH: done.  Never ENOSYS there: the kernel would stop sending
	 * FLUSH on the connection at all. */
	struct fuse_out_header h = { .len = sizeof(h), .unique = unique,
				     .error = opcode == FUSE_FLUSH ? 0 : -EIO };

	(void)!write(dev, &h, sizeof(h));
}

static bool left_stuck(const struct stuck_fuse *f, pid_t pid)
{
	pid_t only = atomic_load(&f->stuck_tgid);

	return !only || tgid_of(pid) == only;
}

/* After stuck_only(): answer what others were left waiting for. */
static void fuse_replay(struct stuck_fuse *f)
{
	int k = 0;

	for (int i = 0; i < f->n_left; i++) {
		if (left_stuck(f, f->left[i].pid)) {
			f->left[k++] = f->left[i];
			continue;
		}
		fuse_answer(f->dev, f->left[i].unique, f->left[i].opcode);
		atomic_fetch_sub(&f->ignored, 1);
	}
	f->n_left = k;
}

static void *fuse_serve(void *arg)
{
	struct stuck_fuse *f = arg;
	static uint8_t buf[1 << 20];

	while (!atomic_load(&f->quit)) {
		struct pollfd p = { .fd = f->dev, .events = POLLIN };
		struct fuse_in_header *in = (void *)buf;
		ssize_t n;

		if (atomic_exchange(&f->replay, false))
			fuse_replay(f);
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(f->dev, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < (ssize_t)sizeof(*in))
			return NULL;          /* aborted, or unmounted */
		if (atomic_load(&f->stop) && in->opcode != FUSE_INIT &&
		    left_stuck(f, (pid_t)in->pid)) {
			if (f->n_left < (int)(sizeof(f->left) / sizeof(f->left[0])))
				f->left[f->n_left++] = (struct fuse_left){ in->unique, (pid_t)in->pid,
									   in->opcode };
			atomic_fetch_add(&f->ignored, 1);
			continue;
		}
		switch (in->opcode) {
		case FUSE_INIT: {
			struct fuse_init_out o = { .major = FUSE_KERNEL_VERSION,
						   .minor = FUSE_KERNEL_MINOR_VERSION,
						   .max_write = 4096, .max_readahead = 4096 };

			fuse_reply(f->dev, in->unique, &o, sizeof(o));
			break;
		}
		case FUSE_LOOKUP: {
			struct fuse_entry_out o = { .nodeid = 2, .generation = 1 };

			fuse_attr_of(&o.attr, 2);
			fuse_reply(f->dev, in->unique, &o, sizeof(o));
			break;
		}
		case FUSE_GETATTR: {
			struct fuse_attr_out o = { 0 };

			fuse_attr_of(&o.attr, in->nodeid);
			fuse_reply(f->dev, in->unique, &o, sizeof(o));
			break;
		}
		case FUSE_OPEN: {
			struct fuse_open_out o = { .fh = 1 };

			fuse_reply(f->dev, in->unique, &o, sizeof(o));
			break;
		}
		case FUSE_FLUSH:
			fuse_answer(f->dev, in->unique, in->opcode);
			break;
		default: {
			struct fuse_out_header h = { .len = sizeof(h), .error = -ENOSYS,
						     .unique = in->unique };

			(void)!write(f->dev, &h, sizeof(h));
			break;
		}
		}
	}
	return NULL;
}

/* Mount it under the test's directory and open a file on it n times.
 * The connection's number is taken while the server still answers: a
 * stat() of the mount afterwards would wait for ever. */
static void stuck_fuse_open_n(struct stuck_fuse *f, int *fds, size_t n)
{
	char opts[128], path[600];
	struct stat st;

	snprintf(f->mnt, sizeof(f->mnt), "%s/fuse", D.dir);
	assert_int_equal(mkdir(f->mnt, 0755), 0);
	f->dev = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (f->dev < 0)
		skip();
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other",
		 f->dev);
	if (mount("sbox-stuck", f->mnt, "fuse", MS_NOSUID | MS_NODEV, opts) < 0) {
		fprintf(stderr, "mount fuse: %s\n", strerror(errno));
		close(f->dev);
		skip();
	}
	assert_int_equal(pthread_create(&f->thread, NULL, fuse_serve, f), 0);
	snprintf(path, sizeof(path), "%s/f", f->mnt);
	for (size_t i = 0; i < n; i++) {
		fds[i] = open(path, O_RDWR | O_CLOEXEC);
		assert_true(fds[i] >= 0);
	}
	assert_int_equal(fstat(fds[0], &st), 0);
	f->conn = minor(st.st_dev);
	atomic_store(&f->stop, true);
}

static int stuck_fuse_open(struct stuck_fuse *f)
{
	int fd;

	stuck_fuse_open_n(f, &fd, 1);
	return fd;
}

/* From now on only process tgid's requests go unanswered; the others'
 * left waiting so far are answered (within the server's next turn). */
static void stuck_only(struct stuck_fuse *f, pid_t tgid)
{
	atomic_store(&f->stuck_tgid, tgid);
	atomic_store(&f->replay, true);
}

/* Abort the connection through fusectl: every request waiting on it fails
 * at once, whoever holds the device.  A stuck FUSE connection left behind
 * would hang whatever touches the mount (ps, find) machine-wide. */
static void stuck_fuse_abort(const struct stuck_fuse *f)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/abort", f->conn);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return;
	}
	if (write(fd, "1", 1) != 1)
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
	close(fd);
}

/* The end: the connection aborted (every waiting request fails) and its
 * device closed, then the mount goes. */
static void stuck_fuse_end(struct stuck_fuse *f)
{
	atomic_store(&f->quit, true);
	pthread_join(f->thread, NULL);
	stuck_fuse_abort(f);
	close(f->dev);
	umount2(f->mnt, MNT_DETACH);
}

/* Break 4 of issue 12: a client passes, as stdout, a file on a FUSE mount
 * that never answers.  sboxd used to fstat() it in the loop (and close()
 * it there: FUSE_FLUSH): frozen for everyone.  Now another client's PING
 * and launch are answered at once. */
static struct stuck_fuse *fuse_active;

static int teardown_fuse(void **state)
{
	if (fuse_active)
		stuck_fuse_end(fuse_active);
	fuse_active = NULL;
	return teardown(state);
}

/* A raw LAUNCH of `probe exit 3` (its stdout out_fd when >= 0) and its
 * WAIT on a new connection: the test itself must not fork and exec while
 * it holds the FUSE fd (the exec would close it: a FLUSH that never
 * returns). */
static int launch_out_and_wait(int out_fd)
{
	struct sbox_mb b = { 0 };
	struct sbox_msg m;
	int fd = raw_connect(D.sock), code = -1;

	if (fd < 0)
		return -1;
	sbox_mb_begin(&b, SBOX_MSG_LAUNCH, 5);
	sbox_mb_str(&b, SBOX_ATTR_ARGV, D.probe);
	sbox_mb_str(&b, SBOX_ATTR_ARGV, "exit");
	sbox_mb_str(&b, SBOX_ATTR_ARGV, "3");
	if (out_fd >= 0)
		sbox_mb_u32(&b, SBOX_ATTR_STDOUT, (uint32_t)sbox_mb_fd(&b, out_fd));
	if (raw_send_mb(fd, &b) == 0 && raw_recv(fd, &m, 5000) == 1) {
		if (m.hdr.type == SBOX_MSG_LAUNCHED) {
			uint64_t id = m.job_id;

			sbox_msg_free(&m);
			sbox_mb_begin(&b, SBOX_MSG_WAIT, 6);
			sbox_mb_u64(&b, SBOX_ATTR_JOB_ID, id);
			if (raw_send_mb(fd, &b) == 0 && raw_recv(fd, &m, 10000) == 1 &&
			    m.hdr.type == SBOX_MSG_EXIT && WIFEXITED(m.status))
				code = WEXITSTATUS(m.status);
		}
		sbox_msg_free(&m);
	}
	sbox_mb_free(&b);
	close(fd);
	return code;
}

static int launch_and_wait(void)
{
	return launch_out_and_wait(-1);
}

/* Once the stuck fd has had time to reach sboxd: another client's PING is
 * answered within a second and its launch runs (`what` heads the lines
 * that say how long each took). */
static void others_answered(const char *what, const struct stuck_fuse *f)
{
	long long t0;
	bool pong;
	int code;

	usleep(300 * 1000);
	t0 = now_ms();
	pong = raw_ping(D.sock);
	fprintf(stderr, "%s: PING %s after %lld ms (%d FUSE requests waiting)\n", what,
		pong ? "answered" : "NOT answered", now_ms() - t0, atomic_load(&f->ignored));
	assert_true(pong);
	assert_true(now_ms() - t0 < 1000);
	code = launch_and_wait();
	fprintf(stderr, "%s: another launch exited %d after %lld ms\n", what, code,
		now_ms() - t0);
	assert_int_equal(code, 3);
}

/* Break 4 of issue 12: a client passes, as stdout, a file on a FUSE mount
 * that never answers.  sboxd used to fstat() it in the loop (and close()
 * it there: FUSE_FLUSH): frozen for everyone.  Now another client's PING
 * and launch are answered at once. */
static void test_stuck_fuse_fd(void **state)
{
	static struct stuck_fuse f;
	struct sbox_mb b = { 0 };
	struct sbox_msg m;
	int fd, c;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "NetnsPool=0\n");
	memset(&f, 0, sizeof(f));
	fd = stuck_fuse_open(&f);
	fuse_active = &f;
	c = raw_connect(D.sock);
	launch_with(&b, fd, NULL);
	assert_int_equal(raw_send_mb(c, &b), 0);
	sbox_mb_free(&b);
	others_answered("stuck FUSE fd", &f);
	/* The stuck client's own launch got an answer too (its sandbox may
	 * be stuck in its set-up: that is the client's affair). */
	assert_int_equal(raw_recv(c, &m, 5000), 1);
	sbox_msg_free(&m);
	fuse_active = NULL;
	stuck_fuse_end(&f);
	close(fd);
	close(c);
	assert_true(sboxd_no_jobs(&D, 10000));
	assert_true(raw_ping(D.sock));
	assert_int_equal(sboxd_stop(&D), 0);
}

/* A LAUNCH of `probe sleep 30` named by a LAUNCH_TOKEN, with out_fd as
 * its stdout when out_fd >= 0. */
static void launch_tokened(struct sbox_mb *b, uint64_t token, int out_fd)
{
	sbox_mb_begin(b, SBOX_MSG_LAUNCH, 7);
	sbox_mb_str(b, SBOX_ATTR_ARGV, D.probe);
	sbox_mb_str(b, SBOX_ATTR_ARGV, "sleep");
	sbox_mb_str(b, SBOX_ATTR_ARGV, "30");
	sbox_mb_u64(b, SBOX_ATTR_LAUNCH_TOKEN, token);
	if (out_fd >= 0)
		sbox_mb_u32(b, SBOX_ATTR_STDOUT, (uint32_t)sbox_mb_fd(b, out_fd));
}

/* The same break on the relaunch path: a client sends again a LAUNCH whose
 * LAUNCH_TOKEN names a job already started, passing as stdout a file on a
 * FUSE mount that never answers.  sboxd answers with that job and drops the
 * fds; it used to close them in the loop (FUSE_FLUSH): frozen for everyone.
 * Now another client's PING and launch are answered at once. */
static void test_stuck_fuse_fd_relaunch(void **state)
{
	static struct stuck_fuse f;
	struct sbox_mb b = { 0 };
	struct sbox_msg m;
	uint64_t token = 0x5b0c7e1a00000000ULL | (uint64_t)getpid(), id;
	int fd, c, again;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "NetnsPool=0\n");
	c = raw_connect(D.sock);
	assert_true(c >= 0);
	launch_tokened(&b, token, -1);
	assert_int_equal(raw_send_mb(c, &b), 0);
	assert_int_equal(raw_recv(c, &m, 5000), 1);
	assert_int_equal(m.hdr.type, SBOX_MSG_LAUNCHED);
	id = m.job_id;
	sbox_msg_free(&m);
	memset(&f, 0, sizeof(f));
	fd = stuck_fuse_open(&f);
	fuse_active = &f;
	again = raw_connect(D.sock);
	assert_true(again >= 0);
	launch_tokened(&b, token, fd);
	assert_int_equal(raw_send_mb(again, &b), 0);
	sbox_mb_free(&b);
	others_answered("stuck FUSE fd on a relaunch", &f);
	/* The relaunch was answered with the job its token names, not a new one. */
	assert_int_equal(raw_recv(again, &m, 5000), 1);
	assert_int_equal(m.hdr.type, SBOX_MSG_LAUNCHED);
	assert_int_equal(m.job_id, id);
	sbox_msg_free(&m);
	fuse_active = NULL;
	stuck_fuse_end(&f);
	close(fd);
	close(again);
	close(c);                       /* its client gone, the sleeper is killed */
	assert_true(sboxd_no_jobs(&D, 10000));
	assert_true(raw_ping(D.sock));
	assert_int_equal(sboxd_stop(&D), 0);
}

/* A daemon with extra configuration, and n files open on a stuck FUSE
 * mount (ended by teardown_fuse if the test fails). */
static void stuck_start(struct stuck_fuse *f, const char *config, int *fds, size_t n)
{
	sboxd_prepare(&D);
	sboxd_start(&D, config);
	memset(f, 0, sizeof(*f));
	stuck_fuse_open_n(f, fds, n);
	fuse_active = f;
}

/* The FUSE connection aborted (every stuck close returns), the files
 * closed. */
static void stuck_end(struct stuck_fuse *f, int *fds, size_t n)
{
	fuse_active = NULL;
	stuck_fuse_end(f);
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

/* Once the stuck closes returned: no job left, sboxd answers and stops. */
static void daemon_recovers(void)
{
	assert_true(sboxd_no_jobs(&D, 10000));
	assert_true(raw_ping(D.sock));
	assert_int_equal(sboxd_stop(&D), 0);
}

/* In a child forked while a stuck FUSE mount is up: its copy of the
 * server's device goes at once.  The connection is aborted when the last
 * copy of the device closes (stuck_fuse_end() closes the test's own),
 * which is what ends the stuck closes where fusectl's abort file is not
 * mounted (the test-v2 VM); a child holding a copy would keep them, and
 * its own exit, stuck for ever. */
static void child_lets_fuse_go(void)
{
	if (fuse_active)
		close(fuse_active->dev);
}

/* A user whose closes never return: a child, as nobody, sends up to n
 * launches, one connection each (kept open), each passing as stdout one of
 * fds, files on the stuck FUSE mount.  sboxd's copy of each goes to a
 * closer thread, whose close (FUSE_FLUSH) never returns.  The child says
 * how many were answered LAUNCHED before the first refusal, then holds its
 * copies (closing them would wait on the FLUSH too) until hog_end(). */
struct hog {
	pid_t pid;
	int end;
	int launched;
	char refusal[256];
};

static void hog_start(struct hog *h, const int *fds, size_t n)
{
	int res[2], end[2];

	memset(h, 0, sizeof(*h));
	assert_int_equal(pipe2(res, O_CLOEXEC), 0);
	assert_int_equal(pipe2(end, O_CLOEXEC), 0);
	h->pid = fork();
	assert_true(h->pid >= 0);
	if (h->pid == 0) {
		char b;

		child_lets_fuse_go();
		close(res[0]);
		close(end[1]);
		become(NOBODY);
		for (size_t i = 0; i < n; i++) {
			struct sbox_mb mb = { 0 };
			struct sbox_msg m;
			int c = raw_connect(D.sock);

			if (c < 0)
				break;
			launch_with(&mb, fds[i], NULL);
			(void)raw_send_mb(c, &mb);   /* EPIPE when refused at once */
			sbox_mb_free(&mb);
			if (raw_recv(c, &m, 5000) != 1)
				break;
			if (m.hdr.type != SBOX_MSG_LAUNCHED) {
				snprintf(h->refusal, sizeof(h->refusal), "%s",
					 m.message ? m.message : "?");
				sbox_msg_free(&m);
				break;
			}
			sbox_msg_free(&m);
			h->launched++;
		}
		(void)!write(res[1], &h->launched, sizeof(h->launched));
		(void)!write(res[1], h->refusal, sizeof(h->refusal));
		(void)!read(end[0], &b, 1);
		_exit(0);
	}
	close(res[1]);
	close(end[0]);
	assert_int_equal(read(res[0], &h->launched, sizeof(h->launched)), sizeof(h->launched));
	assert_int_equal(read(res[0], h->refusal, sizeof(h->refusal)), sizeof(h->refusal));
	close(res[0]);
	h->end = end[1];
	fprintf(stderr, "nobody: %d launches passing a stuck fd answered%s%s\n", h->launched,
		h->refusal[0] ? ", then refused: " : "", h->refusal);
}

/* After the FUSE connection's abort: the child's closes return, it goes. */
static void hog_end(struct hog *h)
{
	int st;

	close(h->end);
	assert_int_equal(waitpid(h->pid, &st, 0), h->pid);
}

/* Whether fd reads EOF within ms. */
static bool eof_within(int fd, int ms)
{
	long long deadline = now_ms() + ms;
	char buf[256];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return false;
		if (read(fd, buf, sizeof(buf)) == 0)
			return true;
	}
}

/* One user jams sboxd's closer threads: ten launches, each passing an fd
 * on a FUSE mount that never answers FLUSH.  The threads closing them are
 * stuck for good; they used to be every thread there was (8), and then
 * another user's fds waited behind them for ever: here root's stdout pipe,
 * whose reader never saw EOF after its worker ended, and root's launch
 * itself hung: its init inherited the queued fds and stuck closing them.
 * Now every close gets a thread at once, and sboxd clones an init only
 * once each is out of its fd table. */
static void test_stuck_closes_held_to_their_user(void **state)
{
	static struct stuck_fuse f;
	int fds[10], p[2], code;
	struct hog h;
	bool eof;
	long long t0;
	char *log;

	(void)state;
	stuck_start(&f, "NetnsPool=0\n", fds, 10);
	hog_start(&h, fds, 10);
	usleep(500 * 1000);             /* the closers take the stuck closes */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	t0 = now_ms();
	code = launch_out_and_wait(p[1]);
	close(p[1]);
	eof = eof_within(p[0], 3000);
	fprintf(stderr, "root's launch exited %d; its stdout pipe %s after %lld ms (%d FUSE requests waiting)\n",
		code, eof ? "read EOF" : "NOT at EOF", now_ms() - t0, atomic_load(&f.ignored));
	close(p[0]);
	/* Root's init was cloned with ten closes stuck in sboxd's threads:
	 * each was seen out of the table (blocked in close(2)) at once. */
	log = sboxd_log(&D);
	stuck_end(&f, fds, 10);
	hog_end(&h);
	assert_int_equal(h.launched, 10);
	assert_int_equal(code, 3);
	assert_true(eof);
	assert_non_null(log);
	assert_null(strstr(log, "is still in sboxd's fd table"));
	free(log);
	daemon_recovers();
}

/* The same user's stuck closes count against MaxFdsPerUser=: sboxd holds
 * each of those fds until its close returns.  With MaxFdsPerUser=10 and a
 * connection kept per launch, each launch holds two (its connection and
 * its fd in a closer), so the user is refused after about five; counting
 * its connections alone, after ten. */
static void test_stuck_closes_count_against_the_user(void **state)
{
	static struct stuck_fuse f;
	int fds[12], code;
	struct hog h;

	(void)state;
	stuck_start(&f, "NetnsPool=0\nMaxFdsPerUser=10\n", fds, 12);
	hog_start(&h, fds, 12);
	/* root is not held to it */
	code = launch_and_wait();
	stuck_end(&f, fds, 12);
	hog_end(&h);
	assert_int_equal(code, 3);
	assert_in_range(h.launched, 3, 6);
	assert_non_null(strstr(h.refusal, "MaxFdsPerUser=10"));
	daemon_recovers();
}

/* What a held-up user saw (test_stuck_closes_hold_up_the_user). */
struct held_up_report {
	char first[256];            /* the answer to 40 stuck fds on a PING */
	char second[256];           /* the answer to one more fd */
	bool pong;                  /* a PING without fds, then */
};

static struct sbox_mb ping_mb(void)
{
	struct sbox_mb b = { 0 };

	sbox_mb_begin(&b, SBOX_MSG_PING, 1);
	assert_int_equal(sbox_mb_finish(&b, NULL), 0);
	return b;
}

/* In the child: send fds on a PING, the answer's message into out. */
static void ping_with_fds(const struct sbox_mb *b, const int *fds, size_t n, char *out, size_t len)
{
	struct sbox_msg m;
	int c = raw_connect(D.sock);

	if (c < 0)
		return;
	(void)raw_send(c, b->buf, b->len, fds, n);
	if (raw_recv(c, &m, 5000) == 1) {
		snprintf(out, len, "%s", m.message ? m.message : "(no message)");
		sbox_msg_free(&m);
	}
	close(c);
}

/* One message brings a user's pending closes past SBOXD_CLOSES_PER_USER:
 * 40 fds on the stuck FUSE mount on a PING (refused: a PING takes none;
 * sboxd closes them, and each close sticks).  The user's next message
 * with an fd is refused without sboxd taking the fd; one without fds is
 * answered as ever; root's launch runs. */
static void test_stuck_closes_hold_up_the_user(void **state)
{
	static struct stuck_fuse f;
	struct held_up_report rep = { 0 };
	int fds[41], res[2], end[2], st, code;
	pid_t pid;

	(void)state;
	stuck_start(&f, "NetnsPool=0\n", fds, 41);
	assert_int_equal(pipe2(res, O_CLOEXEC), 0);
	assert_int_equal(pipe2(end, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sbox_mb b = ping_mb();
		char c;

		child_lets_fuse_go();
		close(res[0]);
		close(end[1]);
		become(NOBODY);
		ping_with_fds(&b, fds, 40, rep.first, sizeof(rep.first));
		usleep(300 * 1000);     /* the closers take the 40 closes */
		ping_with_fds(&b, fds + 40, 1, rep.second, sizeof(rep.second));
		rep.pong = raw_ping(D.sock);
		(void)!write(res[1], &rep, sizeof(rep));
		(void)!read(end[0], &c, 1);
		_exit(0);
	}
	close(res[1]);
	close(end[0]);
	assert_int_equal(read(res[0], &rep, sizeof(rep)), sizeof(rep));
	close(res[0]);
	fprintf(stderr, "nobody: 40 stuck fds: %s\nnobody: one more: %s\nnobody: a PING without fds %s\n",
		rep.first, rep.second, rep.pong ? "answered" : "NOT answered");
	code = launch_and_wait();
	stuck_end(&f, fds, 41);
	close(end[1]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_non_null(strstr(rep.first, "carries 40 fds but takes none"));
	assert_non_null(strstr(rep.second, "sboxd is still closing 40 of its fds"));
	assert_true(rep.pong);
	assert_int_equal(code, 3);
	daemon_recovers();
}

/* Run fn as nobody in a child: its exit code (0: all held). */
static int as_nobody(int (*fn)(void))
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		become(NOBODY);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* fn run as nobody in a child, its fd 3 the write end of a pipe on which
 * it says (one byte) that it holds what the test needs; returned once it
 * did, its pid for the test to kill and reap. */
static pid_t nobody_until_ready(int (*fn)(void))
{
	int p[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 3);
		become(NOBODY);
		_exit(fn());
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

/* One request, one answer; the answer's message must hold `want` (NULL:
 * the answer must be of type `type`). */
static int ask(int fd, struct sbox_mb *b, uint16_t type, const char *want, uint64_t *id)
{
	struct sbox_msg m;
	int ok;

	/* The send may fail (EPIPE: refused already); the answer is read
	 * all the same. */
	(void)raw_send_mb(fd, b);
	if (raw_recv(fd, &m, 5000) != 1) {
		fprintf(stderr, "no answer (want %s)\n", want ? want : "a reply");
		return 0;
	}
	ok = want ? m.hdr.type == SBOX_MSG_ERROR && m.message && strstr(m.message, want)
		  : m.hdr.type == type;
	if (!ok)
		fprintf(stderr, "want %s, got type %u: %s\n", want ? want : "a reply", m.hdr.type,
			m.message ? m.message : "");
	if (id)
		*id = m.job_id;
	sbox_msg_free(&m);
	return ok;
}

/* A connection refused at accept: the refusal arrives, not ECONNRESET,
 * although the client's first request waits unread. */
static int refused_with(const char *want)
{
	struct sbox_mb b = { 0 };
	int fd = raw_connect(D.sock), ok;

	if (fd < 0)
		return 0;
	sbox_mb_begin(&b, SBOX_MSG_PING, 1);
	ok = ask(fd, &b, 0, want, NULL);
	sbox_mb_free(&b);
	close(fd);
	return ok;
}

static int nobody_conns(void)
{
	struct sbox_mb b = { 0 };
	int fds[5];

	for (int i = 0; i < 5; i++) {
		sbox_mb_begin(&b, SBOX_MSG_PING, 1);
		if ((fds[i] = raw_connect(D.sock)) < 0 || !ask(fds[i], &b, SBOX_MSG_PONG, NULL, NULL))
			return 1;
	}
	sbox_mb_free(&b);
	usleep(200 * 1000);
	if (!refused_with("uid 65534 has 5 connections (MaxConnectionsPerUser=5 in "))
		return 2;
	return 0;
}

static int nobody_fills_all(void)
{
	int fds[8], n = 0;

	/* MaxConnections=8 keeps 1 for root: nobody gets 7. */
	for (; n < 7; n++)
		if ((fds[n] = raw_connect(D.sock)) < 0)
			return 1;
	usleep(200 * 1000);
	if (!refused_with("too many connections (MaxConnections=8, 1 of them kept for root)"))
		return 2;
	/* Root still gets in while nobody holds every slot it may. */
	if (write(3, "r", 1) != 1)
		return 3;
	pause();
	return 0;
}

/* Break 5 of issue 12 (connections): one user holding many connections
 * cannot lock out root or another user; each refusal names its cap. */
static void test_per_user_connections(void **state)
{
	int st;
	pid_t pid;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "NetnsPool=0\nMaxConnections=40\nMaxConnectionsPerUser=5\n");
	assert_int_equal(as_nobody(nobody_conns), 0);
	assert_true(raw_ping(D.sock));
	assert_int_equal(sboxd_stop(&D), 0);
	sboxd_cleanup(&D);

	sboxd_prepare(&D);
	sboxd_start(&D, "NetnsPool=0\nMaxConnections=8\nMaxConnectionsPerUser=0\n");
	pid = nobody_until_ready(nobody_fills_all);
	assert_true(raw_ping(D.sock));
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	assert_int_equal(sboxd_stop(&D), 0);
}

static void launch_gpu(struct sbox_mb *b, const char *gpu, uint32_t flags, const char *sleep_s)
{
	char policy[64];

	snprintf(policy, sizeof(policy), "[Sandbox]\nGPUs=%s\n", gpu);
	sbox_mb_begin(b, SBOX_MSG_LAUNCH, 7);
	sbox_mb_str(b, SBOX_ATTR_ARGV, D.probe);
	sbox_mb_str(b, SBOX_ATTR_ARGV, "sleep");
	sbox_mb_str(b, SBOX_ATTR_ARGV, sleep_s);
	sbox_mb_str(b, SBOX_ATTR_POLICY, policy);
	if (flags)
		sbox_mb_u32(b, SBOX_ATTR_FLAGS, flags);
}

static int nobody_queues(void)
{
	struct sbox_mb b = { 0 };
	int fd = raw_connect(D.sock), null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || null < 0)
		return 1;
	/* GPU 1 is root's: busy, and whose job it is is not said. */
	launch_gpu(&b, "1", 0, "30");
	if (!ask(fd, &b, 0, "GPU 1 (", NULL))
		return 2;
	launch_gpu(&b, "1", 0, "30");
	if (!ask(fd, &b, 0, "is leased by another user's job (--wait-gpu waits for it)", NULL))
		return 3;
	/* GPU 0: held, then queued for. */
	launch_gpu(&b, "0", 0, "30");
	if (!ask(fd, &b, SBOX_MSG_LAUNCHED, NULL, NULL))
		return 4;
	launch_gpu(&b, "0", SBOX_LAUNCH_WAIT_GPU, "1");
	if (!ask(fd, &b, SBOX_MSG_LAUNCHED, NULL, NULL))
		return 5;
	/* A queued launch holding 25 fds: over MaxFdsPerUser=20. */
	launch_gpu(&b, "0", SBOX_LAUNCH_WAIT_GPU, "1");
	for (uint32_t i = 0; i < 25; i++)
		sbox_mb_pair(&b, SBOX_ATTR_PASS_FD, 10 + i, (uint32_t)sbox_mb_fd(&b, null));
	if (!ask(fd, &b, 0, "(MaxFdsPerUser=20 in ", NULL))
		return 6;
	launch_gpu(&b, "0", SBOX_LAUNCH_WAIT_GPU, "1");
	if (!ask(fd, &b, SBOX_MSG_LAUNCHED, NULL, NULL))
		return 7;
	launch_gpu(&b, "0", SBOX_LAUNCH_WAIT_GPU, "1");
	if (!ask(fd, &b, 0, "uid 65534 has 2 launches waiting for a GPU (MaxQueuedJobsPerUser=2 in ", NULL))
		return 8;
	sbox_mb_free(&b);
	close(fd);
	return 0;
}

static int nobody_detaches(void)
{
	struct sbox_mb b = { 0 };
	struct sbox_msg m;
	int fd = raw_connect(D.sock), n = -1;

	for (int i = 0; i < 4; i++) {
		sbox_mb_begin(&b, SBOX_MSG_LAUNCH, 8);
		sbox_mb_str(&b, SBOX_ATTR_ARGV, D.probe);
		sbox_mb_str(&b, SBOX_ATTR_ARGV, "exit");
		sbox_mb_str(&b, SBOX_ATTR_ARGV, "0");
		sbox_mb_u32(&b, SBOX_ATTR_FLAGS, SBOX_LAUNCH_DETACH);
		if (!ask(fd, &b, SBOX_MSG_LAUNCHED, NULL, NULL))
			return 1;
	}
	usleep(2000 * 1000);
	sbox_mb_begin(&b, SBOX_MSG_LIST, 9);
	if (raw_send_mb(fd, &b) == 0 && raw_recv(fd, &m, 5000) == 1) {
		n = (int)m.n_jobs;
		sbox_msg_free(&m);
	}
	sbox_mb_free(&b);
	close(fd);
	if (n != 2)
		fprintf(stderr, "%d ended records kept, want 2\n", n);
	return n == 2 ? 0 : 2;
}

/* A daemon with fake GPUs 0-3 that nobody may lease. */
static void start_with_gpus(const char *more)
{
	char conf[1024], extra[2048];

	sboxd_prepare(&D);
	if (access("tests/fixtures/fake-gpus.sh", R_OK) < 0)
		skip_because("tests/fixtures/fake-gpus.sh not found: run from the repository's root");
	snprintf(conf, sizeof(conf), "sh tests/fixtures/fake-gpus.sh %s/fake", D.dir);
	assert_int_equal(system(conf), 0);
	snprintf(extra, sizeof(extra),
		 "NetnsPool=0\n%s[GPUs]\nProcRoot=%s/fake/proc\nSysRoot=%s/fake/sys\nDevRoot=%s/fake/dev\n"
		 "[Bounds]\nAllowGPUs=nobody 0-3\n", more, D.dir, D.dir, D.dir);
	sboxd_start(&D, extra);
}

/* Break 5 of issue 12 (jobs): queued launches, the fds they hold and the
 * ended records kept are capped per user, and a BUSY reply names no other
 * user's job. */
static void test_per_user_jobs(void **state)
{
	struct sbox_mb b = { 0 };
	int root;

	(void)state;
	start_with_gpus("MaxQueuedJobsPerUser=2\nMaxFdsPerUser=20\nMaxEndedJobsPerUser=2\n");
	root = raw_connect(D.sock);
	launch_gpu(&b, "1", 0, "30");
	assert_true(ask(root, &b, SBOX_MSG_LAUNCHED, NULL, NULL));
	assert_int_equal(as_nobody(nobody_queues), 0);
	close(root);
	sbox_mb_free(&b);
	assert_true(sboxd_no_jobs(&D, 10000));
	assert_int_equal(as_nobody(nobody_detaches), 0);
	{
		char *log = sboxd_log(&D);

		assert_non_null(strstr(log, "dropped (MaxEndedJobsPerUser=2)"));
		free(log);
	}
	assert_int_equal(sboxd_stop(&D), 0);
}

/* As nobody: four jobs detached, the fifth refused by the default
 * MaxJobsPerUser= (a quarter of MaxJobs=16). */
static int nobody_takes_a_quarter(void)
{
	struct sbox_mb b = { 0 };
	int fd = raw_connect(D.sock), bad = 0;

	for (int i = 0; i < 5; i++) {
		sbox_mb_begin(&b, SBOX_MSG_LAUNCH, 20 + (uint32_t)i);
		sbox_mb_str(&b, SBOX_ATTR_ARGV, D.probe);
		sbox_mb_str(&b, SBOX_ATTR_ARGV, "sleep");
		sbox_mb_str(&b, SBOX_ATTR_ARGV, "60");
		sbox_mb_u32(&b, SBOX_ATTR_FLAGS, SBOX_LAUNCH_DETACH);
		if (i < 4 && !ask(fd, &b, SBOX_MSG_LAUNCHED, NULL, NULL))
			bad = 1;
		if (i == 4 && !ask(fd, &b, 0, "has 4 jobs running (MaxJobsPerUser=4 in", NULL))
			bad = 2;
	}
	sbox_mb_free(&b);
	close(fd);
	return bad;
}

/* One user can't take every job slot by default: MaxJobsPerUser= unset is
 * a quarter of MaxJobs= (before, all but root's reserve: 15 of 16 here),
 * and others are still served. */
static void test_per_user_jobs_default(void **state)
{
	struct sbox_mb b = { 0 };
	int root;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "MaxJobs=16\nNetnsPool=0\n");
	assert_int_equal(as_nobody(nobody_takes_a_quarter), 0);
	root = raw_connect(D.sock);
	assert_true(root >= 0);
	launch_with(&b, -1, NULL);
	assert_true(ask(root, &b, SBOX_MSG_LAUNCHED, NULL, NULL));
	close(root);
	sbox_mb_free(&b);
	assert_int_equal(sboxd_stop(&D), 0);
}

/* A child, as nobody, queues a launch for GPU 0 (--wait-gpu) whose stdout
 * is fd, a file on the stuck FUSE mount; it says whether the launch was
 * answered LAUNCHED, then, told to, drops its connection (and with it the
 * queued job), says so, and holds its copy of fd until the end. */
struct queuer {
	pid_t pid;
	int res, cmd;
};

static void queuer_start(struct queuer *qr, int fd)
{
	int res[2], cmd[2];
	char ok;

	assert_int_equal(pipe2(res, O_CLOEXEC), 0);
	assert_int_equal(pipe2(cmd, O_CLOEXEC), 0);
	qr->pid = fork();
	assert_true(qr->pid >= 0);
	if (qr->pid == 0) {
		struct sbox_mb b = { 0 };
		int c;
		char go;

		child_lets_fuse_go();
		close(res[0]);
		close(cmd[1]);
		become(NOBODY);
		c = raw_connect(D.sock);
		launch_gpu(&b, "0", SBOX_LAUNCH_WAIT_GPU, "1");
		sbox_mb_u32(&b, SBOX_ATTR_STDOUT, (uint32_t)sbox_mb_fd(&b, fd));
		ok = c >= 0 && ask(c, &b, SBOX_MSG_LAUNCHED, NULL, NULL) ? 'y' : 'n';
		sbox_mb_free(&b);
		(void)!write(res[1], &ok, 1);
		(void)!read(cmd[0], &go, 1);   /* drop the queued launch */
		close(c);
		(void)!write(res[1], &ok, 1);
		(void)!read(cmd[0], &go, 1);   /* the end */
		_exit(0);
	}
	close(res[1]);
	close(cmd[0]);
	qr->res = res[0];
	qr->cmd = cmd[1];
	assert_int_equal(read(qr->res, &ok, 1), 1);
	fprintf(stderr, "nobody's launch for GPU 0, its stdout on the stuck mount: %s\n",
		ok == 'y' ? "queued" : "NOT queued");
	assert_int_equal(ok, 'y');
}

static void queuer_drop(struct queuer *qr)
{
	char ok;

	assert_int_equal(write(qr->cmd, "d", 1), 1);
	assert_int_equal(read(qr->res, &ok, 1), 1);
}

static void queuer_end(struct queuer *qr)
{
	int st;

	close(qr->cmd);
	close(qr->res);
	assert_int_equal(waitpid(qr->pid, &st, 0), qr->pid);
}

/* The keeper's pid, from sboxd's state directory; -1. */
static pid_t keeper_pid(void)
{
	char path[512];
	FILE *f;
	int pid = -1;

	snprintf(path, sizeof(path), "%s/keeper.pid", D.state);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &pid) != 1)
		pid = -1;
	fclose(f);
	return pid;
}

/* How many of process pid's fds are files under dir (their links, read
 * without asking the file system). */
static int fds_under(pid_t pid, const char *dir)
{
	char path[64], link[PATH_MAX], target[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		ssize_t len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", path, e->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		n += strncmp(target, dir, strlen(dir)) == 0;
	}
	closedir(d);
	return n;
}

/* A launch queued for a GPU holds its client's fds until it starts.
 * nobody queues one whose stdout is a file on a FUSE mount that never
 * answers FLUSH.  sboxd used to keep that fd in its own table while the
 * launch waited, and every init cloned meanwhile (root's launch in full, a
 * pool's refill) inherited it and hung closing it (C0): root's launch
 * never ended.  The keeper held a copy too, and closed it in its one
 * thread when the queued job went: stuck there, it never answered the next
 * sboxd, which could not start.  Now the queued launch's fds wait parked,
 * in flight in a socket of their own, and the keeper holds that socket:
 * neither holds (nor closes) the file itself. */
static void test_stuck_fd_queued_for_a_gpu(void **state)
{
	static struct stuck_fuse f;
	struct sbox_mb b = { 0 };
	struct queuer qr;
	uint64_t held;
	int fd, root, p[2], code, in_sboxd, in_keeper;
	pid_t kpid;
	long long t0;
	char *log, want[96];
	bool eof;

	(void)state;
	start_with_gpus("");
	memset(&f, 0, sizeof(f));
	stuck_fuse_open_n(&f, &fd, 1);
	fuse_active = &f;
	/* Root holds GPU 0, detached: its job must outlive a restart. */
	root = raw_connect(D.sock);
	assert_true(root >= 0);
	launch_gpu(&b, "0", SBOX_LAUNCH_DETACH, "60");
	assert_true(ask(root, &b, SBOX_MSG_LAUNCHED, NULL, &held));
	sbox_mb_free(&b);
	close(root);
	queuer_start(&qr, fd);
	/* Root's launch in full, with a pipe as its stdout. */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	t0 = now_ms();
	code = launch_out_and_wait(p[1]);
	close(p[1]);
	eof = eof_within(p[0], 3000);
	close(p[0]);
	fprintf(stderr, "root's launch exited %d; its stdout pipe %s after %lld ms (%d FUSE requests waiting)\n",
		code, eof ? "read EOF" : "NOT at EOF", now_ms() - t0, atomic_load(&f.ignored));
	assert_int_equal(code, 3);
	assert_true(eof);
	/* While it waits, the stuck file is in no table of sboxd's nor of
	 * its keeper's: nothing they clone or close can reach it. */
	kpid = keeper_pid();
	assert_true(kpid > 0);
	in_sboxd = fds_under(D.pid, f.mnt);
	in_keeper = fds_under(kpid, f.mnt);
	fprintf(stderr, "files on the stuck mount in sboxd's table: %d, in the keeper's: %d\n",
		in_sboxd, in_keeper);
	assert_int_equal(in_sboxd, 0);
	assert_int_equal(in_keeper, 0);
	/* The FUSE server now answers everyone but the keeper: sboxd's own
	 * stuck closes (the copies it parked) return, so that it can die at
	 * SIGKILL (a thread whose FUSE request was sent waits through a
	 * fatal signal).  nobody's client goes, and its queued job with it;
	 * the keeper drops the job's record.  Then sboxd dies, and the next
	 * takes root's job back from the keeper. */
	stuck_only(&f, kpid);
	queuer_drop(&qr);
	usleep(500 * 1000);
	sboxd_kill9(&D);
	t0 = now_ms();
	sboxd_restart(&D);
	log = sboxd_log(&D);
	snprintf(want, sizeof(want), "recovered job %llu (pid", (unsigned long long)held);
	fprintf(stderr, "the next sboxd answered after %lld ms; root's job %llu %s; %d FUSE requests waiting\n",
		now_ms() - t0, (unsigned long long)held,
		strstr(log, want) ? "recovered" : "NOT recovered", atomic_load(&f.ignored));
	assert_non_null(strstr(log, want));
	assert_int_equal(atomic_load(&f.ignored), 0);
	free(log);
	stuck_end(&f, &fd, 1);
	queuer_end(&qr);
	assert_int_equal(sboxd_stop(&D), 0);
}

static int nobody_passes_root(void)
{
	struct sbox_mb b = { 0 };
	int fd = raw_connect(D.sock), root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int tmp = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC), ok;

	launch_with(&b, -1, NULL);
	sbox_mb_pair(&b, SBOX_ATTR_PASS_FD, 5, (uint32_t)sbox_mb_fd(&b, root));
	ok = ask(fd, &b, 0, "PASS_FD 5: / is outside the site bound AllowBindPaths=/tmp", NULL);
	launch_with(&b, -1, NULL);
	sbox_mb_pair(&b, SBOX_ATTR_PASS_FD, 5, (uint32_t)sbox_mb_fd(&b, tmp));
	ok = ok && ask(fd, &b, SBOX_MSG_LAUNCHED, NULL, NULL);
	sbox_mb_free(&b);
	close(fd);
	return ok ? 0 : 1;
}

/* Break 8 of issue 12: AllowBindPaths= covers passed directory fds. */
/* A LAUNCH whose policy text names a list's words by the ten thousand:
 * each looked up in the list so far, in sboxd's loop.  "GPUs=0,1,2,..."
 * (over 20000 of them) cost a second or two a request, "Environment=V0=1
 * V1=1 ..." half that, and a refused request costs its user nothing. */
static void heavy_launch(struct sbox_mb *b, const char *directive, const char *prefix,
			 const char *suffix, const char *sep)
{
	size_t cap = 120 * 1024, len = 0, line = 0;
	char *policy = malloc(cap);
	unsigned i = 0;

	assert_non_null(policy);
	len = (size_t)snprintf(policy, cap, "[Sandbox]\n");
	while (len + 64 < cap) {
		if (line == 0)
			len += (size_t)snprintf(policy + len, cap - len, "%s=", directive);
		line += (size_t)snprintf(policy + len + line, cap - len - line, "%s%s%u%s",
					 line ? sep : "", prefix, i, suffix);
		i++;
		if (line > 60000 || len + line + 64 >= cap) {
			len += line;
			len += (size_t)snprintf(policy + len, cap - len, "\n");
			line = 0;
		}
	}
	sbox_mb_begin(b, SBOX_MSG_LAUNCH, 3);
	sbox_mb_str(b, SBOX_ATTR_ARGV, "/bin/true");
	sbox_mb_str(b, SBOX_ATTR_POLICY, policy);
	free(policy);
}

/* Nobody sends eight of each on two connections (told to the test once
 * the first of each is out), then reads the refusals. */
static int nobody_heavy_policies(void)
{
	struct sbox_mb gpus = { 0 }, env = { 0 };
	int a = raw_connect(D.sock), b = raw_connect(D.sock), ok = 1;
	char c = 'x';

	if (a < 0 || b < 0)
		return 1;
	heavy_launch(&gpus, "GPUs", "", "", ",");
	heavy_launch(&env, "Environment", "V", "=1", " ");
	for (int i = 0; i < 8; i++) {
		if (raw_send_mb(a, &gpus) < 0 || raw_send_mb(b, &env) < 0)
			return 2;
		if (i == 0 && write(3, &c, 1) != 1)
			return 3;
	}
	for (int i = 0; i < 8 && ok; i++) {
		struct sbox_msg m;

		ok = raw_recv(a, &m, 120000) == 1 && m.hdr.type == SBOX_MSG_ERROR &&
		     strstr(m.message, "more than 256 GPUs named");
		sbox_msg_free(&m);
		ok = ok && raw_recv(b, &m, 120000) == 1 && m.hdr.type == SBOX_MSG_ERROR &&
		     strstr(m.message, "more than 1024 words in Environment=");
		sbox_msg_free(&m);
	}
	sbox_mb_free(&gpus);
	sbox_mb_free(&env);
	return ok ? 0 : 4;
}

/* Found by review: two connections of such requests kept root's PING
 * unanswered for tens of seconds.  Now the words are bounded
 * (SBOX_GPU_WORDS_MAX, SBOX_ENV_WORDS_MAX) and the text refused early. */
static void test_heavy_policy_text(void **state)
{
	struct sbox_mb b = { 0 };
	struct sbox_msg m;
	long long t0, took;
	int st, fd;
	pid_t pid;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "NetnsPool=0\n");
	pid = nobody_until_ready(nobody_heavy_policies);
	t0 = now_ms();
	fd = raw_connect(D.sock);
	assert_true(fd >= 0);
	sbox_mb_begin(&b, SBOX_MSG_PING, 1);
	assert_int_equal(raw_send_mb(fd, &b), 0);
	sbox_mb_free(&b);
	assert_int_equal(raw_recv(fd, &m, 60000), 1);
	took = now_ms() - t0;
	assert_int_equal(m.hdr.type, SBOX_MSG_PONG);
	sbox_msg_free(&m);
	close(fd);
	fprintf(stderr, "root's PING answered in %lld ms\n", took);
	assert_true(took < 1000);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(sboxd_stop(&D), 0);
}

#define WAITS_MAX 4096          /* sboxd/daemon.h SBOXD_MAX_WAITS */

/* Nobody's WAITs: 4096 on one connection for its own detached job, then
 * one more on another connection, which is refused. */
static int nobody_waits(void)
{
	struct sbox_mb b = { 0 };
	struct sbox_msg m;
	int a = raw_connect(D.sock), c = raw_connect(D.sock), ok;
	uint64_t id = 0;

	if (a < 0 || c < 0)
		return 1;
	sbox_mb_begin(&b, SBOX_MSG_LAUNCH, 1);
	sbox_mb_str(&b, SBOX_ATTR_ARGV, D.probe);
	sbox_mb_str(&b, SBOX_ATTR_ARGV, "sleep");
	sbox_mb_str(&b, SBOX_ATTR_ARGV, "30");
	sbox_mb_u32(&b, SBOX_ATTR_FLAGS, SBOX_LAUNCH_DETACH);
	if (!ask(a, &b, SBOX_MSG_LAUNCHED, NULL, &id))
		return 2;
	sbox_mb_begin(&b, SBOX_MSG_WAIT, 2);
	sbox_mb_u64(&b, SBOX_ATTR_JOB_ID, id);
	for (int i = 0; i < WAITS_MAX; i++)
		if (raw_send_mb(a, &b) < 0)
			return 3;
	/* Answered in order: the PONG comes once every WAIT was read. */
	sbox_mb_begin(&b, SBOX_MSG_PING, 3);
	if (!ask(a, &b, SBOX_MSG_PONG, NULL, NULL))
		return 4;
	sbox_mb_begin(&b, SBOX_MSG_WAIT, 4);
	sbox_mb_u64(&b, SBOX_ATTR_JOB_ID, id);
	ok = ask(c, &b, 0, "WAITs pending on its connections (at most 4096)", NULL);
	sbox_mb_begin(&b, SBOX_MSG_SIGNAL, 5);
	sbox_mb_u64(&b, SBOX_ATTR_JOB_ID, id);
	sbox_mb_u32(&b, SBOX_ATTR_SIGNAL, 9);
	ok = ok && ask(c, &b, SBOX_MSG_OK, NULL, NULL);
	sbox_mb_free(&b);
	/* Its end told to each of the 4096. */
	for (int i = 0; i < WAITS_MAX && ok; i++) {
		ok = raw_recv(a, &m, 10000) == 1 && m.hdr.type == SBOX_MSG_EXIT && m.job_id == id;
		sbox_msg_free(&m);
	}
	return ok ? 0 : 5;
}

/* A user's pending WAITs are bounded in all, not only per connection:
 * 64 connections of 4096 each, told at one job's end (245760 EXITs in one
 * turn of the loop), held another client's PING up for over half a second
 * (found by review).  Before, the WAIT on the second connection was taken. */
static void test_waits_bounded_per_user(void **state)
{
	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "NetnsPool=0\n");
	assert_int_equal(as_nobody(nobody_waits), 0);
	assert_true(raw_ping(D.sock));
	assert_int_equal(sboxd_stop(&D), 0);
}

/* A LAUNCH that costs sboxd's loop some time and is then refused, which
 * costs its user nothing: 5700 lines of AllowedMemoryNodes=, each read,
 * then PrivateNetwork=host past the bounds. */
static void slow_refused_launch(struct sbox_mb *b)
{
	size_t cap = 120 * 1024, len;
	char *policy = malloc(cap);

	assert_non_null(policy);
	len = (size_t)snprintf(policy, cap, "[Sandbox]\n");
	while (len + 64 < cap)
		len += (size_t)snprintf(policy + len, cap - len, "AllowedMemoryNodes=0\n");
	snprintf(policy + len, cap - len, "PrivateNetwork=host\n");
	sbox_mb_begin(b, SBOX_MSG_LAUNCH, 5);
	sbox_mb_str(b, SBOX_ATTR_ARGV, "/bin/true");
	sbox_mb_str(b, SBOX_ATTR_POLICY, policy);
	free(policy);
}

/* One of nobody's 32 connections: eight slow requests, the first told
 * to the test (fd 3), then their refusals read. */
static int nobody_slow_connection(void)
{
	struct sbox_mb b = { 0 };
	int fd = raw_connect(D.sock), ok = 1;
	char c = 'x';

	if (fd < 0)
		return 1;
	slow_refused_launch(&b);
	for (int i = 0; i < 8; i++) {
		if (raw_send_mb(fd, &b) < 0)
			return 2;
		if (i == 0 && write(3, &c, 1) != 1)
			return 3;
	}
	sbox_mb_free(&b);
	for (int i = 0; i < 8 && ok; i++) {
		struct sbox_msg m;

		ok = raw_recv(fd, &m, 120000) == 1 && m.hdr.type == SBOX_MSG_ERROR &&
		     strstr(m.message, "PrivateNetwork=host");
		sbox_msg_free(&m);
	}
	return ok ? 0 : 4;
}

/* How long a request takes on a new connection of root's. */
static long long ask_timed(struct sbox_mb *b)
{
	long long t0 = now_ms();
	struct sbox_msg m;
	int fd = raw_connect(D.sock);

	assert_true(fd >= 0);
	assert_int_equal(raw_send_mb(fd, b), 0);
	assert_int_equal(raw_recv(fd, &m, 120000), 1);
	sbox_msg_free(&m);
	close(fd);
	return now_ms() - t0;
}

/* Found by review: the loop read up to eight packets per connection per
 * batch of events, so one user's 32 connections of eight slow requests
 * each were 256 requests read before another user's PING (18 s behind
 * requests of 25 ms).  A user's connections share one turn now: the PING
 * waits for two turns of theirs at most (the accept, then the PING).
 * And a connection whose packets wait for its user's next turn is not
 * idle: with IdleTimeoutSec=1s, shorter than the 256 requests take, none
 * of the 32 may be closed as idle (in the test-v2 VM, where a request took
 * 1.5 s, the default 60 s closed some: their sends failed). */
static void test_one_turn_per_user(void **state)
{
	struct sbox_mb b = { 0 };
	long long one, ping;
	pid_t pids[32];
	int p[2], st;
	char c;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "NetnsPool=0\nMaxConnectionsPerUser=64\nIdleTimeoutSec=1s\n");
	slow_refused_launch(&b);
	one = ask_timed(&b);
	sbox_mb_free(&b);
	assert_int_equal(pipe(p), 0);
	for (int i = 0; i < 32; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			dup2(p[1], 3);
			become(NOBODY);
			_exit(nobody_slow_connection());
		}
	}
	close(p[1]);
	for (int i = 0; i < 32; i++)
		assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	sbox_mb_begin(&b, SBOX_MSG_PING, 1);
	ping = ask_timed(&b);
	sbox_mb_free(&b);
	fprintf(stderr, "one slow request: %lld ms; root's PING behind 32 connections of them: %lld ms\n",
		one, ping);
	for (int i = 0; i < 32; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	assert_true(ping < 24 * one + 500);
	assert_int_equal(sboxd_stop(&D), 0);
}

/* sboxd's resident memory, in KiB. */
static long sboxd_rss_kib(void)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)D.pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Nobody's 64 connections, each sending PINGs and reading no PONG, until
 * sboxd drops it; then told (fd 3), and it waits to be killed. */
static int nobody_deaf_connections(void)
{
	struct sbox_mb b = { 0 };
	int fds[64], small = 1024;
	bool dropped = false;
	char c = 'x';

	sbox_mb_begin(&b, SBOX_MSG_PING, 1);
	if (sbox_mb_finish(&b, NULL) < 0)
		return 1;
	for (int i = 0; i < 64; i++) {
		fds[i] = raw_connect(D.sock);
		if (fds[i] < 0)
			return 2;
		setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	}
	/* PINGs on every connection, reading nothing, until sboxd drops
	 * one of them (or two minutes): a fixed number of rounds was done
	 * before the test-v2 VM's slow sboxd had read enough of them to
	 * reach any bound.  The old per-connection bound drops a connection
	 * only at 1 MiB of its own, the per-user one long before. */
	for (long long end = now_ms() + 120000; !dropped && now_ms() < end;) {
		bool sent = false;

		for (int i = 0; i < 64 && !dropped; i++) {
			if (send(fds[i], b.buf, b.len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
				sent = true;
			else if (errno == EPIPE || errno == ECONNRESET)
				dropped = true;
		}
		if (!sent)
			usleep(1000);   /* sboxd's turn to read */
	}
	sbox_mb_free(&b);
	if (write(3, &c, 1) != 1)
		return 3;
	pause();
	return 0;
}

/* Found by review: unread replies were bounded per connection only
 * (1 MiB), so one user's 64 connections that never read grew sboxd by
 * 105 MiB (1 MiB of 60-byte PONGs costs 1.65 MiB with their records).
 * Now a user's unread replies are bounded on all its connections too. */
#define DEAF_DROPPED \
	"its clients do not read their replies (8 MiB waiting on all its connections); one dropped"

static void test_unread_replies_bounded_per_user(void **state)
{
	long before, after;
	char *log;
	int st;
	pid_t pid;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "NetnsPool=0\nMaxConnectionsPerUser=64\n");
	before = sboxd_rss_kib();
	pid = nobody_until_ready(nobody_deaf_connections);
	/* Until the drop is logged: sboxd reads the PINGs at its own pace
	 * (seconds in the test-v2 VM), not within a fixed wait. */
	for (int waited = 0;; waited += 100) {
		log = sboxd_log(&D);
		if (strstr(log, DEAF_DROPPED) || waited >= 30000)
			break;
		free(log);
		usleep(100 * 1000);
	}
	usleep(500 * 1000);             /* the last of it read */
	after = sboxd_rss_kib();
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	fprintf(stderr, "sboxd: %ld KiB before, %ld KiB after 64 deaf connections\n", before, after);
	assert_non_null(strstr(log, DEAF_DROPPED));
	free(log);
	/* ASan's allocator keeps what is freed (its quarantine) and more
	 * for each allocation: its sboxd's growth says little. */
#ifndef __SANITIZE_ADDRESS__
	assert_true(before > 0 && after - before < 48 * 1024);
#endif
	assert_true(raw_ping(D.sock));
	assert_int_equal(sboxd_stop(&D), 0);
}

static void test_passed_dirs_bounded(void **state)
{
	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "NetnsPool=0\n[Bounds]\nAllowBindPaths=/tmp\n");
	assert_int_equal(as_nobody(nobody_passes_root), 0);
	assert_int_equal(sboxd_stop(&D), 0);
}

static char disguise_dir[64];

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : write(fd, text, strlen(text));

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* In a user and mount namespace of its own, nobody binds /etc over a
 * directory under the allowed /tmp and passes that: /proc names the fd by
 * the allowed path, but its mount is nobody's, not sboxd's. */
static int nobody_passes_disguised_etc(void)
{
	struct sbox_mb b = { 0 };
	int fd, dir, ok;

	/* Dropping from root left this process non-dumpable, its /proc
	 * files root's: a user starting fresh has them as its own. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0 || unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 ||
	    write_file("/proc/self/setgroups", "deny") < 0 ||
	    write_file("/proc/self/uid_map", "0 65534 1") < 0 ||
	    write_file("/proc/self/gid_map", "0 65534 1") < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("/etc", disguise_dir, NULL, MS_BIND, NULL) < 0) {
		fprintf(stderr, "disguise: %s\n", strerror(errno));
		return 2;
	}
	dir = open(disguise_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = raw_connect(D.sock);
	if (dir < 0 || fd < 0)
		return 3;
	launch_with(&b, -1, NULL);
	sbox_mb_pair(&b, SBOX_ATTR_PASS_FD, 5, (uint32_t)sbox_mb_fd(&b, dir));
	ok = ask(fd, &b, 0, "is on no mount of sboxd's mount namespace", NULL);
	sbox_mb_free(&b);
	close(fd);
	return ok ? 0 : 1;
}

/* Found by review: the check of a passed directory read the client's own
 * name for it; a bind in the client's mount namespace disguised /etc as a
 * directory under AllowBindPaths=. */
static void test_passed_dir_disguised_by_a_bind(void **state)
{
	(void)state;
	snprintf(disguise_dir, sizeof(disguise_dir), "/tmp/sbox-disguise.%d", (int)getpid());
	assert_int_equal(mkdir(disguise_dir, 0777), 0);
	assert_int_equal(chmod(disguise_dir, 0777), 0);
	sboxd_prepare(&D);
	sboxd_start(&D, "NetnsPool=0\n[Bounds]\nAllowBindPaths=/tmp\n");
	assert_int_equal(as_nobody(nobody_passes_disguised_etc), 0);
	assert_int_equal(sboxd_stop(&D), 0);
	rmdir(disguise_dir);
}

/* The read system calls sboxd (all its threads) has made so far. */
static long long sboxd_reads(void)
{
	char path[64], line[128];
	long long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/io", (int)D.pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "syscr: %lld", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

/* nobody passes n - 1 directories under the allowed /tmp and then /,
 * which is refused: every one of them was checked. */
static int dirs_n;

static int nobody_passes_dirs(void)
{
	struct sbox_mb b = { 0 };
	int fd = raw_connect(D.sock), ok;

	launch_with(&b, -1, NULL);
	for (int i = 0; i < dirs_n; i++) {
		int dir = open(i == dirs_n - 1 ? "/" : "/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		sbox_mb_pair(&b, SBOX_ATTR_PASS_FD, (uint32_t)(3 + i), (uint32_t)sbox_mb_fd(&b, dir));
	}
	ok = ask(fd, &b, 0, "/ is outside the site bound AllowBindPaths=/tmp", NULL);
	sbox_mb_free(&b);
	close(fd);
	return ok ? 0 : 1;
}

static long long reads_for_dirs(int n)
{
	long long before = sboxd_reads();

	dirs_n = n;
	assert_int_equal(as_nobody(nobody_passes_dirs), 0);
	return sboxd_reads() - before;
}

/* Found by review: each passed directory (and each bind) was checked
 * against sboxd's mount table by reading /proc/self/mountinfo anew, in the
 * loop: on a host of 3000 mounts a request of 64 binds held the loop a
 * quarter of a second, and a user sending them kept root's --jobs at 0.3
 * to 0.85 s instead of 0.03 to 0.08.  The table is read once a request. */
static void test_mount_table_read_once_a_request(void **state)
{
	long long one, many;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "NetnsPool=0\n[Pool]\nSize=0\n[Bounds]\nAllowBindPaths=/tmp\n");
	assert_true(sboxd_reads() >= 0);
	one = reads_for_dirs(1);
	many = reads_for_dirs(64);
	fprintf(stderr, "sboxd's reads for a request: %lld with 1 directory, %lld with 64\n", one,
		many);
	assert_true(many - one < 16);
	assert_int_equal(sboxd_stop(&D), 0);
}

/* A host tmpfs nobody may write to (Debian's /run, every host's /dev),
 * mounted for the test under its directory. */
static char host_tmpfs[PATH_MAX];

static int teardown_host_tmpfs(void **state)
{
	if (host_tmpfs[0])
		umount2(host_tmpfs, MNT_DETACH);
	host_tmpfs[0] = '\0';
	return teardown(state);
}

static bool host_tmpfs_has(const char *name)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", host_tmpfs, name);
	return access(path, F_OK) == 0;
}

/* Found by review: a destination missing in the root was made wherever
 * its parent was a writable tmpfs, as root.  nobody bound a root-owned
 * host tmpfs read-write (its own O_PATH fd: any directory it can reach)
 * and put a second bind's, or a TemporaryFileSystem='s, destination
 * inside it: sboxd's init made /run/nologin (no more logins but root's)
 * or a directory in the host's /dev.  Mount points are made only in a
 * tmpfs the sandbox mounted itself. */
static void test_mount_point_in_a_bound_host_tmpfs(void **state)
{
	char bind[PATH_MAX + 16];
	struct cmd r;

	(void)state;
	sboxd_prepare(&D);
	snprintf(host_tmpfs, sizeof(host_tmpfs), "%s/hostrun", D.dir);
	assert_int_equal(mkdir(host_tmpfs, 0755), 0);
	assert_int_equal(mount("tmpfs", host_tmpfs, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"), 0);
	sboxd_start(&D, "NetnsPool=0\n");
	snprintf(bind, sizeof(bind), "%s:/tmp/r", host_tmpfs);

	cmd_runl(&r, NOBODY, 30, D.sboxrun, "--socket", D.sock, "--bind", bind, "--ro-bind",
		 "/etc/hostname:/tmp/r/nologin", "--", "/bin/true", NULL);
	assert_cmd(&r, 125);
	assert_cmd_err(&r, "/tmp/r/nologin does not exist and cannot be made there");
	cmd_free(&r);
	assert_false(host_tmpfs_has("nologin"));

	cmd_runl(&r, NOBODY, 30, D.sboxrun, "--socket", D.sock, "--bind", bind, "--set",
		 "TemporaryFileSystem=/tmp/r/made/sub", "--", "/bin/true", NULL);
	assert_cmd(&r, 125);
	assert_cmd_err(&r, "/tmp/r/made does not exist and cannot be made there");
	cmd_free(&r);
	assert_false(host_tmpfs_has("made"));

	/* The sandbox's own tmpfs still take mount points, beside the bind. */
	cmd_runl(&r, NOBODY, 30, D.sboxrun, "--socket", D.sock, "--bind", bind, "--ro-bind",
		 "/etc/hostname:/tmp/own/hostname", "--set", "TemporaryFileSystem=/tmp/t /tmp/t/a/b",
		 "--", "/bin/sh", "-c", "cat /tmp/own/hostname && test -d /tmp/t/a/b", NULL);
	assert_cmd(&r, 0);
	cmd_free(&r);
	assert_int_equal(sboxd_stop(&D), 0);
}

/* Break 5 of issue 12 (sboxd's own fds): at EMFILE a client used to wait
 * in the backlog (sboxd logged "accept: Too many open files"); now it is
 * taken with the spare fd and told why. */
static void test_out_of_fds(void **state)
{
	enum { N = 90 };
	struct rlimit low = { 48, 48 };
	struct sbox_mb b = { 0 };
	int fds[N], pong = 0, refused = 0, silent = 0;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "NetnsPool=0\n");
	assert_int_equal(prlimit(D.pid, RLIMIT_NOFILE, &low, NULL), 0);
	for (int i = 0; i < N; i++) {
		fds[i] = raw_connect(D.sock);
		assert_true(fds[i] >= 0);
		sbox_mb_begin(&b, SBOX_MSG_PING, (uint32_t)i);
		(void)raw_send_mb(fds[i], &b);
	}
	for (int i = 0; i < N; i++) {
		struct sbox_msg m;

		if (raw_recv(fds[i], &m, 3000) != 1) {
			silent++;
			continue;
		}
		if (m.hdr.type == SBOX_MSG_PONG)
			pong++;
		else if (m.message && strstr(m.message, "sboxd is out of file descriptors"))
			refused++;
		else
			fprintf(stderr, "connection %d: type %u: %s\n", i, m.hdr.type,
				m.message ? m.message : "");
		sbox_msg_free(&m);
	}
	fprintf(stderr, "out of fds: %d answered, %d refused with the reason, %d silent\n", pong,
		refused, silent);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	sbox_mb_free(&b);
	assert_int_equal(silent, 0);
	assert_true(refused > 0);
	assert_true(raw_ping(D.sock));
	assert_int_equal(sboxd_stop(&D), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_broken_messages, teardown),
		cmocka_unit_test_teardown(test_silent_and_deaf_clients, teardown),
		cmocka_unit_test_teardown(test_thousand_connections, teardown),
		cmocka_unit_test_teardown(test_connection_cap, teardown),
		cmocka_unit_test_teardown(test_fd_abuse, teardown),
		cmocka_unit_test_teardown(test_clients_killed_at_every_step, teardown),
		cmocka_unit_test_teardown(test_half_closed_waiters, teardown),
		cmocka_unit_test_teardown(test_stuck_fuse_fd, teardown_fuse),
		cmocka_unit_test_teardown(test_stuck_fuse_fd_relaunch, teardown_fuse),
		cmocka_unit_test_teardown(test_stuck_closes_held_to_their_user, teardown_fuse),
		cmocka_unit_test_teardown(test_stuck_closes_count_against_the_user, teardown_fuse),
		cmocka_unit_test_teardown(test_stuck_closes_hold_up_the_user, teardown_fuse),
		cmocka_unit_test_teardown(test_per_user_connections, teardown),
		cmocka_unit_test_teardown(test_per_user_jobs, teardown),
		cmocka_unit_test_teardown(test_per_user_jobs_default, teardown),
		cmocka_unit_test_teardown(test_stuck_fd_queued_for_a_gpu, teardown_fuse),
		cmocka_unit_test_teardown(test_passed_dirs_bounded, teardown),
		cmocka_unit_test_teardown(test_passed_dir_disguised_by_a_bind, teardown),
		cmocka_unit_test_teardown(test_out_of_fds, teardown),
		cmocka_unit_test_teardown(test_mount_table_read_once_a_request, teardown),
		cmocka_unit_test_teardown(test_mount_point_in_a_bound_host_tmpfs,
					  teardown_host_tmpfs),
		cmocka_unit_test_teardown(test_heavy_policy_text, teardown),
		cmocka_unit_test_teardown(test_waits_bounded_per_user, teardown),
		cmocka_unit_test_teardown(test_one_turn_per_user, teardown),
		cmocka_unit_test_teardown(test_unread_replies_bounded_per_user, teardown),
	};

	if (getenv("SBOX_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SBOX_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
