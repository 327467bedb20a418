/* SPDX-License-Identifier: MIT */
/*
 * Directives of the security area (docs/security.md): identity (User=,
 * Group=, SupplementaryGroups=), capabilities (CapabilityBoundingSet=,
 * AmbientCapabilities=, --cap-add), NoNewPrivileges=, the system call filter
 * (SeccompProfile=, SystemCallFilter=, SystemCallErrorNumber=) and resource
 * limits (LimitNOFILE= ...).  Syntax and cross-directive checks only: names
 * are resolved in the launcher's parent process (sandbox/identity.c) and the
 * mechanisms live in sandbox/caps.c, seccomp.c and rlimits.c.
 */
#ifndef SBOX_POLICY_DIR_SECURITY_H
#define SBOX_POLICY_DIR_SECURITY_H

#include <stdint.h>
#include <stdio.h>

#include "policy/directives.h"
#include "policy/policy.h"

void sbox_security_policy_init(struct sbox_security *s);
void sbox_security_policy_free(struct sbox_security *s);
int sbox_security_policy_validate(const struct sbox_policy *p, struct sbox_err *err);

/* Every capability this build knows: bits 0..CAP_LAST_CAP. */
uint64_t sbox_caps_all(void);
/* A list of capability names ("CAP_NET_RAW cap_chown"), "~" first to
 * invert (all but those listed).  0 and *mask set, or -EINVAL with the
 * offending word in *bad (points into the caller's string or words). */
int sbox_parse_cap_list(const char *value, uint64_t *mask, char *bad, size_t bad_len);
/* "CAP_CHOWN CAP_NET_RAW", or "~CAP_SYS_ADMIN" when shorter; "" for 0. */
void sbox_format_cap_list(uint64_t mask, char *buf, size_t len);

/* "EPERM", "enosys" or a number 1..4095.  0 or -EINVAL. */
int sbox_parse_errno(const char *s, int *out);
/* "EPERM"; NULL for a number without a name here. */
const char *sbox_errno_name(int e);

/* The directive name of resource r (RLIMIT_NOFILE: "LimitNOFILE"). */
const char *sbox_rlimit_directive(int resource);
/* Parse a Limit*= value for resource r: "V" or "SOFT:HARD", "infinity".
 * 0, or -EINVAL / -ERANGE (soft above hard is -ERANGE). */
int sbox_parse_rlimit(int resource, const char *s, struct sbox_rlimit *out);

#define SBOX_SEC_DECLARE(fn)                                                             \
	int sbox_dir_set_##fn(struct sbox_policy *p, const char *v, struct sbox_err *err); \
	void sbox_dir_print_##fn(const struct sbox_policy *p, const struct sbox_directive *d, \
				 FILE *out);
SBOX_SEC_DECLARE(user)
SBOX_SEC_DECLARE(group)
SBOX_SEC_DECLARE(supp_groups)
SBOX_SEC_DECLARE(no_new_privs)
SBOX_SEC_DECLARE(cap_bounding)
SBOX_SEC_DECLARE(cap_ambient)
SBOX_SEC_DECLARE(seccomp_profile)
SBOX_SEC_DECLARE(syscall_filter)
SBOX_SEC_DECLARE(syscall_errno)
SBOX_SEC_DECLARE(limit_cpu)
SBOX_SEC_DECLARE(limit_fsize)
SBOX_SEC_DECLARE(limit_data)
SBOX_SEC_DECLARE(limit_stack)
SBOX_SEC_DECLARE(limit_core)
SBOX_SEC_DECLARE(limit_rss)
SBOX_SEC_DECLARE(limit_nofile)
SBOX_SEC_DECLARE(limit_as)
SBOX_SEC_DECLARE(limit_nproc)
SBOX_SEC_DECLARE(limit_memlock)
SBOX_SEC_DECLARE(limit_locks)
SBOX_SEC_DECLARE(limit_sigpending)
SBOX_SEC_DECLARE(limit_msgqueue)
SBOX_SEC_DECLARE(limit_nice)
SBOX_SEC_DECLARE(limit_rtprio)
SBOX_SEC_DECLARE(limit_rttime)
/* --cap-add: flag only (no printer). */
int sbox_dir_set_cap_add(struct sbox_policy *p, const char *v, struct sbox_err *err);

