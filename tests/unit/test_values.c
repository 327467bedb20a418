/* SPDX-License-Identifier: MIT */
#include "policy/values.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POISON UINT64_C(0xdeadbeefcafef00d)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Deterministic values for the round-trip loops, so a failure repeats. */
static uint64_t next_rand(uint64_t *state)
{
	/* xorshift64* */
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * UINT64_C(2685821657736338717);
}

/* Random values of every magnitude, not just huge ones. */
static uint64_t rand_value(uint64_t *state)
{
	uint64_t v = next_rand(state);
	unsigned bits = (unsigned)(next_rand(state) % 65);

	return bits == 64 ? v : v & ((UINT64_C(1) << bits) - 1);
}

/* Booleans. */

static void test_bool_good(void **state)
{
	static const struct {
		const char *s;
		bool v;
	} cases[] = {
		{ "yes", true }, { "YES", true }, { "Yes", true },
		{ "no", false }, { "No", false },
		{ "true", true }, { "TRUE", true }, { "false", false },
		{ "on", true }, { "ON", true }, { "off", false }, { "oFf", false },
		{ "1", true }, { "0", false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		bool b = !cases[i].v;

		assert_int_equal(sbox_parse_bool(cases[i].s, &b), 0);
		assert_int_equal(b, cases[i].v);
	}
}

static void test_bool_bad(void **state)
{
	static const char *const bad[] = {
		"", "y", "n", "yess", "ye", "2", "01", "-1", "onn", "of",
		" yes", "yes ", "true\n", "truefalse", "\xff",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		bool b = true;

		assert_int_equal(sbox_parse_bool(bad[i], &b), -EINVAL);
		assert_true(b);
	}
	assert_int_equal(sbox_parse_bool(NULL, NULL), -EINVAL);
}

/* Sizes. */

static void test_size_good(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} cases[] = {
		{ "0", 0 },
		{ "512", 512 },
		{ "64K", 64 * 1024 },
		{ "64k", 64 * 1024 },
		{ "64M", UINT64_C(64) << 20 },
		{ "64m", UINT64_C(64) << 20 },
		{ "1.5G", UINT64_C(1610612736) },
		{ "2T", UINT64_C(2) << 40 },
		{ "3P", UINT64_C(3) << 50 },
		{ "1E", UINT64_C(1) << 60 },
		{ "1e", UINT64_C(1) << 60 },
		{ "15E", UINT64_C(15) << 60 },
		{ "  64M\t\n", UINT64_C(64) << 20 },
		{ "64 M", UINT64_C(64) << 20 },
		{ "007K", 7 * 1024 },
		{ "0.5K", 512 },
		{ "1.5", 1 },                    /* bytes round down */
		{ "0.0009765625K", 1 },          /* exactly 1/1024 */
		{ "0.0009765624K", 0 },          /* just below: rounds down */
		{ "1.9999999999999999999999999K", 2047 },
		{ "0.333G", UINT64_C(357556027) }, /* floor(0.333 * 2^30) */
		{ "18446744073709551615", UINT64_MAX },
		{ "18446744073709551614", UINT64_MAX - 1 },
		{ "17179869183G", UINT64_C(17179869183) << 30 },
		/* 15E + floor(0.99..9 * 2^60) = 2^64 - 1, the very top */
		{ "15.9999999999999999999E", UINT64_MAX },
		{ "18014398509481983.999999999999K", UINT64_MAX },
		{ "18446744073709551615.99", UINT64_MAX },
		{ "infinity", SBOX_INFINITY },
		{ " infinity ", SBOX_INFINITY },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t v = POISON;

		assert_int_equal(sbox_parse_size(cases[i].s, 0, &v), 0);
		assert_int_equal(v, cases[i].v);
	}
}

