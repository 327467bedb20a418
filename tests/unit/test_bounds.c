/* SPDX-License-Identifier: MIT */
/*
 * sboxd's sections of the site configuration (policy/site_daemon.c) and the
 * site bounds (policy/bounds.c): what a request may ask, and the exact
 * refusal, naming the bound, when it asks more.
 */
#include "policy/bounds.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "policy/directives.h"
#include "policy/parse.h"
#include "policy/site.h"
#include "policy/values.h"

static struct sbox_err err;
static const gid_t staff[] = { 50, 1001 };
static const struct sbox_requester alice = {
	.uid = 1000, .gid = 1000, .groups = staff, .n_groups = 2, .user_name = "alice",
};
static const struct sbox_requester root = { .uid = 0, .gid = 0 };

static void load_site(struct sbox_site *s, const char *text)
{
	sbox_site_init(s);
	memset(&err, 0, sizeof(err));
	if (sbox_site_load_string(s, text, "site.conf", &err) < 0)
		fprintf(stderr, "%s\n", err.msg);
	assert_string_equal(err.msg, "");
	s->daemon.bounds.file = "site.conf";
}

static void site_refused(const char *text, const char *why)
{
	struct sbox_site s;

	sbox_site_init(&s);
	memset(&err, 0, sizeof(err));
	assert_int_equal(sbox_site_load_string(&s, text, "site.conf", &err), -1);
	if (!strstr(err.msg, why))
		fprintf(stderr, "expected '%s' in: %s\n", why, err.msg);
	assert_non_null(strstr(err.msg, why));
	sbox_site_free(&s);
}

static void policy_of(struct sbox_policy *p, const char *text)
{
	sbox_policy_init(p);
	assert_int_equal(sbox_policy_load_string(p, text, "job", &err), 0);
}

static struct sbox_bounds_ctx ctx(void)
{
	struct sbox_bounds_ctx c = { .mem_total = 8ULL << 30, .tasks_total = 32768 };

	for (int i = 0; i < SBOX_RLIMIT_COUNT; i++)
		c.hard[i] = UINT64_MAX;
	return c;
}

/* The policy text against the site's bounds as alice: NULL when allowed,
 * else the refusal must contain why. */
static void check(const struct sbox_site *s, const char *policy, const char *why)
{
	struct sbox_policy p;
	struct sbox_bounds_ctx c = ctx();
	int r;

	c.cgroup_parent = s->daemon.defaults_cgroup_parent;
	policy_of(&p, policy);
	memset(&err, 0, sizeof(err));
	r = sbox_bounds_check_policy(&s->daemon.bounds, &p, &alice, &c, &err);
	if (!why) {
		if (r != 0)
			fprintf(stderr, "refused: %s\n", err.msg);
		assert_int_equal(r, 0);
	} else {
		assert_int_equal(r, -1);
		if (!strstr(err.msg, why))
			fprintf(stderr, "expected '%s' in: %s\n", why, err.msg);
		assert_non_null(strstr(err.msg, why));
	}
	/* Root is never bounded. */
	assert_int_equal(sbox_bounds_check_policy(&s->daemon.bounds, &p, &root, &c, &err), 0);
	sbox_policy_free(&p);
}

