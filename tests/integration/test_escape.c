/* SPDX-License-Identifier: MIT */
/*
 * The escape suite: from inside real sandboxes, try what container escapes
 * have done, and check that each layer of docs/security.md holds.  The
 * probe calls each syscall with harmless bad arguments (tests/probe), so
 * EBADF/EFAULT/ESRCH mean "allowed" and EPERM/ENOSYS "filtered".
 * Runs as root and as an unprivileged user (user namespace); the tests that
 * need root to set up (a setuid-root binary, a socket in /run, other ids)
 * skip with the reason when not root.
 */
#include "tests/integration/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define ZERO_CAPS "0000000000000000"

static void report_with(struct run_result *r, const char *const *extra, const char *cmd,
			const char *arg1, const char *arg2)
{
	const char *args[64];
	size_t n = 0;

	for (; extra && extra[n]; n++)
		args[n] = extra[n];
	args[n++] = probe_path();
	args[n++] = cmd;
	if (arg1)
		args[n++] = arg1;
	if (arg2)
		args[n++] = arg2;
	args[n] = NULL;
	run_sboxv(r, NULL, args);
}

/* The uid a default worker gets: nobody's for a root caller, the caller's
 * own in a user namespace. */
static unsigned default_worker_uid(void)
{
	struct passwd *pw;

	if (!running_as_root())
		return (unsigned)getuid();
	pw = getpwnam("nobody");
	return pw ? (unsigned)pw->pw_uid : 65534;
}

static void assert_no_privilege(const struct run_result *r)
{
	assert_kv(r, "cap_inh", ZERO_CAPS);
	assert_kv(r, "cap_prm", ZERO_CAPS);
	assert_kv(r, "cap_eff", ZERO_CAPS);
	assert_kv(r, "cap_bnd", ZERO_CAPS);
	assert_kv(r, "cap_amb", ZERO_CAPS);
	assert_kv(r, "no_new_privs", "1");
	assert_kv(r, "seccomp", "2");
}

/* 1. Escapes through privilege: capabilities, no_new_privs, seccomp, identity. */

static void test_least_privilege(void **state)
{
	struct run_result r;
	char uid[32];

	(void)state;
	snprintf(uid, sizeof(uid), "%u", default_worker_uid());
	report_with(&r, NULL, "report", NULL, NULL);
	assert_exit(&r, 0);
	assert_no_privilege(&r);
	assert_kv(&r, "uid", uid);
	assert_kv(&r, "euid", uid);
	assert_int_not_equal(atoi(uid), 0);
	run_result_free(&r);
}

static void test_root_by_name_only(void **state)
{
	const char *const as_root[] = { "--user", "root", NULL };
	struct run_result r;

	(void)state;
	if (!running_as_root())
		skip_because("User=root needs a root caller (a user namespace maps only the caller)");
	report_with(&r, as_root, "report", NULL, NULL);
	assert_exit(&r, 0);
	assert_kv(&r, "uid", "0");
	assert_kv(&r, "env.USER", "root");
	/* uid 0 without a single capability (SECBIT_NOROOT). */
	assert_no_privilege(&r);
	run_result_free(&r);
	/* ... so root's DAC is all it has: no mknod, no mount. */
	report_with(&r, as_root, "syscall", "mknod", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "syscall.mknod=EPERM");
	run_result_free(&r);
}

static void test_other_ids(void **state)
{
	const char *const ids[] = { "--user", "12345", "--group", "23456", "--set",
				    "SupplementaryGroups=34567 23457", NULL };
	struct run_result r;

	(void)state;
	if (!running_as_root())
		skip_because("other ids need a root caller");
	report_with(&r, ids, "report", NULL, NULL);
	assert_exit(&r, 0);
	assert_kv(&r, "uid", "12345");
	assert_kv(&r, "gid", "23456");
	assert_kv(&r, "egid", "23456");
	assert_kv(&r, "groups", "23456,23457,34567");
	assert_kv(&r, "env.USER", "12345");
	assert_no_privilege(&r);
	run_result_free(&r);
}

static void test_cap_add(void **state)
{
	const char *const add[] = { "--cap-add", "CAP_NET_BIND_SERVICE", NULL };
	struct run_result r;

	(void)state;
	report_with(&r, add, "report", NULL, NULL);
	assert_exit(&r, 0);
	/* Bit 10, in every set and nothing else. */
	assert_kv(&r, "cap_eff", "0000000000000400");
	assert_kv(&r, "cap_prm", "0000000000000400");
	assert_kv(&r, "cap_inh", "0000000000000400");
	assert_kv(&r, "cap_amb", "0000000000000400");
	assert_kv(&r, "cap_bnd", "0000000000000400");
	assert_kv(&r, "no_new_privs", "1");
	run_result_free(&r);
}

/* The launcher without CAP_SYS_BOOT in its bounding set, as a container's
 * root may be without some capability. */
static void launcher_without_sys_boot(void *arg)
{
	(void)arg;
	if (prctl(PR_CAPBSET_DROP, CAP_SYS_BOOT, 0, 0, 0) < 0)
		_exit(99);
}

/* "All but" means all the launcher has but these: a capability it lacks
 * is not one the drop lost (before: "cap_sys_boot is not in the bounding
 * set after the drop", exit 125, for any ~ set); granting one it lacks
 * says so. */
