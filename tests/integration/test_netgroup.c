/* SPDX-License-Identifier: MIT */
/*
 * Network groups (PrivateNetwork=group:NAME) and the netns pool: members
 * started by separate launchers share one netns and reach each other over
 * loopback, nothing of a group outlives its last member (nor a launcher
 * killed by SIGKILL), names are per user (another uid's group of the same
 * name is another netns); a pool hands out fresh
 * namespaces with lo up.  Root only: unprivileged runs skip, and
 * test_network.c checks the refusal.
 *
 * The binary doubles as a helper run inside sandboxes:
 *   test_netgroup --serve-tcp PORT   listen on 127.0.0.1:PORT, print
 *                                    "listening", accept one connection.
 */
#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "policy/directives.h"
#include "policy/policy.h"
#include "sandbox/netns_pool.h"
#include "sandbox/sandbox.h"
#include "tests/integration/nettest.h"

static char self_exe[PATH_MAX];

/* Network groups: sandboxes of one group share a netns, others don't. */

struct group_ctx {
	char net[64];                /* --net group:NAME */
	char name[48];
	char *ns_a;                  /* the first member's netns */
	bool registry_matches;
	bool hidden_inside;
	char *ns_b;
	bool b_connected;
	bool other_refused;
};

static void group_members(int pid, void *arg)
{
	struct group_ctx *c = arg;
	struct run_result r;
	char path[128], want[64];
	struct stat st;

	(void)pid;
	snprintf(path, sizeof(path), GROUP_DIR "/%s" AS_NOBODY ".netns", c->name);
	if (stat(path, &st) == 0) {
		snprintf(want, sizeof(want), "net:[%lu]", (unsigned long)st.st_ino);
		c->registry_matches = true;
		c->ns_a = strdup(want);
	}
	/* Another sandbox (none) can't reach the group's listener. */
	run_sbox(&r, NULL, probe_path(), "connect-tcp", "127.0.0.1", "40123", NULL);
	c->other_refused = has_line(r.out, "connect=ECONNREFUSED");
	run_result_free(&r);
	/* A second member sees the same netns, not the registry. */
	run_sbox(&r, NULL, "--net", c->net, probe_path(), "report", NULL);
	c->ns_b = kv_get(r.out, "ns.net");
	run_result_free(&r);
	run_sbox(&r, NULL, "--net", c->net, probe_path(), "stat", GROUP_DIR, NULL);
	c->hidden_inside = has_line(r.out, "stat=ENOENT");
	run_result_free(&r);
	/* ... and reaches the first member over loopback. */
	run_sbox(&r, NULL, "--net", c->net, probe_path(), "connect-tcp", "127.0.0.1", "40123", NULL);
	c->b_connected = has_line(r.out, "connect=ok");
	if (!c->b_connected)
		dump_result(&r);
	run_result_free(&r);
}

static void assert_group_gone(const char *name)
{
	static const char *const what[] = { "netns", "members", "lock" };

	for (size_t i = 0; i < 3; i++) {
		char path[128];

		snprintf(path, sizeof(path), GROUP_DIR "/%s" AS_NOBODY ".%s", name, what[i]);
		if (path_exists(path))
			fprintf(stderr, "left behind: %s\n", path);
		assert_false(path_exists(path));
	}
}

static void test_group_members_share_loopback(void **state)
{
	struct group_ctx c = { 0 };
	struct run_opts o = { .while_running = group_members, .when_output = "listening",
			      .arg = &c };
	struct run_result r;
	char *ns_a_inside;

	(void)state;
	require_root();
	snprintf(c.name, sizeof(c.name), "test-%d", (int)getpid());
	snprintf(c.net, sizeof(c.net), "group:%s", c.name);
	/* LeakSanitizer's exit-time scan needs ptrace, which the sandbox's
	 * filter refuses: the helper (this binary) runs without it. */
	run_sbox(&r, &o, "--net", c.net, "--env", "ASAN_OPTIONS=detect_leaks=0", self_exe,
		 "--serve-tcp", "40123", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "accepted=127.0.0.1");
	ns_a_inside = kv_get(r.out, "ns");
	assert_non_null(ns_a_inside);
	assert_true(c.registry_matches);
	assert_string_equal(c.ns_a, ns_a_inside);
	assert_non_null(c.ns_b);
	assert_string_equal(c.ns_b, ns_a_inside);
	assert_true(c.other_refused);
	assert_true(c.hidden_inside);
	assert_true(c.b_connected);
	run_result_free(&r);
	/* The last member gone, so is the group. */
	assert_group_gone(c.name);
	assert_true(netns_released(ns_a_inside));
	free(ns_a_inside);
	free(c.ns_a);
	free(c.ns_b);
}

