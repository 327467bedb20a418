/* SPDX-License-Identifier: MIT */
/*
 * floor: the least this kernel charges for a launch with full isolation,
 * with no launcher around it (docs/benchmarks.md, "Floors").
 *
 *   floor [-n N] [-w W] [-L LIVE] [-o RAW] [-t SECONDS -j CLIENTS]   (as root)
 *
 * One launch here is the kernel's work of one sbox launch and nothing
 * else: a cgroup with memory and pids limits and the device rules (v1: in
 * each of the controllers sbox uses; v2: one directory, CLONE_INTO_CGROUP),
 * clone3 into new pid, mount, ipc, uts, net namespaces, placement, a
 * cgroup namespace, the root view (a read-only bind of /, tmpfs /dev with
 * six bound nodes, proc, tmpfs /tmp, pivot_root), hostname, lo up, then a
 * worker forked from that init with no capabilities, no_new_privs and a
 * 40-rule seccomp filter, which execs /bin/true; init reaped, the cgroups
 * removed.  No policy, no protocol, no pool, no daemon: a launcher that
 * did only this, in the fewest system calls, would cost this much.
 *
 * -L LIVE holds LIVE such sandboxes alive (init paused) while measuring:
 * what the kernel alone charges a launch for the others' existence.
 * -t/-j: CLIENTS processes launching back to back for SECONDS.
 *
 * Output: one JSON object: latency percentiles (us) of sequential
 * launches; cpu_ms_per_launch, the whole machine's busy time per launch
 * (kernel workers included: the namespaces' and cgroups' teardown runs in
 * them) over the measured launches; per_s for -t.  -o RAW: each launch's
 * time too, in microseconds, one a line (as apibench -o).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CG_ROOT "/sys/fs/cgroup"
#define BASE_NAME "sbox-floor"

/* The hierarchies sbox gives a sandbox with no CPU or I/O limit a
 * directory in (sandbox/cgroup_v1.c, needed_mask()). */
static const char *const v1_controllers[] = { "cpuacct", "memory", "devices", "freezer",
					      "pids" };
#define N_V1 (sizeof(v1_controllers) / sizeof(v1_controllers[0]))

static int v2;
static char scratch[64];
static unsigned long seq;

