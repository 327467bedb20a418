/* SPDX-License-Identifier: MIT */
/*
 * Cgroups, proven from inside real sandboxes (docs/cgroups.md): MemoryMax=
 * ends an allocation past it with an OOM kill reported as such (137),
 * TasksMax= stops a fork bomb with EAGAIN, CPUQuota= throttles, AllowedCPUs=
 * shows in sched_getaffinity, RuntimeMaxSec= kills the sandbox (124), the
 * figures of --stats and --json-status are plausible, and nothing is left
 * behind: no cgroup, process, mount or namespace, after orphans, killed
 * launchers and a long mixed run (SBOX_LEAK_LAUNCHES, default 200).
 *
 * Most tests need root (cgroups of their own); the unprivileged behaviour
 * is tested as root too, by dropping to nobody before sboxrun runs.  On the
 * v2 VM (docs/testing-v2.md) the same tests read the v2 files.
 */
#include "tests/integration/harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CG "/sys/fs/cgroup"

static bool host_v2(void)
{
	struct statfs sf;

	return statfs(CG, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static char *read_text(const char *path)
{
	char buf[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';   /* the first line */
	return strdup(buf);
}

/* Can this caller's sandboxes have cgroups: root, or a user in the v2
 * VM's delegated subtree (docs/testing-v2.md)? */
static bool can_cgroup(void)
{
	return running_as_root() || (host_v2() && getenv("SBOX_V2_DELEGATED"));
}

/* The default parent's directory on the v2 tree. */
static const char *v2_parent(void)
{
	static char buf[512];
	const char *d = getenv("SBOX_V2_DELEGATED");

	if (running_as_root() || !d)
		return CG "/sbox";
	if (strncmp(d, CG "/", strlen(CG "/")) == 0)
		snprintf(buf, sizeof(buf), "%s", d);
	else
		snprintf(buf, sizeof(buf), CG "%s", d);
	return buf;
}

/* The sandbox cgroup directories of launcher pid in the hierarchy of ctrl
 * (v1) or in the v2 tree, under the default parent. */
static size_t sandbox_dirs(const char *ctrl, int pid, glob_t *g)
{
	char pat[768];

	if (host_v2())
		snprintf(pat, sizeof(pat), "%s/sbox-%d-*", v2_parent(), pid);
	else
		snprintf(pat, sizeof(pat), CG "/%s/sbox/sbox-%d-*", ctrl, pid);
	memset(g, 0, sizeof(*g));
	if (glob(pat, GLOB_ONLYDIR, NULL, g) != 0)
		return 0;
	return g->gl_pathc;
}

static const char *const v1_ctrls[] = { "memory", "pids", "cpu", "cpuacct", "cpuset", "blkio",
					"freezer", "devices" };

/* Does any cgroup of launcher pid remain, in any hierarchy? */
static bool any_cgroup_of(int pid, bool print)
{
	size_t n = host_v2() ? 1 : sizeof(v1_ctrls) / sizeof(v1_ctrls[0]);

	for (size_t i = 0; i < n; i++) {
		glob_t g;

		if (sandbox_dirs(v1_ctrls[i], pid, &g) > 0) {
			if (print)
				fprintf(stderr, "left behind: %s\n", g.gl_pathv[0]);
			globfree(&g);
			return true;
		}
		globfree(&g);
	}
	return false;
}

static size_t count_procs(const char *dir)
{
	char path[512];
	size_t n = 0;
	FILE *f;
	int pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "r");

	while (f && fscanf(f, "%d", &pid) == 1)
		n++;
	if (f)
		fclose(f);
	return n;
}

/* Wait (up to 10 s) until launcher pid's sandbox runs at least want
 * processes in its memory (v1) or only (v2) cgroup; its directory. */
static char *wait_running(int pid, size_t want)
{
	long long deadline = now_ms() + 10000;

	while (now_ms() < deadline) {
		glob_t g;

		if (sandbox_dirs("memory", pid, &g) > 0 && count_procs(g.gl_pathv[0]) >= want) {
			char *d = strdup(g.gl_pathv[0]);

			globfree(&g);
			return d;
		}
		globfree(&g);
		sleep_ms(10);
	}
	return NULL;
}

/* The same directory in another v1 hierarchy. */
static char *sibling(const char *memory_dir, const char *ctrl)
{
	char out[512];

	if (host_v2())
		return strdup(memory_dir);
	snprintf(out, sizeof(out), CG "/%s%s", ctrl, memory_dir + strlen(CG "/memory"));
	return strdup(out);
}

static char *file_of(const char *memory_dir, const char *ctrl, const char *file)
{
	char *d = sibling(memory_dir, ctrl), path[768], *t;

	snprintf(path, sizeof(path), "%s/%s", d, file);
	free(d);
	t = read_text(path);
	return t ? t : strdup("(missing)");
}

static char *tempfile(const char *name)
{
	char *dir = make_tempdir(), *p = malloc(strlen(dir) + strlen(name) + 2);

	sprintf(p, "%s/%s", dir, name);
	free(dir);
	return p;
}

static void rm_file_and_dir(char *path)
{
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
	free(path);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 4096);

	assert_non_null(f);
	assert_true(fread(buf, 1, 4095, f) > 0);
	fclose(f);
	return buf;
}

/* The number after "key": in a flat JSON object; -1 for null. */
static long long json_num(const char *json, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(json, k);
	assert_non_null(p);
	p += strlen(k);
	if (strncmp(p, "null", 4) == 0)
		return -1;
	return strtoll(p, NULL, 10);
}

static long long kv_num(const struct run_result *r, const char *key)
{
	char *v = kv_get(r->out, key);
	long long n;

	if (!v) {
		dump_result(r);
		fail_msg("no %s= in the probe's output", key);
	}
	n = strtoll(v, NULL, 10);
	free(v);
	return n;
}

#define NEED_ROOT()                                                           \
	do {                                                                  \
		if (!running_as_root()) {                                    \
			skip_because("needs root: cgroups of its own"); \
			return;                                               \
		}                                                             \
	} while (0)

/* Root, or a delegated v2 subtree. */
#define NEED_CGROUP()                                                         \
	do {                                                                  \
		if (!can_cgroup()) {                                         \
			skip_because("needs root or a delegated cgroup v2 subtree"); \
			return;                                               \
		}                                                             \
	} while (0)

/* MemoryMax= and friends: the limit holds, and the OOM end is said as such. */

static void test_memory_max_oom_reported(void **state)
{
	struct run_result r;
	char *js, *json;

	(void)state;
	NEED_CGROUP();
	js = tempfile("status.json");
	/* Within the limit: the limit is not "kill everything". */
	run_sbox(&r, NULL, "--memory", "64M", probe_path(), "alloc", "16", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "alloc=ok");
	run_result_free(&r);

	run_sbox(&r, NULL, "--memory", "64M", "--json-status", js, probe_path(), "alloc", "256", NULL);
	assert_exit(&r, 137);
	assert_no_line(&r, "alloc=ok");
	assert_err_contains(&r, "sboxrun: worker killed: out of memory (MemoryMax=64M)\n");
	json = slurp(js);
	assert_non_null(strstr(json, "\"oom_killed\":true"));
	assert_non_null(strstr(json, "\"timed_out\":false"));
	assert_int_equal(json_num(json, "exit_code"), 137);
	assert_int_equal(json_num(json, "signal"), 9);
	assert_true(json_num(json, "oom_kills") >= 1);
	/* The peak is the limit's, not the 256 MB asked for. */
	assert_true(json_num(json, "memory_peak_bytes") <= 64LL << 20);
	assert_true(json_num(json, "memory_peak_bytes") >= 32LL << 20);
	free(json);
	run_result_free(&r);
	/* A status file that can't be written fails the launch before the
	 * worker runs (before: the worker ran, and sboxrun exited 0 with
	 * only a message), and a longer old one is replaced whole. */
	run_sbox(&r, NULL, "--json-status", "/nonexistent-sbox/x.json", probe_path(), "report", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "--json-status /nonexistent-sbox/x.json: No such file or directory");
	assert_null(kv_get(r.out, "pid"));
	run_result_free(&r);
	write_text(js, "{\"exit_code\":0, \"left over from an older, much longer run\":1}\n");
	run_sbox(&r, NULL, "--json-status", js, probe_path(), "exit", "3", NULL);
	assert_exit(&r, 3);
	json = slurp(js);
	assert_int_equal(json_num(json, "exit_code"), 3);
	assert_null(strstr(json, "left over"));
	assert_int_equal(strchr(json, '\n') - json + 1, (long)strlen(json));
	free(json);
	run_result_free(&r);
	/* A pipe is written to, not truncated (/dev/stdout: run_sbox's
	 * stdout is one). */
	run_sbox(&r, NULL, "--json-status", "/dev/stdout", probe_path(), "exit", "4", NULL);
	assert_exit(&r, 4);
	assert_non_null(strstr(r.out, "{\"exit_code\":4,"));
	run_result_free(&r);
	rm_file_and_dir(js);
}

/* The cgroup, seen from both sides. */

struct seen {
	char *dir;
	char *memory, *pids, *quota, *period, *cpus, *mems, *shares, *io, *procs_n;
};

static void look(int pid, void *arg)
{
	struct seen *s = arg;

	s->dir = wait_running(pid, 2);
	if (!s->dir)
		return;
	if (host_v2()) {
		s->memory = file_of(s->dir, "", "memory.max");
		s->pids = file_of(s->dir, "", "pids.max");
		s->quota = file_of(s->dir, "", "cpu.max");
		s->cpus = file_of(s->dir, "", "cpuset.cpus");
		s->shares = file_of(s->dir, "", "cpu.weight");
	} else {
		s->memory = file_of(s->dir, "memory", "memory.limit_in_bytes");
		s->pids = file_of(s->dir, "pids", "pids.max");
		s->quota = file_of(s->dir, "cpu", "cpu.cfs_quota_us");
		s->period = file_of(s->dir, "cpu", "cpu.cfs_period_us");
		s->cpus = file_of(s->dir, "cpuset", "cpuset.cpus");
		s->mems = file_of(s->dir, "cpuset", "cpuset.mems");
		s->shares = file_of(s->dir, "cpu", "cpu.shares");
		s->io = file_of(s->dir, "blkio", "blkio.bfq.weight");
	}
}

static void test_limits_in_the_sandbox_cgroup(void **state)
{
	struct seen s = { 0 };
	struct run_opts o = { .while_running = look, .arg = &s };
	struct run_result r;
	bool bfq = access(CG "/blkio/blkio.bfq.io_service_bytes", F_OK) == 0;

	(void)state;
	NEED_CGROUP();
	if (host_v2() || !bfq)
		run_sbox(&r, &o, "--memory", "96M", "--pids", "40", "--cpu-quota", "50%", "--cpus", "0",
			 "--set", "CPUWeight=200", "--", "/bin/sh", "-c",
			 "cat /proc/self/cgroup; exec sleep 2", NULL);
	else
		run_sbox(&r, &o, "--memory", "96M", "--pids", "40", "--cpu-quota", "50%", "--cpus", "0",
			 "--set", "CPUWeight=200", "--set", "IOWeight=40", "--", "/bin/sh", "-c",
			 "cat /proc/self/cgroup; exec sleep 2", NULL);
	assert_exit(&r, 0);
	assert_non_null(s.dir);
	assert_string_equal(s.memory, "100663296");
	assert_string_equal(s.pids, "40");
	assert_string_equal(s.cpus, "0");
	if (host_v2()) {
		assert_string_equal(s.quota, "50000 100000");
		assert_string_equal(s.shares, "200");
		assert_line(&r, "0::/");
	} else {
		assert_string_equal(s.quota, "50000");
		assert_string_equal(s.period, "100000");
		assert_string_equal(s.shares, "2048");
		if (bfq)
			assert_string_equal(s.io, "200");
		/* The cgroup namespace's root is the sandbox's own cgroup. */
		assert_non_null(strstr(r.out, ":memory:/\n"));
		assert_non_null(strstr(r.out, ":pids:/\n"));
	}
	run_result_free(&r);
	/* Gone with the sandbox. */
	assert_int_equal(access(s.dir, F_OK), -1);
	free(s.dir);
	free(s.memory);
	free(s.pids);
	free(s.quota);
	free(s.period);
	free(s.cpus);
	free(s.mems);
	free(s.shares);
	free(s.io);
}

/* TasksMax=: a fork bomb stops at the limit. */

static void test_tasks_max_stops_a_fork_bomb(void **state)
{
	struct run_result r;
	long long t0;

	(void)state;
	NEED_CGROUP();
	/* Init and the probe are 2 of the 16 tasks. */
	run_sbox(&r, NULL, "--pids", "16", probe_path(), "forkbomb", "100", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "forked=14");
	assert_line(&r, "fork_errno=EAGAIN");
	run_result_free(&r);

	/* A real bomb: stopped at the limit, quickly, the machine fine. */
	t0 = now_ms();
	run_sbox(&r, NULL, "--pids", "64", probe_path(), "forkbomb", "1000000", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "forked=62");
	assert_line(&r, "fork_errno=EAGAIN");
	assert_true(now_ms() - t0 < 15000);
	run_result_free(&r);
	/* The host still forks. */
	run_sbox(&r, NULL, probe_path(), "forkbomb", "5", NULL);
	assert_line(&r, "forked=5");
	run_result_free(&r);
}

/* CPU quota, weight and sets, seen from inside. */

struct throttled {
	long long nr_throttled;
};

static void watch_throttle(int pid, void *arg)
{
	struct throttled *t = arg;
	char *dir = wait_running(pid, 2);

	t->nr_throttled = -1;
	if (!dir)
		return;
	sleep_ms(1000);
	{
		char *d = sibling(dir, "cpu"), path[600];
		FILE *f;
		char line[128];

		snprintf(path, sizeof(path), "%s/cpu.stat", d);
		free(d);
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "nr_throttled %lld", &t->nr_throttled) == 1)
				break;
		if (f)
			fclose(f);
	}
	free(dir);
}