static void test_caps_the_launcher_lacks(void **state)
{
	struct run_opts o = { .pre_exec = launcher_without_sys_boot };
	struct run_result r;
	char *bnd;
	uint64_t v;

	(void)state;
	if (!running_as_root())
		skip();
	run_sbox(&r, &o, "--set", "CapabilityBoundingSet=~CAP_SYS_ADMIN", probe_path(), "report", NULL);
	assert_exit(&r, 0);
	bnd = kv_get(r.out, "cap_bnd");
	assert_non_null(bnd);
	v = strtoull(bnd, NULL, 16);
	assert_int_equal(v & (UINT64_C(1) << CAP_SYS_ADMIN), 0);
	assert_int_equal(v & (UINT64_C(1) << CAP_SYS_BOOT), 0);
	assert_int_not_equal(v & (UINT64_C(1) << CAP_CHOWN), 0);
	assert_kv(&r, "cap_eff", ZERO_CAPS);
	free(bnd);
	run_result_free(&r);
	run_sbox(&r, &o, "--cap-add", "CAP_SYS_BOOT", probe_path(), "report", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "AmbientCapabilities=cap_sys_boot: the launcher itself lacks it");
	assert_null(kv_get(r.out, "pid"));
	run_result_free(&r);
}

static void test_setuid_does_not_elevate(void **state)
{
	char *dir = make_tempdir();
	char path[600], spec[700], uid[32];
	const char *const nnp_off[] = { "--ro-bind", spec, "--set", "NoNewPrivileges=no", NULL };
	const char *const plain[] = { "--ro-bind", spec, NULL };
	const char *const *variants[] = { plain, nnp_off };
	struct run_result r;
	char buf[65536];
	ssize_t n;
	int in, out;

	(void)state;
	if (!running_as_root()) {
		rm_rf(dir);
		free(dir);
		skip_because("a setuid-root binary can only be made by root");
	}
	/* A setuid-root copy of the probe, bound in. */
	snprintf(path, sizeof(path), "%s/probe-suid", dir);
	in = open(probe_path(), O_RDONLY | O_CLOEXEC);
	out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
	assert_int_equal(chown(path, 0, 0), 0);
	assert_int_equal(chmod(path, 04755), 0);
	snprintf(spec, sizeof(spec), "%s:/tmp/suid", dir);
	snprintf(uid, sizeof(uid), "%u", default_worker_uid());
	for (size_t i = 0; i < 2; i++) {
		const char *args[16];
		size_t k = 0;

		for (; variants[i][k]; k++)
			args[k] = variants[i][k];
		args[k++] = "/tmp/suid/probe-suid";
		args[k++] = "report";
		args[k] = NULL;
		run_sboxv(&r, NULL, args);
		assert_exit(&r, 0);
		/* nosuid on every mount: even without no_new_privs. */
		assert_kv(&r, "euid", uid);
		assert_kv(&r, "cap_eff", ZERO_CAPS);
		run_result_free(&r);
	}
	rm_rf(dir);
	free(dir);
}

/* 2. Escapes through the system calls the filter must refuse. */

static void test_syscalls_filtered(void **state)
{
	static const char *const eperm[] = {
		"mount", "umount2", "unshare", "setns", "clone-ns", "clone-parent", "ptrace", "keyctl",
		"add_key", "request_key", "bpf", "perf_event_open", "userfaultfd", "io_uring_setup",
		"process_vm_readv", "kcmp", "pidfd_getfd", "open_by_handle_at", "init_module",
		"finit_module", "delete_module", "kexec_load", "reboot", "swapon", "swapoff", "acct",
		"quotactl", "iopl", "ioperm", "clock_settime", "clock_adjtime", "syslog",
		"personality-bad", "socket-alg", "socket-vsock", "chroot", "pivot_root", "fsopen",
		"open_tree", "open_tree_attr", "move_mount", "fsmount", "mount_setattr", "mknod",
	};
	struct run_result r;
	char line[128];

	(void)state;
	report_with(&r, NULL, "syscalls", NULL, NULL);
	assert_exit(&r, 0);
	for (size_t i = 0; i < sizeof(eperm) / sizeof(eperm[0]); i++) {
		snprintf(line, sizeof(line), "syscall.%s=EPERM", eperm[i]);
		assert_line(&r, line);
	}
	/* ENOSYS, so that libc falls back to clone(2), which is checked. */
	assert_line(&r, "syscall.clone3=ENOSYS");
	/* Allowed: the query of personality. */
	assert_line(&r, "syscall.personality=0");
	run_result_free(&r);
}

/* What the probe says about one syscall outside any sandbox. */
static char *host_outcome(const char *name)
{
	char cmd[1024], line[256], key[64];
	char *v = NULL;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "'%s' syscalls", probe_path());
	snprintf(key, sizeof(key), "syscall.%s=", name);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0)
			v = strndup(line + strlen(key), strcspn(line + strlen(key), "\n"));
	pclose(f);
	assert_non_null(v);
	return v;
}

static void test_other_architectures_killed(void **state)
{
	struct run_result r;
	char *host = host_outcome("int80");

	(void)state;
	report_with(&r, NULL, "syscalls", NULL, NULL);
	assert_exit(&r, 0);
	/* x32: the filter kills even where the kernel has no x32 ABI. */
	assert_line(&r, "syscall.x32=killed:SIGSYS");
	if (strcmp(host, "killed:SIGSEGV") == 0) {
		/* No IA32 emulation: int 0x80 never enters the kernel's
		 * syscall path, so no filter sees it. */
		assert_line(&r, "syscall.int80=killed:SIGSEGV");
	} else {
		assert_line(&r, "syscall.int80=killed:SIGSYS");
	}
	free(host);
	run_result_free(&r);
	/* In-process: the kill is the worker's death by SIGSYS. */
	report_with(&r, NULL, "syscall", "x32", NULL);
	assert_exit(&r, 128 + 31);
	run_result_free(&r);
}

