/* SPDX-License-Identifier: MIT */
/*
 * The wire format of wire/protocol.h.  The decoder trusts nothing: every
 * length is checked against what is left of the packet before it is used,
 * strings are copied out (and refused when they hold a NUL), each message
 * type has a table of the attributes it may and must carry, and fd indices
 * are checked against the descriptors that really arrived.
 */
#include "wire/protocol.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "policy/values.h"

/* Little-endian, read byte by byte: no alignment is assumed of a packet. */
static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static const char *const type_names[] = {
	[SBOX_MSG_PING] = "PING", [SBOX_MSG_LAUNCH] = "LAUNCH", [SBOX_MSG_WAIT] = "WAIT",
	[SBOX_MSG_SIGNAL] = "SIGNAL", [SBOX_MSG_LIST] = "LIST", [SBOX_MSG_STATS] = "STATS",
	[SBOX_MSG_GPUS] = "GPUS", [SBOX_MSG_PLACE] = "PLACE",
};

const char *sbox_msg_type_name(unsigned type)
{
	if (type < SBOX_ARRAY_SIZE(type_names) && type_names[type])
		return type_names[type];
	switch (type) {
	case SBOX_MSG_PONG: return "PONG";
	case SBOX_MSG_LAUNCHED: return "LAUNCHED";
	case SBOX_MSG_EXIT: return "EXIT";
	case SBOX_MSG_OK: return "OK";
	case SBOX_MSG_JOBS: return "JOBS";
	case SBOX_MSG_STATS_REPLY: return "STATS_REPLY";
	case SBOX_MSG_GPU_LIST: return "GPU_LIST";
	case SBOX_MSG_ERROR: return "ERROR";
	case SBOX_MSG_KEEP_PUT: return "KEEP_PUT";
	case SBOX_MSG_KEEP_DEL: return "KEEP_DEL";
	case SBOX_MSG_KEEP_GET: return "KEEP_GET";
	case SBOX_MSG_KEEP_END: return "KEEP_END";
	case SBOX_MSG_KEEP_QUEUE: return "KEEP_QUEUE";
	default: return NULL;
	}
}

enum kind { K_NONE, K_U32, K_I32, K_U64, K_PAIR, K_STR, K_NEST };

struct attr_def {
	const char *name;
	enum kind kind;
};

static const struct attr_def attr_defs[SBOX_ATTR_MAX_] = {
	[SBOX_ATTR_JOB_ID] = { "JOB_ID", K_U64 },
	[SBOX_ATTR_ARGV] = { "ARGV", K_STR },
	[SBOX_ATTR_ENV] = { "ENV", K_STR },
	[SBOX_ATTR_CWD] = { "CWD", K_STR },
	[SBOX_ATTR_POLICY] = { "POLICY", K_STR },
	[SBOX_ATTR_NAME] = { "NAME", K_STR },
	[SBOX_ATTR_STDIN] = { "STDIN", K_U32 },
	[SBOX_ATTR_STDOUT] = { "STDOUT", K_U32 },
	[SBOX_ATTR_STDERR] = { "STDERR", K_U32 },
	[SBOX_ATTR_PASS_FD] = { "PASS_FD", K_PAIR },
	[SBOX_ATTR_BIND_FD] = { "BIND_FD", K_PAIR },
	[SBOX_ATTR_FLAGS] = { "FLAGS", K_U32 },
	[SBOX_ATTR_GPU_COUNT] = { "GPU_COUNT", K_U32 },
	[SBOX_ATTR_SIGNAL] = { "SIGNAL", K_U32 },
	[SBOX_ATTR_PID] = { "PID", K_U32 },
	[SBOX_ATTR_GPU] = { "GPU", K_U32 },
	[SBOX_ATTR_OUTCOME] = { "OUTCOME", K_U32 },
	[SBOX_ATTR_STATUS] = { "STATUS", K_I32 },
	[SBOX_ATTR_ERRNUM] = { "ERRNUM", K_U32 },
	[SBOX_ATTR_MESSAGE] = { "MESSAGE", K_STR },
	[SBOX_ATTR_OOM] = { "OOM", K_U32 },
	[SBOX_ATTR_TIMEOUT] = { "TIMEOUT", K_U32 },
	[SBOX_ATTR_MEM_PEAK] = { "MEM_PEAK", K_U64 },
	[SBOX_ATTR_CPU_USER_USEC] = { "CPU_USER_USEC", K_U64 },
	[SBOX_ATTR_CPU_SYS_USEC] = { "CPU_SYS_USEC", K_U64 },
	[SBOX_ATTR_OOM_KILLS] = { "OOM_KILLS", K_U64 },
	[SBOX_ATTR_PROTO_VERSION] = { "PROTO_VERSION", K_U32 },
	[SBOX_ATTR_SERVER_VERSION] = { "SERVER_VERSION", K_STR },
	[SBOX_ATTR_JOB] = { "JOB", K_NEST },
	[SBOX_ATTR_UID] = { "UID", K_U32 },
	[SBOX_ATTR_STATE] = { "STATE", K_U32 },
	[SBOX_ATTR_START_USEC] = { "START_USEC", K_U64 },
	[SBOX_ATTR_GPU_INFO] = { "GPU_INFO", K_NEST },
	[SBOX_ATTR_UUID] = { "UUID", K_STR },
	[SBOX_ATTR_TRUNCATED] = { "TRUNCATED", K_U32 },
	[SBOX_ATTR_WALL_USEC] = { "WALL_USEC", K_U64 },
	[SBOX_ATTR_GID] = { "GID", K_U32 },
	[SBOX_ATTR_BUS] = { "BUS", K_STR },
	[SBOX_ATTR_STATS_VALID] = { "STATS_VALID", K_U32 },
	[SBOX_ATTR_ERRCODE] = { "ERRCODE", K_U32 },
	[SBOX_ATTR_DEADLINE_USEC] = { "DEADLINE_USEC", K_U64 },
	[SBOX_ATTR_STATS_HAVE] = { "STATS_HAVE", K_U32 },
	[SBOX_ATTR_CGROUP_VERSION] = { "CGROUP_VERSION", K_U32 },
	[SBOX_ATTR_GROUP] = { "GROUP", K_U32 },
	[SBOX_ATTR_LAUNCH_TOKEN] = { "LAUNCH_TOKEN", K_U64 },
	[SBOX_ATTR_FEATURES] = { "FEATURES", K_U32 },
	[SBOX_ATTR_CGROUP_PATH] = { "CGROUP_PATH", K_STR },
	[SBOX_ATTR_VETH_BLOCK] = { "VETH_BLOCK", K_U32 },
	[SBOX_ATTR_TEARDOWN] = { "TEARDOWN", K_U32 },
	[SBOX_ATTR_PARKED_FDS] = { "PARKED_FDS", K_U32 },
	[SBOX_ATTR_NET_GROUP] = { "NET_GROUP", K_STR },
	[SBOX_ATTR_NET_GROUP_WORKER] = { "NET_GROUP_WORKER", K_U32 },
};