static void test_cpu_quota_throttles(void **state)
{
	struct throttled t = { 0 };
	struct run_opts o = { .while_running = watch_throttle, .arg = &t };
	struct run_result r;
	long long cpu, wall;

	(void)state;
	NEED_CGROUP();
	run_sbox(&r, &o, "--cpu-quota", "10%", probe_path(), "spin", "1.5", NULL);
	assert_exit(&r, 0);
	cpu = kv_num(&r, "cpu_usec");
	wall = kv_num(&r, "wall_usec");
	/* 10 ms a 100 ms period; the kernel enforces it at its tick, so allow
	 * half as much again and a little (an emulated VM's ticks are late):
	 * unthrottled, a spinning probe gets several times that, even on a
	 * busy machine. */
	if (cpu > wall * 15 / 100 + 50000) {
		dump_result(&r);
		fail_msg("CPUQuota=10%%: %lld us of CPU in %lld us", cpu, wall);
	}
	assert_true(cpu > 0);
	/* The kernel's own count of throttled periods. */
	assert_true(t.nr_throttled > 0);
	run_result_free(&r);
}

static void test_allowed_cpus_affinity(void **state)
{
	struct run_result r;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	(void)state;
	NEED_CGROUP();
	run_sbox(&r, NULL, "--cpus", "0", probe_path(), "report", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "cpus_allowed=0");
	assert_line(&r, "nproc_allowed=1");
	run_result_free(&r);
	if (ncpu < 2)
		return;
	run_sbox(&r, NULL, "--set", "AllowedCPUs=1", probe_path(), "report", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "cpus_allowed=1");
	assert_line(&r, "nproc_allowed=1");
	run_result_free(&r);
	/* A CPU the host lacks is an error, not a silent no-op. */
	run_sbox(&r, NULL, "--cpus", "1000", probe_path(), "report", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "AllowedCPUs=1000");
	run_result_free(&r);
}