static void test_size_percent(void **state)
{
	static const struct {
		const char *s;
		uint64_t total, v;
	} cases[] = {
		{ "50%", 1000, 500 },
		{ "33%", 10, 3 },               /* 3.3 rounds down */
		{ "100%", 12345, 12345 },
		{ "0%", 12345, 0 },
		{ "0.5%", 1000, 5 },
		{ "12.34%", 10000, 1234 },
		{ "12.34%", 100, 12 },
		{ " 50% ", 8, 4 },
		{ "100%", UINT64_MAX, UINT64_MAX },
		{ "50%", UINT64_MAX, UINT64_MAX / 2 },
		{ "99.99%", UINT64_MAX, UINT64_C(18444899399302180659) },
		{ "1%", 99, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t v = POISON;

		assert_int_equal(sbox_parse_size(cases[i].s, cases[i].total, &v), 0);
		assert_int_equal(v, cases[i].v);
	}
}

static void test_size_bad(void **state)
{
	static const struct {
		const char *s;
		uint64_t total;
		int err;
	} cases[] = {
		{ "", 0, -EINVAL },
		{ "   ", 0, -EINVAL },
		{ "-1", 0, -EINVAL },
		{ "-1K", 0, -EINVAL },
		{ "+1", 0, -EINVAL },
		{ "1B", 0, -EINVAL },
		{ "64MB", 0, -EINVAL },
		{ "64Mi", 0, -EINVAL },
		{ "1.G", 0, -EINVAL },
		{ ".5G", 0, -EINVAL },
		{ "1..5G", 0, -EINVAL },
		{ "1.5.5G", 0, -EINVAL },
		{ "G", 0, -EINVAL },
		{ "1 2", 0, -EINVAL },
		{ "1G 512M", 0, -EINVAL },
		{ "1X", 0, -EINVAL },
		{ "0x10", 0, -EINVAL },
		{ "1,5G", 0, -EINVAL },
		{ "Infinity", 0, -EINVAL },
		{ "infinity2", 0, -EINVAL },
		{ "inf", 0, -EINVAL },
		{ "50%", 0, -EINVAL },          /* no total to take it of */
		{ "50 %", 1000, -EINVAL },
		{ "50%%", 1000, -EINVAL },
		{ "50%K", 1000, -EINVAL },
		{ "%", 1000, -EINVAL },
		{ "1.234%", 1000, -EINVAL },
		{ "101%", 1000, -ERANGE },
		{ "100.01%", 1000, -ERANGE },
		{ "99999999999999999999999%", 1000, -ERANGE },
		{ "16E", 0, -ERANGE },
		{ "16.0E", 0, -ERANGE },
		{ "17179869184G", 0, -ERANGE },
		{ "18446744073709551616", 0, -ERANGE },
		{ "99999999999999999999999", 0, -ERANGE },
		{ "18014398509481984K", 0, -ERANGE },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t v = POISON;

		assert_int_equal(sbox_parse_size(cases[i].s, cases[i].total, &v),
				 cases[i].err);
		assert_int_equal(v, POISON);
	}
	assert_int_equal(sbox_parse_size(NULL, 0, NULL), -EINVAL);
}

static void test_size_format(void **state)
{
	static const struct {
		uint64_t v;
		const char *s;
	} cases[] = {
		{ 0, "0" },
		{ 100, "100" },
		{ 1023, "1023" },
		{ 1024, "1K" },
		{ 1536, "1536" },
		{ 1536 * 1024, "1536K" },
		{ UINT64_C(64) << 20, "64M" },
		{ UINT64_C(1) << 30, "1G" },
		{ UINT64_C(3) << 40, "3T" },
		{ UINT64_C(1023) << 50, "1023P" },
		{ UINT64_C(1) << 60, "1E" },
		{ UINT64_C(15) << 60, "15E" },
		{ UINT64_MAX - 1, "18446744073709551614" },
		{ SBOX_INFINITY, "infinity" },
	};
	char buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		sbox_format_size(cases[i].v, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].s);
	}
}

static void test_size_roundtrip(void **state)
{
	uint64_t rs = 0x1234567;
	char buf[32];
	int i, k;

	(void)state;
	for (i = 0; i < 200000; i++) {
		uint64_t v = rand_value(&rs), got = POISON;

		/* Every few, a value with a unit's worth of zero low bits. */
		if (i % 4 == 0) {
			k = (int)(next_rand(&rs) % 61);
			v <<= k;
		}
		sbox_format_size(v, buf, sizeof(buf));
		assert_int_equal(sbox_parse_size(buf, 0, &got), 0);
		assert_int_equal(got, v);
	}
	for (k = 0; k < 64; k++) {
		uint64_t v = UINT64_C(1) << k, got = POISON;

		sbox_format_size(v, buf, sizeof(buf));
		assert_int_equal(sbox_parse_size(buf, 0, &got), 0);
		assert_int_equal(got, v);
	}
}

/* Time spans. */

