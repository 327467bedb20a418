/* SPDX-License-Identifier: MIT */
/*
 * Zygotes (include/sbox/zygote.h, docs/security.md "Zygotes"): a C template
 * forks workers through the API, direct as root and through a real sboxd
 * as nobody, and each worker reports from inside: its namespaces differ
 * from the template's and each sibling's, its cgroup's memory limit is in
 * force, /dev holds only its granted nodes, CapEff 0, NoNewPrivs 1,
 * Seccomp 2, the template's pid is out of reach, only its kept fds are
 * open.  After sbox_zygote_close: no cgroup and no process left.  The
 * hostile side of PLACE: a placed worker placing itself again, a launched
 * sandbox's worker placing itself, more workers than MaxJobsPerUser=.
 * check_clean on a fake CUDA template (an fd on a char 195 node, a mapped
 * libcuda.so.1).
 */
#include "tests/integration/daemon_harness.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <glob.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "include/sbox/libsbox.h"
#include "include/sbox/zygote.h"

#define FIXTURE "tests/fixtures/fake-gpus.sh"
#define POLICY "[Sandbox]\nMemoryMax=64M\nTasksMax=64\nEnvironment=ZYGOTE_POLICY=1\n"
#define MEMORY_MAX "67108864"

static struct sboxd D;
static char *fake_dir;

/* What a template does: how many workers, through which socket (NULL:
 * direct), with how many GPUs, as whom. */
struct plan {
	const char *socket;
	unsigned workers;
	unsigned gpus;
	uid_t uid;
	const char *site;           /* $SBOX_SITE_CONFIG for the template */
	bool place_again;           /* each worker PLACEs itself once more */
	bool signal;                /* the template LISTs and SIGNALs them */
	bool hostile_page;          /* direct: each worker names another cgroup */
	const char *pause;          /* with the workers up: "paused=1", then wait for this file */
	bool in_container;          /* the template in a pid namespace root made (a container's) */
};

static const char *const ns_names[] = { "mnt", "net", "ipc", "uts", "cgroup", "pid" };

static void put_ns(FILE *f, const char *prefix)
{
	for (size_t i = 0; i < sizeof(ns_names) / sizeof(ns_names[0]); i++) {
		char path[64];
		struct stat st;

		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns_names[i]);
		fprintf(f, "%sns_%s=%llu\n", prefix, ns_names[i],
			stat(path, &st) == 0 ? (unsigned long long)st.st_ino : 0ULL);
	}
}

static void put_status(FILE *f)
{
	FILE *s = fopen("/proc/self/status", "re");
	char line[512];

	while (s && fgets(line, sizeof(line), s)) {
		if (!strncmp(line, "CapEff:", 7))
			fprintf(f, "capeff=%s", line + 8);
		else if (!strncmp(line, "NoNewPrivs:", 11))
			fprintf(f, "nnp=%s", line + 12);
		else if (!strncmp(line, "Seccomp:", 8))
			fprintf(f, "seccomp=%s", line + 9);
	}
	if (s)
		fclose(s);
}

/* The entries of a directory, sorted by readdir order, one line. */
static void put_dir(FILE *f, const char *key, const char *path, bool numeric)
{
	DIR *d = opendir(path);
	struct dirent *de;

	fprintf(f, "%s=", key);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || (numeric && (de->d_name[0] < '0' || de->d_name[0] > '9')))
			continue;
		if (numeric && atoi(de->d_name) == dirfd(d))
			continue;
		fprintf(f, "%s,", de->d_name);
	}
	fprintf(f, "\n");
	if (d)
		closedir(d);
}

/* Shared anonymous mappings (the template's pages shared with its
 * workers): a worker must have its own only, no sibling's. */
static void put_shared_maps(FILE *f)
{
	FILE *m = fopen("/proc/self/maps", "re");
	char line[512];
	unsigned n = 0;

	while (m && fgets(line, sizeof(line), m))
		n += strstr(line, " rw-s ") && strstr(line, "/dev/zero");
	if (m)
		fclose(m);
	fprintf(f, "shared_maps=%u\n", n);
}

/* The worker's /sys/fs/cgroup: its own cgroup's memory limit, read where
 * a runtime reads it, and whether the sandboxes' parent (the template's
 * siblings, other users' jobs) is in view. */
static void put_own_cgroup(FILE *f)
{
	static const char *const limit[] = { "/sys/fs/cgroup/memory/memory.limit_in_bytes",
					     "/sys/fs/cgroup/memory.max" };
	static const char *const parent[] = { "/sys/fs/cgroup/memory/sbox", "/sys/fs/cgroup/sbox" };
	char val[64] = "-";
	bool seen = false;

	for (size_t i = 0; i < 2; i++) {
		FILE *l = fopen(limit[i], "re");

		if (l && fgets(val, sizeof(val), l))
			val[strcspn(val, "\n")] = '\0';
		if (l)
			fclose(l);
		seen |= access(parent[i], F_OK) == 0;
	}
	fprintf(f, "own_memory_max=%s\nparent_seen=%d\n", val, seen);
}

