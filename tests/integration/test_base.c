/* SPDX-License-Identifier: MIT */
/*
 * The base sandbox, checked from inside with the probe: namespaces, the
 * filesystem view, the clean process state and the exit-code contract.
 * Runs as root and as an unprivileged user (user namespace).
 */
#include "tests/integration/harness.h"

#include <fcntl.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "policy/policy.h"
#include "sandbox/sandbox.h"

static char *report(struct run_result *r, const char *const *extra)
{
	const char *args[64];
	size_t n = 0;

	for (; extra && extra[n]; n++)
		args[n] = extra[n];
	args[n++] = probe_path();
	args[n++] = "report";
	args[n] = NULL;
	run_sboxv(r, NULL, args);
	return r->out;
}

static void test_pid_namespace(void **state)
{
	struct run_result r;

	(void)state;
	report(&r, NULL);
	assert_exit(&r, 0);
	/* pid 1 is sbox's init; the worker is its only child. */
	assert_kv(&r, "pid", "2");
	assert_kv(&r, "ppid", "1");
	assert_kv(&r, "procs", "1 2");
	run_result_free(&r);
}

static void test_namespaces_differ_from_host(void **state)
{
	static const char *const ns[] = { "mnt", "pid", "net", "ipc", "uts", "cgroup" };
	struct run_result r;

	(void)state;
	report(&r, NULL);
	assert_exit(&r, 0);
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		char path[64], key[32], host[64] = "";
		char *inside;
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns[i]);
		n = readlink(path, host, sizeof(host) - 1);
		assert_true(n > 0);
		snprintf(key, sizeof(key), "ns.%s", ns[i]);
		inside = kv_get(r.out, key);
		assert_non_null(inside);
		if (strcmp(inside, host) == 0)
			fail_msg("%s namespace is the host's (%s)", ns[i], host);
		free(inside);
	}
	run_result_free(&r);
}

static void test_filesystem_view(void **state)
{
	struct run_result r;

	(void)state;
	report(&r, NULL);
	assert_exit(&r, 0);
	assert_kv(&r, "root_writable", "0");
	assert_kv(&r, "root_write_errno", "EROFS");
	assert_kv(&r, "tmp_writable", "1");
	/* Exactly the minimal /dev, nothing of the host's. */
	assert_kv(&r, "dev", "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero");
	assert_non_null(strstr(r.out, "\nmount=/proc proc "));
	assert_non_null(strstr(r.out, "\nmount=/dev tmpfs ro,nosuid,noexec"));
	assert_non_null(strstr(r.out, "\nmount=/dev/pts devpts "));
	assert_non_null(strstr(r.out, "\nmount=/dev/shm tmpfs rw,nosuid,nodev"));
	assert_non_null(strstr(r.out, "\nmount=/tmp tmpfs rw,nosuid,nodev"));
	assert_non_null(strstr(r.out, "\nmount=/ "));
	run_result_free(&r);
}

static void test_tmp_is_private(void **state)
{
	struct run_result r;
	char marker[] = "/tmp/sbox-host-marker.XXXXXX";
	int fd = mkstemp(marker);
	char line[128];

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	run_sbox(&r, NULL, probe_path(), "stat", marker, NULL);
	snprintf(line, sizeof(line), "stat=ENOENT");
	assert_exit(&r, 0);
	assert_line(&r, line);
	run_result_free(&r);
	unlink(marker);
}

