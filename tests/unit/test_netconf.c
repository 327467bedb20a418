/* SPDX-License-Identifier: MIT */
/* PrivateNetwork= syntax, the site's [Network] VethSubnet= (never a job's),
 * and the veth address arithmetic. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/print_helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/dir_network.h"
#include "policy/bounds.h"
#include "policy/directives.h"
#include "policy/parse.h"
#include "policy/policy.h"
#include "policy/site.h"
#include "sandbox/ipam.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void test_modes_good(void **state)
{
	static const struct {
		const char *s;
		enum sbox_net_mode mode;
		const char *group;
	} cases[] = {
		{ "none", SBOX_NET_NONE, NULL }, { "host", SBOX_NET_HOST, NULL },
		{ "veth", SBOX_NET_VETH, NULL }, { "yes", SBOX_NET_NONE, NULL },
		{ "true", SBOX_NET_NONE, NULL }, { "no", SBOX_NET_HOST, NULL },
		{ "0", SBOX_NET_HOST, NULL }, { "group:job-42", SBOX_NET_GROUP, "job-42" },
		{ "group:a.b_c", SBOX_NET_GROUP, "a.b_c" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum sbox_net_mode m = 99;
		char *g = (char *)1;

		assert_int_equal(sbox_parse_net_mode(cases[i].s, &m, &g), 0);
		assert_int_equal(m, cases[i].mode);
		if (cases[i].group)
			assert_string_equal(g, cases[i].group);
		else
			assert_null(g);
		free(g);
	}
}

static void test_modes_bad(void **state)
{
	static const char *const bad[] = {
		"", "None", "bridge", "group:", "group:../x", "group:a/b", "group:.hidden",
		"group:-x", "group:a b", "veth ",
		"group:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 65 */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		enum sbox_net_mode m = SBOX_NET_VETH;
		char *g = NULL;

		assert_int_equal(sbox_parse_net_mode(bad[i], &m, &g), -EINVAL);
		assert_int_equal(m, SBOX_NET_VETH);   /* untouched */
		assert_null(g);
	}
}

static void test_subnets(void **state)
{
	uint32_t net = 7;
	unsigned prefix = 7;

	(void)state;
	assert_int_equal(sbox_parse_ipv4_subnet("10.231.0.0/16", &net, &prefix), 0);
	assert_int_equal(net, 0x0ae70000);
	assert_int_equal(prefix, 16);
	assert_int_equal(sbox_parse_ipv4_subnet("192.168.7.8/30", &net, &prefix), 0);
	assert_int_equal(net, 0xc0a80708);
	assert_int_equal(prefix, 30);
	assert_int_equal(sbox_parse_ipv4_subnet("10.0.0.0/8", &net, &prefix), 0);
	/* host bits, syntax, range */
	assert_int_equal(sbox_parse_ipv4_subnet("10.231.0.1/16", &net, &prefix), -EINVAL);
	assert_int_equal(sbox_parse_ipv4_subnet("10.231.0.0", &net, &prefix), -EINVAL);
	assert_int_equal(sbox_parse_ipv4_subnet("10.231.0/16", &net, &prefix), -EINVAL);
	assert_int_equal(sbox_parse_ipv4_subnet("10.231.0.0/x", &net, &prefix), -EINVAL);
	assert_int_equal(sbox_parse_ipv4_subnet("10.231.0.0/", &net, &prefix), -EINVAL);
	assert_int_equal(sbox_parse_ipv4_subnet("10.231.0.0/33", &net, &prefix), -EINVAL);
	assert_int_equal(sbox_parse_ipv4_subnet("::1/64", &net, &prefix), -EINVAL);
	assert_int_equal(sbox_parse_ipv4_subnet("10.231.0.0/31", &net, &prefix), -ERANGE);
	assert_int_equal(sbox_parse_ipv4_subnet("10.0.0.0/7", &net, &prefix), -ERANGE);
	assert_int_equal(net, 0x0a000000);       /* untouched by the failures */
	assert_int_equal(prefix, 8);
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *l = text; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, line, n) == 0 && (l[n] == '\n' || l[n] == '\0'))
			return true;
	return false;
}

