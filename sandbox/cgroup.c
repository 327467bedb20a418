/* SPDX-License-Identifier: MIT */
/*
 * The sandbox's cgroup, the backend-neutral half (sandbox/cgroup.h): choose
 * the parent and the name, dispatch to the v1 or v2 backend, and end it:
 * kill, wait, remove.  The limits (percentages resolved, rewritten for a
 * prepared sandbox's request) are sandbox/cgroup_limits.c's.  Elsewhere: the host's cgroup
 * filesystems are found by the host probe (sandbox/host.c); the guard that
 * ends the cgroup after a SIGKILLed launcher is sandbox/cgroup_guard.c, the
 * sweep that removes what even the guard missed sandbox/cgroup_sweep.c; the
 * cgroupfs file helpers both backends use are in sandbox/cgroup_fs.c.
 */
#include "sandbox/cgroup_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/directives.h"
#include "policy/dir_resources.h"
#include "policy/values.h"

#define CGROUP_FS "/sys/fs/cgroup"
#define DEFAULT_PARENT "/sbox"
/* How long the end waits for killed processes to leave the cgroup. */
#define DRAIN_MSEC 5000

/* The end's bounded waits (DRAIN_MSEC) back off in milliseconds on the
 * monotonic clock: a clock set back must not stretch them. */
static void sleep_msec(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static long long now_msec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool owned_by(const char *dir, uid_t euid)
{
	char procs[PATH_MAX + 32];
	struct stat st;

	if (stat(dir, &st) < 0 || st.st_uid != euid)
		return false;
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	return access(procs, W_OK) == 0;
}

void sbox_cgroup_default_parent(const struct sbox_cgroup_host *h, uid_t euid, char *buf,
				size_t len)
{
	char dir[PATH_MAX];
	const char *slash;

	if (euid == 0 || h->version != 2 || h->self[0] != '/' || strcmp(h->self, "/") == 0) {
		snprintf(buf, len, "%s", DEFAULT_PARENT);
		return;
	}
	/* A delegated subtree keeps its own processes in a leaf (systemd's
	 * DelegateSubgroup=, or the v2 VM's sbox-delegated/runner): the
	 * sandboxes go beside that leaf, where controllers can be enabled. */
	slash = strrchr(h->self, '/');
	if (slash != h->self) {
		snprintf(dir, sizeof(dir), "%s%.*s", h->v2_mount, (int)(slash - h->self), h->self);
		if (owned_by(dir, euid)) {
			snprintf(buf, len, "%.*s", (int)(slash - h->self), h->self);
			return;
		}
	}
	snprintf(buf, len, "%s", h->self);
}

/* Close d and remove its directory, retrying while a killed task is on
 * its way out (EBUSY), for drain_msec at most (0: one try).  System calls
 * only (and a message on failure): sbox_cgroup_end() runs it off the main
 * thread. */
static int remove_dir(struct sbox_cg_dir *d, long long drain_msec, struct sbox_err *err)
{
	long wait = 1;
	long long deadline = now_msec() + drain_msec;

	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	if (!d->path)
		return 0;
	while (rmdir(d->path) < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno != EBUSY || now_msec() >= deadline)
			return sbox_fail(err, errno, errno == EBUSY ?
					 "removing the cgroup %s (processes or child cgroups still in it)" :
					 "removing the cgroup %s", d->path);
		sleep_msec(wait);
		wait = wait < 64 ? wait * 2 : wait;
	}
	return 0;
}

int sbox_cg_remove_dirs(struct sbox_cgroup *cg, bool drain, struct sbox_err *err)
{
	int r = 0;

	for (size_t i = cg->n_dirs; i-- > 0; ) {
		struct sbox_cg_dir *d = &cg->dirs[i];

		if (remove_dir(d, drain ? DRAIN_MSEC : 0, r == 0 ? err : NULL) < 0)
			r = -1;
		free(d->path);
		d->path = NULL;
	}
	cg->n_dirs = 0;
	return r;
}

static void cgroup_free(struct sbox_cgroup *cg)
{
	for (size_t i = 0; i < cg->n_dirs; i++) {
		if (cg->dirs[i].fd >= 0)
			close(cg->dirs[i].fd);
		free(cg->dirs[i].path);
	}
	if (cg->guard_fd >= 0)
		close(cg->guard_fd);
	sbox_cg_written_clear(cg);
	free(cg);
}

