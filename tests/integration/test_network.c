/* SPDX-License-Identifier: MIT */
/*
 * Networking, checked from inside with the probe: PrivateNetwork=none (the
 * default: only lo, up), host, veth and group:NAME, what is left behind
 * after exit (no veth, address, lease, registry file or namespace), a
 * launcher killed by SIGKILL, and the netns pool through the library.
 * none/host run as root and unprivileged; veth, groups and the pool need
 * root and say so as unprivileged callers.
 *
 * The binary doubles as a helper run inside sandboxes:
 *   test_network --serve-tcp PORT   listen on 127.0.0.1:PORT, print
 *                                   "listening", accept one connection.
 */
#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "policy/directives.h"
#include "policy/policy.h"
#include "sandbox/netns_pool.h"
#include "sandbox/sandbox.h"

#define GROUP_DIR "/run/sbox/net/group"
#define IPAM_DIR "/run/sbox/net/ipam"

static char self_exe[PATH_MAX];

/* ------------------------------------------------------------ helpers */

static void host_netns(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/ns/net", buf, len - 1);

	assert_true(n > 0);
	buf[n] = '\0';
}

static char *sandbox_netns(const struct run_result *r)
{
	char *v = kv_get(r->out, "ns.net");

	if (!v)
		dump_result(r);
	assert_non_null(v);
	return v;
}

static int tcp_listen(uint32_t addr, int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(addr) };
	socklen_t len = sizeof(sa);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_port = htons((uint16_t)*port);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* The peer address of the next pending connection, "" when none. */
static void accept_peer(int lfd, char *buf, size_t len)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int fd;

	buf[0] = '\0';
	if (poll(&p, 1, 2000) != 1)
		return;
	fd = accept4(lfd, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	inet_ntop(AF_INET, &sa.sin_addr, buf, (socklen_t)len);
	close(fd);
}

static int abstract_listen(const char *name)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t n = strlen(name);

	assert_true(fd >= 0);
	memcpy(sun.sun_path + 1, name, n);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

static bool path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static bool host_has_address(const char *addr)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	assert_int_equal(getifaddrs(&ifa), 0);
	for (i = ifa; i; i = i->ifa_next) {
		char text[INET_ADDRSTRLEN];

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, text, sizeof(text));
		if (strcmp(text, addr) == 0)
			found = true;
	}
	freeifaddrs(ifa);
	return found;
}

/* Is a netns ("net:[123]") still held by a process or a mount of ours? */
static bool netns_held(const char *ns)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool held = false;
	FILE *f;
	char line[4096];
	unsigned long ino = strtoul(ns + 5, NULL, 10);

	assert_non_null(d);
	while (!held && (e = readdir(d))) {
		char path[300], target[64];
		ssize_t n;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			held = strcmp(target, ns) == 0;
		}
	}
	closedir(d);
	f = fopen("/proc/self/mountinfo", "r");
	assert_non_null(f);
	while (!held && fgets(line, sizeof(line), f)) {
		char needle[64];

		snprintf(needle, sizeof(needle), "net:[%lu]", ino);
		held = strstr(line, needle) != NULL;
	}
	fclose(f);
	return held;
}

/* The sandbox's init dies asynchronously after its launcher is killed. */
static bool netns_released(const char *ns)
{
	for (int i = 0; i < 100; i++) {
		if (!netns_held(ns))
			return true;
		usleep(20000);
	}
	return false;
}

/* A lock held by a killed launcher's sandbox (its init keeps a copy) goes
 * when that sandbox has died of PR_SET_PDEATHSIG, a moment after the
 * launcher: wait for it, as the next launch of a real job would not need
 * to (it would just get another address, or join the dying group). */
static bool wait_unlocked(const char *path)
{
	for (int i = 0; i < 200; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return errno == ENOENT;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			flock(fd, LOCK_UN);
			close(fd);
			return true;
		}
		close(fd);
		usleep(10000);
	}
	return false;
}

static bool is_locked(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool locked;

	if (fd < 0)
		return false;
	locked = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	if (!locked)
		flock(fd, LOCK_UN);
	close(fd);
	return locked;
}

static void require_root(void)
{
	if (!running_as_root())
		skip_because("needs root (CAP_NET_ADMIN in the host's network namespace)");
}

/* ------------------------------------------------- none (the default) */