static void test_daemon_section(void **state)
{
	struct sbox_site s;

	(void)state;
	load_site(&s, "[Daemon]\nSocket=/run/x.sock\nStateDirectory=/run/sbox/x\nAllowUsers=nobody 1000\n"
		      "AllowGroups=50\nMaxConnections=10\nMaxJobs=5\nMaxJobsPerUser=2\n"
		      "IdleTimeoutSec=2s\nReattachTimeoutSec=1min\nNetnsPool=0\nAllowNestedClients=yes\n");
	assert_string_equal(s.daemon.socket, "/run/x.sock");
	assert_string_equal(sbox_site_state_dir(&s.daemon), "/run/sbox/x");
	assert_int_equal(s.daemon.n_allow_users, 2);
	assert_int_equal(s.daemon.allow_users[0], 65534);
	assert_int_equal(s.daemon.allow_users[1], 1000);
	assert_int_equal(s.daemon.max_connections, 10);
	assert_int_equal(s.daemon.max_jobs_per_user, 2);
	assert_int_equal(sbox_site_jobs_per_user(&s.daemon), 2);
	assert_int_equal(s.daemon.idle_timeout_usec, 2000000);
	assert_int_equal(s.daemon.reattach_timeout_usec, 60000000);
	assert_int_equal(s.daemon.netns_pool, 0);
	assert_true(s.daemon.allow_nested);
	sbox_site_free(&s);

	/* MaxJobsPerUser= unset: a quarter of MaxJobs= (no one user takes
	 * every slot), at least 1; 0 set: MaxJobs= alone. */
	load_site(&s, "[Daemon]\n");
	assert_int_equal(sbox_site_jobs_per_user(&s.daemon), 256);
	sbox_site_free(&s);
	load_site(&s, "[Daemon]\nMaxJobs=40\n");
	assert_int_equal(sbox_site_jobs_per_user(&s.daemon), 10);
	sbox_site_free(&s);
	load_site(&s, "[Daemon]\nMaxJobs=3\n");
	assert_int_equal(sbox_site_jobs_per_user(&s.daemon), 1);
	sbox_site_free(&s);
	load_site(&s, "[Daemon]\nMaxJobs=40\nMaxJobsPerUser=0\n");
	assert_int_equal(sbox_site_jobs_per_user(&s.daemon), 0);
	sbox_site_free(&s);

	/* RefuseClientCgroups=: absolute paths, a trailing / dropped; an
	 * empty value clears; a relative or .. path is refused. */
	load_site(&s, "[Daemon]\nRefuseClientCgroups=/slurm/ /system.slice/slurmstepd.scope\n"
		      "RefuseClientCgroups=/x\n");
	assert_int_equal(s.daemon.n_refuse_cgroups, 3);
	assert_string_equal(s.daemon.refuse_cgroups[0], "/slurm");
	assert_string_equal(s.daemon.refuse_cgroups[1], "/system.slice/slurmstepd.scope");
	assert_string_equal(s.daemon.refuse_cgroups[2], "/x");
	sbox_site_free(&s);
	load_site(&s, "[Daemon]\nRefuseClientCgroups=/slurm\nRefuseClientCgroups=\n");
	assert_int_equal(s.daemon.n_refuse_cgroups, 0);
	sbox_site_free(&s);
	site_refused("[Daemon]\nRefuseClientCgroups=slurm\n",
		     "RefuseClientCgroups=slurm: not an absolute cgroup path");
	site_refused("[Daemon]\nRefuseClientCgroups=/a/../b\n",
		     "RefuseClientCgroups=/a/../b: not an absolute cgroup path");

	/* Who may connect: listed users, members of listed groups, root. */
	load_site(&s, "[Daemon]\nAllowGroups=1001\n");
	{
		struct sbox_requester bob = { .uid = 1002, .gid = 1002 };

		assert_true(sbox_site_daemon_allows(&s.daemon, &alice));   /* supplementary 1001 */
		assert_false(sbox_site_daemon_allows(&s.daemon, &bob));
		assert_true(sbox_site_daemon_allows(&s.daemon, &root));
	}
	sbox_site_free(&s);
	/* Nothing listed: only root. */
	load_site(&s, "[GPUs]\n");
	assert_false(sbox_site_daemon_allows(&s.daemon, &alice));
	assert_string_equal(sbox_site_state_dir(&s.daemon), SBOX_STATE_DIR_DEFAULT);
	sbox_site_free(&s);

	site_refused("[Daemon]\nAllowUsers=no-such-user-x\n", "no such user 'no-such-user-x'");
	site_refused("[Daemon]\nSocket=relative.sock\n", "expected an absolute path");
	site_refused("[Daemon]\nMaxJob=3\n", "did you mean 'MaxJobs'");
	site_refused("[Daemon]\nIdleTimeoutSec=0\n", "a time span above 0");

	/* [Pool] RefillIdleSec=: 10ms unless set; 0 is allowed (refill at
	 * the first idle moment), forever is not. */
	load_site(&s, "[GPUs]\n");
	assert_int_equal(s.daemon.pool_refill_idle_usec, 10000);
	sbox_site_free(&s);
	load_site(&s, "[Pool]\nRefillIdleSec=0\n");
	assert_int_equal(s.daemon.pool_refill_idle_usec, 0);
	sbox_site_free(&s);
	load_site(&s, "[Pool]\nRefillIdleSec=250ms\n");
	assert_int_equal(s.daemon.pool_refill_idle_usec, 250000);
	sbox_site_free(&s);
	site_refused("[Pool]\nRefillIdleSec=infinity\n", "a time span up to 60s");
	site_refused("[Pool]\nRefillIdleSec=61s\n", "a time span up to 60s");
	site_refused("[Pool]\nRefillIdleSec=soon\n", "RefillIdleSec=soon");
	site_refused("[Bounds]\nAllowGPUs=alice\n", "expected USER|@GROUP|*");
	site_refused("[Bounds]\nAllowGPUs=* 0-x\n", "is not a GPU index list");
	site_refused("[Bounds]\nAllowCapabilities=CAP_NOPE\n", "'CAP_NOPE' is not a capability");
}