/* A sandbox cgroup of the given version's backend with no directory yet. */
static struct sbox_cgroup *cgroup_new(int version, const char *name)
{
	struct sbox_cgroup *cg = calloc(1, sizeof(*cg));

	if (!cg)
		return NULL;
	cg->ops = version == 2 ? &sbox_cgroup_v2_ops : &sbox_cgroup_v1_ops;
	cg->guard_fd = -1;
	for (size_t i = 0; i < SBOX_CG_MOUNTS_MAX; i++)
		cg->dirs[i].fd = -1;
	snprintf(cg->name, sizeof(cg->name), "%s", name);
	return cg;
}

/* The view of the hierarchies in mask (v1; every one: ~0u) or of the
 * cgroup2 mount, on host h: what C6 mounts at /sys/fs/cgroup.  Options
 * are left out for cgroup2: outside the initial cgroup namespace the
 * kernel ignores them, and the pure-v2 probe reads no mountinfo. */
static void plan_view(struct sbox_cgview *v, const struct sbox_cgroup_host *h, unsigned mask)
{
	_Static_assert(SBOX_CGVIEW_MAX >= SBOX_CG_MOUNTS_MAX, "a view per hierarchy");
	memset(v, 0, sizeof(*v));
	if (h->version == 2)
		sbox_cgview_add(v, true, h->v2_mount, "");
	for (size_t i = 0; h->version == 1 && i < h->n_v1; i++)
		if (h->v1[i].mask & mask)
			sbox_cgview_add(v, false, h->v1[i].path, h->v1[i].opts);
}

int sbox_cgroup_create(const struct sbox_cgroup_host *h, const char *parent, const char *name,
		       const struct sbox_resources *res, unsigned flags,
		       struct sbox_cgroup **out, struct sbox_err *err)
{
	struct sbox_cg_limits lim;
	struct sbox_cgroup *cg;
	unsigned mask = 0;

	*out = NULL;
	if (h->version != 1 && h->version != 2)
		return sbox_fail(err, ENOENT, "no cgroup filesystem is mounted on " CGROUP_FS);
	if (sbox_cg_resolve_limits(&h->host, res, &lim, err) < 0)
		return -1;
	lim.every_hierarchy = flags & SBOX_CG_EVERY_HIERARCHY;
	cg = cgroup_new(h->version, name);
	if (!cg)
		return sbox_fail(err, ENOMEM, "allocating the sandbox's cgroup");
	if (cg->ops->create(cg, h, parent, &lim, err) < 0 ||
	    sbox_cg_written_set(cg, &h->host, &lim, err) < 0) {
		sbox_cg_remove_dirs(cg, true, NULL);
		cgroup_free(cg);
		return -1;
	}
	for (size_t i = 0; i < cg->n_dirs; i++)
		mask |= cg->dirs[i].mask;
	plan_view(&cg->view, h, mask);
	*out = cg;
	return 0;
}

const struct sbox_cgview *sbox_cgroup_view(const struct sbox_cgroup *cg)
{
	return cg ? &cg->view : NULL;
}

int sbox_cgroup_host_view(struct sbox_cgview *v, struct sbox_err *err)
{
	_cleanup_free_ struct sbox_cgroup_host *h = calloc(1, sizeof(*h));

	memset(v, 0, sizeof(*v));
	if (!h)
		return sbox_fail(err, ENOMEM, "allocating the cgroup host");
	if (sbox_cgroup_host_detect(h, err) < 0)
		return -1;
	plan_view(v, h, ~0u);
	return 0;
}

