/* SPDX-License-Identifier: MIT */
/*
 * Value syntax of policy directives, after systemd's (systemd.exec(5),
 * systemd.resource-control(5), systemd.time(7)).  Pure functions: no kernel,
 * no global state, so they are unit-tested and fuzzed on their own.
 * Every parser returns 0 on success or a negative errno (-EINVAL for bad
 * syntax, -ERANGE for out of range) and leaves *out untouched on failure.
 */
#ifndef SBOX_POLICY_VALUES_H
#define SBOX_POLICY_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SBOX_INFINITY UINT64_MAX

/* yes/no, true/false, on/off, 1/0 (case-insensitive). */
int sbox_parse_bool(const char *s, bool *out);

/* Bytes: "512", "64K", "64M", "1.5G", "2T" (base 1024, systemd's K/M/G/T/P/E
 * with an optional trailing 'B' is NOT accepted: systemd writes 64M), "50%"
 * of total (total == 0 makes '%' an error), "infinity" -> SBOX_INFINITY. */
int sbox_parse_size(const char *s, uint64_t total, uint64_t *out);
/* Inverse for printing: the shortest exact form ("64M", "1536K", "infinity"). */
void sbox_format_size(uint64_t v, char *buf, size_t len);

/* Time span in microseconds: "90" (seconds), "90s", "500ms", "1min 30s",
 * "2h", "1d", "us"/"usec", "ms"/"msec", "s"/"sec", "m"/"min", "h"/"hr",
 * "d"/"day", "w"; "infinity" -> SBOX_INFINITY.  Fractions like "1.5s" ok. */
int sbox_parse_timespan(const char *s, uint64_t *out_usec);
/* Inverse: "1min 30s", "500ms", "infinity". */
void sbox_format_timespan(uint64_t usec, char *buf, size_t len);

/* "150%" -> 15000 (permyriad, i.e. 1/10000 of one CPU, so "0.5%" works);
 * must end in '%', must be > 0. */
int sbox_parse_cpu_quota(const char *s, uint32_t *out_permyriad);
void sbox_format_cpu_quota(uint32_t permyriad, char *buf, size_t len);

/* Unsigned integer in [min, max], decimal only, no sign, no junk. */
int sbox_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Octal file mode creation mask "0022" / "022" / "77", 0..0777. */
int sbox_parse_umask(const char *s, mode_t *out);

/* CPU or memory-node list "0-3,8,10-11" (also space-separated, as systemd
 * accepts) into a bit set of nbits bits (bytes = nbits/8).  Ids >= nbits are
 * -ERANGE.  Empty string is -EINVAL. */
int sbox_parse_id_list(const char *s, uint8_t *bits, size_t nbits);
/* Inverse: canonical "0-3,8,10-11" ("" when empty). */
void sbox_format_id_list(const uint8_t *bits, size_t nbits, char *buf, size_t len);

/*
 * systemd-style word splitting of one directive value: words separated by
 * whitespace; "double" and 'single' quotes group; backslash escapes the next
 * character (\n, \t, \\, \", \' and \ followed by space understood) outside
 * single quotes.  On success *out is a NULL-terminated malloc'd vector of
 * malloc'd strings and *n its length (may be 0).  Unterminated quote or
 * trailing backslash: -EINVAL.  Free with sbox_strv_free().
 */
int sbox_split_words(const char *s, char ***out, size_t *n);
void sbox_strv_free(char **v);

/* Quote a word so that sbox_split_words() gives it back unchanged: returned
 * as-is when it needs no quoting, otherwise in double quotes with \ escapes.
 * Writes into buf and returns buf; a word that does not fit is cut inside
 * an unclosed quote, so that it fails to split rather than read back as
 * a shorter or an empty word.  _dup: in a buffer of its own, whole (NULL:
 * out of memory); free it. */
char *sbox_quote_word(const char *w, char *buf, size_t len);
char *sbox_quote_word_dup(const char *w);

/* An absolute path with no ".." component: what mount destinations and
 * site paths must be (".." could still climb within a root, but makes a
 * policy hard to audit). */
bool sbox_path_is_normal_absolute(const char *path);

/* Case-insensitive edit distance (insert, delete, substitute = 1), for
 * "did you mean" suggestions. */
size_t sbox_edit_distance(const char *a, const char *b);

#endif
