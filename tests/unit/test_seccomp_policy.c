/* SPDX-License-Identifier: MIT */
/*
 * The security area's policy and mechanisms that need no sandbox: directive
 * syntax (capabilities, system call filter, limits, ids), the identity
 * resolution of the parent process, and the compiled system call filter —
 * installed in a forked child (no_new_privs needs no privilege), which then
 * makes real system calls with harmless bad arguments: EBADF/EINVAL/ESRCH
 * mean "reached the kernel", EPERM (or the chosen errno) means "filtered".
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "policy/directives.h"
#include "policy/dir_security.h"
#include "policy/syscall_groups.h"
#include "sandbox/identity.h"
#include "sandbox/seccomp.h"
#include "sandbox/seccomp_prebuilt.h"

#include "tests/unit/valgrind_skip.h"

/* Valgrind doesn't implement seccomp(2) filters: under it a filtered call
 * runs unfiltered, so the tests that install a filter can't hold there.
 * Those tests (and only those) are skipped, and counted as skips. */
#define VALGRIND_WHY "it has no seccomp filters"

#define BIT(c) (UINT64_C(1) << (c))

static void set_ok(struct sbox_policy *p, const char *name, const char *value)
{
	struct sbox_err err = { 0 };

	if (sbox_policy_set(p, name, value, &err) != 0)
		fail_msg("%s=%s: %s", name, value, err.msg);
}

static void set_bad(struct sbox_policy *p, const char *name, const char *value, const char *msg)
{
	struct sbox_err err = { 0 };

	if (sbox_policy_set(p, name, value, &err) == 0)
		fail_msg("%s=%s was accepted", name, value);
	if (!strstr(err.msg, msg))
		fail_msg("%s=%s: '%s' lacks '%s'", name, value, err.msg, msg);
}

static char *print_one(const struct sbox_policy *p, const char *name)
{
	const struct sbox_directive *d = sbox_directive_find(name);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(d);
	assert_non_null(f);
	d->print(p, d, f);
	fclose(f);
	return buf;
}

static void assert_printed(const struct sbox_policy *p, const char *name, const char *want)
{
	char *got = print_one(p, name);

	assert_string_equal(got, want);
	free(got);
}

/* The defaults are the safe ones. */

static void test_defaults(void **state)
{
	struct sbox_policy p;
	struct sbox_err err = { 0 };

	(void)state;
	sbox_policy_init(&p);
	assert_int_equal(p.sec.cap_bounding, 0);
	assert_int_equal(p.sec.cap_ambient, 0);
	assert_true(p.sec.no_new_privs);
	assert_int_equal(p.sec.seccomp, SBOX_SECCOMP_DEFAULT);
	assert_int_equal(p.sec.syscall_errno, EPERM);
	assert_null(p.sec.user);
	for (int r = 0; r < SBOX_RLIMIT_COUNT; r++)
		assert_false(p.sec.rlimits[r].set);
	assert_int_equal(sbox_policy_validate(&p, &err), 0);
	assert_printed(&p, "CapabilityBoundingSet", "CapabilityBoundingSet=\n");
	assert_printed(&p, "NoNewPrivileges", "NoNewPrivileges=yes\n");
	assert_printed(&p, "SeccompProfile", "SeccompProfile=default\n");
	assert_printed(&p, "SystemCallErrorNumber", "SystemCallErrorNumber=EPERM\n");
	assert_printed(&p, "LimitNOFILE", "LimitNOFILE=\n");
	sbox_policy_free(&p);
}

/* Capability directives. */

static void test_capabilities(void **state)
{
	struct sbox_policy p;
	struct sbox_err err = { 0 };

	(void)state;
	sbox_policy_init(&p);
	set_ok(&p, "CapabilityBoundingSet", "CAP_NET_RAW cap_chown");
	assert_int_equal(p.sec.cap_bounding, BIT(CAP_NET_RAW) | BIT(CAP_CHOWN));
	/* Lines merge, as in systemd. */
	set_ok(&p, "CapabilityBoundingSet", "CAP_KILL");
	assert_int_equal(p.sec.cap_bounding, BIT(CAP_NET_RAW) | BIT(CAP_CHOWN) | BIT(CAP_KILL));
	assert_printed(&p, "CapabilityBoundingSet", "CapabilityBoundingSet=CAP_CHOWN CAP_KILL CAP_NET_RAW\n");
	/* "" resets to none. */
	set_ok(&p, "CapabilityBoundingSet", "");
	assert_int_equal(p.sec.cap_bounding, 0);
	/* "~": all but those; printed the short way round. */
	set_ok(&p, "CapabilityBoundingSet", "~CAP_SYS_ADMIN CAP_SYS_MODULE");
	assert_int_equal(p.sec.cap_bounding, sbox_caps_all() & ~(BIT(CAP_SYS_ADMIN) | BIT(CAP_SYS_MODULE)));
	assert_printed(&p, "CapabilityBoundingSet", "CapabilityBoundingSet=~CAP_SYS_MODULE CAP_SYS_ADMIN\n");
	set_ok(&p, "CapabilityBoundingSet", "");
	set_bad(&p, "CapabilityBoundingSet", "CAP_NOPE", "'CAP_NOPE' is not a capability name");
	set_bad(&p, "CapabilityBoundingSet", "21", "'21' is not a capability name");
	set_bad(&p, "CapabilityBoundingSet", "CAP_KILL ~CAP_CHOWN", "'~CAP_CHOWN'");

	/* Ambient outside the bounding set can't be held: refused. */
	set_ok(&p, "AmbientCapabilities", "CAP_NET_BIND_SERVICE");
	assert_int_equal(sbox_policy_validate(&p, &err), -1);
	assert_non_null(strstr(err.msg, "AmbientCapabilities=CAP_NET_BIND_SERVICE: not in CapabilityBoundingSet="));
	/* --cap-add sets both. */
	set_ok(&p, "AmbientCapabilities", "");
	assert_int_equal(sbox_dir_set_cap_add(&p, "CAP_NET_BIND_SERVICE", &err), 0);
	assert_int_equal(p.sec.cap_ambient, BIT(CAP_NET_BIND_SERVICE));
	assert_int_equal(p.sec.cap_bounding, BIT(CAP_NET_BIND_SERVICE));
	assert_int_equal(sbox_policy_validate(&p, &err), 0);
	assert_int_equal(sbox_dir_set_cap_add(&p, "~CAP_KILL", &err), -1);
	sbox_policy_free(&p);
}

