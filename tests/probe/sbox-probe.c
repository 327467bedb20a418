/* SPDX-License-Identifier: MIT */
/*
 * sbox-probe: a small program that the integration tests run INSIDE a
 * sandbox to report what the sandbox looks like from the inside.
 *
 * It depends on nothing but libc and the Linux headers, so that it can be
 * built statically and run in a sandbox that holds nothing else.
 *
 * Output contract (tests grep exact lines):
 *   - one "key=value" per line on stdout;
 *   - a value never contains a newline: '\n' is written as the two
 *     characters "\n" and '\\' as "\\" (keys are escaped the same way);
 *   - some keys repeat (mount=, dev=), one line per item;
 *   - when a report value cannot be obtained, "KEY_error=ERRNO_NAME" is
 *     printed instead of "KEY=".
 *
 * Exit status: 0 once the result was printed (a failure that is being
 * probed, such as "open=EACCES", is a result, not an error); 2 on bad usage
 * or an unknown syscall name; 1 when the probe itself failed (stdout
 * unwritable, out of memory).  "exit", "kill" and "syscall" end the process
 * in their own ways on purpose.
 *
 * Nothing here may change the state of the system it runs on, even as real
 * root: every syscall in the "syscall" table is given arguments that the
 * kernel rejects before it acts (see the comment on each), and every file
 * the probe creates is removed again.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/personality.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A path that does not exist; syscalls that take a path are pointed at it. */
#define NONEXISTENT "/nonexistent-sbox"

extern char **environ;

/* Names of errno values and signals: the probe reports names, so a test
 * compares "EPERM", not a number that differs by architecture. */

struct num_name {
	int num;
	const char *name;
};

#define NN(x) { x, #x }

/* Our own table first, so that the names are the same with every libc;
 * aliases (EWOULDBLOCK, ENOTSUP, EDEADLOCK) come after their canonical
 * name and are therefore never printed. */
static const struct num_name errno_names[] = {
	NN(EPERM), NN(ENOENT), NN(ESRCH), NN(EINTR), NN(EIO), NN(ENXIO),
	NN(E2BIG), NN(ENOEXEC), NN(EBADF), NN(ECHILD), NN(EAGAIN),
	NN(ENOMEM), NN(EACCES), NN(EFAULT), NN(ENOTBLK), NN(EBUSY),
	NN(EEXIST), NN(EXDEV), NN(ENODEV), NN(ENOTDIR), NN(EISDIR),
	NN(EINVAL), NN(ENFILE), NN(EMFILE), NN(ENOTTY), NN(ETXTBSY),
	NN(EFBIG), NN(ENOSPC), NN(ESPIPE), NN(EROFS), NN(EMLINK),
	NN(EPIPE), NN(EDOM), NN(ERANGE), NN(EDEADLK), NN(ENAMETOOLONG),
	NN(ENOLCK), NN(ENOSYS), NN(ENOTEMPTY), NN(ELOOP), NN(ENOMSG),
	NN(EIDRM), NN(ENODATA), NN(ETIME), NN(ENOLINK), NN(EPROTO),
	NN(EBADMSG), NN(EOVERFLOW), NN(EBADFD), NN(EILSEQ), NN(EUSERS),
	NN(ENOTSOCK), NN(EDESTADDRREQ), NN(EMSGSIZE), NN(EPROTOTYPE),
	NN(ENOPROTOOPT), NN(EPROTONOSUPPORT), NN(ESOCKTNOSUPPORT),
	NN(EOPNOTSUPP), NN(EPFNOSUPPORT), NN(EAFNOSUPPORT), NN(EADDRINUSE),
	NN(EADDRNOTAVAIL), NN(ENETDOWN), NN(ENETUNREACH), NN(ENETRESET),
	NN(ECONNABORTED), NN(ECONNRESET), NN(ENOBUFS), NN(EISCONN),
	NN(ENOTCONN), NN(ESHUTDOWN), NN(ETOOMANYREFS), NN(ETIMEDOUT),
	NN(ECONNREFUSED), NN(EHOSTDOWN), NN(EHOSTUNREACH), NN(EALREADY),
	NN(EINPROGRESS), NN(ESTALE), NN(EDQUOT), NN(ENOMEDIUM),
	NN(EMEDIUMTYPE), NN(ECANCELED), NN(ENOKEY), NN(EKEYEXPIRED),
	NN(EKEYREVOKED), NN(EKEYREJECTED), NN(EOWNERDEAD),
	NN(ENOTRECOVERABLE), NN(ERFKILL), NN(EHWPOISON),
	NN(EWOULDBLOCK), NN(ENOTSUP), NN(EDEADLOCK),
};

static const struct num_name signal_names[] = {
	NN(SIGHUP), NN(SIGINT), NN(SIGQUIT), NN(SIGILL), NN(SIGTRAP),
	NN(SIGABRT), NN(SIGBUS), NN(SIGFPE), NN(SIGKILL), NN(SIGUSR1),
	NN(SIGSEGV), NN(SIGUSR2), NN(SIGPIPE), NN(SIGALRM), NN(SIGTERM),
#ifdef SIGSTKFLT
	NN(SIGSTKFLT),
#endif
	NN(SIGCHLD), NN(SIGCONT), NN(SIGSTOP), NN(SIGTSTP), NN(SIGTTIN),
	NN(SIGTTOU), NN(SIGURG), NN(SIGXCPU), NN(SIGXFSZ), NN(SIGVTALRM),
	NN(SIGPROF), NN(SIGWINCH), NN(SIGIO),
#ifdef SIGPWR
	NN(SIGPWR),
#endif
	NN(SIGSYS),
};

/* "EPERM" for EPERM, "0" for 0, the number when the name is unknown.
 * The result may live in a static buffer: use it before the next call. */
static const char *errno_name(int err)
{
	static char buf[24];

	if (err == 0)
		return "0";
	for (size_t i = 0; i < ARRAY_SIZE(errno_names); i++)
		if (errno_names[i].num == err)
			return errno_names[i].name;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
	{
		const char *name = strerrorname_np(err);

		if (name)
			return name;
	}
#endif
	snprintf(buf, sizeof(buf), "%d", err);
	return buf;
}

/* "SIGTERM", "SIGRTMIN+3", or "SIG<number>"; same buffer rule as above. */
static const char *signal_name(int sig)
{
	static char buf[32];

	for (size_t i = 0; i < ARRAY_SIZE(signal_names); i++)
		if (signal_names[i].num == sig)
			return signal_names[i].name;
	if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, sizeof(buf), "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, sizeof(buf), "SIG%d", sig);
	return buf;
}

/* Small helpers: memory, parsing, output. */

__attribute__((noreturn)) static void die_oom(void)
{
	fputs("sbox-probe: out of memory\n", stderr);
	exit(1);
}

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p)
		die_oom();
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		die_oom();
	return d;
}

/* A growable string, used to join lists into one value. */
struct strbuf {
	char *s;
	size_t len, cap;
};

static void sb_add(struct strbuf *sb, const char *s, size_t n)
{
	if (sb->len + n + 1 > sb->cap) {
		sb->cap = (sb->len + n + 1) * 2;
		sb->s = xrealloc(sb->s, sb->cap);
	}
	memcpy(sb->s + sb->len, s, n);
	sb->len += n;
	sb->s[sb->len] = '\0';
}

static void sb_adds(struct strbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

/* Append SEP unless the buffer is still empty: builds "a,b,c". */
static void sb_sep(struct strbuf *sb, const char *sep)
{
	if (sb->len)
		sb_adds(sb, sep);
}

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		die_oom();
	va_end(ap);
	sb_adds(sb, s);
	free(s);
}

static const char *sb_str(const struct strbuf *sb)
{
	return sb->s ? sb->s : "";
}

static void sb_free(struct strbuf *sb)
{
	free(sb->s);
	sb->s = NULL;
	sb->len = sb->cap = 0;
}

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Seconds as a decimal number ("1", "0.25"); up to a year. */
static bool parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	/* The comparisons are false for NaN too. */
	if (errno || end == s || *end || !(v >= 0 && v <= 366.0 * 86400))
		return false;
	*out = v;
	return true;
}

static void put_escaped(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			fputs("\\n", stdout);
		else if (*s == '\\')
			fputs("\\\\", stdout);
		else
			putchar(*s);
	}
}

static void put_kv(const char *key, const char *value)
{
	put_escaped(key);
	putchar('=');
	put_escaped(value);
	putchar('\n');
}

