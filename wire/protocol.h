/* SPDX-License-Identifier: MIT */
/*
 * The sboxd wire protocol (docs/protocol.md): one message per packet on a
 * SOCK_SEQPACKET Unix socket, file descriptors beside it (SCM_RIGHTS).
 *
 *   header  u32 magic "SBOX"  u16 version  u16 type  u32 seq  u32 length
 *   body    attributes: u16 tag  u16 flags(0)  u32 len  value[len]
 *
 * Little-endian throughout, no padding.  Encoding and decoding are pure
 * functions of bytes (no kernel, no global state), so the decoder is unit
 * tested and fuzzed on its own (tests/fuzz/fuzz_protocol.c): whatever the
 * bytes, it returns a fully checked struct sbox_msg or an error sentence,
 * and never reads past the packet.
 */
#ifndef SBOX_LAUNCHER_PROTOCOL_H
#define SBOX_LAUNCHER_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define SBOX_PROTO_MAGIC 0x584f4253u     /* "SBOX" as bytes on the wire */
#define SBOX_PROTO_VERSION 1
#define SBOX_PROTO_HDR_LEN 16
#define SBOX_PROTO_ATTR_HDR_LEN 8
/* A Unix seqpacket datagram must fit the sender's socket buffer (about
 * 208 KiB by default): 128 KiB leaves room and is far above any sane
 * argv + environment + policy. */
#define SBOX_PROTO_MAX_MSG (128 * 1024)
/* Below the kernel's SCM_MAX_FD (253): stdio + pass + binds. */
#define SBOX_PROTO_MAX_FDS 160
#define SBOX_PROTO_MAX_STRS 4096         /* argv + environment entries */
#define SBOX_PROTO_MAX_PASS 64
#define SBOX_PROTO_MAX_BINDS 64
#define SBOX_PROTO_MAX_GPUS 64           /* per job */
#define SBOX_PROTO_MAX_GROUPS 256        /* keeper records: a requester's groups */
#define SBOX_PROTO_MAX_FD_TARGET 1023
#define SBOX_PROTO_MAX_RECORDS 4096      /* jobs or GPUs in one reply */
#define SBOX_PROTO_NAME_MAX 64

/* Default socket (sboxd --socket, sboxrun --socket, $SBOX_SOCKET). */
#define SBOX_DEFAULT_SOCKET "/run/sbox/sboxd.sock"

enum sbox_msg_type {
	/* requests */
	SBOX_MSG_PING = 1,
	SBOX_MSG_LAUNCH = 2,
	SBOX_MSG_WAIT = 3,
	SBOX_MSG_SIGNAL = 4,
	SBOX_MSG_LIST = 5,
	SBOX_MSG_STATS = 6,
	SBOX_MSG_GPUS = 7,
	SBOX_MSG_PLACE = 8,             /* place the sender itself (zygotes); LAUNCHED */
	/* replies and events */
	SBOX_MSG_PONG = 0x81,
	SBOX_MSG_LAUNCHED = 0x82,
	SBOX_MSG_EXIT = 0x83,
	SBOX_MSG_OK = 0x84,
	SBOX_MSG_JOBS = 0x85,
	SBOX_MSG_STATS_REPLY = 0x86,
	SBOX_MSG_GPU_LIST = 0x87,
	SBOX_MSG_ERROR = 0xff,
	/* sboxd <-> its keeper (sboxd/recovery.c), never on the public socket */
	SBOX_MSG_KEEP_PUT = 0x201,
	SBOX_MSG_KEEP_DEL = 0x202,
	SBOX_MSG_KEEP_GET = 0x203,
	SBOX_MSG_KEEP_END = 0x204,
	SBOX_MSG_KEEP_QUEUE = 0x205,    /* a queued launch: its request, fds and who */
};

