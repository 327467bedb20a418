/* SPDX-License-Identifier: MIT */
/*
 * The device set and its enforcement: DeviceAllow= and GPUs= syntax, the set
 * a sandbox gets, devices.allow rules (v1) and the BPF_CGROUP_DEVICE program
 * (v2) — both checked against the kernel itself where the machine has the
 * hierarchy: a child process joins a test cgroup and opens nodes, and a node
 * with no driver behind it tells the two outcomes apart: ENXIO when the
 * cgroup lets the open through, EPERM when it refuses.
 */
#include "policy/dir_devices.h"
#include "policy/directives.h"
#include "sandbox/devices.h"
#include "sandbox/gpu_grant.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/print_helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define RW (SBOX_DEV_ACC_READ | SBOX_DEV_ACC_WRITE)
#define RWM (RW | SBOX_DEV_ACC_MKNOD)

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void set_ok(struct sbox_policy *p, const char *name, const char *value)
{
	struct sbox_err err = { 0 };

	if (sbox_policy_set(p, name, value, &err) < 0)
		fail_msg("%s=%s: %s", name, value, err.msg);
}

static void set_fails(const char *name, const char *value, const char *msg)
{
	struct sbox_policy p;
	struct sbox_err err = { 0 };

	sbox_policy_init(&p);
	assert_int_equal(sbox_policy_set(&p, name, value, &err), -1);
	if (!strstr(err.msg, msg))
		fail_msg("%s=%s: '%s' does not contain '%s'", name, value, err.msg, msg);
	sbox_policy_free(&p);
}

/* DeviceAllow= syntax. */

static void test_access(void **state)
{
	unsigned a = 99;
	char buf[4];

	(void)state;
	assert_int_equal(sbox_parse_device_access("", &a), 0);
	assert_int_equal(a, RWM);
	assert_int_equal(sbox_parse_device_access("r", &a), 0);
	assert_int_equal(a, SBOX_DEV_ACC_READ);
	assert_int_equal(sbox_parse_device_access("mw", &a), 0);
	assert_int_equal(a, SBOX_DEV_ACC_WRITE | SBOX_DEV_ACC_MKNOD);
	a = 99;
	assert_int_equal(sbox_parse_device_access("rr", &a), -EINVAL);
	assert_int_equal(sbox_parse_device_access("rwx", &a), -EINVAL);
	assert_int_equal(sbox_parse_device_access("R", &a), -EINVAL);
	assert_int_equal(sbox_parse_device_access(NULL, &a), -EINVAL);
	assert_int_equal(a, 99);
	assert_string_equal(sbox_format_device_access(RWM, buf), "rwm");
	assert_string_equal(sbox_format_device_access(SBOX_DEV_ACC_WRITE, buf), "w");
	assert_string_equal(sbox_format_device_access(0, buf), "");
}

