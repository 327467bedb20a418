/* SPDX-License-Identifier: MIT */
/* Public: part of sandbox/'s face, which other rooms may include (docs/design.md). */
/*
 * The sandbox library: build a sandbox from a validated struct sbox_policy and
 * run a worker in it.  This header is the library's public face, with
 * gpu.h (the inventory and a launcher's choice of GPUs), host.h (the host's
 * totals), netns_pool.h and net_host.h (what a long-running launcher keeps
 * for the host's network): docs/design.md, "The public face of sandbox/".
 * Every other header of sandbox/ is internal to it.  Used by sboxrun (direct mode) and sboxd, and meant to
 * be usable by any other process (a Slurm plugin) — it never parses text,
 * never prints, never exits the calling process, and never blocks on the
 * child's set-up: sbox_spawn() returns right after clone, and the set-up's
 * outcome arrives as events on sbox_child_event_fd().
 */
#ifndef SBOX_SANDBOX_SANDBOX_H
#define SBOX_SANDBOX_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "policy/policy.h"
#include "policy/site.h"

/* Bind sources a prepared sandbox takes with its request (sbox_specialise(),
 * C6g): they travel in one message with stdio and up to 64 passed fds,
 * SCM_RIGHTS's 80 in all here.  A policy with more binds is never
 * prepared ahead (sboxd/shape.c). */
#define SBOX_POOL_MAX_BINDS 12

/* Who asks and with what: not policy, but the request's own facts. */
struct sbox_launch {
	char *const *argv;          /* argv[0] is looked up in the sandbox's PATH */
	int stdio[3];               /* fds that become 0, 1, 2 (-1: /dev/null) */
	const int *pass_fds;        /* extra fds kept open under their numbers */
	size_t n_pass_fds;
	const char *caller_cwd;     /* used when the policy names no WorkingDirectory */
	char *const *caller_env;    /* PassEnvironment= and TERM come from here */
	uid_t caller_uid;
	gid_t caller_gid;
	/* P1e, network: a long-running launcher's netns pool (sboxd), or
	 * NULL: PrivateNetwork=none then takes a prepared netns from it
	 * instead of creating one in the clone (sandbox/netns_pool.h). */
	struct sbox_netns_pool *netns_pool;
	/* A long-running launcher's veth reaper (sboxd), or NULL:
	 * a veth sandbox's end then leaves deleting the pair to the kernel
	 * and the reaper instead of waiting for it (sandbox/network.h). */
	struct sbox_net_reaper *net_reaper;
	/* P1d, P1e: the site configuration the privileged side read itself
	 * (sboxrun in direct mode, sboxd from its --config; never a
	 * client's): where the GPU inventory comes from, the veth address
	 * range.  NULL: discovery from /proc, /sys and /dev, and the
	 * defaults. */
	const struct sbox_site *site;
	/* P1d: the GPUs the launcher chose from its own inventory for GPUs=
	 * or --gpus N (sbox_gpu_select(), or sboxd's leases): the grant
	 * takes exactly these and never reads GPUs= itself.  NULL: no GPU (a
	 * policy naming some is then refused). */
	const struct sbox_gpu_selection *gpus;
	/* What a forkserver acting for a client (sboxd) needs.
	 * bind_src_fds: the client's own fds of its bind sources, indexed
	 * like policy->mounts (-1: none, allowed for an optional source):
	 * the sandbox binds exactly these and never resolves a source path
	 * as root.  pass_fd_targets: pass_fds[i] becomes fd
	 * pass_fd_targets[i] in the worker (NULL: the same number).
	 * close_fds: the launcher's own fds (listening socket, other
	 * clients, other sandboxes), closed first thing in the child (C0) so
	 * that no sandbox keeps them open.  survive_launcher: the sandbox
	 * outlives the launcher's death (no parent-death signal), for a
	 * daemon that keeps its jobs' channels elsewhere (docs/protocol.md,
	 * "Recovery"); its worker then starts only at sbox_child_run(),
	 * once the daemon has recorded the sandbox there. */
#define SBOX_FD_TARGET_MAX 1023
	const int *bind_src_fds;
	size_t n_bind_src_fds;
	const int *pass_fd_targets;
	const int *close_fds;
	size_t n_close_fds;
	bool survive_launcher;
	/* P1g: a launcher that may be SIGKILLed and has nobody to clean up
	 * after it (sboxrun) asks for a guard process that removes the
	 * sandbox's cgroup once the launcher and the sandbox are gone
	 * (sbox_cgroup_guard()).  sboxd sweeps instead. */
	bool cgroup_guard;
};

struct sbox_child;