static void test_terminal_injection(void **state)
{
	struct run_result r;
	char *pid, *sid;

	(void)state;
	report_with(&r, NULL, "syscalls", NULL, NULL);
	assert_exit(&r, 0);
	assert_line(&r, "syscall.ioctl-tiocsti=EPERM");
	/* The high bits the kernel ignores don't get past the filter. */
	assert_line(&r, "syscall.ioctl-tiocsti-hi=EPERM");
	assert_line(&r, "syscall.ioctl-tioclinux=EPERM");
	/* A line discipline set on the caller's terminal (N_NULL) kills it. */
	assert_line(&r, "syscall.ioctl-tiocsetd=EPERM");
	run_result_free(&r);
	/* And the worker has no controlling terminal to inject into. */
	report_with(&r, NULL, "report", NULL, NULL);
	assert_exit(&r, 0);
	assert_kv(&r, "session_leader", "1");
	pid = kv_get(r.out, "pid");
	sid = kv_get(r.out, "sid");
	assert_non_null(pid);
	assert_non_null(sid);
	assert_string_equal(pid, sid);
	free(pid);
	free(sid);
	run_result_free(&r);
}

static void test_filter_directives(void **state)
{
	const char *const allow_ptrace[] = { "--set", "SystemCallFilter=ptrace", NULL };
	const char *const enosys[] = { "--set", "SystemCallErrorNumber=ENOSYS", NULL };
	const char *const none[] = { "--seccomp", "none", NULL };
	const char *const nnp_off[] = { "--set", "NoNewPrivileges=no", NULL };
	struct run_result r;

	(void)state;
	report_with(&r, allow_ptrace, "syscall", "ptrace", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "syscall.ptrace=ESRCH");
	run_result_free(&r);
	report_with(&r, enosys, "syscall", "keyctl", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "syscall.keyctl=ENOSYS");
	run_result_free(&r);
	/* none: no filter, and still no capability. */
	report_with(&r, none, "report", NULL, NULL);
	assert_exit(&r, 0);
	assert_kv(&r, "seccomp", "0");
	assert_kv(&r, "cap_eff", ZERO_CAPS);
	assert_kv(&r, "cap_bnd", ZERO_CAPS);
	run_result_free(&r);
	/* Without no_new_privs the filter is installed all the same. */
	report_with(&r, nnp_off, "report", NULL, NULL);
	assert_exit(&r, 0);
	assert_kv(&r, "no_new_privs", "0");
	assert_kv(&r, "seccomp", "2");
	assert_kv(&r, "cap_eff", ZERO_CAPS);
	run_result_free(&r);
}

static void test_strict_profile(void **state)
{
	struct run_result r;

	(void)state;
	/* An ordinary dynamically linked program runs under the allow list. */
	run_sbox(&r, NULL, "--seccomp", "strict", "/bin/sh", "-c",
		 "grep -E '^(Seccomp|Seccomp_filters):' /proc/self/status; echo done", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "Seccomp:\t2");
	assert_line(&r, "Seccomp_filters:\t2");
	assert_line(&r, "done");
	run_result_free(&r);
	run_sbox(&r, NULL, "--seccomp", "strict", probe_path(), "syscalls", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "syscall.ptrace=EPERM");
	assert_line(&r, "syscall.clone3=ENOSYS");
	assert_line(&r, "syscall.ioctl-tiocsti-hi=EPERM");
	run_result_free(&r);
}

/* 3. Escapes through the filesystem: the host's files out of reach. */

/* The options of mount point `point` in a probe report ("" if absent). */
static void mount_opts(const char *out, const char *point, char *opts, size_t len);

/* Every masked directory and file, and InaccessiblePaths=, is the one
 * empty node of the staging tmpfs bound over it: the masks bring no
 * superblock each.  A superblock is a list_lru that each memory cgroup's
 * removal walks, with every live sandbox's (docs/benchmarks.md: 1000
 * live sandboxes). */
static void test_masks_share_one_superblock(void **state)
{
	const char *const hide[] = { "--set", "InaccessiblePaths=/srv", NULL };
	const char *paths = "/proc/acpi:/sys/firmware:/sys/kernel/debug:/sys/kernel/security:"
			    "/sys/kernel/tracing:/sys/fs/bpf:/proc/keys:/proc/timer_list:/srv:/tmp";
	struct run_result r;
	char first[64] = "", tmp_dev[64] = "";
	int shared = 0;

	(void)state;
	if (access("/srv", F_OK) < 0)
		skip();
	report_with(&r, hide, "devs", paths, NULL);
	assert_exit(&r, 0);
	for (char *l = r.out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char path[256], dev[64];

		if (sscanf(l, "dev=%255s %63s", path, dev) != 2 || !strchr(dev, ':'))
			continue;   /* not on this kernel */
		if (strcmp(path, "/tmp") == 0) {
			snprintf(tmp_dev, sizeof(tmp_dev), "%s", dev);
			continue;
		}
		if (!first[0])
			snprintf(first, sizeof(first), "%s", dev);
		if (strcmp(dev, first) != 0)
			fail_msg("%s is on %s, the first mask on %s:\n%s", path, dev, first, r.out);
		shared++;
	}
	/* /srv, /proc/keys and at least two of the kernel's directories. */
	assert_true(shared >= 4);
	/* The worker's /tmp is a tmpfs of its own: the check tells them apart. */
	assert_true(tmp_dev[0] && strcmp(tmp_dev, first) != 0);
	run_result_free(&r);

	/* One node under every mask: a mask left writable would be a place
	 * shared by all of them.  Each is read-only, nosuid, nodev, noexec,
	 * and even root with CAP_DAC_OVERRIDE, which mode 0 does not stop,
	 * writes nothing there. */
	report_with(&r, hide, "report", NULL, NULL);
	assert_exit(&r, 0);
	for (size_t i = 0; i < 3; i++) {
		static const char *const points[] = { "/proc/acpi", "/proc/keys", "/srv" };
		char opts[256];

		mount_opts(r.out, points[i], opts, sizeof(opts));
		if (!opts[0] && i == 0)
			continue;   /* no /proc/acpi on this kernel */
		if (strncmp(opts, "ro,nosuid,nodev,noexec", 22) != 0)
			fail_msg("mask %s is mounted '%s'", points[i], opts);
	}
	run_result_free(&r);
	if (running_as_root()) {
		const char *const root_dac[] = { "--user", "root", "--cap-add", "CAP_DAC_OVERRIDE",
						 "--set", "InaccessiblePaths=/srv", NULL };

		report_with(&r, root_dac, "write", "/srv/planted", NULL);
		assert_exit(&r, 0);
		assert_line(&r, "write=EROFS");
		run_result_free(&r);
	}
}