#define SEC UINT64_C(1000000)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define WEEK (7 * DAY)

static void test_timespan_good(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} cases[] = {
		{ "0", 0 },
		{ "90", 90 * SEC },
		{ "90s", 90 * SEC },
		{ "500ms", 500000 },
		{ "1min 30s", 90 * SEC },
		{ "1h30min", HOUR + 30 * MIN },
		{ "1.5s", 1500000 },
		{ "1.5min", 90 * SEC },
		{ "2h", 2 * HOUR },
		{ "1d", DAY },
		{ "1w", WEEK },
		{ "1us", 1 },
		{ "7usec", 7 },
		{ "3\xc2\xb5s", 3 },
		{ "4msec", 4000 },
		{ "1sec", SEC },
		{ "1second", SEC },
		{ "2seconds", 2 * SEC },
		{ "1m", MIN },
		{ "1minute", MIN },
		{ "2minutes", 2 * MIN },
		{ "1hr", HOUR },
		{ "1hour", HOUR },
		{ "3hours", 3 * HOUR },
		{ "1day", DAY },
		{ "2days", 2 * DAY },
		{ "1week", WEEK },
		{ "2weeks", 2 * WEEK },
		{ " 1 min\t30 s ", 90 * SEC },
		{ "1s 1s", 2 * SEC },
		{ "1 2", 3 * SEC },
		{ "1s500ms", 1500000 },
		{ "1w 2d 3h 4min 5s 6ms 7us",
		  WEEK + 2 * DAY + 3 * HOUR + 4 * MIN + 5 * SEC + 6007 },
		{ "0.000001s", 1 },
		{ "0.0000009s", 0 },
		{ "0.0000019999s", 1 },
		{ "0.5ms", 500 },
		{ "0.1h", 6 * MIN },
		{ "18446744073709551614us", UINT64_MAX - 1 },
		{ "30500568w", 30500568 * WEEK },
		{ "18446744073709551.614ms", UINT64_MAX - 1 },
		{ "infinity", SBOX_INFINITY },
		{ "\tinfinity\n", SBOX_INFINITY },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t v = POISON;

		assert_int_equal(sbox_parse_timespan(cases[i].s, &v), 0);
		assert_int_equal(v, cases[i].v);
	}
}

static void test_timespan_bad(void **state)
{
	static const struct {
		const char *s;
		int err;
	} cases[] = {
		{ "", -EINVAL },
		{ "  ", -EINVAL },
		{ "s", -EINVAL },
		{ "ms", -EINVAL },
		{ "1x", -EINVAL },
		{ "1S", -EINVAL },
		{ "1 s s", -EINVAL },
		{ "1mins", -EINVAL },
		{ "1secs", -EINVAL },
		{ "-1s", -EINVAL },
		{ "1s -1s", -EINVAL },
		{ "+1s", -EINVAL },
		{ "1.s", -EINVAL },
		{ ".5s", -EINVAL },
		{ "1.5.5s", -EINVAL },
		{ "12.34.56", -EINVAL },
		{ "1s,2s", -EINVAL },
		{ "infinity 1s", -EINVAL },
		{ "1s infinity", -EINVAL },
		{ "Infinity", -EINVAL },
		{ "1y", -EINVAL },
		{ "\xc2\xb5", -EINVAL },
		{ "1\xc2", -EINVAL },
		{ "18446744073709551615us", -ERANGE }, /* that is infinity */
		{ "18446744073709551616us", -ERANGE },
		{ "18446744073709551614us 1us", -ERANGE },
		{ "18446744073709551614us 2us", -ERANGE },
		{ "30500569w", -ERANGE },
		{ "18446744073709551.615ms", -ERANGE },
		{ "18446744073709551.999ms", -ERANGE },
		{ "99999999999999999999h", -ERANGE },
		{ "18446744073709551615", -ERANGE },
		{ "30500568w 30500568w", -ERANGE },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t v = POISON;

		assert_int_equal(sbox_parse_timespan(cases[i].s, &v), cases[i].err);
		assert_int_equal(v, POISON);
	}
	assert_int_equal(sbox_parse_timespan(NULL, NULL), -EINVAL);
}