static void test_binds_and_tmpfs(void **state)
{
	char *dir = make_tempdir();
	char rw[512], ro[512], spec_rw[1100], spec_ro[1100], file[600];
	struct run_result r;

	(void)state;
	snprintf(rw, sizeof(rw), "%s/rw", dir);
	snprintf(ro, sizeof(ro), "%s/ro", dir);
	assert_int_equal(mkdir(rw, 0777), 0);
	assert_int_equal(mkdir(ro, 0777), 0);
	assert_int_equal(chmod(rw, 0777), 0);
	snprintf(file, sizeof(file), "%s/data", ro);
	write_text(file, "x");
	snprintf(spec_rw, sizeof(spec_rw), "%s:/tmp/out", rw);
	snprintf(spec_ro, sizeof(spec_ro), "%s:/tmp/in", ro);

	/* Written through the read-write bind: visible on the host. */
	run_sbox(&r, NULL, "--bind", spec_rw, "--ro-bind", spec_ro, "--tmpfs", "/tmp/scratch",
		 probe_path(), "write", "/tmp/out/result", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "write=ok");
	run_result_free(&r);
	snprintf(file, sizeof(file), "%s/result", rw);
	assert_int_equal(access(file, F_OK), 0);

	run_sbox(&r, NULL, "--ro-bind", spec_ro, probe_path(), "write", "/tmp/in/data", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "write=EROFS");
	run_result_free(&r);

	run_sbox(&r, NULL, "--tmpfs", "/tmp/scratch", probe_path(), "write", "/tmp/scratch/f", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "write=ok");
	run_result_free(&r);

	/* InaccessiblePaths= hides what is there. */
	run_sbox(&r, NULL, "--ro-bind", spec_ro, "--set", "InaccessiblePaths=/tmp/in/data",
		 probe_path(), "open", "/tmp/in/data", "r", NULL);
	assert_exit(&r, 0);
	/* Mode 0, and no worker holds CAP_DAC_OVERRIDE (docs/security.md). */
	assert_line(&r, "open=EACCES");
	run_result_free(&r);
	rm_rf(dir);
	free(dir);
}

static void test_hostname(void **state)
{
	struct run_result r;
	const char *const custom[] = { "--hostname", "worker-7", NULL };

	(void)state;
	report(&r, NULL);
	assert_kv(&r, "hostname", "sbox");
	run_result_free(&r);
	report(&r, custom);
	assert_kv(&r, "hostname", "worker-7");
	run_result_free(&r);
}

/* Clean process state: the launcher starts with odd state on purpose, so a
 * worker that inherits any of it fails the test. */