#define SBOX_SEC_ROW(name, flag, metavar, summary, example, flags, fn)                   \
	{ name, flag, 0, metavar, NULL, summary, example, flags, sbox_dir_set_##fn,      \
	  sbox_dir_print_##fn },
#define SBOX_SEC_LIMIT(name, what, example, fn)                                          \
	SBOX_SEC_ROW(name, NULL, NULL, "resource limit: " what " (SOFT[:HARD], default: inherited)", \
		     example, 0, fn)

/* Rows for the directive table in policy/directives.c. */
#define SBOX_SECURITY_DIRECTIVES                                                         \
	SBOX_SEC_ROW("User", "user", "USER",                                             \
		     "user the worker runs as, a name or uid (default: the caller; nobody when the caller is root)", \
		     "nobody", 0, user)                                                  \
	SBOX_SEC_ROW("Group", "group", "GROUP",                                          \
		     "group the worker runs as, a name or gid (default: the user's)",    \
		     "nogroup", 0, group)                                                \
	SBOX_SEC_ROW("SupplementaryGroups", NULL, NULL,                                  \
		     "more groups for the worker, names or gids (not in a user namespace)", \
		     "video", SBOX_DIR_LIST, supp_groups)                                \
	SBOX_SEC_ROW("NoNewPrivileges", NULL, NULL,                                      \
		     "no_new_privs: execve can never add privileges (default yes)", "yes", 0, \
		     no_new_privs)                                                       \
	SBOX_SEC_ROW("CapabilityBoundingSet", NULL, NULL,                                \
		     "capabilities the worker may ever hold; \"~\" first: all but these (default: none)", \
		     "CAP_NET_BIND_SERVICE", SBOX_DIR_LIST, cap_bounding)                \
	SBOX_SEC_ROW("AmbientCapabilities", NULL, NULL,                                  \
		     "capabilities the worker holds across execve (must be in CapabilityBoundingSet=)", \
		     "CAP_NET_BIND_SERVICE", SBOX_DIR_LIST, cap_ambient)                 \
	{ "AmbientCapabilities", "cap-add", 0, "CAP", NULL,                              \
	  "grant the worker a capability (CapabilityBoundingSet= and AmbientCapabilities=)", \
	  NULL, SBOX_DIR_LIST, sbox_dir_set_cap_add, NULL },                             \
	SBOX_SEC_ROW("SeccompProfile", "seccomp", "PROFILE",                             \
		     "system call filter: default (a deny list), strict (an allow list) or none", \
		     "strict", 0, seccomp_profile)                                       \
	SBOX_SEC_ROW("SystemCallFilter", NULL, NULL,                                     \
		     "edit the filter: NAME or @group allows, ~NAME denies (systemd's groups)", \
		     "~@clock ptrace", SBOX_DIR_LIST, syscall_filter)                    \
	SBOX_SEC_ROW("SystemCallErrorNumber", NULL, NULL,                                \
		     "errno a denied call fails with (default EPERM), or kill", "EPERM", 0, \
		     syscall_errno)                                                      \
	SBOX_SEC_LIMIT("LimitCPU", "CPU time, seconds", "1h", limit_cpu)                 \
	SBOX_SEC_LIMIT("LimitFSIZE", "file size, bytes", "16G", limit_fsize)             \
	SBOX_SEC_LIMIT("LimitDATA", "data segment, bytes", "infinity", limit_data)       \
	SBOX_SEC_LIMIT("LimitSTACK", "stack, bytes", "8M:infinity", limit_stack)         \
	SBOX_SEC_LIMIT("LimitCORE", "core file size, bytes", "0", limit_core)            \
	SBOX_SEC_LIMIT("LimitRSS", "resident set (ignored by Linux), bytes", "infinity", limit_rss) \
	SBOX_SEC_LIMIT("LimitNOFILE", "open files", "1024:524288", limit_nofile)         \
	SBOX_SEC_LIMIT("LimitAS", "address space, bytes", "64G", limit_as)              \
	SBOX_SEC_LIMIT("LimitNPROC", "processes of the worker's user", "4096", limit_nproc) \
	SBOX_SEC_LIMIT("LimitMEMLOCK", "locked memory, bytes", "64M", limit_memlock)     \
	SBOX_SEC_LIMIT("LimitLOCKS", "file locks", "infinity", limit_locks)              \
	SBOX_SEC_LIMIT("LimitSIGPENDING", "queued signals", "4096", limit_sigpending)    \
	SBOX_SEC_LIMIT("LimitMSGQUEUE", "POSIX message queues, bytes", "800K", limit_msgqueue) \
	SBOX_SEC_LIMIT("LimitNICE", "nice ceiling, -20..19 with a sign or 0..40 raw", "+0", limit_nice) \
	SBOX_SEC_LIMIT("LimitRTPRIO", "real-time priority", "0", limit_rtprio)           \
	SBOX_SEC_LIMIT("LimitRTTIME", "real-time CPU time, microseconds", "200ms", limit_rttime)

#endif
