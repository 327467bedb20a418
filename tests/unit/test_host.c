/* SPDX-License-Identifier: MIT */
/*
 * The host probe (sandbox/host.c) over a fake /proc tree under /tmp: which
 * kernel limit is TasksMax=N%'s base when both, one or neither is readable;
 * that sboxd's bounds and the cgroup read the same totals and round a
 * percentage of them alike (a job held to a bound is held to the same
 * number by its cgroup); and the "Name=value" text every message quotes.
 * Runs unprivileged.
 */
#include "sandbox/host.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/bounds.h"
#include "policy/dir_resources.h"
#include "policy/directives.h"
#include "policy/values.h"
#include "sandbox/cgroup.h"
#include "sandbox/cgview.h"
#include "sandbox/sandbox.h"

static char proc[256];

static void put(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/sys/kernel/%s", proc, name);
	if (!text) {
		unlink(path);
		return;
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int setup_proc(void **state)
{
	char dir[300];

	(void)state;
	snprintf(proc, sizeof(proc), "/tmp/sbox-test-host.XXXXXX");
	if (!mkdtemp(proc))
		return -1;
	snprintf(dir, sizeof(dir), "%s/sys", proc);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/sys/kernel", proc);
	return mkdir(dir, 0755);
}

static int teardown_proc(void **state)
{
	(void)state;
	put("pid_max", NULL);
	put("threads-max", NULL);
	for (const char *sub = "/sys/kernel"; ; sub = "/sys") {
		char dir[300];

		snprintf(dir, sizeof(dir), "%s%s", proc, sub);
		rmdir(dir);
		if (strcmp(sub, "/sys") == 0)
			break;
	}
	return rmdir(proc);
}

static uint64_t tasks_with(const char *pid_max, const char *threads_max)
{
	struct sbox_host h;

	put("pid_max", pid_max);
	put("threads-max", threads_max);
	memset(&h, 0xa5, sizeof(h));
	sbox_host_probe_in(&h, proc);
	return h.tasks_total;
}

static void test_tasks_total_is_the_smaller_limit(void **state)
{
	(void)state;
	assert_int_equal(tasks_with("4194304\n", "126000\n"), 126000);
	assert_int_equal(tasks_with("32768\n", "126000\n"), 32768);
	/* Only one readable (a kernel or container that hides the other). */
	assert_int_equal(tasks_with("32768\n", NULL), 32768);
	assert_int_equal(tasks_with(NULL, "126000\n"), 126000);
	/* Neither, or nothing a number: unknown, so TasksMax=N% is refused. */
	assert_int_equal(tasks_with(NULL, NULL), 0);
	assert_int_equal(tasks_with("", "junk"), 0);
	assert_int_equal(tasks_with("0\n", "500\n"), 500);
}

static void test_mem_total_is_the_ram(void **state)
{
	struct sbox_host h;

	(void)state;
	sbox_host_probe_in(&h, proc);
	assert_true(h.mem_total > 0);
	assert_int_equal(h.mem_total,
			 (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE));
}

/* The cgroup's view of the host holds the very totals sboxd's bounds get. */
static void test_cgroup_detect_uses_the_probe(void **state)
{
	struct sbox_cgroup_host ch;
	struct sbox_host h;
	struct sbox_err err = { 0 };

	(void)state;
	sbox_host_probe(&h);
	assert_int_equal(sbox_cgroup_host_detect(&ch, &err), 0);
	assert_int_equal(ch.host.mem_total, h.mem_total);
	assert_int_equal(ch.host.tasks_total, h.tasks_total);
}

static struct sbox_limit percent(uint64_t permyriad)
{
	return (struct sbox_limit){ .set = true, .percent = true, .value = permyriad };
}

static void test_percent_rounding(void **state)
{
	struct sbox_limit l = percent(3333);
	struct sbox_limit abs = { .set = true, .value = 4096 };
	struct sbox_limit inf = { .set = true, .value = SBOX_INFINITY };

	(void)state;
	assert_int_equal(sbox_limit_resolve(&l, 10000), 3333);
	/* Rounded down, and the digits below 10000 still count. */
	assert_int_equal(sbox_limit_resolve(&l, 9999), 3332);
	assert_int_equal(sbox_limit_resolve(&l, (8ULL << 30) + 7), 2863025201ULL);
	/* 100% of the largest total does not overflow. */
	l = percent(10000);
	assert_int_equal(sbox_limit_resolve(&l, UINT64_MAX - 1), UINT64_MAX - 1);
	assert_int_equal(sbox_limit_resolve(&abs, 10000), 4096);
	assert_int_equal(sbox_limit_resolve(&inf, 10000), SBOX_INFINITY);
}

/* A bound of exactly the resolved number admits the job; one byte less
 * refuses it, quoting both settings. */
static void test_bound_and_cgroup_agree(void **state)
{
	struct sbox_bounds b;
	struct sbox_policy p;
	struct sbox_requester alice = { .uid = 1000, .gid = 1000 };
	struct sbox_bounds_ctx ctx = { .mem_total = (8ULL << 30) + 7, .tasks_total = 32768 };
	struct sbox_err err = { 0 };

	(void)state;
	for (int i = 0; i < SBOX_RLIMIT_COUNT; i++)
		ctx.hard[i] = UINT64_MAX;
	sbox_bounds_init(&b);
	b.file = "site.conf";
	sbox_policy_init(&p);
	assert_int_equal(sbox_policy_set(&p, "MemoryMax", "33.33%", &err), 0);
	b.memory_max = sbox_limit_resolve(&p.res.memory_max, ctx.mem_total);
	assert_int_equal(sbox_bounds_check_policy(&b, &p, &alice, &ctx, &err), 0);
	b.memory_max--;
	assert_int_equal(sbox_bounds_check_policy(&b, &p, &alice, &ctx, &err), -1);
	assert_string_equal(err.msg, "MemoryMax=2863025201 is past the site bound MemoryMax=2863025200 (site.conf)");
	sbox_policy_free(&p);
	sbox_bounds_free(&b);
}

static void test_directive_text(void **state)
{
	char buf[64], small[12];
	struct sbox_limit mem = { .set = true, .value = 64ULL << 20 };
	struct sbox_limit tasks = percent(1000);

	(void)state;
	assert_string_equal(sbox_directive_text("CPUQuota", "150%", buf, sizeof(buf)),
			    "CPUQuota=150%");
	assert_string_equal(sbox_limit_text("MemoryMax", &mem, true, buf, sizeof(buf)),
			    "MemoryMax=64M");
	assert_string_equal(sbox_limit_text("TasksMax", &tasks, false, buf, sizeof(buf)),
			    "TasksMax=10%");
	/* Cut to fit, never past the buffer. */
	assert_string_equal(sbox_directive_text("MemoryMax", "256M", small, sizeof(small)),
			    "MemoryMax=2");
}

/* A fake mountinfo, written to a temporary file; its path into path. */
static void write_mountinfo(char *path, size_t len, const char *text)
{
	int fd;

	snprintf(path, len, "/tmp/sbox-unit-mountinfo.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

#define MI_ROOT "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
#define MI_TMPFS "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"

/* favordynmods is read from the cgroup mounts' super options (after the
 * " - "), as a whole option: the note says how many lack it, and nothing
 * when all have it or there is no cgroup mount; an unreadable file is no
 * note either. */
static void test_favordynmods_note(void **state)
{
	char path[64], note[1024];
	unsigned mounts, with;

	(void)state;
	/* Hybrid: two v1 hierarchies and systemd's unified cgroup2, one of
	 * them with the option; a mount *point* named favordynmods does not
	 * count, nor a look-alike option. */
	write_mountinfo(path, sizeof(path),
			MI_ROOT MI_TMPFS
			"31 30 0:28 / /sys/fs/cgroup/memory rw,favordynmods - cgroup cgroup rw,memory\n"
			"32 30 0:29 / /sys/fs/cgroup/favordynmods rw - cgroup cgroup rw,pids,favordynmodsx\n"
			"33 30 0:30 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate,favordynmods\n");
	assert_int_equal(sbox_host_favordynmods(path, &mounts, &with), 0);
	assert_int_equal(mounts, 3);
	assert_int_equal(with, 1);
	assert_int_equal(sbox_check_host_note_at(path, note, sizeof(note)), 1);
	assert_non_null(strstr(note, "2 of the 3 cgroup hierarchies are mounted without favordynmods"));
	assert_non_null(strstr(note, "docs/cgroups.md"));
	unlink(path);

	/* Every hierarchy with it: no note. */
	write_mountinfo(path, sizeof(path),
			MI_ROOT "40 22 0:31 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate,favordynmods,memory_recursiveprot\n");
	assert_int_equal(sbox_host_favordynmods(path, &mounts, &with), 0);
	assert_int_equal(mounts, 1);
	assert_int_equal(with, 1);
	assert_int_equal(sbox_check_host_note_at(path, note, sizeof(note)), 0);
	assert_string_equal(note, "");
	unlink(path);

	/* Pure v2 without it: the note. */
	write_mountinfo(path, sizeof(path),
			MI_ROOT "40 22 0:31 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n");
	assert_int_equal(sbox_check_host_note_at(path, note, sizeof(note)), 1);
	assert_non_null(strstr(note, "no cgroup hierarchy (of 1) is mounted with favordynmods"));
	unlink(path);

	/* No cgroup mounted, or no file: nothing to say. */
	write_mountinfo(path, sizeof(path), MI_ROOT MI_TMPFS);
	assert_int_equal(sbox_check_host_note_at(path, note, sizeof(note)), 0);
	unlink(path);
	assert_int_equal(sbox_host_favordynmods("/nonexistent/mountinfo", &mounts, &with), -1);
	assert_int_equal(sbox_check_host_note_at("/nonexistent/mountinfo", note, sizeof(note)), 0);
}

/* The plan of a sandbox's /sys/fs/cgroup (sandbox/cgview.h): each
 * hierarchy at its host name below /sys/fs/cgroup, with the host's super
 * options but rw/ro and release_agent= (which the kernel refuses outside
 * the initial cgroup namespace); a cgroup2 at /sys/fs/cgroup itself only
 * alone; anything mounted elsewhere, too deep, too long or past the
 * bound left out. */
static void test_cgroup_view_plan(void **state)
{
	struct sbox_cgview v = { 0 };
	char longopts[400];

	(void)state;
	assert_true(sbox_cgview_add(&v, false, "/sys/fs/cgroup/memory", "rw,memory"));
	assert_true(sbox_cgview_add(&v, false, "/sys/fs/cgroup/cpu,cpuacct", "rw,cpu,cpuacct"));
	assert_true(sbox_cgview_add(&v, false, "/sys/fs/cgroup/systemd",
				    "rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd"));
	assert_true(sbox_cgview_add(&v, false, "/sys/fs/cgroup/pids", "ro,pids,favordynmods"));
	assert_int_equal(v.n, 4);
	assert_string_equal(v.fs[0].name, "memory");
	assert_string_equal(v.fs[0].opts, "memory");
	assert_false(v.fs[0].v2);
	assert_string_equal(v.fs[1].name, "cpu,cpuacct");
	assert_string_equal(v.fs[1].opts, "cpu,cpuacct");
	assert_string_equal(v.fs[2].opts, "xattr,name=systemd");
	assert_string_equal(v.fs[3].opts, "pids,favordynmods");
	/* Not below /sys/fs/cgroup, or not directly: out of the view. */
	assert_false(sbox_cgview_add(&v, false, "/cgroup/blkio", "rw,blkio"));
	assert_false(sbox_cgview_add(&v, false, "/sys/fs/cgroupx", "rw,blkio"));
	assert_false(sbox_cgview_add(&v, false, "/sys/fs/cgroup/a/blkio", "rw,blkio"));
	assert_false(sbox_cgview_add(&v, false, "/sys/fs/cgroup/..", "rw,blkio"));
	/* /sys/fs/cgroup itself: a cgroup2's, and not beside others. */
	assert_false(sbox_cgview_add(&v, true, "/sys/fs/cgroup", ""));
	assert_false(sbox_cgview_add(&v, true, "/sys/fs/cgroup/", ""));
	memset(longopts, 'x', sizeof(longopts) - 1);
	longopts[sizeof(longopts) - 1] = '\0';
	assert_false(sbox_cgview_add(&v, false, "/sys/fs/cgroup/freezer", longopts));
	assert_int_equal(v.n, 4);
	for (int i = 0; i < 4; i++)
		assert_true(sbox_cgview_add(&v, false, "/sys/fs/cgroup/more", "rw,devices"));
	assert_false(sbox_cgview_add(&v, false, "/sys/fs/cgroup/ninth", "rw,devices"));
	assert_int_equal(v.n, SBOX_CGVIEW_MAX);

	/* Pure v2: the one mount, at /sys/fs/cgroup, options left to the
	 * host's superblock; nothing beside it. */
	memset(&v, 0, sizeof(v));
	assert_true(sbox_cgview_add(&v, true, "/sys/fs/cgroup", ""));
	assert_int_equal(v.n, 1);
	assert_true(v.fs[0].v2);
	assert_string_equal(v.fs[0].name, "");
	assert_false(sbox_cgview_add(&v, false, "/sys/fs/cgroup/memory", "rw,memory"));
	/* A cgroup2 of its own below /sys/fs/cgroup is a hierarchy like any. */
	memset(&v, 0, sizeof(v));
	assert_true(sbox_cgview_add(&v, true, "/sys/fs/cgroup/unified", "rw,nsdelegate"));
	assert_string_equal(v.fs[0].opts, "nsdelegate");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tasks_total_is_the_smaller_limit, setup_proc,
						teardown_proc),
		cmocka_unit_test_setup_teardown(test_mem_total_is_the_ram, setup_proc, teardown_proc),
		cmocka_unit_test(test_cgroup_detect_uses_the_probe),
		cmocka_unit_test(test_percent_rounding),
		cmocka_unit_test(test_bound_and_cgroup_agree),
		cmocka_unit_test(test_directive_text),
		cmocka_unit_test(test_favordynmods_note),
		cmocka_unit_test(test_cgroup_view_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
