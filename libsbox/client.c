/* SPDX-License-Identifier: MIT */
/*
 * libsbox (include/sbox/libsbox.h): the client side of docs/protocol.md.
 * Requests are synchronous, one at a time on a connection; the ends of
 * watched jobs (EXIT) may arrive between a request and its reply and are
 * queued for sbox_client_next_exit().  The policy text is parsed here too,
 * with the same directive table as sboxd, only to find its bind sources:
 * they are opened as the caller (O_PATH) and travel as fds.
 */
#include "include/sbox/libsbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "wire/fdpass.h"
#include "wire/protocol.h"
#include "policy/parse.h"
#include "policy/policy.h"

#ifndef SBOX_VERSION
#define SBOX_VERSION "0.1.0"
#endif

_Static_assert(SBOX_END_LOST == SBOX_OUTCOME_LOST, "outcomes");
_Static_assert(SBOX_STATE_QUEUED == SBOX_JOB_QUEUED, "states");
_Static_assert(SBOX_JOB_DETACH == SBOX_LAUNCH_DETACH, "flags");
_Static_assert(SBOX_JOB_WAIT_GPU == SBOX_LAUNCH_WAIT_GPU, "flags");
_Static_assert(SBOX_ERR_INTERNAL == SBOX_E_INTERNAL, "error codes");
_Static_assert(SBOX_STATS_HAVE_OOM == SBOX_STATS_OOM, "stats");

/* How long a launch whose connection was lost is retried (a restart of
 * sboxd takes well under a second), and how often. */
#define LAUNCH_RETRY_MS 30000
#define LAUNCH_RETRY_STEP_MS 50
#define LAUNCHED_MAX 1024       /* jobs whose tokens a client remembers */

struct exit_node {
	struct exit_node *next;
	struct sbox_job_exit ex;
};

struct sbox_client {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];   /* for a launch's retry */
	uint32_t seq;
	int errcode;
	int errnum;
	char error[SBOX_ERR_MSG_MAX];
	struct exit_node *exits, *exits_tail;
	uint8_t *buf;
	/* The jobs this client launched, with their tokens: a WAIT or SIGNAL
	 * on one of them names the job itself, not only its number. */
	struct launched { uint64_t id, token; } launched[LAUNCHED_MAX];
	size_t n_launched, next_launched;
};

__attribute__((format(printf, 4, 5)))
static int fail(struct sbox_client *c, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	if (errnum && n >= 0 && (size_t)n < sizeof(c->error))
		snprintf(c->error + n, sizeof(c->error) - (size_t)n, ": %s", strerror(errnum));
	c->errcode = code;
	c->errnum = errnum;
	return -1;
}

const char *sbox_client_version(void)
{
	return SBOX_VERSION;
}

const char *sbox_client_default_socket(void)
{
	const char *s = getenv("SBOX_SOCKET");

	return s && *s ? s : SBOX_DEFAULT_SOCKET;
}

struct sbox_client *sbox_client_new(void)
{
	struct sbox_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = -1;
	c->buf = malloc(SBOX_PROTO_MAX_MSG + 1);
	if (!c->buf) {
		free(c);
		return NULL;
	}
	return c;
}

static void drop_exits(struct sbox_client *c)
{
	while (c->exits) {
		struct exit_node *e = c->exits;

		c->exits = e->next;
		free(e);
	}
	c->exits_tail = NULL;
}

void sbox_client_free(struct sbox_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	drop_exits(c);
	free(c->buf);
	free(c);
}

int sbox_client_fd(const struct sbox_client *c)
{
	return c->fd;
}

const char *sbox_client_error(const struct sbox_client *c)
{
	return c->error;
}

int sbox_client_errcode(const struct sbox_client *c)
{
	return c->errcode;
}

int sbox_client_errno(const struct sbox_client *c)
{
	return c->errnum;
}

static int open_socket(struct sbox_client *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return fail(c, SBOX_ERR_LOCAL, ENAMETOOLONG, "sboxd socket %s", path);
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return fail(c, SBOX_ERR_LOCAL, errno, "creating a socket");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(c->fd);
		c->fd = -1;
		return fail(c, SBOX_ERR_GONE, e, "connecting to sboxd at %s", path);
	}
	return 0;
}