static void test_default_only_lo_private_netns(void **state)
{
	struct run_result r;
	char host[64];
	char *inside;

	(void)state;
	host_netns(host, sizeof(host));
	run_sbox(&r, NULL, probe_path(), "report", NULL);
	assert_exit(&r, 0);
	assert_kv(&r, "netifs", "lo");
	inside = sandbox_netns(&r);
	assert_string_not_equal(inside, host);
	free(inside);
	run_result_free(&r);
	/* systemd's PrivateNetwork=yes means the same. */
	run_sbox(&r, NULL, "--set", "PrivateNetwork=yes", probe_path(), "report", NULL);
	assert_exit(&r, 0);
	assert_kv(&r, "netifs", "lo");
	run_result_free(&r);
}

static void test_default_lo_up_echo(void **state)
{
	struct run_result r;

	(void)state;
	/* With lo down, connect() to 127.0.0.1 fails with ENETUNREACH. */
	run_sbox(&r, NULL, probe_path(), "echo-tcp-loopback", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "echo=ok");
	run_result_free(&r);
	if (access("/usr/sbin/ip", X_OK) != 0)
		return;
	run_sbox(&r, NULL, "/usr/sbin/ip", "-o", "link", "show", "lo", NULL);
	assert_exit(&r, 0);
	if (!strstr(r.out, "<LOOPBACK,UP,LOWER_UP>"))
		dump_result(&r);
	assert_non_null(strstr(r.out, "<LOOPBACK,UP,LOWER_UP>"));
	run_result_free(&r);
}

static void test_host_loopback_listener_unreachable(void **state)
{
	struct run_result r;
	int port = 0, fd = tcp_listen(INADDR_LOOPBACK, &port);
	char ports[16];

	(void)state;
	snprintf(ports, sizeof(ports), "%d", port);
	run_sbox(&r, NULL, probe_path(), "connect-tcp", "127.0.0.1", ports, NULL);
	assert_exit(&r, 0);
	assert_line(&r, "connect=ECONNREFUSED");
	run_result_free(&r);
	/* The control: the same probe with the host's network gets in. */
	run_sbox(&r, NULL, "--net", "host", probe_path(), "connect-tcp", "127.0.0.1", ports, NULL);
	assert_exit(&r, 0);
	assert_line(&r, "connect=ok");
	run_result_free(&r);
	close(fd);
}

static void test_host_abstract_socket_unreachable(void **state)
{
	struct run_result r;
	char name[64];
	int fd;

	(void)state;
	snprintf(name, sizeof(name), "sbox-test-net-%d", (int)getpid());
	fd = abstract_listen(name);
	run_sbox(&r, NULL, probe_path(), "connect-abstract", name, NULL);
	assert_exit(&r, 0);
	assert_line(&r, "connect=ECONNREFUSED");
	run_result_free(&r);
	/* Abstract names live in the netns: with the host's they are seen. */
	run_sbox(&r, NULL, "--set", "PrivateNetwork=no", probe_path(), "connect-abstract", name, NULL);
	assert_exit(&r, 0);
	assert_line(&r, "connect=ok");
	run_result_free(&r);
	close(fd);
}

static void test_host_mode_shares_netns(void **state)
{
	struct run_result r;
	char host[64];
	char *inside;

	(void)state;
	host_netns(host, sizeof(host));
	run_sbox(&r, NULL, "--net", "host", probe_path(), "report", NULL);
	assert_exit(&r, 0);
	inside = sandbox_netns(&r);
	assert_string_equal(inside, host);
	free(inside);
	run_result_free(&r);
}

/* As root, the refusal is checked through the library from a child whose
 * effective uid is nobody's (sbox_net_prepare looks at the euid): so the
 * root run checks it too, and needs no skip. */