static void record_and_kill(int pid, void *arg)
{
	char **ns = arg;
	char path[128], buf[64];
	struct stat st;

	snprintf(path, sizeof(path), GROUP_DIR "/stale-%d" AS_NOBODY ".netns", (int)getpid());
	if (stat(path, &st) == 0) {
		snprintf(buf, sizeof(buf), "net:[%lu]", (unsigned long)st.st_ino);
		*ns = strdup(buf);
	}
	kill(pid, SIGKILL);
}

static void test_group_stale_after_sigkill_is_replaced(void **state)
{
	struct run_result r;
	char net[64], name[48], path[128];
	char *old = NULL, *fresh;
	struct run_opts o = { .while_running = record_and_kill, .when_output = "ready", .arg = &old };

	(void)state;
	require_root();
	snprintf(name, sizeof(name), "stale-%d", (int)getpid());
	snprintf(net, sizeof(net), "group:%s", name);
	run_sbox(&r, &o, "--net", net, probe_path(), "sleep-print", "20", NULL);
	assert_exit(&r, 128 + SIGKILL);
	run_result_free(&r);
	assert_non_null(old);
	/* Its last member's launcher died: the published netns is stale. */
	snprintf(path, sizeof(path), GROUP_DIR "/%s" AS_NOBODY ".members", name);
	assert_true(wait_unlocked(path));
	snprintf(path, sizeof(path), GROUP_DIR "/%s" AS_NOBODY ".netns", name);
	assert_true(path_exists(path));
	/* The next job of that name gets a fresh one, and tidies up. */
	run_sbox(&r, NULL, "--net", net, probe_path(), "report", NULL);
	assert_exit(&r, 0);
	assert_kv(&r, "netifs", "lo");
	fresh = sandbox_netns(&r);
	assert_string_not_equal(fresh, old);
	run_result_free(&r);
	assert_group_gone(name);
	assert_true(netns_released(old));
	assert_true(netns_released(fresh));
	free(old);
	free(fresh);
}

/* The netns of a library child's init, "net:[N]". */
static char *child_netns(struct sbox_child *c)
{
	char path[64], buf[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)sbox_child_pid(c));
	n = readlink(path, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	return strdup(buf);
}

/* Issue 12: group names were squatted across users: a group one user
 * created blocked every other user's job of that name ("belongs to another
 * user").  A group is its creator's uid's and its name is looked up per
 * uid: another user's launch of the same name gets a group (a netns) of
 * its own, in either order, and never joins the first (through the
 * library: sboxrun's caller is always itself; sboxd launches for many). */
