/* SPDX-License-Identifier: MIT */
/*
 * sboxrun through sboxd.  The policy sboxrun parsed travels as text (the
 * directives that differ from the built-in defaults); the command, the
 * environment, the working directory and sboxrun's own stdio and --pass-fd
 * fds travel with it, and the library opens the bind sources as the user.
 * Then sboxrun forwards its signals to the job and waits for its end,
 * saying and exiting exactly as a direct launch would.  If sboxd goes away
 * meanwhile (a restart), sboxrun reconnects and waits again: sboxd keeps
 * the job for ReattachTimeoutSec= (docs/protocol.md, "Recovery").
 */
#include "sboxrun/via_daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "include/sbox/libsbox.h"
#include "policy/directives.h"
#include "policy/values.h"
#include "sandbox/gpu.h"

#define EXIT_SBOX_FAILED 125
#define RECONNECT_MS 60000

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

const char *sboxrun_daemon_only_flag(const struct sbox_cli *cli)
{
	if (cli->detach)
		return "--detach";
	if (cli->attach)
		return "--attach";
	if (cli->jobs)
		return "--jobs";
	if (cli->leases)
		return "--leases";
	if (cli->wait_gpu)
		return "--wait-gpu";
	return NULL;
}

int sboxrun_direct_gpus(const struct sbox_cli *cli, const struct sbox_policy *p,
			const struct sbox_site *site, struct sboxrun_gpus *g, const char *what,
			const struct sbox_gpu_selection **out, struct sbox_err *err)
{
	*out = NULL;
	if (cli->gpus == 0)
		return sbox_gpu_choose_named(&g->choice, p, site, out, err);
	if (p->devices.gpus.n > 0)
		return sbox_fail(err, 0, "--gpus %u and GPUs=%s both given: ask for a number or name them",
				 cli->gpus, p->devices.gpus.v[0]);
	if (sbox_gpu_choose_first(&g->choice, cli->gpus, site, out, err) < 0)
		return -1;
	/* What the launch itself would check (the privilege), said as the
	 * caller's checks say theirs. */
	if (sbox_gpu_choice_check_privilege(&g->choice, err) < 0) {
		if (what)
			sbox_err_prefix(err, "%s", what);
		*out = NULL;
		return -1;
	}
	return 0;
}

void sboxrun_gpus_free(struct sboxrun_gpus *g)
{
	sbox_gpu_choice_free(&g->choice);
}