__attribute__((format(printf, 2, 3)))
static void put_kvf(const char *key, const char *fmt, ...)
{
	va_list ap;
	char *value;

	va_start(ap, fmt);
	if (vasprintf(&value, fmt, ap) < 0)
		die_oom();
	va_end(ap);
	put_kv(key, value);
	free(value);
}

/* "KEY_error=ERRNO": the value of KEY could not be obtained. */
static void put_error(const char *key, int err)
{
	put_escaped(key);
	fputs("_error=", stdout);
	put_escaped(errno_name(err));
	putchar('\n');
}

/* Read a whole file (proc files report size 0, so read until EOF).
 * Returns 0 and a NUL-terminated malloc'd buffer, or an errno value. */
static int read_file(const char *path, char **out)
{
	struct strbuf sb = { 0 };
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return errno;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			close(fd);
			sb_free(&sb);
			return err;
		}
		if (n == 0)
			break;
		sb_add(&sb, buf, (size_t)n);
	}
	close(fd);
	*out = sb.s ? sb.s : xstrdup("");
	return 0;
}

/* The value of "Name:\tvalue" in a /proc/PID/status text, malloc'd, or NULL. */
static char *status_field(const char *status, const char *name)
{
	size_t len = strlen(name);

	for (const char *line = status; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, name, len) == 0 && line[len] == ':') {
			const char *v = line + len + 1;
			size_t vlen;

			v += strspn(v, " \t");
			vlen = strcspn(v, "\n");
			return strndup(v, vlen);
		}
	}
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* Sorted names in a directory, without "." and "..".
 * Returns 0 (fills *names / *count, free with free_names) or an errno. */
static int list_dir(const char *path, char ***names, size_t *count)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char **v = NULL;
	size_t n = 0;

	if (!d)
		return errno;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_str);
	*names = v;
	*count = n;
	return 0;
}

static void free_names(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

/* Decode the octal escapes (\040 for a space...) that the kernel writes
 * into /proc/self/mountinfo, in place; put_kv() then applies ours. */
static void unescape_octal(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

static void sleep_seconds(double secs)
{
	struct timespec ts;

	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	if (ts.tv_nsec > 999999999)
		ts.tv_nsec = 999999999;
	/* nanosleep() leaves the time still to sleep in ts when interrupted. */
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static long long monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* report: what the process sees from inside (ids, capabilities, namespaces). */

static void report_ids(void)
{
	int n = getgroups(0, NULL);
	gid_t *groups;
	struct strbuf sb = { 0 };
	pid_t sid = getsid(0);

	put_kvf("pid", "%ld", (long)getpid());
	put_kvf("ppid", "%ld", (long)getppid());
	put_kvf("uid", "%lu", (unsigned long)getuid());
	put_kvf("euid", "%lu", (unsigned long)geteuid());
	put_kvf("gid", "%lu", (unsigned long)getgid());
	put_kvf("egid", "%lu", (unsigned long)getegid());

	if (n < 0) {
		put_error("groups", errno);
	} else {
		groups = xrealloc(NULL, (size_t)n * sizeof(*groups));
		n = getgroups(n, groups);
		if (n < 0) {
			put_error("groups", errno);
		} else {
			for (int i = 0; i < n; i++) {
				sb_sep(&sb, ",");
				sb_printf(&sb, "%lu", (unsigned long)groups[i]);
			}
			put_kv("groups", sb_str(&sb));
		}
		free(groups);
		sb_free(&sb);
	}

	put_kvf("sid", "%ld", (long)sid);
	put_kvf("pgid", "%ld", (long)getpgrp());
	put_kvf("session_leader", "%d", sid == getpid());
}

static void report_cwd(void)
{
	char *cwd = getcwd(NULL, 0);	/* glibc allocates as much as needed */

	if (cwd)
		put_kv("cwd", cwd);
	else
		put_error("cwd", errno);
	free(cwd);
}

static void report_hostname(void)
{
	struct utsname u;

	if (uname(&u) == 0)
		put_kv("hostname", u.nodename);
	else
		put_error("hostname", errno);
}

/* Fields of /proc/self/status, in the order and under the keys we print. */
static const struct {
	const char *key, *field;
} status_keys[] = {
	{ "sig_blocked", "SigBlk" }, { "sig_ignored", "SigIgn" },
	{ "sig_caught", "SigCgt" },
	{ "cap_inh", "CapInh" }, { "cap_prm", "CapPrm" },
	{ "cap_eff", "CapEff" }, { "cap_bnd", "CapBnd" },
	{ "cap_amb", "CapAmb" },
	{ "no_new_privs", "NoNewPrivs" }, { "seccomp", "Seccomp" },
};

static void report_umask(const char *status)
{
	char *v = status ? status_field(status, "Umask") : NULL;

	if (v) {
		put_kv("umask", v);
	} else {
		/* Kernels before 4.7 have no Umask: field; reading the mask with
		 * umask() means setting it, so set it back at once. */
		mode_t m = umask(0);

		umask(m);
		put_kvf("umask", "%04o", (unsigned)m);
	}
	free(v);
}

static void report_status_fields(const char *status, int status_err)
{
	for (size_t i = 0; i < ARRAY_SIZE(status_keys); i++) {
		char *v = status ? status_field(status, status_keys[i].field) : NULL;

		if (v)
			put_kv(status_keys[i].key, v);
		else
			put_error(status_keys[i].key, status ? ENOENT : status_err);
		free(v);
	}
}

static void report_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long *fds = NULL;
	size_t n = 0;
	char path[64], target[PATH_MAX + 1];

	if (!d) {
		put_error("fd", errno);
		return;
	}
	while ((e = readdir(d))) {
		long fd;

		/* Leave out the descriptor that reads the directory itself. */
		if (!parse_long(e->d_name, 0, INT_MAX, &fd) || fd == dirfd(d))
			continue;
		fds = xrealloc(fds, (n + 1) * sizeof(*fds));
		fds[n++] = fd;
	}
	closedir(d);
	qsort(fds, n, sizeof(*fds), cmp_long);

	put_kvf("fd", "%zu", n);
	for (size_t i = 0; i < n; i++) {
		char key[32];
		ssize_t len;

		snprintf(key, sizeof(key), "fd.%ld", fds[i]);
		snprintf(path, sizeof(path), "/proc/self/fd/%ld", fds[i]);
		len = readlink(path, target, sizeof(target) - 1);
		if (len < 0) {
			put_error(key, errno);
			continue;
		}
		target[len] = '\0';
		put_kv(key, target);
	}
	free(fds);
}

/* Environment entries ordered by the name before '='. */
static int cmp_env(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t nx = strcspn(x, "="), ny = strcspn(y, "=");
	int c = memcmp(x, y, nx < ny ? nx : ny);

	return c ? c : (nx > ny) - (nx < ny);
}

static void report_env(void)
{
	size_t n = 0;
	char **env;

	while (environ && environ[n])
		n++;
	env = xrealloc(NULL, n * sizeof(*env));
	if (n)
		memcpy(env, environ, n * sizeof(*env));
	qsort(env, n, sizeof(*env), cmp_env);

	for (size_t i = 0; i < n; i++) {
		size_t name_len = strcspn(env[i], "=");
		const char *value = env[i][name_len] ? env[i] + name_len + 1 : "";
		struct strbuf key = { 0 };

		sb_adds(&key, "env.");
		sb_add(&key, env[i], name_len);
		put_kv(key.s, value);
		sb_free(&key);
	}
	put_kvf("env_count", "%zu", n);
	free(env);
}

static void report_procs(void)
{
	char **names;
	size_t n;
	long *pids;
	size_t npids = 0;
	struct strbuf sb = { 0 };
	int err = list_dir("/proc", &names, &n);

	if (err) {
		put_error("procs", err);
		return;
	}
	pids = xrealloc(NULL, n * sizeof(*pids));
	for (size_t i = 0; i < n; i++) {
		long pid;

		if (all_digits(names[i]) && parse_long(names[i], 1, LONG_MAX, &pid))
			pids[npids++] = pid;
	}
	qsort(pids, npids, sizeof(*pids), cmp_long);
	for (size_t i = 0; i < npids; i++) {
		sb_sep(&sb, " ");
		sb_printf(&sb, "%ld", pids[i]);
	}
	put_kv("procs", sb_str(&sb));
	sb_free(&sb);
	free(pids);
	free_names(names, n);
}

/* "KEY=name1 name2 ..." for the (sorted) entries of a directory. */
static void report_dir_names(const char *key, const char *path)
{
	char **names;
	size_t n;
	struct strbuf sb = { 0 };
	int err = list_dir(path, &names, &n);

	if (err) {
		put_error(key, err);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		sb_sep(&sb, " ");
		sb_adds(&sb, names[i]);
	}
	put_kv(key, sb_str(&sb));
	sb_free(&sb);
	free_names(names, n);
}

/* One "mount=<mountpoint> <fstype> <mount options> <super options>" per
 * line of mountinfo, whose fields are:
 *   id parent major:minor root mountpoint options [optional...] - fstype source super-options */
static void report_mounts(void)
{
	char *text, *next;
	int err = read_file("/proc/self/mountinfo", &text);

	if (err) {
		put_error("mount", err);
		return;
	}
	for (char *line = text; *line; line = next) {
		char *field[64], *rest = line;
		int n = 0, sep = -1;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);

		/* strsep() keeps empty fields (an empty source), strtok() would not. */
		while (n < (int)ARRAY_SIZE(field) && rest)
			field[n++] = strsep(&rest, " ");
		for (int i = 6; i < n; i++) {
			if (!strcmp(field[i], "-")) {
				sep = i;
				break;
			}
		}
		if (sep < 0 || sep + 3 >= n)
			continue;	/* not a line we understand */
		unescape_octal(field[4]);
		unescape_octal(field[5]);
		unescape_octal(field[sep + 1]);
		unescape_octal(field[sep + 3]);
		put_kvf("mount", "%s %s %s %s", field[4], field[sep + 1],
			field[5], field[sep + 3]);
	}
	free(text);
}

/* PREFIX_writable=1|0 and PREFIX_write_errno=0|ERRNO for creating a file
 * in DIR; the file is removed again. */
static void report_writable(const char *prefix, const char *dir)
{
	char path[PATH_MAX], key[64];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/.sbox-probe-%ld",
		 strcmp(dir, "/") ? dir : "", (long)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		err = errno;
	} else {
		close(fd);
		if (unlink(path) < 0)
			fprintf(stderr, "sbox-probe: cannot remove %s: %s\n",
				path, strerror(errno));
	}
	snprintf(key, sizeof(key), "%s_writable", prefix);
	put_kvf(key, "%d", err == 0);
	snprintf(key, sizeof(key), "%s_write_errno", prefix);
	put_kv(key, errno_name(err));
}

