/* SPDX-License-Identifier: MIT */
/*
 * sboxd's insides, shared by its files (docs/protocol.md says what it does
 * on the wire; docs/man/sboxd.8 how to run it).  Calls flow one way, down
 * this list; no file calls one above it:
 *
 *   sboxd.c     main: options, site configuration, socket, start/stop
 *   loop.c      the event loop: epoll, signals, deadlines, netns pool
 *   conn.c      clients: accept, SO_PEERCRED, receive with fds, close
 *   jobs.c      the requests but LAUNCH; children's events and ends
 *   launch.c    LAUNCH, from a request to a running sandbox or a queued
 *               one (--wait-gpu), and the retries of queued launches;
 *               client_fds.c what the request's fds may be
 *   recovery.c  the keeper that outlives sboxd, and re-adoption
 *   pool.c      sandboxes prepared ahead, served to launches of their
 *               exact shape (shape.c), refilled when the loop is idle
 *   leases.c    the GPU inventory and exclusive leases
 *
 * and under them, used by whichever needs them (each calls only those
 * listed after it):
 *
 *   reply.c     replies to clients, queued without blocking
 *   state.c     job records, what a user holds, and the files of the
 *               state directory (job ids, keeper.pid)
 *   closer.c    closing clients' fds off the loop (a close may block)
 *   teardown.c  a sandbox's end (cgroup removal, netns check) off the loop
 *   base.c      clocks, the log, the epoll set, the peer's pid namespace
 *
 * Where a lower file needs an upper one to act, it says what happened and
 * its caller acts (leases_release: a GPU came free, so jobs.c retries the
 * queued launches; launch_retry_next: a queued launch was refused, so
 * jobs.c ends it), or it calls a hook the upper file set (conn_lost).
 *
 * One thread (and the closers, which only close, and the teardown
 * threads, which only end sandboxes the loop handed them).  Nothing here blocks on
 * a client or a child: sockets are non-blocking, sbox_spawn() returns
 * right after clone, and a child's set-up reports arrive as events.
 * Objects that the loop may still hold a pointer to in the current batch
 * of events are freed at its end (loop.c's reap_dead).
 */
#ifndef SBOX_LAUNCHER_DAEMON_H
#define SBOX_LAUNCHER_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "wire/protocol.h"
#include "policy/bounds.h"
#include "policy/site.h"
#include "sandbox/gpu.h"
#include "sandbox/sandbox.h"

#define SBOXD_MAX_GROUPS 256
#define SBOXD_OUTQ_MAX (1024 * 1024)       /* unread replies before a client is dropped */
/* Unread replies on all of a user's connections (root: none) before the
 * one that adds to them is dropped; looked at once a connection holds
 * SBOXD_OUTQ_USER_CHECK (reply.c). */
#define SBOXD_OUTQ_USER_MAX (8 * 1024 * 1024)
#define SBOXD_OUTQ_USER_CHECK (64 * 1024)
#define SBOXD_STOP_GRACE_USEC (5ULL * 1000000)
#define SBOXD_MAX_WAITS 4096                /* pending WAITs per connection, and per user but root */
#define SBOXD_MAX_EVENTS 256                /* events in one batch of the loop */
/* Packets read in one batch of events: per connection, and per user but
 * root on all its connections together (conn.c conn_on_event). */
#define SBOXD_PACKETS_PER_TURN 8

enum watch_kind {
	W_LISTEN = 1,
	W_SIGNAL,
	W_CONN,
	W_JOB_EVENT,
	W_JOB_PIDFD,
	W_KEEPER,
	W_TEARDOWN,
	W_POOL,
};

struct watch {
	enum watch_kind kind;
	void *obj;
};

struct outmsg {
	struct outmsg *next;
	size_t len;
	uint8_t data[];
};

