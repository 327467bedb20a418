/* SPDX-License-Identifier: MIT */
/*
 * Setters and printers of the security directives.  Names (users, groups)
 * are only checked for syntax here: they are resolved by the launcher's
 * parent process, from the host's databases, right before the sandbox is
 * made (sandbox/identity.c).  Capability and system call names are checked
 * against libcap's and libseccomp's tables, so a typo fails at parse time.
 */
#include "policy/dir_security.h"

#include <ctype.h>
#include <errno.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>

#include "common/util.h"
#include "policy/setters.h"
#include "policy/syscall_groups.h"
#include "policy/syscall_names.h"
#include "policy/values.h"

void sbox_security_policy_init(struct sbox_security *s)
{
	memset(s, 0, sizeof(*s));
	/* Least privilege by default: no capabilities at all, no way to
	 * gain any through execve, the default filter denying what
	 * container escapes have used, EPERM for what it denies. */
	s->cap_bounding = 0;
	s->cap_ambient = 0;
	s->no_new_privs = true;
	s->seccomp = SBOX_SECCOMP_DEFAULT;
	s->syscall_errno = EPERM;
}

void sbox_security_policy_free(struct sbox_security *s)
{
	free(s->user);
	free(s->group);
	sbox_strv_clear(&s->supp_groups);
	sbox_strv_clear(&s->syscall_filter);
}

int sbox_security_policy_validate(const struct sbox_policy *p, struct sbox_err *err)
{
	const struct sbox_security *s = &p->sec;
	char names[1024];

	if (s->cap_ambient & ~s->cap_bounding) {
		sbox_format_cap_list(s->cap_ambient & ~s->cap_bounding, names, sizeof(names));
		return sbox_fail(err, 0, "AmbientCapabilities=%s: not in CapabilityBoundingSet= (a capability outside the bounding set can't be held; --cap-add sets both)",
				 names);
	}
	if (s->seccomp == SBOX_SECCOMP_NONE && s->syscall_filter.n > 0)
		return sbox_fail(err, 0, "SystemCallFilter= edits a profile, and SeccompProfile=none has none: use SeccompProfile=default (a deny list) or strict (an allow list)");
	/* systemd reads "SystemCallFilter=@system-service" as an allow list;
	 * here the profile decides, and under the default profile a group
	 * would silently mean nothing (a group never lifts the deny list). */
	for (size_t i = 0; s->seccomp == SBOX_SECCOMP_DEFAULT && i < s->syscall_filter.n; i++)
		if (s->syscall_filter.v[i][0] == '@')
			return sbox_fail(err, 0, "SystemCallFilter=%s: SeccompProfile=default already allows everything outside its deny list, and a group never lifts that list; for an allow list as in systemd use SeccompProfile=strict, to allow one denied call name it",
					 s->syscall_filter.v[i]);
	return 0;
}

/* errno names, for SystemCallErrorNumber= and the ":ERRNO" of a filter
 * entry: printed back by name so that --check output reads as written. */

#define E(x) { x, #x }
static const struct {
	int num;
	const char *name;
} errno_names[] = {
	E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO), E(E2BIG), E(ENOEXEC),
	E(EBADF), E(ECHILD), E(EAGAIN), E(ENOMEM), E(EACCES), E(EFAULT), E(EBUSY),
	E(EEXIST), E(EXDEV), E(ENODEV), E(ENOTDIR), E(EISDIR), E(EINVAL), E(ENFILE),
	E(EMFILE), E(ENOTTY), E(ETXTBSY), E(EFBIG), E(ENOSPC), E(ESPIPE), E(EROFS),
	E(EMLINK), E(EPIPE), E(EDOM), E(ERANGE), E(ENAMETOOLONG), E(ENOSYS), E(ELOOP),
	E(ENODATA), E(EOVERFLOW), E(EAFNOSUPPORT), E(EPROTONOSUPPORT), E(EOPNOTSUPP),
	E(EADDRINUSE), E(ECONNREFUSED), E(ENETUNREACH), E(EHOSTUNREACH), E(ETIMEDOUT),
	E(ECANCELED), E(EKEYREVOKED),
};
#undef E

