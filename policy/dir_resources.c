/* SPDX-License-Identifier: MIT */
/*
 * Setters and printers of the resources directives (policy/dir_resources.h).
 * Values keep the form the user wrote where the host decides its meaning
 * (a percentage of RAM stays a percentage until the sandbox is built), so
 * that `sboxrun --check` prints back what was asked, on any machine.
 */
#include "policy/dir_resources.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "policy/setters.h"
#include "policy/values.h"

/* cpusets of up to 8192 CPUs (the kernel's largest NR_CPUS). */
#define SBOX_MAX_CPUS 8192

void sbox_resources_init(struct sbox_resources *r)
{
	memset(r, 0, sizeof(*r));
	r->runtime_max_usec = SBOX_INFINITY;
}

void sbox_resources_free(struct sbox_resources *r)
{
	free(r->allowed_cpus);
	free(r->allowed_mems);
	free(r->cgroup_parent);
	sbox_resources_init(r);
}

bool sbox_resources_any_limit(const struct sbox_resources *r)
{
	return r->memory_max.set || r->memory_high.set || r->memory_swap_max.set ||
	       r->tasks_max.set || r->cpu_quota || r->cpu_weight || r->io_weight ||
	       r->allowed_cpus || r->allowed_mems;
}

static bool ends_with_percent(const char *v)
{
	size_t n = strlen(v);

	while (n > 0 && isspace((unsigned char)v[n - 1]))
		n--;
	return n > 0 && v[n - 1] == '%';
}

/* "" unsets; "N%" keeps the percentage; otherwise bytes (K/M/G/T) or a
 * count, or "infinity". */
static int set_limit(struct sbox_limit *l, const char *v, bool bytes, struct sbox_err *err)
{
	struct sbox_limit n = { .set = true };
	int r;

	if (v[0] == '\0') {
		memset(l, 0, sizeof(*l));
		return 0;
	}
	if (ends_with_percent(v)) {
		n.percent = true;
		r = sbox_parse_size(v, 10000, &n.value);
		if (r < 0)
			return sbox_fail(err, 0, "'%s' is not a percentage between 0%% and 100%%", v);
	} else if (bytes) {
		r = sbox_parse_size(v, 0, &n.value);
		if (r < 0)
			return sbox_fail(err, 0, "'%s' is not a size (bytes with K, M, G or T, a percentage of physical memory, or infinity)",
					 v);
	} else if (strcmp(v, "infinity") == 0) {
		n.value = SBOX_INFINITY;
	} else {
		r = sbox_parse_uint(v, 1, SBOX_INFINITY - 1, &n.value);
		if (r < 0)
			return sbox_fail(err, 0, "'%s' is not a number of tasks (1 or more, a percentage, or infinity)", v);
	}
	*l = n;
	return 0;
}

void sbox_format_limit(const struct sbox_limit *l, bool bytes, char *buf, size_t len)
{
	if (!l->set)
		snprintf(buf, len, "%s", "");
	else if (l->percent)
		/* Same permyriad form as CPUQuota=: "50%", "12.5%". */
		sbox_format_cpu_quota((uint32_t)l->value, buf, len);
	else if (bytes || l->value == SBOX_INFINITY)
		sbox_format_size(l->value, buf, len);
	else
		snprintf(buf, len, "%llu", (unsigned long long)l->value);
}

static void print_limit(FILE *out, const char *name, const struct sbox_limit *l, bool bytes)
{
	char buf[64];

	sbox_format_limit(l, bytes, buf, sizeof(buf));
	fprintf(out, "%s=%s\n", name, buf);
}

#define LIMIT_DIRECTIVE(fn, field, bytes)                                                  \
	int sbox_dir_set_##fn(struct sbox_policy *p, const char *v, struct sbox_err *err)  \
	{                                                                                  \
		return set_limit(&p->res.field, v, bytes, err);                            \
	}                                                                                  \
	void sbox_dir_print_##fn(const struct sbox_policy *p, const struct sbox_directive *d, \
				 FILE *out)                                                \
	{                                                                                  \
		print_limit(out, d->name, &p->res.field, bytes);                          \
	}

