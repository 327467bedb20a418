/* SPDX-License-Identifier: MIT */
/*
 * sboxd as its users see it: a daemon the test starts (root, socket under
 * /var/tmp, root-owned site configuration), clients as root and as nobody.
 * Launch and identity (the worker runs as the client's uid, from
 * SO_PEERCRED), the same exit codes and messages as a direct launch, users
 * and bounds refused with the bound's name, GPU leases on a fake GPU tree,
 * client death, detach/attach, binds from the client's own fds, the
 * example node agent, and a SIGKILL of sboxd with jobs running, then a
 * restart that recovers them with their leases.
 * (test_daemon_abuse.c: malformed messages, floods, fd abuse.)
 */
#include "tests/integration/daemon_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FIXTURE "tests/fixtures/fake-gpus.sh"
#define UUID1 "GPU-0a1b9999-0000-4000-8000-000000000001"
#define UUID2 "GPU-5e6f7a8b-0000-4000-8000-000000000002"

static struct sboxd D;

static int teardown(void **state)
{
	(void)state;
	sboxd_cleanup(&D);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* sboxrun through our sboxd, as uid. */
#define RUN(r, uid, ...) cmd_runl(r, uid, 30, D.sboxrun, "--socket", D.sock, __VA_ARGS__, NULL)
#define DIRECT(r, uid, ...) cmd_runl(r, uid, 30, D.sboxrun, "--direct", __VA_ARGS__, NULL)

static char *kv(const struct cmd *r, const char *key)
{
	char *v = kv_get(r->out, key);

	if (!v)
		cmd_dump(r);
	assert_non_null(v);
	return v;
}

static void assert_cmd_kv(const struct cmd *r, const char *key, const char *want)
{
	char *v = kv(r, key);

	if (strcmp(v, want) != 0)
		cmd_dump(r);
	assert_string_equal(v, want);
	free(v);
}

/* The fake GPU machine and a [GPUs] section pointing at it. */
static void fake_gpus(char *conf, size_t len)
{
	char cmd[1024];

	if (access(FIXTURE, R_OK) < 0)
		skip_because("tests/fixtures/fake-gpus.sh not found: run from the repository's root");
	snprintf(cmd, sizeof(cmd), "sh %s %s/fake", FIXTURE, D.dir);
	assert_int_equal(system(cmd), 0);
	snprintf(conf, len, "[GPUs]\nProcRoot=%s/fake/proc\nSysRoot=%s/fake/sys\nDevRoot=%s/fake/dev\n",
		 D.dir, D.dir, D.dir);
}

/* The id of the job a --detach printed. */
static char *job_id(const struct cmd *r)
{
	char *id = strndup(r->out, strcspn(r->out, "\n"));

	if (!id[0] || strspn(id, "0123456789") != strlen(id))
		cmd_dump(r);
	assert_true(id[0] && strspn(id, "0123456789") == strlen(id));
	return id;
}

/* Poll --jobs until it holds n jobs (as root: everyone's). */
static char *wait_jobs(int n, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		struct cmd r;
		int lines = 0;

		RUN(&r, 0, "--jobs");
		for (const char *p = r.out; (p = strchr(p, '\n')); p++)
			lines++;
		if (lines - 1 == n) {
			free(r.err);
			return r.out;
		}
		cmd_free(&r);
		assert_true(now_ms() < deadline);
		usleep(50 * 1000);
	}
}