int sbox_parse_errno(const char *s, int *out)
{
	uint64_t n;

	for (size_t i = 0; i < SBOX_ARRAY_SIZE(errno_names); i++) {
		if (strcasecmp(s, errno_names[i].name) == 0) {
			*out = errno_names[i].num;
			return 0;
		}
	}
	/* Above 4095 the value would not read as an error (MAX_ERRNO). */
	if (sbox_parse_uint(s, 1, 4095, &n) < 0)
		return -EINVAL;
	*out = (int)n;
	return 0;
}

const char *sbox_errno_name(int e)
{
	for (size_t i = 0; i < SBOX_ARRAY_SIZE(errno_names); i++)
		if (errno_names[i].num == e)
			return errno_names[i].name;
	return NULL;
}

/* Capabilities by libcap's names, so that a name this libcap does not know
 * is refused rather than silently granting or keeping less. */

uint64_t sbox_caps_all(void)
{
	return CAP_LAST_CAP >= 63 ? ~UINT64_C(0) : (UINT64_C(1) << (CAP_LAST_CAP + 1)) - 1;
}

static int parse_cap_name(const char *w, int *cap)
{
	cap_value_t v;

	/* libcap also takes numbers; names only, so that policies read well. */
	if (strncasecmp(w, "cap_", 4) != 0 || cap_from_name(w, &v) < 0 || v < 0 || v > CAP_LAST_CAP)
		return -EINVAL;
	*cap = (int)v;
	return 0;
}

int sbox_parse_cap_list(const char *value, uint64_t *mask, char *bad, size_t bad_len)
{
	char **words;
	size_t n;
	uint64_t m = 0;
	bool invert = false;
	int r = 0;

	if (sbox_split_words(value, &words, &n) < 0) {
		snprintf(bad, bad_len, "%s", value);
		return -EINVAL;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *w = words[i];
		int cap;

		if (i == 0 && w[0] == '~') {
			invert = true;
			if (*++w == '\0')
				continue;
		}
		if (parse_cap_name(w, &cap) < 0) {
			snprintf(bad, bad_len, "%s", w);
			r = -EINVAL;
			break;
		}
		m |= UINT64_C(1) << cap;
	}
	sbox_strv_free(words);
	if (r == 0)
		*mask = invert ? sbox_caps_all() & ~m : m;
	return r;
}

static void append_caps(uint64_t mask, char *buf, size_t len, size_t *at)
{
	for (int c = 0; c <= CAP_LAST_CAP && c < 64; c++) {
		char *name;

		if (!(mask & (UINT64_C(1) << c)))
			continue;
		name = cap_to_name(c);
		if (!name)
			continue;
		if (*at > 0 && buf[*at - 1] != '~' && *at + 1 < len)
			buf[(*at)++] = ' ';
		for (const char *s = name; *s && *at + 1 < len; s++)
			buf[(*at)++] = (char)toupper((unsigned char)*s);
		buf[*at] = '\0';
		cap_free(name);
	}
}

void sbox_format_cap_list(uint64_t mask, char *buf, size_t len)
{
	uint64_t all = sbox_caps_all();
	size_t at = 0;

	buf[0] = '\0';
	if (__builtin_popcountll(mask & all) * 2 > __builtin_popcountll(all)) {
		/* "~CAP_SYS_ADMIN" reads better than 40 names. */
		snprintf(buf, len, "~");
		at = 1;
		append_caps(all & ~mask, buf, len, &at);
		return;
	}
	append_caps(mask, buf, len, &at);
}

/* systemd's rule: lines merge (OR); "" resets to the empty set. */
static int set_caps(uint64_t *field, const char *v, struct sbox_err *err)
{
	char bad[256];
	uint64_t m;

	if (v[0] == '\0') {
		*field = 0;
		return 0;
	}
	if (sbox_parse_cap_list(v, &m, bad, sizeof(bad)) < 0)
		return sbox_fail(err, 0, "'%s' is not a capability name (CAP_CHOWN, CAP_NET_BIND_SERVICE ...; see capabilities(7))",
				 bad);
	*field |= m;
	return 0;
}

static void print_caps(FILE *out, const char *name, uint64_t mask)
{
	char buf[2048];

	sbox_format_cap_list(mask, buf, sizeof(buf));
	fprintf(out, "%s=%s\n", name, buf);
}

int sbox_dir_set_cap_bounding(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	return set_caps(&p->sec.cap_bounding, v, err);
}