static char *print_one(const struct sbox_policy *p, const struct sbox_directive *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	d->print(p, d, f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

char *sboxrun_policy_text(const struct sbox_policy *p)
{
	struct sbox_policy def;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	bool ok = f != NULL;

	if (!f)
		return NULL;
	sbox_policy_init(&def);
	fprintf(f, "[%s]\n", SBOX_POLICY_SECTION);
	for (size_t i = 0; i < sbox_n_directives && ok; i++) {
		const struct sbox_directive *d = &sbox_directives[i];
		char *mine, *dflt;

		if (!d->print)
			continue;
		mine = print_one(p, d);
		dflt = print_one(&def, d);
		ok = mine && dflt;
		if (ok && strcmp(mine, dflt) != 0)
			fputs(mine, f);
		free(mine);
		free(dflt);
	}
	sbox_policy_free(&def);
	if (fclose(f) != 0 || !ok) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int fail(struct sbox_client *c)
{
	fprintf(stderr, "sboxrun: %s\n", sbox_client_error(c));
	return EXIT_SBOX_FAILED;
}

/* What a run through sboxd needs to tell its end as a direct one would. */
struct run {
	struct sbox_client *c;
	const char *path;
	const struct sbox_policy *p;
	struct sbox_end *end;
	bool *ran;
};

/* The same words and codes as sboxrun.c's supervise(), in the same order:
 * the set-up's or exec's failure, then an end sbox's limits caused
 * (sboxrun/status.c), then how init went. */
static int report_exit(const struct run *run, const struct sbox_job_exit *ex, const char *command)
{
	struct sbox_end *e = run->end;
	int code = -1, ws = -1, is = -1, explained;

	e->have_stats = ex->stats.valid;
	e->stats.have = ex->stats.have;
	e->stats.cgroup_version = ex->stats.cgroup_version;
	e->stats.wall_usec = ex->stats.wall_usec;
	e->stats.cpu_user_usec = ex->stats.cpu_user_usec;
	e->stats.cpu_system_usec = ex->stats.cpu_system_usec;
	e->stats.memory_peak = ex->stats.memory_peak;
	e->stats.oom_kills = ex->stats.oom_kills;
	e->timed_out = ex->timeout;
	switch (ex->outcome) {
	case SBOX_END_SETUP_FAILED:
		fprintf(stderr, "sboxrun: %s\n", ex->message);
		code = EXIT_SBOX_FAILED;
		break;
	case SBOX_END_EXEC_FAILED:
		if (ex->errnum == ENOENT)
			fprintf(stderr, "sboxrun: %s: command not found in the sandbox\n", command);
		else
			fprintf(stderr, "sboxrun: %s: cannot execute: %s\n", command, strerror(ex->errnum));
		code = sbox_client_exit_code(ex);
		break;
	case SBOX_END_EXITED:
		ws = ex->status;
		code = sbox_client_exit_code(ex);
		break;
	case SBOX_END_KILLED:
		is = ex->status;
		break;
	case SBOX_END_LOST:
	default:
		/* sboxd's timeout ended it (a predecessor's, before a
		 * restart, whose report was lost with it): a timeout all the
		 * same, 124. */
		if (ex->timeout) {
			is = SIGKILL;
			break;
		}
		fprintf(stderr, "sboxrun: %s\n", ex->message);
		return EXIT_SBOX_FAILED;
	}
	explained = sbox_end_judge(e, run->p, ws, is, stderr);
	if (explained >= 0)
		return explained;
	if (code >= 0)
		return code;
	if (WIFSIGNALED(is)) {
		fprintf(stderr, "sboxrun: sandbox killed by signal %d (%s)\n", WTERMSIG(is),
			strsignal(WTERMSIG(is)));
		return 128 + WTERMSIG(is);
	}
	fprintf(stderr, "sboxrun: the sandbox's init ended unexpectedly (status %d)\n", is);
	return EXIT_SBOX_FAILED;
}

static void forwarded_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < SBOX_ARRAY_SIZE(forwarded); i++)
		sigaddset(set, forwarded[i]);
}

static int block_forwarded(void)
{
	sigset_t set;

	forwarded_set(&set);
	return sigprocmask(SIG_BLOCK, &set, NULL);
}

/* The forwarded signals, blocked, as a signalfd: one that came before
 * (during the launch) is read from it too. */
static int forwarded_fd(void)
{
	sigset_t set;

	if (block_forwarded() < 0)
		return -1;
	forwarded_set(&set);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

#define RECONNECT_PAUSE_MS 200

static void pause_a_moment(void)
{
	struct timespec ts = { 0, RECONNECT_PAUSE_MS * 1000000L };

	nanosleep(&ts, NULL);
}

/* sboxd went away: try again until it is back, then wait anew.  (A dying
 * sboxd's socket may still take a connection for a moment, then reset it:
 * that is the same outage, said once.) */
static int reconnect(struct sbox_client *c, const char *path, uint64_t job, bool *said)
{
	if (!*said)
		fprintf(stderr, "sboxrun: lost sboxd (%s); waiting for it to come back\n",
			sbox_client_error(c));
	*said = true;
	for (int waited = 0; waited < RECONNECT_MS; waited += RECONNECT_PAUSE_MS) {
		if (sbox_client_connect(c, path) == 0) {
			if (sbox_client_watch(c, job) == 0)
				return 0;
			/* A connection the dying sboxd's socket took, reset as
			 * it went (the WAIT fails with ECONNRESET): the same
			 * outage, so try again; and a refusal for now (too many
			 * connections), when sboxd closed before the WAIT went
			 * (EPIPE, its ERROR read then; after, the refusal is
			 * the WAIT's answer, which supervise() reads). */
			if (sbox_client_errcode(c) != SBOX_ERR_GONE &&
			    sbox_client_errcode(c) != SBOX_ERR_BUSY)
				return -1;
		}
		pause_a_moment();
	}
	return -1;
}

static int supervise(const struct run *run, uint64_t job, const char *command)
{
	struct sbox_client *c = run->c;
	const char *path = run->path;
	int sigfd = forwarded_fd();
	struct sbox_job_exit ex;
	bool said = false;
	int busy_ms = 0;

	if (sigfd < 0) {
		perror("sboxrun: setting up signal forwarding");
		return EXIT_SBOX_FAILED;
	}
	if (sbox_client_watch(c, job) < 0 && reconnect(c, path, job, &said) < 0) {
		close(sigfd);
		return fail(c);
	}
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = sbox_client_fd(c), .events = POLLIN },
		};
		int r;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				if (sbox_client_signal(c, job, (int)si.ssi_signo) < 0 &&
				    sbox_client_errcode(c) != SBOX_ERR_GONE)
					fprintf(stderr, "sboxrun: %s\n", sbox_client_error(c));
		}
		r = sbox_client_next_exit(c, &ex, 0);
		if (r > 0 && ex.id == job) {
			close(sigfd);
			*run->ran = true;
			return report_exit(run, &ex, command);
		}
		if (r >= 0)
			continue;
		/* Lost, or refused at a reconnect's accept for now (sboxd's
		 * answer to the WAIT sent on it: too many connections): wait
		 * for sboxd again, the refusals paced and bounded as the
		 * reconnects are, each outage with a budget of its own. */
		if (sbox_client_errcode(c) == SBOX_ERR_GONE) {
			busy_ms = 0;
		} else if (sbox_client_errcode(c) == SBOX_ERR_BUSY && busy_ms < RECONNECT_MS) {
			pause_a_moment();
			busy_ms += RECONNECT_PAUSE_MS;
		} else {
			break;
		}
		if (reconnect(c, path, job, &said) < 0)
			break;
	}
	close(sigfd);
	return fail(c);
}