static int refused_as_nobody(const char *mode, const char *want)
{
	char *argv[] = { (char *)probe_path(), "report", NULL };
	struct sbox_launch launch = {
		.argv = argv, .stdio = { -1, -1, 2 }, .caller_cwd = "/",
		.caller_uid = 65534, .caller_gid = 65534,
	};
	struct sbox_policy policy;
	struct sbox_err err = { 0 };
	struct sbox_child *child = NULL;
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		sbox_policy_init(&policy);
		if (setegid(65534) < 0 || seteuid(65534) < 0 ||
		    sbox_policy_set(&policy, "PrivateNetwork", mode, &err) < 0)
			_exit(2);
		if (sbox_spawn(&policy, &launch, &child, &err) == 0) {
			sbox_child_free(child);
			_exit(3);
		}
		if (!strstr(err.msg, want)) {
			fprintf(stderr, "got: %s\n", err.msg);
			_exit(4);
		}
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_unprivileged_refused(void **state)
{
	struct run_result r;

	(void)state;
	if (running_as_root()) {
		assert_int_equal(refused_as_nobody("veth", "PrivateNetwork=veth needs root"), 0);
		assert_int_equal(refused_as_nobody("group:t", "PrivateNetwork=group:t needs root"), 0);
		return;
	}
	run_sbox(&r, NULL, "--net", "veth", probe_path(), "report", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "PrivateNetwork=veth needs root");
	assert_int_equal(count_prefix(r.out, "pid="), 0);
	run_result_free(&r);
	run_sbox(&r, NULL, "--net", "group:t", probe_path(), "report", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "PrivateNetwork=group:t needs root");
	run_result_free(&r);
}

static void test_check_and_bad_values(void **state)
{
	struct run_result r;

	(void)state;
	run_sbox(&r, NULL, "--check", "--net", "group:ranks", "--set", "VethSubnet=10.1.0.0/24", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "PrivateNetwork=group:ranks");
	assert_line(&r, "VethSubnet=10.1.0.0/24");
	run_result_free(&r);
	run_sbox(&r, NULL, "--net", "bridge", probe_path(), "report", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "--net bridge");
	assert_err_contains(&r, "not a network mode");
	run_result_free(&r);
	run_sbox(&r, NULL, "--set", "VethSubnet=10.1.0.1/24", probe_path(), "report", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "host bits zero");
	run_result_free(&r);
}

/* --------------------------------------------------------------- veth */

/* One /30 block of the tests' own range 10.232.P.0/24, P from the pid:
 * away from the default VethSubnet=, so other sandboxes can't take it,
 * and apart from a concurrent run of this suite. */
struct block {
	char set30[48], set29[48];      /* "VethSubnet=A.B.C.D/30" (and /29) */
	char host[INET_ADDRSTRLEN], sandbox[INET_ADDRSTRLEN];
	char ifname[IF_NAMESIZE], lease[64], route[96];
};

static void format_ip(uint32_t a, char *buf)
{
	struct in_addr in = { .s_addr = htonl(a) };

	inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

static void block_at(struct block *b, unsigned offset)
{
	uint32_t base = 0x0ae80000u | ((uint32_t)(getpid() % 250) << 8) | offset;
	char net[INET_ADDRSTRLEN];

	format_ip(base, net);
	format_ip(base + 1, b->host);
	format_ip(base + 2, b->sandbox);
	snprintf(b->set30, sizeof(b->set30), "VethSubnet=%s/30", net);
	snprintf(b->set29, sizeof(b->set29), "VethSubnet=%s/29", net);
	snprintf(b->ifname, sizeof(b->ifname), "sbox-%08x", base);
	snprintf(b->lease, sizeof(b->lease), IPAM_DIR "/%s", net);
	snprintf(b->route, sizeof(b->route), "default via %s dev eth0", b->host);
}

static void veth_cleanup_asserts(const struct block *b, const char *ns)
{
	assert_int_equal(if_nametoindex(b->ifname), 0);
	assert_false(host_has_address(b->host));
	assert_false(path_exists(b->lease));
	if (ns)
		assert_true(netns_released(ns));
}

static void test_veth_reaches_host_and_cleans_up(void **state)
{
	struct run_result r;
	struct block b;
	char ports[16], peer[INET_ADDRSTRLEN];
	char *ns;
	int port = 0, fd;

	(void)state;
	require_root();
	block_at(&b, 0);
	fd = tcp_listen(INADDR_ANY, &port);
	snprintf(ports, sizeof(ports), "%d", port);
	/* A one-block subnet makes the addresses known: .1 host, .2 sandbox. */
	run_sbox(&r, NULL, "--net", "veth", "--set", b.set30, probe_path(), "connect-tcp", b.host,
		 ports, NULL);
	assert_exit(&r, 0);
	assert_line(&r, "connect=ok");
	accept_peer(fd, peer, sizeof(peer));
	assert_string_equal(peer, b.sandbox);
	run_result_free(&r);

	run_sbox(&r, NULL, "--net", "veth", "--set", b.set30, probe_path(), "report", NULL);
	assert_exit(&r, 0);
	assert_kv(&r, "netifs", "eth0 lo");
	ns = sandbox_netns(&r);
	run_result_free(&r);
	veth_cleanup_asserts(&b, ns);
	free(ns);

	if (access("/usr/sbin/ip", X_OK) == 0) {
		run_sbox(&r, NULL, "--net", "veth", "--set", b.set30, "/usr/sbin/ip", "-4", "route",
			 "show", "default", NULL);
		assert_exit(&r, 0);
		if (!strstr(r.out, b.route))
			dump_result(&r);
		assert_non_null(strstr(r.out, b.route));
		run_result_free(&r);
	}
	close(fd);
}

struct veth_ctx {
	int port;
	struct block first, second;
	struct run_result inner;     /* a second launch while the first runs */
	bool exists_while_running;
};

static void veth_second_launch(int pid, void *arg)
{
	struct veth_ctx *c = arg;
	struct run_result r;
	char ports[16];

	c->exists_while_running = if_nametoindex(c->first.ifname) != 0 &&
				  host_has_address(c->first.host);
	/* The only block of the /30 is held: refused, nothing runs. */
	run_sbox(&r, NULL, "--net", "veth", "--set", c->first.set30, probe_path(), "report", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "no free address");
	assert_int_equal(count_prefix(r.out, "pid="), 0);
	run_result_free(&r);
	/* A /29 holds two: the other one. */
	snprintf(ports, sizeof(ports), "%d", c->port);
	run_sbox(&c->inner, NULL, "--net", "veth", "--set", c->first.set29, probe_path(),
		 "connect-tcp", c->second.host, ports, NULL);
	kill(pid, SIGTERM);
}

static void test_veth_addresses_unique_per_live_sandbox(void **state)
{
	struct veth_ctx c = { 0 };
	struct run_opts o = { .while_running = veth_second_launch, .when_output = "ready",
			      .arg = &c };
	struct run_result r;
	char peer[INET_ADDRSTRLEN];
	int fd;

	(void)state;
	require_root();
	block_at(&c.first, 64);
	block_at(&c.second, 68);
	fd = tcp_listen(INADDR_ANY, &c.port);
	run_sbox(&r, &o, "--net", "veth", "--set", c.first.set30, probe_path(), "sleep-print", "20",
		 NULL);
	assert_exit(&r, 128 + SIGTERM);
	assert_true(c.exists_while_running);
	assert_exit(&c.inner, 0);
	assert_line(&c.inner, "connect=ok");
	accept_peer(fd, peer, sizeof(peer));
	assert_string_equal(peer, c.second.sandbox);
	run_result_free(&c.inner);
	run_result_free(&r);
	veth_cleanup_asserts(&c.first, NULL);
	veth_cleanup_asserts(&c.second, NULL);
	close(fd);
}

static void kill_launcher(int pid, void *arg)
{
	(void)arg;
	kill(pid, SIGKILL);
}

static void test_veth_launcher_sigkill_leaks_nothing(void **state)
{
	struct run_opts o = { .while_running = kill_launcher, .when_output = "ready" };
	struct run_result r;
	struct block b;

	(void)state;
	require_root();
	block_at(&b, 128);
	run_sbox(&r, &o, "--net", "veth", "--set", b.set30, probe_path(), "sleep-print", "20", NULL);
	assert_exit(&r, 128 + SIGKILL);
	run_result_free(&r);
	assert_true(wait_unlocked(b.lease));
	/* The lease died with the launcher and its sandbox; the same block
	 * is free even if the kernel is still tearing the old pair down. */
	run_sbox(&r, NULL, "--net", "veth", "--set", b.set30, probe_path(), "report", NULL);
	assert_exit(&r, 0);
	assert_kv(&r, "netifs", "eth0 lo");
	run_result_free(&r);
	veth_cleanup_asserts(&b, NULL);
}

/* A daemon that re-executes itself keeps its sandboxes (exec is not
 * death: no PR_SET_PDEATHSIG) but closes its O_CLOEXEC lock fds: the lease
 * must live on in the sandbox's init, for as long as the sandbox. */
static void test_veth_lease_lives_with_the_sandbox(void **state)
{
	struct block b;
	struct run_result r;
	char exe[64], target[64] = "";
	pid_t launcher;
	int st;

	(void)state;
	require_root();
	block_at(&b, 192);
	launcher = fork();
	assert_true(launcher >= 0);
	if (launcher == 0) {
		char *argv[] = { "/bin/sleep", "30", NULL };
		struct sbox_launch launch = {
			.argv = argv, .stdio = { -1, -1, 2 }, .caller_cwd = "/",
		};
		struct sbox_policy policy;
		struct sbox_err err = { 0 };
		struct sbox_child *child;
		struct sbox_event ev;

		sbox_policy_init(&policy);
		if (sbox_policy_set(&policy, "PrivateNetwork", "veth", &err) < 0 ||
		    sbox_policy_set(&policy, "VethSubnet", b.set30 + strlen("VethSubnet="), &err) < 0 ||
		    sbox_spawn(&policy, &launch, &child, &err) < 0 ||
		    sbox_child_read_event(child, &ev, &err) <= 0 || ev.kind != SBOX_EV_STARTED)
			_exit(3);
		execv("/bin/sleep", argv);   /* the "re-exec": child not freed */
		_exit(4);
	}
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)launcher);
	for (int i = 0; i < 500 && !strstr(target, "sleep"); i++) {
		ssize_t n = readlink(exe, target, sizeof(target) - 1);

		target[n > 0 ? n : 0] = '\0';
		usleep(10000);
	}
	assert_non_null(strstr(target, "sleep"));
	/* The launcher's fds are gone; the block is still the sandbox's. */
	assert_true(is_locked(b.lease));
	run_sbox(&r, NULL, "--net", "veth", "--set", b.set30, probe_path(), "report", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "no free address");
	run_result_free(&r);
	assert_true(if_nametoindex(b.ifname) != 0);
	/* The launcher dies, the sandbox with it, and so does the lease. */
	kill(launcher, SIGKILL);
	assert_int_equal(waitpid(launcher, &st, 0), launcher);
	assert_true(wait_unlocked(b.lease));
	for (int i = 0; i < 200 && if_nametoindex(b.ifname) != 0; i++)
		usleep(10000);
	assert_int_equal(if_nametoindex(b.ifname), 0);
}