static void test_launch_as_root_and_nobody(void **state)
{
	struct cmd d, r;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, NULL);
	/* The worker's identity comes from SO_PEERCRED: as it would be
	 * launched directly by the same user. */
	for (int i = 0; i < 2; i++) {
		uid_t uid = i ? NOBODY : 0;

		RUN(&r, uid, D.probe, "report");
		DIRECT(&d, uid, D.probe, "report");
		assert_cmd(&r, 0);
		assert_cmd(&d, 0);
		for (const char *k = "uid\0euid\0gid\0cap_eff\0cap_prm\0no_new_privs\0hostname\0"
				     "env.USER\0env.HOME\0cwd\0umask\0pid\0";
		     *k; k += strlen(k) + 1) {
			char *want = kv(&d, k);

			assert_cmd_kv(&r, k, want);
			free(want);
		}
		cmd_free(&r);
		cmd_free(&d);
	}
	RUN(&r, NOBODY, D.probe, "report");
	assert_cmd_kv(&r, "uid", "65534");
	assert_cmd_kv(&r, "gid", "65534");
	assert_cmd_kv(&r, "cap_eff", "0000000000000000");
	cmd_free(&r);
	/* Nothing is left once they ended. */
	assert_true(sboxd_no_jobs(&D, 3000));
	assert_int_equal(sboxd_stop(&D), 0);
}

static void test_exit_codes_same_either_way(void **state)
{
	static const struct {
		const char *args[4];
		int code;
		const char *msg;
	} cases[] = {
		{ { "@probe", "exit", "7" }, 7, NULL },
		{ { "@probe", "kill", "9" }, 137, NULL },
		{ { "no-such-command" }, 127, "sboxrun: no-such-command: command not found in the sandbox" },
		{ { "@noexec" }, 126, ": cannot execute: Permission denied" },
		{ { "--chdir", "/nonexistent", "@probe", "exit" }, 125, "WorkingDirectory=/nonexistent" },
	};

	char noexec[512];

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, NULL);
	snprintf(noexec, sizeof(noexec), "%s/noexec", D.dir);
	write_text(noexec, "#!/bin/sh\n");
	assert_int_equal(chmod(noexec, 0644), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[12];
		struct cmd r[2];

		for (int mode = 0; mode < 2; mode++) {
			size_t n = 0;

			argv[n++] = D.sboxrun;
			if (mode == 0) {
				argv[n++] = "--socket";
				argv[n++] = D.sock;
			} else {
				argv[n++] = "--direct";
			}
			for (int k = 0; k < 4 && cases[i].args[k]; k++) {
				const char *a = cases[i].args[k];

				argv[n++] = strcmp(a, "@probe") == 0 ? D.probe :
					    strcmp(a, "@noexec") == 0 ? noexec : a;
			}
			if (strcmp(cases[i].args[0], "--chdir") == 0)
				argv[n++] = "0";
			argv[n] = NULL;
			cmd_run(&r[mode], NOBODY, 30, argv);
			assert_cmd(&r[mode], cases[i].code);
			if (cases[i].msg)
				assert_cmd_err(&r[mode], cases[i].msg);
		}
		/* The same words on stderr either way. */
		if (strcmp(r[0].err, r[1].err) != 0) {
			cmd_dump(&r[0]);
			cmd_dump(&r[1]);
		}
		assert_string_equal(r[0].err, r[1].err);
		cmd_free(&r[0]);
		cmd_free(&r[1]);
	}
	assert_int_equal(sboxd_stop(&D), 0);
}

