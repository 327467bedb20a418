/* SPDX-License-Identifier: MIT */
/*
 * The error contract (crun's, see docs/design.md): a function that can fail
 * returns -1 (or a negative errno where documented) and fills a caller-owned
 * struct sbox_err with one sentence saying what failed, on which object and
 * why.  Callers add context with sbox_err_prefix(); only the top of a program
 * prints it.  Nothing below launcher/ exits the process on error, because the
 * daemon must survive every request.
 */
#ifndef SBOX_COMMON_ERR_H
#define SBOX_COMMON_ERR_H

#include <stddef.h>

#define SBOX_ERR_MSG_MAX 1024

struct sbox_err {
	int errnum;                  /* errno of the root cause, 0 if none */
	char msg[SBOX_ERR_MSG_MAX];  /* "what failed: why" */
};

/* Record an error; when errnum != 0 ": strerror(errnum)" is appended.
 * Always returns -1 so that "return sbox_fail(...)" reads naturally.
 * A message longer than msg (a hostile path in it) keeps its start and
 * its last 256 bytes, "..." between: the reason comes last. */
int sbox_fail(struct sbox_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepend context: "CONTEXT: <previous message>", cut as above. */
void sbox_err_prefix(struct sbox_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void sbox_err_clear(struct sbox_err *err);

#endif
