/* SPDX-License-Identifier: MIT */
/*
 * struct sbox_policy: the single description of a sandbox.  Policy files,
 * sboxrun flags and daemon requests all produce one; sandbox/ only reads it.
 * Every field has a directive in policy/directives.c, which is the one place
 * that knows names, syntax, defaults and how to print a field back.
 */
#ifndef SBOX_POLICY_POLICY_H
#define SBOX_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

/* One mount requested by BindPaths=, BindReadOnlyPaths=, TemporaryFileSystem=
 * or InaccessiblePaths=; they are applied in the order given. */
enum sbox_mount_kind {
	SBOX_MOUNT_BIND,
	SBOX_MOUNT_BIND_RO,
	SBOX_MOUNT_TMPFS,
	SBOX_MOUNT_INACCESSIBLE,
};

struct sbox_mount {
	enum sbox_mount_kind kind;
	char *src;       /* host path (binds only) */
	char *dst;       /* absolute path inside the sandbox */
	char *options;   /* tmpfs: "mode=0755,size=64M"; NULL = defaults */
	bool optional;   /* systemd's "-" prefix: skip when src is missing */
};

struct sbox_strv {
	char **v;        /* NULL-terminated */
	size_t n;
};

struct sbox_policy {
	/* Namespaces and identity of the sandbox. */
	char *hostname;            /* Hostname= */
	int private_users;         /* PrivateUsers=: -1 auto (when not root) */

	/* Filesystem view. */
	struct sbox_mount *mounts; /* BindPaths= ... InaccessiblePaths= */
	size_t n_mounts;

	/* Process state handed to the worker. */
	struct sbox_strv env;      /* Environment=: "NAME=value" */
	struct sbox_strv pass_env; /* PassEnvironment=: names */
	char *workdir;             /* WorkingDirectory=; NULL = caller's cwd */
	mode_t umask;              /* UMask= */
	bool new_session;          /* NewSession= */
};

void sbox_policy_init(struct sbox_policy *p);
void sbox_policy_free(struct sbox_policy *p);

/* Cross-directive checks run once all files and flags are applied
 * (e.g. a bind destination must be absolute and not "/"). */
int sbox_policy_validate(const struct sbox_policy *p, struct sbox_err *err);

/* strv helpers used by setters. */
int sbox_strv_push(struct sbox_strv *s, const char *value);
void sbox_strv_clear(struct sbox_strv *s);

#endif