static int list_jobs(struct sbox_client *c)
{
	static const char *const states[] = { "?", "starting", "running", "ended", "queued" };
	struct sbox_job_info *jobs;
	size_t n;

	if (sbox_client_list(c, &jobs, &n) < 0)
		return fail(c);
	printf("%-8s %-8s %-8s %-9s %-9s %-8s %s\n", "JOB", "UID", "PID", "STATE", "DETACHED",
	       "GPUS", "NAME");
	for (size_t i = 0; i < n; i++) {
		struct sbox_job_info *j = &jobs[i];
		char gpus[64] = "-";
		size_t k = 0;

		/* An older sboxd's, or another daemon's: as sboxd keeps them. */
		sbox_tame_controls(j->name);

		for (size_t g = 0; g < j->n_gpus && k + 8 < sizeof(gpus); g++)
			k += (size_t)snprintf(gpus + k, sizeof(gpus) - k, "%s%u", g ? "," : "", j->gpus[g]);
		printf("%-8" PRIu64 " %-8u %-8d %-9s %-9s %-8s %s\n", j->id, (unsigned)j->uid, (int)j->pid,
		       j->state >= 1 && j->state <= 4 ? states[j->state] : "?",
		       (j->flags & SBOX_JOB_DETACH) ? "yes" : "no", gpus, j->name);
	}
	free(jobs);
	return fflush(stdout) == 0 ? 0 : EXIT_SBOX_FAILED;
}

static int list_leases(struct sbox_client *c)
{
	struct sbox_gpu_lease *g;
	size_t n;

	if (sbox_client_leases(c, &g, &n) < 0)
		return fail(c);
	printf("%-5s %-40s %-14s %s\n", "GPU", "UUID", "BUS", "LEASE");
	for (size_t i = 0; i < n; i++) {
		if (g[i].job == SBOX_LEASE_OTHER)
			printf("%-5u %-40s %-14s leased (another user's job)\n", g[i].index, g[i].uuid,
			       g[i].bus);
		else if (g[i].job)
			printf("%-5u %-40s %-14s job %" PRIu64 " (uid %u)\n", g[i].index, g[i].uuid,
			       g[i].bus, g[i].job, (unsigned)g[i].uid);
		else
			printf("%-5u %-40s %-14s free\n", g[i].index, g[i].uuid, g[i].bus);
	}
	free(g);
	return fflush(stdout) == 0 ? 0 : EXIT_SBOX_FAILED;
}

/* A detached job outlives sboxrun, and a pipe's reader waits for every
 * writer: a job holding the pipe the id is printed on made J=$(sboxrun
 * --detach ...) wait for the job's end.  So a detached job gets /dev/null
 * for stdin and in place of a pipe or socket; a file or a tty it keeps. */
static int detached_stdio(int stdio[3], int devnull)
{
	struct stat st;

	stdio[0] = devnull;
	for (int i = 1; i < 3; i++) {
		if (fstat(i, &st) < 0)
			return -1;
		if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
			stdio[i] = devnull;
	}
	return 0;
}