static void test_proc_sys_masks(void **state)
{
	static const char *const masked[] = {
		"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
		"/proc/sysrq-trigger", "/proc/acpi", "/proc/kmsg", "/sys/firmware",
		"/sys/kernel/debug", "/sys/kernel/security",
	};
	const char *const as_root[] = { "--user", "root", NULL };
	struct run_result r;
	size_t checked = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
		struct stat st;

		if (lstat(masked[i], &st) < 0)
			continue;   /* not on this kernel */
		checked++;
		report_with(&r, NULL, "stat", masked[i], NULL);
		assert_exit(&r, 0);
		assert_line(&r, S_ISDIR(st.st_mode) ? "stat=ok type=dir mode=0000 rdev=0:0" :
						      "stat=ok type=reg mode=0000 rdev=0:0");
		run_result_free(&r);
		/* Even uid 0 (no CAP_DAC_OVERRIDE) can't read a mask. */
		if (running_as_root()) {
			report_with(&r, as_root, "open", masked[i], "r");
			assert_exit(&r, 0);
			assert_line(&r, "open=EACCES");
			run_result_free(&r);
		}
	}
	assert_true(checked >= 3);
	/* Sysctls are read-only; domainname is per UTS namespace, so a
	 * write that got through would harm nothing. */
	report_with(&r, running_as_root() ? as_root : NULL, "write", "/proc/sys/kernel/domainname", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "write=EROFS");
	run_result_free(&r);
	report_with(&r, NULL, "report", NULL, NULL);
	assert_exit(&r, 0);
	assert_non_null(strstr(r.out, "\nmount=/proc/sys proc ro,nosuid,nodev,noexec"));
	assert_non_null(strstr(r.out, "\nmount=/sys sysfs ro,"));
	run_result_free(&r);
}

static void test_writes_outside_fail(void **state)
{
	static const char *const outside[] = {
		"/etc/sbox-escape", "/usr/sbox-escape", "/var/tmp/sbox-escape", "/dev/sbox-escape",
		"/root/sbox-escape", "/sys/sbox-escape",
	};
	const char *const as_root[] = { "--user", "root", NULL };
	struct run_result r;

	(void)state;
	for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		report_with(&r, running_as_root() ? as_root : NULL, "write", outside[i], NULL);
		assert_exit(&r, 0);
		/* /root is 0700: the caller's own uid may not even look in. */
		if (!running_as_root() && strncmp(outside[i], "/root/", 6) == 0 &&
		    has_line(r.out, "write=EACCES"))
			assert_line(&r, "write=EACCES");
		else
			assert_line(&r, "write=EROFS");
		run_result_free(&r);
		assert_int_equal(access(outside[i], F_OK), -1);
	}
	report_with(&r, NULL, "write", "/tmp/sbox-escape", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "write=ok");
	run_result_free(&r);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	char chunk[4096];
	size_t n;

	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		buf = realloc(buf, len + n + 1);
		assert_non_null(buf);
		memcpy(buf + len, chunk, n);
		len += n;
		buf[len] = '\0';
	}
	fclose(f);
	return buf ? buf : strdup("");
}

/* Every writable mount is nosuid and nodev (devpts excepted: its nodes
 * are the ptys), binds and tmpfs of the policy included; and nothing the
 * sandbox mounts shows up on the host. */
static void test_writable_mounts_nosuid_nodev(void **state)
{
	char *dir = make_tempdir();
	char spec[600];
	char *before, *after;
	struct run_result r;
	size_t rw = 0;

	(void)state;
	snprintf(spec, sizeof(spec), "%s:/tmp/out", dir);
	before = read_all("/proc/self/mountinfo");
	run_sbox(&r, NULL, "--bind", spec, "--tmpfs", "/tmp/scratch", probe_path(), "report", NULL);
	after = read_all("/proc/self/mountinfo");
	assert_exit(&r, 0);
	for (const char *l = r.out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char point[256], type[64], opts[256];

		char later[300];

		if (strncmp(l, "mount=", 6) != 0 || sscanf(l + 6, "%255s %63s %255s", point, type, opts) != 3)
			continue;
		if (strncmp(opts, "rw", 2) != 0)
			continue;
		/* A mount with another on top at the same place is out of
		 * every path's reach; the classic path leaves its flags as
		 * they are (sandbox/mounts_classic.c), as on a host with two
		 * tmpfs stacked on /dev/shm. */
		snprintf(later, sizeof(later), "\nmount=%s ", point);
		if (strstr(l, later))
			continue;
		rw++;
		if (!strstr(opts, "nosuid") || (!strstr(opts, "nodev") && strcmp(type, "devpts") != 0)) {
			dump_result(&r);
			fail_msg("writable mount %s (%s) is %s", point, type, opts);
		}
	}
	/* /proc, /dev/pts, /dev/shm, /tmp, /run, the bind and the tmpfs. */
	assert_true(rw >= 7);
	assert_non_null(strstr(r.out, "\nmount=/tmp/out "));
	assert_non_null(strstr(r.out, "\nmount=/tmp/scratch tmpfs rw,nosuid,nodev"));
	assert_string_equal(before, after);
	free(before);
	free(after);
	run_result_free(&r);
	rm_rf(dir);
	free(dir);
}

