/* SPDX-License-Identifier: MIT */
/*
 * sboxd's clients.  Who a client is comes from the kernel (SO_PEERCRED and
 * SO_PEERGROUPS at accept), never from a message.  Each packet is received
 * whole with its fds (MSG_CMSG_CLOEXEC); a packet over the size cap
 * (MSG_TRUNC) or with control data cut short (MSG_CTRUNC: more fds than we
 * take) is refused, and every fd that did arrive is closed on any error.
 * A well-formed request goes down to jobs.c; replies go out through
 * reply.c, which every layer uses.
 */
#include "sboxd/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"
#include "wire/fdpass.h"

static void fill_identity(struct conn *c)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		/* Unknown: treat as nobody in particular (uid -1 matches no
		 * AllowUsers= and is not root). */
		cred.uid = (uid_t)-1;
		cred.gid = (gid_t)-1;
	}
	c->who.uid = cred.uid;
	c->who.gid = cred.gid;
	c->pid = cred.pid;
	len = sizeof(c->groups);
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, c->groups, &len) == 0)
		c->who.n_groups = len / sizeof(gid_t);
	c->who.groups = c->groups;
	/* Names only serve User= comparisons and messages; a uid without a
	 * passwd entry just has none. */
	if (getpwuid_r(c->who.uid, &pw, buf, sizeof(buf), &res) == 0 && res) {
		snprintf(c->user_name, sizeof(c->user_name), "%s", res->pw_name);
		c->who.user_name = c->user_name;
	}
}

/* Send an error to a socket we are about to close, without a conn.  SHUT_RD
 * first, so that nothing more can arrive (the client's sends fail with
 * EPIPE from then on; it reads the refusal); what it sent before is read
 * and the socket closed by a closer thread (sboxd_close_client_socket():
 * fds left in flight in it are released there), charged to its peer. */
static void refuse(int fd, uint32_t code, const char *msg)
{
	struct sbox_mb b = { 0 };
	struct ucred cred = { .uid = (uid_t)-1 };
	socklen_t len = sizeof(cred);

	sbox_mb_error(&b, 0, code, 0, msg);
	if (sbox_mb_finish(&b, NULL) == 0)
		(void)send(fd, b.buf, b.len, MSG_DONTWAIT | MSG_NOSIGNAL);
	sbox_mb_free(&b);
	shutdown(fd, SHUT_RD);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		cred.uid = (uid_t)-1;
	sboxd_close_client_socket(fd, cred.uid);
}

/* Out of fds: give up the spare to take the connection, refuse it with a
 * message (rather than leave it in the backlog, or the client with
 * "connection refused"), and take the spare again. */
static void accept_at_emfile(struct sboxd *d)
{
	int fd;

	sboxd_log("accept: %s: refusing a connection", strerror(errno));
	if (d->spare_fd < 0)
		d->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (d->spare_fd < 0)
		return;
	close(d->spare_fd);
	fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0)
		refuse(fd, SBOX_E_BUSY, "sboxd is out of file descriptors: try again later");
	/* The refused socket is closed by a closer thread: its slot comes
	 * back within moments (a few ms at most, or the next time). */
	for (int i = 0; i < 20; i++) {
		d->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (d->spare_fd >= 0 || errno != EMFILE)
			break;
		usleep(500);
	}
}

/* The caps of connections (NULL: within them), with the message. */
static const char *conn_cap(struct sboxd *d, const struct conn *c, char *msg, size_t len)
{
	const struct sbox_site_daemon *s = &d->site.daemon;
	unsigned max = s->max_connections, mine;
	size_t fds;

	if (c->who.uid == 0) {
		if (d->n_conns < max)
			return NULL;
		snprintf(msg, len, "too many connections (MaxConnections=%u)", max);
		return msg;
	}
	if (d->n_conns >= max - sboxd_root_reserve(max)) {
		snprintf(msg, len, "too many connections (MaxConnections=%u, %u of them kept for root)",
			 max, sboxd_root_reserve(max));
		return msg;
	}
	mine = sboxd_user_conns(d, c->who.uid);
	if (s->max_conns_per_user && mine >= s->max_conns_per_user) {
		snprintf(msg, len, "uid %u has %u connections (MaxConnectionsPerUser=%u in %s)",
			 (unsigned)c->who.uid, mine, s->max_conns_per_user, d->config_path);
		return msg;
	}
	fds = sboxd_user_fds(d, c->who.uid);
	if (s->max_fds_per_user && fds + 1 > s->max_fds_per_user) {
		snprintf(msg, len, "uid %u makes sboxd hold %zu fds (MaxFdsPerUser=%u in %s)",
			 (unsigned)c->who.uid, fds, s->max_fds_per_user, d->config_path);
		return msg;
	}
	return NULL;
}

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* A small /proc file whole, NUL-ended; -1 when it can't be read. */
static int read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	ssize_t r = 0;

	if (fd < 0)
		return -1;
	while (got + 1 < size && (r = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)r;
	close(fd);
	buf[got] = '\0';
	return r < 0 ? -1 : 0;
}

