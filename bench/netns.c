/* SPDX-License-Identifier: MIT */
/*
 * netns-bench: what a network namespace costs a launch (docs/network.md).
 *
 *   netns-bench [-n N] [-j JOBS] [-s MS] [-e SBOXRUN]     (as root)
 *
 * 1. Kernel primitives, in this thread: unshare(CLONE_NEWNET) and back, and
 *    bringing lo up through libnl.
 * 2. Launches of /bin/true through the library (sbox_spawn, as sboxrun and
 *    sboxd do), per network mode, in blocks of 25 launches, the modes'
 *    blocks in turn until each has N: the modes share whatever else the
 *    machine is doing, and each block measures its mode's steady state
 *    (a netns is torn down asynchronously after its sandbox, so the next
 *    launch pays for the last one's teardown; the first 5 launches of a
 *    block, which would pay for another mode's, are not counted).  "start"
 *    is sbox_spawn() until the worker was exec'd (the launch latency),
 *    "total" until the sandbox is reaped and released (the veth's deletion
 *    included).  none+pool takes a netns from a pool refilled outside the
 *    timed region, as sboxd would when idle.
 * 3. With -e SBOXRUN: whole sboxrun processes (fork, exec, wait) per mode,
 *    in blocks the same way: what a user of the command line sees.
 * 4. Throughput with 1 and JOBS launchers in parallel: netns teardown is
 *    serialized in the kernel; does it show?
 *
 * -s MS pauses MS milliseconds after each launch, outside the timed region:
 * the kernel tears a netns down asynchronously after its last process, and
 * the pause lets that finish, which separates what creating a netns costs
 * from what the previous launch's teardown costs the next one.
 *
 * Figures: median, 10th and 90th percentile, min and max, in microseconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "policy/directives.h"
#include "policy/policy.h"
#include "sandbox/netns_pool.h"
#include "sandbox/network.h"
#include "sandbox/sandbox.h"

extern char **environ;

static int pause_ms;

/* Launches per block of one mode, and how many of them warm it up. */
#define BLOCK 25
#define SKIP 5

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts a copy: the caller's array stays as it was. */
static void report(const char *what, const double *in, int n)
{
	double *v = malloc((size_t)n * sizeof(*v));

	if (!v)
		exit(1);
	memcpy(v, in, (size_t)n * sizeof(*v));
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	printf("%-28s %9.0f %9.0f %9.0f %9.0f %9.0f\n", what, v[n / 2], v[n / 10],
	       v[(n * 9) / 10], v[0], v[n - 1]);
	free(v);
}

static void die(const char *what, const struct sbox_err *err)
{
	fprintf(stderr, "netns-bench: %s: %s\n", what, err ? err->msg : strerror(errno));
	exit(1);
}

/* 1. The primitives alone: what one netns costs to make and to drop. */

static void bench_primitives(int n)
{
	double *create = calloc((size_t)n, sizeof(double));
	double *lo = calloc((size_t)n, sizeof(double));
	int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	struct sbox_err err = { 0 };

	if (!create || !lo || home < 0)
		die("setting up", NULL);
	for (int i = 0; i < n; i++) {
		double t0 = now_us(), t1, t2;

		if (unshare(CLONE_NEWNET) < 0)
			die("unshare(CLONE_NEWNET)", NULL);
		t1 = now_us();
		if (sbox_net_loopback_up(&err) < 0)
			die("lo up", &err);
		t2 = now_us();
		if (setns(home, CLONE_NEWNET) < 0)
			die("setns back", NULL);
		create[i] = t1 - t0;
		lo[i] = t2 - t1;
	}
	report("unshare(CLONE_NEWNET)", create, n);
	report("lo up (libnl)", lo, n);
	close(home);
	free(create);
	free(lo);
}

/* 2. Launches through the library, with and without a netns, so the netns's
 * share of a launch stands out. */

struct mode {
	const char *name;
	const char *setting;          /* PrivateNetwork= */
	bool pool;
	struct sbox_policy policy;
	struct sbox_netns_pool *netns_pool;
	double *start, *total;
};