static void test_timespan_format(void **state)
{
	static const struct {
		uint64_t v;
		const char *s;
	} cases[] = {
		{ 0, "0" },
		{ 1, "1us" },
		{ 999, "999us" },
		{ 500000, "500ms" },
		{ 1500000, "1s 500ms" },
		{ 90 * SEC, "1min 30s" },
		{ 2 * HOUR, "2h" },
		{ DAY, "1d" },
		{ WEEK + 1, "1w 1us" },
		{ WEEK + 2 * DAY + 3 * HOUR + 4 * MIN + 5 * SEC + 6007,
		  "1w 2d 3h 4min 5s 6ms 7us" },
		{ SBOX_INFINITY, "infinity" },
	};
	char buf[96];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		sbox_format_timespan(cases[i].v, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].s);
	}
}

static void test_timespan_roundtrip(void **state)
{
	static const uint64_t units[] = { 1, 1000, SEC, MIN, HOUR, DAY, WEEK };
	uint64_t rs = 0xabcdef;
	char buf[96];
	int i;

	(void)state;
	for (i = 0; i < 200000; i++) {
		uint64_t v = rand_value(&rs), got = POISON;

		/* Also whole multiples of each unit, the usual case. */
		if (i % 2 == 0)
			v = (v % 100000) * units[next_rand(&rs) % ARRAY_SIZE(units)];
		if (v == SBOX_INFINITY)
			continue;
		sbox_format_timespan(v, buf, sizeof(buf));
		assert_int_equal(sbox_parse_timespan(buf, &got), 0);
		assert_int_equal(got, v);
	}
	{
		uint64_t got = POISON;

		sbox_format_timespan(UINT64_MAX - 1, buf, sizeof(buf));
		assert_int_equal(sbox_parse_timespan(buf, &got), 0);
		assert_int_equal(got, UINT64_MAX - 1);
		sbox_format_timespan(SBOX_INFINITY, buf, sizeof(buf));
		assert_int_equal(sbox_parse_timespan(buf, &got), 0);
		assert_int_equal(got, SBOX_INFINITY);
	}
}

/* CPU quota. */

static void test_cpu_quota_good(void **state)
{
	static const struct {
		const char *s;
		uint32_t v;
	} cases[] = {
		{ "150%", 15000 },
		{ "0.5%", 50 },
		{ "0.01%", 1 },
		{ "12.34%", 1234 },
		{ "100%", 10000 },
		{ "1%", 100 },
		{ " 20% ", 2000 },
		{ "0.50%", 50 },
		{ "42949672.95%", UINT32_MAX },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint32_t v = 0xdeadbeef;

		assert_int_equal(sbox_parse_cpu_quota(cases[i].s, &v), 0);
		assert_int_equal(v, cases[i].v);
	}
}

static void test_cpu_quota_bad(void **state)
{
	static const struct {
		const char *s;
		int err;
	} cases[] = {
		{ "", -EINVAL },
		{ "%", -EINVAL },
		{ "0%", -EINVAL },
		{ "0.00%", -EINVAL },
		{ "0.001%", -EINVAL },
		{ "150", -EINVAL },
		{ "1.234%", -EINVAL },
		{ "-5%", -EINVAL },
		{ "+5%", -EINVAL },
		{ "1.%", -EINVAL },
		{ ".5%", -EINVAL },
		{ "5 %", -EINVAL },
		{ "5%%", -EINVAL },
		{ "5%x", -EINVAL },
		{ "infinity", -EINVAL },
		{ "42949672.96%", -ERANGE },
		{ "42949673%", -ERANGE },
		{ "99999999999999999999%", -ERANGE },
		{ "184467440737095516%", -ERANGE },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint32_t v = 0xdeadbeef;

		assert_int_equal(sbox_parse_cpu_quota(cases[i].s, &v), cases[i].err);
		assert_int_equal(v, 0xdeadbeef);
	}
}

static void test_cpu_quota_format(void **state)
{
	static const struct {
		uint32_t v;
		const char *s;
	} cases[] = {
		{ 15000, "150%" }, { 50, "0.5%" }, { 1, "0.01%" },
		{ 1234, "12.34%" }, { 10000, "100%" }, { 10010, "100.1%" },
		{ 5, "0.05%" }, { UINT32_MAX, "42949672.95%" },
	};
	uint64_t rs = 99;
	char buf[32];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		sbox_format_cpu_quota(cases[i].v, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].s);
	}
	for (i = 0; i < 100000; i++) {
		uint32_t v = (uint32_t)rand_value(&rs), got = 0;

		if (v == 0)
			continue;
		sbox_format_cpu_quota(v, buf, sizeof(buf));
		assert_int_equal(sbox_parse_cpu_quota(buf, &got), 0);
		assert_int_equal(got, v);
	}
}

