/* SPDX-License-Identifier: MIT */
/*
 * The check behind the worker's capability read-back (sandbox/caps.c):
 * any bit left in CapBnd or CapAmb outside what the policy allows fails
 * the launch, whatever capabilities libcap knows of.  The statically
 * linked libcap may be older than the running kernel, and a capability it
 * has no name for must not survive in the worker's bounding set.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sandbox/caps.h"

static void test_stray_beyond_libcap(void **state)
{
	(void)state;
	/* Bit 40 (CAP_CHECKPOINT_RESTORE, or whatever a newer kernel
	 * has there) left in the bounding set, a policy allowing none. */
	assert_int_equal(sbox_caps_first_stray(UINT64_C(1) << 40, 0), 40);
	/* The highest bit /proc/self/status can show. */
	assert_int_equal(sbox_caps_first_stray(UINT64_C(1) << 63, 0), 63);
	/* The lowest stray is named first. */
	assert_int_equal(sbox_caps_first_stray((UINT64_C(1) << 50) | (UINT64_C(1) << 41), 0), 41);
}

static void test_stray_allowed(void **state)
{
	(void)state;
	assert_int_equal(sbox_caps_first_stray(0, 0), -1);
	/* What the policy keeps may stay ... */
	assert_int_equal(sbox_caps_first_stray(UINT64_C(1) << 40, UINT64_C(1) << 40), -1);
	/* ... and "~CAP_SYS_ADMIN" keeps every other bit, known or not. */
	assert_int_equal(sbox_caps_first_stray(~(UINT64_C(1) << 21), ~(UINT64_C(1) << 21)), -1);
	assert_int_equal(sbox_caps_first_stray(~UINT64_C(0), ~(UINT64_C(1) << 21)), 21);
	/* A policy bit the kernel lacks reads as 0: nothing stray. */
	assert_int_equal(sbox_caps_first_stray(0, ~UINT64_C(0)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stray_beyond_libcap),
		cmocka_unit_test(test_stray_allowed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