/* --stats and --json-status figures are plausible. */

static void test_stats_plausible(void **state)
{
	struct run_result r;
	char *js, *json;
	long long cpu, wall;

	(void)state;
	NEED_CGROUP();
	js = tempfile("status.json");
	run_sbox(&r, NULL, "--stats", "--json-status", js, "--memory", "512M", probe_path(),
		 "alloc", "100", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "alloc=ok");
	assert_err_contains(&r, "sboxrun: stats: wall ");
	assert_err_contains(&r, ", oom kills 0\n");
	json = slurp(js);
	assert_int_equal(json_num(json, "exit_code"), 0);
	assert_int_equal(json_num(json, "signal"), -1);
	assert_non_null(strstr(json, "\"oom_killed\":false"));
	assert_true(json_num(json, "memory_peak_bytes") >= 100LL << 20);
	assert_true(json_num(json, "memory_peak_bytes") < 512LL << 20);
	assert_int_equal(json_num(json, "oom_kills"), 0);
	assert_non_null(strstr(json, host_v2() ? "\"cgroup\":\"v2\"" : "\"cgroup\":\"v1\""));
	free(json);
	run_result_free(&r);

	run_sbox(&r, NULL, "--json-status", js, probe_path(), "spin", "0.5", NULL);
	assert_exit(&r, 0);
	cpu = kv_num(&r, "cpu_usec");
	wall = kv_num(&r, "wall_usec");
	json = slurp(js);
	/* The cgroup counts the probe's CPU (and a little of init's); the
	 * wall time spans the probe's. */
	assert_true(json_num(json, "cpu_user_usec") + json_num(json, "cpu_system_usec") >=
		    cpu * 9 / 10);
	assert_true(json_num(json, "cpu_user_usec") + json_num(json, "cpu_system_usec") <=
		    json_num(json, "wall_usec") * sysconf(_SC_NPROCESSORS_ONLN));
	assert_true(json_num(json, "wall_usec") >= wall);
	assert_true(json_num(json, "wall_usec") < wall + 10000000);
	free(json);
	run_result_free(&r);
	rm_file_and_dir(js);
}

/* RuntimeMaxSec=: the sandbox is killed at the limit and says so (124). */

static void test_runtime_max_kills_the_sandbox(void **state)
{
	struct run_result r;
	char *js = tempfile("status.json"), *json;
	long long t0 = now_ms();

	(void)state;
	run_sbox(&r, NULL, "--timeout", "500ms", "--json-status", js, "--", "/bin/sh", "-c",
		 "echo started; sleep 60 & sleep 60; echo not-killed", NULL);
	assert_exit(&r, 124);
	assert_line(&r, "started");
	assert_no_line(&r, "not-killed");
	assert_err_contains(&r, "sboxrun: worker killed: timeout (RuntimeMaxSec=500ms)\n");
	assert_true(now_ms() - t0 < 10000);
	json = slurp(js);
	assert_non_null(strstr(json, "\"timed_out\":true"));
	assert_int_equal(json_num(json, "exit_code"), 124);
	free(json);
	run_result_free(&r);

	/* Ended before the limit: the worker's own status. */
	run_sbox(&r, NULL, "--timeout", "30s", probe_path(), "exit", "3", NULL);
	assert_exit(&r, 3);
	run_result_free(&r);
	rm_file_and_dir(js);
}

/* A clean end: nothing of the sandbox (processes, cgroup) outlives it. */

static char tag_env[64];

static char *const *tagged_env(void)
{
	static char *env[3];

	env[0] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	env[1] = tag_env;
	env[2] = NULL;
	return env;
}

static void new_tag(void)
{
	snprintf(tag_env, sizeof(tag_env), "SBOX_CG_TEST=%d-%lld", (int)getpid(), now_ms());
}

/* Processes whose environment holds the tag: launchers, inits, guards,
 * workers (which get it with --env). */
static int tagged_processes(bool print)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char path[64], buf[65536];
		ssize_t len;
		int fd, pid = atoi(e->d_name);

		if (pid <= 0 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/environ", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		for (ssize_t i = 0; i < len; i += (ssize_t)strlen(buf + i) + 1) {
			buf[len] = '\0';
			if (strcmp(buf + i, tag_env) == 0) {
				char comm[64] = "", cpath[64];
				FILE *f;

				snprintf(cpath, sizeof(cpath), "/proc/%d/comm", pid);
				f = fopen(cpath, "r");
				if (f && fgets(comm, sizeof(comm), f))
					comm[strcspn(comm, "\n")] = '\0';
				if (f)
					fclose(f);
				/* A zombie's environ reads empty: it is not "left". */
				if (print)
					fprintf(stderr, "left behind: pid %d (%s)\n", pid, comm);
				n++;
				break;
			}
		}
	}
	closedir(d);
	return n;
}

/* Wait up to 5 s for the launches in pids to leave nothing behind. */
static bool settled(const int *pids, size_t n)
{
	long long deadline = now_ms() + 5000;

	for (;;) {
		bool clean = tagged_processes(false) == 0;

		for (size_t i = 0; i < n && clean; i++)
			clean = !any_cgroup_of(pids[i], false);
		if (clean)
			return true;
		if (now_ms() > deadline) {
			tagged_processes(true);
			for (size_t i = 0; i < n; i++)
				any_cgroup_of(pids[i], true);
			return false;
		}
		sleep_ms(20);
	}
}

static int last_pid;

static void note_pid(int pid, void *arg)
{
	(void)arg;
	last_pid = pid;
}

static void kill_when_running(int pid, void *arg)
{
	char *dir;

	(void)arg;
	last_pid = pid;
	dir = can_cgroup() ? wait_running(pid, 2) : NULL;
	if (!dir)
		sleep_ms(300);
	free(dir);
	kill(pid, SIGKILL);
}

static void test_orphans_and_killed_launcher_leave_nothing(void **state)
{
	struct run_opts o = { .while_running = note_pid };
	struct run_result r;
	char cmd[512];
	int pids[2];

	(void)state;
	NEED_CGROUP();
	new_tag();
	o.env = tagged_env();
	/* The worker exits leaving a child behind: it dies with the sandbox. */
	snprintf(cmd, sizeof(cmd), "%s sleep 60 & echo bg=$!", probe_path());
	run_sbox(&r, &o, "--env", tag_env, "--", "/bin/sh", "-c", cmd, NULL);
	assert_exit(&r, 0);
	pids[0] = last_pid;
	assert_true(count_prefix(r.out, "bg=") == 1);
	run_result_free(&r);
	assert_true(settled(pids, 1));

	/* The launcher is SIGKILLed with its sandbox running: the sandbox
	 * dies (parent-death signal) and the guard removes the cgroup. */
	o.while_running = kill_when_running;
	run_sbox(&r, &o, "--env", tag_env, probe_path(), "sleep", "60", NULL);
	assert_int_equal(r.code, 128 + SIGKILL);
	pids[1] = last_pid;
	run_result_free(&r);
	assert_true(settled(pids, 2));
}

/* Without root: what a user gets, and a clear error for what it can't. */

