/* SPDX-License-Identifier: MIT */
/*
 * Building messages of wire/protocol.h: a growing buffer capped at
 * SBOX_PROTO_MAX_MSG, attributes appended in order, fds collected beside.
 * An attribute that doesn't fit marks the message as overflowed rather than
 * cutting it: sbox_mb_finish() then refuses it, and a list can be rewound
 * to its last whole record (sbox_mb_mark/rewind).
 */
#include "wire/protocol.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint8_t *reserve(struct sbox_mb *b, size_t n)
{
	if (b->overflow || b->nomem)
		return NULL;
	if (n > SBOX_PROTO_MAX_MSG - b->len) {
		b->overflow = true;
		return NULL;
	}
	if (b->len + n > b->cap) {
		size_t nc = b->cap ? b->cap : 256;
		uint8_t *nb;

		while (nc < b->len + n)
			nc *= 2;
		if (nc > SBOX_PROTO_MAX_MSG)
			nc = SBOX_PROTO_MAX_MSG;
		nb = realloc(b->buf, nc);
		if (!nb) {
			b->nomem = true;
			return NULL;
		}
		b->buf = nb;
		b->cap = nc;
	}
	b->len += n;
	return b->buf + b->len - n;
}

void sbox_mb_begin(struct sbox_mb *b, uint16_t type, uint32_t seq)
{
	uint8_t *p;

	b->len = 0;
	b->nfds = 0;
	b->nest = 0;
	b->overflow = b->nomem = false;
	p = reserve(b, SBOX_PROTO_HDR_LEN);
	if (!p)
		return;
	put32(p, SBOX_PROTO_MAGIC);
	put16(p + 4, SBOX_PROTO_VERSION);
	put16(p + 6, type);
	put32(p + 8, seq);
	put32(p + 12, 0);
}

static uint8_t *attr(struct sbox_mb *b, uint16_t tag, size_t n)
{
	uint8_t *p = reserve(b, SBOX_PROTO_ATTR_HDR_LEN + n);

	if (!p)
		return NULL;
	put16(p, tag);
	put16(p + 2, 0);
	put32(p + 4, (uint32_t)n);
	return p + SBOX_PROTO_ATTR_HDR_LEN;
}

void sbox_mb_u32(struct sbox_mb *b, uint16_t tag, uint32_t v)
{
	uint8_t *p = attr(b, tag, 4);

	if (p)
		put32(p, v);
}

void sbox_mb_i32(struct sbox_mb *b, uint16_t tag, int32_t v)
{
	sbox_mb_u32(b, tag, (uint32_t)v);
}

void sbox_mb_u64(struct sbox_mb *b, uint16_t tag, uint64_t v)
{
	uint8_t *p = attr(b, tag, 8);

	if (p)
		put64(p, v);
}

void sbox_mb_pair(struct sbox_mb *b, uint16_t tag, uint32_t a, uint32_t c)
{
	uint8_t *p = attr(b, tag, 8);

	if (p) {
		put32(p, a);
		put32(p + 4, c);
	}
}

void sbox_mb_bytes(struct sbox_mb *b, uint16_t tag, const void *v, size_t n)
{
	uint8_t *p = attr(b, tag, n);

	if (p && n)
		memcpy(p, v, n);
}

void sbox_mb_str(struct sbox_mb *b, uint16_t tag, const char *s)
{
	sbox_mb_bytes(b, tag, s, strlen(s));
}

int sbox_mb_fd(struct sbox_mb *b, int fd)
{
	if (b->nfds >= SBOX_PROTO_MAX_FDS) {
		b->overflow = true;
		return -1;
	}
	b->fds[b->nfds] = fd;
	return (int)b->nfds++;
}

void sbox_mb_nest_begin(struct sbox_mb *b, uint16_t tag)
{
	size_t at = b->len;

	if (attr(b, tag, 0))
		b->nest = at + 1;
}

void sbox_mb_nest_end(struct sbox_mb *b)
{
	size_t at;

	if (!b->nest)
		return;
	at = b->nest - 1;
	b->nest = 0;
	if (!b->overflow && !b->nomem)
		put32(b->buf + at + 4, (uint32_t)(b->len - at - SBOX_PROTO_ATTR_HDR_LEN));
}

size_t sbox_mb_mark(const struct sbox_mb *b)
{
	return b->len;
}

void sbox_mb_rewind(struct sbox_mb *b, size_t mark)
{
	if (mark <= b->len)
		b->len = mark;
	b->nest = 0;
	b->overflow = false;
}

int sbox_mb_finish(struct sbox_mb *b, struct sbox_err *err)
{
	if (b->nomem)
		return sbox_fail(err, ENOMEM, "building a %s message",
				 b->len >= 8 ? sbox_msg_type_name(get16(b->buf + 6)) : "protocol");
	if (b->overflow || b->len < SBOX_PROTO_HDR_LEN)
		return sbox_fail(err, EMSGSIZE, "the message is larger than %d bytes or carries more than %d fds",
				 SBOX_PROTO_MAX_MSG, SBOX_PROTO_MAX_FDS);
	put32(b->buf + 12, (uint32_t)b->len);
	return 0;
}

void sbox_mb_free(struct sbox_mb *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = b->cap = 0;
}

void sbox_mb_error(struct sbox_mb *b, uint32_t seq, uint32_t errcode, int errnum,
		   const char *message)
{
	sbox_mb_begin(b, SBOX_MSG_ERROR, seq);
	sbox_mb_u32(b, SBOX_ATTR_ERRCODE, errcode);
	sbox_mb_u32(b, SBOX_ATTR_ERRNUM, (uint32_t)errnum);
	sbox_mb_str(b, SBOX_ATTR_MESSAGE, message);
}

void sbox_mb_stats(struct sbox_mb *b, const struct sbox_msg_stats *s)
{
	sbox_mb_u32(b, SBOX_ATTR_STATS_VALID, s->valid);
	sbox_mb_u64(b, SBOX_ATTR_WALL_USEC, s->wall_usec);
	if (!s->valid)
		return;
	sbox_mb_u32(b, SBOX_ATTR_STATS_HAVE, s->have);
	sbox_mb_u32(b, SBOX_ATTR_CGROUP_VERSION, s->cgroup_version);
	sbox_mb_u64(b, SBOX_ATTR_MEM_PEAK, s->mem_peak);
	sbox_mb_u64(b, SBOX_ATTR_CPU_USER_USEC, s->cpu_user_usec);
	sbox_mb_u64(b, SBOX_ATTR_CPU_SYS_USEC, s->cpu_sys_usec);
	sbox_mb_u64(b, SBOX_ATTR_OOM_KILLS, s->oom_kills);
}
