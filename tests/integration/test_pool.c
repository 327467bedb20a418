/* SPDX-License-Identifier: MIT */
/*
 * sboxd's pool of prepared sandboxes ([Pool], sboxd/pool.c), from outside
 * and from inside.  A prepared sandbox is a child of sboxd that is no job:
 * with no job running, sboxd's children are exactly its pool (the keeper
 * is double-forked, nobody's child), so the tests see which prepared init
 * a launch consumed, and which it left alone.
 *
 * - a pooled launch reports from inside (sbox-probe report) exactly what a
 *   launch in full reports: ids, capabilities, seccomp, signals, /dev,
 *   mounts, hostname, environment, rlimits, network, cgroup namespace, and
 *   its limits hold (TasksMax=);
 * - another user's launch of the same policy never gets it;
 * - a policy that differs in one directive never gets it, one that
 *   differs in its hostname, its limits' values or its binds' sources
 *   does, and those hold;
 * - a prepared init killed from the host: the next launch still succeeds;
 * - a user cycling through more shapes than MaxShapesPerUser=: every
 *   evicted sandbox ended (through the teardown threads), nothing left;
 * - Size=0: no pool at all;
 * - RefillIdleSec=: a refill waits for the loop's quiet, but a shape with
 *   nothing prepared is refilled at once, before a more recently used one;
 * - stop, and SIGKILL then restart: no prepared process nor cgroup left,
 *   and no prepared sandbox adopted as a job.
 */
#include "tests/integration/daemon_harness.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct sboxd D;

#define POOL_MAX 16

static int teardown(void **state)
{
	(void)state;
	sboxd_cleanup(&D);
	D.group_file[0] = '\0';
	D.passwd_file[0] = '\0';
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define RUN(r, uid, ...) cmd_runl(r, uid, 30, D.sboxrun, "--socket", D.sock, __VA_ARGS__, NULL)

/* sboxd's children: with no job running, its prepared sandboxes' inits. */
static size_t pool_pids(pid_t *pids, size_t max)
{
	char path[64], buf[4096];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)D.pid, (int)D.pid);
	f = fopen(path, "r");
	if (!f)
		skip_because("no /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN)");
	if (fgets(buf, sizeof(buf), f))
		for (char *t = strtok(buf, " \n"); t && n < max; t = strtok(NULL, " \n"))
			pids[n++] = (pid_t)atoi(t);
	fclose(f);
	return n;
}

/* Poll until sboxd holds exactly n prepared sandboxes, all ready to be
 * handed out (its PREPARED read: sboxd had an idle moment since). */
static size_t wait_pool(size_t n, pid_t *pids, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	size_t got;

	while ((got = pool_pids(pids, POOL_MAX)) != n && now_ms() < deadline)
		usleep(20 * 1000);
	/* Its init says PREPARED when it is built: give it and the loop a
	 * moment (a launch that finds it not ready yet launches in full,
	 * which the tests below would see as "not consumed"). */
	usleep(300 * 1000);
	got = pool_pids(pids, POOL_MAX);
	if (got != n)
		fprintf(stderr, "pool: %zu prepared sandboxes, expected %zu\n", got, n);
	assert_int_equal(got, n);
	return got;
}

static bool alive(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return access(path, F_OK) == 0;
}

static void start_with_pool(const char *size)
{
	char conf[256];

	sboxd_prepare(&D);
	snprintf(conf, sizeof(conf), "[Pool]\nSize=%s\nMaxShapesPerUser=4\n", size);
	sboxd_start(&D, conf);
}

/* The host's own namespace of kind ns.X, for "is it a new one?". */
static bool host_ns(const char *key, const char *value)
{
	char path[64], link[128];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/ns/%s", key + 3);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	return strcmp(link, value) == 0;
}

/* Two reports say the same: every line equal, but the fds' names (the
 * harness's output files) and the namespaces' ids, which must be new in
 * both or the host's in both. */
static void assert_same_report(const char *a, const char *b)
{
	char *x = strdup(a), *y = strdup(b), *sx, *sy;
	char *lx = strtok_r(x, "\n", &sx), *ly = strtok_r(y, "\n", &sy);
	size_t lines = 0;

	for (; lx && ly; lx = strtok_r(NULL, "\n", &sx), ly = strtok_r(NULL, "\n", &sy), lines++) {
		char *ex = strchr(lx, '='), *ey = strchr(ly, '=');

		assert_non_null(ex);
		assert_non_null(ey);
		*ex++ = '\0';
		*ey++ = '\0';
		assert_string_equal(lx, ly);
		if (strncmp(lx, "fd.", 3) == 0)
			continue;
		if (strncmp(lx, "ns.", 3) == 0) {
			if (host_ns(lx, ex) != host_ns(ly, ey))
				fprintf(stderr, "%s: %s vs %s\n", lx, ex, ey);
			assert_int_equal(host_ns(lx, ex), host_ns(ly, ey));
			continue;
		}
		if (strcmp(ex, ey) != 0)
			fprintf(stderr, "%s: '%s' (in full) vs '%s' (pooled)\n", lx, ex, ey);
		assert_string_equal(ex, ey);
	}
	assert_null(lx);
	assert_null(ly);
	assert_true(lines > 50);
	free(x);
	free(y);
}