static void drop_to_nobody(void *arg)
{
	(void)arg;
	if (geteuid() != 0)
		return;
	if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
	    setresuid(65534, 65534, 65534) < 0)
		_exit(98);
}

static void test_unprivileged(void **state)
{
	struct run_opts o = { .pre_exec = drop_to_nobody };
	struct run_result r;

	(void)state;
	/* No limit asked: it runs, with or without a cgroup of its own. */
	run_sbox(&r, &o, "--stats", probe_path(), "spin", "0.2", NULL);
	assert_exit(&r, 0);
	assert_err_contains(&r, "sboxrun: stats: wall ");
	if (!host_v2())
		assert_err_contains(&r, "(no cgroup: from rusage, peak of the largest process)");
	run_result_free(&r);

	run_sbox(&r, &o, "--memory", "64M", probe_path(), "alloc", "256", NULL);
	if (host_v2() && getenv("SBOX_V2_DELEGATED") && !running_as_root()) {
		/* In a delegated v2 subtree the limit holds for users too. */
		assert_exit(&r, 137);
		assert_err_contains(&r, "out of memory (MemoryMax=64M)");
	} else if (!host_v2()) {
		/* v1 can't be delegated to a user namespace: a clear error. */
		assert_exit(&r, 125);
		assert_err_contains(&r, "MemoryMax=64M needs the sandbox's own cgroup, which uid 65534 may not make");
		assert_no_line(&r, "alloc=ok");
	}
	run_result_free(&r);

	/* The timeout is the launcher's: it holds without a cgroup. */
	run_sbox(&r, &o, "--timeout", "300ms", probe_path(), "sleep", "30", NULL);
	assert_exit(&r, 124);
	assert_err_contains(&r, "worker killed: timeout (RuntimeMaxSec=300ms)");
	run_result_free(&r);
}

/* What a sandbox sees of cgroups: its own, and nothing else.  The root
 * view is a clone of the host's, so before C6 covered /sys/fs/cgroup every
 * worker read the host's whole cgroup tree: every other sandbox's
 * directory (sbox-<launcher pid>-<n>) with its live memory use and
 * limits, CPU, pids, I/O and device figures -- other users' included (the
 * cgroup namespace changes /proc/self/cgroup only).  Sandbox A holds
 * 120 MB under MemoryMax=200M; sandbox B looks for it, with the default
 * policy and again as nobody (without a cgroup of its own on v1: then
 * /sys/fs/cgroup is an empty directory). */

#define A_LIMIT "209715200"

static const char look_around[] =
	"find /sys/fs/cgroup -name 'sbox-*' 2>/dev/null | sed 's/^/seen=/'; "
	"for f in $(find /sys/fs/cgroup -name memory.limit_in_bytes -o -name memory.max 2>/dev/null); do "
	"echo \"limit=$f $(cat $f)\"; done; "
	"for f in $(find /sys/fs/cgroup -name memory.usage_in_bytes -o -name memory.current 2>/dev/null); do "
	"echo \"usage=$f $(cat $f)\"; done; "
	"echo \"listed=$(ls -A /sys/fs/cgroup | tr '\\n' ' ')\"";

struct neighbour {
	char *a_dir;                    /* A's cgroup on the host */
	struct run_result b, b_nobody;
};

static void look_from_b(int pid, void *arg)
{
	struct neighbour *nb = arg;
	struct run_opts nobody = { .pre_exec = drop_to_nobody };

	nb->a_dir = wait_running(pid, 2);
	run_sbox(&nb->b, NULL, "--", "/bin/sh", "-c", look_around, NULL);
	run_sbox(&nb->b_nobody, &nobody, "--", "/bin/sh", "-c", look_around, NULL);
}

/* B saw no trace of A: not its directory, not its limit, not its 120 MB. */
static void assert_no_neighbour(const struct run_result *r, const char *a_name)
{
	char *copy, *save;

	assert_exit(r, 0);
	if (count_prefix(r->out, "seen=") != 0 || strstr(r->out, a_name)) {
		dump_result(r);
		fail_msg("another sandbox's cgroup (%s) is in view", a_name);
	}
	copy = strdup(r->out);
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		const char *v = strrchr(l, ' ');

		if (!v)
			continue;
		if ((strncmp(l, "limit=", 6) == 0 && strcmp(v + 1, A_LIMIT) == 0) ||
		    (strncmp(l, "usage=", 6) == 0 && strtoull(v + 1, NULL, 10) >= 100ULL << 20)) {
			dump_result(r);
			fail_msg("another sandbox's figure is in view: %s", l);
		}
	}
	free(copy);
}

/* v1: what B lists at /sys/fs/cgroup is the host's names of the
 * hierarchies its cgroup has a directory in: memory and pids among them,
 * no hierarchy of the launcher's (name=systemd, the hybrid's empty
 * unified), nothing the host lacks. */
