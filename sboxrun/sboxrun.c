/* SPDX-License-Identifier: MIT */
/*
 * sboxrun: run a command in a sandbox.  Parses flags and policy files into a
 * struct sbox_policy, launches the sandbox (embedded mode), forwards signals,
 * waits, and exits with the worker's status (podman run's convention).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "sboxrun/cli.h"
#include "sboxrun/gpu_list.h"
#include "sboxrun/via_daemon.h"
#include "sboxrun/status.h"
#include "policy/bounds.h"
#include "policy/directives.h"
#include "policy/values.h"
#include "sandbox/gpu.h"
#include "sandbox/host.h"
#include "sandbox/sandbox.h"

#define EXIT_SBOX_FAILED 125
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127

#ifndef SBOX_VERSION
#define SBOX_VERSION "0.1.0"
#endif

extern char **environ;

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static int die(const struct sbox_err *err)
{
	fprintf(stderr, "sboxrun: %s\n", err->msg);
	return EXIT_SBOX_FAILED;
}

static int exit_code_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return EXIT_SBOX_FAILED;
}

static int block_forwarded(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < SBOX_ARRAY_SIZE(forwarded); i++)
		sigaddset(set, forwarded[i]);
	if (sigprocmask(SIG_BLOCK, set, NULL) < 0)
		return -1;
	return signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* RuntimeMaxSec= as a timerfd in the supervise loop; -1 for none, -2 on
 * error.  From the launch, as systemd counts from the start. */
static int runtime_timer(const struct sbox_policy *p, struct sbox_err *err)
{
	struct itimerspec its = { 0 };
	uint64_t usec = p->res.runtime_max_usec;
	int fd;

	if (usec == SBOX_INFINITY)
		return -1;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		return sbox_fail(err, errno, "RuntimeMaxSec=: creating the timer"), -2;
	its.it_value.tv_sec = (time_t)(usec / 1000000);
	its.it_value.tv_nsec = (long)(usec % 1000000) * 1000;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		close(fd);
		return sbox_fail(err, errno, "RuntimeMaxSec=: arming the timer"), -2;
	}
	return fd;
}

/* What supervise() watches and what it has learnt so far. */
struct watch {
	struct sbox_child *child;
	const struct sbox_policy *p;
	const char *command;
	struct sbox_end *end;
	struct pollfd pfd[3];   /* signals, the child's events, RuntimeMaxSec= */
	int code;               /* the exit code an event decided; -1: none yet */
	int worker_status;      /* the worker's wait status; -1: not exited */
	struct sbox_err err;
};

/* Handled first in each turn, from the previous poll's revents, so the
 * kill goes out before the loop waits again. */
static void on_runtime_timer(struct watch *w)
{
	if (w->pfd[2].fd < 0 || !(w->pfd[2].revents & POLLIN))
		return;
	/* RuntimeMaxSec= passed before the worker's end: the
	 * whole sandbox goes, and the end is reported as such. */
	close(w->pfd[2].fd);
	w->pfd[2].fd = -1;
	if (w->worker_status < 0 && w->code < 0) {
		w->end->timed_out = true;
		if (sbox_child_signal(w->child, SIGKILL, &w->err) < 0)
			fprintf(stderr, "sboxrun: %s\n", w->err.msg);
	}
}

/* Forwarded before the child's events are read: a signal that arrives
 * with the worker's end still reaches what is left of the sandbox. */
static void on_signals(struct watch *w)
{
	struct signalfd_siginfo si;

	while (read(w->pfd[0].fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		/* With the caller's terminal kept (NewSession=no)
		 * the worker gets ^C from the tty itself: don't
		 * deliver it twice. */
		if (!w->p->new_session && si.ssi_code == SI_KERNEL)
			continue;
		if (sbox_child_signal(w->child, (int)si.ssi_signo, &w->err) < 0)
			fprintf(stderr, "sboxrun: %s\n", w->err.msg);
	}
}

/* One event from the sandbox's init; the last one that decides an exit
 * code wins, and the worker's own status is kept for on_end(). */
static void on_event(struct watch *w, const struct sbox_event *ev)
{
	switch (ev->kind) {
	case SBOX_EV_STARTED:
		break;
	case SBOX_EV_SETUP_FAILED:
		fprintf(stderr, "sboxrun: %s\n", ev->msg);
		w->code = EXIT_SBOX_FAILED;
		break;
	case SBOX_EV_EXEC_FAILED:
		if (ev->errnum == ENOENT) {
			fprintf(stderr, "sboxrun: %s: command not found in the sandbox\n", w->command);
			w->code = EXIT_NOT_FOUND;
		} else {
			fprintf(stderr, "sboxrun: %s: cannot execute: %s\n", w->command,
				strerror(ev->errnum));
			w->code = EXIT_CANNOT_EXEC;
		}
		break;
	case SBOX_EV_EXITED:
		w->code = exit_code_of(ev->status);
		w->worker_status = ev->status;
		break;
	default:
		break;
	}
}

/* The sandbox is gone: reap its init and say how it ended. */
static int on_end(struct watch *w)
{
	int status, explained;

	if (sbox_child_reap(w->child, &status, &w->err) < 0)
		return die(&w->err);
	/* An end that sbox's limits caused is said once, with the limit
	 * (OOM past MemoryMax=: 137; RuntimeMaxSec=: 124), so the user does
	 * not take it for the worker's own failure. */
	explained = sbox_end_explain(w->end, w->child, w->p, w->worker_status, status, stderr);
	if (explained >= 0)
		return explained;
	if (w->code >= 0)
		return w->code;
	/* init ended without a report: it was killed (SIGKILL from outside,
	 * the OOM killer) — report that as the worker's end. */
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "sboxrun: sandbox killed by signal %d (%s)\n", WTERMSIG(status),
			strsignal(WTERMSIG(status)));
		return 128 + WTERMSIG(status);
	}
	fprintf(stderr, "sboxrun: the sandbox's init ended unexpectedly (status %d)\n", status);
	return EXIT_SBOX_FAILED;
}

