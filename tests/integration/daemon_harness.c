/* SPDX-License-Identifier: MIT */
#include "tests/integration/daemon_harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wire/fdpass.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void copy_file(const char *from, const char *to)
{
	char cmd[PATH_MAX * 2 + 32];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 755 '%s'", from, to, to);
	assert_int_equal(system(cmd), 0);
}

static const char *bin_next_to_sboxrun(const char *name, char *buf)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", sboxrun_path());
	snprintf(buf, PATH_MAX, "%s/%s", dirname(dir), name);
	return buf;
}

const char *sboxd_path(char *buf)
{
	const char *env = getenv("SBOXD");

	return env ? env : bin_next_to_sboxrun("sboxd", buf);
}

void sboxd_prepare(struct sboxd *d)
{
	char bin[PATH_MAX];

	memset(d, 0, sizeof(*d));
	if (!running_as_root())
		skip_because("sboxd runs as root: its tests start one");
	if (access(sboxd_path(bin), X_OK) < 0)
		skip_because("no sboxd binary next to $SBOXRUN (or $SBOXD)");
	d->dir = make_tempdir();
	snprintf(d->sock, sizeof(d->sock), "%s/sboxd.sock", d->dir);
	snprintf(d->conf, sizeof(d->conf), "%s/sbox.conf", d->dir);
	snprintf(d->state, sizeof(d->state), "%s/state", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/sboxd.log", d->dir);
	snprintf(d->sboxrun, sizeof(d->sboxrun), "%s/sboxrun", d->dir);
	snprintf(d->probe, sizeof(d->probe), "%s/sbox-probe", d->dir);
	snprintf(d->agent, sizeof(d->agent), "%s/node-agent", d->dir);
	copy_file(sboxrun_path(), d->sboxrun);
	copy_file(probe_path(), d->probe);
	if (access(bin_next_to_sboxrun("node-agent", bin), X_OK) == 0)
		copy_file(bin, d->agent);
}

static void launch_daemon(struct sboxd *d)
{
	char bin[PATH_MAX];
	const char *path = sboxd_path(bin);
	long long deadline = now_ms() + 10000;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int log = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		dup2(log, 1);
		dup2(log, 2);
		setpgid(0, 0);
		if ((d->group_file[0] || d->passwd_file[0]) &&
		    (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
		     (d->group_file[0] &&
		      mount(d->group_file, "/etc/group", NULL, MS_BIND, NULL) < 0) ||
		     (d->passwd_file[0] &&
		      mount(d->passwd_file, "/etc/passwd", NULL, MS_BIND, NULL) < 0))) {
			perror("sboxd's own /etc/group or /etc/passwd");
			_exit(98);
		}
		execl(path, "sboxd", "--foreground", "--config", d->conf, "--socket", d->sock,
		      (char *)NULL);
		_exit(99);
	}
	d->pid = pid;
	while (now_ms() < deadline) {
		int st;

		if (raw_ping(d->sock))
			return;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			char *log = sboxd_log(d);

			fprintf(stderr, "sboxd exited at start (status %d):\n%s\n", st, log);
			free(log);
			d->pid = 0;
			fail();
		}
		sleep_ms(20);
	}
	fprintf(stderr, "sboxd did not answer within 10s\n");
	fail();
}

void sboxd_start(struct sboxd *d, const char *extra)
{
	char text[8192];

	snprintf(text, sizeof(text), "[Daemon]\nStateDirectory=%s\nAllowUsers=nobody\n%s", d->state,
		 extra ? extra : "");
	write_text(d->conf, text);
	assert_int_equal(chown(d->conf, 0, 0), 0);
	assert_int_equal(chmod(d->conf, 0644), 0);
	launch_daemon(d);
}

void sboxd_restart(struct sboxd *d)
{
	launch_daemon(d);
}

int sboxd_stop(struct sboxd *d)
{
	long long deadline = now_ms() + 15000;
	int st = 0;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	while (now_ms() < deadline) {
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		sleep_ms(20);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &st, 0);
	d->pid = 0;
	return -1;
}

void sboxd_kill9(struct sboxd *d)
{
	int st;

	kill(d->pid, SIGKILL);
	waitpid(d->pid, &st, 0);
	d->pid = 0;
}

static void kill_keeper(struct sboxd *d)
{
	char path[512];
	FILE *f;
	int pid = 0;

	snprintf(path, sizeof(path), "%s/keeper.pid", d->state);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fscanf(f, "%d", &pid) == 1 && pid > 1)
		kill(pid, SIGKILL);
	fclose(f);
}

void sboxd_cleanup(struct sboxd *d)
{
	if (!d->dir)
		return;
	if (d->pid > 0)
		sboxd_stop(d);
	kill_keeper(d);
	rm_rf(d->dir);
	free(d->dir);
	d->dir = NULL;
}

int sboxd_fd_count(const struct sboxd *d)
{
	char path[64];
	struct dirent *e;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)d->pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

char *sboxd_log(const struct sboxd *d)
{
	FILE *f = fopen(d->log, "r");
	char *buf = calloc(1, 65536);
	size_t n;

	if (!f)
		return buf;
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

bool sboxd_no_jobs(struct sboxd *d, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		struct cmd r;
		bool none;

		cmd_runl(&r, 0, 10, d->sboxrun, "--socket", d->sock, "--jobs", NULL);
		none = r.code == 0 && strchr(r.out, '\n') == strrchr(r.out, '\n');
		cmd_free(&r);
		if (none)
			return true;
		if (now_ms() >= deadline)
			return false;
		sleep_ms(50);
	}
}

