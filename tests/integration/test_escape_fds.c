/* SPDX-License-Identifier: MIT */
/*
 * The launcher's fds and path-based inputs (CVE-2024-21626 class): a
 * working directory or a mount path that names /proc/self/fd/N, or reaches
 * a host directory through any other magic link, must never put the worker
 * outside its root.  The escape this guards against: the worker still held
 * the launcher's host directory fds (cgroup directories, netns fds; in
 * sboxd other users' sandboxes' too) when it entered its working directory,
 * so `--chdir /proc/self/fd/N` left it in a host directory, and `../..`
 * from there reached the host's /.
 *
 * Every fd number the launcher could hold is scanned, direct (as root and,
 * in the unprivileged pass, in a user namespace) and through sboxd as
 * nobody.  Escape is detected by reading a marker in the host's /tmp, which
 * the sandbox's private /tmp hides: only a worker outside its root sees it.
 */
#include "tests/integration/daemon_harness.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Above the launcher's highest fd: what a launch itself opens (sync and
 * report channels, received fds, signalfd).  Every number up to there is
 * scanned in the plain form; the other forms up to the launcher's highest
 * fd (a launch takes a second or so under ASan). */
#define SCAN_MARGIN 8

struct marker {
	char dir[64];
	char rel[2048];         /* the marker from any cwd, by ".." only */
};

static void marker_make(struct marker *mk)
{
	char path[128];

	snprintf(mk->dir, sizeof(mk->dir), "/tmp/sbox-fdesc.XXXXXX");
	assert_non_null(mkdtemp(mk->dir));
	assert_int_equal(chmod(mk->dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/marker", mk->dir);
	write_text(path, "escaped\n");
	assert_int_equal(chmod(path, 0644), 0);
	mk->rel[0] = '\0';
	/* Deeper than any host directory the launcher could hold. */
	for (int i = 0; i < 48; i++)
		strcat(mk->rel, "../");
	strcat(mk->rel, mk->dir + 1);
	strcat(mk->rel, "/marker");
}

static void marker_remove(struct marker *mk)
{
	rm_rf(mk->dir);
}

static int max_fd_of(int pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int max = -1;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && atoi(e->d_name) > max)
			max = atoi(e->d_name);
	closedir(d);
	return max;
}

static void note_launcher_fds(int pid, void *arg)
{
	*(int *)arg = max_fd_of(pid);
}

/* The highest fd the direct launcher (sboxrun) holds while its sandbox runs. */
static int direct_launcher_max_fd(void)
{
	struct run_result r;
	int max = -1;
	struct run_opts o = { .while_running = note_launcher_fds, .arg = &max,
			      .when_output = "ready" };

	run_sbox(&r, &o, "--", "/bin/sh", "-c", "echo ready; sleep 1", NULL);
	run_result_free(&r);
	assert_true(max >= 2);
	return max;
}

static int scan_top(size_t form, int launcher_max)
{
	return form == 0 ? launcher_max + SCAN_MARGIN : launcher_max;
}

/* The ways to name a launcher's fd as a working directory: before N, after. */
static const char *const wd_forms[][2] = {
	{ "/proc/self/fd/", "" },
	{ "/proc/thread-self/fd/", "/." },
	{ "/proc/self/fd/", "/../.." },
	{ "/proc/1/fd/", "" },
	{ "/proc/self/root/proc/self/fd/", "" },
};

static void wd_form(char *buf, size_t len, size_t form, int n)
{
	snprintf(buf, len, "%s%d%s", wd_forms[form][0], n, wd_forms[form][1]);
}

static void escaped_at(const char *wd, const char *out)
{
	fprintf(stderr, "ESCAPE: --chdir %s reached the host's /tmp:\n%s\n", wd, out);
}

static void test_chdir_fd_scan_direct(void **state)
{
	struct marker mk;
	int max, escapes = 0;

	(void)state;
	marker_make(&mk);
	max = direct_launcher_max_fd();
	for (size_t f = 0; f < sizeof(wd_forms) / sizeof(wd_forms[0]); f++) {
		for (int n = 3; n <= scan_top(f, max); n++) {
			struct run_result r;
			char wd[128];

			wd_form(wd, sizeof(wd), f, n);
			run_sbox(&r, NULL, "--chdir", wd, "--", probe_path(), "open", mk.rel, "r",
				 NULL);
			if (has_line(r.out, "open=ok")) {
				escaped_at(wd, r.out);
				escapes++;
			}
			run_result_free(&r);
		}
	}
	marker_remove(&mk);
	assert_int_equal(escapes, 0);
}

/* What a magic link in WorkingDirectory= gets: a clear error, and plain
 * directories and symlinks inside the root still work. */
static void test_chdir_magic_link_refused(void **state)
{
	struct marker mk;
	struct run_result r;

	(void)state;
	marker_make(&mk);
	/* A relative WorkingDirectory= is refused outright. */
	run_sbox(&r, NULL, "--chdir", "proc/self/fd/5", "--", probe_path(), "exit", "0", NULL);
	assert_int_not_equal(r.code, 0);
	run_result_free(&r);
	/* Magic links are never followed on the way in: the launch fails
	 * with a message naming the directory, the worker never runs. */
	run_sbox(&r, NULL, "--chdir", "/proc/self/fd/1", "--", probe_path(), "exit", "0", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "WorkingDirectory=/proc/self/fd/1");
	run_result_free(&r);
	/* A plain directory inside still works, symlinks within the root
	 * too (/proc/self is one). */
	run_sbox(&r, NULL, "--chdir", "/proc/self", "--", probe_path(), "report", NULL);
	assert_exit(&r, 0);
	run_result_free(&r);
	marker_remove(&mk);
}

/* Mount paths resolved in the worker's root can't go through magic links
 * either: a TemporaryFileSystem= or bind destination /proc/self/fd/N fails
 * the launch rather than mounting over the launcher's directory. */
static void test_mount_destinations_no_magic_links(void **state)
{
	int top;

	(void)state;
	top = direct_launcher_max_fd();
	for (int n = 3; n <= top; n++) {
		struct run_result r;
		char dst[64], bind[128];

		snprintf(dst, sizeof(dst), "/proc/self/fd/%d", n);
		run_sbox(&r, NULL, "--tmpfs", dst, "--", probe_path(), "exit", "0", NULL);
		assert_exit(&r, 125);
		run_result_free(&r);
		snprintf(bind, sizeof(bind), "/usr:/proc/self/fd/%d/x", n);
		run_sbox(&r, NULL, "--ro-bind", bind, "--", probe_path(), "exit", "0", NULL);
		assert_exit(&r, 125);
		run_result_free(&r);
	}
}

static struct sboxd D;

static int teardown_daemon(void **state)
{
	(void)state;
	sboxd_cleanup(&D);
	return 0;
}

/* Through sboxd as nobody: sboxd's own fds (its listening socket, keeper
 * channel, other clients' connections and sandboxes' cgroups) are what a
 * worker would find.  Another sandbox runs meanwhile, so that its cgroup
 * and channels are among them. */
static void test_chdir_fd_scan_daemon(void **state)
{
	struct marker mk;
	char bg_out[512];
	pid_t bg;
	int max, escapes = 0;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, NULL);
	marker_make(&mk);
	snprintf(bg_out, sizeof(bg_out), "%s/bg", D.dir);
	{
		const char *argv[] = { D.sboxrun, "--socket", D.sock, "--", D.probe, "sleep", "120",
				       NULL };

		bg = cmd_start(0, argv, bg_out);
		assert_true(bg > 0);
	}
	usleep(500 * 1000);
	max = max_fd_of(D.pid);
	assert_true(max > 2);
	/* The plain and the thread-self forms: the others walk the same
	 * resolution as the direct test showed. */
	for (size_t f = 0; f < 2; f++) {
		for (int n = 3; n <= scan_top(f, max); n++) {
			struct cmd r;
			char wd[128];

			wd_form(wd, sizeof(wd), f, n);
			cmd_runl(&r, NOBODY, 30, D.sboxrun, "--socket", D.sock, "--chdir", wd, "--",
				 D.probe, "open", mk.rel, "r", NULL);
			if (r.out && has_line(r.out, "open=ok")) {
				escaped_at(wd, r.out);
				escapes++;
			}
			cmd_free(&r);
		}
	}
	kill(bg, SIGKILL);
	marker_remove(&mk);
	assert_int_equal(escapes, 0);
}

