/* SPDX-License-Identifier: MIT */
/* Internal to sandbox/: only its own files and white-box tests include it. */
/*
 * Who the worker runs as: User=, Group=, SupplementaryGroups=, resolved from
 * the host's databases in the launcher's parent process (the ids at P1b,
 * the login groups at P5a), never by NSS inside the sandbox, and applied
 * in the worker before the capabilities are dropped.  The default
 * (docs/security.md, "Identity"):
 *   - in a user namespace (an unprivileged caller): the caller's own ids,
 *     the only ones the kernel lets it map;
 *   - without one (a root caller): the requester's ids when a privileged
 *     launcher acts for someone (launch->caller_uid != 0), else nobody.
 * uid 0 of the host's user namespace only with User=root (or 0) named.
 */
#ifndef SBOX_SANDBOX_IDENTITY_H
#define SBOX_SANDBOX_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"
#include "policy/policy.h"
#include "sandbox/sandbox.h"

struct sbox_identity {
	uid_t uid;
	gid_t gid;
	gid_t *groups;          /* supplementary groups (setgroups) */
	size_t n_groups;
	bool set_groups;        /* false in a user namespace: setgroups is denied */
	/* The user's name in the host's passwd, whose login groups
	 * sbox_identity_resolve_groups() adds; NULL: none (a number without
	 * an entry, or a user namespace). */
	char *login;
};

/* P1b: the ids, and every name the policy gives (User=, Group=,
 * SupplementaryGroups=) looked up, so that a launch that names one the
 * host lacks fails before anything exists.  groups then holds the gid and
 * the supplementary groups, not yet the login's.  userns: the launch gets
 * a user namespace mapping mapped_uid and mapped_gid 1:1 (and nothing
 * else). */
int sbox_identity_resolve(struct sbox_identity *id, const struct sbox_policy *p,
			  const struct sbox_launch *l, bool userns, uid_t mapped_uid,
			  gid_t mapped_gid, struct sbox_err *err);
/* P5a, per request: the groups a login of the user would have
 * (getgrouplist, as systemd's User= gives them), added to groups.  Apart
 * from the ids because it is the costly part (NSS loads its modules for
 * it: about 1 ms of a fresh process here) and because a prepared sandbox
 * may wait days: done at specialise, after the clone, it overlaps init's
 * build and is as of the request.  At most NGROUPS_MAX in all. */
int sbox_identity_resolve_groups(struct sbox_identity *id, struct sbox_err *err);
/* In the worker: groups, gid, uid, with PR_SET_KEEPCAPS on so that the
 * capability step (sandbox/caps.c) still holds CAP_SETPCAP to drop the
 * bounding set and lock the securebits; that step clears it again. */
int sbox_identity_apply(const struct sbox_identity *id, struct sbox_err *err);
void sbox_identity_free(struct sbox_identity *id);

#endif