static void report_rlimits(void)
{
	static const struct num_name limits[] = {
		{ RLIMIT_NOFILE, "NOFILE" }, { RLIMIT_NPROC, "NPROC" },
		{ RLIMIT_CORE, "CORE" }, { RLIMIT_AS, "AS" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(limits); i++) {
		struct rlimit rl;
		char key[32], soft[32], hard[32];

		snprintf(key, sizeof(key), "rlimit.%s", limits[i].name);
		if (getrlimit(limits[i].num, &rl) < 0) {
			put_error(key, errno);
			continue;
		}
		if (rl.rlim_cur == RLIM_INFINITY)
			snprintf(soft, sizeof(soft), "unlimited");
		else
			snprintf(soft, sizeof(soft), "%llu", (unsigned long long)rl.rlim_cur);
		if (rl.rlim_max == RLIM_INFINITY)
			snprintf(hard, sizeof(hard), "unlimited");
		else
			snprintf(hard, sizeof(hard), "%llu", (unsigned long long)rl.rlim_max);
		put_kvf(key, "%s:%s", soft, hard);
	}
}

/* if_nameindex() asks the kernel over netlink and so sees the network
 * namespace the probe runs in; /sys/class/net shows the namespace sysfs was
 * mounted from, which a sandbox may not have remounted.  Netlink may be
 * filtered, hence the fallback. */
static void report_netifs(void)
{
	struct if_nameindex *ifs = if_nameindex();
	char **names = NULL;
	size_t n = 0;
	struct strbuf sb = { 0 };

	if (!ifs) {
		report_dir_names("netifs", "/sys/class/net");
		return;
	}
	for (struct if_nameindex *i = ifs; i->if_index; i++) {
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrdup(i->if_name);
	}
	if_freenameindex(ifs);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		sb_sep(&sb, " ");
		sb_adds(&sb, names[i]);
	}
	put_kv("netifs", sb_str(&sb));
	sb_free(&sb);
	free_names(names, n);
}

static void report_cgroup(void)
{
	char *text;
	int err = read_file("/proc/self/cgroup", &text);
	size_t len;

	if (err) {
		put_error("cgroup", err);
		return;
	}
	len = strlen(text);
	while (len && text[len - 1] == '\n')
		text[--len] = '\0';
	for (char *p = text; *p; p++)
		if (*p == '\n')
			*p = ';';
	put_kv("cgroup", text);
	free(text);
}

static void report_cpus(void)
{
	/* Grow the set until the kernel's cpumask fits (EINVAL otherwise). */
	for (int ncpus = 1024; ncpus <= (1 << 22); ncpus *= 2) {
		cpu_set_t *set = CPU_ALLOC(ncpus);
		size_t size = CPU_ALLOC_SIZE(ncpus);
		struct strbuf sb = { 0 };

		if (!set)
			die_oom();
		if (sched_getaffinity(0, size, set) < 0) {
			int err = errno;

			CPU_FREE(set);
			if (err == EINVAL)
				continue;
			put_error("nproc_allowed", err);
			put_error("cpus_allowed", err);
			return;
		}
		/* Canonical list: "0-3,8,10-11". */
		for (int cpu = 0; cpu < ncpus; cpu++) {
			int last = cpu;

			if (!CPU_ISSET_S(cpu, size, set))
				continue;
			while (last + 1 < ncpus && CPU_ISSET_S(last + 1, size, set))
				last++;
			sb_sep(&sb, ",");
			if (last == cpu)
				sb_printf(&sb, "%d", cpu);
			else
				sb_printf(&sb, "%d-%d", cpu, last);
			cpu = last;
		}
		put_kvf("nproc_allowed", "%d", CPU_COUNT_S(size, set));
		put_kv("cpus_allowed", sb_str(&sb));
		sb_free(&sb);
		CPU_FREE(set);
		return;
	}
	put_error("nproc_allowed", EINVAL);
	put_error("cpus_allowed", EINVAL);
}

/* ns.NAME=<link target> for each /proc/self/ns entry, e.g.
 * "ns.user=user:[4026531837]", so that a test can compare namespaces. */
static void report_namespaces(void)
{
	char **names;
	size_t n;
	int err = list_dir("/proc/self/ns", &names, &n);

	if (err) {
		put_error("ns", err);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX], target[256], key[128];
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/ns/%s", names[i]);
		snprintf(key, sizeof(key), "ns.%s", names[i]);
		len = readlink(path, target, sizeof(target) - 1);
		if (len < 0) {
			put_error(key, errno);
			continue;
		}
		target[len] = '\0';
		put_kv(key, target);
	}
	free_names(names, n);
}

static int cmd_report(char **args)
{
	char *status = NULL;
	int status_err = read_file("/proc/self/status", &status);

	(void)args;
	report_ids();
	report_cwd();
	report_umask(status);
	report_hostname();
	report_status_fields(status, status_err);
	free(status);
	report_fds();
	report_env();
	report_procs();
	report_dir_names("dev", "/dev");
	report_mounts();
	report_writable("root", "/");
	report_writable("tmp", "/tmp");
	report_rlimits();
	report_netifs();
	report_cgroup();
	report_cpus();
	report_namespaces();
	return 0;
}

/* Process control: exit, kill, sleep, wait-signal. */

static int usage_error(const char *msg)
{
	fprintf(stderr, "sbox-probe: %s\n", msg);
	return 2;
}

static int cmd_exit(char **args)
{
	long status;

	if (!parse_long(args[0], 0, 255, &status))
		return usage_error("exit: N must be 0..255");
	fflush(stdout);
	exit((int)status);
}

/* "TERM", "SIGTERM", "sigterm" or "15"; -1 when unknown. */
static int parse_signal(const char *s)
{
	long n;

	if (parse_long(s, 1, SIGRTMAX, &n))
		return (int)n;
	for (size_t i = 0; i < ARRAY_SIZE(signal_names); i++) {
		const char *name = signal_names[i].name;

		if (!strcasecmp(s, name) || !strcasecmp(s, name + 3))
			return signal_names[i].num;
	}
	return -1;
}