struct conn {
	struct watch w;
	int fd;
	bool dead;
	struct sbox_requester who;          /* SO_PEERCRED, SO_PEERGROUPS */
	pid_t pid;                          /* the connecting process (SO_PEERCRED) */
	gid_t groups[SBOXD_MAX_GROUPS];
	char user_name[64];
	uint64_t last_active;               /* monotonic usec */
	struct outmsg *outq, *outq_tail;
	size_t outq_bytes;
	bool want_out;
	unsigned n_jobs;                    /* live, non-detached jobs it owns */
	unsigned n_waits;                   /* WAITs it has pending */
	bool place_only;                    /* nested, in its user's own pid ns: PLACE only */
	struct conn *prev, *next;
};

struct waiter {
	struct waiter *next;
	struct conn *conn;
	uint32_t seq;
};

/* A launch waiting for a GPU (--wait-gpu): what is needed to retry it. */
struct queued_launch {
	struct sbox_msg msg;                /* the decoded request */
	int park;                           /* the fds it carried (park.c) */
	size_t nfds;
	uint32_t seq;
	bool tried;                         /* in the current retry round */
	/* Its policy and bounds, judged once (launch.c still_waits()): a
	 * GPU that comes free asks every queued launch again, and parsing
	 * each one's text every time held the loop (found by review). */
	bool judged, bounds_ok;
	struct sbox_policy policy;
	struct sbox_requester who;          /* as it was at the request */
	gid_t groups[SBOXD_MAX_GROUPS];
	char user_name[64];
};

struct job {
	uint64_t id;
	uint64_t token;                     /* the client's LAUNCH_TOKEN; 0: none */
	uid_t uid;
	gid_t gid;
	char name[SBOX_PROTO_NAME_MAX + 1];
	struct conn *owner;                 /* NULL: detached, or lost its client */
	bool detached;
	bool dead;
	enum sbox_job_state state;
	struct sbox_child *child;
	bool placed;                        /* PLACE: the sender, not sboxd's child */
	struct watch w_event, w_pidfd;
	bool event_open;                    /* event fd still in epoll */
	pid_t pid;                          /* init, on the host */
	uint64_t start_real;                /* CLOCK_REALTIME usec */
	uint64_t start_mono;
	uint64_t reattach_deadline;         /* monotonic usec; 0: none */
	uint64_t runtime_deadline;          /* RuntimeMaxSec=: monotonic usec; 0: none */
	unsigned gpus[SBOX_PROTO_MAX_GPUS];
	size_t n_gpus;
	/* How it ended, once it has. */
	bool setup_failed, exec_failed, exited;
	bool emptied;               /* init's S4b: nothing else of it runs */
	uint32_t outcome;
	int32_t status;
	uint32_t errnum;
	char msg[SBOX_ERR_MSG_MAX];
	bool oom, timeout;
	struct sbox_msg_stats stats;
	struct waiter *waiters;
	struct queued_launch *queued;       /* state QUEUED */
	struct pool_note *pool_note;        /* its new shape, noted once STARTED */
	/* Its end runs in a teardown thread: the cgroup still to remove,
	 * which the keeper records until it is gone (the child's own copy,
	 * valid until the end is collected). */
	const char *ending_cgroup;
	/* A veth sandbox's end is told once its address is back: the
	 * reaper holds net_block until the pair is gone (jobs_on_net_reaped). */
	bool net_ending;
	uint32_t net_block;
	struct job *prev, *next;
};

struct leases {
	bool loaded;
	struct sbox_gpu_inventory inv;
	uint64_t *holder;                   /* job id per inventory GPU; 0: free */
	uid_t *holder_uid;
};