/* In the worker, after enter: what it sees, on its report pipe. */
static void worker_report(FILE *f, const struct plan *pl, pid_t template, const char *env)
{
	put_ns(f, "");
	put_status(f);
	put_shared_maps(f);
	fprintf(f, "kill_template=%s\n",
		kill(template, 0) < 0 ? (errno == ESRCH ? "ESRCH" : strerror(errno)) : "reached");
	fprintf(f, "mypid=%d\n", (int)getpid());
	put_dir(f, "proc", "/proc", true);
	put_dir(f, "fds", "/proc/self/fd", true);
	put_dir(f, "dev", "/dev", false);
	put_dir(f, "run", "/run", false);
	put_own_cgroup(f);
	fprintf(f, "env=");
	for (const char *c = env; *c; c++)
		fputc(*c == '\n' ? ';' : *c, f);
	fprintf(f, "%s\n", env[0] ? "" : "-");
	if (pl->place_again) {
		struct sbox_client *c = sbox_client_new();

		if (sbox_client_connect(c, pl->socket) < 0 || sbox_client_place(c, NULL, 0, NULL, NULL, 0) < 0)
			fprintf(f, "place_again=%s\n", sbox_client_error(c));
		else
			fprintf(f, "place_again=placed\n");
		sbox_client_free(c);
	}
	fprintf(f, "end=1\n");
	fflush(f);
}

/* A hostile worker (direct mode): in the page it shares with its root
 * template, its cgroup's path replaced by a sibling "sbox-<template>-77",
 * which the template made as a decoy. */
static void name_another_cgroup(pid_t template)
{
	FILE *maps = fopen("/proc/self/maps", "re");
	char line[512];

	while (maps && fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;
		char perms[8], *page, *slash;

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || strcmp(perms, "rw-s"))
			continue;
		page = (char *)lo;
		if (strncmp(page, "/sys/fs/cgroup/", 15) || !(slash = strrchr(page, '/')))
			continue;
		snprintf(slash + 1, 64, "sbox-%d-77", (int)template);
	}
	if (maps)
		fclose(maps);
}

static __attribute__((noreturn)) void worker(struct sbox_zygote *z, const struct plan *pl,
					     int rep, int hold, pid_t template)
{
	char err[1024], env[1024], c;
	int keep[2] = { rep, hold };
	FILE *f;

	if (sbox_zygote_enter(z, POLICY, pl->gpus, keep, 2, env, sizeof(env), err,
			      sizeof(err)) < 0) {
		dprintf(rep, "enter_error=%s\nend=1\n", err);
		_exit(125);
	}
	f = fdopen(rep, "w");
	if (!f)
		_exit(125);
	worker_report(f, pl, template, env);
	/* Alive until the template lets go, so that siblings overlap. */
	while (read(hold, &c, 1) > 0)
		;
	if (pl->hostile_page)
		name_another_cgroup(template);
	_exit(0);
}

/* The host's view of the worker's cgroup: its path and memory limit. */
static void put_cgroup(FILE *out, int i, pid_t pid, char *dir, size_t dirlen)
{
	char path[128], line[1024], file[2048], val[64] = "-";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *rel = strrchr(line, ':');

		line[strcspn(line, "\n")] = '\0';
		if (strstr(line, ":memory:")) {
			snprintf(file, sizeof(file), "/sys/fs/cgroup/memory%s/memory.limit_in_bytes", rel + 1);
			fprintf(out, "w%d_cgroup=/sys/fs/cgroup/memory%s\n", i, rel + 1);
			snprintf(dir, dirlen, "/sys/fs/cgroup/memory%s", rel + 1);
			break;
		}
		if (!strncmp(line, "0::", 3)) {
			snprintf(file, sizeof(file), "/sys/fs/cgroup%s/memory.max", rel + 1);
			fprintf(out, "w%d_cgroup=/sys/fs/cgroup%s\n", i, rel + 1);
			snprintf(dir, dirlen, "/sys/fs/cgroup%s", rel + 1);
		}
	}
	if (f)
		fclose(f);
	f = fopen(file, "re");
	if (f && fgets(val, sizeof(val), f))
		val[strcspn(val, "\n")] = '\0';
	if (f)
		fclose(f);
	fprintf(out, "w%d_memory_max=%s\n", i, val);
}

/* The worker's report, prefixed, into the template's out. */
static void copy_report(FILE *out, int i, int rep)
{
	FILE *f = fdopen(rep, "r");
	char line[8192];

	while (f && fgets(line, sizeof(line), f)) {
		fprintf(out, "w%d_%s", i, line);
		if (!strcmp(line, "end=1\n"))
			break;
	}
	if (f)
		fclose(f);
}

/* After close: every process of the template's tree gone (the template is
 * their subreaper), within 3 s. */
static int leftover_children(void)
{
	for (int tries = 0; tries < 300; tries++) {
		pid_t r = waitpid(-1, NULL, WNOHANG);

		if (r < 0 && errno == ECHILD)
			return 0;
		if (r == 0)
			usleep(10000);
	}
	return 1;
}

static bool gone_within(const char *path, int ms)
{
	for (int t = 0; t < ms / 10; t++) {
		if (access(path, F_OK) < 0)
			return true;
		usleep(10000);
	}
	return false;
}

/* Beside the last worker's cgroup dir, a cgroup "sbox-<self>-77": the
 * one a hostile worker names (name_another_cgroup). */
static int make_decoy(char *dir, size_t len, pid_t self)
{
	char *slash = strrchr(dir, '/');

	if (!slash)
		return errno = ENOENT, -1;
	snprintf(slash + 1, len - (size_t)(slash + 1 - dir), "sbox-%d-77", (int)self);
	return mkdir(dir, 0755);
}

/* The placed workers as sboxd lists them, their STATS, then a WAIT for
 * each end (asked before the end: a placed job's end is told to whoever
 * waits, then forgotten) and SIGTERM to each, through sboxd (the
 * template's own connection, in its own pid namespace). */