static void test_pooled_sees_what_full_sees(void **state)
{
	const char *limits[] = { "--memory", "256M", "--pids", "16" };
	pid_t pids[POOL_MAX];
	struct cmd full, pooled, fork_full, fork_pooled;

	(void)state;
	start_with_pool("1");
	/* The first launch of a shape runs in full and notes the shape. */
	RUN(&full, NOBODY, limits[0], limits[1], limits[2], limits[3], "--", D.probe, "report");
	assert_cmd(&full, 0);
	wait_pool(1, pids, 10000);
	RUN(&pooled, NOBODY, limits[0], limits[1], limits[2], limits[3], "--", D.probe, "report");
	assert_cmd(&pooled, 0);
	/* It was the prepared one (gone with its job) ... */
	assert_false(alive(pids[0]));
	/* ... and it saw what the launch in full saw. */
	assert_same_report(full.out, pooled.out);
	assert_non_null(strstr(pooled.out, "\nuid=65534\n"));
	/* Its limits hold: TasksMax=16 stops the same fork bomb. */
	RUN(&fork_full, NOBODY, limits[0], limits[1], limits[2], limits[3], "--", D.probe,
	    "forkbomb", "40");
	wait_pool(1, pids, 10000);
	RUN(&fork_pooled, NOBODY, limits[0], limits[1], limits[2], limits[3], "--", D.probe,
	    "forkbomb", "40");
	assert_false(alive(pids[0]));
	assert_int_equal(fork_full.code, fork_pooled.code);
	assert_non_null(strstr(fork_pooled.out, "fork_errno=EAGAIN"));
	assert_string_equal(fork_full.out, fork_pooled.out);
	cmd_free(&full);
	cmd_free(&pooled);
	cmd_free(&fork_full);
	cmd_free(&fork_pooled);
	assert_true(sboxd_no_jobs(&D, 3000));
	assert_int_equal(sboxd_stop(&D), 0);
}

/* A shape is the user's: root's prepared sandbox is never nobody's, and
 * the other way round, for the very same policy. */
static void test_other_user_never_gets_it(void **state)
{
	pid_t pids[POOL_MAX], roots;
	struct cmd r;

	(void)state;
	start_with_pool("1");
	RUN(&r, 0, D.probe, "exit", "0");
	assert_cmd(&r, 0);
	cmd_free(&r);
	wait_pool(1, pids, 10000);
	roots = pids[0];
	RUN(&r, NOBODY, D.probe, "report");
	assert_cmd(&r, 0);
	assert_non_null(strstr(r.out, "\nuid=65534\n"));
	cmd_free(&r);
	/* root's is still there, untouched; nobody's shape now has one too. */
	assert_true(alive(roots));
	wait_pool(2, pids, 10000);
	/* (root's worker runs as nobody too, as it names no User=: the
	 * shapes differ by who asked, which is what prepare read.) */
	RUN(&r, 0, D.probe, "report");
	assert_cmd(&r, 0);
	assert_non_null(strstr(r.out, "\nuid=65534\n"));
	cmd_free(&r);
	assert_false(alive(roots));
	assert_true(sboxd_no_jobs(&D, 3000));
	assert_int_equal(sboxd_stop(&D), 0);
}

/* Hostile: a launch that fails (a tmpfs its init can't mount on the
 * read-only root) must not make room for its shape in the pool: with
 * MaxShapes=1, nobody's failing launches would evict root's prepared
 * sandbox, again and again, and every refill of the failing shape fails. */
static void test_failing_launch_evicts_nothing(void **state)
{
	pid_t pids[POOL_MAX], roots;
	struct cmd r;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "[Pool]\nSize=1\nMaxShapes=1\nMaxShapesPerUser=1\n");
	RUN(&r, 0, D.probe, "exit", "0");
	assert_cmd(&r, 0);
	cmd_free(&r);
	assert_int_equal(wait_pool(1, pids, 10000), 1);
	roots = pids[0];
	for (int i = 0; i < 3; i++) {
		RUN(&r, NOBODY, "--tmpfs", "/sbox-no-such-dir/t", D.probe, "exit", "0");
		assert_cmd(&r, 125);
		cmd_free(&r);
	}
	usleep(300 * 1000);
	assert_true(alive(roots));
	assert_int_equal(wait_pool(1, pids, 1000), 1);
	/* And root is served it. */
	RUN(&r, 0, D.probe, "exit", "0");
	assert_cmd(&r, 0);
	cmd_free(&r);
	assert_false(alive(roots));
	assert_true(sboxd_no_jobs(&D, 3000));
	assert_int_equal(sboxd_stop(&D), 0);
}

/* A copy of the host's database file src at dst with the entry of name
 * (its line starting "name:") replaced by entry.  In place: a bind mount
 * of dst shows the same inode. */