static void test_refused_user_and_bounds(void **state)
{
	struct cmd r;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, "[Bounds]\nMemoryMax=256M\n[Defaults]\nMemoryMax=128M\n");
	/* A sandbox's worker sees sboxd's socket, and may not use it to get a
	 * sandbox its own policy would not give it. */
	DIRECT(&r, 0, "--env", "ASAN_OPTIONS=detect_leaks=0", "--", D.sboxrun, "--socket", D.sock,
	       "--", "/bin/true");
	assert_cmd(&r, 125);
	assert_cmd_err(&r, "a client in another pid namespace (a sandbox's worker, a container) may not use sboxd");
	cmd_free(&r);
	/* uid 1 is not in AllowUsers=. */
	RUN(&r, 1, D.probe, "exit", "0");
	assert_cmd(&r, 125);
	assert_cmd_err(&r, "uid 1 (daemon) may not use sboxd (AllowUsers=, AllowGroups= in ");
	cmd_free(&r);
	/* Past a bound: refused, naming it. */
	RUN(&r, NOBODY, "--memory", "1G", D.probe, "exit", "0");
	assert_cmd(&r, 125);
	assert_cmd_err(&r, "sboxrun: MemoryMax=1G is past the site bound MemoryMax=256M (");
	cmd_free(&r);
	RUN(&r, NOBODY, "--net", "host", D.probe, "exit", "0");
	assert_cmd(&r, 125);
	assert_cmd_err(&r, "PrivateNetwork=host is past the site bound AllowHostNetwork=no");
	cmd_free(&r);
	RUN(&r, NOBODY, "--set", "User=root", D.probe, "exit", "0");
	assert_cmd(&r, 125);
	assert_cmd_err(&r, "User=root is not the caller (uid 65534)");
	cmd_free(&r);
	/* Within the bounds (the site's default MemoryMax=128M applies). */
	RUN(&r, NOBODY, D.probe, "exit", "0");
	assert_cmd(&r, 0);
	cmd_free(&r);
	RUN(&r, NOBODY, "--memory", "200M", D.probe, "exit", "0");
	assert_cmd(&r, 0);
	cmd_free(&r);
	/* Root is not bounded. */
	RUN(&r, 0, "--memory", "1G", D.probe, "exit", "0");
	assert_cmd(&r, 0);
	cmd_free(&r);
	assert_int_equal(sboxd_stop(&D), 0);
}

static void test_gpu_leases(void **state)
{
	char conf[2048], extra[4096];
	struct cmd r, w;
	char *j1, want[128];
	long long t0;

	(void)state;
	sboxd_prepare(&D);
	fake_gpus(conf, sizeof(conf));
	snprintf(extra, sizeof(extra), "%s[Bounds]\nAllowGPUs=nobody 1-3\n", conf);
	sboxd_start(&D, extra);
	/* One free GPU that nobody may have: the lowest, GPU 1. */
	RUN(&r, NOBODY, "--gpus", "1", "--", "/bin/sh", "-c", "echo gpu=$CUDA_VISIBLE_DEVICES");
	assert_cmd(&r, 0);
	assert_true(has_line(r.out, "gpu=" UUID1));
	cmd_free(&r);
	/* Two held by a detached job for 2 seconds. */
	RUN(&r, NOBODY, "--detach", "--gpus", "2", "--", D.probe, "sleep", "2");
	assert_cmd(&r, 0);
	j1 = job_id(&r);
	cmd_free(&r);
	RUN(&r, NOBODY, "--leases");
	assert_cmd(&r, 0);
	snprintf(want, sizeof(want), "job %s (uid 65534)", j1);
	assert_non_null(strstr(r.out, want));
	assert_non_null(strstr(r.out, "0     GPU-0a1b2c3d-0000-4000-8000-000000000000 0000:01:00.0   free"));
	cmd_free(&r);
	/* A named GPU that is leased fails at once, naming the holder. */
	RUN(&r, NOBODY, "--gpu", "2", "--", D.probe, "exit", "0");
	assert_cmd(&r, 125);
	snprintf(want, sizeof(want), "GPUs=2: GPU 2 (%s) is leased by job %s", UUID2, j1);
	assert_cmd_err(&r, want);
	cmd_free(&r);
	RUN(&r, NOBODY, "--gpus", "2", "--", D.probe, "exit", "0");
	assert_cmd(&r, 125);
	assert_cmd_err(&r, "2 GPUs asked, 1 free now");
	cmd_free(&r);
	RUN(&r, NOBODY, "--gpu", "0", "--", D.probe, "exit", "0");
	assert_cmd(&r, 125);
	assert_cmd_err(&r, "GPUs=0: GPU 0 is past the site bound AllowGPUs= for uid 65534");
	cmd_free(&r);
	/* --wait-gpu: starts once the holder is gone. */
	t0 = now_ms();
	RUN(&w, NOBODY, "--gpu", "2", "--wait-gpu", "--", "/bin/sh", "-c",
	    "echo gpu=$CUDA_VISIBLE_DEVICES");
	assert_cmd(&w, 0);
	assert_true(has_line(w.out, "gpu=" UUID2));
	assert_true(now_ms() - t0 >= 1000);
	cmd_free(&w);
	RUN(&r, NOBODY, "--attach", j1);
	assert_cmd(&r, 0);
	cmd_free(&r);
	/* All free again. */
	RUN(&r, 0, "--leases");
	assert_null(strstr(r.out, "job "));
	cmd_free(&r);
	free(j1);
	/* Without sboxd: no lease, the first GPUs of the inventory. */
	{
		char site[600];

		snprintf(site, sizeof(site), "%s/gpus.conf", D.dir);
		write_text(site, conf);
		assert_int_equal(chmod(site, 0644), 0);
		DIRECT(&r, 0, "--site-config", site, "--gpus", "1", "--", "/bin/sh", "-c",
		       "echo gpu=$CUDA_VISIBLE_DEVICES");
		assert_cmd(&r, 0);
		assert_true(has_line(r.out, "gpu=GPU-0a1b2c3d-0000-4000-8000-000000000000"));
		cmd_free(&r);
	}
	assert_int_equal(sboxd_stop(&D), 0);
}

