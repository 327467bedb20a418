/* SPDX-License-Identifier: MIT */
/*
 * The one INI driver of policy/: job policies (files, pipes and the text
 * clients send to sboxd) and the site configuration are all read through
 * it, on libinih.  It owns what they share — reading lines within bounds,
 * error positions ("NAME:LINE: ..."), stopping at the first error, lines
 * longer than libinih's fixed 200-byte buffer — so each parser only supplies
 * its handler.
 */
#ifndef SBOX_POLICY_INI_H
#define SBOX_POLICY_INI_H

#include <stdbool.h>
#include <stdio.h>

#include "common/err.h"

/* Longest line accepted; a value this long is far past any sane policy. */
#define SBOX_INI_LINE_MAX 65536
/* Most bytes read from one file, pipe or text: a policy is a few hundred
 * bytes; this bounds the time and memory a hostile input can take. */
#define SBOX_INI_SIZE_MAX (1024 * 1024)

/* Called for each Name=value in file order.  Returns 0, or -1 with err set;
 * the driver prefixes "NAME:LINE: " and stops at the first error. */
typedef int (*sbox_ini_handler)(void *user, const char *section, const char *key,
				const char *value, unsigned line, struct sbox_err *err);

/* Exactly one of f and text is used (f when non-NULL).  Reading stops at
 * the first error, past SBOX_INI_SIZE_MAX bytes, or at a NUL byte. */
int sbox_ini_parse(FILE *f, const char *text, const char *name, sbox_ini_handler h,
		   void *user, struct sbox_err *err);

/* Check that fd (opened from path) is something to read INI text from: a
 * regular file of at most SBOX_INI_SIZE_MAX bytes, or, when allow_pipe, a
 * pipe or FIFO (read within the same bound).  Directories, devices
 * (/dev/zero) and sockets are refused.  what names the file in messages. */
int sbox_ini_check_fd(int fd, const char *path, const char *what, bool allow_pipe,
		      struct sbox_err *err);

#endif