/* User=, Group=, SupplementaryGroups=, NoNewPrivileges= */

static void test_identity_syntax(void **state)
{
	struct sbox_policy p;

	(void)state;
	sbox_policy_init(&p);
	set_ok(&p, "User", "nobody");
	assert_string_equal(p.sec.user, "nobody");
	set_ok(&p, "User", "1000");
	set_ok(&p, "User", "svc-user.1$");
	set_ok(&p, "User", "");
	assert_null(p.sec.user);
	set_bad(&p, "User", "-rf", "is not a user name or number");
	set_bad(&p, "User", "a b", "is not a user name or number");
	set_bad(&p, "User", "4294967295", "reserved");
	set_bad(&p, "Group", "65535", "reserved");
	set_ok(&p, "Group", "video");
	set_ok(&p, "SupplementaryGroups", "audio 44");
	set_ok(&p, "SupplementaryGroups", "render");
	assert_int_equal(p.sec.supp_groups.n, 3);
	set_ok(&p, "SupplementaryGroups", "");
	assert_int_equal(p.sec.supp_groups.n, 0);
	set_ok(&p, "NoNewPrivileges", "no");
	assert_false(p.sec.no_new_privs);
	set_bad(&p, "NoNewPrivileges", "maybe", "not a boolean");
	sbox_policy_free(&p);
}

/* The parent's resolution (P1): no kernel state changes, any user may run it. */
static void test_identity_resolve(void **state)
{
	struct sbox_policy p;
	struct sbox_identity id;
	struct sbox_err err = { 0 };
	struct sbox_launch root = { .caller_uid = 0, .caller_gid = 0 };
	struct sbox_launch client = { .caller_uid = 1234, .caller_gid = 4321 };
	struct passwd *nobody = getpwnam("nobody");

	(void)state;
	sbox_policy_init(&p);
	/* Root asked and named nobody: not root. */
	assert_int_equal(sbox_identity_resolve(&id, &p, &root, false, 0, 0, &err), 0);
	assert_int_equal(id.uid, nobody ? nobody->pw_uid : 65534);
	assert_int_not_equal(id.uid, 0);
	assert_true(id.set_groups);
	assert_int_equal(id.n_groups, 1);
	assert_int_equal(id.groups[0], id.gid);
	/* Its login groups come apart (P5a): nobody's own, and those the
	 * group database gives it. */
	if (nobody) {
		gid_t v[256];
		int n = 256;

		assert_string_equal(id.login, nobody->pw_name);
		assert_true(getgrouplist(nobody->pw_name, id.gid, v, &n) >= 0);
		assert_int_equal(sbox_identity_resolve_groups(&id, &err), 0);
		assert_int_equal(id.n_groups, (size_t)n);
		assert_int_equal(id.groups[0], id.gid);
	}
	sbox_identity_free(&id);
	/* A privileged launcher acting for a client: the client. */
	assert_int_equal(sbox_identity_resolve(&id, &p, &client, false, 0, 0, &err), 0);
	assert_int_equal(id.uid, 1234);
	assert_int_equal(id.gid, 4321);
	sbox_identity_free(&id);
	/* Root only when named. */
	set_ok(&p, "User", "root");
	assert_int_equal(sbox_identity_resolve(&id, &p, &root, false, 0, 0, &err), 0);
	assert_int_equal(id.uid, 0);
	assert_int_equal(id.gid, 0);
	sbox_identity_free(&id);
	/* A number without a passwd entry: its own group. */
	set_ok(&p, "User", "424242");
	set_ok(&p, "SupplementaryGroups", "4243 4244");
	assert_int_equal(sbox_identity_resolve(&id, &p, &root, false, 0, 0, &err), 0);
	assert_int_equal(id.uid, 424242);
	assert_int_equal(id.gid, 424242);
	assert_int_equal(id.n_groups, 3);
	assert_int_equal(id.groups[1], 4243);
	/* No passwd entry: no login groups to add. */
	assert_null(id.login);
	assert_int_equal(sbox_identity_resolve_groups(&id, &err), 0);
	assert_int_equal(id.n_groups, 3);
	sbox_identity_free(&id);
	set_ok(&p, "SupplementaryGroups", "");
	set_ok(&p, "User", "no-such-user-sbox");
	assert_int_equal(sbox_identity_resolve(&id, &p, &root, false, 0, 0, &err), -1);
	assert_non_null(strstr(err.msg, "User=no-such-user-sbox: no such user"));
	set_ok(&p, "User", "");
	set_ok(&p, "Group", "no-such-group-sbox");
	assert_int_equal(sbox_identity_resolve(&id, &p, &root, false, 0, 0, &err), -1);
	assert_non_null(strstr(err.msg, "Group=no-such-group-sbox: no such group"));
	set_ok(&p, "Group", "");

	/* In a user namespace: the mapped caller, nothing else. */
	assert_int_equal(sbox_identity_resolve(&id, &p, &client, true, 1000, 1001, &err), 0);
	assert_int_equal(id.uid, 1000);
	assert_int_equal(id.gid, 1001);
	assert_false(id.set_groups);
	sbox_identity_free(&id);
	set_ok(&p, "User", "0");
	assert_int_equal(sbox_identity_resolve(&id, &p, &client, true, 1000, 1001, &err), -1);
	assert_non_null(strstr(err.msg, "only the caller's uid 1000 is mapped"));
	set_ok(&p, "User", "1000");
	assert_int_equal(sbox_identity_resolve(&id, &p, &client, true, 1000, 1001, &err), 0);
	sbox_identity_free(&id);
	set_ok(&p, "SupplementaryGroups", "44");
	assert_int_equal(sbox_identity_resolve(&id, &p, &client, true, 1000, 1001, &err), -1);
	assert_non_null(strstr(err.msg, "denies setgroups"));
	set_ok(&p, "SupplementaryGroups", "");
	/* Root with PrivateUsers=yes maps 0 to the host's root: only if named. */
	set_ok(&p, "User", "");
	assert_int_equal(sbox_identity_resolve(&id, &p, &root, true, 0, 0, &err), -1);
	assert_non_null(strstr(err.msg, "set User=root to mean that"));
	set_ok(&p, "User", "root");
	assert_int_equal(sbox_identity_resolve(&id, &p, &root, true, 0, 0, &err), 0);
	assert_int_equal(id.uid, 0);
	sbox_identity_free(&id);
	sbox_policy_free(&p);
}