enum sbox_event_kind {
	SBOX_EV_STARTED = 1,        /* the worker was exec'd */
	SBOX_EV_SETUP_FAILED,       /* a set-up step failed; nothing ran */
	SBOX_EV_EXEC_FAILED,        /* set-up done, execve() failed */
	SBOX_EV_EXITED,             /* the worker ended; status = wait status */
	SBOX_EV_EMPTIED,            /* after EXITED: nothing of the sandbox runs
				     * but init, which is exiting */
};

struct sbox_event {
	enum sbox_event_kind kind;
	int errnum;
	int status;
	pid_t worker_pid;           /* as seen inside the sandbox */
	char msg[SBOX_ERR_MSG_MAX];
};

/* The figures of a sandbox's life (sbox_child_stats()), for --stats,
 * --json-status and sboxd's reports: which limit ended a worker. */
enum {
	SBOX_STAT_CPU = 1 << 0,         /* cpu_user_usec, cpu_system_usec */
	SBOX_STAT_MEMORY_PEAK = 1 << 1, /* memory_peak */
	SBOX_STAT_OOM = 1 << 2,         /* oom_kills */
};

struct sbox_stats {
	unsigned have;              /* SBOX_STAT_* bits of the figures known */
	int cgroup_version;         /* 2, 1, or 0: no cgroup (figures from rusage) */
	uint64_t wall_usec;         /* from the request (S1c) to init's end (or to now) */
	uint64_t cpu_user_usec;
	uint64_t cpu_system_usec;
	uint64_t memory_peak;       /* bytes: v2 memory.peak, v1 memory.max_usage_in_bytes;
				     * without a cgroup the largest process's maxrss */
	uint64_t oom_kills;         /* processes the OOM killer ended in the sandbox */
};

/* Start a sandbox.  Returns once the child is cloned; *out owns it. */
int sbox_spawn(const struct sbox_policy *policy, const struct sbox_launch *launch,
	       struct sbox_child **out, struct sbox_err *err);

/* Prepare and specialise: sbox_spawn() is sbox_prepare() then
 * sbox_specialise(), back to back; a launcher that keeps a pool (sboxd)
 * prepares ahead, off its launch path, and specialises per request
 * (docs/design.md, "Prepare and specialise").
 *
 * sbox_prepare() does everything that does not depend on the request --
 * namespaces, ids, the compiled filter, devices, network, cgroup with its
 * limits and device set, the root view -- and returns after clone, as
 * sbox_spawn() does; init builds the sandbox and says PREPARED on
 * sbox_prepared_event_fd().  It reads launch's caller ids, site, pools,
 * GPU selection, close_fds and flags, never its argv, stdio, passed fds,
 * bind fds, cwd or environment: those are the request's.  It leaves the
 * policy's binds out: they come with the request.
 *
 * sbox_specialise() hands a request to a prepared sandbox: launch's argv,
 * caller_env, caller_cwd, stdio, passed fds and bind fds, with the
 * environment built for it from policy, which must be of the shape it was
 * prepared with (sboxd/shape.c): policy's hostname, WorkingDirectory=,
 * environment, limits' values and bind sources are the request's, the
 * rest must be the prepared one's.  It always consumes p: a failure
 * destroys the sandbox, which is never used again. */
struct sbox_prepared;
int sbox_prepare(const struct sbox_policy *policy, const struct sbox_launch *launch,
		 struct sbox_prepared **out, struct sbox_err *err);
int sbox_specialise(struct sbox_prepared *p, const struct sbox_policy *policy,
		    const struct sbox_launch *launch, struct sbox_child **out,
		    struct sbox_err *err);
/* Readable when init said PREPARED, failed, or ended. */
int sbox_prepared_event_fd(const struct sbox_prepared *p);
/* Every fd the prepared sandbox holds in the launcher, as sbox_child_fds(). */
size_t sbox_prepared_fds(const struct sbox_prepared *p, int *out);
/* 1: ready for a request; 0: not yet (a non-blocking fd had nothing);
 * -1: it failed or ended (err says why): free it. */
int sbox_prepared_read(struct sbox_prepared *p, struct sbox_err *err);
bool sbox_prepared_ready(const struct sbox_prepared *p);
/* Kill init, remove its cgroup, release everything. */
void sbox_prepared_free(struct sbox_prepared *p);
/* The same end in halves (sboxd's pool, which keeps the slow part off its
 * loop): init is sent SIGKILL, p's own parts are freed, and its sandbox
 * comes back for sbox_child_end() in a helper thread (the cgroup empties
 * as init goes), then sbox_child_free(), which reaps init.  NULL for a
 * p without one. */
struct sbox_child *sbox_prepared_kill(struct sbox_prepared *p);

/* Readable when an event (or the end of events) is pending. */
int sbox_child_event_fd(const struct sbox_child *c);
/* 1: *ev filled; 0: no more events (the sandbox's init is gone); -1: error. */
int sbox_child_read_event(struct sbox_child *c, struct sbox_event *ev, struct sbox_err *err);