/* RefuseClientCgroups=: a connecting process whose cgroup, in any
 * hierarchy, is one of the site's or below one (a Slurm job's) would
 * leave that cgroup's limits for a sandbox of sboxd's.  Its cgroup file is
 * read by pid, then its pidfd checked: still running, the file was its
 * own.  Refused when that can't be told. */
static const char *refused_cgroup(struct sboxd *d, struct conn *c, char *msg, size_t len)
{
	const struct sbox_site_daemon *s = &d->site.daemon;
	char path[64], buf[8192], *line, *save = NULL;
	socklen_t sl = sizeof(int);
	int pidfd = -1;
	bool read_ok;

	if (!s->n_refuse_cgroups)
		return NULL;
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &sl) < 0)
		pidfd = -1;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)c->pid);
	read_ok = c->pid > 0 && read_small(path, buf, sizeof(buf)) == 0;
	if (pidfd >= 0) {
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

		if (poll(&pfd, 1, 0) != 0)
			read_ok = false;        /* gone: the file may be another's */
		close(pidfd);
	}
	if (!read_ok)
		return "the connecting process's cgroup can't be read, and RefuseClientCgroups= is set";
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *cg = strchr(line, ':');

		cg = cg ? strchr(cg + 1, ':') : NULL;
		if (!cg)
			continue;
		cg++;
		for (size_t i = 0; i < s->n_refuse_cgroups; i++) {
			const char *r = s->refuse_cgroups[i];
			size_t n = strlen(r);

			if (strcmp(r, "/") == 0 ||
			    (strncmp(cg, r, n) == 0 && (cg[n] == '\0' || cg[n] == '/'))) {
				snprintf(msg, len, "a process in the cgroup %s may not use sboxd: a sandbox of sboxd's would leave that cgroup's limits (RefuseClientCgroups=%s in %s; in a Slurm job, --sbox: docs/slurm.md)",
					 cg, r, d->config_path);
				return msg;
			}
		}
	}
	return NULL;
}

/* Whether a new client may stay: NULL if so, else why not (in msg when
 * built there) with the reply's code.  Asked in this order: where the
 * client runs, who it is, then how much its user already holds. */
static const char *admission(struct sboxd *d, struct conn *c, uint32_t *code,
			     char *msg, size_t len)
{
	const char *why;

	errno = 0;
	if (!d->site.daemon.allow_nested && !sboxd_peer_in_our_pidns(c->fd, c->pid)) {
		/* A zygote's worker is in a pid namespace its own user made:
		 * it may PLACE itself, and do nothing else (sboxd/place.c). */
		c->place_only = place_peer_in_users_namespace(c->fd, c->who.uid);
		*code = SBOX_E_DENIED;
		if (c->place_only)
			goto nested_ok;
		if (errno == EMFILE || errno == ENFILE) {
			*code = SBOX_E_BUSY;
			return "sboxd is out of file descriptors: try again later";
		}
		if (errno == ESRCH)
			return "the connecting process is gone";
		return "a client in another pid namespace (a sandbox's worker, a container) may not use sboxd (AllowNestedClients=no)";
	}
nested_ok:
	*code = SBOX_E_DENIED;
	why = refused_cgroup(d, c, msg, len);
	if (why)
		return why;
	if (!sbox_site_daemon_allows(&d->site.daemon, &c->who)) {
		snprintf(msg, len, "uid %u%s%s%s may not use sboxd (AllowUsers=, AllowGroups= in %s)",
			 (unsigned)c->who.uid, c->who.user_name ? " (" : "",
			 c->who.user_name ? c->who.user_name : "", c->who.user_name ? ")" : "",
			 d->config_path);
		*code = SBOX_E_DENIED;
		return msg;
	}
	*code = SBOX_E_BUSY;
	return conn_cap(d, c, msg, len);
}