static void list_and_signal(FILE *out, const struct plan *pl)
{
	struct sbox_client *c = sbox_client_new();
	struct sbox_job_info *jobs = NULL;
	size_t n = 0;

	if (sbox_client_connect(c, pl->socket) < 0 || sbox_client_list(c, &jobs, &n) < 0) {
		fprintf(out, "list_error=%s\n", sbox_client_error(c));
		sbox_client_free(c);
		return;
	}
	fprintf(out, "jobs=%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		struct sbox_job_stats st;
		int state = -1;

		fprintf(out, "job%zu_name=%s\n", i, jobs[i].name);
		if (sbox_client_stats(c, jobs[i].id, &st, &state) < 0) {
			fprintf(out, "stats_error=%s\n", sbox_client_error(c));
		} else {
			fprintf(out, "job%zu_stats_valid=%d\n", i, st.valid);
			fprintf(out, "job%zu_stats_cgroup=%d\n", i, st.cgroup_version > 0);
			fprintf(out, "job%zu_stats_memory=%d\n", i,
				(st.have & SBOX_STATS_HAVE_MEMORY_PEAK) && st.memory_peak > 0);
		}
		if (sbox_client_watch(c, jobs[i].id) < 0)
			fprintf(out, "wait_error=%s\n", sbox_client_error(c));
	}
	for (size_t i = 0; i < n; i++)
		if (sbox_client_signal(c, jobs[i].id, SIGTERM) < 0)
			fprintf(out, "signal_error=%s\n", sbox_client_error(c));
	for (size_t k = 0; k < n; k++) {
		struct sbox_job_exit ex;
		size_t i;

		if (sbox_client_next_exit(c, &ex, 10000) != 1) {
			fprintf(out, "wait_error=%s\n", sbox_client_error(c));
			break;
		}
		for (i = 0; i < n && jobs[i].id != ex.id; i++)
			;
		fprintf(out, "job%zu_outcome=%d\n", i, ex.outcome);
		fprintf(out, "job%zu_message=%s\n", i, ex.message);
		fprintf(out, "job%zu_wait_stats_valid=%d\n", i, ex.stats.valid);
	}
	free(jobs);
	sbox_client_free(c);
}

/* The mount ids of the template's (the host's) mount namespace, as
 * " id id ... " for strstr. */
static char *mount_ids(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	size_t len = 0, cap = 1 << 16;
	char *ids = calloc(1, cap);

	if (!ids)
		return NULL;
	ids[len++] = ' ';
	while (f && fgets(line, sizeof(line), f)) {
		unsigned id;

		if (sscanf(line, "%u", &id) == 1 && len + 16 < cap)
			len += (size_t)snprintf(ids + len, cap - len, "%u ", id);
	}
	if (f)
		fclose(f);
	return ids;
}

/* Mounts the run left in the template's namespace: those not there
 * before. */
static int new_mounts(const char *before)
{
	char *after = mount_ids();
	char id[24];
	int n = 0;

	for (const char *c = after ? after + 1 : ""; *c; c = strchr(c, ' ') + 1) {
		snprintf(id, sizeof(id), " %.*s ", (int)(strchr(c, ' ') - c), c);
		n += before && !strstr(before, id);
	}
	free(after);
	return n;
}

/* The template: a process of its own, as pl->uid; its findings as
 * key=value lines on out. */
static void template_main(const struct plan *pl, FILE *out)
{
	char err[1024], line[8192];
	int hold[2], rep[8];
	pid_t pids[8], self;
	char decoy[4096] = "";
	char *mounts;
	struct sbox_zygote *z;
	FILE *m;

	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	mounts = mount_ids();
	z = sbox_zygote_open(pl->socket, err, sizeof(err));
	if (!z) {
		fprintf(out, "open_error=%s\n", err);
		free(mounts);
		return;
	}
	put_ns(out, "t_");
	m = fopen("/proc/self/uid_map", "re");
	if (m && fgets(line, sizeof(line), m))
		fprintf(out, "t_uid_map=%s", line);
	if (m)
		fclose(m);
	fprintf(out, "clean=%s\n", sbox_zygote_check_clean(err, sizeof(err)) == 0 ? "yes" : err);
	if (pipe2(hold, O_CLOEXEC) < 0)
		return;
	self = getpid();
	for (unsigned i = 0; i < pl->workers; i++) {
		int p[2];

		if (pipe2(p, O_CLOEXEC) < 0 || sbox_zygote_prefork(z, err, sizeof(err)) < 0) {
			fprintf(out, "prefork_error=%s\n", err);
			return;
		}
		fflush(out);
		pids[i] = fork();
		if (pids[i] == 0) {
			close(p[0]);
			close(hold[1]);
			worker(z, pl, p[1], hold[0], self);
		}
		close(p[1]);
		rep[i] = p[0];
		if (sbox_zygote_postfork(z, pids[i], err, sizeof(err)) < 0)
			fprintf(out, "postfork_error=%s\n", err);
		copy_report(out, (int)i, rep[i]);
		put_cgroup(out, (int)i, pids[i], decoy, sizeof(decoy));
	}
	if (pl->hostile_page && make_decoy(decoy, sizeof(decoy), self) < 0)
		fprintf(out, "decoy_error=%s\n", strerror(errno));
	if (pl->signal)
		list_and_signal(out, pl);
	if (pl->pause) {
		fprintf(out, "paused=1\n");
		fflush(out);
		for (int t = 0; t < 3000 && access(pl->pause, F_OK) < 0; t++)
			usleep(10000);
	}
	close(hold[1]);
	for (unsigned i = 0; i < pl->workers; i++) {
		int st = 0;

		waitpid(pids[i], &st, 0);
		fprintf(out, "w%u_status=%d\n", i, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		if (sbox_zygote_reaped(z, pids[i], err, sizeof(err)) < 0)
			fprintf(out, "reaped_error=%s\n", err);
	}
	sbox_zygote_close(z);
	fprintf(out, "leftover_children=%d\n", leftover_children());
	fprintf(out, "new_mounts=%d\n", new_mounts(mounts));
	free(mounts);
	if (pl->hostile_page) {
		fprintf(out, "decoy_kept=%d\n", access(decoy, F_OK) == 0);
		rmdir(decoy);
	}
}

/* As a container runtime would: a pid namespace made by root (owned by
 * the host's user namespace); the caller goes on as its pid 1, while the
 * process that made it waits for it. */
static int enter_container(void)
{
	pid_t pid;
	int st;

	if (unshare(CLONE_NEWPID) < 0)
		return -1;
	pid = fork();
	if (pid != 0) {
		if (pid < 0)
			return -1;
		waitpid(pid, &st, 0);
		_exit(0);
	}
	return 0;
}

static void template_path(char *path, size_t len)
{
	snprintf(path, len, "%s/template.out", D.dir ? D.dir : fake_dir);
}

/* Start a template as pl->uid in a child of the test. */
static pid_t start_template(const struct plan *pl)
{
	char path[512];
	pid_t pid;

	template_path(path, sizeof(path));
	unlink(path);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		FILE *f;

		if (fd < 0 || fchown(fd, pl->uid, pl->uid) < 0)
			_exit(1);
		if (pl->in_container && enter_container() < 0)
			_exit(1);
		if (pl->site)
			setenv("SBOX_SITE_CONFIG", pl->site, 1);
		/* As a user's own process is: dumpable (a change of uid
		 * from root clears it), so /proc/self is its own. */
		if (pl->uid)
			become(pl->uid);
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		f = fdopen(fd, "w");
		template_main(pl, f);
		fclose(f);
		_exit(0);
	}
	return pid;
}