static void write_db_file(const char *dst, const char *src, const char *name, const char *entry)
{
	FILE *in = fopen(src, "r"), *out;
	size_t n = strlen(name);
	char line[4096];

	assert_non_null(in);
	out = fopen(dst, "w");
	assert_non_null(out);
	while (fgets(line, sizeof(line), in))
		if (strncmp(line, name, n) != 0 || line[n] != ':')
			fputs(line, out);
	fprintf(out, "%s\n", entry);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/* sboxd's /etc/group (D.group_file): the host's, and nobody in group
 * 4242 or not. */
static void write_group_file(bool nobody_in_4242)
{
	write_db_file(D.group_file, "/etc/group", "sboxpool",
		      nobody_in_4242 ? "sboxpool:x:4242:nobody" : "sboxpool:x:4242:");
}

/* sboxd with conf, in a mount namespace where /etc/group is
 * D.group_file, nobody in group 4242 to begin with. */
static void start_with_own_group_file(const char *conf)
{
	sboxd_prepare(&D);
	snprintf(D.group_file, sizeof(D.group_file), "%s/group", D.dir);
	write_group_file(true);
	assert_int_equal(chmod(D.group_file, 0644), 0);
	sboxd_start(&D, conf);
}

/* A launch through sboxd as nobody: its worker's groups are want. */
static void assert_nobody_groups(const char *want)
{
	char line[64];
	struct cmd r;

	snprintf(line, sizeof(line), "\ngroups=%s\n", want);
	RUN(&r, NOBODY, D.probe, "report");
	assert_cmd(&r, 0);
	if (!strstr(r.out, line))
		fprintf(stderr, "the worker's groups are not %s:\n%s\n", want, r.out);
	assert_non_null(strstr(r.out, line));
	cmd_free(&r);
}

/* Hostile: a sandbox prepared while nobody was in group 4242 must not
 * start a worker with that group once nobody has left it, however long
 * the sandbox waited and whenever nobody chooses to use it; nor one
 * prepared before nobody joined it without.  The groups travel with the
 * request (P5a, S1c): the prepared sandbox serves, with the groups of
 * now, and no launch in full is needed for it. */
static void test_groups_as_they_are_now(void **state)
{
	pid_t pids[POOL_MAX], stale;

	(void)state;
	start_with_own_group_file("[Pool]\nSize=1\n");
	assert_nobody_groups("4242,65534");
	assert_int_equal(wait_pool(1, pids, 10000), 1);
	stale = pids[0];
	write_group_file(false);
	assert_nobody_groups("65534");
	/* The prepared one served (its init ended with the worker). */
	assert_false(alive(stale));
	{
		char *log = sboxd_log(&D);

		assert_null(strstr(log, "changed since the sandbox was prepared"));
		free(log);
	}
	/* And the other way: prepared without, nobody joins, served with. */
	assert_int_equal(wait_pool(1, pids, 10000), 1);
	stale = pids[0];
	write_group_file(true);
	assert_nobody_groups("4242,65534");
	assert_false(alive(stale));
	assert_true(sboxd_no_jobs(&D, 3000));
	assert_int_equal(sboxd_stop(&D), 0);
}

/* The login groups are resolved at specialise (P5a) for every launch, not
 * only a pool's: through sboxd with no pool, and direct (sboxrun as root,
 * in a mount namespace of its own where the same file is /etc/group),
 * the worker (nobody) has group 4242 from the group database.  And
 * nothing of the launcher's own: the direct launcher runs with extra
 * groups 4 and 27, which the worker must not keep. */
static void test_login_groups_on_every_path(void **state)
{
	char script[1024];
	struct cmd r;

	(void)state;
	start_with_own_group_file("[Pool]\nSize=0\n");
	assert_nobody_groups("4242,65534");
	snprintf(script, sizeof(script),
		 "mount --bind %s /etc/group && exec setpriv --groups 4,27 %s --direct -- %s report",
		 D.group_file, D.sboxrun, D.probe);
	cmd_runl(&r, 0, 30, "/usr/bin/unshare", "-m", "--propagation", "slave", "/bin/sh", "-c", script,
		 NULL);
	assert_cmd(&r, 0);
	assert_non_null(strstr(r.out, "\ngroups=4242,65534\n"));
	cmd_free(&r);
	assert_true(sboxd_no_jobs(&D, 3000));
	assert_int_equal(sboxd_stop(&D), 0);
}

/* sboxd's /etc/passwd (D.passwd_file): the host's, and user sboxpu with
 * this uid. */
static void write_passwd_file(unsigned uid)
{
	char entry[128];

	snprintf(entry, sizeof(entry), "sboxpu:x:%u:%u::/nonexistent:/usr/sbin/nologin", uid, uid);
	write_db_file(D.passwd_file, "/etc/passwd", "sboxpu", entry);
}

/* Hostile: User=sboxpu names whoever has that name when the request
 * comes.  A sandbox prepared while the name had another uid (an account
 * removed and its name given again) must not start the worker with the
 * old one: the specialisation fails, says why, and the request is served
 * by a launch in full, as the user is now. */
static void test_uid_as_it_is_now(void **state)
{
	pid_t pids[POOL_MAX], stale;
	struct cmd r;

	(void)state;
	sboxd_prepare(&D);
	snprintf(D.passwd_file, sizeof(D.passwd_file), "%s/passwd", D.dir);
	write_passwd_file(23450);
	assert_int_equal(chmod(D.passwd_file, 0644), 0);
	sboxd_start(&D, "[Pool]\nSize=1\n");
	RUN(&r, 0, "--set", "User=sboxpu", D.probe, "report");
	assert_cmd(&r, 0);
	assert_non_null(strstr(r.out, "\nuid=23450\n"));
	cmd_free(&r);
	assert_int_equal(wait_pool(1, pids, 10000), 1);
	stale = pids[0];
	write_passwd_file(23451);
	RUN(&r, 0, "--set", "User=sboxpu", D.probe, "report");
	assert_cmd(&r, 0);
	assert_non_null(strstr(r.out, "\nuid=23451\n"));
	assert_non_null(strstr(r.out, "\ngroups=23451\n"));
	cmd_free(&r);
	assert_false(alive(stale));
	{
		char *log = sboxd_log(&D);

		assert_non_null(strstr(log, "the worker's uid or gid changed since the sandbox was prepared"));
		free(log);
	}
	assert_true(sboxd_no_jobs(&D, 3000));
	assert_int_equal(sboxd_stop(&D), 0);
}

/* The other of two prepared sandboxes (sboxd's children), given one. */
static pid_t other_than(pid_t known)
{
	pid_t pids[POOL_MAX];

	wait_pool(2, pids, 10000);
	return pids[0] == known ? pids[1] : pids[0];
}

/* One directive apart is another shape: UMask=0077's launch is not
 * served the default umask's prepared sandbox, and gets its own.
 * Hostname=, WorkingDirectory= and the limits' values are not part of
 * the shape: specialise sets them (C6f, C6e, P5b), so a launch of the
 * 512M policy with another hostname and working directory is served the
 * 256M one's prepared sandbox and sees its own, and the next one, with
 * neither, sees the defaults again in the refilled one. */
static void test_one_directive_apart(void **state)
{
	pid_t pids[POOL_MAX], first, other, second;
	char cg[512];
	struct cmd r;

	(void)state;
	start_with_pool("1");
	RUN(&r, NOBODY, "--memory", "256M", "--", D.probe, "exit", "0");
	assert_cmd(&r, 0);
	cmd_free(&r);
	wait_pool(1, pids, 10000);
	first = pids[0];
	if (!sandbox_cgroup_of(first, cg, sizeof(cg)))
		skip_because("the sandbox runs without a cgroup of its own here");
	RUN(&r, NOBODY, "--memory", "256M", "--set", "UMask=0077", "--set", "Hostname=other", "--",
	    D.probe, "report");
	assert_cmd(&r, 0);
	assert_non_null(strstr(r.out, "\nhostname=other\n"));
	assert_non_null(strstr(r.out, "\numask=0077\n"));
	cmd_free(&r);
	assert_true(alive(first));
	/* UMask=0077's shape is prepared too now. */
	other = other_than(first);
	RUN(&r, NOBODY, "--set", "Hostname=other", "--memory", "512M", "--set",
	    "WorkingDirectory=/proc", "--", D.probe, "report");
	assert_cmd(&r, 0);
	assert_non_null(strstr(r.out, "\nhostname=other\n"));
	assert_non_null(strstr(r.out, "\numask=0022\n"));
	assert_non_null(strstr(r.out, "\ncwd=/proc\n"));
	cmd_free(&r);
	assert_false(alive(first));
	second = other_than(other);
	RUN(&r, NOBODY, "--memory", "256M", "--", D.probe, "report");
	assert_cmd(&r, 0);
	assert_non_null(strstr(r.out, "\nhostname=sbox\n"));
	assert_null(strstr(r.out, "\ncwd=/proc\n"));
	cmd_free(&r);
	assert_false(alive(second));
	assert_true(alive(other));
	assert_true(sboxd_no_jobs(&D, 3000));
	assert_int_equal(sboxd_stop(&D), 0);
}

/* The limits a request changes hold in the prepared sandbox it is served
 * (P5b): each pooled run (its prepared init consumed) reports what the
 * same run reports in full, from a daemon with no pool, and the lower
 * and the higher limits each make a difference: TasksMax= 6 stops a fork
 * bomb sooner than the shape's 16, MemoryMax=32M kills a 100M
 * allocation the shape's 256M lets through, MemoryMax=512M lets a 300M
 * one through.  A limit that can't be written on the prepared sandbox
 * (under what init holds already) ends it, and the launch runs in full. */
struct limits_run {
	const char *memory, *pids, *cmd, *arg;
	/* Below what the sandbox's init needs: the OOM killer may take
	 * init during its set-up (125) or the worker (137), by timing. */
	bool starves_init;
};

static const struct limits_run limits_runs[] = {
	{ "256M", "6", "forkbomb", "40", false },
	{ "32M", "16", "alloc", "100", false },
	{ "512M", "16", "alloc", "300", false },
	{ "256M", "16", "alloc", "300", false },
	/* Under what init already holds: the write fails (v1: EBUSY), the
	 * prepared sandbox ends and the launch runs in full. */
	{ "100K", "16", "exit", "0", true },
};

#define N_LIMITS_RUNS (sizeof(limits_runs) / sizeof(limits_runs[0]))

static void run_limits(const struct limits_run *l, struct cmd *r)
{
	RUN(r, NOBODY, "--memory", l->memory, "--pids", l->pids, "--", D.probe, l->cmd, l->arg);
}

/* With swap, a memory limit alone lets an allocation past it (v1 has
 * no swap limit without MemorySwapMax=, which needs swap accounting). */
static bool host_has_swap(void)
{
	char line[256];
	int lines = 0;
	FILE *f = fopen("/proc/swaps", "r");

	while (f && fgets(line, sizeof(line), f))
		lines++;
	if (f)
		fclose(f);
	return lines > 1;
}

static void test_limits_are_specialised(void **state)
{
	struct cmd pooled[N_LIMITS_RUNS], full[N_LIMITS_RUNS], r;
	pid_t pids[POOL_MAX];

	(void)state;
	start_with_pool("1");
	/* The shape: MemoryMax=256M, TasksMax=16, noted by this launch. */
	RUN(&r, NOBODY, "--memory", "256M", "--pids", "16", "--", D.probe, "forkbomb", "40");
	assert_cmd(&r, 0);
	assert_non_null(strstr(r.out, "fork_errno=EAGAIN"));
	for (size_t i = 0; i < N_LIMITS_RUNS; i++) {
		wait_pool(1, pids, 10000);
		run_limits(&limits_runs[i], &pooled[i]);
		if (alive(pids[0]))
			fail_msg("run %zu was not served the prepared sandbox", i);
	}
	assert_true(sboxd_no_jobs(&D, 3000));
	assert_int_equal(sboxd_stop(&D), 0);
	sboxd_cleanup(&D);
	start_with_pool("0");
	for (size_t i = 0; i < N_LIMITS_RUNS; i++) {
		bool same;

		run_limits(&limits_runs[i], &full[i]);
		if (limits_runs[i].starves_init)
			same = (pooled[i].code == 125 || pooled[i].code == 137) &&
			       (full[i].code == 125 || full[i].code == 137) && !*pooled[i].out;
		else
			same = pooled[i].code == full[i].code &&
			       strcmp(pooled[i].out, full[i].out) == 0;
		if (!same)
			fail_msg("run %zu: pooled %d '%s', in full %d '%s'", i, pooled[i].code,
				 pooled[i].out, full[i].code, full[i].out);
	}
	/* Each limit made its difference. */
	assert_string_not_equal(pooled[0].out, r.out);
	assert_non_null(strstr(pooled[0].out, "fork_errno=EAGAIN"));
	assert_cmd(&pooled[2], 0);
	assert_non_null(strstr(pooled[2].out, "alloc=ok"));
	if (!host_has_swap()) {
		assert_int_not_equal(pooled[1].code, 0);
		assert_int_not_equal(pooled[3].code, 0);
	}
	for (size_t i = 0; i < N_LIMITS_RUNS; i++) {
		cmd_free(&pooled[i]);
		cmd_free(&full[i]);
	}
	cmd_free(&r);
	assert_int_equal(sboxd_stop(&D), 0);
}

/* A prepared sandbox's /sys/fs/cgroup is its own cgroup (C6 mounted it
 * at prepare, in its cgroup namespace), and shows the request's limits
 * (P5b wrote them on that cgroup): TasksMax=11 where the shape was noted
 * with 16; no other sandbox's cgroup in view. */
static void test_pooled_cgroup_view(void **state)
{
	static const char look[] =
		"cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null; "
		"echo \"others=$(find /sys/fs/cgroup -name 'sbox-*' | wc -l)\"";
	pid_t pids[POOL_MAX];
	struct cmd noted, pooled;

	(void)state;
	start_with_pool("1");
	RUN(&noted, NOBODY, "--memory", "256M", "--pids", "16", "--", "/bin/sh", "-c", look);
	assert_cmd(&noted, 0);
	assert_string_equal(noted.out, "16\nothers=0\n");
	wait_pool(1, pids, 10000);
	RUN(&pooled, NOBODY, "--memory", "256M", "--pids", "11", "--", "/bin/sh", "-c", look);
	assert_cmd(&pooled, 0);
	assert_false(alive(pids[0]));
	assert_string_equal(pooled.out, "11\nothers=0\n");
	cmd_free(&noted);
	cmd_free(&pooled);
	assert_true(sboxd_no_jobs(&D, 3000));
	assert_int_equal(sboxd_stop(&D), 0);
}

/* text's lines sorted: mountinfo lists a pool's binds after the masks
 * (attached at C6g, after the pivot), a launch in full's before them;
 * the mounts are the same, their order of attachment is not. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *sorted_lines(const char *text)
{
	char *copy = strdup(text), *save, *out, **lines = calloc(4096, sizeof(char *));
	size_t n = 0, len = strlen(text) + 2, used = 0;

	assert_non_null(copy);
	assert_non_null(lines);
	for (char *l = strtok_r(copy, "\n", &save); l && n < 4096; l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	qsort(lines, n, sizeof(*lines), cmp_str);
	out = calloc(1, len);
	assert_non_null(out);
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, len - used, "%s\n", lines[i]);
	free(lines);
	free(copy);
	return out;
}

/* A directory nobody's client can open, holding a file "which" that
 * says name. */
static void source_dir(char *dir, size_t len, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(dir, len, "%s/src-%s", D.dir, name);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/which", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", name);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0644), 0);
}