/* Wait (bounded) until a file holds text. */
static void wait_for_text(const char *path, const char *text)
{
	long long deadline = now_ms() + 10000;

	for (;;) {
		char buf[4096] = "";
		FILE *f = fopen(path, "r");

		if (f) {
			buf[fread(buf, 1, sizeof(buf) - 1, f)] = '\0';
			fclose(f);
		}
		if (strstr(buf, text))
			return;
		assert_true(now_ms() < deadline);
		usleep(20 * 1000);
	}
}

static void test_signals_and_limits_either_way(void **state)
{
	static const struct {
		const char *flag, *value, *cmd, *arg;
		int code;
		const char *msg;
	} cases[] = {
		{ "--memory", "32M", "alloc", "256", 137,
		  "sboxrun: worker killed: out of memory (MemoryMax=32M)" },
		{ "--timeout", "1s", "sleep", "10", 124, "sboxrun: worker killed: timeout (RuntimeMaxSec=1s)" },
	};

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, NULL);
	for (int mode = 0; mode < 2; mode++) {
		const char *daemon_argv[] = { D.sboxrun, "--socket", D.sock, "--", D.probe,
					      "wait-signal", NULL };
		const char *direct_argv[] = { D.sboxrun, "--direct", "--", D.probe, "wait-signal", NULL };
		char out[512];
		pid_t pid;
		int st;

		/* SIGTERM to sboxrun reaches the worker. */
		snprintf(out, sizeof(out), "%s/sig-%d.out", D.dir, mode);
		pid = cmd_start(NOBODY, mode ? direct_argv : daemon_argv, out);
		wait_for_text(out, "ready");
		kill(pid, SIGTERM);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		wait_for_text(out, "got=SIGTERM");
	}
	/* The ends sbox's limits cause: the same code and words (as root:
	 * cgroups are root's in direct mode). */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cmd r, d;

		RUN(&r, 0, "--stats", cases[i].flag, cases[i].value, "--", D.probe, cases[i].cmd,
		    cases[i].arg);
		DIRECT(&d, 0, "--stats", cases[i].flag, cases[i].value, "--", D.probe, cases[i].cmd,
		       cases[i].arg);
		assert_cmd(&r, cases[i].code);
		assert_cmd(&d, cases[i].code);
		assert_cmd_err(&r, cases[i].msg);
		assert_cmd_err(&d, cases[i].msg);
		assert_cmd_err(&r, "sboxrun: stats: wall ");
		cmd_free(&r);
		cmd_free(&d);
	}
	assert_int_equal(sboxd_stop(&D), 0);
}

