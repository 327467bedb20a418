/* SPDX-License-Identifier: MIT */
#include "sandbox/rlimits.h"

#include <errno.h>
#include <stdint.h>
#include <sys/resource.h>

#include "policy/dir_security.h"

static rlim_t to_rlim(uint64_t v)
{
	return v == UINT64_MAX ? RLIM_INFINITY : (rlim_t)v;
}

static rlim_t max_rlim(rlim_t a, rlim_t b)
{
	return a > b ? a : b;   /* RLIM_INFINITY is the largest value */
}

static int set_limit(int r, rlim_t soft, rlim_t hard, struct sbox_err *err)
{
	struct rlimit rl = { .rlim_cur = soft, .rlim_max = hard };

	if (setrlimit(r, &rl) == 0)
		return 0;
	if (errno == EPERM)
		return sbox_fail(err, errno, "%s: setting the limit (raising a hard limit needs CAP_SYS_RESOURCE in the host's user namespace, which an unprivileged caller, or a container's root without it, lacks; LimitNOFILE= is also bounded by fs.nr_open)",
				 sbox_rlimit_directive(r));
	return sbox_fail(err, errno, "%s: setting the limit", sbox_rlimit_directive(r));
}

int sbox_rlimits_apply(const struct sbox_security *s, bool nofile_later, struct sbox_err *err)
{
	for (int r = 0; r < SBOX_RLIMIT_COUNT; r++) {
		const struct sbox_rlimit *l = &s->rlimits[r];
		rlim_t soft, hard;
		struct rlimit now;

		if (!l->set)
			continue;
		soft = to_rlim(l->soft);
		hard = to_rlim(l->hard);
		/* Raised now if the policy raises it, lowered only later:
		 * both of each pair stay <= the larger hard limit. */
		if (r == RLIMIT_NOFILE && nofile_later && getrlimit(r, &now) == 0) {
			soft = max_rlim(soft, now.rlim_cur);
			hard = max_rlim(hard, now.rlim_max);
		}
		if (set_limit(r, soft, hard, err) < 0)
			return -1;
	}
	return 0;
}

int sbox_rlimits_apply_nofile(const struct sbox_security *s, struct sbox_err *err)
{
	const struct sbox_rlimit *l = &s->rlimits[RLIMIT_NOFILE];

	if (!l->set)
		return 0;
	return set_limit(RLIMIT_NOFILE, to_rlim(l->soft), to_rlim(l->hard), err);
}
