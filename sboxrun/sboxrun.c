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
#include "policy/directives.h"
#include "policy/values.h"
#include "sandbox/gpu.h"
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

/* Wait for the sandbox to end, forwarding signals; returns the exit code. */
static int supervise(struct sbox_child *child, int sigfd, const struct sbox_policy *p,
		     const char *command, struct sbox_end *end)
{
	struct pollfd pfd[3] = {
		{ .fd = sigfd, .events = POLLIN },
		{ .fd = sbox_child_event_fd(child), .events = POLLIN },
		{ .fd = -1, .events = POLLIN },
	};
	struct sbox_err err = { 0 };
	struct sbox_event ev;
	int code = -1, status, worker_status = -1, explained;

	pfd[2].fd = runtime_timer(p, &err);
	if (pfd[2].fd < -1)
		return die(&err);
	for (;;) {
		if (pfd[2].fd >= 0 && (pfd[2].revents & POLLIN)) {
			/* RuntimeMaxSec= passed before the worker's end: the
			 * whole sandbox goes, and the end is reported as such. */
			close(pfd[2].fd);
			pfd[2].fd = -1;
			if (worker_status < 0 && code < 0) {
				end->timed_out = true;
				if (sbox_child_signal(child, SIGKILL, &err) < 0)
					fprintf(stderr, "sboxrun: %s\n", err.msg);
			}
		}
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			sbox_fail(&err, errno, "waiting for the sandbox");
			return die(&err);
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				/* With the caller's terminal kept (NewSession=no)
				 * the worker gets ^C from the tty itself: don't
				 * deliver it twice. */
				if (!p->new_session && si.ssi_code == SI_KERNEL)
					continue;
				if (sbox_child_signal(child, (int)si.ssi_signo, &err) < 0)
					fprintf(stderr, "sboxrun: %s\n", err.msg);
			}
		}
		if (!(pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		int r = sbox_child_read_event(child, &ev, &err);
		if (r < 0)
			return die(&err);
		if (r == 0)
			break;
		switch (ev.kind) {
		case SBOX_EV_STARTED:
			break;
		case SBOX_EV_SETUP_FAILED:
			fprintf(stderr, "sboxrun: %s\n", ev.msg);
			code = EXIT_SBOX_FAILED;
			break;
		case SBOX_EV_EXEC_FAILED:
			if (ev.errnum == ENOENT) {
				fprintf(stderr, "sboxrun: %s: command not found in the sandbox\n", command);
				code = EXIT_NOT_FOUND;
			} else {
				fprintf(stderr, "sboxrun: %s: cannot execute: %s\n", command,
					strerror(ev.errnum));
				code = EXIT_CANNOT_EXEC;
			}
			break;
		case SBOX_EV_EXITED:
			code = exit_code_of(ev.status);
			worker_status = ev.status;
			break;
		default:
			break;
		}
		pfd[1].events = POLLIN;
	}
	if (pfd[2].fd >= 0)
		close(pfd[2].fd);
	if (sbox_child_reap(child, &status, &err) < 0)
		return die(&err);
	/* An end that sbox's limits caused is said once, with the limit
	 * (OOM past MemoryMax=: 137; RuntimeMaxSec=: 124), so the user does
	 * not take it for the worker's own failure. */
	explained = sbox_end_explain(end, child, p, worker_status, status, stderr);
	if (explained >= 0)
		return explained;
	if (code >= 0)
		return code;
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
	return 0;
}

/* --stats and --json-status, once the sandbox is gone. */
static void report_end(const struct sbox_cli *cli, struct sbox_end *end, int code)
{
	struct sbox_err err = { 0 };

	end->code = code;
	if (cli->stats)
		sbox_end_print_stats(end, stderr);
	if (cli->json_status && sbox_end_write_json(end, cli->json_status, &err) < 0)
		fprintf(stderr, "sboxrun: %s\n", err.msg);
}