static void die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int write_at(int dfd, const char *file, const char *val)
{
	int fd = openat(dfd, file, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/* A sandbox's cgroups: v1, one directory per controller; v2, one. */
struct cg {
	char name[64];
	int dfd[N_V1];
	int n;
};

static const char *const device_rules[] = { "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",
					    "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm",
					    "c 5:2 rwm", "c 136:* rwm" };

static void cg_base(void)
{
	char path[256];

	if (v2) {
		mkdir(CG_ROOT "/" BASE_NAME, 0755);
		write_at(AT_FDCWD, CG_ROOT "/cgroup.subtree_control", "+memory +pids");
		write_at(AT_FDCWD, CG_ROOT "/" BASE_NAME "/cgroup.subtree_control", "+memory +pids");
		return;
	}
	for (size_t i = 0; i < N_V1; i++) {
		snprintf(path, sizeof(path), CG_ROOT "/%s/" BASE_NAME, v1_controllers[i]);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			die(path);
	}
}

/* The base directories go at the end (best effort: another floorbench
 * may still use them), so that a run leaves no cgroup behind. */
static void cg_base_remove(void)
{
	char path[256];

	if (v2) {
		rmdir(CG_ROOT "/" BASE_NAME);
		return;
	}
	for (size_t i = 0; i < N_V1; i++) {
		snprintf(path, sizeof(path), CG_ROOT "/%s/" BASE_NAME, v1_controllers[i]);
		rmdir(path);
	}
}

static void cg_make(struct cg *c)
{
	char path[256];

	snprintf(c->name, sizeof(c->name), "f-%d-%lu", (int)getpid(), seq++);
	c->n = v2 ? 1 : (int)N_V1;
	for (int i = 0; i < c->n; i++) {
		const char *ctl = v2 ? "" : v1_controllers[i];

		snprintf(path, sizeof(path), CG_ROOT "/%s%s" BASE_NAME "/%s", ctl, v2 ? "" : "/",
			 c->name);
		if (mkdir(path, 0755) < 0)
			die(path);
		c->dfd[i] = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (c->dfd[i] < 0)
			die(path);
		if (v2) {
			if (write_at(c->dfd[i], "memory.max", "268435456") < 0 ||
			    write_at(c->dfd[i], "pids.max", "64") < 0)
				die("v2 limits");
		} else if (strcmp(ctl, "memory") == 0) {
			if (write_at(c->dfd[i], "memory.limit_in_bytes", "268435456") < 0)
				die("memory.limit_in_bytes");
		} else if (strcmp(ctl, "pids") == 0) {
			if (write_at(c->dfd[i], "pids.max", "64") < 0)
				die("pids.max");
		} else if (strcmp(ctl, "devices") == 0) {
			if (write_at(c->dfd[i], "devices.deny", "a") < 0)
				die("devices.deny");
			for (size_t r = 0; r < sizeof(device_rules) / sizeof(device_rules[0]); r++)
				if (write_at(c->dfd[i], "devices.allow", device_rules[r]) < 0)
					die("devices.allow");
		}
	}
}

static void cg_remove(struct cg *c)
{
	char path[256];

	for (int i = 0; i < c->n; i++) {
		const char *ctl = v2 ? "" : v1_controllers[i];

		close(c->dfd[i]);
		snprintf(path, sizeof(path), CG_ROOT "/%s%s" BASE_NAME "/%s", ctl, v2 ? "" : "/",
			 c->name);
		while (rmdir(path) < 0 && errno == EBUSY)
			usleep(100);
	}
}

static void xmount(const char *src, const char *dst, const char *type, unsigned long fl,
		   const char *data)
{
	if (mount(src, dst, type, fl, data) < 0)
		die(dst);
}

static void bind_node(const char *name)
{
	char src[64], dst[128];
	int fd;

	snprintf(src, sizeof(src), "/dev/%s", name);
	snprintf(dst, sizeof(dst), "%s/newroot/dev/%s", scratch, name);
	fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
	if (fd < 0)
		die(dst);
	close(fd);
	xmount(src, dst, NULL, MS_BIND, NULL);
}

/* The root view, as bubblewrap's --ro-bind / / --dev /dev --proc /proc
 * --tmpfs /tmp builds it, then pivot_root. */
static void root_view(void)
{
	char nr[128], p[160];
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };

	xmount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	xmount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	snprintf(nr, sizeof(nr), "%s/newroot", scratch);
	if (mkdir(nr, 0755) < 0)
		die(nr);
	xmount("/", nr, NULL, MS_BIND | MS_REC, NULL);
	xmount(NULL, nr, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID, NULL);
	snprintf(p, sizeof(p), "%s/dev", nr);
	xmount("tmpfs", p, "tmpfs", MS_NOSUID, "mode=0755");
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
		bind_node(nodes[i]);
	snprintf(p, sizeof(p), "%s/proc", nr);
	xmount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	snprintf(p, sizeof(p), "%s/tmp", nr);
	xmount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	if (chdir(nr) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
	    chdir("/") < 0)
		die("pivot_root");
}

static void lo_up(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		die("socket");
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		die("SIOCGIFFLAGS");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		die("SIOCSIFFLAGS");
	close(s);
}

/* A deny list of 40 system calls, as long as sbox's default profile's
 * check is for a call it allows (each rule one comparison). */
static void seccomp_install(void)
{
	static const int deny[40] = {
		SYS_kexec_load, SYS_init_module, SYS_finit_module, SYS_delete_module,
		SYS_reboot, SYS_swapon, SYS_swapoff, SYS_acct, SYS_settimeofday,
		SYS_clock_settime, SYS_adjtimex, SYS_mount, SYS_umount2, SYS_pivot_root,
		SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_kcmp,
		SYS_bpf, SYS_perf_event_open, SYS_userfaultfd, SYS_keyctl, SYS_add_key,
		SYS_request_key, SYS_unshare, SYS_setns, SYS_open_by_handle_at,
		SYS_name_to_handle_at, SYS_lookup_dcookie, SYS_quotactl, SYS_syslog,
		SYS_vhangup, SYS_iopl, SYS_ioperm, SYS_fsopen, SYS_fsmount, SYS_fsconfig,
		SYS_move_mount, SYS_open_tree, SYS_mount_setattr,
	};
	struct sock_filter f[3 + 2 * 40 + 1];
	size_t k = 0;

	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					     offsetof(struct seccomp_data, nr));
	for (int i = 0; i < 40; i++) {
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, deny[i], 0, 1);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
						     SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
	}
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = (unsigned short)k, .filter = f };

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		die("seccomp");
}