#define BIT(t) (1ULL << (t))
#define REPEATABLE (BIT(SBOX_ATTR_ARGV) | BIT(SBOX_ATTR_ENV) | BIT(SBOX_ATTR_PASS_FD) | \
		    BIT(SBOX_ATTR_BIND_FD) | BIT(SBOX_ATTR_GPU) | BIT(SBOX_ATTR_JOB) |   \
		    BIT(SBOX_ATTR_GPU_INFO) | BIT(SBOX_ATTR_GROUP))
#define STATS_ATTRS (BIT(SBOX_ATTR_STATS_VALID) | BIT(SBOX_ATTR_MEM_PEAK) |            \
		     BIT(SBOX_ATTR_CPU_USER_USEC) | BIT(SBOX_ATTR_CPU_SYS_USEC) |          \
		     BIT(SBOX_ATTR_OOM_KILLS) | BIT(SBOX_ATTR_WALL_USEC) |                 \
		     BIT(SBOX_ATTR_STATS_HAVE) | BIT(SBOX_ATTR_CGROUP_VERSION))
#define EXIT_ATTRS (BIT(SBOX_ATTR_OUTCOME) | BIT(SBOX_ATTR_STATUS) | BIT(SBOX_ATTR_ERRNUM) | \
		    BIT(SBOX_ATTR_MESSAGE) | BIT(SBOX_ATTR_OOM) | BIT(SBOX_ATTR_TIMEOUT) |  \
		    STATS_ATTRS)
#define JOB_ATTRS (BIT(SBOX_ATTR_JOB_ID) | BIT(SBOX_ATTR_UID) | BIT(SBOX_ATTR_GID) |      \
		   BIT(SBOX_ATTR_PID) | BIT(SBOX_ATTR_STATE) | BIT(SBOX_ATTR_FLAGS) |      \
		   BIT(SBOX_ATTR_START_USEC) | BIT(SBOX_ATTR_NAME) | BIT(SBOX_ATTR_GPU))
#define GPU_ATTRS (BIT(SBOX_ATTR_GPU) | BIT(SBOX_ATTR_UUID) | BIT(SBOX_ATTR_BUS) |         \
		   BIT(SBOX_ATTR_JOB_ID) | BIT(SBOX_ATTR_UID))

struct type_def {
	uint16_t type;
	uint64_t allowed, required;
	bool fds;                   /* may carry descriptors */
};

#define LAUNCH_ATTRS (BIT(SBOX_ATTR_ARGV) | BIT(SBOX_ATTR_ENV) | BIT(SBOX_ATTR_CWD) |          \
		      BIT(SBOX_ATTR_POLICY) | BIT(SBOX_ATTR_NAME) | BIT(SBOX_ATTR_STDIN) |     \
		      BIT(SBOX_ATTR_STDOUT) | BIT(SBOX_ATTR_STDERR) | BIT(SBOX_ATTR_PASS_FD) | \
		      BIT(SBOX_ATTR_BIND_FD) | BIT(SBOX_ATTR_FLAGS) | BIT(SBOX_ATTR_GPU_COUNT) | \
		      BIT(SBOX_ATTR_LAUNCH_TOKEN))