static bool read_text(const char *path, char *buf, size_t len, bool nul_to_space)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (size_t i = 0; nul_to_space && i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return true;
}

/* A sandbox's init is named for what it is: `pkill -f sboxd` (a pattern
 * on the command line) must not reach every sandbox.  Found by its name
 * (comm "sbox-init"), its command line must not hold the daemon's. */
static void test_sandbox_init_not_named_sboxd(void **state)
{
	char bg_out[512];
	pid_t bg;
	int inits = 0, named_sboxd = 0;
	DIR *d;
	struct dirent *e;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, NULL);
	snprintf(bg_out, sizeof(bg_out), "%s/bg", D.dir);
	{
		const char *argv[] = { D.sboxrun, "--socket", D.sock, "--", D.probe, "sleep-print",
				       "60", NULL };

		bg = cmd_start(NOBODY, argv, bg_out);
		assert_true(bg > 0);
	}
	for (int tries = 0; tries < 100 && inits == 0; tries++) {
		usleep(100 * 1000);
		named_sboxd = 0;
		d = opendir("/proc");
		assert_non_null(d);
		while ((e = readdir(d))) {
			char path[300], comm[64], cmdline[4096];

			if (e->d_name[0] < '1' || e->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
			if (!read_text(path, comm, sizeof(comm), false) || strcmp(comm, "sbox-init"))
				continue;
			snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
			if (!read_text(path, cmdline, sizeof(cmdline), true))
				continue;
			/* Only this test's sandbox: its paths are under D.dir
			 * (the daemon's socket before, the worker's after). */
			if (!strstr(cmdline, D.dir))
				continue;
			inits++;
			if (strstr(cmdline, "sboxd")) {
				fprintf(stderr, "sandbox init %s: cmdline '%s'\n", e->d_name, cmdline);
				named_sboxd++;
			}
		}
		closedir(d);
	}
	kill(bg, SIGKILL);
	assert_true(inits > 0);
	assert_int_equal(named_sboxd, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chdir_fd_scan_direct),
		cmocka_unit_test(test_chdir_magic_link_refused),
		cmocka_unit_test(test_mount_destinations_no_magic_links),
		cmocka_unit_test_teardown(test_chdir_fd_scan_daemon, teardown_daemon),
		cmocka_unit_test_teardown(test_sandbox_init_not_named_sboxd, teardown_daemon),
	};

	/* SBOX_TEST_FILTER=NAME runs one test (the scans take minutes). */
	if (getenv("SBOX_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SBOX_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