static char *read_template(void)
{
	char path[512];
	char *text = calloc(1, 256 * 1024);
	FILE *f;

	assert_non_null(text);
	template_path(path, sizeof(path));
	f = fopen(path, "re");
	if (f) {
		(void)!fread(text, 1, 256 * 1024 - 1, f);
		fclose(f);
	}
	return text;
}

/* Run a template to its end; its findings. */
static char *run_template(const struct plan *pl)
{
	pid_t pid = start_template(pl);
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return read_template();
}

#define assert_key(text, key, want)                                              \
	do {                                                                     \
		char *v_ = kv_get(text, key);                                    \
		if (!v_ || strcmp(v_, want))                                      \
			fprintf(stderr, "%s: %s, want %s\n--- template ---\n%s", \
				key, v_ ? v_ : "(none)", want, text);           \
		assert_non_null(v_);                                             \
		assert_string_equal(v_, want);                                   \
		free(v_);                                                        \
	} while (0)

/* The key's value contains needle. */
static void assert_key_has(const char *text, const char *key, const char *needle)
{
	char *v = kv_get(text, key);
	bool has = v && strstr(v, needle);

	if (!has)
		fprintf(stderr, "%s: %s, want it to say '%s'\n--- template ---\n%s", key,
			v ? v : "(none)", needle, text);
	free(v);
	assert_true(has);
}

static void assert_differ(const char *text, const char *a, const char *b)
{
	char *va = kv_get(text, a), *vb = kv_get(text, b);

	if (!va || !vb || !strcmp(va, vb))
		fprintf(stderr, "%s=%s and %s=%s should differ\n%s", a, va ? va : "-", b,
			vb ? vb : "-", text);
	assert_non_null(va);
	assert_non_null(vb);
	assert_string_not_equal(va, vb);
	assert_string_not_equal(va, "0");
	free(va);
	free(vb);
}

/* How many "nvidiaN," entries a /dev listing has. */
static unsigned gpu_nodes(const char *list)
{
	unsigned n = 0;

	for (const char *c = list; (c = strstr(c, "nvidia")); c += 6)
		n += c[6] >= '0' && c[6] <= '9';
	return n;
}