/* Readable when the sandbox's init (its pid 1) has exited. */
int sbox_child_pidfd(const struct sbox_child *c);
/* Every fd the sandbox's object holds in the launcher (its event channel,
 * pidfd and mount namespace, its cgroup's directories, its network's netns
 * and locks), at
 * most SBOX_CHILD_FDS_MAX, into out; how many.  What a daemon lists in
 * sbox_launch.close_fds for the launches that follow: init closes them
 * first thing (C0), and as they lie side by side with the daemon's other
 * fds, in a few close_range(2) calls. */
#define SBOX_CHILD_FDS_MAX 17
size_t sbox_child_fds(const struct sbox_child *c, int *out);
/* The launcher holds the sandbox's mount namespace from the clone on, so
 * that unmounting its tree is not part of init's exit (which the worker's
 * reported exit waits for): the mounts outlive sbox_child_reap() until
 * sbox_child_end() or sbox_child_free() lets the namespace go, or until
 * whoever took it here closes it (-1: none held).  The last close of a
 * namespace may wait, as any close may, on a file system it holds the
 * last mount of (FUSE writing back): a daemon closes it off its loop. */
int sbox_child_take_mount_ns(struct sbox_child *c);
pid_t sbox_child_pid(const struct sbox_child *c);

/* S1d, for a sandbox launched with survive_launcher: its worker starts
 * only now.  A daemon calls it once its record of the sandbox is where a
 * successor finds it (sboxd's keeper), so a launch the daemon's death
 * interrupts either ran and is known, or never ran: its init exits when
 * the channel closes before this.  Sent again to an init past it (a
 * successor that can't tell), it is ignored.  A placed process: 0. */
int sbox_child_run(struct sbox_child *c, struct sbox_err *err);

/* Ask init to deliver sig to the worker (init forwards it). */
int sbox_child_signal(struct sbox_child *c, int sig, struct sbox_err *err);

/* Reap init once its pidfd is readable (or block): its wait status. */
int sbox_child_reap(struct sbox_child *c, int *status, struct sbox_err *err);

/* The sandbox's figures so far; final once init is reaped (call before
 * sbox_child_free()).  With a cgroup they are the cgroup's (every process
 * of the sandbox); without one, init's rusage. */
int sbox_child_stats(const struct sbox_child *c, struct sbox_stats *st, struct sbox_err *err);
/* The path of the sandbox's cgroup, NULL when it runs without one: what a
 * successor passes to sbox_child_adopt_cgroup(). */
const char *sbox_child_cgroup_path(const struct sbox_child *c);

/* The first SystemCallFilter= entry that takes a call out of the
 * profile's deny layer: an exact name the profile refuses (unshare), or
 * whose arguments it checks (ioctl, clone), and that is not among site's
 * entries (the site's own [Defaults]; NULL: none).  1 with the entry in
 * out, 0 when none does, -1 with err.  A site bound that keeps the filter
 * on (AllowNoSeccomp=no) refuses such a policy as it refuses
 * SeccompProfile=none. */
int sbox_seccomp_lifts_deny(const struct sbox_security *s, const struct sbox_strv *site,
			    char *out, size_t size, struct sbox_err *err);

/* --check=host: what the launch would resolve on this host, without
 * running anything.  sbox_check_paths(): bind sources (exist, readable by
 * the caller) and mount points (exist on the host's root, or lie in a
 * tmpfs of the sandbox), what holds whoever launches.  sbox_check_host():
 * those, then User=/Group= (in the host's databases, or mapped in a user
 * namespace), devices and GPUs (gpus: the launcher's choice, as
 * sbox_launch.gpus; NULL: GPUs= resolved here; every node checked),
 * DeviceAllow= (allowed to this launcher) and the cgroup limits (a cgroup
 * with them is made and removed again), in the launch's order.  0, or -1
 * with err saying what would fail the launch. */
int sbox_check_paths(const struct sbox_policy *p, struct sbox_err *err);
int sbox_check_host(const struct sbox_policy *p, const struct sbox_site *site,
		    const struct sbox_gpu_selection *gpus, struct sbox_err *err);
/* --check=host's note (sboxd logs it at start): what makes launches slower
 * on this host without failing them, as one sentence in note: cgroup
 * hierarchies mounted without favordynmods (Linux >= 6.0).  1 with a note,
 * 0 without.  _at: another mountinfo than /proc/self/mountinfo (tests). */
int sbox_check_host_note(char *note, size_t len);
int sbox_check_host_note_at(const char *mountinfo, char *note, size_t len);