static void test_client_killed_kills_its_job(void **state)
{
	const char *argv[] = { NULL, "--socket", NULL, "--", NULL, "sleep", "60", NULL };
	char out[512], *list, pidbuf[32];
	pid_t client, init;
	int st;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, NULL);
	argv[0] = D.sboxrun;
	argv[2] = D.sock;
	argv[4] = D.probe;
	snprintf(out, sizeof(out), "%s/client.out", D.dir);
	client = cmd_start(NOBODY, argv, out);
	list = wait_jobs(1, 10000);
	/* JOB UID PID ...: the sandbox's init on the host. */
	assert_int_equal(sscanf(strchr(list, '\n') + 1, "%*s %*s %31s", pidbuf), 1);
	init = atoi(pidbuf);
	free(list);
	assert_true(init > 1);
	assert_int_equal(kill(init, 0), 0);
	kill(client, SIGKILL);
	waitpid(client, &st, 0);
	/* The job goes with its client. */
	assert_true(sboxd_no_jobs(&D, 5000));
	for (int i = 0; i < 100 && kill(init, 0) == 0; i++)
		usleep(20 * 1000);
	assert_int_equal(kill(init, 0), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(sboxd_stop(&D), 0);
}

static void test_detach_attach_list(void **state)
{
	struct cmd r;
	char *mine, *roots;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, NULL);
	RUN(&r, NOBODY, "--detach", "--", D.probe, "exit", "3");
	assert_cmd(&r, 0);
	mine = job_id(&r);
	cmd_free(&r);
	RUN(&r, 0, "--detach", "--", D.probe, "sleep", "1");
	roots = job_id(&r);
	cmd_free(&r);
	/* A user sees their own jobs; root sees all. */
	RUN(&r, NOBODY, "--jobs");
	assert_cmd(&r, 0);
	assert_non_null(strstr(r.out, "65534"));
	assert_null(strstr(r.out, "sleep"));
	cmd_free(&r);
	RUN(&r, 0, "--jobs");
	assert_non_null(strstr(r.out, "sbox-probe"));
	cmd_free(&r);
	/* Someone else's job does not exist for nobody. */
	RUN(&r, NOBODY, "--attach", roots);
	assert_cmd(&r, 125);
	assert_cmd_err(&r, "no job ");
	cmd_free(&r);
	/* The end of a detached job waits to be collected, once. */
	RUN(&r, NOBODY, "--attach", mine);
	assert_cmd(&r, 3);
	cmd_free(&r);
	RUN(&r, NOBODY, "--attach", mine);
	assert_cmd(&r, 125);
	cmd_free(&r);
	RUN(&r, 0, "--attach", roots);
	assert_cmd(&r, 0);
	cmd_free(&r);
	free(mine);
	free(roots);
	assert_true(sboxd_no_jobs(&D, 3000));
	assert_int_equal(sboxd_stop(&D), 0);
}

static void test_binds_are_the_clients_fds(void **state)
{
	char data[512], secret[512], spec[1100], file[600];
	struct cmd r;

	(void)state;
	sboxd_prepare(&D);
	snprintf(data, sizeof(data), "%s/data", D.dir);
	snprintf(secret, sizeof(secret), "%s/secret", D.dir);
	assert_int_equal(mkdir(data, 0755), 0);
	assert_int_equal(mkdir(secret, 0700), 0);
	snprintf(file, sizeof(file), "%s/f", data);
	write_text(file, "x");
	snprintf(file, sizeof(file), "%s/s", secret);
	write_text(file, "s");
	snprintf(spec, sizeof(spec), "AllowBindPaths=%s\n", data);
	{
		char extra[1200];

		snprintf(extra, sizeof(extra), "[Bounds]\n%s", spec);
		sboxd_start(&D, extra);
	}
	snprintf(spec, sizeof(spec), "%s:/tmp/data", data);
	RUN(&r, NOBODY, "--ro-bind", spec, "--", D.probe, "stat", "/tmp/data/f");
	assert_cmd(&r, 0);
	assert_non_null(strstr(r.out, "stat=ok type=reg"));
	cmd_free(&r);
	/* What the client can't open, it can't bind: the fd is opened by
	 * the client, as the client. */
	snprintf(spec, sizeof(spec), "%s/s:/tmp/s", secret);
	RUN(&r, NOBODY, "--bind", spec, "--", D.probe, "exit", "0");
	assert_cmd(&r, 125);
	assert_cmd_err(&r, "bind source ");
	assert_cmd_err(&r, "Permission denied");
	cmd_free(&r);
	/* Past AllowBindPaths=, by the fd's real path. */
	RUN(&r, NOBODY, "--ro-bind", "/etc:/tmp/e", "--", D.probe, "exit", "0");
	assert_cmd(&r, 125);
	assert_cmd_err(&r, "BindReadOnlyPaths: /etc is outside the site bound AllowBindPaths=");
	cmd_free(&r);
	/* Optional and missing: skipped, as in a direct launch. */
	RUN(&r, NOBODY, "--bind", "-/nonexistent/x:/tmp/x", "--", D.probe, "stat", "/tmp/x");
	assert_cmd(&r, 0);
	assert_non_null(strstr(r.out, "stat=ENOENT"));
	cmd_free(&r);
	assert_int_equal(sboxd_stop(&D), 0);
}