enum sbox_attr_tag {
	SBOX_ATTR_JOB_ID = 1,        /* u64 */
	SBOX_ATTR_ARGV = 2,          /* string, repeated in order */
	SBOX_ATTR_ENV = 3,           /* string NAME=value, repeated */
	SBOX_ATTR_CWD = 4,           /* string */
	SBOX_ATTR_POLICY = 5,        /* string: policy file text */
	SBOX_ATTR_NAME = 6,          /* string: a label for lists */
	SBOX_ATTR_STDIN = 7,         /* u32 fd index */
	SBOX_ATTR_STDOUT = 8,
	SBOX_ATTR_STDERR = 9,
	SBOX_ATTR_PASS_FD = 10,      /* u32 target number, u32 fd index */
	SBOX_ATTR_BIND_FD = 11,      /* u32 bind ordinal, u32 fd index */
	SBOX_ATTR_FLAGS = 12,        /* u32 SBOX_LAUNCH_* */
	SBOX_ATTR_GPU_COUNT = 13,    /* u32 */
	SBOX_ATTR_SIGNAL = 14,       /* u32 */
	SBOX_ATTR_PID = 15,          /* u32 */
	SBOX_ATTR_GPU = 16,          /* u32 index, repeated */
	SBOX_ATTR_OUTCOME = 17,      /* u32 enum sbox_outcome */
	SBOX_ATTR_STATUS = 18,       /* i32 wait status */
	SBOX_ATTR_ERRNUM = 19,       /* u32 */
	SBOX_ATTR_MESSAGE = 20,      /* string */
	SBOX_ATTR_OOM = 21,          /* u32 bool */
	SBOX_ATTR_TIMEOUT = 22,      /* u32 bool */
	SBOX_ATTR_MEM_PEAK = 23,     /* u64 bytes */
	SBOX_ATTR_CPU_USER_USEC = 24,/* u64 */
	SBOX_ATTR_CPU_SYS_USEC = 25, /* u64 */
	SBOX_ATTR_OOM_KILLS = 26,    /* u64 */
	SBOX_ATTR_PROTO_VERSION = 27,/* u32 */
	SBOX_ATTR_SERVER_VERSION = 28,/* string */
	SBOX_ATTR_JOB = 29,          /* nested: a job record */
	SBOX_ATTR_UID = 30,          /* u32 */
	SBOX_ATTR_STATE = 31,        /* u32 enum sbox_job_state */
	SBOX_ATTR_START_USEC = 32,   /* u64, CLOCK_REALTIME */
	SBOX_ATTR_GPU_INFO = 33,     /* nested: a GPU and its lease */
	SBOX_ATTR_UUID = 34,         /* string */
	SBOX_ATTR_TRUNCATED = 35,    /* u32 bool: the list did not fit */
	SBOX_ATTR_WALL_USEC = 36,    /* u64 */
	SBOX_ATTR_GID = 37,          /* u32 */
	SBOX_ATTR_BUS = 39,          /* string: PCI bus id */
	SBOX_ATTR_STATS_VALID = 40,  /* u32 bool: the figures were read */
	SBOX_ATTR_ERRCODE = 41,      /* u32 enum sbox_errcode */
	SBOX_ATTR_DEADLINE_USEC = 42,/* u64 (keeper records) */
	SBOX_ATTR_STATS_HAVE = 43,   /* u32 SBOX_STATS_* */
	SBOX_ATTR_CGROUP_VERSION = 44,/* u32: 2, 1, 0 (none: rusage) */
	SBOX_ATTR_GROUP = 45,        /* u32, repeated (keeper records) */
	SBOX_ATTR_LAUNCH_TOKEN = 46, /* u64: the client's name for a LAUNCH, to retry it */
	SBOX_ATTR_FEATURES = 47,     /* u32 SBOX_FEATURE_* (PONG) */
	SBOX_ATTR_CGROUP_PATH = 48,  /* string: a sandbox's cgroup (keeper records) */
	SBOX_ATTR_VETH_BLOCK = 49,   /* u32: its veth's address block (keeper records) */
	SBOX_ATTR_TEARDOWN = 50,     /* u32 bool: only its cgroup's removal is left (keeper records) */
	/* u32 (KEEP_QUEUE): the launch's fds wait parked (sboxd/park.c) in
	 * the record's one fd, a socket holding them as one packet; its fd
	 * attributes, which must follow, index that packet's fds. */
	SBOX_ATTR_PARKED_FDS = 51,
	/* string, u32 (keeper records): the PrivateNetwork=group: NAME its
	 * sandbox is a member of, and the uid its worker runs as (the group
	 * is keyed by the job's uid and that one). */
	SBOX_ATTR_NET_GROUP = 52,
	SBOX_ATTR_NET_GROUP_WORKER = 53,
	SBOX_ATTR_MAX_ = 54,
};

/* PONG FEATURES: what this sboxd does beyond version 1's first revision. */
enum {
	/* A LAUNCH carrying a LAUNCH_TOKEN the same user's job already has
	 * is answered with that job (LAUNCHED), not started again: a client
	 * may retry a launch it got no answer to. */
	SBOX_FEATURE_LAUNCH_TOKEN = 1 << 0,
};