static void test_directives_round_trip(void **state)
{
	static const char *const modes[] = { "none", "host", "veth", "group:ranks-7" };
	struct sbox_policy p;
	struct sbox_err err = { 0 };
	char *text;

	(void)state;
	sbox_policy_init(&p);
	text = print_policy(&p);
	assert_true(has_line(text, "PrivateNetwork=none"));
	free(text);
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		char line[64];

		assert_int_equal(sbox_policy_set(&p, "PrivateNetwork", modes[i], &err), 0);
		snprintf(line, sizeof(line), "PrivateNetwork=%s", modes[i]);
		text = print_policy(&p);
		assert_true(has_line(text, line));
		free(text);
	}
	/* "" resets to the defaults, as systemd's empty assignment does. */
	assert_int_equal(sbox_policy_set(&p, "PrivateNetwork", "", &err), 0);
	assert_int_equal(p.net.mode, SBOX_NET_NONE);
	assert_null(p.net.group);
	sbox_policy_free(&p);
}

static void test_directive_errors(void **state)
{
	struct sbox_policy p;
	struct sbox_err err = { 0 };

	(void)state;
	sbox_policy_init(&p);
	assert_int_equal(sbox_policy_set(&p, "PrivateNetwork", "bridge", &err), -1);
	assert_non_null(strstr(err.msg, "PrivateNetwork=bridge"));
	assert_non_null(strstr(err.msg, "none, host, veth, group:NAME"));
	assert_int_equal(sbox_policy_set(&p, "PrivateNetwork", "group:../etc", &err), -1);
	assert_non_null(strstr(err.msg, "not a valid group name"));
	assert_int_equal(p.net.mode, SBOX_NET_NONE);
	sbox_policy_free(&p);
}

/* Issue 12, break 3: a job that names its veth range makes the host route
 * that range (its LAN, its gateway's subnet, 169.254.169.254) into its
 * sandbox.  The range is the site's: a job's VethSubnet= is refused, from a
 * flag and from a policy file alike, with the setting to use instead. */
static void test_veth_subnet_not_a_job_directive(void **state)
{
	static const char *const hostile[] = {
		"198.51.100.0/30", "127.0.0.0/30", "192.0.2.0/24", "169.254.169.252/30",
		"10.231.0.0/16",
	};
	struct sbox_policy p;
	struct sbox_err err = { 0 };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(hostile); i++) {
		char text[128];

		sbox_policy_init(&p);
		assert_int_equal(sbox_policy_set(&p, "VethSubnet", hostile[i], &err), -1);
		assert_non_null(strstr(err.msg, "VethSubnet= is a setting of the site, not of a job"));
		assert_non_null(strstr(err.msg, "[Network] VethSubnet="));
		sbox_policy_free(&p);
		sbox_policy_init(&p);
		snprintf(text, sizeof(text), "[Sandbox]\nPrivateNetwork=veth\nVethSubnet=%s\n", hostile[i]);
		assert_int_equal(sbox_policy_load_string(&p, text, "job.conf", &err), -1);
		assert_non_null(strstr(err.msg, "job.conf:3"));
		assert_non_null(strstr(err.msg, "[Network] VethSubnet="));
		sbox_policy_free(&p);
	}
}

static void test_site_veth_subnet(void **state)
{
	struct sbox_site s;
	struct sbox_err err = { 0 };
	uint32_t net;
	unsigned prefix;

	(void)state;
	/* The default, with no file or no [Network]. */
	sbox_site_veth_subnet(NULL, &net, &prefix);
	assert_int_equal(net, 0x0ae70000);
	assert_int_equal(prefix, 16);
	sbox_site_init(&s);
	assert_false(s.network.veth_subnet_set);
	assert_int_equal(sbox_site_load_string(&s, "[Network]\nVethSubnet=172.30.4.0/22\n", "site",
						&err), 0);
	sbox_site_veth_subnet(&s, &net, &prefix);
	assert_int_equal(net, 0xac1e0400);
	assert_int_equal(prefix, 22);
	assert_true(s.network.veth_subnet_set);
	sbox_site_free(&s);
	sbox_site_init(&s);
	assert_int_equal(sbox_site_load_string(&s, "[Network]\nVethSubnet=10.231.0.1/16\n", "site",
						&err), -1);
	assert_non_null(strstr(err.msg, "host bits zero"));
	sbox_site_free(&s);
	sbox_site_init(&s);
	assert_int_equal(sbox_site_load_string(&s, "[Network]\nVethSubnet=10.231.0.0/31\n", "site",
						&err), -1);
	assert_non_null(strstr(err.msg, "8 to 30"));
	sbox_site_free(&s);
}