/* The first limit the policy asks for, for messages: "MemoryMax=64M". */
static const char *first_limit(const struct sbox_resources *r, char *buf, size_t len)
{
	char v[64];

	if (r->memory_max.set)
		return sbox_limit_text("MemoryMax", &r->memory_max, true, buf, len);
	if (r->memory_high.set)
		return sbox_limit_text("MemoryHigh", &r->memory_high, true, buf, len);
	if (r->memory_swap_max.set)
		return sbox_limit_text("MemorySwapMax", &r->memory_swap_max, true, buf, len);
	if (r->tasks_max.set)
		return sbox_limit_text("TasksMax", &r->tasks_max, false, buf, len);
	if (r->cpu_quota) {
		sbox_format_cpu_quota(r->cpu_quota, v, sizeof(v));
		return sbox_directive_text("CPUQuota", v, buf, len);
	}
	if (r->cpu_weight || r->io_weight) {
		snprintf(v, sizeof(v), "%llu",
			 (unsigned long long)(r->cpu_weight ? r->cpu_weight : r->io_weight));
		return sbox_directive_text(r->cpu_weight ? "CPUWeight" : "IOWeight", v, buf, len);
	}
	/* A CPU list can be long: the message quotes its start. */
	snprintf(v, sizeof(v), "%.60s",
		 r->allowed_cpus ? r->allowed_cpus : r->allowed_mems ? r->allowed_mems : "");
	return sbox_directive_text(r->allowed_cpus ? "AllowedCPUs" : "AllowedMemoryNodes", v, buf,
				   len);
}


/* Names tried for a sandbox's cgroup when the first is taken. */
#define NAME_TRIES 8

static int for_sandbox(const struct sbox_policy *p, pid_t launcher, unsigned flags,
		       struct sbox_cgroup **out, struct sbox_err *err)
{
	static unsigned counter;
	_cleanup_free_ struct sbox_cgroup_host *h = calloc(1, sizeof(*h));
	const struct sbox_resources *res = &p->res;
	bool limits = sbox_resources_any_limit(res);
	uid_t euid = geteuid();
	char parent[SBOX_CG_PATH_MAX], name[64];

