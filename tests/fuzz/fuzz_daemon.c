/* SPDX-License-Identifier: MIT */
/*
 * Stateful libFuzzer target for sboxd's event loop (the sources of sboxd/),
 * in process: the input is a program of operations — clients connect,
 * send requests (valid, malformed, with fds), shut one side or both,
 * disconnect, read or don't read their replies; sandboxes start, fail and
 * end; sboxd is told to stop — interleaved with turns of the loop
 * (sboxd_turn).  ASan and UBSan watch every free and every access; the
 * fake launch layer (fake_sandbox.c) traps on a closed fd handed to a
 * launch and on a reap of a live sandbox; at the end of each input every
 * client and sandbox is gone, sboxd is torn down, and the process must hold
 * exactly the fds it held before (no fd of a client kept).
 *
 * Real sandboxes are not launched: sbox_spawn and the sbox_child_* calls
 * are the fake's, linked into this binary only (docs/security.md, "sboxd
 * against its clients").  Clients have uids 0, 1000 and 1001 (chosen by
 * the connection's fd number: the kernel says who we are, the fuzzer says
 * who we play).
 *
 *   make fuzz [FUZZ_DAEMON_SECONDS=45]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sboxd/daemon.h"
#include "tests/fuzz/fake_sandbox.h"
#include "wire/fdpass.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CLIENTS 4

struct input {
	const uint8_t *p;
	size_t n;
};

static struct sboxd D;
static int clients[MAX_CLIENTS];
static struct sockaddr_un addr;
static socklen_t addr_len;
static int null_fd = -1, dir_fd = -1;

static uint8_t take(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static int count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	if (!dir)
		return -1;
	while (readdir(dir))
		n++;
	closedir(dir);
	return n;
}

static uid_t uid_for(int fd)
{
	static const uid_t uids[] = { 0, 1000, 1001 };

	return uids[fd % 3];
}

/* Who each connection plays: a function of its fd, stable for its life. */
static void assign_uids(void)
{
	for (struct conn *c = D.conns; c; c = c->next)
		if (!c->dead) {
			c->who.uid = uid_for(c->fd);
			c->who.gid = c->who.uid;
			c->who.n_groups = 0;
			c->who.user_name = NULL;
		}
}

static void turn(void)
{
	sboxd_turn(&D, 0);
	assign_uids();
}

static void sboxd_up(void)
{
	static unsigned serial;
	char site[512];
	struct sbox_err err = { 0 };

	memset(&D, 0, sizeof(D));
	D.epfd = D.listen_fd = D.signal_fd = D.lock_fd = D.keeper_fd = D.spare_fd = -1;
	D.next_job_id = 1;
	D.config_path = "fuzz.conf";
	sbox_site_init(&D.site);
	snprintf(site, sizeof(site),
		 "[Daemon]\nAllowUsers=%u 1000 1001\nMaxConnections=10\nMaxJobs=8\n"
		 "MaxJobsPerUser=4\nNetnsPool=0\nMaxConnectionsPerUser=3\n"
		 "MaxQueuedJobsPerUser=2\nMaxFdsPerUser=8\nMaxEndedJobsPerUser=2\n"
		 "[Bounds]\nAllowGPUs=0 1\nAllowBindPaths=/tmp\n",
		 (unsigned)getuid());
	if (sbox_site_load_string(&D.site, site, "fuzz.conf", &err) < 0) {
		fprintf(stderr, "fuzz.conf: %s\n", err.msg);
		abort();
	}
	D.site.daemon.bounds.file = D.config_path;
	D.rxbuf = malloc(SBOX_PROTO_MAX_MSG + 1);
	D.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!D.rxbuf || D.epfd < 0 || leases_init(&D, &err) < 0)
		abort();
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	/* Abstract: nothing to clean up on disk. */
	snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1, "sboxd-fuzz-%d-%u", (int)getpid(),
		 serial++);
	addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			       strlen(addr.sun_path + 1));
	D.listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (D.listen_fd < 0 || bind(D.listen_fd, (struct sockaddr *)&addr, addr_len) < 0 ||
	    listen(D.listen_fd, 64) < 0)
		abort();
	D.w_listen.kind = W_LISTEN;
	if (sboxd_watch(&D, D.listen_fd, &D.w_listen, EPOLLIN) < 0)
		abort();
	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i] = -1;
}

