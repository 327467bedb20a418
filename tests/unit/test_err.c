/* SPDX-License-Identifier: MIT */
/*
 * The error contract (common/err.c): a message too long for struct
 * sbox_err keeps its start and its reason.  A hostile path of 4000 bytes
 * in a message used to push ": Permission denied" out of it, and every
 * prefix added on the way up cut more of its end.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"

static char long_path[4001];

static int setup(void **state)
{
	(void)state;
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	return 0;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && strcmp(s + n - m, tail) == 0;
}

static void test_short_message_whole(void **state)
{
	struct sbox_err err = { 0 };

	(void)state;
	assert_int_equal(sbox_fail(&err, ENOENT, "opening %s", "/etc/x"), -1);
	assert_string_equal(err.msg, "opening /etc/x: No such file or directory");
	assert_int_equal(err.errnum, ENOENT);
	sbox_err_prefix(&err, "bind %d", 3);
	assert_string_equal(err.msg, "bind 3: opening /etc/x: No such file or directory");
}

static void test_long_path_keeps_the_reason(void **state)
{
	struct sbox_err err = { 0 };

	(void)state;
	sbox_fail(&err, EACCES, "opening the bind source %s for the sandbox", long_path);
	assert_int_equal(strlen(err.msg), SBOX_ERR_MSG_MAX - 1);
	assert_true(strncmp(err.msg, "opening the bind source /aaa", 28) == 0);
	assert_non_null(strstr(err.msg, "..."));
	assert_true(ends_with(err.msg, "aaa for the sandbox: Permission denied"));
}

static void test_prefixes_keep_the_reason(void **state)
{
	struct sbox_err err = { 0 };

	(void)state;
	sbox_fail(&err, EROFS, "writing %s", long_path);
	for (int i = 0; i < 5; i++)
		sbox_err_prefix(&err, "step %d of the launch under %s", i, long_path);
	assert_int_equal(strlen(err.msg), SBOX_ERR_MSG_MAX - 1);
	assert_true(strncmp(err.msg, "step 4 of the launch under /aaa", 31) == 0);
	assert_true(ends_with(err.msg, "aaa: Read-only file system"));
}

static void test_message_of_exactly_the_size(void **state)
{
	struct sbox_err err = { 0 };
	char text[SBOX_ERR_MSG_MAX];

	(void)state;
	memset(text, 'b', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	sbox_fail(&err, 0, "%s", text);
	assert_string_equal(err.msg, text);
	sbox_err_prefix(&err, "c");
	assert_int_equal(strlen(err.msg), SBOX_ERR_MSG_MAX - 1);
	assert_true(strncmp(err.msg, "c: bbb", 6) == 0);
	assert_true(ends_with(err.msg, "bbbb"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_message_whole),
		cmocka_unit_test(test_long_path_keeps_the_reason),
		cmocka_unit_test(test_prefixes_keep_the_reason),
		cmocka_unit_test(test_message_of_exactly_the_size),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
