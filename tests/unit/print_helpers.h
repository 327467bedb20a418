/* SPDX-License-Identifier: MIT */
/* Policy text of a whole policy or of one directive, as --check prints it,
 * for the unit tests that check printers and round trips.  Include after
 * <cmocka.h>. */
#ifndef SBOX_TESTS_PRINT_HELPERS_H
#define SBOX_TESTS_PRINT_HELPERS_H

#include <stdio.h>

#include "policy/directives.h"

/* Not inlined: inlined at -O2, gcc loses track of open_memstream() writing
 * buf through the stream and calls its later use -Wdangling-pointer. */
#define PRINT_HELPER static __attribute__((noinline, unused))

PRINT_HELPER char *print_policy(const struct sbox_policy *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	sbox_policy_print(p, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

PRINT_HELPER char *print_directive(const struct sbox_policy *p, const char *name)
{
	const struct sbox_directive *d = sbox_directive_find(name);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(d);
	assert_non_null(f);
	d->print(p, d, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

#endif