/* MemoryMax=0 (or 0%) leaves no memory at all: the worker would be
 * OOM-killed at its first page.  Refused, as TasksMax=0 is. */
int sbox_dir_set_memory_max(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	struct sbox_limit l = p->res.memory_max;

	if (set_limit(&l, v, true, err) < 0)
		return -1;
	if (l.set && l.value == 0)
		return sbox_fail(err, 0, "'%s' leaves the sandbox no memory: MemoryMax= must be more than 0", v);
	p->res.memory_max = l;
	return 0;
}

void sbox_dir_print_memory_max(const struct sbox_policy *p, const struct sbox_directive *d,
			       FILE *out)
{
	print_limit(out, d->name, &p->res.memory_max, true);
}

LIMIT_DIRECTIVE(memory_high, memory_high, true)
LIMIT_DIRECTIVE(memory_swap_max, memory_swap_max, true)
LIMIT_DIRECTIVE(tasks_max, tasks_max, false)

/* CPUQuota=: kept in permyriad, the unit both cgroup versions convert from. */

int sbox_dir_set_cpu_quota(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	uint32_t q;

	if (v[0] == '\0') {
		p->res.cpu_quota = 0;
		return 0;
	}
	if (sbox_parse_cpu_quota(v, &q) < 0)
		return sbox_fail(err, 0, "'%s' is not a CPU quota: a percentage above 0, 100%% = one CPU", v);
	p->res.cpu_quota = q;
	return 0;
}

void sbox_dir_print_cpu_quota(const struct sbox_policy *p, const struct sbox_directive *d,
			      FILE *out)
{
	char buf[32] = "";

	if (p->res.cpu_quota)
		sbox_format_cpu_quota(p->res.cpu_quota, buf, sizeof(buf));
	fprintf(out, "%s=%s\n", d->name, buf);
}

/* CPUWeight=, IOWeight=: systemd's ranges, so a unit file's values carry over. */

static int set_weight(uint64_t *field, const char *v, struct sbox_err *err)
{
	uint64_t w;

	if (v[0] == '\0') {
		*field = 0;
		return 0;
	}
	if (sbox_parse_uint(v, 1, 10000, &w) < 0)
		return sbox_fail(err, 0, "'%s' is not a weight between 1 and 10000 (100 is the default)", v);
	*field = w;
	return 0;
}

static void print_weight(FILE *out, const char *name, uint64_t w)
{
	if (w)
		fprintf(out, "%s=%llu\n", name, (unsigned long long)w);
	else
		fprintf(out, "%s=\n", name);
}

int sbox_dir_set_cpu_weight(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	return set_weight(&p->res.cpu_weight, v, err);
}

void sbox_dir_print_cpu_weight(const struct sbox_policy *p, const struct sbox_directive *d,
			       FILE *out)
{
	print_weight(out, d->name, p->res.cpu_weight);
}

int sbox_dir_set_io_weight(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	return set_weight(&p->res.io_weight, v, err);
}

void sbox_dir_print_io_weight(const struct sbox_policy *p, const struct sbox_directive *d,
			      FILE *out)
{
	print_weight(out, d->name, p->res.io_weight);
}

/* Stored in canonical form ("0-3,8"), which is also what cpuset.cpus and
 * cpuset.mems take. */
static int set_id_list(char **field, const char *what, const char *v, struct sbox_err *err)
{
	/* Worst case "0,2,4,...": about 5 characters per id. */
	const size_t len = 6 * SBOX_MAX_CPUS / 2;
	uint8_t bits[SBOX_MAX_CPUS / 8];
	_cleanup_free_ char *buf = NULL;
	int r;

	if (v[0] == '\0')
		return sbox_set_string(field, "", err);
	buf = malloc(len);
	if (!buf)
		return sbox_fail(err, ENOMEM, "parsing '%s'", v);
	r = sbox_parse_id_list(v, bits, SBOX_MAX_CPUS);
	if (r == -ERANGE)
		return sbox_fail(err, 0, "'%s' names a %s past %d", v, what, SBOX_MAX_CPUS - 1);
	if (r < 0)
		return sbox_fail(err, 0, "'%s' is not a list of %ss like 0-3,8", v, what);
	sbox_format_id_list(bits, SBOX_MAX_CPUS, buf, len);
	return sbox_set_string(field, buf, err);
}