/* Limit*= */

static void test_rlimits(void **state)
{
	struct sbox_policy p;
	struct sbox_rlimit l;

	(void)state;
	sbox_policy_init(&p);
	set_ok(&p, "LimitNOFILE", "1024:524288");
	assert_true(p.sec.rlimits[RLIMIT_NOFILE].set);
	assert_int_equal(p.sec.rlimits[RLIMIT_NOFILE].soft, 1024);
	assert_int_equal(p.sec.rlimits[RLIMIT_NOFILE].hard, 524288);
	assert_printed(&p, "LimitNOFILE", "LimitNOFILE=1024:524288\n");
	set_ok(&p, "LimitNOFILE", "");
	assert_false(p.sec.rlimits[RLIMIT_NOFILE].set);
	set_ok(&p, "LimitAS", "4G");
	assert_int_equal(p.sec.rlimits[RLIMIT_AS].soft, UINT64_C(4) << 30);
	assert_printed(&p, "LimitAS", "LimitAS=4G\n");
	set_ok(&p, "LimitSTACK", "8M:infinity");
	assert_int_equal(p.sec.rlimits[RLIMIT_STACK].hard, UINT64_MAX);
	assert_printed(&p, "LimitSTACK", "LimitSTACK=8M:infinity\n");
	/* CPU: seconds, a time span rounded up. */
	set_ok(&p, "LimitCPU", "1min 30s");
	assert_int_equal(p.sec.rlimits[RLIMIT_CPU].soft, 90);
	set_ok(&p, "LimitCPU", "1500ms");
	assert_int_equal(p.sec.rlimits[RLIMIT_CPU].soft, 2);
	/* RTTIME: a bare number is microseconds. */
	set_ok(&p, "LimitRTTIME", "5000");
	assert_int_equal(p.sec.rlimits[RLIMIT_RTTIME].soft, 5000);
	set_ok(&p, "LimitRTTIME", "2ms");
	assert_int_equal(p.sec.rlimits[RLIMIT_RTTIME].soft, 2000);
	/* NICE: a signed nice value or the raw 0..40. */
	set_ok(&p, "LimitNICE", "-5");
	assert_int_equal(p.sec.rlimits[RLIMIT_NICE].soft, 25);
	set_ok(&p, "LimitNICE", "+19");
	assert_int_equal(p.sec.rlimits[RLIMIT_NICE].soft, 1);
	set_ok(&p, "LimitNICE", "40");
	set_bad(&p, "LimitNICE", "41", "is not a limit");
	set_bad(&p, "LimitNICE", "-21", "is not a limit");
	set_bad(&p, "LimitNOFILE", "10:5", "soft limit is above the hard limit");
	set_bad(&p, "LimitNOFILE", "1K", "is not a limit");
	set_bad(&p, "LimitCORE", "lots", "is not a limit");
	assert_int_equal(sbox_parse_rlimit(RLIMIT_CORE, "infinity", &l), 0);
	assert_int_equal(l.soft, UINT64_MAX);
	assert_string_equal(sbox_rlimit_directive(RLIMIT_MEMLOCK), "LimitMEMLOCK");
	sbox_policy_free(&p);
}

/* SeccompProfile=, SystemCallFilter=, SystemCallErrorNumber= */

static void test_filter_syntax(void **state)
{
	struct sbox_policy p;
	struct sbox_err err = { 0 };
	int e;

	(void)state;
	sbox_policy_init(&p);
	set_ok(&p, "SystemCallFilter", "~@clock ptrace:ENOSYS");
	set_ok(&p, "SystemCallFilter", "kcmp");
	assert_int_equal(p.sec.syscall_filter.n, 3);
	assert_string_equal(p.sec.syscall_filter.v[0], "~@clock");
	assert_string_equal(p.sec.syscall_filter.v[1], "~ptrace:ENOSYS");
	assert_string_equal(p.sec.syscall_filter.v[2], "kcmp");
	assert_printed(&p, "SystemCallFilter",
		       "SystemCallFilter=~@clock\nSystemCallFilter=~ptrace:ENOSYS\nSystemCallFilter=kcmp\n");
	set_bad(&p, "SystemCallFilter", "no_such_call", "unknown system call 'no_such_call'");
	set_bad(&p, "SystemCallFilter", "~@nope", "unknown system call group '@nope'");
	set_bad(&p, "SystemCallFilter", "read:EPERM", "an errno only goes with a denied call");
	set_bad(&p, "SystemCallFilter", "~read:EWHAT", "'EWHAT' is not an errno");
	assert_int_equal(sbox_policy_validate(&p, &err), 0);
	/* An allow-list group under the default profile would mean nothing. */
	set_ok(&p, "SystemCallFilter", "@system-service");
	assert_int_equal(sbox_policy_validate(&p, &err), -1);
	assert_non_null(strstr(err.msg, "use SeccompProfile=strict"));
	set_ok(&p, "SeccompProfile", "strict");
	assert_int_equal(sbox_policy_validate(&p, &err), 0);
	set_ok(&p, "SeccompProfile", "none");
	assert_int_equal(sbox_policy_validate(&p, &err), -1);
	assert_non_null(strstr(err.msg, "SeccompProfile=none has none"));
	set_ok(&p, "SystemCallFilter", "");
	assert_int_equal(sbox_policy_validate(&p, &err), 0);
	set_bad(&p, "SeccompProfile", "docker", "default, strict or none");

	set_ok(&p, "SystemCallErrorNumber", "enosys");
	assert_int_equal(p.sec.syscall_errno, ENOSYS);
	assert_printed(&p, "SystemCallErrorNumber", "SystemCallErrorNumber=ENOSYS\n");
	set_ok(&p, "SystemCallErrorNumber", "kill");
	assert_int_equal(p.sec.syscall_errno, 0);
	assert_printed(&p, "SystemCallErrorNumber", "SystemCallErrorNumber=kill\n");
	set_ok(&p, "SystemCallErrorNumber", "200");
	assert_printed(&p, "SystemCallErrorNumber", "SystemCallErrorNumber=200\n");
	set_bad(&p, "SystemCallErrorNumber", "4096", "is not an errno name");
	set_bad(&p, "SystemCallErrorNumber", "0", "is not an errno name");
	assert_int_equal(sbox_parse_errno("EACCES", &e), 0);
	assert_int_equal(e, EACCES);
	assert_string_equal(sbox_errno_name(EPERM), "EPERM");
	sbox_policy_free(&p);
}