/* Binds are the request's (P5c cloned from the client's fds, C6g
 * attached in the pivoted root): a launch binding b where the shape was
 * noted with a is served the prepared sandbox, sees b's file and not a's,
 * and reports what the launch in full reported, its mounts included; a
 * read-write bind is written through to the host.  One with more bind
 * sources than a request carries is never prepared ahead. */
static void test_binds_are_specialised(void **state)
{
	char a[256], b[256], bind[600], out[600], path[700];
	char many[13][300];
	const char *argv[64];
	size_t n = 0;
	pid_t pids[POOL_MAX], known;
	struct cmd full, pooled, r;
	char *sf, *sp;

	(void)state;
	start_with_pool("1");
	source_dir(a, sizeof(a), "a");
	source_dir(b, sizeof(b), "b");
	snprintf(out, sizeof(out), "%s/out", D.dir);
	assert_int_equal(mkdir(out, 0777), 0);
	assert_int_equal(chmod(out, 0777), 0);
	snprintf(bind, sizeof(bind), "%s:/tmp/data", a);
	RUN(&full, NOBODY, "--ro-bind", bind, "--bind", out, "--", D.probe, "report");
	assert_cmd(&full, 0);
	wait_pool(1, pids, 10000);
	snprintf(bind, sizeof(bind), "%s:/tmp/data", b);
	RUN(&pooled, NOBODY, "--ro-bind", bind, "--bind", out, "--", D.probe, "report");
	assert_cmd(&pooled, 0);
	assert_false(alive(pids[0]));
	sf = sorted_lines(full.out);
	sp = sorted_lines(pooled.out);
	assert_same_report(sf, sp);
	assert_non_null(strstr(pooled.out, "mount=/tmp/data "));
	free(sf);
	free(sp);
	cmd_free(&full);
	cmd_free(&pooled);
	/* Its own source's file, read-only; the read-write one written
	 * through. */
	wait_pool(1, pids, 10000);
	snprintf(path, sizeof(path), "cat /tmp/data/which; touch /tmp/data/x 2>/dev/null || echo ro; echo w > %s/from-pool",
		 out);
	RUN(&r, NOBODY, "--ro-bind", bind, "--bind", out, "--", "/bin/sh", "-c", path);
	assert_cmd(&r, 0);
	assert_false(alive(pids[0]));
	assert_string_equal(r.out, "b\nro\n");
	cmd_free(&r);
	snprintf(path, sizeof(path), "%s/from-pool", out);
	assert_int_equal(access(path, F_OK), 0);
	/* 13 bind sources: more than a request carries with 64 passed fds.
	 * Such a shape is never prepared: both launches run in full, and
	 * the pool keeps only the first shape's sandbox. */
	argv[n++] = D.sboxrun;
	argv[n++] = "--socket";
	argv[n++] = D.sock;
	for (int i = 0; i < 13; i++) {
		snprintf(many[i], sizeof(many[i]), "%s:/tmp/d%d", a, i);
		argv[n++] = "--ro-bind";
		argv[n++] = many[i];
	}
	argv[n++] = "--";
	argv[n++] = "/bin/cat";
	argv[n++] = "/tmp/d12/which";
	argv[n] = NULL;
	wait_pool(1, pids, 10000);
	known = pids[0];
	for (int round = 0; round < 2; round++) {
		cmd_run(&r, NOBODY, 30, argv);
		assert_cmd(&r, 0);
		assert_string_equal(r.out, "a\n");
		cmd_free(&r);
		wait_pool(1, pids, 10000);
		assert_int_equal(pids[0], known);
	}
	assert_true(sboxd_no_jobs(&D, 3000));
	assert_int_equal(sboxd_stop(&D), 0);
}

