/* SPDX-License-Identifier: MIT */
#include "sandbox/procstate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/magic.h>

#include "common/util.h"
#include "policy/setters.h"
#include "policy/values.h"
#include "sandbox/kapi.h"

#ifndef RESOLVE_NO_XDEV
#define RESOLVE_NO_XDEV 0x01
#endif
#ifndef RESOLVE_BENEATH
#define RESOLVE_BENEATH 0x08
#endif

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *caller_getenv(char *const *env, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
			return env[i] + len + 1;
	return NULL;
}

static int env_put(struct sbox_strv *env, const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 2;
	_cleanup_free_ char *a = malloc(len);

	if (!a)
		return -ENOMEM;
	snprintf(a, len, "%s=%s", name, value);
	return sbox_env_set(env, a);
}

char **sbox_env_build(const struct sbox_policy *p, const struct sbox_launch *l,
		      uid_t worker_uid, struct sbox_err *err)
{
	struct sbox_strv env = { 0 };
	struct passwd pw, *res = NULL;
	char buf[4096];
	const char *home = "/", *user = NULL, *term;
	char uidbuf[32];
	int r = 0;

	/* getpwuid_r reads the host's passwd in the parent, before clone:
	 * the worker never depends on NSS inside the sandbox. */
	if (getpwuid_r(worker_uid, &pw, buf, sizeof(buf), &res) == 0 && res) {
		home = res->pw_dir;
		user = res->pw_name;
	} else {
		snprintf(uidbuf, sizeof(uidbuf), "%u", (unsigned)worker_uid);
		user = uidbuf;
	}
	r |= env_put(&env, "PATH", DEFAULT_PATH);
	r |= env_put(&env, "HOME", home);
	r |= env_put(&env, "USER", user);
	r |= env_put(&env, "LOGNAME", user);
	term = caller_getenv(l->caller_env, "TERM");
	if (term)
		r |= env_put(&env, "TERM", term);
	for (size_t i = 0; i < p->pass_env.n; i++) {
		const char *v = caller_getenv(l->caller_env, p->pass_env.v[i]);

		if (v)
			r |= env_put(&env, p->pass_env.v[i], v);
	}
	for (size_t i = 0; i < p->env.n; i++)
		r |= sbox_env_set(&env, p->env.v[i]);
	if (r != 0) {
		sbox_strv_clear(&env);
		sbox_fail(err, ENOMEM, "building the worker's environment");
		return NULL;
	}
	if (!env.v)
		env.v = calloc(1, sizeof(char *));
	return env.v;
}

/* The kernel's struct sigaction (not glibc's): with SIG_DFL no restorer is
 * needed, and the raw call reaches the signals glibc keeps for itself. */
struct kernel_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

/* Whether line starts with "name:"; no libc string calls: in a process
 * just forked, every libc page touched for the first time is a fault. */
static const char *field_value(const char *line, const char *name)
{
	while (*name && *line == *name) {
		line++;
		name++;
	}
	if (*name || *line != ':')
		return NULL;
	line++;
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

/* 1 to 16 hex digits, then the end of the line (a line cut off by the
 * end of the buffer is refused); -1 otherwise. */
static int parse_hex64(const char *v, uint64_t *out)
{
	uint64_t r = 0;
	int digits = 0;

	for (; *v != '\n'; v++, digits++) {
		int d = *v >= '0' && *v <= '9' ? *v - '0' : *v >= 'a' && *v <= 'f' ? *v - 'a' + 10 : -1;

		if (d < 0 || digits == 16)
			return -1;
		r = r << 4 | (uint64_t)d;
	}
	if (digits == 0)
		return -1;
	*out = r;
	return 0;
}

static const char *const status_fields[] = {
	"SigIgn", "SigCgt", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
};

/* Fills the fields of status_fields, in that order, from text; returns
 * the bit set of those found (each once, a repeated line refused). */
static unsigned parse_status(const char *text, uint64_t *v)
{
	unsigned found = 0;

	for (const char *l = text; *l;) {
		for (unsigned i = 0; i < SBOX_ARRAY_SIZE(status_fields); i++) {
			const char *val = field_value(l, status_fields[i]);

			if (val && ((found & 1U << i) || parse_hex64(val, &v[i]) < 0))
				return 0;
			if (val)
				found |= 1U << i;
		}
		while (*l && *l != '\n')
			l++;
		if (*l)
			l++;
	}
	return found;
}

/* The status file of this very process, on the procfs mounted at /proc and
 * nothing bound over it: "self" resolves to the reader's own pid in any
 * procfs instance (or to nothing), and RESOLVE_NO_XDEV refuses every mount
 * crossing below /proc, so a policy's bind mount can't put a file of its
 * own (or another process's status) in its place. */
static int open_own_status(void)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC,
		.resolve = RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH,
	};
	struct statfs sfs;
	int dir = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd;

	if (dir < 0)
		return -1;
	fd = sbox_sys_openat2(dir, "self/status", &how);
	close(dir);
	if (fd < 0)
		return -1;
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC) {
		close(fd);
		errno = EXDEV;
		return -1;
	}
	return fd;
}