struct sboxd {
	struct sbox_site site;
	const char *config_path;
	const char *socket_path;
	bool foreground;
	int epfd, listen_fd, signal_fd, lock_fd;
	int spare_fd;                       /* given up to accept (and refuse) at EMFILE */
	struct watch w_listen, w_signal, w_keeper;
	bool stopping;
	uint64_t stop_deadline;
	struct conn *conns;
	unsigned n_conns;
	struct job *jobs;
	unsigned n_jobs;                    /* records, any state */
	unsigned n_net_ending;              /* jobs with net_ending */
	uint64_t next_job_id;
	uint64_t job_id_limit;              /* ids below it are reserved on disk */
	struct leases leases;
	struct sbox_netns_pool *netns_pool;
	struct sbox_net_reaper *net_reaper; /* veth teardown off the loop */
	struct pool *pool;                  /* prepared sandboxes; NULL: [Pool] Size=0 */
	int keeper_fd;                      /* -1: none (jobs then die with sboxd) */
	uint32_t keeper_features;           /* what it takes: SBOX_KEEPER_* */
	uint8_t *rxbuf;                     /* SBOX_PROTO_MAX_MSG + 1 */
	bool have_dead;                     /* a conn or job awaits freeing */
	/* No job's deadline (RuntimeMaxSec=, ReattachTimeoutSec=) falls
	 * before this (monotonic usec; 0: unknown): jobs_check_deadlines()
	 * walks the jobs only from then on, not on every turn of the loop,
	 * and job_set_deadline() lowers it. */
	uint64_t deadlines_from;
	uint64_t last_event;                /* monotonic usec of the loop's last event */
	/* What each user but root has had read in this batch of events:
	 * one user's many connections share one user's turn (conn.c). */
	struct served {
		uid_t uid;
		unsigned packets;
	} served[SBOXD_MAX_EVENTS];
	unsigned n_served;
	/* conn.c's conn_close, for reply.c: a reply that cannot be sent
	 * ends its connection, which also tells the jobs (set by conn.c
	 * before there is a connection). */
	void (*conn_lost)(struct sboxd *d, struct conn *c);
};

/* What MaxConnections= and MaxJobs= keep for root: users other than root
 * are refused that much earlier, so that root (an admin, a node agent)
 * always gets through. */
static inline unsigned sboxd_root_reserve(unsigned max)
{
	unsigned r = max / 16;

	if (r > 32)
		r = 32;
	return r == 0 && max > 1 ? 1 : r;
}

/* loop.c: the top, below main.  One turn of the loop: deadlines, then one
 * epoll_wait (for at most max_wait_ms; -1: until the next deadline) and
 * its events.  1: stopped; 0: go on; -1: failed.  sboxd_run turns it
 * until it stops. */
int sboxd_turn(struct sboxd *d, int max_wait_ms);
int sboxd_run(struct sboxd *d);
/* At the end: close every client, let go of every job (the keeper, if
 * any, holds the detached ones), free it all. */
void sboxd_drop_all(struct sboxd *d);

/* conn.c: a client's connection, from accept to close; its requests go
 * down to jobs_handle. */
void conn_accept(struct sboxd *d);
void conn_on_event(struct sboxd *d, struct conn *c, uint32_t events);
/* Marks it dead (freed at the end of the batch), ends its jobs that were
 * not detached (jobs_conn_gone), closes the socket. */
void conn_close(struct sboxd *d, struct conn *c);
void conn_check_idle(struct sboxd *d, uint64_t now, uint64_t *next);

/* jobs.c: every request but LAUNCH, and a job's life after its launch. */
/* A decoded request and the fds it carried (closed, or owned by the job
 * from here). */
void jobs_handle(struct sboxd *d, struct conn *c, struct sbox_msg *m, int *fds, size_t nfds);
void job_on_event(struct sboxd *d, struct job *j);
void job_on_exit(struct sboxd *d, struct job *j);
void jobs_conn_gone(struct sboxd *d, struct conn *c);
/* Free the waiters of connections marked dead (reap_dead, between
 * batches: no walk over a waiter list is under way then). */
void jobs_drop_dead_waiters(struct sboxd *d);
void jobs_check_deadlines(struct sboxd *d, uint64_t now, uint64_t *next);
/* Every deadline of a job is set here: *field = when (monotonic usec),
 * and sboxd's earliest-deadline mark lowered to it. */
void job_set_deadline(struct sboxd *d, uint64_t *field, uint64_t when);
/* Try the queued launches again (a GPU came free, or sboxd recovered
 * queued ones); a launch refused now ends as a set-up failure. */
void jobs_retry_queued(struct sboxd *d);
/* uid's ended records past MaxEndedJobsPerUser=, oldest first, dropped. */
void jobs_trim_ended(struct sboxd *d, uid_t uid);
void jobs_stop(struct sboxd *d);
/* The teardown threads finished ends (W_TEARDOWN): free those children,
 * give back what they held.  _finish: at the end, wait (bounded) for the
 * ends under way, then the same. */