static int count_name(const char *name, void *arg)
{
	(void)name;
	(*(size_t *)arg)++;
	return 0;
}

static void test_groups(void **state)
{
	(void)state;
	assert_non_null(sbox_syscall_group_find("@mount"));
	assert_null(sbox_syscall_group_find("@nope"));
	assert_true(sbox_syscall_group_has("@mount", "mount"));
	assert_true(sbox_syscall_group_has("@mount", "open_tree"));
	/* Newer than libseccomp 2.5, and named by its number (syscall_names.c):
	 * it clones a mount with MOUNT_ATTR_RDONLY cleared. */
	assert_true(sbox_syscall_group_has("@mount", "open_tree_attr"));
	assert_true(sbox_syscall_group_has("@keyring", "keyctl"));
	/* Nested groups expand. */
	assert_true(sbox_syscall_group_has("@system-service", "read"));
	assert_true(sbox_syscall_group_has("@system-service", "keyctl"));
	assert_true(sbox_syscall_group_has("@privileged", "settimeofday"));
	assert_false(sbox_syscall_group_has("@system-service", "mount"));
	assert_false(sbox_syscall_group_has("@system-service", "reboot"));
	/* Every group expands (a nested name that is no group fails it). */
	for (size_t i = 0; i < sbox_n_syscall_groups; i++) {
		size_t n = 0;

		assert_int_equal(sbox_syscall_group_expand(sbox_syscall_groups[i].name, count_name, &n), 0);
		assert_true(n > 0);
	}
}

/* A login in as many groups as the kernel allows, from a group database of
 * the test's own (bind-mounted over /etc/group in a mount namespace of a
 * child's: root only): every group once, the primary first, the rest in
 * the database's order (descending gids), a gid listed twice kept once
 * (glibc drops the primary's second listing itself); one group more is
 * E2BIG.  Checked in the child, whose exit status says which check
 * failed. */
#define BIG_USER "sboxbig"
#define BIG_UID 23460
#define BIG_BASE 100000u

/* The i-th group's gid, descending: an order kept by position can't be
 * told from one sorted by gid otherwise. */
static unsigned big_gid(unsigned i, unsigned n_groups)
{
	return BIG_BASE + n_groups - 1 - i;
}

static int big_db(const char *dir, unsigned n_groups)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/passwd", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "root:x:0:0::/root:/bin/sh\n%s:x:%u:%u::/:/bin/false\n", BIG_USER, BIG_UID, BIG_UID);
	if (fclose(f) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/group", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "root:x:0:\n%s:x:%u:\n", BIG_USER, BIG_UID);
	/* The primary again, by another name; then every group, and one gid
	 * listed again at the end. */
	fprintf(f, "again:x:%u:%s\n", BIG_UID, BIG_USER);
	for (unsigned i = 0; i < n_groups; i++)
		fprintf(f, "g%u:x:%u:%s\n", i, big_gid(i, n_groups), BIG_USER);
	fprintf(f, "twice:x:%u:%s\n", big_gid(7, n_groups), BIG_USER);
	return fclose(f) == 0 ? 0 : -1;
}

static int big_login_check(const char *dir, unsigned n_groups)
{
	struct sbox_policy p;
	struct sbox_identity id;
	struct sbox_err err = { 0 };
	struct sbox_launch root = { .caller_uid = 0, .caller_gid = 0 };
	char src[512];
	int rc;

	if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
		return 10;
	snprintf(src, sizeof(src), "%s/passwd", dir);
	if (mount(src, "/etc/passwd", "none", MS_BIND, NULL) < 0)
		return 11;
	snprintf(src, sizeof(src), "%s/group", dir);
	if (mount(src, "/etc/group", "none", MS_BIND, NULL) < 0)
		return 12;
	sbox_policy_init(&p);
	if (sbox_policy_set(&p, "User", BIG_USER, &err) < 0 ||
	    sbox_identity_resolve(&id, &p, &root, false, 0, 0, &err) < 0)
		return 13;
	rc = sbox_identity_resolve_groups(&id, &err);
	if (n_groups + 1 > (unsigned)sysconf(_SC_NGROUPS_MAX)) {
		/* One past the bound: refused, with the count. */
		char want[64];

		snprintf(want, sizeof(want), "would have %u groups", n_groups + 1);
		if (rc == 0 || err.errnum != E2BIG || !strstr(err.msg, want))
			return 14;
		return 0;
	}
	if (rc < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 15;
	}
	if (id.n_groups != n_groups + 1 || id.groups[0] != BIG_UID)
		return 16;
	for (unsigned i = 0; i < n_groups; i++)
		if (id.groups[i + 1] != big_gid(i, n_groups))
			return 17;
	sbox_identity_free(&id);
	sbox_policy_free(&p);
	return 0;
}

