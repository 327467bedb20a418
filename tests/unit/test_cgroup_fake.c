/* SPDX-License-Identifier: MIT */
/*
 * The resources directives, and both cgroup backends' cgroupfs writes
 * checked against a fake cgroupfs tree under /tmp: the limits each
 * directive writes (file and exact value), the controllers enabled on v2,
 * the cpuset copied into fresh v1 cpusets, the end (cgroup.kill, freeze and
 * thaw), the figures read back, and the errors for limits a host can't
 * enforce.  The v2 path runs for real only in the v2 VM (docs/testing-v2.md);
 * this is its proof on a v1 machine.  Runs unprivileged.
 *
 * A real cgroupfs fills a new directory with its files; tmpfs does not.
 * mkdir() and rmdir() are interposed below (the library is linked into this
 * binary, so its calls land here): under the fake root they create the
 * files a kernel would, and empty the directory before removing it.
 */
#include "sboxrun/status.h"
#include "policy/dir_resources.h"
#include "policy/directives.h"
#include "policy/values.h"
#include "sandbox/cgroup.h"
#include "sandbox/host.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/print_helpers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static char fake_root[256];
/* A file the fake kernel leaves out of new directories (a missing feature). */
static const char *skip_file;

/* A fake cgroup tree in a temporary directory: the cgroup code runs
 * unprivileged, on both versions, on any host. */

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *get_file(const char *dir, const char *name)
{
	static char buf[4096];
	char path[1024];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static const char *const v2_files[] = {
	"cgroup.procs", "cgroup.kill", "cgroup.freeze", "cgroup.subtree_control",
	"memory.max", "memory.high", "memory.swap.max", "memory.peak", "memory.events",
	"pids.max", "cpu.max", "cpu.weight", "cpu.stat", "cpuset.cpus", "cpuset.mems",
	"io.weight", NULL,
};

static const struct {
	const char *ctrl;
	const char *files[6];
} v1_files[] = {
	{ "memory", { "memory.limit_in_bytes", "memory.memsw.limit_in_bytes",
		      "memory.max_usage_in_bytes", "memory.oom_control", NULL } },
	{ "pids", { "pids.max", NULL } },
	{ "cpu", { "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.shares", NULL } },
	{ "cpuacct", { "cpuacct.usage_user", "cpuacct.usage_sys", NULL } },
	{ "cpuset", { "cpuset.cpus", "cpuset.mems", NULL } },
	{ "blkio", { "blkio.bfq.weight", NULL } },
	{ "freezer", { "freezer.state", NULL } },
	{ "devices", { "devices.allow", "devices.deny", NULL } },
};

/* The files a kernel would put in a new cgroup directory at path. */
static void populate(const char *path)
{
	const char *rel = path + strlen(fake_root);
	char first[64];

	put_file(path, "cgroup.procs", "");
	if (strncmp(rel, "/v2/", 4) == 0) {
		for (size_t i = 0; v2_files[i]; i++)
			if (!skip_file || strcmp(v2_files[i], skip_file) != 0)
				put_file(path, v2_files[i], "");
		put_file(path, "cgroup.controllers", "cpuset cpu io memory pids\n");
		put_file(path, "cgroup.events", "populated 0\nfrozen 0\n");
		return;
	}
	snprintf(first, sizeof(first), "%.*s", (int)strcspn(rel + 1, "/"), rel + 1);
	for (size_t i = 0; i < sizeof(v1_files) / sizeof(v1_files[0]); i++) {
		if (strcmp(first, v1_files[i].ctrl) != 0)
			continue;
		for (size_t j = 0; v1_files[i].files[j]; j++)
			if (!skip_file || strcmp(v1_files[i].files[j], skip_file) != 0)
				put_file(path, v1_files[i].files[j],
				 strcmp(v1_files[i].files[j], "freezer.state") == 0 ? "THAWED\n" : "");
	}
}

static bool under_fake(const char *path)
{
	return fake_root[0] && strncmp(path, fake_root, strlen(fake_root)) == 0;
}

int mkdir(const char *path, mode_t mode)
{
	long r = syscall(SYS_mkdir, path, mode);

	if (r == 0 && under_fake(path))
		populate(path);
	return (int)r;
}

/* A path whose open() fails as a process out of fds would (EMFILE): the
 * cgroup's directory is made, and can't be opened. */
static const char *fail_open;

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	/* glibc's own test: O_TMPFILE includes O_DIRECTORY's bit. */
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (fail_open && strcmp(path, fail_open) == 0) {
		errno = EMFILE;
		return -1;
	}
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

int rmdir(const char *path)
{
	if (under_fake(path)) {
		DIR *d = opendir(path);
		struct dirent *e;

		while (d && (e = readdir(d)) != NULL) {
			char p[1024];
			struct stat st;

			snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
			/* A fake cgroup dir with a sub-cgroup stays busy. */
			if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode) && e->d_name[0] != '.') {
				closedir(d);
				errno = EBUSY;
				return -1;
			}
		}
		if (d)
			rewinddir(d);
		while (d && (e = readdir(d)) != NULL) {
			char p[1024];

			snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
			if (e->d_name[0] != '.')
				unlink(p);
		}
		if (d)
			closedir(d);
	}
	return (int)syscall(SYS_rmdir, path);
}

/* A write to a fake cgroupfs file replaces it, as the kernel's take one
 * value per write (freezer.state, whose tests read a state and its
 * newline back, excepted); and cgroup v1's rule for the memory pair is
 * kept as the kernel keeps it: memory.limit_in_bytes never above
 * memory.memsw.limit_in_bytes, EINVAL otherwise. */