int sbox_client_connect(struct sbox_client *c, const char *path)
{
	if (!path)
		path = sbox_client_default_socket();
	drop_exits(c);
	if (open_socket(c, path) < 0)
		return -1;
	snprintf(c->path, sizeof(c->path), "%s", path);
	return 0;
}

static void pending_refusal(struct sbox_client *c)
{
	struct sbox_msg m;
	ssize_t n = recv(c->fd, c->buf, SBOX_PROTO_MAX_MSG + 1, MSG_DONTWAIT);

	if (n <= 0 || sbox_msg_decode(c->buf, (size_t)n, 0, &m, NULL) < 0)
		return;
	if (m.hdr.type == SBOX_MSG_ERROR) {
		c->errcode = (int)m.errcode;
		c->errnum = (int)m.errnum;
		snprintf(c->error, sizeof(c->error), "%s", m.message ? m.message : "refused");
	}
	sbox_msg_free(&m);
}

static int send_msg(struct sbox_client *c, struct sbox_mb *b)
{
	struct sbox_err err = { 0 };

	if (c->fd < 0)
		return fail(c, SBOX_ERR_GONE, ENOTCONN, "not connected to sboxd");
	if (sbox_mb_finish(b, &err) < 0)
		return fail(c, SBOX_ERR_LOCAL, 0, "%s", err.msg);
	if (sbox_fdpass_send(c->fd, b->buf, b->len, b->fds, b->nfds, 0) < 0) {
		int e = errno;

		fail(c, e == EMSGSIZE ? SBOX_ERR_LOCAL : SBOX_ERR_GONE, e, "sending %s to sboxd",
		     sbox_msg_type_name(b->buf[6] | b->buf[7] << 8));
		/* sboxd refuses a connection (a user it doesn't serve, too many
		 * connections) with an ERROR and closes: say that, not EPIPE. */
		if (e == EPIPE || e == ECONNRESET)
			pending_refusal(c);
		return -1;
	}
	return 0;
}

static void to_stats(const struct sbox_msg_stats *s, struct sbox_job_stats *st)
{
	st->valid = s->valid;
	st->have = s->have;
	st->cgroup_version = (int)s->cgroup_version;
	st->wall_usec = s->wall_usec;
	st->cpu_user_usec = s->cpu_user_usec;
	st->cpu_system_usec = s->cpu_sys_usec;
	st->memory_peak = s->mem_peak;
	st->oom_kills = s->oom_kills;
}

static void to_exit(const struct sbox_msg *m, struct sbox_job_exit *ex)
{
	memset(ex, 0, sizeof(*ex));
	ex->id = m->job_id;
	ex->outcome = (int)m->outcome;
	ex->status = m->status;
	ex->errnum = (int)m->errnum;
	snprintf(ex->message, sizeof(ex->message), "%s", m->message ? m->message : "");
	ex->oom = m->oom;
	ex->timeout = m->timeout;
	to_stats(&m->stats, &ex->stats);
}

static int queue_exit(struct sbox_client *c, const struct sbox_msg *m)
{
	struct exit_node *e = calloc(1, sizeof(*e));

	if (!e)
		return fail(c, SBOX_ERR_LOCAL, ENOMEM, "queueing a job's end");
	to_exit(m, &e->ex);
	if (c->exits_tail)
		c->exits_tail->next = e;
	else
		c->exits = e;
	c->exits_tail = e;
	return 0;
}

/* Receive and decode one message (blocking).  0 or -1. */
static int recv_msg(struct sbox_client *c, struct sbox_msg *m)
{
	struct sbox_err err = { 0 };
	ssize_t n;

	do
		n = recv(c->fd, c->buf, SBOX_PROTO_MAX_MSG + 1, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == ECONNRESET) {
		/* sboxd closed with something of ours unread: the kernel reports
		 * the reset first (and clears it), but sboxd's last answer — a
		 * refusal saying why — may still be queued behind it. */
		do
			n = recv(c->fd, c->buf, SBOX_PROTO_MAX_MSG + 1, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			n = -1;
			errno = ECONNRESET;
		}
	}
	if (n <= 0) {
		int e = n < 0 ? errno : EPIPE;

		close(c->fd);
		c->fd = -1;
		return fail(c, SBOX_ERR_GONE, e, "the connection to sboxd was lost");
	}
	if (sbox_msg_decode(c->buf, (size_t)n, 0, m, &err) < 0)
		return fail(c, SBOX_ERR_PROTO, 0, "sboxd's reply: %s", err.msg);
	return 0;
}