/* Wait for the sandbox to end, forwarding signals; returns the exit code. */
static int supervise(struct sbox_child *child, int sigfd, const struct sbox_policy *p,
		     const char *command, struct sbox_end *end)
{
	struct watch w = {
		.child = child, .p = p, .command = command, .end = end,
		.pfd = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = sbox_child_event_fd(child), .events = POLLIN },
			{ .fd = -1, .events = POLLIN },
		},
		.code = -1, .worker_status = -1,
	};
	struct sbox_event ev;
	int r;

	w.pfd[2].fd = runtime_timer(p, &w.err);
	if (w.pfd[2].fd < -1)
		return die(&w.err);
	for (;;) {
		on_runtime_timer(&w);
		if (poll(w.pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			sbox_fail(&w.err, errno, "waiting for the sandbox");
			return die(&w.err);
		}
		if (w.pfd[0].revents & POLLIN)
			on_signals(&w);
		if (!(w.pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = sbox_child_read_event(child, &ev, &w.err);
		if (r < 0)
			return die(&w.err);
		if (r == 0)
			break;
		on_event(&w, &ev);
		w.pfd[1].events = POLLIN;
	}
	if (w.pfd[2].fd >= 0)
		close(w.pfd[2].fd);
	return on_end(&w);
}

/* The site configuration.  In direct mode sboxrun is the privileged side
 * and reads it itself; --site-config may name another file only here
 * (sboxd reads its own --config and ignores any client's), and no
 * environment variable can.  It is read when something needs it: GPUs=,
 * --gpus, --list-gpus, veth's addresses, or --site-config given. */
static int load_site(struct sbox_site *site, const struct sbox_cli *cli, struct sbox_err *err)
{
	const char *path = cli->site_config ? cli->site_config : SBOX_SITE_DEFAULT_PATH;

	return sbox_site_load(site, path, cli->site_config != NULL, err);
}

static int list_gpus(const struct sbox_cli *cli, struct sbox_site *site)
{
	struct sbox_gpu_inventory inv;
	struct sbox_err err = { 0 };

	if (load_site(site, cli, &err) < 0 || sbox_gpu_inventory_load(&inv, site, &err) < 0)
		return die(&err);
	sboxrun_gpu_list_print(&inv, cli->json, stdout);
	sbox_gpu_inventory_free(&inv);
	return fflush(stdout) == 0 ? 0 : EXIT_SBOX_FAILED;
}

/* --check=host's note on this host (sboxd's launches run here too): what
 * makes launches slower without failing them. */
static void print_host_note(void)
{
	char note[SBOX_ERR_MSG_MAX];

	if (sbox_check_host_note(note, sizeof(note)))
		fprintf(stderr, "sboxrun: --check=host: note: %s\n", note);
}

/* --check=host: what the launch would resolve, without running anything.
 * A direct launch: all of it, the site configuration read as the launch
 * reads it.  Through sboxd: what holds either way; sboxd's site bounds
 * (its own configuration, which this side can't know) apply at launch,
 * and the output says so rather than pass what sboxd would refuse. */
static int check_host(const struct sbox_cli *cli, struct sbox_policy *p, struct sbox_site *site,
		      struct sbox_err *err)
{
	_cleanup_(sboxrun_gpus_free) struct sboxrun_gpus gpus = { 0 };
	const struct sbox_gpu_selection *sel = NULL;
	const char *sock;

	if (sboxrun_launch_socket(cli, &sock, err) < 0)
		return -1;
	if (sock) {
		/* Only what holds whoever launches (bind sources the caller
		 * opens, mount points on this host's root): users, devices,
		 * GPUs, the network and cgroup limits are sboxd's to resolve,
		 * and the caller's view of them says nothing there. */
		if (sbox_check_paths(p, err) < 0) {
			sbox_err_prefix(err, "--check=host");
			return -1;
		}
		fprintf(stderr, "sboxrun: --check=host: a launch goes through sboxd at %s: bind sources and mount points "
			"are checked; users, devices, GPUs, the network and cgroup limits are sboxd's, "
			"checked against its site bounds at launch, and are not checked here (--direct checks a direct launch)\n",
			sock);
		print_host_note();
		return 0;
	}
	if ((p->devices.gpus.n > 0 || cli->gpus || cli->site_config) && load_site(site, cli, err) < 0)
		return -1;
	/* --gpus N is chosen here, as the launch chooses it; GPUs= is
	 * resolved among the host checks (sbox_check_host()). */
	if (cli->gpus > 0 && sboxrun_direct_gpus(cli, p, site, &gpus, "--check=host", &sel, err) < 0)
		return -1;
	if (sbox_check_host(p, site, sel, err) < 0) {
		sbox_err_prefix(err, "--check=host");
		return -1;
	}
	print_host_note();
	return 0;
}

/* --stats and --json-status, once the sandbox is gone. */
static void report_end(struct sbox_cli *cli, struct sbox_end *end, int code)
{
	struct sbox_err err = { 0 };

	end->code = code;
	if (cli->stats)
		sbox_end_print_stats(end, stderr);
	if (cli->json_status_fd >= 0 &&
	    sbox_end_write_json(end, sbox_steal_fd(cli->json_status_fd), cli->json_status, &err) < 0)
		fprintf(stderr, "sboxrun: %s\n", err.msg);
}

/* A step's answer when the request goes on to the next step. */
#define CARRY_ON (-1)

static int print_help(const struct sbox_cli *cli)
{
	if (cli->help)
		sbox_cli_usage(stdout);
	if (cli->help_policy)
		sbox_cli_list_directives(stdout);
	if (cli->version)
		printf("sboxrun %s\n", SBOX_VERSION);
	return 0;
}

/* With a socket named, the inventory that counts is
 * sboxd's (its site configuration, its leases), not this host's
 * view from here: the same question as --leases. */
static int list_gpus_from_sboxd(struct sbox_cli *cli)
{
	if (!cli->socket && !(getenv("SBOX_SOCKET") && *getenv("SBOX_SOCKET")))
		return 0;
	if (cli->json) {
		fprintf(stderr, "sboxrun: --list-gpus --json asks sboxd: not supported yet; use --leases\n");
		return -1;
	}
	cli->list_gpus = false;
	cli->leases = true;
	return 0;
}

/* --cap-limits: a hard limit above sboxrun's own is refused, as sboxd
 * refuses one above its own to a client (policy/bounds.c); checked with
 * the policy, so --check says so too. */
static int cap_limits(const struct sbox_cli *cli, const struct sbox_policy *p, struct sbox_err *err)
{
	uint64_t hard[SBOX_RLIMIT_COUNT];

	if (!cli->cap_limits)
		return 0;
	sbox_host_hard_limits(hard);
	return sbox_bounds_check_rlimits(p, hard, "sboxrun's own", "is past --cap-limits", err);
}

/* What sboxrun answers without a sandbox: help and version, the GPU
 * inventory, --check and --check=host (the policy is validated here, as
 * both checks and every launch need it).  CARRY_ON when a launch is asked. */
static int answer_without_sandbox(struct sbox_cli *cli, struct sbox_policy *p,
				  struct sbox_site *site)
{
	struct sbox_err err = { 0 };

	if (cli->help || cli->help_policy || cli->version)
		return print_help(cli);
	if (cli->list_gpus && list_gpus_from_sboxd(cli) < 0)
		return EXIT_SBOX_FAILED;
	if (cli->list_gpus)
		return list_gpus(cli, site);
	if (sbox_policy_validate(p, &err) < 0 || cap_limits(cli, p, &err) < 0)
		return die(&err);
	if (cli->check_host && check_host(cli, p, site, &err) < 0)
		return die(&err);
	if (cli->check) {
		sbox_policy_print(p, stdout);
		return fflush(stdout) == 0 ? 0 : EXIT_SBOX_FAILED;
	}
	/* Before anything runs: a status that could never be written
	 * would let the worker run unaccounted for.  Not for what reports no
	 * end here (--detach, --jobs, --leases): no file is made for them. */
	if (cli->json_status && !cli->detach && !cli->jobs && !cli->leases &&
	    (cli->json_status_fd = sbox_end_open_json(cli->json_status, &err)) < 0)
		return die(&err);
	return CARRY_ON;
}

/* Through sboxd when its socket answers (or one is named: --socket,
 * $SBOX_SOCKET); --direct and --site-config keep the launch here
 * (sboxrun/via_daemon.c).  Same output, same exit codes.  CARRY_ON for
 * a direct launch. */
static int launch_via_sboxd(struct sbox_cli *cli, struct sbox_policy *p, struct sbox_end *end)
{
	bool ran = false;
	int code;

	if (cli->direct || cli->site_config) {
		if (!sboxrun_daemon_only_flag(cli))
			return CARRY_ON;
		fprintf(stderr, "sboxrun: %s needs sboxd (not --direct or --site-config)\n",
			sboxrun_daemon_only_flag(cli));
		return EXIT_SBOX_FAILED;
	}
	code = sboxrun_via_daemon(cli, p, environ, end, &ran);
	if (code == SBOXRUN_NO_DAEMON)
		return CARRY_ON;
	if (ran)
		report_end(cli, end, code);
	return code;
}

/* The direct launch's request: the caller's stdio, fds, directory and
 * ids, and the site's part. */
static int prepare_launch(struct sbox_cli *cli, struct sbox_policy *p, struct sbox_site *site,
			  struct sboxrun_gpus *gpus, char *cwd, size_t cwd_size,
			  struct sbox_launch *launch, struct sbox_err *err)
{
	*launch = (struct sbox_launch){
		.argv = cli->command,
		.stdio = { 0, 1, 2 },
		.pass_fds = cli->pass_fds,
		.n_pass_fds = cli->n_pass_fds,
		.caller_cwd = getcwd(cwd, cwd_size),
		.caller_env = environ,
		.caller_uid = getuid(),
		.caller_gid = getgid(),
		.site = site,
		.cgroup_guard = true,      /* sboxrun can be SIGKILLed: nobody else cleans up */
	};
	/* Veth's address range is the site's ([Network]); so is the GPU
	 * inventory, read once here and resolved into the launch's GPUs
	 * (--gpus N without sboxd: no leases, the first N). */
	if ((p->devices.gpus.n > 0 || cli->gpus || cli->site_config ||
	     p->net.mode == SBOX_NET_VETH) && load_site(site, cli, err) < 0)
		return -1;
	return sboxrun_direct_gpus(cli, p, site, gpus, NULL, &launch->gpus, err);
}

/* The launch without sboxd: sboxrun spawns the sandbox itself, forwards
 * signals to it and waits for its end. */
static int launch_direct(struct sbox_cli *cli, struct sbox_policy *p, struct sbox_site *site,
			 struct sboxrun_gpus *gpus, struct sbox_end *end)
{
	_cleanup_close_ int sigfd = -1;
	struct sbox_child *child = NULL;
	struct sbox_err err = { 0 };
	struct sbox_launch launch;
	char cwd[4096];
	sigset_t set;
	int code;

	if (!cli->command) {
		fprintf(stderr, "sboxrun: no command given\nTry 'sboxrun --help'.\n");
		return EXIT_SBOX_FAILED;
	}
	sigfd = block_forwarded(&set);
	if (sigfd < 0) {
		sbox_fail(&err, errno, "setting up signal forwarding");
		return die(&err);
	}
	if (prepare_launch(cli, p, site, gpus, cwd, sizeof(cwd), &launch, &err) < 0)
		return die(&err);
	if (sbox_spawn(p, &launch, &child, &err) < 0) {
		code = die(&err);
	} else {
		code = supervise(child, sigfd, p, cli->command[0], end);
		sbox_child_free(child);
	}
	close(sbox_steal_fd(sigfd));
	report_end(cli, end, code);
	return code;
}

/* Each step answers the request or hands it on (CARRY_ON). */
int main(int argc, char **argv)
{
	struct sbox_policy policy;
	struct sbox_site site;
	struct sbox_cli cli = { .json_status_fd = -1 };
	struct sbox_err err = { 0 };
	struct sbox_end end = { 0 };   /* how it ended, for report_end() */
	struct sboxrun_gpus gpus = { 0 };
	int code = CARRY_ON;

	sbox_policy_init(&policy);
	sbox_site_init(&site);
	if (sbox_cli_parse(argc, argv, &cli, &policy, &err) < 0)
		code = die(&err);
	if (code == CARRY_ON)
		code = answer_without_sandbox(&cli, &policy, &site);
	if (code == CARRY_ON)
		code = launch_via_sboxd(&cli, &policy, &end);
	if (code == CARRY_ON)
		code = launch_direct(&cli, &policy, &site, &gpus, &end);
	sboxrun_gpus_free(&gpus);
	sbox_site_free(&site);
	sbox_policy_free(&policy);
	return code;
}