void jobs_on_teardown(struct sboxd *d);
/* Tell the ends whose veth address the reaper has given back. */
void jobs_on_net_reaped(struct sboxd *d);
void jobs_finish_teardown(struct sboxd *d, unsigned timeout_ms);

/* A request refused: the code its client gets, and why. */
struct refusal {
	uint32_t code;
	struct sbox_err err;
};

static inline int refused(struct refusal *r, uint32_t code)
{
	r->code = code;
	return -1;
}

/* launch.c: LAUNCH (docs/protocol.md); the reply, or the refusal, is sent
 * from here. */
void launch_job(struct sboxd *d, struct conn *c, struct sbox_msg *m, int *fds, size_t nfds);
/* For place.c: LAUNCH's admission, and its policy steps (site defaults,
 * leases, bounds). */
struct job *launch_admit(struct sboxd *d, struct conn *c, const struct sbox_msg *m);
int launch_place_policy(struct sboxd *d, const struct sbox_requester *who,
			const struct sbox_msg *m, struct sbox_policy *p, unsigned *idx, size_t *n,
			uint32_t *code, struct sbox_err *err);
int launch_take_child(struct sboxd *d, struct job *j, struct sbox_child *child,
		      const struct sbox_policy *p, const unsigned *idx, size_t n,
		      struct sbox_err *err);
void launch_reply(struct sboxd *d, struct conn *c, uint32_t seq, const struct job *j,
		  char *const *env);

/* client_fds.c: what a client's fds may be, for launch.c (its steps 2 and
 * 4), never waiting on their file systems.  client_binds_check() fills
 * src[i] with the fd of the policy's i-th mount that is a bind (-1 for
 * the others) and holds each, and each passed directory, against
 * AllowBindPaths= by its real path on a mount of sboxd's own namespace. */
int client_stdio_check(const struct sbox_msg *m, const int *fds, struct refusal *r);
int client_binds_check(struct sboxd *d, const struct sbox_requester *who,
		       const struct sbox_msg *m, const int *fds, const struct sbox_policy *p,
		       int *src, struct refusal *r);

/* place.c: PLACE (docs/protocol.md): the sender moved into a sandbox's
 * cgroup, a job until it exits. */
void place_job(struct sboxd *d, struct conn *c, struct sbox_msg *m);
/* Whether the peer of fd (uid) lives in a pid namespace owned by a user
 * namespace that uid made itself (not the host's): a zygote's worker. */
bool place_peer_in_users_namespace(int fd, uid_t uid);

/* One step of a retry round: the first queued launch refused now (errnum
 * and msg say why), or NULL when the round is over. */
struct job *launch_retry_next(struct sboxd *d);

/* recovery.c: the keeper's records of live jobs, and taking them back. */
int keeper_start(struct sboxd *d, struct sbox_err *err);
void keeper_put(struct sboxd *d, struct job *j);
void keeper_del(struct sboxd *d, uint64_t id);
/* A job whose end was told (and that is forgotten) but whose cgroup a
 * teardown thread is still removing: kept as such until it is gone
 * (keeper_del), so that a successor removes it if sboxd dies first. */
void keeper_put_teardown(struct sboxd *d, const struct job *j);
void keeper_on_event(struct sboxd *d, uint32_t events);
int keeper_recover(struct sboxd *d, struct sbox_err *err);

/* pool.c: sandboxes prepared ahead ([Pool]).  pool_take: a sandbox for
 * this launch from the pool, specialised (1, *out), or 0: launch in full;
 * a shape the pool does not know comes back in *note, which the job keeps
 * (job.pool_note) until its worker STARTED: only then is the shape noted
 * for refills (pool_note_commit), so that a launch that fails can't make
 * room for itself in the pool (pool_note_free otherwise).  pool_refill_due says when the
 * loop should refill (monotonic usec; UINT64_MAX: nothing wanted), and
 * pool_refill prepares one sandbox, in an idle moment of the loop; pool_on_event reads a prepared init's
 * PREPARED or its end; pool_reap frees the records of the batch's dead
 * entries (reap_dead); pool_free ends them all (stop). */
