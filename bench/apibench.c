/* SPDX-License-Identifier: MIT */
/*
 * apibench: launch latency and throughput from inside one process, with no
 * client binary in between — what a node agent or a Slurm plugin gets.
 *
 *   apibench [options] fork      fork + execve + waitpid: the floor
 *   apibench [options] direct    the sandbox library in-process (sbox_spawn,
 *                                events, reap): sboxrun's direct mode
 *                                without sboxrun
 *   apibench [options] libsbox   the libsbox client API through sboxd
 *                                (-S its socket; default $SBOX_SOCKET)
 *
 * Latency mode (default): -w warm-up launches, then -n timed launches of the
 * command (default /bin/true), each timed from the call that starts it to
 * the reaped exit; with -L K, K sandboxes running `sleep` are held alive
 * meanwhile (scaling), and the memory they cost is reported.  With -p MS,
 * each timed launch follows MS milliseconds of idle time: the latency a
 * caller sees when launches are not back to back (sboxd's pool refills in
 * the pause, as it does between a real job's launches).
 * Throughput mode (-t SECONDS -j CLIENTS): CLIENTS processes launch back to
 * back for SECONDS; launches per second and the latency under load.
 * -P PID also reports that process's RSS (sboxd's) before and after the
 * live sandboxes started.
 * -o FILE writes every latency (microseconds, one a line) to FILE.
 * Output: one JSON object on stdout (bench/report.py reads it).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/apibench.h"

extern char **environ;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* The fork floor: a bare fork+exec+wait, the least any launch can cost,
 * so each mode's figure can be read against it. */

struct fork_state {
	pid_t *live;
	size_t n_live;
};

static pid_t fork_exec(char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		execve(argv[0], argv, environ);
		_exit(127);
	}
	return pid;
}

static int fork_init(struct bench_ctx *x)
{
	x->priv = calloc(1, sizeof(struct fork_state));
	return x->priv ? 0 : -1;
}

static int fork_run(struct bench_ctx *x, char *const argv[], int *status)
{
	pid_t pid = fork_exec(argv);

	if (pid < 0)
		return -1;
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

static int fork_start_live(struct bench_ctx *x, char *const argv[])
{
	struct fork_state *s = x->priv;
	pid_t *v = realloc(s->live, (s->n_live + 1) * sizeof(*v));
	pid_t pid;

	if (!v)
		return -1;
	s->live = v;
	pid = fork_exec(argv);
	if (pid < 0)
		return -1;
	s->live[s->n_live++] = pid;
	return 0;
}

static void fork_stop_live(struct bench_ctx *x)
{
	struct fork_state *s = x->priv;

	for (size_t i = 0; i < s->n_live; i++)
		kill(s->live[i], SIGKILL);
	for (size_t i = 0; i < s->n_live; i++)
		waitpid(s->live[i], NULL, 0);
	s->n_live = 0;
}

static void fork_fini(struct bench_ctx *x)
{
	struct fork_state *s = x->priv;

	if (s)
		free(s->live);
	free(s);
}

static const struct bench_backend fork_backend = {
	.name = "fork",
	.init = fork_init,
	.run = fork_run,
	.start_live = fork_start_live,
	.stop_live = fork_stop_live,
	.fini = fork_fini,
};

/* Percentiles over the samples: a mean hides the tail that a pool of
 * workers waits on. */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)n + 0.5);
	if (i > 0)
		i--;
	return v[i < n ? i : n - 1];
}

static void print_stats(const char *key, double *v, size_t n)
{
	double sum = 0;

	qsort(v, n, sizeof(*v), cmp_double);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	printf("\"%s\": {\"n\": %zu, \"min_us\": %.1f, \"p10_us\": %.1f, \"p50_us\": %.1f, "
	       "\"p90_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f, \"mean_us\": %.1f}",
	       key, n, n ? v[0] : 0, pct(v, n, 10), pct(v, n, 50), pct(v, n, 90), pct(v, n, 99),
	       n ? v[n - 1] : 0, n ? sum / (double)n : 0);
}

