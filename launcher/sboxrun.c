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
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "launcher/cli.h"
#include "policy/directives.h"
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

/* Wait for the sandbox to end, forwarding signals; returns the exit code. */
static int supervise(struct sbox_child *child, int sigfd, const struct sbox_policy *p,
		     const char *command)
{
	struct pollfd pfd[2] = {
		{ .fd = sigfd, .events = POLLIN },
		{ .fd = sbox_child_event_fd(child), .events = POLLIN },
	};
	struct sbox_err err = { 0 };
	struct sbox_event ev;
	int code = -1, status;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
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
			break;
		default:
			break;
		}
		pfd[1].events = POLLIN;
	}
	if (sbox_child_reap(child, &status, &err) < 0)
		return die(&err);
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

int main(int argc, char **argv)
{
	struct sbox_policy policy;
	struct sbox_cli cli = { 0 };
	struct sbox_err err = { 0 };
	struct sbox_child *child = NULL;
	char cwd[4096];
	sigset_t set;
	int sigfd, code;

	sbox_policy_init(&policy);
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
	if (sbox_policy_validate(&policy, &err) < 0) {
		code = die(&err);
		goto out;
	}
	if (cli.check) {
		sbox_policy_print(&policy, stdout);
		code = fflush(stdout) == 0 ? 0 : EXIT_SBOX_FAILED;
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
	};
	if (sbox_spawn(&policy, &launch, &child, &err) < 0) {
		code = die(&err);
		close(sigfd);
		goto out;
	}
	code = supervise(child, sigfd, &policy, cli.command[0]);
	sbox_child_free(child);
	close(sigfd);
out:
	sbox_policy_free(&policy);
	return code;
}