static void assert_listed_own(const struct run_result *r)
{
	char *listed = kv_get(r->out, "listed"), *save, path[512];
	bool memory = false, pids = false;

	assert_non_null(listed);
	for (char *t = strtok_r(listed, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		snprintf(path, sizeof(path), CG "/%s", t);
		memory |= strcmp(t, "memory") == 0;
		pids |= strcmp(t, "pids") == 0;
		if (access(path, F_OK) < 0 || strcmp(t, "systemd") == 0 || strcmp(t, "unified") == 0) {
			dump_result(r);
			fail_msg("%s in the sandbox's /sys/fs/cgroup", t);
		}
	}
	assert_true(memory && pids);
	free(listed);
}

static void test_other_sandboxes_out_of_view(void **state)
{
	struct neighbour nb = { 0 };
	struct run_opts o = { .while_running = look_from_b, .arg = &nb, .when_output = "filled\n" };
	struct run_result r;
	const char *a_name;

	(void)state;
	NEED_CGROUP();
	if (running_as_root())
		run_sbox(&r, &o, "--user", "daemon", "--memory", "200M", "--", "/bin/sh", "-c",
			 "head -c 120M /dev/zero > /dev/shm/w && echo filled && exec sleep 4", NULL);
	else
		run_sbox(&r, &o, "--memory", "200M", "--", "/bin/sh", "-c",
			 "head -c 120M /dev/zero > /dev/shm/w && echo filled && exec sleep 4", NULL);
	assert_exit(&r, 0);
	assert_non_null(nb.a_dir);
	a_name = strrchr(nb.a_dir, '/') + 1;
	assert_no_neighbour(&nb.b, a_name);
	assert_no_neighbour(&nb.b_nobody, a_name);
	/* B's own cgroup is what it sees: the hierarchies of its own (v1: a
	 * mount point each; v2: the cgroup2 files themselves). */
	if (running_as_root()) {
		if (host_v2()) {
			char *listed = kv_get(nb.b.out, "listed");

			assert_non_null(listed);
			assert_non_null(strstr(listed, "cgroup.procs "));
			free(listed);
		} else {
			assert_listed_own(&nb.b);
			assert_non_null(strstr(nb.b.out, "limit=/sys/fs/cgroup/memory/memory.limit_in_bytes "));
			/* nobody has no cgroup of its own on v1: nothing to see. */
			assert_line(&nb.b_nobody, "listed=");
		}
	}
	run_result_free(&nb.b);
	run_result_free(&nb.b_nobody);
	run_result_free(&r);
	free(nb.a_dir);
}

/* The positive side: a worker reads its own limits at the usual paths, as
 * in a container with a private cgroup namespace (ML runtimes size their
 * thread pools and caches from them), and can't write them. */
static void test_own_cgroup_seen_inside(void **state)
{
	const char *file = host_v2() ? "/sys/fs/cgroup/pids.max" : "/sys/fs/cgroup/pids/pids.max";
	char script[2048];
	struct run_result r;
	char *procs, *save;
	bool one = false;

	(void)state;
	NEED_CGROUP();
	snprintf(script, sizeof(script),
		 "cd /sys/fs/cgroup || exit 3; "
		 "for f in memory/memory.limit_in_bytes memory.max pids/pids.max pids.max "
		 "cpu/cpu.cfs_quota_us cpu.max; do [ -f $f ] && echo \"$f=$(cat $f)\"; done; "
		 "echo \"procs=$(cat pids/cgroup.procs cgroup.procs 2>/dev/null | tr '\\n' ' ')\"; "
		 "echo \"subdirs=$(find . -mindepth 2 -type d | wc -l)\"; "
		 "awk '$5 ~ \"^/sys/fs/cgroup\" { m[$5] = $6 } END { for (k in m) print \"mount=\" k \" \" m[k] }' /proc/self/mountinfo; "
		 "exec %s open %s w", probe_path(), file);
	if (running_as_root())
		run_sbox(&r, NULL, "--user", "root", "--memory", "77M", "--pids", "37", "--cpu-quota", "50%",
			 "--", "/bin/sh", "-c", script, NULL);
	else
		run_sbox(&r, NULL, "--memory", "77M", "--pids", "37", "--cpu-quota", "50%", "--",
			 "/bin/sh", "-c", script, NULL);
	assert_exit(&r, 0);
	if (host_v2()) {
		assert_line(&r, "memory.max=80740352");
		assert_line(&r, "pids.max=37");
		assert_line(&r, "cpu.max=50000 100000");
		assert_line(&r, "mount=/sys/fs/cgroup ro,nosuid,nodev,noexec,relatime");
	} else {
		assert_line(&r, "memory/memory.limit_in_bytes=80740352");
		assert_line(&r, "pids/pids.max=37");
		assert_line(&r, "cpu/cpu.cfs_quota_us=50000");
		assert_line(&r, "mount=/sys/fs/cgroup ro,nosuid,nodev,noexec,relatime");
		assert_line(&r, "mount=/sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime");
		assert_line(&r, "mount=/sys/fs/cgroup/pids ro,nosuid,nodev,noexec,relatime");
	}
	/* Its own processes only (pids of its namespace: init is 1), and no
	 * cgroup below or beside its own. */
	procs = kv_get(r.out, "procs");
	assert_non_null(procs);
	for (char *t = strtok_r(procs, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		one |= strcmp(t, "1") == 0;
		if (atoi(t) < 1 || atoi(t) > 64) {
			dump_result(&r);
			fail_msg("a process not of the sandbox's in its cgroup.procs: %s", t);
		}
	}
	assert_true(one);
	free(procs);
	assert_line(&r, "subdirs=0");
	/* Read-only: root of the sandbox's user namespace or not. */
	if (running_as_root())
		assert_line(&r, "open=EROFS");
	else
		assert_no_line(&r, "open=ok");
	run_result_free(&r);
}

/* On v1 a sandbox gets a cgroup of its own only in the hierarchies its
 * limits, figures and kill need (issue 14: each costs a mkdir, an attach
 * and an rmdir per launch); cpu, cpuset and blkio only for a limit of
 * theirs.  Its view shows exactly those: elsewhere it is in its
 * launcher's cgroup, which it must not see.  On v2, the same rule as
 * the kernel has it: the controllers the limits need are enabled on the
 * sandbox's one cgroup (memory and pids always here, cpu and cpuset for
 * CPUQuota= and AllowedCPUs=). */
static void test_v1_hierarchies_the_limits_need(void **state)
{
	static const char v1[] = "echo \"view=$(ls /sys/fs/cgroup | tr '\\n' ' ')\"";
	static const char v2[] = "for c in cpu cpuset memory pids; do "
				 "grep -qw $c /sys/fs/cgroup/cgroup.controllers && echo has=$c; done";
	const char *script = host_v2() ? v2 : v1;
	struct run_result r;

	(void)state;
	NEED_CGROUP();
	NEED_ROOT();
	run_sbox(&r, NULL, "--memory", "64M", "--pids", "32", "--", "/bin/sh", "-c", script, NULL);
	assert_exit(&r, 0);
	if (host_v2()) {
		assert_line(&r, "has=memory");
		assert_line(&r, "has=pids");
	} else {
		assert_line(&r, "view=cpuacct devices freezer memory pids ");
	}
	run_result_free(&r);
	run_sbox(&r, NULL, "--memory", "64M", "--pids", "32", "--cpu-quota", "50%", "--cpus", "0",
		 "--", "/bin/sh", "-c", script, NULL);
	assert_exit(&r, 0);
	if (host_v2()) {
		assert_line(&r, "has=cpu");
		assert_line(&r, "has=cpuset");
	} else {
		assert_line(&r, "view=cpu cpuacct cpuset devices freezer memory pids ");
	}
	run_result_free(&r);
}

/* Limits the host can't enforce fail the launch, never run unlimited. */

static void test_limits_the_host_cannot_enforce(void **state)
{
	struct run_result r;

	(void)state;
	NEED_ROOT();
	run_sbox(&r, NULL, "--set", "MemoryHigh=1G", probe_path(), "exit", "0", NULL);
	if (host_v2()) {
		assert_exit(&r, 0);
	} else {
		assert_exit(&r, 125);
		assert_err_contains(&r, "MemoryHigh=1G: cgroup v1 has no memory throttling limit");
	}
	run_result_free(&r);
	/* Bad values never reach the kernel. */
	run_sbox(&r, NULL, "--memory", "64MB", probe_path(), "exit", "0", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "--memory 64MB: '64MB' is not a size");
	run_result_free(&r);
}

static void test_cgroup_parent(void **state)
{
	struct run_opts o = { .while_running = note_pid };
	struct run_result r;
	char parent[64], pat[256];
	glob_t g;

	(void)state;
	NEED_ROOT();
	snprintf(parent, sizeof(parent), "/sbox-test-%d/jobs", (int)getpid());
	run_sbox(&r, &o, "--cgroup-parent", parent, "--memory", "80M", "--", "/bin/sh", "-c",
		 "cat /proc/self/cgroup", NULL);
	assert_exit(&r, 0);
	/* Made where asked: the namespace's root is the sandbox's cgroup. */
	assert_non_null(strstr(r.out, host_v2() ? "0::/\n" : ":memory:/\n"));
	run_result_free(&r);
	/* Removed, under the parent it was made in; the parent stays. */
	snprintf(pat, sizeof(pat), host_v2() ? CG "%s/sbox-*" : CG "/memory%s/sbox-*", parent);
	assert_int_not_equal(glob(pat, GLOB_ONLYDIR, NULL, &g), 0);
	snprintf(pat, sizeof(pat), host_v2() ? CG "%s" : CG "/memory%s", parent);
	assert_int_equal(access(pat, F_OK), 0);
	for (size_t i = 0; i < (host_v2() ? 1 : sizeof(v1_ctrls) / sizeof(v1_ctrls[0])); i++) {
		char d[256];

		if (host_v2())
			snprintf(d, sizeof(d), CG "%s", parent);
		else
			snprintf(d, sizeof(d), CG "/%s%s", v1_ctrls[i], parent);
		rmdir(d);
		*strrchr(d, '/') = '\0';
		rmdir(d);
	}
}

/* The sweep: a sandbox cgroup whose launcher and guard both died goes at a
 * launch under its parent once it is 10 s old, but a parent is swept at
 * most once per 5 s (issue 14: a launch beside 1000 live sandboxes must not
 * read them all).  The stale cgroups are made here by hand, in every
 * hierarchy, named for a pid that can't exist (above the kernel's
 * PID_MAX_LIMIT) and for a child of ours, alive at the first sweep. */

#define NO_SUCH_PID 4194305

static size_t n_hierarchies(void)
{
	return host_v2() ? 1 : sizeof(v1_ctrls) / sizeof(v1_ctrls[0]);
}

static void sweep_dir(const char *parent, const char *ctrl, int pid, char *buf, size_t len)
{
	if (host_v2())
		snprintf(buf, len, CG "%s/sbox-%d-1", parent, pid);
	else
		snprintf(buf, len, CG "/%s%s/sbox-%d-1", ctrl, parent, pid);
}

/* Copy cpuset.cpus and cpuset.mems down from the hierarchy's root into
 * each level of parent, then into leaf. */
static void fill_cpuset_levels(const char *parent, const char *leaf)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "set -e; c=" CG "/cpuset; for l in $(echo '%s' | tr / ' '); do c=$c/$l; "
		 "cat " CG "/cpuset/cpuset.cpus > $c/cpuset.cpus; cat " CG "/cpuset/cpuset.mems > $c/cpuset.mems; done; "
		 "cat " CG "/cpuset/cpuset.cpus > '%s/cpuset.cpus'; cat " CG "/cpuset/cpuset.mems > '%s/cpuset.mems'",
		 parent, leaf, leaf);
	assert_int_equal(system(cmd), 0);
}