static void drop_caps(void)
{
	struct {
		uint32_t version;
		int pid;
	} hdr = { 0x20080522, 0 };
	uint32_t data[6] = { 0 };

	for (int c = 0; prctl(PR_CAPBSET_READ, c) >= 0; c++)
		if (prctl(PR_CAPBSET_DROP, c) < 0)
			die("PR_CAPBSET_DROP");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_capset, &hdr, data) < 0)
		die("capset");
}

/* Init: everything inside, then the worker, or (live) a pause. */
static void init_main(int go, int live)
{
	char c;
	pid_t w;
	int st;

	if (read(go, &c, 1) != 1)
		_exit(120);
	close(go);
	if (unshare(CLONE_NEWCGROUP) < 0)
		die("CLONE_NEWCGROUP");
	root_view();
	if (sethostname("sbox", 4) < 0)
		die("sethostname");
	lo_up();
	if (live)
		for (;;)
			pause();
	w = fork();
	if (w < 0)
		die("fork");
	if (w == 0) {
		char *argv[] = { "/bin/true", NULL }, *envp[] = { "PATH=/usr/bin:/bin", NULL };

		drop_caps();
		seccomp_install();
		execve(argv[0], argv, envp);
		_exit(127);
	}
	if (waitpid(w, &st, 0) < 0)
		_exit(121);
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 122);
}

struct sandbox {
	struct cg cg;
	pid_t init;
};

/* Start one; live: init stays (paused) until sandbox_end. */
static void sandbox_start(struct sandbox *s, int live)
{
	struct clone_args a = { .flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC |
					 CLONE_NEWUTS | CLONE_NEWNET,
				.exit_signal = SIGCHLD };
	int go[2];
	char pid[24];
	long r;

	cg_make(&s->cg);
	if (pipe2(go, O_CLOEXEC) < 0)
		die("pipe");
	if (v2) {
		a.flags |= CLONE_INTO_CGROUP;
		a.cgroup = (uint64_t)s->cg.dfd[0];
	}
	r = syscall(SYS_clone3, &a, sizeof(a));
	if (r < 0)
		die("clone3");
	if (r == 0) {
		close(go[1]);
		init_main(go[0], live);
	}
	s->init = (pid_t)r;
	close(go[0]);
	snprintf(pid, sizeof(pid), "%ld", r);
	for (int i = 0; !v2 && i < s->cg.n; i++)
		if (write_at(s->cg.dfd[i], "cgroup.procs", pid) < 0)
			die("cgroup.procs");
	if (write(go[1], "g", 1) != 1)
		die("go");
	close(go[1]);
}

static int sandbox_end(struct sandbox *s, int kill_it)
{
	int st;

	if (kill_it)
		kill(s->init, SIGKILL);
	if (waitpid(s->init, &st, 0) < 0)
		die("waitpid");
	cg_remove(&s->cg);
	return kill_it || (WIFEXITED(st) && WEXITSTATUS(st) == 0) ? 0 : -1;
}

static int one_launch(void)
{
	struct sandbox s;

	sandbox_start(&s, 0);
	return sandbox_end(&s, 0);
}

