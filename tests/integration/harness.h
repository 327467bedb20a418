/* SPDX-License-Identifier: MIT */
/*
 * Integration test harness: run the sboxrun under test (chosen by $SBOXRUN,
 * as crun's suite picks its runtime by OCI_RUNTIME) with the probe
 * ($SBOX_PROBE) inside, capture what it prints, and read the probe's
 * key=value report.  Tests check from inside the sandbox, never just exit
 * codes.
 */
#ifndef SBOX_TESTS_HARNESS_H
#define SBOX_TESTS_HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

struct run_result {
	int code;       /* exit code, or 128+N when killed by signal N */
	char *out;      /* stdout, NUL-terminated */
	char *err;      /* stderr */
};

struct run_opts {
	char *const *env;               /* launcher's environment (NULL: minimal) */
	void (*pre_exec)(void *arg);    /* runs in the launcher's process before exec */
	void *arg;
	int timeout_s;                  /* default 30; killed (SIGKILL) after it */
	const char *input;              /* stdin contents (NULL: /dev/null) */
	/* When set, called with the launcher's pid once stdout holds the text
	 * `when_output` (or at once when that is NULL); returns when the test
	 * is done poking it (e.g. sends a signal). */
	void (*while_running)(int pid, void *arg);
	const char *when_output;
};

const char *sboxrun_path(void);
const char *probe_path(void);
bool running_as_root(void);

/* Run sboxrun with args (NULL-terminated list). */
void run_sbox(struct run_result *r, const struct run_opts *o, ...) __attribute__((sentinel));
void run_sboxv(struct run_result *r, const struct run_opts *o, const char *const *args);
void run_result_free(struct run_result *r);

/* First "key=value" line's value (malloc'd), or NULL. */
char *kv_get(const char *out, const char *key);
/* Is this exact line present? */
bool has_line(const char *out, const char *line);
/* Assert that the report's key has exactly this value (prints the run when
 * it doesn't). */
void assert_kv(const struct run_result *r, const char *key, const char *want);
/* Count lines starting with prefix. */
size_t count_prefix(const char *out, const char *prefix);

/* A fresh directory under /var/tmp (the sandbox's /tmp is private), mode
 * 0755, removed by rm_rf. */
char *make_tempdir(void);
void rm_rf(const char *path);
void write_text(const char *path, const char *text);

/* Print r's output when an assertion is about to fail. */
void dump_result(const struct run_result *r);

#define assert_exit(r, expected)                                             \
	do {                                                                 \
		if ((r)->code != (expected))                                 \
			dump_result(r);                                      \
		assert_int_equal((r)->code, (expected));                     \
	} while (0)

#define assert_line(r, line)                                                 \
	do {                                                                 \
		if (!has_line((r)->out, (line)))                             \
			dump_result(r);                                      \
		assert_true(has_line((r)->out, (line)));                     \
	} while (0)

#define assert_no_line(r, line)                                              \
	do {                                                                 \
		if (has_line((r)->out, (line)))                              \
			dump_result(r);                                      \
		assert_false(has_line((r)->out, (line)));                    \
	} while (0)

#define assert_err_contains(r, text)                                         \
	do {                                                                 \
		if (!strstr((r)->err, (text)))                               \
			dump_result(r);                                      \
		assert_non_null(strstr((r)->err, (text)));                   \
	} while (0)

/* Skip, saying why: CI counts skips and forbids the ones it must not have. */
#define skip_because(why)                                                    \
	do {                                                                 \
		fprintf(stderr, "SKIP: %s\n", (why));                        \
		skip();                                                      \
	} while (0)

#endif