static const struct type_def type_defs[] = {
	{ SBOX_MSG_PING, 0, 0, false },
	{ SBOX_MSG_LAUNCH, LAUNCH_ATTRS, BIT(SBOX_ATTR_ARGV), true },
	{ SBOX_MSG_WAIT, BIT(SBOX_ATTR_JOB_ID) | BIT(SBOX_ATTR_LAUNCH_TOKEN), BIT(SBOX_ATTR_JOB_ID),
	  false },
	{ SBOX_MSG_SIGNAL, BIT(SBOX_ATTR_JOB_ID) | BIT(SBOX_ATTR_SIGNAL) | BIT(SBOX_ATTR_LAUNCH_TOKEN),
	  BIT(SBOX_ATTR_JOB_ID) | BIT(SBOX_ATTR_SIGNAL), false },
	{ SBOX_MSG_LIST, 0, 0, false },
	{ SBOX_MSG_STATS, BIT(SBOX_ATTR_JOB_ID), BIT(SBOX_ATTR_JOB_ID), false },
	{ SBOX_MSG_GPUS, 0, 0, false },
	{ SBOX_MSG_PLACE, BIT(SBOX_ATTR_POLICY) | BIT(SBOX_ATTR_NAME) | BIT(SBOX_ATTR_GPU_COUNT), 0,
	  false },
	{ SBOX_MSG_PONG, BIT(SBOX_ATTR_PROTO_VERSION) | BIT(SBOX_ATTR_SERVER_VERSION) |
	  BIT(SBOX_ATTR_FEATURES),
	  BIT(SBOX_ATTR_PROTO_VERSION), false },
	{ SBOX_MSG_LAUNCHED, BIT(SBOX_ATTR_JOB_ID) | BIT(SBOX_ATTR_PID) | BIT(SBOX_ATTR_GPU) |
	  BIT(SBOX_ATTR_STATE) | BIT(SBOX_ATTR_ENV),
	  BIT(SBOX_ATTR_JOB_ID) | BIT(SBOX_ATTR_PID), false },
	{ SBOX_MSG_EXIT, BIT(SBOX_ATTR_JOB_ID) | EXIT_ATTRS,
	  BIT(SBOX_ATTR_JOB_ID) | BIT(SBOX_ATTR_OUTCOME), false },
	{ SBOX_MSG_OK, BIT(SBOX_ATTR_JOB_ID), 0, false },
	{ SBOX_MSG_JOBS, BIT(SBOX_ATTR_JOB) | BIT(SBOX_ATTR_TRUNCATED), 0, false },
	{ SBOX_MSG_STATS_REPLY, BIT(SBOX_ATTR_JOB_ID) | BIT(SBOX_ATTR_STATE) | STATS_ATTRS,
	  BIT(SBOX_ATTR_JOB_ID), false },
	{ SBOX_MSG_GPU_LIST, BIT(SBOX_ATTR_GPU_INFO) | BIT(SBOX_ATTR_TRUNCATED), 0, false },
	{ SBOX_MSG_ERROR, BIT(SBOX_ATTR_ERRCODE) | BIT(SBOX_ATTR_ERRNUM) | BIT(SBOX_ATTR_MESSAGE),
	  BIT(SBOX_ATTR_ERRCODE) | BIT(SBOX_ATTR_MESSAGE), false },
	{ SBOX_MSG_KEEP_PUT, BIT(SBOX_ATTR_JOB) | BIT(SBOX_ATTR_DEADLINE_USEC) | EXIT_ATTRS |
	  BIT(SBOX_ATTR_LAUNCH_TOKEN) | BIT(SBOX_ATTR_CGROUP_PATH) | BIT(SBOX_ATTR_VETH_BLOCK) |
	  BIT(SBOX_ATTR_TEARDOWN) | BIT(SBOX_ATTR_NET_GROUP) | BIT(SBOX_ATTR_NET_GROUP_WORKER),
	  BIT(SBOX_ATTR_JOB), true },
	{ SBOX_MSG_KEEP_DEL, BIT(SBOX_ATTR_JOB_ID), BIT(SBOX_ATTR_JOB_ID), false },
	{ SBOX_MSG_KEEP_GET, 0, 0, false },
	{ SBOX_MSG_KEEP_END, BIT(SBOX_ATTR_FEATURES), 0, false },
	{ SBOX_MSG_KEEP_QUEUE, LAUNCH_ATTRS | BIT(SBOX_ATTR_JOB) | BIT(SBOX_ATTR_GROUP) |
	  BIT(SBOX_ATTR_PARKED_FDS),
	  BIT(SBOX_ATTR_ARGV) | BIT(SBOX_ATTR_JOB), true },
};