/* KEEP_END FEATURES: what the keeper that answers takes. */
enum {
	/* KEEP_QUEUE records with PARKED_FDS.  A keeper from an sboxd before
	 * parks says nothing, and gets a queued launch's fds themselves. */
	SBOX_KEEPER_PARKS = 1 << 0,
	/* KEEP_PUT records with NET_GROUP.  A keeper from an sboxd before
	 * them says nothing, and is not sent them: it would refuse the
	 * record. */
	SBOX_KEEPER_NET_GROUPS = 1 << 1,
};

/* LAUNCH flags. */
enum {
	SBOX_LAUNCH_DETACH = 1 << 0,   /* outlive the connection; wait later */
	SBOX_LAUNCH_WAIT_GPU = 1 << 1, /* queue until the named GPU is free */
	SBOX_LAUNCH_ALL_FLAGS = 0x3,
};

/* A JOB record's FLAGS (LIST, the keeper): its LAUNCH flags, and PLACED
 * for a process PLACE put in a sandbox's cgroup. */
enum {
	SBOX_JOB_PLACED = 1 << 8,
};

/* How a job ended (EXIT). */
enum sbox_outcome {
	SBOX_OUTCOME_EXITED = 1,       /* status is the worker's wait status */
	SBOX_OUTCOME_SETUP_FAILED = 2, /* a set-up step failed; nothing ran */
	SBOX_OUTCOME_EXEC_FAILED = 3,  /* errnum from execve */
	SBOX_OUTCOME_KILLED = 4,       /* init died without a report; status its */
	SBOX_OUTCOME_LOST = 5,         /* sboxd could not learn the end */
};

enum sbox_job_state {
	SBOX_JOB_STARTING = 1,
	SBOX_JOB_RUNNING = 2,
	SBOX_JOB_ENDED = 3,
	SBOX_JOB_QUEUED = 4,           /* waiting for a GPU (--wait-gpu) */
};

/* ERROR classes, so that clients can act without parsing sentences. */
enum sbox_errcode {
	SBOX_E_PROTO = 1,       /* malformed message, bad fds */
	SBOX_E_VERSION = 2,     /* protocol version not spoken */
	SBOX_E_DENIED = 3,      /* not allowed (user, job of another user) */
	SBOX_E_BOUND = 4,       /* past a site bound */
	SBOX_E_BUSY = 5,        /* GPU leased, too many jobs or connections */
	SBOX_E_NOJOB = 6,       /* no such job */
	SBOX_E_POLICY = 7,      /* the policy text does not parse or validate */
	SBOX_E_LAUNCH = 8,      /* the sandbox could not be started */
	SBOX_E_INTERNAL = 9,
};

struct sbox_msg_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t seq;
	uint32_t length;
};

struct sbox_msg_fdmap {
	uint32_t key;       /* target fd number, or bind ordinal */
	uint32_t index;     /* into the message's fd array */
};

/* A sandbox's figures, as sandbox.h's struct sbox_stats. */
enum {
	SBOX_STATS_CPU = 1 << 0,
	SBOX_STATS_MEMORY_PEAK = 1 << 1,
	SBOX_STATS_OOM = 1 << 2,
};

struct sbox_msg_stats {
	bool valid;                 /* read at all */
	uint32_t have;              /* SBOX_STATS_* */
	uint32_t cgroup_version;
	uint64_t wall_usec, cpu_user_usec, cpu_sys_usec, mem_peak, oom_kills;
};

struct sbox_msg_job {
	uint64_t id;
	uint32_t uid, gid, pid, state, flags;
	uint64_t start_usec;
	char *name;
	uint32_t gpus[SBOX_PROTO_MAX_GPUS];
	size_t n_gpus;
};

struct sbox_msg_gpu {
	uint32_t index;
	char *uuid, *bus;
	uint64_t job_id;    /* 0: free */
	uint32_t uid;
};

/* A decoded message.  Which fields are meaningful depends on type; the
 * decoder has checked that exactly those were given (docs/protocol.md). */