static void test_defaults_section(void **state)
{
	struct sbox_site s;
	struct sbox_policy p;

	(void)state;
	load_site(&s, "[Defaults]\nMemoryMax=2G\nEnvironment=SITE=1\nTemporaryFileSystem=/scratch\n");
	assert_string_equal(s.daemon.defaults,
			    "[Sandbox]\nMemoryMax=2G\nEnvironment=SITE=1\nTemporaryFileSystem=/scratch\n");
	/* The defaults first, the job's own on top. */
	policy_of(&p, s.daemon.defaults);
	assert_int_equal(sbox_policy_load_string(&p, "[Sandbox]\nMemoryMax=1G\n", "job", &err), 0);
	assert_int_equal(p.res.memory_max.value, 1ULL << 30);
	assert_int_equal(p.env.n, 1);
	sbox_policy_free(&p);
	sbox_site_free(&s);
	site_refused("[Defaults]\nBindPaths=/srv\n", "binds come only from the client's own fds");
	site_refused("[Defaults]\nMemoryMaxx=1G\n", "did you mean 'MemoryMax'");
	site_refused("[Defaults]\nMemoryMax=lots\n", "MemoryMax=lots");
}

/* In a child with its own mount namespace, /etc/group bound over by the
 * test's: a system group (gid 995) whose entry, with 2000 members, is
 * longer than a 4 KiB lookup buffer.  Its name must be refused as its
 * number is (a hostile review: ERANGE read as "no such group" let it
 * through, and the worker's own lookup, which grows its buffer, granted
 * it). */
static int big_group_check(const char *group_file)
{
	struct sbox_site s;
	struct sbox_policy p;
	struct sbox_bounds_ctx c = ctx();
	int r;

	if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
		return 10;
	if (mount(group_file, "/etc/group", "none", MS_BIND, NULL) < 0)
		return 11;
	load_site(&s, "[Bounds]\nAllowUserSwitch=yes\n");
	policy_of(&p, "[Sandbox]\nSupplementaryGroups=sboxbigsys\n");
	memset(&err, 0, sizeof(err));
	r = sbox_bounds_check_policy(&s.daemon.bounds, &p, &alice, &c, &err);
	sbox_policy_free(&p);
	sbox_site_free(&s);
	if (r != -1 || !strstr(err.msg, "SupplementaryGroups=sboxbigsys is a system group (gid 995"))
		return fprintf(stderr, "got %d: %s\n", r, err.msg), 12;
	return 0;
}