static int from_error(struct sbox_client *c, const struct sbox_msg *m)
{
	c->errcode = (int)m->errcode;
	c->errnum = (int)m->errnum;
	snprintf(c->error, sizeof(c->error), "%s", m->message ? m->message : "error");
	return -1;
}

/* Send b and wait for the reply to it (EXITs meanwhile are queued).
 * On 0, *m holds the reply (free it); an ERROR reply is -1. */
static int request(struct sbox_client *c, struct sbox_mb *b, struct sbox_msg *m)
{
	uint32_t seq = ++c->seq;

	b->buf[8] = (uint8_t)seq;
	b->buf[9] = (uint8_t)(seq >> 8);
	b->buf[10] = (uint8_t)(seq >> 16);
	b->buf[11] = (uint8_t)(seq >> 24);
	if (send_msg(c, b) < 0)
		return -1;
	for (;;) {
		if (recv_msg(c, m) < 0)
			return -1;
		if (m->hdr.type == SBOX_MSG_EXIT && m->hdr.seq != seq) {
			int r = queue_exit(c, m);

			sbox_msg_free(m);
			if (r < 0)
				return -1;
			continue;
		}
		/* seq 0: the daemon refused the connection before reading. */
		if (m->hdr.seq != seq && m->hdr.seq != 0) {
			sbox_msg_free(m);
			continue;
		}
		if (m->hdr.type == SBOX_MSG_ERROR) {
			from_error(c, m);
			sbox_msg_free(m);
			return -1;
		}
		return 0;
	}
}

int sbox_client_ping(struct sbox_client *c, unsigned *protocol, char *server, size_t len)
{
	struct sbox_mb b = { 0 };
	struct sbox_msg m;
	int r;

	sbox_mb_begin(&b, SBOX_MSG_PING, 0);
	r = request(c, &b, &m);
	sbox_mb_free(&b);
	if (r < 0)
		return -1;
	if (protocol)
		*protocol = m.proto_version;
	if (server && len)
		snprintf(server, len, "%s", m.server_version ? m.server_version : "");
	sbox_msg_free(&m);
	return 0;
}

/* Open the policy's bind sources as the caller and attach them. */
static int add_binds(struct sbox_client *c, struct sbox_mb *b, const char *text, int *opened,
		     size_t *n_opened)
{
	struct sbox_policy p;
	struct sbox_err err = { 0 };
	uint32_t k = 0;
	int r = 0;

	sbox_policy_init(&p);
	if (text && sbox_policy_load_string(&p, text, "policy", &err) < 0) {
		sbox_policy_free(&p);
		return fail(c, SBOX_ERR_POLICY, 0, "%s", err.msg);
	}
	for (size_t i = 0; i < p.n_mounts && r == 0; i++) {
		const struct sbox_mount *mt = &p.mounts[i];
		const char *what = mt->kind == SBOX_MOUNT_BIND ? "BindPaths" : "BindReadOnlyPaths";
		int fd, idx;

		if (mt->kind != SBOX_MOUNT_BIND && mt->kind != SBOX_MOUNT_BIND_RO)
			continue;
		fd = open(mt->src, O_PATH | O_CLOEXEC);
		if (fd < 0) {
			if (!(errno == ENOENT && mt->optional))
				r = fail(c, SBOX_ERR_LOCAL, errno, "%s=%s: bind source %s", what,
					 mt->src, mt->src);
			k++;
			continue;
		}
		opened[(*n_opened)++] = fd;
		idx = sbox_mb_fd(b, fd);
		if (idx < 0 || k >= SBOX_PROTO_MAX_BINDS)
			r = fail(c, SBOX_ERR_LOCAL, 0, "more than %d bind sources", SBOX_PROTO_MAX_BINDS);
		else
			sbox_mb_pair(b, SBOX_ATTR_BIND_FD, k, (uint32_t)idx);
		k++;
	}
	sbox_policy_free(&p);
	return r;
}