/* Every property of the issue, from inside each worker. */
static void assert_workers(const char *text, const struct plan *pl)
{
	char k1[64], k2[64], want[64];

	assert_key(text, "clean", "yes");
	for (unsigned i = 0; i < pl->workers; i++) {
		char *v;

		snprintf(k1, sizeof(k1), "w%u_enter_error", i);
		v = kv_get(text, k1);
		if (v)
			fprintf(stderr, "%s\n", text);
		assert_null(v);
		for (size_t n = 0; n < sizeof(ns_names) / sizeof(ns_names[0]); n++) {
			snprintf(k1, sizeof(k1), "w%u_ns_%s", i, ns_names[n]);
			snprintf(k2, sizeof(k2), "t_ns_%s", ns_names[n]);
			assert_differ(text, k1, k2);
			for (unsigned j = 0; j < i; j++) {
				snprintf(k2, sizeof(k2), "w%u_ns_%s", j, ns_names[n]);
				assert_differ(text, k1, k2);
			}
		}
		snprintf(k1, sizeof(k1), "w%u_capeff", i);
		assert_key(text, k1, "0000000000000000");
		snprintf(k1, sizeof(k1), "w%u_nnp", i);
		assert_key(text, k1, "1");
		snprintf(k1, sizeof(k1), "w%u_seccomp", i);
		assert_key(text, k1, "2");
		snprintf(k1, sizeof(k1), "w%u_kill_template", i);
		assert_key(text, k1, "ESRCH");
		snprintf(k1, sizeof(k1), "w%u_mypid", i);
		assert_key(text, k1, "2");
		/* Its own shared page only: a sibling's (still mapped in the
		 * template) would let it scribble on what the template reads
		 * back at the sibling's reaping. */
		snprintf(k1, sizeof(k1), "w%u_shared_maps", i);
		assert_key(text, k1, "1");
		/* Its init and itself; nothing of the template's or a sibling's. */
		snprintf(k1, sizeof(k1), "w%u_proc", i);
		v = kv_get(text, k1);
		assert_non_null(v);
		assert_true(!strcmp(v, "1,2,") || !strcmp(v, "2,1,"));
		free(v);
		snprintf(k1, sizeof(k1), "w%u_memory_max", i);
		assert_key(text, k1, MEMORY_MAX);
		/* ... and the worker reads it at /sys/fs/cgroup, its own
		 * cgroup's only. */
		snprintf(k1, sizeof(k1), "w%u_own_memory_max", i);
		assert_key(text, k1, MEMORY_MAX);
		snprintf(k1, sizeof(k1), "w%u_parent_seen", i);
		assert_key(text, k1, "0");
		snprintf(k1, sizeof(k1), "w%u_status", i);
		assert_key(text, k1, "0");
		snprintf(k1, sizeof(k1), "w%u_dev", i);
		v = kv_get(text, k1);
		assert_non_null(v);
		/* Exactly its granted GPUs' nodes (the fake machine has four). */
		if (pl->gpus)
			assert_non_null(strstr(v, "nvidiactl,"));
		if (gpu_nodes(v) != pl->gpus)
			fprintf(stderr, "%s=%s: want %u GPU node(s)\n", k1, v, pl->gpus);
		assert_int_equal(gpu_nodes(v), pl->gpus);
		free(v);
		/* /run hidden: no sboxd socket, no /run/sbox registry. */
		snprintf(k1, sizeof(k1), "w%u_run", i);
		v = kv_get(text, k1);
		assert_non_null(v);
		if (strstr(v, "sbox"))
			fprintf(stderr, "%s=%s\n", k1, v);
		assert_null(strstr(v, "sbox"));
		free(v);
		snprintf(k1, sizeof(k1), "w%u_env", i);
		v = kv_get(text, k1);
		assert_non_null(v);
		/* The policy's Environment=, then the GPUs' variables. */
		assert_non_null(strstr(v, "ZYGOTE_POLICY=1;"));
		assert_true(!pl->gpus == !strstr(v, "CUDA_VISIBLE_DEVICES="));
		free(v);
	}
	(void)want;
	assert_key(text, "leftover_children", "0");
	/* The workers' mounts were in their own namespaces. */
	assert_key(text, "new_mounts", "0");
}

/* The kept fds only: stdio, the report pipe and the hold pipe (numbers as
 * the template had them). */
static void assert_fds(const char *text, unsigned workers)
{
	for (unsigned i = 0; i < workers; i++) {
		char k[64], *v;
		int n = 0;

		snprintf(k, sizeof(k), "w%u_fds", i);
		v = kv_get(text, k);
		assert_non_null(v);
		for (char *c = v; *c; c++)
			n += *c == ',';
		if (n != 5)
			fprintf(stderr, "%s=%s (want stdio and the two kept)\n", k, v);
		assert_int_equal(n, 5);
		free(v);
	}
}

/* The workers' cgroups are gone once the template closed. */
static void assert_cgroups_gone(const char *text, unsigned workers)
{
	for (unsigned i = 0; i < workers; i++) {
		char k[64], *v;

		snprintf(k, sizeof(k), "w%u_cgroup", i);
		v = kv_get(text, k);
		assert_non_null(v);
		assert_non_null(strstr(v, "/sbox-"));
		if (!gone_within(v, 5000))
			fprintf(stderr, "%s is still there\n", v);
		assert_true(gone_within(v, 10));
		free(v);
	}
}

static void need_root(void)
{
	if (!running_as_root())
		skip_because("zygote tests start their template as root or as nobody: run as root");
}

static void test_direct_workers(void **state)
{
	struct plan pl = { .socket = NULL, .workers = 2, .uid = 0 };
	char *text;

	(void)state;
	need_root();
	fake_dir = make_tempdir();
	text = run_template(&pl);
	assert_workers(text, &pl);
	assert_fds(text, pl.workers);
	assert_cgroups_gone(text, pl.workers);
	free(text);
}

/* Fake GPUs (tests/fixtures/fake-gpus.sh): the [GPUs] section of a site
 * configuration at dir/gpus.conf. */
static void fake_gpus(const char *dir, char *section, size_t len, char *conf, size_t clen)
{
	char cmd[1024];

	if (access(FIXTURE, R_OK) < 0)
		skip_because("tests/fixtures/fake-gpus.sh not found: run from the repository's root");
	snprintf(cmd, sizeof(cmd), "sh %s %s/fake", FIXTURE, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(section, len, "[GPUs]\nProcRoot=%s/fake/proc\nSysRoot=%s/fake/sys\nDevRoot=%s/fake/dev\n",
		 dir, dir, dir);
	snprintf(conf, clen, "%s/gpus.conf", dir);
	write_text(conf, section);
	assert_int_equal(chmod(conf, 0644), 0);
}

static void test_direct_gpu(void **state)
{
	char section[1024], conf[512];
	struct plan pl = { .socket = NULL, .workers = 2, .gpus = 1, .uid = 0, .site = conf };
	char *text;

	(void)state;
	need_root();
	fake_dir = make_tempdir();
	fake_gpus(fake_dir, section, sizeof(section), conf, sizeof(conf));
	text = run_template(&pl);
	assert_workers(text, &pl);
	free(text);
}

static void test_sboxd_workers(void **state)
{
	struct plan pl = { .workers = 2, .uid = NOBODY };
	char *text;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "[Defaults]\nEnvironment=SITE_DEFAULT=1\n");
	pl.socket = D.sock;
	text = run_template(&pl);
	/* The site's [Defaults] reach the worker's environment too. */
	assert_key_has(text, "w0_env", "SITE_DEFAULT=1;");
	assert_key_has(text, "w1_env", "SITE_DEFAULT=1;");
	/* The template holds a user namespace of its own, nothing more. */
	assert_key(text, "t_uid_map", "     65534      65534          1");
	assert_workers(text, &pl);
	assert_fds(text, pl.workers);
	assert_cgroups_gone(text, pl.workers);
	assert_true(sboxd_no_jobs(&D, 5000));
	free(text);
}