/* Review 1: whether the host forwards what a veth sandbox sends is the
 * site's (default no: the host ends get forwarding=0), never a job's. */
static void test_site_veth_forwarding(void **state)
{
	struct sbox_site s;
	struct sbox_policy p;
	struct sbox_err err = { 0 };

	(void)state;
	sbox_site_init(&s);
	assert_false(s.network.veth_forwarding);
	assert_int_equal(sbox_site_load_string(&s, "[Network]\nVethForwarding=yes\n", "site", &err), 0);
	assert_true(s.network.veth_forwarding);
	sbox_site_free(&s);
	sbox_site_init(&s);
	assert_int_equal(sbox_site_load_string(&s, "[Network]\nVethForwarding=sometimes\n", "site",
						&err), -1);
	assert_non_null(strstr(err.msg, "VethForwarding=sometimes: expected yes or no"));
	sbox_site_free(&s);
	sbox_policy_init(&p);
	assert_int_equal(sbox_policy_set(&p, "VethForwarding", "yes", &err), -1);
	assert_non_null(strstr(err.msg, "VethForwarding= is a setting of the site, not of a job"));
	sbox_policy_free(&p);
}

/* Ranges no site may hand to sandboxes, refused when the file is read. */
static void test_site_veth_subnet_reserved(void **state)
{
	static const struct {
		const char *range, *why;
	} cases[] = {
		{ "127.0.0.0/30", "loopback" },
		{ "169.254.169.252/30", "link-local" },
		{ "169.0.0.0/8", "link-local" },
		{ "224.0.0.0/24", "multicast" },
		{ "0.0.0.0/8", "this network" },
		{ "255.255.255.252/30", "broadcast" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sbox_site s;
		struct sbox_err err = { 0 };
		char text[128];

		sbox_site_init(&s);
		snprintf(text, sizeof(text), "[Network]\nVethSubnet=%s\n", cases[i].range);
		assert_int_equal(sbox_site_load_string(&s, text, "site", &err), -1);
		if (!strstr(err.msg, cases[i].why))
			fail_msg("%s: %s", cases[i].range, err.msg);
		assert_non_null(strstr(err.msg, cases[i].range));
		sbox_site_free(&s);
	}
}

static void test_ipv4_overlap(void **state)
{
	(void)state;
	assert_true(sbox_ipv4_overlap(0x0ae70000, 16, 0x0ae70004, 30));    /* inside */
	assert_true(sbox_ipv4_overlap(0x0ae70004, 30, 0x0ae70000, 16));    /* around */
	assert_true(sbox_ipv4_overlap(0xc0000200, 24, 0xc0000201, 32));    /* a gateway */
	assert_true(sbox_ipv4_overlap(0x0a000000, 8, 0x0ae70000, 16));
	assert_false(sbox_ipv4_overlap(0x0ae70000, 16, 0x0ae80000, 16));
	assert_false(sbox_ipv4_overlap(0x0ae70000, 30, 0x0ae70004, 30));   /* neighbours */
	assert_true(sbox_ipv4_overlap(0x0ae70000, 16, 0, 0));              /* a default route */
}

/* [Bounds] for sboxd's clients: veth only where the site allows it
 * (default no), groups unless it forbids them (default yes); root is not
 * bounded. */
static int net_bound(const char *site_text, const char *mode, uid_t uid, struct sbox_err *err)
{
	struct sbox_requester who = { .uid = uid, .gid = uid };
	struct sbox_bounds_ctx ctx = { .mem_total = 8ULL << 30, .tasks_total = 32768 };
	struct sbox_site s;
	struct sbox_policy p;
	int r;

	for (size_t i = 0; i < SBOX_RLIMIT_COUNT; i++)
		ctx.hard[i] = UINT64_MAX;
	sbox_site_init(&s);
	sbox_policy_init(&p);
	assert_int_equal(sbox_site_load_string(&s, site_text, "site", err), 0);
	s.daemon.bounds.file = "site";
	assert_int_equal(sbox_policy_set(&p, "PrivateNetwork", mode, err), 0);
	r = sbox_bounds_check_policy(&s.daemon.bounds, &p, &who, &ctx, err);
	sbox_policy_free(&p);
	sbox_site_free(&s);
	return r;
}

static void test_network_bounds(void **state)
{
	struct sbox_err err = { 0 };

	(void)state;
	assert_int_equal(net_bound("", "veth", 1000, &err), -1);
	assert_non_null(strstr(err.msg, "PrivateNetwork=veth is past the site bound AllowVethNetwork=no (site)"));
	assert_int_equal(net_bound("", "veth", 0, &err), 0);
	assert_int_equal(net_bound("", "group:g", 1000, &err), 0);
	assert_int_equal(net_bound("[Bounds]\nAllowVethNetwork=yes\n", "veth", 1000, &err), 0);
	assert_int_equal(net_bound("[Bounds]\nAllowGroupNetwork=no\n", "group:g", 1000, &err), -1);
	assert_non_null(strstr(err.msg, "PrivateNetwork=group:g is past the site bound AllowGroupNetwork=no"));
	assert_int_equal(net_bound("[Bounds]\nAllowGroupNetwork=no\n", "group:g", 0, &err), 0);
	assert_int_equal(net_bound("", "none", 1000, &err), 0);
}

static void test_validate_group_userns(void **state)
{
	struct sbox_policy p;
	struct sbox_err err = { 0 };

	(void)state;
	sbox_policy_init(&p);
	assert_int_equal(sbox_policy_set(&p, "PrivateNetwork", "group:g1", &err), 0);
	assert_int_equal(sbox_policy_validate(&p, &err), 0);
	assert_int_equal(sbox_policy_set(&p, "PrivateUsers", "yes", &err), 0);
	assert_int_equal(sbox_policy_validate(&p, &err), -1);
	assert_non_null(strstr(err.msg, "PrivateNetwork=group:g1 cannot be combined with PrivateUsers=yes"));
	sbox_policy_free(&p);
}

static void test_ipam_blocks(void **state)
{
	(void)state;
	assert_int_equal(sbox_ipam_nblocks(16), 16384);
	assert_int_equal(sbox_ipam_nblocks(29), 2);
	assert_int_equal(sbox_ipam_nblocks(30), 1);
	assert_int_equal(sbox_ipam_nblocks(31), 0);
	assert_int_equal(sbox_ipam_block(0x0ae70000, 0), 0x0ae70000);
	assert_int_equal(sbox_ipam_block(0x0ae70000, 1), 0x0ae70004);
	assert_int_equal(sbox_ipam_block(0x0ae70000, 16383), 0x0ae7fffc);
	assert_int_equal(sbox_ipam_host_addr(0x0ae70004), 0x0ae70005);
	assert_int_equal(sbox_ipam_sandbox_addr(0x0ae70004), 0x0ae70006);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modes_good),
		cmocka_unit_test(test_modes_bad),
		cmocka_unit_test(test_subnets),
		cmocka_unit_test(test_directives_round_trip),
		cmocka_unit_test(test_directive_errors),
		cmocka_unit_test(test_veth_subnet_not_a_job_directive),
		cmocka_unit_test(test_site_veth_subnet),
		cmocka_unit_test(test_site_veth_subnet_reserved),
		cmocka_unit_test(test_ipv4_overlap),
		cmocka_unit_test(test_network_bounds),
		cmocka_unit_test(test_validate_group_userns),
		cmocka_unit_test(test_ipam_blocks),
		cmocka_unit_test(test_site_veth_forwarding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
