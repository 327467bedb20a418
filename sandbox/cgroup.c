/* SPDX-License-Identifier: MIT */
/*
 * The sandbox's cgroup, the backend-neutral half (sandbox/cgroup.h): find
 * the host's cgroup filesystems, choose the parent and the name, resolve
 * percentages, dispatch to the v1 or v2 backend, and end it: kill, wait,
 * remove; the guard that does the same after a SIGKILLed launcher, and the
 * sweep that removes what even the guard missed.  The cgroupfs file helpers
 * both backends use are in sandbox/cgroup_fs.c.
 */
#include "sandbox/cgroup_backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/dir_resources.h"
#include "policy/values.h"

#define CGROUP_FS "/sys/fs/cgroup"
#define DEFAULT_PARENT "/sbox"
/* How long the end waits for killed processes to leave the cgroup. */
#define DRAIN_MSEC 5000
/* A stale cgroup younger than this is left alone by the sweep: its
 * launcher may live in another pid namespace and be about to use it. */
#define SWEEP_MIN_AGE_SEC 10

/* ---------------------------------------------------------------- time */

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

/* ----------------------------------------------------------- the host */

static unsigned v1_mask_of(const char *opts)
{
	static const struct { const char *name; unsigned bit; } known[] = {
		{ "memory", SBOX_CG_MEMORY }, { "pids", SBOX_CG_PIDS },
		{ "cpu", SBOX_CG_CPU }, { "cpuacct", SBOX_CG_CPUACCT },
		{ "cpuset", SBOX_CG_CPUSET }, { "blkio", SBOX_CG_BLKIO },
		{ "freezer", SBOX_CG_FREEZER }, { "devices", SBOX_CG_DEVICES },
	};
	unsigned mask = 0;

	for (const char *p = opts; *p; ) {
		size_t len = strcspn(p, ",");

		for (size_t i = 0; i < SBOX_ARRAY_SIZE(known); i++)
			if (strlen(known[i].name) == len && strncmp(p, known[i].name, len) == 0)
				mask |= known[i].bit;
		p += len;
		if (*p == ',')
			p++;
	}
	return mask;
}

/* mountinfo escapes blanks and backslashes as \ooo. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (char *r = s; *r; ) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

static void scan_mountinfo(struct sbox_cgroup_host *h, char *v2, size_t v2_len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		char mnt[SBOX_CG_PATH_MAX], fstype[32], opts[512];
		char *sep = strstr(line, " - ");

		/* id parent major:minor root MOUNTPOINT ... - FSTYPE SOURCE SUPEROPTS */
		if (!sep || sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1 ||
		    sscanf(sep + 3, "%31s %*s %511s", fstype, opts) != 2)
			continue;
		unescape_octal(mnt);
		if (strcmp(fstype, "cgroup2") == 0 && v2[0] == '\0') {
			snprintf(v2, v2_len, "%s", mnt);
		} else if (strcmp(fstype, "cgroup") == 0) {
			unsigned mask = v1_mask_of(opts);
			bool dup = false;

			for (size_t i = 0; i < h->n_v1; i++)
				dup |= (h->v1[i].mask & mask) != 0;
			if (!mask || dup || h->n_v1 >= SBOX_CG_MOUNTS_MAX)
				continue;
			h->v1[h->n_v1].mask = mask;
			snprintf(h->v1[h->n_v1].path, sizeof(h->v1[0].path), "%s", mnt);
			h->n_v1++;
		}
	}
	free(line);
	fclose(f);
}

static uint64_t read_proc_u64(const char *path)
{
	char buf[64];
	ssize_t n = sbox_cg_read(AT_FDCWD, path, buf, sizeof(buf));

	return n > 0 ? strtoull(buf, NULL, 10) : 0;
}