static void squat_pair(uid_t first, uid_t second)
{
	char *argv[] = { "/bin/sleep", "30", NULL };
	char net[64], name[48];
	char *ns_first, *ns_second;
	struct sbox_policy policy;
	struct sbox_err err = { 0 };
	struct sbox_child *anchor, *other = NULL;
	struct sbox_event ev;
	struct sbox_launch launch = {
		.argv = argv, .stdio = { -1, -1, 2 }, .caller_cwd = "/",
		.caller_uid = first, .caller_gid = first,
	};

	snprintf(name, sizeof(name), "squat-%d-%u", (int)getpid(), (unsigned)first);
	snprintf(net, sizeof(net), "group:%s", name);
	sbox_policy_init(&policy);
	assert_int_equal(sbox_policy_set(&policy, "PrivateNetwork", net, &err), 0);
	if (sbox_spawn(&policy, &launch, &anchor, &err) < 0)
		fail_msg("sbox_spawn as uid %u: %s", (unsigned)first, err.msg);
	assert_int_equal(sbox_child_read_event(anchor, &ev, &err), 1);
	assert_int_equal(ev.kind, SBOX_EV_STARTED);
	launch.caller_uid = second;
	launch.caller_gid = second;
	if (sbox_spawn(&policy, &launch, &other, &err) < 0)
		fail_msg("uid %u's group:%s blocks uid %u: %s", (unsigned)first, name,
			 (unsigned)second, err.msg);
	assert_int_equal(sbox_child_read_event(other, &ev, &err), 1);
	assert_int_equal(ev.kind, SBOX_EV_STARTED);
	ns_first = child_netns(anchor);
	ns_second = child_netns(other);
	assert_string_not_equal(ns_first, ns_second);
	sbox_child_free(other);
	sbox_child_free(anchor);
	sbox_policy_free(&policy);
	assert_true(netns_released(ns_first));
	assert_true(netns_released(ns_second));
	free(ns_first);
	free(ns_second);
	if (first == 0)
		assert_group_gone(name);
}

static void test_group_names_are_per_user(void **state)
{
	(void)state;
	require_root();
	squat_pair(0, 65534);
	squat_pair(65534, 0);
}

/* A hostile review: each live group's NAME.members held its owner as
 * text, one 4 KiB page of the registry's 1 MiB tmpfs, so 256 groups (one
 * user's MaxJobsPerUser= through sboxd) filled it and every user's next
 * group failed ("writing the owner ...: No space left on device").  The
 * registry holds no data now (the owner is the file's owner) and is
 * bounded by inodes.  Run in a mount namespace of the test's own, on a
 * registry of its own, so that filling it touches nobody else's. */
static int host_mntns = -1, saved_cwd = -1;

