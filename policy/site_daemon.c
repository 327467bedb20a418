/* SPDX-License-Identifier: MIT */
/*
 * The [Daemon], [Bounds] and [Defaults] keys of the site configuration
 * (policy/site_daemon.h).  Names of users and groups are resolved when the
 * file is read, by the privileged side that reads it: sboxd then compares
 * numbers only, and a name that doesn't exist is an error at start, not a
 * silent "nobody matches" later.
 */
#include "policy/site_daemon.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "policy/directives.h"
#include "policy/dir_security.h"
#include "policy/policy.h"
#include "policy/site.h"
#include "policy/values.h"

void sbox_site_daemon_init(struct sbox_site_daemon *d)
{
	memset(d, 0, sizeof(*d));
	d->max_connections = 1024;
	d->max_jobs = 1024;
	d->max_jobs_per_user = SBOX_JOBS_PER_USER_UNSET;
	d->idle_timeout_usec = 60ULL * 1000000;
	d->reattach_timeout_usec = 30ULL * 1000000;
	d->netns_pool = 4;
	d->max_conns_per_user = 64;
	d->max_queued_per_user = 16;
	d->max_fds_per_user = 1024;
	d->max_ended_per_user = 256;
	d->pool_size = 2;
	d->pool_max_shapes = 8;
	d->pool_max_shapes_per_user = 2;
	d->pool_max_sandboxes = 16;
	d->pool_refill_idle_usec = 10 * 1000;
	sbox_bounds_init(&d->bounds);
}

unsigned sbox_site_jobs_per_user(const struct sbox_site_daemon *d)
{
	if (d->max_jobs_per_user != SBOX_JOBS_PER_USER_UNSET)
		return d->max_jobs_per_user;
	return d->max_jobs / 4 ? d->max_jobs / 4 : 1;
}

void sbox_site_daemon_free(struct sbox_site_daemon *d)
{
	free(d->socket);
	free(d->state_dir);
	free(d->allow_users);
	free(d->allow_groups);
	for (size_t i = 0; i < d->n_refuse_cgroups; i++)
		free(d->refuse_cgroups[i]);
	free(d->refuse_cgroups);
	free(d->defaults);
	free(d->defaults_cgroup_parent);
	for (size_t i = 0; i < d->n_pool_shapes; i++)
		free(d->pool_shapes[i].policy_file);
	free(d->pool_shapes);
	sbox_bounds_free(&d->bounds);
	sbox_site_daemon_init(d);
}

const char *sbox_site_state_dir(const struct sbox_site_daemon *d)
{
	return d->state_dir ? d->state_dir : SBOX_STATE_DIR_DEFAULT;
}

bool sbox_site_daemon_allows(const struct sbox_site_daemon *d, const struct sbox_requester *who)
{
	if (who->uid == 0)
		return true;
	return sbox_requester_in(who, d->allow_users, d->n_allow_users, d->allow_groups,
				 d->n_allow_groups);
}

static int set_path(char **field, const char *key, const char *v, struct sbox_err *err)
{
	char *copy;

	if (!sbox_path_is_normal_absolute(v))
		return sbox_fail(err, 0, "%s=%s: expected an absolute path without '..'", key, v);
	copy = strdup(v);
	if (!copy)
		return sbox_fail(err, ENOMEM, "%s=%s", key, v);
	free(*field);
	*field = copy;
	return 0;
}

static int set_uint(unsigned *field, const char *key, const char *v, uint64_t min, uint64_t max,
		    struct sbox_err *err)
{
	uint64_t n;

	if (sbox_parse_uint(v, min, max, &n) < 0)
		return sbox_fail(err, 0, "%s=%s: expected a number from %llu to %llu", key, v,
				 (unsigned long long)min, (unsigned long long)max);
	*field = (unsigned)n;
	return 0;
}

static int set_span(uint64_t *field, const char *key, const char *v, struct sbox_err *err)
{
	uint64_t usec;

	if (sbox_parse_timespan(v, &usec) < 0 || usec == 0)
		return sbox_fail(err, 0, "%s=%s: expected a time span above 0 (e.g. 30s, 2min)", key, v);
	*field = usec;
	return 0;
}

static int set_flag(bool *field, const char *key, const char *v, struct sbox_err *err)
{
	if (sbox_parse_bool(v, field) < 0)
		return sbox_fail(err, 0, "%s=%s: expected yes or no", key, v);
	return 0;
}

