/* SPDX-License-Identifier: MIT */
/*
 * The launch layer of sboxd, faked for the stateful fuzzer (fuzz_daemon.c):
 * the same functions sandbox/ exports to sboxd/ (sbox_spawn, the
 * sbox_child_* calls, the netns pool, the GPU inventory), with no clone,
 * no namespace and no privilege.  A fake sandbox is a pair of channels of
 * the same kind sboxd sees from a real one: an event socket (SEQPACKET,
 * one struct sbox_event a packet) and a "pidfd" (a pipe's read end that
 * turns readable when the fake init ends).  The fuzzer makes sandboxes
 * start, fail and end through fake_*().
 *
 * The seam is the link: only the fuzzer's binary is built from this file
 * (Makefile, `make fuzz`); sboxd links sandbox/.  Nothing a client sends
 * reaches it.
 *
 * It also checks what sboxd hands the launch layer: every fd a launch
 * names (stdio, passed, bind sources, sboxd's own) is open at the call.
 */
#include "tests/fuzz/fake_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox/gpu.h"
#include "sandbox/host.h"
#include "sandbox/net_host.h"
#include "sandbox/netns_pool.h"
#include "sandbox/sandbox.h"
#include "sandbox/zygote.h"

struct sbox_child {
	int ev[2];              /* [0] sboxd reads, [1] the fake init writes */
	int pid_pipe[2];        /* [0] the "pidfd"; [1] closed when init ends */
	pid_t pid;
	int status;             /* wait status once ended */
	bool ended;
	struct sbox_child *next;
};

static struct sbox_child *children;
static size_t n_children;
static pid_t next_pid = 1000;
bool fake_spawn_fails;

static void must_be_open(int fd)
{
	if (fd >= 0 && fcntl(fd, F_GETFD) < 0)
		__builtin_trap();   /* sboxd handed on an fd it had closed */
}

int sbox_spawn(const struct sbox_policy *policy, const struct sbox_launch *l,
	       struct sbox_child **out, struct sbox_err *err)
{
	struct sbox_child *c;

	(void)policy;
	for (int i = 0; i < 3; i++)
		must_be_open(l->stdio[i]);
	for (size_t i = 0; i < l->n_pass_fds; i++)
		must_be_open(l->pass_fds[i]);
	for (size_t i = 0; i < l->n_bind_src_fds; i++)
		must_be_open(l->bind_src_fds[i]);
	for (size_t i = 0; i < l->n_close_fds; i++)
		must_be_open(l->close_fds[i]);
	if (fake_spawn_fails)
		return sbox_fail(err, EAGAIN, "fake: clone failed");
	c = calloc(1, sizeof(*c));
	if (!c)
		return sbox_fail(err, ENOMEM, "fake: child");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c->ev) < 0) {
		free(c);
		return sbox_fail(err, errno, "fake: event channel");
	}
	if (pipe2(c->pid_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		close(c->ev[0]);
		close(c->ev[1]);
		free(c);
		return sbox_fail(err, errno, "fake: pidfd");
	}
	c->pid = next_pid++;
	c->next = children;
	children = c;
	n_children++;
	*out = c;
	return 0;
}

int sbox_child_event_fd(const struct sbox_child *c)
{
	return c->ev[0];
}

int sbox_child_read_event(struct sbox_child *c, struct sbox_event *ev, struct sbox_err *err)
{
	ssize_t n = recv(c->ev[0], ev, sizeof(*ev), MSG_DONTWAIT);

	if (n < 0)
		return sbox_fail(err, errno, "fake: reading an event");
	if (n == 0)
		return 0;
	if ((size_t)n != sizeof(*ev))
		return sbox_fail(err, EPROTO, "fake: short event");
	return 1;
}

int sbox_child_pidfd(const struct sbox_child *c)
{
	return c->pid_pipe[0];
}

/* The fds the fake holds that sboxd's listing of its own fds must name. */
size_t sbox_child_fds(const struct sbox_child *c, int *out)
{
	size_t k = 0;

	if (c->ev[0] >= 0)
		out[k++] = c->ev[0];
	if (c->pid_pipe[0] >= 0)
		out[k++] = c->pid_pipe[0];
	return k;
}