static void test_long_group_entry(void **state)
{
	char dir[] = "/var/tmp/sbox-bounds.XXXXXX", path[64];
	FILE *f;
	pid_t pid;
	int st;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/group", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "root:x:0:\nsboxbigsys:x:995:");
	for (int i = 0; i < 2000; i++)
		fprintf(f, "%smember%04d", i ? "," : "", i);
	fprintf(f, "\n");
	assert_int_equal(fclose(f), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(big_group_check(path));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	unlink(path);
	rmdir(dir);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_network_identity_privileges(void **state)
{
	struct sbox_site s;

	(void)state;
	load_site(&s, "[Bounds]\n");
	/* veth through sboxd is the site's to allow (AllowVethNetwork=). */
	check(&s, "[Sandbox]\nPrivateNetwork=veth\n",
	      "PrivateNetwork=veth is past the site bound AllowVethNetwork=no (site.conf)");
	check(&s, "[Sandbox]\nPrivateNetwork=host\n",
	      "PrivateNetwork=host is past the site bound AllowHostNetwork=no (site.conf)");
	check(&s, "[Sandbox]\nUser=alice\n", NULL);
	check(&s, "[Sandbox]\nUser=1000\n", NULL);
	check(&s, "[Sandbox]\nUser=bob\n",
	      "User=bob is not the caller (uid 1000): the site bound AllowUserSwitch=no forbids it");
	check(&s, "[Sandbox]\nGroup=staff\n", "Group=staff: the site bound AllowUserSwitch=no");
	check(&s, "[Sandbox]\nAmbientCapabilities=CAP_NET_RAW\n",
	      "AmbientCapabilities=CAP_NET_RAW is past the site bound AllowCapabilities=");
	/* A GPU's node named directly would bypass the lease. */
	check(&s, "[Sandbox]\nDeviceAllow=/dev/nvidia3 rw\n",
	      "DeviceAllow=/dev/nvidia3: devices other than leased GPUs are refused through sboxd");
	sbox_site_free(&s);

	load_site(&s, "[Bounds]\nAllowHostNetwork=yes\nAllowUserSwitch=yes\n"
		      "AllowCapabilities=CAP_NET_RAW\n");
	check(&s, "[Sandbox]\nPrivateNetwork=host\nUser=bob\n", NULL);
	/* Issue 12 break 8: uid 0 (with a passed fd of /, it writes
	 * /etc/shadow) is never a switch a client other than root gets. */
	check(&s, "[Sandbox]\nUser=0\n",
	      "User=0 is root: AllowUserSwitch= never lets a client other than root run a worker as root");
	check(&s, "[Sandbox]\nUser=root\n", "User=root is root: AllowUserSwitch= never");
	check(&s, "[Sandbox]\nUser=bob\nGroup=0\n", "Group=0 is root's group: AllowUserSwitch= never");
	check(&s, "[Sandbox]\nUser=bob\nSupplementaryGroups=2000 root\n",
	      "SupplementaryGroups=root is root's group: AllowUserSwitch= never");
	/* Nor a system account, or a system group the client is not in
	 * itself (a hostile review: SupplementaryGroups=shadow read
	 * /etc/shadow through the read-only root).  gid 42 is shadow's
	 * number on Debian; by number, so that the test needs no group. */
	check(&s, "[Sandbox]\nSupplementaryGroups=42\n",
	      "SupplementaryGroups=42 is a system group (gid 42, outside 1000-60000): AllowUserSwitch= lets a client choose one only if it is in it itself");
	check(&s, "[Sandbox]\nGroup=6\n", "Group=6 is a system group (gid 6, outside 1000-60000)");
	check(&s, "[Sandbox]\nUser=1\n",
	      "User=1 is a system account (uid 1, outside 1000-60000): AllowUserSwitch= lets a client run workers as regular accounts and nobody only");
	/* Its own groups (alice is in 50), regular ones, nobody and
	 * nogroup stay the client's to choose. */
	check(&s, "[Sandbox]\nUser=2000\nGroup=50\nSupplementaryGroups=1001 3000 65534\n", NULL);
	check(&s, "[Sandbox]\nUser=65534\nGroup=65534\n", NULL);
	/* Above UID_MAX: the system's dynamic accounts (systemd's
	 * DynamicUser= services, 61184-65519). */
	check(&s, "[Sandbox]\nUser=61184\n", "User=61184 is a system account (uid 61184, outside 1000-60000)");
	check(&s, "[Sandbox]\nGroup=61184\n", "Group=61184 is a system group");
	check(&s, "[Sandbox]\nAmbientCapabilities=CAP_NET_RAW\n", NULL);
	check(&s, "[Sandbox]\nAmbientCapabilities=CAP_NET_RAW CAP_SYS_ADMIN\n",
	      "AmbientCapabilities=CAP_SYS_ADMIN is past");
	sbox_site_free(&s);

	/* A job may lower a hard limit, never raise one past sboxd's. */
	load_site(&s, "[Bounds]\n");
	{
		struct sbox_policy p;
		struct sbox_bounds_ctx c = ctx();

		c.hard[7] = 4096;          /* RLIMIT_NOFILE */
		policy_of(&p, "[Sandbox]\nLimitNOFILE=1024\n");
		assert_int_equal(sbox_bounds_check_policy(&s.daemon.bounds, &p, &alice, &c, &err), 0);
		sbox_policy_free(&p);
		policy_of(&p, "[Sandbox]\nLimitNOFILE=8192\n");
		assert_int_equal(sbox_bounds_check_policy(&s.daemon.bounds, &p, &alice, &c, &err), -1);
		assert_non_null(strstr(err.msg, "LimitNOFILE: a hard limit above sboxd's own (4096)"));
		sbox_policy_free(&p);
		/* sboxd's own RLIMIT_NICE is 0: LimitNICE= was always refused.
		 * Up to nice 0 is no privilege. */
		c.hard[RLIMIT_NICE] = 0;
		policy_of(&p, "[Sandbox]\nLimitNICE=+0\n");
		assert_int_equal(sbox_bounds_check_policy(&s.daemon.bounds, &p, &alice, &c, &err), 0);
		sbox_policy_free(&p);
		policy_of(&p, "[Sandbox]\nLimitNICE=-5\n");
		assert_int_equal(sbox_bounds_check_policy(&s.daemon.bounds, &p, &alice, &c, &err), -1);
		assert_non_null(strstr(err.msg, "LimitNICE: a hard limit above 20 (a nice value below 0)"));
		sbox_policy_free(&p);
	}
	/* Turning the filter or no_new_privs off takes the site's word. */
	check(&s, "[Sandbox]\nSeccompProfile=none\n",
	      "SeccompProfile=none is past the site bound AllowNoSeccomp=no (site.conf)");
	check(&s, "[Sandbox]\nNoNewPrivileges=no\n",
	      "NoNewPrivileges=no is past the site bound AllowNewPrivileges=no (site.conf)");
	check(&s, "[Sandbox]\nSeccompProfile=strict\n", NULL);
	sbox_site_free(&s);
}

static void test_resources(void **state)
{
	struct sbox_site s;

	(void)state;
	load_site(&s, "[Bounds]\nMemoryMax=4G\nTasksMax=512\nCPUQuota=400%\nRuntimeMaxSec=1h\n"
		      "AllowedCPUs=0-3\n");
	check(&s, "[Sandbox]\nMemoryMax=2G\nTasksMax=100\nCPUQuota=200%\nRuntimeMaxSec=10min\n"
		  "AllowedCPUs=1-2\n", NULL);
	check(&s, "[Sandbox]\nMemoryMax=8G\n", "MemoryMax=8G is past the site bound MemoryMax=4G (site.conf)");
	check(&s, "[Sandbox]\nTasksMax=100\n",
	      "MemoryMax=infinity is past the site bound MemoryMax=4G (site.conf): set a limit");
	/* 50% of the 8G the test says the host has: 4G, at the bound. */
	check(&s, "[Sandbox]\nMemoryMax=50%\nTasksMax=1\nCPUQuota=1%\nRuntimeMaxSec=1\nAllowedCPUs=0\n",
	      NULL);
	check(&s, "[Sandbox]\nMemoryMax=51%\n", "is past the site bound MemoryMax=4G");
	check(&s, "[Sandbox]\nMemoryMax=1G\nTasksMax=600\n", "TasksMax=600 is past the site bound TasksMax=512");
	check(&s, "[Sandbox]\nMemoryMax=1G\nTasksMax=1\nCPUQuota=800%\n",
	      "CPUQuota=800% is past the site bound CPUQuota=400%");
	check(&s, "[Sandbox]\nMemoryMax=1G\nTasksMax=1\nCPUQuota=100%\nRuntimeMaxSec=2h\n",
	      "RuntimeMaxSec=2h is past the site bound RuntimeMaxSec=1h");
	check(&s, "[Sandbox]\nMemoryMax=1G\nTasksMax=1\nCPUQuota=100%\nRuntimeMaxSec=1\nAllowedCPUs=2-5\n",
	      "AllowedCPUs=2-5 is past the site bound AllowedCPUs=0-3");
	check(&s, "[Sandbox]\nMemoryMax=1G\nTasksMax=1\nCPUQuota=100%\nRuntimeMaxSec=1\nAllowedCPUs=0\n"
		  "CgroupParent=/other\n", "CgroupParent=/other: only root may choose the cgroup");
	sbox_site_free(&s);
}

/* A site's [Defaults] CgroupParent= is the one its clients' sandboxes go
 * under: a policy that ends with it passes, any other parent, or none (a
 * client's empty CgroupParent= clearing the site's), is refused.  Before,
 * every non-root launch was refused once the site set one (found by a
 * hostile review), as docs/cgroups.md advises for sboxd under systemd. */
static void test_site_cgroup_parent(void **state)
{
	struct sbox_site s;

	(void)state;
	load_site(&s, "[Defaults]\nCgroupParent=/system.slice/sbox-jobs.service/\n");
	assert_string_equal(s.daemon.defaults_cgroup_parent, "/system.slice/sbox-jobs.service");
	check(&s, "[Sandbox]\nCgroupParent=/system.slice/sbox-jobs.service\n", NULL);
	check(&s, "[Sandbox]\nCgroupParent=/other\n",
	      "CgroupParent=/other: only root may choose the cgroup through sboxd; the site's is /system.slice/sbox-jobs.service");
	check(&s, "[Sandbox]\n", "CgroupParent=: only root may choose the cgroup through sboxd; the site's is");
	sbox_site_free(&s);
	/* Without one, none is allowed but the default. */
	load_site(&s, "[Daemon]\n");
	assert_null(s.daemon.defaults_cgroup_parent);
	check(&s, "[Sandbox]\n", NULL);
	check(&s, "[Sandbox]\nCgroupParent=/sbox\n", "CgroupParent=/sbox: only root may choose the cgroup through sboxd (");
	sbox_site_free(&s);
}

static void test_binds_and_gpus(void **state)
{
	struct sbox_site s;
	struct sbox_requester bob = { .uid = 1002, .gid = 1002 };

	(void)state;
	load_site(&s, "[Bounds]\nAllowBindPaths=/srv/data /home/\nAllowGPUs=1000 0-1\n"
		      "AllowGPUs=@1001 3\nMaxGPUs=2\n");
	assert_int_equal(sbox_bounds_check_bind(&s.daemon.bounds, "BindPaths", "/srv/data", &err), 0);
	assert_int_equal(sbox_bounds_check_bind(&s.daemon.bounds, "BindPaths", "/srv/data/x", &err), 0);
	assert_int_equal(sbox_bounds_check_bind(&s.daemon.bounds, "BindPaths", "/home/alice", &err), 0);
	assert_int_equal(sbox_bounds_check_bind(&s.daemon.bounds, "BindReadOnlyPaths", "/srv/database",
						&err), -1);
	assert_string_equal(err.msg, "BindReadOnlyPaths: /srv/database is outside the site bound AllowBindPaths=/srv/data ... (site.conf)");
	assert_int_equal(sbox_bounds_check_bind(&s.daemon.bounds, "BindPaths", "/etc", &err), -1);
	/* alice: GPUs 0-1 by uid, 3 by her group 1001; bob: none. */
	assert_true(sbox_bounds_gpu_allowed(&s.daemon.bounds, &alice, 0));
	assert_true(sbox_bounds_gpu_allowed(&s.daemon.bounds, &alice, 1));
	assert_false(sbox_bounds_gpu_allowed(&s.daemon.bounds, &alice, 2));
	assert_true(sbox_bounds_gpu_allowed(&s.daemon.bounds, &alice, 3));
	assert_false(sbox_bounds_gpu_allowed(&s.daemon.bounds, &bob, 0));
	assert_true(sbox_bounds_gpu_allowed(&s.daemon.bounds, &root, 2));
	{
		struct sbox_policy p;
		struct sbox_bounds_ctx c = ctx();

		c.n_gpus = 3;
		policy_of(&p, "[Sandbox]\n");
		assert_int_equal(sbox_bounds_check_policy(&s.daemon.bounds, &p, &alice, &c, &err), -1);
		assert_string_equal(err.msg, "3 GPUs is past the site bound MaxGPUs=2 (site.conf)");
		sbox_policy_free(&p);
	}
	sbox_site_free(&s);

	/* No AllowBindPaths=: whatever the client itself could open.  No
	 * AllowGPUs=: every GPU. */
	load_site(&s, "[Bounds]\n");
	assert_int_equal(sbox_bounds_check_bind(&s.daemon.bounds, "BindPaths", "/etc", &err), 0);
	assert_true(sbox_bounds_gpu_allowed(&s.daemon.bounds, &bob, 5));
	sbox_site_free(&s);
	load_site(&s, "[Bounds]\nAllowBindPaths=\n");
	assert_int_equal(sbox_bounds_check_bind(&s.daemon.bounds, "BindPaths", "/srv", &err), -1);
	sbox_site_free(&s);

	assert_true(sbox_path_below("/a/b", "/"));
	assert_true(sbox_path_below("/a", "/a/"));
	assert_false(sbox_path_below("/ab", "/a"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daemon_section),
		cmocka_unit_test(test_defaults_section),
		cmocka_unit_test(test_network_identity_privileges),
		cmocka_unit_test(test_long_group_entry),
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_site_cgroup_parent),
		cmocka_unit_test(test_binds_and_gpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