static void test_device_allow_directive(void **state)
{
	struct sbox_policy p, q;
	struct sbox_err err = { 0 };
	char *text, *again;

	(void)state;
	sbox_policy_init(&p);
	set_ok(&p, "DeviceAllow", "/dev/fuse rw");
	set_ok(&p, "DeviceAllow", "char-pts r");
	set_ok(&p, "DeviceAllow", "block-loop");
	/* A flag's value comes quoted as one word. */
	set_ok(&p, "DeviceAllow", "\"/dev/net/tun  rwm\"");
	set_ok(&p, "DeviceAllow", "/dev/char/10:229 m");
	set_ok(&p, "DeviceAllow", "char-nvidia* rw");
	assert_int_equal(p.devices.n_allow, 6);
	assert_string_equal(p.devices.allow[0].spec, "/dev/fuse");
	assert_int_equal(p.devices.allow[0].access, RW);
	assert_int_equal(p.devices.allow[2].access, RWM);
	assert_string_equal(p.devices.allow[3].spec, "/dev/net/tun");
	assert_int_equal(p.devices.allow[3].access, RWM);
	text = print_directive(&p, "DeviceAllow");
	assert_string_equal(text,
			    "DeviceAllow=/dev/fuse rw\nDeviceAllow=char-pts r\nDeviceAllow=block-loop rwm\n"
			    "DeviceAllow=/dev/net/tun rwm\nDeviceAllow=/dev/char/10:229 m\n"
			    "DeviceAllow=char-nvidia* rw\n");
	/* --check output parses back to the same policy. */
	sbox_policy_init(&q);
	char *copy = strdup(text), *save = NULL;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		set_ok(&q, "DeviceAllow", strchr(l, '=') + 1);
	again = print_directive(&q, "DeviceAllow");
	assert_string_equal(again, text);
	free(copy);
	free(again);
	free(text);
	/* "" resets the list. */
	set_ok(&p, "DeviceAllow", "");
	assert_int_equal(p.devices.n_allow, 0);
	text = print_directive(&p, "DeviceAllow");
	assert_string_equal(text, "DeviceAllow=\n");
	free(text);
	sbox_policy_free(&p);
	sbox_policy_free(&q);

	set_fails("DeviceAllow", "fuse rw", "'fuse' is not a device: give a path below /dev/, char-GROUP or block-GROUP");
	set_fails("DeviceAllow", "/dev/../etc/passwd r", "is not a device node path below /dev/");
	set_fails("DeviceAllow", "/dev/ r", "is not a device node path below /dev/");
	/* Passed --check=host and failed at launch, "creating /dev/ in the
	 * sandbox". */
	set_fails("DeviceAllow", "/dev//fuse rw", "is not a device node path below /dev/");
	set_fails("DeviceAllow", "/dev/./fuse rw", "is not a device node path below /dev/");
	set_fails("DeviceAllow", "/dev/dri/ rw", "is not a device node path below /dev/");
	set_fails("DeviceAllow", "/dev/dri/.. rw", "is not a device node path below /dev/");
	set_fails("DeviceAllow", "char- rw", "names no device group");
	set_fails("DeviceAllow", "/dev/fuse rwx", "'rwx' is not a device access");
	set_fails("DeviceAllow", "/dev/fuse r w", "expected one device and its access");
	(void)err;
}

static void test_gpus_directive(void **state)
{
	struct sbox_policy p;
	char *text;

	(void)state;
	sbox_policy_init(&p);
	set_ok(&p, "GPUs", "0,1 GPU-8a3b");
	set_ok(&p, "GPUs", "0000:3b:00.0");
	set_ok(&p, "GPUs", "1");        /* named twice: granted once */
	assert_int_equal(p.devices.gpus.n, 4);
	text = print_directive(&p, "GPUs");
	assert_string_equal(text, "GPUs=0\nGPUs=1\nGPUs=GPU-8a3b\nGPUs=0000:3b:00.0\n");
	free(text);
	set_ok(&p, "GPUs", "");
	assert_int_equal(p.devices.gpus.n, 0);
	text = print_directive(&p, "GPUs");
	assert_string_equal(text, "GPUs=\n");
	free(text);
	set_ok(&p, "GPULocality", "no");
	assert_int_equal(p.devices.gpu_locality, 0);
	text = print_directive(&p, "GPULocality");
	assert_string_equal(text, "GPULocality=no\n");
	free(text);
	set_ok(&p, "GPULocality", "");
	assert_int_equal(p.devices.gpu_locality, -1);
	sbox_policy_free(&p);
	set_fails("GPUs", "gpu/0", "'gpu/0' is not a GPU");
	set_fails("GPULocality", "auto", "'auto' is not yes, no, or empty");
}

/* The device set built from the base, the grant and DeviceAllow=. */

static bool has_rule(const struct sbox_device_set *s, const char *want)
{
	char buf[64];

	for (size_t i = 0; i < s->n; i++) {
		sbox_device_rule_format(&s->rules[i], buf, sizeof(buf));
		if (strcmp(buf, want) == 0)
			return true;
	}
	return false;
}