/* Integers and masks. */

static void test_uint(void **state)
{
	uint64_t v = POISON;

	(void)state;
	assert_int_equal(sbox_parse_uint("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(sbox_parse_uint("10", 0, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(sbox_parse_uint("007", 0, 10, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(sbox_parse_uint("18446744073709551615", 0, UINT64_MAX,
					 &v), 0);
	assert_int_equal(v, UINT64_MAX);

	v = POISON;
	assert_int_equal(sbox_parse_uint("11", 0, 10, &v), -ERANGE);
	assert_int_equal(sbox_parse_uint("4", 5, 10, &v), -ERANGE);
	assert_int_equal(sbox_parse_uint("5", 6, 4, &v), -ERANGE);
	assert_int_equal(sbox_parse_uint("18446744073709551616", 0, UINT64_MAX,
					 &v), -ERANGE);
	assert_int_equal(sbox_parse_uint("99999999999999999999999", 0,
					 UINT64_MAX, &v), -ERANGE);
	assert_int_equal(sbox_parse_uint("", 0, 10, &v), -EINVAL);
	assert_int_equal(sbox_parse_uint(" 1", 0, 10, &v), -EINVAL);
	assert_int_equal(sbox_parse_uint("1 ", 0, 10, &v), -EINVAL);
	assert_int_equal(sbox_parse_uint("+1", 0, 10, &v), -EINVAL);
	assert_int_equal(sbox_parse_uint("-1", 0, 10, &v), -EINVAL);
	assert_int_equal(sbox_parse_uint("0x1", 0, 10, &v), -EINVAL);
	assert_int_equal(sbox_parse_uint("1.0", 0, 10, &v), -EINVAL);
	assert_int_equal(sbox_parse_uint("1k", 0, 10000, &v), -EINVAL);
	assert_int_equal(sbox_parse_uint(NULL, 0, 10, &v), -EINVAL);
	assert_int_equal(v, POISON);
}