static const struct type_def *type_def_of(uint16_t type)
{
	for (size_t i = 0; i < SBOX_ARRAY_SIZE(type_defs); i++)
		if (type_defs[i].type == type)
			return &type_defs[i];
	return NULL;
}

struct cursor {
	const uint8_t *p;
	size_t left;
};

struct attr {
	uint16_t tag;
	const uint8_t *v;
	uint32_t len;
};

/* 1: an attribute; 0: the end; -1: malformed. */
static int next_attr(struct cursor *c, struct attr *a, const char *what, struct sbox_err *err)
{
	uint16_t flags;

	if (c->left == 0)
		return 0;
	if (c->left < SBOX_PROTO_ATTR_HDR_LEN)
		return sbox_fail(err, 0, "%s: %zu stray bytes after the last attribute", what, c->left);
	a->tag = get16(c->p);
	flags = get16(c->p + 2);
	a->len = get32(c->p + 4);
	if (flags != 0)
		return sbox_fail(err, 0, "%s: attribute %u has reserved flags 0x%x set", what, a->tag,
				 flags);
	if (a->len > c->left - SBOX_PROTO_ATTR_HDR_LEN)
		return sbox_fail(err, 0, "%s: attribute %u claims %u bytes, only %zu left", what,
				 a->tag, a->len, c->left - SBOX_PROTO_ATTR_HDR_LEN);
	a->v = c->p + SBOX_PROTO_ATTR_HDR_LEN;
	c->p += SBOX_PROTO_ATTR_HDR_LEN + a->len;
	c->left -= SBOX_PROTO_ATTR_HDR_LEN + a->len;
	return 1;
}

static int check_size(const struct attr *a, const char *what, struct sbox_err *err)
{
	static const uint32_t sizes[] = { [K_U32] = 4, [K_I32] = 4, [K_U64] = 8, [K_PAIR] = 8 };
	enum kind k = attr_defs[a->tag].kind;

	if (k == K_STR) {
		if (memchr(a->v, '\0', a->len))
			return sbox_fail(err, 0, "%s: %s holds a NUL byte", what, attr_defs[a->tag].name);
		return 0;
	}
	if (k == K_NEST)
		return 0;
	if (a->len != sizes[k])
		return sbox_fail(err, 0, "%s: %s is %u bytes, expected %u", what,
				 attr_defs[a->tag].name, a->len, sizes[k]);
	return 0;
}

static char *copy_str(const struct attr *a)
{
	char *s = malloc((size_t)a->len + 1);

	if (s) {
		memcpy(s, a->v, a->len);
		s[a->len] = '\0';
	}
	return s;
}

/* The state of one decode: which tags were seen, which fds were used. */
struct dctx {
	struct sbox_msg *m;
	const char *what;
	size_t nfds;                /* what fd indices count: the message's, or the park's */
	size_t msg_nfds;            /* the fds that came with the message */
	uint8_t fd_used[SBOX_PROTO_MAX_FDS];
	size_t argv_cap, env_cap;
	struct sbox_err *err;
};

static int use_fd(struct dctx *d, uint32_t index, const char *name)
{
	if (index >= d->nfds)
		return sbox_fail(d->err, 0, "%s: %s names fd #%u, but %zu arrived", d->what, name,
				 index, d->nfds);
	if (d->fd_used[index])
		return sbox_fail(d->err, 0, "%s: fd #%u is used twice", d->what, index);
	d->fd_used[index] = 1;
	return 0;
}

static int push_str(char ***v, size_t *n, size_t *cap, const struct attr *a, struct dctx *d)
{
	if (d->m->argc + d->m->n_env >= SBOX_PROTO_MAX_STRS)
		return sbox_fail(d->err, 0, "%s: more than %d argv and environment strings", d->what,
				 SBOX_PROTO_MAX_STRS);
	if (*n + 2 > *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		char **nv = realloc(*v, nc * sizeof(char *));

		if (!nv)
			return sbox_fail(d->err, ENOMEM, "%s", d->what);
		*v = nv;
		*cap = nc;
	}
	(*v)[*n] = copy_str(a);
	if (!(*v)[*n])
		return sbox_fail(d->err, ENOMEM, "%s", d->what);
	(*v)[++*n] = NULL;
	return 0;
}

static int set_str(char **field, const struct attr *a, struct dctx *d)
{
	*field = copy_str(a);
	return *field ? 0 : sbox_fail(d->err, ENOMEM, "%s", d->what);
}

static int env_ok(const char *s)
{
	const char *eq = strchr(s, '=');

	return eq && eq != s;
}