static int cmd_kill(char **args)
{
	int sig = parse_signal(args[0]);
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t set;

	if (sig < 0)
		return usage_error("kill: unknown signal");
	fflush(stdout);
	/* The sandbox may have ignored, caught or blocked it: undo all three
	 * (SIGKILL and SIGSTOP cannot be changed and need not be). */
	sigaction(sig, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	/* Still alive: the default action of this signal is to ignore it, or
	 * it stopped us and we were continued. */
	fprintf(stderr, "sbox-probe: survived %s\n", signal_name(sig));
	return 1;
}

static int do_sleep(const char *arg, bool print_ready)
{
	double secs;

	if (!parse_seconds(arg, &secs))
		return usage_error("sleep: SECONDS must be a number >= 0");
	if (print_ready) {
		puts("ready");
		fflush(stdout);
	}
	sleep_seconds(secs);
	return 0;
}

static int cmd_sleep(char **args)
{
	return do_sleep(args[0], false);
}

static int cmd_sleep_print(char **args)
{
	return do_sleep(args[0], true);
}

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static int cmd_wait_signal(char **args)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 };
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t set, wait_mask;

	(void)args;
	/* Block them until sigsuspend(), so that a signal sent right after
	 * "ready" is neither lost nor fatal. */
	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaddset(&set, sigs[i]);
	sigprocmask(SIG_BLOCK, &set, &wait_mask);
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		sigaction(sigs[i], &sa, NULL);
		sigdelset(&wait_mask, sigs[i]);
	}
	puts("ready");
	fflush(stdout);
	while (!got_signal)
		sigsuspend(&wait_mask);
	put_kv("got", signal_name(got_signal));
	return 0;
}

/* Files: open, write, mkdir, unlink, stat. */

static int cmd_open(char **args)
{
	static const struct {
		const char *mode;
		int flags;
	} modes[] = {
		{ "r", O_RDONLY }, { "w", O_WRONLY }, { "rw", O_RDWR }, { "path", O_PATH },
	};
	int fd;

	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		if (strcmp(args[1], modes[i].mode))
			continue;
		/* O_NOCTTY: opening a terminal must not make it ours. */
		fd = open(args[0], modes[i].flags | O_CLOEXEC | O_NOCTTY);
		put_kv("open", fd < 0 ? errno_name(errno) : "ok");
		if (fd >= 0)
			close(fd);
		return 0;
	}
	return usage_error("open: MODE must be r, w, rw or path");
}

static int cmd_write(char **args)
{
	int err = 0;
	int fd = open(args[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);

	if (fd < 0) {
		err = errno;
	} else {
		ssize_t n = write(fd, "x", 1);

		if (n < 0)
			err = errno;
		else if (n != 1)
			err = EIO;
		if (close(fd) < 0 && !err)
			err = errno;
	}
	put_kv("write", err ? errno_name(err) : "ok");
	return 0;
}

static int cmd_mkdir(char **args)
{
	put_kv("mkdir", mkdir(args[0], 0755) < 0 ? errno_name(errno) : "ok");
	return 0;
}

static int cmd_unlink(char **args)
{
	put_kv("unlink", unlink(args[0]) < 0 ? errno_name(errno) : "ok");
	return 0;
}

static const char *file_type(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFCHR: return "chr";
	case S_IFBLK: return "blk";
	case S_IFDIR: return "dir";
	case S_IFREG: return "reg";
	case S_IFLNK: return "lnk";
	case S_IFSOCK: return "sock";
	case S_IFIFO: return "fifo";
	default: return "other";
	}
}

/* Init's capability sets and dumpability as the worker finds them first
 * thing after execve: init must have hardened itself (C7a, C7b) before the
 * worker could run a single instruction of its own. */
static int cmd_init_state(char **args)
{
	char line[256];
	FILE *f = fopen("/proc/1/status", "re");
	int fd;

	(void)args;
	/* Non-dumpable: its memory and environment don't open. */
	fd = open("/proc/1/environ", O_RDONLY | O_CLOEXEC);
	put_kv("init_environ", fd < 0 ? errno_name(errno) : "ok");
	if (fd >= 0)
		close(fd);
	if (!f) {
		put_kv("init_status", errno_name(errno));
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		char v[64];

		if (sscanf(line, "CapPrm: %63s", v) == 1)
			put_kv("init_cap_prm", v);
		else if (sscanf(line, "CapEff: %63s", v) == 1)
			put_kv("init_cap_eff", v);
	}
	fclose(f);
	return 0;
}

static int cmd_stat(char **args)
{
	struct stat st;

	/* lstat: a symlink is reported as one ("lnk"), not followed. */
	if (lstat(args[0], &st) < 0) {
		put_kv("stat", errno_name(errno));
		return 0;
	}
	put_kvf("stat", "ok type=%s mode=%04o rdev=%u:%u", file_type(st.st_mode),
		(unsigned)(st.st_mode & 07777), major(st.st_rdev), minor(st.st_rdev));
	return 0;
}

/* "dev=PATH MAJ:MIN" for each of a colon-separated list: which
 * superblock each path is on (lstat's st_dev), all in one sandbox. */
static int cmd_devs(char **args)
{
	char *list = args[0], *path;

	while ((path = strsep(&list, ":")) != NULL) {
		struct stat st;

		if (!*path)
			continue;
		if (lstat(path, &st) < 0)
			put_kvf("dev", "%s %s", path, errno_name(errno));
		else
			put_kvf("dev", "%s %u:%u", path, major(st.st_dev), minor(st.st_dev));
	}
	return 0;
}

/* Resources: alloc, forkbomb, spin. */

static int cmd_alloc(char **args)
{
	long mb;
	volatile char *p;
	size_t size;

	if (!parse_long(args[0], 0, (long)(SIZE_MAX >> 21), &mb))
		return usage_error("alloc: MB must be a number of megabytes");
	size = (size_t)mb << 20;
	p = malloc(size ? size : 1);
	if (!p) {
		put_kv("alloc", errno_name(ENOMEM));
		return 0;
	}
	/* Touch every page so that the memory is really charged (malloc only
	 * reserves address space); volatile keeps the stores. */
	for (size_t off = 0; off < size; off += 4096)
		p[off] = 1;
	free((void *)p);
	put_kv("alloc", "ok");
	return 0;
}

__attribute__((noreturn)) static void forkbomb_child(pid_t parent)
{
	/* Die with the parent, whatever kills it; the getppid() check closes
	 * the window where the parent died before the prctl(). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	/* Do not keep the test's pipes open. */
	for (int fd = 0; fd < 3; fd++)
		close(fd);
	sleep_seconds(30);
	_exit(0);
}

static int cmd_forkbomb(char **args)
{
	long n, ok = 0;
	int first_err = 0;
	pid_t parent = getpid();
	pid_t *kids;

	if (!parse_long(args[0], 0, 1000000, &n))
		return usage_error("forkbomb: N must be 0..1000000");
	kids = xrealloc(NULL, (size_t)n * sizeof(*kids));
	fflush(stdout);	/* children must not inherit buffered output */
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			first_err = errno;	/* EAGAIN from a pids limit */
			break;
		}
		if (pid == 0)
			forkbomb_child(parent);
		kids[ok++] = pid;
	}
	put_kvf("forked", "%ld", ok);
	put_kv("fork_errno", errno_name(first_err));
	fflush(stdout);
	for (long i = 0; i < ok; i++)
		kill(kids[i], SIGKILL);
	for (long i = 0; i < ok; i++)
		while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR)
			;
	free(kids);
	return 0;
}

static int cmd_spin(char **args)
{
	double secs;
	long long start, wall;
	volatile unsigned long sink = 0;
	struct rusage ru;

	if (!parse_seconds(args[0], &secs))
		return usage_error("spin: SECONDS must be a number >= 0");
	start = monotonic_usec();
	do {
		for (unsigned long i = 0; i < 100000; i++)
			sink += i;
		wall = monotonic_usec() - start;
	} while ((double)wall < secs * 1e6);
	(void)sink;	/* the loop only exists to burn CPU */

	if (getrusage(RUSAGE_SELF, &ru) < 0) {
		put_error("cpu_usec", errno);
	} else {
		long long cpu = (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
				ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;

		put_kvf("cpu_usec", "%lld", cpu);
	}
	put_kvf("wall_usec", "%lld", wall);
	return 0;
}

/* Network: connect-tcp, connect-abstract, echo-tcp-loopback. */

/* Wait up to TIMEOUT_MS for EVENTS on FD: 0, ETIMEDOUT or an errno. */
static int wait_fd(int fd, short events, int timeout_ms)
{
	long long deadline = monotonic_usec() + (long long)timeout_ms * 1000;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		long long left = deadline - monotonic_usec();
		int r;

		if (left < 0)
			left = 0;
		r = poll(&p, 1, (int)((left + 999) / 1000));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno;
		return r == 0 ? ETIMEDOUT : 0;
	}
}

