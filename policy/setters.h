/* SPDX-License-Identifier: MIT */
/* Helpers shared by the setters and printers of every directive area. */
#ifndef SBOX_POLICY_SETTERS_H
#define SBOX_POLICY_SETTERS_H

#include <stdbool.h>
#include <stdio.h>

#include "policy/policy.h"

int sbox_set_string(char **field, const char *value, struct sbox_err *err);
int sbox_set_bool(bool *field, const char *value, struct sbox_err *err);
int sbox_split_value(const char *value, char ***words, size_t *n, struct sbox_err *err);
void sbox_print_string(FILE *out, const char *name, const char *value);
void sbox_print_strv(FILE *out, const char *name, const struct sbox_strv *s);
/* One "Name=word" line, the word quoted to read back as it is, whatever
 * its length. */
void sbox_print_word(FILE *out, const char *name, const char *word);
/* Set NAME=value in env, replacing an earlier NAME. */
int sbox_env_set(struct sbox_strv *env, const char *assignment);

#endif
