/* SPDX-License-Identifier: MIT */
/* Skipping a unit test that can't hold under valgrind, saying why (it has
 * no seccomp filters, keeps signals of its own...): counted as a skip, not
 * a pass.  Include after <cmocka.h>. */
#ifndef SBOX_TESTS_VALGRIND_SKIP_H
#define SBOX_TESTS_VALGRIND_SKIP_H

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

static __attribute__((unused)) void skip_under_valgrind(const char *why)
{
	if (RUNNING_ON_VALGRIND) {
		print_message("skipped under valgrind: %s\n", why);
		skip();
	}
}

#endif
