/* SPDX-License-Identifier: MIT */
/*
 * Replies to a client, sent without blocking: what a client doesn't read
 * yet waits in its queue (EPOLLOUT brings the rest out), and a client that
 * lets SBOXD_OUTQ_MAX bytes pile up is dropped, so that no client can make
 * sboxd hold memory or stall.  Every layer replies, so this file sits
 * under them all; a reply that cannot be sent ends the connection through
 * the conn_lost hook, which conn.c's conn_close fills (daemon.h): the
 * layers below never call back up into conn.c.
 */
#include "sboxd/daemon.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

/* Whether len more bytes of replies put c's user past what may wait
 * unread on all its connections (root: never).  Asked once the connection
 * holds SBOXD_OUTQ_USER_CHECK: a client that reads costs no walk. */
static bool user_outq_over(const struct sboxd *d, const struct conn *c, size_t len)
{
	if (c->who.uid == 0 || c->outq_bytes + len <= SBOXD_OUTQ_USER_CHECK)
		return false;
	return sboxd_user_outq(d, c->who.uid) + len > SBOXD_OUTQ_USER_MAX;
}

static void update_out(struct sboxd *d, struct conn *c)
{
	bool want = c->outq != NULL;

	if (want == c->want_out)
		return;
	c->want_out = want;
	sboxd_watch(d, c->fd, &c->w, EPOLLIN | (want ? EPOLLOUT : 0));
}

/* EPOLLOUT: send what waits, as much as the socket takes. */
void conn_flush(struct sboxd *d, struct conn *c)
{
	while (c->outq) {
		struct outmsg *o = c->outq;
		ssize_t n = send(c->fd, o->data, o->len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			d->conn_lost(d, c);
			return;
		}
		c->outq = o->next;
		if (!c->outq)
			c->outq_tail = NULL;
		c->outq_bytes -= o->len;
		free(o);
	}
	update_out(d, c);
}

void conn_send(struct sboxd *d, struct conn *c, struct sbox_mb *b)
{
	struct sbox_err err = { 0 };
	struct outmsg *o;

	if (c->dead)
		return;
	if (sbox_mb_finish(b, &err) < 0) {
		/* Our own reply didn't fit: say so rather than nothing. */
		uint32_t seq = b->len >= 12 ? b->buf[8] | b->buf[9] << 8 | b->buf[10] << 16 |
						(uint32_t)b->buf[11] << 24 : 0;

		sbox_mb_error(b, seq, SBOX_E_INTERNAL, err.errnum, err.msg);
		if (sbox_mb_finish(b, NULL) < 0)
			return;
	}
	if (!c->outq) {
		ssize_t n = send(c->fd, b->buf, b->len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n >= 0)
			return;
		if (errno != EAGAIN && errno != EINTR) {
			d->conn_lost(d, c);
			return;
		}
	}
	if (c->outq_bytes + b->len > SBOXD_OUTQ_MAX) {
		sboxd_log("uid %u: client does not read its replies; dropped", (unsigned)c->who.uid);
		d->conn_lost(d, c);
		return;
	}
	/* 64 connections of a user's at 1 MiB each (of 60-byte PONGs, with
	 * their records) were 105 MiB of sboxd's memory (found by review):
	 * bounded per user too. */
	if (user_outq_over(d, c, b->len)) {
		sboxd_log("uid %u: its clients do not read their replies (%d MiB waiting on all its connections); one dropped",
			  (unsigned)c->who.uid, SBOXD_OUTQ_USER_MAX >> 20);
		d->conn_lost(d, c);
		return;
	}
	o = malloc(sizeof(*o) + b->len);
	if (!o) {
		d->conn_lost(d, c);
		return;
	}
	o->next = NULL;
	o->len = b->len;
	memcpy(o->data, b->buf, b->len);
	if (c->outq_tail)
		c->outq_tail->next = o;
	else
		c->outq = o;
	c->outq_tail = o;
	c->outq_bytes += b->len;
	update_out(d, c);
}

void conn_send_error(struct sboxd *d, struct conn *c, uint32_t seq, uint32_t code, int errnum,
		     const char *msg)
{
	struct sbox_mb b = { 0 };

	sbox_mb_error(&b, seq, code, errnum, msg);
	conn_send(d, c, &b);
	sbox_mb_free(&b);
}