static void test_login_in_every_group(void **state)
{
	char dir[] = "/tmp/sbox-groups.XXXXXX", cmd[600];
	long max = sysconf(_SC_NGROUPS_MAX);
	/* The primary and max - 1 more: exactly the bound; then one past. */
	unsigned counts[] = { (unsigned)max - 1, (unsigned)max };

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	for (size_t c = 0; c < 2; c++) {
		int status;
		pid_t pid;

		assert_int_equal(big_db(dir, counts[c]), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			_exit(big_login_check(dir, counts[c]));
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("%u groups: check %d failed", counts[c], WEXITSTATUS(status));
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* The compiled filter, installed in a child. */

typedef long (*probe_fn)(void);

/* "ok", an errno name like "EPERM" (from strerrorname_np), or "killed:N". */
static char *run_filtered(const char *const *settings, probe_fn fn)
{
	struct sbox_policy p;
	struct sbox_seccomp f;
	struct sbox_err err = { 0 };
	char buf[64] = "", *out;
	int pfd[2], status;
	pid_t pid;
	ssize_t n;

	sbox_policy_init(&p);
	for (size_t i = 0; settings && settings[i]; i += 2)
		set_ok(&p, settings[i], settings[i + 1]);
	if (sbox_policy_validate(&p, &err) != 0)
		fail_msg("%s", err.msg);
	if (sbox_seccomp_compile(&f, &p.sec, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		long r;
		int e;

		/* A crash is the child's own death, not cmocka's longjmp back
		 * into the test runner under this filter. */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGSYS, SIG_DFL);
		close(pfd[0]);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || sbox_seccomp_load(&f, &err) < 0)
			_exit(99);
		errno = 0;
		r = fn();
		e = errno;
		/* _exit: no sanitizer exit hooks run under the filter. */
		n = write(pfd[1], r >= 0 ? "ok" : strerrorname_np(e), r >= 0 ? 2 : strlen(strerrorname_np(e)));
		_exit(n > 0 ? 0 : 98);
	}
	close(pfd[1]);
	n = read(pfd[0], buf, sizeof(buf) - 1);
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		snprintf(buf, sizeof(buf), "killed:%d", WTERMSIG(status));
	else if (WEXITSTATUS(status) != 0 || n <= 0)
		snprintf(buf, sizeof(buf), "error:%d", WEXITSTATUS(status));
	sbox_seccomp_free(&f);
	sbox_policy_free(&p);
	out = strdup(buf);
	assert_non_null(out);
	return out;
}

#define assert_outcome(settings, fn, want)                                               \
	do {                                                                             \
		char *got_ = run_filtered(settings, fn);                                 \
		if (strcmp(got_, want) != 0)                                             \
			fail_msg("%s: got %s, want %s", #fn, got_, want);                \
		free(got_);                                                              \
	} while (0)

static long p_getpid(void) { return syscall(SYS_getpid); }
static long p_ptrace(void) { return syscall(SYS_ptrace, 2L /* PEEKDATA */, 0x7fffffffL, NULL, NULL); }
static long p_unshare(void) { return syscall(SYS_unshare, -1L); }
static long p_clone_ns(void)
{
	/* CLONE_THREAD without CLONE_SIGHAND: EINVAL once past the filter. */
	return syscall(SYS_clone, (unsigned long)(CLONE_NEWNET | CLONE_THREAD), NULL, NULL, NULL, NULL);
}
static long p_clone_parent(void)
{
	/* The same EINVAL past the filter: no process is made. */
	return syscall(SYS_clone, (unsigned long)(CLONE_PARENT | CLONE_THREAD), NULL, NULL, NULL,
		       NULL);
}
static long p_clone3(void) { return syscall(SYS_clone3, NULL, 0UL); }
static long p_tiocsti(void) { return syscall(SYS_ioctl, -1, (unsigned long)TIOCSTI, NULL); }
static long p_tiocsti_hi(void) { return syscall(SYS_ioctl, -1, (unsigned long)TIOCSTI | (1UL << 32), NULL); }
static long p_tioclinux(void) { return syscall(SYS_ioctl, -1, (unsigned long)TIOCLINUX, NULL); }
static long p_tiocsetd(void) { return syscall(SYS_ioctl, -1, (unsigned long)TIOCSETD, NULL); }
static long p_tiocgwinsz(void) { return syscall(SYS_ioctl, -1, (unsigned long)TIOCGWINSZ, NULL); }
static long p_pers_query(void) { return syscall(SYS_personality, 0xffffffffUL); }
static long p_pers_linux32(void) { return syscall(SYS_personality, (unsigned long)PER_LINUX32); }
static long p_pers_noaslr(void) { return syscall(SYS_personality, (unsigned long)ADDR_NO_RANDOMIZE); }
static long p_pers_hibit(void) { return syscall(SYS_personality, 0x80400000UL); }
static long p_pers_upper(void) { return syscall(SYS_personality, 0x100000000UL | READ_IMPLIES_EXEC); }
static long p_sock_alg(void) { return syscall(SYS_socket, AF_ALG, SOCK_SEQPACKET, 0); }
static long p_sock_vsock(void) { return syscall(SYS_socket, AF_VSOCK | (1L << 32), SOCK_STREAM, 0); }
static long p_sock_unix(void) { return syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0); }
static long p_keyctl(void) { return syscall(SYS_keyctl, -1, 0L, 0L, 0L, 0L); }
static long p_bpf(void) { return syscall(SYS_bpf, -1, NULL, 0U); }
static long p_mount(void) { return syscall(SYS_mount, NULL, "/nonexistent-sbox", NULL, 0UL, NULL); }
static long p_getcwd(void) { char b[8]; return syscall(SYS_getcwd, b, 0UL); }
static long p_process_mrelease(void) { return syscall(448 /* process_mrelease */, -1, 0U); }
static long p_open_tree_attr(void) { return syscall(467 /* open_tree_attr */, -1, NULL, 0U, NULL, 0UL); }
#if defined(__x86_64__)
static long p_x32(void) { return syscall(0x40000000L | 39); }
static long p_int80(void)
{
	long r = 20;   /* i386 getpid */

	__asm__ volatile("int $0x80" : "+a"(r) : : "r8", "r9", "r10", "r11", "memory", "cc");
	return (int)r < 0 ? (errno = -(int)r, -1) : r;
}
#endif

#if defined(__x86_64__)
static bool int80_unfiltered_faults(void)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		p_int80();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}
#endif

static void test_filter_default(void **state)
{
	(void)state;
	skip_under_valgrind(VALGRIND_WHY);
	assert_outcome(NULL, p_getpid, "ok");
	assert_outcome(NULL, p_ptrace, "EPERM");
	assert_outcome(NULL, p_unshare, "EPERM");
	assert_outcome(NULL, p_clone_ns, "EPERM");
	assert_outcome(NULL, p_clone_parent, "EPERM");
	assert_outcome(NULL, p_clone3, "ENOSYS");
	assert_outcome(NULL, p_keyctl, "EPERM");
	assert_outcome(NULL, p_bpf, "EPERM");
	assert_outcome(NULL, p_mount, "EPERM");
#if defined(__x86_64__) || defined(__aarch64__)
	assert_outcome(NULL, p_open_tree_attr, "EPERM");
#endif
	/* ioctl: TIOCSTI, TIOCLINUX and TIOCSETD only, compared on 32 bits. */
	assert_outcome(NULL, p_tiocsti, "EPERM");
	assert_outcome(NULL, p_tiocsti_hi, "EPERM");
	assert_outcome(NULL, p_tioclinux, "EPERM");
	assert_outcome(NULL, p_tiocsetd, "EPERM");
	assert_outcome(NULL, p_tiocgwinsz, "EBADF");
	/* personality: Docker's allowed set, nothing else. */
	assert_outcome(NULL, p_pers_query, "ok");
	assert_outcome(NULL, p_pers_linux32, "ok");
	assert_outcome(NULL, p_pers_noaslr, "EPERM");
	assert_outcome(NULL, p_pers_hibit, "EPERM");
	assert_outcome(NULL, p_pers_upper, "EPERM");
	/* Socket families. */
	assert_outcome(NULL, p_sock_alg, "EPERM");
	assert_outcome(NULL, p_sock_vsock, "EPERM");
	assert_outcome(NULL, p_sock_unix, "ok");
	/* Not in the deny list: reaches the kernel (EBADF). */
	assert_outcome(NULL, p_process_mrelease, "EBADF");
#if defined(__x86_64__)
	/* Other architectures: killed (SIGSYS). */
	assert_outcome(NULL, p_x32, "killed:31");
	/* A kernel without IA32 emulation (or with it disabled at boot)
	 * faults on int 0x80 before any filter sees it: the call never runs. */
	assert_outcome(NULL, p_int80, int80_unfiltered_faults() ? "killed:11" : "killed:31");
#endif
	/* none: nothing is filtered. */
	{
		const char *const none[] = { "SeccompProfile", "none", NULL };
		struct sbox_policy p;
		struct sbox_seccomp f;
		struct sbox_err err = { 0 };

		sbox_policy_init(&p);
		set_ok(&p, "SeccompProfile", "none");
		assert_int_equal(sbox_seccomp_compile(&f, &p.sec, &err), 0);
		assert_int_equal(f.n, 0);
		sbox_policy_free(&p);
		assert_outcome(none, p_ptrace, "ESRCH");
	}
}

static void test_filter_edits(void **state)
{
	const char *const allow_ptrace[] = { "SystemCallFilter", "ptrace", NULL };
	const char *const allow_ioctl[] = { "SystemCallFilter", "ioctl", NULL };
	const char *const allow_clone3[] = { "SystemCallFilter", "clone3", NULL };
	const char *const deny_getcwd[] = { "SystemCallFilter", "~getcwd:ENOSYS", NULL };
	const char *const deny_then_allow[] = { "SystemCallFilter", "~getcwd",
						"SystemCallFilter", "getcwd", NULL };
	const char *const eacces[] = { "SystemCallErrorNumber", "EACCES", NULL };
	const char *const kill[] = { "SystemCallErrorNumber", "kill", NULL };

	(void)state;
	skip_under_valgrind(VALGRIND_WHY);
	assert_outcome(allow_ptrace, p_ptrace, "ESRCH");
	assert_outcome(allow_ptrace, p_keyctl, "EPERM");
	assert_outcome(allow_ioctl, p_tiocsti, "EBADF");
	assert_outcome(allow_clone3, p_clone3, "EINVAL");
	assert_outcome(deny_getcwd, p_getcwd, "ENOSYS");
	assert_outcome(NULL, p_getcwd, "ERANGE");
	assert_outcome(deny_then_allow, p_getcwd, "ERANGE");
	assert_outcome(eacces, p_ptrace, "EACCES");
	assert_outcome(eacces, p_clone3, "ENOSYS");
	assert_outcome(kill, p_ptrace, "killed:31");
	assert_outcome(kill, p_tiocsti, "killed:31");
	assert_outcome(kill, p_getpid, "ok");
}

/* A site that keeps the filter on (AllowNoSeccomp=no) must see the entries
 * that edit its deny layer away: exact names the profile refuses or whose
 * arguments it checks; not denials, groups, or calls it never refused. */
static void assert_lifts(const char *profile, const char *const *entries, const char *want)
{
	struct sbox_policy p;
	struct sbox_err err = { 0 };
	char got[128] = "";
	int r;

	sbox_policy_init(&p);
	if (profile)
		set_ok(&p, "SeccompProfile", profile);
	for (size_t i = 0; entries[i]; i++)
		set_ok(&p, "SystemCallFilter", entries[i]);
	r = sbox_seccomp_lifts_deny(&p.sec, NULL, got, sizeof(got), &err);
	if (want) {
		assert_int_equal(r, 1);
		assert_string_equal(got, want);
	} else {
		assert_int_equal(r, 0);
	}
	sbox_policy_free(&p);
}

static void test_filter_lifts_deny(void **state)
{
	(void)state;
	assert_lifts(NULL, (const char *const[]){ "unshare", NULL }, "unshare");
	assert_lifts(NULL, (const char *const[]){ "read", "bpf", NULL }, "bpf");
	assert_lifts(NULL, (const char *const[]){ "ioctl", NULL }, "ioctl");       /* TIOCSTI */
	assert_lifts(NULL, (const char *const[]){ "clone", NULL }, "clone");       /* CLONE_NEWUSER */
	assert_lifts(NULL, (const char *const[]){ "~unshare", "unshare", NULL }, "unshare");
	assert_lifts("strict", (const char *const[]){ "ptrace", NULL }, "ptrace");
	assert_lifts(NULL, (const char *const[]){ "read", "getpid", NULL }, NULL);
	assert_lifts(NULL, (const char *const[]){ "~getcwd:ENOSYS", "~ptrace", NULL }, NULL);
	assert_lifts(NULL, (const char *const[]){ "@system-service", "@mount", NULL }, NULL);
	assert_lifts("strict", (const char *const[]){ "sethostname", "@default", NULL }, NULL);
}

/* The site's own entries ([Defaults]) are not the client's lifts. */
static void test_filter_lifts_deny_site(void **state)
{
	struct sbox_policy p;
	struct sbox_strv site = { 0 };
	struct sbox_err err = { 0 };
	char got[128] = "";

	(void)state;
	sbox_policy_init(&p);
	set_ok(&p, "SystemCallFilter", "ptrace");
	set_ok(&p, "SystemCallFilter", "unshare");
	assert_int_equal(sbox_strv_push(&site, "ptrace"), 0);
	assert_int_equal(sbox_seccomp_lifts_deny(&p.sec, &site, got, sizeof(got), &err), 1);
	assert_string_equal(got, "unshare");
	assert_int_equal(sbox_strv_push(&site, "unshare"), 0);
	assert_int_equal(sbox_seccomp_lifts_deny(&p.sec, &site, got, sizeof(got), &err), 0);
	sbox_strv_clear(&site);
	sbox_policy_free(&p);
}

static void test_filter_strict(void **state)
{
	const char *const strict[] = { "SeccompProfile", "strict", NULL };
	const char *const strict_plus[] = { "SeccompProfile", "strict",
					    "SystemCallFilter", "process_mrelease", NULL };
	const char *const strict_group[] = { "SeccompProfile", "strict",
					     "SystemCallFilter", "@debug", NULL };
	const char *const strict_deny[] = { "SeccompProfile", "strict",
					    "SystemCallFilter", "~getpid:EIO", NULL };
	struct sbox_policy p;
	struct sbox_seccomp f;
	struct sbox_err err = { 0 };

	(void)state;
	skip_under_valgrind(VALGRIND_WHY);
	sbox_policy_init(&p);
	set_ok(&p, "SeccompProfile", "strict");
	assert_int_equal(sbox_seccomp_compile(&f, &p.sec, &err), 0);
	assert_int_equal(f.n, 2);   /* the allow layer, then the deny layer */
	sbox_seccomp_free(&f);
	sbox_policy_free(&p);

	assert_outcome(strict, p_getpid, "ok");
	assert_outcome(strict, p_getcwd, "ERANGE");
	assert_outcome(strict, p_sock_unix, "ok");
	/* Outside the allow list: refused, though no deny rule names it. */
	assert_outcome(strict, p_process_mrelease, "EPERM");
	assert_outcome(strict_plus, p_process_mrelease, "EBADF");
	/* The deny layer holds under strict, and its errno wins. */
	assert_outcome(strict, p_ptrace, "EPERM");
	assert_outcome(strict, p_clone3, "ENOSYS");
	assert_outcome(strict, p_tiocsti_hi, "EPERM");
	assert_outcome(strict, p_tiocgwinsz, "EBADF");
	/* A group extends the allow list but never lifts the deny list. */
	assert_outcome(strict_group, p_ptrace, "EPERM");
	assert_outcome(strict_deny, p_getpid, "EIO");
#if defined(__x86_64__)
	assert_outcome(strict, p_x32, "killed:31");
#endif
}

/* The compile cache: a long-lived process compiles A, B, A. */

static bool same_programs(const struct sbox_seccomp *a, const struct sbox_seccomp *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->progs[i].len != b->progs[i].len ||
		    memcmp(a->progs[i].filter, b->progs[i].filter,
			   a->progs[i].len * sizeof(struct sock_filter)) != 0)
			return false;
	return true;
}