int sbox_cgroup_host_detect(struct sbox_cgroup_host *h, struct sbox_err *err)
{
	char v2[SBOX_CG_PATH_MAX] = "";
	char buf[8192];
	struct statfs sf;
	struct sysinfo si;
	uint64_t pid_max, threads_max;

	memset(h, 0, sizeof(*h));
	if (statfs(CGROUP_FS, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
		/* Pure v2 (systemd's unified layout). */
		h->version = 2;
		snprintf(h->v2_mount, sizeof(h->v2_mount), "%s", CGROUP_FS);
	} else {
		/* Hybrid or legacy: the v1 controllers rule; a cgroup2 mount
		 * beside them (systemd's "unified") holds no controller. */
		scan_mountinfo(h, v2, sizeof(v2));
		if (h->n_v1 > 0) {
			h->version = 1;
		} else if (v2[0]) {
			h->version = 2;
			snprintf(h->v2_mount, sizeof(h->v2_mount), "%s", v2);
		}
	}
	if (sbox_cg_read(AT_FDCWD, "/proc/self/cgroup", buf, sizeof(buf)) > 0) {
		for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
			if (strncmp(l, "0::", 3) == 0) {
				snprintf(h->self, sizeof(h->self), "%.*s", (int)strcspn(l + 3, "\n"), l + 3);
				break;
			}
		}
	}
	if (sysinfo(&si) == 0)
		h->mem_total = (uint64_t)si.totalram * si.mem_unit;
	/* systemd's TasksMax=% base: the smaller of the two kernel limits. */
	pid_max = read_proc_u64("/proc/sys/kernel/pid_max");
	threads_max = read_proc_u64("/proc/sys/kernel/threads-max");
	h->tasks_total = pid_max && threads_max ? (pid_max < threads_max ? pid_max : threads_max)
						: (pid_max ? pid_max : threads_max);
	(void)err;
	return 0;
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

/* ------------------------------------------------------- create, destroy */

static uint64_t resolve(const struct sbox_limit *l, uint64_t total)
{
	if (!l->percent || l->value == SBOX_INFINITY)
		return l->value;
	return total / 10000 * l->value + total % 10000 * l->value / 10000;
}

static int resolve_limits(const struct sbox_cgroup_host *h, const struct sbox_resources *res,
			  struct sbox_cg_limits *l, struct sbox_err *err)
{
	const struct { const struct sbox_limit *lim; uint64_t total; uint64_t *out;
		       const char *name; } rows[] = {
		{ &res->memory_max, h->mem_total, &l->memory_max, "MemoryMax" },
		{ &res->memory_high, h->mem_total, &l->memory_high, "MemoryHigh" },
		{ &res->memory_swap_max, h->mem_total, &l->memory_swap_max, "MemorySwapMax" },
		{ &res->tasks_max, h->tasks_total, &l->tasks_max, "TasksMax" },
	};

	memset(l, 0, sizeof(*l));
	l->res = res;
	for (size_t i = 0; i < SBOX_ARRAY_SIZE(rows); i++) {
		if (!rows[i].lim->set)
			continue;
		if (rows[i].lim->percent && rows[i].total == 0)
			return sbox_fail(err, 0, "%s=: a percentage, but the host's total is unknown",
					 rows[i].name);
		*rows[i].out = resolve(rows[i].lim, rows[i].total);
	}
	/* A percentage that rounds to no task at all would stop init. */
	if (res->tasks_max.set && l->tasks_max == 0)
		l->tasks_max = 1;
	return 0;
}

static int remove_dirs(struct sbox_cgroup *cg, struct sbox_err *err)
{
	int r = 0;

	for (size_t i = cg->n_dirs; i-- > 0; ) {
		struct sbox_cg_dir *d = &cg->dirs[i];
		long wait = 1;
		long long deadline = now_msec() + DRAIN_MSEC;

		if (d->fd >= 0)
			close(d->fd);
		d->fd = -1;
		if (!d->path)
			continue;
		/* EBUSY while a killed task is still on its way out. */
		while (rmdir(d->path) < 0) {
			if (errno == ENOENT)
				break;
			if (errno != EBUSY || now_msec() > deadline) {
				if (r == 0)
					r = sbox_fail(err, errno, errno == EBUSY ?
						      "removing the cgroup %s (processes still in it)" :
						      "removing the cgroup %s", d->path);
				break;
			}
			sleep_msec(wait);
			wait = wait < 64 ? wait * 2 : wait;
		}
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
	free(cg);
}

int sbox_cgroup_create(const struct sbox_cgroup_host *h, const char *parent, const char *name,
		       const struct sbox_resources *res, struct sbox_cgroup **out,
		       struct sbox_err *err)
{
	struct sbox_cg_limits lim;
	struct sbox_cgroup *cg;

	*out = NULL;
	if (h->version != 1 && h->version != 2)
		return sbox_fail(err, ENOENT, "no cgroup filesystem is mounted on " CGROUP_FS);
	if (resolve_limits(h, res, &lim, err) < 0)
		return -1;
	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return sbox_fail(err, ENOMEM, "allocating the sandbox's cgroup");
	cg->ops = h->version == 2 ? &sbox_cgroup_v2_ops : &sbox_cgroup_v1_ops;
	cg->guard_fd = -1;
	for (size_t i = 0; i < SBOX_CG_MOUNTS_MAX; i++)
		cg->dirs[i].fd = -1;
	snprintf(cg->name, sizeof(cg->name), "%s", name);
	if (cg->ops->create(cg, h, parent, &lim, err) < 0) {
		remove_dirs(cg, NULL);
		cgroup_free(cg);
		return -1;
	}
	*out = cg;
	return 0;
}

/* The first limit the policy asks for, for messages: "MemoryMax=64M". */
static const char *first_limit(const struct sbox_resources *r, char *buf, size_t len)
{
	char v[32];

	if (r->memory_max.set)
		return sbox_cg_limit_text("MemoryMax", &r->memory_max, true, buf, len);
	if (r->memory_high.set)
		return sbox_cg_limit_text("MemoryHigh", &r->memory_high, true, buf, len);
	if (r->memory_swap_max.set)
		return sbox_cg_limit_text("MemorySwapMax", &r->memory_swap_max, true, buf, len);
	if (r->tasks_max.set)
		return sbox_cg_limit_text("TasksMax", &r->tasks_max, false, buf, len);
	if (r->cpu_quota) {
		sbox_format_cpu_quota(r->cpu_quota, v, sizeof(v));
		snprintf(buf, len, "CPUQuota=%s", v);
	} else if (r->cpu_weight) {
		snprintf(buf, len, "CPUWeight=%llu", (unsigned long long)r->cpu_weight);
	} else if (r->io_weight) {
		snprintf(buf, len, "IOWeight=%llu", (unsigned long long)r->io_weight);
	} else if (r->allowed_cpus) {
		snprintf(buf, len, "AllowedCPUs=%.60s", r->allowed_cpus);
	} else {
		snprintf(buf, len, "AllowedMemoryNodes=%.60s", r->allowed_mems ? r->allowed_mems : "");
	}
	return buf;
}

int sbox_cgroup_for_sandbox(const struct sbox_policy *p, struct sbox_cgroup **out,
			    struct sbox_err *err)
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
	/* Atomic: a threaded caller (a Slurm plugin) may launch concurrently. */
	snprintf(name, sizeof(name), "sbox-%d-%u", (int)getpid(),
		 __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
	if (h->version != 0)
		sbox_cgroup_sweep(h, parent);
	if (sbox_cgroup_create(h, parent, name, res, out, err) == 0)
		return 0;
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

int sbox_cgroup_destroy(struct sbox_cgroup *cg, struct sbox_err *err)
{
	int r;

	if (!cg)
		return 0;
	if (!all_empty(cg))
		drain(cg);
	r = remove_dirs(cg, err);
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
	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return sbox_fail(err, ENOMEM, "reopening the cgroup %s", path);
	cg->ops = h.version == 2 ? &sbox_cgroup_v2_ops : &sbox_cgroup_v1_ops;
	cg->guard_fd = -1;
	for (size_t i = 0; i < SBOX_CG_MOUNTS_MAX; i++)
		cg->dirs[i].fd = -1;
	snprintf(cg->name, sizeof(cg->name), "%s", base + 1);
	for (size_t i = 0; i < n_mounts; i++) {
		struct sbox_cg_dir *d = &cg->dirs[cg->n_dirs];
		char full[PATH_MAX];

		snprintf(full, sizeof(full), "%s%s", h.version == 2 ? h.v2_mount : h.v1[i].path, rel);
		d->fd = open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (d->fd < 0 && errno == ENOENT)
			continue;       /* made in fewer hierarchies (or gone) */
		d->path = d->fd >= 0 ? strdup(full) : NULL;
		if (!d->path) {
			int e = d->fd >= 0 ? ENOMEM : errno;

			if (d->fd >= 0)
				close(d->fd);
			cgroup_free(cg);
			return sbox_fail(err, e, "reopening the cgroup %s", full);
		}
		d->mask = h.version == 2 ? 0 : h.v1[i].mask;
		cg->n_dirs++;
	}
	if (cg->n_dirs == 0) {
		cgroup_free(cg);
		return sbox_fail(err, ENOENT, "reopening the cgroup %s", path);
	}
	*out = cg;
	return 0;
}

/* --------------------------------------------------------------- guard */

static __attribute__((noreturn)) void guard_main(struct sbox_cgroup *cg, int rfd)
{
	bool any = false;
	char b;
	int null;

	setsid();
	prctl(PR_SET_NAME, "sbox-cg-guard", 0, 0, 0);
	if (chdir("/") < 0)
		_exit(1);
	/* Hold nothing of the launcher's: a pipe kept open here would keep
	 * its reader (a test harness, a shell) waiting for EOF. */
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || rfd < 3)
		_exit(1);
	for (int fd = 0; fd < 3; fd++)
		dup2(null, fd);
	if (rfd != 3 && dup2(rfd, 3) < 0)
		_exit(1);
	syscall(SYS_close_range, 4U, ~0U, 0U);
	for (size_t i = 0; i < cg->n_dirs; i++)
		cg->dirs[i].fd = -1;
	cg->guard_fd = -1;
	/* EOF: the launcher and the sandbox's init (which inherited the
	 * write end) are both gone. */
	for (;;) {
		ssize_t n = read(3, &b, 1);

		if (n == 0 || (n < 0 && errno != EINTR))
			break;
	}
	for (size_t i = 0; i < cg->n_dirs; i++) {
		cg->dirs[i].fd = open(cg->dirs[i].path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		any |= cg->dirs[i].fd >= 0;
	}
	/* Removed already: the launcher ended normally. */
	if (any)
		sbox_cgroup_destroy(cg, NULL);
	_exit(0);
}

int sbox_cgroup_guard(struct sbox_cgroup *cg, struct sbox_err *err)
{
	int p[2], st;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return sbox_fail(err, errno, "creating the cgroup guard's pipe");
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(p[0]);
		close(p[1]);
		return sbox_fail(err, e, "forking the cgroup guard");
	}
	if (pid == 0) {
		/* Forked twice so the guard is nobody's child here: a caller
		 * reaping with waitpid(-1) never meets it. */
		pid_t g = fork();

		if (g != 0)
			_exit(g < 0 ? 1 : 0);
		close(p[1]);
		guard_main(cg, p[0]);
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		close(p[1]);
		return sbox_fail(err, EAGAIN, "forking the cgroup guard");
	}
	cg->guard_fd = p[1];
	return 0;
}

/* --------------------------------------------------------------- sweep */

static bool launcher_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

int sbox_cgroup_sweep(const struct sbox_cgroup_host *h, const char *parent)
{
	char dir[PATH_MAX];
	const char *root = h->version == 2 ? h->v2_mount : h->v1[0].path;
	struct dirent *e;
	DIR *d;
	int removed = 0;

	if (h->version == 1 && h->n_v1 == 0)
		return 0;
	snprintf(dir, sizeof(dir), "%s%s", root, strcmp(parent, "/") == 0 ? "" : parent);
	d = opendir(dir);
	if (!d)
		return 0;
	/* One launcher often owns many entries: ask about its pid once. */
	int last_pid = 0;
	bool last_alive = false;

	while ((e = readdir(d)) != NULL) {
		struct sbox_cgroup cg = { .guard_fd = -1 };
		char path[PATH_MAX];
		struct stat st;
		int pid;
		unsigned n;
		char tail;
		bool busy = false;

		if (sscanf(e->d_name, "sbox-%d-%u%c", &pid, &n, &tail) != 2 || pid <= 0)
			continue;
		if (pid != last_pid) {
			last_pid = pid;
			last_alive = launcher_alive(pid);
		}
		if (last_alive)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, 0) < 0 ||
		    time(NULL) - st.st_ctime < SWEEP_MIN_AGE_SEC)
			continue;
		/* Its directories in every hierarchy, all empty, or none goes. */
		for (size_t i = 0; i < (h->version == 2 ? 1 : h->n_v1) && !busy; i++) {
			struct sbox_cg_dir *cd = &cg.dirs[cg.n_dirs];

			snprintf(path, sizeof(path), "%s%s/%s",
				 h->version == 2 ? h->v2_mount : h->v1[i].path,
				 strcmp(parent, "/") == 0 ? "" : parent, e->d_name);
			cd->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (cd->fd < 0)
				continue;
			cd->path = strdup(path);
			cg.n_dirs++;
			busy = !cd->path || !sbox_cg_is_empty(cd);
		}
		if (!busy && remove_dirs(&cg, NULL) == 0)
			removed++;
		for (size_t i = 0; i < cg.n_dirs; i++) {
			if (cg.dirs[i].fd >= 0)
				close(cg.dirs[i].fd);
			free(cg.dirs[i].path);
		}
	}
	closedir(d);
	return removed;
}