static int add_fdmap(struct sbox_msg_fdmap *arr, size_t *n, size_t max, const struct attr *a,
		     uint32_t key_max, struct dctx *d)
{
	const char *name = attr_defs[a->tag].name;
	uint32_t key = get32(a->v), index = get32(a->v + 4);

	if (*n >= max)
		return sbox_fail(d->err, 0, "%s: more than %zu %s attributes", d->what, max, name);
	if (a->tag == SBOX_ATTR_PASS_FD && (key < 3 || key > key_max))
		return sbox_fail(d->err, 0, "%s: PASS_FD target %u is outside 3..%u", d->what, key,
				 key_max);
	if (a->tag == SBOX_ATTR_BIND_FD && key > key_max)
		return sbox_fail(d->err, 0, "%s: BIND_FD ordinal %u is past %u", d->what, key, key_max);
	for (size_t i = 0; i < *n; i++)
		if (arr[i].key == key)
			return sbox_fail(d->err, 0, "%s: %s %u given twice", d->what, name, key);
	if (use_fd(d, index, name) < 0)
		return -1;
	arr[*n].key = key;
	arr[*n].index = index;
	(*n)++;
	return 0;
}

static int decode_job(struct dctx *d, const struct attr *outer)
{
	struct cursor c = { outer->v, outer->len };
	struct sbox_msg_job *arr, *j;
	struct attr a;
	uint64_t seen = 0;
	int r;

	if (d->m->n_jobs >= SBOX_PROTO_MAX_RECORDS)
		return sbox_fail(d->err, 0, "%s: more than %d JOB records", d->what,
				 SBOX_PROTO_MAX_RECORDS);
	arr = realloc(d->m->jobs, (d->m->n_jobs + 1) * sizeof(*arr));
	if (!arr)
		return sbox_fail(d->err, ENOMEM, "%s", d->what);
	d->m->jobs = arr;
	j = &arr[d->m->n_jobs++];
	memset(j, 0, sizeof(*j));
	while ((r = next_attr(&c, &a, d->what, d->err)) > 0) {
		if (a.tag >= SBOX_ATTR_MAX_ || attr_defs[a.tag].kind == K_NONE)
			continue;
		if (!(JOB_ATTRS & BIT(a.tag)))
			return sbox_fail(d->err, 0, "%s: %s is not allowed in a JOB record", d->what,
					 attr_defs[a.tag].name);
		if ((seen & BIT(a.tag)) && a.tag != SBOX_ATTR_GPU)
			return sbox_fail(d->err, 0, "%s: JOB record: %s given twice", d->what,
					 attr_defs[a.tag].name);
		seen |= BIT(a.tag);
		if (check_size(&a, d->what, d->err) < 0)
			return -1;
		switch (a.tag) {
		case SBOX_ATTR_JOB_ID: j->id = get64(a.v); break;
		case SBOX_ATTR_UID: j->uid = get32(a.v); break;
		case SBOX_ATTR_GID: j->gid = get32(a.v); break;
		case SBOX_ATTR_PID: j->pid = get32(a.v); break;
		case SBOX_ATTR_STATE: j->state = get32(a.v); break;
		case SBOX_ATTR_FLAGS: j->flags = get32(a.v); break;
		case SBOX_ATTR_START_USEC: j->start_usec = get64(a.v); break;
		case SBOX_ATTR_NAME:
			if (set_str(&j->name, &a, d) < 0)
				return -1;
			break;
		case SBOX_ATTR_GPU:
			if (j->n_gpus >= SBOX_PROTO_MAX_GPUS)
				return sbox_fail(d->err, 0, "%s: JOB record: more than %d GPUs", d->what,
						 SBOX_PROTO_MAX_GPUS);
			j->gpus[j->n_gpus++] = get32(a.v);
			break;
		default:
			break;
		}
	}
	if (r < 0)
		return -1;
	if (!(seen & BIT(SBOX_ATTR_JOB_ID)))
		return sbox_fail(d->err, 0, "%s: JOB record without JOB_ID", d->what);
	return 0;
}

