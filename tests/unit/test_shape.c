/* SPDX-License-Identifier: MIT */
/*
 * The pool's shape key (sboxd/shape.c): a prepared sandbox is served only
 * to a launch whose key is equal, so the key must hold every input of
 * sbox_prepare().  Every directive of the table is in it (Hostname=,
 * Environment=, PassEnvironment= and RuntimeMaxSec= as their defaults,
 * the limits with their values left out: specialise sets them); a
 * directive set to another value, another caller, changes it; the
 * shape's policy text parses back to the same key (a refill prepares
 * from it); launches whose preparation reads the request are never
 * pooled.  And [Pool]'s keys.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/directives.h"
#include "policy/parse.h"
#include "policy/policy.h"
#include "policy/site.h"
#include "sboxd/shape.h"

static struct sbox_launch launch_as(uid_t uid, gid_t gid)
{
	return (struct sbox_launch){ .stdio = { -1, -1, -1 }, .caller_uid = uid,
				     .caller_gid = gid, .survive_launcher = true };
}

static char *key_of(const struct sbox_policy *p, const struct sbox_launch *l)
{
	char *k = pool_shape_key(p, l);

	assert_non_null(k);
	return k;
}

static char *key_with(const char *name, const char *value, const struct sbox_launch *l)
{
	struct sbox_policy p;
	struct sbox_err err = { 0 };
	char *k;

	sbox_policy_init(&p);
	if (name && sbox_policy_set(&p, name, value, &err) < 0)
		fail_msg("%s=%s: %s", name, value, err.msg);
	k = key_of(&p, l);
	sbox_policy_free(&p);
	return k;
}

/* Every directive of the table has its line in the key: a directive
 * added to the table is in the shape with no change to the pool. */
static void test_every_directive_is_in_the_key(void **state)
{
	struct sbox_launch l = launch_as(65534, 65534);
	char *k = key_with(NULL, NULL, &l);

	(void)state;
	for (size_t i = 0; i < sbox_n_directives; i++) {
		char line[96];

		if (!sbox_directives[i].print)
			continue;   /* a flag's alias of the row before */
		snprintf(line, sizeof(line), "\n%s=", sbox_directives[i].name);
		if (!strstr(k, line))
			fail_msg("%s is not in the shape key", sbox_directives[i].name);
	}
	free(k);
}

/* What specialise sets in a prepared sandbox (P5, C6f; RuntimeMaxSec=
 * is sboxd's timer), and so leaves out of the key. */
static bool specialised(const char *name)
{
	return strcmp(name, "Hostname") == 0 || strcmp(name, "WorkingDirectory") == 0 ||
	       strcmp(name, "Environment") == 0 ||
	       strcmp(name, "PassEnvironment") == 0 || strcmp(name, "RuntimeMaxSec") == 0;
}

/* One directive set to its documented example is another shape, unless
 * the example is what the default prints as, or specialise sets it. */
static void test_one_directive_apart_is_another_shape(void **state)
{
	struct sbox_launch l = launch_as(65534, 65534);
	char *base = key_with(NULL, NULL, &l);
	size_t changed = 0;

	(void)state;
	for (size_t i = 0; i < sbox_n_directives; i++) {
		const struct sbox_directive *d = &sbox_directives[i];
		char line[256], *k;

		if (!d->print || !d->example || specialised(d->name))
			continue;
		k = key_with(d->name, d->example, &l);
		snprintf(line, sizeof(line), "\n%s=%s\n", d->name, d->example);
		if (strcmp(k, base) == 0 && !strstr(base, line))
			fail_msg("%s=%s leaves the shape key unchanged", d->name, d->example);
		changed += strcmp(k, base) != 0;
		free(k);
	}
	assert_true(changed > 40);
	free(base);
}

/* Launches apart only in Hostname= share a shape: each gets its own
 * hostname at specialise (the pool's test_hostname_is_specialised sees it
 * from inside). */
static void test_hostname_is_specialised(void **state)
{
	struct sbox_launch l = launch_as(65534, 65534);
	char *a = key_with("Hostname", "worker-a", &l), *b = key_with("Hostname", "worker-b", &l);
	char *none = key_with(NULL, NULL, &l);

	(void)state;
	assert_string_equal(a, b);
	assert_string_equal(a, none);
	assert_null(strstr(a, "worker-a"));
	free(a);
	free(b);
	free(none);
}

/* The environment, RuntimeMaxSec= and WorkingDirectory= are the
 * request's too (P5, sboxd's timer, C6e): out of the key. */
