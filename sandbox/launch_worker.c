/* SPDX-License-Identifier: MIT */
/*
 * The worker's steps, W0-W4, after init forked it (C7a) and hardened
 * itself (C7b).  The order, and the reason for each place, is the step
 * list at the top of sandbox/launch.c.  A failure goes back on report_fd
 * (S2 via init) and ends the worker with 125, before anything of the
 * caller's runs; report_fd is CLOEXEC, so it closes by itself when execve
 * succeeds.  Until then the worker runs in init's memory, on a stack init
 * lent it (sandbox/spawn.h): every step here writes only that stack and
 * what init set aside for it (the capability sets), and allocates
 * nothing.
 */
#include "sandbox/recipe.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/caps.h"
#include "sandbox/fsutil.h"
#include "sandbox/identity.h"
#include "sandbox/procstate.h"
#include "sandbox/rlimits.h"
#include "sandbox/seccomp.h"
#include "sandbox/sync.h"

/* S1b: init has hardened itself (C7b) before any step of ours. */
static void s1b_wait_for_init(int report_fd)
{
	struct sbox_sync_msg go;

	if (sbox_sync_recv(report_fd, &go) <= 0 || go.type != SBOX_SYNC_GO)
		_exit(125);
}

/* W0, security: every fd but stdio, the passed fds and the report channel
 * closed before any other step, above all before W2 resolves a path the
 * caller chose: a host directory fd left open (a cgroup, a netns, in sboxd
 * another sandbox's) would be a way out through /proc/self/fd/N
 * (CVE-2024-21626).  Init closed them at C6c already; this keeps the
 * worker safe on its own. */
static int w0_close_launcher_fds(const struct sbox_recipe *r, int report_fd,
				 struct sbox_err *err)
{
	return sbox_fds_close_launcher(r->launch, &report_fd, 1, err);
}

/* W1: the caller's blocked and ignored signals stay behind (an ignored
 * signal survives exec); a new session keeps the worker away from the
 * caller's terminal (TIOCSTI). */
static int w1_signals_session(const struct sbox_recipe *r, struct sbox_err *err)
{
	if (sbox_signals_reset(err) < 0)
		return -1;
	if (r->policy->new_session && setsid() < 0)
		return sbox_fail(err, errno, "starting a new session");
	return 0;
}

/* W1b, least privilege, in this order: rlimits, while CAP_SYS_RESOURCE may
 * still raise a hard limit (LimitNOFILE= not below the present limit
 * until W3 has moved the fds); a filter that can't rely on no_new_privs,
 * while CAP_SYS_ADMIN is still effective; the ids, with the capabilities
 * kept across the change; the capability sets, bounding set and locked
 * securebits, which need CAP_SETPCAP and so come after the ids;
 * no_new_privs.  Before W2, so that the working directory is entered as
 * the worker's user.  The bounding set came narrowed from init (C6h). */
static int w1b_least_privilege(const struct sbox_recipe *r, struct sbox_err *err)
{
	const struct sbox_security *sec = &r->policy->sec;

	if (sbox_rlimits_apply(sec, true, err) < 0 ||
	    (!sec->no_new_privs && sbox_seccomp_load(r->seccomp, err) < 0) ||
	    sbox_identity_apply(r->ident, err) < 0 ||
	    sbox_caps_drop(sec, true, err) < 0 ||
	    (sec->no_new_privs && sbox_caps_no_new_privs(err) < 0))
		return -1;
	return 0;
}

/* Open path as if "/" were the root (openat2 RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS, or sandbox/resolve.c's walk), as the worker's
 * user, then fchdir: ".." can't climb out of the root and no magic link
 * reaches a directory outside it. */
static int enter_workdir(const char *path)
{
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int fd = -1;

	if (root < 0)
		return -1;
	fd = sbox_open_in_root(root, path, O_DIRECTORY);
	if (fd < 0)
		return -1;
	return fchdir(fd);
}

/* W2: the umask, and the working directory resolved inside the new root,
 * never through a magic link (/proc/self/fd/N), and entered by its fd. */