/* connect() that gives up after TIMEOUT_MS: 0 or an errno value.  The
 * socket is back in blocking mode afterwards. */
static int connect_timeout(int fd, const struct sockaddr *sa, socklen_t len, int timeout_ms)
{
	int flags = fcntl(fd, F_GETFL);
	int err = 0;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return errno;
	if (connect(fd, sa, len) < 0) {
		err = errno;
		if (err == EINPROGRESS) {
			err = wait_fd(fd, POLLOUT, timeout_ms);
			if (!err) {
				socklen_t elen = sizeof(err);

				if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
					err = errno;
			}
		}
	}
	if (fcntl(fd, F_SETFL, flags) < 0 && !err)
		err = errno;
	return err;
}

static int cmd_connect_tcp(char **args)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} addr;
	socklen_t len;
	long port;
	int fd, err;

	/* Numeric addresses only: name resolution would need NSS, which a
	 * static binary in a bare sandbox does not have. */
	if (!parse_long(args[1], 1, 65535, &port))
		return usage_error("connect-tcp: PORT must be 1..65535");
	memset(&addr, 0, sizeof(addr));
	if (inet_pton(AF_INET, args[0], &addr.in4.sin_addr) == 1) {
		addr.in4.sin_family = AF_INET;
		addr.in4.sin_port = htons((uint16_t)port);
		len = sizeof(addr.in4);
	} else if (inet_pton(AF_INET6, args[0], &addr.in6.sin6_addr) == 1) {
		addr.in6.sin6_family = AF_INET6;
		addr.in6.sin6_port = htons((uint16_t)port);
		len = sizeof(addr.in6);
	} else {
		return usage_error("connect-tcp: HOST must be a numeric IPv4 or IPv6 address");
	}

	fd = socket(addr.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	err = fd < 0 ? errno : connect_timeout(fd, &addr.sa, len, 1000);
	if (fd >= 0)
		close(fd);
	put_kv("connect", err ? errno_name(err) : "ok");
	return 0;
}

/* One UDP datagram to DST:PORT in an IPv4 header of our own making, with
 * SRC as its source, whatever the sandbox's address is (a raw socket:
 * needs CAP_NET_RAW).  The payload says which source was claimed. */
static int cmd_send_udp_as(char **args)
{
	struct {
		struct iphdr ip;
		struct udphdr udp;
		char data[32];
	} __attribute__((packed)) pkt;
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct in_addr src;
	size_t n;
	long port;
	int fd, err = 0;

	if (!parse_long(args[2], 1, 65535, &port) || inet_pton(AF_INET, args[0], &src) != 1 ||
	    inet_pton(AF_INET, args[1], &to.sin_addr) != 1)
		return usage_error("send-udp-as: SRC and DST numeric IPv4 addresses, PORT 1..65535");
	memset(&pkt, 0, sizeof(pkt));
	n = (size_t)snprintf(pkt.data, sizeof(pkt.data), "from=%s", args[0]);
	pkt.ip.version = 4;
	pkt.ip.ihl = 5;
	pkt.ip.ttl = 64;
	pkt.ip.protocol = IPPROTO_UDP;
	pkt.ip.saddr = src.s_addr;
	pkt.ip.daddr = to.sin_addr.s_addr;
	/* The kernel fills in the total length, the id and the header's
	 * checksum; a UDP checksum of 0 means none (IPv4). */
	pkt.udp.source = htons(40000);
	pkt.udp.dest = htons((uint16_t)port);
	pkt.udp.len = htons((uint16_t)(sizeof(pkt.udp) + n));
	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0 || sendto(fd, &pkt, sizeof(pkt.ip) + sizeof(pkt.udp) + n, 0,
			     (struct sockaddr *)&to, sizeof(to)) < 0)
		err = errno;
	if (fd >= 0)
		close(fd);
	put_kv("send", err ? errno_name(err) : "ok");
	return 0;
}

static int cmd_connect_abstract(char **args)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t name_len = strlen(args[0]);
	int fd, err;

	/* Abstract names start with a NUL byte and are not NUL-terminated. */
	if (name_len + 1 > sizeof(sun.sun_path))
		return usage_error("connect-abstract: NAME too long");
	memcpy(sun.sun_path + 1, args[0], name_len);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	err = fd < 0 ? errno :
		connect_timeout(fd, (struct sockaddr *)&sun,
				(socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + name_len), 1000);
	if (fd >= 0)
		close(fd);
	put_kv("connect", err ? errno_name(err) : "ok");
	return 0;
}

/* Read exactly N bytes; a socket timeout (SO_RCVTIMEO) reads as ETIMEDOUT. */
static int recv_all(int fd, char *buf, size_t n)
{
	while (n) {
		ssize_t r = recv(fd, buf, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return (errno == EAGAIN || errno == EWOULDBLOCK) ? ETIMEDOUT : errno;
		if (r == 0)
			return ECONNRESET;
		buf += r;
		n -= (size_t)r;
	}
	return 0;
}

static int set_timeout(int fd)
{
	struct timeval tv = { .tv_sec = 1 };

	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ? errno : 0;
}

/* Client sends "ping", server reads it and sends it back, client reads it:
 * 0 or the errno of the first step that failed. */
static int echo_loopback(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int lfd, cfd = -1, afd = -1, err = 0;
	char buf[4];

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return errno;
	if (bind(lfd, (struct sockaddr *)&sa, len) < 0 || listen(lfd, 1) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len) < 0) {
		err = errno;
		goto out;
	}
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0) {
		err = errno;
		goto out;
	}
	err = connect_timeout(cfd, (struct sockaddr *)&sa, len, 1000);
	if (!err)
		err = wait_fd(lfd, POLLIN, 1000);
	if (err)
		goto out;
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (afd < 0) {
		err = errno;
		goto out;
	}
	if ((err = set_timeout(cfd)) || (err = set_timeout(afd)))
		goto out;
	if (send(cfd, "ping", 4, MSG_NOSIGNAL) != 4 ||
	    (err = recv_all(afd, buf, 4)) ||
	    send(afd, buf, 4, MSG_NOSIGNAL) != 4 ||
	    (err = recv_all(cfd, buf, 4))) {
		if (!err)
			err = errno ? errno : EIO;
		goto out;
	}
	if (memcmp(buf, "ping", 4))
		err = EPROTO;
out:
	if (afd >= 0)
		close(afd);
	if (cfd >= 0)
		close(cfd);
	close(lfd);
	return err;
}

static int cmd_echo_tcp_loopback(char **args)
{
	int err = echo_loopback();

	(void)args;
	put_kv("echo", err ? errno_name(err) : "ok");
	return 0;
}

/* syscall NAME / syscalls. */
/*
 * Each probe calls one syscall with arguments that the kernel rejects
 * without acting, so the result only tells whether the call reached the
 * kernel: EBADF, EFAULT, EINVAL, ENOENT, ESRCH... mean "allowed"; EPERM,
 * ENOSYS, EACCES usually mean "filtered".  Some syscalls check a capability
 * before their arguments (reboot, init_module, swapoff, acct...), so an
 * unprivileged process gets EPERM from them even without a filter; where
 * possible the arguments are chosen to fail BEFORE that check.
 *
 * A probe returns the syscall's result (>= 0, or -1 with errno set), or
 * PROBE_NA when the syscall does not exist on this architecture or in
 * these headers, or PROBE_SKIPPED when running it here would not be safe.  Raw numbers are used so that libc wrappers, which may
 * emulate or refuse calls themselves, do not get in the way.
 */
#define PROBE_NA LONG_MIN
#define PROBE_SKIPPED (LONG_MIN + 1)