static void test_pass_fd_and_stdin(void **state)
{
	char file[512], a[3000], b[3000];
	struct cmd r, d;
	const char *body = "/bin/sh -c 'cat <&7; read l; echo stdin=$l'";

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, NULL);
	snprintf(file, sizeof(file), "%s/passed", D.dir);
	write_text(file, "hello through fd 7\n");
	/* fd 7 keeps its number in the worker, whatever number it had in
	 * sboxd; stdin is the client's. */
	snprintf(a, sizeof(a), "exec 7<'%s' <'%s'; exec '%s' --socket '%s' --pass-fd 7 -- %s", file,
		 file, D.sboxrun, D.sock, body);
	snprintf(b, sizeof(b), "exec 7<'%s' <'%s'; exec '%s' --direct --pass-fd 7 -- %s", file, file,
		 D.sboxrun, body);
	cmd_runl(&r, NOBODY, 30, "/bin/sh", "-c", a, NULL);
	cmd_runl(&d, NOBODY, 30, "/bin/sh", "-c", b, NULL);
	assert_cmd(&r, 0);
	assert_cmd(&d, 0);
	assert_true(has_line(r.out, "hello through fd 7"));
	assert_true(has_line(r.out, "stdin=hello through fd 7"));
	assert_string_equal(r.out, d.out);
	cmd_free(&r);
	cmd_free(&d);
	assert_int_equal(sboxd_stop(&D), 0);
}

static void test_node_agent(void **state)
{
	char conf[2048], extra[4096], queue[512], policy[512], logs[512], text[2048], log[600];
	struct cmd r;

	(void)state;
	sboxd_prepare(&D);
	if (access(D.agent, X_OK) < 0)
		skip_because("no node-agent binary next to $SBOXRUN");
	fake_gpus(conf, sizeof(conf));
	snprintf(extra, sizeof(extra), "%s[Bounds]\nAllowGPUs=nobody 0-1\n", conf);
	sboxd_start(&D, extra);
	snprintf(policy, sizeof(policy), "%s/job.policy", D.dir);
	write_text(policy, "[Sandbox]\nEnvironment=ROLE=trial\nHostname=trial\n");
	snprintf(queue, sizeof(queue), "%s/queue", D.dir);
	snprintf(text, sizeof(text),
		 "# three trials, two GPUs\n"
		 "%s /bin/sh -c echo${IFS}$ROLE@$(hostname)${IFS}$CUDA_VISIBLE_DEVICES;sleep${IFS}0.5\n"
		 "%s /bin/sh -c echo${IFS}$ROLE@$(hostname)${IFS}$CUDA_VISIBLE_DEVICES;sleep${IFS}0.5\n"
		 "%s /bin/sh -c echo${IFS}$ROLE@$(hostname)${IFS}$CUDA_VISIBLE_DEVICES;exit${IFS}4\n",
		 policy, policy, policy);
	write_text(queue, text);
	snprintf(logs, sizeof(logs), "%s/logs", D.dir);
	assert_int_equal(mkdir(logs, 0777), 0);
	assert_int_equal(chmod(logs, 0777), 0);
	cmd_runl(&r, NOBODY, 30, D.agent, "--socket", D.sock, "--logs", logs, queue, NULL);
	/* Two start at once, the third waits for a GPU; one exits 4. */
	assert_cmd(&r, 1);
	assert_non_null(strstr(r.out, "queued for a GPU"));
	assert_non_null(strstr(r.out, ": exit 4"));
	{
		int zeros = 0;

		for (const char *p = r.out; (p = strstr(p, ": exit 0 ")); p++)
			zeros++;
		if (zeros != 2)
			cmd_dump(&r);
		assert_int_equal(zeros, 2);
	}
	cmd_free(&r);
	for (int i = 0; i < 3; i++) {
		char *got;
		FILE *f;

		snprintf(log, sizeof(log), "%s/job-%d.log", logs, i);
		f = fopen(log, "r");
		assert_non_null(f);
		got = calloc(1, 256);
		assert_non_null(fgets(got, 255, f));
		fclose(f);
		/* Its policy applied, and exactly one GPU of the two. */
		assert_true(strncmp(got, "trial@trial GPU-0a1b", 20) == 0);
		assert_null(strchr(got, ','));
		free(got);
	}
	assert_int_equal(sboxd_stop(&D), 0);
}