static int build_launch(struct sbox_client *c, struct sbox_mb *b, const struct sbox_job_spec *s,
			int *opened, size_t *n_opened)
{
	static const uint16_t stdio_tag[3] = { SBOX_ATTR_STDIN, SBOX_ATTR_STDOUT, SBOX_ATTR_STDERR };

	if (!s->argv || !s->argv[0] || !s->argv[0][0])
		return fail(c, SBOX_ERR_LOCAL, EINVAL, "no command to run");
	if (s->n_pass > SBOX_PROTO_MAX_PASS)
		return fail(c, SBOX_ERR_LOCAL, E2BIG, "passing %zu fds (at most %d)", s->n_pass,
			    SBOX_PROTO_MAX_PASS);
	sbox_mb_begin(b, SBOX_MSG_LAUNCH, 0);
	for (size_t i = 0; s->argv[i]; i++)
		sbox_mb_str(b, SBOX_ATTR_ARGV, s->argv[i]);
	for (size_t i = 0; s->envp && s->envp[i]; i++)
		if (strchr(s->envp[i], '=') && s->envp[i][0] != '=')
			sbox_mb_str(b, SBOX_ATTR_ENV, s->envp[i]);
	if (s->cwd)
		sbox_mb_str(b, SBOX_ATTR_CWD, s->cwd);
	if (s->policy)
		sbox_mb_str(b, SBOX_ATTR_POLICY, s->policy);
	if (s->name)
		sbox_mb_str(b, SBOX_ATTR_NAME, s->name);
	for (int i = 0; i < 3; i++)
		if (s->stdio[i] >= 0)
			sbox_mb_u32(b, stdio_tag[i], (uint32_t)sbox_mb_fd(b, s->stdio[i]));
	for (size_t i = 0; i < s->n_pass; i++) {
		int idx = sbox_mb_fd(b, s->pass_fds[i]);
		int target = s->pass_targets ? s->pass_targets[i] : s->pass_fds[i];

		sbox_mb_pair(b, SBOX_ATTR_PASS_FD, (uint32_t)target, (uint32_t)idx);
	}
	if (s->flags)
		sbox_mb_u32(b, SBOX_ATTR_FLAGS, s->flags);
	if (s->gpus)
		sbox_mb_u32(b, SBOX_ATTR_GPU_COUNT, s->gpus);
	return add_binds(c, b, s->policy, opened, n_opened);
}

static void to_info(const struct sbox_msg_job *r, struct sbox_job_info *info)
{
	memset(info, 0, sizeof(*info));
	info->id = r->id;
	info->pid = (pid_t)r->pid;
	info->uid = (uid_t)r->uid;
	info->gid = (gid_t)r->gid;
	info->state = (int)r->state;
	info->flags = r->flags;
	info->start_usec = r->start_usec;
	snprintf(info->name, sizeof(info->name), "%s", r->name ? r->name : "");
	info->n_gpus = r->n_gpus;
	memcpy(info->gpus, r->gpus, r->n_gpus * sizeof(unsigned));
}

static void remember_launch(struct sbox_client *c, uint64_t id, uint64_t token)
{
	if (!token)
		return;
	c->launched[c->next_launched] = (struct launched){ id, token };
	c->next_launched = (c->next_launched + 1) % LAUNCHED_MAX;
	if (c->n_launched < LAUNCHED_MAX)
		c->n_launched++;
}

/* A job's token, when this client launched it: sboxd then answers for
 * that job or "no job N", never for another with the same number. */
static void put_token(const struct sbox_client *c, struct sbox_mb *b, uint64_t id)
{
	for (size_t i = 0; i < c->n_launched; i++)
		if (c->launched[i].id == id) {
			sbox_mb_u64(b, SBOX_ATTR_LAUNCH_TOKEN, c->launched[i].token);
			return;
		}
}

/* A name for one launch, so that it can be sent again without being
 * started twice (docs/protocol.md, "Recovery"). */
