/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/* Resource limits (LimitNOFILE= ...), set in the worker before its
 * capabilities are dropped: raising a hard limit needs CAP_SYS_RESOURCE,
 * which the worker never holds afterwards, so it can't raise one itself. */
#ifndef SBOX_SANDBOX_RLIMITS_H
#define SBOX_SANDBOX_RLIMITS_H

#include <stdbool.h>

#include "common/err.h"
#include "policy/policy.h"

/* Set every Limit*= the policy names; the others stay as inherited.
 * nofile_later: LimitNOFILE= no lower than the present limit yet (raised
 * if the policy raises it, while CAP_SYS_RESOURCE may), for steps that
 * still open and move fds (the worker's W2 and W3): a policy's 16 open
 * files must not fail the worker's own set-up;
 * sbox_rlimits_apply_nofile() then sets it exactly, which only lowers and
 * so needs no capability. */
int sbox_rlimits_apply(const struct sbox_security *s, bool nofile_later, struct sbox_err *err);
int sbox_rlimits_apply_nofile(const struct sbox_security *s, struct sbox_err *err);

#endif