/* The fake has no mount namespace to hold. */
int sbox_child_take_mount_ns(struct sbox_child *c)
{
	(void)c;
	return -1;
}

pid_t sbox_child_pid(const struct sbox_child *c)
{
	return c->pid;
}

static void fake_end(struct sbox_child *c, int status)
{
	if (c->ended)
		return;
	c->ended = true;
	c->status = status;
	if (c->ev[1] >= 0)
		close(c->ev[1]);
	c->ev[1] = -1;
	close(c->pid_pipe[1]);
	c->pid_pipe[1] = -1;
}

int sbox_child_run(struct sbox_child *c, struct sbox_err *err)
{
	/* The fake's worker "runs" from the spawn on. */
	(void)c;
	(void)err;
	return 0;
}

int sbox_child_signal(struct sbox_child *c, int sig, struct sbox_err *err)
{
	if (sig <= 0 || sig >= 65)
		return sbox_fail(err, EINVAL, "fake: signal %d", sig);
	/* init forwards it; SIGKILL ends the sandbox at once. */
	if (sig == SIGKILL)
		fake_end(c, SIGKILL);
	return 0;
}

int sbox_child_reap(struct sbox_child *c, int *status, struct sbox_err *err)
{
	/* sboxd reaps only once the pidfd said init is gone: a real reap
	 * of a live init would block the loop. */
	if (!c->ended)
		__builtin_trap();
	*status = c->status;
	(void)err;
	return 0;
}

int sbox_child_stats(const struct sbox_child *c, struct sbox_stats *st, struct sbox_err *err)
{
	(void)c;
	(void)err;
	memset(st, 0, sizeof(*st));
	return 0;
}

const char *sbox_child_cgroup_path(const struct sbox_child *c)
{
	(void)c;
	return NULL;
}

void sbox_child_free(struct sbox_child *c)
{
	struct sbox_child **p;

	if (!c)
		return;
	for (p = &children; *p && *p != c; p = &(*p)->next)
		;
	if (!*p)
		__builtin_trap();   /* freed twice, or never spawned */
	*p = c->next;
	n_children--;
	close(c->ev[0]);
	if (c->ev[1] >= 0)
		close(c->ev[1]);
	close(c->pid_pipe[0]);
	if (c->pid_pipe[1] >= 0)
		close(c->pid_pipe[1]);
	free(c);
}

/* The end in halves: nothing slow to do here (sboxd's teardown threads
 * run it when started; the fuzzer starts none, so the loop does). */
bool sbox_child_empty(const struct sbox_child *c)
{
	(void)c;
	return true;
}

int sbox_child_end(struct sbox_child *c, struct sbox_err *err)
{
	(void)c;
	(void)err;
	return 0;
}

/* Half the fake inits may end at EMPTIED (the fuzzer sends it among
 * the events), the others at their "pidfd" only. */
bool sbox_child_end_at_emptied(struct sbox_child *c)
{
	return (c->pid & 1) != 0;
}

int sbox_child_adopt_end(const char *cgroup_path, struct sbox_child **out, struct sbox_err *err)
{
	(void)cgroup_path;
	*out = NULL;
	return sbox_fail(err, ENOENT, "fake: no cgroups");
}

int sbox_child_recycled_netns(struct sbox_child *c, uint64_t *owner)
{
	(void)c;
	(void)owner;
	return -1;
}

void sbox_child_release(struct sbox_child *c)
{
	sbox_child_free(c);
}

int sbox_child_adopt(pid_t pid, int pidfd, int event_fd, struct sbox_child **out,
		     struct sbox_err *err)
{
	(void)pid;
	(void)pidfd;
	(void)event_fd;
	(void)out;
	return sbox_fail(err, ENOSYS, "fake: no adoption");
}

/* PLACE (sboxd/place.c): the fuzzer's peers are its own threads' ends,
 * never placed; the request goes through sboxd's admission and policy
 * steps and is refused here. */
int sbox_zygote_place_peer(const struct sbox_policy *p, const struct sbox_launch *l,
			   int peer_pidfd, struct sbox_child **out, struct sbox_err *err)
{
	(void)p;
	(void)l;
	must_be_open(peer_pidfd);
	*out = NULL;
	return sbox_fail(err, ENOSYS, "fake: no placement");
}