static unsigned long long busy_jiffies(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "re");

	if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
			 &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
		die("/proc/stat");
	fclose(f);
	return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *v, int n, double p)
{
	int i = (int)(p / 100.0 * (n - 1) + 0.5);

	return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static void throughput(int seconds, int clients)
{
	int p[2], failures = 0;
	long launches = 0;
	double t0 = now_us();

	if (pipe(p) < 0)
		die("pipe");
	for (int c = 0; c < clients; c++) {
		if (fork() == 0) {
			long n = 0, f = 0;
			double end = now_us() + seconds * 1e6;

			close(p[0]);
			while (now_us() < end) {
				if (one_launch() < 0)
					f++;
				n++;
			}
			long out[2] = { n, f };
			if (write(p[1], out, sizeof(out)) != sizeof(out))
				_exit(1);
			_exit(0);
		}
	}
	close(p[1]);
	for (int c = 0; c < clients; c++) {
		long in[2];

		if (read(p[0], in, sizeof(in)) == sizeof(in)) {
			launches += in[0];
			failures += (int)in[1];
		}
	}
	while (wait(NULL) > 0)
		;
	double s = (now_us() - t0) / 1e6;
	printf("{\"mode\": \"floor\", \"clients\": %d, \"seconds\": %.3f, \"launches\": %ld, "
	       "\"per_s\": %.1f, \"failures\": %d, \"cgroup\": \"%s\"}\n",
	       clients, s, launches, launches / s, failures, v2 ? "v2" : "v1");
}

int main(int argc, char **argv)
{
	int n = 200, warm = 10, live = 0, seconds = 0, clients = 0, opt, failures = 0;
	const char *raw = NULL;
	struct sandbox *held = NULL;
	unsigned long long j0, j1;
	double *lat, live_s = 0;

	while ((opt = getopt(argc, argv, "n:w:L:t:j:o:")) != -1) {
		switch (opt) {
		case 'n': n = atoi(optarg); break;
		case 'w': warm = atoi(optarg); break;
		case 'L': live = atoi(optarg); break;
		case 't': seconds = atoi(optarg); break;
		case 'j': clients = atoi(optarg); break;
		case 'o': raw = optarg; break;
		default:
			fprintf(stderr, "usage: floor [-n N] [-w W] [-L LIVE] [-o RAW] [-t SECONDS -j CLIENTS]\n");
			return 2;
		}
	}
	if (n < 1 || live < 0 || (seconds > 0) != (clients > 0)) {
		fprintf(stderr, "floor: -n must be >= 1, -t and -j go together\n");
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "floor: needs root (cgroups, namespaces)\n");
		return 2;
	}
	v2 = access(CG_ROOT "/cgroup.controllers", F_OK) == 0;
	snprintf(scratch, sizeof(scratch), "/tmp/sbox-floor-%d", (int)getpid());
	if (mkdir(scratch, 0700) < 0)
		die(scratch);
	cg_base();
	if (seconds > 0) {
		throughput(seconds, clients);
		cg_base_remove();
		rmdir(scratch);
		return 0;
	}
	if (live > 0) {
		double t = now_us();

		held = calloc((size_t)live, sizeof(*held));
		if (!held)
			die("calloc");
		for (int i = 0; i < live; i++)
			sandbox_start(&held[i], 1);
		live_s = (now_us() - t) / 1e6;
	}
	for (int i = 0; i < warm; i++)
		one_launch();
	lat = calloc((size_t)n, sizeof(*lat));
	if (!lat)
		die("calloc");
	j0 = busy_jiffies();
	for (int i = 0; i < n; i++) {
		double t = now_us();

		if (one_launch() < 0)
			failures++;
		lat[i] = now_us() - t;
	}
	j1 = busy_jiffies();
	if (raw) {
		FILE *f = fopen(raw, "we");

		if (!f)
			die(raw);
		for (int i = 0; i < n; i++)
			fprintf(f, "%.1f\n", lat[i]);
		if (fclose(f) != 0)
			die(raw);
	}
	for (int i = 0; i < live; i++)
		sandbox_end(&held[i], 1);
	cg_base_remove();
	rmdir(scratch);
	qsort(lat, (size_t)n, sizeof(*lat), cmp_d);
	printf("{\"mode\": \"floor\", \"live\": %d, \"live_start_s\": %.3f, \"cgroup\": \"%s\", "
	       "\"latency\": {\"n\": %d, \"min_us\": %.1f, \"p10_us\": %.1f, \"p50_us\": %.1f, "
	       "\"p90_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f}, "
	       "\"cpu_ms_per_launch\": %.2f, \"failures\": %d}\n",
	       live, live_s, v2 ? "v2" : "v1", n, lat[0], pct(lat, n, 10), pct(lat, n, 50),
	       pct(lat, n, 90), pct(lat, n, 99), lat[n - 1],
	       (double)(j1 - j0) * 1000.0 / sysconf(_SC_CLK_TCK) / n, failures);
	free(lat);
	free(held);
	return failures ? 1 : 0;
}