static bool memory_pair_ok(const char *path, const void *buf, size_t n)
{
	static const char *const limit = "memory.limit_in_bytes", *const memsw = "memory.memsw.limit_in_bytes";
	const char *base = strrchr(path, '/') + 1, *other;
	char dir[1024], value[64], *have;
	unsigned long long mine, theirs;

	if (strcmp(base, limit) == 0)
		other = memsw;
	else if (strcmp(base, memsw) == 0)
		other = limit;
	else
		return true;
	snprintf(dir, sizeof(dir), "%.*s", (int)(base - 1 - path), path);
	snprintf(value, sizeof(value), "%.*s", (int)n, (const char *)buf);
	have = get_file(dir, other);
	if (!have || !*have)
		return true;
	mine = strtoull(value, NULL, 10);
	theirs = strtoull(have, NULL, 10);
	return other == memsw ? mine <= theirs : mine >= theirs;
}

ssize_t write(int fd, const void *buf, size_t n)
{
	char link[64], path[1024];
	ssize_t k = -1;

	if (fake_root[0]) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		k = readlink(link, path, sizeof(path) - 1);
	}
	if (k > 0) {
		path[k] = '\0';
		if (under_fake(path) && !memory_pair_ok(path, buf, n)) {
			errno = EINVAL;
			return -1;
		}
		if (under_fake(path) && !strstr(path, "freezer.state") && ftruncate(fd, 0) < 0)
			return -1;
	}
	return syscall(SYS_write, fd, buf, n);
}

static void rm_tree(const char *path)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

static int setup_fake(void **state)
{
	char tmpl[] = "/tmp/sbox-fakecg.XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	snprintf(fake_root, sizeof(fake_root), "%s", tmpl);
	skip_file = NULL;
	return 0;
}

static int teardown_fake(void **state)
{
	(void)state;
	rm_tree(fake_root);
	fake_root[0] = '\0';
	return 0;
}

/* A v2 host over fake_root/v2, its root offering every controller. */
static void fake_v2_host(struct sbox_cgroup_host *h, const char *controllers)
{
	char root[512];

	memset(h, 0, sizeof(*h));
	snprintf(root, sizeof(root), "%s/v2", fake_root);
	assert_int_equal(syscall(SYS_mkdir, root, 0755), 0);
	put_file(root, "cgroup.controllers", controllers);
	put_file(root, "cgroup.subtree_control", "");
	put_file(root, "cgroup.procs", "");
	h->version = 2;
	snprintf(h->v2_mount, sizeof(h->v2_mount), "%s", root);
	h->host.mem_total = 1ULL << 30;
	h->host.tasks_total = 4096;
}

static void fake_v1_host(struct sbox_cgroup_host *h, bool with_pids)
{
	memset(h, 0, sizeof(*h));
	h->version = 1;
	h->host.mem_total = 1ULL << 30;
	h->host.tasks_total = 4096;
	for (size_t i = 0; i < sizeof(v1_files) / sizeof(v1_files[0]); i++) {
		char dir[512];
		static const unsigned bits[] = { SBOX_CG_MEMORY, SBOX_CG_PIDS, SBOX_CG_CPU,
						 SBOX_CG_CPUACCT, SBOX_CG_CPUSET, SBOX_CG_BLKIO,
						 SBOX_CG_FREEZER, SBOX_CG_DEVICES };

		if (!with_pids && bits[i] == SBOX_CG_PIDS)
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", fake_root, v1_files[i].ctrl);
		assert_int_equal(syscall(SYS_mkdir, dir, 0755), 0);
		put_file(dir, "cgroup.procs", "");
		if (bits[i] == SBOX_CG_CPUSET) {
			put_file(dir, "cpuset.cpus", "0-1\n");
			put_file(dir, "cpuset.mems", "0\n");
		}
		h->v1[h->n_v1].mask = bits[i];
		snprintf(h->v1[h->n_v1].path, sizeof(h->v1[0].path), "%s", dir);
		h->n_v1++;
	}
}

static void set_ok(struct sbox_policy *p, const char *name, const char *value)
{
	struct sbox_err err = { 0 };

	if (sbox_policy_set(p, name, value, &err) < 0)
		fail_msg("%s=%s: %s", name, value, err.msg);
}

static void all_limits(struct sbox_policy *p)
{
	set_ok(p, "MemoryMax", "64M");
	set_ok(p, "MemoryHigh", "48M");
	set_ok(p, "MemorySwapMax", "16M");
	set_ok(p, "TasksMax", "100");
	set_ok(p, "CPUQuota", "150%");
	set_ok(p, "CPUWeight", "200");
	set_ok(p, "AllowedCPUs", "1,0");
	set_ok(p, "AllowedMemoryNodes", "0");
	set_ok(p, "IOWeight", "300");
}

/* The resource directives parse and print back. */

static void check_print(const char *name, const char *value, const char *printed)
{
	struct sbox_policy p, q;
	struct sbox_err err = { 0 };
	char *out, *again, line[256];

	sbox_policy_init(&p);
	set_ok(&p, name, value);
	out = print_directive(&p, name);
	snprintf(line, sizeof(line), "%s=%s\n", name, printed);
	assert_string_equal(out, line);
	/* What --check prints parses back to the same setting. */
	sbox_policy_init(&q);
	out[strlen(out) - 1] = '\0';
	assert_int_equal(sbox_policy_set(&q, name, strchr(out, '=') + 1, &err), 0);
	again = print_directive(&q, name);
	assert_string_equal(again, line);
	free(out);
	free(again);
	sbox_policy_free(&p);
	sbox_policy_free(&q);
}