static int enter_private_registry(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	host_mntns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	saved_cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (host_mntns < 0 || saved_cwd < 0 || unshare(CLONE_NEWNS) < 0 ||
	    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	/* Not mounted yet on this boot (EINVAL) is fine: sbox mounts its own. */
	umount2(REGISTRY, MNT_DETACH);
	return 0;
}

static int leave_private_registry(void **state)
{
	(void)state;
	if (host_mntns < 0)
		return 0;
	umount2(REGISTRY, MNT_DETACH);
	if (setns(host_mntns, CLONE_NEWNS) < 0 || fchdir(saved_cwd) < 0)
		return -1;
	close(host_mntns);
	close(saved_cwd);
	host_mntns = saved_cwd = -1;
	return 0;
}

struct fill_ctx {
	char members[128];
	bool stat_ok;
	struct stat st;
};

static void stat_members(int pid, void *arg)
{
	struct fill_ctx *c = arg;

	c->stat_ok = stat(c->members, &c->st) == 0;
	kill(pid, SIGTERM);
}

static void test_group_registry_never_fills(void **state)
{
	char name[48], net[64], fill[128], page[4096];
	struct fill_ctx c = { 0 };
	struct run_opts o = { .while_running = stat_members, .when_output = "ready", .arg = &c };
	struct run_result r;
	struct statfs sf;
	int fd;

	(void)state;
	require_root();
	snprintf(name, sizeof(name), "fill-%d", (int)getpid());
	snprintf(net, sizeof(net), "group:%s", name);
	run_sbox(&r, NULL, "--net", net, probe_path(), "exit", "0", NULL);
	assert_exit(&r, 0);
	run_result_free(&r);
	/* Bounded by inodes: more than MaxJobs= (<= 1,000,000) sandboxes can
	 * hold, 3 each at most. */
	assert_int_equal(statfs(REGISTRY, &sf), 0);
	assert_int_equal(sf.f_files, 4194304);
	/* Every page of the registry used, as 256 groups' owner records did. */
	snprintf(fill, sizeof(fill), REGISTRY "/fill");
	fd = open(fill, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	memset(page, 'x', sizeof(page));
	while (write(fd, page, sizeof(page)) > 0)
		;
	assert_int_equal(errno, ENOSPC);
	close(fd);
	snprintf(c.members, sizeof(c.members), GROUP_DIR "/%s" AS_NOBODY ".members", name);
	run_sbox(&r, &o, "--net", net, probe_path(), "sleep-print", "20", NULL);
	if (r.code != 128 + SIGTERM)
		dump_result(&r);
	assert_exit(&r, 128 + SIGTERM);
	run_result_free(&r);
	/* The live group held no data, and its owner was the file's. */
	assert_true(c.stat_ok);
	assert_int_equal(c.st.st_size, 0);
	assert_int_equal(c.st.st_blocks, 0);
	assert_int_equal(c.st.st_uid, 0);
	assert_group_gone(name);
	unlink(fill);
}

/* A hostile review: group names were keyed by the launcher's uid alone,
 * so a root launcher (the Slurm plugin under a site's
 * PrivateNetwork=group:..., an sboxd root client with User=) put workers
 * of different users into one netns: nobody's listener on 127.0.0.1 was
 * reached from daemon's worker.  A group is the launcher's and the
 * worker's: same name, another worker uid, another netns. */
struct worker_ctx {
	char net[64];
	struct run_result same, other;
};

static void connect_as_others(int pid, void *arg)
{
	struct worker_ctx *c = arg;

	(void)pid;
	run_sbox(&c->other, NULL, "--user", "daemon", "--net", c->net, probe_path(), "connect-tcp",
		 "127.0.0.1", "40124", NULL);
	/* The same worker uid still joins: shows the listener is reachable
	 * where it should be, so the refusal above is the key's doing. */
	run_sbox(&c->same, NULL, "--user", "nobody", "--net", c->net, probe_path(), "connect-tcp",
		 "127.0.0.1", "40124", NULL);
}

static void test_group_names_are_per_worker(void **state)
{
	struct worker_ctx c = { 0 };
	struct run_opts o = { .while_running = connect_as_others, .when_output = "listening",
			      .arg = &c };
	struct run_result r;
	char name[48];

	(void)state;
	require_root();
	snprintf(name, sizeof(name), "train-%d", (int)getpid());
	snprintf(c.net, sizeof(c.net), "group:%s", name);
	run_sbox(&r, &o, "--user", "nobody", "--net", c.net, "--env", "ASAN_OPTIONS=detect_leaks=0",
		 self_exe, "--serve-tcp", "40124", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "accepted=127.0.0.1");
	run_result_free(&r);
	if (!has_line(c.other.out, "connect=ECONNREFUSED"))
		dump_result(&c.other);
	assert_exit(&c.other, 0);
	assert_true(has_line(c.other.out, "connect=ECONNREFUSED"));
	assert_exit(&c.same, 0);
	assert_true(has_line(c.same.out, "connect=ok"));
	run_result_free(&c.other);
	run_result_free(&c.same);
	/* Both groups ended with their members: nothing of either is left. */
	assert_group_gone(name);
	for (const char *const *w = (const char *const[]){ "@1.lock", "@1.members", "@1.netns", NULL };
	     *w; w++) {
		char path[128];

		snprintf(path, sizeof(path), GROUP_DIR "/%s%s", name, *w);
		assert_false(path_exists(path));
	}
}

/* The netns pool of a long-running launcher (sandbox/netns_pool.c). */

/* sbox_spawn through the library, output collected from a pipe. */
static int spawn_collect(struct sbox_netns_pool *pool, const char *cmd, char *out, size_t len)
{
	char *argv[] = { (char *)probe_path(), (char *)cmd, NULL };
	struct sbox_policy policy;
	struct sbox_err err = { 0 };
	struct sbox_child *child;
	struct sbox_event ev;
	int pipefd[2], status = -1, st, devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	size_t n = 0;
	ssize_t k;

	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	sbox_policy_init(&policy);
	struct sbox_launch launch = {
		.argv = argv, .stdio = { devnull, pipefd[1], 2 }, .caller_cwd = "/",
		.caller_uid = getuid(), .caller_gid = getgid(), .netns_pool = pool,
	};
	if (sbox_spawn(&policy, &launch, &child, &err) < 0)
		fail_msg("sbox_spawn: %s", err.msg);
	close(pipefd[1]);
	while (sbox_child_read_event(child, &ev, &err) > 0)
		if (ev.kind == SBOX_EV_EXITED)
			status = ev.status;
		else if (ev.kind != SBOX_EV_STARTED && ev.kind != SBOX_EV_EMPTIED)
			fail_msg("sandbox: %s", ev.msg);
	while (n + 1 < len && (k = read(pipefd[0], out + n, len - 1 - n)) > 0)
		n += (size_t)k;
	out[n] = '\0';
	assert_int_equal(sbox_child_reap(child, &st, &err), 0);
	sbox_child_free(child);
	close(pipefd[0]);
	close(devnull);
	sbox_policy_free(&policy);
	return status;
}

static void test_netns_pool(void **state)
{
	struct sbox_netns_pool *pool;
	struct sbox_err err = { 0 };
	char out[65536], host[64];
	struct stat a, b, h;
	int fa, fb;

	(void)state;
	require_root();
	host_netns(host, sizeof(host));
	assert_int_equal(stat("/proc/self/ns/net", &h), 0);
	assert_int_equal(sbox_netns_pool_new(&pool, 2, &err), 0);
	assert_int_equal(sbox_netns_pool_fill(pool, 5, &err), 2);
	assert_int_equal(sbox_netns_pool_count(pool), 2);
	/* Two distinct fresh namespaces, and the caller is back home. */
	fa = sbox_netns_pool_take(pool);
	fb = sbox_netns_pool_take(pool);
	assert_true(fa >= 0 && fb >= 0);
	assert_int_equal(sbox_netns_pool_take(pool), -1);
	assert_int_equal(fstat(fa, &a), 0);
	assert_int_equal(fstat(fb, &b), 0);
	assert_true(a.st_ino != b.st_ino && a.st_ino != h.st_ino && b.st_ino != h.st_ino);
	char now[64];
	host_netns(now, sizeof(now));
	assert_string_equal(now, host);
	close(fa);
	close(fb);

	/* A launch takes one (count 1 -> 0), and lo is up in it. */
	assert_int_equal(sbox_netns_pool_fill(pool, 1, &err), 1);
	assert_int_equal(spawn_collect(pool, "echo-tcp-loopback", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "echo=ok\n"));
	assert_int_equal(sbox_netns_pool_count(pool), 0);
	/* Empty: the launch creates its netns in the clone instead. */
	assert_int_equal(spawn_collect(pool, "report", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\nnetifs=lo\n"));
	assert_null(strstr(out, host));
	sbox_netns_pool_free(pool);
}

/* The test binary's own helper mode: a server to run inside a sandbox. */

static int serve_tcp(const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct pollfd p;
	char ns[64] = "", peer[INET_ADDRSTRLEN] = "";
	ssize_t n = readlink("/proc/self/ns/net", ns, sizeof(ns) - 1);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (n > 0)
		ns[n] = '\0';
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		printf("listen=%s\n", strerror(errno));
		return 1;
	}
	printf("ns=%s\nlistening\n", ns);
	fflush(stdout);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 20000) == 1) {
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		int c = accept(fd, (struct sockaddr *)&from, &len);

		if (c >= 0) {
			inet_ntop(AF_INET, &from.sin_addr, peer, sizeof(peer));
			close(c);
		}
	}
	printf("accepted=%s\n", peer[0] ? peer : "none");
	return peer[0] ? 0 : 1;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group_members_share_loopback),
		cmocka_unit_test(test_group_stale_after_sigkill_is_replaced),
		cmocka_unit_test(test_group_names_are_per_user),
		cmocka_unit_test(test_group_names_are_per_worker),
		cmocka_unit_test(test_netns_pool),
		cmocka_unit_test_setup_teardown(test_group_registry_never_fills, enter_private_registry,
						leave_private_registry),
	};
	ssize_t n;

	if (argc == 3 && strcmp(argv[1], "--serve-tcp") == 0)
		return serve_tcp(argv[2]);
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n < 0)
		return 99;
	self_exe[n] = '\0';
	return cmocka_run_group_tests(tests, NULL, NULL);
}