	*out = NULL;
	if (!h)
		return sbox_fail(err, ENOMEM, "allocating the cgroup host");
	if (sbox_cgroup_host_detect(h, err) < 0)
		return -1;
	if (res->cgroup_parent)
		snprintf(parent, sizeof(parent), "%s", res->cgroup_parent);
	else
		sbox_cgroup_default_parent(h, euid, parent, sizeof(parent));
	/* The sweep judges a cgroup's launcher by its pid in this process's
	 * pid namespace, which is the one the names use only when the caller
	 * names itself by getpid(): a zygote worker, named by its host pid
	 * from inside a pid namespace of its own, sees every launcher dead and
	 * (cgroup v1) every cgroup empty, and leaves the sweep to launches
	 * that can judge. */
	if (h->version != 0 && launcher == getpid())
		sbox_cgroup_sweep_throttled(h, parent);
	/* The name is the launcher's pid and a count.  A pid comes back (32768
	 * of them by default) while the cgroup of its last owner may still be
	 * there: a killed launcher's, which its guard is removing, or a stale
	 * one the sweep leaves for SWEEP_MIN_AGE_SEC.  That name is taken,
	 * not ours to remove (a failed create takes back only the directories
	 * it made): the next count is tried instead, a few times.  Atomic: a
	 * threaded caller (a Slurm plugin) may launch concurrently. */
	for (int tries = 0;; tries++) {
		snprintf(name, sizeof(name), "sbox-%d-%u", (int)launcher,
			 __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
		if (sbox_cgroup_create(h, parent, name, res, flags, out, err) == 0)
			return 0;
		if (err->errnum != EEXIST || tries == NAME_TRIES - 1)
			break;
		sbox_err_clear(err);
	}
	if (euid == 0 || res->cgroup_parent)
		return -1;
	if (!limits && (err->errnum == EACCES || err->errnum == EPERM ||
			err->errnum == EROFS || err->errnum == ENOENT)) {
		/* An unprivileged caller without a delegated cgroup: the
		 * sandbox runs without one (its pid namespace still ends every
		 * process with init); stats come from rusage. */
		sbox_err_clear(err);
		return 0;
	}
	if (err->errnum == EACCES || err->errnum == EPERM || err->errnum == EROFS) {
		char what[96];

		sbox_err_prefix(err, "%s needs the sandbox's own cgroup, which uid %u may not make under %s (%s; run as root, through sboxd, or set CgroupParent= to a cgroup delegated to you: docs/cgroups.md)",
				first_limit(res, what, sizeof(what)), (unsigned)euid, parent,
				h->version == 1 ? "cgroup v1 is not delegated to users" : "not a delegated cgroup");
	}
	return -1;
}

int sbox_cgroup_for_sandbox(const struct sbox_policy *p, struct sbox_cgroup **out,
			    struct sbox_err *err)
{
	return for_sandbox(p, getpid(), 0, out, err);
}

int sbox_cgroup_for_sandbox_as(const struct sbox_policy *p, pid_t launcher,
			       struct sbox_cgroup **out, struct sbox_err *err)
{
	return for_sandbox(p, launcher, 0, out, err);
}

int sbox_cgroup_for_placed(const struct sbox_policy *p, struct sbox_cgroup **out,
			   struct sbox_err *err)
{
	return for_sandbox(p, getpid(), SBOX_CG_EVERY_HIERARCHY, out, err);
}

int sbox_cgroup_clone_fd(const struct sbox_cgroup *cg)
{
	return cg->ops->version == 2 ? cg->dirs[0].fd : -1;
}

int sbox_cgroup_attach(struct sbox_cgroup *cg, pid_t pid, struct sbox_err *err)
{
	return cg->ops->attach(cg, pid, err);
}

bool sbox_cgroup_is_v2(const struct sbox_cgroup *cg)
{
	return cg && cg->ops->version == 2;
}

int sbox_cgroup_devices_fd(const struct sbox_cgroup *cg)
{
	return cg ? cg->ops->devices_fd(cg) : -1;
}

size_t sbox_cgroup_fds(const struct sbox_cgroup *cg, int *out)
{
	size_t n = 0;

	for (size_t i = 0; i < cg->n_dirs; i++)
		if (cg->dirs[i].fd >= 0)
			out[n++] = cg->dirs[i].fd;
	if (cg->guard_fd >= 0)
		out[n++] = cg->guard_fd;
	return n;
}

const char *sbox_cgroup_path(const struct sbox_cgroup *cg)
{
	for (size_t i = 0; i < cg->n_dirs; i++)
		if (cg->dirs[i].mask & SBOX_CG_MEMORY)
			return cg->dirs[i].path;
	return cg->n_dirs ? cg->dirs[0].path : cg->name;
}

const char *sbox_cgroup_name(const struct sbox_cgroup *cg)
{
	return cg->name;
}

int sbox_cgroup_kill(struct sbox_cgroup *cg, struct sbox_err *err)
{
	return cg->ops->kill(cg, err);
}

int sbox_cgroup_stats(const struct sbox_cgroup *cg, struct sbox_stats *st, struct sbox_err *err)
{
	st->cgroup_version = cg->ops->version;
	return cg->ops->stats(cg, st, err);
}

static bool all_empty(const struct sbox_cgroup *cg)
{
	for (size_t i = 0; i < cg->n_dirs; i++)
		if (!sbox_cg_is_empty(&cg->dirs[i]))
			return false;
	return true;
}

/* Kill until nothing is left, bounded: one kill is enough unless a task
 * was on its way in (a v1 attach racing the kill). */
static void drain(struct sbox_cgroup *cg)
{
	long long deadline = now_msec() + DRAIN_MSEC;
	long wait = 1;

	while (!all_empty(cg) && now_msec() < deadline) {
		cg->ops->kill(cg, NULL);
		sleep_msec(wait);
		wait = wait < 64 ? wait * 2 : wait;
	}
}

bool sbox_cgroup_empty(const struct sbox_cgroup *cg)
{
	if (!cg)
		return true;
	return cg->ended ? !cg->left_busy : all_empty(cg);
}

int sbox_cgroup_end(struct sbox_cgroup *cg, struct sbox_err *err)
{
	int r = 0;

	if (!cg || cg->ended)
		return 0;
	if (!all_empty(cg))
		drain(cg);
	/* What the drain could not kill (bounded) is said, not forgotten:
	 * sbox_cgroup_empty() answers for the ended cgroup from here. */
	cg->left_busy = !all_empty(cg);
	if (cg->left_busy)
		r = sbox_fail(err, EBUSY, "killing the processes of the cgroup %s: some are still there after %d ms",
			      sbox_cgroup_path(cg), DRAIN_MSEC);
	/* The paths stay (freed with cg): no allocator here. */
	for (size_t i = cg->n_dirs; i-- > 0; )
		if (remove_dir(&cg->dirs[i], DRAIN_MSEC, r == 0 ? err : NULL) < 0)
			r = -1;
	cg->ended = true;
	return r;
}

int sbox_cgroup_destroy(struct sbox_cgroup *cg, struct sbox_err *err)
{
	int r = 0;

	if (!cg)
		return 0;
	if (!cg->ended) {
		if (!all_empty(cg))
			drain(cg);
		r = sbox_cg_remove_dirs(cg, true, err);
	}
	cgroup_free(cg);
	return r;
}

void sbox_cgroup_release(struct sbox_cgroup *cg)
{
	if (cg)
		cgroup_free(cg);
}

/* path relative to mount ("/sbox/sbox-1-2"), when it lies below it. */
static const char *below_mount(const char *path, const char *mount)
{
	size_t n = strlen(mount);

	while (n > 1 && mount[n - 1] == '/')
		n--;
	return n && strncmp(path, mount, n) == 0 && path[n] == '/' ? path + n : NULL;
}

static bool sandbox_rel_ok(const char *rel, const char **base)
{
	*base = strrchr(rel, '/');
	return *base && !strstr(rel, "/../") && !strstr(rel, "/./") && !strstr(rel, "//") &&
	       strncmp(*base + 1, "sbox-", 5) == 0 && strlen(*base + 1) < sizeof(((struct sbox_cgroup *)0)->name);
}

/* Open rel ("/sbox/sbox-1-2") in every hierarchy of h where it exists,
 * into cg's directories. */
static int reopen_dirs(struct sbox_cgroup *cg, const struct sbox_cgroup_host *h, const char *rel,
		       struct sbox_err *err)
{
	size_t n_mounts = h->version == 2 ? 1 : h->n_v1;