/* One accepted socket: refused with the reason, or a connection in the
 * loop's list, watched for its requests. */
static void take(struct sboxd *d, int fd)
{
	_cleanup_free_ struct conn *c = NULL;
	const char *why;
	uint32_t code;
	char msg[256];

	if (d->stopping) {
		refuse(fd, SBOX_E_BUSY, "sboxd is stopping");
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		refuse(fd, SBOX_E_INTERNAL, "out of memory");
		return;
	}
	c->fd = fd;
	c->w.kind = W_CONN;
	c->w.obj = c;
	c->last_active = sboxd_now();
	fill_identity(c);
	why = admission(d, c, &code, msg, sizeof(msg));
	if (why) {
		refuse(fd, code, why);
		return;
	}
	/* Where a reply fails (reply.c, under every layer), the
	 * connection is closed through this hook: it is set before
	 * there is any connection to close. */
	d->conn_lost = conn_close;
	if (sboxd_watch(d, fd, &c->w, EPOLLIN) < 0) {
		sboxd_log("epoll_ctl: %s", strerror(errno));
		close(fd);
		return;
	}
	c->next = d->conns;
	if (d->conns)
		d->conns->prev = c;
	d->conns = sbox_steal_ptr(c);
	d->n_conns++;
}

/* At EMFILE while the closers are at work (gone clients' connections
 * among what they close): the slots they free, 50 ms at most. */
static int accept_when_closed(struct sboxd *d)
{
	int fd = -1;

	for (int i = 0; i < 100 && fd < 0 && (errno == EMFILE || errno == ENFILE) &&
			sboxd_closer_busy(); i++) {
		usleep(500);
		fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	}
	return fd;
}

/* At most 64 a turn, so that a flood of connections does not starve the
 * clients already in. */
void conn_accept(struct sboxd *d)
{
	for (int i = 0; i < 64; i++) {
		int fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0 && (errno == EMFILE || errno == ENFILE))
			fd = accept_when_closed(d);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				accept_at_emfile(d);
			else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				sboxd_log("accept: %s", strerror(errno));
			return;
		}
		take(d, fd);
	}
}

void conn_close(struct sboxd *d, struct conn *c)
{
	struct outmsg *o, *on;

	if (c->dead)
		return;
	/* Dead first: what jobs_conn_gone sets off (a queued job's end told
	 * to its waiters) must not send to it or close it again.  Nothing is
	 * freed here: a dispatch further up may be walking this connection
	 * or a waiter of it (finalize -> send_exit -> conn_send -> here);
	 * the loop frees it once the batch of events is done (reap_dead). */
	c->dead = true;
	d->have_dead = true;
	d->n_conns--;
	jobs_conn_gone(d, c);
	sboxd_unwatch(d, c->fd);
	shutdown(c->fd, SHUT_RD);       /* see refuse() */
	sboxd_close_client_socket(c->fd, c->who.uid);
	c->fd = -1;
	for (o = c->outq; o; o = on) {
		on = o->next;
		free(o);
	}
	c->outq = c->outq_tail = NULL;
}

static void close_peer_fd(int fd, void *arg)
{
	const struct conn *c = arg;

	sboxd_close_client_fd(fd, c->who.uid);
}

/* Whether the next packet carries fds (1), seen without taking them: a
 * peek with no room for them dups their references and drops the dups
 * (never the last: the packet still holds its own), setting MSG_CTRUNC.
 * 0: a packet without fds; -1: nothing to read; -2: the peer's end (or an
 * empty packet). */
static int next_has_fds(int fd)
{
	char b;
	struct sbox_fdpass_in in = { .max = 0 };
	ssize_t n = sbox_fdpass_recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT, &in);

	if (n < 0)
		return -1;
	return (in.msg_flags & MSG_CTRUNC) ? 1 : n > 0 ? 0 : -2;
}