/* A late bind's destination is judged where it resolves (C6g): a link
 * the user planted in its own earlier bind, leading into /proc, takes
 * the second bind where a launch in full would have masked it after.  A
 * launch in full binds it; a pooled one refuses, naming where it led,
 * rather than bind over the masks. */
static void test_late_bind_through_a_link(void **state)
{
	char a[256], b[256], link[300], first[600], second[600];
	pid_t pids[POOL_MAX];
	struct cmd full, pooled;

	(void)state;
	start_with_pool("1");
	source_dir(a, sizeof(a), "a");
	source_dir(b, sizeof(b), "b");
	snprintf(link, sizeof(link), "%s/l", a);
	assert_int_equal(symlink("/proc/sys", link), 0);
	snprintf(first, sizeof(first), "%s:/tmp/a", a);
	snprintf(second, sizeof(second), "%s:/tmp/a/l", b);
	RUN(&full, NOBODY, "--bind", first, "--ro-bind", second, "--", "/bin/cat", "/proc/sys/which");
	assert_cmd(&full, 0);
	assert_string_equal(full.out, "b\n");
	wait_pool(1, pids, 10000);
	RUN(&pooled, NOBODY, "--bind", first, "--ro-bind", second, "--", "/bin/cat", "/proc/sys/which");
	assert_false(alive(pids[0]));
	assert_int_equal(pooled.code, 125);
	if (!strstr(pooled.err, "the destination resolves to /proc/sys"))
		fail_msg("stderr: %s", pooled.err);
	cmd_free(&full);
	cmd_free(&pooled);
	assert_true(sboxd_no_jobs(&D, 3000));
	assert_int_equal(sboxd_stop(&D), 0);
}