/* The options of mount point `point` in a probe report ("" if absent). */
static void mount_opts(const char *out, const char *point, char *opts, size_t len)
{
	char want[300];
	const char *l;

	snprintf(want, sizeof(want), "\nmount=%s ", point);
	opts[0] = '\0';
	l = strstr(out, want);
	if (l && sscanf(l + strlen(want), "%*s %255s", opts) != 1)
		opts[0] = '\0';
	(void)len;
}

/* nodev is added back to a bind where no device cgroup decides (the
 * unprivileged run), and is there on every writable bind: a device node
 * reached through such a bind does not open (EACCES), whatever its mode. */
static void test_bind_nodev_added_back(void **state)
{
	char *dir = make_tempdir();
	char rw[600], node[600], opts[256];
	struct run_result r;

	(void)state;
	snprintf(rw, sizeof(rw), "%s:/tmp/rw", dir);
	if (running_as_root()) {
		/* A node planted where the worker can write: never usable. */
		snprintf(node, sizeof(node), "%s/null", dir);
		assert_int_equal(mknod(node, S_IFCHR | 0666, makedev(1, 3)), 0);
		run_sbox(&r, NULL, "--bind", rw, "--", probe_path(), "open", "/tmp/rw/null", "rw", NULL);
		assert_exit(&r, 0);
		assert_kv(&r, "open", "EACCES");
		run_result_free(&r);
	}
	run_sbox(&r, NULL, "--bind", rw, "--ro-bind", "/dev/null:/tmp/devnull", "--", probe_path(),
		 "report", NULL);
	assert_exit(&r, 0);
	mount_opts(r.out, "/tmp/rw", opts, sizeof(opts));
	if (!strstr(opts, "nosuid") || !strstr(opts, "nodev"))
		dump_result(&r);
	assert_non_null(strstr(opts, "nosuid"));
	assert_non_null(strstr(opts, "nodev"));
	if (!running_as_root()) {
		/* No device cgroup: the read-only bind is nodev too. */
		mount_opts(r.out, "/tmp/devnull", opts, sizeof(opts));
		if (!strstr(opts, "nodev"))
			dump_result(&r);
		assert_non_null(strstr(opts, "nosuid"));
		assert_non_null(strstr(opts, "nodev"));
	}
	run_result_free(&r);
	if (!running_as_root()) {
		run_sbox(&r, NULL, "--ro-bind", "/dev/null:/tmp/devnull", "--", probe_path(), "open",
			 "/tmp/devnull", "r", NULL);
		assert_exit(&r, 0);
		assert_kv(&r, "open", "EACCES");
		run_result_free(&r);
	}
	rm_rf(dir);
	free(dir);
}

/* A bind source is resolved as the caller sees it: its own (or root's)
 * symlinks are followed (merged /usr: /lib -> usr/lib), a magic link
 * (/proc/self/fd/N) never is, and a privileged caller does not follow a
 * link another user owns, who could point it at /etc. */