/* v1 hierarchies a sandbox without a CPU or I/O limit has no directory
 * in: its stale cgroup is in the others only. */
static bool limit_only_ctrl(const char *ctrl)
{
	return strcmp(ctrl, "cpu") == 0 || strcmp(ctrl, "cpuset") == 0 ||
	       strcmp(ctrl, "blkio") == 0;
}

/* A stale cgroup of pid in every hierarchy, or (needed_only) as a sandbox
 * without a CPU or I/O limit leaves it. */
static void make_stale_as(const char *parent, int pid, bool needed_only)
{
	for (size_t i = 0; i < n_hierarchies(); i++) {
		char d[256], cmd[300];

		if (needed_only && !host_v2() && limit_only_ctrl(v1_ctrls[i]))
			continue;
		sweep_dir(parent, v1_ctrls[i], pid, d, sizeof(d));
		snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", d);
		assert_int_equal(system(cmd), 0);
		/* A launch with no CPU limit makes nothing in the cpuset
		 * hierarchy, so nothing there copied the CPUs and memory
		 * nodes down: without them no task can join (put_in_stale). */
		if (!host_v2() && strcmp(v1_ctrls[i], "cpuset") == 0)
			fill_cpuset_levels(parent, d);
		/* Looked up now: a cgroup v1 directory's ctime is when its
		 * inode was first looked up, which the sweep's age reads. */
		assert_int_equal(access(d, F_OK), 0);
	}
}

static void make_stale(const char *parent, int pid)
{
	make_stale_as(parent, pid, false);
}

/* In how many hierarchies the stale cgroup of pid is left. */
static size_t stale_left(const char *parent, int pid)
{
	size_t n = 0;

	for (size_t i = 0; i < n_hierarchies(); i++) {
		char d[256];

		sweep_dir(parent, v1_ctrls[i], pid, d, sizeof(d));
		n += access(d, F_OK) == 0;
	}
	return n;
}

static void launch_under(const char *parent)
{
	struct run_result r;

	run_sbox(&r, NULL, "--cgroup-parent", parent, "--", "/bin/true", NULL);
	assert_exit(&r, 0);
	run_result_free(&r);
}

static void remove_test_parent(const char *parent, int pid)
{
	for (size_t i = 0; i < n_hierarchies(); i++) {
		char d[256];

		sweep_dir(parent, v1_ctrls[i], pid, d, sizeof(d));
		rmdir(d);
		*strrchr(d, '/') = '\0';
		rmdir(d);
		*strrchr(d, '/') = '\0';
		rmdir(d);
	}
}

/* Runs in sboxrun's process before its exec: a stale cgroup named as its
 * first would be (sbox-<its pid>-1), in the last hierarchy only (the one
 * a v1 create reaches last), under the test's parent. */
static void stale_own_name(void *arg)
{
	const char *parent = arg;
	char d[256];

	sweep_dir(parent, v1_ctrls[n_hierarchies() - 1], (int)getpid(), d, sizeof(d));
	if (mkdir(d, 0755) < 0)
		_exit(97);
}

/*
 * A pid comes back (pid_max is 32768 by default) while the cgroup of its
 * last owner may still be there: a killed launcher's that its guard is
 * still removing, or a stale one the sweep leaves alone for 10 s.  A
 * launcher that gets that pid takes the next name instead of failing
 * (CI saw "creating the sandbox's cgroup .../freezer/sbox/sbox-28132-1 (a
 * stale one of that name?): File exists", exit 125, in a leak check of
 * 200 launches), and leaves the other's alone: its own, made in the
 * hierarchies before the taken one, are taken back, the stale one stays.
 */
static void test_taken_name_is_skipped(void **state)
{
	struct run_opts o = { .pre_exec = stale_own_name };
	char parent[64], d[256];
	struct run_result r;
	size_t left, ours = 0;
	int pid;

	(void)state;
	NEED_ROOT();
	snprintf(parent, sizeof(parent), "/sbox-test-%d/taken", (int)getpid());
	o.arg = parent;
	launch_under(parent);
	run_sbox(&r, &o, "--cgroup-parent", parent, "--", "/bin/true", NULL);
	assert_exit(&r, 0);
	run_result_free(&r);
	/* The launcher's pid, from the stale directory: the only sbox-*-1
	 * left under the parent (launch_under's went at its end). */
	sweep_dir(parent, v1_ctrls[n_hierarchies() - 1], 0, d, sizeof(d));
	strcpy(strrchr(d, '/'), "/sbox-*-1");
	{
		glob_t g;

		assert_int_equal(glob(d, 0, NULL, &g), 0);
		assert_int_equal(g.gl_pathc, 1);
		assert_int_equal(sscanf(strrchr(g.gl_pathv[0], '/'), "/sbox-%d-1", &pid), 1);
		globfree(&g);
	}
	/* Still there, in its one hierarchy; and nothing else of that
	 * launcher's is left (its sbox-PID-2 went at its end). */
	left = stale_left(parent, pid);
	assert_int_equal(left, 1);
	for (size_t i = 0; i < n_hierarchies(); i++) {
		char pat[300];
		glob_t g;

		if (host_v2())
			snprintf(pat, sizeof(pat), CG "%s/sbox-%d-*", parent, pid);
		else
			snprintf(pat, sizeof(pat), CG "/%s%s/sbox-%d-*", v1_ctrls[i], parent, pid);
		if (glob(pat, 0, NULL, &g) == 0)
			ours += g.gl_pathc;
		globfree(&g);
	}
	assert_int_equal(ours, 1);
	remove_test_parent(parent, pid);
}

/* A child of ours that lives until killed (or we die), as a live
 * launcher, and a stale-looking cgroup named for it under parent, which
 * sbox makes its way first (v1 cpuset: clone_children). */
static pid_t live_launcher_with_stale(const char *parent)
{
	pid_t live = fork();

	assert_true(live >= 0);
	if (live == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pause();
		_exit(0);
	}
	launch_under(parent);
	make_stale(parent, live);
	return live;
}