/* A prepared init killed from the host is reaped and replaced at once;
 * one killed right before a launch: the launch still succeeds. */
static void test_prepared_init_killed(void **state)
{
	pid_t pids[POOL_MAX], killed;
	long long deadline;
	struct cmd r;

	(void)state;
	start_with_pool("1");
	RUN(&r, NOBODY, D.probe, "exit", "0");
	assert_cmd(&r, 0);
	cmd_free(&r);
	wait_pool(1, pids, 10000);
	killed = pids[0];
	assert_int_equal(kill(killed, SIGKILL), 0);
	/* sboxd sees its end at once: reaped (no zombie left) and replaced,
	 * with no launch to find it. */
	deadline = now_ms() + 5000;
	while (alive(killed) && now_ms() < deadline)
		usleep(20 * 1000);
	assert_false(alive(killed));
	wait_pool(1, pids, 10000);
	assert_int_not_equal(pids[0], killed);
	RUN(&r, NOBODY, D.probe, "report");
	assert_cmd(&r, 0);
	assert_non_null(strstr(r.out, "\nuid=65534\n"));
	cmd_free(&r);
	wait_pool(1, pids, 10000);
	/* Killed right before the launch, with no idle moment between. */
	assert_int_equal(kill(pids[0], SIGKILL), 0);
	RUN(&r, NOBODY, D.probe, "exit", "3");
	assert_cmd(&r, 3);
	cmd_free(&r);
	assert_true(sboxd_no_jobs(&D, 3000));
	assert_int_equal(sboxd_stop(&D), 0);
}

/* sboxd's sandbox cgroups (sbox-<its pid>-N), in one hierarchy: the
 * memory controller's (v1) or the unified one. */
static int sboxd_cgroups(void)
{
	static const char *const roots[] = { "/sys/fs/cgroup/sbox", "/sys/fs/cgroup/memory/sbox" };
	char pattern[128];
	int n = 0;

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		glob_t g;

		snprintf(pattern, sizeof(pattern), "%s/sbox-%d-*", roots[i], (int)D.pid);
		if (glob(pattern, GLOB_ONLYDIR | GLOB_NOSORT, NULL, &g) == 0)
			n += (int)g.gl_pathc;
		globfree(&g);
	}
	return n;
}

/* A user cycling through more shapes than MaxShapesPerUser= evicts the
 * other shape's prepared sandboxes at each launch.  Their ends go through
 * the teardown threads (init killed in the loop, the cgroup emptied and
 * removed off it, init reaped at collection): every evicted init is gone
 * and reaped, and only the last shape's sandboxes and cgroups remain. */