/* settings: name, value pairs, NULL-terminated. */
static void compile_settings(const char *const *settings, struct sbox_seccomp *f)
{
	struct sbox_policy p;
	struct sbox_err err = { 0 };

	sbox_policy_init(&p);
	for (size_t i = 0; settings[i]; i += 2)
		set_ok(&p, settings[i], settings[i + 1]);
	if (sbox_policy_validate(&p, &err) != 0 || sbox_seccomp_compile(f, &p.sec, &err) != 0)
		fail_msg("%s", err.msg);
	sbox_policy_free(&p);
}

static unsigned long cache_hits(void)
{
	size_t entries;
	unsigned long hits;

	sbox_seccomp_cache_stats(&entries, &hits);
	assert_true(entries <= 16);
	return hits;
}

/* Two clients whose policies differ in one place must never share a
 * program; equal policies get equal programs from the cache, each caller
 * its own copy to free. */
static void assert_cache_separates(const char *const *a, const char *const *b)
{
	struct sbox_seccomp a1, b1, a2, b2;
	unsigned long h0 = cache_hits();

	compile_settings(a, &a1);
	compile_settings(b, &b1);
	compile_settings(a, &a2);
	compile_settings(b, &b2);
	assert_false(same_programs(&a1, &b1));
	assert_true(same_programs(&a1, &a2));
	assert_true(same_programs(&b1, &b2));
	assert_ptr_not_equal(a1.progs[0].filter, a2.progs[0].filter);
	/* The second A and the second B came from the cache. */
	assert_true(cache_hits() >= h0 + 2);
	sbox_seccomp_free(&a1);
	sbox_seccomp_free(&b1);
	sbox_seccomp_free(&a2);
	sbox_seccomp_free(&b2);
}