static void launch_once(struct mode *m, double *start, double *total)
{
	static char *argv[] = { "/bin/true", NULL };
	struct sbox_err err = { 0 };
	struct sbox_child *c;
	struct sbox_event ev;
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC), st;
	struct sbox_launch launch = {
		.argv = argv, .stdio = { devnull, devnull, 2 }, .caller_cwd = "/",
		.caller_env = environ, .caller_uid = getuid(), .caller_gid = getgid(),
		.netns_pool = m->netns_pool,
	};
	double t0 = now_us();

	if (sbox_spawn(&m->policy, &launch, &c, &err) < 0)
		die("sbox_spawn", &err);
	while (sbox_child_read_event(c, &ev, &err) > 0) {
		if (ev.kind == SBOX_EV_STARTED)
			*start = now_us() - t0;
		else if (ev.kind != SBOX_EV_EXITED && ev.kind != SBOX_EV_EMPTIED)
			die(ev.msg, NULL);
	}
	if (sbox_child_reap(c, &st, &err) < 0)
		die("reap", &err);
	sbox_child_free(c);
	*total = now_us() - t0;
	close(devnull);
	if (m->netns_pool && sbox_netns_pool_fill(m->netns_pool, 1, &err) < 0)
		die("pool refill", &err);
}

static void set_mode(struct sbox_policy *p, const char *setting)
{
	struct sbox_err err = { 0 };

	sbox_policy_init(p);
	if (sbox_policy_set(p, "PrivateNetwork", setting, &err) < 0)
		die("policy", &err);
}

static void bench_launches(struct mode *modes, size_t n_modes, int n)
{
	struct sbox_err err = { 0 };
	char label[64];

	for (size_t k = 0; k < n_modes; k++) {
		struct mode *m = &modes[k];

		set_mode(&m->policy, m->setting);
		m->start = calloc((size_t)n, sizeof(double));
		m->total = calloc((size_t)n, sizeof(double));
		if (!m->start || !m->total)
			die("allocating", NULL);
		if (m->pool && (sbox_netns_pool_new(&m->netns_pool, 2, &err) < 0 ||
				sbox_netns_pool_fill(m->netns_pool, 2, &err) < 0))
			die("pool", &err);
	}
	for (int done = 0; done < n; done += BLOCK) {
		for (size_t k = 0; k < n_modes; k++) {
			for (int i = -SKIP; i < BLOCK && done + i < n; i++) {
				double st, t;

				launch_once(&modes[k], &st, &t);
				if (i >= 0) {
					modes[k].start[done + i] = st;
					modes[k].total[done + i] = t;
				}
				if (pause_ms)
					usleep((useconds_t)pause_ms * 1000);
			}
		}
	}
	for (size_t k = 0; k < n_modes; k++) {
		snprintf(label, sizeof(label), "%s: start", modes[k].name);
		report(label, modes[k].start, n);
		snprintf(label, sizeof(label), "%s: total", modes[k].name);
		report(label, modes[k].total, n);
	}
	for (size_t k = 0; k < n_modes; k++) {
		sbox_netns_pool_free(modes[k].netns_pool);
		sbox_policy_free(&modes[k].policy);
		free(modes[k].start);
		free(modes[k].total);
	}
}

/* A long-lived member, so that the timed launches join an existing group. */
static pid_t group_anchor(const char *setting)
{
	pid_t pid = fork();

	if (pid == 0) {
		static char *argv[] = { "/bin/sleep", "3600", NULL };
		struct sbox_err err = { 0 };
		struct sbox_policy p;
		struct sbox_child *c;
		struct sbox_event ev;
		struct sbox_launch launch = {
			.argv = argv, .stdio = { -1, -1, 2 }, .caller_cwd = "/",
			.caller_env = environ, .caller_uid = getuid(), .caller_gid = getgid(),
		};
		sigset_t set;
		int sig;

		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigprocmask(SIG_BLOCK, &set, NULL);
		set_mode(&p, setting);
		if (sbox_spawn(&p, &launch, &c, &err) < 0)
			die("group anchor", &err);
		if (sbox_child_read_event(c, &ev, &err) <= 0 || ev.kind != SBOX_EV_STARTED)
			die("group anchor", NULL);
		/* Leave the group properly: the last member removes it. */
		sigwait(&set, &sig);
		sbox_child_free(c);
		_exit(0);
	}
	usleep(300000);
	return pid;
}