/* One number per missing syscall: -1 makes TRY() answer PROBE_NA. */
#ifndef SYS_mount
#define SYS_mount (-1)
#endif
#ifndef SYS_umount2
#define SYS_umount2 (-1)
#endif
#ifndef SYS_unshare
#define SYS_unshare (-1)
#endif
#ifndef SYS_setns
#define SYS_setns (-1)
#endif
#ifndef SYS_clone
#define SYS_clone (-1)
#endif
#ifndef SYS_clone3
#define SYS_clone3 (-1)
#endif
#ifndef SYS_ptrace
#define SYS_ptrace (-1)
#endif
#ifndef SYS_keyctl
#define SYS_keyctl (-1)
#endif
#ifndef SYS_add_key
#define SYS_add_key (-1)
#endif
#ifndef SYS_request_key
#define SYS_request_key (-1)
#endif
#ifndef SYS_bpf
#define SYS_bpf (-1)
#endif
#ifndef SYS_perf_event_open
#define SYS_perf_event_open (-1)
#endif
#ifndef SYS_userfaultfd
#define SYS_userfaultfd (-1)
#endif
#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup (-1)
#endif
#ifndef SYS_process_vm_readv
#define SYS_process_vm_readv (-1)
#endif
#ifndef SYS_kcmp
#define SYS_kcmp (-1)
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd (-1)
#endif
#ifndef SYS_open_by_handle_at
#define SYS_open_by_handle_at (-1)
#endif
#ifndef SYS_name_to_handle_at
#define SYS_name_to_handle_at (-1)
#endif
#ifndef SYS_init_module
#define SYS_init_module (-1)
#endif
#ifndef SYS_finit_module
#define SYS_finit_module (-1)
#endif
#ifndef SYS_delete_module
#define SYS_delete_module (-1)
#endif
#ifndef SYS_kexec_load
#define SYS_kexec_load (-1)
#endif
#ifndef SYS_reboot
#define SYS_reboot (-1)
#endif
#ifndef SYS_swapon
#define SYS_swapon (-1)
#endif
#ifndef SYS_swapoff
#define SYS_swapoff (-1)
#endif
#ifndef SYS_acct
#define SYS_acct (-1)
#endif
#ifndef SYS_quotactl
#define SYS_quotactl (-1)
#endif
#ifndef SYS_iopl
#define SYS_iopl (-1)
#endif
#ifndef SYS_ioperm
#define SYS_ioperm (-1)
#endif
#ifndef SYS_clock_settime
#define SYS_clock_settime (-1)
#endif
#ifndef SYS_clock_adjtime
#define SYS_clock_adjtime (-1)
#endif
#ifndef SYS_syslog
#define SYS_syslog (-1)
#endif
#ifndef SYS_personality
#define SYS_personality (-1)
#endif
#ifndef SYS_ioctl
#define SYS_ioctl (-1)
#endif
#ifndef SYS_chroot
#define SYS_chroot (-1)
#endif
#ifndef SYS_pivot_root
#define SYS_pivot_root (-1)
#endif
#ifndef SYS_fsopen
#define SYS_fsopen (-1)
#endif
#ifndef SYS_open_tree
#define SYS_open_tree (-1)
#endif
#ifndef SYS_move_mount
#define SYS_move_mount (-1)
#endif
/* Linux 6.15; one number on every architecture of the generic table. */
#ifndef SYS_open_tree_attr
#if defined(__x86_64__) || defined(__aarch64__)
#define SYS_open_tree_attr 467
#else
#define SYS_open_tree_attr (-1)
#endif
#endif
#ifndef SYS_fsmount
#define SYS_fsmount (-1)
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr (-1)
#endif

#define TRY(nr, ...) ((nr) < 0 ? PROBE_NA : syscall((nr), __VA_ARGS__))

/* Flags 0 and a NULL fstype: do_new_mount() returns EINVAL even if the
 * target existed; it does not, so the lookup already fails (ENOENT). */
static long sc_mount(void)
{
	return TRY(SYS_mount, NULL, NONEXISTENT, NULL, 0UL, NULL);
}

/* Unknown umount flags are EINVAL before the path is even looked up. */
static long sc_umount2(void)
{
	return TRY(SYS_umount2, NONEXISTENT, 0x80000000);
}

/* All bits set includes bits that are not CLONE_* namespace flags:
 * check_unshare_flags() says EINVAL before anything is unshared. */
static long sc_unshare(void)
{
	return TRY(SYS_unshare, -1L);
}

static long sc_setns(void)
{
	return TRY(SYS_setns, -1, 0);
}

/* CLONE_THREAD without CLONE_SIGHAND (and CLONE_NEWUSER with CLONE_THREAD)
 * is EINVAL in copy_process(); the namespace flags are there so that a
 * filter looking at them sees them. */
static long sc_clone_ns(void)
{
	long r = TRY(SYS_clone, (unsigned long)(CLONE_NEWUSER | CLONE_NEWNS | CLONE_THREAD),
		     NULL, NULL, NULL, NULL);

	if (r == 0)
		_exit(0);	/* cannot happen; never run on as a copy */
	return r;
}

/* CLONE_THREAD without CLONE_SIGHAND is EINVAL before any process is
 * made: the filter, if it refuses CLONE_PARENT, answers first. */
static long sc_clone_parent(void)
{
	long r = TRY(SYS_clone, (unsigned long)(CLONE_PARENT | CLONE_THREAD), NULL, NULL, NULL,
		     NULL);

	if (r == 0)
		_exit(0);	/* cannot happen; never run on as a copy */
	return r;
}

/* A size below CLONE_ARGS_SIZE_VER0 is EINVAL before anything is read. */
static long sc_clone3(void)
{
	long r = TRY(SYS_clone3, NULL, 0UL);

	if (r == 0)
		_exit(0);
	return r;
}

/* No process has pid 0x7fffffff (above PID_MAX_LIMIT): ESRCH. */
static long sc_ptrace(void)
{
	return TRY(SYS_ptrace, (long)PTRACE_PEEKDATA, 0x7fffffffL, NULL, NULL);
}

/* Unknown keyctl operation: EOPNOTSUPP. */
static long sc_keyctl(void)
{
	return TRY(SYS_keyctl, -1, 0L, 0L, 0L, 0L);
}

/* NULL key type: EFAULT when it is copied in. */
static long sc_add_key(void)
{
	return TRY(SYS_add_key, NULL, NULL, NULL, 0UL, 0);
}

static long sc_request_key(void)
{
	return TRY(SYS_request_key, NULL, NULL, NULL, 0);
}

/* Unknown command: EINVAL (EPERM from old kernels when
 * kernel.unprivileged_bpf_disabled is set and we lack CAP_BPF). */
static long sc_bpf(void)
{
	return TRY(SYS_bpf, -1, NULL, 0U);
}

/* NULL attr: EFAULT when it is copied in. */
static long sc_perf_event_open(void)
{
	return TRY(SYS_perf_event_open, NULL, 0, -1, -1, 0UL);
}

/* Unknown flags: EINVAL (UFFD_USER_MODE_ONLY is among them, which passes
 * the vm.unprivileged_userfaultfd check). */
static long sc_userfaultfd(void)
{
	return TRY(SYS_userfaultfd, -1);
}

/* NULL params: EFAULT (EPERM when kernel.io_uring_disabled says so). */
static long sc_io_uring_setup(void)
{
	return TRY(SYS_io_uring_setup, 0U, NULL);
}

/* Valid iovecs into our own buffer, a pid that cannot exist: ESRCH. */
static long sc_process_vm_readv(void)
{
	char buf[1];
	struct iovec local = { buf, 1 }, remote = { buf, 1 };

	return TRY(SYS_process_vm_readv, 0x7fffffffL, &local, 1UL, &remote, 1UL, 0UL);
}

/* KCMP_FILE (0) between processes that cannot exist: ESRCH. */
static long sc_kcmp(void)
{
	return TRY(SYS_kcmp, 0x7fffffffL, 0x7fffffffL, 0, 0UL, 0UL);
}

static long sc_pidfd_getfd(void)
{
	return TRY(SYS_pidfd_getfd, -1, -1, 0U);
}

/* EBADF or EFAULT; before Linux 6.5-ish the CAP_DAC_READ_SEARCH check came
 * first, so unprivileged callers of old kernels see EPERM regardless. */
static long sc_open_by_handle_at(void)
{
	return TRY(SYS_open_by_handle_at, -1, NULL, 0);
}

/* NULL path: EFAULT. */
static long sc_name_to_handle_at(void)
{
	return TRY(SYS_name_to_handle_at, -1, NULL, NULL, NULL, 0);
}

/* Length 0 is shorter than an ELF header: ENOEXEC (EPERM without
 * CAP_SYS_MODULE, which is checked first). */
static long sc_init_module(void)
{
	return TRY(SYS_init_module, NULL, 0UL, NULL);
}

static long sc_finit_module(void)
{
	return TRY(SYS_finit_module, -1, NULL, 0);
}