struct sbox_msg {
	struct sbox_msg_hdr hdr;
	uint64_t job_id;
	bool has_job_id;
	/* LAUNCH */
	char **argv;                /* NULL-terminated */
	size_t argc;
	char **env;                 /* NULL-terminated */
	size_t n_env;
	char *cwd, *policy, *name;
	int stdio[3];               /* fd index, -1: none */
	struct sbox_msg_fdmap pass[SBOX_PROTO_MAX_PASS];
	size_t n_pass;
	struct sbox_msg_fdmap binds[SBOX_PROTO_MAX_BINDS];
	size_t n_binds;
	uint32_t flags, gpu_count;
	/* SIGNAL */
	uint32_t signal;
	/* STATS_REPLY */
	uint32_t state;
	/* LAUNCHED, EXIT, STATS_REPLY */
	uint32_t pid;
	uint32_t gpus[SBOX_PROTO_MAX_GPUS];
	size_t n_gpus;
	uint32_t outcome;
	int32_t status;
	uint32_t errnum;
	bool oom, timeout;
	struct sbox_msg_stats stats;
	/* ERROR */
	uint32_t errcode;
	char *message;
	/* PONG */
	uint32_t proto_version;
	uint32_t features;
	uint64_t launch_token;
	char *cgroup_path;
	uint32_t veth_block;
	char *net_group;
	uint32_t net_group_worker;
	bool teardown;
	bool parked;                /* PARKED_FDS: the fds are parked_fds */
	uint32_t parked_fds;
	char *server_version;
	/* JOBS, GPU_LIST */
	struct sbox_msg_job *jobs;
	size_t n_jobs;
	struct sbox_msg_gpu *gpu_info;
	size_t n_gpu_info;
	bool truncated;
	/* keeper records: the owner and the re-attach deadline */
	uint32_t uid, gid;
	uint64_t deadline_usec, start_usec;
	uint32_t groups[SBOX_PROTO_MAX_GROUPS];
	size_t n_groups;
};

/* Read and check the header only: magic, length == len.  The version is
 * returned, not checked, so that the caller can answer a client of another
 * version in a way it understands. */
int sbox_msg_peek(const void *buf, size_t len, struct sbox_msg_hdr *h, struct sbox_err *err);

/* Decode a whole packet that arrived with nfds descriptors.  Every fd
 * index must be < nfds and every fd must be used exactly once.  On error
 * m is left freed (sbox_msg_free is still safe to call). */
int sbox_msg_decode(const void *buf, size_t len, size_t nfds, struct sbox_msg *m,
		    struct sbox_err *err);
void sbox_msg_free(struct sbox_msg *m);

const char *sbox_msg_type_name(unsigned type);

/* Building a message (wire/build.c): errors stick in the builder, so that
 * a chain of puts is checked once, by sbox_mb_finish. */
struct sbox_mb {
	uint8_t *buf;
	size_t len, cap;
	int fds[SBOX_PROTO_MAX_FDS];
	size_t nfds;
	size_t nest;                /* offset of the open nested attribute + 1 */
	bool overflow;              /* past SBOX_PROTO_MAX_MSG or the fd cap */
	bool nomem;
};

/* Start a message.  The builder grows as needed up to SBOX_PROTO_MAX_MSG;
 * an attribute that doesn't fit sets overflow and is dropped. */
void sbox_mb_begin(struct sbox_mb *b, uint16_t type, uint32_t seq);
void sbox_mb_u32(struct sbox_mb *b, uint16_t tag, uint32_t v);
void sbox_mb_i32(struct sbox_mb *b, uint16_t tag, int32_t v);
void sbox_mb_u64(struct sbox_mb *b, uint16_t tag, uint64_t v);
void sbox_mb_pair(struct sbox_mb *b, uint16_t tag, uint32_t a, uint32_t c);
void sbox_mb_str(struct sbox_mb *b, uint16_t tag, const char *s);
void sbox_mb_bytes(struct sbox_mb *b, uint16_t tag, const void *p, size_t n);
/* Attach fd; returns its index, or -1 (overflow set) past the cap. */
int sbox_mb_fd(struct sbox_mb *b, int fd);
void sbox_mb_nest_begin(struct sbox_mb *b, uint16_t tag);
void sbox_mb_nest_end(struct sbox_mb *b);
/* Where the builder stands, to drop a record that made it overflow. */
size_t sbox_mb_mark(const struct sbox_mb *b);
void sbox_mb_rewind(struct sbox_mb *b, size_t mark);
/* Fill in the length.  -1 (err set) when the message overflowed. */
int sbox_mb_finish(struct sbox_mb *b, struct sbox_err *err);
void sbox_mb_free(struct sbox_mb *b);

/* Helpers shared by sboxd and libsbox. */
void sbox_mb_error(struct sbox_mb *b, uint32_t seq, uint32_t errcode, int errnum,
		   const char *message);
void sbox_mb_stats(struct sbox_mb *b, const struct sbox_msg_stats *s);

#endif