static int decode_gpu(struct dctx *d, const struct attr *outer)
{
	struct cursor c = { outer->v, outer->len };
	struct sbox_msg_gpu *arr, *g;
	struct attr a;
	uint64_t seen = 0;
	int r;

	if (d->m->n_gpu_info >= SBOX_PROTO_MAX_RECORDS)
		return sbox_fail(d->err, 0, "%s: more than %d GPU_INFO records", d->what,
				 SBOX_PROTO_MAX_RECORDS);
	arr = realloc(d->m->gpu_info, (d->m->n_gpu_info + 1) * sizeof(*arr));
	if (!arr)
		return sbox_fail(d->err, ENOMEM, "%s", d->what);
	d->m->gpu_info = arr;
	g = &arr[d->m->n_gpu_info++];
	memset(g, 0, sizeof(*g));
	while ((r = next_attr(&c, &a, d->what, d->err)) > 0) {
		if (a.tag >= SBOX_ATTR_MAX_ || attr_defs[a.tag].kind == K_NONE)
			continue;
		if (!(GPU_ATTRS & BIT(a.tag)))
			return sbox_fail(d->err, 0, "%s: %s is not allowed in a GPU_INFO record", d->what,
					 attr_defs[a.tag].name);
		if (seen & BIT(a.tag))
			return sbox_fail(d->err, 0, "%s: GPU_INFO record: %s given twice", d->what,
					 attr_defs[a.tag].name);
		seen |= BIT(a.tag);
		if (check_size(&a, d->what, d->err) < 0)
			return -1;
		switch (a.tag) {
		case SBOX_ATTR_GPU: g->index = get32(a.v); break;
		case SBOX_ATTR_JOB_ID: g->job_id = get64(a.v); break;
		case SBOX_ATTR_UID: g->uid = get32(a.v); break;
		case SBOX_ATTR_UUID:
			if (set_str(&g->uuid, &a, d) < 0)
				return -1;
			break;
		case SBOX_ATTR_BUS:
			if (set_str(&g->bus, &a, d) < 0)
				return -1;
			break;
		default:
			break;
		}
	}
	if (r < 0)
		return -1;
	if (!(seen & BIT(SBOX_ATTR_GPU)))
		return sbox_fail(d->err, 0, "%s: GPU_INFO record without GPU", d->what);
	return 0;
}

static int decode_scalar(struct dctx *d, const struct attr *a)
{
	struct sbox_msg *m = d->m;
	uint32_t v32 = a->len == 4 ? get32(a->v) : 0;
	uint64_t v64 = a->len == 8 ? get64(a->v) : 0;

	switch (a->tag) {
	case SBOX_ATTR_JOB_ID: m->job_id = v64; m->has_job_id = true; break;
	case SBOX_ATTR_STDIN:
	case SBOX_ATTR_STDOUT:
	case SBOX_ATTR_STDERR:
		if (use_fd(d, v32, attr_defs[a->tag].name) < 0)
			return -1;
		m->stdio[a->tag - SBOX_ATTR_STDIN] = (int)v32;
		break;
	case SBOX_ATTR_FLAGS:
		if (m->hdr.type == SBOX_MSG_LAUNCH && (v32 & ~(uint32_t)SBOX_LAUNCH_ALL_FLAGS))
			return sbox_fail(d->err, 0, "%s: unknown FLAGS 0x%x", d->what,
					 v32 & ~(uint32_t)SBOX_LAUNCH_ALL_FLAGS);
		m->flags = v32;
		break;
	case SBOX_ATTR_GPU_COUNT:
		if (v32 > SBOX_PROTO_MAX_GPUS)
			return sbox_fail(d->err, 0, "%s: GPU_COUNT %u is more than %d", d->what, v32,
					 SBOX_PROTO_MAX_GPUS);
		m->gpu_count = v32;
		break;
	case SBOX_ATTR_SIGNAL:
		if (v32 < 1 || v32 > 64)
			return sbox_fail(d->err, 0, "%s: SIGNAL %u is not a signal number (1-64)",
					 d->what, v32);
		m->signal = v32;
		break;
	case SBOX_ATTR_PID: m->pid = v32; break;
	case SBOX_ATTR_GPU:
		if (m->n_gpus >= SBOX_PROTO_MAX_GPUS)
			return sbox_fail(d->err, 0, "%s: more than %d GPU attributes", d->what,
					 SBOX_PROTO_MAX_GPUS);
		m->gpus[m->n_gpus++] = v32;
		break;
	case SBOX_ATTR_OUTCOME:
		if (v32 < SBOX_OUTCOME_EXITED || v32 > SBOX_OUTCOME_LOST)
			return sbox_fail(d->err, 0, "%s: unknown OUTCOME %u", d->what, v32);
		m->outcome = v32;
		break;
	case SBOX_ATTR_STATUS: m->status = (int32_t)v32; break;
	case SBOX_ATTR_ERRNUM: m->errnum = v32; break;
	case SBOX_ATTR_OOM: m->oom = v32 != 0; break;
	case SBOX_ATTR_TIMEOUT: m->timeout = v32 != 0; break;
	case SBOX_ATTR_STATS_VALID: m->stats.valid = v32 != 0; break;
	case SBOX_ATTR_MEM_PEAK: m->stats.mem_peak = v64; break;
	case SBOX_ATTR_CPU_USER_USEC: m->stats.cpu_user_usec = v64; break;
	case SBOX_ATTR_CPU_SYS_USEC: m->stats.cpu_sys_usec = v64; break;
	case SBOX_ATTR_OOM_KILLS: m->stats.oom_kills = v64; break;
	case SBOX_ATTR_WALL_USEC: m->stats.wall_usec = v64; break;
	case SBOX_ATTR_STATS_HAVE: m->stats.have = v32; break;
	case SBOX_ATTR_CGROUP_VERSION: m->stats.cgroup_version = v32; break;
	case SBOX_ATTR_PROTO_VERSION: m->proto_version = v32; break;
	case SBOX_ATTR_STATE: m->state = v32; break;
	case SBOX_ATTR_TRUNCATED: m->truncated = v32 != 0; break;
	case SBOX_ATTR_ERRCODE: m->errcode = v32; break;
	case SBOX_ATTR_UID: m->uid = v32; break;
	case SBOX_ATTR_GID: m->gid = v32; break;
	case SBOX_ATTR_DEADLINE_USEC: m->deadline_usec = v64; break;
	case SBOX_ATTR_START_USEC: m->start_usec = v64; break;
	case SBOX_ATTR_LAUNCH_TOKEN: m->launch_token = v64; break;
	case SBOX_ATTR_FEATURES: m->features = v32; break;
	case SBOX_ATTR_VETH_BLOCK: m->veth_block = v32; break;
	case SBOX_ATTR_NET_GROUP_WORKER: m->net_group_worker = v32; break;
	case SBOX_ATTR_TEARDOWN: m->teardown = v32 != 0; break;
	case SBOX_ATTR_PARKED_FDS:
		/* The one fd is the park; the fd attributes that follow count
		 * the packet waiting in it. */
		if (d->msg_nfds != 1 || v32 > SBOX_PROTO_MAX_FDS)
			return sbox_fail(d->err, 0, "%s: PARKED_FDS %u with %zu fds (want the one park, and at most %d in it)",
					 d->what, v32, d->msg_nfds, SBOX_PROTO_MAX_FDS);
		for (size_t i = 0; i < d->msg_nfds; i++)
			if (d->fd_used[i])
				return sbox_fail(d->err, 0, "%s: PARKED_FDS after an fd attribute", d->what);
		m->parked = true;
		m->parked_fds = v32;
		d->nfds = v32;
		break;
	case SBOX_ATTR_GROUP:
		if (m->n_groups >= SBOX_PROTO_MAX_GROUPS)
			return sbox_fail(d->err, 0, "%s: more than %d GROUP attributes", d->what,
					 SBOX_PROTO_MAX_GROUPS);
		m->groups[m->n_groups++] = v32;
		break;
	default: break;
	}
	return 0;
}