static void test_sboxd_gpu(void **state)
{
	char section[1024], conf[512], extra[1400];
	struct plan pl = { .workers = 2, .gpus = 1, .uid = NOBODY, .site = conf };
	char *text, *a, *b;

	(void)state;
	sboxd_prepare(&D);
	fake_gpus(D.dir, section, sizeof(section), conf, sizeof(conf));
	snprintf(extra, sizeof(extra), "%s[Bounds]\nAllowGPUs=nobody 0-3\n", section);
	sboxd_start(&D, extra);
	pl.socket = D.sock;
	text = run_template(&pl);
	assert_workers(text, &pl);
	/* Each worker its own GPU, leased by sboxd: not the template's. */
	a = kv_get(text, "w0_env");
	b = kv_get(text, "w1_env");
	assert_non_null(a);
	assert_non_null(b);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
	assert_true(sboxd_no_jobs(&D, 5000));
	free(text);
}

/* A placed worker PLACEs itself again, to leave its limits or lease
 * another GPU: refused. */
static void test_place_again_refused(void **state)
{
	struct plan pl = { .workers = 1, .uid = NOBODY, .place_again = true };
	char *text;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "");
	pl.socket = D.sock;
	text = run_template(&pl);
	assert_key_has(text, "w0_place_again", "in a sandbox already");
	assert_key(text, "w0_status", "0");
	assert_true(sboxd_no_jobs(&D, 5000));
	free(text);
}

/* Direct mode's template is root and removes each worker's cgroup by the
 * path the worker wrote in the page they share: a worker that names
 * another sandbox's cgroup there must not have it killed and removed. */
static void test_direct_worker_names_another_cgroup(void **state)
{
	struct plan pl = { .socket = NULL, .workers = 1, .uid = 0, .hostile_page = true };
	char *text;

	(void)state;
	need_root();
	fake_dir = make_tempdir();
	text = run_template(&pl);
	assert_null(strstr(text, "decoy_error="));
	assert_key_has(text, "reaped_error", "not its own");
	assert_key(text, "decoy_kept", "1");
	free(text);
}

/* jobN_what, as list_and_signal() wrote it. */
static void assert_job_key(const char *text, int job, const char *what, const char *want)
{
	char k[64];

	snprintf(k, sizeof(k), "job%d_%s", job, what);
	assert_key(text, k, want);
}

static void assert_job_has(const char *text, int job, const char *what, const char *part)
{
	char k[64];

	snprintf(k, sizeof(k), "job%d_%s", job, what);
	assert_key_has(text, k, part);
}

/* A placed worker is a job: LIST shows it, STATS gives its cgroup's
 * figures, SIGNAL reaches it (the process itself, by its pidfd), WAIT
 * tells its end as LOST (its template, not sboxd, reaps it) with the
 * figures, and the end is then forgotten. */
static void test_place_list_signal(void **state)
{
	struct plan pl = { .workers = 2, .uid = NOBODY, .signal = true };
	char *text;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "");
	pl.socket = D.sock;
	text = run_template(&pl);
	assert_key(text, "jobs", "2");
	assert_key(text, "job0_name", "placed");
	assert_null(strstr(text, "signal_error="));
	/* STATS: the cgroup's figures, as for a launched job.  WAIT: the
	 * end, LOST (the template is the parent), with those figures. */
	assert_null(strstr(text, "stats_error="));
	assert_null(strstr(text, "wait_error="));
	for (int i = 0; i < 2; i++) {
		assert_job_key(text, i, "stats_valid", "1");
		assert_job_key(text, i, "stats_cgroup", "1");
		assert_job_key(text, i, "stats_memory", "1");
		assert_job_key(text, i, "outcome", "5");
		assert_job_key(text, i, "wait_stats_valid", "1");
		assert_job_has(text, i, "message", "exit status is its parent's to know");
	}
	assert_key(text, "w0_status", "143");
	assert_key(text, "w1_status", "143");
	assert_key(text, "leftover_children", "0");
	assert_true(sboxd_no_jobs(&D, 5000));
	free(text);
}

/* Placed workers outlive a restart of sboxd (the keeper holds their
 * pidfd and cgroup path); the successor adopts them, and removes each
 * cgroup at its worker's end. */
static void test_place_survives_restart(void **state)
{
	char go[512];
	struct plan pl = { .workers = 2, .uid = NOBODY, .pause = go };
	char *text = NULL;
	pid_t t;
	int st;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "");
	snprintf(go, sizeof(go), "%s/go", D.dir);
	pl.socket = D.sock;
	t = start_template(&pl);
	for (int i = 0; i < 3000 && !(text && strstr(text, "paused=1")); i++) {
		free(text);
		usleep(10000);
		text = read_template();
	}
	assert_non_null(strstr(text, "paused=1"));
	free(text);
	sboxd_kill9(&D);
	sboxd_restart(&D);
	/* The successor knows both placed workers while they run. */
	assert_false(sboxd_no_jobs(&D, 200));
	write_text(go, "");
	assert_int_equal(waitpid(t, &st, 0), t);
	text = read_template();
	assert_workers(text, &pl);
	assert_cgroups_gone(text, pl.workers);
	assert_true(sboxd_no_jobs(&D, 5000));
	free(text);
}