static uint64_t launch_token(void)
{
	uint64_t t = 0;

	while (t == 0)
		if (getrandom(&t, sizeof(t), 0) != (ssize_t)sizeof(t))
			return 0;     /* no token: the launch is not retried */
	return t;
}

/* Back on the socket we had, to an sboxd that honours LAUNCH_TOKEN. */
static bool reconnect_for_retry(struct sbox_client *c)
{
	struct sbox_mb b = { 0 };
	struct sbox_msg m;
	bool ok;

	if (!c->path[0] || open_socket(c, c->path) < 0)
		return false;
	sbox_mb_begin(&b, SBOX_MSG_PING, 0);
	ok = request(c, &b, &m) == 0;
	sbox_mb_free(&b);
	if (!ok)
		return false;
	ok = m.features & SBOX_FEATURE_LAUNCH_TOKEN;
	sbox_msg_free(&m);
	return ok;
}

/* sboxd went away before it answered (it was restarted): send the same
 * LAUNCH, same token, to its successor, which answers with the job if
 * it had been started and starts it otherwise.  Only after a lost
 * connection, never after an answer, and only to an sboxd that says it
 * honours the token (an older one would start the job again). */
static int launch_retry(struct sbox_client *c, struct sbox_mb *b, uint64_t token,
			struct sbox_msg *m)
{
	struct timespec pause = { 0, LAUNCH_RETRY_STEP_MS * 1000000L };
	char first[sizeof(c->error)];
	int first_code = c->errcode, first_errno = c->errnum;

	snprintf(first, sizeof(first), "%s", c->error);
	for (int waited = 0; token && waited < LAUNCH_RETRY_MS; waited += LAUNCH_RETRY_STEP_MS) {
		nanosleep(&pause, NULL);
		if (!reconnect_for_retry(c)) {
			if (c->errcode != SBOX_ERR_GONE)
				break;      /* an sboxd that answers but can't take it */
			continue;
		}
		if (request(c, b, m) == 0)
			return 0;
		if (c->errcode != SBOX_ERR_GONE)
			return -1;          /* its answer: a refusal */
	}
	c->errcode = first_code;
	c->errnum = first_errno;
	snprintf(c->error, sizeof(c->error), "%s", first);
	return -1;
}

int sbox_client_launch(struct sbox_client *c, const struct sbox_job_spec *s,
		       struct sbox_job_info *info)
{
	struct sbox_mb b = { 0 };
	struct sbox_msg m;
	int opened[SBOX_PROTO_MAX_BINDS + 1];
	size_t n_opened = 0;
	uint64_t token = launch_token();
	int r;

	r = build_launch(c, &b, s, opened, &n_opened);
	if (r == 0 && token)
		sbox_mb_u64(&b, SBOX_ATTR_LAUNCH_TOKEN, token);
	if (r == 0)
		r = request(c, &b, &m);
	if (r < 0 && c->errcode == SBOX_ERR_GONE)
		r = launch_retry(c, &b, token, &m);
	for (size_t i = 0; i < n_opened; i++)
		close(opened[i]);
	sbox_mb_free(&b);
	if (r < 0)
		return -1;
	remember_launch(c, m.job_id, token);
	if (info) {
		memset(info, 0, sizeof(*info));
		info->id = m.job_id;
		info->pid = (pid_t)m.pid;
		info->state = (int)m.state;
		info->flags = s->flags;
		info->n_gpus = m.n_gpus;
		memcpy(info->gpus, m.gpus, m.n_gpus * sizeof(unsigned));
	}
	sbox_msg_free(&m);
	return 0;
}

/* "K=V\n" lines into buf; -1 when they don't fit. */
static int env_lines(char *const *env, char *buf, size_t len)
{
	size_t at = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; env && env[i]; i++) {
		int n = snprintf(buf + at, len - at, "%s\n", env[i]);

		if (n < 0 || (size_t)n >= len - at)
			return -1;
		at += (size_t)n;
	}
	return 0;
}

int sbox_client_place(struct sbox_client *c, const char *policy, unsigned gpus,
		      struct sbox_job_info *info, char *env, size_t env_len)
{
	struct sbox_mb b = { 0 };
	struct sbox_msg m;
	int r;

