/* SPDX-License-Identifier: MIT */
/* Policy text -> struct sbox_policy, through libinih. */
#ifndef SBOX_POLICY_PARSE_H
#define SBOX_POLICY_PARSE_H

#include <stdio.h>

#include "policy/policy.h"

/* Apply a policy file on top of p (later files override earlier ones,
 * list directives accumulate).  Errors read "PATH:LINE: ...". */
int sbox_policy_load_file(struct sbox_policy *p, const char *path, struct sbox_err *err);

/* The same, with a pipe or FIFO given timeout_ms (SBOX_INI_PIPE_TIMEOUT_MS
 * for load_file) to deliver its whole text: tests use a shorter one. */
int sbox_policy_load_file_within(struct sbox_policy *p, const char *path, int timeout_ms,
				 struct sbox_err *err);

/* The same for an open stream; name is used in messages. */
int sbox_policy_load_stream(struct sbox_policy *p, FILE *f, const char *name,
			    struct sbox_err *err);

/* The same for text held in memory (daemon requests, tests). */
int sbox_policy_load_string(struct sbox_policy *p, const char *text, const char *name,
			    struct sbox_err *err);

#endif