int sbox_proc_status_read(struct sbox_proc_status *st)
{
	char text[4096];
	uint64_t v[SBOX_ARRAY_SIZE(status_fields)] = { 0 };
	unsigned found;
	ssize_t n;
	int fd = open_own_status();

	if (fd < 0)
		return -1;
	/* procfs hands the whole (1-2 KiB) text over in one read; a field
	 * cut off at the end is refused, and the caller falls back. */
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	found = parse_status(text, v);
	/* Every field but CapAmb: kernels before 4.3 have no ambient set. */
	if ((found & 0x3f) != 0x3f) {
		errno = EINVAL;
		return -1;
	}
	*st = (struct sbox_proc_status){
		.sig_ignored = v[0], .sig_caught = v[1], .cap_inh = v[2], .cap_prm = v[3],
		.cap_eff = v[4], .cap_bnd = v[5], .cap_amb = (found & 0x40) ? v[6] : 0,
	};
	return 0;
}

static int signal_default(int sig, struct sbox_err *err)
{
	struct kernel_sigaction dfl = { .handler = SIG_DFL };

	if (sig == SIGKILL || sig == SIGSTOP)
		return 0;
	if (syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(dfl.mask)) < 0)
		return sbox_fail(err, errno, "resetting the disposition of signal %d", sig);
	return 0;
}