static void test_bind_source_symlinks(void **state)
{
	char *dir = make_tempdir();
	char real[512], link[512], spec[1100];
	struct run_result r;

	(void)state;
	snprintf(real, sizeof(real), "%s/real", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(mkdir(real, 0755), 0);
	assert_int_equal(symlink("real", link), 0);
	/* The caller's own link, relative, and a link above the source. */
	snprintf(spec, sizeof(spec), "%s:/tmp/in", link);
	run_sbox(&r, NULL, "--ro-bind", spec, probe_path(), "stat", "/tmp/in", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "stat=ok type=dir mode=0755 rdev=0:0");
	run_result_free(&r);
	snprintf(spec, sizeof(spec), "%s/.:/tmp/in", link);
	run_sbox(&r, NULL, "--ro-bind", spec, probe_path(), "stat", "/tmp/in", NULL);
	assert_exit(&r, 0);
	run_result_free(&r);
	/* Magic links: never, whatever they point at. */
	run_sbox(&r, NULL, "--ro-bind", "/proc/self/fd/0:/tmp/in", probe_path(), "exit", "0", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "magic link");
	run_result_free(&r);
	run_sbox(&r, NULL, "--ro-bind", "/proc/self/root/etc:/tmp/in", probe_path(), "exit", "0",
		 NULL);
	assert_exit(&r, 125);
	run_result_free(&r);
	if (running_as_root()) {
		/* Another user's link, as root: refused, naming it. */
		assert_int_equal(unlink(link), 0);
		assert_int_equal(symlink("/etc", link), 0);
		assert_int_equal(lchown(link, 65534, 65534), 0);
		snprintf(spec, sizeof(spec), "%s:/tmp/in", link);
		run_sbox(&r, NULL, "--ro-bind", spec, probe_path(), "report", NULL);
		assert_exit(&r, 125);
		assert_err_contains(&r, "belongs to another user");
		assert_null(kv_get(r.out, "pid"));
		run_result_free(&r);
	}
	rm_rf(dir);
	free(dir);
}

/* A link swapped while launches resolve it (root's link to A, another
 * user's to B, renamed over it again and again) never binds B: the
 * source is resolved once, its links checked, and bound through the fd. */
static void test_bind_source_symlink_race(void **state)
{
	char *dir;
	char a[512], b[512], link[512], tmp_a[512], tmp_b[512], spec[1100];
	int saw_a = 0, saw_b = 0;
	pid_t swapper;

	(void)state;
	if (!running_as_root())
		skip_because("needs root: another user's symlink, and a privileged caller");
	dir = make_tempdir();
	snprintf(a, sizeof(a), "%s/A", dir);
	snprintf(b, sizeof(b), "%s/B", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	snprintf(tmp_a, sizeof(tmp_a), "%s/tmp-a", dir);
	snprintf(tmp_b, sizeof(tmp_b), "%s/tmp-b", dir);
	assert_int_equal(mkdir(a, 0755), 0);
	assert_int_equal(mkdir(b, 0755), 0);
	{
		char f[600];

		snprintf(f, sizeof(f), "%s/which", a);
		write_text(f, "A\n");
		snprintf(f, sizeof(f), "%s/which", b);
		write_text(f, "B\n");
	}
	assert_int_equal(symlink("A", link), 0);
	swapper = fork();
	assert_true(swapper >= 0);
	if (swapper == 0) {
		for (;;) {
			unlink(tmp_b);
			if (symlink("B", tmp_b) == 0 && lchown(tmp_b, 65534, 65534) == 0)
				rename(tmp_b, link);
			unlink(tmp_a);
			if (symlink("A", tmp_a) == 0)
				rename(tmp_a, link);
		}
	}
	snprintf(spec, sizeof(spec), "%s:/tmp/in", link);
	for (int i = 0; i < 40; i++) {
		struct run_result r;

		run_sbox(&r, NULL, "--ro-bind", spec, "--", "/bin/cat", "/tmp/in/which", NULL);
		if (has_line(r.out, "A"))
			saw_a++;
		if (has_line(r.out, "B")) {
			dump_result(&r);
			saw_b++;
		}
		run_result_free(&r);
	}
	kill(swapper, SIGKILL);
	waitpid(swapper, NULL, 0);
	fprintf(stderr, "symlink race: %d of 40 launches bound A, %d bound B\n", saw_a, saw_b);
	assert_int_equal(saw_b, 0);
	/* ... and root's own link is followed while it is in place. */
	assert_true(saw_a > 0);
	rm_rf(dir);
	free(dir);
}

static void test_mknod_fails(void **state)
{
	struct run_result r;

	(void)state;
	/* In /tmp, writable: only the missing CAP_MKNOD (and the filter's
	 * view of it) stops it; /tmp is nodev as well. */
	report_with(&r, NULL, "syscall", "mknod", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "syscall.mknod=EPERM");
	run_result_free(&r);
}

/* cgroup.procs of the sandbox's cgroup view, whatever the hierarchy: one
 * the sandbox's own cgroup has (not the hybrid layout's empty unified,
 * which the sandbox's /sys/fs/cgroup does not show). */
static const char *cgroup_file(void)
{
	static const char *const candidates[] = {
		"/sys/fs/cgroup/cgroup.procs", "/sys/fs/cgroup/pids/cgroup.procs",
		"/sys/fs/cgroup/memory/cgroup.procs",
	};

	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (access(candidates[i], F_OK) == 0)
			return candidates[i];
	return NULL;
}

static void test_cgroup_not_writable(void **state)
{
	const char *const as_root[] = { "--user", "root", NULL };
	const char *file = cgroup_file();
	struct run_result r;

	(void)state;
	if (!file)
		skip_because("no cgroup file system mounted");
	/* Opened without writing: were it writable, nothing is moved. */
	report_with(&r, NULL, "open", file, "w");
	assert_exit(&r, 0);
	assert_no_line(&r, "open=ok");
	run_result_free(&r);
	if (running_as_root()) {
		report_with(&r, as_root, "open", file, "w");
		assert_exit(&r, 0);
		assert_line(&r, "open=EROFS");
		run_result_free(&r);
	}
}

static void test_host_sockets_hidden(void **state)
{
	struct run_result r;
	char path[96], line[160];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	DIR *d;
	struct dirent *e;
	int fd = -1, checked = 0;

	(void)state;
	/* A listener of our own in /run, when we may make one. */
	snprintf(path, sizeof(path), "/run/sbox-escape-%d.sock", (int)getpid());
	if (running_as_root()) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
		assert_true(fd >= 0);
		assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
		assert_int_equal(listen(fd, 1), 0);
		report_with(&r, NULL, "stat", path, NULL);
		assert_exit(&r, 0);
		assert_line(&r, "stat=ENOENT");
		run_result_free(&r);
		checked++;
	}
	/* Whatever the host keeps in /run (dbus, docker, systemd, sboxd). */
	d = opendir("/run");
	assert_non_null(d);
	while ((e = readdir(d)) && checked < 6) {
		char p[300];

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/run/%s", e->d_name);
		report_with(&r, NULL, "stat", p, NULL);
		assert_exit(&r, 0);
		assert_line(&r, "stat=ENOENT");
		run_result_free(&r);
		checked++;
	}
	closedir(d);
	report_with(&r, NULL, "stat", "/var/run/docker.sock", NULL);
	assert_exit(&r, 0);
	assert_line(&r, "stat=ENOENT");
	run_result_free(&r);
	report_with(&r, NULL, "report", NULL, NULL);
	assert_exit(&r, 0);
	snprintf(line, sizeof(line), "\nmount=/run tmpfs rw,nosuid,nodev,noexec");
	assert_non_null(strstr(r.out, line));
	run_result_free(&r);
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
}

/* 4. Escapes through the network. */

static void test_host_listeners_unreachable(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len = sizeof(sin);
	char port[16], name[64];
	struct run_result r;
	int tcp, unx;

	(void)state;
	tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(tcp >= 0);
	assert_int_equal(bind(tcp, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(tcp, 4), 0);
	assert_int_equal(getsockname(tcp, (struct sockaddr *)&sin, &len), 0);
	snprintf(port, sizeof(port), "%u", (unsigned)ntohs(sin.sin_port));

	snprintf(name, sizeof(name), "sbox-escape-%d", (int)getpid());
	unx = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(unx >= 0);
	memcpy(sun.sun_path + 1, name, strlen(name));
	assert_int_equal(bind(unx, (struct sockaddr *)&sun,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name))), 0);
	assert_int_equal(listen(unx, 4), 0);

	report_with(&r, NULL, "connect-tcp", "127.0.0.1", port);
	assert_exit(&r, 0);
	assert_line(&r, "connect=ECONNREFUSED");
	run_result_free(&r);
	report_with(&r, NULL, "connect-abstract", name, NULL);
	assert_exit(&r, 0);
	assert_line(&r, "connect=ECONNREFUSED");
	run_result_free(&r);
	close(tcp);
	close(unx);
}

