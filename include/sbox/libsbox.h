/* SPDX-License-Identifier: MIT */
/*
 * libsbox: the client library of sboxd, the sbox forkserver, for node agents
 * and other programs that start sandboxed jobs for users (docs/protocol.md).
 *
 *   struct sbox_client *c = sbox_client_new();
 *   sbox_client_connect(c, NULL);                  // $SBOX_SOCKET or the default
 *   struct sbox_job_spec s = SBOX_JOB_SPEC_INIT;
 *   s.argv = argv; s.policy = text; s.gpus = 1;
 *   struct sbox_job_info job;
 *   sbox_client_launch(c, &s, &job);
 *   struct sbox_job_exit ex;
 *   sbox_client_wait(c, job.id, &ex);
 *   int code = sbox_client_exit_code(&ex);          // as sboxrun would exit
 *
 * A job runs as the user of the connecting process (the daemon asks the
 * kernel, SO_PEERCRED), within the site's bounds.  Bind sources named by the
 * policy are opened by the library, as the caller, and passed to sboxd as
 * fds: a caller can only bind what it can open itself.  Jobs die when their
 * connection closes, unless launched with SBOX_JOB_DETACH.
 *
 * Every function returns 0 (or a count) on success and -1 on failure, with
 * a sentence in sbox_client_error() and a class in sbox_client_errcode().
 * A struct sbox_client is not thread-safe; use one per thread.
 *
 * Build: pkg-config --cflags --libs sbox
 */
#ifndef SBOX_LIBSBOX_H
#define SBOX_LIBSBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SBOX_CLIENT_PROTOCOL 1

struct sbox_client;

/* sbox_job_spec.flags */
#define SBOX_JOB_DETACH 0x1      /* outlive the connection; wait on it later */
#define SBOX_JOB_WAIT_GPU 0x2    /* queue until the GPUs asked for are free */

struct sbox_job_spec {
	const char *const *argv;     /* the command; argv[0] looked up in the sandbox's PATH */
	const char *const *envp;     /* the caller's environment, for PassEnvironment= and
					TERM (NULL: none); the worker's is built by policy */
	const char *cwd;             /* used when the policy has no WorkingDirectory= */
	const char *policy;          /* policy text ("[Sandbox]\nMemoryMax=4G\n"), or NULL */
	const char *name;            /* a label for listings (NULL: argv[0]'s base name) */
	int stdio[3];                /* the caller's fds for the worker's 0, 1, 2 (-1: /dev/null) */
	const int *pass_fds;         /* more of the caller's fds ... */
	const int *pass_targets;     /* ... as these numbers in the worker (NULL: the same) */
	size_t n_pass;
	unsigned gpus;               /* lease this many free GPUs (or name them: GPUs=) */
	unsigned flags;              /* SBOX_JOB_* */
};

#define SBOX_JOB_SPEC_INIT { .stdio = { -1, -1, -1 } }

/* sbox_job_info.state */
#define SBOX_STATE_STARTING 1
#define SBOX_STATE_RUNNING 2
#define SBOX_STATE_ENDED 3
#define SBOX_STATE_QUEUED 4        /* waiting for a GPU */

struct sbox_job_info {
	uint64_t id;
	pid_t pid;                   /* the sandbox's init on the host (0 while queued) */
	uid_t uid;
	gid_t gid;
	int state;
	unsigned flags;              /* SBOX_JOB_DETACH */
	uint64_t start_usec;         /* CLOCK_REALTIME */
	char name[65];
	unsigned gpus[64];           /* leased GPUs, by index (sboxrun --leases) */
	size_t n_gpus;
};

/* sbox_job_stats.have */
#define SBOX_STATS_HAVE_CPU 0x1
#define SBOX_STATS_HAVE_MEMORY_PEAK 0x2
#define SBOX_STATS_HAVE_OOM 0x4

struct sbox_job_stats {
	int valid;                   /* figures were read at all */
	unsigned have;               /* SBOX_STATS_HAVE_*: which of them */
	int cgroup_version;          /* 2, 1; 0: no cgroup (from rusage) */
	uint64_t wall_usec;          /* always */
	uint64_t cpu_user_usec;
	uint64_t cpu_system_usec;
	uint64_t memory_peak;        /* bytes */
	uint64_t oom_kills;
};

/* sbox_job_exit.outcome */
#define SBOX_END_EXITED 1          /* status: the worker's wait status */
#define SBOX_END_SETUP_FAILED 2    /* message: what failed; nothing ran */
#define SBOX_END_EXEC_FAILED 3     /* errnum: why the command could not run */
#define SBOX_END_KILLED 4          /* status: the sandbox's init's wait status */
#define SBOX_END_LOST 5            /* sboxd could not learn how it ended */