	sbox_mb_begin(&b, SBOX_MSG_PLACE, 0);
	if (policy)
		sbox_mb_str(&b, SBOX_ATTR_POLICY, policy);
	if (gpus)
		sbox_mb_u32(&b, SBOX_ATTR_GPU_COUNT, gpus);
	r = request(c, &b, &m);
	sbox_mb_free(&b);
	if (r < 0)
		return -1;
	if (info) {
		memset(info, 0, sizeof(*info));
		info->id = m.job_id;
		info->pid = (pid_t)m.pid;
		info->state = (int)m.state;
		info->flags = SBOX_JOB_DETACH;
		info->n_gpus = m.n_gpus;
		memcpy(info->gpus, m.gpus, m.n_gpus * sizeof(unsigned));
	}
	r = env && env_lines(m.env, env, env_len) < 0 ?
	    fail(c, SBOX_ERR_LOCAL, ENOBUFS, "the placed job's environment needs more than %zu bytes", env_len) : 0;
	sbox_msg_free(&m);
	return r;
}

static int job_request(struct sbox_client *c, uint16_t type, uint64_t job, int sig,
		       struct sbox_msg *m)
{
	struct sbox_mb b = { 0 };
	int r;

	sbox_mb_begin(&b, type, 0);
	sbox_mb_u64(&b, SBOX_ATTR_JOB_ID, job);
	if (type == SBOX_MSG_SIGNAL)
		put_token(c, &b, job);
	if (type == SBOX_MSG_SIGNAL)
		sbox_mb_u32(&b, SBOX_ATTR_SIGNAL, (uint32_t)sig);
	r = request(c, &b, m);
	sbox_mb_free(&b);
	return r;
}

int sbox_client_watch(struct sbox_client *c, uint64_t job)
{
	struct sbox_mb b = { 0 };
	int r;

	/* No reply but the EXIT itself (or an ERROR, which next_exit sees). */
	sbox_mb_begin(&b, SBOX_MSG_WAIT, ++c->seq);
	sbox_mb_u64(&b, SBOX_ATTR_JOB_ID, job);
	put_token(c, &b, job);
	r = send_msg(c, &b);
	sbox_mb_free(&b);
	return r;
}

int sbox_client_next_exit(struct sbox_client *c, struct sbox_job_exit *ex, int timeout_ms)
{
	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		struct sbox_msg m;
		int n;

		if (c->exits) {
			struct exit_node *e = c->exits;

			c->exits = e->next;
			if (!c->exits)
				c->exits_tail = NULL;
			*ex = e->ex;
			free(e);
			return 1;
		}
		if (c->fd < 0)
			return fail(c, SBOX_ERR_GONE, ENOTCONN, "not connected to sboxd");
		n = poll(&p, 1, timeout_ms);
		if (n < 0 && errno == EINTR)
			return 0;
		if (n < 0)
			return fail(c, SBOX_ERR_LOCAL, errno, "waiting for sboxd");
		if (n == 0)
			return 0;
		if (recv_msg(c, &m) < 0)
			return -1;
		if (m.hdr.type == SBOX_MSG_EXIT) {
			to_exit(&m, ex);
			sbox_msg_free(&m);
			return 1;
		}
		if (m.hdr.type == SBOX_MSG_ERROR) {
			from_error(c, &m);
			sbox_msg_free(&m);
			return -1;
		}
		sbox_msg_free(&m);
	}
}

int sbox_client_wait(struct sbox_client *c, uint64_t job, struct sbox_job_exit *ex)
{
	struct exit_node **pe;
	struct sbox_job_exit other;

	for (pe = &c->exits; *pe; pe = &(*pe)->next)
		if ((*pe)->ex.id == job) {
			struct exit_node *e = *pe;

			*pe = e->next;
			c->exits_tail = NULL;
			for (struct exit_node *t = c->exits; t; t = t->next)
				c->exits_tail = t;
			*ex = e->ex;
			free(e);
			return 0;
		}
	if (sbox_client_watch(c, job) < 0)
		return -1;
	for (;;) {
		int r = sbox_client_next_exit(c, &other, -1);

		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		if (other.id == job) {
			*ex = other;
			return 0;
		}
		/* Someone else's end: keep it for next_exit. */
		struct exit_node *e = calloc(1, sizeof(*e));

		if (!e)
			return fail(c, SBOX_ERR_LOCAL, ENOMEM, "queueing a job's end");
		e->ex = other;
		if (c->exits_tail)
			c->exits_tail->next = e;
		else
			c->exits = e;
		c->exits_tail = e;
	}
}

