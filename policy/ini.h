/* SPDX-License-Identifier: MIT */
/*
 * The one INI driver of policy/: job policies and the site configuration are
 * both read through it, on libinih.  It owns what the two share — reading
 * lines, error positions ("NAME:LINE: ...") and lines longer than libinih's
 * fixed 200-byte buffer — so each parser only supplies its handler.
 */
#ifndef SBOX_POLICY_INI_H
#define SBOX_POLICY_INI_H

#include <stdio.h>

#include "common/err.h"

/* Longest line accepted; a value this long is far past any sane policy. */
#define SBOX_INI_LINE_MAX 65536

/* Called for each Name=value in file order.  Returns 0, or -1 with err set;
 * the driver prefixes "NAME:LINE: " and stops at the first error. */
typedef int (*sbox_ini_handler)(void *user, const char *section, const char *key,
				const char *value, unsigned line, struct sbox_err *err);

/* Exactly one of f and text is used (f when non-NULL). */
int sbox_ini_parse(FILE *f, const char *text, const char *name, sbox_ini_handler h,
		   void *user, struct sbox_err *err);

#endif