static void test_base_set(void **state)
{
	struct sbox_policy p;
	struct sbox_device_set s;
	struct sbox_err err = { 0 };
	static const char *const base[] = { "c 1:3 rw", "c 1:5 rw", "c 1:7 rw", "c 1:8 rw", "c 1:9 rw",
					    "c 5:0 rw", "c 5:2 rw", "c 136:* rw" };

	(void)state;
	sbox_policy_init(&p);
	assert_int_equal(sbox_device_set_build(&s, &p, NULL, &err), 0);
	assert_int_equal(s.n, 8);
	for (size_t i = 0; i < 8; i++) {
		char buf[64];

		sbox_device_rule_format(&s.rules[i], buf, sizeof(buf));
		assert_string_equal(buf, base[i]);
	}
	assert_int_equal(s.n_binds, 0);
	sbox_device_set_free(&s);
	sbox_policy_free(&p);
}

/* A grant the launcher chose (sboxd's --gpus N) leaves the policy's GPUs=
 * empty: the device set alone says the sandbox gets devices, and a root
 * launcher with no devices controller to enforce them must refuse. */
static void test_enforce_grant_needs_controller(void **state)
{
	struct sbox_policy p;
	struct sbox_device_set s;
	struct sbox_err err = { 0 };
	struct sbox_dev_node nodes[1] = {
		{ .name = "nvidia3", .major = 195, .minor = 3, .known = true },
	};
	struct sbox_gpu_grant g = { .nodes = nodes, .n_nodes = 1 };

	(void)state;
	sbox_policy_init(&p);
	if (sbox_device_set_build_at(&s, &p, NULL, "/nonexistent", &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(sbox_devices_enforce_cgroup(&s, &p, NULL, 0, &err), 0);
	sbox_device_set_free(&s);
	if (sbox_device_set_build_at(&s, &p, &g, "/nonexistent", &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(sbox_devices_enforce_cgroup(&s, &p, NULL, 0, &err), -1);
	assert_int_equal(err.errnum, ENODEV);
	assert_non_null(strstr(err.msg, "no devices controller to enforce GPUs="));
	sbox_device_set_free(&s);
	sbox_policy_free(&p);
}

static void test_set_with_grant_and_allow(void **state)
{
	char dir[] = "/var/tmp/sbox-dev-unit.XXXXXX", devices[128];
	struct sbox_policy p;
	struct sbox_device_set s;
	struct sbox_err err = { 0 };
	struct sbox_dev_node nodes[2] = {
		{ .name = "nvidia3", .major = 195, .minor = 3, .known = true },
		{ .name = "nvidiactl", .major = 195, .minor = 255, .known = true },
	};
	struct sbox_gpu_grant g = { .nodes = nodes, .n_nodes = 2 };
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(devices, sizeof(devices), "%s/devices", dir);
	write_text(devices, "Character devices:\n  1 mem\n 10 misc\n136 pts\n195 nvidia\n511 nvidia-uvm\n"
			    "\nBlock devices:\n  7 loop\n259 blkext\n");
	sbox_policy_init(&p);
	set_ok(&p, "DeviceAllow", "char-pts r");       /* merges with the base rule */
	set_ok(&p, "DeviceAllow", "char-nvidia* rw");
	set_ok(&p, "DeviceAllow", "block-loop r");
	set_ok(&p, "DeviceAllow", "/dev/char/10:200 w");
	set_ok(&p, "DeviceAllow", "/dev/null m");
	if (stat("/dev/fuse", &st) == 0)
		set_ok(&p, "DeviceAllow", "/dev/fuse rw");
	if (sbox_device_set_build_at(&s, &p, &g, devices, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(has_rule(&s, "c 195:3 rw"));
	assert_true(has_rule(&s, "c 195:255 rw"));
	assert_true(has_rule(&s, "c 136:* rw"));
	assert_true(has_rule(&s, "c 195:* rw"));
	assert_true(has_rule(&s, "c 511:* rw"));
	assert_true(has_rule(&s, "b 7:* r"));
	assert_true(has_rule(&s, "c 10:200 w"));
	assert_true(has_rule(&s, "c 1:3 rwm"));
	assert_false(has_rule(&s, "c 1:3 rw"));
	if (stat("/dev/fuse", &st) == 0) {
		assert_true(has_rule(&s, "c 10:229 rw"));
		/* A /dev path the policy allows is shown in /dev too; a
		 * base node or a number is not bound again. */
		assert_int_equal(s.n_binds, 1);
		assert_string_equal(s.binds[0], "fuse");
	} else {
		assert_int_equal(s.n_binds, 0);
	}
	assert_int_equal(s.n, 8 + 2 + 4 + (stat("/dev/fuse", &st) == 0));
	sbox_device_set_free(&s);
	sbox_policy_free(&p);

	sbox_policy_init(&p);
	set_ok(&p, "DeviceAllow", "char-nvidia-caps rw");
	assert_int_equal(sbox_device_set_build_at(&s, &p, NULL, devices, &err), -1);
	assert_non_null(strstr(err.msg, "DeviceAllow=char-nvidia-caps: "));
	assert_non_null(strstr(err.msg, "has no character device group 'nvidia-caps'"));
	assert_null(s.rules);
	sbox_policy_free(&p);

	sbox_policy_init(&p);
	set_ok(&p, "DeviceAllow", "block-pts rw");
	assert_int_equal(sbox_device_set_build_at(&s, &p, NULL, devices, &err), -1);
	assert_non_null(strstr(err.msg, "has no block device group 'pts'"));
	sbox_policy_free(&p);

	sbox_policy_init(&p);
	set_ok(&p, "DeviceAllow", "/dev/sbox-nonexistent rw");
	assert_int_equal(sbox_device_set_build_at(&s, &p, NULL, devices, &err), -1);
	assert_string_equal(err.msg, "DeviceAllow=/dev/sbox-nonexistent: No such file or directory");
	sbox_policy_free(&p);

	sbox_policy_init(&p);
	set_ok(&p, "DeviceAllow", "/dev/shm rw");
	assert_int_equal(sbox_device_set_build_at(&s, &p, NULL, devices, &err), -1);
	assert_string_equal(err.msg, "DeviceAllow=/dev/shm: not a device node");
	sbox_policy_free(&p);

	unlink(devices);
	rmdir(dir);
}

static void test_rule_format(void **state)
{
	struct sbox_device_rule r = { 'b', 7, SBOX_DEV_ANY, RWM };
	char buf[64];

	(void)state;
	sbox_device_rule_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "b 7:* rwm");
	r = (struct sbox_device_rule){ 'a', SBOX_DEV_ANY, SBOX_DEV_ANY, SBOX_DEV_ACC_READ };
	sbox_device_rule_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "a *:* r");
}

/* The kernel enforces the set (needs root and a devices controller). */

/* The mount point of a hierarchy: cgroup2, or the v1 one holding a
 * controller. */
static bool find_hierarchy(const char *controller, char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char mnt[512], fstype[64], opts[512];
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1 ||
		    sscanf(sep, " - %63s %*s %511s", fstype, opts) != 2)
			continue;
		if (controller ? strcmp(fstype, "cgroup") == 0 && strstr(opts, controller)
			       : strcmp(fstype, "cgroup2") == 0) {
			snprintf(out, len, "%s", mnt);
			found = true;
		}
	}
	fclose(f);
	return found;
}

struct probe_nodes {
	char dir[64];
	char granted[96];    /* c 195:3, allowed rw */
	char other[96];      /* c 195:2, not allowed */
	char readonly[96];   /* c 195:4, allowed r */
};

static void make_nodes(struct probe_nodes *n)
{
	snprintf(n->dir, sizeof(n->dir), "/var/tmp/sbox-devnodes.XXXXXX");
	assert_non_null(mkdtemp(n->dir));
	snprintf(n->granted, sizeof(n->granted), "%s/nvidia3", n->dir);
	snprintf(n->other, sizeof(n->other), "%s/nvidia2", n->dir);
	snprintf(n->readonly, sizeof(n->readonly), "%s/nvidia4", n->dir);
	assert_int_equal(mknod(n->granted, S_IFCHR | 0666, makedev(195, 3)), 0);
	assert_int_equal(mknod(n->other, S_IFCHR | 0666, makedev(195, 2)), 0);
	assert_int_equal(mknod(n->readonly, S_IFCHR | 0666, makedev(195, 4)), 0);
}

static void remove_nodes(struct probe_nodes *n)
{
	char made[128];

	snprintf(made, sizeof(made), "%s/made", n->dir);
	unlink(made);
	unlink(n->granted);
	unlink(n->other);
	unlink(n->readonly);
	rmdir(n->dir);
}

/* The base set and one more rule. */
static void base_plus(struct sbox_device_set *s, int32_t minor, unsigned access)
{
	struct sbox_err err = { 0 };

	sbox_device_set_init(s);
	for (size_t i = 0; i < sbox_n_devices_base; i++)
		assert_int_equal(sbox_device_set_add(s, sbox_devices_base[i].type, sbox_devices_base[i].major,
						     sbox_devices_base[i].minor, sbox_devices_base[i].access,
						     &err), 0);
	assert_int_equal(sbox_device_set_add(s, 'c', 195, minor, access, &err), 0);
}

static void build_test_set(struct sbox_device_set *s)
{
	struct sbox_err err = { 0 };

	base_plus(s, 3, RW);
	assert_int_equal(sbox_device_set_add(s, 'c', 195, 4, SBOX_DEV_ACC_READ, &err), 0);
}

static int open_errno(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC | O_NOCTTY);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno;
}

enum { R_NULL, R_GRANTED, R_OTHER, R_RO_READ, R_RO_WRITE, R_MKNOD, R_ZERO_RO, N_RESULTS };

/* In a child: join the cgroup, open each node, report the errnos. */
static void probe_in_cgroup(const char *cgroup, const struct probe_nodes *n, int res[N_RESULTS])
{
	char procs[600], made[128];
	int pipefd[2], status;
	pid_t pid;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgroup);
	snprintf(made, sizeof(made), "%s/made", n->dir);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int r[N_RESULTS];
		FILE *f = fopen(procs, "w");

		if (!f || fprintf(f, "0\n") < 0 || fclose(f) != 0)
			_exit(3);
		r[R_NULL] = open_errno("/dev/null", O_RDWR);
		r[R_GRANTED] = open_errno(n->granted, O_RDWR);
		r[R_OTHER] = open_errno(n->other, O_RDWR);
		r[R_RO_READ] = open_errno(n->readonly, O_RDONLY);
		r[R_RO_WRITE] = open_errno(n->readonly, O_WRONLY);
		r[R_MKNOD] = mknod(made, S_IFCHR | 0600, makedev(1, 3)) < 0 ? errno : 0;
		r[R_ZERO_RO] = open_errno("/dev/zero", O_RDONLY);
		if (write(pipefd[1], r, sizeof(r)) != (ssize_t)sizeof(r))
			_exit(4);
		_exit(0);
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], res, sizeof(int) * N_RESULTS), (ssize_t)(sizeof(int) * N_RESULTS));
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void expect_enforced(const int r[N_RESULTS])
{
	assert_int_equal(r[R_NULL], 0);
	/* Let through: the node has no driver behind it. */
	assert_int_equal(r[R_GRANTED], ENXIO);
	assert_int_equal(r[R_RO_READ], ENXIO);
	/* Refused by the device cgroup. */
	assert_int_equal(r[R_OTHER], EPERM);
	assert_int_equal(r[R_RO_WRITE], EPERM);
	assert_int_equal(r[R_MKNOD], EPERM);
	assert_int_equal(r[R_ZERO_RO], 0);
}