static void test_directives_print_back(void **state)
{
	(void)state;
	check_print("MemoryMax", "64M", "64M");
	check_print("MemoryMax", "1536K", "1536K");
	check_print("MemoryMax", "50%", "50%");
	check_print("MemoryMax", "12.5%", "12.5%");
	check_print("MemoryMax", "infinity", "infinity");
	check_print("MemoryMax", "", "");
	check_print("MemoryHigh", "1G", "1G");
	check_print("MemorySwapMax", "0", "0");
	check_print("TasksMax", "512", "512");
	check_print("TasksMax", "10%", "10%");
	check_print("TasksMax", "infinity", "infinity");
	check_print("CPUQuota", "150%", "150%");
	check_print("CPUQuota", "0.5%", "0.5%");
	check_print("CPUWeight", "200", "200");
	check_print("IOWeight", "10000", "10000");
	check_print("AllowedCPUs", "3,0-1 2", "0-3");
	check_print("AllowedMemoryNodes", "0", "0");
	check_print("CgroupParent", "/sbox.slice/jobs/", "/sbox.slice/jobs");
	check_print("RuntimeMaxSec", "90", "1min 30s");
	check_print("RuntimeMaxSec", "500ms", "500ms");
	check_print("RuntimeMaxSec", "", "infinity");
}

static void check_error(const char *name, const char *value, const char *text)
{
	struct sbox_policy p;
	struct sbox_err err = { 0 };

	sbox_policy_init(&p);
	assert_int_equal(sbox_policy_set(&p, name, value, &err), -1);
	if (!strstr(err.msg, text))
		fail_msg("%s=%s: '%s' lacks '%s'", name, value, err.msg, text);
	sbox_policy_free(&p);
}

static void test_directive_errors(void **state)
{
	(void)state;
	check_error("MemoryMax", "64MB", "MemoryMax=64MB: '64MB' is not a size");
	check_error("MemoryMax", "-1", "is not a size");
	check_error("MemoryMax", "150%", "is not a percentage between 0% and 100%");
	check_error("TasksMax", "0", "is not a number of tasks");
	check_error("TasksMax", "12k", "is not a number of tasks");
	check_error("CPUQuota", "150", "is not a CPU quota");
	check_error("CPUQuota", "0%", "is not a CPU quota");
	check_error("CPUWeight", "0", "is not a weight between 1 and 10000");
	check_error("IOWeight", "10001", "is not a weight");
	check_error("AllowedCPUs", "0-", "is not a list of CPUs");
	check_error("AllowedCPUs", "9000", "names a CPU past 8191");
	check_error("AllowedMemoryNodes", "x", "is not a list of memory nodes");
	check_error("CgroupParent", "sbox", "must be an absolute cgroup path");
	check_error("CgroupParent", "/sbox/../x", "may not hold . or .. components");
	check_error("CgroupParent", "/a//b", "empty components");
	check_error("RuntimeMaxSec", "0", "must be above 0");
	check_error("RuntimeMaxSec", "soon", "is not a time span");
}

static void test_any_limit(void **state)
{
	struct sbox_policy p;

	(void)state;
	sbox_policy_init(&p);
	assert_false(sbox_resources_any_limit(&p.res));
	set_ok(&p, "RuntimeMaxSec", "5s");
	set_ok(&p, "CgroupParent", "/x");
	assert_false(sbox_resources_any_limit(&p.res));
	set_ok(&p, "AllowedMemoryNodes", "0");
	assert_true(sbox_resources_any_limit(&p.res));
	set_ok(&p, "AllowedMemoryNodes", "");
	assert_false(sbox_resources_any_limit(&p.res));
	sbox_policy_free(&p);
}

/* cgroup v2: the files written into the fake tree. */