static void test_umask(void **state)
{
	static const struct {
		const char *s;
		mode_t v;
	} good[] = {
		{ "0022", 022 }, { "022", 022 }, { "77", 077 }, { "0", 0 },
		{ "0777", 0777 }, { "777", 0777 }, { "0000000777", 0777 },
		{ "7", 07 },
	};
	static const struct {
		const char *s;
		int err;
	} bad[] = {
		{ "", -EINVAL }, { "8", -EINVAL }, { "0o22", -EINVAL },
		{ "-1", -EINVAL }, { "+22", -EINVAL }, { " 022", -EINVAL },
		{ "022 ", -EINVAL }, { "u=rwx", -EINVAL }, { "0x1ff", -EINVAL },
		{ "1000", -ERANGE }, { "7777", -ERANGE },
		{ "777777777777777777777777777", -ERANGE },
		{ "77777777777777777777777777x", -EINVAL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		mode_t m = 01234;

		assert_int_equal(sbox_parse_umask(good[i].s, &m), 0);
		assert_int_equal(m, good[i].v);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		mode_t m = 01234;

		assert_int_equal(sbox_parse_umask(bad[i].s, &m), bad[i].err);
		assert_int_equal(m, 01234);
	}
	assert_int_equal(sbox_parse_umask(NULL, NULL), -EINVAL);
}

/* Id lists. */

static bool bit_is_set(const uint8_t *bits, size_t i)
{
	return bits[i / 8] & (1u << (i % 8));
}

static void test_id_list_good(void **state)
{
	uint8_t bits[8];
	size_t i;

	(void)state;
	memset(bits, 0xff, sizeof(bits));
	assert_int_equal(sbox_parse_id_list("0-3,8,10-11", bits, 64), 0);
	/* The previous contents are replaced, not added to. */
	assert_int_equal(bits[0], 0x0f);
	assert_int_equal(bits[1], 0x0d);
	for (i = 2; i < sizeof(bits); i++)
		assert_int_equal(bits[i], 0);

	assert_int_equal(sbox_parse_id_list("0 1  2\t5", bits, 64), 0);
	assert_int_equal(bits[0], 0x27);
	assert_int_equal(sbox_parse_id_list(" 1, 3 ,5 , 7 ", bits, 64), 0);
	assert_int_equal(bits[0], 0xaa);
	assert_int_equal(sbox_parse_id_list("63", bits, 64), 0);
	assert_int_equal(bits[7], 0x80);
	assert_int_equal(bits[0], 0);
	assert_int_equal(sbox_parse_id_list("0-63", bits, 64), 0);
	for (i = 0; i < 64; i++)
		assert_true(bit_is_set(bits, i));
	assert_int_equal(sbox_parse_id_list("5-5,5,4-6", bits, 64), 0);
	assert_int_equal(bits[0], 0x70);
	assert_int_equal(sbox_parse_id_list("007", bits, 64), 0);
	assert_int_equal(bits[0], 0x80);
}

static void test_id_list_bad(void **state)
{
	static const struct {
		const char *s;
		int err;
	} cases[] = {
		{ "", -EINVAL }, { "  ", -EINVAL }, { ",", -EINVAL },
		{ "3-1", -EINVAL }, { ",1", -EINVAL }, { "1,", -EINVAL },
		{ "1,,2", -EINVAL }, { "1-", -EINVAL }, { "-1", -EINVAL },
		{ "1-2-3", -EINVAL }, { "a", -EINVAL }, { "1 - 2", -EINVAL },
		{ "1;2", -EINVAL }, { "0x1", -EINVAL }, { "+1", -EINVAL },
		{ "64", -ERANGE }, { "0-64", -ERANGE }, { "1,2,64", -ERANGE },
		{ "99999999999999999999999", -ERANGE },
		{ "0-99999999999999999999999", -ERANGE },
		{ "18446744073709551615", -ERANGE },
		/* syntax after a range error is still reported, first one wins */
		{ "64,x", -ERANGE },
	};
	uint8_t bits[8];
	size_t i, j;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(bits, 0x5a, sizeof(bits));
		assert_int_equal(sbox_parse_id_list(cases[i].s, bits, 64), cases[i].err);
		for (j = 0; j < sizeof(bits); j++)
			assert_int_equal(bits[j], 0x5a);
	}
	assert_int_equal(sbox_parse_id_list("0", NULL, 0), -ERANGE);
	assert_int_equal(sbox_parse_id_list(NULL, bits, 64), -EINVAL);
}

static void test_id_list_format(void **state)
{
	uint8_t bits[8] = { 0 };
	char buf[512];
	uint64_t rs = 7;
	int i;

	(void)state;
	sbox_format_id_list(bits, 64, buf, sizeof(buf));
	assert_string_equal(buf, "");
	bits[0] = 0x0f;
	bits[1] = 0x0d;
	sbox_format_id_list(bits, 64, buf, sizeof(buf));
	assert_string_equal(buf, "0-3,8,10-11");
	memset(bits, 0xff, sizeof(bits));
	sbox_format_id_list(bits, 64, buf, sizeof(buf));
	assert_string_equal(buf, "0-63");
	memset(bits, 0, sizeof(bits));
	bits[7] = 0x80;
	bits[0] = 0x20;
	sbox_format_id_list(bits, 64, buf, sizeof(buf));
	assert_string_equal(buf, "5,63");

	for (i = 0; i < 20000; i++) {
		uint8_t got[8];
		uint64_t v = next_rand(&rs) & next_rand(&rs);

		if (i % 3 == 0)
			v |= next_rand(&rs);
		memcpy(bits, &v, sizeof(bits));
		sbox_format_id_list(bits, 64, buf, sizeof(buf));
		if (v == 0) {
			assert_string_equal(buf, "");
			continue;
		}
		memset(got, 0xa5, sizeof(got));
		assert_int_equal(sbox_parse_id_list(buf, got, 64), 0);
		assert_memory_equal(got, bits, sizeof(bits));
	}
}

/* Words. */

static void check_split(const char *s, const char *const *want, size_t nwant)
{
	char **v = NULL;
	size_t n = 12345, i;

	assert_int_equal(sbox_split_words(s, &v, &n), 0);
	assert_non_null(v);
	assert_int_equal(n, nwant);
	for (i = 0; i < nwant; i++)
		assert_string_equal(v[i], want[i]);
	assert_null(v[n]);
	sbox_strv_free(v);
}