static void test_environment_is_specialised(void **state)
{
	struct sbox_launch l = launch_as(65534, 65534);
	char *none = key_with(NULL, NULL, &l), *env = key_with("Environment", "A=1", &l);
	char *pass = key_with("PassEnvironment", "LANG", &l), *rt = key_with("RuntimeMaxSec", "30", &l);
	char *wd = key_with("WorkingDirectory", "/srv/w", &l);

	(void)state;
	assert_string_equal(none, env);
	assert_string_equal(none, pass);
	assert_string_equal(none, rt);
	assert_string_equal(none, wd);
	free(wd);
	free(none);
	free(env);
	free(pass);
	free(rt);
}

/* A limit's value is the request's (P5b writes it): MemoryMax=256M and
 * 512M, or 10% of the host, share a shape; set against unset, and finite
 * against infinity, do not (other controllers, other files). */
static void test_limit_values_are_specialised(void **state)
{
	static const char *const same[][3] = {
		{ "MemoryMax", "256M", "512M" },
		{ "MemoryMax", "256M", "10%" },
		{ "MemoryHigh", "1G", "2G" },
		{ "MemorySwapMax", "0", "1G" },
		{ "TasksMax", "64", "8" },
		{ "CPUQuota", "50%", "200%" },
		{ "CPUWeight", "100", "500" },
		{ "IOWeight", "100", "10" },
		{ "AllowedCPUs", "0", "1" },
		{ "AllowedMemoryNodes", "0", "0-1" },
	};
	static const char *const apart[][3] = {
		{ "MemoryMax", "256M", "infinity" },
		{ "TasksMax", "64", "infinity" },
	};
	struct sbox_launch l = launch_as(65534, 65534);
	char *none = key_with(NULL, NULL, &l);

	(void)state;
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		char *a = key_with(same[i][0], same[i][1], &l), *b = key_with(same[i][0], same[i][2], &l);

		if (strcmp(a, b) != 0)
			fail_msg("%s=%s and %s=%s are other shapes", same[i][0], same[i][1], same[i][0],
				 same[i][2]);
		if (strcmp(a, none) == 0)
			fail_msg("%s=%s is the shape of no limit", same[i][0], same[i][1]);
		free(a);
		free(b);
	}
	for (size_t i = 0; i < sizeof(apart) / sizeof(apart[0]); i++) {
		char *a = key_with(apart[i][0], apart[i][1], &l), *b = key_with(apart[i][0], apart[i][2], &l);

		if (strcmp(a, b) == 0)
			fail_msg("%s=%s and %s=%s are one shape", apart[i][0], apart[i][1], apart[i][0],
				 apart[i][2]);
		free(a);
		free(b);
	}
	free(none);
}

static void test_caller_is_in_the_key(void **state)
{
	struct sbox_launch a = launch_as(1000, 1000), b = launch_as(1001, 1000);
	struct sbox_launch c = launch_as(1000, 1001), e = launch_as(1000, 1000);
	char *ka = key_with(NULL, NULL, &a), *kb = key_with(NULL, NULL, &b);
	char *kc = key_with(NULL, NULL, &c), *ke;

	(void)state;
	e.survive_launcher = false;
	ke = key_with(NULL, NULL, &e);
	assert_string_not_equal(ka, kb);
	assert_string_not_equal(ka, kc);
	assert_string_not_equal(ka, ke);
	free(ka);
	free(kb);
	free(kc);
	free(ke);
}

/* A refill parses the shape's policy text: it must come back as a policy
 * of the same key, with the limits' values of the launch that noted it,
 * for a policy that sets many directives. */
static void test_policy_text_round_trips(void **state)
{
	static const char *const text =
		"[Sandbox]\nMemoryMax=256M\nTasksMax=64\nHostname=w1\nEnvironment=A=1 \"B=two words\"\n"
		"PassEnvironment=HOME\nTemporaryFileSystem=/scratch:size=16M\nInaccessiblePaths=/srv\n"
		"SystemCallFilter=~@mount\nCapabilityBoundingSet=\nLimitNOFILE=256:512\nCPUQuota=50%\n"
		"UMask=0077\nWorkingDirectory=/tmp\nRuntimeMaxSec=30\n";
	struct sbox_launch l = launch_as(65534, 65534);
	struct sbox_policy p, q;
	struct sbox_err err = { 0 };
	char *k1, *k2, *text1;

	(void)state;
	sbox_policy_init(&p);
	assert_int_equal(sbox_policy_load_string(&p, text, "test", &err), 0);
	k1 = key_of(&p, &l);
	text1 = pool_shape_policy(&p);
	assert_non_null(text1);
	sbox_policy_init(&q);
	if (sbox_policy_load_string(&q, text1, "shape", &err) < 0)
		fail_msg("the shape's policy does not parse: %s", err.msg);
	k2 = key_of(&q, &l);
	assert_string_equal(k1, k2);
	assert_true(q.res.memory_max.set && q.res.memory_max.value == 256ull << 20);
	assert_int_equal(q.res.tasks_max.value, 64);
	assert_int_equal(q.res.cpu_quota, 5000);
	assert_string_equal(sbox_policy_hostname(&q), SBOX_DEFAULT_HOSTNAME);
	assert_int_equal(q.env.n, 0);
	free(k1);
	free(k2);
	free(text1);
	sbox_policy_free(&p);
	sbox_policy_free(&q);
}