/* 3. Whole sboxrun processes: the same, as a user sees it. */

static double run_sboxrun(const char *sboxrun, const char *net)
{
	char *argv[] = { (char *)sboxrun, "--net", (char *)net, "--", "/bin/true", NULL };
	double t0 = now_us();
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		execve(sboxrun, argv, environ);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("running sboxrun", NULL);
	return now_us() - t0;
}

static void bench_sboxrun(const char *sboxrun, int n)
{
	static const char *const nets[] = { "host", "none", "veth" };
	double *t[3];
	char label[64];

	for (int k = 0; k < 3; k++) {
		t[k] = calloc((size_t)n, sizeof(double));
		if (!t[k])
			die("allocating", NULL);
	}
	for (int done = 0; done < n; done += BLOCK) {
		for (int k = 0; k < 3; k++) {
			for (int i = -SKIP; i < BLOCK && done + i < n; i++) {
				double v = run_sboxrun(sboxrun, nets[k]);

				if (i >= 0)
					t[k][done + i] = v;
				if (pause_ms)
					usleep((useconds_t)pause_ms * 1000);
			}
		}
	}
	for (int k = 0; k < 3; k++) {
		snprintf(label, sizeof(label), "sboxrun --net %s", nets[k]);
		report(label, t[k], n);
	}
	for (int k = 0; k < 3; k++)
		free(t[k]);
}

/* 4. Parallel throughput: netns creation serialises in the kernel. */

static void bench_parallel(const char *name, const char *setting, int n, int jobs)
{
	double t0 = now_us(), t;
	char label[64];

	for (int j = 0; j < jobs; j++) {
		if (fork() == 0) {
			struct mode m = { .setting = setting };

			set_mode(&m.policy, setting);
			for (int i = 0; i < n / jobs; i++) {
				double a, b;

				launch_once(&m, &a, &b);
			}
			_exit(0);
		}
	}
	while (wait(NULL) > 0)
		;
	t = now_us() - t0;
	snprintf(label, sizeof(label), "%s x%d", name, jobs);
	printf("%-28s %9.0f launches/s (%d in %.2f s)\n", label, (n / jobs) * jobs / (t / 1e6),
	       (n / jobs) * jobs, t / 1e6);
}

int main(int argc, char **argv)
{
	struct mode modes[] = {
		{ .name = "host", .setting = "host" },
		{ .name = "none", .setting = "none" },
		{ .name = "none+pool", .setting = "none", .pool = true },
		{ .name = "veth", .setting = "veth" },
		{ .name = "group (joining)", .setting = NULL },
	};
	const char *sboxrun = NULL;
	char group[64];
	int n = 200, jobs = 2, opt;
	pid_t anchor;

	while ((opt = getopt(argc, argv, "n:j:s:e:")) != -1) {
		if (opt == 'n')
			n = atoi(optarg);
		else if (opt == 'j')
			jobs = atoi(optarg);
		else if (opt == 's')
			pause_ms = atoi(optarg);
		else if (opt == 'e')
			sboxrun = optarg;
		else
			return 2;
	}
	if (n < 10 || jobs < 1 || geteuid() != 0) {
		fprintf(stderr, "usage: netns-bench [-n N>=10] [-j JOBS] [-s PAUSE_MS] [-e SBOXRUN] (as root)\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("%-28s %9s %9s %9s %9s %9s   (us, n=%d, pause %d ms)\n", "", "median", "p10",
	       "p90", "min", "max", n, pause_ms);
	bench_primitives(n);
	snprintf(group, sizeof(group), "group:bench-%d", (int)getpid());
	modes[4].setting = group;
	anchor = group_anchor(group);
	bench_launches(modes, sizeof(modes) / sizeof(modes[0]), n);
	kill(anchor, SIGTERM);
	waitpid(anchor, NULL, 0);
	if (sboxrun)
		bench_sboxrun(sboxrun, n);
	bench_parallel("host", "host", n, 1);
	bench_parallel("host", "host", n, jobs);
	bench_parallel("none", "none", n, 1);
	bench_parallel("none", "none", n, jobs);
	return 0;
}