static void odd_state(void *arg)
{
	sigset_t set;

	(void)arg;
	/* Extra fds without CLOEXEC, at low and high numbers. */
	int a = open("/etc/hostname", O_RDONLY);
	int b = open("/", O_RDONLY | O_DIRECTORY);
	if (a >= 0)
		dup2(a, 7);
	if (b >= 0)
		dup2(b, 200);
	umask(0);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	/* glibc's own real-time signals can't be set through sigaction();
	 * the kernel takes them, and execve() keeps them ignored. */
	struct { void (*h)(int); unsigned long f; void (*r)(void); uint64_t m; } ign = { SIG_IGN, 0, NULL, 0 };
	syscall(SYS_rt_sigaction, 32, &ign, NULL, 8);
	syscall(SYS_rt_sigaction, 33, &ign, NULL, 8);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

static void test_clean_state(void **state)
{
	char *const env[] = { "PATH=/usr/bin:/bin", "SECRET_TOKEN=hunter2", "AWS_SECRET_ACCESS_KEY=x",
			      "LD_PRELOAD=/nonexistent.so", "TERM=xterm-test", "LANG=C.UTF-8", NULL };
	struct run_opts o = { .env = env, .pre_exec = odd_state };
	struct run_result r;

	(void)state;
	run_sbox(&r, &o, probe_path(), "report", NULL);
	assert_exit(&r, 0);
	/* Only 0-2 are open. */
	assert_kv(&r, "fd", "3");
	assert_null(kv_get(r.out, "fd.7"));
	assert_null(kv_get(r.out, "fd.200"));
	/* Default dispositions and an empty mask. */
	assert_kv(&r, "sig_blocked", "0000000000000000");
	assert_kv(&r, "sig_ignored", "0000000000000000");
	assert_kv(&r, "umask", "0022");
	assert_kv(&r, "session_leader", "1");
	/* The minimal environment and nothing else. */
	assert_null(kv_get(r.out, "env.SECRET_TOKEN"));
	assert_null(kv_get(r.out, "env.AWS_SECRET_ACCESS_KEY"));
	assert_null(kv_get(r.out, "env.LD_PRELOAD"));
	assert_null(kv_get(r.out, "env.LANG"));
	assert_kv(&r, "env.TERM", "xterm-test");
	assert_kv(&r, "env.PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	assert_kv(&r, "env_count", "5");   /* PATH HOME USER LOGNAME TERM */
	run_result_free(&r);
}

static void test_environment_directives(void **state)
{
	char *const env[] = { "PATH=/usr/bin:/bin", "LANG=C.UTF-8", "SECRET=s", NULL };
	struct run_opts o = { .env = env };
	struct run_result r;

	(void)state;
	run_sbox(&r, &o, "--env", "GREETING=hello world", "--pass-env", "LANG", "--pass-env",
		 "NOT_SET_ANYWHERE", "--env", "PATH=/bin", probe_path(), "report", NULL);
	/* PATH=/bin still finds the probe: its path is absolute. */
	assert_exit(&r, 0);
	assert_kv(&r, "env.GREETING", "hello world");
	assert_kv(&r, "env.LANG", "C.UTF-8");
	assert_kv(&r, "env.PATH", "/bin");
	assert_null(kv_get(r.out, "env.NOT_SET_ANYWHERE"));
	assert_null(kv_get(r.out, "env.SECRET"));
	run_result_free(&r);
}

static void test_umask_cwd_tty(void **state)
{
	struct run_result r;
	const char *const a[] = { "--umask", "0077", "--chdir", "/usr/share", "--tty", NULL };

	(void)state;
	report(&r, a);
	assert_exit(&r, 0);
	assert_kv(&r, "umask", "0077");
	assert_kv(&r, "cwd", "/usr/share");
	/* --tty keeps the caller's session for an interactive worker. */
	assert_kv(&r, "session_leader", "0");
	run_result_free(&r);

	/* Default: the caller's cwd (the harness runs in the source tree,
	 * which the read-only root shows). */
	char here[4096];
	assert_non_null(getcwd(here, sizeof(here)));
	report(&r, NULL);
	assert_kv(&r, "cwd", here);
	run_result_free(&r);
}

static void test_pass_fd(void **state)
{
	struct run_result r;
	struct run_opts o = { .pre_exec = odd_state };

	(void)state;
	run_sbox(&r, &o, "--pass-fd", "7", probe_path(), "report", NULL);
	assert_exit(&r, 0);
	assert_kv(&r, "fd", "4");
	assert_kv(&r, "fd.7", "/etc/hostname");
	assert_null(kv_get(r.out, "fd.200"));
	run_result_free(&r);
	/* Under a low fd limit (1024 is the usual soft one) the passed fd
	 * still arrives: nothing of the set-up needs an fd number past it. */
	run_sbox(&r, &o, "--set", "LimitNOFILE=256:256", "--pass-fd", "7", probe_path(),
		 "report", NULL);
	assert_exit(&r, 0);
	assert_kv(&r, "fd.7", "/etc/hostname");
	run_result_free(&r);
}

/* The exit-code contract (125, 126, 127, the worker's own), which scripts
 * and sboxd's clients rely on. */

static void test_exit_codes(void **state)
{
	struct run_result r;

	(void)state;
	run_sbox(&r, NULL, probe_path(), "exit", "42", NULL);
	assert_exit(&r, 42);
	run_result_free(&r);
	run_sbox(&r, NULL, probe_path(), "kill", "TERM", NULL);
	assert_exit(&r, 128 + SIGTERM);
	run_result_free(&r);
	run_sbox(&r, NULL, probe_path(), "kill", "SEGV", NULL);
	assert_exit(&r, 128 + SIGSEGV);
	run_result_free(&r);
	run_sbox(&r, NULL, "/nonexistent/command", NULL);
	assert_exit(&r, 127);
	assert_err_contains(&r, "/nonexistent/command: command not found");
	run_result_free(&r);
	run_sbox(&r, NULL, "no-such-command-anywhere", NULL);
	assert_exit(&r, 127);
	run_result_free(&r);
	run_sbox(&r, NULL, "/etc/passwd", NULL);
	assert_exit(&r, 126);
	assert_err_contains(&r, "/etc/passwd: cannot execute: Permission denied");
	run_result_free(&r);
	run_sbox(&r, NULL, "--chdir", "/no/such/dir", probe_path(), "exit", "0", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "WorkingDirectory=/no/such/dir: No such file or directory");
	run_result_free(&r);
	run_sbox(&r, NULL, "--set", "Hostnam=x", "true", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "did you mean 'Hostname'?");
	run_result_free(&r);
	run_sbox(&r, NULL, NULL);
	assert_exit(&r, 125);
	run_result_free(&r);
}

/* A worker whose set-up fails never runs a step of the caller's: the
 * command would leave a file in a bound host directory, and after a
 * failing working directory (W2) or rlimit (W1b) it is not there; an exec
 * failure is still reported with its message.  The same command with
 * nothing failing leaves it (so the test can see a run).  The worker
 * starts in init's memory (C7a): a failure travels on its report channel
 * from its own stack. */
/* Run `sh -c 'echo ran > /tmp/out/NAME'` with dir bound at /tmp/out and
 * the extra flags; expect code and the message (NULL: none); then whether
 * the command left its file. */
static bool ran_in(const char *dir, const char *flag, const char *value, const char *name,
		   int code, const char *msg)
{
	char bind[600], cmd[128], path[700];
	struct run_result r;
	struct stat st;

	snprintf(bind, sizeof(bind), "%s:/tmp/out", dir);
	snprintf(cmd, sizeof(cmd), "echo ran > /tmp/out/%s", name);
	run_sbox(&r, NULL, "--bind", bind, flag, value, "/bin/sh", "-c", cmd, NULL);
	assert_exit(&r, code);
	if (msg)
		assert_err_contains(&r, msg);
	run_result_free(&r);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

static void test_failed_setup_never_runs_worker(void **state)
{
	char *dir = make_tempdir();
	char bind[600], path[700];
	struct run_result r;
	struct stat st;

	(void)state;
	assert_int_equal(chmod(dir, 0777), 0);
	assert_false(ran_in(dir, "--chdir", "/no/such/dir", "chdir", 125,
			    "WorkingDirectory=/no/such/dir: No such file or directory"));
	/* Past fs.nr_open: refused for root too. */
	assert_false(ran_in(dir, "--set", "LimitNOFILE=1073741824", "rlimit", 125, "LimitNOFILE"));
	/* Nothing failing: the file is there. */
	assert_true(ran_in(dir, "--hostname", "ok", "control", 0, NULL));
	snprintf(bind, sizeof(bind), "%s:/tmp/out", dir);
	snprintf(path, sizeof(path), "%s/notexec", dir);
	write_text(path, "#!/bin/sh\necho ran > /tmp/out/exec\n");
	assert_int_equal(chmod(path, 0644), 0);
	run_sbox(&r, NULL, "--bind", bind, "/tmp/out/notexec", NULL);
	assert_exit(&r, 126);
	assert_err_contains(&r, "/tmp/out/notexec: cannot execute: Permission denied");
	run_result_free(&r);
	snprintf(path, sizeof(path), "%s/exec", dir);
	assert_int_equal(stat(path, &st), -1);
	rm_rf(dir);
	free(dir);
}

static void test_policy_file_errors_and_check(void **state)
{
	char *dir = make_tempdir();
	char path[600], line[700];
	struct run_result r;

	(void)state;
	snprintf(path, sizeof(path), "%s/job.policy", dir);
	write_text(path, "[Sandbox]\nHostname=ok\n\nMemroyMaxx=1G\n");
	run_sbox(&r, NULL, "-p", path, "true", NULL);
	assert_exit(&r, 125);
	snprintf(line, sizeof(line), "%s:4: unknown directive 'MemroyMaxx'", path);
	assert_err_contains(&r, line);
	run_result_free(&r);

	write_text(path, "[Sandbox]\nHostname=from-file\nUMask=0027\n");
	run_sbox(&r, NULL, "-p", path, "--set", "Environment=A=1", "--check", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "[Sandbox]");
	assert_line(&r, "Hostname=from-file");
	assert_line(&r, "UMask=0027");
	assert_line(&r, "Environment=A=1");
	/* --check runs nothing, and its output is itself a valid policy. */
	write_text(path, r.out);
	run_result_free(&r);
	run_sbox(&r, NULL, "-p", path, probe_path(), "report", NULL);
	assert_exit(&r, 0);
	assert_kv(&r, "hostname", "from-file");
	assert_kv(&r, "umask", "0027");
	assert_kv(&r, "env.A", "1");
	run_result_free(&r);

	run_sbox(&r, NULL, "-p", "/nonexistent.policy", "true", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "/nonexistent.policy: cannot open policy file: No such file or directory");
	run_result_free(&r);
	rm_rf(dir);
	free(dir);
}

/* A failed step aborts before the worker runs. */
static void test_no_half_built_sandbox(void **state)
{
	char *dir = make_tempdir();
	char spec[600], marker[600];
	struct run_result r;

	(void)state;
	assert_int_equal(chmod(dir, 0777), 0);
	snprintf(spec, sizeof(spec), "%s:/tmp/out", dir);
	run_sbox(&r, NULL, "--bind", spec, "--bind", "/no/such/source:/tmp/x", probe_path(),
		 "write", "/tmp/out/ran", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "/no/such/source");
	run_result_free(&r);
	snprintf(marker, sizeof(marker), "%s/ran", dir);
	assert_int_equal(access(marker, F_OK), -1);

	/* A destination that can't exist on the read-only root. */
	run_sbox(&r, NULL, "--bind", spec, "--ro-bind", "/etc:/nonexistent-dir/etc", probe_path(),
		 "write", "/tmp/out/ran", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "/nonexistent-dir");
	run_result_free(&r);
	assert_int_equal(access(marker, F_OK), -1);
	rm_rf(dir);
	free(dir);
}

/* Signals reach the worker, and the launcher's death ends the sandbox. */

static void send_term(int pid, void *arg)
{
	(void)arg;
	kill(pid, SIGTERM);
}

static void send_signal(int pid, void *arg)
{
	kill(pid, (int)(long)arg);
}

static void test_signal_forwarding(void **state)
{
	static const struct { const char *name; int sig; } sigs[] = {
		{ "SIGTERM", SIGTERM }, { "SIGINT", SIGINT }, { "SIGHUP", SIGHUP }, { "SIGQUIT", SIGQUIT },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct run_result r;
		struct run_opts o2 = { .when_output = "ready", .while_running = send_signal,
				       .arg = (void *)(long)sigs[i].sig };
		char want[32];

		run_sbox(&r, &o2, probe_path(), "wait-signal", NULL);
		assert_exit(&r, 0);
		snprintf(want, sizeof(want), "got=%s", sigs[i].name);
		assert_line(&r, want);
		run_result_free(&r);
	}
}

static void test_worker_dies_of_forwarded_signal(void **state)
{
	struct run_result r;
	struct run_opts o = { .when_output = "ready", .while_running = send_term };

	(void)state;
	/* sleep-print installs no handler: SIGTERM must still kill it, which
	 * it would not if the worker were the namespace's pid 1. */
	run_sbox(&r, &o, probe_path(), "sleep-print", "60", NULL);
	assert_exit(&r, 128 + SIGTERM);
	run_result_free(&r);
}

static bool token_alive(const char *token)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool found = false;

	assert_non_null(d);
	while (!found && (e = readdir(d))) {
		char path[300], buf[8192];
		int fd;
		ssize_t n;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/environ", e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1) {
			buf[n] = '\0';
			if (strcmp(buf + i, token) == 0)
				found = true;
		}
	}
	closedir(d);
	return found;
}

static void kill_launcher(int pid, void *arg)
{
	(void)arg;
	kill(pid, SIGKILL);
}

/* --check reads syntax and values only: a policy naming a GPU this
 * machine lacks and bind sources that don't exist passes it.  --check=host
 * resolves the policy here, and says "no" exactly when the launch would
 * fail, naming what fails. */
static void check_host_agrees(const char *const *args, const char *why)
{
	const char *argv[32];
	struct run_result c, l;
	size_t n = 0;

	for (; args[n]; n++)
		argv[n] = args[n];
	argv[n] = "--check=host";
	argv[n + 1] = NULL;
	run_sboxv(&c, NULL, argv);
	argv[n] = probe_path();
	argv[n + 1] = "exit";
	argv[n + 2] = "0";
	argv[n + 3] = NULL;
	run_sboxv(&l, NULL, argv);
	if ((c.code == 0) != (l.code == 0) || (why && !strstr(c.err, why))) {
		fprintf(stderr, "%s: --check=host exited %d, the launch %d\n", args[0], c.code, l.code);
		dump_result(&c);
		dump_result(&l);
	}
	assert_int_equal(c.code == 0, l.code == 0);
	if (c.code != 0)
		assert_int_equal(c.code, 125);
	if (why)
		assert_non_null(strstr(c.err, why));
	run_result_free(&c);
	run_result_free(&l);
}

static void test_check_and_check_host(void **state)
{
	char *dir = make_tempdir();
	char path[600], text[2048], ro[700], rw[700];
	struct run_result r;

	(void)state;
	/* README.md's example policy, on a machine without its GPU and paths. */
	snprintf(path, sizeof(path), "%s/job.policy", dir);
	write_text(path, "[Sandbox]\nHostname=trainer\nGPUs=0\nMemoryMax=16G\nTasksMax=512\n"
		   "BindReadOnlyPaths=/nonexistent/datasets:/data\n"
		   "BindPaths=/nonexistent/runs/42:/out\nWorkingDirectory=/out\n");
	run_sbox(&r, NULL, "-p", path, "--check", NULL);
	assert_exit(&r, 0);
	run_result_free(&r);
	check_host_agrees((const char *const[]){ "-p", path, NULL },
			  "--check=host: BindReadOnlyPaths=: bind source '/nonexistent/datasets': No such file or directory");
	/* The same with sources that exist. */
	snprintf(ro, sizeof(ro), "%s:/data", dir);
	snprintf(rw, sizeof(rw), "%s:/out", dir);
	check_host_agrees((const char *const[]){ "--ro-bind", ro, "--bind", rw, "--chdir", "/out", NULL },
			  NULL);
	check_host_agrees((const char *const[]){ "--set", "BindReadOnlyPaths=-/nonexistent:/x", NULL },
			  NULL);
	check_host_agrees((const char *const[]){ "--set", "User=sbox-no-such-user", NULL }, "User=");
	/* A GPU, and cgroup limits: whatever this host (and this caller) can
	 * do, --check=host says the same as the launch. */
	check_host_agrees((const char *const[]){ "--set", "GPUs=63", NULL }, "GPUs=63");
	check_host_agrees((const char *const[]){ "--memory", "64M", "--pids", "64", NULL }, NULL);
	snprintf(text, sizeof(text), "%s", "--check=bogus");
	run_sbox(&r, NULL, text, NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "--check=bogus: expected --check or --check=host");
	run_result_free(&r);
	rm_rf(dir);
	free(dir);
}

static void test_launcher_death_kills_sandbox(void **state)
{
	struct run_result r;
	struct run_opts o = { .when_output = "ready", .while_running = kill_launcher };
	char token[64], env[80];

	(void)state;
	snprintf(token, sizeof(token), "SBOX_TEST_TOKEN=%d-%ld", getpid(), (long)time(NULL));
	snprintf(env, sizeof(env), "%s", token);
	run_sbox(&r, &o, "--env", env, probe_path(), "sleep-print", "300", NULL);
	assert_exit(&r, 128 + SIGKILL);
	run_result_free(&r);
	/* The worker must be gone (allow the kernel a moment to tear down). */
	for (int i = 0; i < 50 && token_alive(token); i++)
		usleep(100 * 1000);
	assert_false(token_alive(token));
}

/* `/bin/echo ran` to out_fd through the library, as sboxd launches:
 * survive_launcher (a keeper may hold the channel).  cgroup_guard: for a
 * launcher that dies without cleaning up. */
static struct sbox_child *spawn_surviving(int out_fd, bool cgroup_guard)
{
	static char *argv[] = { "/bin/echo", "ran", NULL };
	struct sbox_policy policy;
	struct sbox_err err = { 0 };
	struct sbox_child *child;
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

	assert_true(devnull >= 0);
	sbox_policy_init(&policy);
	struct sbox_launch launch = {
		.argv = argv, .stdio = { devnull, out_fd, 2 }, .caller_cwd = "/",
		.caller_uid = getuid(), .caller_gid = getgid(),
		.survive_launcher = true, .cgroup_guard = cgroup_guard,
	};
	if (sbox_spawn(&policy, &launch, &child, &err) < 0)
		fail_msg("sbox_spawn: %s", err.msg);
	close(devnull);
	sbox_policy_free(&policy);
	return child;
}

/* What arrives on fd within ms milliseconds, until EOF or quiet. */
static size_t read_for(int fd, char *buf, size_t len, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t n = 0;
	ssize_t k;

	while (n + 1 < len && poll(&pfd, 1, ms) == 1 && (k = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = '\0';
	return n;
}

/* S1d: a sandbox that may outlive its launcher (sboxd with a keeper)
 * starts its worker only when the launcher says so, after it has
 * recorded the sandbox where a successor finds it.  Before, the worker ran
 * at once, so sboxd killed between the launch and its record left a
 * worker that ran and that no successor knew of: a retried launch ran it
 * a second time. */
static void test_worker_waits_for_run(void **state)
{
	struct sbox_err err = { 0 };
	struct sbox_child *child;
	struct sbox_event ev;
	char out[64];
	int pipefd[2], status = -1, st;

	(void)state;
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	child = spawn_surviving(pipefd[1], false);
	close(pipefd[1]);
	assert_int_equal(read_for(pipefd[0], out, sizeof(out), 300), 0);
	assert_int_equal(sbox_child_run(child, &err), 0);
	while (sbox_child_read_event(child, &ev, &err) > 0)
		if (ev.kind == SBOX_EV_EXITED)
			status = ev.status;
		else if (ev.kind != SBOX_EV_STARTED && ev.kind != SBOX_EV_EMPTIED)
			fail_msg("sandbox: %s", ev.msg);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	read_for(pipefd[0], out, sizeof(out), 5000);
	assert_string_equal(out, "ran\n");
	assert_int_equal(sbox_child_reap(child, &st, &err), 0);
	sbox_child_free(child);
	close(pipefd[0]);
}

/* The launcher SIGKILLed after the launch and before S1d: the sandbox's
 * init sees its channel close and exits, and its worker never ran.
 * Before, the worker ran in the 300 ms the launcher waits. */
static void test_launcher_death_before_run_runs_nothing(void **state)
{
	char out[64];
	int pipefd[2], st;
	pid_t launcher;

	(void)state;
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	launcher = fork();
	assert_true(launcher >= 0);
	if (launcher == 0) {
		spawn_surviving(pipefd[1], true);
		usleep(300 * 1000);     /* time enough for a worker to run */
		raise(SIGKILL);
	}
	close(pipefd[1]);
	assert_int_equal(waitpid(launcher, &st, 0), launcher);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	/* EOF once init is gone (it held the worker's stdout): nothing. */
	assert_int_equal(read_for(pipefd[0], out, sizeof(out), 10000), 0);
	{
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };

		assert_int_equal(poll(&pfd, 1, 0), 1);
		assert_true(pfd.revents & POLLHUP);
	}
	close(pipefd[0]);
}

/* A bind may land under the sandbox's private tmpfs mounts (/dev, /run,
 * /tmp): the mount point is made there.  /dev stays read-only for the
 * worker once the binds are in place. */
static void test_bind_under_private_tmpfs(void **state)
{
	char *dir = make_tempdir();
	char file[600], spec_dev[700], spec_run[700], spec_tmp[700];
	struct run_result r;

	(void)state;
	snprintf(file, sizeof(file), "%s/data", dir);
	write_text(file, "hello\n");
	snprintf(spec_dev, sizeof(spec_dev), "%s:/dev/sbox-extra", file);
	snprintf(spec_run, sizeof(spec_run), "%s:/run/sbox-extra/data", file);
	snprintf(spec_tmp, sizeof(spec_tmp), "%s:/tmp/sbox-extra/data", file);
	run_sbox(&r, NULL, "--ro-bind", spec_dev, "--ro-bind", spec_run, "--ro-bind", spec_tmp,
		 "--", "/bin/sh", "-c",
		 "cat /dev/sbox-extra /run/sbox-extra/data /tmp/sbox-extra/data; "
		 "( : > /dev/planted ) 2>/dev/null && echo planted=yes || echo planted=no", NULL);
	assert_exit(&r, 0);
	assert_int_equal(count_prefix(r.out, "hello"), 3);
	assert_line(&r, "planted=no");
	run_result_free(&r);
	rm_rf(dir);
	free(dir);
}

/* The tmpfs sbox makes are bounded (not the kernel's half of the RAM
 * each), and a TemporaryFileSystem= can't ask for "unlimited" (size=0). */
static void test_tmpfs_bounded(void **state)
{
	static const char *const points[] = { "\nmount=/tmp ", "\nmount=/dev/shm ",
					      "\nmount=/tmp/s " };
	struct run_result r;

	(void)state;
	run_sbox(&r, NULL, "--tmpfs", "/tmp/s", "--", probe_path(), "report", NULL);
	assert_exit(&r, 0);
	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		/* The last mount on a point is the one the worker sees: a host
		 * whose own /tmp is a tmpfs lists that one, covered, first. */
		const char *l = NULL;
		const char *eol;
		const char *size;

		for (const char *m = strstr(r.out, points[i]); m; m = strstr(m + 1, points[i]))
			l = m;
		eol = l ? strchr(l + 1, '\n') : NULL;
		size = l ? strstr(l, "size=") : NULL;
		if (!l || !size || (eol && size > eol))
			dump_result(&r);
		assert_non_null(l);
		assert_non_null(size);
		assert_true(!eol || size < eol);
	}
	run_result_free(&r);
	run_sbox(&r, NULL, "--tmpfs", "/tmp/s:size=0", "--", probe_path(), "exit", "0", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "'size=0' means unlimited");
	run_result_free(&r);
}

/* --tty under a real terminal (script(1) gives the launcher a pty): the
 * worker's terminal is real inside too.  The caller's pty node isn't in
 * the private devpts, so it is bound in as /dev/console, as
 * systemd-nspawn and LXC give a container its console: `tty` names it,
 * and /dev/tty (the controlling terminal) opens. */
static void test_tty_is_real_inside(void **state)
{
	char cmd[2048], out[4096];
	size_t n;
	FILE *f;

	(void)state;
	if (access("/usr/bin/script", X_OK) != 0)
		skip_because("needs script(1) for a pty");
	snprintf(cmd, sizeof(cmd),
		 "script -qec '%s --tty -- /bin/sh -c \"tty; test -t 0 && echo t0=yes; "
		 "(: < /dev/tty) 2>/dev/null && echo devtty=yes\"' /dev/null </dev/null 2>&1",
		 sboxrun_path());
	f = popen(cmd, "r");
	assert_non_null(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	pclose(f);
	if (!strstr(out, "/dev/console") || strstr(out, "not a tty"))
		fprintf(stderr, "script output:\n%s\n", out);
	assert_null(strstr(out, "not a tty"));
	assert_non_null(strstr(out, "/dev/console"));
	assert_non_null(strstr(out, "t0=yes"));
	assert_non_null(strstr(out, "devtty=yes"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pid_namespace),
		cmocka_unit_test(test_namespaces_differ_from_host),
		cmocka_unit_test(test_filesystem_view),
		cmocka_unit_test(test_tmp_is_private),
		cmocka_unit_test(test_binds_and_tmpfs),
		cmocka_unit_test(test_hostname),
		cmocka_unit_test(test_clean_state),
		cmocka_unit_test(test_environment_directives),
		cmocka_unit_test(test_umask_cwd_tty),
		cmocka_unit_test(test_pass_fd),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_failed_setup_never_runs_worker),
		cmocka_unit_test(test_policy_file_errors_and_check),
		cmocka_unit_test(test_no_half_built_sandbox),
		cmocka_unit_test(test_signal_forwarding),
		cmocka_unit_test(test_worker_dies_of_forwarded_signal),
		cmocka_unit_test(test_launcher_death_kills_sandbox),
		cmocka_unit_test(test_worker_waits_for_run),
		cmocka_unit_test(test_launcher_death_before_run_runs_nothing),
		cmocka_unit_test(test_check_and_check_host),
		cmocka_unit_test(test_bind_under_private_tmpfs),
		cmocka_unit_test(test_tmpfs_bounded),
		cmocka_unit_test(test_tty_is_real_inside),
	};

	return cmocka_run_group_tests_name(running_as_root() ? "base (root)" : "base (unprivileged)",
					   tests, NULL, NULL);
}
