/* SPDX-License-Identifier: MIT */
#include "tests/integration/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Absolute, so that a worker with another working directory finds it. */
static const char *absolute(const char *var, const char *fallback, char *buf)
{
	const char *p = getenv(var);

	if (!buf[0] && !realpath(p ? p : fallback, buf))
		snprintf(buf, PATH_MAX, "%s", p ? p : fallback);
	return buf;
}

const char *sboxrun_path(void)
{
	static char buf[PATH_MAX];

	return absolute("SBOXRUN", "build/asan/sboxrun", buf);
}

const char *probe_path(void)
{
	static char buf[PATH_MAX];

	return absolute("SBOX_PROBE", "build/release/sbox-probe", buf);
}

bool running_as_root(void)
{
	return geteuid() == 0;
}

static void append(char **buf, size_t *len, const char *data, size_t n)
{
	char *b = realloc(*buf, *len + n + 1);

	assert_non_null(b);
	memcpy(b + *len, data, n);
	*len += n;
	b[*len] = '\0';
	*buf = b;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void run_sboxv(struct run_result *r, const struct run_opts *o, const char *const *args)
{
	static char *const default_env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	struct run_opts none = { 0 };
	int out[2], err[2], in[2];
	size_t nargs = 0, out_len = 0, err_len = 0;
	pid_t pid;
	int status;

	if (!o)
		o = &none;
	while (args[nargs])
		nargs++;
	const char **argv = calloc(nargs + 2, sizeof(*argv));
	assert_non_null(argv);
	argv[0] = sboxrun_path();
	for (size_t i = 0; i < nargs; i++)
		argv[i + 1] = args[i];

	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		setpgid(0, 0);
		if (o->pre_exec)
			o->pre_exec(o->arg);
		execve(argv[0], (char *const *)argv, o->env ? o->env : default_env);
		fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
		_exit(99);
	}
	free(argv);
	close(out[1]);
	close(err[1]);
	close(in[0]);
	if (o->input) {
		ssize_t w = write(in[1], o->input, strlen(o->input));
		(void)w;
	}
	close(in[1]);
	bool fired = false;
	if (o->while_running && !o->when_output) {
		o->while_running(pid, o->arg);
		fired = true;
	}

	r->out = calloc(1, 1);
	r->err = calloc(1, 1);
	long long deadline = now_ms() + 1000LL * (o->timeout_s ? o->timeout_s : 30);
	struct pollfd pfd[2] = { { .fd = out[0], .events = POLLIN }, { .fd = err[0], .events = POLLIN } };
	int open_fds = 2;
	while (open_fds > 0) {
		long long left = deadline - now_ms();
		char buf[65536];

		if (left <= 0) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			append(&r->err, &err_len, "\nharness: TIMEOUT\n", 18);
			break;
		}
		if (poll(pfd, 2, (int)left) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(pfd[i].fd, buf, sizeof(buf));
			if (n <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
				continue;
			}
			if (i == 0)
				append(&r->out, &out_len, buf, (size_t)n);
			else
				append(&r->err, &err_len, buf, (size_t)n);
		}
		if (!fired && o->while_running && strstr(r->out, o->when_output)) {
			fired = true;
			o->while_running(pid, o->arg);
		}
	}
	for (int i = 0; i < 2; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	r->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void run_sbox(struct run_result *r, const struct run_opts *o, ...)
{
	const char *args[256];
	size_t n = 0;
	va_list ap;

	va_start(ap, o);
	while (n < 255 && (args[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	args[n] = NULL;
	run_sboxv(r, o, args);
}

void run_result_free(struct run_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

char *kv_get(const char *out, const char *key)
{
	size_t klen = strlen(key);

	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, klen) == 0 && l[klen] == '=') {
			const char *v = l + klen + 1;
			return strndup(v, strcspn(v, "\n"));
		}
	}
	return NULL;
}

void assert_kv(const struct run_result *r, const char *key, const char *want)
{
	char *v = kv_get(r->out, key);

	if (!v || strcmp(v, want) != 0) {
		dump_result(r);
		fprintf(stderr, "%s: got '%s', want '%s'\n", key, v ? v : "(missing)", want);
	}
	assert_non_null(v);
	assert_string_equal(v, want);
	free(v);
}

bool has_line(const char *out, const char *line)
{
	size_t len = strlen(line);

	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, line, len) == 0 && (l[len] == '\n' || l[len] == '\0'))
			return true;
	return false;
}

size_t count_prefix(const char *out, const char *prefix)
{
	size_t n = 0, len = strlen(prefix);

	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, prefix, len) == 0)
			n++;
	return n;
}

char *make_tempdir(void)
{
	char tmpl[] = "/var/tmp/sbox-test.XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	assert_int_equal(chmod(d, 0755), 0);
	return strdup(d);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? 0 : 0;
}

void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

void dump_result(const struct run_result *r)
{
	fprintf(stderr, "---- exit %d\n---- stdout:\n%s\n---- stderr:\n%s\n----\n", r->code,
		r->out ? r->out : "", r->err ? r->err : "");
}