static void test_filter_cache(void **state)
{
	const char *const base[] = { "SystemCallFilter", "~mkdir", NULL };
	const char *const one_more[] = { "SystemCallFilter", "~mkdir rmdir", NULL };
	const char *const prefix[] = { "SystemCallFilter", "~mkdirat", NULL };
	const char *const eperm[] = { "SystemCallFilter", "~getpid", NULL };
	const char *const eio[] = { "SystemCallFilter", "~getpid:EIO", NULL };
	const char *const err_eperm[] = { "SystemCallErrorNumber", "EPERM", NULL };
	const char *const err_kill[] = { "SystemCallErrorNumber", "kill", NULL };
	const char *const dflt[] = { "SeccompProfile", "default", NULL };
	const char *const strict[] = { "SeccompProfile", "strict", NULL };
	/* Order matters (a later entry wins): a key that sorted the entries
	 * would hand the one the filter of the other. */
	const char *const deny_then_allow[] = { "SystemCallFilter", "~ioctl",
						"SystemCallFilter", "ioctl", NULL };
	const char *const allow_then_deny[] = { "SystemCallFilter", "ioctl",
						"SystemCallFilter", "~ioctl", NULL };

	(void)state;
	assert_cache_separates(base, one_more);
	assert_cache_separates(base, prefix);
	assert_cache_separates(eperm, eio);
	assert_cache_separates(err_eperm, err_kill);
	assert_cache_separates(dflt, strict);
	assert_cache_separates(deny_then_allow, allow_then_deny);
}