static int launch(const struct run *run, const struct sbox_cli *cli, char **envp)
{
	struct sbox_client *c = run->c;
	struct sbox_job_spec s = SBOX_JOB_SPEC_INIT;
	struct sbox_job_info info;
	char cwd[4096];
	_cleanup_free_ char *text = sboxrun_policy_text(run->p);
	_cleanup_close_ int devnull = -1;

	if (!text) {
		fprintf(stderr, "sboxrun: printing the policy: %s\n", strerror(ENOMEM));
		return EXIT_SBOX_FAILED;
	}
	s.argv = (const char *const *)cli->command;
	s.envp = (const char *const *)envp;
	s.cwd = getcwd(cwd, sizeof(cwd));
	s.policy = text;
	s.stdio[0] = 0;
	s.stdio[1] = 1;
	s.stdio[2] = 2;
	s.pass_fds = cli->pass_fds;
	s.n_pass = cli->n_pass_fds;
	s.gpus = cli->gpus;
	s.flags = (cli->detach ? SBOX_JOB_DETACH : 0) | (cli->wait_gpu ? SBOX_JOB_WAIT_GPU : 0);
	if (cli->detach) {
		devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (devnull < 0 || detached_stdio(s.stdio, devnull) < 0) {
			fprintf(stderr, "sboxrun: --detach: the job's stdio: %s\n", strerror(errno));
			return EXIT_SBOX_FAILED;
		}
	}
	/* A signal that comes while the launch is under way (the worker may
	 * run before LAUNCHED is read: a prepared sandbox starts it at once)
	 * waits, blocked, and supervise()'s signalfd forwards it to the job. */
	if (!cli->detach && block_forwarded() < 0) {
		perror("sboxrun: setting up signal forwarding");
		return EXIT_SBOX_FAILED;
	}
	if (sbox_client_launch(c, &s, &info) < 0) {
		*run->ran = !cli->detach;    /* as a direct launch that failed */
		return fail(c);
	}
	if (cli->detach) {
		printf("%" PRIu64 "\n", info.id);
		return fflush(stdout) == 0 ? 0 : EXIT_SBOX_FAILED;
	}
	return supervise(run, info.id, cli->command[0]);
}

/* The socket the user named (--socket, $SBOX_SOCKET), or NULL. */
static const char *named_socket(const struct sbox_cli *cli)
{
	const char *env = getenv("SBOX_SOCKET");

	return cli->socket ? cli->socket : (env && *env ? env : NULL);
}

int sboxrun_launch_socket(const struct sbox_cli *cli, const char **sock, struct sbox_err *err)
{
	const char *path = named_socket(cli);
	struct sbox_client *c;
	int r = 0;

	*sock = NULL;
	if (cli->direct || cli->site_config)
		return 0;
	c = sbox_client_new();
	if (!c)
		return sbox_fail(err, ENOMEM, "connecting to sboxd");
	if (sbox_client_connect(c, path ? path : sbox_client_default_socket()) == 0)
		*sock = path ? path : sbox_client_default_socket();
	else if (path)
		r = sbox_fail(err, 0, "%s", sbox_client_error(c));
	sbox_client_free(c);
	return r;
}

int sboxrun_via_daemon(const struct sbox_cli *cli, const struct sbox_policy *p, char **envp,
		       struct sbox_end *end, bool *ran)
{
	const char *path = named_socket(cli);
	bool named = path != NULL;
	struct sbox_client *c;
	struct run run;
	int code;

	*ran = false;
	if (!cli->command && !cli->attach && !cli->jobs && !cli->leases)
		return SBOXRUN_NO_DAEMON;      /* nothing to ask: sboxrun.c says so */
	c = sbox_client_new();
	if (!c) {
		fprintf(stderr, "sboxrun: %s\n", strerror(ENOMEM));
		return EXIT_SBOX_FAILED;
	}
	if (!path)
		path = sbox_client_default_socket();
	if (sbox_client_connect(c, path) < 0) {
		/* Nobody at the default place: launch here, unless the user
		 * named a socket or asked for what only sboxd can do. */
		const char *only = sboxrun_daemon_only_flag(cli);

		if (!named && !only) {
			sbox_client_free(c);
			return SBOXRUN_NO_DAEMON;
		}
		if (only && !named)
			fprintf(stderr, "sboxrun: %s needs sboxd: %s\n", only, sbox_client_error(c));
		else
			fprintf(stderr, "sboxrun: %s\n", sbox_client_error(c));
		sbox_client_free(c);
		return EXIT_SBOX_FAILED;
	}
	run = (struct run){ .c = c, .path = path, .p = p, .end = end, .ran = ran };
	if (cli->jobs) {
		code = list_jobs(c);
	} else if (cli->leases) {
		code = list_leases(c);
	} else if (cli->attach) {
		uint64_t id;

		if (sbox_parse_uint(cli->attach, 1, UINT64_MAX - 1, &id) < 0) {
			fprintf(stderr, "sboxrun: --attach %s: expected a job id\n", cli->attach);
			code = EXIT_SBOX_FAILED;
		} else {
			/* The job's policy is not this command line's: its
			 * limits are not named in the end's words. */
			run.p = NULL;
			code = supervise(&run, id, cli->attach);
		}
	} else {
		code = launch(&run, cli, envp);
	}
	sbox_client_free(c);
	return code;
}