static void test_sweep_reclaims_at_most_every_interval(void **state)
{
	char parent[64];
	size_t left[2];
	pid_t live;

	(void)state;
	NEED_ROOT();
	snprintf(parent, sizeof(parent), "/sbox-test-%d/sweep", (int)getpid());
	live = live_launcher_with_stale(parent);
	make_stale(parent, NO_SUCH_PID);
	/* The sweep finds a sandbox's cgroup where every one has it: it
	 * read v1's first hierarchy, cpu here, where a sandbox without a
	 * CPU limit has none, and left this one for good. */
	make_stale_as(parent, NO_SUCH_PID + 1, true);
	sleep_ms(10500);
	/* Old enough: the dead launchers' go, the live one's stays. */
	launch_under(parent);
	left[0] = stale_left(parent, NO_SUCH_PID) + stale_left(parent, NO_SUCH_PID + 1);
	left[1] = stale_left(parent, live);
	kill(live, SIGKILL);
	waitpid(live, NULL, 0);
	assert_int_equal(left[0], 0);
	assert_int_equal(left[1], n_hierarchies());
	/* Stale now, but the parent was swept less than 5 s ago. */
	launch_under(parent);
	assert_int_equal(stale_left(parent, live), n_hierarchies());
	/* The next sweep takes it. */
	sleep_ms(5500);
	launch_under(parent);
	assert_int_equal(stale_left(parent, live), 0);
	remove_test_parent(parent, live);
}

/* Moves pid into the stale cgroup of owner under parent, every hierarchy. */
static void put_in_stale(const char *parent, int owner, pid_t pid)
{
	for (size_t i = 0; i < n_hierarchies(); i++) {
		char d[256], procs[300], num[32];

		sweep_dir(parent, v1_ctrls[i], owner, d, sizeof(d));
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", d);
		snprintf(num, sizeof(num), "%d\n", (int)pid);
		write_text(procs, num);
	}
}

/* A launcher in a pid namespace of its own (a container's sboxrun, or a
 * zygote worker) sees every host launcher dead and, on cgroup v1, every
 * cgroup empty, since neither lists a process of a pid namespace above
 * its own.  Its sweep must not wait on such a cgroup: a hostile review
 * saw a zygote worker's start take 40 s per live sandbox on the host (5 s
 * of retried rmdir in each of 8 hierarchies).  One try each now; the live
 * sandbox's cgroup stays. */
static void test_sweep_from_another_pid_namespace(void **state)
{
	const char *sboxrun = sboxrun_path();
	char parent[64];
	pid_t live, launcher;
	int st = -1;
	long long waited = 0;

	(void)state;
	NEED_ROOT();
	snprintf(parent, sizeof(parent), "/sbox-test-%d/pidns", (int)getpid());
	live = live_launcher_with_stale(parent);
	put_in_stale(parent, live, live);
	sleep_ms(10500);
	launcher = fork();
	assert_true(launcher >= 0);
	if (launcher == 0) {
		execl("/usr/bin/unshare", "unshare", "--pid", "--fork", "--kill-child", sboxrun,
		      "--cgroup-parent", parent, "--", "/bin/true", (char *)NULL);
		_exit(127);
	}
	/* A launch takes milliseconds; the old wait was 5 s per hierarchy. */
	while (waitpid(launcher, &st, WNOHANG) == 0 && waited < 4000) {
		sleep_ms(50);
		waited += 50;
	}
	if (waited >= 4000) {
		kill(launcher, SIGKILL);
		waitpid(launcher, &st, 0);
	}
	assert_int_equal(stale_left(parent, live), n_hierarchies());
	kill(live, SIGKILL);
	waitpid(live, NULL, 0);
	remove_test_parent(parent, live);
	if (waited >= 4000)
		fail_msg("the launch in a pid namespace of its own took over 4 s: its sweep waited on a live sandbox's cgroup");
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* The sweep's stamps can't hold it off (docs/security.md): a launch
 * trusts a stamp only in a /run/sbox that is root's and not writable by
 * others, owned by root, with one link, naming its own parent.  Each test
 * stages a stale cgroup under a parent of its own, waits until it is old
 * enough and the first launch's stamp has expired, then plants a fresh
 * stamp its way: the next launch must sweep all the same. */

#define RUN_SBOX_DIR "/run/sbox"

struct stamp_case {
	char parent[64];
	char dir[256]; /* the parent in the hierarchy the sweep reads */
	char stamp[96];
	mode_t run_mode;
	bool chmoded;
};

static int stamp_setup(void **state)
{
	static struct stamp_case c;

	memset(&c, 0, sizeof(c));
	*state = &c;
	return 0;
}

/* Runs whether the test passed or not: /run/sbox is shared with sboxd and
 * every other launcher of the host. */
static int stamp_teardown(void **state)
{
	struct stamp_case *c = *state;

	if (c->chmoded && chmod(RUN_SBOX_DIR, c->run_mode & 07777) < 0)
		fprintf(stderr, "restoring %s's mode: %s\n", RUN_SBOX_DIR, strerror(errno));
	if (c->stamp[0])
		unlink(c->stamp);
	if (c->parent[0])
		remove_test_parent(c->parent, NO_SUCH_PID);
	return 0;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t x = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		x = (x ^ (unsigned char)*s) * 0x100000001b3ULL;
	return x;
}

/* The stamp the first launch under c->parent wrote: named for the parent
 * in whichever hierarchy the sweep reads (the host's first v1 mount). */
static void find_stamp(struct stamp_case *c)
{
	for (size_t i = 0; i < n_hierarchies(); i++) {
		if (host_v2())
			snprintf(c->dir, sizeof(c->dir), CG "%s", c->parent);
		else
			snprintf(c->dir, sizeof(c->dir), CG "/%s%s", v1_ctrls[i], c->parent);
		snprintf(c->stamp, sizeof(c->stamp), RUN_SBOX_DIR "/.cgroup-sweep-%016" PRIx64,
			 fnv1a(c->dir));
		if (access(c->stamp, F_OK) == 0)
			return;
	}
	fail_msg("no sweep stamp for %s under " RUN_SBOX_DIR, c->parent);
}

static void stage_stale_and_wait(struct stamp_case *c, const char *name)
{
	snprintf(c->parent, sizeof(c->parent), "/sbox-test-%d/%s", (int)getpid(), name);
	launch_under(c->parent);
	find_stamp(c);
	make_stale(c->parent, NO_SUCH_PID);
	sleep_ms(10500);
}

/* A fresh stamp, as a fresh sweep would leave it but for what is asked:
 * its content, its owner. */
static void plant_stamp(const char *stamp, const char *content, uid_t owner)
{
	int fd;

	unlink(stamp);
	fd = open(stamp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	if (owner != 0)
		assert_int_equal(fchown(fd, owner, owner), 0);
	close(fd);
}

static void test_sweep_stamp_in_a_writable_dir_is_ignored(void **state)
{
	struct stamp_case *c = *state;
	struct stat st;
	pid_t pid;
	int status;

	NEED_ROOT();
	stage_stale_and_wait(c, "stamp-dir");
	assert_int_equal(stat(RUN_SBOX_DIR, &st), 0);
	c->run_mode = st.st_mode;
	c->chmoded = true;
	assert_int_equal(chmod(RUN_SBOX_DIR, 0777), 0);
	/* nobody replaces root's stamp with a fresh one of its own. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(2);
		if (unlink(c->stamp) < 0)
			_exit(3);
		int fd = open(c->stamp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, c->dir, strlen(c->dir)) != (ssize_t)strlen(c->dir))
			_exit(4);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	launch_under(c->parent);
	assert_int_equal(stale_left(c->parent, NO_SUCH_PID), 0);
}

static void test_sweep_stamp_not_roots_is_ignored(void **state)
{
	struct stamp_case *c = *state;

	NEED_ROOT();
	stage_stale_and_wait(c, "stamp-owner");
	plant_stamp(c->stamp, c->dir, 65534);
	launch_under(c->parent);
	assert_int_equal(stale_left(c->parent, NO_SUCH_PID), 0);
}

static void test_sweep_stamp_of_another_parent_is_ignored(void **state)
{
	struct stamp_case *c = *state;

	NEED_ROOT();
	stage_stale_and_wait(c, "stamp-collide");
	/* What a parent whose path hashes alike would have left. */
	plant_stamp(c->stamp, CG "/cpu/another-parent", 0);
	launch_under(c->parent);
	assert_int_equal(stale_left(c->parent, NO_SUCH_PID), 0);
}

/* Leak check: mixed launches leave nothing of theirs behind. */

static char *mountinfo_set(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096];
	size_t cap = 1 << 20, len = 0;
	char *all = calloc(1, cap);

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		/* Mount id and parent id change nothing of what is mounted. */
		const char *p = strchr(strchr(line, ' ') + 1, ' ') + 1;
		size_t n = strlen(p);

		if (len + n + 1 < cap) {
			memcpy(all + len, p, n);
			len += n;
		}
	}
	fclose(f);
	return all;
}