/* 5. Escapes through what the launcher leaves behind: cwd and fds. */

static void test_launcher_exe_not_writable(void **state)
{
	static const char *const paths[] = { "/proc/1/exe", "/proc/1/mem", "/proc/1/environ" };
	struct run_result r;

	(void)state;
	/* pid 1 is sbox's init, a fork of the launcher: its exe is the
	 * host's sboxrun (runc's CVE-2019-5736).  Non-dumpable, so no one
	 * in the sandbox may even open it. */
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		report_with(&r, NULL, "open", paths[i], i == 0 ? "w" : "r");
		assert_exit(&r, 0);
		assert_line(&r, "open=EACCES");
		run_result_free(&r);
	}
	report_with(&r, NULL, "open", "/proc/1/exe", "r");
	assert_exit(&r, 0);
	assert_line(&r, "open=EACCES");
	run_result_free(&r);
	/* Its own binary: on the read-only root, and busy. */
	report_with(&r, NULL, "open", "/proc/self/exe", "w");
	assert_exit(&r, 0);
	assert_no_line(&r, "open=ok");
	run_result_free(&r);
}

/* Init hardens itself before the worker runs a step of its own (C7a
 * before the fork, C7b before S1b): the worker's first look at init, many
 * times over, never finds it dumpable or with more than CAP_KILL. */
static void test_init_hardened_before_worker(void **state)
{
	struct run_result r;

	(void)state;
	for (int i = 0; i < 20; i++) {
		report_with(&r, NULL, "init-state", NULL, NULL);
		assert_exit(&r, 0);
		assert_kv(&r, "init_environ", "EACCES");
		assert_kv(&r, "init_cap_prm", "0000000000000020");
		assert_kv(&r, "init_cap_eff", "0000000000000020");
		run_result_free(&r);
	}
}

static void chdir_tmp(void *arg)
{
	if (chdir((const char *)arg) < 0)
		_exit(99);
}

static void test_cwd_and_fds_inside(void **state)
{
	char dir[] = "/tmp/sbox-escape.XXXXXX";
	struct run_opts o = { .pre_exec = chdir_tmp, .arg = dir };
	struct run_result r;
	char *v;

	(void)state;
	/* The caller's cwd is under the host's /tmp, which the sandbox does
	 * not show: the worker starts in /, never in a directory outside. */
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	run_sbox(&r, &o, probe_path(), "report", NULL);
	assert_exit(&r, 0);
	assert_kv(&r, "cwd", "/");
	assert_kv(&r, "fd", "3");
	for (int fd = 0; fd < 3; fd++) {
		char key[16];

		snprintf(key, sizeof(key), "fd.%d", fd);
		v = kv_get(r.out, key);
		assert_non_null(v);
		/* The harness's pipes and /dev/null; nothing "(unreachable)". */
		assert_null(strstr(v, "unreachable"));
		free(v);
	}
	assert_null(strstr(r.out, "unreachable"));
	run_result_free(&r);
	rmdir(dir);
}

/* 6. Escapes from the resource limits. */

/* The launcher's own RLIMIT_NOFILE, as its caller's ulimit -n would be:
 * arg is the struct rlimit. */
static void launcher_nofile(void *arg)
{
	if (setrlimit(RLIMIT_NOFILE, arg) < 0)
		_exit(99);
}

static void test_rlimits(void **state)
{
	struct rlimit lim = { 64, 64 };
	struct run_opts small = { .pre_exec = launcher_nofile, .arg = &lim };
	struct run_result r;

	(void)state;
	run_sbox(&r, NULL, "--set", "LimitNOFILE=256:512", "--set", "LimitCORE=0", probe_path(),
		 "report", NULL);
	assert_exit(&r, 0);
	assert_kv(&r, "rlimit.NOFILE", "256:512");
	assert_kv(&r, "rlimit.CORE", "0:0");
	run_result_free(&r);
	/* The worker can lower its hard limit, never raise it. */
	run_sbox(&r, NULL, "--set", "LimitNOFILE=256:512", "/bin/sh", "-c",
		 "ulimit -Hn 1024 2>/dev/null && echo raised || echo refused; ulimit -Hn 300 && ulimit -Hn",
		 NULL);
	assert_exit(&r, 0);
	assert_line(&r, "refused");
	assert_line(&r, "300");
	run_result_free(&r);
	/* A small LimitNOFILE= is the worker's, not its set-up's: W2 and W3
	 * open and move fds before exec (it used to fail the launch with
	 * "duplicating the worker's fd 0": no fd 100 under a limit of 64). */
	run_sbox(&r, NULL, "--set", "LimitNOFILE=16", probe_path(), "report", NULL);
	assert_exit(&r, 0);
	assert_kv(&r, "rlimit.NOFILE", "16:16");
	run_result_free(&r);
	/* Nor does a launcher under ulimit -n 64 fail to start its worker. */
	run_sbox(&r, &small, probe_path(), "report", NULL);
	assert_exit(&r, 0);
	assert_kv(&r, "rlimit.NOFILE", "64:64");
	run_result_free(&r);
	if (!running_as_root()) {
		/* An unprivileged caller can't raise its own hard limit
		 * through sbox either: the launch fails, closed. */
		run_sbox(&r, NULL, "--set", "LimitNOFILE=infinity", probe_path(), "report", NULL);
		assert_exit(&r, 125);
		assert_err_contains(&r, "LimitNOFILE: setting the limit");
		assert_null(kv_get(r.out, "pid"));
		run_result_free(&r);
	}
}