/* Receive one packet and its fds.  Returns its length, 0 at EOF, -1 when
 * there is nothing (EAGAIN), -2 when the packet is refused (reply sent,
 * fds closed, connection to be closed). */
static ssize_t receive(struct sboxd *d, struct conn *c, int *fds, size_t *nfds)
{
	struct sbox_fdpass_in in = { .fds = fds, .max = SBOX_FDPASS_MAX,
				     .close_fd = close_peer_fd, .close_arg = c };
	size_t pending;
	ssize_t n;
	const char *why = NULL;

	*nfds = 0;
	/* A user with SBOXD_CLOSES_PER_USER of its fds still being closed
	 * (a file system that never answers holds a closer thread each) is
	 * given no more: its packets without fds are read as ever; one with
	 * fds is refused without taking them, and the connection closed (a
	 * closer thread drops them with the socket). */
	if (sboxd_closer_held_up(c->who.uid, &pending) && next_has_fds(c->fd) == 1) {
		char msg[200];

		snprintf(msg, sizeof(msg), "uid %u: sboxd is still closing %zu of its fds (a file system that does not answer?); it takes no more until those closes return",
			 (unsigned)c->who.uid, pending);
		conn_send_error(d, c, 0, SBOX_E_BUSY, EAGAIN, msg);
		return -2;
	}
	n = sbox_fdpass_recv(c->fd, d->rxbuf, SBOX_PROTO_MAX_MSG + 1, MSG_DONTWAIT, &in);
	if (n < 0)
		return errno == EAGAIN ? -1 : 0;
	*nfds = in.nfds;
	if (in.msg_flags & MSG_CTRUNC)
		why = "too many fds in one message (control data truncated)";
	else if (*nfds > SBOX_PROTO_MAX_FDS)
		why = "too many fds in one message";
	else if (in.msg_flags & MSG_TRUNC)
		why = "message over the size limit";
	if (why) {
		char msg[160];

		snprintf(msg, sizeof(msg), "%s (at most %d bytes and %d fds)", why, SBOX_PROTO_MAX_MSG,
			 SBOX_PROTO_MAX_FDS);
		close_client_fds(fds, *nfds, c->who.uid);
		*nfds = 0;
		conn_send_error(d, c, 0, SBOX_E_PROTO, EMSGSIZE, msg);
		return -2;
	}
	if (n == 0 && *nfds == 0)
		return 0;          /* EOF (seqpacket has no empty messages of ours) */
	if (n == 0) {
		/* An empty packet carrying fds: none of ours, and the caller
		 * would take n == 0 for EOF and close the connection without
		 * closing them — a client could leak fds into sboxd until it
		 * can't accept or launch anything.  Close them and refuse. */
		close_client_fds(fds, *nfds, c->who.uid);
		*nfds = 0;
		conn_send_error(d, c, 0, SBOX_E_PROTO, EPROTO, "empty message with fds");
		return -2;
	}
	return n;
}

/* One packet: decode, answer the broken ones, hand the rest to the jobs. */
static bool handle_packet(struct sboxd *d, struct conn *c, size_t len, int *fds, size_t nfds)
{
	struct sbox_err err = { 0 };
	struct sbox_msg_hdr h;
	struct sbox_msg m;

	if (sbox_msg_peek(d->rxbuf, len, &h, &err) < 0) {
		close_client_fds(fds, nfds, c->who.uid);
		conn_send_error(d, c, 0, SBOX_E_PROTO, EPROTO, err.msg);
		return false;
	}
	if (h.version != SBOX_PROTO_VERSION) {
		char msg[128];

		/* Answered in our version's header: the error layout is the
		 * one thing every version keeps (docs/protocol.md). */
		close_client_fds(fds, nfds, c->who.uid);
		snprintf(msg, sizeof(msg), "protocol version %u is not supported (sboxd speaks %d)",
			 h.version, SBOX_PROTO_VERSION);
		conn_send_error(d, c, h.seq, SBOX_E_VERSION, EPROTONOSUPPORT, msg);
		return false;
	}
	if (sbox_msg_decode(d->rxbuf, len, nfds, &m, &err) < 0) {
		/* A well-formed request of a type we don't know may be a newer
		 * client probing: answer and keep the connection. */
		bool keep = h.type < 0x200 && !sbox_msg_type_name(h.type);

		close_client_fds(fds, nfds, c->who.uid);
		conn_send_error(d, c, h.seq, SBOX_E_PROTO, EPROTO, err.msg);
		return keep;
	}
	if (m.hdr.type >= 0x80) {
		close_client_fds(fds, nfds, c->who.uid);
		conn_send_error(d, c, h.seq, SBOX_E_PROTO, EPROTO, "not a request");
		sbox_msg_free(&m);
		return false;
	}
	jobs_handle(d, c, &m, fds, nfds);
	sbox_msg_free(&m);
	return true;
}