int sbox_signals_reset(struct sbox_err *err)
{
	struct sbox_proc_status st;
	uint64_t todo = ~UINT64_C(0);
	sigset_t none;

	/* Ignored signals survive execve(); a launcher started under nohup
	 * or by a shell with traps must not hand that on.  glibc's
	 * sigaction() refuses 32 and 33 (its own), yet they can arrive
	 * ignored from whoever started us, so use the system call.  Only
	 * the signals not at their default need a call (SigIgn and SigCgt
	 * name them all: a disposition is default, ignore or a handler);
	 * without a trustworthy status file every signal is reset. */
	if (sbox_proc_status_read(&st) == 0)
		todo = st.sig_ignored | st.sig_caught;
	for (int sig = 1; sig < NSIG && sig <= 64; sig++)
		if ((todo & (UINT64_C(1) << (sig - 1))) && signal_default(sig, err) < 0)
			return -1;
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		return sbox_fail(err, errno, "clearing the signal mask");
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static int close_from_to(unsigned int lo, unsigned int hi)
{
	if (lo > hi)
		return 0;
	if (syscall(SYS_close_range, lo, hi, 0) == 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	/* Kernels before 5.9: close one by one up to the fd limit. */
	long max = sysconf(_SC_OPEN_MAX);
	for (unsigned long fd = lo; fd <= hi && (long)fd < (max > 0 ? max : 65536); fd++)
		close((int)fd);
	return 0;
}

int sbox_fds_close_from(unsigned int lo)
{
	return close_from_to(lo, ~0U);
}

/* A bit per fd number from lo: the list's fds, to be read back in order. */
static bool fd_bit(const uint64_t *bits, size_t i)
{
	return (bits[i / 64] >> (i % 64)) & 1;
}

void sbox_fds_close_list(const int *list, size_t n)
{
	int lo = INT_MAX, hi = -1;
	uint64_t *bits;
	size_t span;

	for (size_t i = 0; i < n; i++) {
		if (list[i] < 0)
			continue;
		lo = list[i] < lo ? list[i] : lo;
		hi = list[i] > hi ? list[i] : hi;
	}
	if (hi < 0)
		return;
	/* A bitmap rather than a sort: linear in the list and its span (a
	 * daemon's fds are dense), where sorting ten thousand would cost
	 * what the runs save. */
	span = (size_t)(hi - lo) + 1;
	bits = calloc((span + 63) / 64, sizeof(*bits));
	if (!bits) {
		for (size_t i = 0; i < n; i++)
			if (list[i] >= 0)
				close(list[i]);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (list[i] >= 0)
			bits[(size_t)(list[i] - lo) / 64] |= UINT64_C(1) << ((size_t)(list[i] - lo) % 64);
	for (size_t i = 0, j; i < span; i = j + 1) {
		j = i;
		if (!fd_bit(bits, i))
			continue;
		while (j + 1 < span && fd_bit(bits, j + 1))
			j++;
		close_from_to((unsigned int)(lo + (int)i), (unsigned int)(lo + (int)j));
	}
	free(bits);
}

int sbox_fd_targets_top(const struct sbox_launch *l)
{
	int top = 2;

	for (size_t i = 0; l->pass_fd_targets && i < l->n_pass_fds; i++)
		if (l->pass_fd_targets[i] > top)
			top = l->pass_fd_targets[i];
	return top;
}

/* pass_fds[i] becomes fd pass_fd_targets[i] (a daemon receives
 * a client's fds under numbers of its own).  Every source goes up first,
 * above every target (not above every possible one: fd numbers past
 * RLIMIT_NOFILE, often 1024, can't be had), so that no target clobbers
 * a source not moved yet. */
static int remap_pass_fds(const struct sbox_launch *l, struct sbox_err *err)
{
	int high[64];
	int top = sbox_fd_targets_top(l);

	for (size_t i = 0; i < l->n_pass_fds; i++) {
		int t = l->pass_fd_targets[i];

		if (t < 3 || t > SBOX_FD_TARGET_MAX)
			return sbox_fail(err, EBADF, "passing fd %d as %d: the target must be 3..%d",
					 l->pass_fds[i], t, SBOX_FD_TARGET_MAX);
		high[i] = fcntl(l->pass_fds[i], F_DUPFD_CLOEXEC, top + 1);
		if (high[i] < 0)
			return sbox_fail(err, errno, "passing fd %d", l->pass_fds[i]);
	}
	for (size_t i = 0; i < l->n_pass_fds; i++) {
		if (dup2(high[i], l->pass_fd_targets[i]) < 0)   /* clears FD_CLOEXEC */
			return sbox_fail(err, errno, "passing fd %d as %d", l->pass_fds[i],
					 l->pass_fd_targets[i]);
		close(high[i]);
	}
	return 0;
}

/* Close every fd from 3 up but those in keep (any order, duplicates and
 * numbers below 3 allowed). */
static int close_all_but(int *keep, size_t n, struct sbox_err *err)
{
	unsigned int from = 3;

	qsort(keep, n, sizeof(int), cmp_int);
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < (int)from)
			continue;   /* below 3, or a duplicate */
		if (close_from_to(from, (unsigned int)keep[i] - 1) < 0)
			return sbox_fail(err, errno, "closing inherited fds");
		from = (unsigned int)keep[i] + 1;
	}
	if (close_from_to(from, ~0U) < 0)
		return sbox_fail(err, errno, "closing inherited fds");
	return 0;
}

int sbox_fds_close_launcher(const struct sbox_launch *l, const int *extra, size_t n_extra,
			    struct sbox_err *err)
{
	int keep[3 + 64 + 8];
	size_t n = 0;

	if (l->n_pass_fds > 64 || n_extra > 8)
		return sbox_fail(err, E2BIG, "keeping %zu passed and %zu own fds (at most 64 and 8)",
				 l->n_pass_fds, n_extra);
	for (int i = 0; i < 3; i++)
		if (l->stdio[i] >= 0)
			keep[n++] = l->stdio[i];
	for (size_t i = 0; i < l->n_pass_fds; i++)
		keep[n++] = l->pass_fds[i];
	for (size_t i = 0; i < n_extra; i++)
		if (extra[i] >= 0)
			keep[n++] = extra[i];
	return close_all_but(keep, n, err);
}

int sbox_fds_sanitize(const struct sbox_launch *l, int keep, struct sbox_err *err)
{
	int high[3];
	int keep_list[66];
	size_t n = 0;

	/* Move the stdio sources out of the way first, so that e.g. stdio
	 * {1, 0, 2} can't clobber a source before it is used. */
	for (int i = 0; i < 3; i++) {
		int src = l->stdio[i];

		if (src < 0) {
			src = open("/dev/null", O_RDWR | O_CLOEXEC);
			if (src < 0)
				return sbox_fail(err, errno, "opening /dev/null for fd %d", i);
		}
		/* The lowest free fd from 3: under a small RLIMIT_NOFILE
		 * (the caller's ulimit -n 64) there may be no fd 100. */
		high[i] = fcntl(src, F_DUPFD_CLOEXEC, 3);
		if (high[i] < 0)
			return sbox_fail(err, errno, "duplicating the worker's fd %d (from %d)", i, src);
	}
	for (int i = 0; i < 3; i++)
		if (dup2(high[i], i) < 0)   /* dup2 clears FD_CLOEXEC */
			return sbox_fail(err, errno, "installing the worker's fd %d", i);

	if (l->n_pass_fds > 64)
		return sbox_fail(err, E2BIG, "passing %zu fds (at most 64)", l->n_pass_fds);
	if (l->pass_fd_targets && remap_pass_fds(l, err) < 0)
		return -1;
	for (size_t i = 0; i < l->n_pass_fds; i++) {
		int fd = l->pass_fd_targets ? l->pass_fd_targets[i] : l->pass_fds[i];

		if (fd < 3)
			continue;
		if (fcntl(fd, F_SETFD, 0) < 0)
			return sbox_fail(err, errno, "passing fd %d", fd);
		keep_list[n++] = fd;
	}
	if (keep >= 3)
		keep_list[n++] = keep;
	/* Close everything else: the launcher's files, sockets and
	 * directories must not reach the worker, CLOEXEC or not. */
	return close_all_but(keep_list, n, err);
}

static int try_candidate(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno;
	if (!S_ISREG(st.st_mode))
		return EACCES;
	return access(path, X_OK) == 0 ? 0 : errno;
}

int sbox_find_executable(const char *argv0, char *const *envp, char *out, size_t len)
{
	const char *path = caller_getenv(envp, "PATH");
	int best = ENOENT;

	if (argv0[0] == '\0')
		return ENOENT;
	if (strchr(argv0, '/')) {
		if (snprintf(out, len, "%s", argv0) >= (int)len)
			return ENAMETOOLONG;
		return try_candidate(out);
	}
	if (!path)
		path = DEFAULT_PATH;
	while (*path) {
		size_t dlen = strcspn(path, ":");
		int r;

		if (snprintf(out, len, "%.*s%s%s", (int)dlen, dlen ? path : ".",
			     "/", argv0) >= (int)len)
			return ENAMETOOLONG;
		r = try_candidate(out);
		if (r == 0)
			return 0;
		/* execvp's rule: a candidate that exists but can't be run
		 * is remembered, and reported if nothing better turns up. */
		if (r != ENOENT && r != ENOTDIR)
			best = r;
		path += dlen;
		if (*path == ':')
			path++;
	}
	return best;
}