/* Is pid one of ours: tagged, or in a cgroup of one of our launches?  (A
 * namespace number is reused once freed: someone else's new sandbox may
 * hold it by now.) */
static bool ours(const char *pid, const int *pids, size_t n)
{
	char path[320], buf[65536];
	int fd;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%s/environ", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	len = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	for (ssize_t i = 0; i < len; i += (ssize_t)strlen(buf + i) + 1) {
		buf[len] = '\0';
		if (strcmp(buf + i, tag_env) == 0)
			return true;
	}
	snprintf(path, sizeof(path), "/proc/%s/cgroup", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	len = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	for (size_t i = 0; i < n; i++) {
		char name[48];

		snprintf(name, sizeof(name), "/sbox-%d-", pids[i]);
		if (strstr(buf, name))
			return true;
	}
	return false;
}

static bool ns_alive(const char *target, const int *pids, size_t npids)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	static const char *const kinds[] = { "mnt", "pid", "net", "ipc", "uts", "cgroup" };
	bool found = false;

	while (d && !found && (e = readdir(d)) != NULL) {
		if (atoi(e->d_name) <= 0)
			continue;
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && !found; i++) {
			char path[320], t[128];
			ssize_t n;

			snprintf(path, sizeof(path), "/proc/%s/ns/%s", e->d_name, kinds[i]);
			n = readlink(path, t, sizeof(t) - 1);
			if (n > 0) {
				t[n] = '\0';
				found = strcmp(t, target) == 0 && ours(e->d_name, pids, npids);
				if (found)
					fprintf(stderr, "namespace %s still held by pid %s\n", target, e->d_name);
			}
		}
	}
	if (d)
		closedir(d);
	return found;
}

static void test_leak_check_mixed_launches(void **state)
{
	const char *env = getenv("SBOX_LEAK_LAUNCHES");
	int n = env ? atoi(env) : 200, counts[5] = { 0 };
	int *pids;
	char **nss;
	size_t n_ns = 0;
	char *before, *after;
	long long t0 = now_ms();

	(void)state;
	NEED_CGROUP();
	assert_true(n > 0);
	pids = calloc((size_t)n + 1, sizeof(int));
	nss = calloc((size_t)n * 6 + 1, sizeof(char *));
	new_tag();
	before = mountinfo_set();
	for (int i = 0; i < n; i++) {
		struct run_opts o = { .while_running = note_pid, .env = tagged_env() };
		struct run_result r;
		int kind = i % 5, want;

		switch (kind) {
		case 0:   /* success */
			run_sbox(&r, &o, "--env", tag_env, "--memory", "256M", probe_path(), "report", NULL);
			want = 0;
			if (i % 25 == 0) {
				static const char *const keys[] = { "ns.mnt", "ns.pid", "ns.net", "ns.ipc",
								    "ns.uts", "ns.cgroup" };

				for (size_t k = 0; k < 6; k++) {
					char *v = kv_get(r.out, keys[k]);

					if (v)
						nss[n_ns++] = v;
				}
			}
			break;
		case 1:   /* exec failure */
			run_sbox(&r, &o, "--env", tag_env, "/nonexistent/sbox-no-such-command", NULL);
			want = 127;
			break;
		case 2:   /* OOM kill */
			run_sbox(&r, &o, "--env", tag_env, "--memory", "32M", probe_path(), "alloc", "128",
				 NULL);
			want = 137;
			break;
		case 3:   /* timeout */
			run_sbox(&r, &o, "--env", tag_env, "--timeout", "150ms", probe_path(), "sleep", "30",
				 NULL);
			want = 124;
			break;
		default:  /* killed launcher */
			o.while_running = kill_when_running;
			run_sbox(&r, &o, "--env", tag_env, probe_path(), "sleep", "30", NULL);
			want = 128 + SIGKILL;
			break;
		}
		if (r.code != want) {
			dump_result(&r);
			fail_msg("launch %d (kind %d): exit %d, expected %d", i, kind, r.code, want);
		}
		pids[i] = last_pid;
		counts[kind]++;
		run_result_free(&r);
	}
	assert_true(settled(pids, (size_t)n));
	after = mountinfo_set();
	if (strcmp(before, after) != 0) {
		fprintf(stderr, "mounts before:\n%s\nmounts after:\n%s\n", before, after);
		fail_msg("the host's mount table changed");
	}
	for (size_t i = 0; i < n_ns; i++)
		assert_false(ns_alive(nss[i], pids, (size_t)n));
	fprintf(stderr, "leak check: %d launches in %.1fs (%d ok, %d exec failures, %d OOM kills, %d timeouts, %d killed launchers): no cgroup, process, mount or namespace left (%zu namespaces checked)\n",
		n, (double)(now_ms() - t0) / 1000, counts[0], counts[1], counts[2], counts[3], counts[4],
		n_ns);
	for (size_t i = 0; i < n_ns; i++)
		free(nss[i]);
	free(nss);
	free(pids);
	free(before);
	free(after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory_max_oom_reported),
		cmocka_unit_test(test_limits_in_the_sandbox_cgroup),
		cmocka_unit_test(test_tasks_max_stops_a_fork_bomb),
		cmocka_unit_test(test_cpu_quota_throttles),
		cmocka_unit_test(test_allowed_cpus_affinity),
		cmocka_unit_test(test_stats_plausible),
		cmocka_unit_test(test_runtime_max_kills_the_sandbox),
		cmocka_unit_test(test_orphans_and_killed_launcher_leave_nothing),
		cmocka_unit_test(test_unprivileged),
		cmocka_unit_test(test_other_sandboxes_out_of_view),
		cmocka_unit_test(test_own_cgroup_seen_inside),
		cmocka_unit_test(test_v1_hierarchies_the_limits_need),
		cmocka_unit_test(test_limits_the_host_cannot_enforce),
		cmocka_unit_test(test_cgroup_parent),
		cmocka_unit_test(test_taken_name_is_skipped),
		cmocka_unit_test(test_sweep_reclaims_at_most_every_interval),
		cmocka_unit_test(test_sweep_from_another_pid_namespace),
		cmocka_unit_test_setup_teardown(test_sweep_stamp_in_a_writable_dir_is_ignored, stamp_setup, stamp_teardown),
		cmocka_unit_test_setup_teardown(test_sweep_stamp_not_roots_is_ignored, stamp_setup, stamp_teardown),
		cmocka_unit_test_setup_teardown(test_sweep_stamp_of_another_parent_is_ignored, stamp_setup, stamp_teardown),
		cmocka_unit_test(test_leak_check_mixed_launches),
	};

	/* SBOX_TEST_FILTER=test_sweep* runs only the matching tests. */
	if (getenv("SBOX_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SBOX_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
