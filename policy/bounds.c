/* SPDX-License-Identifier: MIT */
/*
 * Site bounds (policy/bounds.h): pure checks of a parsed job policy against
 * the [Bounds] of the site configuration.  Every refusal names the bound and
 * the file it comes from, so that a user knows whom to ask.
 */
#include "policy/bounds.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "policy/dir_network.h"
#include "policy/dir_resources.h"
#include "policy/dir_security.h"
#include "policy/values.h"

void sbox_bounds_init(struct sbox_bounds *b)
{
	memset(b, 0, sizeof(*b));
	b->memory_max = SBOX_INFINITY;
	b->tasks_max = SBOX_INFINITY;
	b->runtime_max_usec = SBOX_INFINITY;
	/* A group is per user and holds only lo: harmless.  veth is not
	 * (a route on the host; the host's listeners reachable). */
	b->allow_group_network = true;
}

void sbox_bounds_free(struct sbox_bounds *b)
{
	sbox_strv_free(b->bind_paths);
	free(b->gpu_rules);
	sbox_bounds_init(b);
}

bool sbox_bounds_apply_to(const struct sbox_requester *who)
{
	return who->uid != 0;
}

static const char *file_of(const struct sbox_bounds *b)
{
	return b->file ? b->file : "the site configuration";
}

bool sbox_requester_in(const struct sbox_requester *who, const uid_t *uids, size_t n_uids,
		       const gid_t *gids, size_t n_gids)
{
	for (size_t i = 0; i < n_uids; i++)
		if (uids[i] == who->uid)
			return true;
	for (size_t i = 0; i < n_gids; i++) {
		if (gids[i] == who->gid)
			return true;
		for (size_t k = 0; k < who->n_groups; k++)
			if (who->groups[k] == gids[i])
				return true;
	}
	return false;
}