int main(int argc, char **argv)
{
	struct sbox_policy policy;
	struct sbox_site site;
	struct sbox_cli cli = { 0 };
	struct sbox_err err = { 0 };
	struct sbox_child *child = NULL;
	struct sbox_end end = { 0 };   /* how it ended, for report_end() */
	struct sboxrun_gpus gpus = { 0 };
	char cwd[4096];
	sigset_t set;
	int sigfd, code;

	sbox_policy_init(&policy);
	sbox_site_init(&site);
	if (sbox_cli_parse(argc, argv, &cli, &policy, &err) < 0) {
		code = die(&err);
		goto out;
	}
	if (cli.help || cli.help_policy || cli.version) {
		if (cli.help)
			sbox_cli_usage(stdout);
		if (cli.help_policy)
			sbox_cli_list_directives(stdout);
		if (cli.version)
			printf("sboxrun %s\n", SBOX_VERSION);
		code = 0;
		goto out;
	}
	/* With a socket named, the inventory that counts is
	 * sboxd's (its site configuration, its leases), not this host's
	 * view from here: the same question as --leases. */
	if (cli.list_gpus && (cli.socket || (getenv("SBOX_SOCKET") && *getenv("SBOX_SOCKET")))) {
		if (cli.json) {
			fprintf(stderr, "sboxrun: --list-gpus --json asks sboxd: not supported yet; use --leases\n");
			code = EXIT_SBOX_FAILED;
			goto out;
		}
		cli.list_gpus = false;
		cli.leases = true;
	}
	if (cli.list_gpus) {
		code = list_gpus(&cli, &site);
		goto out;
	}
	if (sbox_policy_validate(&policy, &err) < 0) {
		code = die(&err);
		goto out;
	}
	if (cli.check_host && check_host(&cli, &policy, &site, &err) < 0) {
		code = die(&err);
		goto out;
	}
	if (cli.check) {
		sbox_policy_print(&policy, stdout);
		code = fflush(stdout) == 0 ? 0 : EXIT_SBOX_FAILED;
		goto out;
	}
	/* Through sboxd when its socket answers (or one is named: --socket,
	 * $SBOX_SOCKET); --direct and --site-config keep the launch here
	 * (sboxrun/via_daemon.c).  Same output, same exit codes. */
	if (!cli.direct && !cli.site_config) {
		bool ran = false;

		code = sboxrun_via_daemon(&cli, &policy, environ, &end, &ran);
		if (code != SBOXRUN_NO_DAEMON) {
			if (ran)
				report_end(&cli, &end, code);
			goto out;
		}
	} else if (sboxrun_daemon_only_flag(&cli)) {
		fprintf(stderr, "sboxrun: %s needs sboxd (not --direct or --site-config)\n",
			sboxrun_daemon_only_flag(&cli));
		code = EXIT_SBOX_FAILED;
		goto out;
	}
	if (!cli.command) {
		fprintf(stderr, "sboxrun: no command given\nTry 'sboxrun --help'.\n");
		code = EXIT_SBOX_FAILED;
		goto out;
	}

	sigfd = block_forwarded(&set);
	if (sigfd < 0) {
		sbox_fail(&err, errno, "setting up signal forwarding");
		code = die(&err);
		goto out;
	}
	struct sbox_launch launch = {
		.argv = cli.command,
		.stdio = { 0, 1, 2 },
		.pass_fds = cli.pass_fds,
		.n_pass_fds = cli.n_pass_fds,
		.caller_cwd = getcwd(cwd, sizeof(cwd)),
		.caller_env = environ,
		.caller_uid = getuid(),
		.caller_gid = getgid(),
		.site = &site,
		.cgroup_guard = true,      /* sboxrun can be SIGKILLed: nobody else cleans up */
	};
	/* Veth's address range is the site's ([Network]); so is the GPU
	 * inventory, read once here and resolved into the launch's GPUs
	 * (--gpus N without sboxd: no leases, the first N). */
	if (((policy.devices.gpus.n > 0 || cli.gpus || cli.site_config ||
	      policy.net.mode == SBOX_NET_VETH) && load_site(&site, &cli, &err) < 0) ||
	    sboxrun_direct_gpus(&cli, &policy, &site, &gpus, NULL, &launch.gpus, &err) < 0) {
		code = die(&err);
		close(sigfd);
		goto out;
	}
	if (sbox_spawn(&policy, &launch, &child, &err) < 0) {
		code = die(&err);
		close(sigfd);
		report_end(&cli, &end, code);
		goto out;
	}
	code = supervise(child, sigfd, &policy, cli.command[0], &end);
	sbox_child_free(child);
	close(sigfd);
	report_end(&cli, &end, code);
out:
	sboxrun_gpus_free(&gpus);
	sbox_site_free(&site);
	sbox_policy_free(&policy);
	return code;
}