/* A container's process (its pid namespace made by root) makes a user
 * and pid namespace of its own, as a template would, and PLACEs itself:
 * refused at accept, since a PLACE would take it out of the container's
 * cgroup.  Only the innermost pid namespace is the user's own. */
static void test_place_from_container_refused(void **state)
{
	struct plan pl = { .workers = 1, .uid = NOBODY, .in_container = true };
	char *text;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "");
	pl.socket = D.sock;
	text = run_template(&pl);
	assert_key_has(text, "w0_enter_error", "AllowNestedClients=no");
	assert_key(text, "w0_status", "125");
	assert_true(sboxd_no_jobs(&D, 5000));
	free(text);
}

/* More workers than MaxJobsPerUser=: the placements past it are refused,
 * each a job of the user's while it runs. */
static void test_place_beyond_job_limit(void **state)
{
	struct plan pl = { .workers = 3, .uid = NOBODY };
	char *text;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "MaxJobsPerUser=2\n");
	pl.socket = D.sock;
	text = run_template(&pl);
	assert_key_has(text, "w2_enter_error", "MaxJobsPerUser=2");
	assert_key(text, "w0_status", "0");
	assert_key(text, "w1_status", "0");
	assert_key(text, "w2_status", "125");
	assert_key(text, "leftover_children", "0");
	assert_true(sboxd_no_jobs(&D, 5000));
	free(text);
}

/* The worker of a sandbox sboxd launched PLACEs itself: refused, by the
 * pid namespace check (a namespace root made) or, where nested clients
 * are let in, because it lives in a sandbox's cgroup already. */
static void test_place_from_launched_sandbox_refused(void **state)
{
	char self[512], extra[64];
	struct cmd r;
	bool refused;

	(void)state;
	sboxd_prepare(&D);
	snprintf(self, sizeof(self), "%s/zygote-client", D.dir);
	{
		char cmd[1200];

		snprintf(cmd, sizeof(cmd), "cp /proc/%d/exe %s && chmod 0755 %s", (int)getpid(), self, self);
		assert_int_equal(system(cmd), 0);
	}
	sboxd_start(&D, "");
	cmd_runl(&r, NOBODY, 30, D.sboxrun, "--socket", D.sock, "--", self, "--place", D.sock, NULL);
	refused = strstr(r.out, "place_error=") && strstr(r.out, "AllowNestedClients=no");
	if (!refused)
		cmd_dump(&r);
	cmd_free(&r);
	assert_true(refused);
	sboxd_cleanup(&D);

	sboxd_prepare(&D);
	snprintf(self, sizeof(self), "%s/zygote-client", D.dir);
	{
		char cmd[1200];

		snprintf(cmd, sizeof(cmd), "cp /proc/%d/exe %s && chmod 0755 %s", (int)getpid(), self, self);
		assert_int_equal(system(cmd), 0);
	}
	snprintf(extra, sizeof(extra), "AllowNestedClients=yes\n");
	sboxd_start(&D, extra);
	cmd_runl(&r, NOBODY, 30, D.sboxrun, "--socket", D.sock, "--", self, "--place", D.sock, NULL);
	refused = strstr(r.out, "place_error=") && strstr(r.out, "in a sandbox already");
	if (!refused)
		cmd_dump(&r);
	cmd_free(&r);
	assert_true(refused);
	assert_true(sboxd_no_jobs(&D, 5000));
}

/* check_clean: an fd on a char 195 node (the NVIDIA driver's major), or a
 * mapped libcuda.so.1, is a template that initialised CUDA. */