void sbox_zygote_mark_placed(struct sbox_child *c)
{
	(void)c;
}

/* Adoption is never reached here (sbox_child_adopt fails), nor is a
 * child's cgroup or veth lease: sboxd in the fuzzer has neither. */
int sbox_child_adopt_cgroup(struct sbox_child *c, const char *cgroup_path, struct sbox_err *err)
{
	(void)c;
	(void)cgroup_path;
	return sbox_fail(err, ENOSYS, "fake: no adoption");
}

int sbox_child_lease(const struct sbox_child *c, uint32_t *block)
{
	(void)c;
	(void)block;
	return -1;
}

void sbox_child_adopt_lease(struct sbox_child *c, int fd, uint32_t block,
			    struct sbox_net_reaper *reaper)
{
	(void)c;
	(void)block;
	(void)reaper;
	if (fd >= 0)
		close(fd);
}

/* No network groups in the fuzzer either. */
const char *sbox_child_group(const struct sbox_child *c, uid_t *owner, uid_t *worker)
{
	(void)c;
	(void)owner;
	(void)worker;
	return NULL;
}

int sbox_child_adopt_group(struct sbox_child *c, const char *name, uid_t owner, uid_t worker,
			   struct sbox_err *err)
{
	(void)c;
	(void)name;
	(void)owner;
	(void)worker;
	return sbox_fail(err, ENOSYS, "fake: no adoption");
}

/* No veth in the fuzzer: nothing for the reaper to wait on. */
int sbox_net_reaper_run(struct sbox_net_reaper *r)
{
	(void)r;
	return -1;
}

bool sbox_net_reaper_holds(const struct sbox_net_reaper *r, uint32_t block)
{
	(void)r;
	(void)block;
	return false;
}

size_t fake_children(void)
{
	return n_children;
}

static struct sbox_child *nth(size_t k)
{
	struct sbox_child *c = children;

	if (!n_children)
		return NULL;
	for (k %= n_children; k--; c = c->next)
		;
	return c;
}

void fake_event(size_t k, enum sbox_event_kind kind, int status)
{
	struct sbox_child *c = nth(k);
	struct sbox_event ev = { .kind = kind, .status = status, .errnum = EPERM };

	if (!c || c->ev[1] < 0)
		return;
	strcpy(ev.msg, "fake event");
	(void)!send(c->ev[1], &ev, sizeof(ev), MSG_DONTWAIT | MSG_NOSIGNAL);
}

void fake_exit(size_t k, int status)
{
	struct sbox_child *c = nth(k);

	if (c)
		fake_end(c, status);
}

void fake_free_all(void)
{
	while (children)
		sbox_child_free(children);
}

/* No netns pool in the fuzzer (NetnsPool=0). */
int sbox_netns_pool_new(struct sbox_netns_pool **out, size_t capacity, struct sbox_err *err)
{
	(void)out;
	(void)capacity;
	return sbox_fail(err, ENOSYS, "fake: no netns pool");
}

int sbox_netns_pool_fill(struct sbox_netns_pool *pool, size_t max_new, struct sbox_err *err)
{
	(void)pool;
	(void)max_new;
	return sbox_fail(err, ENOSYS, "fake: no netns pool");
}

int sbox_netns_pool_take(struct sbox_netns_pool *pool)
{
	(void)pool;
	return -1;
}

int sbox_netns_pool_take_for(struct sbox_netns_pool *pool, uint64_t owner, bool may_return)
{
	(void)pool;
	(void)owner;
	(void)may_return;
	return -1;
}

void sbox_netns_pool_give(struct sbox_netns_pool *pool, int fd, uint64_t owner)
{
	(void)pool;
	(void)owner;
	if (fd >= 0)
		close(fd);
}

size_t sbox_netns_pool_count(const struct sbox_netns_pool *pool)
{
	(void)pool;
	return 0;
}

size_t sbox_netns_pool_room(const struct sbox_netns_pool *pool)
{
	(void)pool;
	return 0;
}

void sbox_netns_pool_free(struct sbox_netns_pool *pool)
{
	(void)pool;
}