/* A long-lived launcher (sboxd) at start: the cgroup v2 device program of
 * a sandbox granted no device, loaded once ahead into the process's cache
 * (sandbox/devices.c), so that the common launch finds it ready and adds
 * no fd of the launcher's.  Best effort: -1 with the reason, and launches
 * load it themselves. */
int sbox_devices_prepare_base(struct sbox_err *err);

/* Kill whatever is left of the sandbox, reap, release everything.  With a
 * cgroup: every process in it is killed (v2 cgroup.kill, v1 freeze + kill)
 * and the cgroup removed, waiting (bounded) for the processes to go. */
void sbox_child_free(struct sbox_child *c);

/* The same end in halves, for a launcher that keeps the slow part off its
 * main thread (sboxd's teardown).  After sbox_child_reap():
 * sbox_child_empty() says no process is left in its cgroup (one read per
 * directory; true without one); sbox_child_end() kills what is left, waits
 * (bounded) and removes the cgroup, and judges a kept pooled netns
 * (docs/security.md, "Recycled network namespaces") — system calls only,
 * no allocation, so a helper thread may run it beside a thread that
 * clones; -1 with err when the cgroup could not be removed (the sweep
 * takes it) or the netns is not clean (it is then closed).  Then, on the
 * main thread: sbox_child_recycled_netns() hands over the netns judged
 * clean (-1: none) and the owner it may go to (sbox_netns_pool_give()), and
 * sbox_child_free() frees the rest at once.  A prepared sandbox's init is
 * killed, not reaped, first (sbox_prepared_kill()): its netns is never
 * judged clean, and sbox_child_free() reaps it. */
bool sbox_child_empty(const struct sbox_child *c);
int sbox_child_end(struct sbox_child *c, struct sbox_err *err);
/* A launcher may also end the sandbox at its EMPTIED event, without
 * waiting for init's exit: init sends it after EXITED, once every other
 * process of the sandbox is killed and reaped (S4b), so only init,
 * exiting, is left.  The figures read then are the cgroup's final ones
 * (init's own use aside); sbox_child_end() reaps init before the cgroup
 * goes, and leaves the mount namespace to sbox_child_take_mount_ns() or
 * sbox_child_free().  False (reap it as usual) for an adopted init, a
 * placed process, a sandbox without a cgroup, whose figures are init's
 * rusage, and one with a veth or a network group, whose host-side state
 * goes back at the reap. */
bool sbox_child_end_at_emptied(struct sbox_child *c);
int sbox_child_recycled_netns(struct sbox_child *c, uint64_t *owner);

/* Recovery.  A launcher that may die with sandboxes running
 * (launched with survive_launcher) hands the sandbox's pidfd and event
 * channel to a keeper process; its successor rebuilds the child from
 * them.  An adopted child is not the successor's to reap (init was
 * reparented): sbox_child_reap() then only marks it ended, with *status
 * -1, and the events say how the worker ended.  Host-side network state
 * (a veth's address lease) is not carried over. */
int sbox_child_adopt(pid_t pid, int pidfd, int event_fd, struct sbox_child **out,
		     struct sbox_err *err);
/* ... and its cgroup (the sbox_cgroup_path() of the predecessor's child):
 * its figures are then the cgroup's, and sbox_child_free() removes it. */
int sbox_child_adopt_cgroup(struct sbox_child *c, const char *cgroup_path, struct sbox_err *err);
/* ... or only its end: a sandbox whose init its predecessor reaped, whose
 * cgroup (recorded path) was not removed yet; for sbox_child_end() and
 * sbox_child_free().  ENOENT: the cgroup is gone already. */
int sbox_child_adopt_end(const char *cgroup_path, struct sbox_child **out, struct sbox_err *err);
/* The flock()ed fd of a veth's address lease (-1: none) and its block, for
 * the keeper to hold while no launcher does; the successor gives it back
 * to the adopted child (which then owns fd and releases the lease when the
 * sandbox and its pair are gone: through reaper, as for the launcher's own
 * sandboxes, or at once with NULL). */
int sbox_child_lease(const struct sbox_child *c, uint32_t *block);
void sbox_child_adopt_lease(struct sbox_child *c, int fd, uint32_t block,
			    struct sbox_net_reaper *reaper);
/* The network group the sandbox is a member of (NULL: none), the uid it
 * was launched for and its worker's, for the keeper's record; a successor
 * gives them back to the adopted child, whose end then removes the group
 * if no member is left (-1 with err: not a group name). */
const char *sbox_child_group(const struct sbox_child *c, uid_t *owner, uid_t *worker);
int sbox_child_adopt_group(struct sbox_child *c, const char *name, uid_t owner, uid_t worker,
			   struct sbox_err *err);
/* Let go of a sandbox that lives on (its channels are held by a keeper):
 * close our fds and free, without killing it. */
void sbox_child_release(struct sbox_child *c);

#endif