struct pool;
struct pool_entry;
struct pool_note;
int pool_init(struct sboxd *d, struct sbox_err *err);
int pool_take(struct sboxd *d, const struct sbox_policy *p, const struct sbox_launch *l,
	      struct sbox_child **out, struct pool_note **note);
void pool_note_commit(struct sboxd *d, struct pool_note *n);
void pool_note_free(struct pool_note *n);
uint64_t pool_refill_due(const struct sboxd *d);
void pool_refill(struct sboxd *d);
void pool_on_event(struct sboxd *d, struct pool_entry *e);
void pool_reap(struct sboxd *d);
void pool_free(struct sboxd *d);
/* What a new init closes first (C0, sbox_launch.close_fds): sboxd's own
 * fds (daemon_own_fds()) and the prepared sandboxes' -- another user's
 * sync channel or mount namespace would otherwise stay open in it until
 * C6c, which closes everything but its own.  Allocated; NULL: no memory. */
int *init_close_fds(struct sboxd *d, size_t *n);

/* leases.c: which GPU each job holds. */
int leases_init(struct sboxd *d, struct sbox_err *err);
void leases_free(struct sboxd *d);
/* Choose GPUs for a policy and a count: indexes into *idx.  Returns 0,
 * -1 with err, or 1 when a GPU it needs is leased (err says by whom). */
int leases_choose(struct sboxd *d, const struct sbox_requester *who, struct sbox_policy *p,
		  unsigned count, unsigned *idx, size_t *n, struct sbox_err *err);
void leases_take(struct sboxd *d, const struct job *j);
/* True when a GPU came free: the caller retries the queued launches.
 * _id: those of a job whose record may be gone (its end finished off the
 * loop). */
bool leases_release(struct sboxd *d, const struct job *j);
bool leases_release_id(struct sboxd *d, uint64_t job_id);
/* The GPU_LIST reply to who's GPUS request, built in b for the caller to
 * send. */
void leases_list(struct sboxd *d, const struct sbox_requester *who, uint32_t seq,
		 struct sbox_mb *b);

/* reply.c: what every layer answers a client with.  Sending never blocks;
 * a failure closes the connection through d->conn_lost. */
void conn_send(struct sboxd *d, struct conn *c, struct sbox_mb *b);
void conn_send_error(struct sboxd *d, struct conn *c, uint32_t seq, uint32_t code, int errnum,
		     const char *msg);
void conn_flush(struct sboxd *d, struct conn *c);

/* state.c: the job records and the state directory. */
struct job *job_new(struct sboxd *d, uint64_t id);
void job_unlink(struct sboxd *d, struct job *j);
int job_track(struct sboxd *d, struct job *j, struct sbox_err *err);
/* S1d: tell the job's init that its worker may start (sbox_child_run()),
 * once the keeper has the job's record.  An init that can't be told is
 * ended (it ran nothing); one already gone says why in its events. */
void job_run_worker(struct job *j);
void job_record(struct sbox_mb *b, const struct job *j);
/* A job's end (outcome, status, errno, message, OOM, timeout, stats): the
 * same attributes in an EXIT reply and in the keeper's record. */
void job_put_end(struct sbox_mb *b, const struct job *j);
/* The fds sboxd holds, for sbox_launch.close_fds. */
int *daemon_own_fds(struct sboxd *d, size_t *n);
/* A queued launch's request and fds (its park closed through a closer). */
void queued_free(struct queued_launch *q);

/* park.c: a queued launch's fds, kept out of sboxd's fd table.  Park:
 * fds[nfds] sent into a new socket whose end *park holds them (the caller
 * still closes its own copies); -1 with errno.  Unpark: copies of them,
 * the packet left in place; -1 with errno (EMFILE: no room for them all;
 * EBADMSG: not nfds of them), nothing taken. */
int fds_park(const int *fds, size_t nfds, int *park);
int fds_unpark(int park, int *fds, size_t nfds, uid_t uid);
/* What a user holds of what all share: live connections; fds (its
 * connections and its queued launches' fds). */