static void test_restart_recovery(void **state)
{
	const char *argv[16];
	char conf[2048], extra[4096], out[512], *det, *list, *log;
	struct cmd r;
	pid_t client;
	int st;

	(void)state;
	sboxd_prepare(&D);
	fake_gpus(conf, sizeof(conf));
	snprintf(extra, sizeof(extra), "%s[Bounds]\nAllowGPUs=nobody 1-3\n[Daemon]\nReattachTimeoutSec=20s\n",
		 conf);
	sboxd_start(&D, extra);
	/* A detached job and one with its client connected, both holding
	 * GPUs. */
	RUN(&r, NOBODY, "--detach", "--gpus", "1", "--", D.probe, "sleep", "3");
	assert_cmd(&r, 0);
	det = job_id(&r);
	cmd_free(&r);
	argv[0] = D.sboxrun;
	argv[1] = "--socket";
	argv[2] = D.sock;
	argv[3] = "--gpu";
	argv[4] = "3";
	argv[5] = "--";
	argv[6] = "/bin/sh";
	argv[7] = "-c";
	argv[8] = "sleep 2; echo attached-out; exit 5";
	argv[9] = NULL;
	snprintf(out, sizeof(out), "%s/attached.out", D.dir);
	client = cmd_start(NOBODY, argv, out);
	free(wait_jobs(2, 10000));
	sboxd_kill9(&D);
	fprintf(stderr, "recovery: sboxd killed (SIGKILL) with 2 jobs running\n");
	sboxd_restart(&D);
	/* Both are back, with their GPUs. */
	list = wait_jobs(2, 5000);
	fprintf(stderr, "recovery: after the restart, sboxrun --jobs:\n%s", list);
	assert_non_null(strstr(list, "sbox-probe"));
	assert_non_null(strstr(list, " sh\n"));
	free(list);
	RUN(&r, 0, "--leases");
	fprintf(stderr, "recovery: sboxrun --leases:\n%s", r.out);
	assert_non_null(strstr(r.out, "1     GPU-0a1b9999-0000-4000-8000-000000000001 0000:02:00.0   job"));
	assert_non_null(strstr(r.out, "3     GPU-c0ffee00-0000-4000-8000-000000000003 0000:81:00.0   job"));
	cmd_free(&r);
	/* A lease held by a recovered job is still exclusive. */
	RUN(&r, NOBODY, "--gpu", "3", "--", D.probe, "exit", "0");
	assert_cmd(&r, 125);
	assert_cmd_err(&r, "is leased by job");
	cmd_free(&r);
	/* The connected client reconnected and got its job's end. */
	assert_int_equal(waitpid(client, &st, 0), client);
	assert_true(WIFEXITED(st));
	{
		char *got = calloc(1, 4096);
		FILE *f = fopen(out, "r");
		size_t n = f ? fread(got, 1, 4095, f) : 0;

		got[n] = '\0';
		if (f)
			fclose(f);
		fprintf(stderr, "recovery: the attached client said:\n%sand exited %d\n", got,
			WEXITSTATUS(st));
		assert_non_null(strstr(got, "attached-out"));
		free(got);
	}
	assert_int_equal(WEXITSTATUS(st), 5);
	RUN(&r, NOBODY, "--attach", det);
	fprintf(stderr, "recovery: sboxrun --attach %s (the detached job) exited %d\n", det, r.code);
	assert_cmd(&r, 0);
	cmd_free(&r);
	RUN(&r, 0, "--leases");
	assert_null(strstr(r.out, "job "));
	cmd_free(&r);
	log = sboxd_log(&D);
	fprintf(stderr, "recovery: sboxd's log:\n%s", log);
	assert_non_null(strstr(log, "2 jobs recovered from the keeper"));
	free(log);
	free(det);
	assert_int_equal(sboxd_stop(&D), 0);
}