int sbox_dir_set_allowed_cpus(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	return set_id_list(&p->res.allowed_cpus, "CPU", v, err);
}

void sbox_dir_print_allowed_cpus(const struct sbox_policy *p, const struct sbox_directive *d,
				 FILE *out)
{
	sbox_print_string(out, d->name, p->res.allowed_cpus);
}

int sbox_dir_set_allowed_mems(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	return set_id_list(&p->res.allowed_mems, "memory node", v, err);
}

void sbox_dir_print_allowed_mems(const struct sbox_policy *p, const struct sbox_directive *d,
				 FILE *out)
{
	sbox_print_string(out, d->name, p->res.allowed_mems);
}

/* A cgroup path as /proc/self/cgroup shows it: absolute in the hierarchy,
 * no "." or ".." (it is joined onto the cgroup mount as root, so it must
 * not climb out), no empty components, printable. */
static const char *cgroup_path_problem(const char *v)
{
	if (v[0] != '/')
		return "must be an absolute cgroup path such as /sbox";
	for (const char *c = v; *c; c++) {
		if (!isprint((unsigned char)*c) || *c == ' ')
			return "may not hold blanks or control characters";
		if (c[0] == '/' && c[1] == '/')
			return "may not hold empty components (//)";
		if (c[0] == '/' && c[1] == '.' &&
		    (c[2] == '/' || c[2] == '\0' || (c[2] == '.' && (c[3] == '/' || c[3] == '\0'))))
			return "may not hold . or .. components";
	}
	return NULL;
}

int sbox_dir_set_cgroup_parent(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	_cleanup_free_ char *copy = NULL;
	const char *why;
	size_t n;

	if (v[0] == '\0')
		return sbox_set_string(&p->res.cgroup_parent, "", err);
	why = cgroup_path_problem(v);
	if (why)
		return sbox_fail(err, 0, "'%s' %s", v, why);
	copy = strdup(v);
	if (!copy)
		return sbox_fail(err, ENOMEM, "copying value");
	n = strlen(copy);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	return sbox_set_string(&p->res.cgroup_parent, copy, err);
}

void sbox_dir_print_cgroup_parent(const struct sbox_policy *p, const struct sbox_directive *d,
				  FILE *out)
{
	/* Empty: the default of docs/cgroups.md, decided on the host. */
	sbox_print_string(out, d->name, p->res.cgroup_parent);
}

/* RuntimeMaxSec=: enforced by the launcher's timer, not by the cgroup. */

int sbox_dir_set_runtime_max(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	uint64_t usec;

	if (v[0] == '\0') {
		p->res.runtime_max_usec = SBOX_INFINITY;
		return 0;
	}
	if (sbox_parse_timespan(v, &usec) < 0)
		return sbox_fail(err, 0, "'%s' is not a time span (500ms, 90s, 1min 30s, 2h, infinity)", v);
	if (usec == 0)
		return sbox_fail(err, 0, "'%s': a runtime limit must be above 0 (infinity: none)", v);
	p->res.runtime_max_usec = usec;
	return 0;
}

void sbox_dir_print_runtime_max(const struct sbox_policy *p, const struct sbox_directive *d,
				FILE *out)
{
	char buf[64];

	sbox_format_timespan(p->res.runtime_max_usec, buf, sizeof(buf));
	fprintf(out, "%s=%s\n", d->name, buf);
}

/* Checks between resource directives, once every file and flag is applied:
 * one directive alone can't see the other it contradicts. */

int sbox_resources_validate(const struct sbox_policy *p, struct sbox_err *err)
{
	const struct sbox_resources *r = &p->res;
	const char *why;

	/* The setters check this already; a policy built through the API
	 * (a site configuration, a daemon request) gets the same check. */
	if (r->cgroup_parent && (why = cgroup_path_problem(r->cgroup_parent)) != NULL)
		return sbox_fail(err, 0, "CgroupParent=%s %s", r->cgroup_parent, why);
	if (r->runtime_max_usec == 0)
		return sbox_fail(err, 0, "RuntimeMaxSec=0: a runtime limit must be above 0");
	return 0;
}