/* /proc/meminfo's MemAvailable, or /proc/self/status's VmRSS, in KiB. */
static long read_kb(const char *path, const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0) {
			v = strtol(line + klen, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* -o FILE: every latency, one a line, for merging rounds and plots. */
static void write_raw(const struct bench_ctx *x, const double *v, size_t n)
{
	FILE *f;

	if (!x->raw_path)
		return;
	f = fopen(x->raw_path, "we");
	if (!f) {
		fprintf(stderr, "apibench: %s: %s\n", x->raw_path, strerror(errno));
		return;
	}
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%.1f\n", v[i]);
	fclose(f);
}

/* The launcher's own leaks: open fds, and children not reaped. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3;  /* ".", ".." and the DIR's own fd */
}

static bool has_children(void)
{
	siginfo_t si = { 0 };

	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

/* The two modes: sequential launches (latency) and parallel clients for a
 * fixed time (throughput). */

static int run_one(struct bench_ctx *x, double *lat)
{
	int status = 0;
	double t0 = now_us();

	if (x->be->run(x, x->argv, &status) < 0)
		return -1;
	*lat = now_us() - t0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "apibench: %s: %s ended with status 0x%x\n", x->be->name,
			x->argv[0], status);
		return -1;
	}
	return 0;
}

static int latency_mode(struct bench_ctx *x)
{
	char *sleep_argv[] = { "/bin/sleep", "1000000", NULL };
	double *lat = calloc(x->n ? x->n : 1, sizeof(*lat)), t0;
	long mem0, mem1, rss0, rss1, watch0, watch1;
	int fds0;
	unsigned fails = 0, live_fails = 0, i;
	size_t k = 0;

	if (!lat)
		return -1;
	fds0 = count_fds();
	mem0 = read_kb("/proc/meminfo", "MemAvailable:");
	rss0 = read_kb("/proc/self/status", "VmRSS:");
	watch0 = x->watch_status ? read_kb(x->watch_status, "VmRSS:") : -1;
	t0 = now_us();
	/* A launch that fails to start K live sandboxes still measures with
	 * those it has, and says how many: the report must not present a
	 * shortfall as the scaling point asked for. */
	for (i = 0; i < x->live; i++)
		if (x->be->start_live(x, sleep_argv) < 0) {
			fprintf(stderr, "apibench: starting live sandbox %u of %u failed\n", i + 1,
				x->live);
			live_fails = 1;
			break;
		}
	printf("{\"mode\": \"%s\", \"live\": %u, \"live_wanted\": %u, \"live_start_s\": %.3f, ",
	       x->be->name, i, x->live, (now_us() - t0) / 1e6);
	x->live = i;
	mem1 = read_kb("/proc/meminfo", "MemAvailable:");
	rss1 = read_kb("/proc/self/status", "VmRSS:");
	watch1 = x->watch_status ? read_kb(x->watch_status, "VmRSS:") : -1;
	if (watch0 >= 0)
		printf("\"watch_rss_kb\": %ld, \"watch_rss_kb_live\": %ld, ", watch0, watch1);
	if (x->live)
		printf("\"memavail_kb_per_live\": %.1f, \"rss_kb_per_live\": %.2f, ",
		       (double)(mem0 - mem1) / x->live, (double)(rss1 - rss0) / x->live);
	for (i = 0; i < x->warmup; i++) {
		double d;

		if (run_one(x, &d) < 0)
			fails++;
	}
	for (i = 0; i < x->n; i++) {
		if (x->pause_ms)
			usleep((useconds_t)x->pause_ms * 1000);
		if (run_one(x, &lat[k]) < 0)
			fails++;
		else
			k++;
	}
	print_stats("latency", lat, k);
	write_raw(x, lat, k);
	x->be->stop_live(x);
	printf(", \"failures\": %u, \"fds_before\": %d, \"fds_after\": %d, "
	       "\"children_left\": %d}\n", fails, fds0, count_fds(), has_children());
	free(lat);
	return fails || live_fails ? 1 : 0;
}

/* One client of the throughput run: launches back to back until the
 * deadline, then writes its count and latencies to fd. */
static __attribute__((noreturn)) void client_main(struct bench_ctx *x, double deadline, int fd)
{
	size_t cap = 4096, n = 0;
	double *lat = malloc(cap * sizeof(*lat));
	unsigned fails = 0;

	while (lat && now_us() < deadline) {
		if (n == cap) {
			double *v = realloc(lat, 2 * cap * sizeof(*lat));

			if (!v)
				break;
			lat = v;
			cap *= 2;
		}
		if (run_one(x, &lat[n]) < 0)
			fails++;
		else
			n++;
	}
	if (!lat)
		n = 0;
	if (write(fd, &fails, sizeof(fails)) != sizeof(fails) ||
	    write(fd, &n, sizeof(n)) != sizeof(n))
		_exit(1);
	for (size_t off = 0; off < n * sizeof(*lat);) {
		ssize_t w = write(fd, (char *)lat + off, n * sizeof(*lat) - off);

		if (w <= 0)
			_exit(1);
		off += (size_t)w;
	}
	_exit(0);
}

