/* SPDX-License-Identifier: MIT */
#include "sandbox/identity.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/values.h"

#define NOBODY_ID 65534

/* A passwd or group entry with its own buffer. */
struct pw_entry {
	struct passwd pw;
	char *buf;
	bool found;
};

static bool parse_id(const char *s, uint32_t *out)
{
	uint64_t n;

	if (sbox_parse_uint(s, 0, UINT32_MAX - 1, &n) < 0)
		return false;
	*out = (uint32_t)n;
	return true;
}

/* getpwnam_r/getpwuid_r with a buffer that grows on ERANGE.  0 and
 * e->found set (false: no such entry), or -1 with errno. */
static int pw_lookup(struct pw_entry *e, const char *name, uid_t uid)
{
	size_t len = 4096;
	struct passwd *res = NULL;
	int r;

	e->found = false;
	for (;;) {
		char *b = realloc(e->buf, len);

		if (!b)
			return -1;
		e->buf = b;
		r = name ? getpwnam_r(name, &e->pw, e->buf, len, &res) :
			   getpwuid_r(uid, &e->pw, e->buf, len, &res);
		if (r != ERANGE || len > (1 << 20))
			break;
		len *= 2;
	}
	/* "Not found" may come back as 0 with no result, or as ENOENT,
	 * ESRCH, EBADF or EPERM, depending on the NSS module. */
	if (r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM) {
		e->found = res != NULL;
		return 0;
	}
	errno = r;
	return -1;
}

static int gr_lookup(const char *name, gid_t *gid, bool *found)
{
	size_t len = 4096;
	struct group gr, *res = NULL;
	_cleanup_free_ char *buf = NULL;
	int r;

	for (;;) {
		char *b = realloc(buf, len);

		if (!b)
			return -1;
		buf = b;
		r = getgrnam_r(name, &gr, buf, len, &res);
		if (r != ERANGE || len > (1 << 20))
			break;
		len *= 2;
	}
	if (r != 0 && r != ENOENT && r != ESRCH && r != EBADF && r != EPERM) {
		errno = r;
		return -1;
	}
	*found = res != NULL;
	if (res)
		*gid = res->gr_gid;
	return 0;
}

/* User=: a name from the host's passwd, or a number (which need not have
 * an entry).  *pw is filled when there is an entry. */
static int resolve_user(const char *s, struct pw_entry *pw, uid_t *uid, struct sbox_err *err)
{
	uint32_t n;

	if (parse_id(s, &n)) {
		*uid = n;
		if (pw_lookup(pw, NULL, n) < 0)
			return sbox_fail(err, errno, "User=%s: reading the host's passwd", s);
		return 0;
	}
	if (pw_lookup(pw, s, 0) < 0)
		return sbox_fail(err, errno, "User=%s: reading the host's passwd", s);
	if (!pw->found)
		return sbox_fail(err, 0, "User=%s: no such user in the host's passwd", s);
	*uid = pw->pw.pw_uid;
	return 0;
}

static int resolve_group(const char *what, const char *s, gid_t *gid, struct sbox_err *err)
{
	uint32_t n;
	bool found;

	if (parse_id(s, &n)) {
		*gid = n;
		return 0;
	}
	if (gr_lookup(s, gid, &found) < 0)
		return sbox_fail(err, errno, "%s=%s: reading the host's group database", what, s);
	if (!found)
		return sbox_fail(err, 0, "%s=%s: no such group in the host's group database", what, s);
	return 0;
}

struct gid_at {
	gid_t gid;
	size_t at;
};