static void test_sigterm_stops_cleanly(void **state)
{
	const char *argv[] = { NULL, "--socket", NULL, "--", NULL, "sleep", "60", NULL };
	char out[512];
	pid_t client;
	int st;
	struct cmd r;

	(void)state;
	sboxd_prepare(&D);
	sboxd_start(&D, NULL);
	argv[0] = D.sboxrun;
	argv[2] = D.sock;
	argv[4] = D.probe;
	snprintf(out, sizeof(out), "%s/client.out", D.dir);
	client = cmd_start(NOBODY, argv, out);
	free(wait_jobs(1, 10000));
	/* Stops accepting, ends its clients' jobs, exits 0 (ASan: no leak). */
	assert_int_equal(sboxd_stop(&D), 0);
	assert_int_equal(waitpid(client, &st, 0), client);
	assert_int_equal(WEXITSTATUS(st), 137);
	assert_int_equal(access(D.sock, F_OK), -1);
	RUN(&r, NOBODY, D.probe, "exit", "0");
	assert_cmd(&r, 125);
	assert_cmd_err(&r, "connecting to sboxd at ");
	cmd_free(&r);
}

/* Issue 12: --list-gpus --socket printed this host's inventory, not
 * sboxd's: now sboxd's (here a fake machine only sboxd's site config
 * points at). */
static void test_list_gpus_asks_sboxd(void **state)
{
	char conf[1024];
	struct cmd r;

	(void)state;
	sboxd_prepare(&D);
	fake_gpus(conf, sizeof(conf));
	sboxd_start(&D, conf);
	RUN(&r, NOBODY, "--list-gpus");
	assert_cmd(&r, 0);
	assert_non_null(strstr(r.out, "GPU-c0ffee00-0000-4000-8000-000000000003"));
	cmd_free(&r);
	assert_int_equal(sboxd_stop(&D), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_launch_as_root_and_nobody, teardown),
		cmocka_unit_test_teardown(test_exit_codes_same_either_way, teardown),
		cmocka_unit_test_teardown(test_refused_user_and_bounds, teardown),
		cmocka_unit_test_teardown(test_gpu_leases, teardown),
		cmocka_unit_test_teardown(test_signals_and_limits_either_way, teardown),
		cmocka_unit_test_teardown(test_client_killed_kills_its_job, teardown),
		cmocka_unit_test_teardown(test_detach_attach_list, teardown),
		cmocka_unit_test_teardown(test_binds_are_the_clients_fds, teardown),
		cmocka_unit_test_teardown(test_pass_fd_and_stdin, teardown),
		cmocka_unit_test_teardown(test_node_agent, teardown),
		cmocka_unit_test_teardown(test_restart_recovery, teardown),
		cmocka_unit_test_teardown(test_list_gpus_asks_sboxd, teardown),
		cmocka_unit_test_teardown(test_sigterm_stops_cleanly, teardown),
	};

	if (getenv("SBOX_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SBOX_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