static void test_check_clean(void **state)
{
	char node[512], lib[512], err[1024];
	void *map;
	int fd;

	(void)state;
	need_root();
	fake_dir = make_tempdir();
	assert_int_equal(sbox_zygote_check_clean(err, sizeof(err)), 0);
	snprintf(node, sizeof(node), "%s/nvidia0", fake_dir);
	assert_int_equal(mknod(node, S_IFCHR | 0666, makedev(195, 0)), 0);
	fd = open(node, O_RDONLY | O_PATH | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(sbox_zygote_check_clean(err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is open on the NVIDIA device"));
	assert_non_null(strstr(err, "(char 195:0)"));
	close(fd);
	assert_int_equal(sbox_zygote_check_clean(err, sizeof(err)), 0);

	snprintf(lib, sizeof(lib), "%s/libcuda.so.1", fake_dir);
	write_text(lib, "not a library, mapped as one would be\n");
	fd = open(lib, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	map = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	assert_true(map != MAP_FAILED);
	assert_int_equal(sbox_zygote_check_clean(err, sizeof(err)), -1);
	assert_non_null(strstr(err, "libcuda.so.1 is mapped"));
	munmap(map, 4096);
	assert_int_equal(sbox_zygote_check_clean(err, sizeof(err)), 0);
}

static int teardown(void **state)
{
	(void)state;
	sboxd_cleanup(&D);
	memset(&D, 0, sizeof(D));
	if (fake_dir) {
		rm_rf(fake_dir);
		free(fake_dir);
		fake_dir = NULL;
	}
	return 0;
}

/* sboxd's own sandbox cgroups (sbox-<its pid>-N), in any hierarchy. */
static int cgroups_of(pid_t daemon)
{
	static const char *const roots[] = { "/sys/fs/cgroup/sbox", "/sys/fs/cgroup/*/sbox" };
	char pattern[128];
	int n = 0;

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		glob_t g;

		snprintf(pattern, sizeof(pattern), "%s/sbox-%d-*", roots[i], (int)daemon);
		if (glob(pattern, GLOB_ONLYDIR | GLOB_NOSORT, NULL, &g) == 0)
			n += (int)g.gl_pathc;
		globfree(&g);
	}
	return n;
}

static bool no_cgroups_of(pid_t daemon, int timeout_ms)
{
	for (int t = 0; t < timeout_ms; t += 20) {
		if (cgroups_of(daemon) == 0)
			return true;
		usleep(20 * 1000);
	}
	return cgroups_of(daemon) == 0;
}

/* The PLACE of a sender that is gone by the time sboxd places it: exited
 * and left a zombie (its parent not reaping: the pidfd still names a pid,
 * and a zombie "moves" into a cgroup without an error), exited and reaped,
 * or exiting while sboxd places it.  Each placement fails or ends and
 * leaves no cgroup behind: a user repeating this must not pile up cgroups
 * (the sweep spares those of a live sboxd), and sboxd goes on serving. */
static void test_place_sender_gone(void **state)
{
	(void)state;
	need_root();
	sboxd_prepare(&D);
	/* No pool: its prepared sandboxes' cgroups would be counted. */
	sboxd_start(&D, "NetnsPool=0\n[Pool]\nSize=0\n");
	for (int round = 0; round < 18; round++) {
		int mode = round % 3, st;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			struct sbox_mb b = { 0 };
			int fd = raw_connect(D.sock);

			if (fd < 0)
				_exit(1);
			sbox_mb_begin(&b, SBOX_MSG_PLACE, 1);
			sbox_mb_str(&b, SBOX_ATTR_NAME, "gone");
			if (raw_send_mb(fd, &b) < 0)
				_exit(2);
			if (mode == 2)
				usleep((unsigned)(round % 6) * 1000);
			_exit(0);
		}
		if (mode != 1)
			usleep(300 * 1000);     /* a zombie while sboxd places it */
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	assert_true(sboxd_no_jobs(&D, 5000));
	if (!no_cgroups_of(D.pid, 5000))
		fprintf(stderr, "sboxd %d left %d cgroups of gone senders\n", (int)D.pid,
			cgroups_of(D.pid));
	assert_int_equal(cgroups_of(D.pid), 0);
	assert_true(raw_ping(D.sock));
	assert_int_equal(sboxd_stop(&D), 0);
}

/* Hostile: a sender that connected as nobody and is root by the time it
 * sends PLACE (a setuid program exec'd by the connector, its socket kept by
 * a child) must not have that process placed: sboxd judged the connection
 * by nobody's credentials. */
static void test_place_after_privilege_change(void **state)
{
	int out[2], st;
	char buf[512] = "";
	ssize_t n;
	pid_t pid;

	(void)state;
	need_root();
	sboxd_prepare(&D);
	sboxd_start(&D, "NetnsPool=0\n[Pool]\nSize=0\n");
	assert_int_equal(pipe(out), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sbox_client *c = sbox_client_new();
		int r;

		close(out[0]);
		/* nobody, with root kept as the saved uid to come back to. */
		if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, 0) < 0 || sbox_client_connect(c, D.sock) < 0)
			_exit(3);
		if (setresuid(0, 0, 0) < 0)
			_exit(4);
		r = sbox_client_place(c, NULL, 0, NULL, NULL, 0);
		dprintf(out[1], "%s\n", r < 0 ? sbox_client_error(c) : "placed");
		sbox_client_free(c);
		_exit(0);
	}
	close(out[1]);
	n = read(out[0], buf, sizeof(buf) - 1);
	close(out[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "its user or group ids are not those it connected with (uid 65534, gid 65534)"));
	assert_true(sboxd_no_jobs(&D, 5000));
	assert_int_equal(cgroups_of(D.pid), 0);
	assert_true(raw_ping(D.sock));
	assert_int_equal(sboxd_stop(&D), 0);
}

/* Inside a launched sandbox (test_place_from_launched_sandbox_refused):
 * PLACE this process through the socket, and say how it went. */
static int place_self(const char *sock)
{
	struct sbox_client *c = sbox_client_new();

	if (sbox_client_connect(c, sock) < 0 || sbox_client_place(c, NULL, 0, NULL, NULL, 0) < 0)
		printf("place_error=%s\n", sbox_client_error(c));
	else
		printf("place=ok\n");
	sbox_client_free(c);
	/* Inside a sandbox LeakSanitizer can't run (no ptrace): skip its
	 * exit-time check. */
	fflush(stdout);
	_exit(0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_check_clean, teardown),
		cmocka_unit_test_teardown(test_direct_workers, teardown),
		cmocka_unit_test_teardown(test_place_after_privilege_change, teardown),
		cmocka_unit_test_teardown(test_direct_gpu, teardown),
		cmocka_unit_test_teardown(test_direct_worker_names_another_cgroup, teardown),
		cmocka_unit_test_teardown(test_sboxd_workers, teardown),
		cmocka_unit_test_teardown(test_sboxd_gpu, teardown),
		cmocka_unit_test_teardown(test_place_again_refused, teardown),
		cmocka_unit_test_teardown(test_place_list_signal, teardown),
		cmocka_unit_test_teardown(test_place_survives_restart, teardown),
		cmocka_unit_test_teardown(test_place_beyond_job_limit, teardown),
		cmocka_unit_test_teardown(test_place_from_launched_sandbox_refused, teardown),
		cmocka_unit_test_teardown(test_place_from_container_refused, teardown),
		cmocka_unit_test_teardown(test_place_sender_gone, teardown),
	};

	if (argc == 3 && !strcmp(argv[1], "--place"))
		return place_self(argv[2]);
	if (getenv("SBOX_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SBOX_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