static int gid_at_cmp(const void *a, const void *b)
{
	const struct gid_at *x = a, *y = b;

	if (x->gid != y->gid)
		return x->gid < y->gid ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* Append those of v[0..n) not in the list yet, in their order, in n log
 * n: a login's list can be NGROUPS_MAX (65536) long, which one scan per
 * group makes seconds of work, and P5a runs in sboxd's loop.  Sorted by
 * gid, then by position, the first of each gid is the one kept. */
static int add_groups(struct sbox_identity *id, const gid_t *v, size_t n)
{
	size_t have = id->n_groups, total = have + n, kept = have;
	_cleanup_free_ struct gid_at *all = NULL;
	_cleanup_free_ bool *keep = NULL;
	gid_t *out;

	if (n == 0)
		return 0;
	out = realloc(id->groups, total * sizeof(*out));
	if (!out)
		return -1;
	/* Room for all, the list as it was: consistent whatever fails next. */
	id->groups = out;
	all = calloc(total, sizeof(*all));
	keep = calloc(n, sizeof(*keep));
	if (!all || !keep)
		return -1;
	for (size_t i = 0; i < total; i++)
		all[i] = (struct gid_at){ i < have ? out[i] : v[i - have], i };
	qsort(all, total, sizeof(*all), gid_at_cmp);
	for (size_t i = 0; i < total; i++)
		if ((i == 0 || all[i].gid != all[i - 1].gid) && all[i].at >= have)
			keep[all[i].at - have] = true;
	for (size_t i = 0; i < n; i++)
		if (keep[i])
			out[kept++] = v[i];
	id->n_groups = kept;
	return 0;
}

static int add_group(struct sbox_identity *id, gid_t g)
{
	return add_groups(id, &g, 1);
}

/* The groups a login of the user would have (initgroups), as systemd's
 * User= gives them. */
static int add_user_groups(struct sbox_identity *id, const char *user, struct sbox_err *err)
{
	int n = 64;

	for (int tries = 0; tries < 8; tries++) {
		_cleanup_free_ gid_t *v = calloc((size_t)n, sizeof(gid_t));
		int got = n;

		if (!v)
			return sbox_fail(err, ENOMEM, "listing the groups of %s", user);
		if (getgrouplist(user, id->gid, v, &got) >= 0) {
			if (add_groups(id, v, (size_t)got) < 0)
				return sbox_fail(err, ENOMEM, "listing the groups of %s", user);
			return 0;
		}
		n = got > n ? got : n * 2;
	}
	return sbox_fail(err, E2BIG, "listing the groups of %s", user);
}

static int resolve_in_userns(struct sbox_identity *id, const struct sbox_security *s,
			     uid_t mapped_uid, gid_t mapped_gid, struct sbox_err *err)
{
	struct pw_entry pw = { 0 };
	int r = 0;

	/* An unprivileged process can map only its own ids: the worker is
	 * the caller, and User=/Group= may only say so. */
	id->uid = mapped_uid;
	id->gid = mapped_gid;
	id->set_groups = false;
	if (s->user) {
		uid_t u;

		r = resolve_user(s->user, &pw, &u, err);
		if (r == 0 && u != mapped_uid)
			r = sbox_fail(err, 0, "User=%s: in a user namespace only the caller's uid %u is mapped (run sboxrun as root to start workers as another user)",
				      s->user, (unsigned)mapped_uid);
	}
	free(pw.buf);
	if (r < 0)
		return -1;
	if (s->group) {
		gid_t g;

		if (resolve_group("Group", s->group, &g, err) < 0)
			return -1;
		if (g != mapped_gid)
			return sbox_fail(err, 0, "Group=%s: in a user namespace only the caller's gid %u is mapped",
					 s->group, (unsigned)mapped_gid);
	}
	if (s->supp_groups.n > 0)
		return sbox_fail(err, 0, "SupplementaryGroups=%s: a user namespace made by an unprivileged caller denies setgroups(2); the worker keeps the caller's groups",
				 s->supp_groups.v[0]);
	/* Mapped 1:1, uid 0 inside is the host's root (a root caller with
	 * PrivateUsers=yes): only when the policy says so. */
	if (mapped_uid == 0 && !s->user)
		return sbox_fail(err, 0, "PrivateUsers=yes as root maps uid 0 to the host's root, and the worker would run as it: set User=root to mean that, or leave PrivateUsers= at auto");
	return 0;
}

static int resolve_host(struct sbox_identity *id, const struct sbox_security *s,
			const struct sbox_launch *l, struct sbox_err *err)
{
	struct pw_entry pw = { 0 };
	const char *user_name = NULL;
	int r = -1;

	id->set_groups = true;
	if (s->user) {
		if (resolve_user(s->user, &pw, &id->uid, err) < 0)
			goto out;
		/* A number without an entry gets the group of the same number. */
		id->gid = pw.found ? pw.pw.pw_gid : id->uid;
	} else if (l->caller_uid != 0) {
		/* A privileged launcher starting a sandbox for someone. */
		id->uid = l->caller_uid;
		id->gid = l->caller_gid;
		if (pw_lookup(&pw, NULL, id->uid) < 0) {
			sbox_fail(err, errno, "reading the host's passwd for uid %u", (unsigned)id->uid);
			goto out;
		}
	} else {
		/* Root asked, and named no user: not root. */
		if (pw_lookup(&pw, "nobody", 0) < 0) {
			sbox_fail(err, errno, "reading the host's passwd for nobody");
			goto out;
		}
		id->uid = pw.found ? pw.pw.pw_uid : NOBODY_ID;
		id->gid = pw.found ? pw.pw.pw_gid : NOBODY_ID;
	}
	if (pw.found)
		user_name = pw.pw.pw_name;
	if (s->group && resolve_group("Group", s->group, &id->gid, err) < 0)
		goto out;
	if (add_group(id, id->gid) < 0) {
		sbox_fail(err, ENOMEM, "listing the worker's groups");
		goto out;
	}
	if (user_name && !(id->login = strdup(user_name))) {
		sbox_fail(err, ENOMEM, "listing the worker's groups");
		goto out;
	}
	for (size_t i = 0; i < s->supp_groups.n; i++) {
		gid_t g;

		if (resolve_group("SupplementaryGroups", s->supp_groups.v[i], &g, err) < 0)
			goto out;
		if (add_group(id, g) < 0) {
			sbox_fail(err, ENOMEM, "listing the worker's groups");
			goto out;
		}
	}
	r = 0;
out:
	free(pw.buf);
	return r;
}

int sbox_identity_resolve(struct sbox_identity *id, const struct sbox_policy *p,
			  const struct sbox_launch *l, bool userns, uid_t mapped_uid,
			  gid_t mapped_gid, struct sbox_err *err)
{
	int r;

	memset(id, 0, sizeof(*id));
	r = userns ? resolve_in_userns(id, &p->sec, mapped_uid, mapped_gid, err) :
		     resolve_host(id, &p->sec, l, err);
	if (r < 0)
		sbox_identity_free(id);
	return r;
}

int sbox_identity_resolve_groups(struct sbox_identity *id, struct sbox_err *err)
{
	if (id->login && add_user_groups(id, id->login, err) < 0)
		return -1;
	if ((long)id->n_groups > sysconf(_SC_NGROUPS_MAX))
		return sbox_fail(err, E2BIG, "the worker would have %zu groups", id->n_groups);
	return 0;
}

/* The worker is a clone (clone3, then init's start of it) of sboxd, which
 * has threads (closers, teardowns), made without glibc's fork: glibc's
 * setgroups/setresgid/setresuid would signal every thread its copied
 * bookkeeping lists and wait for each, forever for one that was being
 * created at the clone (seen: a worker stuck in __nptl_setxid while
 * sboxd started a teardown thread).  The worker really has one thread,
 * so the system calls themselves are the whole change, and the check
 * below verifies it. */
int sbox_identity_apply(const struct sbox_identity *id, struct sbox_err *err)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (id->set_groups && syscall(SYS_setgroups, id->n_groups, id->groups) < 0)
		return sbox_fail(err, errno, "setting the worker's %zu supplementary groups", id->n_groups);
	if (syscall(SYS_setresgid, id->gid, id->gid, id->gid) < 0)
		return sbox_fail(err, errno, "setting the worker's gid to %u", (unsigned)id->gid);
	/* Keep the permitted set across the change away from uid 0: the
	 * capability step needs CAP_SETPCAP, and drops everything itself. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return sbox_fail(err, errno, "keeping capabilities across the uid change");
	if (syscall(SYS_setresuid, id->uid, id->uid, id->uid) < 0)
		return sbox_fail(err, errno, "setting the worker's uid to %u", (unsigned)id->uid);
	/* Trust, but verify: a half-applied identity must never run. */
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 ||
	    ru != id->uid || eu != id->uid || su != id->uid ||
	    rg != id->gid || eg != id->gid || sg != id->gid)
		return sbox_fail(err, EPERM, "the worker's ids are not %u:%u after setting them",
				 (unsigned)id->uid, (unsigned)id->gid);
	return 0;
}

void sbox_identity_free(struct sbox_identity *id)
{
	free(id->groups);
	id->groups = NULL;
	id->n_groups = 0;
	free(id->login);
	id->login = NULL;
}