bool sbox_path_below(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	while (n > 1 && prefix[n - 1] == '/')
		n--;
	if (n == 1 && prefix[0] == '/')
		return path[0] == '/';
	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* User= names the caller himself: by uid or by name. */
static bool is_caller(const char *user, const struct sbox_requester *who)
{
	uint64_t v;

	if (sbox_parse_uint(user, 0, UINT32_MAX, &v) == 0)
		return v == who->uid;
	return who->user_name && strcmp(user, who->user_name) == 0;
}

static int passwd_entry(const char *name, char *buf, size_t len, uint32_t *id, bool *found)
{
	struct passwd pw, *res = NULL;
	int r = getpwnam_r(name, &pw, buf, len, &res);

	if (r == 0 && res) {
		*id = res->pw_uid;
		*found = true;
	}
	return r;
}

static int group_entry(const char *name, char *buf, size_t len, uint32_t *id, bool *found)
{
	struct group gr, *res = NULL;
	int r = getgrnam_r(name, &gr, buf, len, &res);

	if (r == 0 && res) {
		*id = res->gr_gid;
		*found = true;
	}
	return r;
}

/* The uid or gid a User=/Group= value names: a number, or a name the
 * host's database (entry()) resolves, with a buffer grown until the entry
 * fits (a group with many members, docker or render, the ones that
 * matter, has a long one).  1, 0 when it names none (P1b then refuses the
 * launch), -1 when the lookup failed (an NSS error): the caller refuses
 * then, never allows. */
static int name_id(const char *name, int (*entry)(const char *, char *, size_t, uint32_t *, bool *),
		   uint32_t *id)
{
	uint64_t v;

	if (sbox_parse_uint(name, 0, UINT32_MAX, &v) == 0) {
		*id = (uint32_t)v;
		return 1;
	}
	for (size_t len = 4096; len <= (1u << 24); len *= 4) {
		char *buf = malloc(len);
		bool found = false;
		int r;

		if (!buf)
			return -1;
		r = entry(name, buf, len, id, &found);
		free(buf);
		if (r == ERANGE)
			continue;
		return r != 0 ? -1 : found;
	}
	return -1;
}

/* UID_MIN, UID_MAX, GID_MIN or GID_MAX of /etc/login.defs (1000 and 60000
 * where it says nothing): the regular accounts' range; below it are the
 * system's, above it the system's dynamic ones (systemd's DynamicUser=,
 * 61184-65519). */
static uint32_t login_def(const char *key, uint32_t dflt)
{
	FILE *f = fopen("/etc/login.defs", "re");
	char line[256];
	uint32_t val = dflt;
	size_t kl = strlen(key);

	while (f && fgets(line, sizeof(line), f)) {
		const char *l = line + strspn(line, " \t");
		uint64_t v;
		char num[32];

		if (strncmp(l, key, kl) == 0 && (l[kl] == ' ' || l[kl] == '\t') &&
		    sscanf(l + kl, "%31s", num) == 1 && sbox_parse_uint(num, 1, UINT32_MAX, &v) == 0)
			val = (uint32_t)v;
	}
	if (f)
		fclose(f);
	return val;
}

#define NOBODY_ID 65534

static bool caller_in_group(const struct sbox_requester *who, uint32_t gid)
{
	if (who->gid == gid)
		return true;
	for (size_t i = 0; i < who->n_groups; i++)
		if (who->groups[i] == gid)
			return true;
	return false;
}

/* A group a client may hand its worker under AllowUserSwitch=: a regular
 * one, nogroup, or a system group the client is in itself.  0, or -1
 * naming the directive. */
static int check_switch_group(const char *directive, const char *group, uint32_t gid_min,
			      uint32_t gid_max, const struct sbox_requester *who,
			      const struct sbox_bounds *b, struct sbox_err *err)
{
	uint32_t gid;
	int r = name_id(group, group_entry, &gid);

	if (r == 0)
		return 0;   /* P1b says there is no such group */
	if (r < 0)
		return sbox_fail(err, 0, "%s=%s: looking the group up failed, so it can't be checked against AllowUserSwitch= (%s)",
				 directive, group, file_of(b));
	if (gid == 0)
		return sbox_fail(err, 0, "%s=%s is root's group: AllowUserSwitch= never lets a client other than root choose it (%s)",
				 directive, group, file_of(b));
	if ((gid >= gid_min && gid <= gid_max) || gid == NOBODY_ID || caller_in_group(who, gid))
		return 0;
	return sbox_fail(err, 0, "%s=%s is a system group (gid %u, outside %u-%u): AllowUserSwitch= lets a client choose one only if it is in it itself (%s)",
			 directive, group, (unsigned)gid, (unsigned)gid_min, (unsigned)gid_max, file_of(b));
}

/* AllowUserSwitch= lets a client run its worker as another user, never as
 * root: uid 0 owns the host's files, so a root worker handed a directory
 * fd of / (or any of root's files) writes /etc/shadow.  Root's group is
 * refused for the same reason (group-writable root files).  Nor as a
 * system account or with a system group the client is not in: those own
 * what is as good as root (shadow reads /etc/shadow, disk the raw disks,
 * a daemon's account its state); a regular account or group, nobody and
 * nogroup are what the switch is for. */
static int check_switch(const struct sbox_policy *p, const struct sbox_requester *who,
			const struct sbox_bounds *b, struct sbox_err *err)
{
	uint32_t gid_min = login_def("GID_MIN", 1000), gid_max = login_def("GID_MAX", 60000), uid;
	int r = p->sec.user ? name_id(p->sec.user, passwd_entry, &uid) : 0;

	if (r < 0)
		return sbox_fail(err, 0, "User=%s: looking the account up failed, so it can't be checked against AllowUserSwitch= (%s)",
				 p->sec.user, file_of(b));
	if (r > 0) {
		uint32_t uid_min = login_def("UID_MIN", 1000), uid_max = login_def("UID_MAX", 60000);

		if (uid == 0)
			return sbox_fail(err, 0, "User=%s is root: AllowUserSwitch= never lets a client other than root run a worker as root (%s)",
					 p->sec.user, file_of(b));
		if ((uid < uid_min || uid > uid_max) && uid != NOBODY_ID && uid != who->uid)
			return sbox_fail(err, 0, "User=%s is a system account (uid %u, outside %u-%u): AllowUserSwitch= lets a client run workers as regular accounts and nobody only (%s)",
					 p->sec.user, (unsigned)uid, (unsigned)uid_min, (unsigned)uid_max,
					 file_of(b));
	}
	if (p->sec.group && check_switch_group("Group", p->sec.group, gid_min, gid_max, who, b, err) < 0)
		return -1;
	for (size_t i = 0; i < p->sec.supp_groups.n; i++)
		if (check_switch_group("SupplementaryGroups", p->sec.supp_groups.v[i], gid_min, gid_max,
				       who, b, err) < 0)
			return -1;
	return 0;
}

static int check_identity(const struct sbox_bounds *b, const struct sbox_policy *p,
			  const struct sbox_requester *who, struct sbox_err *err)
{
	if (b->allow_user_switch)
		return check_switch(p, who, b, err);
	if (p->sec.user && !is_caller(p->sec.user, who))
		return sbox_fail(err, 0, "User=%s is not the caller (uid %u): the site bound AllowUserSwitch=no forbids it (%s)",
				 p->sec.user, (unsigned)who->uid, file_of(b));
	if (p->sec.group)
		return sbox_fail(err, 0, "Group=%s: the site bound AllowUserSwitch=no forbids choosing the group (%s)",
				 p->sec.group, file_of(b));
	if (p->sec.supp_groups.n > 0)
		return sbox_fail(err, 0, "SupplementaryGroups=%s: the site bound AllowUserSwitch=no forbids it (%s)",
				 p->sec.supp_groups.v[0], file_of(b));
	return 0;
}

/* Capabilities and limits: what sboxd (root) hands a worker is real, so
 * a client may ask only what the site allows. */
static int check_privileges(const struct sbox_bounds *b, const struct sbox_policy *p,
			    const struct sbox_bounds_ctx *ctx, struct sbox_err *err)
{
	uint64_t extra = p->sec.cap_ambient & ~b->allow_caps;

	if (extra) {
		char names[512];

		sbox_format_cap_list(extra, names, sizeof(names));
		return sbox_fail(err, 0, "AmbientCapabilities=%s is past the site bound AllowCapabilities= (%s)",
				 names, file_of(b));
	}
	if (p->sec.seccomp == SBOX_SECCOMP_NONE && !b->allow_no_seccomp)
		return sbox_fail(err, 0, "SeccompProfile=none is past the site bound AllowNoSeccomp=no (%s)",
				 file_of(b));
	if (!p->sec.no_new_privs && !b->allow_new_privileges)
		return sbox_fail(err, 0, "NoNewPrivileges=no is past the site bound AllowNewPrivileges=no (%s)",
				 file_of(b));
	return sbox_bounds_check_rlimits(p, ctx->hard, "sboxd's own", "is past the site bounds", err);
}

int sbox_bounds_check_rlimits(const struct sbox_policy *p, const uint64_t hard[SBOX_RLIMIT_COUNT],
			      const char *whose, const char *why, struct sbox_err *err)
{
	for (int r = 0; r < SBOX_RLIMIT_COUNT; r++) {
		const struct sbox_rlimit *l = &p->sec.rlimits[r];
		const char *name = sbox_rlimit_directive(r);
		uint64_t ceiling = hard[r];

		/* RLIMIT_NICE only grants: up to 20 is "back to nice 0", what
		 * any process starts at; a root launcher's own (0: it needs
		 * none) would refuse every LimitNICE=. */
		if (r == RLIMIT_NICE && ceiling < 20)
			ceiling = 20;
		if (!l->set || l->hard <= ceiling)
			continue;
		if (r == RLIMIT_NICE)
			return sbox_fail(err, 0, "LimitNICE: a hard limit above 20 (a nice value below 0) %s", why);
		return sbox_fail(err, 0, "%s: a hard limit above %s (%llu) %s; a job may only lower it",
				 name ? name : "Limit", whose, (unsigned long long)hard[r], why);
	}
	return 0;
}

/* A limit as a number (percentages resolved against total); UINT64_MAX:
 * unset or infinity. */
static uint64_t limit_value(const struct sbox_limit *l, uint64_t total)
{
	return l->set ? sbox_limit_resolve(l, total) : UINT64_MAX;
}

static int past(struct sbox_err *err, const struct sbox_bounds *b, const char *name,
		const char *job, const char *bound)
{
	char jt[SBOX_ERR_MSG_MAX], bt[SBOX_ERR_MSG_MAX];

	return sbox_fail(err, 0, "%s is past the site bound %s (%s)%s",
			 sbox_directive_text(name, job, jt, sizeof(jt)),
			 sbox_directive_text(name, bound, bt, sizeof(bt)), file_of(b),
			 strcmp(job, "infinity") == 0 ?
			 ": set a limit (the site's [Defaults] may give one)" : "");
}

static int check_size_bound(const struct sbox_bounds *b, const char *name,
			    const struct sbox_limit *l, uint64_t total, uint64_t bound, bool bytes,
			    struct sbox_err *err)
{
	uint64_t v = limit_value(l, total);
	char jv[64], bv[64];

	if (bound == SBOX_INFINITY || v <= bound)
		return 0;
	if (bytes) {
		sbox_format_size(v, jv, sizeof(jv));
		sbox_format_size(bound, bv, sizeof(bv));
	} else {
		snprintf(jv, sizeof(jv), "%llu", (unsigned long long)v);
		snprintf(bv, sizeof(bv), "%llu", (unsigned long long)bound);
	}
	if (v == UINT64_MAX)
		snprintf(jv, sizeof(jv), "infinity");
	return past(err, b, name, jv, bv);
}

static int check_resources(const struct sbox_bounds *b, const struct sbox_policy *p,
			   const struct sbox_bounds_ctx *ctx, struct sbox_err *err)
{
	const struct sbox_resources *r = &p->res;
	char jv[64], bv[64];

	if (check_size_bound(b, "MemoryMax", &r->memory_max, ctx->mem_total, b->memory_max, true,
			     err) < 0 ||
	    check_size_bound(b, "TasksMax", &r->tasks_max, ctx->tasks_total, b->tasks_max, false,
			     err) < 0)
		return -1;
	if (b->cpu_quota && (r->cpu_quota == 0 || r->cpu_quota > b->cpu_quota)) {
		sbox_format_cpu_quota(b->cpu_quota, bv, sizeof(bv));
		if (r->cpu_quota)
			sbox_format_cpu_quota(r->cpu_quota, jv, sizeof(jv));
		return past(err, b, "CPUQuota", r->cpu_quota ? jv : "infinity", bv);
	}
	if (b->runtime_max_usec != SBOX_INFINITY && r->runtime_max_usec > b->runtime_max_usec) {
		sbox_format_timespan(b->runtime_max_usec, bv, sizeof(bv));
		if (r->runtime_max_usec != UINT64_MAX)
			sbox_format_timespan(r->runtime_max_usec, jv, sizeof(jv));
		return past(err, b, "RuntimeMaxSec", r->runtime_max_usec == UINT64_MAX ? "infinity" : jv,
			    bv);
	}
	if (b->cpus_set) {
		uint8_t mine[SBOX_BOUNDS_MAX_CPUS / 8] = { 0 };
		char list[256];

		sbox_format_id_list(b->cpus, SBOX_BOUNDS_MAX_CPUS, list, sizeof(list));
		if (!r->allowed_cpus)
			return past(err, b, "AllowedCPUs", "(all)", list);
		if (sbox_parse_id_list(r->allowed_cpus, mine, SBOX_BOUNDS_MAX_CPUS) < 0)
			return past(err, b, "AllowedCPUs", r->allowed_cpus, list);
		for (size_t i = 0; i < sizeof(mine); i++)
			if (mine[i] & ~b->cpus[i])
				return past(err, b, "AllowedCPUs", r->allowed_cpus, list);
	}
	/* The cgroup a sandbox goes into is the site's to choose: a client
	 * could otherwise leave its own limits, or join another's, or, by
	 * clearing the site's [Defaults] value, leave the site's own parent
	 * (and the limits it puts on all jobs). */
	if (r->cgroup_parent && ctx->cgroup_parent && strcmp(r->cgroup_parent, ctx->cgroup_parent) == 0)
		return 0;
	if (r->cgroup_parent || ctx->cgroup_parent)
		return sbox_fail(err, 0, "CgroupParent=%s: only root may choose the cgroup through sboxd%s%s (%s)",
				 r->cgroup_parent ? r->cgroup_parent : "", ctx->cgroup_parent ? "; the site's is " : "",
				 ctx->cgroup_parent ? ctx->cgroup_parent : "", file_of(b));
	return 0;
}

int sbox_bounds_check_policy(const struct sbox_bounds *b, const struct sbox_policy *p,
			     const struct sbox_requester *who, const struct sbox_bounds_ctx *ctx,
			     struct sbox_err *err)
{
	if (!sbox_bounds_apply_to(who))
		return 0;
	/* sboxd binds DeviceAllow= nodes as root and lets them through the
	 * device cgroup: a client could name a GPU's node and use a GPU that
	 * is leased to someone else.  Devices come through GPUs= leases; any
	 * other device needs a site bound, which does not exist yet. */
	if (p->devices.n_allow > 0)
		return sbox_fail(err, 0, "DeviceAllow=%s: devices other than leased GPUs are refused through sboxd for users other than root (%s)",
				 p->devices.allow[0].spec ? p->devices.allow[0].spec : "...", file_of(b));
	if (p->net.mode == SBOX_NET_HOST && !b->allow_host_network)
		return sbox_fail(err, 0, "PrivateNetwork=host is past the site bound AllowHostNetwork=no (%s)",
				 file_of(b));
	if (p->net.mode == SBOX_NET_VETH && !b->allow_veth_network)
		return sbox_fail(err, 0, "PrivateNetwork=veth is past the site bound AllowVethNetwork=no (%s)",
				 file_of(b));
	if (p->net.mode == SBOX_NET_GROUP && !b->allow_group_network)
		return sbox_fail(err, 0, "PrivateNetwork=group:%s is past the site bound AllowGroupNetwork=no (%s)",
				 p->net.group, file_of(b));
	if (b->max_gpus && ctx->n_gpus > b->max_gpus)
		return sbox_fail(err, 0, "%zu GPUs is past the site bound MaxGPUs=%u (%s)", ctx->n_gpus,
				 b->max_gpus, file_of(b));
	if (check_identity(b, p, who, err) < 0 || check_privileges(b, p, ctx, err) < 0 ||
	    check_resources(b, p, ctx, err) < 0)
		return -1;
	return 0;
}

int sbox_bounds_check_bind(const struct sbox_bounds *b, const char *directive,
			   const char *real_path, struct sbox_err *err)
{
	if (!b->bind_paths_set)
		return 0;
	for (size_t i = 0; i < b->n_bind_paths; i++)
		if (sbox_path_below(real_path, b->bind_paths[i]))
			return 0;
	return sbox_fail(err, 0, "%s: %s is outside the site bound AllowBindPaths=%s%s (%s)", directive,
			 real_path, b->n_bind_paths ? b->bind_paths[0] : "",
			 b->n_bind_paths > 1 ? " ..." : "", file_of(b));
}

static bool bit(const uint8_t *set, unsigned i)
{
	return set[i / 8] & (1u << (i % 8));
}

bool sbox_bounds_gpu_allowed(const struct sbox_bounds *b, const struct sbox_requester *who,
			     unsigned index)
{
	if (!sbox_bounds_apply_to(who) || b->n_gpu_rules == 0)
		return true;
	if (index >= SBOX_BOUNDS_MAX_GPU)
		return false;
	for (size_t i = 0; i < b->n_gpu_rules; i++) {
		const struct sbox_gpu_rule *r = &b->gpu_rules[i];
		bool match;

		switch (r->who) {
		case SBOX_WHO_ANY:
			match = true;
			break;
		case SBOX_WHO_USER:
			match = r->id == who->uid;
			break;
		case SBOX_WHO_GROUP:
			match = sbox_requester_in(who, NULL, 0, &r->id, 1);
			break;
		default:
			match = false;
			break;
		}
		if (match && bit(r->gpus, index))
			return true;
	}
	return false;
}
