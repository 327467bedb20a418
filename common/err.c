/* SPDX-License-Identifier: MIT */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* How much of a message's end is always kept: the reason ("...: No such
 * file or directory") comes last, and a long path or prefix before it
 * must not push it out. */
#define KEEP_TAIL 256

/* text into err->msg; where it does not fit, its start and its last
 * KEEP_TAIL bytes with "..." between. */
static void fit(struct sbox_err *err, const char *text, size_t len)
{
	size_t cap = sizeof(err->msg) - 1;
	size_t head = cap - 3 - KEEP_TAIL;

	if (len <= cap) {
		memcpy(err->msg, text, len);
		err->msg[len] = '\0';
		return;
	}
	memcpy(err->msg, text, head);
	memcpy(err->msg + head, "...", 3);
	memcpy(err->msg + head + 3, text + len - KEEP_TAIL, KEEP_TAIL);
	err->msg[cap] = '\0';
}

static size_t clamp(int n, size_t len)
{
	return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}

int sbox_fail(struct sbox_err *err, int errnum, const char *fmt, ...)
{
	/* Room for a whole path and the reason: a message is cut to fit
	 * err->msg only once whole.  On the stack, which is the worker's
	 * 64 KiB before its exec (sandbox/launch_init.c). */
	char text[4096 + SBOX_ERR_MSG_MAX];
	va_list ap;
	size_t n;

	if (!err)
		return -1;
	va_start(ap, fmt);
	n = clamp(vsnprintf(text, sizeof(text), fmt, ap), sizeof(text));
	va_end(ap);
	if (errnum != 0)
		n += clamp(snprintf(text + n, sizeof(text) - n, ": %s", strerror(errnum)),
			   sizeof(text) - n);
	fit(err, text, n);
	err->errnum = errnum;
	return -1;
}

void sbox_err_prefix(struct sbox_err *err, const char *fmt, ...)
{
	char text[SBOX_ERR_MSG_MAX + 2 + SBOX_ERR_MSG_MAX];
	va_list ap;
	size_t n, m;

	if (!err)
		return;
	va_start(ap, fmt);
	n = clamp(vsnprintf(text, SBOX_ERR_MSG_MAX, fmt, ap), SBOX_ERR_MSG_MAX);
	va_end(ap);
	text[n++] = ':';
	text[n++] = ' ';
	m = strnlen(err->msg, sizeof(err->msg) - 1);
	memcpy(text + n, err->msg, m);
	fit(err, text, n + m);
}

void sbox_err_clear(struct sbox_err *err)
{
	if (!err)
		return;
	err->errnum = 0;
	err->msg[0] = '\0';
}
