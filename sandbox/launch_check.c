/* SPDX-License-Identifier: MIT */
/*
 * --check=host: the host-side checks of the launch recipe's P1, run without
 * creating anything that outlives them: bind sources and mount points as
 * the launch would resolve them, the worker's identity, the devices and
 * GPUs the grant would take, and the cgroup with its limits written (made
 * and removed at once).  Here, next to the recipe, so that a check and the
 * launch it predicts can't drift apart.
 */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/dir_resources.h"
#include "sandbox/cgroup.h"
#include "sandbox/devices.h"
#include "sandbox/gpu_grant.h"
#include "sandbox/host.h"
#include "sandbox/identity.h"
#include "sandbox/recipe.h"

extern char **environ;

/* As the launch resolves them: by the caller (a check runs as the caller),
 * a missing optional ("-") source skipped. */
static int check_binds(const struct sbox_policy *p, struct sbox_err *err)
{
	for (size_t i = 0; i < p->n_mounts; i++) {
		const struct sbox_mount *m = &p->mounts[i];
		const char *dir = m->kind == SBOX_MOUNT_BIND ? "BindPaths" : "BindReadOnlyPaths";
		struct stat st;

		if (m->kind != SBOX_MOUNT_BIND && m->kind != SBOX_MOUNT_BIND_RO)
			continue;
		if (stat(m->src, &st) < 0) {
			if (errno == ENOENT && m->optional)
				continue;
			return sbox_fail(err, errno, "%s=: bind source '%s'", dir, m->src);
		}
		if (access(m->src, R_OK) < 0)
			return sbox_fail(err, errno, "%s=: bind source '%s'", dir, m->src);
	}
	return 0;
}

/* Inside a tmpfs the sandbox makes: its own /tmp and /run, or a
 * TemporaryFileSystem= of the policy. */
static bool in_sandbox_tmpfs(const struct sbox_policy *p, const char *path)
{
	/* /dev is the sandbox's own tmpfs too (sandbox/devfs.c): a bind may
	 * make its mount point there, as under /tmp and /run. */
	if (sbox_path_below(path, "/tmp") || sbox_path_below(path, "/run") ||
	    sbox_path_below(path, "/dev"))
		return true;
	for (size_t i = 0; i < p->n_mounts; i++)
		if (p->mounts[i].kind == SBOX_MOUNT_TMPFS && strcmp(p->mounts[i].dst, path) != 0 &&
		    sbox_path_below(path, p->mounts[i].dst))
			return true;
	return false;
}

/* The sandbox's root is the host's, read-only: a mount point must exist
 * there, or lie inside a tmpfs where the launch can make it. */
static int check_destinations(const struct sbox_policy *p, struct sbox_err *err)
{
	for (size_t i = 0; i < p->n_mounts; i++) {
		const struct sbox_mount *m = &p->mounts[i];
		struct stat st;

		if (m->kind == SBOX_MOUNT_INACCESSIBLE || in_sandbox_tmpfs(p, m->dst))
			continue;
		if (m->src && m->optional && stat(m->src, &st) < 0 && errno == ENOENT)
			continue;
		if (stat(m->dst, &st) < 0)
			return sbox_fail(err, errno, "mount point %s does not exist and cannot be made there (the sandbox's root is the host's, read-only; a destination must exist or lie inside a TemporaryFileSystem=)",
					 m->dst);
	}
	return 0;
}

int sbox_check_paths(const struct sbox_policy *p, struct sbox_err *err)
{
	return check_binds(p, err) < 0 || check_destinations(p, err) < 0 ? -1 : 0;
}

/* P1b and P5a's login groups as the launch does them: the caller's own
 * facts. */
static int check_identity(const struct sbox_policy *p, struct sbox_err *err)
{
	char cwd[4096];
	struct sbox_launch l = {
		.caller_cwd = getcwd(cwd, sizeof(cwd)),
		.caller_env = environ,
		.caller_uid = getuid(),
		.caller_gid = getgid(),
	};
	struct sbox_identity id;
	int r;

	if (sbox_identity_resolve(&id, p, &l, sbox_launch_userns(p), geteuid(), getegid(), err) < 0)
		return -1;
	r = sbox_identity_resolve_groups(&id, err);
	sbox_identity_free(&id);
	return r;
}

/* P1d: gpus is the launcher's choice (--gpus N); NULL: GPUs= is resolved
 * here, once, as a launch without leases resolves it. */
static int check_devices(const struct sbox_policy *p, const struct sbox_site *site,
			 const struct sbox_gpu_selection *gpus, struct sbox_err *err)
{
	_cleanup_(sbox_gpu_choice_free) struct sbox_gpu_choice named = { 0 };
	_cleanup_(sbox_gpu_grant_free) struct sbox_gpu_grant g = { 0 };

	if (sbox_devices_check_privilege(p, geteuid(), err) < 0 ||
	    (!gpus && sbox_gpu_choose_named(&named, p, site, &gpus, err) < 0))
		return -1;
	sbox_gpu_grant_init(&g);
	return sbox_gpu_grant_prepare(&g, gpus, p, site, err);
}

/* P1g: the cgroup the launch would make, with its limits written: a limit
 * this host can't enforce (controller missing, not delegated) fails here. */
static int check_cgroup(const struct sbox_policy *p, struct sbox_err *err)
{
	struct sbox_cgroup *cg = NULL;

	if (!sbox_resources_any_limit(&p->res) && !p->res.cgroup_parent)
		return 0;
	if (sbox_cgroup_for_sandbox(p, &cg, err) < 0)
		return -1;
	return sbox_cgroup_destroy(cg, err);
}

int sbox_check_host(const struct sbox_policy *p, const struct sbox_site *site,
		    const struct sbox_gpu_selection *gpus, struct sbox_err *err)
{
	if (sbox_check_paths(p, err) < 0 || check_identity(p, err) < 0 ||
	    check_devices(p, site, gpus, err) < 0 || check_cgroup(p, err) < 0)
		return -1;
	return 0;
}

#define FAVORDYNMODS_WHY                                                                 \
	"moving a process into a cgroup there (cgroup v1, or v2 without CLONE_INTO_CGROUP) " \
	"can wait for an RCU grace period, milliseconds per launch on a busy host; see "     \
	"docs/cgroups.md, \"favordynmods\""

/* favordynmods came with Linux 6.0: before, there is nothing to mount. */
static bool kernel_has_favordynmods(void)
{
	struct utsname u;
	int major = 0;

	return uname(&u) == 0 && sscanf(u.release, "%d", &major) == 1 && major >= 6;
}

int sbox_check_host_note_at(const char *mountinfo, char *note, size_t len)
{
	unsigned mounts, with;

	note[0] = '\0';
	if (!kernel_has_favordynmods() || sbox_host_favordynmods(mountinfo, &mounts, &with) < 0 ||
	    mounts == 0 || with == mounts)
		return 0;
	if (with == 0)
		snprintf(note, len, "no cgroup hierarchy (of %u) is mounted with favordynmods: %s", mounts,
			 FAVORDYNMODS_WHY);
	else
		snprintf(note, len, "%u of the %u cgroup hierarchies are mounted without favordynmods: %s",
			 mounts - with, mounts, FAVORDYNMODS_WHY);
	return 1;
}

int sbox_check_host_note(char *note, size_t len)
{
	return sbox_check_host_note_at("/proc/self/mountinfo", note, len);
}