static void make_cgroup(char *out, size_t len, const char *mount)
{
	snprintf(out, len, "%s/sbox-unit-devices-%d", mount, (int)getpid());
	if (mkdir(out, 0755) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", out, strerror(errno));
}

static void test_enforce_v1(void **state)
{
	char mount[512], cg[600], list[4096];
	struct probe_nodes n;
	struct sbox_device_set s;
	struct sbox_err err = { 0 };
	int r[N_RESULTS], fd;
	ssize_t len;

	(void)state;
	if (geteuid() != 0 || !find_hierarchy("devices", mount, sizeof(mount))) {
		/* A pure v2 machine has no v1 devices hierarchy; its
		 * enforcement is test_enforce_v2's. */
		fprintf(stderr, "note: no v1 devices hierarchy (or not root): the v1 writer is not run here\n");
		return;
	}
	make_nodes(&n);
	make_cgroup(cg, sizeof(cg), mount);
	build_test_set(&s);
	fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	if (sbox_devices_apply_v1(fd, &s, &err) < 0)
		fail_msg("%s", err.msg);
	/* What the kernel holds, line for line. */
	int lfd = openat(fd, "devices.list", O_RDONLY | O_CLOEXEC);
	len = read(lfd, list, sizeof(list) - 1);
	assert_true(len > 0);
	list[len] = '\0';
	close(lfd);
	assert_string_equal(list, "c 1:3 rw\nc 1:5 rw\nc 1:7 rw\nc 1:8 rw\nc 1:9 rw\nc 5:0 rw\nc 5:2 rw\n"
				  "c 136:* rw\nc 195:3 rw\nc 195:4 r\n");
	probe_in_cgroup(cg, &n, r);
	expect_enforced(r);
	close(fd);
	assert_int_equal(rmdir(cg), 0);
	sbox_device_set_free(&s);
	remove_nodes(&n);
}

static void test_enforce_v2(void **state)
{
	char mount[512], cg[600];
	struct probe_nodes n;
	struct sbox_device_set s;
	struct sbox_err err = { 0 };
	int r[N_RESULTS], cg_fd, prog;

	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: loading a BPF program needs root\n");
		skip();
	}
	if (!find_hierarchy(NULL, mount, sizeof(mount))) {
		fprintf(stderr, "SKIP: no cgroup2 hierarchy mounted\n");
		skip();
	}
	build_test_set(&s);
	prog = sbox_devices_bpf_load(&s, &err);
	if (prog < 0)
		fail_msg("%s", err.msg);
	assert_true(fcntl(prog, F_GETFD) & FD_CLOEXEC);
	/* In a hybrid machine too: the kernel runs the program of the
	 * task's cgroup2 cgroup before the v1 controller's check. */
	make_nodes(&n);
	make_cgroup(cg, sizeof(cg), mount);
	cg_fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(cg_fd >= 0);
	if (sbox_devices_bpf_attach(prog, cg_fd, &err) < 0)
		fail_msg("%s", err.msg);
	close(prog);   /* the attachment holds it */
	probe_in_cgroup(cg, &n, r);
	expect_enforced(r);
	close(cg_fd);
	assert_int_equal(rmdir(cg), 0);
	sbox_device_set_free(&s);
	remove_nodes(&n);
}