/* --cap-limits: a root caller passing on someone else's policy (the Slurm
 * plugin, a job's lines) hands the worker no hard limit above its own,
 * whatever the policy asks; without it a root sboxrun sets what the policy
 * says (where it holds CAP_SYS_RESOURCE). */
static void test_cap_limits(void **state)
{
	/* The launcher's own limit lowered, as slurmd's would be for a
	 * task: 256 open files, 512 at most. */
	struct rlimit lim = { 256, 512 };
	struct run_opts o = { .pre_exec = launcher_nofile, .arg = &lim };
	char *dir = make_tempdir();
	char policy[512];
	struct run_result r;

	(void)state;
	run_sbox(&r, &o, "--cap-limits", "--set", "LimitNOFILE=100:1024", probe_path(), "report", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "LimitNOFILE: a hard limit above sboxrun's own (512) is past --cap-limits");
	assert_null(kv_get(r.out, "pid"));
	run_result_free(&r);
	/* The same from a policy file (the plugin's job policy is one),
	 * infinity included, and --check says so before any launch. */
	snprintf(policy, sizeof(policy), "%s/job.policy", dir);
	write_text(policy, "[Sandbox]\nLimitNOFILE=infinity\n");
	run_sbox(&r, &o, "--cap-limits", "--policy", policy, "--check", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "LimitNOFILE: a hard limit above sboxrun's own (512)");
	run_result_free(&r);
	/* At or below its own: the policy's, exactly. */
	run_sbox(&r, &o, "--cap-limits", "--set", "LimitNOFILE=64:512", probe_path(), "report", NULL);
	assert_exit(&r, 0);
	assert_kv(&r, "rlimit.NOFILE", "64:512");
	run_result_free(&r);
	/* None set: the launcher's own, as ever. */
	run_sbox(&r, &o, "--cap-limits", probe_path(), "report", NULL);
	assert_exit(&r, 0);
	assert_kv(&r, "rlimit.NOFILE", "256:512");
	run_result_free(&r);
	/* Without the flag the check is not sboxrun's: the limit is set as
	 * asked, or fails at W1b where the kernel says no. */
	run_sbox(&r, &o, "--set", "LimitNOFILE=100:1024", probe_path(), "report", NULL);
	assert_null(strstr(r.err, "--cap-limits"));
	if (r.code == 0)
		assert_kv(&r, "rlimit.NOFILE", "100:1024");
	else
		assert_err_contains(&r, "LimitNOFILE: setting the limit");
	run_result_free(&r);
	rm_rf(dir);
	free(dir);
}

/* 7. Set-up errors fail closed: no half-built sandbox runs a worker. */

static void test_identity_errors(void **state)
{
	struct run_result r;

	(void)state;
	run_sbox(&r, NULL, "--user", "no-such-user-sbox", probe_path(), "report", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "User=no-such-user-sbox: no such user in the host's passwd");
	assert_null(kv_get(r.out, "pid"));
	run_result_free(&r);
	if (running_as_root()) {
		run_sbox(&r, NULL, "--set", "PrivateUsers=yes", probe_path(), "report", NULL);
		assert_exit(&r, 125);
		assert_err_contains(&r, "set User=root to mean that");
		run_result_free(&r);
	} else {
		run_sbox(&r, NULL, "--user", "root", probe_path(), "report", NULL);
		assert_exit(&r, 125);
		assert_err_contains(&r, "only the caller's uid");
		run_result_free(&r);
	}
	run_sbox(&r, NULL, "--set", "AmbientCapabilities=CAP_SYS_ADMIN", probe_path(), "report", NULL);
	assert_exit(&r, 125);
	assert_err_contains(&r, "not in CapabilityBoundingSet=");
	run_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_least_privilege),
		cmocka_unit_test(test_root_by_name_only),
		cmocka_unit_test(test_other_ids),
		cmocka_unit_test(test_cap_add),
		cmocka_unit_test(test_caps_the_launcher_lacks),
		cmocka_unit_test(test_setuid_does_not_elevate),
		cmocka_unit_test(test_syscalls_filtered),
		cmocka_unit_test(test_other_architectures_killed),
		cmocka_unit_test(test_terminal_injection),
		cmocka_unit_test(test_filter_directives),
		cmocka_unit_test(test_strict_profile),
		cmocka_unit_test(test_proc_sys_masks),
		cmocka_unit_test(test_masks_share_one_superblock),
		cmocka_unit_test(test_writes_outside_fail),
		cmocka_unit_test(test_writable_mounts_nosuid_nodev),
		cmocka_unit_test(test_bind_nodev_added_back),
		cmocka_unit_test(test_bind_source_symlinks),
		cmocka_unit_test(test_bind_source_symlink_race),
		cmocka_unit_test(test_mknod_fails),
		cmocka_unit_test(test_cgroup_not_writable),
		cmocka_unit_test(test_host_sockets_hidden),
		cmocka_unit_test(test_host_listeners_unreachable),
		cmocka_unit_test(test_launcher_exe_not_writable),
		cmocka_unit_test(test_init_hardened_before_worker),
		cmocka_unit_test(test_cwd_and_fds_inside),
		cmocka_unit_test(test_rlimits),
		cmocka_unit_test(test_cap_limits),
		cmocka_unit_test(test_identity_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