static int w2_working_directory(const struct sbox_recipe *r, struct sbox_err *err)
{
	bool explicit_wd = r->policy->workdir != NULL;
	const char *wd = r->policy->workdir;

	if (!wd)
		wd = r->launch->caller_cwd ? r->launch->caller_cwd : "/";
	umask(r->policy->umask);
	if (enter_workdir(wd) == 0)
		return 0;
	/* The caller's cwd may not exist inside (e.g. under the private
	 * /tmp): fall back to / as bubblewrap does.  A WorkingDirectory= the
	 * policy names must exist. */
	if (!explicit_wd && enter_workdir("/") == 0)
		return 0;
	return sbox_fail(err, errno, "WorkingDirectory=%s%s", wd,
			 errno == ELOOP ? " (a magic link such as /proc/self/fd/N is never followed)" : "");
}

/* W3: stdio installed, every other fd closed, CLOEXEC or not; last
 * before exec, so that no step above can leave a stray fd.  A passed fd may be given
 * *report_fd's number (pass_fds move onto pass_fd_targets), so the report
 * channel first moves above every target.  Then LimitNOFILE= exactly: W2
 * opened and these moves made fds that a small one (16, say) would have
 * refused; lowering needs no capability. */
static int w3_fds(const struct sbox_recipe *r, int *report_fd, struct sbox_err *err)
{
	if (r->launch->pass_fd_targets) {
		/* Just above the highest target, not above every possible one:
		 * fd numbers past RLIMIT_NOFILE (often 1024) can't be had. */
		int hi = fcntl(*report_fd, F_DUPFD_CLOEXEC, sbox_fd_targets_top(r->launch) + 1);

		if (hi < 0)
			return sbox_fail(err, errno, "moving the worker's report channel");
		close(*report_fd);
		*report_fd = hi;
	}
	if (sbox_fds_sanitize(r->launch, *report_fd, err) < 0)
		return -1;
	return sbox_rlimits_apply_nofile(&r->policy->sec, err);
}

/* W3b: the filter last, so no set-up step is limited by it; after it only
 * the executable lookup and execve run.  (With NoNewPrivileges=no it went
 * in at W1b, while CAP_SYS_ADMIN allowed it.) */
static int w3b_seccomp(const struct sbox_recipe *r, struct sbox_err *err)
{
	if (r->policy->sec.no_new_privs && sbox_seccomp_load(r->seccomp, err) < 0)
		return -1;
	return 0;
}

/* W4: the executable looked up in the worker's PATH, and execve.  On
 * failure its errno goes back on the CLOEXEC report channel (S3), whose
 * EOF is init's proof that exec succeeded: 127 not found, 126 otherwise. */
static __attribute__((noreturn)) void w4_exec(const struct sbox_recipe *r, int report_fd)
{
	char exe[4096];
	int e = sbox_find_executable(r->launch->argv[0], r->envp, exe, sizeof(exe));

	if (e == 0) {
		execve(exe, r->launch->argv, r->envp);
		e = errno;
	}
	sbox_sync_send(report_fd, SBOX_SYNC_EXEC_FAILED, e, 0, r->launch->argv[0]);
	_exit(e == ENOENT ? 127 : 126);
}

void sbox_recipe_worker(const struct sbox_recipe *r, int report_fd)
{
	struct sbox_err err = { 0 };

	s1b_wait_for_init(report_fd);
	if (w0_close_launcher_fds(r, report_fd, &err) < 0 ||
	    w1_signals_session(r, &err) < 0 ||
	    w1b_least_privilege(r, &err) < 0 ||
	    w2_working_directory(r, &err) < 0 ||
	    w3_fds(r, &report_fd, &err) < 0 ||
	    w3b_seccomp(r, &err) < 0) {
		sbox_sync_send(report_fd, SBOX_SYNC_SETUP_ERROR, err.errnum, 0, err.msg);
		_exit(125);
	}
	w4_exec(r, report_fd);
}