static bool poolable_with(const char *name, const char *value)
{
	struct sbox_launch l = launch_as(65534, 65534);
	struct sbox_policy p;
	struct sbox_err err = { 0 };
	bool r;

	sbox_policy_init(&p);
	if (name && sbox_policy_set(&p, name, value, &err) < 0)
		fail_msg("%s=%s: %s", name, value, err.msg);
	r = pool_shape_poolable(&p, &l);
	sbox_policy_free(&p);
	return r;
}

/* What prepare would read of the request itself: never pooled. */
static void test_request_bound_launches_are_not_pooled(void **state)
{
	(void)state;
	assert_true(poolable_with(NULL, NULL));
	assert_true(poolable_with("MemoryMax", "256M"));
	assert_true(poolable_with("TemporaryFileSystem", "/scratch"));
	assert_true(poolable_with("PrivateNetwork", "host"));
	assert_true(poolable_with("BindPaths", "/srv"));
	assert_true(poolable_with("BindReadOnlyPaths", "/home/u/data:/data"));
	assert_false(poolable_with("GPUs", "0"));
	assert_false(poolable_with("PrivateNetwork", "veth"));
	assert_false(poolable_with("PrivateNetwork", "group:a"));
	assert_false(poolable_with("NewSession", "no"));
}

static bool poolable_text(const char *text)
{
	struct sbox_launch l = launch_as(65534, 65534);
	struct sbox_policy p;
	struct sbox_err err = { 0 };
	bool r;

	sbox_policy_init(&p);
	if (sbox_policy_load_string(&p, text, "test", &err) < 0)
		fail_msg("%s: %s", text, err.msg);
	r = pool_shape_poolable(&p, &l);
	sbox_policy_free(&p);
	return r;
}

/* A pool's sandbox takes its binds after the pivot, /dev's seal and the
 * masks (C6g): only where that gives the tree a launch in full builds.
 * Each refusal below is a policy whose deferred bind would land on, under
 * or over another mount, or whose text a refill would read back in
 * another order. */