static int decode_attr(struct dctx *d, const struct attr *a)
{
	struct sbox_msg *m = d->m;

	switch (a->tag) {
	case SBOX_ATTR_ARGV:
		return push_str(&m->argv, &m->argc, &d->argv_cap, a, d);
	case SBOX_ATTR_ENV:
		if (push_str(&m->env, &m->n_env, &d->env_cap, a, d) < 0)
			return -1;
		if (!env_ok(m->env[m->n_env - 1]))
			return sbox_fail(d->err, 0, "%s: ENV entry '%.64s' is not NAME=value", d->what,
					 m->env[m->n_env - 1]);
		return 0;
	case SBOX_ATTR_CWD: return set_str(&m->cwd, a, d);
	case SBOX_ATTR_POLICY: return set_str(&m->policy, a, d);
	case SBOX_ATTR_NAME:
		if (a->len > SBOX_PROTO_NAME_MAX)
			return sbox_fail(d->err, 0, "%s: NAME is longer than %d bytes", d->what,
					 SBOX_PROTO_NAME_MAX);
		return set_str(&m->name, a, d);
	case SBOX_ATTR_MESSAGE: return set_str(&m->message, a, d);
	case SBOX_ATTR_SERVER_VERSION: return set_str(&m->server_version, a, d);
	case SBOX_ATTR_CGROUP_PATH: return set_str(&m->cgroup_path, a, d);
	case SBOX_ATTR_NET_GROUP: return set_str(&m->net_group, a, d);
	case SBOX_ATTR_PASS_FD:
		return add_fdmap(m->pass, &m->n_pass, SBOX_PROTO_MAX_PASS, a,
				 SBOX_PROTO_MAX_FD_TARGET, d);
	case SBOX_ATTR_BIND_FD:
		return add_fdmap(m->binds, &m->n_binds, SBOX_PROTO_MAX_BINDS, a,
				 SBOX_PROTO_MAX_BINDS - 1, d);
	case SBOX_ATTR_JOB: return decode_job(d, a);
	case SBOX_ATTR_GPU_INFO: return decode_gpu(d, a);
	default: return decode_scalar(d, a);
	}
}

int sbox_msg_peek(const void *buf, size_t len, struct sbox_msg_hdr *h, struct sbox_err *err)
{
	const uint8_t *p = buf;

	if (len < SBOX_PROTO_HDR_LEN)
		return sbox_fail(err, 0, "message of %zu bytes is shorter than its %d-byte header", len,
				 SBOX_PROTO_HDR_LEN);
	h->magic = get32(p);
	h->version = get16(p + 4);
	h->type = get16(p + 6);
	h->seq = get32(p + 8);
	h->length = get32(p + 12);
	if (h->magic != SBOX_PROTO_MAGIC)
		return sbox_fail(err, 0, "not an sbox message (magic 0x%08x)", h->magic);
	if (h->length != len)
		return sbox_fail(err, 0, "message says %u bytes but %zu arrived (truncated?)", h->length,
				 len);
	return 0;
}