/* Two GPUs, so that leases and --wait-gpu queues are exercised. */
int sbox_gpu_inventory_load(struct sbox_gpu_inventory *inv, const struct sbox_site *site,
			    struct sbox_err *err)
{
	(void)site;
	memset(inv, 0, sizeof(*inv));
	inv->source = "static";
	inv->gpus = calloc(2, sizeof(*inv->gpus));
	if (!inv->gpus)
		return sbox_fail(err, ENOMEM, "fake: GPUs");
	inv->n = 2;
	for (unsigned i = 0; i < 2; i++) {
		inv->gpus[i].index = i;
		inv->gpus[i].numa_node = -1;
		snprintf(inv->gpus[i].uuid, sizeof(inv->gpus[i].uuid), "GPU-fake-%u", i);
		snprintf(inv->gpus[i].bus, sizeof(inv->gpus[i].bus), "0000:0%u:00.0", i);
	}
	return 0;
}

void sbox_gpu_inventory_free(struct sbox_gpu_inventory *inv)
{
	free(inv->gpus);
	memset(inv, 0, sizeof(*inv));
}

int sbox_gpu_find(const struct sbox_gpu_inventory *inv, const char *spec, size_t *pos,
		  struct sbox_err *err)
{
	for (size_t i = 0; i < inv->n; i++) {
		char idx[16];

		snprintf(idx, sizeof(idx), "%zu", i);
		if (!strcmp(spec, idx) || !strcmp(spec, inv->gpus[i].uuid) ||
		    !strcmp(spec, inv->gpus[i].bus)) {
			*pos = i;
			return 0;
		}
	}
	return sbox_fail(err, ENODEV, "fake: no GPU '%s'", spec);
}

/* The host's totals for sboxd's [Bounds] percentages: fixed, so that a
 * run replays the same way on any machine. */
/* The filter's deny layer is sandbox/seccomp.c's to judge, by libseccomp's
 * names: the fake lets every entry through (the bound's refusal path is
 * test_daemon's). */
int sbox_seccomp_lifts_deny(const struct sbox_security *s, const struct sbox_strv *site,
			    char *out, size_t size, struct sbox_err *err)
{
	(void)s;
	(void)site;
	(void)err;
	if (size)
		out[0] = '\0';
	return 0;
}

void sbox_host_probe(struct sbox_host *h)
{
	h->mem_total = 16ULL << 30;
	h->tasks_total = 4194304;
}

/* Fixed, as the probe's: a fuzzed request's Limit*= meets the same
 * ceiling on every run (NOFILE 1024, the rest infinity). */
void sbox_host_hard_limits(uint64_t *hard)
{
	for (int r = 0; r < SBOX_RLIMIT_COUNT; r++)
		hard[r] = r == RLIMIT_NOFILE ? 1024 : UINT64_MAX;
}

/* The pool of prepared sandboxes (sboxd/pool.c): the fake never prepares
 * one, so every launch runs in full through sbox_spawn() above and the
 * pool drops each shape after its failures; the rest is never reached. */
int sbox_prepare(const struct sbox_policy *policy, const struct sbox_launch *l,
		 struct sbox_prepared **out, struct sbox_err *err)
{
	(void)policy;
	(void)l;
	*out = NULL;
	return sbox_fail(err, ENOSYS, "the fuzzer's launch layer prepares nothing");
}

int sbox_specialise(struct sbox_prepared *p, const struct sbox_policy *policy,
		    const struct sbox_launch *l, struct sbox_child **out, struct sbox_err *err)
{
	(void)p;
	(void)policy;
	(void)l;
	(void)out;
	(void)err;
	__builtin_trap();
}

int sbox_prepared_event_fd(const struct sbox_prepared *p)
{
	(void)p;
	__builtin_trap();
}

size_t sbox_prepared_fds(const struct sbox_prepared *p, int *out)
{
	(void)p;
	(void)out;
	__builtin_trap();
}

int sbox_prepared_read(struct sbox_prepared *p, struct sbox_err *err)
{
	(void)p;
	(void)err;
	__builtin_trap();
}

bool sbox_prepared_ready(const struct sbox_prepared *p)
{
	(void)p;
	__builtin_trap();
}

void sbox_prepared_free(struct sbox_prepared *p)
{
	(void)p;
	__builtin_trap();
}

struct sbox_child *sbox_prepared_kill(struct sbox_prepared *p)
{
	(void)p;
	__builtin_trap();
}
