/* SPDX-License-Identifier: MIT */
/*
 * The directive table: one row per policy directive.  File parsing, sboxrun's
 * flags (each flag is sugar for one directive), --check printing and the
 * generated reference in docs/policy.md are all driven from it, so adding a
 * directive is one row plus its setter and printer.
 */
#ifndef SBOX_POLICY_DIRECTIVES_H
#define SBOX_POLICY_DIRECTIVES_H

#include <stddef.h>
#include <stdio.h>

#include "policy/policy.h"

/* The one section of a job policy file, as systemd units use [Service]. */
#define SBOX_POLICY_SECTION "Sandbox"

enum {
	SBOX_DIR_LIST = 1 << 0,   /* repeated lines accumulate; "" resets */
};

struct sbox_directive {
	const char *name;         /* "MemoryMax" */
	const char *flag;         /* sboxrun long flag ("memory"), or NULL */
	char short_flag;          /* or 0 */
	const char *metavar;      /* flag argument name; NULL: flag takes none */
	const char *flag_value;   /* value a flag without argument sets */
	const char *summary;      /* one line, for --help and docs */
	const char *example;      /* a valid value, for docs and tests */
	unsigned flags;
	/* Parse value into p.  For list directives value holds one or more
	 * words (sbox_split_words) and "" clears the list. */
	int (*set)(struct sbox_policy *p, const char *value, struct sbox_err *err);
	/* Write the effective setting as policy text, "Name=value\n" lines. */
	void (*print)(const struct sbox_policy *p, const struct sbox_directive *d,
		      FILE *out);
};

extern const struct sbox_directive sbox_directives[];
extern const size_t sbox_n_directives;

/* Exact, case-sensitive lookup (systemd's names are case-sensitive). */
const struct sbox_directive *sbox_directive_find(const char *name);
/* Nearest name by edit distance (case-insensitive), NULL if nothing close. */
const struct sbox_directive *sbox_directive_suggest(const char *name);
const struct sbox_directive *sbox_directive_by_flag(const char *flag);

/* A setting as messages quote it, "Name=value" ("MemoryMax=256M" in a
 * refusal): into buf, cut to fit, and returned for a format's %s.  Every
 * message that names a directive with its value builds it here, so they
 * all read alike and as the policy file would say it. */
const char *sbox_directive_text(const char *name, const char *value, char *buf, size_t len);

/* Set one directive by name; unknown names fail with a suggestion. */
int sbox_policy_set(struct sbox_policy *p, const char *name, const char *value,
		    struct sbox_err *err);

/* The effective policy as a policy file (round-trips through the parser). */
void sbox_policy_print(const struct sbox_policy *p, FILE *out);

#endif