void sbox_dir_print_cap_bounding(const struct sbox_policy *p, const struct sbox_directive *d,
				 FILE *out)
{
	print_caps(out, d->name, p->sec.cap_bounding);
}

int sbox_dir_set_cap_ambient(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	return set_caps(&p->sec.cap_ambient, v, err);
}

void sbox_dir_print_cap_ambient(const struct sbox_policy *p, const struct sbox_directive *d,
				FILE *out)
{
	print_caps(out, d->name, p->sec.cap_ambient);
}

/* --cap-add CAP: what "give the worker this capability" takes, in one. */
int sbox_dir_set_cap_add(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	uint64_t b = p->sec.cap_bounding;

	if (v[0] == '\0' || v[0] == '~')
		return sbox_fail(err, 0, "'%s': --cap-add takes capability names", v);
	if (set_caps(&b, v, err) < 0)
		return -1;
	p->sec.cap_bounding = b;
	return set_caps(&p->sec.cap_ambient, v, err);
}

/* A decimal id, or a name as useradd(8) allows one: it is looked up in the
 * host's databases later, so only what could never be a name is refused. */
static bool valid_user_group_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 32 || s[0] == '-' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]) &&
		    !(s[i] == '$' && i == len - 1))
			return false;
	return true;
}

static int set_id_name(char **field, const char *what, const char *v, struct sbox_err *err)
{
	uint64_t n;

	if (v[0] != '\0' && !valid_user_group_name(v))
		return sbox_fail(err, 0, "'%s' is not a %s name or number", v, what);
	/* -1 and 65535 are "no id" to the kernel and to old tools. */
	if (sbox_parse_uint(v, 0, UINT32_MAX, &n) == 0 && (n == UINT32_MAX || n == 65535))
		return sbox_fail(err, 0, "%s id %s is reserved (it means \"no id\")", what, v);
	return sbox_set_string(field, v, err);
}

int sbox_dir_set_user(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	return set_id_name(&p->sec.user, "user", v, err);
}

void sbox_dir_print_user(const struct sbox_policy *p, const struct sbox_directive *d, FILE *out)
{
	/* Empty: the default, decided at launch (docs/security.md). */
	sbox_print_string(out, d->name, p->sec.user);
}

int sbox_dir_set_group(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	return set_id_name(&p->sec.group, "group", v, err);
}

void sbox_dir_print_group(const struct sbox_policy *p, const struct sbox_directive *d, FILE *out)
{
	sbox_print_string(out, d->name, p->sec.group);
}

int sbox_dir_set_supp_groups(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	char **words;
	size_t n;
	int r = 0;

	if (sbox_split_value(v, &words, &n, err) < 0)
		return -1;
	if (n == 0)
		sbox_strv_clear(&p->sec.supp_groups);
	for (size_t i = 0; i < n && r == 0; i++) {
		if (!valid_user_group_name(words[i]))
			r = sbox_fail(err, 0, "'%s' is not a group name or number", words[i]);
		else if (sbox_strv_push(&p->sec.supp_groups, words[i]) < 0)
			r = sbox_fail(err, ENOMEM, "adding '%s'", words[i]);
	}
	sbox_strv_free(words);
	return r;
}

void sbox_dir_print_supp_groups(const struct sbox_policy *p, const struct sbox_directive *d,
				FILE *out)
{
	sbox_print_strv(out, d->name, &p->sec.supp_groups);
}

/* NoNewPrivileges=: yes by default, so no setuid binary in the sandbox
 * regains what the worker gave up. */

int sbox_dir_set_no_new_privs(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	return sbox_set_bool(&p->sec.no_new_privs, v, err);
}

void sbox_dir_print_no_new_privs(const struct sbox_policy *p, const struct sbox_directive *d,
				 FILE *out)
{
	fprintf(out, "%s=%s\n", d->name, p->sec.no_new_privs ? "yes" : "no");
}

/* SeccompProfile=, SystemCallFilter=, SystemCallErrorNumber=: syscall names
 * checked against libseccomp here, so a typo fails the policy, not the launch. */

static const char *const profile_names[] = {
	[SBOX_SECCOMP_DEFAULT] = "default",
	[SBOX_SECCOMP_STRICT] = "strict",
	[SBOX_SECCOMP_NONE] = "none",
};