static void sboxd_down(void)
{
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i] >= 0) {
			close(clients[i]);
			clients[i] = -1;
		}
	/* Let sboxd see every client go and every sandbox end. */
	for (int i = 0; i < 8; i++) {
		for (size_t k = fake_children(); k-- > 0;)
			fake_exit(k, 0);
		turn();
	}
	sboxd_drop_all(&D);
	fake_free_all();
	/* Clients' fds are closed by the closer threads: let them finish. */
	if (!sboxd_closer_settle(5000))
		__builtin_trap();
	leases_free(&D);
	close(D.listen_fd);
	close(D.epfd);
	free(D.rxbuf);
	sbox_site_free(&D.site);
}

static int *client(struct input *in)
{
	return &clients[take(in) % MAX_CLIENTS];
}

static void do_connect(struct input *in)
{
	int *fd = client(in);

	if (*fd >= 0)
		return;
	*fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd >= 0 && connect(*fd, (struct sockaddr *)&addr, addr_len) < 0) {
		close(*fd);
		*fd = -1;
	}
}

static void send_mb(int fd, struct sbox_mb *b)
{
	if (fd < 0 || sbox_mb_finish(b, NULL) < 0)
		return;
	(void)sbox_fdpass_send(fd, b->buf, b->len, b->fds, b->nfds, MSG_DONTWAIT);
}

static const char *const policies[] = {
	NULL,
	"[Sandbox]\nGPUs=0\n",
	"[Sandbox]\nGPUs=1\n",
	"[Sandbox]\nMemoryMx=1G\n",
	"[Sandbox]\nBindReadOnlyPaths=/tmp:/data\n",
	"[Sandbox]\nRuntimeMaxSec=1ms\n",
	"[Sandbox]\nPrivateNetwork=host\n",
	"[Sandbox]\nUser=0\n",
};

static void do_launch(struct input *in, int fd)
{
	struct sbox_mb b = { 0 };
	uint8_t how = take(in), pol = take(in);
	const char *policy = policies[pol % (sizeof(policies) / sizeof(*policies))];

	sbox_mb_begin(&b, SBOX_MSG_LAUNCH, take(in));
	sbox_mb_str(&b, SBOX_ATTR_ARGV, "/bin/true");
	if (policy)
		sbox_mb_str(&b, SBOX_ATTR_POLICY, policy);
	if (policy && strstr(policy, "Bind") && (how & 0x40))
		sbox_mb_pair(&b, SBOX_ATTR_BIND_FD, 0, (uint32_t)sbox_mb_fd(&b, dir_fd));
	sbox_mb_u32(&b, SBOX_ATTR_FLAGS, how & SBOX_LAUNCH_ALL_FLAGS);
	if (how & 0x4)
		sbox_mb_u32(&b, SBOX_ATTR_GPU_COUNT, 1 + (pol >> 6) % 2);
	if (how & 0x8)
		sbox_mb_u32(&b, SBOX_ATTR_STDOUT, (uint32_t)sbox_mb_fd(&b, null_fd));
	if (how & 0x10)
		sbox_mb_u32(&b, SBOX_ATTR_STDERR, (uint32_t)sbox_mb_fd(&b, dir_fd));
	if (how & 0x20)
		sbox_mb_pair(&b, SBOX_ATTR_PASS_FD, 5, (uint32_t)sbox_mb_fd(&b, null_fd));
	if (how & 0x80)
		sbox_mb_fd(&b, null_fd);    /* an fd nobody names */
	fake_spawn_fails = (pol & 0x30) == 0x30;
	send_mb(fd, &b);
	sbox_mb_free(&b);
}