#define CHECK_SPLIT(s, ...) do {					\
		static const char *const w_[] = { __VA_ARGS__ };	\
		check_split((s), w_, ARRAY_SIZE(w_));			\
	} while (0)

static void test_split_good(void **state)
{
	(void)state;
	check_split("", NULL, 0);
	check_split(" \t\n ", NULL, 0);
	CHECK_SPLIT("a", "a");
	CHECK_SPLIT("a b  c", "a", "b", "c");
	CHECK_SPLIT("  a\tb\nc\r", "a", "b", "c");
	CHECK_SPLIT("'a b' \"c d\"", "a b", "c d");
	CHECK_SPLIT("a\"b c\"d", "ab cd");
	CHECK_SPLIT("\"\"", "");
	CHECK_SPLIT("'' x \"\"", "", "x", "");
	CHECK_SPLIT("\\n\\t", "\n\t");
	CHECK_SPLIT("'\\n'", "\\n");
	CHECK_SPLIT("\"\\n\"", "\n");
	CHECK_SPLIT("a\\ b", "a b");
	CHECK_SPLIT("\"a\\\"b\"", "a\"b");
	CHECK_SPLIT("'a\"b'", "a\"b");
	CHECK_SPLIT("\"a'b\"", "a'b");
	CHECK_SPLIT("\\'\\\"\\\\", "'\"\\");
	CHECK_SPLIT("\\x\\y", "xy");
	CHECK_SPLIT("'a\\'", "a\\");
	CHECK_SPLIT("/usr/bin/env FOO=bar", "/usr/bin/env", "FOO=bar");
}

static void test_split_bad(void **state)
{
	static const char *const bad[] = {
		"\"abc", "'abc", "abc\\", "\"abc\\", "a 'b", "\"a\\\"",
		"\\", "'", "\"", "ok \"", "'a''",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		char **v = (char **)0x1;
		size_t n = 777;

		assert_int_equal(sbox_split_words(bad[i], &v, &n), -EINVAL);
		assert_ptr_equal(v, (char **)0x1);
		assert_int_equal(n, 777);
	}
	sbox_strv_free(NULL);
}

static void check_quote_roundtrip(const char *w)
{
	char buf[1024];
	char **v = NULL;
	size_t n = 0;

	sbox_quote_word(w, buf, sizeof(buf));
	assert_int_equal(sbox_split_words(buf, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], w);
	sbox_strv_free(v);
}

static void test_quote(void **state)
{
	static const struct {
		const char *w, *q;
	} cases[] = {
		{ "abc", "abc" },
		{ "/usr/bin/true", "/usr/bin/true" },
		{ "", "\"\"" },
		{ "a b", "\"a b\"" },
		{ "a\tb", "\"a\\tb\"" },
		{ "a\nb", "\"a\\nb\"" },
		{ "a\"b", "\"a\\\"b\"" },
		{ "it's", "\"it's\"" },
		{ "c:\\x", "\"c:\\\\x\"" },
		{ "a\rb", "\"a\rb\"" },
	};
	static const char alphabet[] = " \t\n\r\"'\\ax$%;#=";
	uint64_t rs = 4242;
	char buf[64], w[40];
	size_t i, j;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_ptr_equal(sbox_quote_word(cases[i].w, buf, sizeof(buf)), buf);
		assert_string_equal(buf, cases[i].q);
		check_quote_roundtrip(cases[i].w);
	}
	/* Words mostly made of the awkward characters. */
	for (i = 0; i < 50000; i++) {
		size_t len = (size_t)(next_rand(&rs) % (sizeof(w) - 1));

		for (j = 0; j < len; j++)
			w[j] = alphabet[next_rand(&rs) % (sizeof(alphabet) - 1)];
		w[len] = '\0';
		check_quote_roundtrip(w);
	}
	/* And any byte at all. */
	for (i = 0; i < 50000; i++) {
		size_t len = (size_t)(next_rand(&rs) % (sizeof(w) - 1));

		for (j = 0; j < len; j++)
			w[j] = (char)(1 + next_rand(&rs) % 255);
		w[len] = '\0';
		check_quote_roundtrip(w);
	}
}