	for (size_t i = 0; i < n_mounts; i++) {
		struct sbox_cg_dir *d = &cg->dirs[cg->n_dirs];
		char full[PATH_MAX];

		snprintf(full, sizeof(full), "%s%s", h->version == 2 ? h->v2_mount : h->v1[i].path, rel);
		d->fd = open(full, SBOX_CG_DIR_OPEN | O_NOFOLLOW);
		if (d->fd < 0 && errno == ENOENT)
			continue;       /* made in fewer hierarchies (or gone) */
		d->path = d->fd >= 0 ? strdup(full) : NULL;
		if (!d->path) {
			int e = d->fd >= 0 ? ENOMEM : errno;

			if (d->fd >= 0)
				close(d->fd);
			d->fd = -1;
			return sbox_fail(err, e, "reopening the cgroup %s", full);
		}
		d->mask = h->version == 2 ? 0 : h->v1[i].mask;
		cg->n_dirs++;
	}
	return 0;
}

int sbox_cgroup_reopen(const char *path, struct sbox_cgroup **out, struct sbox_err *err)
{
	struct sbox_cgroup_host h;
	struct sbox_cgroup *cg;
	const char *rel = NULL, *base = NULL;
	size_t n_mounts;

	*out = NULL;
	if (sbox_cgroup_host_detect(&h, err) < 0)
		return -1;
	n_mounts = h.version == 2 ? 1 : h.n_v1;
	for (size_t i = 0; i < n_mounts && !rel; i++)
		rel = below_mount(path, h.version == 2 ? h.v2_mount : h.v1[i].path);
	if (!rel || !sandbox_rel_ok(rel, &base))
		return sbox_fail(err, EINVAL, "%s is not a sandbox's cgroup on this host", path);
	cg = cgroup_new(h.version, base + 1);
	if (!cg)
		return sbox_fail(err, ENOMEM, "reopening the cgroup %s", path);
	if (reopen_dirs(cg, &h, rel, err) < 0) {
		cgroup_free(cg);
		return -1;
	}
	if (cg->n_dirs == 0) {
		cgroup_free(cg);
		return sbox_fail(err, ENOENT, "reopening the cgroup %s", path);
	}
	*out = cg;
	return 0;
}