struct sbox_job_exit {
	uint64_t id;
	int outcome;
	int status;
	int errnum;
	char message[1024];
	int oom;
	int timeout;
	struct sbox_job_stats stats;
};

struct sbox_gpu_lease {
	unsigned index;
	char uuid[96];
	char bus[32];
	uint64_t job;                /* 0: free; SBOX_LEASE_OTHER: another user's job */
	uid_t uid;                   /* the holder's (only for your own jobs, or root) */
};

/* The job id of a GPU leased by another user's job: which GPUs are busy is
 * shown to everyone, whose jobs hold them only to their owner and root. */
#define SBOX_LEASE_OTHER UINT64_MAX

/* sbox_client_errcode() */
#define SBOX_ERR_PROTO 1           /* a malformed message */
#define SBOX_ERR_VERSION 2         /* protocol versions differ */
#define SBOX_ERR_DENIED 3          /* this user may not */
#define SBOX_ERR_BOUND 4           /* past a bound of the site configuration */
#define SBOX_ERR_BUSY 5            /* a GPU is leased, too many jobs or connections */
#define SBOX_ERR_NOJOB 6
#define SBOX_ERR_POLICY 7          /* the policy text is wrong */
#define SBOX_ERR_LAUNCH 8          /* the sandbox could not be started */
#define SBOX_ERR_INTERNAL 9
#define SBOX_ERR_LOCAL 100         /* on this side: a bind source, a bad argument */
#define SBOX_ERR_GONE 101          /* the connection to sboxd is lost */

const char *sbox_client_version(void);
/* $SBOX_SOCKET, else /run/sbox/sboxd.sock. */
const char *sbox_client_default_socket(void);

struct sbox_client *sbox_client_new(void);
void sbox_client_free(struct sbox_client *c);
/* path NULL: sbox_client_default_socket(). */
int sbox_client_connect(struct sbox_client *c, const char *path);
int sbox_client_fd(const struct sbox_client *c);
const char *sbox_client_error(const struct sbox_client *c);
int sbox_client_errcode(const struct sbox_client *c);
int sbox_client_errno(const struct sbox_client *c);

int sbox_client_ping(struct sbox_client *c, unsigned *protocol, char *server, size_t len);
/* When the connection is lost before sboxd answers (a restart), the same
 * launch is sent again to the successor for up to 30 s, under a token that
 * keeps it from being started twice (docs/protocol.md, "Retrying a
 * launch"); c is then connected to the successor. */
int sbox_client_launch(struct sbox_client *c, const struct sbox_job_spec *spec,
		       struct sbox_job_info *info);
/* PLACE: move the calling process itself (the connection's peer, as the
 * kernel recorded it at connect) into a new sandbox cgroup with the
 * policy's limits and device rules and gpus leased GPUs (or GPUs=), under
 * the site's defaults and bounds: a zygote worker's first step
 * (include/sbox/zygote.h).  The job lives until the process exits; info
 * gets its id and the GPUs leased (indexes in sboxd's inventory); env
 * (may be NULL) the resolved policy's Environment= as "K=V\n" lines.
 * Refused for a process already in a sandbox. */
int sbox_client_place(struct sbox_client *c, const char *policy, unsigned gpus,
		      struct sbox_job_info *info, char *env, size_t env_len);
/* Ask for a job's end without waiting; sbox_client_next_exit() gets it. */
int sbox_client_watch(struct sbox_client *c, uint64_t job);
/* The next end of a watched job: 1, 0 on timeout (ms; -1 waits), -1. */
int sbox_client_next_exit(struct sbox_client *c, struct sbox_job_exit *ex, int timeout_ms);
/* Watch one job and wait for its end (others' ends stay queued). */
int sbox_client_wait(struct sbox_client *c, uint64_t job, struct sbox_job_exit *ex);
int sbox_client_signal(struct sbox_client *c, uint64_t job, int sig);
/* The caller's jobs (root: all).  Free *jobs with free(). */
int sbox_client_list(struct sbox_client *c, struct sbox_job_info **jobs, size_t *n);
int sbox_client_stats(struct sbox_client *c, uint64_t job, struct sbox_job_stats *st, int *state);
/* The GPUs and who holds them.  Free *gpus with free(). */
int sbox_client_leases(struct sbox_client *c, struct sbox_gpu_lease **gpus, size_t *n);

/* sboxrun's exit code for an end: the worker's code; 128+N when killed by
 * signal N; 125 when the sandbox could not be set up; 126 when the command
 * could not be executed; 127 when it was not found. */
int sbox_client_exit_code(const struct sbox_job_exit *ex);

#ifdef __cplusplus
}
#endif
#endif