static void test_truncation(void **state)
{
	char buf[8];

	(void)state;
	/* Too small: whole pieces or nothing, always terminated. */
	memset(buf, 'x', sizeof(buf));
	sbox_format_size(UINT64_C(64) << 20, buf, 3);
	assert_string_equal(buf, "");
	assert_int_equal(buf[3], 'x');
	sbox_format_size(UINT64_C(64) << 20, buf, 4);
	assert_string_equal(buf, "64M");
	sbox_format_timespan(90 * SEC, buf, 6);
	assert_string_equal(buf, "1min");
	sbox_format_timespan(0, buf, 1);
	assert_string_equal(buf, "");
	sbox_format_cpu_quota(15000, buf, 4);
	assert_string_equal(buf, "");

	memset(buf, 'x', sizeof(buf));
	sbox_format_size(1, buf, 0);
	sbox_format_timespan(1, buf, 0);
	sbox_format_cpu_quota(1, buf, 0);
	assert_ptr_equal(sbox_quote_word("a b", buf, 0), buf);
	assert_int_equal(buf[0], 'x');
	sbox_format_size(1, NULL, 0);

	/* A cut quoted word loses its closing quote, so it cannot be
	 * mistaken for a shorter word. */
	sbox_quote_word("a b c d e", buf, sizeof(buf));
	assert_string_equal(buf, "\"a b c ");
	sbox_quote_word("\\\\\\\\", buf, sizeof(buf));
	assert_string_equal(buf, "\"\\\\\\\\\\\\");
	/* Nor as an empty word (a list's reset): one that needed no quotes
	 * is cut the same way. */
	sbox_quote_word("abcdefghij", buf, sizeof(buf));
	assert_string_equal(buf, "\"abcdef");
	{
		char *q = sbox_quote_word_dup("x y\n\"z");

		assert_non_null(q);
		assert_string_equal(q, "\"x y\\n\\\"z\"");
		free(q);
	}

	{
		uint8_t bits[8] = { 0x15 };

		sbox_format_id_list(bits, 64, buf, 5);
		assert_string_equal(buf, "0,2");
	}
}

/* Edit distance. */

static void test_edit_distance(void **state)
{
	static const struct {
		const char *a, *b;
		size_t d;
	} cases[] = {
		{ "", "", 0 },
		{ "abc", "", 3 },
		{ "", "abc", 3 },
		{ "abc", "abc", 0 },
		{ "kitten", "sitting", 3 },
		{ "flaw", "lawn", 2 },
		{ "MemoryMax", "memorymax", 0 },
		{ "CPUQuota", "CPUQuta", 1 },
		{ "CPUQuota", "cpuquotaa", 1 },
		{ "PrivateTmp", "PrivteTpm", 3 },
		{ "abc", "xyz", 3 },
		{ "a", "b", 1 },
	};
	char longa[300], longb[300];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(sbox_edit_distance(cases[i].a, cases[i].b), cases[i].d);
		assert_int_equal(sbox_edit_distance(cases[i].b, cases[i].a), cases[i].d);
	}
	/* Longer than the on-stack row. */
	memset(longa, 'a', sizeof(longa) - 1);
	longa[sizeof(longa) - 1] = '\0';
	memcpy(longb, longa, sizeof(longb));
	longb[100] = 'b';
	longb[200] = '\0';
	assert_int_equal(sbox_edit_distance(longa, longb), 100);
	assert_int_equal(sbox_edit_distance(longb, longa), 100);
	assert_int_equal(sbox_edit_distance(longa, ""), 299);
	assert_int_equal(sbox_edit_distance(NULL, "ab"), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bool_good),
		cmocka_unit_test(test_bool_bad),
		cmocka_unit_test(test_size_good),
		cmocka_unit_test(test_size_percent),
		cmocka_unit_test(test_size_bad),
		cmocka_unit_test(test_size_format),
		cmocka_unit_test(test_size_roundtrip),
		cmocka_unit_test(test_timespan_good),
		cmocka_unit_test(test_timespan_bad),
		cmocka_unit_test(test_timespan_format),
		cmocka_unit_test(test_timespan_roundtrip),
		cmocka_unit_test(test_cpu_quota_good),
		cmocka_unit_test(test_cpu_quota_bad),
		cmocka_unit_test(test_cpu_quota_format),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_umask),
		cmocka_unit_test(test_id_list_good),
		cmocka_unit_test(test_id_list_bad),
		cmocka_unit_test(test_id_list_format),
		cmocka_unit_test(test_split_good),
		cmocka_unit_test(test_split_bad),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_edit_distance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