static void do_job_request(struct input *in, int fd, uint16_t type)
{
	struct sbox_mb b = { 0 };
	static const uint32_t sigs[] = { 9, 15, 2, 10, 0, 99 };

	uint8_t pick;
	uint64_t id;

	sbox_mb_begin(&b, type, take(in));
	/* Mostly one of the last jobs (a client asks about its own), else
	 * any id, unknown ones too. */
	pick = take(in);
	if (pick < 200)
		id = D.next_job_id > 1 + pick % 3u ? D.next_job_id - 1 - pick % 3u : 1;
	else
		id = pick % 16u;
	sbox_mb_u64(&b, SBOX_ATTR_JOB_ID, id);
	if (type == SBOX_MSG_SIGNAL)
		sbox_mb_u32(&b, SBOX_ATTR_SIGNAL, sigs[take(in) % 6]);
	send_mb(fd, &b);
	sbox_mb_free(&b);
}

static void do_simple(struct input *in, int fd, uint16_t type)
{
	struct sbox_mb b = { 0 };

	sbox_mb_begin(&b, type, take(in));
	send_mb(fd, &b);
	sbox_mb_free(&b);
}

/* Bytes as they come, a header's worth or more, with fds or without. */
static void do_garbage(struct input *in, int fd)
{
	struct sbox_mb b = { 0 };
	size_t len = take(in) % 48;
	uint8_t nfds = take(in) % 4;

	sbox_mb_begin(&b, SBOX_MSG_PING, 0);
	b.len = 0;
	for (size_t i = 0; i < len; i++)
		b.buf[b.len++] = take(in);
	for (uint8_t i = 0; i < nfds; i++)
		sbox_mb_fd(&b, null_fd);
	if (fd >= 0)
		(void)sbox_fdpass_send(fd, b.buf, b.len, b.fds, nfds, MSG_DONTWAIT);
	sbox_mb_free(&b);
}

static void do_read(int fd)
{
	uint8_t buf[4096];

	while (fd >= 0 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static void do_stop(void)
{
	if (D.stopping)
		return;
	D.stopping = true;
	D.stop_deadline = sboxd_now() + SBOXD_STOP_GRACE_USEC;
	jobs_stop(&D);
}

static void step(struct input *in)
{
	uint8_t op = take(in) % 17;
	int *fd;

	switch (op) {
	case 0:
		do_connect(in);
		break;
	case 1:
		do_simple(in, *client(in), SBOX_MSG_PING);
		break;
	case 2:
		do_launch(in, *client(in));
		break;
	case 3:
		do_job_request(in, *client(in), SBOX_MSG_WAIT);
		break;
	case 4:
		do_job_request(in, *client(in), SBOX_MSG_SIGNAL);
		break;
	case 5:
		do_simple(in, *client(in), SBOX_MSG_LIST);
		break;
	case 6:
		do_job_request(in, *client(in), SBOX_MSG_STATS);
		break;
	case 7:
		do_simple(in, *client(in), SBOX_MSG_GPUS);
		break;
	case 8:
		do_garbage(in, *client(in));
		break;
	case 9:
	case 10:
		fd = client(in);
		if (*fd >= 0)
			shutdown(*fd, op == 9 ? SHUT_RD : SHUT_WR);
		break;
	case 11:
		fd = client(in);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		break;
	case 12:
		fake_event(take(in), (enum sbox_event_kind)(1 + take(in) % 5), take(in) << 8);
		break;
	case 13:
		fake_exit(take(in), take(in) % 2 ? 9 : 0);
		break;
	case 14:
		do_read(*client(in));
		break;
	case 15:
		turn();
		break;
	default:
		if (take(in) == 0x5a)
			do_stop();
		break;
	}
	turn();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	int before;

	if (null_fd < 0) {
		null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		dir_fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (null_fd < 0 || dir_fd < 0)
			abort();
	}
	before = count_fds();
	sboxd_up();
	for (int i = 0; in.n && i < 256; i++)
		step(&in);
	sboxd_down();
	if (count_fds() != before) {
		fprintf(stderr, "fds: %d before, %d after\n", before, count_fds());
		__builtin_trap();
	}
	return 0;
}