static void init_msg(struct sbox_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->stdio[0] = m->stdio[1] = m->stdio[2] = -1;
}

int sbox_msg_decode(const void *buf, size_t len, size_t nfds, struct sbox_msg *m,
		    struct sbox_err *err)
{
	struct dctx d = { .m = m, .nfds = nfds, .msg_nfds = nfds, .err = err };
	const struct type_def *td;
	struct cursor c;
	struct attr a;
	uint64_t seen = 0;
	char what[32];
	int r;

	init_msg(m);
	if (len > SBOX_PROTO_MAX_MSG)
		return sbox_fail(err, 0, "message of %zu bytes is over the %d-byte limit", len,
				 SBOX_PROTO_MAX_MSG);
	if (nfds > SBOX_PROTO_MAX_FDS)
		return sbox_fail(err, 0, "%zu fds in one message (at most %d)", nfds, SBOX_PROTO_MAX_FDS);
	if (sbox_msg_peek(buf, len, &m->hdr, err) < 0)
		return -1;
	if (m->hdr.version != SBOX_PROTO_VERSION)
		return sbox_fail(err, 0, "protocol version %u is not supported (this side speaks %d)",
				 m->hdr.version, SBOX_PROTO_VERSION);
	td = type_def_of(m->hdr.type);
	if (!td)
		return sbox_fail(err, 0, "unknown message type %u", m->hdr.type);
	snprintf(what, sizeof(what), "%s", sbox_msg_type_name(m->hdr.type));
	d.what = what;
	if (nfds > 0 && !td->fds) {
		sbox_fail(err, 0, "%s: carries %zu fds but takes none", what, nfds);
		goto fail;
	}
	c.p = (const uint8_t *)buf + SBOX_PROTO_HDR_LEN;
	c.left = len - SBOX_PROTO_HDR_LEN;
	while ((r = next_attr(&c, &a, what, err)) > 0) {
		/* Unknown tags are skipped: a later minor revision may add
		 * optional attributes without a new version number. */
		if (a.tag >= SBOX_ATTR_MAX_ || attr_defs[a.tag].kind == K_NONE)
			continue;
		if (!(td->allowed & BIT(a.tag))) {
			sbox_fail(err, 0, "%s: attribute %s is not allowed here", what,
				  attr_defs[a.tag].name);
			goto fail;
		}
		if ((seen & BIT(a.tag)) && !(REPEATABLE & BIT(a.tag))) {
			sbox_fail(err, 0, "%s: attribute %s given twice", what, attr_defs[a.tag].name);
			goto fail;
		}
		seen |= BIT(a.tag);
		if (check_size(&a, what, err) < 0 || decode_attr(&d, &a) < 0)
			goto fail;
	}
	if (r < 0)
		goto fail;
	if ((seen & td->required) != td->required) {
		for (unsigned t = 1; t < SBOX_ATTR_MAX_; t++)
			if ((td->required & BIT(t)) && !(seen & BIT(t))) {
				sbox_fail(err, 0, "%s: required attribute %s is missing", what,
					  attr_defs[t].name);
				break;
			}
		goto fail;
	}
	/* Keeper records carry the job's pidfd and sync socket (and its veth
	 * address lease), or nothing. */
	if (m->hdr.type == SBOX_MSG_KEEP_PUT) {
		if (nfds != 0 && nfds != 2 && nfds != 3) {
			sbox_fail(err, 0, "%s: carries %zu fds, expected 0, 2 or 3", what, nfds);
			goto fail;
		}
		return 0;
	}
	for (size_t i = 0; i < nfds && !m->parked; i++)
		if (!d.fd_used[i]) {
			sbox_fail(err, 0, "%s: fd #%zu arrived but no attribute uses it", what, i);
			goto fail;
		}
	if ((m->hdr.type == SBOX_MSG_LAUNCH || m->hdr.type == SBOX_MSG_KEEP_QUEUE) &&
	    m->argv[0][0] == '\0') {
		sbox_fail(err, 0, "%s: ARGV[0] is empty", what);
		goto fail;
	}
	return 0;
fail:
	sbox_msg_free(m);
	return -1;
}

void sbox_msg_free(struct sbox_msg *m)
{
	sbox_strv_free(m->argv);
	sbox_strv_free(m->env);
	free(m->cwd);
	free(m->policy);
	free(m->name);
	free(m->message);
	free(m->server_version);
	free(m->cgroup_path);
	free(m->net_group);
	for (size_t i = 0; i < m->n_jobs; i++)
		free(m->jobs[i].name);
	free(m->jobs);
	for (size_t i = 0; i < m->n_gpu_info; i++) {
		free(m->gpu_info[i].uuid);
		free(m->gpu_info[i].bus);
	}
	free(m->gpu_info);
	init_msg(m);
}