static void test_v2_writes_every_limit(void **state)
{
	struct sbox_cgroup_host h;
	struct sbox_policy p;
	struct sbox_cgroup *cg;
	struct sbox_err err = { 0 };
	struct sbox_stats st = { 0 };
	char dir[2048], parent[2048];

	(void)state;
	fake_v2_host(&h, "cpuset cpu io memory hugetlb pids rdma\n");
	sbox_policy_init(&p);
	all_limits(&p);
	if (sbox_cgroup_create(&h, "/sbox/jobs", "sbox-1-1", &p.res, 0, &cg, &err) < 0)
		fail_msg("%s", err.msg);
	/* Controllers enabled from the root down to the parent. */
	assert_string_equal(get_file(h.v2_mount, "cgroup.subtree_control"),
			    "+memory +pids +cpu +cpuset +io");
	snprintf(parent, sizeof(parent), "%s/sbox", h.v2_mount);
	assert_string_equal(get_file(parent, "cgroup.subtree_control"),
			    "+memory +pids +cpu +cpuset +io");
	snprintf(parent, sizeof(parent), "%s/sbox/jobs", h.v2_mount);
	assert_string_equal(get_file(parent, "cgroup.subtree_control"),
			    "+memory +pids +cpu +cpuset +io");
	snprintf(dir, sizeof(dir), "%s/sbox/jobs/sbox-1-1", h.v2_mount);
	assert_true(sbox_cgroup_is_v2(cg));
	assert_string_equal(sbox_cgroup_path(cg), dir);
	assert_string_equal(get_file(dir, "memory.max"), "67108864");
	assert_string_equal(get_file(dir, "memory.high"), "50331648");
	assert_string_equal(get_file(dir, "memory.swap.max"), "16777216");
	assert_string_equal(get_file(dir, "pids.max"), "100");
	assert_string_equal(get_file(dir, "cpu.max"), "150000 100000");
	assert_string_equal(get_file(dir, "cpu.weight"), "200");
	assert_string_equal(get_file(dir, "cpuset.cpus"), "0-1");
	assert_string_equal(get_file(dir, "cpuset.mems"), "0");
	assert_string_equal(get_file(dir, "io.weight"), "default 300");
	/* CLONE_INTO_CGROUP and the device program both use the dir fd. */
	assert_true(sbox_cgroup_clone_fd(cg) >= 0);
	assert_int_equal(sbox_cgroup_devices_fd(cg), sbox_cgroup_clone_fd(cg));

	/* The clone() fallback joins by pid. */
	assert_int_equal(sbox_cgroup_attach(cg, 4242, &err), 0);
	assert_string_equal(get_file(dir, "cgroup.procs"), "4242");
	put_file(dir, "cgroup.procs", "");
	/* The end. */
	assert_int_equal(sbox_cgroup_kill(cg, &err), 0);
	assert_string_equal(get_file(dir, "cgroup.kill"), "1");
	/* The figures. */
	put_file(dir, "cpu.stat", "usage_usec 3000\nuser_usec 2000\nsystem_usec 1000\n");
	put_file(dir, "memory.peak", "12345678\n");
	put_file(dir, "memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\noom_group_kill 0\n");
	assert_int_equal(sbox_cgroup_stats(cg, &st, &err), 0);
	assert_int_equal(st.cgroup_version, 2);
	assert_int_equal(st.have, SBOX_STAT_CPU | SBOX_STAT_MEMORY_PEAK | SBOX_STAT_OOM);
	assert_int_equal(st.cpu_user_usec, 2000);
	assert_int_equal(st.cpu_system_usec, 1000);
	assert_int_equal(st.memory_peak, 12345678);
	assert_int_equal(st.oom_kills, 1);
	assert_int_equal(sbox_cgroup_destroy(cg, &err), 0);
	assert_false(exists(dir));
	assert_true(exists(parent));
	sbox_policy_free(&p);
}