/* The cache stays bounded, and a policy pushed out by newer ones is
 * compiled again, to the same program. */
static void test_filter_cache_bounded(void **state)
{
	const char *const first[] = { "SystemCallFilter", "~getppid", NULL };
	static const char *const names[] = {
		"~chown", "~fchown", "~lchown", "~chmod", "~fchmod", "~link", "~symlink",
		"~rename", "~truncate", "~ftruncate", "~utime", "~utimes", "~mknod",
		"~sync", "~syncfs", "~fsync", "~fdatasync", "~flock", NULL,
	};
	struct sbox_seccomp f, again;
	size_t entries;
	unsigned long hits;

	(void)state;
	compile_settings(first, &f);
	for (size_t i = 0; names[i]; i++) {
		const char *const one[] = { "SystemCallFilter", names[i], NULL };
		struct sbox_seccomp g;

		compile_settings(one, &g);
		sbox_seccomp_free(&g);
	}
	sbox_seccomp_cache_stats(&entries, &hits);
	assert_int_equal(entries, 16);
	compile_settings(first, &again);
	assert_int_equal(cache_hits(), hits);   /* pushed out: compiled anew */
	sbox_seccomp_cache_stats(&entries, &hits);
	assert_int_equal(entries, 16);
	assert_true(same_programs(&f, &again));
	sbox_seccomp_free(&f);
	sbox_seccomp_free(&again);
}

/* The build's programs (sandbox/seccomp_prebuilt.h): a policy that leaves
 * the filter directives as they are gets, without a compile and without
 * taking a cache slot, exactly what libseccomp makes of it now; one entry
 * more, and it is compiled.  Each entry of the table is the compile of its
 * own key. */
static void assert_prebuilt(const char *const *settings)
{
	struct sbox_policy p;
	struct sbox_err err = { 0 };
	struct sbox_seccomp served, fresh;
	size_t entries0, entries;
	unsigned long hits0, hits;

	sbox_policy_init(&p);
	for (size_t i = 0; settings[i]; i += 2)
		set_ok(&p, settings[i], settings[i + 1]);
	if (sbox_policy_validate(&p, &err) != 0)
		fail_msg("%s", err.msg);
	sbox_seccomp_cache_stats(&entries0, &hits0);
	if (sbox_seccomp_compile(&served, &p.sec, &err) != 0 ||
	    sbox_seccomp_compile_fresh(&fresh, &p.sec, &err) != 0)
		fail_msg("%s", err.msg);
	sbox_seccomp_cache_stats(&entries, &hits);
	assert_int_equal(hits, hits0 + 1);
	assert_int_equal(entries, entries0);
	assert_true(served.n > 0);
	assert_true(same_programs(&served, &fresh));
	sbox_seccomp_free(&served);
	sbox_seccomp_free(&fresh);
	sbox_policy_free(&p);
}

static void test_filter_prebuilt(void **state)
{
	const char *const dflt[] = { NULL };
	const char *const dflt_named[] = { "SeccompProfile", "default", "SystemCallErrorNumber",
					   "EPERM", NULL };
	const char *const strict[] = { "SeccompProfile", "strict", NULL };
	/* A name no other test compiles, so the cache can't answer it. */
	const char *const one_more[] = { "SystemCallFilter", "~sched_yield", NULL };
	struct sbox_seccomp f;
	size_t entries0, entries;
	unsigned long hits0, hits;

	(void)state;
	assert_int_equal(sbox_seccomp_n_prebuilt, 2);
	assert_prebuilt(dflt);
	assert_prebuilt(dflt_named);
	assert_prebuilt(strict);
	for (size_t i = 0; i < sbox_seccomp_n_prebuilt; i++) {
		const struct sbox_seccomp_prebuilt *e = &sbox_seccomp_prebuilt[i];
		bool found = false;

		for (int prof = SBOX_SECCOMP_DEFAULT; prof <= SBOX_SECCOMP_STRICT; prof++) {
			struct sbox_security s;
			struct sbox_err err = { 0 };
			struct sbox_seccomp fresh;
			size_t len = 0;
			char *key;

			sbox_security_policy_init(&s);
			s.seccomp = prof;
			key = sbox_seccomp_policy_key(&s, &len);
			assert_non_null(key);
			if (len == e->key_len && memcmp(key, e->key, len) == 0) {
				found = true;
				if (sbox_seccomp_compile_fresh(&fresh, &s, &err) != 0)
					fail_msg("%s", err.msg);
				assert_int_equal(fresh.n, e->n);
				for (size_t j = 0; j < e->n; j++) {
					assert_int_equal(fresh.progs[j].len, e->progs[j].len);
					assert_memory_equal(fresh.progs[j].filter, e->progs[j].insns,
							    e->progs[j].len * sizeof(struct sock_filter));
				}
				sbox_seccomp_free(&fresh);
			}
			free(key);
			sbox_security_policy_free(&s);
		}
		assert_true(found);
	}
	/* Not the defaults: compiled, and kept in the cache. */
	sbox_seccomp_cache_stats(&entries0, &hits0);
	compile_settings(one_more, &f);
	sbox_seccomp_cache_stats(&entries, &hits);
	assert_true(entries == entries0 + 1 || (entries0 == 16 && entries == 16));
	assert_int_equal(hits, hits0);
	sbox_seccomp_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_identity_syntax),
		cmocka_unit_test(test_identity_resolve),
		cmocka_unit_test(test_login_in_every_group),
		cmocka_unit_test(test_rlimits),
		cmocka_unit_test(test_filter_syntax),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_filter_default),
		cmocka_unit_test(test_filter_edits),
		cmocka_unit_test(test_filter_lifts_deny),
		cmocka_unit_test(test_filter_lifts_deny_site),
		cmocka_unit_test(test_filter_strict),
		cmocka_unit_test(test_filter_cache),
		cmocka_unit_test(test_filter_cache_bounded),
		cmocka_unit_test(test_filter_prebuilt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