static void test_evicted_shapes_leave_nothing(void **state)
{
	pid_t pids[POOL_MAX];
	struct cmd r;
	char set[64];
	long long deadline;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "[Pool]\nSize=2\nMaxShapesPerUser=1\n");
	for (int i = 0; i < 8; i++) {
		snprintf(set, sizeof(set), "Hostname=shape%d", i % 2);
		RUN(&r, NOBODY, "--set", set, "--", D.probe, "exit", "0");
		assert_cmd(&r, 0);
		cmd_free(&r);
		/* Let the pool refill, so the next launch evicts a full shape. */
		usleep(150 * 1000);
	}
	assert_true(sboxd_no_jobs(&D, 3000));
	wait_pool(2, pids, 10000);
	deadline = now_ms() + 5000;
	while (sboxd_cgroups() > 2 && now_ms() < deadline)
		usleep(20 * 1000);
	if (sboxd_cgroups() > 2)
		fprintf(stderr, "%d cgroups of sboxd's, 2 prepared sandboxes\n", sboxd_cgroups());
	assert_true(sboxd_cgroups() <= 2);
	assert_true(raw_ping(D.sock));
	assert_int_equal(sboxd_stop(&D), 0);
	assert_int_equal(sboxd_cgroups(), 0);
}

/* Size=0: launches as without a pool, nothing prepared. */
static void test_size_zero(void **state)
{
	pid_t pids[POOL_MAX];
	struct cmd r;

	(void)state;
	start_with_pool("0");
	for (int i = 0; i < 2; i++) {
		RUN(&r, NOBODY, D.probe, "report");
		assert_cmd(&r, 0);
		assert_non_null(strstr(r.out, "\nuid=65534\n"));
		cmd_free(&r);
	}
	assert_true(sboxd_no_jobs(&D, 3000));
	usleep(300 * 1000);
	assert_int_equal(pool_pids(pids, POOL_MAX), 0);
	assert_int_equal(sboxd_stop(&D), 0);
}

/* RefillIdleSec=: a refill waits until sboxd's loop has been quiet that
 * long, so that a launch just served never waits behind one; a shape
 * with nothing prepared is refilled at once.  With 4 s: the shape's
 * first sandbox comes at once, the second only after the quiet, and the
 * one a pooled launch took only after the quiet again. */
static void test_refill_waits_for_quiet(void **state)
{
	pid_t pids[POOL_MAX];
	long long t0;
	struct cmd r;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "[Pool]\nSize=2\nMaxShapesPerUser=4\nRefillIdleSec=4s\n");
	RUN(&r, NOBODY, D.probe, "exit", "0");
	assert_cmd(&r, 0);
	cmd_free(&r);
	t0 = now_ms();
	wait_pool(1, pids, 3000);
	/* Refills never come early: at most one, 1.5 s into the quiet. */
	if (now_ms() - t0 < 1500) {
		usleep((useconds_t)(1500 - (now_ms() - t0)) * 1000);
		assert_int_equal(pool_pids(pids, POOL_MAX), 1);
	}
	wait_pool(2, pids, 15000);
	assert_true(now_ms() - t0 >= 3500);
	/* A pooled launch takes one; the shape still has one, so its
	 * refill waits for the quiet again. */
	RUN(&r, NOBODY, D.probe, "exit", "0");
	assert_cmd(&r, 0);
	cmd_free(&r);
	t0 = now_ms();
	usleep(1500 * 1000);
	assert_int_equal(pool_pids(pids, POOL_MAX), 1);
	wait_pool(2, pids, 15000);
	assert_true(now_ms() - t0 >= 2000);
	assert_true(sboxd_no_jobs(&D, 3000));
	assert_int_equal(sboxd_stop(&D), 0);
}

/* A shape with nothing prepared is refilled first and at once, even when
 * another user's shape, used more recently and short of Size=, waits for
 * RefillIdleSec=: root's prepared init is killed while nobody's shape
 * (used last) holds one of two; root's is back within the second, and
 * nobody's second only after the quiet. */
static void test_empty_shape_refilled_first(void **state)
{
	pid_t pids[POOL_MAX], roots, nobodys, fresh;
	long long t0;
	struct cmd r;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "[Pool]\nSize=2\nMaxShapesPerUser=4\nRefillIdleSec=6s\n");
	RUN(&r, 0, D.probe, "exit", "0");
	assert_cmd(&r, 0);
	cmd_free(&r);
	wait_pool(1, pids, 3000);
	roots = pids[0];
	RUN(&r, NOBODY, D.probe, "exit", "0");
	assert_cmd(&r, 0);
	cmd_free(&r);
	wait_pool(2, pids, 3000);
	nobodys = pids[0] == roots ? pids[1] : pids[0];
	assert_int_equal(kill(roots, SIGKILL), 0);
	t0 = now_ms();
	while (alive(roots) && now_ms() < t0 + 3000)
		usleep(20 * 1000);
	assert_false(alive(roots));
	wait_pool(2, pids, 2500);
	assert_true(now_ms() - t0 < 4000);
	fresh = pids[0] == nobodys ? pids[1] : pids[0];
	assert_true(alive(nobodys));
	/* The new one is root's: root's next launch consumes it. */
	RUN(&r, 0, D.probe, "exit", "0");
	assert_cmd(&r, 0);
	cmd_free(&r);
	assert_false(alive(fresh));
	assert_true(alive(nobodys));
	assert_true(sboxd_no_jobs(&D, 3000));
	assert_int_equal(sboxd_stop(&D), 0);
}