int sbox_dir_set_seccomp_profile(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	for (size_t i = 0; i < SBOX_ARRAY_SIZE(profile_names); i++) {
		if (strcmp(v, profile_names[i]) == 0) {
			p->sec.seccomp = (enum sbox_seccomp_profile)i;
			return 0;
		}
	}
	return sbox_fail(err, 0, "'%s' is not a profile: default, strict or none", v);
}

void sbox_dir_print_seccomp_profile(const struct sbox_policy *p, const struct sbox_directive *d,
				    FILE *out)
{
	fprintf(out, "%s=%s\n", d->name, profile_names[p->sec.seccomp]);
}

/* One entry: "name", "@group", or (denying) "name:ERRNO". */
static int check_filter_entry(const char *w, bool deny, struct sbox_err *err)
{
	char name[128];
	const char *colon = strchr(w, ':');
	size_t len = colon ? (size_t)(colon - w) : strlen(w);
	int e;

	if (len == 0 || len >= sizeof(name))
		return sbox_fail(err, 0, "'%s' is not a system call name", w);
	memcpy(name, w, len);
	name[len] = '\0';
	if (colon) {
		if (!deny)
			return sbox_fail(err, 0, "'%s': an errno only goes with a denied call (~%s)", w, w);
		if (sbox_parse_errno(colon + 1, &e) < 0)
			return sbox_fail(err, 0, "'%s': '%s' is not an errno name or number", w, colon + 1);
	}
	if (name[0] == '@') {
		if (!sbox_syscall_group_find(name))
			return sbox_fail(err, 0, "unknown system call group '%s' (sboxrun --help-policy; docs/security.md lists them)",
					 name);
		return 0;
	}
	/* Names of every architecture libseccomp knows are valid: a policy
	 * may be shared between machines. */
	if (!sbox_syscall_known(name))
		return sbox_fail(err, 0, "unknown system call '%s'", name);
	return 0;
}

/* systemd's syntax: "~" before the first name makes the whole line a
 * deny line.  Stored one entry per name, "~" kept on each, so that lines
 * print back in order and mean the same. */
int sbox_dir_set_syscall_filter(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	char **words;
	size_t n;
	bool deny = false;
	int r = 0;

	if (sbox_split_value(v, &words, &n, err) < 0)
		return -1;
	if (n == 0)
		sbox_strv_clear(&p->sec.syscall_filter);
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *w = words[i];
		char entry[160];

		if (i == 0 && w[0] == '~') {
			deny = true;
			if (*++w == '\0')
				continue;
		}
		if (check_filter_entry(w, deny, err) < 0) {
			r = -1;
			break;
		}
		snprintf(entry, sizeof(entry), "%s%s", deny ? "~" : "", w);
		if (sbox_strv_push(&p->sec.syscall_filter, entry) < 0)
			r = sbox_fail(err, ENOMEM, "adding '%s'", w);
	}
	sbox_strv_free(words);
	return r;
}

void sbox_dir_print_syscall_filter(const struct sbox_policy *p, const struct sbox_directive *d,
				   FILE *out)
{
	sbox_print_strv(out, d->name, &p->sec.syscall_filter);
}

int sbox_dir_set_syscall_errno(struct sbox_policy *p, const char *v, struct sbox_err *err)
{
	if (strcmp(v, "kill") == 0) {
		p->sec.syscall_errno = 0;
		return 0;
	}
	if (sbox_parse_errno(v, &p->sec.syscall_errno) < 0)
		return sbox_fail(err, 0, "'%s' is not an errno name (EPERM, ENOSYS ...), a number 1..4095 or kill", v);
	return 0;
}

void sbox_dir_print_syscall_errno(const struct sbox_policy *p, const struct sbox_directive *d,
				  FILE *out)
{
	const char *name = sbox_errno_name(p->sec.syscall_errno);

	if (p->sec.syscall_errno == 0)
		fprintf(out, "%s=kill\n", d->name);
	else if (name)
		fprintf(out, "%s=%s\n", d->name, name);
	else
		fprintf(out, "%s=%d\n", d->name, p->sec.syscall_errno);
}

/* Limit*=: one setter for every rlimit, driven by the table below. */

enum rl_unit { RL_BYTES, RL_COUNT, RL_SECONDS, RL_USEC, RL_NICE };