/* Every rule form: type 'a', block rules, any-major, and many rules. */
static void test_bpf_shapes(void **state)
{
	char mount[512], cg[600];
	struct probe_nodes n;
	struct sbox_device_set s;
	struct sbox_err err = { 0 };
	int r[N_RESULTS], cg_fd, prog;

	(void)state;
	if (geteuid() != 0 || !find_hierarchy(NULL, mount, sizeof(mount))) {
		fprintf(stderr, "SKIP: needs root and a cgroup2 hierarchy\n");
		skip();
	}
	sbox_device_set_init(&s);
	for (int i = 0; i < 300; i++)
		assert_int_equal(sbox_device_set_add(&s, 'b', 7, i, RWM, &err), 0);
	/* Reads of anything, writes of 1:3 and 195:*, mknod of nothing. */
	assert_int_equal(sbox_device_set_add(&s, 'a', SBOX_DEV_ANY, SBOX_DEV_ANY, SBOX_DEV_ACC_READ, &err), 0);
	assert_int_equal(sbox_device_set_add(&s, 'c', 1, 3, SBOX_DEV_ACC_WRITE, &err), 0);
	assert_int_equal(sbox_device_set_add(&s, 'c', 195, SBOX_DEV_ANY, SBOX_DEV_ACC_WRITE, &err), 0);
	prog = sbox_devices_bpf_load(&s, &err);
	if (prog < 0)
		fail_msg("%s", err.msg);
	make_nodes(&n);
	make_cgroup(cg, sizeof(cg), mount);
	cg_fd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(cg_fd >= 0);
	assert_int_equal(sbox_devices_bpf_attach(prog, cg_fd, &err), 0);
	close(prog);
	probe_in_cgroup(cg, &n, r);
	/* O_RDWR asks for read and write at once: one rule must allow both,
	 * as in the v1 controller. */
	assert_int_equal(r[R_NULL], EPERM);
	assert_int_equal(r[R_GRANTED], EPERM);
	assert_int_equal(r[R_OTHER], EPERM);
	assert_int_equal(r[R_RO_READ], ENXIO);
	assert_int_equal(r[R_RO_WRITE], ENXIO);
	assert_int_equal(r[R_MKNOD], EPERM);
	assert_int_equal(r[R_ZERO_RO], 0);
	close(cg_fd);
	assert_int_equal(rmdir(cg), 0);
	sbox_device_set_free(&s);
	remove_nodes(&n);
}