/* Shapes=USER:FILE is prepared from the start: the first launch of that
 * user and policy is served from the pool. */
static void test_shapes_prepared_at_start(void **state)
{
	char conf[512], file[300];
	pid_t pids[POOL_MAX];
	struct cmd r;

	(void)state;
	sboxd_prepare(&D);
	snprintf(file, sizeof(file), "%s/worker.policy", D.dir);
	write_text(file, "[Sandbox]\nMemoryMax=256M\nTasksMax=64\n");
	snprintf(conf, sizeof(conf), "[Pool]\nSize=1\nShapes=nobody:%s\n", file);
	sboxd_start(&D, conf);
	wait_pool(1, pids, 10000);
	RUN(&r, NOBODY, "--memory", "256M", "--pids", "64", "--", D.probe, "report");
	assert_cmd(&r, 0);
	assert_non_null(strstr(r.out, "\nuid=65534\n"));
	cmd_free(&r);
	assert_false(alive(pids[0]));
	assert_true(sboxd_no_jobs(&D, 3000));
	assert_int_equal(sboxd_stop(&D), 0);
}

/* sboxd with a pool of Size=2, filled by one launch of a shape: the
 * prepared inits and their cgroups. */
static void fill_pool_of_two(pid_t *pids, char cgs[][512], size_t *n_cg)
{
	struct cmd r;

	start_with_pool("2");
	RUN(&r, NOBODY, D.probe, "exit", "0");
	assert_cmd(&r, 0);
	cmd_free(&r);
	*n_cg = 0;
	wait_pool(2, pids, 10000);
	for (size_t i = 0; i < 2; i++)
		if (sandbox_cgroup_of(pids[i], cgs[*n_cg], 512))
			(*n_cg)++;
}

static bool all_gone(const pid_t *pids, size_t n, char cgs[][512], size_t n_cg)
{
	for (size_t i = 0; i < n; i++)
		if (alive(pids[i]))
			return false;
	for (size_t i = 0; i < n_cg; i++)
		if (access(cgs[i], F_OK) == 0)
			return false;
	return true;
}

/* sboxd stops: its prepared sandboxes go with it, cgroups and all. */
static void test_stop_leaves_nothing(void **state)
{
	pid_t pids[POOL_MAX];
	char cgs[POOL_MAX][512];
	size_t n_cg;

	(void)state;
	fill_pool_of_two(pids, cgs, &n_cg);
	assert_int_equal(sboxd_stop(&D), 0);
	assert_true(all_gone(pids, 2, cgs, n_cg));
}

/* SIGKILL of sboxd: the prepared inits end (their channel closed; the
 * keeper never had it), no successor adopts one as a job, and their
 * cgroups go at the successor's sweep. */
static void test_sigkill_leaves_nothing(void **state)
{
	pid_t pids[POOL_MAX];
	char cgs[POOL_MAX][512];
	size_t n_cg;
	long long deadline;
	int lines;
	struct cmd r;

	(void)state;
	fill_pool_of_two(pids, cgs, &n_cg);
	sboxd_kill9(&D);
	deadline = now_ms() + 5000;
	while ((alive(pids[0]) || alive(pids[1])) && now_ms() < deadline)
		usleep(20 * 1000);
	assert_false(alive(pids[0]));
	assert_false(alive(pids[1]));
	sboxd_restart(&D);
	/* --jobs: its header line, no job. */
	RUN(&r, 0, "--jobs");
	assert_cmd(&r, 0);
	lines = 0;
	for (const char *p = r.out; (p = strchr(p, '\n')); p++)
		lines++;
	if (lines != 1)
		cmd_dump(&r);
	assert_int_equal(lines, 1);
	cmd_free(&r);
	/* The sweep removes a dead launcher's cgroups once 10 s old, at a
	 * launch under their parent. */
	deadline = now_ms() + 25000;
	while (!all_gone(pids, 2, cgs, n_cg) && now_ms() < deadline) {
		RUN(&r, 0, D.probe, "exit", "0");
		cmd_free(&r);
		sleep(1);
	}
	assert_true(all_gone(pids, 2, cgs, n_cg));
	assert_int_equal(sboxd_stop(&D), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_pooled_sees_what_full_sees, teardown),
		cmocka_unit_test_teardown(test_other_user_never_gets_it, teardown),
		cmocka_unit_test_teardown(test_groups_as_they_are_now, teardown),
		cmocka_unit_test_teardown(test_uid_as_it_is_now, teardown),
		cmocka_unit_test_teardown(test_login_groups_on_every_path, teardown),
		cmocka_unit_test_teardown(test_failing_launch_evicts_nothing, teardown),
		cmocka_unit_test_teardown(test_one_directive_apart, teardown),
		cmocka_unit_test_teardown(test_limits_are_specialised, teardown),
		cmocka_unit_test_teardown(test_pooled_cgroup_view, teardown),
		cmocka_unit_test_teardown(test_binds_are_specialised, teardown),
		cmocka_unit_test_teardown(test_late_bind_through_a_link, teardown),
		cmocka_unit_test_teardown(test_prepared_init_killed, teardown),
		cmocka_unit_test_teardown(test_evicted_shapes_leave_nothing, teardown),
		cmocka_unit_test_teardown(test_size_zero, teardown),
		cmocka_unit_test_teardown(test_refill_waits_for_quiet, teardown),
		cmocka_unit_test_teardown(test_empty_shape_refilled_first, teardown),
		cmocka_unit_test_teardown(test_shapes_prepared_at_start, teardown),
		cmocka_unit_test_teardown(test_stop_leaves_nothing, teardown),
		cmocka_unit_test_teardown(test_sigkill_leaves_nothing, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