static const struct {
	const char *name;
	enum rl_unit unit;
} rlimit_info[SBOX_RLIMIT_COUNT] = {
	[RLIMIT_CPU] = { "LimitCPU", RL_SECONDS },
	[RLIMIT_FSIZE] = { "LimitFSIZE", RL_BYTES },
	[RLIMIT_DATA] = { "LimitDATA", RL_BYTES },
	[RLIMIT_STACK] = { "LimitSTACK", RL_BYTES },
	[RLIMIT_CORE] = { "LimitCORE", RL_BYTES },
	[RLIMIT_RSS] = { "LimitRSS", RL_BYTES },
	[RLIMIT_NOFILE] = { "LimitNOFILE", RL_COUNT },
	[RLIMIT_AS] = { "LimitAS", RL_BYTES },
	[RLIMIT_NPROC] = { "LimitNPROC", RL_COUNT },
	[RLIMIT_MEMLOCK] = { "LimitMEMLOCK", RL_BYTES },
	[RLIMIT_LOCKS] = { "LimitLOCKS", RL_COUNT },
	[RLIMIT_SIGPENDING] = { "LimitSIGPENDING", RL_COUNT },
	[RLIMIT_MSGQUEUE] = { "LimitMSGQUEUE", RL_BYTES },
	[RLIMIT_NICE] = { "LimitNICE", RL_NICE },
	[RLIMIT_RTPRIO] = { "LimitRTPRIO", RL_COUNT },
	[RLIMIT_RTTIME] = { "LimitRTTIME", RL_USEC },
};

_Static_assert(RLIMIT_RTTIME == SBOX_RLIMIT_COUNT - 1, "SBOX_RLIMIT_COUNT covers every rlimit");