/* -------------------------------------------------------------- groups */

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
	snprintf(path, sizeof(path), GROUP_DIR "/%s.netns", c->name);
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

		snprintf(path, sizeof(path), GROUP_DIR "/%s.%s", name, what[i]);
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

	snprintf(path, sizeof(path), GROUP_DIR "/stale-%d.netns", (int)getpid());
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
	snprintf(path, sizeof(path), GROUP_DIR "/%s.members", name);
	assert_true(wait_unlocked(path));
	snprintf(path, sizeof(path), GROUP_DIR "/%s.netns", name);
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

/* A group is its creator's uid's: a daemon launching for another user
 * must not be able to join it by name (through the library: sboxrun's
 * caller is always itself). */
static void test_group_other_user_refused(void **state)
{
	char *argv[] = { "/bin/sleep", "30", NULL };
	char net[64], name[48];
	struct sbox_policy policy;
	struct sbox_err err = { 0 };
	struct sbox_child *anchor, *other = NULL;
	struct sbox_event ev;
	struct sbox_launch launch = {
		.argv = argv, .stdio = { -1, -1, 2 }, .caller_cwd = "/",
		.caller_uid = 0, .caller_gid = 0,
	};

	(void)state;
	require_root();
	snprintf(name, sizeof(name), "owner-%d", (int)getpid());
	snprintf(net, sizeof(net), "group:%s", name);
	sbox_policy_init(&policy);
	assert_int_equal(sbox_policy_set(&policy, "PrivateNetwork", net, &err), 0);
	if (sbox_spawn(&policy, &launch, &anchor, &err) < 0)
		fail_msg("sbox_spawn: %s", err.msg);
	assert_int_equal(sbox_child_read_event(anchor, &ev, &err), 1);
	assert_int_equal(ev.kind, SBOX_EV_STARTED);
	launch.caller_uid = 65534;
	launch.caller_gid = 65534;
	assert_int_equal(sbox_spawn(&policy, &launch, &other, &err), -1);
	assert_null(other);
	if (!strstr(err.msg, "belongs to another user (uid 0)"))
		fprintf(stderr, "got: %s\n", err.msg);
	assert_non_null(strstr(err.msg, "belongs to another user (uid 0)"));
	sbox_child_free(anchor);
	sbox_policy_free(&policy);
	assert_group_gone(name);
}

/* ---------------------------------------------------------------- pool */

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
		else if (ev.kind != SBOX_EV_STARTED)
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

/* ------------------------------------------------------- helper mode */

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
		cmocka_unit_test(test_default_only_lo_private_netns),
		cmocka_unit_test(test_default_lo_up_echo),
		cmocka_unit_test(test_host_loopback_listener_unreachable),
		cmocka_unit_test(test_host_abstract_socket_unreachable),
		cmocka_unit_test(test_host_mode_shares_netns),
		cmocka_unit_test(test_unprivileged_refused),
		cmocka_unit_test(test_check_and_bad_values),
		cmocka_unit_test(test_veth_reaches_host_and_cleans_up),
		cmocka_unit_test(test_veth_addresses_unique_per_live_sandbox),
		cmocka_unit_test(test_veth_launcher_sigkill_leaks_nothing),
		cmocka_unit_test(test_veth_lease_lives_with_the_sandbox),
		cmocka_unit_test(test_group_members_share_loopback),
		cmocka_unit_test(test_group_stale_after_sigkill_is_replaced),
		cmocka_unit_test(test_group_other_user_refused),
		cmocka_unit_test(test_netns_pool),
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
