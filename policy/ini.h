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
#include <sys/stat.h>

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

/* How long a pipe or FIFO may take to deliver all its text: a FIFO with no
 * writer, or one that never closes, is an error after this, not a hang. */
#define SBOX_INI_PIPE_TIMEOUT_MS 10000

/* Open path to read INI text from; its fd (O_NONBLOCK), with *st filled,
 * or -1 with err set.  The type is checked before anything is opened for
 * reading: a regular file of at most SBOX_INI_SIZE_MAX bytes, or, when
 * allow_pipe, a pipe or FIFO.  Directories, devices (/dev/zero,
 * /dev/watchdog) and sockets are refused without being opened.  Symbolic
 * links are followed (-p /dev/stdin); what they lead to is what's checked.
 * what names the file in messages.  When path can't be opened at all,
 * returns -errno with err untouched: the caller words it (ENOENT may be
 * fine). */
int sbox_ini_open(const char *path, const char *what, bool allow_pipe, struct stat *st,
		  struct sbox_err *err);

/* fd's whole text (from sbox_ini_open), read within SBOX_INI_SIZE_MAX + 1
 * bytes and timeout_ms, as a stream for sbox_ini_parse; NULL with err set. */
FILE *sbox_ini_read_fd(int fd, const char *path, const char *what, int timeout_ms,
		       struct sbox_err *err);

#endif