static int read_full(int fd, void *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t r = read(fd, (char *)buf + off, len - off);

		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

static int throughput_mode(struct bench_ctx *x)
{
	pid_t pids[BENCH_MAX_CLIENTS];
	int fds[BENCH_MAX_CLIENTS];
	double start, deadline, elapsed, *all = NULL;
	size_t total = 0;
	unsigned fails = 0;
	int rc = 0;

	start = now_us();
	deadline = start + x->seconds * 1e6;
	for (unsigned i = 0; i < x->clients; i++) {
		int p[2];

		if (pipe2(p, O_CLOEXEC) < 0)
			return -1;
		pids[i] = fork();
		if (pids[i] == 0) {
			close(p[0]);
			client_main(x, deadline, p[1]);
		}
		close(p[1]);
		fds[i] = p[0];
	}
	for (unsigned i = 0; i < x->clients; i++) {
		unsigned f = 0;
		size_t n = 0;
		double *v;

		if (read_full(fds[i], &f, sizeof(f)) < 0 || read_full(fds[i], &n, sizeof(n)) < 0 ||
		    !(v = realloc(all, (total + n + 1) * sizeof(*all))) ||
		    read_full(fds[i], (all = v) + total, n * sizeof(*all)) < 0) {
			fprintf(stderr, "apibench: client %u sent no result\n", i);
			rc = 1;
		} else {
			total += n;
			fails += f;
		}
		close(fds[i]);
	}
	for (unsigned i = 0; i < x->clients; i++)
		waitpid(pids[i], NULL, 0);
	elapsed = (now_us() - start) / 1e6;
	printf("{\"mode\": \"%s\", \"clients\": %u, \"seconds\": %.3f, \"launches\": %zu, "
	       "\"per_s\": %.1f, ", x->be->name, x->clients, elapsed, total,
	       (double)total / elapsed);
	print_stats("latency", all ? all : (double[1]){ 0 }, total);
	printf(", \"failures\": %u}\n", fails);
	free(all);
	return rc || fails ? 1 : 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: apibench [-n N] [-w N] [-p MS] [-L LIVE] [-t SECONDS -j CLIENTS]\n"
		"                [-s Name=Value]... [-S SOCKET] [-P PID] [-o FILE]\n"
		"                fork|direct|libsbox [-- CMD...]\n");
}

static const struct bench_backend *backend_of(const char *name)
{
	if (strcmp(name, "fork") == 0)
		return &fork_backend;
	if (strcmp(name, "direct") == 0)
		return &bench_direct_backend;
	if (strcmp(name, "libsbox") == 0)
		return &bench_libsbox_backend;
	return NULL;
}

/* Live sandboxes hold fds (pidfd, channel) each. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	static char *default_argv[] = { "/bin/true", NULL };
	struct bench_ctx x = { .n = 200, .warmup = 20, .clients = 1, .argv = default_argv };
	static char watch[64];
	int opt, rc;

	while ((opt = getopt(argc, argv, "+n:w:p:L:t:j:s:S:P:o:h")) != -1) {
		switch (opt) {
		case 'n':
			x.n = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'w':
			x.warmup = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			x.pause_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'L':
			x.live = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't':
			x.seconds = strtod(optarg, NULL);
			break;
		case 'j':
			x.clients = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 's':
			if (x.n_sets < BENCH_MAX_SETS)
				x.sets[x.n_sets++] = optarg;
			break;
		case 'S':
			x.socket = optarg;
			break;
		case 'o':
			x.raw_path = optarg;
			break;
		case 'P':
			snprintf(watch, sizeof(watch), "/proc/%s/status", optarg);
			x.watch_status = watch;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc || !(x.be = backend_of(argv[optind])) || x.clients == 0 ||
	    x.clients > BENCH_MAX_CLIENTS) {
		usage(stderr);
		return 2;
	}
	if (optind + 1 < argc)
		x.argv = &argv[optind + 1 + (strcmp(argv[optind + 1], "--") == 0)];
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	if (x.be->init(&x) < 0) {
		fprintf(stderr, "apibench: %s: set-up failed\n", x.be->name);
		return 1;
	}
	rc = x.seconds > 0 ? throughput_mode(&x) : latency_mode(&x);
	x.be->fini(&x);
	fflush(stdout);
	return rc < 0 ? 1 : rc;
}
