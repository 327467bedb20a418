/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/* Resource limits (LimitNOFILE= ...), set in the worker before its
 * capabilities are dropped: raising a hard limit needs CAP_SYS_RESOURCE,
 * which the worker never holds afterwards, so it can't raise one itself. */
#ifndef SBOX_SANDBOX_RLIMITS_H
#define SBOX_SANDBOX_RLIMITS_H

#include "common/err.h"
#include "policy/policy.h"

/* Set every Limit*= the policy names; the others stay as inherited. */
int sbox_rlimits_apply(const struct sbox_security *s, struct sbox_err *err);

#endif