unsigned sboxd_user_conns(const struct sboxd *d, uid_t uid);
/* The WAITs uid has pending, on all its connections. */
unsigned sboxd_user_waits(const struct sboxd *d, uid_t uid);
/* The bytes of uid's unread replies, on all its connections. */
size_t sboxd_user_outq(const struct sboxd *d, uid_t uid);
size_t sboxd_user_fds(const struct sboxd *d, uid_t uid);
/* Job ids are never handed out twice, also across restarts: ids_load()
 * reads the bound the last sboxd reserved, ids_take() hands out the next
 * id once the bound above it is on disk. */
int ids_load(struct sboxd *d, struct sbox_err *err);
int ids_take(struct sboxd *d, uint64_t *id, struct sbox_err *err);
/* dir/name := text, whole or not at all (temporary file, fsync, rename). */
int write_state_file(const char *dir, const char *name, const char *text,
		     struct sbox_err *err);

/* closer.c: closing fds.  A client's fd is closed by a closer thread,
 * never in the loop (a close may wait on a FUSE server), and charged to
 * uid, the user it came from, until its close returns. */
void sboxd_close_client_fd(int fd, uid_t uid);
void close_client_fds(int *fds, size_t n, uid_t uid);
/* A client's connection: what waits unread is dropped, then closed. */
void sboxd_close_client_socket(int fd, uid_t uid);
/* uid's closes queued or under way (stuck ones included). */
size_t sboxd_closer_pending(uid_t uid);
/* Whether sboxd takes no more fds from uid (never root): it has
 * SBOXD_CLOSES_PER_USER closes pending, or the threads are near their
 * cap.  *pending: its closes. */
#define SBOXD_CLOSES_PER_USER 32
bool sboxd_closer_held_up(uid_t uid, size_t *pending);
/* Before an init is cloned: wait (100 ms at most) until no client fd
 * handed to a closer is still in sboxd's fd table, where the init would
 * inherit it (and hang closing it). */
void sboxd_closer_before_clone(void);
/* Wait (up to timeout_ms) until every queued close is done: true if so. */
bool sboxd_closer_settle(unsigned timeout_ms);
/* Whether a close is queued or under way. */
bool sboxd_closer_busy(void);
void close_fds(int *fds, size_t n);

/* teardown.c: a sandbox's end off the loop (sbox_child_end() in a few
 * threads).  teardown_give(): the child is the threads' until collected;
 * false when the queue is full (or no thread could start): the caller
 * ends it itself.  lease_held rides along for the collector; job_id 0 is
 * a pool's prepared sandbox (pool.c), no job's. */
struct teardown_done {
	struct sbox_child *child;
	uint64_t job_id;
	uid_t uid;                          /* whose sandbox it was */
	bool lease_held;                    /* its GPUs go back when it is done */
	int r;                              /* sbox_child_end()'s */
	struct sbox_err err;
};
int teardown_start(struct sboxd *d, struct sbox_err *err);
bool teardown_give(struct sbox_child *c, uint64_t job_id, uid_t uid, bool lease_held);
/* One finished end into *out, or false when none is waiting. */
bool teardown_collect(struct teardown_done *out);
/* Handed over and not collected yet. */
size_t teardown_in_flight(void);
/* uid's ends handed over and not collected yet, when they are past its
 * share (64); else 0. */
size_t teardown_user_over_share(uid_t uid);
/* Wait (up to timeout_ms) until no end is pending or running. */
bool teardown_settle(unsigned timeout_ms);

/* base.c: under everything. */
uint64_t sboxd_now(void);                    /* monotonic usec */
uint64_t sboxd_now_real(void);
/* timeout_ms from now on CLOCK_REALTIME, for pthread_cond_timedwait(). */
struct timespec;
void sboxd_abstime(struct timespec *until, unsigned timeout_ms);
void sboxd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int sboxd_watch(struct sboxd *d, int fd, struct watch *w, uint32_t events);
void sboxd_unwatch(struct sboxd *d, int fd);
/* Is the process that connected fd in our pid namespace? */
bool sboxd_peer_in_our_pidns(int fd, pid_t pid);

#endif