/* NULL name: EFAULT (EPERM without CAP_SYS_MODULE). */
static long sc_delete_module(void)
{
	return TRY(SYS_delete_module, NULL, 0U);
}

/*
 * kexec_load_check() rejects both the reserved flag bits and more than
 * KEXEC_SEGMENT_MAX (16) segments with EINVAL, after the CAP_SYS_BOOT check.
 * KEXEC_ON_CRASH is left out so the kexec_load_limit_reboot counter is the one
 * consulted; with CAP_SYS_BOOT that counter is decremented even for a call
 * that then fails, so skip when it is set to a finite value (its default is
 * -1, unlimited).
 */
static long sc_kexec_load(void)
{
	char *limit = NULL;
	bool finite = false;

	if (read_file("/proc/sys/kernel/kexec_load_limit_reboot", &limit) == 0) {
		finite = strtol(limit, NULL, 10) >= 0;
		free(limit);
	}
	if (finite) {
		return PROBE_SKIPPED;
	}
	return TRY(SYS_kexec_load, 0UL, 0x7fffffffUL, NULL, 0xfff0UL);
}

/* Wrong magic numbers: EINVAL (EPERM without CAP_SYS_BOOT, checked first). */
static long sc_reboot(void)
{
	return TRY(SYS_reboot, 0, 0, 0U, NULL);
}

/* Unknown swap flags: EINVAL, before the CAP_SYS_ADMIN check. */
static long sc_swapon(void)
{
	return TRY(SYS_swapon, NULL, -1);
}

/* NULL path: EFAULT (EPERM without CAP_SYS_ADMIN). */
static long sc_swapoff(void)
{
	return TRY(SYS_swapoff, NULL);
}

/* An empty path is ENOENT in getname() before anything is opened; a real
 * path that happened to exist would turn accounting on, and NULL would turn
 * it off.  EPERM without CAP_SYS_PACCT (checked first). */
static long sc_acct(void)
{
	return TRY(SYS_acct, "");
}

/* Quota type 0xff is >= MAXQUOTAS: EINVAL before anything else. */
static long sc_quotactl(void)
{
	return TRY(SYS_quotactl, 0xffU, NULL, 0, NULL);
}

/* Level > 3: EINVAL before the capability check. */
static long sc_iopl(void)
{
	return TRY(SYS_iopl, 99U);
}

/* Port range past IO_BITMAP_BITS (65536): EINVAL; turn_on is 0 anyway. */
static long sc_ioperm(void)
{
	return TRY(SYS_ioperm, 0x10000UL, 1UL, 0);
}

/* Clock id past the table: EINVAL; NULL time would be EFAULT anyway. */
static long sc_clock_settime(void)
{
	return TRY(SYS_clock_settime, 0x7fffffff, NULL);
}

/* NULL timex: EFAULT when it is copied in, before the clock is looked at. */
static long sc_clock_adjtime(void)
{
	return TRY(SYS_clock_adjtime, 0x7fffffff, NULL);
}

/* SYSLOG_ACTION_READ_ALL (3, does not clear) with a NULL buffer: EINVAL.
 * Not restricted to CAP_SYSLOG unless kernel.dmesg_restrict is set. */
static long sc_syslog(void)
{
	return TRY(SYS_syslog, 3, NULL, 0);
}

/* 0xffffffff only queries the current persona. */
static long sc_personality(void)
{
	return TRY(SYS_personality, 0xffffffffUL);
}

/* A persona that filters such as Docker's do not allow; put back at once. */
static long sc_personality_bad(void)
{
	long old = TRY(SYS_personality, (unsigned long)(READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE));

	if (old >= 0) {
		int err = errno;

		syscall(SYS_personality, (unsigned long)old);
		errno = err;
	}
	return old;
}

/* A character device (1:3, like /dev/null) in /tmp; removed if created. */
static long sc_mknod(void)
{
	char path[64];
	long r;

	snprintf(path, sizeof(path), "/tmp/.sbox-probe-node-%ld", (long)getpid());
#ifdef SYS_mknod
	r = syscall(SYS_mknod, path, (unsigned long)(S_IFCHR | 0600), (unsigned long)makedev(1, 3));
#elif defined(SYS_mknodat)
	r = syscall(SYS_mknodat, AT_FDCWD, path, (unsigned long)(S_IFCHR | 0600),
		    (unsigned long)makedev(1, 3));
#else
	r = PROBE_NA;
#endif
	if (r == 0)
		unlink(path);
	return r;
}

/* Sockets of families that sandboxes like to deny; closed if created.
 * (Creating one may autoload the family's module, as for any user.) */
static long try_socket(int family, int type)
{
	int fd = socket(family, type | SOCK_CLOEXEC, 0);

	if (fd >= 0)
		close(fd);
	return fd < 0 ? -1 : 0;
}

static long sc_socket_alg(void)
{
	return try_socket(AF_ALG, SOCK_SEQPACKET);
}

static long sc_socket_vsock(void)
{
	return try_socket(AF_VSOCK, SOCK_STREAM);
}

/* Terminal ioctls on fd -1: EBADF if the filter let them through.  Using
 * a real terminal could inject input (TIOCSTI); -1 can never act. */
static long sc_ioctl_tiocsti(void)
{
	return TRY(SYS_ioctl, -1, (unsigned long)TIOCSTI, NULL);
}

/* The kernel truncates the command to 32 bits, a filter comparing all 64
 * may not: the old flatpak/bubblewrap TIOCSTI bypass (CVE-2019-10063). */
static long sc_ioctl_tiocsti_hi(void)
{
#if __SIZEOF_LONG__ == 8
	return TRY(SYS_ioctl, -1, (unsigned long)TIOCSTI | (1UL << 32), NULL);
#else
	return PROBE_NA;
#endif
}

static long sc_ioctl_tioclinux(void)
{
	return TRY(SYS_ioctl, -1, (unsigned long)TIOCLINUX, NULL);
}

/* TIOCSETD changes the terminal's line discipline: N_NULL on the caller's
 * terminal (the worker's stdin) kills it for the caller too. */
static long sc_ioctl_tiocsetd(void)
{
	return TRY(SYS_ioctl, -1, (unsigned long)TIOCSETD, NULL);
}

/* getpid through the x32 ABI (0 if it works, ENOSYS if x32 is not built
 * in); filters that only know x86_64 may let it by or kill us. */
static long sc_x32(void)
{
#if defined(__x86_64__) && defined(__LP64__)
#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif
	return syscall((long)__X32_SYSCALL_BIT | 39);	/* 39: getpid */
#else
	return PROBE_NA;
#endif
}

/* getpid through the i386 ABI (int $0x80, number 20).  Without IA32
 * emulation the kernel raises SIGSEGV; a filter may raise SIGSYS. */
static long sc_int80(void)
{
#if defined(__x86_64__) || defined(__i386__)
	long r = 20;

#if defined(__x86_64__)
	/* r8-r11 were zeroed by int $0x80 before Linux 4.17. */
	__asm__ volatile("int $0x80" : "+a"(r) : : "r8", "r9", "r10", "r11", "memory", "cc");
#else
	__asm__ volatile("int $0x80" : "+a"(r) : : "memory", "cc");
#endif
	r = (int)r;	/* the result is a 32-bit value */
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
#else
	return PROBE_NA;
#endif
}

/* Lookup fails (ENOENT) before the CAP_SYS_CHROOT check; were the path to
 * exist, only this short-lived process would be chrooted. */
static long sc_chroot(void)
{
	return TRY(SYS_chroot, NONEXISTENT);
}

/* put_old "" is ENOENT in getname() whatever new_root is. */
static long sc_pivot_root(void)
{
	return TRY(SYS_pivot_root, NONEXISTENT, "");
}

/* NULL fs name: EFAULT (EPERM without CAP_SYS_ADMIN, checked first). */
static long sc_fsopen(void)
{
	return TRY(SYS_fsopen, NULL, 0U);
}

/* NULL path: EFAULT; flags 0 only ever open a path, never clone a mount. */
static long sc_open_tree(void)
{
	return TRY(SYS_open_tree, -1, NULL, 0U);
}

/* NULL path: EFAULT; with OPEN_TREE_CLONE and attributes it clones a
 * mount with its read-only flag cleared. */
static long sc_open_tree_attr(void)
{
	return TRY(SYS_open_tree_attr, -1, NULL, 0U, NULL, 0UL);
}

