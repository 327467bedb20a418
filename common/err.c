/* SPDX-License-Identifier: MIT */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int sbox_fail(struct sbox_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (errnum != 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s",
			 strerror(errnum));
	err->errnum = errnum;
	return -1;
}

void sbox_err_prefix(struct sbox_err *err, const char *fmt, ...)
{
	char prefix[SBOX_ERR_MSG_MAX];
	char old[SBOX_ERR_MSG_MAX];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* Truncation is fine: the start of a message says the most.  Built
	 * piecewise so the compiler can see no unbounded %s. */
	size_t n = strnlen(prefix, sizeof(err->msg) - 1);
	memcpy(err->msg, prefix, n);
	if (n + 2 < sizeof(err->msg)) {
		err->msg[n++] = ':';
		err->msg[n++] = ' ';
		size_t m = strnlen(old, sizeof(err->msg) - 1 - n);
		memcpy(err->msg + n, old, m);
		n += m;
	}
	err->msg[n] = '\0';
}

void sbox_err_clear(struct sbox_err *err)
{
	if (!err)
		return;
	err->errnum = 0;
	err->msg[0] = '\0';
}