/* Running sboxrun and the probe as the tests' users, to see what each client sees. */

void become(uid_t uid)
{
	if (uid == 0)
		return;
	if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
		_exit(98);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, (1 << 20) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

pid_t cmd_start(uid_t uid, const char *const *argv, const char *out_path)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(out, 1);
		dup2(out, 2);
		if (out > 2)
			close(out);
		if (null > 2)
			close(null);
		setpgid(0, 0);
		become(uid);
		execv(argv[0], (char *const *)argv);
		_exit(99);
	}
	return pid;
}

void cmd_run(struct cmd *r, uid_t uid, int timeout_s, const char *const *argv)
{
	char out[] = "/var/tmp/sbox-cmd-out.XXXXXX", err[] = "/var/tmp/sbox-cmd-err.XXXXXX";
	int fo = mkstemp(out), fe = mkstemp(err);
	long long deadline = now_ms() + 1000LL * timeout_s;
	pid_t pid;
	int st = 0;

	assert_true(fo >= 0 && fe >= 0);
	fchmod(fo, 0666);
	fchmod(fe, 0666);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		setpgid(0, 0);
		become(uid);
		execv(argv[0], (char *const *)argv);
		_exit(99);
	}
	r->code = -1;
	for (;;) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			r->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			break;
		}
		if (now_ms() >= deadline) {
			kill(-pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		sleep_ms(5);
	}
	close(fo);
	close(fe);
	r->out = slurp(out);
	r->err = slurp(err);
	unlink(out);
	unlink(err);
}

void cmd_runl(struct cmd *r, uid_t uid, int timeout_s, ...)
{
	const char *args[128];
	size_t n = 0;
	va_list ap;

	va_start(ap, timeout_s);
	while (n < 127 && (args[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	args[n] = NULL;
	cmd_run(r, uid, timeout_s, args);
}

void cmd_free(struct cmd *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

void cmd_dump(const struct cmd *r)
{
	fprintf(stderr, "--- exit %d\n--- stdout:\n%s\n--- stderr:\n%s\n", r->code, r->out, r->err);
}

/* Raw protocol access, for the hostile-client tests that sboxrun would
 * never send. */

int raw_connect(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int raw_send(int fd, const void *buf, size_t len, const int *fds, size_t nfds)
{
	return sbox_fdpass_send(fd, buf, len, fds, nfds, 0);
}

int raw_send_mb(int fd, struct sbox_mb *b)
{
	if (sbox_mb_finish(b, NULL) < 0)
		return -1;
	return raw_send(fd, b->buf, b->len, b->fds, b->nfds);
}

int raw_recv(int fd, struct sbox_msg *m, int timeout_ms)
{
	static uint8_t buf[SBOX_PROTO_MAX_MSG + 1];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct sbox_err err = { 0 };
	ssize_t n;

	memset(m, 0, sizeof(*m));
	if (poll(&p, 1, timeout_ms) <= 0)
		return -1;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n <= 0)
		return 0;
	if (sbox_msg_decode(buf, (size_t)n, 0, m, &err) < 0) {
		fprintf(stderr, "raw_recv: %s\n", err.msg);
		return -1;
	}
	return 1;
}

bool raw_ping(const char *sock)
{
	struct sbox_mb b = { 0 };
	struct sbox_msg m;
	int fd = raw_connect(sock);
	bool ok = false;

	if (fd < 0)
		return false;
	sbox_mb_begin(&b, SBOX_MSG_PING, 42);
	if (raw_send_mb(fd, &b) == 0 && raw_recv(fd, &m, 5000) == 1) {
		ok = m.hdr.type == SBOX_MSG_PONG && m.hdr.seq == 42 &&
		     m.proto_version == SBOX_PROTO_VERSION;
		sbox_msg_free(&m);
	}
	sbox_mb_free(&b);
	close(fd);
	return ok;
}

/* The sandbox cgroup of a process on the host, from /proc/PID/cgroup: in
 * v1's hierarchy of controller, or (controller NULL) v2's or else v1's
 * memory hierarchy. */
static bool sandbox_cgroup_in(pid_t pid, const char *controller, char *buf, size_t len)
{
	const char *name = controller ? controller : "memory";
	char path[64], line[512], want[64];
	bool found = false;
	FILE *f;

	snprintf(want, sizeof(want), ":%s:", name);
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *rel = strrchr(line, ':');

		line[strcspn(line, "\n")] = '\0';
		if (!rel || !strstr(rel, "/sbox-"))
			continue;
		if (!controller && strncmp(line, "0::", 3) == 0)
			found = snprintf(buf, len, "/sys/fs/cgroup%s", rel + 1) < (int)len;
		else if (strstr(line, want))
			found = snprintf(buf, len, "/sys/fs/cgroup/%s%s", name, rel + 1) < (int)len;
	}
	fclose(f);
	return found;
}

bool sandbox_cgroup_of(pid_t pid, char *buf, size_t len)
{
	return sandbox_cgroup_in(pid, NULL, buf, len);
}

bool sandbox_v1_cgroup_of(pid_t pid, const char *controller, char *buf, size_t len)
{
	return sandbox_cgroup_in(pid, controller, buf, len);
}