int sbox_client_signal(struct sbox_client *c, uint64_t job, int sig)
{
	struct sbox_msg m;

	if (sig < 1 || sig > 64)
		return fail(c, SBOX_ERR_LOCAL, EINVAL, "signal %d", sig);
	if (job_request(c, SBOX_MSG_SIGNAL, job, sig, &m) < 0)
		return -1;
	sbox_msg_free(&m);
	return 0;
}

int sbox_client_stats(struct sbox_client *c, uint64_t job, struct sbox_job_stats *st, int *state)
{
	struct sbox_msg m;

	if (job_request(c, SBOX_MSG_STATS, job, 0, &m) < 0)
		return -1;
	if (st)
		to_stats(&m.stats, st);
	if (state)
		*state = (int)m.state;
	sbox_msg_free(&m);
	return 0;
}

int sbox_client_list(struct sbox_client *c, struct sbox_job_info **jobs, size_t *n)
{
	struct sbox_mb b = { 0 };
	struct sbox_msg m;
	int r;

	*jobs = NULL;
	*n = 0;
	sbox_mb_begin(&b, SBOX_MSG_LIST, 0);
	r = request(c, &b, &m);
	sbox_mb_free(&b);
	if (r < 0)
		return -1;
	*jobs = calloc(m.n_jobs ? m.n_jobs : 1, sizeof(**jobs));
	if (!*jobs) {
		sbox_msg_free(&m);
		return fail(c, SBOX_ERR_LOCAL, ENOMEM, "listing jobs");
	}
	for (size_t i = 0; i < m.n_jobs; i++)
		to_info(&m.jobs[i], &(*jobs)[i]);
	*n = m.n_jobs;
	sbox_msg_free(&m);
	return 0;
}

int sbox_client_leases(struct sbox_client *c, struct sbox_gpu_lease **gpus, size_t *n)
{
	struct sbox_mb b = { 0 };
	struct sbox_msg m;
	int r;

	*gpus = NULL;
	*n = 0;
	sbox_mb_begin(&b, SBOX_MSG_GPUS, 0);
	r = request(c, &b, &m);
	sbox_mb_free(&b);
	if (r < 0)
		return -1;
	*gpus = calloc(m.n_gpu_info ? m.n_gpu_info : 1, sizeof(**gpus));
	if (!*gpus) {
		sbox_msg_free(&m);
		return fail(c, SBOX_ERR_LOCAL, ENOMEM, "listing GPUs");
	}
	for (size_t i = 0; i < m.n_gpu_info; i++) {
		struct sbox_gpu_lease *g = &(*gpus)[i];

		g->index = m.gpu_info[i].index;
		snprintf(g->uuid, sizeof(g->uuid), "%s", m.gpu_info[i].uuid ? m.gpu_info[i].uuid : "");
		snprintf(g->bus, sizeof(g->bus), "%s", m.gpu_info[i].bus ? m.gpu_info[i].bus : "");
		g->job = m.gpu_info[i].job_id;
		g->uid = (uid_t)m.gpu_info[i].uid;
	}
	*n = m.n_gpu_info;
	sbox_msg_free(&m);
	return 0;
}

int sbox_client_exit_code(const struct sbox_job_exit *ex)
{
	switch (ex->outcome) {
	case SBOX_END_EXITED:
		if (WIFEXITED(ex->status))
			return WEXITSTATUS(ex->status);
		if (WIFSIGNALED(ex->status))
			return 128 + WTERMSIG(ex->status);
		return 125;
	case SBOX_END_EXEC_FAILED:
		return ex->errnum == ENOENT ? 127 : 126;
	case SBOX_END_KILLED:
		if (WIFSIGNALED(ex->status))
			return 128 + WTERMSIG(ex->status);
		return 125;
	case SBOX_END_SETUP_FAILED:
	case SBOX_END_LOST:
	default:
		return 125;
	}
}