static void test_v2_percentages_and_no_limits(void **state)
{
	struct sbox_cgroup_host h;
	struct sbox_policy p;
	struct sbox_cgroup *cg;
	struct sbox_err err = { 0 };
	char dir[2048];

	(void)state;
	fake_v2_host(&h, "cpu memory pids\n");
	sbox_policy_init(&p);
	set_ok(&p, "MemoryMax", "50%");
	set_ok(&p, "TasksMax", "10%");
	set_ok(&p, "CPUQuota", "0.5%");
	if (sbox_cgroup_create(&h, "/", "sbox-2-1", &p.res, 0, &cg, &err) < 0)
		fail_msg("%s", err.msg);
	snprintf(dir, sizeof(dir), "%s/sbox-2-1", h.v2_mount);
	assert_string_equal(get_file(dir, "memory.max"), "536870912");
	assert_string_equal(get_file(dir, "pids.max"), "409");
	/* The kernel takes no quota under 1 ms a period. */
	assert_string_equal(get_file(dir, "cpu.max"), "1000 100000");
	assert_int_equal(sbox_cgroup_destroy(cg, &err), 0);
	sbox_policy_free(&p);

	/* No limit: nothing written but the memory controller wished for
	 * the figures, and nothing needed. */
	sbox_policy_init(&p);
	put_file(h.v2_mount, "cgroup.subtree_control", "");
	if (sbox_cgroup_create(&h, "/", "sbox-2-2", &p.res, 0, &cg, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(get_file(h.v2_mount, "cgroup.subtree_control"), "+memory");
	snprintf(dir, sizeof(dir), "%s/sbox-2-2", h.v2_mount);
	assert_string_equal(get_file(dir, "memory.max"), "");
	assert_int_equal(sbox_cgroup_destroy(cg, &err), 0);
	sbox_policy_free(&p);
}

static void test_v2_missing_controller_is_an_error(void **state)
{
	struct sbox_cgroup_host h;
	struct sbox_policy p;
	struct sbox_cgroup *cg = NULL;
	struct sbox_err err = { 0 };
	char dir[2048];

	(void)state;
	fake_v2_host(&h, "cpu memory\n");
	sbox_policy_init(&p);
	set_ok(&p, "TasksMax", "10");
	assert_int_equal(sbox_cgroup_create(&h, "/sbox", "sbox-3-1", &p.res, 0, &cg, &err), -1);
	assert_null(cg);
	assert_non_null(strstr(err.msg, "TasksMax= needs the cgroup v2 'pids' controller"));
	assert_non_null(strstr(err.msg, "this host can't enforce it"));
	snprintf(dir, sizeof(dir), "%s/sbox/sbox-3-1", h.v2_mount);
	assert_false(exists(dir));
	sbox_policy_free(&p);

	/* A controller on offer whose file is missing: the write fails, the
	 * directive is named, and the half-made cgroup is removed. */
	skip_file = "io.weight";
	put_file(h.v2_mount, "cgroup.controllers", "cpuset cpu io memory pids\n");
	sbox_policy_init(&p);
	set_ok(&p, "MemoryMax", "1G");
	set_ok(&p, "IOWeight", "50");
	assert_int_equal(sbox_cgroup_create(&h, "/sbox", "sbox-3-2", &p.res, 0, &cg, &err), -1);
	assert_non_null(strstr(err.msg, "IOWeight=50: this host can't enforce it (no io.weight"));
	snprintf(dir, sizeof(dir), "%s/sbox/sbox-3-2", h.v2_mount);
	assert_false(exists(dir));
	sbox_policy_free(&p);
}

/* A directory made and not opened (out of fds) is removed with the rest:
 * no cgroup of a failed launch is left behind, on either version. */
static void test_unopened_dir_is_removed(void **state)
{
	struct sbox_cgroup_host h;
	struct sbox_policy p;
	struct sbox_cgroup *cg = NULL;
	struct sbox_err err = { 0 };
	char dir[2048];

	(void)state;
	fake_v2_host(&h, "cpu memory pids\n");
	sbox_policy_init(&p);
	set_ok(&p, "TasksMax", "10");
	snprintf(dir, sizeof(dir), "%s/sbox/sbox-4-1", h.v2_mount);
	fail_open = dir;
	assert_int_equal(sbox_cgroup_create(&h, "/sbox", "sbox-4-1", &p.res, 0, &cg, &err), -1);
	fail_open = NULL;
	assert_null(cg);
	assert_int_equal(err.errnum, EMFILE);
	assert_non_null(strstr(err.msg, "opening the sandbox's cgroup"));
	assert_false(exists(dir));

	/* v1: the third hierarchy's it makes (cpuacct: no limit asks for cpu,
	 * it gets no directory there); the two made before it go too. */
	fake_v1_host(&h, true);
	snprintf(dir, sizeof(dir), "%s/%s/sbox/sbox-4-2", fake_root, v1_files[3].ctrl);
	fail_open = dir;
	assert_int_equal(sbox_cgroup_create(&h, "/sbox", "sbox-4-2", &p.res, 0, &cg, &err), -1);
	fail_open = NULL;
	assert_null(cg);
	assert_int_equal(err.errnum, EMFILE);
	for (size_t i = 0; i < sizeof(v1_files) / sizeof(v1_files[0]); i++) {
		snprintf(dir, sizeof(dir), "%s/%s/sbox/sbox-4-2", fake_root, v1_files[i].ctrl);
		assert_false(exists(dir));
	}
	sbox_policy_free(&p);
}

static void test_v2_default_parent(void **state)
{
	struct sbox_cgroup_host h;
	char buf[1024], dir[2048];

	(void)state;
	fake_v2_host(&h, "cpu memory pids\n");
	sbox_cgroup_default_parent(&h, 0, buf, sizeof(buf));
	assert_string_equal(buf, "/sbox");
	/* Unprivileged, in the leaf of a subtree delegated to us: beside the
	 * leaf (the v2 VM's sbox-delegated/runner layout). */
	snprintf(dir, sizeof(dir), "%s/sbox-delegated", h.v2_mount);
	assert_int_equal(syscall(SYS_mkdir, dir, 0755), 0);
	put_file(dir, "cgroup.procs", "");
	snprintf(h.self, sizeof(h.self), "/sbox-delegated/runner");
	sbox_cgroup_default_parent(&h, geteuid() == 0 ? 1 : geteuid(), buf, sizeof(buf));
	if (geteuid() == 0)   /* the dir is root's, not uid 1's: our own cgroup */
		assert_string_equal(buf, "/sbox-delegated/runner");
	else
		assert_string_equal(buf, "/sbox-delegated");
	/* Not delegated above: the caller's own cgroup. */
	snprintf(h.self, sizeof(h.self), "/user.slice/user-1000.slice/run-1.scope");
	sbox_cgroup_default_parent(&h, 1000, buf, sizeof(buf));
	assert_string_equal(buf, "/user.slice/user-1000.slice/run-1.scope");
	/* v1: the same path for everyone. */
	h.version = 1;
	sbox_cgroup_default_parent(&h, 1000, buf, sizeof(buf));
	assert_string_equal(buf, "/sbox");
}

/* cgroup v1: the files written into the fake tree. */

static void test_v1_writes_every_limit(void **state)
{
	struct sbox_cgroup_host h;
	struct sbox_policy p;
	struct sbox_cgroup *cg;
	struct sbox_err err = { 0 };
	struct sbox_stats st = { 0 };
	char d[2048];

	(void)state;
	fake_v1_host(&h, true);
	sbox_policy_init(&p);
	all_limits(&p);
	set_ok(&p, "MemoryHigh", "");   /* v1 has none: see the next test */
	if (sbox_cgroup_create(&h, "/sbox", "sbox-4-1", &p.res, 0, &cg, &err) < 0)
		fail_msg("%s", err.msg);
	assert_false(sbox_cgroup_is_v2(cg));
	assert_int_equal(sbox_cgroup_clone_fd(cg), -1);
#define AT(ctrl) (snprintf(d, sizeof(d), "%s/" ctrl "/sbox/sbox-4-1", fake_root), d)
	assert_string_equal(sbox_cgroup_path(cg), AT("memory"));
	assert_string_equal(get_file(AT("memory"), "memory.limit_in_bytes"), "67108864");
	/* memory and swap together: 64M + 16M */
	assert_string_equal(get_file(AT("memory"), "memory.memsw.limit_in_bytes"), "83886080");
	assert_string_equal(get_file(AT("pids"), "pids.max"), "100");
	assert_string_equal(get_file(AT("cpu"), "cpu.cfs_period_us"), "100000");
	assert_string_equal(get_file(AT("cpu"), "cpu.cfs_quota_us"), "150000");
	assert_string_equal(get_file(AT("cpu"), "cpu.shares"), "2048");
	assert_string_equal(get_file(AT("cpuset"), "cpuset.cpus"), "0-1");
	assert_string_equal(get_file(AT("cpuset"), "cpuset.mems"), "0");
	assert_string_equal(get_file(AT("blkio"), "blkio.bfq.weight"), "1000");
	/* The fresh parent cpuset got the root's CPUs and nodes. */
	snprintf(d, sizeof(d), "%s/cpuset/sbox", fake_root);
	assert_string_equal(get_file(d, "cpuset.cpus"), "0-1");
	assert_string_equal(get_file(d, "cpuset.mems"), "0");
	/* The devices controller's directory is there for the device rules. */
	assert_true(sbox_cgroup_devices_fd(cg) >= 0);
	assert_true(exists(AT("devices")));
	assert_true(exists(AT("freezer")));

	/* Joined by pid in every hierarchy. */
	assert_int_equal(sbox_cgroup_attach(cg, 4343, &err), 0);
	assert_string_equal(get_file(AT("memory"), "cgroup.procs"), "4343");
	assert_string_equal(get_file(AT("devices"), "cgroup.procs"), "4343");
	assert_string_equal(get_file(AT("cpuset"), "cgroup.procs"), "4343");
	for (size_t i = 0; i < h.n_v1; i++) {
		snprintf(d, sizeof(d), "%s/sbox/sbox-4-1", h.v1[i].path);
		put_file(d, "cgroup.procs", "");
	}
	/* The end: frozen while killed, thawed after. */
	assert_int_equal(sbox_cgroup_kill(cg, &err), 0);
	assert_string_equal(get_file(AT("freezer"), "freezer.state"), "THAWED\n");

	put_file(AT("cpuacct"), "cpuacct.usage_user", "2500000\n");
	put_file(AT("cpuacct"), "cpuacct.usage_sys", "1500000\n");
	put_file(AT("memory"), "memory.max_usage_in_bytes", "67108864\n");
	put_file(AT("memory"), "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
	assert_int_equal(sbox_cgroup_stats(cg, &st, &err), 0);
	assert_int_equal(st.cgroup_version, 1);
	assert_int_equal(st.have, SBOX_STAT_CPU | SBOX_STAT_MEMORY_PEAK | SBOX_STAT_OOM);
	assert_int_equal(st.cpu_user_usec, 2500);
	assert_int_equal(st.cpu_system_usec, 1500);
	assert_int_equal(st.memory_peak, 67108864);
	assert_int_equal(st.oom_kills, 2);
	assert_int_equal(sbox_cgroup_destroy(cg, &err), 0);
	for (size_t i = 0; i < h.n_v1; i++) {
		snprintf(d, sizeof(d), "%s/sbox/sbox-4-1", h.v1[i].path);
		assert_false(exists(d));
	}
#undef AT
	sbox_policy_free(&p);
}

static void check_v1_refused(struct sbox_cgroup_host *h, const char *name, const char *value,
			     const char *name2, const char *value2, const char *text)
{
	struct sbox_policy p;
	struct sbox_cgroup *cg = NULL;
	struct sbox_err err = { 0 };
	char d[2048];

	sbox_policy_init(&p);
	set_ok(&p, name, value);
	if (name2)
		set_ok(&p, name2, value2);
	assert_int_equal(sbox_cgroup_create(h, "/sbox", "sbox-5-1", &p.res, 0, &cg, &err), -1);
	assert_null(cg);
	if (!strstr(err.msg, text))
		fail_msg("'%s' lacks '%s'", err.msg, text);
	for (size_t i = 0; i < h->n_v1; i++) {
		snprintf(d, sizeof(d), "%s/sbox/sbox-5-1", h->v1[i].path);
		assert_false(exists(d));
	}
	sbox_policy_free(&p);
}

static void test_v1_refuses_what_it_cannot_enforce(void **state)
{
	struct sbox_cgroup_host h;

	(void)state;
	fake_v1_host(&h, false);
	check_v1_refused(&h, "MemoryHigh", "1G", NULL, NULL,
			 "MemoryHigh=1G: cgroup v1 has no memory throttling limit");
	check_v1_refused(&h, "MemorySwapMax", "1G", NULL, NULL,
			 "MemorySwapMax=1G: cgroup v1 limits memory and swap together, so it needs MemoryMax= too");
	check_v1_refused(&h, "TasksMax", "64", NULL, NULL,
			 "TasksMax= needs the cgroup v1 'pids' controller, which this host has not mounted");
	/* No swap accounting (no memsw file): made, then taken back. */
	skip_file = "memory.memsw.limit_in_bytes";
	check_v1_refused(&h, "MemoryMax", "64M", "MemorySwapMax", "0",
			 "MemorySwapMax=0: this host can't enforce it: swap accounting is off");
	/* No I/O scheduler with weights. */
	skip_file = "blkio.bfq.weight";
	check_v1_refused(&h, "IOWeight", "100", NULL, NULL,
			 "IOWeight=100: this host can't enforce it: the blkio controller has no weight");
}

static void test_v1_infinity_and_unlimited(void **state)
{
	struct sbox_cgroup_host h;
	struct sbox_policy p;
	struct sbox_cgroup *cg;
	struct sbox_err err = { 0 };
	char d[2048];

	(void)state;
	fake_v1_host(&h, true);
	sbox_policy_init(&p);
	set_ok(&p, "MemoryMax", "infinity");
	set_ok(&p, "MemoryHigh", "infinity");   /* no limit: fine on v1 */
	set_ok(&p, "TasksMax", "infinity");
	if (sbox_cgroup_create(&h, "/", "sbox-6-1", &p.res, 0, &cg, &err) < 0)
		fail_msg("%s", err.msg);
	snprintf(d, sizeof(d), "%s/memory/sbox-6-1", fake_root);
	assert_string_equal(get_file(d, "memory.limit_in_bytes"), "-1");
	snprintf(d, sizeof(d), "%s/pids/sbox-6-1", fake_root);
	assert_string_equal(get_file(d, "pids.max"), "max");
	assert_int_equal(sbox_cgroup_destroy(cg, &err), 0);
	sbox_policy_free(&p);
}

/* A prepared sandbox's request (sbox_cgroup_set_limits()): only the
 * limits whose values differ are written; the same limits, none written;
 * other limits than the cgroup has, refused. */
static void test_v2_set_limits_writes_what_differs(void **state)
{
	struct sbox_host now;
	char want[32];
	struct sbox_cgroup_host h;
	struct sbox_policy p, q;
	struct sbox_cgroup *cg;
	struct sbox_err err = { 0 };
	char dir[2048];

	(void)state;
	fake_v2_host(&h, "cpuset cpu io memory pids\n");
	sbox_policy_init(&p);
	all_limits(&p);
	if (sbox_cgroup_create(&h, "/sbox", "sbox-7-1", &p.res, 0, &cg, &err) < 0)
		fail_msg("%s", err.msg);
	snprintf(dir, sizeof(dir), "%s/sbox/sbox-7-1", h.v2_mount);
	/* What the request leaves as it is must not be written again. */
	put_file(dir, "memory.high", "untouched");
	put_file(dir, "cpu.weight", "untouched");
	put_file(dir, "cpuset.cpus", "untouched");
	put_file(dir, "io.weight", "untouched");
	sbox_policy_init(&q);
	all_limits(&q);
	set_ok(&q, "MemoryMax", "128M");
	set_ok(&q, "TasksMax", "10");
	set_ok(&q, "CPUQuota", "50%");
	set_ok(&q, "AllowedMemoryNodes", "1");
	if (sbox_cgroup_set_limits(cg, &q.res, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(get_file(dir, "memory.max"), "134217728");
	assert_string_equal(get_file(dir, "memory.swap.max"), "16777216");
	assert_string_equal(get_file(dir, "pids.max"), "10");
	assert_string_equal(get_file(dir, "cpu.max"), "50000 100000");
	assert_string_equal(get_file(dir, "cpuset.mems"), "1");
	assert_string_equal(get_file(dir, "memory.high"), "untouched");
	assert_string_equal(get_file(dir, "cpu.weight"), "untouched");
	assert_string_equal(get_file(dir, "cpuset.cpus"), "untouched");
	assert_string_equal(get_file(dir, "io.weight"), "untouched");
	/* The same request again: what it has is what it asks for. */
	put_file(dir, "memory.max", "untouched");
	put_file(dir, "pids.max", "untouched");
	assert_int_equal(sbox_cgroup_set_limits(cg, &q.res, &err), 0);
	assert_string_equal(get_file(dir, "memory.max"), "untouched");
	assert_string_equal(get_file(dir, "pids.max"), "untouched");
	/* A percentage is of the host as it is now (the fake host said 1G
	 * at create; the real one is probed again). */
	set_ok(&q, "MemoryMax", "10%");
	assert_int_equal(sbox_cgroup_set_limits(cg, &q.res, &err), 0);
	sbox_host_probe(&now);
	snprintf(want, sizeof(want), "%llu",
		 (unsigned long long)sbox_limit_resolve(&q.res.memory_max, now.mem_total));
	assert_string_equal(get_file(dir, "memory.max"), want);
	/* Under what the cgroup holds already: refused, nothing written. */
	put_file(dir, "memory.current", "50000000\n");
	set_ok(&q, "MemoryMax", "32M");
	assert_int_equal(sbox_cgroup_set_limits(cg, &q.res, &err), -1);
	assert_int_equal(err.errnum, EBUSY);
	assert_string_equal(get_file(dir, "memory.max"), want);
	put_file(dir, "memory.current", "1000000\n");
	memset(&err, 0, sizeof(err));
	/* Other limits than the cgroup was made with: refused, nothing written. */
	put_file(dir, "memory.max", "untouched");
	set_ok(&q, "TasksMax", "");
	set_ok(&q, "MemoryMax", "1G");
	assert_int_equal(sbox_cgroup_set_limits(cg, &q.res, &err), -1);
	assert_non_null(strstr(err.msg, "other limits than its prepared sandbox's cgroup has"));
	set_ok(&q, "TasksMax", "10");
	set_ok(&q, "MemoryMax", "infinity");
	memset(&err, 0, sizeof(err));
	assert_int_equal(sbox_cgroup_set_limits(cg, &q.res, &err), -1);
	assert_string_equal(get_file(dir, "memory.max"), "untouched");
	assert_int_equal(sbox_cgroup_destroy(cg, &err), 0);
	sbox_policy_free(&p);
	sbox_policy_free(&q);
}

/* v1 keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every
 * write (the write() above refuses otherwise): a request's larger limits
 * write memsw first, smaller ones the limit first. */
static void test_v1_set_limits_keeps_memsw_above(void **state)
{
	struct sbox_cgroup_host h;
	struct sbox_policy p;
	struct sbox_cgroup *cg;
	struct sbox_err err = { 0 };
	char d[2048];

	(void)state;
	fake_v1_host(&h, true);
	sbox_policy_init(&p);
	set_ok(&p, "MemoryMax", "64M");
	set_ok(&p, "MemorySwapMax", "16M");
	set_ok(&p, "TasksMax", "64");
	if (sbox_cgroup_create(&h, "/sbox", "sbox-8-1", &p.res, 0, &cg, &err) < 0)
		fail_msg("%s", err.msg);
	snprintf(d, sizeof(d), "%s/memory/sbox/sbox-8-1", fake_root);
	assert_string_equal(get_file(d, "memory.memsw.limit_in_bytes"), "83886080");
	set_ok(&p, "MemoryMax", "512M");
	if (sbox_cgroup_set_limits(cg, &p.res, &err) < 0)
		fail_msg("growing: %s", err.msg);
	assert_string_equal(get_file(d, "memory.limit_in_bytes"), "536870912");
	assert_string_equal(get_file(d, "memory.memsw.limit_in_bytes"), "553648128");
	set_ok(&p, "MemoryMax", "32M");
	set_ok(&p, "MemorySwapMax", "0");
	if (sbox_cgroup_set_limits(cg, &p.res, &err) < 0)
		fail_msg("shrinking: %s", err.msg);
	assert_string_equal(get_file(d, "memory.limit_in_bytes"), "33554432");
	assert_string_equal(get_file(d, "memory.memsw.limit_in_bytes"), "33554432");
	snprintf(d, sizeof(d), "%s/pids/sbox/sbox-8-1", fake_root);
	assert_string_equal(get_file(d, "pids.max"), "64");
	assert_int_equal(sbox_cgroup_destroy(cg, &err), 0);
	sbox_policy_free(&p);
}

/* How it ended: the end's explanation and its JSON. */

static void test_json_status(void **state)
{
	struct sbox_end e = { .code = 137, .signal = 9, .oom = true, .have_stats = true };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	e.stats = (struct sbox_stats){ .have = SBOX_STAT_CPU | SBOX_STAT_MEMORY_PEAK | SBOX_STAT_OOM,
				       .cgroup_version = 1, .wall_usec = 1500000,
				       .cpu_user_usec = 20, .cpu_system_usec = 30,
				       .memory_peak = 67108864, .oom_kills = 1 };
	f = open_memstream(&buf, &len);
	sbox_end_format_json(&e, f);
	fclose(f);
	assert_string_equal(buf, "{\"exit_code\":137,\"signal\":9,\"oom_killed\":true,\"timed_out\":false,"
			    "\"wall_usec\":1500000,\"cpu_user_usec\":20,\"cpu_system_usec\":30,"
			    "\"memory_peak_bytes\":67108864,\"oom_kills\":1,\"cgroup\":\"v1\"}\n");
	free(buf);

	/* A sandbox that never started: figures null. */
	e = (struct sbox_end){ .code = 125 };
	buf = NULL;
	f = open_memstream(&buf, &len);
	sbox_end_format_json(&e, f);
	fclose(f);
	assert_string_equal(buf, "{\"exit_code\":125,\"signal\":null,\"oom_killed\":false,\"timed_out\":false,"
			    "\"wall_usec\":null,\"cpu_user_usec\":null,\"cpu_system_usec\":null,"
			    "\"memory_peak_bytes\":null,\"oom_kills\":null,\"cgroup\":null}\n");
	free(buf);

	e = (struct sbox_end){ .code = 0, .have_stats = true };
	e.stats = (struct sbox_stats){ .have = SBOX_STAT_CPU, .wall_usec = 1234567,
				       .cpu_user_usec = 500000, .cpu_system_usec = 12000 };
	buf = NULL;
	f = open_memstream(&buf, &len);
	sbox_end_print_stats(&e, f);
	fclose(f);
	assert_string_equal(buf, "sboxrun: stats: wall 1.235s, cpu user 0.500s system 0.012s, peak memory n/a, oom kills n/a (no cgroup: from rusage, peak of the largest process)\n");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_directives_print_back),
		cmocka_unit_test(test_directive_errors),
		cmocka_unit_test(test_any_limit),
		cmocka_unit_test_setup_teardown(test_v2_writes_every_limit, setup_fake, teardown_fake),
		cmocka_unit_test_setup_teardown(test_v2_percentages_and_no_limits, setup_fake, teardown_fake),
		cmocka_unit_test_setup_teardown(test_v2_missing_controller_is_an_error, setup_fake,
						teardown_fake),
		cmocka_unit_test_setup_teardown(test_v2_default_parent, setup_fake, teardown_fake),
		cmocka_unit_test_setup_teardown(test_unopened_dir_is_removed, setup_fake,
						teardown_fake),
		cmocka_unit_test_setup_teardown(test_v1_writes_every_limit, setup_fake, teardown_fake),
		cmocka_unit_test_setup_teardown(test_v1_refuses_what_it_cannot_enforce, setup_fake,
						teardown_fake),
		cmocka_unit_test_setup_teardown(test_v1_infinity_and_unlimited, setup_fake, teardown_fake),
		cmocka_unit_test_setup_teardown(test_v2_set_limits_writes_what_differs, setup_fake,
						teardown_fake),
		cmocka_unit_test_setup_teardown(test_v1_set_limits_keeps_memsw_above, setup_fake,
						teardown_fake),
		cmocka_unit_test(test_json_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