/* The kernel's id of a loaded program: equal ids, the same program. */
static uint32_t prog_id(int fd)
{
	struct bpf_prog_info info;
	union bpf_attr attr;

	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = (uint32_t)fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = (uint64_t)(uintptr_t)&info;
	assert_int_equal(syscall(SYS_bpf, BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr)), 0);
	return info.id;
}

static int load_or_fail(const struct sbox_device_set *s)
{
	struct sbox_err err = { 0 };
	int fd = sbox_devices_bpf_load(s, &err);

	if (fd < 0)
		fail_msg("%s", err.msg);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	return fd;
}

/* One long-lived process loading the programs of several device sets:
 * the same set gets the same program again (built once, not reloaded),
 * each caller its own fd; sets that differ in one minor or one access bit
 * (programs of the same length) never get each other's. */
static void test_bpf_program_cache(void **state)
{
	struct sbox_device_set a, b, c;
	int fa, fb, fc, fa2, fb2;

	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: loading a BPF program needs root\n");
		skip();
	}
	base_plus(&a, 0, RW);
	base_plus(&b, 1, RW);
	base_plus(&c, 0, SBOX_DEV_ACC_READ);
	fa = load_or_fail(&a);
	fb = load_or_fail(&b);
	fc = load_or_fail(&c);
	fa2 = load_or_fail(&a);
	assert_int_not_equal(fa, fa2);
	assert_int_equal(prog_id(fa2), prog_id(fa));
	assert_int_not_equal(prog_id(fb), prog_id(fa));
	assert_int_not_equal(prog_id(fc), prog_id(fa));
	assert_int_not_equal(prog_id(fc), prog_id(fb));
	/* The caller's fd closed, the program lives on for the next. */
	close(fb);
	fb2 = load_or_fail(&b);
	assert_int_not_equal(prog_id(fb2), prog_id(fa));
	assert_int_not_equal(prog_id(fb2), prog_id(fc));
	close(fa);
	close(fa2);
	close(fb2);
	close(fc);
	sbox_device_set_free(&a);
	sbox_device_set_free(&b);
	sbox_device_set_free(&c);
}