static void test_binds_wait_only_where_order_does_not_matter(void **state)
{
	static const char *const yes[] = {
		"[Sandbox]\nBindPaths=/home/u/a:/data /home/u/b:/data/b\n",
		"[Sandbox]\nBindReadOnlyPaths=/srv:/srv\nTemporaryFileSystem=/scratch\n",
		"[Sandbox]\nBindPaths=/a:/scratch2\nTemporaryFileSystem=/scratch\nInaccessiblePaths=/home\n",
		"[Sandbox]\nBindPaths=/a:/tmp/a /b:/run/b\n",
		"[Sandbox]\nBindPaths=/a:/t/1 /a:/t/2 /a:/t/3 /a:/t/4 /a:/t/5 /a:/t/6 /a:/t/7 /a:/t/8 /a:/t/9 /a:/t/10 /a:/t/11 /a:/t/12\n",
		"[Sandbox]\nBindPaths=/a:/devices /b:/process /c:/system\n",
	};
	static const char *const no[] = {
		"[Sandbox]\nBindPaths=/a:/dev/a\n",
		"[Sandbox]\nBindPaths=/a:/dev\n",
		"[Sandbox]\nBindReadOnlyPaths=/a:/proc/sys\n",
		"[Sandbox]\nBindPaths=/a:/sys/fs/x\n",
		"[Sandbox]\nBindPaths=/a:/data/../dev/x\n",
		"[Sandbox]\nBindPaths=/a:/data/./x\n",
		"[Sandbox]\nBindPaths=/a:/data//x\n",
		"[Sandbox]\nBindPaths=/a:/data/\nTemporaryFileSystem=/data\n",
		/* a tmpfs over the bind (in full it hides it) */
		"[Sandbox]\nBindPaths=/a:/scratch/a\nTemporaryFileSystem=/scratch\n",
		/* a hidden path under the bind's destination */
		"[Sandbox]\nBindPaths=/a:/data\nInaccessiblePaths=/data/secret\n",
		/* the bind over a hidden path */
		"[Sandbox]\nBindPaths=/a:/home\nInaccessiblePaths=/home/u\n",
		/* out of the printed order: a refill would bind first */
		"[Sandbox]\nTemporaryFileSystem=/scratch\nBindPaths=/a:/data\n",
		"[Sandbox]\nInaccessiblePaths=/srv\nTemporaryFileSystem=/scratch\n",
		/* more than one request carries (SBOX_POOL_MAX_BINDS) */
		"[Sandbox]\nBindPaths=/a:/t/1 /a:/t/2 /a:/t/3 /a:/t/4 /a:/t/5 /a:/t/6 /a:/t/7 /a:/t/8 /a:/t/9 /a:/t/10 /a:/t/11 /a:/t/12 /a:/t/13\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!poolable_text(yes[i]))
			fail_msg("not poolable: %s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (poolable_text(no[i]))
			fail_msg("poolable: %s", no[i]);
}

/* A bind's source is the request's (P5c, C6g): out of the key; its
 * destination, kind and optional mark stay in it. */
static void test_bind_sources_are_specialised(void **state)
{
	struct sbox_launch l = launch_as(65534, 65534);
	char *a = key_with("BindPaths", "/home/u/a:/data", &l);
	char *b = key_with("BindPaths", "/home/v/b:/data", &l);
	char *other = key_with("BindPaths", "/home/u/a:/elsewhere", &l);
	char *ro = key_with("BindReadOnlyPaths", "/home/u/a:/data", &l);
	char *opt = key_with("BindPaths", "-/home/u/a:/data", &l);

	(void)state;
	assert_string_equal(a, b);
	assert_null(strstr(a, "/home/u/a"));
	assert_string_not_equal(a, other);
	assert_string_not_equal(a, ro);
	assert_string_not_equal(a, opt);
	free(a);
	free(b);
	free(other);
	free(ro);
	free(opt);
}

static int site(const char *text, struct sbox_site *s, struct sbox_err *err)
{
	sbox_site_init(s);
	return sbox_site_load_string(s, text, "site.conf", err);
}

static void test_pool_config(void **state)
{
	static const char *const bad[][2] = {
		{ "[Pool]\nSize=65\n", "Size=65: expected a number from 0 to 64" },
		{ "[Pool]\nShapes=nobody\n", "expected USER:/absolute/policy/file" },
		{ "[Pool]\nShapes=nobody:relative.policy\n", "expected USER:/absolute/policy/file" },
		{ "[Pool]\nShapes=no-such-user-sbox:/p\n", "no such user 'no-such-user-sbox'" },
	};
	struct sbox_site s;
	struct sbox_err err = { 0 };

	(void)state;
	assert_int_equal(site("", &s, &err), 0);
	assert_int_equal(s.daemon.pool_size, 2);
	assert_int_equal(s.daemon.pool_max_shapes, 8);
	assert_int_equal(s.daemon.pool_max_shapes_per_user, 2);
	assert_int_equal(s.daemon.pool_max_sandboxes, 16);
	sbox_site_free(&s);
	assert_int_equal(site("[Pool]\nSize=0\nShapes=nobody:/etc/a.policy 0:/etc/b.policy\n", &s,
			      &err), 0);
	assert_int_equal(s.daemon.pool_size, 0);
	assert_int_equal(s.daemon.n_pool_shapes, 2);
	assert_int_equal(s.daemon.pool_shapes[1].uid, 0);
	assert_int_equal(s.daemon.pool_shapes[1].gid, 0);
	assert_string_equal(s.daemon.pool_shapes[0].policy_file, "/etc/a.policy");
	sbox_site_free(&s);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(site(bad[i][0], &s, &err), -1);
		if (!strstr(err.msg, bad[i][1]))
			fail_msg("'%s': got '%s'", bad[i][0], err.msg);
		sbox_site_free(&s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_directive_is_in_the_key),
		cmocka_unit_test(test_one_directive_apart_is_another_shape),
		cmocka_unit_test(test_hostname_is_specialised),
		cmocka_unit_test(test_environment_is_specialised),
		cmocka_unit_test(test_limit_values_are_specialised),
		cmocka_unit_test(test_caller_is_in_the_key),
		cmocka_unit_test(test_policy_text_round_trips),
		cmocka_unit_test(test_request_bound_launches_are_not_pooled),
		cmocka_unit_test(test_binds_wait_only_where_order_does_not_matter),
		cmocka_unit_test(test_bind_sources_are_specialised),
		cmocka_unit_test(test_pool_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