/* Unknown flags: EINVAL (after the may_mount() check). */
static long sc_move_mount(void)
{
	return TRY(SYS_move_mount, -1, NULL, -1, NULL, 0x80000000U);
}

static long sc_fsmount(void)
{
	return TRY(SYS_fsmount, -1, 0U, 0U);
}

/* Size 0 is below MOUNT_ATTR_SIZE_VER0: EINVAL. */
static long sc_mount_setattr(void)
{
	return TRY(SYS_mount_setattr, -1, NULL, 0U, NULL, 0UL);
}

static const struct {
	const char *name;
	long (*probe)(void);
} syscall_probes[] = {
	{ "mount", sc_mount },
	{ "umount2", sc_umount2 },
	{ "unshare", sc_unshare },
	{ "setns", sc_setns },
	{ "clone-ns", sc_clone_ns },
	{ "clone-parent", sc_clone_parent },
	{ "clone3", sc_clone3 },
	{ "ptrace", sc_ptrace },
	{ "keyctl", sc_keyctl },
	{ "add_key", sc_add_key },
	{ "request_key", sc_request_key },
	{ "bpf", sc_bpf },
	{ "perf_event_open", sc_perf_event_open },
	{ "userfaultfd", sc_userfaultfd },
	{ "io_uring_setup", sc_io_uring_setup },
	{ "process_vm_readv", sc_process_vm_readv },
	{ "kcmp", sc_kcmp },
	{ "pidfd_getfd", sc_pidfd_getfd },
	{ "open_by_handle_at", sc_open_by_handle_at },
	{ "name_to_handle_at", sc_name_to_handle_at },
	{ "init_module", sc_init_module },
	{ "finit_module", sc_finit_module },
	{ "delete_module", sc_delete_module },
	{ "kexec_load", sc_kexec_load },
	{ "reboot", sc_reboot },
	{ "swapon", sc_swapon },
	{ "swapoff", sc_swapoff },
	{ "acct", sc_acct },
	{ "quotactl", sc_quotactl },
	{ "iopl", sc_iopl },
	{ "ioperm", sc_ioperm },
	{ "clock_settime", sc_clock_settime },
	{ "clock_adjtime", sc_clock_adjtime },
	{ "syslog", sc_syslog },
	{ "personality", sc_personality },
	{ "personality-bad", sc_personality_bad },
	{ "mknod", sc_mknod },
	{ "socket-alg", sc_socket_alg },
	{ "socket-vsock", sc_socket_vsock },
	{ "ioctl-tiocsti", sc_ioctl_tiocsti },
	{ "ioctl-tiocsti-hi", sc_ioctl_tiocsti_hi },
	{ "ioctl-tioclinux", sc_ioctl_tioclinux },
	{ "ioctl-tiocsetd", sc_ioctl_tiocsetd },
	{ "x32", sc_x32 },
	{ "int80", sc_int80 },
	{ "chroot", sc_chroot },
	{ "pivot_root", sc_pivot_root },
	{ "fsopen", sc_fsopen },
	{ "open_tree", sc_open_tree },
	{ "open_tree_attr", sc_open_tree_attr },
	{ "move_mount", sc_move_mount },
	{ "fsmount", sc_fsmount },
	{ "mount_setattr", sc_mount_setattr },
};

/* Run probe I and describe the outcome: "0", an errno name, "unsupported"
 * (no such syscall here) or "skipped" (not safe to run here). */
static const char *run_probe(size_t i)
{
	long r;

	errno = 0;
	r = syscall_probes[i].probe();
	if (r == PROBE_NA)
		return "unsupported";
	if (r == PROBE_SKIPPED)
		return "skipped";
	return r >= 0 ? "0" : errno_name(errno);
}

static void put_probe_result(const char *name, const char *outcome)
{
	struct strbuf key = { 0 };

	sb_printf(&key, "syscall.%s", name);
	put_kv(key.s, outcome);
	sb_free(&key);
}

/* Run probe I in a child, so that a filter that kills (SIGSYS) or an
 * int $0x80 without IA32 emulation (SIGSEGV) ends only the child.  The
 * child reports its outcome through a pipe. */
static void run_probe_in_child(size_t i)
{
	const char *name = syscall_probes[i].name;
	char buf[64], outcome[96];
	size_t len = 0;
	int pfd[2], status;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(outcome, sizeof(outcome), "error:%s", errno_name(errno));
		put_probe_result(name, outcome);
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		snprintf(outcome, sizeof(outcome), "error:%s", errno_name(errno));
		put_probe_result(name, outcome);
		close(pfd[0]);
		close(pfd[1]);
		return;
	}
	if (pid == 0) {
		const char *res;
		ssize_t ignored;

		close(pfd[0]);
		/* None of these calls blocks, but never hang the whole run. */
		signal(SIGALRM, SIG_DFL);
		alarm(5);
		res = run_probe(i);
		ignored = write(pfd[1], res, strlen(res));
		(void)ignored;
		_exit(0);
	}
	close(pfd[1]);
	for (;;) {
		ssize_t n = read(pfd[0], buf + len, sizeof(buf) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (len += (size_t)n) == sizeof(buf) - 1)
			break;
	}
	buf[len] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			status = -1;
			break;
		}
	}

	if (status != -1 && WIFSIGNALED(status))
		snprintf(outcome, sizeof(outcome), "killed:%s", signal_name(WTERMSIG(status)));
	else if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) || !len)
		snprintf(outcome, sizeof(outcome), "error");
	else
		snprintf(outcome, sizeof(outcome), "%s", buf);
	put_probe_result(name, outcome);
}

static int cmd_syscall(char **args)
{
	for (size_t i = 0; i < ARRAY_SIZE(syscall_probes); i++) {
		if (!strcmp(args[0], syscall_probes[i].name)) {
			/* In-process on purpose: a kill shows in the exit status. */
			put_probe_result(args[0], run_probe(i));
			return 0;
		}
	}
	put_probe_result(args[0], "unknown");
	return 2;
}

static int cmd_syscalls(char **args)
{
	(void)args;
	for (size_t i = 0; i < ARRAY_SIZE(syscall_probes); i++)
		run_probe_in_child(i);
	return 0;
}

static const struct command {
	const char *name;
	int nargs;
	const char *args;	/* for the usage text */
	int (*run)(char **args);
} commands[] = {
	{ "report", 0, "", cmd_report },
	{ "exit", 1, "N", cmd_exit },
	{ "kill", 1, "SIGNAME|N", cmd_kill },
	{ "sleep", 1, "SECONDS", cmd_sleep },
	{ "sleep-print", 1, "SECONDS", cmd_sleep_print },
	{ "wait-signal", 0, "", cmd_wait_signal },
	{ "open", 2, "PATH r|w|rw|path", cmd_open },
	{ "write", 1, "PATH", cmd_write },
	{ "mkdir", 1, "PATH", cmd_mkdir },
	{ "unlink", 1, "PATH", cmd_unlink },
	{ "stat", 1, "PATH", cmd_stat },
	{ "devs", 1, "PATH[:PATH...]", cmd_devs },
	{ "init-state", 0, "", cmd_init_state },
	{ "alloc", 1, "MB", cmd_alloc },
	{ "forkbomb", 1, "N", cmd_forkbomb },
	{ "spin", 1, "SECONDS", cmd_spin },
	{ "connect-tcp", 2, "HOST PORT", cmd_connect_tcp },
	{ "connect-abstract", 1, "NAME", cmd_connect_abstract },
	{ "send-udp-as", 3, "SRC DST PORT", cmd_send_udp_as },
	{ "echo-tcp-loopback", 0, "", cmd_echo_tcp_loopback },
	{ "syscall", 1, "NAME", cmd_syscall },
	{ "syscalls", 0, "", cmd_syscalls },
};

static int usage(void)
{
	fputs("usage: sbox-probe COMMAND [ARGS]\ncommands:\n", stderr);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(stderr, "  %s %s\n", commands[i].name, commands[i].args);
	fputs("syscall names:", stderr);
	for (size_t i = 0; i < ARRAY_SIZE(syscall_probes); i++)
		fprintf(stderr, " %s", syscall_probes[i].name);
	fputc('\n', stderr);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		int rc;

		if (strcmp(argv[1], commands[i].name))
			continue;
		if (argc - 2 != commands[i].nargs)
			return usage();
		rc = commands[i].run(argv + 2);
		/* Output that never arrived is a failure of the probe itself. */
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "sbox-probe: writing stdout: %s\n", strerror(errno));
			return 1;
		}
		return rc;
	}
	return usage();
}