/* The cache is bounded: many sets, few programs kept, each still right. */
static void test_bpf_program_cache_bounded(void **state)
{
	struct sbox_device_set s;
	size_t entries;
	unsigned long hits;
	uint32_t first;
	int fd;

	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: loading a BPF program needs root\n");
		skip();
	}
	base_plus(&s, 100, RW);
	fd = load_or_fail(&s);
	first = prog_id(fd);
	close(fd);
	sbox_device_set_free(&s);
	for (int i = 101; i < 140; i++) {
		base_plus(&s, i, RW);
		fd = load_or_fail(&s);
		assert_int_not_equal(prog_id(fd), first);
		close(fd);
		sbox_device_set_free(&s);
	}
	sbox_devices_bpf_cache_stats(&entries, &hits);
	assert_true(entries > 0 && entries <= 16);
	/* Evicted long ago: loaded again, and still the right program. */
	base_plus(&s, 100, RW);
	fd = load_or_fail(&s);
	assert_int_not_equal(prog_id(fd), first);
	close(fd);
	sbox_device_set_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_access),
		cmocka_unit_test(test_device_allow_directive),
		cmocka_unit_test(test_gpus_directive),
		cmocka_unit_test(test_base_set),
		cmocka_unit_test(test_set_with_grant_and_allow),
		cmocka_unit_test(test_enforce_grant_needs_controller),
		cmocka_unit_test(test_rule_format),
		cmocka_unit_test(test_enforce_v1),
		cmocka_unit_test(test_enforce_v2),
		cmocka_unit_test(test_bpf_shapes),
		cmocka_unit_test(test_bpf_program_cache),
		cmocka_unit_test(test_bpf_program_cache_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