/* The count of c's user's packets read in this batch of events, shared
 * by all its connections; NULL for root (each connection its own).  One
 * slot per user of the batch: no more users than events. */
static unsigned *turn_of(struct sboxd *d, const struct conn *c)
{
	struct served *s;

	if (c->who.uid == 0)
		return NULL;
	for (unsigned i = 0; i < d->n_served; i++)
		if (d->served[i].uid == c->who.uid)
			return &d->served[i].packets;
	if (d->n_served == SBOXD_MAX_EVENTS)
		return NULL;
	s = &d->served[d->n_served++];
	s->uid = c->who.uid;
	s->packets = 0;
	return &s->packets;
}

void conn_on_event(struct sboxd *d, struct conn *c, uint32_t events)
{
	int fds[SBOX_FDPASS_MAX];
	unsigned *turn;

	if (events & EPOLLOUT)
		conn_flush(d, c);
	if (c->dead)
		return;
	/* A few packets per wake-up, so that one busy client can't starve
	 * the others; level-triggered epoll brings us back for the rest.
	 * A few per user, not per connection: 32 connections of one user,
	 * eight requests each, were 256 requests read before another
	 * user's one (a PING waited 18 s behind requests of 25 ms; found by
	 * review). */
	turn = turn_of(d, c);
	for (int i = 0; i < SBOXD_PACKETS_PER_TURN && (!turn || *turn < SBOXD_PACKETS_PER_TURN) &&
			(events & (EPOLLIN | EPOLLHUP | EPOLLERR)); i++) {
		size_t nfds = 0;
		ssize_t n = receive(d, c, fds, &nfds);

		if (n == -1)
			return;
		if (n == 0 || n == -2) {
			conn_close(d, c);
			return;
		}
		if (turn)
			(*turn)++;
		c->last_active = sboxd_now();
		if (!handle_packet(d, c, (size_t)n, fds, nfds)) {
			conn_close(d, c);
			return;
		}
		if (c->dead)
			return;
	}
}

/* Whether a packet of c's waits to be read.  One that waits for its
 * user's next turn (conn_on_event) is no silence: a user's many slow
 * requests at once can keep a connection's next one unread for longer
 * than IdleTimeoutSec= (found in the test-v2 VM, where a request took
 * 1.5 s: connections closed as idle with their requests unread). */
static bool input_waits(const struct conn *c)
{
	int n = 0;

	return ioctl(c->fd, SIOCINQ, &n) == 0 && n > 0;
}

/* Connections that hold nothing (no job, no wait) and said nothing for
 * IdleTimeoutSec are closed: a client that connects and never sends a
 * request can't hold a slot for ever.  (A packet arrives whole or not at
 * all, so there is no half-sent message to time out on.) */
void conn_check_idle(struct sboxd *d, uint64_t now, uint64_t *next)
{
	uint64_t idle = d->site.daemon.idle_timeout_usec;

	for (struct conn *c = d->conns; c; c = c->next) {
		uint64_t due;

		if (c->dead || c->n_jobs > 0 || c->n_waits > 0)
			continue;
		due = c->last_active + idle;
		if (due <= now && input_waits(c)) {
			c->last_active = now;
			due = now + idle;
		}
		if (due <= now) {
			conn_send_error(d, c, 0, SBOX_E_PROTO, ETIMEDOUT,
					"idle for too long (IdleTimeoutSec=): closing");
			conn_close(d, c);
			continue;
		}
		if (due < *next)
			*next = due;
	}
}