const char *sbox_rlimit_directive(int resource)
{
	if (resource < 0 || resource >= SBOX_RLIMIT_COUNT)
		return NULL;
	return rlimit_info[resource].name;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* One value in the unit of resource r; "infinity" is UINT64_MAX. */
static int parse_rlimit_value(enum rl_unit unit, const char *s, uint64_t *out)
{
	uint64_t v;
	int r;

	if (strcmp(s, "infinity") == 0) {
		*out = UINT64_MAX;
		return 0;
	}
	switch (unit) {
	case RL_BYTES:
		return sbox_parse_size(s, 0, out);
	case RL_COUNT:
		return sbox_parse_uint(s, 0, UINT64_MAX - 1, out);
	case RL_SECONDS:
		/* A bare number is seconds; a time span is rounded up to
		 * whole seconds, the unit of RLIMIT_CPU. */
		if (all_digits(s))
			return sbox_parse_uint(s, 0, UINT64_MAX - 1, out);
		r = sbox_parse_timespan(s, &v);
		if (r < 0)
			return r;
		*out = v / 1000000 + (v % 1000000 != 0);
		return 0;
	case RL_USEC:
		/* systemd's LimitRTTIME=: a bare number is microseconds. */
		if (all_digits(s))
			return sbox_parse_uint(s, 0, UINT64_MAX - 1, out);
		return sbox_parse_timespan(s, out);
	case RL_NICE:
		/* "+5"/"-5": a nice value, stored as the kernel's 20 - nice;
		 * a bare number is the raw ceiling 0..40. */
		if (s[0] == '+' || s[0] == '-') {
			if (sbox_parse_uint(s + 1, 0, s[0] == '-' ? 20 : 19, &v) < 0)
				return -ERANGE;
			*out = s[0] == '-' ? 20 + v : 20 - v;
			return 0;
		}
		return sbox_parse_uint(s, 0, 40, out) < 0 ? -ERANGE : 0;
	default:
		return -EINVAL;
	}
}

int sbox_parse_rlimit(int resource, const char *s, struct sbox_rlimit *out)
{
	const char *colon = strchr(s, ':');
	struct sbox_rlimit l = { .set = true };
	char soft[128];
	int r;

	if (resource < 0 || resource >= SBOX_RLIMIT_COUNT)
		return -EINVAL;
	if (!colon) {
		r = parse_rlimit_value(rlimit_info[resource].unit, s, &l.soft);
		l.hard = l.soft;
	} else {
		if ((size_t)(colon - s) >= sizeof(soft))
			return -EINVAL;
		memcpy(soft, s, (size_t)(colon - s));
		soft[colon - s] = '\0';
		r = parse_rlimit_value(rlimit_info[resource].unit, soft, &l.soft);
		if (r == 0)
			r = parse_rlimit_value(rlimit_info[resource].unit, colon + 1, &l.hard);
	}
	if (r < 0)
		return r;
	if (l.soft > l.hard)
		return -ERANGE;
	*out = l;
	return 0;
}

static void format_rlimit_value(enum rl_unit unit, uint64_t v, char *buf, size_t len)
{
	if (v == UINT64_MAX)
		snprintf(buf, len, "infinity");
	else if (unit == RL_BYTES)
		sbox_format_size(v, buf, len);
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

static int set_limit(struct sbox_policy *p, int resource, const char *v, struct sbox_err *err)
{
	int r;

	if (v[0] == '\0') {
		p->sec.rlimits[resource].set = false;
		return 0;
	}
	r = sbox_parse_rlimit(resource, v, &p->sec.rlimits[resource]);
	if (r == -ERANGE && strchr(v, ':'))
		return sbox_fail(err, 0, "'%s': the soft limit is above the hard limit, or a value is out of range", v);
	if (r < 0)
		return sbox_fail(err, 0, "'%s' is not a limit (VALUE or SOFT:HARD, each a number%s or infinity)",
				 v, rlimit_info[resource].unit == RL_BYTES ? " with K/M/G/T" :
				 rlimit_info[resource].unit == RL_NICE ? " (+N/-N a nice value, N raw 0..40)" : "");
	return 0;
}

static void print_limit(const struct sbox_policy *p, int resource, FILE *out)
{
	const struct sbox_rlimit *l = &p->sec.rlimits[resource];
	enum rl_unit unit = rlimit_info[resource].unit;
	char soft[64], hard[64];

	if (!l->set) {
		fprintf(out, "%s=\n", rlimit_info[resource].name);
		return;
	}
	format_rlimit_value(unit, l->soft, soft, sizeof(soft));
	format_rlimit_value(unit, l->hard, hard, sizeof(hard));
	if (l->soft == l->hard)
		fprintf(out, "%s=%s\n", rlimit_info[resource].name, soft);
	else
		fprintf(out, "%s=%s:%s\n", rlimit_info[resource].name, soft, hard);
}

#define LIMIT_DIRECTIVE(fn, res)                                                         \
	int sbox_dir_set_##fn(struct sbox_policy *p, const char *v, struct sbox_err *err) \
	{                                                                                \
		return set_limit(p, res, v, err);                                        \
	}                                                                                \
	void sbox_dir_print_##fn(const struct sbox_policy *p, const struct sbox_directive *d, \
				 FILE *out)                                              \
	{                                                                                \
		(void)d;                                                                 \
		print_limit(p, res, out);                                                \
	}

LIMIT_DIRECTIVE(limit_cpu, RLIMIT_CPU)
LIMIT_DIRECTIVE(limit_fsize, RLIMIT_FSIZE)
LIMIT_DIRECTIVE(limit_data, RLIMIT_DATA)
LIMIT_DIRECTIVE(limit_stack, RLIMIT_STACK)
LIMIT_DIRECTIVE(limit_core, RLIMIT_CORE)
LIMIT_DIRECTIVE(limit_rss, RLIMIT_RSS)
LIMIT_DIRECTIVE(limit_nofile, RLIMIT_NOFILE)
LIMIT_DIRECTIVE(limit_as, RLIMIT_AS)
LIMIT_DIRECTIVE(limit_nproc, RLIMIT_NPROC)
LIMIT_DIRECTIVE(limit_memlock, RLIMIT_MEMLOCK)
LIMIT_DIRECTIVE(limit_locks, RLIMIT_LOCKS)
LIMIT_DIRECTIVE(limit_sigpending, RLIMIT_SIGPENDING)
LIMIT_DIRECTIVE(limit_msgqueue, RLIMIT_MSGQUEUE)
LIMIT_DIRECTIVE(limit_nice, RLIMIT_NICE)
LIMIT_DIRECTIVE(limit_rtprio, RLIMIT_RTPRIO)
LIMIT_DIRECTIVE(limit_rttime, RLIMIT_RTTIME)