static int resolve_user(const char *w, uid_t *out, struct sbox_err *err)
{
	uint64_t n;
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (sbox_parse_uint(w, 0, UINT32_MAX - 1, &n) == 0) {
		*out = (uid_t)n;
		return 0;
	}
	if (getpwnam_r(w, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return sbox_fail(err, 0, "no such user '%s'", w);
	*out = res->pw_uid;
	return 0;
}

static int resolve_group(const char *w, gid_t *out, struct sbox_err *err)
{
	uint64_t n;
	struct group gr, *res = NULL;
	char buf[16384];

	if (sbox_parse_uint(w, 0, UINT32_MAX - 1, &n) == 0) {
		*out = (gid_t)n;
		return 0;
	}
	if (getgrnam_r(w, &gr, buf, sizeof(buf), &res) != 0 || !res)
		return sbox_fail(err, 0, "no such group '%s'", w);
	*out = res->gr_gid;
	return 0;
}

/* A list key: words accumulate over lines, "" empties the list. */
static int id_list(const char *key, const char *v, uint32_t **arr, size_t *n, bool group,
		   struct sbox_err *err)
{
	char **w;
	size_t nw;
	int r = 0;

	if (sbox_split_words(v, &w, &nw) < 0)
		return sbox_fail(err, 0, "%s=%s: unbalanced quote", key, v);
	if (nw == 0) {
		free(*arr);
		*arr = NULL;
		*n = 0;
	}
	for (size_t i = 0; i < nw && r == 0; i++) {
		uint32_t *na = realloc(*arr, (*n + 1) * sizeof(uint32_t));
		uint32_t id;

		if (!na) {
			r = sbox_fail(err, ENOMEM, "%s=%s", key, v);
			break;
		}
		*arr = na;
		r = group ? resolve_group(w[i], &id, err) : resolve_user(w[i], &id, err);
		if (r == 0)
			na[(*n)++] = id;
		else
			sbox_err_prefix(err, "%s=%s", key, v);
	}
	sbox_strv_free(w);
	return r;
}

/* [Daemon]: sboxd's own socket, state and limits. */

int sbox_site_set_socket(struct sbox_site *s, const char *v, unsigned line, struct sbox_err *err)
{
	(void)line;
	return set_path(&s->daemon.socket, "Socket", v, err);
}

int sbox_site_set_state_dir(struct sbox_site *s, const char *v, unsigned line, struct sbox_err *err)
{
	(void)line;
	return set_path(&s->daemon.state_dir, "StateDirectory", v, err);
}

int sbox_site_set_allow_users(struct sbox_site *s, const char *v, unsigned line, struct sbox_err *err)
{
	(void)line;
	return id_list("AllowUsers", v, &s->daemon.allow_users, &s->daemon.n_allow_users, false, err);
}

int sbox_site_set_allow_groups(struct sbox_site *s, const char *v, unsigned line, struct sbox_err *err)
{
	(void)line;
	return id_list("AllowGroups", v, &s->daemon.allow_groups, &s->daemon.n_allow_groups, true,
		       err);
}

int sbox_site_set_max_connections(struct sbox_site *s, const char *v, unsigned line,
				  struct sbox_err *err)
{
	(void)line;
	return set_uint(&s->daemon.max_connections, "MaxConnections", v, 1, 1000000, err);
}

int sbox_site_set_max_jobs(struct sbox_site *s, const char *v, unsigned line, struct sbox_err *err)
{
	(void)line;
	return set_uint(&s->daemon.max_jobs, "MaxJobs", v, 1, 1000000, err);
}

int sbox_site_set_max_jobs_per_user(struct sbox_site *s, const char *v, unsigned line,
				    struct sbox_err *err)
{
	(void)line;
	return set_uint(&s->daemon.max_jobs_per_user, "MaxJobsPerUser", v, 0, 1000000, err);
}

int sbox_site_set_max_conns_per_user(struct sbox_site *s, const char *v, unsigned line,
				     struct sbox_err *err)
{
	(void)line;
	return set_uint(&s->daemon.max_conns_per_user, "MaxConnectionsPerUser", v, 0, 1000000, err);
}

int sbox_site_set_max_queued_per_user(struct sbox_site *s, const char *v, unsigned line,
				      struct sbox_err *err)
{
	(void)line;
	return set_uint(&s->daemon.max_queued_per_user, "MaxQueuedJobsPerUser", v, 0, 1000000, err);
}

int sbox_site_set_max_fds_per_user(struct sbox_site *s, const char *v, unsigned line,
				   struct sbox_err *err)
{
	(void)line;
	return set_uint(&s->daemon.max_fds_per_user, "MaxFdsPerUser", v, 0, 1000000, err);
}

int sbox_site_set_max_ended_per_user(struct sbox_site *s, const char *v, unsigned line,
				     struct sbox_err *err)
{
	(void)line;
	return set_uint(&s->daemon.max_ended_per_user, "MaxEndedJobsPerUser", v, 0, 1000000, err);
}

int sbox_site_set_idle_timeout(struct sbox_site *s, const char *v, unsigned line, struct sbox_err *err)
{
	(void)line;
	return set_span(&s->daemon.idle_timeout_usec, "IdleTimeoutSec", v, err);
}

int sbox_site_set_reattach_timeout(struct sbox_site *s, const char *v, unsigned line,
				   struct sbox_err *err)
{
	(void)line;
	return set_span(&s->daemon.reattach_timeout_usec, "ReattachTimeoutSec", v, err);
}

int sbox_site_set_netns_pool(struct sbox_site *s, const char *v, unsigned line, struct sbox_err *err)
{
	(void)line;
	return set_uint(&s->daemon.netns_pool, "NetnsPool", v, 0, 4096, err);
}

/* Cgroups whose processes may not use sboxd: a process in a Slurm job's
 * (/slurm, /system.slice/slurmstepd.scope) would otherwise leave the
 * job's limits for a sandbox of sboxd's (docs/slurm.md).  Absolute paths
 * as /proc/PID/cgroup shows them; each covers the cgroups below it.
 * Appends; an empty value clears the list. */
int sbox_site_set_refuse_cgroups(struct sbox_site *s, const char *v, unsigned line,
				 struct sbox_err *err)
{
	struct sbox_site_daemon *d = &s->daemon;
	char **words;
	size_t n;
	int rc = 0;

	(void)line;
	if (sbox_split_words(v, &words, &n) < 0)
		return sbox_fail(err, 0, "RefuseClientCgroups=%s: bad quoting", v);
	if (n == 0) {
		for (size_t i = 0; i < d->n_refuse_cgroups; i++)
			free(d->refuse_cgroups[i]);
		d->n_refuse_cgroups = 0;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		char **v2;
		size_t len = strlen(words[i]);

		if (words[i][0] != '/' || strstr(words[i], "//") || strstr(words[i], "/../") ||
		    (len >= 3 && strcmp(words[i] + len - 3, "/..") == 0)) {
			rc = sbox_fail(err, 0, "RefuseClientCgroups=%s: not an absolute cgroup path", words[i]);
			break;
		}
		v2 = realloc(d->refuse_cgroups, (d->n_refuse_cgroups + 2) * sizeof(*v2));
		if (!v2) {
			rc = sbox_fail(err, ENOMEM, "RefuseClientCgroups=");
			break;
		}
		d->refuse_cgroups = v2;
		/* "/slurm/" and "/slurm" alike. */
		while (len > 1 && words[i][len - 1] == '/')
			words[i][--len] = '\0';
		d->refuse_cgroups[d->n_refuse_cgroups] = strdup(words[i]);
		if (!d->refuse_cgroups[d->n_refuse_cgroups]) {
			rc = sbox_fail(err, ENOMEM, "RefuseClientCgroups=");
			break;
		}
		d->refuse_cgroups[++d->n_refuse_cgroups] = NULL;
	}
	sbox_strv_free(words);
	return rc;
}

int sbox_site_set_allow_nested(struct sbox_site *s, const char *v, unsigned line,
				struct sbox_err *err)
{
	(void)line;
	return set_flag(&s->daemon.allow_nested, "AllowNestedClients", v, err);
}

/* [Pool]: how many prepared sandboxes sboxd keeps (sboxd/pool.c).  Each
 * holds a cgroup, a netns and an init process: bounded in all and per
 * user, by the site. */

int sbox_site_set_pool_size(struct sbox_site *s, const char *v, unsigned line, struct sbox_err *err)
{
	(void)line;
	return set_uint(&s->daemon.pool_size, "Size", v, 0, 64, err);
}

int sbox_site_set_pool_max_shapes(struct sbox_site *s, const char *v, unsigned line,
				  struct sbox_err *err)
{
	(void)line;
	return set_uint(&s->daemon.pool_max_shapes, "MaxShapes", v, 0, 256, err);
}

int sbox_site_set_pool_max_shapes_per_user(struct sbox_site *s, const char *v, unsigned line,
					   struct sbox_err *err)
{
	(void)line;
	return set_uint(&s->daemon.pool_max_shapes_per_user, "MaxShapesPerUser", v, 0, 256, err);
}

int sbox_site_set_pool_max_sandboxes(struct sbox_site *s, const char *v, unsigned line,
				     struct sbox_err *err)
{
	(void)line;
	return set_uint(&s->daemon.pool_max_sandboxes, "MaxSandboxes", v, 0, 4096, err);
}

/* A refill's parent half runs in sboxd's loop: it waits until the loop
 * has been quiet this long, so that it does not hold the events of a
 * launch just served (its worker's exit among them).  0: at the first
 * idle moment.  A shape with nothing prepared is refilled at once. */
int sbox_site_set_pool_refill_idle(struct sbox_site *s, const char *v, unsigned line,
				   struct sbox_err *err)
{
	uint64_t usec;

	(void)line;
	if (sbox_parse_timespan(v, &usec) < 0 || usec > 60 * 1000000ULL)
		return sbox_fail(err, 0, "RefillIdleSec=%s: expected a time span up to 60s (e.g. 10ms, 0)",
				 v);
	s->daemon.pool_refill_idle_usec = usec;
	return 0;
}

/* USER:FILE, the user by name or number, with a passwd entry (its
 * primary group is the shape's gid, as its client's would be). */
static int pool_shape_word(const char *w, struct sbox_pool_shape_cfg *c, struct sbox_err *err)
{
	const char *colon = strchr(w, ':');
	_cleanup_free_ char *user = colon ? strndup(w, (size_t)(colon - w)) : NULL;
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (!colon || colon[1] != '/')
		return sbox_fail(err, 0, "'%s': expected USER:/absolute/policy/file", w);
	if (!user || resolve_user(user, &c->uid, err) < 0)
		return user ? -1 : sbox_fail(err, ENOMEM, "'%s'", w);
	if (getpwuid_r(c->uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return sbox_fail(err, 0, "'%s': uid %u has no passwd entry", w, (unsigned)c->uid);
	c->gid = res->pw_gid;
	c->policy_file = strdup(colon + 1);
	return c->policy_file ? 0 : sbox_fail(err, ENOMEM, "'%s'", w);
}

int sbox_site_set_pool_shapes(struct sbox_site *s, const char *v, unsigned line,
			      struct sbox_err *err)
{
	struct sbox_site_daemon *d = &s->daemon;
	char **w = NULL;
	size_t nw = 0;
	int r = 0;

	(void)line;
	if (sbox_split_words(v, &w, &nw) < 0)
		return sbox_fail(err, 0, "Shapes=%s: unbalanced quote", v);
	for (size_t i = 0; i < nw && r == 0; i++) {
		struct sbox_pool_shape_cfg *na = realloc(d->pool_shapes,
							 (d->n_pool_shapes + 1) * sizeof(*na));

		if (!na) {
			r = sbox_fail(err, ENOMEM, "Shapes=%s", v);
			break;
		}
		d->pool_shapes = na;
		r = pool_shape_word(w[i], &na[d->n_pool_shapes], err);
		if (r == 0)
			d->n_pool_shapes++;
		else
			sbox_err_prefix(err, "Shapes=%s", v);
	}
	sbox_strv_free(w);
	return r;
}

/* [Bounds]: what a client's policy may ask for at most; sboxd refuses a
 * request past them, since a client is not trusted with the host. */

int sbox_site_set_allow_bind_paths(struct sbox_site *s, const char *v, unsigned line,
				   struct sbox_err *err)
{
	struct sbox_bounds *b = &s->daemon.bounds;
	char **w;
	size_t nw;

	(void)line;
	if (sbox_split_words(v, &w, &nw) < 0)
		return sbox_fail(err, 0, "AllowBindPaths=%s: unbalanced quote", v);
	b->bind_paths_set = true;
	if (nw == 0) {
		sbox_strv_free(b->bind_paths);
		b->bind_paths = NULL;
		b->n_bind_paths = 0;
	}
	for (size_t i = 0; i < nw; i++) {
		char **na;

		if (!sbox_path_is_normal_absolute(w[i])) {
			sbox_fail(err, 0, "AllowBindPaths=%s: '%s' is not an absolute path without '..'", v,
				  w[i]);
			sbox_strv_free(w);
			return -1;
		}
		na = realloc(b->bind_paths, (b->n_bind_paths + 2) * sizeof(char *));
		if (!na) {
			sbox_strv_free(w);
			return sbox_fail(err, ENOMEM, "AllowBindPaths=%s", v);
		}
		b->bind_paths = na;
		na[b->n_bind_paths++] = sbox_steal_ptr(w[i]);
		na[b->n_bind_paths] = NULL;
	}
	sbox_strv_free(w);
	return 0;
}

/* AllowGPUs=WHO LIST: WHO is a user, @group or *; LIST is "0-3,5" or all. */
int sbox_site_set_allow_gpus(struct sbox_site *s, const char *v, unsigned line, struct sbox_err *err)
{
	struct sbox_bounds *b = &s->daemon.bounds;
	struct sbox_gpu_rule rule = { 0 };
	struct sbox_gpu_rule *na;
	char **w;
	size_t nw;
	int r = -1;

	(void)line;
	if (sbox_split_words(v, &w, &nw) < 0 || nw != 2) {
		if (nw != 2)
			sbox_strv_free(w);
		return sbox_fail(err, 0, "AllowGPUs=%s: expected USER|@GROUP|* and a GPU list (e.g. 0-3 or all)", v);
	}
	if (strcmp(w[0], "*") == 0) {
		rule.who = SBOX_WHO_ANY;
	} else if (w[0][0] == '@') {
		rule.who = SBOX_WHO_GROUP;
		if (resolve_group(w[0] + 1, &rule.id, err) < 0)
			goto prefix;
	} else {
		rule.who = SBOX_WHO_USER;
		if (resolve_user(w[0], &rule.id, err) < 0)
			goto prefix;
	}
	if (strcmp(w[1], "all") == 0)
		memset(rule.gpus, 0xff, sizeof(rule.gpus));
	else if (sbox_parse_id_list(w[1], rule.gpus, SBOX_BOUNDS_MAX_GPU) < 0) {
		sbox_fail(err, 0, "'%s' is not a GPU index list (e.g. 0-3,6 or all)", w[1]);
		goto prefix;
	}
	na = realloc(b->gpu_rules, (b->n_gpu_rules + 1) * sizeof(*na));
	if (!na) {
		sbox_fail(err, ENOMEM, "AllowGPUs=%s", v);
		goto out;
	}
	b->gpu_rules = na;
	na[b->n_gpu_rules++] = rule;
	r = 0;
	goto out;
prefix:
	sbox_err_prefix(err, "AllowGPUs=%s", v);
out:
	sbox_strv_free(w);
	return r;
}

int sbox_site_set_max_gpus(struct sbox_site *s, const char *v, unsigned line, struct sbox_err *err)
{
	(void)line;
	return set_uint(&s->daemon.bounds.max_gpus, "MaxGPUs", v, 0, 1024, err);
}

int sbox_site_set_allow_host_network(struct sbox_site *s, const char *v, unsigned line,
				     struct sbox_err *err)
{
	(void)line;
	return set_flag(&s->daemon.bounds.allow_host_network, "AllowHostNetwork", v, err);
}

int sbox_site_set_allow_user_switch(struct sbox_site *s, const char *v, unsigned line,
				    struct sbox_err *err)
{
	(void)line;
	return set_flag(&s->daemon.bounds.allow_user_switch, "AllowUserSwitch", v, err);
}

int sbox_site_set_allow_no_seccomp(struct sbox_site *s, const char *v, unsigned line,
				   struct sbox_err *err)
{
	(void)line;
	return set_flag(&s->daemon.bounds.allow_no_seccomp, "AllowNoSeccomp", v, err);
}

int sbox_site_set_allow_new_privileges(struct sbox_site *s, const char *v, unsigned line,
				       struct sbox_err *err)
{
	(void)line;
	return set_flag(&s->daemon.bounds.allow_new_privileges, "AllowNewPrivileges", v, err);
}

int sbox_site_set_allow_caps(struct sbox_site *s, const char *v, unsigned line, struct sbox_err *err)
{
	char bad[64];

	(void)line;
	if (sbox_parse_cap_list(v, &s->daemon.bounds.allow_caps, bad, sizeof(bad)) < 0)
		return sbox_fail(err, 0, "AllowCapabilities=%s: '%s' is not a capability", v, bad);
	return 0;
}

int sbox_site_set_bound_memory_max(struct sbox_site *s, const char *v, unsigned line,
				   struct sbox_err *err)
{
	(void)line;
	s->daemon.resource_bounds_set = true;
	if (sbox_parse_size(v, 0, &s->daemon.bounds.memory_max) < 0)
		return sbox_fail(err, 0, "MemoryMax=%s: expected a size (e.g. 16G)", v);
	return 0;
}

int sbox_site_set_bound_tasks_max(struct sbox_site *s, const char *v, unsigned line,
				  struct sbox_err *err)
{
	uint64_t n;

	(void)line;
	s->daemon.resource_bounds_set = true;
	if (sbox_parse_uint(v, 1, UINT32_MAX, &n) < 0)
		return sbox_fail(err, 0, "TasksMax=%s: expected a number of tasks", v);
	s->daemon.bounds.tasks_max = n;
	return 0;
}

int sbox_site_set_bound_cpu_quota(struct sbox_site *s, const char *v, unsigned line,
				  struct sbox_err *err)
{
	(void)line;
	s->daemon.resource_bounds_set = true;
	if (sbox_parse_cpu_quota(v, &s->daemon.bounds.cpu_quota) < 0)
		return sbox_fail(err, 0, "CPUQuota=%s: expected a percentage (e.g. 400%%)", v);
	return 0;
}

int sbox_site_set_bound_cpus(struct sbox_site *s, const char *v, unsigned line, struct sbox_err *err)
{
	(void)line;
	s->daemon.resource_bounds_set = true;
	s->daemon.bounds.cpus_set = true;
	memset(s->daemon.bounds.cpus, 0, sizeof(s->daemon.bounds.cpus));
	if (sbox_parse_id_list(v, s->daemon.bounds.cpus, SBOX_BOUNDS_MAX_CPUS) < 0)
		return sbox_fail(err, 0, "AllowedCPUs=%s: expected a CPU list (e.g. 0-15)", v);
	return 0;
}

int sbox_site_set_bound_runtime_max(struct sbox_site *s, const char *v, unsigned line,
				    struct sbox_err *err)
{
	(void)line;
	s->daemon.resource_bounds_set = true;
	return set_span(&s->daemon.bounds.runtime_max_usec, "RuntimeMaxSec", v, err);
}

/* [Defaults]: job policy applied under every client's own. */

int sbox_site_defaults_add(struct sbox_site *s, const char *key, const char *value,
			   struct sbox_err *err)
{
	struct sbox_site_daemon *d = &s->daemon;
	struct sbox_policy scratch;
	size_t add;
	char *nd;
	int r;

	/* A bind made for every job would be opened by path, as root, on
	 * behalf of users who could not open it themselves: binds come only
	 * from the client's fds (docs/protocol.md). */
	if (strcmp(key, "BindPaths") == 0 || strcmp(key, "BindReadOnlyPaths") == 0)
		return sbox_fail(err, 0, "[Defaults] can't hold %s=: binds come only from the client's own fds",
				 key);
	/* Checked now, with the same setter a job's line goes through. */
	sbox_policy_init(&scratch);
	r = sbox_policy_set(&scratch, key, value, err);
	if (r == 0 && strcmp(key, "CgroupParent") == 0) {
		free(d->defaults_cgroup_parent);
		d->defaults_cgroup_parent = sbox_steal_ptr(scratch.res.cgroup_parent);
	}
	sbox_policy_free(&scratch);
	if (r < 0)
		return -1;
	if (!d->defaults) {
		d->defaults = strdup("[" SBOX_POLICY_SECTION "]\n");
		if (!d->defaults)
			return sbox_fail(err, ENOMEM, "[Defaults]");
		d->defaults_len = strlen(d->defaults);
	}
	add = strlen(key) + strlen(value) + 2;
	nd = realloc(d->defaults, d->defaults_len + add + 1);
	if (!nd)
		return sbox_fail(err, ENOMEM, "[Defaults]");
	snprintf(nd + d->defaults_len, add + 1, "%s=%s\n", key, value);
	d->defaults = nd;
	d->defaults_len += add;
	return 0;
}

int sbox_site_daemon_check(const struct sbox_site *s, const char *name, struct sbox_err *err)
{
	(void)s;
	(void)name;
	(void)err;
	return 0;
}
